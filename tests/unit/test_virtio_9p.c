/* SPDX-License-Identifier: MIT */
/*
 * virtio-9p (devices/virtio_9p.c) behind its virtio-mmio transport, driven
 * through as_access(): device ID 9, the mount tag in the configuration
 * space, a Tversion and a Tattach answered through a chain split across
 * buffers (as Linux's zero-copy reads split theirs), a reply cut to a
 * small writable side staying a valid Rlerror, a file's bytes read
 * straight into a chain whose reply head spans two buffers (cut to the
 * room, past the end, an unopened fid), and a chain with no room for any
 * reply breaking the queue (NEEDS_RESET), and a reset ending the 9P
 * session (the old fids closed, a request before a new Tversion refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "devices/virtio_9p.h"
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
#define REQ_GPA 0x8000
#define REP_GPA 0x20000

VQD_FAKE_RAM(RAM_SIZE);
static struct mem_sys *sys;
static struct address_space *as;
static uint16_t head;

VQD_MMIO_RW(as, BASE)
VQD_START_QUEUE

static uint32_t used_len(unsigned i)
{
    uint32_t v;

    memcpy(&v, ram + USED_GPA + 4 + 8 * i + 4, 4);
    return v;
}

/*
 * Offer a request of (len) bytes at REQ_GPA in two readable buffers and a
 * reply side of (hdr) + (rest) bytes in two writable ones at REP_GPA.
 */
static void offer(uint32_t len, uint32_t hdr, uint32_t rest)
{
    uint16_t d = (uint16_t)(4 * (head % 4));

    vqd_put_desc(ram, DESC_GPA, d, REQ_GPA, 3, VQ_DESC_F_NEXT,
                 (uint16_t)(d + 1));
    vqd_put_desc(ram, DESC_GPA, d + 1u, REQ_GPA + 3, len - 3, VQ_DESC_F_NEXT,
                 (uint16_t)(d + 2));
    vqd_put_desc(ram, DESC_GPA, d + 2u, REP_GPA, hdr,
                 VQ_DESC_F_WRITE | (rest ? VQ_DESC_F_NEXT : 0),
                 (uint16_t)(d + 3));
    vqd_put_desc(ram, DESC_GPA, d + 3u, REP_GPA + hdr, rest, VQ_DESC_F_WRITE,
                 0);
    vqd_offer(ram, AVAIL_GPA, QSIZE, d);
    head++;
    wr(VMMIO_QUEUE_NOTIFY, 0);
}

static uint32_t put_msg(uint8_t type, const uint8_t *body, uint32_t n)
{
    uint32_t len = 7 + n;

    memcpy(ram + REQ_GPA, &len, 4);
    ram[REQ_GPA + 4] = type;
    ram[REQ_GPA + 5] = 9;
    ram[REQ_GPA + 6] = 0;
    memcpy(ram + REQ_GPA + 7, body, n);
    return len;
}

