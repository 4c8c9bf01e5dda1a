/* SPDX-License-Identifier: MIT */
/*
 * The bare board (see machine-internal.h): CPL-3 test guests. No interrupt
 * controllers, PIT or legacy devices (the guests take no interrupts, and
 * an in-kernel LAPIC costs ~6 ms of start-up on a PVM host); the guest
 * talks to the VMM through the test device that the spine places. Its ELF
 * is loaded through the memory API and every vCPU starts at its entry in
 * long mode at CPL 3 (vcpu_x86_64.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "devices/testdev_abi.h"
#include "kvm.h"
#include "loader_elf.h"
#include "machine-internal.h"
#include "vcpu_x86_64.h"

static int bare_load_image(struct machine *m, gpa_t *entry, char *why,
                           size_t whylen)
{
    const struct machine_config *cfg = m->cfg;
    struct loader_elf_limits lim = {
        .min_gpa = TESTDEV_GUEST_MIN_GPA,
        .max_gpa = m->ram_low_size,
    };
    struct loader_elf_info info;
    char msg[200];
    int ret;

    ret = loader_elf_load(cfg->image, cfg->image_size, &lim, machine_load_write,
                          m, &info, msg, sizeof(msg));
    if (ret < 0) {
        snprintf(why, whylen, "%s: %s", cfg->image_name, msg);
        return ret;
    }
    *entry = info.entry;
    return 0;
}

/* One vCPU's registers for the guest's entry in CPL-3 long mode. */
static int bare_setup_vcpu(struct vcpu *v, int id, gpa_t entry)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int ret;

    ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
    if (ret == 0) {
        vcpu_x86_64_init_sregs(&sregs);
        ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs);
    }
    if (ret == 0) {
        ret = vcpu_x86_64_init_regs(&regs, entry, 0, (uint32_t)id);
    }
    if (ret == 0) {
        ret = kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
    }
    if (ret == 0 && id > 0) {
        /* With an in-kernel LAPIC an AP would wait for INIT/SIPI; test
         * guests start every vCPU at the entry point. */
        struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};

        ret = kvm_ioctl(v->fd, KVM_SET_MP_STATE, &mp);
    }
    return ret;
}

static int bare_boot(struct machine *m, char *why, size_t whylen)
{
    gpa_t entry = 0;
    int i, ret;

    ret = bare_load_image(m, &entry, why, whylen);
    if (ret < 0) {
        return ret;
    }
    ret = vcpu_x86_64_setup_memory(mr_ram_ptr(&m->ram, 0), m->ram_low_size,
                                   m->cfg->mem_size);
    if (ret < 0) {
        snprintf(why, whylen, "boot page tables for %" PRIu64 " MiB: %s",
                 m->cfg->mem_size >> 20, strerror(-ret));
        return ret;
    }
    for (i = 0; i < m->vcpus.nr; i++) {
        ret = bare_setup_vcpu(&m->vcpus.vcpus[i], i, entry);
        if (ret < 0) {
            snprintf(why, whylen, "vCPU %d setup: %s", i, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

const struct board_ops board_bare = {
    .name = "bare",
    .boot = bare_boot,
};
