/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage through the 64-bit boot protocol. Offsets are those of
 * Documentation/arch/x86/boot.rst (setup header, which starts at 0x1f1 in
 * both the file and the zero page) and zero-page.rst (the rest of struct
 * boot_params). Everything is checked and placed before the first write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "loader_bzimage.h"

/* Setup header fields (file offset == zero page offset). */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_HARDWARE_SUBARCH 0x23c
#define HDR_HARDWARE_SUBARCH_DATA 0x240
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
/* The first byte past what protocol 2.12 needs (init_size). */
#define HDR_NEEDED_END 0x264
/* struct boot_params keeps the header below its edd_mbr_sig_buffer. */
#define HDR_MAX_END 0x290

/* Zero page fields outside the setup header. */
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define ZP_SIZE 0x1000
#define E820_ENTRY_SIZE 20

#define BOOT_FLAG 0xaa55
#define MIN_VERSION 0x020c /* 2.12: xloadflags */
#define LOADED_HIGH 0x01
#define KASLR_FLAG 0x02
#define KEEP_SEGMENTS 0x40
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define TYPE_OF_LOADER_UNDEFINED 0xff
/* The 64-bit entry is this far into the protected-mode kernel. */
#define ENTRY64_OFFSET 0x200

#define SZ_1M 0x100000ull
#define SZ_16M 0x1000000ull
#define SZ_4G 0x100000000ull
#define PAGE_SIZE 0x1000ull

/* What the checks learnt; all placement is decided before writing. */
struct bz_plan {
    const uint8_t *img;
    size_t hdr_end;
    uint64_t setup_size;
    uint64_t kernel_len;
    uint32_t init_size;
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    uint64_t align;
    bool relocatable;
    uint64_t pref;
    gpa_t load;
    /* [load, window_end): the image and the room init_size asks for. */
    gpa_t window_end;
    size_t cmdline_len;
    gpa_t initrd;
};

bool loader_bzimage_detect(const void *img, size_t size)
{
    const uint8_t *p = img;

    return p && size >= HDR_MAGIC + 4 &&
           loader_get16(p + HDR_BOOT_FLAG) == BOOT_FLAG &&
           memcmp(p + HDR_MAGIC, "HdrS", 4) == 0;
}

#define HDR_KERNEL_VERSION 0x20e

int loader_bzimage_release(const void *img, size_t size, char *buf, size_t len)
{
    const uint8_t *p = img;

    if (len) {
        buf[0] = '\0';
    }
    if (!loader_bzimage_detect(img, size) || size < HDR_KERNEL_VERSION + 2 ||
        loader_get16(p + HDR_VERSION) < 0x200 ||
        loader_get16(p + HDR_KERNEL_VERSION) == 0) {
        return -ENOENT;
    }
    return loader_release_word(
        p, size, (size_t)loader_get16(p + HDR_KERNEL_VERSION) + 0x200, buf,
        len);
}

/* The real-mode part: signature, protocol version, setup header and
 * setup sectors, and the flags that say a 64-bit bzImage. */
static int bz_check_setup(const struct boot_input *in, struct bz_plan *pl,
                          char *why, size_t whylen)
{
    const uint8_t *p = in->image;
    uint16_t version;
    unsigned setup_sects;
    uint8_t loadflags;
    uint16_t xloadflags;

    if (!loader_bzimage_detect(p, in->size)) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "not a bzImage (no HdrS signature and boot flag "
                           "0x%x)",
                           BOOT_FLAG);
    }
    if (in->size < HDR_NEEDED_END) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated bzImage: %zu bytes, too short for the "
                           "setup header",
                           in->size);
    }
    version = loader_get16(p + HDR_VERSION);
    if (version < MIN_VERSION) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "boot protocol %u.%02u is too old: the 64-bit "
                           "entry needs 2.12 or later",
                           version >> 8, version & 0xff);
    }
    /* boot.rst: the header ends at 0x202 + the byte at 0x201. */
    pl->hdr_end = HDR_MAGIC + (size_t)p[HDR_JUMP + 1];
    if (pl->hdr_end < HDR_NEEDED_END) {
        return loader_fail(why, whylen, -EINVAL,
                           "setup header ends at 0x%zx, before init_size "
                           "(0x%x)",
                           pl->hdr_end, HDR_INIT_SIZE);
    }
    if (pl->hdr_end > HDR_MAX_END) {
        pl->hdr_end = HDR_MAX_END;
    }
    setup_sects = p[HDR_SETUP_SECTS];
    if (setup_sects == 0) {
        setup_sects = 4; /* boot.rst: 0 means 4 */
    }
    pl->setup_size = ((uint64_t)setup_sects + 1) * 512;
    if (in->size < pl->setup_size || pl->setup_size < pl->hdr_end) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated bzImage: %zu bytes, but the setup "
                           "alone (%u sectors) takes %llu",
                           in->size, setup_sects + 1,
                           (unsigned long long)pl->setup_size);
    }
    loadflags = p[HDR_LOADFLAGS];
    if (!(loadflags & LOADED_HIGH)) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "loadflags 0x%x lack LOADED_HIGH: a zImage, "
                           "which loads at 0x10000",
                           loadflags);
    }
    xloadflags = loader_get16(p + HDR_XLOADFLAGS);
    if (!(xloadflags & XLF_KERNEL_64)) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "no 64-bit entry point (xloadflags 0x%x lack "
                           "XLF_KERNEL_64): a 32-bit kernel?",
                           xloadflags);
    }
    return 0;
}

