/* SPDX-License-Identifier: MIT */
/*
 * ACPI PM1a event and control blocks and the reset register. Every
 * register is 16 bits wide except the reset register; byte accesses reach
 * one half of a register (the dispatcher passes them through unwidened, so
 * a byte write to PM1_STS never clears bits of the other byte).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "devices/acpi_pm.h"

/* Bits of acpi_pm.live. */
#define LIVE_EVT 0x1u
#define LIVE_CNT 0x2u
#define LIVE_RESET 0x4u

/* The defined status and enable bits; the others read 0. */
#define STS_BITS                                                               \
    (ACPI_PM1_STS_TMR | ACPI_PM1_STS_BM | ACPI_PM1_STS_GBL |                   \
     ACPI_PM1_STS_PWRBTN | ACPI_PM1_STS_SLPBTN | ACPI_PM1_STS_RTC |            \
     ACPI_PM1_STS_PCIEXP_WAKE | ACPI_PM1_STS_WAK)
#define EN_BITS                                                                \
    (ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL | ACPI_PM1_EN_PWRBTN |                  \
     ACPI_PM1_EN_SLPBTN | ACPI_PM1_EN_RTC | ACPI_PM1_EN_PCIEXP_WAKE_DIS)
/* The PM1_CNT bits that keep what was written. */
#define CNT_STORED                                                             \
    (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_BIT9 | ACPI_PM1_CNT_SLP_TYP_MASK)

/* What a write asks of the machine once the lock is dropped. */
enum pm_action {
    PM_NONE,
    PM_POWEROFF,
    PM_RESET,
};

/*
 * The part of a 16-bit register an access of (size) bytes at (offset)
 * covers, as a mask, and the shift that lines the access up with it.
 * The ops' sizes guarantee size 1 or 2, and offset even for size 2.
 */
static uint16_t reg_mask(uint64_t offset, unsigned size, unsigned *shift)
{
    if (size >= 2) {
        *shift = 0;
        return 0xffff;
    }
    *shift = (unsigned)(offset & 1) * 8;
    return (uint16_t)(0xffu << *shift);
}

static uint64_t reg_read(uint16_t reg, uint64_t offset, unsigned size)
{
    unsigned shift;
    uint16_t mask = reg_mask(offset, size, &shift);

    return (uint64_t)((reg & mask) >> shift);
}

static void acpi_pm_act(struct acpi_pm *s, enum pm_action act)
{
    if (act == PM_POWEROFF && s->hooks->poweroff) {
        s->hooks->poweroff(s->hook_opaque);
    } else if (act == PM_RESET && s->hooks->reset) {
        s->hooks->reset(s->hook_opaque);
    }
}

static uint64_t acpi_pm_evt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *s = opaque;
    uint16_t reg;

    pthread_mutex_lock(&s->lock);
    reg = offset < ACPI_PM_EN_OFFSET ? s->sts : s->en;
    pthread_mutex_unlock(&s->lock);
    return reg_read(reg, offset, size);
}

static void acpi_pm_evt_write(void *opaque, uint64_t offset, uint64_t value,
                              unsigned size)
{
    struct acpi_pm *s = opaque;
    unsigned shift;
    uint16_t mask = reg_mask(offset, size, &shift);
    uint16_t bits = (uint16_t)((value << shift) & mask);

    pthread_mutex_lock(&s->lock);
    if (offset < ACPI_PM_EN_OFFSET) {
        /* Write 1 to clear; 0 leaves the bit alone. */
        s->sts &= (uint16_t) ~(bits & STS_BITS);
    } else {
        s->en = (uint16_t)((s->en & ~mask) | (bits & EN_BITS));
    }
    pthread_mutex_unlock(&s->lock);
}

static uint64_t acpi_pm_cnt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *s = opaque;
    uint16_t reg;

    pthread_mutex_lock(&s->lock);
    reg = s->cnt | ACPI_PM1_CNT_SCI_EN;
    pthread_mutex_unlock(&s->lock);
    return reg_read(reg, offset, size);
}

