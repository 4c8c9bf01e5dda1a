/* SPDX-License-Identifier: MIT */
/*
 * Kernel loader tests, no /dev/kvm: synthetic images built in memory (a
 * bzImage with a 4 KiB setup and a fake payload, PVH ELF64/ELF32 with the
 * Xen note, multiboot with the a.out kludge and as ELF32/ELF64) are loaded
 * into a fake 32 MiB guest through a recording write function, and the
 * loaded bytes, zero page, hvm_start_info, multiboot info and returned
 * entry state are checked field by field. Then tables of malformed
 * images per loader (truncated, wrong magic, old protocol, no 64-bit
 * entry, placement that cannot work, overlapping segments, oversized
 * cmdline, initrd or modules that do not fit, header past 8 KiB, bad
 * checksum): each must fail with its errno and a one-line reason, write
 * nothing and leave the entry alone. Also the multiboot module list
 * syntax, the MP table (checksums and entries for 1, 2, 8 and 254 CPUs),
 * format detection from bytes, dispatch, failing writes, and a seeded
 * mutation loop that must never crash (run under ASan+UBSan).
 * TEST_LOADERS_VERBOSE=1 prints every rejection and its reason.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "devices/testdev_abi.h"
#include "loader.h"
#include "loader_bzimage.h"
#include "loader_multiboot.h"
#include "loader_pvh.h"
#include "mptable.h"
#include "unit.h"

static unsigned unit_failures;

#define MIB (1ull << 20)
#define RAM_SIZE (32 * MIB)
#define IMG_CAP 0x4000
#define BIG_MODULE (40 * MIB)

/* ---- A fake guest ---- */

struct fake_guest {
    uint8_t *mem;
    uint64_t size;
    unsigned writes;
    /* Fail the write with this number (1-based); 0 for never. */
    unsigned fail_at;
    /* Writes outside [0, size): a loader bug. */
    unsigned stray;
};

static struct fake_guest guest;

static int fake_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
{
    struct fake_guest *g = opaque;

    g->writes++;
    if (g->fail_at && g->writes == g->fail_at) {
        return -EIO;
    }
    if (gpa > g->size || len > g->size - gpa) {
        g->stray++;
        return -EFAULT;
    }
    memcpy(g->mem + gpa, buf, len);
    return 0;
}

static void guest_reset(uint8_t fill)
{
    memset(guest.mem, fill, guest.size);
    guest.writes = 0;
    guest.fail_at = 0;
    guest.stray = 0;
}

static uint8_t rd8(gpa_t gpa)
{
    return guest.mem[gpa];
}

static uint16_t rd16(gpa_t gpa)
{
    return loader_get16(guest.mem + gpa);
}

static uint32_t rd32(gpa_t gpa)
{
    return loader_get32(guest.mem + gpa);
}

static uint64_t rd64(gpa_t gpa)
{
    return loader_get64(guest.mem + gpa);
}

static const char *rdstr(gpa_t gpa)
{
    if (gpa >= guest.size || !memchr(guest.mem + gpa, 0, guest.size - gpa)) {
        return "(not a string in RAM)";
    }
    return (const char *)guest.mem + gpa;
}

/* Whether [gpa, gpa + len) holds only (v). */
static bool all_bytes(gpa_t gpa, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++) {
        if (guest.mem[gpa + i] != v) {
            return false;
        }
    }
    return true;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(i * 7 + seed * 13 + 1);
    }
}

static struct boot_input base_input(const void *img, size_t size)
{
    return (struct boot_input){
        .image = img,
        .size = size,
        .image_name = "kernel.bin",
        .cmdline = "console=ttyS0",
        .ram_below_4g = RAM_SIZE,
        .nr_cpus = 1,
        .write = fake_write,
        .opaque = &guest,
    };
}

/* Module contents: one big zeroed buffer; small modules get a pattern. */
static uint8_t *module_data;
static uint8_t initrd_data[0x3000];
static uint8_t mod2_data[0x1800];

static const struct boot_entry entry_sentinel = {
    .mode = (enum boot_mode)77,
    .rip = 0x5a5a5a5a,
    .rsi = 1,
    .rbx = 2,
    .rax = 3,
    .rsp = 4,
};

/* Field by field: struct copies need not copy padding. */
static bool same_entry(const struct boot_entry *a, const struct boot_entry *b)
{
    return a->mode == b->mode && a->rip == b->rip && a->rsi == b->rsi &&
           a->rbx == b->rbx && a->rax == b->rax && a->rsp == b->rsp;
}

typedef int (*load_fn)(const struct boot_input *, struct boot_entry *, char *,
                       size_t);

/*
 * Load (in) with (fn) and expect (err) with (substr) in a one-line
 * reason, no write and an untouched entry.
 */
static void expect_reject(const char *what, load_fn fn,
                          const struct boot_input *in, int err,
                          const char *substr)
{
    struct boot_entry e = entry_sentinel;
    char why[256] = "";
    int r;

    guest.writes = 0;
    guest.stray = 0;
    r = fn(in, &e, why, sizeof(why));
    CHECK(r == err, "%s: got %d (%s), expected %d", what, r, why, err);
    CHECK(why[0] != '\0', "%s: no reason", what);
    CHECK(!strchr(why, '\n'), "%s: reason is not one line: %s", what, why);
    CHECK(!substr || strstr(why, substr), "%s: reason \"%s\" lacks \"%s\"",
          what, why, substr);
    if (getenv("TEST_LOADERS_VERBOSE")) {
        printf("%-40s %4d  %s\n", what, r, why);
    }
    CHECK(guest.writes == 0, "%s: %u writes for a rejected image", what,
          guest.writes);
    CHECK(same_entry(&e, &entry_sentinel), "%s: entry touched on failure",
          what);
}

/* ---- ELF images ---- */

struct t_seg {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
    uint32_t flags;
    uint64_t align;
};

/* Write an ELF header and program headers at 0 and 0x40 of (buf). */
static void elf_build(uint8_t *buf, bool is64, uint16_t machine, uint64_t entry,
                      const struct t_seg *segs, unsigned nr)
{
    if (is64) {
        Elf64_Ehdr eh = {0};

        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = machine;
        eh.e_version = EV_CURRENT;
        eh.e_entry = entry;
        eh.e_phoff = 0x40;
        eh.e_ehsize = sizeof(eh);
        eh.e_phentsize = sizeof(Elf64_Phdr);
        eh.e_phnum = (uint16_t)nr;
        memcpy(buf, &eh, sizeof(eh));
        for (unsigned i = 0; i < nr; i++) {
            Elf64_Phdr ph = {
                .p_type = segs[i].type,
                .p_flags = segs[i].flags,
                .p_offset = segs[i].offset,
                .p_vaddr = segs[i].vaddr,
                .p_paddr = segs[i].paddr,
                .p_filesz = segs[i].filesz,
                .p_memsz = segs[i].memsz,
                .p_align = segs[i].align,
            };

            memcpy(buf + 0x40 + i * sizeof(ph), &ph, sizeof(ph));
        }
    } else {
        Elf32_Ehdr eh = {0};

        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS32;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = machine;
        eh.e_version = EV_CURRENT;
        eh.e_entry = (uint32_t)entry;
        eh.e_phoff = 0x40;
        eh.e_ehsize = sizeof(eh);
        eh.e_phentsize = sizeof(Elf32_Phdr);
        eh.e_phnum = (uint16_t)nr;
        memcpy(buf, &eh, sizeof(eh));
        for (unsigned i = 0; i < nr; i++) {
            Elf32_Phdr ph = {
                .p_type = segs[i].type,
                .p_offset = (uint32_t)segs[i].offset,
                .p_vaddr = (uint32_t)segs[i].vaddr,
                .p_paddr = (uint32_t)segs[i].paddr,
                .p_filesz = (uint32_t)segs[i].filesz,
                .p_memsz = (uint32_t)segs[i].memsz,
                .p_flags = segs[i].flags,
                .p_align = (uint32_t)segs[i].align,
            };

            memcpy(buf + 0x40 + i * sizeof(ph), &ph, sizeof(ph));
        }
    }
}

/* Put a 4-byte-aligned note at (p); return its size. */
static size_t note_put(uint8_t *p, const char *name, uint32_t type,
                       const void *desc, uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    size_t name_pad = (namesz + 3u) & ~3u;
    size_t desc_pad = (descsz + 3u) & ~3u;

    loader_put32(p, namesz);
    loader_put32(p + 4, descsz);
    loader_put32(p + 8, type);
    memset(p + 12, 0, name_pad + desc_pad);
    memcpy(p + 12, name, namesz);
    memcpy(p + 12 + name_pad, desc, descsz);
    return 12 + name_pad + desc_pad;
}

/*
 * A PVH kernel: text (0x300 bytes at 1 MiB), data (0x100 bytes, memsz
 * 0x2000) at 0x101000, and the Xen note (entry 0x100040, (descsz) 4 or 8)
 * at file offset 0x180. Virtual addresses are Linux-like.
 */
#define PVH_TEXT 0x100000ull
#define PVH_DATA 0x101000ull
#define PVH_ENTRY 0x100040ull
#define PVH_SIZE 0x700
#define PVH_NOTE_OFF 0x180
#define PVH_TEXT_OFF 0x200
#define PVH_DATA_OFF 0x600

