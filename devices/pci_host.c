/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration mechanism #1 with one host bridge, and the reset
 * control register at 0xcf9 (see pci_host.h).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "devices/pci_host.h"

/* Configuration space offsets of the type 0 header fields we fill. */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09
#define CFG_HEADER_TYPE 0x0e

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/*
 * The host bridge's configuration register bytes (reg, size) as the
 * selected function gives them, or all-ones when no function answers.
 */
static uint64_t config_read_locked(const struct pci_host *s, uint64_t offset,
                                   unsigned size)
{
    uint32_t a = s->addr;
    unsigned reg = (a & 0xfc) + (unsigned)(offset - PCI_HOST_DATA_OFFSET);
    uint64_t v = 0;

    /* Bus 0, device 0, function 0 only; disabled reads nothing. */
    if (!(a & PCI_HOST_ADDR_ENABLE) || (a & 0x00ffff00u) != 0) {
        return ~0ull;
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)s->config[reg + i] << (8 * i);
    }
    return v;
}

static uint64_t pci_host_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_host *s = opaque;
    uint64_t v = ~0ull;

    pthread_mutex_lock(&s->lock);
    if (offset >= PCI_HOST_DATA_OFFSET) {
        v = config_read_locked(s, offset, size);
    } else if (offset == PCI_HOST_ADDR_OFFSET && size == 4) {
        v = s->addr;
    } else if (offset == PCI_HOST_RESET_OFFSET && size == 1) {
        v = s->reset;
    }
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void pci_host_write(void *opaque, uint64_t offset, uint64_t value,
                           unsigned size)
{
    struct pci_host *s = opaque;
    bool reset = false;

    pthread_mutex_lock(&s->lock);
    if (offset == PCI_HOST_ADDR_OFFSET && size == 4) {
        s->addr = (uint32_t)value & PCI_HOST_ADDR_MASK;
    } else if (offset == PCI_HOST_RESET_OFFSET && size == 1) {
        s->reset = (uint8_t)value & (uint8_t)~PCI_HOST_RESET_RST_CPU;
        reset = value & PCI_HOST_RESET_RST_CPU;
    }
    /* CONFIG_DATA writes: the host bridge's registers are read-only. */
    pthread_mutex_unlock(&s->lock);
    if (reset && s->hooks->reset) {
        s->hooks->reset(s->hook_opaque);
    }
}

static const struct mr_ops pci_host_ops = {
    .read = pci_host_read,
    .write = pci_host_write,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 4},
};

int pci_host_init(struct pci_host *s, const struct pci_host_hooks *hooks,
                  void *opaque)
{
    static const struct pci_host_hooks no_hooks;
    int r;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    put16(s->config + CFG_VENDOR, PCI_HOST_VENDOR_ID);
    put16(s->config + CFG_DEVICE, PCI_HOST_DEVICE_ID);
    s->config[CFG_REVISION] = 0x02;
    s->config[CFG_CLASS] = (uint8_t)PCI_HOST_CLASS;
    s->config[CFG_CLASS + 1] = (uint8_t)(PCI_HOST_CLASS >> 8);
    s->config[CFG_CLASS + 2] = (uint8_t)(PCI_HOST_CLASS >> 16);
    s->config[CFG_HEADER_TYPE] = 0x00;
    r = pthread_mutex_init(&s->lock, NULL);
    if (r != 0) {
        return -r;
    }
    r = mr_init_io(&s->region, "pci-host", PCI_HOST_SIZE, &pci_host_ops, s);
    if (r < 0) {
        pthread_mutex_destroy(&s->lock);
    }
    return r;
}

int pci_host_destroy(struct pci_host *s)
{
    int r = mr_destroy(&s->region);

    if (r < 0) {
        return r;
    }
    pthread_mutex_destroy(&s->lock);
    return 0;
}
