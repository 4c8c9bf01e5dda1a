/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst): check the setup header (protocol 2.12 or later, LOADED_HIGH,
 * XLF_KERNEL_64, relocatable or a pref_address that fits, a power-of-two
 * kernel_alignment, init_size, a file holding the whole setup and
 * protected-mode kernel), copy the protected-mode kernel to pref_address
 * when its init_size window fits in RAM there (else, when relocatable, to
 * the lowest kernel_alignment-aligned RAM address above pref_address
 * where it fits), build the zero page at BOOT_ZERO_PAGE_GPA with the
 * setup header, the cmdline (at BOOT_CMDLINE_GPA), the initrd (placed as
 * high as it fits below initrd_addr_max, 4 GiB and the end of RAM, page-
 * aligned, clear of the kernel's window) and the e820 map, and return
 * BOOT_MODE_LONG64 with RIP = load address + 0x200 and RSI = the zero page.
 *
 * The real-mode setup code never runs: the header's heap fields are not
 * used (CAN_USE_HEAP is cleared), and fields a hostile image could use to
 * steer the kernel (setup_data, hardware_subarch) are zeroed.
 */
#ifndef VMM_LOADER_BZIMAGE_H
#define VMM_LOADER_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "boot.h"

/*
 * Whether (img) looks like a bzImage: boot flag 0xAA55 at 0x1fe and "HdrS"
 * at 0x202. Nothing else is checked.
 */
bool loader_bzimage_detect(const void *img, size_t size);

/*
 * Load the bzImage (in->image) with at most one module, the initrd.
 * Returns 0 and fills (*out), or -errno with one line in (why): -ENOEXEC
 * for no bzImage or one we cannot enter (old protocol, no 64-bit entry),
 * -EINVAL for a malformed or truncated one, -ERANGE when the kernel,
 * initrd or cmdline does not fit, -E2BIG for more than one module, or the
 * write function's error. Nothing is written unless every check passes.
 */
__attribute__((warn_unused_result)) int
loader_bzimage_load(const struct boot_input *in, struct boot_entry *out,
                    char *why, size_t whylen);

/*
 * The kernel release a bzImage names in its header ("6.1.0-57-amd64": the
 * first word of the string at kernel_version + 0x200, boot protocol 2.00
 * and later) into (buf) of (len) bytes. Returns 0, or -ENOENT when the
 * image has none (no bzImage, an older protocol, a zero pointer, a string
 * out of the image, unterminated within 256 bytes, empty, not printable,
 * with a '/' or a leading '.': it names a directory under /lib/modules)
 * and -ENOSPC when it does not fit (buf) holds no partial answer then.
 */
__attribute__((warn_unused_result)) int
loader_bzimage_release(const void *img, size_t size, char *buf, size_t len);

#endif /* VMM_LOADER_BZIMAGE_H */
