/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (VIRTIO 1.1, section 5.3) with one port, no multiport: a
 * receive queue (0) the device fills with what the host typed and a
 * transmit queue (1) whose buffers go to the machine's console. Behind a
 * virtio-mmio transport (devices/virtio_mmio.h), which it owns. Linux
 * names the port hvc0.
 *
 * Input waits in a VIRTIO_CONSOLE_PENDING-byte buffer until the driver
 * offers receive buffers; beyond that it is dropped (as a UART's FIFO
 * overflows). A transmit chain is written out up to
 * VIRTIO_CONSOLE_MAX_CHAIN bytes; a writable buffer in it, or a readable
 * one in a receive chain, breaks the queue.
 */
#ifndef DEVICES_VIRTIO_CONSOLE_H
#define DEVICES_VIRTIO_CONSOLE_H

#include "devices/virtio_mmio.h"

#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_CONSOLE_PENDING 4096
#define VIRTIO_CONSOLE_MAX_CHAIN 65536

struct virtio_console_hooks {
    /* The guest wrote (len) bytes; under the transport's lock. */
    void (*output)(void *opaque, const uint8_t *buf, size_t len);
};

struct virtio_console {
    struct virtio_mmio transport;
    /* Private. */
    const struct virtio_console_hooks *hooks;
    void *hook_opaque;
    /* Typed bytes not yet given to the guest; under the transport's lock. */
    uint8_t pending[VIRTIO_CONSOLE_PENDING];
    size_t pending_len;
    struct vq_chain chain;
    /* Bytes out and in, bytes dropped for want of room. */
    uint64_t bytes_out, bytes_in, dropped;
};

/*
 * Initialise (c): its region is c->transport.region for the machine to
 * place. Returns 0 or -errno with nothing to undo.
 */
__attribute__((warn_unused_result)) int
virtio_console_init(struct virtio_console *c,
                    const struct virtio_console_hooks *hooks, void *hook_opaque,
                    const struct vq_mem_ops *mem, void *mem_opaque,
                    const struct virtio_mmio_hooks *thooks, void *thook_opaque);

/* Host input for the guest (any thread). */
void virtio_console_input(struct virtio_console *c, const uint8_t *buf,
                          size_t len);

/* Release (c), as virtio_mmio_destroy(). */
__attribute__((warn_unused_result)) int
virtio_console_destroy(struct virtio_console *c);

#endif /* DEVICES_VIRTIO_CONSOLE_H */
