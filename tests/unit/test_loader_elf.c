/* SPDX-License-Identifier: MIT */
/*
 * ELF loader tests (vmm/boot/loader_elf.h). Every case starts from the embedded
 * hello guest, applies a few edits to its headers, notes, size or to the
 * placement limits, and states what loader_elf_probe() and
 * loader_elf_load() must return. For each case, run with the image at an
 * aligned and at an odd address, in a buffer of exactly the image's size
 * (so that ASan catches any read past its end):
 *
 *  - both calls return the expected value; a rejection fills (why) with
 *    one non-empty line that names the reason, honours (whylen) (NULL, 0
 *    and short buffers) and leaves (*info) alone;
 *  - a rejected image is never written (the write function is not called);
 *  - an accepted image reports the entry, the test-guest note and the
 *    covered range, and guest memory afterwards holds exactly each
 *    PT_LOAD's file bytes followed by zeros, with nothing written elsewhere.
 *
 * Then a seeded storm of random mutations and truncations checks the same
 * invariants on images nobody wrote a case for.
 *
 * Usage: test_loader_elf [SEED [ITERATIONS]].
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/testdev_abi.h"
#include "guest_embed.h"
#include "loader_elf.h"
#include "unit.h"

static unsigned unit_failures;

/* Guest RAM of the fake machine: GPA 0 is ram[0]. */
#define RAM_SIZE 0x400000ull
/* What RAM holds before a load, so that stray and missing writes show. */
#define RAM_FILL 0xa5
/* Room for the image plus a relocated, larger program header table. */
#define IMG_EXTRA 0x10000u
/* Where extra PT_LOADs go by default (free in the hello guest's layout). */
#define EXTRA_BASE 0x300000ull
#define DEFAULT_SEED 0x10adeu
#define DEFAULT_ITERATIONS 50000u

/* ---- the fake guest memory the loader writes to ---- */

struct sink {
    uint8_t *ram;
    struct loader_elf_limits lim;
    unsigned calls;
    /* Fail call number (fail_at) (1-based) with -EIO; 0: never. */
    unsigned fail_at;
    /* Writes outside [lim.min_gpa, lim.max_gpa). */
    unsigned bad;
};

static int sink_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
{
    struct sink *s = opaque;

    s->calls++;
    if (s->fail_at && s->calls == s->fail_at) {
        return -EIO;
    }
    if (gpa < s->lim.min_gpa || gpa > s->lim.max_gpa ||
        len > s->lim.max_gpa - gpa || gpa + len > RAM_SIZE) {
        s->bad++;
        return -EFAULT;
    }
    memcpy(s->ram + gpa, buf, len);
    return 0;
}

/* ---- images and edits ---- */

/* A writable copy of the hello guest being edited. */
struct image {
    uint8_t *b;
    size_t size;
    size_t cap;
};

/* The program headers of the hello guest, found by role (see guest.ld). */
enum role {
    R_TEXT,   /* PT_LOAD R+X: code; holds the entry */
    R_RODATA, /* PT_LOAD R: the note and read-only data */
    R_DATA,   /* PT_LOAD R+W: data and bss (no file bytes) */
    R_NOTE,   /* PT_NOTE: the VMMGUEST note */
    R_NR,
};

static const char *const role_names[R_NR] = {"text", "rodata", "data", "note"};

/* Filled by find_roles() from the pristine image. */
static const uint8_t *pristine;
static size_t pristine_size;
static uint64_t pristine_phoff;
static unsigned pristine_phnum;
static unsigned role_index[R_NR];

/* What a value in a case is relative to (B_OLD: the current value). */
enum base {
    B_OLD,
    B_ABS,
    B_SIZE,        /* the image's size */
    B_PH_END,      /* the end of the program header table */
    B_SEG_END,     /* the end of the last file bytes any segment uses */
    B_TEXT_OFF,    /* text p_offset */
    B_TEXT_ADDR,   /* text p_paddr */
    B_TEXT_END,    /* text p_paddr + p_memsz */
    B_RODATA_ADDR, /* rodata p_paddr */
    B_IMG_END,     /* the end of the highest PT_LOAD */
};

struct val {
    enum base base;
    uint64_t delta;
};

/* Where an edit writes. */
enum where {
    W_NONE, /* end of the list */
    W_EHDR, /* offset in the ELF header */
    W_PHDR, /* offset in the program header of (role) */
    W_NOTE, /* offset in the note segment's file bytes */
};

struct edit {
    enum where where;
    enum role role;
    unsigned off;
    unsigned width;
    struct val v;
};

#define FIELD_SIZE(type, f) sizeof(((type *)0)->f)
#define VAL(b, d)                                                              \
    {                                                                          \
        .base = (b), .delta = (uint64_t)(d)                                    \
    }
#define EH(f, b, d)                                                            \
    {                                                                          \
        .where = W_EHDR, .off = offsetof(Elf64_Ehdr, f),                       \
        .width = FIELD_SIZE(Elf64_Ehdr, f), .v = VAL(b, d)                     \
    }
#define IDENT(i, d)                                                            \
    {                                                                          \
        .where = W_EHDR, .off = (i), .width = 1, .v = VAL(B_ABS, d)            \
    }
#define PH(r, f, b, d)                                                         \
    {                                                                          \
        .where = W_PHDR, .role = (r), .off = offsetof(Elf64_Phdr, f),          \
        .width = FIELD_SIZE(Elf64_Phdr, f), .v = VAL(b, d)                     \
    }
