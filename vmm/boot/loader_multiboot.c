/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 0.6.96 kernels, loaded the way QEMU's -kernel loads them.
 * Header and info block offsets are the specification's ("Header
 * layout", "Boot information format"). An a.out-kludge image becomes one
 * synthetic segment, so both kinds share the ELF segment checks and
 * writer. Everything is checked and placed before the first write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "loader_multiboot.h"

/* Header fields, from the magic. */
#define MH_FLAGS 4
#define MH_CHECKSUM 8
#define MH_HEADER_ADDR 12
#define MH_LOAD_ADDR 16
#define MH_LOAD_END_ADDR 20
#define MH_BSS_END_ADDR 24
#define MH_ENTRY_ADDR 28
#define MH_SIZE_MAGIC 12
#define MH_SIZE_ADDRS 32
#define MH_SIZE_VIDEO 48

#define MH_FLAG_PAGE_ALIGN (1u << 0)
#define MH_FLAG_MEMORY_INFO (1u << 1)
#define MH_FLAG_VIDEO_MODE (1u << 2)
#define MH_FLAG_AOUT_KLUDGE (1u << 16)
/* Bits 0-15 are requirements: a loader must refuse any it lacks. */
#define MH_REQUIRED_MASK 0xffffu
#define MH_KNOWN_REQUIRED                                                      \
    (MH_FLAG_PAGE_ALIGN | MH_FLAG_MEMORY_INFO | MH_FLAG_VIDEO_MODE)

/* Info block fields. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_BOOT_LOADER_NAME 64
/* Through the framebuffer fields of later 0.6.96 editions; all zero. */
#define MBI_SIZE 116

#define MBI_FLAG_MEM (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MODS (1u << 3)
#define MBI_FLAG_MMAP (1u << 6)
#define MBI_FLAG_BOOT_LOADER_NAME (1u << 9)

/* A module list entry: mod_start, mod_end (exclusive), string, pad. */
#define MOD_START 0
#define MOD_END 4
#define MOD_STRING 8
#define MOD_ENTRY_SIZE 16

/* A memory map entry: size (of the rest: 20), base_addr, length, type. */
#define MMAP_SIZE 0
#define MMAP_BASE 4
#define MMAP_LENGTH 12
#define MMAP_TYPE 20
#define MMAP_ENTRY_SIZE 24

#define BOOT_LOADER_NAME "vmm"

#define SZ_1M 0x100000ull
#define SZ_4G 0x100000000ull
#define PAGE_SIZE 0x1000ull

/* Where each piece goes; offsets are from BOOT_INFO_GPA. */
struct mb_plan {
    size_t hdr_off;
    uint32_t flags;
    struct loader_segs segs;
    uint64_t entry;
    gpa_t mod_gpa[BOOT_MAX_MODULES];
    uint64_t off_cmdline, off_name, off_mmap, off_mods;
    uint64_t off_modstr[BOOT_MAX_MODULES];
    uint64_t info_len;
};

static uint64_t page_align_up(uint64_t v)
{
    return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

int loader_multiboot_find_header(const void *img, size_t size, size_t *off,
                                 char *why, size_t whylen)
{
    const uint8_t *p = img;
    size_t limit = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
    int bad = -ENOENT;

    if (!p) {
        return loader_fail(why, whylen, -ENOENT, "no image");
    }
    for (size_t o = 0; o + 4 <= limit; o += 4) {
        uint32_t flags;
        size_t need;

        if (loader_get32(p + o) != MULTIBOOT_HEADER_MAGIC) {
            continue;
        }
        if (o + MH_SIZE_MAGIC > limit) {
            if (bad == -ENOENT) {
                bad = loader_fail(why, whylen, -ENOEXEC,
                                  "multiboot magic at 0x%zx, but the header "
                                  "runs past the first %zu bytes",
                                  o, limit);
            }
            continue;
        }
        flags = loader_get32(p + o + MH_FLAGS);
        if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags +
                       loader_get32(p + o + MH_CHECKSUM)) != 0) {
            /* Perhaps a stray magic in code or data: keep looking. */
            if (bad == -ENOENT) {
                bad = loader_fail(why, whylen, -ENOEXEC,
                                  "multiboot header at 0x%zx has a bad "
                                  "checksum",
                                  o);
            }
            continue;
        }
        need = MH_SIZE_MAGIC;
        if (flags & MH_FLAG_AOUT_KLUDGE) {
            need = MH_SIZE_ADDRS;
        }
        if (flags & MH_FLAG_VIDEO_MODE) {
            need = MH_SIZE_VIDEO;
        }
        if (o + need > limit) {
            return loader_fail(why, whylen, -ENOEXEC,
                               "multiboot header at 0x%zx (flags 0x%x) "
                               "needs %zu bytes and runs past the first %zu "
                               "bytes of the file",
                               o, flags, need, limit);
        }
        *off = o;
        return 0;
    }
    if (bad == -ENOENT) {
        loader_fail(why, whylen, -ENOENT,
                    "no multiboot header (magic 0x%x) in the first %u bytes",
                    MULTIBOOT_HEADER_MAGIC, MULTIBOOT_SEARCH);
    }
    return bad;
}