static size_t pvh_build(uint8_t *buf, bool is64, uint32_t descsz,
                        uint64_t entry)
{
    const uint64_t kva = is64 ? 0xffffffff80000000ull : 0xc0000000ull;
    uint8_t desc[8];
    size_t nsz;

    memset(buf, 0, IMG_CAP);
    loader_put64(desc, entry);
    nsz = note_put(buf + PVH_NOTE_OFF, "Xen", PVH_XEN_ELFNOTE_PHYS32_ENTRY,
                   desc, descsz);
    {
        const struct t_seg segs[] = {
            {PT_LOAD, PVH_TEXT_OFF, kva + PVH_TEXT, PVH_TEXT, 0x300, 0x300,
             PF_R | PF_X, 0x1000},
            {PT_LOAD, PVH_DATA_OFF, kva + PVH_DATA, PVH_DATA, 0x100, 0x2000,
             PF_R | PF_W, 0x1000},
            {PT_NOTE, PVH_NOTE_OFF, 0, 0, nsz, nsz, PF_R, 4},
        };

        elf_build(buf, is64, is64 ? EM_X86_64 : EM_386, kva + 0x1000000, segs,
                  3);
    }
    fill_pattern(buf + PVH_TEXT_OFF, 0x300, 1);
    fill_pattern(buf + PVH_DATA_OFF, 0x100, 2);
    return PVH_SIZE;
}

/* Offsets of program header (i) in an ELF64 image built above. */
#define PH64(i, field)                                                         \
    (0x40 + (i) * sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, field))

/* ---- bzImage ---- */

#define BZ_SETUP 0x1000
#define BZ_PAYLOAD 0x2000
#define BZ_SIZE (BZ_SETUP + BZ_PAYLOAD)
#define BZ_PREF 0x1000000ull
#define BZ_INIT_SIZE 0x100000u

static size_t bz_build(uint8_t *buf)
{
    memset(buf, 0, IMG_CAP);
    fill_pattern(buf, BZ_SETUP, 3);
    memset(buf + 0x1f1, 0, 0x290 - 0x1f1);
    buf[0x1f1] = BZ_SETUP / 512 - 1; /* setup_sects */
    loader_put32(buf + 0x1f4, BZ_PAYLOAD / 16);
    loader_put16(buf + 0x1fa, 0xffff); /* vid_mode */
    loader_put16(buf + 0x1fe, 0xaa55);
    buf[0x200] = 0xeb;
    buf[0x201] = 0x6a; /* header ends at 0x26c */
    memcpy(buf + 0x202, "HdrS", 4);
    loader_put16(buf + 0x206, 0x020f);
    buf[0x211] = 0x01 | 0x80; /* LOADED_HIGH, CAN_USE_HEAP */
    loader_put32(buf + 0x214, 0x100000);
    loader_put16(buf + 0x224, 0xde00);
    loader_put32(buf + 0x22c, 0x7fffffff);
    loader_put32(buf + 0x230, 0x200000);
    buf[0x234] = 1;
    buf[0x235] = 21;
    loader_put16(buf + 0x236, 0x3); /* XLF_KERNEL_64, above 4G */
    loader_put32(buf + 0x238, 2047);
    loader_put32(buf + 0x23c, 2); /* hardware_subarch: must be cleared */
    loader_put32(buf + 0x248, 0x100);
    loader_put32(buf + 0x24c, 0x1000);
    loader_put64(buf + 0x250, 0x12345678); /* setup_data: cleared */
    loader_put64(buf + 0x258, BZ_PREF);
    loader_put32(buf + 0x260, BZ_INIT_SIZE);
    fill_pattern(buf + BZ_SETUP, BZ_PAYLOAD, 4);
    return BZ_SIZE;
}

static void test_bzimage_ok(void)
{
    static uint8_t img[IMG_CAP];
    size_t size = bz_build(img);
    struct boot_module initrd = {initrd_data, sizeof(initrd_data), NULL,
                                 "initrd"};
    struct boot_input in = base_input(img, size);
    struct boot_entry e = entry_sentinel;
    char why[256] = "";
    gpa_t zp = BOOT_ZERO_PAGE_GPA, rd;
    int r;

    in.modules = &initrd;
    in.nr_modules = 1;
    guest_reset(0xaa);
    r = loader_bzimage_load(&in, &e, why, sizeof(why));
    CHECK(r == 0, "bzImage load: %d %s", r, why);
    CHECK(guest.stray == 0, "bzImage: writes outside RAM");
    CHECK(e.mode == BOOT_MODE_LONG64, "bzImage mode %d", e.mode);
    CHECK(e.rip == BZ_PREF + 0x200, "bzImage rip 0x%" PRIx64, e.rip);
    CHECK(e.rsi == BOOT_ZERO_PAGE_GPA, "bzImage rsi 0x%" PRIx64, e.rsi);
    CHECK(e.rax == 0 && e.rbx == 0 && e.rsp == 0, "bzImage: extra registers");
    CHECK(memcmp(guest.mem + BZ_PREF, img + BZ_SETUP, BZ_PAYLOAD) == 0,
          "bzImage: payload not at pref_address");
    CHECK(all_bytes(BZ_PREF + BZ_PAYLOAD, 0x100, 0xaa),
          "bzImage: wrote past the payload");
    /* The zero page: zero outside the header, the header copied. */
    CHECK(all_bytes(zp, 0x0c0, 0), "zero page head not zero");
    CHECK(memcmp(guest.mem + zp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1) == 0,
          "setup header not copied");
    CHECK(rd16(zp + 0x1fe) == 0xaa55 && rd16(zp + 0x206) == 0x020f,
          "boot flag/version");
    CHECK(rd8(zp + 0x210) == 0xff, "type_of_loader 0x%x", rd8(zp + 0x210));
    CHECK(rd8(zp + 0x211) == 0x01, "loadflags 0x%x", rd8(zp + 0x211));
    CHECK(rd32(zp + 0x214) == BZ_PREF, "code32_start 0x%x", rd32(zp + 0x214));
    CHECK(rd32(zp + 0x228) == BOOT_CMDLINE_GPA, "cmd_line_ptr 0x%x",
          rd32(zp + 0x228));
    CHECK(rd32(zp + 0x0c8) == 0, "ext_cmd_line_ptr");
    CHECK(strcmp(rdstr(BOOT_CMDLINE_GPA), "console=ttyS0") == 0,
          "cmdline \"%s\"", rdstr(BOOT_CMDLINE_GPA));
    CHECK(rd64(zp + 0x250) == 0, "setup_data not cleared");
    CHECK(rd32(zp + 0x23c) == 0, "hardware_subarch not cleared");
    CHECK(rd64(zp + 0x258) == BZ_PREF && rd32(zp + 0x260) == BZ_INIT_SIZE,
          "pref_address/init_size");
    rd = rd32(zp + 0x218) | (uint64_t)rd32(zp + 0x0c0) << 32;
    CHECK(rd32(zp + 0x21c) == sizeof(initrd_data) && rd32(zp + 0x0c4) == 0,
          "ramdisk_size 0x%x", rd32(zp + 0x21c));
    CHECK(rd == RAM_SIZE - sizeof(initrd_data), "initrd at 0x%" PRIx64, rd);
    CHECK((rd & 0xfff) == 0, "initrd not page-aligned");
    CHECK(rd < guest.size &&
              memcmp(guest.mem + rd, initrd_data, sizeof(initrd_data)) == 0,
          "initrd bytes");
    CHECK(!loader_overlaps(rd, sizeof(initrd_data), BZ_PREF, BZ_INIT_SIZE),
          "initrd overlaps the kernel");
    /* e820: the default map of 32 MiB. */
    CHECK(rd8(zp + 0x1e8) == 3, "e820_entries %u", rd8(zp + 0x1e8));
    CHECK(rd64(zp + 0x2d0) == 0 && rd64(zp + 0x2d8) == 0xa0000 &&
              rd32(zp + 0x2e0) == E820_RAM,
          "e820[0]");
    CHECK(rd64(zp + 0x2e4) == 0xf0000 && rd32(zp + 0x2f4) == E820_RESERVED,
          "e820[1]");
    CHECK(rd64(zp + 0x2f8) == MIB && rd64(zp + 0x300) == RAM_SIZE - MIB &&
              rd32(zp + 0x308) == E820_RAM,
          "e820[2]");

    /* Without initrd or cmdline. */
    in.modules = NULL;
    in.nr_modules = 0;
    in.cmdline = NULL;
    guest_reset(0xaa);
    r = loader_bzimage_load(&in, &e, why, sizeof(why));
    CHECK(r == 0, "bzImage without initrd: %d %s", r, why);
    CHECK(rd32(zp + 0x218) == 0 && rd32(zp + 0x21c) == 0, "phantom initrd");
    CHECK(rd8(BOOT_CMDLINE_GPA) == 0, "empty cmdline not written");

    /*
     * pref_address not in RAM (a hole at 20-24 MiB): relocated to the
     * next aligned address where the init_size window fits.
     */
    {
        const struct boot_e820 map[] = {
            {0, 0xa0000, E820_RAM},
            {MIB, 19 * MIB, E820_RAM},
            {20 * MIB, 4 * MIB, E820_RESERVED},
            {24 * MIB, 8 * MIB, E820_RAM},
        };

        loader_put32(img + 0x260, 8 * MIB);
        in = base_input(img, size);
        in.e820 = map;
        in.nr_e820 = 4;
        guest_reset(0);
        r = loader_bzimage_load(&in, &e, why, sizeof(why));
        CHECK(r == 0, "relocated bzImage: %d %s", r, why);
        CHECK(e.rip == 24 * MIB + 0x200, "relocated rip 0x%" PRIx64, e.rip);
        CHECK(rd32(zp + 0x214) == 24 * MIB, "relocated code32_start");
        CHECK(rd8(zp + 0x1e8) == 4 &&
                  rd32(zp + 0x2d0 + 2 * 20 + 16) == E820_RESERVED,
              "machine e820 not passed through");
        CHECK(memcmp(guest.mem + 24 * MIB, img + BZ_SETUP, BZ_PAYLOAD) == 0,
              "relocated payload");
    }
    /* Bytes past syssize (a signature) are not loaded. */
    {
        static uint8_t signed_img[IMG_CAP];

        memcpy(signed_img, img, size);
        loader_put32(signed_img + 0x260, BZ_INIT_SIZE);
        memset(signed_img + size, 0x77, 0x400);
        in = base_input(signed_img, size + 0x400);
        guest_reset(0xaa);
        r = loader_bzimage_load(&in, &e, why, sizeof(why));
        CHECK(r == 0, "signed bzImage: %d %s", r, why);
        CHECK(all_bytes(BZ_PREF + BZ_PAYLOAD, 0x400, 0xaa),
              "bytes past syssize were loaded");
    }
}

