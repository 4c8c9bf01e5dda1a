/* SPDX-License-Identifier: MIT */
/*
 * Tests of the small PC devices: i8042, isa-debug-exit, fw_cfg and the
 * CMOS RTC, and the run-control port. All are placed at their usual ports in
 * one "io" address space and driven with as_access(), so the declared access
 * sizes are checked too; recording hooks capture resets, exit statuses and
 * fw_cfg selections, and the RTC reads a clock the test sets. Each device also
 * gets a seeded random access storm over its ports and their neighbours.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "devices/debug_exit.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/pci_host.h"
#include "devices/rtc.h"
#include "devices/run_ctl.h"
#include "mem/address_space.h"
#include "mem/region.h"
#include "unit.h"

static unsigned unit_failures;

#define KBD_DATA 0x60
#define KBD_CMD 0x64
#define RTC_PORT 0x70
#define DEBUG_EXIT_PORT 0xf4
#define FW_CFG_PORT 0x510
#define PCI_PORT 0xcf8

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

/* What the hooks saw. */
struct rec {
    unsigned resets;
    unsigned exits;
    int last_status;
    unsigned selects;
    uint16_t last_key;
    int64_t now;
    /* run_ctl: phases seen in order, the end. */
    unsigned phases[8];
    unsigned nr_phases;
    unsigned ends;
    int end_status;
    unsigned failed_phase;
};

struct fixture {
    struct mem_sys *sys;
    struct mem_region root;
    struct address_space *as;
    struct i8042 kbd;
    struct debug_exit dbg;
    struct fw_cfg fw;
    struct rtc rtc;
    struct pci_host pci;
    struct run_ctl rctl;
    struct rec rec;
};

static void rec_reset(void *opaque)
{
    struct rec *r = opaque;

    r->resets++;
}

static void rec_exit(void *opaque, int status)
{
    struct rec *r = opaque;

    r->exits++;
    r->last_status = status;
}

static void rec_select(void *opaque, uint16_t key)
{
    struct rec *r = opaque;

    r->selects++;
    r->last_key = key;
}

static int64_t rec_now(void *opaque)
{
    struct rec *r = opaque;

    return r->now;
}

static void rec_phase(void *opaque, unsigned phase)
{
    struct rec *r = opaque;

    if (r->nr_phases < 8) {
        r->phases[r->nr_phases++] = phase;
    }
}

static void rec_status(void *opaque, int status)
{
    struct rec *r = opaque;

    r->ends++;
    r->end_status = status;
}

static void rec_failed(void *opaque, unsigned phase)
{
    struct rec *r = opaque;

    r->ends++;
    r->failed_phase = phase;
    r->end_status = 1000;
}

static const struct i8042_hooks kbd_hooks = {.reset = rec_reset};
static const struct debug_exit_hooks dbg_hooks = {.exit = rec_exit};
static const struct fw_cfg_hooks fw_hooks = {.select = rec_select};
static const struct rtc_hooks rtc_hooks = {.now = rec_now};
static const struct pci_host_hooks pci_hooks = {.reset = rec_reset};
static const struct run_ctl_hooks rctl_hooks = {
    .phase = rec_phase, .status = rec_status, .failed = rec_failed};

/* 2024-02-29 13:05:09 UTC, a Thursday. */
static int64_t test_time(void)
{
    struct tm tm = {.tm_year = 124,
                    .tm_mon = 1,
                    .tm_mday = 29,
                    .tm_hour = 13,
                    .tm_min = 5,
                    .tm_sec = 9};

    return (int64_t)timegm(&tm);
}

static bool fx_setup(struct fixture *f, uint64_t below, uint64_t above)
{
    int rc;

    memset(f, 0, sizeof(*f));
    f->rec.now = test_time();
    rc = i8042_init(&f->kbd, &kbd_hooks, &f->rec);
    CHECK(rc == 0, "i8042_init: %d", rc);
    rc = rc ? rc : debug_exit_init(&f->dbg, &dbg_hooks, &f->rec);
    CHECK(rc == 0, "debug_exit_init: %d", rc);
    rc = rc ? rc : fw_cfg_init(&f->fw, &fw_hooks, &f->rec);
    CHECK(rc == 0, "fw_cfg_init: %d", rc);
    rc = rc ? rc : rtc_init(&f->rtc, &rtc_hooks, &f->rec, below, above);
    CHECK(rc == 0, "rtc_init: %d", rc);
    rc = rc ? rc : pci_host_init(&f->pci, &pci_hooks, &f->rec);
    CHECK(rc == 0, "pci_host_init: %d", rc);
    rc = rc ? rc : run_ctl_init(&f->rctl, &rctl_hooks, &f->rec);
    CHECK(rc == 0, "run_ctl_init: %d", rc);
    if (rc) {
        /* Only the first failure matters here; the test run is over. */
        return false;
    }
    rc = mr_init_container(&f->root, "io", 0x10000);
    rc = rc ? rc : mem_sys_new(&f->sys);
    rc = rc ? rc : as_new(f->sys, "io", &f->root, 0x10000, &f->as);
    if (rc) {
        CHECK(0, "io space: %d", rc);
        return false;
    }
    mem_begin(f->sys);
    rc = rc ? rc : mr_add_subregion(&f->root, KBD_DATA, &f->kbd.region_data);
    rc = rc ? rc : mr_add_subregion(&f->root, KBD_CMD, &f->kbd.region_cmd);
    rc = rc ? rc : mr_add_subregion(&f->root, RTC_PORT, &f->rtc.region);
    rc = rc ? rc : mr_add_subregion(&f->root, DEBUG_EXIT_PORT, &f->dbg.region);
    rc = rc ? rc : mr_add_subregion(&f->root, FW_CFG_PORT, &f->fw.region);
    rc = rc ? rc : mr_add_subregion(&f->root, PCI_PORT, &f->pci.region);
    rc = rc ? rc : mr_add_subregion(&f->root, RUN_CTL_PORT, &f->rctl.region);
    {
        int crc = mem_commit(f->sys);

        rc = rc ? rc : crc;
    }
    CHECK(rc == 0, "fixture: %d", rc);
    return rc == 0;
}

