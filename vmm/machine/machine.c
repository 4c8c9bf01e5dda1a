/* SPDX-License-Identifier: MIT */
/*
 * The machine (see machine.h): regions, KVM, devices, the image, vCPUs.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "console.h"
#include "cpuid.h"
#include "devices/testdev.h"
#include "devices/testdev_abi.h"
#include "dirty_log.h"
#include "kvm.h"
#include "kvm_memslots.h"
#include "loader.h"
#include "loader_elf.h"
#include "machine-internal.h"
#include "machine.h"
#include "mem/address_space.h"
#include "mem/dump.h"
#include "mem/ramblock.h"
#include "mem/region.h"
#include "sandbox.h"
#include "util/clock.h"
#include "vcpu.h"
#include "vcpu_x86_64.h"

void machine_config_embedded(struct machine_config *mc, const void *image,
                             size_t size, const char *name)
{
    memset(mc, 0, sizeof(*mc));
    mc->image = image;
    mc->image_size = size;
    mc->image_name = name;
    mc->mem_size = 64ull << 20;
    mc->cpus = 1;
    mc->kvm_device = "/dev/kvm";
    mc->no_stdin = true;
}

/* Test device hooks. */

static void td_console(void *opaque, const char *buf, size_t len)
{
    struct machine *m = opaque;

    console_write(&m->console, buf, len);
}

static void on_match(void *opaque)
{
    struct machine *m = opaque;

    vcpu_set_end(&m->vcpus, 0, "matched");
}

static void on_line_done(void *opaque)
{
    struct machine *m = opaque;

    vcpu_set_end(&m->vcpus, 0,
                 m->cfg->on_line_reason ? m->cfg->on_line_reason
                                        : "console reader done");
}

static void td_exit(void *opaque, int status)
{
    struct machine *m = opaque;

    vcpu_set_end(&m->vcpus, status & 0xff, "guest exit");
}

static uint64_t td_ram_size(void *opaque)
{
    struct machine *m = opaque;

    return m->cfg->mem_size;
}

static uint32_t td_vcpu_id(void *opaque)
{
    (void)opaque;
    return (uint32_t)vcpu_current_id();
}

static int td_read_guest(void *opaque, gpa_t gpa, void *buf, size_t len)
{
    struct machine *m = opaque;

    return as_read(m->as_mem, gpa, buf, len);
}

static const struct testdev_hooks td_hooks = {
    .console_write = td_console,
    .exit = td_exit,
    .ram_size = td_ram_size,
    .vcpu_id = td_vcpu_id,
    .read_guest = td_read_guest,
};

/*
 * `vmm bench mmio`: MMIO exits in blocks of MMIO_BENCH_BLOCK, the blocks
 * in the order API, raw, raw, API, API, raw, ... (so that a steady drift
 * in the host's speed weighs on both paths alike). A block's time runs
 * from its first exit to the next block's first exit and is added to its
 * path; the first MMIO_BENCH_WARMUP blocks are not counted, nor is the
 * last, cut short by the guest's exit. The raw path is a bare switch on
 * the test device's registers; anything else goes through the memory API.
 */
#define MMIO_BENCH_BLOCK 256
#define MMIO_BENCH_WARMUP 4

static unsigned mmio_bench_path(uint64_t block)
{
    return ((block + 1) / 2) % 2 ? MACHINE_MMIO_RAW : MACHINE_MMIO_API;
}

static enum vcpu_raw mmio_bench_exit(void *opaque, struct kvm_run *run)
{
    struct machine *m = opaque;
    uint64_t off = run->mmio.phys_addr - TESTDEV_BASE;
    uint64_t block = m->mmio_bench_seen / MMIO_BENCH_BLOCK;

