/* SPDX-License-Identifier: MIT */
/*
 * ELF64 loader for test guests. All checks run before the first write, so
 * a rejected image leaves guest memory untouched. Headers are copied out of
 * the image before use: the buffer need not be aligned.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/testdev_abi.h"
#include "elf_reader.h"
#include "loader.h"
#include "loader_elf.h"

/* An image after its headers were checked. */
struct elf_image {
    const uint8_t *data;
    size_t size;
    struct elf_hdr eh;
    struct elf_phdr loads[LOADER_ELF_MAX_LOADS];
    unsigned nr_loads;
    struct loader_elf_info info;
};

/*
 * The header through the shared reader (ELF64 only), plus what test
 * guests must also get right: the ELF version and the header's size.
 */
static int elf_check_ehdr(struct elf_image *img, char *why, size_t whylen)
{
    const struct elf_hdr *eh = &img->eh;
    int r;

    r = elf_read_hdr(img->data, img->size, ELF_CLASS_64, &img->eh, why, whylen);
    if (r < 0) {
        return r;
    }
    if (eh->ident_version != EV_CURRENT || eh->version != EV_CURRENT) {
        return loader_fail(why, whylen, -EINVAL, "unknown ELF version");
    }
    if (eh->ehsize < sizeof(Elf64_Ehdr)) {
        return loader_fail(why, whylen, -EINVAL, "e_ehsize %u is too small",
                           eh->ehsize);
    }
    return 0;
}

/* One note of a PT_NOTE segment: the VMMGUEST note marks a test guest. */
static int note_vmmguest(void *opaque, const struct elf_note *n, char *why,
                         size_t whylen)
{
    static const char name[] = TESTDEV_NOTE_NAME;
    struct elf_image *img = opaque;
    uint32_t version;

    if (n->namesz != sizeof(name) || memcmp(n->name, name, sizeof(name)) != 0 ||
        n->type != TESTDEV_NOTE_TYPE || img->info.test_guest) {
        return 0;
    }
    if (n->descsz != sizeof(version)) {
        return loader_fail(why, whylen, -EINVAL,
                           "%s note descriptor is %u bytes, expected %zu", name,
                           n->descsz, sizeof(version));
    }
    memcpy(&version, n->desc, sizeof(version));
    img->info.test_guest = true;
    img->info.abi_version = version;
    return 0;
}

static int elf_check_load(struct elf_image *img, unsigned idx,
                          const struct elf_phdr *ph, char *why, size_t whylen)
{
    uint64_t end;
    int r;

    if (ph->filesz > ph->memsz) {
        return loader_fail(why, whylen, -EINVAL,
                           "program header %u: p_filesz 0x%llx exceeds "
                           "p_memsz 0x%llx",
                           idx, (unsigned long long)ph->filesz,
                           (unsigned long long)ph->memsz);
    }
    r = elf_check_file_range(img->size, idx, ph->offset, ph->filesz, why,
                             whylen);
    if (r < 0) {
        return r;
    }
    if (ph->memsz == 0) {
        return 0;
    }
    if (__builtin_add_overflow(ph->paddr, ph->memsz, &end)) {
        return loader_fail(why, whylen, -ERANGE,
                           "program header %u: 0x%llx+0x%llx wraps around", idx,
                           (unsigned long long)ph->paddr,
                           (unsigned long long)ph->memsz);
    }
    if (ph->vaddr != ph->paddr) {
        return loader_fail(why, whylen, -EINVAL,
                           "program header %u: p_vaddr 0x%llx != p_paddr "
                           "0x%llx (test guests are identity-mapped)",
                           idx, (unsigned long long)ph->vaddr,
                           (unsigned long long)ph->paddr);
    }
    if (img->nr_loads == LOADER_ELF_MAX_LOADS) {
        return loader_fail(why, whylen, -E2BIG, "more than %d PT_LOAD segments",
                           LOADER_ELF_MAX_LOADS);
    }
    for (unsigned i = 0; i < img->nr_loads; i++) {
        const struct elf_phdr *o = &img->loads[i];

        if (ph->paddr < o->paddr + o->memsz && o->paddr < end) {
            return loader_fail(why, whylen, -EINVAL,
                               "program header %u: segment 0x%llx-0x%llx "
                               "overlaps segment 0x%llx-0x%llx",
                               idx, (unsigned long long)ph->paddr,
                               (unsigned long long)end - 1,
                               (unsigned long long)o->paddr,
                               (unsigned long long)(o->paddr + o->memsz - 1));
        }
    }
    img->loads[img->nr_loads++] = *ph;
    if (img->nr_loads == 1 || ph->paddr < img->info.lowest) {
        img->info.lowest = ph->paddr;
    }
    if (end > img->info.end) {
        img->info.end = end;
    }
    return 0;
}

