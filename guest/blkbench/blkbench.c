/* SPDX-License-Identifier: MIT */
/*
 * blkbench: the in-guest side of `vmm bench virtio-blk`, a static Linux
 * program the benchmark's initramfs runs (no fio in a busybox guest).
 *   blkbench DEVICE MIB SECONDS
 * On DEVICE, opened O_DIRECT (no guest page cache): sequential 1 MiB
 * writes over the first MIB MiB, then sequential 1 MiB reads of them, then
 * 4 KiB random reads within them for SECONDS seconds at queue depth 1 (one
 * thread) and 32 (32 threads, each with one request in flight). Prints one
 * line:
 *   BLKBENCH {"seq_write_mb_s":..,"seq_read_mb_s":..,
 *             "rand_read_qd1_iops":..,"rand_read_qd32_iops":..}
 * or "BLKBENCH-FAIL what: why", and exits 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1u << 20)
#define SMALL 4096u
#define QD 32

static int fd;
static uint64_t blocks; /* 4 KiB blocks in the tested span */
static double seconds;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    printf("BLKBENCH-FAIL %s: %s\n", what, strerror(errno));
    fflush(stdout);
    return 1;
}

/* MiB per second of sequential 1 MiB transfers over (mib) MiB. */
static double sequential(void *buf, unsigned mib, int write)
{
    double t0 = now();

    for (unsigned i = 0; i < mib; i++) {
        ssize_t n = write ? pwrite(fd, buf, MIB, (off_t)i * MIB)
                          : pread(fd, buf, MIB, (off_t)i * MIB);

        if (n != (ssize_t)MIB) {
            return -1;
        }
    }
    if (write && fdatasync(fd) < 0) {
        return -1;
    }
    return mib / (now() - t0);
}

struct worker {
    pthread_t t;
    uint64_t seed;
    uint64_t done;
    int err;
};

static void *random_reads(void *opaque)
{
    struct worker *w = opaque;
    void *buf;
    double end = now() + seconds;

    if (posix_memalign(&buf, SMALL, SMALL) != 0) {
        w->err = ENOMEM;
        return NULL;
    }
    while (now() < end) {
        for (int i = 0; i < 16; i++) {
            /* xorshift: uniform enough for offsets. */
            w->seed ^= w->seed << 13;
            w->seed ^= w->seed >> 7;
            w->seed ^= w->seed << 17;
            if (pread(fd, buf, SMALL, (off_t)((w->seed % blocks) * SMALL)) !=
                (ssize_t)SMALL) {
                w->err = errno ? errno : EIO;
                free(buf);
                return NULL;
            }
            w->done++;
        }
    }
    free(buf);
    return NULL;
}

/* IOPS of 4 KiB random reads with (qd) threads. */
static double random_iops(int qd)
{
    struct worker w[QD];
    double t0 = now(), total = 0;

    for (int i = 0; i < qd; i++) {
        w[i] =
            (struct worker){.seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)};
        if (pthread_create(&w[i].t, NULL, random_reads, &w[i]) != 0) {
            return -1;
        }
    }
    for (int i = 0; i < qd; i++) {
        pthread_join(w[i].t, NULL);
        if (w[i].err) {
            errno = w[i].err;
            return -1;
        }
        total += (double)w[i].done;
    }
    return total / (now() - t0);
}

int main(int argc, char **argv)
{
    unsigned mib;
    void *buf;
    double sw, sr, q1, q32;

    if (argc != 4 || (mib = (unsigned)atoi(argv[2])) == 0 ||
        (seconds = atof(argv[3])) <= 0) {
        fprintf(stderr, "usage: blkbench DEVICE MIB SECONDS\n");
        return 2;
    }
    fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0) {
        return fail(argv[1]);
    }
    if (posix_memalign(&buf, SMALL, MIB) != 0) {
        return fail("memory");
    }
    memset(buf, 0xa5, MIB);
    blocks = (uint64_t)mib * (MIB / SMALL);
    sw = sequential(buf, mib, 1);
    if (sw < 0) {
        return fail("sequential write");
    }
    sr = sequential(buf, mib, 0);
    if (sr < 0) {
        return fail("sequential read");
    }
    q1 = random_iops(1);
    if (q1 < 0) {
        return fail("random read, depth 1");
    }
    q32 = random_iops(QD);
    if (q32 < 0) {
        return fail("random read, depth 32");
    }
    printf("BLKBENCH {\"seq_write_mb_s\":%.1f,\"seq_read_mb_s\":%.1f,"
           "\"rand_read_qd1_iops\":%.0f,\"rand_read_qd32_iops\":%.0f}\n",
           sw, sr, q1, q32);
    fflush(stdout);
    return 0;
}
