/* SPDX-License-Identifier: MIT */
/*
 * vmm: the command line. The only place that exits.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "bench.h"
#include "bench_dirty.h"
#include "bench_virtio_blk.h"
#include "cli.h"
#include "cpuid.h"
#include "guest_embed.h"
#include "kvm.h"
#include "loader_multiboot.h"
#include "machine.h"
#include "run_command.h"
#include "sandbox.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/json.h"
#include "util/junit.h"
#include "util/ktap.h"
#include "vmm_version.h"

/* Images larger than this are refused rather than read. */
#define MAX_IMAGE_SIZE (1ull << 30)

static void usage(FILE *f)
{
    fputs("usage: vmm COMMAND [options]   (vmm COMMAND --help: its options "
          "and defaults)\n"
          "       vmm -kernel FILE ...     an option first means `vmm run` "
          "(QEMU spellings)\n"
          "\n"
          "commands:\n"
          "  run                 boot a guest: a Linux bzImage or vmlinux, "
          "a multiboot\n"
          "                      kernel or a test guest (default: the "
          "embedded hello guest)\n"
          "  info                what this host's KVM offers\n"
          "  bench memory        region tree render and lookup times\n"
          "  bench mmio          MMIO exit rate through the memory API vs a "
          "bare switch\n"
          "  bench soak          many VMs in a row: time per VM, memory "
          "growth\n"
          "  bench dirty-log     dirty-page logging (bitmap, clear, ring) vs "
          "a raw harvester\n"
          "\n"
          "options:\n"
          "  --version           print the version\n"
          "  -h, --help          this text\n",
          f);
}

/* The seccomp filter is in force: exit without exit handlers. */
static bool sandboxed;

/* SIGINT, SIGTERM or SIGHUP during `vmm run`: the machine's main loop ends
 * the VM (machine_config.stop_signal) and the report is still written. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void catch_stop_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
}

/* One line on stderr, whatever the message quotes. */
static void fail_line(char *why)
{
    cli_one_line(why);
    fprintf(stderr, "vmm: %s\n", why);
}

/* The --initrd files, read. */
struct modules {
    struct loader_multiboot_module_spec *spec;
    struct boot_module *mods;
    size_t nr;
};

static void modules_free(struct modules *mo)
{
    size_t i;

    for (i = 0; mo->mods && i < mo->nr; i++) {
        free((void *)(uintptr_t)mo->mods[i].data);
    }
    free(mo->mods);
    free(mo->spec);
    memset(mo, 0, sizeof(*mo));
}

/*
 * Read every file of an --initrd spec (QEMU's "file arg,file2" syntax; a
 * plain path is one module).
 */
static int modules_read(const char *spec, struct modules *mo, char *why,
                        size_t whylen)
{
    size_t i;
    int ret;

    memset(mo, 0, sizeof(*mo));
    ret = loader_multiboot_parse_modules(spec, &mo->spec, &mo->nr, why, whylen);
    if (ret < 0) {
        return ret;
    }
    mo->mods = calloc(mo->nr ? mo->nr : 1, sizeof(*mo->mods));
    if (!mo->mods) {
        snprintf(why, whylen, "--initrd: out of memory");
        modules_free(mo);
        return -ENOMEM;
    }
    for (i = 0; i < mo->nr; i++) {
        void *data;
        size_t size;

        ret = file_read_all(mo->spec[i].path, MAX_IMAGE_SIZE, &data, &size, why,
                            whylen);
        if (ret < 0) {
            modules_free(mo);
            return ret;
        }
        mo->mods[i].data = data;
        mo->mods[i].size = size;
        mo->mods[i].cmdline = mo->spec[i].cmdline;
        mo->mods[i].name = mo->spec[i].path;
    }
    return 0;
}

static void prealloc_progress(void *opaque, uint64_t done, uint64_t total)
{
    (void)opaque;
    if (total <= (1ull << 30)) {
        return;
    }
    fprintf(stderr,
            "\rvmm: preallocating guest memory: %" PRIu64 " of %" PRIu64 " MiB",
            done >> 20, total >> 20);
    if (done == total) {
        fputc('\n', stderr);
    }
}

static void json_ms(FILE *f, const char *key, double ms, bool comma)
{
    if (ms < 0) {
        fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
    } else {
        fprintf(f, "\"%s\":%.3f%s", key, ms, comma ? "," : "");
    }
}

/* (b - a) when both happened, else -1. */
static double ms_between(double a, double b)
{
    return a >= 0 && b >= 0 ? b - a : -1;
}

