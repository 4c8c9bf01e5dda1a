/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables, ACPI 6.0 chapter 5 ("ACPI Software Programming Model"):
 * offsets and sizes are the specification's, all fields little-endian,
 * checksums make the bytes of each table sum to 0 modulo 256. Tables are
 * built in one buffer laid out as the window (acpi.h) and written at once.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "devices/acpi_pm.h"
#include "loader.h"
#include "mptable.h"

_Static_assert(ACPI_GPA >= BOOT_INFO_END && ACPI_END <= MPTABLE_GPA,
               "the ACPI window overlaps the boot information or MP table");
_Static_assert(ACPI_GPA % 16 == 0, "the RSDP must be 16-byte aligned");

/* Root System Description Pointer, revision 2: 36 bytes. */
#define RSDP_SIZE 36
#define RSDP_V1_SIZE 20 /* what the first checksum covers */
#define RSDP_CHECKSUM 8
#define RSDP_OEM_ID 9
#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24
#define RSDP_XCHECKSUM 32
#define RSDP_REV_2 2

/* System description table header: 36 bytes. */
#define HDR_SIZE 36
#define HDR_LENGTH 4
#define HDR_REVISION 8
#define HDR_CHECKSUM 9
#define HDR_OEM_ID 10
#define HDR_OEM_TABLE_ID 16
#define HDR_OEM_REVISION 24
#define HDR_CREATOR_ID 28
#define HDR_CREATOR_REVISION 32

#define OEM_ID "VMM   "
#define OEM_TABLE_ID "VMMTABLE"
#define CREATOR_ID "VMM "

/* Firmware ACPI Control Structure: 64 bytes, 64-byte aligned. */
#define FACS_SIZE 64
#define FACS_ALIGN 64
#define FACS_LENGTH 4
#define FACS_HW_SIGNATURE 8
#define FACS_VERSION 32
#define FACS_VERSION_2 2

/* Fixed ACPI Description Table, revision 6 (ACPI 6.0): 276 bytes. */
#define FADT_SIZE 276
#define FADT_REVISION 6
#define FADT_MINOR 0
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_PM_PROFILE 45
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172

/* FADT flags. */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_FIX_RTC (1u << 6)
#define FADT_F_RESET_REG_SUP (1u << 10)

/* IA-PC boot architecture flags. */
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)

/* Latencies beyond these say "no C2" and "no C3". */
#define NO_C2_LATENCY 101
#define NO_C3_LATENCY 1001
/* The CMOS RTC's century byte (devices/rtc.h RTC_CENTURY). */
#define RTC_CENTURY_INDEX 0x32

/* Generic Address Structure: 12 bytes. */
#define GAS_SIZE 12
#define GAS_SPACE_ID 0
#define GAS_BIT_WIDTH 1
#define GAS_BIT_OFFSET 2
#define GAS_ACCESS_SIZE 3
#define GAS_ADDRESS 4
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2

/* DSDT: revision 2 means 64-bit AML integers. */
#define DSDT_REVISION 2

/* AML opcodes (ACPI 6.0 section 20.2). */
#define AML_ZERO_OP 0x00
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_PACKAGE_OP 0x12

/*
 * Name (_S5, Package (4) { S5, S5, 0, 0 }): NameOp, the NameSeg, then
 * PackageOp, PkgLength (one byte: it counts itself and the 7 bytes after
 * it), NumElements, SLP_TYPa and SLP_TYPb as ByteConst, two ZeroOps.
 */
static const uint8_t dsdt_aml[] = {
    /* Name (_S5, */
    AML_NAME_OP, '_', 'S', '5', '_',
    /* Package (4) { */
    AML_PACKAGE_OP, 8, 4,
    /* SLP_TYPa, SLP_TYPb, */
    AML_BYTE_PREFIX, ACPI_PM_SLP_TYP_S5, AML_BYTE_PREFIX, ACPI_PM_SLP_TYP_S5,
    /* 0, 0 }) */
    AML_ZERO_OP, AML_ZERO_OP};
