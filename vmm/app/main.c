/* SPDX-License-Identifier: MIT */
/*
 * vmm: the command line. The only place that exits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu.h>

#include "bench.h"
#include "bench_dirty.h"
#include "cli.h"
#include "cpuid.h"
#include "guest_embed.h"
#include "kvm.h"
#include "loader_multiboot.h"
#include "machine.h"
#include "sandbox.h"
#include "util/clock.h"
#include "util/json.h"

/* Images larger than this are refused rather than read. */
#define MAX_IMAGE_SIZE (1ull << 30)

static void usage(FILE *f)
{
    fputs("usage: vmm run [options]      boot a test guest (default: the "
          "embedded hello)\n"
          "       vmm info [--json]      what this host's KVM offers\n"
          "       vmm bench memory [--json]\n"
          "       vmm bench mmio [--iterations N] [--json]\n"
          "       vmm bench soak [--runs N] [--json]\n"
          "       vmm bench dirty-log [--mode bitmap|clear|ring|none|all] "
          "[--json] ...\n"
          "                              (vmm bench dirty-log --help for "
          "its options)\n"
          "\n"
          "run options:\n"
          "  --kernel FILE           ELF test guest to boot\n"
          "  --memory, -m SIZE       guest RAM (default 256M; K, M, G "
          "suffixes)\n"
          "  --cpus, -smp N          vCPUs (default 1)\n"
          "  --mem-backend anon|memfd|hugetlbfs\n"
          "  --mem-path DIR          hugetlbfs directory (default: first "
          "mount)\n"
          "  --hugepage-size 2M|1G   memfd huge pages (MFD_HUGETLB)\n"
          "  --mem-share             map anonymous memory shared\n"
          "  --mem-prealloc          touch all guest memory before start\n"
          "  --mem-thp               ask for transparent huge pages\n"
          "  --dump-mtree, --dump-flatview, --dump-slots\n"
          "                          print the region tree, flat views, KVM "
          "slots\n"
          "  --json FILE             write a JSON report\n"
          "  --kvm-device PATH       KVM device (default /dev/kvm)\n"
          "  --sandbox               seccomp allow-list once the guest runs\n"
          "  --cmdline, --append S   kernel command line\n"
          "  --initrd FILE[,FILE2]   initrd (Linux) or multiboot modules "
          "(\"file arg,file2\")\n"
          "  --serial stdio|file:PATH|none   where serial output goes "
          "(default stdio)\n"
          "  --expect REGEX          end with 0 when a console line matches "
          "(POSIX ERE)\n"
          "  --timeout SECONDS       end with 124 when the time is up\n"
          "  --cpuid host|safe       CPUID policy (default: safe on PVM "
          "hosts, else host)\n"
          "\n"
          "exit status of run: the guest's own status (0-255) when it exits "
          "through\n"
          "the test device; 1 bad input or setup failure; 2 bad command line; "
          "112 triple\n"
          "fault (KVM_EXIT_SHUTDOWN); 113 KVM internal error (emulation "
          "failure); 114 VM\n"
          "entry failure; 115 an exit the VMM does not handle. A vCPU failure "
          "prints\n"
          "one line of reason, the registers and the code bytes at RIP on "
          "stderr.\n",
          f);
}

/* The seccomp filter is in force: exit without exit handlers. */
static bool sandboxed;

/* One line on stderr, whatever the message quotes. */
static void fail_line(char *why)
{
    cli_one_line(why);
    fprintf(stderr, "vmm: %s\n", why);
}

/* Read all of (path) into a new buffer. On failure (why) says why. */
static int read_file(const char *path, void **out, size_t *size, char *why,
                     size_t whylen)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd, ret;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        snprintf(why, whylen, "%s: %s", path, strerror(-ret));
        return ret;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s: not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    if (st.st_size == 0) {
        snprintf(why, whylen, "%s: empty file", path);
        close(fd);
        return -ENOEXEC;
    }
    if ((uint64_t)st.st_size > MAX_IMAGE_SIZE) {
        snprintf(why, whylen, "%s: %lld bytes, larger than the 1 GiB limit",
                 path, (long long)st.st_size);
        close(fd);
        return -EFBIG;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        snprintf(why, whylen, "%s: out of memory", path);
        close(fd);
        return -ENOMEM;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            snprintf(why, whylen, "%s: read failed: %s", path, strerror(-ret));
            free(buf);
            close(fd);
            return ret;
        }
        done += (size_t)n;
    }
    close(fd);
    *out = buf;
    *size = done;
    return 0;
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

        ret = read_file(mo->spec[i].path, &data, &size, why, whylen);
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

