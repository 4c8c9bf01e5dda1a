/* SPDX-License-Identifier: MIT */
/*
 * Batches of vectored I/O through io_uring (see devices/blk_uring.h).
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/blk_uring.h"

#define DEPTH_MAX 4096u
/* io_uring_submit() may say EAGAIN or EBUSY for a while, not forever. */
#define SUBMIT_BUSY_MAX 1000u

struct blk_uring {
    struct io_uring ring;
    unsigned depth;
    /* Queued since the last run, and which of them completed. */
    unsigned queued;
    uint64_t *tags;
    bool *seen;
    /* The ring failed once: nothing more is queued on it. */
    bool dead;
};

/* io_uring_register(2) itself: Debian 12's liburing.so does not export
 * its wrappers for restrictions and enabling (its archive does). */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg,
                         unsigned nr)
{
    long r = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr);

    return r < 0 ? -errno : 0;
}

/* Only READV and WRITEV, only on the registered file; no more register
 * operations once enabled (none is allowed). */
static int restrict_ring(struct io_uring *ring)
{
    struct io_uring_restriction r[4];

    memset(r, 0, sizeof(r));
    r[0].opcode = IORING_RESTRICTION_SQE_OP;
    r[0].sqe_op = IORING_OP_READV;
    r[1].opcode = IORING_RESTRICTION_SQE_OP;
    r[1].sqe_op = IORING_OP_WRITEV;
    r[2].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    r[2].sqe_flags = IOSQE_FIXED_FILE;
    r[3].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
    r[3].sqe_flags = IOSQE_FIXED_FILE;
    return ring_register(ring, IORING_REGISTER_RESTRICTIONS, r, 4);
}

int blk_uring_new(int fd, unsigned depth, struct blk_uring **out)
{
    struct blk_uring *u;
    int ret;

    if (depth == 0 || depth > DEPTH_MAX) {
        return -EINVAL;
    }
    u = calloc(1, sizeof(*u));
    if (!u) {
        return -ENOMEM;
    }
    u->depth = depth;
    u->tags = calloc(depth, sizeof(*u->tags));
    u->seen = calloc(depth, sizeof(*u->seen));
    if (!u->tags || !u->seen) {
        ret = -ENOMEM;
        goto out_free;
    }
    ret = io_uring_queue_init(depth, &u->ring, IORING_SETUP_R_DISABLED);
    if (ret < 0) {
        goto out_free;
    }
    ret = io_uring_register_files(&u->ring, &fd, 1);
    if (ret == 0) {
        ret = restrict_ring(&u->ring);
    }
    if (ret == 0) {
        ret = ring_register(&u->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    }
    if (ret < 0) {
        io_uring_queue_exit(&u->ring);
        goto out_free;
    }
    *out = u;
    return 0;
out_free:
    free(u->tags);
    free(u->seen);
    free(u);
    return ret;
}

void blk_uring_free(struct blk_uring *u)
{
    if (!u) {
        return;
    }
    io_uring_queue_exit(&u->ring);
    free(u->tags);
    free(u->seen);
    free(u);
}

int blk_uring_add(struct blk_uring *u, bool write, const struct iovec *iov,
                  int n, off_t pos, uint64_t tag)
{
    struct io_uring_sqe *sqe;

    if (u->dead) {
        return -EIO;
    }
    if (u->queued == u->depth) {
        return -EBUSY;
    }
    sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        return -EBUSY;
    }
    /* File 0 of the registered table: the only one. */
    if (write) {
        io_uring_prep_writev(sqe, 0, iov, (unsigned)n, (uint64_t)pos);
    } else {
        io_uring_prep_readv(sqe, 0, iov, (unsigned)n, (uint64_t)pos);
    }
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, u->queued);
    u->tags[u->queued] = tag;
    u->seen[u->queued] = false;
    u->queued++;
    return 0;
}

int blk_uring_run(struct blk_uring *u,
                  void (*done)(void *arg, uint64_t tag, int64_t res), void *arg)
{
    unsigned left = u->queued;
    int ret = 0;

    /* Everything queued goes in (a short submit is submitted again:
     * waiting on entries never submitted would never end). */
    for (unsigned in = 0, busy = 0; in < left && ret >= 0;) {
        ret = io_uring_submit(&u->ring);
        if (ret == -EINTR ||
            ((ret == -EAGAIN || ret == -EBUSY) && ++busy < SUBMIT_BUSY_MAX)) {
            ret = 0;
        } else if (ret > 0) {
            in += (unsigned)ret;
        } else if (ret == 0) {
            ret = -EIO; /* nothing more would go in */
        }
    }
    while (left && ret >= 0) {
        struct io_uring_cqe *cqe;
        uint64_t i;

        ret = io_uring_wait_cqe(&u->ring, &cqe);
        if (ret == -EINTR) {
            ret = 0;
            continue;
        }
        if (ret < 0) {
            break;
        }
        i = io_uring_cqe_get_data64(cqe);
        if (i < u->queued && !u->seen[i]) {
            u->seen[i] = true;
            left--;
            done(arg, u->tags[i], cqe->res);
        }
        io_uring_cqe_seen(&u->ring, cqe);
    }
    if (ret < 0) {
        /* The ring itself failed: answer what is left, use it no more. */
        u->dead = true;
        for (unsigned i = 0; i < u->queued; i++) {
            if (!u->seen[i]) {
                done(arg, u->tags[i], -EIO);
            }
        }
    }
    u->queued = 0;
    return ret < 0 ? ret : 0;
}
