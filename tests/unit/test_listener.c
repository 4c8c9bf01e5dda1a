/* SPDX-License-Identifier: MIT */
/*
 * Listener protocol tests with a recording listener on a real address
 * space: for many random commits (explicit transactions with several edits,
 * nested ones, and single implicit edits) the recorded calls must be
 * exactly begin; region_del for the old ranges that are gone; then in
 * address order region_add for the new ones, region_nop for the unchanged
 * ones and log_start/log_stop where only the dirty-log flag flipped;
 * commit. Also: replay on registration, del on unregistration, one
 * publication per outermost commit, silence for commits that change
 * nothing, and error propagation from a callback.
 *
 * Usage: test_listener [SEED [STEPS]].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/listener.h"
#include "mem/region.h"
#include "mem/types.h"
#include "unit.h"

static unsigned unit_failures;

#define MAX_EVENTS 1024
#define DEFAULT_SEED 0x11573e4u
#define DEFAULT_STEPS 3000

enum ev_kind {
    EV_BEGIN,
    EV_COMMIT,
    EV_ADD,
    EV_DEL,
    EV_NOP,
    EV_LOG_START,
    EV_LOG_STOP,
};

static const char *const ev_names[] = {
    [EV_BEGIN] = "begin",       [EV_COMMIT] = "commit",
    [EV_ADD] = "region_add",    [EV_DEL] = "region_del",
    [EV_NOP] = "region_nop",    [EV_LOG_START] = "log_start",
    [EV_LOG_STOP] = "log_stop",
};

/* What the random commits exercised, by event kind, plus changed views. */
static unsigned long stats[EV_LOG_STOP + 1];
static unsigned long changed_commits;

struct event {
    enum ev_kind kind;
    struct flat_range fr;
};

/* A listener that records every call. */
struct recorder {
    struct mem_listener l;
    const char *name;
    struct event ev[MAX_EVENTS];
    size_t n;
    bool overflow;
    /* Returned by region_add (0 normally). */
    int add_result;
};

static struct recorder *rec_of(struct mem_listener *l)
{
    return (struct recorder *)((char *)l - offsetof(struct recorder, l));
}

static int rec_push(struct mem_listener *l, enum ev_kind kind,
                    const struct flat_range *fr)
{
    struct recorder *r = rec_of(l);

    if (r->n == MAX_EVENTS) {
        r->overflow = true;
        return 0;
    }
    r->ev[r->n].kind = kind;
    if (fr) {
        r->ev[r->n].fr = *fr;
    } else {
        memset(&r->ev[r->n].fr, 0, sizeof(r->ev[r->n].fr));
    }
    r->n++;
    return 0;
}

static int rec_begin(struct mem_listener *l)
{
    return rec_push(l, EV_BEGIN, NULL);
}

static int rec_commit(struct mem_listener *l)
{
    return rec_push(l, EV_COMMIT, NULL);
}

static int rec_add(struct mem_listener *l, const struct flat_range *fr)
{
    rec_push(l, EV_ADD, fr);
    return rec_of(l)->add_result;
}

static int rec_del(struct mem_listener *l, const struct flat_range *fr)
{
    return rec_push(l, EV_DEL, fr);
}

static int rec_nop(struct mem_listener *l, const struct flat_range *fr)
{
    return rec_push(l, EV_NOP, fr);
}

static int rec_log_start(struct mem_listener *l, const struct flat_range *fr)
{
    return rec_push(l, EV_LOG_START, fr);
}

static int rec_log_stop(struct mem_listener *l, const struct flat_range *fr)
{
    return rec_push(l, EV_LOG_STOP, fr);
}

static void rec_init(struct recorder *r, const char *name)
{
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->l.begin = rec_begin;
    r->l.commit = rec_commit;
    r->l.region_add = rec_add;
    r->l.region_del = rec_del;
    r->l.region_nop = rec_nop;
    r->l.log_start = rec_log_start;
    r->l.log_stop = rec_log_stop;
}

static void rec_clear(struct recorder *r)
{
    r->n = 0;
    r->overflow = false;
}

static void rec_print(const struct recorder *r)
{
    fprintf(stderr, "  %s recorded %zu calls:\n", r->name, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const struct event *e = &r->ev[i];

        if (e->kind == EV_BEGIN || e->kind == EV_COMMIT) {
            fprintf(stderr, "    %s\n", ev_names[e->kind]);
            continue;
        }
        fprintf(stderr,
                "    %s %016" PRIx64 "-%016" PRIx64 " %s +0x%" PRIx64 "%s%s\n",
                ev_names[e->kind], e->fr.first, e->fr.last,
                e->fr.mr ? mr_name(e->fr.mr) : "(null)", e->fr.offset,
                e->fr.readonly ? " ro" : "", e->fr.log_dirty ? " log" : "");
    }
}

/* ---- view comparison, independent of flat_range_same() ---- */

