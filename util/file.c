/* SPDX-License-Identifier: MIT */
/*
 * Reading a whole input file (see util/file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

int file_read_all(const char *path, uint64_t max, void **out, size_t *size,
                  char *why, size_t whylen)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd, ret;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        snprintf(why, whylen, "%s: %s", path, strerror(-ret));
        return ret;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s: not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    if (st.st_size == 0) {
        snprintf(why, whylen, "%s: empty file", path);
        close(fd);
        return -ENOEXEC;
    }
    if ((uint64_t)st.st_size > max) {
        /* The limit as "1 GiB", "512 MiB" or in bytes. */
        const char *unit = "byte";
        unsigned long long n = max;

        if (max % (1ull << 30) == 0) {
            unit = "GiB";
            n = max >> 30;
        } else if (max % (1ull << 20) == 0) {
            unit = "MiB";
            n = max >> 20;
        }
        snprintf(why, whylen, "%s: %lld bytes, larger than the %llu %s limit",
                 path, (long long)st.st_size, n, unit);
        close(fd);
        return -EFBIG;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        snprintf(why, whylen, "%s: out of memory", path);
        close(fd);
        return -ENOMEM;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            snprintf(why, whylen, "%s: read failed: %s", path, strerror(-ret));
            free(buf);
            close(fd);
            return ret;
        }
        done += (size_t)n;
    }
    close(fd);
    *out = buf;
    *size = done;
    return 0;
}
