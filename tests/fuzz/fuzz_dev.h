/* SPDX-License-Identifier: MIT */
/*
 * What the device fuzz targets (fuzz_serial8250.c, fuzz_testdev.c, ...)
 * share: an address space that a target places its device's regions in,
 * and guest accesses made through as_access() and checked against a model
 * of the device that the target writes.
 *
 * The model is told about each access as the dispatcher documents it
 * (mem/include/mem/address_space.h, mem/region.h): bytes are resolved to
 * the visible region (higher priority first, then the region placed
 * later); a whole access inside one I/O region is checked against the
 * region's valid sizes and, if allowed, reaches the model as one piece;
 * the part of an access that lies in a region it does not fill (and any
 * ROM write) is cut into the largest valid, aligned pieces; RAM and ROM
 * reads are plain bytes. The helper works out the result as_access() must
 * return and which bytes a read must give (all-ones where unassigned or
 * refused), then hands the pieces to the model in address order, after
 * the access: the model checks what the device's hooks recorded meanwhile
 * and predicts what reads return. Adapting a piece to the ops' impl sizes
 * (a 4-byte piece that the device sees as two 2-byte calls) is the
 * model's job.
 *
 * The memory system and its address space live as long as the process:
 * mem_sys_free() waits for liburcu's call_rcu thread, which sleeps 10 ms
 * between batches, so freeing it per input would cap a target at about
 * 100 inputs a second. Per input a target places its regions in one
 * transaction, removes them in one transaction, waits for readers with
 * mem_sys_synchronize() and destroys its device, which must then succeed.
 */
#ifndef TESTS_FUZZ_FUZZ_DEV_H
#define TESTS_FUZZ_FUZZ_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "mem/types.h"

struct mem_region;

#define FUZZ_DEV_MAX_REGIONS 8

/* How the dispatcher treats a region. */
enum fuzz_dev_kind {
    /* Ops for reads and writes. */
    FUZZ_DEV_IO,
    /* Memory: reads and writes copy bytes. */
    FUZZ_DEV_RAM,
    /* Reads copy bytes; writes go to the write op in valid pieces. */
    FUZZ_DEV_ROM,
};

/* One region of the device as the model sees it; the model keeps it. */
struct fuzz_dev_region {
    struct mem_region *mr;
    enum fuzz_dev_kind kind;
    gpa_t addr;
    uint64_t size;
    int priority;
    /* Among equal priorities the highest order is visible. */
    unsigned order;
    bool enabled;
    /*
     * For an alias, the index of the region it shows, or -1: a disabled
     * target hides the alias too (the renderer, like QEMU's, renders
     * nothing of a disabled region, through aliases included).
     */
    int alias_of;
    /* The ops' valid sizes (FUZZ_DEV_IO, and writes to FUZZ_DEV_ROM). */
    unsigned min;
    unsigned max;
    bool unaligned;
};

/*
 * The model's side of one piece: (size) bytes (1 to 8) at (offset) of
 * region (idx). A write carries (value); a read returns the value the
 * model expects and sets (*known) to the mask of the bits it can predict
 * (it starts as 0).
 */
typedef uint64_t (*fuzz_dev_model_fn)(void *model, unsigned idx,
                                      uint64_t offset, unsigned size,
                                      bool write, uint64_t value,
                                      uint64_t *known);

/* A device under test: its regions and its model. */
struct fuzz_dev {
    struct fuzz_dev_region reg[FUZZ_DEV_MAX_REGIONS];
    unsigned nr;
    unsigned next_order;
    fuzz_dev_model_fn fn;
    void *model;
};

/*
 * Start (d) with no regions and the model (fn, model). The first call
 * registers the thread with liburcu and makes the address space (name)
 * of (limit) bytes (MR_SIZE_2_64 for 2^64), which later calls reuse.
 */
void fuzz_dev_init(struct fuzz_dev *d, const char *name, mr_size_t limit,
                   fuzz_dev_model_fn fn, void *model);

/*
 * Describe the region (mr) of (kind) at (addr) with (priority) and, for
 * I/O and ROM regions, its valid access sizes; returns its index.
 */
unsigned fuzz_dev_add(struct fuzz_dev *d, struct mem_region *mr,
                      enum fuzz_dev_kind kind, gpa_t addr, int priority,
                      unsigned min, unsigned max, bool unaligned);

/*
 * Note that the device moved region (idx) to (addr): a move to a new
 * address re-links it as the latest of its priority (mr_set_address(),
 * as QEMU's memory_region_set_address() re-adds it).
 */
void fuzz_dev_move(struct fuzz_dev *d, unsigned idx, gpa_t addr);

/* Place every region of (d) in the address space, in one transaction. */
void fuzz_dev_place(struct fuzz_dev *d);

/*
 * Make a guest access of (size) bytes (1, 2, 4 or 8) at (addr), writing
 * (value) or reading; check the result and the bytes read against the
 * model, which sees the pieces. Returns what was read (all bytes).
 */
uint64_t fuzz_dev_access(struct fuzz_dev *d, gpa_t addr, unsigned size,
                         bool write, uint64_t value);

/*
 * Remove every region of (d) from its container in one transaction and
 * wait for readers, so that the device can be destroyed.
 */
void fuzz_dev_remove(struct fuzz_dev *d);

/*
 * Decode a guest access from (op) and the input: size 1 << (op & 3), a
 * write when (op & 4), an address in [lo, lo + span) (span at most
 * 65536) and, for a write, the value from the input.
 */
void fuzz_dev_take_access(struct fuzz_in *in, unsigned op, gpa_t lo,
                          uint64_t span, gpa_t *addr, unsigned *size,
                          bool *write, uint64_t *value);

/* The low (size) bytes of all-ones. */
static inline uint64_t fuzz_dev_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

#endif /* TESTS_FUZZ_FUZZ_DEV_H */
