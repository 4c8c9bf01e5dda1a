/* SPDX-License-Identifier: MIT */
/*
 * 16550A register model tests. Each case builds a fresh UART at port
 * 0x3f8 of an "io" address space and drives it with as_access(), so the
 * declared access sizes are checked too. Recording hooks capture every tx
 * batch, every interrupt line transition (as a string such as "10") and
 * every rx_ready notice. Covers reset values, DLAB and the divisor, IER,
 * IIR priorities and acknowledgement, FCR and trigger levels, overrun,
 * LSR and break, loopback and MSR deltas, SCR, flow control of host input,
 * batching and ordering of output from several threads, hooks that call
 * back into the device, and a seeded random access storm.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "devices/serial8250.h"
#include "mem/address_space.h"
#include "mem/region.h"
#include "unit.h"

static unsigned unit_failures;

#define COM1 0x3f8
#define RBR (COM1 + SERIAL8250_RBR)
#define THR (COM1 + SERIAL8250_THR)
#define DLL (COM1 + SERIAL8250_DLL)
#define DLM (COM1 + SERIAL8250_DLM)
#define IER (COM1 + SERIAL8250_IER)
#define IIR (COM1 + SERIAL8250_IIR)
#define FCR (COM1 + SERIAL8250_FCR)
#define LCR (COM1 + SERIAL8250_LCR)
#define MCR (COM1 + SERIAL8250_MCR)
#define LSR (COM1 + SERIAL8250_LSR)
#define MSR (COM1 + SERIAL8250_MSR)
#define SCR (COM1 + SERIAL8250_SCR)

#define THRE_TEMT (SERIAL8250_LSR_THRE | SERIAL8250_LSR_TEMT)
#define LOOP SERIAL8250_MCR_LOOP
/* MSR inputs outside loopback: CTS, DSR, DCD. */
#define MSR_IDLE 0xb0

/* What the hooks saw. */
struct rec {
    pthread_mutex_t lock;
    uint8_t tx[8192];
    size_t tx_len;
    unsigned tx_calls;
    size_t tx_max_batch;
    /* Line transitions as '0'/'1' characters. */
    char irq[256];
    unsigned nr_irq;
    int level;
    unsigned rx_ready;
    /* Behaviours for particular cases. */
    struct fixture *isr; /* set_irq(1) runs an "interrupt handler" */
    unsigned isr_runs;
    bool echo;           /* tx writes every byte back to SCR */
    bool block_first_tx; /* the first tx call waits for (go) */
    bool in_tx;
    bool go;
    pthread_cond_t cond;
};

struct fixture {
    struct mem_sys *sys;
    struct mem_region root;
    struct address_space *as;
    struct serial8250 uart;
    struct rec rec;
    bool ok;
};

static uint64_t fx_in(struct fixture *f, gpa_t port, unsigned size);
static void fx_out(struct fixture *f, gpa_t port, unsigned size, uint64_t v);

static void rec_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct fixture *f = opaque;
    struct rec *r = &f->rec;

    pthread_mutex_lock(&r->lock);
    if (r->block_first_tx && r->tx_calls == 0) {
        r->in_tx = true;
        pthread_cond_broadcast(&r->cond);
        while (!r->go) {
            pthread_cond_wait(&r->cond, &r->lock);
        }
    }
    for (size_t i = 0; i < len && r->tx_len < sizeof(r->tx); i++) {
        r->tx[r->tx_len++] = buf[i];
    }
    r->tx_calls++;
    if (len > r->tx_max_batch) {
        r->tx_max_batch = len;
    }
    pthread_mutex_unlock(&r->lock);
    if (r->echo) {
        /* A hook that calls back into the device must not deadlock. */
        for (size_t i = 0; i < len; i++) {
            fx_out(f, SCR, 1, buf[i]);
        }
    }
}

static void rec_set_irq(void *opaque, int level)
{
    struct fixture *f = opaque;
    struct rec *r = &f->rec;

    pthread_mutex_lock(&r->lock);
    if (r->nr_irq < sizeof(r->irq) - 1) {
        r->irq[r->nr_irq++] = level ? '1' : '0';
        r->irq[r->nr_irq] = '\0';
    }
    r->level = level;
    pthread_mutex_unlock(&r->lock);
    if (level && r->isr) {
        /* An interrupt handler in the style of Linux's: read IIR and
         * serve the source until none is left, from inside the hook. */
        for (unsigned n = 0; n < 64; n++) {
            uint8_t iir = (uint8_t)fx_in(f, IIR, 1);

            if (iir & SERIAL8250_IIR_NO_INT) {
                break;
            }
            switch (iir & SERIAL8250_IIR_ID_MASK) {
            case SERIAL8250_IIR_RDI:
            case SERIAL8250_IIR_TIMEOUT:
                while (fx_in(f, LSR, 1) & SERIAL8250_LSR_DR) {
                    (void)fx_in(f, RBR, 1);
                }
                break;
            case SERIAL8250_IIR_RLSI:
                (void)fx_in(f, LSR, 1);
                break;
            case SERIAL8250_IIR_MSI:
                (void)fx_in(f, MSR, 1);
                break;
            default:
                /* THRI: nothing more to send; stop asking. */
                fx_out(f, IER, 1, fx_in(f, IER, 1) & ~SERIAL8250_IER_THRI);
                break;
            }
        }
        r->isr_runs++;
    }
}

