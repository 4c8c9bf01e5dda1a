/* SPDX-License-Identifier: MIT */
/*
 * Randomized differential test of flatview_render() against the naive
 * resolver (naive.c). Each iteration builds a tree by a random sequence of
 * region API calls (inits of every kind, adds with tied priorities, dels,
 * moves, enables, alias offsets, readonly and log flags, destroys, and
 * calls that must fail) and after every call renders the tree and checks:
 *
 * - the view is sorted, non-overlapping, within the limit, maximally
 *   merged, and names only terminal regions within their size;
 * - at every window edge of the tree (naive_breakpoints()) and every range
 *   edge, on both sides, and at 32 random addresses, flatview_lookup()
 *   agrees with a linear scan and with the naive resolver on region,
 *   offset, readonly and log flag. Between two consecutive edges both
 *   answers are linear, so this covers every address.
 *
 * (Complete as long as a tree has at most MAX_POINTS window edges, which
 * the trees here never reach.)
 *
 * Usage: test_random [SEED [ITERATIONS [FIRST]]]. A failed tree prints the
 * seed and iteration (the first few also their op log, tree and view) and
 * the run goes on with the next tree; "test_random SEED 1 ITERATION"
 * replays just that one. DUMP=1 in the environment prints every tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem/flatview.h"
#include "mem/region.h"
#include "mem/types.h"
#include "naive.h"
#include "unit.h"

static unsigned unit_failures;

#define NSLOTS 12
#define MAX_OPS 40
#define MAX_POINTS 4096
#define LOG_SIZE 65536
#define DEFAULT_SEED 0x5eed2024u
#define DEFAULT_ITERATIONS 40000

struct slot {
    struct mem_region mr;
    bool live;
    char name[16];
};

struct world {
    struct slot s[NSLOTS];
    uint64_t rng;
    mr_size_t limit;
    uint64_t seed;
    unsigned iter;
    unsigned step;
    bool failed;
    /* Most addresses small, so that regions pile up. */
    bool dense;
    size_t log_len;
    char log[LOG_SIZE];
};

static struct world world;
static mr_size_t points[MAX_POINTS];
static unsigned long long nr_checks;
static unsigned long long nr_ranges;
static unsigned long long nr_views;
static unsigned long long nr_empty_views;
static size_t max_ranges;
/* Views whose window edges did not all fit in points[]. */
static unsigned long long nr_truncated;

/* ---- PRNG: splitmix64 ---- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng64(struct world *w)
{
    return splitmix64(&w->rng);
}

/* A number in [0, n). */
static uint64_t rnd(struct world *w, uint64_t n)
{
    return n ? rng64(w) % n : 0;
}

/* ---- op log, printed on failure ---- */

__attribute__((format(printf, 2, 3))) static void wlog(struct world *w,
                                                       const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->log_len >= LOG_SIZE - 1) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(w->log + w->log_len, LOG_SIZE - w->log_len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        w->log_len += (size_t)n;
        if (w->log_len > LOG_SIZE - 1) {
            w->log_len = LOG_SIZE - 1;
        }
    }
}

static const char *kind_str(enum mr_kind k)
{
    switch (k) {
    case MR_CONTAINER:
        return "container";
    case MR_RAM:
        return "ram";
    case MR_ROM:
        return "rom";
    case MR_IO:
        return "io";
    case MR_ALIAS:
        return "alias";
    }
    return "?";
}

static void dump_region(const struct mem_region *mr, unsigned depth)
{
    char b1[40];

    fprintf(stderr, "%*s%s %s addr=0x%" PRIx64 " size=%s prio=%d%s%s%s",
            (int)depth * 2, "", mr->name ? mr->name : "?", kind_str(mr->kind),
            mr->addr, unit_u128(b1, mr->size), mr->priority,
            mr->enabled ? "" : " DISABLED", mr->readonly ? " ro" : "",
            mr->log_dirty ? " log" : "");
    if (mr->kind == MR_ALIAS && mr->alias) {
        fprintf(stderr, " -> %s +0x%" PRIx64,
                mr->alias->name ? mr->alias->name : "?", mr->alias_offset);
    }
    fputc('\n', stderr);
    for (uint32_t i = 0; i < mr->nr_kids; i++) {
        dump_region(mr->kids[i].mr, depth + 1);
    }
}

