/* SPDX-License-Identifier: MIT */
/*
 * Least privilege: once /dev/kvm, the image and guest memory are set up,
 * the process gives up every capability (libcap-ng) before the first
 * KVM_RUN. Threads created afterwards inherit the empty sets.
 */
#ifndef VMM_CAPS_H
#define VMM_CAPS_H

#include <stddef.h>

/*
 * Clear the effective, permitted, inheritable and (when allowed) bounding
 * capability sets of the calling thread. A process with no capabilities
 * has nothing to drop. Returns 0 or -errno with (why) set.
 */
__attribute__((warn_unused_result)) int caps_drop_all(char *why, size_t whylen);

#endif /* VMM_CAPS_H */
