/* SPDX-License-Identifier: MIT */
/*
 * The boot room's ELF reader (see elf_reader.h).
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "elf_reader.h"
#include "loader.h"

/* The class-dependent header fields of an image at least one header long,
 * copied out (the image need not be aligned). */
static void read_class_fields(const uint8_t *p, struct elf_hdr *h,
                              uint16_t *machine, size_t *phentsize)
{
    if (h->is64) {
        Elf64_Ehdr eh;

        memcpy(&eh, p, sizeof(eh));
        *h = (struct elf_hdr){true,         eh.e_type,  eh.e_entry,
                              eh.e_phoff,   eh.e_phnum, h->ident_version,
                              eh.e_version, eh.e_ehsize};
        *machine = eh.e_machine;
        *phentsize = eh.e_phentsize;
    } else {
        Elf32_Ehdr eh;

        memcpy(&eh, p, sizeof(eh));
        *h = (struct elf_hdr){false,        eh.e_type,  eh.e_entry,
                              eh.e_phoff,   eh.e_phnum, h->ident_version,
                              eh.e_version, eh.e_ehsize};
        *machine = eh.e_machine;
        *phentsize = eh.e_phentsize;
    }
}

int elf_read_hdr(const uint8_t *p, size_t size, unsigned classes,
                 struct elf_hdr *h, char *why, size_t whylen)
{
    size_t ehsize, phentsize, want_phentsize;
    uint16_t machine, want_machine;
    uint64_t ph_end;
    unsigned cls;

    if (size < SELFMAG || memcmp(p, ELFMAG, SELFMAG) != 0) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "not an ELF file (bad magic)");
    }
    if (size < EI_NIDENT) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated ELF header (%zu bytes)", size);
    }
    cls = p[EI_CLASS] == ELFCLASS64   ? ELF_CLASS_64
          : p[EI_CLASS] == ELFCLASS32 ? ELF_CLASS_32
                                      : 0;
    if (!(cls & classes)) {
        if (classes == ELF_CLASS_64) {
            return loader_fail(why, whylen, -ENOEXEC,
                               "not a 64-bit ELF (EI_CLASS %u)", p[EI_CLASS]);
        }
        return loader_fail(why, whylen, -ENOEXEC, "unknown ELF class %u",
                           p[EI_CLASS]);
    }
    if (p[EI_DATA] != ELFDATA2LSB) {
        return loader_fail(why, whylen, -ENOEXEC, "not a little-endian ELF");
    }
    memset(h, 0, sizeof(*h));
    h->ident_version = p[EI_VERSION];
    h->is64 = cls == ELF_CLASS_64;
    ehsize = h->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (size < ehsize) {
        return loader_fail(why, whylen, -EINVAL,
                           "truncated ELF header (%zu bytes, need %zu)", size,
                           ehsize);
    }
    read_class_fields(p, h, &machine, &phentsize);
    want_machine = h->is64 ? EM_X86_64 : EM_386;
    want_phentsize = h->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (machine != want_machine) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "ELF%d machine %u is not x86 (%u)",
                           h->is64 ? 64 : 32, machine, want_machine);
    }
    if (h->type != ET_EXEC) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "ELF type %u is not an executable (ET_EXEC)",
                           h->type);
    }
    if (phentsize != want_phentsize) {
        return loader_fail(why, whylen, -EINVAL,
                           "e_phentsize %zu, expected %zu", phentsize,
                           want_phentsize);
    }
    if (h->phnum == 0 || h->phnum == PN_XNUM) {
        return loader_fail(why, whylen, -EINVAL,
                           "unsupported program header count %u", h->phnum);
    }
    if (__builtin_add_overflow(h->phoff, (uint64_t)h->phnum * phentsize,
                               &ph_end) ||
        ph_end > size) {
        return loader_fail(why, whylen, -EINVAL,
                           "program headers (offset 0x%llx, %u entries) run "
                           "past the end of the file (%zu bytes)",
                           (unsigned long long)h->phoff, h->phnum, size);
    }
    return 0;
}

void elf_read_phdr(const uint8_t *p, const struct elf_hdr *h, unsigned i,
                   struct elf_phdr *ph)
{
    if (h->is64) {
        Elf64_Phdr e;

        memcpy(&e, p + h->phoff + (uint64_t)i * sizeof(e), sizeof(e));
        *ph = (struct elf_phdr){e.p_type,  e.p_flags,  e.p_offset, e.p_vaddr,
                                e.p_paddr, e.p_filesz, e.p_memsz,  e.p_align};
    } else {
        Elf32_Phdr e;

        memcpy(&e, p + h->phoff + (uint64_t)i * sizeof(e), sizeof(e));
        *ph = (struct elf_phdr){e.p_type,  e.p_flags,  e.p_offset, e.p_vaddr,
                                e.p_paddr, e.p_filesz, e.p_memsz,  e.p_align};
    }
}

int elf_check_file_range(size_t size, unsigned idx, uint64_t off, uint64_t len,
                         char *why, size_t whylen)
{
    uint64_t end;

    if (__builtin_add_overflow(off, len, &end) || end > size) {
        return loader_fail(why, whylen, -EINVAL,
                           "program header %u: file bytes 0x%llx+0x%llx run "
                           "past the end of the file (%zu bytes)",
                           idx, (unsigned long long)off,
                           (unsigned long long)len, size);
    }
    return 0;
}

/* Round (v) up to (align), 4 or 8; (v) is far below 2^63. */
static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

int elf_walk_notes(const uint8_t *p, unsigned idx, const struct elf_phdr *ph,
                   elf_note_fn fn, void *opaque, char *why, size_t whylen)
{
    const uint8_t *seg = p + ph->offset;
    uint64_t len = ph->filesz;
    uint64_t align = ph->align == 8 ? 8 : 4;
    uint64_t off = 0;
    int r = 0;

    while (off < len && r == 0) {
        uint64_t name_off, desc_off;
        Elf32_Nhdr nh; /* the same layout in ELF64 */
        struct elf_note n;

        if (len - off < sizeof(nh)) {
            return loader_fail(why, whylen, -EINVAL,
                               "program header %u: truncated note header", idx);
        }
        memcpy(&nh, seg + off, sizeof(nh));
        /* 32-bit sizes and offsets below the file size: no overflow. */
        name_off = off + sizeof(nh);
        desc_off = align_up(name_off + nh.n_namesz, align);
        if (name_off + nh.n_namesz > len || desc_off + nh.n_descsz > len) {
            return loader_fail(why, whylen, -EINVAL,
                               "program header %u: note runs past its segment",
                               idx);
        }
        n = (struct elf_note){seg + name_off, nh.n_namesz, nh.n_type,
                              seg + desc_off, nh.n_descsz};
        r = fn(opaque, &n, why, whylen);
        off = align_up(desc_off + nh.n_descsz, align);
    }
    return r;
}
