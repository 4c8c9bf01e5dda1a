/* SPDX-License-Identifier: MIT */
/*
 * Dispatch tests: as_read(), as_write() and as_access() on a "memory" and
 * an "io" address space. I/O regions are register files whose ops record
 * every call (offset, size, value) and check that they only ever see what
 * their impl sizes promise, so each case can say exactly which calls an
 * access must turn into: splitting to impl.max, widening to impl.min with
 * read-modify-write, valid checks, unaligned accesses, accesses crossing
 * range boundaries, unassigned space, ROM, readonly aliases, RAM, and
 * region-relative offsets through aliases.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "mem/address_space.h"
#include "mem/region.h"
#include "mem/types.h"
#include "unit.h"

static unsigned unit_failures;

#define DEV_SIZE 0x1000
#define MAX_CALLS 64

struct call {
    bool write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
};

/* A register file behind an I/O (or ROM) region. */
struct dev {
    const char *name;
    const struct mr_ops *ops;
    uint64_t size;
    uint8_t regs[DEV_SIZE];
    struct call calls[MAX_CALLS];
    unsigned n;
    /* Calls that broke the impl contract (sizes, alignment, bounds). */
    unsigned violations;
};

static uint64_t le_get(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void le_put(uint8_t *p, uint64_t v, unsigned size)
{
    uint8_t t[8];

    for (unsigned i = 0; i < sizeof(t); i++) {
        t[i] = (uint8_t)(v >> (8 * i));
    }
    memcpy(p, t, size < sizeof(t) ? size : sizeof(t));
}

/* Does a call of (size) at (offset) keep the impl promise of (d)? */
static bool dev_call_ok(struct dev *d, uint64_t offset, unsigned size)
{
    unsigned min = d->ops->impl.min_access_size;
    unsigned max = d->ops->impl.max_access_size;

    min = min ? min : 1;
    max = max ? max : 8;

    if (size != 1 && size != 2 && size != 4 && size != 8) {
        return false;
    }
    if (size < min || size > max) {
        return false;
    }
    if (!d->ops->impl.unaligned && offset % size) {
        return false;
    }
    return offset < d->size && size <= d->size - offset;
}

static void dev_record(struct dev *d, bool write, uint64_t offset,
                       unsigned size, uint64_t value)
{
    if (!dev_call_ok(d, offset, size)) {
        d->violations++;
        fprintf(stderr, "  %s: bad %s call: offset 0x%" PRIx64 " size %u\n",
                d->name, write ? "write" : "read", offset, size);
    }
    if (d->n < MAX_CALLS) {
        d->calls[d->n++] = (struct call){write, offset, size, value};
    }
}

static uint64_t dev_read(void *opaque, uint64_t offset, unsigned size)
{
    struct dev *d = opaque;
    uint64_t v = ~0ull;

    if (offset < DEV_SIZE && size <= 8 && size <= DEV_SIZE - offset) {
        v = le_get(&d->regs[offset], size);
    }
    dev_record(d, false, offset, size, v);
    return v;
}

static void dev_write(void *opaque, uint64_t offset, uint64_t value,
                      unsigned size)
{
    struct dev *d = opaque;

    dev_record(d, true, offset, size, value);
    if (offset < DEV_SIZE && size <= 8 && size <= DEV_SIZE - offset) {
        le_put(&d->regs[offset], value, size);
    }
}

#define OPS(vmin, vmax, vun, imin, imax, iun)                                  \
    {                                                                          \
        .read = dev_read, .write = dev_write,                                  \
        .valid = {.min_access_size = vmin,                                     \
                  .max_access_size = vmax,                                     \
                  .unaligned = vun},                                           \
        .impl = {.min_access_size = imin,                                      \
                 .max_access_size = imax,                                      \
                 .unaligned = iun},                                            \
    }

/* 8-byte guest accesses, 4-byte callbacks. */
static const struct mr_ops split_ops = OPS(1, 8, false, 1, 4, false);
/* Byte accesses, 4-byte callbacks. */
static const struct mr_ops wide_ops = OPS(1, 4, false, 4, 4, false);
/* Only aligned 2- and 4-byte accesses. */
static const struct mr_ops strict_ops = OPS(2, 4, false, 2, 4, false);
/* Unaligned everything. */
static const struct mr_ops unal_ops = OPS(1, 8, true, 1, 8, true);
/* The guest may access unaligned, the callbacks may not be. */
static const struct mr_ops unal_guest_ops = OPS(1, 8, true, 1, 8, false);
/* Up to 4 bytes, aligned. */
static const struct mr_ops byte_ops = OPS(1, 4, false, 1, 4, false);
/* All zero: 1..8, aligned. */
static const struct mr_ops default_ops = OPS(0, 0, false, 0, 0, false);
/* The write side of a ROM. */
static const struct mr_ops rom_ops = OPS(1, 8, false, 1, 8, false);
/* A UART: bytes only. */
static const struct mr_ops uart_ops = OPS(1, 1, false, 1, 1, false);

enum {
    D_EDGE,
    D_SPLIT,
    D_WIDE,
    D_STRICT,
    D_UNAL,
    D_UNAL_GUEST,
    D_BYTE,
    D_DEFAULT,
    D_ROM,
    D_UART,
    D_PORTEDGE,
    D_SWITCH,
    NR_DEVS,
};

static struct dev devs[NR_DEVS];

/* Regions, in creation order (targets before aliases). */
enum {
    M_ROOT,
    M_RAM,
    M_TAIL,
    M_RO_RAM,
    M_EDGE,
    M_SPLIT,
    M_WIDE,
    M_STRICT,
    M_UNAL,
    M_UNAL_GUEST,
    M_BYTE,
    M_DEFAULT,
    M_ROM,
    M_ROM_NOOPS,
    M_RO_ALIAS,
    M_DEVWIN,
    M_RO_ROM_ALIAS,
    M_FLIP,
    M_SWITCH,
    M_IOROOT,
    M_UART,
    M_PORTEDGE,
    NR_MRS,
};

static struct mem_region mrs[NR_MRS];
/* What the last mr_set_enabled() from inside switch_write() returned. */
static int switch_rc;

/* A device whose register maps or unmaps "flip": an edit from inside an
 * op, which the locking rules allow. */
static void switch_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    dev_write(opaque, offset, value, size);
    switch_rc = mr_set_enabled(&mrs[M_FLIP], value & 1);
}

static const struct mr_ops switch_ops = {
    .read = dev_read,
    .write = switch_write,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 4},
};
static unsigned nr_mrs;
static struct mem_sys *sys;
static struct address_space *mem_as;
static struct address_space *io_as;

