/* SPDX-License-Identifier: MIT */
/*
 * The two harvesters of `vmm bench dirty-log` (see harvest.h). The raw one
 * keeps to what any harvester must do: issue the ioctls, look at each
 * bitmap word or ring entry once, and record the pages in the consumer's
 * bitmap. What the VMM's own harvester costs on top of it is the layers:
 * the memory API and listener when logging starts, the tracker's slot
 * table and lock, and the pass over the RAMBlock bitmap that merges its
 * own pages (VMM writes, full rings) with KVM's.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harvest.h"
#include "kvm.h"
#include "kvm_memslots.h"
#include "machine_ctl.h"
#include "mem/dirty.h"
#include "mem/ramblock.h"
#include "mem/region.h"
#include "vcpu.h"

/* pc.ram has at most two slots (below and above 4 GiB). */
#define RAW_MAX_SLOTS 4

static struct ram_block *ram_block_of(const struct machine_ctl *ctl)
{
    return ram_block_from_host(mr_ram_ptr(ctl->ram, 0), NULL);
}

uint64_t harvest_block_pages(const struct machine_ctl *ctl)
{
    struct ram_block *rb = ram_block_of(ctl);

    return rb ? dirty_bitmap_nr_pages(ram_block_dirty(rb)) : 0;
}

static void vcpu_fds(const struct machine_ctl *ctl, int *fds, int max, int *nr)
{
    *nr = ctl->vcpus->nr < max ? ctl->vcpus->nr : max;
    for (int i = 0; i < *nr; i++) {
        fds[i] = ctl->vcpus->vcpus[i].fd;
    }
}

/* --- ours --------------------------------------------------------------------
 */

#define OURS_MAX_VCPUS 64

struct ours {
    struct harvester base;
    const struct machine_ctl *ctl;
    struct harvest_params p;
    struct dirty_log *dl;
    struct ram_block *rb;
    uint64_t block_pages;
};

static int ours_enable(struct harvester *h, char *why, size_t whylen)
{
    struct ours *o = (struct ours *)h;
    int fds[OURS_MAX_VCPUS];
    struct dirty_log_opts opts = {
        .mode = o->p.mode,
        .clear_chunk = o->p.clear_chunk,
        .ring_entries = o->p.ring_entries,
        .vcpu_fds = fds,
    };
    int ret;

    vcpu_fds(o->ctl, fds, OURS_MAX_VCPUS, &opts.nr_vcpus);
    ret = dirty_log_new(o->ctl->vm_fd, o->ctl->sys, o->ctl->slots, &opts,
                        &o->dl, why, whylen);
    if (ret < 0) {
        return ret;
    }
    ret = mr_set_log(o->ctl->ram, true);
    if (ret < 0) {
        snprintf(why, whylen, "starting to log guest RAM: %s", strerror(-ret));
    }
    return ret;
}

static int ours_harvest(struct harvester *h, uint64_t *acc, uint64_t *pages)
{
    struct ours *o = (struct ours *)h;

    return dirty_log_sync_take(o->dl, o->rb, 0, o->block_pages, acc, pages);
}

static int ours_ring_full(struct harvester *h, int vcpu)
{
    struct ours *o = (struct ours *)h;

    return o->dl ? dirty_log_ring_full(o->dl, vcpu) : -EINVAL;
}

static int ours_disable(struct harvester *h)
{
    struct ours *o = (struct ours *)h;

    return mr_set_log(o->ctl->ram, false);
}

static void ours_free(struct harvester *h)
{
    struct ours *o = (struct ours *)h;

    dirty_log_free(o->dl);
    free(o);
}

static const struct harvester_ops ours_ops = {
    .enable = ours_enable,
    .harvest = ours_harvest,
    .ring_full = ours_ring_full,
    .disable = ours_disable,
    .free = ours_free,
};

int harvest_ours_new(const struct machine_ctl *ctl,
                     const struct harvest_params *p, struct harvester **out,
                     char *why, size_t whylen)
{
    struct ram_block *rb = ram_block_of(ctl);
    struct ours *o;

    if (!rb) {
        snprintf(why, whylen, "guest RAM has no RAMBlock");
        return -EINVAL;
    }
    o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    o->base.ops = &ours_ops;
    o->ctl = ctl;
    o->p = *p;
    o->rb = rb;
    o->block_pages = dirty_bitmap_nr_pages(ram_block_dirty(rb));
    *out = &o->base;
    return 0;
}

/* --- raw ---------------------------------------------------------------------
 */

struct raw_slot {
    struct kvm_userspace_memory_region r;
    uint64_t npages;
    /* The slot's first page in the RAMBlock (a multiple of 64). */
    uint64_t first_page;
    /* KVM_GET_DIRTY_LOG's copy. */
    uint64_t *buf;
};

