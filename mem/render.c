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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem-internal.h"
#include "mem/flatview.h"
#include "mem/region.h"

typedef __int128 coord_t;

/* How many siblings ahead the walk fetches regions. */
#define RENDER_PREFETCH_KIDS 4
/* How many events ahead the sweep fetches leaves. */
#define RENDER_PREFETCH 16

/* Nesting deeper than this is refused rather than risking the stack. */
#define RENDER_MAX_DEPTH 256

/* Clipped leaves lie within [0, 2^64): first and last fit in 64 bits. */
struct leaf {
    coord_t origin; /* address of the region's byte 0 */
    gpa_t first;
    gpa_t last;
    struct mem_region *mr;
    /* (mr)'s, read while the walk has it in cache. */
    const struct mr_ops *ops;
    void *opaque;
    uint8_t kind;
    bool readonly;
    bool log_dirty;
};

/* A sweep event: a leaf starts at (key), or ends after byte (key). */
struct event {
    uint64_t key;
    uint64_t rank;
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
    for (uint32_t i = 0; i < mr->nr_kids; i++) {
        c = mr->kids[i];
        /* Siblings lie anywhere in memory, and a large tree misses the
         * cache on each: fetch those a few ahead while this one's
         * subtree is walked. */
        if (i + RENDER_PREFETCH_KIDS < mr->nr_kids) {
            const char *ahead =
                (const char *)mr->kids[i + RENDER_PREFETCH_KIDS];

            /* Its first 64 bytes, wherever they start (two lines). */
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 63);
        }
        walk(r, c, origin + (coord_t)c->addr, lo, hi, readonly, log, depth + 1);
    }
    if (mr->kind != MR_CONTAINER) {
        struct leaf l = {
            .first = (gpa_t)lo,
            .last = (gpa_t)(hi - 1),
            .origin = origin,
            .mr = mr,
            .ops = mr->ops,
            .opaque = mr->opaque,
            .kind = (uint8_t)mr->kind,
            .readonly = readonly,
            .log_dirty = log,
        };
        add_leaf(r, &l);
    }
}

/*
 * Sort (ev) by key: LSD radix sort on bytes, skipping bytes that all keys
 * share (the high bytes, usually). Linear time, where qsort() made the
 * render of large trees sort-bound. (tmp) has room for (n) events.
 */
static struct event *radix_sort(struct event *ev, struct event *tmp, size_t n)
{
    static const unsigned digits = 8;
    size_t count[8][256] = {{0}};
    size_t i;
    unsigned d;

    for (i = 0; i < n; i++) {
        for (d = 0; d < digits; d++) {
            count[d][(ev[i].key >> (8 * d)) & 0xff]++;
        }
    }
    for (d = 0; d < digits; d++) {
        size_t sum = 0, b;
        struct event *swap;

        if (n == 0 || count[d][(ev[0].key >> (8 * d)) & 0xff] == n) {
            continue;
        }
        for (b = 0; b < 256; b++) {
            size_t c = count[d][b];

            count[d][b] = sum;
            sum += c;
        }
        for (i = 0; i < n; i++) {
            tmp[count[d][(ev[i].key >> (8 * d)) & 0xff]++] = ev[i];
        }
        swap = ev;
        ev = tmp;
        tmp = swap;
    }
    return ev;
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

/*
 * Memory for a view's arrays, aligned to (align), not zeroed (whoever
 * fills a view writes every element it counts; a render's upper bound of
 * ranges is twice what it uses, and zeroing it would cost more than the
 * render). Arrays of 2 MiB
 * and more (views of tens of thousands of ranges) are 2 MiB-aligned and
 * asked for transparent huge pages: a lookup then misses the TLB once
 * instead of once per level.
 */
static void *view_array(size_t bytes, size_t align)
{
    size_t huge = 2u << 20;
    void *p;

    if (bytes >= huge) {
        bytes = (bytes + huge - 1) & ~(huge - 1);
        p = aligned_alloc(huge, bytes);
        if (p) {
            (void)madvise(p, bytes, MADV_HUGEPAGE);
        }
    } else {
        bytes = (bytes + align - 1) & ~(align - 1);
        p = aligned_alloc(align, bytes ? bytes : align);
    }
    return p;
}

struct flatview *flatview_alloc(size_t cap)
{
    struct flatview_box *box = calloc(1, sizeof(*box));

