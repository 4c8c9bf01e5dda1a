/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML (see util/junit.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/json.h"
#include "util/junit.h"

/*
 * (s) as XML character data or an attribute value: markup characters as
 * entities, the control characters XML 1.0 forbids (and DEL) and every byte
 * that is not well-formed UTF-8 as U+FFFD. Newlines and tabs stay, except
 * in attributes, where they become spaces.
 */
static void xml_text(FILE *f, const char *s, bool attr)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;

    while (i < len) {
        unsigned char c = p[i];
        size_t n;

        if (c == '&') {
            fputs("&amp;", f);
        } else if (c == '<') {
            fputs("&lt;", f);
        } else if (c == '>') {
            fputs("&gt;", f);
        } else if (c == '"') {
            fputs("&quot;", f);
        } else if (c == '\n' || c == '\t') {
            fputc(attr ? ' ' : c, f);
        } else if (c < 0x20 || c == 0x7f) {
            fputs("\xef\xbf\xbd", f);
        } else if (c < 0x80) {
            fputc(c, f);
        } else if ((n = utf8_len(p + i, len - i)) > 0) {
            fwrite(p + i, 1, n, f);
            i += n;
            continue;
        } else {
            fputs("\xef\xbf\xbd", f);
        }
        i++;
    }
}

static void attr(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    xml_text(f, value, true);
    fputc('"', f);
}

/* A case: classname is the path up to its last '/', name what follows. */
static void write_case(FILE *f, const struct ktap_case *c, const char *suite)
{
    const char *path = c->path ? c->path : "";
    const char *slash = strrchr(path, '/');
    char cls[KTAP_MAX_DEPTH * KTAP_NAME_MAX];

    if (slash) {
        snprintf(cls, sizeof(cls), "%.*s", (int)(slash - path), path);
    } else {
        snprintf(cls, sizeof(cls), "%s", suite);
    }
    fputs("    <testcase", f);
    attr(f, "name", slash ? slash + 1 : path);
    attr(f, "classname", cls);
    fputs(" time=\"0\"", f);
    if (c->status == KTAP_PASS) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n", f);
    if (c->status == KTAP_FAIL) {
        fputs("      <failure type=\"not ok\"", f);
        attr(f, "message", c->suite ? "not ok (the suite itself)" : "not ok");
        fputs(">", f);
        xml_text(f, c->diag ? c->diag : "", false);
        fputs("</failure>\n", f);
    } else {
        fputs("      <skipped", f);
        attr(f, "message", c->status == KTAP_TODO ? "TODO" : "SKIP");
        if (c->reason && *c->reason) {
            fputs(">", f);
            xml_text(f, c->reason, false);
            fputs("</skipped>\n", f);
        } else {
            fputs("/>\n", f);
        }
    }
    fputs("    </testcase>\n", f);
}

/* Counts of the cases written: tests, failures, skipped. */
static void tally(const struct ktap *k, unsigned long *tests,
                  unsigned long *failures, unsigned long *skipped)
{
    *tests = *failures = *skipped = 0;
    for (size_t i = 0; i < k->nr_cases; i++) {
        const struct ktap_case *c = &k->cases[i];

        if (!c->counted) {
            continue;
        }
        (*tests)++;
        *failures += c->status == KTAP_FAIL;
        *skipped += c->status == KTAP_SKIP || c->status == KTAP_TODO;
    }
}

int junit_write(const struct ktap *k, const struct junit_info *info, FILE *f)
{
    unsigned long tests, failures, skipped;
    char why[256], stamp[32], host[256] = "localhost";
    int verdict = ktap_verdict(k, why, sizeof(why));
    bool run_error =
        verdict != 0 && !(k->failed && k->done && !k->bailed && !k->broken);
    struct tm tm;

    tally(k, &tests, &failures, &skipped);
    tests += run_error;
    gmtime_r(&info->start, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    if (gethostname(host, sizeof(host)) < 0 || !host[0]) {
        snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", f);
    attr(f, "name", info->name);
    fprintf(f,
            " tests=\"%lu\" failures=\"%lu\" errors=\"%d\" skipped=\"%lu\" "
            "time=\"%.3f\">\n  <testsuite",
            tests, failures, run_error, skipped, info->seconds);
    attr(f, "name", info->name);
    fputs(" id=\"0\" package=\"vmm\"", f);
    attr(f, "timestamp", stamp);
    attr(f, "hostname", host);
    fprintf(f,
            " tests=\"%lu\" failures=\"%lu\" errors=\"%d\" skipped=\"%lu\" "
            "time=\"%.3f\">\n    <properties>\n",
            tests, failures, run_error, skipped, info->seconds);
    fputs("      <property name=\"ktap.verdict\"", f);
    attr(f, "value", why);
    fputs("/>\n", f);
    if (info->ended) {
        fputs("      <property name=\"vm.ended\"", f);
        attr(f, "value", info->ended);
        fputs("/>\n", f);
    }
    fputs("    </properties>\n", f);
    for (size_t i = 0; i < k->nr_cases; i++) {
        if (k->cases[i].counted) {
            write_case(f, &k->cases[i], info->name);
        }
    }
    if (run_error) {
        fputs("    <testcase name=\"KTAP run\"", f);
        attr(f, "classname", info->name);
        fputs(" time=\"0\">\n      <error type=\"ktap\"", f);
        attr(f, "message", why);
        fputs("/>\n    </testcase>\n", f);
    }
    fputs("    <system-out/>\n    <system-err/>\n  </testsuite>\n"
          "</testsuites>\n",
          f);
    return ferror(f) ? -EIO : 0;
}
