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
 * Threads: requests run on the thread that calls the device's notify (the
 * machine's worker), with the transport's lock dropped during I/O; a reset
 * meanwhile is noticed through the transport's epoch and the answer
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
};

struct virtio_blk {
    struct virtio_mmio transport;
    /* Private. */
    int fd;
    uint64_t sectors;
    bool readonly, direct;
    char serial[VIRTIO_BLK_SERIAL_LEN];
    uint8_t config[128];
    /* The request in progress (on the worker thread only). */
    struct vq_chain chain;
    struct iovec iov[VQ_MAX_SEGS];
    void *bounce;
    /* Requests answered OK, IOERR, UNSUPP (atomic: read them with
     * __atomic_load_n from other threads). */
    uint64_t nr_ok, nr_ioerr, nr_unsupp;
};

/*
 * Initialise (b) for the image in (o). Returns 0, or -EINVAL for an image
 * smaller than one sector, -ENOMEM, or -errno from the transport, with
 * nothing to undo.
 */
__attribute__((warn_unused_result)) int
virtio_blk_init(struct virtio_blk *b, const struct virtio_blk_opts *o,
                const struct vq_mem_ops *mem, void *mem_opaque,
                const struct virtio_mmio_hooks *hooks, void *hook_opaque);

/* Release (b), as virtio_mmio_destroy(). */
__attribute__((warn_unused_result)) int
virtio_blk_destroy(struct virtio_blk *b);

#endif /* DEVICES_VIRTIO_BLK_H */