/* A bzImage case: patch (width) bytes at (off) with (val), then tweak. */
struct bz_bad {
    const char *name;
    size_t off;
    unsigned width;
    uint64_t val;
    size_t size; /* 0: whole image */
    const char *cmdline;
    size_t initrd;  /* bytes of initrd; 0: none */
    size_t nr_mods; /* 0: as initrd says */
    size_t nr_e820; /* entries of a too-long map; 0: default */
    uint64_t ram;   /* 0: RAM_SIZE */
    int err;
    const char *substr;
};

static void patch(uint8_t *img, size_t off, unsigned width, uint64_t val)
{
    switch (width) {
    case 1:
        img[off] = (uint8_t)val;
        break;
    case 2:
        loader_put16(img + off, (uint16_t)val);
        break;
    case 4:
        loader_put32(img + off, (uint32_t)val);
        break;
    case 8:
        loader_put64(img + off, val);
        break;
    default:
        break;
    }
}

static void test_bzimage_bad(void)
{
    static const struct bz_bad cases[] = {
        {"truncated to 0x100 bytes", 0, 0, 0, 0x100, NULL, 0, 0, 0, 0, -ENOEXEC,
         "not a bzImage"},
        {"truncated in the header", 0, 0, 0, 0x220, NULL, 0, 0, 0, 0, -EINVAL,
         "truncated"},
        {"truncated in the setup", 0, 0, 0, BZ_SETUP - 1, NULL, 0, 0, 0, 0,
         -EINVAL, "truncated"},
        {"truncated in the kernel", 0, 0, 0, BZ_SETUP + 0x1000, NULL, 0, 0, 0,
         0, -EINVAL, "truncated"},
        {"setup_sects past the end", 0x1f1, 1, 0xff, 0, NULL, 0, 0, 0, 0,
         -EINVAL, "truncated"},
        {"payload past the kernel", 0x24c, 4, 0x3000, 0, NULL, 0, 0, 0, 0,
         -EINVAL, "payload"},
        {"wrong magic", 0x202, 4, 0x54726448, 0, NULL, 0, 0, 0, 0, -ENOEXEC,
         "not a bzImage"},
        {"wrong boot flag", 0x1fe, 2, 0x55aa, 0, NULL, 0, 0, 0, 0, -ENOEXEC,
         "not a bzImage"},
        {"protocol 2.09", 0x206, 2, 0x0209, 0, NULL, 0, 0, 0, 0, -ENOEXEC,
         "2.09 is too old"},
        {"protocol 2.11", 0x206, 2, 0x020b, 0, NULL, 0, 0, 0, 0, -ENOEXEC,
         "too old"},
        {"no 64-bit entry", 0x236, 2, 0x2, 0, NULL, 0, 0, 0, 0, -ENOEXEC,
         "XLF_KERNEL_64"},
        {"not LOADED_HIGH", 0x211, 1, 0x80, 0, NULL, 0, 0, 0, 0, -ENOEXEC,
         "LOADED_HIGH"},
        {"header ends before init_size", 0x201, 1, 0x50, 0, NULL, 0, 0, 0, 0,
         -EINVAL, "before init_size"},
        {"syssize 0", 0x1f4, 4, 0, 0, NULL, 0, 0, 0, 0, -EINVAL, "syssize"},
        {"init_size below the kernel", 0x260, 4, 0x1000, 0, NULL, 0, 0, 0, 0,
         -EINVAL, "init_size"},
        {"kernel_alignment 3 MiB", 0x230, 4, 0x300000, 0, NULL, 0, 0, 0, 0,
         -EINVAL, "kernel_alignment"},
        {"kernel_alignment 0", 0x230, 4, 0, 0, NULL, 0, 0, 0, 0, -EINVAL,
         "kernel_alignment"},
        {"init_size beyond RAM", 0x260, 4, 64 * MIB, 0, NULL, 0, 0, 0, 0,
         -ERANGE, "init_size"},
        {"pref_address above 4 GiB", 0x258, 8, 0x100000000ull, 0, NULL, 0, 0, 0,
         0, -ERANGE, "init_size"},
        {"oversized cmdline", 0x238, 4, 16, 0, "console=ttyS0 earlyprintk", 0,
         0, 0, 0, -ERANGE,
         "cmdline of 25 bytes beyond the kernel's limit of "
         "16"},
        {"initrd above initrd_addr_max", 0x22c, 4, 0x1fffff, 0, NULL, 2 * MIB,
         0, 0, 0, -ERANGE, "initrd of 2097152 bytes does not fit"},
        {"initrd beyond RAM", 0, 0, 0, 0, NULL, BIG_MODULE, 0, 0, 0, -ERANGE,
         "initrd"},
        {"two initrds", 0, 0, 0, 0, NULL, 0x1000, 2, 0, 0, -E2BIG,
         "one initrd"},
        {"e820 of 129 entries", 0, 0, 0, 0, NULL, 0, 0, 129, 0, -E2BIG, "e820"},
        {"RAM below 1 MiB", 0, 0, 0, 0, NULL, 0, 0, 0, 512 * 1024, -ERANGE,
         "at least 1 MiB"},
        {"RAM of 16 MiB", 0, 0, 0, 0, NULL, 0, 0, 0, 16 * MIB, -ERANGE,
         "init_size"},
    };
    static uint8_t img[IMG_CAP];
    static struct boot_e820 many[130];
    struct boot_module mods[2];

    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
        many[i] = (struct boot_e820){i * 0x1000, 0x1000, E820_RAM};
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bz_bad *c = &cases[i];
        size_t size = bz_build(img);
        struct boot_input in;

        patch(img, c->off, c->width, c->val);
        in = base_input(img, c->size ? c->size : size);
        if (c->cmdline) {
            in.cmdline = c->cmdline;
        }
        if (c->initrd) {
            mods[0] = mods[1] =
                (struct boot_module){module_data, c->initrd, NULL, "initrd"};
            in.modules = mods;
            in.nr_modules = c->nr_mods ? c->nr_mods : 1;
        }
        if (c->nr_e820) {
            in.e820 = many;
            in.nr_e820 = c->nr_e820;
        }
        if (c->ram) {
            in.ram_below_4g = c->ram;
        }
        expect_reject(c->name, loader_bzimage_load, &in, c->err, c->substr);
    }
    /* Not relocatable: pref_address is the only choice. */
    {
        size_t size = bz_build(img);
        struct boot_input in = base_input(img, size);

        img[0x234] = 0;
        loader_put64(img + 0x258, RAM_SIZE - MIB / 2);
        expect_reject("not relocatable, pref_address past RAM",
                      loader_bzimage_load, &in, -ERANGE, "not relocatable");
        loader_put64(img + 0x258, 0x10000);
        expect_reject("not relocatable, pref_address below 1 MiB",
                      loader_bzimage_load, &in, -ERANGE, "not relocatable");
    }
}

/* ---- PVH ---- */

static void check_memmap(gpa_t at, uint32_t nr)
{
    struct boot_e820 def[4];
    size_t n = loader_e820_default(RAM_SIZE, 0, def, 4);

    CHECK(nr == n, "memmap entries %u, expected %zu", nr, n);
    for (size_t i = 0; i < n && i < nr; i++) {
        gpa_t e = at + i * 24;

        CHECK(rd64(e) == def[i].addr && rd64(e + 8) == def[i].size &&
                  rd32(e + 16) == def[i].type && rd32(e + 20) == 0,
              "memmap[%zu]", i);
    }
}

