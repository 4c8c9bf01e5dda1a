/* SPDX-License-Identifier: MIT */
/*
 * The PVH loader (vmm/boot/loader_pvh.h) on arbitrary images, with a fake
 * guest whose RAM size, e820 map, cmdline, modules (0 to 3) and an
 * injected write failure come from the input (fuzz_boot.h). An image
 * without the PVH note is refused; a refused image writes nothing and
 * explains itself in one line; an accepted one starts in 32-bit protected
 * mode at its entry, in what was written, with RBX at an hvm_start_info
 * in RAM that describes the cmdline, modules and memory map as written.
 *
 * Input: FUZZ_BOOT_PARAMS bytes of parameters, then the image.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_boot.h"
#include "loader_pvh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_boot b;
    struct fuzz_in in = {data, size};
    bool detected;
    int ret;

    fuzz_boot_setup(&b, &in);
    detected = loader_pvh_detect(b.in.image, b.in.size);
    ret = loader_pvh_load(&b.in, &b.out, b.why, sizeof(b.why));
    FUZZ_CHECK(detected || ret < 0);
    fuzz_boot_check(&b, BOOT_FORMAT_PVH, ret);
    return 0;
}
