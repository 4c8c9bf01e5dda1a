/* SPDX-License-Identifier: MIT */
/*
 * The one ELF reader of the boot room: the header and program header
 * checks and the note walk that the test-guest loader (loader_elf.c) and
 * the kernel loaders (PVH, multiboot, through loader.c) share. It reads
 * from an image in memory that need not be aligned (fields are copied
 * out), checks every offset against the image's size before use, and
 * writes nothing. Errors are one line in (why), as loader_fail() makes
 * them: -ENOEXEC for "not what we boot", -EINVAL for a broken file.
 */
#ifndef VMM_BOOT_ELF_READER_H
#define VMM_BOOT_ELF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which classes elf_read_hdr() accepts. */
#define ELF_CLASS_32 0x1u
#define ELF_CLASS_64 0x2u

/* The fields of an ELF header the loaders use, whatever the class. */
struct elf_hdr {
    bool is64;
    uint16_t type;
    uint64_t entry;
    uint64_t phoff;
    uint16_t phnum;
    /* e_ident[EI_VERSION], e_version and e_ehsize, for stricter callers. */
    uint8_t ident_version;
    uint32_t version;
    uint16_t ehsize;
};

/* A program header, whatever the class. */
struct elf_phdr {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

/*
 * Read and check the header of the (size)-byte image at (p) into (*h):
 * the magic, a class in (classes) (ELF32 must be for i386, ELF64 for
 * x86-64), little-endian, ET_EXEC, program headers of the class's size,
 * 1 to PN_XNUM - 1 of them, all inside the image. Returns 0 or -errno
 * with (why) set; (*h) is only meaningful on success.
 */
__attribute__((warn_unused_result)) int
elf_read_hdr(const uint8_t *p, size_t size, unsigned classes, struct elf_hdr *h,
             char *why, size_t whylen);

/* Program header (i) of an image whose header elf_read_hdr() accepted. */
void elf_read_phdr(const uint8_t *p, const struct elf_hdr *h, unsigned i,
                   struct elf_phdr *ph);

/*
 * File bytes [off, off + len) of program header (idx) must lie inside an
 * image of (size) bytes. Returns 0 or -EINVAL with (why) set.
 */
__attribute__((warn_unused_result)) int
elf_check_file_range(size_t size, unsigned idx, uint64_t off, uint64_t len,
                     char *why, size_t whylen);

/* What elf_walk_notes() hands its callback for each note. */
struct elf_note {
    const uint8_t *name;
    uint32_t namesz;
    uint32_t type;
    const uint8_t *desc;
    uint32_t descsz;
};

/*
 * Called for each note; returns 0 to go on, 1 to stop the walk (found),
 * or -errno (with (why) set) to fail it.
 */
typedef int (*elf_note_fn)(void *opaque, const struct elf_note *n, char *why,
                           size_t whylen);

/*
 * Walk the notes of PT_NOTE program header (idx), (ph), of the image at
 * (p), whose file range elf_check_file_range() accepted: 4-byte aligned,
 * 8 when the segment's p_align says 8. Returns what the callback last
 * returned (0 when every note was seen), or -EINVAL with (why) set for a
 * truncated note or one that runs past its segment.
 */
__attribute__((warn_unused_result)) int
elf_walk_notes(const uint8_t *p, unsigned idx, const struct elf_phdr *ph,
               elf_note_fn fn, void *opaque, char *why, size_t whylen);

#endif /* VMM_BOOT_ELF_READER_H */
