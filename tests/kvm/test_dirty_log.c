/* SPDX-License-Identifier: MIT */
/*
 * Dirty-log correctness against a real KVM: test_dirty_log SCENARIO MODE.
 *
 *   api        no guest runs: the memory API, the memslot listener and the
 *              tracker on a bare VM; VMM writes through as_write() marked
 *              (only while logging), INITIALLY_SET's first harvest, chunked
 *              clears on a slot of 259 pages (64-page chunks, the last one
 *              3 pages to the slot's end), a region moved while logging,
 *              logging stopped.
 *   verify     the dirty guest on 2 vCPUs: seeded verification rounds
 *              harvested as they go, a RUN window, a full sweep that must
 *              come back whole, VMM writes while the guest idles.
 *   startstop  logging stopped and started 20 times while the guest
 *              writes; a verification round whose last pages only the
 *              harvest that stopping logging makes can find; a round after
 *              logging restarts.
 *   move       the guest writes the toggle region and moves it, 50 times,
 *              while its second vCPU writes RAM: each write must be in the
 *              toggle block's bitmap before any sync, harvested as its
 *              memslot went.
 *   ringfull   (ring only) a tiny ring on 2 vCPUs and no harvester but the
 *              vCPU threads: every page of sweeps and rounds must arrive.
 *   chunks     (clear only) a RAM slot that is not a multiple of 64 pages,
 *              harvested with chunks of 64, 100 (-> 64), 1000 (-> 960) and
 *              1024 pages and whole slots.
 *   copy       what a live migration does: a copy of the working set is
 *              taken when logging starts, then every harvested page is
 *              copied again while both vCPUs rewrite 256 pages at random;
 *              another thread syncs at the same time (ring: the vCPU
 *              threads too, with the smallest ring). Once the guest stops
 *              and a last harvest is copied, the copy must equal guest
 *              memory: a write made after a page was taken but before KVM
 *              re-protected it would show as a stale page.
 *
 * Lost pages must be 0 everywhere; ring entries naming no logging slot
 * must never appear. Exits 0 on success, 1 on failure, 4 when KVM lacks
 * the mode (a failure under CI=true). Wrapped by dirty_log.sh, which
 * checks /dev/kvm first.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "devices/testdev.h"
#include "dirty_guest.h"
#include "dirty_log.h"
#include "guest_embed.h"
#include "kvm.h"
#include "kvm_memslots.h"
#include "machine.h"
#include "machine_ctl.h"
#include "mem/address_space.h"
#include "mem/dirty.h"
#include "mem/ramblock.h"
#include "mem/region.h"
#include "util/clock.h"
#include "vcpu.h"
#include "vcpu_x86_64.h"

#define SKIP 4
#define PAGE DIRTY_PAGE_SIZE
#define OP_TIMEOUT 120.0

static unsigned failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: FAIL (%s): ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

static enum dirty_log_mode mode;
static const char *scenario;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

static bool bit(const uint64_t *b, uint64_t p)
{
    return (b[p / 64] >> (p % 64)) & 1;
}

/* --- api: no guest -----------------------------------------------------------
 */