    if (m->mmio_bench_seen++ % MMIO_BENCH_BLOCK == 0) {
        uint64_t now = clock_now_ns();

        if (block > MMIO_BENCH_WARMUP) {
            unsigned p = mmio_bench_path(block - 1);

            m->mmio_bench.exits[p] += MMIO_BENCH_BLOCK;
            m->mmio_bench.ns[p] += now - m->mmio_bench_t;
        }
        m->mmio_bench_t = now;
    }
    if (mmio_bench_path(block) == MACHINE_MMIO_API ||
        run->mmio.phys_addr < TESTDEV_BASE || off >= TESTDEV_SIZE) {
        return VCPU_RAW_PASS;
    }
    switch (off) {
    case TESTDEV_REG_NOP:
        return VCPU_RAW_DONE;
    case TESTDEV_REG_EXIT:
        return VCPU_RAW_END;
    case TESTDEV_REG_ARG:
        memcpy(run->mmio.data, &m->cfg->guest_arg, sizeof(uint64_t));
        return VCPU_RAW_DONE;
    default:
        return VCPU_RAW_PASS;
    }
}

int machine_load_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
{
    struct machine *m = opaque;

    return as_write(m->as_mem, gpa, buf, len);
}

static int build_memory(struct machine *m, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    int ret;

    ret = mem_sys_new(&m->sys);
    if (ret < 0) {
        snprintf(why, whylen, "memory system: %s", strerror(-ret));
        return ret;
    }
    ret = mr_init_container(&m->root, "system", UINT64_MAX);
    if (ret < 0) {
        goto fail;
    }
    m->have_root = true;
    ret = mr_init_container(&m->io_root, "io", IO_SPACE_SIZE);
    if (ret < 0) {
        goto fail;
    }
    m->have_io_root = true;
    ret = as_new(m->sys, "memory", &m->root, MR_SIZE_2_64, &m->as_mem);
    if (ret == 0) {
        ret = as_new(m->sys, "io", &m->io_root, IO_SPACE_SIZE, &m->as_io);
    }
    if (ret < 0) {
        goto fail;
    }
    ret = ram_block_alloc("pc.ram", cfg->mem_size, cfg->mem_size, &cfg->ram,
                          &m->ram_block, why, whylen);
    if (ret < 0) {
        return ret;
    }
    ret = mr_init_ram_block(&m->ram, "pc.ram", m->ram_block);
    if (ret < 0) {
        goto fail;
    }
    m->have_ram = true;
    m->ram_low_size = cfg->mem_size < RAM_LOW_MAX ? cfg->mem_size : RAM_LOW_MAX;
    ret = mr_init_alias(&m->ram_below, "ram-below-4g", &m->ram, 0,
                        m->ram_low_size);
    if (ret < 0) {
        goto fail;
    }
    m->have_below = true;
    if (cfg->mem_size > RAM_LOW_MAX) {
        ret = mr_init_alias(&m->ram_above, "ram-above-4g", &m->ram, RAM_LOW_MAX,
                            cfg->mem_size - RAM_LOW_MAX);
        if (ret < 0) {
            goto fail;
        }
        m->have_above = true;
    }
    ret = testdev_init(&m->td, &td_hooks, m);
    if (ret < 0) {
        goto fail;
    }
    m->have_td = true;
    testdev_set_arg(&m->td, cfg->guest_arg);

    /* One transaction: the listener sees the finished map once. */
    mem_begin(m->sys);
    ret = mr_add_subregion(&m->root, 0, &m->ram_below);
    if (ret == 0 && m->have_above) {
        ret = mr_add_subregion(&m->root, RAM_HIGH_BASE, &m->ram_above);
    }
    if (ret == 0) {
        /* Above everything a guest can move: the register block must stay
         * reachable whatever the guest does to the test regions. */
        ret = mr_add_subregion_overlap(&m->root, TESTDEV_BASE, &m->td.regs, 1);
    }
    if (ret == 0) {
        ret = mr_add_subregion(&m->root, TESTDEV_ROM_BASE, &m->td.rom);
    }
    if (ret == 0) {
        ret = mr_add_subregion(&m->root, TESTDEV_RAM_BASE, &m->td.ram);
    }
    if (ret == 0) {
        ret = mr_add_subregion(&m->root, TESTDEV_ALIAS_BASE, &m->td.alias);
    }
    if (ret == 0) {
        ret = mr_add_subregion(&m->root, TESTDEV_SCRATCH_BASE, &m->td.scratch);
    }
    if (ret == 0) {
        ret = mr_add_subregion(&m->root, TESTDEV_TOGGLE_BASE, &m->td.toggle);
    }
    if (mem_commit(m->sys) < 0 && ret == 0) {
        ret = -EIO;
    }
    if (ret < 0) {
        goto fail;
    }
    return 0;
fail:
    snprintf(why, whylen, "building the memory map: %s", strerror(-ret));
    return ret;
}