/* Same mapping: address, region, offset, write permission. */
static bool same_map(const struct flat_range *a, const struct flat_range *b)
{
    return a->first == b->first && a->last == b->last && a->mr == b->mr &&
           a->offset == b->offset && a->readonly == b->readonly;
}

static bool same_all(const struct flat_range *a, const struct flat_range *b)
{
    return same_map(a, b) && a->log_dirty == b->log_dirty;
}

static bool views_equal(const struct flatview *a, const struct flatview *b)
{
    if (a->nr != b->nr) {
        return false;
    }
    for (size_t i = 0; i < a->nr; i++) {
        if (!same_all(&a->ranges[i], &b->ranges[i])) {
            return false;
        }
    }
    return true;
}

/* Index of the range of (fv) that maps like (fr), or -1. */
static long find_same(const struct flatview *fv, const struct flat_range *fr)
{
    for (size_t i = 0; i < fv->nr; i++) {
        if (same_map(&fv->ranges[i], fr)) {
            return (long)i;
        }
    }
    return -1;
}

/*
 * Check the calls recorded by (r) for a commit that took the view from
 * (old) to (new). Returns false (after reporting) when they are wrong.
 */
static bool check_diff_calls(const char *what, const struct recorder *r,
                             const struct flatview *old,
                             const struct flatview *new)
{
    bool changed = !views_equal(old, new);
    bool ok = true;
    bool seen_other = false;
    gpa_t last_addr = 0;
    unsigned char *seen_old = calloc(old->nr + 1, 1);
    unsigned char *seen_add = calloc(new->nr + 1, 1);
    unsigned char *seen_nop = calloc(new->nr + 1, 1);
    unsigned char *seen_log = calloc(new->nr + 1, 1);
    size_t i;

#define BAD(...)                                                               \
    do {                                                                       \
        CHECK(0, __VA_ARGS__);                                                 \
        ok = false;                                                            \
        goto out;                                                              \
    } while (0)

    if (!seen_old || !seen_add || !seen_nop || !seen_log) {
        BAD("%s: out of memory", what);
    }
    if (r->overflow) {
        BAD("%s: %s recorded too many calls", what, r->name);
    }
    if (!changed) {
        /* Either silence or begin, nops, commit. */
        for (i = 0; i < r->n; i++) {
            enum ev_kind k = r->ev[i].kind;

            if (k != EV_BEGIN && k != EV_COMMIT && k != EV_NOP) {
                BAD("%s: view unchanged but %s got %s", what, r->name,
                    ev_names[k]);
            }
        }
        if (r->n &&
            (r->ev[0].kind != EV_BEGIN || r->ev[r->n - 1].kind != EV_COMMIT)) {
            BAD("%s: unchanged view: calls not framed by begin/commit", what);
        }
        goto out;
    }
    if (r->n < 2 || r->ev[0].kind != EV_BEGIN ||
        r->ev[r->n - 1].kind != EV_COMMIT) {
        BAD("%s: view changed; %s's calls not framed by begin/commit", what,
            r->name);
    }
    for (i = 1; i + 1 < r->n; i++) {
        const struct event *e = &r->ev[i];
        long o = find_same(old, &e->fr);
        long n = find_same(new, &e->fr);

        switch (e->kind) {
        case EV_BEGIN:
        case EV_COMMIT:
            BAD("%s: %s inside the commit", what, ev_names[e->kind]);
            break;
        case EV_DEL:
            if (seen_other) {
                BAD("%s: region_del after an add/nop/log call", what);
            }
            if (o < 0 || e->fr.log_dirty != old->ranges[o].log_dirty) {
                BAD("%s: region_del of a range not in the old view", what);
            }
            if (n >= 0) {
                BAD("%s: region_del of a range that is unchanged", what);
            }
            if (seen_old[o]++) {
                BAD("%s: region_del twice for one range", what);
            }
            break;
        case EV_ADD:
        case EV_NOP:
        case EV_LOG_START:
        case EV_LOG_STOP:
            seen_other = true;
            if (e->fr.first < last_addr) {
                BAD("%s: %s not in address order", what, ev_names[e->kind]);
            }
            last_addr = e->fr.first;
            if (n < 0 || e->fr.log_dirty != new->ranges[n].log_dirty) {
                BAD("%s: %s of a range not in the new view", what,
                    ev_names[e->kind]);
            }
            if (e->kind == EV_ADD) {
                if (o >= 0) {
                    BAD("%s: region_add of a range that is unchanged", what);
                }
                if (seen_add[n]++) {
                    BAD("%s: region_add twice for one range", what);
                }
            } else if (e->kind == EV_NOP) {
                if (o < 0) {
                    BAD("%s: region_nop of a new range", what);
                }
                if (seen_nop[n]++) {
                    BAD("%s: region_nop twice for one range", what);
                }
            } else {
                bool start = e->kind == EV_LOG_START;

                if (o < 0) {
                    BAD("%s: %s of a new range", what, ev_names[e->kind]);
                }
                if (old->ranges[o].log_dirty == new->ranges[n].log_dirty ||
                    new->ranges[n].log_dirty != start) {
                    BAD("%s: %s but the log flag went %d -> %d", what,
                        ev_names[e->kind], old->ranges[o].log_dirty,
                        new->ranges[n].log_dirty);
                }
                if (seen_log[n]++) {
                    BAD("%s: two log calls for one range", what);
                }
            }
            break;
        }
    }
    /* Everything that had to be said was said. */
    for (i = 0; i < old->nr; i++) {
        if (find_same(new, &old->ranges[i]) < 0 && !seen_old[i]) {
            BAD("%s: no region_del for old range %zu", what, i);
        }
    }
    for (i = 0; i < new->nr; i++) {
        long o = find_same(old, &new->ranges[i]);

        if (o < 0 && !seen_add[i]) {
            BAD("%s: no region_add for new range %zu", what, i);
        }
        if (o >= 0 && !seen_nop[i]) {
            BAD("%s: no region_nop for unchanged range %zu", what, i);
        }
        if (o >= 0 && old->ranges[o].log_dirty != new->ranges[i].log_dirty &&
            !seen_log[i]) {
            BAD("%s: no log_start/log_stop for range %zu", what, i);
        }
    }
#undef BAD
out:
    if (!ok) {
        fprintf(stderr, "  old view:\n");
        unit_print_view(stderr, "    ", old);
        fprintf(stderr, "  new view:\n");
        unit_print_view(stderr, "    ", new);
        rec_print(r);
    }
    free(seen_old);
    free(seen_add);
    free(seen_nop);
    free(seen_log);
    return ok;
}