static void dump_world(struct world *w)
{
    char b1[40];

    fprintf(stderr, "limit %s\ntree:\n", unit_u128(b1, w->limit));
    dump_region(&w->s[0].mr, 1);
    fprintf(stderr, "unattached:\n");
    for (unsigned i = 1; i < NSLOTS; i++) {
        if (w->s[i].live && !w->s[i].mr.container) {
            dump_region(&w->s[i].mr, 1);
        }
    }
}

/* Trees that failed; only the first few are printed in full. */
static unsigned nr_failed_trees;
#define MAX_FULL_REPORTS 3

__attribute__((format(printf, 2, 3))) static void fail(struct world *w,
                                                       const char *fmt, ...)
{
    va_list ap;

    unit_failures++;
    if (w->failed) {
        return;
    }
    w->failed = true;
    nr_failed_trees++;
    fprintf(stderr, "FAIL seed=0x%" PRIx64 " iteration=%u step=%u: ", w->seed,
            w->iter, w->step);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (nr_failed_trees <= MAX_FULL_REPORTS) {
        fprintf(stderr, "ops:\n%.*s", (int)w->log_len, w->log);
        dump_world(w);
    }
    fprintf(stderr, "replay: test_random 0x%" PRIx64 " 1 %u\n", w->seed,
            w->iter);
}

/* ---- random choices ---- */

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

static uint64_t rand_size(struct world *w, bool allow_2_64)
{
    uint64_t s;

    switch (rnd(w, 24)) {
    case 0:
        return 0;
    case 1:
    case 2:
        s = allow_2_64 ? UINT64_MAX : 0x20000;
        break;
    case 3:
        s = 1 + rnd(w, 0x3000);
        break;
    case 4:
        s = (uint64_t)1 << 63;
        break;
    case 5:
        s = (rng64(w) >> rnd(w, 64)) | 1;
        break;
    default:
        s = 0x800 * (1 + rnd(w, 32));
        break;
    }
    if (!allow_2_64 && s == UINT64_MAX) {
        s--;
    }
    return s;
}

/* An address (or alias offset) for something inside a region of (size). */
static uint64_t rand_addr(struct world *w, mr_size_t size)
{
    uint64_t k = 0x800 * (1 + rnd(w, 32));

    /* Dense trees keep most things low, where they overlap. */
    if (w->dense && rnd(w, 4) != 0) {
        return 0x800 * rnd(w, 40);
    }
    switch (rnd(w, 16)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
        return 0x800 * rnd(w, 40);
    case 6:
        return 0x800 * rnd(w, 40) + rnd(w, 0x800);
    case 7:
    case 8:
        return 0 - k;
    case 9:
    case 10:
        if (size >= k) {
            return (uint64_t)(size - k);
        }
        return 0x800 * rnd(w, 40);
    case 11:
        if (size >= 1) {
            return (uint64_t)(size - 1);
        }
        return 0;
    case 12:
        return ((uint64_t)1 << 63) - 0x800 * rnd(w, 16);
    case 13:
        return rng64(w);
    default:
        return 0;
    }
}

typedef bool (*slot_pred_fn)(const struct world *w, unsigned i);

/* A random live slot satisfying (pred), or -1. */
static int pick(struct world *w, slot_pred_fn pred)
{
    unsigned cand[NSLOTS];
    unsigned n = 0;

    for (unsigned i = 0; i < NSLOTS; i++) {
        if (w->s[i].live && (!pred || pred(w, i))) {
            cand[n++] = i;
        }
    }
    return n ? (int)cand[rnd(w, n)] : -1;
}

static bool p_not_root(const struct world *w, unsigned i)
{
    (void)w;
    return i != 0;
}

static bool p_detached(const struct world *w, unsigned i)
{
    return i != 0 && !w->s[i].mr.container;
}

static bool p_attached(const struct world *w, unsigned i)
{
    return w->s[i].mr.container != NULL;
}

static bool p_can_contain(const struct world *w, unsigned i)
{
    return w->s[i].mr.kind != MR_ALIAS;
}

static bool p_alias(const struct world *w, unsigned i)
{
    return w->s[i].mr.kind == MR_ALIAS;
}

static bool p_not_alias(const struct world *w, unsigned i)
{
    return w->s[i].mr.kind != MR_ALIAS;
}

static struct mem_region *reg(struct world *w, int i)
{
    return &w->s[i].mr;
}

static const char *nm(struct world *w, int i)
{
    return w->s[i].name;
}

