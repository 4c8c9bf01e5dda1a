/* SPDX-License-Identifier: MIT */
/*
 * The multiboot test kernel's checks, run on the BSP at CPL 0 in long mode
 * once boot.S has built it: the 8250 UART (scratch, FIFO, loopback), the
 * multiboot information block, fw_cfg, the CMOS RTC and memory-size bytes,
 * the i8042 status port, and SMP bring-up of every AP with INIT-SIPI-SIPI
 * through the xAPIC. Every failed check prints a "mbkernel: FAIL" line; the
 * kernel ends through isa-debug-exit with MBK_EXIT_PASS or MBK_EXIT_FAIL.
 *
 * On a PVM host every instruction here is emulated (~1 us) and every port
 * access is a VM exit, so the code avoids loops over large buffers and
 * sends console output in UART FIFO bursts.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbkernel.h"

/* 8250/16550 UART at COM1: register offsets and bits. */
#define COM1 0x3f8
#define UART_RBR 0 /* read, DLAB 0 */
#define UART_THR 0 /* write, DLAB 0 */
#define UART_DLL 0 /* DLAB 1 */
#define UART_IER 1 /* DLAB 0 */
#define UART_DLM 1 /* DLAB 1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_IIR_FIFOS 0xc0
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
/* Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
#define UART_MSR_LOOP_EXPECT 0xb0
#define UART_FIFO_SIZE 16
/* Polls of LSR before sending anyway: a missing UART must not hang us. */
#define UART_POLLS 1000

/* fw_cfg, legacy port interface. */
#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_ID_TRADITIONAL 0x1

/* CMOS RTC and NVRAM. */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define RTC_STATUS_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_A_UIP 0x80
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_D_VRT 0x80
#define RTC_HOURS_PM 0x80
#define RTC_UIP_POLLS 200
#define CMOS_EXT_MEM_LO 0x30  /* KiB from 1 MiB, capped at 0xffff */
#define CMOS_HIGH_MEM_LO 0x34 /* 64 KiB units from 16 MiB */

/* i8042 keyboard controller status port. */
#define I8042_STATUS 0x64

/* Local APIC (xAPIC, MMIO). */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define LAPIC_BASE 0xfee00000ul
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_SPURIOUS_VECTOR 0xff
#define ICR_PENDING (1u << 12)
/* Intel SDM vol. 3, MP initialization: INIT and SIPI to all but self. */
#define ICR_INIT_ALL_BUT_SELF 0x000c4500u
#define ICR_SIPI_ALL_BUT_SELF 0x000c4600u
#define ICR_POLLS 1000

/*
 * Waits are counted in TSC ticks at a nominal 2 GHz: the kernel does not
 * calibrate the TSC (that alone would cost more than the whole test on a
 * PVM host). On a 1-4 GHz TSC a wait lasts 0.5-2x its nominal length,
 * which neither KVM's in-kernel LAPIC nor QEMU's depends on.
 */
#define TSC_PER_US 2000ull
#define INIT_DELAY_US 10000ull /* SDM: 10 ms after INIT (family < 6) */
#define SIPI_DELAY_US 200ull   /* SDM: 200 us after each SIPI */
#define AP_TIMEOUT_US 2000000ull

/* Multiboot v1 information block (spec 0.6.96, section 3.3). */
struct mb_info {
    uint32_t flags;
    uint32_t mem_lower;
    uint32_t mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
};

#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

/* A memory map entry; size counts the bytes after the size field. */
struct mb_mmap_entry {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} __attribute__((packed));

#define MB_MMAP_AVAILABLE 1
#define MB_MMAP_MAX_ENTRIES 64
#define MB_STRING_MAX 4096

/* What one check learns and a later one compares against. */
struct facts {
    bool mb_valid;      /* the magic was right: the info can be read */
    uint32_t mem_upper; /* KiB above 1 MiB, 0 if not given */
    const char *mb_cmdline;
    bool fw_cfg_valid;
    uint32_t ncpus;
    uint64_t ram_size;
    char fw_cmdline[256];
};

volatile uint32_t mbk_cpus_up;

static unsigned failures;
static uint32_t uart_burst = 1;
static char out_buf[256];
static uint32_t out_len;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;

    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static const void *phys(uint64_t addr)
{
    return (const void *)(uintptr_t)addr;
}

/* Length of s, or max if no NUL comes first. */
static size_t str_len_max(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n]) {
        n++;
    }
    return n;
}

/*
 * Send the buffered output: wait for THRE, then one rep outsb of up to a
 * FIFO's worth. One emulated instruction per burst instead of a loop of
 * outb; the port-I/O exits per byte stay the same.
 */
static void uart_flush(void)
{
    const char *p = out_buf;
    uint32_t left = out_len;

    while (left) {
        for (unsigned poll = 0; poll < UART_POLLS; poll++) {
            if (inb(COM1 + UART_LSR) & UART_LSR_THRE) {
                break;
            }
        }
        uint32_t n = left < uart_burst ? left : uart_burst;
        left -= n;
        __asm__ volatile("rep outsb"
                         : "+S"(p), "+c"(n)
                         : "d"((uint16_t)(COM1 + UART_THR))
                         : "memory");
    }
    out_len = 0;
}

/* Append n bytes to the output buffer (one rep movsb). */
static void out_mem(const char *s, uint32_t n)
{
    if (n > sizeof(out_buf) - out_len) {
        uart_flush();
        if (n > sizeof(out_buf)) {
            n = sizeof(out_buf);
        }
    }
    char *dst = out_buf + out_len;
    out_len += n;
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(s), "+c"(n) : : "memory");
}

static void out_uint(uint64_t v, bool hex, unsigned width, char pad)
{
    char digits[24];
    char *p = digits + sizeof(digits);

    do {
        if (hex) {
            *--p = "0123456789abcdef"[v & 0xf];
            v >>= 4;
        } else {
            *--p = (char)('0' + v % 10);
            v /= 10;
        }
    } while (v);
    if (width > sizeof(digits)) {
        width = sizeof(digits);
    }
    while (p > digits + sizeof(digits) - width) {
        *--p = pad;
    }
    out_mem(p, (uint32_t)(digits + sizeof(digits) - p));
}

/*
 * printf for %s %c %u %x with an optional 0 flag, width and l modifier.
 * Literal text is copied span by span, not character by character.
 */
static void out_vfmt(const char *fmt, va_list ap)
{
    const char *p = fmt;

    for (;;) {
        const char *lit = p;
        /* One compare per character for most text: NUL and '%' are low. */
        for (;;) {
            unsigned char c = (unsigned char)*p;
            if (c <= '%' && (c == '%' || c == '\0')) {
                break;
            }
            p++;
        }
        if (p != lit) {
            out_mem(lit, (uint32_t)(p - lit));
        }
        if (!*p) {
            return;
        }
        p++;
        char pad = ' ';
        unsigned width = 0;
        bool is_long = false;
        if (*p == '0') {
            pad = '0';
            p++;
        }
        while (*p >= '0' && *p <= '9') {
            width = width * 10 + (unsigned)(*p++ - '0');
        }
        if (*p == 'l') {
            is_long = true;
            p++;
        }
        switch (*p) {
        case 'u':
        case 'x': {
            uint64_t v =
                is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            out_uint(v, *p == 'x', width, pad);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            out_mem(s, (uint32_t)str_len_max(s, MB_STRING_MAX));
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            out_mem(&c, 1);
            break;
        }
        case '\0':
            return;
        default:
            out_mem(p, 1);
            break;
        }
        p++;
    }
}

