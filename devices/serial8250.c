/* SPDX-License-Identifier: MIT */
/*
 * The 16550A UART register model. Register semantics follow the National
 * Semiconductor PC16550D datasheet; the model's limits (no clock, bytes
 * rather than bits) are listed in devices/serial8250.h.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "devices/serial8250.h"

/* LSR bits that latch until LSR is read. */
#define LSR_ERRORS                                                             \
    (SERIAL8250_LSR_OE | SERIAL8250_LSR_PE | SERIAL8250_LSR_FE |               \
     SERIAL8250_LSR_BI)
/* Modem status inputs outside loopback: a terminal is connected. */
#define MSR_IDLE_INPUTS                                                        \
    (SERIAL8250_MSR_CTS | SERIAL8250_MSR_DSR | SERIAL8250_MSR_DCD)
/* Divisor after reset: 9600 baud from the 1.8432 MHz PC clock. */
#define DIVISOR_RESET 12

/* Receive trigger levels selected by FCR bits 6-7. */
static const uint8_t rx_trigger_levels[4] = {1, 4, 8, 14};

static unsigned rx_capacity_locked(const struct serial8250 *s)
{
    return s->fifo_on ? SERIAL8250_FIFO_SIZE : 1;
}

static bool loopback_locked(const struct serial8250 *s)
{
    return (s->mcr & SERIAL8250_MCR_LOOP) != 0;
}

/* The modem status inputs (MSR bits 4-7) as the registers make them. */
static uint8_t msr_inputs_locked(const struct serial8250 *s)
{
    uint8_t in = 0;

    if (!loopback_locked(s)) {
        return MSR_IDLE_INPUTS;
    }
    /* Loopback wires the outputs to the inputs: RTS->CTS, DTR->DSR,
     * OUT1->RI, OUT2->DCD. */
    if (s->mcr & SERIAL8250_MCR_RTS) {
        in |= SERIAL8250_MSR_CTS;
    }
    if (s->mcr & SERIAL8250_MCR_DTR) {
        in |= SERIAL8250_MSR_DSR;
    }
    if (s->mcr & SERIAL8250_MCR_OUT1) {
        in |= SERIAL8250_MSR_RI;
    }
    if (s->mcr & SERIAL8250_MCR_OUT2) {
        in |= SERIAL8250_MSR_DCD;
    }
    return in;
}

/* The IIR interrupt identification (bits 0-3), by priority. */
static uint8_t iir_source_locked(const struct serial8250 *s)
{
    if ((s->ier & SERIAL8250_IER_RLSI) && (s->lsr_err & LSR_ERRORS)) {
        return SERIAL8250_IIR_RLSI;
    }
    if ((s->ier & SERIAL8250_IER_RDI) && s->rx_count) {
        if (!s->fifo_on || s->rx_count >= s->rx_trigger) {
            return SERIAL8250_IIR_RDI;
        }
        return SERIAL8250_IIR_TIMEOUT;
    }
    if ((s->ier & SERIAL8250_IER_THRI) && s->thri_pending) {
        return SERIAL8250_IIR_THRI;
    }
    if ((s->ier & SERIAL8250_IER_MSI) && s->msr_delta) {
        return SERIAL8250_IIR_MSI;
    }
    return SERIAL8250_IIR_NO_INT;
}

/* Recompute the wanted interrupt level after a state change. */
static void update_irq_locked(struct serial8250 *s)
{
    s->irq_wanted = iir_source_locked(s) != SERIAL8250_IIR_NO_INT;
}

/* Forget the receive FIFO's contents. */
static void rx_clear_locked(struct serial8250 *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
}

/* The receive FIFO may have room now: owe the host its notice. */
static void rx_check_ready_locked(struct serial8250 *s)
{
    if (s->rx_short && s->rx_count == 0 && !loopback_locked(s)) {
        s->rx_short = false;
        s->rx_notify = true;
    }
}

/*
 * A byte arrives at the receiver with error bits (flags). A full FIFO
 * loses it (FIFO mode) or has it overwrite RBR (16450 mode); either way
 * the overrun is latched.
 */
