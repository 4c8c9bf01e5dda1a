/* SPDX-License-Identifier: MIT */
/*
 * regions: checks the test regions of testdev_abi.h through real guest
 * accesses: the ROM reads its pattern, ignores writes and its write op sees
 * them; the alias shows (and writes through to) the second page of the
 * test RAM; the scratch I/O region round-trips 1, 2, 4 and 8-byte accesses;
 * the toggle region disappears (all-ones), reappears with its contents and
 * moves when the test device commits map changes. Exits 0 when every check
 * passes, 1 otherwise.
 */
#include "guest/guest.h"

#define EINVAL_ 22
#define TOGGLE_CYCLES 100

static unsigned failures;
static unsigned checks;

static void expect(const char *what, uint64_t got, uint64_t want)
{
    checks++;
    if (got != want) {
        failures++;
        guest_printf("regions: FAIL %s: got 0x%lx, want 0x%lx\n", what, got,
                     want);
    }
}

/* The little-endian (size)-byte value of pattern (seed) at (off). */
static uint64_t pattern(uint32_t seed, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)testdev_pattern_byte(seed, off + i) << (i * 8);
    }
    return v;
}

/* Compare every word of [base, base + size) with pattern (seed) at (off). */
static void expect_pattern(const char *what, uint64_t base, uint64_t size,
                           uint32_t seed, uint64_t off)
{
    uint64_t bad = 0, first = 0, got = 0;

    for (uint64_t i = 0; i < size; i += 8) {
        uint64_t v = guest_mmio_read64(base + i);

        if (v != pattern(seed, off + i, 8)) {
            if (bad++ == 0) {
                first = i;
                got = v;
            }
        }
    }
    checks++;
    if (bad != 0) {
        failures++;
        guest_printf("regions: FAIL %s: %lu bad words, first at +0x%lx: got "
                     "0x%lx, want 0x%lx\n",
                     what, bad, first, got, pattern(seed, off + first, 8));
    }
}

static uint64_t rom_writes(void)
{
    return guest_reg_read(TESTDEV_REG_ROM_WRITES);
}

static void rom_write_check(const char *what, uint64_t off, uint64_t value,
                            unsigned size)
{
    uint64_t before = rom_writes();
    uint64_t gpa = TESTDEV_ROM_BASE + off;

    switch (size) {
    case 1:
        guest_mmio_write8(gpa, (uint8_t)value);
        break;
    case 2:
        guest_mmio_write16(gpa, (uint16_t)value);
        break;
    case 4:
        guest_mmio_write32(gpa, (uint32_t)value);
        break;
    default:
        guest_mmio_write64(gpa, value);
        break;
    }
    guest_printf("regions: rom %s write at +0x%lx\n", what, off);
    expect("rom write count", rom_writes(), before + 1);
    expect("rom write offset", guest_reg_read(TESTDEV_REG_ROM_LAST_OFFSET),
           off);
    expect("rom write value", guest_reg_read(TESTDEV_REG_ROM_LAST_VALUE),
           value);
    expect("rom write size", guest_reg_read(TESTDEV_REG_ROM_LAST_SIZE), size);
    expect("rom unchanged after write", guest_mmio_read64(gpa & ~7ull),
           pattern(TESTDEV_SEED_ROM, off & ~7ull, 8));
}

static void test_rom(void)
{
    expect_pattern("rom contents", TESTDEV_ROM_BASE, TESTDEV_ROM_SIZE,
                   TESTDEV_SEED_ROM, 0);
    expect("rom 1-byte read", guest_mmio_read8(TESTDEV_ROM_BASE + 0x123),
           pattern(TESTDEV_SEED_ROM, 0x123, 1));
    expect("rom 2-byte read", guest_mmio_read16(TESTDEV_ROM_BASE + 0x246),
           pattern(TESTDEV_SEED_ROM, 0x246, 2));
    expect("rom 4-byte read", guest_mmio_read32(TESTDEV_ROM_BASE + 0x468),
           pattern(TESTDEV_SEED_ROM, 0x468, 4));
    rom_write_check("1-byte", 0xfff, 0x5a, 1);
    rom_write_check("2-byte", 0x2, 0xbeef, 2);
    rom_write_check("4-byte", 0x10, 0xdeadbeef, 4);
    rom_write_check("8-byte", 0x800, 0x0123456789abcdefull, 8);
    expect_pattern("rom contents after writes", TESTDEV_ROM_BASE,
                   TESTDEV_ROM_SIZE, TESTDEV_SEED_ROM, 0);
}

