/* SPDX-License-Identifier: MIT */
/*
 * Dirty bitmap tests: set, OR (KVM's layout, at any page offset), count
 * and test-and-clear on ranges that start and end mid-word, span whole
 * words, and end at the last page of a bitmap whose size is not a multiple
 * of 64; out-of-range refusals; a randomized differential run against a
 * byte-per-page model; concurrent setters and a clearer that must neither
 * lose nor duplicate a page; and the RAMBlock side: every block owns a
 * bitmap of its maximum length, and memory-API writes mark pages only
 * where logging is on. Needs no /dev/kvm.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "mem/address_space.h"
#include "mem/dirty.h"
#include "mem/ramblock.h"
#include "mem/region.h"
#include "unit.h"

static unsigned unit_failures;

/* Bit (i) of a KVM-layout bitmap. */
static bool bit(const uint64_t *b, uint64_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}

/* A bitmap of (n) pages with exactly the pages of (model) set. */
static void check_model(const char *what, const struct dirty_bitmap *bm,
                        const uint8_t *model, uint64_t n)
{
    uint64_t bad = 0, first_bad = 0;

    for (uint64_t i = 0; i < n; i++) {
        if (dirty_bitmap_test(bm, i) != (model[i] != 0)) {
            if (bad++ == 0) {
                first_bad = i;
            }
        }
    }
    CHECK(bad == 0, "%s: %llu pages differ, first %llu", what,
          (unsigned long long)bad, (unsigned long long)first_bad);
}

/* --- table: set / count / test-and-clear on edge ranges ----------------- */

struct range_case {
    const char *name;
    uint64_t pages;
    uint64_t first;
    uint64_t nr;
};

static const struct range_case range_cases[] = {
    {"one page at 0", 130, 0, 1},
    {"mid-word to mid-word, one word", 130, 3, 10},
    {"mid-word to mid-next-word", 130, 60, 8},
    {"mid-word across a whole word", 200, 5, 150},
    {"exactly one word", 128, 64, 64},
    {"word aligned start, mid-word end", 130, 64, 10},
    {"mid-word start to the last page", 130, 61, 69},
    {"the last page alone", 130, 129, 1},
    {"the last partial word", 130, 128, 2},
    {"whole bitmap, not a multiple of 64", 130, 0, 130},
    {"whole bitmap, a multiple of 64", 192, 0, 192},
    {"a single-page bitmap", 1, 0, 1},
    {"empty range at the end", 130, 130, 0},
};

static void test_range_cases(void)
{
    for (size_t c = 0; c < sizeof(range_cases) / sizeof(range_cases[0]); c++) {
        const struct range_case *rc = &range_cases[c];
        struct dirty_bitmap *bm;
        uint64_t out[8], count = 99;
        uint8_t model[256] = {0};

        CHECK(dirty_bitmap_new(rc->pages, &bm) == 0, "%s: new", rc->name);
        CHECK(dirty_bitmap_nr_pages(bm) == rc->pages, "%s: nr_pages", rc->name);
        CHECK(dirty_bitmap_set(bm, rc->first, rc->nr) == 0, "%s: set",
              rc->name);
        for (uint64_t i = rc->first; i < rc->first + rc->nr; i++) {
            model[i] = 1;
        }
        check_model(rc->name, bm, model, rc->pages);
        CHECK(dirty_bitmap_count(bm, 0, rc->pages) == rc->nr, "%s: count %llu",
              rc->name,
              (unsigned long long)dirty_bitmap_count(bm, 0, rc->pages));
        /* Neighbours stay clean: count one page either side. */
        if (rc->first > 0) {
            CHECK(!dirty_bitmap_test(bm, rc->first - 1), "%s: page before",
                  rc->name);
        }
        if (rc->first + rc->nr < rc->pages) {
            CHECK(!dirty_bitmap_test(bm, rc->first + rc->nr), "%s: page after",
                  rc->name);
        }
        /* Take exactly the range back, into (out) relative to (first). */
        memset(out, 0, sizeof(out));
        CHECK(dirty_bitmap_test_and_clear(bm, rc->first, rc->nr, out, &count) ==
                  0,
              "%s: test_and_clear", rc->name);
        CHECK(count == rc->nr, "%s: took %llu, want %llu", rc->name,
              (unsigned long long)count, (unsigned long long)rc->nr);
        for (uint64_t i = 0; i < 8 * 64; i++) {
            CHECK(bit(out, i) == (i < rc->nr), "%s: out bit %llu", rc->name,
                  (unsigned long long)i);
        }
        CHECK(dirty_bitmap_count(bm, 0, rc->pages) == 0,
              "%s: clean after clear", rc->name);
        /* A second test-and-clear finds nothing. */
        CHECK(dirty_bitmap_test_and_clear(bm, rc->first, rc->nr, NULL,
                                          &count) == 0 &&
                  count == 0,
              "%s: second clear took %llu", rc->name,
              (unsigned long long)count);
        dirty_bitmap_free(bm);
    }
}

