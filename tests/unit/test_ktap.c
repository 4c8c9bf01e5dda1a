/* SPDX-License-Identifier: MIT */
/*
 * The KTAP / TAP reader (util/ktap.h) and the JUnit writer (util/junit.h):
 * documents as KUnit and kselftest print them, with their counts, verdict,
 * the line where the run is over and the failing paths; then hostile ones
 * (deep nesting, huge lines, invalid UTF-8, floods of results). With
 * `--junit-dir DIR` each document's JUnit XML is also written to DIR (the
 * schema test validates them with xmllint).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/json.h"
#include "util/junit.h"
#include "util/ktap.h"

static unsigned unit_failures;
static const char *junit_dir;

struct doc {
    const char *name;
    const char *text;
    /* The 1-based line on which ktap_feed() first returns true; 0: never. */
    int done_line;
    int verdict;
    unsigned long passed, failed, skipped, todo;
    /* A failing path the JSON must name, and a diagnostic it must carry. */
    const char *fail_path;
    const char *diag;
    /* Words of the verdict's reason. */
    const char *why;
};

static const struct doc docs[] = {
    {"kunit_mixed",
     "[    0.512345] KTAP version 1\n"
     "[    0.512346] 1..1\n"
     "[    0.512347]     KTAP version 1\n"
     "[    0.512348]     # Subtest: demo\n"
     "[    0.512349]     1..5\n"
     "[    0.512350]     ok 1 pass_a\n"
     "[    0.512351]     ok 2 pass_b\n"
     "[    0.512352]     ok 3 skip_c # SKIP no hardware\n"
     "[    0.512353]     # fail_d: EXPECTATION FAILED at demo.c:42\n"
     "[    0.512354]     # Expected 1 == 2\n"
     "[    0.512355]     not ok 4 fail_d\n"
     "[    0.512356]     ok 5 pass_e\n"
     "[    0.512357] # demo: pass:3 fail:1 skip:1 total:5\n"
     "[    0.512358] not ok 1 demo\n"
     "[    0.512359] reboot: Power down\n",
     14, 1, 3, 1, 1, 0, "demo/fail_d", "# Expected 1 == 2", "1 of 5"},
    {"kunit_pass",
     "KTAP version 1\n"
     "1..2\n"
     "    KTAP version 1\n"
     "    # Subtest: one\n"
     "    1..2\n"
     "    ok 1 a\n"
     "    ok 2 b\n"
     "ok 1 one\n"
     "    KTAP version 1\n"
     "    # Subtest: two\n"
     "    1..1\n"
     "    ok 1 c # SKIP not here\n"
     "ok 2 two\n",
     13, 0, 2, 0, 1, 0, NULL, NULL, "passed"},
    {"kselftest_tap13",
     "noise before\n"
     "TAP version 13\n"
     "1..4\n"
     "# selftests: net: reuseport\n"
     "ok 1 selftests: net: reuseport\n"
     "ok 2 selftests: net: tls # SKIP no tls module\n"
     "not ok 3 selftests: net: flaky # TODO known issue\n"
     "# timeout set to 45\n"
     "ok 4 - selftests: net: last\n",
     9, 0, 2, 0, 1, 1, NULL, NULL, "passed"},
    {"tap13_nested_no_header",
     "TAP version 13\n"
     "1..1\n"
     "    # Subtest: inner\n"
     "    1..2\n"
     "    ok 1 x\n"
     "    not ok 2 y\n"
     "not ok 1 inner\n",
     7, 1, 1, 1, 0, 0, "inner/y", NULL, "failed"},
    {"truncated",
     "KTAP version 1\n"
     "1..3\n"
     "ok 1 first\n"
     "ok 2 second\n"
     "Kernel panic - not syncing: oops\n",
     0, 1, 2, 0, 0, 0, NULL, NULL, "incomplete: 2 of 3"},
    {"trailing_plan",
     "TAP version 13\n"
     "ok 1 a\n"
     "ok 2 b\n"
     "1..2\n",
     4, 0, 2, 0, 0, 0, NULL, NULL, "passed"},
    {"no_plan",
     "TAP version 13\n"
     "ok 1 a\n",
     0, 1, 1, 0, 0, 0, NULL, NULL, "never came"},
    {"empty_plan", "KTAP version 1\n1..0 # SKIP nothing to run\n", 2, 0, 0, 0,
     0, 0, NULL, NULL, "passed"},
    {"bail_out",
     "KTAP version 1\n"
     "1..3\n"
     "ok 1 a\n"
     "Bail out! the device is gone\n"
     "ok 2 b\n",
     4, 1, 1, 0, 0, 0, NULL, NULL, "bail out: the device is gone"},
    {"no_ktap", "Linux version 6.1\nreboot: Power down\n", 0, 1, 0, 0, 0, 0,
     NULL, NULL, "no KTAP"},
    {"crash_in_suite",
     "KTAP version 1\n"
     "1..1\n"
     "    KTAP version 1\n"
     "    # Subtest: crashy\n"
     "    1..3\n"
     "    ok 1 a\n"
     "not ok 1 crashy\n",
     7, 1, 1, 1, 0, 0, "crashy", NULL, "1 of 2"},
    {"hostile_utf8",
     "KTAP version 1\n"
     "1..2\n"
     "# bad \xff\xfe bytes \xc0\xaf and \xed\xa0\x80 <&>\"\n"
     "not ok 1 name\xff<with>&\"quotes\"\x01\n"
     "ok 2 \xe2\x82\xac euro\n",
     5, 1, 1, 1, 0, 0, NULL, NULL, "1 of 2"},
};

