/* SPDX-License-Identifier: MIT */
/*
 * Size and command-line parsing: the input is split at NUL bytes into
 * arguments for `vmm run`, and its first argument is also parsed as a size
 * and a number. Parsers must return 0 or a negative errno with a one-line
 * message, and never crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *argv[MAX_ARGS];
    struct run_opts o;
    char why[512];
    uint64_t v;
    size_t i;
    int argc = 0, ret;

    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = copy;
    for (i = 0; i < size && argc < MAX_ARGS; i++) {
        if (copy[i] == '\0') {
            argv[argc++] = copy + i + 1;
        }
    }
    ret = cli_parse_size(argv[0], &v);
    FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
    ret = cli_parse_uint(argv[0], UINT64_MAX, &v);
    FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
    why[0] = '\0';
    ret = cli_parse_run(argc, argv, &o, why, sizeof(why));
    FUZZ_CHECK(ret == 0 || ret == OPT_HELP || ret == -EINVAL);
    if (ret < 0) {
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_CHECK(strchr(why, '\n') == NULL);
    } else if (ret == 0) {
        FUZZ_CHECK(o.mc.mem_size >= (4u << 20) && o.mc.mem_size % 4096 == 0);
        FUZZ_CHECK(o.mc.cpus >= 1);
    }
    free(copy);
    return 0;
}