_Static_assert(sizeof(dsdt_aml) == 6 + 8, "the PkgLength above is 8");
_Static_assert(ACPI_PM_SLP_TYP_S5 >= 0 && ACPI_PM_SLP_TYP_S5 < 8,
               "SLP_TYP is a 3-bit field");

/* Scope (\_SB) { Device (KBD_) {...} Device (VRnn) {...} ... }. */
#define AML_STRING_PREFIX 0x0d
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_ROOT_CHAR 0x5c
#define AML_EXT_OP 0x5b
#define AML_DEVICE_OP 0x82
/* Small resources: I/O port (8 bytes), IRQ without flags (3); ACPI 6.0,
 * 6.4.2.5 and 6.4.2.1. */
#define RES_IO 0x47
#define RES_IO_DECODE16 0x01
#define RES_IRQ_NO_FLAGS 0x22
/* Memory32Fixed (12 bytes), Extended Interrupt with one interrupt (9),
 * End Tag (2): ACPI 6.0, 6.4.3.4, 6.4.3.6, 6.4.2.9. */
#define RES_MEM32_FIXED 0x86
#define RES_EXT_IRQ 0x89
#define RES_END 0x79
#define RES_MEM_RW 0x01
#define RES_IRQ_CONSUMER_EDGE 0x03

/*
 * The keyboard controller (devices/i8042.c), for the OS's PNP scan:
 * Device (KBD_) { Name (_HID, "PNP0303") Name (_CRS, ResourceTemplate ()
 * { IO (Decode16, 0x60, 0x60, 1, 1) IO (Decode16, 0x64, 0x64, 1, 1)
 * IRQNoFlags () {1} }) }. There is no PNP0F13 (the mouse port): nothing
 * is attached to the controller's aux side and the board wires no IRQ 12,
 * and an OS that finds the keyboard without it leaves the aux port alone
 * (Linux probing without PNP waits 250 ms for an aux interrupt).
 */
#define KBD_CRS_LEN (8 + 8 + 3 + 2)
static const uint8_t kbd_aml[] = {
    /* Device (KBD_) { */
    AML_EXT_OP, AML_DEVICE_OP, 1 + 4 + 14 + 30, 'K', 'B', 'D', '_',
    /* Name (_HID, "PNP0303") */
    AML_NAME_OP, '_', 'H', 'I', 'D', AML_STRING_PREFIX, 'P', 'N', 'P', '0', '3',
    '0', '3', 0,
    /* Name (_CRS, Buffer (21) { */
    AML_NAME_OP, '_', 'C', 'R', 'S', AML_BUFFER_OP, 1 + 2 + KBD_CRS_LEN,
    AML_BYTE_PREFIX, KBD_CRS_LEN,
    /* IO (Decode16, 0x60, 0x60, 1, 1) */
    RES_IO, RES_IO_DECODE16, 0x60, 0, 0x60, 0, 1, 1,
    /* IO (Decode16, 0x64, 0x64, 1, 1) */
    RES_IO, RES_IO_DECODE16, 0x64, 0, 0x64, 0, 1, 1,
    /* IRQNoFlags () {1}, the end tag (checksum 0: "treated as correct") */
    RES_IRQ_NO_FLAGS, 1u << 1, 0, RES_END, 0};
_Static_assert(sizeof(kbd_aml) == 2 + 1 + 4 + 14 + 30,
               "the device's PkgLength above");

#define VIRTIO_CRS_LEN (12 + 9 + 2)
/* A Device (VRnn) with _HID, _UID and _CRS, PkgLength one byte. */
#define VIRTIO_DEV_BODY (4 + 15 + 7 + (1 + 4 + 1 + 1 + 2 + VIRTIO_CRS_LEN))
#define VIRTIO_DEV_LEN (2 + 1 + VIRTIO_DEV_BODY)
_Static_assert(1 + VIRTIO_DEV_BODY < 64, "a device's PkgLength is one byte");
/* The scope's PkgLength takes two bytes (up to 4095). */
#define SB_SCOPE_LEN(n) (1 + 2 + 5 + sizeof(kbd_aml) + (n)*VIRTIO_DEV_LEN)
_Static_assert(SB_SCOPE_LEN(ACPI_MAX_VIRTIO) - 1 < 4096,
               "the scope's PkgLength fits in two bytes");