/* Some live alias still targets slot (i). */
static bool is_alias_target(const struct world *w, unsigned i)
{
    for (unsigned j = 0; j < NSLOTS; j++) {
        if (w->s[j].live && w->s[j].mr.kind == MR_ALIAS &&
            w->s[j].mr.alias == &w->s[i].mr) {
            return true;
        }
    }
    return false;
}

/* ---- operations ---- */

static void op_init(struct world *w)
{
    int free_slot = -1;
    struct slot *s;
    int rc;

    for (unsigned i = 1; i < NSLOTS; i++) {
        if (!w->s[i].live) {
            free_slot = (int)i;
            break;
        }
    }
    if (free_slot < 0) {
        return;
    }
    s = &w->s[free_slot];
    memset(&s->mr, 0, sizeof(s->mr));
    switch (rnd(w, 12)) {
    case 0:
    case 1:
    case 2:
    case 3: {
        uint64_t size = rand_size(w, true);

        snprintf(s->name, sizeof(s->name), "c%d", free_slot);
        wlog(w, "%u: init_container %s size 0x%" PRIx64 "\n", w->step, s->name,
             size);
        rc = mr_init_container(&s->mr, s->name, size);
        break;
    }
    case 4:
    case 5:
    case 6:
    case 7: {
        uint64_t size = rand_size(w, true);

        snprintf(s->name, sizeof(s->name), "io%d", free_slot);
        wlog(w, "%u: init_io %s size 0x%" PRIx64 "\n", w->step, s->name, size);
        rc = mr_init_io(&s->mr, s->name, size, &dummy_ops, NULL);
        break;
    }
    case 8: {
        uint64_t size = 0x1000 * (1 + rnd(w, 4));

        snprintf(s->name, sizeof(s->name), "ram%d", free_slot);
        wlog(w, "%u: init_ram %s size 0x%" PRIx64 "\n", w->step, s->name, size);
        rc = mr_init_ram(&s->mr, s->name, size);
        break;
    }
    case 9: {
        uint64_t size = 0x1000 * (1 + rnd(w, 2));

        snprintf(s->name, sizeof(s->name), "rom%d", free_slot);
        wlog(w, "%u: init_rom %s size 0x%" PRIx64 "\n", w->step, s->name, size);
        rc = mr_init_rom(&s->mr, s->name, size, rnd(w, 2) ? &dummy_ops : NULL,
                         NULL);
        break;
    }
    default: {
        /* An alias of the root can only live outside the root's tree. */
        int t = rnd(w, 10) ? pick(w, p_not_root) : 0;
        uint64_t off;

        if (t < 0) {
            t = 0;
        }
        off = rand_addr(w, reg(w, t)->size);
        uint64_t size = rand_size(w, false);

        snprintf(s->name, sizeof(s->name), "a%d", free_slot);
        wlog(w,
             "%u: init_alias %s -> %s offset 0x%" PRIx64 " size 0x%" PRIx64
             "\n",
             w->step, s->name, nm(w, t), off, size);
        rc = mr_init_alias(&s->mr, s->name, reg(w, t), off, size);
        break;
    }
    }
    if (rc != 0) {
        fail(w, "init of %s: %d", s->name, rc);
        return;
    }
    s->live = true;
}

static void op_add(struct world *w)
{
    int sub = pick(w, p_detached);
    /* The root often, so that most regions end up visible. */
    int par = rnd(w, 10) < (w->dense ? 7 : 5) ? 0 : pick(w, p_can_contain);
    uint64_t addr;
    int prio = (int)rnd(w, 4) - 1;
    bool plain = rnd(w, 4) == 0;
    bool cycle;
    int rc;

    if (sub < 0 || par < 0) {
        return;
    }
    addr = rand_addr(w, reg(w, par)->size);
    cycle = naive_reaches(reg(w, sub), reg(w, par));
    if (plain) {
        prio = 0;
        wlog(w, "%u: add %s to %s at 0x%" PRIx64 "%s\n", w->step, nm(w, sub),
             nm(w, par), addr, cycle ? " (cycle)" : "");
        rc = mr_add_subregion(reg(w, par), addr, reg(w, sub));
    } else {
        wlog(w, "%u: add_overlap %s to %s at 0x%" PRIx64 " prio %d%s\n",
             w->step, nm(w, sub), nm(w, par), addr, prio,
             cycle ? " (cycle)" : "");
        rc = mr_add_subregion_overlap(reg(w, par), addr, reg(w, sub), prio);
    }
    if (cycle) {
        /* The exact code is checked by test_render. */
        if (rc == 0) {
            fail(w, "add of %s to %s made a cycle but returned 0", nm(w, sub),
                 nm(w, par));
            if (mr_del_subregion(reg(w, par), reg(w, sub)) != 0) {
                fprintf(stderr, "could not undo the cycle\n");
            }
        }
        return;
    }
    if (rc != 0) {
        fail(w, "add of %s to %s: %d", nm(w, sub), nm(w, par), rc);
        return;
    }
    if (reg(w, sub)->container != reg(w, par)) {
        fail(w, "after add, %s's container is not %s", nm(w, sub), nm(w, par));
    }
}

