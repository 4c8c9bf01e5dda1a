/* SPDX-License-Identifier: MIT */
/*
 * Format detection and dispatch, and the toolkit the loaders share: input
 * checks, the e820 map and placement in it, and a bounds-checked reader of
 * ELF32/ELF64 program headers and notes. Headers are copied out of the
 * image before use, so the buffer need not be aligned.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "elf_reader.h"
#include "loader.h"
#include "loader_bzimage.h"
#include "loader_elf.h"
#include "loader_multiboot.h"
#include "loader_pvh.h"

#define SZ_1M 0x100000ull
#define SZ_4G 0x100000000ull
#define LOW_RAM_END 0xa0000ull
#define BIOS_AREA 0xf0000ull

int loader_fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
        /* Messages quote names and specs from the user: keep them on one
         * line whatever those hold. */
        for (char *c = why; *c; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                *c = '?';
            }
        }
    }
    return err;
}

enum boot_format loader_detect(const void *img, size_t size)
{
    struct loader_elf_info info;

    if (!img || size == 0) {
        return BOOT_FORMAT_UNKNOWN;
    }
    if (loader_elf_probe(img, size, &info, NULL, 0) == 0 && info.test_guest) {
        return BOOT_FORMAT_TEST_GUEST;
    }
    if (loader_bzimage_detect(img, size)) {
        return BOOT_FORMAT_BZIMAGE;
    }
    if (loader_pvh_detect(img, size)) {
        return BOOT_FORMAT_PVH;
    }
    if (loader_multiboot_detect(img, size)) {
        return BOOT_FORMAT_MULTIBOOT;
    }
    return BOOT_FORMAT_UNKNOWN;
}

const char *loader_format_name(enum boot_format fmt)
{
    switch (fmt) {
    case BOOT_FORMAT_TEST_GUEST:
        return "test guest";
    case BOOT_FORMAT_BZIMAGE:
        return "bzImage";
    case BOOT_FORMAT_PVH:
        return "PVH";
    case BOOT_FORMAT_MULTIBOOT:
        return "multiboot";
    case BOOT_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

int loader_load_kernel(const struct boot_input *in, struct boot_entry *out,
                       char *why, size_t whylen)
{
    if (!in || !out) {
        return loader_fail(why, whylen, -EINVAL, "no boot input or output");
    }
    switch (in->format != BOOT_FORMAT_UNKNOWN
                ? in->format
                : loader_detect(in->image, in->size)) {
    case BOOT_FORMAT_BZIMAGE:
        return loader_bzimage_load(in, out, why, whylen);
    case BOOT_FORMAT_PVH:
        return loader_pvh_load(in, out, why, whylen);
    case BOOT_FORMAT_MULTIBOOT:
        return loader_multiboot_load(in, out, why, whylen);
    case BOOT_FORMAT_TEST_GUEST:
        return loader_fail(why, whylen, -ENOEXEC,
                           "a vmm test guest, not a kernel: it is loaded "
                           "with loader_elf_load()");
    case BOOT_FORMAT_UNKNOWN:
        break;
    }
    if (in->image) {
        size_t off;
        /*
         * A damaged multiboot header (bad checksum, past 8 KiB) deserves
         * its own words rather than "unknown format".
         */
        int r = loader_multiboot_find_header(in->image, in->size, &off, why,
                                             whylen);

        if (r < 0 && r != -ENOENT) {
            return r;
        }
    }
    if (in->image && loader_elf_is_x86(in->image, in->size)) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "x86 ELF without a PVH entry note (Xen, type %u) "
                           "or a multiboot header in its first %u bytes",
                           PVH_XEN_ELFNOTE_PHYS32_ENTRY, MULTIBOOT_SEARCH);
    }
    return loader_fail(why, whylen, -ENOEXEC,
                       "not a kernel vmm boots: no bzImage header (HdrS), "
                       "no x86 ELF with a PVH note, no multiboot header in "
                       "the first %u bytes",
                       MULTIBOOT_SEARCH);
}

size_t loader_e820_default(uint64_t ram_below_4g, uint64_t ram_above_4g,
                           struct boot_e820 *out, size_t max)
{
    struct boot_e820 map[4];
    size_t n = 0;

