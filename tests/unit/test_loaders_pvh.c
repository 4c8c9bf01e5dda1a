/* SPDX-License-Identifier: MIT */
/*
 * The PVH loader, no /dev/kvm: ELF64 and ELF32 images with the Xen
 * PHYS32_ENTRY note loaded into the fake guest, hvm_start_info, memmap,
 * modules and entry state checked; then malformed images (truncated, not
 * x86, no or bad note, segments that overlap, wrap or do not fit, modules
 * and cmdlines that do not fit), each failing cleanly.
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

#include "loaders_fixture.h"

extern unsigned unit_failures;

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

/* The release a vmlinux's linux_banner names: the first "Linux version
 * WORD (" whose word is a release, nothing from a format string or a
 * bzImage. */
static void test_pvh_release(void)
{
    static uint8_t img[IMG_CAP];
    static const char two[] = "Linux version %s\0Linux version a/b (x)\0"
                              "Linux version 6.1.0-57-amd64 (d@h) #1 SMP";
    size_t size = pvh_build(img, true, 4, PVH_ENTRY);
    char buf[64];
    int rc;

    rc = loader_pvh_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT && buf[0] == '\0', "no banner: %d", rc);
    memcpy(img + PVH_DATA_OFF, two, sizeof(two));
    rc = loader_pvh_release(img, size, buf, sizeof(buf));
    CHECK(rc == 0 && strcmp(buf, "6.1.0-57-amd64") == 0, "release: %d '%s'", rc,
          buf);
    rc = loader_pvh_release(img, size, buf, 14);
    CHECK(rc == -ENOSPC && buf[0] == '\0', "too small: %d", rc);
    rc = loader_pvh_release(img, size, buf, 15);
    CHECK(rc == 0, "exactly enough: %d", rc);
    /* No PVH note: not a PVH kernel, whatever its bytes say. */
    img[PVH_NOTE_OFF + 12] = 'Y';
    rc = loader_pvh_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "no PVH note: %d", rc);
    size = bz_build(img);
    memcpy(img + 0x800, two, sizeof(two));
    rc = loader_pvh_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "a bzImage: %d", rc);
}

int main(void)
{
    if (!loaders_fixture_init()) {
        fprintf(stderr, "test_loaders_pvh: out of memory\n");
        return 1;
    }
    test_pvh_ok();
    test_pvh_bad();
    test_pvh_release();
    loaders_fixture_fini();
    if (unit_failures) {
        fprintf(stderr, "test_loaders_pvh: %u failures\n", unit_failures);
        return 1;
    }
    printf("test_loaders_pvh: all passed\n");
    return 0;
}
