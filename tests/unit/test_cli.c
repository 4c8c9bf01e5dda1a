/* SPDX-License-Identifier: MIT */
/*
 * Command-line tests (vmm/app/cli.h, util/cli.h): cli_parse_size() and
 * cli_parse_uint() against tables of accepted and refused strings, and
 * cli_parse_run(): the defaults, every option in both the "--opt value" and
 * "--opt=value" forms (and the aliases), and refusals, each of which must
 * return -EINVAL with one line in (why) that names the option.
 *
 * Cases marked with a known bug check what cli.h documents; they are
 * reported but do not fail the test while the bug is open, and fail it
 * once the bug is fixed, so that the mark gets removed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

static unsigned unit_failures;
static unsigned known_bugs;

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define TIB (1ull << 40)

static const char *err_name(int err)
{
    switch (err) {
    case 0:
        return "0";
    case -EINVAL:
        return "-EINVAL";
    case -ERANGE:
        return "-ERANGE";
    default:
        return "another error";
    }
}

/* ---- cli_parse_size ---- */

static const struct size_case {
    const char *s;
    int err;
    uint64_t value;
    /* The case fails today because of this bug (NULL: none). */
    const char *known_bug;
} size_cases[] = {
    {"0", 0, 0, NULL},
    {"1", 0, 1, NULL},
    {"4096", 0, 4096, NULL},
    {"4K", 0, 4 * KIB, NULL},
    {"4k", 0, 4 * KIB, NULL},
    {"4KiB", 0, 4 * KIB, NULL},
    {"4kib", 0, 4 * KIB, NULL},
    {"4KB", 0, 4 * KIB, NULL},
    {"2M", 0, 2 * MIB, NULL},
    {"2m", 0, 2 * MIB, NULL},
    {"2MiB", 0, 2 * MIB, NULL},
    {"2MB", 0, 2 * MIB, NULL},
    {"1G", 0, GIB, NULL},
    {"1g", 0, GIB, NULL},
    {"3GiB", 0, 3 * GIB, NULL},
    {"3gib", 0, 3 * GIB, NULL},
    {"1GB", 0, GIB, NULL},
    {"1T", 0, TIB, NULL},
    {"1t", 0, TIB, NULL},
    {"1TiB", 0, TIB, NULL},
    {"007M", 0, 7 * MIB, NULL},
    {"18446744073709551615", 0, UINT64_MAX, NULL},
    {"17179869183G", 0, 17179869183ull * GIB, NULL},
    {"16777215T", 0, 16777215ull * TIB, NULL},
    {"18014398509481983K", 0, 18014398509481983ull * KIB, NULL},
    {"0000000000000000000000000000000001", 0, 1, NULL},
    /* Not sizes. */
    {"", -EINVAL, 0, NULL},
    {"M", -EINVAL, 0, NULL},
    {"K1", -EINVAL, 0, NULL},
    {"-1", -EINVAL, 0, NULL},
    {"+1", -EINVAL, 0, NULL},
    {" 1", -EINVAL, 0, NULL},
    {"1 ", -EINVAL, 0, NULL},
    {"1 G", -EINVAL, 0, NULL},
    {"1.5G", -EINVAL, 0, NULL},
    {"1,5G", -EINVAL, 0, NULL},
    {"1e3", -EINVAL, 0, NULL},
    {"0x10", -EINVAL, 0, NULL},
    {"1X", -EINVAL, 0, NULL},
    {"16E", -EINVAL, 0, NULL},
    {"1P", -EINVAL, 0, NULL},
    {"1KK", -EINVAL, 0, NULL},
    {"1Ki", -EINVAL, 0, NULL},
    {"1GiBs", -EINVAL, 0, NULL},
    /* Beyond 2^64 - 1. */
    {"18446744073709551616", -ERANGE, 0, NULL},
    {"99999999999999999999", -ERANGE, 0, NULL},
    {"9999999999999999999999999999999", -ERANGE, 0, NULL},
    {"99999999999999999999999999999999999999", -ERANGE, 0, NULL},
    {"17179869184G", -ERANGE, 0, NULL},
    {"16777216T", -ERANGE, 0, NULL},
    {"18014398509481984K", -ERANGE, 0, NULL},
    {"18446744073709551615K", -ERANGE, 0, NULL},
};

/* Count a failure, or a known bug while it is open. */
static void fail_or_known(bool ok, const char *known_bug, const char *what)
{
    if (known_bug) {
        if (ok) {
            unit_failures++;
            fprintf(stderr,
                    "FAIL: %s now passes: the known bug \"%s\" is fixed, "
                    "remove its mark\n",
                    what, known_bug);
        } else {
            known_bugs++;
            fprintf(stderr, "KNOWN BUG: %s (%s)\n", what, known_bug);
        }
        return;
    }
    CHECK(ok, "%s", what);
}

static void test_parse_size(void)
{
    char what[256];
    uint64_t v;
    int r;

    for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
        const struct size_case *c = &size_cases[i];

        v = 0x5a5a5a5a5a5a5a5aull;
        r = cli_parse_size(c->s, &v);
        snprintf(what, sizeof(what),
                 "cli_parse_size(\"%s\") = %s, 0x%" PRIx64 "; expected %s, "
                 "0x%" PRIx64,
                 c->s, err_name(r), v, err_name(c->err), c->value);
        /* On failure the out-param is left alone (STYLE.md 5). */
        fail_or_known(r == c->err &&
                          v == (r == 0 ? c->value : 0x5a5a5a5a5a5a5a5aull),
                      c->known_bug, what);
    }
    r = cli_parse_size(NULL, &v);
    CHECK(r == -EINVAL, "cli_parse_size(NULL) = %d", r);
}

