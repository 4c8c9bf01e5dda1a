/* SPDX-License-Identifier: MIT */
/*
 * slots: live map changes for the slot-table test. Disables the toggle
 * region, moves it to its alternate address, enables it there and checks
 * that it answers there with its contents, then exits 0. The VMM's
 * --dump-slots shows the table before and after: every slot but the
 * toggle region's keeps its number.
 */
#include "guest/guest.h"

int main(void)
{
    uint64_t alt = TESTDEV_TOGGLE_ALT_BASE;

    if (guest_region_disable(TESTDEV_REGION_TOGGLE) != 0 ||
        guest_region_move(TESTDEV_REGION_TOGGLE, alt) != 0 ||
        guest_region_enable(TESTDEV_REGION_TOGGLE) != 0) {
        guest_puts("slots: region command failed\n");
        return 1;
    }
    if (guest_mmio_read8(alt) != testdev_pattern_byte(TESTDEV_SEED_TOGGLE, 0)) {
        guest_puts("slots: toggle region not at its new address\n");
        return 2;
    }
    if (guest_mmio_read64(TESTDEV_TOGGLE_BASE) != ~0ull) {
        guest_puts("slots: toggle region still at its old address\n");
        return 3;
    }
    guest_puts("slots: OK\n");
    return 0;
}