/* ---- the machine under test ---- */

enum {
    R_ROOT,
    R_RAM0,
    R_RAM1,
    R_DEV0,
    R_DEV1,
    R_DEV2,
    R_DEV3,
    R_C0,
    R_A0,
    R_A1,
    R_A2,
    R_IOROOT,
    R_PORT,
    R_LONELY,
    NR_REGIONS,
};

struct fixture {
    struct mem_sys *sys;
    struct address_space *as;
    struct address_space *io;
    struct mem_region r[NR_REGIONS];
    unsigned nr_init;
    uint64_t rng;
};

static struct fixture fx;

static uint64_t dev_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
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
};

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t n)
{
    return rng_next(&fx.rng) % n;
}

static struct mem_region *reg(unsigned i)
{
    return &fx.r[i];
}

static bool fixture_init(void)
{
    int rc = 0;

    memset(&fx, 0, sizeof(fx));
    /* In enum order, so that targets precede their aliases. */
    rc = rc ? rc : mr_init_container(reg(R_ROOT), "root", UINT64_MAX);
    rc = rc ? rc : mr_init_ram(reg(R_RAM0), "ram0", 0x10000);
    rc = rc ? rc : mr_init_ram(reg(R_RAM1), "ram1", 0x4000);
    rc = rc ? rc : mr_init_io(reg(R_DEV0), "dev0", 0x1000, &dev_ops, NULL);
    rc = rc ? rc : mr_init_io(reg(R_DEV1), "dev1", 0x1000, &dev_ops, NULL);
    rc = rc ? rc : mr_init_io(reg(R_DEV2), "dev2", 0x2000, &dev_ops, NULL);
    rc = rc ? rc : mr_init_io(reg(R_DEV3), "dev3", 0x1000, &dev_ops, NULL);
    rc = rc ? rc : mr_init_container(reg(R_C0), "c0", 0x20000);
    rc = rc ? rc : mr_init_alias(reg(R_A0), "a0", reg(R_RAM0), 0x2000, 0x4000);
    rc = rc ? rc : mr_init_alias(reg(R_A1), "a1", reg(R_DEV0), 0, 0x1000);
    rc = rc ? rc : mr_init_alias(reg(R_A2), "a2", reg(R_A0), 0x1000, 0x2000);
    rc = rc ? rc : mr_init_container(reg(R_IOROOT), "ioroot", 0x10000);
    rc = rc ? rc : mr_init_io(reg(R_PORT), "port", 8, &dev_ops, NULL);
    rc = rc ? rc : mr_init_io(reg(R_LONELY), "lonely", 0x1000, &dev_ops, NULL);
    if (rc) {
        CHECK(0, "region init: %d", rc);
        return false;
    }
    fx.nr_init = NR_REGIONS;

    /* The starting layout, before any address space exists. */
    rc = rc ? rc : mr_add_subregion(reg(R_ROOT), 0, reg(R_RAM0));
    rc = rc ? rc : mr_add_subregion(reg(R_ROOT), 0x20000, reg(R_DEV0));
    rc = rc ? rc : mr_add_subregion(reg(R_ROOT), 0x40000, reg(R_C0));
    rc = rc ? rc : mr_add_subregion(reg(R_C0), 0x1000, reg(R_DEV2));
    rc = rc ? rc : mr_add_subregion(reg(R_ROOT), 0x70000, reg(R_A0));
    rc = rc ? rc : mr_set_log(reg(R_RAM0), true);
    rc = rc ? rc : mr_add_subregion(reg(R_IOROOT), 0x3f8, reg(R_PORT));
    if (rc) {
        CHECK(0, "initial layout: %d", rc);
        return false;
    }
    rc = mem_sys_new(&fx.sys);
    if (rc) {
        CHECK(0, "mem_sys_new: %d", rc);
        return false;
    }
    rc = as_new(fx.sys, "memory", reg(R_ROOT), MR_SIZE_2_64, &fx.as);
    if (rc) {
        CHECK(0, "as_new(memory): %d", rc);
        return false;
    }
    rc = as_new(fx.sys, "io", reg(R_IOROOT), 0x10000, &fx.io);
    if (rc) {
        CHECK(0, "as_new(io): %d", rc);
        return false;
    }
    return true;
}