#define RAM_BASE 0x0ull
#define RAM_SIZE 0x10000ull
#define EDGE_BASE 0x10000ull
#define SPLIT_BASE 0x20000ull
#define WIDE_BASE 0x21000ull
#define STRICT_BASE 0x22000ull
#define UNAL_BASE 0x23000ull
#define UNAL_GUEST_BASE 0x24000ull
#define BYTE_BASE 0x25000ull
#define DEFAULT_BASE 0x26000ull
#define ROM_BASE 0x30000ull
#define ROM_NOOPS_BASE 0x31000ull
#define RO_ALIAS_BASE 0x40000ull
#define DEVWIN_BASE 0x50000ull
#define RO_RAM_BASE 0x60000ull
#define TAIL_BASE 0x70000ull
#define RO_ROM_ALIAS_BASE 0x90000ull
#define FLIP_BASE 0xa0000ull
#define SWITCH_BASE 0xb0000ull
#define UNASSIGNED 0x80000000ull

static void dev_setup(unsigned i, const char *name, const struct mr_ops *ops,
                      uint64_t size)
{
    struct dev *d = &devs[i];

    d->name = name;
    d->ops = ops;
    d->size = size;
    for (unsigned k = 0; k < DEV_SIZE; k++) {
        d->regs[k] = (uint8_t)(k * 7 + 3 + i * 16);
    }
}

static void dev_clear(unsigned i)
{
    devs[i].n = 0;
}

static bool setup(void)
{
    int rc = 0;
    uint8_t pattern[0x1000];

    dev_setup(D_EDGE, "edge", &byte_ops, 0x1000);
    dev_setup(D_SPLIT, "split", &split_ops, 0x100);
    dev_setup(D_WIDE, "wide", &wide_ops, 0x100);
    dev_setup(D_STRICT, "strict", &strict_ops, 0x100);
    dev_setup(D_UNAL, "unal", &unal_ops, 0x100);
    dev_setup(D_UNAL_GUEST, "unal-guest", &unal_guest_ops, 0x100);
    dev_setup(D_BYTE, "byte", &byte_ops, 0x100);
    dev_setup(D_DEFAULT, "default", &default_ops, 0x100);
    dev_setup(D_ROM, "rom", &rom_ops, 0x1000);
    dev_setup(D_UART, "uart", &uart_ops, 8);
    dev_setup(D_PORTEDGE, "portedge", &byte_ops, 0x10);
    dev_setup(D_SWITCH, "switch", &switch_ops, 0x10);

#define INIT(expr)                                                             \
    do {                                                                       \
        if (rc == 0) {                                                         \
            rc = (expr);                                                       \
            if (rc == 0) {                                                     \
                nr_mrs++;                                                      \
            }                                                                  \
        }                                                                      \
    } while (0)
#define IO(m, d, name)                                                         \
    INIT(mr_init_io(&mrs[m], name, devs[d].size, devs[d].ops, &devs[d]))

    INIT(mr_init_container(&mrs[M_ROOT], "root", UINT64_MAX));
    INIT(mr_init_ram(&mrs[M_RAM], "ram", RAM_SIZE));
    INIT(mr_init_ram(&mrs[M_TAIL], "tail", 0x1000));
    INIT(mr_init_ram(&mrs[M_RO_RAM], "ro-ram", 0x1000));
    IO(M_EDGE, D_EDGE, "edge");
    IO(M_SPLIT, D_SPLIT, "split");
    IO(M_WIDE, D_WIDE, "wide");
    IO(M_STRICT, D_STRICT, "strict");
    IO(M_UNAL, D_UNAL, "unal");
    IO(M_UNAL_GUEST, D_UNAL_GUEST, "unal-guest");
    IO(M_BYTE, D_BYTE, "byte");
    IO(M_DEFAULT, D_DEFAULT, "default");
    INIT(mr_init_rom(&mrs[M_ROM], "rom", 0x1000, &rom_ops, &devs[D_ROM]));
    INIT(mr_init_rom(&mrs[M_ROM_NOOPS], "rom-noops", 0x1000, NULL, NULL));
    INIT(mr_init_alias(&mrs[M_RO_ALIAS], "ro-alias", &mrs[M_RAM], 0x1000,
                       0x1000));
    INIT(mr_init_alias(&mrs[M_DEVWIN], "devwin", &mrs[M_UNAL], 0x10, 0x40));
    INIT(mr_init_alias(&mrs[M_RO_ROM_ALIAS], "ro-rom-alias", &mrs[M_ROM], 0x100,
                       0x100));
    INIT(mr_init_ram(&mrs[M_FLIP], "flip", 0x1000));
    IO(M_SWITCH, D_SWITCH, "switch");
    INIT(mr_init_container(&mrs[M_IOROOT], "ioroot", UINT64_MAX));
    IO(M_UART, D_UART, "uart");
    IO(M_PORTEDGE, D_PORTEDGE, "portedge");
#undef IO
#undef INIT
    if (rc) {
        CHECK(0, "region init: %d", rc);
        return false;
    }

    rc = mem_sys_new(&sys);
    if (rc) {
        CHECK(0, "mem_sys_new: %d", rc);
        return false;
    }
    rc = as_new(sys, "memory", &mrs[M_ROOT], MR_SIZE_2_64, &mem_as);
    rc = rc ? rc : as_new(sys, "io", &mrs[M_IOROOT], 0x10000, &io_as);
    if (rc) {
        CHECK(0, "as_new: %d", rc);
        return false;
    }

    /* Build the map in one transaction, after the spaces exist. */
    mem_begin(sys);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], RAM_BASE, &mrs[M_RAM]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], TAIL_BASE, &mrs[M_TAIL]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], RO_RAM_BASE, &mrs[M_RO_RAM]);
    rc = rc ? rc : mr_set_readonly(&mrs[M_RO_RAM], true);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], EDGE_BASE, &mrs[M_EDGE]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], SPLIT_BASE, &mrs[M_SPLIT]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], WIDE_BASE, &mrs[M_WIDE]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], STRICT_BASE, &mrs[M_STRICT]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], UNAL_BASE, &mrs[M_UNAL]);
    rc = rc ? rc
            : mr_add_subregion(&mrs[M_ROOT], UNAL_GUEST_BASE,
                               &mrs[M_UNAL_GUEST]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], BYTE_BASE, &mrs[M_BYTE]);
    rc =
        rc ? rc : mr_add_subregion(&mrs[M_ROOT], DEFAULT_BASE, &mrs[M_DEFAULT]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], ROM_BASE, &mrs[M_ROM]);
    rc = rc ? rc
            : mr_add_subregion(&mrs[M_ROOT], ROM_NOOPS_BASE, &mrs[M_ROM_NOOPS]);
    rc = rc ? rc
            : mr_add_subregion(&mrs[M_ROOT], RO_ALIAS_BASE, &mrs[M_RO_ALIAS]);
    rc = rc ? rc : mr_set_readonly(&mrs[M_RO_ALIAS], true);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], DEVWIN_BASE, &mrs[M_DEVWIN]);
    rc = rc ? rc
            : mr_add_subregion(&mrs[M_ROOT], RO_ROM_ALIAS_BASE,
                               &mrs[M_RO_ROM_ALIAS]);
    rc = rc ? rc : mr_set_readonly(&mrs[M_RO_ROM_ALIAS], true);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], FLIP_BASE, &mrs[M_FLIP]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_ROOT], SWITCH_BASE, &mrs[M_SWITCH]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_IOROOT], 0x3f8, &mrs[M_UART]);
    rc = rc ? rc : mr_add_subregion(&mrs[M_IOROOT], 0xfff8, &mrs[M_PORTEDGE]);
    if (mem_commit(sys) != 0 || rc) {
        CHECK(0, "building the map: %d", rc);
        return false;
    }

    /* Known contents in RAM and ROM. */
    for (unsigned k = 0; k < sizeof(pattern); k++) {
        pattern[k] = (uint8_t)(k ^ 0xa5);
    }
    rc = mr_rom_write(&mrs[M_ROM], 0, pattern, sizeof(pattern));
    CHECK(rc == 0, "mr_rom_write(rom): %d", rc);
    rc = mr_rom_write(&mrs[M_ROM_NOOPS], 0, pattern, sizeof(pattern));
    CHECK(rc == 0, "mr_rom_write(rom-noops): %d", rc);
    {
        uint8_t *ram = mr_ram_ptr(&mrs[M_RAM], 0);

        CHECK(ram != NULL, "mr_ram_ptr(ram) is NULL");
        if (!ram) {
            return false;
        }
        for (uint64_t k = 0; k < RAM_SIZE; k++) {
            ram[k] = (uint8_t)(k * 13 + (k >> 8));
        }
    }
    return true;
}