static void teardown_memory(struct machine *m)
{
    int bad = 0;

    if (m->sys) {
        mem_begin(m->sys);
        if (m->have_root) {
            bad |= mr_del_all_subregions(&m->root);
        }
        if (m->have_io_root) {
            bad |= mr_del_all_subregions(&m->io_root);
        }
        bad |= mem_commit(m->sys);
        mem_sys_free(m->sys);
        m->sys = NULL;
    }
    if (m->board && m->board->destroy_devices) {
        m->board->destroy_devices(m);
    }
    if (m->have_td) {
        bad |= testdev_destroy(&m->td);
    }
    if (m->have_above) {
        bad |= mr_destroy(&m->ram_above);
    }
    if (m->have_below) {
        bad |= mr_destroy(&m->ram_below);
    }
    if (m->have_ram) {
        bad |= mr_destroy(&m->ram);
    }
    if (m->have_io_root) {
        bad |= mr_destroy(&m->io_root);
    }
    if (m->have_root) {
        bad |= mr_destroy(&m->root);
    }
    ram_block_free(m->ram_block);
    if (bad) {
        fprintf(stderr, "vmm: warning: memory teardown was incomplete\n");
    }
}

static int setup_cpuid(struct machine *m, struct vcpu *v)
{
    const unsigned max = 256;
    struct kvm_cpuid2 *cpuid;
    int ret;

    cpuid = calloc(1, sizeof(*cpuid) + max * sizeof(cpuid->entries[0]));
    if (!cpuid) {
        return -ENOMEM;
    }
    ret = cpuid_build(m->kvm.fd, m->cfg->cpuid, cpuid, max);
    if (ret == 0) {
        ret = kvm_ioctl(v->fd, KVM_SET_CPUID2, cpuid);
    }
    free(cpuid);
    return ret;
}

/* CPUID on every vCPU, then the board loads the image and sets the rest. */
static int setup_vcpus(struct machine *m, char *why, size_t whylen)
{
    int i, ret;

    for (i = 0; i < m->vcpus.nr; i++) {
        ret = setup_cpuid(m, &m->vcpus.vcpus[i]);
        if (ret < 0) {
            snprintf(why, whylen, "vCPU %d CPUID: %s", i, strerror(-ret));
            return ret;
        }
    }
    return m->board->boot(m, why, whylen);
}

/*
 * What the image is: a CPL-3 test guest gets the bare machine, a kernel
 * the PC. Anything else is refused here, before any host resource is
 * taken, with the most precise reason we have.
 */
static int classify_image(struct machine *m, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    enum boot_format fmt = loader_detect(cfg->image, cfg->image_size);
    struct loader_elf_info info;
    char msg[200];

    m->fmt = fmt;
    if (fmt == BOOT_FORMAT_TEST_GUEST) {
        m->board = &board_bare;
        return 0;
    }
    if (fmt != BOOT_FORMAT_UNKNOWN) {
        m->board = &board_pc;
        return 0;
    }
    /* An ELF that is neither: say what is wrong with it as an ELF. */
    if (loader_elf_probe(cfg->image, cfg->image_size, &info, msg, sizeof(msg)) <
        0) {
        snprintf(why, whylen, "%s: %s", cfg->image_name, msg);
    } else {
        snprintf(why, whylen,
                 "%s: an ELF image with neither a VMMGUEST nor a PVH entry "
                 "note: nothing to boot",
                 cfg->image_name);
    }
    return -ENOEXEC;
}

