/* SPDX-License-Identifier: MIT */
/*
 * Which kernel modules to load, in which order, for a set of wanted ones:
 * read from a modules directory's modules.dep (depmod's "path: dep dep"
 * lines, where loading the dependencies from last to first works) and
 * modules.builtin. Pure: the caller reads the files.
 *
 * Names compare as the kernel does: the file name without its directory
 * and ".ko..." suffix, '-' and '_' alike.
 */
#ifndef VMM_KMOD_H
#define VMM_KMOD_H

#include <stddef.h>

struct kmod_list {
    /* Paths as modules.dep writes them (relative to its directory), each
     * after everything it depends on; names[i] is paths[i]'s module
     * name; optional[i] whether only optional wanted ones need it. */
    char **paths;
    char **names;
    unsigned char *optional;
    size_t nr;
};

/*
 * Resolve (wanted) (nr_wanted names; a leading '?' marks one optional)
 * against (dep, dep_len) and (builtin, builtin_len) (NULL when there is no
 * modules.builtin) into (out), which the caller frees with
 * kmod_list_free(). A wanted module that modules.dep lacks is skipped when
 * it is built in, optional, or when there is no modules.builtin to tell;
 * otherwise the answer is -ENOENT with one line in (why) naming it.
 * -EINVAL for a modules.dep line without ':', -ELOOP for a module that
 * depends on itself or dependencies nested over 64 deep, -E2BIG for a line
 * of over 256 dependencies, -ENOMEM. (out) is empty after a failure.
 */
__attribute__((warn_unused_result)) int
kmod_resolve(const char *dep, size_t dep_len, const char *builtin,
             size_t builtin_len, const char *const *wanted, size_t nr_wanted,
             struct kmod_list *out, char *why, size_t whylen);

void kmod_list_free(struct kmod_list *l);

/* The module name of (path) into (buf): "kernel/fs/9p/9p.ko.xz" -> "9p",
 * "virtio-mmio.ko" -> "virtio_mmio". Cut to (len). */
void kmod_name(const char *path, size_t path_len, char *buf, size_t len);

/*
 * The "depends=" value of a module file's .modinfo section (a 64-bit
 * little-endian ELF relocatable, as x86-64 builds them) into (buf): the
 * names of the modules it needs, comma-separated, "" for none. Returns 0,
 * -ENOEXEC when (ko, size) is no such ELF file or its section table or
 * .modinfo lies outside it, -ENOENT without a .modinfo, -ENOSPC when the
 * value does not fit (len).
 */
__attribute__((warn_unused_result)) int
kmod_modinfo_depends(const void *ko, size_t size, char *buf, size_t len);

#endif /* VMM_KMOD_H */
