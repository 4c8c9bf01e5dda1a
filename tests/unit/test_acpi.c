/* SPDX-License-Identifier: MIT */
/*
 * Tests of the ACPI tables (vmm/boot/acpi.c) and the PM1/reset register device
 * (devices/acpi_pm.c).
 *
 * The tables are written into a fake guest memory covering the first MiB
 * and parsed back the way an OS finds them: the RSDP, then the XSDT and
 * RSDT, then each table they list, checking signatures, lengths, every
 * checksum, that everything lies in the documented window, and the fields
 * Linux relies on (MADT entries for 1 to 254 CPUs, FADT PM1 blocks, reset
 * register and flags, the exact \_S5 AML and keyboard device in the DSDT).
 *
 * The device is placed at its usual ports in an "io" address space and
 * driven with as_access(), so its declared access sizes are checked too;
 * recording hooks count power-offs and resets. A seeded random storm and
 * a two-thread power-off race finish it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "acpi.h"
#include "devices/acpi_pm.h"
#include "mem/address_space.h"
#include "mem/region.h"
#include "mptable.h"
#include "unit.h"

static unsigned unit_failures;

#define EXPECT_EQ(got, want, ...)                                              \
    do {                                                                       \
        uint64_t got_ = (got), want_ = (want);                                 \
        if (got_ != want_) {                                                   \
            CHECK(got_ == want_, __VA_ARGS__);                                 \
            fprintf(stderr, "  got 0x%" PRIx64 ", want 0x%" PRIx64 "\n", got_, \
                    want_);                                                    \
        }                                                                      \
    } while (0)

/* ---- fake guest memory ---- */

#define MEM_SIZE 0x100000u

struct fake_mem {
    uint8_t *bytes;
    unsigned writes;
    gpa_t lo, hi; /* written range [lo, hi) */
    int fail;     /* returned by the write function when nonzero */
};

static int fake_write(void *opaque, gpa_t gpa, const void *buf, size_t len)
{
    struct fake_mem *m = opaque;

    if (m->fail) {
        return m->fail;
    }
    if (gpa > MEM_SIZE || len > MEM_SIZE - gpa) {
        CHECK(0, "write 0x%" PRIx64 "+%zu outside the fake memory", gpa, len);
        return -EFAULT;
    }
    memcpy(m->bytes + gpa, buf, len);
    if (m->writes == 0 || gpa < m->lo) {
        m->lo = gpa;
    }
    if (m->writes == 0 || gpa + len > m->hi) {
        m->hi = gpa + len;
    }
    m->writes++;
    return 0;
}

static bool fake_init(struct fake_mem *m)
{
    memset(m, 0, sizeof(*m));
    m->bytes = calloc(1, MEM_SIZE);
    CHECK(m->bytes, "no memory");
    return m->bytes != NULL;
}

static uint8_t rd8(const struct fake_mem *m, uint64_t gpa)
{
    return gpa < MEM_SIZE ? m->bytes[gpa] : 0;
}

static uint16_t rd16(const struct fake_mem *m, uint64_t gpa)
{
    return (uint16_t)(rd8(m, gpa) | rd8(m, gpa + 1) << 8);
}

static uint32_t rd32(const struct fake_mem *m, uint64_t gpa)
{
    return (uint32_t)rd16(m, gpa) | (uint32_t)rd16(m, gpa + 2) << 16;
}

static uint64_t rd64(const struct fake_mem *m, uint64_t gpa)
{
    return (uint64_t)rd32(m, gpa) | (uint64_t)rd32(m, gpa + 4) << 32;
}

static uint8_t sum(const struct fake_mem *m, uint64_t gpa, uint64_t len)
{
    uint8_t s = 0;

    for (uint64_t i = 0; i < len; i++) {
        s += rd8(m, gpa + i);
    }
    return s;
}

static bool sig_is(const struct fake_mem *m, uint64_t gpa, const char *sig)
{
    size_t n = strlen(sig);

    return gpa < MEM_SIZE && n <= MEM_SIZE - gpa &&
           memcmp(m->bytes + gpa, sig, n) == 0;
}

static const struct acpi_config default_cfg = {
    .nr_cpus = 1,
    .pm1a_evt_port = ACPI_PM1A_EVT_PORT,
    .pm1a_cnt_port = ACPI_PM1A_CNT_PORT,
    .reset_port = ACPI_RESET_PORT,
};

/* ---- table parsing ---- */

/*
 * Check the table at (gpa): signature (sig), inside the written range and
 * the window, checksum 0, OEM ids. Returns its length, or 0 when it is
 * not sound enough to look into.
 */
static uint32_t check_table(const struct fake_mem *m, uint64_t gpa,
                            const char *sig)
{
    uint32_t len;

    if (gpa < m->lo || gpa + 36 > m->hi) {
        CHECK(0, "%s at 0x%" PRIx64 " outside [0x%" PRIx64 ", 0x%" PRIx64 ")",
              sig, gpa, m->lo, m->hi);
        return 0;
    }
    CHECK(sig_is(m, gpa, sig), "signature at 0x%" PRIx64 " is not %s", gpa,
          sig);
    len = rd32(m, gpa + 4);
    if (len < 36 || gpa + len > m->hi || gpa + len > ACPI_END) {
        CHECK(0, "%s length %u runs out of the tables", sig, len);
        return 0;
    }
    CHECK(gpa >= ACPI_GPA, "%s below the window", sig);
    EXPECT_EQ(sum(m, gpa, len), 0, "%s checksum", sig);
    CHECK(sig_is(m, gpa + 10, "VMM   "), "%s OEM id", sig);
    CHECK(sig_is(m, gpa + 16, "VMMTABLE"), "%s OEM table id", sig);
    return len;
}

/* What the walk found. */
struct found {
    uint64_t fadt, madt, dsdt, facs;
};

static void check_rsdp_and_roots(const struct fake_mem *m, gpa_t rsdp,
                                 struct found *out)
{
    uint64_t xsdt, rsdt;
    uint32_t xlen, rlen;

