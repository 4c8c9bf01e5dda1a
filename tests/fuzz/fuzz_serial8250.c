/* SPDX-License-Identifier: MIT */
/*
 * The 16550A UART (devices/serial8250.h) at port 0x3f8 of an "io" space:
 * the input mixes guest accesses around its eight registers with host
 * input (serial8250_receive(), serial8250_receive_break(),
 * serial8250_rx_room()). A model of the UART as its header and the
 * PC16550D datasheet describe it (receive FIFO or 16450 holding register,
 * DLAB and the divisor, IER, IIR priorities and the THR-empty
 * acknowledgement, FCR and trigger levels, LSR error latches, loopback and
 * MSR deltas, SCR) predicts every byte read, every byte handed to the tx
 * hook, what host input is accepted, when rx_ready is owed, and the
 * interrupt line: the set_irq hook must report each change of the level
 * the registers ask for, and only changes.
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte (bits
 * 0-1 the size 1 << n, bit 2 a write) with an offset byte and, for a
 * write, the value; or op 0xe0-0xef: receive a count byte's worth (mod
 * 24) of input bytes; 0xf0-0xf7: receive a break; 0xf8-0xff: ask for the
 * room.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial8250.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define PORT 0x3f8
#define WINDOW_LO (PORT - 8)
#define WINDOW_SPAN (SERIAL8250_SIZE + 16)
/* Hook calls one operation can cause, at most. */
#define MAX_EVENTS 64

#define LSR_ERRORS                                                             \
    (SERIAL8250_LSR_OE | SERIAL8250_LSR_PE | SERIAL8250_LSR_FE |               \
     SERIAL8250_LSR_BI)

struct model {
    bool hooked;
    /* Registers. */
    uint8_t ier, lcr, mcr, scr;
    uint16_t divisor;
    uint8_t lsr_err;
    uint8_t msr_delta;
    bool fifo_on;
    unsigned trigger;
    bool thri;
    /* Receive FIFO with each byte's LSR error bits. */
    uint8_t fifo[SERIAL8250_FIFO_SIZE];
    uint8_t flags[SERIAL8250_FIFO_SIZE];
    unsigned head, count;
    uint8_t rbr_last;
    /* Host input was refused; rx_ready is owed once the FIFO empties. */
    bool rx_short;
    /* The level the model expects the line to be at. */
    int line;
    /* What the hooks did during the current operation. */
    uint8_t tx[MAX_EVENTS];
    unsigned nr_tx, tx_matched;
    int irq[MAX_EVENTS];
    unsigned nr_irq, irq_matched;
    unsigned rx_ready, rx_ready_want;
    /* The level the hook last reported (starts at 0). */
    int hook_level;
};

static void hook_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct model *m = opaque;

    FUZZ_CHECK(len >= 1);
    for (size_t i = 0; i < len; i++) {
        FUZZ_CHECK(m->nr_tx < MAX_EVENTS);
        m->tx[m->nr_tx++] = buf[i];
    }
}

static void hook_set_irq(void *opaque, int level)
{
    struct model *m = opaque;

    /* Transitions only: every call changes the level. */
    FUZZ_CHECK(level == 0 || level == 1);
    FUZZ_CHECK(level != m->hook_level);
    m->hook_level = level;
    FUZZ_CHECK(m->nr_irq < MAX_EVENTS);
    m->irq[m->nr_irq++] = level;
}

static void hook_rx_ready(void *opaque)
{
    struct model *m = opaque;

    m->rx_ready++;
}

static const struct serial8250_hooks hooks = {
    .tx = hook_tx,
    .set_irq = hook_set_irq,
    .rx_ready = hook_rx_ready,
};

static bool loopback(const struct model *m)
{
    return (m->mcr & SERIAL8250_MCR_LOOP) != 0;
}

static unsigned capacity(const struct model *m)
{
    return m->fifo_on ? SERIAL8250_FIFO_SIZE : 1;
}

static unsigned room(const struct model *m)
{
    return loopback(m) ? 0 : capacity(m) - m->count;
}

/* MSR bits 4-7: a connected terminal, or the MCR outputs in loopback. */
static uint8_t msr_inputs(const struct model *m)
{
    uint8_t in = 0;

    if (!loopback(m)) {
        return SERIAL8250_MSR_CTS | SERIAL8250_MSR_DSR | SERIAL8250_MSR_DCD;
    }
    in |= (m->mcr & SERIAL8250_MCR_RTS) ? SERIAL8250_MSR_CTS : 0;
    in |= (m->mcr & SERIAL8250_MCR_DTR) ? SERIAL8250_MSR_DSR : 0;
    in |= (m->mcr & SERIAL8250_MCR_OUT1) ? SERIAL8250_MSR_RI : 0;
    in |= (m->mcr & SERIAL8250_MCR_OUT2) ? SERIAL8250_MSR_DCD : 0;
    return in;
}

