/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench mmio`: MMIO exit throughput of a guest loop of writes to the
 * test device, handled through the full memory-API dispatch and, in the
 * same VMs, by a bare switch on the exit (`raw`): the two paths take
 * turns in blocks of exits (machine_config.mmio_bench), so that the
 * host's speed, which drifts by tens of per cent over seconds under
 * nested virtualisation, weighs on both alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "guest_embed.h"
#include "machine.h"
#include "util/clock.h"

static int run_once(uint64_t iterations, uint64_t t0,
                    struct machine_result *res)
{
    struct machine_config mc;
    char why[256];
    int ret;

    machine_config_embedded(&mc, guest_bench_elf, guest_bench_elf_len,
                            "embedded bench guest");
    mc.mmio_bench = true;
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

/* VMs run; the first also measures start-up and RSS. */
#define VMS 3

int bench_mmio(uint64_t iterations, uint64_t t0, bool json, FILE *out)
{
    struct machine_result res[VMS];
    const struct machine_result *first = &res[0];
    uint64_t exits[2] = {0, 0}, ns[2] = {0, 0};
    double rate[2];
    int i, p, ret = 0;

    for (i = 0; i < VMS && ret == 0; i++) {
        ret = run_once(iterations, i ? clock_now_ns() : t0, &res[i]);
        for (p = 0; p < 2 && ret == 0; p++) {
            exits[p] += res[i].mmio_bench.exits[p];
            ns[p] += res[i].mmio_bench.ns[p];
        }
    }
    if (ret < 0) {
        return ret;
    }
    if (ns[MACHINE_MMIO_API] == 0 || ns[MACHINE_MMIO_RAW] == 0) {
        fprintf(stderr,
                "vmm bench mmio: %llu iterations are too few to "
                "time both paths\n",
                (unsigned long long)iterations);
        return -EINVAL;
    }
    for (p = 0; p < 2; p++) {
        rate[p] = (double)exits[p] / ((double)ns[p] / 1e9);
    }
    if (json) {
        fprintf(out,
                "{\"iterations\":%llu,\"exits_per_s\":%.0f,"
                "\"raw_exits_per_s\":%.0f,\"ratio\":%.3f,"
                "\"start_to_first_run_ms\":%.3f,\"rss_kib\":%llu}\n",
                (unsigned long long)iterations, rate[MACHINE_MMIO_API],
                rate[MACHINE_MMIO_RAW],
                rate[MACHINE_MMIO_API] / rate[MACHINE_MMIO_RAW],
                first->start_to_first_run_ms,
                (unsigned long long)first->rss_kib);
    } else {
        fprintf(out,
                "iterations            %llu per VM, %d VMs (%llu and %llu "
                "exits timed)\n"
                "exits/s (memory API)  %.0f\n"
                "exits/s (raw switch)  %.0f\n"
                "ratio                 %.3f (goal >= 0.95)\n"
                "start to first run    %.3f ms (goal <= 5)\n"
                "VMM RSS (no guest)    %llu KiB (goal <= 2048)\n",
                (unsigned long long)iterations, VMS,
                (unsigned long long)exits[MACHINE_MMIO_API],
                (unsigned long long)exits[MACHINE_MMIO_RAW],
                rate[MACHINE_MMIO_API], rate[MACHINE_MMIO_RAW],
                rate[MACHINE_MMIO_API] / rate[MACHINE_MMIO_RAW],
                first->start_to_first_run_ms,
                (unsigned long long)first->rss_kib);
    }
    return 0;
}
