/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads: one per vCPU, each looping on KVM_RUN and handing MMIO
 * exits to the "memory" address space and port I/O exits to "io". The set
 * of vCPUs can be parked (no vCPU in guest mode) while the memory map
 * loses a slot, and stopped when the VM ends.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct address_space;
struct vcpu_set;

/* What ended the VM, reported by vcpu_set_end(). */
struct vcpu_end {
    int status;
    char reason[64];
};

/* What a hand-made MMIO handler (the benchmark's bare switch) did with an
 * exit. */
enum vcpu_raw {
    VCPU_RAW_DONE, /* handled: enter the guest again */
    VCPU_RAW_END,  /* handled, and the VM must stop */
    VCPU_RAW_PASS, /* not handled: dispatch it through the memory API */
};
typedef enum vcpu_raw (*vcpu_raw_mmio_fn)(void *opaque, struct kvm_run *run);

struct vcpu {
    struct vcpu_set *set;
    int id;
    int fd;
    struct kvm_run *run;
    int run_size;
    pthread_t thread;
    bool started;
    /* Guarded by set->lock. */
    bool in_guest;
};

/* Exit counters of a VM, as --json reports them. */
struct vcpu_stats {
    uint64_t mmio_exits;
    uint64_t io_exits;
    /* Guest accesses the memory API dropped: to unassigned addresses, of a
     * size or alignment the region refuses, writes to readonly memory. */
    uint64_t mmio_unassigned;
    uint64_t mmio_invalid;
    uint64_t mmio_readonly;
    uint64_t io_unassigned;
    uint64_t io_invalid;
};

struct vcpu_set {
    int nr;
    struct vcpu *vcpus;
    struct address_space *mem;
    struct address_space *io;
    vcpu_raw_mmio_fn raw_mmio;
    void *raw_opaque;
    /* Harvests a full dirty ring on KVM_EXIT_DIRTY_RING_FULL (0: enter
     * again); NULL ends the VM on that exit. */
    int (*ring_full)(void *opaque, int vcpu_id);
    void *ring_full_opaque;
    /* Step over the instructions a PVM host's emulator refuses: INT3
     * (skipped, #BP injected, as the CPU would) and FWAIT (a no-op). */
    bool pvm_workarounds;
    uint64_t emulated_steps;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Guarded by (lock). */
    unsigned park_depth;
    /* Threads that have started their loop. */
    int ready;
    bool stop;
    bool ended;
    struct vcpu_end end;

    uint64_t first_run_ns;
    /* Updated with relaxed atomics by every vCPU thread. */
    struct vcpu_stats stats;
};

/*
 * Create (nr) vCPUs on (vm_fd) with their kvm_run mappings. (mem) and (io)
 * are the address spaces exits are dispatched to. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int
vcpu_set_init(struct vcpu_set *set, int vm_fd, int nr, int mmap_size,
              struct address_space *mem, struct address_space *io);

/* Start one thread per vCPU. */
__attribute__((warn_unused_result)) int vcpu_set_start(struct vcpu_set *set);

/* Wait until every started vCPU thread has entered its loop. */
void vcpu_set_wait_ready(struct vcpu_set *set);

/*
 * End the VM with (status) for (reason) (the first call wins) and wake
 * whoever waits in vcpu_set_wait(). Safe from any thread.
 */
void vcpu_set_end(struct vcpu_set *set, int status, const char *reason);

/* Wait until the VM ends, stop and join the vCPU threads, return the end. */
void vcpu_set_wait(struct vcpu_set *set, struct vcpu_end *end);

/*
 * Wait at most (timeout_ms) for the VM to end; true when it has. Leaves
 * the threads running.
 */
bool vcpu_set_wait_for(struct vcpu_set *set, int timeout_ms);

/* Close the vCPU fds and unmap their kvm_run pages. */
void vcpu_set_destroy(struct vcpu_set *set);

/*
 * Park: return once no vCPU is in guest mode, and keep them out until
 * vcpu_set_unpark(). Nests. Safe from a vCPU thread (which is itself out of
 * guest mode while it handles an exit).
 */
void vcpu_set_park(void *set);
void vcpu_set_unpark(void *set);

/* The id of the vCPU running on this thread, or 0 elsewhere. */
int vcpu_current_id(void);

#endif /* VMM_VCPU_H */