static void op_del(struct world *w)
{
    int sub = pick(w, p_attached);
    int rc;

    if (sub < 0) {
        return;
    }
    wlog(w, "%u: del %s from %s\n", w->step, nm(w, sub),
         reg(w, sub)->container->name);
    rc = mr_del_subregion(reg(w, sub)->container, reg(w, sub));
    if (rc != 0) {
        fail(w, "del of %s: %d", nm(w, sub), rc);
    } else if (reg(w, sub)->container) {
        fail(w, "after del, %s still has a container", nm(w, sub));
    }
}

static void op_move(struct world *w)
{
    int i = pick(w, p_not_root);
    mr_size_t csize;
    uint64_t addr;
    int rc;

    if (i < 0) {
        return;
    }
    csize = reg(w, i)->container ? reg(w, i)->container->size : MR_SIZE_2_64;
    addr = rand_addr(w, csize);
    wlog(w, "%u: set_address %s 0x%" PRIx64 "\n", w->step, nm(w, i), addr);
    rc = mr_set_address(reg(w, i), addr);
    if (rc != 0) {
        fail(w, "set_address of %s: %d", nm(w, i), rc);
    }
}

static void op_enable(struct world *w)
{
    int i = pick(w, p_not_root);
    bool on = rnd(w, 4) != 0;
    int rc;

    if (i < 0) {
        return;
    }
    wlog(w, "%u: set_enabled %s %d\n", w->step, nm(w, i), on);
    rc = mr_set_enabled(reg(w, i), on);
    if (rc != 0) {
        fail(w, "set_enabled of %s: %d", nm(w, i), rc);
    }
}

static void op_alias_offset(struct world *w)
{
    int i = pick(w, p_alias);
    uint64_t off;
    int rc;

    if (i < 0) {
        return;
    }
    off = rand_addr(w, reg(w, i)->alias->size);
    wlog(w, "%u: set_alias_offset %s 0x%" PRIx64 "\n", w->step, nm(w, i), off);
    rc = mr_set_alias_offset(reg(w, i), off);
    if (rc != 0) {
        fail(w, "set_alias_offset of %s: %d", nm(w, i), rc);
    }
}

static void op_readonly(struct world *w)
{
    int i = pick(w, NULL);
    bool ro = rnd(w, 3) == 0;
    int rc;

    wlog(w, "%u: set_readonly %s %d\n", w->step, nm(w, i), ro);
    rc = mr_set_readonly(reg(w, i), ro);
    if (rc != 0) {
        fail(w, "set_readonly of %s: %d", nm(w, i), rc);
    }
}

static void op_log(struct world *w)
{
    int i = pick(w, NULL);
    bool log = rnd(w, 3) == 0;
    int rc;

    wlog(w, "%u: set_log %s %d\n", w->step, nm(w, i), log);
    rc = mr_set_log(reg(w, i), log);
    if (rc != 0) {
        fail(w, "set_log of %s: %d", nm(w, i), rc);
    }
}

static void op_destroy(struct world *w)
{
    int i = pick(w, p_not_root);
    bool busy;
    int rc;

    if (i < 0) {
        return;
    }
    busy = reg(w, i)->container || reg(w, i)->nr_kids ||
           is_alias_target(w, (unsigned)i);
    wlog(w, "%u: destroy %s%s\n", w->step, nm(w, i), busy ? " (busy)" : "");
    rc = mr_destroy(reg(w, i));
    if (rc != (busy ? -EBUSY : 0)) {
        fail(w, "destroy of %s: %d, want %d", nm(w, i), rc, busy ? -EBUSY : 0);
        return;
    }
    if (rc == 0) {
        w->s[i].live = false;
    }
}

