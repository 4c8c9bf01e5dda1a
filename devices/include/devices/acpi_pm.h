/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed-hardware power management, as far as power-off and reset
 * need it: the PM1a event block (PM1_STS and PM1_EN), the PM1a control
 * block (PM1_CNT) and the FADT reset register. ACPI 6.x, section 4.8
 * ("ACPI Hardware Model", fixed hardware registers) gives the layouts.
 *
 * Three regions, placed by the machine at the ports the FADT names
 * (vmm/boot/acpi.h): (region_evt), 4 bytes, PM1_STS at offset 0 and PM1_EN at
 * offset 2; (region_cnt), 2 bytes, PM1_CNT; (region_reset), 1 byte, the
 * reset register (port 0xcf9, the PC's reset control register). The reset
 * register lives in this device rather than a device of its own because
 * the FADT describes it next to the PM1 blocks and the same hooks serve
 * both; the machine may leave (region_reset) unplaced if it has another.
 *
 * PM1_STS: status bits are write-1-to-clear; nothing in this model sets
 * any but WAK_STS (below). PM1_EN: the defined enable bits are stored and
 * read back; they enable nothing, as no event ever fires. The device never
 * asserts the SCI.
 *
 * PM1_CNT: SCI_EN always reads 1 (the FADT has SMI_CMD 0: the platform is
 * always in ACPI mode, and OSPM may not change that), BM_RLD, bit 9 and
 * SLP_TYP are stored, GBL_RLS and SLP_EN are write-only and read 0. A
 * write that sets SLP_EN requests sleep state SLP_TYP (of the value after
 * the write): ACPI_PM_SLP_TYP_S5, the value the DSDT's \_S5 object gives,
 * calls the power-off hook; any other type is not a state this platform
 * offers (the DSDT has no other \_Sx), so no transition happens and
 * WAK_STS is set at once, as if the system had woken right away, so that
 * an OS polling WAK_STS (ACPICA does after S1-S4) carries on instead of
 * spinning.
 *
 * Reset register: accepts one-byte accesses. A write with RST_CPU (bit 2)
 * set, as the FADT's RESET_VALUE 0x06 and the classic 0x0e "full reset"
 * are, calls the reset hook; any write is stored, and reads return the
 * last value with RST_CPU clear (hardware clears it once the reset starts).
 *
 * Access sizes: the event block takes 1, 2 or 4 bytes (a 4-byte access is
 * PM1_STS and PM1_EN together), the control block 1 or 2, the reset
 * register 1, all at naturally aligned offsets; a byte access touches that
 * byte of its 16-bit register only.
 *
 * Threads: the ops may run on any vCPU thread at once; state is guarded
 * by acpi_pm.lock, which is not held while a hook runs.
 */
#ifndef DEVICES_ACPI_PM_H
#define DEVICES_ACPI_PM_H

#include <pthread.h>
#include <stdint.h>

#include "mem/region.h"

/* Sizes of the three regions. */
#define ACPI_PM_EVT_SIZE 4
#define ACPI_PM_CNT_SIZE 2
#define ACPI_PM_RESET_SIZE 1

/* Offsets in the event block. */
#define ACPI_PM_STS_OFFSET 0
#define ACPI_PM_EN_OFFSET 2

/*
 * The SLP_TYP value of soft-off (S5): what the DSDT's \_S5 package gives
 * in its SLP_TYPa and SLP_TYPb elements, and what a PM1_CNT write must
 * carry for the power-off hook. Any 3-bit value would do as long as both
 * sides agree; 5 is not 0, so a PM1_CNT write of all zeros plus SLP_EN
 * (SLP_TYP 0 is S0, "working") never powers off.
 */
#define ACPI_PM_SLP_TYP_S5 5

/* PM1_STS bits (write 1 to clear). */
#define ACPI_PM1_STS_TMR 0x0001
#define ACPI_PM1_STS_BM 0x0010
#define ACPI_PM1_STS_GBL 0x0020
#define ACPI_PM1_STS_PWRBTN 0x0100
#define ACPI_PM1_STS_SLPBTN 0x0200
#define ACPI_PM1_STS_RTC 0x0400
#define ACPI_PM1_STS_PCIEXP_WAKE 0x4000
#define ACPI_PM1_STS_WAK 0x8000

/* PM1_EN bits. */
#define ACPI_PM1_EN_TMR 0x0001
#define ACPI_PM1_EN_GBL 0x0020
#define ACPI_PM1_EN_PWRBTN 0x0100
#define ACPI_PM1_EN_SLPBTN 0x0200
#define ACPI_PM1_EN_RTC 0x0400
#define ACPI_PM1_EN_PCIEXP_WAKE_DIS 0x4000

/* PM1_CNT bits and fields. */
#define ACPI_PM1_CNT_SCI_EN 0x0001
#define ACPI_PM1_CNT_BM_RLD 0x0002
#define ACPI_PM1_CNT_GBL_RLS 0x0004
/* Bit 9 is "ignored": OSPM preserves it, so it is stored. */
#define ACPI_PM1_CNT_BIT9 0x0200
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK 0x1c00
#define ACPI_PM1_CNT_SLP_EN 0x2000

/* Reset control register bits. */
#define ACPI_PM_RESET_SYS_RST 0x02
#define ACPI_PM_RESET_RST_CPU 0x04
#define ACPI_PM_RESET_FULL_RST 0x08

/*
 * What the machine provides. Hooks run on the vCPU thread that made the
 * access, outside the device lock, once per triggering write; NULL
 * ignores the request.
 */
struct acpi_pm_hooks {
    /* The guest entered S5 (soft off): end the VM. */
    void (*poweroff)(void *opaque);
    /* The guest wrote the reset register with RST_CPU set. */
    void (*reset)(void *opaque);
};

/*
 * The device. The regions are public so that the machine can place them;
 * every other field is private to devices/acpi_pm.c.
 */
struct acpi_pm {
    /* PM1a_EVT_BLK: PM1_STS at offset 0, PM1_EN at offset 2. */
    struct mem_region region_evt;
    /* PM1a_CNT_BLK: PM1_CNT. */
    struct mem_region region_cnt;
    /* RESET_REG: the reset control register. */
    struct mem_region region_reset;

    /* Private. */
    const struct acpi_pm_hooks *hooks;
    void *hook_opaque;
    /* Bit i: region i (evt, cnt, reset) is initialised. */
    unsigned live;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    uint16_t sts;
    uint16_t en;
    /* The stored PM1_CNT bits (never SCI_EN, GBL_RLS or SLP_EN). */
    uint16_t cnt;
    uint8_t reset;
};

/*
 * Initialise (s) with its three regions, not yet placed anywhere: every
 * register zero, SCI_EN reading 1. (hooks) (may be NULL) and (opaque) must
 * outlive the device. Returns 0, or -errno with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
acpi_pm_init(struct acpi_pm *s, const struct acpi_pm_hooks *hooks,
             void *opaque);

/*
 * Release (s). The machine must have removed every placed region from its
 * container and let readers finish (mem_sys_synchronize()) first;
 * otherwise returns -EBUSY, and may be called again once they are free.
 */
__attribute__((warn_unused_result)) int acpi_pm_destroy(struct acpi_pm *s);

#endif /* DEVICES_ACPI_PM_H */
