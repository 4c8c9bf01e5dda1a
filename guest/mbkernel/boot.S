/* SPDX-License-Identifier: MIT */
/*
 * Multiboot header, 32-bit entry, the switch to long mode, the AP
 * trampoline and the descriptor tables of the multiboot test kernel.
 *
 * Everything that can be computed at link time is: the page tables (the low
 * 4 GiB identity-mapped with 2 MiB pages), the GDT and the IDT are
 * initialised data, so no loop fills them at run time. On a PVM host every
 * CPL-0 instruction is emulated (~1 us each), so the BSP executes a few
 * dozen instructions here before it calls mbk_main().
 *
 * The file is assembled as x86-64 code; .code16/.code32 switch the encoding
 * for the parts that run in real and protected mode. The image is linked as
 * ELF64 and converted to ELF32 afterwards (see CMakeLists.txt).
 */
#include "mbkernel.h"

#define CR0_PE (1 << 0)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_NW (1 << 29)
#define CR0_CD (1 << 30)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

/* Page-table entry bits. */
#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

/* From here the 4th GiB (PCI/APIC/IOAPIC MMIO) is mapped uncached. */
#define MMIO_HOLE 0xc0000000

/*
 * Enter long mode from flat 32-bit protected mode, paging off: PAE, CR3 =
 * the static PML4, EFER.LME, then CR0.PG. Caching is turned on as well
 * (CD and NW are set after INIT on an AP). Clobbers EAX, ECX, EDX. The
 * caller far-jumps to a 64-bit code segment right after.
 */
.macro ENTER_LONG_MODE
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $mbk_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    andl $~(CR0_CD | CR0_NW), %eax
    orl $(CR0_PG | CR0_NE | CR0_ET | CR0_PE), %eax
    movl %eax, %cr0
.endm

/*
 * The multiboot v1 header: first in the image, so within the first 8 KiB
 * of the file, 4-byte aligned. Bit 16 of the flags is clear: the loader
 * takes the load addresses from the ELF program headers.
 */
    .section .multiboot, "a"
    .balign 4
mb_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

/*
 * BSP entry: 32-bit protected mode, paging off, EAX = multiboot magic,
 * EBX = info address; the loader's GDT is not ours to keep. EDI and ESI
 * carry magic and info through to mbk_main(), whose first two arguments
 * they are in the SysV x86-64 calling convention.
 */
    .section .text.entry, "ax"
    .code32
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movl %eax, %edi
    movl %ebx, %esi
    lgdt mbk_gdt_ptr
    ljmp $MBK_SEL_CODE32, $1f
1:  movl $MBK_SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    ENTER_LONG_MODE
    ljmp $MBK_SEL_CODE64, $entry64

    .code64
entry64:
    movl $MBK_SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movl $mbk_stack_top, %esp
    /*
     * The upper halves of the registers are undefined after the switch
     * from compatibility mode; a 32-bit move zero-extends.
     */
    movl %edi, %edi
    movl %esi, %esi
    lidt mbk_idt_ptr(%rip)
    xorl %ebp, %ebp
    call mbk_main
2:  cli
    hlt
    jmp 2b
    .size _start, . - _start

/*
 * AP path, second half: the trampoline far-jumps here in flat 32-bit
 * protected mode. The AP enters long mode on the BSP's page tables, counts
 * itself and halts for good. It has no stack and touches nothing but the
 * counter.
 */
    .text
    .code32
ap_entry32:
    movl $MBK_SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    ENTER_LONG_MODE
    ljmp $MBK_SEL_CODE64, $ap_entry64

    .code64
ap_entry64:
    lock incl mbk_cpus_up(%rip)
3:  cli
    hlt
    jmp 3b

/*
 * AP path, first half: copied to MBK_TRAMPOLINE_ADDR by the BSP; a SIPI
 * with vector MBK_TRAMPOLINE_ADDR >> 12 starts the AP here in real mode
 * (CS = 0x0800, IP = 0). It loads the kernel's GDT through a descriptor
 * that sits in the copy (real-mode addressing reaches only the low 1 MiB;
 * the table itself may be anywhere below 4 GiB), sets CR0.PE and jumps to
 * ap_entry32 in the image. Position-dependent on purpose: all addresses
 * are those of the copy.
 */
    .code16
    .globl mbk_trampoline_start, mbk_trampoline_end
