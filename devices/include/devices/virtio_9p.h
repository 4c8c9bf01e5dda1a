/* SPDX-License-Identifier: MIT */
/*
 * virtio-9p (the 9P transport of VIRTIO 1.1's appendix, device id 9): one
 * request queue; each chain holds a 9P request in its readable buffers
 * and room for the reply in its writable ones. The requests go to a
 * read-only 9P2000.L server for one host directory (devices/p9.h); the
 * configuration space holds the mount tag (VIRTIO_9P_MOUNT_TAG), the name
 * a guest mounts it by (mount -t 9p -o trans=virtio TAG DIR). Behind a
 * virtio-mmio transport (devices/virtio_mmio.h), which it owns.
 *
 * A chain whose request is over P9_MSIZE_MAX bytes, or whose writable
 * side cannot hold the shortest reply (11 bytes), breaks the queue
 * (DEVICE_NEEDS_RESET): there is no way to answer it. A reply is cut to
 * fit the writable side (the server caps reads and directory listings to
 * it). A Tread's data is read from the file straight into the writable
 * buffers, past the reply's head; every other reply is built in a buffer
 * and copied there.
 *
 * Threads: requests run on the thread that calls the device's notify (the
 * machine's worker), with the transport's lock dropped while the server
 * works; a reset meanwhile is noticed through the transport's epoch and
 * the answer dropped. A reset also ends the 9P session: the first request
 * after it finds the epoch moved, closes every fid the old session held
 * and is answered as if no Tversion had been made.
 */
#ifndef DEVICES_VIRTIO_9P_H
#define DEVICES_VIRTIO_9P_H

#include "devices/p9.h"
#include "devices/virtio_mmio.h"

#define VIRTIO_ID_9P 9
/* The longest mount tag. */
#define VIRTIO_9P_TAG_MAX 32

struct virtio_9p {
    struct virtio_mmio transport;
    /* Private. */
    struct p9_server server;
    uint8_t config[2 + VIRTIO_9P_TAG_MAX];
    /* The request being served, and the buffers it is copied through
     * (P9_MSIZE_MAX each). */
    struct vq_chain chain;
    uint8_t *req, *rep;
    /* A Tread's data buffers (p9_server_read_iov()). */
    struct iovec iov[VQ_MAX_SEGS];
    /* Requests answered (atomic: __atomic_load_n from other threads). */
    uint64_t nr_requests;
    /* The transport's epoch when the server's session began. */
    uint32_t session_epoch;
};

/*
 * Initialise (d) to serve the directory (dir) under (tag) (1 to
 * VIRTIO_9P_TAG_MAX bytes), read-only unless (writable). Returns 0, or -EINVAL
 * for a bad tag, -errno from opening (dir), -ENOMEM, or -errno from the
 * transport, with nothing to undo.
 */
__attribute__((warn_unused_result)) int
virtio_9p_init(struct virtio_9p *d, const char *dir, const char *tag,
               bool writable, const struct vq_mem_ops *mem, void *mem_opaque,
               const struct virtio_mmio_hooks *hooks, void *hook_opaque);

/* Release (d), as virtio_mmio_destroy(). */
__attribute__((warn_unused_result)) int virtio_9p_destroy(struct virtio_9p *d);

#endif /* DEVICES_VIRTIO_9P_H */