static void rec_rx_ready(void *opaque)
{
    struct fixture *f = opaque;

    pthread_mutex_lock(&f->rec.lock);
    f->rec.rx_ready++;
    pthread_mutex_unlock(&f->rec.lock);
}

static const struct serial8250_hooks rec_hooks = {
    .tx = rec_tx,
    .set_irq = rec_set_irq,
    .rx_ready = rec_rx_ready,
};

static bool fx_setup(struct fixture *f)
{
    int rc;

    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->rec.lock, NULL);
    pthread_cond_init(&f->rec.cond, NULL);
    rc = serial8250_init(&f->uart, &rec_hooks, f);
    CHECK(rc == 0, "serial8250_init: %d", rc);
    if (rc) {
        return false;
    }
    rc = mr_init_container(&f->root, "io", 0x10000);
    CHECK(rc == 0, "mr_init_container: %d", rc);
    rc = rc ? rc : mem_sys_new(&f->sys);
    rc = rc ? rc : as_new(f->sys, "io", &f->root, 0x10000, &f->as);
    rc = rc ? rc : mr_add_subregion(&f->root, COM1, &f->uart.region);
    CHECK(rc == 0, "fixture: %d", rc);
    f->ok = rc == 0;
    return f->ok;
}

static void fx_teardown(struct fixture *f)
{
    int rc;

    if (f->uart.region.container) {
        rc = mr_del_subregion(&f->root, &f->uart.region);
        CHECK(rc == 0, "del uart: %d", rc);
    }
    mem_sys_free(f->sys);
    rc = serial8250_destroy(&f->uart);
    CHECK(rc == 0, "serial8250_destroy: %d", rc);
    rc = mr_destroy(&f->root);
    CHECK(rc == 0, "destroy root: %d", rc);
    pthread_cond_destroy(&f->rec.cond);
    pthread_mutex_destroy(&f->rec.lock);
}

static uint64_t fx_in(struct fixture *f, gpa_t port, unsigned size)
{
    uint8_t b[8] = {0};
    uint64_t v = 0;
    int rc = as_access(f->as, port, b, size, false);

    CHECK(rc == 0, "in%u 0x%" PRIx64 ": %d", size, port, rc);
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

static void fx_out(struct fixture *f, gpa_t port, unsigned size, uint64_t v)
{
    uint8_t b[8];
    int rc;

    for (unsigned i = 0; i < size; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    rc = as_access(f->as, port, b, size, true);
    CHECK(rc == 0, "out%u 0x%" PRIx64 ": %d", size, port, rc);
}

static uint8_t inb(struct fixture *f, gpa_t port)
{
    return (uint8_t)fx_in(f, port, 1);
}

static void outb(struct fixture *f, gpa_t port, uint8_t v)
{
    fx_out(f, port, 1, v);
}

/* The line transitions since the last call, as a string; clears them. */
static const char *irq_log(struct fixture *f, char *buf, size_t len)
{
    pthread_mutex_lock(&f->rec.lock);
    snprintf(buf, len, "%s", f->rec.irq);
    f->rec.nr_irq = 0;
    f->rec.irq[0] = '\0';
    pthread_mutex_unlock(&f->rec.lock);
    return buf;
}

#define EXPECT_IRQ(f, name, want)                                              \
    do {                                                                       \
        char irq_buf_[256];                                                    \
        const char *got_ = irq_log(f, irq_buf_, sizeof(irq_buf_));             \
        CHECK(strcmp(got_, want) == 0,                                         \
              "%s: irq transitions \"%s\", want "                              \
              "\"%s\"",                                                        \
              name, got_, want);                                               \
    } while (0)

#define EXPECT_REG(f, port, want, name)                                        \
    do {                                                                       \
        uint8_t got_ = inb(f, port);                                           \
        CHECK(got_ == (uint8_t)(want), "%s: 0x%02x, want 0x%02x", name, got_,  \
              (unsigned)(uint8_t)(want));                                      \
    } while (0)

static size_t receive_str(struct fixture *f, const char *s)
{
    return serial8250_receive(&f->uart, (const uint8_t *)s, strlen(s));
}

/* ---- cases ---- */

static void test_reset_values(void)
{
    static const struct {
        const char *name;
        gpa_t port;
        uint8_t want;
    } regs[] = {
        {"IER", IER, 0x00}, {"IIR", IIR, 0x01}, {"LCR", LCR, 0x00},
        {"MCR", MCR, 0x00}, {"LSR", LSR, 0x60}, {"MSR", MSR, 0xb0},
        {"SCR", SCR, 0x00}, {"RBR", RBR, 0x00},
    };
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        EXPECT_REG(&f, regs[i].port, regs[i].want, regs[i].name);
    }
    CHECK(serial8250_rx_room(&f.uart) == 1, "rx room without FIFO: %zu",
          serial8250_rx_room(&f.uart));
    EXPECT_IRQ(&f, "reset", "");
    fx_teardown(&f);
}

static void test_divisor(void)
{
    static const uint16_t divisors[] = {1, 12, 0x0180, 0xffff, 0};
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    outb(&f, IER, 0x05);
    outb(&f, LCR, SERIAL8250_LCR_DLAB | SERIAL8250_LCR_WLEN8);
    /* Reset divisor: 12 (9600 baud). */
    EXPECT_REG(&f, DLL, 12, "DLL after reset");
    EXPECT_REG(&f, DLM, 0, "DLM after reset");
    for (size_t i = 0; i < sizeof(divisors) / sizeof(divisors[0]); i++) {
        uint16_t d = divisors[i];

        outb(&f, DLL, (uint8_t)d);
        outb(&f, DLM, (uint8_t)(d >> 8));
        EXPECT_REG(&f, DLL, d & 0xff, "DLL round trip");
        EXPECT_REG(&f, DLM, d >> 8, "DLM round trip");
    }
    /* A 16-bit write reaches DLL and DLM, one byte each, as on ISA. */
    fx_out(&f, DLL, 2, 0x1234);
    CHECK(fx_in(&f, DLL, 2) == 0x1234, "outw divisor: 0x%" PRIx64,
          fx_in(&f, DLL, 2));
    /* DLAB hides neither LCR nor the rest; clearing it shows IER again. */
    EXPECT_REG(&f, LCR, 0x83, "LCR with DLAB");
    outb(&f, LCR, SERIAL8250_LCR_WLEN8);
    EXPECT_REG(&f, IER, 0x05, "IER behind DLM");
    /* With DLAB off, offset 0 is THR: the divisor is untouched. */
    outb(&f, THR, 'x');
    outb(&f, LCR, SERIAL8250_LCR_DLAB);
    EXPECT_REG(&f, DLL, 0x34, "DLL after THR write");
    EXPECT_REG(&f, DLM, 0x12, "DLM after THR write");
    outb(&f, LCR, 0);
    CHECK(f.rec.tx_len == 1 && f.rec.tx[0] == 'x', "tx while DLAB off");
    fx_teardown(&f);
}

static void test_ier_scr_lcr(void)
{
    static const uint8_t values[] = {0x00, 0x01, 0x55, 0xaa, 0x7f, 0xff};
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint8_t v = values[i];

        outb(&f, SCR, v);
        EXPECT_REG(&f, SCR, v, "SCR");
        outb(&f, IER, v);
        /* Bits 4-7 do not exist on a 16550A (Linux probes this). */
        EXPECT_REG(&f, IER, v & 0x0f, "IER");
        outb(&f, LCR, v & 0x7f);
        EXPECT_REG(&f, LCR, v & 0x7f, "LCR");
        outb(&f, MCR, v);
        EXPECT_REG(&f, MCR, v & 0x1f, "MCR");
        outb(&f, MCR, 0);
        outb(&f, IER, 0);
    }
    /* LSR and MSR writes are ignored (the loopback toggles above left
     * deltas: read them away first). */
    (void)inb(&f, MSR);
    outb(&f, LSR, 0x1f);
    EXPECT_REG(&f, LSR, 0x60, "LSR after write");
    outb(&f, MSR, 0x0f);
    EXPECT_REG(&f, MSR, 0xb0, "MSR after write");
    fx_teardown(&f);
}

