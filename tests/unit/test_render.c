/* SPDX-License-Identifier: MIT */
/*
 * Table-driven tests of flatview_render(): each case builds a small tree
 * and lists the ranges the view must hold, {first, last, region, offset},
 * plus the readonly flag where it matters. Followed by flatview_lookup()
 * at range edges. No address space is involved: rendering is pure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/flatview.h"
#include "mem/region.h"
#include "mem/types.h"
#include "naive.h"
#include "unit.h"

static unsigned unit_failures;

#define MAX_REGIONS 24
#define MAX_RANGES 16

/* The regions of one case, destroyed in reverse order of creation. */
struct tree {
    struct mem_region r[MAX_REGIONS];
    unsigned nr;
    /* First build error, reported by the runner. */
    int err;
    const char *err_what;
};

struct want_range {
    gpa_t first;
    gpa_t last;
    const char *name;
    uint64_t offset;
    bool readonly;
};

struct render_case {
    const char *name;
    struct mem_region *(*build)(struct tree *t);
    /* 0 means 2^64. */
    mr_size_t limit;
    struct want_range want[MAX_RANGES];
};

static uint64_t dummy_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
}

static void dummy_write(void *opaque, uint64_t offset, uint64_t value,
                        unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)value;
    (void)size;
}

static const struct mr_ops dummy_ops = {
    .read = dummy_read,
    .write = dummy_write,
};

static void tree_note(struct tree *t, int rc, const char *what)
{
    if (rc != 0 && t->err == 0) {
        t->err = rc;
        t->err_what = what;
    }
}

static struct mem_region *tree_slot(struct tree *t)
{
    if (t->nr == MAX_REGIONS) {
        tree_note(t, -ENOSPC, "too many regions in case");
        return NULL;
    }
    return &t->r[t->nr];
}

/* A region whose init failed is not counted, so it is never destroyed. */
static struct mem_region *tree_keep(struct tree *t, struct mem_region *mr,
                                    int rc, const char *what)
{
    tree_note(t, rc, what);
    if (rc != 0) {
        return NULL;
    }
    t->nr++;
    return mr;
}

static struct mem_region *mk_container(struct tree *t, const char *name,
                                       uint64_t size)
{
    struct mem_region *mr = tree_slot(t);

    if (!mr) {
        return NULL;
    }
    return tree_keep(t, mr, mr_init_container(mr, name, size), name);
}

static struct mem_region *mk_io(struct tree *t, const char *name, uint64_t size)
{
    struct mem_region *mr = tree_slot(t);

    if (!mr) {
        return NULL;
    }
    return tree_keep(t, mr, mr_init_io(mr, name, size, &dummy_ops, NULL), name);
}

static struct mem_region *mk_ram(struct tree *t, const char *name,
                                 uint64_t size)
{
    struct mem_region *mr = tree_slot(t);

    if (!mr) {
        return NULL;
    }
    return tree_keep(t, mr, mr_init_ram(mr, name, size), name);
}

static struct mem_region *mk_rom(struct tree *t, const char *name,
                                 uint64_t size)
{
    struct mem_region *mr = tree_slot(t);

    if (!mr) {
        return NULL;
    }
    return tree_keep(t, mr, mr_init_rom(mr, name, size, NULL, NULL), name);
}

static struct mem_region *mk_alias(struct tree *t, const char *name,
                                   struct mem_region *target, uint64_t offset,
                                   uint64_t size)
{
    struct mem_region *mr = tree_slot(t);

    if (!mr || !target) {
        tree_note(t, -EINVAL, name);
        return NULL;
    }
    return tree_keep(t, mr, mr_init_alias(mr, name, target, offset, size),
                     name);
}

static void add(struct tree *t, struct mem_region *parent, gpa_t addr,
                struct mem_region *sub, int prio)
{
    if (!parent || !sub) {
        tree_note(t, -EINVAL, "add of a missing region");
        return;
    }
    tree_note(t, mr_add_subregion_overlap(parent, addr, sub, prio),
              mr_name(sub));
}

static void set_enabled(struct tree *t, struct mem_region *mr, bool on)
{
    if (!mr) {
        tree_note(t, -EINVAL, "set_enabled of a missing region");
        return;
    }
    tree_note(t, mr_set_enabled(mr, on), "mr_set_enabled");
}

static void set_readonly(struct tree *t, struct mem_region *mr, bool ro)
{
    if (!mr) {
        tree_note(t, -EINVAL, "set_readonly of a missing region");
        return;
    }
    tree_note(t, mr_set_readonly(mr, ro), "mr_set_readonly");
}

/* Detach every region, then destroy them newest first (aliases are always
 * newer than their targets). */
static void tree_free(struct tree *t)
{
    for (unsigned i = 0; i < t->nr; i++) {
        struct mem_region *mr = &t->r[i];

        if (mr->container) {
            int rc = mr_del_subregion(mr->container, mr);

            CHECK(rc == 0, "del_subregion(%s): %d", mr_name(mr), rc);
        }
    }
    for (unsigned i = t->nr; i-- > 0;) {
        int rc = mr_destroy(&t->r[i]);

        CHECK(rc == 0, "mr_destroy(%s): %d", mr_name(&t->r[i]), rc);
    }
    t->nr = 0;
}

/* ---- the trees ---- */

/* 4 GiB of "ram" (an I/O region, so nothing is allocated) with a UART
 * punched in at 0xd0000000. */
static struct mem_region *build_mmio_hole(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0, mk_io(t, "ram", 0x100000000ull), 0);
    add(t, root, 0xd0000000, mk_io(t, "uart", 0x1000), 1);
    return root;
}

/* The same with real (MAP_NORESERVE) RAM of 1 GiB. */
static struct mem_region *build_mmio_hole_real_ram(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0, mk_ram(t, "ram", 0x40000000ull), 0);
    add(t, root, 0x30000000, mk_io(t, "uart", 0x1000), 1);
    return root;
}

/* The same with the UART added before the RAM: priority, not order. */
static struct mem_region *build_mmio_hole_reversed(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *uart = mk_io(t, "uart", 0x1000);

    add(t, root, 0xd0000000, uart, 1);
    add(t, root, 0, mk_io(t, "ram", 0x100000000ull), 0);
    return root;
}

/* a (prio 0) everywhere in [0, 0x10000), c (prio 1) over [0x2000, 0x6000),
 * b (prio 2) over [0x4000, 0x8000), d (prio -1) under everything up to
 * 0x20000. Added in an order unrelated to priority. */
static struct mem_region *build_priorities(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0x4000, mk_io(t, "b", 0x4000), 2);
    add(t, root, 0, mk_io(t, "a", 0x10000), 0);
    add(t, root, 0, mk_io(t, "d", 0x20000), -1);
    add(t, root, 0x2000, mk_io(t, "c", 0x4000), 1);
    return root;
}

static struct mem_region *build_equal_later_wins(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0, mk_io(t, "first", 0x2000), 0);
    add(t, root, 0x1000, mk_io(t, "second", 0x2000), 0);
    return root;
}

