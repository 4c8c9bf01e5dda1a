/* SPDX-License-Identifier: MIT */
/*
 * Test device tests (devices/testdev.h, testdev_abi.h), driven through the
 * memory API as a vCPU would drive it: the device's regions are placed in
 * a "memory" address space at their ABI addresses, and every register is
 * reached with as_access(). Recording hooks stand in for the machine.
 *
 * Covers: register read-back at every size and offset (MAGIC, VERSION,
 * RAM_SIZE and VCPU_ID through the hooks, ARG, unknown offsets), writes
 * that must be ignored, console putc and console buffers (hostile
 * lengths, unreadable GPAs, wrong access sizes), EXIT, region commands as a
 * script of steps checked against the rendered view, ROM writes recorded
 * in ROM_LAST_*, the RAM/alias windows, scratch round trips of every size,
 * a device without hooks, a seeded random access storm over every
 * register and region (on one thread, then on several at once), and a
 * leak-free teardown (including the documented -EBUSY and retry of
 * testdev_destroy()).
 *
 * Usage: test_testdev [SEED [ACCESSES]]. The storm runs once on this thread
 * and once split over STORM_THREADS threads, as vCPUs would make it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "devices/testdev.h"
#include "devices/testdev_abi.h"
#include "mem/address_space.h"
#include "mem/flatview.h"
#include "mem/region.h"
#include "mem/types.h"
#include "unit.h"

static unsigned unit_failures;

#define DEFAULT_SEED 0x7e57de7u
#define DEFAULT_ACCESSES 1000000u
#define STORM_THREADS 4u
#define STORM_MAX_THREADS 16u
/* Fake guest memory that read_guest serves: GPA 0 is gmem[0]. */
#define GMEM_SIZE 0x10000u
#define CONSOLE_CAP 0x8000u
/* The highest GPA + 1 a region may be moved to (MAXPHYADDR 52). */
#define MOVE_LIMIT (1ull << 52)

/* ---- recording hooks ---- */

/* Guards (rec) against storm threads. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    char out[CONSOLE_CAP];
    size_t len;
    unsigned writes;
    size_t max_write;
    unsigned exits;
    int status;
    uint64_t ram_size;
    uint32_t vcpu_id;
    unsigned reads;
    size_t max_read;
    uint8_t gmem[GMEM_SIZE];
} rec;

static void hook_console(void *opaque, const char *buf, size_t len)
{
    CHECK(opaque == &rec, "console hook: wrong opaque");
    pthread_mutex_lock(&rec_lock);
    rec.writes++;
    if (len > rec.max_write) {
        rec.max_write = len;
    }
    if (len <= CONSOLE_CAP - rec.len) {
        memcpy(rec.out + rec.len, buf, len);
        rec.len += len;
    } else {
        rec.len = 0; /* a storm: keep the buffer from filling */
    }
    pthread_mutex_unlock(&rec_lock);
}

static void hook_exit(void *opaque, int status)
{
    CHECK(opaque == &rec, "exit hook: wrong opaque");
    pthread_mutex_lock(&rec_lock);
    rec.exits++;
    rec.status = status;
    pthread_mutex_unlock(&rec_lock);
}

static uint64_t hook_ram_size(void *opaque)
{
    CHECK(opaque == &rec, "ram_size hook: wrong opaque");
    return rec.ram_size;
}

static uint32_t hook_vcpu_id(void *opaque)
{
    CHECK(opaque == &rec, "vcpu_id hook: wrong opaque");
    return rec.vcpu_id;
}