static void teardown(void)
{
    /* Detach while the mem_sys lives (test_listener covers detaching after
     * mem_sys_free()). */
    if (sys) {
        mem_begin(sys);
    }
    for (unsigned i = 0; i < nr_mrs; i++) {
        if (mrs[i].container) {
            int rc = mr_del_subregion(mrs[i].container, &mrs[i]);

            CHECK(rc == 0, "teardown: del %s: %d", mr_name(&mrs[i]), rc);
        }
    }
    if (sys) {
        int rc = mem_commit(sys);

        CHECK(rc == 0, "teardown: commit: %d", rc);
        mem_sys_free(sys);
        sys = NULL;
    }
    for (unsigned i = nr_mrs; i-- > 0;) {
        int rc = mr_destroy(&mrs[i]);

        CHECK(rc == 0, "teardown: destroy %s: %d", mr_name(&mrs[i]), rc);
    }
}

/* ---- helpers ---- */

static const char *err_name(int rc)
{
    switch (rc) {
    case 0:
        return "0";
    case -EINVAL:
        return "-EINVAL";
    case -ENXIO:
        return "-ENXIO";
    case -EROFS:
        return "-EROFS";
    default:
        return "other";
    }
}

static void expect_rc(const char *what, int rc, int want)
{
    CHECK(rc == want, "%s: returned %d (%s), want %d (%s)", what, rc,
          err_name(rc), want, err_name(want));
}

static bool call_eq(const struct call *c, const struct call *w)
{
    return c->write == w->write && c->offset == w->offset &&
           c->size == w->size && (!w->write || c->value == w->value);
}

/* Each of (want) was called once, in any order. */
static bool calls_match_unordered(const struct dev *dv, const struct call *want,
                                  unsigned n)
{
    bool used[MAX_CALLS] = {false};

    if (dv->n != n) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned j;

        for (j = 0; j < dv->n; j++) {
            if (!used[j] && call_eq(&dv->calls[j], &want[i])) {
                used[j] = true;
                break;
            }
        }
        if (j == dv->n) {
            return false;
        }
    }
    return true;
}

/* The calls (d) got since dev_clear() are exactly (want), in order unless
 * (any_order). */
static void expect_calls_order(const char *what, unsigned d,
                               const struct call *want, unsigned n,
                               bool any_order)
{
    const struct dev *dv = &devs[d];
    bool ok = dv->n == n;

    for (unsigned i = 0; ok && i < n; i++) {
        ok = call_eq(&dv->calls[i], &want[i]);
    }
    if (!ok && any_order) {
        ok = calls_match_unordered(dv, want, n);
    }
    if (!ok) {
        CHECK(0, "%s: wrong calls to %s", what, dv->name);
        fprintf(stderr, "  want:\n");
        for (unsigned i = 0; i < n; i++) {
            fprintf(stderr,
                    "    %s off 0x%" PRIx64 " size %u val 0x%" PRIx64 "\n",
                    want[i].write ? "W" : "R", want[i].offset, want[i].size,
                    want[i].value);
        }
        fprintf(stderr, "  got:\n");
        for (unsigned i = 0; i < dv->n; i++) {
            const struct call *c = &dv->calls[i];

            fprintf(stderr,
                    "    %s off 0x%" PRIx64 " size %u val 0x%" PRIx64 "\n",
                    c->write ? "W" : "R", c->offset, c->size, c->value);
        }
    }
}

static void expect_calls(const char *what, unsigned d, const struct call *want,
                         unsigned n)
{
    expect_calls_order(what, d, want, n, false);
}

#define EXPECT_CALLS(what, d, ...)                                             \
    do {                                                                       \
        static const struct call want_[] = {__VA_ARGS__};                      \
        expect_calls(what, d, want_, sizeof(want_) / sizeof(want_[0]));        \
    } while (0)

#define EXPECT_CALLS_ANY_ORDER(what, d, ...)                                   \
    do {                                                                       \
        static const struct call want_[] = {__VA_ARGS__};                      \
        expect_calls_order(what, d, want_, sizeof(want_) / sizeof(want_[0]),   \
                           true);                                              \
    } while (0)

#define EXPECT_NO_CALLS(what, d)                                               \
    CHECK(devs[d].n == 0, "%s: %s got %u calls, want none", what,              \
          devs[d].name, devs[d].n)

#define R_(off, sz)                                                            \
    {                                                                          \
        false, off, sz, 0                                                      \
    }
#define W_(off, sz, v)                                                         \
    {                                                                          \
        true, off, sz, v                                                       \
    }

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xff) {
            return false;
        }
    }
    return true;
}