/* Clearing a sub-range leaves the pages around it set. */
static void test_partial_clear(void)
{
    struct dirty_bitmap *bm;
    uint64_t out[4] = {0}, count = 0;

    CHECK(dirty_bitmap_new(130, &bm) == 0, "new");
    CHECK(dirty_bitmap_set(bm, 0, 130) == 0, "set all");
    CHECK(dirty_bitmap_test_and_clear(bm, 62, 5, out, &count) == 0, "clear");
    CHECK(count == 5, "took %llu", (unsigned long long)count);
    CHECK(out[0] == 0x1f && out[1] == 0, "out 0x%llx 0x%llx",
          (unsigned long long)out[0], (unsigned long long)out[1]);
    for (uint64_t i = 0; i < 130; i++) {
        CHECK(dirty_bitmap_test(bm, i) == (i < 62 || i >= 67), "page %llu",
              (unsigned long long)i);
    }
    CHECK(dirty_bitmap_count(bm, 60, 10) == 5, "count 60..69");
    CHECK(dirty_bitmap_count(bm, 125, 100) == 5, "count clipped at the end");
    CHECK(dirty_bitmap_count(bm, 130, 1) == 0, "count past the end");
    /* (out) is OR-ed into, never cleared. */
    out[0] = UINT64_C(1) << 40;
    CHECK(dirty_bitmap_test_and_clear(bm, 128, 2, out, &count) == 0, "clear");
    CHECK(count == 2 && out[0] == ((UINT64_C(1) << 40) | 3),
          "or-ed out 0x%llx count %llu", (unsigned long long)out[0],
          (unsigned long long)count);
    dirty_bitmap_free(bm);
}

static void test_out_of_range(void)
{
    struct dirty_bitmap *bm;
    uint64_t src[4] = {~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), 0};
    uint64_t count = 77;

    CHECK(dirty_bitmap_new(130, &bm) == 0, "new");
    CHECK(dirty_bitmap_set(bm, 129, 2) == -ERANGE, "set past the end");
    CHECK(dirty_bitmap_set(bm, 131, 0) == -ERANGE, "empty set past the end");
    CHECK(dirty_bitmap_set(bm, UINT64_MAX, 2) == -ERANGE, "set wrapping");
    CHECK(dirty_bitmap_or(bm, 1, src, 130) == -ERANGE, "or past the end");
    CHECK(dirty_bitmap_count(bm, 0, 130) == 0, "refusals changed nothing");
    CHECK(dirty_bitmap_set(bm, 130, 0) == 0, "empty set at the end");
    CHECK(dirty_bitmap_set(bm, 0, 130) == 0, "set all");
    CHECK(dirty_bitmap_test_and_clear(bm, 100, 31, NULL, &count) == -ERANGE,
          "clear past the end");
    CHECK(count == 77, "count untouched on failure");
    CHECK(dirty_bitmap_count(bm, 0, 130) == 130, "failed clear kept pages");
    CHECK(!dirty_bitmap_test(bm, 130), "test past the end");
    dirty_bitmap_free(bm);

    CHECK(dirty_bitmap_new(0, &bm) == 0, "empty bitmap");
    CHECK(dirty_bitmap_set(bm, 0, 0) == 0, "nothing to set");
    CHECK(dirty_bitmap_set(bm, 0, 1) == -ERANGE, "a page of nothing");
    CHECK(dirty_bitmap_test_and_clear(bm, 0, 0, NULL, &count) == 0 &&
              count == 0,
          "nothing to clear");
    dirty_bitmap_free(bm);
}

/* --- OR of a KVM bitmap at every alignment ------------------------------ */