/* ---- cli_parse_uint ---- */

static void test_parse_uint(void)
{
    static const struct {
        const char *s;
        uint64_t max;
        int err;
        uint64_t value;
    } cases[] = {
        {"0", 10, 0, 0},
        {"10", 10, 0, 10},
        {"007", 10, 0, 7},
        {"11", 10, -ERANGE, 0},
        {"0", 0, 0, 0},
        {"1", 0, -ERANGE, 0},
        {"4096", 4096, 0, 4096},
        {"4097", 4096, -ERANGE, 0},
        {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
        {"18446744073709551616", UINT64_MAX, -ERANGE, 0},
        {"99999999999999999999999", UINT64_MAX, -ERANGE, 0},
        {"", 10, -EINVAL, 0},
        {"-1", 10, -EINVAL, 0},
        {"+1", 10, -EINVAL, 0},
        {" 1", 10, -EINVAL, 0},
        {"1 ", 10, -EINVAL, 0},
        {"1a", 10, -EINVAL, 0},
        {"4K", UINT64_MAX, -EINVAL, 0},
        {"0x1", 10, -EINVAL, 0},
        {"1.0", 10, -EINVAL, 0},
    };
    uint64_t v;
    int r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 0x5a5a5a5a5a5a5a5aull;
        r = cli_parse_uint(cases[i].s, cases[i].max, &v);
        CHECK(r == cases[i].err &&
                  v == (r == 0 ? cases[i].value : 0x5a5a5a5a5a5a5a5aull),
              "cli_parse_uint(\"%s\", %" PRIu64 ") = %s, %" PRIu64
              "; expected %s, %" PRIu64,
              cases[i].s, cases[i].max, err_name(r), v, err_name(cases[i].err),
              cases[i].value);
    }
    r = cli_parse_uint(NULL, 10, &v);
    CHECK(r == -EINVAL, "cli_parse_uint(NULL) = %d", r);
}

/* ---- cli_parse_run ---- */

#define MAX_ARGS 16
#define ARG_LEN 128

/* Writable copies of the arguments of one call. */
struct args {
    int argc;
    char *argv[MAX_ARGS + 1];
    char store[MAX_ARGS][ARG_LEN];
};

static void args_add(struct args *a, const char *s)
{
    if (a->argc >= MAX_ARGS || strlen(s) >= ARG_LEN) {
        CHECK(0, "test bug: argument list too long at \"%s\"", s);
        return;
    }
    snprintf(a->store[a->argc], ARG_LEN, "%s", s);
    a->argv[a->argc] = a->store[a->argc];
    a->argc++;
    a->argv[a->argc] = NULL;
}

static void args_add_joined(struct args *a, const char *opt, const char *val)
{
    char buf[ARG_LEN];

    snprintf(buf, sizeof(buf), "%s=%s", opt, val);
    args_add(a, buf);
}

/* The arguments, for messages. */
static const char *args_text(const struct args *a, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < a->argc && n < len; i++) {
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "",
                              a->argv[i]);
    }
    return buf;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* (want) with the defaults in place of its zero fields: 256 MiB, one vCPU,
 * /dev/kvm (every other default is zero or NULL). */
static struct run_opts with_defaults(const struct run_opts *want)
{
    struct run_opts o = *want;

    if (!o.mc.mem_size) {
        o.mc.mem_size = 256 * MIB;
    }
    if (!o.mc.cpus) {
        o.mc.cpus = 1;
    }
    if (!o.mc.kvm_device) {
        o.mc.kvm_device = "/dev/kvm";
    }
    return o;
}

#define CMP_NUM(field, fmt)                                                    \
    CHECK(got->field == want->field,                                           \
          "%s: " #field " is %" fmt ", expected %" fmt, what, got->field,      \
          want->field)
#define CMP_STR(field)                                                         \
    CHECK(str_eq(got->field, want->field),                                     \
          "%s: " #field " is \"%s\", expected \"%s\"", what,                   \
          got->field ? got->field : "(null)",                                  \
          want->field ? want->field : "(null)")

static void compare_opts(const char *what, const struct run_opts *got,
                         const struct run_opts *want)
{
    CMP_NUM(mc.mem_size, PRIu64);
    CMP_NUM(mc.cpus, "d");
    CMP_STR(mc.kvm_device);
    CMP_NUM(mc.ram.backend, "d");
    CMP_NUM(mc.ram.shared, "d");
    CMP_NUM(mc.ram.prealloc, "d");
    CMP_NUM(mc.ram.thp, "d");
    CMP_NUM(mc.ram.hugepage_size, PRIu64);
    CMP_STR(mc.ram.mem_path);
    CHECK(!got->mc.ram.progress && !got->mc.ram.progress_opaque,
          "%s: a progress callback was set", what);
    CMP_NUM(mc.dump_mtree, "d");
    CMP_NUM(mc.dump_flatview, "d");
    CMP_NUM(mc.dump_slots, "d");
    CMP_STR(mc.cmdline);
    CMP_STR(mc.initrd);
    CMP_STR(mc.serial);
    CMP_STR(mc.expect);
    CMP_NUM(mc.timeout_s, "g");
    CMP_NUM(mc.cpuid, "d");
    CHECK(!got->mc.image && got->mc.image_size == 0 && !got->mc.image_name &&
              !got->mc.mmio_bench && got->mc.guest_arg == 0 &&
              !got->mc.no_stdin,
          "%s: a field the command line does not set was set", what);
    CMP_STR(kernel);
    CMP_STR(json);
    CMP_STR(backend_name);
    CMP_STR(hugepage_name);
}

