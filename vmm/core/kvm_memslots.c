/* SPDX-License-Identifier: MIT */
/*
 * The KVM memslot listener (see kvm_memslots.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"
#include "kvm_memslots.h"
#include "mem/region.h"

static struct kvm_memslots *to_slots(struct mem_listener *l)
{
    return (struct kvm_memslots *)((char *)l -
                                   offsetof(struct kvm_memslots, listener));
}

/* The page-aligned part of (fr), if it is RAM or ROM with a host mapping. */
static bool section_of(const struct kvm_memslots *s,
                       const struct flat_range *fr, gpa_t *gpa, uint64_t *size,
                       hva_t *hva, uint64_t *offset)
{
    uint64_t page = s->page_size;
    gpa_t start, end_incl;
    uint64_t delta;
    uint8_t *host;

    if (fr->mr->kind != MR_RAM && fr->mr->kind != MR_ROM) {
        return false;
    }
    if (__builtin_add_overflow(fr->first, page - 1, &start)) {
        return false;
    }
    start &= ~(page - 1);
    /* The last byte of the last whole page inside the range. */
    if (((fr->last + 1) & (page - 1)) == 0) {
        end_incl = fr->last;
    } else if (fr->last < page) {
        return false;
    } else {
        end_incl = (fr->last & ~(page - 1)) - 1;
    }
    if (start > end_incl) {
        return false;
    }
    delta = start - fr->first;
    host = mr_ram_ptr(fr->mr, fr->offset + delta);
    /* Guest and host pages must line up for KVM. */
    if (!host || ((uintptr_t)host & (page - 1))) {
        return false;
    }
    *gpa = start;
    *size = end_incl - start + 1;
    *hva = (hva_t)host;
    *offset = fr->offset + delta;
    return true;
}

