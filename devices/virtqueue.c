/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, the device's side (see devices/virtqueue.h). Layout
 * (VIRTIO 1.1, 2.6): a descriptor table of (size) 16-byte entries {addr,
 * len, flags, next}; the available ring {flags, idx, ring[size],
 * used_event}; the used ring {flags, idx, ring[size] of {id, len},
 * avail_event}; all little-endian (as this x86-64 host is). Guest memory
 * is mapped again for every access (a region may have moved), and every
 * descriptor is copied once before it is looked at, so a guest changing
 * it meanwhile changes nothing that was checked.
 */
#include <errno.h>
#include <string.h>

#include "devices/virtqueue.h"

#define DESC_SIZE 16u

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static uint64_t avail_bytes(const struct virtqueue *q)
{
    return 6 + 2 * (uint64_t)q->size;
}

static uint64_t used_bytes(const struct virtqueue *q)
{
    return 6 + 8 * (uint64_t)q->size;
}

static void *map(const struct virtqueue *q, uint64_t gpa, uint64_t len)
{
    if (gpa + len < gpa) {
        return NULL;
    }
    return q->mem->map(q->mem_opaque, gpa, len);
}

/* The device wrote [gpa, gpa + len), a range map() accepted. */
static void wrote(const struct virtqueue *q, uint64_t gpa, uint64_t len)
{
    if (q->mem->written && len) {
        q->mem->written(q->mem_opaque, gpa, len);
    }
}

static int broken(struct virtqueue *q)
{
    q->broken = true;
    return -EIO;
}

void vq_reset(struct virtqueue *q)
{
    /* Field by field: (mem) and (mem_opaque) are never written, not even
     * for a moment, as a device's worker may be using them outside the
     * transport's lock while the driver resets. */
    q->size = 0;
    q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
    q->event_idx = false;
    q->ready = false;
    q->broken = false;
    q->last_avail = q->used_idx = q->signalled_used = 0;
    q->signalled_valid = false;
}

int vq_enable(struct virtqueue *q)
{
    q->ready = false;
    if (q->size == 0 || q->size > VQ_MAX_SIZE || (q->size & (q->size - 1)) ||
        q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4 ||
        !map(q, q->desc_gpa, DESC_SIZE * (uint64_t)q->size) ||
        !map(q, q->avail_gpa, avail_bytes(q)) ||
        !map(q, q->used_gpa, used_bytes(q))) {
        return -EINVAL;
    }
    q->ready = true;
    return 0;
}

static uint16_t load16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* The ring's idx field, read after everything the driver wrote before. */
static uint16_t load_idx(const uint8_t *ring)
{
    return __atomic_load_n((const uint16_t *)(const void *)(ring + 2),
                           __ATOMIC_ACQUIRE);
}

static void read_desc(const uint8_t *table, uint32_t i, struct desc *d)
{
    const uint8_t *p = table + (uint64_t)i * DESC_SIZE;

    memcpy(&d->addr, p, 8);
    memcpy(&d->len, p + 8, 4);
    memcpy(&d->flags, p + 12, 2);
    memcpy(&d->next, p + 14, 2);
}

/* Add one buffer to (c): readable ones before writable ones, in RAM. */
static int add_seg(struct virtqueue *q, struct vq_chain *c,
                   const struct desc *d)
{
    bool write = d->flags & VQ_DESC_F_WRITE;

    if (c->nr == VQ_MAX_SEGS || (!write && c->nr && c->seg[c->nr - 1].write) ||
        !map(q, d->addr, d->len)) {
        return broken(q);
    }
    c->seg[c->nr++] = (struct vq_seg){
        .gpa = d->addr,
        .len = d->len,
        .write = write,
    };
    if (write) {
        c->in_bytes += d->len;
    } else {
        c->out_bytes += d->len;
    }
    return 0;
}

/* The chain of an indirect table (a whole chain of its own). */
static int walk_indirect(struct virtqueue *q, struct vq_chain *c,
                         const struct desc *ind)
{
    uint32_t n = ind->len / DESC_SIZE, i = 0, steps = 0;
    const uint8_t *table;
    struct desc d;

    if (ind->len == 0 || ind->len % DESC_SIZE || n > VQ_MAX_SEGS ||
        (ind->flags & VQ_DESC_F_NEXT)) {
        return broken(q);
    }
    table = map(q, ind->addr, ind->len);
    if (!table) {
        return broken(q);
    }
    for (;;) {
        if (++steps > n) {
            return broken(q); /* a loop */
        }
        read_desc(table, i, &d);
        if (d.flags & VQ_DESC_F_INDIRECT) {
            return broken(q);
        }
        if (add_seg(q, c, &d) < 0) {
            return -EIO;
        }
        if (!(d.flags & VQ_DESC_F_NEXT)) {
            return 0;
        }
        i = d.next;
        if (i >= n) {
            return broken(q);
        }
    }
}