bool loader_multiboot_detect(const void *img, size_t size)
{
    size_t off;

    return loader_multiboot_find_header(img, size, &off, NULL, 0) == 0;
}

/* The a.out kludge: one segment from the header's addresses. */
static int mb_aout(const struct boot_input *in, struct mb_plan *pl, char *why,
                   size_t whylen)
{
    const uint8_t *h = (const uint8_t *)in->image + pl->hdr_off;
    uint32_t header_addr = loader_get32(h + MH_HEADER_ADDR);
    uint32_t load_addr = loader_get32(h + MH_LOAD_ADDR);
    uint32_t load_end = loader_get32(h + MH_LOAD_END_ADDR);
    uint32_t bss_end = loader_get32(h + MH_BSS_END_ADDR);
    uint32_t entry = loader_get32(h + MH_ENTRY_ADDR);
    uint64_t text_off, load_size, mem_size;

    if (load_addr > header_addr) {
        return loader_fail(why, whylen, -EINVAL,
                           "load_addr 0x%x is above header_addr 0x%x",
                           load_addr, header_addr);
    }
    if (header_addr - load_addr > pl->hdr_off) {
        return loader_fail(why, whylen, -EINVAL,
                           "load_addr 0x%x would start 0x%x bytes before the "
                           "header at file offset 0x%zx",
                           load_addr, header_addr - load_addr, pl->hdr_off);
    }
    text_off = pl->hdr_off - (header_addr - load_addr);
    if (load_end != 0) {
        if (load_end <= load_addr) {
            return loader_fail(why, whylen, -EINVAL,
                               "load_end_addr 0x%x is not above load_addr "
                               "0x%x",
                               load_end, load_addr);
        }
        load_size = load_end - load_addr;
        if (load_size > in->size - text_off) {
            return loader_fail(why, whylen, -EINVAL,
                               "truncated image: load_end_addr 0x%x needs "
                               "0x%llx bytes from file offset 0x%llx, the "
                               "file has %zu",
                               load_end, (unsigned long long)load_size,
                               (unsigned long long)text_off, in->size);
        }
    } else {
        load_size = in->size - text_off;
    }
    if (bss_end != 0) {
        if (bss_end < load_addr + load_size) {
            return loader_fail(why, whylen, -EINVAL,
                               "bss_end_addr 0x%x is below the end of the "
                               "loaded image 0x%llx",
                               bss_end,
                               (unsigned long long)(load_addr + load_size));
        }
        mem_size = bss_end - load_addr;
    } else {
        mem_size = load_size;
    }
    if (entry < load_addr || entry - load_addr >= mem_size) {
        return loader_fail(why, whylen, -EINVAL,
                           "entry_addr 0x%x is outside the image "
                           "0x%x-0x%llx",
                           entry, load_addr,
                           (unsigned long long)(load_addr + mem_size - 1));
    }
    memset(&pl->segs, 0, sizeof(pl->segs));
    pl->segs.nr = 1;
    pl->segs.seg[0] = (struct loader_seg){
        .paddr = load_addr,
        .vaddr = load_addr,
        .offset = text_off,
        .filesz = load_size,
        .memsz = mem_size,
    };
    pl->segs.lowest = load_addr;
    pl->segs.end = load_addr + mem_size;
    pl->entry = entry;
    return 0;
}