static int access_read(struct address_space *as, gpa_t addr, unsigned len,
                       uint64_t *val)
{
    uint8_t b[8];
    int rc;

    if (len > sizeof(b)) {
        return -E2BIG;
    }
    memset(b, 0x5c, sizeof(b));
    rc = as_access(as, addr, b, len, false);
    *val = le_get(b, len);
    return rc;
}

static int access_write(struct address_space *as, gpa_t addr, unsigned len,
                        uint64_t val)
{
    uint8_t b[8];

    if (len > sizeof(b)) {
        return -E2BIG;
    }
    le_put(b, val, len);
    return as_access(as, addr, b, len, true);
}

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* ---- cases ---- */

static void test_split(void)
{
    struct dev *d = &devs[D_SPLIT];
    uint64_t want = le_get(&d->regs[0x10], 8);
    uint64_t v;
    int rc;

    dev_clear(D_SPLIT);
    rc = access_read(mem_as, SPLIT_BASE + 0x10, 8, &v);
    expect_rc("split read", rc, 0);
    CHECK(v == want, "split read: 0x%" PRIx64 ", want 0x%" PRIx64, v, want);
    EXPECT_CALLS_ANY_ORDER("split read", D_SPLIT, R_(0x10, 4), R_(0x14, 4));

    dev_clear(D_SPLIT);
    rc = access_write(mem_as, SPLIT_BASE + 0x18, 8, 0x1122334455667788ull);
    expect_rc("split write", rc, 0);
    EXPECT_CALLS_ANY_ORDER("split write", D_SPLIT, W_(0x18, 4, 0x55667788),
                           W_(0x1c, 4, 0x11223344));
    CHECK(le_get(&d->regs[0x18], 8) == 0x1122334455667788ull,
          "split write: registers not updated");

    /* as_read of 16 bytes: two 8-byte guest-sized pieces, each two
     * 4-byte calls. */
    {
        uint8_t b[16];

        dev_clear(D_SPLIT);
        rc = as_read(mem_as, SPLIT_BASE + 0x20, b, sizeof(b));
        expect_rc("split as_read 16", rc, 0);
        CHECK(memcmp(b, &d->regs[0x20], 16) == 0, "split as_read 16: data");
        EXPECT_CALLS_ANY_ORDER("split as_read 16", D_SPLIT, R_(0x20, 4),
                               R_(0x24, 4), R_(0x28, 4), R_(0x2c, 4));
    }

    /*
     * The header leaves the order of the pieces open; a little-endian bus
     * (and QEMU's access_with_adjusted_size()) goes up in address for
     * reads as for writes, which matters for registers that latch (read
     * the low half, then the high half of a counter).
     */
    dev_clear(D_SPLIT);
    rc = access_read(mem_as, SPLIT_BASE + 0x30, 8, &v);
    expect_rc("split read order", rc, 0);
    EXPECT_CALLS("split read order (ascending)", D_SPLIT, R_(0x30, 4),
                 R_(0x34, 4));
    dev_clear(D_SPLIT);
    rc = access_write(mem_as, SPLIT_BASE + 0x30, 8, 0x0123456789abcdefull);
    expect_rc("split write order", rc, 0);
    EXPECT_CALLS("split write order (ascending)", D_SPLIT,
                 W_(0x30, 4, 0x89abcdef), W_(0x34, 4, 0x01234567));
}

static void test_widen(void)
{
    struct dev *d = &devs[D_WIDE];
    uint8_t before[8];
    uint64_t v, want;
    int rc;

    dev_clear(D_WIDE);
    rc = access_read(mem_as, WIDE_BASE + 5, 1, &v);
    expect_rc("widen read 1", rc, 0);
    CHECK(v == d->regs[5], "widen read 1: 0x%" PRIx64 ", want 0x%x", v,
          d->regs[5]);
    EXPECT_CALLS("widen read 1", D_WIDE, R_(4, 4));

    dev_clear(D_WIDE);
    rc = access_read(mem_as, WIDE_BASE + 2, 2, &v);
    expect_rc("widen read 2", rc, 0);
    want = le_get(&d->regs[2], 2);
    CHECK(v == want, "widen read 2: 0x%" PRIx64 ", want 0x%" PRIx64, v, want);
    EXPECT_CALLS("widen read 2", D_WIDE, R_(0, 4));

    /* A byte write is a read-modify-write of the aligned word. */
    memcpy(before, &d->regs[4], 4);
    dev_clear(D_WIDE);
    rc = access_write(mem_as, WIDE_BASE + 6, 1, 0xab);
    expect_rc("widen write 1", rc, 0);
    want = le_get(before, 4);
    want = (want & ~(0xffull << 16)) | (0xabull << 16);
    {
        struct call w[2] = {R_(4, 4), W_(4, 4, want)};

        expect_calls("widen write 1", D_WIDE, w, 2);
    }
    CHECK(d->regs[6] == 0xab && d->regs[4] == before[0] &&
              d->regs[5] == before[1] && d->regs[7] == before[3],
          "widen write 1: registers");

    memcpy(before, &d->regs[0x10], 4);
    dev_clear(D_WIDE);
    rc = access_write(mem_as, WIDE_BASE + 0x12, 2, 0xbeef);
    expect_rc("widen write 2", rc, 0);
    want = (le_get(before, 4) & 0xffffull) | (0xbeefull << 16);
    {
        struct call w[2] = {R_(0x10, 4), W_(0x10, 4, want)};

        expect_calls("widen write 2", D_WIDE, w, 2);
    }
}