static void test_thr_and_tx(void)
{
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    for (const char *p = "hello\n"; *p; p++) {
        outb(&f, THR, (uint8_t)*p);
        /* Instantaneous transmit: THR and the shifter are empty again. */
        EXPECT_REG(&f, LSR, THRE_TEMT, "LSR after THR write");
    }
    CHECK(f.rec.tx_len == 6 && memcmp(f.rec.tx, "hello\n", 6) == 0,
          "tx bytes: %zu", f.rec.tx_len);
    /* A lone writer never waits: every byte goes out with its write. */
    CHECK(f.rec.tx_calls == 6 && f.rec.tx_max_batch == 1,
          "tx calls %u, max batch %zu", f.rec.tx_calls, f.rec.tx_max_batch);
    /* Word length does not alter the bytes. */
    outb(&f, LCR, 0x00);
    outb(&f, THR, 0xff);
    CHECK(f.rec.tx[6] == 0xff, "5-bit word length: 0x%02x", f.rec.tx[6]);
    EXPECT_IRQ(&f, "no interrupt enabled", "");
    fx_teardown(&f);
}

static void test_thri(void)
{
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    /* Enabling ETBEI while THR is empty raises the interrupt. */
    outb(&f, IER, SERIAL8250_IER_THRI);
    EXPECT_IRQ(&f, "enable ETBEI", "1");
    /* Reading IIR reports and acknowledges it. */
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_THRI, "IIR THRI");
    EXPECT_IRQ(&f, "IIR read", "0");
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_NO_INT, "IIR after ack");
    /* Rewriting the same IER is no rising edge. */
    outb(&f, IER, SERIAL8250_IER_THRI);
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_NO_INT, "IER rewrite");
    /* Toggling ETBEI is (Windows and Linux rely on this). */
    outb(&f, IER, 0);
    outb(&f, IER, SERIAL8250_IER_THRI);
    EXPECT_IRQ(&f, "toggle ETBEI", "1");
    /* Disabling drops the line without an IIR read. */
    outb(&f, IER, 0);
    EXPECT_IRQ(&f, "disable ETBEI", "0");
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_NO_INT, "IIR disabled");
    /* Each THR write makes THR empty again: pending once more. */
    outb(&f, IER, SERIAL8250_IER_THRI);
    (void)inb(&f, IIR);
    outb(&f, THR, 'a');
    EXPECT_IRQ(&f, "THR write", "101");
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_THRI, "IIR after THR write");
    EXPECT_IRQ(&f, "ack", "0");
    /* A THR write while pending: the line stays up, no extra call. */
    outb(&f, THR, 'b');
    outb(&f, THR, 'c');
    EXPECT_IRQ(&f, "writes while pending", "1");
    fx_teardown(&f);
}

