/* SPDX-License-Identifier: MIT */
/*
 * bench: guest_arg() MMIO writes to TESTDEV_REG_NOP (one VM exit each,
 * 100000 when the argument is 0), then exit 0. It prints nothing, so that a
 * VMM timing it (`vmm bench mmio`) can handle it with a bare switch on the
 * exit as well as through the memory API: the only registers touched are
 * ARG (read), NOP (write) and EXIT (write).
 */
#include "guest/guest.h"

int main(void)
{
    uint64_t n = guest_arg();

    if (n == 0) {
        n = 100000;
    }
    for (uint64_t i = 0; i < n; i++) {
        guest_reg_write(TESTDEV_REG_NOP, i);
    }
    return 0;
}