    memset(out, 0, sizeof(*out));
    EXPECT_EQ(rsdp, ACPI_RSDP_GPA, "RSDP address");
    CHECK(rsdp % 16 == 0, "RSDP not 16-byte aligned");
    CHECK(rsdp >= 0xe0000 && rsdp + 36 <= 0x100000,
          "RSDP outside the BIOS area Linux scans");
    CHECK(sig_is(m, rsdp, "RSD PTR "), "RSDP signature");
    EXPECT_EQ(sum(m, rsdp, 20), 0, "RSDP checksum (first 20 bytes)");
    EXPECT_EQ(sum(m, rsdp, 36), 0, "RSDP extended checksum");
    EXPECT_EQ(rd8(m, rsdp + 15), 2, "RSDP revision");
    EXPECT_EQ(rd32(m, rsdp + 20), 36, "RSDP length");
    CHECK(sig_is(m, rsdp + 9, "VMM   "), "RSDP OEM id");

    xsdt = rd64(m, rsdp + 24);
    xlen = check_table(m, xsdt, "XSDT");
    rsdt = rd32(m, rsdp + 16);
    rlen = check_table(m, rsdt, "RSDT");
    if (xlen == 0 || rlen == 0) {
        return;
    }
    CHECK((xlen - 36) % 8 == 0 && (rlen - 36) % 4 == 0, "root entry sizes");
    EXPECT_EQ((xlen - 36) / 8, 2, "XSDT entries");
    EXPECT_EQ((rlen - 36) / 4, 2, "RSDT entries");
    for (uint32_t i = 0; i < (xlen - 36) / 8; i++) {
        uint64_t t = rd64(m, xsdt + 36 + 8 * i);

        EXPECT_EQ(t, rd32(m, rsdt + 36 + 4 * i), "XSDT/RSDT entry %u", i);
        if (sig_is(m, t, "FACP")) {
            CHECK(!out->fadt, "two FACP");
            out->fadt = t;
        } else if (sig_is(m, t, "APIC")) {
            CHECK(!out->madt, "two APIC");
            out->madt = t;
        } else {
            CHECK(0, "XSDT entry %u at 0x%" PRIx64 " is neither FACP nor APIC",
                  i, t);
        }
    }
    CHECK(out->fadt && out->madt, "XSDT lists FACP and APIC");
}

/* A Generic Address Structure for System I/O. */
static void check_gas(const struct fake_mem *m, uint64_t g, unsigned bits,
                      uint64_t port, const char *what)
{
    EXPECT_EQ(rd8(m, g), 1, "%s: address space (System I/O)", what);
    EXPECT_EQ(rd8(m, g + 1), bits, "%s: bit width", what);
    EXPECT_EQ(rd8(m, g + 2), 0, "%s: bit offset", what);
    EXPECT_EQ(rd64(m, g + 4), port, "%s: address", what);
}

static void check_fadt(const struct fake_mem *m, const struct acpi_config *cfg,
                       struct found *f)
{
    uint64_t t = f->fadt;
    uint32_t flags;
    uint32_t len = check_table(m, t, "FACP");