/* The chain from descriptor (head) of the queue's table. */
static int walk_chain(struct virtqueue *q, struct vq_chain *c, uint16_t head)
{
    const uint8_t *table = map(q, q->desc_gpa, DESC_SIZE * (uint64_t)q->size);
    uint32_t i = head, steps = 0;
    struct desc d;

    if (!table) {
        return broken(q);
    }
    for (;;) {
        if (i >= q->size || ++steps > q->size) {
            return broken(q); /* out of the table, or a loop */
        }
        read_desc(table, i, &d);
        if (d.flags & VQ_DESC_F_INDIRECT) {
            /* Only as the head, alone (NEXT beside it is refused there),
             * as drivers write it. */
            return steps == 1 ? walk_indirect(q, c, &d) : broken(q);
        }
        if (add_seg(q, c, &d) < 0) {
            return -EIO;
        }
        if (!(d.flags & VQ_DESC_F_NEXT)) {
            return 0;
        }
        i = d.next;
    }
}

int vq_pop(struct virtqueue *q, struct vq_chain *c)
{
    const uint8_t *avail;
    uint16_t pending, head;

    if (q->broken) {
        return -EIO;
    }
    if (!q->ready) {
        return 0;
    }
    avail = map(q, q->avail_gpa, avail_bytes(q));
    if (!avail) {
        return broken(q);
    }
    pending = (uint16_t)(load_idx(avail) - q->last_avail);
    if (pending == 0) {
        return 0;
    }
    if (pending > q->size) {
        return broken(q);
    }
    head = load16(avail + 4 + 2 * (uint64_t)(q->last_avail % q->size));
    c->head = head;
    c->nr = 0;
    c->out_bytes = c->in_bytes = 0;
    if (walk_chain(q, c, head) < 0) {
        return -EIO;
    }
    q->last_avail++;
    return 1;
}

int vq_push(struct virtqueue *q, const struct vq_chain *c, uint32_t written)
{
    uint8_t *used;
    uint64_t slot;
    uint32_t id = c->head;

    if (q->broken || !q->ready) {
        return -EIO;
    }
    used = map(q, q->used_gpa, used_bytes(q));
    if (!used || c->head >= q->size) {
        return broken(q);
    }
    for (unsigned i = 0; i < c->nr; i++) {
        if (c->seg[i].write) {
            wrote(q, c->seg[i].gpa, c->seg[i].len);
        }
    }
    slot = 4 + 8 * (uint64_t)(q->used_idx % q->size);
    memcpy(used + slot, &id, 4);
    memcpy(used + slot + 4, &written, 4);
    q->used_idx++;
    /* The element is visible before the index that publishes it. */
    __atomic_store_n((uint16_t *)(void *)(used + 2), q->used_idx,
                     __ATOMIC_RELEASE);
    wrote(q, q->used_gpa + slot, 8);
    wrote(q, q->used_gpa + 2, 2);
    return 0;
}

bool vq_should_notify(struct virtqueue *q)
{
    const uint8_t *avail = map(q, q->avail_gpa, avail_bytes(q));
    uint16_t old = q->signalled_used, cur = q->used_idx, event;
    bool need;

    if (!avail || q->broken) {
        /* A broken queue still tells the driver (NEEDS_RESET follows). */
        return true;
    }
    /* Our used index is stored before the driver's fields are read. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx) {
        return !(load16(avail) & VQ_AVAIL_F_NO_INTERRUPT);
    }
    event = load16(avail + 4 + 2 * (uint64_t)q->size);
    /* VIRTIO 1.1, 2.6.7.2: notify when used_event lies in (old, cur]. */
    need = !q->signalled_valid ||
           (uint16_t)(cur - event - 1) < (uint16_t)(cur - old);
    q->signalled_used = cur;
    q->signalled_valid = true;
    return need;
}

void vq_set_avail_event(struct virtqueue *q)
{
    uint8_t *used = map(q, q->used_gpa, used_bytes(q));

    if (!used || !q->event_idx) {
        return;
    }
    __atomic_store_n((uint16_t *)(void *)(used + 4 + 8 * (uint64_t)q->size),
                     q->last_avail, __ATOMIC_RELEASE);
    wrote(q, q->used_gpa + 4 + 8 * (uint64_t)q->size, 2);
    /* Stored before the driver's next index is read. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int vq_pop_or_arm(struct virtqueue *q, struct vq_chain *c)
{
    int ret = vq_pop(q, c);

    if (ret == 0) {
        vq_set_avail_event(q);
        ret = vq_pop(q, c);
    }
    return ret;
}