/* -- CMD's part of the report: the command, how it ended, when. */
static void write_command_json(FILE *f, const struct machine_result *r,
                               char *const *argv, size_t argc)
{
    const struct machine_command_result *c = &r->command;

    fputs("\"command\":{\"argv\":[", f);
    for (size_t i = 0; i < argc; i++) {
        if (i) {
            fputc(',', f);
        }
        json_write_string(f, argv[i]);
    }
    fputs("],", f);
    if (c->ended && c->status >= 0) {
        fprintf(f, "\"status\":%d,\"signal\":null,", c->status);
    } else if (c->ended) {
        fprintf(f, "\"status\":%d,\"signal\":%d,", 128 - c->status, -c->status);
    } else {
        fputs("\"status\":null,\"signal\":null,", f);
    }
    fprintf(f, "\"init_failed\":%s,", c->failed ? "true" : "false");
    json_ms(f, "init_ms", c->phase_ms[1], true);
    json_ms(f, "mounted_ms", c->phase_ms[2], true);
    json_ms(f, "start_ms", c->phase_ms[3], true);
    json_ms(f, "end_ms", c->ended ? c->end_ms : -1, false);
    fputs("},", f);
}

/* Write the report to (f), which is closed. (argv, argc): -- CMD's, or
 * none. */