/*
 * Resident KiB of the process outside guest RAM: the Rss of every mapping
 * in /proc/self/smaps that does not overlap the RAMBlock. (VmRSS less the
 * pages mincore() found resident in guest RAM could read a few KiB: the
 * two counts do not agree on huge and shared pages.)
 */
static uint64_t vmm_rss_kib(const struct machine *m)
{
    uintptr_t g0 = (uintptr_t)ram_block_host(m->ram_block);
    uintptr_t g1 = g0 + ram_block_used_length(m->ram_block);
    uint64_t rss = 0, kib;
    unsigned long lo, hi;
    bool in_guest = false;
    char line[512];
    FILE *f = fopen("/proc/self/smaps", "re");

    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        /* A mapping's header ("lo-hi perms ..."); field names such as
         * "AnonHugePages:" stop after one hex digit. */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in_guest = lo < g1 && hi > g0;
        } else if (!in_guest && sscanf(line, "Rss: %" SCNu64, &kib) == 1) {
            rss += kib;
        }
    }
    fclose(f);
    return rss;
}

static void dump_setup(struct machine *m)
{
    const struct machine_config *cfg = m->cfg;

    if (cfg->dump_mtree) {
        mem_dump_mtree(stdout, m->as_mem);
        mem_dump_mtree(stdout, m->as_io);
    }
    if (cfg->dump_flatview) {
        mem_dump_flatview(stdout, m->as_mem);
        mem_dump_flatview(stdout, m->as_io);
    }
    if (cfg->dump_slots) {
        kvm_memslots_dump(&m->slots, stdout);
    }
    fflush(stdout);
}

/* Bytes typed on stdin for the guest's console device. */
static void machine_serial_input(struct machine *m, const uint8_t *buf,
                                 size_t len)
{
    if (m->board->serial_input) {
        m->board->serial_input(m, buf, len);
    }
}

/* Guest input from stdin, Ctrl-A escapes, until the VM ends or times out. */
static void main_loop(struct machine *m, uint64_t t0_ns)
{
    const struct machine_config *cfg = m->cfg;
    uint64_t deadline = 0;
    bool read_stdin = !cfg->no_stdin && (cfg->command || !cfg->serial ||
                                         strcmp(cfg->serial, "stdio") == 0);

    if (cfg->timeout_s > 0) {
        deadline = t0_ns + (uint64_t)(cfg->timeout_s * 1e9);
    }
    if (read_stdin) {
        console_raw_stdin(&m->console);
    }
    for (;;) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

        if (vcpu_set_wait_for(&m->vcpus, read_stdin ? 0 : 50)) {
            break;
        }
        if (deadline && clock_now_ns() >= deadline) {
            vcpu_set_end(&m->vcpus, VMM_EXIT_TIMEOUT, "timeout");
            break;
        }
        if (cfg->stop_signal && *cfg->stop_signal) {
            int sig = *cfg->stop_signal;

            m->interrupted = true;
            vcpu_set_end(&m->vcpus, 128 + sig,
                         sig == SIGINT    ? "interrupted (SIGINT)"
                         : sig == SIGTERM ? "interrupted (SIGTERM)"
                         : sig == SIGHUP  ? "interrupted (SIGHUP)"
                                          : "interrupted (signal)");
            break;
        }
        if (!read_stdin) {
            continue;
        }
        if (poll(&pfd, 1, 50) > 0) {
            uint8_t buf[256];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            bool quit = false;

            if (n <= 0) {
                /* EOF or error: the guest gets no more input. */
                read_stdin = false;
                continue;
            }
            n = (ssize_t)console_filter_input(&m->console, buf, (size_t)n,
                                              &quit);
            if (quit) {
                vcpu_set_end(&m->vcpus, 0, "quit (Ctrl-A x)");
                break;
            }
            machine_serial_input(m, buf, (size_t)n);
        }
    }
    console_restore_tty(&m->console);
}