    if (len == 0) {
        return;
    }
    EXPECT_EQ(len, 276, "FADT length");
    EXPECT_EQ(rd8(m, t + 8), 6, "FADT revision");
    /* FACS and DSDT. */
    f->facs = rd32(m, t + 36);
    EXPECT_EQ(rd64(m, t + 132), 0, "X_FIRMWARE_CTRL (FIRMWARE_CTRL is set)");
    f->dsdt = rd64(m, t + 140);
    EXPECT_EQ(rd32(m, t + 40), f->dsdt, "DSDT and X_DSDT agree");
    CHECK(sig_is(m, f->facs, "FACS"), "FIRMWARE_CTRL -> FACS");
    EXPECT_EQ(f->facs % 64, 0, "FACS alignment");
    EXPECT_EQ(rd32(m, f->facs + 4), 64, "FACS length");
    CHECK(f->facs >= ACPI_GPA && f->facs + 64 <= m->hi, "FACS in the tables");
    /* SCI, SMI, PM blocks. */
    EXPECT_EQ(rd16(m, t + 46), 9, "SCI_INT");
    EXPECT_EQ(rd32(m, t + 48), 0, "SMI_CMD");
    EXPECT_EQ(rd32(m, t + 56), cfg->pm1a_evt_port, "PM1a_EVT_BLK");
    EXPECT_EQ(rd32(m, t + 60), 0, "PM1b_EVT_BLK");
    EXPECT_EQ(rd32(m, t + 64), cfg->pm1a_cnt_port, "PM1a_CNT_BLK");
    EXPECT_EQ(rd32(m, t + 68), 0, "PM1b_CNT_BLK");
    EXPECT_EQ(rd32(m, t + 76), 0, "PM_TMR_BLK");
    EXPECT_EQ(rd32(m, t + 80), 0, "GPE0_BLK");
    EXPECT_EQ(rd8(m, t + 88), 4, "PM1_EVT_LEN");
    EXPECT_EQ(rd8(m, t + 89), 2, "PM1_CNT_LEN");
    EXPECT_EQ(rd8(m, t + 91), 0, "PM_TMR_LEN");
    EXPECT_EQ(rd8(m, t + 92), 0, "GPE0_BLK_LEN");
    check_gas(m, t + 148, 32, cfg->pm1a_evt_port, "X_PM1a_EVT_BLK");
    check_gas(m, t + 172, 16, cfg->pm1a_cnt_port, "X_PM1a_CNT_BLK");
    EXPECT_EQ(rd64(m, t + 160 + 4), 0, "X_PM1b_EVT_BLK");
    EXPECT_EQ(rd64(m, t + 208 + 4), 0, "X_PM_TMR_BLK");
    /* Boot architecture, flags, reset. */
    CHECK(rd16(m, t + 109) & 0x2, "IAPC_BOOT_ARCH: 8042");
    flags = rd32(m, t + 112);
    CHECK(flags & (1u << 0), "flags: WBINVD");
    CHECK(flags & (1u << 10), "flags: RESET_REG_SUP");
    CHECK(!(flags & (1u << 20)), "flags: not HW_REDUCED_ACPI");
    check_gas(m, t + 116, 8, cfg->reset_port, "RESET_REG");
    EXPECT_EQ(rd8(m, t + 128), 0x06, "RESET_VALUE");
    EXPECT_EQ(rd8(m, t + 108), 0x32, "CENTURY");
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* An AML PkgLength at (p): its value, and its own size in (*n). */
static uint32_t pkg_len(const uint8_t *p, unsigned *n)
{
    uint32_t v = p[0] & 0x3f;

    *n = 1 + (p[0] >> 6);
    if (*n > 1) {
        v = p[0] & 0x0f;
        for (unsigned i = 1; i < *n; i++) {
            v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
        }
    }
    return v;
}

/* The resources of one virtio device's _CRS buffer, (len) bytes at (p). */
static void check_virtio_crs(const uint8_t *p, uint32_t len,
                             const struct acpi_virtio *want, unsigned i)
{
    bool mem = false, irq = false, end = false;
    uint32_t off = 0;

    while (off < len && !end) {
        uint8_t tag = p[off];
        uint32_t dlen = p[off + 1] | (uint32_t)p[off + 2] << 8;

        if (tag == 0x86) {
            EXPECT_EQ(dlen, 9, "Memory32Fixed length");
            EXPECT_EQ(p[off + 3] & 1, 1, "device %u: read-write", i);
            EXPECT_EQ(get32(p + off + 4), want->base, "device %u base", i);
            EXPECT_EQ(get32(p + off + 8), want->size, "device %u size", i);
            mem = true;
            off += 3 + dlen;
        } else if (tag == 0x89) {
            EXPECT_EQ(p[off + 3] & 0x0f, 0x03,
                      "device %u: consumer, edge, active high, exclusive", i);
            EXPECT_EQ(p[off + 4], 1, "device %u: one interrupt", i);
            EXPECT_EQ(get32(p + off + 5), want->irq, "device %u irq", i);
            irq = true;
            off += 3 + dlen;
        } else if (tag == 0x79) {
            end = true;
            off += 2;
        } else {
            CHECK(0, "device %u: resource tag 0x%x", i, tag);
            return;
        }
    }
    CHECK(mem && irq && end, "device %u: Memory32Fixed, Interrupt, End", i);
    EXPECT_EQ(off, len, "device %u: the resources fill the buffer", i);
}

/* Device (VRnn) { Name (_HID ...) Name (_UID ...) Name (_CRS ...) } at
 * (p); returns its size. */
static uint32_t check_virtio_dev(const uint8_t *p,
                                 const struct acpi_virtio *want, unsigned i)
{
    unsigned n;
    uint32_t len, off;
    char name[5];
    bool hid = false, uid = false, crs = false;

    CHECK(p[0] == 0x5b && p[1] == 0x82, "device %u: DeviceOp", i);
    len = pkg_len(p + 2, &n);
    snprintf(name, sizeof(name), "VR%02X", i);
    CHECK(memcmp(p + 2 + n, name, 4) == 0, "device %u named %s", i, name);
    for (off = 2 + n + 4; off < 2 + len;) {
        const uint8_t *o = p + off;

        CHECK(o[0] == 0x08, "device %u: only Name objects", i);
        if (o[0] != 0x08) {
            break;
        }
        if (memcmp(o + 1, "_HID", 4) == 0) {
            CHECK(o[5] == 0x0d && memcmp(o + 6, "LNRO0005", 9) == 0,
                  "device %u _HID \"LNRO0005\"", i);
            hid = true;
            off += 15;
        } else if (memcmp(o + 1, "_UID", 4) == 0) {
            CHECK(o[5] == 0x0a && o[6] == i, "device %u _UID", i);
            uid = true;
            off += 7;
        } else if (memcmp(o + 1, "_CRS", 4) == 0) {
            uint32_t blen;
            unsigned bn;

            CHECK(o[5] == 0x11, "device %u _CRS is a Buffer", i);
            blen = pkg_len(o + 6, &bn);
            CHECK(o[6 + bn] == 0x0a, "device %u buffer size a byte", i);
            check_virtio_crs(o + 6 + bn + 2, o[6 + bn + 1], want, i);
            EXPECT_EQ(blen, bn + 2 + o[6 + bn + 1], "device %u buffer", i);
            crs = true;
            off += 6 + blen;
        } else {
            CHECK(0, "device %u: name %.4s", i, (const char *)o + 1);
            break;
        }
    }
    CHECK(hid && uid && crs, "device %u has _HID, _UID, _CRS", i);
    EXPECT_EQ(off, 2 + len, "device %u: its objects fill it", i);
    return 2 + len;
}

/* Device (KBD_) { Name (_HID, "PNP0303") Name (_CRS, ...) } at (p): ports
 * 0x60 and 0x64 and IRQ 1; returns its size. */
static uint32_t check_kbd_dev(const uint8_t *p)
{
    /* IO (Decode16, 0x60, 0x60, 1, 1), IO (... 0x64 ...), IRQNoFlags {1},
     * end tag. */
    static const uint8_t crs[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01,
                                  0x01, 0x47, 0x01, 0x64, 0x00, 0x64, 0x00,
                                  0x01, 0x01, 0x22, 0x02, 0x00, 0x79, 0x00};
    static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0d, 'P',
                                  'N',  'P', '0', '3', '0', '3',  0};
    unsigned n, bn;
    uint32_t len, blen;
    const uint8_t *o;