/* Both p_paddr and p_vaddr (test guests are identity-mapped). */
#define PADDR(r, b, d) PH(r, p_paddr, b, d), PH(r, p_vaddr, b, d)
/* Note words: 0 namesz, 1 descsz, 2 type, 3-5 name, 6 descriptor. */
#define NOTE_WORD(i, d)                                                        \
    {                                                                          \
        .where = W_NOTE, .off = 4 * (i), .width = 4, .v = VAL(B_ABS, d)        \
    }
#define NOTE_BYTE(i, d)                                                        \
    {                                                                          \
        .where = W_NOTE, .off = (i), .width = 1, .v = VAL(B_ABS, d)            \
    }

#define MAX_EDITS 4

struct elf_case {
    const char *name;
    struct edit edits[MAX_EDITS];
    /* Append this many PT_LOADs of (extra_memsz) bytes (no file bytes),
     * (extra_step) apart from (extra_addr) (0: EXTRA_BASE). */
    unsigned extra_loads;
    uint64_t extra_addr;
    uint64_t extra_step;
    uint64_t extra_memsz;
    /* The image's size after the edits (B_OLD: unchanged). */
    struct val size;
    /* Placement limits (B_OLD: TESTDEV_GUEST_MIN_GPA and RAM_SIZE). */
    struct val lim_min;
    struct val lim_max;
    /* The write function fails on this call (1-based; 0: never). */
    unsigned fail_write_at;
    int probe_err;
    int load_err;
    /* For a successful probe. */
    bool test_guest;
    uint32_t abi_version;
    /* A word the reason must contain, when one is expected. */
    const char *why;
};