/* Print one line: "mbkernel: ", the formatted text, a newline. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;

    out_mem("mbkernel: ", 10);
    va_start(ap, fmt);
    out_vfmt(fmt, ap);
    va_end(ap);
    out_mem("\n", 1);
    uart_flush();
}

/* Report a failed check: one "mbkernel: FAIL ..." line. */
__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;

    failures++;
    out_mem("mbkernel: FAIL ", 15);
    va_start(ap, fmt);
    out_vfmt(fmt, ap);
    va_end(ap);
    out_mem("\n", 1);
    uart_flush();
}

static _Noreturn void halt_forever(void)
{
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

static _Noreturn void debug_exit(uint32_t code)
{
    outl(MBK_DEBUG_EXIT_PORT, code);
    say("isa-debug-exit did not end the VM");
    halt_forever();
}

static bool str_ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = str_len_max(suffix, MB_STRING_MAX);

    if (n > len) {
        return false;
    }
    s += len - n;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != suffix[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Program 8N1 at 115200 baud with FIFOs, then check what a 16550 must do:
 * the scratch register holds a value, FCR turns the FIFOs on (IIR bits
 * 7:6), and loopback mode returns a sent byte and mirrors the modem
 * control lines in MSR.
 */
static void check_uart(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DLL, 1);
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    outb(COM1 + UART_FCR,
         UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
    outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);

    uint8_t iir = inb(COM1 + UART_IIR);
    bool fifos = (iir & UART_IIR_FIFOS) == UART_IIR_FIFOS;
    if (fifos) {
        uart_burst = UART_FIFO_SIZE;
    }

    outb(COM1 + UART_SCR, 0x5a);
    uint8_t scr = inb(COM1 + UART_SCR);

    outb(COM1 + UART_MCR,
         UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
    outb(COM1 + UART_THR, 0xa5);
    uint8_t lsr = 0;
    for (unsigned poll = 0; poll < UART_POLLS; poll++) {
        lsr = inb(COM1 + UART_LSR);
        if (lsr & UART_LSR_DR) {
            break;
        }
    }
    uint8_t rbr = inb(COM1 + UART_RBR);
    uint8_t msr = inb(COM1 + UART_MSR);
    outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);

    say("multiboot test kernel at 0x%lx-0x%lx",
        (uint64_t)(uintptr_t)__mbk_start, (uint64_t)(uintptr_t)__mbk_end);
    if (!fifos) {
        fail("uart: FCR did not enable the FIFOs (IIR 0x%02x)", iir);
    }
    if (scr != 0x5a) {
        fail("uart: scratch register read 0x%02x, wrote 0x5a", scr);
    }
    if (!(lsr & UART_LSR_DR) || rbr != 0xa5) {
        fail("uart: loopback returned 0x%02x (LSR 0x%02x), sent 0xa5", rbr,
             lsr);
    }
    if ((msr & 0xf0) != UART_MSR_LOOP_EXPECT) {
        fail("uart: loopback MSR 0x%02x, expected 0x%02x in bits 7:4", msr,
             UART_MSR_LOOP_EXPECT);
    }
}

/*
 * Walk the memory map: call back for each entry, stop at a malformed one.
 * Returns the number of entries walked.
 */
static unsigned mmap_walk(const struct mb_info *mbi,
                          void (*fn)(const struct mb_mmap_entry *, void *),
                          void *arg)
{
    uint64_t p = mbi->mmap_addr;
    uint64_t end = p + mbi->mmap_length;
    unsigned entries = 0;

    while (p + sizeof(struct mb_mmap_entry) <= end &&
           entries < MB_MMAP_MAX_ENTRIES) {
        const struct mb_mmap_entry *e = phys(p);
        if (e->size < sizeof(*e) - sizeof(e->size)) {
            fail("multiboot mmap entry %u has size %u", entries, e->size);
            break;
        }
        fn(e, arg);
        p += (uint64_t)e->size + sizeof(e->size);
        entries++;
    }
    return entries;
}

struct mmap_sum {
    uint64_t avail;
    bool holds_image;
};

static void mmap_sum_entry(const struct mb_mmap_entry *e, void *arg)
{
    struct mmap_sum *sum = arg;

    if (e->type == MB_MMAP_AVAILABLE) {
        sum->avail += e->len;
        if (e->addr <= (uintptr_t)__mbk_start &&
            e->addr + e->len >= (uintptr_t)__mbk_end) {
            sum->holds_image = true;
        }
    }
}

static void mmap_print_entry(const struct mb_mmap_entry *e, void *arg)
{
    (void)arg;
    say("  mmap 0x%lx-0x%lx type %u", e->addr, e->addr + e->len - 1, e->type);
}

/*
 * The map must have entries and an available range holding the kernel.
 * The entries are printed only when it does not, to keep output short.
 */
static void check_mmap(const struct mb_info *mbi)
{
    struct mmap_sum sum = {0, false};
    unsigned entries = mmap_walk(mbi, mmap_sum_entry, &sum);

    say("multiboot mmap %u entries, %lu KiB available", entries,
        sum.avail >> 10);
    if (entries == 0) {
        fail("multiboot mmap is empty (length %u)", mbi->mmap_length);
    } else if (!sum.holds_image) {
        fail("multiboot mmap: no available range holds the kernel "
             "0x%lx-0x%lx",
             (uint64_t)(uintptr_t)__mbk_start,
             (uint64_t)(uintptr_t)__mbk_end - 1);
        mmap_walk(mbi, mmap_print_entry, NULL);
    }
}

static void check_multiboot(uint32_t magic, uint32_t info, struct facts *f)
{
    if (magic != MB_BOOT_MAGIC) {
        fail("multiboot magic 0x%x, expected 0x%x", magic, MB_BOOT_MAGIC);
        return;
    }
    if (info == 0 || (uint64_t)info + sizeof(struct mb_info) > 1ull << 32) {
        fail("multiboot info address 0x%x", info);
        return;
    }
    f->mb_valid = true;

    const struct mb_info *mbi = phys(info);
    uint32_t flags = mbi->flags;
    const char *loader = "";
    if (flags & MB_INFO_LOADER_NAME) {
        const char *name = phys(mbi->boot_loader_name);
        if (str_len_max(name, 64) < 64) {
            loader = name;
        }
    }
    say("multiboot magic 0x%x info 0x%x flags 0x%x loader \"%s\"", magic, info,
        flags, loader);

    if (!(flags & MB_INFO_MEM)) {
        fail("multiboot info has no mem_lower/mem_upper (flags 0x%x)", flags);
    } else {
        say("multiboot mem_lower %u KiB mem_upper %u KiB", mbi->mem_lower,
            mbi->mem_upper);
        if (mbi->mem_lower == 0 || mbi->mem_lower > 640) {
            fail("multiboot mem_lower %u KiB, expected 1-640", mbi->mem_lower);
        }
        if (mbi->mem_upper == 0) {
            fail("multiboot mem_upper is 0");
        }
        f->mem_upper = mbi->mem_upper;
    }

    if (!(flags & MB_INFO_CMDLINE)) {
        fail("multiboot info has no cmdline (flags 0x%x)", flags);
    } else {
        const char *cmdline = phys(mbi->cmdline);
        if (str_len_max(cmdline, MB_STRING_MAX) == MB_STRING_MAX) {
            fail("multiboot cmdline at 0x%x is not terminated", mbi->cmdline);
        } else {
            say("multiboot cmdline \"%s\"", cmdline);
            f->mb_cmdline = cmdline;
        }
    }

    if (flags & MB_INFO_MODS) {
        say("multiboot modules %u", mbi->mods_count);
    }

    if (!(flags & MB_INFO_MMAP)) {
        fail("multiboot info has no memory map (flags 0x%x)", flags);
    } else {
        check_mmap(mbi);
    }
}

/* Select a fw_cfg item and read its first len bytes (one rep insb). */
static void fw_cfg_read(uint16_t key, void *buf, uint32_t len)
{
    outw(FW_CFG_PORT_SEL, key);
    __asm__ volatile("rep insb"
                     : "+D"(buf), "+c"(len)
                     : "d"((uint16_t)FW_CFG_PORT_DATA)
                     : "memory");
}

static void check_fw_cfg(struct facts *f)
{
    char sig[4];
    uint32_t id = 0, cmdline_size = 0, files_be = 0;
    uint16_t ncpus = 0, max_cpus = 0;
    uint64_t ram = 0;

    fw_cfg_read(FW_CFG_SIGNATURE, sig, sizeof(sig));
    if (sig[0] != 'Q' || sig[1] != 'E' || sig[2] != 'M' || sig[3] != 'U') {
        fail("fw_cfg signature %02x %02x %02x %02x, expected \"QEMU\"",
             (uint8_t)sig[0], (uint8_t)sig[1], (uint8_t)sig[2],
             (uint8_t)sig[3]);
        return;
    }
    f->fw_cfg_valid = true;
    fw_cfg_read(FW_CFG_ID, &id, sizeof(id));
    fw_cfg_read(FW_CFG_NB_CPUS, &ncpus, sizeof(ncpus));
    fw_cfg_read(FW_CFG_MAX_CPUS, &max_cpus, sizeof(max_cpus));
    fw_cfg_read(FW_CFG_RAM_SIZE, &ram, sizeof(ram));
    fw_cfg_read(FW_CFG_FILE_DIR, &files_be, sizeof(files_be));
    fw_cfg_read(FW_CFG_CMDLINE_SIZE, &cmdline_size, sizeof(cmdline_size));
    uint32_t files = __builtin_bswap32(files_be);

    say("fw_cfg signature QEMU id 0x%x cpus %u max %u "
        "ram %lu MiB files %u",
        id, ncpus, max_cpus, ram >> 20, files);
    if (!(id & FW_CFG_ID_TRADITIONAL)) {
        fail("fw_cfg id 0x%x lacks the traditional interface bit", id);
    }
    if (ncpus == 0) {
        fail("fw_cfg reports 0 CPUs");
    } else if (max_cpus != 0 && ncpus > max_cpus) {
        fail("fw_cfg reports %u CPUs, more than max %u", ncpus, max_cpus);
    }
    if (ram < (1u << 20)) {
        fail("fw_cfg RAM size %lu bytes", ram);
    }
    f->ncpus = ncpus ? ncpus : 1;
    f->ram_size = ram;

    if (cmdline_size == 0) {
        say("fw_cfg cmdline (none)");
        return;
    }
    uint32_t n = cmdline_size;
    if (n > sizeof(f->fw_cmdline) - 1) {
        n = sizeof(f->fw_cmdline) - 1;
    }
    fw_cfg_read(FW_CFG_CMDLINE_DATA, f->fw_cmdline, n);
    f->fw_cmdline[n] = '\0';
    say("fw_cfg cmdline \"%s\" (size %u)", f->fw_cmdline, cmdline_size);
}

/* What the multiboot info and fw_cfg say must agree. */
static void check_consistency(const struct facts *f)
{
    if (!f->mb_valid || !f->fw_cfg_valid) {
        return;
    }
    if (f->mem_upper) {
        uint64_t top = (1ull << 20) + ((uint64_t)f->mem_upper << 10);
        if (top > f->ram_size ||
            (f->ram_size <= (2ull << 30) && top < f->ram_size / 2)) {
            fail("multiboot mem_upper %u KiB does not fit fw_cfg RAM %lu "
                 "bytes",
                 f->mem_upper, f->ram_size);
        }
    }
    /* QEMU's multiboot cmdline is "<kernel path> <append>". */
    if (f->mb_cmdline && f->fw_cmdline[0] &&
        !str_ends_with(f->mb_cmdline, str_len_max(f->mb_cmdline, MB_STRING_MAX),
                       f->fw_cmdline)) {
        fail("multiboot cmdline does not end with the fw_cfg cmdline");
    }
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

/* Decode an RTC field; false if a BCD value has a digit above 9. */
static bool rtc_decode(uint8_t raw, bool binary, unsigned *out)
{
    if (binary) {
        *out = raw;
        return true;
    }
    if ((raw & 0x0f) > 9 || (raw >> 4) > 9) {
        return false;
    }
    *out = (raw >> 4) * 10u + (raw & 0x0f);
    return true;
}

static void check_cmos(const struct facts *f)
{
    uint8_t d = cmos_read(RTC_STATUS_D);
    if (d != RTC_D_VRT) {
        fail("rtc status D 0x%02x, expected 0x%02x", d, RTC_D_VRT);
    }
    for (unsigned poll = 0; poll < RTC_UIP_POLLS; poll++) {
        if (!(cmos_read(RTC_STATUS_A) & RTC_A_UIP)) {
            break;
        }
    }
    uint8_t b = cmos_read(RTC_STATUS_B);
    uint8_t raw[6] = {
        cmos_read(RTC_SECONDS), cmos_read(RTC_MINUTES), cmos_read(RTC_HOURS),
        cmos_read(RTC_DAY),     cmos_read(RTC_MONTH),   cmos_read(RTC_YEAR),
    };
    uint8_t raw_century = cmos_read(RTC_CENTURY);
    bool binary = b & RTC_B_BINARY;
    bool pm = !(b & RTC_B_24H) && (raw[2] & RTC_HOURS_PM);
    unsigned v[6], century;
    bool ok = true;

    if (!(b & RTC_B_24H)) {
        raw[2] &= (uint8_t)~RTC_HOURS_PM;
    }
    for (unsigned i = 0; i < 6; i++) {
        ok = rtc_decode(raw[i], binary, &v[i]) && ok;
    }
    if (!rtc_decode(raw_century, binary, &century) || century < 19 ||
        century > 21) {
        century = 20;
    }
    if (!(b & RTC_B_24H)) {
        v[2] = v[2] % 12 + (pm ? 12 : 0);
    }
    say("rtc %u%02u-%02u-%02u %02u:%02u:%02u "
        "(status B 0x%02x D 0x%02x)",
        century, v[5], v[4], v[3], v[2], v[1], v[0], b, d);
    if (!ok || v[0] > 59 || v[1] > 59 || v[2] > 23 || v[3] < 1 || v[3] > 31 ||
        v[4] < 1 || v[4] > 12 || v[5] > 99) {
        fail("rtc time out of range: raw %02x %02x %02x %02x %02x %02x", raw[5],
             raw[4], raw[3], raw[2], raw[1], raw[0]);
    }

    unsigned ext_kib =
        cmos_read(CMOS_EXT_MEM_LO) | cmos_read(CMOS_EXT_MEM_LO + 1) << 8;
    unsigned high_64k =
        cmos_read(CMOS_HIGH_MEM_LO) | cmos_read(CMOS_HIGH_MEM_LO + 1) << 8;
    say("cmos memory 1M-16M %u KiB, above 16M %u x 64 KiB", ext_kib, high_64k);
    /* Below 2 GiB all of RAM is below the 4 GiB hole on any PC layout. */
    if (f->fw_cfg_valid && f->ram_size > (16u << 20) &&
        f->ram_size <= (2ull << 30)) {
        uint64_t want_ext = (f->ram_size - (1u << 20)) >> 10;
        uint64_t want_high = (f->ram_size - (16u << 20)) >> 16;
        if (want_ext > 0xffff) {
            want_ext = 0xffff;
        }
        if (ext_kib != want_ext || high_64k != want_high) {
            fail("cmos memory bytes %u KiB / %u x 64 KiB, expected %lu / "
                 "%lu for %lu MiB",
                 ext_kib, high_64k, want_ext, want_high, f->ram_size >> 20);
        }
    }
}

static void check_i8042(void)
{
    uint8_t st = inb(I8042_STATUS);

    say("i8042 status 0x%02x", st);
    if (st == 0xff) {
        fail("i8042 status port reads 0xff (no controller)");
    }
}

static uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static void tsc_delay_us(uint64_t us)
{
    uint64_t t0 = rdtsc();

    while (rdtsc() - t0 < us * TSC_PER_US) {
    }
}

/* Spin until n CPUs have counted themselves or us microseconds passed. */
static void wait_cpus_up(uint32_t n, uint64_t us)
{
    uint64_t t0 = rdtsc();

    while (mbk_cpus_up < n && rdtsc() - t0 < us * TSC_PER_US) {
    }
}

/*
 * CPUID family (with the extended family for 0xf). The SDM's 10 ms wait
 * after INIT is for processors before family 6; Linux skips it on later
 * ones too, and virtual LAPICs (KVM's, QEMU's) deliver INIT before a
 * following SIPI without it.
 */
static unsigned cpu_family(void)
{
    uint32_t eax = 1, ebx, ecx = 0, edx;

    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    unsigned family = (eax >> 8) & 0xf;
    if (family == 0xf) {
        family += (eax >> 20) & 0xff;
    }
    return family;
}

/* Send an IPI to every CPU but this one and wait until it is delivered. */
static bool lapic_ipi_all_but_self(uint32_t icr_lo)
{
    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (unsigned poll = 0; poll < ICR_POLLS; poll++) {
        if (!(lapic_read(LAPIC_ICR_LO) & ICR_PENDING)) {
            return true;
        }
    }
    fail("lapic: IPI 0x%08x still pending", icr_lo);
    return false;
}

/*
 * Start every AP: copy the trampoline below 1 MiB, broadcast INIT, then a
 * SIPI with its page number and, as the SDM's sequence has it, a second
 * one if some AP has not started yet. Each AP counts itself in
 * mbk_cpus_up on reaching long mode; wait for all of them.
 */
static void check_smp(const struct facts *f)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE) || (base & APIC_BASE_X2APIC) ||
        (base & ~0xfffull) != LAPIC_BASE) {
        fail("APIC base MSR 0x%lx, expected an enabled xAPIC at 0x%lx", base,
             LAPIC_BASE);
        return;
    }
    if (!(base & APIC_BASE_BSP)) {
        fail("APIC base MSR 0x%lx: BSP flag clear on the boot CPU", base);
    }
    uint32_t id = lapic_read(LAPIC_ID) >> 24;
    uint32_t version = lapic_read(LAPIC_VERSION);
    say("lapic id %u version 0x%x", id, version);
    if ((version & 0xff) == 0 || (version & 0xff) == 0xff) {
        fail("lapic version register 0x%x", version);
    }
    uint32_t svr = lapic_read(LAPIC_SVR);
    lapic_write(LAPIC_SVR,
                (svr & ~0xffu) | LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);

    mbk_cpus_up = 1;
    if (f->ncpus > 1) {
        size_t len = (size_t)(mbk_trampoline_end - mbk_trampoline_start);
        void *dst = (void *)(uintptr_t)MBK_TRAMPOLINE_ADDR;
        const void *src = mbk_trampoline_start;
        __asm__ volatile("rep movsb"
                         : "+D"(dst), "+S"(src), "+c"(len)
                         :
                         : "memory");
        if (lapic_ipi_all_but_self(ICR_INIT_ALL_BUT_SELF)) {
            if (cpu_family() < 6) {
                tsc_delay_us(INIT_DELAY_US);
            }
            /* The second SIPI only if the first did not start them all. */
            for (unsigned i = 0; i < 2 && mbk_cpus_up < f->ncpus; i++) {
                lapic_ipi_all_but_self(ICR_SIPI_ALL_BUT_SELF |
                                       (MBK_TRAMPOLINE_ADDR >> 12));
                wait_cpus_up(f->ncpus, SIPI_DELAY_US);
            }
        }
        wait_cpus_up(f->ncpus, AP_TIMEOUT_US);
    }
    uint32_t up = mbk_cpus_up;
    say("%u of %u CPUs up", up, f->ncpus);
    if (up != f->ncpus) {
        fail("%u CPUs reached long mode, fw_cfg reports %u", up, f->ncpus);
    }
}

