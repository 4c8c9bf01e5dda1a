/* SPDX-License-Identifier: MIT */
/*
 * Rendering: tree -> FlatView, a pure function.
 *
 * The tree is walked depth first in visibility order (children by
 * descending priority, later-added first among equals, then the region
 * itself), collecting every terminal region's clipped interval as a "leaf"
 * whose rank is its position in the walk. The visible leaf at an address is
 * the lowest-ranked leaf covering it. A sweep over the sorted interval
 * endpoints with a min-heap of active ranks then yields the view in
 * O(n log n), where inserting each leaf into the partial view (as QEMU does)
 * would be O(n^2) in the worst case.
 *
 * Coordinates are signed 128-bit: a range may end at 2^64, and an alias
 * with an offset places its target's origin below 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem-internal.h"
#include "mem/flatview.h"
#include "mem/region.h"

typedef __int128 coord_t;

/* Nesting deeper than this is refused rather than risking the stack. */
#define RENDER_MAX_DEPTH 256

struct leaf {
    coord_t first;
    coord_t end;
    coord_t origin; /* address of the region's byte 0 */
    struct mem_region *mr;
    bool readonly;
    bool log_dirty;
};

struct event {
    coord_t pos;
    uint32_t rank;
    uint32_t is_end;
};

struct render {
    struct leaf *leaves;
    size_t nr;
    size_t cap;
    int err;
};

static void add_leaf(struct render *r, const struct leaf *l)
{
    if (r->nr == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct leaf *n = realloc(r->leaves, cap * sizeof(*n));

        if (!n) {
            r->err = -ENOMEM;
            return;
        }
        r->leaves = n;
        r->cap = cap;
    }
    r->leaves[r->nr++] = *l;
}

static void walk(struct render *r, struct mem_region *mr, coord_t origin,
                 coord_t clip_lo, coord_t clip_hi, bool readonly, bool log,
                 unsigned depth)
{
    coord_t lo, hi;
    struct mem_region *c;

    if (!mr->enabled || mr->size == 0 || r->err) {
        return;
    }
    if (depth > RENDER_MAX_DEPTH) {
        r->err = -ELOOP;
        return;
    }
    lo = origin > clip_lo ? origin : clip_lo;
    hi = origin + (coord_t)mr->size;
    if (hi > clip_hi) {
        hi = clip_hi;
    }
    if (lo >= hi) {
        return;
    }
    readonly |= mr->readonly;
    log |= mr->log_dirty;

    if (mr->kind == MR_ALIAS) {
        walk(r, mr->alias, origin - (coord_t)mr->alias_offset, lo, hi, readonly,
             log, depth + 1);
        return;
    }
    for (c = mr->children; c; c = c->next) {
        walk(r, c, origin + (coord_t)c->addr, lo, hi, readonly, log, depth + 1);
    }
    if (mr->kind != MR_CONTAINER) {
        struct leaf l = {
            .first = lo,
            .end = hi,
            .origin = origin,
            .mr = mr,
            .readonly = readonly,
            .log_dirty = log,
        };
        add_leaf(r, &l);
    }
}

static int event_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;

    if (x->pos != y->pos) {
        return x->pos < y->pos ? -1 : 1;
    }
    return 0;
}

/* A binary min-heap of ranks. */
struct heap {
    uint32_t *v;
    size_t n;
};

static void heap_push(struct heap *h, uint32_t x)
{
    size_t i = h->n++;

    while (i > 0) {
        size_t p = (i - 1) / 2;

        if (h->v[p] <= x) {
            break;
        }
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = x;
}

static void heap_pop(struct heap *h)
{
    uint32_t x = h->v[--h->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n) {
            break;
        }
        if (c + 1 < h->n && h->v[c + 1] < h->v[c]) {
            c++;
        }
        if (h->v[c] >= x) {
            break;
        }
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) {
        h->v[i] = x;
    }
}

struct flatview *flatview_alloc(size_t cap)
{
    struct flatview_box *box = calloc(1, sizeof(*box));

