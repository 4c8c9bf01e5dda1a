/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk's request parser (devices/virtio_blk.c) under a hostile
 * driver: the input's first byte picks read-only or read-write, the rest
 * is guest RAM holding the descriptor table, the available ring and every
 * buffer, so headers (type, sector), data lengths, status bytes and ranges
 * are all the input's. The queue is set up as a driver would and notified
 * a few times. The image (a 64 KiB memfd) must keep its size, a read-only
 * one its bytes, and nothing may crash.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "fuzz.h"
#include "fuzz_virtio.h"

#define RAM_SIZE 65536u
#define IMG_SIZE 65536u

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static uint8_t before[IMG_SIZE], after[IMG_SIZE];

static void *fz_map(void *opaque, uint64_t gpa, uint64_t len)
{
    (void)opaque;
    return gpa > RAM_SIZE || len > RAM_SIZE - gpa ? NULL : ram + gpa;
}

static const struct vq_mem_ops mem = {.map = fz_map};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    struct fuzz_in in = {data, size};
    uint64_t flags = fuzz_take(&in, 1);
    bool ro = flags & 1;
    /* Both engines: io_uring's batches (where this kernel has it) and
     * one request at a time. */
    struct virtio_blk_opts o = {.size = IMG_SIZE,
                                .readonly = ro,
                                .aio = flags & 2 ? VIRTIO_BLK_AIO_THREADS
                                                 : VIRTIO_BLK_AIO_AUTO};
    static struct virtio_blk b;
    struct stat st;

    if (fd < 0) {
        fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
        if (fd < 0) {
            abort();
        }
    }
    memset(before, 0x5a, sizeof(before));
    FUZZ_CHECK(ftruncate(fd, IMG_SIZE) == 0 &&
               pwrite(fd, before, IMG_SIZE, 0) == IMG_SIZE);
    o.fd = fd;
    memset(ram, 0, sizeof(ram));
    memcpy(ram, in.p, in.n < RAM_SIZE ? in.n : RAM_SIZE);
    if (virtio_blk_init(&b, &o, &mem, NULL, NULL, NULL) < 0) {
        return 0;
    }
    fz_virtio_start(&b.transport, 1);
    for (int i = 0; i < 3; i++) {
        fz_wr(&b.transport, VMMIO_QUEUE_NOTIFY, 0);
    }
    FUZZ_CHECK(fstat(fd, &st) == 0 && st.st_size == IMG_SIZE);
    if (ro) {
        FUZZ_CHECK(pread(fd, after, IMG_SIZE, 0) == IMG_SIZE &&
                   memcmp(before, after, IMG_SIZE) == 0);
    }
    FUZZ_CHECK(virtio_blk_destroy(&b) == 0);
    return 0;
}
