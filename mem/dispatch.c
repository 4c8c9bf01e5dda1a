/* SPDX-License-Identifier: MIT */
/*
 * Dispatch: an access to an address space is cut at range boundaries; RAM
 * and ROM pieces are copied, I/O pieces go to the region's ops in sizes
 * that the ops declare. Runs under rcu_read_lock() and takes no lock.
 * Writes to RAM ranges with dirty logging on mark their pages in the
 * RAMBlock's dirty bitmap (atomic ORs, no lock); with logging off they
 * cost one flag test.
 */
#include <errno.h>
#include <string.h>

#include "mem-internal.h"
#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/ramblock.h"
#include "mem/region.h"

static unsigned size_min(unsigned v)
{
    return v ? v : 1;
}

static unsigned size_max(unsigned v)
{
    return v ? v : 8;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

static uint64_t op_read(const struct flat_range *fr, uint64_t off,
                        unsigned size)
{
    if (!fr->ops->read) {
        return 0;
    }
    return fr->ops->read(fr->opaque, off, size) & size_mask(size);
}

static void op_write(const struct flat_range *fr, uint64_t off, uint64_t val,
                     unsigned size)
{
    if (fr->ops->write) {
        fr->ops->write(fr->opaque, off, val & size_mask(size), size);
    }
}

/*
 * Adapt one access of (size) bytes (a power of two up to 8) to the impl
 * sizes: too wide or misaligned accesses are halved, too narrow ones are
 * served from the enclosing impl.min-sized word.
 */
static uint64_t impl_read(const struct flat_range *fr, uint64_t off,
                          unsigned size)
{
    const struct mr_access_sizes *impl = &fr->ops->impl;
    unsigned imin = size_min(impl->min_access_size);
    unsigned imax = size_max(impl->max_access_size);
    bool aligned = impl->unaligned || (off & (size - 1)) == 0;

    if (size < imin) {
        uint64_t base = impl->unaligned ? off : off & ~(uint64_t)(imin - 1);

        if (off - base + size <= imin) {
            return (op_read(fr, base, imin) >> ((off - base) * 8)) &
                   size_mask(size);
        }
    } else if (size <= imax && aligned) {
        return op_read(fr, off, size);
    }
    if (size > 1) {
        unsigned half = size / 2;
        /* Low half first: devices may latch on the first read. */
        uint64_t lo = impl_read(fr, off, half);
        uint64_t hi = impl_read(fr, off + half, half);

        return lo | (hi << (half * 8));
    }
    /* A single byte that the ops cannot express: read as all-ones. */
    return 0xff;
}

static void impl_write(const struct flat_range *fr, uint64_t off, uint64_t val,
                       unsigned size)
{
    const struct mr_access_sizes *impl = &fr->ops->impl;
    unsigned imin = size_min(impl->min_access_size);
    unsigned imax = size_max(impl->max_access_size);
    bool aligned = impl->unaligned || (off & (size - 1)) == 0;

    if (size < imin) {
        uint64_t base = impl->unaligned ? off : off & ~(uint64_t)(imin - 1);

        if (off - base + size <= imin) {
            unsigned shift = (unsigned)(off - base) * 8;
            uint64_t word = op_read(fr, base, imin);

            word &= ~(size_mask(size) << shift);
            word |= (val & size_mask(size)) << shift;
            op_write(fr, base, word, imin);
            return;
        }
    } else if (size <= imax && aligned) {
        op_write(fr, off, val, size);
        return;
    }
    if (size > 1) {
        unsigned half = size / 2;

        impl_write(fr, off, val & size_mask(half), half);
        impl_write(fr, off + half, val >> (half * 8), half);
    }
}

static bool valid_access(const struct flat_range *fr, uint64_t off,
                         unsigned size)
{
    const struct mr_access_sizes *v = &fr->ops->valid;

    if (size < size_min(v->min_access_size) ||
        size > size_max(v->max_access_size)) {
        return false;
    }
    return v->unaligned || (off & (size - 1)) == 0;
}

static uint64_t load_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void store_le(uint8_t *p, uint64_t v, unsigned size)
{
    unsigned i;

    for (i = 0; i < size; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* One access already checked against the valid sizes. */
static void io_one(const struct flat_range *fr, uint64_t off, uint8_t *buf,
                   unsigned size, bool is_write)
{
    if (is_write) {
        impl_write(fr, off, load_le(buf, size), size);
    } else {
        store_le(buf, impl_read(fr, off, size), size);
    }
}

/*
 * Any length through the ops: the largest power-of-two pieces that the
 * valid sizes and alignment allow; a piece that cannot be expressed is
 * refused (-EINVAL) and reads as all-ones.
 */
static int io_bulk(const struct flat_range *fr, uint64_t off, uint8_t *buf,
                   uint64_t len, bool is_write)
{
    const struct mr_access_sizes *v = &fr->ops->valid;
    unsigned vmax = size_max(v->max_access_size);
    int err = 0;

    if (vmax > 8) {
        vmax = 8;
    }
    while (len) {
        unsigned size = 8;

        while (size > len || size > vmax) {
            size /= 2;
        }
        while (!v->unaligned && (off & (size - 1))) {
            size /= 2;
        }
        if (valid_access(fr, off, size)) {
            io_one(fr, off, buf, size, is_write);
        } else {
            if (!is_write) {
                memset(buf, 0xff, size);
            }
            err = -EINVAL;
        }
        off += size;
        buf += size;
        len -= size;
    }
    return err;
}

static int dispatch_piece(const struct flat_range *fr, uint64_t off,
                          uint8_t *buf, uint64_t len, bool is_write,
                          bool guest_whole)
{
    /* I/O goes through the range's copies of the region's ops and opaque
     * (struct flat_range); only RAM needs the region itself. */
    const struct mem_region *mr = fr->mr;

    if (fr->kind == MR_IO) {
        if (guest_whole) {
            if (!valid_access(fr, off, (unsigned)len)) {
                if (!is_write) {
                    memset(buf, 0xff, len);
                }
                return -EINVAL;
            }
            io_one(fr, off, buf, (unsigned)len, is_write);
            return 0;
        }
        return io_bulk(fr, off, buf, len, is_write);
    }
    /* RAM or ROM. */
    if (!is_write) {
        memcpy(buf, mr_ram_ptr(mr, off), len);
        return 0;
    }
    if (fr->kind == MR_ROM) {
        if (fr->ops && fr->ops->write) {
            return io_bulk(fr, off, buf, len, true);
        }
        return -EROFS;
    }
    if (fr->readonly) {
        return -EROFS;
    }
    memcpy(mr_ram_ptr(mr, off), buf, len);
    if (fr->log_dirty) {
        /* KVM only logs guest writes: the VMM's own must reach the next
         * harvest through the block's bitmap. A RAM region's offsets are
         * its block's, and (off, len) lie inside it, so this cannot
         * fail. */
        int ret = ram_block_mark_dirty(mr->block, off, len);

        (void)ret;
    }
    return 0;
}

static int as_rw(struct address_space *as, gpa_t addr, uint8_t *buf, size_t len,
                 bool is_write, bool guest)
{
    const struct flatview *fv;
    const size_t total = len;
    int err = 0;

    rcu_read_lock();
    fv = rcu_dereference(as->current);
    while (len) {
        size_t i = flatview_seek(fv, addr);
        const struct flat_range *fr = i < fv->nr ? &fv->ranges[i] : NULL;
        mr_size_t avail;
        uint64_t chunk;
        int ret;

        if (fr && fr->first <= addr) {
            uint64_t off = fr->offset + (addr - fr->first);

            avail = (mr_size_t)(fr->last - addr) + 1;
            chunk = avail < len ? (uint64_t)avail : len;
            /* Whole only when this piece is the entire guest access: the
             * tail of an access that began elsewhere is split like any
             * other piece, never handed on at an odd size. */
            ret = dispatch_piece(fr, off, buf, chunk, is_write,
                                 guest && chunk == total);
        } else {
            avail = fr ? (mr_size_t)(fr->first - addr)
                       : MR_SIZE_2_64 - (mr_size_t)addr;
            chunk = avail < len ? (uint64_t)avail : len;
            if (!is_write) {
                memset(buf, 0xff, chunk);
            }
            ret = -ENXIO;
        }
        if (ret && !err) {
            err = ret;
        }
        buf += chunk;
        len -= chunk;
        if (len && addr + chunk < addr) {
            /* Ran past 2^64: the rest is unassigned. */
            if (!is_write) {
                memset(buf, 0xff, len);
            }
            err = err ? err : -ENXIO;
            break;
        }
        addr += chunk;
    }
    rcu_read_unlock();
    return err;
}

void as_mark_written(struct address_space *as, gpa_t addr, uint64_t len)
{
    const struct flatview *fv;
    gpa_t last;

    if (len == 0) {
        return;
    }
    last = addr + len - 1 < addr ? UINT64_MAX : addr + len - 1;
    rcu_read_lock();
    fv = rcu_dereference(as->current);
    for (size_t i = flatview_seek(fv, addr);
         i < fv->nr && fv->ranges[i].first <= last; i++) {
        const struct flat_range *fr = &fv->ranges[i];
        gpa_t lo = fr->first > addr ? fr->first : addr;
        gpa_t hi = fr->last < last ? fr->last : last;
        int ret;

        if (fr->kind != MR_RAM || !fr->log_dirty) {
            continue;
        }
        /* (lo, hi) lie in the range, so in its block: cannot fail. */
        ret = ram_block_mark_dirty(fr->mr->block, fr->offset + (lo - fr->first),
                                   hi - lo + 1);
        (void)ret;
    }
    rcu_read_unlock();
}

int as_read(struct address_space *as, gpa_t addr, void *buf, size_t len)
{
    return as_rw(as, addr, buf, len, false, false);
}

int as_write(struct address_space *as, gpa_t addr, const void *buf, size_t len)
{
    /* as_rw() does not write through (buf) when is_write is set. */
    return as_rw(as, addr, (uint8_t *)(uintptr_t)buf, len, true, false);
}

int as_access(struct address_space *as, gpa_t addr, void *data, unsigned len,
              bool is_write)
{
    if (len == 0 || len > 8 || (len & (len - 1))) {
        return as_rw(as, addr, data, len, is_write, false);
    }
    return as_rw(as, addr, data, len, is_write, true);
}
