/* SPDX-License-Identifier: MIT */
/*
 * Dirty-log tracking: pulls what KVM recorded of the guest's writes into
 * the RAMBlocks' dirty bitmaps (mem/dirty.h), in one of KVM's three ways,
 * one per VM (KVM refuses the bitmap ioctls on a VM with a dirty ring):
 *
 *   bitmap  KVM_GET_DIRTY_LOG per slot; KVM clears its bitmap and
 *           write-protects the pages it returns.
 *   clear   KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (with
 *           KVM_DIRTY_LOG_INITIALLY_SET where offered, so that starting to
 *           log protects nothing and the first sync reports every page):
 *           KVM_GET_DIRTY_LOG only copies, then KVM_CLEAR_DIRTY_LOG
 *           re-protects the pages found, a chunk at a time.
 *   ring    a ring of dirty GFNs per vCPU (KVM_CAP_DIRTY_LOG_RING_ACQ_REL
 *           where offered, else KVM_CAP_DIRTY_LOG_RING), mapped from the
 *           vCPU fds; entries are collected in order with acquire loads
 *           of their flags, handed back with release stores, and
 *           KVM_RESET_DIRTY_RINGS re-protects their pages. A vCPU whose
 *           ring fills exits with KVM_EXIT_DIRTY_RING_FULL; its thread
 *           calls dirty_log_ring_full() and enters again.
 *
 * Which memory logs is the memory API's business: mr_set_log() makes the
 * memslot listener set KVM_MEM_LOG_DIRTY_PAGES on the region's slots, and
 * the listener's log hook tells this module, which keeps its own table of
 * logging slots (slot id -> RAMBlock and first page) so that a sync never
 * reads the listener's state. Before a logging slot is deleted (a region
 * moves or goes) or stops logging, the listener parks the vCPUs and the
 * hook harvests the slot: a page written while logging was on reaches the
 * RAMBlock bitmap whatever the map does.
 *
 * Threads: dirty_log_sync() runs on any thread, dirty_log_ring_full() on
 * vCPU threads, the hook under the mem_sys transaction lock. One mutex,
 * the harvest lock, serialises them. Lock order: the transaction lock,
 * then the harvest lock, then the RAMBlock registry lock; the harvest lock
 * is never held while parking vCPUs or taking the transaction lock.
 */
#ifndef VMM_DIRTY_LOG_H
#define VMM_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dirty_log;
struct kvm_memslots;
struct mem_sys;
struct ram_block;

enum dirty_log_mode {
    DIRTY_LOG_BITMAP,
    DIRTY_LOG_CLEAR,
    DIRTY_LOG_RING,
};

struct dirty_log_opts {
    enum dirty_log_mode mode;
    /*
     * CLEAR: bytes of guest memory per KVM_CLEAR_DIRTY_LOG, rounded down
     * to a multiple of 64 pages (at least 64), as KVM wants chunks to
     * start at a multiple of 64 pages and to be one unless they end at
     * the slot's end; 0 clears a whole slot per call.
     */
    uint64_t clear_chunk;
    /* RING: entries per ring, as given to dirty_log_enable_ring(), and
     * the vCPU fds whose rings to map (vCPU i is index i). */
    uint32_t ring_entries;
    const int *vcpu_fds;
    int nr_vcpus;
};

/* Counters since dirty_log_new(), for reports and tests. */
struct dirty_log_stats {
    uint64_t syncs;
    uint64_t get_calls;
    uint64_t clear_calls;
    uint64_t ring_full;
    uint64_t ring_collected;
    uint64_t resets;
    /* Slots harvested because they were deleted or stopped logging. */
    uint64_t flushes;
    /* Ring entries that named no logging slot (should stay 0). */
    uint64_t stray;
    /* CLEAR: KVM_DIRTY_LOG_INITIALLY_SET is in use. */
    bool initially_set;
};

/*
 * Turn on the dirty ring of (entries) entries per vCPU (a power of two)
 * on (vm_fd), which must have no vCPU yet: KVM_CAP_DIRTY_LOG_RING_ACQ_REL
 * where KVM offers it, else KVM_CAP_DIRTY_LOG_RING. (*acq_rel) (if not
 * NULL) says which. Returns 0, -EINVAL for a bad size or when KVM refuses
 * it (too small for its reserved entries, or vCPUs exist), -E2BIG beyond
 * the largest ring KVM offers, -EOPNOTSUPP without dirty rings.
 */
__attribute__((warn_unused_result)) int
dirty_log_enable_ring(int vm_fd, uint32_t entries, bool *acq_rel);

/*
 * Pages per KVM_CLEAR_DIRTY_LOG for a --clear-chunk of (bytes): rounded
 * down to a multiple of 64 pages, at least 64; 0 (whole slots) for 0.
 */
uint64_t dirty_log_clear_pages(uint64_t bytes);

/*
 * KVM_CLEAR_DIRTY_LOG on slot (slot) of (npages) pages of (vm_fd) for the
 * pages set in (bitmap) (DIRTY_WORDS(npages) words), (chunk_pages) at a
 * time (from dirty_log_clear_pages(); 0: the whole slot), skipping chunks
 * with no page set. Chunks start at multiples of 64 pages and are whole
 * multiples of 64 pages except the last, which ends at the slot's end, as
 * KVM requires. Adds the ioctls made to (*calls). Returns 0 or the first
 * failing ioctl's -errno (later chunks are still cleared).
 */
