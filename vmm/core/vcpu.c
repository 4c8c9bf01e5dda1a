/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads and exit handling (see vcpu.h).
 *
 * Parking and stopping: a thread marks itself in_guest under set->lock just
 * before KVM_RUN, after checking that nobody parks or stops the set. Who
 * parks or stops takes the lock, raises park_depth or stop, and kicks every
 * vCPU that is in guest mode: run->immediate_exit makes a KVM_RUN that has
 * not started yet return at once, and SIGUSR1 (a no-op handler installed
 * without SA_RESTART) takes a running one out with -EINTR.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "exit_codes.h"
#include "kvm.h"
#include "mem/address_space.h"
#include "util/clock.h"
#include "vcpu.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static __thread int current_vcpu_id;

int vcpu_current_id(void)
{
    return current_vcpu_id;
}

int vcpu_set_init(struct vcpu_set *set, int vm_fd, int nr, int mmap_size,
                  struct address_space *mem, struct address_space *io)
{
    int i, ret;

    memset(set, 0, sizeof(*set));
    set->vcpus = calloc((size_t)nr, sizeof(*set->vcpus));
    if (!set->vcpus) {
        return -ENOMEM;
    }
    pthread_mutex_init(&set->lock, NULL);
    pthread_cond_init(&set->cond, NULL);
    set->mem = mem;
    set->io = io;
    for (i = 0; i < nr; i++) {
        struct vcpu *v = &set->vcpus[i];
        void *run;

        v->set = set;
        v->id = i;
        ret = kvm_ioctl_val(vm_fd, KVM_CREATE_VCPU, i);
        if (ret < 0) {
            goto fail;
        }
        v->fd = ret;
        set->nr++;
        run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   v->fd, 0);
        if (run == MAP_FAILED) {
            ret = -errno;
            goto fail;
        }
        v->run = run;
        v->run_size = mmap_size;
    }
    return 0;
fail:
    vcpu_set_destroy(set);
    return ret;
}

void vcpu_set_destroy(struct vcpu_set *set)
{
    int i;

    for (i = 0; i < set->nr; i++) {
        struct vcpu *v = &set->vcpus[i];

        if (v->run) {
            munmap(v->run, (size_t)v->run_size);
        }
        close(v->fd);
    }
    if (set->vcpus) {
        pthread_mutex_destroy(&set->lock);
        pthread_cond_destroy(&set->cond);
    }
    free(set->vcpus);
    set->vcpus = NULL;
    set->nr = 0;
}

/* Called with set->lock held. */
static void kick_locked(struct vcpu_set *set)
{
    int i;

    for (i = 0; i < set->nr; i++) {
        struct vcpu *v = &set->vcpus[i];

        if (v->in_guest) {
            __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
            pthread_kill(v->thread, VCPU_KICK_SIGNAL);
        }
    }
}

static bool any_in_guest_locked(const struct vcpu_set *set)
{
    int i;

    for (i = 0; i < set->nr; i++) {
        if (set->vcpus[i].in_guest) {
            return true;
        }
    }
    return false;
}

void vcpu_set_park(void *opaque)
{
    struct vcpu_set *set = opaque;
    struct timespec ts;

    pthread_mutex_lock(&set->lock);
    set->park_depth++;
    kick_locked(set);
    while (any_in_guest_locked(set)) {
        /* Re-kick now and then: a signal can land just before KVM_RUN. */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (pthread_cond_timedwait(&set->cond, &set->lock, &ts) == ETIMEDOUT) {
            kick_locked(set);
        }
    }
    pthread_mutex_unlock(&set->lock);
}

void vcpu_set_unpark(void *opaque)
{
    struct vcpu_set *set = opaque;

    pthread_mutex_lock(&set->lock);
    set->park_depth--;
    pthread_cond_broadcast(&set->cond);
    pthread_mutex_unlock(&set->lock);
}

void vcpu_set_wait_ready(struct vcpu_set *set)
{
    int started = 0, i;

    for (i = 0; i < set->nr; i++) {
        started += set->vcpus[i].started;
    }
    pthread_mutex_lock(&set->lock);
    while (set->ready < started) {
        pthread_cond_wait(&set->cond, &set->lock);
    }
    pthread_mutex_unlock(&set->lock);
}

