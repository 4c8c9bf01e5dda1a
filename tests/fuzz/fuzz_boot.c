/* SPDX-License-Identifier: MIT */
/*
 * The loader targets' fake guest, boot inputs and outcome checks; see
 * fuzz_boot.h. Offsets into the boot structures are those of the
 * specifications the loaders cite (Linux boot.rst and zero-page.rst,
 * Xen's start_info.h, Multiboot 0.6.96), written out here rather than
 * taken from the loaders, so that the two sides are independent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_boot.h"
#include "loader_multiboot.h"
#include "loader_pvh.h"

#define SZ_1M 0x100000ull
#define SZ_4G 0x100000000ull
#define PAGE 0x1000ull
/* The largest module (the first; the others are smaller). */
#define MODULE_MAX (4u << 20)
/* A cmdline as long as the boot information area: too long for all. */
#define BIG_CMDLINE (BOOT_INFO_END - BOOT_INFO_GPA)

static uint8_t *mem;
static uint8_t *module_data;
static char *big_cmdline;
static char mid_cmdline[2049];
/* The multiboot cmdline expected: image name, a space, the cmdline. */
static char *mb_cmdline;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The E820_RAM entry of (b)'s map that holds (gpa), or NULL. */
static const struct boot_e820 *ram_at(const struct fuzz_boot *b, gpa_t gpa)
{
    for (size_t i = 0; i < b->nr_map; i++) {
        const struct boot_e820 *e = &b->map[i];

        if (e->type == E820_RAM && gpa >= e->addr && gpa - e->addr < e->size) {
            return e;
        }
    }
    return NULL;
}

/* Whether RAM of (b)'s map covers [gpa, gpa + len). */
static bool map_covers(const struct fuzz_boot *b, gpa_t gpa, uint64_t len)
{
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end)) {
        return false;
    }
    while (gpa < end) {
        const struct boot_e820 *e = ram_at(b, gpa);

        if (!e) {
            return false;
        }
        gpa = e->addr + e->size;
    }
    return true;
}

/* Whether this load wrote every byte of [gpa, gpa + len). */
static bool written(const struct fuzz_boot *b, gpa_t gpa, uint64_t len)
{
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end)) {
        return false;
    }
    if (b->w_full) {
        return end <= FUZZ_BOOT_MEM;
    }
    while (gpa < end) {
        unsigned i;

        for (i = 0; i < b->nr_w; i++) {
            if (gpa >= b->w[i].start && gpa < b->w[i].end) {
                break;
            }
        }
        if (i == b->nr_w) {
            return false;
        }
        gpa = b->w[i].end;
    }
    return true;
}

static void record(struct fuzz_boot *b, gpa_t start, gpa_t end)
{
    if (b->w_full) {
        return;
    }
    /* A loader places everything apart: no byte is written twice. */
    for (unsigned i = 0; i < b->nr_w; i++) {
        if (start < b->w[i].end && b->w[i].start < end) {
            fprintf(stderr,
                    "write 0x%llx-0x%llx overlaps earlier 0x%llx-0x%llx\n",
                    (unsigned long long)start, (unsigned long long)end,
                    (unsigned long long)b->w[i].start,
                    (unsigned long long)b->w[i].end);
        }
        FUZZ_CHECK(end <= b->w[i].start || start >= b->w[i].end);
    }
    if (b->nr_w && b->w[b->nr_w - 1].end == start) {
        b->w[b->nr_w - 1].end = end;
    } else if (b->nr_w == FUZZ_BOOT_MAX_RANGES) {
        b->w_full = true;
    } else {
        b->w[b->nr_w++] = (struct fuzz_boot_range){start, end};
    }
}

