/* SPDX-License-Identifier: MIT */
/*
 * ELF64 loader for test guests. All checks run before the first write, so
 * a rejected image leaves guest memory untouched. Headers are copied out of
 * the image before use: the buffer need not be aligned.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/testdev_abi.h"
#include "loader_elf.h"

/* An image after its headers were checked. */
struct elf_image {
    const uint8_t *data;
    size_t size;
    Elf64_Ehdr eh;
    Elf64_Phdr loads[LOADER_ELF_MAX_LOADS];
    unsigned nr_loads;
    struct loader_elf_info info;
};

__attribute__((format(printf, 4, 5))) static int
elf_fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Round (v) up to (align), a power of two; (v) is far below 2^63. */
static uint64_t elf_align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static int elf_check_ehdr(struct elf_image *img, char *why, size_t whylen)
{
    const Elf64_Ehdr *eh = &img->eh;
    uint64_t ph_bytes, ph_end;

    if (img->size < SELFMAG || memcmp(img->data, ELFMAG, SELFMAG) != 0) {
        return elf_fail(why, whylen, -ENOEXEC, "not an ELF file (bad magic)");
    }
    if (img->size < sizeof(Elf64_Ehdr)) {
        return elf_fail(why, whylen, -EINVAL,
                        "truncated ELF header (%zu bytes, need %zu)", img->size,
                        sizeof(Elf64_Ehdr));
    }
    memcpy(&img->eh, img->data, sizeof(img->eh));
    if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
        return elf_fail(why, whylen, -ENOEXEC, "not a 64-bit ELF (EI_CLASS %u)",
                        eh->e_ident[EI_CLASS]);
    }
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        return elf_fail(why, whylen, -ENOEXEC, "not a little-endian ELF");
    }
    if (eh->e_machine != EM_X86_64) {
        return elf_fail(why, whylen, -ENOEXEC,
                        "ELF machine %u is not x86-64 (%u)", eh->e_machine,
                        EM_X86_64);
    }
    if (eh->e_type != ET_EXEC) {
        return elf_fail(why, whylen, -ENOEXEC,
                        "ELF type %u is not an executable (ET_EXEC): link "
                        "statically without PIE",
                        eh->e_type);
    }
    if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
        return elf_fail(why, whylen, -EINVAL, "unknown ELF version");
    }
    if (eh->e_ehsize < sizeof(Elf64_Ehdr)) {
        return elf_fail(why, whylen, -EINVAL, "e_ehsize %u is too small",
                        eh->e_ehsize);
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
        return elf_fail(why, whylen, -EINVAL, "e_phentsize %u, expected %zu",
                        eh->e_phentsize, sizeof(Elf64_Phdr));
    }
    if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM) {
        return elf_fail(why, whylen, -EINVAL,
                        "unsupported program header count %u", eh->e_phnum);
    }
    ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    if (__builtin_add_overflow(eh->e_phoff, ph_bytes, &ph_end) ||
        ph_end > img->size) {
        return elf_fail(why, whylen, -EINVAL,
                        "program headers (offset 0x%llx, %u entries) run "
                        "past the end of the file (%zu bytes)",
                        (unsigned long long)eh->e_phoff, eh->e_phnum,
                        img->size);
    }
    return 0;
}

/* File bytes [off, off + len) must be inside the image. */
static int elf_check_file_range(const struct elf_image *img, unsigned idx,
                                uint64_t off, uint64_t len, char *why,
                                size_t whylen)
{
    uint64_t end;

    if (__builtin_add_overflow(off, len, &end) || end > img->size) {
        return elf_fail(why, whylen, -EINVAL,
                        "program header %u: file bytes 0x%llx+0x%llx run "
                        "past the end of the file (%zu bytes)",
                        idx, (unsigned long long)off, (unsigned long long)len,
                        img->size);
    }
    return 0;
}

