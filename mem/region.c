/* SPDX-License-Identifier: MIT */
/*
 * The region tree: initialisation, edits and the bookkeeping that tells the
 * next commit which address spaces to re-render.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem-internal.h"
#include "mem/ramblock.h"
#include "mem/region.h"

static mr_size_t size_from_api(uint64_t size)
{
    return size == UINT64_MAX ? MR_SIZE_2_64 : (mr_size_t)size;
}

static int mr_init_common(struct mem_region *mr, const char *name,
                          enum mr_kind kind, mr_size_t size)
{
    char *copy = strdup(name ? name : "");

    if (!copy) {
        return -ENOMEM;
    }
    memset(mr, 0, sizeof(*mr));
    mr->name = copy;
    mr->kind = kind;
    mr->size = size;
    mr->enabled = true;
    return 0;
}

int mr_init_container(struct mem_region *mr, const char *name, uint64_t size)
{
    return mr_init_common(mr, name, MR_CONTAINER, size_from_api(size));
}

static int mr_init_owned_ram(struct mem_region *mr, const char *name,
                             enum mr_kind kind, uint64_t size)
{
    struct ram_block *rb;
    int ret;

    ret = ram_block_alloc_anon(name, size, size, &rb);
    if (ret < 0) {
        return ret;
    }
    ret = mr_init_common(mr, name, kind, size);
    if (ret < 0) {
        ram_block_free(rb);
        return ret;
    }
    mr->block = rb;
    mr->owns_block = true;
    return 0;
}

int mr_init_ram(struct mem_region *mr, const char *name, uint64_t size)
{
    return mr_init_owned_ram(mr, name, MR_RAM, size);
}

int mr_init_ram_block(struct mem_region *mr, const char *name,
                      struct ram_block *block)
{
    int ret;

    if (!block) {
        return -EINVAL;
    }
    ret = mr_init_common(mr, name, MR_RAM, ram_block_used_length(block));
    if (ret < 0) {
        return ret;
    }
    mr->block = block;
    return 0;
}

int mr_init_rom(struct mem_region *mr, const char *name, uint64_t size,
                const struct mr_ops *ops, void *opaque)
{
    int ret = mr_init_owned_ram(mr, name, MR_ROM, size);

    if (ret < 0) {
        return ret;
    }
    mr->ops = ops;
    mr->opaque = opaque;
    return 0;
}

int mr_init_io(struct mem_region *mr, const char *name, uint64_t size,
               const struct mr_ops *ops, void *opaque)
{
    int ret;

    if (!ops) {
        return -EINVAL;
    }
    ret = mr_init_common(mr, name, MR_IO, size_from_api(size));
    if (ret < 0) {
        return ret;
    }
    mr->ops = ops;
    mr->opaque = opaque;
    return 0;
}

int mr_init_alias(struct mem_region *mr, const char *name,
                  struct mem_region *target, uint64_t offset, uint64_t size)
{
    int ret;

    if (!target || target == mr) {
        return -EINVAL;
    }
    ret = mr_init_common(mr, name, MR_ALIAS, size_from_api(size));
    if (ret < 0) {
        return ret;
    }
    mr->alias = target;
    mr->alias_offset = offset;
    mr->next_alias = target->aliases;
    target->aliases = mr;
    /* An alias inherits the system of its target (and gives it its own
     * when it is attached later). */
    mem_sys_set(&mr->sys, mr_live_sys(target));
    return 0;
}

int mr_destroy(struct mem_region *mr)
{
    if (mr->container || mr->nr_kids || mr->aliases) {
        return -EBUSY;
    }
    if (mr->alias) {
        struct mem_region **p = &mr->alias->aliases;

        while (*p != mr) {
            p = &(*p)->next_alias;
        }
        *p = mr->next_alias;
    }
    if (mr->owns_block) {
        ram_block_free(mr->block);
    }
    mem_sys_set(&mr->sys, NULL);
    free(mr->kids);
    free(mr->name);
    memset(mr, 0, sizeof(*mr));
    return 0;
}