    if (!box) {
        return NULL;
    }
    if (cap) {
        box->fv.ranges = view_array(cap * sizeof(struct flat_range), 64);
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
    box = flatview_box_of(fv);
    free(fv->ranges);
    free(fv->index);
    free(box);
}

static void emit(struct flatview *fv, const struct leaf *l, coord_t first,
                 coord_t end)
{
    uint64_t offset = (uint64_t)(first - l->origin);
    struct flat_range *prev = fv->nr ? &fv->ranges[fv->nr - 1] : NULL;

    if (prev && prev->mr == l->mr && (coord_t)prev->last + 1 == first &&
        prev->readonly == l->readonly && prev->log_dirty == l->log_dirty &&
        /* 128-bit: offsets near 2^64 must not wrap into a match. */
        (mr_size_t)prev->offset + (prev->last - prev->first) + 1 ==
            (mr_size_t)offset) {
        prev->last = (gpa_t)(end - 1);
        return;
    }
    fv->ranges[fv->nr++] = (struct flat_range){
        .first = (gpa_t)first,
        .last = (gpa_t)(end - 1),
        .mr = l->mr,
        .offset = offset,
        .ops = l->ops,
        .opaque = l->opaque,
        .kind = l->kind,
        .readonly = l->readonly,
        .log_dirty = l->log_dirty,
    };
}

/* Keys per index block: 8 addresses, one 64-byte cache line (each level
 * starts on a line), so a lookup reads one line per level. */
#define INDEX_FANOUT 8
#define INDEX_ALIGN 64

static int flatview_build_index(struct flatview *fv)
{
    size_t total = 0, len = fv->nr, off, i;
    unsigned l;

    /* Size the levels first: n + n/8 + n/64 + ... keys, each level
     * rounded up to whole blocks. */
    for (l = 0;; l++) {
        fv->level_len[l] = len;
        fv->level_off[l] = total;
        total += (len + INDEX_FANOUT - 1) / INDEX_FANOUT * INDEX_FANOUT;
        if (len <= INDEX_FANOUT) {
            break;
        }
        len = (len + INDEX_FANOUT - 1) / INDEX_FANOUT;
    }
    fv->levels = l + 1;
    fv->index = view_array((total ? total : INDEX_FANOUT) * sizeof(*fv->index),
                           INDEX_ALIGN);
    if (!fv->index) {
        return -ENOMEM;
    }
    for (i = 0; i < fv->nr; i++) {
        fv->index[i] = fv->ranges[i].first;
    }
    for (l = 1; l < fv->levels; l++) {
        const gpa_t *below = fv->index + fv->level_off[l - 1];

        off = fv->level_off[l];
        for (i = 0; i < fv->level_len[l]; i++) {
            fv->index[off + i] = below[i * INDEX_FANOUT];
        }
    }
    return 0;
}

int flatview_render(struct mem_region *root, mr_size_t limit,
                    struct flatview **out)
{
    struct render r = {0};
    struct event *buf = NULL, *starts, *ends;
    struct heap h = {0};
    uint8_t *ended = NULL;
    struct flatview *fv = NULL;
    size_t n, is = 0, ie = 0, i;
    int ret = -ENOMEM;

    walk(&r, root, 0, 0, (coord_t)limit, false, false, 0);
    if (r.err) {
        ret = r.err;
        goto out;
    }
    n = r.nr;
    /* Each leaf start can open at most one range, each end at most one. */
    fv = flatview_alloc(n ? 2 * n : 1);
    buf = malloc((n ? n : 1) * 4 * sizeof(*buf));
    h.v = malloc((n ? n : 1) * sizeof(*h.v));
    ended = calloc(n ? n : 1, 1);
    if (!fv || !buf || !h.v || !ended) {
        goto out;
    }
    for (i = 0; i < n; i++) {
        buf[i] = (struct event){r.leaves[i].first, i};
        buf[2 * n + i] = (struct event){r.leaves[i].last, i};
    }
    starts = radix_sort(buf, buf + n, n);
    ends = radix_sort(buf + 2 * n, buf + 3 * n, n);