static void test_priorities(void)
{
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    /* Make every source pending at once: loopback overrun (line status),
     * data (received data), ETBEI (THR empty), RTS change (modem). */
    outb(&f, FCR, SERIAL8250_FCR_ENABLE);
    outb(&f, MCR, LOOP | SERIAL8250_MCR_RTS);
    for (unsigned i = 0; i < SERIAL8250_FIFO_SIZE + 1; i++) {
        outb(&f, THR, (uint8_t)i);
    }
    outb(&f, IER, 0x0f);
    EXPECT_IRQ(&f, "all sources", "1");
    /* Highest first; serving each source reveals the next. */
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_RLSI, "IIR 1: line status");
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_OE | SERIAL8250_LSR_DR,
               "LSR with overrun");
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_RDI, "IIR 2: received data");
    for (unsigned i = 0; i < SERIAL8250_FIFO_SIZE; i++) {
        EXPECT_REG(&f, RBR, i, "RBR order");
    }
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_THRI, "IIR 3: THR empty");
    /* That read acknowledged THRI: modem status is next. */
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_MSI, "IIR 4: modem status");
    /* Entering loopback with RTS: CTS stays, DSR and DCD drop. */
    EXPECT_REG(&f, MSR,
               SERIAL8250_MSR_CTS | SERIAL8250_MSR_DDSR | SERIAL8250_MSR_DDCD,
               "MSR");
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_NO_INT, "IIR 5: none");
    EXPECT_IRQ(&f, "served", "0");

    /* Masked sources do not show: only ELSI with data and an error. */
    outb(&f, IER, SERIAL8250_IER_RLSI);
    outb(&f, THR, 'z');
    EXPECT_REG(&f, IIR, 0xc1, "data without ERBFI");
    fx_teardown(&f);
}

static void test_fifo_control(void)
{
    static const struct {
        uint8_t fcr;
        unsigned level;
    } triggers[] = {
        {0x00, 1},
        {0x40, 4},
        {0x80, 8},
        {0xc0, 14},
    };
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    EXPECT_REG(&f, IIR, 0x01, "FIFOs off");
    outb(&f, FCR, SERIAL8250_FCR_ENABLE);
    EXPECT_REG(&f, IIR, 0xc1, "FIFOs on");
    CHECK(serial8250_rx_room(&f.uart) == 16, "room with FIFO");
    outb(&f, IER, SERIAL8250_IER_RDI);
    for (size_t i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++) {
        unsigned level = triggers[i].level;
        char name[64];

        snprintf(name, sizeof(name), "trigger %u", level);
        outb(&f, FCR,
             triggers[i].fcr | SERIAL8250_FCR_ENABLE | SERIAL8250_FCR_CLEAR_RX);
        EXPECT_REG(&f, LSR, THRE_TEMT, name);
        for (unsigned n = 1; n < level; n++) {
            CHECK(serial8250_receive(&f.uart, (const uint8_t *)"x", 1) == 1,
                  "%s: receive", name);
            /* Below the trigger: the character timeout (at once, as the
             * model has no clock). */
            EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_TIMEOUT, name);
        }
        CHECK(serial8250_receive(&f.uart, (const uint8_t *)"y", 1) == 1,
              "%s: receive", name);
        EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_RDI, name);
        /* Reading one byte drops below the trigger again. */
        (void)inb(&f, RBR);
        EXPECT_REG(
            &f, IIR,
            0xc0 | (level > 1 ? SERIAL8250_IIR_TIMEOUT : SERIAL8250_IIR_NO_INT),
            name);
    }
    /* Clear RX: empty at once, the interrupt goes. */
    outb(&f, FCR, 0xc0 | SERIAL8250_FCR_ENABLE | SERIAL8250_FCR_CLEAR_RX);
    EXPECT_REG(&f, LSR, THRE_TEMT, "clear rx");
    EXPECT_REG(&f, IIR, 0xc1, "clear rx: IIR");
    /* Clearing TX (always empty) changes nothing else. */
    CHECK(receive_str(&f, "ab") == 2, "receive 2");
    outb(&f, FCR, 0xc0 | SERIAL8250_FCR_ENABLE | SERIAL8250_FCR_CLEAR_TX);
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR, "clear tx");
    /* Leaving FIFO mode empties the FIFOs; bits 1-7 without FCR0 are not
     * programmed. */
    outb(&f, FCR, 0xc0);
    EXPECT_REG(&f, IIR, 0x01, "FIFO off");
    EXPECT_REG(&f, LSR, THRE_TEMT, "FIFO off: empty");
    CHECK(serial8250_rx_room(&f.uart) == 1, "room without FIFO");
    /* 16450 mode: data interrupt with one byte, whatever the trigger. */
    CHECK(receive_str(&f, "cd") == 1, "16450 mode takes one byte");
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_RDI, "16450 RDI");
    EXPECT_REG(&f, RBR, 'c', "16450 RBR");
    /* Re-enabling: the trigger bits of that write count. */
    outb(&f, FCR, 0x40 | SERIAL8250_FCR_ENABLE);
    CHECK(receive_str(&f, "efg") == 3, "receive 3");
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_TIMEOUT, "trigger 4, 3 bytes");
    fx_teardown(&f);
}