static int hook_read_guest(void *opaque, gpa_t gpa, void *buf, size_t len)
{
    CHECK(opaque == &rec, "read_guest hook: wrong opaque");
    pthread_mutex_lock(&rec_lock);
    rec.reads++;
    if (len > rec.max_read) {
        rec.max_read = len;
    }
    pthread_mutex_unlock(&rec_lock);
    if (gpa > GMEM_SIZE || len > GMEM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(buf, rec.gmem + gpa, len);
    return 0;
}

static const struct testdev_hooks hooks = {
    .console_write = hook_console,
    .exit = hook_exit,
    .ram_size = hook_ram_size,
    .vcpu_id = hook_vcpu_id,
    .read_guest = hook_read_guest,
};

static void rec_clear_console(void)
{
    rec.len = 0;
    rec.writes = 0;
    rec.reads = 0;
}

/* ---- the machine ---- */

static struct mem_sys *sys;
static struct mem_region root;
static struct address_space *as;
static struct testdev td;
static bool td_live, root_live;
/* Every region is placed and the address space exists. */
static bool placed;

/* Each region of the device and where the machine places it. */
struct placement {
    struct mem_region *mr;
    gpa_t base;
    unsigned id; /* TESTDEV_REGION_*, 0 for the registers */
};

static const struct placement places[] = {
    {&td.regs, TESTDEV_BASE, 0},
    {&td.rom, TESTDEV_ROM_BASE, TESTDEV_REGION_ROM},
    {&td.ram, TESTDEV_RAM_BASE, TESTDEV_REGION_RAM},
    {&td.alias, TESTDEV_ALIAS_BASE, TESTDEV_REGION_ALIAS},
    {&td.scratch, TESTDEV_SCRATCH_BASE, TESTDEV_REGION_SCRATCH},
    {&td.toggle, TESTDEV_TOGGLE_BASE, TESTDEV_REGION_TOGGLE},
};
#define NR_PLACES (sizeof(places) / sizeof(places[0]))

static bool setup(void)
{
    int r;

    r = mem_sys_new(&sys);
    CHECK(r == 0, "mem_sys_new: %d", r);
    if (r < 0) {
        return false;
    }
    r = mr_init_container(&root, "memory", UINT64_MAX);
    CHECK(r == 0, "root: %d", r);
    if (r < 0) {
        return false;
    }
    root_live = true;
    r = testdev_init(&td, &hooks, &rec);
    CHECK(r == 0, "testdev_init: %d", r);
    if (r < 0) {
        return false;
    }
    td_live = true;
    for (size_t i = 0; i < NR_PLACES; i++) {
        r = mr_add_subregion(&root, places[i].base, places[i].mr);
        CHECK(r == 0, "add %s: %d", mr_name(places[i].mr), r);
        if (r < 0) {
            return false;
        }
    }
    r = as_new(sys, "memory", &root, MR_SIZE_2_64, &as);
    CHECK(r == 0, "as_new: %d", r);
    placed = r == 0;
    return placed;
}

/* One access of (size) bytes at (addr), as a vCPU exit makes it. */
static uint64_t rd(gpa_t addr, unsigned size)
{
    uint64_t v = 0;
    int r = as_access(as, addr, &v, size, false);

    CHECK(r == 0, "read %u at 0x%" PRIx64 ": %d", size, addr, r);
    return v;
}

static int wr(gpa_t addr, uint64_t v, unsigned size)
{
    return as_access(as, addr, &v, size, true);
}

static uint64_t reg(unsigned off)
{
    return rd(TESTDEV_BASE + off, 8);
}

static void reg_write(unsigned off, uint64_t v, unsigned size)
{
    int r = wr(TESTDEV_BASE + off, v, size);

    CHECK(r == 0, "write %u to register 0x%x: %d", size, off, r);
}

static int64_t region_cmd(uint64_t cmd, unsigned size)
{
    reg_write(TESTDEV_REG_REGION_CMD, cmd, size);
    return (int64_t)reg(TESTDEV_REG_REGION_STATUS);
}

/* What answers at (addr) in the current view (NULL: a hole), and at which
 * offset of it. */
static const struct mem_region *mr_at(gpa_t addr, uint64_t *offset)
{
    struct flatview *fv = NULL;
    const struct flat_range *fr;
    const struct mem_region *mr = NULL;
    int r = as_view_copy(as, &fv);

    CHECK(r == 0, "as_view_copy: %d", r);
    if (r < 0) {
        return NULL;
    }
    fr = flatview_lookup(fv, addr);
    if (fr) {
        mr = fr->mr;
        if (offset) {
            *offset = fr->offset + (addr - fr->first);
        }
    }
    flatview_free(fv);
    return mr;
}

static uint64_t pattern64(uint32_t seed, uint64_t off)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)testdev_pattern_byte(seed, off + i) << (8 * i);
    }
    return v;
}

static uint64_t bytes_of(uint64_t v, unsigned off, unsigned size)
{
    v >>= 8 * off;
    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

/* ---- registers ---- */

/* Every naturally aligned read of 1, 2, 4 and 8 bytes of register (off)
 * must give the little-endian bytes of (want). */
static void check_reg_all_sizes(const char *name, unsigned off, uint64_t want)
{
    for (unsigned size = 1; size <= 8; size *= 2) {
        for (unsigned o = 0; o < 8; o += size) {
            uint64_t got = rd(TESTDEV_BASE + off + o, size);

            CHECK(got == bytes_of(want, o, size),
                  "%s: %u-byte read at +%u gave 0x%" PRIx64
                  ", expected 0x%" PRIx64,
                  name, size, o, got, bytes_of(want, o, size));
        }
    }
}

static void test_registers(void)
{
    static const struct {
        const char *name;
        unsigned off;
        uint64_t ram_size;
        uint32_t vcpu_id;
        uint64_t arg;
        uint64_t want;
    } regs[] = {
        {"MAGIC", TESTDEV_REG_MAGIC, 0, 0, 0, TESTDEV_MAGIC},
        {"VERSION", TESTDEV_REG_VERSION, 0, 0, 0, TESTDEV_ABI_VERSION},
        {"RAM_SIZE 256 MiB", TESTDEV_REG_RAM_SIZE, 256u << 20, 0, 0,
         256u << 20},
        {"RAM_SIZE 5 GiB", TESTDEV_REG_RAM_SIZE, 5ull << 30, 0, 0, 5ull << 30},
        {"RAM_SIZE all bytes", TESTDEV_REG_RAM_SIZE, 0x0123456789abcdefull, 0,
         0, 0x0123456789abcdefull},
        {"VCPU_ID 0", TESTDEV_REG_VCPU_ID, 0, 0, 0, 0},
        {"VCPU_ID 7", TESTDEV_REG_VCPU_ID, 0, 7, 0, 7},
        {"VCPU_ID 0xfedcba98", TESTDEV_REG_VCPU_ID, 0, 0xfedcba98u, 0,
         0xfedcba98u},
        {"ARG 0", TESTDEV_REG_ARG, 0, 0, 0, 0},
        {"ARG all bytes", TESTDEV_REG_ARG, 0, 0, 0x8877665544332211ull,
         0x8877665544332211ull},
        {"REGION_STATUS at start", TESTDEV_REG_REGION_STATUS, 0, 0, 0, 0},
        {"ROM_WRITES at start", TESTDEV_REG_ROM_WRITES, 0, 0, 0, 0},
        {"NOP at start", TESTDEV_REG_NOP, 0, 0, 0, 0},
        {"MAILBOX at start", TESTDEV_REG_MAILBOX, 0, 0, 0, 0},
        {"unknown 0x88", 0x88, 0, 0, 0, 0},
        {"unknown 0x800", 0x800, 0, 0, 0, 0},
        {"unknown 0xff8", 0xff8, 0, 0, 0, 0},
    };
    uint64_t t1, t2;

    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        rec.ram_size = regs[i].ram_size;
        rec.vcpu_id = regs[i].vcpu_id;
        testdev_set_arg(&td, regs[i].arg);
        check_reg_all_sizes(regs[i].name, regs[i].off, regs[i].want);
    }
    testdev_set_arg(&td, 0);

    /* Writes to read-only and unknown registers change nothing. */
    reg_write(TESTDEV_REG_MAGIC, 0, 8);
    reg_write(TESTDEV_REG_VERSION, 0xffffffffffffffffull, 8);
    reg_write(TESTDEV_REG_ARG, 5, 8);
    reg_write(0x800, 0x1234, 8);
    check_reg_all_sizes("MAGIC after a write", TESTDEV_REG_MAGIC,
                        TESTDEV_MAGIC);
    check_reg_all_sizes("VERSION after a write", TESTDEV_REG_VERSION,
                        TESTDEV_ABI_VERSION);
    check_reg_all_sizes("ARG after a write", TESTDEV_REG_ARG, 0);
    check_reg_all_sizes("0x800 after a write", 0x800, 0);

    /* The clock moves forward. */
    t1 = reg(TESTDEV_REG_TIMESTAMP);
    t2 = reg(TESTDEV_REG_TIMESTAMP);
    CHECK(t2 >= t1, "TIMESTAMP went back: %" PRIu64 " then %" PRIu64, t1, t2);

    /* NOP counts writes of any size, at its offset only. */
    reg_write(TESTDEV_REG_NOP, 0, 8);
    reg_write(TESTDEV_REG_NOP, 0, 1);
    reg_write(TESTDEV_REG_NOP, 0, 4);
    reg_write(TESTDEV_REG_NOP + 4, 0, 4);
    CHECK(reg(TESTDEV_REG_NOP) == 3, "NOP count %" PRIu64 ", expected 3",
          reg(TESTDEV_REG_NOP));

    /* MAILBOX keeps page-aligned 8-byte writes only. */
    reg_write(TESTDEV_REG_MAILBOX, 0x345000, 8);
    reg_write(TESTDEV_REG_MAILBOX, 0x346008, 8);
    reg_write(TESTDEV_REG_MAILBOX, 0x347000, 4);
    check_reg_all_sizes("MAILBOX after writes", TESTDEV_REG_MAILBOX, 0x345000);
    CHECK(testdev_mailbox(&td) == 0x345000,
          "testdev_mailbox() %" PRIx64 ", expected 0x345000",
          testdev_mailbox(&td));
}

