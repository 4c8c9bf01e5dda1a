/* SPDX-License-Identifier: MIT */
/*
 * The bzImage loader (64-bit boot protocol), no /dev/kvm: a synthetic
 * bzImage with a 4 KiB setup and a fake payload loaded into the fake guest,
 * the zero page and entry state checked field by field; then malformed
 * images (truncated, wrong magic, old protocol, no 64-bit entry,
 * placement that cannot work, oversized cmdline or initrd), each failing
 * with its errno and a one-line reason, writing nothing.
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

/* The release in the header: the first word, only when it is there. */
static void test_bzimage_release(void)
{
    static uint8_t img[IMG_CAP];
    static const char ver[] = "6.1.0-57-amd64 (debian-kernel@lists) #1 SMP";
    size_t size = bz_build(img);
    char buf[64];
    int rc;

    /* No pointer. */
    loader_put16(img + 0x20e, 0);
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "no kernel_version: %d", rc);
    memcpy(img + 0x800, ver, sizeof(ver));
    loader_put16(img + 0x20e, 0x800 - 0x200);
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == 0 && strcmp(buf, "6.1.0-57-amd64") == 0, "release: %d '%s'", rc,
          buf);
    rc = loader_bzimage_release(img, size, buf, 14);
    CHECK(rc == -ENOSPC && buf[0] == '\0', "too small: %d", rc);
    rc = loader_bzimage_release(img, size, buf, 15);
    CHECK(rc == 0, "exactly enough: %d", rc);
    /* Cut inside the string, pointer past the end, a control byte, an
     * empty string, protocol 1.x, no bzImage. */
    rc = loader_bzimage_release(img, 0x805, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "unterminated: %d", rc);
    loader_put16(img + 0x20e, 0xffff);
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "pointer out: %d", rc);
    loader_put16(img + 0x20e, 0x800 - 0x200);
    img[0x803] = 0x07;
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "control byte: %d", rc);
    img[0x803] = '/';
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "a slash: %d", rc);
    img[0x803] = '0';
    img[0x800] = '.';
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "a leading dot: %d", rc);
    img[0x800] = ' ';
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "empty: %d", rc);
    img[0x800] = '6';
    loader_put16(img + 0x206, 0x1ff);
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "protocol 1.ff: %d", rc);
    loader_put16(img + 0x206, 0x20f);
    img[0x202] = 'X';
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "not a bzImage: %d", rc);
    /* A string that runs to the scan limit without an end. */
    img[0x202] = 'H';
    memset(img + 0x800, 'a', 300);
    rc = loader_bzimage_release(img, size, buf, sizeof(buf));
    CHECK(rc == -ENOENT, "endless: %d", rc);
}

int main(void)
{
    if (!loaders_fixture_init()) {
        fprintf(stderr, "test_loaders_bzimage: out of memory\n");
        return 1;
    }
    test_bzimage_ok();
    test_bzimage_bad();
    test_bzimage_release();
    loaders_fixture_fini();
    if (unit_failures) {
        fprintf(stderr, "test_loaders_bzimage: %u failures\n", unit_failures);
        return 1;
    }
    printf("test_loaders_bzimage: all passed\n");
    return 0;
}