/*
 * Edits run as their own transaction when the region belongs to a system,
 * so that each of them is published (QEMU does the same).
 */
static struct mem_sys *edit_begin(struct mem_region *mr)
{
    struct mem_sys *sys = mr_live_sys(mr);

    if (sys) {
        mem_begin(sys);
    }
    return sys;
}

static int edit_end(struct mem_sys *sys, struct mem_region *mr)
{
    if (!sys) {
        return 0;
    }
    mem_sys_mark_changed_locked(mr);
    return mem_commit(sys);
}

void mr_attach_sys(struct mem_region *mr, struct mem_sys *sys)
{
    if (!sys || mr->sys == sys) {
        return;
    }
    mem_sys_set(&mr->sys, sys);
    for (uint32_t i = 0; i < mr->nr_kids; i++) {
        mr_attach_sys(mr->kids[i].mr, sys);
    }
    if (mr->alias) {
        mr_attach_sys(mr->alias, sys);
    }
}

/* True when (to) can be reached from (from) through children and aliases. */
static bool mr_reaches(const struct mem_region *from,
                       const struct mem_region *to)
{
    if (from == to) {
        return true;
    }
    if (from->alias && mr_reaches(from->alias, to)) {
        return true;
    }
    for (uint32_t i = 0; i < from->nr_kids; i++) {
        if (mr_reaches(from->kids[i].mr, to)) {
            return true;
        }
    }
    return false;
}

/* Room in (container)'s child array for one more: 0 or -ENOMEM. */
static int mr_kids_reserve(struct mem_region *container)
{
    struct mr_kid *n;
    uint32_t cap;

    if (container->nr_kids < container->cap_kids) {
        return 0;
    }
    if (container->cap_kids > UINT32_MAX / 2) {
        return -ENOMEM;
    }
    cap = container->cap_kids ? container->cap_kids * 2 : 4;
    n = realloc(container->kids, cap * sizeof(*n));
    if (!n) {
        return -ENOMEM;
    }
    container->kids = n;
    container->cap_kids = cap;
    return 0;
}

/* (mr), an alias: its record describes the part of its target it shows
 * when that target is a plain terminal region (direct), else only where
 * the target is. */
static void mr_kid_fill_alias(struct mr_kid *k, const struct mem_region *mr)
{
    const struct mem_region *t = mr->alias;

    k->alias = mr->alias;
    k->alias_offset = mr->alias_offset;
    if (t->kind == MR_ALIAS || t->kind == MR_CONTAINER || t->nr_kids ||
        !t->enabled || (mr_size_t)mr->alias_offset >= t->size || !k->shown) {
        return;
    }
    k->direct = true;
    k->kind = (uint8_t)t->kind;
    k->ops = t->ops;
    k->opaque = t->opaque;
    k->readonly |= t->readonly;
    k->log_dirty |= t->log_dirty;
    if (t->size - mr->alias_offset < mr->size) {
        k->last = (uint64_t)(t->size - mr->alias_offset - 1);
    }
}

/* (mr) as its container's child array records it. */
static void mr_kid_fill(struct mr_kid *k, struct mem_region *mr)
{
    *k = (struct mr_kid){
        .addr = mr->addr,
        .last = (uint64_t)(mr->size - 1),
        .mr = mr,
        .kind = (uint8_t)mr->kind,
        .shown = mr->enabled && mr->size != 0,
        .readonly = mr->readonly,
        .log_dirty = mr->log_dirty,
        .inner = mr->kind != MR_ALIAS &&
                 (mr->kind == MR_CONTAINER || mr->nr_kids != 0),
    };
    if (mr->kind == MR_ALIAS) {
        mr_kid_fill_alias(k, mr);
    } else {
        k->ops = mr->ops;
        k->opaque = mr->opaque;
    }
}

static uint32_t mr_kid_index(const struct mem_region *container,
                             const struct mem_region *sub)
{
    uint32_t i = 0;

    while (container->kids[i].mr != sub) {
        i++;
    }
    return i;
}