static void test_run_defaults(void)
{
    static const struct run_opts none;
    struct run_opts o, want = with_defaults(&none);
    char why[256] = "";
    char *argv[] = {NULL};
    int r;

    memset(&o, 0x5a, sizeof(o));
    r = cli_parse_run(0, argv, &o, why, sizeof(why));
    CHECK(r == 0, "no arguments: %d (%s)", r, why);
    compare_opts("no arguments", &o, &want);
    CHECK(o.mc.mem_size == 256 * MIB && o.mc.cpus == 1 &&
              str_eq(o.mc.kvm_device, "/dev/kvm") &&
              o.mc.ram.backend == RAM_BACKEND_ANON,
          "defaults are not 256 MiB, 1 vCPU, /dev/kvm, anonymous memory");
}

/* One option (with the arguments it needs first) and what it sets. */
static const struct opt_case {
    const char *opt;
    /* NULL: a flag, which has no "=value" form. */
    const char *value;
    const char *pre[3];
    struct run_opts want;
} opt_cases[] = {
    {"--kernel", "guest/hello.elf", {NULL}, {.kernel = "guest/hello.elf"}},
    {"-kernel", "bzImage", {NULL}, {.kernel = "bzImage"}},
    {"--memory", "512M", {NULL}, {.mc.mem_size = 512 * MIB}},
    {"--memory", "4M", {NULL}, {.mc.mem_size = 4 * MIB}},
    {"--memory", "4096K", {NULL}, {.mc.mem_size = 4 * MIB}},
    {"--memory", "4G", {NULL}, {.mc.mem_size = 4 * GIB}},
    {"--memory", "1073741824B", {NULL}, {.mc.mem_size = GIB}},
    /* A plain number is MiB, as QEMU's and kvmtool's -m. */
    {"--memory", "512", {NULL}, {.mc.mem_size = 512 * MIB}},
    {"-m", "512", {NULL}, {.mc.mem_size = 512 * MIB}},
    {"-m", "4", {NULL}, {.mc.mem_size = 4 * MIB}},
    /* QEMU's spellings. */
    {"-initrd", "initrd.img", {NULL}, {.mc.initrd = "initrd.img"}},
    {"-append", "console=ttyS0", {NULL}, {.mc.cmdline = "console=ttyS0"}},
    {"-smp", "2", {NULL}, {.mc.cpus = 2}},
    {"-smp", "cpus=3", {NULL}, {.mc.cpus = 3}},
    {"-serial", "stdio", {NULL}, {.mc.serial = "stdio"}},
    {"--kernel", "k", {NULL}, {.kernel = "k"}},
    {"-nographic", NULL, {NULL}, {.kernel = NULL}},
    {"-no-reboot", NULL, {NULL}, {.kernel = NULL}},
    {"-enable-kvm", NULL, {NULL}, {.kernel = NULL}},
    {"-display", "none", {NULL}, {.kernel = NULL}},
    {"-accel", "kvm", {NULL}, {.kernel = NULL}},
    {"-device",
     "isa-debug-exit,iobase=0xf4,iosize=0x4",
     {NULL},
     {.kernel = NULL}},
    {"-device", "isa-debug-exit,iobase=244", {NULL}, {.kernel = NULL}},
    {"--memory", "3GiB", {NULL}, {.mc.mem_size = 3 * GIB}},
    {"-m", "1G", {NULL}, {.mc.mem_size = GIB}},
    {"-m", "64m", {NULL}, {.mc.mem_size = 64 * MIB}},
    {"--cpus", "1", {NULL}, {.mc.cpus = 1}},
    {"--cpus", "4", {NULL}, {.mc.cpus = 4}},
    {"--cpus", "4096", {NULL}, {.mc.cpus = 4096}},
    {"-smp", "2", {NULL}, {.mc.cpus = 2}},
    {"--mem-backend",
     "anon",
     {NULL},
     {.mc.ram.backend = RAM_BACKEND_ANON, .backend_name = "anon"}},
    {"--mem-backend",
     "memfd",
     {NULL},
     {.mc.ram.backend = RAM_BACKEND_MEMFD, .backend_name = "memfd"}},
    {"--mem-backend",
     "hugetlbfs",
     {NULL},
     {.mc.ram.backend = RAM_BACKEND_HUGETLBFS, .backend_name = "hugetlbfs"}},
    {"--mem-path",
     "/dev/hugepages",
     {"--mem-backend", "hugetlbfs", NULL},
     {.mc.ram.backend = RAM_BACKEND_HUGETLBFS,
      .backend_name = "hugetlbfs",
      .mc.ram.mem_path = "/dev/hugepages"}},
    {"--hugepage-size",
     "2M",
     {"--mem-backend", "memfd", NULL},
     {.mc.ram.backend = RAM_BACKEND_MEMFD,
      .backend_name = "memfd",
      .mc.ram.hugepage_size = 2 * MIB,
      .hugepage_name = "2M"}},
    {"--hugepage-size",
     "1G",
     {"--mem-backend", "hugetlbfs", NULL},
     {.mc.ram.backend = RAM_BACKEND_HUGETLBFS,
      .backend_name = "hugetlbfs",
      .mc.ram.hugepage_size = GIB,
      .hugepage_name = "1G"}},
    {"--hugepage-size",
     "2048K",
     {"--mem-backend", "memfd", NULL},
     {.mc.ram.backend = RAM_BACKEND_MEMFD,
      .backend_name = "memfd",
      .mc.ram.hugepage_size = 2 * MIB,
      .hugepage_name = "2048K"}},
    {"--mem-share", NULL, {NULL}, {.mc.ram.shared = true}},
    {"--mem-prealloc", NULL, {NULL}, {.mc.ram.prealloc = true}},
    {"--mem-thp", NULL, {NULL}, {.mc.ram.thp = true}},
    {"--mem-thp",
     NULL,
     {"--mem-backend", "memfd", NULL},
     {.mc.ram.backend = RAM_BACKEND_MEMFD,
      .backend_name = "memfd",
      .mc.ram.thp = true}},
    {"--dump-mtree", NULL, {NULL}, {.mc.dump_mtree = true}},
    {"--dump-flatview", NULL, {NULL}, {.mc.dump_flatview = true}},
    {"--dump-slots", NULL, {NULL}, {.mc.dump_slots = true}},
    {"--json", "report.json", {NULL}, {.json = "report.json"}},
    {"--json", "-", {NULL}, {.json = "-"}},
    {"--kvm-device", "/dev/null", {NULL}, {.mc.kvm_device = "/dev/null"}},
    {"--cmdline",
     "console=ttyS0 quiet",
     {NULL},
     {.mc.cmdline = "console=ttyS0 quiet"}},
    {"--append", "root=/dev/vda", {NULL}, {.mc.cmdline = "root=/dev/vda"}},
    {"--initrd", "initrd.img", {NULL}, {.mc.initrd = "initrd.img"}},
    {"--serial", "stdio", {NULL}, {.mc.serial = "stdio"}},
    {"--serial", "none", {NULL}, {.mc.serial = "none"}},
    {"--serial", "file:/tmp/out", {NULL}, {.mc.serial = "file:/tmp/out"}},
    {"--expect", "SUCCESS", {NULL}, {.mc.expect = "SUCCESS"}},
    {"--timeout", "30", {NULL}, {.mc.timeout_s = 30}},
    {"--timeout", "1000000", {NULL}, {.mc.timeout_s = 1000000}},
    {"--cpuid", "host", {NULL}, {.mc.cpuid = CPUID_POLICY_HOST}},
    {"--cpuid", "safe", {NULL}, {.mc.cpuid = CPUID_POLICY_SAFE}},
};

