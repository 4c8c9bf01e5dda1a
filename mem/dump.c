/* SPDX-License-Identifier: MIT */
/*
 * Dumps of the region tree and of FlatViews, as text (like QEMU's
 * "info mtree" and "info mtree -f") and as JSON. Addresses are printed as
 * hex strings in JSON too, because JSON numbers lose precision past 2^53.
 */
#include <inttypes.h>
#include <stdio.h>

#include "mem-internal.h"
#include "mem/dump.h"
#include "mem/region.h"
#include "util/json.h"

typedef __int128 coord_t;

/* Alias targets outside the tree, printed after it like QEMU does. */
#define DUMP_MAX_EXTRA 64

struct dump_ctx {
    FILE *f;
    const struct mem_region *root;
    const struct mem_region *extra[DUMP_MAX_EXTRA];
    unsigned nr_extra;
};

static const struct mem_region *mr_top(const struct mem_region *mr)
{
    while (mr->container) {
        mr = mr->container;
    }
    return mr;
}

static void note_alias_target(struct dump_ctx *d, const struct mem_region *mr)
{
    const struct mem_region *t = mr->alias;
    unsigned i;

    if (!t || mr_top(t) == d->root) {
        return;
    }
    t = mr_top(t);
    for (i = 0; i < d->nr_extra; i++) {
        if (d->extra[i] == t) {
            return;
        }
    }
    if (d->nr_extra < DUMP_MAX_EXTRA) {
        d->extra[d->nr_extra++] = t;
    }
}

/* The last byte of a region of (size) at (start): start - 1 when empty. */
static uint64_t last_byte(coord_t start, mr_size_t size)
{
    return (uint64_t)(start + (coord_t)size - 1);
}

static void mtree_text(struct dump_ctx *d, const struct mem_region *mr,
                       coord_t start, unsigned depth)
{
    const struct mem_region *c;
    uint32_t i;

    fprintf(d->f, "%*s%016" PRIx64 "-%016" PRIx64 " (prio %d, %s%s): %s",
            (int)(2 * depth), "", (uint64_t)start, last_byte(start, mr->size),
            mr->priority, mr_kind_name(mr->kind), mr->readonly ? ", ro" : "",
            mr->name);
    if (mr->alias) {
        coord_t t0 = (coord_t)mr->alias_offset;

        fprintf(d->f, " @%s %016" PRIx64 "-%016" PRIx64, mr->alias->name,
                (uint64_t)t0, last_byte(t0, mr->size));
        note_alias_target(d, mr);
    }
    fprintf(d->f, "%s%s\n", mr->enabled ? "" : " [disabled]",
            mr->log_dirty ? " [log]" : "");
    for (i = 0; i < mr->nr_kids; i++) {
        c = mr->kids[i].mr;
        mtree_text(d, c, start + (coord_t)c->addr, depth + 1);
    }
}

void mem_dump_mtree(FILE *f, struct address_space *as)
{
    struct dump_ctx d = {.f = f, .root = as->root};
    unsigned i;

    mem_begin(as->sys);
    fprintf(f, "address-space: %s\n", as->name);
    mtree_text(&d, as->root, 0, 1);
    /* Printing a target may find more targets: the list grows as we go. */
    for (i = 0; i < d.nr_extra; i++) {
        fprintf(f, "\nmemory-region: %s\n", d.extra[i]->name);
        mtree_text(&d, d.extra[i], 0, 1);
    }
    fputc('\n', f);
    mem_end_unchanged(as->sys);
}

static void mtree_json(struct dump_ctx *d, const struct mem_region *mr,
                       coord_t start)
{
    const struct mem_region *c;
    FILE *f = d->f;
    uint32_t i;

    fputs("{\"name\":", f);
    json_write_string(f, mr->name);
    fprintf(f,
            ",\"kind\":\"%s\",\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64
            "\",\"priority\":%d,\"enabled\":%s,\"readonly\":%s,"
            "\"log_dirty\":%s",
            mr_kind_name(mr->kind), (uint64_t)start, last_byte(start, mr->size),
            mr->priority, mr->enabled ? "true" : "false",
            mr->readonly ? "true" : "false", mr->log_dirty ? "true" : "false");
    if (mr->alias) {
        fputs(",\"alias\":{\"target\":", f);
        json_write_string(f, mr->alias->name);
        fprintf(f, ",\"offset\":\"0x%" PRIx64 "\"}", mr->alias_offset);
        note_alias_target(d, mr);
    }
    fputs(",\"subregions\":[", f);
    for (i = 0; i < mr->nr_kids; i++) {
        c = mr->kids[i].mr;
        mtree_json(d, c, start + (coord_t)c->addr);
        if (i + 1 < mr->nr_kids) {
            fputc(',', f);
        }
    }
    fputs("]}", f);
}

void mem_dump_mtree_json(FILE *f, struct address_space *as)
{
    struct dump_ctx d = {.f = f, .root = as->root};
    unsigned i;

    mem_begin(as->sys);
    fputs("{\"address_space\":", f);
    json_write_string(f, as->name);
    fputs(",\"tree\":", f);
    mtree_json(&d, as->root, 0);
    fputs(",\"aliased\":[", f);
    for (i = 0; i < d.nr_extra; i++) {
        mtree_json(&d, d.extra[i], 0);
        if (i + 1 < d.nr_extra) {
            fputc(',', f);
        }
    }
    fputs("]}\n", f);
    mem_end_unchanged(as->sys);
}

static void flatview_text(const struct flatview *fv, void *arg)
{
    FILE *f = arg;
    size_t i;

    for (i = 0; i < fv->nr; i++) {
        const struct flat_range *fr = &fv->ranges[i];

        fprintf(f, "  %016" PRIx64 "-%016" PRIx64 " (%s%s%s): %s", fr->first,
                fr->last, mr_kind_name(fr->mr->kind),
                fr->readonly ? ", ro" : "", fr->log_dirty ? ", log" : "",
                fr->mr->name);
        if (fr->offset) {
            fprintf(f, " @%016" PRIx64, fr->offset);
        }
        fputc('\n', f);
    }
}

void mem_dump_flatview(FILE *f, struct address_space *as)
{
    fprintf(f, "FlatView of \"%s\":\n", as->name);
    as_with_view(as, flatview_text, f);
    fputc('\n', f);
}

static void flatview_json(const struct flatview *fv, void *arg)
{
    FILE *f = arg;
    size_t i;

    for (i = 0; i < fv->nr; i++) {
        const struct flat_range *fr = &fv->ranges[i];

        fprintf(f,
                "%s{\"first\":\"0x%" PRIx64 "\",\"last\":\"0x%" PRIx64
                "\",\"region\":",
                i ? "," : "", fr->first, fr->last);
        json_write_string(f, fr->mr->name);
        fprintf(f,
                ",\"kind\":\"%s\",\"offset\":\"0x%" PRIx64
                "\",\"readonly\":%s,\"log_dirty\":%s}",
                mr_kind_name(fr->mr->kind), fr->offset,
                fr->readonly ? "true" : "false",
                fr->log_dirty ? "true" : "false");
    }
}

void mem_dump_flatview_json(FILE *f, struct address_space *as)
{
    fputs("{\"address_space\":", f);
    json_write_string(f, as->name);
    fputs(",\"ranges\":[", f);
    as_with_view(as, flatview_json, f);
    fputs("]}\n", f);
}
