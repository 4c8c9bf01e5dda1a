/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (devices/virtio_blk.c) behind its transport over a temporary
 * 64 KiB image, driven through as_access(): capacity in the configuration
 * space; read, write, flush, get-id, write-zeroes and discard answered OK
 * with the image changed as asked; a write or a range past the end, a
 * length not a multiple of 512 and a sector near 2^64 answered IOERR with
 * the image and its size unchanged; an unknown type UNSUPP; a read-only
 * disk offering VIRTIO_BLK_F_RO and refusing writes; a chain without a
 * status byte breaking the queue; EVENT_IDX's avail_event kept up to date.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu.h>

#include "devices/virtio_blk.h"
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
#define HDR_GPA 0x4000
#define STATUS_GPA 0x4100
#define DATA_GPA 0x8000
#define IMG_SIZE 65536
#define SECTORS (IMG_SIZE / 512)

VQD_FAKE_RAM(RAM_SIZE);
static struct mem_sys *sys;
static struct address_space *as;
static struct mem_region root;
static uint8_t image[IMG_SIZE];
static int fd = -1;
static uint16_t next_avail;

VQD_MMIO_RW(as, BASE)

/* Features, one queue, DRIVER_OK. */
static void driver_setup(bool event_idx)
{
    wr(VMMIO_STATUS, 0);
    memset(ram, 0, 0x5000);
    next_avail = 0;
    wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VMMIO_DRIVER_FEATURES_SEL, 0);
    wr(VMMIO_DRIVER_FEATURES,
       (1u << VIRTIO_BLK_F_FLUSH) | (event_idx ? 1u << VIRTIO_F_EVENT_IDX : 0));
    wr(VMMIO_DRIVER_FEATURES_SEL, 1);
    wr(VMMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
    wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                         VIRTIO_STATUS_FEATURES_OK);
    wr(VMMIO_QUEUE_SEL, 0);
    wr(VMMIO_QUEUE_NUM, QSIZE);
    wr(VMMIO_QUEUE_DESC_LOW, DESC_GPA);
    wr(VMMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
    wr(VMMIO_QUEUE_DEVICE_LOW, USED_GPA);
    wr(VMMIO_QUEUE_READY, 1);
    wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                         VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/*
 * One request: header (type, sector), (len) bytes of data at DATA_GPA
 * (device-writable for reads and get-id), a status byte. Returns the
 * status, or -1 when the device did not answer.
 */
static int request(uint32_t type, uint64_t sector, uint32_t len,
                   uint32_t *used_len)
{
    struct virtio_blk_outhdr h = {.type = type, .sector = sector};
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    uint16_t before = vqd_get16(ram, USED_GPA + 2);
    unsigned slot;

    memcpy(ram + HDR_GPA, &h, sizeof(h));
    ram[STATUS_GPA] = 0xee;
    vqd_put_desc(ram, DESC_GPA, 0, HDR_GPA, sizeof(h), VQ_DESC_F_NEXT,
                 len ? 1 : 2);
    vqd_put_desc(ram, DESC_GPA, 1, DATA_GPA, len,
                 (in ? VQ_DESC_F_WRITE : 0) | VQ_DESC_F_NEXT, 2);
    vqd_put_desc(ram, DESC_GPA, 2, STATUS_GPA, 1, VQ_DESC_F_WRITE, 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, 0);
    next_avail++;
    wr(VMMIO_QUEUE_NOTIFY, 0);
    if (vqd_get16(ram, USED_GPA + 2) != (uint16_t)(before + 1)) {
        return -1;
    }
    slot = before % QSIZE;
    if (used_len) {
        memcpy(used_len, ram + USED_GPA + 4 + 8 * slot + 4, 4);
    }
    return ram[STATUS_GPA];
}

static void file_bytes(uint8_t *buf)
{
    CHECK(pread(fd, buf, IMG_SIZE, 0) == IMG_SIZE, "reading the image back");
}

static int make_disk(struct virtio_blk *b, bool readonly,
                     enum virtio_blk_aio aio)
{
    const struct virtio_blk_opts o = {
        .fd = fd,
        .size = IMG_SIZE,
        .readonly = readonly,
        .serial = "unit-serial-0123456789", /* 22: cut to 20 */
        .aio = aio,
    };
    int rc = virtio_blk_init(b, &o, &mem, NULL, NULL, NULL);

    if (rc == 0) {
        mem_begin(sys);
        rc = mr_add_subregion(&root, BASE, &b->transport.region);
        rc = rc ? rc : mem_commit(sys);
    }
    return rc;
}

static int drop_disk(struct virtio_blk *b)
{
    int rc;

    mem_begin(sys);
    rc = mr_del_subregion(&root, &b->transport.region);
    rc = rc ? rc : mem_commit(sys);
    return rc ? rc : virtio_blk_destroy(b);
}

static void test_requests(struct virtio_blk *b)
{
    uint8_t now[IMG_SIZE];
    uint32_t used = 0;
    uint64_t cap = 0;

    CHECK(rd(VMMIO_DEVICE_ID) == VIRTIO_ID_BLOCK, "device id");
    cap = rd(VIRTIO_MMIO_CONFIG) | (uint64_t)rd(VIRTIO_MMIO_CONFIG + 4) << 32;
    CHECK(cap == SECTORS, "capacity %llu", (unsigned long long)cap);
    driver_setup(true);
    CHECK(request(VIRTIO_BLK_T_IN, 2, 1024, &used) == VIRTIO_BLK_S_OK &&
              used == 1025,
          "read: used %u", used);
    CHECK(memcmp(ram + DATA_GPA, image + 1024, 1024) == 0, "read data");
    CHECK(vqd_get16(ram, USED_GPA + 4 + 8 * QSIZE) == next_avail,
          "avail_event %u, want %u", vqd_get16(ram, USED_GPA + 4 + 8 * QSIZE),
          next_avail);

    memset(ram + DATA_GPA, 0xab, 512);
    CHECK(request(VIRTIO_BLK_T_OUT, 4, 512, NULL) == VIRTIO_BLK_S_OK, "write");
    memset(image + 4 * 512, 0xab, 512);
    CHECK(request(VIRTIO_BLK_T_FLUSH, 0, 0, NULL) == VIRTIO_BLK_S_OK, "flush");
    file_bytes(now);
    CHECK(memcmp(now, image, IMG_SIZE) == 0, "the write reached the image");

    /* Past the end, near 2^64, odd lengths: IOERR, nothing written. */
    memset(ram + DATA_GPA, 0xcd, 1024);
    CHECK(request(VIRTIO_BLK_T_OUT, SECTORS - 1, 1024, NULL) ==
              VIRTIO_BLK_S_IOERR,
          "a write across the end");
    CHECK(request(VIRTIO_BLK_T_OUT, SECTORS, 512, NULL) == VIRTIO_BLK_S_IOERR,
          "a write at the end");
    CHECK(request(VIRTIO_BLK_T_IN, UINT64_MAX - 1, 1024, NULL) ==
              VIRTIO_BLK_S_IOERR,
          "a read near 2^64 sectors");
    CHECK(request(VIRTIO_BLK_T_IN, 0, 100, NULL) == VIRTIO_BLK_S_IOERR,
          "a read of 100 bytes");
    file_bytes(now);
    CHECK(memcmp(now, image, IMG_SIZE) == 0, "a refused write changed data");
    {
        struct stat st;

        CHECK(fstat(fd, &st) == 0 && st.st_size == IMG_SIZE,
              "the image's size changed");
    }

    /* GET_ID: 20 bytes of serial. */
    memset(ram + DATA_GPA, 0, 64);
    CHECK(request(VIRTIO_BLK_T_GET_ID, 0, 64, &used) == VIRTIO_BLK_S_OK &&
              used == 21 &&
              memcmp(ram + DATA_GPA, "unit-serial-01234567", 20) == 0 &&
              ram[DATA_GPA + 20] == 0,
          "get-id: used %u '%.20s'", used, (const char *)ram + DATA_GPA);
    CHECK(request(99, 0, 0, NULL) == VIRTIO_BLK_S_UNSUPP, "unknown type");

    /* Write-zeroes over sectors 4-5, then a range past the end. */
    {
        struct virtio_blk_discard_write_zeroes d = {.sector = 4,
                                                    .num_sectors = 2};

        memcpy(ram + DATA_GPA, &d, sizeof(d));
        CHECK(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(d), NULL) ==
                  VIRTIO_BLK_S_OK,
              "write-zeroes");
        memset(image + 4 * 512, 0, 1024);
        file_bytes(now);
        CHECK(memcmp(now, image, IMG_SIZE) == 0, "write-zeroes result");
        d.sector = SECTORS - 1;
        memcpy(ram + DATA_GPA, &d, sizeof(d));
        CHECK(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(d), NULL) ==
                  VIRTIO_BLK_S_IOERR,
              "a discard across the end");
        d = (struct virtio_blk_discard_write_zeroes){
            .sector = 8, .num_sectors = 1, .flags = 1};
        memcpy(ram + DATA_GPA, &d, sizeof(d));
        CHECK(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(d), NULL) ==
                  VIRTIO_BLK_S_UNSUPP,
              "discard with UNMAP");
    }

    /* A descriptor loop breaks the queue in vq_pop(): NEEDS_RESET. */
    vqd_put_desc(ram, DESC_GPA, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 1);
    vqd_put_desc(ram, DESC_GPA, 1, DATA_GPA, 512,
                 VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, 0);
    wr(VMMIO_QUEUE_NOTIFY, 0);
    CHECK(rd(VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
          "a descriptor loop did not set NEEDS_RESET");
    driver_setup(true);
    /* No status byte: nowhere to answer, the queue breaks. */
    vqd_put_desc(ram, DESC_GPA, 0, HDR_GPA, 16, 0, 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, 0);
    wr(VMMIO_QUEUE_NOTIFY, 0);
    CHECK(rd(VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
          "a chain without a status byte did not break the queue");
    CHECK(b->nr_ok == 5 && b->nr_ioerr == 5 && b->nr_unsupp == 2,
          "counters ok %llu ioerr %llu unsupp %llu",
          (unsigned long long)b->nr_ok, (unsigned long long)b->nr_ioerr,
          (unsigned long long)b->nr_unsupp);
}

static void test_readonly(struct virtio_blk *b)
{
    uint8_t now[IMG_SIZE];

    wr(VMMIO_DEVICE_FEATURES_SEL, 0);
    CHECK(rd(VMMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO), "RO offered");
    CHECK(!(rd(VMMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_DISCARD)),
          "discard offered on a read-only disk");
    driver_setup(false);
    memset(ram + DATA_GPA, 0x77, 512);
    CHECK(request(VIRTIO_BLK_T_OUT, 0, 512, NULL) == VIRTIO_BLK_S_IOERR,
          "a write to a read-only disk");
    {
        struct virtio_blk_discard_write_zeroes d = {.sector = 0,
                                                    .num_sectors = 1};

        memcpy(ram + DATA_GPA, &d, sizeof(d));
        CHECK(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(d), NULL) ==
                  VIRTIO_BLK_S_IOERR,
              "write-zeroes on a read-only disk");
    }
    CHECK(request(VIRTIO_BLK_T_IN, 0, 512, NULL) == VIRTIO_BLK_S_OK,
          "a read from a read-only disk");
    file_bytes(now);
    CHECK(memcmp(now, image, IMG_SIZE) == 0, "the read-only image changed");
    CHECK(b->nr_ioerr == 2 && b->nr_ok == 1,
          "read-only counters: ok %llu "
          "ioerr %llu",
          (unsigned long long)b->nr_ok, (unsigned long long)b->nr_ioerr);
}

