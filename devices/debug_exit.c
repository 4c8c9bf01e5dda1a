/* SPDX-License-Identifier: MIT */
/*
 * isa-debug-exit: a write ends the VM with status (v << 1) | 1.
 */
#include <stdint.h>
#include <string.h>

#include "devices/debug_exit.h"

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    struct debug_exit *s = opaque;
    /* Unsigned arithmetic: v up to 0xffffffff must not overflow an int.
     * The conversion to int keeps the low 32 bits (two's complement). */
    uint32_t status = ((uint32_t)value << 1) | 1u;

    (void)offset;
    (void)size;
    if (s->hooks->exit) {
        s->hooks->exit(s->hook_opaque, (int)status);
    }
}

static const struct mr_ops debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 4},
};

int debug_exit_init(struct debug_exit *s, const struct debug_exit_hooks *hooks,
                    void *opaque)
{
    static const struct debug_exit_hooks no_hooks;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    return mr_init_io(&s->region, "debug-exit", DEBUG_EXIT_SIZE,
                      &debug_exit_ops, s);
}

int debug_exit_destroy(struct debug_exit *s)
{
    return mr_destroy(&s->region);
}