int main(void)
{
    static const uint8_t version[] = {0,   0,   1,   0,   8,   0,   '9',
                                      'P', '2', '0', '0', '0', '.', 'L'};
    static const uint8_t attach[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                     0, 0, 0, 0, 0,    0,    0,    0};
    char dir[] = "/tmp/test_virtio_9p.XXXXXX";
    struct mem_region root;
    struct virtio_9p d;
    const uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                        VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
    uint32_t len;
    int rc;

    rcu_register_thread();
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    CHECK(virtio_9p_init(&d, dir, "", false, &mem, NULL, NULL, NULL) == -EINVAL,
          "an empty tag");
    CHECK(virtio_9p_init(&d, "/nonexistent/x", "t", false, &mem, NULL, NULL,
                         NULL) == -ENOENT,
          "a missing directory");
    rc = virtio_9p_init(&d, dir, "hostshare", false, &mem, NULL, NULL, NULL);
    rc = rc ? rc : mr_init_container(&root, "mmio", 0x100000);
    rc = rc ? rc : mem_sys_new(&sys);
    rc = rc ? rc : as_new(sys, "mmio", &root, 0x100000, &as);
    if (rc == 0) {
        mem_begin(sys);
        rc = mr_add_subregion(&root, BASE, &d.transport.region);
        rc = rc ? rc : mem_commit(sys);
    }
    CHECK(rc == 0, "fixture: %d", rc);
    if (rc) {
        return 1;
    }
    CHECK(rd(VMMIO_DEVICE_ID) == VIRTIO_ID_9P, "device id");
    wr(VMMIO_DEVICE_FEATURES_SEL, 0);
    CHECK(rd(VMMIO_DEVICE_FEATURES) & 1, "no MOUNT_TAG feature");
    CHECK(rd(VIRTIO_MMIO_CONFIG) ==
              (9u | (uint32_t)'h' << 16 | (uint32_t)'o' << 24),
          "config: tag_len 9 and 'ho...': 0x%x", rd(VIRTIO_MMIO_CONFIG));
    start_queue(QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
    CHECK(rd(VMMIO_STATUS) == ok, "status 0x%x", rd(VMMIO_STATUS));

    len = put_msg(100, version, sizeof(version));
    offer(len, 11, 4096);
    CHECK(vqd_get16(ram, USED_GPA + 2) == 1 && used_len(0) == 21 &&
              ram[REP_GPA + 4] == 101 && ram[REP_GPA + 5] == 9 &&
              memcmp(ram + REP_GPA + 13, "9P2000.L", 8) == 0,
          "Rversion: used len %u, type %u", used_len(0), ram[REP_GPA + 4]);
    len = put_msg(104, attach, sizeof(attach));
    offer(len, 11, 4096);
    CHECK(used_len(1) == 20 && ram[REP_GPA + 4] == 105 &&
              ram[REP_GPA + 7] == 0x80,
          "Rattach: used len %u, type %u", used_len(1), ram[REP_GPA + 4]);
    /* Room for 11 bytes only: an Rattach (20) does not fit, so the
     * answer is an Rlerror that does. */
    len = put_msg(104, attach, sizeof(attach));

    ram[REQ_GPA + 7] = 2; /* fid 2 */
    offer(len, 11, 0);
    CHECK(used_len(2) == 11 && ram[REP_GPA + 4] == 7,
          "a reply cut to 11 bytes: used len %u, type %u", used_len(2),
          ram[REP_GPA + 4]);
    CHECK(!(rd(VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET), "broke too early");
    /* ...and bound nothing: fid 2 is still free. */
    offer(len, 11, 4096);
    CHECK(used_len(3) == 20 && ram[REP_GPA + 4] == 105,
          "attach to fid 2 after a cut reply: type %u", ram[REP_GPA + 4]);
    /* A file read through a chain whose first writable buffer is 3
     * bytes (the head spans two): its data straight from the file, cut
     * to the room there is; an unopened fid's Tread is answered Rlerror. */
    {
        static const uint8_t walk[] = {1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 0, 'f'};
        static const uint8_t lopen[] = {3, 0, 0, 0, 0, 0, 0, 0};
        static uint8_t file[10000];
        uint8_t read[] = {3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0x28, 0x23, 0, 0};
        char path[64];
        FILE *f;
        uint32_t n;

        for (size_t i = 0; i < sizeof(file); i++) {
            file[i] = (uint8_t)(i * 7 + i / 251);
        }
        snprintf(path, sizeof(path), "%s/f", dir);
        f = fopen(path, "w");
        CHECK(f && fwrite(file, 1, sizeof(file), f) == sizeof(file) &&
                  fclose(f) == 0,
              "write %s", path);
        len = put_msg(110, walk, sizeof(walk));
        offer(len, 11, 4096);
        CHECK(ram[REP_GPA + 4] == 111, "Rwalk: type %u", ram[REP_GPA + 4]);
        len = put_msg(116, read, sizeof(read));
        offer(len, 11, 4096);
        CHECK(used_len(5) == 11 && ram[REP_GPA + 4] == 7,
              "Tread of an unopened fid: used len %u, type %u", used_len(5),
              ram[REP_GPA + 4]);
        len = put_msg(12, lopen, sizeof(lopen));
        offer(len, 11, 4096);
        CHECK(ram[REP_GPA + 4] == 13, "Rlopen: type %u", ram[REP_GPA + 4]);
        /* 9000 bytes from offset 5. */
        memset(ram + REP_GPA, 0xee, 12000);
        len = put_msg(116, read, sizeof(read));
        offer(len, 3, 11000);
        memcpy(&n, ram + REP_GPA + 7, 4);
        CHECK(used_len(7) == 11 + 9000 && ram[REP_GPA + 4] == 117 &&
                  ram[REP_GPA + 5] == 9 && n == 9000 &&
                  memcmp(ram + REP_GPA + 11, file + 5, 9000) == 0 &&
                  ram[REP_GPA + 11 + 9000] == 0xee,
              "Rread: used len %u, type %u, count %u", used_len(7),
              ram[REP_GPA + 4], n);
        /* Room for 11 + 100 bytes: 100 of them. */
        len = put_msg(116, read, sizeof(read));
        offer(len, 11, 100);
        memcpy(&n, ram + REP_GPA + 7, 4);
        CHECK(used_len(8) == 111 && n == 100 &&
                  memcmp(ram + REP_GPA + 11, file + 5, 100) == 0,
              "Rread cut: used len %u, count %u", used_len(8), n);
        /* Past the end: 0 bytes. */
        read[4] = 0x20;
        read[5] = 0x4e; /* 20000 */
        len = put_msg(116, read, sizeof(read));
        offer(len, 11, 4096);
        memcpy(&n, ram + REP_GPA + 7, 4);
        CHECK(used_len(9) == 11 && ram[REP_GPA + 4] == 117 && n == 0,
              "Rread past the end: used len %u, count %u", used_len(9), n);
        CHECK(unlink(path) == 0, "unlink");
    }
    /* No room for any reply: the queue breaks. */
    len = put_msg(100, version, sizeof(version));
    offer(len, 5, 0);
    CHECK(rd(VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
          "a 5-byte reply side did not break the queue");
    CHECK(d.nr_requests == 10, "requests %llu",
          (unsigned long long)d.nr_requests);

    /* A reset ends the session: the fids held before it are closed at
     * the next request, which, not being a Tversion, is refused. */
    CHECK(d.server.nr_fids == 3, "fids before the reset: %u", d.server.nr_fids);
    wr(VMMIO_STATUS, 0);
    memset(ram + AVAIL_GPA, 0, 0x1000);
    memset(ram + USED_GPA, 0, 0x1000);
    start_queue(QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
    CHECK(rd(VMMIO_STATUS) == ok, "status 0x%x", rd(VMMIO_STATUS));
    len = put_msg(104, attach, sizeof(attach));
    ram[REQ_GPA + 7] = 5; /* fid 5: never used */
    offer(len, 11, 4096);
    CHECK(vqd_get16(ram, USED_GPA + 2) == 1 && ram[REP_GPA + 4] == 7,
          "Tattach with no Tversion after a reset: used %u, type %u",
          vqd_get16(ram, USED_GPA + 2), ram[REP_GPA + 4]);
    CHECK(d.server.nr_fids == 0, "fids after the reset: %u", d.server.nr_fids);
    len = put_msg(100, version, sizeof(version));
    offer(len, 11, 4096);
    len = put_msg(104, attach, sizeof(attach));
    ram[REQ_GPA + 7] = 5;
    offer(len, 11, 4096);
    CHECK(used_len(2) == 20 && ram[REP_GPA + 4] == 105,
          "Tattach after a new Tversion: used len %u, type %u", used_len(2),
          ram[REP_GPA + 4]);

    mem_begin(sys);
    rc = mr_del_subregion(&root, &d.transport.region);
    rc = rc ? rc : mem_commit(sys);
    mem_sys_free(sys);
    rc = rc ? rc : virtio_9p_destroy(&d);
    rc = rc ? rc : mr_destroy(&root);
    CHECK(rc == 0, "teardown: %d", rc);
    CHECK(rmdir(dir) == 0, "rmdir");
    rcu_unregister_thread();
    printf("test_virtio_9p: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
