/* SPDX-License-Identifier: MIT */
/*
 * The machine (see machine.h): regions, KVM, devices, the image, vCPUs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "devices/testdev.h"
#include "devices/testdev_abi.h"
#include "kvm.h"
#include "kvm_memslots.h"
#include "loader_elf.h"
#include "machine.h"
#include "mem/address_space.h"
#include "mem/dump.h"
#include "mem/ramblock.h"
#include "mem/region.h"
#include "vcpu.h"
#include "vcpu_x86_64.h"

#define GIB (1ull << 30)
/* RAM below 4 GiB ends here; the rest is mapped from 4 GiB (QEMU pc). */
#define RAM_LOW_MAX TESTDEV_RAM_LOW_MAX
#define RAM_HIGH_BASE TESTDEV_RAM_HIGH_BASE
#define IO_SPACE_SIZE 0x10000u

struct machine {
    const struct machine_config *cfg;
    struct kvm_sys kvm;
    int vm_fd;

    struct mem_sys *sys;
    struct mem_region root;
    struct mem_region io_root;
    struct address_space *as_mem;
    struct address_space *as_io;
    struct ram_block *ram_block;
    struct mem_region ram;
    struct mem_region ram_below;
    struct mem_region ram_above;
    bool have_ram, have_below, have_above, have_root, have_io_root;
    uint64_t ram_low_size;

    struct testdev td;
    bool have_td;
    struct kvm_memslots slots;
    bool have_slots;
    struct vcpu_set vcpus;
    bool have_vcpus;
};

uint64_t machine_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Test device hooks. */

static void td_console(void *opaque, const char *buf, size_t len)
{
    struct machine *m = opaque;

    if (m->cfg->console) {
        m->cfg->console(m->cfg->console_opaque, buf, len);
        return;
    }
    fwrite(buf, 1, len, stdout);
    fflush(stdout);
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

/* The raw benchmark path: the test device's registers by hand. */
static bool raw_mmio(void *opaque, struct kvm_run *run)
{
    struct machine *m = opaque;
    uint64_t off = run->mmio.phys_addr - TESTDEV_BASE;

    if (run->mmio.phys_addr < TESTDEV_BASE || off >= TESTDEV_SIZE) {
        if (!run->mmio.is_write) {
            memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
        }
        return false;
    }
    switch (off) {
    case TESTDEV_REG_NOP:
        return false;
    case TESTDEV_REG_EXIT:
        return true;
    case TESTDEV_REG_ARG:
        memcpy(run->mmio.data, &m->cfg->guest_arg, sizeof(uint64_t));
        return false;
    default:
        memset(run->mmio.data, 0, sizeof(run->mmio.data));
        return false;
    }
}

static int load_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
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
        ret = mr_add_subregion(&m->root, TESTDEV_BASE, &m->td.regs);
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
    struct mem_region *subs[] = {
        &m->ram_below, &m->ram_above, &m->td.regs,    &m->td.rom,
        &m->td.ram,    &m->td.alias,  &m->td.scratch, &m->td.toggle,
    };
    unsigned i;
    int bad = 0;

    if (m->sys) {
        mem_begin(m->sys);
        for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
            if (subs[i]->container) {
                bad |= mr_del_subregion(subs[i]->container, subs[i]);
            }
        }
        bad |= mem_commit(m->sys);
        mem_sys_free(m->sys);
        m->sys = NULL;
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
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[256];
    } cpuid;
    int ret;

    memset(&cpuid, 0, sizeof(cpuid));
    cpuid.c.nent = 256;
    ret = kvm_ioctl(m->kvm.fd, KVM_GET_SUPPORTED_CPUID, &cpuid.c);
    if (ret < 0) {
        return ret;
    }
    return kvm_ioctl(v->fd, KVM_SET_CPUID2, &cpuid.c);
}

