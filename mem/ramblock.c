/* SPDX-License-Identifier: MIT */
/*
 * RAMBlocks: host memory behind RAM and ROM regions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/ramblock.h"

struct ram_block {
    char *name;
    void *host;
    ram_addr_t offset;
    uint64_t used_length;
    uint64_t max_length;
    uint64_t page_size;
    int fd;
    unsigned flags;
};

static uint64_t host_page_size(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

int ram_block_alloc_anon(const char *name, uint64_t size, uint64_t max_size,
                         struct ram_block **out)
{
    uint64_t page = host_page_size();
    struct ram_block *rb;
    void *host;

    if (size == 0 || max_size < size || size % page || max_size % page ||
        max_size > SIZE_MAX) {
        return -EINVAL;
    }
    rb = calloc(1, sizeof(*rb));
    if (!rb) {
        return -ENOMEM;
    }
    rb->name = strdup(name ? name : "");
    if (!rb->name) {
        free(rb);
        return -ENOMEM;
    }
    host = mmap(NULL, (size_t)max_size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (host == MAP_FAILED) {
        int err = -errno;

        free(rb->name);
        free(rb);
        return err;
    }
    rb->host = host;
    rb->used_length = size;
    rb->max_length = max_size;
    rb->page_size = page;
    rb->fd = -1;
    rb->flags = max_size > size ? RAM_BLOCK_RESIZEABLE : 0;
    *out = rb;
    return 0;
}

void ram_block_free(struct ram_block *rb)
{
    if (!rb) {
        return;
    }
    munmap(rb->host, (size_t)rb->max_length);
    if (rb->fd >= 0) {
        close(rb->fd);
    }
    free(rb->name);
    free(rb);
}

void *ram_block_host(const struct ram_block *rb)
{
    return rb->host;
}

uint64_t ram_block_used_length(const struct ram_block *rb)
{
    return rb->used_length;
}

uint64_t ram_block_max_length(const struct ram_block *rb)
{
    return rb->max_length;
}

uint64_t ram_block_page_size(const struct ram_block *rb)
{
    return rb->page_size;
}

ram_addr_t ram_block_offset(const struct ram_block *rb)
{
    return rb->offset;
}

const char *ram_block_name(const struct ram_block *rb)
{
    return rb->name;
}

unsigned ram_block_flags(const struct ram_block *rb)
{
    return rb->flags;
}

int ram_block_resize(struct ram_block *rb, uint64_t size)
{
    if (size == 0 || size > rb->max_length || size % rb->page_size) {
        return -EINVAL;
    }
    if (size < rb->used_length) {
        /* Give the tail back; the reservation stays for a later grow. */
        madvise((uint8_t *)rb->host + size, (size_t)(rb->used_length - size),
                MADV_DONTNEED);
    }
    rb->used_length = size;
    return 0;
}
