/* SPDX-License-Identifier: MIT */
/*
 * `vmm bench virtio-blk` (see bench_virtio_blk.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_virtio_blk.h"
#include "machine.h"
#include "util/cli.h"
#include "util/file.h"

#define MIB (1ull << 20)
#define FILE_MAX (512 * MIB)
#define RUN_TIMEOUT_S 600

enum { O_KERNEL, O_INITRD, O_SIZE, O_SECONDS, O_QEMU, O_AIO, O_JSON };

static const struct opt vblk_opts[] = {
    {"--kernel", "FILE", "the guest's bzImage (with virtio_blk)", NULL,
     O_KERNEL, 0},
    {"--initrd", "FILE",
     "an initramfs that runs blkbench (see "
     "scripts/bench-virtio-blk)",
     NULL, O_INITRD, 0},
    {"--size", "MIB", "span written, read and randomly read", "64", O_SIZE, 0},
    {"--seconds", "N", "length of each random-read run", "2", O_SECONDS, 0},
    {"--qemu", "PATH|none", "the QEMU to compare with",
     "qemu-system-x86_64 from PATH", O_QEMU, 0},
    {"--aio", "io_uring|threads",
     "how both VMMs reach the image (QEMU's -drive aio=)", "io_uring", O_AIO,
     0},
    {"--json", NULL, "one JSON object instead of a table", NULL, O_JSON, 0},
};

const struct opt_cmd bench_vblk_cmd = {
    .name = "vmm bench virtio-blk",
    .usage = "--kernel BZIMAGE --initrd INITRD [options]",
    .about = "A guest's sequential 1 MiB writes and reads and 4 KiB random "
             "reads at queue\ndepth 1 and 32 on vmm's virtio-blk, and the "
             "same on QEMU's (-M microvm,\n-accel kvm) with the same image, "
             "as ratios. scripts/bench-virtio-blk builds\nthe initramfs and "
             "runs it.",
    .opts = vblk_opts,
    .nr = sizeof(vblk_opts) / sizeof(vblk_opts[0]),
};

static int apply(void *ctx, const struct opt *opt, const char *name,
                 const char *v, char *why, size_t whylen)
{
    struct bench_vblk_opts *o = ctx;

    switch (opt->id) {
    case O_KERNEL:
        o->kernel = v;
        return 0;
    case O_INITRD:
        o->initrd = v;
        return 0;
    case O_SIZE:
    case O_SECONDS:
        if (cli_parse_uint(v, opt->id == O_SIZE ? 65536 : 3600,
                           opt->id == O_SIZE ? &o->mib : &o->seconds) < 0 ||
            (opt->id == O_SIZE ? o->mib : o->seconds) == 0) {
            snprintf(why, whylen, "%s %s: need a positive whole number", name,
                     v);
            return -EINVAL;
        }
        return 0;
    case O_QEMU:
        o->qemu = v;
        return 0;
    case O_AIO:
        if (strcmp(v, "io_uring") != 0 && strcmp(v, "threads") != 0) {
            snprintf(why, whylen, "%s %s: io_uring or threads", name, v);
            return -EINVAL;
        }
        o->aio = v;
        return 0;
    default:
        o->json = true;
        return 0;
    }
}

int bench_vblk_parse(int argc, char **argv, struct bench_vblk_opts *o,
                     char *why, size_t whylen)
{
    int ret;

    memset(o, 0, sizeof(*o));
    o->mib = 64;
    o->seconds = 2;
    o->aio = "io_uring";
    ret = opt_parse(&bench_vblk_cmd, argc, argv, apply, o, NULL, why, whylen);
    if (ret == 0 && (!o->kernel || !o->initrd)) {
        snprintf(why, whylen,
                 "needs --kernel and --initrd (see "
                 "scripts/bench-virtio-blk)");
        ret = -EINVAL;
    }
    return ret;
}

/* The four figures of one VM. */
struct blk_figures {
    bool ok;
    double seq_write, seq_read, qd1, qd32;
};

static bool parse_line(const char *line, struct blk_figures *f)
{
    f->ok = sscanf(line,
                   "BLKBENCH {\"seq_write_mb_s\":%lf,\"seq_read_mb_s\":%lf,"
                   "\"rand_read_qd1_iops\":%lf,\"rand_read_qd32_iops\":%lf}",
                   &f->seq_write, &f->seq_read, &f->qd1, &f->qd32) == 4;
    return f->ok;
}

