/* SPDX-License-Identifier: MIT */
/*
 * Dirty page bitmaps (see mem/dirty.h). Every word is only touched with
 * __atomic builtins; read-modify-writes are skipped when a plain load
 * shows they would change nothing, which keeps the common cases (folding
 * a mostly clean KVM bitmap, scanning a mostly clean range) at one load
 * per word.
 */
#include <errno.h>
#include <stdlib.h>

#include "mem/dirty.h"

struct dirty_bitmap {
    uint64_t nr_pages;
    uint64_t nr_words;
    uint64_t words[];
};

/* Bits [lo, hi) of a word, 0 <= lo < hi <= 64. */
static uint64_t bits_between(unsigned lo, unsigned hi)
{
    uint64_t upto = hi >= 64 ? UINT64_MAX : (UINT64_C(1) << hi) - 1;

    return upto & ~((UINT64_C(1) << lo) - 1);
}

static bool range_ok(const struct dirty_bitmap *bm, uint64_t first, uint64_t nr)
{
    return first <= bm->nr_pages && nr <= bm->nr_pages - first;
}

/* Set (mask) in (*w) unless it is set already. */
static void word_or(uint64_t *w, uint64_t mask)
{
    if ((__atomic_load_n(w, __ATOMIC_RELAXED) & mask) != mask) {
        __atomic_fetch_or(w, mask, __ATOMIC_RELEASE);
    }
}

int dirty_bitmap_new(uint64_t nr_pages, struct dirty_bitmap **out)
{
    uint64_t nr_words = DIRTY_WORDS(nr_pages);
    struct dirty_bitmap *bm;

    if (nr_words > (SIZE_MAX - sizeof(*bm)) / sizeof(uint64_t)) {
        return -ENOMEM;
    }
    bm = calloc(1, sizeof(*bm) + (size_t)nr_words * sizeof(uint64_t));
    if (!bm) {
        return -ENOMEM;
    }
    bm->nr_pages = nr_pages;
    bm->nr_words = nr_words;
    *out = bm;
    return 0;
}

void dirty_bitmap_free(struct dirty_bitmap *bm)
{
    free(bm);
}

uint64_t dirty_bitmap_nr_pages(const struct dirty_bitmap *bm)
{
    return bm->nr_pages;
}

int dirty_bitmap_set(struct dirty_bitmap *bm, uint64_t first, uint64_t nr)
{
    uint64_t end, w, last_w;

    if (!range_ok(bm, first, nr)) {
        return -ERANGE;
    }
    if (nr == 0) {
        return 0;
    }
    end = first + nr;
    last_w = (end - 1) / 64;
    for (w = first / 64; w <= last_w; w++) {
        unsigned lo = w == first / 64 ? (unsigned)(first % 64) : 0;
        unsigned hi = w == last_w ? (unsigned)((end - 1) % 64) + 1 : 64;

        word_or(&bm->words[w], bits_between(lo, hi));
    }
    return 0;
}

int dirty_bitmap_or(struct dirty_bitmap *bm, uint64_t first,
                    const uint64_t *src, uint64_t nr)
{
    unsigned shift = (unsigned)(first % 64);
    uint64_t base = first / 64;
    uint64_t nw = DIRTY_WORDS(nr);
    uint64_t j;

    if (!range_ok(bm, first, nr)) {
        return -ERANGE;
    }
    for (j = 0; j < nw; j++) {
        uint64_t s = src[j];

        if (j == nw - 1 && nr % 64) {
            s &= (UINT64_C(1) << (nr % 64)) - 1;
        }
        if (s == 0) {
            continue;
        }
        /* The pages of (s) lie below first + nr, so both words exist. */
        word_or(&bm->words[base + j], s << shift);
        if (shift && (s >> (64 - shift))) {
            word_or(&bm->words[base + j + 1], s >> (64 - shift));
        }
    }
    return 0;
}

bool dirty_bitmap_test(const struct dirty_bitmap *bm, uint64_t page)
{
    if (page >= bm->nr_pages) {
        return false;
    }
    return (__atomic_load_n(&bm->words[page / 64], __ATOMIC_ACQUIRE) >>
            (page % 64)) &
           1;
}