static int setup_vcpus(struct machine *m, gpa_t entry, char *why, size_t whylen)
{
    int i, ret;

    ret = vcpu_x86_64_setup_memory(mr_ram_ptr(&m->ram, 0), m->ram_low_size,
                                   m->cfg->mem_size);
    if (ret < 0) {
        snprintf(why, whylen, "boot page tables for %" PRIu64 " MiB: %s",
                 m->cfg->mem_size >> 20, strerror(-ret));
        return ret;
    }
    for (i = 0; i < m->vcpus.nr; i++) {
        struct vcpu *v = &m->vcpus.vcpus[i];
        struct kvm_sregs sregs;
        struct kvm_regs regs;

        ret = setup_cpuid(m, v);
        if (ret == 0) {
            ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
        }
        if (ret == 0) {
            vcpu_x86_64_init_sregs(&sregs);
            ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs);
        }
        if (ret == 0) {
            ret = vcpu_x86_64_init_regs(&regs, entry, 0, (uint32_t)i);
        }
        if (ret == 0) {
            ret = kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
        }
        if (ret < 0) {
            snprintf(why, whylen, "vCPU %d setup: %s", i, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static int load_image(struct machine *m, gpa_t *entry, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    struct loader_elf_limits lim = {
        .min_gpa = TESTDEV_GUEST_MIN_GPA,
        .max_gpa = m->ram_low_size,
    };
    struct loader_elf_info info;
    char msg[200];
    int ret;

    ret =
        loader_elf_probe(cfg->image, cfg->image_size, &info, msg, sizeof(msg));
    if (ret < 0) {
        snprintf(why, whylen, "%s: %s", cfg->image_name, msg);
        return ret;
    }
    if (!info.test_guest) {
        snprintf(why, whylen,
                 "%s: an ELF image without the VMMGUEST note is a kernel; "
                 "kernel loaders are not in this build",
                 cfg->image_name);
        return -ENOEXEC;
    }
    ret = loader_elf_load(cfg->image, cfg->image_size, &lim, load_write, m,
                          &info, msg, sizeof(msg));
    if (ret < 0) {
        snprintf(why, whylen, "%s: %s", cfg->image_name, msg);
        return ret;
    }
    *entry = info.entry;
    return 0;
}

/* Resident KiB of the process, less the resident part of guest RAM. */
static uint64_t vmm_rss_kib(const struct machine *m)
{
    uint64_t rss = 0, guest = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t len = ram_block_used_length(m->ram_block);
    uint64_t pages = len / page, i;
    char line[256];
    unsigned char *vec;
    FILE *f = fopen("/proc/self/status", "re");

    if (f) {
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "VmRSS: %" SCNu64, &rss) == 1) {
                break;
            }
        }
        fclose(f);
    }
    vec = malloc(pages ? pages : 1);
    if (vec && mincore(ram_block_host(m->ram_block), len, vec) == 0) {
        for (i = 0; i < pages; i++) {
            guest += vec[i] & 1;
        }
    }
    free(vec);
    guest = guest * page / 1024;
    return rss > guest ? rss - guest : 0;
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

int machine_run(const struct machine_config *cfg, uint64_t t0_ns,
                struct machine_result *res, char *why, size_t whylen)
{
    struct machine *m;
    struct vcpu_end end;
    uint64_t t_run;
    gpa_t entry = 0;
    int ret;

    if (cfg->cpus < 1) {
        snprintf(why, whylen, "--cpus %d: need at least 1", cfg->cpus);
        return -EINVAL;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    m->cfg = cfg;
    m->vm_fd = -1;
    m->kvm.fd = -1;

    ret = kvm_sys_open(&m->kvm, cfg->kvm_device, why, whylen);
    if (ret < 0) {
        goto out;
    }
    if (cfg->cpus > m->kvm.max_vcpus) {
        snprintf(why, whylen, "--cpus %d: this host's KVM allows at most %d",
                 cfg->cpus, m->kvm.max_vcpus);
        ret = -EINVAL;
        goto out;
    }
    ret = kvm_ioctl_val(m->kvm.fd, KVM_CREATE_VM, 0);
    if (ret < 0) {
        snprintf(why, whylen, "KVM_CREATE_VM: %s", strerror(-ret));
        goto out;
    }
    m->vm_fd = ret;
    ret = build_memory(m, why, whylen);
    if (ret < 0) {
        goto out;
    }
    ret = vcpu_set_init(&m->vcpus, m->vm_fd, cfg->cpus, m->kvm.vcpu_mmap_size,
                        m->as_mem, m->as_io);
    if (ret < 0) {
        snprintf(why, whylen, "creating %d vCPUs: %s", cfg->cpus,
                 strerror(-ret));
        goto out;
    }
    m->have_vcpus = true;
    if (cfg->raw_mmio) {
        m->vcpus.raw_mmio = raw_mmio;
        m->vcpus.raw_opaque = m;
    }
    ret = kvm_memslots_init(&m->slots, m->vm_fd, m->kvm.nr_memslots,
                            vcpu_set_park, vcpu_set_unpark, &m->vcpus);
    if (ret < 0) {
        snprintf(why, whylen, "memslots: %s", strerror(-ret));
        goto out;
    }
    m->have_slots = true;
    ret = as_listener_register(m->as_mem, &m->slots.listener);
    if (ret < 0) {
        snprintf(why, whylen, "creating KVM memslots: %s", strerror(-ret));
        goto out;
    }
    ret = load_image(m, &entry, why, whylen);
    if (ret < 0) {
        goto out;
    }
    ret = setup_vcpus(m, entry, why, whylen);
    if (ret < 0) {
        goto out;
    }
    dump_setup(m);
    /* Every host resource is acquired: give up the privileges. */
    ret = caps_drop_all(why, whylen);
    if (ret < 0) {
        goto out;
    }
    t_run = machine_now_ns();
    ret = vcpu_set_start(&m->vcpus);
    if (ret < 0) {
        snprintf(why, whylen, "starting vCPU threads: %s", strerror(-ret));
    }
    vcpu_set_wait(&m->vcpus, &end);
    if (ret < 0) {
        goto out;
    }
    if (cfg->dump_slots) {
        fputs("at exit: ", stdout);
        kvm_memslots_dump(&m->slots, stdout);
        fflush(stdout);
    }
    memset(res, 0, sizeof(*res));
    res->exit_code = end.status;
    snprintf(res->reason, sizeof(res->reason), "%s", end.reason);
    res->start_to_first_run_ms =
        m->vcpus.first_run_ns ? (double)(m->vcpus.first_run_ns - t0_ns) / 1e6
                              : -1;
    res->run_ms = (double)(machine_now_ns() - t_run) / 1e6;
    res->mmio_exits = m->vcpus.mmio_exits;
    res->io_exits = m->vcpus.io_exits;
    res->rss_kib = vmm_rss_kib(m);
out:
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
    free(m);
    return ret;
}
