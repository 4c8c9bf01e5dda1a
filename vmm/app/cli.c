/* SPDX-License-Identifier: MIT */
/*
 * `vmm run`'s options (see cli.h): the table, and what each one sets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "devices/virtio_9p.h"

#define MIB (1ull << 20)

enum {
    O_KERNEL,
    O_INITRD,
    O_CMDLINE,
    O_MEMORY,
    O_CPUS,
    O_MEM_BACKEND,
    O_MEM_PATH,
    O_HUGEPAGE_SIZE,
    O_MEM_SHARE,
    O_MEM_PREALLOC,
    O_MEM_THP,
    O_SERIAL,
    O_NOGRAPHIC,
    O_DISPLAY,
    O_NO_REBOOT,
    O_DEVICE,
    O_ENABLE_KVM,
    O_ACCEL,
    O_EXPECT,
    O_TIMEOUT,
    O_KTAP,
    O_JUNIT,
    O_JSON,
    O_CPUID,
    O_KVM_DEVICE,
    O_SANDBOX,
    O_DISK,
    O_SHARE,
    O_RNG,
    O_VIRTIO_CMDLINE,
    O_CONSOLE,
    O_MODULES,
    O_SAVE_INITRD,
    O_DUMP_MTREE,
    O_DUMP_FLATVIEW,
    O_DUMP_SLOTS,
};

static const struct opt run_opts_table[] = {
    {"--kernel|-kernel", "FILE",
     "bzImage, PVH or multiboot ELF kernel, or an ELF test guest",
     "the embedded hello guest", O_KERNEL, GUEST_ANY},
    {"--initrd|-initrd", "FILE",
     "initrd (Linux); multiboot modules as \"file arg,file2\"", NULL, O_INITRD,
     GUEST_KERNELS},
    {"--cmdline|--append|-append", "TEXT", "kernel command line", NULL,
     O_CMDLINE, GUEST_KERNELS},
    {"--memory|-m", "SIZE",
     "guest RAM; a plain number is MiB, suffixes K M G T, bytes need B", "256M",
     O_MEMORY, GUEST_ANY},
    {"--cpus|-smp", "N", "vCPUs (QEMU's -smp cpus=N also)", "1", O_CPUS,
     GUEST_ANY},
    {"--mem-backend", "anon|memfd|hugetlbfs", "what backs guest RAM", "anon",
     O_MEM_BACKEND, GUEST_ANY},
    {"--mem-path", "DIR", "hugetlbfs directory (with --mem-backend hugetlbfs)",
     "the first hugetlbfs mount", O_MEM_PATH, GUEST_ANY},
    {"--hugepage-size", "2M|1G", "huge page size for memfd or hugetlbfs", NULL,
     O_HUGEPAGE_SIZE, GUEST_ANY},
    {"--mem-share", NULL, "map anonymous memory shared", NULL, O_MEM_SHARE,
     GUEST_ANY},
    {"--mem-prealloc", NULL, "touch all guest memory before the guest starts",
     NULL, O_MEM_PREALLOC, GUEST_ANY},
    {"--mem-thp", NULL,
     "insist on transparent huge pages (anonymous memory asks for them "
     "anyway)",
     NULL, O_MEM_THP, GUEST_ANY},
    {"--serial|-serial", "stdio|stderr|file:PATH|none",
     "where the serial console goes (with -- CMD: the kernel's console)",
     "stdio; stderr with -- CMD", O_SERIAL, GUEST_ANY},
    {"-nographic", NULL, "accepted: the console is always the serial port",
     NULL, O_NOGRAPHIC, GUEST_ANY},
    {"-display", "none", "accepted as none: there is no display", NULL,
     O_DISPLAY, GUEST_ANY},
    {"-no-reboot", NULL,
     "accepted: a guest reboot always ends the VM with 0 (QEMU without it "
     "restarts the guest)",
     NULL, O_NO_REBOOT, GUEST_ANY},
    {"-device", "isa-debug-exit[,iobase=0xf4][,iosize=N]",
     "accepted for the test device the PC board has at 0xf4", NULL, O_DEVICE,
     GUEST_KERNELS},
    {"-enable-kvm", NULL, "accepted: vmm always uses KVM", NULL, O_ENABLE_KVM,
     GUEST_ANY},
    {"-accel", "kvm", "accepted as kvm", NULL, O_ACCEL, GUEST_ANY},
    {"--expect", "REGEX", "end with 0 when a console line matches (POSIX ERE)",
     NULL, O_EXPECT, GUEST_ANY},
    {"--timeout", "SECONDS", "end with 124 when the time is up", "none",
     O_TIMEOUT, GUEST_ANY},
    {"--ktap", NULL,
     "read KTAP/TAP results from the console: end when the plan is "
     "complete, exit 0 only if every test passed or was skipped",
     NULL, O_KTAP, GUEST_ANY},
    {"--junit", "FILE", "write the KTAP results as JUnit XML (implies --ktap)",
     NULL, O_JUNIT, GUEST_ANY},
    {"--json", "FILE", "write a JSON report of the run", NULL, O_JSON,
     GUEST_ANY},
    {"--cpuid", "host|safe", "CPUID policy", "safe on PVM hosts, else host",
     O_CPUID, GUEST_ANY},
    {"--kvm-device", "PATH", "the KVM device", "/dev/kvm", O_KVM_DEVICE,
     GUEST_ANY},
    {"--sandbox", NULL, "seccomp allow-list once the guest runs", NULL,
     O_SANDBOX, GUEST_ANY},
    {"--disk",
     "PATH[,readonly][,serial=S][,cache=none|writeback][,aio=io_uring|threads]",
     "a raw image as a virtio-blk disk (/dev/vda, vdb, ... in order); "
     "repeatable",
     NULL, O_DISK, GUEST_KERNELS},
    {"--share", "DIR[,tag=T][,rw]",
     "a host directory over virtio-9p, read-only unless rw (mount -t 9p "
     "-o trans=virtio TAG /mnt); tags default to share0, share1, ...; "
     "repeatable",
     NULL, O_SHARE, GUEST_KERNELS},
    {"--rng", NULL, "a virtio-rng device (entropy from the host's getrandom)",
     NULL, O_RNG, GUEST_KERNELS},
    {"--virtio-cmdline", NULL,
     "declare the virtio devices on the kernel command line "
     "(virtio_mmio.device=) instead of in ACPI",
     NULL, O_VIRTIO_CMDLINE, GUEST_BZIMAGE | GUEST_PVH},
    {"--console", "serial|virtio",
     "the interactive console: the serial port, or virtio-console (hvc0, "
     "console=hvc0 added; the serial port's output still shows)",
     "serial", O_CONSOLE, GUEST_KERNELS},
    {"--modules", "DIR",
     "with -- CMD: the kernel's modules (a directory with modules.dep)",
     "/lib/modules/<the kernel's release>, or the build tree of "
     "arch/x86/boot/bzImage or vmlinux",
     O_MODULES, GUEST_BZIMAGE | GUEST_PVH},
    {"--save-initrd", "FILE",
     "with -- CMD: also write the initramfs vmm built to FILE (to boot it "
     "elsewhere)",
     NULL, O_SAVE_INITRD, GUEST_BZIMAGE | GUEST_PVH},
    {"--dump-mtree", NULL, "print the memory-region tree after setup", NULL,
     O_DUMP_MTREE, GUEST_ANY},
    {"--dump-flatview", NULL, "print the flat views after setup", NULL,
     O_DUMP_FLATVIEW, GUEST_ANY},
    {"--dump-slots", NULL, "print the KVM memory slots after setup and at exit",
     NULL, O_DUMP_SLOTS, GUEST_ANY},
};

/* Options given are bits of run_opts.given. */
_Static_assert(sizeof(run_opts_table) / sizeof(run_opts_table[0]) <= 64,
               "run_opts.given has 64 bits");