struct raw {
    struct harvester base;
    struct harvest_params p;
    int vm_fd;
    int nr_vcpus;
    int vcpu_fd[OURS_MAX_VCPUS];
    struct raw_slot slots[RAW_MAX_SLOTS];
    int nr_slots;
    uint64_t clear_pages;
    uint64_t block_pages;
    /* Ring mode. */
    struct kvm_dirty_gfn *rings[OURS_MAX_VCPUS];
    uint32_t fetch[OURS_MAX_VCPUS];
    int nr_rings;
    size_t ring_len;
    /* What vCPU threads collected on a full ring, until the next harvest:
     * one bit per RAMBlock page, words [plo, phi) touched. Under lock. */
    pthread_mutex_t lock;
    uint64_t *pending;
    uint64_t plo, phi, pending_entries;
};

static int raw_set_flags(struct raw *r, bool log)
{
    int err = 0;

    for (int i = 0; i < r->nr_slots; i++) {
        struct kvm_userspace_memory_region m = r->slots[i].r;
        int ret;

        if (log) {
            m.flags |= KVM_MEM_LOG_DIRTY_PAGES;
        }
        ret = kvm_ioctl(r->vm_fd, KVM_SET_USER_MEMORY_REGION, &m);
        err = err ? err : ret;
    }
    return err;
}

static int raw_enable(struct harvester *h, char *why, size_t whylen)
{
    struct raw *r = (struct raw *)h;
    long page = sysconf(_SC_PAGESIZE);
    int ret;

    if (r->p.mode == DIRTY_LOG_CLEAR) {
        struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};
        int offered =
            kvm_check_extension(r->vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

        cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
                      (offered & KVM_DIRTY_LOG_INITIALLY_SET);
        ret = kvm_ioctl(r->vm_fd, KVM_ENABLE_CAP, &cap);
        if (ret < 0) {
            snprintf(why, whylen, "raw: manual dirty-log protect: %s",
                     strerror(-ret));
            return ret;
        }
    } else if (r->p.mode == DIRTY_LOG_RING) {
        r->ring_len = (size_t)r->p.ring_entries * sizeof(struct kvm_dirty_gfn);
        for (int i = 0; i < r->nr_vcpus; i++) {
            void *m =
                mmap(NULL, r->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                     r->vcpu_fd[i], (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * page);

            if (m == MAP_FAILED) {
                ret = -errno;
                snprintf(why, whylen, "raw: mapping vCPU %d's ring: %s", i,
                         strerror(-ret));
                return ret;
            }
            r->rings[i] = m;
            r->nr_rings++;
        }
    }
    ret = raw_set_flags(r, true);
    if (ret < 0) {
        snprintf(why, whylen, "raw: KVM_MEM_LOG_DIRTY_PAGES: %s",
                 strerror(-ret));
    }
    return ret;
}

/* (dst) |= (src) over (nw) words; the number of bits in (src). */
static uint64_t or_count(uint64_t *dst, const uint64_t *src, uint64_t nw)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < nw; i++) {
        if (src[i]) {
            dst[i] |= src[i];
            n += (uint64_t)__builtin_popcountll(src[i]);
        }
    }
    return n;
}

/* The same KVM_CLEAR_DIRTY_LOG calls as the tracker: dirty_log_clear_slot()
 * keeps no state of its own, only the chunk arithmetic KVM requires. */
static int raw_clear(struct raw *r, struct raw_slot *s)
{
    uint64_t calls = 0;

    return dirty_log_clear_slot(r->vm_fd, s->r.slot, s->buf, s->npages,
                                r->clear_pages, &calls);
}

/* Record one ring entry in (bits) (RAMBlock pages); false if stray. */
static bool raw_entry(const struct raw *r, const struct kvm_dirty_gfn *e,
                      uint64_t *bits, uint64_t *lo, uint64_t *hi)
{
    for (int i = 0; i < r->nr_slots; i++) {
        const struct raw_slot *s = &r->slots[i];

        if (s->r.slot == e->slot && e->offset < s->npages) {
            uint64_t page = s->first_page + e->offset;

            bits[page / 64] |= UINT64_C(1) << (page % 64);
            if (lo && page / 64 < *lo) {
                *lo = page / 64;
            }
            if (hi && page / 64 >= *hi) {
                *hi = page / 64 + 1;
            }
            return true;
        }
    }
    return false;
}

/* Take ring (i)'s dirty entries into (bits); the number taken. */
static uint64_t raw_collect(struct raw *r, int i, uint64_t *bits, uint64_t *lo,
                            uint64_t *hi)
{
    uint32_t mask = r->p.ring_entries - 1;
    uint64_t n = 0;

    for (;;) {
        struct kvm_dirty_gfn *e = &r->rings[i][r->fetch[i] & mask];
        uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

        if ((flags & KVM_DIRTY_GFN_F_MASK) != KVM_DIRTY_GFN_F_DIRTY) {
            break;
        }
        n += raw_entry(r, e, bits, lo, hi);
        __atomic_store_n(&e->flags, (uint32_t)KVM_DIRTY_GFN_F_RESET,
                         __ATOMIC_RELEASE);
        r->fetch[i]++;
    }
    return n;
}

static int raw_reset(struct raw *r)
{
    int ret = kvm_ioctl_val(r->vm_fd, KVM_RESET_DIRTY_RINGS, 0);

    return ret < 0 ? ret : 0;
}