/* A PM1_CNT write: store what is stored, act on SLP_EN. */
static enum pm_action cnt_write_locked(struct acpi_pm *s, uint16_t mask,
                                       uint16_t bits)
{
    uint16_t v = (uint16_t)((s->cnt & ~mask) | bits);
    unsigned typ;

    s->cnt = v & CNT_STORED;
    /* SLP_EN counts only when this write carries it. */
    if (!(bits & ACPI_PM1_CNT_SLP_EN)) {
        return PM_NONE;
    }
    typ = (v & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;
    if (typ == ACPI_PM_SLP_TYP_S5) {
        return PM_POWEROFF;
    }
    /* A state the DSDT does not offer: "wake" at once (see the header). */
    s->sts |= ACPI_PM1_STS_WAK;
    return PM_NONE;
}

static void acpi_pm_cnt_write(void *opaque, uint64_t offset, uint64_t value,
                              unsigned size)
{
    struct acpi_pm *s = opaque;
    unsigned shift;
    uint16_t mask = reg_mask(offset, size, &shift);
    uint16_t bits = (uint16_t)((value << shift) & mask);
    enum pm_action act;

    pthread_mutex_lock(&s->lock);
    act = cnt_write_locked(s, mask, bits);
    pthread_mutex_unlock(&s->lock);
    acpi_pm_act(s, act);
}

static uint64_t acpi_pm_reset_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *s = opaque;
    uint8_t v;

    (void)offset;
    (void)size;
    pthread_mutex_lock(&s->lock);
    v = s->reset;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void acpi_pm_reset_write(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size)
{
    struct acpi_pm *s = opaque;
    uint8_t v = (uint8_t)value;

    (void)offset;
    (void)size;
    pthread_mutex_lock(&s->lock);
    s->reset = v & (uint8_t)~ACPI_PM_RESET_RST_CPU;
    pthread_mutex_unlock(&s->lock);
    acpi_pm_act(s, (v & ACPI_PM_RESET_RST_CPU) ? PM_RESET : PM_NONE);
}

/* 4-byte accesses reach the handlers as two 2-byte halves. */
static const struct mr_ops acpi_pm_evt_ops = {
    .read = acpi_pm_evt_read,
    .write = acpi_pm_evt_write,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 2},
};

static const struct mr_ops acpi_pm_cnt_ops = {
    .read = acpi_pm_cnt_read,
    .write = acpi_pm_cnt_write,
    .valid = {.min_access_size = 1, .max_access_size = 2},
    .impl = {.min_access_size = 1, .max_access_size = 2},
};

static const struct mr_ops acpi_pm_reset_ops = {
    .read = acpi_pm_reset_read,
    .write = acpi_pm_reset_write,
    .valid = {.min_access_size = 1, .max_access_size = 1},
    .impl = {.min_access_size = 1, .max_access_size = 1},
};

/* Release the live regions, last first; stops at the first error. */
static int acpi_pm_release(struct acpi_pm *s)
{
    struct {
        unsigned bit;
        struct mem_region *mr;
    } parts[] = {
        {LIVE_RESET, &s->region_reset},
        {LIVE_CNT, &s->region_cnt},
        {LIVE_EVT, &s->region_evt},
    };

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (s->live & parts[i].bit) {
            int r = mr_destroy(parts[i].mr);

            if (r < 0) {
                return r;
            }
            s->live &= ~parts[i].bit;
        }
    }
    return 0;
}

int acpi_pm_init(struct acpi_pm *s, const struct acpi_pm_hooks *hooks,
                 void *opaque)
{
    static const struct acpi_pm_hooks no_hooks;
    int r;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;

    r = pthread_mutex_init(&s->lock, NULL);
    if (r != 0) {
        return -r;
    }
    r = mr_init_io(&s->region_evt, "acpi-pm1a-evt", ACPI_PM_EVT_SIZE,
                   &acpi_pm_evt_ops, s);
    if (r < 0) {
        goto err;
    }
    s->live |= LIVE_EVT;
    r = mr_init_io(&s->region_cnt, "acpi-pm1a-cnt", ACPI_PM_CNT_SIZE,
                   &acpi_pm_cnt_ops, s);
    if (r < 0) {
        goto err;
    }
    s->live |= LIVE_CNT;
    r = mr_init_io(&s->region_reset, "acpi-reset", ACPI_PM_RESET_SIZE,
                   &acpi_pm_reset_ops, s);
    if (r < 0) {
        goto err;
    }
    s->live |= LIVE_RESET;
    return 0;

err:
    /* Nothing is attached yet, so every region can be released. */
    (void)acpi_pm_release(s);
    pthread_mutex_destroy(&s->lock);
    return r;
}

int acpi_pm_destroy(struct acpi_pm *s)
{
    int r = acpi_pm_release(s);

    if (r < 0) {
        return r;
    }
    pthread_mutex_destroy(&s->lock);
    return 0;
}