static void fx_teardown(struct fixture *f)
{
    struct mem_region *mrs[] = {
        &f->kbd.region_data, &f->kbd.region_cmd, &f->rtc.region, &f->dbg.region,
        &f->fw.region,       &f->pci.region,     &f->rctl.region};
    int rc;

    mem_begin(f->sys);
    for (size_t i = 0; i < sizeof(mrs) / sizeof(mrs[0]); i++) {
        if (mrs[i]->container) {
            rc = mr_del_subregion(&f->root, mrs[i]);
            CHECK(rc == 0, "del %s: %d", mr_name(mrs[i]), rc);
        }
    }
    rc = mem_commit(f->sys);
    CHECK(rc == 0, "teardown commit: %d", rc);
    mem_sys_free(f->sys);
    rc = i8042_destroy(&f->kbd);
    CHECK(rc == 0, "i8042_destroy: %d", rc);
    rc = debug_exit_destroy(&f->dbg);
    CHECK(rc == 0, "debug_exit_destroy: %d", rc);
    rc = fw_cfg_destroy(&f->fw);
    CHECK(rc == 0, "fw_cfg_destroy: %d", rc);
    rc = rtc_destroy(&f->rtc);
    CHECK(rc == 0, "rtc_destroy: %d", rc);
    rc = pci_host_destroy(&f->pci);
    CHECK(rc == 0, "pci_host_destroy: %d", rc);
    rc = run_ctl_destroy(&f->rctl);
    CHECK(rc == 0, "run_ctl_destroy: %d", rc);
    rc = mr_destroy(&f->root);
    CHECK(rc == 0, "destroy root: %d", rc);
}

/* One guest access; returns as_access()'s result. */
static int io(struct fixture *f, gpa_t port, unsigned size, uint64_t *v,
              bool write)
{
    uint8_t b[8] = {0};
    int rc;

    for (unsigned i = 0; write && i < size; i++) {
        b[i] = (uint8_t)(*v >> (8 * i));
    }
    rc = as_access(f->as, port, b, size, write);
    if (!write) {
        *v = 0;
        for (unsigned i = 0; i < size; i++) {
            *v |= (uint64_t)b[i] << (8 * i);
        }
    }
    return rc;
}

static uint64_t in(struct fixture *f, gpa_t port, unsigned size)
{
    uint64_t v;
    int rc = io(f, port, size, &v, false);

    CHECK(rc == 0, "in%u 0x%" PRIx64 ": %d", size, port, rc);
    return v;
}

static void out(struct fixture *f, gpa_t port, unsigned size, uint64_t v)
{
    int rc = io(f, port, size, &v, true);

    CHECK(rc == 0, "out%u 0x%" PRIx64 ": %d", size, port, rc);
}

static uint8_t inb(struct fixture *f, gpa_t port)
{
    return (uint8_t)in(f, port, 1);
}

static void outb(struct fixture *f, gpa_t port, uint8_t v)
{
    out(f, port, 1, v);
}

#define EXPECT_EQ(got, want, ...)                                              \
    do {                                                                       \
        uint64_t got_ = (got), want_ = (want);                                 \
        if (got_ != want_) {                                                   \
            CHECK(got_ == want_, __VA_ARGS__);                                 \
            fprintf(stderr, "  got 0x%" PRIx64 ", want 0x%" PRIx64 "\n", got_, \
                    want_);                                                    \
        }                                                                      \
    } while (0)

/* ---- i8042 ---- */

/* Send controller command (cmd) and read its one-byte reply. */
static uint8_t kbd_query(struct fixture *f, uint8_t cmd)
{
    uint8_t st;

    outb(f, KBD_CMD, cmd);
    st = inb(f, KBD_CMD);
    CHECK(st & I8042_STS_OBF, "command 0x%02x: no reply (status 0x%02x)", cmd,
          st);
    return inb(f, KBD_DATA);
}

static void test_i8042_status_and_commands(void)
{
    static const struct {
        const char *name;
        uint8_t cmd;
        uint8_t reply;
    } replies[] = {
        {"read command byte", I8042_CMD_READ_RAM, 0x45},
        {"self test", I8042_CMD_SELF_TEST, I8042_SELF_TEST_OK},
        {"keyboard interface test", I8042_CMD_KBD_TEST, I8042_TEST_OK},
        {"aux interface test", I8042_CMD_AUX_TEST, I8042_TEST_OK},
        {"read output port", I8042_CMD_READ_OUTPORT, 0xcf},
        {"read input port", I8042_CMD_READ_INPUT, 0x80},
        {"read test inputs", I8042_CMD_READ_TEST, 0x00},
    };
    struct fixture f;
    uint8_t st;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    /* After the BIOS: system flag, not inhibited, buffers empty. */
    EXPECT_EQ(inb(&f, KBD_CMD), I8042_STS_SYS | I8042_STS_UNLOCK,
              "i8042 status at start");
    EXPECT_EQ(inb(&f, KBD_DATA), 0, "empty data port reads 0 at first");
    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        EXPECT_EQ(kbd_query(&f, replies[i].cmd), replies[i].reply, "%s",
                  replies[i].name);
        st = inb(&f, KBD_CMD);
        EXPECT_EQ(st & (I8042_STS_OBF | I8042_STS_AUX_OBF | I8042_STS_IBF), 0,
                  "%s: buffers empty after read", replies[i].name);
        EXPECT_EQ(st & I8042_STS_CMD, I8042_STS_CMD,
                  "%s: last write was a command", replies[i].name);
        /* Reading again with the buffer empty gives the last value. */
        EXPECT_EQ(inb(&f, KBD_DATA), replies[i].reply, "%s: stale read",
                  replies[i].name);
    }

    /* Command byte write; the system flag follows its bit 2. */
    outb(&f, KBD_CMD, I8042_CMD_WRITE_RAM);
    outb(&f, KBD_DATA, 0x41);
    st = inb(&f, KBD_CMD);
    EXPECT_EQ(st & (I8042_STS_CMD | I8042_STS_SYS), 0,
              "data write clears CMD; SYS follows the command byte");
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_RAM), 0x41, "command byte 0x41");
    outb(&f, KBD_CMD, I8042_CMD_SELF_TEST);
    EXPECT_EQ(inb(&f, KBD_CMD) & I8042_STS_SYS, I8042_STS_SYS,
              "self test sets SYS");
    EXPECT_EQ(inb(&f, KBD_DATA), I8042_SELF_TEST_OK, "self test reply");
    /* Controller RAM beyond the command byte. */
    outb(&f, KBD_CMD, I8042_CMD_WRITE_RAM + 0x11);
    outb(&f, KBD_DATA, 0x99);
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_RAM + 0x11), 0x99, "RAM 0x11");
    /* Enable and disable bits. */
    outb(&f, KBD_CMD, I8042_CMD_KBD_DISABLE);
    outb(&f, KBD_CMD, I8042_CMD_AUX_DISABLE);
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_RAM),
              0x41 | I8042_CTR_KBD_DISABLE | I8042_CTR_AUX_DISABLE,
              "disable kbd and aux");
    outb(&f, KBD_CMD, I8042_CMD_KBD_ENABLE);
    outb(&f, KBD_CMD, I8042_CMD_AUX_ENABLE);
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_RAM), 0x41, "enable kbd and aux");
    /* Bytes placed in the output buffer by command. */
    outb(&f, KBD_CMD, I8042_CMD_WRITE_KBD_OBUF);
    outb(&f, KBD_DATA, 0x12);
    EXPECT_EQ(inb(&f, KBD_CMD) & (I8042_STS_OBF | I8042_STS_AUX_OBF),
              I8042_STS_OBF, "kbd obuf");
    EXPECT_EQ(inb(&f, KBD_DATA), 0x12, "kbd obuf byte");
    outb(&f, KBD_CMD, I8042_CMD_WRITE_AUX_OBUF);
    outb(&f, KBD_DATA, 0x5a);
    EXPECT_EQ(inb(&f, KBD_CMD) & (I8042_STS_OBF | I8042_STS_AUX_OBF),
              I8042_STS_OBF | I8042_STS_AUX_OBF, "aux obuf (Linux's loop)");
    EXPECT_EQ(inb(&f, KBD_DATA), 0x5a, "aux obuf byte");
    /* Bytes for the (absent) keyboard and mouse: nothing answers. */
    outb(&f, KBD_DATA, 0xf2);
    outb(&f, KBD_CMD, I8042_CMD_WRITE_AUX);
    outb(&f, KBD_DATA, 0xf2);
    EXPECT_EQ(inb(&f, KBD_CMD) & I8042_STS_OBF, 0, "no device answers");
    /* A 16-bit access to the one-byte port is not valid there. */
    {
        uint64_t v = 0;

        CHECK(io(&f, KBD_CMD, 2, &v, false) != 0, "16-bit status read");
    }
    CHECK(f.rec.resets == 0, "no reset so far");
    fx_teardown(&f);
}