void vcpu_set_end(struct vcpu_set *set, int status, const char *reason)
{
    pthread_mutex_lock(&set->lock);
    if (!set->ended) {
        set->ended = true;
        set->end.status = status;
        snprintf(set->end.reason, sizeof(set->end.reason), "%s", reason);
    }
    set->stop = true;
    kick_locked(set);
    pthread_cond_broadcast(&set->cond);
    pthread_mutex_unlock(&set->lock);
}

/* One line of reason, then registers and the bytes at RIP, on stderr. */
static void vcpu_report(struct vcpu *v, const char *what)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_translation tr;
    uint8_t code[16];
    gpa_t rip_gpa;
    int i;

    fprintf(stderr, "vmm: vCPU %d: %s\n", v->id, what);
    if (kvm_ioctl_quiet(v->fd, KVM_GET_REGS, &r) < 0 ||
        kvm_ioctl_quiet(v->fd, KVM_GET_SREGS, &s) < 0) {
        fprintf(stderr, "  (registers unavailable)\n");
        return;
    }
    /* KVM on AMD re-initialises the vCPU on a shutdown intercept (the
     * VMCB is undefined after one), so what reads back is the reset
     * state, not the fault's. None of our guests runs there. */
    if (v->run->exit_reason == KVM_EXIT_SHUTDOWN && r.rip == 0xfff0 &&
        s.cs.selector == 0xf000 && !(s.cr0 & 1)) {
        fprintf(stderr, "  registers not available on this host: KVM reset "
                        "the vCPU after the shutdown (as KVM on AMD does), "
                        "so the faulting state is lost\n");
        return;
    }
    fprintf(stderr,
            "  rip %016llx rsp %016llx rflags %08llx\n"
            "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
            "  rsi %016llx rdi %016llx rbp %016llx\n"
            "  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
            "  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
            "  cs %04x (cpl %d) ss %04x cr0 %016llx cr2 %016llx cr3 %016llx "
            "cr4 %016llx efer %llx\n",
            r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
            r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
            s.cs.selector, s.cs.selector & 3, s.ss.selector, s.cr0, s.cr2,
            s.cr3, s.cr4, s.efer);
    rip_gpa = r.rip;
    memset(&tr, 0, sizeof(tr));
    tr.linear_address = r.rip;
    if (kvm_ioctl_quiet(v->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
        rip_gpa = tr.physical_address;
    }
    if (as_read(v->set->mem, rip_gpa, code, sizeof(code)) == -ENXIO) {
        fprintf(stderr, "  code at rip (gpa %016" PRIx64 "): unmapped\n",
                rip_gpa);
        return;
    }
    fprintf(stderr, "  code at rip (gpa %016" PRIx64 "):", rip_gpa);
    for (i = 0; i < (int)sizeof(code); i++) {
        fprintf(stderr, " %02x", code[i]);
    }
    fputc('\n', stderr);
}

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint64_t span = (uint64_t)run->io.size * run->io.count;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint32_t i;

    /* The data lies in the kvm_run mapping; never trust the offsets. */
    if (run->io.data_offset > (uint64_t)v->run_size ||
        span > (uint64_t)v->run_size - run->io.data_offset) {
        return;
    }
    for (i = 0; i < run->io.count; i++) {
        int ret = as_access(v->set->io, run->io.port, data + i * run->io.size,
                            run->io.size, run->io.direction == KVM_EXIT_IO_OUT);

        /* Dropped like MMIO: unassigned ports read all-ones, refused
         * sizes or alignments too; both are counted per access. */
        if (ret == -ENXIO) {
            __atomic_add_fetch(&v->set->stats.io_unassigned, 1,
                               __ATOMIC_RELAXED);
        } else if (ret == -EINVAL) {
            __atomic_add_fetch(&v->set->stats.io_invalid, 1, __ATOMIC_RELAXED);
        }
    }
}

