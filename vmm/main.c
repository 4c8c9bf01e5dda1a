/* SPDX-License-Identifier: MIT */
/*
 * vmm: the command line. The only place that exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "bench.h"

static void usage(FILE *f)
{
    fputs(
        "usage: vmm bench memory [--json]\n"
        "\n"
        "  bench memory   render, lookup and commit times of the memory API\n",
        f);
}

static int cmd_bench(int argc, char **argv)
{
    bool json = false;
    int i, ret;

    if (argc < 1) {
        fputs("vmm bench: name a benchmark (memory)\n", stderr);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "vmm bench %s: unknown option '%s'\n", argv[0],
                    argv[i]);
            return 2;
        }
    }
    if (strcmp(argv[0], "memory") == 0) {
        ret = bench_memory(json, stdout);
    } else {
        fprintf(stderr, "vmm bench: unknown benchmark '%s'\n", argv[0]);
        return 2;
    }
    if (ret < 0) {
        fprintf(stderr, "vmm bench %s: %s\n", argv[0], strerror(-ret));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int ret;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    rcu_register_thread();
    if (strcmp(argv[1], "bench") == 0) {
        ret = cmd_bench(argc - 2, argv + 2);
    } else {
        fprintf(stderr, "vmm: unknown command '%s' (try vmm --help)\n",
                argv[1]);
        ret = 2;
    }
    rcu_unregister_thread();
    exit(ret);
}