static int elf_parse(const void *image, size_t size, struct elf_image *img,
                     char *why, size_t whylen)
{
    const struct elf_phdr *entry_seg = NULL;
    struct elf_phdr ph;
    int r;

    memset(img, 0, sizeof(*img));
    if (!image) {
        return loader_fail(why, whylen, -EINVAL, "no image");
    }
    img->data = image;
    img->size = size;
    r = elf_check_ehdr(img, why, whylen);
    if (r < 0) {
        return r;
    }
    for (unsigned i = 0; i < img->eh.phnum; i++) {
        elf_read_phdr(img->data, &img->eh, i, &ph);
        switch (ph.type) {
        case PT_LOAD:
            r = elf_check_load(img, i, &ph, why, whylen);
            break;
        case PT_NOTE:
            r = elf_check_file_range(img->size, i, ph.offset, ph.filesz, why,
                                     whylen);
            if (r == 0) {
                r = elf_walk_notes(img->data, i, &ph, note_vmmguest, img, why,
                                   whylen);
            }
            break;
        case PT_INTERP:
        case PT_DYNAMIC:
            r = loader_fail(why, whylen, -ENOEXEC,
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
        return loader_fail(why, whylen, -EINVAL, "no PT_LOAD segment");
    }
    for (unsigned i = 0; i < img->nr_loads; i++) {
        const struct elf_phdr *l = &img->loads[i];

        if ((l->flags & PF_X) && img->eh.entry >= l->paddr &&
            img->eh.entry - l->paddr < l->memsz) {
            entry_seg = l;
        }
    }
    if (!entry_seg) {
        return loader_fail(why, whylen, -EINVAL,
                           "entry point 0x%llx is not in an executable segment",
                           (unsigned long long)img->eh.entry);
    }
    img->info.entry = img->eh.entry;
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

int loader_elf_load(const void *image, size_t size,
                    const struct loader_elf_limits *lim,
                    loader_elf_write_fn write, void *opaque,
                    struct loader_elf_info *info, char *why, size_t whylen)
{
    struct elf_image img;
    int r;

    if (!lim || !write) {
        return loader_fail(why, whylen, -EINVAL, "no limits or write function");
    }
    r = elf_parse(image, size, &img, why, whylen);
    if (r < 0) {
        return r;
    }
    if (img.info.test_guest && img.info.abi_version != TESTDEV_ABI_VERSION) {
        return loader_fail(why, whylen, -ENOEXEC,
                           "test guest of ABI version %u; this VMM speaks %u",
                           img.info.abi_version, TESTDEV_ABI_VERSION);
    }
    for (unsigned i = 0; i < img.nr_loads; i++) {
        const struct elf_phdr *l = &img.loads[i];

        /* elf_check_load() made sure p_paddr + p_memsz does not wrap. */
        if (l->paddr < lim->min_gpa) {
            return loader_fail(why, whylen, -ERANGE,
                               "segment at 0x%llx is below 0x%llx (memory "
                               "the VMM keeps for its own structures)",
                               (unsigned long long)l->paddr,
                               (unsigned long long)lim->min_gpa);
        }
        if (l->paddr + l->memsz > lim->max_gpa) {
            return loader_fail(why, whylen, -ERANGE,
                               "segment 0x%llx-0x%llx does not fit in guest "
                               "RAM (ends at 0x%llx)",
                               (unsigned long long)l->paddr,
                               (unsigned long long)(l->paddr + l->memsz - 1),
                               (unsigned long long)lim->max_gpa);
        }
    }
    for (unsigned i = 0; i < img.nr_loads; i++) {
        const struct elf_phdr *l = &img.loads[i];

        if (l->filesz > 0) {
            r = write(opaque, l->paddr, img.data + l->offset,
                      (size_t)l->filesz);
            if (r < 0) {
                return loader_fail(why, whylen, r,
                                   "writing segment at 0x%llx failed",
                                   (unsigned long long)l->paddr);
            }
        }
        r = loader_zero(write, opaque, l->paddr + l->filesz,
                        l->memsz - l->filesz);
        if (r < 0) {
            return loader_fail(why, whylen, r,
                               "zeroing segment at 0x%llx failed",
                               (unsigned long long)l->paddr);
        }
    }
    *info = img.info;
    return 0;
}