/* The controller of machine_config.on_running, beside the running vCPUs. */
static void run_controller(struct machine *m)
{
    struct machine_ctl ctl = {
        .vm_fd = m->vm_fd,
        .sys = m->sys,
        .as_mem = m->as_mem,
        .ram = &m->ram,
        .ram_low_size = m->ram_low_size,
        .slots = &m->slots,
        .vcpus = &m->vcpus,
        .td = m->have_td ? &m->td : NULL,
    };

    if (m->cfg->on_running(m->cfg->ctl_opaque, &ctl) < 0) {
        vcpu_set_end(&m->vcpus, VMM_EXIT_ERROR, "controller failed");
    }
}

/* Sizes the host cannot give, refused before anything is created. */
static int check_config(const struct machine_config *cfg, char *why,
                        size_t whylen)
{
    struct sysinfo si;

    /* MAP_NORESERVE would let an absurd size map, and fail later. */
    if (sysinfo(&si) == 0 &&
        cfg->mem_size / si.mem_unit > si.totalram + si.totalswap) {
        snprintf(why, whylen,
                 "--memory %" PRIu64 " MiB: more than this host's %" PRIu64
                 " MiB of RAM and swap",
                 cfg->mem_size >> 20,
                 (uint64_t)(si.totalram + si.totalswap) * si.mem_unit >> 20);
        return -E2BIG;
    }
    if (cfg->cpus < 1) {
        snprintf(why, whylen, "--cpus %d: need at least 1", cfg->cpus);
        return -EINVAL;
    }
    return 0;
}

/* /dev/kvm, the VM and its per-VM set-up. */
static int open_vm(struct machine *m, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    int ret;

    ret = kvm_sys_open(&m->kvm, cfg->kvm_device, why, whylen);
    if (ret < 0) {
        return ret;
    }
    if (cfg->cpus > m->kvm.max_vcpus) {
        snprintf(why, whylen, "--cpus %d: this host's KVM allows at most %d",
                 cfg->cpus, m->kvm.max_vcpus);
        return -EINVAL;
    }
    ret = kvm_ioctl_val(m->kvm.fd, KVM_CREATE_VM, 0);
    if (ret < 0) {
        snprintf(why, whylen, "KVM_CREATE_VM: %s", strerror(-ret));
        return ret;
    }
    m->vm_fd = ret;
    return m->board->setup_vm ? m->board->setup_vm(m, why, whylen) : 0;
}

/* The dirty ring, if asked for: KVM takes its size only before the first
 * vCPU exists. */
static int enable_dirty_ring(struct machine *m, char *why, size_t whylen)
{
    unsigned entries = m->cfg->dirty_ring_entries;
    int ret;

    if (!entries) {
        return 0;
    }
    ret = dirty_log_enable_ring(m->vm_fd, entries, NULL);
    if (ret == -E2BIG) {
        snprintf(why, whylen,
                 "a dirty ring of %u entries: this KVM offers at most %d",
                 entries, dirty_log_ring_max_entries(m->vm_fd));
    } else if (ret == -EINVAL) {
        snprintf(why, whylen,
                 "a dirty ring of %u entries: KVM refused it (a ring is "
                 "a power of two of at least %u entries)",
                 entries, DIRTY_RING_MIN_ENTRIES);
    } else if (ret == -EOPNOTSUPP) {
        snprintf(why, whylen, "a dirty ring: this KVM has none");
    } else if (ret < 0) {
        snprintf(why, whylen, "a dirty ring of %u entries: %s", entries,
                 strerror(-ret));
    }
    return ret;
}