    while (is < n || ie < n) {
        coord_t x = (coord_t)ends[ie < n ? ie : 0].key + 1;

        /* The next boundary: a start, or the byte after a leaf's end. */
        if (ie >= n || (is < n && (coord_t)starts[is].key < x)) {
            x = (coord_t)starts[is].key;
        }
        /* The leaves and end flags ahead are at random places (rank is
         * walk order, not address order): fetch them early. */
        if (is + RENDER_PREFETCH < n) {
            __builtin_prefetch(&r.leaves[starts[is + RENDER_PREFETCH].rank]);
        }
        if (ie + RENDER_PREFETCH < n) {
            __builtin_prefetch(&ended[ends[ie + RENDER_PREFETCH].rank], 1);
        }
        for (; ie < n && (coord_t)ends[ie].key + 1 == x; ie++) {
            ended[ends[ie].rank] = 1;
        }
        for (; is < n && (coord_t)starts[is].key == x; is++) {
            heap_push(&h, (uint32_t)starts[is].rank);
        }
        while (h.n && ended[h.v[0]]) {
            heap_pop(&h);
        }
        if (h.n) {
            /* Visible until the next start or end, whichever is first; an
             * active leaf's end is still ahead, so ie < n. */
            coord_t next = (coord_t)ends[ie].key + 1;

            if (is < n && (coord_t)starts[is].key < next) {
                next = (coord_t)starts[is].key;
            }
            emit(fv, &r.leaves[h.v[0]], x, next);
        }
    }
    ret = flatview_build_index(fv);
    if (ret < 0) {
        goto out;
    }
    *out = fv;
    fv = NULL;
    ret = 0;
out:
    flatview_free(fv);
    free(ended);
    free(h.v);
    free(buf);
    free(r.leaves);
    return ret;
}

/* How many of the (n) sorted keys at (k) are <= (addr); no branches. */
static inline size_t count_le(const gpa_t *k, size_t n, gpa_t addr)
{
    size_t c = 0, i;

    for (i = 0; i < n; i++) {
        c += k[i] <= addr;
    }
    return c;
}

/* Index of the last range whose first address is <= (addr), or -1. */
static ptrdiff_t last_first_le(const struct flatview *fv, gpa_t addr)
{
    size_t n = fv->nr, j, c;
    unsigned l;

    if (n == 0) {
        return -1;
    }
    if (!fv->index) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (fv->ranges[mid].first <= addr) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return (ptrdiff_t)lo - 1;
    }
    /* Top level: one block. Below: the block under the key found above,
     * whose first key is that key, so the count is at least 1. */
    l = fv->levels - 1;
    c = count_le(fv->index + fv->level_off[l], fv->level_len[l], addr);
    if (c == 0) {
        return -1;
    }
    j = c - 1;
    while (l-- > 0) {
        size_t start = j * INDEX_FANOUT;
        size_t len = fv->level_len[l] - start;

        if (len > INDEX_FANOUT) {
            len = INDEX_FANOUT;
        }
        j = start + count_le(fv->index + fv->level_off[l] + start, len, addr) -
            1;
    }
    return (ptrdiff_t)j;
}

size_t flatview_seek(const struct flatview *fv, gpa_t addr)
{
    ptrdiff_t j = last_first_le(fv, addr);

    if (j < 0) {
        return 0;
    }
    /* ranges[j] is what dispatch reads next: one cache miss for both. */
    if (addr <= fv->ranges[j].last) {
        return (size_t)j;
    }
    return (size_t)j + 1;
}

const struct flat_range *flatview_lookup(const struct flatview *fv, gpa_t addr)
{
    size_t i = flatview_seek(fv, addr);

    return i < fv->nr && fv->ranges[i].first <= addr ? &fv->ranges[i] : NULL;
}

bool flat_range_same(const struct flat_range *a, const struct flat_range *b)
{
    return a->first == b->first && a->last == b->last && a->mr == b->mr &&
           a->offset == b->offset && a->readonly == b->readonly;
}
