/* SPDX-License-Identifier: MIT */
/*
 * The PC that kernels get (see machine-internal.h): legacy devices on the
 * "io" space, interrupt routing, and booting a kernel image through the
 * loaders.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "cpuid.h"
#include "loader.h"
#include "machine-internal.h"
#include "mem/address_space.h"
#include "mptable.h"
#include "util/clock.h"
#include "vcpu_x86_64.h"

#define UART_PORT 0x3f8
#define UART_IRQ 4
#define KBD_DATA_PORT 0x60
#define KBD_CMD_PORT 0x64
#define RTC_PORT 0x70
#define DEBUG_EXIT_PORT 0xf4
#define FW_CFG_PORT 0x510
#define PCI_CONFIG_PORT 0xcf8
/* BIOS data area words: the EBDA's segment and base memory in KiB. */
#define BDA_EBDA_SEGMENT 0x40e
#define BDA_BASE_MEM_KIB 0x413

enum {
    PC_UART = 1u << 0,
    PC_KBD = 1u << 1,
    PC_DBG = 1u << 2,
    PC_FW = 1u << 3,
    PC_RTC = 1u << 4,
    PC_ACPI = 1u << 5,
    PC_PCI = 1u << 6,
    PC_RUNCTL = 1u << 7,
};

static void uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct machine *m = opaque;

    console_write(m->have_klog ? &m->klog : &m->console, buf, len);
}

static void uart_set_irq(void *opaque, int level)
{
    struct machine *m = opaque;
    struct kvm_irq_level irq = {.irq = UART_IRQ, .level = (uint32_t)level};

    (void)kvm_ioctl(m->vm_fd, KVM_IRQ_LINE, &irq);
}

/* Offer the UART what the host typed, as much as its FIFO takes. */
static void push_rx(struct machine *m)
{
    struct pc_devices *pc = m->pc_dev;
    size_t took;

    pthread_mutex_lock(&pc->rx_lock);
    took = serial8250_receive(&pc->uart, pc->rx, pc->rx_len);
    memmove(pc->rx, pc->rx + took, pc->rx_len - took);
    pc->rx_len -= took;
    pthread_mutex_unlock(&pc->rx_lock);
}

static void uart_rx_ready(void *opaque)
{
    push_rx(opaque);
}

static const struct serial8250_hooks uart_hooks = {
    .tx = uart_tx,
    .set_irq = uart_set_irq,
    .rx_ready = uart_rx_ready,
};

static void kbd_reset(void *opaque)
{
    struct machine *m = opaque;

    vcpu_set_end(&m->vcpus, 0, "guest reset (i8042)");
}

static const struct i8042_hooks kbd_hooks = {.reset = kbd_reset};

static void dbg_exit(void *opaque, int status)
{
    struct machine *m = opaque;

    /* A process status carries 8 bits. */
    vcpu_set_end(&m->vcpus, status & 0xff, "isa-debug-exit");
}

static const struct debug_exit_hooks dbg_hooks = {.exit = dbg_exit};

static void acpi_poweroff(void *opaque)
{
    struct machine *m = opaque;

    vcpu_set_end(&m->vcpus, 0, "guest power-off (ACPI S5)");
}

static void acpi_reset(void *opaque)
{
    struct machine *m = opaque;

    vcpu_set_end(&m->vcpus, 0, "guest reset (0xcf9)");
}

static const struct acpi_pm_hooks acpi_hooks = {
    .poweroff = acpi_poweroff,
    .reset = acpi_reset,
};

static void rctl_phase(void *opaque, unsigned phase)
{
    struct machine *m = opaque;

    if (phase < MACHINE_NR_PHASES) {
        __atomic_store_n(&m->pc_dev->phase_ns[phase], clock_now_ns(),
                         __ATOMIC_RELAXED);
    }
}

/* The command ended: so does the VM, with its status (a shell's 128 + n
 * for a signal). The device calls this or rctl_failed() once. */
static void rctl_status(void *opaque, int status)
{
    struct machine *m = opaque;
    struct pc_devices *pc = m->pc_dev;

    pc->cmd_end_ns = clock_now_ns();
    pc->cmd.status = status;
    pc->cmd.ended = true;
    vcpu_set_end(&m->vcpus, status >= 0 ? status : 128 - status,
                 status >= 0 ? "command exited" : "command killed by a signal");
}