/* Write the report to (f), which is closed. */
static int write_run_json(FILE *f, const char *path,
                          const struct machine_result *r, char *why,
                          size_t whylen)
{
    static const char *const outcome[] = {
        [MACHINE_EXITED] = "exited",
        [MACHINE_MATCHED] = "matched",
        [MACHINE_TIMEOUT] = "timeout",
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
    json_ms(f, "first_guest_instruction_ms", r->start_to_first_run_ms, true);
    json_ms(f, "first_serial_output_ms", r->first_serial_output_ms, true);
    json_ms(f, "match_ms", r->match_ms, false);
    fputs("},", f);
    json_ms(f, "start_to_first_run_ms", r->start_to_first_run_ms, true);
    json_ms(f, "run_ms", r->run_ms, true);
    fprintf(f,
            "\"rss_kib\":%" PRIu64 ",\"exits\":{\"mmio\":%" PRIu64
            ",\"io\":%" PRIu64 ",\"mmio_unassigned\":%" PRIu64
            ",\"mmio_invalid\":%" PRIu64 ",\"mmio_readonly\":%" PRIu64
            ",\"io_unassigned\":%" PRIu64 ",\"io_invalid\":%" PRIu64 "}}\n",
            r->rss_kib, r->exits.mmio_exits, r->exits.io_exits,
            r->exits.mmio_unassigned, r->exits.mmio_invalid,
            r->exits.mmio_readonly, r->exits.io_unassigned,
            r->exits.io_invalid);
    if (fclose(f) != 0) {
        snprintf(why, whylen, "--json %s: write failed", path);
        return -EIO;
    }
    return 0;
}

static int cmd_run(int argc, char **argv, uint64_t t0)
{
    struct run_opts o;
    struct machine_result res;
    struct modules mods = {0};
    FILE *json = NULL;
    void *image = NULL;
    char why[512] = "";
    int ret;

    ret = cli_parse_run(argc, argv, &o, why, sizeof(why));
    if (ret < 0) {
        fail_line(why);
        return VMM_EXIT_USAGE;
    }
    if (o.kernel) {
        ret = read_file(o.kernel, &image, &o.mc.image_size, why, sizeof(why));
        if (ret < 0) {
            fail_line(why);
            return VMM_EXIT_ERROR;
        }
        o.mc.image = image;
        o.mc.image_name = o.kernel;
    } else {
        o.mc.image = guest_hello_elf;
        o.mc.image_size = guest_hello_elf_len;
        o.mc.image_name = "embedded hello guest";
    }
    if (o.mc.initrd) {
        ret = modules_read(o.mc.initrd, &mods, why, sizeof(why));
        if (ret < 0) {
            fail_line(why);
            free(image);
            return VMM_EXIT_ERROR;
        }
        o.mc.modules = mods.mods;
        o.mc.nr_modules = mods.nr;
    }
    o.mc.ram.progress = prealloc_progress;
    sandboxed = o.mc.sandbox;
    /* Open the report now: a bad path must not cost a guest run. */
    if (o.json) {
        json = fopen(o.json, "we");
        if (!json) {
            fprintf(stderr, "vmm: --json %s: %s\n", o.json, strerror(errno));
            free(image);
            modules_free(&mods);
            return VMM_EXIT_ERROR;
        }
    }
    ret = machine_run(&o.mc, t0, &res, why, sizeof(why));
    free(image);
    modules_free(&mods);
    if (ret < 0) {
        fail_line(why);
        if (json) {
            fclose(json);
            unlink(o.json);
        }
        return VMM_EXIT_ERROR;
    }
    if (json && write_run_json(json, o.json, &res, why, sizeof(why)) < 0) {
        fail_line(why);
        return VMM_EXIT_ERROR;
    }
    return res.exit_code;
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
    const char *dev = "/dev/kvm";
    struct kvm_sys kvm;
    bool json = false;
    char why[256];
    unsigned i;
    int a;

    for (a = 0; a < argc; a++) {
        if (strcmp(argv[a], "--json") == 0) {
            json = true;
        } else if (strncmp(argv[a], "--kvm-device=", 13) == 0) {
            dev = argv[a] + 13;
        } else if (strcmp(argv[a], "--kvm-device") == 0 && a + 1 < argc) {
            dev = argv[++a];
        } else {
            fprintf(stderr, "vmm info: %s: unknown option\n", argv[a]);
            return VMM_EXIT_USAGE;
        }
    }
    if (kvm_sys_open(&kvm, dev, why, sizeof(why)) < 0) {
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

    if (argc > 0 &&
        (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(bench_dirty_usage, stdout);
        return 0;
    }
    if (bench_dirty_parse(argc, argv, &o, why, sizeof(why)) < 0) {
        fprintf(stderr, "vmm bench dirty-log: %s\n", why);
        return VMM_EXIT_USAGE;
    }
    return bench_dirty_log(&o, stdout) < 0 ? VMM_EXIT_ERROR : 0;
}

static int cmd_bench(int argc, char **argv, uint64_t t0)
{
    uint64_t iterations = 30000, runs = 200;
    bool json = false;
    int i, ret;

    if (argc < 1) {
        fputs("vmm bench: name a benchmark (memory, mmio)\n", stderr);
        return VMM_EXIT_USAGE;
    }
    if (strcmp(argv[0], "dirty-log") == 0) {
        return cmd_bench_dirty(argc - 1, argv + 1);
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            if (cli_parse_uint(argv[++i], 1000000, &runs) < 0 || runs == 0) {
                fprintf(stderr, "vmm bench: --runs %s: need 1 to 1000000\n",
                        argv[i]);
                return VMM_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            if (cli_parse_uint(argv[++i], UINT32_MAX, &iterations) < 0 ||
                iterations == 0) {
                fprintf(stderr, "vmm bench: --iterations %s: need 1 to %u\n",
                        argv[i], UINT32_MAX);
                return VMM_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "vmm bench %s: unknown option '%s'\n", argv[0],
                    argv[i]);
            return VMM_EXIT_USAGE;
        }
    }
    if (strcmp(argv[0], "memory") == 0) {
        ret = bench_memory(json, stdout);
    } else if (strcmp(argv[0], "mmio") == 0) {
        ret = bench_mmio(iterations, t0, json, stdout);
    } else if (strcmp(argv[0], "soak") == 0) {
        ret = bench_soak(runs, json, stdout);
    } else {
        fprintf(stderr, "vmm bench: unknown benchmark '%s'\n", argv[0]);
        return VMM_EXIT_USAGE;
    }
    if (ret < 0) {
        fprintf(stderr, "vmm bench %s: %s\n", argv[0], strerror(-ret));
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
    rcu_register_thread();
    if (strcmp(argv[1], "run") == 0) {
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