/* The protected-mode kernel after the setup: its length (syssize), the
 * payload inside it, init_size, alignment and the fields placement uses. */
static int bz_check_kernel(const struct boot_input *in, struct bz_plan *pl,
                           char *why, size_t whylen)
{
    const uint8_t *p = in->image;
    uint64_t syssize_bytes, avail, payload_end;

    /* syssize counts 16-byte paragraphs; the last may be partial. */
    syssize_bytes = (uint64_t)loader_get32(p + HDR_SYSSIZE) * 16;
    avail = in->size - pl->setup_size;
    if (syssize_bytes == 0) {
        return loader_fail(why, whylen, -EINVAL,
                           "syssize is 0: no protected-mode kernel");
    }
    if (avail + 15 < syssize_bytes) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated bzImage: the protected-mode kernel "
                           "has %llu bytes (syssize), the file %llu after "
                           "the setup",
                           (unsigned long long)syssize_bytes,
                           (unsigned long long)avail);
    }
    /* Bytes past syssize (a signature, say) are not the kernel's. */
    pl->kernel_len = syssize_bytes < avail ? syssize_bytes : avail;
    if (pl->kernel_len <= ENTRY64_OFFSET) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated bzImage: the protected-mode kernel has "
                           "%llu bytes, too few to hold the 64-bit entry at "
                           "+0x%x",
                           (unsigned long long)pl->kernel_len,
                           (unsigned)ENTRY64_OFFSET);
    }
    payload_end = (uint64_t)loader_get32(p + HDR_PAYLOAD_OFFSET) +
                  loader_get32(p + HDR_PAYLOAD_LENGTH);
    if (payload_end > pl->kernel_len) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated bzImage: the compressed payload ends "
                           "at 0x%llx, past the protected-mode kernel "
                           "(0x%llx bytes)",
                           (unsigned long long)payload_end,
                           (unsigned long long)pl->kernel_len);
    }
    pl->init_size = loader_get32(p + HDR_INIT_SIZE);
    if (pl->init_size < pl->kernel_len) {
        return loader_fail(why, whylen, -EINVAL,
                           "init_size 0x%x is smaller than the kernel "
                           "(0x%llx bytes)",
                           pl->init_size, (unsigned long long)pl->kernel_len);
    }
    pl->relocatable = p[HDR_RELOCATABLE] != 0;
    pl->align = loader_get32(p + HDR_KERNEL_ALIGNMENT);
    if (pl->relocatable &&
        (pl->align < PAGE_SIZE || (pl->align & (pl->align - 1)) != 0)) {
        return loader_fail(why, whylen, -EINVAL,
                           "kernel_alignment 0x%llx is not a power of two "
                           "of at least 4 KiB",
                           (unsigned long long)pl->align);
    }
    pl->pref = loader_get64(p + HDR_PREF_ADDRESS);
    pl->cmdline_size = loader_get32(p + HDR_CMDLINE_SIZE);
    pl->initrd_addr_max = loader_get32(p + HDR_INITRD_ADDR_MAX);
    pl->img = p;
    return 0;
}

static int bz_check_header(const struct boot_input *in, struct bz_plan *pl,
                           char *why, size_t whylen)
{
    int r = bz_check_setup(in, pl, why, whylen);

    return r < 0 ? r : bz_check_kernel(in, pl, why, whylen);
}

/*
 * The end of the memory the kernel uses when loaded at (load), or 0 when
 * that end is past 4 GiB. boot.rst: a relocatable kernel first moves up
 * to pref_address if loaded below it, then runs at the next multiple of
 * kernel_alignment, and needs init_size bytes from there.
 */
static uint64_t bz_window_end(const struct bz_plan *pl, gpa_t load)
{
    uint64_t start = load;

    if (pl->relocatable) {
        start = load > pl->pref ? load : pl->pref;
        start = (start + pl->align - 1) & ~(pl->align - 1);
    }
    if (start > SZ_4G || SZ_4G - start < pl->init_size) {
        return 0;
    }
    return start + pl->init_size;
}

