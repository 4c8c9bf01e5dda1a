/* SPDX-License-Identifier: MIT */
/*
 * The machine: what goes where. Builds the x86 memory layout from regions
 * (RAM below 4 GiB up to 3 GiB, the rest of the same RAMBlock above 4 GiB
 * through an alias, devices in the hole), the KVM VM with its memslot
 * listener, loads the image, runs one thread per vCPU until the guest
 * ends, and tears everything down again, so that one process can run many
 * machines one after another.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "cpuid.h"
#include "exit_codes.h"
#include "machine_ctl.h"
#include "mem/ramblock.h"
#include "vcpu.h"

/* A disk image for virtio-blk (--disk), opened by the caller. */
struct machine_disk {
    const char *path;
    int fd;
    uint64_t size;
    bool readonly;
    /* Opened O_DIRECT (cache=none). */
    bool direct;
    /* GET_ID's answer; NULL: none. */
    const char *serial;
    /* How I/O reaches the image (devices/virtio_blk.h): AUTO takes
     * io_uring where the kernel allows it. */
    enum machine_disk_aio {
        MACHINE_DISK_AIO_AUTO,
        MACHINE_DISK_AIO_IO_URING,
        MACHINE_DISK_AIO_THREADS,
    } aio;
};

/* --share: a host directory served over virtio-9p. */
struct machine_share {
    const char *path;
    /* The mount tag (1 to 32 bytes). */
    const char *tag;
    /* ",rw": the guest may change it; else read-only. */
    bool writable;
};

struct machine_config {
    /* The image to boot: (image, image_size) in memory, named (image_name)
     * in messages. */
    const void *image;
    size_t image_size;
    const char *image_name;
    uint64_t mem_size;
    int cpus;
    const char *kvm_device;
    struct ram_block_opts ram;
    /* Print the region tree, the FlatViews, the slot table after setup. */
    bool dump_mtree;
    bool dump_flatview;
    bool dump_slots;
    /* `vmm bench mmio`: blocks of MMIO exits alternate between the memory
     * API and a bare switch on the test device's registers, each timed
     * (machine_result.mmio_bench). One vCPU. */
    bool mmio_bench;
    /* The value the guest reads from the test device's ARG register. */
    uint64_t guest_arg;
    /* Kernel command line and --initrd spec (QEMU's "file arg,file2"
     * syntax; a single file for Linux). NULL when not given. */
    const char *cmdline;
    const char *initrd;
    /* The initrd (Linux) or multiboot modules, read by the caller. */
    const struct boot_module *modules;
    size_t nr_modules;
    /* --serial stdio|file:PATH|none (NULL: stdio). */
    const char *serial;
    /* Smoke mode: end with status 0 when a console line matches (a POSIX
     * extended regex), or with VMM_EXIT_TIMEOUT after (timeout_s) seconds
     * (0: no timeout). */
    const char *expect;
    double timeout_s;
    /* Each complete console line, on the vCPU thread that wrote it (one
     * at a time); when it returns true the VM ends with status 0 and
     * reason (on_line_reason) (a KTAP reader whose plan is complete). NULL:
     * none. */
    bool (*on_line)(void *line_opaque, const char *line, size_t len);
    void *line_opaque;
    const char *on_line_reason;
    enum cpuid_policy cpuid;
    /* Do not read stdin (benchmarks, soak). */
    bool no_stdin;
    /* Called once the image's kind is known, before any host resource is
     * taken: -errno with (why) set refuses the run (an option that kind
     * of guest cannot use); 0 after filling (modules, nr_modules) if it
     * wants. NULL: none. */
    int (*check_kind)(void *check_opaque, enum boot_format fmt, char *why,
                      size_t whylen);
    void *check_opaque;
    /* Called once the image and the modules are in guest memory: neither
     * is used after it, so the caller can release them (the resident set
     * then holds no copy of the kernel file while the guest runs). */
    void (*on_loaded)(void *loaded_opaque);
    void *loaded_opaque;
    /* Set to a signal number (by the caller's handler) to end the VM:
     * it ends with 128 + that number, outcome MACHINE_INTERRUPTED. NULL:
     * none. */
    const volatile sig_atomic_t *stop_signal;
    /* virtio-mmio devices (kernels only): disks, virtio-rng, and whether
     * the kernel command line declares them (virtio_mmio.device=) instead
     * of the DSDT. */
    const struct machine_disk *disks;
    size_t nr_disks;
    bool virtio_rng;
    /* After the disks, the rng and the console. */
    const struct machine_share *shares;
    size_t nr_shares;
    bool virtio_cmdline;
    /* --console virtio: a virtio-console (hvc0) takes the typed input and
     * console=hvc0 ends the kernel command line; the UART stays. */
    bool console_virtio;
    /* `vmm run -- CMD` (kernels only): two virtio-consoles after the rng
     * (hvc0 takes the typed input and its output goes to the console, as
     * with --console virtio; hvc1's output goes to stderr), the
     * run-control port (devices/run_ctl.h), whose end ends the VM, and
     * the UART, the kernel's console, goes where (serial) says ("stderr"
     * by default; --expect and the line hooks read hvc0 only). Not with
     * console_virtio. */
    bool command;
    /* Enter the seccomp allow-list before the vCPUs start. */
    bool sandbox;
    /* Dirty logging (vmm/core/dirty_log.h): a dirty ring of this many entries
     * per vCPU, enabled before the vCPUs exist; 0 for none. */
    uint32_t dirty_ring_entries;
    /* A controller run on the main thread once the vCPUs run, and the
     * vCPU threads' handler of KVM_EXIT_DIRTY_RING_FULL (machine_ctl.h),
     * both given (ctl_opaque). NULL: none. */
    machine_on_running_fn on_running;
    machine_ring_full_fn ring_full;
    void *ctl_opaque;
};