static void rctl_failed(void *opaque, unsigned phase)
{
    struct machine *m = opaque;
    struct pc_devices *pc = m->pc_dev;

    (void)phase;
    pc->cmd_end_ns = clock_now_ns();
    pc->cmd.failed = true;
    vcpu_set_end(&m->vcpus, VMM_EXIT_NO_COMMAND,
                 "the guest's init could not run the command");
}

static const struct run_ctl_hooks rctl_hooks = {
    .phase = rctl_phase,
    .status = rctl_status,
    .failed = rctl_failed,
};

/* The FADT's reset register is 0xcf9, which the PCI host decodes. */
static const struct pci_host_hooks pci_hooks = {.reset = acpi_reset};

static void pc_serial_input(struct machine *m, const uint8_t *buf, size_t len)
{
    struct pc_devices *pc = m->pc_dev;
    size_t room;

    if (!pc || pc_virtio_console_input(m, buf, len)) {
        return;
    }
    pthread_mutex_lock(&pc->rx_lock);
    room = sizeof(pc->rx) - pc->rx_len;
    /* Typing faster than the guest reads: the excess is dropped. */
    if (len > room) {
        len = room;
    }
    memcpy(pc->rx + pc->rx_len, buf, len);
    pc->rx_len += len;
    pthread_mutex_unlock(&pc->rx_lock);
    push_rx(m);
}

/* The kernel command line the guest sees: the policy's part first, then
 * the virtio devices' (--virtio-cmdline), then the user's, then
 * console=hvc0 with --console virtio (the last console= is /dev/console). */
static char *build_cmdline(const struct machine *m, enum boot_format fmt)
{
    const char *user = m->cfg->cmdline ? m->cfg->cmdline : "";
    const char *extra = "";
    char virtio[PC_VIRTIO_MAX * 48];
    size_t len;
    char *s;

    if (fmt == BOOT_FORMAT_BZIMAGE || fmt == BOOT_FORMAT_PVH) {
        extra = cpuid_policy_kernel_params(m->cfg->cpuid);
        extra = extra ? extra : "";
    }
    if (pc_virtio_cmdline(m->cfg, virtio, sizeof(virtio)) < 0) {
        return NULL;
    }
    len = strlen(extra) + strlen(virtio) + strlen(user) + 3 +
          sizeof(" console=hvc0");
    s = malloc(len);
    if (s) {
        snprintf(s, len, "%s%s%s%s%s%s", extra, *extra && *virtio ? " " : "",
                 virtio, (*extra || *virtio) && *user ? " " : "", user,
                 m->cfg->console_virtio ? " console=hvc0" : "");
    }
    return s;
}

/* The PC devices' port regions in the I/O address space (one
 * transaction: the caller's). */
static int pc_place_ports(struct machine *m, struct pc_devices *pc)
{
    const struct {
        uint16_t port;
        struct mem_region *mr;
    } ports[] = {
        {UART_PORT, &pc->uart.region},
        {KBD_DATA_PORT, &pc->kbd.region_data},
        {KBD_CMD_PORT, &pc->kbd.region_cmd},
        {RTC_PORT, &pc->rtc.region},
        {DEBUG_EXIT_PORT, &pc->dbg.region},
        {FW_CFG_PORT, &pc->fw.region},
        {ACPI_PM1A_EVT_PORT, &pc->acpi.region_evt},
        {ACPI_PM1A_CNT_PORT, &pc->acpi.region_cnt},
        {PCI_CONFIG_PORT, &pc->pci.region},
        /* Only for -- CMD. */
        {RUN_CTL_PORT, (pc->live & PC_RUNCTL) ? &pc->rctl.region : NULL},
    };
    int ret = 0;

    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]) && ret == 0; i++) {
        if (ports[i].mr) {
            ret = mr_add_subregion(&m->io_root, ports[i].port, ports[i].mr);
        }
    }
    return ret;
}