/* ---- console ---- */

static void test_console_putc(void)
{
    static const struct {
        uint64_t value;
        unsigned size;
        unsigned off;
        const char *out; /* what appears ("" nothing) */
    } cases[] = {
        {'A', 1, 0, "A"},
        {0x4142, 2, 0, "B"},
        {0x41424344u, 4, 0, "D"},
        {0x4142434445464748ull, 8, 0, "H"},
        {0, 1, 0, ""}, /* a NUL byte: checked by length below */
        {'x', 1, 1, ""},
        {'x', 2, 2, ""},
        {'x', 4, 4, ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t want = strlen(cases[i].out);

        if (cases[i].value == 0) {
            want = 1;
        }
        rec_clear_console();
        reg_write(TESTDEV_REG_CONSOLE_PUTC + cases[i].off, cases[i].value,
                  cases[i].size);
        CHECK(rec.len == want && memcmp(rec.out, cases[i].out, want) == 0,
              "putc case %zu (%u bytes at +%u): printed %zu bytes", i,
              cases[i].size, cases[i].off, rec.len);
    }
}

static void test_console_buf(void)
{
    static const char msg[] = "hello from the guest";
    static const struct {
        const char *name;
        uint64_t value;
        unsigned size;
        unsigned off;
        gpa_t gpa; /* what must be printed: (len) bytes of gmem at (gpa) */
        size_t len;
    } cases[] = {
        {"a message", TESTDEV_CONSOLE_BUF(0x100, sizeof(msg) - 1), 8, 0, 0x100,
         sizeof(msg) - 1},
        {"one byte", TESTDEV_CONSOLE_BUF(0x100, 1), 8, 0, 0x100, 1},
        {"zero bytes", TESTDEV_CONSOLE_BUF(0x100, 0), 8, 0, 0, 0},
        {"the maximum", TESTDEV_CONSOLE_BUF(0x1000, TESTDEV_CONSOLE_BUF_MAX), 8,
         0, 0x1000, TESTDEV_CONSOLE_BUF_MAX},
        {"ending at the end of guest memory",
         TESTDEV_CONSOLE_BUF(GMEM_SIZE - 16, 16), 8, 0, GMEM_SIZE - 16, 16},
        {"one byte over the maximum",
         TESTDEV_CONSOLE_BUF(0, TESTDEV_CONSOLE_BUF_MAX + 1), 8, 0, 0, 0},
        {"length 0xffff", TESTDEV_CONSOLE_BUF(0, 0xffff), 8, 0, 0, 0},
        {"all ones", ~0ull, 8, 0, 0, 0},
        {"unreadable GPA", TESTDEV_CONSOLE_BUF(GMEM_SIZE, 16), 8, 0, 0, 0},
        {"straddling the end of guest memory",
         TESTDEV_CONSOLE_BUF(GMEM_SIZE - 8, 16), 8, 0, 0, 0},
        {"highest GPA", TESTDEV_CONSOLE_BUF(TESTDEV_CONSOLE_BUF_GPA_MASK, 16),
         8, 0, 0, 0},
        {"4-byte write", TESTDEV_CONSOLE_BUF(0x100, 4), 4, 0, 0, 0},
        {"2-byte write", TESTDEV_CONSOLE_BUF(0x100, 4), 2, 0, 0, 0},
        {"write at +4", TESTDEV_CONSOLE_BUF(0x100, 4), 4, 4, 0, 0},
    };

    for (size_t i = 0; i < GMEM_SIZE; i++) {
        rec.gmem[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    memcpy(rec.gmem + 0x100, msg, sizeof(msg) - 1);
    rec.max_read = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rec_clear_console();
        reg_write(TESTDEV_REG_CONSOLE_BUF + cases[i].off, cases[i].value,
                  cases[i].size);
        CHECK(rec.len == cases[i].len &&
                  memcmp(rec.out, rec.gmem + cases[i].gpa, cases[i].len) == 0,
              "console buffer, %s: printed %zu bytes, expected %zu",
              cases[i].name, rec.len, cases[i].len);
        CHECK(rec.writes <= 1, "console buffer, %s: %u console writes",
              cases[i].name, rec.writes);
    }
    CHECK(rec.max_read <= TESTDEV_CONSOLE_BUF_MAX,
          "read_guest was asked for %zu bytes (at most %u)", rec.max_read,
          TESTDEV_CONSOLE_BUF_MAX);
}

/* ---- exit ---- */

static void test_exit(void)
{
    static const struct {
        uint64_t value;
        unsigned size;
        unsigned off;
        unsigned calls;
        int status;
    } cases[] = {
        {0, 8, 0, 1, 0},
        {7, 8, 0, 1, 7},
        {0x1234567800000007ull, 8, 0, 1, 7},
        {0xffffffffu, 4, 0, 1, -1},
        {0x80000000u, 8, 0, 1, INT32_MIN},
        {42, 1, 0, 1, 42},
        {0x0102, 2, 0, 1, 0x0102},
        {9, 4, 4, 0, 0},
        {9, 1, 1, 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rec.exits = 0;
        rec.status = 0x5a5a;
        reg_write(TESTDEV_REG_EXIT + cases[i].off, cases[i].value,
                  cases[i].size);
        CHECK(rec.exits == cases[i].calls, "exit case %zu: %u calls", i,
              rec.exits);
        if (cases[i].calls) {
            CHECK(rec.status == cases[i].status,
                  "exit case %zu: status %d, expected %d", i, rec.status,
                  cases[i].status);
        }
    }
}

/* ---- region commands ---- */

#define CMD(op, id, addr) TESTDEV_REGION_CMD(TESTDEV_OP_##op, id, addr)
#define TOGGLE TESTDEV_REGION_TOGGLE
#define TOP (MOVE_LIMIT - TESTDEV_TOGGLE_SIZE)

/* One step of the script: a command, its status, and what the view then
 * holds at up to two addresses (NULL: a hole). */
struct region_step {
    const char *name;
    uint64_t cmd;
    unsigned size;
    int64_t status;
    struct {
        gpa_t addr;
        const struct mem_region *mr;
    } at[2];
};

static const struct region_step steps[] = {
    {"disable toggle",
     CMD(DISABLE, TOGGLE, 0),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, NULL}, {TESTDEV_BASE, &td.regs}}},
    {"disable toggle again",
     CMD(DISABLE, TOGGLE, 0),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, NULL}}},
    {"enable toggle",
     CMD(ENABLE, TOGGLE, 0),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}}},
    {"move toggle to the spare page",
     CMD(MOVE, TOGGLE, TESTDEV_TOGGLE_ALT_BASE),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, NULL}, {TESTDEV_TOGGLE_ALT_BASE, &td.toggle}}},
    {"disable the moved toggle",
     CMD(DISABLE, TOGGLE, 0),
     8,
     0,
     {{TESTDEV_TOGGLE_ALT_BASE, NULL}, {TESTDEV_TOGGLE_BASE, NULL}}},
    {"enable the moved toggle",
     CMD(ENABLE, TOGGLE, 0),
     8,
     0,
     {{TESTDEV_TOGGLE_ALT_BASE, &td.toggle}}},
    {"move toggle back",
     CMD(MOVE, TOGGLE, TESTDEV_TOGGLE_BASE),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}, {TESTDEV_TOGGLE_ALT_BASE, NULL}}},
    {"move toggle to the top of MAXPHYADDR",
     CMD(MOVE, TOGGLE, TOP),
     8,
     0,
     {{TOP, &td.toggle}, {TESTDEV_TOGGLE_BASE, NULL}}},
    {"move toggle to 2^52",
     CMD(MOVE, TOGGLE, MOVE_LIMIT),
     8,
     -EINVAL,
     {{TOP, &td.toggle}}},
    {"move toggle to 2^64 - 4096",
     CMD(MOVE, TOGGLE, ~0xfffull),
     8,
     -EINVAL,
     {{TOP, &td.toggle}}},
    {"move toggle home",
     CMD(MOVE, TOGGLE, TESTDEV_TOGGLE_BASE),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}, {TOP, NULL}}},
    {"region id 0", CMD(ENABLE, 0, 0), 8, -EINVAL, {{0, NULL}}},
    {"region id 6", CMD(DISABLE, 6, 0), 8, -EINVAL, {{0, NULL}}},
    {"region id 255", CMD(DISABLE, 255, 0), 8, -EINVAL, {{0, NULL}}},
    {"op 0",
     CMD(ENABLE, TOGGLE, 0) & ~0xfull,
     8,
     -EINVAL,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}}},
    {"op 4",
     (CMD(ENABLE, TOGGLE, 0) & ~0xfull) | 4,
     8,
     -EINVAL,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}}},
    {"op 15",
     (CMD(ENABLE, TOGGLE, 0) & ~0xfull) | 15,
     8,
     -EINVAL,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}}},
    {"enable toggle (status back to 0)",
     CMD(ENABLE, TOGGLE, 0),
     8,
     0,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}}},
    {"disable with a 4-byte write",
     CMD(DISABLE, TOGGLE, 0),
     4,
     -EINVAL,
     {{TESTDEV_TOGGLE_BASE, &td.toggle}}},
    {"disable ROM",
     CMD(DISABLE, TESTDEV_REGION_ROM, 0),
     8,
     0,
     {{TESTDEV_ROM_BASE, NULL}}},
    {"enable ROM",
     CMD(ENABLE, TESTDEV_REGION_ROM, 0),
     8,
     0,
     {{TESTDEV_ROM_BASE, &td.rom}}},
    {"disable RAM",
     CMD(DISABLE, TESTDEV_REGION_RAM, 0),
     8,
     0,
     {{TESTDEV_RAM_BASE, NULL}}},
    {"enable RAM",
     CMD(ENABLE, TESTDEV_REGION_RAM, 0),
     8,
     0,
     {{TESTDEV_RAM_BASE, &td.ram}, {TESTDEV_ALIAS_BASE, &td.ram}}},
    {"disable alias",
     CMD(DISABLE, TESTDEV_REGION_ALIAS, 0),
     8,
     0,
     {{TESTDEV_ALIAS_BASE, NULL}, {TESTDEV_RAM_BASE, &td.ram}}},
    {"enable alias",
     CMD(ENABLE, TESTDEV_REGION_ALIAS, 0),
     8,
     0,
     {{TESTDEV_ALIAS_BASE, &td.ram}}},
    {"disable scratch",
     CMD(DISABLE, TESTDEV_REGION_SCRATCH, 0),
     8,
     0,
     {{TESTDEV_SCRATCH_BASE, NULL}}},
    {"enable scratch",
     CMD(ENABLE, TESTDEV_REGION_SCRATCH, 0),
     8,
     0,
     {{TESTDEV_SCRATCH_BASE, &td.scratch}}},
    {"move ROM to the spare page",
     CMD(MOVE, TESTDEV_REGION_ROM, TESTDEV_TOGGLE_ALT_BASE),
     8,
     0,
     {{TESTDEV_TOGGLE_ALT_BASE, &td.rom}, {TESTDEV_ROM_BASE, NULL}}},
    {"move ROM home",
     CMD(MOVE, TESTDEV_REGION_ROM, TESTDEV_ROM_BASE),
     8,
     0,
     {{TESTDEV_ROM_BASE, &td.rom}, {TESTDEV_TOGGLE_ALT_BASE, NULL}}},
};

