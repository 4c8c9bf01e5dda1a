/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (devices/virtqueue.c) against a driver written here in
 * a fake guest RAM: chains direct and indirect, used elements and their
 * index, EVENT_IDX and NO_INTERRUPT, wrap-around of the 16-bit indices;
 * and every hostile ring this project knows: heads and next indices out of
 * the table, loops (direct and indirect), buffers outside RAM or at 4 GiB
 * lengths, indirect tables nested, beside NEXT or mid-chain, readable
 * after writable, an available index that ran ahead, an unaligned or
 * non-power-of-two queue. A broken queue stays broken until reset.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtqueue.h"
#include "unit.h"
#include "vq_driver.h"

static unsigned unit_failures;

#define RAM_SIZE (1u << 20)
#define QSIZE 8
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define IND_GPA 0x4000
#define BUF_GPA 0x10000

VQD_FAKE_RAM(RAM_SIZE);

#define put_desc(...) vqd_put_desc(ram, __VA_ARGS__)
#define get16(gpa) vqd_get16(ram, gpa)
#define set16(gpa, v) vqd_set16(ram, gpa, v)
#define offer(head) vqd_offer(ram, AVAIL_GPA, QSIZE, head)

static void setup(struct virtqueue *q, bool event_idx)
{
    memset(ram, 0, sizeof(ram));
    memset(q, 0, sizeof(*q));
    q->mem = &mem;
    q->size = QSIZE;
    q->desc_gpa = DESC_GPA;
    q->avail_gpa = AVAIL_GPA;
    q->used_gpa = USED_GPA;
    q->event_idx = event_idx;
    CHECK(vq_enable(q) == 0, "a good queue was refused");
}

static void test_chains(void)
{
    struct virtqueue q;
    static struct vq_chain c;
    uint32_t id, len;

    setup(&q, false);
    CHECK(vq_pop(&q, &c) == 0, "an empty queue gave a chain");
    /* 0 -> 1 -> 2: two readable, one writable. */
    put_desc(DESC_GPA, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, BUF_GPA + 16, 512, VQ_DESC_F_NEXT, 2);
    put_desc(DESC_GPA, 2, BUF_GPA + 1024, 1, VQ_DESC_F_WRITE, 0);
    offer(0);
    CHECK(vq_pop(&q, &c) == 1 && c.head == 0 && c.nr == 3 &&
              c.out_bytes == 528 && c.in_bytes == 1 && c.seg[2].write &&
              !c.seg[0].write && c.seg[1].gpa == BUF_GPA + 16,
          "direct chain: %u segs, out %llu in %llu", c.nr,
          (unsigned long long)c.out_bytes, (unsigned long long)c.in_bytes);
    CHECK(vq_pop(&q, &c) == 0, "one chain was taken twice");
    CHECK(vq_push(&q, &c, 1) == 0, "push");
    memcpy(&id, ram + USED_GPA + 4, 4);
    memcpy(&len, ram + USED_GPA + 8, 4);
    CHECK(get16(USED_GPA + 2) == 1 && id == 0 && len == 1,
          "used: idx %u id %u len %u", get16(USED_GPA + 2), id, len);
    CHECK(vq_should_notify(&q), "no interrupt without NO_INTERRUPT");
    set16(AVAIL_GPA, VQ_AVAIL_F_NO_INTERRUPT);
    CHECK(!vq_should_notify(&q), "an interrupt despite NO_INTERRUPT");

    /* An indirect table of three. */
    put_desc(IND_GPA, 0, BUF_GPA, 8, VQ_DESC_F_NEXT, 2);
    put_desc(IND_GPA, 2, BUF_GPA + 8, 8, VQ_DESC_F_NEXT, 1);
    put_desc(IND_GPA, 1, BUF_GPA + 64, 100, VQ_DESC_F_WRITE, 0);
    put_desc(DESC_GPA, 5, IND_GPA, 3 * 16, VQ_DESC_F_INDIRECT, 0);
    offer(5);
    CHECK(vq_pop(&q, &c) == 1 && c.head == 5 && c.nr == 3 &&
              c.out_bytes == 16 && c.in_bytes == 100,
          "indirect chain: %u segs", c.nr);

    /* 16-bit indices wrap. */
    setup(&q, false);
    put_desc(DESC_GPA, 0, BUF_GPA, 4, 0, 0);
    q.last_avail = 65535;
    set16(AVAIL_GPA + 2, 65535);
    offer(0);
    CHECK(get16(AVAIL_GPA + 2) == 0 && vq_pop(&q, &c) == 1 && q.last_avail == 0,
          "the available index did not wrap");
}

