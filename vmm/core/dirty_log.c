/* SPDX-License-Identifier: MIT */
/*
 * Dirty-log tracking (see dirty_log.h).
 *
 * Every logging slot has a buffer of one bit per page: in bitmap and
 * clear mode it receives KVM_GET_DIRTY_LOG's copy, in ring mode the
 * collector stages ring entries in it with plain stores (the harvest lock
 * is held) and remembers the range of words it touched. Either way the
 * buffer then goes into the RAMBlock's bitmap with dirty_bitmap_or(),
 * which costs one atomic OR per non-zero word, so a fully dirty GiB is
 * 4096 ORs rather than 262144.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dirty_log.h"
#include "kvm.h"
#include "kvm_memslots.h"
#include "mem/address_space.h"
#include "mem/dirty.h"
#include "mem/ramblock.h"

/* KVM_CLEAR_DIRTY_LOG takes a 32-bit page count. */
#define CLEAR_CHUNK_MAX_PAGES (UINT32_C(1) << 31)

/* One logging slot. */
struct dl_slot {
    int id;
    uint64_t npages;
    struct dirty_bitmap *bm;
    /* The slot's first page in the RAMBlock. */
    uint64_t rb_page;
    /* DIRTY_WORDS(npages) words; see the file comment. */
    uint64_t *buf;
    /* Ring: words [lo, hi) of buf may be non-zero; none when lo >= hi
     * (kept as UINT64_MAX, 0 then, so that widening is two compares). */
    uint64_t lo, hi;
};

struct dl_ring {
    struct kvm_dirty_gfn *gfns;
    size_t map_len;
    /* The next entry to collect (free-running). */
    uint32_t fetch;
};

struct dirty_log {
    enum dirty_log_mode mode;
    int vm_fd;
    struct mem_sys *sys;
    struct kvm_memslots *slots;
    /* CLEAR: pages per KVM_CLEAR_DIRTY_LOG (a multiple of 64), 0: all. */
    uint64_t clear_pages;
    bool initially_set;

    /* The harvest lock: guards everything below. */
    pthread_mutex_t lock;
    /* Logging slots by KVM slot id; ids below (nr_ids), live ones below
     * (end_id). */
    struct dl_slot **by_id;
    int nr_ids;
    int end_id;
    struct dl_ring *rings;
    int nr_rings;
    uint32_t ring_entries;
    /* dirty_log_sync_take(): KVM's pages of the range, when they do not
     * line up with one slot's buffer; zero between calls. */
    uint64_t *scratch;
    uint64_t scratch_words;
    struct dirty_log_stats stats;
};

const char *dirty_log_mode_name(enum dirty_log_mode mode)
{
    switch (mode) {
    case DIRTY_LOG_BITMAP:
        return "bitmap";
    case DIRTY_LOG_CLEAR:
        return "clear";
    case DIRTY_LOG_RING:
        return "ring";
    }
    return "?";
}

