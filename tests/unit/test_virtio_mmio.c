/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (devices/virtio_mmio.c) placed in an address
 * space and driven through as_access() as a guest driver would: the
 * identification registers, feature negotiation (FEATURES_OK refused for
 * an unoffered feature or without VERSION_1), queue setup (a bad layout
 * stays not ready, layout writes to a ready queue are ignored), a request
 * through an echo device (notify, used element, interrupt, ACK), EVENT_IDX
 * negotiated onto the queue, a broken ring turning into NEEDS_RESET with a
 * configuration interrupt, reset, configuration space bounds, and
 * registers touched with other than 32-bit accesses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <urcu.h>

#include "devices/virtio_mmio.h"
#include "mem/address_space.h"
#include "unit.h"
#include "vq_driver.h"

static unsigned unit_failures;

#define BASE 0x10000
#define RAM_SIZE (1u << 20)
#define QSIZE 8
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define BUF_GPA 0x8000

VQD_FAKE_RAM(RAM_SIZE);

/* The echo device: copies each chain's readable bytes into its writable
 * ones; its configuration space is 8 bytes. */
struct echo {
    struct virtio_mmio *t;
    unsigned notifies, resets;
    uint8_t config[8];
};

static void echo_notify(void *opaque, unsigned qi)
{
    struct echo *e = opaque;
    static struct vq_chain c;
    struct virtqueue *q;

    e->notifies++;
    virtio_mmio_lock(e->t);
    q = virtio_mmio_queue(e->t, qi);
    while (q && vq_pop(q, &c) == 1) {
        uint8_t tmp[256];
        size_t n = 0, w = 0;

        for (unsigned i = 0; i < c.nr; i++) {
            const struct vq_seg *s = &c.seg[i];
            size_t k = s->len < sizeof(tmp) - n ? s->len : sizeof(tmp) - n;

            if (!s->write) {
                memcpy(tmp + n, fake_map(NULL, s->gpa, s->len), k);
                n += k;
            } else {
                k = s->len < n - w ? s->len : n - w;
                memcpy(fake_map(NULL, s->gpa, s->len), tmp + w, k);
                w += k;
            }
        }
        (void)vq_push(q, &c, (uint32_t)w);
    }
    virtio_mmio_used_locked(e->t, qi);
    virtio_mmio_unlock(e->t);
}

static void echo_reset(void *opaque)
{
    struct echo *e = opaque;

    e->resets++;
}

static void echo_config_read(void *opaque, uint32_t off, void *buf,
                             unsigned len)
{
    struct echo *e = opaque;

    memcpy(buf, e->config + off, len);
}

static void echo_config_write(void *opaque, uint32_t off, const void *buf,
                              unsigned len)
{
    struct echo *e = opaque;

    memcpy(e->config + off, buf, len);
}

static const struct virtio_dev_ops echo_ops = {
    .device_id = 42,
    .features = (UINT64_C(1) << VIRTIO_F_EVENT_IDX) |
                (UINT64_C(1) << VIRTIO_F_INDIRECT_DESC) | 1,
    .nr_queues = 1,
    .queue_max = QSIZE,
    .config_size = 8,
    .config_read = echo_config_read,
    .config_write = echo_config_write,
    .notify = echo_notify,
    .reset = echo_reset,
};

static bool irq_level;

static void set_irq(void *opaque, bool level)
{
    (void)opaque;
    irq_level = level;
}

static const struct virtio_mmio_hooks hooks = {.irq = set_irq};

struct fixture {
    struct mem_sys *sys;
    struct mem_region root;
    struct address_space *as;
    struct virtio_mmio t;
    struct echo e;
};

/* One access that the address space must deliver to the device. */
static void acc(struct fixture *f, uint64_t off, void *v, unsigned len,
                bool write)
{
    int r = as_access(f->as, BASE + off, v, len, write);

    CHECK(r == 0, "access at 0x%llx: %d", (unsigned long long)off, r);
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
    uint32_t v = 0xdeadbeef;

    acc(f, off, &v, 4, false);
    return v;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
    acc(f, off, &v, 4, true);
}

static bool setup(struct fixture *f)
{
    int rc;

    memset(f, 0, sizeof(*f));
    memset(ram, 0, sizeof(ram));
    f->e.t = &f->t;
    rc = virtio_mmio_init(&f->t, "virtio-echo", &echo_ops, &f->e, &mem, NULL,
                          &hooks, NULL);
    rc = rc ? rc : mr_init_container(&f->root, "mmio", 0x100000);
    rc = rc ? rc : mem_sys_new(&f->sys);
    rc = rc ? rc : as_new(f->sys, "mmio", &f->root, 0x100000, &f->as);
    if (rc == 0) {
        mem_begin(f->sys);
        rc = mr_add_subregion(&f->root, BASE, &f->t.region);
        rc = rc ? rc : mem_commit(f->sys);
    }
    CHECK(rc == 0, "fixture: %d", rc);
    return rc == 0;
}

