/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the unit tests: a CHECK() macro that counts
 * failures in the including file's (unit_failures) instead of aborting, so
 * one run reports every broken case, and printers for 128-bit sizes and
 * flat views.
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <inttypes.h>
#include <stdio.h>

#include "mem/flatview.h"
#include "mem/region.h"
#include "mem/types.h"

/*
 * Count a failure in (unit_failures), which the test file defines, and say
 * where and why on stderr.
 */
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            unit_failures++;                                                   \
            fprintf(stderr, "%s:%d: FAIL (%s): ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* Format the 128-bit (v) as hex into (buf), which holds 40 bytes. */
static inline const char *unit_u128(char *buf, mr_size_t v)
{
    uint64_t hi = (uint64_t)(v >> 64);
    uint64_t lo = (uint64_t)v;

    if (hi) {
        snprintf(buf, 40, "0x%" PRIx64 "%016" PRIx64, hi, lo);
    } else {
        snprintf(buf, 40, "0x%" PRIx64, lo);
    }
    return buf;
}

/* Print every range of (fv) to (f), one per line, prefixed by (indent). */
static inline void unit_print_view(FILE *f, const char *indent,
                                   const struct flatview *fv)
{
    if (!fv) {
        fprintf(f, "%s(no view)\n", indent);
        return;
    }
    if (fv->nr == 0) {
        fprintf(f, "%s(empty view)\n", indent);
    }
    for (size_t i = 0; i < fv->nr; i++) {
        const struct flat_range *fr = &fv->ranges[i];

        fprintf(
            f, "%s[%zu] %016" PRIx64 "-%016" PRIx64 " %s +0x%" PRIx64 "%s%s\n",
            indent, i, fr->first, fr->last, fr->mr ? mr_name(fr->mr) : "(null)",
            fr->offset, fr->readonly ? " ro" : "", fr->log_dirty ? " log" : "");
    }
}

#endif /* TESTS_UNIT_UNIT_H */
