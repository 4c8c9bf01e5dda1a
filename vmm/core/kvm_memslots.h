/* SPDX-License-Identifier: MIT */
/*
 * The KVM memslot listener: turns the RAM and ROM ranges of the "memory"
 * FlatView into KVM_SET_USER_MEMORY_REGION slots. Ranges are trimmed to
 * whole pages (the trimmed edges are left to MMIO exits, which the memory
 * API serves); ROM and readonly ranges become KVM_MEM_READONLY slots, whose
 * guest writes exit as MMIO; logged ranges get KVM_MEM_LOG_DIRTY_PAGES.
 * Slot numbers come from a free list; an unchanged range keeps its slot.
 * Before the first slot of a commit is deleted, the vCPUs are parked
 * through the callbacks given at init, and released at the commit's end.
 */
#ifndef VMM_KVM_MEMSLOTS_H
#define VMM_KVM_MEMSLOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/listener.h"
#include "mem/types.h"

struct mem_region;

/* One KVM slot as we set it. */
struct kvm_slot {
    bool used;
    uint32_t flags;
    gpa_t gpa;
    uint64_t size;
    hva_t hva;
    const struct mem_region *mr;
    uint64_t offset;
};

/*
 * Told about slots with KVM_MEM_LOG_DIRTY_PAGES (see kvm_memslots.log_hook):
 * (logging) true once slot (id) is set with the flag (created with it, or
 * given it); false just before it is deleted or loses the flag, with the
 * vCPUs parked, so that the hook can harvest the slot's last dirty pages
 * while KVM still has them. Called with the mem_sys transaction lock held.
 * Returns 0 or -errno (the commit reports it and carries on).
 */
typedef int (*kvm_memslots_log_fn)(void *opaque, int id,
                                   const struct kvm_slot *sl, bool logging);

struct kvm_memslots {
    struct mem_listener listener;
    int vm_fd;
    int nr_slots;
    struct kvm_slot *slots;
    int *free;
    int nr_free;
    int next_unused;
    uint64_t page_size;
    /* Park and release the vCPUs around a deletion. */
    void (*park)(void *opaque);
    void (*unpark)(void *opaque);
    void *park_opaque;
    bool parked;
    /* Dirty logging (vmm/core/dirty_log.c); NULL when nobody harvests. Set and
     * cleared only with the mem_sys transaction lock held. */
    kvm_memslots_log_fn log_hook;
    void *log_opaque;
    /* Trackers made on this VM so far, and the first one's mode (owned
     * by vmm/core/dirty_log.c: a VM keeps one way of logging for its life). */
    int log_trackers;
    int log_tracker_mode;
    /* Counters, for dumps and tests. */
    uint64_t nr_set_calls;
};

/*
 * Prepare (s) for (vm_fd) with at most (nr_slots) slots. The callbacks may
 * be NULL (no vCPUs yet). Register s->listener on the "memory" space with
 * as_listener_register() afterwards.
 */
__attribute__((warn_unused_result)) int
kvm_memslots_init(struct kvm_memslots *s, int vm_fd, int nr_slots,
                  void (*park)(void *), void (*unpark)(void *), void *opaque);

/* Free the table (the VM fd's slots go with the VM). */
void kvm_memslots_destroy(struct kvm_memslots *s);

/* Number of slots in use. */
int kvm_memslots_count(const struct kvm_memslots *s);

/* Print the slot table: "slot N: gpa-last hva flags region+offset". */
void kvm_memslots_dump(const struct kvm_memslots *s, FILE *f);

/* The slot table as a JSON array. */
void kvm_memslots_dump_json(const struct kvm_memslots *s, FILE *f);

#endif /* VMM_KVM_MEMSLOTS_H */
