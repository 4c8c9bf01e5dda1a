/* SPDX-License-Identifier: MIT */
/*
 * What machine.c and machine_pc.c share: the machine's state and the PC
 * parts (legacy devices, interrupt routing, kernel boot) that only
 * kernels get.
 */
#ifndef VMM_MACHINE_INTERNAL_H
#define VMM_MACHINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "boot.h"
#include "console.h"
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/pci_host.h"
#include "devices/rtc.h"
#include "devices/run_ctl.h"
#include "devices/serial8250.h"
#include "devices/testdev.h"
#include "devices/testdev_abi.h"
#include "devices/virtio_9p.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_rng.h"
#include "kvm.h"
#include "kvm_memslots.h"
#include "loader.h"
#include "machine.h"
#include "mem/region.h"
#include "vcpu.h"

#define GIB (1ull << 30)
/* RAM below 4 GiB ends here; the rest is mapped from 4 GiB (QEMU pc). */
#define RAM_LOW_MAX TESTDEV_RAM_LOW_MAX
#define RAM_HIGH_BASE TESTDEV_RAM_HIGH_BASE
#define IO_SPACE_SIZE 0x10000u
/* Where the PC's virtio-mmio devices start (in the MMIO hole, clear of the
 * test device's regions at 0xfe000000 and up), and how many fit. */
#define PC_VIRTIO_BASE 0xd0000000ull
#define PC_VIRTIO_MAX 7

struct pc_vdev;

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
    struct console console;
    bool have_console;
    /* machine_config.command: the kernel's console (the UART), apart. */
    struct console klog;
    bool have_klog;
    /* The main loop ended the VM for machine_config.stop_signal. */
    bool interrupted;
    /* The image's format, detected once (classify_image()), and the board
     * it gets. */
    enum boot_format fmt;
    const struct board_ops *board;
    struct pc_devices *pc_dev;
    /* machine_config.mmio_bench: exits seen, the current block's start,
     * and the totals. */
    uint64_t mmio_bench_seen;
    uint64_t mmio_bench_t;
    struct machine_mmio_bench mmio_bench;
};

/*
 * What differs between the boards vmm builds on the common spine
 * (machine.c: KVM, RAM, the test device, vCPUs, memslots, the run loop).
 * The bare board takes CPL-3 test guests: no interrupt controllers or
 * legacy devices, the ELF loaded and every vCPU started at its entry
 * (board_bare.c). The PC takes kernels (machine_pc.c). A NULL hook is a
 * step the board does not have.
 */
struct board_ops {
    const char *name;
    /* Boots kernels: the host's kernel-mode workarounds apply (PVM). */
    bool kernels;
    /* Per-VM set-up before any vCPU exists (interrupt controllers, PIT). */
    int (*setup_vm)(struct machine *m, char *why, size_t whylen);
    /* Create the board's devices and place them. */
    int (*init_devices)(struct machine *m, char *why, size_t whylen);
    /* Load the image and set the vCPUs' registers; CPUID is already set. */
    int (*boot)(struct machine *m, char *why, size_t whylen);
    /* Release the devices: their regions detached, readers gone. */
    void (*destroy_devices)(struct machine *m);
    /* Add the board's device counters to (res) as the VM ends. */
    void (*stats)(struct machine *m, uint64_t t0_ns,
                  struct machine_result *res);
    /* Bytes typed on stdin for the guest's console device. */
    void (*serial_input)(struct machine *m, const uint8_t *buf, size_t len);
};

extern const struct board_ops board_bare;
extern const struct board_ops board_pc;

/* Milliseconds from (t0_ns) to (t_ns), or -1 when (t_ns) (0) never came. */
double machine_ms_since(uint64_t t0_ns, uint64_t t_ns);

/* Write guest memory through the memory API (a loader's boot_write_fn). */
int machine_load_write(void *opaque, gpa_t gpa, const void *buf, size_t len);

/* Legacy PC devices on the "io" space (machine_pc.c). */
struct pc_devices {
    struct serial8250 uart;
    struct i8042 kbd;
    struct debug_exit dbg;
    struct fw_cfg fw;
    struct rtc rtc;
    struct acpi_pm acpi;
    struct pci_host pci;
    /* machine_config.command: the init's reports; (cmd) filled by its
     * hooks (phase_ns atomically, the rest before the VM's end). */
    struct run_ctl rctl;
    uint64_t phase_ns[MACHINE_NR_PHASES];
    uint64_t cmd_end_ns;
    struct machine_command_result cmd;
    unsigned live;
    /* Typed input the UART could not take yet; guarded by (rx_lock). */
    pthread_mutex_t rx_lock;
    uint8_t rx[4096];
    size_t rx_len;
    /* The kernel command line (the CPUID policy's part first). */
    char *cmdline;
    /* virtio-mmio devices (pc_virtio.c). */
    struct pc_vdev *virtio[PC_VIRTIO_MAX];
    unsigned nr_virtio;
};

/*
 * virtio-mmio devices on the PC (pc_virtio.c): the disks (cfg->disks, in
 * order), then virtio-rng (cfg->virtio_rng), then virtio-console
 * (cfg->console_virtio; two with cfg->command), at PC_VIRTIO_BASE + i *
 * VIRTIO_MMIO_SIZE, in the MMIO hole below the I/O APIC, each with its own
 * ISA interrupt (edge) and worker thread.
 */
unsigned pc_virtio_count(const struct machine_config *cfg);
int pc_virtio_init(struct machine *m, char *why, size_t whylen);
void pc_virtio_destroy(struct machine *m);
void pc_virtio_stats(struct machine *m, struct machine_result *res);
/* Typed input for the virtio console; false when there is none. */
bool pc_virtio_console_input(struct machine *m, const uint8_t *buf, size_t len);
/* The DSDT's list (none with cfg->virtio_cmdline); returns how many. */
size_t pc_virtio_acpi(const struct machine *m, struct acpi_virtio *out,
                      size_t max);
/* "virtio_mmio.device=..." for each device with cfg->virtio_cmdline, else
 * ""; 0 or -ENOSPC. */
int pc_virtio_cmdline(const struct machine_config *cfg, char *buf, size_t len);

/*
 * The PC (board_pc): the PC devices on the "io" space, 8250 at 0x3f8
 * (IRQ 4), i8042 at 0x60/0x64, RTC at 0x70, isa-debug-exit at 0xf4,
 * fw_cfg at 0x510, ACPI PM1 registers at 0x600/0x604, and the PCI host
 * bridge at 0xcf8 with the reset register at 0xcf9 (the PCI host's, not
 * the ACPI device's, so that a dword CONFIG_ADDRESS write stays whole);
 * GSI 0 (the PIT) routed to I/O APIC pin 2, as the MP table says; the
 * kernel, its modules and the boot tables (ACPI, MP table, e820) loaded,
 * the boot vCPU set for the protocol's entry while the others wait for
 * INIT/SIPI in the in-kernel LAPIC.
 */

#endif /* VMM_MACHINE_INTERNAL_H */