    if (ram_below_4g > 0) {
        map[n++] = (struct boot_e820){
            0, ram_below_4g < LOW_RAM_END ? ram_below_4g : LOW_RAM_END,
            E820_RAM};
    }
    if (ram_below_4g > BIOS_AREA) {
        map[n++] =
            (struct boot_e820){BIOS_AREA, SZ_1M - BIOS_AREA, E820_RESERVED};
    }
    if (ram_below_4g > SZ_1M) {
        map[n++] = (struct boot_e820){SZ_1M, ram_below_4g - SZ_1M, E820_RAM};
    }
    if (ram_above_4g > 0) {
        map[n++] = (struct boot_e820){SZ_4G, ram_above_4g, E820_RAM};
    }
    if (n > max) {
        n = max;
    }
    if (n > 0) {
        memcpy(out, map, n * sizeof(map[0]));
    }
    return n;
}

int loader_input_check(const struct boot_input *in,
                       const struct boot_entry *out, struct loader_ctx *ctx,
                       char *why, size_t whylen)
{
    uint64_t end;

    if (!out) {
        return loader_fail(why, whylen, -EINVAL, "no boot entry to fill");
    }
    if (!in || !ctx) {
        return loader_fail(why, whylen, -EINVAL, "no boot input");
    }
    if (!in->image || in->size == 0) {
        return loader_fail(why, whylen, -EINVAL, "empty kernel image");
    }
    if (!in->write) {
        return loader_fail(why, whylen, -EINVAL, "no write function");
    }
    if (in->ram_below_4g < SZ_1M) {
        return loader_fail(why, whylen, -ERANGE,
                           "%llu KiB of RAM below 4 GiB: kernels need at "
                           "least 1 MiB",
                           (unsigned long long)(in->ram_below_4g >> 10));
    }
    if (in->ram_below_4g > SZ_4G ||
        __builtin_add_overflow(SZ_4G, in->ram_above_4g, &end)) {
        return loader_fail(why, whylen, -EINVAL,
                           "impossible RAM layout: 0x%llx bytes below 4 GiB, "
                           "0x%llx above",
                           (unsigned long long)in->ram_below_4g,
                           (unsigned long long)in->ram_above_4g);
    }
    if (in->nr_modules > BOOT_MAX_MODULES) {
        return loader_fail(why, whylen, -E2BIG, "%zu modules: the limit is %u",
                           in->nr_modules, BOOT_MAX_MODULES);
    }
    if (in->nr_modules > 0 && !in->modules) {
        return loader_fail(why, whylen, -EINVAL, "%zu modules but no list",
                           in->nr_modules);
    }
    for (size_t i = 0; i < in->nr_modules; i++) {
        if (!in->modules[i].data && in->modules[i].size > 0) {
            return loader_fail(why, whylen, -EINVAL, "module %zu has no data",
                               i);
        }
    }
    memset(ctx, 0, sizeof(*ctx));
    ctx->in = in;
    if (!in->e820 || in->nr_e820 == 0) {
        ctx->nr_e820 = loader_e820_default(in->ram_below_4g, in->ram_above_4g,
                                           ctx->e820, BOOT_MAX_E820);
        return 0;
    }
    if (in->nr_e820 > BOOT_MAX_E820) {
        return loader_fail(why, whylen, -E2BIG,
                           "e820 map of %zu entries: the limit is %u",
                           in->nr_e820, BOOT_MAX_E820);
    }
    for (size_t i = 0; i < in->nr_e820; i++) {
        const struct boot_e820 *e = &in->e820[i];

        if (__builtin_add_overflow(e->addr, e->size, &end)) {
            return loader_fail(why, whylen, -EINVAL,
                               "e820 entry %zu (0x%llx+0x%llx) wraps around", i,
                               (unsigned long long)e->addr,
                               (unsigned long long)e->size);
        }
        ctx->e820[i] = *e;
    }
    ctx->nr_e820 = in->nr_e820;
    return 0;
}

/* The E820_RAM entry of (ctx) holding (gpa), or NULL. */
static const struct boot_e820 *ram_entry_at(const struct loader_ctx *ctx,
                                            gpa_t gpa)
{
    for (size_t i = 0; i < ctx->nr_e820; i++) {
        const struct boot_e820 *e = &ctx->e820[i];

        if (e->type == E820_RAM && gpa >= e->addr && gpa - e->addr < e->size) {
            return e;
        }
    }
    return NULL;
}