static void test_pvh_ok(void)
{
    static uint8_t img[IMG_CAP];
    struct boot_module mods[2] = {
        {initrd_data, sizeof(initrd_data), "initrd.img arg", "initrd.img"},
        {mod2_data, sizeof(mod2_data), NULL, "second"},
    };
    const struct {
        const char *name;
        bool is64;
        uint32_t descsz;
    } variants[] = {
        {"ELF64, 4-byte note", true, 4},
        {"ELF64, 8-byte note (Linux)", true, 8},
        {"ELF32, 4-byte note", false, 4},
    };

    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        size_t size =
            pvh_build(img, variants[v].is64, variants[v].descsz, PVH_ENTRY);
        struct boot_input in = base_input(img, size);
        struct boot_entry e = entry_sentinel;
        char why[256] = "";
        gpa_t si = BOOT_INFO_GPA, ml, m0, m1;
        int r;

        in.modules = mods;
        in.nr_modules = 2;
        guest_reset(0xaa);
        r = loader_pvh_load(&in, &e, why, sizeof(why));
        CHECK(r == 0, "%s: %d %s", variants[v].name, r, why);
        if (r < 0) {
            continue;
        }
        CHECK(guest.stray == 0, "PVH: writes outside RAM");
        CHECK(e.mode == BOOT_MODE_PROT32 && e.rip == PVH_ENTRY &&
                  e.rbx == BOOT_INFO_GPA && e.rsi == 0 && e.rax == 0 &&
                  e.rsp == 0,
              "%s: entry mode %d rip 0x%" PRIx64 " rbx 0x%" PRIx64,
              variants[v].name, e.mode, e.rip, e.rbx);
        CHECK(memcmp(guest.mem + PVH_TEXT, img + PVH_TEXT_OFF, 0x300) == 0,
              "PVH text");
        CHECK(memcmp(guest.mem + PVH_DATA, img + PVH_DATA_OFF, 0x100) == 0,
              "PVH data");
        CHECK(all_bytes(PVH_DATA + 0x100, 0x2000 - 0x100, 0),
              "PVH bss not zeroed");
        CHECK(all_bytes(PVH_DATA + 0x2000, 0x100, 0xaa),
              "PVH wrote past the bss");
        CHECK(rd32(si) == PVH_START_INFO_MAGIC, "magic 0x%x", rd32(si));
        CHECK(rd32(si + 4) == 1 && rd32(si + 8) == 0, "version/flags");
        CHECK(rd32(si + 12) == 2, "nr_modules %u", rd32(si + 12));
        CHECK(strcmp(rdstr(rd64(si + 24)), "console=ttyS0") == 0,
              "cmdline \"%s\"", rdstr(rd64(si + 24)));
        CHECK(rd64(si + 32) == 0, "rsdp_paddr");
        CHECK(rd32(si + 52) == 0, "reserved");
        check_memmap(rd64(si + 40), rd32(si + 48));
        ml = rd64(si + 16);
        CHECK(ml >= BOOT_INFO_GPA && ml < BOOT_INFO_END && (ml & 7) == 0,
              "modlist_paddr 0x%" PRIx64, ml);
        m0 = rd64(ml);
        m1 = rd64(ml + 32);
        CHECK(m0 == RAM_SIZE - sizeof(initrd_data), "initrd at 0x%" PRIx64, m0);
        CHECK(rd64(ml + 8) == sizeof(initrd_data) &&
                  rd64(ml + 40) == sizeof(mod2_data),
              "module sizes");
        CHECK((m0 & 0xfff) == 0 && (m1 & 0xfff) == 0, "modules not aligned");
        CHECK(!loader_overlaps(m0, sizeof(initrd_data), m1, sizeof(mod2_data)),
              "modules overlap");
        CHECK(m1 >= PVH_DATA + 0x2000, "module 1 in the kernel");
        CHECK(memcmp(guest.mem + m0, initrd_data, sizeof(initrd_data)) == 0 &&
                  memcmp(guest.mem + m1, mod2_data, sizeof(mod2_data)) == 0,
              "module bytes");
        CHECK(strcmp(rdstr(rd64(ml + 16)), "initrd.img arg") == 0,
              "module 0 cmdline");
        CHECK(rd64(ml + 48) == 0 && rd64(ml + 24) == 0 && rd64(ml + 56) == 0,
              "module 1 cmdline/reserved");
    }
}

/* Change the ELF64 PVH image built by pvh_build() for one bad case. */
struct pvh_bad {
    const char *name;
    void (*mutate)(uint8_t *img, size_t *size, struct boot_input *in);
    int err;
    const char *substr;
};

static void pvh_short_header(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)img;
    (void)in;
    *size = 20;
}

static void pvh_tiny(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)img;
    (void)in;
    *size = 4;
}

static void pvh_bad_magic(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    img[1] = 'X';
}

static void pvh_arm(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put16(img + offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
}

static void pvh_dyn(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put16(img + offsetof(Elf64_Ehdr, e_type), ET_DYN);
}

static void pvh_no_phdrs(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put16(img + offsetof(Elf64_Ehdr, e_phnum), 0);
}

static void pvh_phdrs_past_end(uint8_t *img, size_t *size,
                               struct boot_input *in)
{
    (void)in;
    loader_put64(img + offsetof(Elf64_Ehdr, e_phoff), *size - 0x10);
}

static void pvh_truncated(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)img;
    (void)in;
    *size = PVH_DATA_OFF + 0x80;
}

static void pvh_filesz_gt_memsz(uint8_t *img, size_t *size,
                                struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put64(img + PH64(1, p_memsz), 0x80);
}

static void pvh_overlap(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put64(img + PH64(1, p_paddr), PVH_TEXT + 0x200);
}

static void pvh_below_1m(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put64(img + PH64(1, p_paddr), 0x90000);
}

static void pvh_beyond_ram(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put64(img + PH64(1, p_paddr), RAM_SIZE - 0x1000);
}

static void pvh_above_4g(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put64(img + PH64(1, p_paddr), 0xfffff000);
}

static void pvh_wraps(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put64(img + PH64(1, p_paddr), 0xfffffffffffff000ull);
}

static void pvh_no_load(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + PH64(0, p_type), PT_NULL);
    loader_put32(img + PH64(1, p_type), PT_NULL);
}

static void pvh_interp(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + PH64(1, p_type), PT_INTERP);
}

static void pvh_wrong_note(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + PVH_NOTE_OFF + 8, 17);
}

static void pvh_note_descsz(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + PVH_NOTE_OFF + 4, 2);
}

static void pvh_note_overrun(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + PVH_NOTE_OFF, 0x1000);
}

static void pvh_note_past_file(uint8_t *img, size_t *size,
                               struct boot_input *in)
{
    (void)in;
    loader_put64(img + PH64(2, p_filesz), *size);
}

static void pvh_entry_outside(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + PVH_NOTE_OFF + 16, 0x500000);
}

static void pvh_entry_above_4g(uint8_t *img, size_t *size,
                               struct boot_input *in)
{
    (void)in;
    *size = pvh_build(img, true, 8, 0x100000040ull);
}

static void pvh_big_module(uint8_t *img, size_t *size, struct boot_input *in)
{
    static struct boot_module m;

    (void)img;
    (void)size;
    m = (struct boot_module){module_data, BIG_MODULE, NULL, "huge.img"};
    in->modules = &m;
    in->nr_modules = 1;
}

static void pvh_huge_cmdline(uint8_t *img, size_t *size, struct boot_input *in)
{
    static char line[400 * 1024];

    (void)img;
    (void)size;
    memset(line, 'x', sizeof(line) - 1);
    in->cmdline = line;
}

static void pvh_too_many_modules(uint8_t *img, size_t *size,
                                 struct boot_input *in)
{
    static struct boot_module m[BOOT_MAX_MODULES + 1];

    (void)img;
    (void)size;
    for (size_t i = 0; i < BOOT_MAX_MODULES + 1; i++) {
        m[i] = (struct boot_module){initrd_data, 16, NULL, "m"};
    }
    in->modules = m;
    in->nr_modules = BOOT_MAX_MODULES + 1;
}

static void pvh_null_module(uint8_t *img, size_t *size, struct boot_input *in)
{
    static struct boot_module m = {NULL, 100, NULL, "null"};

    (void)img;
    (void)size;
    in->modules = &m;
    in->nr_modules = 1;
}

static void pvh_no_write(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)img;
    (void)size;
    in->write = NULL;
}

