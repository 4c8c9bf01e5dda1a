/* SPDX-License-Identifier: MIT */
/*
 * The CPUID policy (see cpuid.h).
 */
#include <string.h>

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
