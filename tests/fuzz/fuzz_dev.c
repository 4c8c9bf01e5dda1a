/* SPDX-License-Identifier: MIT */
/*
 * The device fuzz targets' address space and checked accesses; see
 * fuzz_dev.h for the rules the expected results follow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "fuzz_dev.h"
#include "mem/address_space.h"
#include "mem/region.h"

/* One piece of an access: where it goes and what the model must hear. */
struct piece {
    /* Region index, or -1 for unassigned bytes. */
    int idx;
    uint64_t offset;
    /* Position of the piece's first byte in the access. */
    unsigned at;
    unsigned size;
    /* The ops refuse it: reads give all-ones, the model hears nothing. */
    bool refused;
};

/* The process-wide memory system (see fuzz_dev.h for why). */
static struct {
    bool ready;
    struct mem_sys *sys;
    struct mem_region root;
    struct address_space *as;
} space;

void fuzz_dev_init(struct fuzz_dev *d, const char *name, mr_size_t limit,
                   fuzz_dev_model_fn fn, void *model)
{
    if (!space.ready) {
        uint64_t root_size =
            limit >= MR_SIZE_2_64 ? UINT64_MAX : (uint64_t)limit;

        rcu_register_thread();
        FUZZ_CHECK(mem_sys_new(&space.sys) == 0);
        FUZZ_CHECK(mr_init_container(&space.root, name, root_size) == 0);
        FUZZ_CHECK(as_new(space.sys, name, &space.root, limit, &space.as) == 0);
        space.ready = true;
    }
    memset(d, 0, sizeof(*d));
    d->fn = fn;
    d->model = model;
}

unsigned fuzz_dev_add(struct fuzz_dev *d, struct mem_region *mr,
                      enum fuzz_dev_kind kind, gpa_t addr, int priority,
                      unsigned min, unsigned max, bool unaligned)
{
    FUZZ_CHECK(d->nr < FUZZ_DEV_MAX_REGIONS);
    d->reg[d->nr] = (struct fuzz_dev_region){
        .mr = mr,
        .kind = kind,
        .addr = addr,
        .size = (uint64_t)mr_size(mr),
        .priority = priority,
        .order = d->next_order++,
        .enabled = true,
        .alias_of = -1,
        .min = min ? min : 1,
        .max = max ? max : 8,
        .unaligned = unaligned,
    };
    return d->nr++;
}

void fuzz_dev_move(struct fuzz_dev *d, unsigned idx, gpa_t addr)
{
    FUZZ_CHECK(idx < d->nr);
    if (d->reg[idx].addr != addr) {
        d->reg[idx].addr = addr;
        d->reg[idx].order = d->next_order++;
    }
}

void fuzz_dev_place(struct fuzz_dev *d)
{
    mem_begin(space.sys);
    for (unsigned i = 0; i < d->nr; i++) {
        FUZZ_CHECK(mr_add_subregion_overlap(&space.root, d->reg[i].addr,
                                            d->reg[i].mr,
                                            d->reg[i].priority) == 0);
    }
    FUZZ_CHECK(mem_commit(space.sys) == 0);
}

void fuzz_dev_remove(struct fuzz_dev *d)
{
    mem_begin(space.sys);
    for (unsigned i = 0; i < d->nr; i++) {
        struct mem_region *mr = d->reg[i].mr;

        if (mr->container) {
            FUZZ_CHECK(mr_del_subregion(mr->container, mr) == 0);
        }
    }
    FUZZ_CHECK(mem_commit(space.sys) == 0);
    mem_sys_synchronize(space.sys);
}

/* The region visible at (a): highest priority, then latest; or -1. */
static int resolve(const struct fuzz_dev *d, gpa_t a)
{
    int best = -1;

    for (unsigned i = 0; i < d->nr; i++) {
        const struct fuzz_dev_region *r = &d->reg[i];

        if (!r->enabled || a < r->addr || a - r->addr >= r->size ||
            (r->alias_of >= 0 && !d->reg[r->alias_of].enabled)) {
            continue;
        }
        if (best < 0 || r->priority > d->reg[best].priority ||
            (r->priority == d->reg[best].priority &&
             r->order > d->reg[best].order)) {
            best = (int)i;
        }
    }
    return best;
}

static bool valid(const struct fuzz_dev_region *r, uint64_t offset,
                  unsigned size)
{
    return size >= r->min && size <= r->max &&
           (r->unaligned || (offset & (size - 1)) == 0);
}

/*
 * Cut (len) bytes at (offset) of (r) into the largest pieces the valid
 * sizes and alignment allow, as the dispatcher does for a part of an
 * access. Returns the new number of pieces in (p).
 */
