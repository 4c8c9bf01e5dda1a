/* SPDX-License-Identifier: MIT */
/*
 * Batches of vectored reads and writes on one file through io_uring
 * (liburing), for a block device whose worker takes several requests off
 * its queue at once and waits for them together.
 *
 * Least privilege: the ring is created disabled, the file is registered
 * as its only fixed file, and the ring is restricted (IORING_REGISTER_
 * RESTRICTIONS) to READV and WRITEV on fixed files before it is enabled.
 * Seccomp filters syscalls, not the operations a ring carries out, so this
 * is what keeps a subverted process from using the ring for anything but
 * this file. Kernels without io_uring, without restrictions (before 5.10)
 * or where it is forbidden (a container's seccomp profile,
 * kernel.io_uring_disabled) make blk_uring_new() fail; the caller falls
 * back to plain system calls on its own thread.
 *
 * Threads: one thread at a time uses a ring (the device's worker); it may
 * be another than the one that made it.
 */
#ifndef DEVICES_BLK_URING_H
#define DEVICES_BLK_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct blk_uring;

/*
 * A ring of (depth) entries (1..4096) for (fd), in (*out). Returns 0, or
 * -errno: -ENOSYS (no io_uring), -EPERM (forbidden), -EINVAL (no
 * restrictions), -ENOMEM; nothing to undo.
 */
__attribute__((warn_unused_result)) int blk_uring_new(int fd, unsigned depth,
                                                      struct blk_uring **out);

/* Free (u); NULL is ignored. */
void blk_uring_free(struct blk_uring *u);

/*
 * Queue preadv (write false) or pwritev of (iov)[0..n) at (pos), tagged
 * (tag). (iov) must stay valid until blk_uring_run() returns. Returns 0, or
 * -EBUSY when (depth) operations are queued already.
 */
__attribute__((warn_unused_result)) int
blk_uring_add(struct blk_uring *u, bool write, const struct iovec *iov, int n,
              off_t pos, uint64_t tag);

/*
 * Submit what is queued and wait for all of it: (done) is called once per
 * operation with its tag and result (bytes moved, possibly fewer than
 * asked, or -errno). Returns 0 with the queue empty, or -errno when the
 * ring itself failed; then (done) has been called for every operation,
 * those without a result getting -EIO.
 */
__attribute__((warn_unused_result)) int
blk_uring_run(struct blk_uring *u,
              void (*done)(void *arg, uint64_t tag, int64_t res), void *arg);

#endif /* DEVICES_BLK_URING_H */