static int fake_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
{
    struct fuzz_boot *b = opaque;
    uint64_t end;

    b->writes++;
    if (b->fail_at && b->writes == b->fail_at) {
        return -EIO;
    }
    FUZZ_CHECK(buf != NULL || len == 0);
    FUZZ_CHECK(!__builtin_add_overflow(gpa, len, &end));
    if (end > b->in.ram_below_4g || !map_covers(b, gpa, len)) {
        fprintf(stderr, "write 0x%llx-0x%llx outside RAM\n",
                (unsigned long long)gpa, (unsigned long long)end);
    }
    /* Below the RAM size (the fake RAM holds it all) and in e820 RAM. */
    FUZZ_CHECK(end <= b->in.ram_below_4g && end <= FUZZ_BOOT_MEM);
    FUZZ_CHECK(map_covers(b, gpa, len));
    if (len) {
        record(b, gpa, end);
        memcpy(mem + gpa, buf, len);
    }
    return 0;
}

static void alloc_once(void)
{
    if (mem) {
        return;
    }
    mem = malloc(FUZZ_BOOT_MEM);
    module_data = malloc(MODULE_MAX);
    big_cmdline = malloc(BIG_CMDLINE + 1);
    mb_cmdline = malloc(BIG_CMDLINE + 64);
    FUZZ_CHECK(mem && module_data && big_cmdline && mb_cmdline);
    for (size_t i = 0; i < MODULE_MAX; i++) {
        module_data[i] = (uint8_t)(i * 13 + (i >> 12) + 5);
    }
    memset(big_cmdline, 'b', BIG_CMDLINE);
    big_cmdline[BIG_CMDLINE] = '\0';
    memset(mid_cmdline, 'a', sizeof(mid_cmdline) - 1);
    mid_cmdline[sizeof(mid_cmdline) - 1] = '\0';
}

static void add_entry(struct boot_e820 *map, size_t *n, uint64_t addr,
                      uint64_t size, uint32_t type)
{
    if (size) {
        map[(*n)++] = (struct boot_e820){addr, size, type};
    }
}

/*
 * The e820 map of (shape): 0 the PC's, 1 with the EBDA and a reserved
 * hole in high RAM at (hole), 2 with high RAM in two entries listed
 * backwards; shape 3 gives none and (map) gets the default loader.h
 * describes.
 */
static void build_map(struct fuzz_boot *b, unsigned shape, unsigned hole)
{
    uint64_t below = b->in.ram_below_4g, above = b->in.ram_above_4g;
    uint64_t hs = (1 + (hole & 31)) * SZ_1M,
             he = hs + (1 + (hole >> 5)) * SZ_1M;
    uint64_t mid = SZ_1M + (((below - SZ_1M) / 2) & ~(PAGE - 1));
    size_t n = 0;

    switch (shape) {
    case 0:
        add_entry(b->e820, &n, 0, 0xa0000, E820_RAM);
        add_entry(b->e820, &n, 0xf0000, 0x10000, E820_RESERVED);
        add_entry(b->e820, &n, SZ_1M, below - SZ_1M, E820_RAM);
        break;
    case 1:
        add_entry(b->e820, &n, 0, 0x9fc00, E820_RAM);
        add_entry(b->e820, &n, 0x9fc00, 0x400, E820_RESERVED);
        add_entry(b->e820, &n, 0xf0000, 0x10000, E820_RESERVED);
        hs = hs < below ? hs : below;
        he = he < below ? he : below;
        add_entry(b->e820, &n, SZ_1M, hs - SZ_1M, E820_RAM);
        add_entry(b->e820, &n, hs, he - hs, E820_RESERVED);
        add_entry(b->e820, &n, he, below - he, E820_RAM);
        break;
    case 2:
        add_entry(b->e820, &n, mid, below - mid, E820_RAM);
        add_entry(b->e820, &n, SZ_1M, mid - SZ_1M, E820_RAM);
        add_entry(b->e820, &n, 0xf0000, 0x10000, E820_RESERVED);
        add_entry(b->e820, &n, 0, 0xa0000, E820_RAM);
        break;
    default:
        add_entry(b->map, &b->nr_map, 0, below < 0xa0000 ? below : 0xa0000,
                  E820_RAM);
        add_entry(b->map, &b->nr_map, 0xf0000, 0x10000, E820_RESERVED);
        add_entry(b->map, &b->nr_map, SZ_1M, below - SZ_1M, E820_RAM);
        add_entry(b->map, &b->nr_map, SZ_4G, above, E820_RAM);
        return;
    }
    add_entry(b->e820, &n, SZ_4G, above, E820_RAM);
    memcpy(b->map, b->e820, n * sizeof(b->e820[0]));
    b->nr_map = n;
    b->in.e820 = b->e820;
    b->in.nr_e820 = n;
}