static void test_run_options(void)
{
    char text[512], why[256];
    struct run_opts o, want;
    struct args a;
    int r;

    for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
        const struct opt_case *c = &opt_cases[i];

        want = with_defaults(&c->want);
        for (int joined = 0; joined < (c->value ? 2 : 1); joined++) {
            memset(&a, 0, sizeof(a));
            for (unsigned k = 0; k < 3 && c->pre[k]; k++) {
                args_add(&a, c->pre[k]);
            }
            if (!c->value) {
                args_add(&a, c->opt);
            } else if (joined) {
                args_add_joined(&a, c->opt, c->value);
            } else {
                args_add(&a, c->opt);
                args_add(&a, c->value);
            }
            args_text(&a, text, sizeof(text));
            why[0] = '\0';
            memset(&o, 0x5a, sizeof(o));
            r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
            CHECK(r == 0, "\"%s\": %d (%s)", text, r, why);
            if (r == 0) {
                compare_opts(text, &o, &want);
            }
        }
    }
}

/* Several options at once, and the value of an option that looks like one. */
static void test_run_combined(void)
{
    static const char *const argv_in[] = {
        "-m",
        "2G",
        "--cpus=8",
        "--mem-backend",
        "memfd",
        "--mem-thp",
        "--mem-prealloc",
        "--kernel",
        "--dump-mtree",
        "--json=out.json",
    };
    struct run_opts o, want = {
                           .mc.mem_size = 2 * GIB,
                           .mc.cpus = 8,
                           .mc.ram.backend = RAM_BACKEND_MEMFD,
                           .backend_name = "memfd",
                           .mc.ram.thp = true,
                           .mc.ram.prealloc = true,
                           .kernel = "--dump-mtree",
                           .json = "out.json",
                       };
    char why[256] = "";
    struct args a;
    int r;

    memset(&a, 0, sizeof(a));
    for (size_t i = 0; i < sizeof(argv_in) / sizeof(argv_in[0]); i++) {
        args_add(&a, argv_in[i]);
    }
    want = with_defaults(&want);
    r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
    CHECK(r == 0, "combined options: %d (%s)", r, why);
    if (r == 0) {
        compare_opts("combined options", &o, &want);
    }
}

