/* SPDX-License-Identifier: MIT */
/*
 * What a controller running beside a VM may use: the VM fd, the memory
 * system and its RAM region, the memslot table, the vCPUs and the test
 * device. A machine_config names the controller (on_running), which
 * machine_run() calls on the main thread once the vCPU threads run; the
 * dirty-log benchmark and the dirty-log kvm tests drive the dirty guest
 * from there. Kept apart from machine.h so that controllers and the
 * machine need not see each other's internals.
 */
#ifndef VMM_MACHINE_CTL_H
#define VMM_MACHINE_CTL_H

#include <stdint.h>

struct address_space;
struct kvm_memslots;
struct mem_region;
struct mem_sys;
struct testdev;
struct vcpu_set;

/*
 * The running machine, valid during the on_running call. Every pointer is
 * the machine's: use, never free. Map changes go through the memory API
 * (the transaction lock), vCPU control through vcpu.h.
 */
struct machine_ctl {
    int vm_fd;
    struct mem_sys *sys;
    struct address_space *as_mem;
    /* "pc.ram": all guest RAM, one RAMBlock; its first (ram_low_size)
     * bytes are mapped at GPA 0 (region offset == GPA there). */
    struct mem_region *ram;
    uint64_t ram_low_size;
    struct kvm_memslots *slots;
    struct vcpu_set *vcpus;
    struct testdev *td;
};

/*
 * Called on the main thread once every vCPU thread has started. The VM
 * then runs until the guest ends it or the callback does (vcpu_set_end());
 * a negative return ends it with status 1 (VMM_EXIT_ERROR).
 */
typedef int (*machine_on_running_fn)(void *opaque,
                                     const struct machine_ctl *ctl);

/*
 * Called on the thread of vCPU (vcpu_id) when KVM_RUN returned
 * KVM_EXIT_DIRTY_RING_FULL: harvest its ring and reset, then return 0 to
 * enter again, or -errno to end the VM.
 */
typedef int (*machine_ring_full_fn)(void *opaque, int vcpu_id);

#endif /* VMM_MACHINE_CTL_H */
