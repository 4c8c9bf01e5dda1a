/* SPDX-License-Identifier: MIT */
/*
 * PVH direct boot. Layouts are those of Xen's public
 * arch-x86/hvm/start_info.h: struct hvm_start_info (56 bytes in version
 * 1), struct hvm_modlist_entry (32 bytes) and struct
 * hvm_memmap_table_entry (24 bytes), all little-endian with natural
 * alignment. Everything is checked and placed before the first write.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "loader_pvh.h"

/* struct hvm_start_info */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_FLAGS 8
#define SI_NR_MODULES 12
#define SI_MODLIST_PADDR 16
#define SI_CMDLINE_PADDR 24
#define SI_RSDP_PADDR 32
#define SI_MEMMAP_PADDR 40
#define SI_MEMMAP_ENTRIES 48
#define SI_RESERVED 52
#define SI_SIZE 56
#define SI_VERSION_MEMMAP 1

/* struct hvm_modlist_entry */
#define ML_PADDR 0
#define ML_SIZE 8
#define ML_CMDLINE_PADDR 16
#define ML_ENTRY_SIZE 32

/* struct hvm_memmap_table_entry */
#define MM_ADDR 0
#define MM_SIZE 8
#define MM_TYPE 16
#define MM_ENTRY_SIZE 24

#define SZ_1M 0x100000ull
#define SZ_4G 0x100000000ull
#define PAGE_SIZE 0x1000ull

/* Where each piece goes; offsets are from BOOT_INFO_GPA. */
struct pvh_plan {
    struct loader_segs segs;
    uint64_t entry;
    gpa_t mod_gpa[BOOT_MAX_MODULES];
    uint64_t off_modlist, off_memmap, off_cmdline;
    uint64_t off_modcmd[BOOT_MAX_MODULES];
    uint64_t info_len;
};

bool loader_pvh_detect(const void *img, size_t size)
{
    const uint8_t *desc;
    uint32_t descsz;

    return img &&
           loader_elf_find_note(img, size, "Xen", PVH_XEN_ELFNOTE_PHYS32_ENTRY,
                                &desc, &descsz, NULL, 0) == 0;
}

int loader_pvh_release(const void *img, size_t size, char *buf, size_t len)
{
    static const char banner[] = "Linux version ";
    const uint8_t *p = img;
    size_t from = 0;

    if (len) {
        buf[0] = '\0';
    }
    if (!loader_pvh_detect(img, size)) {
        return -ENOENT;
    }
    while (from < size) {
        const uint8_t *hit =
            memmem(p + from, size - from, banner, sizeof(banner) - 1);
        size_t at;
        int ret;

        if (!hit) {
            break;
        }
        at = (size_t)(hit - p) + sizeof(banner) - 1;
        ret = loader_release_word(p, size, at, buf, len);
        /* linux_banner goes on with " (builder@host)". */
        if (ret == -ENOSPC || (ret == 0 && size - at - strlen(buf) >= 2 &&
                               memcmp(p + at + strlen(buf), " (", 2) == 0)) {
            return ret;
        }
        if (len) {
            buf[0] = '\0';
        }
        from = at;
    }
    return -ENOENT;
}

