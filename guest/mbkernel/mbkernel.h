/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by the multiboot test kernel's assembly (boot.S) and its
 * C part (mbkernel.c): where the image and the AP trampoline live, the GDT
 * selectors, the multiboot v1 magic numbers, and the codes written to
 * isa-debug-exit. The kernel is entered by a multiboot v1 loader in 32-bit
 * protected mode with paging off, builds long mode itself and runs its
 * checks at CPL 0 (see README.md).
 */
#ifndef MBKERNEL_H
#define MBKERNEL_H

/* Physical (= virtual) load address of the image; mbkernel.ld agrees. */
#define MBK_LOAD_ADDR 0x100000
/*
 * Where the real-mode AP trampoline is copied at run time: page-aligned and
 * below 1 MiB, so the SIPI vector is MBK_TRAMPOLINE_ADDR >> 12.
 */
#define MBK_TRAMPOLINE_ADDR 0x8000
/* BSP stack size in bytes (the APs run without a stack). */
#define MBK_STACK_SIZE 0x4000

/* Selectors of the kernel's GDT (boot.S). */
#define MBK_SEL_CODE32 0x08
#define MBK_SEL_DATA 0x10
#define MBK_SEL_CODE64 0x18

/* Multiboot v1: magic in the image header, and in EAX at entry. */
#define MB_HEADER_MAGIC 0x1badb002
#define MB_BOOT_MAGIC 0x2badb002
/* Header flags: page-align modules (bit 0), give memory info (bit 1). */
#define MB_HEADER_FLAGS 0x00000003

/*
 * Values written to isa-debug-exit (port 0xf4, 32 bits). The VMM (and QEMU)
 * exit with status (v << 1) | 1: 1 when every check passed, 3 otherwise.
 */
#define MBK_DEBUG_EXIT_PORT 0xf4
#define MBK_EXIT_PASS 0
#define MBK_EXIT_FAIL 1

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The real-mode AP trampoline in the image (boot.S), copied to 0x8000. */
extern const char mbk_trampoline_start[];
extern const char mbk_trampoline_end[];
/* First byte and end of the loaded image (mbkernel.ld). */
extern const char __mbk_start[];
extern const char __mbk_end[];

/*
 * CPUs that reached long mode; every AP increments it once with a locked
 * add and halts. Lives in mbkernel.c; boot.S increments it.
 */
extern volatile uint32_t mbk_cpus_up;

/*
 * The kernel proper, called on the BSP in 64-bit mode with the values the
 * loader left in EAX (magic) and EBX (multiboot info address).
 */
_Noreturn void mbk_main(uint32_t magic, uint32_t info);

/*
 * Called from the exception stubs (boot.S) with the vector, the error code
 * (0 for vectors without one) and the faulting RIP; reports and exits.
 */
_Noreturn void mbk_exception(uint64_t vector, uint64_t error, uint64_t rip);
#endif

#endif /* MBKERNEL_H */
