/* SPDX-License-Identifier: MIT */
/*
 * What the files of mem/ share and nobody else sees: the memory system's
 * layout, address-space state, and the hooks by which a region edit marks
 * what must be re-rendered at the next commit.
 */
#ifndef MEM_INTERNAL_H
#define MEM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/listener.h"
#include "mem/region.h"

#define MEM_MAX_AS 4

#include <urcu.h>

/*
 * Every view is allocated inside this wrapper so that a published one can
 * be freed by call_rcu() without a second allocation.
 */
struct flatview_box {
    struct rcu_head rcu;
    struct flatview fv;
    /* Bytes allocated for fv.ranges (see view_array()). */
    size_t ranges_bytes;
};

struct address_space {
    char *name;
    struct mem_region *root;
    mr_size_t limit;
    struct mem_sys *sys;
    /* Current view; readers rcu_dereference() it. */
    struct flatview *current;
    struct mem_listener *listeners;
    bool dirty;
    uint64_t generation;
};

struct mem_sys {
    /* Recursive: an I/O callback run under a transaction may edit. */
    pthread_mutex_t lock;
    unsigned depth;
    /* An edit touched a region reachable from no known root: re-render
     * every address space. */
    bool all_dirty;
    unsigned nr_as;
    struct address_space *as[MEM_MAX_AS];
    /* Regions pointing here; mem_sys_free() marks (dead) and the last
     * reference frees the struct. Atomic. */
    unsigned long refs;
    bool dead;
};

/*
 * Called by every edit of (mr) with the transaction lock held: mark the
 * address spaces whose view may change.
 */
void mem_sys_mark_changed_locked(struct mem_region *mr);

/* Give (mr) and everything below it, or aliased by it, the system (sys). */
void mr_attach_sys(struct mem_region *mr, struct mem_sys *sys);

/* The box around a view, or around an RCU head. */
static inline struct flatview_box *flatview_box_of(struct flatview *fv)
{
    return (struct flatview_box *)(void *)((char *)fv -
                                           offsetof(struct flatview_box, fv));
}

static inline struct flatview_box *flatview_box_of_rcu(struct rcu_head *head)
{
    return (struct flatview_box *)(void *)((char *)head -
                                           offsetof(struct flatview_box, rcu));
}

/*
 * End a transaction that edited nothing (it only held the lock, or backed
 * out), where no listener can have failed.
 */
static inline void mem_end_unchanged(struct mem_sys *sys)
{
    int ret = mem_commit(sys);

    (void)ret;
}

/*
 * Point (*slot) (a region's sys field) at (sys), taking a reference on it
 * and dropping the one on the system it pointed at. Regions hold their
 * system this way so that one freed by mem_sys_free() stays readable (and
 * marked dead) until the last region that knew it is destroyed.
 */
void mem_sys_set(struct mem_sys **slot, struct mem_sys *sys);

/* The live system of (mr), or NULL when it has none or it was freed. */
struct mem_sys *mr_live_sys(const struct mem_region *mr);

/* Allocate an empty view (in its box) with room for (cap) ranges. */
struct flatview *flatview_alloc(size_t cap);

/*
 * Index of the first range of (fv) whose last address is at or after
 * (addr): the range holding (addr), or the next one above it (fv->nr when
 * none). Through the view's lookup index when it has one (every view
 * flatview_render() built), a binary search otherwise. Dispatch and
 * flatview_lookup() both go through here.
 */
size_t flatview_seek(const struct flatview *fv, gpa_t addr);

#endif /* MEM_INTERNAL_H */
