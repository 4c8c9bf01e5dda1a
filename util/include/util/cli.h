/* SPDX-License-Identifier: MIT */
/*
 * Option and size parsing shared by every command (`vmm run`, the
 * benchmarks). Pure functions: no I/O beyond the message buffer, no exit.
 */
#ifndef UTIL_CLI_H
#define UTIL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse a size: decimal digits with an optional K, M, G or T suffix (also
 * KiB/MiB/GiB/TiB, KB/MB/GB, lower case allowed; binary multiples).
 * Returns 0 or -EINVAL (not a size) / -ERANGE (beyond 2^64 - 1).
 */
__attribute__((warn_unused_result)) int cli_parse_size(const char *s,
                                                       uint64_t *out);

/*
 * Parse a memory size as QEMU's -m and kvmtool's -m read it: a plain number
 * is MiB ("512" = 512 MiB); with a suffix as cli_parse_size() ("4G",
 * "65536K", "1048576B" for bytes).
 */
__attribute__((warn_unused_result)) int cli_parse_mem_size(const char *s,
                                                           uint64_t *out);

/* Parse a non-negative decimal integer no larger than (max). */
__attribute__((warn_unused_result)) int
cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * Make (s) printable on one line: control characters (which a message can
 * carry when it quotes user input) become '?'.
 */
void cli_one_line(char *s);

#endif /* UTIL_CLI_H */