#define XSDT_REVISION 1
#define RSDT_REVISION 1
/* The tables the RSDT and XSDT list: FACP and APIC. */
#define SDT_ENTRIES 2

/* Multiple APIC Description Table, revision 4 (ACPI 6.0). */
#define MADT_REVISION 4
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_HDR_SIZE 44
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_LAPIC_SIZE 8
#define MADT_IOAPIC 1
#define MADT_IOAPIC_SIZE 12
#define MADT_ISO 2
#define MADT_ISO_SIZE 10
#define MADT_LAPIC_NMI 4
#define MADT_LAPIC_NMI_SIZE 6
#define MADT_NR_ISO 2
#define LAPIC_ENABLED 1u
#define ISA_BUS 0
/* MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define INTI_CONFORMS 0x0
#define INTI_ACTIVE_HIGH 0x1
#define INTI_LEVEL 0xc
#define ALL_PROCESSORS 0xff
#define LINT1 1

/* Offsets of each table from ACPI_GPA. */
struct acpi_layout {
    size_t facs, dsdt, fadt, rsdt, xsdt, madt, size;
    size_t dsdt_len, rsdt_len, xsdt_len, madt_len;
};

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static bool acpi_layout(int nr_cpus, size_t nr_virtio, struct acpi_layout *l)
{
    if (nr_cpus < 1 || nr_cpus > ACPI_MAX_CPUS || nr_virtio > ACPI_MAX_VIRTIO) {
        return false;
    }
    l->dsdt_len = HDR_SIZE + sizeof(dsdt_aml) + SB_SCOPE_LEN(nr_virtio);
    l->rsdt_len = HDR_SIZE + SDT_ENTRIES * 4;
    l->xsdt_len = HDR_SIZE + SDT_ENTRIES * 8;
    l->madt_len = MADT_HDR_SIZE + (size_t)nr_cpus * MADT_LAPIC_SIZE +
                  MADT_IOAPIC_SIZE + MADT_NR_ISO * MADT_ISO_SIZE +
                  MADT_LAPIC_NMI_SIZE;
    l->facs = align_up(RSDP_SIZE, FACS_ALIGN);
    l->dsdt = align_up(l->facs + FACS_SIZE, 16);
    l->fadt = align_up(l->dsdt + l->dsdt_len, 16);
    l->rsdt = align_up(l->fadt + FADT_SIZE, 16);
    l->xsdt = align_up(l->rsdt + l->rsdt_len, 16);
    l->madt = align_up(l->xsdt + l->xsdt_len, 16);
    l->size = l->madt + l->madt_len;
    /* About 2.7 KiB for ACPI_MAX_CPUS: far below the window's 64 KiB. */
    return l->size <= ACPI_END - ACPI_GPA;
}

size_t acpi_tables_size(int nr_cpus, size_t nr_virtio)
{
    struct acpi_layout l;

    return acpi_layout(nr_cpus, nr_virtio, &l) ? l.size : 0;
}

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return (uint8_t)(0 - sum);
}

/* The header of the (len)-byte table (t); the checksum comes last. */
static void put_header(uint8_t *t, const char *sig, size_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    loader_put32(t + HDR_LENGTH, (uint32_t)len);
    t[HDR_REVISION] = rev;
    memcpy(t + HDR_OEM_ID, OEM_ID, 6);
    memcpy(t + HDR_OEM_TABLE_ID, OEM_TABLE_ID, 8);
    loader_put32(t + HDR_OEM_REVISION, 1);
    memcpy(t + HDR_CREATOR_ID, CREATOR_ID, 4);
    loader_put32(t + HDR_CREATOR_REVISION, 1);
}

static void seal(uint8_t *t, size_t len)
{
    t[HDR_CHECKSUM] = acpi_checksum(t, len);
}