static int write_run_json(FILE *f, const char *path,
                          const struct machine_result *r,
                          const struct ktap *ktap, char *const *argv,
                          size_t argc, char *why, size_t whylen)
{
    static const char *const outcome[] = {
        [MACHINE_EXITED] = "exited",
        [MACHINE_MATCHED] = "matched",
        [MACHINE_TIMEOUT] = "timeout",
        [MACHINE_INTERRUPTED] = "interrupted",
    };
    fprintf(f, "{\"result\":\"%s\",\"exit_code\":%d,\"reason\":",
            outcome[r->outcome], r->exit_code);
    json_write_string(f, r->reason);
    fputs(",\"matched_line\":", f);
    if (r->outcome == MACHINE_MATCHED) {
        json_write_string(f, r->matched_line);
    } else {
        fputs("null", f);
    }
    fputc(',', f);
    json_ms(f, "elapsed_ms", r->elapsed_ms, true);
    fputs("\"phases\":{", f);
    /* The first KVM_RUN: when the guest's first instruction could run. */
    json_ms(f, "first_kvm_run_ms", r->start_to_first_run_ms, true);
    json_ms(f, "first_console_byte_ms", r->first_serial_output_ms, true);
    if (argc) {
        const struct machine_command_result *c = &r->command;

        /* Boot: to the init's first word; mount: the modules and the
         * shares; command: its run. */
        json_ms(f, "boot_ms", c->phase_ms[1], true);
        json_ms(f, "mount_ms", ms_between(c->phase_ms[1], c->phase_ms[2]),
                true);
        json_ms(f, "command_ms",
                ms_between(c->phase_ms[3], c->ended ? c->end_ms : -1), true);
    }
    json_ms(f, "match_ms", r->match_ms, false);
    fputs("},", f);
    if (argc) {
        write_command_json(f, r, argv, argc);
    }
    json_ms(f, "start_to_first_run_ms", r->start_to_first_run_ms, true);
    json_ms(f, "run_ms", r->run_ms, true);
    if (ktap) {
        fputs("\"ktap\":", f);
        ktap_write_json(ktap, f);
        fputc(',', f);
    }
    fprintf(f,
            "\"rss_kib\":%" PRIu64 ",\"exits\":{\"mmio\":%" PRIu64
            ",\"io\":%" PRIu64 ",\"mmio_unassigned\":%" PRIu64
            ",\"mmio_invalid\":%" PRIu64 ",\"mmio_readonly\":%" PRIu64
            ",\"io_unassigned\":%" PRIu64 ",\"io_invalid\":%" PRIu64 "},",
            r->rss_kib, r->exits.mmio_exits, r->exits.io_exits,
            r->exits.mmio_unassigned, r->exits.mmio_invalid,
            r->exits.mmio_readonly, r->exits.io_unassigned,
            r->exits.io_invalid);
    fputs("\"virtio\":[", f);
    for (unsigned i = 0; i < r->nr_virtio; i++) {
        const struct machine_virtio_stats *v = &r->virtio[i];

        fprintf(f,
                "%s{\"device\":\"%s\",\"ioeventfd\":%s,\"irqfd\":%s,"
                "\"kicks_by_exit\":%" PRIu64 ",\"queue_runs\":%" PRIu64
                ",\"requests\":%" PRIu64 ",\"errors\":%" PRIu64,
                i ? "," : "", v->device, v->ioeventfd ? "true" : "false",
                v->irqfd ? "true" : "false", v->kicks_by_exit, v->queue_runs,
                v->requests, v->errors);
        if (v->aio) {
            fprintf(f, ",\"aio\":\"%s\"", v->aio);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
    if (fclose(f) != 0) {
        snprintf(why, whylen, "--json %s: write failed", path);
        return -EIO;
    }
    return 0;
}

/* One `vmm run`: its options, what it read, its reports. */
struct run {
    struct run_opts o;
    struct machine_result res;
    struct modules mods;
    void *image;
    FILE *json;
    FILE *junit;
    struct ktap ktap;
    time_t start;
    /* -- CMD: the initramfs, its one boot module, the command line
     * (ours, then --cmdline), the environment, the shares' mount points. */
    struct run_command cmd;
    struct boot_module cmd_initrd;
    char *cmd_cmdline;
    const char *cmd_env[16];
    char share_at[CLI_MAX_SHARES][4096];
};

/* machine_config.on_loaded: the kernel and initrd are in guest memory. */
static void release_inputs(void *opaque)
{
    struct run *r = opaque;

    free(r->image);
    r->image = NULL;
    modules_free(&r->mods);
    run_command_free(&r->cmd);
}

/*
 * Open the --disk images: read-write unless readonly, O_DIRECT for
 * cache=none, a regular file or a block device of at least one sector,
 * locked (shared for readonly, else exclusive) so that two VMs cannot both
 * write one image.
 */
static int disks_open(struct run_opts *o, char *why, size_t whylen)
{
    for (size_t i = 0; i < o->mc.nr_disks; i++) {
        struct machine_disk *d = &o->disks[i];
        int flags = (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
                    (d->direct ? O_DIRECT : 0);
        struct stat st;
        uint64_t size = 0;

        d->fd = open(d->path, flags);
        if (d->fd < 0) {
            snprintf(why, whylen, "--disk %s: %s", d->path, strerror(errno));
            return -errno;
        }
        if (fstat(d->fd, &st) < 0) {
            snprintf(why, whylen, "--disk %s: %s", d->path, strerror(errno));
            return -errno;
        }
        if (S_ISREG(st.st_mode)) {
            size = (uint64_t)st.st_size;
        } else if (S_ISBLK(st.st_mode)) {
            if (ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
                snprintf(why, whylen, "--disk %s: size: %s", d->path,
                         strerror(errno));
                return -errno;
            }
        } else {
            snprintf(why, whylen,
                     "--disk %s: not a regular file or a block device",
                     d->path);
            return -EINVAL;
        }
        if (size < 512) {
            snprintf(why, whylen,
                     "--disk %s: %" PRIu64 " bytes, less than one 512-byte "
                     "sector",
                     d->path, size);
            return -EINVAL;
        }
        if (flock(d->fd, (d->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
            snprintf(why, whylen, "--disk %s: in use by another process (%s)%s",
                     d->path, strerror(errno),
                     d->readonly ? "" : "; readonly disks can be shared");
            return -errno;
        }
        d->size = size;
    }
    return 0;
}

static void disks_close(struct run_opts *o)
{
    for (size_t i = 0; i < o->mc.nr_disks; i++) {
        if (o->disks[i].fd >= 0) {
            close(o->disks[i].fd);
            o->disks[i].fd = -1;
        }
    }
}

/* Write (len) bytes to a new (path). */
static int save_file(const char *path, const void *buf, size_t len, char *why,
                     size_t whylen)
{
    FILE *f;
    int err = 0;

    errno = 0;
    f = fopen(path, "we");
    if (!f) {
        err = errno;
    } else if (fwrite(buf, 1, len, f) != len) {
        err = errno ? errno : EIO;
        fclose(f);
    } else if (fclose(f) != 0) {
        err = errno ? errno : EIO;
    }
    if (err) {
        snprintf(why, whylen, "--save-initrd %s: %s", path, strerror(err));
        if (f) {
            unlink(path); /* no half an initramfs left behind */
        }
        return -err;
    }
    return 0;
}

/* -- CMD: the initramfs that runs it, once the kernel is known. */
static int command_initrd(struct run *r, enum boot_format fmt, char *why,
                          size_t whylen)
{
    struct run_command_who who;
    struct run_command_in in = {
        .kernel = r->o.mc.image,
        .kernel_size = r->o.mc.image_size,
        .kernel_path = r->o.kernel,
        .modules_dir = r->o.modules_dir,
        .argv = (const char *const *)r->o.command,
        .argc = r->o.nr_command,
        .shares = r->o.mc.shares,
        .nr_shares = r->o.mc.nr_shares,
        .envp = r->cmd_env,
        .who = &who,
    };
    size_t ne = 0;
    int ret;

    if (fmt != BOOT_FORMAT_BZIMAGE && fmt != BOOT_FORMAT_PVH) {
        snprintf(why, whylen,
                 "-- %s: needs a Linux kernel (bzImage or PVH vmlinux), not %s",
                 r->o.command[0], r->o.kernel);
        return -EINVAL;
    }
    /* The "NAME=value" strings of environ themselves, for the names the
     * command takes, in their order. */
    for (size_t i = 0; run_command_env_names[i] && ne < 15; i++) {
        size_t n = strlen(run_command_env_names[i]);

        for (char **e = environ; e && *e; e++) {
            if (strncmp(*e, run_command_env_names[i], n) == 0 &&
                (*e)[n] == '=') {
                r->cmd_env[ne++] = *e;
                break;
            }
        }
    }
    r->cmd_env[ne] = NULL;
    ret = run_command_who_self(&who, why, whylen);
    if (ret == 0) {
        ret = run_command_build(&in, &r->cmd, why, whylen);
    }
    if (ret < 0) {
        return ret;
    }
    if (r->o.save_initrd) {
        ret = save_file(r->o.save_initrd, r->cmd.initrd, r->cmd.initrd_size,
                        why, whylen);
        if (ret < 0) {
            return ret;
        }
    }
    r->cmd_initrd = (struct boot_module){.data = r->cmd.initrd,
                                         .size = r->cmd.initrd_size,
                                         .name = "vmm's initramfs"};
    r->o.mc.modules = &r->cmd_initrd;
    r->o.mc.nr_modules = 1;
    return 0;
}

/* -- CMD: the machine that runs it. The host's / is the root share
 * (tag RUN_COMMAND_ROOT_TAG, or a --share of / becomes it), the other
 * shares go at their own (canonical) path; the kernel's console is quiet
 * on the UART, and panics end the VM. */
static int command_setup(struct run *r, char *why, size_t whylen)
{
    struct run_opts *o = &r->o;
    const char *user = o->mc.cmdline ? o->mc.cmdline : "";
    static const char base[] = "console=ttyS0 quiet panic=-1";
    bool have_root = false;
    size_t len;

    for (size_t i = 0; i < o->mc.nr_shares; i++) {
        struct machine_share *sh = &o->shares[i];

        if (!realpath(sh->path, r->share_at[i])) {
            snprintf(why, whylen, "--share %s: %s", sh->path, strerror(errno));
            return -errno;
        }
        if (strcmp(sh->tag, RUN_COMMAND_ROOT_TAG) == 0) {
            snprintf(why, whylen,
                     "--share %s,tag=%s: that tag is the root's with -- CMD",
                     sh->path, sh->tag);
            return -EINVAL;
        }
        sh->path = r->share_at[i];
        if (strcmp(sh->path, "/") == 0) {
            sh->tag = RUN_COMMAND_ROOT_TAG;
            have_root = true;
        }
    }
    if (!have_root) {
        o->shares[o->mc.nr_shares++] =
            (struct machine_share){.path = "/", .tag = RUN_COMMAND_ROOT_TAG};
        o->mc.shares = o->shares;
    }
    len = sizeof(base) + 1 + strlen(user);
    r->cmd_cmdline = malloc(len);
    if (!r->cmd_cmdline) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    snprintf(r->cmd_cmdline, len, "%s%s%s", base, *user ? " " : "", user);
    o->mc.cmdline = r->cmd_cmdline;
    o->mc.command = true;
    o->mc.no_stdin = !isatty(STDIN_FILENO);
    return 0;
}

/* machine_config.check_kind: refuse what this kind of guest cannot use,
 * then read the initrd (not before: a refused one costs no read). */
static int check_kind(void *opaque, enum boot_format fmt, char *why,
                      size_t whylen)
{
    struct run *r = opaque;
    int ret = cli_check_guest_kind(&r->o, fmt, why, whylen);

    if (ret == 0 && r->o.nr_command) {
        ret = command_initrd(r, fmt, why, whylen);
    }
    if (ret == 0 && r->o.mc.initrd) {
        ret = modules_read(r->o.mc.initrd, &r->mods, why, whylen);
        r->o.mc.modules = r->mods.mods;
        r->o.mc.nr_modules = r->mods.nr;
    }
    if (ret == 0) {
        ret = disks_open(&r->o, why, whylen);
    }
    return ret;
}

static bool feed_ktap(void *opaque, const char *line, size_t len)
{
    return ktap_feed(opaque, line, len);
}

/* Read the kernel (the initrd waits for check_kind()). */
static int run_read_inputs(struct run *r, char *why, size_t whylen)
{
    struct run_opts *o = &r->o;
    int ret;

    if (o->kernel) {
        ret = file_read_all(o->kernel, MAX_IMAGE_SIZE, &r->image,
                            &o->mc.image_size, why, whylen);
        if (ret < 0) {
            return ret;
        }
        o->mc.image = r->image;
        o->mc.image_name = o->kernel;
    } else {
        o->mc.image = guest_hello_elf;
        o->mc.image_size = guest_hello_elf_len;
        o->mc.image_name = "embedded hello guest";
    }
    o->mc.on_loaded = release_inputs;
    o->mc.loaded_opaque = r;
    return 0;
}

/* Open the reports now: a bad path must not cost a guest run. */
static int run_open_reports(struct run *r, char *why, size_t whylen)
{
    if (r->o.json && !(r->json = fopen(r->o.json, "we"))) {
        snprintf(why, whylen, "--json %s: %s", r->o.json, strerror(errno));
        return -errno;
    }
    if (r->o.junit && !(r->junit = fopen(r->o.junit, "we"))) {
        snprintf(why, whylen, "--junit %s: %s", r->o.junit, strerror(errno));
        return -errno;
    }
    return 0;
}

/* Close the reports; (keep) false removes them (the run never started). */
static void run_close_reports(struct run *r, bool keep)
{
    if (r->json) {
        fclose(r->json);
        if (!keep) {
            unlink(r->o.json);
        }
    }
    if (r->junit) {
        fclose(r->junit);
        if (!keep) {
            unlink(r->o.junit);
        }
    }
    r->json = r->junit = NULL;
}

/* The exit status, and the reports written. */
static int run_finish(struct run *r, char *why, size_t whylen)
{
    int status = r->res.exit_code;
    FILE *f;
    int ret = 0;

    if (r->o.nr_command && r->res.outcome == MACHINE_EXITED &&
        !r->res.command.ended) {
        if (!r->res.command.failed) {
            fprintf(stderr,
                    "vmm: the guest ended (%s) before the command did\n",
                    r->res.reason);
        }
        status = VMM_EXIT_NO_COMMAND;
        r->res.exit_code = status;
    }
    if (r->o.ktap && (r->res.outcome == MACHINE_EXITED ||
                      r->res.outcome == MACHINE_MATCHED)) {
        char verdict[256];

        status = ktap_verdict(&r->ktap, verdict, sizeof(verdict));
        fprintf(stderr, "vmm: KTAP: %s\n", verdict);
    }
    if (r->junit) {
        struct junit_info info = {
            .name = r->o.mc.image_name,
            .start = r->start,
            .seconds = r->res.elapsed_ms / 1e3,
            .ended = r->res.reason,
        };

        f = r->junit;
        r->junit = NULL;
        if (junit_write(&r->ktap, &info, f) < 0 || fclose(f) != 0) {
            snprintf(why, whylen, "--junit %s: write failed", r->o.junit);
            ret = -EIO;
        }
    }
    if (r->json) {
        f = r->json;
        r->json = NULL;
        if (write_run_json(f, r->o.json, &r->res, r->o.ktap ? &r->ktap : NULL,
                           r->o.command, r->o.nr_command, why, whylen) < 0) {
            ret = -EIO;
        }
    }
    return ret < 0 ? ret : status;
}

static int cmd_run(int argc, char **argv, uint64_t t0)
{
    struct run *r = calloc(1, sizeof(*r));
    char why[512] = "";
    int ret;

    if (!r) {
        fputs("vmm: out of memory\n", stderr);
        return VMM_EXIT_ERROR;
    }
    ktap_init(&r->ktap);
    r->start = time(NULL);
    ret = cli_parse_run(argc, argv, &r->o, why, sizeof(why));
    if (ret == OPT_HELP) {
        opt_print_help(&cli_run_cmd, stdout);
        ret = 0;
        goto out;
    }
    if (ret < 0) {
        fail_line(why);
        ret = VMM_EXIT_USAGE;
        goto out;
    }
    ret = run_read_inputs(r, why, sizeof(why));
    if (ret == 0 && r->o.nr_command) {
        ret = command_setup(r, why, sizeof(why));
    }
    if (ret == 0) {
        ret = run_open_reports(r, why, sizeof(why));
    }
    if (ret == 0) {
        r->o.mc.ram.progress = prealloc_progress;
        r->o.mc.stop_signal = &stop_signal;
        r->o.mc.check_kind = check_kind;
        r->o.mc.check_opaque = r;
        if (r->o.ktap) {
            r->o.mc.on_line = feed_ktap;
            r->o.mc.line_opaque = &r->ktap;
            r->o.mc.on_line_reason = "KTAP run over";
        }
        catch_stop_signals();
        sandboxed = r->o.mc.sandbox;
        ret = machine_run(&r->o.mc, t0, &r->res, why, sizeof(why));
    }
    if (ret < 0) {
        fail_line(why);
        run_close_reports(r, false);
        ret = VMM_EXIT_ERROR;
        goto out;
    }
    ret = run_finish(r, why, sizeof(why));
    if (ret < 0) {
        fail_line(why);
        ret = VMM_EXIT_ERROR;
    }
out:
    release_inputs(r);
    free(r->cmd_cmdline);
    disks_close(&r->o);
    run_close_reports(r, true);
    ktap_destroy(&r->ktap);
    free(r);
    return ret;
}

/* The KVM paravirt features the guest gets: a JSON array of names, or
 * one line of them; null / "none" when the guest sees no KVM leaves. */
static void print_kvm_features(int kvm_fd, bool json)
{
    uint32_t feat;
    bool first = true;

    if (cpuid_guest_kvm_features(kvm_fd, CPUID_POLICY_AUTO, &feat) < 0) {
        fputs(json ? "null" : "none", stdout);
        return;
    }
    if (json) {
        putchar('[');
    }
    for (unsigned bit = 0; bit < 32; bit++) {
        const char *name = cpuid_kvm_feature_name(bit);

        if (!(feat & (1u << bit)) || !name) {
            continue;
        }
        printf(json ? "%s\"%s\"" : "%s%s", first ? "" : json ? "," : " ", name);
        first = false;
    }
    if (json) {
        putchar(']');
    }
}

static void print_pools(FILE *f, bool json)
{
    const char *dir = "/sys/kernel/mm/hugepages";
    struct dirent *de;
    bool first = true;
    DIR *d = opendir(dir);

    if (!d) {
        return;
    }
    while ((de = readdir(d))) {
        char path[512];
        unsigned long long kb, nr = 0, fr = 0;
        FILE *p;

        if (sscanf(de->d_name, "hugepages-%llukB", &kb) != 1) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, de->d_name);
        if ((p = fopen(path, "re"))) {
            if (fscanf(p, "%llu", &nr) != 1) {
                nr = 0;
            }
            fclose(p);
        }
        snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, de->d_name);
        if ((p = fopen(path, "re"))) {
            if (fscanf(p, "%llu", &fr) != 1) {
                fr = 0;
            }
            fclose(p);
        }
        if (json) {
            fprintf(f, "%s{\"page_kib\":%llu,\"total\":%llu,\"free\":%llu}",
                    first ? "" : ",", kb, nr, fr);
        } else {
            fprintf(f, "  %llu kB pages: %llu total, %llu free\n", kb, nr, fr);
        }
        first = false;
    }
    closedir(d);
}

/* The options of `vmm info` and of the benchmarks. */
enum { O_JSON, O_KVM_DEVICE, O_ITERATIONS, O_RUNS };

struct simple_opts {
    bool json;
    const char *kvm_device;
    uint64_t iterations;
    uint64_t runs;
};

static int apply_simple(void *ctx, const struct opt *opt, const char *name,
                        const char *val, char *why, size_t whylen)
{
    struct simple_opts *o = ctx;

    switch (opt->id) {
    case O_JSON:
        o->json = true;
        return 0;
    case O_KVM_DEVICE:
        o->kvm_device = val;
        return 0;
    case O_ITERATIONS:
        if (cli_parse_uint(val, UINT32_MAX, &o->iterations) < 0 ||
            o->iterations == 0) {
            snprintf(why, whylen, "%s %s: need 1 to %u", name, val, UINT32_MAX);
            return -EINVAL;
        }
        return 0;
    case O_RUNS:
        if (cli_parse_uint(val, 1000000, &o->runs) < 0 || o->runs == 0) {
            snprintf(why, whylen, "%s %s: need 1 to 1000000", name, val);
            return -EINVAL;
        }
        return 0;
    }
    return -EINVAL;
}

static const struct opt info_opts[] = {
    {"--json", NULL, "one JSON object instead of text", NULL, O_JSON, 0},
    {"--kvm-device", "PATH", "the KVM device", "/dev/kvm", O_KVM_DEVICE, 0},
};
static const struct opt_cmd info_cmd = {
    .name = "vmm info",
    .usage = "[options]",
    .about = "What this host's KVM offers: API version, host kind (bare "
             "metal, nested,\nPVM), capabilities, the CPUID policy, the "
             "guest's paravirt features\nand the huge page pools.",
    .opts = info_opts,
    .nr = sizeof(info_opts) / sizeof(info_opts[0]),
};

/* Parse a simple command's options: 0 to go on, else the exit status. */
static int parse_simple(const struct opt_cmd *cmd, int argc, char **argv,
                        struct simple_opts *o)
{
    char why[256];
    int ret =
        opt_parse(cmd, argc, argv, apply_simple, o, NULL, why, sizeof(why));

    if (ret == OPT_HELP) {
        opt_print_help(cmd, stdout);
        return -1;
    }
    if (ret < 0) {
        cli_one_line(why);
        fprintf(stderr, "%s: %s\n", cmd->name, why);
        return VMM_EXIT_USAGE;
    }
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    static const struct {
        const char *name;
        long cap;
    } caps[] = {
        {"NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS},
        {"NR_VCPUS", KVM_CAP_NR_VCPUS},
        {"MAX_VCPUS", KVM_CAP_MAX_VCPUS},
        {"USER_MEMORY", KVM_CAP_USER_MEMORY},
        {"READONLY_MEM", KVM_CAP_READONLY_MEM},
        {"IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT},
        {"IRQCHIP", KVM_CAP_IRQCHIP},
        {"PIT2", KVM_CAP_PIT2},
        {"IOEVENTFD", KVM_CAP_IOEVENTFD},
        {"COALESCED_MMIO", KVM_CAP_COALESCED_MMIO},
        {"MANUAL_DIRTY_LOG_PROTECT2", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2},
        {"DIRTY_LOG_RING", KVM_CAP_DIRTY_LOG_RING},
        {"DIRTY_LOG_RING_ACQ_REL", KVM_CAP_DIRTY_LOG_RING_ACQ_REL},
    };
    struct simple_opts so = {.kvm_device = "/dev/kvm"};
    struct kvm_sys kvm;
    bool json;
    char why[256];
    unsigned i;
    int ret;

    ret = parse_simple(&info_cmd, argc, argv, &so);
    if (ret) {
        return ret < 0 ? 0 : ret;
    }
    json = so.json;
    if (kvm_sys_open(&kvm, so.kvm_device, why, sizeof(why)) < 0) {
        fail_line(why);
        return VMM_EXIT_ERROR;
    }
    if (json) {
        printf("{\"api_version\":%d,\"host\":\"%s\",\"capabilities\":{",
               kvm.api_version,
               kvm_host_is_pvm()      ? "pvm"
               : kvm_host_is_nested() ? "nested"
                                      : "bare-metal");
        for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
            printf("%s\"%s\":%d", i ? "," : "", caps[i].name,
                   kvm_check_extension(kvm.fd, caps[i].cap));
        }
        printf("},\"cpuid_policy\":\"%s\",\"cpuid_kernel_params\":",
               cpuid_policy_name(CPUID_POLICY_AUTO));
        if (cpuid_policy_kernel_params(CPUID_POLICY_AUTO)) {
            printf("\"%s\"", cpuid_policy_kernel_params(CPUID_POLICY_AUTO));
        } else {
            printf("null");
        }
        printf(",\"guest_kvm_paravirt\":");
        print_kvm_features(kvm.fd, true);
        printf(",\"hugepage_pools\":[");
        print_pools(stdout, true);
        printf("]}\n");
    } else {
        printf("KVM API version %d\n", kvm.api_version);
        printf("host: %s\n",
               kvm_host_is_pvm()
                   ? "PVM (kvm_pvm): only CPL-3 64-bit guest code runs "
                     "natively"
               : kvm_host_is_nested() ? "nested KVM (under a hypervisor)"
                                      : "bare metal");
        printf("capabilities:\n");
        for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
            printf("  %-28s %d\n", caps[i].name,
                   kvm_check_extension(kvm.fd, caps[i].cap));
        }
        printf("cpuid policy: %s%s\n", cpuid_policy_name(CPUID_POLICY_AUTO),
               cpuid_policy_kernel_params(CPUID_POLICY_AUTO)
                   ? " (masks what the PVM emulator cannot run; Linux also "
                     "gets: "
                   : "");
        if (cpuid_policy_kernel_params(CPUID_POLICY_AUTO)) {
            printf("  %s)\n", cpuid_policy_kernel_params(CPUID_POLICY_AUTO));
        }
        printf("guest paravirt (CPUID 0x40000000, KVMKVMKVM): ");
        print_kvm_features(kvm.fd, false);
        printf("\n");
        printf("hugepage pools:\n");
        print_pools(stdout, false);
    }
    kvm_sys_close(&kvm);
    return 0;
}

/* `vmm bench dirty-log ...`: its own options (bench_dirty.h). */
static int cmd_bench_dirty(int argc, char **argv)
{
    struct bench_dirty_opts o;
    char why[256];
    int ret = bench_dirty_parse(argc, argv, &o, why, sizeof(why));

    if (ret == OPT_HELP) {
        opt_print_help(&bench_dirty_cmd, stdout);
        return 0;
    }
    if (ret < 0) {
        cli_one_line(why);
        fprintf(stderr, "vmm bench dirty-log: %s\n", why);
        return VMM_EXIT_USAGE;
    }
    return bench_dirty_log(&o, stdout) < 0 ? VMM_EXIT_ERROR : 0;
}

static int cmd_bench_vblk(int argc, char **argv, uint64_t t0)
{
    struct bench_vblk_opts o;
    char why[256];
    int ret = bench_vblk_parse(argc, argv, &o, why, sizeof(why));

    if (ret == OPT_HELP) {
        opt_print_help(&bench_vblk_cmd, stdout);
        return 0;
    }
    if (ret < 0) {
        cli_one_line(why);
        fprintf(stderr, "vmm bench virtio-blk: %s\n", why);
        return VMM_EXIT_USAGE;
    }
    return bench_virtio_blk(&o, t0, stdout) < 0 ? VMM_EXIT_ERROR : 0;
}

static const struct opt bench_json_opts[] = {
    {"--json", NULL, "one JSON object instead of a table", NULL, O_JSON, 0},
};
static const struct opt bench_mmio_opts[] = {
    {"--iterations", "N", "MMIO exits per VM (three VMs)", "30000",
     O_ITERATIONS, 0},
    {"--json", NULL, "one JSON object instead of a table", NULL, O_JSON, 0},
};
static const struct opt bench_soak_opts[] = {
    {"--runs", "N", "VMs created, run and destroyed in a row", "200", O_RUNS,
     0},
    {"--json", NULL, "one JSON object instead of a table", NULL, O_JSON, 0},
};
#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))
static const struct opt_cmd bench_cmds[] = {
    {.name = "vmm bench memory",
     .usage = "[options]",
     .about = "Render and lookup times of the memory-region tree at 1k, 10k "
              "and 100k regions,\nlookups through the call an exit takes "
              "(no KVM needed).",
     .opts = bench_json_opts,
     .nr = NOPTS(bench_json_opts)},
    {.name = "vmm bench mmio",
     .usage = "[options]",
     .about = "MMIO exits per second through the memory API against a bare "
              "switch in the\nsame VMs (blocks of 256 exits take turns).",
     .opts = bench_mmio_opts,
     .nr = NOPTS(bench_mmio_opts)},
    {.name = "vmm bench soak",
     .usage = "[options]",
     .about = "Many VMs one after another in one process: time per VM and "
              "resident memory\ngrowth (a leak shows as growth).",
     .opts = bench_soak_opts,
     .nr = NOPTS(bench_soak_opts)},
};

static void bench_usage(FILE *f)
{
    fputs("usage: vmm bench BENCHMARK [options]   (vmm bench BENCHMARK "
          "--help)\n\nbenchmarks: memory, mmio, soak, dirty-log, virtio-blk\n",
          f);
}

static int cmd_bench(int argc, char **argv, uint64_t t0)
{
    struct simple_opts o = {.iterations = 30000, .runs = 200};
    const struct opt_cmd *cmd = NULL;
    int ret;

    if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "-h") == 0) {
        if (argc < 1) {
            fputs("vmm bench: name a benchmark (memory, mmio, soak, "
                  "dirty-log, virtio-blk)\n",
                  stderr);
        }
        bench_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? VMM_EXIT_USAGE : 0;
    }
    if (strcmp(argv[0], "dirty-log") == 0) {
        return cmd_bench_dirty(argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "virtio-blk") == 0) {
        return cmd_bench_vblk(argc - 1, argv + 1, t0);
    }
    for (size_t i = 0; i < NOPTS(bench_cmds); i++) {
        if (strcmp(bench_cmds[i].name + strlen("vmm bench "), argv[0]) == 0) {
            cmd = &bench_cmds[i];
        }
    }
    if (!cmd) {
        fprintf(stderr,
                "vmm bench: unknown benchmark '%s' (memory, mmio, soak, "
                "dirty-log, virtio-blk)\n",
                argv[0]);
        return VMM_EXIT_USAGE;
    }
    ret = parse_simple(cmd, argc - 1, argv + 1, &o);
    if (ret) {
        return ret < 0 ? 0 : ret;
    }
    if (cmd == &bench_cmds[0]) {
        ret = bench_memory(o.json, stdout);
    } else if (cmd == &bench_cmds[1]) {
        ret = bench_mmio(o.iterations, t0, o.json, stdout);
    } else {
        ret = bench_soak(o.runs, o.json, stdout);
    }
    if (ret < 0) {
        /* The benchmark said why on stderr. */
        return VMM_EXIT_ERROR;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t t0 = clock_now_ns();
    int ret;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VMM_EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-version") == 0) {
        printf("vmm %s\n", VMM_VERSION);
        return 0;
    }
    rcu_register_thread();
    if (argv[1][0] == '-') {
        /* An option first: `vmm run`, as QEMU's command line reads. */
        ret = cmd_run(argc - 1, argv + 1, t0);
    } else if (strcmp(argv[1], "run") == 0) {
        ret = cmd_run(argc - 2, argv + 2, t0);
    } else if (strcmp(argv[1], "sandbox-selftest") == 0) {
        char why[256];

        /* Hidden: the sandbox test's way to try a forbidden call. */
        ret = sandbox_selftest(why, sizeof(why)) < 0 ? VMM_EXIT_ERROR : 0;
        fprintf(ret ? stderr : stdout, "vmm: sandbox: %s\n", why);
        sandboxed = true;
    } else if (strcmp(argv[1], "info") == 0) {
        ret = cmd_info(argc - 2, argv + 2);
    } else if (strcmp(argv[1], "bench") == 0) {
        ret = cmd_bench(argc - 2, argv + 2, t0);
    } else {
        fprintf(stderr, "vmm: unknown command '%s' (try vmm --help)\n",
                argv[1]);
        ret = VMM_EXIT_USAGE;
    }
    rcu_unregister_thread();
    if (sandboxed) {
        /* Exit handlers (LeakSanitizer's among them) may need calls the
         * filter refuses: everything is already released or flushed. */
        fflush(stdout);
        fflush(stderr);
        _exit(ret);
    }
    exit(ret);
}
