/* SPDX-License-Identifier: MIT */
/*
 * The CPUID policy. `host` gives the guest KVM_GET_SUPPORTED_CPUID as it
 * is. `safe` hides what a PVM host's kernel-mode emulator cannot execute
 * (measured there: CMPXCHG16B, XSAVE/XRSTOR, POPCNT, MOVBE, CLAC/STAC and
 * friends fail with an emulation error). On PVM, CPUID executed at CPL 0
 * does not read the table given to KVM_SET_CPUID2 for most bits, so the
 * policy also names Linux parameters that hide them from the kernel.
 * `auto` is `safe` on a PVM host and `host` elsewhere.
 */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

/* CPUID given to the guest. */
enum cpuid_policy {
    CPUID_POLICY_AUTO, /* safe on a PVM host, host elsewhere */
    CPUID_POLICY_HOST, /* KVM_GET_SUPPORTED_CPUID as it is */
    CPUID_POLICY_SAFE, /* minus what a PVM host's emulator cannot run */
};

/* CPUID.1:ECX bit 31: running under a hypervisor. */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

/* The policy (p) stands for on this host (never CPUID_POLICY_AUTO). */
enum cpuid_policy cpuid_policy_resolve(enum cpuid_policy p);

/* "host" or "safe". */
const char *cpuid_policy_name(enum cpuid_policy p);

/*
 * Fill (*cpuid) (room for (max) entries) from KVM_GET_SUPPORTED_CPUID on
 * (kvm_fd), with the hypervisor bit set so that the guest finds KVM's
 * paravirt leaves (kvm-clock and friends; the features needing a VMM's
 * help masked), then masked by the resolved policy (p). Returns 0 or
 * -errno.
 */
__attribute__((warn_unused_result)) int cpuid_build(int kvm_fd,
                                                    enum cpuid_policy p,
                                                    struct kvm_cpuid2 *cpuid,
                                                    unsigned max);

/*
 * The KVM paravirt feature bits (CPUID 0x40000001 EAX) a guest gets under
 * policy (p), through (*out). Returns 0, -ENOENT when the guest would find
 * no KVM signature (no hypervisor bit or no KVM leaves), or -errno.
 */
__attribute__((warn_unused_result)) int
cpuid_guest_kvm_features(int kvm_fd, enum cpuid_policy p, uint32_t *out);

/* The short name of KVM paravirt feature (bit), or NULL for an unknown one. */
const char *cpuid_kvm_feature_name(unsigned bit);

/*
 * Linux kernel parameters the resolved policy (p) adds on this host, or
 * NULL when none are needed.
 */
const char *cpuid_policy_kernel_params(enum cpuid_policy p);

#endif /* VMM_CPUID_H */
