/* SPDX-License-Identifier: MIT */
/*
 * Memory regions: the nodes of the memory-region tree. A region is a
 * container, RAM, ROM, I/O (accesses go to const ops) or an alias (a window
 * onto part of another region). Semantics follow QEMU's
 * docs/devel/memory.rst; where QEMU leaves a case open the choice is written
 * next to the function concerned.
 *
 * Ownership and locking: a region is embedded in its owner (a device state,
 * the machine) and initialised with one of the mr_init_*() calls. Tree edits
 * take the owning mem_sys's transaction lock themselves (each edit outside
 * an explicit transaction is its own transaction) and may be called from any
 * thread, including from a region's own ops. A region is known to a mem_sys
 * once it is attached below an address space's root or targeted by an alias
 * that is; edits to regions known to no mem_sys are not visible anywhere
 * and publish nothing.
 *
 * Lifetime: flat views published under RCU hold plain pointers to regions.
 * Before the memory of a region (or of the opaque its ops use) is freed, the
 * region must be removed from every tree and alias and mem_sys_synchronize()
 * must have returned.
 */
#ifndef MEM_REGION_H
#define MEM_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/types.h"

struct mem_sys;
struct ram_block;

/* What a region is; fixed at init. */
enum mr_kind {
    MR_CONTAINER,
    MR_RAM,
    MR_ROM,
    MR_IO,
    MR_ALIAS,
};

/*
 * Access-size constraints. A zero min means 1, a zero max means 8.
 */
struct mr_access_sizes {
    unsigned min_access_size;
    unsigned max_access_size;
    /* Accesses whose address is not a multiple of their size are allowed. */
    bool unaligned;
};

/*
 * Callbacks of an I/O region (and the write side of a ROM region). Offsets
 * are relative to the start of the region; values are little-endian
 * integers of @size bytes (1, 2, 4 or 8).
 *
 * @valid says what the guest may do: an access outside it reads as
 * all-ones, is dropped when written, and the dispatcher reports -EINVAL.
 * @impl says what the callbacks handle: the dispatcher splits wider
 * accesses into several calls and widens narrower ones (reads extract the
 * bytes from the enclosing aligned word; writes read-modify-write it).
 */
struct mr_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    struct mr_access_sizes valid;
    struct mr_access_sizes impl;
};

struct mem_region;

/*
 * What a render needs of a child region, kept in its container's child
 * array by mem/ (region.c) whenever the child changes: a render reads a
 * container's children from this one dense array, and a child's own struct
 * only when it has subregions (a container, or a terminal region with
 * subregions) or is an alias of anything but a plain terminal region: a
 * terminal child becomes a leaf from its record alone, and so does an alias
 * whose record carries its target (a "direct" alias). Private to mem/.
 */
struct mr_kid {
    gpa_t addr;
    /* Offset of the child's last byte (its size less one); for a direct
     * alias, of the last byte its target shows through it. */
    uint64_t last;
    struct mem_region *mr;
    /* A terminal child's callbacks, or a direct alias's target's. */
    const struct mr_ops *ops;
    void *opaque;
    /* An alias: its target and the offset into it. */
    struct mem_region *alias;
    uint64_t alias_offset;
    /* enum mr_kind: the child's, or a direct alias's target's. */
    uint8_t kind;
    /* Enabled and not empty (the child itself). */
    bool shown;
    /* The child's flags, or-ed with a direct alias's target's. */
    bool readonly;
    bool log_dirty;
    /* Not an alias, and a container or with subregions: a render walks
     * into the child's own struct. */
    bool inner;
    /* An alias onto an enabled terminal region without subregions that
     * shows part of it: the fields above describe that part. */
    bool direct;
};

/*
 * A region. Embed it in its owner; every field is private to mem/ and is
 * only shown so that the struct can be embedded.
 */
struct mem_region {
    /* What a render reads of a region it walks into (a container, an
     * alias's target), first: 68 bytes, two cache lines at most. */
    mr_size_t size;
    /* The children, highest priority first; among equal priorities the
     * one added last comes first. (cap_kids) slots allocated. */
    struct mr_kid *kids;
    const struct mr_ops *ops;
    void *opaque;
    struct mem_region *alias;
    uint64_t alias_offset;
    uint32_t nr_kids;
    bool enabled;
    bool readonly;
    bool log_dirty;
    enum mr_kind kind;
    /* The rest. */
    gpa_t addr;
    uint32_t cap_kids;
    int priority;
    bool may_overlap;
    bool owns_block;
    struct mem_region *container;
    char *name;
    struct ram_block *block;
    /* Aliases currently pointing here (attached or not), linked through
     * their (next_alias). */
    struct mem_region *aliases;
    struct mem_region *next_alias;
    struct mem_sys *sys;
};

/*
 * Initialise (mr) as an empty container of (size) bytes (UINT64_MAX means
 * 2^64). A container only routes to its subregions; where none is mapped
 * its range is a hole.
 */
__attribute__((warn_unused_result)) int
mr_init_container(struct mem_region *mr, const char *name, uint64_t size);

/*
 * Initialise (mr) as RAM of (size) bytes backed by plain anonymous memory
 * owned by the region. Returns -ENOMEM when the mapping fails, -EINVAL for
 * a zero or non page-multiple size.
 */
__attribute__((warn_unused_result)) int
mr_init_ram(struct mem_region *mr, const char *name, uint64_t size);

/*
 * Initialise (mr) as RAM backed by (block), which the caller keeps owning
 * and must outlive the region. The region's size is the block's used
 * length; mr_resize() changes both within the block's maximum.
 */
