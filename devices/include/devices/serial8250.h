/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (the PC's 8250-compatible serial port): the full register
 * model with 16-byte receive FIFO, interrupt identification by priority,
 * divisor latch, loopback and modem status. The machine places its 8-byte
 * region (normally at port 0x3f8, IRQ 4) and connects it to the host through
 * struct serial8250_hooks; the device itself knows nothing of either.
 *
 * What is modelled and what is not:
 * - Transmission is instantaneous: a byte written to THR is handed to the
 *   tx hook before the write returns, so THRE and TEMT read as 1 at all
 *   times and the THR-empty interrupt is pending again right after every
 *   write (when ETBEI is set). Bytes are never held back for a later
 *   batch: the device has no clock, so it could not tell when the guest has
 *   finished writing, and a held-back prompt or last line before an exit
 *   would be lost. Bytes that other vCPUs write while the tx hook is busy
 *   are queued and handed over together in one later call.
 * - Word length, parity, stop bits and the divisor are stored and read
 *   back but do not alter the bytes: the host side carries bytes.
 * - The character timeout interrupt fires as soon as the receive FIFO
 *   holds some bytes but fewer than the trigger level: without a clock the
 *   line is idle whenever the host is not delivering bytes.
 * - Parity and framing errors cannot happen; a break can be injected
 *   (serial8250_receive_break()). The LCR break bit is stored only.
 * - Host input never overruns: serial8250_receive() takes only what fits
 *   and the machine keeps the rest (like hardware flow control). Overrun
 *   (LSR.OE) happens when the guest overfills the FIFO in loopback mode.
 * - Outside loopback the modem status inputs read CTS, DSR and DCD set and
 *   RI clear (a connected terminal). MCR.OUT2 does not gate the interrupt.
 * - Writes to LSR and MSR (factory test on real parts) are ignored.
 *
 * Threads: the region's ops, serial8250_receive() and the other functions
 * may run on any thread at once. State is guarded by serial8250.lock, never
 * held while a hook runs. One thread at a time delivers hook calls, in
 * order; a thread whose THR write finds another one delivering waits until
 * its byte has been handed over, so output keeps the order of the writes.
 * Once its own bytes are out, a delivering thread hands the rest over to
 * one of the waiting writers rather than writing for them all. A level
 * change made meanwhile is handed over by the delivering thread right
 * after its current hook call returns. Hooks may call back into the device
 * (such calls do not wait; their effects are delivered after the hook).
 */
#ifndef DEVICES_SERIAL8250_H
#define DEVICES_SERIAL8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"

/* Size of the register block. */
#define SERIAL8250_SIZE 8
/* Depth of the receive FIFO (and of the transmit FIFO of the real part). */
#define SERIAL8250_FIFO_SIZE 16
/* Bytes that may wait for the tx hook while another thread delivers. */
#define SERIAL8250_TX_QUEUE 64

/* Register offsets. DLAB is LCR bit 7. */
#define SERIAL8250_RBR 0 /* read, DLAB=0: receive buffer */
#define SERIAL8250_THR 0 /* write, DLAB=0: transmit holding */
#define SERIAL8250_DLL 0 /* DLAB=1: divisor latch, low byte */
#define SERIAL8250_IER 1 /* DLAB=0: interrupt enable */
#define SERIAL8250_DLM 1 /* DLAB=1: divisor latch, high byte */
#define SERIAL8250_IIR 2 /* read: interrupt identification */
#define SERIAL8250_FCR 2 /* write: FIFO control */
#define SERIAL8250_LCR 3 /* line control */
#define SERIAL8250_MCR 4 /* modem control */
#define SERIAL8250_LSR 5 /* line status */
#define SERIAL8250_MSR 6 /* modem status */
#define SERIAL8250_SCR 7 /* scratch */

/* IER bits; bits 4-7 read as 0. */
#define SERIAL8250_IER_RDI 0x01  /* received data available (and timeout) */
#define SERIAL8250_IER_THRI 0x02 /* THR empty */
#define SERIAL8250_IER_RLSI 0x04 /* receiver line status */
#define SERIAL8250_IER_MSI 0x08  /* modem status */

/* IIR values, highest priority first; bits 6-7 are set with FIFOs on. */
#define SERIAL8250_IIR_NO_INT 0x01
#define SERIAL8250_IIR_RLSI 0x06
#define SERIAL8250_IIR_RDI 0x04
#define SERIAL8250_IIR_TIMEOUT 0x0c
#define SERIAL8250_IIR_THRI 0x02
#define SERIAL8250_IIR_MSI 0x00
#define SERIAL8250_IIR_ID_MASK 0x0f
#define SERIAL8250_IIR_FIFO_ON 0xc0

/* FCR bits. */
#define SERIAL8250_FCR_ENABLE 0x01
#define SERIAL8250_FCR_CLEAR_RX 0x02
#define SERIAL8250_FCR_CLEAR_TX 0x04
#define SERIAL8250_FCR_TRIGGER_MASK 0xc0 /* 1, 4, 8 or 14 bytes */

/* LCR bits. */
#define SERIAL8250_LCR_WLEN8 0x03
#define SERIAL8250_LCR_BREAK 0x40
#define SERIAL8250_LCR_DLAB 0x80

/* MCR bits; bits 5-7 read as 0. */
#define SERIAL8250_MCR_DTR 0x01
#define SERIAL8250_MCR_RTS 0x02
#define SERIAL8250_MCR_OUT1 0x04
#define SERIAL8250_MCR_OUT2 0x08
#define SERIAL8250_MCR_LOOP 0x10

/* LSR bits. */
#define SERIAL8250_LSR_DR 0x01    /* data ready */
#define SERIAL8250_LSR_OE 0x02    /* overrun error */
#define SERIAL8250_LSR_PE 0x04    /* parity error */
#define SERIAL8250_LSR_FE 0x08    /* framing error */
#define SERIAL8250_LSR_BI 0x10    /* break interrupt */
#define SERIAL8250_LSR_THRE 0x20  /* THR empty */
#define SERIAL8250_LSR_TEMT 0x40  /* transmitter empty */
#define SERIAL8250_LSR_FIFOE 0x80 /* an error byte is in the RX FIFO */

/* MSR bits: deltas (cleared when MSR is read), then the inputs. */
#define SERIAL8250_MSR_DCTS 0x01
#define SERIAL8250_MSR_DDSR 0x02
#define SERIAL8250_MSR_TERI 0x04 /* RI went from 1 to 0 */
#define SERIAL8250_MSR_DDCD 0x08
#define SERIAL8250_MSR_CTS 0x10
#define SERIAL8250_MSR_DSR 0x20
#define SERIAL8250_MSR_RI 0x40
#define SERIAL8250_MSR_DCD 0x80

/*
 * What the machine provides. Hooks run outside the device lock on the
 * thread that caused them (a vCPU, or the caller of serial8250_receive()),
 * one at a time and in order. Any hook may be NULL: output is then
 * dropped, the line state and the notice are not reported.
 */
struct serial8250_hooks {
    /* Transmit (len) bytes (at least 1). */
    void (*tx)(void *opaque, const uint8_t *buf, size_t len);
    /* The interrupt line changed to (level) (0 or 1); it starts at 0. */
    void (*set_irq)(void *opaque, int level);
    /*
     * Input may be offered again: serial8250_receive() or
     * serial8250_rx_room() found too little room earlier, and the receive
     * FIFO has since become empty (the guest read it, cleared it, or left
     * loopback). Called once per such shortage.
     */
    void (*rx_ready)(void *opaque);
};

/*
 * The device. (region) is public so that the machine can place it; every
 * other field is private to devices/serial8250.c.
 */
struct serial8250 {
    struct mem_region region;

    /* Private. */
    const struct serial8250_hooks *hooks;
    void *hook_opaque;
    pthread_mutex_t lock;
    /* Signalled when a delivery step ends; waits on (lock). */
    pthread_cond_t delivered;
    /* Everything below is guarded by (lock). */
    uint8_t ier;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t scr;
    uint16_t divisor;
    /* LSR error bits (OE, PE, FE, BI) latched until LSR is read. */
    uint8_t lsr_err;
    /* MSR delta bits, cleared when MSR is read. */
    uint8_t msr_delta;
    bool fifo_on;
    uint8_t rx_trigger;
    /* The THR-empty interrupt is pending (IIR read or THR write clear it). */
    bool thri_pending;
    /* Receive FIFO: data and the LSR error bits of each byte. */
    uint8_t rx_data[SERIAL8250_FIFO_SIZE];
    uint8_t rx_flags[SERIAL8250_FIFO_SIZE];
    unsigned rx_head;
    unsigned rx_count;
    /* What RBR reads when the FIFO is empty: the last byte read. */
    uint8_t rbr_last;
    /* The host was refused input; rx_ready is owed once the FIFO empties. */
    bool rx_short;
    bool rx_notify;
    /* Output waiting for the tx hook. */
    uint8_t tx_queue[SERIAL8250_TX_QUEUE];
    size_t tx_len;
    /* Bytes queued and bytes handed to the tx hook since init. */
    uint64_t tx_queued;
    uint64_t tx_done;
    /* Bytes dropped because a hook wrote while the queue was full. */
    uint64_t tx_dropped;
    /* Writers waiting for their bytes to be delivered. */
    unsigned tx_waiters;
    /* The interrupt level the registers ask for, and the one reported. */
    int irq_wanted;
    int irq_line;
    /* A thread is calling hooks; which one. */
    bool delivering;
    pthread_t deliverer;
};

/*
 * Initialise (s) in its reset state (FIFOs off, no interrupt enabled,
 * divisor 12 = 9600 baud) with an I/O region of SERIAL8250_SIZE bytes, not
 * yet placed anywhere. Guest accesses of 1 to 4 bytes at any alignment are
 * accepted and reach the registers one byte at a time, as on the ISA bus.
 * (hooks) (may be NULL) and (opaque) must outlive the device. Returns 0, or
 * -errno with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
serial8250_init(struct serial8250 *s, const struct serial8250_hooks *hooks,
                void *opaque);

/*
 * Offer (len) bytes of host input. Returns how many were accepted (the
 * room in the receive FIFO: 16 with FIFOs on, 1 without, none in loopback
 * mode, where the serial input is disconnected); the caller keeps the rest
 * and offers it again after the rx_ready hook. Raises the receive
 * interrupt as the registers say.
 */
size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len);

/*
 * Receive a break: a zero byte flagged with LSR.BI. Returns 0, or -EAGAIN
 * when the FIFO has no room (as serial8250_receive()).
 */
__attribute__((warn_unused_result)) int
serial8250_receive_break(struct serial8250 *s);

/*
 * How many bytes serial8250_receive() would accept now. A result of 0
 * makes the device owe an rx_ready call.
 */
size_t serial8250_rx_room(struct serial8250 *s);

/*
 * Release (s). The machine must have removed the region from its container
 * and let readers finish (mem_sys_synchronize()) first; otherwise returns
 * -EBUSY and changes nothing.
 */
__attribute__((warn_unused_result)) int
serial8250_destroy(struct serial8250 *s);

#endif /* DEVICES_SERIAL8250_H */
