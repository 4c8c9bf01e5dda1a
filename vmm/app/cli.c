/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing (see cli.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define MIB (1ull << 20)

static int parse_backend(struct run_opts *o, const char *v, char *why,
                         size_t whylen)
{
    if (strcmp(v, "anon") == 0) {
        o->mc.ram.backend = RAM_BACKEND_ANON;
    } else if (strcmp(v, "memfd") == 0) {
        o->mc.ram.backend = RAM_BACKEND_MEMFD;
    } else if (strcmp(v, "hugetlbfs") == 0) {
        o->mc.ram.backend = RAM_BACKEND_HUGETLBFS;
    } else {
        snprintf(why, whylen,
                 "--mem-backend %s: unknown backend (anon, memfd, hugetlbfs)",
                 v);
        return -EINVAL;
    }
    o->backend_name = v;
    return 0;
}

static int parse_hugepage(struct run_opts *o, const char *v, char *why,
                          size_t whylen)
{
    uint64_t size;

    if (cli_parse_size(v, &size) < 0 ||
        (size != 2 * MIB && size != 1024 * MIB)) {
        snprintf(why, whylen, "--hugepage-size %s: must be 2M or 1G", v);
        return -EINVAL;
    }
    o->mc.ram.hugepage_size = size;
    o->hugepage_name = v;
    return 0;
}

static int check_run(struct run_opts *o, char *why, size_t whylen)
{
    const struct ram_block_opts *r = &o->mc.ram;

    if (o->mc.mem_size == 0) {
        snprintf(why, whylen, "--memory 0: guest memory must not be empty");
        return -EINVAL;
    }
    if (o->mc.mem_size % 4096) {
        snprintf(why, whylen,
                 "--memory %llu: not a multiple of the 4 KiB page size",
                 (unsigned long long)o->mc.mem_size);
        return -EINVAL;
    }
    if (o->mc.mem_size < 4 * MIB) {
        snprintf(why, whylen,
                 "--memory: %llu KiB is too small (at least 4 MiB: the VMM "
                 "keeps the low 2 MiB for boot structures)",
                 (unsigned long long)(o->mc.mem_size >> 10));
        return -EINVAL;
    }
    if (r->hugepage_size && r->backend == RAM_BACKEND_ANON) {
        snprintf(why, whylen,
                 "--hugepage-size: needs --mem-backend memfd or hugetlbfs "
                 "(anonymous memory uses --mem-thp)");
        return -EINVAL;
    }
    if (r->mem_path && r->backend != RAM_BACKEND_HUGETLBFS) {
        snprintf(why, whylen, "--mem-path: needs --mem-backend hugetlbfs");
        return -EINVAL;
    }
    if (r->shared && r->backend != RAM_BACKEND_ANON) {
        snprintf(why, whylen,
                 "--mem-share: only for --mem-backend anon (memfd and "
                 "hugetlbfs are always shared)");
        return -EINVAL;
    }
    if (r->thp && r->backend == RAM_BACKEND_HUGETLBFS) {
        snprintf(why, whylen,
                 "--mem-thp: not for --mem-backend hugetlbfs (already huge)");
        return -EINVAL;
    }
    if (r->thp && r->hugepage_size) {
        snprintf(why, whylen, "--mem-thp: conflicts with --hugepage-size");
        return -EINVAL;
    }
    return 0;
}

static int cli_parse_run_raw(int argc, char **argv, struct run_opts *o,
                             char *why, size_t whylen);

int cli_parse_run(int argc, char **argv, struct run_opts *o, char *why,
                  size_t whylen)
{
    struct run_opts tmp;
    int ret = cli_parse_run_raw(argc, argv, &tmp, why, whylen);

    if (ret < 0) {
        if (whylen) {
            cli_one_line(why);
        }
        return ret;
    }
    *o = tmp;
    return 0;
}

static int cli_parse_run_raw(int argc, char **argv, struct run_opts *o,
                             char *why, size_t whylen)
{
    uint64_t v;
    int i, ret;

    memset(o, 0, sizeof(*o));
    o->mc.mem_size = 256 * MIB;
    o->mc.cpus = 1;
    o->mc.kvm_device = "/dev/kvm";
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val;

#define VALUE()                                                                \
    do {                                                                       \
        val = cli_opt_value(argc, argv, &i, name, why, whylen);                \
        if (!val) {                                                            \
            return -EINVAL;                                                    \
        }                                                                      \
    } while (0)
        const char *name = a;

        if (cli_is_opt(a, "--kernel") || cli_is_opt(a, "-kernel")) {
            name = a[1] == '-' ? "--kernel" : "-kernel";
            VALUE();
            o->kernel = val;
        } else if (cli_is_opt(a, "--memory") || cli_is_opt(a, "-m")) {
            name = a[1] == 'm' ? "-m" : "--memory";
            VALUE();
            ret = cli_parse_size(val, &o->mc.mem_size);
            if (ret < 0) {
                snprintf(why, whylen, "%s %s: %s", name, val,
                         ret == -ERANGE ? "too large"
                                        : "not a size (e.g. 256M, 4G)");
                return -EINVAL;
            }
        } else if (cli_is_opt(a, "--cpus") || cli_is_opt(a, "-smp")) {
            name = a[1] == 's' ? "-smp" : "--cpus";
            VALUE();
            if (cli_parse_uint(val, 4096, &v) < 0 || v == 0) {
                snprintf(why, whylen, "%s %s: need a number from 1 to 4096",
                         name, val);
                return -EINVAL;
            }
            o->mc.cpus = (int)v;
        } else if (cli_is_opt(a, "--mem-backend")) {
            name = "--mem-backend";
            VALUE();
            ret = parse_backend(o, val, why, whylen);
            if (ret < 0) {
                return ret;
            }
        } else if (cli_is_opt(a, "--mem-path")) {
            name = "--mem-path";
            VALUE();
            o->mc.ram.mem_path = val;
        } else if (cli_is_opt(a, "--hugepage-size")) {
            name = "--hugepage-size";
            VALUE();
            ret = parse_hugepage(o, val, why, whylen);
            if (ret < 0) {
                return ret;
            }
        } else if (strcmp(a, "--mem-share") == 0) {
            o->mc.ram.shared = true;
        } else if (strcmp(a, "--mem-prealloc") == 0) {
            o->mc.ram.prealloc = true;
        } else if (strcmp(a, "--mem-thp") == 0) {
            o->mc.ram.thp = true;
        } else if (strcmp(a, "--sandbox") == 0) {
            o->mc.sandbox = true;
        } else if (strcmp(a, "--dump-mtree") == 0) {
            o->mc.dump_mtree = true;
        } else if (strcmp(a, "--dump-flatview") == 0) {
            o->mc.dump_flatview = true;
        } else if (strcmp(a, "--dump-slots") == 0) {
            o->mc.dump_slots = true;
        } else if (cli_is_opt(a, "--json")) {
            name = "--json";
            VALUE();
            o->json = val;
        } else if (cli_is_opt(a, "--cmdline") || cli_is_opt(a, "--append")) {
            name = a[2] == 'c' ? "--cmdline" : "--append";
            VALUE();
            o->mc.cmdline = val;
        } else if (cli_is_opt(a, "--initrd")) {
            name = "--initrd";
            VALUE();
            o->mc.initrd = val;
        } else if (cli_is_opt(a, "--serial")) {
            name = "--serial";
            VALUE();
            if (strcmp(val, "stdio") != 0 && strcmp(val, "none") != 0 &&
                (strncmp(val, "file:", 5) != 0 || !val[5])) {
                snprintf(why, whylen,
                         "--serial %s: expected stdio, file:PATH or none", val);
                return -EINVAL;
            }
            o->mc.serial = val;
        } else if (cli_is_opt(a, "--expect")) {
            name = "--expect";
            VALUE();
            o->mc.expect = val;
        } else if (cli_is_opt(a, "--timeout")) {
            name = "--timeout";
            VALUE();
            if (cli_parse_uint(val, 1000000, &v) < 0 || v == 0) {
                snprintf(why, whylen,
                         "--timeout %s: need whole seconds from 1 to 1000000",
                         val);
                return -EINVAL;
            }
            o->mc.timeout_s = (double)v;
        } else if (cli_is_opt(a, "--cpuid")) {
            name = "--cpuid";
            VALUE();
            if (strcmp(val, "host") == 0) {
                o->mc.cpuid = CPUID_POLICY_HOST;
            } else if (strcmp(val, "safe") == 0) {
                o->mc.cpuid = CPUID_POLICY_SAFE;
            } else {
                snprintf(why, whylen, "--cpuid %s: expected host or safe", val);
                return -EINVAL;
            }
        } else if (cli_is_opt(a, "--kvm-device")) {
            name = "--kvm-device";
            VALUE();
            o->mc.kvm_device = val;
        } else {
            snprintf(why, whylen, "%s: unknown option (see vmm --help)", a);
            return -EINVAL;
        }
#undef VALUE
    }
    return check_run(o, why, whylen);
}
