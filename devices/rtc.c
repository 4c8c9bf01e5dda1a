/* SPDX-License-Identifier: MIT */
/*
 * The CMOS RTC: clock registers computed from the host clock plus the
 * guest's offset, register A-D, and CMOS RAM.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "devices/rtc.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)

static int64_t rtc_host_now(const struct rtc *s)
{
    struct timespec ts;

    if (s->hooks->now) {
        return s->hooks->now(s->hook_opaque);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static bool binary_locked(const struct rtc *s)
{
    return (s->cmos[RTC_REG_B] & RTC_B_DM_BINARY) != 0;
}

/* (v) in the register format: BCD (two digits) or binary. */
static uint8_t encode_locked(const struct rtc *s, int v)
{
    if (v < 0) {
        v = 0;
    }
    if (binary_locked(s)) {
        return (uint8_t)v;
    }
    v %= 100;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* A register value to a number; bad BCD digits decode as they stand. */
static int decode_locked(const struct rtc *s, uint8_t v)
{
    if (binary_locked(s)) {
        return v;
    }
    return (v >> 4) * 10 + (v & 0x0f);
}

/* (t) broken down; 1970-01-01 when it is out of gmtime()'s range. */
static void break_down(int64_t t, struct tm *tm)
{
    time_t tt = (time_t)t;

    if (!gmtime_r(&tt, tm)) {
        memset(tm, 0, sizeof(*tm));
        tm->tm_mday = 1;
        tm->tm_year = 70;
        tm->tm_wday = 4;
    }
}

/* The guest's clock now, given the host's (host). */
static void guest_time_locked(const struct rtc *s, int64_t host, struct tm *tm)
{
    int64_t t;

    if (s->cmos[RTC_REG_B] & RTC_B_SET) {
        struct tm norm;

        *tm = s->frozen;
        /* The weekday follows the (edited) date. */
        norm = s->frozen;
        (void)timegm(&norm);
        tm->tm_wday = norm.tm_wday;
        return;
    }
    if (__builtin_add_overflow(host, s->offset, &t)) {
        t = host;
    }
    break_down(t, tm);
}

/* Make the guest clock read (tm) from now on. */
static void set_time_locked(struct rtc *s, int64_t host, struct tm *tm)
{
    int64_t t = (int64_t)timegm(tm);

    if (__builtin_sub_overflow(t, host, &s->offset)) {
        s->offset = 0;
    }
}

static uint8_t hours_encode_locked(const struct rtc *s, int hour)
{
    int h12;

    if (s->cmos[RTC_REG_B] & RTC_B_24H) {
        return encode_locked(s, hour);
    }
    h12 = hour % 12;
    return encode_locked(s, h12 ? h12 : 12) | (hour >= 12 ? RTC_HOURS_PM : 0);
}

static int hours_decode_locked(const struct rtc *s, uint8_t v)
{
    int h;

    if (s->cmos[RTC_REG_B] & RTC_B_24H) {
        return decode_locked(s, v);
    }
    h = decode_locked(s, v & (uint8_t)~RTC_HOURS_PM) % 12;
    return (v & RTC_HOURS_PM) ? h + 12 : h;
}

static bool is_clock_reg(uint8_t idx)
{
    switch (idx) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        return true;
    default:
        return false;
    }
}

static uint8_t clock_read_locked(const struct rtc *s, uint8_t idx, int64_t host)
{
    struct tm tm;
    long year;

    guest_time_locked(s, host, &tm);
    year = (long)tm.tm_year + 1900;
    if (year < 0) {
        year = 0;
    }
    switch (idx) {
    case RTC_SECONDS:
        return encode_locked(s, tm.tm_sec);
    case RTC_MINUTES:
        return encode_locked(s, tm.tm_min);
    case RTC_HOURS:
        return hours_encode_locked(s, tm.tm_hour);
    case RTC_DAY_OF_WEEK:
        return encode_locked(s, tm.tm_wday + 1);
    case RTC_DAY_OF_MONTH:
        return encode_locked(s, tm.tm_mday);
    case RTC_MONTH:
        return encode_locked(s, tm.tm_mon + 1);
    case RTC_YEAR:
        return encode_locked(s, (int)(year % 100));
    default:
        return encode_locked(s, (int)((year / 100) % 100));
    }
}

static void clock_write_locked(struct rtc *s, uint8_t idx, uint8_t v,
                               int64_t host)
{
    struct tm tm;
    long year;

    guest_time_locked(s, host, &tm);
    year = (long)tm.tm_year + 1900;
    switch (idx) {
    case RTC_SECONDS:
        tm.tm_sec = decode_locked(s, v);
        break;
    case RTC_MINUTES:
        tm.tm_min = decode_locked(s, v);
        break;
    case RTC_HOURS:
        tm.tm_hour = hours_decode_locked(s, v);
        break;
    case RTC_DAY_OF_MONTH:
        tm.tm_mday = decode_locked(s, v);
        break;
    case RTC_MONTH:
        tm.tm_mon = decode_locked(s, v) - 1;
        break;
    case RTC_YEAR:
        tm.tm_year = (int)(year - year % 100 + decode_locked(s, v) - 1900);
        break;
    case RTC_CENTURY:
        tm.tm_year = (int)(decode_locked(s, v) * 100 + year % 100 - 1900);
        break;
    default:
        /* The weekday follows the date. */
        return;
    }
    if (s->cmos[RTC_REG_B] & RTC_B_SET) {
        s->frozen = tm;
    } else {
        set_time_locked(s, host, &tm);
    }
}

