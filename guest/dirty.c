/* SPDX-License-Identifier: MIT */
/*
 * dirty: the guest of `vmm bench dirty-log` and of the dirty-log kvm
 * tests. It writes one 64-bit word per 4 KiB page over a working set as
 * fast as it can, counting its writes, and otherwise does what its
 * controller on the VMM side asks through a mailbox page: sweep the
 * working set once, write a seeded pseudo-random page set for the host to
 * compare with what it harvested, move the toggle region between writes,
 * exit. The protocol is struct testdev_dirty_mailbox in
 * devices/testdev_abi.h; this guest makes no exits of its own but the
 * mailbox announcement, MOVE's region commands and EXIT, so that its
 * write rate is what dirty logging allows.
 *
 * The working set lies from the first 2 MiB boundary above the image to
 * the end of RAM below 3 GiB. Every vCPU (up to TESTDEV_DIRTY_MAX_VCPUS)
 * runs the same command loop; vCPU 0 publishes the mailbox first.
 */
#include "guest/guest.h"

#define DIRTY_WS_ALIGN 0x200000ull

static struct testdev_dirty_mailbox mailbox __attribute__((aligned(4096)));

_Static_assert(sizeof(mailbox) <= 4096, "the mailbox is one page");

/* Set by vCPU 0 before the mailbox is published; read-only after. */
static uint64_t ws_base;
static uint64_t ws_max_pages;

static uint64_t load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint64_t cmd_seq(void)
{
    return TESTDEV_DIRTY_CMD_SEQ(load(&mailbox.cmd));
}

/* The word this guest writes in working-set page (page). */
static void write_page(uint64_t page, uint64_t value)
{
    *(volatile uint64_t *)(uintptr_t)(ws_base + (page << 12)) = value;
}

/* A value in [0, n) from the 64-bit (x), without a division. */
static uint64_t scale(uint64_t x, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)x * n) >> 64);
}

/*
 * RUN: pages [lo, lo + n) of the working set, as fast as possible, until
 * the command changes from (seq). The count goes out every batch.
 */
static void dirty_run(uint32_t id, uint64_t seq, uint64_t lo, uint64_t n,
                      bool random, uint64_t seed)
{
    struct testdev_dirty_vcpu *me = &mailbox.vcpu[id];
    uint64_t writes = __atomic_load_n(&me->writes, __ATOMIC_RELAXED);
    uint64_t x = testdev_mix64(seed + id) | 1;
    uint64_t next = 0;

    if (n == 0) {
        while (cmd_seq() == seq) {
            guest_cpu_relax();
        }
        return;
    }
    for (;;) {
        for (unsigned k = 0; k < TESTDEV_DIRTY_BATCH; k++) {
            uint64_t p;

            if (random) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p = scale(x, n);
            } else {
                p = next;
                if (++next == n) {
                    next = 0;
                }
            }
            write_page(lo + p, writes + k);
        }
        writes += TESTDEV_DIRTY_BATCH;
        __atomic_store_n(&me->writes, writes, __ATOMIC_RELAXED);
        if (cmd_seq() != seq) {
            return;
        }
    }
}

/*
 * MOVE on vCPU 0: a write into the toggle region, then a move of it, for
 * each round; the controller checks between rounds that the write was
 * harvested although its memslot is gone.
 */
static void dirty_move(uint64_t seq, uint64_t rounds)
{
    uint64_t at = TESTDEV_TOGGLE_BASE;
    uint64_t other = TESTDEV_TOGGLE_ALT_BASE;

    for (uint64_t r = 1; r <= rounds; r++) {
        uint64_t t;
        int ret;

        guest_mmio_write64(at + 8 * (r % (TESTDEV_TOGGLE_SIZE / 8)), r);
        ret = guest_region_move(TESTDEV_REGION_TOGGLE, other);
        if (ret != 0) {
            store((uint64_t *)&mailbox.error, (uint64_t)(int64_t)ret);
            return;
        }
        t = at;
        at = other;
        other = t;
        store(&mailbox.step, r);
        while (load(&mailbox.step_ack) != r) {
            if (cmd_seq() != seq) {
                /* The controller gave up on this op. */
                return;
            }
            guest_cpu_relax();
        }
    }
}