static int scenario_api(void)
{
    const uint64_t pages = 259; /* 4 * 64 + 3 */
    struct kvm_sys kvm = {.fd = -1};
    struct vcpu_set vcpus;
    struct kvm_memslots slots;
    struct mem_sys *sys;
    struct address_space *as;
    struct mem_region root, ram;
    struct dirty_log_opts o = {.mode = mode, .clear_chunk = 100 * PAGE};
    struct dirty_log_stats st;
    struct dirty_log *dl = NULL;
    struct dirty_bitmap *bm;
    struct ram_block *rb;
    bool have_vcpus = false;
    uint64_t n, out[DIRTY_WORDS(259)];
    uint8_t byte = 0x5a, buf[2 * PAGE];
    char why[256];
    int vm_fd, ret, fd;

    if (kvm_sys_open(&kvm, "/dev/kvm", why, sizeof(why)) < 0) {
        fprintf(stderr, "%s\n", why);
        return SKIP;
    }
    vm_fd = kvm_ioctl_val(kvm.fd, KVM_CREATE_VM, 0);
    CHECK(vm_fd >= 0, "KVM_CREATE_VM");
    if (vm_fd < 0) {
        return 1;
    }
    if (mode == DIRTY_LOG_RING) {
        ret = dirty_log_enable_ring(vm_fd, 1024, NULL);
        if (ret == -EOPNOTSUPP) {
            fprintf(stderr, "no dirty ring on this host\n");
            return SKIP;
        }
        CHECK(ret == 0, "enable ring: %s", strerror(-ret));
        CHECK(dirty_log_enable_ring(vm_fd, 1000, NULL) == -EINVAL,
              "a ring size that is not a power of two");
        CHECK(vcpu_set_init(&vcpus, vm_fd, 1, kvm.vcpu_mmap_size, NULL, NULL) ==
                  0,
              "vCPU");
        have_vcpus = true;
        fd = vcpus.vcpus[0].fd;
        o.vcpu_fds = &fd;
        o.nr_vcpus = 1;
        o.ring_entries = 1024;
    }
    CHECK(mem_sys_new(&sys) == 0, "sys");
    CHECK(mr_init_container(&root, "root", UINT64_MAX) == 0, "root");
    CHECK(mr_init_ram(&ram, "ram", pages * PAGE) == 0, "ram");
    CHECK(as_new(sys, "memory", &root, MR_SIZE_2_64, &as) == 0, "as");
    CHECK(kvm_memslots_init(&slots, vm_fd, kvm.nr_memslots, NULL, NULL, NULL) ==
              0,
          "memslots");
    CHECK(as_listener_register(as, &slots.listener) == 0, "listener");
    CHECK(mr_add_subregion(&root, 0x100000, &ram) == 0, "place RAM");
    rb = ram_block_from_host(mr_ram_ptr(&ram, 0), NULL);
    bm = rb ? ram_block_dirty(rb) : NULL;
    CHECK(bm != NULL, "the RAM's bitmap");
    ret = dirty_log_new(vm_fd, sys, &slots, &o, &dl, why, sizeof(why));
    if (ret == -EOPNOTSUPP) {
        fprintf(stderr, "%s\n", why);
        return SKIP;
    }
    CHECK(ret == 0, "dirty_log_new: %s", why);
    if (ret < 0 || !bm || failures) {
        return 1;
    }

    /* Logging off: VMM writes are not marked. */
    CHECK(as_write(as, 0x100000, &byte, 1) == 0, "write");
    CHECK(dirty_bitmap_count(bm, 0, pages) == 0, "marked without logging");

    /* Logging on: the slot gets the flag. */
    CHECK(mr_set_log(&ram, true) == 0, "log on");
    CHECK(slots.slots[0].used &&
              (slots.slots[0].flags & KVM_MEM_LOG_DIRTY_PAGES),
          "slot 0 logs (flags 0x%x)", slots.slots[0].flags);
    dirty_log_get_stats(dl, &st);
    /* The first sync: everything with INITIALLY_SET, else nothing (no
     * vCPU ran). */
    CHECK(dirty_log_sync(dl) == 0, "first sync");
    CHECK(dirty_bitmap_test_and_clear(bm, 0, pages, NULL, &n) == 0, "take");
    CHECK(n == (st.initially_set ? pages : 0),
          "first harvest took %" PRIu64 " pages (initially set: %d)", n,
          st.initially_set);
    /* The second sync runs the chunked clear (64-page chunks, the last
     * of 3 pages) on what the first found; KVM refuses bad chunks. */
    CHECK(dirty_log_sync(dl) == 0, "second sync");
    CHECK(dirty_bitmap_test_and_clear(bm, 0, pages, NULL, &n) == 0 && n == 0,
          "second harvest took %" PRIu64 " pages", n);
    dirty_log_get_stats(dl, &st);
    if (mode == DIRTY_LOG_CLEAR && st.initially_set) {
        CHECK(st.clear_calls == 5, "%" PRIu64 " clear calls, want 5",
              st.clear_calls);
    }

    /* VMM writes: a byte, a write across a page boundary and one ending
     * on the last page. */
    memset(buf, 0xa5, sizeof(buf));
    CHECK(as_write(as, 0x100000 + 5, &byte, 1) == 0, "write page 0");
    CHECK(as_write(as, 0x100000 + 64 * PAGE - 8, buf, 16) == 0,
          "write pages 63-64");
    CHECK(as_write(as, 0x100000 + (pages - 2) * PAGE + 1, buf, 2 * PAGE - 1) ==
              0,
          "write the last two pages");
    CHECK(dirty_log_sync(dl) == 0, "sync");
    memset(out, 0, sizeof(out));
    CHECK(dirty_bitmap_test_and_clear(bm, 0, pages, out, &n) == 0, "take");
    CHECK(n == 5 && bit(out, 0) && bit(out, 63) && bit(out, 64) &&
              bit(out, pages - 2) && bit(out, pages - 1),
          "VMM writes: took %" PRIu64 " pages", n);

    /* dirty_log_sync_take(): a range that does not hold the whole slot
     * (pages outside it stay in the bitmap), then the whole block. */
    CHECK(as_write(as, 0x100000 + 0 * PAGE, &byte, 1) == 0, "write page 0");
    CHECK(as_write(as, 0x100000 + 70 * PAGE, &byte, 1) == 0, "write page 70");
    CHECK(as_write(as, 0x100000 + 200 * PAGE, &byte, 1) == 0, "write page 200");
    memset(out, 0, sizeof(out));
    CHECK(dirty_log_sync_take(dl, rb, 65, 100, out, &n) == 0, "take 65..164");
    CHECK(n == 1 && bit(out, 70 - 65), "sub-range: %" PRIu64 " pages", n);
    memset(out, 0, sizeof(out));
    CHECK(dirty_log_sync_take(dl, rb, 0, pages, out, &n) == 0, "take all");
    CHECK(n == 2 && bit(out, 0) && bit(out, 200), "whole: %" PRIu64 " pages",
          n);
    CHECK(dirty_log_sync_take(dl, rb, 1, pages, out, &n) == -ERANGE,
          "a range past the block");

    /* Moved while logging: the old slot is harvested as it goes, the
     * new one logs. */
    CHECK(as_write(as, 0x100000 + 7 * PAGE, &byte, 1) == 0, "write page 7");
    CHECK(mr_set_address(&ram, 0x400000) == 0, "move");
    dirty_log_get_stats(dl, &st);
    CHECK(st.flushes == 1, "%" PRIu64 " flushes, want 1", st.flushes);
    CHECK(as_write(as, 0x400000 + 9 * PAGE, &byte, 1) == 0, "write page 9");
    CHECK(dirty_log_sync(dl) == 0, "sync after the move");
    memset(out, 0, sizeof(out));
    CHECK(dirty_bitmap_test_and_clear(bm, 0, pages, out, &n) == 0, "take");
    CHECK(bit(out, 7) && bit(out, 9), "pages 7 and 9 after the move");
    CHECK(n == (st.initially_set ? pages : 2),
          "after the move: %" PRIu64 " pages", n);

    /* Logging stopped: the flag goes, writes are not marked. */
    CHECK(mr_set_log(&ram, false) == 0, "log off");
    CHECK(!(slots.slots[0].flags & KVM_MEM_LOG_DIRTY_PAGES) ||
              !slots.slots[0].used,
          "slot still logs");
    CHECK(as_write(as, 0x400000, &byte, 1) == 0, "write");
    CHECK(dirty_log_sync(dl) == 0, "sync without logging");
    CHECK(dirty_bitmap_count(bm, 0, pages) == 0, "marked after logging");
    dirty_log_get_stats(dl, &st);
    CHECK(st.stray == 0, "%" PRIu64 " stray ring entries", st.stray);

    /* One block in two slots, through two aliases split at page (split):
     * at 128 the slots start on whole words of the result, at 100 they
     * do not; dirty_log_sync_take() must give the same pages either way
     * (INITIALLY_SET: every page from KVM; else the VMM's writes). */
    CHECK(mr_del_subregion(&root, &ram) == 0, "remove RAM");
    for (uint64_t split = 128; split >= 100; split -= 28) {
        struct mem_region lo_a, hi_a;
        uint64_t want;

        CHECK(mr_init_alias(&lo_a, "lo", &ram, 0, split * PAGE) == 0 &&
                  mr_init_alias(&hi_a, "hi", &ram, split * PAGE,
                                (pages - split) * PAGE) == 0,
              "aliases");
        mem_begin(sys);
        CHECK(mr_add_subregion(&root, 0x1000000, &lo_a) == 0 &&
                  mr_add_subregion(&root, 0x2000000, &hi_a) == 0,
              "place aliases");
        CHECK(mem_commit(sys) == 0, "commit");
        CHECK(mr_set_log(&ram, true) == 0, "log on");
        CHECK(as_write(as, 0x1000000 + (split - 1) * PAGE, &byte, 1) == 0 &&
                  as_write(as, 0x2000000, &byte, 1) == 0 &&
                  as_write(as, 0x2000000 + (pages - split - 1) * PAGE, &byte,
                           1) == 0,
              "writes around the split");
        memset(out, 0, sizeof(out));
        CHECK(dirty_log_sync_take(dl, rb, 0, pages, out, &n) == 0, "take");
        dirty_log_get_stats(dl, &st);
        want = st.initially_set ? pages : 3;
        CHECK(n == want && bit(out, split - 1) && bit(out, split) &&
                  bit(out, pages - 1),
              "split at %" PRIu64 ": took %" PRIu64 " pages, want %" PRIu64,
              split, n, want);
        CHECK(dirty_log_sync_take(dl, rb, 0, pages, out, &n) == 0 && n == 0,
              "split at %" PRIu64 ": second take %" PRIu64, split, n);
        CHECK(mr_set_log(&ram, false) == 0, "log off");
        mem_begin(sys);
        CHECK(mr_del_subregion(&root, &lo_a) == 0 &&
                  mr_del_subregion(&root, &hi_a) == 0,
              "remove aliases");
        CHECK(mem_commit(sys) == 0, "commit");
        mem_sys_synchronize(sys);
        CHECK(mr_destroy(&lo_a) == 0 && mr_destroy(&hi_a) == 0, "destroy");
    }

    dirty_log_free(dl);
    as_listener_unregister(as, &slots.listener);
    mem_sys_free(sys);
    kvm_memslots_destroy(&slots);
    CHECK(mr_destroy(&ram) == 0 && mr_destroy(&root) == 0, "destroy");
    if (have_vcpus) {
        vcpu_set_destroy(&vcpus);
    }
    close(vm_fd);
    kvm_sys_close(&kvm);
    return failures ? 1 : 0;
}