static void test_pvh_bad(void)
{
    static const struct pvh_bad cases[] = {
        {"truncated ELF header", pvh_short_header, -EINVAL, "truncated"},
        {"4-byte file (the magic only)", pvh_tiny, -EINVAL, "truncated"},
        {"wrong magic", pvh_bad_magic, -ENOEXEC, "not an ELF"},
        {"AArch64 ELF", pvh_arm, -ENOEXEC, "not x86"},
        {"ET_DYN", pvh_dyn, -ENOEXEC, "ET_EXEC"},
        {"no program headers", pvh_no_phdrs, -EINVAL, "program header count"},
        {"program headers past the end", pvh_phdrs_past_end, -EINVAL,
         "program headers"},
        {"truncated in a segment", pvh_truncated, -EINVAL, "past the end"},
        {"p_filesz > p_memsz", pvh_filesz_gt_memsz, -EINVAL, "exceeds"},
        {"overlapping segments", pvh_overlap, -EINVAL, "overlaps"},
        {"segment below 1 MiB", pvh_below_1m, -ERANGE, "below"},
        {"segment beyond RAM", pvh_beyond_ram, -ERANGE, "not in guest RAM"},
        {"segment above 4 GiB", pvh_above_4g, -ERANGE, "4 GiB"},
        {"segment wraps", pvh_wraps, -ERANGE, "wraps"},
        {"no PT_LOAD", pvh_no_load, -EINVAL, "no PT_LOAD"},
        {"PT_INTERP", pvh_interp, -ENOEXEC, "dynamically linked"},
        {"no PVH note", pvh_wrong_note, -ENOEXEC, "PVH entry note"},
        {"PVH note of 2 bytes", pvh_note_descsz, -EINVAL, "4 or 8"},
        {"note runs past its segment", pvh_note_overrun, -EINVAL,
         "note runs past"},
        {"note segment past the file", pvh_note_past_file, -EINVAL,
         "past the end"},
        {"entry outside the segments", pvh_entry_outside, -EINVAL,
         "not in a loaded segment"},
        {"entry above 4 GiB", pvh_entry_above_4g, -EINVAL, "above 4 GiB"},
        {"module beyond RAM", pvh_big_module, -ERANGE, "huge.img"},
        {"oversized cmdline", pvh_huge_cmdline, -ERANGE,
         "cmdline of 409599 bytes beyond the limit"},
        {"65 modules", pvh_too_many_modules, -E2BIG, "limit is 64"},
        {"module without data", pvh_null_module, -EINVAL, "no data"},
        {"no write function", pvh_no_write, -EINVAL, "write function"},
    };
    static uint8_t img[IMG_CAP];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t size = pvh_build(img, true, 4, PVH_ENTRY);
        struct boot_input in = base_input(img, size);

        cases[i].mutate(img, &size, &in);
        in.size = size;
        expect_reject(cases[i].name, loader_pvh_load, &in, cases[i].err,
                      cases[i].substr);
    }
}

/* ---- Multiboot ---- */

#define MB_LOAD 0x100000u
#define MB_HDR_OFF 0x40u
#define MB_SIZE 0x2000u
#define MB_LOAD_END (MB_LOAD + 0x1800u)
#define MB_BSS_END (MB_LOAD + 0x4000u)
#define MB_ENTRY (MB_LOAD + 0x80u)

static void mb_header(uint8_t *h, uint32_t flags)
{
    loader_put32(h, MULTIBOOT_HEADER_MAGIC);
    loader_put32(h + 4, flags);
    loader_put32(h + 8, 0u - MULTIBOOT_HEADER_MAGIC - flags);
}

/* An a.out-kludge kernel: header at 0x40, loads 0x1800 bytes at 1 MiB. */
static size_t mb_aout_build(uint8_t *buf)
{
    uint8_t *h = buf + MB_HDR_OFF;

    memset(buf, 0, IMG_CAP);
    fill_pattern(buf, MB_SIZE, 5);
    mb_header(h, 0x10003);
    loader_put32(h + 12, MB_LOAD + MB_HDR_OFF);
    loader_put32(h + 16, MB_LOAD);
    loader_put32(h + 20, MB_LOAD_END);
    loader_put32(h + 24, MB_BSS_END);
    loader_put32(h + 28, MB_ENTRY);
    return MB_SIZE;
}

/*
 * An ELF multiboot kernel: one PT_LOAD (0x800 bytes from file offset
 * 0x1000, memsz 0x1000) at physical 2 MiB, virtual 0xc0200000, with the
 * header at its start; e_entry is (entry).
 */
#define MBE_PADDR 0x200000u
#define MBE_VADDR 0xc0200000u
#define MBE_OFF 0x1000u
#define MBE_SIZE 0x1800u

static size_t mb_elf_build(uint8_t *buf, bool is64, uint64_t entry)
{
    const struct t_seg seg = {PT_LOAD, MBE_OFF, MBE_VADDR,          MBE_PADDR,
                              0x800,   0x1000,  PF_R | PF_W | PF_X, 0x1000};

    memset(buf, 0, IMG_CAP);
    fill_pattern(buf + MBE_OFF, 0x800, 6);
    elf_build(buf, is64, is64 ? EM_X86_64 : EM_386, entry, &seg, 1);
    mb_header(buf + MBE_OFF, 0x3);
    return MBE_SIZE;
}

static void test_multiboot_ok(void)
{
    static uint8_t img[IMG_CAP];
    size_t size = mb_aout_build(img);
    struct boot_module mods[2] = {
        {initrd_data, 0x2345, "mod1.bin arg1 arg2", "mod1.bin"},
        {mod2_data, 0x10, NULL, "mod2.bin"},
    };
    struct boot_input in = base_input(img, size);
    struct boot_entry e = entry_sentinel;
    char why[256] = "";
    gpa_t mbi = BOOT_INFO_GPA, mods_at, mmap;
    int r;

    in.modules = mods;
    in.nr_modules = 2;
    guest_reset(0xaa);
    r = loader_multiboot_load(&in, &e, why, sizeof(why));
    CHECK(r == 0, "multiboot a.out: %d %s", r, why);
    CHECK(guest.stray == 0, "multiboot: writes outside RAM");
    CHECK(e.mode == BOOT_MODE_PROT32 && e.rip == MB_ENTRY &&
              e.rax == MULTIBOOT_BOOTLOADER_MAGIC && e.rbx == BOOT_INFO_GPA &&
              e.rsi == 0 && e.rsp == 0,
          "multiboot entry mode %d rip 0x%" PRIx64 " rax 0x%" PRIx64, e.mode,
          e.rip, e.rax);
    CHECK(memcmp(guest.mem + MB_LOAD, img, MB_LOAD_END - MB_LOAD) == 0,
          "a.out text+data");
    CHECK(all_bytes(MB_LOAD_END, MB_BSS_END - MB_LOAD_END, 0),
          "a.out bss not zeroed");
    CHECK(rd32(mbi) == 0x24d, "info flags 0x%x", rd32(mbi));
    CHECK(rd32(mbi + 4) == 640, "mem_lower %u", rd32(mbi + 4));
    CHECK(rd32(mbi + 8) == (RAM_SIZE - MIB) / 1024, "mem_upper %u",
          rd32(mbi + 8));
    CHECK(strcmp(rdstr(rd32(mbi + 16)), "kernel.bin console=ttyS0") == 0,
          "cmdline \"%s\"", rdstr(rd32(mbi + 16)));
    CHECK(strcmp(rdstr(rd32(mbi + 64)), "vmm") == 0, "boot loader name");
    CHECK(rd32(mbi + 20) == 2, "mods_count %u", rd32(mbi + 20));
    mods_at = rd32(mbi + 24);
    CHECK(rd32(mods_at) == MB_BSS_END, "mod 0 start 0x%x", rd32(mods_at));
    CHECK(rd32(mods_at + 4) == MB_BSS_END + 0x2345, "mod 0 end 0x%x",
          rd32(mods_at + 4));
    CHECK(rd32(mods_at + 16) == MB_BSS_END + 0x3000, "mod 1 start 0x%x",
          rd32(mods_at + 16));
    CHECK(rd32(mods_at + 20) == MB_BSS_END + 0x3010, "mod 1 end");
    CHECK(strcmp(rdstr(rd32(mods_at + 8)), "mod1.bin arg1 arg2") == 0,
          "mod 0 string \"%s\"", rdstr(rd32(mods_at + 8)));
    CHECK(strcmp(rdstr(rd32(mods_at + 24)), "mod2.bin") == 0,
          "mod 1 string \"%s\"", rdstr(rd32(mods_at + 24)));
    CHECK(memcmp(guest.mem + MB_BSS_END, initrd_data, 0x2345) == 0 &&
              memcmp(guest.mem + MB_BSS_END + 0x3000, mod2_data, 0x10) == 0,
          "module bytes");
    mmap = rd32(mbi + 48);
    CHECK(rd32(mbi + 44) == 3 * 24, "mmap_length %u", rd32(mbi + 44));
    CHECK(rd32(mmap) == 20 && rd64(mmap + 4) == 0 &&
              rd64(mmap + 12) == 0xa0000 && rd32(mmap + 20) == E820_RAM,
          "mmap[0]");
    CHECK(rd32(mmap + 48) == 20 && rd64(mmap + 52) == MIB &&
              rd64(mmap + 60) == RAM_SIZE - MIB,
          "mmap[2]");
    CHECK(mbi >= 0x10000 && mods_at >= 0x10000 && mmap >= 0x10000,
          "info below 64 KiB");

    /* The cmdline as QEMU builds it, with either half missing. */
    in.cmdline = "";
    guest_reset(0);
    r = loader_multiboot_load(&in, &e, why, sizeof(why));
    CHECK(r == 0 && strcmp(rdstr(rd32(mbi + 16)), "kernel.bin") == 0,
          "empty cmdline: \"%s\"", rdstr(rd32(mbi + 16)));
    in.cmdline = "a b";
    in.image_name = NULL;
    in.nr_modules = 0;
    guest_reset(0);
    r = loader_multiboot_load(&in, &e, why, sizeof(why));
    CHECK(r == 0 && strcmp(rdstr(rd32(mbi + 16)), "a b") == 0,
          "no image name: \"%s\"", rdstr(rd32(mbi + 16)));
    CHECK(rd32(mbi + 20) == 0, "mods_count without modules");

    /* ELF32 and ELF64: physical and virtual entry points. */
    for (int is64 = 0; is64 < 2; is64++) {
        const uint64_t entries[][2] = {
            {MBE_PADDR + 0x20, MBE_PADDR + 0x20},
            {MBE_VADDR + 0x10, MBE_PADDR + 0x10},
        };

        for (size_t k = 0; k < 2; k++) {
            size = mb_elf_build(img, is64, entries[k][0]);
            in = base_input(img, size);
            guest_reset(0xaa);
            e = entry_sentinel;
            r = loader_multiboot_load(&in, &e, why, sizeof(why));
            CHECK(r == 0, "multiboot ELF%d: %d %s", is64 ? 64 : 32, r, why);
            CHECK(e.rip == entries[k][1], "ELF%d entry 0x%" PRIx64,
                  is64 ? 64 : 32, e.rip);
            CHECK(memcmp(guest.mem + MBE_PADDR, img + MBE_OFF, 0x800) == 0 &&
                      all_bytes(MBE_PADDR + 0x800, 0x800, 0),
                  "ELF%d segment", is64 ? 64 : 32);
        }
    }
}