int dirty_log_mode_from_name(const char *s, enum dirty_log_mode *out)
{
    static const enum dirty_log_mode all[] = {
        DIRTY_LOG_BITMAP,
        DIRTY_LOG_CLEAR,
        DIRTY_LOG_RING,
    };

    for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, dirty_log_mode_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

int dirty_log_ring_max_entries(int vm_fd)
{
    int max = kvm_check_extension(vm_fd, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);

    if (max <= 0) {
        max = kvm_check_extension(vm_fd, KVM_CAP_DIRTY_LOG_RING);
    }
    if (max <= 0) {
        return -EOPNOTSUPP;
    }
    return max / (int)sizeof(struct kvm_dirty_gfn);
}

int dirty_log_enable_ring(int vm_fd, uint32_t entries, bool *acq_rel)
{
    struct kvm_enable_cap cap = {0};
    uint64_t bytes = (uint64_t)entries * sizeof(struct kvm_dirty_gfn);
    int max;

    if (entries == 0 || (entries & (entries - 1))) {
        return -EINVAL;
    }
    /* The value of either capability is the largest ring in bytes. */
    cap.cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
    max = kvm_check_extension(vm_fd, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
    if (max <= 0) {
        cap.cap = KVM_CAP_DIRTY_LOG_RING;
        max = kvm_check_extension(vm_fd, KVM_CAP_DIRTY_LOG_RING);
    }
    if (max <= 0) {
        return -EOPNOTSUPP;
    }
    if (bytes > (uint64_t)max) {
        return -E2BIG;
    }
    cap.args[0] = bytes;
    if (kvm_ioctl_quiet(vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
        /* Below KVM's reserved entries or a page, or vCPUs exist. */
        return -EINVAL;
    }
    if (acq_rel) {
        *acq_rel = cap.cap == KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
    }
    return 0;
}

/* --- the slot table --------------------------------------------------------
 */

static void slot_free(struct dl_slot *s)
{
    if (s) {
        free(s->buf);
        free(s);
    }
}

static void untrack_locked(struct dirty_log *dl, int id)
{
    slot_free(dl->by_id[id]);
    dl->by_id[id] = NULL;
    while (dl->end_id > 0 && !dl->by_id[dl->end_id - 1]) {
        dl->end_id--;
    }
}

/* Start tracking slot (id), which KVM now logs. */
static int track_locked(struct dirty_log *dl, int id, const struct kvm_slot *sl)
{
    struct ram_block *rb;
    struct dl_slot *s;
    uint64_t off;

    if (id < 0 || id >= dl->nr_ids) {
        return -ENOSPC;
    }
    untrack_locked(dl, id);
    rb = ram_block_from_host((const void *)sl->hva, &off);
    if (!rb || (off | sl->size) % DIRTY_PAGE_SIZE != 0 || sl->size == 0 ||
        sl->size > ram_block_used_length(rb) - off) {
        fprintf(stderr,
                "vmm: dirty log: slot %d (gpa 0x%" PRIx64
                ") is not inside a RAMBlock\n",
                id, sl->gpa);
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return -ENOMEM;
    }
    s->id = id;
    s->lo = UINT64_MAX;
    s->npages = sl->size >> DIRTY_PAGE_SHIFT;
    s->bm = ram_block_dirty(rb);
    s->rb_page = off >> DIRTY_PAGE_SHIFT;
    s->buf = calloc((size_t)DIRTY_WORDS(s->npages), sizeof(uint64_t));
    if (!s->buf) {
        free(s);
        return -ENOMEM;
    }
    dl->by_id[id] = s;
    if (id >= dl->end_id) {
        dl->end_id = id + 1;
    }
    return 0;
}

/* Fold (s)'s buffer words [lo, hi) into its RAMBlock's bitmap. */
static void fold_locked(struct dl_slot *s, uint64_t lo, uint64_t hi)
{
    uint64_t first = lo * 64;
    uint64_t nr = hi * 64 < s->npages ? hi * 64 - first : s->npages - first;
    int ret;

    if (hi <= lo) {
        return;
    }
    /* In range by construction: the slot lies inside the block. */
    ret = dirty_bitmap_or(s->bm, s->rb_page + first, s->buf + lo, nr);
    (void)ret;
}

/* The words of (s)'s buffer that may hold bits. */
static void buf_span(const struct dirty_log *dl, const struct dl_slot *s,
                     uint64_t *lo, uint64_t *hi)
{
    if (dl->mode == DIRTY_LOG_RING) {
        *lo = s->lo < s->hi ? s->lo : 0;
        *hi = s->lo < s->hi ? s->hi : 0;
    } else {
        *lo = 0;
        *hi = DIRTY_WORDS(s->npages);
    }
}

/* Done with (s)'s buffer: ring staging must be clean again. */
static void buf_done(const struct dirty_log *dl, struct dl_slot *s)
{
    if (dl->mode == DIRTY_LOG_RING && s->hi > s->lo) {
        memset(s->buf + s->lo, 0, (size_t)(s->hi - s->lo) * sizeof(uint64_t));
        s->lo = UINT64_MAX;
        s->hi = 0;
    }
}

/* Fold every slot's buffer into its RAMBlock's bitmap; ring staging is
 * clean again afterwards. */
static void fold_all_locked(struct dirty_log *dl)
{
    uint64_t lo, hi;

    for (int id = 0; id < dl->end_id; id++) {
        struct dl_slot *s = dl->by_id[id];

        if (s) {
            buf_span(dl, s, &lo, &hi);
            fold_locked(s, lo, hi);
            buf_done(dl, s);
        }
    }
}

/* --- bitmap and clear mode ---------------------------------------------------
 */

/* KVM_GET_DIRTY_LOG of (s) into its buffer, which is all zero when it
 * fails: no stale bits may be taken or cleared then. */
static int slot_get_locked(struct dirty_log *dl, struct dl_slot *s)
{
    struct kvm_dirty_log log = {.slot = (uint32_t)s->id};
    int ret;

    log.dirty_bitmap = s->buf;
    dl->stats.get_calls++;
    ret = kvm_ioctl(dl->vm_fd, KVM_GET_DIRTY_LOG, &log);
    if (ret < 0) {
        memset(s->buf, 0, (size_t)DIRTY_WORDS(s->npages) * sizeof(uint64_t));
    }
    return ret;
}

uint64_t dirty_log_clear_pages(uint64_t bytes)
{
    uint64_t pages = (bytes >> DIRTY_PAGE_SHIFT) & ~UINT64_C(63);

    return bytes && pages == 0 ? 64 : pages;
}

int dirty_log_clear_slot(int vm_fd, uint32_t slot, const uint64_t *bitmap,
                         uint64_t npages, uint64_t chunk_pages, uint64_t *calls)
{
    uint64_t chunk = chunk_pages ? chunk_pages : npages;
    int err = 0;

    if (chunk > CLEAR_CHUNK_MAX_PAGES) {
        chunk = CLEAR_CHUNK_MAX_PAGES;
    }
    for (uint64_t first = 0; first < npages; first += chunk) {
        uint64_t n = npages - first < chunk ? npages - first : chunk;
        uint64_t w, w_end = DIRTY_WORDS(first + n);
        struct kvm_clear_dirty_log c = {
            .slot = slot,
            .num_pages = (uint32_t)n,
            .first_page = first,
        };
        int ret;

        for (w = first / 64; w < w_end && bitmap[w] == 0; w++) {
        }
        if (w == w_end) {
            continue;
        }
        /* KVM only reads the bitmap. */
        c.dirty_bitmap = (void *)(uintptr_t)(bitmap + first / 64);
        (*calls)++;
        ret = kvm_ioctl(vm_fd, KVM_CLEAR_DIRTY_LOG, &c);
        err = err ? err : ret;
    }
    return err;
}

/* Re-protect the pages of (s)'s buffer. */
static int slot_clear_locked(struct dirty_log *dl, struct dl_slot *s)
{
    return dirty_log_clear_slot(dl->vm_fd, (uint32_t)s->id, s->buf, s->npages,
                                dl->clear_pages, &dl->stats.clear_calls);
}

/* --- ring mode ---------------------------------------------------------------
 */

/* The logging slot a ring entry names, or NULL. */
static struct dl_slot *ring_slot_locked(const struct dirty_log *dl,
                                        uint32_t slot)
{
    uint32_t id = slot & 0xffff;

    /* Bits 16-31 name the address space: x86 guests log in 0 only. */
    if ((slot >> 16) != 0 || id >= (uint32_t)dl->end_id) {
        return NULL;
    }
    return dl->by_id[id];
}

/*
 * Take every dirty entry of (r), in order, into the slot buffers. The
 * acquire load of an entry's flags pairs with KVM's release store that
 * published it, so its slot and offset are complete; the release store of
 * KVM_DIRTY_GFN_F_RESET hands it back only after they were read. Entries
 * come in runs of one slot, whose buffer stays in registers meanwhile;
 * the staged span is widened with branches that are almost never taken
 * (conditional moves would chain every entry to the one before).
 */
static void ring_collect_locked(struct dirty_log *dl, struct dl_ring *r)
{
    const uint32_t mask = dl->ring_entries - 1;
    struct kvm_dirty_gfn *const gfns = r->gfns;
    uint32_t fetch = r->fetch, cur = UINT32_MAX;
    struct dl_slot *s = NULL;
    uint64_t *buf = NULL, npages = 0, n = 0, stray = 0;

    for (;;) {
        struct kvm_dirty_gfn *e = &gfns[fetch & mask];
        uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
        uint32_t slot;
        uint64_t offset;

        /* Dirty and not yet handed back (a 1X entry awaits KVM's reset). */
        if ((flags & KVM_DIRTY_GFN_F_MASK) != KVM_DIRTY_GFN_F_DIRTY) {
            break;
        }
        slot = e->slot;
        offset = e->offset;
        if (slot != cur) {
            s = ring_slot_locked(dl, slot);
            buf = s ? s->buf : NULL;
            npages = s ? s->npages : 0;
            cur = slot;
        }
        if (offset < npages) {
            uint64_t w = offset / 64;

            buf[w] |= UINT64_C(1) << (offset % 64);
            if (w < s->lo) {
                s->lo = w;
            }
            if (w >= s->hi) {
                s->hi = w + 1;
            }
        } else {
            stray++;
        }
        __atomic_store_n(&e->flags, (uint32_t)KVM_DIRTY_GFN_F_RESET,
                         __ATOMIC_RELEASE);
        fetch++;
        n++;
    }
    r->fetch = fetch;
    dl->stats.ring_collected += n;
    dl->stats.stray += stray;
}

/* Hand the collected entries back: KVM re-protects their pages. */
static int rings_reset_locked(struct dirty_log *dl)
{
    int ret = kvm_ioctl_val(dl->vm_fd, KVM_RESET_DIRTY_RINGS, 0);

    dl->stats.resets++;
    return ret < 0 ? ret : 0;
}

/*
 * Collect every ring (or only (only) when >= 0), reset, then fold. A page
 * stays writable from its ring entry until the reset, so it may reach a
 * RAMBlock bitmap, where any thread can take it, only after the reset:
 * a write after that is logged again.
 */
static int rings_harvest_locked(struct dirty_log *dl, int only)
{
    int ret;

    for (int i = 0; i < dl->nr_rings; i++) {
        if (only < 0 || i == only) {
            ring_collect_locked(dl, &dl->rings[i]);
        }
    }
    ret = rings_reset_locked(dl);
    fold_all_locked(dl);
    return ret;
}

/* --- the listener's hook -----------------------------------------------------
 */

/* Harvest slot (s) for good: it is about to go or to stop logging. */
static int flush_locked(struct dirty_log *dl, struct dl_slot *s)
{
    int ret = 0;

    dl->stats.flushes++;
    switch (dl->mode) {
    case DIRTY_LOG_BITMAP:
    case DIRTY_LOG_CLEAR:
        /* Whether KVM cleared its copy does not matter: it goes away. */
        ret = slot_get_locked(dl, s);
        if (ret == 0) {
            fold_locked(s, 0, DIRTY_WORDS(s->npages));
        }
        break;
    case DIRTY_LOG_RING:
        /* The vCPUs are parked: every entry naming (s) is in a ring. The
         * reset comes before the slot goes, so that KVM re-protects
         * nothing of a slot that may reuse its id. */
        ret = rings_harvest_locked(dl, -1);
        break;
    }
    return ret;
}

static int dl_hook(void *opaque, int id, const struct kvm_slot *sl,
                   bool logging)
{
    struct dirty_log *dl = opaque;
    int ret = 0;

    pthread_mutex_lock(&dl->lock);
    if (logging) {
        ret = track_locked(dl, id, sl);
    } else if (id >= 0 && id < dl->end_id && dl->by_id[id]) {
        ret = flush_locked(dl, dl->by_id[id]);
        untrack_locked(dl, id);
    }
    pthread_mutex_unlock(&dl->lock);
    return ret;
}

/* --- public API --------------------------------------------------------------
 */

static int enable_manual_protect(struct dirty_log *dl, char *why, size_t whylen)
{
    struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};
    int offered =
        kvm_check_extension(dl->vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    int ret;

    if (!(offered & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
        snprintf(why, whylen,
                 "dirty log mode clear: this KVM lacks "
                 "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
        return -EOPNOTSUPP;
    }
    cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
                  (offered & KVM_DIRTY_LOG_INITIALLY_SET);
    ret = kvm_ioctl(dl->vm_fd, KVM_ENABLE_CAP, &cap);
    if (ret < 0) {
        snprintf(why, whylen,
                 "dirty log mode clear: enabling "
                 "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: %s",
                 strerror(-ret));
        return ret;
    }
    dl->initially_set = (offered & KVM_DIRTY_LOG_INITIALLY_SET) != 0;
    return 0;
}

static int map_rings(struct dirty_log *dl, const struct dirty_log_opts *o,
                     char *why, size_t whylen)
{
    size_t len = (size_t)o->ring_entries * sizeof(struct kvm_dirty_gfn);
    long page = sysconf(_SC_PAGESIZE);

    if (o->ring_entries == 0 || (o->ring_entries & (o->ring_entries - 1)) ||
        o->nr_vcpus <= 0 || !o->vcpu_fds) {
        snprintf(why, whylen,
                 "dirty log mode ring: need a power-of-two ring size and "
                 "the vCPUs");
        return -EINVAL;
    }
    dl->rings = calloc((size_t)o->nr_vcpus, sizeof(*dl->rings));
    if (!dl->rings) {
        snprintf(why, whylen, "dirty log: out of memory");
        return -ENOMEM;
    }
    dl->ring_entries = o->ring_entries;
    for (int i = 0; i < o->nr_vcpus; i++) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
                       o->vcpu_fds[i], (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * page);

        if (p == MAP_FAILED) {
            int err = -errno;

            snprintf(why, whylen,
                     "dirty log mode ring: mapping vCPU %d's ring of %u "
                     "entries: %s (is the ring enabled on the VM?)",
                     i, o->ring_entries, strerror(-err));
            return err;
        }
        dl->rings[i].gfns = p;
        dl->rings[i].map_len = len;
        dl->nr_rings++;
    }
    return 0;
}

int dirty_log_new(int vm_fd, struct mem_sys *sys, struct kvm_memslots *slots,
                  const struct dirty_log_opts *o, struct dirty_log **out,
                  char *why, size_t whylen)
{
    struct dirty_log *dl;
    int ret = 0;

    /*
     * KVM's ring read positions and manual protection stay with the VM
     * when a tracker goes: a later tracker could not take the rings up
     * where the first left them, nor log another way.
     */
    if (slots->log_hook) {
        snprintf(why, whylen, "dirty log: this VM is tracked already");
        return -EBUSY;
    }
    if (slots->log_trackers > 0 && (o->mode == DIRTY_LOG_RING ||
                                    slots->log_tracker_mode != (int)o->mode)) {
        snprintf(
            why, whylen,
            "dirty log mode %s: this VM was already tracked in mode %s",
            dirty_log_mode_name(o->mode),
            dirty_log_mode_name((enum dirty_log_mode)slots->log_tracker_mode));
        return -EBUSY;
    }
    dl = calloc(1, sizeof(*dl));
    if (!dl) {
        snprintf(why, whylen, "dirty log: out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&dl->lock, NULL);
    dl->mode = o->mode;
    dl->vm_fd = vm_fd;
    dl->sys = sys;
    dl->slots = slots;
    dl->nr_ids = slots->nr_slots;
    dl->clear_pages = dirty_log_clear_pages(o->clear_chunk);
    /* Zeroed pages: untouched entries cost no resident memory. */
    dl->by_id = calloc((size_t)dl->nr_ids, sizeof(*dl->by_id));
    if (!dl->by_id) {
        snprintf(why, whylen, "dirty log: out of memory");
        ret = -ENOMEM;
        goto fail;
    }
    if (o->mode == DIRTY_LOG_CLEAR) {
        ret = enable_manual_protect(dl, why, whylen);
    } else if (o->mode == DIRTY_LOG_RING) {
        ret = map_rings(dl, o, why, whylen);
    } else if (o->mode != DIRTY_LOG_BITMAP) {
        snprintf(why, whylen, "dirty log: unknown mode %d", (int)o->mode);
        ret = -EINVAL;
    }
    if (ret < 0) {
        goto fail;
    }
    dl->stats.initially_set = dl->initially_set;

    /* Take over the hook, and track what already logs, atomically with
     * respect to commits. */
    mem_begin(sys);
    for (int id = 0; id < slots->next_unused && ret == 0; id++) {
        const struct kvm_slot *sl = &slots->slots[id];

        if (sl->used && (sl->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
            pthread_mutex_lock(&dl->lock);
            ret = track_locked(dl, id, sl);
            pthread_mutex_unlock(&dl->lock);
        }
    }
    if (ret == 0) {
        slots->log_hook = dl_hook;
        slots->log_opaque = dl;
        slots->log_trackers++;
        slots->log_tracker_mode = (int)o->mode;
    }
    if (mem_commit(sys) < 0 && ret == 0) {
        ret = -EIO;
    }
    if (ret < 0) {
        snprintf(why, whylen, "dirty log: tracking the logging slots: %s",
                 strerror(-ret));
        goto fail;
    }
    *out = dl;
    return 0;
fail:
    dirty_log_free(dl);
    return ret;
}

void dirty_log_free(struct dirty_log *dl)
{
    int ret;

    if (!dl) {
        return;
    }
    if (dl->slots && dl->slots->log_opaque == dl) {
        mem_begin(dl->sys);
        dl->slots->log_hook = NULL;
        dl->slots->log_opaque = NULL;
        /* Nothing was edited: no listener runs, nothing can fail. */
        ret = mem_commit(dl->sys);
        (void)ret;
    }
    for (int id = 0; dl->by_id && id < dl->end_id; id++) {
        slot_free(dl->by_id[id]);
    }
    for (int i = 0; i < dl->nr_rings; i++) {
        munmap(dl->rings[i].gfns, dl->rings[i].map_len);
    }
    free(dl->rings);
    free(dl->scratch);
    free(dl->by_id);
    pthread_mutex_destroy(&dl->lock);
    free(dl);
}

static int pull_locked(struct dirty_log *dl);
static int protect_locked(struct dirty_log *dl);

int dirty_log_sync(struct dirty_log *dl)
{
    int err, ret;

    pthread_mutex_lock(&dl->lock);
    dl->stats.syncs++;
    /* GET or collect, re-protect, and only then publish. */
    err = pull_locked(dl);
    ret = protect_locked(dl);
    err = err ? err : ret;
    fold_all_locked(dl);
    pthread_mutex_unlock(&dl->lock);
    return err;
}

/* Pull KVM's state of every logging slot into its buffer (ring: the
 * staging buffers), without folding or re-protecting: protect_locked()
 * does that, before anything of the buffers reaches a RAMBlock bitmap. */
static int pull_locked(struct dirty_log *dl)
{
    int err = 0;

    if (dl->mode == DIRTY_LOG_RING) {
        for (int i = 0; i < dl->nr_rings; i++) {
            ring_collect_locked(dl, &dl->rings[i]);
        }
        return 0;
    }
    for (int id = 0; id < dl->end_id; id++) {
        if (dl->by_id[id]) {
            int ret = slot_get_locked(dl, dl->by_id[id]);

            err = err ? err : ret;
        }
    }
    return err;
}

/*
 * Re-protect what pull_locked() found: clear mode clears the pages found,
 * slot by slot; ring mode resets the rings; bitmap mode's GET did it. A
 * page may reach a RAMBlock bitmap, where any thread can take it, only
 * after this, or a write between the take and the re-protection would
 * be lost.
 */
static int protect_locked(struct dirty_log *dl)
{
    int err = 0;

    if (dl->mode == DIRTY_LOG_RING) {
        return rings_reset_locked(dl);
    }
    if (dl->mode != DIRTY_LOG_CLEAR) {
        return 0;
    }
    for (int id = 0; id < dl->end_id; id++) {
        if (dl->by_id[id]) {
            int ret = slot_clear_locked(dl, dl->by_id[id]);

            err = err ? err : ret;
        }
    }
    return err;
}

/* (dst) bit (off + i) |= (s)'s buffer bit i, words [lo, hi) of it. */
static void scratch_or(uint64_t *dst, uint64_t off, const struct dl_slot *s,
                       uint64_t lo, uint64_t hi)
{
    unsigned sh = (unsigned)(off % 64);

    for (uint64_t j = lo; j < hi; j++) {
        uint64_t v = s->buf[j];
        uint64_t d = off / 64 + j;

        /* Bits past the slot's end are not its pages, whatever KVM says. */
        if (j == DIRTY_WORDS(s->npages) - 1 && s->npages % 64) {
            v &= (UINT64_C(1) << (s->npages % 64)) - 1;
        }
        if (v == 0) {
            continue;
        }
        dst[d] |= v << sh;
        if (sh && (v >> (64 - sh))) {
            dst[d + 1] |= v >> (64 - sh);
        }
    }
}

/* Slots inside a range that the direct take handles (pc.ram has two). */
#define TAKE_MAX_SLOTS 8

/*
 * Take [first, first + nr) of (bm) segment by segment: the bitmap's own
 * pages where no slot lies, and each slot of (in) (sorted, inside the
 * range) with KVM's pages straight from its buffer. Needs every segment to
 * start on a whole word of (out); returns false, having done nothing,
 * when the layout does not allow it.
 */
static bool take_direct_locked(struct dirty_bitmap *bm, uint64_t first,
                               uint64_t nr, struct dl_slot *const *in, int nin,
                               uint64_t *out, uint64_t *count)
{
    uint64_t pos = first, end = first + nr, n = 0, c;

    for (int i = 0; i < nin; i++) {
        uint64_t s_end = in[i]->rb_page + in[i]->npages;

        if ((in[i]->rb_page - first) % 64 != 0 ||
            (s_end != end && (s_end - first) % 64 != 0) ||
            (i > 0 &&
             in[i]->rb_page < in[i - 1]->rb_page + in[i - 1]->npages)) {
            return false;
        }
    }
    for (int i = 0; i <= nin; i++) {
        uint64_t seg = i < nin ? in[i]->rb_page : end;
        int ret;

        /* In range and on whole words by the checks above. */
        if (seg > pos) {
            ret =
                dirty_bitmap_take_or(bm, pos, seg - pos, NULL,
                                     out ? out + (pos - first) / 64 : NULL, &c);
            n += ret == 0 ? c : 0;
        }
        if (i < nin) {
            ret =
                dirty_bitmap_take_or(bm, seg, in[i]->npages, in[i]->buf,
                                     out ? out + (seg - first) / 64 : NULL, &c);
            n += ret == 0 ? c : 0;
            pos = seg + in[i]->npages;
        }
    }
    *count = n;
    return true;
}

/* Whether slot (s) lies inside pages [first, first + nr) of (bm). */
static bool slot_in_range(const struct dl_slot *s,
                          const struct dirty_bitmap *bm, uint64_t first,
                          uint64_t nr)
{
    return s->bm == bm && s->rb_page >= first &&
           s->rb_page + s->npages <= first + nr;
}

int dirty_log_sync_take(struct dirty_log *dl, struct ram_block *rb,
                        uint64_t first, uint64_t nr, uint64_t *out,
                        uint64_t *count)
{
    struct dirty_bitmap *bm = ram_block_dirty(rb);
    struct dl_slot *in[TAKE_MAX_SLOTS];
    const uint64_t *src = NULL;
    uint64_t n = 0, lo, hi;
    int nin = 0, err, ret;
    bool many = false, direct;

    if (first > dirty_bitmap_nr_pages(bm) ||
        nr > dirty_bitmap_nr_pages(bm) - first) {
        return -ERANGE;
    }
    pthread_mutex_lock(&dl->lock);
    dl->stats.syncs++;
    err = pull_locked(dl);
    /* The slots inside the range, sorted by their place in the block. */
    for (int id = 0; id < dl->end_id; id++) {
        struct dl_slot *s = dl->by_id[id];
        int k;

        if (!s || !slot_in_range(s, bm, first, nr)) {
            continue;
        }
        if (nin == TAKE_MAX_SLOTS) {
            many = true;
            continue;
        }
        for (k = nin++; k > 0 && in[k - 1]->rb_page > s->rb_page; k--) {
            in[k] = in[k - 1];
        }
        in[k] = s;
    }
    /*
     * Straight from the buffers into (out), which the caller sees only
     * after this returns, so before re-protecting: KVM's clear walks every
     * page found and leaves the caches cold.
     */
    direct = !many && take_direct_locked(bm, first, nr, in, nin, out, &n);
    ret = protect_locked(dl);
    err = err ? err : ret;
    /* Only now may KVM's pages reach the shared bitmaps. */
    for (int id = 0; id < dl->end_id; id++) {
        struct dl_slot *s = dl->by_id[id];

        if (s && !slot_in_range(s, bm, first, nr)) {
            buf_span(dl, s, &lo, &hi);
            fold_locked(s, lo, hi);
        }
    }
    if (!direct) {
        /* An odd layout: gather KVM's pages of the range first. */
        if (dl->scratch_words < DIRTY_WORDS(nr)) {
            uint64_t *p = calloc((size_t)DIRTY_WORDS(nr), sizeof(uint64_t));

            if (p) {
                free(dl->scratch);
                dl->scratch = p;
                dl->scratch_words = DIRTY_WORDS(nr);
            }
        }
        for (int id = 0; id < dl->end_id; id++) {
            struct dl_slot *s = dl->by_id[id];

            if (!s || !slot_in_range(s, bm, first, nr)) {
                continue;
            }
            buf_span(dl, s, &lo, &hi);
            if (dl->scratch_words >= DIRTY_WORDS(nr)) {
                scratch_or(dl->scratch, s->rb_page - first, s, lo, hi);
            } else {
                /* No memory for the shortcut: the long way round. */
                fold_locked(s, lo, hi);
            }
        }
        if (dl->scratch_words >= DIRTY_WORDS(nr)) {
            src = dl->scratch;
        }
        ret = dirty_bitmap_take_or(bm, first, nr, src, out, &n);
        err = err ? err : ret;
        if (src) {
            memset(dl->scratch, 0, (size_t)DIRTY_WORDS(nr) * sizeof(uint64_t));
        }
    }
    for (int id = 0; id < dl->end_id; id++) {
        if (dl->by_id[id]) {
            buf_done(dl, dl->by_id[id]);
        }
    }
    pthread_mutex_unlock(&dl->lock);
    if (count) {
        *count = n;
    }
    return err;
}

int dirty_log_ring_full(struct dirty_log *dl, int vcpu)
{
    int ret;

    if (dl->mode != DIRTY_LOG_RING || vcpu < 0 || vcpu >= dl->nr_rings) {
        return -EINVAL;
    }
    pthread_mutex_lock(&dl->lock);
    dl->stats.ring_full++;
    ret = rings_harvest_locked(dl, vcpu);
    pthread_mutex_unlock(&dl->lock);
    return ret;
}

void dirty_log_get_stats(struct dirty_log *dl, struct dirty_log_stats *st)
{
    pthread_mutex_lock(&dl->lock);
    *st = dl->stats;
    st->resets = __atomic_load_n(&dl->stats.resets, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&dl->lock);
}