static void fixture_fini(void)
{
    mem_sys_free(fx.sys);
    fx.sys = NULL;
    for (unsigned i = 0; i < fx.nr_init; i++) {
        if (reg(i)->container) {
            int rc = mr_del_subregion(reg(i)->container, reg(i));

            CHECK(rc == 0, "teardown: del %s: %d", mr_name(reg(i)), rc);
        }
    }
    for (unsigned i = fx.nr_init; i-- > 0;) {
        int rc = mr_destroy(reg(i));

        CHECK(rc == 0, "teardown: destroy %s: %d", mr_name(reg(i)), rc);
    }
    fx.nr_init = 0;
}

static struct flatview *view_copy(struct address_space *as)
{
    struct flatview *fv = NULL;
    int rc = as_view_copy(as, &fv);

    CHECK(rc == 0 && fv, "as_view_copy: %d", rc);
    return rc == 0 ? fv : NULL;
}

/* flatview_lookup() works on copies too (they may lack mem/'s index). */
static void check_copy_lookups(const char *what, const struct flatview *fv)
{
    for (size_t i = 0; i < fv->nr; i++) {
        const struct flat_range *fr = &fv->ranges[i];
        const struct flat_range *prev = i ? &fv->ranges[i - 1] : NULL;
        const struct flat_range *next =
            i + 1 < fv->nr ? &fv->ranges[i + 1] : NULL;

        CHECK(flatview_lookup(fv, fr->first) == fr &&
                  flatview_lookup(fv, fr->last) == fr,
              "%s: lookup in a copied view misses range %zu", what, i);
        if (fr->first > 0) {
            const struct flat_range *want =
                prev && prev->last == fr->first - 1 ? prev : NULL;

            CHECK(flatview_lookup(fv, fr->first - 1) == want,
                  "%s: lookup before range %zu", what, i);
        }
        if (fr->last < UINT64_MAX) {
            const struct flat_range *want =
                next && next->first == fr->last + 1 ? next : NULL;

            CHECK(flatview_lookup(fv, fr->last + 1) == want,
                  "%s: lookup after range %zu", what, i);
        }
    }
}

/* The published view must be what rendering the tree now gives. */
static void check_view_matches_tree(const char *what, struct address_space *as,
                                    mr_size_t limit, const struct flatview *fv)
{
    struct flatview *fresh = NULL;
    int rc = flatview_render(as_root(as), limit, &fresh);

    CHECK(rc == 0, "%s: render: %d", what, rc);
    if (rc == 0) {
        if (!views_equal(fv, fresh)) {
            CHECK(0, "%s: published view differs from a fresh render", what);
            fprintf(stderr, "  published:\n");
            unit_print_view(stderr, "    ", fv);
            fprintf(stderr, "  fresh:\n");
            unit_print_view(stderr, "    ", fresh);
        }
        flatview_free(fresh);
    }
}

/* ---- random edits ---- */

/* The regions random edits touch (all in the "memory" space's tree or
 * targeted from it). */
static const unsigned editable[] = {R_RAM0, R_RAM1, R_DEV0, R_DEV1, R_DEV2,
                                    R_DEV3, R_C0,   R_A0,   R_A1,   R_A2};

/* Apply one random edit; returns its result. Inside a transaction the
 * result is the edit's; outside, the implicit commit's. */