static void test_valid(void)
{
    struct dev *d = &devs[D_STRICT];
    uint8_t regs[0x100];
    uint8_t b[8];
    uint64_t v;
    int rc;
    static const struct {
        const char *what;
        uint64_t off;
        unsigned len;
    } bad[] = {
        {"below valid.min", 0, 1},  {"above valid.max", 0, 8},
        {"unaligned 4", 2, 4},      {"unaligned 2", 1, 2},
        {"unaligned 4 at 6", 6, 4},
    };

    memcpy(regs, d->regs, sizeof(regs));
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char what[80];

        snprintf(what, sizeof(what), "valid read %s", bad[i].what);
        dev_clear(D_STRICT);
        memset(b, 0x5c, sizeof(b));
        rc = as_access(mem_as, STRICT_BASE + bad[i].off, b, bad[i].len, false);
        expect_rc(what, rc, -EINVAL);
        CHECK(all_ff(b, bad[i].len), "%s: data not all-ones", what);
        EXPECT_NO_CALLS(what, D_STRICT);

        snprintf(what, sizeof(what), "valid write %s", bad[i].what);
        dev_clear(D_STRICT);
        memset(b, 0x77, sizeof(b));
        rc = as_access(mem_as, STRICT_BASE + bad[i].off, b, bad[i].len, true);
        expect_rc(what, rc, -EINVAL);
        EXPECT_NO_CALLS(what, D_STRICT);
        CHECK(memcmp(regs, d->regs, sizeof(regs)) == 0, "%s: registers changed",
              what);
    }

    dev_clear(D_STRICT);
    rc = access_read(mem_as, STRICT_BASE + 4, 4, &v);
    expect_rc("valid read 4", rc, 0);
    CHECK(v == le_get(&d->regs[4], 4), "valid read 4: value");
    EXPECT_CALLS("valid read 4", D_STRICT, R_(4, 4));

    dev_clear(D_STRICT);
    rc = access_read(mem_as, STRICT_BASE + 6, 2, &v);
    expect_rc("valid read 2", rc, 0);
    EXPECT_CALLS("valid read 2", D_STRICT, R_(6, 2));

    dev_clear(D_STRICT);
    rc = access_write(mem_as, STRICT_BASE + 8, 2, 0x1234);
    expect_rc("valid write 2", rc, 0);
    EXPECT_CALLS("valid write 2", D_STRICT, W_(8, 2, 0x1234));

    /* as_read() cannot find any allowed size for a lone byte. */
    dev_clear(D_STRICT);
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, STRICT_BASE + 3, b, 1);
    expect_rc("as_read 1 byte of strict", rc, -EINVAL);
    CHECK(b[0] == 0xff, "as_read 1 byte of strict: not 0xff");
    EXPECT_NO_CALLS("as_read 1 byte of strict", D_STRICT);

    /* Defaults: min 1, max 8, aligned. */
    dev_clear(D_DEFAULT);
    rc = access_read(mem_as, DEFAULT_BASE + 8, 8, &v);
    expect_rc("default read 8", rc, 0);
    EXPECT_CALLS("default read 8", D_DEFAULT, R_(8, 8));
    dev_clear(D_DEFAULT);
    rc = access_read(mem_as, DEFAULT_BASE + 3, 1, &v);
    expect_rc("default read 1", rc, 0);
    EXPECT_CALLS("default read 1", D_DEFAULT, R_(3, 1));
    dev_clear(D_DEFAULT);
    rc = access_read(mem_as, DEFAULT_BASE + 2, 4, &v);
    expect_rc("default read unaligned", rc, -EINVAL);
    EXPECT_NO_CALLS("default read unaligned", D_DEFAULT);
}

static void test_unaligned(void)
{
    struct dev *d = &devs[D_UNAL];
    struct dev *g = &devs[D_UNAL_GUEST];
    uint8_t before[16];
    uint64_t v, want;
    int rc;

    dev_clear(D_UNAL);
    rc = access_read(mem_as, UNAL_BASE + 3, 4, &v);
    expect_rc("unaligned read", rc, 0);
    want = le_get(&d->regs[3], 4);
    CHECK(v == want, "unaligned read: 0x%" PRIx64 ", want 0x%" PRIx64, v, want);
    EXPECT_CALLS("unaligned read", D_UNAL, R_(3, 4));

    dev_clear(D_UNAL);
    rc = access_write(mem_as, UNAL_BASE + 5, 8, 0x0102030405060708ull);
    expect_rc("unaligned write", rc, 0);
    EXPECT_CALLS("unaligned write", D_UNAL, W_(5, 8, 0x0102030405060708ull));

    /* The guest may be unaligned, the callbacks not: any split that only
     * makes aligned calls and gives the right bytes will do. */
    dev_clear(D_UNAL_GUEST);
    g->violations = 0;
    rc = access_read(mem_as, UNAL_GUEST_BASE + 3, 4, &v);
    expect_rc("unaligned guest read", rc, 0);
    want = le_get(&g->regs[3], 4);
    CHECK(v == want, "unaligned guest read: 0x%" PRIx64 ", want 0x%" PRIx64, v,
          want);
    CHECK(g->n > 0, "unaligned guest read: no calls");

    memcpy(before, &g->regs[0x20], sizeof(before));
    dev_clear(D_UNAL_GUEST);
    rc = access_write(mem_as, UNAL_GUEST_BASE + 0x23, 4, 0xdeadbeef);
    expect_rc("unaligned guest write", rc, 0);
    CHECK(le_get(&g->regs[0x23], 4) == 0xdeadbeef,
          "unaligned guest write: value not stored");
    CHECK(memcmp(&g->regs[0x20], before, 3) == 0 &&
              memcmp(&g->regs[0x27], &before[7], 9) == 0,
          "unaligned guest write: neighbours changed");
    CHECK(g->violations == 0,
          "unaligned guest accesses made %u unaligned or mis-sized calls",
          g->violations);
}

/* as_read()/as_write() use the largest sizes valid allows. */
static void test_as_read_sizes(void)
{
    struct dev *d = &devs[D_BYTE];
    uint8_t b[8];
    int rc;

    dev_clear(D_BYTE);
    rc = as_read(mem_as, BYTE_BASE + 1, b, 7);
    expect_rc("as_read 7 at 1", rc, 0);
    CHECK(memcmp(b, &d->regs[1], 7) == 0, "as_read 7 at 1: data");
    EXPECT_CALLS("as_read 7 at 1", D_BYTE, R_(1, 1), R_(2, 2), R_(4, 4));

    for (unsigned i = 0; i < 7; i++) {
        b[i] = (uint8_t)(0x11 * (i + 1));
    }
    dev_clear(D_BYTE);
    rc = as_write(mem_as, BYTE_BASE + 0x41, b, 7);
    expect_rc("as_write 7 at 0x41", rc, 0);
    EXPECT_CALLS("as_write 7 at 0x41", D_BYTE, W_(0x41, 1, 0x11),
                 W_(0x42, 2, 0x3322), W_(0x44, 4, 0x77665544));
    CHECK(memcmp(b, &d->regs[0x41], 7) == 0, "as_write 7 at 0x41: data");
}

