/* SPDX-License-Identifier: MIT */
/*
 * hostile: a guest that misbehaves on purpose. Every vCPU storms
 * unassigned addresses in the 3-4 GiB hole, the test device's registers,
 * the ROM (writes) and region boundaries with every access size, aligned
 * and not, reading and writing; it sends bad region commands and console
 * buffers that point anywhere. vCPU 0 then waits for the others and exits
 * with status 42: the VMM must stay up, count what it dropped and end with
 * that status.
 */
#include "guest/guest.h"

#define STORM_ROUNDS 1500
#define HOLE_FIRST 0xc0000000ull
#define HOLE_SIZE (TESTDEV_ROM_BASE - HOLE_FIRST)

static volatile uint32_t started;
static volatile uint32_t finished;

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void access(uint64_t gpa, unsigned size, bool write, uint64_t v)
{
    switch (size) {
    case 1:
        if (write) {
            guest_mmio_write8(gpa, (uint8_t)v);
        } else {
            (void)guest_mmio_read8(gpa);
        }
        break;
    case 2:
        if (write) {
            guest_mmio_write16(gpa, (uint16_t)v);
        } else {
            (void)guest_mmio_read16(gpa);
        }
        break;
    case 4:
        if (write) {
            guest_mmio_write32(gpa, (uint32_t)v);
        } else {
            (void)guest_mmio_read32(gpa);
        }
        break;
    default:
        if (write) {
            guest_mmio_write64(gpa, v);
        } else {
            (void)guest_mmio_read64(gpa);
        }
        break;
    }
}

/* Test-device registers whose writes would end the VM or change the map:
 * those get their own, deliberate cases. */
static bool reg_is_special(uint64_t off)
{
    off &= ~7ull;
    return off == TESTDEV_REG_EXIT || off == TESTDEV_REG_REGION_CMD ||
           off == TESTDEV_REG_CONSOLE_PUTC || off == TESTDEV_REG_CONSOLE_BUF;
}

static void storm(uint32_t id)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * (id + 1);
    unsigned i;

    for (i = 0; i < STORM_ROUNDS; i++) {
        uint64_t r = next(&s), v = next(&s);
        unsigned size = 1u << (r & 3);
        bool write = (r >> 2) & 1;
        uint64_t gpa;

        switch ((r >> 3) % 6) {
        case 0: /* unassigned, anywhere in the hole */
            gpa = HOLE_FIRST + (r >> 8) % HOLE_SIZE;
            break;
        case 1: /* the test device, any offset, any alignment */
            gpa = (r >> 8) % TESTDEV_SIZE;
            if (write && reg_is_special(gpa)) {
                write = false;
            }
            gpa += TESTDEV_BASE;
            break;
        case 2: /* ROM: writes must reach its write op, not memory */
            gpa = TESTDEV_ROM_BASE + (r >> 8) % TESTDEV_ROM_SIZE;
            write = true;
            break;
        case 3: /* the scratch I/O region and past its end */
            gpa = TESTDEV_SCRATCH_BASE + (r >> 8) % 16;
            break;
        case 4: /* region edges: straddle the end of ROM and testdev */
            gpa = ((r >> 8) & 1 ? TESTDEV_ROM_BASE + TESTDEV_ROM_SIZE
                                : TESTDEV_BASE + TESTDEV_SIZE) -
                  1 - ((r >> 9) & 7);
            break;
        default: /* all vCPUs at once on the same registers */
            gpa = TESTDEV_BASE +
                  ((r >> 8) & 1 ? TESTDEV_REG_VCPU_ID : TESTDEV_REG_TIMESTAMP);
            write = false;
            break;
        }
        access(gpa, size, write, v);
    }
    /* Deliberately bad requests: unknown regions and operations, moves to
     * absurd or unaligned places, console buffers of hostile sizes and
     * addresses. */
    guest_reg_write(TESTDEV_REG_REGION_CMD,
                    TESTDEV_REGION_CMD(TESTDEV_OP_MOVE, 200, 0x1000));
    guest_reg_write(TESTDEV_REG_REGION_CMD, TESTDEV_REGION_CMD(9, 1, 0));
    guest_reg_write(TESTDEV_REG_REGION_CMD,
                    TESTDEV_REGION_CMD(TESTDEV_OP_MOVE, TESTDEV_REGION_TOGGLE,
                                       0xfffffffffffff000ull));
    guest_reg_write(TESTDEV_REG_REGION_CMD, ~0ull);
    guest_reg_write(TESTDEV_REG_CONSOLE_BUF, ~0ull);
    guest_reg_write(TESTDEV_REG_CONSOLE_BUF,
                    TESTDEV_CONSOLE_BUF(HOLE_FIRST, 4096));
    guest_reg_write(TESTDEV_REG_CONSOLE_BUF,
                    TESTDEV_CONSOLE_BUF(0xfffffffff000ull, 16));
}

void guest_secondary(uint32_t vcpu_id)
{
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    storm(vcpu_id);
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
}

int main(void)
{
    uint64_t t0;

    guest_puts("hostile: storming\n");
    storm(0);
    /* Give late vCPUs a moment to show up, then wait for them all. */
    t0 = guest_time_ns();
    while (guest_time_ns() - t0 < 50000000ull) {
        guest_cpu_relax();
    }
    while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) !=
           __atomic_load_n(&started, __ATOMIC_SEQ_CST)) {
        guest_cpu_relax();
    }
    guest_puts("hostile: done, exiting with 42\n");
    return 42;
}
