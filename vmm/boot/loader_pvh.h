/* SPDX-License-Identifier: MIT */
/*
 * PVH loader (the x86/HVM direct boot ABI of Xen's
 * public/arch-x86/hvm/start_info.h, as QEMU and Firecracker use it for
 * vmlinux): an x86 ELF (32- or 64-bit) with a "Xen" note of type
 * XEN_ELFNOTE_PHYS32_ENTRY giving the 32-bit physical entry point. The
 * PT_LOAD segments go to their p_paddr (1 MiB and up, below 4 GiB, in
 * RAM); modules (the first is Linux's initrd) go as high as they fit
 * below 4 GiB, page-aligned; hvm_start_info version 1 (module list,
 * cmdline, memory map from the e820 map, no RSDP) goes to BOOT_INFO_GPA.
 * Returns BOOT_MODE_PROT32 with RIP = the entry, RBX = hvm_start_info.
 */
#ifndef VMM_LOADER_PVH_H
#define VMM_LOADER_PVH_H

#include <stdbool.h>
#include <stddef.h>

#include "boot.h"

/* hvm_start_info.magic */
#define PVH_START_INFO_MAGIC 0x336ec578u
/* The Xen note type that holds the PVH entry point. */
#define PVH_XEN_ELFNOTE_PHYS32_ENTRY 18u

/* Whether (img) is an x86 ELF carrying the PVH entry note. */
bool loader_pvh_detect(const void *img, size_t size);

/*
 * Load the PVH kernel (in->image) and its modules. Returns 0 and fills
 * (*out), or -errno with one line in (why): -ENOEXEC for no x86 ELF or no
 * PVH note, -EINVAL for a malformed image, -ERANGE when a segment, module
 * or the boot information does not fit, -E2BIG for too many segments, or
 * the write function's error. Nothing is written unless every check
 * passes.
 */
__attribute__((warn_unused_result)) int
loader_pvh_load(const struct boot_input *in, struct boot_entry *out, char *why,
                size_t whylen);

/*
 * The kernel release a PVH vmlinux names in its linux_banner ("Linux
 * version 6.1.0-57-amd64 (builder@host) ..."), the first such string in
 * the image, into (buf) of (len) bytes. Returns 0, -ENOENT when there is
 * none (no PVH kernel, no banner, a release loader_release_word() refuses)
 * or -ENOSPC when it does not fit.
 */
__attribute__((warn_unused_result)) int
loader_pvh_release(const void *img, size_t size, char *buf, size_t len);

#endif /* VMM_LOADER_PVH_H */