/*
 * PCI configuration mechanism #1: the host bridge at 00:00.0, absent
 * functions all-ones. The second probe writes CONFIG_ADDRESS with 0x06 in
 * its second byte, which a byte write to 0xcf9 would take as a reset: the
 * VM must go on.
 */
static void check_pci(void)
{
    uint32_t id, cls;

    outl(0xcf8, 0x80000000u);
    id = inl(0xcfc);
    outl(0xcf8, 0x80000008u);
    cls = inl(0xcfc) >> 8;
    say("pci 00:00.0 %x:%x class %06x", id & 0xffff, id >> 16, cls);
    if (id != 0x12378086u || cls != 0x060000u) {
        fail("pci host bridge 0x%x class 0x%x", id, cls);
    }
    if (inl(0xcf8) != 0x80000008u) {
        fail("CONFIG_ADDRESS reads 0x%x", inl(0xcf8));
    }
    outl(0xcf8, 0x80000600u);
    if (inl(0xcfc) != 0xffffffffu) {
        fail("pci 00:00.6 answers");
    }
    outl(0xcf8, 0x80000800u);
    if (inl(0xcfc) != 0xffffffffu) {
        fail("pci 00:01.0 answers");
    }
    outl(0xcf8, 0);
}

static bool str_contains(const char *s, const char *word)
{
    size_t n = str_len_max(word, MB_STRING_MAX);

    for (; *s; s++) {
        size_t i = 0;

        while (i < n && s[i] == word[i]) {
            i++;
        }
        if (i == n) {
            return true;
        }
    }
    return false;
}

