/* SPDX-License-Identifier: MIT */
/*
 * The benchmarks behind `vmm bench ...`. Each prints its figures to (out),
 * as one JSON document when (json) is set, else as a table, and returns 0 or
 * -errno.
 */
#ifndef VMM_BENCH_H
#define VMM_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Render, lookup and one-move commit times on random trees of 1k, 10k and
 * 100k leaf regions.
 */
__attribute__((warn_unused_result)) int bench_memory(bool json, FILE *out);

/*
 * MMIO exits per second of the bench guest writing (iterations) times to
 * the test device, through the memory API and through a bare switch, plus
 * start-to-first-KVM_RUN (from t0_ns) and the VMM's own RSS.
 */
__attribute__((warn_unused_result)) int
bench_mmio(uint64_t iterations, uint64_t t0_ns, bool json, FILE *out);

/*
 * Create, run and destroy (runs) hello VMs in this process; -EOVERFLOW
 * when open fds or RSS grew between the first and the last run.
 */
__attribute__((warn_unused_result)) int bench_soak(uint64_t runs, bool json,
                                                   FILE *out);

#endif /* VMM_BENCH_H */
