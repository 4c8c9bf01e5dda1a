/* SPDX-License-Identifier: MIT */
/*
 * The naive resolver (see naive.h). Addresses are unsigned 128-bit so that
 * no sum can wrap; alias bases are signed 128-bit because a target's start
 * may lie below 0 in absolute terms.
 */
#include "naive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any tree the tests build; reaching it means a cycle. */
#define NAIVE_MAX_DEPTH 256

static void naive_depth_check(unsigned depth)
{
    if (depth > NAIVE_MAX_DEPTH) {
        fprintf(stderr, "naive: tree deeper than %d: cycle?\n",
                NAIVE_MAX_DEPTH);
        abort();
    }
}

/*
 * Who answers at byte (rel) of (mr), reached with (ro) and (log) inherited
 * from the regions above it.
 */
static bool naive_visit(const struct mem_region *mr, mr_size_t rel, bool ro,
                        bool log, unsigned depth, struct naive_hit *hit)
{
    naive_depth_check(depth);

    /* A disabled region hides itself and everything below it. */
    if (!mr->enabled) {
        return false;
    }
    /* Outside the region (this is also where clipping happens). */
    if (rel >= mr->size) {
        return false;
    }
    ro = ro || mr->readonly;
    log = log || mr->log_dirty;

    /* An alias shows its target's byte (rel + alias_offset); the target's
     * own address does not matter. */
    if (mr->kind == MR_ALIAS) {
        return naive_visit(mr->alias, rel + mr->alias_offset, ro, log,
                           depth + 1, hit);
    }

    /* Children in stored order: highest priority first, and among equal
     * priorities the one added last first. The first one that answers
     * wins; one that does not (hole, disabled) lets the next show. */
    for (uint32_t i = 0; i < mr->nr_kids; i++) {
        const struct mem_region *c = mr->kids[i].mr;

        if (rel < c->addr) {
            continue;
        }
        if (naive_visit(c, rel - c->addr, ro, log, depth + 1, hit)) {
            return true;
        }
    }

    /* A container is transparent where no child answers. */
    if (mr->kind == MR_CONTAINER) {
        return false;
    }
    hit->mr = mr;
    hit->offset = (uint64_t)rel;
    hit->readonly = ro;
    hit->log_dirty = log;
    return true;
}

bool naive_resolve(const struct mem_region *root, mr_size_t limit, gpa_t addr,
                   struct naive_hit *hit)
{
    memset(hit, 0, sizeof(*hit));
    if ((mr_size_t)addr >= limit) {
        return false;
    }
    /* The root is placed at 0 whatever its own address. */
    if (!naive_visit(root, addr, false, false, 0, hit)) {
        memset(hit, 0, sizeof(*hit));
        return false;
    }
    return true;
}

struct naive_points {
    mr_size_t *out;
    size_t max;
    size_t nr;
};

static void naive_point_add(struct naive_points *p, __int128 v)
{
    if (p->nr < p->max) {
        p->out[p->nr] = (mr_size_t)v;
    }
    p->nr++;
}

/*
 * Record the window of (mr), whose byte 0 is at absolute (base), clipped to
 * [lo, hi), and recurse.
 */
static void naive_collect(const struct mem_region *mr, __int128 base,
                          __int128 lo, __int128 hi, unsigned depth,
                          struct naive_points *p)
{
    __int128 start = base;
    __int128 end = base + (__int128)mr->size;

    naive_depth_check(depth);
    if (!mr->enabled) {
        return;
    }
    if (start < lo) {
        start = lo;
    }
    if (end > hi) {
        end = hi;
    }
    if (start >= end) {
        return;
    }
    naive_point_add(p, start);
    naive_point_add(p, end);

    if (mr->kind == MR_ALIAS) {
        naive_collect(mr->alias, base - (__int128)mr->alias_offset, start, end,
                      depth + 1, p);
        return;
    }
    for (uint32_t i = 0; i < mr->nr_kids; i++) {
        const struct mem_region *c = mr->kids[i].mr;

        naive_collect(c, base + (__int128)c->addr, start, end, depth + 1, p);
    }
}

size_t naive_breakpoints(const struct mem_region *root, mr_size_t limit,
                         mr_size_t *out, size_t max)
{
    struct naive_points p = {.out = out, .max = max, .nr = 0};

    naive_collect(root, 0, 0, (__int128)limit, 0, &p);
    return p.nr;
}

static bool naive_reaches_depth(const struct mem_region *mr,
                                const struct mem_region *target, unsigned depth)
{
    naive_depth_check(depth);
    if (mr == target) {
        return true;
    }
    if (mr->kind == MR_ALIAS && mr->alias &&
        naive_reaches_depth(mr->alias, target, depth + 1)) {
        return true;
    }
    for (uint32_t i = 0; i < mr->nr_kids; i++) {
        const struct mem_region *c = mr->kids[i].mr;

        if (naive_reaches_depth(c, target, depth + 1)) {
            return true;
        }
    }
    return false;
}

bool naive_reaches(const struct mem_region *mr, const struct mem_region *target)
{
    return naive_reaches_depth(mr, target, 0);
}
