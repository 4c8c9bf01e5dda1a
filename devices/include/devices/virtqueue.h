/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (VIRTIO 1.1/1.2, section 2.6) from the device's side:
 * take the driver's available descriptor chains, give back used ones, and
 * decide whether the driver wants an interrupt (VIRTIO_F_EVENT_IDX or the
 * NO_INTERRUPT flag).
 *
 * Every value in the rings and descriptor tables is the guest's, and
 * hostile: nothing is read or written before it is checked. Guest memory
 * is reached only through (mem) hooks that answer whether a range lies in
 * guest RAM, and a queue that breaks a rule (an index out of the table, a
 * chain longer than the queue or looping, an indirect table anywhere but
 * alone at a chain's head, or inside another, a writable buffer before a
 * readable one, a buffer outside RAM, more than VQ_MAX_SEGS buffers, an
 * available index that ran ahead by more than the queue size) is marked broken:
 * vq_pop() then returns -EIO until the queue is reset, and the transport sets
 * DEVICE_NEEDS_RESET. No lock inside: one thread owns a queue.
 */
#ifndef DEVICES_VIRTQUEUE_H
#define DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest queue the split layout allows. */
#define VQ_MAX_SIZE 32768
/* Buffers in one chain, direct and indirect together. */
#define VQ_MAX_SEGS 1024

#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2
#define VQ_DESC_F_INDIRECT 4
#define VQ_AVAIL_F_NO_INTERRUPT 1
#define VQ_USED_F_NO_NOTIFY 1

/* Guest memory as the queue sees it. */
struct vq_mem_ops {
    /*
     * A host pointer to guest-physical [gpa, gpa + len) when all of it is
     * guest RAM, else NULL. (len) may be 0 (then any gpa in RAM or at its
     * end is fine).
     */
    void *(*map)(void *opaque, uint64_t gpa, uint64_t len);
    /*
     * Optional (NULL: nobody logs). The device has just written guest RAM
     * [gpa, gpa + len) through map()'s pointer, a range map() accepted:
     * what a vCPU's write would have left in the dirty log, which KVM
     * never sees for the VMM's own writes. Called after the bytes are in
     * place, so a harvest that finds the pages dirty copies them whole.
     */
    void (*written)(void *opaque, uint64_t gpa, uint64_t len);
};

/* One buffer of a chain. */
struct vq_seg {
    uint64_t gpa;
    uint32_t len;
    /* Device-writable (VQ_DESC_F_WRITE). */
    bool write;
};

/* A chain taken from the available ring. */
struct vq_chain {
    /* Its head's index: what vq_push() gives back. */
    uint16_t head;
    unsigned nr;
    /* Readable buffers first, then writable ones; their byte totals. */
    uint64_t out_bytes, in_bytes;
    struct vq_seg seg[VQ_MAX_SEGS];
};

struct virtqueue {
    /* (vq_reset() clears every field but mem and mem_opaque by name: a
     * new field goes there too.) */
    /* Set by the driver through the transport; vq_enable() checks them. */
    uint16_t size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool event_idx;
    /* The device's state. */
    bool ready;
    bool broken;
    uint16_t last_avail;
    uint16_t used_idx;
    /* The used index when the driver last got an interrupt. */
    uint16_t signalled_used;
    bool signalled_valid;
    const struct vq_mem_ops *mem;
    void *mem_opaque;
};

/* Forget everything (device reset); (mem) stays. */
void vq_reset(struct virtqueue *q);

/*
 * The driver set QueueReady: check the size (a power of two up to
 * VQ_MAX_SIZE) and that the table and both rings lie in guest RAM with the
 * alignment the spec asks (16, 2, 4). Returns 0, or -EINVAL with the queue
 * left not ready.
 */
int vq_enable(struct virtqueue *q);

/*
 * Take the next available chain into (c). Returns 1 with a chain, 0 when
 * there is none, -EIO when the queue is broken (now or before).
 */
int vq_pop(struct virtqueue *q, struct vq_chain *c);

/*
 * vq_pop(), and when the ring is empty: with EVENT_IDX ask for the next
 * notification (vq_set_avail_event()) and look once more, for a chain the
 * driver made available meanwhile without notifying. What a device's loop
 * calls so that it never sleeps on an available chain.
 */
int vq_pop_or_arm(struct virtqueue *q, struct vq_chain *c);

/*
 * Give chain (c) back as used, (written) bytes written into its writable
 * buffers. Every writable buffer of (c), whatever (written) says, and the
 * used ring's bytes are reported to mem->written (a device may write a
 * status byte at a chain's end and count only it). Returns 0, or -EIO when
 * the queue is broken.
 */
int vq_push(struct virtqueue *q, const struct vq_chain *c, uint32_t written);

/*
 * After pushes: does the driver want an interrupt for what was pushed
 * since the last one (its used_event with EVENT_IDX, else the
 * NO_INTERRUPT flag)?
 */
bool vq_should_notify(struct virtqueue *q);

/*
 * With EVENT_IDX: ask to be notified when the driver makes (next) (the
 * index after the last chain taken) available: the avail_event field.
 */
void vq_set_avail_event(struct virtqueue *q);

#endif /* DEVICES_VIRTQUEUE_H */
