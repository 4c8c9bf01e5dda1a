/* SPDX-License-Identifier: MIT */
/*
 * A KTAP / TAP reader for guest consoles: fed one line at a time, it
 * follows KTAP version 1 (the kernel's Documentation/dev-tools/ktap.rst)
 * and TAP version 13 as KUnit and kselftest print them: plans ("1..N",
 * also after the results), "ok"/"not ok" results with "# SKIP" and
 * "# TODO" directives, subtests indented by four spaces (with or without
 * their own version line and "# Subtest: NAME"), diagnostic lines ("# ...")
 * and "Bail out!". A prefix before the version line (a printk timestamp)
 * is cut from the lines after it, as KUnit's own parser does.
 *
 * The console is the guest's: every line is hostile. Nesting is limited
 * (KTAP_MAX_DEPTH), names and diagnostics are cut to fixed sizes, at most
 * KTAP_MAX_CASES results are kept (the rest only counted). Pure: no I/O.
 */
#ifndef UTIL_KTAP_H
#define UTIL_KTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define KTAP_MAX_DEPTH 16
#define KTAP_NAME_MAX 128
#define KTAP_DIAG_MAX 2048
#define KTAP_MAX_CASES 4096

enum ktap_status {
    KTAP_PASS,
    KTAP_FAIL,
    KTAP_SKIP,
    /* "not ok ... # TODO": expected to fail, not a failure. */
    KTAP_TODO,
};

/* One result line. */
struct ktap_case {
    /* "suite/subsuite/test" (parent names first). */
    char *path;
    /* The directive's reason after SKIP or TODO, or NULL. */
    char *reason;
    /* The diagnostic lines that came before it, '\n'-separated, or NULL. */
    char *diag;
    enum ktap_status status;
    /* It closed a subtest: its children are cases of their own. */
    bool suite;
    /* One of the counted tests: every leaf, and a suite that failed
     * without a failing child (a crash between its tests, say). */
    bool counted;
};

struct ktap_level {
    /* Spaces before this level's lines. */
    unsigned indent;
    /* -1 until its plan is seen. */
    long plan;
    long seen;
    /* A child or this level failed (for a suite's own verdict). */
    bool failed;
    char name[KTAP_NAME_MAX];
};

struct ktap {
    /* A version line or a top-level plan was seen. */
    bool started;
    /* The top-level plan is complete, or the guest bailed out. */
    bool done;
    bool bailed;
    /* A protocol error that ends the reading (too deep). */
    bool broken;
    char why[256];
    size_t prefix_len;
    struct ktap_level lv[KTAP_MAX_DEPTH];
    unsigned depth;
    /* The level closed by the last line, for the result that follows. */
    bool closed_child;
    bool closed_failed;
    char pending_name[KTAP_NAME_MAX];
    char diag[KTAP_DIAG_MAX];
    size_t diag_len;
    struct ktap_case *cases;
    size_t nr_cases, cap_cases;
    /* Results beyond KTAP_MAX_CASES (counted, not kept). */
    unsigned long dropped;
    /* Leaf results (a suite's own line is counted only when it failed
     * with no failing child). */
    unsigned long passed, failed, skipped, todo;
};

void ktap_init(struct ktap *k);
void ktap_destroy(struct ktap *k);

/*
 * One console line (without its newline; a trailing CR is ignored).
 * Returns true once the run is over: the top-level plan is complete, or
 * the guest bailed out, or the output broke a limit.
 */
bool ktap_feed(struct ktap *k, const char *line, size_t len);

/*
 * The verdict once the guest is done: 0 when every test passed or was
 * skipped (or is TODO) and the plan is complete; 1 otherwise, with one
 * line in (why) (no KTAP at all, incomplete plan, bail out, failures).
 */
int ktap_verdict(const struct ktap *k, char *why, size_t whylen);

/* The counts, the verdict and the failing cases as a JSON object. */
void ktap_write_json(const struct ktap *k, FILE *f);

#endif /* UTIL_KTAP_H */