/* Walk the notes of PT_NOTE (ph) looking for the VMMGUEST note. */
static int elf_parse_notes(struct elf_image *img, unsigned idx,
                           const Elf64_Phdr *ph, char *why, size_t whylen)
{
    static const char name[] = TESTDEV_NOTE_NAME;
    const uint8_t *p = img->data + ph->p_offset;
    uint64_t len = ph->p_filesz;
    uint64_t align = ph->p_align == 8 ? 8 : 4;
    uint64_t off = 0;
    Elf64_Nhdr nh;
    uint32_t version;

    while (off < len) {
        uint64_t name_off, desc_off, next;

        if (len - off < sizeof(nh)) {
            return elf_fail(why, whylen, -EINVAL,
                            "program header %u: truncated note header", idx);
        }
        memcpy(&nh, p + off, sizeof(nh));
        name_off = off + sizeof(nh);
        /* Sizes are 32-bit and offsets below the file size: no overflow. */
        desc_off = elf_align_up(name_off + nh.n_namesz, align);
        next = elf_align_up(desc_off + nh.n_descsz, align);
        if (name_off + nh.n_namesz > len || desc_off + nh.n_descsz > len) {
            return elf_fail(why, whylen, -EINVAL,
                            "program header %u: note runs past its segment",
                            idx);
        }
        if (nh.n_namesz == sizeof(name) &&
            memcmp(p + name_off, name, sizeof(name)) == 0 &&
            nh.n_type == TESTDEV_NOTE_TYPE && !img->info.test_guest) {
            if (nh.n_descsz != sizeof(version)) {
                return elf_fail(why, whylen, -EINVAL,
                                "%s note descriptor is %u bytes, expected %zu",
                                name, nh.n_descsz, sizeof(version));
            }
            memcpy(&version, p + desc_off, sizeof(version));
            img->info.test_guest = true;
            img->info.abi_version = version;
        }
        off = next;
    }
    return 0;
}

static int elf_check_load(struct elf_image *img, unsigned idx,
                          const Elf64_Phdr *ph, char *why, size_t whylen)
{
    uint64_t end;
    int r;

    if (ph->p_filesz > ph->p_memsz) {
        return elf_fail(why, whylen, -EINVAL,
                        "program header %u: p_filesz 0x%llx exceeds "
                        "p_memsz 0x%llx",
                        idx, (unsigned long long)ph->p_filesz,
                        (unsigned long long)ph->p_memsz);
    }
    r = elf_check_file_range(img, idx, ph->p_offset, ph->p_filesz, why, whylen);
    if (r < 0) {
        return r;
    }
    if (ph->p_memsz == 0) {
        return 0;
    }
    if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &end)) {
        return elf_fail(why, whylen, -ERANGE,
                        "program header %u: 0x%llx+0x%llx wraps around", idx,
                        (unsigned long long)ph->p_paddr,
                        (unsigned long long)ph->p_memsz);
    }
    if (ph->p_vaddr != ph->p_paddr) {
        return elf_fail(why, whylen, -EINVAL,
                        "program header %u: p_vaddr 0x%llx != p_paddr "
                        "0x%llx (test guests are identity-mapped)",
                        idx, (unsigned long long)ph->p_vaddr,
                        (unsigned long long)ph->p_paddr);
    }
    if (img->nr_loads == LOADER_ELF_MAX_LOADS) {
        return elf_fail(why, whylen, -E2BIG, "more than %d PT_LOAD segments",
                        LOADER_ELF_MAX_LOADS);
    }
    for (unsigned i = 0; i < img->nr_loads; i++) {
        const Elf64_Phdr *o = &img->loads[i];

        if (ph->p_paddr < o->p_paddr + o->p_memsz && o->p_paddr < end) {
            return elf_fail(why, whylen, -EINVAL,
                            "program header %u: segment 0x%llx-0x%llx "
                            "overlaps segment 0x%llx-0x%llx",
                            idx, (unsigned long long)ph->p_paddr,
                            (unsigned long long)end - 1,
                            (unsigned long long)o->p_paddr,
                            (unsigned long long)(o->p_paddr + o->p_memsz - 1));
        }
    }
    img->loads[img->nr_loads++] = *ph;
    if (img->nr_loads == 1 || ph->p_paddr < img->info.lowest) {
        img->info.lowest = ph->p_paddr;
    }
    if (end > img->info.end) {
        img->info.end = end;
    }
    return 0;
}