/* Arguments that must be refused, and words the reason must contain. */
static const struct bad_case {
    const char *args[6];
    const char *words[2];
} bad_cases[] = {
    /* Unknown options. */
    {{"--bogus"}, {"--bogus", "unknown"}},
    {{"-x"}, {"-x", "unknown"}},
    {{"hello.elf"}, {"hello.elf", "unexpected"}},
    {{"--memoryX", "1G"}, {"--memoryX", "unknown"}},
    {{"--mem"}, {"--mem", "unknown"}},
    {{"--mem-share=yes"}, {"--mem-share", "no value"}},
    {{"--cpus", "2", "--frobnicate"}, {"--frobnicate", "unknown"}},
    {{""}, {"unexpected", NULL}},
    /* QEMU spellings vmm cannot honour. */
    {{"-display", "gtk"}, {"-display gtk", "none"}},
    {{"-accel", "tcg"}, {"-accel tcg", "kvm"}},
    {{"-device", "e1000"}, {"-device e1000", "not available"}},
    {{"-device", "isa-debug-exit"}, {"0x501", "iobase=0xf4"}},
    {{"-device", "isa-debug-exit,iobase=0x501"}, {"iobase=0x501", "differs"}},
    {{"-device", "isa-debug-exit,iobase=0xf4,iosize=8"}, {"iosize=8", NULL}},
    {{"-device", "isa-debug-exit,iobase"}, {"iobase", "key=value"}},
    {{"-smp", "sockets=2"}, {"-smp sockets=2", "not supported"}},
    {{"-nographic=1"}, {"-nographic", "no value"}},
    {{"--kernel"}, {"--kernel", "missing value"}},
    /* --memory. */
    {{"--memory", "0"}, {"--memory", "empty"}},
    {{"--memory=0"}, {"--memory", "empty"}},
    {{"-m", "0"}, {"--memory", "empty"}},
    {{"--memory", "4194305B"}, {"--memory", "multiple"}},
    {{"--memory", "1B"}, {"--memory", "multiple"}},
    {{"--memory", "1"}, {"--memory", "too small"}},
    {{"--memory", "4092K"}, {"--memory", "too small"}},
    {{"--memory", "2M"}, {"--memory", "too small"}},
    {{"--memory", "abc"}, {"--memory", "not a size"}},
    {{"--memory", "1.5G"}, {"--memory", "not a size"}},
    {{"--memory", "-1"}, {"--memory", "not a size"}},
    {{"--memory", "16E"}, {"--memory", "not a size"}},
    {{"--memory="}, {"--memory", "not a size"}},
    {{"-m", "lots"}, {"-m", "not a size"}},
    {{"--memory", "18446744073709551616"}, {"--memory", "too large"}},
    {{"--memory", "17179869184G"}, {"--memory", "too large"}},
    /* --cpus. */
    {{"--cpus", "0"}, {"--cpus", "1 to 4096"}},
    {{"--cpus=0"}, {"--cpus", "1 to 4096"}},
    {{"--cpus", "abc"}, {"--cpus", "1 to 4096"}},
    {{"--cpus", "-1"}, {"--cpus", "1 to 4096"}},
    {{"--cpus", "4097"}, {"--cpus", "1 to 4096"}},
    {{"--cpus", "18446744073709551616"}, {"--cpus", "1 to 4096"}},
    {{"--cpus", "2K"}, {"--cpus", "1 to 4096"}},
    {{"-smp", "0"}, {"-smp", "1 to 4096"}},
    {{"-smp=huge"}, {"-smp", "1 to 4096"}},
    /* --mem-backend and its companions. */
    {{"--mem-backend", "file"}, {"--mem-backend", "unknown backend"}},
    {{"--mem-backend", "ANON"}, {"--mem-backend", "unknown backend"}},
    {{"--mem-backend="}, {"--mem-backend", "unknown backend"}},
    {{"--mem-backend", "memfd", "--hugepage-size", "4M"},
     {"--hugepage-size", "2M or 1G"}},
    {{"--mem-backend", "memfd", "--hugepage-size", "0"},
     {"--hugepage-size", "2M or 1G"}},
    {{"--mem-backend", "memfd", "--hugepage-size", "big"},
     {"--hugepage-size", "2M or 1G"}},
    {{"--mem-backend", "memfd", "--hugepage-size", "4K"},
     {"--hugepage-size", "2M or 1G"}},
    {{"--hugepage-size", "2M"}, {"--hugepage-size", "anon"}},
    {{"--mem-backend", "anon", "--hugepage-size=1G"},
     {"--hugepage-size", "anon"}},
    {{"--mem-path", "/dev/hugepages"}, {"--mem-path", "hugetlbfs"}},
    {{"--mem-backend", "memfd", "--mem-path", "/mnt"},
     {"--mem-path", "hugetlbfs"}},
    {{"--mem-backend", "memfd", "--mem-share"}, {"--mem-share", "anon"}},
    {{"--mem-backend", "hugetlbfs", "--mem-share"}, {"--mem-share", "anon"}},
    {{"--mem-backend", "hugetlbfs", "--mem-thp"}, {"--mem-thp", "hugetlbfs"}},
    {{"--mem-backend", "memfd", "--hugepage-size", "2M", "--mem-thp"},
     {"--mem-thp", "--hugepage-size"}},
    /* The newer options. */
    {{"--serial", "tty"}, {"--serial", "stdio"}},
    {{"--serial", "file:"}, {"--serial", "file:PATH"}},
    {{"--serial="}, {"--serial", "stdio"}},
    {{"--timeout", "0"}, {"--timeout", "seconds"}},
    {{"--timeout", "1.5"}, {"--timeout", "seconds"}},
    {{"--timeout", "1000001"}, {"--timeout", "seconds"}},
    {{"--cpuid", "auto"}, {"--cpuid", "host or safe"}},
    {{"--cpuid", "HOST"}, {"--cpuid", "host or safe"}},
    /* Values that would break the reason's line when quoted. */
    {{"--memory", "1\nG"}, {"--memory", "not a size"}},
    {{"--bogus\nsecond line"}, {"--bogus", "unknown"}},
    {{"--serial", "tty\r\n"}, {"--serial", "stdio"}},
    {{"--mem-backend", "memfd\n"}, {"--mem-backend", "unknown backend"}},
};