static void rx_push_locked(struct serial8250 *s, uint8_t byte, uint8_t flags)
{
    unsigned idx;

    if (s->rx_count >= rx_capacity_locked(s)) {
        s->lsr_err |= SERIAL8250_LSR_OE;
        if (!s->fifo_on) {
            s->rx_data[s->rx_head] = byte;
            s->rx_flags[s->rx_head] = flags;
            s->lsr_err |= flags;
        }
        return;
    }
    idx = (s->rx_head + s->rx_count) % SERIAL8250_FIFO_SIZE;
    s->rx_data[idx] = byte;
    s->rx_flags[idx] = flags;
    if (s->rx_count == 0) {
        /* Its errors show in LSR once it is at the top of the FIFO. */
        s->lsr_err |= flags;
    }
    s->rx_count++;
}

static uint8_t rx_pop_locked(struct serial8250 *s)
{
    if (s->rx_count == 0) {
        return s->rbr_last;
    }
    s->rbr_last = s->rx_data[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL8250_FIFO_SIZE;
    s->rx_count--;
    if (s->rx_count) {
        s->lsr_err |= s->rx_flags[s->rx_head];
    }
    rx_check_ready_locked(s);
    return s->rbr_last;
}

static bool rx_has_error_locked(const struct serial8250 *s)
{
    for (unsigned i = 0; i < s->rx_count; i++) {
        if (s->rx_flags[(s->rx_head + i) % SERIAL8250_FIFO_SIZE]) {
            return true;
        }
    }
    return false;
}

static size_t rx_room_locked(struct serial8250 *s)
{
    if (loopback_locked(s)) {
        return 0;
    }
    return rx_capacity_locked(s) - s->rx_count;
}

/*
 * Queue (byte) for the tx hook and return the sequence number that marks
 * it delivered. Waits for room while another thread delivers; a hook that
 * writes with the queue full loses the byte (it cannot wait for itself).
 */
static uint64_t tx_queue_locked(struct serial8250 *s, uint8_t byte)
{
    while (s->tx_len == SERIAL8250_TX_QUEUE && s->delivering &&
           !pthread_equal(s->deliverer, pthread_self())) {
        pthread_cond_wait(&s->delivered, &s->lock);
    }
    if (s->tx_len == SERIAL8250_TX_QUEUE) {
        s->tx_dropped++;
        return s->tx_done;
    }
    s->tx_queue[s->tx_len++] = byte;
    s->tx_queued++;
    return s->tx_queued;
}

/*
 * Hand what is pending (queued output, a changed interrupt level, the
 * rx_ready notice) to the hooks. Called with (s->lock) held; returns with
 * it released. Only one thread delivers at a time; when another one is
 * already at it, wait until the bytes up to (seq) are delivered and leave
 * the rest to it. A hook that calls back into the device returns at once:
 * its effects are delivered by the loop below. The loop runs until
 * nothing is pending, or until only bytes of waiting writers are left,
 * which one of them then delivers.
 */
static void deliver_unlock(struct serial8250 *s, uint64_t seq)
{
    const struct serial8250_hooks *h = s->hooks;
    void *opaque = s->hook_opaque;
    pthread_t self = pthread_self();

    if (s->delivering && pthread_equal(s->deliverer, self)) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    while (s->delivering && s->tx_done < seq) {
        s->tx_waiters++;
        pthread_cond_wait(&s->delivered, &s->lock);
        s->tx_waiters--;
    }
    if (s->delivering) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->delivering = true;
    s->deliverer = self;
    for (;;) {
        if (s->tx_len && s->tx_done >= seq && s->tx_waiters) {
            /* Our own bytes are out; the rest belongs to threads that
             * wait for it. One of them takes over (and with it whatever
             * else is pending), so that this vCPU does not stay the
             * console writer of the others. */
            break;
        }
        if (s->tx_len) {
            uint8_t buf[SERIAL8250_TX_QUEUE];
            size_t n = s->tx_len;

            memcpy(buf, s->tx_queue, n);
            s->tx_len = 0;
            pthread_mutex_unlock(&s->lock);
            if (h->tx) {
                h->tx(opaque, buf, n);
            }
            pthread_mutex_lock(&s->lock);
            s->tx_done += n;
            pthread_cond_broadcast(&s->delivered);
        } else if (s->irq_line != s->irq_wanted) {
            int level = s->irq_wanted;

            s->irq_line = level;
            pthread_mutex_unlock(&s->lock);
            if (h->set_irq) {
                h->set_irq(opaque, level);
            }
            pthread_mutex_lock(&s->lock);
        } else if (s->rx_notify) {
            s->rx_notify = false;
            pthread_mutex_unlock(&s->lock);
            if (h->rx_ready) {
                h->rx_ready(opaque);
            }
            pthread_mutex_lock(&s->lock);
        } else {
            break;
        }
    }
    s->delivering = false;
    pthread_cond_broadcast(&s->delivered);
    pthread_mutex_unlock(&s->lock);
}

static uint8_t lsr_read_locked(struct serial8250 *s)
{
    uint8_t v = SERIAL8250_LSR_THRE | SERIAL8250_LSR_TEMT;

    if (s->rx_count) {
        v |= SERIAL8250_LSR_DR;
    }
    v |= s->lsr_err;
    if (s->fifo_on && rx_has_error_locked(s)) {
        v |= SERIAL8250_LSR_FIFOE;
    }
    s->lsr_err = 0;
    return v;
}

static uint8_t iir_read_locked(struct serial8250 *s)
{
    uint8_t id = iir_source_locked(s);

    /* Reading IIR acknowledges the THR-empty interrupt it reports. */
    if (id == SERIAL8250_IIR_THRI) {
        s->thri_pending = false;
    }
    return id | (s->fifo_on ? SERIAL8250_IIR_FIFO_ON : 0);
}

static uint64_t serial8250_read(void *opaque, uint64_t offset, unsigned size)
{
    struct serial8250 *s = opaque;
    bool dlab;
    uint8_t v;

    (void)size;
    pthread_mutex_lock(&s->lock);
    dlab = (s->lcr & SERIAL8250_LCR_DLAB) != 0;
    switch (offset) {
    case SERIAL8250_RBR:
        v = dlab ? (uint8_t)s->divisor : rx_pop_locked(s);
        break;
    case SERIAL8250_IER:
        v = dlab ? (uint8_t)(s->divisor >> 8) : s->ier;
        break;
    case SERIAL8250_IIR:
        v = iir_read_locked(s);
        break;
    case SERIAL8250_LCR:
        v = s->lcr;
        break;
    case SERIAL8250_MCR:
        v = s->mcr;
        break;
    case SERIAL8250_LSR:
        v = lsr_read_locked(s);
        break;
    case SERIAL8250_MSR:
        v = msr_inputs_locked(s) | s->msr_delta;
        s->msr_delta = 0;
        break;
    case SERIAL8250_SCR:
        v = s->scr;
        break;
    default:
        v = 0xff;
        break;
    }
    update_irq_locked(s);
    deliver_unlock(s, 0);
    return v;
}

static void fcr_write_locked(struct serial8250 *s, uint8_t v)
{
    bool on = (v & SERIAL8250_FCR_ENABLE) != 0;

    /* Switching between 16450 and FIFO mode empties both FIFOs. */
    if (on != s->fifo_on) {
        rx_clear_locked(s);
        s->fifo_on = on;
    }
    /* The other bits are only programmed together with FCR0 set. */
    if (!on) {
        return;
    }
    if (v & SERIAL8250_FCR_CLEAR_RX) {
        rx_clear_locked(s);
    }
    /* The transmit FIFO is always empty: nothing to clear. */
    s->rx_trigger = rx_trigger_levels[(v & SERIAL8250_FCR_TRIGGER_MASK) >> 6];
}

static void mcr_write_locked(struct serial8250 *s, uint8_t v)
{
    uint8_t old = msr_inputs_locked(s);
    uint8_t now, changed;

    s->mcr = v & 0x1f;
    now = msr_inputs_locked(s);
    changed = old ^ now;
    if (changed & SERIAL8250_MSR_CTS) {
        s->msr_delta |= SERIAL8250_MSR_DCTS;
    }
    if (changed & SERIAL8250_MSR_DSR) {
        s->msr_delta |= SERIAL8250_MSR_DDSR;
    }
    if (changed & SERIAL8250_MSR_DCD) {
        s->msr_delta |= SERIAL8250_MSR_DDCD;
    }
    if ((old & SERIAL8250_MSR_RI) && !(now & SERIAL8250_MSR_RI)) {
        s->msr_delta |= SERIAL8250_MSR_TERI;
    }
}

static void serial8250_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    struct serial8250 *s = opaque;
    uint8_t v = (uint8_t)value;
    uint64_t seq = 0;
    bool dlab;
    uint8_t old;

    (void)size;
    pthread_mutex_lock(&s->lock);
    dlab = (s->lcr & SERIAL8250_LCR_DLAB) != 0;
    switch (offset) {
    case SERIAL8250_THR:
        if (dlab) {
            s->divisor = (uint16_t)((s->divisor & 0xff00) | v);
            break;
        }
        if (loopback_locked(s)) {
            rx_push_locked(s, v, 0);
        } else {
            seq = tx_queue_locked(s, v);
        }
        /* The byte left THR at once: THR is empty again. */
        s->thri_pending = true;
        break;
    case SERIAL8250_IER:
        if (dlab) {
            s->divisor = (uint16_t)((s->divisor & 0x00ff) | (v << 8));
            break;
        }
        old = s->ier;
        s->ier = v & 0x0f;
        /* Enabling ETBEI while THR is empty (always, here) raises the
         * interrupt again, even after an IIR read acknowledged it. */
        if ((old ^ s->ier) & SERIAL8250_IER_THRI) {
            s->thri_pending = (s->ier & SERIAL8250_IER_THRI) != 0;
        }
        break;
    case SERIAL8250_FCR:
        fcr_write_locked(s, v);
        break;
    case SERIAL8250_LCR:
        s->lcr = v;
        break;
    case SERIAL8250_MCR:
        mcr_write_locked(s, v);
        break;
    case SERIAL8250_SCR:
        s->scr = v;
        break;
    default:
        /* LSR, MSR: factory test registers, ignored. */
        break;
    }
    rx_check_ready_locked(s);
    update_irq_locked(s);
    deliver_unlock(s, seq);
}