static bool bz_fits(const struct loader_ctx *ctx, const struct bz_plan *pl,
                    gpa_t load)
{
    uint64_t end = bz_window_end(pl, load);

    return load >= SZ_1M && end != 0 &&
           loader_ram_covers(ctx, load, end - load);
}

static int bz_place_kernel(const struct loader_ctx *ctx, struct bz_plan *pl,
                           char *why, size_t whylen)
{
    gpa_t floor = pl->pref > SZ_16M ? pl->pref : SZ_16M;

    if (pl->pref < SZ_4G && bz_fits(ctx, pl, pl->pref)) {
        pl->load = pl->pref;
        pl->window_end = bz_window_end(pl, pl->load);
        return 0;
    }
    if (!pl->relocatable) {
        return loader_fail(why, whylen, -ERANGE,
                           "kernel is not relocatable and its 0x%x bytes "
                           "(init_size) at pref_address 0x%llx are not in "
                           "RAM (%llu MiB below 4 GiB)",
                           pl->init_size, (unsigned long long)pl->pref,
                           (unsigned long long)(ctx->in->ram_below_4g >> 20));
    }
    /*
     * The lowest aligned RAM address at or above max(pref_address,
     * 16 MiB): below pref_address the kernel would move itself back up.
     */
    for (size_t i = 0; i < ctx->nr_e820 && floor < SZ_4G; i++) {
        const struct boot_e820 *e = &ctx->e820[i];
        gpa_t a = e->addr > floor ? e->addr : floor;

        if (e->type != E820_RAM || a > SZ_4G - pl->align) {
            continue;
        }
        a = (a + pl->align - 1) & ~(pl->align - 1);
        if (bz_fits(ctx, pl, a) && (pl->load == 0 || a < pl->load)) {
            pl->load = a;
        }
    }
    if (pl->load == 0) {
        return loader_fail(why, whylen, -ERANGE,
                           "kernel needs 0x%x bytes (init_size) of RAM at a "
                           "0x%llx-aligned address from 0x%llx below 4 GiB; "
                           "RAM below 4 GiB is %llu MiB",
                           pl->init_size, (unsigned long long)pl->align,
                           (unsigned long long)floor,
                           (unsigned long long)(ctx->in->ram_below_4g >> 20));
    }
    pl->window_end = bz_window_end(pl, pl->load);
    return 0;
}

static int bz_place_initrd(const struct loader_ctx *ctx, struct bz_plan *pl,
                           char *why, size_t whylen)
{
    const struct boot_input *in = ctx->in;
    const struct boot_module *m = &in->modules[0];
    struct loader_range kernel = {pl->load, pl->window_end};
    /* initrd_addr_max is the last byte the initrd may occupy. */
    uint64_t limit = (uint64_t)pl->initrd_addr_max + 1;

    if (limit > in->ram_below_4g) {
        limit = in->ram_below_4g;
    }
    if (m->size > UINT32_MAX ||
        loader_place_high(ctx, m->size, PAGE_SIZE, SZ_1M, limit, &kernel, 1,
                          &pl->initrd) < 0) {
        return loader_fail(why, whylen, -ERANGE,
                           "initrd of %zu bytes does not fit in RAM below "
                           "0x%llx beside the kernel at 0x%llx-0x%llx",
                           m->size, (unsigned long long)limit,
                           (unsigned long long)pl->load,
                           (unsigned long long)(pl->window_end - 1));
    }
    return 0;
}

