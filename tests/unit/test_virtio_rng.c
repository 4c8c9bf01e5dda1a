/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (devices/virtio_rng.c) behind its virtio-mmio transport,
 * driven through as_access(): device ID 4, a request of two writable
 * buffers filled with entropy (not all zero, different each time), a
 * 96 KiB request served up to the 64 KiB cap with the used length saying
 * so, and a chain with a readable buffer breaking the queue (NEEDS_RESET).
 */
#include <stdio.h>
#include <string.h>
#include <urcu.h>

#include "devices/virtio_rng.h"
#include "mem/address_space.h"
#include "unit.h"
#include "vq_driver.h"

static unsigned unit_failures;

#define BASE 0x10000
#define RAM_SIZE (1u << 20)
#define QSIZE 16
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define BUF_GPA 0x8000

VQD_FAKE_RAM(RAM_SIZE);
static struct mem_sys *sys;
static struct address_space *as;

VQD_MMIO_RW(as, BASE)
VQD_START_QUEUE

static uint32_t used_len(unsigned i)
{
    uint32_t v;

    memcpy(&v, ram + USED_GPA + 4 + 8 * i + 4, 4);
    return v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

int main(void)
{
    struct mem_region root;
    struct virtio_rng r;
    const uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                        VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
    int rc;

    rcu_register_thread();
    rc = virtio_rng_init(&r, &mem, NULL, NULL, NULL);
    rc = rc ? rc : mr_init_container(&root, "mmio", 0x100000);
    rc = rc ? rc : mem_sys_new(&sys);
    rc = rc ? rc : as_new(sys, "mmio", &root, 0x100000, &as);
    if (rc == 0) {
        mem_begin(sys);
        rc = mr_add_subregion(&root, BASE, &r.transport.region);
        rc = rc ? rc : mem_commit(sys);
    }
    CHECK(rc == 0, "fixture: %d", rc);
    if (rc) {
        return 1;
    }
    CHECK(rd(VMMIO_DEVICE_ID) == VIRTIO_ID_RNG, "device id");
    start_queue(QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
    CHECK(rd(VMMIO_STATUS) == ok, "status 0x%x", rd(VMMIO_STATUS));

    /* Two writable buffers, 32 and 64 bytes. */
    vqd_put_desc(ram, DESC_GPA, 0, BUF_GPA, 32,
                 VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
    vqd_put_desc(ram, DESC_GPA, 1, BUF_GPA + 32, 64, VQ_DESC_F_WRITE, 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, 0);
    wr(VMMIO_QUEUE_NOTIFY, 0);
    CHECK(vqd_get16(ram, USED_GPA + 2) == 1 && used_len(0) == 96,
          "used idx %u len %u", vqd_get16(ram, USED_GPA + 2), used_len(0));
    CHECK(!all_zero(ram + BUF_GPA, 32) && !all_zero(ram + BUF_GPA + 32, 64),
          "a buffer stayed zero");
    {
        uint8_t first[96];

        memcpy(first, ram + BUF_GPA, 96);
        vqd_offer(ram, AVAIL_GPA, QSIZE, 0);
        wr(VMMIO_QUEUE_NOTIFY, 0);
        CHECK(memcmp(first, ram + BUF_GPA, 96) != 0, "the same bytes twice");
    }
    /* 96 KiB asked: 64 KiB given, and the used length says so. */
    vqd_put_desc(ram, DESC_GPA, 2, 0x20000, 96 * 1024, VQ_DESC_F_WRITE, 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, 2);
    wr(VMMIO_QUEUE_NOTIFY, 0);
    CHECK(used_len(2) == VIRTIO_RNG_MAX_CHAIN &&
              all_zero(ram + 0x20000 + VIRTIO_RNG_MAX_CHAIN, 32 * 1024),
          "capped request: used len %u", used_len(2));
    /* A readable buffer is no rng request: the queue breaks. */
    vqd_put_desc(ram, DESC_GPA, 3, BUF_GPA, 16, 0, 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, 3);
    wr(VMMIO_QUEUE_NOTIFY, 0);
    CHECK(rd(VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
          "a readable buffer did not break the queue");
    CHECK(r.chains == 3 && r.bytes == 96 * 2 + VIRTIO_RNG_MAX_CHAIN,
          "served %llu chains, %llu bytes", (unsigned long long)r.chains,
          (unsigned long long)r.bytes);

    mem_begin(sys);
    rc = mr_del_subregion(&root, &r.transport.region);
    rc = rc ? rc : mem_commit(sys);
    mem_sys_free(sys);
    rc = rc ? rc : virtio_rng_destroy(&r);
    rc = rc ? rc : mr_destroy(&root);
    CHECK(rc == 0, "teardown: %d", rc);
    rcu_unregister_thread();
    printf("test_virtio_rng: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