static struct mem_region *build_equal_later_wins_rev(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0x1000, mk_io(t, "first", 0x2000), 0);
    add(t, root, 0, mk_io(t, "second", 0x2000), 0);
    return root;
}

/* Equal priority 0 through plain mr_add_subregion(). */
static struct mem_region *build_equal_plain_add(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *a = mk_io(t, "first", 0x2000);
    struct mem_region *b = mk_io(t, "second", 0x2000);

    if (a && b) {
        tree_note(t, mr_add_subregion(root, 0x1000, a), "add first");
        tree_note(t, mr_add_subregion(root, 0x2000, b), "add second");
    }
    return root;
}

static struct mem_region *build_alias_offset(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *ram = mk_io(t, "ram", 0x10000);

    add(t, root, 0, ram, 0);
    add(t, root, 0x100000, mk_alias(t, "hi", ram, 0x4000, 0x2000), 0);
    return root;
}

static struct mem_region *build_alias_of_alias(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *ram = mk_io(t, "ram", 0x10000);
    struct mem_region *a1 = mk_alias(t, "a1", ram, 0x1000, 0x8000);

    /* a1 is not mapped itself; a2 shows ram [0x3000, 0x4000). */
    add(t, root, 0x200000, mk_alias(t, "a2", a1, 0x2000, 0x1000), 0);
    return root;
}

/* The window runs past the end of its target: the rest is a hole through
 * which the lower-priority background shows. */
static struct mem_region *build_alias_past_end(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x1000);

    add(t, root, 0, mk_io(t, "bg", 0x20000), 0);
    add(t, root, 0x10000, mk_alias(t, "win", dev, 0x800, 0x3000), 1);
    return root;
}

/* Alias of an alias whose own window already runs past the target. */
static struct mem_region *build_alias_of_alias_past_end(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x2000);
    struct mem_region *a1 = mk_alias(t, "a1", dev, 0x1000, 0x2000);

    add(t, root, 0, mk_alias(t, "a2", a1, 0x800, 0x1000), 0);
    return root;
}

/* The target is mapped at 0x5000; the alias ignores that address. */
static struct mem_region *build_alias_ignores_target_addr(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x1000);

    add(t, root, 0x5000, dev, 0);
    add(t, root, 0x9000, mk_alias(t, "win", dev, 0, 0x1000), 0);
    return root;
}

/* An alias onto an unmapped container shows the container's children. */
static struct mem_region *build_alias_of_container(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c = mk_container(t, "c", 0x10000);

    add(t, c, 0x1000, mk_io(t, "x", 0x1000), 0);
    add(t, c, 0x3000, mk_io(t, "y", 0x1000), 0);
    add(t, root, 0x40000, mk_alias(t, "win", c, 0x800, 0x3000), 0);
    return root;
}

/* An alias offset near 2^64 onto a 2^64-byte region: the window runs off
 * the end of the target. */
static struct mem_region *build_alias_high_offset(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *all = mk_io(t, "all", UINT64_MAX);

    add(t, root, 0x10000,
        mk_alias(t, "win", all, 0xfffffffffffff000ull, 0x2000), 0);
    return root;
}

/* The alias shows the last 0x1000 bytes of a 2^64 region, directly
 * followed by the region itself from offset 0: the offsets are not
 * contiguous (they would be only modulo 2^64), so no merge. */
static struct mem_region *build_no_merge_across_wrap(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *all = mk_io(t, "all", UINT64_MAX);

    add(t, root, 0x1000, all, 0);
    add(t, root, 0, mk_alias(t, "win", all, 0xfffffffffffff000ull, 0x1000), 0);
    return root;
}

/* As in QEMU, an alias renders its target as it is: a disabled target shows
 * nothing (the background shows through), while a disabled container of
 * the target does not matter. */
static struct mem_region *build_alias_disabled_target(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *off = mk_io(t, "off", 0x1000);
    struct mem_region *box = mk_container(t, "box", 0x1000);
    struct mem_region *boxed = mk_io(t, "boxed", 0x1000);

    add(t, root, 0, mk_io(t, "bg", 0x10000), 0);
    add(t, root, 0x1000, mk_alias(t, "to-off", off, 0, 0x1000), 1);
    set_enabled(t, off, false);
    add(t, box, 0, boxed, 0);
    add(t, root, 0x20000, box, 0);
    set_enabled(t, box, false);
    add(t, root, 0x3000, mk_alias(t, "to-boxed", boxed, 0, 0x1000), 1);
    return root;
}

static struct mem_region *build_alias_at_top(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x4000);

    add(t, root, 0xfffffffffffff000ull, mk_alias(t, "win", dev, 0x2000, 0x1000),
        0);
    return root;
}

static struct mem_region *build_nested(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c1 = mk_container(t, "c1", 0x100000);
    struct mem_region *c2 = mk_container(t, "c2", 0x10000);

    add(t, root, 0x100000, c1, 0);
    add(t, c1, 0x20000, c2, 0);
    add(t, c2, 0x300, mk_io(t, "z", 0x100), 0);
    add(t, c1, 0, mk_io(t, "w", 0x1000), 0);
    return root;
}

/* A container over a background is transparent except where its child
 * is. */
static struct mem_region *build_transparent_container(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c = mk_container(t, "c", 0x4000);

    add(t, root, 0, mk_io(t, "bg", 0x8000), 0);
    add(t, root, 0x2000, c, 1);
    add(t, c, 0x1000, mk_io(t, "dev", 0x1000), 0);
    return root;
}

static struct mem_region *build_disabled_region(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *fg = mk_io(t, "fg", 0x1000);

    add(t, root, 0, mk_io(t, "bg", 0x10000), 0);
    add(t, root, 0x4000, fg, 1);
    set_enabled(t, fg, false);
    return root;
}

static struct mem_region *build_disabled_container(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c = mk_container(t, "c", 0x10000);
    struct mem_region *inner = mk_container(t, "inner", 0x1000);

    add(t, root, 0, mk_io(t, "keep", 0x1000), 0);
    add(t, root, 0x10000, c, 0);
    add(t, c, 0, mk_io(t, "x", 0x1000), 0);
    add(t, c, 0x4000, inner, 0);
    add(t, inner, 0, mk_io(t, "y", 0x1000), 0);
    set_enabled(t, c, false);
    return root;
}

/* Disabled then enabled again: back in the view. */
static struct mem_region *build_reenabled(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x1000);

    add(t, root, 0x1000, dev, 0);
    set_enabled(t, dev, false);
    set_enabled(t, dev, true);
    return root;
}

static struct mem_region *build_clip_child(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c = mk_container(t, "c", 0x1000);

    add(t, root, 0x10000, c, 0);
    add(t, c, 0x800, mk_io(t, "wide", 0x1000), 0);
    add(t, c, 0x1000, mk_io(t, "at-end", 0x1000), 0);
    add(t, c, 0x5000, mk_io(t, "beyond", 0x1000), 0);
    add(t, c, 0xfffffffffffff000ull, mk_io(t, "far", 0x1000), 0);
    return root;
}

