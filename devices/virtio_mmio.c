/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 (see devices/virtio_mmio.h).
 */
#include <errno.h>
#include <string.h>

#include "devices/virtio_mmio.h"

static uint64_t offered(const struct virtio_mmio *t)
{
    return t->dev->features | (UINT64_C(1) << VIRTIO_F_VERSION_1);
}

/* The selected queue, or NULL when QueueSel names none. */
static struct virtqueue *selected(struct virtio_mmio *t)
{
    return t->queue_sel < t->dev->nr_queues ? &t->queues[t->queue_sel] : NULL;
}

static void set_irq_locked(struct virtio_mmio *t)
{
    if (t->hooks && t->hooks->irq) {
        t->hooks->irq(t->hook_opaque, t->interrupt_status != 0);
    }
}

static void reset_locked(struct virtio_mmio *t)
{
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        vq_reset(&t->queues[i]);
    }
    t->status = 0;
    t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
    t->driver_features = 0;
    t->interrupt_status = 0;
    t->epoch++;
    if (t->dev->reset) {
        t->dev->reset(t->dev_opaque);
    }
    set_irq_locked(t);
}

static uint32_t read_reg_locked(struct virtio_mmio *t, uint64_t off)
{
    struct virtqueue *q = selected(t);

    switch (off) {
    case VMMIO_MAGIC:
        return VIRTIO_MMIO_MAGIC;
    case VMMIO_VERSION:
        return 2;
    case VMMIO_DEVICE_ID:
        return t->dev->device_id;
    case VMMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VMMIO_DEVICE_FEATURES:
        return t->dev_features_sel > 1
                   ? 0
                   : (uint32_t)(offered(t) >> (32 * t->dev_features_sel));
    case VMMIO_QUEUE_NUM_MAX:
        return q ? t->dev->queue_max : 0;
    case VMMIO_QUEUE_READY:
        return q && q->ready;
    case VMMIO_INTERRUPT_STATUS:
        return t->interrupt_status;
    case VMMIO_STATUS:
        return t->status;
    case VMMIO_CONFIG_GENERATION:
        return t->config_generation;
    }
    return 0;
}

/* FEATURES_OK is kept only for a subset of what is offered, VERSION_1
 * included. */
static void write_status_locked(struct virtio_mmio *t, uint32_t v)
{
    if (v == 0) {
        reset_locked(t);
        return;
    }
    if ((v & VIRTIO_STATUS_FEATURES_OK) &&
        !(t->status & VIRTIO_STATUS_FEATURES_OK) &&
        ((t->driver_features & ~offered(t)) ||
         !(t->driver_features & (UINT64_C(1) << VIRTIO_F_VERSION_1)))) {
        v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
    }
    /* NEEDS_RESET is the device's to set; the driver cannot clear it. */
    t->status = (v & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET) |
                (t->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Queue layout registers: only while the queue is not ready. */
static void write_queue_locked(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct virtqueue *q = selected(t);
    uint64_t *addr = NULL;

    if (!q || q->ready) {
        return;
    }
    switch (off) {
    case VMMIO_QUEUE_NUM:
        q->size = v <= t->dev->queue_max ? (uint16_t)v : 0;
        return;
    case VMMIO_QUEUE_DESC_LOW:
    case VMMIO_QUEUE_DESC_HIGH:
        addr = &q->desc_gpa;
        break;
    case VMMIO_QUEUE_DRIVER_LOW:
    case VMMIO_QUEUE_DRIVER_HIGH:
        addr = &q->avail_gpa;
        break;
    default:
        addr = &q->used_gpa;
        break;
    }
    if (off & 4) {
        *addr = (*addr & UINT32_MAX) | ((uint64_t)v << 32);
    } else {
        *addr = (*addr & ~(uint64_t)UINT32_MAX) | v;
    }
}

/* Returns the queue to notify the device of, or -1. */
static int write_reg_locked(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct virtqueue *q = selected(t);
    bool features_open = !(t->status & VIRTIO_STATUS_FEATURES_OK);

    switch (off) {
    case VMMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = v;
        break;
    case VMMIO_DRIVER_FEATURES:
        if (features_open && t->drv_features_sel <= 1) {
            unsigned sh = 32 * t->drv_features_sel;

            t->driver_features =
                (t->driver_features & ~((uint64_t)UINT32_MAX << sh)) |
                ((uint64_t)v << sh);
        }
        break;
    case VMMIO_DRIVER_FEATURES_SEL:
        t->drv_features_sel = v;
        break;
    case VMMIO_QUEUE_SEL:
        t->queue_sel = v;
        break;
    case VMMIO_QUEUE_READY:
        if (q && v == 1 && !q->ready) {
            q->event_idx =
                t->driver_features & (UINT64_C(1) << VIRTIO_F_EVENT_IDX);
            (void)vq_enable(q); /* a bad layout stays not ready */
        } else if (q && v == 0 && q->ready) {
            q->ready = false;
            t->epoch++;
        }
        break;
    case VMMIO_QUEUE_NOTIFY:
        if (v < t->dev->nr_queues && t->queues[v].ready &&
            (t->status & VIRTIO_STATUS_DRIVER_OK)) {
            return (int)v;
        }
        break;
    case VMMIO_INTERRUPT_ACK:
        t->interrupt_status &= ~v;
        set_irq_locked(t);
        break;
    case VMMIO_STATUS:
        write_status_locked(t, v);
        break;
    case VMMIO_QUEUE_NUM:
    case VMMIO_QUEUE_DESC_LOW:
    case VMMIO_QUEUE_DESC_HIGH:
    case VMMIO_QUEUE_DRIVER_LOW:
    case VMMIO_QUEUE_DRIVER_HIGH:
    case VMMIO_QUEUE_DEVICE_LOW:
    case VMMIO_QUEUE_DEVICE_HIGH:
        write_queue_locked(t, off, v);
        break;
    }
    return -1;
}

static uint64_t vmmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_mmio *t = opaque;
    uint64_t v = 0;

    pthread_mutex_lock(&t->lock);
    if (off >= VIRTIO_MMIO_CONFIG) {
        uint32_t c = (uint32_t)(off - VIRTIO_MMIO_CONFIG);

        if (c + size <= t->dev->config_size && t->dev->config_read) {
            t->dev->config_read(t->dev_opaque, c, &v, size);
        }
    } else if (size == 4 && off % 4 == 0) {
        v = read_reg_locked(t, off);
    }
    pthread_mutex_unlock(&t->lock);
    return v;
}

static void vmmio_write(void *opaque, uint64_t off, uint64_t value,
                        unsigned size)
{
    struct virtio_mmio *t = opaque;
    int notify = -1;

    pthread_mutex_lock(&t->lock);
    if (off >= VIRTIO_MMIO_CONFIG) {
        uint32_t c = (uint32_t)(off - VIRTIO_MMIO_CONFIG);

        if (c + size <= t->dev->config_size && t->dev->config_write) {
            t->dev->config_write(t->dev_opaque, c, &value, size);
        }
    } else if (size == 4 && off % 4 == 0) {
        notify = write_reg_locked(t, off, (uint32_t)value);
    }
    pthread_mutex_unlock(&t->lock);
    if (notify < 0) {
        return;
    }
    if (t->hooks && t->hooks->kick) {
        t->hooks->kick(t->hook_opaque, (unsigned)notify);
    } else if (t->dev->notify) {
        t->dev->notify(t->dev_opaque, (unsigned)notify);
    }
}

static const struct mr_ops vmmio_ops = {
    .read = vmmio_read,
    .write = vmmio_write,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 4},
};