static void reg_b_write_locked(struct rtc *s, uint8_t v, int64_t host)
{
    uint8_t old = s->cmos[RTC_REG_B];

    if (!(old & RTC_B_SET) && (v & RTC_B_SET)) {
        /* Freeze the time the guest is about to edit. */
        guest_time_locked(s, host, &s->frozen);
    }
    s->cmos[RTC_REG_B] = v;
    if ((old & RTC_B_SET) && !(v & RTC_B_SET)) {
        struct tm tm = s->frozen;

        set_time_locked(s, host, &tm);
    }
}

static uint8_t data_read_locked(struct rtc *s, int64_t host)
{
    uint8_t idx = s->index;

    if (is_clock_reg(idx)) {
        return clock_read_locked(s, idx, host);
    }
    switch (idx) {
    case RTC_REG_A:
        return s->cmos[RTC_REG_A] & (uint8_t)~RTC_A_UIP;
    case RTC_REG_C:
        return 0;
    case RTC_REG_D:
        return RTC_D_VRT;
    default:
        return s->cmos[idx];
    }
}

static void data_write_locked(struct rtc *s, uint8_t v, int64_t host)
{
    uint8_t idx = s->index;

    if (is_clock_reg(idx)) {
        clock_write_locked(s, idx, v, host);
        return;
    }
    switch (idx) {
    case RTC_REG_A:
        s->cmos[RTC_REG_A] = v & (uint8_t)~RTC_A_UIP;
        break;
    case RTC_REG_B:
        reg_b_write_locked(s, v, host);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        /* Read-only. */
        break;
    default:
        s->cmos[idx] = v;
        break;
    }
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc *s = opaque;
    int64_t host;
    uint8_t v;

    (void)size;
    if (offset != RTC_DATA) {
        /* The index register is write-only. */
        return 0xff;
    }
    host = rtc_host_now(s);
    pthread_mutex_lock(&s->lock);
    v = data_read_locked(s, host);
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void rtc_write(void *opaque, uint64_t offset, uint64_t value,
                      unsigned size)
{
    struct rtc *s = opaque;
    int64_t host;

    (void)size;
    if (offset != RTC_DATA) {
        /* Bit 7 masks NMIs on a PC; there is no NMI to mask here. */
        pthread_mutex_lock(&s->lock);
        s->index = (uint8_t)value & (RTC_CMOS_SIZE - 1);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    host = rtc_host_now(s);
    pthread_mutex_lock(&s->lock);
    data_write_locked(s, (uint8_t)value, host);
    pthread_mutex_unlock(&s->lock);
}

static const struct mr_ops rtc_ops = {
    .read = rtc_read,
    .write = rtc_write,
    .valid = {.min_access_size = 1, .max_access_size = 2},
    .impl = {.min_access_size = 1, .max_access_size = 1},
};

static void put_le(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* The memory-size bytes, laid out as a PC BIOS and QEMU do. */
static void rtc_set_memory(struct rtc *s, uint64_t below, uint64_t above)
{
    uint64_t v;

    v = below / KIB;
    put_le(&s->cmos[RTC_BASE_MEM_LO], v < 640 ? v : 640, 2);

    v = below > MIB ? (below - MIB) / KIB : 0;
    v = v < 0xffff ? v : 0xffff;
    put_le(&s->cmos[RTC_EXT_MEM_LO], v, 2);
    put_le(&s->cmos[RTC_EXT_MEM2_LO], v, 2);

    v = below > 16 * MIB ? (below - 16 * MIB) / (64 * KIB) : 0;
    put_le(&s->cmos[RTC_MEM_16M_LO], v < 0xffff ? v : 0xffff, 2);

    v = above / (64 * KIB);
    put_le(&s->cmos[RTC_MEM_4G_LO], v < 0xffffff ? v : 0xffffff, 3);
}

int rtc_init(struct rtc *s, const struct rtc_hooks *hooks, void *opaque,
             uint64_t mem_below_4g, uint64_t mem_above_4g)
{
    static const struct rtc_hooks no_hooks;
    int r;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    s->cmos[RTC_REG_A] = RTC_REG_A_INIT;
    s->cmos[RTC_REG_B] = RTC_REG_B_INIT;
    rtc_set_memory(s, mem_below_4g, mem_above_4g);

    r = pthread_mutex_init(&s->lock, NULL);
    if (r != 0) {
        return -r;
    }
    r = mr_init_io(&s->region, "rtc", RTC_IO_SIZE, &rtc_ops, s);
    if (r < 0) {
        pthread_mutex_destroy(&s->lock);
        return r;
    }
    return 0;
}

int rtc_destroy(struct rtc *s)
{
    int r = mr_destroy(&s->region);

    if (r < 0) {
        return r;
    }
    pthread_mutex_destroy(&s->lock);
    return 0;
}
