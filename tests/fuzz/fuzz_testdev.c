/* SPDX-License-Identifier: MIT */
/*
 * The MMIO test device (devices/testdev.h, testdev_abi.h) with its
 * register block and test regions at their ABI addresses in a 2^64-byte
 * "memory" space, placed as the machine places them (the register block
 * above the rest, priority 1), driven by guest accesses from the input.
 * A model of the ABI predicts every read (registers, ROM and RAM
 * patterns, the alias onto the test RAM, scratch, toggle) and every hook
 * call: console putc and buffers (read_guest is asked for 1 to 4096
 * bytes, never more, and the console gets what guest memory holds), exit
 * statuses, ROM writes recorded in ROM_LAST_*, NOP counts, the mailbox.
 * Region commands enable, disable and move the test regions; the model
 * follows them, so later accesses are checked against the new map
 * (including regions moved over each other).
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte below
 * 0xd0 (bits 0-1 the size 1 << n, bit 2 a write, bits 3-5 the region to
 * aim at: 0 registers, 1-5 the test regions by ABI id, 6-7 registers) with
 * a 2-byte offset (bit 15 set: anywhere in the first page; else the low
 * byte, from 8 bytes before the region) and, for a write, the value; or
 * op 0xd0-0xdf: a console buffer (2-byte GPA, 2-byte length); 0xe0-0xef:
 * a region command (op, region id, address choice); 0xf0-0xff: set ARG
 * (8 bytes) and check the mailbox.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/testdev.h"
#include "devices/testdev_abi.h"
#include "fuzz.h"
#include "fuzz_dev.h"

/* Region indexes in the fuzz_dev; the test regions' equal their ids. */
#define R_REGS 0
#define R_ROM TESTDEV_REGION_ROM
#define R_RAM TESTDEV_REGION_RAM
#define R_ALIAS TESTDEV_REGION_ALIAS
#define R_SCRATCH TESTDEV_REGION_SCRATCH
#define R_TOGGLE TESTDEV_REGION_TOGGLE

/* Regions may move up to MAXPHYADDR (testdev.c). */
#define MOVE_LIMIT (1ull << 52)
/* Guest memory that read_guest serves: GPA 0 is gmem[0]. */
#define GMEM_SIZE 0x10000u
#define RAM_SIZE_VALUE 0x123456789000ull
#define VCPU_ID_VALUE 3u
#define MAX_EXITS 4

struct model {
    bool hooked;
    struct fuzz_dev *d;
    uint64_t arg;
    int64_t status;
    uint64_t nops;
    uint64_t mailbox;
    uint64_t rom_writes, rom_offset, rom_value, rom_size;
    uint8_t ram[TESTDEV_RAM_SIZE];
    uint8_t toggle[TESTDEV_TOGGLE_SIZE];
    uint8_t scratch[TESTDEV_SCRATCH_SIZE];
    /* What the hooks did during the current operation. */
    char console[2 * TESTDEV_CONSOLE_BUF_MAX];
    size_t nr_console, console_matched;
    int exits[MAX_EXITS];
    unsigned nr_exits, exits_matched;
};

static uint8_t gmem[GMEM_SIZE];

static void hook_console(void *opaque, const char *buf, size_t len)
{
    struct model *m = opaque;

    FUZZ_CHECK(len >= 1 && len <= sizeof(m->console) - m->nr_console);
    memcpy(m->console + m->nr_console, buf, len);
    m->nr_console += len;
}

static void hook_exit(void *opaque, int status)
{
    struct model *m = opaque;

    FUZZ_CHECK(m->nr_exits < MAX_EXITS);
    m->exits[m->nr_exits++] = status;
}

static uint64_t hook_ram_size(void *opaque)
{
    (void)opaque;
    return RAM_SIZE_VALUE;
}

static uint32_t hook_vcpu_id(void *opaque)
{
    (void)opaque;
    return VCPU_ID_VALUE;
}