static void test_event_idx(void)
{
    struct virtqueue q;
    static struct vq_chain c;

    setup(&q, true);
    put_desc(DESC_GPA, 0, BUF_GPA, 4, 0, 0);
    for (int i = 0; i < 3; i++) {
        offer(0);
    }
    /* used_event = 1: notify once the used index passes 1 -> 2. */
    set16(AVAIL_GPA + 4 + 2 * QSIZE, 1);
    CHECK(vq_pop(&q, &c) == 1 && vq_push(&q, &c, 0) == 0, "first");
    CHECK(vq_should_notify(&q), "the first interrupt is always sent");
    CHECK(vq_pop(&q, &c) == 1 && vq_push(&q, &c, 0) == 0, "second");
    CHECK(vq_should_notify(&q), "used 1 -> 2 crosses used_event 1");
    CHECK(vq_pop(&q, &c) == 1 && vq_push(&q, &c, 0) == 0, "third");
    CHECK(!vq_should_notify(&q), "used 2 -> 3 does not cross used_event 1");
    vq_set_avail_event(&q);
    CHECK(get16(USED_GPA + 4 + 8 * QSIZE) == 3, "avail_event %u, want 3",
          get16(USED_GPA + 4 + 8 * QSIZE));
    /* Empty: vq_pop_or_arm() asks for the next kick (avail_event = the
     * index after the last chain taken, 3)... */
    set16(USED_GPA + 4 + 8 * QSIZE, 0);
    CHECK(vq_pop_or_arm(&q, &c) == 0, "pop_or_arm on an empty ring");
    CHECK(get16(USED_GPA + 4 + 8 * QSIZE) == 3, "armed avail_event %u, want 3",
          get16(USED_GPA + 4 + 8 * QSIZE));
    /* ...and takes a chain when there is one, without arming. */
    offer(0);
    set16(USED_GPA + 4 + 8 * QSIZE, 0);
    CHECK(vq_pop_or_arm(&q, &c) == 1, "pop_or_arm with a chain");
    CHECK(get16(USED_GPA + 4 + 8 * QSIZE) == 0, "armed with a chain there");
}

/* Bytes the queue reported written (mem.written), one flag per byte. */
static uint8_t marked[RAM_SIZE];

static void mark(void *opaque, uint64_t gpa, uint64_t len)
{
    (void)opaque;
    CHECK(gpa <= RAM_SIZE && len <= RAM_SIZE - gpa, "written past RAM");
    memset(marked + gpa, 1, len);
}

static bool all_marked(uint64_t gpa, uint64_t len, uint8_t want)
{
    for (uint64_t i = 0; i < len; i++) {
        if (marked[gpa + i] != want) {
            return false;
        }
    }
    return true;
}

/* What the device writes reaches the dirty log: every writable buffer of
 * a pushed chain (even past what the device counted), the used element
 * and index, the avail_event field; nothing readable. */
static void test_written(void)
{
    static const struct vq_mem_ops logged = {.map = fake_map, .written = mark};
    struct virtqueue q;
    static struct vq_chain c;

    setup(&q, true);
    q.mem = &logged;
    memset(marked, 0, sizeof(marked));
    put_desc(DESC_GPA, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, BUF_GPA + 0x3000, 0x2000,
             VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 2);
    put_desc(DESC_GPA, 2, BUF_GPA + 0x8000, 1, VQ_DESC_F_WRITE, 0);
    offer(0);
    CHECK(vq_pop(&q, &c) == 1, "pop");
    CHECK(all_marked(0, RAM_SIZE, 0), "marked before the push");
    CHECK(vq_push(&q, &c, 1) == 0, "push");
    CHECK(all_marked(BUF_GPA + 0x3000, 0x2000, 1) &&
              all_marked(BUF_GPA + 0x8000, 1, 1),
          "a writable buffer was not reported");
    CHECK(all_marked(USED_GPA + 2, 2, 1) && all_marked(USED_GPA + 4, 8, 1),
          "the used index or element was not reported");
    CHECK(all_marked(BUF_GPA, 16, 0) && all_marked(DESC_GPA, 0x1000, 0) &&
              all_marked(AVAIL_GPA, 0x1000, 0) &&
              all_marked(USED_GPA + 12, 8 * QSIZE - 8 + 2, 0),
          "bytes the device did not write were reported");
    vq_set_avail_event(&q);
    CHECK(all_marked(USED_GPA + 4 + 8 * QSIZE, 2, 1),
          "avail_event was not reported");
}

/* One hostile setup each: the queue must break, and stay broken. */
static void expect_broken(const char *what, void (*make)(void))
{
    struct virtqueue q;
    static struct vq_chain c;
    int r;

    setup(&q, false);
    make();
    r = vq_pop(&q, &c);
    CHECK(r == -EIO && q.broken, "%s: vq_pop %d, broken %d", what, r, q.broken);
    CHECK(vq_pop(&q, &c) == -EIO && vq_push(&q, &c, 0) == -EIO,
          "%s: the queue did not stay broken", what);
    vq_reset(&q);
    CHECK(!q.broken && !q.ready && q.mem == &mem, "%s: reset did not clear it",
          what);
}

