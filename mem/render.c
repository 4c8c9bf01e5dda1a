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
#include <emmintrin.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem-internal.h"
#include "mem/flatview.h"
#include "mem/region.h"

typedef __int128 coord_t;

/* How many children ahead the walk fetches the inner ones. */
#define RENDER_PREFETCH_KIDS 12
/* How many events ahead the sweep fetches leaves. */
#define RENDER_PREFETCH 32

/* Nesting deeper than this is refused rather than risking the stack. */
#define RENDER_MAX_DEPTH 256

/*
 * A terminal region's clipped interval, found by the walk; its first and
 * last bytes (within [0, 2^64)) are in the sweep's events. What the sweep
 * reads of it, at random, is kept small: a large tree's leaves do not fit
 * in a cache.
 */
struct leaf {
    /* The address of the region's byte 0, modulo 2^64: an address in the
     * leaf less this is the byte's offset in the region (which is below
     * 2^64), even where the origin itself lies below 0. */
    uint64_t origin;
    struct mem_region *mr;
    /* (mr)'s, from the walk's record of it. */
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

/* The walk's output: leaf i starts at starts[i] and ends at ends[i]. */
struct render {
    struct leaf *leaves;
    struct event *starts;
    struct event *ends;
    size_t nr;
    size_t cap;
    int err;
};

/* Room for one more leaf: 0 or -ENOMEM (the arrays grow together). */
static int leaves_reserve(struct render *r)
{
    size_t cap = r->cap ? r->cap * 2 : 64;
    struct leaf *l;
    struct event *st, *en;

    if (r->nr < r->cap) {
        return 0;
    }
    l = realloc(r->leaves, cap * sizeof(*l));
    if (l) {
        r->leaves = l;
    }
    st = realloc(r->starts, cap * sizeof(*st));
    if (st) {
        r->starts = st;
    }
    en = realloc(r->ends, cap * sizeof(*en));
    if (en) {
        r->ends = en;
    }
    if (!l || !st || !en) {
        return -ENOMEM;
    }
    r->cap = cap;
    return 0;
}

/* A leaf of [first, last] of the region whose byte 0 is at (origin). */
static void add_leaf(struct render *r, gpa_t first, gpa_t last, coord_t origin,
                     struct mem_region *mr, const struct mr_ops *ops,
                     void *opaque, uint8_t kind, bool readonly, bool log)
{
    size_t i = r->nr;

    if (leaves_reserve(r) < 0) {
        r->err = -ENOMEM;
        return;
    }
    r->leaves[i] = (struct leaf){
        .origin = (uint64_t)origin,
        .mr = mr,
        .ops = ops,
        .opaque = opaque,
        .kind = kind,
        .readonly = readonly,
        .log_dirty = log,
    };
    r->starts[i] = (struct event){first, i};
    r->ends[i] = (struct event){last, i};
    r->nr++;
}

static void walk(struct render *r, struct mem_region *mr, coord_t origin,
                 coord_t clip_lo, coord_t clip_hi, bool readonly, bool log,
                 unsigned depth);

/* [start, start + size) within [lo, hi), in (*clo, *chi): false if empty. */
static inline bool clip(coord_t start, coord_t size, coord_t lo, coord_t hi,
                        coord_t *clo, coord_t *chi)
{
    *clo = start > lo ? start : lo;
    *chi = start + size < hi ? start + size : hi;
    return *clo < *chi;
}

/*
 * Fetch what walking the child record (k) will read outside the child
 * array: an inner child's struct, an alias's target unless the record
 * carries it.
 */
static inline void fetch_kid(const struct mr_kid *k)
{
    const char *mr = NULL;

    if (k->kind == MR_ALIAS) {
        mr = (const char *)k->alias;
    } else if (k->inner) {
        mr = (const char *)k->mr;
    }
    if (mr) {
        /* The fields a walk reads (the struct's first 68 bytes), wherever
         * the struct starts: two lines. */
        __builtin_prefetch(mr);
        __builtin_prefetch(mr + 67);
    }
}

/*
 * The children of a region placed at (origin) and clipped to [lo, hi),
 * read from its child array: a terminal child or a direct alias becomes a
 * leaf from its record alone, another alias goes to its target, and only
 * an inner child's own struct is read (in a large tree, each of those
 * reads is a cache miss: they are fetched ahead).
 */
static void walk_kids(struct render *r, const struct mem_region *mr,
                      coord_t origin, coord_t lo, coord_t hi, bool readonly,
                      bool log, unsigned depth)
{
    uint32_t n = mr->nr_kids;

    for (uint32_t i = 0; i < n; i++) {
        const struct mr_kid *k = &mr->kids[i];
        coord_t start = origin + (coord_t)k->addr, klo, khi;

        /* Three steps ahead: the records themselves (each container's
         * array lies anywhere in memory), what the records point to, and
         * an inner child's own child array. */
        if (i + 2 * RENDER_PREFETCH_KIDS < n) {
            __builtin_prefetch(&mr->kids[i + 2 * RENDER_PREFETCH_KIDS]);
        }
        if (i + RENDER_PREFETCH_KIDS < n) {
            fetch_kid(&mr->kids[i + RENDER_PREFETCH_KIDS]);
        }
        if (i + RENDER_PREFETCH_KIDS / 2 < n &&
            mr->kids[i + RENDER_PREFETCH_KIDS / 2].inner) {
            __builtin_prefetch(mr->kids[i + RENDER_PREFETCH_KIDS / 2].mr->kids);
        }
        if (!k->shown) {
            continue;
        }
        if (k->inner) {
            walk(r, k->mr, start, lo, hi, readonly, log, depth + 1);
            continue;
        }
        if (k->direct && depth + 2 > RENDER_MAX_DEPTH) {
            /* Its target would be walked too deep: fails as walk() would
             * where the alias's own window shows. */
            if (clip(start, (coord_t)k->mr->size, lo, hi, &klo, &khi) &&
                !r->err) {
                r->err = -ELOOP;
                return;
            }
            continue;
        }
        if (!clip(start, (coord_t)k->last + 1, lo, hi, &klo, &khi) || r->err) {
            continue;
        }
        if (k->direct) {
            add_leaf(r, (gpa_t)klo, (gpa_t)(khi - 1),
                     start - (coord_t)k->alias_offset, k->alias, k->ops,
                     k->opaque, k->kind, readonly || k->readonly,
                     log || k->log_dirty);
            continue;
        }
        if (k->kind == MR_ALIAS) {
            /* The alias's own level, which walk() checks for a region it
             * enters. */
            if (depth + 1 > RENDER_MAX_DEPTH) {
                r->err = -ELOOP;
                return;
            }
            walk(r, k->alias, start - (coord_t)k->alias_offset, klo, khi,
                 readonly || k->readonly, log || k->log_dirty, depth + 2);
            continue;
        }
        add_leaf(r, (gpa_t)klo, (gpa_t)(khi - 1), start, k->mr, k->ops,
                 k->opaque, k->kind, readonly || k->readonly,
                 log || k->log_dirty);
    }
}

/* (mr), placed at (origin), clipped to [clip_lo, clip_hi). */
static void walk(struct render *r, struct mem_region *mr, coord_t origin,
                 coord_t clip_lo, coord_t clip_hi, bool readonly, bool log,
                 unsigned depth)
{
    coord_t lo, hi;

    if (!mr->enabled || mr->size == 0 || r->err) {
        return;
    }
    if (depth > RENDER_MAX_DEPTH) {
        r->err = -ELOOP;
        return;
    }
    if (!clip(origin, (coord_t)mr->size, clip_lo, clip_hi, &lo, &hi)) {
        return;
    }
    readonly |= mr->readonly;
    log |= mr->log_dirty;

    if (mr->kind == MR_ALIAS) {
        walk(r, mr->alias, origin - (coord_t)mr->alias_offset, lo, hi, readonly,
             log, depth + 1);
        return;
    }
    walk_kids(r, mr, origin, lo, hi, readonly, log, depth);
    if (mr->kind != MR_CONTAINER) {
        add_leaf(r, (gpa_t)lo, (gpa_t)(hi - 1), origin, mr, mr->ops, mr->opaque,
                 (uint8_t)mr->kind, readonly, log);
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

#define VIEW_HUGE (2u << 20)

/* What view_array() gives for (bytes). */
static size_t view_array_bytes(size_t bytes, size_t align)
{
    if (bytes >= VIEW_HUGE) {
        return (bytes + VIEW_HUGE - 1) & ~(size_t)(VIEW_HUGE - 1);
    }
    bytes = (bytes + align - 1) & ~(align - 1);
    return bytes ? bytes : align;
}

/*
 * The ranges array of the last large view freed, kept for the next render
 * of a view about as large: a render writes its view into fresh memory,
 * and fresh memory costs a page fault and the zeroing of a 2 MiB page per
 * 2 MiB, which a tree of 100,000 regions would otherwise pay at every
 * render (a seventh of its time). One array at most is kept.
 */
static struct {
    pthread_mutex_t lock;
    void *p;
    size_t bytes;
} spare = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The spare array if it has room for (*bytes) and is not much larger;
 * (*bytes) becomes its size. */
static void *spare_take(size_t *bytes)
{
    void *p = NULL;

    pthread_mutex_lock(&spare.lock);
    if (spare.p && spare.bytes >= *bytes && spare.bytes / 2 <= *bytes) {
        p = spare.p;
        *bytes = spare.bytes;
        spare.p = NULL;
    }
    pthread_mutex_unlock(&spare.lock);
    return p;
}

/* Keep (p), a view array of (bytes), as the spare (in place of the
 * previous one), or free it when small. */
static void spare_put(void *p, size_t bytes)
{
    void *old = p;

    if (bytes >= VIEW_HUGE) {
        pthread_mutex_lock(&spare.lock);
        old = spare.p;
        spare.p = p;
        spare.bytes = bytes;
        pthread_mutex_unlock(&spare.lock);
    }
    free(old);
}

/*
 * Memory for a view's arrays, aligned to (align), not zeroed (whoever
 * fills a view writes every element it counts; a render's upper bound of
 * ranges is twice what it uses, and zeroing it would cost more than the
 * render). Arrays of 2 MiB and more (views of tens of thousands of ranges)
 * are 2 MiB-aligned and asked for transparent huge pages: a lookup then
 * misses the TLB once instead of once per level.
 */
static void *view_array(size_t bytes, size_t align)
{
    void *p;

    bytes = view_array_bytes(bytes, align);
    if (bytes < VIEW_HUGE) {
        return aligned_alloc(align, bytes);
    }
    p = aligned_alloc(VIEW_HUGE, bytes);
    if (p) {
        (void)madvise(p, bytes, MADV_HUGEPAGE);
    }
    return p;
}

struct flatview *flatview_alloc(size_t cap)
{
    struct flatview_box *box = calloc(1, sizeof(*box));
    size_t bytes = view_array_bytes(cap * sizeof(struct flat_range), 64);

    if (!box) {
        return NULL;
    }
    if (cap) {
        box->fv.ranges = bytes >= VIEW_HUGE ? spare_take(&bytes) : NULL;
        if (!box->fv.ranges) {
            box->fv.ranges = view_array(bytes, 64);
        }
        if (!box->fv.ranges) {
            free(box);
            return NULL;
        }
        box->ranges_bytes = bytes;
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
    spare_put(fv->ranges, box->ranges_bytes);
    free(fv->index);
    free(box);
}

/* Write (fr) as the view's next range, past the cache (see emit()). */
static void put_range(struct flatview *fv, const struct flat_range *fr)
{
    const __m128i *src = (const __m128i *)fr;
    __m128i *dst = (__m128i *)&fv->ranges[fv->nr];

    _mm_stream_si128(dst, _mm_load_si128(src));
    _mm_stream_si128(dst + 1, _mm_load_si128(src + 1));
    _mm_stream_si128(dst + 2, _mm_load_si128(src + 2));
    _mm_stream_si128(dst + 3, _mm_load_si128(src + 3));
    _mm_stream_si64((long long *)&fv->index[fv->nr], (long long)fr->first);
    fv->nr++;
}

/*
 * Extend the range being built, (*cur), with [first, end) of (l), or put
 * it in the view and start the next. A large view does not fit in a cache:
 * its ranges are written whole, once, with stores that do not first read
 * the lines they fill.
 */
static void emit(struct flatview *fv, struct flat_range *cur, bool *open,
                 const struct leaf *l, coord_t first, coord_t end)
{
    uint64_t offset = (uint64_t)first - l->origin;

    if (*open && cur->mr == l->mr && (coord_t)cur->last + 1 == first &&
        cur->readonly == l->readonly && cur->log_dirty == l->log_dirty &&
        /* 128-bit: offsets near 2^64 must not wrap into a match. */
        (mr_size_t)cur->offset + (cur->last - cur->first) + 1 ==
            (mr_size_t)offset) {
        cur->last = (gpa_t)(end - 1);
        return;
    }
    if (*open) {
        put_range(fv, cur);
    }
    *open = true;
    *cur = (struct flat_range){
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
/* Views of fewer ranges (256 KiB of them) stay in the caches: a lookup
 * there does not fetch ahead. */
#define LOOKUP_PREFETCH_MIN 4096
#define INDEX_ALIGN 64

/*
 * Lay out the index of a view of (len) ranges in (fv): n + n/8 + n/64 +
 * ... keys, each level rounded up to whole blocks. Returns the number of
 * keys; it grows with (len).
 */
static size_t index_layout(struct flatview *fv, size_t len)
{
    size_t total = 0;
    unsigned l;

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
    return total ? total : INDEX_FANOUT;
}

/* Room for the index of a view of up to (cap) ranges, whose level 0 (each
 * range's first address) emit() writes: 0 or -ENOMEM. */
static int index_alloc(struct flatview *fv, size_t cap)
{
    fv->index =
        view_array(index_layout(fv, cap) * sizeof(*fv->index), INDEX_ALIGN);
    return fv->index ? 0 : -ENOMEM;
}

/* The index's levels above 0, once the view has all its ranges. */
static void index_finish(struct flatview *fv)
{
    size_t off, i;
    unsigned l;

    index_layout(fv, fv->nr);
    for (l = 1; l < fv->levels; l++) {
        const gpa_t *below = fv->index + fv->level_off[l - 1];

        off = fv->level_off[l];
        for (i = 0; i < fv->level_len[l]; i++) {
            fv->index[off + i] = below[i * INDEX_FANOUT];
        }
    }
}

int flatview_render(struct mem_region *root, mr_size_t limit,
                    struct flatview **out)
{
    struct render r = {0};
    struct event *tmp = NULL, *starts, *ends;
    struct heap h = {0};
    uint8_t *ended = NULL;
    struct flatview *fv = NULL;
    struct flat_range cur;
    bool open = false;
    size_t n, is = 0, ie = 0;
    int ret = -ENOMEM;

    walk(&r, root, 0, 0, (coord_t)limit, false, false, 0);
    if (r.err) {
        ret = r.err;
        goto out;
    }
    n = r.nr;
    /* Each leaf start can open at most one range, each end at most one. */
    fv = flatview_alloc(n ? 2 * n : 1);
    tmp = malloc((n ? n : 1) * sizeof(*tmp));
    h.v = malloc((n ? n : 1) * sizeof(*h.v));
    ended = calloc(n ? n : 1, 1);
    if (!fv || !tmp || !h.v || !ended || index_alloc(fv, n ? 2 * n : 1) < 0) {
        goto out;
    }
    /* The sorted arrays are either the walk's or (tmp): a pass that moves
     * (tmp) into its place hands back the walk's array as the next tmp. */
    starts = radix_sort(r.starts, tmp, n);
    tmp = starts == r.starts ? tmp : r.starts;
    ends = radix_sort(r.ends, tmp, n);
    tmp = ends == r.ends ? tmp : r.ends;
    r.starts = starts;
    r.ends = ends;

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
            emit(fv, &cur, &open, &r.leaves[h.v[0]], x, next);
        }
    }
    if (open) {
        put_range(fv, &cur);
    }
    /* The streamed stores are weakly ordered: done before the view is
     * published. */
    _mm_sfence();
    index_finish(fv);
    *out = fv;
    fv = NULL;
    ret = 0;
out:
    flatview_free(fv);
    free(ended);
    free(h.v);
    free(tmp);
    free(r.ends);
    free(r.starts);
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
        if (l == 0 && n >= LOOKUP_PREFETCH_MIN) {
            /* The range read next is one of the block's: fetch them all
             * while its keys load, so that a large view's lookup waits
             * for one miss here, not for two in a row. */
            for (size_t i = 0; i < len; i++) {
                __builtin_prefetch(&fv->ranges[start + i]);
            }
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