static uint64_t get_le(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < width; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void put_le(uint8_t *p, unsigned width, uint64_t v)
{
    for (unsigned i = 0; i < width; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Program header (i) of the table at (phoff) of the image (b), copied. */
static Elf64_Phdr ph_at(const uint8_t *b, uint64_t phoff, unsigned i)
{
    Elf64_Phdr ph;

    memcpy(&ph, b + phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
    return ph;
}

/* The program header of (role) in (im)'s original table. */
static Elf64_Phdr role_ph(const struct image *im, enum role role)
{
    return ph_at(im->b, pristine_phoff, role_index[role]);
}

static uint64_t image_phoff(const uint8_t *b)
{
    return get_le(b + offsetof(Elf64_Ehdr, e_phoff), 8);
}

static unsigned image_phnum(const uint8_t *b)
{
    return (unsigned)get_le(b + offsetof(Elf64_Ehdr, e_phnum), 2);
}

/* The end of the highest PT_LOAD of the table of (b) (a valid image). */
static uint64_t loads_end(const uint8_t *b)
{
    uint64_t end = 0;

    for (unsigned i = 0; i < image_phnum(b); i++) {
        Elf64_Phdr ph = ph_at(b, image_phoff(b), i);

        if (ph.p_type == PT_LOAD && ph.p_memsz &&
            ph.p_paddr + ph.p_memsz > end) {
            end = ph.p_paddr + ph.p_memsz;
        }
    }
    return end;
}

static uint64_t resolve(const struct image *im, struct val v, uint64_t old)
{
    Elf64_Phdr text = role_ph(im, R_TEXT);
    uint64_t b = 0;

    switch (v.base) {
    case B_OLD:
        b = old;
        break;
    case B_ABS:
        break;
    case B_SIZE:
        b = im->size;
        break;
    case B_PH_END:
        b = pristine_phoff + (uint64_t)pristine_phnum * sizeof(Elf64_Phdr);
        break;
    case B_SEG_END:
        for (unsigned r = 0; r < R_NR; r++) {
            Elf64_Phdr ph = role_ph(im, (enum role)r);

            if (ph.p_filesz && ph.p_offset + ph.p_filesz > b) {
                b = ph.p_offset + ph.p_filesz;
            }
        }
        break;
    case B_TEXT_OFF:
        b = text.p_offset;
        break;
    case B_TEXT_ADDR:
        b = text.p_paddr;
        break;
    case B_TEXT_END:
        b = text.p_paddr + text.p_memsz;
        break;
    case B_RODATA_ADDR:
        b = role_ph(im, R_RODATA).p_paddr;
        break;
    case B_IMG_END:
        b = loads_end(im->b);
        break;
    }
    return b + v.delta;
}

static void apply_edit(struct image *im, const struct edit *e)
{
    uint64_t off = 0;

    switch (e->where) {
    case W_NONE:
        return;
    case W_EHDR:
        off = e->off;
        break;
    case W_PHDR:
        off =
            pristine_phoff + role_index[e->role] * sizeof(Elf64_Phdr) + e->off;
        break;
    case W_NOTE:
        off = role_ph(im, R_NOTE).p_offset + e->off;
        break;
    }
    put_le(im->b + off, e->width,
           resolve(im, e->v, get_le(im->b + off, e->width)));
}

/* Move the program header table to the end of the file with (extra) more
 * entries, and return the first new one. */
static uint8_t *grow_phdrs(struct image *im, unsigned extra)
{
    unsigned old = image_phnum(im->b);
    size_t off = (im->size + 7) & ~(size_t)7;
    size_t need = off + (old + extra) * sizeof(Elf64_Phdr);

    if (need > im->cap) {
        fprintf(stderr, "test_loader_elf: %u extra headers do not fit\n",
                extra);
        abort();
    }
    memset(im->b + im->size, 0, need - im->size);
    memcpy(im->b + off, im->b + image_phoff(im->b), old * sizeof(Elf64_Phdr));
    put_le(im->b + offsetof(Elf64_Ehdr, e_phoff), 8, off);
    put_le(im->b + offsetof(Elf64_Ehdr, e_phnum), 2, old + extra);
    im->size = need;
    return im->b + off + old * sizeof(Elf64_Phdr);
}

/* Build the image of (c) in (im), whose buffer is (im->cap) bytes. */
static void build_image(const struct elf_case *c, struct image *im)
{
    memcpy(im->b, pristine, pristine_size);
    im->size = pristine_size;
    for (unsigned i = 0; i < MAX_EDITS; i++) {
        apply_edit(im, &c->edits[i]);
    }
    if (c->extra_loads) {
        uint8_t *p = grow_phdrs(im, c->extra_loads);
        uint64_t addr = c->extra_addr ? c->extra_addr : EXTRA_BASE;

        for (unsigned i = 0; i < c->extra_loads; i++) {
            Elf64_Phdr ph = {
                .p_type = PT_LOAD,
                .p_flags = PF_R,
                .p_vaddr = addr + i * c->extra_step,
                .p_paddr = addr + i * c->extra_step,
                .p_memsz = c->extra_memsz,
                .p_align = 0x1000,
            };

            memcpy(p + i * sizeof(ph), &ph, sizeof(ph));
        }
    }
    im->size = (size_t)resolve(im, c->size, im->size);
}

/* ---- the cases ---- */

#define MIN_GPA TESTDEV_GUEST_MIN_GPA

static const struct elf_case cases[] = {
    /* Accepted images. */
    {.name = "valid hello guest", .test_guest = true, .abi_version = 1},
    {.name = "cut after the last segment byte (no section headers)",
     .size = {B_SEG_END, 0},
     .test_guest = true,
     .abi_version = 1},
    {.name = "image ends exactly at max_gpa",
     .lim_max = {B_IMG_END, 0},
     .test_guest = true,
     .abi_version = 1},
    {.name = "adjacent segments",
     .edits = {PADDR(R_RODATA, B_TEXT_END, 0)},
     .test_guest = true,
     .abi_version = 1},
    {.name = "empty PT_LOAD inside another is ignored",
     .extra_loads = 1,
     .extra_addr = MIN_GPA,
     .extra_memsz = 0,
     .test_guest = true,
     .abi_version = 1},
    {.name = "64 PT_LOADs (the maximum)",
     .extra_loads = LOADER_ELF_MAX_LOADS - 3,
     .extra_step = 0x1000,
     .extra_memsz = 0x1000,
     .test_guest = true,
     .abi_version = 1},
    {.name = "entry at the last byte of text",
     .edits = {EH(e_entry, B_TEXT_END, -1)},
     .test_guest = true,
     .abi_version = 1},
    {.name = "note align 8 is still found",
     .edits = {PH(R_NOTE, p_align, B_ABS, 8)},
     .test_guest = true,
     .abi_version = 1},
    /* Accepted, but not test guests. */
    {.name = "no PT_NOTE (unknown header type ignored)",
     .edits = {PH(R_NOTE, p_type, B_ABS, PT_GNU_STACK)}},
    {.name = "note named VMMGUESX", .edits = {NOTE_BYTE(12 + 7, 'X')}},
    {.name = "VMMGUEST note of another type", .edits = {NOTE_WORD(2, 2)}},
    {.name = "note name without its NUL (namesz 8)",
     .edits = {NOTE_WORD(0, 8), PH(R_NOTE, p_filesz, B_ABS, 24)}},
    {.name = "empty PT_NOTE", .edits = {PH(R_NOTE, p_filesz, B_ABS, 0)}},
    /* Truncated. */
    {.name = "empty file",
     .size = {B_ABS, 0},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "magic"},
    {.name = "3 bytes (inside the magic)",
     .size = {B_ABS, 3},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "magic"},
    {.name = "4 bytes (the magic only)",
     .size = {B_ABS, 4},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "truncated"},
    {.name = "63 bytes (inside the ELF header)",
     .size = {B_ABS, sizeof(Elf64_Ehdr) - 1},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "truncated"},
    {.name = "ELF header only",
     .size = {B_ABS, sizeof(Elf64_Ehdr)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "cut inside the first program header",
     .size = {B_ABS, sizeof(Elf64_Ehdr) + 20},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "cut one byte short of the program headers",
     .size = {B_PH_END, -1},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "cut inside the code's file bytes",
     .size = {B_TEXT_OFF, 0x100},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "past the end"},
    {.name = "cut one byte short of the last segment byte",
     .size = {B_SEG_END, -1},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "past the end"},
    /* ELF header. */
    {.name = "wrong magic (byte 0)",
     .edits = {IDENT(EI_MAG0, 0x7e)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "magic"},
    {.name = "wrong magic (byte 3)",
     .edits = {IDENT(EI_MAG3, 'f')},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "magic"},
    {.name = "32-bit class",
     .edits = {IDENT(EI_CLASS, ELFCLASS32)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "64-bit"},
    {.name = "class none",
     .edits = {IDENT(EI_CLASS, ELFCLASSNONE)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "64-bit"},
    {.name = "big-endian",
     .edits = {IDENT(EI_DATA, ELFDATA2MSB)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "little-endian"},
    {.name = "data encoding none",
     .edits = {IDENT(EI_DATA, ELFDATANONE)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "little-endian"},
    {.name = "machine i386",
     .edits = {EH(e_machine, B_ABS, EM_386)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "machine"},
    {.name = "machine aarch64",
     .edits = {EH(e_machine, B_ABS, EM_AARCH64)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "machine"},
    {.name = "type ET_DYN (PIE)",
     .edits = {EH(e_type, B_ABS, ET_DYN)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "type"},
    {.name = "type ET_REL",
     .edits = {EH(e_type, B_ABS, ET_REL)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "type"},
    {.name = "type ET_CORE",
     .edits = {EH(e_type, B_ABS, ET_CORE)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "type"},
    {.name = "EI_VERSION 0",
     .edits = {IDENT(EI_VERSION, EV_NONE)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "version"},
    {.name = "e_version 2",
     .edits = {EH(e_version, B_ABS, 2)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "version"},
    {.name = "e_ehsize 63",
     .edits = {EH(e_ehsize, B_ABS, sizeof(Elf64_Ehdr) - 1)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "e_ehsize"},
    {.name = "e_phentsize 32 (ELF32)",
     .edits = {EH(e_phentsize, B_ABS, sizeof(Elf32_Phdr))},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "e_phentsize"},
    {.name = "e_phentsize 64",
     .edits = {EH(e_phentsize, B_ABS, 64)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "e_phentsize"},
    {.name = "e_phnum 0",
     .edits = {EH(e_phnum, B_ABS, 0)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "count"},
    {.name = "e_phnum PN_XNUM",
     .edits = {EH(e_phnum, B_ABS, PN_XNUM)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "count"},
    {.name = "e_phnum 0xfffe (table past the end)",
     .edits = {EH(e_phnum, B_ABS, 0xfffe)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "e_phoff at the end of the file",
     .edits = {EH(e_phoff, B_SIZE, 0)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "table one byte past the end of the file",
     .edits = {EH(e_phoff, B_SIZE, -(4 * (int64_t)sizeof(Elf64_Phdr)) + 1)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "e_phoff + table size wraps",
     .edits = {EH(e_phoff, B_ABS, UINT64_MAX - 10)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    {.name = "e_phoff + table size is exactly 2^64",
     .edits = {EH(e_phoff, B_ABS, -(4 * (int64_t)sizeof(Elf64_Phdr)))},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "program headers"},
    /* Segment file bytes. */
    {.name = "p_offset + p_filesz past the end of the file",
     .edits = {PH(R_TEXT, p_offset, B_SIZE, -4)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "past the end"},
    {.name = "p_offset + p_filesz wraps",
     .edits = {PH(R_TEXT, p_offset, B_ABS, UINT64_MAX - 4)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "past the end"},
    {.name = "p_filesz larger than the file",
     .edits = {PH(R_TEXT, p_filesz, B_ABS, 1 << 20),
               PH(R_TEXT, p_memsz, B_ABS, 1 << 20)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "past the end"},
    {.name = "p_filesz > p_memsz",
     .edits = {PH(R_TEXT, p_memsz, B_OLD, -1)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "p_filesz"},
    {.name = "p_vaddr != p_paddr",
     .edits = {PH(R_TEXT, p_vaddr, B_OLD, 0x1000)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "identity"},
    /* Placement. */
    {.name = "segment below the minimum GPA",
     .edits = {PADDR(R_TEXT, B_ABS, MIN_GPA / 2),
               EH(e_entry, B_ABS, MIN_GPA / 2)},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "below"},
    {.name = "segment at GPA 0",
     .edits = {PADDR(R_TEXT, B_ABS, 0), EH(e_entry, B_ABS, 0)},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "below"},
    {.name = "segment straddling the minimum GPA",
     .edits = {PADDR(R_TEXT, B_ABS, MIN_GPA - 0x800),
               EH(e_entry, B_ABS, MIN_GPA - 0x800)},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "below"},
    {.name = "min_gpa one byte above the lowest segment",
     .lim_min = {B_TEXT_ADDR, 1},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "below"},
    {.name = "image ends one byte beyond max_gpa",
     .lim_max = {B_IMG_END, -1},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "RAM"},
    {.name = "bss of 1 TiB (beyond RAM)",
     .edits = {PH(R_DATA, p_memsz, B_ABS, 1ull << 40)},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "RAM"},
    {.name = "segment just past the end of RAM",
     .edits = {PADDR(R_DATA, B_ABS, RAM_SIZE)},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "RAM"},
    {.name = "segment above 4 GiB",
     .edits = {PADDR(R_DATA, B_ABS, 0x100000000ull)},
     .load_err = -ERANGE,
     .test_guest = true,
     .abi_version = 1,
     .why = "RAM"},
    {.name = "huge p_memsz wraps around",
     .edits = {PH(R_DATA, p_memsz, B_ABS, UINT64_MAX - 0xfff)},
     .probe_err = -ERANGE,
     .load_err = -ERANGE,
     .why = "wraps"},
    {.name = "p_memsz 2^64 - 1",
     .edits = {PH(R_DATA, p_memsz, B_ABS, UINT64_MAX)},
     .probe_err = -ERANGE,
     .load_err = -ERANGE,
     .why = "wraps"},
    {.name = "p_paddr near 2^64 wraps",
     .edits = {PADDR(R_DATA, B_ABS, UINT64_MAX - 0xfff)},
     .probe_err = -ERANGE,
     .load_err = -ERANGE,
     .why = "wraps"},
    {.name = "segment ending exactly at 2^64",
     .edits = {PADDR(R_DATA, B_ABS, -0x1000),
               PH(R_DATA, p_memsz, B_ABS, 0x1000)},
     .probe_err = -ERANGE,
     .load_err = -ERANGE,
     .why = "wraps"},
    /* Overlaps. */
    {.name = "overlapping segments",
     .edits = {PADDR(R_RODATA, B_TEXT_ADDR, 0x800)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "overlaps"},
    {.name = "overlapping by one byte",
     .edits = {PADDR(R_RODATA, B_TEXT_END, -1)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "overlaps"},
    {.name = "two segments at the same address",
     .edits = {PADDR(R_RODATA, B_TEXT_ADDR, 0)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "overlaps"},
    {.name = "segment inside another",
     .edits = {PADDR(R_DATA, B_TEXT_ADDR, 0x100),
               PH(R_DATA, p_memsz, B_ABS, 0x10)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "overlaps"},
    {.name = "segment covering another",
     .edits = {PADDR(R_DATA, B_ABS, MIN_GPA - 0x1000),
               PH(R_DATA, p_memsz, B_ABS, 0x100000)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "overlaps"},
    /* Too many segments. */
    {.name = "65 PT_LOADs",
     .extra_loads = LOADER_ELF_MAX_LOADS - 2,
     .extra_step = 0x1000,
     .extra_memsz = 0x1000,
     .probe_err = -E2BIG,
     .load_err = -E2BIG,
     .why = "PT_LOAD"},
    {.name = "1000 PT_LOADs",
     .extra_loads = 997,
     .extra_step = 0x100,
     .extra_memsz = 0x100,
     .probe_err = -E2BIG,
     .load_err = -E2BIG,
     .why = "PT_LOAD"},
    /* Entry point. */
    {.name = "entry outside every segment",
     .edits = {EH(e_entry, B_ABS, 0x100)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "entry"},
    {.name = "entry in a non-executable segment",
     .edits = {EH(e_entry, B_RODATA_ADDR, 0)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "entry"},
    {.name = "entry one byte past the code",
     .edits = {EH(e_entry, B_TEXT_END, 0)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "entry"},
    {.name = "code not executable",
     .edits = {PH(R_TEXT, p_flags, B_ABS, PF_R)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "entry"},
    /* Program header types. */
    {.name = "no PT_LOAD",
     .edits = {PH(R_TEXT, p_type, B_ABS, PT_NULL),
               PH(R_RODATA, p_type, B_ABS, PT_NULL),
               PH(R_DATA, p_type, B_ABS, PT_NULL)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "PT_LOAD"},
    {.name = "PT_INTERP",
     .edits = {PH(R_NOTE, p_type, B_ABS, PT_INTERP)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "dynamic"},
    {.name = "PT_DYNAMIC",
     .edits = {PH(R_NOTE, p_type, B_ABS, PT_DYNAMIC)},
     .probe_err = -ENOEXEC,
     .load_err = -ENOEXEC,
     .why = "dynamic"},
    /* Notes with bad sizes. */
    {.name = "note namesz 2^32 - 1",
     .edits = {NOTE_WORD(0, UINT32_MAX)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "note"},
    {.name = "note descsz 2^32 - 16",
     .edits = {NOTE_WORD(1, UINT32_MAX - 15)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "note"},
    {.name = "note name past its segment",
     .edits = {NOTE_WORD(0, 0x20)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "note"},
    {.name = "note descriptor one byte past its segment",
     .edits = {PH(R_NOTE, p_filesz, B_OLD, -1)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "note"},
    {.name = "note header truncated",
     .edits = {PH(R_NOTE, p_filesz, B_ABS, 5)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "note"},
    {.name = "note past the end of the file",
     .edits = {PH(R_NOTE, p_offset, B_SIZE, -4)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "past the end"},
    {.name = "VMMGUEST descriptor of 0 bytes",
     .edits = {NOTE_WORD(1, 0)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "descriptor"},
    {.name = "VMMGUEST descriptor of 8 bytes",
     .edits = {NOTE_WORD(1, 8), PH(R_NOTE, p_filesz, B_OLD, 4)},
     .probe_err = -EINVAL,
     .load_err = -EINVAL,
     .why = "descriptor"},
    /* Test guests of another ABI. */
    {.name = "ABI version 2",
     .edits = {NOTE_WORD(6, 2)},
     .load_err = -ENOEXEC,
     .test_guest = true,
     .abi_version = 2,
     .why = "ABI"},
    {.name = "ABI version 0",
     .edits = {NOTE_WORD(6, 0)},
     .load_err = -ENOEXEC,
     .test_guest = true,
     .abi_version = 0,
     .why = "ABI"},
    /* The write function's errors. */
    {.name = "write fails on the first call",
     .fail_write_at = 1,
     .load_err = -EIO,
     .test_guest = true,
     .abi_version = 1,
     .why = "writing"},
    {.name = "write fails while zeroing the bss",
     .fail_write_at = 3,
     .load_err = -EIO,
     .test_guest = true,
     .abi_version = 1,
     .why = "zeroing"},
};

/* ---- checks ---- */

/* What a correct load of (img) leaves in guest memory, into (exp). */
static void expected_ram(const uint8_t *img, uint8_t *exp)
{
    memset(exp, RAM_FILL, RAM_SIZE);
    for (unsigned i = 0; i < image_phnum(img); i++) {
        Elf64_Phdr ph = ph_at(img, image_phoff(img), i);

        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) {
            continue;
        }
        memcpy(exp + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
        memset(exp + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    }
}

/* The info a correct probe of the valid image (img) gives. */
static struct loader_elf_info expected_info(const uint8_t *img,
                                            const struct elf_case *c)
{
    struct loader_elf_info info = {
        .entry = get_le(img + offsetof(Elf64_Ehdr, e_entry), 8),
        .test_guest = c->test_guest,
        .abi_version = c->abi_version,
        .lowest = UINT64_MAX,
    };

    for (unsigned i = 0; i < image_phnum(img); i++) {
        Elf64_Phdr ph = ph_at(img, image_phoff(img), i);

        if (ph.p_type == PT_LOAD && ph.p_memsz) {
            if (ph.p_paddr < info.lowest) {
                info.lowest = ph.p_paddr;
            }
            if (ph.p_paddr + ph.p_memsz > info.end) {
                info.end = ph.p_paddr + ph.p_memsz;
            }
        }
    }
    return info;
}

static bool info_equal(const struct loader_elf_info *a,
                       const struct loader_elf_info *b)
{
    return a->entry == b->entry && a->test_guest == b->test_guest &&
           a->abi_version == b->abi_version && a->lowest == b->lowest &&
           a->end == b->end;
}

static bool info_untouched(const struct loader_elf_info *info)
{
    const uint8_t *p = (const uint8_t *)info;

    for (size_t i = 0; i < sizeof(*info); i++) {
        if (p[i] != 0x5a) {
            return false;
        }
    }
    return true;
}

/* (why) must be one non-empty line naming the reason (containing (word)). */
static void check_why(const char *name, const char *fn, const char *why,
                      size_t whylen, const char *word)
{
    size_t n = strnlen(why, whylen);

    CHECK(n < whylen, "%s: %s: reason not NUL-terminated", name, fn);
    CHECK(n > 0, "%s: %s: empty reason", name, fn);
    CHECK(!memchr(why, '\n', n), "%s: %s: reason has a newline: %s", name, fn,
          why);
    if (word && n < whylen) {
        CHECK(strstr(why, word), "%s: %s: reason \"%s\" does not mention %s",
              name, fn, why, word);
    }
}

/* A rejection must also honour short and absent reason buffers. */
static void check_why_buffers(const char *name, const void *img, size_t size,
                              const struct loader_elf_limits *lim, int err)
{
    struct sink s = {.lim = *lim};
    struct loader_elf_info info;
    char small[16];
    int r;

    r = loader_elf_load(img, size, lim, sink_write, &s, &info, NULL, 0);
    CHECK(r == err, "%s: load with no reason buffer: %d, expected %d", name, r,
          err);
    memset(small, '#', sizeof(small));
    r = loader_elf_load(img, size, lim, sink_write, &s, &info, small, 8);
    CHECK(r == err, "%s: load with an 8-byte reason: %d", name, r);
    CHECK(strnlen(small, 8) == 7, "%s: 8-byte reason is not 7 chars + NUL",
          name);
    for (size_t i = 8; i < sizeof(small); i++) {
        CHECK(small[i] == '#', "%s: reason written past whylen (byte %zu)",
              name, i);
    }
    memset(small, '#', sizeof(small));
    r = loader_elf_load(img, size, lim, sink_write, &s, &info, small, 0);
    CHECK(r == err, "%s: load with whylen 0: %d", name, r);
    for (size_t i = 0; i < sizeof(small); i++) {
        CHECK(small[i] == '#', "%s: reason written with whylen 0", name);
    }
    CHECK(s.calls == 0, "%s: %u writes for a rejected image", name, s.calls);
}

/* Run case (c) with its image at (img) (exactly (size) bytes). */
static void run_case(const struct elf_case *c, const uint8_t *img, size_t size,
                     const struct loader_elf_limits *lim, uint8_t *ram,
                     const uint8_t *exp, int shift)
{
    struct loader_elf_info pinfo, linfo, want;
    struct sink s = {.ram = ram, .lim = *lim, .fail_at = c->fail_write_at};
    char name[160];
    char why[256];
    int r;

    snprintf(name, sizeof(name), "%s%s", c->name,
             shift ? " (odd address)" : "");
    memset(&pinfo, 0x5a, sizeof(pinfo));
    memset(why, 0, sizeof(why));
    r = loader_elf_probe(img, size, &pinfo, why, sizeof(why));
    CHECK(r == c->probe_err, "%s: probe returned %d (%s), expected %d", name, r,
          why, c->probe_err);
    if (r == 0 && c->probe_err == 0) {
        want = expected_info(img, c);
        CHECK(info_equal(&pinfo, &want),
              "%s: probe info entry 0x%" PRIx64 " guest %d abi %u range "
              "0x%" PRIx64 "-0x%" PRIx64 ", expected 0x%" PRIx64
              " %d %u 0x%" PRIx64 "-0x%" PRIx64,
              name, pinfo.entry, pinfo.test_guest, pinfo.abi_version,
              pinfo.lowest, pinfo.end, want.entry, want.test_guest,
              want.abi_version, want.lowest, want.end);
    } else if (r < 0) {
        check_why(name, "probe", why, sizeof(why), c->why);
        CHECK(info_untouched(&pinfo), "%s: failed probe wrote info", name);
    }

    memset(ram, RAM_FILL, RAM_SIZE);
    memset(&linfo, 0x5a, sizeof(linfo));
    memset(why, 0, sizeof(why));
    r = loader_elf_load(img, size, lim, sink_write, &s, &linfo, why,
                        sizeof(why));
    CHECK(r == c->load_err, "%s: load returned %d (%s), expected %d", name, r,
          why, c->load_err);
    CHECK(s.bad == 0, "%s: %u writes outside the limits", name, s.bad);
    if (r == 0 && c->load_err == 0) {
        want = expected_info(img, c);
        CHECK(info_equal(&linfo, &want), "%s: load info differs from probe",
              name);
        for (size_t i = 0; i < RAM_SIZE; i++) {
            if (ram[i] != exp[i]) {
                CHECK(ram[i] == exp[i],
                      "%s: GPA 0x%zx holds 0x%02x, expected 0x%02x", name, i,
                      ram[i], exp[i]);
                break;
            }
        }
    } else if (r < 0) {
        check_why(name, "load", why, sizeof(why), c->why);
        CHECK(info_untouched(&linfo), "%s: failed load wrote info", name);
        if (c->fail_write_at) {
            CHECK(s.calls == c->fail_write_at,
                  "%s: %u writes, the load should stop at the failing one",
                  name, s.calls);
        } else {
            CHECK(s.calls == 0, "%s: %u writes for a rejected image", name,
                  s.calls);
            check_why_buffers(name, img, size, lim, r);
        }
    }
}

static void test_cases(uint8_t *ram, uint8_t *exp)
{
    struct image im = {.cap = pristine_size + IMG_EXTRA};

    im.b = calloc(1, im.cap);
    if (!im.b) {
        CHECK(im.b, "out of memory");
        return;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct elf_case *c = &cases[i];
        struct loader_elf_limits lim;

        build_image(c, &im);
        lim.min_gpa = c->lim_min.base == B_OLD ? MIN_GPA + c->lim_min.delta
                                               : resolve(&im, c->lim_min, 0);
        lim.max_gpa = c->lim_max.base == B_OLD ? RAM_SIZE + c->lim_max.delta
                                               : resolve(&im, c->lim_max, 0);
        if (c->load_err == 0) {
            expected_ram(im.b, exp);
        }
        for (int shift = 0; shift < 2; shift++) {
            /* Exactly (size) bytes, so that ASan sees any over-read. */
            uint8_t *buf = malloc(im.size + (size_t)shift);

            if (!buf) {
                CHECK(buf, "out of memory");
                break;
            }
            memcpy(buf + shift, im.b, im.size);
            run_case(c, buf + shift, im.size, &lim, ram, exp, shift);
            free(buf);
        }
    }
    printf("test_loader_elf: %zu table cases\n",
           sizeof(cases) / sizeof(cases[0]));
    free(im.b);
}

/* NULL image, limits and write function. */
static void test_null_args(void)
{
    struct loader_elf_limits lim = {MIN_GPA, RAM_SIZE};
    struct sink s = {.lim = lim};
    struct loader_elf_info info;
    char why[128] = "";
    int r;

    r = loader_elf_probe(NULL, 0, &info, why, sizeof(why));
    CHECK(r == -EINVAL, "probe(NULL): %d", r);
    check_why("probe(NULL)", "probe", why, sizeof(why), NULL);
    why[0] = '\0';
    r = loader_elf_probe(NULL, 4096, &info, why, sizeof(why));
    CHECK(r == -EINVAL, "probe(NULL, 4096): %d", r);
    check_why("probe(NULL, 4096)", "probe", why, sizeof(why), NULL);
    why[0] = '\0';
    r = loader_elf_load(guest_hello_elf, guest_hello_elf_len, NULL, sink_write,
                        &s, &info, why, sizeof(why));
    CHECK(r == -EINVAL, "load without limits: %d", r);
    check_why("load without limits", "load", why, sizeof(why), NULL);
    why[0] = '\0';
    r = loader_elf_load(guest_hello_elf, guest_hello_elf_len, &lim, NULL, &s,
                        &info, why, sizeof(why));
    CHECK(r == -EINVAL, "load without a write function: %d", r);
    check_why("load without write", "load", why, sizeof(why), NULL);
    why[0] = '\0';
    r = loader_elf_load(NULL, 0, &lim, sink_write, &s, &info, why, sizeof(why));
    CHECK(r == -EINVAL, "load(NULL): %d", r);
    CHECK(s.calls == 0, "load(NULL) wrote");
}

/* ---- random mutations ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* A value likely to sit on some check's edge. */
static uint64_t edge_value(void)
{
    static const uint64_t v[] = {
        0,
        1,
        7,
        8,
        0x1000,
        MIN_GPA,
        MIN_GPA - 1,
        RAM_SIZE,
        RAM_SIZE - 1,
        1ull << 32,
        1ull << 63,
        UINT64_MAX,
        UINT64_MAX - 0xfff,
        UINT32_MAX,
    };
    uint64_t r = rng();

    if (r & 1) {
        return v[(r >> 1) % (sizeof(v) / sizeof(v[0]))];
    }
    return rng() >> (rng() % 64);
}

/* One storm step: mutate (work) (a copy of the pristine image), load. */
static void storm_step(uint8_t *work, uint8_t *ram, unsigned *accepted)
{
    struct loader_elf_limits lim = {MIN_GPA, RAM_SIZE};
    struct sink s = {.ram = ram, .lim = lim};
    struct loader_elf_info pinfo, linfo;
    uint64_t note_off =
        ph_at(pristine, pristine_phoff, role_index[R_NOTE]).p_offset;
    size_t hdr_len = pristine_phoff + pristine_phnum * sizeof(Elf64_Phdr);
    size_t size = pristine_size;
    unsigned nmut = 1 + (unsigned)(rng() % 4);
    char why[256];
    uint8_t *buf;
    int pr, lr;

    memcpy(work, pristine, pristine_size);
    for (unsigned k = 0; k < nmut; k++) {
        uint64_t r = rng();
        size_t off;

        switch (r % 4) {
        case 0: /* a byte of the headers */
            work[(r >> 8) % hdr_len] = (uint8_t)(r >> 40);
            break;
        case 1: /* a byte of the note */
            work[note_off + (r >> 8) % 0x20] = (uint8_t)(r >> 40);
            break;
        case 2: /* an aligned 64-bit field of the program headers */
            off = pristine_phoff + 8 * ((r >> 8) % (hdr_len / 8 - 8));
            put_le(work + off, 8, edge_value());
            break;
        default: /* a 32-bit field of the headers */
            off = 4 * ((r >> 8) % (hdr_len / 4));
            put_le(work + off, 4, edge_value());
            break;
        }
    }
    if (rng() % 8 == 0) {
        size = (size_t)(rng() % (pristine_size + 1));
    }
    buf = malloc(size ? size : 1);
    if (!buf) {
        CHECK(buf, "out of memory");
        return;
    }
    memcpy(buf, work, size);

    why[0] = '\0';
    pr = loader_elf_probe(buf, size, &pinfo, why, sizeof(why));
    if (pr < 0) {
        check_why("storm", "probe", why, sizeof(why), NULL);
    }
    why[0] = '\0';
    lr = loader_elf_load(buf, size, &lim, sink_write, &s, &linfo, why,
                         sizeof(why));
    CHECK(lr == 0 || lr == -ENOEXEC || lr == -EINVAL || lr == -ERANGE ||
              lr == -E2BIG,
          "storm: load returned %d (%s)", lr, why);
    CHECK(s.bad == 0, "storm: %u writes outside the limits", s.bad);
    if (pr < 0) {
        CHECK(lr == pr, "storm: probe %d but load %d", pr, lr);
    }
    if (lr < 0) {
        check_why("storm", "load", why, sizeof(why), NULL);
        CHECK(s.calls == 0, "storm: %u writes for a rejected image (%s)",
              s.calls, why);
    } else {
        (*accepted)++;
        CHECK(pr == 0 && info_equal(&pinfo, &linfo),
              "storm: load accepted what probe did not (%d)", pr);
        CHECK(linfo.lowest >= lim.min_gpa && linfo.end <= lim.max_gpa &&
                  linfo.lowest < linfo.end,
              "storm: loaded 0x%" PRIx64 "-0x%" PRIx64 " outside the limits",
              linfo.lowest, linfo.end);
        CHECK(linfo.entry >= linfo.lowest && linfo.entry < linfo.end,
              "storm: entry 0x%" PRIx64 " outside the image", linfo.entry);
        CHECK(!linfo.test_guest || linfo.abi_version == TESTDEV_ABI_VERSION,
              "storm: loaded a guest of ABI %u", linfo.abi_version);
    }
    free(buf);
}

static void test_storm(uint64_t seed, unsigned iterations, uint8_t *ram)
{
    uint8_t *work = malloc(pristine_size);
    unsigned accepted = 0;

    if (!work) {
        CHECK(work, "out of memory");
        return;
    }
    rng_state = seed ? seed : 1;
    for (unsigned i = 0; i < iterations; i++) {
        storm_step(work, ram, &accepted);
    }
    printf("test_loader_elf: seed 0x%" PRIx64 ", %u mutated images, %u "
           "loaded\n",
           seed, iterations, accepted);
    free(work);
}

/* ---- setup ---- */

/* Find the headers of each role in the hello guest and check its shape,
 * which the cases rely on. */
static bool find_roles(void)
{
    bool found[R_NR] = {false};
    Elf64_Ehdr eh;
    uint32_t note[7];

    pristine = guest_hello_elf;
    pristine_size = guest_hello_elf_len;
    if (pristine_size < sizeof(eh)) {
        fprintf(stderr, "hello guest too small\n");
        return false;
    }
    memcpy(&eh, pristine, sizeof(eh));
    pristine_phoff = eh.e_phoff;
    pristine_phnum = eh.e_phnum;
    if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
        pristine_phoff + pristine_phnum * sizeof(Elf64_Phdr) > pristine_size) {
        fprintf(stderr, "hello guest: unexpected program header table\n");
        return false;
    }
    for (unsigned i = 0; i < pristine_phnum; i++) {
        Elf64_Phdr ph = ph_at(pristine, pristine_phoff, i);
        int role = -1;

        if (ph.p_type == PT_NOTE) {
            role = R_NOTE;
        } else if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            role = R_TEXT;
        } else if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W)) {
            role = R_DATA;
        } else if (ph.p_type == PT_LOAD) {
            role = R_RODATA;
        }
        if (role >= 0 && !found[role]) {
            found[role] = true;
            role_index[role] = i;
        }
    }
    for (unsigned r = 0; r < R_NR; r++) {
        if (!found[r]) {
            fprintf(stderr, "hello guest: no %s program header\n",
                    role_names[r]);
            return false;
        }
    }
    /* The edits assume: four headers in the guest.ld order, code at the
     * minimum GPA holding the entry, a bss-only data segment, a lone note
     * of 28 bytes. */
    Elf64_Phdr text = ph_at(pristine, pristine_phoff, role_index[R_TEXT]);
    Elf64_Phdr data = ph_at(pristine, pristine_phoff, role_index[R_DATA]);
    Elf64_Phdr nph = ph_at(pristine, pristine_phoff, role_index[R_NOTE]);

    memcpy(note, pristine + nph.p_offset, sizeof(note));
    if (pristine_phnum != 4 || role_index[R_TEXT] != 0 ||
        role_index[R_RODATA] != 1 || role_index[R_DATA] != 2 ||
        text.p_paddr != MIN_GPA || eh.e_entry != MIN_GPA ||
        data.p_filesz != 0 || loads_end(pristine) > EXTRA_BASE ||
        nph.p_filesz != sizeof(note) || note[0] != 9 || note[1] != 4 ||
        note[2] != TESTDEV_NOTE_TYPE ||
        memcmp(&note[3], TESTDEV_NOTE_NAME, 9) != 0 ||
        note[6] != TESTDEV_ABI_VERSION) {
        fprintf(stderr, "hello guest: layout changed, update the cases\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : DEFAULT_SEED;
    unsigned iterations =
        argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : DEFAULT_ITERATIONS;
    uint8_t *ram = malloc(RAM_SIZE);
    uint8_t *exp = malloc(RAM_SIZE);

    if (!ram || !exp) {
        fprintf(stderr, "test_loader_elf: out of memory\n");
        return 1;
    }
    CHECK(find_roles(), "the hello guest is not as the cases expect");
    if (unit_failures == 0) {
        test_cases(ram, exp);
        test_null_args();
        test_storm(seed, iterations, ram);
    }
    free(exp);
    free(ram);
    printf("test_loader_elf: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