/* --- scenarios with the dirty guest ------------------------------------------
 */

struct tctx {
    const struct machine_ctl *ctl;
    struct dirty_guest g;
    /* Guarded by (lock) against the vCPU threads' ring_full. */
    pthread_rwlock_t lock;
    struct dirty_log *dl;
    uint64_t clear_chunk;
    uint32_t ring_entries;
    struct ram_block *rb;
    struct dirty_bitmap *bm;
    uint64_t block_pages;
    uint64_t *acc;
    uint64_t lost;
    char why[256];
};

static int t_ring_full(void *opaque, int vcpu)
{
    struct tctx *t = opaque;
    int ret = -EIO;

    pthread_rwlock_rdlock(&t->lock);
    if (t->dl) {
        ret = dirty_log_ring_full(t->dl, vcpu);
    }
    pthread_rwlock_unlock(&t->lock);
    return ret;
}

static int t_start(struct tctx *t)
{
    int fds[8];
    struct dirty_log_opts o = {
        .mode = mode,
        .clear_chunk = t->clear_chunk,
        .ring_entries = t->ring_entries,
        .vcpu_fds = fds,
        .nr_vcpus = t->ctl->vcpus->nr,
    };
    struct dirty_log *dl;
    int ret;

    for (int i = 0; i < o.nr_vcpus; i++) {
        fds[i] = t->ctl->vcpus->vcpus[i].fd;
    }
    ret = dirty_log_new(t->ctl->vm_fd, t->ctl->sys, t->ctl->slots, &o, &dl,
                        t->why, sizeof(t->why));
    CHECK(ret == 0, "dirty_log_new: %s", t->why);
    if (ret < 0) {
        return ret;
    }
    pthread_rwlock_wrlock(&t->lock);
    t->dl = dl;
    pthread_rwlock_unlock(&t->lock);
    ret = mr_set_log(t->ctl->ram, true);
    CHECK(ret == 0, "log on: %s", strerror(-ret));
    return ret;
}