void fuzz_boot_setup(struct fuzz_boot *b, struct fuzz_in *in)
{
    static const char *const cmdlines[] = {NULL, "console=ttyS0 root=/dev/vda",
                                           mid_cmdline, NULL};
    unsigned flags = (unsigned)fuzz_take(in, 1);
    uint64_t below = SZ_1M + (fuzz_take(in, 2) % 0x3f01) * PAGE;
    size_t size0 = (size_t)fuzz_take(in, 3) & (MODULE_MAX - 1);
    unsigned sizes = (unsigned)fuzz_take(in, 1);
    unsigned fail = (unsigned)fuzz_take(in, 1);
    unsigned hole = (unsigned)fuzz_take(in, 1);
    unsigned misc = (unsigned)fuzz_take(in, 1);
    size_t mod_size[FUZZ_BOOT_MAX_MODULES] = {size0, (sizes & 0xf) * 0x1234u,
                                              (sizes >> 4) * 0x801u};

    alloc_once();
    memset(b, 0, sizeof(*b));
    b->in.ram_below_4g = below;
    b->in.ram_above_4g = (flags & 4) ? (1ull << 30) : 0;
    build_map(b, flags & 3, hole);
    b->in.cmdline =
        ((flags >> 3) & 3) == 3 ? big_cmdline : cmdlines[(flags >> 3) & 3];
    b->in.image_name = (flags & 0x80) ? NULL : "/boot/kernel";
    b->in.nr_modules = (flags >> 5) & 3;
    for (unsigned i = 0; i < FUZZ_BOOT_MAX_MODULES; i++) {
        b->mods[i] = (struct boot_module){
            .data = module_data,
            .size = mod_size[i],
            .cmdline = i == 1 ? "mod1 arg=1" : NULL,
            .name = i == 0 ? "initrd.img" : NULL,
        };
    }
    b->in.modules = b->mods;
    b->in.nr_cpus = 1 + (int)((misc >> 1) & 3);
    b->in.rsdp_gpa = (misc & 1) ? 0xe0000 : 0;
    b->fail_at = fail >= 0xf0 ? (fail & 0xf) + 1 : 0;
    /* Never NULL: an empty image is the loaders' to refuse. */
    b->in.image = in->n ? in->p : (const void *)"";
    b->in.size = in->n;
    b->in.write = fake_write;
    b->in.opaque = b;
    memset(&b->out, 0xa5, sizeof(b->out));
}

/* The string at (gpa) was written and is (want). */
static void check_string(const struct fuzz_boot *b, gpa_t gpa, const char *want)
{
    size_t len = strlen(want) + 1;

    FUZZ_CHECK(written(b, gpa, len));
    FUZZ_CHECK(memcmp(mem + gpa, want, len) == 0);
}

/* Module (i) was written at [gpa, gpa + size): page-aligned, in RAM. */
static void check_module(const struct fuzz_boot *b, unsigned i, gpa_t gpa,
                         uint64_t size)
{
    const struct boot_module *m = &b->mods[i];

    FUZZ_CHECK(size == m->size);
    FUZZ_CHECK(gpa % PAGE == 0 && gpa >= SZ_1M);
    FUZZ_CHECK(gpa <= SZ_4G && size <= SZ_4G - gpa);
    FUZZ_CHECK(map_covers(b, gpa, size));
    FUZZ_CHECK(written(b, gpa, size));
    FUZZ_CHECK(memcmp(mem + gpa, m->data, size) == 0);
}