    CHECK(p[0] == 0x5b && p[1] == 0x82, "keyboard: DeviceOp");
    len = pkg_len(p + 2, &n);
    CHECK(memcmp(p + 2 + n, "KBD_", 4) == 0, "keyboard named KBD_");
    o = p + 2 + n + 4;
    CHECK(memcmp(o, hid, sizeof(hid)) == 0, "keyboard _HID \"PNP0303\"");
    o += sizeof(hid);
    CHECK(o[0] == 0x08 && memcmp(o + 1, "_CRS", 4) == 0 && o[5] == 0x11,
          "keyboard: Name (_CRS, Buffer ...)");
    blen = pkg_len(o + 6, &bn);
    CHECK(o[6 + bn] == 0x0a && o[7 + bn] == sizeof(crs),
          "keyboard: a %zu-byte buffer", sizeof(crs));
    CHECK(memcmp(o + 8 + bn, crs, sizeof(crs)) == 0,
          "keyboard: ports 0x60 and 0x64, IRQ 1, nothing else");
    EXPECT_EQ(blen, bn + 2 + sizeof(crs), "keyboard: buffer length");
    EXPECT_EQ(o + 6 + blen - p, 2 + len, "keyboard: _HID and _CRS fill it");
    return 2 + len;
}

static void check_dsdt(const struct fake_mem *m, const struct acpi_config *cfg,
                       const struct found *f)
{
    /* Name (_S5, Package (4) { 5, 5, 0, 0 }) */
    static const uint8_t s5[] = {0x08, '_',  'S',  '5',  '_',  0x12, 0x08,
                                 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
    uint32_t len = check_table(m, f->dsdt, "DSDT");
    const uint8_t *p = m->bytes + f->dsdt + 36 + sizeof(s5);
    uint32_t slen, off;
    unsigned n;

    if (len == 0) {
        return;
    }
    CHECK(memcmp(m->bytes + f->dsdt + 36, s5, sizeof(s5)) == 0,
          "DSDT AML is not Name (_S5, Package (4) { 5, 5, 0, 0 })");
    EXPECT_EQ(ACPI_PM_SLP_TYP_S5, 5, "the device's S5 value");
    /* Scope (\_SB) { Device (KBD_) ... Device (VR00) ... } */
    CHECK(p[0] == 0x10, "DSDT: ScopeOp after _S5");
    slen = pkg_len(p + 1, &n);
    EXPECT_EQ(36 + sizeof(s5) + 1 + slen, len, "the scope ends the DSDT");
    CHECK(p[1 + n] == '\\' && memcmp(p + 2 + n, "_SB_", 4) == 0,
          "Scope (\\_SB)");
    off = 1 + n + 5;
    off += check_kbd_dev(p + off);
    for (unsigned i = 0; i < cfg->nr_virtio && off < 1 + slen; i++) {
        off += check_virtio_dev(p + off, &cfg->virtio[i], i);
    }
    EXPECT_EQ(off, 1 + slen, "the devices fill the scope");
}

static void check_madt(const struct fake_mem *m, int nr_cpus,
                       const struct found *f)
{
    uint64_t t = f->madt;
    uint32_t len = check_table(m, t, "APIC");
    unsigned lapics = 0, ioapics = 0, iso0 = 0, iso9 = 0, nmis = 0;
    uint64_t e, end;

    if (len == 0) {
        return;
    }
    EXPECT_EQ(rd32(m, t + 36), 0xfee00000u, "local APIC address");
    EXPECT_EQ(rd32(m, t + 40), 1, "MADT flags: PCAT_COMPAT");
    end = t + len;
    for (e = t + 44; e + 2 <= end;) {
        uint8_t type = rd8(m, e), elen = rd8(m, e + 1);

        if (elen < 2 || e + elen > end) {
            CHECK(0, "MADT entry at +0x%" PRIx64 " has length %u", e - t, elen);
            return;
        }
        switch (type) {
        case 0:
            EXPECT_EQ(elen, 8, "local APIC entry length");
            EXPECT_EQ(rd8(m, e + 2), lapics, "processor UID of CPU %u", lapics);
            EXPECT_EQ(rd8(m, e + 3), lapics, "APIC id of CPU %u", lapics);
            EXPECT_EQ(rd32(m, e + 4), 1, "CPU %u enabled", lapics);
            lapics++;
            break;
        case 1:
            EXPECT_EQ(elen, 12, "I/O APIC entry length");
            EXPECT_EQ(rd8(m, e + 2), nr_cpus, "I/O APIC id");
            EXPECT_EQ(rd32(m, e + 4), 0xfec00000u, "I/O APIC address");
            EXPECT_EQ(rd32(m, e + 8), 0, "I/O APIC GSI base");
            ioapics++;
            break;
        case 2:
            EXPECT_EQ(elen, 10, "override entry length");
            EXPECT_EQ(rd8(m, e + 2), 0, "override bus: ISA");
            if (rd8(m, e + 3) == 0) {
                EXPECT_EQ(rd32(m, e + 4), 2, "IRQ 0 -> GSI 2");
                EXPECT_EQ(rd16(m, e + 8), 0, "IRQ 0 flags");
                iso0++;
            } else if (rd8(m, e + 3) == 9) {
                EXPECT_EQ(rd32(m, e + 4), 9, "IRQ 9 -> GSI 9");
                EXPECT_EQ(rd16(m, e + 8), 0xd, "IRQ 9: level, active high");
                iso9++;
            } else {
                CHECK(0, "override of IRQ %u", rd8(m, e + 3));
            }
            break;
        case 4:
            EXPECT_EQ(elen, 6, "local APIC NMI entry length");
            EXPECT_EQ(rd8(m, e + 2), 0xff, "NMI: all processors");
            EXPECT_EQ(rd8(m, e + 5), 1, "NMI on LINT1");
            nmis++;
            break;
        default:
            CHECK(0, "MADT entry type %u", type);
            break;
        }
        e += elen;
    }
    EXPECT_EQ(e, end, "MADT entries fill the table exactly");
    EXPECT_EQ(lapics, (unsigned)nr_cpus, "local APIC entries");
    EXPECT_EQ(ioapics, 1, "I/O APIC entries");
    EXPECT_EQ(iso0, 1, "IRQ 0 overrides");
    EXPECT_EQ(iso9, 1, "IRQ 9 overrides");
    EXPECT_EQ(nmis, 1, "local APIC NMI entries");
}

static void test_tables_for(const struct acpi_config *cfg)
{
    struct fake_mem m;
    struct found f;
    gpa_t rsdp = 0;
    size_t size = acpi_tables_size(cfg->nr_cpus, cfg->nr_virtio);
    int rc;

    if (!fake_init(&m)) {
        return;
    }
    rc = acpi_write_tables(cfg, fake_write, &m, &rsdp);
    CHECK(rc == 0, "acpi_write_tables(%d CPUs): %d", cfg->nr_cpus, rc);
    if (rc == 0) {
        EXPECT_EQ(m.writes, 1, "one write");
        EXPECT_EQ(m.lo, ACPI_GPA, "tables start at the window");
        EXPECT_EQ(m.hi - m.lo, size, "acpi_tables_size() is what was written");
        CHECK(m.hi <= ACPI_END, "tables end past the window");
        CHECK(ACPI_END <= MPTABLE_GPA, "window overlaps the MP table");
        check_rsdp_and_roots(&m, rsdp, &f);
        if (f.fadt) {
            check_fadt(&m, cfg, &f);
        }
        if (f.dsdt) {
            check_dsdt(&m, cfg, &f);
        }
        if (f.madt) {
            check_madt(&m, cfg->nr_cpus, &f);
        }
    }
    free(m.bytes);
}

static void test_tables(void)
{
    static const int cpus[] = {1, 2, 3, 8, 64, 253, ACPI_MAX_CPUS};
    struct acpi_config cfg = default_cfg;

    for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
        cfg.nr_cpus = cpus[i];
        test_tables_for(&cfg);
    }
    /* Other ports show up where the FADT names them. */
    cfg = (struct acpi_config){.nr_cpus = 2,
                               .pm1a_evt_port = 0xb000,
                               .pm1a_cnt_port = 0xb004,
                               .reset_port = 0x92};
    test_tables_for(&cfg);
    cfg = (struct acpi_config){.nr_cpus = 4,
                               .pm1a_evt_port = 0xfffc,
                               .pm1a_cnt_port = 0xfffa,
                               .reset_port = 0xfff9};
    test_tables_for(&cfg);
    /* virtio-mmio devices in the DSDT: one, and as many as allowed. */
    {
        struct acpi_virtio v[ACPI_MAX_VIRTIO];

        for (unsigned i = 0; i < ACPI_MAX_VIRTIO; i++) {
            v[i] = (struct acpi_virtio){0xfeb00000u + 0x200u * i, 0x200, 5 + i};
        }
        cfg = default_cfg;
        cfg.virtio = v;
        cfg.nr_virtio = 1;
        test_tables_for(&cfg);
        cfg.nr_cpus = 8;
        cfg.nr_virtio = ACPI_MAX_VIRTIO;
        test_tables_for(&cfg);
    }
}