static int slot_set(struct kvm_memslots *s, int id, const struct kvm_slot *sl,
                    uint64_t size)
{
    struct kvm_userspace_memory_region r = {
        .slot = (uint32_t)id,
        .flags = sl->flags,
        .guest_phys_addr = sl->gpa,
        .memory_size = size,
        .userspace_addr = sl->hva,
    };

    s->nr_set_calls++;
    return kvm_ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static int slot_find(const struct kvm_memslots *s, gpa_t gpa)
{
    int i;

    for (i = 0; i < s->next_unused; i++) {
        if (s->slots[i].used && s->slots[i].gpa == gpa) {
            return i;
        }
    }
    return -1;
}

static void park_once(struct kvm_memslots *s)
{
    if (!s->parked && s->park) {
        s->park(s->park_opaque);
        s->parked = true;
    }
}

/* Tell the dirty-log hook that slot (id) logs, or is about to stop. */
static int log_notify(struct kvm_memslots *s, int id, bool logging)
{
    if (!s->log_hook || !(s->slots[id].flags & KVM_MEM_LOG_DIRTY_PAGES)) {
        return 0;
    }
    return s->log_hook(s->log_opaque, id, &s->slots[id], logging);
}

static int memslots_begin(struct mem_listener *l)
{
    (void)l;
    return 0;
}

static int memslots_commit(struct mem_listener *l)
{
    struct kvm_memslots *s = to_slots(l);

    if (s->parked) {
        s->parked = false;
        if (s->unpark) {
            s->unpark(s->park_opaque);
        }
    }
    return 0;
}

static uint32_t flags_of(const struct flat_range *fr)
{
    uint32_t flags = 0;

    if (fr->mr->kind == MR_ROM || fr->readonly) {
        flags |= KVM_MEM_READONLY;
    }
    if (fr->log_dirty) {
        flags |= KVM_MEM_LOG_DIRTY_PAGES;
    }
    return flags;
}

static int memslots_add(struct mem_listener *l, const struct flat_range *fr)
{
    struct kvm_memslots *s = to_slots(l);
    struct kvm_slot sl = {.used = true, .mr = fr->mr};
    int id, ret;

    if (!section_of(s, fr, &sl.gpa, &sl.size, &sl.hva, &sl.offset)) {
        return 0;
    }
    sl.flags = flags_of(fr);
    if (s->nr_free) {
        id = s->free[--s->nr_free];
    } else if (s->next_unused < s->nr_slots) {
        id = s->next_unused++;
    } else {
        fprintf(stderr,
                "vmm: memory map needs more than the %d KVM memslots this "
                "host offers (KVM_CAP_NR_MEMSLOTS)\n",
                s->nr_slots);
        return -ENOSPC;
    }
    if ((sl.flags & KVM_MEM_LOG_DIRTY_PAGES) && s->log_hook) {
        /* Until the hook tracks the slot, a ring entry naming it would be
         * dropped: no vCPU may write to it before. */
        park_once(s);
    }
    ret = slot_set(s, id, &sl, sl.size);
    if (ret < 0) {
        s->free[s->nr_free++] = id;
        return ret;
    }
    s->slots[id] = sl;
    return log_notify(s, id, true);
}

static int memslots_del(struct mem_listener *l, const struct flat_range *fr)
{
    struct kvm_memslots *s = to_slots(l);
    struct kvm_slot sl;
    int id, ret, err;

    if (!section_of(s, fr, &sl.gpa, &sl.size, &sl.hva, &sl.offset)) {
        return 0;
    }
    id = slot_find(s, sl.gpa);
    if (id < 0) {
        return 0;
    }
    /* A vCPU must not run while its memory has a hole. */
    park_once(s);
    /* The slot's dirty pages go with it: harvest them first. */
    err = log_notify(s, id, false);
    ret = slot_set(s, id, &s->slots[id], 0);
    s->slots[id].used = false;
    if (ret == 0) {
        /* An id KVM still uses is never handed out again. */
        s->free[s->nr_free++] = id;
    }
    return ret < 0 ? ret : err;
}

static int memslots_log(struct mem_listener *l, const struct flat_range *fr)
{
    struct kvm_memslots *s = to_slots(l);
    struct kvm_slot sl;
    uint32_t flags, old;
    bool stop;
    int id, ret, err = 0;

    if (!section_of(s, fr, &sl.gpa, &sl.size, &sl.hva, &sl.offset)) {
        return 0;
    }
    id = slot_find(s, sl.gpa);
    if (id < 0) {
        return 0;
    }
    flags = flags_of(fr);
    old = s->slots[id].flags;
    stop =
        (old & KVM_MEM_LOG_DIRTY_PAGES) && !(flags & KVM_MEM_LOG_DIRTY_PAGES);
    if (stop) {
        /* KVM drops the slot's dirty bitmap with the flag: keep the
         * vCPUs out while the hook harvests it and the flag goes. */
        park_once(s);
        err = log_notify(s, id, false);
    } else if (!(old & KVM_MEM_LOG_DIRTY_PAGES) &&
               (flags & KVM_MEM_LOG_DIRTY_PAGES) && s->log_hook) {
        /* Starting: no write before the hook tracks the slot. */
        park_once(s);
    }
    s->slots[id].flags = flags;
    ret = slot_set(s, id, &s->slots[id], s->slots[id].size);
    if (ret < 0) {
        /* KVM kept the old flags: so does the table, and a slot that
         * still logs is tracked again. */
        s->slots[id].flags = old;
        if (stop) {
            (void)log_notify(s, id, true);
        }
        return ret;
    }
    return err ? err : log_notify(s, id, true);
}

int kvm_memslots_init(struct kvm_memslots *s, int vm_fd, int nr_slots,
                      void (*park)(void *), void (*unpark)(void *),
                      void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->slots = calloc((size_t)nr_slots, sizeof(*s->slots));
    s->free = calloc((size_t)nr_slots, sizeof(*s->free));
    if (!s->slots || !s->free) {
        free(s->slots);
        free(s->free);
        return -ENOMEM;
    }
    s->vm_fd = vm_fd;
    s->nr_slots = nr_slots;
    s->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
    s->park = park;
    s->unpark = unpark;
    s->park_opaque = opaque;
    s->listener.begin = memslots_begin;
    s->listener.commit = memslots_commit;
    s->listener.region_add = memslots_add;
    s->listener.region_del = memslots_del;
    s->listener.log_start = memslots_log;
    s->listener.log_stop = memslots_log;
    return 0;
}

void kvm_memslots_destroy(struct kvm_memslots *s)
{
    free(s->slots);
    free(s->free);
    s->slots = NULL;
    s->free = NULL;
}

int kvm_memslots_count(const struct kvm_memslots *s)
{
    int i, n = 0;

    for (i = 0; i < s->next_unused; i++) {
        n += s->slots[i].used;
    }
    return n;
}

static const char *flags_str(uint32_t flags)
{
    switch (flags & (KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES)) {
    case KVM_MEM_READONLY:
        return "ro";
    case KVM_MEM_LOG_DIRTY_PAGES:
        return "log";
    case KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES:
        return "ro,log";
    }
    return "rw";
}

void kvm_memslots_dump(const struct kvm_memslots *s, FILE *f)
{
    int i;

    fprintf(f, "KVM memslots (%d of %d):\n", kvm_memslots_count(s),
            s->nr_slots);
    for (i = 0; i < s->next_unused; i++) {
        const struct kvm_slot *sl = &s->slots[i];

        if (!sl->used) {
            continue;
        }
        fprintf(f,
                "  slot %d: %016" PRIx64 "-%016" PRIx64 " %-6s %s+0x%" PRIx64
                "\n",
                i, sl->gpa, sl->gpa + sl->size - 1, flags_str(sl->flags),
                mr_name(sl->mr), sl->offset);
    }
}

void kvm_memslots_dump_json(const struct kvm_memslots *s, FILE *f)
{
    bool first = true;
    int i;

    fputc('[', f);
    for (i = 0; i < s->next_unused; i++) {
        const struct kvm_slot *sl = &s->slots[i];

        if (!sl->used) {
            continue;
        }
        fprintf(f,
                "%s{\"slot\":%d,\"gpa\":\"0x%" PRIx64 "\",\"size\":\"0x%" PRIx64
                "\",\"flags\":\"%s\",\"region\":\"%s\",\"offset\":\"0x%" PRIx64
                "\"}",
                first ? "" : ",", i, sl->gpa, sl->size, flags_str(sl->flags),
                mr_name(sl->mr), sl->offset);
        first = false;
    }
    fputs("]\n", f);
}
