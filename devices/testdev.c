/* SPDX-License-Identifier: MIT */
/*
 * The MMIO test device: register block, test regions and their ops. Every
 * value written by the guest is hostile: commands are decoded and checked
 * before anything is touched, and console buffers are bounded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "devices/testdev.h"
#include "util/clock.h"

/* Highest GPA (exclusive) a region may be moved to: the architectural
 * MAXPHYADDR limit. */
#define TESTDEV_MOVE_LIMIT (1ull << 52)

/* Bits of testdev.live, in init order; released in reverse. */
enum testdev_part {
    TESTDEV_PART_REGS,
    TESTDEV_PART_ROM,
    TESTDEV_PART_RAM,
    TESTDEV_PART_ALIAS,
    TESTDEV_PART_SCRATCH,
    TESTDEV_PART_TOGGLE,
    TESTDEV_PART_NR,
};

/*
 * The (size) bytes of the 64-bit register (reg) that an access at (offset)
 * sees. The dispatcher only passes naturally aligned accesses, so they
 * never cross the register.
 */
static uint64_t testdev_reg_bytes(uint64_t reg, uint64_t offset, unsigned size)
{
    uint64_t v = reg >> ((offset & 7) * 8);

    if (size < 8) {
        v &= (1ull << (size * 8)) - 1;
    }
    return v;
}

static void testdev_console(struct testdev *td, const char *buf, size_t len)
{
    if (td->hooks->console_write) {
        td->hooks->console_write(td->hook_opaque, buf, len);
    }
}

/* TESTDEV_REG_CONSOLE_BUF: (value) packs a GPA and a length. */
static void testdev_console_buf(struct testdev *td, uint64_t value)
{
    char buf[TESTDEV_CONSOLE_BUF_MAX];
    gpa_t gpa = value & TESTDEV_CONSOLE_BUF_GPA_MASK;
    size_t len = (size_t)(value >> 48);

    if (len == 0 || len > sizeof(buf) || !td->hooks->read_guest) {
        return;
    }
    if (td->hooks->read_guest(td->hook_opaque, gpa, buf, len) < 0) {
        return;
    }
    testdev_console(td, buf, len);
}

static struct mem_region *testdev_region_by_id(struct testdev *td, unsigned id)
{
    switch (id) {
    case TESTDEV_REGION_ROM:
        return &td->rom;
    case TESTDEV_REGION_RAM:
        return &td->ram;
    case TESTDEV_REGION_ALIAS:
        return &td->alias;
    case TESTDEV_REGION_SCRATCH:
        return &td->scratch;
    case TESTDEV_REGION_TOGGLE:
        return &td->toggle;
    default:
        return NULL;
    }
}

/*
 * TESTDEV_REG_REGION_CMD. Runs without the device lock: the memory API
 * takes its own lock and commits, and a commit may wait for vCPUs that are
 * themselves in this device.
 */
static int testdev_region_cmd(struct testdev *td, uint64_t cmd)
{
    unsigned op = (unsigned)(cmd & 0xf);
    unsigned id = (unsigned)((cmd >> 4) & 0xff);
    gpa_t addr = cmd & ~0xfffull;
    struct mem_region *mr = testdev_region_by_id(td, id);
    mr_size_t size;

    if (!mr) {
        return -EINVAL;
    }
    switch (op) {
    case TESTDEV_OP_ENABLE:
        return mr_set_enabled(mr, true);
    case TESTDEV_OP_DISABLE:
        return mr_set_enabled(mr, false);
    case TESTDEV_OP_MOVE:
        size = mr_size(mr);
        if (size > TESTDEV_MOVE_LIMIT || addr > TESTDEV_MOVE_LIMIT - size) {
            return -EINVAL;
        }
        return mr_set_address(mr, addr);
    default:
        return -EINVAL;
    }
}