static int hook_read_guest(void *opaque, gpa_t gpa, void *buf, size_t len)
{
    (void)opaque;
    /* The device bounds guest lengths to its buffer. */
    FUZZ_CHECK(len >= 1 && len <= TESTDEV_CONSOLE_BUF_MAX);
    if (gpa > GMEM_SIZE || len > GMEM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(buf, gmem + gpa, len);
    return 0;
}

static const struct testdev_hooks hooks = {
    .console_write = hook_console,
    .exit = hook_exit,
    .ram_size = hook_ram_size,
    .vcpu_id = hook_vcpu_id,
    .read_guest = hook_read_guest,
};

static void expect_console(struct model *m, const void *buf, size_t len)
{
    if (!m->hooked) {
        return;
    }
    FUZZ_CHECK(len <= m->nr_console - m->console_matched);
    FUZZ_CHECK(memcmp(m->console + m->console_matched, buf, len) == 0);
    m->console_matched += len;
}

/* TESTDEV_REG_REGION_CMD: the status, and the model's map follows. */
static int64_t region_cmd(struct model *m, uint64_t cmd)
{
    unsigned op = (unsigned)(cmd & 0xf);
    unsigned id = (unsigned)((cmd >> 4) & 0xff);
    gpa_t addr = cmd & ~0xfffull;
    struct fuzz_dev_region *r;

    if (id < TESTDEV_REGION_ROM || id > TESTDEV_REGION_TOGGLE) {
        return -EINVAL;
    }
    r = &m->d->reg[id];
    switch (op) {
    case TESTDEV_OP_ENABLE:
    case TESTDEV_OP_DISABLE:
        r->enabled = op == TESTDEV_OP_ENABLE;
        return 0;
    case TESTDEV_OP_MOVE:
        if (r->size > MOVE_LIMIT || addr > MOVE_LIMIT - r->size) {
            return -EINVAL;
        }
        fuzz_dev_move(m->d, id, addr);
        return 0;
    default:
        return -EINVAL;
    }
}

static uint64_t reg_value(const struct model *m, uint64_t reg, uint64_t *known)
{
    *known = UINT64_MAX;
    switch (reg) {
    case TESTDEV_REG_MAGIC:
        return TESTDEV_MAGIC;
    case TESTDEV_REG_VERSION:
        return TESTDEV_ABI_VERSION;
    case TESTDEV_REG_RAM_SIZE:
        return m->hooked ? RAM_SIZE_VALUE : 0;
    case TESTDEV_REG_VCPU_ID:
        return m->hooked ? VCPU_ID_VALUE : 0;
    case TESTDEV_REG_TIMESTAMP:
        *known = 0;
        return 0;
    case TESTDEV_REG_REGION_STATUS:
        return (uint64_t)m->status;
    case TESTDEV_REG_ROM_WRITES:
        return m->rom_writes;
    case TESTDEV_REG_ROM_LAST_OFFSET:
        return m->rom_offset;
    case TESTDEV_REG_ROM_LAST_VALUE:
        return m->rom_value;
    case TESTDEV_REG_ROM_LAST_SIZE:
        return m->rom_size;
    case TESTDEV_REG_NOP:
        return m->nops;
    case TESTDEV_REG_ARG:
        return m->arg;
    case TESTDEV_REG_MAILBOX:
        return m->mailbox;
    default:
        return 0;
    }
}

static void reg_write(struct model *m, uint64_t offset, unsigned size,
                      uint64_t value)
{
    uint64_t len = value >> 48;
    gpa_t gpa = value & TESTDEV_CONSOLE_BUF_GPA_MASK;
    char c = (char)value;

    if (offset & 7) {
        /* A write acts only when it starts at its register. */
        return;
    }
    switch (offset) {
    case TESTDEV_REG_CONSOLE_PUTC:
        expect_console(m, &c, 1);
        break;
    case TESTDEV_REG_CONSOLE_BUF:
        if (size == 8 && len >= 1 && len <= TESTDEV_CONSOLE_BUF_MAX &&
            gpa <= GMEM_SIZE && len <= GMEM_SIZE - gpa) {
            expect_console(m, gmem + gpa, len);
        }
        break;
    case TESTDEV_REG_EXIT:
        if (m->hooked) {
            FUZZ_CHECK(m->exits_matched < m->nr_exits);
            FUZZ_CHECK(m->exits[m->exits_matched] == (int)(uint32_t)value);
            m->exits_matched++;
        }
        break;
    case TESTDEV_REG_REGION_CMD:
        m->status = size == 8 ? region_cmd(m, value) : -EINVAL;
        break;
    case TESTDEV_REG_NOP:
        m->nops++;
        break;
    case TESTDEV_REG_MAILBOX:
        if (size == 8 && (value & 0xfff) == 0) {
            m->mailbox = value;
        }
        break;
    default:
        break;
    }
}

/* Bytes of a memory-like region: read them or write them. */
static uint64_t bytes(uint8_t *mem, uint64_t offset, unsigned size, bool write,
                      uint64_t value)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        if (write) {
            mem[offset + i] = (uint8_t)(value >> (8 * i));
        }
        v |= (uint64_t)mem[offset + i] << (8 * i);
    }
    return v;
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint64_t v = 0;

    *known = UINT64_MAX;
    switch (idx) {
    case R_REGS:
        if (write) {
            reg_write(m, offset, size, value);
            return 0;
        }
        v = reg_value(m, offset & ~7ull, known) >> ((offset & 7) * 8);
        *known >>= (offset & 7) * 8;
        return v;
    case R_ROM:
        if (write) {
            /* Recorded, never stored. */
            m->rom_writes++;
            m->rom_offset = offset;
            m->rom_value = value;
            m->rom_size = size;
            return 0;
        }
        for (unsigned i = 0; i < size; i++) {
            v |= (uint64_t)testdev_pattern_byte(TESTDEV_SEED_ROM, offset + i)
                 << (8 * i);
        }
        return v;
    case R_RAM:
        return bytes(m->ram, offset, size, write, value);
    case R_ALIAS:
        return bytes(m->ram, TESTDEV_ALIAS_OFFSET + offset, size, write, value);
    case R_SCRATCH:
        return bytes(m->scratch, offset, size, write, value);
    default:
        return bytes(m->toggle, offset, size, write, value);
    }
}

