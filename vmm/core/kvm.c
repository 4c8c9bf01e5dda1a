/* SPDX-License-Identifier: MIT */
/*
 * KVM system handle and the ioctl wrapper.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm.h"

int kvm_do_ioctl(int fd, unsigned long cmd, const char *name, unsigned long arg,
                 bool log)
{
    int ret = ioctl(fd, cmd, arg);

    if (ret < 0) {
        ret = -errno;
        if (log) {
            fprintf(stderr, "vmm: %s: %s\n", name, strerror(-ret));
        }
    }
    return ret;
}

int kvm_check_extension(int fd, long cap)
{
    int ret = kvm_ioctl_val(fd, KVM_CHECK_EXTENSION, cap);

    return ret < 0 ? 0 : ret;
}

int kvm_sys_open(struct kvm_sys *kvm, const char *path, char *why,
                 size_t whylen)
{
    struct stat st;
    int fd, ret;

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        if (ret == -EACCES || ret == -EPERM) {
            snprintf(why, whylen,
                     "%s: permission denied (add yourself to the kvm group or "
                     "run as root)",
                     path);
        } else if (ret == -ENOENT) {
            snprintf(why, whylen, "%s: no such device: %s", path,
                     kvm_missing_hint());
        } else {
            snprintf(why, whylen, "%s: %s", path, strerror(-ret));
        }
        return ret;
    }
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
        snprintf(why, whylen, "%s: not a KVM character device", path);
        close(fd);
        return -ENODEV;
    }
    ret = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (ret != KVM_API_VERSION) {
        snprintf(why, whylen, "%s: not a KVM device (API version %d, need %d)",
                 path, ret, KVM_API_VERSION);
        close(fd);
        return -ENODEV;
    }
    kvm->fd = fd;
    kvm->api_version = ret;
    kvm->nr_memslots = kvm_check_extension(fd, KVM_CAP_NR_MEMSLOTS);
    kvm->max_vcpus = kvm_check_extension(fd, KVM_CAP_MAX_VCPUS);
    kvm->nr_vcpus = kvm_check_extension(fd, KVM_CAP_NR_VCPUS);
    if (kvm->nr_memslots <= 0) {
        kvm->nr_memslots = 32;
    }
    ret = kvm_ioctl_val(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (ret <= 0) {
        snprintf(why, whylen, "%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
        close(fd);
        return ret < 0 ? ret : -EIO;
    }
    kvm->vcpu_mmap_size = ret;
    return 0;
}

void kvm_sys_close(struct kvm_sys *kvm)
{
    if (kvm->fd >= 0) {
        close(kvm->fd);
    }
    kvm->fd = -1;
}

bool kvm_host_is_pvm(void)
{
    return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/* Whether the first CPU's flags line in /proc/cpuinfo lists (flag). */
static bool cpu_has_flag(const char *flag)
{
    char line[8192];
    bool has = false;
    size_t n = strlen(flag);
    FILE *f = fopen("/proc/cpuinfo", "re");

    if (!f) {
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) == 0) {
            for (char *p = strstr(line, flag); p; p = strstr(p + 1, flag)) {
                if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n')) {
                    has = true;
                    break;
                }
            }
            break;
        }
    }
    fclose(f);
    return has;
}

bool kvm_host_is_nested(void)
{
    return cpu_has_flag("hypervisor");
}

const char *kvm_missing_hint(void)
{
    bool loaded;

    if (kvm_host_is_pvm()) {
        return "this kernel runs as a PVM guest and its kvm_pvm module "
               "cannot host VMs here; use a machine with KVM, or run vmm "
               "inside a QEMU-emulated VM with scripts/nested-run";
    }
    if (cpu_has_flag("svm")) {
        loaded = access("/sys/module/kvm_amd", F_OK) == 0;
        return loaded ? "kvm_amd is loaded but made no /dev/kvm (SVM "
                        "disabled in the firmware? see dmesg)"
                      : "load KVM for this AMD CPU: modprobe kvm_amd";
    }
    if (cpu_has_flag("vmx")) {
        loaded = access("/sys/module/kvm_intel", F_OK) == 0;
        return loaded ? "kvm_intel is loaded but made no /dev/kvm (VT-x "
                        "disabled in the firmware? see dmesg)"
                      : "load KVM for this Intel CPU: modprobe kvm_intel";
    }
    if (kvm_host_is_nested()) {
        return "this is a VM whose CPU shows neither VMX nor SVM (nested "
               "virtualisation is off: turn it on for the VM, or run vmm "
               "inside a QEMU-emulated VM with scripts/nested-run)";
    }
    return "this CPU shows neither VMX nor SVM (virtualisation disabled in "
           "the firmware?)";
}