static int random_edit(char *desc, size_t len)
{
    unsigned i = editable[rnd(sizeof(editable) / sizeof(editable[0]))];
    struct mem_region *mr = reg(i);
    const char *name = mr_name(mr);

    switch (rnd(9)) {
    case 0: {
        bool on = rnd(3) != 0;

        snprintf(desc, len, "set_enabled %s %d", name, on);
        return mr_set_enabled(mr, on);
    }
    case 1: {
        gpa_t addr = 0x1000 * rnd(0x80);

        snprintf(desc, len, "set_address %s 0x%" PRIx64, name, addr);
        return mr_set_address(mr, addr);
    }
    case 2: {
        bool ro = rnd(3) == 0;

        snprintf(desc, len, "set_readonly %s %d", name, ro);
        return mr_set_readonly(mr, ro);
    }
    case 3: {
        bool log = rnd(2) == 0;

        snprintf(desc, len, "set_log %s %d", name, log);
        return mr_set_log(mr, log);
    }
    case 4:
        if (mr->kind == MR_ALIAS) {
            uint64_t off = 0x1000 * rnd(8);

            snprintf(desc, len, "set_alias_offset %s 0x%" PRIx64, name, off);
            return mr_set_alias_offset(mr, off);
        }
        /* fall through */
    case 5:
        if (mr->container) {
            snprintf(desc, len, "del %s", name);
            return mr_del_subregion(mr->container, mr);
        }
        /* fall through */
    default: {
        struct mem_region *par =
            (i == R_C0 || rnd(3) != 0) ? reg(R_ROOT) : reg(R_C0);
        gpa_t addr = 0x1000 * rnd(0x80);
        int prio = (int)rnd(3) - 1;

        if (mr->container) {
            /* Re-enable instead; keeps the tree populated. */
            snprintf(desc, len, "set_enabled %s 1", name);
            return mr_set_enabled(mr, true);
        }
        snprintf(desc, len, "add %s to %s at 0x%" PRIx64 " prio %d", name,
                 mr_name(par), addr, prio);
        return mr_add_subregion_overlap(par, addr, mr, prio);
    }
    }
}

/*
 * One random commit on the "memory" space, checked against the recorders
 * (rm on memory, rio on io, and optionally rm2 on memory too).
 */
static bool random_commit(unsigned step, struct recorder *rm,
                          struct recorder *rm2, struct recorder *rio)
{
    struct flatview *old = view_copy(fx.as);
    struct flatview *new = NULL;
    uint64_t gen0 = as_generation(fx.as);
    uint64_t gen_io = as_generation(fx.io);
    char what[512];
    char desc[128];
    bool ok = true;
    int rc;

    if (!old) {
        return false;
    }
    rec_clear(rm);
    rec_clear(rio);
    if (rm2) {
        rec_clear(rm2);
    }
    if (rnd(2)) {
        rc = random_edit(desc, sizeof(desc));
        snprintf(what, sizeof(what), "step %u: %s", step, desc);
        CHECK(rc == 0, "%s: %d", what, rc);
    } else {
        unsigned n = 1 + (unsigned)rnd(5);
        unsigned nested_at = rnd(3) == 0 ? (unsigned)rnd(n) : n;
        size_t used;

        used = (size_t)snprintf(what, sizeof(what), "step %u: {", step);
        mem_begin(fx.sys);
        for (unsigned k = 0; k < n; k++) {
            if (k == nested_at) {
                mem_begin(fx.sys);
            }
            rc = random_edit(desc, sizeof(desc));
            CHECK(rc == 0, "step %u: %s: %d", step, desc, rc);
            if (used < sizeof(what)) {
                used += (size_t)snprintf(what + used, sizeof(what) - used,
                                         " %s;", desc);
            }
            if (k == nested_at) {
                rc = mem_commit(fx.sys);
                CHECK(rc == 0, "step %u: inner commit: %d", step, rc);
                /* Nothing is published before the outermost commit. */
                CHECK(as_generation(fx.as) == gen0 && rm->n == 0,
                      "step %u: inner commit published", step);
            }
        }
        CHECK(as_generation(fx.as) == gen0 && rm->n == 0,
              "step %u: edits published inside a transaction", step);
        rc = mem_commit(fx.sys);
        CHECK(rc == 0, "step %u: commit: %d", step, rc);
        if (used < sizeof(what)) {
            snprintf(what + used, sizeof(what) - used, " }");
        }
    }
    new = view_copy(fx.as);
    if (!new) {
        flatview_free(old);
        return false;
    }
    ok = check_diff_calls(what, rm, old, new) && ok;
    for (size_t i = 0; i < rm->n; i++) {
        stats[rm->ev[i].kind]++;
    }
    changed_commits += !views_equal(old, new);
    if (rm2) {
        ok = check_diff_calls(what, rm2, old, new) && ok;
    }
    check_view_matches_tree(what, fx.as, MR_SIZE_2_64, new);
    check_copy_lookups(what, new);
    if (!views_equal(old, new)) {
        CHECK(as_generation(fx.as) == gen0 + 1,
              "%s: generation %" PRIu64 " -> %" PRIu64 ", want +1", what, gen0,
              as_generation(fx.as));
    } else {
        CHECK(as_generation(fx.as) <= gen0 + 1,
              "%s: generation jumped by more than one", what);
    }
    /* Memory edits never remap the io space. */
    for (size_t i = 0; i < rio->n; i++) {
        CHECK(rio->ev[i].kind != EV_ADD && rio->ev[i].kind != EV_DEL,
              "%s: io listener got %s", what, ev_names[rio->ev[i].kind]);
    }
    CHECK(as_generation(fx.io) <= gen_io + 1, "%s: io generation jumped", what);
    flatview_free(old);
    flatview_free(new);
    return ok;
}

