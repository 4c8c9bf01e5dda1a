/* SPDX-License-Identifier: MIT */
/*
 * The bzImage loader (vmm/boot/loader_bzimage.h) on arbitrary images, with a
 * fake guest whose RAM size, e820 map, cmdline, initrd (0 to 2 modules:
 * more than one must be refused) and an injected write failure come from
 * the input (fuzz_boot.h). An image without the HdrS signature is refused
 * with -ENOEXEC; a refused image writes nothing and explains itself in
 * one line; an accepted one starts in long mode at the 64-bit entry, in
 * what was written, with a zero page that describes the kernel, cmdline,
 * initrd and memory map as written.
 *
 * Input: FUZZ_BOOT_PARAMS bytes of parameters, then the image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_boot.h"
#include "loader_bzimage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_boot b;
    struct fuzz_in in = {data, size};
    bool detected;
    int ret;

    fuzz_boot_setup(&b, &in);
    detected = loader_bzimage_detect(b.in.image, b.in.size);
    ret = loader_bzimage_load(&b.in, &b.out, b.why, sizeof(b.why));
    FUZZ_CHECK(detected || ret == (b.in.size ? -ENOEXEC : -EINVAL));
    fuzz_boot_check(&b, BOOT_FORMAT_BZIMAGE, ret);
    return 0;
}