/* The memory map of (nr) entries of (stride) bytes at (gpa) is (b)'s. */
static void check_map(const struct fuzz_boot *b, gpa_t gpa, size_t nr,
                      unsigned stride, unsigned skip)
{
    FUZZ_CHECK(nr == b->nr_map);
    FUZZ_CHECK(written(b, gpa, nr * stride));
    for (size_t i = 0; i < nr; i++) {
        const uint8_t *e = mem + gpa + i * stride + skip;

        FUZZ_CHECK(get64(e) == b->map[i].addr);
        FUZZ_CHECK(get64(e + 8) == b->map[i].size);
        FUZZ_CHECK(get32(e + 16) == b->map[i].type);
    }
}

static void check_bzimage(const struct fuzz_boot *b)
{
    const uint8_t *img = b->in.image;
    const uint8_t *zp = mem + BOOT_ZERO_PAGE_GPA;
    const char *cmdline = b->in.cmdline ? b->in.cmdline : "";
    uint64_t setup = ((uint64_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
    uint64_t sys = (uint64_t)get32(img + 0x1f4) * 16;
    uint64_t klen = sys < b->in.size - setup ? sys : b->in.size - setup;
    uint32_t init_size = get32(img + 0x260);
    uint64_t align = get32(img + 0x230), pref = get64(img + 0x258);
    uint64_t limit = (uint64_t)get32(img + 0x22c) + 1;
    gpa_t load = b->out.rip - 0x200, start = load, initrd;
    uint64_t initrd_size;

    FUZZ_CHECK(b->out.mode == BOOT_MODE_LONG64);
    FUZZ_CHECK(b->out.rsi == BOOT_ZERO_PAGE_GPA);
    FUZZ_CHECK(b->out.rax == 0 && b->out.rbx == 0);
    FUZZ_CHECK(b->in.nr_modules <= 1);
    /* The protected-mode kernel, copied to where it will run. */
    FUZZ_CHECK(b->out.rip >= 0x200 && load >= SZ_1M && load >= pref);
    FUZZ_CHECK(written(b, load, klen));
    FUZZ_CHECK(memcmp(mem + load, img + setup, klen) == 0);
    /* Its init_size window from where it will run: RAM below 4 GiB. */
    if (img[0x234]) {
        FUZZ_CHECK(load == pref || load % align == 0);
        start = (load > pref ? load : pref);
        start = (start + align - 1) & ~(align - 1);
    } else {
        FUZZ_CHECK(load == pref);
    }
    FUZZ_CHECK(start <= SZ_4G && init_size <= SZ_4G - start);
    FUZZ_CHECK(map_covers(b, load, start + init_size - load));
    /* The zero page as the kernel reads it. */
    FUZZ_CHECK(written(b, BOOT_ZERO_PAGE_GPA, PAGE));
    FUZZ_CHECK(get32(zp + 0x214) == load);
    FUZZ_CHECK(zp[0x210] == 0xff);
    FUZZ_CHECK((zp[0x211] & 0x01) && !(zp[0x211] & 0x80));
    FUZZ_CHECK(get32(zp + 0x228) == BOOT_CMDLINE_GPA && get32(zp + 0xc8) == 0);
    check_string(b, BOOT_CMDLINE_GPA, cmdline);
    FUZZ_CHECK(get64(zp + 0x250) == 0 && get32(zp + 0x23c) == 0);
    FUZZ_CHECK(get64(zp + 0x070) == b->in.rsdp_gpa);
    FUZZ_CHECK(zp[0x1e8] == b->nr_map);
    check_map(b, BOOT_ZERO_PAGE_GPA + 0x2d0, b->nr_map, 20, 0);
    initrd = get32(zp + 0x218) | (uint64_t)get32(zp + 0xc0) << 32;
    initrd_size = get32(zp + 0x21c) | (uint64_t)get32(zp + 0xc4) << 32;
    if (b->in.nr_modules == 0) {
        FUZZ_CHECK(initrd == 0 && initrd_size == 0);
        return;
    }
    check_module(b, 0, initrd, initrd_size);
    /* Below initrd_addr_max and the RAM below 4 GiB, clear of the
     * kernel's window. */
    limit = limit < b->in.ram_below_4g ? limit : b->in.ram_below_4g;
    FUZZ_CHECK(initrd + initrd_size <= limit);
    FUZZ_CHECK(initrd_size == 0 || initrd + initrd_size <= load ||
               initrd >= start + init_size);
}

static void check_pvh(const struct fuzz_boot *b)
{
    const uint8_t *si = mem + BOOT_INFO_GPA;
    const char *cmdline = b->in.cmdline ? b->in.cmdline : "";
    size_t nr = b->in.nr_modules;

    FUZZ_CHECK(b->out.mode == BOOT_MODE_PROT32);
    FUZZ_CHECK(b->out.rbx == BOOT_INFO_GPA);
    FUZZ_CHECK(b->out.rax == 0 && b->out.rsi == 0);
    FUZZ_CHECK(b->out.rip >= SZ_1M && b->out.rip < SZ_4G);
    /* hvm_start_info, version 1. */
    FUZZ_CHECK(written(b, BOOT_INFO_GPA, 56));
    FUZZ_CHECK(get32(si) == PVH_START_INFO_MAGIC);
    FUZZ_CHECK(get32(si + 4) == 1 && get32(si + 8) == 0);
    FUZZ_CHECK(get32(si + 12) == nr);
    FUZZ_CHECK(get64(si + 32) == b->in.rsdp_gpa);
    FUZZ_CHECK(get64(si + 24) < FUZZ_BOOT_MEM);
    check_string(b, get64(si + 24), cmdline);
    FUZZ_CHECK(get64(si + 40) < FUZZ_BOOT_MEM);
    check_map(b, get64(si + 40), get32(si + 48), 24, 0);
    if (nr == 0) {
        return;
    }
    FUZZ_CHECK(get64(si + 16) < FUZZ_BOOT_MEM);
    FUZZ_CHECK(written(b, get64(si + 16), nr * 32));
    for (unsigned i = 0; i < nr; i++) {
        const uint8_t *e = mem + get64(si + 16) + i * 32;

        check_module(b, i, get64(e), get64(e + 8));
        if (b->mods[i].cmdline) {
            FUZZ_CHECK(get64(e + 16) < FUZZ_BOOT_MEM);
            check_string(b, get64(e + 16), b->mods[i].cmdline);
        } else {
            FUZZ_CHECK(get64(e + 16) == 0);
        }
    }
}

/* RAM contiguous from (gpa) in (b)'s map ends here. */
static gpa_t contiguous_end(const struct fuzz_boot *b, gpa_t gpa)
{
    const struct boot_e820 *e;

    while ((e = ram_at(b, gpa)) != NULL) {
        gpa = e->addr + e->size;
    }
    return gpa;
}

static void check_multiboot(const struct fuzz_boot *b)
{
    const uint8_t *mbi = mem + BOOT_INFO_GPA;
    const char *name = b->in.image_name ? b->in.image_name : "";
    const char *cmdline = b->in.cmdline ? b->in.cmdline : "";
    const uint32_t want_flags = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 6 | 1u << 9;
    uint64_t upper = (contiguous_end(b, SZ_1M) - SZ_1M) >> 10;
    size_t nr = b->in.nr_modules;

    FUZZ_CHECK(b->out.mode == BOOT_MODE_PROT32);
    FUZZ_CHECK(b->out.rax == MULTIBOOT_BOOTLOADER_MAGIC);
    FUZZ_CHECK(b->out.rbx == BOOT_INFO_GPA && b->out.rsi == 0);
    FUZZ_CHECK(b->out.rip >= SZ_1M && b->out.rip < SZ_4G);
    /* The info block through boot_loader_name. */
    FUZZ_CHECK(written(b, BOOT_INFO_GPA, 68));
    FUZZ_CHECK((get32(mbi) & want_flags) == want_flags);
    FUZZ_CHECK(get32(mbi + 4) <= 640);
    FUZZ_CHECK(
        get32(mbi + 4) ==
        (contiguous_end(b, 0) >> 10 < 640 ? contiguous_end(b, 0) >> 10 : 640));
    FUZZ_CHECK(get32(mbi + 8) == (upper < UINT32_MAX ? upper : UINT32_MAX));
    strcpy(mb_cmdline, name);
    if (name[0] && cmdline[0]) {
        strcat(mb_cmdline, " ");
    }
    strcat(mb_cmdline, cmdline);
    check_string(b, get32(mbi + 16), mb_cmdline);
    FUZZ_CHECK(get32(mbi + 44) == b->nr_map * 24);
    check_map(b, get32(mbi + 48), b->nr_map, 24, 4);
    for (size_t i = 0; i < b->nr_map; i++) {
        FUZZ_CHECK(get32(mem + get32(mbi + 48) + i * 24) == 20);
    }
    check_string(b, get32(mbi + 64), "vmm");
    FUZZ_CHECK(get32(mbi + 20) == nr);
    FUZZ_CHECK(written(b, get32(mbi + 24), nr * 16));
    for (unsigned i = 0; i < nr; i++) {
        const uint8_t *e = mem + get32(mbi + 24) + i * 16;
        const struct boot_module *m = &b->mods[i];

        FUZZ_CHECK(get32(e + 4) >= get32(e));
        check_module(b, i, get32(e), get32(e + 4) - get32(e));
        check_string(b, get32(e + 8),
                     m->cmdline ? m->cmdline : (m->name ? m->name : ""));
    }
}

static bool listed(int ret, enum boot_format fmt)
{
    switch (fmt) {
    case BOOT_FORMAT_BZIMAGE:
    case BOOT_FORMAT_PVH:
    case BOOT_FORMAT_MULTIBOOT:
        return ret == -ENOEXEC || ret == -EINVAL || ret == -ERANGE ||
               ret == -E2BIG || ret == -ENOMEM;
    default:
        return ret == -ENOEXEC;
    }
}

static void check_rejected(const struct fuzz_boot *b, enum boot_format fmt,
                           int ret)
{
    struct boot_entry sentinel;

    memset(&sentinel, 0xa5, sizeof(sentinel));
    if (b->why[0] == '\0' || strchr(b->why, '\n')) {
        fprintf(stderr, "ret %d, why \"%s\"\n", ret, b->why);
    }
    FUZZ_CHECK(b->why[0] != '\0');
    FUZZ_CHECK(strchr(b->why, '\n') == NULL);
    FUZZ_CHECK(memcmp(&b->out, &sentinel, sizeof(sentinel)) == 0);
    if (b->fail_at && ret == -EIO) {
        /* The failing write was the last one. */
        FUZZ_CHECK(b->writes == b->fail_at);
        return;
    }
    if (!listed(ret, fmt) || b->writes) {
        fprintf(stderr, "ret %d after %u writes: %s\n", ret, b->writes, b->why);
    }
    FUZZ_CHECK(listed(ret, fmt));
    FUZZ_CHECK(b->writes == 0);
}

void fuzz_boot_check(const struct fuzz_boot *b, enum boot_format fmt, int ret)
{
    if (ret < 0) {
        check_rejected(b, fmt, ret);
        return;
    }
    FUZZ_CHECK(ret == 0);
    FUZZ_CHECK(fmt == BOOT_FORMAT_BZIMAGE || fmt == BOOT_FORMAT_PVH ||
               fmt == BOOT_FORMAT_MULTIBOOT);
    FUZZ_CHECK(b->writes > 0 && b->out.rsp == 0);
    /* The entry point is in what the load wrote. */
    if (!written(b, b->out.rip, 1)) {
        fprintf(stderr, "entry 0x%llx is not in what was written\n",
                (unsigned long long)b->out.rip);
    }
    FUZZ_CHECK(written(b, b->out.rip, 1));
    switch (fmt) {
    case BOOT_FORMAT_BZIMAGE:
        check_bzimage(b);
        break;
    case BOOT_FORMAT_PVH:
        check_pvh(b);
        break;
    default:
        check_multiboot(b);
        break;
    }
}