static void test_region_commands(void)
{
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        const struct region_step *s = &steps[i];
        uint64_t gen = as_generation(as);
        int64_t st = region_cmd(s->cmd, s->size);

        CHECK(st == s->status, "%s: status %" PRId64 ", expected %" PRId64,
              s->name, st, s->status);
        if (s->status < 0) {
            CHECK(as_generation(as) == gen,
                  "%s: a refused command changed the view", s->name);
        }
        for (unsigned k = 0; k < 2; k++) {
            const struct mem_region *mr;

            if (!s->at[k].addr) {
                continue;
            }
            mr = mr_at(s->at[k].addr, NULL);
            CHECK(mr == s->at[k].mr, "%s: 0x%" PRIx64 " is %s, expected %s",
                  s->name, s->at[k].addr, mr ? mr_name(mr) : "a hole",
                  s->at[k].mr ? mr_name(s->at[k].mr) : "a hole");
        }
    }
    /* The status is a 64-bit two's complement value at every size. */
    CHECK(region_cmd(CMD(ENABLE, 0, 0), 8) == -EINVAL, "bad command");
    check_reg_all_sizes("REGION_STATUS -EINVAL", TESTDEV_REG_REGION_STATUS,
                        (uint64_t)(int64_t)-EINVAL);
    /* A write that does not start at the register is ignored. */
    reg_write(TESTDEV_REG_REGION_CMD + 4, TESTDEV_TOGGLE_ALT_BASE >> 32, 4);
    CHECK((int64_t)reg(TESTDEV_REG_REGION_STATUS) == -EINVAL,
          "a write at REGION_CMD+4 changed the status");
    CHECK(mr_at(TESTDEV_TOGGLE_BASE, NULL) == &td.toggle,
          "a write at REGION_CMD+4 moved the toggle");
}

