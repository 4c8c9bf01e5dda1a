/* SPDX-License-Identifier: MIT */
/*
 * Dirty page bitmaps: one bit per 4 KiB page (KVM's dirty-log granule,
 * whatever page size backs the memory), as each RAMBlock keeps for its
 * maximum length. Setters are the dirty-log sync (folding what KVM
 * reports) and VMM writes through the memory API; a consumer (a benchmark,
 * later migration) takes pages out with dirty_bitmap_test_and_clear().
 *
 * Threads: every operation is atomic per 64-bit word, and may run on any
 * thread at the same time as any other. A bit set while a test-and-clear
 * runs is either returned by it or left set for the next one; it is never
 * lost. Sets are release operations and test-and-clear acquires, so a
 * consumer that sees a page dirty also sees the writes that made it so.
 */
#ifndef MEM_DIRTY_H
#define MEM_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

struct dirty_bitmap;

/* Pages are tracked at this granule. */
#define DIRTY_PAGE_SHIFT 12
#define DIRTY_PAGE_SIZE (UINT64_C(1) << DIRTY_PAGE_SHIFT)

/* 64-bit words for (nr_pages) bits, as callers size their own buffers. */
#define DIRTY_WORDS(nr_pages) (((nr_pages) + 63) / 64)

/*
 * Allocate a clean bitmap of (nr_pages) pages (may be 0) in (*out).
 * Returns 0 or -ENOMEM, leaving (*out) alone.
 */
__attribute__((warn_unused_result)) int
dirty_bitmap_new(uint64_t nr_pages, struct dirty_bitmap **out);

/* Free (bm); NULL is ignored. Nobody may use it any more. */
void dirty_bitmap_free(struct dirty_bitmap *bm);

/* The number of pages (bm) covers. */
uint64_t dirty_bitmap_nr_pages(const struct dirty_bitmap *bm);

/*
 * Mark pages [first, first + nr) dirty. -ERANGE, changing nothing, when
 * the range leaves the bitmap; nr == 0 is a no-op.
 */
__attribute__((warn_unused_result)) int
dirty_bitmap_set(struct dirty_bitmap *bm, uint64_t first, uint64_t nr);

/*
 * Mark page first + i dirty for every bit i (i < nr) set in (src), a
 * bitmap in KVM's layout (bit i is bit i % 64 of 64-bit word i / 64).
 * (first) need not be a multiple of 64; bits of (src) at or beyond (nr)
 * are ignored. Words of (src) that are zero cost no atomic operation.
 * -ERANGE, changing nothing, when the range leaves the bitmap.
 */
__attribute__((warn_unused_result)) int dirty_bitmap_or(struct dirty_bitmap *bm,
                                                        uint64_t first,
                                                        const uint64_t *src,
                                                        uint64_t nr);

/* True when (page) is dirty; false for pages beyond the bitmap. */
bool dirty_bitmap_test(const struct dirty_bitmap *bm, uint64_t page);

/*
 * The number of dirty pages in [first, first + nr), clipped to the
 * bitmap. A snapshot: concurrent setters may change it at once.
 */
uint64_t dirty_bitmap_count(const struct dirty_bitmap *bm, uint64_t first,
                            uint64_t nr);

/**
 * dirty_bitmap_test_and_clear: take the dirty pages of a range.
 * @bm: the bitmap
 * @first: first page of the range (any alignment)
 * @nr: pages in the range
 * @out: NULL, or a bitmap of at least DIRTY_WORDS(@nr) words in which bit
 *       i is set for every page @first + i that was dirty (set bits are
 *       OR-ed in; no other bit is changed)
 * @count: receives the number of pages taken (may be NULL)
 *
 * Each dirty page of the range is cleared and reported exactly once, even
 * with concurrent setters. Returns 0, or -ERANGE when the range leaves the
 * bitmap (nothing is cleared, *count and @out are untouched).
 */
__attribute__((warn_unused_result)) int
dirty_bitmap_test_and_clear(struct dirty_bitmap *bm, uint64_t first,
                            uint64_t nr, uint64_t *out, uint64_t *count);

/**
 * dirty_bitmap_take_or: take a range together with pages from elsewhere.
 * @bm: the bitmap
 * @first: first page of the range (any alignment)
 * @nr: pages in the range
 * @src: NULL, or a bitmap of DIRTY_WORDS(@nr) words whose bit i marks
 *       page @first + i dirty as well (KVM's latest pages, say)
 * @out: as for dirty_bitmap_test_and_clear() (may be NULL)
 * @count: receives the number of pages in the union (may be NULL)
 *
 * The result of dirty_bitmap_or(@bm, @first, @src, @nr) followed by
 * dirty_bitmap_test_and_clear(@bm, @first, @nr, @out, @count), but the
 * pages of @src never pass through @bm: a word of @bm that is clean costs
 * one load and no atomic operation. Returns 0, or -ERANGE when the range
 * leaves the bitmap (nothing is changed).
 */
__attribute__((warn_unused_result)) int
dirty_bitmap_take_or(struct dirty_bitmap *bm, uint64_t first, uint64_t nr,
                     const uint64_t *src, uint64_t *out, uint64_t *count);

#endif /* MEM_DIRTY_H */
