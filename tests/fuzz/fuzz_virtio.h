/* SPDX-License-Identifier: MIT */
/*
 * What the virtio device fuzzers share: a driver's handshake with
 * INDIRECT_DESC and EVENT_IDX, queue (q) of (nq) laid out in the 4 KiB at
 * q * 0x1000 of the fuzzed RAM (table, available ring at +0x100, used ring
 * at +0x200), DRIVER_OK; every register written through the region's ops.
 */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_H
#define TESTS_FUZZ_FUZZ_VIRTIO_H

#include "devices/virtio_mmio.h"

#define FZ_VIRTIO_QSIZE 16

static inline void fz_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    t->region.ops->write(t, off, v, 4);
}

static inline void fz_virtio_start(struct virtio_mmio *t, unsigned nq)
{
    fz_wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    fz_wr(t, VMMIO_DRIVER_FEATURES_SEL, 0);
    fz_wr(t, VMMIO_DRIVER_FEATURES,
          (1u << VIRTIO_F_INDIRECT_DESC) | (1u << VIRTIO_F_EVENT_IDX));
    fz_wr(t, VMMIO_DRIVER_FEATURES_SEL, 1);
    fz_wr(t, VMMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
    fz_wr(t, VMMIO_STATUS,
          VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
              VIRTIO_STATUS_FEATURES_OK);
    for (uint32_t q = 0; q < nq; q++) {
        fz_wr(t, VMMIO_QUEUE_SEL, q);
        fz_wr(t, VMMIO_QUEUE_NUM, FZ_VIRTIO_QSIZE);
        fz_wr(t, VMMIO_QUEUE_DESC_LOW, 0x1000 * q);
        fz_wr(t, VMMIO_QUEUE_DRIVER_LOW, 0x1000 * q + 0x100);
        fz_wr(t, VMMIO_QUEUE_DEVICE_LOW, 0x1000 * q + 0x200);
        fz_wr(t, VMMIO_QUEUE_READY, 1);
    }
    fz_wr(t, VMMIO_STATUS,
          VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
              VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

#endif /* TESTS_FUZZ_FUZZ_VIRTIO_H */