/*
 * An emulation failure on a PVM host at an instruction its emulator does
 * not know but whose effect is simple: do it here. Returns true when the
 * vCPU can go on.
 */
static bool pvm_step_over(struct vcpu *v)
{
    struct kvm_translation tr = {0};
    struct kvm_vcpu_events ev;
    struct kvm_regs r;
    uint8_t op;

    if (kvm_ioctl_quiet(v->fd, KVM_GET_REGS, &r) < 0) {
        return false;
    }
    tr.linear_address = r.rip;
    if (kvm_ioctl_quiet(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid ||
        as_read(v->set->mem, tr.physical_address, &op, 1) < 0) {
        return false;
    }
    if (op != 0xcc && op != 0x9b) {
        return false;
    }
    r.rip++;
    if (kvm_ioctl_quiet(v->fd, KVM_SET_REGS, &r) < 0) {
        return false;
    }
    if (op == 0xcc) {
        /* INT3 traps: #BP is delivered with RIP after the instruction. */
        if (kvm_ioctl_quiet(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
            return false;
        }
        ev.exception.injected = 1;
        ev.exception.nr = 3;
        ev.exception.has_error_code = 0;
        ev.flags = 0;
        if (kvm_ioctl_quiet(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
            return false;
        }
    }
    __atomic_add_fetch(&v->set->emulated_steps, 1, __ATOMIC_RELAXED);
    return true;
}

/* Handle one exit; returns false when the VM must end. */
static bool handle_exit(struct vcpu *v)
{
    struct vcpu_set *set = v->set;
    struct kvm_run *run = v->run;
    char what[128];
    int ret;

    switch (run->exit_reason) {
    case KVM_EXIT_MMIO:
        __atomic_add_fetch(&set->stats.mmio_exits, 1, __ATOMIC_RELAXED);
        if (set->raw_mmio) {
            enum vcpu_raw raw = set->raw_mmio(set->raw_opaque, run);

            if (raw == VCPU_RAW_END) {
                vcpu_set_end(set, 0, "guest exit");
                return false;
            }
            if (raw == VCPU_RAW_DONE) {
                return true;
            }
        }
        /* Unassigned and refused accesses read as all-ones: the data is
         * copied back whatever the result. */
        ret = as_access(set->mem, run->mmio.phys_addr, run->mmio.data,
                        run->mmio.len, run->mmio.is_write);
        if (ret == -ENXIO) {
            __atomic_add_fetch(&set->stats.mmio_unassigned, 1,
                               __ATOMIC_RELAXED);
        } else if (ret == -EINVAL) {
            __atomic_add_fetch(&set->stats.mmio_invalid, 1, __ATOMIC_RELAXED);
        } else if (ret == -EROFS) {
            __atomic_add_fetch(&set->stats.mmio_readonly, 1, __ATOMIC_RELAXED);
        }
        return true;
    case KVM_EXIT_IO:
        __atomic_add_fetch(&set->stats.io_exits, 1, __ATOMIC_RELAXED);
        handle_io(v);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_DIRTY_RING_FULL:
        /* The ring is harvested and reset before the vCPU enters again,
         * or KVM would exit at once: no entry is dropped. */
        if (set->ring_full &&
            set->ring_full(set->ring_full_opaque, v->id) == 0) {
            return true;
        }
        vcpu_report(v, "dirty ring full and not harvested "
                       "(KVM_EXIT_DIRTY_RING_FULL)");
        vcpu_set_end(set, VMM_EXIT_UNHANDLED, "dirty ring full");
        return false;
    case KVM_EXIT_SHUTDOWN:
        vcpu_report(v, "triple fault (KVM_EXIT_SHUTDOWN)");
        vcpu_set_end(set, VMM_EXIT_SHUTDOWN, "triple fault");
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        if (set->pvm_workarounds &&
            run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
            pvm_step_over(v)) {
            return true;
        }
        snprintf(what, sizeof(what),
                 "KVM internal error, suberror %u%s (KVM_EXIT_INTERNAL_ERROR)",
                 run->internal.suberror,
                 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                     ? " (instruction emulation failed)"
                     : "");
        vcpu_report(v, what);
        vcpu_set_end(set, VMM_EXIT_INTERNAL, "internal error");
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(
            what, sizeof(what),
            "VM entry failed, hardware reason 0x%llx (KVM_EXIT_FAIL_ENTRY)",
            run->fail_entry.hardware_entry_failure_reason);
        vcpu_report(v, what);
        vcpu_set_end(set, VMM_EXIT_FAIL_ENTRY, "entry failure");
        return false;
    default:
        snprintf(what, sizeof(what), "unhandled exit reason %u",
                 run->exit_reason);
        vcpu_report(v, what);
        vcpu_set_end(set, VMM_EXIT_UNHANDLED, "unhandled exit");
        return false;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vcpu_set *set = v->set;
    int ret;

    current_vcpu_id = v->id;
    rcu_register_thread();
    pthread_mutex_lock(&set->lock);
    set->ready++;
    pthread_cond_broadcast(&set->cond);
    pthread_mutex_unlock(&set->lock);
    for (;;) {
        pthread_mutex_lock(&set->lock);
        while (set->park_depth && !set->stop) {
            pthread_cond_wait(&set->cond, &set->lock);
        }
        if (set->stop) {
            pthread_mutex_unlock(&set->lock);
            break;
        }
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        v->in_guest = true;
        pthread_mutex_unlock(&set->lock);

        if (!__atomic_load_n(&set->first_run_ns, __ATOMIC_RELAXED)) {
            uint64_t zero = 0;

            __atomic_compare_exchange_n(&set->first_run_ns, &zero,
                                        clock_now_ns(), false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
        }
        ret = kvm_do_ioctl(v->fd, KVM_RUN, "KVM_RUN", 0, false);

        pthread_mutex_lock(&set->lock);
        v->in_guest = false;
        pthread_cond_broadcast(&set->cond);
        pthread_mutex_unlock(&set->lock);

        if (ret < 0) {
            if (ret == -EINTR || ret == -EAGAIN) {
                continue;
            }
            fprintf(stderr, "vmm: vCPU %d: KVM_RUN: %s\n", v->id,
                    strerror(-ret));
            vcpu_set_end(set, VMM_EXIT_ERROR, "KVM_RUN failed");
            break;
        }
        if (!handle_exit(v)) {
            break;
        }
    }
    rcu_unregister_thread();
    return NULL;
}

static void kick_handler(int sig)
{
    (void)sig;
}

int vcpu_set_start(struct vcpu_set *set)
{
    sigset_t stop, old;
    struct sigaction sa;
    int i, ret;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: KVM_RUN must return -EINTR. */
    if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
        return -errno;
    }
    /* The vCPU threads inherit a mask without the signals that end the
     * VM: those reach the main thread, which ends the VM cleanly. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    for (i = 0, ret = 0; i < set->nr && ret == 0; i++) {
        struct vcpu *v = &set->vcpus[i];

        ret = -pthread_create(&v->thread, NULL, vcpu_thread, v);
        if (ret < 0) {
            vcpu_set_end(set, VMM_EXIT_ERROR, "thread creation failed");
        } else {
            v->started = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ret;
}

bool vcpu_set_wait_for(struct vcpu_set *set, int timeout_ms)
{
    struct timespec ts;
    bool ended;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&set->lock);
    while (!set->ended) {
        if (pthread_cond_timedwait(&set->cond, &set->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    ended = set->ended;
    pthread_mutex_unlock(&set->lock);
    return ended;
}

void vcpu_set_wait(struct vcpu_set *set, struct vcpu_end *end)
{
    int i;

    pthread_mutex_lock(&set->lock);
    while (!set->ended) {
        pthread_cond_wait(&set->cond, &set->lock);
    }
    *end = set->end;
    pthread_mutex_unlock(&set->lock);
    for (i = 0; i < set->nr; i++) {
        if (set->vcpus[i].started) {
            pthread_join(set->vcpus[i].thread, NULL);
            set->vcpus[i].started = false;
        }
    }
}