mbk_trampoline_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl MBK_TRAMPOLINE_ADDR + (tramp_gdt_ptr - mbk_trampoline_start)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $MBK_SEL_CODE32, $ap_entry32
    .balign 4
tramp_gdt_ptr:
    .word mbk_gdt_end - mbk_gdt - 1
    .long mbk_gdt
mbk_trampoline_end:

/*
 * Exception stubs for vectors 0-31, 16 bytes apart from a 512-byte aligned
 * start, so that the IDT below can be initialised data: the linker script
 * splits the address of mbk_exc_stubs into the 16-bit halves a gate
 * holds, and no entry's low half can carry into the high one. Vectors
 * without a CPU-pushed error code push a 0, so the frame is always
 * [vector, error, RIP, CS, RFLAGS, ...].
 */
    .code64
    .balign 512
    .globl mbk_exc_stubs
mbk_exc_stubs:
    .set vec, 0
    .rept 32
    .balign 16
    .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
    .else
    pushq $0
    .endif
    pushq $vec
    jmp exc_common
    .set vec, vec + 1
    .endr

exc_common:
    movq 0(%rsp), %rdi
    movq 8(%rsp), %rsi
    movq 16(%rsp), %rdx
    andq $-16, %rsp
    call mbk_exception
4:  cli
    hlt
    jmp 4b

/*
 * GDT: null, flat 32-bit code, flat data, 64-bit code. The accessed bits
 * are preset so that loading a selector never writes to the table.
 */
    .data
    .balign 16
mbk_gdt:
    .quad 0
    .quad 0x00cf9b000000ffff
    .quad 0x00cf93000000ffff
    .quad 0x00af9b000000ffff
mbk_gdt_end:

/*
 * Operand of lgdt: 32-bit mode reads the limit and a 32-bit base; the
 * upper half of the .quad only matters to a 64-bit lgdt.
 */
    .balign 8
mbk_gdt_ptr:
    .word mbk_gdt_end - mbk_gdt - 1
    .quad mbk_gdt

/* IDT: 32 interrupt gates (type 0xe, DPL 0, present) to the stubs. */
    .balign 16
mbk_idt:
    .set vec, 0
    .rept 32
    .word mbk_exc_stubs_lo + vec * 16
    .word MBK_SEL_CODE64
    .byte 0, 0x8e
    .word mbk_exc_stubs_hi
    .long 0
    .long 0
    .set vec, vec + 1
    .endr
mbk_idt_end:

    .balign 8
mbk_idt_ptr:
    .word mbk_idt_end - mbk_idt - 1
    .quad mbk_idt

/*
 * Page tables: PML4[0] -> PDPT, PDPT[0..3] -> four page directories of
 * 512 2 MiB pages each, identity-mapping [0, 4 GiB). The 4th GiB, where
 * the LAPIC and other MMIO live, is mapped with PCD|PWT.
 */
    .section .data.pagetables, "aw"
    .balign 4096
    .globl mbk_pml4
mbk_pml4:
    .quad mbk_pdpt + (PTE_P | PTE_W)
    .fill 511, 8, 0
mbk_pdpt:
    .quad mbk_pd + 0x0000 + (PTE_P | PTE_W)
    .quad mbk_pd + 0x1000 + (PTE_P | PTE_W)
    .quad mbk_pd + 0x2000 + (PTE_P | PTE_W)
    .quad mbk_pd + 0x3000 + (PTE_P | PTE_W)
    .fill 508, 8, 0
mbk_pd:
    .set addr, 0
    .rept 2048
    .if addr >= MMIO_HOLE
    .quad addr + (PTE_P | PTE_W | PTE_PS | PTE_PWT | PTE_PCD)
    .else
    .quad addr + (PTE_P | PTE_W | PTE_PS)
    .endif
    .set addr, addr + 0x200000
    .endr

/* The BSP's stack. */
    .bss
    .balign 16
mbk_stack:
    .skip MBK_STACK_SIZE
mbk_stack_top:

    .section .note.GNU-stack, "", @progbits