/* The pending interrupt of highest priority (IIR bits 0-3). */
static uint8_t iir_source(const struct model *m)
{
    if ((m->ier & SERIAL8250_IER_RLSI) && (m->lsr_err & LSR_ERRORS)) {
        return SERIAL8250_IIR_RLSI;
    }
    if ((m->ier & SERIAL8250_IER_RDI) && m->count) {
        return !m->fifo_on || m->count >= m->trigger ? SERIAL8250_IIR_RDI
                                                     : SERIAL8250_IIR_TIMEOUT;
    }
    if ((m->ier & SERIAL8250_IER_THRI) && m->thri) {
        return SERIAL8250_IIR_THRI;
    }
    if ((m->ier & SERIAL8250_IER_MSI) && m->msr_delta) {
        return SERIAL8250_IIR_MSI;
    }
    return SERIAL8250_IIR_NO_INT;
}

static void check_ready(struct model *m)
{
    if (m->rx_short && m->count == 0 && !loopback(m)) {
        m->rx_short = false;
        m->rx_ready_want += m->hooked;
    }
}

/* The line follows the registers: expect a set_irq for each change. */
static void update_irq(struct model *m)
{
    int want = iir_source(m) != SERIAL8250_IIR_NO_INT;

    if (want == m->line) {
        return;
    }
    m->line = want;
    if (m->hooked) {
        FUZZ_CHECK(m->irq_matched < m->nr_irq);
        FUZZ_CHECK(m->irq[m->irq_matched] == want);
        m->irq_matched++;
    }
}

static void push(struct model *m, uint8_t byte, uint8_t flags)
{
    unsigned i;

    if (m->count >= capacity(m)) {
        /* Overrun: the FIFO loses the byte, the 16450 holding register
         * is overwritten. */
        m->lsr_err |= SERIAL8250_LSR_OE;
        if (!m->fifo_on) {
            m->fifo[m->head] = byte;
            m->flags[m->head] = flags;
            m->lsr_err |= flags;
        }
        return;
    }
    i = (m->head + m->count) % SERIAL8250_FIFO_SIZE;
    m->fifo[i] = byte;
    m->flags[i] = flags;
    if (m->count == 0) {
        /* A byte's errors show once it is at the top of the FIFO. */
        m->lsr_err |= flags;
    }
    m->count++;
}

static uint8_t pop(struct model *m)
{
    if (m->count == 0) {
        return m->rbr_last;
    }
    m->rbr_last = m->fifo[m->head];
    m->head = (m->head + 1) % SERIAL8250_FIFO_SIZE;
    m->count--;
    if (m->count) {
        m->lsr_err |= m->flags[m->head];
    }
    check_ready(m);
    return m->rbr_last;
}

static void rx_clear(struct model *m)
{
    m->head = 0;
    m->count = 0;
}

static uint8_t reg_read(struct model *m, unsigned reg)
{
    bool dlab = (m->lcr & SERIAL8250_LCR_DLAB) != 0;
    uint8_t v, id;

    switch (reg) {
    case SERIAL8250_RBR:
        return dlab ? (uint8_t)m->divisor : pop(m);
    case SERIAL8250_IER:
        return dlab ? (uint8_t)(m->divisor >> 8) : m->ier;
    case SERIAL8250_IIR:
        id = iir_source(m);
        if (id == SERIAL8250_IIR_THRI) {
            m->thri = false;
        }
        return id | (m->fifo_on ? SERIAL8250_IIR_FIFO_ON : 0);
    case SERIAL8250_LCR:
        return m->lcr;
    case SERIAL8250_MCR:
        return m->mcr;
    case SERIAL8250_LSR:
        v = SERIAL8250_LSR_THRE | SERIAL8250_LSR_TEMT | m->lsr_err;
        v |= m->count ? SERIAL8250_LSR_DR : 0;
        for (unsigned i = 0; m->fifo_on && i < m->count; i++) {
            if (m->flags[(m->head + i) % SERIAL8250_FIFO_SIZE]) {
                v |= SERIAL8250_LSR_FIFOE;
            }
        }
        m->lsr_err = 0;
        return v;
    case SERIAL8250_MSR:
        v = msr_inputs(m) | m->msr_delta;
        m->msr_delta = 0;
        return v;
    default:
        return m->scr;
    }
}

static void expect_tx(struct model *m, uint8_t byte)
{
    if (m->hooked) {
        FUZZ_CHECK(m->tx_matched < m->nr_tx);
        FUZZ_CHECK(m->tx[m->tx_matched] == byte);
        m->tx_matched++;
    }
}

static void mcr_write(struct model *m, uint8_t v)
{
    uint8_t old = msr_inputs(m), now, changed;

    m->mcr = v & 0x1f;
    now = msr_inputs(m);
    changed = old ^ now;
    m->msr_delta |= (changed & SERIAL8250_MSR_CTS) ? SERIAL8250_MSR_DCTS : 0;
    m->msr_delta |= (changed & SERIAL8250_MSR_DSR) ? SERIAL8250_MSR_DDSR : 0;
    m->msr_delta |= (changed & SERIAL8250_MSR_DCD) ? SERIAL8250_MSR_DDCD : 0;
    if ((old & SERIAL8250_MSR_RI) && !(now & SERIAL8250_MSR_RI)) {
        m->msr_delta |= SERIAL8250_MSR_TERI;
    }
}