static void test_sizes(void)
{
    size_t prev = 0;

    EXPECT_EQ(acpi_tables_size(0, 0), 0, "size for 0 CPUs");
    EXPECT_EQ(acpi_tables_size(-1, 0), 0, "size for -1 CPUs");
    EXPECT_EQ(acpi_tables_size(ACPI_MAX_CPUS + 1, 0), 0, "size past the max");
    for (int n = 1; n <= ACPI_MAX_CPUS; n++) {
        size_t s = acpi_tables_size(n, 0);

        CHECK(s > prev && s <= ACPI_END - ACPI_GPA, "size for %d CPUs: %zu", n,
              s);
        prev = s;
    }
}

static void test_bad_args(void)
{
    static const struct acpi_virtio many_virtio[ACPI_MAX_VIRTIO + 1];
    static const struct {
        const char *name;
        struct acpi_config cfg;
    } bad[] = {
        {"0 CPUs", {0, 0x600, 0x604, 0xcf9, NULL, 0}},
        {"-1 CPUs", {-1, 0x600, 0x604, 0xcf9, NULL, 0}},
        {"255 CPUs", {ACPI_MAX_CPUS + 1, 0x600, 0x604, 0xcf9, NULL, 0}},
        {"event port 0", {1, 0, 0x604, 0xcf9, NULL, 0}},
        {"control port 0", {1, 0x600, 0, 0xcf9, NULL, 0}},
        {"reset port 0", {1, 0x600, 0x604, 0, NULL, 0}},
        {"event block past 0xffff", {1, 0xfffd, 0x604, 0xcf9, NULL, 0}},
        {"control block past 0xffff", {1, 0x600, 0xffff, 0xcf9, NULL, 0}},
        {"control inside event", {1, 0x600, 0x602, 0xcf9, NULL, 0}},
        {"event over control", {1, 0x601, 0x600, 0xcf9, NULL, 0}},
        {"reset inside event", {1, 0x600, 0x604, 0x603, NULL, 0}},
        {"reset inside control", {1, 0x600, 0x604, 0x605, NULL, 0}},
        {"virtio devices without a list", {1, 0x600, 0x604, 0xcf9, NULL, 1}},
        {"too many virtio devices",
         {1, 0x600, 0x604, 0xcf9, many_virtio, ACPI_MAX_VIRTIO + 1}},
    };
    struct fake_mem m;
    gpa_t rsdp = 0x1234;
    int rc;

    if (!fake_init(&m)) {
        return;
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = acpi_write_tables(&bad[i].cfg, fake_write, &m, &rsdp);
        EXPECT_EQ((uint64_t)(int64_t)rc, (uint64_t)-EINVAL, "%s", bad[i].name);
    }
    rc = acpi_write_tables(NULL, fake_write, &m, &rsdp);
    EXPECT_EQ((uint64_t)(int64_t)rc, (uint64_t)-EINVAL, "NULL config");
    rc = acpi_write_tables(&default_cfg, NULL, &m, &rsdp);
    EXPECT_EQ((uint64_t)(int64_t)rc, (uint64_t)-EINVAL, "NULL write");
    rc = acpi_write_tables(&default_cfg, fake_write, &m, NULL);
    EXPECT_EQ((uint64_t)(int64_t)rc, (uint64_t)-EINVAL, "NULL rsdp_gpa");
    EXPECT_EQ(m.writes, 0, "rejected configurations write nothing");
    /* The write function's error comes back; the out-param is untouched. */
    m.fail = -EIO;
    rc = acpi_write_tables(&default_cfg, fake_write, &m, &rsdp);
    EXPECT_EQ((uint64_t)(int64_t)rc, (uint64_t)-EIO, "write error");
    EXPECT_EQ(rsdp, 0x1234, "rsdp_gpa untouched on failure");
    free(m.bytes);
}