static int mb_elf(const struct boot_input *in, struct mb_plan *pl, char *why,
                  size_t whylen)
{
    uint64_t e;
    int r;

    r = loader_segs_parse(in->image, in->size, &pl->segs, why, whylen);
    if (r == -ENOEXEC) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "multiboot header without load addresses (flags "
                           "bit 16) in a file that is not an x86 ELF "
                           "executable");
    }
    if (r < 0) {
        return r;
    }
    /* Paging is off at entry: the entry must be a physical address. */
    e = pl->segs.entry;
    for (unsigned i = 0; i < pl->segs.nr; i++) {
        const struct loader_seg *s = &pl->segs.seg[i];

        if (e >= s->paddr && e - s->paddr < s->memsz) {
            pl->entry = e;
            return 0;
        }
    }
    for (unsigned i = 0; i < pl->segs.nr; i++) {
        const struct loader_seg *s = &pl->segs.seg[i];

        if (e >= s->vaddr && e - s->vaddr < s->memsz) {
            pl->entry = s->paddr + (e - s->vaddr);
            return 0;
        }
    }
    return loader_fail(why, whylen, -EINVAL,
                       "ELF entry point 0x%llx is in no loaded segment",
                       (unsigned long long)e);
}

static int mb_place_modules(const struct loader_ctx *ctx, struct mb_plan *pl,
                            char *why, size_t whylen)
{
    const struct boot_input *in = ctx->in;
    gpa_t next = page_align_up(pl->segs.end);

    for (size_t i = 0; i < in->nr_modules; i++) {
        const struct boot_module *m = &in->modules[i];

        if (next > SZ_4G || SZ_4G - next < m->size ||
            !loader_ram_covers(ctx, next, m->size)) {
            return loader_fail(why, whylen, -ERANGE,
                               "module %zu (%s) of %zu bytes does not fit in "
                               "RAM at 0x%llx, after the kernel (RAM below "
                               "4 GiB: %llu MiB)",
                               i, m->name ? m->name : "unnamed", m->size,
                               (unsigned long long)next,
                               (unsigned long long)(in->ram_below_4g >> 20));
        }
        pl->mod_gpa[i] = next;
        next = page_align_up(next + m->size);
    }
    return 0;
}

static const char *mb_module_string(const struct boot_module *m)
{
    if (m->cmdline) {
        return m->cmdline;
    }
    return m->name ? m->name : "";
}

static int mb_layout(const struct loader_ctx *ctx, struct mb_plan *pl,
                     size_t cmdline_len, char *why, size_t whylen)
{
    const struct boot_input *in = ctx->in;
    const uint64_t cap = BOOT_INFO_END - BOOT_INFO_GPA;
    struct loader_area a = {0, false};

    (void)loader_area_take(&a, MBI_SIZE, 8);
    pl->off_name = loader_area_take(&a, sizeof(BOOT_LOADER_NAME), 1);
    pl->off_mmap = loader_area_take(&a, ctx->nr_e820 * MMAP_ENTRY_SIZE, 8);
    pl->off_mods = loader_area_take(&a, in->nr_modules * MOD_ENTRY_SIZE, 8);
    if (cmdline_len >= cap - a.used) {
        return loader_fail(why, whylen, -ERANGE,
                           "cmdline of %zu bytes beyond the limit of %llu",
                           cmdline_len, (unsigned long long)(cap - a.used - 1));
    }
    pl->off_cmdline = loader_area_take(&a, cmdline_len + 1, 1);
    for (size_t i = 0; i < in->nr_modules; i++) {
        const char *s = mb_module_string(&in->modules[i]);

        pl->off_modstr[i] = loader_area_take(&a, strlen(s) + 1, 1);
    }
    if (a.full) {
        return loader_fail(why, whylen, -E2BIG,
                           "multiboot information (info block, memory map, "
                           "modules and strings) exceeds the %llu bytes at "
                           "0x%llx",
                           (unsigned long long)cap, BOOT_INFO_GPA);
    }
    pl->info_len = a.used;
    return 0;
}

