/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the dirty guest's mailbox (see dirty_guest.h). Every
 * value the guest wrote is checked before it is turned into a host
 * address; shared fields are read and written with 64-bit atomics, the
 * command word last (release) so the guest sees its parameters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "devices/testdev.h"
#include "dirty_guest.h"
#include "machine_ctl.h"
#include "mem/dirty.h"
#include "mem/region.h"
#include "util/clock.h"
#include "vcpu.h"

static void nap(void)
{
    struct timespec ts = {0, 50000};

    nanosleep(&ts, NULL);
}

static uint64_t ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

int dirty_guest_attach(struct dirty_guest *g, const struct machine_ctl *ctl,
                       double timeout_s, char *why, size_t whylen)
{
    double deadline = clock_now_s() + timeout_s;
    struct testdev_dirty_mailbox *mb;
    uint64_t gpa, base, max_pages, low = ctl->ram_low_size;

    memset(g, 0, sizeof(*g));
    g->vcpus = ctl->vcpus;
    for (;;) {
        gpa = testdev_mailbox(ctl->td);
        if (gpa) {
            break;
        }
        if (vcpu_set_wait_for(ctl->vcpus, 0)) {
            snprintf(why, whylen, "the guest ended before it gave a mailbox");
            return -EIO;
        }
        if (clock_now_s() > deadline) {
            snprintf(why, whylen,
                     "no mailbox from the guest after %.0f s (not the "
                     "dirty guest?)",
                     timeout_s);
            return -ETIMEDOUT;
        }
        nap();
    }
    if (gpa >= low || low - gpa < 4096) {
        snprintf(why, whylen, "guest mailbox at 0x%" PRIx64 " is not in RAM",
                 gpa);
        return -EINVAL;
    }
    mb = mr_ram_ptr(ctl->ram, gpa);
    if (!mb || ld(&mb->magic) != TESTDEV_DIRTY_MAGIC) {
        snprintf(why, whylen,
                 "guest mailbox at 0x%" PRIx64 " lacks the dirty guest's magic",
                 gpa);
        return -EINVAL;
    }
    base = ld(&mb->ws_base);
    max_pages = ld(&mb->ws_max_pages);
    if ((base & (DIRTY_PAGE_SIZE - 1)) || base >= low) {
        snprintf(why, whylen,
                 "guest working set at 0x%" PRIx64 " is not a page in RAM",
                 base);
        return -EINVAL;
    }
    /* Never trust the guest's count beyond the RAM that is there. */
    if (max_pages > (low - base) >> DIRTY_PAGE_SHIFT) {
        max_pages = (low - base) >> DIRTY_PAGE_SHIFT;
    }
    g->mb = mb;
    g->seq = TESTDEV_DIRTY_CMD_SEQ(ld(&mb->cmd));
    g->ws_base = base;
    g->ws_max_pages = max_pages;
    g->ws_first_page = base >> DIRTY_PAGE_SHIFT;
    g->ws_host = mr_ram_ptr(ctl->ram, base);
    return 0;
}

int dirty_guest_setup(struct dirty_guest *g, uint64_t ws_pages,
                      unsigned nr_vcpus, unsigned pattern, uint64_t seed)
{
    if (ws_pages > g->ws_max_pages || nr_vcpus == 0 ||
        nr_vcpus > TESTDEV_DIRTY_MAX_VCPUS ||
        pattern > TESTDEV_DIRTY_PATTERN_RANDOM) {
        return -EINVAL;
    }
    g->ws_pages = ws_pages;
    g->nr_vcpus = nr_vcpus;
    st(&g->mb->ws_pages, ws_pages);
    st(&g->mb->nr_vcpus, nr_vcpus);
    st(&g->mb->pattern, pattern);
    st(&g->mb->seed, seed);
    return 0;
}

uint64_t dirty_guest_post(struct dirty_guest *g, unsigned op, uint64_t count,
                          uint64_t seed)
{
    st(&g->mb->count, count);
    if (op == TESTDEV_DIRTY_OP_VERIFY) {
        st(&g->mb->seed, seed);
    }
    g->seq++;
    st(&g->mb->cmd, TESTDEV_DIRTY_CMD(g->seq, op));
    return g->seq;
}

bool dirty_guest_done(const struct dirty_guest *g, uint64_t seq,
                      bool vcpu0_only)
{
    unsigned n = vcpu0_only ? 1 : g->nr_vcpus;

    for (unsigned i = 0; i < n; i++) {
        if (ld(&g->mb->vcpu[i].done) != seq) {
            return false;
        }
    }
    return true;
}

int dirty_guest_check(const struct dirty_guest *g, char *why, size_t whylen)
{
    int64_t err = (int64_t)ld((const uint64_t *)&g->mb->error);

    if (err != 0) {
        snprintf(why, whylen, "the guest reports error %" PRId64 " (%s)", err,
                 err < 0 && err > -4096 ? strerror((int)-err) : "?");
        return -EIO;
    }
    if (vcpu_set_wait_for(g->vcpus, 0)) {
        snprintf(why, whylen, "the VM ended unexpectedly");
        return -EIO;
    }
    return 0;
}

int dirty_guest_wait(const struct dirty_guest *g, uint64_t seq, bool vcpu0_only,
                     double timeout_s, char *why, size_t whylen)
{
    double deadline = clock_now_s() + timeout_s;

    while (!dirty_guest_done(g, seq, vcpu0_only)) {
        int ret = dirty_guest_check(g, why, whylen);

        if (ret < 0) {
            return ret;
        }
        if (clock_now_s() > deadline) {
            snprintf(why, whylen,
                     "the guest did not finish command %" PRIu64 " in %.0f s",
                     seq, timeout_s);
            return -ETIMEDOUT;
        }
        nap();
    }
    return dirty_guest_check(g, why, whylen);
}

uint64_t dirty_guest_writes(const struct dirty_guest *g)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < g->nr_vcpus; i++) {
        n += __atomic_load_n(&g->mb->vcpu[i].writes, __ATOMIC_RELAXED);
    }
    return n;
}

uint64_t dirty_guest_step(const struct dirty_guest *g)
{
    return ld(&g->mb->step);
}

void dirty_guest_step_ack(struct dirty_guest *g, uint64_t round)
{
    st(&g->mb->step_ack, round);
}

uint64_t dirty_guest_verify_set(const struct dirty_guest *g, uint64_t seed,
                                uint64_t count, uint64_t *bits)
{
    uint64_t distinct = 0;

    if (g->ws_pages == 0) {
        return 0;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t p = testdev_dirty_verify_page(seed, i, g->ws_pages);
        uint64_t m = UINT64_C(1) << (p % 64);

        if (!(bits[p / 64] & m)) {
            bits[p / 64] |= m;
            distinct++;
        }
    }
    return distinct;
}