static void teardown(struct fixture *f)
{
    int rc;

    mem_begin(f->sys);
    rc = mr_del_subregion(&f->root, &f->t.region);
    rc = rc ? rc : mem_commit(f->sys);
    mem_sys_free(f->sys);
    rc = rc ? rc : virtio_mmio_destroy(&f->t);
    rc = rc ? rc : mr_destroy(&f->root);
    CHECK(rc == 0, "teardown: %d", rc);
}

/* Negotiate (features) and set the queue up; returns the status read. */
static uint32_t bring_up(struct fixture *f, uint64_t features)
{
    wr(f, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(f, VMMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VMMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(f, VMMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VMMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(f, VMMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
           VIRTIO_STATUS_FEATURES_OK);
    wr(f, VMMIO_QUEUE_SEL, 0);
    wr(f, VMMIO_QUEUE_NUM, QSIZE);
    wr(f, VMMIO_QUEUE_DESC_LOW, DESC_GPA);
    wr(f, VMMIO_QUEUE_DESC_HIGH, 0);
    wr(f, VMMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
    wr(f, VMMIO_QUEUE_DEVICE_LOW, USED_GPA);
    wr(f, VMMIO_QUEUE_READY, 1);
    wr(f, VMMIO_STATUS, rd(f, VMMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
    return rd(f, VMMIO_STATUS);
}

#define put_desc(...) vqd_put_desc(ram, DESC_GPA, __VA_ARGS__)
#define offer(head) vqd_offer(ram, AVAIL_GPA, QSIZE, head)

static const uint64_t V1 = UINT64_C(1) << VIRTIO_F_VERSION_1;

static void test_identity_and_features(void)
{
    struct fixture f;

    if (!setup(&f)) {
        return;
    }
    CHECK(rd(&f, VMMIO_MAGIC) == VIRTIO_MMIO_MAGIC &&
              rd(&f, VMMIO_VERSION) == 2 && rd(&f, VMMIO_DEVICE_ID) == 42 &&
              rd(&f, VMMIO_VENDOR_ID) == VIRTIO_MMIO_VENDOR,
          "identity registers");
    wr(&f, VMMIO_DEVICE_FEATURES_SEL, 1);
    CHECK(rd(&f, VMMIO_DEVICE_FEATURES) == 1, "VERSION_1 not offered");
    wr(&f, VMMIO_DEVICE_FEATURES_SEL, 0);
    CHECK(rd(&f, VMMIO_DEVICE_FEATURES) == (uint32_t)echo_ops.features,
          "device features 0x%x", rd(&f, VMMIO_DEVICE_FEATURES));
    wr(&f, VMMIO_DEVICE_FEATURES_SEL, 7);
    CHECK(rd(&f, VMMIO_DEVICE_FEATURES) == 0, "features beyond 64 bits");
    /* An unoffered feature, then no VERSION_1: FEATURES_OK not kept. */
    CHECK(!(bring_up(&f, V1 | (1u << 5)) & VIRTIO_STATUS_FEATURES_OK),
          "FEATURES_OK kept with an unoffered feature");
    wr(&f, VMMIO_STATUS, 0);
    CHECK(!(bring_up(&f, 1) & VIRTIO_STATUS_FEATURES_OK),
          "FEATURES_OK kept without VERSION_1");
    wr(&f, VMMIO_STATUS, 0);
    CHECK(bring_up(&f, V1 | 1) & VIRTIO_STATUS_FEATURES_OK,
          "FEATURES_OK refused for a good subset");
    /* After FEATURES_OK the features are fixed. */
    wr(&f, VMMIO_DRIVER_FEATURES_SEL, 0);
    wr(&f, VMMIO_DRIVER_FEATURES, 1u << VIRTIO_F_EVENT_IDX);
    CHECK(f.t.driver_features == (V1 | 1), "features changed after OK");
    /* Registers are 32-bit: a 2-byte read is 0, a 1-byte write ignored. */
    {
        uint16_t v16 = 0xffff;
        uint8_t v8 = 0;

        acc(&f, VMMIO_MAGIC, &v16, 2, false);
        CHECK(v16 == 0, "a 2-byte register read gave 0x%x", v16);
        acc(&f, VMMIO_STATUS, &v8, 1, true);
        CHECK(rd(&f, VMMIO_STATUS) != 0, "a 1-byte Status write reset");
    }
    teardown(&f);
}

static void test_request(void)
{
    struct fixture f;
    uint32_t id, len;

    if (!setup(&f)) {
        return;
    }
    /* A bad layout stays not ready. */
    wr(&f, VMMIO_QUEUE_NUM, 6);
    wr(&f, VMMIO_QUEUE_READY, 1);
    CHECK(rd(&f, VMMIO_QUEUE_READY) == 0, "a 6-entry queue became ready");
    wr(&f, VMMIO_QUEUE_SEL, 3);
    CHECK(rd(&f, VMMIO_QUEUE_NUM_MAX) == 0, "queue 3 exists");
    CHECK(bring_up(&f, V1 | (UINT64_C(1) << VIRTIO_F_EVENT_IDX)) &
              VIRTIO_STATUS_DRIVER_OK,
          "bring-up");
    CHECK(rd(&f, VMMIO_QUEUE_READY) == 1 && f.t.queues[0].event_idx,
          "queue not ready or EVENT_IDX not on it");
    wr(&f, VMMIO_QUEUE_DESC_LOW, 0x5000);
    CHECK(f.t.queues[0].desc_gpa == DESC_GPA, "a ready queue moved");
    memcpy(ram + BUF_GPA, "hello", 5);
    put_desc(0, BUF_GPA, 5, VQ_DESC_F_NEXT, 1);
    put_desc(1, BUF_GPA + 0x100, 16, VQ_DESC_F_WRITE, 0);
    offer(0);
    wr(&f, VMMIO_QUEUE_NOTIFY, 0);
    memcpy(&id, ram + USED_GPA + 4, 4);
    memcpy(&len, ram + USED_GPA + 8, 4);
    CHECK(f.e.notifies == 1 && id == 0 && len == 5 &&
              memcmp(ram + BUF_GPA + 0x100, "hello", 5) == 0,
          "echo: notifies %u id %u len %u", f.e.notifies, id, len);
    CHECK(irq_level && (rd(&f, VMMIO_INTERRUPT_STATUS) & VIRTIO_INT_USED),
          "no used-buffer interrupt");
    wr(&f, VMMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
    CHECK(!irq_level && rd(&f, VMMIO_INTERRUPT_STATUS) == 0,
          "ACK did not lower the line");
    /* A notify for a queue that does not exist is dropped. */
    wr(&f, VMMIO_QUEUE_NOTIFY, 5);
    CHECK(f.e.notifies == 1, "a notify for queue 5 reached the device");
    /* A broken ring: NEEDS_RESET and a configuration interrupt. */
    put_desc(2, BUF_GPA, 4, VQ_DESC_F_NEXT, 2);
    offer(2);
    wr(&f, VMMIO_QUEUE_NOTIFY, 0);
    CHECK((rd(&f, VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) && irq_level &&
              (rd(&f, VMMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG),
          "a looping chain did not ask for a reset");
    wr(&f, VMMIO_STATUS, rd(&f, VMMIO_STATUS) & ~VIRTIO_STATUS_NEEDS_RESET);
    CHECK(rd(&f, VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
          "the driver cleared NEEDS_RESET");
    wr(&f, VMMIO_STATUS, 0);
    CHECK(rd(&f, VMMIO_STATUS) == 0 && rd(&f, VMMIO_QUEUE_READY) == 0 &&
              !f.t.queues[0].broken && f.e.resets == 1 && !irq_level,
          "reset: status %u ready %u resets %u", rd(&f, VMMIO_STATUS),
          rd(&f, VMMIO_QUEUE_READY), f.e.resets);
    teardown(&f);
}

static void test_config(void)
{
    struct fixture f;
    uint32_t v = 0x11223344, r = 0;
    uint8_t b = 0xab;

    if (!setup(&f)) {
        return;
    }
    acc(&f, VIRTIO_MMIO_CONFIG + 4, &v, 4, true);
    acc(&f, VIRTIO_MMIO_CONFIG + 4, &r, 4, false);
    CHECK(r == 0x11223344, "config word 0x%x", r);
    acc(&f, VIRTIO_MMIO_CONFIG + 8, &b, 1, true);
    r = 0xffffffff;
    acc(&f, VIRTIO_MMIO_CONFIG + 8, &r, 4, false);
    CHECK(r == 0, "a read past the config's end gave 0x%x", r);
    virtio_mmio_config_changed(&f.t);
    CHECK(rd(&f, VMMIO_CONFIG_GENERATION) == 1 && irq_level,
          "config change: generation %u", rd(&f, VMMIO_CONFIG_GENERATION));
    teardown(&f);
}

int main(void)
{
    static const struct virtio_dev_ops too_many = {.nr_queues = 9,
                                                   .queue_max = 8};
    struct virtio_mmio t;

    rcu_register_thread();
    CHECK(virtio_mmio_init(&t, "x", &too_many, NULL, &mem, NULL, NULL, NULL) ==
              -EINVAL,
          "9 queues accepted");
    test_identity_and_features();
    test_request();
    test_config();
    rcu_unregister_thread();
    printf("test_virtio_mmio: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
