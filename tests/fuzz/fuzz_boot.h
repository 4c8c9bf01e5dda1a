/* SPDX-License-Identifier: MIT */
/*
 * What the kernel-loader fuzz targets (fuzz_bzimage.c, fuzz_pvh.c,
 * fuzz_multiboot.c, fuzz_loader.c) share: a fake guest of FUZZ_BOOT_MEM
 * bytes of RAM whose write function checks every write (inside RAM
 * ranges of the e820 map the loader was given, below the RAM size, no
 * byte written twice in one load) and records what was written; a boot
 * input built from the first FUZZ_BOOT_PARAMS bytes of the fuzz input
 * (RAM size, e820 shape, cmdline, modules, an injected write failure);
 * and, per format, the checks of a load's outcome against vmm/boot/boot.h and
 * the format's loader header:
 * - rejected: a negative errno the header lists, one non-empty line in
 *   (why), the boot entry untouched and nothing written (unless the
 *   write function itself failed part way);
 * - accepted: the entry the protocol defines (mode, registers), RIP
 *   inside the bytes written, and the boot information (zero page,
 *   hvm_start_info, multiboot info) describing exactly what was written
 *   where: kernel bytes, cmdline, modules, memory map.
 */
#ifndef TESTS_FUZZ_FUZZ_BOOT_H
#define TESTS_FUZZ_FUZZ_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "fuzz.h"
#include "loader.h"

/* Bytes of fake guest RAM, from GPA 0. */
#define FUZZ_BOOT_MEM (64ull << 20)
/* Bytes of parameters before the image. */
#define FUZZ_BOOT_PARAMS 10u
/* Write ranges recorded per load (contiguous writes merge). */
#define FUZZ_BOOT_MAX_RANGES 256u
/* Modules a boot input may carry here. */
#define FUZZ_BOOT_MAX_MODULES 3u

/* A half-open range of guest memory that a load wrote. */
struct fuzz_boot_range {
    gpa_t start;
    gpa_t end;
};

/* One load: its input, its outcome and what it wrote. */
struct fuzz_boot {
    struct boot_input in;
    struct boot_e820 e820[8];
    /* The map the loader works with: (in.e820), or the default one. */
    struct boot_e820 map[8];
    size_t nr_map;
    struct boot_module mods[FUZZ_BOOT_MAX_MODULES];
    struct boot_entry out;
    char why[512];
    /* Writes made (and the one that failed, if any). */
    unsigned writes;
    /* Fail the write with this number (from 1) with -EIO; 0: never. */
    unsigned fail_at;
    struct fuzz_boot_range w[FUZZ_BOOT_MAX_RANGES];
    unsigned nr_w;
    /* More ranges than (w) holds: coverage checks are skipped. */
    bool w_full;
};

/*
 * Fill (b) from the parameter bytes at the start of (in) and make the rest
 * of (in) the image; (b) is ready for a loader call (why empty, out a
 * sentinel). Allocates the fake guest on first use.
 */
void fuzz_boot_setup(struct fuzz_boot *b, struct fuzz_in *in);

/*
 * Check the outcome (ret) of loading (b) as (fmt): BOOT_FORMAT_BZIMAGE,
 * _PVH or _MULTIBOOT for a load by that format's loader, anything else
 * for an image loader_load_kernel() must refuse.
 */
void fuzz_boot_check(const struct fuzz_boot *b, enum boot_format fmt, int ret);

#endif /* TESTS_FUZZ_FUZZ_BOOT_H */