static void test_or_alignments(void)
{
    /* A slot of 100 pages folded at each offset 0..70 of a 200-page
     * block, with a pattern that sets its first and last page. */
    uint64_t src[2] = {UINT64_C(0x8000000000000001) | 0xf0f0,
                       UINT64_C(0xffffffff00000008) /* bit 99 is the last */};
    const uint64_t nr = 100;

    for (uint64_t first = 0; first <= 70; first++) {
        struct dirty_bitmap *bm;
        uint8_t model[200] = {0};
        char what[64];

        snprintf(what, sizeof(what), "or at page %llu",
                 (unsigned long long)first);
        CHECK(dirty_bitmap_new(200, &bm) == 0, "new");
        CHECK(dirty_bitmap_or(bm, first, src, nr) == 0, "%s", what);
        for (uint64_t i = 0; i < nr; i++) {
            model[first + i] = bit(src, i);
        }
        check_model(what, bm, model, 200);
        dirty_bitmap_free(bm);
    }
}

/* take_or at every alignment: the union of bitmap and source, once. */
static void test_take_or_alignments(void)
{
    uint64_t src[2] = {UINT64_C(0x00ff00000000000f), UINT64_C(0xf0)};
    const uint64_t nr = 100;

    for (uint64_t first = 0; first <= 70; first++) {
        struct dirty_bitmap *bm;
        uint64_t out[3] = {0}, count = 0, want = 0;
        char what[64];

        snprintf(what, sizeof(what), "take_or at page %llu",
                 (unsigned long long)first);
        CHECK(dirty_bitmap_new(200, &bm) == 0, "new");
        /* Pages on both sides of the range, and some inside it. */
        CHECK(dirty_bitmap_set(bm, 0, 200) == 0, "set");
        CHECK(dirty_bitmap_test_and_clear(bm, first + 10, 30, NULL, NULL) == 0,
              "clear a hole");
        CHECK(dirty_bitmap_take_or(bm, first, nr, src, out, &count) == 0, "%s",
              what);
        for (uint64_t i = 0; i < nr; i++) {
            bool in_bm = i < 10 || i >= 40;
            bool u = in_bm || bit(src, i);

            CHECK(bit(out, i) == u, "%s: bit %llu", what,
                  (unsigned long long)i);
            want += u;
        }
        CHECK(!bit(out, nr) && out[2] == 0, "%s: bits past the range", what);
        CHECK(count == want, "%s: count %llu, want %llu", what,
              (unsigned long long)count, (unsigned long long)want);
        CHECK(dirty_bitmap_count(bm, first, nr) == 0, "%s: range left dirty",
              what);
        CHECK(dirty_bitmap_count(bm, 0, 200) == 200 - nr, "%s: outside taken",
              what);
        CHECK(dirty_bitmap_take_or(bm, 150, 51, NULL, NULL, NULL) == -ERANGE,
              "%s: past the end", what);
        dirty_bitmap_free(bm);
    }
}

/* Up to the last page of a bitmap whose size is not a multiple of 64. */
static void test_or_at_end(void)
{
    struct dirty_bitmap *bm;
    uint64_t src[3] = {~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0)};

    CHECK(dirty_bitmap_new(130, &bm) == 0, "new");
    /* 67 pages ending at page 129: the tail bits of src[1] are ignored. */
    CHECK(dirty_bitmap_or(bm, 63, src, 67) == 0, "or to the end");
    CHECK(dirty_bitmap_count(bm, 0, 130) == 67, "count %llu",
          (unsigned long long)dirty_bitmap_count(bm, 0, 130));
    CHECK(dirty_bitmap_test(bm, 63) && dirty_bitmap_test(bm, 129) &&
              !dirty_bitmap_test(bm, 62),
          "edges");
    dirty_bitmap_free(bm);
}