/* Rewrite (mr)'s record in its container, if it has one. */
static void mr_kid_refill(struct mem_region *mr)
{
    struct mem_region *container = mr->container;

    if (container) {
        mr_kid_fill(&container->kids[mr_kid_index(container, mr)], mr);
    }
}

/* Refresh (mr)'s record in its container after a change to (mr), and the
 * records of the aliases pointing at it (a direct one carries its
 * target's state). */
static void mr_kid_sync(struct mem_region *mr)
{
    mr_kid_refill(mr);
    for (struct mem_region *a = mr->aliases; a; a = a->next_alias) {
        mr_kid_refill(a);
    }
}

/* Link (sub) under (container), whose array has room (mr_kids_reserve). */
static void mr_link_child(struct mem_region *container, struct mem_region *sub)
{
    uint32_t i = 0;

    /* Higher priority first; an equal priority goes before its equals, so
     * that the later-added region is the visible one. */
    while (i < container->nr_kids &&
           container->kids[i].mr->priority > sub->priority) {
        i++;
    }
    sub->container = container;
    memmove(container->kids + i + 1, container->kids + i,
            (container->nr_kids - i) * sizeof(*container->kids));
    mr_kid_fill(&container->kids[i], sub);
    container->nr_kids++;
    /* Its first child makes a terminal region an inner one. */
    if (container->nr_kids == 1 && container->kind != MR_CONTAINER) {
        mr_kid_sync(container);
    }
}

static void mr_unlink_child(struct mem_region *container,
                            struct mem_region *sub)
{
    uint32_t i = mr_kid_index(container, sub);

    sub->container = NULL;
    container->nr_kids--;
    memmove(container->kids + i, container->kids + i + 1,
            (container->nr_kids - i) * sizeof(*container->kids));
    if (container->nr_kids == 0 && container->kind != MR_CONTAINER) {
        mr_kid_sync(container);
    }
}

static int mr_add_common(struct mem_region *container, gpa_t addr,
                         struct mem_region *sub, int priority, bool overlap)
{
    struct mem_sys *sys;

    if (!container || !sub || container->kind == MR_ALIAS) {
        return -EINVAL;
    }
    if (sub->container) {
        return -EBUSY;
    }
    if (mr_kids_reserve(container) < 0) {
        return -ENOMEM;
    }
    sys = edit_begin(container);
    if (mr_reaches(sub, container)) {
        if (sys) {
            mem_end_unchanged(sys);
        }
        return -EINVAL;
    }
    sub->addr = addr;
    sub->priority = priority;
    sub->may_overlap = overlap;
    mr_link_child(container, sub);
    mr_attach_sys(sub, sys);
    return edit_end(sys, sub);
}

int mr_add_subregion(struct mem_region *container, gpa_t addr,
                     struct mem_region *sub)
{
    return mr_add_common(container, addr, sub, 0, false);
}

int mr_add_subregion_overlap(struct mem_region *container, gpa_t addr,
                             struct mem_region *sub, int priority)
{
    return mr_add_common(container, addr, sub, priority, true);
}

int mr_del_subregion(struct mem_region *container, struct mem_region *sub)
{
    struct mem_sys *sys;
    int ret;

    if (!container || !sub || sub->container != container) {
        return -ENOENT;
    }
    sys = edit_begin(container);
    /* Mark while the region still hangs below its root. */
    if (sys) {
        mem_sys_mark_changed_locked(sub);
    }
    mr_unlink_child(container, sub);
    ret = edit_end(sys, container);
    return ret;
}

int mr_del_all_subregions(struct mem_region *container)
{
    struct mem_sys *sys;

    if (!container) {
        return -EINVAL;
    }
    if (!container->nr_kids) {
        return 0;
    }
    sys = edit_begin(container);
    while (container->nr_kids) {
        struct mem_region *sub = container->kids[0].mr;

        if (sys) {
            mem_sys_mark_changed_locked(sub);
        }
        mr_unlink_child(container, sub);
    }
    return edit_end(sys, container);
}