static void test_i8042_reset(void)
{
    struct fixture f;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    /* Pulse commands: bit 0 clear pulses the reset line. */
    for (unsigned cmd = 0xf0; cmd <= 0xff; cmd++) {
        unsigned before = f.rec.resets;

        outb(&f, KBD_CMD, (uint8_t)cmd);
        EXPECT_EQ(f.rec.resets - before, (cmd & 1) ? 0 : 1,
                  "pulse command 0x%02x", cmd);
    }
    f.rec.resets = 0;
    outb(&f, KBD_CMD, I8042_CMD_RESET);
    EXPECT_EQ(f.rec.resets, 1, "0xfe resets");
    /* The output port: A20 and reset bits. */
    outb(&f, KBD_CMD, I8042_CMD_WRITE_OUTPORT);
    outb(&f, KBD_DATA, 0xcd);
    EXPECT_EQ(f.rec.resets, 1, "output port with reset high");
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_OUTPORT), 0xcd, "A20 off");
    outb(&f, KBD_CMD, I8042_CMD_A20_ON);
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_OUTPORT), 0xcf, "A20 on");
    outb(&f, KBD_CMD, I8042_CMD_A20_OFF);
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_OUTPORT), 0xcd, "A20 off again");
    outb(&f, KBD_CMD, I8042_CMD_WRITE_OUTPORT);
    outb(&f, KBD_DATA, 0xce);
    EXPECT_EQ(f.rec.resets, 2, "output port bit 0 clear resets");
    EXPECT_EQ(kbd_query(&f, I8042_CMD_READ_OUTPORT), 0xcf,
              "reset line high again");
    /* A command in between cancels a pending data byte. */
    outb(&f, KBD_CMD, I8042_CMD_WRITE_OUTPORT);
    outb(&f, KBD_CMD, I8042_CMD_KBD_TEST);
    (void)inb(&f, KBD_DATA);
    outb(&f, KBD_DATA, 0x00);
    EXPECT_EQ(f.rec.resets, 2, "cancelled output port write");
    fx_teardown(&f);
}

/* ---- isa-debug-exit ---- */

/* ---- PCI host bridge and the reset control register ---- */

static uint32_t pci_cfg_addr(unsigned bus, unsigned dev, unsigned fn,
                             unsigned reg)
{
    return PCI_HOST_ADDR_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg;
}

static void test_pci_host(void)
{
    /* CONFIG_ADDRESS values a probe writes: none may reset. The second
     * byte of each (what lands at 0xcf9) has RST_CPU set. */
    static const uint32_t probes[] = {
        0x80000000u, 0x80000400u, /* function 4 */
        0x80000600u,              /* device 0, function 6 */
        0x8000fe00u,              /* device 31, function 6 */
        0x0000ff00u,              /* disabled */
    };
    struct fixture f;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        out(&f, PCI_PORT, 4, probes[i]);
        EXPECT_EQ(in(&f, PCI_PORT, 4), probes[i] & PCI_HOST_ADDR_MASK,
                  "CONFIG_ADDRESS 0x%08x reads back", probes[i]);
    }
    EXPECT_EQ(f.rec.resets, 0, "dword writes to 0xcf8 never reset");
    /* Reserved and type bits read 0. */
    out(&f, PCI_PORT, 4, 0xffffffffu);
    EXPECT_EQ(in(&f, PCI_PORT, 4), PCI_HOST_ADDR_MASK, "reserved bits");

    /* The host bridge at 00:00.0, whole and in pieces. */
    out(&f, PCI_PORT, 4, pci_cfg_addr(0, 0, 0, 0));
    EXPECT_EQ(in(&f, PCI_PORT + 4, 4),
              PCI_HOST_DEVICE_ID << 16 | PCI_HOST_VENDOR_ID, "vendor/device");
    EXPECT_EQ(in(&f, PCI_PORT + 4, 2), PCI_HOST_VENDOR_ID, "vendor word");
    EXPECT_EQ(in(&f, PCI_PORT + 6, 2), PCI_HOST_DEVICE_ID, "device word");
    EXPECT_EQ(in(&f, PCI_PORT + 5, 1), PCI_HOST_VENDOR_ID >> 8, "byte 1");
    out(&f, PCI_PORT, 4, pci_cfg_addr(0, 0, 0, 8));
    EXPECT_EQ(in(&f, PCI_PORT + 4, 4) >> 8, PCI_HOST_CLASS, "class code");
    out(&f, PCI_PORT, 4, pci_cfg_addr(0, 0, 0, 0xc));
    EXPECT_EQ(in(&f, PCI_PORT + 6, 1), 0, "header type 0");
    /* Read-only: a write to the vendor ID changes nothing. */
    out(&f, PCI_PORT, 4, pci_cfg_addr(0, 0, 0, 0));
    out(&f, PCI_PORT + 4, 4, 0x12345678);
    EXPECT_EQ(in(&f, PCI_PORT + 4, 2), PCI_HOST_VENDOR_ID, "read-only");

    /* Absent functions and a disabled address read all-ones. */
    out(&f, PCI_PORT, 4, pci_cfg_addr(0, 1, 0, 0));
    EXPECT_EQ(in(&f, PCI_PORT + 4, 4), 0xffffffffu, "00:01.0 absent");
    out(&f, PCI_PORT, 4, pci_cfg_addr(0, 0, 1, 0));
    EXPECT_EQ(in(&f, PCI_PORT + 4, 2), 0xffff, "00:00.1 absent");
    out(&f, PCI_PORT, 4, pci_cfg_addr(1, 0, 0, 0));
    EXPECT_EQ(in(&f, PCI_PORT + 4, 4), 0xffffffffu, "bus 1 absent");
    out(&f, PCI_PORT, 4, 0);
    EXPECT_EQ(in(&f, PCI_PORT + 4, 4), 0xffffffffu, "disabled");

    /* Words and the other bytes of 0xcf8-0xcfb reach nothing. */
    EXPECT_EQ(in(&f, PCI_PORT, 2), 0xffff, "word at 0xcf8");
    EXPECT_EQ(inb(&f, PCI_PORT + 2), 0xff, "byte at 0xcfa");
    out(&f, PCI_PORT, 2, 0x0606);
    outb(&f, PCI_PORT + 3, 0x06);
    EXPECT_EQ(f.rec.resets, 0, "word/byte writes beside 0xcf9");

    /* The reset control register: a byte at 0xcf9. */
    outb(&f, PCI_PORT + 1, 0x02);
    EXPECT_EQ(f.rec.resets, 0, "SYS_RST alone does not reset");
    EXPECT_EQ(inb(&f, PCI_PORT + 1), 0x02, "RCR reads back");
    outb(&f, PCI_PORT + 1, 0x06);
    EXPECT_EQ(f.rec.resets, 1, "RST_CPU resets");
    EXPECT_EQ(inb(&f, PCI_PORT + 1), 0x02, "RST_CPU reads 0");
    fx_teardown(&f);
}