/* --- randomized differential against a byte-per-page model -------------- */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_random(void)
{
    enum { PAGES = 1000, ROUNDS = 20000 };
    static uint8_t model[PAGES];
    struct dirty_bitmap *bm;

    CHECK(dirty_bitmap_new(PAGES, &bm) == 0, "new");
    memset(model, 0, sizeof(model));
    for (int r = 0; r < ROUNDS && unit_failures == 0; r++) {
        uint64_t first = rng() % (PAGES + 1);
        uint64_t nr = rng() % (PAGES - first + 1);
        uint64_t src[DIRTY_WORDS(PAGES)], out[DIRTY_WORDS(PAGES)];
        uint64_t count = 0, want = 0;

        switch (rng() % 5) {
        case 0:
            CHECK(dirty_bitmap_set(bm, first, nr) == 0, "set");
            memset(model + first, 1, nr);
            break;
        case 1:
            for (size_t i = 0; i < DIRTY_WORDS(PAGES); i++) {
                /* Sparse, like a real KVM bitmap. */
                src[i] = rng() & rng() & rng();
            }
            CHECK(dirty_bitmap_or(bm, first, src, nr) == 0, "or");
            for (uint64_t i = 0; i < nr; i++) {
                model[first + i] |= bit(src, i);
            }
            break;
        case 2:
            memset(out, 0, sizeof(out));
            CHECK(dirty_bitmap_test_and_clear(bm, first, nr, out, &count) == 0,
                  "clear");
            for (uint64_t i = 0; i < nr; i++) {
                CHECK(bit(out, i) == model[first + i], "round %d: out bit %llu",
                      r, (unsigned long long)i);
                want += model[first + i];
                model[first + i] = 0;
            }
            CHECK(count == want, "round %d: took %llu, want %llu", r,
                  (unsigned long long)count, (unsigned long long)want);
            break;
        case 3: {
            bool with_src = rng() % 4 != 0;

            for (size_t i = 0; i < DIRTY_WORDS(PAGES); i++) {
                src[i] = rng() & rng();
            }
            memset(out, 0, sizeof(out));
            CHECK(dirty_bitmap_take_or(bm, first, nr, with_src ? src : NULL,
                                       out, &count) == 0,
                  "take_or");
            for (uint64_t i = 0; i < nr; i++) {
                bool u = model[first + i] || (with_src && bit(src, i));

                CHECK(bit(out, i) == u, "round %d: take_or bit %llu", r,
                      (unsigned long long)i);
                want += u;
                model[first + i] = 0;
            }
            CHECK(count == want, "round %d: take_or took %llu, want %llu", r,
                  (unsigned long long)count, (unsigned long long)want);
            break;
        }
        default:
            for (uint64_t i = 0; i < nr; i++) {
                want += model[first + i];
            }
            CHECK(dirty_bitmap_count(bm, first, nr) == want, "count");
            break;
        }
    }
    check_model("after random rounds", bm, model, PAGES);
    dirty_bitmap_free(bm);
}

/* --- concurrency: setters against a clearer ----------------------------- */

enum { CONC_PAGES = 4099, CONC_SETTERS = 3, CONC_ROUNDS = 200 };

struct conc {
    struct dirty_bitmap *bm;
    pthread_barrier_t start;
    unsigned finished;
};

struct setter {
    struct conc *c;
    unsigned id;
};

/*
 * Each round, setter (id) sets each of its pages (p % CONC_SETTERS == id,
 * so neighbouring bits of a word belong to different threads) exactly
 * once, in a scrambled order, while the main thread test-and-clears odd
 * sub-ranges. Afterwards every page must have been taken once or still be
 * set: exactly one of the two.
 */
static void *setter_thread(void *arg)
{
    struct setter *s = arg;
    struct conc *c = s->c;
    const uint64_t mine =
        (CONC_PAGES - s->id + CONC_SETTERS - 1) / CONC_SETTERS;

    for (int r = 0; r < CONC_ROUNDS; r++) {
        pthread_barrier_wait(&c->start);
        /* k -> k * 2654435761 mod mine is a permutation of [0, mine):
         * the multiplier is a prime that does not divide mine. */
        for (uint64_t k = 0; k < mine; k++) {
            uint64_t p = ((k * 2654435761u) % mine) * CONC_SETTERS + s->id;

            CHECK(dirty_bitmap_set(c->bm, p, 1) == 0, "set");
        }
        __atomic_add_fetch(&c->finished, 1, __ATOMIC_RELEASE);
        pthread_barrier_wait(&c->start);
    }
    return NULL;
}