/* ---- the device ---- */

#define EVT_PORT ACPI_PM1A_EVT_PORT
#define CNT_PORT ACPI_PM1A_CNT_PORT
#define RST_PORT ACPI_RESET_PORT
#define S5_EN                                                                  \
    ((ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT) | ACPI_PM1_CNT_SLP_EN)

struct rec {
    atomic_uint poweroffs;
    atomic_uint resets;
    /* A hook found the device lock held. */
    atomic_uint locked_in_hook;
    struct acpi_pm *dev;
};

struct fixture {
    struct mem_sys *sys;
    struct mem_region root;
    struct address_space *as;
    struct acpi_pm pm;
    struct rec rec;
};

static void hook_check_lock(struct rec *r)
{
    if (pthread_mutex_trylock(&r->dev->lock) == 0) {
        pthread_mutex_unlock(&r->dev->lock);
    } else {
        r->locked_in_hook++;
    }
}

static void rec_poweroff(void *opaque)
{
    struct rec *r = opaque;

    hook_check_lock(r);
    r->poweroffs++;
}

static void rec_reset(void *opaque)
{
    struct rec *r = opaque;

    hook_check_lock(r);
    r->resets++;
}

static const struct acpi_pm_hooks pm_hooks = {.poweroff = rec_poweroff,
                                              .reset = rec_reset};

