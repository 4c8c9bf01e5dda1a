/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the kernel loaders (bzImage, PVH, multiboot), the MP
 * table writer and the machine: what the machine hands a loader (the
 * image, cmdline, modules, the RAM layout and its e820 map, a write
 * function), what a loader hands back (the CPU mode and the registers the
 * boot protocol defines), and the fixed low-memory layout they agree on.
 *
 * Low guest memory (all GPAs; every loader keeps to its part):
 *
 *   0x00000-0x00fff  real-mode IVT and BIOS data area: never written
 *   0x07000-0x07fff  Linux zero page (struct boot_params), bzImage only
 *   0x09000-0x1ffff  the machine's: GDT and identity page tables for
 *                    BOOT_MODE_LONG64; no loader writes here
 *   0x20000-0x7ffff  boot information, built by one loader per boot:
 *                    bzImage: the cmdline at BOOT_CMDLINE_GPA;
 *                    PVH: hvm_start_info, module list, memory map, cmdline;
 *                    multiboot: info block, cmdline, memory map, module
 *                    list, module strings, boot loader name.
 *                    Above 64 KiB, so it survives a kernel that puts a
 *                    real-mode trampoline at 0x8000-0xffff, and below the
 *                    EBDA/VGA area, so it is ordinary RAM to every kernel.
 *   0xf0000-0xfffff  MP table (mptable.h): the BIOS area, reserved in e820
 *   0x100000-        kernels (BOOT_KERNEL_MIN_GPA): no image may load below
 *
 * Modules and initrds go high (bzImage, PVH) or right after the kernel
 * (multiboot, as QEMU does), always in e820 RAM.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "mem/types.h"

/* e820 entry types (the same numbers in hvm_memmap_table_entry). */
#define E820_RAM 1u
#define E820_RESERVED 2u

/* The fixed layout described above. */
#define BOOT_ZERO_PAGE_GPA 0x7000ull
#define BOOT_MACHINE_GPA 0x9000ull
#define BOOT_MACHINE_END 0x20000ull
#define BOOT_INFO_GPA 0x20000ull
#define BOOT_INFO_END 0x80000ull
#define BOOT_CMDLINE_GPA BOOT_INFO_GPA
#define BOOT_KERNEL_MIN_GPA 0x100000ull

/* The most e820 entries a boot_input may carry (the zero page's limit). */
#define BOOT_MAX_E820 128u
/* The most modules a boot_input may carry. */
#define BOOT_MAX_MODULES 64u

/* One e820 range. */
struct boot_e820 {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

/*
 * Copy (len) bytes from (buf) to guest-physical (gpa); 0 or -errno. The
 * machine routes these through the memory API so that pages get dirtied.
 */
typedef int (*boot_write_fn)(void *opaque, gpa_t gpa, const void *buf,
                             size_t len);

/* A module (initrd, multiboot module): bytes held by the caller. */
struct boot_module {
    const void *data;
    size_t size;
    /* Multiboot string / PVH cmdline; NULL for none. */
    const char *cmdline;
    /* For messages (a file name); may be NULL. */
    const char *name;
};

/* The image formats the loaders know (loader_detect(), loader.h). */
enum boot_format {
    BOOT_FORMAT_UNKNOWN,
    BOOT_FORMAT_TEST_GUEST,
    BOOT_FORMAT_BZIMAGE,
    BOOT_FORMAT_PVH,
    BOOT_FORMAT_MULTIBOOT,
};

/* Everything a loader needs; loaders never modify it. */
struct boot_input {
    const void *image;
    size_t size;
    /* The kernel's path: the first word of the multiboot cmdline. */
    const char *image_name;
    /* The kernel cmdline; NULL means empty. */
    const char *cmdline;
    const struct boot_module *modules;
    size_t nr_modules;
    /*
     * The machine's memory map, passed to the kernel as is and used to
     * place images and modules (only in E820_RAM ranges). NULL/0 means the
     * default from loader_e820_default() (loader.h).
     */
    const struct boot_e820 *e820;
    size_t nr_e820;
    /* Bytes of RAM at GPA 0 and at 4 GiB. */
    uint64_t ram_below_4g;
    uint64_t ram_above_4g;
    int nr_cpus;
    /* The machine's ACPI RSDP, passed to Linux (boot_params.acpi_rsdp_addr,
     * hvm_start_info.rsdp_paddr); 0 when there are no ACPI tables. */
    gpa_t rsdp_gpa;
    boot_write_fn write;
    void *opaque;
    /* The image's format when the caller knows it already;
     * BOOT_FORMAT_UNKNOWN (0) has loader_load_kernel() detect it. */
    enum boot_format format;
};

/* The CPU state a boot protocol starts a kernel in. */
enum boot_mode {
    /*
     * Linux 64-bit boot protocol: CPL 0, long mode, paging on with every
     * RAM byte identity-mapped, interrupts off; the machine builds the page
     * tables and a GDT with flat __BOOT_CS 0x10 (code) and __BOOT_DS 0x18
     * (data) at BOOT_MACHINE_GPA, and loads CS 0x10, DS/ES/SS 0x18.
     */
    BOOT_MODE_LONG64,
    /*
     * Flat 32-bit protected mode, paging off, interrupts off (PVH,
     * multiboot): CS a 32-bit execute/read segment and DS/ES/FS/GS/SS
     * 32-bit read/write segments, all with base 0 and limit 4 GiB - 1; for
     * PVH also a 32-bit TSS with base 0 and limit 0x67 in TR.
     */
    BOOT_MODE_PROT32,
};

/*
 * Where and how to start the boot CPU. Only the registers the protocol
 * defines are set; the others are 0 and the machine sets them to 0.
 */
struct boot_entry {
    enum boot_mode mode;
    uint64_t rip;
    /* Linux: the zero page. */
    uint64_t rsi;
    /* PVH: hvm_start_info; multiboot: the info block. */
    uint64_t rbx;
    /* Multiboot: 0x2BADB002. */
    uint64_t rax;
    /* No protocol here defines a stack: always 0. */
    uint64_t rsp;
};

#endif /* VMM_BOOT_H */