static void test_overrun(void)
{
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    /* FIFO mode: the 17th byte is lost, OE latched until LSR is read. */
    outb(&f, FCR, SERIAL8250_FCR_ENABLE);
    outb(&f, MCR, LOOP);
    for (unsigned i = 0; i < 20; i++) {
        outb(&f, THR, (uint8_t)(0x40 + i));
    }
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR | SERIAL8250_LSR_OE,
               "FIFO overrun");
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR, "OE cleared by read");
    for (unsigned i = 0; i < SERIAL8250_FIFO_SIZE; i++) {
        EXPECT_REG(&f, RBR, 0x40 + i, "FIFO keeps the first 16");
    }
    EXPECT_REG(&f, LSR, THRE_TEMT, "drained");
    /* Empty RBR reads the last byte again. */
    EXPECT_REG(&f, RBR, 0x4f, "stale RBR");
    CHECK(f.rec.tx_len == 0, "loopback sends nothing: %zu", f.rec.tx_len);

    /* 16450 mode: the new byte overwrites RBR. */
    outb(&f, FCR, 0);
    outb(&f, THR, 'a');
    outb(&f, THR, 'b');
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR | SERIAL8250_LSR_OE,
               "16450 overrun");
    EXPECT_REG(&f, RBR, 'b', "16450 overwrite");
    EXPECT_REG(&f, LSR, THRE_TEMT, "16450 drained");
    fx_teardown(&f);
}

static void test_break(void)
{
    struct fixture f;
    int rc;

    if (!fx_setup(&f)) {
        return;
    }
    outb(&f, FCR, SERIAL8250_FCR_ENABLE);
    outb(&f, IER, SERIAL8250_IER_RLSI | SERIAL8250_IER_RDI);
    CHECK(receive_str(&f, "a") == 1, "receive a");
    rc = serial8250_receive_break(&f.uart);
    CHECK(rc == 0, "break: %d", rc);
    CHECK(receive_str(&f, "b") == 1, "receive b");
    /* BI shows when the break byte reaches the top; bit 7 while it is in
     * the FIFO. */
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_RDI, "no error at top");
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR | SERIAL8250_LSR_FIFOE,
               "error in FIFO");
    EXPECT_REG(&f, RBR, 'a', "a");
    EXPECT_REG(&f, IIR, 0xc0 | SERIAL8250_IIR_RLSI, "break at top");
    EXPECT_REG(&f, LSR,
               THRE_TEMT | SERIAL8250_LSR_DR | SERIAL8250_LSR_BI |
                   SERIAL8250_LSR_FIFOE,
               "BI");
    EXPECT_REG(&f, RBR, 0, "break byte");
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR, "BI read");
    EXPECT_REG(&f, RBR, 'b', "b");
    EXPECT_REG(&f, IIR, 0xc1, "none");
    /* No room: refused. */
    for (unsigned i = 0; i < SERIAL8250_FIFO_SIZE; i++) {
        CHECK(receive_str(&f, "z") == 1, "fill");
    }
    rc = serial8250_receive_break(&f.uart);
    CHECK(rc == -EAGAIN, "break when full: %d", rc);
    fx_teardown(&f);
}