/* Where a region command may send a region: places worth trying. */
static gpa_t pick_place(struct fuzz_in *in)
{
    static const gpa_t places[] = {
        TESTDEV_ROM_BASE,
        TESTDEV_RAM_BASE,
        TESTDEV_ALIAS_BASE,
        TESTDEV_SCRATCH_BASE,
        TESTDEV_TOGGLE_BASE,
        TESTDEV_TOGGLE_ALT_BASE,
        TESTDEV_BASE,
        0,
        MOVE_LIMIT - 0x2000,
        MOVE_LIMIT - 0x1000,
        MOVE_LIMIT,
        ~0xfffull,
        TESTDEV_RAM_BASE + 0x1000,
    };
    unsigned c = (unsigned)fuzz_take(in, 1);

    if (c < sizeof(places) / sizeof(places[0])) {
        return places[c];
    }
    return TESTDEV_ROM_BASE + ((fuzz_take(in, 1) & 0x7f) << 12);
}

static void step(struct fuzz_dev *d, struct model *m, struct testdev *dev,
                 struct fuzz_in *in, unsigned op)
{
    gpa_t regs = TESTDEV_BASE;

    if (op >= 0xf0) {
        m->arg = fuzz_take(in, 8);
        testdev_set_arg(dev, m->arg);
        FUZZ_CHECK(testdev_mailbox(dev) == m->mailbox);
    } else if (op >= 0xe0) {
        unsigned cop = (unsigned)fuzz_take(in, 1) & 7;
        unsigned id = (unsigned)fuzz_take(in, 1) & 7;

        fuzz_dev_access(d, regs + TESTDEV_REG_REGION_CMD, 8, true,
                        TESTDEV_REGION_CMD(cop, id, pick_place(in)));
    } else if (op >= 0xd0) {
        uint64_t gpa = fuzz_take(in, 2) + (op & 1 ? GMEM_SIZE - 0x800 : 0);
        uint64_t len = fuzz_take(in, 2) % (TESTDEV_CONSOLE_BUF_MAX + 0x100);

        fuzz_dev_access(d, regs + TESTDEV_REG_CONSOLE_BUF, 8, true,
                        TESTDEV_CONSOLE_BUF(gpa, len));
    } else {
        unsigned idx = (op >> 3) & 7;
        uint64_t off = fuzz_take(in, 2);
        unsigned size = 1u << (op & 3);
        bool write = (op & 4) != 0;
        gpa_t base = d->reg[idx < d->nr ? idx : R_REGS].addr;

        off = (off & 0x8000) ? (off & 0xfff) : (off & 0xff) - 8;
        fuzz_dev_access(d, base + off, size, write,
                        write ? fuzz_take(in, size) : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    struct fuzz_in in = {data, size};
    struct testdev dev;
    struct fuzz_dev d;
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    if (gmem[1] == 0) {
        for (size_t i = 0; i < GMEM_SIZE; i++) {
            gmem[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
        }
    }
    memset(&m, 0, sizeof(m));
    m.hooked = !(flags & 1);
    m.d = &d;
    for (size_t i = 0; i < TESTDEV_RAM_SIZE; i++) {
        m.ram[i] = testdev_pattern_byte(TESTDEV_SEED_RAM, i);
    }
    for (size_t i = 0; i < TESTDEV_TOGGLE_SIZE; i++) {
        m.toggle[i] = testdev_pattern_byte(TESTDEV_SEED_TOGGLE, i);
    }
    FUZZ_CHECK(testdev_init(&dev, m.hooked ? &hooks : NULL, &m) == 0);
    fuzz_dev_init(&d, "memory", MR_SIZE_2_64, model_piece, &m);
    /* In the order of the ABI ids, so that index == id. */
    fuzz_dev_add(&d, &dev.regs, FUZZ_DEV_IO, TESTDEV_BASE, 1, 1, 8, false);
    fuzz_dev_add(&d, &dev.rom, FUZZ_DEV_ROM, TESTDEV_ROM_BASE, 0, 1, 8, false);
    fuzz_dev_add(&d, &dev.ram, FUZZ_DEV_RAM, TESTDEV_RAM_BASE, 0, 0, 0, false);
    fuzz_dev_add(&d, &dev.alias, FUZZ_DEV_RAM, TESTDEV_ALIAS_BASE, 0, 0, 0,
                 false);
    d.reg[R_ALIAS].alias_of = R_RAM;
    fuzz_dev_add(&d, &dev.scratch, FUZZ_DEV_IO, TESTDEV_SCRATCH_BASE, 0, 1, 8,
                 false);
    fuzz_dev_add(&d, &dev.toggle, FUZZ_DEV_RAM, TESTDEV_TOGGLE_BASE, 0, 0, 0,
                 false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);

        m.nr_console = m.console_matched = 0;
        m.nr_exits = m.exits_matched = 0;
        step(&d, &m, &dev, &in, op);
        FUZZ_CHECK(m.console_matched == m.nr_console);
        FUZZ_CHECK(m.exits_matched == m.nr_exits);
    }
    FUZZ_CHECK(testdev_mailbox(&dev) == m.mailbox);
    fuzz_dev_remove(&d);
    FUZZ_CHECK(testdev_destroy(&dev) == 0);
    return 0;
}