static void mb_build_info(const struct loader_ctx *ctx,
                          const struct mb_plan *pl, const char *name,
                          const char *cmdline, uint8_t *b)
{
    const struct boot_input *in = ctx->in;
    uint64_t lower = loader_ram_contiguous_end(ctx, 0) >> 10;
    uint64_t upper = (loader_ram_contiguous_end(ctx, SZ_1M) - SZ_1M) >> 10;
    char *c = (char *)b + pl->off_cmdline;

    loader_put32(b + MBI_FLAGS, MBI_FLAG_MEM | MBI_FLAG_CMDLINE |
                                    MBI_FLAG_MODS | MBI_FLAG_MMAP |
                                    MBI_FLAG_BOOT_LOADER_NAME);
    loader_put32(b + MBI_MEM_LOWER, (uint32_t)(lower < 640 ? lower : 640));
    loader_put32(b + MBI_MEM_UPPER,
                 (uint32_t)(upper < UINT32_MAX ? upper : UINT32_MAX));
    loader_put32(b + MBI_CMDLINE, (uint32_t)(BOOT_INFO_GPA + pl->off_cmdline));
    loader_put32(b + MBI_MODS_COUNT, (uint32_t)in->nr_modules);
    loader_put32(b + MBI_MODS_ADDR, (uint32_t)(BOOT_INFO_GPA + pl->off_mods));
    loader_put32(b + MBI_MMAP_LENGTH,
                 (uint32_t)(ctx->nr_e820 * MMAP_ENTRY_SIZE));
    loader_put32(b + MBI_MMAP_ADDR, (uint32_t)(BOOT_INFO_GPA + pl->off_mmap));
    loader_put32(b + MBI_BOOT_LOADER_NAME,
                 (uint32_t)(BOOT_INFO_GPA + pl->off_name));
    memcpy(b + pl->off_name, BOOT_LOADER_NAME, sizeof(BOOT_LOADER_NAME));
    for (size_t i = 0; i < ctx->nr_e820; i++) {
        uint8_t *e = b + pl->off_mmap + i * MMAP_ENTRY_SIZE;

        loader_put32(e + MMAP_SIZE, MMAP_ENTRY_SIZE - 4);
        loader_put64(e + MMAP_BASE, ctx->e820[i].addr);
        loader_put64(e + MMAP_LENGTH, ctx->e820[i].size);
        loader_put32(e + MMAP_TYPE, ctx->e820[i].type);
    }
    for (size_t i = 0; i < in->nr_modules; i++) {
        uint8_t *e = b + pl->off_mods + i * MOD_ENTRY_SIZE;
        const char *s = mb_module_string(&in->modules[i]);

        loader_put32(e + MOD_START, (uint32_t)pl->mod_gpa[i]);
        loader_put32(e + MOD_END,
                     (uint32_t)(pl->mod_gpa[i] + in->modules[i].size));
        loader_put32(e + MOD_STRING,
                     (uint32_t)(BOOT_INFO_GPA + pl->off_modstr[i]));
        memcpy(b + pl->off_modstr[i], s, strlen(s) + 1);
    }
    /* QEMU's form: "<kernel path> <cmdline>", or either alone. */
    c[0] = '\0';
    strcat(c, name);
    if (name[0] && cmdline[0]) {
        strcat(c, " ");
    }
    strcat(c, cmdline);
}