/* Calls that must fail and change nothing. */
static void op_bad(struct world *w)
{
    int rc;

    switch (rnd(w, 4)) {
    case 0: {
        int sub = pick(w, p_detached);
        int par = pick(w, p_alias);

        if (sub < 0 || par < 0) {
            return;
        }
        wlog(w, "%u: (bad) add %s to alias %s\n", w->step, nm(w, sub),
             nm(w, par));
        rc = mr_add_subregion(reg(w, par), 0, reg(w, sub));
        if (rc != -EINVAL) {
            fail(w, "add below alias: %d, want -EINVAL", rc);
        }
        break;
    }
    case 1: {
        int sub = pick(w, p_attached);
        int par = pick(w, p_can_contain);

        if (sub < 0 || par < 0 || naive_reaches(reg(w, sub), reg(w, par))) {
            return;
        }
        wlog(w, "%u: (bad) add attached %s to %s\n", w->step, nm(w, sub),
             nm(w, par));
        rc = mr_add_subregion(reg(w, par), 0, reg(w, sub));
        if (rc != -EBUSY) {
            fail(w, "add of an attached region: %d, want -EBUSY", rc);
        }
        break;
    }
    case 2: {
        int sub = pick(w, p_not_root);
        int par = pick(w, p_can_contain);

        if (sub < 0 || par < 0 || reg(w, sub)->container == reg(w, par)) {
            return;
        }
        wlog(w, "%u: (bad) del %s from %s\n", w->step, nm(w, sub), nm(w, par));
        rc = mr_del_subregion(reg(w, par), reg(w, sub));
        if (rc != -ENOENT) {
            fail(w, "del from a wrong container: %d, want -ENOENT", rc);
        }
        break;
    }
    default: {
        int i = pick(w, p_not_alias);

        wlog(w, "%u: (bad) set_alias_offset %s\n", w->step, nm(w, i));
        rc = mr_set_alias_offset(reg(w, i), 0x1000);
        if (rc != -EINVAL) {
            fail(w, "set_alias_offset on a non-alias: %d, want -EINVAL", rc);
        }
        break;
    }
    }
}

static void random_op(struct world *w)
{
    uint64_t r = rnd(w, 100);

    if (r < 22) {
        op_init(w);
    } else if (r < 50) {
        op_add(w);
    } else if (r < 57) {
        op_del(w);
    } else if (r < 67) {
        op_move(w);
    } else if (r < 75) {
        op_enable(w);
    } else if (r < 81) {
        op_alias_offset(w);
    } else if (r < 86) {
        op_readonly(w);
    } else if (r < 89) {
        op_log(w);
    } else if (r < 95) {
        op_destroy(w);
    } else {
        op_bad(w);
    }
}

/* ---- checks ---- */

static const struct flat_range *linear_lookup(const struct flatview *fv,
                                              gpa_t a)
{
    for (size_t i = 0; i < fv->nr; i++) {
        if (fv->ranges[i].first <= a && a <= fv->ranges[i].last) {
            return &fv->ranges[i];
        }
    }
    return NULL;
}

static void check_addr(struct world *w, const struct flatview *fv, gpa_t a)
{
    struct naive_hit hit;
    bool found = naive_resolve(&w->s[0].mr, w->limit, a, &hit);
    const struct flat_range *fr = flatview_lookup(fv, a);
    const struct flat_range *lin = linear_lookup(fv, a);
    uint64_t off;

    nr_checks++;
    if (fr != lin) {
        fail(w, "flatview_lookup(0x%" PRIx64 ") = range %td, linear scan %td",
             a, fr ? fr - fv->ranges : -1, lin ? lin - fv->ranges : -1);
        return;
    }
    if (!found) {
        if (fr) {
            fail(w, "0x%" PRIx64 ": view has %s, naive has nothing (range %td)",
                 a, mr_name(fr->mr), fr - fv->ranges);
        }
        return;
    }
    if (!fr) {
        fail(w, "0x%" PRIx64 ": view has nothing, naive has %s +0x%" PRIx64, a,
             mr_name(hit.mr), hit.offset);
        return;
    }
    off = fr->offset + (a - fr->first);
    if (fr->mr != hit.mr || off != hit.offset) {
        fail(w,
             "0x%" PRIx64 ": view has %s +0x%" PRIx64
             " (range %td), naive has %s +0x%" PRIx64,
             a, mr_name(fr->mr), off, fr - fv->ranges, mr_name(hit.mr),
             hit.offset);
        return;
    }
    if (fr->readonly != hit.readonly) {
        fail(w, "0x%" PRIx64 ": view readonly=%d, naive readonly=%d", a,
             fr->readonly, hit.readonly);
        return;
    }
    if (fr->log_dirty != hit.log_dirty) {
        fail(w, "0x%" PRIx64 ": view log_dirty=%d, naive log_dirty=%d", a,
             fr->log_dirty, hit.log_dirty);
    }
}