/* The run-control port: phases in order once each, one end, the rest
 * ignored and counted. */
static void test_run_ctl(void)
{
    struct fixture f;
    uint64_t ign;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    EXPECT_EQ(in(&f, RUN_CTL_PORT, 4), RUN_CTL_MAGIC, "magic");
    for (unsigned off = 0; off < 4; off++) {
        EXPECT_EQ(in(&f, RUN_CTL_PORT + off, 1), "VMMR"[off], "byte %u", off);
    }
    EXPECT_EQ(in(&f, RUN_CTL_PORT + 2, 2), 0x524d, "the high half");
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_PHASE, RUN_CTL_PHASE_INIT));
    /* Again, backwards, out of range, 0: ignored. */
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_PHASE, RUN_CTL_PHASE_INIT));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_PHASE, 0));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_PHASE, RUN_CTL_NR_PHASES));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_PHASE, 0xffffff));
    /* A phase may be skipped (no share to mount is still "mounted"). */
    out(&f, RUN_CTL_PORT, 4,
        RUN_CTL_EVENT(RUN_CTL_PHASE, RUN_CTL_PHASE_COMMAND));
    out(&f, RUN_CTL_PORT, 4,
        RUN_CTL_EVENT(RUN_CTL_PHASE, RUN_CTL_PHASE_MOUNTED));
    EXPECT_EQ(f.rec.nr_phases, 2, "two phases");
    EXPECT_EQ(f.rec.phases[0], RUN_CTL_PHASE_INIT, "init first");
    EXPECT_EQ(f.rec.phases[1], RUN_CTL_PHASE_COMMAND, "then command");
    EXPECT_EQ(run_ctl_ignored(&f.rctl), 5, "five phases ignored");
    /* Bad statuses: bits above the signal flag, signal 0, signal 128;
     * other sizes; unknown events. */
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_STATUS, 0x200));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_STATUS, RUN_CTL_SIGNALED));
    out(&f, RUN_CTL_PORT, 4,
        RUN_CTL_EVENT(RUN_CTL_STATUS, RUN_CTL_SIGNALED | 128));
    out(&f, RUN_CTL_PORT, 1, RUN_CTL_EVENT(RUN_CTL_STATUS, 7));
    out(&f, RUN_CTL_PORT, 2, 7);
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(0, 7));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(9, 7));
    EXPECT_EQ(f.rec.ends, 0, "no end yet");
    EXPECT_EQ(run_ctl_ignored(&f.rctl), 12, "twelve ignored");
    /* Killed by SIGKILL: -9, once; a second end and a failure after it
     * are ignored, and so are phases. */
    out(&f, RUN_CTL_PORT, 4,
        RUN_CTL_EVENT(RUN_CTL_STATUS, RUN_CTL_SIGNALED | 9));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_STATUS, 0));
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_FAILED, 2));
    out(&f, RUN_CTL_PORT, 4,
        RUN_CTL_EVENT(RUN_CTL_PHASE, RUN_CTL_PHASE_MOUNTED));
    EXPECT_EQ(f.rec.ends, 1, "one end");
    EXPECT_EQ((uint64_t)(int64_t)f.rec.end_status, (uint64_t)(int64_t)-9,
              "signal 9");
    ign = run_ctl_ignored(&f.rctl);
    EXPECT_EQ(ign, 15, "fifteen ignored");
    fx_teardown(&f);

    /* A failure names the phase it was after (0 for nonsense); exit
     * statuses 0 and 255 pass whole. */
    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_FAILED, 0x123456));
    EXPECT_EQ(f.rec.ends, 1, "failed ends");
    EXPECT_EQ(f.rec.failed_phase, 0, "unknown phase reported as 0");
    fx_teardown(&f);
    for (unsigned st = 0; st < 256; st += 255) {
        if (!fx_setup(&f, 0, 0)) {
            return;
        }
        out(&f, RUN_CTL_PORT, 4, RUN_CTL_EVENT(RUN_CTL_STATUS, st));
        EXPECT_EQ(f.rec.ends, 1, "status %u ends", st);
        EXPECT_EQ((uint64_t)f.rec.end_status, st, "status %u", st);
        fx_teardown(&f);
    }
}