struct mb_bad {
    const char *name;
    void (*mutate)(uint8_t *img, size_t *size, struct boot_input *in);
    int err;
    const char *substr;
};

/* Move the a.out header to (off), keeping its addresses consistent. */
static void mb_move_header(uint8_t *img, size_t off, uint32_t flags)
{
    uint8_t *h = img + off;

    memset(img + MB_HDR_OFF, 0, 32);
    mb_header(h, flags);
    loader_put32(h + 12, (uint32_t)(MB_LOAD + off));
    loader_put32(h + 16, MB_LOAD);
    loader_put32(h + 20, 0);
    loader_put32(h + 24, 0);
    loader_put32(h + 28, MB_ENTRY);
}

static void mb_at_8k(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)in;
    *size = 0x3000;
    mb_move_header(img, 0x2000, 0x10003);
}

static void mb_straddles_8k(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)in;
    *size = 0x3000;
    memset(img + MB_HDR_OFF, 0, 32);
    mb_header(img + 0x1ff4, 0x10003);
}

static void mb_magic_at_end(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)in;
    memset(img + MB_HDR_OFF, 0, 32);
    *size = 0x100;
    loader_put32(img + 0xfc, MULTIBOOT_HEADER_MAGIC);
}

static void mb_bad_checksum(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    img[MB_HDR_OFF + 8] ^= 1;
}

static void mb_unknown_flag(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    mb_header(img + MB_HDR_OFF, 0x10003 | 0x8);
}

static void mb_load_above_header(uint8_t *img, size_t *size,
                                 struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + MB_HDR_OFF + 16, MB_LOAD + MB_HDR_OFF + 4);
}

static void mb_load_before_file(uint8_t *img, size_t *size,
                                struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + MB_HDR_OFF + 16, MB_LOAD - 0x1000);
}

static void mb_load_end_low(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + MB_HDR_OFF + 20, MB_LOAD - 1);
}

static void mb_truncated(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)img;
    (void)in;
    *size = 0x1000;
}

static void mb_truncated_header(uint8_t *img, size_t *size,
                                struct boot_input *in)
{
    (void)img;
    (void)in;
    *size = MB_HDR_OFF + 16;
}

static void mb_bss_low(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + MB_HDR_OFF + 24, MB_LOAD_END - 0x10);
}

static void mb_entry_outside(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    loader_put32(img + MB_HDR_OFF + 28, MB_BSS_END);
}

static void mb_below_1m(uint8_t *img, size_t *size, struct boot_input *in)
{
    uint8_t *h = img + MB_HDR_OFF;

    (void)size;
    (void)in;
    loader_put32(h + 12, 0x8000 + MB_HDR_OFF);
    loader_put32(h + 16, 0x8000);
    loader_put32(h + 20, 0x9800);
    loader_put32(h + 24, 0xc000);
    loader_put32(h + 28, 0x8080);
}

static void mb_beyond_ram(uint8_t *img, size_t *size, struct boot_input *in)
{
    uint8_t *h = img + MB_HDR_OFF;
    const uint32_t base = (uint32_t)RAM_SIZE - 0x2000;

    (void)size;
    (void)in;
    loader_put32(h + 12, base + MB_HDR_OFF);
    loader_put32(h + 16, base);
    loader_put32(h + 20, base + 0x1800);
    loader_put32(h + 24, base + 0x4000);
    loader_put32(h + 28, base + 0x80);
}

static void mb_not_elf(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)size;
    (void)in;
    mb_header(img + MB_HDR_OFF, 0x3);
}

static void mb_elf_entry_outside(uint8_t *img, size_t *size,
                                 struct boot_input *in)
{
    (void)in;
    *size = mb_elf_build(img, false, 0x300000);
}

static void mb_elf_overlap(uint8_t *img, size_t *size, struct boot_input *in)
{
    const struct t_seg segs[] = {
        {PT_LOAD, MBE_OFF, MBE_PADDR, MBE_PADDR, 0x800, 0x1000, PF_R | PF_X,
         0x1000},
        {PT_LOAD, MBE_OFF, MBE_PADDR + 0xf00, MBE_PADDR + 0xf00, 0x800, 0x800,
         PF_R, 0x1000},
    };

    (void)in;
    *size = mb_elf_build(img, false, MBE_PADDR);
    elf_build(img, false, EM_386, MBE_PADDR, segs, 2);
}

static void mb_big_module(uint8_t *img, size_t *size, struct boot_input *in)
{
    static struct boot_module m;

    (void)img;
    (void)size;
    m = (struct boot_module){module_data, BIG_MODULE, "huge.bin", "huge.bin"};
    in->modules = &m;
    in->nr_modules = 1;
}

static void mb_huge_cmdline(uint8_t *img, size_t *size, struct boot_input *in)
{
    static char line[400 * 1024];

    (void)img;
    (void)size;
    memset(line, 'y', sizeof(line) - 1);
    in->cmdline = line;
}

static void mb_low_ram(uint8_t *img, size_t *size, struct boot_input *in)
{
    (void)img;
    (void)size;
    in->ram_below_4g = MIB + 0x1000;
}

static void test_multiboot_bad(void)
{
    static const struct mb_bad cases[] = {
        {"header at 8 KiB", mb_at_8k, -ENOEXEC, "no multiboot header"},
        {"header across 8 KiB", mb_straddles_8k, -ENOEXEC,
         "runs past the first 8192"},
        {"magic at the end of the file", mb_magic_at_end, -ENOEXEC,
         "runs past"},
        {"bad checksum", mb_bad_checksum, -ENOEXEC, "bad checksum"},
        {"unknown required flag", mb_unknown_flag, -ENOEXEC, "(0x8)"},
        {"load_addr above header_addr", mb_load_above_header, -EINVAL,
         "above header_addr"},
        {"load_addr before the file", mb_load_before_file, -EINVAL,
         "before the header"},
        {"load_end_addr below load_addr", mb_load_end_low, -EINVAL,
         "load_end_addr"},
        {"truncated image", mb_truncated, -EINVAL, "truncated"},
        {"truncated header", mb_truncated_header, -ENOEXEC, "runs past"},
        {"bss_end_addr below load_end_addr", mb_bss_low, -EINVAL,
         "bss_end_addr"},
        {"entry_addr outside", mb_entry_outside, -EINVAL, "entry_addr"},
        {"image below 1 MiB", mb_below_1m, -ERANGE, "below"},
        {"image beyond RAM", mb_beyond_ram, -ERANGE, "not in guest RAM"},
        {"no addresses, not ELF", mb_not_elf, -ENOEXEC, "not an x86 ELF"},
        {"ELF entry in no segment", mb_elf_entry_outside, -EINVAL,
         "no loaded segment"},
        {"ELF overlapping segments", mb_elf_overlap, -EINVAL, "overlaps"},
        {"module beyond RAM", mb_big_module, -ERANGE, "huge.bin"},
        {"oversized cmdline", mb_huge_cmdline, -ERANGE,
         "cmdline of 409610 bytes beyond the limit"},
        {"1 MiB + 4 KiB of RAM", mb_low_ram, -ERANGE, "not in guest RAM"},
    };
    static uint8_t img[IMG_CAP];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t size = mb_aout_build(img);
        struct boot_input in = base_input(img, size);

        cases[i].mutate(img, &size, &in);
        in.size = size;
        expect_reject(cases[i].name, loader_multiboot_load, &in, cases[i].err,
                      cases[i].substr);
    }
}