static void t_stop(struct tctx *t)
{
    struct dirty_log *dl;

    pthread_rwlock_wrlock(&t->lock);
    dl = t->dl;
    t->dl = NULL;
    pthread_rwlock_unlock(&t->lock);
    dirty_log_free(dl);
}

/*
 * A harvest: dirty_log_sync_take() of the whole RAM block every other
 * time, dirty_log_sync() then a test-and-clear of the RAM's bitmap
 * otherwise: both ways must find the same pages.
 */
static uint64_t t_harvest(struct tctx *t)
{
    static unsigned calls;
    uint64_t n = 0;
    int ret;

    if (calls++ % 2) {
        ret = dirty_log_sync_take(t->dl, t->rb, 0, t->block_pages, t->acc, &n);
        CHECK(ret == 0, "sync_take: %s", strerror(-ret));
        return n;
    }
    ret = dirty_log_sync(t->dl);
    CHECK(ret == 0, "sync: %s", strerror(-ret));
    CHECK(dirty_bitmap_test_and_clear(t->bm, 0, t->block_pages, t->acc, &n) ==
              0,
          "take");
    return n;
}

/* The last harvest of a round, with the vCPUs out of the guest: with PML
 * a running vCPU may hold its last pages until it exits. */
static uint64_t t_harvest_parked(struct tctx *t)
{
    uint64_t n;

    vcpu_set_park(t->ctl->vcpus);
    n = t_harvest(t);
    vcpu_set_unpark(t->ctl->vcpus);
    return n;
}

static void t_clear_acc(struct tctx *t)
{
    memset(t->acc, 0, DIRTY_WORDS(t->block_pages) * sizeof(uint64_t));
}

static int t_wait(struct tctx *t, uint64_t seq, bool vcpu0_only)
{
    int ret = dirty_guest_wait(&t->g, seq, vcpu0_only, OP_TIMEOUT, t->why,
                               sizeof(t->why));

    CHECK(ret == 0, "%s", t->why);
    return ret;
}

/* Pages of the working set missing from acc (all, or those in want). */
static uint64_t t_missing(struct tctx *t, const uint64_t *want)
{
    uint64_t lost = 0;

    for (uint64_t i = 0; i < t->g.ws_pages; i++) {
        if ((!want || bit(want, i)) && !bit(t->acc, t->g.ws_first_page + i)) {
            lost++;
        }
    }
    return lost;
}

/*
 * A verification round of (count) pages. (harvesting): harvest as it
 * goes, then once more; otherwise only (finish) runs after the guest is
 * done, and harvests whatever it does.
 */
static void t_verify(struct tctx *t, uint64_t seed, uint64_t count,
                     bool harvesting, void (*finish)(struct tctx *))
{
    uint64_t *want, seq, lost;

    t_clear_acc(t);
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_VERIFY, count, seed);
    while (!dirty_guest_done(&t->g, seq, false)) {
        if (harvesting) {
            t_harvest(t);
        }
        if (dirty_guest_check(&t->g, t->why, sizeof(t->why)) < 0) {
            CHECK(0, "%s", t->why);
            return;
        }
    }
    if (finish) {
        finish(t);
    } else {
        t_harvest_parked(t);
    }
    want = calloc((size_t)DIRTY_WORDS(t->g.ws_pages), sizeof(uint64_t));
    if (!want) {
        CHECK(0, "out of memory");
        return;
    }
    dirty_guest_verify_set(&t->g, seed, count, want);
    lost = t_missing(t, want);
    free(want);
    CHECK(lost == 0, "verification round %" PRIx64 ": %" PRIu64 " pages lost",
          seed, lost);
    t->lost += lost;
}