static void test_debug_exit(void)
{
    static const struct {
        unsigned size;
        unsigned offset;
        uint32_t value;
        int status;
        unsigned process; /* the 8 bits a process can carry */
    } cases[] = {
        {1, 0, 0x00, 1, 1},
        {1, 0, 0x01, 3, 3},
        {1, 0, 0x7f, 0xff, 0xff},
        {1, 0, 0x80, 0x101, 0x01},
        {1, 0, 0xff, 0x1ff, 0xff},
        {2, 0, 0x1234, 0x2469, 0x69},
        {4, 0, 0x10, 0x21, 0x21},
        {4, 0, 0x7fffffff, (int)0xffffffffu, 0xff},
        {4, 0, 0x80000000u, 1, 1},
        {4, 0, 0xffffffffu, (int)0xffffffffu, 0xff},
        /* Any offset counts, as in QEMU. */
        {1, 1, 0x05, 0x0b, 0x0b},
        {1, 3, 0x05, 0x0b, 0x0b},
        {2, 2, 0x21, 0x43, 0x43},
    };
    struct fixture f;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned before = f.rec.exits;

        out(&f, DEBUG_EXIT_PORT + cases[i].offset, cases[i].size,
            cases[i].value);
        EXPECT_EQ(f.rec.exits - before, 1, "case %zu: one exit", i);
        EXPECT_EQ((uint32_t)f.rec.last_status, (uint32_t)cases[i].status,
                  "case %zu: status", i);
        EXPECT_EQ((unsigned)f.rec.last_status & 0xff, cases[i].process,
                  "case %zu: process status", i);
    }
    /* Reads return 0 and end nothing. */
    f.rec.exits = 0;
    for (unsigned off = 0; off < DEBUG_EXIT_SIZE; off++) {
        for (unsigned size = 1; size <= 4; size *= 2) {
            if (off % size) {
                continue;
            }
            EXPECT_EQ(in(&f, DEBUG_EXIT_PORT + off, size), 0, "read %u at %u",
                      size, off);
        }
    }
    /* Misaligned and too-wide writes are refused and end nothing. */
    {
        uint64_t v = 1;

        CHECK(io(&f, DEBUG_EXIT_PORT + 1, 2, &v, true) == -EINVAL,
              "misaligned write");
        CHECK(io(&f, DEBUG_EXIT_PORT - 1, 1, &v, true) == -ENXIO,
              "the port below");
    }
    EXPECT_EQ(f.rec.exits, 0, "reads and refused writes do not exit");
    fx_teardown(&f);
}

/* ---- fw_cfg ---- */

static void fw_select(struct fixture *f, uint16_t key)
{
    out(f, FW_CFG_PORT, 2, key);
}

static void fw_read(struct fixture *f, void *buf, size_t len)
{
    uint8_t *p = buf;

    for (size_t i = 0; i < len; i++) {
        p[i] = inb(f, FW_CFG_PORT + 1);
    }
}

