/* SPDX-License-Identifier: MIT */
/*
 * x86-64 vCPU boot state for test guests: the guest runs in 64-bit long
 * mode at CPL 3 (the only mode the PVM host runs natively, see HOST.md),
 * with identity page tables, a GDT, a busy 64-bit TSS and no IDT (any
 * exception is a triple fault). The same state is valid on hardware KVM.
 *
 * The VMM keeps guest memory below X86_BOOT_RESERVED_END
 * (== TESTDEV_GUEST_MIN_GPA) for these structures:
 *
 *   0x0000-0x0fff  not mapped (a guest NULL dereference faults)
 *   0x1000-0x1fff  GDT (X86_BOOT_GDT_GPA)
 *   0x2000-0x2fff  TSS (X86_BOOT_TSS_GPA)
 *   0x3000-0x3fff  ring-0 stack named by TSS.RSP0 (never used: no IDT)
 *   0x10000-...    PML4, PDPT, the PT of the first 2 MiB, then one PD per
 *                  GiB of address space mapped
 *
 * The first 2 MiB is mapped with 4 KiB pages and without the U bit, so a
 * CPL-3 guest cannot touch these structures (it faults instead). All other
 * memory is mapped with 2 MiB pages, U and RW set at every level: RAM
 * below 3 GiB, the device hole [3 GiB, 4 GiB) (cache-disabled), and RAM
 * from 4 GiB when there is more than 3 GiB.
 */
#ifndef VMM_VCPU_X86_64_H
#define VMM_VCPU_X86_64_H

#include <stdint.h>

#include <linux/kvm.h>

#include "mem/types.h"

#define X86_BOOT_GDT_GPA 0x1000ull
#define X86_BOOT_TSS_GPA 0x2000ull
#define X86_BOOT_STACK0_TOP 0x4000ull
#define X86_BOOT_PML4_GPA 0x10000ull
#define X86_BOOT_PDPT_GPA 0x11000ull
#define X86_BOOT_PT_GPA 0x12000ull
#define X86_BOOT_PD_GPA 0x13000ull
#define X86_BOOT_RESERVED_END 0x200000ull

/* The PDs that fit below X86_BOOT_RESERVED_END, one per GiB mapped. */
#define X86_BOOT_MAX_PDS ((X86_BOOT_RESERVED_END - X86_BOOT_PD_GPA) >> 12)
/*
 * The most guest RAM the tables can map: the address space covered by the
 * PDs less the 1 GiB device hole.
 */
#define X86_BOOT_MAX_MEM ((X86_BOOT_MAX_PDS - 1) << 30)

/* GDT selectors (Linux's layout, so SYSRET-style code would work). */
#define X86_SEL_KERNEL_CS 0x10
#define X86_SEL_KERNEL_DS 0x18
/* A flat 32-bit kernel code segment, for protected-mode entries. */
#define X86_SEL_KERNEL_CS32 0x08
#define X86_SEL_USER_CS32 0x23
#define X86_SEL_USER_DS 0x2b
#define X86_SEL_USER_CS 0x33
#define X86_SEL_TSS 0x40

/* Control registers for the guest. */
#define X86_BOOT_CR0 0x80050033ull /* PG AM WP NE ET MP PE */
#define X86_BOOT_CR4 0x620ull      /* OSXMMEXCPT OSFXSR PAE */
#define X86_BOOT_EFER 0xd01ull     /* NXE LMA LME SCE */
#define X86_BOOT_RFLAGS 0x2ull     /* interrupts off */

/*
 * Write the page tables, GDT and TSS into low guest memory.
 * @ram:      host address of guest RAM at GPA 0
 * @ram_len:  bytes of guest RAM at (ram); at least X86_BOOT_RESERVED_END
 * @mem_size: all guest RAM: min(mem_size, 3 GiB) at 0, the rest at 4 GiB
 * Returns 0, -EINVAL for a NULL (ram), a (ram_len) below
 * X86_BOOT_RESERVED_END or above (mem_size), or -E2BIG when (mem_size)
 * exceeds X86_BOOT_MAX_MEM. Writes nothing on failure.
 */
__attribute__((warn_unused_result)) int
vcpu_x86_64_setup_memory(void *ram, uint64_t ram_len, uint64_t mem_size);

/*
 * Map page 0 (absent for test guests, a null-pointer guard) in the page
 * tables vcpu_x86_64_setup_memory() wrote at (ram), supervisor-only, for
 * kernels: a bzImage's decompressor reads the BIOS data area there (0x40e,
 * 0x413) before it builds its own page tables when the CPU has LA57.
 */
void vcpu_x86_64_map_page0(void *ram);

/*
 * Set the segment, descriptor-table, control registers and EFER of
 * (sregs) for CPL-3 long mode with the structures that
 * vcpu_x86_64_setup_memory() wrote. Fill (sregs) with KVM_GET_SREGS first:
 * the APIC base and interrupt bitmap are kept. Cannot fail.
 */
void vcpu_x86_64_init_sregs(struct kvm_sregs *sregs);

/*
 * Set (regs) to start at (entry) with stack pointer (rsp) (0 lets the
 * guest set its own), interrupts off, and RDI = (vcpu_id). Every other
 * register is zero. -EINVAL, leaving (regs) alone, when (entry) or (rsp)
 * is not in the lower canonical half (the identity-mapped part).
 */
__attribute__((warn_unused_result)) int
vcpu_x86_64_init_regs(struct kvm_regs *regs, gpa_t entry, uint64_t rsp,
                      uint32_t vcpu_id);

/*
 * Kernel entry in 64-bit mode at CPL 0 (Linux's 64-bit boot protocol):
 * the long-mode state of vcpu_x86_64_init_sregs() with __BOOT_CS (0x10)
 * and __BOOT_DS (0x18) flat segments. Needs vcpu_x86_64_setup_memory().
 */
void vcpu_x86_64_init_sregs_kernel64(struct kvm_sregs *sregs);

/*
 * Kernel entry in flat 32-bit protected mode with paging off (multiboot,
 * PVH): CS 0x08 (32-bit code), data segments 0x18, CR0 = PE|ET, EFER 0.
 */
void vcpu_x86_64_init_sregs_prot32(struct kvm_sregs *sregs);

#endif /* VMM_VCPU_X86_64_H */
