/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench soak --runs N`: create, run and destroy N VMs (the hello
 * guest) in this one process, and fail if open file descriptors or the
 * resident set grow: every run must give back everything it took.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "guest_embed.h"
#include "machine.h"
#include "util/clock.h"

/* Runs before the baseline is taken: the first VMs load libraries, grow
 * the heap and start liburcu's helper thread once for the process. */
#define SOAK_WARMUP 10
/* Allocator noise tolerated on the resident set, in KiB. */
#define SOAK_RSS_SLACK_KIB 512

/*
 * ASan's allocator keeps freed chunks in per-thread caches and size-class
 * regions it never returns, so RSS is no measure of a leak there (in the
 * nested runner 200 VMs grew it by 6 MiB with the quarantine off):
 * LeakSanitizer is, and it runs at exit. RSS is still printed.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_CHECK_RSS 0
#else
#define SOAK_CHECK_RSS 1
#endif

static int count_fds(void)
{
    struct dirent *de;
    int n = 0;
    DIR *d = opendir("/proc/self/fd");

    if (!d) {
        return -errno;
    }
    while ((de = readdir(d))) {
        n += de->d_name[0] != '.';
    }
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static uint64_t rss_kib(void)
{
    uint64_t rss = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "re");

    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmRSS: %" SCNu64, &rss) == 1) {
            break;
        }
    }
    fclose(f);
    return rss;
}

static int soak_one(void)
{
    struct machine_config mc;
    struct machine_result res;
    char why[256];
    int ret;

    machine_config_embedded(&mc, guest_hello_elf, guest_hello_elf_len,
                            "embedded hello guest");
    mc.serial = "none";
    ret = machine_run(&mc, clock_now_ns(), &res, why, sizeof(why));
    if (ret < 0) {
        fprintf(stderr, "vmm bench soak: %s\n", why);
        return ret;
    }
    if (res.exit_code != 0) {
        fprintf(stderr, "vmm bench soak: guest ended with %d (%s)\n",
                res.exit_code, res.reason);
        return -EIO;
    }
    return 0;
}

int bench_soak(uint64_t runs, bool json, FILE *out)
{
    uint64_t i, rss0 = 0, rss1;
    int fds0 = 0, fds1, ret = 0;
    double t0 = (double)clock_now_ns();
    bool grew;

    for (i = 0; i < runs + SOAK_WARMUP && ret == 0; i++) {
        if (i == SOAK_WARMUP) {
            malloc_trim(0);
            fds0 = count_fds();
            rss0 = rss_kib();
        }
        ret = soak_one();
    }
    if (ret < 0) {
        return ret;
    }
    malloc_trim(0);
    fds1 = count_fds();
    rss1 = rss_kib();
    grew = fds1 > fds0 || (SOAK_CHECK_RSS && rss1 > rss0 + SOAK_RSS_SLACK_KIB);
    if (json) {
        fprintf(out,
                "{\"runs\":%" PRIu64 ",\"fds_before\":%d,\"fds_after\":%d,"
                "\"rss_kib_before\":%" PRIu64 ",\"rss_kib_after\":%" PRIu64
                ",\"ms_per_run\":%.3f,\"ok\":%s}\n",
                runs, fds0, fds1, rss0, rss1,
                ((double)clock_now_ns() - t0) / 1e6 /
                    (double)(runs + SOAK_WARMUP),
                grew ? "false" : "true");
    } else {
        fprintf(out,
                "%" PRIu64 " VMs (after %d warm-up runs): open fds %d -> %d, "
                "RSS %" PRIu64 " -> %" PRIu64 " KiB (slack %d KiB): %s\n",
                runs, SOAK_WARMUP, fds0, fds1, rss0, rss1, SOAK_RSS_SLACK_KIB,
                grew             ? "GREW"
                : SOAK_CHECK_RSS ? "ok"
                                 : "ok (RSS not checked under ASan)");
    }
    if (grew) {
        fprintf(stderr,
                "vmm bench soak: open fds or RSS grew over %" PRIu64 " VMs\n",
                runs);
        return -EOVERFLOW;
    }
    return 0;
}