/* Zero-size I/O, container and alias: nothing of them is rendered. */
static struct mem_region *build_zero_size(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *bg = mk_io(t, "bg", 0x4000);
    struct mem_region *zc = mk_container(t, "zc", 0);

    add(t, root, 0, bg, 0);
    add(t, root, 0x1000, mk_io(t, "zio", 0), 1);
    add(t, root, 0x2000, zc, 1);
    add(t, zc, 0, mk_io(t, "under-zc", 0x1000), 0);
    add(t, root, 0x3000, mk_alias(t, "zalias", bg, 0, 0), 1);
    return root;
}

static struct mem_region *build_top_of_space(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0xffffffffffff0000ull, mk_io(t, "top", 0x10000), 0);
    return root;
}

/* Wider than what is left below 2^64: clipped. */
static struct mem_region *build_past_top_of_space(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0xfffffffffffff000ull, mk_io(t, "top", 0x10000), 0);
    return root;
}

static struct mem_region *build_whole_space(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0, mk_io(t, "all", UINT64_MAX), 0);
    return root;
}

static struct mem_region *build_whole_space_hole(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0, mk_io(t, "all", UINT64_MAX), 0);
    add(t, root, 0x1000, mk_io(t, "uart", 0x1000), 1);
    add(t, root, 0xffffffffffffff00ull, mk_io(t, "top", 0x100), 1);
    return root;
}

/* A 2^64 container inside a 2^64 container at 0x1000: clipped. */
static struct mem_region *build_nested_2_64(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c = mk_container(t, "c", UINT64_MAX);

    add(t, root, 0x1000, c, 0);
    add(t, c, 0, mk_io(t, "all", UINT64_MAX), 0);
    return root;
}

/* Rendered with a limit of 0x10000, like the "io" space. */
static struct mem_region *build_limit(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);

    add(t, root, 0xfff0, mk_io(t, "edge", 0x100), 0);
    add(t, root, 0x20000, mk_io(t, "out", 0x100), 0);
    add(t, root, 0x3f8, mk_io(t, "uart", 8), 0);
    return root;
}

/* The root itself is smaller than the limit. */
static struct mem_region *build_small_root(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", 0x8000);

    add(t, root, 0, mk_io(t, "dev", 0x10000), 0);
    return root;
}

/* Two aliases whose windows are contiguous in both address and offset
 * merge; a discontiguous offset or a readonly one does not. */
static struct mem_region *build_merge_aliases(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x10000);
    struct mem_region *ro = mk_alias(t, "a4", dev, 0x4000, 0x1000);

    add(t, root, 0x10000, mk_alias(t, "a1", dev, 0, 0x1000), 0);
    add(t, root, 0x11000, mk_alias(t, "a2", dev, 0x1000, 0x1000), 0);
    add(t, root, 0x12000, mk_alias(t, "a3", dev, 0x3000, 0x1000), 0);
    add(t, root, 0x13000, ro, 0);
    set_readonly(t, ro, true);
    add(t, root, 0x14000, mk_alias(t, "a5", dev, 0x5000, 0x1000), 0);
    return root;
}

/* An alias showing exactly what its target shows under it merges with
 * the target's own range; two aliases continuing each other merge. */
static struct mem_region *build_merge_region_and_alias(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x4000);

    add(t, root, 0, dev, 0);
    add(t, root, 0x2000, mk_alias(t, "same", dev, 0x2000, 0x2000), 1);
    add(t, root, 0x4000, mk_alias(t, "again", dev, 0, 0x1000), 0);
    add(t, root, 0x5000, mk_alias(t, "next", dev, 0x1000, 0x1000), 0);
    /* Past the target's end: nothing. */
    add(t, root, 0x6000, mk_alias(t, "past", dev, 0x4000, 0x1000), 0);
    return root;
}

/* An empty container over a region, and a disabled region over it, do not
 * split the region's range. */
static struct mem_region *build_merge_transparent(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *off = mk_io(t, "off", 0x1000);

    add(t, root, 0, mk_io(t, "dev", 0x10000), 0);
    add(t, root, 0x1000, mk_container(t, "empty", 0x1000), 1);
    add(t, root, 0x3000, off, 1);
    set_enabled(t, off, false);
    return root;
}

/* A terminal region with subregions: the children win where they are. */
static struct mem_region *build_terminal_with_children(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *dev = mk_io(t, "dev", 0x10000);

    add(t, root, 0x100000, dev, 0);
    add(t, dev, 0x2000, mk_io(t, "sub", 0x1000), 0);
    add(t, dev, 0x8000, mk_container(t, "hole", 0x1000), 0);
    return root;
}

/*
 * Edits after the regions are attached: a RAM region shrunk, an alias
 * moved, subregions added to and removed from an attached terminal region.
 * A render reads a container's record of each child, which every edit must
 * refresh.
 */
static struct mem_region *build_edits_attached(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *ram = mk_ram(t, "ram", 0x4000);
    struct mem_region *dev = mk_io(t, "dev", 0x1000);
    struct mem_region *gone = mk_io(t, "gone", 0x100);
    struct mem_region *al = mk_alias(t, "al", ram, 0, 0x1000);

    add(t, root, 0, mk_io(t, "io", 0x10000), 0);
    add(t, root, 0, ram, 1);
    add(t, root, 0x8000, dev, 1);
    add(t, root, 0x9000, al, 1);
    add(t, dev, 0x20, gone, 0);
    add(t, dev, 0x10, mk_io(t, "sub", 0x10), 1);
    if (!t->err) {
        tree_note(t, mr_resize(ram, 0x2000), "mr_resize");
        tree_note(t, mr_set_alias_offset(al, 0x1000), "mr_set_alias_offset");
        tree_note(t, mr_del_subregion(dev, gone), "mr_del_subregion");
    }
    return root;
}

/* Edits of regions seen only through attached aliases (and an alias of an
 * alias): the aliases show each change of their targets. */
static struct mem_region *build_edits_aliased(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *ro = mk_io(t, "ro", 0x1000);
    struct mem_region *ram = mk_ram(t, "ram", 0x4000);
    struct mem_region *off = mk_io(t, "off", 0x1000);
    struct mem_region *kid = mk_io(t, "kid", 0x1000);
    struct mem_region *flat = mk_io(t, "flat", 0x1000);
    struct mem_region *gone = mk_io(t, "gone", 0x10);
    struct mem_region *a_ro = mk_alias(t, "a_ro", ro, 0, 0x1000);

    add(t, flat, 0, gone, 0);
    add(t, root, 0, a_ro, 0);
    add(t, root, 0x10000, mk_alias(t, "a_ram", ram, 0x1000, 0x2000), 0);
    add(t, root, 0x20000, mk_io(t, "under", 0x1000), 0);
    add(t, root, 0x20000, mk_alias(t, "a_off", off, 0, 0x1000), 1);
    add(t, root, 0x30000, mk_alias(t, "a_kid", kid, 0, 0x1000), 0);
    add(t, root, 0x40000, mk_alias(t, "a_flat", flat, 0, 0x1000), 0);
    add(t, root, 0x50000, mk_alias(t, "a_a", a_ro, 0, 0x1000), 0);
    if (!t->err) {
        set_readonly(t, ro, true);
        tree_note(t, mr_resize(ram, 0x2000), "mr_resize");
        set_enabled(t, off, false);
        add(t, kid, 0x100, mk_io(t, "sub", 0x10), 0);
        tree_note(t, mr_del_subregion(flat, gone), "mr_del_subregion");
    }
    return root;
}

