/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (devices/virtio_mmio.c) under a hostile
 * driver: the input is a list of register accesses (offset, size, value,
 * read or write) and the first 16 KiB of guest RAM, where the rings live;
 * a device behind it pops and pushes every chain it is notified of. The
 * transport must never keep FEATURES_OK for features it did not offer,
 * never hand out a queue that is not ready, and never crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_mmio.h"
#include "fuzz.h"

#define RAM_SIZE 16384u

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static void *fz_map(void *opaque, uint64_t gpa, uint64_t len)
{
    (void)opaque;
    return gpa > RAM_SIZE || len > RAM_SIZE - gpa ? NULL : ram + gpa;
}

static const struct vq_mem_ops mem = {.map = fz_map};
static struct virtio_mmio t;
static uint8_t config[16];

static void fz_notify(void *dev, unsigned qi)
{
    static struct vq_chain c;
    struct virtqueue *q;

    (void)dev;
    virtio_mmio_lock(&t);
    q = virtio_mmio_queue(&t, qi);
    FUZZ_CHECK(!q || q->ready);
    for (int n = 0; q && n < 64 && vq_pop(q, &c) == 1; n++) {
        FUZZ_CHECK(vq_push(q, &c, (uint32_t)(c.in_bytes & 0xff)) == 0);
    }
    virtio_mmio_used_locked(&t, qi);
    virtio_mmio_unlock(&t);
}

static void fz_cread(void *dev, uint32_t off, void *buf, unsigned len)
{
    (void)dev;
    FUZZ_CHECK(off + len <= sizeof(config));
    memcpy(buf, config + off, len);
}

static void fz_cwrite(void *dev, uint32_t off, const void *buf, unsigned len)
{
    (void)dev;
    FUZZ_CHECK(off + len <= sizeof(config));
    memcpy(config + off, buf, len);
}

static const struct virtio_dev_ops ops = {
    .device_id = 1,
    .features = (UINT64_C(1) << VIRTIO_F_EVENT_IDX) | 3,
    .nr_queues = 2,
    .queue_max = 16,
    .config_size = sizeof(config),
    .config_read = fz_cread,
    .config_write = fz_cwrite,
    .notify = fz_notify,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    size_t fill;
    unsigned n = (unsigned)fuzz_take(&in, 1);

    memset(ram, 0, sizeof(ram));
    if (virtio_mmio_init(&t, "fuzz", &ops, NULL, &mem, NULL, NULL, NULL) < 0) {
        return 0;
    }
    /* Accesses first, then the rest is RAM. */
    struct {
        uint16_t off;
        uint8_t size;
        uint32_t val;
        bool write;
    } acc[256];
    for (unsigned i = 0; i < n; i++) {
        unsigned s = 1u << (fuzz_take(&in, 1) % 3);

        acc[i].off =
            (uint16_t)((fuzz_take(&in, 2) % VIRTIO_MMIO_SIZE) & ~(s - 1));
        acc[i].size = (uint8_t)s;
        acc[i].val = (uint32_t)fuzz_take(&in, 4);
        acc[i].write = fuzz_take(&in, 1) & 1;
    }
    fill = in.n < RAM_SIZE ? in.n : RAM_SIZE;
    memcpy(ram, in.p, fill);
    for (unsigned i = 0; i < n; i++) {
        const struct mr_ops *o = t.region.ops;

        if (acc[i].write) {
            o->write(&t, acc[i].off, acc[i].val, acc[i].size);
        } else {
            (void)o->read(&t, acc[i].off, acc[i].size);
        }
        if (t.status & VIRTIO_STATUS_FEATURES_OK) {
            FUZZ_CHECK(
                (t.driver_features &
                 ~(ops.features | (UINT64_C(1) << VIRTIO_F_VERSION_1))) == 0);
        }
    }
    FUZZ_CHECK(virtio_mmio_destroy(&t) == 0);
    return 0;
}
