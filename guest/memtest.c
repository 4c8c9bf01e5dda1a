/* SPDX-License-Identifier: MIT */
/*
 * memtest: write and verify every 64-bit word of guest RAM that the guest
 * does not occupy: from the end of the image to min(RAM, 3 GiB), and the
 * part above 4 GiB when there is more than 3 GiB. Two passes, each writing
 * all ranges before verifying any, so that two addresses backed by the same
 * host memory (a wrong memslot or alias) show as a mismatch. The word at
 * address A holds A * K ^ seed; the second pass uses the complement, so
 * every bit is seen at 0 and at 1. Exits 0 on success, 1 on a mismatch.
 */
#include "guest/guest.h"

#define MEMTEST_K 0x9e3779b97f4a7c15ull
#define MEMTEST_MAX_REPORTS 8

struct memtest_range {
    uint64_t start;
    uint64_t end;
};

static void memtest_fill(const struct memtest_range *r, uint64_t seed)
{
    uint64_t *p = (uint64_t *)(uintptr_t)r->start;
    uint64_t *end = (uint64_t *)(uintptr_t)r->end;
    uint64_t v = r->start * MEMTEST_K;
    uint64_t step = 8 * MEMTEST_K;

    /* v tracks addr * K as p advances. */
    for (; p < end; p++) {
        *p = v ^ seed;
        v += step;
    }
}

static uint64_t memtest_verify(const struct memtest_range *r, uint64_t seed,
                               uint64_t *reported)
{
    const uint64_t *p = (const uint64_t *)(uintptr_t)r->start;
    const uint64_t *end = (const uint64_t *)(uintptr_t)r->end;
    uint64_t v = r->start * MEMTEST_K;
    uint64_t step = 8 * MEMTEST_K;
    uint64_t bad = 0;

    for (; p < end; p++, v += step) {
        if (*p == (v ^ seed)) {
            continue;
        }
        bad++;
        if (*reported < MEMTEST_MAX_REPORTS) {
            (*reported)++;
            guest_printf("memtest: mismatch at 0x%lx: expected 0x%016lx, "
                         "read 0x%016lx\n",
                         (uint64_t)(uintptr_t)p, v ^ seed, *p);
        }
    }
    return bad;
}

int main(void)
{
    static const uint64_t seeds[] = {0, ~0ull};
    struct memtest_range ranges[2];
    uint64_t ram = guest_ram_size();
    uint64_t start = (uint64_t)(uintptr_t)__image_end;
    uint64_t low_end = ram < TESTDEV_RAM_LOW_MAX ? ram : TESTDEV_RAM_LOW_MAX;
    uint64_t total = 0, bad = 0, reported = 0;
    unsigned nr = 0;

    start = (start + 4095) & ~4095ull;
    if (low_end > start) {
        ranges[nr++] = (struct memtest_range){start, low_end & ~7ull};
    }
    if (ram > TESTDEV_RAM_LOW_MAX) {
        ranges[nr++] = (struct memtest_range){
            TESTDEV_RAM_HIGH_BASE,
            TESTDEV_RAM_HIGH_BASE + ((ram - TESTDEV_RAM_LOW_MAX) & ~7ull)};
    }
    for (unsigned i = 0; i < nr; i++) {
        total += ranges[i].end - ranges[i].start;
        guest_printf("memtest: range 0x%lx-0x%lx (%lu MiB)\n", ranges[i].start,
                     ranges[i].end - 1,
                     (ranges[i].end - ranges[i].start) >> 20);
    }
    if (total == 0) {
        guest_puts("memtest: no RAM to test");
        return 1;
    }
    for (unsigned pass = 0; pass < 2; pass++) {
        uint64_t t0 = guest_time_ns(), t1, pass_bad = 0;

        for (unsigned i = 0; i < nr; i++) {
            memtest_fill(&ranges[i], seeds[pass]);
        }
        guest_barrier();
        for (unsigned i = 0; i < nr; i++) {
            pass_bad += memtest_verify(&ranges[i], seeds[pass], &reported);
        }
        t1 = guest_time_ns();
        guest_printf("memtest: pass %u: %lu MiB, %lu bad words, %lu ms\n", pass,
                     total >> 20, pass_bad, (t1 - t0) / 1000000);
        bad += pass_bad;
    }
    if (bad != 0) {
        guest_printf("memtest: FAILED, %lu bad words\n", bad);
        return 1;
    }
    guest_printf("memtest: OK, %lu MiB verified\n", total >> 20);
    return 0;
}