static const struct mr_ops serial8250_ops = {
    .read = serial8250_read,
    .write = serial8250_write,
    .valid = {.min_access_size = 1, .max_access_size = 4, .unaligned = true},
    .impl = {.min_access_size = 1, .max_access_size = 1},
};

size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len)
{
    size_t room, n;

    pthread_mutex_lock(&s->lock);
    room = rx_room_locked(s);
    n = len < room ? len : room;
    for (size_t i = 0; i < n; i++) {
        rx_push_locked(s, buf[i], 0);
    }
    if (n < len) {
        s->rx_short = true;
    }
    update_irq_locked(s);
    deliver_unlock(s, 0);
    return n;
}

int serial8250_receive_break(struct serial8250 *s)
{
    int r = 0;

    pthread_mutex_lock(&s->lock);
    if (rx_room_locked(s) == 0) {
        s->rx_short = true;
        r = -EAGAIN;
    } else {
        rx_push_locked(s, 0, SERIAL8250_LSR_BI);
    }
    update_irq_locked(s);
    deliver_unlock(s, 0);
    return r;
}

size_t serial8250_rx_room(struct serial8250 *s)
{
    size_t room;

    pthread_mutex_lock(&s->lock);
    room = rx_room_locked(s);
    if (room == 0) {
        s->rx_short = true;
    }
    pthread_mutex_unlock(&s->lock);
    return room;
}

int serial8250_init(struct serial8250 *s, const struct serial8250_hooks *hooks,
                    void *opaque)
{
    static const struct serial8250_hooks no_hooks;
    int r;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    s->divisor = DIVISOR_RESET;
    s->rx_trigger = rx_trigger_levels[0];

    r = pthread_mutex_init(&s->lock, NULL);
    if (r != 0) {
        return -r;
    }
    r = pthread_cond_init(&s->delivered, NULL);
    if (r != 0) {
        r = -r;
        goto err_lock;
    }
    r = mr_init_io(&s->region, "serial8250", SERIAL8250_SIZE, &serial8250_ops,
                   s);
    if (r < 0) {
        goto err_cond;
    }
    return 0;

err_cond:
    pthread_cond_destroy(&s->delivered);
err_lock:
    pthread_mutex_destroy(&s->lock);
    return r;
}

int serial8250_destroy(struct serial8250 *s)
{
    int r = mr_destroy(&s->region);

    if (r < 0) {
        return r;
    }
    pthread_cond_destroy(&s->delivered);
    pthread_mutex_destroy(&s->lock);
    return 0;
}