/* The toggle keeps its bytes while disabled and reads as all-ones. */
static void test_toggle_contents(void)
{
    gpa_t t = TESTDEV_TOGGLE_BASE;
    uint64_t v = 0;
    int r;

    CHECK(rd(t + 8, 8) == pattern64(TESTDEV_SEED_TOGGLE, 8), "toggle pattern");
    CHECK(wr(t, 0x1122334455667788ull, 8) == 0, "toggle write");
    CHECK(region_cmd(CMD(DISABLE, TOGGLE, 0), 8) == 0, "disable");
    r = as_access(as, t, &v, 8, false);
    CHECK(r == -ENXIO && v == ~0ull,
          "disabled toggle: %d, 0x%" PRIx64 " (want -ENXIO, all-ones)", r, v);
    r = wr(t, 0, 8);
    CHECK(r == -ENXIO, "write to the disabled toggle: %d", r);
    CHECK(region_cmd(CMD(MOVE, TOGGLE, TESTDEV_TOGGLE_ALT_BASE), 8) == 0,
          "move while disabled");
    CHECK(region_cmd(CMD(ENABLE, TOGGLE, 0), 8) == 0, "enable");
    CHECK(rd(TESTDEV_TOGGLE_ALT_BASE, 8) == 0x1122334455667788ull,
          "toggle lost its contents");
    CHECK(rd(TESTDEV_TOGGLE_ALT_BASE + 8, 8) ==
              pattern64(TESTDEV_SEED_TOGGLE, 8),
          "toggle pattern after the move");
    CHECK(region_cmd(CMD(MOVE, TOGGLE, TESTDEV_TOGGLE_BASE), 8) == 0,
          "move home");
    CHECK(wr(t, pattern64(TESTDEV_SEED_TOGGLE, 0), 8) == 0, "restore");
}

