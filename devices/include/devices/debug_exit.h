/* SPDX-License-Identifier: MIT */
/*
 * QEMU's isa-debug-exit device: a guest ends the VM by writing a value v,
 * and the process exits with status (v << 1) | 1, so a test guest can
 * report any result and never be mistaken for a clean exit (status 0).
 * The machine places the region, normally at port 0xf4 (QEMU's
 * iobase=0xf4,iosize=4).
 *
 * A write of 1, 2 or 4 bytes at any offset of the region counts, with v
 * the value written (zero-extended), as in QEMU, which ignores the offset.
 * The status handed to the exit hook is the low 32 bits of (v << 1) | 1
 * converted to int, which is what QEMU passes to exit(); a process exit
 * status carries only its low 8 bits, so the machine masks with 0xff (v =
 * 0x7f gives 255, v = 0x80 gives 1). Reads return 0 with no effect, as in
 * QEMU, so a guest can probe that something is there without exiting.
 *
 * Threads: the device has no state of its own; the ops may run on any
 * vCPU thread at once and call the hook on that thread.
 */
#ifndef DEVICES_DEBUG_EXIT_H
#define DEVICES_DEBUG_EXIT_H

#include "mem/region.h"

/* Size of the region (QEMU's iosize). */
#define DEBUG_EXIT_SIZE 4

/*
 * What the machine provides. The hook runs on the vCPU thread that wrote;
 * NULL ignores the write.
 */
struct debug_exit_hooks {
    /* End the VM with process status (status); only its low 8 bits fit. */
    void (*exit)(void *opaque, int status);
};

/*
 * The device. (region) is public so that the machine can place it; the
 * other fields are private to devices/debug_exit.c.
 */
struct debug_exit {
    struct mem_region region;

    /* Private. */
    const struct debug_exit_hooks *hooks;
    void *hook_opaque;
};

/*
 * Initialise (s) with an I/O region of DEBUG_EXIT_SIZE bytes, not yet
 * placed anywhere, that accepts accesses of 1 to 4 bytes at aligned
 * offsets. (hooks) (may be NULL) and (opaque) must outlive the device.
 * Returns 0, or -errno with nothing left to undo.
 */
__attribute__((warn_unused_result)) int
debug_exit_init(struct debug_exit *s, const struct debug_exit_hooks *hooks,
                void *opaque);

/*
 * Release (s). The machine must have removed the region from its container
 * and let readers finish (mem_sys_synchronize()) first; otherwise returns
 * -EBUSY and changes nothing.
 */
__attribute__((warn_unused_result)) int
debug_exit_destroy(struct debug_exit *s);

#endif /* DEVICES_DEBUG_EXIT_H */
