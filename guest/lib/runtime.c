/* SPDX-License-Identifier: MIT */
/*
 * Console output, printf-lite and the test-device wrappers. Output is
 * batched: each exit costs about 25 us on the PVM host, so text goes out
 * through TESTDEV_REG_CONSOLE_BUF a buffer at a time.
 */
#include "guest/guest.h"

/* printf output is gathered here and sent one buffer per exit. */
#define GUEST_PRINTF_BUF 256

struct guest_out {
    char buf[GUEST_PRINTF_BUF];
    size_t n;
    int total;
};

void guest_putc(char c)
{
    guest_reg_write(TESTDEV_REG_CONSOLE_PUTC, (uint8_t)c);
}

void guest_write(const char *s, size_t len)
{
    while (len > 0) {
        size_t n =
            len < TESTDEV_CONSOLE_BUF_MAX ? len : TESTDEV_CONSOLE_BUF_MAX;

        /* The barrier in the MMIO write makes the bytes reach memory first. */
        guest_reg_write(TESTDEV_REG_CONSOLE_BUF,
                        TESTDEV_CONSOLE_BUF((uintptr_t)s, n));
        s += n;
        len -= n;
    }
}

void guest_puts(const char *s)
{
    guest_printf("%s\n", s);
}

static void out_flush(struct guest_out *o)
{
    if (o->n > 0) {
        guest_write(o->buf, o->n);
        o->n = 0;
    }
}

static void out_putc(struct guest_out *o, char c)
{
    if (o->n == sizeof(o->buf)) {
        out_flush(o);
    }
    o->buf[o->n++] = c;
    o->total++;
}

static void out_pad(struct guest_out *o, char c, int n)
{
    while (n-- > 0) {
        out_putc(o, c);
    }
}

struct guest_fmt {
    bool left;
    bool zero;
    int width;
};

static void out_str(struct guest_out *o, const struct guest_fmt *f,
                    const char *s)
{
    int len = 0;

    if (!s) {
        s = "(null)";
    }
    while (s[len]) {
        len++;
    }
    if (!f->left) {
        out_pad(o, ' ', f->width - len);
    }
    for (int i = 0; i < len; i++) {
        out_putc(o, s[i]);
    }
    if (f->left) {
        out_pad(o, ' ', f->width - len);
    }
}

static void out_num(struct guest_out *o, const struct guest_fmt *f, uint64_t v,
                    unsigned base, bool neg, const char *prefix)
{
    char digits[24];
    int nd = 0, len, plen = 0;

    do {
        digits[nd++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (prefix[plen]) {
        plen++;
    }
    len = nd + plen + (neg ? 1 : 0);
    if (!f->left && !f->zero) {
        out_pad(o, ' ', f->width - len);
    }
    if (neg) {
        out_putc(o, '-');
    }
    for (int i = 0; i < plen; i++) {
        out_putc(o, prefix[i]);
    }
    if (!f->left && f->zero) {
        out_pad(o, '0', f->width - len);
    }
    while (nd > 0) {
        out_putc(o, digits[--nd]);
    }
    if (f->left) {
        out_pad(o, ' ', f->width - len);
    }
}

int guest_vprintf(const char *fmt, va_list ap)
{
    struct guest_out o = {.n = 0, .total = 0};

    for (const char *p = fmt; *p; p++) {
        struct guest_fmt f = {false, false, 0};
        int lng = 0;
        bool size_t_arg = false;
        uint64_t u;
        int64_t s;

        if (*p != '%') {
            out_putc(&o, *p);
            continue;
        }
        p++;
        for (;; p++) {
            if (*p == '-') {
                f.left = true;
            } else if (*p == '0') {
                f.zero = true;
            } else {
                break;
            }
        }
        while (*p >= '0' && *p <= '9') {
            f.width = f.width * 10 + (*p++ - '0');
        }
        while (*p == 'l') {
            lng++;
            p++;
        }
        if (*p == 'z') {
            size_t_arg = true;
            p++;
        }
        switch (*p) {
        case 'd':
        case 'i':
            if (lng > 0 || size_t_arg) {
                s = va_arg(ap, int64_t);
            } else {
                s = va_arg(ap, int);
            }
            u = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
            out_num(&o, &f, u, 10, s < 0, "");
            break;
        case 'u':
        case 'x':
            if (lng > 0 || size_t_arg) {
                u = va_arg(ap, uint64_t);
            } else {
                u = va_arg(ap, unsigned int);
            }
            out_num(&o, &f, u, *p == 'u' ? 10 : 16, false, "");
            break;
        case 'p':
            u = (uintptr_t)va_arg(ap, void *);
            out_num(&o, &f, u, 16, false, "0x");
            break;
        case 's':
            out_str(&o, &f, va_arg(ap, const char *));
            break;
        case 'c':
            out_putc(&o, (char)va_arg(ap, int));
            break;
        case '%':
            out_putc(&o, '%');
            break;
        case '\0':
            /* A lone '%' at the end: print it and stop. */
            out_putc(&o, '%');
            p--;
            break;
        default:
            out_putc(&o, '%');
            out_putc(&o, *p);
            break;
        }
    }
    out_flush(&o);
    return o.total;
}

int guest_printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = guest_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

_Noreturn void guest_park(void)
{
    for (;;) {
        guest_cpu_relax();
    }
}

_Noreturn void guest_exit(int status)
{
    guest_reg_write(TESTDEV_REG_EXIT, (uint32_t)status);
    /* The VMM stops this vCPU; should it come back, stay put. */
    guest_park();
}

uint64_t guest_ram_size(void)
{
    return guest_reg_read(TESTDEV_REG_RAM_SIZE);
}

uint32_t guest_vcpu_id(void)
{
    return (uint32_t)guest_reg_read(TESTDEV_REG_VCPU_ID);
}

uint64_t guest_time_ns(void)
{
    return guest_reg_read(TESTDEV_REG_TIMESTAMP);
}

uint64_t guest_arg(void)
{
    return guest_reg_read(TESTDEV_REG_ARG);
}

static int guest_region_cmd(unsigned op, unsigned region, uint64_t gpa)
{
    guest_reg_write(TESTDEV_REG_REGION_CMD,
                    TESTDEV_REGION_CMD(op, region, gpa));
    return (int)(int64_t)guest_reg_read(TESTDEV_REG_REGION_STATUS);
}

int guest_region_enable(unsigned region)
{
    return guest_region_cmd(TESTDEV_OP_ENABLE, region, 0);
}

int guest_region_disable(unsigned region)
{
    return guest_region_cmd(TESTDEV_OP_DISABLE, region, 0);
}

int guest_region_move(unsigned region, uint64_t gpa)
{
    if (gpa & 0xfff) {
        /* The command has no room for the low bits: refuse, don't round. */
        return -22;
    }
    return guest_region_cmd(TESTDEV_OP_MOVE, region, gpa);
}