static void put_gas(uint8_t *g, unsigned bits, uint8_t access, uint16_t port)
{
    g[GAS_SPACE_ID] = GAS_SYSTEM_IO;
    g[GAS_BIT_WIDTH] = (uint8_t)bits;
    g[GAS_BIT_OFFSET] = 0;
    g[GAS_ACCESS_SIZE] = access;
    loader_put64(g + GAS_ADDRESS, port);
}

static uint32_t gpa32(size_t off)
{
    return (uint32_t)(ACPI_GPA + off);
}

static void build_facs(uint8_t *t, int nr_cpus)
{
    memcpy(t, "FACS", 4);
    loader_put32(t + FACS_LENGTH, FACS_SIZE);
    /* Changes when the hardware does: OSPM refuses to resume from S4. */
    loader_put32(t + FACS_HW_SIGNATURE, (uint32_t)nr_cpus);
    t[FACS_VERSION] = FACS_VERSION_2;
    /* No checksum: OSPM writes the global lock and flags at run time. */
}

static uint8_t *put_name(uint8_t *p, const char seg[4])
{
    *p++ = AML_NAME_OP;
    memcpy(p, seg, 4);
    return p + 4;
}

/* Device (VRnn) { _HID, _UID, _CRS } for virtio-mmio device (i). */
static uint8_t *put_virtio_dev(uint8_t *p, const struct acpi_virtio *v,
                               unsigned i)
{
    static const char hex[] = "0123456789ABCDEF";
    const uint8_t *start = p;

    *p++ = AML_EXT_OP;
    *p++ = AML_DEVICE_OP;
    *p++ = 1 + VIRTIO_DEV_BODY;
    *p++ = 'V';
    *p++ = 'R';
    *p++ = (uint8_t)hex[(i >> 4) & 0xf];
    *p++ = (uint8_t)hex[i & 0xf];
    p = put_name(p, "_HID");
    *p++ = AML_STRING_PREFIX;
    memcpy(p, "LNRO0005", 9);
    p += 9;
    p = put_name(p, "_UID");
    *p++ = AML_BYTE_PREFIX;
    *p++ = (uint8_t)i;
    p = put_name(p, "_CRS");
    *p++ = AML_BUFFER_OP;
    *p++ = 1 + 2 + VIRTIO_CRS_LEN;
    *p++ = AML_BYTE_PREFIX;
    *p++ = VIRTIO_CRS_LEN;
    *p++ = RES_MEM32_FIXED;
    loader_put16(p, 9);
    p[2] = RES_MEM_RW;
    loader_put32(p + 3, v->base);
    loader_put32(p + 7, v->size);
    p += 11;
    *p++ = RES_EXT_IRQ;
    loader_put16(p, 6);
    p[2] = RES_IRQ_CONSUMER_EDGE;
    p[3] = 1;
    loader_put32(p + 4, v->irq);
    p += 8;
    *p++ = RES_END;
    *p++ = 0; /* checksum 0: "treated as correct" */
    assert(p - start == VIRTIO_DEV_LEN);
    (void)start;
    return p;
}

static void build_dsdt(uint8_t *t, const struct acpi_config *cfg,
                       const struct acpi_layout *l)
{
    uint8_t *p = t + HDR_SIZE + sizeof(dsdt_aml);
    size_t len = SB_SCOPE_LEN(cfg->nr_virtio) - 1;

    put_header(t, "DSDT", l->dsdt_len, DSDT_REVISION);
    memcpy(t + HDR_SIZE, dsdt_aml, sizeof(dsdt_aml));
    /* Two bytes of PkgLength even when one would do. */
    *p++ = AML_SCOPE_OP;
    *p++ = (uint8_t)(0x40 | (len & 0xf));
    *p++ = (uint8_t)(len >> 4);
    *p++ = AML_ROOT_CHAR;
    memcpy(p, "_SB_", 4);
    p += 4;
    memcpy(p, kbd_aml, sizeof(kbd_aml));
    p += sizeof(kbd_aml);
    for (size_t i = 0; i < cfg->nr_virtio; i++) {
        p = put_virtio_dev(p, &cfg->virtio[i], (unsigned)i);
    }
    seal(t, l->dsdt_len);
}

