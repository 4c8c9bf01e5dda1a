/* SPDX-License-Identifier: MIT */
/*
 * Option and size parsing shared by every command (see util/cli.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/cli.h"

int cli_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || !*s) {
        return -EINVAL;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -EINVAL;
        }
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v)) {
            return -ERANGE;
        }
    }
    if (v > max) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {
        {"", 0},     {"b", 0},   {"k", 10},   {"kb", 10},  {"kib", 10},
        {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},   {"gb", 30},
        {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40},
    };
    bool overflow = false;
    uint64_t v = 0;
    size_t n = 0;
    unsigned i;

    if (!s) {
        return -EINVAL;
    }
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        overflow |= __builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, (uint64_t)(s[n] - '0'), &v);
    }
    if (n == 0) {
        return -EINVAL;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s + n, units[i].suffix) == 0) {
            if (overflow ||
                (units[i].shift && v > (UINT64_MAX >> units[i].shift))) {
                return -ERANGE;
            }
            *out = v << units[i].shift;
            return 0;
        }
    }
    return -EINVAL;
}

int cli_parse_mem_size(const char *s, uint64_t *out)
{
    size_t n = 0;
    uint64_t v;
    int ret;

    while (s && s[n] >= '0' && s[n] <= '9') {
        n++;
    }
    if (!s || n == 0 || s[n] != '\0') {
        return cli_parse_size(s, out);
    }
    ret = cli_parse_size(s, &v);
    if (ret < 0) {
        return ret;
    }
    if (v > (UINT64_MAX >> 20)) {
        return -ERANGE;
    }
    *out = v << 20;
    return 0;
}

void cli_one_line(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = '?';
        }
    }
}