static struct mem_region *build_readonly_alias(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *ram = mk_ram(t, "ram", 0x4000);
    struct mem_region *ro = mk_alias(t, "ro", ram, 0, 0x4000);

    add(t, root, 0, ram, 0);
    add(t, root, 0x10000, ro, 0);
    set_readonly(t, ro, true);
    /* ROM is readonly only when asked. */
    add(t, root, 0x20000, mk_rom(t, "rom", 0x1000), 0);
    return root;
}

/* Readonly on a container reaches its children and through an alias of an
 * alias of it. */
static struct mem_region *build_readonly_container(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *c = mk_container(t, "c", 0x2000);
    struct mem_region *dev = mk_io(t, "dev", 0x1000);
    struct mem_region *rw = mk_io(t, "rw", 0x1000);
    struct mem_region *a1 = mk_alias(t, "a1", dev, 0, 0x1000);

    add(t, c, 0, dev, 0);
    add(t, root, 0x1000, c, 0);
    set_readonly(t, c, true);
    set_readonly(t, a1, true);
    add(t, root, 0x8000, mk_alias(t, "a2", a1, 0, 0x1000), 0);
    add(t, root, 0x9000, rw, 0);
    return root;
}

/* An alias onto a readonly region is readonly too. */
static struct mem_region *build_readonly_target(struct tree *t)
{
    struct mem_region *root = mk_container(t, "root", UINT64_MAX);
    struct mem_region *ram = mk_ram(t, "ram", 0x2000);

    set_readonly(t, ram, true);
    add(t, root, 0x4000, mk_alias(t, "win", ram, 0x1000, 0x1000), 0);
    return root;
}

#define RW(first, last, name, offset)                                          \
    {                                                                          \
        first, last, name, offset, false                                       \
    }
#define RO(first, last, name, offset)                                          \
    {                                                                          \
        first, last, name, offset, true                                        \
    }

static const struct render_case cases[] = {
    {"mmio hole in ram",
     build_mmio_hole,
     0,
     {RW(0x0, 0xcfffffff, "ram", 0), RW(0xd0000000, 0xd0000fff, "uart", 0),
      RW(0xd0001000, 0xffffffff, "ram", 0xd0001000)}},
    {"mmio hole in real ram",
     build_mmio_hole_real_ram,
     0,
     {RW(0x0, 0x2fffffff, "ram", 0), RW(0x30000000, 0x30000fff, "uart", 0),
      RW(0x30001000, 0x3fffffff, "ram", 0x30001000)}},
    {"mmio hole, hole added first",
     build_mmio_hole_reversed,
     0,
     {RW(0x0, 0xcfffffff, "ram", 0), RW(0xd0000000, 0xd0000fff, "uart", 0),
      RW(0xd0001000, 0xffffffff, "ram", 0xd0001000)}},
    {"priorities",
     build_priorities,
     0,
     {RW(0x0, 0x1fff, "a", 0), RW(0x2000, 0x3fff, "c", 0),
      RW(0x4000, 0x7fff, "b", 0), RW(0x8000, 0xffff, "a", 0x8000),
      RW(0x10000, 0x1ffff, "d", 0x10000)}},
    {"equal priority: later added wins",
     build_equal_later_wins,
     0,
     {RW(0x0, 0xfff, "first", 0), RW(0x1000, 0x2fff, "second", 0)}},
    {"equal priority: later added wins (other side)",
     build_equal_later_wins_rev,
     0,
     {RW(0x0, 0x1fff, "second", 0), RW(0x2000, 0x2fff, "first", 0x1000)}},
    {"equal priority via mr_add_subregion",
     build_equal_plain_add,
     0,
     {RW(0x1000, 0x1fff, "first", 0), RW(0x2000, 0x3fff, "second", 0)}},
    {"alias with offset",
     build_alias_offset,
     0,
     {RW(0x0, 0xffff, "ram", 0), RW(0x100000, 0x101fff, "ram", 0x4000)}},
    {"alias of alias: offsets compose",
     build_alias_of_alias,
     0,
     {RW(0x200000, 0x200fff, "ram", 0x3000)}},
    {"alias past target end is a hole",
     build_alias_past_end,
     0,
     {RW(0x0, 0xffff, "bg", 0), RW(0x10000, 0x107ff, "dev", 0x800),
      RW(0x10800, 0x1ffff, "bg", 0x10800)}},
    {"alias of alias past target end",
     build_alias_of_alias_past_end,
     0,
     {RW(0x0, 0x7ff, "dev", 0x1800)}},
    {"alias ignores target address",
     build_alias_ignores_target_addr,
     0,
     {RW(0x5000, 0x5fff, "dev", 0), RW(0x9000, 0x9fff, "dev", 0)}},
    {"alias of container",
     build_alias_of_container,
     0,
     {RW(0x40800, 0x417ff, "x", 0), RW(0x42800, 0x42fff, "y", 0)}},
    {"alias offset near 2^64 onto 2^64 region",
     build_alias_high_offset,
     0,
     {RW(0x10000, 0x10fff, "all", 0xfffffffffffff000ull)}},
    {"no merge when offsets wrap at 2^64",
     build_no_merge_across_wrap,
     0,
     {RW(0x0, 0xfff, "all", 0xfffffffffffff000ull),
      RW(0x1000, UINT64_MAX, "all", 0)}},
    {"alias onto a disabled region",
     build_alias_disabled_target,
     0,
     {RW(0x0, 0x2fff, "bg", 0), RW(0x3000, 0x3fff, "boxed", 0),
      RW(0x4000, 0xffff, "bg", 0x4000)}},
    {"alias at top of space",
     build_alias_at_top,
     0,
     {RW(0xfffffffffffff000ull, UINT64_MAX, "dev", 0x2000)}},
    {"nested containers add offsets",
     build_nested,
     0,
     {RW(0x100000, 0x100fff, "w", 0), RW(0x120300, 0x1203ff, "z", 0)}},
    {"container transparent around its child",
     build_transparent_container,
     0,
     {RW(0x0, 0x2fff, "bg", 0), RW(0x3000, 0x3fff, "dev", 0),
      RW(0x4000, 0x7fff, "bg", 0x4000)}},
    {"disabled region lets sibling show",
     build_disabled_region,
     0,
     {RW(0x0, 0xffff, "bg", 0)}},
    {"disabled container hides subtree",
     build_disabled_container,
     0,
     {RW(0x0, 0xfff, "keep", 0)}},
    {"re-enabled region", build_reenabled, 0, {RW(0x1000, 0x1fff, "dev", 0)}},
    {"child clipped to container",
     build_clip_child,
     0,
     {RW(0x10800, 0x10fff, "wide", 0)}},
    {"zero-size regions render nothing",
     build_zero_size,
     0,
     {RW(0x0, 0x3fff, "bg", 0)}},
    {"region ending at 2^64",
     build_top_of_space,
     0,
     {RW(0xffffffffffff0000ull, UINT64_MAX, "top", 0)}},
    {"region clipped at 2^64",
     build_past_top_of_space,
     0,
     {RW(0xfffffffffffff000ull, UINT64_MAX, "top", 0)}},
    {"2^64 region at 0", build_whole_space, 0, {RW(0x0, UINT64_MAX, "all", 0)}},
    {"2^64 region with holes",
     build_whole_space_hole,
     0,
     {RW(0x0, 0xfff, "all", 0), RW(0x1000, 0x1fff, "uart", 0),
      RW(0x2000, 0xfffffffffffffeffull, "all", 0x2000),
      RW(0xffffffffffffff00ull, UINT64_MAX, "top", 0)}},
    {"2^64 container at 0x1000 clipped",
     build_nested_2_64,
     0,
     {RW(0x1000, UINT64_MAX, "all", 0)}},
    {"root clipped to limit 0x10000",
     build_limit,
     0x10000,
     {RW(0x3f8, 0x3ff, "uart", 0), RW(0xfff0, 0xffff, "edge", 0)}},
    {"root smaller than limit",
     build_small_root,
     0,
     {RW(0x0, 0x7fff, "dev", 0)}},
    {"merge of adjacent alias windows",
     build_merge_aliases,
     0,
     {RW(0x10000, 0x11fff, "dev", 0), RW(0x12000, 0x12fff, "dev", 0x3000),
      RO(0x13000, 0x13fff, "dev", 0x4000),
      RW(0x14000, 0x14fff, "dev", 0x5000)}},
    {"merge of region and alias continuing it",
     build_merge_region_and_alias,
     0,
     {RW(0x0, 0x3fff, "dev", 0), RW(0x4000, 0x5fff, "dev", 0)}},
    {"merge across transparent and disabled",
     build_merge_transparent,
     0,
     {RW(0x0, 0xffff, "dev", 0)}},
    {"edits after attaching",
     build_edits_attached,
     0,
     {RW(0, 0x1fff, "ram", 0), RW(0x2000, 0x7fff, "io", 0x2000),
      RW(0x8000, 0x800f, "dev", 0), RW(0x8010, 0x801f, "sub", 0),
      RW(0x8020, 0x8fff, "dev", 0x20), RW(0x9000, 0x9fff, "ram", 0x1000),
      RW(0xa000, 0xffff, "io", 0xa000)}},
    {"edits of aliased regions",
     build_edits_aliased,
     0,
     {RO(0, 0xfff, "ro", 0), RW(0x10000, 0x10fff, "ram", 0x1000),
      RW(0x20000, 0x20fff, "under", 0), RW(0x30000, 0x300ff, "kid", 0),
      RW(0x30100, 0x3010f, "sub", 0), RW(0x30110, 0x30fff, "kid", 0x110),
      RW(0x40000, 0x40fff, "flat", 0), RO(0x50000, 0x50fff, "ro", 0)}},
    {"terminal region with children",
     build_terminal_with_children,
     0,
     {RW(0x100000, 0x101fff, "dev", 0), RW(0x102000, 0x102fff, "sub", 0),
      RW(0x103000, 0x10ffff, "dev", 0x3000)}},
    {"readonly via alias",
     build_readonly_alias,
     0,
     {RW(0x0, 0x3fff, "ram", 0), RO(0x10000, 0x13fff, "ram", 0),
      RW(0x20000, 0x20fff, "rom", 0)}},
    {"readonly container and alias of alias",
     build_readonly_container,
     0,
     {RO(0x1000, 0x1fff, "dev", 0), RO(0x8000, 0x8fff, "dev", 0),
      RW(0x9000, 0x9fff, "rw", 0)}},
    {"alias of readonly region",
     build_readonly_target,
     0,
     {RO(0x4000, 0x4fff, "ram", 0x1000)}},
};

