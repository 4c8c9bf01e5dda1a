/* SPDX-License-Identifier: MIT */
/*
 * The multiboot loader (vmm/boot/loader_multiboot.h) on arbitrary images, with
 * a fake guest whose RAM size, e820 map, cmdline, image name, modules (0
 * to 3) and an injected write failure come from the input (fuzz_boot.h).
 * An image without a valid header is refused; a refused image writes
 * nothing and explains itself in one line; an accepted one starts in
 * 32-bit protected mode at its entry, in what was written, with RAX
 * 0x2BADB002 and RBX at an info block in RAM that describes memory,
 * cmdline, modules and memory map as written.
 *
 * Also QEMU's module list syntax, loader_multiboot_parse_modules(), on a
 * string from the input: a list it accepts must give that string back
 * when its items are joined again (',' between items, ",," for a comma in
 * one), each item with a non-empty path that is its first word; a list it
 * refuses gets one line of why and no result.
 *
 * Input: a length byte and that many bytes of module list, then
 * FUZZ_BOOT_PARAMS bytes of parameters, then the image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_boot.h"
#include "loader_multiboot.h"

static void check_parse_modules(const char *spec)
{
    /* Out-params stay untouched on failure: start them as sentinels. */
    static struct loader_multiboot_module_spec sentinel;
    struct loader_multiboot_module_spec *items = &sentinel;
    size_t nr = 7, len = strlen(spec), at = 0;
    char why[256], *joined;
    int ret;

    why[0] = '\0';
    ret = loader_multiboot_parse_modules(spec, &items, &nr, why, sizeof(why));
    if (ret < 0) {
        FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
        FUZZ_CHECK(why[0] != '\0' && strchr(why, '\n') == NULL);
        FUZZ_CHECK(items == &sentinel && nr == 7);
        return;
    }
    FUZZ_CHECK(ret == 0 && nr >= 1);
    /* Commas double when joined again: at most twice the length. */
    joined = malloc(2 * len + nr + 1);
    FUZZ_CHECK(joined != NULL);
    for (size_t i = 0; i < nr; i++) {
        const char *path = items[i].path, *c = items[i].cmdline;
        size_t plen = strlen(path);

        FUZZ_CHECK(plen > 0 && strchr(path, ' ') == NULL);
        FUZZ_CHECK(strncmp(c, path, plen) == 0);
        FUZZ_CHECK(c[plen] == '\0' || c[plen] == ' ');
        if (i) {
            joined[at++] = ',';
        }
        for (; *c; c++) {
            joined[at++] = *c;
            if (*c == ',') {
                joined[at++] = ',';
            }
        }
        FUZZ_CHECK(at <= 2 * len + nr);
    }
    joined[at] = '\0';
    if (strcmp(joined, spec) != 0) {
        fprintf(stderr, "module list \"%s\" joins back as \"%s\"\n", spec,
                joined);
    }
    FUZZ_CHECK(strcmp(joined, spec) == 0);
    free(joined);
    free(items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_boot b;
    struct fuzz_in in = {data, size};
    size_t n = (size_t)fuzz_take(&in, 1);
    char spec[256];
    bool detected;
    int ret;

    n = n < in.n ? n : in.n;
    memcpy(spec, in.p, n);
    spec[n] = '\0';
    in.p += n;
    in.n -= n;
    check_parse_modules(spec);

    fuzz_boot_setup(&b, &in);
    detected = loader_multiboot_detect(b.in.image, b.in.size);
    ret = loader_multiboot_load(&b.in, &b.out, b.why, sizeof(b.why));
    FUZZ_CHECK(detected || ret < 0);
    fuzz_boot_check(&b, BOOT_FORMAT_MULTIBOOT, ret);
    return 0;
}
