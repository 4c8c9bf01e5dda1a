/* SPDX-License-Identifier: MIT */
/*
 * isa-debug-exit (devices/debug_exit.h) at port 0xf4 of an "io" space,
 * driven by guest accesses from the input around its four ports. Every
 * accepted write must call the exit hook exactly once with status
 * (v << 1) | 1 for the value v of the piece that reached the device;
 * reads return 0 and call nothing; refused and unassigned accesses call
 * nothing. The first input byte may leave the hooks out.
 *
 * Input: a flags byte (bit 0: no hooks), then records: an op byte (bits
 * 0-1 the size 1 << n, bit 2 a write), an offset byte and, for a write,
 * the value.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/debug_exit.h"
#include "fuzz.h"
#include "fuzz_dev.h"

#define PORT 0xf4
/* Accesses land in [PORT - 8, PORT + DEBUG_EXIT_SIZE + 8). */
#define WINDOW_LO (PORT - 8)
#define WINDOW_SPAN (DEBUG_EXIT_SIZE + 16)
#define MAX_EXITS 8

struct model {
    bool hooked;
    /* Statuses the hook saw during the current access, not yet matched. */
    int status[MAX_EXITS];
    unsigned nr;
    unsigned total;
};

static void hook_exit(void *opaque, int status)
{
    struct model *m = opaque;

    FUZZ_CHECK(m->nr < MAX_EXITS);
    m->status[m->nr++] = status;
}

static const struct debug_exit_hooks hooks = {.exit = hook_exit};

static uint64_t model_piece(void *opaque, unsigned idx, uint64_t offset,
                            unsigned size, bool write, uint64_t value,
                            uint64_t *known)
{
    struct model *m = opaque;
    uint32_t want = ((uint32_t)value << 1) | 1u;

    (void)idx;
    (void)offset;
    (void)size;
    if (!write) {
        *known = UINT64_MAX;
        return 0;
    }
    if (m->hooked) {
        /* Pieces arrive in the order the hook was called. */
        FUZZ_CHECK(m->total < m->nr);
        FUZZ_CHECK(m->status[m->total] == (int)want);
        m->total++;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct debug_exit dev;
    struct fuzz_dev d;
    struct model m = {0};
    unsigned flags = (unsigned)fuzz_take(&in, 1);

    m.hooked = !(flags & 1);
    FUZZ_CHECK(debug_exit_init(&dev, m.hooked ? &hooks : NULL, &m) == 0);
    fuzz_dev_init(&d, "io", 0x10000, model_piece, &m);
    fuzz_dev_add(&d, &dev.region, FUZZ_DEV_IO, PORT, 0, 1, 4, false);
    fuzz_dev_place(&d);
    while (in.n) {
        unsigned op = (unsigned)fuzz_take(&in, 1);
        gpa_t addr;
        unsigned sz;
        bool write;
        uint64_t value;

        fuzz_dev_take_access(&in, op, WINDOW_LO, WINDOW_SPAN, &addr, &sz,
                             &write, &value);
        m.nr = 0;
        m.total = 0;
        fuzz_dev_access(&d, addr, sz, write, value);
        /* Every exit the hook saw belongs to a piece that was written. */
        FUZZ_CHECK(m.total == m.nr);
    }
    fuzz_dev_remove(&d);
    FUZZ_CHECK(debug_exit_destroy(&dev) == 0);
    return 0;
}
