/* SPDX-License-Identifier: MIT */
/*
 * ACPI PM1a event and control blocks and the reset register
 * (devices/acpi_pm.h) at the machine's ports (vmm/boot/acpi.h: 0x600, 0x604,
 * 0xcf9) of an "io" space, driven by guest accesses from the input around
 * both blocks (which sit side by side) and the reset register. A model of
 * the registers as the header describes them predicts every read and
 * every power-off and reset hook call: PM1_STS write-1-to-clear, PM1_EN
 * and PM1_CNT storing their defined bits, SCI_EN reading 1, SLP_EN with
 * SLP_TYP 5 powering off and any other type setting WAK_STS, RST_CPU
 * resetting; byte accesses touch one byte of their register.
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte (bits
 * 0-1 the size 1 << n, bit 2 a write, bit 3 the reset register rather
 * than the PM1 blocks; op >= 0xe0: a PM1_CNT sleep request with the type
 * from the next byte), an offset byte and, for a write, the value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "devices/acpi_pm.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define PM_LO (ACPI_PM1A_EVT_PORT - 4)
#define PM_SPAN (ACPI_PM_EVT_SIZE + ACPI_PM_CNT_SIZE + 8)
#define RESET_LO (ACPI_RESET_PORT - 4)
#define RESET_SPAN 9

/* Region indexes in the fuzz_dev. */
#define R_EVT 0
#define R_CNT 1
#define R_RESET 2

#define STS_BITS                                                               \
    (ACPI_PM1_STS_TMR | ACPI_PM1_STS_BM | ACPI_PM1_STS_GBL |                   \
     ACPI_PM1_STS_PWRBTN | ACPI_PM1_STS_SLPBTN | ACPI_PM1_STS_RTC |            \
     ACPI_PM1_STS_PCIEXP_WAKE | ACPI_PM1_STS_WAK)
#define EN_BITS                                                                \
    (ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL | ACPI_PM1_EN_PWRBTN |                  \
     ACPI_PM1_EN_SLPBTN | ACPI_PM1_EN_RTC | ACPI_PM1_EN_PCIEXP_WAKE_DIS)
#define CNT_STORED                                                             \
    (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_BIT9 | ACPI_PM1_CNT_SLP_TYP_MASK)

struct model {
    bool hooked;
    uint16_t sts;
    uint16_t en;
    uint16_t cnt;
    uint8_t reset;
    unsigned poweroffs_seen, poweroffs_want;
    unsigned resets_seen, resets_want;
};

static void hook_poweroff(void *opaque)
{
    struct model *m = opaque;

    m->poweroffs_seen++;
}

static void hook_reset(void *opaque)
{
    struct model *m = opaque;

    m->resets_seen++;
}

static const struct acpi_pm_hooks hooks = {
    .poweroff = hook_poweroff,
    .reset = hook_reset,
};

/* One 16-bit register access of (size) 1 or 2 at (offset) within it. */
static uint16_t reg_mask(uint64_t offset, unsigned size, unsigned *shift)
{
    *shift = size == 2 ? 0 : (unsigned)(offset & 1) * 8;
    return size == 2 ? 0xffff : (uint16_t)(0xffu << *shift);
}

static uint64_t evt_half(struct model *m, uint64_t offset, unsigned size,
                         bool write, uint64_t value)
{
    unsigned shift;
    uint16_t mask = reg_mask(offset, size, &shift);
    uint16_t bits = (uint16_t)((value << shift) & mask);
    bool is_sts = offset < ACPI_PM_EN_OFFSET;

    if (!write) {
        return (uint64_t)(((is_sts ? m->sts : m->en) & mask) >> shift);
    }
    if (is_sts) {
        m->sts &= (uint16_t) ~(bits & STS_BITS);
    } else {
        m->en = (uint16_t)((m->en & ~mask) | (bits & EN_BITS));
    }
    return 0;
}

static uint64_t cnt_access(struct model *m, uint64_t offset, unsigned size,
                           bool write, uint64_t value)
{
    unsigned shift;
    uint16_t mask = reg_mask(offset, size, &shift);
    uint16_t bits = (uint16_t)((value << shift) & mask);
    uint16_t v;

    if (!write) {
        return (uint64_t)(((m->cnt | ACPI_PM1_CNT_SCI_EN) & mask) >> shift);
    }
    v = (uint16_t)((m->cnt & ~mask) | bits);
    m->cnt = v & CNT_STORED;
    if (bits & ACPI_PM1_CNT_SLP_EN) {
        unsigned typ =
            (v & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;

        if (typ == ACPI_PM_SLP_TYP_S5) {
            m->poweroffs_want += m->hooked;
        } else {
            m->sts |= ACPI_PM1_STS_WAK;
        }
    }
    return 0;
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint64_t v = 0;

    *known = UINT64_MAX;
    switch (idx) {
    case R_EVT:
        /* The handlers take 1 or 2 bytes: 4 bytes come as two halves. */
        if (size == 4) {
            v = evt_half(m, 0, 2, write, value);
            v |= evt_half(m, 2, 2, write, value >> 16) << 16;
        } else {
            v = evt_half(m, offset, size, write, value);
        }
        break;
    case R_CNT:
        v = cnt_access(m, offset, size, write, value);
        break;
    default:
        FUZZ_CHECK(size == 1);
        if (write) {
            m->reset = (uint8_t)value & (uint8_t)~ACPI_PM_RESET_RST_CPU;
            m->resets_want += m->hooked && (value & ACPI_PM_RESET_RST_CPU);
        } else {
            v = m->reset;
        }
        break;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct acpi_pm dev;
    struct fuzz_dev d;
    struct model m;
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    memset(&m, 0, sizeof(m));
    m.hooked = !(flags & 1);
    FUZZ_CHECK(acpi_pm_init(&dev, m.hooked ? &hooks : NULL, &m) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, &m);
    fuzz_dev_add(&d, &dev.region_evt, FUZZ_DEV_IO, ACPI_PM1A_EVT_PORT, 0, 1, 4,
                 false);
    fuzz_dev_add(&d, &dev.region_cnt, FUZZ_DEV_IO, ACPI_PM1A_CNT_PORT, 0, 1, 2,
                 false);
    fuzz_dev_add(&d, &dev.region_reset, FUZZ_DEV_IO, ACPI_RESET_PORT, 0, 1, 1,
                 false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        if (op >= 0xe0) {
            /* A sleep request as OSPM writes it: SLP_TYP | SLP_EN. */
            unsigned typ = (unsigned)fuzz_take(&in, 1) & 7;

            fuzz_dev_access(&d, ACPI_PM1A_CNT_PORT, 2, true,
                            (typ << ACPI_PM1_CNT_SLP_TYP_SHIFT) |
                                ACPI_PM1_CNT_SLP_EN);
        } else if (op & 8) {
            fuzz_dev_take_access(&in, op, RESET_LO, RESET_SPAN, &addr, &sz,
                                 &write, &value);
            fuzz_dev_access(&d, addr, sz, write, value);
        } else {
            fuzz_dev_take_access(&in, op, PM_LO, PM_SPAN, &addr, &sz, &write,
                                 &value);
            fuzz_dev_access(&d, addr, sz, write, value);
        }
        FUZZ_CHECK(m.poweroffs_seen == m.poweroffs_want);
        FUZZ_CHECK(m.resets_seen == m.resets_want);
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(acpi_pm_destroy(&dev) == 0);
    return 0;
}