static int pc_devices_init(struct machine *m, char *why, size_t whylen)
{
    struct pc_devices *pc;
    int ret;

    pc = calloc(1, sizeof(*pc));
    if (!pc) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&pc->rx_lock, NULL);
    m->pc_dev = pc;
    ret = serial8250_init(&pc->uart, &uart_hooks, m);
    if (ret == 0) {
        pc->live |= PC_UART;
        ret = i8042_init(&pc->kbd, &kbd_hooks, m);
    }
    if (ret == 0) {
        pc->live |= PC_KBD;
        ret = debug_exit_init(&pc->dbg, &dbg_hooks, m);
    }
    if (ret == 0) {
        pc->live |= PC_DBG;
        ret = rtc_init(&pc->rtc, NULL, m, m->ram_low_size,
                       m->cfg->mem_size - m->ram_low_size);
    }
    if (ret == 0) {
        pc->live |= PC_RTC;
        ret = fw_cfg_init(&pc->fw, NULL, m);
    }
    if (ret == 0) {
        pc->live |= PC_FW;
        ret = acpi_pm_init(&pc->acpi, &acpi_hooks, m);
    }
    if (ret == 0) {
        pc->live |= PC_ACPI;
        ret = pci_host_init(&pc->pci, &pci_hooks, m);
    }
    if (ret == 0) {
        pc->live |= PC_PCI;
        if (m->cfg->command) {
            ret = run_ctl_init(&pc->rctl, &rctl_hooks, m);
            pc->live |= ret == 0 ? PC_RUNCTL : 0;
        }
    }
    if (ret == 0) {
        /* Built once: fw_cfg and the boot protocol give the same line. */
        pc->cmdline = build_cmdline(m, m->fmt);
        ret = pc->cmdline ? fw_cfg_add_cmdline(&pc->fw, pc->cmdline) : -ENOMEM;
    }
    if (ret == 0) {
        ret = fw_cfg_add_u64(&pc->fw, FW_CFG_RAM_SIZE, m->cfg->mem_size);
    }
    if (ret == 0) {
        ret = fw_cfg_add_u16(&pc->fw, FW_CFG_NB_CPUS, (uint16_t)m->cfg->cpus);
    }
    if (ret == 0) {
        ret = fw_cfg_add_u16(&pc->fw, FW_CFG_MAX_CPUS, (uint16_t)m->cfg->cpus);
    }
    if (ret < 0) {
        snprintf(why, whylen, "PC devices: %s", strerror(-ret));
        return ret;
    }
    mem_begin(m->sys);
    ret = pc_place_ports(m, pc);
    if (mem_commit(m->sys) < 0 && ret == 0) {
        ret = -EIO;
    }
    if (ret < 0) {
        snprintf(why, whylen, "placing the PC devices: %s", strerror(-ret));
        return ret;
    }
    return pc_virtio_init(m, why, whylen);
}

static void pc_devices_destroy(struct machine *m)
{
    struct pc_devices *pc = m->pc_dev;
    int bad = 0;

    if (!pc) {
        return;
    }
    pc_virtio_destroy(m);
    if (pc->live & PC_UART) {
        bad |= serial8250_destroy(&pc->uart);
    }
    if (pc->live & PC_KBD) {
        bad |= i8042_destroy(&pc->kbd);
    }
    if (pc->live & PC_DBG) {
        bad |= debug_exit_destroy(&pc->dbg);
    }
    if (pc->live & PC_RTC) {
        bad |= rtc_destroy(&pc->rtc);
    }
    if (pc->live & PC_FW) {
        bad |= fw_cfg_destroy(&pc->fw);
    }
    if (pc->live & PC_ACPI) {
        bad |= acpi_pm_destroy(&pc->acpi);
    }
    if (pc->live & PC_PCI) {
        bad |= pci_host_destroy(&pc->pci);
    }
    if (pc->live & PC_RUNCTL) {
        bad |= run_ctl_destroy(&pc->rctl);
    }
    if (bad) {
        fprintf(stderr, "vmm: warning: PC device teardown was incomplete\n");
    }
    pthread_mutex_destroy(&pc->rx_lock);
    free(pc->cmdline);
    free(pc);
    m->pc_dev = NULL;
}