/* Every option that takes a value: alone, it is missing its value. */
static const char *const value_opts[] = {
    "--kernel",        "-kernel",  "--memory",      "-m",
    "--cpus",          "-smp",     "--mem-backend", "--mem-path",
    "--hugepage-size", "--json",   "--kvm-device",  "--cmdline",
    "--append",        "--initrd", "--serial",      "--expect",
    "--timeout",       "--cpuid",
};

/* One refusal: -EINVAL and one line naming the option. */
static void check_refused(struct args *a, const char *w0, const char *w1)
{
    char text[512], why[256];
    struct run_opts o;
    int r;

    args_text(a, text, sizeof(text));
    memset(why, 0, sizeof(why));
    r = cli_parse_run(a->argc, a->argv, &o, why, sizeof(why));
    CHECK(r == -EINVAL, "\"%s\": %d, expected -EINVAL (%s)", text, r, why);
    CHECK(why[0] != '\0', "\"%s\": no reason", text);
    CHECK(!strpbrk(why, "\n\r"), "\"%s\": reason is not one line: %s", text,
          why);
    for (unsigned k = 0; k < 2; k++) {
        const char *w = k ? w1 : w0;

        CHECK(!w || strstr(why, w), "\"%s\": reason \"%s\" does not say \"%s\"",
              text, why, w);
    }
}

static void test_run_refused(void)
{
    struct args a;

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];

        memset(&a, 0, sizeof(a));
        for (unsigned k = 0; k < 6 && c->args[k]; k++) {
            args_add(&a, c->args[k]);
        }
        check_refused(&a, c->words[0], c->words[1]);
    }
    for (size_t i = 0; i < sizeof(value_opts) / sizeof(value_opts[0]); i++) {
        memset(&a, 0, sizeof(a));
        args_add(&a, value_opts[i]);
        check_refused(&a, value_opts[i], "missing");
        /* Also after other, valid options. */
        memset(&a, 0, sizeof(a));
        args_add(&a, "--cpus");
        args_add(&a, "2");
        args_add(&a, value_opts[i]);
        check_refused(&a, value_opts[i], "missing");
    }
}

/* A short reason buffer gets a truncated, terminated line. */
static void test_run_short_why(void)
{
    char why[16];
    struct run_opts o;
    struct args a;
    int r;

    memset(&a, 0, sizeof(a));
    args_add(&a, "--memory");
    args_add(&a, "abc");
    memset(why, '#', sizeof(why));
    r = cli_parse_run(a.argc, a.argv, &o, why, 8);
    CHECK(r == -EINVAL, "short reason buffer: %d", r);
    CHECK(strnlen(why, 8) == 7 && strncmp(why, "--memor", 7) == 0,
          "short reason buffer: \"%.8s\"", why);
    for (size_t i = 8; i < sizeof(why); i++) {
        CHECK(why[i] == '#', "reason written past whylen (byte %zu)", i);
    }
}

/* A value each option accepts (by its first spelling). */
static const char *sample_value(const char *name)
{
    static const struct {
        const char *name, *value;
    } v[] = {
        {"--memory", "64M"},
        {"--cpus", "2"},
        {"--mem-backend", "anon"},
        {"--mem-path", "/dev/hugepages"},
        {"--serial", "none"},
        {"-display", "none"},
        {"-device", "isa-debug-exit,iobase=0xf4"},
        {"-accel", "kvm"},
        {"--timeout", "5"},
        {"--cpuid", "host"},
        {"--hugepage-size", "2M"},
        {"--console", "virtio"},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (strcmp(name, v[i].name) == 0) {
            return v[i].value;
        }
    }
    return "x";
}