static void bz_build_zero_page(const struct loader_ctx *ctx,
                               const struct bz_plan *pl, uint8_t *zp)
{
    const struct boot_input *in = ctx->in;
    uint8_t loadflags;

    memset(zp, 0, ZP_SIZE);
    memcpy(zp + HDR_START, pl->img + HDR_START, pl->hdr_end - HDR_START);
    zp[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;
    /*
     * The real-mode setup code does not run: no heap for it. KASLR_FLAG
     * is the kernel's to set, KEEP_SEGMENTS belongs to the 32-bit entry.
     */
    loadflags = zp[HDR_LOADFLAGS];
    loadflags &= (uint8_t) ~(CAN_USE_HEAP | KASLR_FLAG | KEEP_SEGMENTS);
    zp[HDR_LOADFLAGS] = loadflags | LOADED_HIGH;
    loader_put16(zp + HDR_HEAP_END_PTR, 0);
    loader_put32(zp + HDR_CODE32_START, (uint32_t)pl->load);
    loader_put32(zp + HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_GPA);
    loader_put32(zp + ZP_EXT_CMD_LINE_PTR, (uint32_t)(BOOT_CMDLINE_GPA >> 32));
    if (in->nr_modules == 1) {
        loader_put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)pl->initrd);
        loader_put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(pl->initrd >> 32));
        loader_put32(zp + HDR_RAMDISK_SIZE, (uint32_t)in->modules[0].size);
        loader_put32(zp + ZP_EXT_RAMDISK_SIZE, 0);
    } else {
        loader_put32(zp + HDR_RAMDISK_IMAGE, 0);
        loader_put32(zp + HDR_RAMDISK_SIZE, 0);
    }
    /* Nothing chained, a plain PC: a hostile image must not say otherwise. */
    loader_put64(zp + HDR_SETUP_DATA, 0);
    loader_put32(zp + HDR_HARDWARE_SUBARCH, 0);
    loader_put64(zp + HDR_HARDWARE_SUBARCH_DATA, 0);
    /* Where the machine's ACPI tables are (0: none; Linux then scans). */
    loader_put64(zp + ZP_ACPI_RSDP_ADDR, in->rsdp_gpa);
    zp[ZP_E820_ENTRIES] = (uint8_t)ctx->nr_e820;
    for (size_t i = 0; i < ctx->nr_e820; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + i * E820_ENTRY_SIZE;

        loader_put64(e, ctx->e820[i].addr);
        loader_put64(e + 8, ctx->e820[i].size);
        loader_put32(e + 16, ctx->e820[i].type);
    }
}

int loader_bzimage_load(const struct boot_input *in, struct boot_entry *out,
                        char *why, size_t whylen)
{
    const char *cmdline = in && in->cmdline ? in->cmdline : "";
    struct loader_ctx ctx;
    struct bz_plan pl;
    uint8_t *zp;
    int r;

    r = loader_input_check(in, out, &ctx, why, whylen);
    if (r < 0) {
        return r;
    }
    memset(&pl, 0, sizeof(pl));
    r = bz_check_header(in, &pl, why, whylen);
    if (r < 0) {
        return r;
    }
    if (in->nr_modules > 1) {
        return loader_fail(why, whylen, -E2BIG,
                           "a bzImage takes one initrd, not %zu modules",
                           in->nr_modules);
    }
    pl.cmdline_len = strlen(cmdline);
    if (pl.cmdline_len > pl.cmdline_size) {
        return loader_fail(why, whylen, -ERANGE,
                           "cmdline of %zu bytes beyond the kernel's limit "
                           "of %u",
                           pl.cmdline_len, pl.cmdline_size);
    }
    if (pl.cmdline_len >= BOOT_INFO_END - BOOT_CMDLINE_GPA) {
        return loader_fail(why, whylen, -ERANGE,
                           "cmdline of %zu bytes beyond the limit of %llu",
                           pl.cmdline_len,
                           BOOT_INFO_END - BOOT_CMDLINE_GPA - 1);
    }
    r = bz_place_kernel(&ctx, &pl, why, whylen);
    if (r < 0) {
        return r;
    }
    if (in->nr_modules == 1) {
        r = bz_place_initrd(&ctx, &pl, why, whylen);
        if (r < 0) {
            return r;
        }
    }
    zp = malloc(ZP_SIZE);
    if (!zp) {
        return loader_fail(why, whylen, -ENOMEM, "no memory for a zero page");
    }
    bz_build_zero_page(&ctx, &pl, zp);

    r = in->write(in->opaque, pl.load, pl.img + pl.setup_size,
                  (size_t)pl.kernel_len);
    if (r < 0) {
        loader_fail(why, whylen, r, "writing the kernel at 0x%llx failed",
                    (unsigned long long)pl.load);
        goto out;
    }
    r = in->write(in->opaque, BOOT_ZERO_PAGE_GPA, zp, ZP_SIZE);
    if (r < 0) {
        loader_fail(why, whylen, r, "writing the zero page failed");
        goto out;
    }
    r = in->write(in->opaque, BOOT_CMDLINE_GPA, cmdline, pl.cmdline_len + 1);
    if (r < 0) {
        loader_fail(why, whylen, r, "writing the cmdline failed");
        goto out;
    }
    if (in->nr_modules == 1 && in->modules[0].size > 0) {
        r = in->write(in->opaque, pl.initrd, in->modules[0].data,
                      in->modules[0].size);
        if (r < 0) {
            loader_fail(why, whylen, r, "writing the initrd at 0x%llx failed",
                        (unsigned long long)pl.initrd);
            goto out;
        }
    }
    *out = (struct boot_entry){
        .mode = BOOT_MODE_LONG64,
        .rip = pl.load + ENTRY64_OFFSET,
        .rsi = BOOT_ZERO_PAGE_GPA,
    };
out:
    free(zp);
    return r;
}
