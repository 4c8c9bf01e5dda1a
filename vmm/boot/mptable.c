/* SPDX-License-Identifier: MIT */
/*
 * MP specification 1.4 tables (chapter 4, "MP Configuration Table").
 * Offsets and sizes are the specification's; checksums make the bytes of
 * each structure sum to 0 modulo 256.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "mptable.h"

/* Floating pointer structure, 16 bytes. */
#define FP_SIZE 16
#define FP_PHYSPTR 4
#define FP_LENGTH 8
#define FP_SPEC_REV 9
#define FP_CHECKSUM 10
#define FP_FEATURE1 11
#define FP_FEATURE2 12

/* Configuration table header, 44 bytes. */
#define CT_HDR_SIZE 44
#define CT_LENGTH 4
#define CT_SPEC_REV 6
#define CT_CHECKSUM 7
#define CT_OEM_ID 8
#define CT_PRODUCT_ID 16
#define CT_ENTRY_COUNT 34
#define CT_LAPIC_ADDR 36

#define SPEC_REV_1_4 4

/* Entry types and sizes. */
#define ENT_PROCESSOR 0
#define ENT_BUS 1
#define ENT_IOAPIC 2
#define ENT_IOINT 3
#define ENT_LINT 4
#define PROCESSOR_SIZE 20
#define OTHER_SIZE 8

#define CPU_FLAG_EN 0x01
#define CPU_FLAG_BP 0x02
#define IOAPIC_FLAG_EN 0x01
#define LAPIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
/* Family 6; CPUID.1 EDX: FPU and APIC. */
#define CPU_SIGNATURE 0x600
#define CPU_FEATURES 0x201

#define INT_TYPE_INT 0
#define INT_TYPE_NMI 1
#define INT_TYPE_EXTINT 3
#define ISA_BUS_ID 0
#define ISA_IRQS 16
#define ALL_LAPICS 0xff

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return (uint8_t)(0 - sum);
}

size_t mptable_size(int nr_cpus)
{
    /* ISA IRQs 0-15 less the cascade (2), plus the 8259's ExtINT. */
    size_t ioints = ISA_IRQS;

    if (nr_cpus < 1 || nr_cpus > MPTABLE_MAX_CPUS) {
        return 0;
    }
    return FP_SIZE + CT_HDR_SIZE + (size_t)nr_cpus * PROCESSOR_SIZE +
           OTHER_SIZE /* bus */ + OTHER_SIZE /* I/O APIC */ +
           ioints * OTHER_SIZE + 2 * OTHER_SIZE /* LINT0, LINT1 */;
}

/* An I/O or local interrupt entry; flags 0 = conforms to the bus. */
static uint8_t *put_int(uint8_t *e, uint8_t entry_type, uint8_t int_type,
                        uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
    e[0] = entry_type;
    e[1] = int_type;
    loader_put16(e + 2, 0);
    e[4] = ISA_BUS_ID;
    e[5] = src_irq;
    e[6] = dst_id;
    e[7] = dst_pin;
    return e + OTHER_SIZE;
}

int mptable_write(int nr_cpus, boot_write_fn write, void *opaque, gpa_t *where)
{
    size_t size = mptable_size(nr_cpus);
    uint8_t ioapic_id = (uint8_t)nr_cpus;
    uint8_t *buf, *ct, *e;
    uint16_t count = 0;
    int r;

    if (size == 0 || !write || !where) {
        return -EINVAL;
    }
    buf = calloc(1, size);
    if (!buf) {
        return -ENOMEM;
    }
    ct = buf + FP_SIZE;
    e = ct + CT_HDR_SIZE;
    for (int i = 0; i < nr_cpus; i++, count++) {
        e[0] = ENT_PROCESSOR;
        e[1] = (uint8_t)i;
        e[2] = LAPIC_VERSION;
        e[3] = CPU_FLAG_EN | (i == 0 ? CPU_FLAG_BP : 0);
        loader_put32(e + 4, CPU_SIGNATURE);
        loader_put32(e + 8, CPU_FEATURES);
        e += PROCESSOR_SIZE;
    }
    e[0] = ENT_BUS;
    e[1] = ISA_BUS_ID;
    memcpy(e + 2, "ISA   ", 6);
    e += OTHER_SIZE;
    count++;
    e[0] = ENT_IOAPIC;
    e[1] = ioapic_id;
    e[2] = IOAPIC_VERSION;
    e[3] = IOAPIC_FLAG_EN;
    loader_put32(e + 4, MPTABLE_IOAPIC_GPA);
    e += OTHER_SIZE;
    count++;
    e = put_int(e, ENT_IOINT, INT_TYPE_EXTINT, 0, ioapic_id, 0);
    count++;
    for (uint8_t irq = 0; irq < ISA_IRQS; irq++) {
        if (irq == 2) {
            continue; /* the cascade: no interrupt of its own */
        }
        e = put_int(e, ENT_IOINT, INT_TYPE_INT, irq, ioapic_id,
                    irq == 0 ? MPTABLE_PIT_PIN : irq);
        count++;
    }
    e = put_int(e, ENT_LINT, INT_TYPE_EXTINT, 0, ALL_LAPICS, 0);
    e = put_int(e, ENT_LINT, INT_TYPE_NMI, 0, ALL_LAPICS, 1);
    count += 2;

    memcpy(ct, "PCMP", 4);
    loader_put16(ct + CT_LENGTH, (uint16_t)(e - ct));
    ct[CT_SPEC_REV] = SPEC_REV_1_4;
    memcpy(ct + CT_OEM_ID, "VMM     ", 8);
    memcpy(ct + CT_PRODUCT_ID, "VMM MPTABLE ", 12);
    loader_put16(ct + CT_ENTRY_COUNT, count);
    loader_put32(ct + CT_LAPIC_ADDR, MPTABLE_LAPIC_GPA);
    ct[CT_CHECKSUM] = mp_checksum(ct, (size_t)(e - ct));

    memcpy(buf, "_MP_", 4);
    loader_put32(buf + FP_PHYSPTR, (uint32_t)(MPTABLE_GPA + FP_SIZE));
    buf[FP_LENGTH] = 1; /* in 16-byte units */
    buf[FP_SPEC_REV] = SPEC_REV_1_4;
    buf[FP_FEATURE1] = 0; /* a configuration table is present */
    buf[FP_FEATURE2] = 0; /* IMCRP clear: virtual wire mode */
    buf[FP_CHECKSUM] = mp_checksum(buf, FP_SIZE);

    r = write(opaque, MPTABLE_GPA, buf, size);
    free(buf);
    if (r < 0) {
        return r;
    }
    *where = MPTABLE_GPA;
    return 0;
}
