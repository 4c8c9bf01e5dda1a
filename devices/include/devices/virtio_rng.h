/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (VIRTIO 1.1, section 5.4): one request queue whose buffers
 * are all device-writable; the device fills them with entropy from the
 * host's getrandom() and gives them back. Behind a virtio-mmio transport
 * (devices/virtio_mmio.h), which it owns.
 *
 * Each chain is filled up to VIRTIO_RNG_MAX_CHAIN bytes (the rest is
 * left unwritten and the used length says how much was), so a guest
 * offering a huge buffer cannot make one request run long; a chain with
 * a device-readable buffer breaks the queue (the spec has none).
 */
#ifndef DEVICES_VIRTIO_RNG_H
#define DEVICES_VIRTIO_RNG_H

#include "devices/virtio_mmio.h"

#define VIRTIO_ID_RNG 4
#define VIRTIO_RNG_MAX_CHAIN 65536

struct virtio_rng {
    struct virtio_mmio transport;
    /* Private: bytes handed out, chains served. */
    uint64_t bytes;
    uint64_t chains;
};

/*
 * Initialise (r): its transport's region is r->transport.region, for the
 * machine to place. Returns 0 or -errno with nothing to undo.
 */
__attribute__((warn_unused_result)) int
virtio_rng_init(struct virtio_rng *r, const struct vq_mem_ops *mem,
                void *mem_opaque, const struct virtio_mmio_hooks *hooks,
                void *hook_opaque);

/* Release (r), as virtio_mmio_destroy(). */
__attribute__((warn_unused_result)) int
virtio_rng_destroy(struct virtio_rng *r);

#endif /* DEVICES_VIRTIO_RNG_H */