/* ---- registration ---- */

/* (r) just registered on a space showing (fv): begin, adds, commit. */
static void check_replay(const char *what, const struct recorder *r,
                         const struct flatview *fv)
{
    unsigned char *seen = calloc(fv->nr + 1, 1);
    unsigned char *seen_log = calloc(fv->nr + 1, 1);
    bool ok = true;
    unsigned before = unit_failures;

    if (!seen || !seen_log) {
        CHECK(0, "out of memory");
        free(seen);
        free(seen_log);
        return;
    }
    if (r->n < 2 || r->ev[0].kind != EV_BEGIN ||
        r->ev[r->n - 1].kind != EV_COMMIT) {
        CHECK(0, "%s: replay not framed by begin/commit", what);
        ok = false;
    }
    for (size_t i = 1; ok && i + 1 < r->n; i++) {
        const struct event *e = &r->ev[i];
        long n = find_same(fv, &e->fr);

        if (n < 0 || e->fr.log_dirty != fv->ranges[n].log_dirty) {
            CHECK(0, "%s: %s of a range not in the view", what,
                  ev_names[e->kind]);
            ok = false;
        } else if (e->kind == EV_ADD) {
            CHECK(seen[n]++ == 0, "%s: range %ld added twice", what, n);
        } else if (e->kind == EV_LOG_START) {
            CHECK(fv->ranges[n].log_dirty && seen_log[n]++ == 0,
                  "%s: bad log_start for range %ld", what, n);
        } else {
            CHECK(0, "%s: unexpected %s", what, ev_names[e->kind]);
            ok = false;
        }
    }
    for (size_t i = 0; ok && i < fv->nr; i++) {
        CHECK(seen[i], "%s: range %zu not replayed", what, i);
        CHECK(!fv->ranges[i].log_dirty || seen_log[i],
              "%s: no log_start for logged range %zu", what, i);
    }
    if (unit_failures != before) {
        rec_print(r);
    }
    free(seen);
    free(seen_log);
}

/* (r) just unregistered from a space showing (fv): a del for each range,
 * optionally framed by begin/commit. */
static void check_unregister(const char *what, const struct recorder *r,
                             const struct flatview *fv)
{
    unsigned char *seen = calloc(fv->nr + 1, 1);
    size_t dels = 0;

    if (!seen) {
        CHECK(0, "out of memory");
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct event *e = &r->ev[i];

        if (e->kind == EV_BEGIN || e->kind == EV_COMMIT) {
            continue;
        }
        if (e->kind != EV_DEL) {
            CHECK(0, "%s: unexpected %s", what, ev_names[e->kind]);
            continue;
        }
        long n = find_same(fv, &e->fr);

        CHECK(n >= 0 && seen[n]++ == 0, "%s: bad region_del", what);
        dels++;
    }
    CHECK(dels == fv->nr, "%s: %zu dels for %zu ranges", what, dels, fv->nr);
    free(seen);
}

/* ---- directed cases ---- */

static void test_flat_range_same(void)
{
    struct flat_range a = {.first = 0x1000,
                           .last = 0x1fff,
                           .mr = reg(R_DEV0),
                           .offset = 0x10,
                           .readonly = false,
                           .log_dirty = false};
    struct flat_range b = a;

    CHECK(flat_range_same(&a, &b), "identical ranges differ");
    b.log_dirty = true;
    CHECK(flat_range_same(&a, &b), "log_dirty must not be compared");
    b = a;
    b.readonly = true;
    CHECK(!flat_range_same(&a, &b), "readonly must be compared");
    b = a;
    b.offset = 0x20;
    CHECK(!flat_range_same(&a, &b), "offset must be compared");
    b = a;
    b.mr = reg(R_DEV1);
    CHECK(!flat_range_same(&a, &b), "region must be compared");
    b = a;
    b.last = 0x2fff;
    CHECK(!flat_range_same(&a, &b), "last must be compared");
    b = a;
    b.first = 0x0;
    CHECK(!flat_range_same(&a, &b), "first must be compared");
}

