/* SPDX-License-Identifier: MIT */
/*
 * x86-64 boot state for CPL-3 test guests: identity page tables, GDT, TSS
 * and the register values that enter them (see vcpu_x86_64.h for the
 * layout and Intel SDM vol. 3 ch. 3-4 and 8 for the formats).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vcpu_x86_64.h"

/* Page-table entry bits. */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)

#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull
#define GIB (1ull << 30)

#define RAM_LOW_MAX (3 * GIB)
#define HOLE_END (4 * GIB)

/* 64-bit TSS: 104 bytes, no I/O bitmap (its offset points past the end). */
#define TSS_SIZE 104u
#define TSS_RSP0_OFF 4u
#define TSS_IOMAP_OFF 102u

/* GDT slots (index = selector >> 3); the TSS descriptor takes two. */
#define GDT_ENTRIES 10u

/*
 * A code or data descriptor: flat base 0, limit 0xfffff pages.
 * (access) is P|DPL|S|type, (flags) is G|D/B|L|AVL.
 */
static uint64_t gdt_flat(unsigned access, unsigned flags)
{
    return 0xffffull | (uint64_t)access << 40 | 0xfull << 48 |
           (uint64_t)flags << 52;
}

/* Store (v) little-endian at (p): guest memory may be unaligned for us. */
static void put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (i * 8));
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void write_gdt(uint8_t *gdt)
{
    uint64_t tss = X86_BOOT_TSS_GPA;
    uint64_t limit = TSS_SIZE - 1;

    memset(gdt, 0, GDT_ENTRIES * 8);
    /* Kernel code: P, DPL 0, S, execute/read accessed; L, G. */
    /* Kernel 32-bit code, for protected-mode (multiboot, PVH) entries. */
    put64(gdt + X86_SEL_KERNEL_CS32, gdt_flat(0x9b, 0xc));
    put64(gdt + X86_SEL_KERNEL_CS, gdt_flat(0x9b, 0xa));
    /* Kernel data: P, DPL 0, S, read/write accessed; D/B, G. */
    put64(gdt + X86_SEL_KERNEL_DS, gdt_flat(0x93, 0xc));
    /* User 32-bit code, DPL 3 (unused, keeps Linux's layout). */
    put64(gdt + (X86_SEL_USER_CS32 & ~7), gdt_flat(0xfb, 0xc));
    put64(gdt + (X86_SEL_USER_DS & ~7), gdt_flat(0xf3, 0xc));
    put64(gdt + (X86_SEL_USER_CS & ~7), gdt_flat(0xfb, 0xa));
    /* 64-bit TSS, busy (type 0xb), P, DPL 0, byte granularity. */
    put64(gdt + X86_SEL_TSS, (limit & 0xffff) | (tss & 0xffffff) << 16 |
                                 0x8bull << 40 | (limit >> 16 & 0xf) << 48 |
                                 (tss >> 24 & 0xff) << 56);
    put64(gdt + X86_SEL_TSS + 8, tss >> 32);
}

static void write_tss(uint8_t *tss)
{
    memset(tss, 0, TSS_SIZE);
    put64(tss + TSS_RSP0_OFF, X86_BOOT_STACK0_TOP);
    put16(tss + TSS_IOMAP_OFF, TSS_SIZE);
}

/* The address space mapped: all of [0, 4 GiB), plus RAM above it. */
static uint64_t mapped_top(uint64_t mem_size)
{
    if (mem_size <= RAM_LOW_MAX) {
        return HOLE_END;
    }
    return HOLE_END + (mem_size - RAM_LOW_MAX);
}

int vcpu_x86_64_setup_memory(void *ram, uint64_t ram_len, uint64_t mem_size)
{
    uint8_t *base = ram;
    uint64_t top, nr_2m, nr_pd;

    if (!ram || ram_len < X86_BOOT_RESERVED_END || ram_len > mem_size) {
        return -EINVAL;
    }
    if (mem_size > X86_BOOT_MAX_MEM) {
        return -E2BIG;
    }
    top = mapped_top(mem_size);
    nr_2m = (top + PAGE_2M - 1) / PAGE_2M;
    nr_pd = (nr_2m + 511) / 512;
    /* Checked above through X86_BOOT_MAX_MEM; kept as a guard for edits. */
    if (X86_BOOT_PD_GPA + nr_pd * PAGE_4K > X86_BOOT_RESERVED_END) {
        return -E2BIG;
    }

    memset(base + X86_BOOT_GDT_GPA, 0, X86_BOOT_STACK0_TOP - X86_BOOT_GDT_GPA);
    write_gdt(base + X86_BOOT_GDT_GPA);
    write_tss(base + X86_BOOT_TSS_GPA);

    memset(base + X86_BOOT_PML4_GPA, 0,
           X86_BOOT_PD_GPA + nr_pd * PAGE_4K - X86_BOOT_PML4_GPA);
    put64(base + X86_BOOT_PML4_GPA,
          X86_BOOT_PDPT_GPA | PTE_P | PTE_RW | PTE_US);
    for (uint64_t i = 0; i < nr_pd; i++) {
        put64(base + X86_BOOT_PDPT_GPA + i * 8,
              (X86_BOOT_PD_GPA + i * PAGE_4K) | PTE_P | PTE_RW | PTE_US);
    }
    /*
     * The first 2 MiB through 4 KiB pages: page 0 absent, the rest
     * supervisor-only so that the guest cannot reach the VMM's structures.
     */
    put64(base + X86_BOOT_PD_GPA, X86_BOOT_PT_GPA | PTE_P | PTE_RW | PTE_US);
    for (uint64_t i = 1; i < 512; i++) {
        put64(base + X86_BOOT_PT_GPA + i * 8, i * PAGE_4K | PTE_P | PTE_RW);
    }
    for (uint64_t i = 1; i < nr_2m; i++) {
        uint64_t gpa = i * PAGE_2M;
        uint64_t pte = gpa | PTE_P | PTE_RW | PTE_US | PTE_PS;

        if (gpa >= RAM_LOW_MAX && gpa < HOLE_END) {
            pte |= PTE_PCD | PTE_PWT;
        }
        put64(base + X86_BOOT_PD_GPA + i * 8, pte);
    }
    return 0;
}

