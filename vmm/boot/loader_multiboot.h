/* SPDX-License-Identifier: MIT */
/*
 * Multiboot (version 0.6.96) loader, following what QEMU's -kernel does
 * with such kernels. The header lies wholly in the first 8192 bytes, at a
 * 4-byte-aligned offset, with magic + flags + checksum == 0. With flags
 * bit 16 the a.out-kludge addresses place the image (even in an ELF file,
 * as QEMU and GRUB do); otherwise the file must be an x86 ELF (ELF32, or
 * ELF64 with every address below 4 GiB: QEMU takes only ELF32) whose
 * PT_LOAD segments go to their p_paddr, and whose e_entry is used as a
 * physical address, or translated through the segment that maps it
 * virtually when it is not in a physical range. Images load at 1 MiB or
 * above.
 *
 * Modules follow the kernel's end (bss included), each page-aligned. The
 * info block, cmdline "<image_name> <cmdline>" (just the name when the
 * cmdline is empty, just the cmdline when there is no name), memory map
 * (from the e820 map), module list and strings and the boot loader name
 * "vmm" are packed at BOOT_INFO_GPA, above 64 KiB. Info flags: MEM
 * (mem_lower: KiB of RAM from 0, at most 640; mem_upper: KiB of RAM
 * contiguous from 1 MiB), CMDLINE, MODS, MMAP, BOOT_LOADER_NAME.
 *
 * Header flags bits 0 (page-align modules: always done) and 1 (memory
 * information: always given) are honoured; bit 2 (a video mode) is
 * accepted and ignored, as QEMU does; any other bit in 0-15 makes the
 * image unbootable, as the specification requires.
 *
 * Returns BOOT_MODE_PROT32 with RIP = the entry, RAX = 0x2BADB002 and RBX
 * = the info block.
 */
#ifndef VMM_LOADER_MULTIBOOT_H
#define VMM_LOADER_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>

#include "boot.h"

#define MULTIBOOT_HEADER_MAGIC 0x1badb002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u
/* The header must lie within this many bytes from the start of the file. */
#define MULTIBOOT_SEARCH 8192u

/* Whether (img) has a multiboot header with a valid checksum. */
bool loader_multiboot_detect(const void *img, size_t size);

/*
 * Find the multiboot header of (img) (the first magic with a valid
 * checksum) and store its file offset in (*off). Returns 0, -ENOENT when
 * no magic is in the first MULTIBOOT_SEARCH bytes, or -ENOEXEC with one
 * line in (why) for a magic with a bad checksum or a header that runs
 * past MULTIBOOT_SEARCH bytes or the end of the file.
 */
__attribute__((warn_unused_result)) int
loader_multiboot_find_header(const void *img, size_t size, size_t *off,
                             char *why, size_t whylen);

/*
 * Load the multiboot kernel (in->image) and its modules; the multiboot
 * string of each module is its cmdline (its name when cmdline is NULL).
 * Returns 0 and fills (*out), or -errno with one line in (why): -ENOEXEC
 * for no (valid) multiboot header or an unsupported required feature,
 * -EINVAL for malformed addresses or ELF, -ERANGE when the image or a
 * module is outside RAM, below 1 MiB or above 4 GiB, -E2BIG when the
 * boot information exceeds its area, or the write function's error.
 * Nothing is written unless every check passes.
 */
__attribute__((warn_unused_result)) int
loader_multiboot_load(const struct boot_input *in, struct boot_entry *out,
                      char *why, size_t whylen);

/* One item of a module list: a file to read and its multiboot string. */
struct loader_multiboot_module_spec {
    /* The file name: the item up to its first space. */
    const char *path;
    /* The whole item, "path arg...", as QEMU passes it. */
    const char *cmdline;
};

/*
 * Split QEMU's `-initrd "file1 arg,file2"` syntax: items are separated by
 * ',' and ",," stands for a literal comma. Each item needs a file name
 * (no empty item, no leading space). On success store a malloc'd array of
 * (*nr) items in (*out), strings included: release it with one free().
 * Returns 0, -EINVAL with one line in (why), or -ENOMEM.
 */
__attribute__((warn_unused_result)) int
loader_multiboot_parse_modules(const char *spec,
                               struct loader_multiboot_module_spec **out,
                               size_t *nr, char *why, size_t whylen);

#endif /* VMM_LOADER_MULTIBOOT_H */