/* ---- ROM, RAM and alias ---- */

static void test_rom(void)
{
    static const struct {
        uint64_t off;
        uint64_t value;
        unsigned size;
    } writes[] = {
        {0x20, 0x77, 1},    {0x100, 0x1122334455667788ull, 8},
        {0xffe, 0xbeef, 2}, {0x804, 0xcafef00du, 4},
        {0, 0, 8},          {0xff8, ~0ull, 8},
    };
    uint8_t buf[TESTDEV_ROM_SIZE];
    int r;

    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        r = wr(TESTDEV_ROM_BASE + writes[i].off, writes[i].value,
               writes[i].size);
        CHECK(r == 0, "ROM write %zu: %d", i, r);
        CHECK(reg(TESTDEV_REG_ROM_WRITES) == i + 1,
              "ROM write %zu: ROM_WRITES %" PRIu64, i,
              reg(TESTDEV_REG_ROM_WRITES));
        CHECK(reg(TESTDEV_REG_ROM_LAST_OFFSET) == writes[i].off,
              "ROM write %zu: ROM_LAST_OFFSET 0x%" PRIx64, i,
              reg(TESTDEV_REG_ROM_LAST_OFFSET));
        CHECK(reg(TESTDEV_REG_ROM_LAST_VALUE) == writes[i].value,
              "ROM write %zu: ROM_LAST_VALUE 0x%" PRIx64, i,
              reg(TESTDEV_REG_ROM_LAST_VALUE));
        CHECK(reg(TESTDEV_REG_ROM_LAST_SIZE) == writes[i].size,
              "ROM write %zu: ROM_LAST_SIZE %" PRIu64, i,
              reg(TESTDEV_REG_ROM_LAST_SIZE));
    }
    /* Nothing was stored. */
    r = as_read(as, TESTDEV_ROM_BASE, buf, sizeof(buf));
    CHECK(r == 0, "ROM read: %d", r);
    for (size_t i = 0; i < sizeof(buf); i++) {
        if (buf[i] != testdev_pattern_byte(TESTDEV_SEED_ROM, i)) {
            CHECK(buf[i] == testdev_pattern_byte(TESTDEV_SEED_ROM, i),
                  "ROM byte 0x%zx changed", i);
            break;
        }
    }
}

static void test_ram_alias(void)
{
    uint8_t ram[TESTDEV_RAM_SIZE], alias[TESTDEV_ALIAS_SIZE];
    uint64_t restore;
    int r;

    r = as_read(as, TESTDEV_RAM_BASE, ram, sizeof(ram));
    CHECK(r == 0, "RAM read: %d", r);
    for (size_t i = 0; i < sizeof(ram); i++) {
        if (ram[i] != testdev_pattern_byte(TESTDEV_SEED_RAM, i)) {
            CHECK(0, "RAM byte 0x%zx is not the pattern", i);
            break;
        }
    }
    r = as_read(as, TESTDEV_ALIAS_BASE, alias, sizeof(alias));
    CHECK(r == 0, "alias read: %d", r);
    CHECK(memcmp(alias, ram + TESTDEV_ALIAS_OFFSET, sizeof(alias)) == 0,
          "alias is not RAM at TESTDEV_ALIAS_OFFSET");
    CHECK(wr(TESTDEV_ALIAS_BASE + 0x10, 0xa5a5a5a5u, 4) == 0, "alias write");
    CHECK(rd(TESTDEV_RAM_BASE + TESTDEV_ALIAS_OFFSET + 0x10, 4) == 0xa5a5a5a5u,
          "a write through the alias did not reach RAM");
    restore = pattern64(TESTDEV_SEED_RAM, TESTDEV_ALIAS_OFFSET + 0x10);
    CHECK(wr(TESTDEV_ALIAS_BASE + 0x10, bytes_of(restore, 0, 4), 4) == 0,
          "alias restore");
}

/* ---- scratch ---- */

static void test_scratch(gpa_t base)
{
    uint8_t model[TESTDEV_SCRATCH_SIZE];
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    memset(model, 0, sizeof(model));
    CHECK(rd(base, 8) == 0, "scratch does not start as zero");
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned size = 1; size <= 8; size *= 2) {
            for (unsigned off = 0; off < TESTDEV_SCRATCH_SIZE; off += size) {
                uint64_t v = seed = seed * 6364136223846793005ull + 1 + off;
                uint64_t got, whole = 0;

                v = bytes_of(v, 0, size);
                CHECK(wr(base + off, v, size) == 0,
                      "scratch %u-byte write at %u", size, off);
                for (unsigned i = 0; i < size; i++) {
                    model[off + i] = (uint8_t)(v >> (8 * i));
                }
                got = rd(base + off, size);
                CHECK(got == v,
                      "scratch %u bytes at %u: read 0x%" PRIx64
                      ", wrote 0x%" PRIx64,
                      size, off, got, v);
                for (unsigned i = 0; i < 8; i++) {
                    whole |= (uint64_t)model[i] << (8 * i);
                }
                CHECK(rd(base, 8) == whole,
                      "scratch after %u bytes at %u: 0x%" PRIx64
                      ", expected 0x%" PRIx64,
                      size, off, rd(base, 8), whole);
            }
        }
    }
    /* Misaligned accesses are refused and change nothing. */
    {
        uint64_t before = rd(base, 8), v = 0xffff;

        CHECK(as_access(as, base + 1, &v, 2, true) == -EINVAL,
              "misaligned scratch write accepted");
        CHECK(as_access(as, base + 2, &v, 4, true) == -EINVAL,
              "misaligned scratch write accepted");
        CHECK(rd(base, 8) == before, "misaligned write changed scratch");
    }
    CHECK(wr(base, 0, 8) == 0, "scratch reset");
}