bool loader_ram_covers(const struct loader_ctx *ctx, gpa_t gpa, uint64_t len)
{
    uint64_t end;

    if (len == 0) {
        return true;
    }
    if (__builtin_add_overflow(gpa, len, &end)) {
        return false;
    }
    /* Entries may be adjacent or overlap: walk from one to the next. */
    while (gpa < end) {
        const struct boot_e820 *e = ram_entry_at(ctx, gpa);

        if (!e) {
            return false;
        }
        gpa = e->addr + e->size;
    }
    return true;
}

gpa_t loader_ram_contiguous_end(const struct loader_ctx *ctx, gpa_t gpa)
{
    const struct boot_e820 *e;

    /* Each step moves strictly up to an entry's end: at most nr_e820. */
    while ((e = ram_entry_at(ctx, gpa)) != NULL) {
        gpa = e->addr + e->size;
    }
    return gpa;
}

bool loader_overlaps(gpa_t a, uint64_t alen, gpa_t b, uint64_t blen)
{
    if (alen == 0 || blen == 0) {
        return false;
    }
    /* Written without a + alen, which may not be representable. */
    return a >= b ? a - b < blen : b - a < alen;
}

int loader_place_high(const struct loader_ctx *ctx, uint64_t size,
                      uint64_t align, gpa_t lo, gpa_t hi,
                      const struct loader_range *avoid, size_t nr_avoid,
                      gpa_t *out)
{
    bool found = false;
    gpa_t best = 0;

    for (size_t i = 0; i < ctx->nr_e820; i++) {
        const struct boot_e820 *e = &ctx->e820[i];
        gpa_t s = e->addr > lo ? e->addr : lo;
        gpa_t t = e->addr + e->size < hi ? e->addr + e->size : hi;
        gpa_t top = t;

        if (e->type != E820_RAM || t <= s) {
            continue;
        }
        /* Each conflict moves (top) strictly down, below an avoided range. */
        while (top >= s && top - s >= size) {
            gpa_t a = (top - size) & ~(align - 1);
            size_t j;

            if (a < s) {
                break;
            }
            for (j = 0; j < nr_avoid; j++) {
                if (loader_overlaps(a, size, avoid[j].start,
                                    avoid[j].end - avoid[j].start)) {
                    break;
                }
            }
            if (j == nr_avoid) {
                if (!found || a > best) {
                    best = a;
                    found = true;
                }
                break;
            }
            top = avoid[j].start;
        }
    }
    if (!found) {
        return -ENOSPC;
    }
    *out = best;
    return 0;
}

uint64_t loader_area_take(struct loader_area *a, uint64_t len, uint64_t align)
{
    const uint64_t cap = BOOT_INFO_END - BOOT_INFO_GPA;
    uint64_t off = (a->used + align - 1) & ~(align - 1);

    if (a->full || off > cap || cap - off < len) {
        a->full = true;
        return 0;
    }
    a->used = off + len;
    return off;
}

int loader_zero(boot_write_fn write, void *opaque, gpa_t gpa, uint64_t len)
{
    static const uint8_t zeros[4096];
    int r;

    while (len > 0) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);

        r = write(opaque, gpa, zeros, n);
        if (r < 0) {
            return r;
        }
        gpa += n;
        len -= n;
    }
    return 0;
}

int loader_write_zero(const struct boot_input *in, gpa_t gpa, uint64_t len)
{
    return loader_zero(in->write, in->opaque, gpa, len);
}

/* ---- ELF32/ELF64 ---- */

bool loader_elf_is_x86(const void *img, size_t size)
{
    struct elf_hdr h;

    return img && elf_read_hdr(img, size, ELF_CLASS_32 | ELF_CLASS_64, &h, NULL,
                               0) == 0;
}

/* What loader_elf_find_note() looks for, and where it puts it. */
struct note_query {
    const char *name;
    size_t namesz;
    uint32_t type;
    const uint8_t **desc;
    uint32_t *descsz;
};

static int note_match(void *opaque, const struct elf_note *n, char *why,
                      size_t whylen)
{
    const struct note_query *q = opaque;

    (void)why;
    (void)whylen;
    if (n->type != q->type || n->namesz != q->namesz ||
        memcmp(n->name, q->name, q->namesz) != 0) {
        return 0;
    }
    *q->desc = n->desc;
    *q->descsz = n->descsz;
    return 1;
}