/* Is (s, n) well-formed UTF-8 with no raw control bytes but \n? */
static bool valid_output(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t l;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\n') || c == 0x7f) {
                return false;
            }
            i++;
        } else if ((l = utf8_len((const unsigned char *)s + i, n - i)) > 0) {
            i += l;
        } else {
            return false;
        }
    }
    return true;
}

static void write_junit(const struct ktap *k, const char *name)
{
    struct junit_info info = {.name = name,
                              .start = 1700000000,
                              .seconds = 1.5,
                              .ended = "guest power-off"};
    char path[512];
    FILE *f;

    if (!junit_dir) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s.xml", junit_dir, name);
    f = fopen(path, "we");
    CHECK(f != NULL, "%s: cannot write", path);
    if (f) {
        CHECK(junit_write(k, &info, f) == 0, "%s: junit_write failed", name);
        fclose(f);
    }
}

/* The JSON report and the JUnit XML of (k): valid, and naming (need). */
static void check_outputs(const struct ktap *k, const char *name,
                          const char *need1, const char *need2)
{
    struct junit_info info = {.name = name, .start = 0, .seconds = 0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ktap_write_json(k, f);
    fclose(f);
    CHECK(valid_output(buf, len), "%s: JSON is not clean UTF-8: %s", name, buf);
    CHECK(buf[0] == '{' && buf[len - 1] == '}', "%s: JSON: %s", name, buf);
    CHECK(!need1 || strstr(buf, need1), "%s: JSON lacks %s: %s", name, need1,
          buf);
    CHECK(!need2 || strstr(buf, need2), "%s: JSON lacks %s: %s", name, need2,
          buf);
    free(buf);
    f = open_memstream(&buf, &len);
    CHECK(junit_write(k, &info, f) == 0, "%s: junit_write", name);
    fclose(f);
    CHECK(valid_output(buf, len), "%s: XML is not clean UTF-8", name);
    CHECK(!strstr(buf, "\"quotes\"") && !strstr(buf, "<with>"),
          "%s: XML carries unescaped markup", name);
    free(buf);
    write_junit(k, name);
}

static void test_doc(const struct doc *d)
{
    struct ktap k;
    const char *p = d->text;
    int line = 0, done_at = 0;
    char why[256], path[300], diag[300];
    int v;

    ktap_init(&k);
    while (*p) {
        size_t n = strcspn(p, "\n");

        line++;
        if (ktap_feed(&k, p, n) && !done_at) {
            done_at = line;
        }
        p += n + (p[n] == '\n');
    }
    v = ktap_verdict(&k, why, sizeof(why));
    CHECK(done_at == d->done_line, "%s: over at line %d, expected %d", d->name,
          done_at, d->done_line);
    CHECK(v == d->verdict, "%s: verdict %d (%s), expected %d", d->name, v, why,
          d->verdict);
    CHECK(strstr(why, d->why), "%s: reason \"%s\" lacks \"%s\"", d->name, why,
          d->why);
    CHECK(k.passed == d->passed && k.failed == d->failed &&
              k.skipped == d->skipped && k.todo == d->todo,
          "%s: pass %lu fail %lu skip %lu todo %lu, expected %lu %lu %lu %lu",
          d->name, k.passed, k.failed, k.skipped, k.todo, d->passed, d->failed,
          d->skipped, d->todo);
    snprintf(path, sizeof(path), "{\"path\":\"%s\"",
             d->fail_path ? d->fail_path : "");
    snprintf(diag, sizeof(diag), "\"%s\"", d->diag ? d->diag : "");
    check_outputs(&k, d->name, d->fail_path ? path : NULL,
                  d->diag ? diag : NULL);
    ktap_destroy(&k);
}

/* 20 levels of subtests: refused at the 17th, the run over. */
static void test_deep(void)
{
    struct ktap k;
    char line[256], why[256];
    bool over = false;

    ktap_init(&k);
    ktap_feed(&k, "KTAP version 1", 14);
    ktap_feed(&k, "1..1", 4);
    for (int d = 1; d <= 20; d++) {
        int n = snprintf(line, sizeof(line), "%*sKTAP version 1", 4 * d, "");

        over |= ktap_feed(&k, line, (size_t)n);
    }
    CHECK(over && k.broken, "20 levels: not refused");
    CHECK(ktap_verdict(&k, why, sizeof(why)) == 1 && strstr(why, "deeper"),
          "20 levels: %s", why);
    check_outputs(&k, "deep", NULL, NULL);
    ktap_destroy(&k);
}

/* A 64 KiB line, a flood of results past KTAP_MAX_CASES. */
static void test_flood(void)
{
    size_t big = 65536;
    char *line = malloc(big);
    char buf[64], why[256];
    struct ktap k;
    unsigned long n = KTAP_MAX_CASES + 1000;

    CHECK(line != NULL, "malloc");
    if (!line) {
        return;
    }
    ktap_init(&k);
    memset(line, 'x', big);
    memcpy(line, "# ", 2);
    ktap_feed(&k, "TAP version 13", 14);
    ktap_feed(&k, line, big);
    memcpy(line, "not ok 1 ", 9);
    ktap_feed(&k, line, big);
    for (unsigned long i = 2; i <= n; i++) {
        int len = snprintf(buf, sizeof(buf), "ok %lu t%lu", i, i);

        ktap_feed(&k, buf, (size_t)len);
    }
    snprintf(buf, sizeof(buf), "1..%lu", n);
    CHECK(ktap_feed(&k, buf, strlen(buf)), "flood: the trailing plan did not "
                                           "end the run");
    CHECK(k.nr_cases == KTAP_MAX_CASES && k.dropped == n - KTAP_MAX_CASES,
          "flood: kept %zu, dropped %lu", k.nr_cases, k.dropped);
    CHECK(k.passed == n - 1 && k.failed == 1, "flood: %lu passed %lu failed",
          k.passed, k.failed);
    CHECK(ktap_verdict(&k, why, sizeof(why)) == 1, "flood: verdict 0");
    CHECK(k.cases[0].diag && strlen(k.cases[0].diag) < KTAP_DIAG_MAX,
          "flood: the diagnostic was not kept or not cut");
    CHECK(strlen(k.cases[0].path) <= KTAP_NAME_MAX, "flood: path not cut");
    check_outputs(&k, "flood", NULL, NULL);
    ktap_destroy(&k);
    free(line);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--junit-dir") == 0) {
        junit_dir = argv[2];
    }
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        test_doc(&docs[i]);
    }
    test_deep();
    test_flood();
    printf("test_ktap: %zu documents, %u failures\n",
           sizeof(docs) / sizeof(docs[0]) + 2, unit_failures);
    return unit_failures ? 1 : 0;
}