void vcpu_x86_64_map_page0(void *ram)
{
    put64((uint8_t *)ram + X86_BOOT_PT_GPA, PTE_P | PTE_RW);
}

static void seg_user(struct kvm_segment *s, uint16_t sel, bool code)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = code ? 0xb : 0x3; /* execute/read or read/write, accessed */
    s->present = 1;
    s->dpl = 3;
    s->db = code ? 0 : 1; /* a 64-bit code segment must have D clear */
    s->s = 1;
    s->l = code ? 1 : 0;
    s->g = 1;
}

void vcpu_x86_64_init_sregs(struct kvm_sregs *sregs)
{
    seg_user(&sregs->cs, X86_SEL_USER_CS, true);
    seg_user(&sregs->ss, X86_SEL_USER_DS, false);
    seg_user(&sregs->ds, X86_SEL_USER_DS, false);
    seg_user(&sregs->es, X86_SEL_USER_DS, false);
    seg_user(&sregs->fs, X86_SEL_USER_DS, false);
    seg_user(&sregs->gs, X86_SEL_USER_DS, false);

    memset(&sregs->tr, 0, sizeof(sregs->tr));
    sregs->tr.base = X86_BOOT_TSS_GPA;
    sregs->tr.limit = TSS_SIZE - 1;
    sregs->tr.selector = X86_SEL_TSS;
    sregs->tr.type = 0xb; /* busy 64-bit TSS */
    sregs->tr.present = 1;

    memset(&sregs->ldt, 0, sizeof(sregs->ldt));
    sregs->ldt.type = 0x2;
    sregs->ldt.unusable = 1;

    memset(&sregs->gdt, 0, sizeof(sregs->gdt));
    sregs->gdt.base = X86_BOOT_GDT_GPA;
    sregs->gdt.limit = GDT_ENTRIES * 8 - 1;
    /* No IDT: an exception cannot be delivered and ends in a triple fault. */
    memset(&sregs->idt, 0, sizeof(sregs->idt));

    sregs->cr0 = X86_BOOT_CR0;
    sregs->cr2 = 0;
    sregs->cr3 = X86_BOOT_PML4_GPA;
    sregs->cr4 = X86_BOOT_CR4;
    sregs->cr8 = 0;
    sregs->efer = X86_BOOT_EFER;
}

int vcpu_x86_64_init_regs(struct kvm_regs *regs, gpa_t entry, uint64_t rsp,
                          uint32_t vcpu_id)
{
    /* Identity-mapped addresses live in the lower canonical half. */
    if (entry >= (1ull << 47) || rsp >= (1ull << 47)) {
        return -EINVAL;
    }
    memset(regs, 0, sizeof(*regs));
    regs->rip = entry;
    regs->rsp = rsp;
    regs->rdi = vcpu_id;
    regs->rflags = X86_BOOT_RFLAGS;
    return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, bool code, bool l)
{
    memset(s, 0, sizeof(*s));
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = code ? 0xb : 0x3;
    s->present = 1;
    s->dpl = 0;
    s->db = (code && l) ? 0 : 1;
    s->s = 1;
    s->l = l ? 1 : 0;
    s->g = 1;
}

void vcpu_x86_64_init_sregs_kernel64(struct kvm_sregs *sregs)
{
    vcpu_x86_64_init_sregs(sregs);
    seg_flat(&sregs->cs, X86_SEL_KERNEL_CS, true, true);
    seg_flat(&sregs->ss, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->ds, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->es, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->fs, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->gs, X86_SEL_KERNEL_DS, false, false);
}

void vcpu_x86_64_init_sregs_prot32(struct kvm_sregs *sregs)
{
    seg_flat(&sregs->cs, X86_SEL_KERNEL_CS32, true, false);
    seg_flat(&sregs->ss, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->ds, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->es, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->fs, X86_SEL_KERNEL_DS, false, false);
    seg_flat(&sregs->gs, X86_SEL_KERNEL_DS, false, false);

    memset(&sregs->tr, 0, sizeof(sregs->tr));
    sregs->tr.limit = 0xffff;
    sregs->tr.type = 0xb; /* busy 32-bit TSS, as after reset */
    sregs->tr.present = 1;
    memset(&sregs->ldt, 0, sizeof(sregs->ldt));
    sregs->ldt.type = 0x2;
    sregs->ldt.unusable = 1;
    memset(&sregs->gdt, 0, sizeof(sregs->gdt));
    sregs->gdt.base = X86_BOOT_GDT_GPA;
    sregs->gdt.limit = 10 * 8 - 1;
    memset(&sregs->idt, 0, sizeof(sregs->idt));
    sregs->cr0 = 0x11; /* PE, ET: protected mode, paging off */
    sregs->cr2 = 0;
    sregs->cr3 = 0;
    sregs->cr4 = 0;
    sregs->efer = 0;
}