static void build_fadt(uint8_t *t, const struct acpi_config *cfg,
                       const struct acpi_layout *l)
{
    put_header(t, "FACP", FADT_SIZE, FADT_REVISION);
    loader_put32(t + FADT_FIRMWARE_CTRL, gpa32(l->facs));
    loader_put32(t + FADT_DSDT, gpa32(l->dsdt));
    t[FADT_PM_PROFILE] = 0; /* unspecified */
    loader_put16(t + FADT_SCI_INT, ACPI_SCI_IRQ);
    loader_put32(t + FADT_SMI_CMD, 0);
    loader_put32(t + FADT_PM1A_EVT_BLK, cfg->pm1a_evt_port);
    loader_put32(t + FADT_PM1A_CNT_BLK, cfg->pm1a_cnt_port);
    loader_put32(t + FADT_PM_TMR_BLK, 0);
    t[FADT_PM1_EVT_LEN] = ACPI_PM_EVT_SIZE;
    t[FADT_PM1_CNT_LEN] = ACPI_PM_CNT_SIZE;
    loader_put16(t + FADT_P_LVL2_LAT, NO_C2_LATENCY);
    loader_put16(t + FADT_P_LVL3_LAT, NO_C3_LATENCY);
    t[FADT_CENTURY] = RTC_CENTURY_INDEX;
    loader_put16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES |
                                              BOOT_ARCH_8042 |
                                              BOOT_ARCH_VGA_NOT_PRESENT);
    loader_put32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 |
                                     FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
                                     FADT_F_FIX_RTC | FADT_F_RESET_REG_SUP);
    put_gas(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, cfg->reset_port);
    t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
    t[FADT_MINOR_VERSION] = FADT_MINOR;
    loader_put64(t + FADT_X_DSDT, ACPI_GPA + l->dsdt);
    put_gas(t + FADT_X_PM1A_EVT_BLK, ACPI_PM_EVT_SIZE * 8, GAS_ACCESS_WORD,
            cfg->pm1a_evt_port);
    put_gas(t + FADT_X_PM1A_CNT_BLK, ACPI_PM_CNT_SIZE * 8, GAS_ACCESS_WORD,
            cfg->pm1a_cnt_port);
    seal(t, FADT_SIZE);
}

/* The RSDT (entry size 4) or XSDT (8), listing FACP and APIC. */
static void build_sdt(uint8_t *t, const char *sig, size_t len, size_t esize,
                      const struct acpi_layout *l)
{
    const size_t entries[SDT_ENTRIES] = {l->fadt, l->madt};

    put_header(t, sig, len, esize == 4 ? RSDT_REVISION : XSDT_REVISION);
    for (size_t i = 0; i < SDT_ENTRIES; i++) {
        uint8_t *e = t + HDR_SIZE + i * esize;

        if (esize == 4) {
            loader_put32(e, gpa32(entries[i]));
        } else {
            loader_put64(e, ACPI_GPA + entries[i]);
        }
    }
    seal(t, len);
}

static uint8_t *put_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    e[0] = MADT_ISO;
    e[1] = MADT_ISO_SIZE;
    e[2] = ISA_BUS;
    e[3] = irq;
    loader_put32(e + 4, gsi);
    loader_put16(e + 8, flags);
    return e + MADT_ISO_SIZE;
}