/* A sweep of the working set, harvested as it goes when (harvesting). */
static void t_sweep(struct tctx *t, bool harvesting)
{
    uint64_t seq, lost;

    t_clear_acc(t);
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_SWEEP, 0, 0);
    while (harvesting && !dirty_guest_done(&t->g, seq, false)) {
        t_harvest(t);
    }
    if (t_wait(t, seq, false) < 0) {
        return;
    }
    t_harvest_parked(t);
    lost = t_missing(t, NULL);
    CHECK(lost == 0, "sweep: %" PRIu64 " of %" PRIu64 " pages lost", lost,
          t->g.ws_pages);
    t->lost += lost;
}

static void t_run_for(struct tctx *t, unsigned ms, bool harvesting)
{
    uint64_t seq;
    double end;

    dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_RUN, 0, 0);
    for (end = clock_now_s() + ms / 1e3; clock_now_s() < end;) {
        if (harvesting) {
            t_harvest(t);
        } else {
            sleep_ms(5);
        }
    }
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_IDLE, 0, 0);
    t_wait(t, seq, false);
}

static void sc_verify(struct tctx *t)
{
    struct ram_block *rb;
    uint64_t pages[] = {0, 1, 63, 64, 4095, t->g.ws_pages - 1};
    uint8_t v = 0xee;
    uint64_t n, gpa;

    for (int r = 0; r < 3; r++) {
        t_verify(t, 0x1000 + (uint64_t)r, 4096, true, NULL);
    }
    t_run_for(t, 500, true);
    t_sweep(t, true);
    t_verify(t, 0x2000, 4096, true, NULL);

    /* VMM writes while the guest idles: exactly these pages, plus one
     * below the working set (the guest's own memory). On hardware KVM
     * (SVM, VMX) the CPU's page walker also writes accessed and dirty
     * bits into the guest's page tables when it pleases (and accessed
     * bits into the GDT), and KVM rightly logs those pages too (a
     * migration must copy them): the VMM's structures below
     * X86_BOOT_RESERVED_END, which the CPL-3 guest cannot write itself,
     * are left out of the count. PVM's shadow paging never showed them. */
    t_harvest(t);
    t_clear_acc(t);
    rb = ram_block_from_host(mr_ram_ptr(t->ctl->ram, 0), NULL);
    CHECK(rb && ram_block_dirty(rb) == t->bm, "the RAM's bitmap");
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        gpa = t->g.ws_base + pages[i] * PAGE + (i * 97) % PAGE;
        CHECK(as_write(t->ctl->as_mem, gpa, &v, 1) == 0, "as_write");
    }
    gpa = t->g.ws_base - PAGE;
    CHECK(as_write(t->ctl->as_mem, gpa, &v, 1) == 0, "as_write");
    n = t_harvest(t);
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        CHECK(bit(t->acc, t->g.ws_first_page + pages[i]),
              "VMM write to page %" PRIu64 " not harvested", pages[i]);
    }
    CHECK(bit(t->acc, t->g.ws_first_page - 1), "VMM write below the set");
    for (uint64_t p = X86_BOOT_GDT_GPA / PAGE;
         p < X86_BOOT_RESERVED_END / PAGE && p < t->block_pages; p++) {
        n -= bit(t->acc, p) ? 1 : 0;
    }
    CHECK(n >= 7 && n <= 8, "VMM writes: %" PRIu64 " pages", n);
    if (n > 8) {
        /* Which pages came besides the VMM's: block page numbers. */
        fprintf(stderr,
                "  harvested pages (working set starts at %" PRIu64 "):",
                t->g.ws_first_page);
        for (uint64_t p = 0; p < t->block_pages; p++) {
            if (bit(t->acc, p)) {
                fprintf(stderr, " %" PRIu64, p);
            }
        }
        fputc('\n', stderr);
    }
}

/* The end of a verification round with logging stopped, not synced. */
static void finish_by_stopping(struct tctx *t)
{
    uint64_t n = 0;

    CHECK(mr_set_log(t->ctl->ram, false) == 0, "log off");
    /* No sync: only what stopping logging harvested is there. */
    CHECK(dirty_bitmap_test_and_clear(t->bm, 0, t->block_pages, t->acc, &n) ==
              0,
          "take");
}