static uint64_t testdev_regs_read(void *opaque, uint64_t offset, unsigned size)
{
    struct testdev *td = opaque;
    const struct testdev_hooks *h = td->hooks;
    uint64_t v = 0;

    switch (offset & ~7ull) {
    case TESTDEV_REG_MAGIC:
        v = TESTDEV_MAGIC;
        break;
    case TESTDEV_REG_VERSION:
        v = TESTDEV_ABI_VERSION;
        break;
    case TESTDEV_REG_RAM_SIZE:
        v = h->ram_size ? h->ram_size(td->hook_opaque) : 0;
        break;
    case TESTDEV_REG_VCPU_ID:
        v = h->vcpu_id ? h->vcpu_id(td->hook_opaque) : 0;
        break;
    case TESTDEV_REG_TIMESTAMP:
        v = clock_now_ns() - td->start_ns;
        break;
    case TESTDEV_REG_REGION_STATUS:
        v = (uint64_t)atomic_load(&td->region_status);
        break;
    case TESTDEV_REG_ROM_WRITES:
    case TESTDEV_REG_ROM_LAST_OFFSET:
    case TESTDEV_REG_ROM_LAST_VALUE:
    case TESTDEV_REG_ROM_LAST_SIZE:
        pthread_mutex_lock(&td->lock);
        switch (offset & ~7ull) {
        case TESTDEV_REG_ROM_WRITES:
            v = td->rom_writes;
            break;
        case TESTDEV_REG_ROM_LAST_OFFSET:
            v = td->rom_last_offset;
            break;
        case TESTDEV_REG_ROM_LAST_VALUE:
            v = td->rom_last_value;
            break;
        default:
            v = td->rom_last_size;
            break;
        }
        pthread_mutex_unlock(&td->lock);
        break;
    case TESTDEV_REG_NOP:
        v = atomic_load(&td->nop_count);
        break;
    case TESTDEV_REG_ARG:
        v = atomic_load(&td->arg);
        break;
    case TESTDEV_REG_MAILBOX:
        v = atomic_load(&td->mailbox);
        break;
    default:
        break;
    }
    return testdev_reg_bytes(v, offset, size);
}

static void testdev_regs_write(void *opaque, uint64_t offset, uint64_t value,
                               unsigned size)
{
    struct testdev *td = opaque;
    char c;

    /* A write acts only when it starts at its register. */
    if (offset & 7) {
        return;
    }
    switch (offset) {
    case TESTDEV_REG_CONSOLE_PUTC:
        c = (char)(value & 0xff);
        testdev_console(td, &c, 1);
        break;
    case TESTDEV_REG_CONSOLE_BUF:
        if (size == 8) {
            testdev_console_buf(td, value);
        }
        break;
    case TESTDEV_REG_EXIT:
        if (td->hooks->exit) {
            td->hooks->exit(td->hook_opaque, (int)(uint32_t)value);
        }
        break;
    case TESTDEV_REG_REGION_CMD:
        atomic_store(&td->region_status,
                     size == 8 ? testdev_region_cmd(td, value) : -EINVAL);
        break;
    case TESTDEV_REG_NOP:
        atomic_fetch_add(&td->nop_count, 1);
        break;
    case TESTDEV_REG_MAILBOX:
        if (size == 8 && (value & 0xfffull) == 0) {
            atomic_store(&td->mailbox, value);
        }
        break;
    default:
        break;
    }
}

static const struct mr_ops testdev_regs_ops = {
    .read = testdev_regs_read,
    .write = testdev_regs_write,
    .valid = {.min_access_size = 1, .max_access_size = 8},
    .impl = {.min_access_size = 1, .max_access_size = 8},
};

/* ROM reads are served from memory; this only answers if asked anyway. */
static uint64_t testdev_rom_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    return size < 8 ? (1ull << (size * 8)) - 1 : ~0ull;
}

/* A guest write to the ROM: recorded, never stored. */
static void testdev_rom_write(void *opaque, uint64_t offset, uint64_t value,
                              unsigned size)
{
    struct testdev *td = opaque;

    pthread_mutex_lock(&td->lock);
    td->rom_writes++;
    td->rom_last_offset = offset;
    td->rom_last_value = value;
    td->rom_last_size = size;
    pthread_mutex_unlock(&td->lock);
}

static const struct mr_ops testdev_rom_ops = {
    .read = testdev_rom_read,
    .write = testdev_rom_write,
    .valid = {.min_access_size = 1, .max_access_size = 8},
    .impl = {.min_access_size = 1, .max_access_size = 8},
};

static uint64_t testdev_scratch_read(void *opaque, uint64_t offset,
                                     unsigned size)
{
    struct testdev *td = opaque;
    uint64_t v = 0;

    if (offset >= TESTDEV_SCRATCH_SIZE || size > 8 ||
        size > TESTDEV_SCRATCH_SIZE - offset) {
        return ~0ull;
    }
    pthread_mutex_lock(&td->lock);
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)td->scratch_bytes[offset + i] << (i * 8);
    }
    pthread_mutex_unlock(&td->lock);
    return v;
}

static void testdev_scratch_write(void *opaque, uint64_t offset, uint64_t value,
                                  unsigned size)
{
    struct testdev *td = opaque;

    if (offset >= TESTDEV_SCRATCH_SIZE || size > 8 ||
        size > TESTDEV_SCRATCH_SIZE - offset) {
        return;
    }
    pthread_mutex_lock(&td->lock);
    for (unsigned i = 0; i < size; i++) {
        td->scratch_bytes[offset + i] = (uint8_t)(value >> (i * 8));
    }
    pthread_mutex_unlock(&td->lock);
}

static const struct mr_ops testdev_scratch_ops = {
    .read = testdev_scratch_read,
    .write = testdev_scratch_write,
    .valid = {.min_access_size = 1, .max_access_size = 8},
    .impl = {.min_access_size = 1, .max_access_size = 8},
};