    if (!box) {
        return NULL;
    }
    if (cap) {
        box->fv.ranges = calloc(cap, sizeof(struct flat_range));
        if (!box->fv.ranges) {
            free(box);
            return NULL;
        }
    }
    return &box->fv;
}

void flatview_free(struct flatview *fv)
{
    struct flatview_box *box;

    if (!fv) {
        return;
    }
    box = caa_container_of(fv, struct flatview_box, fv);
    free(fv->ranges);
    free(box);
}

static void emit(struct flatview *fv, const struct leaf *l, coord_t first,
                 coord_t end)
{
    uint64_t offset = (uint64_t)(first - l->origin);
    struct flat_range *prev = fv->nr ? &fv->ranges[fv->nr - 1] : NULL;

    if (prev && prev->mr == l->mr && (coord_t)prev->last + 1 == first &&
        prev->readonly == l->readonly && prev->log_dirty == l->log_dirty &&
        prev->offset + (prev->last - prev->first) + 1 == offset) {
        prev->last = (gpa_t)(end - 1);
        return;
    }
    fv->ranges[fv->nr++] = (struct flat_range){
        .first = (gpa_t)first,
        .last = (gpa_t)(end - 1),
        .mr = l->mr,
        .offset = offset,
        .readonly = l->readonly,
        .log_dirty = l->log_dirty,
    };
}

int flatview_render(struct mem_region *root, mr_size_t limit,
                    struct flatview **out)
{
    struct render r = {0};
    struct event *ev = NULL;
    struct heap h = {0};
    uint8_t *ended = NULL;
    struct flatview *fv = NULL;
    size_t nev, i;
    int ret = -ENOMEM;

    walk(&r, root, 0, 0, (coord_t)limit, false, false, 0);
    if (r.err) {
        ret = r.err;
        goto out;
    }
    if (r.nr > UINT32_MAX / 2) {
        ret = -E2BIG;
        goto out;
    }
    nev = 2 * r.nr;
    /* Each leaf start can open at most one range, each end at most one. */
    fv = flatview_alloc(nev ? nev : 1);
    ev = malloc((nev ? nev : 1) * sizeof(*ev));
    h.v = malloc((r.nr ? r.nr : 1) * sizeof(*h.v));
    ended = calloc(r.nr ? r.nr : 1, 1);
    if (!fv || !ev || !h.v || !ended) {
        goto out;
    }
    for (i = 0; i < r.nr; i++) {
        ev[2 * i] = (struct event){r.leaves[i].first, (uint32_t)i, 0};
        ev[2 * i + 1] = (struct event){r.leaves[i].end, (uint32_t)i, 1};
    }
    qsort(ev, nev, sizeof(*ev), event_cmp);

    for (i = 0; i < nev;) {
        coord_t x = ev[i].pos;

        for (; i < nev && ev[i].pos == x; i++) {
            if (ev[i].is_end) {
                ended[ev[i].rank] = 1;
            } else {
                heap_push(&h, ev[i].rank);
            }
        }
        while (h.n && ended[h.v[0]]) {
            heap_pop(&h);
        }
        if (h.n) {
            /* An active leaf has its end event still ahead, so i < nev. */
            emit(fv, &r.leaves[h.v[0]], x, ev[i].pos);
        }
    }
    *out = fv;
    fv = NULL;
    ret = 0;
out:
    flatview_free(fv);
    free(ended);
    free(h.v);
    free(ev);
    free(r.leaves);
    return ret;
}

const struct flat_range *flatview_lookup(const struct flatview *fv, gpa_t addr)
{
    size_t lo = 0, hi = fv->nr;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct flat_range *fr = &fv->ranges[mid];

        if (addr < fr->first) {
            hi = mid;
        } else if (addr > fr->last) {
            lo = mid + 1;
        } else {
            return fr;
        }
    }
    return NULL;
}

bool flat_range_same(const struct flat_range *a, const struct flat_range *b)
{
    return a->first == b->first && a->last == b->last && a->mr == b->mr &&
           a->offset == b->offset && a->readonly == b->readonly;
}
