/* SPDX-License-Identifier: MIT */
/*
 * The run-control port of `vmm run -- CMD`: vmm's own guest init (guest/init)
 * tells the VMM how far it got and how the command ended. One 32-bit
 * register; the machine places it in the I/O space (RUN_CTL_PORT).
 *
 * A read returns RUN_CTL_MAGIC, so the init can tell it is running under
 * vmm before it writes. A 4-byte write is an event:
 *   bits 31..24  what: RUN_CTL_PHASE, RUN_CTL_STATUS or RUN_CTL_FAILED
 *   bits 23..0   its value:
 *     PHASE   the phase reached (RUN_CTL_PHASE_*), in order
 *     STATUS  the command's end: bits 7..0 its exit status, or with
 *             RUN_CTL_SIGNALED the signal that killed it
 *     FAILED  the init could not run the command (it said why on the
 *             console); the value is the step (RUN_CTL_PHASE_* it was
 *             trying to reach)
 * Everything else (other sizes, unknown events, phases out of range or
 * out of order, a second end) is ignored and counted: the values come
 * from the guest.
 *
 * Threads: the hooks run on the writing vCPU's thread; the device's own
 * state is atomic.
 */
#ifndef DEVICES_RUN_CTL_H
#define DEVICES_RUN_CTL_H

#include <stdint.h>

#include "devices/run_ctl_abi.h"
#include "mem/region.h"

struct run_ctl_hooks {
    /* (phase) reached, for the first time and in order. */
    void (*phase)(void *opaque, unsigned phase);
    /* The command ended: (status) is its exit status 0..255, or -(n) for
     * death by signal n (1..127). Called at most once, and never after
     * failed(). */
    void (*status)(void *opaque, int status);
    /* The init gave up while reaching (phase) (0 when it named no known
     * phase). At most once, never after status(). */
    void (*failed)(void *opaque, unsigned phase);
};

struct run_ctl {
    struct mem_region region;

    /* Private. */
    const struct run_ctl_hooks *hooks;
    void *hook_opaque;
    /* The last phase reached; whether the run ended; writes ignored. */
    uint32_t phase;
    uint32_t ended;
    uint64_t ignored;
};

/*
 * Initialise (s) with an I/O region of RUN_CTL_SIZE bytes, not yet placed.
 * (hooks) (may be NULL) and (opaque) must outlive it. Returns 0 or -errno
 * with nothing to undo.
 */
__attribute__((warn_unused_result)) int
run_ctl_init(struct run_ctl *s, const struct run_ctl_hooks *hooks,
             void *opaque);

/* Writes the device ignored so far. */
uint64_t run_ctl_ignored(const struct run_ctl *s);

/* Release (s), as debug_exit_destroy(). */
__attribute__((warn_unused_result)) int run_ctl_destroy(struct run_ctl *s);

#endif /* DEVICES_RUN_CTL_H */