static bool terminal(const struct mem_region *mr)
{
    return mr->kind == MR_RAM || mr->kind == MR_ROM || mr->kind == MR_IO;
}

static void check_shape(struct world *w, const struct flatview *fv)
{
    if (fv->nr && !fv->ranges) {
        fail(w, "view has %zu ranges and no array", fv->nr);
        return;
    }
    for (size_t i = 0; i < fv->nr; i++) {
        const struct flat_range *fr = &fv->ranges[i];
        const struct flat_range *pr = i ? &fv->ranges[i - 1] : NULL;

        if (fr->first > fr->last) {
            fail(w, "range %zu: first > last", i);
            return;
        }
        if (!fr->mr || !terminal(fr->mr)) {
            fail(w, "range %zu: not a terminal region", i);
            return;
        }
        if ((mr_size_t)fr->last >= w->limit) {
            fail(w, "range %zu: beyond the limit", i);
            return;
        }
        if ((mr_size_t)fr->offset + flat_range_size(fr) > fr->mr->size) {
            fail(w, "range %zu: offset+size beyond %s's size", i,
                 mr_name(fr->mr));
            return;
        }
        if (!pr) {
            continue;
        }
        if (pr->last >= fr->first) {
            fail(w, "ranges %zu and %zu overlap or are unsorted", i - 1, i);
            return;
        }
        if (pr->last + 1 == fr->first && pr->mr == fr->mr &&
            (mr_size_t)pr->offset + flat_range_size(pr) ==
                (mr_size_t)fr->offset &&
            pr->readonly == fr->readonly && pr->log_dirty == fr->log_dirty) {
            fail(w, "ranges %zu and %zu should have been merged", i - 1, i);
            return;
        }
    }
}

static void check_point_pair(struct world *w, const struct flatview *fv,
                             mr_size_t b)
{
    /* Both sides of the edge (b). */
    if (b >= 1 && b - 1 <= UINT64_MAX) {
        check_addr(w, fv, (gpa_t)(b - 1));
    }
    if (b <= UINT64_MAX) {
        check_addr(w, fv, (gpa_t)b);
    }
}

static void check_view(struct world *w)
{
    struct flatview *fv = NULL;
    size_t np;
    int rc;

    rc = flatview_render(&w->s[0].mr, w->limit, &fv);
    if (rc != 0 || !fv) {
        fail(w, "flatview_render: %d", rc);
        return;
    }
    check_shape(w, fv);
    nr_ranges += fv->nr;
    nr_views++;
    nr_empty_views += fv->nr == 0;
    if (fv->nr > max_ranges) {
        max_ranges = fv->nr;
    }

    np = naive_breakpoints(&w->s[0].mr, w->limit, points, MAX_POINTS);
    if (np > MAX_POINTS) {
        nr_truncated++;
        np = MAX_POINTS;
    }
    for (size_t i = 0; i < np && !w->failed; i++) {
        check_point_pair(w, fv, points[i]);
    }
    for (size_t i = 0; i < fv->nr && !w->failed; i++) {
        const struct flat_range *fr = &fv->ranges[i];

        check_point_pair(w, fv, fr->first);
        check_point_pair(w, fv, (mr_size_t)fr->last + 1);
        check_addr(w, fv, fr->first + (fr->last - fr->first) / 2);
    }
    for (unsigned i = 0; i < 32 && !w->failed; i++) {
        gpa_t a;

        switch (rnd(w, 4)) {
        case 0:
            a = rng64(w);
            break;
        case 1:
            if (fv->nr) {
                const struct flat_range *fr = &fv->ranges[rnd(w, fv->nr)];

                a = fr->first + rnd(w, 0x1000);
                break;
            }
            /* fall through */
        default:
            a = rand_addr(w, MR_SIZE_2_64);
            break;
        }
        check_addr(w, fv, a);
    }
    if (w->failed && nr_failed_trees <= MAX_FULL_REPORTS) {
        fprintf(stderr, "view:\n");
        unit_print_view(stderr, "  ", fv);
    }
    flatview_free(fv);
}

