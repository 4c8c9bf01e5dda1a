/* SPDX-License-Identifier: MIT */
/*
 * The CMOS RTC (devices/rtc.h) at port 0x70 of an "io" space, with a host
 * clock the input sets, driven by guest accesses from the input. A model
 * predicts every read: the index register reads 0xff, CMOS RAM keeps what
 * is written, A drops UIP, C reads 0, D reads VRT, the memory-size bytes
 * start as the header lays them out for the RAM sizes from the input, and
 * the clock registers follow the guest's clock in BCD or binary, 24- or
 * 12-hour form, frozen while B.SET is on and running on from the edited
 * time when it is cleared. The model's calendar is libc's timegm() and
 * gmtime_r(); it predicts the clock only while every value written to it
 * was a valid encoding and the host time is an ordinary one (the device
 * may do as it likes with nonsense, but must not crash).
 *
 * Input: a flags byte (bit 0: no hooks, so the real clock; bit 1: a host
 * time anywhere in int64), the host time (8 bytes), RAM below and above
 * 4 GiB (4 bytes each, in 4 KiB and 64 KiB units), then records: an op
 * byte (bits 0-1 the size 1 << n, bit 2 a write; op >= 0xe0 selects the
 * register in the next byte and writes the one after, or reads it when
 * bit 4 of op is clear), an offset byte and, for a write, the value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/rtc.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define PORT 0x70
#define WINDOW_LO (PORT - 4)
#define WINDOW_SPAN (RTC_IO_SIZE + 8)

struct model {
    int64_t host;
    uint8_t index;
    uint8_t cmos[RTC_CMOS_SIZE];
    /* The clock is predictable: t (running) or frozen (B.SET) is right. */
    bool clock_known;
    int64_t t;
    struct tm frozen;
};

static int64_t hook_now(void *opaque)
{
    const struct model *m = opaque;

    return m->host;
}

static const struct rtc_hooks hooks = {.now = hook_now};

static bool is_clock(uint8_t idx)
{
    return idx == RTC_SECONDS || idx == RTC_MINUTES || idx == RTC_HOURS ||
           idx == RTC_DAY_OF_WEEK || idx == RTC_DAY_OF_MONTH ||
           idx == RTC_MONTH || idx == RTC_YEAR || idx == RTC_CENTURY;
}

static bool binary(const struct model *m)
{
    return (m->cmos[RTC_REG_B] & RTC_B_DM_BINARY) != 0;
}

static bool frozen(const struct model *m)
{
    return (m->cmos[RTC_REG_B] & RTC_B_SET) != 0;
}

