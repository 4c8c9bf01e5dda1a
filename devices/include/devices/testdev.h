/* SPDX-License-Identifier: MIT */
/*
 * The MMIO test device that test guests talk to (console, exit status, RAM
 * size, vCPU id, a clock, and commands that change the memory map), plus
 * the test regions the `regions` guest checks: a ROM with a write op, a
 * RAM region, an alias onto it, an 8-byte I/O scratch region and a RAM
 * region the guest can toggle and move. The register layout and the places
 * of all regions are in devices/testdev_abi.h.
 *
 * Like every device it knows nothing of where it is placed: the machine
 * adds each region to the "memory" address space at its TESTDEV_*_BASE,
 * and answers what only the machine knows (console, exit, RAM size, the
 * current vCPU, guest memory) through struct testdev_hooks:
 *
 *   regs    -> TESTDEV_BASE           rom     -> TESTDEV_ROM_BASE
 *   ram     -> TESTDEV_RAM_BASE       alias   -> TESTDEV_ALIAS_BASE
 *   scratch -> TESTDEV_SCRATCH_BASE   toggle  -> TESTDEV_TOGGLE_BASE
 *
 * Add them directly to the root container of "memory" (placed at 0):
 * a move command passes the guest's absolute GPA to mr_set_address(),
 * which is relative to the region's container.
 *
 * Threads: the ops run on any vCPU thread at once. The device's own state
 * is guarded by testdev.lock, which is never held while calling a hook or
 * the memory API (a map command commits, and a commit may wait for vCPUs).
 */
#ifndef DEVICES_TESTDEV_H
#define DEVICES_TESTDEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/testdev_abi.h"
#include "mem/region.h"
#include "mem/types.h"

/*
 * What the machine provides. Every hook is called on the vCPU thread that
 * made the access, outside the device lock. Any hook may be NULL: output
 * is then dropped, EXIT is ignored, and reads give 0 (read_guest: -ENOSYS).
 */
struct testdev_hooks {
    /* Print (len) bytes of guest console output. */
    void (*console_write)(void *opaque, const char *buf, size_t len);
    /* The guest asked to end the VM with (status). */
    void (*exit)(void *opaque, int status);
    /* Guest RAM size in bytes. */
    uint64_t (*ram_size)(void *opaque);
    /* The id of the calling vCPU (the machine keeps it thread-local). */
    uint32_t (*vcpu_id)(void *opaque);
    /*
     * Copy (len) bytes of guest memory at (gpa) into (buf); 0 or -errno.
     * (gpa) and (len) come from the guest: the device bounds (len) to
     * TESTDEV_CONSOLE_BUF_MAX, the hook must check (gpa).
     */
    int (*read_guest)(void *opaque, gpa_t gpa, void *buf, size_t len);
};

/*
 * The device. The regions are public so that the machine can place them;
 * every other field is private to devices/testdev.c.
 */
struct testdev {
    /* The register block: TESTDEV_SIZE bytes of I/O. */
    struct mem_region regs;
    /* The test regions, see testdev_abi.h. */
    struct mem_region rom;
    struct mem_region ram;
    struct mem_region alias;
    struct mem_region scratch;
    struct mem_region toggle;

    /* Private. */
    const struct testdev_hooks *hooks;
    void *hook_opaque;
    uint64_t start_ns;
    _Atomic uint64_t arg;
    _Atomic uint64_t mailbox;
    _Atomic uint64_t nop_count;
    _Atomic int64_t region_status;
    /* Bit i set: region i (in testdev.c's order) is initialised. */
    unsigned live;
    pthread_mutex_t lock;
    /* Guarded by (lock). */
    uint8_t scratch_bytes[TESTDEV_SCRATCH_SIZE];
    uint64_t rom_writes;
    uint64_t rom_last_offset;
    uint64_t rom_last_value;
    uint64_t rom_last_size;
};

/*
 * Initialise (td): create its regions (not yet placed anywhere), fill the
 * ROM, RAM and toggle patterns and keep (hooks) and (hook_opaque), which
 * must outlive the device. Returns 0, or -errno with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
testdev_init(struct testdev *td, const struct testdev_hooks *hooks,
             void *hook_opaque);

/*
 * Set the value guests read from TESTDEV_REG_ARG (0 by default).
 */
void testdev_set_arg(struct testdev *td, uint64_t arg);

/*
 * The GPA the guest last gave TESTDEV_REG_MAILBOX (page-aligned), or 0
 * when it gave none. A guest value: check it before use. Any thread.
 */
uint64_t testdev_mailbox(struct testdev *td);

/*
 * Release (td)'s regions. The machine must have removed every one of them
 * from its container and let readers finish (mem_sys_synchronize()) first;
 * otherwise returns -EBUSY from the region that is still in use, having
 * released those before it, and may be called again once it is free.
 */
__attribute__((warn_unused_result)) int testdev_destroy(struct testdev *td);

#endif /* DEVICES_TESTDEV_H */