__attribute__((warn_unused_result)) int
mr_init_ram_block(struct mem_region *mr, const char *name,
                  struct ram_block *block);

/*
 * Initialise (mr) as ROM of (size) bytes, backed like mr_init_ram(). Guest
 * reads are served directly from memory; guest writes go to (ops)->write
 * with (opaque) when (ops) is non-NULL, and are otherwise dropped. The VMM
 * fills it with mr_rom_write().
 */
__attribute__((warn_unused_result)) int
mr_init_rom(struct mem_region *mr, const char *name, uint64_t size,
            const struct mr_ops *ops, void *opaque);

/*
 * Initialise (mr) as an I/O region of (size) bytes (UINT64_MAX means 2^64)
 * whose accesses all go to (ops) with (opaque). (ops) must stay valid for
 * the region's lifetime (make it static const).
 */
__attribute__((warn_unused_result)) int
mr_init_io(struct mem_region *mr, const char *name, uint64_t size,
           const struct mr_ops *ops, void *opaque);

/*
 * Initialise (mr) as an alias of (size) bytes onto (target) starting at
 * (offset) in the target. The target may itself be an alias. The window may
 * extend past the target's end: that part renders as a hole.
 */
__attribute__((warn_unused_result)) int
mr_init_alias(struct mem_region *mr, const char *name,
              struct mem_region *target, uint64_t offset, uint64_t size);

/*
 * Release what mr_init_*() allocated (the name, owned RAM). The region must
 * be detached, have no subregions and no aliases pointing at it, and no
 * reader may still hold a view that maps it (see mem_sys_synchronize()).
 * Returns -EBUSY, changing nothing, when one of these is not the case.
 */
__attribute__((warn_unused_result)) int mr_destroy(struct mem_region *mr);

/*
 * Add (sub) to (container) at (addr), relative to the container's start,
 * with priority 0 and no overlap expected. -EBUSY when (sub) already has a
 * container, -EINVAL when (container) is an alias or the add would make a
 * cycle.
 */
__attribute__((warn_unused_result)) int
mr_add_subregion(struct mem_region *container, gpa_t addr,
                 struct mem_region *sub);

/*
 * As mr_add_subregion(), with an explicit (priority): where siblings
 * overlap the higher priority is visible; with equal priorities the one
 * added later is visible (QEMU leaves this undefined).
 */
__attribute__((warn_unused_result)) int
mr_add_subregion_overlap(struct mem_region *container, gpa_t addr,
                         struct mem_region *sub, int priority);

/*
 * Detach (sub) from (container). -ENOENT when it is not a child of it.
 */
__attribute__((warn_unused_result)) int
mr_del_subregion(struct mem_region *container, struct mem_region *sub);

/*
 * Remove every subregion of (container), as mr_del_subregion() does for
 * each, in one transaction (the caller's, if one is open). Returns 0, or
 * -EINVAL for a NULL (container).
 */
__attribute__((warn_unused_result)) int
mr_del_all_subregions(struct mem_region *container);

/*
 * Move (mr) to (addr) within its container (or set the address it will be
 * added at).
 */
__attribute__((warn_unused_result)) int mr_set_address(struct mem_region *mr,
                                                       gpa_t addr);

/*
 * Enable or disable (mr). A disabled region and everything below it is not
 * rendered; siblings and the container show through.
 */
__attribute__((warn_unused_result)) int mr_set_enabled(struct mem_region *mr,
                                                       bool enabled);

/*
 * Make guest writes to (mr), or through the alias (mr), be dropped (RAM)
 * or sent to the write op (ROM). Applies to everything rendered through
 * (mr).
 */
__attribute__((warn_unused_result)) int mr_set_readonly(struct mem_region *mr,
                                                        bool readonly);

/*
 * Start or stop dirty logging on (mr). The flag reaches listeners as
 * log_start/log_stop on every range rendered from (mr) or through it.
 */
__attribute__((warn_unused_result)) int mr_set_log(struct mem_region *mr,
                                                   bool log);

/*
 * Point the alias (mr) at (offset) in its target. -EINVAL if (mr) is not an
 * alias.
 */
__attribute__((warn_unused_result)) int
mr_set_alias_offset(struct mem_region *mr, uint64_t offset);

/*
 * Resize the RAM region (mr) to (size) bytes, at most its RAMBlock's
 * maximum length. -EINVAL for non-RAM regions, zero or unaligned sizes and
 * sizes beyond the maximum.
 */
__attribute__((warn_unused_result)) int mr_resize(struct mem_region *mr,
                                                  uint64_t size);

/*
 * Copy (len) bytes into the ROM or RAM region (mr) at (offset), as the VMM
 * does when it loads firmware. -ERANGE when the range leaves the region.
 */
__attribute__((warn_unused_result)) int mr_rom_write(struct mem_region *mr,
                                                     uint64_t offset,
                                                     const void *buf,
                                                     size_t len);

/*
 * The host address of byte (offset) of the RAM or ROM region (mr), or NULL
 * when (mr) has no memory or (offset) is outside it.
 */
void *mr_ram_ptr(const struct mem_region *mr, uint64_t offset);

/* The region's name, as given at init. */
const char *mr_name(const struct mem_region *mr);

/* The region's size; MR_SIZE_2_64 for a 2^64-byte region. */
mr_size_t mr_size(const struct mem_region *mr);

/* A short lower-case name of the region's kind ("ram", "i/o", ...). */
const char *mr_kind_name(enum mr_kind kind);

#endif /* MEM_REGION_H */