/*
 * BATCH reads of different sectors made available before one notify: all
 * answered OK with the right bytes (with io_uring they are in flight
 * together), then BATCH writes the same way, which reach the image.
 */
#define BATCH 5
static void test_batch(void)
{
    uint8_t now[IMG_SIZE];
    uint16_t before;

    driver_setup(false);
    for (int write = 0; write < 2; write++) {
        before = vqd_get16(ram, USED_GPA + 2);
        for (unsigned i = 0; i < BATCH; i++) {
            struct virtio_blk_outhdr h = {.type = write ? VIRTIO_BLK_T_OUT
                                                        : VIRTIO_BLK_T_IN,
                                          .sector = 3 + 7 * i};
            unsigned d = 3 * i;

            memcpy(ram + HDR_GPA + 16 * i, &h, sizeof(h));
            memset(ram + DATA_GPA + 0x1000 * i, write ? 0x40 + (int)i : 0,
                   1024);
            ram[STATUS_GPA + i] = 0xee;
            vqd_put_desc(ram, DESC_GPA, d, HDR_GPA + 16 * i, sizeof(h),
                         VQ_DESC_F_NEXT, (uint16_t)(d + 1));
            vqd_put_desc(ram, DESC_GPA, d + 1, DATA_GPA + 0x1000 * i, 1024,
                         (write ? 0 : VQ_DESC_F_WRITE) | VQ_DESC_F_NEXT,
                         (uint16_t)(d + 2));
            vqd_put_desc(ram, DESC_GPA, d + 2, STATUS_GPA + i, 1,
                         VQ_DESC_F_WRITE, 0);
            vqd_offer(ram, AVAIL_GPA, QSIZE, (uint16_t)d);
        }
        wr(VMMIO_QUEUE_NOTIFY, 0);
        CHECK(vqd_get16(ram, USED_GPA + 2) == (uint16_t)(before + BATCH),
              "batch: %u of %u answered",
              (unsigned)(uint16_t)(vqd_get16(ram, USED_GPA + 2) - before),
              BATCH);
        for (unsigned i = 0; i < BATCH; i++) {
            uint64_t off = (3 + 7 * i) * 512;

            CHECK(ram[STATUS_GPA + i] == VIRTIO_BLK_S_OK, "batch %u: status %u",
                  i, ram[STATUS_GPA + i]);
            if (!write) {
                CHECK(memcmp(ram + DATA_GPA + 0x1000 * i, image + off, 1024) ==
                          0,
                      "batch read %u: wrong bytes", i);
            } else {
                memset(image + off, 0x40 + (int)i, 1024);
            }
        }
    }
    file_bytes(now);
    CHECK(memcmp(now, image, IMG_SIZE) == 0, "batch writes: image differs");
}