static void test_scratch_moved(void)
{
    CHECK(region_cmd(CMD(MOVE, TESTDEV_REGION_SCRATCH, TESTDEV_TOGGLE_ALT_BASE),
                     8) == 0,
          "move scratch");
    test_scratch(TESTDEV_TOGGLE_ALT_BASE);
    CHECK(region_cmd(CMD(MOVE, TESTDEV_REGION_SCRATCH, TESTDEV_SCRATCH_BASE),
                     8) == 0,
          "move scratch home");
}

/* ---- a device without hooks ---- */

static void test_no_hooks(void)
{
    static const struct testdev_hooks none;
    const struct testdev_hooks *const variants[] = {NULL, &none};

    for (unsigned i = 0; i < 2; i++) {
        struct mem_sys *s2 = NULL;
        struct mem_region r2;
        struct testdev d2;
        struct address_space *a2;
        uint64_t v;
        int r;

        CHECK(mem_sys_new(&s2) == 0, "no hooks: mem_sys_new");
        CHECK(mr_init_container(&r2, "bare", UINT64_MAX) == 0,
              "no hooks: root");
        r = testdev_init(&d2, variants[i], NULL);
        CHECK(r == 0, "no hooks: testdev_init: %d", r);
        CHECK(mr_add_subregion(&r2, TESTDEV_BASE, &d2.regs) == 0,
              "no hooks: add");
        CHECK(as_new(s2, "bare", &r2, MR_SIZE_2_64, &a2) == 0,
              "no hooks: as_new");
        v = 1;
        CHECK(as_access(a2, TESTDEV_BASE + TESTDEV_REG_RAM_SIZE, &v, 8,
                        false) == 0 &&
                  v == 0,
              "no hooks: RAM_SIZE 0x%" PRIx64, v);
        v = 1;
        CHECK(as_access(a2, TESTDEV_BASE + TESTDEV_REG_VCPU_ID, &v, 8, false) ==
                      0 &&
                  v == 0,
              "no hooks: VCPU_ID 0x%" PRIx64, v);
        v = 'x';
        CHECK(as_access(a2, TESTDEV_BASE + TESTDEV_REG_CONSOLE_PUTC, &v, 1,
                        true) == 0,
              "no hooks: putc");
        v = TESTDEV_CONSOLE_BUF(0x100, 16);
        CHECK(as_access(a2, TESTDEV_BASE + TESTDEV_REG_CONSOLE_BUF, &v, 8,
                        true) == 0,
              "no hooks: console buffer");
        v = 3;
        CHECK(as_access(a2, TESTDEV_BASE + TESTDEV_REG_EXIT, &v, 8, true) == 0,
              "no hooks: exit");
        v = 0;
        CHECK(as_access(a2, TESTDEV_BASE + TESTDEV_REG_MAGIC, &v, 4, false) ==
                      0 &&
                  v == TESTDEV_MAGIC,
              "no hooks: MAGIC");
        CHECK(mr_del_subregion(&r2, &d2.regs) == 0, "no hooks: del");
        mem_sys_free(s2);
        CHECK(testdev_destroy(&d2) == 0, "no hooks: destroy");
        CHECK(mr_destroy(&r2) == 0, "no hooks: root destroy");
    }
}

/* ---- random storm ---- */

/* One storm thread: its own generator and counts. */
struct storm {
    pthread_t thread;
    uint64_t rng;
    unsigned accesses;
    unsigned ok;
    unsigned cmds;
};

static uint64_t rng(struct storm *st)
{
    /* xorshift64* */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545f4914f6cdd1dull;
}

/* An address a region may be sent to: mostly the hole, sometimes anywhere
 * (including over the registers and beyond MAXPHYADDR). */
static gpa_t storm_target(struct storm *st)
{
    static const gpa_t spots[] = {
        TESTDEV_TOGGLE_BASE,
        TESTDEV_TOGGLE_ALT_BASE,
        TESTDEV_ROM_BASE,
        TESTDEV_RAM_BASE,
        TESTDEV_ALIAS_BASE,
        TESTDEV_SCRATCH_BASE,
        TESTDEV_BASE,
        0,
        TOP,
        MOVE_LIMIT,
    };
    uint64_t r = rng(st);

    if (r % 4) {
        return spots[(r >> 8) % (sizeof(spots) / sizeof(spots[0]))];
    }
    return rng(st);
}

/* An address to access: a register, a region's home or the spare page. */
static gpa_t storm_addr(struct storm *st, unsigned size)
{
    static const gpa_t bases[] = {
        TESTDEV_BASE,         TESTDEV_BASE,        TESTDEV_BASE,
        TESTDEV_ROM_BASE,     TESTDEV_RAM_BASE,    TESTDEV_ALIAS_BASE,
        TESTDEV_SCRATCH_BASE, TESTDEV_TOGGLE_BASE, TESTDEV_TOGGLE_ALT_BASE,
    };
    uint64_t r = rng(st);
    gpa_t base = bases[r % (sizeof(bases) / sizeof(bases[0]))];
    uint64_t off;

    if (base == TESTDEV_BASE && (r >> 8) % 4) {
        off = (r >> 16) % 0x88; /* the registers, and just past them */
    } else {
        off = (r >> 16) % 0x1000;
    }
    if ((r >> 40) % 8) {
        off &= ~(uint64_t)(size - 1); /* mostly naturally aligned */
    }
    return base + off;
}