static uint64_t get_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t get_be(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t fw_read_le(struct fixture *f, uint16_t key, unsigned size)
{
    uint8_t b[8];

    fw_select(f, key);
    fw_read(f, b, size);
    return get_le(b, size);
}

static void test_fw_cfg_items(void)
{
    static const char cmdline[] = "console=ttyS0 earlyprintk=serial";
    struct fixture f;
    uint8_t buf[64];
    int rc;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    /* After init the signature is selected. */
    fw_read(&f, buf, 4);
    CHECK(memcmp(buf, "QEMU", 4) == 0, "signature without select");
    fw_select(&f, FW_CFG_SIGNATURE);
    fw_read(&f, buf, 6);
    CHECK(memcmp(buf, "QEMU\0\0", 6) == 0, "signature, then zeros");
    EXPECT_EQ(fw_read_le(&f, FW_CFG_ID, 4), FW_CFG_ID_TRADITIONAL, "ID");
    EXPECT_EQ(fw_read_le(&f, FW_CFG_FILE_DIR, 4), 0, "empty directory");

    /* What the machine adds. */
    rc = fw_cfg_add_u64(&f.fw, FW_CFG_RAM_SIZE, 0x123456789ull);
    rc = rc ? rc : fw_cfg_add_u16(&f.fw, FW_CFG_NB_CPUS, 2);
    rc = rc ? rc : fw_cfg_add_u16(&f.fw, FW_CFG_MAX_CPUS, 8);
    rc = rc ? rc : fw_cfg_add_u32(&f.fw, FW_CFG_MACHINE_ID, 0xdeadbeef);
    rc = rc ? rc : fw_cfg_add_cmdline(&f.fw, cmdline);
    CHECK(rc == 0, "add items: %d", rc);
    EXPECT_EQ(fw_read_le(&f, FW_CFG_RAM_SIZE, 8), 0x123456789ull, "RAM");
    EXPECT_EQ(fw_read_le(&f, FW_CFG_NB_CPUS, 2), 2, "CPUs");
    EXPECT_EQ(fw_read_le(&f, FW_CFG_MAX_CPUS, 2), 8, "max CPUs");
    EXPECT_EQ(fw_read_le(&f, FW_CFG_MACHINE_ID, 4), 0xdeadbeef, "u32");
    EXPECT_EQ(fw_read_le(&f, FW_CFG_CMDLINE_SIZE, 4), sizeof(cmdline),
              "cmdline size includes the NUL");
    fw_select(&f, FW_CFG_CMDLINE_DATA);
    memset(buf, 0xee, sizeof(buf));
    fw_read(&f, buf, sizeof(cmdline) + 2);
    CHECK(memcmp(buf, cmdline, sizeof(cmdline)) == 0 &&
              buf[sizeof(cmdline)] == 0 && buf[sizeof(cmdline) + 1] == 0,
          "cmdline data with NUL, then zeros");

    /* Selecting rewinds; reading past the end stays at 0. */
    fw_select(&f, FW_CFG_NB_CPUS);
    EXPECT_EQ(inb(&f, FW_CFG_PORT + 1), 2, "first byte");
    fw_select(&f, FW_CFG_NB_CPUS);
    fw_read(&f, buf, 8);
    EXPECT_EQ(get_le(buf, 8), 2, "rewind, past the end zeros");
    /* Unknown keys (and the write channel bit) */
    EXPECT_EQ(fw_read_le(&f, 0x1f, 8), 0, "unknown key");
    EXPECT_EQ(fw_read_le(&f, 0x3fff, 8), 0, "unknown file key");
    EXPECT_EQ(fw_read_le(&f, 0xffff, 8), 0, "unknown arch key");
    fw_select(&f, FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
    fw_read(&f, buf, 4);
    CHECK(memcmp(buf, "QEMU", 4) == 0, "write channel bit ignored");
    EXPECT_EQ(f.rec.last_key, FW_CFG_SIGNATURE, "select hook key");
    /* An arch key is an item like any other. */
    rc = fw_cfg_add_u32(&f.fw, FW_CFG_ARCH_LOCAL | 3, 0x11223344);
    CHECK(rc == 0, "arch key: %d", rc);
    EXPECT_EQ(fw_read_le(&f, FW_CFG_ARCH_LOCAL | 3, 4), 0x11223344, "arch key");
    /* Replacing an item; an empty item reads as 0. */
    rc = fw_cfg_add_u16(&f.fw, FW_CFG_NB_CPUS, 4);
    CHECK(rc == 0, "replace: %d", rc);
    EXPECT_EQ(fw_read_le(&f, FW_CFG_NB_CPUS, 2), 4, "replaced");
    rc = fw_cfg_add_bytes(&f.fw, FW_CFG_UUID, NULL, 0);
    CHECK(rc == 0, "empty item: %d", rc);
    EXPECT_EQ(fw_read_le(&f, FW_CFG_UUID, 4), 0, "empty item");

    /* Port semantics (QEMU's 2-byte port region). */
    fw_select(&f, FW_CFG_SIGNATURE);
    EXPECT_EQ(inb(&f, FW_CFG_PORT), 'Q', "8-bit read at 0x510 is data");
    EXPECT_EQ(inb(&f, FW_CFG_PORT + 1), 'E', "then 0x511");
    EXPECT_EQ(in(&f, FW_CFG_PORT, 2), 0xffff, "16-bit read refused");
    EXPECT_EQ(inb(&f, FW_CFG_PORT + 1), 'M', "16-bit read did not advance");
    outb(&f, FW_CFG_PORT, FW_CFG_ID);
    outb(&f, FW_CFG_PORT + 1, 0);
    EXPECT_EQ(inb(&f, FW_CFG_PORT + 1), 'U', "8-bit writes do not select");
    {
        uint64_t v = FW_CFG_ID;

        /* Half of it lands on 0x511 as an 8-bit write, half nowhere. */
        CHECK(io(&f, FW_CFG_PORT + 1, 2, &v, true) == -ENXIO,
              "16-bit write at 0x511");
    }
    EXPECT_EQ(inb(&f, FW_CFG_PORT + 1), 0, "still the signature, at its end");
    fx_teardown(&f);
}

static void test_fw_cfg_files(void)
{
    static const struct {
        const char *name;
        const char *data;
    } files[] = {
        {"etc/e820", "abc"},
        {"opt/org.example/test", "hello, fw_cfg"},
        {"etc/empty", ""},
    };
    struct fixture f;
    uint8_t buf[4 + 64 * 3];
    char name[80];
    int rc;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        rc = fw_cfg_add_file(&f.fw, files[i].name, files[i].data,
                             strlen(files[i].data));
        CHECK(rc == 0, "add %s: %d", files[i].name, rc);
    }
    fw_select(&f, FW_CFG_FILE_DIR);
    fw_read(&f, buf, sizeof(buf));
    EXPECT_EQ(get_be(buf, 4), 3, "directory count (big-endian)");
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *e = buf + 4 + 64 * i;
        uint16_t key = (uint16_t)get_be(e + 4, 2);
        char data[32] = {0};

        EXPECT_EQ(get_be(e, 4), strlen(files[i].data), "%s: size",
                  files[i].name);
        EXPECT_EQ(key, FW_CFG_FILE_FIRST + i, "%s: select", files[i].name);
        EXPECT_EQ(get_be(e + 6, 2), 0, "%s: reserved", files[i].name);
        CHECK(strncmp((const char *)e + 8, files[i].name, 56) == 0 &&
                  e[8 + strlen(files[i].name)] == 0,
              "%s: name", files[i].name);
        fw_select(&f, key);
        fw_read(&f, data, strlen(files[i].data) + 1);
        CHECK(strcmp(data, files[i].data) == 0, "%s: contents", files[i].name);
    }
    /* Errors. */
    rc = fw_cfg_add_file(&f.fw, files[0].name, "x", 1);
    CHECK(rc == -EEXIST, "duplicate: %d", rc);
    rc = fw_cfg_add_file(&f.fw, "", "x", 1);
    CHECK(rc == -EINVAL, "empty name: %d", rc);
    memset(name, 'n', 55);
    name[55] = '\0';
    rc = fw_cfg_add_file(&f.fw, name, "x", 1);
    CHECK(rc == 0, "55-character name: %d", rc);
    memset(name, 'm', 56);
    name[56] = '\0';
    rc = fw_cfg_add_file(&f.fw, name, "x", 1);
    CHECK(rc == -ENAMETOOLONG, "56-character name: %d", rc);
    rc = fw_cfg_add_bytes(&f.fw, FW_CFG_FILE_DIR, "x", 1);
    CHECK(rc == -EINVAL, "add_bytes(FILE_DIR): %d", rc);
    rc = fw_cfg_add_bytes(&f.fw, FW_CFG_FILE_FIRST, "x", 1);
    CHECK(rc == -EINVAL, "add_bytes(file key): %d", rc);
    rc = fw_cfg_add_bytes(&f.fw, FW_CFG_WRITE_CHANNEL | 1, "x", 1);
    CHECK(rc == -EINVAL, "add_bytes(write channel): %d", rc);
    /* Fill every slot, then one more. */
    for (unsigned i = 4; i < FW_CFG_FILE_SLOTS; i++) {
        snprintf(name, sizeof(name), "etc/fill-%u", i);
        rc = fw_cfg_add_file(&f.fw, name, &i, sizeof(i));
        CHECK(rc == 0, "add %s: %d", name, rc);
    }
    rc = fw_cfg_add_file(&f.fw, "etc/one-too-many", "x", 1);
    CHECK(rc == -ENOSPC, "slots full: %d", rc);
    fw_select(&f, FW_CFG_FILE_DIR);
    fw_read(&f, buf, 4);
    EXPECT_EQ(get_be(buf, 4), FW_CFG_FILE_SLOTS, "full directory count");
    /* The last file. */
    fw_select(&f, FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS - 1);
    fw_read(&f, buf, 4);
    EXPECT_EQ(get_le(buf, 4), FW_CFG_FILE_SLOTS - 1, "last file contents");
    fx_teardown(&f);
}

/* ---- RTC ---- */

static uint8_t cmos_read(struct fixture *f, uint8_t idx)
{
    outb(f, RTC_PORT, idx);
    return inb(f, RTC_PORT + 1);
}

static void cmos_write(struct fixture *f, uint8_t idx, uint8_t v)
{
    outb(f, RTC_PORT, idx);
    outb(f, RTC_PORT + 1, v);
}