static void test_alias(void)
{
    uint64_t ram1 = TESTDEV_RAM_BASE + TESTDEV_ALIAS_OFFSET;
    uint64_t a0 = guest_mmio_read64(TESTDEV_ALIAS_BASE);
    uint64_t a8 = guest_mmio_read64(TESTDEV_ALIAS_BASE + 8);

    expect_pattern("test ram contents", TESTDEV_RAM_BASE, TESTDEV_RAM_SIZE,
                   TESTDEV_SEED_RAM, 0);
    expect_pattern("alias contents", TESTDEV_ALIAS_BASE, TESTDEV_ALIAS_SIZE,
                   TESTDEV_SEED_RAM, TESTDEV_ALIAS_OFFSET);
    guest_mmio_write64(TESTDEV_ALIAS_BASE, 0x1111222233334444ull);
    expect("ram sees write through alias", guest_mmio_read64(ram1),
           0x1111222233334444ull);
    guest_mmio_write64(ram1 + 8, 0x5555666677778888ull);
    expect("alias sees write to ram", guest_mmio_read64(TESTDEV_ALIAS_BASE + 8),
           0x5555666677778888ull);
    guest_mmio_write64(TESTDEV_ALIAS_BASE, a0);
    guest_mmio_write64(TESTDEV_ALIAS_BASE + 8, a8);
    expect_pattern("test ram after alias writes", TESTDEV_RAM_BASE,
                   TESTDEV_RAM_SIZE, TESTDEV_SEED_RAM, 0);
}

static void test_scratch(void)
{
    uint64_t s = TESTDEV_SCRATCH_BASE;
    uint64_t v = 0x1122334455667788ull;

    guest_mmio_write64(s, v);
    expect("scratch 8-byte round trip", guest_mmio_read64(s), v);
    for (unsigned i = 0; i < 8; i++) {
        expect("scratch 1-byte read", guest_mmio_read8(s + i),
               (v >> (i * 8)) & 0xff);
    }
    for (unsigned i = 0; i < 8; i += 2) {
        expect("scratch 2-byte read", guest_mmio_read16(s + i),
               (v >> (i * 8)) & 0xffff);
    }
    for (unsigned i = 0; i < 8; i += 4) {
        expect("scratch 4-byte read", guest_mmio_read32(s + i),
               (v >> (i * 8)) & 0xffffffff);
    }
    guest_mmio_write8(s + 3, 0xaa);
    expect("scratch after 1-byte write", guest_mmio_read64(s),
           0x11223344aa667788ull);
    guest_mmio_write16(s + 6, 0xbbcc);
    expect("scratch after 2-byte write", guest_mmio_read64(s),
           0xbbcc3344aa667788ull);
    guest_mmio_write32(s, 0xdeadbeef);
    expect("scratch after 4-byte write", guest_mmio_read64(s),
           0xbbcc3344deadbeefull);
    guest_mmio_write32(s + 4, 0x01020304);
    expect("scratch after 4-byte write high", guest_mmio_read64(s),
           0x01020304deadbeefull);
    guest_mmio_write64(s, 0);
    expect("scratch cleared", guest_mmio_read64(s), 0);
}

