/* SPDX-License-Identifier: MIT */
/*
 * Writing a cpio archive in the "newc" format the kernel unpacks as an
 * initramfs (header magic 070701, 8-digit hex fields, the name and the
 * data each padded to 4 bytes, a "TRAILER!!!" entry at the end), in
 * memory. Owner root, mtime 0, one link each: the same inputs give the
 * same bytes.
 */
#ifndef UTIL_CPIO_H
#define UTIL_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct cpio {
    uint8_t *buf;
    size_t len, cap;
    uint32_t ino;
};

/*
 * Append an entry: (name) without a leading '/', (mode) with its file type
 * (S_IFREG | 0755 ...), (len) bytes of (data) for a regular file or a
 * symlink's target, (rdev_major, rdev_minor) for a device node. Returns 0,
 * -EINVAL for an empty name or one over 4095 bytes, data over 4 GiB - 1
 * or data for a directory or node, -ENOMEM (the archive unchanged then).
 */
__attribute__((warn_unused_result)) int
cpio_add(struct cpio *c, const char *name, uint32_t mode, const void *data,
         size_t len, uint32_t rdev_major, uint32_t rdev_minor);

/* Append the trailer; the archive is (c->buf, c->len) then. */
__attribute__((warn_unused_result)) int cpio_finish(struct cpio *c);

void cpio_free(struct cpio *c);

#endif /* UTIL_CPIO_H */