static int pc_irq_routing(struct machine *m)
{
    enum { NR = 16 + 24 };
    struct kvm_irq_routing *r;
    unsigned n = 0, gsi;
    int ret;

    r = calloc(1, sizeof(*r) + NR * sizeof(r->entries[0]));
    if (!r) {
        return -ENOMEM;
    }
    /* ISA IRQs on the two 8259s (IRQ 2 is the cascade). */
    for (gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2) {
            continue;
        }
        r->entries[n].gsi = gsi;
        r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
        r->entries[n].u.irqchip.irqchip =
            gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
        r->entries[n].u.irqchip.pin = gsi % 8;
        n++;
    }
    /* The I/O APIC: GSI n on pin n, but the PIT (GSI 0) on pin 2. */
    for (gsi = 0; gsi < 24; gsi++) {
        if (gsi == 2) {
            continue;
        }
        r->entries[n].gsi = gsi;
        r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
        r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
        r->entries[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
        n++;
    }
    r->nr = n;
    ret = kvm_ioctl(m->vm_fd, KVM_SET_GSI_ROUTING, r);
    free(r);
    return ret;
}

/*
 * The in-kernel interrupt controllers (PIC, IOAPIC, LAPICs) and PIT, and
 * the addresses Intel's real-mode support needs, before any vCPU exists.
 */
static int pc_setup_vm(struct machine *m, char *why, size_t whylen)
{
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    uint64_t ident = 0xfeffc000;
    int ret;

    ret = kvm_ioctl_val(m->vm_fd, KVM_SET_TSS_ADDR, 0xfeffd000);
    if (ret == 0) {
        ret = kvm_ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
    }
    if (ret == 0) {
        ret = kvm_ioctl_val(m->vm_fd, KVM_CREATE_IRQCHIP, 0);
    }
    if (ret == 0) {
        ret = kvm_ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit);
    }
    if (ret == 0) {
        ret = pc_irq_routing(m);
    }
    if (ret < 0) {
        snprintf(why, whylen, "setting up the VM's interrupt controllers: %s",
                 strerror(-ret));
    }
    return ret;
}

static int set_boot_regs(struct machine *m, const struct boot_entry *e)
{
    struct vcpu *v = &m->vcpus.vcpus[0];
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int ret;

    ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
    if (ret < 0) {
        return ret;
    }
    if (e->mode == BOOT_MODE_LONG64) {
        vcpu_x86_64_init_sregs_kernel64(&sregs);
    } else {
        vcpu_x86_64_init_sregs_prot32(&sregs);
    }
    ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs);
    if (ret < 0) {
        return ret;
    }
    memset(&regs, 0, sizeof(regs));
    regs.rip = e->rip;
    regs.rsi = e->rsi;
    regs.rbx = e->rbx;
    regs.rax = e->rax;
    regs.rsp = e->rsp;
    regs.rflags = 0x2;
    return kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
}

/*
 * The memory map kernels see: RAM below 640 KiB, the BIOS area with the
 * ACPI tables and the MP table reserved, RAM from 1 MiB to the end of low
 * RAM, and the rest from 4 GiB.
 */
static size_t pc_e820(const struct machine *m, struct boot_e820 *e)
{
    size_t n = 0;

    e[n++] = (struct boot_e820){0, 0xa0000, E820_RAM};
    e[n++] = (struct boot_e820){ACPI_GPA, 0x100000 - ACPI_GPA, E820_RESERVED};
    if (m->ram_low_size > 0x100000) {
        e[n++] =
            (struct boot_e820){0x100000, m->ram_low_size - 0x100000, E820_RAM};
    }
    if (m->cfg->mem_size > m->ram_low_size) {
        e[n++] = (struct boot_e820){
            RAM_HIGH_BASE, m->cfg->mem_size - m->ram_low_size, E820_RAM};
    }
    return n;
}