static size_t want_count(const struct render_case *c)
{
    size_t n = 0;

    while (n < MAX_RANGES && c->want[n].name) {
        n++;
    }
    return n;
}

static bool range_matches(const struct flat_range *fr,
                          const struct want_range *w)
{
    return fr->first == w->first && fr->last == w->last && fr->mr &&
           strcmp(mr_name(fr->mr), w->name) == 0 && fr->offset == w->offset &&
           fr->readonly == w->readonly;
}

/* Cross-check the view against the naive resolver at every range edge. */
static bool naive_agrees(struct mem_region *root, mr_size_t limit,
                         const struct flatview *fv)
{
    for (size_t i = 0; i < fv->nr; i++) {
        const struct flat_range *fr = &fv->ranges[i];
        gpa_t probes[2] = {fr->first, fr->last};

        for (unsigned p = 0; p < 2; p++) {
            struct naive_hit hit;

            if (!naive_resolve(root, limit, probes[p], &hit) ||
                hit.mr != fr->mr ||
                hit.offset != fr->offset + (probes[p] - fr->first) ||
                hit.readonly != fr->readonly) {
                fprintf(stderr, "  naive disagrees at 0x%" PRIx64 "\n",
                        probes[p]);
                return false;
            }
        }
    }
    return true;
}

static void run_case(const struct render_case *c)
{
    struct tree t;
    struct mem_region *root;
    struct flatview *fv = NULL;
    mr_size_t limit = c->limit ? c->limit : MR_SIZE_2_64;
    size_t n = want_count(c);
    bool ok = true;
    int rc;

    memset(&t, 0, sizeof(t));
    root = c->build(&t);
    if (t.err || !root) {
        CHECK(0, "%s: building the tree failed at %s: %d", c->name,
              t.err_what ? t.err_what : "?", t.err);
        tree_free(&t);
        return;
    }
    rc = flatview_render(root, limit, &fv);
    if (rc != 0 || !fv) {
        CHECK(0, "%s: flatview_render: %d", c->name, rc);
        tree_free(&t);
        return;
    }
    if (fv->nr != n) {
        ok = false;
    }
    for (size_t i = 0; ok && i < n; i++) {
        if (!range_matches(&fv->ranges[i], &c->want[i])) {
            ok = false;
        }
    }
    if (!ok) {
        CHECK(0, "%s: wrong view", c->name);
        fprintf(stderr, "  want:\n");
        for (size_t i = 0; i < n; i++) {
            const struct want_range *w = &c->want[i];

            fprintf(stderr,
                    "    [%zu] %016" PRIx64 "-%016" PRIx64 " %s +0x%" PRIx64
                    "%s\n",
                    i, w->first, w->last, w->name, w->offset,
                    w->readonly ? " ro" : "");
        }
        fprintf(stderr, "  got:\n");
        unit_print_view(stderr, "    ", fv);
    }
    CHECK(naive_agrees(root, limit, fv), "%s: naive resolver disagrees",
          c->name);
    flatview_free(fv);
    tree_free(&t);
}

