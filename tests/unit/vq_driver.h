/* SPDX-License-Identifier: MIT */
/*
 * The driver's side of a split virtqueue, written into a test's fake guest
 * RAM (shared by test_virtqueue and test_virtio_mmio): descriptors, the
 * available ring's index and entries, 16-bit fields.
 */
#ifndef TESTS_UNIT_VQ_DRIVER_H
#define TESTS_UNIT_VQ_DRIVER_H

#include <stdint.h>
#include <string.h>

#include "devices/virtqueue.h"

/*
 * The test's guest RAM: (size) bytes at guest address 0 in (ram), and
 * (mem), the map hook the queues reach it through (NULL past its end).
 */
#define VQD_FAKE_RAM(size)                                                     \
    static uint8_t ram[size] __attribute__((aligned(4096)));                   \
    static void *fake_map(void *opaque, uint64_t gpa, uint64_t len)            \
    {                                                                          \
        (void)opaque;                                                          \
        return gpa > (size) || len > (size)-gpa ? NULL : ram + gpa;            \
    }                                                                          \
    static const struct vq_mem_ops mem = {.map = fake_map}

/*
 * rd(off) and wr(off, v): 32-bit accesses to the register at (base) + off
 * through the test's address space (as), a refused one a failure (CHECK
 * from unit.h, as_access from mem/address_space.h, included first).
 */
#define VQD_MMIO_RW(as, base)                                                  \
    static uint32_t rd(uint64_t off)                                           \
    {                                                                          \
        uint32_t v = 0;                                                        \
                                                                               \
        CHECK(as_access(as, (base) + off, &v, 4, false) == 0, "read 0x%llx",   \
              (unsigned long long)off);                                        \
        return v;                                                              \
    }                                                                          \
    static void wr(uint64_t off, uint32_t v)                                   \
    {                                                                          \
        CHECK(as_access(as, (base) + off, &v, 4, true) == 0, "write 0x%llx",   \
              (unsigned long long)off);                                        \
    }

/*
 * start_queue(qsize, desc, avail, used): the driver's start through wr()
 * (VQD_MMIO_RW first; the registers from devices/virtio_mmio.h): VERSION_1
 * alone, FEATURES_OK, queue 0 of (qsize) entries with its rings at (desc,
 * avail, used) below 4 GiB made ready, then DRIVER_OK.
 */
#define VQD_START_QUEUE                                                        \
    static void start_queue(uint32_t qsize, uint32_t desc, uint32_t avail,     \
                            uint32_t used)                                     \
    {                                                                          \
        const uint32_t feat = VIRTIO_STATUS_ACKNOWLEDGE |                      \
                              VIRTIO_STATUS_DRIVER |                           \
                              VIRTIO_STATUS_FEATURES_OK;                       \
                                                                               \
        wr(VMMIO_DRIVER_FEATURES_SEL, 1);                                      \
        wr(VMMIO_DRIVER_FEATURES, 1); /* VERSION_1 */                          \
        wr(VMMIO_STATUS, feat);                                                \
        wr(VMMIO_QUEUE_SEL, 0);                                                \
        wr(VMMIO_QUEUE_NUM, qsize);                                            \
        wr(VMMIO_QUEUE_DESC_LOW, desc);                                        \
        wr(VMMIO_QUEUE_DRIVER_LOW, avail);                                     \
        wr(VMMIO_QUEUE_DEVICE_LOW, used);                                      \
        wr(VMMIO_QUEUE_READY, 1);                                              \
        wr(VMMIO_STATUS, feat | VIRTIO_STATUS_DRIVER_OK);                      \
    }

/* Descriptor (i) of the table at (table): {addr, len, flags, next}. */
static inline void vqd_put_desc(uint8_t *ram, uint64_t table, unsigned i,
                                uint64_t addr, uint32_t len, uint16_t flags,
                                uint16_t next)
{
    uint8_t *p = ram + table + 16 * i;

    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

static inline uint16_t vqd_get16(const uint8_t *ram, uint64_t gpa)
{
    uint16_t v;

    memcpy(&v, ram + gpa, 2);
    return v;
}

static inline void vqd_set16(uint8_t *ram, uint64_t gpa, uint16_t v)
{
    memcpy(ram + gpa, &v, 2);
}

/* Make chain (head) available in the ring at (avail) of (qsize) entries. */
static inline void vqd_offer(uint8_t *ram, uint64_t avail, unsigned qsize,
                             uint16_t head)
{
    uint16_t idx = vqd_get16(ram, avail + 2);

    vqd_set16(ram, avail + 4 + 2 * (idx % qsize), head);
    vqd_set16(ram, avail + 2, (uint16_t)(idx + 1));
}

#endif /* TESTS_UNIT_VQ_DRIVER_H */
