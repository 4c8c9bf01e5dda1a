/* SPDX-License-Identifier: MIT */
/*
 * The CPUID policy (see cpuid.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <asm/kvm_para.h>

#include "cpuid.h"
#include "kvm.h"

/*
 * Feature bits the safe policy clears, by leaf/subleaf/register. The set is
 * what HOST.md measured a Debian 6.1 kernel tripping over on a PVM host,
 * plus the features that depend on them (AVX needs XSAVE).
 */
struct cpuid_mask {
    uint32_t leaf;
    uint32_t index;
    uint32_t ecx;
    uint32_t ebx;
    uint32_t edx;
};

static const struct cpuid_mask safe_masks[] = {
    /* PCLMULQDQ 1, SSSE3 9, FMA 12, CX16 13, SSE4.1 19, SSE4.2 20, MOVBE 22,
     * POPCNT 23, AES 25, XSAVE 26, OSXSAVE 27, AVX 28, F16C 29, RDRAND 30 */
    {1, 0,
     (1u << 1) | (1u << 9) | (1u << 12) | (1u << 13) | (1u << 19) | (1u << 20) |
         (1u << 22) | (1u << 23) | (1u << 25) | (1u << 26) | (1u << 27) |
         (1u << 28) | (1u << 29) | (1u << 30),
     0, 0},
    /* EBX: FSGSBASE 0, BMI1 3, AVX2 5, BMI2 8, ERMS 9, RDSEED 18, ADX 19,
     * SMAP 20, SHA 29; ECX: GFNI 8, VAES 9, VPCLMULQDQ 10; EDX: FSRM 4 */
    {7, 0, (1u << 8) | (1u << 9) | (1u << 10),
     (1u << 0) | (1u << 3) | (1u << 5) | (1u << 8) | (1u << 9) | (1u << 18) |
         (1u << 19) | (1u << 20) | (1u << 29),
     1u << 4},
    /* LZCNT (ABM) 5 */
    {0x80000001, 0, 1u << 5, 0, 0},
};

/* What HOST.md found the kernel needs to hear on the command line. */
static const char pvm_kernel_params[] =
    "noxsave nofsgsbase "
    "clearcpuid=129,137,147,148,150,151,153,158,197,291,296,297,306,307,308,"
    "317,520,521,522,580";

enum cpuid_policy cpuid_policy_resolve(enum cpuid_policy p)
{
    if (p != CPUID_POLICY_AUTO) {
        return p;
    }
    return kvm_host_is_pvm() ? CPUID_POLICY_SAFE : CPUID_POLICY_HOST;
}

const char *cpuid_policy_name(enum cpuid_policy p)
{
    return cpuid_policy_resolve(p) == CPUID_POLICY_SAFE ? "safe" : "host";
}

int cpuid_build(int kvm_fd, enum cpuid_policy p, struct kvm_cpuid2 *cpuid,
                unsigned max)
{
    unsigned i, j;
    int ret;

    cpuid->nent = max;
    ret = kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        /* KVM lists its paravirt leaves (KVM_CPUID_SIGNATURE and
         * _FEATURES) but leaves the hypervisor bit, the guest's cue to
         * look for them, to the VMM; without it Linux finds no kvm-clock.
         * Set it, as QEMU does. */
        if (e->function == 1) {
            e->ecx |= CPUID_1_ECX_HYPERVISOR;
        }
        /* Features that need a VMM's help we do not give: extended
         * destination IDs (a split irqchip's I/O APIC), the
         * KVM_HC_MAP_GPA_RANGE exit and migration control. */
        if (e->function == KVM_CPUID_FEATURES) {
            e->eax &= ~((1u << KVM_FEATURE_MSI_EXT_DEST_ID) |
                        (1u << KVM_FEATURE_HC_MAP_GPA_RANGE) |
                        (1u << KVM_FEATURE_MIGRATION_CONTROL));
        }
    }
    if (cpuid_policy_resolve(p) != CPUID_POLICY_SAFE) {
        return 0;
    }
    for (i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        for (j = 0; j < sizeof(safe_masks) / sizeof(safe_masks[0]); j++) {
            const struct cpuid_mask *m = &safe_masks[j];

            if (e->function == m->leaf && e->index == m->index) {
                e->ecx &= ~m->ecx;
                e->ebx &= ~m->ebx;
                e->edx &= ~m->edx;
            }
        }
        /* No XSAVE: no XSAVE state leaf either. */
        if (e->function == 0xd) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        }
    }
    return 0;
}

const char *cpuid_policy_kernel_params(enum cpuid_policy p)
{
    if (cpuid_policy_resolve(p) == CPUID_POLICY_SAFE && kvm_host_is_pvm()) {
        return pvm_kernel_params;
    }
    return NULL;
}

int cpuid_guest_kvm_features(int kvm_fd, enum cpuid_policy p, uint32_t *out)
{
    enum { MAX = 256 };
    struct kvm_cpuid2 *c;
    bool sig = false, hv = false, have = false;
    uint32_t feat = 0;
    int ret;

    c = calloc(1, sizeof(*c) + MAX * sizeof(c->entries[0]));
    if (!c) {
        return -ENOMEM;
    }
    ret = cpuid_build(kvm_fd, p, c, MAX);
    for (unsigned i = 0; ret == 0 && i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == 1) {
            hv = e->ecx & CPUID_1_ECX_HYPERVISOR;
        } else if (e->function == KVM_CPUID_SIGNATURE) {
            /* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX. */
            sig =
                e->ebx == 0x4b4d564b && e->ecx == 0x564b4d56 && e->edx == 0x4d;
        } else if (e->function == KVM_CPUID_FEATURES) {
            feat = e->eax;
            have = true;
        }
    }
    free(c);
    if (ret < 0) {
        return ret;
    }
    if (!hv || !sig || !have) {
        return -ENOENT;
    }
    *out = feat;
    return 0;
}

const char *cpuid_kvm_feature_name(unsigned bit)
{
    static const char *const names[32] = {
        [KVM_FEATURE_CLOCKSOURCE] = "kvmclock",
        [KVM_FEATURE_NOP_IO_DELAY] = "nopiodelay",
        [KVM_FEATURE_MMU_OP] = "mmu-op",
        [KVM_FEATURE_CLOCKSOURCE2] = "kvmclock2",
        [KVM_FEATURE_ASYNC_PF] = "asyncpf",
        [KVM_FEATURE_STEAL_TIME] = "steal-time",
        [KVM_FEATURE_PV_EOI] = "pv-eoi",
        [KVM_FEATURE_PV_UNHALT] = "pv-unhalt",
        [KVM_FEATURE_PV_TLB_FLUSH] = "pv-tlb-flush",
        [KVM_FEATURE_ASYNC_PF_VMEXIT] = "asyncpf-vmexit",
        [KVM_FEATURE_PV_SEND_IPI] = "pv-ipi",
        [KVM_FEATURE_POLL_CONTROL] = "poll-control",
        [KVM_FEATURE_PV_SCHED_YIELD] = "pv-sched-yield",
        [KVM_FEATURE_ASYNC_PF_INT] = "asyncpf-int",
        [KVM_FEATURE_MSI_EXT_DEST_ID] = "msi-ext-dest-id",
        [KVM_FEATURE_HC_MAP_GPA_RANGE] = "map-gpa-range",
        [KVM_FEATURE_MIGRATION_CONTROL] = "migration-control",
        [KVM_FEATURE_CLOCKSOURCE_STABLE_BIT] = "kvmclock-stable-bit",
    };

    return bit < 32 ? names[bit] : NULL;
}