int dirty_log_clear_slot(int vm_fd, uint32_t slot, const uint64_t *bitmap,
                         uint64_t npages, uint64_t chunk_pages,
                         uint64_t *calls);

/* The fewest entries KVM takes for a ring: one 4 KiB page of them. */
#define DIRTY_RING_MIN_ENTRIES 256u

/* The most entries per ring (vm_fd) offers, or -EOPNOTSUPP. */
int dirty_log_ring_max_entries(int vm_fd);

/**
 * dirty_log_new: start tracking for a VM.
 * @vm_fd: the VM
 * @sys: the memory system whose transaction lock guards @slots
 * @slots: the memslot listener of @sys's "memory" space; its log hook is
 *         taken over (and every slot already logging is tracked at once)
 * @o: the mode and its parameters; a RING VM must have had
 *     dirty_log_enable_ring() with o->ring_entries
 * @out: receives the tracker
 * @why: on failure, one line naming what failed and why
 * @whylen: size of @why
 *
 * CLEAR enables KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on the VM; RING maps
 * every vCPU's ring. Start logging afterwards (mr_set_log()). Returns 0 or
 * -errno (-EOPNOTSUPP when KVM lacks the mode).
 */
__attribute__((warn_unused_result)) int
dirty_log_new(int vm_fd, struct mem_sys *sys, struct kvm_memslots *slots,
              const struct dirty_log_opts *o, struct dirty_log **out, char *why,
              size_t whylen);

/*
 * Stop tracking: give back the log hook and unmap the rings. Stop logging
 * (and sync) first, or the pages written since the last sync stay in KVM.
 * No vCPU may be in dirty_log_ring_full() any more. NULL is ignored.
 */
void dirty_log_free(struct dirty_log *dl);

/*
 * Pull everything KVM has recorded for every logging slot into the
 * RAMBlock bitmaps and re-arm tracking for those pages. Afterwards every
 * page the guest wrote before the call is dirty in its RAMBlock's bitmap
 * (or was taken from it by a consumer). Pages reach the bitmaps only
 * once KVM has re-protected them, so a write after a consumer took a page
 * is always logged again. Any thread. Returns 0 or the first failing
 * ioctl's -errno (the other slots are still synced).
 *
 * Ring mode reads what the vCPUs have pushed into their rings. On hosts
 * with PML, a running vCPU may hold up to 512 addresses in its PML buffer
 * until its next exit (GET_DIRTY_LOG kicks the vCPUs itself; the ring
 * path does not): a final sync, after which nothing may be missing, needs
 * the vCPUs out of the guest (parked, or stopped), as the slot flush and
 * `vmm bench dirty-log`'s full harvest have them.
 */
__attribute__((warn_unused_result)) int dirty_log_sync(struct dirty_log *dl);

/**
 * dirty_log_sync_take: sync, and take the dirty pages of a RAMBlock range.
 * @dl: the tracker
 * @rb: the RAMBlock
 * @first: first page of the range in @rb
 * @nr: pages in the range
 * @out: as for dirty_bitmap_test_and_clear() (bit i: page @first + i)
 * @count: receives the number of pages taken (may be NULL)
 *
 * The result of dirty_log_sync() followed by dirty_bitmap_test_and_clear()
 * of the range in @rb's bitmap, for a consumer that takes whole ranges (a
 * harvester, a migration pass): KVM's pages of slots inside the range go
 * to @out in the same pass instead of being set in the RAMBlock bitmap
 * and taken out again, so a clean bitmap word costs one load and no
 * atomic operation. What the bitmap already held (VMM writes, harvests of
 * slots that went, full rings) is taken too; pages outside the range are
 * folded as dirty_log_sync() does. Returns 0, -ERANGE when the range leaves
 * the block (nothing is done), or the first failing ioctl's -errno (what
 * could be pulled is still taken and counted).
 */
__attribute__((warn_unused_result)) int
dirty_log_sync_take(struct dirty_log *dl, struct ram_block *rb, uint64_t first,
                    uint64_t nr, uint64_t *out, uint64_t *count);

/*
 * On the thread of vCPU (vcpu) after KVM_EXIT_DIRTY_RING_FULL: collect
 * its ring into the RAMBlock bitmaps and reset the rings, so that it can
 * enter again. Returns 0, -EINVAL when (dl) is not in ring mode or (vcpu)
 * has no ring, or the reset's -errno.
 */
__attribute__((warn_unused_result)) int
dirty_log_ring_full(struct dirty_log *dl, int vcpu);

/* A snapshot of the counters. */
void dirty_log_get_stats(struct dirty_log *dl, struct dirty_log_stats *st);

/* "bitmap", "clear" or "ring". */
const char *dirty_log_mode_name(enum dirty_log_mode mode);

/* Parse a mode name into (*out). Returns 0, or -EINVAL with *out untouched. */
__attribute__((warn_unused_result)) int
dirty_log_mode_from_name(const char *s, enum dirty_log_mode *out);

#endif /* VMM_DIRTY_LOG_H */
