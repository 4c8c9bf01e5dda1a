/* SPDX-License-Identifier: MIT */
/*
 * The run-control port (devices/run_ctl.h).
 */
#include <string.h>

#include "devices/run_ctl.h"

static uint64_t run_ctl_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)size;
    /* The register's bytes at (offset) on: a narrower read sees its own. */
    return offset < RUN_CTL_SIZE ? RUN_CTL_MAGIC >> (offset * 8) : 0;
}

static void ignore(struct run_ctl *s)
{
    __atomic_add_fetch(&s->ignored, 1, __ATOMIC_RELAXED);
}

/* Move to (phase) if it comes after the last one; false otherwise. */
static bool advance(struct run_ctl *s, uint32_t phase)
{
    uint32_t cur = __atomic_load_n(&s->phase, __ATOMIC_RELAXED);

    while (phase > cur && phase < RUN_CTL_NR_PHASES) {
        if (__atomic_compare_exchange_n(&s->phase, &cur, phase, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            return true;
        }
    }
    return false;
}

/* Claim the run's end, once. */
static bool end_once(struct run_ctl *s)
{
    return __atomic_exchange_n(&s->ended, 1, __ATOMIC_RELAXED) == 0;
}

static void run_ctl_write(void *opaque, uint64_t offset, uint64_t value,
                          unsigned size)
{
    struct run_ctl *s = opaque;
    uint32_t what = (uint32_t)value >> 24, v = (uint32_t)value & 0xffffffu;

    if (offset != 0 || size != 4) {
        ignore(s);
        return;
    }
    switch (what) {
    case RUN_CTL_PHASE:
        if (__atomic_load_n(&s->ended, __ATOMIC_RELAXED) || !advance(s, v)) {
            ignore(s);
        } else if (s->hooks->phase) {
            s->hooks->phase(s->hook_opaque, v);
        }
        return;
    case RUN_CTL_STATUS:
        if ((v & ~(RUN_CTL_SIGNALED | 0xffu)) ||
            ((v & RUN_CTL_SIGNALED) &&
             ((v & 0xffu) == 0 || (v & 0xffu) > 127))) {
            ignore(s);
        } else if (!end_once(s)) {
            ignore(s);
        } else if (s->hooks->status) {
            s->hooks->status(s->hook_opaque, (v & RUN_CTL_SIGNALED)
                                                 ? -(int)(v & 0xffu)
                                                 : (int)v);
        }
        return;
    case RUN_CTL_FAILED:
        if (!end_once(s)) {
            ignore(s);
        } else if (s->hooks->failed) {
            s->hooks->failed(s->hook_opaque, v < RUN_CTL_NR_PHASES ? v : 0);
        }
        return;
    default:
        ignore(s);
    }
}

static const struct mr_ops run_ctl_ops = {
    .read = run_ctl_read,
    .write = run_ctl_write,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 4},
};

int run_ctl_init(struct run_ctl *s, const struct run_ctl_hooks *hooks,
                 void *opaque)
{
    static const struct run_ctl_hooks no_hooks;

    memset(s, 0, sizeof(*s));
    s->hooks = hooks ? hooks : &no_hooks;
    s->hook_opaque = opaque;
    return mr_init_io(&s->region, "run-ctl", RUN_CTL_SIZE, &run_ctl_ops, s);
}

uint64_t run_ctl_ignored(const struct run_ctl *s)
{
    return __atomic_load_n(&s->ignored, __ATOMIC_RELAXED);
}

int run_ctl_destroy(struct run_ctl *s)
{
    return mr_destroy(&s->region);
}
