/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench dirty-log`: the dirty guest writes one word per page over its
 * working set as fast as it can while the host harvests, for each of the
 * three KVM modes (and `none`, logging off, as the ceiling), each in a
 * fresh VM, and in the same run through a raw harvester that issues the
 * same KVM calls with none of the VMM's layers (see harvest.h). Per mode
 * it reports the guest's write rate, harvest latencies, one harvest of a
 * fully dirty working set with the vCPUs stopped, the cost of starting to
 * log, and the pages of a verification round that no harvest reported.
 */
#ifndef VMM_BENCH_DIRTY_H
#define VMM_BENCH_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/ramblock.h"
#include "util/opt.h"

/* Modes, as bits of bench_dirty_opts.modes, in the order they run. */
#define BENCH_DIRTY_NONE (1u << 0)
#define BENCH_DIRTY_BITMAP (1u << 1)
#define BENCH_DIRTY_CLEAR (1u << 2)
#define BENCH_DIRTY_RING (1u << 3)
#define BENCH_DIRTY_ALL 0xfu

struct bench_dirty_opts {
    unsigned modes;
    uint64_t memory;
    /* 0: all the RAM the guest offers. */
    uint64_t working_set;
    /* TESTDEV_DIRTY_PATTERN_*. */
    unsigned pattern;
    unsigned vcpus;
    double duration_s;
    unsigned interval_ms;
    uint32_t ring_entries;
    /* 0: a whole slot per KVM_CLEAR_DIRTY_LOG. */
    uint64_t clear_chunk;
    enum ram_backend backend;
    /* (ours, raw) VM pairs per mode; medians are reported. */
    unsigned rounds;
    bool json;
    /* Each VM's figures on stderr as it ends. */
    bool verbose;
    /* NULL: no plot. */
    const char *plot;
};

/*
 * Parse the arguments after `bench dirty-log` into (o), defaults first:
 * --mode all, --memory 1G, the whole usable RAM as working set, --pattern
 * seq, --vcpus 1, --duration 2, --interval 10, --ring-entries 65536,
 * --clear-chunk 0 (whole slot), --mem-backend anon, --rounds 3. Pure:
 * returns 0, OPT_HELP for --help, or -EINVAL with one line in (why).
 */
__attribute__((warn_unused_result)) int
bench_dirty_parse(int argc, char **argv, struct bench_dirty_opts *o, char *why,
                  size_t whylen);

/*
 * Run the benchmark and print one JSON object per mode per line (json) or
 * a table to (out); a progress line goes to stderr when it is a tty.
 * --plot needs gnuplot (Debian package gnuplot-nox). Returns 0, or -errno
 * after saying why on stderr.
 */
__attribute__((warn_unused_result)) int
bench_dirty_log(const struct bench_dirty_opts *o, FILE *out);

/* `vmm bench dirty-log`'s option table, for --help. */
extern const struct opt_cmd bench_dirty_cmd;

#endif /* VMM_BENCH_DIRTY_H */
