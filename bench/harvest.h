/* SPDX-License-Identifier: MIT */
/*
 * Harvesters, as `vmm bench dirty-log` measures them: something that
 * starts dirty logging on the guest's RAM, and then, on demand, hands the
 * benchmark every page written since the previous harvest. Two exist:
 *
 *   harvest_ours_new(): the VMM's own stack: mr_set_log() through the
 *     memory API and the memslot listener, and dirty_log_sync_take() of
 *     the whole RAMBlock (the tracker's slot table, the RAMBlock bitmap's
 *     own pages, KVM's pages merged in one pass);
 *   harvest_raw_new(): the baseline: the same KVM calls issued directly on
 *     the VM fd (KVM_SET_USER_MEMORY_REGION on the RAM slots, GET/CLEAR
 *     or the rings), with plain buffers instead of the memory API,
 *     listeners or RAMBlock bitmaps.
 *
 * The benchmark's thread calls enable, harvest and disable; vCPU threads
 * call ring_full. A harvester may only be freed once no vCPU can call
 * ring_full any more.
 */
#ifndef VMM_HARVEST_H
#define VMM_HARVEST_H

#include <stddef.h>
#include <stdint.h>

#include "dirty_log.h"

struct harvester;
struct machine_ctl;

struct harvester_ops {
    /* Start logging on the guest's RAM. */
    int (*enable)(struct harvester *h, char *why, size_t whylen);
    /*
     * Every page written since the previous harvest: its bit (a page index
     * in the RAM region's RAMBlock) is OR-ed into (acc), and (*pages)
     * counts what this harvest took.
     */
    int (*harvest)(struct harvester *h, uint64_t *acc, uint64_t *pages);
    /* On vCPU (vcpu)'s thread after KVM_EXIT_DIRTY_RING_FULL. */
    int (*ring_full)(struct harvester *h, int vcpu);
    /* Stop logging (the benchmark has harvested what it needs). */
    int (*disable)(struct harvester *h);
    void (*free)(struct harvester *h);
};

struct harvester {
    const struct harvester_ops *ops;
};

/* Parameters both kinds take. */
struct harvest_params {
    enum dirty_log_mode mode;
    uint64_t clear_chunk;
    uint32_t ring_entries;
};

/*
 * The VMM's own harvester for the machine of (ctl). Returns 0 or -errno
 * with (why) set.
 */
__attribute__((warn_unused_result)) int
harvest_ours_new(const struct machine_ctl *ctl, const struct harvest_params *p,
                 struct harvester **out, char *why, size_t whylen);

/*
 * The raw baseline for the machine of (ctl): takes the RAM region's slots
 * from the memslot table once, then never looks at the memory API again.
 */
__attribute__((warn_unused_result)) int
harvest_raw_new(const struct machine_ctl *ctl, const struct harvest_params *p,
                struct harvester **out, char *why, size_t whylen);

/* Pages in the RAM region's RAMBlock: the size of (acc) in bits. */
uint64_t harvest_block_pages(const struct machine_ctl *ctl);

#endif /* VMM_HARVEST_H */