static void test_toggle(void)
{
    uint64_t t = TESTDEV_TOGGLE_BASE;
    uint64_t alt = TESTDEV_TOGGLE_ALT_BASE;
    uint64_t mark = 0xfeedfacecafef00dull;
    uint64_t t0, t1;

    expect("toggle enable (already enabled)",
           (uint64_t)guest_region_enable(TESTDEV_REGION_TOGGLE), 0);
    expect_pattern("toggle contents", t, TESTDEV_TOGGLE_SIZE,
                   TESTDEV_SEED_TOGGLE, 0);
    guest_mmio_write64(t + 0x100, mark);
    expect("toggle write", guest_mmio_read64(t + 0x100), mark);

    expect("toggle disable",
           (uint64_t)guest_region_disable(TESTDEV_REGION_TOGGLE), 0);
    expect("disabled toggle reads all-ones", guest_mmio_read64(t), ~0ull);
    expect("disabled toggle reads all-ones at +0x100",
           guest_mmio_read64(t + 0x100), ~0ull);
    expect("disabled toggle 1-byte read", guest_mmio_read8(t + 1), 0xff);
    guest_mmio_write64(t + 0x200, 0);

    expect("toggle enable",
           (uint64_t)guest_region_enable(TESTDEV_REGION_TOGGLE), 0);
    expect("toggle keeps contents", guest_mmio_read64(t + 0x100), mark);
    expect("write while disabled was dropped", guest_mmio_read64(t + 0x200),
           pattern(TESTDEV_SEED_TOGGLE, 0x200, 8));

    expect("toggle move",
           (uint64_t)guest_region_move(TESTDEV_REGION_TOGGLE, alt), 0);
    expect("moved toggle at new address", guest_mmio_read64(alt + 0x100), mark);
    expect("moved toggle gone from old address", guest_mmio_read64(t), ~0ull);
    expect("toggle move back",
           (uint64_t)guest_region_move(TESTDEV_REGION_TOGGLE, t), 0);
    expect("toggle back at old address", guest_mmio_read64(t + 0x100), mark);
    expect("toggle gone from new address", guest_mmio_read64(alt), ~0ull);

    t0 = guest_time_ns();
    for (unsigned i = 0; i < TOGGLE_CYCLES; i++) {
        if (guest_region_disable(TESTDEV_REGION_TOGGLE) != 0 ||
            guest_mmio_read64(t + 0x100) != ~0ull ||
            guest_region_enable(TESTDEV_REGION_TOGGLE) != 0 ||
            guest_mmio_read64(t + 0x100) != mark) {
            expect("toggle cycle", i, TOGGLE_CYCLES);
            break;
        }
    }
    t1 = guest_time_ns();
    guest_printf("regions: %u disable/enable cycles, %lu us per cycle\n",
                 TOGGLE_CYCLES, (t1 - t0) / 1000 / TOGGLE_CYCLES);
    guest_mmio_write64(t + 0x100, pattern(TESTDEV_SEED_TOGGLE, 0x100, 8));
    expect_pattern("toggle contents at the end", t, TESTDEV_TOGGLE_SIZE,
                   TESTDEV_SEED_TOGGLE, 0);
}

static int64_t raw_cmd(uint64_t cmd)
{
    guest_reg_write(TESTDEV_REG_REGION_CMD, cmd);
    return (int64_t)guest_reg_read(TESTDEV_REG_REGION_STATUS);
}

static void test_bad_commands(void)
{
    expect("unknown region 0",
           (uint64_t)raw_cmd(TESTDEV_REGION_CMD(TESTDEV_OP_ENABLE, 0, 0)),
           (uint64_t)-EINVAL_);
    expect("unknown region 99",
           (uint64_t)raw_cmd(TESTDEV_REGION_CMD(TESTDEV_OP_DISABLE, 99, 0)),
           (uint64_t)-EINVAL_);
    expect("unknown op 0",
           (uint64_t)raw_cmd(TESTDEV_REGION_CMD(0, TESTDEV_REGION_TOGGLE, 0)),
           (uint64_t)-EINVAL_);
    expect("unknown op 9",
           (uint64_t)raw_cmd(TESTDEV_REGION_CMD(9, TESTDEV_REGION_TOGGLE, 0)),
           (uint64_t)-EINVAL_);
    expect("move beyond 2^52",
           (uint64_t)raw_cmd(TESTDEV_REGION_CMD(
               TESTDEV_OP_MOVE, TESTDEV_REGION_TOGGLE, 1ull << 52)),
           (uint64_t)-EINVAL_);
    guest_mmio_write32(TESTDEV_BASE + TESTDEV_REG_REGION_CMD,
                       (uint32_t)TESTDEV_REGION_CMD(TESTDEV_OP_DISABLE,
                                                    TESTDEV_REGION_TOGGLE, 0));
    expect("4-byte command refused", guest_reg_read(TESTDEV_REG_REGION_STATUS),
           (uint64_t)-EINVAL_);
    expect("toggle still there after bad commands",
           guest_mmio_read64(TESTDEV_TOGGLE_BASE),
           pattern(TESTDEV_SEED_TOGGLE, 0, 8));
}

int main(void)
{
    uint64_t t0 = guest_time_ns();

    guest_puts("regions: rom");
    test_rom();
    guest_puts("regions: alias");
    test_alias();
    guest_puts("regions: scratch");
    test_scratch();
    guest_puts("regions: toggle");
    test_toggle();
    guest_puts("regions: bad commands");
    test_bad_commands();
    if (failures != 0) {
        guest_printf("regions: FAILED %u of %u checks\n", failures, checks);
        return 1;
    }
    guest_printf("regions: OK, %u checks in %lu ms\n", checks,
                 (guest_time_ns() - t0) / 1000000);
    return 0;
}
