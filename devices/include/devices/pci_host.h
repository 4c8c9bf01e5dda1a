/* SPDX-License-Identifier: MIT */
/*
 * The PC's PCI host bridge as far as configuration mechanism #1 goes, and
 * the reset control register that shares its ports (the PCI Local Bus
 * specification, 3.2.2.3.2; the PIIX/ICH datasheets for 0xcf9).
 *
 * One region of PCI_HOST_SIZE bytes, placed by the machine at 0xcf8:
 * - offset 0, 4 bytes (port 0xcf8): CONFIG_ADDRESS, dword accesses only.
 *   Bit 31 enables, bits 23:16 bus, 15:11 device, 10:8 function, 7:2
 *   register; bits 30:24 and 1:0 read 0.
 * - offset 1, 1 byte (port 0xcf9): the reset control register. A byte
 *   write with RST_CPU (bit 2) set, as the FADT's RESET_VALUE 0x06 is,
 *   calls the reset hook; the value is stored with RST_CPU clear and
 *   reads back. Only a byte access reaches it: a dword write to 0xcf8 is
 *   CONFIG_ADDRESS, whatever its second byte holds (a PCI probe putting a
 *   device number there must not reset the machine).
 * - offset 4, 1, 2 or 4 bytes at aligned offsets (ports 0xcfc-0xcff):
 *   CONFIG_DATA, the configuration register CONFIG_ADDRESS selects plus
 *   the offset within the dword.
 * Other accesses to ports 0xcf8-0xcfb (a word, or a byte at 0xcf8, 0xcfa
 * or 0xcfb) reach nothing: reads return all-ones, writes are dropped.
 *
 * Bus 0 holds one function, the host bridge at 00:00.0 (vendor 0x8086,
 * device 0x1237, class 06 00 00: host bridge); its configuration space is
 * read-only here (writes are dropped). Every other function, and any
 * CONFIG_DATA access while the enable bit is clear, reads all-ones, which
 * is how PCI reports an absent function.
 *
 * Threads: the ops may run on any vCPU thread at once; state is guarded by
 * pci_host.lock, which is not held while the hook runs.
 */
#ifndef DEVICES_PCI_HOST_H
#define DEVICES_PCI_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/region.h"

/* Size of the region: CONFIG_ADDRESS and CONFIG_DATA. */
#define PCI_HOST_SIZE 8

/* Offsets in the region. */
#define PCI_HOST_ADDR_OFFSET 0
#define PCI_HOST_RESET_OFFSET 1
#define PCI_HOST_DATA_OFFSET 4

/* CONFIG_ADDRESS bits. */
#define PCI_HOST_ADDR_ENABLE 0x80000000u
#define PCI_HOST_ADDR_MASK 0x80fffffcu

/* Reset control register: RST_CPU starts the reset. */
#define PCI_HOST_RESET_RST_CPU 0x04

/* The host bridge's identity. */
#define PCI_HOST_VENDOR_ID 0x8086
#define PCI_HOST_DEVICE_ID 0x1237
#define PCI_HOST_CLASS 0x060000

/*
 * What the machine provides. The hook runs on the vCPU thread that wrote,
 * outside the device lock; NULL ignores the request.
 */
struct pci_host_hooks {
    /* The guest wrote the reset control register with RST_CPU set. */
    void (*reset)(void *opaque);
};

/*
 * The device. (region) is public so that the machine can place it; every
 * other field is private to devices/pci_host.c.
 */
struct pci_host {
    struct mem_region region;

    /* Private. */
    const struct pci_host_hooks *hooks;
    void *hook_opaque;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    uint32_t addr;
    uint8_t reset;
    /* The host bridge's configuration space (read-only). */
    uint8_t config[256];
};

/*
 * Initialise (s) with its region, not yet placed anywhere: CONFIG_ADDRESS
 * and the reset register zero. (hooks) (may be NULL) and (opaque) must
 * outlive the device. Returns 0, or -errno with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
pci_host_init(struct pci_host *s, const struct pci_host_hooks *hooks,
              void *opaque);

/*
 * Release (s). The machine must have removed the region from its container
 * and let readers finish (mem_sys_synchronize()) first; otherwise returns
 * -EBUSY and changes nothing.
 */
__attribute__((warn_unused_result)) int pci_host_destroy(struct pci_host *s);

#endif /* DEVICES_PCI_HOST_H */
