/* SPDX-License-Identifier: MIT */
/*
 * Address spaces and the memory system that owns them: transactions,
 * publication of FlatViews under RCU (liburcu, memb flavour), listeners,
 * and dispatch of accesses (lookup in the current view, then memory copy
 * or the owning region's ops).
 *
 * Threads: every thread that dispatches (as_read(), as_write(), as_access())
 * must be registered with liburcu (rcu_register_thread()). Dispatch takes
 * no lock: it reads the current view under rcu_read_lock(). Tree edits and
 * commits are serialised by the mem_sys transaction lock (recursive, so
 * an I/O callback may edit the map).
 */
#ifndef MEM_ADDRESS_SPACE_H
#define MEM_ADDRESS_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/flatview.h"
#include "mem/types.h"

struct mem_region;
struct mem_listener;
struct mem_sys;
struct address_space;

/* Create an empty memory system in (*out). -ENOMEM on failure. */
__attribute__((warn_unused_result)) int mem_sys_new(struct mem_sys **out);

/*
 * Free (sys) and its address spaces after waiting for readers. The regions
 * are the caller's; detach and destroy them afterwards. NULL is ignored.
 */
void mem_sys_free(struct mem_sys *sys);

/*
 * Create the address space (name) in (sys) with (root) as its root region,
 * placed at 0 and clipped to (limit) bytes (MR_SIZE_2_64 for 2^64; the
 * "io" space uses 0x10000). Renders and publishes its first view.
 */
__attribute__((warn_unused_result)) int
as_new(struct mem_sys *sys, const char *name, struct mem_region *root,
       mr_size_t limit, struct address_space **out);

/* The address space's name. */
const char *as_name(const struct address_space *as);

/* The address space's root region. */
struct mem_region *as_root(const struct address_space *as);

/*
 * Begin a transaction on (sys). Transactions nest; edits inside them are
 * published together by the outermost mem_commit(). Takes the transaction
 * lock until the matching commit.
 */
void mem_begin(struct mem_sys *sys);

/*
 * End a transaction. The outermost commit re-renders every address space
 * that an edit touched, once, calls the listeners with the difference and
 * publishes the new view with rcu_assign_pointer(); the old view is freed
 * by call_rcu(). Returns 0, or the first -errno a listener returned.
 */
__attribute__((warn_unused_result)) int mem_commit(struct mem_sys *sys);

/* Wait until no reader can still see a view published before the call. */
void mem_sys_synchronize(struct mem_sys *sys);

/*
 * Register (l) on (as): it gets begin, region_add (and log_start for logged
 * ranges) for the current view, commit, then every later change. Returns
 * the first error of those callbacks (the listener stays registered).
 */
__attribute__((warn_unused_result)) int
as_listener_register(struct address_space *as, struct mem_listener *l);

/* Unregister (l); it gets region_del for every current range first. */
void as_listener_unregister(struct address_space *as, struct mem_listener *l);

/*
 * Count of commits that published a new view of (as) (for tests and dumps).
 */
uint64_t as_generation(const struct address_space *as);

/*
 * Call (fn) with the current view of (as) under rcu_read_lock(). The view
 * must not be kept after (fn) returns.
 */
void as_with_view(struct address_space *as,
                  void (*fn)(const struct flatview *fv, void *arg), void *arg);

/*
 * Copy the current view of (as) into (*out), for inspection; free it with
 * flatview_free(). -ENOMEM on failure.
 */
__attribute__((warn_unused_result)) int as_view_copy(struct address_space *as,
                                                     struct flatview **out);

/*
 * Read (len) bytes at (addr) of (as) into (buf). RAM and ROM are copied;
 * I/O ranges are accessed through their ops in the largest sizes that the
 * ops' valid sizes and alignment allow. Ranges are split at boundaries.
 * Unassigned bytes read as 0xff; bytes past 2^64 are unassigned (an
 * access never wraps to address 0). Returns 0, -ENXIO if any byte was
 * unassigned, or -EINVAL if some part was an access the ops do not allow
 * (those bytes read as 0xff); every other byte is still read.
 */
__attribute__((warn_unused_result)) int
as_read(struct address_space *as, gpa_t addr, void *buf, size_t len);

/*
 * Write (len) bytes from (buf) at (addr) of (as), split like as_read().
 * Writes to unassigned addresses are dropped (-ENXIO); writes to readonly
 * RAM and to ROM without a write op are dropped (-EROFS); ROM with a write
 * op gets the write. Every other byte is still written. Bytes written to
 * RAM where dirty logging is on (mr_set_log() on the region or a region
 * it is seen through) mark their pages dirty in the RAMBlock's bitmap
 * (ram_block_dirty()); with logging off nothing is marked, so a consumer
 * that starts logging sees the writes made from then on.
 */
__attribute__((warn_unused_result)) int
as_write(struct address_space *as, gpa_t addr, const void *buf, size_t len);

/*
 * The VMM wrote guest RAM [addr, addr + len) of (as) through a host
 * pointer (mr_ram_ptr()), as a device's DMA does: mark what as_write()
 * would have marked, the pages of RAM ranges where dirty logging is on.
 * Bytes that are not RAM, or past 2^64, are ignored. Call it after the
 * bytes are in place. Never fails.
 */
void as_mark_written(struct address_space *as, gpa_t addr, uint64_t len);

/*
 * One guest access of (len) bytes (1, 2, 4 or 8, as a vCPU exit reports)
 * at (addr): for an I/O region the whole access is checked against the
 * ops' valid sizes and alignment and then adapted to its impl sizes, rather
 * than split into whatever sizes would be allowed. Results as as_read()
 * and as_write().
 */
__attribute__((warn_unused_result)) int as_access(struct address_space *as,
                                                  gpa_t addr, void *data,
                                                  unsigned len, bool is_write);

#endif /* MEM_ADDRESS_SPACE_H */