static void fcr_write(struct model *m, uint8_t v)
{
    static const unsigned levels[4] = {1, 4, 8, 14};
    bool on = (v & SERIAL8250_FCR_ENABLE) != 0;

    if (on != m->fifo_on) {
        rx_clear(m);
        m->fifo_on = on;
    }
    if (!on) {
        return;
    }
    if (v & SERIAL8250_FCR_CLEAR_RX) {
        rx_clear(m);
    }
    m->trigger = levels[(v & SERIAL8250_FCR_TRIGGER_MASK) >> 6];
}

static void reg_write(struct model *m, unsigned reg, uint8_t v)
{
    bool dlab = (m->lcr & SERIAL8250_LCR_DLAB) != 0;
    uint8_t old;

    switch (reg) {
    case SERIAL8250_THR:
        if (dlab) {
            m->divisor = (uint16_t)((m->divisor & 0xff00) | v);
            break;
        }
        if (loopback(m)) {
            push(m, v, 0);
        } else {
            expect_tx(m, v);
        }
        m->thri = true;
        break;
    case SERIAL8250_IER:
        if (dlab) {
            m->divisor = (uint16_t)((m->divisor & 0x00ff) | (v << 8));
            break;
        }
        old = m->ier;
        m->ier = v & 0x0f;
        if ((old ^ m->ier) & SERIAL8250_IER_THRI) {
            m->thri = (m->ier & SERIAL8250_IER_THRI) != 0;
        }
        break;
    case SERIAL8250_FCR:
        fcr_write(m, v);
        break;
    case SERIAL8250_LCR:
        m->lcr = v;
        break;
    case SERIAL8250_MCR:
        mcr_write(m, v);
        break;
    case SERIAL8250_SCR:
        m->scr = v;
        break;
    default:
        /* LSR and MSR ignore writes. */
        break;
    }
    check_ready(m);
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint64_t v = 0;

    (void)idx;
    /* The ops take single bytes, lowest address first. */
    for (unsigned i = 0; i < size; i++) {
        unsigned reg = (unsigned)offset + i;

        if (write) {
            reg_write(m, reg, (uint8_t)(value >> (8 * i)));
        } else {
            v |= (uint64_t)reg_read(m, reg) << (8 * i);
        }
        update_irq(m);
    }
    *known = UINT64_MAX;
    return v;
}

static void host_receive(struct serial8250 *dev, struct model *m,
                         struct fuzz_in *in)
{
    uint8_t buf[24];
    size_t len = (size_t)fuzz_take(in, 1) % sizeof(buf), n, want;

    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)fuzz_take(in, 1);
    }
    want = len < room(m) ? len : room(m);
    n = serial8250_receive(dev, buf, len);
    FUZZ_CHECK(n == want);
    for (size_t i = 0; i < n; i++) {
        push(m, buf[i], 0);
    }
    if (n < len) {
        m->rx_short = true;
    }
    update_irq(m);
}

static void host_break(struct serial8250 *dev, struct model *m)
{
    int ret = serial8250_receive_break(dev);

    if (room(m) == 0) {
        FUZZ_CHECK(ret == -EAGAIN);
        m->rx_short = true;
    } else {
        FUZZ_CHECK(ret == 0);
        push(m, 0, SERIAL8250_LSR_BI);
    }
    update_irq(m);
}

static void host_room(struct serial8250 *dev, struct model *m)
{
    size_t r = serial8250_rx_room(dev);

    FUZZ_CHECK(r == room(m));
    if (r == 0) {
        m->rx_short = true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct serial8250 dev;
    struct fuzz_dev d;
    struct model m;
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    memset(&m, 0, sizeof(m));
    m.hooked = !(flags & 1);
    /* Reset state: 9600 baud, FIFOs off, nothing enabled. */
    m.divisor = 12;
    m.trigger = 1;
    FUZZ_CHECK(serial8250_init(&dev, m.hooked ? &hooks : NULL, &m) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, &m);
    fuzz_dev_add(&d, &dev.region, FUZZ_DEV_IO, PORT, 0, 1, 4, true);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        m.nr_tx = m.tx_matched = 0;
        m.nr_irq = m.irq_matched = 0;
        if (op >= 0xf8) {
            host_room(&dev, &m);
        } else if (op >= 0xf0) {
            host_break(&dev, &m);
        } else if (op >= 0xe0) {
            host_receive(&dev, &m, &in);
        } else {
            fuzz_dev_take_access(&in, op, WINDOW_LO, WINDOW_SPAN, &addr, &sz,
                                 &write, &value);
            fuzz_dev_access(&d, addr, sz, write, value);
        }
        /* Every hook call was expected, and none is missing. */
        FUZZ_CHECK(m.tx_matched == m.nr_tx);
        FUZZ_CHECK(m.irq_matched == m.nr_irq);
        FUZZ_CHECK(m.rx_ready == m.rx_ready_want);
        FUZZ_CHECK(!(m.rx_short && m.count == 0 && !loopback(&m)));
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(serial8250_destroy(&dev) == 0);
    return 0;
}