/* machine_config.on_line: keep the BLKBENCH line, end the VM there. */
static bool on_line(void *opaque, const char *line, size_t len)
{
    struct blk_figures *f = opaque;
    char buf[512];

    if (len < 9 || strncmp(line, "BLKBENCH", 8) != 0) {
        return false;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
    if (!parse_line(buf, f)) {
        fprintf(stderr, "vmm bench virtio-blk: the guest said: %s\n", buf);
    }
    return true;
}

static int run_vmm(const struct bench_vblk_opts *o, const char *img, int fd,
                   const char *cmdline, uint64_t t0, struct blk_figures *f)
{
    struct machine_disk disk = {.path = img,
                                .fd = fd,
                                .size = (o->mib + 1) * MIB,
                                .aio = strcmp(o->aio, "threads") == 0
                                           ? MACHINE_DISK_AIO_THREADS
                                           : MACHINE_DISK_AIO_IO_URING};
    struct boot_module mod;
    struct machine_config mc;
    struct machine_result res;
    void *kernel = NULL, *initrd = NULL;
    size_t ksize = 0, isize = 0;
    char why[256];
    int ret;

    ret = file_read_all(o->kernel, FILE_MAX, &kernel, &ksize, why, sizeof(why));
    if (ret == 0) {
        ret = file_read_all(o->initrd, FILE_MAX, &initrd, &isize, why,
                            sizeof(why));
    }
    if (ret < 0) {
        fprintf(stderr, "vmm bench virtio-blk: %s\n", why);
        free(kernel);
        return ret;
    }
    memset(&mod, 0, sizeof(mod));
    mod.data = initrd;
    mod.size = isize;
    mod.name = o->initrd;
    memset(&mc, 0, sizeof(mc));
    mc.image = kernel;
    mc.image_size = ksize;
    mc.image_name = o->kernel;
    mc.mem_size = 256 * MIB;
    mc.cpus = 1;
    mc.kvm_device = "/dev/kvm";
    mc.cmdline = cmdline;
    mc.initrd = o->initrd;
    mc.modules = &mod;
    mc.nr_modules = 1;
    mc.serial = "none";
    mc.no_stdin = true;
    mc.timeout_s = RUN_TIMEOUT_S;
    mc.on_line = on_line;
    mc.line_opaque = f;
    mc.on_line_reason = "benchmark done";
    mc.disks = &disk;
    mc.nr_disks = 1;
    ret = machine_run(&mc, t0, &res, why, sizeof(why));
    free(kernel);
    free(initrd);
    if (ret < 0) {
        fprintf(stderr, "vmm bench virtio-blk: %s\n", why);
        return ret;
    }
    if (!f->ok) {
        fprintf(stderr,
                "vmm bench virtio-blk: vmm's guest gave no figures "
                "(%s)\n",
                res.reason);
        return -EIO;
    }
    return 0;
}

/* QEMU's child: the console on (out_fd), the rest to /dev/null. */
static void exec_qemu(const struct bench_vblk_opts *o, const char *img,
                      const char *cmdline, int out_fd)
{
    char drive[4200];
    int null = open("/dev/null", O_RDWR);

    snprintf(drive, sizeof(drive),
             "id=d0,file=%s,format=raw,if=none,cache=writeback,aio=%s", img,
             o->aio);
    dup2(out_fd, STDOUT_FILENO);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDERR_FILENO);
    }
    execlp(o->qemu, o->qemu, "-M", "microvm,acpi=on", "-accel", "kvm", "-cpu",
           "host", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
           "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel",
           o->kernel, "-initrd", o->initrd, "-append", cmdline, "-drive", drive,
           "-device", "virtio-blk-device,drive=d0", (char *)NULL);
    _exit(127);
}

