/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (VIRTIO 1.1, section 5.2) over a raw image: one request queue;
 * read, write, flush, get-id, discard and write-zeroes. Behind a
 * virtio-mmio transport (devices/virtio_mmio.h), which it owns.
 *
 * The image's size is fixed when the device is made: capacity is that size
 * in 512-byte sectors (a tail shorter than a sector is never reached), and
 * no request touches a byte past it, so a guest can never grow the file. A
 * read-only disk offers VIRTIO_BLK_F_RO and answers every write, discard
 * and write-zeroes with VIRTIO_BLK_S_IOERR. Flush returns only once
 * fdatasync() did. With (direct) the image was opened O_DIRECT (cache=none):
 * buffers the kernel cannot take as they are (not 512-byte aligned) go
 * through an aligned bounce buffer, and writes are followed by nothing (the
 * guest's flush reaches the disk's cache).
 *
 * Every request is the guest's and hostile: a chain without a 16-byte
 * header or a status byte breaks the queue (DEVICE_NEEDS_RESET, there is
 * nowhere to answer); a data length not a multiple of 512, a sector range
 * out of the disk, more discard ranges than offered or a range longer than
 * offered answer IOERR; an unknown type answers UNSUPP.
 *
 * I/O: with io_uring (devices/blk_uring.h, aio=io_uring or auto where the
 * kernel allows it), each notify takes up to VIRTIO_BLK_BATCH requests off
 * the queue and has all their reads and writes in flight at once, so a
 * guest's queue depth reaches the disk; otherwise (aio=threads, or no
 * io_uring) it serves one request at a time with preadv/pwritev. Both end
 * a short transfer with system calls. Other requests are always served
 * with system calls, in the order taken.
 *
 * Threads: requests run on the thread that calls the device's notify (the
 * machine's worker), with the transport's lock dropped during I/O; a reset
 * meanwhile is noticed through the transport's epoch and the answers
 * dropped.
 */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio_mmio.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_SECTOR 512u
#define VIRTIO_BLK_QUEUE_MAX 256u
/* Segments of data in one request (the header and status take two more
 * descriptors). */
#define VIRTIO_BLK_SEG_MAX 126u
/* Ranges in one discard or write-zeroes request, and sectors in a range. */
#define VIRTIO_BLK_MAX_RANGES 32u
#define VIRTIO_BLK_MAX_RANGE_SECTORS (1u << 22) /* 2 GiB */
#define VIRTIO_BLK_SERIAL_LEN 20

/* How reads and writes reach the image (QEMU's aio= names). */
enum virtio_blk_aio {
    /* io_uring where the kernel allows it, else system calls. */
    VIRTIO_BLK_AIO_AUTO,
    VIRTIO_BLK_AIO_IO_URING,
    /* preadv/pwritev on the device's worker thread. */
    VIRTIO_BLK_AIO_THREADS,
};

/* Requests taken off the queue and served together (with io_uring). */
#define VIRTIO_BLK_BATCH 32u

struct virtio_blk_opts {
    /* The image, opened by the caller (read-write unless readonly); the
     * device never closes it. */
    int fd;
    /* Its size in bytes, as the caller found it. */
    uint64_t size;
    bool readonly;
    /* Opened O_DIRECT (cache=none). */
    bool direct;
    /* What GET_ID answers (at most 20 bytes, not NUL-terminated there). */
    const char *serial;
    enum virtio_blk_aio aio;
};

struct blk_slot;
struct blk_uring;

struct virtio_blk {
    struct virtio_mmio transport;
    /* Private. */
    int fd;
    uint64_t sectors;
    bool readonly, direct;
    char serial[VIRTIO_BLK_SERIAL_LEN];
    uint8_t config[128];
    /* The requests in progress (on the worker thread only): one without
     * a ring, VIRTIO_BLK_BATCH with one. */
    struct blk_slot *slots;
    unsigned nr_slots;
    /* NULL: system calls (aio=threads, or no io_uring here). */
    struct blk_uring *uring;
    /* Why io_uring is not used under aio=auto (-errno), else 0. */
    int uring_err;
    void *bounce;
    /* Requests answered OK, IOERR, UNSUPP (atomic: read them with
     * __atomic_load_n from other threads). */
    uint64_t nr_ok, nr_ioerr, nr_unsupp;
};

/*
 * Initialise (b) for the image in (o). Returns 0, or -EINVAL for an image
 * smaller than one sector, -ENOMEM, -errno from blk_uring_new() for
 * aio=io_uring where io_uring cannot be had, or -errno from the transport,
 * with nothing to undo.
 */
__attribute__((warn_unused_result)) int
virtio_blk_init(struct virtio_blk *b, const struct virtio_blk_opts *o,
                const struct vq_mem_ops *mem, void *mem_opaque,
                const struct virtio_mmio_hooks *hooks, void *hook_opaque);

/* "io_uring" or "threads": what (b) uses now. */
const char *virtio_blk_aio_name(const struct virtio_blk *b);

/* Release (b), as virtio_mmio_destroy(). */
__attribute__((warn_unused_result)) int
virtio_blk_destroy(struct virtio_blk *b);

#endif /* DEVICES_VIRTIO_BLK_H */
