/* SPDX-License-Identifier: MIT */
/*
 * FlatView: the memory-region tree rendered into a sorted array of
 * non-overlapping ranges, each naming the terminal region (RAM, ROM or I/O)
 * that answers there and the offset into it. Rendering is a pure function
 * of the tree: no syscalls, no locks, no listeners. Views are immutable
 * once built and published to readers under RCU by the address space.
 */
#ifndef MEM_FLATVIEW_H
#define MEM_FLATVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/types.h"

struct mem_region;

/*
 * One range of a view: [first, last] (inclusive, so a range may end at
 * 2^64 - 1) answered by (mr), whose byte (offset) is at (first).
 */
struct flat_range {
    gpa_t first;
    gpa_t last;
    struct mem_region *mr;
    uint64_t offset;
    /* Copies of (mr)'s kind, ops and opaque (fixed when a region is
     * initialised), so that dispatching an access to an I/O region reads
     * this range and not the region too: one cache line less per exit. */
    const struct mr_ops *ops;
    void *opaque;
    uint8_t kind; /* enum mr_kind */
    /* Guest writes are not stored (rendered through a readonly region). */
    bool readonly;
    /* Dirty logging is on for this range. */
    bool log_dirty;
    /* One cache line each: a lookup's last read is this whole range. */
} __attribute__((aligned(64)));

/* An immutable rendered view. */
struct flatview {
    size_t nr;
    struct flat_range *ranges;
    /* Lookup index, private to mem/: level 0 holds every range's first
     * address, level k+1 every 8th key of level k, up to a level of at
     * most 8 keys; each level starts on a cache line. A lookup scans one
     * 8-key block (one cache line) per level. NULL when the view was not
     * built by flatview_render(). */
    gpa_t *index;
    size_t level_off[16];
    size_t level_len[16];
    unsigned levels;
};

/*
 * Render the tree below (root), which is placed at address 0 and clipped
 * to [0, (limit)) (a limit of MR_SIZE_2_64 for the whole space), into a new
 * view in (*out). Adjacent ranges of the same region with contiguous offsets
 * and equal attributes are merged. Returns -ENOMEM, leaving (*out) alone.
 */
__attribute__((warn_unused_result)) int flatview_render(struct mem_region *root,
                                                        mr_size_t limit,
                                                        struct flatview **out);

/* Free a view returned by flatview_render(). NULL is ignored. */
void flatview_free(struct flatview *fv);

/*
 * The range containing (addr), or NULL when (addr) is unassigned. Through
 * the view's 16-ary lookup index (one 16-key block per level: O(log16 n)
 * blocks), the same search guest exits take; a binary search for views
 * that have no index.
 */
const struct flat_range *flatview_lookup(const struct flatview *fv, gpa_t addr);

/*
 * True when (a) and (b) map the same addresses to the same bytes of the
 * same region with the same write permission. The dirty-log flag is not
 * compared: a change of only that flag is a log_start/log_stop, not a
 * remap.
 */
bool flat_range_same(const struct flat_range *a, const struct flat_range *b);

/* The number of bytes in (fr), as a 128-bit value (a range may be 2^64). */
static inline mr_size_t flat_range_size(const struct flat_range *fr)
{
    return (mr_size_t)(fr->last - fr->first) + 1;
}

#endif /* MEM_FLATVIEW_H */