int loader_multiboot_load(const struct boot_input *in, struct boot_entry *out,
                          char *why, size_t whylen)
{
    const char *cmdline = in && in->cmdline ? in->cmdline : "";
    const char *name = in && in->image_name ? in->image_name : "";
    struct loader_ctx ctx;
    struct mb_plan *pl;
    uint8_t *info = NULL;
    size_t cmdline_len;
    int r;

    r = loader_input_check(in, out, &ctx, why, whylen);
    if (r < 0) {
        return r;
    }
    pl = calloc(1, sizeof(*pl));
    if (!pl) {
        return loader_fail(why, whylen, -ENOMEM,
                           "no memory for a multiboot plan");
    }
    r = loader_multiboot_find_header(in->image, in->size, &pl->hdr_off, why,
                                     whylen);
    if (r == -ENOENT) {
        r = -ENOEXEC;
    }
    if (r < 0) {
        goto out;
    }
    pl->flags =
        loader_get32((const uint8_t *)in->image + pl->hdr_off + MH_FLAGS);
    if (pl->flags & MH_REQUIRED_MASK & ~MH_KNOWN_REQUIRED) {
        r = loader_fail(why, whylen, -ENOEXEC,
                        "multiboot header flags 0x%x require features "
                        "this loader lacks (0x%x)",
                        pl->flags,
                        pl->flags & MH_REQUIRED_MASK & ~MH_KNOWN_REQUIRED);
        goto out;
    }
    if (pl->flags & MH_FLAG_AOUT_KLUDGE) {
        r = mb_aout(in, pl, why, whylen);
    } else {
        r = mb_elf(in, pl, why, whylen);
    }
    if (r == 0) {
        r = loader_segs_check_placement(&ctx, &pl->segs, why, whylen);
    }
    if (r == 0) {
        r = mb_place_modules(&ctx, pl, why, whylen);
    }
    cmdline_len = strlen(name) + 1 + strlen(cmdline);
    if (r == 0) {
        r = mb_layout(&ctx, pl, cmdline_len, why, whylen);
    }
    if (r < 0) {
        goto out;
    }
    info = calloc(1, pl->info_len);
    if (!info) {
        r = loader_fail(why, whylen, -ENOMEM, "no memory for boot info");
        goto out;
    }
    mb_build_info(&ctx, pl, name, cmdline, info);

    r = loader_commit(in, &pl->segs, pl->mod_gpa, info, pl->info_len,
                      "multiboot info", why, whylen);
    if (r < 0) {
        goto out;
    }
    *out = (struct boot_entry){
        .mode = BOOT_MODE_PROT32,
        .rip = pl->entry,
        .rax = MULTIBOOT_BOOTLOADER_MAGIC,
        .rbx = BOOT_INFO_GPA,
    };
out:
    free(info);
    free(pl);
    return r;
}

int loader_multiboot_parse_modules(const char *spec,
                                   struct loader_multiboot_module_spec **out,
                                   size_t *nr, char *why, size_t whylen)
{
    struct loader_multiboot_module_spec *items;
    size_t n = 1, len, i = 0;
    const char *p;
    char *strs;

    if (!spec || !spec[0]) {
        return loader_fail(why, whylen, -EINVAL, "empty module list");
    }
    len = strlen(spec);
    for (p = spec; *p; p++) {
        if (p[0] == ',' && p[1] == ',') {
            p++;
        } else if (p[0] == ',') {
            n++;
        }
    }
    /* Each string is at most the spec plus a NUL; two per item. */
    items = malloc(n * sizeof(*items) + 2 * (len + n));
    if (!items) {
        return loader_fail(why, whylen, -ENOMEM, "no memory for %zu modules",
                           n);
    }
    strs = (char *)(items + n);
    p = spec;
    for (;;) {
        char *whole = strs, *path;
        size_t wlen = 0, plen;

        while (*p && !(p[0] == ',' && p[1] != ',')) {
            whole[wlen++] = *p;
            p += p[0] == ',' ? 2 : 1;
        }
        whole[wlen] = '\0';
        path = whole + wlen + 1;
        plen = strcspn(whole, " ");
        memcpy(path, whole, plen);
        path[plen] = '\0';
        strs = path + plen + 1;
        if (wlen == 0 || plen == 0) {
            /* Format first: (whole) lives in (items). */
            int r = wlen == 0
                        ? loader_fail(why, whylen, -EINVAL,
                                      "module list item %zu is empty", i + 1)
                        : loader_fail(why, whylen, -EINVAL,
                                      "module list item %zu (\"%s\") has no "
                                      "file name",
                                      i + 1, whole);

            free(items);
            return r;
        }
        items[i++] = (struct loader_multiboot_module_spec){path, whole};
        if (*p != ',') {
            break;
        }
        p++;
    }
    *out = items;
    *nr = i;
    return 0;
}