/*
 * With "ioprobe" on the command line, make port accesses the VMM drops:
 * three reads of an unassigned port (0x2f8, where a second UART would
 * be) and one misaligned dword read inside the PCI host's ports. Its
 * --json report must count them (io_unassigned, io_invalid).
 */
static void io_probe(const struct facts *f)
{
    if (!str_contains(f->fw_cmdline, "ioprobe")) {
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (inb(0x2f8) != 0xff) {
            fail("unassigned port 0x2f8 does not read all-ones");
        }
    }
    if (inl(0xcfa) != 0xffffffffu) {
        fail("misaligned dword at 0xcfa does not read all-ones");
    }
    say("io probe done");
}

/*
 * With "virtio=hostile" on the command line, be a hostile virtio driver
 * for the first virtio-mmio device (a virtio-blk disk at 0xd0000000, where
 * vmm's PC puts --disk): rings that point out of RAM, a descriptor loop,
 * a 4 GiB buffer, an available index far ahead of the queue, and a queue
 * layout outside RAM. Each broken ring must make the device set
 * DEVICE_NEEDS_RESET (and the VMM keep running); the bad layout must be
 * refused (QueueReady stays 0); after each, a reset and a well-formed read
 * of a sector far past the disk's end must be answered IOERR. A failure is
 * reported like any other check.
 */