/* Fill (size) bytes of the RAM or ROM region (mr) with pattern (seed). */
static int testdev_fill(struct mem_region *mr, uint32_t seed, uint64_t size)
{
    uint8_t buf[256];
    int r;

    for (uint64_t off = 0; off < size; off += sizeof(buf)) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = testdev_pattern_byte(seed, off + i);
        }
        r = mr_rom_write(mr, off, buf, sizeof(buf));
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static struct mem_region *testdev_part(struct testdev *td,
                                       enum testdev_part part)
{
    switch (part) {
    case TESTDEV_PART_REGS:
        return &td->regs;
    case TESTDEV_PART_ROM:
        return &td->rom;
    case TESTDEV_PART_RAM:
        return &td->ram;
    case TESTDEV_PART_ALIAS:
        return &td->alias;
    case TESTDEV_PART_SCRATCH:
        return &td->scratch;
    default:
        return &td->toggle;
    }
}

/* Release the live regions, last created first; stops at the first error. */
static int testdev_release(struct testdev *td)
{
    int r;

    for (int part = TESTDEV_PART_NR - 1; part >= 0; part--) {
        if (!(td->live & (1u << part))) {
            continue;
        }
        r = mr_destroy(testdev_part(td, (enum testdev_part)part));
        if (r < 0) {
            return r;
        }
        td->live &= ~(1u << part);
    }
    return 0;
}

int testdev_init(struct testdev *td, const struct testdev_hooks *hooks,
                 void *hook_opaque)
{
    static const struct testdev_hooks no_hooks;
    int r;

    memset(td, 0, sizeof(*td));
    r = pthread_mutex_init(&td->lock, NULL);
    if (r != 0) {
        return -r;
    }
    td->hooks = hooks ? hooks : &no_hooks;
    td->hook_opaque = hook_opaque;
    atomic_init(&td->arg, 0);
    atomic_init(&td->mailbox, 0);
    atomic_init(&td->nop_count, 0);
    atomic_init(&td->region_status, 0);
    td->start_ns = clock_now_ns();

    r = mr_init_io(&td->regs, "testdev", TESTDEV_SIZE, &testdev_regs_ops, td);
    if (r < 0) {
        goto err;
    }
    td->live |= 1u << TESTDEV_PART_REGS;

    r = mr_init_rom(&td->rom, "testdev-rom", TESTDEV_ROM_SIZE, &testdev_rom_ops,
                    td);
    if (r < 0) {
        goto err;
    }
    td->live |= 1u << TESTDEV_PART_ROM;
    r = testdev_fill(&td->rom, TESTDEV_SEED_ROM, TESTDEV_ROM_SIZE);
    if (r < 0) {
        goto err;
    }

    r = mr_init_ram(&td->ram, "testdev-ram", TESTDEV_RAM_SIZE);
    if (r < 0) {
        goto err;
    }
    td->live |= 1u << TESTDEV_PART_RAM;
    r = testdev_fill(&td->ram, TESTDEV_SEED_RAM, TESTDEV_RAM_SIZE);
    if (r < 0) {
        goto err;
    }

    r = mr_init_alias(&td->alias, "testdev-alias", &td->ram,
                      TESTDEV_ALIAS_OFFSET, TESTDEV_ALIAS_SIZE);
    if (r < 0) {
        goto err;
    }
    td->live |= 1u << TESTDEV_PART_ALIAS;

    r = mr_init_io(&td->scratch, "testdev-scratch", TESTDEV_SCRATCH_SIZE,
                   &testdev_scratch_ops, td);
    if (r < 0) {
        goto err;
    }
    td->live |= 1u << TESTDEV_PART_SCRATCH;

    r = mr_init_ram(&td->toggle, "testdev-toggle", TESTDEV_TOGGLE_SIZE);
    if (r < 0) {
        goto err;
    }
    td->live |= 1u << TESTDEV_PART_TOGGLE;
    r = testdev_fill(&td->toggle, TESTDEV_SEED_TOGGLE, TESTDEV_TOGGLE_SIZE);
    if (r < 0) {
        goto err;
    }
    return 0;

err:
    /* Nothing is attached yet, so every region can be released. */
    (void)testdev_release(td);
    pthread_mutex_destroy(&td->lock);
    return r;
}

void testdev_set_arg(struct testdev *td, uint64_t arg)
{
    atomic_store(&td->arg, arg);
}

uint64_t testdev_mailbox(struct testdev *td)
{
    return atomic_load(&td->mailbox);
}

int testdev_destroy(struct testdev *td)
{
    int r = testdev_release(td);

    if (r < 0) {
        return r;
    }
    pthread_mutex_destroy(&td->lock);
    return 0;
}