static int raw_harvest(struct harvester *h, uint64_t *acc, uint64_t *pages)
{
    struct raw *r = (struct raw *)h;
    uint64_t n = 0;
    int err = 0;

    if (r->p.mode == DIRTY_LOG_RING) {
        pthread_mutex_lock(&r->lock);
        for (int i = 0; i < r->nr_rings; i++) {
            n += raw_collect(r, i, acc, NULL, NULL);
        }
        if (r->phi > r->plo) {
            or_count(acc + r->plo, r->pending + r->plo, r->phi - r->plo);
            memset(r->pending + r->plo, 0,
                   (size_t)(r->phi - r->plo) * sizeof(uint64_t));
        }
        n += r->pending_entries;
        r->pending_entries = 0;
        r->plo = UINT64_MAX;
        r->phi = 0;
        pthread_mutex_unlock(&r->lock);
        err = raw_reset(r);
    } else {
        for (int i = 0; i < r->nr_slots; i++) {
            struct raw_slot *s = &r->slots[i];
            struct kvm_dirty_log log = {.slot = s->r.slot};
            int ret;

            log.dirty_bitmap = s->buf;
            ret = kvm_ioctl(r->vm_fd, KVM_GET_DIRTY_LOG, &log);
            if (ret == 0) {
                n += or_count(acc + s->first_page / 64, s->buf,
                              DIRTY_WORDS(s->npages));
                if (r->p.mode == DIRTY_LOG_CLEAR) {
                    ret = raw_clear(r, s);
                }
            }
            err = err ? err : ret;
        }
    }
    *pages = n;
    return err;
}

static int raw_ring_full(struct harvester *h, int vcpu)
{
    struct raw *r = (struct raw *)h;

    if (r->p.mode != DIRTY_LOG_RING || vcpu < 0 || vcpu >= r->nr_rings) {
        return -EINVAL;
    }
    pthread_mutex_lock(&r->lock);
    r->pending_entries += raw_collect(r, vcpu, r->pending, &r->plo, &r->phi);
    pthread_mutex_unlock(&r->lock);
    return raw_reset(r);
}

static int raw_disable(struct harvester *h)
{
    return raw_set_flags((struct raw *)h, false);
}

static void raw_free(struct harvester *h)
{
    struct raw *r = (struct raw *)h;

    for (int i = 0; i < r->nr_rings; i++) {
        munmap(r->rings[i], r->ring_len);
    }
    for (int i = 0; i < r->nr_slots; i++) {
        free(r->slots[i].buf);
    }
    free(r->pending);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static const struct harvester_ops raw_ops = {
    .enable = raw_enable,
    .harvest = raw_harvest,
    .ring_full = raw_ring_full,
    .disable = raw_disable,
    .free = raw_free,
};

int harvest_raw_new(const struct machine_ctl *ctl,
                    const struct harvest_params *p, struct harvester **out,
                    char *why, size_t whylen)
{
    const struct kvm_memslots *ms = ctl->slots;
    struct raw *r;

    r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->base.ops = &raw_ops;
    r->p = *p;
    r->vm_fd = ctl->vm_fd;
    r->block_pages = harvest_block_pages(ctl);
    r->clear_pages = dirty_log_clear_pages(p->clear_chunk);
    r->plo = UINT64_MAX;
    vcpu_fds(ctl, r->vcpu_fd, OURS_MAX_VCPUS, &r->nr_vcpus);
    /* The RAM region's slots, once; nothing remaps it during the run. */
    for (int id = 0; id < ms->next_unused; id++) {
        const struct kvm_slot *sl = &ms->slots[id];
        struct raw_slot *s;

        if (!sl->used || sl->mr != ctl->ram) {
            continue;
        }
        if (r->nr_slots == RAW_MAX_SLOTS ||
            (sl->offset >> DIRTY_PAGE_SHIFT) % 64 != 0) {
            snprintf(why, whylen, "raw: unexpected RAM slot layout");
            raw_free(&r->base);
            return -EINVAL;
        }
        s = &r->slots[r->nr_slots++];
        s->r = (struct kvm_userspace_memory_region){
            .slot = (uint32_t)id,
            .flags = sl->flags,
            .guest_phys_addr = sl->gpa,
            .memory_size = sl->size,
            .userspace_addr = sl->hva,
        };
        s->npages = sl->size >> DIRTY_PAGE_SHIFT;
        s->first_page = sl->offset >> DIRTY_PAGE_SHIFT;
        s->buf = calloc((size_t)DIRTY_WORDS(s->npages), sizeof(uint64_t));
        if (!s->buf) {
            snprintf(why, whylen, "out of memory");
            raw_free(&r->base);
            return -ENOMEM;
        }
    }
    r->pending = calloc((size_t)DIRTY_WORDS(r->block_pages), sizeof(uint64_t));
    if (!r->pending || r->nr_slots == 0) {
        snprintf(why, whylen, "raw: %s",
                 r->nr_slots ? "out of memory" : "guest RAM has no slot");
        raw_free(&r->base);
        return -ENOMEM;
    }
    *out = &r->base;
    return 0;
}