static int pvh_find_entry(const struct boot_input *in, struct pvh_plan *pl,
                          char *why, size_t whylen)
{
    const uint8_t *desc;
    uint32_t descsz;
    int r;

    r = loader_elf_find_note(in->image, in->size, "Xen",
                             PVH_XEN_ELFNOTE_PHYS32_ENTRY, &desc, &descsz, why,
                             whylen);
    if (r == -ENOENT) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "ELF without a PVH entry note (Xen, type %u)",
                           PVH_XEN_ELFNOTE_PHYS32_ENTRY);
    }
    if (r < 0) {
        return r;
    }
    /* A .long in some kernels, an _ASM_PTR (.quad) in 64-bit Linux. */
    if (descsz == 4) {
        pl->entry = loader_get32(desc);
    } else if (descsz == 8) {
        pl->entry = loader_get64(desc);
    } else {
        return loader_fail(why, whylen, -EINVAL,
                           "PVH entry note of %u bytes, expected 4 or 8",
                           descsz);
    }
    if (pl->entry >= SZ_4G) {
        return loader_fail(why, whylen, -EINVAL,
                           "PVH entry point 0x%llx is above 4 GiB",
                           (unsigned long long)pl->entry);
    }
    for (unsigned i = 0; i < pl->segs.nr; i++) {
        const struct loader_seg *s = &pl->segs.seg[i];

        if (pl->entry >= s->paddr && pl->entry - s->paddr < s->memsz) {
            return 0;
        }
    }
    return loader_fail(why, whylen, -EINVAL,
                       "PVH entry point 0x%llx is not in a loaded segment",
                       (unsigned long long)pl->entry);
}

static int pvh_place_modules(const struct loader_ctx *ctx, struct pvh_plan *pl,
                             char *why, size_t whylen)
{
    const struct boot_input *in = ctx->in;
    struct loader_range avoid[BOOT_MAX_MODULES + 1];
    size_t nr_avoid = 0;

    avoid[nr_avoid++] = (struct loader_range){pl->segs.lowest, pl->segs.end};
    for (size_t i = 0; i < in->nr_modules; i++) {
        const struct boot_module *m = &in->modules[i];

        if (loader_place_high(ctx, m->size, PAGE_SIZE, SZ_1M, SZ_4G, avoid,
                              nr_avoid, &pl->mod_gpa[i]) < 0) {
            return loader_fail(why, whylen, -ERANGE,
                               "module %zu (%s) of %zu bytes does not fit in "
                               "RAM below 4 GiB beside the kernel and the "
                               "modules before it",
                               i, m->name ? m->name : "unnamed", m->size);
        }
        avoid[nr_avoid++] =
            (struct loader_range){pl->mod_gpa[i], pl->mod_gpa[i] + m->size};
    }
    return 0;
}

static int pvh_layout(const struct loader_ctx *ctx, struct pvh_plan *pl,
                      const char *cmdline, char *why, size_t whylen)
{
    const struct boot_input *in = ctx->in;
    const uint64_t cap = BOOT_INFO_END - BOOT_INFO_GPA;
    struct loader_area a = {0, false};
    size_t cmdline_len = strlen(cmdline);

    (void)loader_area_take(&a, SI_SIZE, 8);
    pl->off_modlist = loader_area_take(&a, in->nr_modules * ML_ENTRY_SIZE, 8);
    pl->off_memmap = loader_area_take(&a, ctx->nr_e820 * MM_ENTRY_SIZE, 8);
    if (cmdline_len >= cap - a.used) {
        return loader_fail(why, whylen, -ERANGE,
                           "cmdline of %zu bytes beyond the limit of %llu",
                           cmdline_len, (unsigned long long)(cap - a.used - 1));
    }
    pl->off_cmdline = loader_area_take(&a, cmdline_len + 1, 1);
    for (size_t i = 0; i < in->nr_modules; i++) {
        const char *c = in->modules[i].cmdline;

        if (c) {
            pl->off_modcmd[i] = loader_area_take(&a, strlen(c) + 1, 1);
        }
    }
    if (a.full) {
        return loader_fail(why, whylen, -ERANGE,
                           "boot information (start info, module list, "
                           "memory map and strings) exceeds the %llu bytes "
                           "at 0x%llx",
                           (unsigned long long)cap, BOOT_INFO_GPA);
    }
    pl->info_len = a.used;
    return 0;
}