static void sc_startstop(struct tctx *t)
{
    uint64_t seq;

    dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_RUN, 0, 0);
    for (int i = 0; i < 20; i++) {
        t_harvest(t);
        sleep_ms(20);
        CHECK(mr_set_log(t->ctl->ram, false) == 0, "log off %d", i);
        t_harvest(t);
        sleep_ms(10);
        CHECK(mr_set_log(t->ctl->ram, true) == 0, "log on %d", i);
    }
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_IDLE, 0, 0);
    t_wait(t, seq, false);
    t_harvest(t);
    t_verify(t, 0x3000, 8192, false, finish_by_stopping);
    CHECK(mr_set_log(t->ctl->ram, true) == 0, "log on again");
    t_harvest(t);
    t_verify(t, 0x3001, 8192, true, NULL);
    t_sweep(t, true);
}

static void sc_move(struct tctx *t)
{
    const uint64_t rounds = 50;
    struct mem_region *toggle = &t->ctl->td->toggle;
    struct ram_block *rb = ram_block_from_host(mr_ram_ptr(toggle, 0), NULL);
    struct dirty_bitmap *tbm = rb ? ram_block_dirty(rb) : NULL;
    struct dirty_log_stats st0, st1;
    uint64_t seq, n, missed = 0;

    CHECK(tbm != NULL, "the toggle region's bitmap");
    if (!tbm) {
        return;
    }
    CHECK(mr_set_log(toggle, true) == 0, "log the toggle region");
    t_harvest(t);
    CHECK(dirty_bitmap_test_and_clear(tbm, 0, 1, NULL, &n) == 0, "take");
    dirty_log_get_stats(t->dl, &st0);
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_MOVE, rounds, 0);
    for (uint64_t r = 1; r <= rounds; r++) {
        double deadline = clock_now_s() + OP_TIMEOUT;

        while (dirty_guest_step(&t->g) != r) {
            if (dirty_guest_check(&t->g, t->why, sizeof(t->why)) < 0 ||
                clock_now_s() > deadline) {
                CHECK(0, "move round %" PRIu64 ": %s", r,
                      t->why[0] ? t->why : "timeout");
                return;
            }
        }
        /* Before any sync: the write's slot is gone, so only the
         * harvest made as it went can have the page. */
        CHECK(dirty_bitmap_test_and_clear(tbm, 0, 1, NULL, &n) == 0, "take");
        missed += n != 1;
        t_harvest(t);
        dirty_guest_step_ack(&t->g, r);
    }
    t_wait(t, seq, true);
    dirty_log_get_stats(t->dl, &st1);
    CHECK(missed == 0, "%" PRIu64 " of %" PRIu64 " toggle writes lost", missed,
          rounds);
    t->lost += missed;
    CHECK(st1.flushes - st0.flushes >= rounds,
          "%" PRIu64 " slots harvested on the way out, want >= %" PRIu64,
          st1.flushes - st0.flushes, rounds);
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_IDLE, 0, 0);
    t_wait(t, seq, false);
    CHECK(mr_set_log(toggle, false) == 0, "stop logging the toggle");
    t_verify(t, 0x4000, 4096, true, NULL);
}

static void sc_ringfull(struct tctx *t)
{
    struct dirty_log_stats st0, st1;

    dirty_log_get_stats(t->dl, &st0);
    /* Nobody harvests but the vCPU threads until the end. */
    t_sweep(t, false);
    t_verify(t, 0x5000, 8192, false, NULL);
    t_run_for(t, 300, false);
    t_sweep(t, false);
    dirty_log_get_stats(t->dl, &st1);
    CHECK(st1.ring_full > st0.ring_full, "no ring filled");
    fprintf(stderr, "ringfull: %u-entry rings filled %" PRIu64 " times\n",
            t->ring_entries, st1.ring_full - st0.ring_full);
}

static void sc_chunks(struct tctx *t)
{
    static const uint64_t chunks[] = {64, 100, 1000, 1024, 0};
    struct dirty_log_stats st;
    uint64_t slot_pages = 0;

    for (int id = 0; id < t->ctl->slots->next_unused; id++) {
        const struct kvm_slot *sl = &t->ctl->slots->slots[id];

        if (sl->used && sl->mr == t->ctl->ram) {
            slot_pages = sl->size / PAGE;
        }
    }
    CHECK(slot_pages % 64 != 0, "RAM slot of %" PRIu64 " pages", slot_pages);
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        if (c > 0) {
            /* A new tracker with the next chunk size. */
            CHECK(mr_set_log(t->ctl->ram, false) == 0, "log off");
            t_stop(t);
            t->clear_chunk = chunks[c] * PAGE;
            if (t_start(t) < 0) {
                return;
            }
        }
        t_harvest(t);
        t_verify(t, 0x6000 + c, 4096, true, NULL);
        t_sweep(t, true);
        dirty_log_get_stats(t->dl, &st);
        CHECK(st.clear_calls > 0, "chunk %" PRIu64 ": no clears", chunks[c]);
        fprintf(stderr, "chunks: %" PRIu64 " pages: %" PRIu64 " clears\n",
                chunks[c], st.clear_calls);
    }
}

struct copy_partner {
    struct tctx *t;
    volatile bool stop;
    uint64_t syncs;
};

