/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge and reset control register (devices/pci_host.h) at
 * port 0xcf8 of an "io" space, driven by guest accesses from the input
 * around its eight ports. A model of the header's rules predicts every
 * read and every reset hook call: CONFIG_ADDRESS latched by dword
 * accesses only (reserved bits read 0), the host bridge's read-only
 * configuration space at 00:00.0, all-ones for every other function and
 * while disabled, the reset register reached by byte accesses at 0xcf9
 * alone (RST_CPU resets and reads 0), everything else in 0xcf8-0xcfb
 * all-ones and dropped.
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte (bits
 * 0-1 the size 1 << n, bit 2 a write; op >= 0xe0: a dword CONFIG_ADDRESS
 * write of bus 0 with the next byte as device, function and register),
 * an offset byte and, for a write, the value.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/pci_host.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define PORT 0xcf8
#define WINDOW_LO (PORT - 8)
#define WINDOW_SPAN (PCI_HOST_SIZE + 16)

struct model {
    bool hooked;
    uint32_t addr;
    uint8_t reset;
    unsigned resets_seen, resets_want;
};

static void hook_reset(void *opaque)
{
    struct model *m = opaque;

    m->resets_seen++;
}

static const struct pci_host_hooks hooks = {.reset = hook_reset};

/* The host bridge's configuration byte (reg), as the header gives it. */
static uint8_t config_byte(unsigned reg)
{
    switch (reg) {
    case 0x00:
        return (uint8_t)PCI_HOST_VENDOR_ID;
    case 0x01:
        return (uint8_t)(PCI_HOST_VENDOR_ID >> 8);
    case 0x02:
        return (uint8_t)PCI_HOST_DEVICE_ID;
    case 0x03:
        return (uint8_t)(PCI_HOST_DEVICE_ID >> 8);
    case 0x08:
        return 0x02;
    case 0x09:
    case 0x0a:
    case 0x0b:
        return (uint8_t)(PCI_HOST_CLASS >> (8 * (reg - 0x09)));
    default:
        return 0;
    }
}

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint64_t v = 0;

    (void)idx;
    *known = size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
    if (offset >= PCI_HOST_DATA_OFFSET) {
        unsigned reg = (m->addr & 0xfc) + (unsigned)(offset - 4);

        if (write) {
            return 0;
        }
        if (!(m->addr & PCI_HOST_ADDR_ENABLE) || (m->addr & 0x00ffff00u)) {
            return ~0ull;
        }
        for (unsigned i = 0; i < size; i++) {
            v |= (uint64_t)config_byte(reg + i) << (8 * i);
        }
        return v;
    }
    if (offset == 0 && size == 4) {
        if (write) {
            m->addr = (uint32_t)value & PCI_HOST_ADDR_MASK;
        }
        return m->addr;
    }
    if (offset == 1 && size == 1) {
        if (write) {
            m->reset = (uint8_t)value & (uint8_t)~PCI_HOST_RESET_RST_CPU;
            if (value & PCI_HOST_RESET_RST_CPU) {
                m->resets_want += m->hooked;
            }
        }
        return m->reset;
    }
    return write ? 0 : ~0ull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct pci_host dev;
    struct fuzz_dev d;
    struct model m = {0};
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    m.hooked = !(flags & 1);
    FUZZ_CHECK(pci_host_init(&dev, m.hooked ? &hooks : NULL, &m) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, &m);
    fuzz_dev_add(&d, &dev.region, FUZZ_DEV_IO, PORT, 0, 1, 4, false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        if (op >= 0xe0) {
            /* Select a function of bus 0 and a register, enabled. */
            value = PCI_HOST_ADDR_ENABLE |
                    ((uint32_t)fuzz_take(&in, 1) << 8 & 0xff00u) |
                    ((uint32_t)fuzz_take(&in, 1) & 0xfcu);
            fuzz_dev_access(&d, PORT, 4, true, value);
        } else {
            fuzz_dev_take_access(&in, op, WINDOW_LO, WINDOW_SPAN, &addr, &sz,
                                 &write, &value);
            fuzz_dev_access(&d, addr, sz, write, value);
        }
        FUZZ_CHECK(m.resets_seen == m.resets_want);
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(pci_host_destroy(&dev) == 0);
    return 0;
}
