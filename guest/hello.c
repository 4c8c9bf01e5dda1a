/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest useful guest. Prints a banner and what the test
 * device reports, then exits 0. Embedded in the vmm binary as the default
 * guest of `vmm run`.
 */
#include "guest/guest.h"

int main(void)
{
    uint64_t ram = guest_ram_size();

    if ((uint32_t)guest_reg_read(TESTDEV_REG_MAGIC) != TESTDEV_MAGIC) {
        guest_puts("hello: test device magic mismatch");
        return 1;
    }
    guest_puts("vmm hello guest");
    guest_printf("ram: %lu MiB (0x%lx bytes), vcpu %u, abi %lu\n", ram >> 20,
                 ram, guest_vcpu_id(), guest_reg_read(TESTDEV_REG_VERSION));
    return 0;
}
