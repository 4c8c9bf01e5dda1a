/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng: entropy from getrandom() into the guest's buffers (see
 * devices/virtio_rng.h).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/random.h>

#include "devices/virtio_rng.h"

/* Fill the writable buffers of (c) up to VIRTIO_RNG_MAX_CHAIN bytes;
 * returns the bytes written. */
static uint32_t fill_chain(struct virtqueue *q, const struct vq_chain *c)
{
    uint32_t done = 0;

    for (unsigned i = 0; i < c->nr && done < VIRTIO_RNG_MAX_CHAIN; i++) {
        uint32_t want = c->seg[i].len;
        uint8_t *p;

        if (want > VIRTIO_RNG_MAX_CHAIN - done) {
            want = VIRTIO_RNG_MAX_CHAIN - done;
        }
        /* Mapped again: RAM may have moved since the chain was taken. */
        p = q->mem->map(q->mem_opaque, c->seg[i].gpa, want);
        while (p && want) {
            ssize_t n = getrandom(p, want, 0);

            if (n <= 0) {
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                return done;
            }
            p += n;
            want -= (uint32_t)n;
            done += (uint32_t)n;
        }
    }
    return done;
}

static void rng_notify(void *opaque, unsigned qi)
{
    struct virtio_rng *r = opaque;
    static _Thread_local struct vq_chain c;
    struct virtqueue *q;
    int ret;

    virtio_mmio_lock(&r->transport);
    q = virtio_mmio_queue(&r->transport, qi);
    while (q) {
        uint32_t n;

        ret = vq_pop_or_arm(q, &c);
        if (ret != 1) {
            break;
        }

        if (c.out_bytes) {
            q->broken = true; /* a readable buffer: not a rng request */
            break;
        }
        n = fill_chain(q, &c);
        r->bytes += n;
        r->chains++;
        if (vq_push(q, &c, n) < 0) {
            break;
        }
    }
    virtio_mmio_used_locked(&r->transport, qi);
    virtio_mmio_unlock(&r->transport);
}

static const struct virtio_dev_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .features = (UINT64_C(1) << VIRTIO_F_INDIRECT_DESC) |
                (UINT64_C(1) << VIRTIO_F_EVENT_IDX),
    .nr_queues = 1,
    .queue_max = 256,
    .notify = rng_notify,
};

int virtio_rng_init(struct virtio_rng *r, const struct vq_mem_ops *mem,
                    void *mem_opaque, const struct virtio_mmio_hooks *hooks,
                    void *hook_opaque)
{
    r->bytes = r->chains = 0;
    return virtio_mmio_init(&r->transport, "virtio-rng", &rng_ops, r, mem,
                            mem_opaque, hooks, hook_opaque);
}

int virtio_rng_destroy(struct virtio_rng *r)
{
    return virtio_mmio_destroy(&r->transport);
}