static void test_loopback_msr(void)
{
    struct fixture f;
    uint8_t prev_in = 0;

    if (!fx_setup(&f)) {
        return;
    }
    /* Entering loopback with all outputs low: CTS, DSR, DCD drop. */
    outb(&f, MCR, LOOP);
    EXPECT_REG(&f, MSR,
               SERIAL8250_MSR_DCTS | SERIAL8250_MSR_DDSR | SERIAL8250_MSR_DDCD,
               "enter loopback");
    EXPECT_REG(&f, MSR, 0x00, "deltas cleared by read");
    /* Every combination of the four outputs, in Gray-code order, so each
     * step changes one input. */
    for (unsigned i = 1; i < 17; i++) {
        unsigned g = (i % 16) ^ ((i % 16) >> 1);
        uint8_t in = 0, delta = 0, got;

        outb(&f, MCR, (uint8_t)(LOOP | g));
        in |= (g & SERIAL8250_MCR_RTS) ? SERIAL8250_MSR_CTS : 0;
        in |= (g & SERIAL8250_MCR_DTR) ? SERIAL8250_MSR_DSR : 0;
        in |= (g & SERIAL8250_MCR_OUT1) ? SERIAL8250_MSR_RI : 0;
        in |= (g & SERIAL8250_MCR_OUT2) ? SERIAL8250_MSR_DCD : 0;
        delta |=
            ((in ^ prev_in) & SERIAL8250_MSR_CTS) ? SERIAL8250_MSR_DCTS : 0;
        delta |=
            ((in ^ prev_in) & SERIAL8250_MSR_DSR) ? SERIAL8250_MSR_DDSR : 0;
        delta |=
            ((in ^ prev_in) & SERIAL8250_MSR_DCD) ? SERIAL8250_MSR_DDCD : 0;
        /* TERI: only on the trailing edge of RI. */
        delta |= ((prev_in & SERIAL8250_MSR_RI) && !(in & SERIAL8250_MSR_RI))
                     ? SERIAL8250_MSR_TERI
                     : 0;
        got = inb(&f, MSR);
        CHECK(got == (in | delta), "MCR 0x%02x: MSR 0x%02x, want 0x%02x",
              LOOP | g, got, in | delta);
        prev_in = in;
    }
    /* Linux's probe: MCR = LOOP | RTS | OUT2 gives CTS | DCD. */
    outb(&f, MCR, LOOP | SERIAL8250_MCR_RTS | SERIAL8250_MCR_OUT2);
    CHECK((inb(&f, MSR) & 0xf0) == 0x90, "Linux loopback probe");
    /* Deltas accumulate until read; RI rising is not TERI. */
    outb(&f, MCR, LOOP | SERIAL8250_MCR_OUT1);
    outb(&f, MCR, LOOP);
    EXPECT_REG(&f, MSR,
               SERIAL8250_MSR_DCTS | SERIAL8250_MSR_DDCD | SERIAL8250_MSR_TERI,
               "accumulated deltas");
    /* THR goes to RBR, not to the host; host input is refused. */
    outb(&f, THR, 'L');
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR, "loopback DR");
    EXPECT_REG(&f, RBR, 'L', "loopback RBR");
    CHECK(receive_str(&f, "host") == 0, "input refused in loopback");
    CHECK(serial8250_rx_room(&f.uart) == 0, "no room in loopback");
    CHECK(f.rec.tx_len == 0, "no tx in loopback");
    /* Modem status interrupt from a loopback change. */
    outb(&f, IER, SERIAL8250_IER_MSI);
    outb(&f, MCR, LOOP | SERIAL8250_MCR_DTR);
    EXPECT_IRQ(&f, "MSI", "1");
    EXPECT_REG(&f, IIR, SERIAL8250_IIR_MSI, "IIR MSI");
    EXPECT_REG(&f, MSR, SERIAL8250_MSR_DSR | SERIAL8250_MSR_DDSR, "MSR");
    EXPECT_IRQ(&f, "MSR read", "0");
    /* Leaving loopback: the terminal's inputs come back, as deltas. */
    outb(&f, MCR, SERIAL8250_MCR_DTR);
    EXPECT_REG(&f, MSR, MSR_IDLE | SERIAL8250_MSR_DCTS | SERIAL8250_MSR_DDCD,
               "leave");
    EXPECT_IRQ(&f, "leave", "10");
    /* The host was refused earlier and the FIFO is empty: notice. */
    CHECK(f.rec.rx_ready == 1, "rx_ready after loopback: %u", f.rec.rx_ready);
    outb(&f, THR, 'T');
    CHECK(f.rec.tx_len == 1 && f.rec.tx[0] == 'T', "tx after loopback");
    fx_teardown(&f);
}

static void test_rx_flow(void)
{
    static const char msg[] = "0123456789abcdefghijklmnop";
    struct fixture f;
    size_t n;

    if (!fx_setup(&f)) {
        return;
    }
    outb(&f, FCR, SERIAL8250_FCR_ENABLE);
    n = receive_str(&f, msg);
    CHECK(n == SERIAL8250_FIFO_SIZE, "accepted %zu", n);
    CHECK(serial8250_rx_room(&f.uart) == 0, "full");
    CHECK(f.rec.rx_ready == 0, "no notice yet");
    for (size_t i = 0; i + 1 < n; i++) {
        EXPECT_REG(&f, RBR, msg[i], "rx order");
    }
    CHECK(f.rec.rx_ready == 0, "no notice before empty");
    EXPECT_REG(&f, RBR, msg[n - 1], "last");
    CHECK(f.rec.rx_ready == 1, "notice when empty: %u", f.rec.rx_ready);
    /* Once per shortage. */
    CHECK(receive_str(&f, "x") == 1, "take one");
    (void)inb(&f, RBR);
    CHECK(f.rec.rx_ready == 1, "no second notice: %u", f.rec.rx_ready);
    /* The rest arrives; LSR.OE never set by host input. */
    n = receive_str(&f, msg + SERIAL8250_FIFO_SIZE);
    CHECK(n == strlen(msg) - SERIAL8250_FIFO_SIZE, "rest: %zu", n);
    EXPECT_REG(&f, LSR, THRE_TEMT | SERIAL8250_LSR_DR, "no overrun");
    fx_teardown(&f);
}

static void test_irq_line(void)
{
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    /* Only changes are reported. */
    outb(&f, IER, SERIAL8250_IER_RDI);
    CHECK(receive_str(&f, "a") == 1, "a");
    EXPECT_IRQ(&f, "data", "1");
    (void)inb(&f, LSR);
    (void)inb(&f, IIR);
    EXPECT_IRQ(&f, "reads that serve nothing", "");
    (void)inb(&f, RBR);
    EXPECT_IRQ(&f, "RBR read", "0");
    /* Disabling and enabling with data waiting. */
    CHECK(receive_str(&f, "b") == 1, "b");
    outb(&f, IER, 0);
    outb(&f, IER, SERIAL8250_IER_RDI);
    EXPECT_IRQ(&f, "IER toggle", "101");
    (void)inb(&f, RBR);
    EXPECT_IRQ(&f, "drain", "0");
    /* MCR.OUT2 does not gate the line. */
    outb(&f, MCR, SERIAL8250_MCR_OUT2);
    CHECK(receive_str(&f, "c") == 1, "c");
    outb(&f, MCR, 0);
    EXPECT_IRQ(&f, "OUT2", "1");
    (void)inb(&f, RBR);
    EXPECT_IRQ(&f, "end", "0");
    fx_teardown(&f);
}

