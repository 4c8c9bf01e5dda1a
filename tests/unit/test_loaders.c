/* SPDX-License-Identifier: MIT */
/*
 * What the kernel loaders share, no /dev/kvm: the MP table (checksums and
 * entries for 1, 2, 8 and 254 CPUs), format detection from bytes and
 * dispatch, failing writes, and a seeded mutation loop over every format
 * that must never crash (run under ASan+UBSan).
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
    if (!loaders_fixture_init()) {
        fprintf(stderr, "test_loaders: out of memory\n");
        return 1;
    }
    test_mptable();
    test_detect();
    test_write_failures();
    test_mutations();
    loaders_fixture_fini();
    if (unit_failures) {
        fprintf(stderr, "test_loaders: %u failures\n", unit_failures);
        return 1;
    }
    printf("test_loaders: all passed\n");
    return 0;
}