int loader_elf_find_note(const void *img, size_t size, const char *name,
                         uint32_t type, const uint8_t **desc, uint32_t *descsz,
                         char *why, size_t whylen)
{
    const uint8_t *p = img;
    struct note_query q = {name, strlen(name) + 1, type, desc, descsz};
    struct elf_hdr h;
    struct elf_phdr ph;
    int r;

    r = elf_read_hdr(p, size, ELF_CLASS_32 | ELF_CLASS_64, &h, why, whylen);
    if (r < 0) {
        return r;
    }
    for (unsigned i = 0; i < h.phnum; i++) {
        elf_read_phdr(p, &h, i, &ph);
        if (ph.type != PT_NOTE) {
            continue;
        }
        r = elf_check_file_range(size, i, ph.offset, ph.filesz, why, whylen);
        if (r == 0) {
            r = elf_walk_notes(p, i, &ph, note_match, &q, why, whylen);
        }
        if (r != 0) {
            return r < 0 ? r : 0;
        }
    }
    return -ENOENT;
}

int loader_segs_parse(const void *img, size_t size, struct loader_segs *segs,
                      char *why, size_t whylen)
{
    const uint8_t *p = img;
    struct elf_hdr h;
    struct elf_phdr ph;
    int r;

    if (!img) {
        return loader_fail(why, whylen, -EINVAL, "no image");
    }
    r = elf_read_hdr(p, size, ELF_CLASS_32 | ELF_CLASS_64, &h, why, whylen);
    if (r < 0) {
        return r;
    }
    memset(segs, 0, sizeof(*segs));
    segs->is64 = h.is64;
    segs->entry = h.entry;
    for (unsigned i = 0; i < h.phnum; i++) {
        uint64_t end;

        elf_read_phdr(p, &h, i, &ph);
        if (ph.type == PT_INTERP) {
            return loader_fail(why, whylen, -ENOEXEC,
                               "a dynamically linked program, not a kernel");
        }
        if (ph.type != PT_LOAD) {
            continue;
        }
        if (ph.filesz > ph.memsz) {
            return loader_fail(why, whylen, -EINVAL,
                               "program header %u: p_filesz 0x%llx exceeds "
                               "p_memsz 0x%llx",
                               i, (unsigned long long)ph.filesz,
                               (unsigned long long)ph.memsz);
        }
        r = elf_check_file_range(size, i, ph.offset, ph.filesz, why, whylen);
        if (r < 0) {
            return r;
        }
        if (ph.memsz == 0) {
            continue;
        }
        if (__builtin_add_overflow(ph.paddr, ph.memsz, &end)) {
            return loader_fail(why, whylen, -ERANGE,
                               "program header %u: 0x%llx+0x%llx wraps around",
                               i, (unsigned long long)ph.paddr,
                               (unsigned long long)ph.memsz);
        }
        if (segs->nr == LOADER_MAX_SEGS) {
            return loader_fail(why, whylen, -E2BIG,
                               "more than %u PT_LOAD segments",
                               LOADER_MAX_SEGS);
        }
        for (unsigned j = 0; j < segs->nr; j++) {
            const struct loader_seg *o = &segs->seg[j];

            if (loader_overlaps(ph.paddr, ph.memsz, o->paddr, o->memsz)) {
                return loader_fail(
                    why, whylen, -EINVAL,
                    "program header %u: segment 0x%llx-0x%llx overlaps "
                    "segment 0x%llx-0x%llx",
                    i, (unsigned long long)ph.paddr,
                    (unsigned long long)(end - 1), (unsigned long long)o->paddr,
                    (unsigned long long)(o->paddr + o->memsz - 1));
            }
        }
        segs->seg[segs->nr++] = (struct loader_seg){
            ph.paddr, ph.vaddr, ph.offset, ph.filesz, ph.memsz, ph.flags};
        if (segs->nr == 1 || ph.paddr < segs->lowest) {
            segs->lowest = ph.paddr;
        }
        if (end > segs->end) {
            segs->end = end;
        }
    }
    if (segs->nr == 0) {
        return loader_fail(why, whylen, -EINVAL, "no PT_LOAD segment");
    }
    return 0;
}

