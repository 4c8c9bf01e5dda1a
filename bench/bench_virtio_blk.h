/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench virtio-blk`: a Linux guest's disk throughput on vmm's
 * virtio-blk and, on the same image, kernel and initramfs, on QEMU's.
 * The initramfs (scripts/bench-virtio-blk builds one) runs the guest/
 * blkbench program on /dev/vda with the sizes it finds on the kernel
 * command line (blkbench=MIB,SECONDS) and prints its one BLKBENCH line on
 * the console; vmm reads it from both VMs and reports every figure with
 * the ratio vmm / QEMU (higher is better for all four).
 */
#ifndef VMM_BENCH_VIRTIO_BLK_H
#define VMM_BENCH_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/opt.h"

struct bench_vblk_opts {
    const char *kernel;
    const char *initrd;
    /* The span tested, MiB, and seconds of each random-read run. */
    uint64_t mib;
    uint64_t seconds;
    /* QEMU to compare with; NULL: qemu-system-x86_64 from PATH if any,
     * "none": no comparison. */
    const char *qemu;
    /* "io_uring" or "threads", for vmm's disk and QEMU's -drive aio=. */
    const char *aio;
    bool json;
};

extern const struct opt_cmd bench_vblk_cmd;

/* Parse `vmm bench virtio-blk`'s arguments: 0, OPT_HELP or -EINVAL with
 * (why) set. */
__attribute__((warn_unused_result)) int
bench_vblk_parse(int argc, char **argv, struct bench_vblk_opts *o, char *why,
                 size_t whylen);

/* Run it; 0, or -errno with one line on stderr. */
__attribute__((warn_unused_result)) int
bench_virtio_blk(const struct bench_vblk_opts *o, uint64_t t0_ns, FILE *out);

#endif /* VMM_BENCH_VIRTIO_BLK_H */