static void test_crossing(void)
{
    struct dev *e = &devs[D_EDGE];
    uint8_t *ram = mr_ram_ptr(&mrs[M_RAM], 0);
    uint8_t *tail = mr_ram_ptr(&mrs[M_TAIL], 0);
    uint8_t b[8], want[8];
    int rc;

    if (!ram || !tail) {
        CHECK(0, "mr_ram_ptr failed");
        return;
    }

    /* RAM -> I/O. */
    dev_clear(D_EDGE);
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, EDGE_BASE - 4, b, 8);
    expect_rc("read ram->io", rc, 0);
    memcpy(want, &ram[RAM_SIZE - 4], 4);
    memcpy(want + 4, &e->regs[0], 4);
    CHECK(memcmp(b, want, 8) == 0, "read ram->io: data");
    EXPECT_CALLS("read ram->io", D_EDGE, R_(0, 4));

    dev_clear(D_EDGE);
    b[0] = 0xa1;
    b[1] = 0xa2;
    b[2] = 0xa3;
    b[3] = 0xa4;
    rc = as_write(mem_as, EDGE_BASE - 2, b, 4);
    expect_rc("write ram->io", rc, 0);
    CHECK(ram[RAM_SIZE - 2] == 0xa1 && ram[RAM_SIZE - 1] == 0xa2,
          "write ram->io: RAM part");
    EXPECT_CALLS("write ram->io", D_EDGE, W_(0, 2, 0xa4a3));

    /* I/O -> unassigned. */
    dev_clear(D_EDGE);
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, EDGE_BASE + 0xffe, b, 4);
    expect_rc("read io->unassigned", rc, -ENXIO);
    CHECK(b[0] == e->regs[0xffe] && b[1] == e->regs[0xfff] && b[2] == 0xff &&
              b[3] == 0xff,
          "read io->unassigned: data %02x %02x %02x %02x", b[0], b[1], b[2],
          b[3]);
    EXPECT_CALLS("read io->unassigned", D_EDGE, R_(0xffe, 2));

    dev_clear(D_EDGE);
    b[0] = 0x01;
    b[1] = 0x02;
    b[2] = 0x03;
    b[3] = 0x04;
    rc = as_write(mem_as, EDGE_BASE + 0xffe, b, 4);
    expect_rc("write io->unassigned", rc, -ENXIO);
    EXPECT_CALLS("write io->unassigned", D_EDGE, W_(0xffe, 2, 0x0201));

    /* RAM -> unassigned. */
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, TAIL_BASE + 0xffc, b, 8);
    expect_rc("read ram->unassigned", rc, -ENXIO);
    CHECK(memcmp(b, &tail[0xffc], 4) == 0 && all_ff(b + 4, 4),
          "read ram->unassigned: data");
    memset(b, 0x66, sizeof(b));
    rc = as_write(mem_as, TAIL_BASE + 0xffc, b, 8);
    expect_rc("write ram->unassigned", rc, -ENXIO);
    CHECK(tail[0xffc] == 0x66 && tail[0xfff] == 0x66,
          "write ram->unassigned: RAM part not written");

    /* Unassigned -> RAM. */
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, TAIL_BASE - 4, b, 8);
    expect_rc("read unassigned->ram", rc, -ENXIO);
    CHECK(all_ff(b, 4) && memcmp(b + 4, &tail[0], 4) == 0,
          "read unassigned->ram: data");
}

static void test_unassigned(void)
{
    uint8_t *ram = mr_ram_ptr(&mrs[M_RAM], 0);
    uint8_t b[16], low[8];
    uint64_t v;
    int rc;

    if (!ram) {
        CHECK(0, "mr_ram_ptr failed");
        return;
    }
    memcpy(low, ram, sizeof(low));
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, UNASSIGNED, b, sizeof(b));
    expect_rc("read unassigned", rc, -ENXIO);
    CHECK(all_ff(b, sizeof(b)), "read unassigned: not all-ones");
    rc = as_write(mem_as, UNASSIGNED, b, sizeof(b));
    expect_rc("write unassigned", rc, -ENXIO);
    rc = access_read(mem_as, UNASSIGNED + 8, 4, &v);
    expect_rc("access read unassigned", rc, -ENXIO);
    CHECK(v == 0xffffffffull, "access read unassigned: 0x%" PRIx64, v);
    rc = access_write(mem_as, UNASSIGNED + 8, 8, 0);
    expect_rc("access write unassigned", rc, -ENXIO);

    /* The last bytes of the space. */
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, UINT64_MAX - 3, b, 4);
    expect_rc("read top of space", rc, -ENXIO);
    CHECK(all_ff(b, 4), "read top of space: not all-ones");
    rc = access_read(mem_as, UINT64_MAX, 1, &v);
    expect_rc("access read last byte", rc, -ENXIO);

    /* An access that would wrap past 2^64 must not reach address 0. */
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, UINT64_MAX - 1, b, 4);
    CHECK(rc != 0, "read wrapping past 2^64 succeeded");
    rc = as_write(mem_as, UINT64_MAX - 1, b, 4);
    CHECK(rc != 0, "write wrapping past 2^64 succeeded");
    CHECK(memcmp(low, ram, sizeof(low)) == 0,
          "write wrapping past 2^64 changed RAM at 0");
}

static void test_rom(void)
{
    uint8_t *rom = mr_ram_ptr(&mrs[M_ROM], 0);
    uint8_t *rom2 = mr_ram_ptr(&mrs[M_ROM_NOOPS], 0);
    struct dev *d = &devs[D_ROM];
    uint8_t b[16], keep[16];
    uint64_t v;
    int rc;

    if (!rom || !rom2) {
        CHECK(0, "mr_ram_ptr(rom) failed");
        return;
    }
    rc = as_read(mem_as, ROM_BASE + 0x10, b, sizeof(b));
    expect_rc("rom read", rc, 0);
    for (unsigned k = 0; k < sizeof(b); k++) {
        CHECK(b[k] == (uint8_t)((0x10 + k) ^ 0xa5), "rom read byte %u", k);
    }

    memcpy(keep, &rom[0x10], sizeof(keep));
    dev_clear(D_ROM);
    b[0] = 0xc1;
    b[1] = 0xc2;
    b[2] = 0xc3;
    b[3] = 0xc4;
    rc = as_write(mem_as, ROM_BASE + 0x10, b, 4);
    expect_rc("rom write", rc, 0);
    EXPECT_CALLS("rom write", D_ROM, W_(0x10, 4, 0xc4c3c2c1));
    CHECK(memcmp(keep, &rom[0x10], sizeof(keep)) == 0,
          "rom write changed the ROM's memory");

    dev_clear(D_ROM);
    rc = access_write(mem_as, ROM_BASE + 0x20, 2, 0x5a5a);
    expect_rc("rom access write", rc, 0);
    EXPECT_CALLS("rom access write", D_ROM, W_(0x20, 2, 0x5a5a));
    rc = access_read(mem_as, ROM_BASE + 0x20, 2, &v);
    expect_rc("rom access read", rc, 0);
    CHECK(v == le_get(&rom[0x20], 2), "rom access read: value");
    CHECK(d->n == 1, "rom reads must not go to the ops (%u calls)", d->n);

    memcpy(keep, &rom2[0x10], sizeof(keep));
    memset(b, 0xee, sizeof(b));
    rc = as_write(mem_as, ROM_NOOPS_BASE + 0x10, b, sizeof(b));
    expect_rc("rom without ops: write", rc, -EROFS);
    rc = access_write(mem_as, ROM_NOOPS_BASE + 0x10, 4, 0xeeeeeeee);
    expect_rc("rom without ops: access write", rc, -EROFS);
    CHECK(memcmp(keep, &rom2[0x10], sizeof(keep)) == 0,
          "rom without ops: memory changed");
    rc = as_read(mem_as, ROM_NOOPS_BASE + 0x10, b, sizeof(b));
    expect_rc("rom without ops: read", rc, 0);
    CHECK(memcmp(keep, b, sizeof(b)) == 0, "rom without ops: read data");
}