/* --disk PATH[,readonly][,serial=S][,cache=none|writeback], repeatable. */
static void test_disks(void)
{
    static const char *const bad[] = {
        ",readonly",
        "a.img,bogus",
        "a.img,cache=unsafe",
        "a.img,serial=123456789012345678901",
    };
    char why[256];
    struct run_opts o;
    struct args a;
    int r;

    memset(&a, 0, sizeof(a));
    args_add(&a, "--disk");
    args_add(&a, "/tmp/a.img,readonly,serial=abc,cache=none");
    args_add(&a, "--disk=b.img");
    args_add(&a, "--rng");
    r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
    CHECK(r == 0, "two disks: %d (%s)", r, why);
    if (r == 0) {
        CHECK(o.mc.nr_disks == 2 && o.mc.disks == o.disks, "%zu disks",
              o.mc.nr_disks);
        CHECK(strcmp(o.disks[0].path, "/tmp/a.img") == 0 &&
                  o.disks[0].readonly && o.disks[0].direct &&
                  o.disks[0].serial && strcmp(o.disks[0].serial, "abc") == 0 &&
                  o.disks[0].fd == -1,
              "disk 0: %s ro %d direct %d", o.disks[0].path,
              o.disks[0].readonly, o.disks[0].direct);
        CHECK(strcmp(o.disks[1].path, "b.img") == 0 && !o.disks[1].readonly &&
                  !o.disks[1].direct && !o.disks[1].serial,
              "disk 1: %s", o.disks[1].path);
        CHECK(o.mc.virtio_rng, "--rng");
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&a, 0, sizeof(a));
        args_add(&a, "--disk");
        args_add(&a, bad[i]);
        why[0] = '\0';
        r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
        CHECK(r == -EINVAL && strncmp(why, "--disk", 6) == 0 &&
                  !strchr(why, '\n'),
              "--disk %s: %d (%s)", bad[i], r, why);
    }
    memset(&a, 0, sizeof(a));
    for (int i = 0; i <= CLI_MAX_DISKS; i++) {
        args_add(&a, "--disk");
        args_add(&a, "d.img");
    }
    r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
    CHECK(r == -EINVAL && strstr(why, "at most"), "%d disks: %d (%s)",
          CLI_MAX_DISKS + 1, r, why);
}

/* --share DIR[,tag=T][,rw|ro], repeatable; the last of rw/ro counts. */
static void test_shares(void)
{
    static const char *const bad[] = {
        ",tag=x",
        "/srv,rw=1",
        "/srv,readwrite",
        "/srv,tag=",
        "/srv,tag=123456789012345678901234567890123",
        "/srv,bogus",
    };
    char why[256];
    struct run_opts o;
    struct args a;
    int r;

    memset(&a, 0, sizeof(a));
    args_add(&a, "--share");
    args_add(&a, "/,tag=root,ro");
    args_add(&a, "--share=/srv,rw");
    args_add(&a, "--share=/tmp,rw,ro");
    r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
    CHECK(r == 0, "three shares: %d (%s)", r, why);
    if (r == 0) {
        CHECK(o.mc.nr_shares == 3 && o.mc.shares == o.shares &&
                  strcmp(o.shares[0].path, "/") == 0 &&
                  strcmp(o.shares[0].tag, "root") == 0 &&
                  !o.shares[0].writable &&
                  strcmp(o.shares[1].path, "/srv") == 0 &&
                  strcmp(o.shares[1].tag, "share1") == 0 &&
                  o.shares[1].writable && !o.shares[2].writable,
              "shares: %zu", o.mc.nr_shares);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&a, 0, sizeof(a));
        args_add(&a, "--share");
        args_add(&a, bad[i]);
        why[0] = '\0';
        r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
        CHECK(r == -EINVAL && strncmp(why, "--share", 7) == 0 &&
                  !strchr(why, '\n'),
              "--share %s: %d (%s)", bad[i], r, why);
    }
    memset(&a, 0, sizeof(a));
    for (int i = 0; i <= CLI_MAX_SHARES; i++) {
        args_add(&a, "--share");
        args_add(&a, "/srv");
    }
    r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
    CHECK(r == -EINVAL && strstr(why, "at most"), "%d shares: %d (%s)",
          CLI_MAX_SHARES + 1, r, why);
}

/* Every run option against every guest kind: refused, with one line that
 * names the option, exactly where its table entry says it does not apply;
 * and every entry says where it applies. */
/* -- CMD: the words after it, and what it needs and excludes. */
static void test_command(void)
{
    static const struct {
        const char *args[12];
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{"--kernel", "k", "--", "uname", "-r"}, NULL},
        {{"--kernel", "k", "--modules", "/m", "--", "sh", "-c", "exit 7"},
         NULL},
        {{"--kernel", "k", "--share", "/srv", "--", "ls"}, NULL},
        {{"--", "uname"}, "-- uname: needs --kernel"},
        {{"--kernel", "k", "--modules", "/m"}, "--modules: only with -- CMD"},
        {{"--kernel", "k", "--save-initrd", "f"},
         "--save-initrd: only with -- CMD"},
        {{"--kernel", "k", "--initrd", "i", "--", "ls"}, "--initrd: not with"},
        {{"--kernel", "k", "--console", "virtio", "--", "ls"},
         "--console virtio: not with"},
        {{"--kernel", "k", "--share", "/a", "--share", "/b", "--share", "/c",
          "--share", "/d", "--", "ls"},
         "--share: at most 3"},
        {{"--kernel", "k", "stray", "--", "ls"}, "stray"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct args a = {0};
        struct run_opts o;
        char why[256] = "";
        int r;

        for (size_t j = 0; j < 12 && cases[i].args[j]; j++) {
            args_add(&a, cases[i].args[j]);
        }
        r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
        if (!cases[i].why) {
            CHECK(r == 0, "case %zu: %d (%s)", i, r, why);
            continue;
        }
        CHECK(r == -EINVAL && strstr(why, cases[i].why),
              "case %zu: %d (%s), want \"%s\"", i, r, why, cases[i].why);
    }
    {
        struct args a = {0};
        struct run_opts o;
        char why[256] = "";

        args_add(&a, "--kernel");
        args_add(&a, "k");
        args_add(&a, "--");
        args_add(&a, "sh");
        args_add(&a, "-c");
        args_add(&a, "--kernel x");
        CHECK(cli_parse_run(a.argc, a.argv, &o, why, sizeof(why)) == 0 &&
                  o.nr_command == 3 && strcmp(o.command[0], "sh") == 0 &&
                  strcmp(o.command[2], "--kernel x") == 0 &&
                  strcmp(o.kernel, "k") == 0,
              "the words after -- are the command's: %s", why);
    }
}

