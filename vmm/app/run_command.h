/* SPDX-License-Identifier: MIT */
/*
 * `vmm run --kernel K -- CMD ARGS...`: the initramfs that runs CMD. It holds
 * vmm's init (guest/init/vmm-init.c), the kernel modules the share and the
 * consoles need (virtio_mmio, virtio_console, 9pnet_virtio, 9p and what
 * they depend on, overlay where there is one) read from a modules
 * directory, and /vmm/run.conf: the shares to mount, the writable places,
 * the user, the directory, the environment and the command.
 */
#ifndef VMM_RUN_COMMAND_H
#define VMM_RUN_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "machine.h"

/* The root share's mount tag. */
#define RUN_COMMAND_ROOT_TAG "root"

/* What the command runs as and where: the invoking process's, by default
 * (run_command_who_self()). */
struct run_command_who {
    uid_t uid;
    gid_t gid;
    gid_t groups[256];
    size_t nr_groups;
    char cwd[4096];
    char hostname[65];
    /* Whether vmm's stdin, stdout and stderr are terminals. */
    bool tty_in, tty_out, tty_err;
};

struct run_command_in {
    /* The kernel (a bzImage or a PVH vmlinux) and the path it came
     * from. */
    const void *kernel;
    size_t kernel_size;
    const char *kernel_path;
    /* --modules, or NULL for /lib/modules/<the kernel's release>, or the
     * build tree (kernel_path) is in (its arch/x86/boot/bzImage or its
     * vmlinux). */
    const char *modules_dir;
    /* The command. */
    const char *const *argv;
    size_t argc;
    /* The shares the machine serves, the root's tag RUN_COMMAND_ROOT_TAG;
     * the others are mounted at their own path. */
    const struct machine_share *shares;
    size_t nr_shares;
    /* The environment given to the command (NULL-terminated). */
    const char *const *envp;
    const struct run_command_who *who;
};

struct run_command {
    /* The initramfs (free() it). */
    void *initrd;
    size_t initrd_size;
    /* The kernel's release ("" when it names none: a bzImage in its
     * header, a vmlinux in its banner), the modules
     * directory used ("" for none: the kernel must have them built in),
     * and how many modules went in. */
    char release[128];
    char modules_dir[4096];
    size_t nr_modules;
    /* modules_dir is a kernel build tree (modules.order, no
     * modules.dep). */
    bool tree;
};

/*
 * Build (out) for (in). Returns 0, or -errno with one line in (why) naming
 * what and why: an unreadable or broken modules directory, a module a
 * share needs that it neither has nor builds in, a command too long.
 */
__attribute__((warn_unused_result)) int
run_command_build(const struct run_command_in *in, struct run_command *out,
                  char *why, size_t whylen);

void run_command_free(struct run_command *rc);

/* Fill (who) from this process: ids, groups, cwd, host name, terminals.
 * Returns 0 or -errno with (why) set (a cwd too long). */
__attribute__((warn_unused_result)) int
run_command_who_self(struct run_command_who *who, char *why, size_t whylen);

/* The environment variables a command takes from vmm's (a NULL-terminated
 * list of names). */
extern const char *const run_command_env_names[];

#endif /* VMM_RUN_COMMAND_H */
