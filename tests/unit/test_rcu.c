/* SPDX-License-Identifier: MIT */
/*
 * Concurrency test of view publication. Reader threads dispatch as_read()
 * and inspect views with as_with_view() while the main thread commits
 * thousands of transactions flipping the map between two configurations:
 *
 *   A: low RAM [0, 0x4000), dev (I/O, prio 1) at 0x1000, "hi" disabled
 *   B: low RAM [0, 0x4000), dev at 0x2000, "hi" (RAM, prio 1) at 0x3000
 *
 * Every byte tells who answered it (low RAM: 0x00-0x7f, dev: 0x80-0xbf,
 * hi: 0xc0-0xff) and at which offset, so one as_read() over [0, 0x4000)
 * must equal exactly the A or the B image, and every view must have
 * exactly the A or the B shape: a view with only one of a transaction's
 * two edits, a half-filled range array or a freed one (ASan) is caught.
 *
 * Usage: test_rcu [COMMITS [READERS]].
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/region.h"
#include "mem/types.h"
#include "unit.h"

static unsigned unit_failures;

#define SPACE 0x4000u
#define DEV_A 0x1000u
#define DEV_B 0x2000u
#define HI_BASE 0x3000u
#define DEFAULT_COMMITS 40000u
#define DEFAULT_READERS 4u
#define MAX_READERS 16u
/* Stop committing after this long even if COMMITS are not done. */
#define MAX_SECONDS 6.0

static struct mem_region root, low, dev, hi;
static struct mem_sys *sys;
static struct address_space *as;
static uint8_t image_a[SPACE], image_b[SPACE];
static atomic_bool stop;
static atomic_uint reader_errors;

static uint64_t dev_read(void *opaque, uint64_t offset, unsigned size)
{
    uint64_t v = 0;

    (void)opaque;
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)(0x80 | ((offset + i) & 0x3f)) << (8 * i);
    }
    return v;
}

static void dev_write(void *opaque, uint64_t offset, uint64_t value,
                      unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)value;
    (void)size;
}

static const struct mr_ops dev_ops = {
    .read = dev_read,
    .write = dev_write,
    .valid = {.min_access_size = 1, .max_access_size = 8},
    .impl = {.min_access_size = 1, .max_access_size = 8},
};

static uint8_t low_byte(uint64_t off)
{
    return (uint8_t)(off & 0x7f);
}

static uint8_t hi_byte(uint64_t off)
{
    return (uint8_t)(0xc0 | (off & 0x3f));
}

static void build_images(void)
{
    for (unsigned a = 0; a < SPACE; a++) {
        image_a[a] = low_byte(a);
        image_b[a] = low_byte(a);
    }
    for (unsigned k = 0; k < 0x1000; k++) {
        image_a[DEV_A + k] = (uint8_t)(0x80 | (k & 0x3f));
        image_b[DEV_B + k] = (uint8_t)(0x80 | (k & 0x3f));
        image_b[HI_BASE + k] = hi_byte(k);
    }
}

struct shape {
    gpa_t first, last;
    const struct mem_region *mr;
    uint64_t offset;
};

static const struct shape shape_a[] = {
    {0x0, 0xfff, &low, 0x0},
    {0x1000, 0x1fff, &dev, 0x0},
    {0x2000, 0x3fff, &low, 0x2000},
};

static const struct shape shape_b[] = {
    {0x0, 0x1fff, &low, 0x0},
    {0x2000, 0x2fff, &dev, 0x0},
    {0x3000, 0x3fff, &hi, 0x0},
};

static bool view_has_shape(const struct flatview *fv, const struct shape *s,
                           size_t n)
{
    if (fv->nr != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct flat_range *fr = &fv->ranges[i];

        if (fr->first != s[i].first || fr->last != s[i].last ||
            fr->mr != s[i].mr || fr->offset != s[i].offset || fr->readonly) {
            return false;
        }
    }
    return true;
}

struct reader {
    pthread_t thread;
    unsigned id;
    unsigned long reads;
    unsigned long seen_a;
    unsigned long seen_b;
    unsigned long views;
    unsigned errors;
};

