/* SPDX-License-Identifier: MIT */
/*
 * Kernel format detection and dispatch (vmm/boot/loader.h) on arbitrary
 * bytes, so that every format's loader sees every other format's images:
 * loader_detect() must agree with the formats' own detectors in the
 * documented order (test guest, bzImage, PVH, multiboot), and
 * loader_load_kernel() must load what it detects as that format's loader
 * would (the same checks as fuzz_bzimage, fuzz_pvh and fuzz_multiboot)
 * and refuse everything else with -ENOEXEC, writing nothing.
 *
 * Input: FUZZ_BOOT_PARAMS bytes of parameters (fuzz_boot.h), then the
 * image.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_boot.h"
#include "loader_bzimage.h"
#include "loader_multiboot.h"
#include "loader_pvh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_boot b;
    struct fuzz_in in = {data, size};
    enum boot_format fmt;
    const char *name;
    bool bz, pvh, mb;
    int ret;

    fuzz_boot_setup(&b, &in);
    fmt = loader_detect(b.in.image, b.in.size);
    name = loader_format_name(fmt);
    FUZZ_CHECK(name != NULL && name[0] != '\0');
    bz = loader_bzimage_detect(b.in.image, b.in.size);
    pvh = loader_pvh_detect(b.in.image, b.in.size);
    mb = loader_multiboot_detect(b.in.image, b.in.size);
    switch (fmt) {
    case BOOT_FORMAT_BZIMAGE:
        FUZZ_CHECK(bz);
        break;
    case BOOT_FORMAT_PVH:
        FUZZ_CHECK(!bz && pvh);
        break;
    case BOOT_FORMAT_MULTIBOOT:
        FUZZ_CHECK(!bz && !pvh && mb);
        break;
    case BOOT_FORMAT_UNKNOWN:
        FUZZ_CHECK(!bz && !pvh && !mb);
        break;
    default:
        FUZZ_CHECK(fmt == BOOT_FORMAT_TEST_GUEST);
        break;
    }
    ret = loader_load_kernel(&b.in, &b.out, b.why, sizeof(b.why));
    fuzz_boot_check(&b, fmt, ret);
    return 0;
}
