/* SPDX-License-Identifier: MIT */
/*
 * The multiboot v1 loader, no /dev/kvm: the a.out kludge and ELF32/ELF64
 * images loaded into the fake guest, the multiboot info and entry state
 * checked; malformed images (header past 8 KiB, bad checksum, unknown
 * flags, load addresses that cannot work, truncated), each failing
 * cleanly; and the module list syntax.
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

int main(void)
{
    if (!loaders_fixture_init()) {
        fprintf(stderr, "test_loaders_multiboot: out of memory\n");
        return 1;
    }
    test_multiboot_ok();
    test_multiboot_bad();
    test_multiboot_modules_spec();
    loaders_fixture_fini();
    if (unit_failures) {
        fprintf(stderr, "test_loaders_multiboot: %u failures\n", unit_failures);
        return 1;
    }
    printf("test_loaders_multiboot: all passed\n");
    return 0;
}
