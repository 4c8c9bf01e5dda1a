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

/* Guest kinds, the bits of a run option's scope (struct opt.scope). */
#define GUEST_TEST (1u << 0)
#define GUEST_BZIMAGE (1u << 1)
#define GUEST_PVH (1u << 2)
#define GUEST_MULTIBOOT (1u << 3)
#define GUEST_KERNELS (GUEST_BZIMAGE | GUEST_PVH | GUEST_MULTIBOOT)
#define GUEST_ANY (GUEST_TEST | GUEST_KERNELS)

/* --disk options at most (the PC's virtio slots, one kept for --rng). */
#define CLI_MAX_DISKS 6
#define CLI_DISK_ARG_MAX 1024
/* --share options at most. */
#define CLI_MAX_SHARES 4

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
    /* The options given, by their table index (cli_run_cmd.opts). */
    uint64_t given;
    /* --disk: mc.disks points here (fd -1 until the caller opens them);
     * their paths and serials point into (disk_arg). */
    struct machine_disk disks[CLI_MAX_DISKS];
    char disk_arg[CLI_MAX_DISKS][CLI_DISK_ARG_MAX];
    /* -- CMD ARGS...: the command to run in the guest (nr_command 0:
     * none), pointing into argv; --modules, --save-initrd. */
    char **command;
    size_t nr_command;
    const char *modules_dir;
    const char *save_initrd;
    /* --share: mc.shares points here; paths and tags into (share_arg). */
    struct machine_share shares[CLI_MAX_SHARES];
    char share_arg[CLI_MAX_SHARES][CLI_DISK_ARG_MAX];
};

/*
 * Refuse the options (o) carries that a guest of kind (fmt) cannot use:
 * -EINVAL with one line in (why) naming the first such option and the
 * kinds it is for. The table of options says where each applies.
 */
__attribute__((warn_unused_result)) int
cli_check_guest_kind(const struct run_opts *o, enum boot_format fmt, char *why,
                     size_t whylen);

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