static void test_readonly(void)
{
    uint8_t *ram = mr_ram_ptr(&mrs[M_RAM], 0);
    uint8_t *ro_ram = mr_ram_ptr(&mrs[M_RO_RAM], 0);
    uint8_t b[8], keep[8];
    int rc;

    if (!ram || !ro_ram) {
        CHECK(0, "mr_ram_ptr failed");
        return;
    }
    rc = as_read(mem_as, RO_ALIAS_BASE + 0x10, b, 8);
    expect_rc("readonly alias: read", rc, 0);
    CHECK(memcmp(b, &ram[0x1010], 8) == 0, "readonly alias: read data");

    memcpy(keep, &ram[0x1010], 8);
    memset(b, 0x99, sizeof(b));
    rc = as_write(mem_as, RO_ALIAS_BASE + 0x10, b, 8);
    expect_rc("readonly alias: write", rc, -EROFS);
    rc = access_write(mem_as, RO_ALIAS_BASE + 0x10, 4, 0x99999999);
    expect_rc("readonly alias: access write", rc, -EROFS);
    CHECK(memcmp(keep, &ram[0x1010], 8) == 0, "readonly alias: RAM changed");

    /* The same bytes are writable at their own address. */
    rc = as_write(mem_as, RAM_BASE + 0x1010, b, 8);
    expect_rc("ram under readonly alias: write", rc, 0);
    CHECK(memcmp(b, &ram[0x1010], 8) == 0, "ram write not stored");
    rc = as_read(mem_as, RO_ALIAS_BASE + 0x10, keep, 8);
    expect_rc("readonly alias: read back", rc, 0);
    CHECK(memcmp(b, keep, 8) == 0, "readonly alias does not show the write");

    memcpy(keep, ro_ram, 8);
    rc = as_write(mem_as, RO_RAM_BASE, b, 8);
    expect_rc("readonly ram: write", rc, -EROFS);
    CHECK(memcmp(keep, ro_ram, 8) == 0, "readonly ram changed");
}

static void test_alias_offsets(void)
{
    struct dev *d = &devs[D_UNAL];
    uint64_t v;
    int rc;

    dev_clear(D_UNAL);
    rc = access_read(mem_as, DEVWIN_BASE + 4, 4, &v);
    expect_rc("alias onto io: read", rc, 0);
    EXPECT_CALLS("alias onto io: read", D_UNAL, R_(0x14, 4));
    CHECK(v == le_get(&d->regs[0x14], 4), "alias onto io: read value");

    dev_clear(D_UNAL);
    rc = access_write(mem_as, DEVWIN_BASE + 8, 2, 0x4321);
    expect_rc("alias onto io: write", rc, 0);
    EXPECT_CALLS("alias onto io: write", D_UNAL, W_(0x18, 2, 0x4321));

    dev_clear(D_UNAL);
    rc = access_read(mem_as, DEVWIN_BASE + 0x40, 4, &v);
    expect_rc("past the alias window", rc, -ENXIO);
    EXPECT_NO_CALLS("past the alias window", D_UNAL);

    /* Direct accesses get offsets relative to the region too. */
    dev_clear(D_UNAL);
    rc = access_read(mem_as, UNAL_BASE + 0x30, 1, &v);
    expect_rc("direct io read", rc, 0);
    EXPECT_CALLS("direct io read", D_UNAL, R_(0x30, 1));
}

static void test_ram(void)
{
    uint8_t *ram = mr_ram_ptr(&mrs[M_RAM], 0);
    uint8_t w[512], r[512];
    uint64_t rng = 0x1234567;
    int rc;

    if (!ram) {
        CHECK(0, "mr_ram_ptr failed");
        return;
    }
    for (unsigned i = 0; i < 300; i++) {
        uint64_t off, len;

        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        off = (rng >> 20) % (RAM_SIZE - sizeof(w));
        len = 1 + (rng >> 50) % sizeof(w);
        for (uint64_t k = 0; k < len; k++) {
            w[k] = (uint8_t)(rng >> (k % 56)) ^ (uint8_t)k;
        }
        rc = as_write(mem_as, RAM_BASE + off, w, len);
        if (rc != 0) {
            expect_rc("ram write", rc, 0);
            break;
        }
        memset(r, 0, sizeof(r));
        rc = as_read(mem_as, RAM_BASE + off, r, len);
        if (rc != 0) {
            expect_rc("ram read", rc, 0);
            break;
        }
        if (memcmp(w, r, len) != 0 || memcmp(w, &ram[off], len) != 0) {
            CHECK(0, "ram round trip at 0x%" PRIx64 " len %" PRIu64, off, len);
            break;
        }
    }
    for (unsigned size = 1; size <= 8; size *= 2) {
        for (uint64_t off = 0x200; off < 0x200 + 9; off++) {
            uint64_t v = 0x8877665544332211ull & mask_of(size);
            uint64_t got;

            rc = access_write(mem_as, RAM_BASE + off, size, v);
            expect_rc("ram access write", rc, 0);
            rc = access_read(mem_as, RAM_BASE + off, size, &got);
            expect_rc("ram access read", rc, 0);
            CHECK(got == v && le_get(&ram[off], size) == v,
                  "ram access size %u at 0x%" PRIx64, size, off);
        }
    }
    /* A zero-length access does nothing. */
    rc = as_read(mem_as, RAM_BASE, r, 0);
    expect_rc("zero-length read", rc, 0);
}

/* A readonly alias onto a ROM with a write op: writes still go to the op
 * (readonly means "not stored", and a ROM never stores), at the ROM's own
 * offset. */