static void test_guest_kinds(void)
{
    static const struct {
        enum boot_format fmt;
        unsigned bit;
    } kinds[] = {
        {BOOT_FORMAT_TEST_GUEST, GUEST_TEST},
        {BOOT_FORMAT_BZIMAGE, GUEST_BZIMAGE},
        {BOOT_FORMAT_PVH, GUEST_PVH},
        {BOOT_FORMAT_MULTIBOOT, GUEST_MULTIBOOT},
    };
    size_t pairs = 0;

    for (size_t i = 0; i < cli_run_cmd.nr; i++) {
        const struct opt *opt = &cli_run_cmd.opts[i];
        char name[64], why[256];
        struct run_opts o;
        struct args a;
        int r;

        snprintf(name, sizeof(name), "%.*s", (int)strcspn(opt->names, "|"),
                 opt->names);
        CHECK(opt->scope != 0 && (opt->scope & ~GUEST_ANY) == 0,
              "%s: its table entry does not say where it applies", name);
        memset(&a, 0, sizeof(a));
        args_add(&a, name);
        if (opt->arg) {
            args_add(&a, sample_value(name));
        }
        if (strcmp(name, "--mem-path") == 0 ||
            strcmp(name, "--hugepage-size") == 0) {
            args_add(&a, "--mem-backend");
            args_add(&a, strcmp(name, "--mem-path") ? "memfd" : "hugetlbfs");
        }
        if (strcmp(name, "--modules") == 0 ||
            strcmp(name, "--save-initrd") == 0) {
            args_add(&a, "--kernel");
            args_add(&a, "bzImage");
            args_add(&a, "--");
            args_add(&a, "true");
        }
        r = cli_parse_run(a.argc, a.argv, &o, why, sizeof(why));
        CHECK(r == 0, "%s: %d (%s)", name, r, why);
        if (r != 0) {
            continue;
        }
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            bool applies = opt->scope & kinds[k].bit;

            why[0] = '\0';
            r = cli_check_guest_kind(&o, kinds[k].fmt, why, sizeof(why));
            pairs++;
            CHECK(applies ? r == 0 : r == -EINVAL,
                  "%s on kind %u: %d (%s), scope 0x%x", name, kinds[k].bit, r,
                  why, opt->scope);
            CHECK(applies || (strncmp(why, name, strlen(name)) == 0 &&
                              strchr(why, '\n') == NULL),
                  "%s on kind %u: the reason \"%s\" does not start with it",
                  name, kinds[k].bit, why);
        }
    }
    CHECK(pairs == 4 * cli_run_cmd.nr, "%zu pairs checked", pairs);
    /* The commands: an initrd or a command line for a test guest. */
    {
        struct args a = {0};
        struct run_opts o;
        char why[256];

        args_add(&a, "--initrd");
        args_add(&a, "big.img");
        args_add(&a, "--cmdline");
        args_add(&a, "x");
        CHECK(cli_parse_run(a.argc, a.argv, &o, why, sizeof(why)) == 0, "%s",
              why);
        CHECK(cli_check_guest_kind(&o, BOOT_FORMAT_TEST_GUEST, why,
                                   sizeof(why)) == -EINVAL &&
                  strstr(why, "--initrd: a test guest does not take it"),
              "test guest with --initrd: %s", why);
        CHECK(cli_check_guest_kind(&o, BOOT_FORMAT_BZIMAGE, why, sizeof(why)) ==
                  0,
              "bzImage with --initrd and --cmdline: %s", why);
    }
}

int main(void)
{
    test_parse_size();
    test_parse_uint();
    test_run_defaults();
    test_run_options();
    test_run_combined();
    test_run_refused();
    test_run_short_why();
    test_guest_kinds();
    test_command();
    test_disks();
    test_shares();
    printf("test_cli: %zu size cases, %zu option cases, %zu refusals, %u "
           "known bugs, %u failures\n",
           sizeof(size_cases) / sizeof(size_cases[0]),
           sizeof(opt_cases) / sizeof(opt_cases[0]),
           sizeof(bad_cases) / sizeof(bad_cases[0]) +
               2 * sizeof(value_opts) / sizeof(value_opts[0]),
           known_bugs, unit_failures);
    return unit_failures ? 1 : 0;
}