__attribute__((format(printf, 2, 3))) static void
reader_fail(struct reader *r, const char *fmt, ...)
{
    va_list ap;

    r->errors++;
    if (atomic_fetch_add(&reader_errors, 1) < 10) {
        fprintf(stderr, "reader %u: ", r->id);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
}

static void check_view_cb(const struct flatview *fv, void *arg)
{
    struct reader *r = arg;

    r->views++;
    if (!view_has_shape(fv, shape_a, 3) && !view_has_shape(fv, shape_b, 3)) {
        reader_fail(r, "view of %zu ranges is neither A nor B", fv->nr);
        if (atomic_load(&reader_errors) <= 3) {
            unit_print_view(stderr, "  ", fv);
        }
    }
}

static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return i;
        }
    }
    return n;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    uint8_t *buf = malloc(SPACE);
    static const gpa_t windows[] = {0x0ff8, 0x1ff8, 0x2ff8};
    uint64_t last_gen = 0;

    if (!buf) {
        reader_fail(r, "out of memory");
        return NULL;
    }
    rcu_register_thread();
    while (!atomic_load(&stop)) {
        uint64_t gen = as_generation(as);
        int rc;

        if (gen < last_gen) {
            reader_fail(r, "generation went backwards to %" PRIu64, gen);
        }
        last_gen = gen;

        /* The whole space in one call: one view. */
        rc = as_read(as, 0, buf, SPACE);
        r->reads++;
        if (rc != 0) {
            reader_fail(r, "as_read returned %d", rc);
        } else if (memcmp(buf, image_a, SPACE) == 0) {
            r->seen_a++;
        } else if (memcmp(buf, image_b, SPACE) == 0) {
            r->seen_b++;
        } else {
            size_t da = first_diff(buf, image_a, SPACE);
            size_t db = first_diff(buf, image_b, SPACE);

            reader_fail(r,
                        "as_read of the space is neither A nor B "
                        "(differs from A at 0x%zx, from B at 0x%zx)",
                        da, db);
        }

        /* 16-byte windows across each boundary that moves. */
        for (unsigned w = 0; w < 3; w++) {
            uint8_t b[16];

            rc = as_read(as, windows[w], b, sizeof(b));
            if (rc != 0 || (memcmp(b, image_a + windows[w], sizeof(b)) != 0 &&
                            memcmp(b, image_b + windows[w], sizeof(b)) != 0)) {
                reader_fail(r, "window at 0x%" PRIx64 " is neither A nor B",
                            windows[w]);
            }
        }
        /* One 8-byte guest access straddling nothing, at a moving spot. */
        {
            uint8_t b[8];

            rc = as_access(as, 0x2008, b, 8, false);
            if (rc != 0 || (memcmp(b, image_a + 0x2008, 8) != 0 &&
                            memcmp(b, image_b + 0x2008, 8) != 0)) {
                reader_fail(r, "as_access at 0x2008 is neither A nor B");
            }
        }
        as_with_view(as, check_view_cb, r);
    }
    rcu_unregister_thread();
    free(buf);
    return NULL;
}

static int set_config(bool b)
{
    int rc;

    mem_begin(sys);
    /* Both edits must become visible together. */
    rc = mr_set_address(&dev, b ? DEV_B : DEV_A);
    rc = rc ? rc : mr_set_enabled(&hi, b);
    return mem_commit(sys) ? -EIO : rc;
}

/* A transaction that goes through the other configuration and back: its
 * intermediate state must never be seen. */
