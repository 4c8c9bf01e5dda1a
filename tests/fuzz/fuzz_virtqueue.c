/* SPDX-License-Identifier: MIT */
/*
 * The split-virtqueue walker (devices/virtqueue.c) on hostile rings: the
 * input's first bytes choose the queue's size, its ring addresses and
 * EVENT_IDX, the rest fills a 64 KiB guest RAM holding the descriptor
 * table, the rings and indirect tables. Chains are popped and pushed until
 * the queue is empty or broken. Every buffer handed out must lie in RAM, a
 * chain has at most VQ_MAX_SEGS buffers with readable ones first, and a
 * broken queue stays broken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"
#include "fuzz.h"

#define RAM_SIZE 65536u

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static void *fz_map(void *opaque, uint64_t gpa, uint64_t len)
{
    (void)opaque;
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa) {
        return NULL;
    }
    return ram + gpa;
}

static const struct vq_mem_ops mem = {.map = fz_map};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vq_chain c;
    struct fuzz_in in = {data, size};
    struct virtqueue q = {.mem = &mem};
    size_t fill;

    q.size = (uint16_t)(1u << (fuzz_take(&in, 1) % 10));
    q.desc_gpa = fuzz_take(&in, 2) & ~UINT64_C(15);
    q.avail_gpa = fuzz_take(&in, 2) & ~UINT64_C(1);
    q.used_gpa = fuzz_take(&in, 2) & ~UINT64_C(3);
    q.event_idx = fuzz_take(&in, 1) & 1;
    memset(ram, 0, sizeof(ram));
    fill = in.n < RAM_SIZE ? in.n : RAM_SIZE;
    memcpy(ram, in.p, fill);
    if (vq_enable(&q) < 0) {
        return 0;
    }
    for (unsigned round = 0; round < 4 * VQ_MAX_SIZE; round++) {
        int r = vq_pop(&q, &c);
        uint64_t out = 0, inb = 0;

        if (r <= 0) {
            FUZZ_CHECK(r == 0 || (r == -EIO && q.broken));
            if (r < 0) {
                FUZZ_CHECK(vq_pop(&q, &c) == -EIO);
            }
            break;
        }
        FUZZ_CHECK(c.nr <= VQ_MAX_SEGS && c.head < q.size);
        for (unsigned i = 0; i < c.nr; i++) {
            const struct vq_seg *s = &c.seg[i];

            FUZZ_CHECK(s->gpa <= RAM_SIZE && s->len <= RAM_SIZE - s->gpa);
            FUZZ_CHECK(i == 0 || !c.seg[i - 1].write || s->write);
            *(s->write ? &inb : &out) += s->len;
        }
        FUZZ_CHECK(out == c.out_bytes && inb == c.in_bytes);
        FUZZ_CHECK(vq_push(&q, &c, (uint32_t)c.in_bytes) == 0);
        (void)vq_should_notify(&q);
        vq_set_avail_event(&q);
    }
    return 0;
}
