/* SPDX-License-Identifier: MIT */
/*
 * The kernel loader tests' shared fixture (see loaders_fixture.h).
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

#include "loaders_fixture.h"

/* Shared by every file of the test: unit.h's CHECK() counts here. */
unsigned unit_failures;

/* ---- A fake guest ---- */

struct fake_guest guest;

int fake_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
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

void guest_reset(uint8_t fill)
{
    memset(guest.mem, fill, guest.size);
    guest.writes = 0;
    guest.fail_at = 0;
    guest.stray = 0;
}

uint8_t rd8(gpa_t gpa)
{
    return guest.mem[gpa];
}

uint16_t rd16(gpa_t gpa)
{
    return loader_get16(guest.mem + gpa);
}

uint32_t rd32(gpa_t gpa)
{
    return loader_get32(guest.mem + gpa);
}

uint64_t rd64(gpa_t gpa)
{
    return loader_get64(guest.mem + gpa);
}

const char *rdstr(gpa_t gpa)
{
    if (gpa >= guest.size || !memchr(guest.mem + gpa, 0, guest.size - gpa)) {
        return "(not a string in RAM)";
    }
    return (const char *)guest.mem + gpa;
}

/* Whether [gpa, gpa + len) holds only (v). */
bool all_bytes(gpa_t gpa, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++) {
        if (guest.mem[gpa + i] != v) {
            return false;
        }
    }
    return true;
}

void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(i * 7 + seed * 13 + 1);
    }
}

struct boot_input base_input(const void *img, size_t size)
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
uint8_t *module_data;
uint8_t initrd_data[0x3000];
uint8_t mod2_data[0x1800];

const struct boot_entry entry_sentinel = {
    .mode = (enum boot_mode)77,
    .rip = 0x5a5a5a5a,
    .rsi = 1,
    .rbx = 2,
    .rax = 3,
    .rsp = 4,
};

/* Field by field: struct copies need not copy padding. */
bool same_entry(const struct boot_entry *a, const struct boot_entry *b)
{
    return a->mode == b->mode && a->rip == b->rip && a->rsi == b->rsi &&
           a->rbx == b->rbx && a->rax == b->rax && a->rsp == b->rsp;
}

/*
 * Load (in) with (fn) and expect (err) with (substr) in a one-line
 * reason, no write and an untouched entry.
 */
void expect_reject(const char *what, load_fn fn, const struct boot_input *in,
                   int err, const char *substr)
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

/* Write an ELF header and program headers at 0 and 0x40 of (buf). */
void elf_build(uint8_t *buf, bool is64, uint16_t machine, uint64_t entry,
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
size_t note_put(uint8_t *p, const char *name, uint32_t type, const void *desc,
                uint32_t descsz)
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

size_t pvh_build(uint8_t *buf, bool is64, uint32_t descsz, uint64_t entry)
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

/* ---- bzImage ---- */

size_t bz_build(uint8_t *buf)
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

/* ---- Multiboot ---- */

void mb_header(uint8_t *h, uint32_t flags)
{
    loader_put32(h, MULTIBOOT_HEADER_MAGIC);
    loader_put32(h + 4, flags);
    loader_put32(h + 8, 0u - MULTIBOOT_HEADER_MAGIC - flags);
}

/* An a.out-kludge kernel: header at 0x40, loads 0x1800 bytes at 1 MiB. */
size_t mb_aout_build(uint8_t *buf)
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

size_t mb_elf_build(uint8_t *buf, bool is64, uint64_t entry)
{
    const struct t_seg seg = {PT_LOAD, MBE_OFF, MBE_VADDR,          MBE_PADDR,
                              0x800,   0x1000,  PF_R | PF_W | PF_X, 0x1000};

    memset(buf, 0, IMG_CAP);
    fill_pattern(buf + MBE_OFF, 0x800, 6);
    elf_build(buf, is64, is64 ? EM_X86_64 : EM_386, entry, &seg, 1);
    mb_header(buf + MBE_OFF, 0x3);
    return MBE_SIZE;
}

/* ---- Detection and dispatch ---- */

size_t test_guest_build(uint8_t *buf)
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

bool loaders_fixture_init(void)
{
    guest.size = RAM_SIZE;
    guest.mem = calloc(1, RAM_SIZE);
    module_data = calloc(1, BIG_MODULE);
    if (!guest.mem || !module_data) {
        return false;
    }
    fill_pattern(initrd_data, sizeof(initrd_data), 7);
    fill_pattern(mod2_data, sizeof(mod2_data), 8);
    return true;
}

void loaders_fixture_fini(void)
{
    free(module_data);
    free(guest.mem);
}