#define VIO_BASE 0xd0000000ul
#define VIO_MAGIC 0x000
#define VIO_DEVICE_ID 0x008
#define VIO_DRV_FEATURES 0x020
#define VIO_DRV_FEATURES_SEL 0x024
#define VIO_QUEUE_SEL 0x030
#define VIO_QUEUE_NUM 0x038
#define VIO_QUEUE_READY 0x044
#define VIO_QUEUE_NOTIFY 0x050
#define VIO_INT_ACK 0x064
#define VIO_STATUS 0x070
#define VIO_DESC 0x080
#define VIO_DRIVER 0x090
#define VIO_DEVICE 0x0a0
#define VIO_NEEDS_RESET 64u
#define VQ_N 8u
#define VQ_NEXT 1u
#define VQ_WRITE 2u

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* The queue (table, available ring, used ring) and a request's buffers. */
static struct {
    struct vdesc desc[VQ_N];
    uint8_t pad0[4096 - VQ_N * sizeof(struct vdesc)];
    uint16_t avail[2 + VQ_N + 1];
    uint8_t pad1[4096 - (2 + VQ_N + 1) * 2];
    uint16_t used_hdr[2];
    uint32_t used[2 * VQ_N];
    uint16_t avail_event;
    uint8_t pad2[4096 - 4 - 8 * VQ_N - 2];
    uint8_t hdr[16];
    uint8_t data[512];
    uint8_t status;
} vq __attribute__((aligned(4096)));

/* No libc here: byte loops the compiler must not turn into calls. */
static void bytes_zero(void *p, size_t n)
{
    volatile uint8_t *d = p;

    while (n--) {
        *d++ = 0;
    }
}

static void bytes_copy(void *dst, const void *src, size_t n)
{
    volatile uint8_t *d = dst;
    const uint8_t *s = src;

    while (n--) {
        *d++ = *s++;
    }
}

/* The device being driven: VIO_BASE, or the next one (+ VIO_STRIDE). */
#define VIO_STRIDE 0x200ul
static uintptr_t vio_base = VIO_BASE;

static uint32_t vio_rd(uint32_t off)
{
    return *(volatile uint32_t *)(vio_base + off);
}

static void vio_wr(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(vio_base + off) = v;
}

/* Reset, negotiate VERSION_1 only, set up queue 0 at (desc); returns
 * whether the device took the layout. */
static bool vio_setup(uint64_t desc)
{
    uint64_t avail = (uintptr_t)vq.avail, used = (uintptr_t)vq.used_hdr;

    bytes_zero(&vq, sizeof(vq));
    vio_wr(VIO_STATUS, 0);
    vio_wr(VIO_STATUS, 1 | 2);
    vio_wr(VIO_DRV_FEATURES_SEL, 1);
    vio_wr(VIO_DRV_FEATURES, 1);
    vio_wr(VIO_DRV_FEATURES_SEL, 0);
    vio_wr(VIO_DRV_FEATURES, 0);
    vio_wr(VIO_STATUS, 1 | 2 | 8);
    vio_wr(VIO_QUEUE_SEL, 0);
    vio_wr(VIO_QUEUE_NUM, VQ_N);
    vio_wr(VIO_DESC, (uint32_t)desc);
    vio_wr(VIO_DESC + 4, (uint32_t)(desc >> 32));
    vio_wr(VIO_DRIVER, (uint32_t)avail);
    vio_wr(VIO_DRIVER + 4, 0);
    vio_wr(VIO_DEVICE, (uint32_t)used);
    vio_wr(VIO_DEVICE + 4, 0);
    vio_wr(VIO_QUEUE_READY, 1);
    vio_wr(VIO_STATUS, 1 | 2 | 8 | 4);
    return vio_rd(VIO_QUEUE_READY) == 1;
}

/* Offer chain 0 (avail index (idx)) and notify. */
static void vio_kick(uint16_t idx)
{
    vq.avail[2] = 0;
    __atomic_store_n(&vq.avail[1], idx, __ATOMIC_RELEASE);
    vio_wr(VIO_QUEUE_NOTIFY, 0);
}

/* The device works on its own thread: poll (bounded) for NEEDS_RESET. */
static bool vio_wait_reset(void)
{
    for (unsigned i = 0; i < 20000; i++) {
        if (vio_rd(VIO_STATUS) & VIO_NEEDS_RESET) {
            vio_wr(VIO_INT_ACK, 3);
            return true;
        }
    }
    return false;
}

/* A read of sector (sector) into vq.data; returns its status byte, or
 * 0xff when the device never answered. */
static uint8_t vio_read(uint64_t sector)
{
    if (!vio_setup((uintptr_t)vq.desc)) {
        return 0xfe;
    }
    bytes_zero(vq.hdr, sizeof(vq.hdr));
    bytes_copy(vq.hdr + 8, &sector, 8);
    vq.status = 0xff;
    vq.desc[0] = (struct vdesc){(uintptr_t)vq.hdr, 16, VQ_NEXT, 1};
    vq.desc[1] = (struct vdesc){(uintptr_t)vq.data, 512, VQ_NEXT | VQ_WRITE, 2};
    vq.desc[2] = (struct vdesc){(uintptr_t)&vq.status, 1, VQ_WRITE, 0};
    vio_kick(1);
    for (unsigned i = 0; i < 20000; i++) {
        if (__atomic_load_n(&vq.used_hdr[1], __ATOMIC_ACQUIRE) == 1) {
            return __atomic_load_n(&vq.status, __ATOMIC_ACQUIRE);
        }
        (void)vio_rd(VIO_STATUS); /* an exit: time for the worker */
    }
    return 0xff;
}

