/* SPDX-License-Identifier: MIT */
/*
 * Memory listeners: how the rest of the VMM (KVM memslots, dirty tracking,
 * tests) learns of FlatView changes. On each commit that changes an address
 * space, every listener registered on it gets begin(), then region_del()
 * for every range of the old view that is not in the new one, then, in
 * address order, region_add() for new ranges, region_nop() for unchanged
 * ones and log_start()/log_stop() for unchanged ranges whose dirty-logging
 * flag flipped, then commit(). An unchanged range is never deleted and
 * re-added.
 */
#ifndef MEM_LISTENER_H
#define MEM_LISTENER_H

#include "mem/flatview.h"

struct address_space;

/*
 * A listener. Unused callbacks may be NULL. Callbacks run with the mem_sys
 * transaction lock held, before the new view is visible to readers, and
 * must not edit the tree. A callback that fails returns -errno: the commit
 * carries on (the view must stay consistent with the tree) and
 * mem_commit() returns the first error.
 */
struct mem_listener {
    int (*begin)(struct mem_listener *l);
    int (*commit)(struct mem_listener *l);
    int (*region_add)(struct mem_listener *l, const struct flat_range *fr);
    int (*region_del)(struct mem_listener *l, const struct flat_range *fr);
    int (*region_nop)(struct mem_listener *l, const struct flat_range *fr);
    int (*log_start)(struct mem_listener *l, const struct flat_range *fr);
    int (*log_stop)(struct mem_listener *l, const struct flat_range *fr);
    /* Private to mem/. */
    struct mem_listener *next_;
};

#endif /* MEM_LISTENER_H */