/* ---- one iteration ---- */

static void teardown(struct world *w)
{
    bool progress = true;

    for (unsigned i = 0; i < NSLOTS; i++) {
        struct mem_region *mr = &w->s[i].mr;

        if (w->s[i].live && mr->container) {
            int rc = mr_del_subregion(mr->container, mr);

            if (rc != 0) {
                fail(w, "teardown: del of %s: %d", w->s[i].name, rc);
            }
        }
    }
    while (progress) {
        progress = false;
        for (unsigned i = 0; i < NSLOTS; i++) {
            int rc;

            if (!w->s[i].live || is_alias_target(w, i)) {
                continue;
            }
            rc = mr_destroy(&w->s[i].mr);
            if (rc != 0) {
                fail(w, "teardown: destroy of %s: %d", w->s[i].name, rc);
                /* Leak it rather than loop forever. */
            }
            w->s[i].live = false;
            progress = true;
        }
    }
}

static void run_iteration(struct world *w, uint64_t seed, unsigned iter)
{
    uint64_t s = seed ^ ((uint64_t)iter * 0xd1b54a32d192ed03ull);
    uint64_t root_size;
    unsigned nops, ngrow;
    int rc;

    memset(w, 0, offsetof(struct world, log));
    w->seed = seed;
    w->iter = iter;
    w->rng = splitmix64(&s);
    w->log_len = 0;

    w->dense = rnd(w, 2) == 0;
    switch (rnd(w, 8)) {
    case 0:
        w->limit = 0x10000;
        break;
    case 1:
        w->limit = (mr_size_t)rand_addr(w, MR_SIZE_2_64) + 1;
        break;
    default:
        w->limit = MR_SIZE_2_64;
        break;
    }
    root_size = rnd(w, 5) ? UINT64_MAX : rand_size(w, true);
    snprintf(w->s[0].name, sizeof(w->s[0].name), "root");
    wlog(w, "init_container root size 0x%" PRIx64 "%s\n", root_size,
         w->dense ? " (dense)" : "");
    rc = mr_init_container(&w->s[0].mr, "root", root_size);
    if (rc != 0) {
        fail(w, "init of root: %d", rc);
        return;
    }
    w->s[0].live = true;

    /* Grow a population first, mostly attached, then mutate it. */
    ngrow = 2 + (unsigned)rnd(w, NSLOTS - 2);
    nops = ngrow + 5 + (unsigned)rnd(w, MAX_OPS - 5);
    for (w->step = 0; w->step < nops && !w->failed; w->step++) {
        if (w->step < ngrow) {
            op_init(w);
            if (rnd(w, 4) != 0) {
                op_add(w);
            }
        } else {
            random_op(w);
        }
        if (!w->failed) {
            check_view(w);
        }
    }
    if (getenv("DUMP")) {
        fprintf(stderr, "ops:\n%.*s", (int)w->log_len, w->log);
        dump_world(w);
    }
    teardown(w);
}

int main(int argc, char **argv)
{
    uint64_t seed = DEFAULT_SEED;
    unsigned iterations = DEFAULT_ITERATIONS;
    unsigned first = 0;
    unsigned done = 0;
    clock_t t0 = clock();

    if (argc > 1) {
        seed = strtoull(argv[1], NULL, 0);
    }
    if (argc > 2) {
        iterations = (unsigned)strtoul(argv[2], NULL, 0);
    }
    if (argc > 3) {
        first = (unsigned)strtoul(argv[3], NULL, 0);
    }
    for (unsigned i = first; i < first + iterations; i++) {
        run_iteration(&world, seed, i);
        done++;
    }
    if (nr_truncated) {
        printf("note: %llu views had more than %d window edges\n", nr_truncated,
               MAX_POINTS);
    }
    printf("test_random: seed 0x%" PRIx64 ", %u trees, %llu views "
           "(%llu empty, %.1f ranges on average, at most %zu), "
           "%llu address checks, %.1f s, %u failed trees\n",
           seed, done, nr_views, nr_empty_views,
           nr_views ? (double)nr_ranges / (double)nr_views : 0.0, max_ranges,
           nr_checks, (double)(clock() - t0) / CLOCKS_PER_SEC, nr_failed_trees);
    return unit_failures ? 1 : 0;
}