/* Syncs into the RAMBlock bitmap, as another consumer would, until told. */
static void *copy_partner_main(void *opaque)
{
    struct copy_partner *p = opaque;

    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        int ret = -EIO;

        pthread_rwlock_rdlock(&p->t->lock);
        if (p->t->dl) {
            ret = dirty_log_sync(p->t->dl);
        }
        pthread_rwlock_unlock(&p->t->lock);
        CHECK(ret == 0, "partner sync: %s", strerror(-ret));
        if (ret < 0) {
            break;
        }
        p->syncs++;
    }
    return NULL;
}

/* One harvest; every working-set page it found is copied to (copy). */
static uint64_t copy_round(struct tctx *t, uint8_t *copy)
{
    uint64_t n = 0;

    t_clear_acc(t);
    t_harvest(t);
    for (uint64_t i = 0; i < t->g.ws_pages; i++) {
        if (bit(t->acc, t->g.ws_first_page + i)) {
            memcpy(copy + i * PAGE, t->g.ws_host + i * PAGE, PAGE);
            n++;
        }
    }
    return n;
}

static void sc_copy(struct tctx *t)
{
    size_t len = (size_t)(t->g.ws_pages * PAGE);
    struct copy_partner p = {.t = t};
    uint64_t copied = 0, rounds = 0, stale = 0, seq;
    uint8_t *copy = malloc(len);
    pthread_t th;
    double end;

    if (!copy) {
        CHECK(0, "out of memory");
        return;
    }
    /* The guest idles: what KVM logged so far is taken, then the copy. */
    copy_round(t, copy);
    memcpy(copy, t->g.ws_host, len);
    if (pthread_create(&th, NULL, copy_partner_main, &p) != 0) {
        CHECK(0, "pthread_create");
        free(copy);
        return;
    }
    dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_RUN, 0, 0);
    for (end = clock_now_s() + 1.5; clock_now_s() < end; rounds++) {
        copied += copy_round(t, copy);
    }
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_IDLE, 0, 0);
    t_wait(t, seq, false);
    __atomic_store_n(&p.stop, true, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    /* The last harvest, with the guest idle and the vCPUs out of it (PML):
     * then the copy is whole. */
    vcpu_set_park(t->ctl->vcpus);
    copied += copy_round(t, copy);
    vcpu_set_unpark(t->ctl->vcpus);
    for (uint64_t i = 0; i < t->g.ws_pages; i++) {
        if (memcmp(copy + i * PAGE, t->g.ws_host + i * PAGE, PAGE) != 0) {
            stale++;
        }
    }
    CHECK(stale == 0, "copy: %" PRIu64 " of %" PRIu64 " pages stale", stale,
          t->g.ws_pages);
    CHECK(copied > 10 * t->g.ws_pages, "copy: only %" PRIu64 " pages copied",
          copied);
    t->lost += stale;
    fprintf(stderr,
            "copy: %" PRIu64 " harvests copied %" PRIu64
            " pages, partner %" PRIu64 " syncs, %" PRIu64 " stale\n",
            rounds, copied, p.syncs, stale);
    free(copy);
}

static int t_on_running(void *opaque, const struct machine_ctl *ctl)
{
    struct tctx *t = opaque;
    struct ram_block *rb;
    uint64_t seq, ws;
    int ret;

    t->ctl = ctl;
    ret = dirty_guest_attach(&t->g, ctl, 30, t->why, sizeof(t->why));
    CHECK(ret == 0, "attach: %s", t->why);
    if (ret < 0) {
        return ret;
    }
    /* 64 MiB; chunks: all of it, so that writes reach the slot's end. */
    ws = t->g.ws_max_pages < 16384 ? t->g.ws_max_pages : 16384;
    if (strcmp(scenario, "chunks") == 0) {
        ws = t->g.ws_max_pages;
    }
    /* copy: few pages, each written again and again. */
    if (strcmp(scenario, "copy") == 0) {
        ws = 256;
    }
    ret = dirty_guest_setup(&t->g, ws, (unsigned)ctl->vcpus->nr,
                            strcmp(scenario, "copy") == 0
                                ? TESTDEV_DIRTY_PATTERN_RANDOM
                                : TESTDEV_DIRTY_PATTERN_SEQ,
                            7);
    CHECK(ret == 0, "setup");
    rb = ram_block_from_host(mr_ram_ptr(ctl->ram, 0), NULL);
    t->rb = rb;
    t->bm = ram_block_dirty(rb);
    t->block_pages = dirty_bitmap_nr_pages(t->bm);
    t->acc = calloc((size_t)DIRTY_WORDS(t->block_pages), sizeof(uint64_t));
    if (ret < 0 || !t->acc) {
        return -EINVAL;
    }
    seq = dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_SWEEP, 0, 0);
    if (t_wait(t, seq, false) == 0 && t_start(t) == 0) {
        struct dirty_log_stats st;

        t_harvest(t);
        if (strcmp(scenario, "verify") == 0) {
            sc_verify(t);
        } else if (strcmp(scenario, "startstop") == 0) {
            sc_startstop(t);
        } else if (strcmp(scenario, "move") == 0) {
            sc_move(t);
        } else if (strcmp(scenario, "ringfull") == 0) {
            sc_ringfull(t);
        } else if (strcmp(scenario, "chunks") == 0) {
            sc_chunks(t);
        } else if (strcmp(scenario, "copy") == 0) {
            sc_copy(t);
        }
        CHECK(mr_set_log(ctl->ram, false) == 0, "log off");
        dirty_log_get_stats(t->dl, &st);
        CHECK(st.stray == 0, "%" PRIu64 " stray ring entries", st.stray);
        fprintf(stderr,
                "%s %s: %" PRIu64 " syncs, %" PRIu64 " GET, %" PRIu64
                " CLEAR, %" PRIu64 " ring entries, %" PRIu64
                " full rings, %" PRIu64 " flushes, lost %" PRIu64 "\n",
                scenario, dirty_log_mode_name(mode), st.syncs, st.get_calls,
                st.clear_calls, st.ring_collected, st.ring_full, st.flushes,
                t->lost);
    }
    dirty_guest_post(&t->g, TESTDEV_DIRTY_OP_EXIT, failures ? 1 : 0, 0);
    vcpu_set_wait_for(ctl->vcpus, 10000);
    t_stop(t);
    free(t->acc);
    return 0;
}

