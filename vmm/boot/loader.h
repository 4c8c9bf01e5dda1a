/* SPDX-License-Identifier: MIT */
/*
 * Kernel images: tell the format from the bytes (never from the file
 * name) and hand the image to its loader (loader_bzimage.h,
 * loader_pvh.h, loader_multiboot.h). Test guests (ELF with the VMMGUEST
 * note) are recognised but loaded with loader_elf_load(): they run at
 * CPL 3 with the machine's own layout, not through a boot protocol.
 *
 * Detection order, first match wins: test guest, bzImage, PVH, multiboot.
 * A bzImage is matched on "HdrS" at 0x202 and the boot flag 0xAA55 at
 * 0x1fe; a PVH kernel is an x86 ELF (32- or 64-bit) with a "Xen" note of
 * type XEN_ELFNOTE_PHYS32_ENTRY (18); a multiboot kernel has the magic
 * 0x1BADB002 at a 4-byte-aligned offset of its first 8192 bytes with a
 * valid checksum. A vmlinux with both a PVH note and a multiboot header
 * boots through PVH, which tells the kernel more (modules, memory map
 * types); Linux bzImages carry no multiboot header.
 *
 * The second half of this header is the toolkit the loader_*.c files
 * share: one-line errors, the e820 map, placement in RAM and a bounds-
 * checked ELF32/ELF64 program header reader. Every image byte is hostile.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"

/*
 * The format of the (size)-byte image at (img), from its bytes alone;
 * BOOT_FORMAT_UNKNOWN for anything else (including NULL). Never writes.
 */
enum boot_format loader_detect(const void *img, size_t size);

/* A short name for (fmt): "bzImage", "PVH", "multiboot", ... */
const char *loader_format_name(enum boot_format fmt);

/*
 * Detect the format of (in->image) and load it with that format's loader,
 * writing through (in->write). On success fill (*out) and return 0; on
 * failure return -errno with one line in (why) and leave (*out) alone:
 * -ENOEXEC for an image that is no kernel we boot (unknown, or a test
 * guest: use loader_elf_load()), or the loader's error. Loaders check
 * everything before their first write: a rejected image writes nothing
 * unless (in->write) itself fails part way.
 */
__attribute__((warn_unused_result)) int
loader_load_kernel(const struct boot_input *in, struct boot_entry *out,
                   char *why, size_t whylen);

/*
 * Fill (out), which holds (max) entries, with the map used when the
 * machine gives none: RAM [0, 640 KiB), reserved [0xf0000, 1 MiB) (the MP
 * table), RAM [1 MiB, ram_below_4g) and RAM [4 GiB, 4 GiB + ram_above_4g).
 * Returns the number of entries written (at most (max)).
 */
size_t loader_e820_default(uint64_t ram_below_4g, uint64_t ram_above_4g,
                           struct boot_e820 *out, size_t max);

/* ---- Shared by the loader_*.c files ---- */

/* The most PT_LOAD segments loader_segs_parse() accepts. */
#define LOADER_MAX_SEGS 64u

/* A half-open range of guest-physical addresses [start, end). */
struct loader_range {
    gpa_t start;
    gpa_t end;
};

/* A PT_LOAD segment with p_memsz > 0 (ELF32 values widened). */
struct loader_seg {
    gpa_t paddr;
    uint64_t vaddr;
    uint64_t offset;
    uint64_t filesz;
    uint64_t memsz;
    uint32_t flags;
};

/* The PT_LOAD segments of an ELF executable. */
struct loader_segs {
    bool is64;
    uint64_t entry;
    unsigned nr;
    struct loader_seg seg[LOADER_MAX_SEGS];
    /* Lowest paddr and the end (exclusive) of what the segments cover. */
    gpa_t lowest;
    gpa_t end;
};

/* The common input after loader_input_check(). */
struct loader_ctx {
    const struct boot_input *in;
    struct boot_e820 e820[BOOT_MAX_E820];
    size_t nr_e820;
};

/*
 * Print the formatted message into (why) (may be NULL) and return (err),
 * so that callers can write `return loader_fail(why, whylen, -EINVAL, ...)`.
 */
__attribute__((format(printf, 4, 5))) int
loader_fail(char *why, size_t whylen, int err, const char *fmt, ...);

/*
 * A kernel release ("6.1.0-57-amd64") at (p + at): the word up to a space
 * or NUL, into (buf) of (len) bytes. Returns 0; -ENOENT when there is none
 * (out of the image, unterminated within 256 bytes, empty, not printable,
 * with a '/' or a leading '.': it names a directory under /lib/modules);
 * -ENOSPC when it does not fit. (buf) holds no partial answer.
 */
__attribute__((warn_unused_result)) int
loader_release_word(const uint8_t *p, size_t size, size_t at, char *buf,
                    size_t len);

/*
 * Check what every loader relies on in (in): an image and a write
 * function, RAM sizes (1 MiB to 4 GiB below 4 GiB), at most
 * BOOT_MAX_MODULES modules, each with data, and an e820 map of at most
 * BOOT_MAX_E820 entries that do not wrap, and an entry (out) to fill.
 * Fill (ctx) with (in) and the effective e820 map. 0 or -errno with (why).
 */
__attribute__((warn_unused_result)) int
loader_input_check(const struct boot_input *in, const struct boot_entry *out,
                   struct loader_ctx *ctx, char *why, size_t whylen);

/* Whether E820_RAM ranges of (ctx) cover all of [gpa, gpa + len). */
bool loader_ram_covers(const struct loader_ctx *ctx, gpa_t gpa, uint64_t len);