static bool fx_setup(struct fixture *f, const struct acpi_pm_hooks *hooks)
{
    int rc;

    memset(f, 0, sizeof(*f));
    f->rec.dev = &f->pm;
    rc = acpi_pm_init(&f->pm, hooks, &f->rec);
    CHECK(rc == 0, "acpi_pm_init: %d", rc);
    if (rc) {
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
    rc = mr_add_subregion(&f->root, EVT_PORT, &f->pm.region_evt);
    rc = rc ? rc : mr_add_subregion(&f->root, CNT_PORT, &f->pm.region_cnt);
    rc = rc ? rc : mr_add_subregion(&f->root, RST_PORT, &f->pm.region_reset);
    {
        int crc = mem_commit(f->sys);

        rc = rc ? rc : crc;
    }
    CHECK(rc == 0, "fixture: %d", rc);
    return rc == 0;
}

static void fx_teardown(struct fixture *f)
{
    struct mem_region *mrs[] = {&f->pm.region_evt, &f->pm.region_cnt,
                                &f->pm.region_reset};
    int rc;

    /* Still placed: the device must refuse to go. */
    rc = acpi_pm_destroy(&f->pm);
    EXPECT_EQ((uint64_t)(int64_t)rc, (uint64_t)-EBUSY, "destroy while placed");
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
    rc = acpi_pm_destroy(&f->pm);
    CHECK(rc == 0, "acpi_pm_destroy: %d", rc);
    rc = mr_destroy(&f->root);
    CHECK(rc == 0, "destroy root: %d", rc);
}

static int io(struct address_space *as, gpa_t port, unsigned size, uint64_t *v,
              bool write)
{
    uint8_t b[8] = {0};
    int rc;

    for (unsigned i = 0; write && i < size; i++) {
        b[i] = (uint8_t)(*v >> (8 * i));
    }
    rc = as_access(as, port, b, size, write);
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
    int rc = io(f->as, port, size, &v, false);

    CHECK(rc == 0, "in%u 0x%" PRIx64 ": %d", size, port, rc);
    return v;
}

static void out(struct fixture *f, gpa_t port, unsigned size, uint64_t v)
{
    int rc = io(f->as, port, size, &v, true);

    CHECK(rc == 0, "out%u 0x%" PRIx64 ": %d", size, port, rc);
}

static void test_pm1_cnt(void)
{
    struct fixture f;

    if (!fx_setup(&f, &pm_hooks)) {
        return;
    }
    EXPECT_EQ(in(&f, CNT_PORT, 2), ACPI_PM1_CNT_SCI_EN, "SCI_EN reads 1");
    EXPECT_EQ(in(&f, CNT_PORT, 1), ACPI_PM1_CNT_SCI_EN, "SCI_EN, byte read");
    EXPECT_EQ(in(&f, CNT_PORT + 1, 1), 0, "PM1_CNT high byte");
    /* SCI_EN cannot be cleared. */
    out(&f, CNT_PORT, 2, 0);
    EXPECT_EQ(in(&f, CNT_PORT, 2), ACPI_PM1_CNT_SCI_EN, "SCI_EN after 0");

    /* ACPICA's two writes: SLP_TYP alone, then SLP_TYP | SLP_EN. */
    out(&f, CNT_PORT, 2, ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT);
    EXPECT_EQ(f.rec.poweroffs, 0, "SLP_TYP without SLP_EN");
    EXPECT_EQ(in(&f, CNT_PORT, 2),
              (ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT) |
                  ACPI_PM1_CNT_SCI_EN,
              "SLP_TYP is stored");
    out(&f, CNT_PORT, 2, S5_EN);
    EXPECT_EQ(f.rec.poweroffs, 1, "S5 with SLP_EN powers off once");
    EXPECT_EQ(f.rec.resets, 0, "no reset on power-off");
    EXPECT_EQ(in(&f, CNT_PORT, 2) & ACPI_PM1_CNT_SLP_EN, 0, "SLP_EN reads 0");
    EXPECT_EQ(in(&f, EVT_PORT, 2) & ACPI_PM1_STS_WAK, 0, "S5 sets no WAK_STS");

    /* Every other sleep type is ignored, with WAK_STS set. */
    for (unsigned typ = 0; typ < 8; typ++) {
        if (typ == ACPI_PM_SLP_TYP_S5) {
            continue;
        }
        out(&f, CNT_PORT, 2,
            (typ << ACPI_PM1_CNT_SLP_TYP_SHIFT) | ACPI_PM1_CNT_SLP_EN);
        EXPECT_EQ(f.rec.poweroffs, 1, "SLP_TYP %u powers off", typ);
        EXPECT_EQ(in(&f, EVT_PORT, 2) & ACPI_PM1_STS_WAK, ACPI_PM1_STS_WAK,
                  "SLP_TYP %u sets WAK_STS", typ);
        out(&f, EVT_PORT, 2, ACPI_PM1_STS_WAK);
    }

    /* One byte to the high half carries both SLP_TYP and SLP_EN. */
    out(&f, CNT_PORT + 1, 1, S5_EN >> 8);
    EXPECT_EQ(f.rec.poweroffs, 2, "S5 by a byte write");
    /* SLP_TYP stored earlier plus SLP_EN alone in a later write. */
    out(&f, CNT_PORT, 2, ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT);
    out(&f, CNT_PORT + 1, 1,
        (ACPI_PM1_CNT_SLP_EN |
         (ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT)) >>
            8);
    EXPECT_EQ(f.rec.poweroffs, 3, "S5 again");
    /* A low-byte write cannot carry SLP_EN. */
    out(&f, CNT_PORT, 1, 0xff);
    EXPECT_EQ(f.rec.poweroffs, 3, "low byte write");
    /* Bits kept and dropped: BM_RLD and bit 9 stay, GBL_RLS does not. */
    out(&f, CNT_PORT, 2,
        ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_GBL_RLS | ACPI_PM1_CNT_BIT9);
    EXPECT_EQ(in(&f, CNT_PORT, 2),
              ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_BIT9 | ACPI_PM1_CNT_SCI_EN,
              "stored PM1_CNT bits");

    EXPECT_EQ(f.rec.locked_in_hook, 0, "a hook ran under the device lock");
    fx_teardown(&f);
}

static void test_pm1_evt(void)
{
    struct fixture f;

    if (!fx_setup(&f, &pm_hooks)) {
        return;
    }
    EXPECT_EQ(in(&f, EVT_PORT, 4), 0, "PM1_STS and PM1_EN start at 0");
    /* Make WAK_STS set: a sleep type that is not offered. */
    out(&f, CNT_PORT, 2, ACPI_PM1_CNT_SLP_EN);
    EXPECT_EQ(in(&f, EVT_PORT, 2), ACPI_PM1_STS_WAK, "WAK_STS set");
    /* Writing 0s, or 1s elsewhere, leaves it. */
    out(&f, EVT_PORT, 2, 0);
    out(&f, EVT_PORT, 2, 0x7fff);
    out(&f, EVT_PORT, 1, 0xff);
    EXPECT_EQ(in(&f, EVT_PORT, 2), ACPI_PM1_STS_WAK, "WAK_STS kept");
    EXPECT_EQ(in(&f, EVT_PORT + 1, 1), ACPI_PM1_STS_WAK >> 8, "byte read");
    /* Write 1 to clear: by word and by byte. */
    out(&f, EVT_PORT, 2, ACPI_PM1_STS_WAK);
    EXPECT_EQ(in(&f, EVT_PORT, 2), 0, "WAK_STS cleared by a word");
    out(&f, CNT_PORT, 2, ACPI_PM1_CNT_SLP_EN);
    out(&f, EVT_PORT + 1, 1, ACPI_PM1_STS_WAK >> 8);
    EXPECT_EQ(in(&f, EVT_PORT, 2), 0, "WAK_STS cleared by a byte");

    /* PM1_EN keeps the defined enable bits only. */
    out(&f, EVT_PORT + 2, 2, 0xffff);
    EXPECT_EQ(in(&f, EVT_PORT + 2, 2),
              ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL | ACPI_PM1_EN_PWRBTN |
                  ACPI_PM1_EN_SLPBTN | ACPI_PM1_EN_RTC |
                  ACPI_PM1_EN_PCIEXP_WAKE_DIS,
              "PM1_EN defined bits");
    out(&f, EVT_PORT + 3, 1, 0);
    EXPECT_EQ(in(&f, EVT_PORT + 2, 2), ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL,
              "PM1_EN high byte cleared alone");
    out(&f, EVT_PORT + 2, 2, 0);
    EXPECT_EQ(in(&f, EVT_PORT + 2, 2), 0, "PM1_EN cleared");

    /* A dword covers both: status cleared, enable written. */
    out(&f, CNT_PORT, 2, ACPI_PM1_CNT_SLP_EN);
    out(&f, EVT_PORT, 4, (uint64_t)ACPI_PM1_EN_GBL << 16 | ACPI_PM1_STS_WAK);
    EXPECT_EQ(in(&f, EVT_PORT, 4), (uint64_t)ACPI_PM1_EN_GBL << 16,
              "dword: WAK_STS cleared, GBL_EN set");
    /*
     * Sizes the block refuses. Only accesses inside one region show its
     * own rules: the dispatcher splits one that runs past a region's end
     * into pieces for each range it covers (mem/dispatch.c).
     */
    {
        uint64_t v = 0xffff;

        CHECK(io(f.as, EVT_PORT + 1, 2, &v, false) != 0,
              "unaligned word read refused");
        CHECK(io(f.as, EVT_PORT + 1, 2, &v, true) != 0,
              "unaligned word write refused");
        EXPECT_EQ(in(&f, EVT_PORT, 4), (uint64_t)ACPI_PM1_EN_GBL << 16,
                  "a refused write changes nothing");
    }
    EXPECT_EQ(f.rec.poweroffs + f.rec.resets, 0, "no hooks");
    fx_teardown(&f);
}

static void test_reset(void)
{
    struct fixture f;

    if (!fx_setup(&f, &pm_hooks)) {
        return;
    }
    EXPECT_EQ(in(&f, RST_PORT, 1), 0, "reset register starts at 0");
    out(&f, RST_PORT, 1, 0x02);
    EXPECT_EQ(f.rec.resets, 0, "SYS_RST alone does not reset");
    EXPECT_EQ(in(&f, RST_PORT, 1), 0x02, "0x02 reads back");
    out(&f, RST_PORT, 1, ACPI_RESET_VALUE);
    EXPECT_EQ(f.rec.resets, 1, "RESET_VALUE resets");
    EXPECT_EQ(in(&f, RST_PORT, 1), 0x02, "RST_CPU reads 0");
    out(&f, RST_PORT, 1, 0x0e);
    EXPECT_EQ(f.rec.resets, 2, "0x0e resets");
    EXPECT_EQ(in(&f, RST_PORT, 1), 0x0a, "0x0e reads back as 0x0a");
    out(&f, RST_PORT, 1, 0x00);
    EXPECT_EQ(f.rec.resets, 2, "0 does not reset");
    EXPECT_EQ(f.rec.poweroffs, 0, "no power-off on reset");
    EXPECT_EQ(f.rec.locked_in_hook, 0, "a hook ran under the device lock");
    fx_teardown(&f);
}

static void test_no_hooks(void)
{
    struct fixture f;

    if (!fx_setup(&f, NULL)) {
        return;
    }
    out(&f, CNT_PORT, 2, S5_EN);
    out(&f, RST_PORT, 1, ACPI_RESET_VALUE);
    EXPECT_EQ(in(&f, CNT_PORT, 2) & ACPI_PM1_CNT_SCI_EN, 1,
              "alive without hooks");
    fx_teardown(&f);
}

/* ---- random storm and threads ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_storm(void)
{
    static const unsigned sizes[] = {1, 2, 4, 8};
    static const gpa_t bases[] = {EVT_PORT - 4, RST_PORT - 5};
    struct fixture f;
    unsigned errors = 0;
    const unsigned n = 200000;

    if (!fx_setup(&f, &pm_hooks)) {
        return;
    }
    rng_state = 0xac91ac91ac91ac91ull;
    for (unsigned i = 0; i < n; i++) {
        uint64_t r = rng();
        gpa_t port = bases[(r >> 4) & 1] + (r >> 5) % 14;
        unsigned size = sizes[(r >> 8) % 4];
        uint64_t v = r >> 16;

        /* Now and then a value the device acts on. */
        if ((r >> 11) % 16 == 0) {
            v = (r >> 12) & 1 ? S5_EN : ACPI_RESET_VALUE;
        }
        errors += io(f.as, port, size, &v, (r >> 62) & 1) != 0;
    }
    CHECK(errors > 0 && errors < n, "%u of %u refused", errors, n);
    CHECK(f.rec.poweroffs > 0 && f.rec.resets > 0, "storm reached the hooks");
    EXPECT_EQ(f.rec.locked_in_hook, 0, "a hook ran under the device lock");
    /* Still sane afterwards. */
    EXPECT_EQ(in(&f, CNT_PORT, 2) & ACPI_PM1_CNT_SCI_EN, 1,
              "SCI_EN after the storm");
    out(&f, EVT_PORT, 2, 0xffff);
    EXPECT_EQ(in(&f, EVT_PORT, 2), 0, "PM1_STS clears after the storm");
    {
        unsigned before = f.rec.poweroffs;

        out(&f, CNT_PORT, 2, S5_EN);
        EXPECT_EQ(f.rec.poweroffs, before + 1, "S5 after the storm");
    }
    fx_teardown(&f);
}