static void pvh_build_info(const struct loader_ctx *ctx,
                           const struct pvh_plan *pl, const char *cmdline,
                           uint8_t *b)
{
    const struct boot_input *in = ctx->in;

    loader_put32(b + SI_MAGIC, PVH_START_INFO_MAGIC);
    loader_put32(b + SI_VERSION, SI_VERSION_MEMMAP);
    loader_put32(b + SI_FLAGS, 0);
    loader_put32(b + SI_NR_MODULES, (uint32_t)in->nr_modules);
    loader_put64(b + SI_MODLIST_PADDR,
                 in->nr_modules ? BOOT_INFO_GPA + pl->off_modlist : 0);
    loader_put64(b + SI_CMDLINE_PADDR, BOOT_INFO_GPA + pl->off_cmdline);
    loader_put64(b + SI_RSDP_PADDR, in->rsdp_gpa);
    loader_put64(b + SI_MEMMAP_PADDR, BOOT_INFO_GPA + pl->off_memmap);
    loader_put32(b + SI_MEMMAP_ENTRIES, (uint32_t)ctx->nr_e820);
    loader_put32(b + SI_RESERVED, 0);
    for (size_t i = 0; i < in->nr_modules; i++) {
        const struct boot_module *m = &in->modules[i];
        uint8_t *e = b + pl->off_modlist + i * ML_ENTRY_SIZE;

        loader_put64(e + ML_PADDR, pl->mod_gpa[i]);
        loader_put64(e + ML_SIZE, m->size);
        if (m->cmdline) {
            loader_put64(e + ML_CMDLINE_PADDR,
                         BOOT_INFO_GPA + pl->off_modcmd[i]);
            memcpy(b + pl->off_modcmd[i], m->cmdline, strlen(m->cmdline) + 1);
        }
    }
    for (size_t i = 0; i < ctx->nr_e820; i++) {
        uint8_t *e = b + pl->off_memmap + i * MM_ENTRY_SIZE;

        loader_put64(e + MM_ADDR, ctx->e820[i].addr);
        loader_put64(e + MM_SIZE, ctx->e820[i].size);
        loader_put32(e + MM_TYPE, ctx->e820[i].type);
    }
    memcpy(b + pl->off_cmdline, cmdline, strlen(cmdline) + 1);
}

int loader_pvh_load(const struct boot_input *in, struct boot_entry *out,
                    char *why, size_t whylen)
{
    const char *cmdline = in && in->cmdline ? in->cmdline : "";
    struct loader_ctx ctx;
    struct pvh_plan *pl;
    uint8_t *info = NULL;
    int r;

    r = loader_input_check(in, out, &ctx, why, whylen);
    if (r < 0) {
        return r;
    }
    pl = calloc(1, sizeof(*pl));
    if (!pl) {
        return loader_fail(why, whylen, -ENOMEM, "no memory for a PVH plan");
    }
    r = loader_segs_parse(in->image, in->size, &pl->segs, why, whylen);
    if (r == 0) {
        r = pvh_find_entry(in, pl, why, whylen);
    }
    if (r == 0) {
        r = loader_segs_check_placement(&ctx, &pl->segs, why, whylen);
    }
    if (r == 0) {
        r = pvh_place_modules(&ctx, pl, why, whylen);
    }
    if (r == 0) {
        r = pvh_layout(&ctx, pl, cmdline, why, whylen);
    }
    if (r < 0) {
        goto out;
    }
    info = calloc(1, pl->info_len);
    if (!info) {
        r = loader_fail(why, whylen, -ENOMEM, "no memory for boot info");
        goto out;
    }
    pvh_build_info(&ctx, pl, cmdline, info);

    r = loader_commit(in, &pl->segs, pl->mod_gpa, info, pl->info_len,
                      "hvm_start_info", why, whylen);
    if (r < 0) {
        goto out;
    }
    *out = (struct boot_entry){
        .mode = BOOT_MODE_PROT32,
        .rip = pl->entry,
        .rbx = BOOT_INFO_GPA,
    };
out:
    free(info);
    free(pl);
    return r;
}