/* A hook that runs an interrupt handler (re-entering the device). */
static void test_reentrant_hooks(void)
{
    struct fixture f;

    if (!fx_setup(&f)) {
        return;
    }
    f.rec.isr = &f;
    outb(&f, FCR, SERIAL8250_FCR_ENABLE);
    outb(&f, IER, SERIAL8250_IER_RDI | SERIAL8250_IER_THRI);
    CHECK(f.rec.isr_runs >= 1, "handler ran: %u", f.rec.isr_runs);
    CHECK(f.rec.level == 0, "line low after handler");
    EXPECT_REG(&f, IER, SERIAL8250_IER_RDI, "handler stopped THRI");
    CHECK(receive_str(&f, "hello") == 5, "receive");
    CHECK(f.rec.level == 0, "handler drained the FIFO");
    EXPECT_REG(&f, LSR, THRE_TEMT, "empty");
    f.rec.isr = NULL;

    /* tx hook that writes back into the device. */
    f.rec.echo = true;
    outb(&f, THR, 'e');
    EXPECT_REG(&f, SCR, 'e', "echo from tx hook");
    f.rec.echo = false;
    fx_teardown(&f);
}

/* ---- several threads ---- */

struct writer {
    struct fixture *f;
    uint8_t tag;
    unsigned count;
    /* tx calls seen when the last write returned. */
    unsigned calls_at_return;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;

    rcu_register_thread();
    for (unsigned i = 0; i < w->count; i++) {
        outb(w->f, THR, (uint8_t)(w->tag | (i & 0x0f)));
    }
    pthread_mutex_lock(&w->f->rec.lock);
    w->calls_at_return = w->f->rec.tx_calls;
    pthread_mutex_unlock(&w->f->rec.lock);
    rcu_unregister_thread();
    return NULL;
}

static uint64_t queued_bytes(struct serial8250 *s)
{
    uint64_t v;

    /* White-box: how many bytes the device has queued so far. */
    pthread_mutex_lock(&s->lock);
    v = s->tx_queued;
    pthread_mutex_unlock(&s->lock);
    return v;
}

/*
 * While the tx hook is busy with one byte, three other vCPUs write: their
 * bytes go out together in the next call, and each write returns only
 * after its byte was handed over.
 */
static void test_tx_batching(void)
{
    struct fixture f;
    struct writer first, others[3];
    pthread_t t0, t[3];
    struct timespec ts = {0, 1000000};

    if (!fx_setup(&f)) {
        return;
    }
    f.rec.block_first_tx = true;
    first = (struct writer){&f, 0x10, 1, 0};
    pthread_create(&t0, NULL, writer_main, &first);
    pthread_mutex_lock(&f.rec.lock);
    while (!f.rec.in_tx) {
        pthread_cond_wait(&f.rec.cond, &f.rec.lock);
    }
    pthread_mutex_unlock(&f.rec.lock);
    for (unsigned i = 0; i < 3; i++) {
        others[i] = (struct writer){&f, (uint8_t)(0x20 + 0x10 * i), 1, 0};
        pthread_create(&t[i], NULL, writer_main, &others[i]);
    }
    for (unsigned n = 0; n < 10000 && queued_bytes(&f.uart) < 4; n++) {
        nanosleep(&ts, NULL);
    }
    CHECK(queued_bytes(&f.uart) == 4, "queued %" PRIu64, queued_bytes(&f.uart));
    CHECK(f.rec.tx_calls == 0, "nothing delivered while the hook is busy");
    pthread_mutex_lock(&f.rec.lock);
    f.rec.go = true;
    pthread_cond_broadcast(&f.rec.cond);
    pthread_mutex_unlock(&f.rec.lock);
    pthread_join(t0, NULL);
    for (unsigned i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK(others[i].calls_at_return == 2,
              "writer %u returned after %u calls", i,
              others[i].calls_at_return);
    }
    CHECK(f.rec.tx_calls == 2 && f.rec.tx_max_batch == 3,
          "calls %u, max batch %zu", f.rec.tx_calls, f.rec.tx_max_batch);
    CHECK(f.rec.tx_len == 4 && f.rec.tx[0] == 0x10, "bytes %zu", f.rec.tx_len);
    fx_teardown(&f);
}

