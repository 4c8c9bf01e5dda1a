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

#include <linux/kvm.h>

#include "machine.h"

/* The policy (p) stands for on this host (never CPUID_POLICY_AUTO). */
enum cpuid_policy cpuid_policy_resolve(enum cpuid_policy p);

/* "host" or "safe". */
const char *cpuid_policy_name(enum cpuid_policy p);

/*
 * Fill (*cpuid) (room for (max) entries) from KVM_GET_SUPPORTED_CPUID on
 * (kvm_fd), masked by the resolved policy (p). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int cpuid_build(int kvm_fd,
                                                    enum cpuid_policy p,
                                                    struct kvm_cpuid2 *cpuid,
                                                    unsigned max);

/*
 * Linux kernel parameters the resolved policy (p) adds on this host, or
 * NULL when none are needed.
 */
const char *cpuid_policy_kernel_params(enum cpuid_policy p);

#endif /* VMM_CPUID_H */
