/* SPDX-License-Identifier: MIT */
/*
 * The PC keyboard controller (Intel 8042), as far as a guest without a
 * keyboard or mouse needs it: the status register, the controller command
 * byte and RAM, self and interface tests, the output port, and the CPU
 * reset line, which it pulses on command 0xFE (the classic way to reboot
 * a PC) or when the guest clears output port bit 0.
 *
 * Two one-byte regions, placed by the machine: (region_data) at port 0x60
 * (data) and (region_cmd) at port 0x64 (status when read, command when
 * written). Port 0x61 in between belongs to the PIT/speaker logic, so the
 * device does not claim 0x60-0x64 as one block.
 *
 * No keyboard or mouse is attached: bytes the guest sends to them are
 * dropped and nothing answers, as with unplugged devices (the guest's
 * driver times out). Controller replies are polled through the status
 * register; the device raises no interrupt (IRQ 1 and 12 are not wired).
 * The state is that of a controller the BIOS has set up: self-test passed
 * (status system flag set), command byte 0x45 (keyboard interrupt, system
 * flag, scan-code translation), output port 0xcf (reset line high, A20 on).
 *
 * Threads: the ops may run on any vCPU thread at once; state is guarded by
 * i8042.lock, which is not held while the reset hook runs.
 */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "mem/region.h"

/* Sizes of the two regions. */
#define I8042_DATA_SIZE 1
#define I8042_CMD_SIZE 1

/* Status register bits (read at the command port). */
#define I8042_STS_OBF 0x01     /* output buffer full: read the data port */
#define I8042_STS_IBF 0x02     /* input buffer full: always 0 here */
#define I8042_STS_SYS 0x04     /* system flag */
#define I8042_STS_CMD 0x08     /* last write went to the command port */
#define I8042_STS_UNLOCK 0x10  /* keyboard not inhibited */
#define I8042_STS_AUX_OBF 0x20 /* the output byte came from the aux port */

/* Command byte bits (controller RAM byte 0). */
#define I8042_CTR_KBD_INT 0x01
#define I8042_CTR_AUX_INT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBD_DISABLE 0x10
#define I8042_CTR_AUX_DISABLE 0x20
#define I8042_CTR_XLATE 0x40

/* Output port bits. */
#define I8042_OUT_RESET 0x01 /* active low: 0 resets the CPU */
#define I8042_OUT_A20 0x02

/* Controller commands (written to the command port). */
#define I8042_CMD_READ_RAM 0x20  /* 0x20-0x3f: read RAM byte n & 0x1f */
#define I8042_CMD_WRITE_RAM 0x60 /* 0x60-0x7f: write RAM byte n & 0x1f */
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST 0xa9  /* replies 0x00: interface fine */
#define I8042_CMD_SELF_TEST 0xaa /* replies 0x55 */
#define I8042_CMD_KBD_TEST 0xab  /* replies 0x00: interface fine */
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_READ_INPUT 0xc0
#define I8042_CMD_READ_OUTPORT 0xd0
#define I8042_CMD_WRITE_OUTPORT 0xd1
#define I8042_CMD_WRITE_KBD_OBUF 0xd2 /* next data byte: as if from kbd */
#define I8042_CMD_WRITE_AUX_OBUF 0xd3 /* next data byte: as if from aux */
#define I8042_CMD_WRITE_AUX 0xd4      /* next data byte: to the mouse */
#define I8042_CMD_A20_OFF 0xdd
#define I8042_CMD_A20_ON 0xdf
#define I8042_CMD_READ_TEST 0xe0
/* 0xf0-0xff pulse output port bits 0-3 low for those bits that are clear
 * in the command; bit 0 is the reset line, so 0xfe resets. */
#define I8042_CMD_PULSE 0xf0
#define I8042_CMD_RESET 0xfe

/* Replies. */
#define I8042_SELF_TEST_OK 0x55
#define I8042_TEST_OK 0x00

/*
 * What the machine provides. The hook runs on the vCPU thread that made
 * the access, outside the device lock; NULL ignores the request.
 */
struct i8042_hooks {
    /* The guest pulsed the CPU reset line. */
    void (*reset)(void *opaque);
};

/*
 * The device. The regions are public so that the machine can place them;
 * every other field is private to devices/i8042.c.
 */
struct i8042 {
    /* Port 0x60: data. */
    struct mem_region region_data;
    /* Port 0x64: status (read) and command (write). */
    struct mem_region region_cmd;

    /* Private. */
    const struct i8042_hooks *hooks;
    void *hook_opaque;
    /* Bit 0: region_data is initialised; bit 1: region_cmd. */
    unsigned live;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    uint8_t status;
    /* Controller RAM; byte 0 is the command byte. */
    uint8_t ram[32];
    uint8_t outport;
    /* The output buffer; the data port reads it (again when empty). */
    uint8_t obuf;
    /* A command that waits for its data byte, or 0. */
    uint8_t pending;
};

/*
 * Initialise (s) in its post-BIOS state with its two regions, not yet
 * placed anywhere. Accesses are one byte wide. (hooks) (may be NULL) and
 * (opaque) must outlive the device. Returns 0, or -errno with nothing left
 * to undo.
 */
__attribute__((warn_unused_result)) int
i8042_init(struct i8042 *s, const struct i8042_hooks *hooks, void *opaque);

/*
 * Release (s). The machine must have removed both regions from their
 * container and let readers finish (mem_sys_synchronize()) first;
 * otherwise returns -EBUSY, and may be called again once they are free.
 */
__attribute__((warn_unused_result)) int i8042_destroy(struct i8042 *s);

#endif /* DEVICES_I8042_H */