/* Four threads write 1000 bytes each: none lost, each thread's in order. */
static void test_tx_threads(void)
{
    enum { NR = 4, COUNT = 1000 };
    struct fixture f;
    struct writer w[NR];
    pthread_t t[NR];
    unsigned seen[NR] = {0};

    if (!fx_setup(&f)) {
        return;
    }
    for (unsigned i = 0; i < NR; i++) {
        w[i] = (struct writer){&f, (uint8_t)(0x10 * (i + 1)), COUNT, 0};
        pthread_create(&t[i], NULL, writer_main, &w[i]);
    }
    for (unsigned i = 0; i < NR; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(f.rec.tx_len == NR * COUNT, "bytes %zu", f.rec.tx_len);
    for (size_t k = 0; k < f.rec.tx_len; k++) {
        unsigned who = (f.rec.tx[k] >> 4) - 1;

        if (who >= NR) {
            CHECK(0, "byte 0x%02x from nobody", f.rec.tx[k]);
            break;
        }
        if ((f.rec.tx[k] & 0x0f) != (seen[who] & 0x0f)) {
            CHECK(0, "thread %u out of order at %zu", who, k);
            break;
        }
        seen[who]++;
    }
    fx_teardown(&f);
}

/* ---- random storm ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_storm(void)
{
    /* Mostly bytes, as guests do; some wider and some refused. */
    static const unsigned sizes[] = {1, 1, 1, 2, 4, 8};
    struct fixture f;
    unsigned bad_lsr = 0, errors = 0, refused = 0;
    int rc;

    if (!fx_setup(&f)) {
        return;
    }
    rng_state = 0x8250825082508250ull;
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t r = rng();
        gpa_t port = COM1 - 1 + (r % (SERIAL8250_SIZE + 2));
        unsigned size = sizes[(r >> 8) % 6];
        uint8_t buf[8];

        for (unsigned k = 0; k < 8; k++) {
            buf[k] = (uint8_t)(r >> (16 + 5 * k));
        }
        switch ((r >> 56) % 8) {
        case 0:
            (void)serial8250_receive(&f.uart, buf, (r >> 40) % 9);
            break;
        case 1:
            rc = serial8250_receive_break(&f.uart);
            refused += rc == -EAGAIN;
            (void)serial8250_rx_room(&f.uart);
            break;
        case 2:
        case 3:
        case 4:
            rc = as_access(f.as, port, buf, size, true);
            errors += rc != 0;
            break;
        default:
            rc = as_access(f.as, port, buf, size, false);
            errors += rc != 0;
            break;
        }
        if (i % 1024 == 0 && (inb(&f, LSR) & THRE_TEMT) != THRE_TEMT) {
            bad_lsr++;
        }
    }
    CHECK(bad_lsr == 0, "LSR lost THRE/TEMT %u times", bad_lsr);
    /* Both kinds of outcome were exercised. */
    CHECK(errors > 0 && refused > 0, "errors %u, refused breaks %u", errors,
          refused);
    /* White-box: the line reported is the one the registers ask for. */
    pthread_mutex_lock(&f.uart.lock);
    CHECK(f.uart.irq_line == f.uart.irq_wanted &&
              f.rec.level == f.uart.irq_line,
          "line state: reported %d, device %d, wanted %d", f.rec.level,
          f.uart.irq_line, f.uart.irq_wanted);
    pthread_mutex_unlock(&f.uart.lock);
    fx_teardown(&f);
}

/* ---- several threads at random ---- */

struct stormer {
    struct fixture *f;
    uint64_t seed;
    bool receiver;
};

static void *stormer_main(void *arg)
{
    static const unsigned sizes[] = {1, 2, 4};
    struct stormer *st = arg;
    uint64_t x = st->seed;

    rcu_register_thread();
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t buf[8];
        int rc;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        for (unsigned k = 0; k < 8; k++) {
            buf[k] = (uint8_t)(x >> (8 * k));
        }
        if (st->receiver) {
            (void)serial8250_receive(&st->f->uart, buf, x % 5);
            continue;
        }
        rc = as_access(st->f->as, COM1 + (x >> 20) % SERIAL8250_SIZE, buf,
                       sizes[(x >> 40) % 3], (x >> 50) & 1);
        (void)rc;
    }
    rcu_unregister_thread();
    return NULL;
}

/*
 * Three vCPUs hammer the registers while the host feeds input and a hook
 * re-enters on every interrupt: no deadlock, and once all is quiet the
 * line reported equals the line the registers ask for.
 */
static void test_threads_storm(void)
{
    enum { NR = 4 };
    struct fixture f;
    struct stormer st[NR];
    pthread_t t[NR];

    if (!fx_setup(&f)) {
        return;
    }
    f.rec.isr = &f;
    for (unsigned i = 0; i < NR; i++) {
        st[i] = (struct stormer){&f, 0x1234567ull * (i + 1), i == 0};
        pthread_create(&t[i], NULL, stormer_main, &st[i]);
    }
    for (unsigned i = 0; i < NR; i++) {
        pthread_join(t[i], NULL);
    }
    f.rec.isr = NULL;
    pthread_mutex_lock(&f.uart.lock);
    CHECK(!f.uart.delivering && f.uart.tx_len == 0, "delivery finished");
    CHECK(f.uart.irq_line == f.uart.irq_wanted &&
              f.rec.level == f.uart.irq_line,
          "line state: reported %d, device %d, wanted %d", f.rec.level,
          f.uart.irq_line, f.uart.irq_wanted);
    CHECK(f.uart.tx_done == f.uart.tx_queued, "tx %" PRIu64 " of %" PRIu64,
          f.uart.tx_done, f.uart.tx_queued);
    pthread_mutex_unlock(&f.uart.lock);
    CHECK(f.rec.tx_calls > 0 && f.rec.isr_runs > 0, "tx %u, isr %u",
          f.rec.tx_calls, f.rec.isr_runs);
    fx_teardown(&f);
}

int main(void)
{
    rcu_register_thread();
    test_reset_values();
    test_divisor();
    test_ier_scr_lcr();
    test_thr_and_tx();
    test_thri();
    test_priorities();
    test_fifo_control();
    test_overrun();
    test_break();
    test_loopback_msr();
    test_rx_flow();
    test_irq_line();
    test_reentrant_hooks();
    test_tx_batching();
    test_tx_threads();
    test_storm();
    test_threads_storm();
    rcu_unregister_thread();
    printf("test_serial8250: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