static void test_multiboot_modules_spec(void)
{
    static const struct {
        const char *spec;
        size_t nr;
        const char *path[3];
        const char *cmdline[3];
    } ok[] = {
        {"a", 1, {"a"}, {"a"}},
        {"a arg1 arg2", 1, {"a"}, {"a arg1 arg2"}},
        {"file1 arg,file2", 2, {"file1", "file2"}, {"file1 arg", "file2"}},
        {"a,,b", 1, {"a,b"}, {"a,b"}},
        {"a,,b c,,d,e", 2, {"a,b", "e"}, {"a,b c,d", "e"}},
        {"a,,,b", 2, {"a,", "b"}, {"a,", "b"}},
        {",,", 1, {","}, {","}},
        {"x,y z,w", 3, {"x", "y", "w"}, {"x", "y z", "w"}},
    };
    static const struct {
        const char *spec;
        const char *substr;
    } bad[] = {
        {"", "empty module list"},
        {",", "item 1 is empty"},
        {"a,", "item 2 is empty"},
        {",a", "item 1 is empty"},
        {"a,,b,", "item 2 is empty"},
        {"a,,,", "item 2 is empty"},
        {" a", "item 1 (\" a\") has no file name"},
        {"a, b", "item 2 (\" b\") has no file name"},
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct loader_multiboot_module_spec *m = NULL;
        size_t nr = 0;
        char why[256] = "";
        int r = loader_multiboot_parse_modules(ok[i].spec, &m, &nr, why,
                                               sizeof(why));

        CHECK(r == 0 && nr == ok[i].nr, "spec \"%s\": %d, %zu items (%s)",
              ok[i].spec, r, nr, why);
        for (size_t k = 0; r == 0 && k < nr && k < ok[i].nr; k++) {
            CHECK(strcmp(m[k].path, ok[i].path[k]) == 0 &&
                      strcmp(m[k].cmdline, ok[i].cmdline[k]) == 0,
                  "spec \"%s\" item %zu: \"%s\" / \"%s\"", ok[i].spec, k,
                  m[k].path, m[k].cmdline);
        }
        free(m);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct loader_multiboot_module_spec *m = NULL;
        size_t nr = 12345;
        char why[256] = "";
        int r = loader_multiboot_parse_modules(bad[i].spec, &m, &nr, why,
                                               sizeof(why));

        CHECK(r == -EINVAL && strstr(why, bad[i].substr) && !m && nr == 12345,
              "spec \"%s\": %d (%s)", bad[i].spec, r, why);
    }
}

/* ---- MP table ---- */

static uint8_t sum_bytes(gpa_t gpa, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s += guest.mem[gpa + i];
    }
    return s;
}

static void test_mptable(void)
{
    static const int cpus[] = {1, 2, 8, MPTABLE_MAX_CPUS};
    static const int bad[] = {0, -1, MPTABLE_MAX_CPUS + 1, 1000};

    for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
        int n = cpus[i];
        gpa_t where = 0, ct, e;
        unsigned nproc = 0, nbus = 0, nioapic = 0, nioint = 0, nlint = 0;
        bool irq0_pin2 = false, extint_pin0 = false, irq2 = false;
        uint16_t len, count;
        int r;

        guest_reset(0xcc);
        r = mptable_write(n, fake_write, &guest, &where);
        CHECK(r == 0 && where == MPTABLE_GPA, "%d CPUs: %d at 0x%" PRIx64, n, r,
              where);
        if (r < 0) {
            continue;
        }
        CHECK(guest.writes == 1, "%d CPUs: %u writes", n, guest.writes);
        CHECK(memcmp(guest.mem + where, "_MP_", 4) == 0, "no _MP_");
        CHECK(sum_bytes(where, 16) == 0, "floating pointer checksum");
        CHECK(rd8(where + 8) == 1 && rd8(where + 9) == 4 &&
                  rd8(where + 11) == 0 && rd8(where + 12) == 0,
              "floating pointer fields");
        ct = rd32(where + 4);
        CHECK(ct == MPTABLE_GPA + 16, "config table at 0x%" PRIx64, ct);
        CHECK(memcmp(guest.mem + ct, "PCMP", 4) == 0, "no PCMP");
        len = rd16(ct + 4);
        count = rd16(ct + 34);
        CHECK(len + 16u == mptable_size(n), "%d CPUs: length %u", n, len);
        CHECK(ct + len <= MPTABLE_END, "table past its region");
        CHECK(all_bytes(ct + len, 16, 0xcc), "wrote past the table");
        CHECK(sum_bytes(ct, len) == 0, "%d CPUs: table checksum", n);
        CHECK(rd8(ct + 6) == 4 && rd32(ct + 36) == MPTABLE_LAPIC_GPA,
              "spec rev / LAPIC address");
        CHECK(count == n + 20, "%d CPUs: %u entries", n, count);
        e = ct + 44;
        for (unsigned k = 0; k < count && e < ct + len; k++) {
            switch (rd8(e)) {
            case 0:
                CHECK(rd8(e + 1) == nproc && rd8(e + 2) == 0x14 &&
                          rd8(e + 3) == (nproc == 0 ? 3 : 1),
                      "processor entry %u", nproc);
                nproc++;
                e += 20;
                break;
            case 1:
                CHECK(rd8(e + 1) == 0 &&
                          memcmp(guest.mem + e + 2, "ISA   ", 6) == 0,
                      "bus entry");
                nbus++;
                e += 8;
                break;
            case 2:
                CHECK(rd8(e + 1) == n && rd8(e + 2) == 0x11 &&
                          rd8(e + 3) == 1 && rd32(e + 4) == 0xfec00000u,
                      "I/O APIC entry");
                nioapic++;
                e += 8;
                break;
            case 3:
                CHECK(rd8(e + 6) == n, "I/O interrupt to APIC %u", rd8(e + 6));
                if (rd8(e + 1) == 0 && rd8(e + 5) == 0) {
                    irq0_pin2 = rd8(e + 7) == 2;
                }
                if (rd8(e + 1) == 0 && rd8(e + 5) == 2) {
                    irq2 = true;
                }
                if (rd8(e + 1) == 3) {
                    extint_pin0 = rd8(e + 7) == 0;
                }
                if (rd8(e + 1) == 0 && rd8(e + 5) != 0) {
                    CHECK(rd8(e + 7) == rd8(e + 5), "IRQ %u on pin %u",
                          rd8(e + 5), rd8(e + 7));
                }
                nioint++;
                e += 8;
                break;
            case 4:
                CHECK(rd8(e + 6) == 0xff &&
                          rd8(e + 7) == (rd8(e + 1) == 1 ? 1 : 0),
                      "local interrupt entry");
                nlint++;
                e += 8;
                break;
            default:
                CHECK(false, "unknown entry type %u", rd8(e));
                e = ct + len;
                break;
            }
        }
        CHECK(e == ct + len, "%d CPUs: entries end at 0x%" PRIx64, n, e);
        CHECK(nproc == (unsigned)n && nbus == 1 && nioapic == 1 &&
                  nioint == 16 && nlint == 2,
              "%d CPUs: %u proc %u bus %u ioapic %u ioint %u lint", n, nproc,
              nbus, nioapic, nioint, nlint);
        CHECK(irq0_pin2 && extint_pin0 && !irq2, "ISA IRQ routing");
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gpa_t where = 7;

        guest.writes = 0;
        CHECK(mptable_write(bad[i], fake_write, &guest, &where) == -EINVAL &&
                  where == 7 && guest.writes == 0,
              "%d CPUs accepted", bad[i]);
        CHECK(mptable_size(bad[i]) == 0, "size for %d CPUs", bad[i]);
    }
    {
        gpa_t where = 7;

        CHECK(mptable_write(1, NULL, &guest, &where) == -EINVAL && where == 7,
              "no write function accepted");
        guest.writes = 0;
        guest.fail_at = 1;
        CHECK(mptable_write(2, fake_write, &guest, &where) == -EIO &&
                  where == 7,
              "write failure not returned");
        guest.fail_at = 0;
    }
}

/* ---- Detection and dispatch ---- */

static size_t test_guest_build(uint8_t *buf)
{
    uint8_t desc[4];
    size_t nsz;

    memset(buf, 0, IMG_CAP);
    loader_put32(desc, TESTDEV_ABI_VERSION);
    nsz = note_put(buf + 0x180, TESTDEV_NOTE_NAME, TESTDEV_NOTE_TYPE, desc, 4);
    {
        const struct t_seg segs[] = {
            {PT_LOAD, 0x200, 0x200000, 0x200000, 0x100, 0x100, PF_R | PF_X,
             0x1000},
            {PT_NOTE, 0x180, 0, 0, nsz, nsz, PF_R, 4},
        };

        elf_build(buf, true, EM_X86_64, 0x200000, segs, 2);
    }
    return 0x300;
}