uint64_t dirty_bitmap_count(const struct dirty_bitmap *bm, uint64_t first,
                            uint64_t nr)
{
    uint64_t end, w, last_w, n = 0;

    if (first >= bm->nr_pages || nr == 0) {
        return 0;
    }
    if (nr > bm->nr_pages - first) {
        nr = bm->nr_pages - first;
    }
    end = first + nr;
    last_w = (end - 1) / 64;
    for (w = first / 64; w <= last_w; w++) {
        unsigned lo = w == first / 64 ? (unsigned)(first % 64) : 0;
        unsigned hi = w == last_w ? (unsigned)((end - 1) % 64) + 1 : 64;
        uint64_t v = __atomic_load_n(&bm->words[w], __ATOMIC_RELAXED);

        n += (uint64_t)__builtin_popcountll(v & bits_between(lo, hi));
    }
    return n;
}

/* Take the bits (mask) of word (w): clear them, return those that were
 * set. One load when none is. */
static uint64_t word_take(uint64_t *w, uint64_t mask)
{
    if ((__atomic_load_n(w, __ATOMIC_RELAXED) & mask) == 0) {
        return 0;
    }
    if (mask == UINT64_MAX) {
        return __atomic_exchange_n(w, 0, __ATOMIC_ACQ_REL);
    }
    return __atomic_fetch_and(w, ~mask, __ATOMIC_ACQ_REL) & mask;
}

int dirty_bitmap_take_or(struct dirty_bitmap *bm, uint64_t first, uint64_t nr,
                         const uint64_t *src, uint64_t *out, uint64_t *count)
{
    unsigned s = (unsigned)(first % 64);
    uint64_t w0 = first / 64, nw = DIRTY_WORDS(nr), n = 0;

    if (!range_ok(bm, first, nr)) {
        return -ERANGE;
    }
    /* Word j of the result is pages [first + 64j, first + 64j + 64): bits
     * [s, 64) of bitmap word w0 + j and bits [0, s) of the next one. */
    for (uint64_t j = 0; j < nw; j++) {
        uint64_t valid = j == nw - 1 && nr % 64 ? (UINT64_C(1) << (nr % 64)) - 1
                                                : UINT64_MAX;
        uint64_t v = src ? src[j] & valid : 0;

        if (s == 0) {
            v |= word_take(&bm->words[w0 + j], valid);
        } else {
            uint64_t lo_mask = valid << s;
            uint64_t hi_mask = valid >> (64 - s);

            v |= word_take(&bm->words[w0 + j], lo_mask) >> s;
            if (hi_mask) {
                v |= word_take(&bm->words[w0 + j + 1], hi_mask) << (64 - s);
            }
        }
        if (v) {
            n += (uint64_t)__builtin_popcountll(v);
            if (out) {
                out[j] |= v;
            }
        }
    }
    if (count) {
        *count = n;
    }
    return 0;
}

int dirty_bitmap_test_and_clear(struct dirty_bitmap *bm, uint64_t first,
                                uint64_t nr, uint64_t *out, uint64_t *count)
{
    unsigned s = (unsigned)(first % 64);
    uint64_t w0 = first / 64;
    uint64_t end, w, last_w, n = 0;

    if (!range_ok(bm, first, nr)) {
        return -ERANGE;
    }
    if (nr == 0) {
        if (count) {
            *count = 0;
        }
        return 0;
    }
    end = first + nr;
    last_w = (end - 1) / 64;
    for (w = w0; w <= last_w; w++) {
        unsigned lo = w == w0 ? s : 0;
        unsigned hi = w == last_w ? (unsigned)((end - 1) % 64) + 1 : 64;
        uint64_t mask = bits_between(lo, hi);
        uint64_t *p = &bm->words[w];
        uint64_t got;

        if ((__atomic_load_n(p, __ATOMIC_RELAXED) & mask) == 0) {
            continue;
        }
        if (mask == UINT64_MAX) {
            got = __atomic_exchange_n(p, 0, __ATOMIC_ACQ_REL);
        } else {
            got = __atomic_fetch_and(p, ~mask, __ATOMIC_ACQ_REL) & mask;
        }
        n += (uint64_t)__builtin_popcountll(got);
        if (out && got) {
            /* Page 64w + b is bit 64(w - w0) + b - s of (out). */
            uint64_t j = w - w0;

            if (got >> s) {
                out[j] |= got >> s;
            }
            if (s && j > 0 && (got << (64 - s))) {
                out[j - 1] |= got << (64 - s);
            }
        }
    }
    if (count) {
        *count = n;
    }
    return 0;
}