/* (v) in 0..99 as the register holds it. */
static uint8_t enc(const struct model *m, int v)
{
    return binary(m) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

/* The value a register byte encodes, or -1 when it is no valid encoding. */
static int dec(const struct model *m, uint8_t b)
{
    if (binary(m)) {
        return b < 100 ? b : -1;
    }
    if ((b >> 4) > 9 || (b & 0xf) > 9) {
        return -1;
    }
    return (b >> 4) * 10 + (b & 0xf);
}

static uint8_t enc_hours(const struct model *m, int hour)
{
    int h12 = hour % 12;

    if (m->cmos[RTC_REG_B] & RTC_B_24H) {
        return enc(m, hour);
    }
    return enc(m, h12 ? h12 : 12) | (hour >= 12 ? RTC_HOURS_PM : 0);
}

/* Hours 0-23 from a register byte, or -1. */
static int dec_hours(const struct model *m, uint8_t b)
{
    int h;

    if (m->cmos[RTC_REG_B] & RTC_B_24H) {
        h = dec(m, b);
        return h < 24 ? h : -1;
    }
    h = dec(m, b & (uint8_t)~RTC_HOURS_PM);
    if (h < 1 || h > 12) {
        return -1;
    }
    return (h % 12) + ((b & RTC_HOURS_PM) ? 12 : 0);
}

/* The guest's clock as fields. */
static void clock_now(const struct model *m, struct tm *tm)
{
    time_t tt = (time_t)m->t;

    if (frozen(m)) {
        struct tm norm = m->frozen;

        *tm = m->frozen;
        (void)timegm(&norm);
        tm->tm_wday = norm.tm_wday;
        return;
    }
    FUZZ_CHECK(gmtime_r(&tt, tm) != NULL);
}

static uint8_t clock_read(const struct model *m, uint8_t idx)
{
    struct tm tm;
    int year;

    clock_now(m, &tm);
    year = tm.tm_year + 1900;
    switch (idx) {
    case RTC_SECONDS:
        return enc(m, tm.tm_sec);
    case RTC_MINUTES:
        return enc(m, tm.tm_min);
    case RTC_HOURS:
        return enc_hours(m, tm.tm_hour);
    case RTC_DAY_OF_WEEK:
        return enc(m, tm.tm_wday + 1);
    case RTC_DAY_OF_MONTH:
        return enc(m, tm.tm_mday);
    case RTC_MONTH:
        return enc(m, tm.tm_mon + 1);
    case RTC_YEAR:
        return enc(m, year % 100);
    default:
        return enc(m, year / 100 % 100);
    }
}

/* Set the running clock to (tm), or freeze it there. */
static void clock_set(struct model *m, struct tm *tm)
{
    if (frozen(m)) {
        m->frozen = *tm;
    } else {
        m->t = (int64_t)timegm(tm);
    }
}

static void clock_write(struct model *m, uint8_t idx, uint8_t b)
{
    struct tm tm;
    int v = idx == RTC_HOURS ? dec_hours(m, b) : dec(m, b);
    int year;

    if (idx == RTC_DAY_OF_WEEK || !m->clock_known) {
        /* The weekday follows the date: writing it changes nothing. */
        return;
    }
    clock_now(m, &tm);
    year = tm.tm_year + 1900;
    switch (idx) {
    case RTC_SECONDS:
        v = v < 60 ? v : -1;
        tm.tm_sec = v;
        break;
    case RTC_MINUTES:
        v = v < 60 ? v : -1;
        tm.tm_min = v;
        break;
    case RTC_HOURS:
        tm.tm_hour = v;
        break;
    case RTC_DAY_OF_MONTH:
        v = v >= 1 && v <= 31 ? v : -1;
        tm.tm_mday = v;
        break;
    case RTC_MONTH:
        v = v >= 1 && v <= 12 ? v : -1;
        tm.tm_mon = v - 1;
        break;
    case RTC_YEAR:
        tm.tm_year = year - year % 100 + v - 1900;
        break;
    default:
        tm.tm_year = v * 100 + year % 100 - 1900;
        break;
    }
    if (v < 0) {
        /* Nonsense written: no prediction from here on. */
        m->clock_known = false;
        return;
    }
    clock_set(m, &tm);
}

static void reg_b_write(struct model *m, uint8_t v)
{
    bool was = frozen(m);
    struct tm tm;

    if (m->clock_known && !was && (v & RTC_B_SET)) {
        clock_now(m, &m->frozen);
    }
    m->cmos[RTC_REG_B] = v;
    if (m->clock_known && was && !(v & RTC_B_SET)) {
        tm = m->frozen;
        m->t = (int64_t)timegm(&tm);
    }
}

static uint64_t data_byte(struct model *m, bool write, uint8_t v,
                          uint64_t *known)
{
    uint8_t idx = m->index;

    *known = 0xff;
    if (is_clock(idx)) {
        if (write) {
            clock_write(m, idx, v);
            return 0;
        }
        if (!m->clock_known) {
            *known = 0;
            return 0;
        }
        return clock_read(m, idx);
    }
    switch (idx) {
    case RTC_REG_A:
        if (write) {
            m->cmos[idx] = v & (uint8_t)~RTC_A_UIP;
        }
        return m->cmos[idx];
    case RTC_REG_B:
        if (write) {
            reg_b_write(m, v);
        }
        return m->cmos[idx];
    case RTC_REG_C:
        return 0;
    case RTC_REG_D:
        return RTC_D_VRT;
    default:
        if (write) {
            m->cmos[idx] = v;
        }
        return m->cmos[idx];
    }
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint64_t v = 0;

    (void)idx;
    /* The ops take bytes: a 16-bit access is index, then data. */
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        uint64_t k = 0xff, r = 0xff;

        if (offset + i == RTC_INDEX) {
            if (write) {
                m->index = b & (RTC_CMOS_SIZE - 1);
            }
        } else {
            r = data_byte(m, write, b, &k);
        }
        v |= r << (8 * i);
        *known |= k << (8 * i);
    }
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t cap(uint64_t v, uint64_t max)
{
    return v < max ? v : max;
}

/* The memory-size bytes as rtc.h lays them out. */
static void model_memory(struct model *m, uint64_t below, uint64_t above)
{
    const uint64_t k = 1024, mib = 1024 * 1024;
    uint64_t ext = below > mib ? (below - mib) / k : 0;

    put_le(&m->cmos[RTC_BASE_MEM_LO], cap(below / k, 640), 2);
    put_le(&m->cmos[RTC_EXT_MEM_LO], cap(ext, 0xffff), 2);
    put_le(&m->cmos[RTC_EXT_MEM2_LO], cap(ext, 0xffff), 2);
    put_le(&m->cmos[RTC_MEM_16M_LO],
           cap(below > 16 * mib ? (below - 16 * mib) / (64 * k) : 0, 0xffff),
           2);
    put_le(&m->cmos[RTC_MEM_4G_LO], cap(above / (64 * k), 0xffffff), 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct rtc dev;
    struct fuzz_dev d;
    struct model m;
    unsigned flags = (unsigned)fuzz_take(&in, 1);
    uint64_t host = fuzz_take(&in, 8);
    uint64_t below = fuzz_take(&in, 4) << 12;
    uint64_t above = fuzz_take(&in, 4) << 16;
    bool hooked = !(flags & 1);

    memset(&m, 0, sizeof(m));
    /* Ordinary times: 1970 to about 2242, whole seconds. */
    m.host = (flags & 2) ? (int64_t)host : (int64_t)(host & 0x1ffffffffull);
    m.clock_known = hooked && !(flags & 2);
    m.t = m.host;
    m.cmos[RTC_REG_A] = RTC_REG_A_INIT;
    m.cmos[RTC_REG_B] = RTC_REG_B_INIT;
    model_memory(&m, below, above);
    FUZZ_CHECK(rtc_init(&dev, hooked ? &hooks : NULL, &m, below, above) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, &m);
    fuzz_dev_add(&d, &dev.region, FUZZ_DEV_IO, PORT, 0, 1, 2, false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        if (op >= 0xe0) {
            /* Select, then read or write the data register. */
            fuzz_dev_access(&d, PORT + RTC_INDEX, 1, true, fuzz_take(&in, 1));
            write = (op & 0x10) != 0;
            fuzz_dev_access(&d, PORT + RTC_DATA, 1, write,
                            write ? fuzz_take(&in, 1) : 0);
            continue;
        }
        fuzz_dev_take_access(&in, op, WINDOW_LO, WINDOW_SPAN, &addr, &sz,
                             &write, &value);
        fuzz_dev_access(&d, addr, sz, write, value);
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(rtc_destroy(&dev) == 0);
    return 0;
}
