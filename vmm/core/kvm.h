/* SPDX-License-Identifier: MIT */
/*
 * The one wrapper for KVM ioctls, and the KVM system handle. Every call
 * returns the ioctl's non-negative result or -errno, and logs the ioctl's
 * name on failure (the _quiet variants do not, for calls whose failure is
 * an answer, such as KVM_RUN interrupted by a signal).
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* An ioctl whose argument is a pointer to a struct of the encoded size. */
#define kvm_ioctl(fd, cmd, arg)                                                \
    ({                                                                         \
        _Static_assert(!_IOC_SIZE(cmd) || sizeof(*(arg)) == _IOC_SIZE(cmd),    \
                       "argument size does not match " #cmd);                  \
        kvm_do_ioctl((fd), (cmd), #cmd, (unsigned long)(uintptr_t)(arg),       \
                     true);                                                    \
    })

#define kvm_ioctl_quiet(fd, cmd, arg)                                          \
    ({                                                                         \
        _Static_assert(!_IOC_SIZE(cmd) || sizeof(*(arg)) == _IOC_SIZE(cmd),    \
                       "argument size does not match " #cmd);                  \
        kvm_do_ioctl((fd), (cmd), #cmd, (unsigned long)(uintptr_t)(arg),       \
                     false);                                                   \
    })

/* An ioctl whose argument is a plain value (_IO ioctls). */
#define kvm_ioctl_val(fd, cmd, val)                                            \
    kvm_do_ioctl((fd), (cmd), #cmd, (unsigned long)(val), true)

/* Issue the ioctl; see the macros above. */
int kvm_do_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg,
                 bool log);

/* The KVM system fd and what we learnt from it. */
struct kvm_sys {
    int fd;
    int api_version;
    int nr_memslots;
    int max_vcpus;
    int nr_vcpus;
    int vcpu_mmap_size;
};

/*
 * Open (path) (normally /dev/kvm) and check the API version. On failure
 * (*why) names what and why in one line. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int
kvm_sys_open(struct kvm_sys *kvm, const char *path, char *why, size_t whylen);

/* Close the system fd. */
void kvm_sys_close(struct kvm_sys *kvm);

/* KVM_CHECK_EXTENSION on (fd) (system or VM): the value, 0 if absent. */
int kvm_check_extension(int fd, long cap);

/* True when this host looks like a PVM nested KVM (module kvm_pvm). */
bool kvm_host_is_pvm(void);

/* True when the host itself runs under a hypervisor (nested KVM). */
bool kvm_host_is_nested(void);

/*
 * Why this host has no /dev/kvm and what to do, as one clause naming the
 * module for the CPU (kvm_amd, kvm_intel), a PVM guest kernel or a VM
 * without nested virtualisation. Reads /proc/cpuinfo and /sys/module.
 */
const char *kvm_missing_hint(void);

#endif /* VMM_KVM_H */