static void test_concurrent(void)
{
    static struct conc c;
    static uint8_t taken[CONC_PAGES];
    pthread_t th[CONC_SETTERS];
    struct setter st[CONC_SETTERS];
    uint64_t out[DIRTY_WORDS(CONC_PAGES)];
    uint64_t bad = 0;

    memset(&c, 0, sizeof(c));
    CHECK(dirty_bitmap_new(CONC_PAGES, &c.bm) == 0, "new");
    pthread_barrier_init(&c.start, NULL, CONC_SETTERS + 1);
    for (unsigned i = 0; i < CONC_SETTERS; i++) {
        st[i] = (struct setter){&c, i};
        pthread_create(&th[i], NULL, setter_thread, &st[i]);
    }
    for (int r = 0; r < CONC_ROUNDS; r++) {
        bool last = false;

        memset(taken, 0, sizeof(taken));
        __atomic_store_n(&c.finished, 0, __ATOMIC_RELAXED);
        pthread_barrier_wait(&c.start);
        while (!last) {
            uint64_t first = rng() % 70, count = 0;

            /* One more pass after the setters are done. */
            last =
                __atomic_load_n(&c.finished, __ATOMIC_ACQUIRE) == CONC_SETTERS;
            if (last) {
                first = 0;
            }
            memset(out, 0, sizeof(out));
            CHECK(dirty_bitmap_test_and_clear(c.bm, first, CONC_PAGES - first,
                                              out, &count) == 0,
                  "clear");
            for (uint64_t i = 0; i < CONC_PAGES - first; i++) {
                taken[first + i] += bit(out, i);
            }
        }
        pthread_barrier_wait(&c.start);
        for (uint64_t p = 0; p < CONC_PAGES; p++) {
            if (taken[p] != 1 || dirty_bitmap_test(c.bm, p)) {
                bad++;
            }
        }
    }
    CHECK(bad == 0, "%llu pages lost or taken twice", (unsigned long long)bad);
    for (unsigned i = 0; i < CONC_SETTERS; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&c.start);
    dirty_bitmap_free(c.bm);
}

/* --- RAMBlocks and memory-API writes ------------------------------------ */

static void test_ram_block_owns_bitmap(void)
{
    struct ram_block *rb;
    struct dirty_bitmap *bm;

    CHECK(ram_block_alloc_anon("dirty-rb", 16 * 4096, 64 * 4096, &rb) == 0,
          "alloc");
    bm = ram_block_dirty(rb);
    CHECK(bm != NULL, "a block has a bitmap");
    CHECK(bm && dirty_bitmap_nr_pages(bm) == 64,
          "bitmap covers the maximum length");
    CHECK(ram_block_mark_dirty(rb, 4095, 2) == 0, "mark across a page edge");
    CHECK(bm && dirty_bitmap_count(bm, 0, 64) == 2 &&
              dirty_bitmap_test(bm, 0) && dirty_bitmap_test(bm, 1),
          "pages 0 and 1 dirty");
    CHECK(ram_block_mark_dirty(rb, 63 * 4096, 4096) == 0, "mark the last");
    CHECK(ram_block_mark_dirty(rb, 63 * 4096, 4097) == -ERANGE,
          "mark past the end");
    CHECK(ram_block_mark_dirty(rb, 64 * 4096, 0) == 0, "empty mark");
    CHECK(bm && dirty_bitmap_count(bm, 0, 64) == 3, "three pages dirty");
    ram_block_free(rb);
}

