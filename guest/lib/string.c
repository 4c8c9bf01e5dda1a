/* SPDX-License-Identifier: MIT */
/*
 * The memory and string functions that a freestanding build may still
 * call on its own (struct copies, zeroing), written plainly. The loops are
 * kept from being turned back into calls to these same functions.
 */
#include "guest/guest.h"

#if defined(__clang__)
/* clang leaves loops alone when -ffreestanding marks the library absent. */
#define GUEST_NO_LIBCALL
#else
#define GUEST_NO_LIBCALL                                                       \
    __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

GUEST_NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    while (n-- > 0) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

GUEST_NO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    while (n-- > 0) {
        *d++ = *s++;
    }
    return dst;
}

GUEST_NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d < s) {
        while (n-- > 0) {
            *d++ = *s++;
        }
    } else {
        while (n-- > 0) {
            d[n] = s[n];
        }
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}