/* ---- flatview_lookup ---- */

struct lookup_probe {
    gpa_t addr;
    /* NULL: unassigned. */
    const char *name;
    uint64_t offset;
};

static void check_lookups(const char *what, const struct flatview *fv,
                          const struct lookup_probe *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct flat_range *fr = flatview_lookup(fv, p[i].addr);

        if (!p[i].name) {
            CHECK(fr == NULL, "%s: lookup(0x%" PRIx64 ") should be unassigned",
                  what, p[i].addr);
            continue;
        }
        if (!fr) {
            CHECK(0, "%s: lookup(0x%" PRIx64 ") found nothing, want %s", what,
                  p[i].addr, p[i].name);
            continue;
        }
        CHECK(fr->first <= p[i].addr && p[i].addr <= fr->last,
              "%s: lookup(0x%" PRIx64 ") returned a range not containing it",
              what, p[i].addr);
        CHECK(strcmp(mr_name(fr->mr), p[i].name) == 0,
              "%s: lookup(0x%" PRIx64 ") = %s, want %s", what, p[i].addr,
              mr_name(fr->mr), p[i].name);
        CHECK(fr->offset + (p[i].addr - fr->first) == p[i].offset,
              "%s: lookup(0x%" PRIx64 ") offset 0x%" PRIx64 ", want 0x%" PRIx64,
              what, p[i].addr, fr->offset + (p[i].addr - fr->first),
              p[i].offset);
    }
}

static void lookup_case(const char *what,
                        struct mem_region *(*build)(struct tree *),
                        const struct lookup_probe *p, size_t n)
{
    struct tree t;
    struct mem_region *root;
    struct flatview *fv = NULL;
    int rc;

    memset(&t, 0, sizeof(t));
    root = build(&t);
    if (t.err || !root) {
        CHECK(0, "%s: build failed: %d", what, t.err);
        tree_free(&t);
        return;
    }
    rc = flatview_render(root, MR_SIZE_2_64, &fv);
    CHECK(rc == 0, "%s: render: %d", what, rc);
    if (rc == 0) {
        check_lookups(what, fv, p, n);
        flatview_free(fv);
    }
    tree_free(&t);
}

static struct mem_region *build_empty(struct tree *t)
{
    return mk_container(t, "root", UINT64_MAX);
}

static void test_lookup(void)
{
    static const struct lookup_probe hole[] = {
        {0x0, "ram", 0x0},
        {0x1, "ram", 0x1},
        {0xcfffffff, "ram", 0xcfffffff},
        {0xd0000000, "uart", 0x0},
        {0xd0000001, "uart", 0x1},
        {0xd0000fff, "uart", 0xfff},
        {0xd0001000, "ram", 0xd0001000},
        {0xffffffff, "ram", 0xffffffff},
        {0x100000000ull, NULL, 0},
        {0x123456789ull, NULL, 0},
        {UINT64_MAX - 1, NULL, 0},
        {UINT64_MAX, NULL, 0},
    };
    static const struct lookup_probe top[] = {
        {0x0, NULL, 0},
        {0xfffffffffffeffffull, NULL, 0},
        {0xffffffffffff0000ull, "top", 0},
        {0xffffffffffff0001ull, "top", 1},
        {UINT64_MAX - 1, "top", 0xfffe},
        {UINT64_MAX, "top", 0xffff},
    };
    static const struct lookup_probe whole[] = {
        {0x0, "all", 0x0},
        {0xfff, "all", 0xfff},
        {0x1000, "uart", 0x0},
        {0x1fff, "uart", 0xfff},
        {0x2000, "all", 0x2000},
        {0xfffffffffffffeffull, "all", 0xfffffffffffffeffull},
        {0xffffffffffffff00ull, "top", 0x0},
        {UINT64_MAX, "top", 0xff},
    };
    static const struct lookup_probe gaps[] = {
        {0x0, "a", 0x0},      {0x7ff, "a", 0x7ff},  {0x800, NULL, 0},
        {0xfff, NULL, 0},     {0x1fff, "b", 0xfff}, {0x2000, "c", 0x0},
        {0x2fff, "c", 0xfff}, {0x3000, NULL, 0},    {0x4fff, NULL, 0},
        {0x5000, "d", 0x0},   {0x5001, "d", 0x1},   {0x5002, NULL, 0},
    };
    static const struct lookup_probe none[] = {
        {0x0, NULL, 0},
        {0x1000, NULL, 0},
        {UINT64_MAX, NULL, 0},
    };

    lookup_case("lookup mmio hole", build_mmio_hole, hole,
                sizeof(hole) / sizeof(hole[0]));
    lookup_case("lookup top of space", build_top_of_space, top,
                sizeof(top) / sizeof(top[0]));
    lookup_case("lookup whole space", build_whole_space_hole, whole,
                sizeof(whole) / sizeof(whole[0]));
    lookup_case("lookup empty view", build_empty, none,
                sizeof(none) / sizeof(none[0]));

    /* Many small ranges with gaps, so the binary search takes several
     * steps. */
    {
        struct tree t;
        struct mem_region *root;
        struct flatview *fv = NULL;
        char names[32][8];
        int rc;

        memset(&t, 0, sizeof(t));
        root = mk_container(&t, "root", UINT64_MAX);
        add(&t, root, 0x0, mk_io(&t, "a", 0x800), 0);
        add(&t, root, 0x1000, mk_io(&t, "b", 0x1000), 0);
        add(&t, root, 0x2000, mk_io(&t, "c", 0x1000), 0);
        add(&t, root, 0x5000, mk_io(&t, "d", 0x2), 0);
        for (unsigned i = 0; i < 16; i++) {
            snprintf(names[i], sizeof(names[i]), "n%u", i);
            add(&t, root, 0x100000 + 0x2000 * (gpa_t)i,
                mk_io(&t, names[i], 0x1000), 0);
        }
        rc = t.err ? t.err : flatview_render(root, MR_SIZE_2_64, &fv);
        CHECK(rc == 0, "lookup gaps: %d", rc);
        if (rc == 0) {
            check_lookups("lookup gaps", fv, gaps,
                          sizeof(gaps) / sizeof(gaps[0]));
            for (unsigned i = 0; i < 16; i++) {
                gpa_t base = 0x100000 + 0x2000 * (gpa_t)i;
                struct lookup_probe p[4] = {
                    {base - 1, NULL, 0},
                    {base, names[i], 0},
                    {base + 0xfff, names[i], 0xfff},
                    {base + 0x1000, NULL, 0},
                };

                check_lookups("lookup many", fv, p, 4);
            }
            flatview_free(fv);
        }
        tree_free(&t);
    }
}

/* ---- API errors seen at render level ---- */

