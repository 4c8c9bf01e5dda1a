/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (devices/virtio_console.c) under a hostile driver: the
 * input's first bytes are typed input, the rest is guest RAM holding both
 * queues' descriptor tables, rings and buffers. Both queues are set up as
 * a driver would and notified, input is offered before and after; no
 * chain may be written out past VIRTIO_CONSOLE_MAX_CHAIN bytes, typed
 * bytes are given or counted as dropped, and nothing may crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_console.h"
#include "fuzz.h"
#include "fuzz_virtio.h"

#define RAM_SIZE 65536u

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static uint64_t out_bytes;

static void *fz_map(void *opaque, uint64_t gpa, uint64_t len)
{
    (void)opaque;
    return gpa > RAM_SIZE || len > RAM_SIZE - gpa ? NULL : ram + gpa;
}

static const struct vq_mem_ops mem = {.map = fz_map};

static void fz_output(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    FUZZ_CHECK(buf >= ram && buf + len <= ram + RAM_SIZE);
    out_bytes += len;
}

static const struct virtio_console_hooks hooks = {.output = fz_output};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    size_t typed = (size_t)fuzz_take(&in, 1);
    static struct virtio_console c;
    const uint8_t *keys;

    if (typed > in.n) {
        typed = in.n;
    }
    keys = in.p;
    in.p += typed;
    in.n -= typed;
    memset(ram, 0, sizeof(ram));
    memcpy(ram, in.p, in.n < RAM_SIZE ? in.n : RAM_SIZE);
    out_bytes = 0;
    if (virtio_console_init(&c, &hooks, NULL, &mem, NULL, NULL, NULL) < 0) {
        return 0;
    }
    virtio_console_input(&c, keys, typed / 2);
    fz_virtio_start(&c.transport, 2);
    fz_wr(&c.transport, VMMIO_QUEUE_NOTIFY, 1);
    fz_wr(&c.transport, VMMIO_QUEUE_NOTIFY, 0);
    virtio_console_input(&c, keys + typed / 2, typed - typed / 2);
    /* At most MAX_CHAIN bytes a chain, and at most a ring's worth of
     * chains: the available index the input wrote never moves. */
    FUZZ_CHECK(out_bytes <=
               (uint64_t)FZ_VIRTIO_QSIZE * VIRTIO_CONSOLE_MAX_CHAIN);
    FUZZ_CHECK(c.bytes_in + c.dropped + c.pending_len == typed);
    FUZZ_CHECK(virtio_console_destroy(&c) == 0);
    return 0;
}