/* The vCPUs (not started) and the memslot listener, which parks them. */
static int create_vcpus(struct machine *m, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    int ret;

    ret = vcpu_set_init(&m->vcpus, m->vm_fd, cfg->cpus, m->kvm.vcpu_mmap_size,
                        m->as_mem, m->as_io);
    if (ret < 0) {
        snprintf(why, whylen, "creating %d vCPUs: %s", cfg->cpus,
                 strerror(-ret));
        return ret;
    }
    m->have_vcpus = true;
    m->vcpus.pvm_workarounds = m->board->kernels && kvm_host_is_pvm();
    if (cfg->mmio_bench) {
        m->vcpus.raw_mmio = mmio_bench_exit;
        m->vcpus.raw_opaque = m;
    }
    m->vcpus.ring_full = cfg->ring_full;
    m->vcpus.ring_full_opaque = cfg->ctl_opaque;
    ret = kvm_memslots_init(&m->slots, m->vm_fd, m->kvm.nr_memslots,
                            vcpu_set_park, vcpu_set_unpark, &m->vcpus);
    if (ret < 0) {
        snprintf(why, whylen, "memslots: %s", strerror(-ret));
        return ret;
    }
    m->have_slots = true;
    ret = as_listener_register(m->as_mem, &m->slots.listener);
    if (ret < 0) {
        snprintf(why, whylen, "creating KVM memslots: %s", strerror(-ret));
    }
    return ret;
}

/* Whether a share is writable: the sandbox then lets its server change it. */
static bool shares_writable(const struct machine_config *cfg)
{
    for (size_t i = 0; i < cfg->nr_shares; i++) {
        if (cfg->shares[i].writable) {
            return true;
        }
    }
    return false;
}

/*
 * Drop privileges, start the vCPUs (inside the sandbox, if any), serve the
 * console and the controller until the VM ends; (*end) says how. Returns
 * 0, or -errno with (why) set when the VM could not be started.
 */
static int run_vm(struct machine *m, uint64_t t0_ns, uint64_t *t_run,
                  struct vcpu_end *end, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    int ret;

    /* Every host resource is acquired: give up the privileges. */
    ret = caps_drop_all(why, whylen);
    if (ret < 0) {
        return ret;
    }
    *t_run = clock_now_ns();
    /* The threads wait (parked) until the sandbox, if any, is in force:
     * no guest instruction runs outside it. */
    vcpu_set_park(&m->vcpus);
    ret = vcpu_set_start(&m->vcpus);
    if (ret < 0) {
        snprintf(why, whylen, "starting vCPU threads: %s", strerror(-ret));
    } else if (cfg->sandbox) {
        /* Thread start-up (and sanitizer runtimes' per-thread set-up) is
         * not steady state: let it finish outside the filter. */
        vcpu_set_wait_ready(&m->vcpus);
        ret = sandbox_enter(cfg->nr_shares > 0, shares_writable(cfg), why,
                            whylen);
        if (ret < 0) {
            vcpu_set_end(&m->vcpus, VMM_EXIT_ERROR, "sandbox failed");
        }
    }
    vcpu_set_unpark(&m->vcpus);
    if (ret == 0 && cfg->on_running) {
        run_controller(m);
    }
    if (ret == 0) {
        main_loop(m, t0_ns);
    }
    vcpu_set_wait(&m->vcpus, end);
    return ret;
}

/* Milliseconds from (t0_ns) to (t_ns), or -1 when (t_ns) never came. */
double machine_ms_since(uint64_t t0_ns, uint64_t t_ns)
{
    return t_ns ? (double)(t_ns - t0_ns) / 1e6 : -1;
}

static void fill_result(struct machine *m, const struct vcpu_end *end,
                        uint64_t t0_ns, uint64_t t_run,
                        struct machine_result *res)
{
    const struct console *c = &m->console;