static void test_rtc_clock(void)
{
    static const struct {
        const char *mode;
        uint8_t reg_b;
        uint8_t want[10]; /* sec min hour wday mday mon year century */
    } modes[] = {
        {"BCD 24h",
         RTC_B_24H,
         {0x09, 0x05, 0x13, 0x05, 0x29, 0x02, 0x24, 0x20}},
        {"binary 24h",
         RTC_B_24H | RTC_B_DM_BINARY,
         {9, 5, 13, 5, 29, 2, 24, 20}},
        {"BCD 12h", 0, {0x09, 0x05, 0x81, 0x05, 0x29, 0x02, 0x24, 0x20}},
        {"binary 12h", RTC_B_DM_BINARY, {9, 5, 0x81, 5, 29, 2, 24, 20}},
    };
    static const uint8_t regs[] = {RTC_SECONDS,     RTC_MINUTES,      RTC_HOURS,
                                   RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH,
                                   RTC_YEAR,        RTC_CENTURY};
    static const struct {
        int hour;
        uint8_t bcd12;
    } hours12[] = {{0, 0x12}, {1, 0x01}, {11, 0x11}, {12, 0x92}, {23, 0x91}};
    struct fixture f;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    EXPECT_EQ(cmos_read(&f, RTC_REG_A), RTC_REG_A_INIT, "register A");
    EXPECT_EQ(cmos_read(&f, RTC_REG_B), RTC_REG_B_INIT, "register B");
    EXPECT_EQ(cmos_read(&f, RTC_REG_C), 0, "register C");
    EXPECT_EQ(cmos_read(&f, RTC_REG_D), RTC_D_VRT, "register D");
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        cmos_write(&f, RTC_REG_B, modes[m].reg_b);
        for (size_t r = 0; r < sizeof(regs); r++) {
            EXPECT_EQ(cmos_read(&f, regs[r]), modes[m].want[r],
                      "%s: register 0x%02x", modes[m].mode, regs[r]);
        }
    }
    /* 12-hour edge cases: midnight is 12 AM, noon 12 PM. */
    cmos_write(&f, RTC_REG_B, 0);
    for (size_t i = 0; i < sizeof(hours12) / sizeof(hours12[0]); i++) {
        int64_t base = test_time() - 13 * 3600;

        f.rec.now = base + hours12[i].hour * 3600;
        EXPECT_EQ(cmos_read(&f, RTC_HOURS), hours12[i].bcd12,
                  "12h BCD at %d:00", hours12[i].hour);
    }
    f.rec.now = test_time();
    cmos_write(&f, RTC_REG_B, RTC_REG_B_INIT);
    /* The clock follows the host clock. */
    f.rec.now += 61;
    EXPECT_EQ(cmos_read(&f, RTC_SECONDS), 0x10, "host +61 s: seconds");
    EXPECT_EQ(cmos_read(&f, RTC_MINUTES), 0x06, "host +61 s: minutes");
    f.rec.now = test_time();
    /* Bit 7 of the index (NMI mask) is ignored; the index is write-only. */
    outb(&f, RTC_PORT, 0x80 | RTC_SECONDS);
    EXPECT_EQ(inb(&f, RTC_PORT + 1), 0x09, "NMI bit ignored");
    EXPECT_EQ(inb(&f, RTC_PORT), 0xff, "index reads 0xff");
    /* UIP reads 0, the rest of A is stored; C and D are read-only. */
    cmos_write(&f, RTC_REG_A, 0xa6);
    EXPECT_EQ(cmos_read(&f, RTC_REG_A), 0x26, "A without UIP");
    cmos_write(&f, RTC_REG_C, 0xff);
    cmos_write(&f, RTC_REG_D, 0x00);
    EXPECT_EQ(cmos_read(&f, RTC_REG_C), 0, "C read-only");
    EXPECT_EQ(cmos_read(&f, RTC_REG_D), RTC_D_VRT, "D read-only");
    fx_teardown(&f);
}