static int elf_parse(const void *image, size_t size, struct elf_image *img,
                     char *why, size_t whylen)
{
    const Elf64_Phdr *entry_seg = NULL;
    Elf64_Phdr ph;
    int r;

    memset(img, 0, sizeof(*img));
    if (!image) {
        return elf_fail(why, whylen, -EINVAL, "no image");
    }
    img->data = image;
    img->size = size;
    r = elf_check_ehdr(img, why, whylen);
    if (r < 0) {
        return r;
    }
    for (unsigned i = 0; i < img->eh.e_phnum; i++) {
        memcpy(&ph, img->data + img->eh.e_phoff + i * sizeof(ph), sizeof(ph));
        switch (ph.p_type) {
        case PT_LOAD:
            r = elf_check_load(img, i, &ph, why, whylen);
            break;
        case PT_NOTE:
            r = elf_check_file_range(img, i, ph.p_offset, ph.p_filesz, why,
                                     whylen);
            if (r == 0) {
                r = elf_parse_notes(img, i, &ph, why, whylen);
            }
            break;
        case PT_INTERP:
        case PT_DYNAMIC:
            r = elf_fail(why, whylen, -ENOEXEC,
                         "dynamically linked image: link statically");
            break;
        default:
            r = 0;
            break;
        }
        if (r < 0) {
            return r;
        }
    }
    if (img->nr_loads == 0) {
        return elf_fail(why, whylen, -EINVAL, "no PT_LOAD segment");
    }
    for (unsigned i = 0; i < img->nr_loads; i++) {
        const Elf64_Phdr *l = &img->loads[i];

        if ((l->p_flags & PF_X) && img->eh.e_entry >= l->p_paddr &&
            img->eh.e_entry - l->p_paddr < l->p_memsz) {
            entry_seg = l;
        }
    }
    if (!entry_seg) {
        return elf_fail(why, whylen, -EINVAL,
                        "entry point 0x%llx is not in an executable segment",
                        (unsigned long long)img->eh.e_entry);
    }
    img->info.entry = img->eh.e_entry;
    return 0;
}

int loader_elf_probe(const void *image, size_t size,
                     struct loader_elf_info *info, char *why, size_t whylen)
{
    struct elf_image img;
    int r = elf_parse(image, size, &img, why, whylen);

    if (r < 0) {
        return r;
    }
    *info = img.info;
    return 0;
}

/* Write (len) zero bytes at (gpa). */
static int elf_zero(loader_elf_write_fn write, void *opaque, gpa_t gpa,
                    uint64_t len)
{
    static const uint8_t zeros[4096];
    int r;

    while (len > 0) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);

        r = write(opaque, gpa, zeros, n);
        if (r < 0) {
            return r;
        }
        gpa += n;
        len -= n;
    }
    return 0;
}

int loader_elf_load(const void *image, size_t size,
                    const struct loader_elf_limits *lim,
                    loader_elf_write_fn write, void *opaque,
                    struct loader_elf_info *info, char *why, size_t whylen)
{
    struct elf_image img;
    int r;

    if (!lim || !write) {
        return elf_fail(why, whylen, -EINVAL, "no limits or write function");
    }
    r = elf_parse(image, size, &img, why, whylen);
    if (r < 0) {
        return r;
    }
    if (img.info.test_guest && img.info.abi_version != TESTDEV_ABI_VERSION) {
        return elf_fail(why, whylen, -ENOEXEC,
                        "test guest of ABI version %u; this VMM speaks %u",
                        img.info.abi_version, TESTDEV_ABI_VERSION);
    }
    for (unsigned i = 0; i < img.nr_loads; i++) {
        const Elf64_Phdr *l = &img.loads[i];

        /* elf_check_load() made sure p_paddr + p_memsz does not wrap. */
        if (l->p_paddr < lim->min_gpa) {
            return elf_fail(why, whylen, -ERANGE,
                            "segment at 0x%llx is below 0x%llx (memory "
                            "the VMM keeps for its own structures)",
                            (unsigned long long)l->p_paddr,
                            (unsigned long long)lim->min_gpa);
        }
        if (l->p_paddr + l->p_memsz > lim->max_gpa) {
            return elf_fail(why, whylen, -ERANGE,
                            "segment 0x%llx-0x%llx does not fit in guest "
                            "RAM (ends at 0x%llx)",
                            (unsigned long long)l->p_paddr,
                            (unsigned long long)(l->p_paddr + l->p_memsz - 1),
                            (unsigned long long)lim->max_gpa);
        }
    }
    for (unsigned i = 0; i < img.nr_loads; i++) {
        const Elf64_Phdr *l = &img.loads[i];

        if (l->p_filesz > 0) {
            r = write(opaque, l->p_paddr, img.data + l->p_offset,
                      (size_t)l->p_filesz);
            if (r < 0) {
                return elf_fail(why, whylen, r,
                                "writing segment at 0x%llx failed",
                                (unsigned long long)l->p_paddr);
            }
        }
        r = elf_zero(write, opaque, l->p_paddr + l->p_filesz,
                     l->p_memsz - l->p_filesz);
        if (r < 0) {
            return elf_fail(why, whylen, r, "zeroing segment at 0x%llx failed",
                            (unsigned long long)l->p_paddr);
        }
    }
    *info = img.info;
    return 0;
}