    memset(res, 0, sizeof(*res));
    res->exit_code = end->status;
    res->outcome =
        c->matched ? MACHINE_MATCHED
        : end->status == VMM_EXIT_TIMEOUT && strcmp(end->reason, "timeout") == 0
            ? MACHINE_TIMEOUT
        : m->interrupted && strncmp(end->reason, "interrupted", 11) == 0
            ? MACHINE_INTERRUPTED
            : MACHINE_EXITED;
    if (res->outcome == MACHINE_MATCHED) {
        res->exit_code = 0;
    }
    if (c->matched) {
        /* Longer lines are cut: the report keeps the start. */
        memcpy(res->matched_line, c->matched_line,
               sizeof(res->matched_line) - 1);
        res->matched_line[sizeof(res->matched_line) - 1] = '\0';
    }
    res->first_serial_output_ms = machine_ms_since(t0_ns, c->first_output_ns);
    res->match_ms = c->matched ? machine_ms_since(t0_ns, c->match_ns) : -1;
    res->elapsed_ms = machine_ms_since(t0_ns, clock_now_ns());
    snprintf(res->reason, sizeof(res->reason), "%s", end->reason);
    res->start_to_first_run_ms = machine_ms_since(t0_ns, m->vcpus.first_run_ns);
    res->run_ms = machine_ms_since(t_run, clock_now_ns());
    res->exits = m->vcpus.stats;
    res->mmio_bench = m->mmio_bench;
    res->rss_kib = vmm_rss_kib(m);
    if (m->board->stats) {
        m->board->stats(m, t0_ns, res);
    }
}

/* Release what (m) holds, last acquired first, and (m) itself. */
static void machine_free(struct machine *m)
{
    teardown_memory(m);
    if (m->have_slots) {
        kvm_memslots_destroy(&m->slots);
    }
    if (m->have_vcpus) {
        vcpu_set_destroy(&m->vcpus);
    }
    if (m->vm_fd >= 0) {
        close(m->vm_fd);
    }
    kvm_sys_close(&m->kvm);
    if (m->have_klog) {
        console_destroy(&m->klog);
    }
    if (m->have_console) {
        console_destroy(&m->console);
    }
    free(m);
}

int machine_run(const struct machine_config *cfg, uint64_t t0_ns,
                struct machine_result *res, char *why, size_t whylen)
{
    struct machine *m;
    struct vcpu_end end;
    uint64_t t_run = 0;
    int ret;

    ret = check_config(cfg, why, whylen);
    if (ret < 0) {
        return ret;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    m->cfg = cfg;
    m->vm_fd = -1;
    m->kvm.fd = -1;
    /* With a command, hvc0 is the console and --serial says where the
     * kernel's own goes. */
    ret = console_init(&m->console, cfg->command ? NULL : cfg->serial,
                       cfg->expect, why, whylen);
    if (ret < 0) {
        free(m);
        return ret;
    }
    m->have_console = true;
    if (cfg->command) {
        ret = console_init(&m->klog, cfg->serial ? cfg->serial : "stderr", NULL,
                           why, whylen);
        if (ret < 0) {
            machine_free(m);
            return ret;
        }
        m->have_klog = true;
    }
    m->console.on_match = on_match;
    m->console.opaque = m;
    m->console.on_line = cfg->on_line;
    m->console.line_opaque = cfg->line_opaque;
    m->console.on_line_done = on_line_done;

    ret = classify_image(m, why, whylen);
    if (ret == 0 && cfg->check_kind) {
        ret = cfg->check_kind(cfg->check_opaque, m->fmt, why, whylen);
    }
    if (ret == 0) {
        ret = open_vm(m, why, whylen);
    }
    if (ret == 0) {
        ret = build_memory(m, why, whylen);
    }
    if (ret == 0 && m->board->init_devices) {
        ret = m->board->init_devices(m, why, whylen);
    }
    if (ret == 0) {
        ret = enable_dirty_ring(m, why, whylen);
    }
    if (ret == 0) {
        ret = create_vcpus(m, why, whylen);
    }
    if (ret == 0) {
        ret = setup_vcpus(m, why, whylen);
    }
    if (ret == 0 && cfg->on_loaded) {
        cfg->on_loaded(cfg->loaded_opaque);
    }
    if (ret == 0) {
        dump_setup(m);
        ret = run_vm(m, t0_ns, &t_run, &end, why, whylen);
    }
    if (ret == 0) {
        if (cfg->dump_slots) {
            fputs("at exit: ", stdout);
            kvm_memslots_dump(&m->slots, stdout);
            fflush(stdout);
        }
        fill_result(m, &end, t0_ns, t_run, res);
    }
    machine_free(m);
    return ret;
}