static unsigned cut(const struct fuzz_dev_region *r, int idx, uint64_t offset,
                    unsigned at, unsigned len, struct piece *p, unsigned n)
{
    unsigned vmax = r->max < 8 ? r->max : 8;

    while (len) {
        unsigned size = 8;

        while (size > len || size > vmax) {
            size /= 2;
        }
        while (!r->unaligned && (offset & (size - 1))) {
            size /= 2;
        }
        p[n++] = (struct piece){idx, offset, at, size, !valid(r, offset, size)};
        offset += size;
        at += size;
        len -= size;
    }
    return n;
}

/* Whether byte (k) of an access at (addr) lies past 2^64. */
static bool past_top(gpa_t addr, unsigned k)
{
    return addr + k < addr;
}

/*
 * Plan the pieces of an access (before any model state changes). Bytes
 * past 2^64 do not wrap to 0: they are unassigned, as the dispatcher
 * documents.
 */
static unsigned plan(const struct fuzz_dev *d, gpa_t addr, unsigned size,
                     bool write, struct piece *p)
{
    unsigned n = 0, at = 0;

    while (at < size) {
        int idx;
        unsigned len = 1;
        const struct fuzz_dev_region *r;
        uint64_t offset;

        if (past_top(addr, at)) {
            p[n++] = (struct piece){-1, 0, at, size - at, true};
            break;
        }
        idx = resolve(d, addr + at);
        while (at + len < size && !past_top(addr, at + len) &&
               resolve(d, addr + at + len) == idx) {
            len++;
        }
        if (idx < 0) {
            p[n++] = (struct piece){-1, 0, at, len, true};
            at += len;
            continue;
        }
        r = &d->reg[idx];
        offset = addr + at - r->addr;
        if (r->kind == FUZZ_DEV_RAM || (r->kind == FUZZ_DEV_ROM && !write)) {
            p[n++] = (struct piece){idx, offset, at, len, false};
        } else if (r->kind == FUZZ_DEV_IO && len == size) {
            p[n++] =
                (struct piece){idx, offset, at, len, !valid(r, offset, len)};
        } else {
            n = cut(r, idx, offset, at, len, p, n);
        }
        at += len;
    }
    return n;
}

static uint64_t load_le(const uint8_t *b, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

uint64_t fuzz_dev_access(struct fuzz_dev *d, gpa_t addr, unsigned size,
                         bool write, uint64_t value)
{
    struct piece p[16];
    uint8_t buf[8];
    uint64_t got, want = 0, known = 0;
    unsigned n;
    int ret, want_ret = 0;

    FUZZ_CHECK(size == 1 || size == 2 || size == 4 || size == 8);
    value &= fuzz_dev_mask(size);
    n = plan(d, addr, size, write, p);
    for (unsigned i = 0; i < 8; i++) {
        buf[i] = write ? (uint8_t)(value >> (8 * i)) : 0x5a;
    }
    ret = as_access(space.as, addr, buf, size, write);
    got = load_le(buf, size);
    for (unsigned i = 0; i < n; i++) {
        uint64_t pmask = fuzz_dev_mask(p[i].size) << (8 * p[i].at);
        uint64_t v = 0, k = 0;

        if (p[i].refused) {
            if (!want_ret) {
                want_ret = p[i].idx < 0 ? -ENXIO : -EINVAL;
            }
            want |= pmask;
            known |= pmask;
            continue;
        }
        v = d->fn(d->model, (unsigned)p[i].idx, p[i].offset, p[i].size, write,
                  (value >> (8 * p[i].at)) & fuzz_dev_mask(p[i].size), &k);
        if (!write) {
            want |= (v << (8 * p[i].at)) & pmask;
            known |= (k << (8 * p[i].at)) & pmask;
        }
    }
    if (ret != want_ret) {
        fprintf(stderr, "as_access(0x%llx, %u, %s) = %d, expected %d\n",
                (unsigned long long)addr, size, write ? "write" : "read", ret,
                want_ret);
    }
    FUZZ_CHECK(ret == want_ret);
    if (!write && ((got ^ want) & known) != 0) {
        fprintf(stderr,
                "read 0x%llx/%u = 0x%llx, expected 0x%llx (mask 0x%llx)\n",
                (unsigned long long)addr, size, (unsigned long long)got,
                (unsigned long long)want, (unsigned long long)known);
    }
    FUZZ_CHECK(write || ((got ^ want) & known) == 0);
    /* as_access() never touches bytes past the access. */
    for (unsigned i = size; i < 8; i++) {
        FUZZ_CHECK(buf[i] == (write ? 0 : 0x5a));
    }
    return got;
}

void fuzz_dev_take_access(struct fuzz_in *in, unsigned op, gpa_t lo,
                          uint64_t span, gpa_t *addr, unsigned *size,
                          bool *write, uint64_t *value)
{
    uint64_t off = fuzz_take(in, span > 256 ? 2 : 1);

    *size = 1u << (op & 3);
    *write = (op & 4) != 0;
    *addr = lo + off % span;
    *value = *write ? fuzz_take(in, *size) : 0;
}
