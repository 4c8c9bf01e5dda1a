/* SPDX-License-Identifier: MIT */
/*
 * The one JSON string writer: every report and dump that prints a string
 * it did not write itself (a guest's console line, a region's name, a
 * path) goes through it, so the output is valid JSON, and valid UTF-8,
 * whatever the bytes were (RFC 8259, sections 7 and 8.1).
 */
#ifndef UTIL_JSON_H
#define UTIL_JSON_H

#include <stddef.h>
#include <stdio.h>

/*
 * Write the (len) bytes at (s) to (f) as a JSON string, quotes included:
 * '"' and '\' escaped, control characters (below 0x20, and DEL) as
 * \u00XX, well-formed UTF-8 copied as it is, and each byte that does not
 * start a well-formed sequence (a stray continuation byte, a truncated or
 * overlong sequence, a surrogate, a code point above U+10FFFF) replaced by
 * \ufffd, the replacement character.
 */
void json_write_mem(FILE *f, const char *s, size_t len);

/*
 * Length of the well-formed UTF-8 sequence at (p), (n) bytes available,
 * whose first byte is >= 0x80; 0 when it is not one (for every writer that
 * must emit valid UTF-8: this one, the JUnit XML writer).
 */
size_t utf8_len(const unsigned char *p, size_t n);

/* json_write_mem() of the NUL-terminated (s). */
void json_write_string(FILE *f, const char *s);

#endif /* UTIL_JSON_H */
