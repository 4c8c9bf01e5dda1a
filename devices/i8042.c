/* SPDX-License-Identifier: MIT */
/*
 * The 8042 keyboard controller without keyboard or mouse: status register,
 * command byte and RAM, tests, output port and the reset line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "devices/i8042.h"

/* The command byte a BIOS leaves behind. */
#define CTR_BIOS (I8042_CTR_KBD_INT | I8042_CTR_SYS | I8042_CTR_XLATE)
/* Output port after reset: reset line high, A20 on, the unused bits 2, 3,
 * 6 and 7 high. */
#define OUTPORT_RESET (I8042_OUT_RESET | I8042_OUT_A20 | 0xcc)
/* Input port: bit 7 set, the keyboard is not inhibited. */
#define INPORT_VALUE 0x80

/* Region parts, bits of i8042.live. */
#define LIVE_DATA 0x1u
#define LIVE_CMD 0x2u

/* Put (v) into the output buffer, as from the keyboard side or (aux). */
static void obuf_put_locked(struct i8042 *s, uint8_t v, bool aux)
{
    s->obuf = v;
    s->status |= I8042_STS_OBF;
    if (aux) {
        s->status |= I8042_STS_AUX_OBF;
    } else {
        s->status &= (uint8_t)~I8042_STS_AUX_OBF;
    }
}

/* The command byte changed: the system flag in the status follows it. */
static void ctr_changed_locked(struct i8042 *s)
{
    if (s->ram[0] & I8042_CTR_SYS) {
        s->status |= I8042_STS_SYS;
    } else {
        s->status &= (uint8_t)~I8042_STS_SYS;
    }
}

/*
 * A write to the output port. Returns true when it pulls the reset line;
 * the line goes high again, as the CPU reset reinitialises the board.
 */
static bool outport_write_locked(struct i8042 *s, uint8_t v)
{
    s->outport = v | I8042_OUT_RESET;
    return !(v & I8042_OUT_RESET);
}

/* A command byte at port 0x64. Returns true when it pulses reset. */
static bool command_locked(struct i8042 *s, uint8_t cmd)
{
    s->pending = 0;
    if (cmd >= I8042_CMD_READ_RAM && cmd < I8042_CMD_READ_RAM + 0x20) {
        obuf_put_locked(s, s->ram[cmd & 0x1f], false);
        return false;
    }
    if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + 0x20) {
        s->pending = cmd;
        return false;
    }
    if (cmd >= I8042_CMD_PULSE) {
        /* Bits 0-3 clear in the command are pulsed low; bit 0 resets. */
        return !(cmd & I8042_OUT_RESET);
    }
    switch (cmd) {
    case I8042_CMD_AUX_DISABLE:
        s->ram[0] |= I8042_CTR_AUX_DISABLE;
        break;
    case I8042_CMD_AUX_ENABLE:
        s->ram[0] &= (uint8_t)~I8042_CTR_AUX_DISABLE;
        break;
    case I8042_CMD_AUX_TEST:
    case I8042_CMD_KBD_TEST:
        obuf_put_locked(s, I8042_TEST_OK, false);
        break;
    case I8042_CMD_SELF_TEST:
        /* A passed self-test sets the system flag. */
        s->status |= I8042_STS_SYS;
        obuf_put_locked(s, I8042_SELF_TEST_OK, false);
        break;
    case I8042_CMD_KBD_DISABLE:
        s->ram[0] |= I8042_CTR_KBD_DISABLE;
        break;
    case I8042_CMD_KBD_ENABLE:
        s->ram[0] &= (uint8_t)~I8042_CTR_KBD_DISABLE;
        break;
    case I8042_CMD_READ_INPUT:
        obuf_put_locked(s, INPORT_VALUE, false);
        break;
    case I8042_CMD_READ_OUTPORT:
        obuf_put_locked(s, s->outport, false);
        break;
    case I8042_CMD_WRITE_OUTPORT:
    case I8042_CMD_WRITE_KBD_OBUF:
    case I8042_CMD_WRITE_AUX_OBUF:
    case I8042_CMD_WRITE_AUX:
        s->pending = cmd;
        break;
    case I8042_CMD_A20_OFF:
        s->outport &= (uint8_t)~I8042_OUT_A20;
        break;
    case I8042_CMD_A20_ON:
        s->outport |= I8042_OUT_A20;
        break;
    case I8042_CMD_READ_TEST:
        obuf_put_locked(s, 0, false);
        break;
    default:
        /* Unknown commands are ignored. */
        break;
    }
    return false;
}