/* How the region at the bottom of render_at_depth()'s chain is made. */
enum depth_leaf {
    DEPTH_IO,             /* an I/O region */
    DEPTH_ALIAS,          /* an alias onto a plain I/O region */
    DEPTH_ALIAS_INNER,    /* an alias onto an I/O region with a subregion */
    DEPTH_ALIAS_DISABLED, /* an alias onto a disabled I/O region */
};

/* Render a root holding (depth) nested containers with a (how) region in
 * the deepest; the view must have one range, none for a disabled target.
 * Returns the render's result. */
static int render_at_depth(unsigned depth, enum depth_leaf how)
{
    struct mem_region *c = calloc(depth + 4, sizeof(*c));
    struct mem_region *leaf = c ? &c[depth + 1] : NULL;
    struct mem_region *target = c ? &c[depth + 2] : NULL;
    struct mem_region *sub = c ? &c[depth + 3] : NULL;
    struct flatview *fv = NULL;
    int rc;

    if (!c) {
        CHECK(0, "depth %u: out of memory", depth);
        return -ENOMEM;
    }
    rc = mr_init_container(&c[0], "root", UINT64_MAX);
    for (unsigned i = 1; i <= depth && rc == 0; i++) {
        rc = mr_init_container(&c[i], "c", 0x1000);
    }
    rc = rc ? rc : mr_init_io(target, "t", 0x1000, &dummy_ops, NULL);
    rc = rc ? rc : mr_init_io(sub, "s", 0x10, &dummy_ops, NULL);
    if (rc == 0 && how == DEPTH_IO) {
        rc = mr_init_io(leaf, "l", 0x1000, &dummy_ops, NULL);
    } else if (rc == 0) {
        rc = mr_init_alias(leaf, "l", target, 0, 0x1000);
    }
    if (rc == 0 && how == DEPTH_ALIAS_INNER) {
        rc = mr_add_subregion(target, 0x100, sub);
    }
    if (rc == 0 && how == DEPTH_ALIAS_DISABLED) {
        rc = mr_set_enabled(target, false);
    }
    rc = rc ? rc : mr_add_subregion(&c[depth], 0, leaf);
    for (unsigned i = depth; i > 0 && rc == 0; i--) {
        rc = mr_add_subregion(&c[i - 1], 0, &c[i]);
    }
    CHECK(rc == 0, "depth %u: build: %d", depth, rc);
    if (rc == 0) {
        rc = flatview_render(&c[0], MR_SIZE_2_64, &fv);
    }
    if (fv) {
        size_t want = how == DEPTH_ALIAS_DISABLED ? 0
                      : how == DEPTH_ALIAS_INNER  ? 3
                                                  : 1;

        CHECK(fv->nr == want, "depth %u: %zu ranges, want %zu", depth, fv->nr,
              want);
        flatview_free(fv);
    }
    /* Teardown: detach everything, then the alias before its target. */
    for (unsigned i = 0; i < depth + 4; i++) {
        if (c[i].container) {
            CHECK(mr_del_subregion(c[i].container, &c[i]) == 0, "del");
        }
    }
    for (unsigned i = depth + 4; i-- > 0;) {
        if (c[i].name && c[i].kind == MR_ALIAS) {
            CHECK(mr_destroy(&c[i]) == 0, "destroy %u", i);
        }
    }
    for (unsigned i = 0; i < depth + 4; i++) {
        if (c[i].name) {
            CHECK(mr_destroy(&c[i]) == 0, "destroy %u", i);
        }
    }
    free(c);
    return rc;
}

/*
 * The render refuses nesting deeper than 256 levels (-ELOOP) rather than
 * risk the stack: a region in 256 nested containers renders, in 257 it
 * does not. An alias's target counts two levels below the alias's
 * container, whether the alias's record carries the target or not; a
 * disabled target is not entered, so only the alias's own level counts.
 */
static void test_depth(void)
{
    static const struct {
        enum depth_leaf how;
        unsigned deepest_ok;
    } rows[] = {
        {DEPTH_IO, 256},
        {DEPTH_ALIAS, 254},
        {DEPTH_ALIAS_INNER, 254},
        {DEPTH_ALIAS_DISABLED, 255},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned d = rows[i].deepest_ok;
        int rc = render_at_depth(d, rows[i].how);

        CHECK(rc == 0, "leaf kind %d at depth %u: %d", rows[i].how, d, rc);
        rc = render_at_depth(d + 1, rows[i].how);
        CHECK(rc == -ELOOP, "leaf kind %d at depth %u: %d, want -ELOOP",
              rows[i].how, d + 1, rc);
    }
}

static void test_errors(void)
{
    struct tree t;
    struct mem_region *root, *a, *b, *al, *c;
    int rc;

    memset(&t, 0, sizeof(t));
    root = mk_container(&t, "root", UINT64_MAX);
    a = mk_io(&t, "a", 0x1000);
    b = mk_container(&t, "b", 0x1000);
    c = mk_container(&t, "c", 0x1000);
    al = mk_alias(&t, "al", c, 0, 0x1000);
    if (t.err) {
        CHECK(0, "errors: build failed: %d", t.err);
        tree_free(&t);
        return;
    }

    rc = mr_add_subregion(root, 0, a);
    CHECK(rc == 0, "add a: %d", rc);
    rc = mr_add_subregion(b, 0, a);
    CHECK(rc == -EBUSY, "add of an attached region: %d, want -EBUSY", rc);
    rc = mr_add_subregion(al, 0, b);
    CHECK(rc == -EINVAL, "add below an alias: %d, want -EINVAL", rc);
    rc = mr_add_subregion(b, 0, b);
    CHECK(rc == -EINVAL, "add to itself: %d, want -EINVAL", rc);
    rc = mr_add_subregion(root, 0, b);
    CHECK(rc == 0, "add b: %d", rc);
    rc = mr_add_subregion(b, 0, root);
    CHECK(rc == -EINVAL, "add root below its child: %d, want -EINVAL", rc);
    /* c -> al -> c through the alias. */
    rc = mr_add_subregion(c, 0, al);
    CHECK(rc == -EINVAL, "cycle through an alias: %d, want -EINVAL", rc);
    if (rc == 0) {
        rc = mr_del_subregion(c, al);
        CHECK(rc == 0, "undo cycle: %d", rc);
    }
    rc = mr_del_subregion(b, a);
    CHECK(rc == -ENOENT, "del from the wrong container: %d, want -ENOENT", rc);
    rc = mr_set_alias_offset(a, 0x10);
    CHECK(rc == -EINVAL, "set_alias_offset on I/O: %d, want -EINVAL", rc);
    rc = mr_destroy(a);
    CHECK(rc == -EBUSY, "destroy attached: %d, want -EBUSY", rc);
    rc = mr_destroy(root);
    CHECK(rc == -EBUSY, "destroy with children: %d, want -EBUSY", rc);
    rc = mr_destroy(c);
    CHECK(rc == -EBUSY, "destroy alias target: %d, want -EBUSY", rc);
    {
        struct mem_region bad;

        memset(&bad, 0, sizeof(bad));
        rc = mr_init_ram(&bad, "bad", 0x1001);
        CHECK(rc == -EINVAL, "ram of 0x1001 bytes: %d, want -EINVAL", rc);
        if (rc == 0) {
            CHECK(mr_destroy(&bad) == 0, "destroy bad");
        }
        rc = mr_init_ram(&bad, "bad", 0);
        CHECK(rc == -EINVAL, "ram of 0 bytes: %d, want -EINVAL", rc);
        if (rc == 0) {
            CHECK(mr_destroy(&bad) == 0, "destroy bad");
        }
    }
    CHECK(mr_size(root) == MR_SIZE_2_64, "root size is not 2^64");
    CHECK(mr_size(a) == 0x1000, "a size");
    CHECK(strcmp(mr_name(a), "a") == 0, "name");
    tree_free(&t);
}