static void test_detect(void)
{
    static uint8_t bz[IMG_CAP], pvh[IMG_CAP], pvh32[IMG_CAP], mba[IMG_CAP],
        mbe[IMG_CAP], tg[IMG_CAP], plain[IMG_CAP], bzmb[IMG_CAP],
        pvhmb[IMG_CAP], badsum[IMG_CAP];
    static const char text[] = "#!/bin/sh\necho this is not a kernel\n";
    const struct {
        const char *name;
        const void *img;
        size_t size;
        enum boot_format fmt;
    } cases[] = {
        {"bzImage", bz, bz_build(bz), BOOT_FORMAT_BZIMAGE},
        {"PVH ELF64", pvh, pvh_build(pvh, true, 8, PVH_ENTRY), BOOT_FORMAT_PVH},
        {"PVH ELF32", pvh32, pvh_build(pvh32, false, 4, PVH_ENTRY),
         BOOT_FORMAT_PVH},
        {"multiboot a.out", mba, mb_aout_build(mba), BOOT_FORMAT_MULTIBOOT},
        {"multiboot ELF", mbe, mb_elf_build(mbe, false, MBE_PADDR),
         BOOT_FORMAT_MULTIBOOT},
        {"test guest", tg, test_guest_build(tg), BOOT_FORMAT_TEST_GUEST},
        {"text file", text, sizeof(text), BOOT_FORMAT_UNKNOWN},
        {"NULL", NULL, 100, BOOT_FORMAT_UNKNOWN},
        {"empty", text, 0, BOOT_FORMAT_UNKNOWN},
        {"one byte", text, 1, BOOT_FORMAT_UNKNOWN},
        {"plain ELF", plain, 0, BOOT_FORMAT_UNKNOWN},
        {"bzImage with a multiboot header", bzmb, 0, BOOT_FORMAT_BZIMAGE},
        {"PVH with a multiboot header", pvhmb, 0, BOOT_FORMAT_PVH},
        {"multiboot with a bad checksum", badsum, 0, BOOT_FORMAT_UNKNOWN},
    };
    const size_t nr = sizeof(cases) / sizeof(cases[0]);
    size_t sizes[sizeof(cases) / sizeof(cases[0])];

    for (size_t i = 0; i < nr; i++) {
        sizes[i] = cases[i].size;
    }
    /* Images built from the others. */
    sizes[10] = pvh_build(plain, true, 4, PVH_ENTRY);
    loader_put32(plain + PVH_NOTE_OFF + 8, 17);
    sizes[11] = bz_build(bzmb);
    mb_header(bzmb + 0x400, 0x3);
    sizes[12] = pvh_build(pvhmb, true, 4, PVH_ENTRY);
    mb_header(pvhmb + PVH_TEXT_OFF, 0x3);
    sizes[13] = mb_aout_build(badsum);
    badsum[MB_HDR_OFF + 8] ^= 0x40;

    for (size_t i = 0; i < nr; i++) {
        enum boot_format f = loader_detect(cases[i].img, sizes[i]);

        CHECK(f == cases[i].fmt, "%s detected as %s, expected %s",
              cases[i].name, loader_format_name(f),
              loader_format_name(cases[i].fmt));
    }

    /* Dispatch: each kernel reaches its loader; the rest are refused. */
    for (size_t i = 0; i < nr; i++) {
        struct boot_input in = base_input(cases[i].img, sizes[i]);
        struct boot_entry e = entry_sentinel;
        char why[256] = "";
        int r;

        guest_reset(0);
        r = loader_load_kernel(&in, &e, why, sizeof(why));
        switch (cases[i].fmt) {
        case BOOT_FORMAT_BZIMAGE:
            CHECK(r == 0 && e.mode == BOOT_MODE_LONG64, "%s: %d %s",
                  cases[i].name, r, why);
            break;
        case BOOT_FORMAT_PVH:
            CHECK(r == 0 && e.mode == BOOT_MODE_PROT32 && e.rip == PVH_ENTRY &&
                      e.rax == 0,
                  "%s: %d %s", cases[i].name, r, why);
            break;
        case BOOT_FORMAT_MULTIBOOT:
            CHECK(r == 0 && e.rax == MULTIBOOT_BOOTLOADER_MAGIC, "%s: %d %s",
                  cases[i].name, r, why);
            break;
        case BOOT_FORMAT_TEST_GUEST:
        case BOOT_FORMAT_UNKNOWN:
            CHECK(r == -ENOEXEC && why[0] && !strchr(why, '\n') &&
                      guest.writes == 0,
                  "%s: %d %s", cases[i].name, r, why);
            break;
        }
    }
    {
        struct boot_input in = base_input(badsum, sizes[13]);
        struct boot_entry e;
        char why[256] = "";
        int r = loader_load_kernel(&in, &e, why, sizeof(why));

        CHECK(r == -ENOEXEC && strstr(why, "bad checksum"),
              "bad checksum dispatch: %d %s", r, why);
        in = base_input(plain, sizes[10]);
        r = loader_load_kernel(&in, &e, why, sizeof(why));
        CHECK(r == -ENOEXEC && strstr(why, "x86 ELF without a PVH"),
              "plain ELF dispatch: %d %s", r, why);
        in = base_input(tg, sizes[5]);
        r = loader_load_kernel(&in, &e, why, sizeof(why));
        CHECK(r == -ENOEXEC && strstr(why, "test guest"),
              "test guest dispatch: %d %s", r, why);
        CHECK(loader_load_kernel(NULL, &e, why, sizeof(why)) == -EINVAL,
              "NULL input");
        CHECK(loader_load_kernel(&in, NULL, NULL, 0) == -EINVAL, "NULL output");
    }
}

/* A failing write is reported with its errno; the entry stays untouched. */
static void test_write_failures(void)
{
    static uint8_t img[IMG_CAP];
    struct boot_module m = {initrd_data, sizeof(initrd_data), NULL, "m"};
    const struct {
        const char *name;
        size_t (*build)(uint8_t *);
        load_fn fn;
        unsigned writes;
    } kinds[] = {
        {"bzImage", bz_build, loader_bzimage_load, 4},
        {"multiboot", mb_aout_build, loader_multiboot_load, 4},
    };

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (unsigned fail = 1; fail <= kinds[k].writes; fail++) {
            size_t size = kinds[k].build(img);
            struct boot_input in = base_input(img, size);
            struct boot_entry e = entry_sentinel;
            char why[256] = "";
            int r;

            in.modules = &m;
            in.nr_modules = 1;
            guest_reset(0);
            guest.fail_at = fail;
            r = kinds[k].fn(&in, &e, why, sizeof(why));
            CHECK(r == -EIO && strstr(why, "failed") &&
                      same_entry(&e, &entry_sentinel),
                  "%s, write %u failing: %d %s", kinds[k].name, fail, r, why);
        }
    }
    {
        size_t size = pvh_build(img, true, 4, PVH_ENTRY);
        struct boot_input in = base_input(img, size);
        struct boot_entry e = entry_sentinel;
        char why[256] = "";
        int r;

        guest_reset(0);
        guest.fail_at = 1;
        r = loader_pvh_load(&in, &e, why, sizeof(why));
        CHECK(r == -EIO && same_entry(&e, &entry_sentinel),
              "PVH write failing: %d %s", r, why);
    }
}

/*
 * Seeded mutations of every valid image: random bytes changed in the
 * headers, random truncation. Loading must return 0 or a one-line error
 * and never write outside RAM (ASan and UBSan watch the rest).
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_mutations(void)
{
    static uint8_t orig[IMG_CAP], img[IMG_CAP];
    size_t (*builders[])(uint8_t *) = {bz_build, mb_aout_build};
    struct boot_module m = {initrd_data, 0x100, "m x", "m"};
    unsigned ok = 0, rejected = 0;

    guest.fail_at = 0;
    for (unsigned kind = 0; kind < 6; kind++) {
        size_t size;

        if (kind < 2) {
            size = builders[kind](orig);
        } else if (kind == 2) {
            size = pvh_build(orig, true, 8, PVH_ENTRY);
        } else if (kind == 3) {
            size = pvh_build(orig, false, 4, PVH_ENTRY);
        } else {
            size = mb_elf_build(orig, kind == 5, MBE_VADDR);
        }
        for (unsigned iter = 0; iter < 3000; iter++) {
            struct boot_input in;
            struct boot_entry e = entry_sentinel;
            char why[256] = "";
            size_t n = size;
            unsigned flips = 1 + (unsigned)(rng() % 4);
            int r;

            memcpy(img, orig, size);
            for (unsigned f = 0; f < flips; f++) {
                /* Mostly headers: the first 0x300 bytes. */
                size_t span = rng() % 4 ? 0x300 : size;
                size_t at = (size_t)(rng() % span);

                img[at] = (uint8_t)rng();
            }
            if (rng() % 8 == 0) {
                n = (size_t)(rng() % size);
            }
            in = base_input(img, n);
            in.modules = &m;
            in.nr_modules = rng() % 2;
            guest.writes = 0;
            guest.stray = 0;
            r = loader_load_kernel(&in, &e, why, sizeof(why));
            CHECK(guest.stray == 0, "mutation %u/%u wrote outside RAM", kind,
                  iter);
            if (r == 0) {
                ok++;
                CHECK(e.mode == BOOT_MODE_LONG64 || e.mode == BOOT_MODE_PROT32,
                      "mutation %u/%u: mode %d", kind, iter, e.mode);
            } else {
                rejected++;
                CHECK(why[0] && !strchr(why, '\n') &&
                          same_entry(&e, &entry_sentinel),
                      "mutation %u/%u: %d \"%s\"", kind, iter, r, why);
            }
        }
    }
    printf("mutations: %u loaded, %u rejected\n", ok, rejected);
}

int main(void)
{
    guest.size = RAM_SIZE;
    guest.mem = calloc(1, RAM_SIZE);
    module_data = calloc(1, BIG_MODULE);
    if (!guest.mem || !module_data) {
        fprintf(stderr, "test_loaders: out of memory\n");
        return 1;
    }
    fill_pattern(initrd_data, sizeof(initrd_data), 7);
    fill_pattern(mod2_data, sizeof(mod2_data), 8);

    test_bzimage_ok();
    test_bzimage_bad();
    test_pvh_ok();
    test_pvh_bad();
    test_multiboot_ok();
    test_multiboot_bad();
    test_multiboot_modules_spec();
    test_mptable();
    test_detect();
    test_write_failures();
    test_mutations();

    free(module_data);
    free(guest.mem);
    if (unit_failures) {
        fprintf(stderr, "test_loaders: %u failures\n", unit_failures);
        return 1;
    }
    printf("test_loaders: all passed\n");
    return 0;
}
