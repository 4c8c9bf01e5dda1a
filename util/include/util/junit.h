/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML from a KTAP run (util/ktap.h), for CI test reports (GitLab,
 * GitHub, Jenkins). The layout is the one of the widely used public JUnit
 * schema (Windy Road's JUnit.xsd, which follows Apache Ant's formatter): a
 * <testsuites> root with one <testsuite> (name, id, package, timestamp,
 * hostname, tests, failures, errors, skipped, time; then <properties>,
 * the <testcase>s, <system-out> and <system-err>), a <testcase> per KTAP
 * result (classname = its parents' path, name = its own), <failure> with
 * the diagnostic lines as text, <skipped> for SKIP and TODO, and an
 * <error> case when the run itself went wrong (no KTAP, incomplete plan,
 * bail out). Text is escaped for XML and always valid UTF-8.
 */
#ifndef UTIL_JUNIT_H
#define UTIL_JUNIT_H

#include <stdio.h>
#include <time.h>

#include "util/ktap.h"

struct junit_info {
    /* The suite's name (the kernel's file name, say). */
    const char *name;
    /* When the run started, and how long it took. */
    time_t start;
    double seconds;
    /* Why the VM ended (a property), or NULL. */
    const char *ended;
};

/* Write (k) as JUnit XML to (f). Returns 0 or -EIO. */
__attribute__((warn_unused_result)) int
junit_write(const struct ktap *k, const struct junit_info *info, FILE *f);

#endif /* UTIL_JUNIT_H */