static int scenario_guest(void)
{
    struct tctx t;
    struct machine_config mc;
    struct machine_result res;
    char why[256];
    int ret;

    memset(&t, 0, sizeof(t));
    pthread_rwlock_init(&t.lock, NULL);
    machine_config_embedded(&mc, guest_dirty_elf, guest_dirty_elf_len,
                            "embedded dirty guest");
    mc.mem_size = 128ull << 20;
    mc.cpus = 2;
    mc.serial = "none";
    mc.on_running = t_on_running;
    mc.ring_full = t_ring_full;
    mc.ctl_opaque = &t;
    if (mode == DIRTY_LOG_RING) {
        t.ring_entries = 4096;
    }
    if (mode == DIRTY_LOG_RING &&
        (strcmp(scenario, "ringfull") == 0 || strcmp(scenario, "copy") == 0)) {
        /* The smallest ring KVM takes: a page of entries, or more when
         * it reserves more (PML). Probe on a scratch VM. */
        struct kvm_sys kvm;

        if (kvm_sys_open(&kvm, "/dev/kvm", why, sizeof(why)) < 0) {
            return SKIP;
        }
        for (t.ring_entries = 256; t.ring_entries <= 65536;
             t.ring_entries *= 2) {
            int vm = kvm_ioctl_val(kvm.fd, KVM_CREATE_VM, 0);

            ret = vm < 0 ? vm : dirty_log_enable_ring(vm, t.ring_entries, NULL);
            if (vm >= 0) {
                close(vm);
            }
            if (ret != -EINVAL) {
                break;
            }
        }
        kvm_sys_close(&kvm);
        if (ret == -EOPNOTSUPP) {
            return SKIP;
        }
    }
    if (strcmp(scenario, "chunks") == 0) {
        /* 99 MiB and 3 pages: a RAM slot of 25347 pages (64 * 396 + 3). */
        mc.mem_size = (99ull << 20) + 3 * PAGE;
        t.clear_chunk = 64 * PAGE;
    }
    mc.dirty_ring_entries = t.ring_entries;
    ret = machine_run(&mc, clock_now_ns(), &res, why, sizeof(why));
    pthread_rwlock_destroy(&t.lock);
    if (ret == -EOPNOTSUPP) {
        fprintf(stderr, "%s\n", why);
        return SKIP;
    }
    CHECK(ret == 0, "machine_run: %s", why);
    CHECK(ret < 0 || res.exit_code == 0, "the VM ended with %d (%s)",
          res.exit_code, res.reason);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    bool ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;
    char key[32];
    int ret;

    if (argc != 3 || dirty_log_mode_from_name(argv[2], &mode) < 0) {
        fprintf(stderr, "usage: test_dirty_log api|verify|startstop|move|"
                        "ringfull|chunks|copy bitmap|clear|ring\n");
        return 2;
    }
    scenario = argv[1];
    snprintf(key, sizeof(key), " %s ", scenario);
    if (!strstr(" api verify startstop move ringfull chunks copy ", key)) {
        fprintf(stderr, "test_dirty_log: unknown scenario '%s'\n", scenario);
        return 2;
    }
    rcu_register_thread();
    if (strcmp(scenario, "api") == 0) {
        ret = scenario_api();
    } else {
        ret = scenario_guest();
    }
    rcu_unregister_thread();
    if (ret == SKIP && ci) {
        fprintf(stderr, "FAIL: KVM lacks dirty-log mode %s, and CI=true\n",
                argv[2]);
        return 1;
    }
    if (ret == 0) {
        printf("ok: %s %s\n", scenario, argv[2]);
    }
    return ret;
}