static void test_as_write_marks(void)
{
    struct mem_sys *sys;
    struct address_space *as;
    struct mem_region root, ram, alias;
    struct dirty_bitmap *bm;
    struct ram_block *rb;
    uint8_t buf[3 * 4096];
    uint64_t count = 0;

    memset(buf, 0xab, sizeof(buf));
    CHECK(mem_sys_new(&sys) == 0, "sys");
    CHECK(mr_init_container(&root, "root", UINT64_MAX) == 0, "root");
    CHECK(mr_init_ram(&ram, "ram", 32 * 4096) == 0, "ram");
    CHECK(mr_init_alias(&alias, "alias", &ram, 16 * 4096, 16 * 4096) == 0,
          "alias");
    CHECK(as_new(sys, "memory", &root, MR_SIZE_2_64, &as) == 0, "as");
    CHECK(mr_add_subregion(&root, 0x100000, &ram) == 0, "add ram");
    CHECK(mr_add_subregion(&root, 0x200000, &alias) == 0, "add alias");
    rb = ram_block_from_host(mr_ram_ptr(&ram, 0), NULL);
    CHECK(rb != NULL, "block of the region");
    if (!rb) {
        return;
    }
    bm = ram_block_dirty(rb);

    /* Logging off: nothing is marked. */
    CHECK(as_write(as, 0x100000, buf, 100) == 0, "write");
    CHECK(dirty_bitmap_count(bm, 0, 32) == 0, "unlogged write marked");

    /* Logging on the region: marked, also when seen through the alias. */
    CHECK(mr_set_log(&ram, true) == 0, "log on");
    CHECK(as_write(as, 0x100000 + 4000, buf, 200) == 0, "write across pages");
    CHECK(as_write(as, 0x200000 + 4096, buf, 1) == 0, "write via alias");
    CHECK(dirty_bitmap_test(bm, 0) && dirty_bitmap_test(bm, 1) &&
              dirty_bitmap_test(bm, 17) && dirty_bitmap_count(bm, 0, 32) == 3,
          "pages 0, 1 and 17 dirty, count %llu",
          (unsigned long long)dirty_bitmap_count(bm, 0, 32));
    CHECK(dirty_bitmap_test_and_clear(bm, 0, 32, NULL, &count) == 0 &&
              count == 3,
          "took %llu", (unsigned long long)count);
    /* A write that runs off the end of RAM marks what it wrote. */
    CHECK(as_write(as, 0x100000 + 31 * 4096, buf, sizeof(buf)) == -ENXIO,
          "write past RAM");
    CHECK(dirty_bitmap_count(bm, 0, 32) == 1 && dirty_bitmap_test(bm, 31),
          "last page dirty");
    CHECK(dirty_bitmap_test_and_clear(bm, 0, 32, NULL, NULL) == 0, "clear");

    /* Logging only on the alias: writes through it are marked, direct
     * writes are not. */
    CHECK(mr_set_log(&ram, false) == 0, "log off");
    CHECK(mr_set_log(&alias, true) == 0, "log alias");
    CHECK(as_write(as, 0x100000, buf, 8) == 0, "direct write");
    CHECK(as_write(as, 0x200000 + 2 * 4096, buf, 8) == 0, "alias write");
    CHECK(dirty_bitmap_count(bm, 0, 32) == 1 && dirty_bitmap_test(bm, 18),
          "only page 18 dirty");
    CHECK(dirty_bitmap_test_and_clear(bm, 0, 32, NULL, NULL) == 0, "clear");

    /* A device's writes through a host pointer (as_mark_written) mark what
     * as_write() would have: here only through the alias. */
    as_mark_written(as, 0x100000, 8);
    as_mark_written(as, 0x200000 + 3 * 4096 + 4000, 200);
    CHECK(dirty_bitmap_count(bm, 0, 32) == 2 && dirty_bitmap_test(bm, 19) &&
              dirty_bitmap_test(bm, 20),
          "device writes: pages 19 and 20, count %llu",
          (unsigned long long)dirty_bitmap_count(bm, 0, 32));
    CHECK(dirty_bitmap_test_and_clear(bm, 0, 32, NULL, NULL) == 0, "clear");
    CHECK(mr_set_log(&ram, true) == 0, "log on again");
    /* Across the end of RAM, over a hole, and up to 2^64: what is RAM. */
    as_mark_written(as, 0x100000 + 31 * 4096, 0x10000);
    as_mark_written(as, UINT64_MAX - 4095, 8192);
    as_mark_written(as, 0x100000 + 5 * 4096, 0);
    CHECK(dirty_bitmap_count(bm, 0, 32) == 1 && dirty_bitmap_test(bm, 31),
          "device writes past RAM: count %llu, want page 31",
          (unsigned long long)dirty_bitmap_count(bm, 0, 32));
    as_mark_written(as, 0x0, UINT64_MAX);
    CHECK(dirty_bitmap_count(bm, 0, 32) == 32, "a write over everything");
    CHECK(mr_set_log(&ram, false) == 0, "log off again");

    CHECK(mr_set_log(&alias, false) == 0, "log alias off");
    CHECK(mr_del_subregion(&root, &alias) == 0, "del alias");
    CHECK(mr_del_subregion(&root, &ram) == 0, "del ram");
    mem_sys_free(sys);
    CHECK(mr_destroy(&alias) == 0, "destroy alias");
    CHECK(mr_destroy(&ram) == 0, "destroy ram");
    CHECK(mr_destroy(&root) == 0, "destroy root");
}

int main(void)
{
    rcu_register_thread();
    test_range_cases();
    test_partial_clear();
    test_out_of_range();
    test_or_alignments();
    test_or_at_end();
    test_take_or_alignments();
    test_random();
    test_concurrent();
    test_ram_block_owns_bitmap();
    test_as_write_marks();
    rcu_unregister_thread();
    if (unit_failures) {
        fprintf(stderr, "test_dirty_bitmap: %u failures\n", unit_failures);
        return 1;
    }
    printf("test_dirty_bitmap: ok\n");
    return 0;
}
