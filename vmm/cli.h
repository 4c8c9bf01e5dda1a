/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for `vmm run` and the size syntax shared by every
 * command. Pure functions: no I/O beyond the message buffer, no exit, so
 * that unit tests and fuzzers can drive them.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine.h"

/*
 * Parse a size: decimal digits with an optional K, M, G or T suffix (also
 * KiB/MiB/GiB/TiB, KB/MB/GB, lower case allowed; binary multiples).
 * Returns 0 or -EINVAL (not a size) / -ERANGE (beyond 2^64 - 1).
 */
__attribute__((warn_unused_result)) int cli_parse_size(const char *s,
                                                       uint64_t *out);

/* Parse a non-negative decimal integer no larger than (max). */
__attribute__((warn_unused_result)) int
cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * Make (s) printable on one line: control characters (which a message can
 * carry when it quotes user input) become '?'.
 */
void cli_one_line(char *s);

/* Does (arg) name option (name), with or without "=value"? */
bool cli_is_opt(const char *arg, const char *name);

/*
 * The value of option (name) at argv[*i]: after '=' in the same argument,
 * or the next argument (advancing (*i)). NULL with (why) set when it is
 * missing.
 */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name,
                          char *why, size_t whylen);

/* What `vmm run` was asked to do. */
struct run_opts {
    struct machine_config mc;
    /* NULL: the embedded hello guest. */
    const char *kernel;
    /* NULL: no JSON report. */
    const char *json;
    const char *backend_name;
    const char *hugepage_name;
};

/*
 * Parse the arguments after `run` into (o) (defaults first: 256 MiB, one
 * vCPU, anonymous memory, /dev/kvm). On error returns -EINVAL with one
 * line in (why) naming the option and the reason.
 */
__attribute__((warn_unused_result)) int cli_parse_run(int argc, char **argv,
                                                      struct run_opts *o,
                                                      char *why, size_t whylen);

#endif /* VMM_CLI_H */