static void virtio_hostile(const struct facts *f)
{
    static const char *const names[] = {"buffer outside RAM", "descriptor loop",
                                        "4 GiB buffer",
                                        "available index ahead"};
    unsigned ok = 0, n = 0;
    uint8_t st;

    if (!str_contains(f->fw_cmdline, "virtio=hostile")) {
        return;
    }
    if (vio_rd(VIO_MAGIC) != 0x74726976u || vio_rd(VIO_DEVICE_ID) != 2) {
        fail("no virtio-blk at 0x%lx", VIO_BASE);
        return;
    }
    for (unsigned c = 0; c < 4; c++, n++) {
        uint16_t idx = 1;

        if (!vio_setup((uintptr_t)vq.desc)) {
            fail("%s: the queue was refused", names[c]);
            continue;
        }
        vq.desc[0] = (struct vdesc){(uintptr_t)vq.hdr, 16, VQ_NEXT, 1};
        vq.desc[2] = (struct vdesc){(uintptr_t)&vq.status, 1, VQ_WRITE, 0};
        switch (c) {
        case 0:
            vq.desc[1] =
                (struct vdesc){0x7ff000000000ull, 512, VQ_NEXT | VQ_WRITE, 2};
            break;
        case 1:
            vq.desc[1] =
                (struct vdesc){(uintptr_t)vq.data, 512, VQ_NEXT | VQ_WRITE, 0};
            break;
        case 2:
            vq.desc[1] = (struct vdesc){(uintptr_t)vq.data, 0xffffffffu,
                                        VQ_NEXT | VQ_WRITE, 2};
            break;
        default:
            idx = VQ_N + 5;
            break;
        }
        vio_kick(idx);
        if (vio_wait_reset()) {
            ok++;
        } else {
            fail("%s: no DEVICE_NEEDS_RESET", names[c]);
        }
    }
    n++;
    if (vio_setup(0xffffffff00000000ull)) {
        fail("a queue outside RAM was made ready");
    } else {
        ok++;
    }
    n++;
    st = vio_read(UINT64_MAX / 512);
    if (st == 1) {
        ok++;
    } else {
        fail("a read past the disk's end: status 0x%x, want IOERR", st);
    }
    vio_wr(VIO_STATUS, 0);
    say("virtio hostile: %u of %u cases handled", ok, n);
}

/*
 * With "virtio9p=hostile" on the command line, be a hostile 9P client of
 * the virtio-9p device at 0xd0000000 (a read-only share) and of the next
 * one, when there is one (a writable share): messages that lie about
 * their size or their fields, names that try to climb out ("..", "a/b",
 * through a link to outside the share), changes to a read-only share,
 * device nodes, counts past the message; and three chains the device must
 * refuse (DEVICE_NEEDS_RESET): a reply buffer too small for any answer, a
 * size field longer than the chain, a request outside RAM. Each message
 * must get its exact answer (the reply's type, or Rlerror with the
 * expected errno), and the device must serve a new session afterwards.
 * The test script checks the shares and what lies beside them on the host.
 */
#define P9_RLERROR 7
#define P9_MSIZE 8192u
static uint8_t p9q[512] __attribute__((aligned(64)));
static uint8_t p9r[P9_MSIZE] __attribute__((aligned(64)));
static uint32_t p9_len;
static uint16_t p9_idx;
static uint64_t p9_req_gpa; /* where the request is said to be, 0: p9q */
static unsigned p9_ok, p9_n, p9_errors;

static void m_begin(uint8_t type)
{
    p9_len = 7;
    p9q[4] = type;
    p9q[5] = 1;
    p9q[6] = 0;
}

static void m_n(uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p9q[p9_len++] = (uint8_t)(v >> (8 * i));
    }
}

static void m_s(const char *s)
{
    size_t n = str_len_max(s, 200);

    m_n(n, 2);
    bytes_copy(p9q + p9_len, s, n);
    p9_len += (uint32_t)n;
}

static uint64_t r_n(unsigned off, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)p9r[off + i] << (8 * i);
    }
    return v;
}

/* Send the message built, its size field (size) (0: its length), with a
 * reply buffer of (cap) bytes. Returns the reply's type, 0 when the device
 * set DEVICE_NEEDS_RESET, -1 when nothing came back. */
static int p9_send(uint32_t size, uint32_t cap)
{
    uint32_t sz = size ? size : p9_len;

    for (unsigned i = 0; i < 4; i++) {
        p9q[i] = (uint8_t)(sz >> (8 * i));
    }
    bytes_zero(p9r, 16);
    vq.desc[0] = (struct vdesc){p9_req_gpa ? p9_req_gpa : (uintptr_t)p9q,
                                p9_len, VQ_NEXT, 1};
    vq.desc[1] = (struct vdesc){(uintptr_t)p9r, cap, VQ_WRITE, 0};
    vq.avail[2 + p9_idx % VQ_N] = 0;
    p9_idx++;
    __atomic_store_n(&vq.avail[1], p9_idx, __ATOMIC_RELEASE);
    vio_wr(VIO_QUEUE_NOTIFY, 0);
    for (unsigned i = 0; i < 200000; i++) {
        if (__atomic_load_n(&vq.used_hdr[1], __ATOMIC_ACQUIRE) == p9_idx) {
            vio_wr(VIO_INT_ACK, 3);
            return p9r[4];
        }
        if (vio_rd(VIO_STATUS) & VIO_NEEDS_RESET) {
            vio_wr(VIO_INT_ACK, 3);
            return 0;
        }
    }
    return -1;
}

/* One case: the answer (type) must be (want), and an Rlerror's errno
 * (want_errno). */
static void p9_expect(const char *what, int type, int want, uint32_t errno_)
{
    p9_n++;
    if (type == P9_RLERROR) {
        p9_errors++;
    }
    if (type != want || (type == P9_RLERROR && r_n(7, 4) != errno_)) {
        fail("9p %s: answer %d (errno %u), want %d (errno %u)", what, type,
             type == P9_RLERROR ? (unsigned)r_n(7, 4) : 0u, want, errno_);
        return;
    }
    p9_ok++;
}

#define P9_SEND_EXPECT(what, want, err)                                        \
    p9_expect(what, p9_send(0, P9_MSIZE), want, err)

static bool p9_setup(uintptr_t base)
{
    vio_base = base;
    p9_idx = 0;
    p9_req_gpa = 0;
    return vio_rd(VIO_MAGIC) == 0x74726976u && vio_rd(VIO_DEVICE_ID) == 9 &&
           vio_setup((uintptr_t)vq.desc);
}

static void p9_session(void)
{
    m_begin(100);
    m_n(P9_MSIZE, 4);
    m_s("9P2000.L");
    p9_expect("Tversion", p9_send(0, P9_MSIZE), 101, 0);
    m_begin(104);
    m_n(1, 4);
    m_n(0xffffffffu, 4);
    m_s("");
    m_s("");
    m_n(0, 4);
    p9_expect("Tattach", p9_send(0, P9_MSIZE), 105, 0);
}

static void m_walk(uint32_t fid, uint32_t newfid, uint16_t n,
                   const char *const *names, unsigned given)
{
    m_begin(110);
    m_n(fid, 4);
    m_n(newfid, 4);
    m_n(n, 2);
    for (unsigned i = 0; i < given; i++) {
        m_s(names[i]);
    }
}

