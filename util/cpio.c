/* SPDX-License-Identifier: MIT */
/*
 * newc cpio writer (util/cpio.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cpio.h"

#define HDR_LEN 110
#define NAME_MAX_LEN 4095

static size_t pad4(size_t n)
{
    return (4 - n % 4) % 4;
}

static int reserve(struct cpio *c, size_t more)
{
    size_t cap = c->cap ? c->cap : 4096;
    uint8_t *b;

    if (more > SIZE_MAX - c->len) {
        return -ENOMEM;
    }
    while (cap < c->len + more) {
        if (cap > SIZE_MAX / 2) {
            return -ENOMEM;
        }
        cap *= 2;
    }
    if (cap == c->cap) {
        return 0;
    }
    b = realloc(c->buf, cap);
    if (!b) {
        return -ENOMEM;
    }
    c->buf = b;
    c->cap = cap;
    return 0;
}

static int put(struct cpio *c, const char *name, uint32_t ino, uint32_t mode,
               const void *data, size_t len, uint32_t major, uint32_t minor)
{
    size_t namesize = strlen(name) + 1;
    size_t total =
        HDR_LEN + namesize + pad4(HDR_LEN + namesize) + len + pad4(len);
    char hdr[HDR_LEN + 1];
    int ret = reserve(c, total);

    if (ret < 0) {
        return ret;
    }
    snprintf(hdr, sizeof(hdr),
             "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
             mode, 0u, 0u, 1u, 0u, (unsigned)len, 0u, 0u, major, minor,
             (unsigned)namesize, 0u);
    memcpy(c->buf + c->len, hdr, HDR_LEN);
    c->len += HDR_LEN;
    memcpy(c->buf + c->len, name, namesize);
    c->len += namesize;
    memset(c->buf + c->len, 0, pad4(HDR_LEN + namesize));
    c->len += pad4(HDR_LEN + namesize);
    if (len) {
        memcpy(c->buf + c->len, data, len);
        c->len += len;
    }
    memset(c->buf + c->len, 0, pad4(len));
    c->len += pad4(len);
    return 0;
}

int cpio_add(struct cpio *c, const char *name, uint32_t mode, const void *data,
             size_t len, uint32_t rdev_major, uint32_t rdev_minor)
{
    size_t nl = name ? strlen(name) : 0;
    bool has_data = S_ISREG(mode) || S_ISLNK(mode);

    if (nl == 0 || nl > NAME_MAX_LEN || name[0] == '/' || len > 0xffffffffu ||
        (!has_data && len) || (len && !data)) {
        return -EINVAL;
    }
    c->ino++;
    return put(c, name, c->ino, mode, data, len, rdev_major, rdev_minor);
}

int cpio_finish(struct cpio *c)
{
    return put(c, "TRAILER!!!", 0, 0, NULL, 0, 0, 0);
}

void cpio_free(struct cpio *c)
{
    free(c->buf);
    memset(c, 0, sizeof(*c));
}