static void test_readonly_rom_alias(void)
{
    uint8_t *rom = mr_ram_ptr(&mrs[M_ROM], 0);
    uint8_t keep[8];
    uint64_t v;
    int rc;

    if (!rom) {
        CHECK(0, "mr_ram_ptr(rom) failed");
        return;
    }
    memcpy(keep, &rom[0x108], sizeof(keep));
    dev_clear(D_ROM);
    rc = access_write(mem_as, RO_ROM_ALIAS_BASE + 8, 4, 0x0badf00d);
    expect_rc("readonly alias onto rom: write", rc, 0);
    EXPECT_CALLS("readonly alias onto rom: write", D_ROM,
                 W_(0x108, 4, 0x0badf00d));
    CHECK(memcmp(keep, &rom[0x108], sizeof(keep)) == 0,
          "readonly alias onto rom: memory changed");
    rc = access_read(mem_as, RO_ROM_ALIAS_BASE + 8, 8, &v);
    expect_rc("readonly alias onto rom: read", rc, 0);
    CHECK(v == le_get(keep, 8), "readonly alias onto rom: read value");
}

/* An op that edits the map while being dispatched. */
static void test_edit_from_op(void)
{
    uint8_t b[4];
    int rc;

    rc = as_read(mem_as, FLIP_BASE, b, 4);
    expect_rc("flip mapped", rc, 0);

    switch_rc = 1;
    rc = access_write(mem_as, SWITCH_BASE, 1, 0);
    expect_rc("switch off", rc, 0);
    CHECK(switch_rc == 0, "mr_set_enabled from an op: %d", switch_rc);
    memset(b, 0x5c, sizeof(b));
    rc = as_read(mem_as, FLIP_BASE, b, 4);
    expect_rc("flip unmapped by the op", rc, -ENXIO);
    CHECK(all_ff(b, 4), "flip unmapped: not all-ones");

    switch_rc = 1;
    rc = access_write(mem_as, SWITCH_BASE, 1, 1);
    expect_rc("switch on", rc, 0);
    CHECK(switch_rc == 0, "mr_set_enabled from an op: %d", switch_rc);
    rc = as_read(mem_as, FLIP_BASE, b, 4);
    expect_rc("flip mapped again by the op", rc, 0);
}

/* mr_del_all_subregions(): the whole io space empties in one commit. */
static void test_del_all(void)
{
    uint64_t gen = as_generation(io_as);
    uint64_t v;
    int rc;

    rc = access_read(io_as, 0x3fd, 1, &v);
    expect_rc("del-all: uart before", rc, 0);
    rc = mr_del_all_subregions(&mrs[M_IOROOT]);
    expect_rc("del-all", rc, 0);
    CHECK(as_generation(io_as) == gen + 1,
          "del-all: %" PRIu64 " -> %" PRIu64 ", want one commit", gen,
          as_generation(io_as));
    rc = access_read(io_as, 0x3fd, 1, &v);
    expect_rc("del-all: uart after", rc, -ENXIO);
    CHECK(v == 0xff, "del-all: uart reads 0x%" PRIx64, v);
    for (unsigned i = 0; i < nr_mrs; i++) {
        CHECK(mrs[i].container != &mrs[M_IOROOT], "del-all: %s still there",
              mr_name(&mrs[i]));
    }
    expect_rc("del-all: empty again", mr_del_all_subregions(&mrs[M_IOROOT]), 0);
    expect_rc("del-all: NULL", mr_del_all_subregions(NULL), -EINVAL);
}

static void test_io_space(void)
{
    struct dev *u = &devs[D_UART];
    struct dev *pe = &devs[D_PORTEDGE];
    uint8_t b[8];
    uint64_t v;
    int rc;

    dev_clear(D_UART);
    rc = access_read(io_as, 0x3fd, 1, &v);
    expect_rc("io uart read", rc, 0);
    CHECK(v == u->regs[5], "io uart read value");
    EXPECT_CALLS("io uart read", D_UART, R_(5, 1));

    dev_clear(D_UART);
    rc = access_write(io_as, 0x3f8, 1, 0x41);
    expect_rc("io uart write", rc, 0);
    EXPECT_CALLS("io uart write", D_UART, W_(0, 1, 0x41));

    dev_clear(D_UART);
    rc = access_read(io_as, 0x3f8, 2, &v);
    expect_rc("io uart read 2", rc, -EINVAL);
    CHECK(v == 0xffff, "io uart read 2: 0x%" PRIx64, v);
    EXPECT_NO_CALLS("io uart read 2", D_UART);

    dev_clear(D_UART);
    rc = as_read(io_as, 0x3f8, b, 8);
    expect_rc("io uart as_read 8", rc, 0);
    EXPECT_CALLS("io uart as_read 8", D_UART, R_(0, 1), R_(1, 1), R_(2, 1),
                 R_(3, 1), R_(4, 1), R_(5, 1), R_(6, 1), R_(7, 1));
    CHECK(memcmp(b, u->regs, 8) == 0, "io uart as_read 8: data");

    /* Nothing lives beyond the space's limit. */
    rc = access_read(io_as, 0x10000, 1, &v);
    expect_rc("io beyond limit", rc, -ENXIO);
    rc = access_read(io_as, 0x3f7, 1, &v);
    expect_rc("io unassigned port", rc, -ENXIO);
    CHECK(v == 0xff, "io unassigned port: 0x%" PRIx64, v);

    /* portedge is 0x10 bytes at 0xfff8; the space ends at 0x10000. */
    dev_clear(D_PORTEDGE);
    rc = access_read(io_as, 0xfffc, 4, &v);
    expect_rc("io edge read", rc, 0);
    EXPECT_CALLS("io edge read", D_PORTEDGE, R_(4, 4));
    CHECK(v == le_get(&pe->regs[4], 4), "io edge read value");

    dev_clear(D_PORTEDGE);
    memset(b, 0x5c, sizeof(b));
    rc = as_read(io_as, 0xfffe, b, 4);
    expect_rc("io read across the limit", rc, -ENXIO);
    EXPECT_CALLS("io read across the limit", D_PORTEDGE, R_(6, 2));
    CHECK(b[0] == pe->regs[6] && b[1] == pe->regs[7] && all_ff(b + 2, 2),
          "io read across the limit: data");
}

int main(void)
{
    unsigned violations = 0;

    rcu_register_thread();
    if (setup()) {
        test_split();
        test_widen();
        test_valid();
        test_unaligned();
        test_as_read_sizes();
        test_crossing();
        test_unassigned();
        test_rom();
        test_readonly();
        test_alias_offsets();
        test_readonly_rom_alias();
        test_edit_from_op();
        test_ram();
        test_io_space();
        test_del_all();
        for (unsigned i = 0; i < NR_DEVS; i++) {
            if (i != D_UNAL_GUEST) {
                violations += devs[i].violations;
            }
        }
        CHECK(violations == 0, "%u callbacks broke their impl sizes",
              violations);
    }
    teardown();
    rcu_unregister_thread();
    printf("test_dispatch: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
