/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables, which tell a kernel
 * without ACPI how many CPUs there are and how ISA interrupts reach the
 * I/O APIC. Written at MPTABLE_GPA (0xf0000, the BIOS area a kernel scans
 * for "_MP_"): the 16-byte floating pointer, then the "PCMP"
 * configuration table:
 *
 *   - one processor entry per CPU: local APIC id i, version 0x14,
 *     enabled, the boot processor flag on CPU 0;
 *   - one bus, id 0, "ISA";
 *   - one I/O APIC, id nr_cpus, version 0x11, at 0xfec00000;
 *   - 16 I/O interrupt entries: the 8259's ExtINT on INTIN0, ISA IRQ 0
 *     (the PIT) on INTIN2, ISA IRQ 1 and 3-15 on the pin of their number
 *     (IRQ 2 is the cascade); all "conforms to the bus": edge, active high;
 *   - local interrupts: ExtINT on LINT0 and NMI on LINT1 of every CPU.
 *
 * This is the MP specification's default PC wiring, which QEMU's firmware
 * describes too. With the in-kernel irqchip the machine must route GSI 0
 * to I/O APIC pin MPTABLE_PIT_PIN, as QEMU does (KVM's default routing
 * sends GSI 0 to pin 0). The floating pointer's IMCRP bit is clear:
 * virtual wire mode, as there is no IMCR.
 *
 * The machine marks [MPTABLE_GPA, MPTABLE_END) reserved in e820 (Linux
 * never uses 0xa0000-0xfffff as RAM anyway; a multiboot kernel might).
 */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stddef.h>

#include "boot.h"

#define MPTABLE_GPA 0xf0000ull
#define MPTABLE_END 0x100000ull
/* APIC ids are 8 bits, 0xff is broadcast and the I/O APIC takes one. */
#define MPTABLE_MAX_CPUS 254
#define MPTABLE_IOAPIC_GPA 0xfec00000u
#define MPTABLE_LAPIC_GPA 0xfee00000u
/* The I/O APIC input the PIT (ISA IRQ 0) is described on. */
#define MPTABLE_PIT_PIN 2

/*
 * The size in bytes of the tables for (nr_cpus) CPUs (floating pointer
 * included), or 0 when (nr_cpus) is not in 1..MPTABLE_MAX_CPUS.
 */
size_t mptable_size(int nr_cpus);

/*
 * Build the tables for (nr_cpus) CPUs and write them at MPTABLE_GPA with
 * one call of (write)(opaque, ...); store the floating pointer's GPA in
 * (*where). Returns 0, -EINVAL for (nr_cpus) outside 1..MPTABLE_MAX_CPUS
 * or no write function (nothing written), -ENOMEM, or the write
 * function's error.
 */
__attribute__((warn_unused_result)) int
mptable_write(int nr_cpus, boot_write_fn write, void *opaque, gpa_t *where);

#endif /* VMM_MPTABLE_H */
