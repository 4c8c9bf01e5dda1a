/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench dirty-log` (see bench_dirty.h). Every measurement is one VM
 * running the embedded dirty guest, driven from the machine's controller
 * hook through the guest's mailbox:
 *
 *   1. the guest sweeps its working set once (memory and KVM's page
 *      tables are populated before anything is timed);
 *   2. logging starts (timed: enable_ms), and one harvest takes whatever
 *      starting to log reported (all pages with INITIALLY_SET);
 *   3. RUN for --duration seconds while the host harvests every
 *      --interval ms: the guest's count, sampled after every harvest,
 *      gives guest_pages_per_s (the median rate over 0.2 s slices), each
 *      harvest a latency;
 *   4. VERIFY: the guest writes a seeded pseudo-random page set while the
 *      host keeps harvesting; the pages of that set missing from the
 *      union of the harvests since are lost_pages;
 *   5. twice: the guest sweeps the working set once, the vCPUs are
 *      parked and one harvest is timed (ring mode adds the time its
 *      vCPUs spent harvesting full rings during the sweep): the fastest
 *      is full_harvest_ms; a page of the sweep that no harvest reported
 *      is lost as well;
 *   6. logging stops and the guest exits.
 *
 * For each logging mode the same runs with the raw harvester give the
 * baseline; ours and raw alternate (ours first in even rounds), so that
 * drift in the host's speed hits both alike.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_dirty.h"
#include "devices/testdev_abi.h"
#include "dirty_guest.h"
#include "dirty_log.h"
#include "guest_embed.h"
#include "harvest.h"
#include "machine.h"
#include "machine_ctl.h"
#include "mem/dirty.h"
#include "util/cli.h"
#include "util/clock.h"
#include "vcpu.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* Pages written by the verification round (with repeats). */
#define VERIFY_PAGES 16384
/* Fully dirty harvests per run; the fastest is reported: other load on
 * the host only ever adds time to a harvest. */
#define FULL_FILLS 2
#define ATTACH_TIMEOUT_S 30.0
/* A sweep of a large working set under logging takes seconds. */
#define OP_TIMEOUT_S 600.0
/* Before the RUN window opens: the guest reaches its steady state. */
#define SETTLE_S 0.05
/* guest_pages_per_s is the median of the rates over slices this long of
 * the RUN window: a burst of other load on the host (this one is shared)
 * then moves it little, where it would drag the plain mean down. */
#define RATE_SLICE_S 0.2

static const struct {
    unsigned bit;
    const char *name;
    enum dirty_log_mode mode;
} modes[] = {
    {BENCH_DIRTY_NONE, "none", DIRTY_LOG_BITMAP},
    {BENCH_DIRTY_BITMAP, "bitmap", DIRTY_LOG_BITMAP},
    {BENCH_DIRTY_CLEAR, "clear", DIRTY_LOG_CLEAR},
    {BENCH_DIRTY_RING, "ring", DIRTY_LOG_RING},
};
#define NR_MODES (sizeof(modes) / sizeof(modes[0]))

/* --- command line ------------------------------------------------------------
 */

static int parse_size_opt(const char *name, const char *v, uint64_t *out,
                          char *why, size_t whylen)
{
    if (cli_parse_size(v, out) < 0) {
        snprintf(why, whylen, "%s %s: not a size (e.g. 512M, 1G)", name, v);
        return -EINVAL;
    }
    return 0;
}

static int parse_uint_opt(const char *name, const char *v, uint64_t lo,
                          uint64_t hi, uint64_t *out, char *why, size_t whylen)
{
    if (cli_parse_uint(v, hi, out) < 0 || *out < lo) {
        snprintf(why, whylen,
                 "%s %s: need a number from %" PRIu64 " to %" PRIu64, name, v,
                 lo, hi);
        return -EINVAL;
    }
    return 0;
}

enum {
    O_MODE,
    O_MEMORY,
    O_WORKING_SET,
    O_PATTERN,
    O_VCPUS,
    O_DURATION,
    O_INTERVAL,
    O_RING_ENTRIES,
    O_CLEAR_CHUNK,
    O_MEM_BACKEND,
    O_ROUNDS,
    O_VERBOSE,
    O_JSON,
    O_PLOT,
};

static const struct opt dirty_opts[] = {
    {"--mode", "bitmap|clear|ring|none|all", "dirty-log modes to run", "all",
     O_MODE, 0},
    {"--memory", "SIZE", "guest RAM; a plain number is MiB", "1G", O_MEMORY, 0},
    {"--working-set", "SIZE", "memory the guest writes", "all usable RAM",
     O_WORKING_SET, 0},
    {"--pattern", "seq|random", "order of the guest's writes", "seq", O_PATTERN,
     0},
    {"--vcpus", "N", "writing vCPUs", "1", O_VCPUS, 0},
    {"--duration", "SECONDS", "measured window per VM", "2", O_DURATION, 0},
    {"--interval", "MS", "time between harvests", "10", O_INTERVAL, 0},
    {"--ring-entries", "N", "dirty ring entries per vCPU (power of two)",
     "65536", O_RING_ENTRIES, 0},
    {"--clear-chunk", "SIZE", "bytes per KVM_CLEAR_DIRTY_LOG",
     "0: a whole slot", O_CLEAR_CHUNK, 0},
    {"--mem-backend", "anon|memfd|hugetlbfs", "what backs guest RAM", "anon",
     O_MEM_BACKEND, 0},
    {"--rounds", "N", "(vmm, raw) VM pairs per mode; medians are reported", "3",
     O_ROUNDS, 0},
    {"--verbose", NULL, "each VM's figures on stderr", NULL, O_VERBOSE, 0},
    {"--json", NULL, "one JSON object per mode per line", NULL, O_JSON, 0},
    {"--plot", "FILE.svg", "plot the harvests (needs gnuplot)", NULL, O_PLOT,
     0},
};

const struct opt_cmd bench_dirty_cmd = {
    .name = "vmm bench dirty-log",
    .usage = "[options]",
    .about = "The dirty guest writes one word per page over its working set "
             "while the host\nharvests, for each KVM mode, in a fresh VM, "
             "and the same through a raw\nharvester with none of vmm's "
             "layers: ratios of the two, harvest latencies,\nand pages no "
             "harvest reported.",
    .opts = dirty_opts,
    .nr = sizeof(dirty_opts) / sizeof(dirty_opts[0]),
};

static int parse_mode(struct bench_dirty_opts *o, const char *v, char *why,
                      size_t whylen)
{
    if (strcmp(v, "all") == 0) {
        o->modes = BENCH_DIRTY_ALL;
        return 0;
    }
    for (size_t m = 0; m < NR_MODES; m++) {
        if (strcmp(v, modes[m].name) == 0) {
            o->modes = modes[m].bit;
            return 0;
        }
    }
    snprintf(why, whylen,
             "--mode %s: expected bitmap, clear, ring, none or all", v);
    return -EINVAL;
}

/* Sizes: --memory, --working-set, --clear-chunk. */
static int apply_size(struct bench_dirty_opts *o, int id, const char *v,
                      char *why, size_t whylen)
{
    switch (id) {
    case O_MEMORY:
        if (cli_parse_mem_size(v, &o->memory) < 0 || o->memory < 16 * MIB ||
            o->memory % DIRTY_PAGE_SIZE) {
            snprintf(why, whylen,
                     "--memory %s: need a size of at least 16M, a multiple "
                     "of 4K",
                     v);
            return -EINVAL;
        }
        return 0;
    case O_WORKING_SET:
        if (cli_parse_size(v, &o->working_set) < 0 || o->working_set == 0 ||
            o->working_set % DIRTY_PAGE_SIZE) {
            snprintf(why, whylen,
                     "--working-set %s: need a non-zero multiple of 4K", v);
            return -EINVAL;
        }
        return 0;
    case O_CLEAR_CHUNK:
        return parse_size_opt("--clear-chunk", v, &o->clear_chunk, why, whylen);
    }
    return -ENOENT;
}

/* Counts: --vcpus, --interval, --ring-entries, --rounds. */
static int apply_count(struct bench_dirty_opts *o, int id, const char *name,
                       const char *v, char *why, size_t whylen)
{
    uint64_t n;

    switch (id) {
    case O_VCPUS:
        if (parse_uint_opt(name, v, 1, TESTDEV_DIRTY_MAX_VCPUS, &n, why,
                           whylen) < 0) {
            return -EINVAL;
        }
        o->vcpus = (unsigned)n;
        return 0;
    case O_INTERVAL:
        if (parse_uint_opt(name, v, 0, 60000, &n, why, whylen) < 0) {
            return -EINVAL;
        }
        o->interval_ms = (unsigned)n;
        return 0;
    case O_RING_ENTRIES:
        if (parse_uint_opt(name, v, DIRTY_RING_MIN_ENTRIES, UINT32_C(1) << 30,
                           &n, why, whylen) < 0) {
            return -EINVAL;
        }
        if (n & (n - 1)) {
            snprintf(why, whylen, "%s %s: need a power of two", name, v);
            return -EINVAL;
        }
        o->ring_entries = (uint32_t)n;
        return 0;
    case O_ROUNDS:
        if (parse_uint_opt(name, v, 1, 100, &n, why, whylen) < 0) {
            return -EINVAL;
        }
        o->rounds = (unsigned)n;
        return 0;
    }
    return -ENOENT;
}

static int apply_dirty(void *ctx, const struct opt *opt, const char *name,
                       const char *v, char *why, size_t whylen)
{
    struct bench_dirty_opts *o = ctx;
    int ret = apply_size(o, opt->id, v, why, whylen);
    char *end;

    if (ret != -ENOENT) {
        return ret;
    }
    ret = apply_count(o, opt->id, name, v, why, whylen);
    if (ret != -ENOENT) {
        return ret;
    }
    switch (opt->id) {
    case O_MODE:
        return parse_mode(o, v, why, whylen);
    case O_PATTERN:
        if (strcmp(v, "seq") == 0) {
            o->pattern = TESTDEV_DIRTY_PATTERN_SEQ;
        } else if (strcmp(v, "random") == 0) {
            o->pattern = TESTDEV_DIRTY_PATTERN_RANDOM;
        } else {
            snprintf(why, whylen, "%s %s: expected seq or random", name, v);
            return -EINVAL;
        }
        return 0;
    case O_DURATION:
        o->duration_s = strtod(v, &end);
        if (end == v || *end || !(o->duration_s >= 0.1) ||
            o->duration_s > 3600) {
            snprintf(why, whylen, "%s %s: need seconds from 0.1 to 3600", name,
                     v);
            return -EINVAL;
        }
        return 0;
    case O_MEM_BACKEND:
        if (ram_backend_from_name(v, &o->backend) < 0) {
            snprintf(why, whylen, "%s %s: expected anon, memfd or hugetlbfs",
                     name, v);
            return -EINVAL;
        }
        return 0;
    case O_VERBOSE:
        o->verbose = true;
        return 0;
    case O_JSON:
        o->json = true;
        return 0;
    case O_PLOT:
        if (!*v) {
            snprintf(why, whylen, "%s: missing file name", name);
            return -EINVAL;
        }
        o->plot = v;
        return 0;
    }
    return -EINVAL;
}

int bench_dirty_parse(int argc, char **argv, struct bench_dirty_opts *o,
                      char *why, size_t whylen)
{
    struct bench_dirty_opts d = {
        .modes = BENCH_DIRTY_ALL,
        .memory = GIB,
        .pattern = TESTDEV_DIRTY_PATTERN_SEQ,
        .vcpus = 1,
        .duration_s = 2.0,
        .interval_ms = 10,
        .ring_entries = 65536,
        .backend = RAM_BACKEND_ANON,
        .rounds = 3,
    };

    int ret = opt_parse(&bench_dirty_cmd, argc, argv, apply_dirty, &d, NULL,
                        why, whylen);

    if (ret != 0) {
        return ret;
    }
    if (d.working_set > d.memory) {
        snprintf(why, whylen, "--working-set is larger than --memory");
        return -EINVAL;
    }
    *o = d;
    return 0;
}

/* --- one run -----------------------------------------------------------------
 */

/* Rates in the plot are over at least this long: the guest publishes its
 * count every TESTDEV_DIRTY_BATCH pages. */
#define PLOT_RATE_WINDOW_S 0.1

struct sample {
    double t;        /* seconds since the RUN window opened */
    uint64_t writes; /* the guest's count then, since the window opened */
    double lat_ms;   /* the harvest just before (-1: none) */
};

struct run {
    const struct bench_dirty_opts *o;
    size_t m; /* index in modes[] */
    bool raw;
    unsigned round;

    /* Bits in a harvest accumulator: the RAMBlock's pages. */
    uint64_t block_pages;

    /* Results. */
    uint64_t ws_pages;
    double guest_rate;
    /* The plain mean over the window (--verbose). */
    double guest_rate_mean;
    double harvested_rate;
    double enable_ms;
    double full_ms;
    uint64_t lost;
    double *lat;
    size_t nr_lat, cap_lat;
    struct sample *ser;
    size_t nr_ser, cap_ser;

    /* Seconds spent in: populating, the RUN window, verifying, the full
     * harvests (for --verbose). */
    double t_warm, t_run, t_verify, t_full;
    double fills[FULL_FILLS];

    /* The harvester, also seen by vCPU threads (ring_full). */
    pthread_rwlock_t h_lock;
    struct harvester *h;
    uint64_t ring_full_ns;

    char why[256];
};

static void sleep_s(double s)
{
    struct timespec ts;

    if (s <= 0) {
        return;
    }
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static bool progress_on;

__attribute__((format(printf, 1, 2))) static void progress(const char *fmt, ...)
{
    va_list ap;

    if (!progress_on) {
        return;
    }
    fputs("\r\033[K", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static int push_lat(struct run *r, double ms)
{
    if (r->nr_lat == r->cap_lat) {
        size_t cap = r->cap_lat ? r->cap_lat * 2 : 1024;
        double *n = realloc(r->lat, cap * sizeof(*n));

        if (!n) {
            return -ENOMEM;
        }
        r->lat = n;
        r->cap_lat = cap;
    }
    r->lat[r->nr_lat++] = ms;
    return 0;
}

static int push_sample(struct run *r, struct sample s)
{
    if (r->nr_ser == r->cap_ser) {
        size_t cap = r->cap_ser ? r->cap_ser * 2 : 1024;
        struct sample *n = realloc(r->ser, cap * sizeof(*n));

        if (!n) {
            return -ENOMEM;
        }
        r->ser = n;
        r->cap_ser = cap;
    }
    r->ser[r->nr_ser++] = s;
    return 0;
}

static int bench_ring_full(void *opaque, int vcpu)
{
    struct run *r = opaque;
    double t0 = clock_now_s();
    int ret = -EIO;

    pthread_rwlock_rdlock(&r->h_lock);
    if (r->h) {
        ret = r->h->ops->ring_full(r->h, vcpu);
    }
    pthread_rwlock_unlock(&r->h_lock);
    __atomic_add_fetch(&r->ring_full_ns, (uint64_t)((clock_now_s() - t0) * 1e9),
                       __ATOMIC_RELAXED);
    return ret;
}

static const char *run_label(const struct run *r)
{
    return r->raw ? "raw" : "ours";
}

static int harvest(struct run *r, uint64_t *acc, uint64_t *pages)
{
    int ret = r->h->ops->harvest(r->h, acc, pages);

    if (ret < 0) {
        snprintf(r->why, sizeof(r->why), "harvest: %s", strerror(-ret));
    }
    return ret;
}

static int cmp_double(const void *a, const void *b);
static double median(double *v, size_t n);

/*
 * The median of the guest's rates over RATE_SLICE_S slices of the samples
 * of the RUN window, or (mean) when the window is too short for three or
 * the guest too slow for a slice to see several of its count updates
 * (it publishes its count every TESTDEV_DIRTY_BATCH writes).
 */
static double sliced_rate(const struct run *r, double mean)
{
    double rates[4096], t0 = 0;
    uint64_t w0 = 0;
    size_t n = 0;

    if (mean * RATE_SLICE_S < 8.0 * TESTDEV_DIRTY_BATCH) {
        return mean;
    }
    for (size_t i = 0; i < r->nr_ser && n < 4096; i++) {
        const struct sample *s = &r->ser[i];

        if (s->t - t0 >= RATE_SLICE_S) {
            rates[n++] = (double)(s->writes - w0) / (s->t - t0);
            t0 = s->t;
            w0 = s->writes;
        }
    }
    return n >= 3 ? median(rates, n) : mean;
}

/* Step 3: the RUN window. */
static int run_window(struct run *r, struct dirty_guest *g, uint64_t *acc)
{
    const struct bench_dirty_opts *o = r->o;
    bool logging = modes[r->m].bit != BENCH_DIRTY_NONE;
    double interval = o->interval_ms / 1e3;
    double t_start, t_end, next, t_check = 0, t_prog = 0;
    uint64_t w0, harvested = 0, n;
    int ret;

    dirty_guest_post(g, TESTDEV_DIRTY_OP_RUN, 0, 0);
    sleep_s(SETTLE_S);
    if (logging) {
        /* What the settling guest wrote is not the window's. */
        ret = harvest(r, acc, &n);
        if (ret < 0) {
            return ret;
        }
    }
    t_start = next = clock_now_s();
    w0 = dirty_guest_writes(g);
    for (;;) {
        double t = clock_now_s(), lat = -1;
        uint64_t w;

        if (t >= t_start + o->duration_s) {
            break;
        }
        if (!logging) {
            sleep_s(0.05);
        } else {
            if (interval > 0) {
                next += interval;
                if (next < t) {
                    next = t;
                }
                sleep_s(next - t);
            }
            t = clock_now_s();
            ret = harvest(r, acc, &n);
            if (ret < 0) {
                return ret;
            }
            lat = (clock_now_s() - t) * 1e3;
            harvested += n;
            if (push_lat(r, lat) < 0) {
                return -ENOMEM;
            }
        }
        t = clock_now_s();
        w = dirty_guest_writes(g);
        if (push_sample(r, (struct sample){t - t_start, w - w0, lat}) < 0) {
            return -ENOMEM;
        }
        if (t - t_check > 0.1) {
            t_check = t;
            ret = dirty_guest_check(g, r->why, sizeof(r->why));
            if (ret < 0) {
                return ret;
            }
        }
        if (t - t_prog > 0.25) {
            t_prog = t;
            progress("%s %s round %u/%u: %.1f/%.1f s, guest %.0fk pages/s, "
                     "%zu harvests",
                     modes[r->m].name, run_label(r), r->round + 1, o->rounds,
                     t - t_start, o->duration_s,
                     (double)(w - w0) / (t - t_start) / 1e3, r->nr_lat);
        }
    }
    t_end = clock_now_s();
    r->guest_rate_mean =
        (double)(dirty_guest_writes(g) - w0) / (t_end - t_start);
    r->guest_rate = sliced_rate(r, r->guest_rate_mean);
    r->harvested_rate = (double)harvested / (t_end - t_start);
    return 0;
}

/* Pages of the working set that are not set in (acc). */
static uint64_t missing_pages(const struct dirty_guest *g, const uint64_t *acc,
                              const uint64_t *want)
{
    uint64_t lost = 0;

    for (uint64_t i = 0; i < g->ws_pages; i++) {
        uint64_t p = g->ws_first_page + i;

        if ((!want || (want[i / 64] >> (i % 64)) & 1) &&
            !((acc[p / 64] >> (p % 64)) & 1)) {
            lost++;
        }
    }
    return lost;
}

/* Step 4: the verification round, harvested as it goes. */
static int run_verify(struct run *r, struct dirty_guest *g,
                      const struct machine_ctl *ctl, uint64_t *acc)
{
    double interval = r->o->interval_ms / 1e3;
    uint64_t seed = 0x5eed0000u + r->round * 16 + r->m;
    uint64_t *want, seq, n;
    int ret;

    memset(acc, 0, DIRTY_WORDS(r->block_pages) * sizeof(uint64_t));
    seq = dirty_guest_post(g, TESTDEV_DIRTY_OP_VERIFY, VERIFY_PAGES, seed);
    for (double t0 = clock_now_s();;) {
        bool done = dirty_guest_done(g, seq, false);

        if (done) {
            /* The last harvest with the vCPUs out of the guest: with PML
             * a running vCPU may hold its last pages until it exits. */
            vcpu_set_park(ctl->vcpus);
            ret = harvest(r, acc, &n);
            vcpu_set_unpark(ctl->vcpus);
            break;
        }
        ret = harvest(r, acc, &n);
        if (ret < 0) {
            break;
        }
        ret = dirty_guest_check(g, r->why, sizeof(r->why));
        if (ret < 0) {
            return ret;
        }
        if (clock_now_s() - t0 > OP_TIMEOUT_S) {
            snprintf(r->why, sizeof(r->why), "the verification round hangs");
            return -ETIMEDOUT;
        }
        sleep_s(interval);
    }
    if (ret < 0) {
        return ret;
    }
    want = calloc((size_t)DIRTY_WORDS(g->ws_pages), sizeof(uint64_t));
    if (!want) {
        return -ENOMEM;
    }
    dirty_guest_verify_set(g, seed, VERIFY_PAGES, want);
    r->lost += missing_pages(g, acc, want);
    free(want);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (n == 0) {
        return NAN;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Step 5: harvests of a fully dirty working set, vCPUs parked. */
static int run_full(struct run *r, struct dirty_guest *g,
                    const struct machine_ctl *ctl, uint64_t *acc)
{
    double ms[FULL_FILLS];
    uint64_t seq, n;
    int ret;

    for (int k = 0; k < FULL_FILLS; k++) {
        double t0;

        progress("%s %s round %u/%u: full harvest %d/%d", modes[r->m].name,
                 run_label(r), r->round + 1, r->o->rounds, k + 1, FULL_FILLS);
        memset(acc, 0, DIRTY_WORDS(r->block_pages) * sizeof(uint64_t));
        __atomic_store_n(&r->ring_full_ns, 0, __ATOMIC_RELAXED);
        seq = dirty_guest_post(g, TESTDEV_DIRTY_OP_SWEEP, 0, 0);
        ret = dirty_guest_wait(g, seq, false, OP_TIMEOUT_S, r->why,
                               sizeof(r->why));
        if (ret < 0) {
            return ret;
        }
        vcpu_set_park(ctl->vcpus);
        t0 = clock_now_s();
        ret = harvest(r, acc, &n);
        ms[k] = (clock_now_s() - t0) * 1e3;
        vcpu_set_unpark(ctl->vcpus);
        if (ret < 0) {
            return ret;
        }
        /* Ring mode: what the vCPUs harvested on full rings is part of
         * the same harvest. */
        ms[k] +=
            (double)__atomic_load_n(&r->ring_full_ns, __ATOMIC_RELAXED) / 1e6;
        r->lost += missing_pages(g, acc, NULL);
    }
    memcpy(r->fills, ms, sizeof(ms));
    r->full_ms = ms[0];
    for (int k = 1; k < FULL_FILLS; k++) {
        r->full_ms = ms[k] < r->full_ms ? ms[k] : r->full_ms;
    }
    return 0;
}

static void drop_harvester(struct run *r)
{
    struct harvester *h;

    pthread_rwlock_wrlock(&r->h_lock);
    h = r->h;
    r->h = NULL;
    pthread_rwlock_unlock(&r->h_lock);
    if (h) {
        h->ops->free(h);
    }
}

/* Steps 1 to 6, on the machine's main thread. */
/* Attach to the dirty guest and size its working set. */
static int run_attach(struct run *r, const struct machine_ctl *ctl,
                      struct dirty_guest *g)
{
    const struct bench_dirty_opts *o = r->o;
    uint64_t ws;
    int ret;

    ret = dirty_guest_attach(g, ctl, ATTACH_TIMEOUT_S, r->why, sizeof(r->why));
    if (ret < 0) {
        return ret;
    }
    ws = o->working_set ? o->working_set >> DIRTY_PAGE_SHIFT : g->ws_max_pages;
    if (ws == 0 || ws > g->ws_max_pages) {
        snprintf(r->why, sizeof(r->why),
                 "--working-set: the guest can write at most %" PRIu64
                 " MiB of this RAM",
                 (g->ws_max_pages << DIRTY_PAGE_SHIFT) >> 20);
        return -EINVAL;
    }
    ret = dirty_guest_setup(g, ws, o->vcpus, o->pattern, 1);
    if (ret < 0) {
        snprintf(r->why, sizeof(r->why), "bad guest parameters");
        return ret;
    }
    r->ws_pages = ws;
    r->block_pages = harvest_block_pages(ctl);
    return 0;
}

/* Start this run's harvester (ours or raw), time enabling, and take what
 * the populating sweep left. */
static int run_start_logging(struct run *r, const struct machine_ctl *ctl,
                             uint64_t *acc)
{
    struct harvest_params hp = {
        .mode = modes[r->m].mode,
        .clear_chunk = r->o->clear_chunk,
        .ring_entries = r->o->ring_entries,
    };
    struct harvester *h;
    uint64_t n;
    double t0;
    int ret;

    ret = r->raw ? harvest_raw_new(ctl, &hp, &h, r->why, sizeof(r->why))
                 : harvest_ours_new(ctl, &hp, &h, r->why, sizeof(r->why));
    if (ret < 0) {
        return ret;
    }
    pthread_rwlock_wrlock(&r->h_lock);
    r->h = h;
    pthread_rwlock_unlock(&r->h_lock);
    t0 = clock_now_s();
    ret = h->ops->enable(h, r->why, sizeof(r->why));
    r->enable_ms = (clock_now_s() - t0) * 1e3;
    return ret < 0 ? ret : harvest(r, acc, &n);
}

/* After the window: the last harvest, the verification round, the full
 * sweep, logging off. */
static int run_finish_logging(struct run *r, struct dirty_guest *g,
                              const struct machine_ctl *ctl, uint64_t *acc)
{
    uint64_t n;
    double t0;
    int ret = harvest(r, acc, &n);

    if (ret == 0) {
        progress("%s %s round %u/%u: verification round", modes[r->m].name,
                 run_label(r), r->round + 1, r->o->rounds);
        t0 = clock_now_s();
        ret = run_verify(r, g, ctl, acc);
        r->t_verify = clock_now_s() - t0;
    }
    if (ret == 0) {
        t0 = clock_now_s();
        ret = run_full(r, g, ctl, acc);
        r->t_full = clock_now_s() - t0;
    }
    if (ret == 0) {
        ret = r->h->ops->disable(r->h);
        if (ret < 0) {
            snprintf(r->why, sizeof(r->why), "stopping logging: %s",
                     strerror(-ret));
        }
    }
    return ret;
}

/* Tell the guest to exit and wait for it. */
static int run_exit_guest(struct run *r, struct dirty_guest *g,
                          const struct machine_ctl *ctl)
{
    double t0;

    dirty_guest_post(g, TESTDEV_DIRTY_OP_EXIT, 0, 0);
    for (t0 = clock_now_s(); !vcpu_set_wait_for(ctl->vcpus, 100);) {
        if (clock_now_s() - t0 > ATTACH_TIMEOUT_S) {
            snprintf(r->why, sizeof(r->why), "the guest did not exit");
            return -ETIMEDOUT;
        }
    }
    return 0;
}

/* One VM of the benchmark: populate, log, measure, verify, exit. */
static int run_body(struct run *r, const struct machine_ctl *ctl)
{
    bool logging = modes[r->m].bit != BENCH_DIRTY_NONE;
    struct dirty_guest g;
    uint64_t *acc = NULL, seq;
    double t0;
    int ret;

    ret = run_attach(r, ctl, &g);
    if (ret < 0) {
        return ret;
    }
    acc = calloc((size_t)DIRTY_WORDS(r->block_pages), sizeof(uint64_t));
    if (!acc) {
        return -ENOMEM;
    }
    progress("%s %s round %u/%u: the guest populates %" PRIu64 " MiB",
             modes[r->m].name, run_label(r), r->round + 1, r->o->rounds,
             (r->ws_pages << DIRTY_PAGE_SHIFT) >> 20);
    t0 = clock_now_s();
    seq = dirty_guest_post(&g, TESTDEV_DIRTY_OP_SWEEP, 0, 0);
    ret =
        dirty_guest_wait(&g, seq, false, OP_TIMEOUT_S, r->why, sizeof(r->why));
    r->t_warm = clock_now_s() - t0;
    if (ret == 0 && logging) {
        ret = run_start_logging(r, ctl, acc);
    }
    if (ret == 0) {
        t0 = clock_now_s();
        ret = run_window(r, &g, acc);
        r->t_run = clock_now_s() - t0;
    }
    if (ret == 0) {
        seq = dirty_guest_post(&g, TESTDEV_DIRTY_OP_IDLE, 0, 0);
        ret = dirty_guest_wait(&g, seq, false, OP_TIMEOUT_S, r->why,
                               sizeof(r->why));
    }
    if (ret == 0 && logging) {
        ret = run_finish_logging(r, &g, ctl, acc);
    }
    if (ret == 0) {
        ret = run_exit_guest(r, &g, ctl);
    }
    free(acc);
    return ret;
}

static int bench_on_running(void *opaque, const struct machine_ctl *ctl)
{
    struct run *r = opaque;
    int ret = run_body(r, ctl);

    if (ret < 0) {
        if (!r->why[0]) {
            snprintf(r->why, sizeof(r->why), "%s", strerror(-ret));
        }
        vcpu_set_end(ctl->vcpus, VMM_EXIT_ERROR, "benchmark failed");
    }
    /* After the VM's end no vCPU enters KVM_RUN again, so no ring can
     * fill; a vCPU still in ring_full is waited for. The tracker must go
     * while the memory system lives. */
    vcpu_set_wait_for(ctl->vcpus, 10000);
    drop_harvester(r);
    return ret;
}

/* One VM: (r) says which mode, ours or raw, which round. */
static int run_one(struct run *r)
{
    const struct bench_dirty_opts *o = r->o;
    struct machine_config mc;
    struct machine_result res;
    char why[256];
    int ret;

    machine_config_embedded(&mc, guest_dirty_elf, guest_dirty_elf_len,
                            "embedded dirty guest");
    mc.mem_size = o->memory;
    mc.cpus = (int)o->vcpus;
    mc.ram.backend = o->backend;
    mc.serial = "none";
    if (modes[r->m].bit == BENCH_DIRTY_RING) {
        mc.dirty_ring_entries = o->ring_entries;
    }
    mc.on_running = bench_on_running;
    mc.ring_full = bench_ring_full;
    mc.ctl_opaque = r;
    ret = machine_run(&mc, clock_now_ns(), &res, why, sizeof(why));
    if (ret < 0) {
        fprintf(stderr, "%svmm bench dirty-log: %s\n", progress_on ? "\n" : "",
                why);
        return ret;
    }
    if (o->verbose && !r->why[0]) {
        fprintf(stderr,
                "%s%s %s round %u: guest %.0f pages/s (mean %.0f), harvested "
                "%.0f "
                "pages/s in %zu harvests, full harvest %.3f ms, enable %.3f "
                "ms, lost %" PRIu64 " (populate %.1f s, run %.1f s, verify "
                "%.1f s, full %.1f s, VM %.1f s; fills %.3f %.3f ms)\n",
                progress_on ? "\r\033[K" : "", modes[r->m].name, run_label(r),
                r->round + 1, r->guest_rate, r->guest_rate_mean,
                r->harvested_rate, r->nr_lat, r->full_ms, r->enable_ms, r->lost,
                r->t_warm, r->t_run, r->t_verify, r->t_full,
                res.elapsed_ms / 1e3, r->fills[0], r->fills[1]);
    }
    if (r->why[0] || res.exit_code != 0) {
        fprintf(stderr, "%svmm bench dirty-log: %s %s: %s\n",
                progress_on ? "\n" : "", modes[r->m].name, run_label(r),
                r->why[0] ? r->why : res.reason);
        return -EIO;
    }
    return 0;
}

static void run_release(struct run *r)
{
    free(r->lat);
    free(r->ser);
    pthread_rwlock_destroy(&r->h_lock);
}

/* --- results -----------------------------------------------------------------
 */

struct mode_result {
    bool ran;
    uint64_t ws_pages;
    double guest_rate, harvested_rate, enable_ms, full_ms;
    double p50, p99, max;
    uint64_t lost;
    double raw_guest_rate, raw_full_ms;
    /* ours / raw: the median of each round's pair (two VMs run one after
     * the other, so a drift of the host's speed over a run weighs on both,
     * where the ratio of the two medians would mix rounds). */
    double guest_ratio, full_ratio;
    uint64_t raw_lost;
    /* The first round's ours run, for the plot. */
    struct sample *ser;
    size_t nr_ser;
};

static double percentile(const double *sorted, size_t n, double q)
{
    size_t k;

    if (n == 0) {
        return NAN;
    }
    /* Nearest rank: the smallest k with k >= q * n. */
    k = (size_t)(q * (double)n);
    if ((double)k < q * (double)n) {
        k++;
    }
    return sorted[k ? k - 1 : 0];
}

/* "key":v with (decimals) decimals, or null for NaN. */
static void json_num(FILE *f, const char *key, double v, int decimals,
                     bool comma)
{
    fprintf(f, "\"%s\":", key);
    if (isnan(v)) {
        fputs("null", f);
    } else {
        fprintf(f, "%.*f", decimals, v);
    }
    if (comma) {
        fputc(',', f);
    }
}

static void print_json(FILE *f, const struct bench_dirty_opts *o, size_t m,
                       const struct mode_result *mr)
{
    bool logging = modes[m].bit != BENCH_DIRTY_NONE;

    fprintf(f,
            "{\"mode\":\"%s\",\"memory_bytes\":%" PRIu64
            ",\"working_set_bytes\":%" PRIu64 ",\"vcpus\":%u,",
            modes[m].name, o->memory, mr->ws_pages << DIRTY_PAGE_SHIFT,
            o->vcpus);
    json_num(f, "guest_pages_per_s", mr->guest_rate, 0, true);
    json_num(f, "harvested_pages_per_s", logging ? mr->harvested_rate : NAN, 0,
             true);
    if (logging) {
        fputs("\"harvest_ms\":{", f);
        json_num(f, "p50", mr->p50, 3, true);
        json_num(f, "p99", mr->p99, 3, true);
        json_num(f, "max", mr->max, 3, false);
        fputs("},", f);
    } else {
        fputs("\"harvest_ms\":null,", f);
    }
    json_num(f, "full_harvest_ms", logging ? mr->full_ms : NAN, 3, true);
    json_num(f, "enable_ms", logging ? mr->enable_ms : NAN, 3, true);
    json_num(f, "lost_pages", logging ? (double)mr->lost : NAN, 0, true);
    if (logging) {
        fputs("\"raw\":{", f);
        json_num(f, "guest_pages_per_s", mr->raw_guest_rate, 0, true);
        json_num(f, "full_harvest_ms", mr->raw_full_ms, 3, false);
        fputs("},\"ratio\":{", f);
        json_num(f, "guest_pages_per_s", mr->guest_ratio, 3, true);
        json_num(f, "full_harvest_ms", mr->full_ratio, 3, false);
        fputs("}}\n", f);
    } else {
        fputs("\"raw\":null,\"ratio\":null}\n", f);
    }
    fflush(f);
}

/* "301k", "68.2M": pages/s for the table. */
static const char *fmt_rate(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "-");
    } else if (v >= 10e6) {
        snprintf(buf, len, "%.1fM", v / 1e6);
    } else if (v >= 10e3) {
        snprintf(buf, len, "%.0fk", v / 1e3);
    } else {
        snprintf(buf, len, "%.0f", v);
    }
    return buf;
}

static void print_table(FILE *f, const struct bench_dirty_opts *o,
                        const struct mode_result *res)
{
    char chunk[32] = "whole slot";
    uint64_t ws = 0;

    for (size_t m = 0; m < NR_MODES; m++) {
        if (res[m].ran) {
            ws = res[m].ws_pages;
        }
    }
    if (o->clear_chunk) {
        /* What KVM_CLEAR_DIRTY_LOG gets: whole multiples of 64 pages. */
        snprintf(chunk, sizeof(chunk), "%" PRIu64 " KiB",
                 dirty_log_clear_pages(o->clear_chunk)
                     << (DIRTY_PAGE_SHIFT - 10));
    }
    fprintf(f,
            "vmm bench dirty-log: %" PRIu64 " MiB guest, working set %" PRIu64
            " MiB (%" PRIu64 " pages), %u vCPU%s, %s, %s backend\n"
            "  %.1f s per run, harvest every %u ms%s, ring %u entries, clear "
            "chunk %s, %u round%s (medians; a ratio is the median of the "
            "rounds' ratios)\n\n",
            o->memory >> 20, (ws << DIRTY_PAGE_SHIFT) >> 20, ws, o->vcpus,
            o->vcpus == 1 ? "" : "s",
            o->pattern == TESTDEV_DIRTY_PATTERN_RANDOM ? "random" : "seq",
            ram_backend_name(o->backend), o->duration_s, o->interval_ms,
            o->interval_ms ? "" : " (back-to-back)", o->ring_entries, chunk,
            o->rounds, o->rounds == 1 ? "" : "s");
    fprintf(f, "%-7s %12s %12s %6s  %10s %10s %6s  %22s %12s %9s %5s\n", "mode",
            "guest pg/s", "raw pg/s", "ratio", "full ms", "raw ms", "ratio",
            "harvest p50/p99/max ms", "harvested/s", "enable ms", "lost");
    for (size_t m = 0; m < NR_MODES; m++) {
        const struct mode_result *r = &res[m];
        char a[32], b[32], c[32], lat[48];

        if (!r->ran) {
            continue;
        }
        if (modes[m].bit == BENCH_DIRTY_NONE) {
            fprintf(f, "%-7s %12s %12s %6s  %10s %10s %6s  %22s %12s %9s %5s\n",
                    modes[m].name, fmt_rate(a, sizeof(a), r->guest_rate), "-",
                    "-", "-", "-", "-", "-", "-", "-", "-");
            continue;
        }
        snprintf(lat, sizeof(lat), "%.2f/%.2f/%.2f", r->p50, r->p99, r->max);
        fprintf(f,
                "%-7s %12s %12s %6.3f  %10.2f %10.2f %6.3f  %22s %12s %9.2f "
                "%5" PRIu64 "\n",
                modes[m].name, fmt_rate(a, sizeof(a), r->guest_rate),
                fmt_rate(b, sizeof(b), r->raw_guest_rate), r->guest_ratio,
                r->full_ms, r->raw_full_ms, r->full_ratio, lat,
                fmt_rate(c, sizeof(c), r->harvested_rate), r->enable_ms,
                r->lost);
    }
    fprintf(f, "\ngoals: guest pg/s ratio >= 0.95, full harvest ratio <= "
               "1.05 (ours / raw, same run); lost = 0\n");
}

/* --- plot --------------------------------------------------------------------
 */

/* True when (prog) is an executable file on PATH. */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];

    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);

        if (len && len + strlen(prog) + 2 <= sizeof(buf)) {
            memcpy(buf, path, len);
            snprintf(buf + len, sizeof(buf) - len, "/%s", prog);
            if (access(buf, X_OK) == 0) {
                return true;
            }
        }
        path = end ? end + 1 : NULL;
    }
    return false;
}

/* (s) as a gnuplot single-quoted string. */
static void gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') {
            fputc('\'', f);
        }
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* One colour per mode in both panels, in modes[] order. */
static const char *const plot_colour[NR_MODES] = {"#9400d3", "#009e73",
                                                  "#56b4e9", "#e69f00"};

/* One sample of (m)'s series as a data line: time, rate, latency. */
static void plot_sample(FILE *f, const struct mode_result *r, size_t i,
                        size_t *j)
{
    const struct sample *s = &r->ser[i];
    double rate = NAN;

    /* The rate over the latest window of PLOT_RATE_WINDOW_S. */
    while (*j + 1 < i && s->t - r->ser[*j + 1].t >= PLOT_RATE_WINDOW_S) {
        (*j)++;
    }
    if (*j < i && s->t - r->ser[*j].t >= PLOT_RATE_WINDOW_S) {
        rate = (double)(s->writes - r->ser[*j].writes) / (s->t - r->ser[*j].t);
    }
    fprintf(f, "%.4f ", s->t);
    if (isnan(rate)) {
        fputs("NaN ", f);
    } else {
        fprintf(f, "%.1f ", rate);
    }
    if (s->lat_ms >= 0) {
        fprintf(f, "%.4f\n", s->lat_ms);
    } else {
        fputs("NaN\n", f);
    }
}

/* DIR/MODE.dat for each mode that ran. */
static int plot_write_data(const char *dir, const struct mode_result *res)
{
    char path[64];

    for (size_t m = 0; m < NR_MODES; m++) {
        FILE *f;

        if (!res[m].ran) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s.dat", dir, modes[m].name);
        f = fopen(path, "we");
        if (!f) {
            return -errno;
        }
        fprintf(f, "# t_s guest_pages_per_s harvest_ms\n");
        for (size_t i = 0, j = 0; i < res[m].nr_ser; i++) {
            plot_sample(f, &res[m], i, &j);
        }
        fclose(f);
    }
    return 0;
}

/* The plot line of column (col) for each mode that ran (and logs, when
 * (logging_only)); false when there was none. */
static bool plot_lines(FILE *f, const char *dir, const struct mode_result *res,
                       int col, double lw, bool logging_only)
{
    bool first = true;

    for (size_t m = 0; m < NR_MODES; m++) {
        if (!res[m].ran || (logging_only && modes[m].bit == BENCH_DIRTY_NONE)) {
            continue;
        }
        fprintf(f,
                "%s'%s/%s.dat' using 1:%d with lines lw %g lc rgb '%s' "
                "title '%s'",
                first ? "" : ", ", dir, modes[m].name, col, lw, plot_colour[m],
                modes[m].name);
        first = false;
    }
    return !first;
}

/* The gnuplot script at (path): two panels, dirty rate and latency. */
static int plot_write_script(const char *path, const char *dir,
                             const struct bench_dirty_opts *o,
                             const struct mode_result *res)
{
    FILE *f = fopen(path, "we");

    if (!f) {
        return -errno;
    }
    fputs("set terminal svg size 1100,800 dynamic background rgb 'white'\n"
          "set output ",
          f);
    gp_string(f, o->plot);
    fprintf(f,
            "\nset datafile missing 'NaN'\n"
            "set multiplot layout 2,1 title 'vmm bench dirty-log: %" PRIu64
            " MiB guest, %u vCPU(s), %s, harvest every %u ms'\n"
            "set grid\nset key outside right top\n"
            "set xlabel 'seconds into the run window'\n"
            "set title 'guest dirty rate'\nset ylabel 'pages/s'\n"
            "set logscale y\nset format y '%%.0s%%c'\nplot ",
            o->memory >> 20, o->vcpus,
            o->pattern == TESTDEV_DIRTY_PATTERN_RANDOM ? "random" : "seq",
            o->interval_ms);
    plot_lines(f, dir, res, 2, 1.5, false);
    fputs("\nset title 'harvest latency'\nset ylabel 'ms'\n"
          "set format y '%g'\nplot ",
          f);
    if (!plot_lines(f, dir, res, 3, 1, true)) {
        /* Only `none` ran: no latencies to draw. */
        fputs("NaN title 'no logging mode ran'", f);
    }
    fputs("\nunset multiplot\n", f);
    fclose(f);
    return 0;
}

static int write_plot(const struct bench_dirty_opts *o,
                      const struct mode_result *res)
{
    char dir[] = "/tmp/vmm-plot.XXXXXX";
    char path[sizeof(dir) + 32];
    pid_t pid;
    int status, ret;

    if (!mkdtemp(dir)) {
        ret = -errno;
        fprintf(stderr,
                "vmm bench dirty-log: --plot: temporary directory: %s\n",
                strerror(-ret));
        return ret;
    }
    snprintf(path, sizeof(path), "%s/plot.gp", dir);
    ret = plot_write_data(dir, res);
    if (ret == 0) {
        ret = plot_write_script(path, dir, o, res);
    }
    if (ret < 0) {
        fprintf(stderr, "vmm bench dirty-log: --plot: %s\n", strerror(-ret));
        goto out;
    }
    pid = fork();
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", path, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr,
                "vmm bench dirty-log: --plot: gnuplot failed to write %s\n",
                o->plot);
        ret = -EIO;
    }
out:
    for (size_t m = 0; m < NR_MODES; m++) {
        snprintf(path, sizeof(path), "%s/%s.dat", dir, modes[m].name);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/plot.gp", dir);
    unlink(path);
    rmdir(dir);
    return ret;
}

/* --- the benchmark -----------------------------------------------------------
 */

static int run_mode(const struct bench_dirty_opts *o, size_t m,
                    struct mode_result *mr)
{
    bool logging = modes[m].bit != BENCH_DIRTY_NONE;
    /* `none` has no raw run to compare with: one VM says what it says. */
    unsigned rounds = logging ? o->rounds : 1;
    double g_ours[100], g_raw[100], f_ours[100], f_raw[100], en[100], hr[100];
    double g_ratio[100], f_ratio[100];
    double *lat = NULL;
    size_t nr_lat = 0;
    int ret = 0;

    memset(mr, 0, sizeof(*mr));
    for (unsigned k = 0; k < rounds && ret == 0; k++) {
        for (int pass = 0; pass < (logging ? 2 : 1) && ret == 0; pass++) {
            struct run r;
            double *n;

            memset(&r, 0, sizeof(r));
            pthread_rwlock_init(&r.h_lock, NULL);
            r.o = o;
            r.m = m;
            r.round = k;
            /* Alternate which goes first, round by round. */
            r.raw = logging && ((pass == 1) != (k % 2 == 1));
            ret = run_one(&r);
            if (ret == 0) {
                mr->ws_pages = r.ws_pages;
                if (r.raw) {
                    g_raw[k] = r.guest_rate;
                    f_raw[k] = r.full_ms;
                    mr->raw_lost += r.lost;
                } else {
                    g_ours[k] = r.guest_rate;
                    f_ours[k] = r.full_ms;
                    en[k] = r.enable_ms;
                    hr[k] = r.harvested_rate;
                    mr->lost += r.lost;
                    n = realloc(lat, (nr_lat + r.nr_lat + 1) * sizeof(*lat));
                    if (!n) {
                        ret = -ENOMEM;
                    } else if (r.nr_lat) {
                        lat = n;
                        memcpy(lat + nr_lat, r.lat, r.nr_lat * sizeof(*lat));
                        nr_lat += r.nr_lat;
                    } else {
                        lat = n;
                    }
                    if (k == 0) {
                        mr->ser = r.ser;
                        mr->nr_ser = r.nr_ser;
                        r.ser = NULL;
                    }
                }
            }
            run_release(&r);
        }
    }
    if (ret == 0) {
        mr->ran = true;
        /* Each round's pair, before median() sorts the arrays. */
        for (unsigned k = 0; logging && k < rounds; k++) {
            g_ratio[k] = g_ours[k] / g_raw[k];
            f_ratio[k] = f_ours[k] / f_raw[k];
        }
        mr->guest_rate = median(g_ours, rounds);
        if (logging) {
            mr->raw_guest_rate = median(g_raw, rounds);
            mr->full_ms = median(f_ours, rounds);
            mr->raw_full_ms = median(f_raw, rounds);
            mr->guest_ratio = median(g_ratio, rounds);
            mr->full_ratio = median(f_ratio, rounds);
            mr->enable_ms = median(en, rounds);
            mr->harvested_rate = median(hr, rounds);
            qsort(lat, nr_lat, sizeof(*lat), cmp_double);
            mr->p50 = percentile(lat, nr_lat, 0.50);
            mr->p99 = percentile(lat, nr_lat, 0.99);
            mr->max = nr_lat ? lat[nr_lat - 1] : NAN;
        }
        if (mr->raw_lost) {
            fprintf(stderr,
                    "%svmm bench dirty-log: %s: the raw harvester lost %" PRIu64
                    " pages\n",
                    progress_on ? "\n" : "", modes[m].name, mr->raw_lost);
        }
    }
    free(lat);
    return ret;
}

int bench_dirty_log(const struct bench_dirty_opts *o, FILE *out)
{
    struct mode_result res[NR_MODES];
    int ret = 0;

    memset(res, 0, sizeof(res));
    if (o->plot && !on_path("gnuplot")) {
        fprintf(stderr,
                "vmm bench dirty-log: --plot needs gnuplot, which is not on "
                "PATH (Debian: apt-get install gnuplot-nox)\n");
        return -ENOENT;
    }
    progress_on = isatty(STDERR_FILENO);
    for (size_t m = 0; m < NR_MODES && ret == 0; m++) {
        if (!(o->modes & modes[m].bit)) {
            continue;
        }
        ret = run_mode(o, m, &res[m]);
        if (ret == 0 && o->json) {
            progress("%s", "");
            print_json(out, o, m, &res[m]);
        }
    }
    progress("%s", "");
    if (progress_on) {
        fputs("\r\033[K", stderr);
    }
    if (ret == 0 && !o->json) {
        print_table(out, o, res);
    }
    if (ret == 0 && o->plot) {
        ret = write_plot(o, res);
    }
    for (size_t m = 0; m < NR_MODES; m++) {
        free(res[m].ser);
    }
    return ret;
}
