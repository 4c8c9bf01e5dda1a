/* SPDX-License-Identifier: MIT */
/*
 * The PC CMOS real-time clock (MC146818 / DS12887 register set) with its
 * 128 bytes of CMOS RAM: the current time from the host clock (UTC), in
 * BCD or binary and 24- or 12-hour form as register B says, and the
 * memory-size bytes a PC BIOS (and QEMU) leaves in CMOS for the guest.
 *
 * One region of RTC_IO_SIZE (2) bytes, placed by the machine at port 0x70:
 * offset 0 is the index register (write-only: bit 7, the NMI mask, is
 * ignored; reads return 0xff as in QEMU), offset 1 the data register of
 * the selected byte. Accesses of 1 or 2 bytes are accepted; a 16-bit write
 * at offset 0 sets the index, then writes the data, as on the ISA bus.
 *
 * Registers:
 * - 0, 2, 4, 6-9 and 0x32 (seconds, minutes, hours, weekday, day, month,
 *   year, century) read the clock. Writes set it: the device keeps an
 *   offset from the host clock. With register B's SET bit on, the clock
 *   is frozen for reading and writing, and runs on from the written time
 *   when SET is cleared. The weekday is derived from the date; writing it
 *   changes nothing.
 * - 1, 3, 5 (alarms) are stored; no alarm or periodic interrupt is raised.
 * - A: rate and divider bits stored; UIP (bit 7) reads 0. B: stored. C:
 *   reads 0 (no interrupt flags). D: reads 0x80 (valid RAM and time).
 * - 0x15/0x16: base memory in KiB (640, or less with less RAM below 4G);
 *   0x17/0x18 and 0x30/0x31: KiB above 1 MiB, capped at 0xffff; 0x34/0x35:
 *   64 KiB units above 16 MiB, capped at 0xffff; 0x5b-0x5d: 64 KiB units
 *   above 4 GiB (24 bits, capped). Little-endian, set at init, writable.
 * - Every other byte is plain CMOS RAM, 0 at init.
 *
 * Threads: the ops may run on any vCPU thread at once; state is guarded by
 * rtc.lock. The now hook is called before the lock is taken.
 */
#ifndef DEVICES_RTC_H
#define DEVICES_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "mem/region.h"

/* Size of the region: index at 0, data at 1. */
#define RTC_IO_SIZE 2
#define RTC_INDEX 0
#define RTC_DATA 1
/* Bytes of CMOS (clock registers included). */
#define RTC_CMOS_SIZE 128

/* CMOS byte numbers. */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06 /* 1 = Sunday */
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_BASE_MEM_LO 0x15
#define RTC_BASE_MEM_HI 0x16
#define RTC_EXT_MEM_LO 0x17
#define RTC_EXT_MEM_HI 0x18
#define RTC_EXT_MEM2_LO 0x30
#define RTC_EXT_MEM2_HI 0x31
#define RTC_CENTURY 0x32
#define RTC_MEM_16M_LO 0x34
#define RTC_MEM_16M_HI 0x35
#define RTC_MEM_4G_LO 0x5b
#define RTC_MEM_4G_MID 0x5c
#define RTC_MEM_4G_HI 0x5d

/* Register bits. */
#define RTC_A_UIP 0x80
#define RTC_B_SET 0x80
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_D_VRT 0x80
/* Hours register in 12-hour mode: PM flag. */
#define RTC_HOURS_PM 0x80

/* Register A and B after a BIOS: 32.768 kHz divider, 1024 Hz rate; 24-hour
 * BCD. */
#define RTC_REG_A_INIT 0x26
#define RTC_REG_B_INIT RTC_B_24H

/*
 * What the machine may provide (tests use it to fix the time). The hook
 * runs on the vCPU thread that accesses the data register, outside the
 * device lock. NULL: the host's CLOCK_REALTIME.
 */
struct rtc_hooks {
    /* The current time in seconds since the Unix epoch (UTC). */
    int64_t (*now)(void *opaque);
};

/*
 * The device. (region) is public so that the machine can place it; every
 * other field is private to devices/rtc.c.
 */
struct rtc {
    struct mem_region region;

    /* Private. */
    const struct rtc_hooks *hooks;
    void *hook_opaque;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    uint8_t index;
    uint8_t cmos[RTC_CMOS_SIZE];
    /* Guest time minus host time, in seconds. */
    int64_t offset;
    /* While register B's SET bit is on: the frozen time the guest edits. */
    struct tm frozen;
};

/*
 * Initialise (s) with the clock at host time, registers A and B as a BIOS
 * leaves them, and the memory-size bytes for (mem_below_4g) and
 * (mem_above_4g) bytes of guest RAM; its region is not yet placed
 * anywhere. (hooks) (may be NULL) and (opaque) must outlive the device.
 * Returns 0, or -errno with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
rtc_init(struct rtc *s, const struct rtc_hooks *hooks, void *opaque,
         uint64_t mem_below_4g, uint64_t mem_above_4g);

/*
 * Release (s). The machine must have removed the region from its container
 * and let readers finish (mem_sys_synchronize()) first; otherwise returns
 * -EBUSY and changes nothing.
 */
__attribute__((warn_unused_result)) int rtc_destroy(struct rtc *s);

#endif /* DEVICES_RTC_H */