static int bounce(bool b)
{
    int rc;

    mem_begin(sys);
    rc = mr_set_address(&dev, b ? DEV_A : DEV_B);
    rc = rc ? rc : mr_set_enabled(&hi, !b);
    rc = rc ? rc : mr_set_address(&dev, 0x100000);
    rc = rc ? rc : mr_set_address(&dev, b ? DEV_B : DEV_A);
    rc = rc ? rc : mr_set_enabled(&hi, b);
    return mem_commit(sys) ? -EIO : rc;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool setup(void)
{
    int rc;

    rc = mr_init_container(&root, "root", UINT64_MAX);
    rc = rc ? rc : mr_init_ram(&low, "low", SPACE);
    rc = rc ? rc : mr_init_io(&dev, "dev", 0x1000, &dev_ops, NULL);
    rc = rc ? rc : mr_init_ram(&hi, "hi", 0x1000);
    if (rc) {
        CHECK(0, "init: %d", rc);
        return false;
    }
    {
        uint8_t *l = mr_ram_ptr(&low, 0);
        uint8_t *h = mr_ram_ptr(&hi, 0);

        if (!l || !h) {
            CHECK(0, "mr_ram_ptr failed");
            return false;
        }
        for (unsigned k = 0; k < SPACE; k++) {
            l[k] = low_byte(k);
        }
        for (unsigned k = 0; k < 0x1000; k++) {
            h[k] = hi_byte(k);
        }
    }
    rc = mr_add_subregion(&root, 0, &low);
    rc = rc ? rc : mr_add_subregion_overlap(&root, DEV_A, &dev, 1);
    rc = rc ? rc : mr_add_subregion_overlap(&root, HI_BASE, &hi, 1);
    rc = rc ? rc : mr_set_enabled(&hi, false);
    if (rc) {
        CHECK(0, "layout: %d", rc);
        return false;
    }
    rc = mem_sys_new(&sys);
    if (rc) {
        CHECK(0, "mem_sys_new: %d", rc);
        return false;
    }
    rc = as_new(sys, "memory", &root, MR_SIZE_2_64, &as);
    if (rc) {
        CHECK(0, "as_new: %d", rc);
        return false;
    }
    return true;
}

static void teardown(void)
{
    struct mem_region *regs[] = {&low, &dev, &hi};

    if (sys) {
        mem_begin(sys);
    }
    for (unsigned i = 0; i < 3; i++) {
        if (regs[i]->container) {
            CHECK(mr_del_subregion(&root, regs[i]) == 0, "teardown: del");
        }
    }
    if (sys) {
        CHECK(mem_commit(sys) == 0, "teardown: commit");
        mem_sys_free(sys);
    }
    CHECK(mr_destroy(&hi) == 0, "destroy hi");
    CHECK(mr_destroy(&dev) == 0, "destroy dev");
    CHECK(mr_destroy(&low) == 0, "destroy low");
    CHECK(mr_destroy(&root) == 0, "destroy root");
}

int main(int argc, char **argv)
{
    unsigned commits = DEFAULT_COMMITS;
    unsigned nreaders = DEFAULT_READERS;
    struct reader readers[MAX_READERS];
    unsigned long reads = 0, seen_a = 0, seen_b = 0, views = 0;
    unsigned done = 0;
    uint64_t gen0;
    double t0 = now(), elapsed = 0;
    bool b = false;

    if (argc > 1) {
        commits = (unsigned)strtoul(argv[1], NULL, 0);
    }
    if (argc > 2) {
        nreaders = (unsigned)strtoul(argv[2], NULL, 0);
        if (nreaders == 0 || nreaders > MAX_READERS) {
            nreaders = DEFAULT_READERS;
        }
    }
    build_images();
    rcu_register_thread();
    if (!setup()) {
        goto out;
    }
    memset(readers, 0, sizeof(readers));
    for (unsigned i = 0; i < nreaders; i++) {
        readers[i].id = i;
        if (pthread_create(&readers[i].thread, NULL, reader_main,
                           &readers[i]) != 0) {
            CHECK(0, "pthread_create failed");
            nreaders = i;
            break;
        }
    }

    gen0 = as_generation(as);
    t0 = now();
    for (done = 0; done < commits && now() - t0 < MAX_SECONDS; done++) {
        int rc;

        if (done % 5 == 4) {
            rc = bounce(b);
        } else {
            b = !b;
            rc = set_config(b);
        }
        if (rc != 0) {
            CHECK(0, "commit %u: %d", done, rc);
            break;
        }
        if (done % 500 == 0) {
            mem_sys_synchronize(sys);
        }
    }
    elapsed = now() - t0;
    atomic_store(&stop, true);
    for (unsigned i = 0; i < nreaders; i++) {
        pthread_join(readers[i].thread, NULL);
        reads += readers[i].reads;
        seen_a += readers[i].seen_a;
        seen_b += readers[i].seen_b;
        views += readers[i].views;
        CHECK(readers[i].errors == 0, "reader %u saw %u inconsistencies", i,
              readers[i].errors);
        CHECK(readers[i].reads > 0, "reader %u never read", i);
    }
    CHECK(as_generation(as) >= gen0 + done / 2,
          "generation %" PRIu64 " after %u commits from %" PRIu64,
          as_generation(as), done, gen0);
    if (seen_a == 0 || seen_b == 0) {
        /* Possible on a very loaded machine; not a failure. */
        fprintf(stderr, "note: readers saw A %lu times and B %lu times\n",
                seen_a, seen_b);
    }
out:
    teardown();
    rcu_unregister_thread();
    printf("test_rcu: %u commits, %u readers, %lu reads (%lu A, %lu B), "
           "%lu views checked, %.1f s, %u failures\n",
           done, nreaders, reads, seen_a, seen_b, views, elapsed,
           unit_failures);
    return unit_failures ? 1 : 0;
}
