/* SPDX-License-Identifier: MIT */
/*
 * What the kernel loader tests (test_loaders_*.c) share: a fake 32 MiB
 * guest behind a recording write function, module contents, the check
 * that a rejected image wrote nothing and left the entry alone, and
 * builders for synthetic images (ELF with notes, PVH, bzImage, multiboot
 * a.out kludge and ELF, a vmm test guest).
 */
#ifndef TESTS_UNIT_LOADERS_FIXTURE_H
#define TESTS_UNIT_LOADERS_FIXTURE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"

#define MIB (1ull << 20)
#define RAM_SIZE (32 * MIB)
#define IMG_CAP 0x4000
#define BIG_MODULE (40 * MIB)
#define PVH_TEXT 0x100000ull
#define PVH_DATA 0x101000ull
#define PVH_ENTRY 0x100040ull
#define PVH_SIZE 0x700
#define PVH_NOTE_OFF 0x180
#define PVH_TEXT_OFF 0x200
#define PVH_DATA_OFF 0x600
#define PH64(i, field)                                                         \
    (0x40 + (i) * sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, field))
#define BZ_SETUP 0x1000
#define BZ_PAYLOAD 0x2000
#define BZ_SIZE (BZ_SETUP + BZ_PAYLOAD)
#define BZ_PREF 0x1000000ull
#define BZ_INIT_SIZE 0x100000u
#define MB_LOAD 0x100000u
#define MB_HDR_OFF 0x40u
#define MB_SIZE 0x2000u
#define MB_LOAD_END (MB_LOAD + 0x1800u)
#define MB_BSS_END (MB_LOAD + 0x4000u)
#define MB_ENTRY (MB_LOAD + 0x80u)
#define MBE_PADDR 0x200000u
#define MBE_VADDR 0xc0200000u
#define MBE_OFF 0x1000u
#define MBE_SIZE 0x1800u

struct fake_guest {
    uint8_t *mem;
    uint64_t size;
    unsigned writes;
    /* Fail the write with this number (1-based); 0 for never. */
    unsigned fail_at;
    /* Writes outside [0, size): a loader bug. */
    unsigned stray;
};

typedef int (*load_fn)(const struct boot_input *, struct boot_entry *, char *,
                       size_t);

struct t_seg {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
    uint32_t flags;
    uint64_t align;
};

extern struct fake_guest guest;
extern uint8_t *module_data;
extern uint8_t initrd_data[0x3000];
extern uint8_t mod2_data[0x1800];
extern const struct boot_entry entry_sentinel;

int fake_write(void *opaque, gpa_t gpa, const void *buf, size_t len);

void guest_reset(uint8_t fill);

uint8_t rd8(gpa_t gpa);

uint16_t rd16(gpa_t gpa);

uint32_t rd32(gpa_t gpa);

uint64_t rd64(gpa_t gpa);

const char *rdstr(gpa_t gpa);

bool all_bytes(gpa_t gpa, uint64_t len, uint8_t v);

void fill_pattern(uint8_t *p, size_t len, unsigned seed);

struct boot_input base_input(const void *img, size_t size);

bool same_entry(const struct boot_entry *a, const struct boot_entry *b);

void expect_reject(const char *what, load_fn fn, const struct boot_input *in,
                   int err, const char *substr);

void elf_build(uint8_t *buf, bool is64, uint16_t machine, uint64_t entry,
               const struct t_seg *segs, unsigned nr);

size_t note_put(uint8_t *p, const char *name, uint32_t type, const void *desc,
                uint32_t descsz);

size_t pvh_build(uint8_t *buf, bool is64, uint32_t descsz, uint64_t entry);

size_t bz_build(uint8_t *buf);

void mb_header(uint8_t *h, uint32_t flags);

size_t mb_aout_build(uint8_t *buf);

size_t mb_elf_build(uint8_t *buf, bool is64, uint64_t entry);

size_t test_guest_build(uint8_t *buf);

/* Set up the fake guest and the module buffers; false when out of
 * memory. */
bool loaders_fixture_init(void);

/* Release what loaders_fixture_init() took. */
void loaders_fixture_fini(void);

#endif /* TESTS_UNIT_LOADERS_FIXTURE_H */
