/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables (ACPI 6.0 layouts) that tell an OS how many CPUs there are,
 * how interrupts are wired and how to power off and reset: what Linux
 * needs to run SMP with local APIC timers (rather than PIT ticks) and to
 * end the VM on `poweroff -f` and `reboot -f`. No firmware runs; the
 * tables are static and need no AML interpreter beyond Name objects.
 *
 * All tables sit in the window [ACPI_GPA, ACPI_END) = 0xe0000-0xeffff,
 * below the MP table (mptable.h, 0xf0000-0xfffff) and inside the BIOS
 * read-only area 0xe0000-0xfffff that Linux and other kernels scan for
 * "RSD PTR " on 16-byte boundaries; no loader writes there (boot.h). The
 * RSDP is at ACPI_RSDP_GPA, the start of the window. In order, 16-byte
 * aligned (the FACS 64-byte aligned, as the specification requires):
 *
 *   RSDP  revision 2: RSDT and XSDT addresses, both checksums
 *   FACS  version 2, 64 bytes (required unless HW_REDUCED_ACPI: OSPM's
 *         global lock lives in it, and ACPICA uses it once PM1_EN.GBL_EN
 *         reads back set, which it does here)
 *   DSDT  revision 2, AML: Name (_S5, Package (4) { 5, 5, 0, 0 }) and
 *         Scope (\_SB) with the keyboard controller (PNP0303 at ports
 *         0x60 and 0x64, IRQ 1; no mouse port) and the virtio-mmio
 *         devices (acpi_virtio)
 *   FACP  (FADT) revision 6.0, 276 bytes, not hardware-reduced: PM1a_EVT
 *         (4 bytes) and PM1a_CNT (2 bytes) at the configured ports, as
 *         both the 32-bit fields and X_ GAS (System I/O); no PM1b, PM2,
 *         PM timer or GPE blocks; SCI_INT 9; SMI_CMD 0 (always in ACPI
 *         mode); RESET_REG a GAS for the configured port, 8 bits, with
 *         RESET_VALUE 0x06; flags WBINVD, PROC_C1, PWR_BUTTON and
 *         SLP_BUTTON (no fixed-feature buttons), FIX_RTC (no RTC_STS),
 *         RESET_REG_SUP; IAPC_BOOT_ARCH LEGACY_DEVICES, 8042, VGA not
 *         present; CENTURY 0x32 (the RTC's century byte); C2/C3 latencies
 *         above their limits (no C2, no C3); FIRMWARE_CTRL and DSDT and
 *         X_DSDT point at the FACS and DSDT (X_FIRMWARE_CTRL is 0, as the
 *         specification asks when FIRMWARE_CTRL is set)
 *   RSDT  revision 1: FACP, APIC (for ACPI 1.0 readers)
 *   XSDT  revision 1: FACP, APIC
 *   APIC  (MADT) revision 4: local APIC at 0xfee00000, PCAT_COMPAT; one
 *         Processor Local APIC per CPU (processor UID = APIC id = index,
 *         enabled); one I/O APIC (id nr_cpus, 0xfec00000, GSI base 0);
 *         Interrupt Source Overrides ISA IRQ 0 -> GSI 2 (flags 0: conforms
 *         to ISA, edge and active high) and ISA IRQ 9 -> GSI 9, level
 *         triggered, active high (the SCI); Local APIC NMI on LINT1 of all
 *         processors (UID 0xff, flags 0).
 *
 * The same wiring as the MP table: the machine must route GSI 0 (the PIT)
 * to I/O APIC pin 2, and marks [ACPI_GPA, 1 MiB) reserved in e820. The
 * \_S5 SLP_TYP value is ACPI_PM_SLP_TYP_S5 (devices/acpi_pm.h), which the
 * PM1 control device checks.
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "boot.h"

/* The window, and the RSDP at its start (16-byte aligned). */
#define ACPI_GPA 0xe0000ull
#define ACPI_END 0xf0000ull
#define ACPI_RSDP_GPA ACPI_GPA

/* APIC ids are 8 bits, 0xff is broadcast and the I/O APIC takes one. */
#define ACPI_MAX_CPUS 254

#define ACPI_LAPIC_GPA 0xfee00000u
#define ACPI_IOAPIC_GPA 0xfec00000u
/* The SCI's ISA IRQ and GSI. */
#define ACPI_SCI_IRQ 9
/* The I/O APIC input the PIT (ISA IRQ 0) is overridden to. */
#define ACPI_PIT_GSI 2

/*
 * The ports the machine uses (acpi_config). 0x600-0x605 is free in this
 * machine's port map (the PC devices use 0x60, 0x64, 0x70-0x71, 0xf4,
 * 0x3f8-0x3ff and 0x510-0x511); the event block and the control block sit
 * next to each other, as at a chipset's PM I/O base. 0xcf9 is the PC reset
 * control register.
 */
#define ACPI_PM1A_EVT_PORT 0x600
#define ACPI_PM1A_CNT_PORT 0x604
#define ACPI_RESET_PORT 0xcf9
/* The FADT's RESET_VALUE: SYS_RST | RST_CPU, a hard reset. */
#define ACPI_RESET_VALUE 0x06

/* The most virtio-mmio devices the DSDT declares. */
#define ACPI_MAX_VIRTIO 16

/*
 * A virtio-mmio transport: Device (VRnn) in \_SB with _HID "LNRO0005",
 * _UID nn and _CRS Memory32Fixed (ReadWrite, base, size) and
 * Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { irq }, as
 * Linux's virtio_mmio driver finds them (QEMU's microvm declares them the
 * same way). Edge: the machine signals interrupts as edges.
 */
struct acpi_virtio {
    uint32_t base;
    uint32_t size;
    uint32_t irq;
};

/* What the tables describe. */
struct acpi_config {
    /* 1..ACPI_MAX_CPUS; CPU i has local APIC id i. */
    int nr_cpus;
    /* First port of PM1a_EVT_BLK (4 bytes) and PM1a_CNT_BLK (2 bytes). */
    uint16_t pm1a_evt_port;
    uint16_t pm1a_cnt_port;
    /* The reset register's port (1 byte). */
    uint16_t reset_port;
    /* virtio-mmio devices for the DSDT (at most ACPI_MAX_VIRTIO). */
    const struct acpi_virtio *virtio;
    size_t nr_virtio;
};

/*
 * The number of bytes acpi_write_tables() writes for (nr_cpus) CPUs and
 * (nr_virtio) virtio-mmio devices, starting at ACPI_GPA (alignment padding
 * included), or 0 when (nr_cpus) is not in 1..ACPI_MAX_CPUS or (nr_virtio)
 * above ACPI_MAX_VIRTIO. Never more than ACPI_END - ACPI_GPA.
 */
size_t acpi_tables_size(int nr_cpus, size_t nr_virtio);

/*
 * Build the tables for (cfg) and write them at ACPI_GPA with one call of
 * (write)(opaque, ...), acpi_tables_size(cfg->nr_cpus, cfg->nr_virtio) bytes;
 * store the RSDP's GPA in (*rsdp_gpa). Returns 0; -EINVAL (nothing written) for
 * a NULL argument, (cfg->nr_cpus) outside 1..ACPI_MAX_CPUS, a port of 0, a
 * block that runs past port 0xffff or blocks that overlap; -ENOMEM; or the
 * write function's error, with (*rsdp_gpa) untouched.
 */
__attribute__((warn_unused_result)) int
acpi_write_tables(const struct acpi_config *cfg, boot_write_fn write,
                  void *opaque, gpa_t *rsdp_gpa);

#endif /* VMM_ACPI_H */
