/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench mmio`: MMIO exit throughput of a guest loop of writes to the
 * test device, handled through the full memory-API dispatch and, in the
 * same run and binary, by a bare switch on the exit (`raw`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "guest_embed.h"
#include "machine.h"
#include "util/clock.h"

static int run_once(uint64_t iterations, bool raw, uint64_t t0,
                    struct machine_result *res)
{
    struct machine_config mc;
    char why[256];
    int ret;

    machine_config_embedded(&mc, guest_bench_elf, guest_bench_elf_len,
                            "embedded bench guest");
    mc.raw_mmio = raw;
    mc.guest_arg = iterations;
    ret = machine_run(&mc, t0, res, why, sizeof(why));
    if (ret < 0) {
        fprintf(stderr, "vmm bench mmio: %s\n", why);
        return ret;
    }
    if (res->exit_code != 0) {
        fprintf(stderr, "vmm bench mmio: guest ended with %d (%s)\n",
                res->exit_code, res->reason);
        return -EIO;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Rounds of (raw, full) pairs, each path first in every other round, so
 * that drift in the host's speed and whatever the first VM of a pair pays
 * hit both paths alike; the medians are compared. */
#define ROUNDS 5

int bench_mmio(uint64_t iterations, uint64_t t0, bool json, FILE *out)
{
    struct machine_result first, r;
    double full[ROUNDS], raw[ROUNDS], full_rate, raw_rate;
    int i, ret;

    /* The first VM of the process measures start-up and RSS. */
    ret = run_once(iterations, false, t0, &first);
    for (i = 0; i < ROUNDS && ret == 0; i++) {
        /* Raw first in even rounds, full first in odd ones. */
        for (int k = 0; k < 2 && ret == 0; k++) {
            bool is_raw = (k == 0) == (i % 2 == 0);

            ret = run_once(iterations, is_raw, clock_now_ns(), &r);
            (is_raw ? raw : full)[i] =
                (double)r.exits.mmio_exits / (r.run_ms / 1e3);
        }
    }
    if (ret < 0) {
        return ret;
    }
    qsort(full, ROUNDS, sizeof(double), cmp_double);
    qsort(raw, ROUNDS, sizeof(double), cmp_double);
    full_rate = full[ROUNDS / 2];
    raw_rate = raw[ROUNDS / 2];
    if (json) {
        fprintf(out,
                "{\"iterations\":%llu,\"exits_per_s\":%.0f,"
                "\"raw_exits_per_s\":%.0f,\"ratio\":%.3f,"
                "\"start_to_first_run_ms\":%.3f,\"rss_kib\":%llu}\n",
                (unsigned long long)iterations, full_rate, raw_rate,
                full_rate / raw_rate, first.start_to_first_run_ms,
                (unsigned long long)first.rss_kib);
    } else {
        fprintf(out,
                "iterations            %llu (median of %d alternating "
                "rounds)\n"
                "exits/s (memory API)  %.0f\n"
                "exits/s (raw switch)  %.0f\n"
                "ratio                 %.3f (goal >= 0.95)\n"
                "start to first run    %.3f ms (goal <= 5)\n"
                "VMM RSS (no guest)    %llu KiB (goal <= 2048)\n",
                (unsigned long long)iterations, ROUNDS, full_rate, raw_rate,
                full_rate / raw_rate, first.start_to_first_run_ms,
                (unsigned long long)first.rss_kib);
    }
    return 0;
}
