/* SPDX-License-Identifier: MIT */
/*
 * spin: prints one line and never exits, for the VMM's --timeout and for
 * stopping a VM whose vCPUs are busy in guest mode.
 */
#include "guest/guest.h"

int main(void)
{
    guest_puts("spin: running\n");
    for (;;) {
        __asm__ volatile("pause");
    }
}