/* How the VM ended, for smoke mode. */
enum machine_outcome {
    MACHINE_EXITED,      /* the guest ended it (or a failure did) */
    MACHINE_MATCHED,     /* --expect matched */
    MACHINE_TIMEOUT,     /* --timeout expired */
    MACHINE_INTERRUPTED, /* *stop_signal was set */
};

/* One virtio device's counters (machine_result.virtio). */
#define MACHINE_MAX_VIRTIO 8
struct machine_virtio_stats {
    /* "blk", "rng", "console" or "9p". */
    const char *device;
    /* Queue notifications through KVM_IOEVENTFD, interrupts through
     * KVM_IRQFD (false: served by hand, slower). */
    bool ioeventfd, irqfd;
    /* Queue notifications that reached the VMM as MMIO exits. */
    uint64_t kicks_by_exit;
    /* Times the worker ran a queue. */
    uint64_t queue_runs;
    /* Requests answered (virtio-rng: chains filled; virtio-console: bytes
     * out and in); those answered with an error (virtio-blk: IOERR or
     * UNSUPP; virtio-console: typed bytes dropped). */
    uint64_t requests, errors;
    /* virtio-blk: "io_uring" or "threads"; NULL for the others. */
    const char *aio;
};

/* How far the guest's init got (machine_config.command). */
#define MACHINE_NR_PHASES 4
struct machine_command_result {
    /* The command ended, or the init gave up (it said why on the
     * console). */
    bool ended, failed;
    /* Its exit status 0..255, or -n when signal n killed it. */
    int status;
    /* When each RUN_CTL_PHASE_* was reached and the command ended, in
     * milliseconds since the process started (t0_ns); -1: never. Index 0
     * is unused. */
    double phase_ms[MACHINE_NR_PHASES];
    double end_ms;
};

enum { MACHINE_MMIO_API, MACHINE_MMIO_RAW };

struct machine_result {
    enum machine_outcome outcome;
    int exit_code;
    char matched_line[512];
    /* Milliseconds since the process started (t0_ns); -1 when it never
     * happened. */
    double first_serial_output_ms;
    double match_ms;
    double elapsed_ms;
    /* Why the VM ended, for messages: "guest exit", "triple fault", ... */
    char reason[64];
    double start_to_first_run_ms;
    double run_ms;
    uint64_t rss_kib;
    struct vcpu_stats exits;
    /* machine_config.mmio_bench: exits and nanoseconds counted in each
     * path's blocks, [MACHINE_MMIO_API] and [MACHINE_MMIO_RAW]. */
    struct machine_mmio_bench {
        uint64_t exits[2];
        uint64_t ns[2];
    } mmio_bench;
    unsigned nr_virtio;
    struct machine_virtio_stats virtio[MACHINE_MAX_VIRTIO];
    struct machine_command_result command;
};

/*
 * Build, run and destroy one VM. (t0_ns) is the CLOCK_MONOTONIC time the
 * process (or this run) started, for start_to_first_run_ms. Returns 0 when
 * the VM ran (its end, whatever it was, is in (*res)), or -errno when it
 * could not be built, with (why) naming what and why in one line.
 */
__attribute__((warn_unused_result)) int
machine_run(const struct machine_config *cfg, uint64_t t0_ns,
            struct machine_result *res, char *why, size_t whylen);

/*
 * Fill (mc) for one of the embedded test guests (image, size, name) as the
 * benchmarks run it: 64 MiB, one vCPU, /dev/kvm, no console input.
 */
void machine_config_embedded(struct machine_config *mc, const void *image,
                             size_t size, const char *name);

#endif /* VMM_MACHINE_H */