int virtio_mmio_init(struct virtio_mmio *t, const char *name,
                     const struct virtio_dev_ops *dev, void *dev_opaque,
                     const struct vq_mem_ops *mem, void *mem_opaque,
                     const struct virtio_mmio_hooks *hooks, void *hook_opaque)
{
    int ret;

    memset(t, 0, sizeof(*t));
    if (dev->nr_queues > VIRTIO_MMIO_MAX_QUEUES || dev->queue_max == 0 ||
        dev->queue_max > VQ_MAX_SIZE ||
        (dev->queue_max & (dev->queue_max - 1)) ||
        dev->config_size > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG) {
        return -EINVAL;
    }
    t->dev = dev;
    t->dev_opaque = dev_opaque;
    t->hooks = hooks;
    t->hook_opaque = hook_opaque;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        t->queues[i].mem = mem;
        t->queues[i].mem_opaque = mem_opaque;
    }
    ret = mr_init_io(&t->region, name, VIRTIO_MMIO_SIZE, &vmmio_ops, t);
    if (ret < 0) {
        return ret;
    }
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

void virtio_mmio_run_queue(struct virtio_mmio *t, unsigned q)
{
    if (q < t->dev->nr_queues && t->dev->notify) {
        t->dev->notify(t->dev_opaque, q);
    }
}

uint32_t virtio_mmio_epoch_locked(const struct virtio_mmio *t)
{
    return t->epoch;
}

const struct virtio_dev_ops *virtio_mmio_dev(const struct virtio_mmio *t)
{
    return t->dev;
}

void virtio_mmio_lock(struct virtio_mmio *t)
{
    pthread_mutex_lock(&t->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
    pthread_mutex_unlock(&t->lock);
}

struct virtqueue *virtio_mmio_queue(struct virtio_mmio *t, unsigned q)
{
    if (q >= t->dev->nr_queues || !t->queues[q].ready ||
        !(t->status & VIRTIO_STATUS_DRIVER_OK)) {
        return NULL;
    }
    return &t->queues[q];
}

void virtio_mmio_used_locked(struct virtio_mmio *t, unsigned q)
{
    struct virtqueue *vq = q < t->dev->nr_queues ? &t->queues[q] : NULL;

    if (!vq) {
        return;
    }
    if (vq->broken) {
        t->status |= VIRTIO_STATUS_NEEDS_RESET;
        if (t->status & VIRTIO_STATUS_DRIVER_OK) {
            t->interrupt_status |= VIRTIO_INT_CONFIG;
            set_irq_locked(t);
        }
        return;
    }
    if (vq_should_notify(vq)) {
        t->interrupt_status |= VIRTIO_INT_USED;
        set_irq_locked(t);
    }
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
    pthread_mutex_lock(&t->lock);
    t->config_generation++;
    t->interrupt_status |= VIRTIO_INT_CONFIG;
    set_irq_locked(t);
    pthread_mutex_unlock(&t->lock);
}

int virtio_mmio_destroy(struct virtio_mmio *t)
{
    int ret = mr_destroy(&t->region);

    if (ret == 0) {
        pthread_mutex_destroy(&t->lock);
    }
    return ret;
}
