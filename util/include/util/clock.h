/* SPDX-License-Identifier: MIT */
/*
 * The one monotonic clock every room reads: CLOCK_MONOTONIC, in the units
 * the caller wants.
 */
#ifndef UTIL_CLOCK_H
#define UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in nanoseconds. */
static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC now, in milliseconds. */
static inline double clock_now_ms(void)
{
    return (double)clock_now_ns() / 1e6;
}

/* CLOCK_MONOTONIC now, in seconds. */
static inline double clock_now_s(void)
{
    return (double)clock_now_ns() / 1e9;
}

#endif /* UTIL_CLOCK_H */
