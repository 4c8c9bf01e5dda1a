/* SPDX-License-Identifier: MIT */
/*
 * The runtime of the freestanding test guests: MMIO accessors, console
 * output, and wrappers for every register of the test device
 * (devices/testdev_abi.h). Guests run at CPL 3 with identity paging, so a
 * guest-physical address is also the pointer to it. A guest provides
 * main(); the entry stub gives each vCPU its own stack, runs main() on
 * vCPU 0 and exits with its return value; other vCPUs call
 * guest_secondary().
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/testdev_abi.h"

/* vCPUs that get a stack; others park in the entry stub. */
#define GUEST_MAX_VCPUS 8
/* Bytes of stack per vCPU. */
#define GUEST_STACK_SIZE 0x4000

/* First byte of the image and the page-aligned end of its bss. */
extern char __image_start[];
extern char __image_end[];

/* The guest's test; its return value is the VM's exit status. */
int main(void);

/*
 * Run on every vCPU but 0 instead of main(). The default parks the vCPU
 * (the guest cannot halt at CPL 3); a guest may define its own.
 */
void guest_secondary(uint32_t vcpu_id);

/*
 * Single MMIO accesses of exactly the given width (one mov each, which the
 * hypervisor's instruction decoder handles), ordered against every other
 * memory access by a compiler barrier.
 */
static inline void guest_mmio_write8(uint64_t gpa, uint8_t v)
{
    __asm__ volatile("movb %1, %0"
                     : "=m"(*(volatile uint8_t *)(uintptr_t)gpa)
                     : "q"(v)
                     : "memory");
}

static inline void guest_mmio_write16(uint64_t gpa, uint16_t v)
{
    __asm__ volatile("movw %1, %0"
                     : "=m"(*(volatile uint16_t *)(uintptr_t)gpa)
                     : "r"(v)
                     : "memory");
}

static inline void guest_mmio_write32(uint64_t gpa, uint32_t v)
{
    __asm__ volatile("movl %1, %0"
                     : "=m"(*(volatile uint32_t *)(uintptr_t)gpa)
                     : "r"(v)
                     : "memory");
}

static inline void guest_mmio_write64(uint64_t gpa, uint64_t v)
{
    __asm__ volatile("movq %1, %0"
                     : "=m"(*(volatile uint64_t *)(uintptr_t)gpa)
                     : "r"(v)
                     : "memory");
}

static inline uint8_t guest_mmio_read8(uint64_t gpa)
{
    uint8_t v;

    __asm__ volatile("movb %1, %0"
                     : "=q"(v)
                     : "m"(*(volatile uint8_t *)(uintptr_t)gpa)
                     : "memory");
    return v;
}

static inline uint16_t guest_mmio_read16(uint64_t gpa)
{
    uint16_t v;

    __asm__ volatile("movw %1, %0"
                     : "=r"(v)
                     : "m"(*(volatile uint16_t *)(uintptr_t)gpa)
                     : "memory");
    return v;
}

static inline uint32_t guest_mmio_read32(uint64_t gpa)
{
    uint32_t v;

    __asm__ volatile("movl %1, %0"
                     : "=r"(v)
                     : "m"(*(volatile uint32_t *)(uintptr_t)gpa)
                     : "memory");
    return v;
}

static inline uint64_t guest_mmio_read64(uint64_t gpa)
{
    uint64_t v;

    __asm__ volatile("movq %1, %0"
                     : "=r"(v)
                     : "m"(*(volatile uint64_t *)(uintptr_t)gpa)
                     : "memory");
    return v;
}

/* Keep the compiler from moving memory accesses across this point. */
static inline void guest_barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

/* Spin politely (the guest cannot halt at CPL 3). */
static inline void guest_cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* A test-device register. */
static inline uint64_t guest_reg_read(unsigned reg)
{
    return guest_mmio_read64(TESTDEV_BASE + reg);
}

static inline void guest_reg_write(unsigned reg, uint64_t v)
{
    guest_mmio_write64(TESTDEV_BASE + reg, v);
}

/* Console: one byte per exit. Prefer guest_write(). */
void guest_putc(char c);
/* Print (len) bytes in as few exits as possible (4 KiB per exit). */
void guest_write(const char *s, size_t len);
/* Print (s) and a newline, like puts(). */
void guest_puts(const char *s);
/*
 * printf with %s %c %d %i %u %x %p %% and the l, ll and z sizes, a '-'
 * flag, '0' padding and a field width; one exit per 256 bytes of output.
 * Returns the number of bytes printed.
 */
__attribute__((format(printf, 1, 2))) int guest_printf(const char *fmt, ...);
int guest_vprintf(const char *fmt, va_list ap);

/* End the VM with (status). */
_Noreturn void guest_exit(int status);
/* Spin forever. */
_Noreturn void guest_park(void);

/* Guest RAM in bytes (low and high parts together). */
uint64_t guest_ram_size(void);
/* This vCPU's id. */
uint32_t guest_vcpu_id(void);
/* Nanoseconds since the test device was created. */
uint64_t guest_time_ns(void);
/* The VMM's parameter (TESTDEV_REG_ARG). */
uint64_t guest_arg(void);

/*
 * Map changes on test region (region) (TESTDEV_REGION_*). Return 0 or the
 * device's negative errno. Committed when they return.
 */
int guest_region_enable(unsigned region);
int guest_region_disable(unsigned region);
int guest_region_move(unsigned region, uint64_t gpa);

/* What the compiler may call on its own. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif /* GUEST_GUEST_H */