/* The read-only share: lies and climbs, answered one by one. */
static void p9_hostile_ro(void)
{
    static const char *const up3[] = {"..", "..", ".."};
    static const char *const slash[] = {"a/b"};
    static const char *const out[] = {"..", "outside"};
    static const char *const through[] = {"up", "secret"};
    uint8_t root[13];
    bool same = true;

    m_begin(104);
    m_n(1, 4);
    m_n(0xffffffffu, 4);
    m_s("");
    m_s("");
    m_n(0, 4);
    P9_SEND_EXPECT("Tattach before Tversion", P9_RLERROR, 71);
    m_begin(100);
    m_n(100, 4);
    m_s("9P2000.L");
    P9_SEND_EXPECT("Tversion of 100 bytes", P9_RLERROR, 22);
    p9_session();
    bytes_copy(root, p9r + 7, 13);
    m_walk(1, 2, 3, up3, 1);
    P9_SEND_EXPECT("Twalk of 3 names with 1", P9_RLERROR, 71);
    m_walk(1, 2, 17, up3, 3);
    P9_SEND_EXPECT("Twalk of 17 names", P9_RLERROR, 22);
    m_walk(1, 2, 3, up3, 3);
    P9_SEND_EXPECT("Twalk ../../..", 111, 0);
    for (unsigned i = 0; i < 3 * 13; i++) {
        same = same && r_n(9 + i, 1) == root[i % 13];
    }
    p9_n++;
    if (same && r_n(7, 2) == 3) {
        p9_ok++;
    } else {
        fail("9p ../../..: not the root three times");
    }
    m_walk(1, 3, 1, slash, 1);
    P9_SEND_EXPECT("Twalk a/b", P9_RLERROR, 22);
    m_walk(1, 3, 2, out, 2);
    P9_SEND_EXPECT("Twalk ../outside", 111, 0);
    p9_n++;
    p9_ok += r_n(7, 2) == 1; /* the root again, then nothing */
    m_begin(24);
    m_n(3, 4);
    m_n(0x7ff, 8);
    P9_SEND_EXPECT("Tgetattr of a fid a cut walk left unbound", P9_RLERROR, 9);
    m_walk(1, 3, 2, through, 2);
    P9_SEND_EXPECT("Twalk through a link out", 111, 0);
    p9_n++;
    p9_ok += r_n(7, 2) == 1 && p9r[9] == 0x02; /* the link, then stop */
    m_begin(12);
    m_n(9, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tlopen of an unknown fid", P9_RLERROR, 9);
    m_begin(116);
    m_n(1, 4);
    m_n(0, 8);
    m_n(0xffffffffu, 4);
    P9_SEND_EXPECT("Tread of 4 GiB, not opened", P9_RLERROR, 9);
    m_begin(118);
    m_n(1, 4);
    m_n(0, 8);
    m_n(1, 4);
    m_n('x', 1);
    P9_SEND_EXPECT("Twrite on a read-only share", P9_RLERROR, 30);
    m_begin(72);
    m_n(1, 4);
    m_s("made");
    m_n(0755, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tmkdir on a read-only share", P9_RLERROR, 30);
    m_begin(255);
    m_n(1, 4);
    P9_SEND_EXPECT("an unknown type", P9_RLERROR, 95);
    m_begin(12);
    m_n(2, 4);
    m_n(0200000, 4);
    P9_SEND_EXPECT("Tlopen of the root", 13, 0);
    m_begin(40);
    m_n(2, 4);
    m_n(0, 8);
    m_n(0xffffffffu, 4);
    P9_SEND_EXPECT("Treaddir of 4 GiB", 41, 0);
    p9_n++;
    p9_ok += r_n(0, 4) <= P9_MSIZE && r_n(7, 4) + 11 == r_n(0, 4);
}

/* Chains the device must refuse, then a session that works again. */
static void p9_hostile_ring(void)
{
    unsigned ok = p9_ok;

    p9_n += 3;
    m_begin(120);
    m_n(2, 4);
    p9_ok += p9_send(0, 8) == 0; /* no Rlerror fits 8 bytes */
    (void)vio_setup((uintptr_t)vq.desc);
    p9_idx = 0;
    m_begin(120);
    m_n(2, 4);
    p9_ok += p9_send(4000, P9_MSIZE) == 0; /* a size past the chain */
    (void)vio_setup((uintptr_t)vq.desc);
    p9_idx = 0;
    p9_req_gpa = 0x7ff000000000ull;
    p9_ok += p9_send(0, P9_MSIZE) == 0;
    p9_req_gpa = 0;
    (void)vio_setup((uintptr_t)vq.desc);
    p9_idx = 0;
    if (p9_ok != ok + 3) {
        fail("9p: %u of 3 broken chains refused", p9_ok - ok);
    }
    p9_session();
}

/* The writable share: nothing made outside it, no device node. */
static void p9_hostile_rw(void)
{
    static const char *const up[] = {"up"};
    static const char *const ln_etc[] = {"ln", "etc"};

    p9_session();
    m_begin(14);
    m_n(1, 4);
    m_s("..");
    m_n(2, 4);
    m_n(0644, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tlcreate ..", P9_RLERROR, 22);
    m_begin(72);
    m_n(1, 4);
    m_s("a/b");
    m_n(0755, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tmkdir a/b", P9_RLERROR, 22);
    m_begin(16);
    m_n(1, 4);
    m_s("ln");
    m_s("/");
    m_n(0, 4);
    P9_SEND_EXPECT("Tsymlink ln -> /", 17, 0);
    m_walk(1, 2, 2, ln_etc, 2);
    P9_SEND_EXPECT("Twalk ln/etc", 111, 0);
    p9_n++;
    p9_ok += r_n(7, 2) == 1;
    m_walk(1, 2, 1, up, 1);
    P9_SEND_EXPECT("Twalk to the link out", 111, 0);
    m_begin(14);
    m_n(2, 4);
    m_s("evil");
    m_n(2, 4);
    m_n(0644, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tlcreate through a link out", P9_RLERROR, 20);
    m_begin(26);
    m_n(2, 4);
    m_n(1, 4);
    m_n(0777, 4);
    for (unsigned i = 0; i < 7; i++) {
        m_n(0, i < 2 ? 4 : 8);
    }
    P9_SEND_EXPECT("Tsetattr mode of a link", P9_RLERROR, 95);
    m_begin(76);
    m_n(1, 4);
    m_s(".");
    m_n(0x200, 4);
    P9_SEND_EXPECT("Tunlinkat .", P9_RLERROR, 22);
    m_begin(74);
    m_n(1, 4);
    m_s("ln");
    m_n(1, 4);
    m_s("../ln2");
    P9_SEND_EXPECT("Trenameat to ../ln2", P9_RLERROR, 22);
    m_begin(18);
    m_n(1, 4);
    m_s("disk");
    m_n(0060660, 4);
    m_n(8, 4);
    m_n(0, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tmknod of a block device", P9_RLERROR, 1);
    m_walk(1, 5, 0, up, 0);
    P9_SEND_EXPECT("Twalk clone", 111, 0);
    m_begin(14);
    m_n(5, 4);
    m_s("file");
    m_n(2, 4);
    m_n(0644, 4);
    m_n(0, 4);
    P9_SEND_EXPECT("Tlcreate file", 15, 0);
    m_begin(118);
    m_n(5, 4);
    m_n(0, 8);
    m_n(0xffffffffu, 4);
    m_n('x', 1);
    P9_SEND_EXPECT("Twrite of 4 GiB with 1 byte", P9_RLERROR, 71);
    m_begin(76);
    m_n(5, 4);
    m_s("x");
    m_n(0, 4);
    P9_SEND_EXPECT("Tunlinkat in a file", P9_RLERROR, 20);
    m_begin(76);
    m_n(1, 4);
    m_s("file");
    m_n(0, 4);
    P9_SEND_EXPECT("Tunlinkat file", 77, 0);
}

static void p9_hostile(const struct facts *f)
{
    if (!str_contains(f->fw_cmdline, "virtio9p=hostile")) {
        return;
    }
    if (!p9_setup(VIO_BASE)) {
        fail("no virtio-9p at 0x%lx", VIO_BASE);
        return;
    }
    p9_hostile_ro();
    p9_hostile_ring();
    vio_wr(VIO_STATUS, 0);
    if (p9_setup(VIO_BASE + VIO_STRIDE)) {
        p9_hostile_rw();
        vio_wr(VIO_STATUS, 0);
    }
    vio_base = VIO_BASE;
    say("9p hostile: %u of %u cases handled, %u Rlerror", p9_ok, p9_n,
        p9_errors);
}

/* One raw console line (no "mbkernel: " prefix). */
static void raw_line(const char *s)
{
    out_mem(s, (uint32_t)str_len_max(s, 1u << 20));
    out_mem("\n", 1);
    uart_flush();
}

static void raw_lines(const char *const *lines)
{
    for (; *lines; lines++) {
        raw_line(*lines);
    }
}

/* KUnit's shape: one suite of five, 3 pass, 1 skip, 1 fail. */
static const char *const ktap_mixed[] = {
    "KTAP version 1",
    "1..1",
    "    KTAP version 1",
    "    # Subtest: mbk_demo",
    "    1..5",
    "    ok 1 pass_one",
    "    ok 2 pass_two",
    "    ok 3 skip_three # SKIP no such device",
    "    # fail_four: EXPECTATION FAILED at mbkernel.c:1",
    "    # Expected answer == 42, but answer == 41",
    "    not ok 4 fail_four",
    "    ok 5 pass_five",
    "# mbk_demo: pass:3 fail:1 skip:1 total:5",
    "not ok 1 mbk_demo",
    NULL,
};

static const char *const ktap_pass[] = {
    "TAP version 13", "1..3", "ok 1 first", "ok 2 second # SKIP not here",
    "ok 3 third",     NULL,
};

/* A plan of three with two results: the guest then powers off. */
static const char *const ktap_trunc[] = {
    "KTAP version 1", "1..3", "ok 1 first", "ok 2 second", NULL,
};

/* Subtests 20 deep, a 6000-byte line, invalid UTF-8 and control bytes. */
static void ktap_hostile(void)
{
    static char line[6100];
    unsigned d, i;

    raw_line("KTAP version 1");
    raw_line("1..2");
    raw_line("not ok 1 bad\xff\xfe name <&> \x01\x1b[31m");
    for (i = 0; i < 6000; i++) {
        line[i] = (char)('#' + (i % 64 == 0 ? 0 : 1 + i % 50));
    }
    line[0] = '#';
    line[6000] = '\0';
    raw_line(line);
    for (d = 1; d <= 20; d++) {
        for (i = 0; i < 4 * d; i++) {
            line[i] = ' ';
        }
        line[i] = '\0';
        out_mem(line, i);
        raw_line("KTAP version 1");
    }
    raw_line("ok 2 never reached");
}

/*
 * With "ktap=mixed|pass|trunc|hostile" on the command line, print a KTAP
 * document on the console (vmm run --ktap reads it). mixed and pass end
 * their plan (the VMM ends the VM there); trunc and hostile power off
 * through ACPI S5 after theirs.
 */
static void print_ktap(const struct facts *f)
{
    if (str_contains(f->fw_cmdline, "ktap=mixed")) {
        raw_lines(ktap_mixed);
    } else if (str_contains(f->fw_cmdline, "ktap=pass")) {
        raw_lines(ktap_pass);
    } else if (str_contains(f->fw_cmdline, "ktap=trunc")) {
        raw_lines(ktap_trunc);
    } else if (str_contains(f->fw_cmdline, "ktap=hostile")) {
        ktap_hostile();
    } else {
        return;
    }
    say("KTAP document printed; powering off through ACPI S5");
    outw(0x604, (uint16_t)((5u << 10) | (1u << 13)));
    debug_exit(MBK_EXIT_FAIL);
}

/*
 * With "exit=acpi", "exit=kbd" or "exit=cf9" on the command line, end the
 * VM the way an OS powers off or reboots instead of through
 * isa-debug-exit: the VMM must end with status 0. The ACPI ports are the
 * ones vmm's FADT names (PM1a_CNT 0x604, S5 = 5); a real OS reads them
 * from the FADT.
 */
static void guest_initiated_exit(const struct facts *f)
{
    if (str_contains(f->fw_cmdline, "exit=acpi")) {
        say("powering off through ACPI S5");
        outw(0x604, (uint16_t)((5u << 10) | (1u << 13)));
        say("ACPI power-off did not end the VM");
        debug_exit(MBK_EXIT_FAIL);
    }
    if (str_contains(f->fw_cmdline, "exit=kbd")) {
        say("resetting through the i8042");
        outb(0x64, 0xfe);
        say("i8042 reset did not end the VM");
        debug_exit(MBK_EXIT_FAIL);
    }
    if (str_contains(f->fw_cmdline, "exit=cf9")) {
        say("resetting through port 0xcf9");
        outb(0xcf9, 0x06);
        say("0xcf9 reset did not end the VM");
        debug_exit(MBK_EXIT_FAIL);
    }
}

_Noreturn void mbk_main(uint32_t magic, uint32_t info)
{
    static struct facts facts;

    check_uart();
    check_multiboot(magic, info, &facts);
    check_fw_cfg(&facts);
    if (!facts.fw_cfg_valid) {
        facts.ncpus = 1;
    }
    check_consistency(&facts);
    check_cmos(&facts);
    check_i8042();
    check_pci();
    check_smp(&facts);
    io_probe(&facts);
    virtio_hostile(&facts);
    p9_hostile(&facts);

    if (failures) {
        say("%u checks failed", failures);
        debug_exit(MBK_EXIT_FAIL);
    }
    say("all checks passed");
    print_ktap(&facts);
    guest_initiated_exit(&facts);
    debug_exit(MBK_EXIT_PASS);
}

_Noreturn void mbk_exception(uint64_t vector, uint64_t error, uint64_t rip)
{
    out_len = 0;
    fail("exception %lu error 0x%lx at rip 0x%lx", vector, error, rip);
    debug_exit(MBK_EXIT_FAIL);
}
