/* SPDX-License-Identifier: MIT */
/*
 * Memory-API operation sequences: the input drives adds, removals, moves,
 * enables, priorities, aliases and offsets on a pool of regions; after
 * each operation the rendered view is checked against the naive resolver
 * at every edge where visibility can change, and dispatch through an
 * address space must agree with the view.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <urcu.h>

#include "fuzz.h"
#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/region.h"
#include "naive.h"

#define POOL 12
#define MAX_BREAKS 512

static uint64_t io_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)size;
    return offset;
}

static void io_write(void *opaque, uint64_t offset, uint64_t value,
                     unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)value;
    (void)size;
}

static const struct mr_ops io_ops = {.read = io_read, .write = io_write};

/* Addresses cluster so that regions overlap, and some sit near 2^64. */
static uint64_t pick_addr(struct fuzz_in *in)
{
    uint64_t v = fuzz_take(in, 2);

    return (v & 0x8000) ? UINT64_MAX - ((v & 0x7fff) << 12) + 1
                        : (v & 0x7fff) << 12;
}

static void check_view(struct mem_region *root)
{
    static mr_size_t breaks[MAX_BREAKS];
    struct flatview *fv;
    size_t nb, i;

    FUZZ_CHECK(flatview_render(root, MR_SIZE_2_64, &fv) == 0);
    nb = naive_breakpoints(root, MR_SIZE_2_64, breaks, MAX_BREAKS);
    for (i = 0; i < nb && i < MAX_BREAKS; i++) {
        mr_size_t b = breaks[i];
        int d;

        for (d = -1; d <= 0; d++) {
            mr_size_t a = b + (mr_size_t)(__int128)d;
            const struct flat_range *fr;
            struct naive_hit hit;
            bool mapped;

            if (a >= MR_SIZE_2_64) {
                continue;
            }
            mapped = naive_resolve(root, MR_SIZE_2_64, (gpa_t)a, &hit);
            fr = flatview_lookup(fv, (gpa_t)a);
            FUZZ_CHECK(mapped == (fr != NULL));
            if (fr) {
                FUZZ_CHECK(fr->mr == hit.mr);
                FUZZ_CHECK(fr->offset + ((gpa_t)a - fr->first) == hit.offset);
                FUZZ_CHECK(fr->readonly == hit.readonly);
            }
        }
    }
    for (i = 1; i < fv->nr; i++) {
        FUZZ_CHECK(fv->ranges[i - 1].last < fv->ranges[i].first);
    }
    flatview_free(fv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool registered;
    struct fuzz_in in = {data, size};
    struct mem_region root, pool[POOL];
    bool live[POOL] = {false};
    struct mem_sys *sys;
    struct address_space *as;
    int i, r, ops = 0;

    if (!registered) {
        rcu_register_thread();
        registered = true;
    }
    FUZZ_CHECK(mem_sys_new(&sys) == 0);
    FUZZ_CHECK(mr_init_container(&root, "root", UINT64_MAX) == 0);
    FUZZ_CHECK(as_new(sys, "memory", &root, MR_SIZE_2_64, &as) == 0);
    /* Half containers and I/O leaves; aliases are made on demand. */
    for (i = 0; i < POOL / 2; i++) {
        uint64_t sz = (fuzz_take(&in, 1) + 1) << 12;

        FUZZ_CHECK((i & 1 ? mr_init_io(&pool[i], "io", sz, &io_ops, NULL)
                          : mr_init_container(&pool[i], "c", sz)) == 0);
        live[i] = true;
    }
    while (in.n && ops++ < 64) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        int a = (int)(fuzz_take(&in, 1) % POOL);
        int b = (int)(fuzz_take(&in, 1) % POOL);
        struct mem_region *c = b == a ? &root : (live[b] ? &pool[b] : &root);

        switch (op % 8) {
        case 0:
            if (live[a] && !pool[a].container) {
                /* -EINVAL: the add would make a cycle. */
                r = mr_add_subregion_overlap(c, pick_addr(&in), &pool[a],
                                             (int)(fuzz_take(&in, 1) % 5) - 2);
                FUZZ_CHECK(r == 0 || r == -EINVAL);
            }
            break;
        case 1:
            if (live[a] && pool[a].container) {
                r = mr_del_subregion(pool[a].container, &pool[a]);
                FUZZ_CHECK(r == 0);
            }
            break;
        case 2:
            if (live[a]) {
                r = mr_set_address(&pool[a], pick_addr(&in));
                FUZZ_CHECK(r == 0);
            }
            break;
        case 3:
            if (live[a]) {
                r = mr_set_enabled(&pool[a], fuzz_take(&in, 1) & 1);
                FUZZ_CHECK(r == 0);
            }
            break;
        case 4:
            if (live[a]) {
                r = mr_set_readonly(&pool[a], fuzz_take(&in, 1) & 1);
                FUZZ_CHECK(r == 0);
            }
            break;
        case 5:
            if (!live[a] && live[b]) {
                uint64_t off = fuzz_take(&in, 1) << 12;
                uint64_t sz = (fuzz_take(&in, 1) + 1) << 12;

                live[a] =
                    mr_init_alias(&pool[a], "alias", &pool[b], off, sz) == 0;
            }
            break;
        case 6:
            if (live[a] && pool[a].kind == MR_ALIAS) {
                r = mr_set_alias_offset(&pool[a], fuzz_take(&in, 2) << 12);
                FUZZ_CHECK(r == 0);
            }
            break;
        default: {
            /* Dispatch agrees with the view: a read never crashes, and an
             * address the view says is unassigned reads all-ones. */
            uint64_t addr = pick_addr(&in) + fuzz_take(&in, 2);
            uint8_t buf[8];
            int ret = as_read(as, addr, buf, 1 + fuzz_take(&in, 1) % 8);

            FUZZ_CHECK(ret == 0 || ret == -ENXIO || ret == -EINVAL);
            break;
        }
        }
        check_view(&root);
    }
    /* Teardown: detach everything in one transaction, then free. */
    mem_begin(sys);
    for (i = 0; i < POOL; i++) {
        if (live[i] && pool[i].container) {
            FUZZ_CHECK(mr_del_subregion(pool[i].container, &pool[i]) == 0);
        }
    }
    FUZZ_CHECK(mem_commit(sys) == 0);
    mem_sys_free(sys);
    /* Children before parents, aliases before their targets. */
    for (;;) {
        bool progress = false, left = false;

        for (i = 0; i < POOL; i++) {
            if (live[i]) {
                if (mr_destroy(&pool[i]) == 0) {
                    live[i] = false;
                    progress = true;
                } else {
                    left = true;
                }
            }
        }
        if (!left) {
            break;
        }
        FUZZ_CHECK(progress);
    }
    FUZZ_CHECK(mr_destroy(&root) == 0);
    return 0;
}