static void dirty_worker(uint32_t id)
{
    uint64_t seen = 0;

    for (;;) {
        uint64_t cmd = load(&mailbox.cmd);
        uint64_t seq = TESTDEV_DIRTY_CMD_SEQ(cmd);
        uint64_t nr, ws, lo, hi;

        if (seq == seen) {
            guest_cpu_relax();
            continue;
        }
        seen = seq;
        nr = load(&mailbox.nr_vcpus);
        if (id >= nr || nr > TESTDEV_DIRTY_MAX_VCPUS) {
            continue;
        }
        ws = load(&mailbox.ws_pages);
        if (ws > ws_max_pages) {
            /* Refuse rather than write outside the working set. */
            store((uint64_t *)&mailbox.error, (uint64_t)-22);
            store(&mailbox.vcpu[id].done, seq);
            continue;
        }
        lo = ws * id / nr;
        hi = ws * (id + 1) / nr;
        switch (TESTDEV_DIRTY_CMD_OP(cmd)) {
        case TESTDEV_DIRTY_OP_SWEEP:
            for (uint64_t p = lo; p < hi; p++) {
                write_page(p, seq);
            }
            break;
        case TESTDEV_DIRTY_OP_RUN:
            dirty_run(id, seq, lo, hi - lo,
                      load(&mailbox.pattern) == TESTDEV_DIRTY_PATTERN_RANDOM,
                      load(&mailbox.seed));
            break;
        case TESTDEV_DIRTY_OP_VERIFY: {
            uint64_t seed = load(&mailbox.seed);
            uint64_t count = load(&mailbox.count);

            for (uint64_t i = id; i < count && ws; i += nr) {
                write_page(testdev_dirty_verify_page(seed, i, ws), ~i);
            }
            break;
        }
        case TESTDEV_DIRTY_OP_MOVE:
            if (id == 0) {
                dirty_move(seq, load(&mailbox.count));
            } else {
                dirty_run(id, seq, lo, hi - lo, false, 0);
            }
            break;
        case TESTDEV_DIRTY_OP_EXIT:
            if (id == 0) {
                guest_exit((int)load(&mailbox.count));
            }
            break;
        default:
            /* IDLE, and ops this guest does not know: just report. */
            break;
        }
        store(&mailbox.vcpu[id].done, seq);
    }
}

void guest_secondary(uint32_t vcpu_id)
{
    if (vcpu_id >= TESTDEV_DIRTY_MAX_VCPUS) {
        guest_park();
    }
    while (load(&mailbox.magic) != TESTDEV_DIRTY_MAGIC) {
        guest_cpu_relax();
    }
    dirty_worker(vcpu_id);
}

int main(void)
{
    uint64_t ram = guest_ram_size();
    uint64_t low_end = ram < TESTDEV_RAM_LOW_MAX ? ram : TESTDEV_RAM_LOW_MAX;
    uint64_t image_end = (uint64_t)(uintptr_t)__image_end;

    ws_base = (image_end + DIRTY_WS_ALIGN - 1) & ~(DIRTY_WS_ALIGN - 1);
    ws_max_pages = low_end > ws_base ? (low_end - ws_base) >> 12 : 0;
    mailbox.ws_base = ws_base;
    mailbox.ws_max_pages = ws_max_pages;
    store(&mailbox.magic, TESTDEV_DIRTY_MAGIC);
    guest_reg_write(TESTDEV_REG_MAILBOX, (uint64_t)(uintptr_t)&mailbox);
    dirty_worker(0);
    return 0;
}