static void test_rtc_set_time(void)
{
    struct fixture f;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    /* A single register write moves the clock and it keeps running. */
    cmos_write(&f, RTC_HOURS, 0x02);
    EXPECT_EQ(cmos_read(&f, RTC_HOURS), 0x02, "hour set");
    EXPECT_EQ(cmos_read(&f, RTC_DAY_OF_MONTH), 0x29, "day kept");
    f.rec.now += 3600;
    EXPECT_EQ(cmos_read(&f, RTC_HOURS), 0x03, "an hour later");
    /* The guest's clock set with SET: frozen while set, runs after. */
    cmos_write(&f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
    cmos_write(&f, RTC_SECONDS, 0x00);
    cmos_write(&f, RTC_MINUTES, 0x00);
    cmos_write(&f, RTC_HOURS, 0x00);
    cmos_write(&f, RTC_DAY_OF_MONTH, 0x01);
    cmos_write(&f, RTC_MONTH, 0x01);
    cmos_write(&f, RTC_YEAR, 0x00);
    cmos_write(&f, RTC_CENTURY, 0x20);
    cmos_write(&f, RTC_DAY_OF_WEEK, 0x03); /* ignored: from the date */
    f.rec.now += 100;
    EXPECT_EQ(cmos_read(&f, RTC_SECONDS), 0x00, "frozen while SET");
    EXPECT_EQ(cmos_read(&f, RTC_DAY_OF_WEEK), 0x07, "2000-01-01: Saturday");
    cmos_write(&f, RTC_REG_B, RTC_B_24H);
    f.rec.now += 5;
    EXPECT_EQ(cmos_read(&f, RTC_SECONDS), 0x05, "runs after SET");
    EXPECT_EQ(cmos_read(&f, RTC_YEAR), 0x00, "year 2000");
    EXPECT_EQ(cmos_read(&f, RTC_CENTURY), 0x20, "century");
    EXPECT_EQ(cmos_read(&f, RTC_MONTH), 0x01, "month");
    /* Binary 12-hour write: 11 PM. */
    cmos_write(&f, RTC_REG_B, RTC_B_DM_BINARY);
    cmos_write(&f, RTC_HOURS, RTC_HOURS_PM | 11);
    cmos_write(&f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    EXPECT_EQ(cmos_read(&f, RTC_HOURS), 23, "11 PM is 23");
    /* Hostile values do not break anything. */
    cmos_write(&f, RTC_REG_B, RTC_B_24H);
    for (unsigned v = 0; v < 256; v += 17) {
        cmos_write(&f, RTC_MONTH, (uint8_t)v);
        cmos_write(&f, RTC_CENTURY, (uint8_t)v);
        (void)cmos_read(&f, RTC_YEAR);
    }
    fx_teardown(&f);
}

static void test_rtc_memory(void)
{
    static const struct {
        const char *name;
        uint64_t below, above;
        uint16_t base, ext, mem16m;
        uint32_t mem4g;
    } cases[] = {
        {"512 KiB", 512 * 1024, 0, 512, 0, 0, 0},
        {"8 MiB", 8 * MIB, 0, 640, 7 * 1024, 0, 0},
        {"64 MiB", 64 * MIB, 0, 640, 63 * 1024, 48 * 16, 0},
        {"512 MiB", 512 * MIB, 0, 640, 0xffff, 496 * 16, 0},
        {"3 GiB + 5 GiB", 3 * GIB, 5 * GIB, 640, 0xffff, 0xbf00, 0x14000},
        {"4 GiB + 2 TiB", 4 * GIB, 2048 * GIB, 640, 0xffff, 0xff00, 0xffffff},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        uint32_t v;

        if (!fx_setup(&f, cases[i].below, cases[i].above)) {
            return;
        }
        v = cmos_read(&f, RTC_BASE_MEM_LO) | cmos_read(&f, RTC_BASE_MEM_HI)
                                                 << 8;
        EXPECT_EQ(v, cases[i].base, "%s: base memory", cases[i].name);
        v = cmos_read(&f, RTC_EXT_MEM_LO) | cmos_read(&f, RTC_EXT_MEM_HI) << 8;
        EXPECT_EQ(v, cases[i].ext, "%s: extended memory", cases[i].name);
        v = cmos_read(&f, RTC_EXT_MEM2_LO) | cmos_read(&f, RTC_EXT_MEM2_HI)
                                                 << 8;
        EXPECT_EQ(v, cases[i].ext, "%s: extended memory copy", cases[i].name);
        v = cmos_read(&f, RTC_MEM_16M_LO) | cmos_read(&f, RTC_MEM_16M_HI) << 8;
        EXPECT_EQ(v, cases[i].mem16m, "%s: above 16 MiB", cases[i].name);
        v = cmos_read(&f, RTC_MEM_4G_LO) | cmos_read(&f, RTC_MEM_4G_MID) << 8 |
            (uint32_t)cmos_read(&f, RTC_MEM_4G_HI) << 16;
        EXPECT_EQ(v, cases[i].mem4g, "%s: above 4 GiB", cases[i].name);
        fx_teardown(&f);
    }
}

static void test_rtc_ram(void)
{
    struct fixture f;
    unsigned bad = 0;

    if (!fx_setup(&f, 0, 0)) {
        return;
    }
    /* Every plain RAM byte keeps what is written. */
    for (unsigned idx = 0x0e; idx < RTC_CMOS_SIZE; idx++) {
        if (idx == RTC_CENTURY) {
            continue;
        }
        cmos_write(&f, (uint8_t)idx, (uint8_t)(idx * 3 + 1));
    }
    for (unsigned idx = 0x0e; idx < RTC_CMOS_SIZE; idx++) {
        if (idx != RTC_CENTURY &&
            cmos_read(&f, (uint8_t)idx) != (uint8_t)(idx * 3 + 1)) {
            bad++;
        }
    }
    CHECK(bad == 0, "%u CMOS RAM bytes lost", bad);
    /* Alarms are stored. */
    cmos_write(&f, RTC_SECONDS_ALARM, 0x30);
    cmos_write(&f, RTC_MINUTES_ALARM, 0x31);
    cmos_write(&f, RTC_HOURS_ALARM, 0x32);
    EXPECT_EQ(cmos_read(&f, RTC_SECONDS_ALARM), 0x30, "alarm seconds");
    EXPECT_EQ(cmos_read(&f, RTC_MINUTES_ALARM), 0x31, "alarm minutes");
    EXPECT_EQ(cmos_read(&f, RTC_HOURS_ALARM), 0x32, "alarm hours");
    /* A 16-bit write at the index port: index, then data (ISA order). */
    out(&f, RTC_PORT, 2, 0xab40);
    EXPECT_EQ(cmos_read(&f, 0x40), 0xab, "outw index+data");
    outb(&f, RTC_PORT, 0x41);
    EXPECT_EQ(in(&f, RTC_PORT, 2) >> 8, 0x41 * 3 + 1, "inw: data byte");
    fx_teardown(&f);
}

/* ---- random storms ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/*
 * (n) random accesses of every size at ports [first - 4, last + 4], writes
 * and reads mixed; returns how many were refused or unassigned.
 */
static unsigned storm(struct fixture *f, gpa_t first, gpa_t last, unsigned n)
{
    static const unsigned sizes[] = {1, 2, 4, 8};
    unsigned errors = 0;

    for (unsigned i = 0; i < n; i++) {
        uint64_t r = rng();
        gpa_t port = first - 4 + r % (last - first + 9);
        unsigned size = sizes[(r >> 8) % 4];
        uint64_t v = r >> 16;

        errors += io(f, port, size, &v, (r >> 62) & 1) != 0;
    }
    return errors;
}

static void test_storms(void)
{
    static const struct {
        const char *name;
        gpa_t first, last;
    } ranges[] = {
        {"i8042", KBD_DATA, KBD_CMD},
        {"rtc", RTC_PORT, RTC_PORT + 1},
        {"debug-exit", DEBUG_EXIT_PORT, DEBUG_EXIT_PORT + 3},
        {"fw_cfg", FW_CFG_PORT, FW_CFG_PORT + 1},
    };
    struct fixture f;
    int rc;

    if (!fx_setup(&f, 1 * GIB, 1 * GIB)) {
        return;
    }
    rc = fw_cfg_add_file(&f.fw, "etc/storm", "storm", 5);
    CHECK(rc == 0, "storm file: %d", rc);
    rng_state = 0x5eed5eed5eed5eedull;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        unsigned errors = storm(&f, ranges[i].first, ranges[i].last, 50000);

        CHECK(errors > 0 && errors < 50000, "%s: %u of 50000 refused",
              ranges[i].name, errors);
    }
    /* fw_cfg with valid selects in between: every key, reads past ends. */
    for (unsigned i = 0; i < 20000; i++) {
        uint64_t r = rng();

        if (r % 8 == 0) {
            fw_select(&f, (uint16_t)(r >> 16));
        } else {
            (void)inb(&f, FW_CFG_PORT + ((r >> 8) & 1));
        }
    }
    CHECK(f.rec.resets > 0 && f.rec.exits > 0, "storm reached the hooks");
    /* Still sane afterwards. */
    fw_select(&f, FW_CFG_SIGNATURE);
    EXPECT_EQ(inb(&f, FW_CFG_PORT + 1), 'Q', "fw_cfg after the storm");
    outb(&f, KBD_CMD, I8042_CMD_SELF_TEST);
    EXPECT_EQ(inb(&f, KBD_DATA), I8042_SELF_TEST_OK, "i8042 after the storm");
    fx_teardown(&f);
}

int main(void)
{
    rcu_register_thread();
    test_i8042_status_and_commands();
    test_i8042_reset();
    test_debug_exit();
    test_run_ctl();
    test_pci_host();
    test_fw_cfg_items();
    test_fw_cfg_files();
    test_rtc_clock();
    test_rtc_set_time();
    test_rtc_memory();
    test_rtc_ram();
    test_storms();
    rcu_unregister_thread();
    printf("test_devices: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
