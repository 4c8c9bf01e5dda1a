/* SPDX-License-Identifier: MIT */
/*
 * The JSON string writer (util/json.h), table-driven: escapes, control
 * characters and DEL, well-formed UTF-8 of every length kept, and every
 * kind of ill-formed byte (stray continuation, truncated, overlong,
 * surrogate, above U+10FFFF, 0xfe/0xff) replaced by \ufffd, so that the
 * output is always valid JSON in valid UTF-8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/json.h"

static unsigned unit_failures;

static void check(const char *name, const char *in, size_t len,
                  const char *want)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    if (!f) {
        CHECK(0, "%s: open_memstream", name);
        return;
    }
    json_write_mem(f, in, len);
    fclose(f);
    CHECK(strcmp(buf, want) == 0, "%s: got %s, want %s", name, buf, want);
    free(buf);
}

#define CASE(name, in, want) check(name, in, sizeof(in) - 1, want)

int main(void)
{
    CASE("empty", "", "\"\"");
    CASE("plain", "Linux version 6.1", "\"Linux version 6.1\"");
    CASE("quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"");
    CASE("controls", "\t\n\r\x01\x1f",
         "\"\\u0009\\u000a\\u000d\\u0001\\u001f\"");
    CASE("DEL", "x\x7fy", "\"x\\u007fy\"");
    CASE("NUL inside", "a\0b", "\"a\\u0000b\"");
    /* Well-formed: é (2), € (3), U+1F600 (4), the edges of each form. */
    CASE("2-byte", "caf\xc3\xa9", "\"caf\xc3\xa9\"");
    CASE("3-byte", "\xe2\x82\xac", "\"\xe2\x82\xac\"");
    CASE("4-byte", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
    CASE("U+0080", "\xc2\x80", "\"\xc2\x80\"");
    CASE("U+0800", "\xe0\xa0\x80", "\"\xe0\xa0\x80\"");
    CASE("U+D7FF", "\xed\x9f\xbf", "\"\xed\x9f\xbf\"");
    CASE("U+E000", "\xee\x80\x80", "\"\xee\x80\x80\"");
    CASE("U+10FFFF", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
    /* Ill-formed: one \ufffd per byte that starts no valid sequence. */
    CASE("stray continuation", "a\x80z", "\"a\\ufffdz\"");
    CASE("lone lead at end", "a\xc3", "\"a\\ufffd\"");
    CASE("truncated 3-byte", "\xe2\x82z", "\"\\ufffd\\ufffdz\"");
    CASE("overlong 2-byte", "\xc0\xaf", "\"\\ufffd\\ufffd\"");
    CASE("overlong 3-byte", "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
    CASE("overlong 4-byte", "\xf0\x8f\xbf\xbf",
         "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    CASE("surrogate", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    CASE("above U+10FFFF", "\xf4\x90\x80\x80",
         "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    CASE("0xfe 0xff", "\xfe\xff", "\"\\ufffd\\ufffd\"");
    CASE("lead then ASCII", "\xc3(", "\"\\ufffd(\"");
    /* The NUL-terminated form stops at the NUL. */
    {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (f) {
            json_write_string(f, "ok\xff");
            fclose(f);
            CHECK(strcmp(buf, "\"ok\\ufffd\"") == 0, "string form: %s", buf);
            free(buf);
        }
    }
    printf("test_json: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