static int pc_boot_kernel(struct machine *m, char *why, size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    struct acpi_virtio virtio[PC_VIRTIO_MAX];
    const struct acpi_config acpi = {
        .nr_cpus = cfg->cpus,
        .pm1a_evt_port = ACPI_PM1A_EVT_PORT,
        .pm1a_cnt_port = ACPI_PM1A_CNT_PORT,
        .reset_port = ACPI_RESET_PORT,
        .virtio = virtio,
        .nr_virtio = pc_virtio_acpi(m, virtio, PC_VIRTIO_MAX),
    };
    struct boot_e820 e820[8];
    struct boot_input in;
    struct boot_entry entry;
    gpa_t mp, rsdp;
    int ret;

    /* A GDT with __BOOT_CS/__BOOT_DS and identity page tables for the
     * low 4 GiB: the 64-bit boot protocol's entry state. Everything the
     * loaders place lies below 4 GiB. */
    ret = vcpu_x86_64_setup_memory(mr_ram_ptr(&m->ram, 0), m->ram_low_size,
                                   m->ram_low_size);
    if (ret < 0) {
        snprintf(why, whylen, "boot page tables: %s", strerror(-ret));
        return ret;
    }
    /* The BIOS data area in page 0: no EBDA (0x40e), 640 KiB of base
     * memory (0x413), as the e820 map says. The 5-level paging code of a
     * bzImage's decompressor reads both with our page tables still in
     * force, so page 0 is mapped for kernels. */
    vcpu_x86_64_map_page0(mr_ram_ptr(&m->ram, 0));
    ret = machine_load_write(m, BDA_EBDA_SEGMENT, &(uint16_t){0}, 2);
    if (ret == 0) {
        ret = machine_load_write(m, BDA_BASE_MEM_KIB, &(uint16_t){640}, 2);
    }
    if (ret < 0) {
        snprintf(why, whylen, "BIOS data area: %s", strerror(-ret));
        return ret;
    }
    /* Both descriptions of the CPUs: Linux prefers the MADT, kernels
     * without ACPI (or booted with acpi=off) read the MP table. */
    ret = acpi_write_tables(&acpi, machine_load_write, m, &rsdp);
    if (ret < 0) {
        snprintf(why, whylen, "ACPI tables for %d CPUs: %s", cfg->cpus,
                 strerror(-ret));
        return ret;
    }
    ret = mptable_write(cfg->cpus, machine_load_write, m, &mp);
    if (ret < 0) {
        snprintf(why, whylen, "MP table for %d CPUs: %s", cfg->cpus,
                 strerror(-ret));
        return ret;
    }
    memset(&in, 0, sizeof(in));
    in.image = cfg->image;
    in.size = cfg->image_size;
    in.image_name = cfg->image_name;
    in.cmdline = m->pc_dev->cmdline;
    in.format = m->fmt;
    in.modules = cfg->modules;
    in.nr_modules = cfg->nr_modules;
    in.nr_e820 = pc_e820(m, e820);
    in.e820 = e820;
    in.ram_below_4g = m->ram_low_size;
    in.ram_above_4g = cfg->mem_size - m->ram_low_size;
    in.nr_cpus = cfg->cpus;
    in.rsdp_gpa = rsdp;
    in.write = machine_load_write;
    in.opaque = m;
    ret = loader_load_kernel(&in, &entry, why, whylen);
    if (ret < 0) {
        return ret;
    }
    ret = set_boot_regs(m, &entry);
    if (ret < 0) {
        snprintf(why, whylen, "boot vCPU registers: %s", strerror(-ret));
    }
    return ret;
}

static void pc_stats(struct machine *m, uint64_t t0_ns,
                     struct machine_result *res)
{
    struct pc_devices *pc = m->pc_dev;

    pc_virtio_stats(m, res);
    if (!pc || !(pc->live & PC_RUNCTL)) {
        return;
    }
    /* The vCPUs are stopped: the hooks' writes are done. */
    res->command = pc->cmd;
    for (unsigned i = 0; i < MACHINE_NR_PHASES; i++) {
        res->command.phase_ms[i] = machine_ms_since(
            t0_ns, __atomic_load_n(&pc->phase_ns[i], __ATOMIC_RELAXED));
    }
    res->command.end_ms = machine_ms_since(t0_ns, pc->cmd_end_ns);
}

const struct board_ops board_pc = {
    .name = "pc",
    .kernels = true,
    .setup_vm = pc_setup_vm,
    .init_devices = pc_devices_init,
    .boot = pc_boot_kernel,
    .destroy_devices = pc_devices_destroy,
    .stats = pc_stats,
    .serial_input = pc_serial_input,
};