static int run_qemu(const struct bench_vblk_opts *o, const char *img,
                    const char *cmdline, struct blk_figures *f)
{
    int p[2], status = 0;
    pid_t pid;
    FILE *in;
    char line[512];
    time_t end = time(NULL) + RUN_TIMEOUT_S;

    if (pipe2(p, O_CLOEXEC) < 0) {
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -errno;
    }
    if (pid == 0) {
        exec_qemu(o, img, cmdline, p[1]);
    }
    close(p[1]);
    in = fdopen(p[0], "r");
    while (in && time(NULL) < end) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};

        if (poll(&pfd, 1, 1000) <= 0) {
            continue;
        }
        if (!fgets(line, sizeof(line), in)) {
            break;
        }
        if (strncmp(line, "BLKBENCH", 8) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            if (!parse_line(line, f)) {
                fprintf(stderr, "vmm bench virtio-blk: QEMU's guest said: %s\n",
                        line);
            }
            break;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (in) {
        fclose(in);
    } else {
        close(p[0]);
    }
    if (!f->ok) {
        fprintf(stderr, "vmm bench virtio-blk: QEMU (%s) gave no figures%s\n",
                o->qemu,
                WIFEXITED(status) && WEXITSTATUS(status) == 127
                    ? ": it could not be started"
                    : "");
        return -EIO;
    }
    return 0;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void report(FILE *out, bool json, const struct bench_vblk_opts *o,
                   const struct blk_figures *v, const struct blk_figures *q)
{
    static const char *const names[] = {"seq_write_mb_s", "seq_read_mb_s",
                                        "rand_read_qd1_iops",
                                        "rand_read_qd32_iops"};
    const double vv[] = {v->seq_write, v->seq_read, v->qd1, v->qd32};
    const double qq[] = {q->seq_write, q->seq_read, q->qd1, q->qd32};

    if (json) {
        fprintf(out,
                "{\"benchmark\":\"virtio-blk\",\"span_mib\":%llu,"
                "\"seconds\":%llu,\"aio\":\"%s\",\"vmm\":{",
                (unsigned long long)o->mib, (unsigned long long)o->seconds,
                o->aio);
        for (int i = 0; i < 4; i++) {
            fprintf(out, "%s\"%s\":%.1f", i ? "," : "", names[i], vv[i]);
        }
        fputs("},\"qemu\":", out);
        if (q->ok) {
            fputc('{', out);
            for (int i = 0; i < 4; i++) {
                fprintf(out, "%s\"%s\":%.1f", i ? "," : "", names[i], qq[i]);
            }
            fputs("},\"ratio_vmm_to_qemu\":{", out);
            for (int i = 0; i < 4; i++) {
                fprintf(out, "%s\"%s\":%.3f", i ? "," : "", names[i],
                        ratio(vv[i], qq[i]));
            }
            fputs("}}\n", out);
        } else {
            fputs("null,\"ratio_vmm_to_qemu\":null}\n", out);
        }
        return;
    }
    fprintf(out, "aio=%-18s %12s %12s %8s\n", o->aio, "vmm", "qemu", "ratio");
    for (int i = 0; i < 4; i++) {
        if (q->ok) {
            fprintf(out, "%-22s %12.1f %12.1f %8.3f\n", names[i], vv[i], qq[i],
                    ratio(vv[i], qq[i]));
        } else {
            fprintf(out, "%-22s %12.1f %12s %8s\n", names[i], vv[i], "-", "-");
        }
    }
}

int bench_virtio_blk(const struct bench_vblk_opts *o_in, uint64_t t0, FILE *out)
{
    struct bench_vblk_opts o = *o_in;
    struct blk_figures v = {0}, q = {0};
    const char *tmp = getenv("TMPDIR");
    char img[4096], cmdline[128];
    int fd, ret;

    if (!o.qemu) {
        o.qemu = "qemu-system-x86_64";
    }
    snprintf(img, sizeof(img), "%s/vmm-bench-blk.XXXXXX", tmp ? tmp : "/tmp");
    fd = mkstemp(img);
    if (fd < 0) {
        fprintf(stderr, "vmm bench virtio-blk: %s: %s\n", img, strerror(errno));
        return -errno;
    }
    /* One MiB more than the span: the guest's reads stay inside. The
     * blocks are allocated up front, so that the first VM's writes do not
     * pay for allocation that the second one's would not. */
    ret = posix_fallocate(fd, 0, (off_t)((o.mib + 1) * MIB));
    if (ret != 0) {
        errno = ret;
        ret = -ret;
        fprintf(stderr, "vmm bench virtio-blk: %s: %s\n", img, strerror(errno));
        close(fd);
        unlink(img);
        return ret;
    }
    snprintf(cmdline, sizeof(cmdline),
             "console=ttyS0 quiet panic=-1 blkbench=%llu,%llu",
             (unsigned long long)o.mib, (unsigned long long)o.seconds);
    ret = run_vmm(&o, img, fd, cmdline, t0, &v);
    if (ret == 0 && strcmp(o.qemu, "none") != 0) {
        ret = run_qemu(&o, img, cmdline, &q);
    }
    close(fd);
    unlink(img);
    if (ret == 0) {
        report(out, o.json, &o, &v, &q);
    }
    return ret;
}
