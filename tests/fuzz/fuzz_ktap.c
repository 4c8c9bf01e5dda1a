/* SPDX-License-Identifier: MIT */
/*
 * The KTAP reader (util/ktap.c) and the JUnit writer (util/junit.c) on a
 * guest's console: the input is split at newlines and fed line by line.
 * Whatever it holds, the reader keeps its limits (depth, kept cases, cut
 * names and diagnostics), the verdict is 0 or 1 with a reason, and the JSON
 * and XML written are valid UTF-8 without raw control bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/json.h"
#include "util/junit.h"
#include "util/ktap.h"

static void check_clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t l;

        if (c < 0x80) {
            FUZZ_CHECK(c >= 0x20 || c == '\n' || c == '\t');
            FUZZ_CHECK(c != 0x7f);
            i++;
        } else {
            l = utf8_len((const unsigned char *)s + i, n - i);
            FUZZ_CHECK(l > 0);
            i += l ? l : 1;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct junit_info info = {.name = "fuzz", .start = 0, .seconds = 0};
    struct ktap k;
    char why[256], *buf = NULL;
    size_t len = 0;
    FILE *f;
    int v;

    ktap_init(&k);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        ktap_feed(&k, p, n);
        p += n + (nl != NULL);
    }
    FUZZ_CHECK(k.depth <= KTAP_MAX_DEPTH);
    FUZZ_CHECK(k.nr_cases <= KTAP_MAX_CASES);
    for (size_t i = 0; i < k.nr_cases; i++) {
        FUZZ_CHECK(!k.cases[i].diag || strlen(k.cases[i].diag) < KTAP_DIAG_MAX);
    }
    why[0] = '\0';
    v = ktap_verdict(&k, why, sizeof(why));
    FUZZ_CHECK((v == 0 || v == 1) && why[0]);
    f = open_memstream(&buf, &len);
    if (f) {
        ktap_write_json(&k, f);
        fclose(f);
        check_clean(buf, len);
        free(buf);
    }
    buf = NULL;
    f = open_memstream(&buf, &len);
    if (f) {
        FUZZ_CHECK(junit_write(&k, &info, f) == 0);
        fclose(f);
        check_clean(buf, len);
        free(buf);
    }
    ktap_destroy(&k);
    return 0;
}