static void build_madt(uint8_t *t, int nr_cpus, const struct acpi_layout *l)
{
    uint8_t *e = t + MADT_HDR_SIZE;

    put_header(t, "APIC", l->madt_len, MADT_REVISION);
    loader_put32(t + MADT_LAPIC_ADDR, ACPI_LAPIC_GPA);
    loader_put32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
    for (int i = 0; i < nr_cpus; i++) {
        e[0] = MADT_LAPIC;
        e[1] = MADT_LAPIC_SIZE;
        e[2] = (uint8_t)i; /* ACPI processor UID */
        e[3] = (uint8_t)i; /* APIC id */
        loader_put32(e + 4, LAPIC_ENABLED);
        e += MADT_LAPIC_SIZE;
    }
    e[0] = MADT_IOAPIC;
    e[1] = MADT_IOAPIC_SIZE;
    e[2] = (uint8_t)nr_cpus;
    e[3] = 0;
    loader_put32(e + 4, ACPI_IOAPIC_GPA);
    loader_put32(e + 8, 0); /* GSI base */
    e += MADT_IOAPIC_SIZE;
    e = put_iso(e, 0, ACPI_PIT_GSI, INTI_CONFORMS);
    e = put_iso(e, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_ACTIVE_HIGH | INTI_LEVEL);
    e[0] = MADT_LAPIC_NMI;
    e[1] = MADT_LAPIC_NMI_SIZE;
    e[2] = ALL_PROCESSORS;
    loader_put16(e + 3, INTI_CONFORMS);
    e[5] = LINT1;
    seal(t, l->madt_len);
}

static void build_rsdp(uint8_t *t, const struct acpi_layout *l)
{
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + RSDP_OEM_ID, OEM_ID, 6);
    t[RSDP_REVISION] = RSDP_REV_2;
    loader_put32(t + RSDP_RSDT, gpa32(l->rsdt));
    loader_put32(t + RSDP_LENGTH, RSDP_SIZE);
    loader_put64(t + RSDP_XSDT, ACPI_GPA + l->xsdt);
    t[RSDP_CHECKSUM] = acpi_checksum(t, RSDP_V1_SIZE);
    t[RSDP_XCHECKSUM] = acpi_checksum(t, RSDP_SIZE);
}

/* Whether ports [a, a + alen) and [b, b + blen) share one. */
static bool ports_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

static bool acpi_config_ok(const struct acpi_config *cfg)
{
    const uint32_t evt = cfg->pm1a_evt_port, cnt = cfg->pm1a_cnt_port;
    const uint32_t rst = cfg->reset_port;

    if (evt == 0 || cnt == 0 || rst == 0) {
        return false;
    }
    if (evt + ACPI_PM_EVT_SIZE > 0x10000 || cnt + ACPI_PM_CNT_SIZE > 0x10000) {
        return false;
    }
    return !ports_overlap(evt, ACPI_PM_EVT_SIZE, cnt, ACPI_PM_CNT_SIZE) &&
           !ports_overlap(evt, ACPI_PM_EVT_SIZE, rst, ACPI_PM_RESET_SIZE) &&
           !ports_overlap(cnt, ACPI_PM_CNT_SIZE, rst, ACPI_PM_RESET_SIZE);
}

int acpi_write_tables(const struct acpi_config *cfg, boot_write_fn write,
                      void *opaque, gpa_t *rsdp_gpa)
{
    struct acpi_layout l;
    uint8_t *buf;
    int r;

    if (!cfg || !write || !rsdp_gpa ||
        !acpi_layout(cfg->nr_cpus, cfg->nr_virtio, &l) ||
        !acpi_config_ok(cfg) || (cfg->nr_virtio && !cfg->virtio)) {
        return -EINVAL;
    }
    buf = calloc(1, l.size);
    if (!buf) {
        return -ENOMEM;
    }
    build_facs(buf + l.facs, cfg->nr_cpus);
    build_dsdt(buf + l.dsdt, cfg, &l);
    build_fadt(buf + l.fadt, cfg, &l);
    build_sdt(buf + l.rsdt, "RSDT", l.rsdt_len, 4, &l);
    build_sdt(buf + l.xsdt, "XSDT", l.xsdt_len, 8, &l);
    build_madt(buf + l.madt, cfg->nr_cpus, &l);
    build_rsdp(buf, &l);

    r = write(opaque, ACPI_GPA, buf, l.size);
    free(buf);
    if (r < 0) {
        return r;
    }
    *rsdp_gpa = ACPI_RSDP_GPA;
    return 0;
}
