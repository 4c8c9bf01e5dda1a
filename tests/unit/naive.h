/* SPDX-License-Identifier: MIT */
/*
 * A deliberately naive model of what a memory-region tree maps at one
 * address, used as the oracle of the randomized render tests. It reads the
 * fields of struct mem_region directly and shares no code with mem/: a
 * point query walks the tree from the root, trying children in their
 * stored (visibility) order before the region itself, so that each rule of
 * docs/devel/memory.rst is one line here.
 */
#ifndef TESTS_UNIT_NAIVE_H
#define TESTS_UNIT_NAIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"
#include "mem/types.h"

/* What answers at one address. */
struct naive_hit {
    /* The terminal region (RAM, ROM or I/O), or NULL when unassigned. */
    const struct mem_region *mr;
    /* The byte of (mr) that answers. */
    uint64_t offset;
    /* Some region on the path (an alias, a container, the terminal) is
     * readonly. */
    bool readonly;
    /* Some region on the path logs dirty pages. */
    bool log_dirty;
};

/*
 * Resolve (addr) in the tree below (root), placed at 0 and clipped to
 * [0, (limit)), into (*hit). Returns true when a region answers; otherwise
 * (*hit) is all zero. Aborts on a cycle (which mr_add_subregion() must
 * refuse).
 */
bool naive_resolve(const struct mem_region *root, mr_size_t limit, gpa_t addr,
                   struct naive_hit *hit);

/*
 * Store in (out) (room for (max)) the absolute start and end (exclusive,
 * up to 2^64) of every window through which some enabled region of the tree
 * is visible before priorities are applied. Every boundary of the rendered
 * view is one of these, so between two consecutive points both the naive
 * answer and the rendered one advance linearly. Returns how many points
 * there are, which may exceed (max) (only (max) are stored).
 */
size_t naive_breakpoints(const struct mem_region *root, mr_size_t limit,
                         mr_size_t *out, size_t max);

/*
 * True when (mr) can reach (target) by following subregion and alias
 * links, (mr) == (target) included: adding (mr) below (target) would then
 * make a cycle.
 */
bool naive_reaches(const struct mem_region *mr,
                   const struct mem_region *target);

#endif /* TESTS_UNIT_NAIVE_H */