static void head_out(void)
{
    offer(QSIZE);
}
static void next_out(void)
{
    put_desc(DESC_GPA, 0, BUF_GPA, 4, VQ_DESC_F_NEXT, 200);
    offer(0);
}
static void loop_direct(void)
{
    put_desc(DESC_GPA, 0, BUF_GPA, 4, VQ_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, BUF_GPA, 4, VQ_DESC_F_NEXT, 0);
    offer(0);
}
static void buf_outside(void)
{
    put_desc(DESC_GPA, 0, RAM_SIZE - 8, 16, 0, 0);
    offer(0);
}
static void buf_4g(void)
{
    put_desc(DESC_GPA, 0, BUF_GPA, 0xffffffffu, 0, 0);
    offer(0);
}
static void buf_wraps(void)
{
    put_desc(DESC_GPA, 0, UINT64_MAX - 3, 16, 0, 0);
    offer(0);
}
static void read_after_write(void)
{
    put_desc(DESC_GPA, 0, BUF_GPA, 4, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, BUF_GPA, 4, 0, 0);
    offer(0);
}
static void indirect_nested(void)
{
    put_desc(IND_GPA, 0, IND_GPA, 16, VQ_DESC_F_INDIRECT, 0);
    put_desc(DESC_GPA, 0, IND_GPA, 16, VQ_DESC_F_INDIRECT, 0);
    offer(0);
}
static void indirect_next(void)
{
    put_desc(IND_GPA, 0, BUF_GPA, 4, 0, 0);
    put_desc(DESC_GPA, 0, IND_GPA, 16, VQ_DESC_F_INDIRECT | VQ_DESC_F_NEXT, 1);
    offer(0);
}
static void indirect_mid_chain(void)
{
    put_desc(IND_GPA, 0, BUF_GPA, 4, 0, 0);
    put_desc(DESC_GPA, 0, BUF_GPA, 4, VQ_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, IND_GPA, 16, VQ_DESC_F_INDIRECT, 0);
    offer(0);
}
static void indirect_loop(void)
{
    put_desc(IND_GPA, 0, BUF_GPA, 4, VQ_DESC_F_NEXT, 1);
    put_desc(IND_GPA, 1, BUF_GPA, 4, VQ_DESC_F_NEXT, 0);
    put_desc(DESC_GPA, 0, IND_GPA, 32, VQ_DESC_F_INDIRECT, 0);
    offer(0);
}
static void indirect_odd_len(void)
{
    put_desc(DESC_GPA, 0, IND_GPA, 17, VQ_DESC_F_INDIRECT, 0);
    offer(0);
}
static void indirect_huge(void)
{
    put_desc(DESC_GPA, 0, IND_GPA, 16 * (VQ_MAX_SEGS + 1), VQ_DESC_F_INDIRECT,
             0);
    offer(0);
}
static void indirect_outside(void)
{
    put_desc(DESC_GPA, 0, RAM_SIZE - 16, 32, VQ_DESC_F_INDIRECT, 0);
    offer(0);
}
static void avail_ran_ahead(void)
{
    set16(AVAIL_GPA + 2, QSIZE + 1);
}

static void test_hostile(void)
{
    static const struct {
        const char *what;
        void (*make)(void);
    } cases[] = {
        {"head out of the table", head_out},
        {"next out of the table", next_out},
        {"a direct loop", loop_direct},
        {"a buffer past RAM", buf_outside},
        {"a 4 GiB buffer", buf_4g},
        {"a buffer wrapping 2^64", buf_wraps},
        {"readable after writable", read_after_write},
        {"indirect in indirect", indirect_nested},
        {"indirect with NEXT", indirect_next},
        {"indirect mid-chain", indirect_mid_chain},
        {"an indirect loop", indirect_loop},
        {"indirect length not a multiple of 16", indirect_odd_len},
        {"indirect table beyond VQ_MAX_SEGS", indirect_huge},
        {"indirect table past RAM", indirect_outside},
        {"available index ahead by more than the size", avail_ran_ahead},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_broken(cases[i].what, cases[i].make);
    }
}

static void test_enable(void)
{
    static const struct {
        uint16_t size;
        uint64_t desc, avail, used;
    } bad[] = {
        {0, DESC_GPA, AVAIL_GPA, USED_GPA},
        {6, DESC_GPA, AVAIL_GPA, USED_GPA},
        {QSIZE, DESC_GPA + 8, AVAIL_GPA, USED_GPA},
        {QSIZE, DESC_GPA, AVAIL_GPA + 1, USED_GPA},
        {QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA + 2},
        {QSIZE, RAM_SIZE - 16, AVAIL_GPA, USED_GPA},
        {QSIZE, DESC_GPA, AVAIL_GPA, UINT64_MAX - 3},
        {32768, DESC_GPA, AVAIL_GPA, RAM_SIZE - 0x1000},
    };
    struct virtqueue q = {.mem = &mem};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q.size = bad[i].size;
        q.desc_gpa = bad[i].desc;
        q.avail_gpa = bad[i].avail;
        q.used_gpa = bad[i].used;
        CHECK(vq_enable(&q) == -EINVAL && !q.ready, "bad queue %zu enabled", i);
    }
}

int main(void)
{
    test_chains();
    test_event_idx();
    test_written();
    test_hostile();
    test_enable();
    printf("test_virtqueue: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