/* Every test on a disk of engine (aio); false when it is not to be had
 * here (said on stdout). */
static bool test_engine(enum virtio_blk_aio aio)
{
    const char *want = aio == VIRTIO_BLK_AIO_IO_URING ? "io_uring" : "threads";
    struct virtio_blk b;
    int rc;

    for (size_t i = 0; i < IMG_SIZE; i++) {
        image[i] = (uint8_t)(i * 7 + i / 512);
    }
    CHECK(pwrite(fd, image, IMG_SIZE, 0) == IMG_SIZE, "writing the image");
    rc = make_disk(&b, false, aio);
    if (aio == VIRTIO_BLK_AIO_IO_URING && (rc == -ENOSYS || rc == -EPERM)) {
        printf("test_virtio_blk: io_uring not available here (%s): "
               "aio=io_uring not tested\n",
               strerror(-rc));
        return false;
    }
    CHECK(rc == 0, "%s fixture: %d", want, rc);
    if (rc) {
        return false;
    }
    CHECK(strcmp(virtio_blk_aio_name(&b), want) == 0, "engine %s, want %s",
          virtio_blk_aio_name(&b), want);
    test_requests(&b);
    test_batch();
    rc = drop_disk(&b);
    rc = rc ? rc : make_disk(&b, true, aio);
    CHECK(rc == 0, "%s read-only fixture: %d", want, rc);
    if (rc == 0) {
        test_readonly(&b);
        rc = drop_disk(&b);
    }
    CHECK(rc == 0, "%s teardown: %d", want, rc);
    return rc == 0;
}

int main(void)
{
    char path[] = "/tmp/test_virtio_blk.XXXXXX";
    struct virtio_blk b;
    int rc;

    rcu_register_thread();
    fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) {
        return 1;
    }
    unlink(path);
    rc = mr_init_container(&root, "mmio", 0x100000);
    rc = rc ? rc : mem_sys_new(&sys);
    rc = rc ? rc : as_new(sys, "mmio", &root, 0x100000, &as);
    CHECK(rc == 0, "fixture: %d", rc);
    if (rc) {
        return 1;
    }
    (void)test_engine(VIRTIO_BLK_AIO_THREADS);
    (void)test_engine(VIRTIO_BLK_AIO_IO_URING);
    {
        const struct virtio_blk_opts tiny = {.fd = fd, .size = 511};

        CHECK(virtio_blk_init(&b, &tiny, &mem, NULL, NULL, NULL) == -EINVAL,
              "an image under one sector");
    }
    mem_sys_free(sys);
    rc = rc ? rc : mr_destroy(&root);
    CHECK(rc == 0, "teardown: %d", rc);
    close(fd);
    rcu_unregister_thread();
    printf("test_virtio_blk: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