#define RACE_WRITES 20000

struct racer {
    struct fixture *f;
    uint64_t seed;
    int errors;
};

static void *race_thread(void *arg)
{
    struct racer *r = arg;

    rcu_register_thread();
    for (unsigned i = 0; i < RACE_WRITES; i++) {
        uint64_t v = S5_EN;

        r->errors += io(r->f->as, CNT_PORT, 2, &v, true) != 0;
        v = (r->seed + i) & 0xffff;
        r->errors += io(r->f->as, EVT_PORT + 2, 2, &v, true) != 0;
        r->errors += io(r->f->as, EVT_PORT, 4, &v, false) != 0;
        v = ACPI_RESET_VALUE;
        r->errors += io(r->f->as, RST_PORT, 1, &v, true) != 0;
    }
    rcu_unregister_thread();
    return NULL;
}

static void test_threads(void)
{
    struct fixture f;
    struct racer racers[2];
    pthread_t t[2];
    int started = 0;

    if (!fx_setup(&f, &pm_hooks)) {
        return;
    }

    for (int i = 0; i < 2; i++, started++) {
        racers[i] = (struct racer){.f = &f, .seed = (uint64_t)i * 7919};
        if (pthread_create(&t[i], NULL, race_thread, &racers[i]) != 0) {
            CHECK(0, "pthread_create");
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        EXPECT_EQ(racers[i].errors, 0, "racer %d errors", i);
    }
    EXPECT_EQ(f.rec.poweroffs, started * RACE_WRITES,
              "one power-off per write");
    EXPECT_EQ(f.rec.resets, started * RACE_WRITES, "one reset per write");
    fx_teardown(&f);
}

int main(void)
{
    rcu_register_thread();
    test_sizes();
    test_tables();
    test_bad_args();
    test_pm1_cnt();
    test_pm1_evt();
    test_reset();
    test_no_hooks();
    test_storm();
    test_threads();
    rcu_unregister_thread();
    printf("test_acpi: %u failures\n", unit_failures);
    return unit_failures ? 1 : 0;
}
