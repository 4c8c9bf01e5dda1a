/* SPDX-License-Identifier: MIT */
/*
 * virtio-console with one port (see devices/virtio_console.h).
 */
#include <string.h>

#include "devices/virtio_console.h"

#define RXQ 0
#define TXQ 1

/* Under the lock: pending input into the guest's receive buffers. */
static void deliver_locked(struct virtio_console *c)
{
    struct virtqueue *q = virtio_mmio_queue(&c->transport, RXQ);
    bool pushed = false;

    while (q && c->pending_len && vq_pop_or_arm(q, &c->chain) == 1) {
        uint32_t done = 0;

        if (c->chain.out_bytes) {
            q->broken = true; /* a readable buffer in a receive chain */
            break;
        }
        for (unsigned i = 0; i < c->chain.nr && done < c->pending_len; i++) {
            uint32_t n = c->chain.seg[i].len;
            uint8_t *p;

            if (n > c->pending_len - done) {
                n = (uint32_t)(c->pending_len - done);
            }
            p = q->mem->map(q->mem_opaque, c->chain.seg[i].gpa, n);
            if (!p) {
                break;
            }
            memcpy(p, c->pending + done, n);
            done += n;
        }
        memmove(c->pending, c->pending + done, c->pending_len - done);
        c->pending_len -= done;
        c->bytes_in += done;
        if (vq_push(q, &c->chain, done) < 0) {
            break;
        }
        pushed = true;
    }
    if (q && (pushed || q->broken)) {
        virtio_mmio_used_locked(&c->transport, RXQ);
    }
}

/* Under the lock: the guest's output to the machine. */
static void transmit_locked(struct virtio_console *c)
{
    struct virtqueue *q = virtio_mmio_queue(&c->transport, TXQ);

    while (q && vq_pop_or_arm(q, &c->chain) == 1) {
        uint64_t left = VIRTIO_CONSOLE_MAX_CHAIN;

        if (c->chain.in_bytes) {
            q->broken = true; /* a writable buffer in a transmit chain */
            break;
        }
        for (unsigned i = 0; i < c->chain.nr && left; i++) {
            uint32_t n = c->chain.seg[i].len;
            const uint8_t *p;

            if (n > left) {
                n = (uint32_t)left;
            }
            p = q->mem->map(q->mem_opaque, c->chain.seg[i].gpa, n);
            if (!p) {
                break;
            }
            if (c->hooks && c->hooks->output) {
                c->hooks->output(c->hook_opaque, p, n);
            }
            c->bytes_out += n;
            left -= n;
        }
        if (vq_push(q, &c->chain, 0) < 0) {
            break;
        }
        virtio_mmio_used_locked(&c->transport, TXQ);
    }
    if (q && q->broken) {
        virtio_mmio_used_locked(&c->transport, TXQ);
    }
}

static void console_notify(void *opaque, unsigned qi)
{
    struct virtio_console *c = opaque;

    virtio_mmio_lock(&c->transport);
    if (qi == TXQ) {
        transmit_locked(c);
    } else {
        deliver_locked(c);
    }
    virtio_mmio_unlock(&c->transport);
}

static void console_reset(void *opaque)
{
    struct virtio_console *c = opaque;

    c->pending_len = 0;
}

static const struct virtio_dev_ops console_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .features = (UINT64_C(1) << VIRTIO_F_INDIRECT_DESC) |
                (UINT64_C(1) << VIRTIO_F_EVENT_IDX),
    .nr_queues = 2,
    .queue_max = 256,
    .notify = console_notify,
    .reset = console_reset,
};

int virtio_console_init(struct virtio_console *c,
                        const struct virtio_console_hooks *hooks,
                        void *hook_opaque, const struct vq_mem_ops *mem,
                        void *mem_opaque,
                        const struct virtio_mmio_hooks *thooks,
                        void *thook_opaque)
{
    c->hooks = hooks;
    c->hook_opaque = hook_opaque;
    c->pending_len = 0;
    c->bytes_out = c->bytes_in = c->dropped = 0;
    return virtio_mmio_init(&c->transport, "virtio-console", &console_ops, c,
                            mem, mem_opaque, thooks, thook_opaque);
}

void virtio_console_input(struct virtio_console *c, const uint8_t *buf,
                          size_t len)
{
    size_t room;

    virtio_mmio_lock(&c->transport);
    room = sizeof(c->pending) - c->pending_len;
    if (len > room) {
        c->dropped += len - room;
        len = room;
    }
    memcpy(c->pending + c->pending_len, buf, len);
    c->pending_len += len;
    deliver_locked(c);
    virtio_mmio_unlock(&c->transport);
}

int virtio_console_destroy(struct virtio_console *c)
{
    return virtio_mmio_destroy(&c->transport);
}