static void storm_run(struct storm *st)
{
    for (unsigned i = 0; i < st->accesses; i++) {
        unsigned size = 1u << (rng(st) % 4);
        uint64_t v = rng(st);
        bool write = rng(st) & 1;
        gpa_t addr;

        switch (rng(st) % 16) {
        case 0: /* a region command */
            v = TESTDEV_REGION_CMD(rng(st) % 5, rng(st) % 8, storm_target(st));
            if (rng(st) % 8 == 0) {
                v = rng(st);
            }
            addr = TESTDEV_BASE + TESTDEV_REG_REGION_CMD;
            size = 8;
            write = true;
            st->cmds++;
            break;
        case 1: /* a console buffer */
            v = TESTDEV_CONSOLE_BUF(rng(st) % (GMEM_SIZE + 0x100),
                                    rng(st) % (TESTDEV_CONSOLE_BUF_MAX + 16));
            if (rng(st) % 4 == 0) {
                v = rng(st);
            }
            addr = TESTDEV_BASE + TESTDEV_REG_CONSOLE_BUF;
            size = 8;
            write = true;
            break;
        default:
            addr = storm_addr(st, size);
            break;
        }
        if (as_access(as, addr, &v, size, write) == 0) {
            st->ok++;
        }
    }
}

static void *storm_thread(void *arg)
{
    rcu_register_thread();
    storm_run(arg);
    rcu_unregister_thread();
    return NULL;
}

/* Put every region back home, enabled, and check the device answers. */
static void storm_restore(const char *what)
{
    mem_begin(sys);
    for (size_t i = 1; i < NR_PLACES; i++) {
        CHECK(mr_set_address(places[i].mr, places[i].base) == 0, "restore %s",
              mr_name(places[i].mr));
        CHECK(mr_set_enabled(places[i].mr, true) == 0, "enable %s",
              mr_name(places[i].mr));
    }
    CHECK(mem_commit(sys) == 0, "restore commit");
    for (size_t i = 0; i < NR_PLACES; i++) {
        CHECK(mr_at(places[i].base, NULL) ==
                  (places[i].mr == &td.alias ? &td.ram : places[i].mr),
              "after the %s: %s is not home", what, mr_name(places[i].mr));
    }
    check_reg_all_sizes("MAGIC after the storm", TESTDEV_REG_MAGIC,
                        TESTDEV_MAGIC);
    CHECK(rec.max_read <= TESTDEV_CONSOLE_BUF_MAX,
          "%s: read_guest asked for %zu bytes", what, rec.max_read);
    CHECK(rec.max_write <= TESTDEV_CONSOLE_BUF_MAX,
          "%s: console write of %zu bytes", what, rec.max_write);
}

/* (threads) vCPU-like threads (0: this one alone) make (accesses) random
 * accesses each. */
static void test_storm(uint64_t seed, unsigned accesses, unsigned threads)
{
    struct storm st[STORM_MAX_THREADS + 1];
    unsigned n = threads ? threads : 1, ok = 0, cmds = 0;
    char what[64];

    if (n > STORM_MAX_THREADS) {
        n = STORM_MAX_THREADS;
    }
    rec.max_read = 0;
    rec.max_write = 0;
    for (unsigned t = 0; t < n; t++) {
        st[t] = (struct storm){.rng = (seed ? seed : 1) + t * 0x9e3779b9ull,
                               .accesses = accesses};
    }
    if (!threads) {
        storm_run(&st[0]);
    } else {
        for (unsigned t = 0; t < n; t++) {
            int r = pthread_create(&st[t].thread, NULL, storm_thread, &st[t]);

            CHECK(r == 0, "pthread_create: %d", r);
            if (r != 0) {
                n = t;
                break;
            }
        }
        for (unsigned t = 0; t < n; t++) {
            pthread_join(st[t].thread, NULL);
        }
    }
    for (unsigned t = 0; t < n; t++) {
        ok += st[t].ok;
        cmds += st[t].cmds;
    }
    snprintf(what, sizeof(what), "%u-thread storm", n);
    storm_restore(what);
    printf("test_testdev: %s, seed 0x%" PRIx64 ", %u accesses each (%u "
           "region commands, %u ok)\n",
           what, seed, accesses, cmds, ok);
}

/* ---- teardown ---- */

static void teardown(void)
{
    int r;

    if (placed) {
        /* Attached regions are in use: nothing is released. */
        r = testdev_destroy(&td);
        CHECK(r == -EBUSY, "testdev_destroy while attached: %d", r);
        /* Detach the toggle alone: destroy releases it, then stops at the
         * scratch region, which is still attached. */
        CHECK(mr_del_subregion(&root, &td.toggle) == 0, "del toggle");
        mem_sys_synchronize(sys);
        r = testdev_destroy(&td);
        CHECK(r == -EBUSY, "testdev_destroy with scratch attached: %d", r);
    }
    if (sys) {
        mem_begin(sys);
        for (size_t i = 0; i < NR_PLACES; i++) {
            if (places[i].mr->container) {
                r = mr_del_subregion(&root, places[i].mr);
                CHECK(r == 0, "del %s: %d", mr_name(places[i].mr), r);
            }
        }
        r = mem_commit(sys);
        CHECK(r == 0, "teardown commit: %d", r);
        mem_sys_free(sys);
        sys = NULL;
    }
    if (td_live) {
        r = testdev_destroy(&td);
        CHECK(r == 0, "testdev_destroy: %d", r);
        td_live = false;
    }
    if (root_live) {
        r = mr_destroy(&root);
        CHECK(r == 0, "root destroy: %d", r);
        root_live = false;
    }
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : DEFAULT_SEED;
    unsigned accesses =
        argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : DEFAULT_ACCESSES;

    rcu_register_thread();
    if (setup()) {
        test_registers();
        test_console_putc();
        test_console_buf();
        test_exit();
        test_region_commands();
        test_toggle_contents();
        test_rom();
        test_ram_alias();
        test_scratch(TESTDEV_SCRATCH_BASE);
        test_scratch_moved();
        test_no_hooks();
        test_storm(seed, accesses, 0);
        test_storm(seed, accesses / STORM_THREADS, STORM_THREADS);
    }
    teardown();
    rcu_unregister_thread();
    printf("test_testdev: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
