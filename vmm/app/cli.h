/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for `vmm run` (the option and size helpers every
 * command shares are in util/cli.h). Pure functions: no I/O beyond the message
 * buffer, no exit, so that unit tests and fuzzers can drive them.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine.h"
#include "util/cli.h"
#include "util/opt.h"

/* What `vmm run` was asked to do. */
struct run_opts {
    struct machine_config mc;
    /* NULL: the embedded hello guest. */
    const char *kernel;
    /* NULL: no JSON report. */
    const char *json;
    /* Read KTAP from the console (--ktap; --junit FILE implies it). */
    bool ktap;
    const char *junit;
    const char *backend_name;
    const char *hugepage_name;
};

/* `vmm run`'s option table, for --help. */
extern const struct opt_cmd cli_run_cmd;

/*
 * Parse the arguments after `run` into (o) (defaults first: 256 MiB, one
 * vCPU, anonymous memory, /dev/kvm). Returns 0, OPT_HELP when they ask for
 * --help ((o) untouched), or -EINVAL with one line in (why) naming the
 * option and the reason.
 */
__attribute__((warn_unused_result)) int cli_parse_run(int argc, char **argv,
                                                      struct run_opts *o,
                                                      char *why, size_t whylen);

#endif /* VMM_CLI_H */