/* ---- lookups in big views ---- */

/* The range index a linear scan finds for (a), or -1. */
static long linear_index(const struct flatview *fv, gpa_t a)
{
    for (size_t i = 0; i < fv->nr; i++) {
        if (fv->ranges[i].first <= a && a <= fv->ranges[i].last) {
            return (long)i;
        }
    }
    return -1;
}

static bool lookup_is(const struct flatview *fv, gpa_t a, long want)
{
    const struct flat_range *fr = flatview_lookup(fv, a);

    if (want < 0) {
        return fr == NULL;
    }
    return fr == &fv->ranges[want];
}

/*
 * Probe every range of (fv) at first-1, first, mid, last and last+1, plus
 * the ends of the space, against what the regular layout implies: range i
 * is [base + i * stride, base + i * stride + size).
 */
static void check_big_view(const char *what, const struct flatview *fv,
                           size_t n, gpa_t base, gpa_t stride, gpa_t size)
{
    unsigned bad = 0;

    CHECK(fv->nr == n, "%s: %zu ranges, want %zu", what, fv->nr, n);
    if (fv->nr != n) {
        return;
    }
    for (size_t i = 0; i < n && bad < 5; i++) {
        gpa_t first = base + stride * (gpa_t)i;
        gpa_t last = first + size - 1;
        gpa_t probes[5] = {first - 1, first, first + size / 2, last, last + 1};

        if (fv->ranges[i].first != first || fv->ranges[i].last != last) {
            CHECK(0, "%s: range %zu is %" PRIx64 "-%" PRIx64, what, i,
                  fv->ranges[i].first, fv->ranges[i].last);
            bad++;
            continue;
        }
        for (unsigned p = 0; p < 5; p++) {
            long want = linear_index(fv, probes[p]);

            if (!lookup_is(fv, probes[p], want)) {
                CHECK(0, "%s: lookup(0x%" PRIx64 ") wrong (want range %ld)",
                      what, probes[p], want);
                bad++;
            }
        }
    }
    CHECK(lookup_is(fv, 0, linear_index(fv, 0)), "%s: lookup(0)", what);
    CHECK(lookup_is(fv, UINT64_MAX, linear_index(fv, UINT64_MAX)),
          "%s: lookup(2^64-1)", what);
}

/* A view with the same ranges but none of mem/'s private lookup index, as
 * someone outside mem/ would build it. */
static void check_indexless_copy(const char *what, const struct flatview *fv)
{
    struct flatview copy;
    unsigned bad = 0;

    memset(&copy, 0, sizeof(copy));
    copy.nr = fv->nr;
    copy.ranges = fv->ranges;
    for (size_t i = 0; i < fv->nr && bad < 5; i++) {
        const struct flat_range *fr = &fv->ranges[i];
        gpa_t probes[4] = {fr->first - 1, fr->first, fr->last, fr->last + 1};

        for (unsigned p = 0; p < 4; p++) {
            const struct flat_range *a = flatview_lookup(&copy, probes[p]);
            const struct flat_range *b = flatview_lookup(fv, probes[p]);

            if (a != b) {
                CHECK(0, "%s: index-less lookup(0x%" PRIx64 ") differs", what,
                      probes[p]);
                bad++;
            }
        }
    }
}

static void big_case(size_t n, gpa_t base, gpa_t stride, gpa_t size)
{
    struct mem_region root;
    struct mem_region *regs = calloc(n, sizeof(*regs));
    struct flatview *fv = NULL;
    size_t made = 0;
    char what[96];
    int rc;

    snprintf(what, sizeof(what),
             "big view: %zu ranges at 0x%" PRIx64 " stride 0x%" PRIx64
             " size 0x%" PRIx64,
             n, base, stride, size);
    if (!regs) {
        CHECK(0, "%s: out of memory", what);
        return;
    }
    rc = mr_init_container(&root, "root", UINT64_MAX);
    if (rc) {
        CHECK(0, "%s: init root: %d", what, rc);
        free(regs);
        return;
    }
    for (; made < n; made++) {
        char name[24];

        snprintf(name, sizeof(name), "r%zu", made);
        rc = mr_init_io(&regs[made], name, size, &dummy_ops, NULL);
        if (rc) {
            break;
        }
        rc = mr_add_subregion(&root, base + stride * (gpa_t)made, &regs[made]);
        if (rc) {
            made++;
            break;
        }
    }
    CHECK(rc == 0, "%s: building: %d", what, rc);
    if (rc == 0) {
        rc = flatview_render(&root, MR_SIZE_2_64, &fv);
        CHECK(rc == 0, "%s: render: %d", what, rc);
    }
    if (fv) {
        check_big_view(what, fv, n, base, stride, size);
        check_indexless_copy(what, fv);
        flatview_free(fv);
    }
    for (size_t i = 0; i < made; i++) {
        if (regs[i].container) {
            CHECK(mr_del_subregion(&root, &regs[i]) == 0, "%s: del", what);
        }
        CHECK(mr_destroy(&regs[i]) == 0, "%s: destroy", what);
    }
    CHECK(mr_destroy(&root) == 0, "%s: destroy root", what);
    free(regs);
}

/* Views around every level boundary of a 16-ary index, with gaps between
 * ranges and without, low in the space and against its top. */
static void test_lookup_big(void)
{
    static const size_t sizes[] = {1,   2,   15,   16,   17,   255, 256,
                                   257, 300, 4095, 4096, 4097, 5000};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];

        big_case(n, 0x1000, 0x2000, 0x1000);
        big_case(n, 0, 0x1000, 0x1000);
        big_case(n, 0 - (gpa_t)n * 0x1000, 0x1000, 0x1000);
    }
}

int main(void)
{
    size_t n = sizeof(cases) / sizeof(cases[0]);

    for (size_t i = 0; i < n; i++) {
        unsigned before = unit_failures;

        run_case(&cases[i]);
        if (unit_failures != before) {
            fprintf(stderr, "case \"%s\" failed\n", cases[i].name);
        }
    }
    test_lookup();
    test_lookup_big();
    test_errors();
    test_depth();
    printf("test_render: %zu cases, %u failures\n", n, unit_failures);
    return unit_failures ? 1 : 0;
}