int loader_segs_check_placement(const struct loader_ctx *ctx,
                                const struct loader_segs *segs, char *why,
                                size_t whylen)
{
    for (unsigned i = 0; i < segs->nr; i++) {
        const struct loader_seg *s = &segs->seg[i];
        /* loader_segs_parse() made sure this does not wrap. */
        gpa_t end = s->paddr + s->memsz;

        if (s->paddr < BOOT_KERNEL_MIN_GPA) {
            return loader_fail(why, whylen, -ERANGE,
                               "segment at 0x%llx is below 0x%llx, where the "
                               "VMM keeps boot structures",
                               (unsigned long long)s->paddr,
                               BOOT_KERNEL_MIN_GPA);
        }
        if (end > SZ_4G) {
            return loader_fail(why, whylen, -ERANGE,
                               "segment 0x%llx-0x%llx reaches above 4 GiB; "
                               "the kernel starts with paging off",
                               (unsigned long long)s->paddr,
                               (unsigned long long)(end - 1));
        }
        if (!loader_ram_covers(ctx, s->paddr, s->memsz)) {
            return loader_fail(
                why, whylen, -ERANGE,
                "segment 0x%llx-0x%llx is not in guest RAM "
                "(%llu MiB below 4 GiB)",
                (unsigned long long)s->paddr, (unsigned long long)(end - 1),
                (unsigned long long)(ctx->in->ram_below_4g >> 20));
        }
    }
    return 0;
}

int loader_segs_write(const struct boot_input *in,
                      const struct loader_segs *segs, char *why, size_t whylen)
{
    const uint8_t *p = in->image;
    int r;

    for (unsigned i = 0; i < segs->nr; i++) {
        const struct loader_seg *s = &segs->seg[i];

        if (s->filesz > 0) {
            r = in->write(in->opaque, s->paddr, p + s->offset,
                          (size_t)s->filesz);
            if (r < 0) {
                return loader_fail(why, whylen, r,
                                   "writing segment at 0x%llx failed",
                                   (unsigned long long)s->paddr);
            }
        }
        r = loader_write_zero(in, s->paddr + s->filesz, s->memsz - s->filesz);
        if (r < 0) {
            return loader_fail(why, whylen, r,
                               "zeroing segment at 0x%llx failed",
                               (unsigned long long)s->paddr);
        }
    }
    return 0;
}

int loader_modules_write(const struct boot_input *in, const gpa_t *mod_gpa,
                         char *why, size_t whylen)
{
    for (size_t i = 0; i < in->nr_modules; i++) {
        int r;

        if (in->modules[i].size == 0) {
            continue;
        }
        r = in->write(in->opaque, mod_gpa[i], in->modules[i].data,
                      in->modules[i].size);
        if (r < 0) {
            return loader_fail(why, whylen, r,
                               "writing module %zu at 0x%llx failed", i,
                               (unsigned long long)mod_gpa[i]);
        }
    }
    return 0;
}

int loader_commit(const struct boot_input *in, const struct loader_segs *segs,
                  const gpa_t *mod_gpa, const void *info, size_t info_len,
                  const char *info_name, char *why, size_t whylen)
{
    int r = loader_segs_write(in, segs, why, whylen);

    if (r == 0) {
        r = loader_modules_write(in, mod_gpa, why, whylen);
    }
    if (r == 0) {
        r = in->write(in->opaque, BOOT_INFO_GPA, info, info_len);
        if (r < 0) {
            loader_fail(why, whylen, r, "writing the %s failed", info_name);
        }
    }
    return r;
}

#define RELEASE_SCAN_MAX 256

int loader_release_word(const uint8_t *p, size_t size, size_t at, char *buf,
                        size_t len)
{
    size_t n;

    if (len) {
        buf[0] = '\0';
    }
    if (at >= size) {
        return -ENOENT;
    }
    for (n = 0; at + n < size && n < RELEASE_SCAN_MAX; n++) {
        uint8_t c = p[at + n];

        if (c == ' ' || c == '\0') {
            break;
        }
        /* Printable, and one path component (/lib/modules/<it>). */
        if (c < 0x21 || c > 0x7e || c == '/' || (n == 0 && c == '.')) {
            return -ENOENT;
        }
    }
    if (n == 0 || at + n == size || n == RELEASE_SCAN_MAX) {
        return -ENOENT;
    }
    if (n >= len) {
        return -ENOSPC;
    }
    memcpy(buf, p + at, n);
    buf[n] = '\0';
    return 0;
}