const struct opt_cmd cli_run_cmd = {
    .name = "vmm run",
    .usage = "[options] [-- CMD [ARGS...]]",
    .about = "Boot a guest: a Linux bzImage or PVH vmlinux, a multiboot "
             "kernel, or one of\n"
             "vmm's test guests. `vmm -kernel ...` (an option first, no "
             "command) means\n"
             "`vmm run`, so a QEMU command line works with the program name "
             "replaced.\n"
             "With -- CMD: boot the kernel into this machine's own "
             "userspace (/ shared\n"
             "read-only over 9P, tmpfs on /tmp, /run, /var/tmp and over "
             "/var), run CMD as you\n"
             "in this directory, its output on ours, and exit with its "
             "status.",
    .opts = run_opts_table,
    .nr = sizeof(run_opts_table) / sizeof(run_opts_table[0]),
    .more = "exit status: the guest's own (0-255) when it exits through the "
            "test device;\n"
            "0 on power-off, reboot, Ctrl-A x or an --expect match; 1 bad "
            "input or setup\n"
            "failure; 2 bad command line; 112 triple fault; 113 KVM internal "
            "error; 114 VM\n"
            "entry failure; 115 an exit vmm does not handle; 124 --timeout; "
            "129/130/143 ended\n"
            "by SIGHUP/SIGINT/SIGTERM. With --ktap: 0 when every test passed "
            "or was skipped,\n"
            "1 when one failed or the plan is incomplete (124 and 129-143 "
            "as above).\n"
            "With -- CMD: CMD's status (128+N when signal N killed it; 126 "
            "not executable,\n"
            "127 not found); 125 when the guest ended before CMD did.\n",
};