/* A byte at port 0x60. Returns true when it pulls reset. */
static bool data_locked(struct i8042 *s, uint8_t v)
{
    uint8_t cmd = s->pending;

    s->pending = 0;
    if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + 0x20) {
        s->ram[cmd & 0x1f] = v;
        if ((cmd & 0x1f) == 0) {
            ctr_changed_locked(s);
        }
        return false;
    }
    switch (cmd) {
    case I8042_CMD_WRITE_OUTPORT:
        return outport_write_locked(s, v);
    case I8042_CMD_WRITE_KBD_OBUF:
        obuf_put_locked(s, v, false);
        break;
    case I8042_CMD_WRITE_AUX_OBUF:
        obuf_put_locked(s, v, true);
        break;
    default:
        /* For the keyboard (or, after 0xd4, the mouse): none attached. */
        break;
    }
    return false;
}

static void i8042_reset(struct i8042 *s)
{
    if (s->hooks->reset) {
        s->hooks->reset(s->hook_opaque);
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *s = opaque;
    uint8_t v;

    (void)offset;
    (void)size;
    pthread_mutex_lock(&s->lock);
    v = s->obuf;
    s->status &= (uint8_t) ~(I8042_STS_OBF | I8042_STS_AUX_OBF);
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    struct i8042 *s = opaque;
    bool reset;

    (void)offset;
    (void)size;
    pthread_mutex_lock(&s->lock);
    s->status &= (uint8_t)~I8042_STS_CMD;
    reset = data_locked(s, (uint8_t)value);
    pthread_mutex_unlock(&s->lock);
    if (reset) {
        i8042_reset(s);
    }
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *s = opaque;
    uint8_t v;

    (void)offset;
    (void)size;
    pthread_mutex_lock(&s->lock);
    v = s->status;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value,
                            unsigned size)
{
    struct i8042 *s = opaque;
    bool reset;

    (void)offset;
    (void)size;
    pthread_mutex_lock(&s->lock);
    s->status |= I8042_STS_CMD;
    reset = command_locked(s, (uint8_t)value);
    pthread_mutex_unlock(&s->lock);
    if (reset) {
        i8042_reset(s);
    }
}

static const struct mr_ops i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
    .valid = {.min_access_size = 1, .max_access_size = 1},
    .impl = {.min_access_size = 1, .max_access_size = 1},
};

static const struct mr_ops i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
    .valid = {.min_access_size = 1, .max_access_size = 1},
    .impl = {.min_access_size = 1, .max_access_size = 1},
};

/* Release the live regions, command port first; stops at the first error. */
static int i8042_release(struct i8042 *s)
{
    int r;

    if (s->live & LIVE_CMD) {
        r = mr_destroy(&s->region_cmd);
        if (r < 0) {
            return r;
        }
        s->live &= ~LIVE_CMD;
    }
    if (s->live & LIVE_DATA) {
        r = mr_destroy(&s->region_data);
        if (r < 0) {
            return r;
        }
        s->live &= ~LIVE_DATA;
    }
    return 0;
}

int i8042_init(struct i8042 *s, const struct i8042_hooks *hooks, void *opaque)
{
    static const struct i8042_hooks no_hooks;
    int r;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    s->ram[0] = CTR_BIOS;
    s->status = I8042_STS_UNLOCK;
    ctr_changed_locked(s);
    s->outport = OUTPORT_RESET;

    r = pthread_mutex_init(&s->lock, NULL);
    if (r != 0) {
        return -r;
    }
    r = mr_init_io(&s->region_data, "i8042-data", I8042_DATA_SIZE,
                   &i8042_data_ops, s);
    if (r < 0) {
        goto err;
    }
    s->live |= LIVE_DATA;
    r = mr_init_io(&s->region_cmd, "i8042-cmd", I8042_CMD_SIZE, &i8042_cmd_ops,
                   s);
    if (r < 0) {
        goto err;
    }
    s->live |= LIVE_CMD;
    return 0;

err:
    /* Nothing is attached yet, so every region can be released. */
    (void)i8042_release(s);
    pthread_mutex_destroy(&s->lock);
    return r;
}

int i8042_destroy(struct i8042 *s)
{
    int r = i8042_release(s);

    if (r < 0) {
        return r;
    }
    pthread_mutex_destroy(&s->lock);
    return 0;
}