int mr_set_address(struct mem_region *mr, gpa_t addr)
{
    struct mem_sys *sys;
    struct mem_region *container = mr->container;

    if (mr->addr == addr) {
        return 0;
    }
    sys = edit_begin(mr);
    mr->addr = addr;
    if (container) {
        /* Keep the sibling order: re-link as the latest of its priority,
         * as QEMU's memory_region_set_address() does (it removes and
         * re-adds the region). */
        mr_unlink_child(container, mr);
        mr_link_child(container, mr);
    }
    return edit_end(sys, mr);
}

int mr_set_enabled(struct mem_region *mr, bool enabled)
{
    struct mem_sys *sys;

    if (mr->enabled == enabled) {
        return 0;
    }
    sys = edit_begin(mr);
    mr->enabled = enabled;
    mr_kid_sync(mr);
    return edit_end(sys, mr);
}

int mr_set_readonly(struct mem_region *mr, bool readonly)
{
    struct mem_sys *sys;

    if (mr->readonly == readonly) {
        return 0;
    }
    sys = edit_begin(mr);
    mr->readonly = readonly;
    mr_kid_sync(mr);
    return edit_end(sys, mr);
}

int mr_set_log(struct mem_region *mr, bool log)
{
    struct mem_sys *sys;

    if (mr->log_dirty == log) {
        return 0;
    }
    sys = edit_begin(mr);
    mr->log_dirty = log;
    mr_kid_sync(mr);
    return edit_end(sys, mr);
}

int mr_set_alias_offset(struct mem_region *mr, uint64_t offset)
{
    struct mem_sys *sys;

    if (mr->kind != MR_ALIAS) {
        return -EINVAL;
    }
    if (mr->alias_offset == offset) {
        return 0;
    }
    sys = edit_begin(mr);
    mr->alias_offset = offset;
    mr_kid_sync(mr);
    return edit_end(sys, mr);
}

int mr_resize(struct mem_region *mr, uint64_t size)
{
    struct mem_sys *sys;
    int ret;

    if (mr->kind != MR_RAM || !mr->block) {
        return -EINVAL;
    }
    sys = edit_begin(mr);
    ret = ram_block_resize(mr->block, size);
    if (ret == 0) {
        mr->size = size;
        mr_kid_sync(mr);
    }
    if (!sys) {
        return ret;
    }
    mem_sys_mark_changed_locked(mr);
    if (mem_commit(sys) < 0 && ret == 0) {
        ret = -EIO;
    }
    return ret;
}

int mr_rom_write(struct mem_region *mr, uint64_t offset, const void *buf,
                 size_t len)
{
    uint64_t end;
    uint8_t *host;

    if (!mr->block || (mr->kind != MR_ROM && mr->kind != MR_RAM)) {
        return -EINVAL;
    }
    if (__builtin_add_overflow(offset, (uint64_t)len, &end) ||
        (mr_size_t)end > mr->size) {
        return -ERANGE;
    }
    host = ram_block_host(mr->block);
    memcpy(host + offset, buf, len);
    return 0;
}

void *mr_ram_ptr(const struct mem_region *mr, uint64_t offset)
{
    if (!mr->block || (mr_size_t)offset >= mr->size) {
        return NULL;
    }
    return (uint8_t *)ram_block_host(mr->block) + offset;
}

const char *mr_name(const struct mem_region *mr)
{
    return mr->name;
}

mr_size_t mr_size(const struct mem_region *mr)
{
    return mr->size;
}

const char *mr_kind_name(enum mr_kind kind)
{
    switch (kind) {
    case MR_CONTAINER:
        return "container";
    case MR_RAM:
        return "ram";
    case MR_ROM:
        return "rom";
    case MR_IO:
        return "i/o";
    case MR_ALIAS:
        return "alias";
    }
    return "?";
}