/* Nested transactions publish once, at the outermost commit. */
static void test_nested(struct recorder *rm)
{
    uint64_t gen0 = as_generation(fx.as);
    struct flatview *old = view_copy(fx.as);
    struct flatview *new;
    int rc;

    if (!old) {
        return;
    }
    rec_clear(rm);
    mem_begin(fx.sys);
    rc = mr_set_address(reg(R_DEV0), 0x30000);
    CHECK(rc == 0, "nested: set_address: %d", rc);
    mem_begin(fx.sys);
    rc = mr_set_enabled(reg(R_C0), false);
    CHECK(rc == 0, "nested: set_enabled: %d", rc);
    mem_begin(fx.sys);
    rc = mr_set_address(reg(R_A0), 0x90000);
    CHECK(rc == 0, "nested: set_address: %d", rc);
    rc = mem_commit(fx.sys);
    CHECK(rc == 0, "nested: commit 3: %d", rc);
    rc = mem_commit(fx.sys);
    CHECK(rc == 0, "nested: commit 2: %d", rc);
    CHECK(as_generation(fx.as) == gen0, "nested: inner commits published");
    CHECK(rm->n == 0, "nested: listener called before the outermost commit");
    new = view_copy(fx.as);
    if (new) {
        CHECK(views_equal(old, new), "nested: view changed before commit");
        flatview_free(new);
    }
    rc = mem_commit(fx.sys);
    CHECK(rc == 0, "nested: outermost commit: %d", rc);
    CHECK(as_generation(fx.as) == gen0 + 1,
          "nested: generation %" PRIu64 " -> %" PRIu64 ", want +1", gen0,
          as_generation(fx.as));
    new = view_copy(fx.as);
    if (new) {
        size_t begins = 0;

        for (size_t i = 0; i < rm->n; i++) {
            begins += rm->ev[i].kind == EV_BEGIN;
        }
        CHECK(begins == 1, "nested: %zu begin calls, want 1", begins);
        check_diff_calls("nested", rm, old, new);
        flatview_free(new);
    }
    flatview_free(old);
}

/* Commits that change nothing publish no del/add. */
static void test_no_change(struct recorder *rm)
{
    struct flatview *old = view_copy(fx.as);
    struct flatview *new;
    gpa_t addr = reg(R_DEV0)->addr;
    uint64_t gen0;
    int rc;

    if (!old) {
        return;
    }
    /* Same address, same flag. */
    rec_clear(rm);
    mem_begin(fx.sys);
    rc = mr_set_address(reg(R_DEV0), addr);
    rc = rc ? rc : mr_set_enabled(reg(R_DEV0), reg(R_DEV0)->enabled);
    rc = rc ? rc : mr_set_readonly(reg(R_RAM0), reg(R_RAM0)->readonly);
    CHECK(rc == 0, "no-change: edits: %d", rc);
    rc = mem_commit(fx.sys);
    CHECK(rc == 0, "no-change: commit: %d", rc);
    new = view_copy(fx.as);
    if (new) {
        CHECK(views_equal(old, new), "no-change: view changed");
        check_diff_calls("no-change (same values)", rm, old, new);
        flatview_free(new);
    }

    /* Moved away and back in one transaction. */
    rec_clear(rm);
    mem_begin(fx.sys);
    rc = mr_set_address(reg(R_DEV0), addr + 0x100000);
    rc = rc ? rc : mr_set_address(reg(R_DEV0), addr);
    rc = rc ? rc : mr_set_enabled(reg(R_RAM0), false);
    rc = rc ? rc : mr_set_enabled(reg(R_RAM0), true);
    CHECK(rc == 0, "no-change: edits: %d", rc);
    rc = mem_commit(fx.sys);
    CHECK(rc == 0, "no-change: commit: %d", rc);
    new = view_copy(fx.as);
    if (new) {
        CHECK(views_equal(old, new), "no-change: view changed");
        check_diff_calls("no-change (there and back)", rm, old, new);
        flatview_free(new);
    }

    /* Edits of a region known to no mem_sys publish nothing. */
    rec_clear(rm);
    gen0 = as_generation(fx.as);
    rc = mr_set_address(reg(R_LONELY), 0x1000);
    rc = rc ? rc : mr_set_enabled(reg(R_LONELY), false);
    rc = rc ? rc : mr_set_enabled(reg(R_LONELY), true);
    rc = rc ? rc : mr_set_readonly(reg(R_LONELY), true);
    CHECK(rc == 0, "lonely edits: %d", rc);
    CHECK(as_generation(fx.as) == gen0,
          "edits of an unattached region published a view");
    CHECK(rm->n == 0, "edits of an unattached region called the listener");
    flatview_free(old);
}

/* A failing callback: the commit still happens, and its error is
 * returned. */
