/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 (VIRTIO 1.1/1.2, section 4.2): the
 * register block a driver finds (through ACPI or virtio_mmio.device=),
 * feature negotiation, device status, queue setup (split virtqueues,
 * devices/virtqueue.h), notifications, the interrupt status and the
 * device's configuration space at 0x100. A device model plugs in through
 * virtio_dev_ops; the machine places the region and routes the interrupt.
 *
 * What the driver writes is checked here: registers are 32-bit (other
 * accesses read 0 and are ignored, as the spec lets a device do), queue
 * registers change only while the queue is not ready, features only
 * before FEATURES_OK, which is kept only when the driver accepted a subset
 * of what is offered and VIRTIO_F_VERSION_1; a queue whose layout is bad
 * stays not ready; writing 0 to Status resets the device. When a queue
 * breaks (devices/virtqueue.h), DEVICE_NEEDS_RESET is set and the driver
 * is told through a configuration-change interrupt.
 *
 * Threads: register accesses (vCPU threads) and the device's own threads
 * meet under one lock; the device's notify hook runs outside it.
 */
#ifndef DEVICES_VIRTIO_MMIO_H
#define DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtqueue.h"
#include "mem/region.h"

/* The register block and the configuration space after it. */
#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_MAGIC 0x74726976u  /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x00564d4du /* "MMV" */

/* Register offsets (VIRTIO 1.1, 4.2.2). */
#define VMMIO_MAGIC 0x000
#define VMMIO_VERSION 0x004
#define VMMIO_DEVICE_ID 0x008
#define VMMIO_VENDOR_ID 0x00c
#define VMMIO_DEVICE_FEATURES 0x010
#define VMMIO_DEVICE_FEATURES_SEL 0x014
#define VMMIO_DRIVER_FEATURES 0x020
#define VMMIO_DRIVER_FEATURES_SEL 0x024
#define VMMIO_QUEUE_SEL 0x030
#define VMMIO_QUEUE_NUM_MAX 0x034
#define VMMIO_QUEUE_NUM 0x038
#define VMMIO_QUEUE_READY 0x044
#define VMMIO_QUEUE_NOTIFY 0x050
#define VMMIO_INTERRUPT_STATUS 0x060
#define VMMIO_INTERRUPT_ACK 0x064
#define VMMIO_STATUS 0x070
#define VMMIO_QUEUE_DESC_LOW 0x080
#define VMMIO_QUEUE_DESC_HIGH 0x084
#define VMMIO_QUEUE_DRIVER_LOW 0x090
#define VMMIO_QUEUE_DRIVER_HIGH 0x094
#define VMMIO_QUEUE_DEVICE_LOW 0x0a0
#define VMMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VMMIO_CONFIG_GENERATION 0x0fc

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Feature bits the transport knows (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Interrupt status bits (4.2.2). */
#define VIRTIO_INT_USED 1
#define VIRTIO_INT_CONFIG 2

/* The device behind the transport. Hooks may be NULL. */
struct virtio_dev_ops {
    uint32_t device_id;
    /* Feature bits offered; VERSION_1 is added by the transport. */
    uint64_t features;
    unsigned nr_queues;
    /* QueueNumMax of every queue (a power of two, <= VQ_MAX_SIZE). */
    uint16_t queue_max;
    /* Bytes of configuration space (<= VIRTIO_MMIO_SIZE - 0x100). */
    uint32_t config_size;
    /* Read or write (len) bytes at (off) of the configuration space;
     * (off, len) lie inside config_size. Under the transport's lock. */
    void (*config_read)(void *dev, uint32_t off, void *buf, unsigned len);
    void (*config_write)(void *dev, uint32_t off, const void *buf,
                         unsigned len);
    /* The driver notified queue (q), which is ready, with DRIVER_OK set.
     * Outside the lock, on the vCPU thread that wrote, unless the machine
     * has a kick hook (then on whatever thread calls
     * virtio_mmio_run_queue()). May find the queue no longer ready. */
    void (*notify)(void *dev, unsigned q);
    /* The driver reset the device (under the lock). */
    void (*reset)(void *dev);
};

/* What the machine provides. */
struct virtio_mmio_hooks {
    /* Set the interrupt line to (level). Called under the lock whenever
     * the interrupt status changes or gains a bit: a machine that signals
     * edges sends one for every call with (level) set. */
    void (*irq)(void *opaque, bool level);
    /* When set, a QueueNotify write calls this (outside the lock, on the
     * vCPU thread) instead of the device's notify: the machine hands the
     * queue to a worker that calls virtio_mmio_run_queue(). */
    void (*kick)(void *opaque, unsigned q);
};

/*
 * The transport. (region) is public so that the machine can place it;
 * the other fields are private to devices/virtio_mmio.c.
 */
struct virtio_mmio {
    struct mem_region region;

    /* Private. */
    const struct virtio_dev_ops *dev;
    void *dev_opaque;
    const struct virtio_mmio_hooks *hooks;
    void *hook_opaque;
    pthread_mutex_t lock;
    struct virtqueue queues[VIRTIO_MMIO_MAX_QUEUES];
    uint32_t status;
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    uint64_t driver_features;
    uint32_t interrupt_status;
    uint32_t config_generation;
    /* Bumped by every reset and every queue made not ready. */
    uint32_t epoch;
};

/*
 * Initialise (t) for device (dev) (with (dev_opaque)); guest memory for its
 * queues through (mem); interrupts through (hooks). All must outlive the
 * transport. Returns 0, or -EINVAL for a device description out of bounds
 * (too many queues, a bad queue size, a configuration space too big), or
 * -errno from the region, with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
virtio_mmio_init(struct virtio_mmio *t, const char *name,
                 const struct virtio_dev_ops *dev, void *dev_opaque,
                 const struct vq_mem_ops *mem, void *mem_opaque,
                 const struct virtio_mmio_hooks *hooks, void *hook_opaque);

/*
 * The device's access to its queue (q) while holding the transport's lock
 * (virtio_mmio_lock/unlock): NULL unless the queue is ready and the driver
 * set DRIVER_OK.
 */
struct virtqueue *virtio_mmio_queue(struct virtio_mmio *t, unsigned q);
void virtio_mmio_lock(struct virtio_mmio *t);

/* Run the device's notify for queue (q) (a worker, after a kick). */
void virtio_mmio_run_queue(struct virtio_mmio *t, unsigned q);

/* The device as the transport was given it (its queue count, id). */
const struct virtio_dev_ops *virtio_mmio_dev(const struct virtio_mmio *t);

/*
 * Under the lock: a number that changes whenever queues are reset or made
 * not ready. A device that drops the lock between vq_pop() and vq_push()
 * pushes only if the epoch is the one it popped in.
 */
uint32_t virtio_mmio_epoch_locked(const struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);

/*
 * Under the lock, after pushing used chains to queue (q): raise the
 * interrupt if the driver wants one. A broken queue instead sets
 * DEVICE_NEEDS_RESET and raises a configuration interrupt.
 */
void virtio_mmio_used_locked(struct virtio_mmio *t, unsigned q);

/* The device's configuration changed: a new generation, an interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

/*
 * Release (t); the region must be out of its container and readers done
 * (-EBUSY otherwise).
 */
__attribute__((warn_unused_result)) int
virtio_mmio_destroy(struct virtio_mmio *t);

#endif /* DEVICES_VIRTIO_MMIO_H */