static int parse_backend(struct run_opts *o, const char *v, char *why,
                         size_t whylen)
{
    if (ram_backend_from_name(v, &o->mc.ram.backend) < 0) {
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

/* -smp N or QEMU's -smp cpus=N. */
static int parse_cpus(struct run_opts *o, const char *name, const char *v,
                      char *why, size_t whylen)
{
    const char *n = strncmp(v, "cpus=", 5) == 0 ? v + 5 : v;
    uint64_t cpus;

    if (cli_parse_uint(n, 4096, &cpus) < 0 || cpus == 0) {
        snprintf(why, whylen,
                 "%s %s: need a number of vCPUs from 1 to 4096 (topology "
                 "keys such as sockets= are not supported)",
                 name, v);
        return -EINVAL;
    }
    o->mc.cpus = (int)cpus;
    return 0;
}

/* -device: only the isa-debug-exit the PC board has (port 0xf4). */
static int parse_device(const char *name, const char *v, char *why,
                        size_t whylen)
{
    char buf[256];
    char *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", v);
    tok = strtok_r(buf, ",", &save);
    if (!tok || strcmp(tok, "isa-debug-exit") != 0) {
        snprintf(why, whylen,
                 "%s %s: not available (vmm has only isa-debug-exit at "
                 "iobase=0xf4)",
                 name, v);
        return -EINVAL;
    }
    while ((tok = strtok_r(NULL, ",", &save))) {
        char *val = strchr(tok, '=');
        unsigned long n;
        char *end;

        if (!val) {
            break;
        }
        *val++ = '\0';
        n = strtoul(val, &end, 0);
        if (*end || !*val) {
            break;
        }
        if (strcmp(tok, "iobase") == 0 && n == 0xf4) {
            continue;
        }
        if (strcmp(tok, "iosize") == 0 && (n == 1 || n == 2 || n == 4)) {
            continue;
        }
        snprintf(why, whylen,
                 "%s %s: %s=%s differs from vmm's isa-debug-exit (iobase=0xf4, "
                 "iosize 1, 2 or 4)",
                 name, v, tok, val);
        return -EINVAL;
    }
    if (tok) {
        snprintf(why, whylen, "%s %s: cannot read '%s' (expected key=value)",
                 name, v, tok);
        return -EINVAL;
    }
    if (!strstr(v, "iobase=")) {
        snprintf(why, whylen,
                 "%s %s: QEMU's default iobase is 0x501; vmm's device is at "
                 "0xf4 (add iobase=0xf4)",
                 name, v);
        return -EINVAL;
    }
    return 0;
}

/*
 * The head of a repeatable PATH[,FIELD]... option: entry (i) of at most
 * (max) (called (what) in the plural), (v) copied into bufs[i], its first
 * field (which must be there: (first_is) names it) in (*first) and
 * strtok_r()'s state for the rest in (*save). -EINVAL with one line in
 * (why) otherwise.
 */
static int list_arg_begin(const char *name, const char *v, size_t i, size_t max,
                          const char *what, const char *first_is,
                          char (*bufs)[CLI_DISK_ARG_MAX], char **first,
                          char **save, char *why, size_t whylen)
{
    if (i >= max) {
        snprintf(why, whylen, "%s %s: at most %zu %s", name, v, max, what);
        return -EINVAL;
    }
    if (strlen(v) >= CLI_DISK_ARG_MAX) {
        snprintf(why, whylen, "%s: longer than %d characters", name,
                 CLI_DISK_ARG_MAX - 1);
        return -EINVAL;
    }
    memcpy(bufs[i], v, strlen(v) + 1);
    *save = NULL;
    *first = strtok_r(bufs[i], ",", save);
    if (!*first || v[0] == ',') {
        snprintf(why, whylen, "%s %s: needs %s first", name, v, first_is);
        return -EINVAL;
    }
    return 0;
}

/* --disk PATH[,readonly][,serial=S][,cache=none|writeback]
 *        [,aio=io_uring|threads] */
static int parse_disk(struct run_opts *o, const char *name, const char *v,
                      char *why, size_t whylen)
{
    size_t i = o->mc.nr_disks;
    struct machine_disk *d;
    char *path, *save, *tok;
    int ret =
        list_arg_begin(name, v, i, CLI_MAX_DISKS, "disks", "the image's path",
                       o->disk_arg, &path, &save, why, whylen);

    if (ret < 0) {
        return ret;
    }
    d = &o->disks[i];
    memset(d, 0, sizeof(*d));
    d->fd = -1;
    d->path = path;
    while ((tok = strtok_r(NULL, ",", &save))) {
        if (strcmp(tok, "readonly") == 0 || strcmp(tok, "readonly=on") == 0) {
            d->readonly = true;
        } else if (strncmp(tok, "serial=", 7) == 0 && strlen(tok + 7) <= 20) {
            d->serial = tok + 7;
        } else if (strcmp(tok, "cache=none") == 0) {
            d->direct = true;
        } else if (strcmp(tok, "cache=writeback") == 0) {
            d->direct = false;
        } else if (strcmp(tok, "aio=io_uring") == 0) {
            d->aio = MACHINE_DISK_AIO_IO_URING;
        } else if (strcmp(tok, "aio=threads") == 0) {
            d->aio = MACHINE_DISK_AIO_THREADS;
        } else {
            snprintf(why, whylen,
                     "%s %s: unknown '%s' (readonly, serial=S of at most 20 "
                     "characters, cache=none or cache=writeback, aio=io_uring "
                     "or aio=threads)",
                     name, v, tok);
            return -EINVAL;
        }
    }
    o->mc.nr_disks = i + 1;
    o->mc.disks = o->disks;
    return 0;
}

/* --share DIR[,tag=T][,rw|ro] */
static int parse_share(struct run_opts *o, const char *name, const char *v,
                       char *why, size_t whylen)
{
    static const char *const tags[CLI_MAX_SHARES] = {"share0", "share1",
                                                     "share2", "share3"};
    size_t i = o->mc.nr_shares;
    struct machine_share *sh;
    char *path, *save, *tok;
    int ret =
        list_arg_begin(name, v, i, CLI_MAX_SHARES, "shares", "the directory",
                       o->share_arg, &path, &save, why, whylen);

    if (ret < 0) {
        return ret;
    }
    sh = &o->shares[i];
    sh->path = path;
    sh->tag = tags[i];
    sh->writable = false;
    while ((tok = strtok_r(NULL, ",", &save))) {
        if (strncmp(tok, "tag=", 4) == 0 && tok[4] &&
            strlen(tok + 4) <= VIRTIO_9P_TAG_MAX) {
            sh->tag = tok + 4;
        } else if (strcmp(tok, "ro") == 0 || strcmp(tok, "readonly") == 0) {
            sh->writable = false;
        } else if (strcmp(tok, "rw") == 0) {
            sh->writable = true;
        } else {
            snprintf(why, whylen,
                     "%s %s: unknown '%s' (tag=T of 1 to %d characters, rw, "
                     "ro)",
                     name, v, tok, VIRTIO_9P_TAG_MAX);
            return -EINVAL;
        }
    }
    o->mc.nr_shares = i + 1;
    o->mc.shares = o->shares;
    return 0;
}

/* Options of the memory room. */
static int apply_memory(struct run_opts *o, int id, const char *name,
                        const char *v, char *why, size_t whylen)
{
    int ret;

    switch (id) {
    case O_MEMORY:
        ret = cli_parse_mem_size(v, &o->mc.mem_size);
        if (ret < 0) {
            snprintf(why, whylen, "%s %s: %s", name, v,
                     ret == -ERANGE ? "too large"
                                    : "not a size (e.g. 512, 256M, 4G)");
            return -EINVAL;
        }
        return 0;
    case O_MEM_BACKEND:
        return parse_backend(o, v, why, whylen);
    case O_MEM_PATH:
        o->mc.ram.mem_path = v;
        return 0;
    case O_HUGEPAGE_SIZE:
        return parse_hugepage(o, v, why, whylen);
    case O_MEM_SHARE:
        o->mc.ram.shared = true;
        return 0;
    case O_MEM_PREALLOC:
        o->mc.ram.prealloc = true;
        return 0;
    case O_MEM_THP:
        o->mc.ram.thp = true;
        return 0;
    }
    return -ENOENT;
}

/* QEMU's spellings that name what vmm always does. */
static int apply_qemu(int id, const char *name, const char *v, char *why,
                      size_t whylen)
{
    switch (id) {
    case O_NOGRAPHIC:
    case O_NO_REBOOT:
    case O_ENABLE_KVM:
        return 0;
    case O_DISPLAY:
        if (strcmp(v, "none") != 0) {
            snprintf(why, whylen, "%s %s: vmm has no display (only none)", name,
                     v);
            return -EINVAL;
        }
        return 0;
    case O_ACCEL:
        if (strcmp(v, "kvm") != 0) {
            snprintf(why, whylen, "%s %s: vmm runs only on KVM (only kvm)",
                     name, v);
            return -EINVAL;
        }
        return 0;
    case O_DEVICE:
        return parse_device(name, v, why, whylen);
    }
    return -ENOENT;
}

/* What the guest boots and how the run ends. */
static int apply_boot(struct run_opts *o, int id, const char *name,
                      const char *v, char *why, size_t whylen)
{
    uint64_t n;

    switch (id) {
    case O_KERNEL:
        o->kernel = v;
        return 0;
    case O_INITRD:
        o->mc.initrd = v;
        return 0;
    case O_CMDLINE:
        o->mc.cmdline = v;
        return 0;
    case O_CPUS:
        return parse_cpus(o, name, v, why, whylen);
    case O_SERIAL:
        if (strcmp(v, "stdio") != 0 && strcmp(v, "none") != 0 &&
            (strncmp(v, "file:", 5) != 0 || !v[5])) {
            snprintf(why, whylen, "%s %s: expected stdio, file:PATH or none",
                     name, v);
            return -EINVAL;
        }
        o->mc.serial = v;
        return 0;
    case O_EXPECT:
        o->mc.expect = v;
        return 0;
    case O_KTAP:
        o->ktap = true;
        return 0;
    case O_JUNIT:
        o->ktap = true;
        o->junit = v;
        return 0;
    case O_TIMEOUT:
        if (cli_parse_uint(v, 1000000, &n) < 0 || n == 0) {
            snprintf(why, whylen, "%s %s: need whole seconds from 1 to 1000000",
                     name, v);
            return -EINVAL;
        }
        o->mc.timeout_s = (double)n;
        return 0;
    }
    return -ENOENT;
}

/* Reports, policies and the host side. */
static int apply_host(struct run_opts *o, int id, const char *name,
                      const char *v, char *why, size_t whylen)
{
    switch (id) {
    case O_JSON:
        o->json = v;
        return 0;
    case O_CPUID:
        if (strcmp(v, "host") == 0) {
            o->mc.cpuid = CPUID_POLICY_HOST;
        } else if (strcmp(v, "safe") == 0) {
            o->mc.cpuid = CPUID_POLICY_SAFE;
        } else {
            snprintf(why, whylen, "%s %s: expected host or safe", name, v);
            return -EINVAL;
        }
        return 0;
    case O_KVM_DEVICE:
        o->mc.kvm_device = v;
        return 0;
    case O_SANDBOX:
        o->mc.sandbox = true;
        return 0;
    case O_DISK:
        return parse_disk(o, name, v, why, whylen);
    case O_SHARE:
        return parse_share(o, name, v, why, whylen);
    case O_RNG:
        o->mc.virtio_rng = true;
        return 0;
    case O_VIRTIO_CMDLINE:
        o->mc.virtio_cmdline = true;
        return 0;
    case O_CONSOLE:
        if (strcmp(v, "serial") != 0 && strcmp(v, "virtio") != 0) {
            snprintf(why, whylen, "%s %s: expected serial or virtio", name, v);
            return -EINVAL;
        }
        o->mc.console_virtio = strcmp(v, "virtio") == 0;
        return 0;
    case O_MODULES:
        o->modules_dir = v;
        return 0;
    case O_SAVE_INITRD:
        o->save_initrd = v;
        return 0;
    case O_DUMP_MTREE:
        o->mc.dump_mtree = true;
        return 0;
    case O_DUMP_FLATVIEW:
        o->mc.dump_flatview = true;
        return 0;
    case O_DUMP_SLOTS:
        o->mc.dump_slots = true;
        return 0;
    }
    return -ENOENT;
}

static int apply_run(void *ctx, const struct opt *opt, const char *name,
                     const char *v, char *why, size_t whylen)
{
    struct run_opts *o = ctx;
    int ret = apply_memory(o, opt->id, name, v, why, whylen);

    o->given |= 1ull << (opt - run_opts_table);
    if (ret == -ENOENT) {
        ret = apply_qemu(opt->id, name, v, why, whylen);
    }
    if (ret == -ENOENT) {
        ret = apply_boot(o, opt->id, name, v, why, whylen);
    }
    if (ret == -ENOENT) {
        ret = apply_host(o, opt->id, name, v, why, whylen);
    }
    return ret == -ENOENT ? -EINVAL : ret;
}

/* What `-- CMD` needs and excludes. */
static int check_command(const struct run_opts *o, char *why, size_t whylen)
{
    if (!o->nr_command) {
        if (o->modules_dir || o->save_initrd) {
            snprintf(why, whylen, "%s: only with -- CMD",
                     o->modules_dir ? "--modules" : "--save-initrd");
            return -EINVAL;
        }
        return 0;
    }
    if (!o->kernel) {
        snprintf(why, whylen,
                 "-- %s: needs --kernel (a bzImage or PVH vmlinux)",
                 o->command[0]);
        return -EINVAL;
    }
    if (o->mc.initrd) {
        snprintf(why, whylen,
                 "--initrd: not with -- CMD (vmm builds that initramfs)");
        return -EINVAL;
    }
    if (o->mc.console_virtio) {
        snprintf(why, whylen,
                 "--console virtio: not with -- CMD (its output is on "
                 "virtio-consoles already)");
        return -EINVAL;
    }
    if (o->mc.nr_shares >= CLI_MAX_SHARES) {
        snprintf(why, whylen,
                 "--share: at most %d with -- CMD (the root takes one)",
                 CLI_MAX_SHARES - 1);
        return -EINVAL;
    }
    return 0;
}

static int check_run(const struct run_opts *o, char *why, size_t whylen)
{
    const struct ram_block_opts *r = &o->mc.ram;
    int ret = check_command(o, why, whylen);

    if (ret < 0) {
        return ret;
    }

    if (o->mc.mem_size == 0) {
        snprintf(why, whylen, "--memory 0: guest memory must not be empty");
        return -EINVAL;
    }
    if (o->mc.mem_size % 4096) {
        snprintf(why, whylen,
                 "--memory %llu bytes: not a multiple of the 4 KiB page size",
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

int cli_parse_run(int argc, char **argv, struct run_opts *o, char *why,
                  size_t whylen)
{
    struct run_opts tmp;
    int rest = argc;
    int ret;

    memset(&tmp, 0, sizeof(tmp));
    tmp.mc.mem_size = 256 * MIB;
    tmp.mc.cpus = 1;
    tmp.mc.kvm_device = "/dev/kvm";
    ret = opt_parse(&cli_run_cmd, argc, argv, apply_run, &tmp, &rest, why,
                    whylen);
    if (ret == 0 && rest < argc) {
        tmp.command = argv + rest;
        tmp.nr_command = (size_t)(argc - rest);
    }
    if (ret == 0) {
        ret = check_run(&tmp, why, whylen);
    }
    if (ret < 0) {
        if (whylen) {
            cli_one_line(why);
        }
        return ret;
    }
    if (ret == 0) {
        *o = tmp;
        /* The disks' strings live in (o) now. */
        for (size_t i = 0; i < o->mc.nr_disks; i++) {
            struct machine_disk *d = &o->disks[i];

            d->path = o->disk_arg[i] + (d->path - tmp.disk_arg[i]);
            if (d->serial) {
                d->serial = o->disk_arg[i] + (d->serial - tmp.disk_arg[i]);
            }
        }
        o->mc.disks = o->mc.nr_disks ? o->disks : NULL;
        /* So do the shares' (a default tag is a constant string). */
        for (size_t i = 0; i < o->mc.nr_shares; i++) {
            struct machine_share *sh = &o->shares[i];
            const char *a = tmp.share_arg[i];

            sh->path = o->share_arg[i] + (sh->path - a);
            if (sh->tag >= a && sh->tag < a + CLI_DISK_ARG_MAX) {
                sh->tag = o->share_arg[i] + (sh->tag - a);
            }
        }
        o->mc.shares = o->mc.nr_shares ? o->shares : NULL;
    }
    return ret;
}

static const char *kind_name(unsigned bit)
{
    switch (bit) {
    case GUEST_TEST:
        return "a test guest";
    case GUEST_BZIMAGE:
        return "a bzImage";
    case GUEST_PVH:
        return "a PVH kernel";
    default:
        return "a multiboot kernel";
    }
}

/* "bzImage, PVH and multiboot kernels" for the bits of (scope). */
static void scope_names(unsigned scope, char *buf, size_t len)
{
    if ((scope & GUEST_KERNELS) == GUEST_KERNELS) {
        snprintf(buf, len, "kernels (bzImage, PVH, multiboot)");
        return;
    }
    buf[0] = '\0';
    for (unsigned bit = 1; bit <= GUEST_MULTIBOOT; bit <<= 1) {
        if (scope & bit) {
            size_t n = strlen(buf);

            snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
                     kind_name(bit) + 2);
        }
    }
}

int cli_check_guest_kind(const struct run_opts *o, enum boot_format fmt,
                         char *why, size_t whylen)
{
    unsigned kind = fmt == BOOT_FORMAT_TEST_GUEST ? GUEST_TEST
                    : fmt == BOOT_FORMAT_BZIMAGE  ? GUEST_BZIMAGE
                    : fmt == BOOT_FORMAT_PVH      ? GUEST_PVH
                                                  : GUEST_MULTIBOOT;

    for (size_t i = 0; i < cli_run_cmd.nr; i++) {
        const struct opt *opt = &cli_run_cmd.opts[i];
        char names[96];

        if (!(o->given & (1ull << i)) || (opt->scope & kind)) {
            continue;
        }
        scope_names(opt->scope, names, sizeof(names));
        snprintf(why, whylen, "%.*s: %s does not take it (only %s do)",
                 (int)strcspn(opt->names, "|"), opt->names, kind_name(kind),
                 names);
        return -EINVAL;
    }
    return 0;
}