/*
 * The end of the RAM that is contiguous from (gpa) in (ctx)'s map, or
 * (gpa) itself when (gpa) is not RAM.
 */
gpa_t loader_ram_contiguous_end(const struct loader_ctx *ctx, gpa_t gpa);

/*
 * Find the highest (align)-aligned (a power of two) (size)-byte range
 * inside E820_RAM, at or above (lo), ending at or below (hi), overlapping
 * none of the (nr_avoid) ranges in (avoid); store its start in (*out).
 * Returns 0 or -ENOSPC.
 */
__attribute__((warn_unused_result)) int
loader_place_high(const struct loader_ctx *ctx, uint64_t size, uint64_t align,
                  gpa_t lo, gpa_t hi, const struct loader_range *avoid,
                  size_t nr_avoid, gpa_t *out);

/* Whether [a, a + alen) and [b, b + blen) share a byte. */
bool loader_overlaps(gpa_t a, uint64_t alen, gpa_t b, uint64_t blen);

/* Write (len) zero bytes at (gpa) through (write). 0 or -errno. */
__attribute__((warn_unused_result)) int
loader_zero(boot_write_fn write, void *opaque, gpa_t gpa, uint64_t len);

/* Write (len) zero bytes at (gpa) through (in->write). 0 or -errno. */
__attribute__((warn_unused_result)) int
loader_write_zero(const struct boot_input *in, gpa_t gpa, uint64_t len);

/*
 * Whether (img) is a little-endian ELF32 (EM_386) or ELF64 (EM_X86_64)
 * image whose header and program headers are inside the file.
 */
bool loader_elf_is_x86(const void *img, size_t size);

/*
 * Look through the PT_NOTE segments of the x86 ELF (img) for a note named
 * (name) of type (type); store its descriptor in (*desc, *descsz).
 * Returns 0, -ENOENT when there is none, or -EINVAL (with why) for a
 * note that runs out of its segment.
 */
__attribute__((warn_unused_result)) int
loader_elf_find_note(const void *img, size_t size, const char *name,
                     uint32_t type, const uint8_t **desc, uint32_t *descsz,
                     char *why, size_t whylen);

/*
 * Read the PT_LOAD segments of the x86 ELF executable (img) into (segs):
 * file bytes inside the file, p_filesz <= p_memsz, no wrap-around, no two
 * segments overlapping in physical memory, at least one segment.
 * -ENOEXEC for no x86 ELF executable, -EINVAL for a malformed one, -E2BIG
 * for more than LOADER_MAX_SEGS segments; (why) says which.
 */
__attribute__((warn_unused_result)) int
loader_segs_parse(const void *img, size_t size, struct loader_segs *segs,
                  char *why, size_t whylen);

/*
 * Check that every segment of (segs) lies in E820_RAM of (ctx), at or
 * above BOOT_KERNEL_MIN_GPA and below 4 GiB (these kernels start with
 * paging off). -ERANGE with (why) otherwise.
 */
__attribute__((warn_unused_result)) int
loader_segs_check_placement(const struct loader_ctx *ctx,
                            const struct loader_segs *segs, char *why,
                            size_t whylen);

/*
 * Write each segment's file bytes at its paddr and zero the rest of its
 * memory size. 0 or the write function's -errno with (why).
 */
__attribute__((warn_unused_result)) int
loader_segs_write(const struct boot_input *in, const struct loader_segs *segs,
                  char *why, size_t whylen);

/*
 * The last step of an ELF kernel's load, once everything is planned and
 * checked: the segments (loader_segs_write()), the modules at (mod_gpa)
 * (loader_modules_write()) and the (info_len)-byte boot information block
 * at BOOT_INFO_GPA, named (info_name) in messages. 0 or -errno with (why).
 */
__attribute__((warn_unused_result)) int
loader_commit(const struct boot_input *in, const struct loader_segs *segs,
              const gpa_t *mod_gpa, const void *info, size_t info_len,
              const char *info_name, char *why, size_t whylen);

/*
 * Write every non-empty module of (in) at its planned GPA (mod_gpa[i]).
 * Returns 0 or the write's -errno with (why) set.
 */
__attribute__((warn_unused_result)) int
loader_modules_write(const struct boot_input *in, const gpa_t *mod_gpa,
                     char *why, size_t whylen);

/* A bump allocator over [BOOT_INFO_GPA, BOOT_INFO_END). */
struct loader_area {
    uint64_t used;
    /* Set once a request did not fit; later requests fail too. */
    bool full;
};

/*
 * Reserve (len) bytes aligned to (align) (a power of two) in (a) and
 * return their offset from BOOT_INFO_GPA; when they do not fit, set
 * (a->full) and return 0.
 */
uint64_t loader_area_take(struct loader_area *a, uint64_t len, uint64_t align);

/* Little-endian accessors for unaligned bytes. */
static inline uint16_t loader_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t loader_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t loader_get64(const uint8_t *p)
{
    return (uint64_t)loader_get32(p) | (uint64_t)loader_get32(p + 4) << 32;
}

static inline void loader_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void loader_put32(uint8_t *p, uint32_t v)
{
    loader_put16(p, (uint16_t)v);
    loader_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void loader_put64(uint8_t *p, uint64_t v)
{
    loader_put32(p, (uint32_t)v);
    loader_put32(p + 4, (uint32_t)(v >> 32));
}

#endif /* VMM_LOADER_H */
