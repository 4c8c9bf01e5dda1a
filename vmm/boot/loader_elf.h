/* SPDX-License-Identifier: MIT */
/*
 * ELF64 x86-64 loader for test guests: checks an image held in memory
 * (every offset, size and address in it is treated as hostile), finds the
 * VMMGUEST note that marks a test guest (devices/testdev_abi.h), and copies
 * the PT_LOAD segments into guest memory through a caller-supplied write
 * function, so that the machine can route the writes through the memory
 * API. Test guests are identity-mapped, so each segment is loaded at its
 * physical address, which must equal its virtual address.
 *
 * Errors: -ENOEXEC for an image that is not an ELF64 little-endian x86-64
 * executable (or a test guest of another ABI version), -EINVAL for a
 * malformed one, -ERANGE when a segment falls outside the allowed guest
 * memory, -E2BIG for more than LOADER_ELF_MAX_LOADS segments, or the
 * write function's error. (why) receives one line naming the problem.
 */
#ifndef VMM_LOADER_ELF_H
#define VMM_LOADER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "mem/types.h"

/* The most PT_LOAD segments an image may have. */
#define LOADER_ELF_MAX_LOADS 64

/* What the loader learnt about an image. */
struct loader_elf_info {
    /* The entry point (a GPA: test guests are identity-mapped). */
    gpa_t entry;
    /* The image carries the VMMGUEST note ... */
    bool test_guest;
    /* ... with this ABI version (0 when test_guest is false). */
    uint32_t abi_version;
    /* The lowest GPA and the end (exclusive) of what PT_LOAD covers. */
    gpa_t lowest;
    gpa_t end;
};

/* Where segments may go: [min_gpa, max_gpa). */
struct loader_elf_limits {
    gpa_t min_gpa;
    gpa_t max_gpa;
};

/* Copy (len) bytes from (buf) to guest-physical (gpa); 0 or -errno. The
 * same as every loader's boot_write_fn. */
typedef boot_write_fn loader_elf_write_fn;

/*
 * Check the headers of the (size)-byte image at (image) and fill (*info)
 * without writing anything. Placement limits are not checked.
 * Returns 0 or -errno (see above) with a reason in (why) (may be NULL).
 */
__attribute__((warn_unused_result)) int
loader_elf_probe(const void *image, size_t size, struct loader_elf_info *info,
                 char *why, size_t whylen);

/*
 * Check the image as loader_elf_probe() does, check that every segment
 * lies in (lim) and that none overlap, then write each segment's file bytes
 * with (write)(opaque, ...) and zero the rest of its memory size. Nothing
 * is written unless every check passes. A test guest of an ABI version
 * other than TESTDEV_ABI_VERSION is refused with -ENOEXEC.
 * Returns 0 and fills (*info), or -errno with a reason in (why).
 */
__attribute__((warn_unused_result)) int
loader_elf_load(const void *image, size_t size,
                const struct loader_elf_limits *lim, loader_elf_write_fn write,
                void *opaque, struct loader_elf_info *info, char *why,
                size_t whylen);

#endif /* VMM_LOADER_ELF_H */
