/* SPDX-License-Identifier: MIT */
/*
 * The i8042 keyboard controller (devices/i8042.h) at ports 0x60 and 0x64
 * of an "io" space, driven by guest accesses from the input over 0x58 to
 * 0x6f (so port 0x61 in between, and wider accesses, stay unassigned or
 * get refused). A model of the controller as its header describes it
 * (status, command byte and RAM, output port, replies, pending data
 * commands) predicts every byte read and every pulse of the reset line.
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte (bits
 * 0-1 the size 1 << n, bit 2 a write; op >= 0xe0 is a two-byte command
 * then data sequence, below), an offset byte and, for a write, the value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define DATA_PORT 0x60
#define CMD_PORT 0x64
#define WINDOW_LO 0x58
#define WINDOW_SPAN 0x18

/* Region indexes in the fuzz_dev. */
#define R_DATA 0
#define R_CMD 1

struct model {
    bool hooked;
    uint8_t status;
    uint8_t ram[32];
    uint8_t outport;
    uint8_t obuf;
    uint8_t pending;
    /* Reset hook calls seen and expected. */
    unsigned resets_seen;
    unsigned resets_want;
};

static void hook_reset(void *opaque)
{
    struct model *m = opaque;

    m->resets_seen++;
}

static const struct i8042_hooks hooks = {.reset = hook_reset};

static void model_reset(struct model *m)
{
    if (m->hooked) {
        m->resets_want++;
    }
}

static void obuf_put(struct model *m, uint8_t v, bool aux)
{
    m->obuf = v;
    m->status |= I8042_STS_OBF;
    if (aux) {
        m->status |= I8042_STS_AUX_OBF;
    } else {
        m->status &= (uint8_t)~I8042_STS_AUX_OBF;
    }
}

/* The status system flag follows the command byte's. */
static void ctr_changed(struct model *m)
{
    if (m->ram[0] & I8042_CTR_SYS) {
        m->status |= I8042_STS_SYS;
    } else {
        m->status &= (uint8_t)~I8042_STS_SYS;
    }
}

static void model_command(struct model *m, uint8_t cmd)
{
    m->status |= I8042_STS_CMD;
    m->pending = 0;
    if (cmd >= I8042_CMD_READ_RAM && cmd < I8042_CMD_READ_RAM + 0x20) {
        obuf_put(m, m->ram[cmd & 0x1f], false);
    } else if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + 0x20) {
        m->pending = cmd;
    } else if (cmd >= I8042_CMD_PULSE) {
        /* Bit 0 clear pulses the reset line. */
        if (!(cmd & I8042_OUT_RESET)) {
            model_reset(m);
        }
    } else {
        switch (cmd) {
        case I8042_CMD_AUX_DISABLE:
            m->ram[0] |= I8042_CTR_AUX_DISABLE;
            break;
        case I8042_CMD_AUX_ENABLE:
            m->ram[0] &= (uint8_t)~I8042_CTR_AUX_DISABLE;
            break;
        case I8042_CMD_AUX_TEST:
        case I8042_CMD_KBD_TEST:
            obuf_put(m, I8042_TEST_OK, false);
            break;
        case I8042_CMD_SELF_TEST:
            m->status |= I8042_STS_SYS;
            obuf_put(m, I8042_SELF_TEST_OK, false);
            break;
        case I8042_CMD_KBD_DISABLE:
            m->ram[0] |= I8042_CTR_KBD_DISABLE;
            break;
        case I8042_CMD_KBD_ENABLE:
            m->ram[0] &= (uint8_t)~I8042_CTR_KBD_DISABLE;
            break;
        case I8042_CMD_READ_INPUT:
            /* Bit 7: the keyboard is not inhibited. */
            obuf_put(m, 0x80, false);
            break;
        case I8042_CMD_READ_OUTPORT:
            obuf_put(m, m->outport, false);
            break;
        case I8042_CMD_WRITE_OUTPORT:
        case I8042_CMD_WRITE_KBD_OBUF:
        case I8042_CMD_WRITE_AUX_OBUF:
        case I8042_CMD_WRITE_AUX:
            m->pending = cmd;
            break;
        case I8042_CMD_A20_OFF:
            m->outport &= (uint8_t)~I8042_OUT_A20;
            break;
        case I8042_CMD_A20_ON:
            m->outport |= I8042_OUT_A20;
            break;
        case I8042_CMD_READ_TEST:
            obuf_put(m, 0, false);
            break;
        default:
            break;
        }
    }
}

static void model_data(struct model *m, uint8_t v)
{
    uint8_t cmd = m->pending;

    m->status &= (uint8_t)~I8042_STS_CMD;
    m->pending = 0;
    if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + 0x20) {
        m->ram[cmd & 0x1f] = v;
        if ((cmd & 0x1f) == 0) {
            ctr_changed(m);
        }
        return;
    }
    switch (cmd) {
    case I8042_CMD_WRITE_OUTPORT:
        /* The line goes high again after the reset it pulls. */
        m->outport = v | I8042_OUT_RESET;
        if (!(v & I8042_OUT_RESET)) {
            model_reset(m);
        }
        break;
    case I8042_CMD_WRITE_KBD_OBUF:
        obuf_put(m, v, false);
        break;
    case I8042_CMD_WRITE_AUX_OBUF:
        obuf_put(m, v, true);
        break;
    default:
        /* To the keyboard or mouse: none is attached. */
        break;
    }
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint64_t v = 0;

    FUZZ_CHECK(offset == 0 && size == 1);
    *known = UINT64_MAX;
    if (idx == R_DATA && write) {
        model_data(m, (uint8_t)value);
    } else if (idx == R_DATA) {
        v = m->obuf;
        m->status &= (uint8_t) ~(I8042_STS_OBF | I8042_STS_AUX_OBF);
    } else if (write) {
        model_command(m, (uint8_t)value);
    } else {
        v = m->status;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct i8042 dev;
    struct fuzz_dev d;
    struct model m;
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    memset(&m, 0, sizeof(m));
    m.hooked = !(flags & 1);
    /* The post-BIOS state the header promises. */
    m.ram[0] = I8042_CTR_KBD_INT | I8042_CTR_SYS | I8042_CTR_XLATE;
    m.status = I8042_STS_UNLOCK | I8042_STS_SYS;
    m.outport = 0xcf;
    FUZZ_CHECK(i8042_init(&dev, m.hooked ? &hooks : NULL, &m) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, &m);
    fuzz_dev_add(&d, &dev.region_data, FUZZ_DEV_IO, DATA_PORT, 0, 1, 1, false);
    fuzz_dev_add(&d, &dev.region_cmd, FUZZ_DEV_IO, CMD_PORT, 0, 1, 1, false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        if (op >= 0xe0) {
            /* A command and its data byte, the usual pair. */
            fuzz_dev_access(&d, CMD_PORT, 1, true, fuzz_take(&in, 1));
            fuzz_dev_access(&d, DATA_PORT, 1, true, fuzz_take(&in, 1));
        } else {
            fuzz_dev_take_access(&in, op, WINDOW_LO, WINDOW_SPAN, &addr, &sz,
                                 &write, &value);
            fuzz_dev_access(&d, addr, sz, write, value);
        }
        FUZZ_CHECK(m.resets_seen == m.resets_want);
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(i8042_destroy(&dev) == 0);
    return 0;
}