static void test_listener_error(void)
{
    struct recorder *bad = calloc(1, sizeof(*bad));
    struct flatview *new;
    int rc;

    if (!bad) {
        CHECK(0, "out of memory");
        return;
    }
    rec_init(bad, "failing");
    rc = as_listener_register(fx.as, &bad->l);
    CHECK(rc == 0, "register: %d", rc);
    bad->add_result = -EIO;
    /* "lonely" far above everything the random edits place. */
    mem_begin(fx.sys);
    rc = mr_add_subregion_overlap(reg(R_ROOT), 0x5000000, reg(R_LONELY), 10);
    CHECK(rc == 0, "add lonely: %d", rc);
    rc = mem_commit(fx.sys);
    CHECK(rc == -EIO, "commit with a failing listener: %d, want -EIO", rc);
    new = view_copy(fx.as);
    if (new) {
        const struct flat_range *fr = flatview_lookup(new, 0x5000000);

        CHECK(fr && fr->mr == reg(R_LONELY),
              "view not updated after a listener failed");
        check_view_matches_tree("after listener error", fx.as, MR_SIZE_2_64,
                                new);
        flatview_free(new);
    }
    /* Registration replays adds: the error comes back too. */
    {
        struct recorder *bad2 = calloc(1, sizeof(*bad2));

        if (bad2) {
            rec_init(bad2, "failing2");
            bad2->add_result = -EIO;
            rc = as_listener_register(fx.as, &bad2->l);
            CHECK(rc == -EIO, "register with failing add: %d, want -EIO", rc);
            as_listener_unregister(fx.as, &bad2->l);
            free(bad2);
        }
    }
    bad->add_result = 0;
    as_listener_unregister(fx.as, &bad->l);
    free(bad);
}

int main(int argc, char **argv)
{
    uint64_t seed = DEFAULT_SEED;
    unsigned steps = DEFAULT_STEPS;
    struct recorder *rm = calloc(1, sizeof(*rm));
    struct recorder *rm2 = calloc(1, sizeof(*rm2));
    struct recorder *rio = calloc(1, sizeof(*rio));
    struct flatview *fv;
    unsigned bad_steps = 0;
    int rc;

    if (argc > 1) {
        seed = strtoull(argv[1], NULL, 0);
    }
    if (argc > 2) {
        steps = (unsigned)strtoul(argv[2], NULL, 0);
    }
    if (!rm || !rm2 || !rio) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    rcu_register_thread();
    if (!fixture_init()) {
        goto out;
    }
    fx.rng = seed;
    test_flat_range_same();

    /* Registration on a non-empty space replays its ranges. */
    rec_init(rm, "memory-listener");
    rec_init(rm2, "second-listener");
    rec_init(rio, "io-listener");
    fv = view_copy(fx.as);
    if (fv) {
        CHECK(fv->nr >= 4, "starting view has %zu ranges", fv->nr);
        check_view_matches_tree("start", fx.as, MR_SIZE_2_64, fv);
        rc = as_listener_register(fx.as, &rm->l);
        CHECK(rc == 0, "register: %d", rc);
        check_replay("register on memory", rm, fv);
        flatview_free(fv);
    }
    fv = view_copy(fx.io);
    if (fv) {
        CHECK(fv->nr == 1, "io view has %zu ranges", fv->nr);
        rc = as_listener_register(fx.io, &rio->l);
        CHECK(rc == 0, "register io: %d", rc);
        check_replay("register on io", rio, fv);
        flatview_free(fv);
    }

    test_nested(rm);
    test_no_change(rm);

    for (unsigned step = 0; step < steps; step++) {
        bool second = step >= steps / 3 && step < 2 * steps / 3;

        if (step == steps / 3) {
            /* A second listener joins mid-way: replay, then the same
             * diffs. */
            fv = view_copy(fx.as);
            if (fv) {
                rc = as_listener_register(fx.as, &rm2->l);
                CHECK(rc == 0, "register second: %d", rc);
                check_replay("register second", rm2, fv);
                flatview_free(fv);
            }
        }
        if (step == 2 * steps / 3) {
            fv = view_copy(fx.as);
            rec_clear(rm2);
            as_listener_unregister(fx.as, &rm2->l);
            if (fv) {
                check_unregister("unregister second", rm2, fv);
                flatview_free(fv);
            }
        }
        if (!random_commit(step, rm, second ? rm2 : NULL, rio)) {
            if (++bad_steps >= 5) {
                fprintf(stderr,
                        "stopping after 5 bad commits (seed 0x%" PRIx64 ")\n",
                        seed);
                break;
            }
        }
    }

    test_listener_error();

    fv = view_copy(fx.as);
    rec_clear(rm);
    as_listener_unregister(fx.as, &rm->l);
    if (fv) {
        check_unregister("unregister", rm, fv);
        flatview_free(fv);
    }
    as_listener_unregister(fx.io, &rio->l);
out:
    /* Teardown as the contract says: free the mem_sys, then detach and
     * destroy the regions. */
    printf("test_listener: seed 0x%" PRIx64 ", %u random commits (%lu "
           "changed the view; %lu adds, %lu dels, %lu nops, %lu log_start, "
           "%lu log_stop), %u failures before teardown\n",
           seed, steps, changed_commits, stats[EV_ADD], stats[EV_DEL],
           stats[EV_NOP], stats[EV_LOG_START], stats[EV_LOG_STOP],
           unit_failures);
    fflush(stdout);
    fixture_fini();
    rcu_unregister_thread();
    free(rm);
    free(rm2);
    free(rio);
    printf("test_listener: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
