#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared by the kvm-labelled tests: the /dev/kvm check (exit 4 = skip, as
# kselftest's KSFT_SKIP; under CI=true a missing /dev/kvm is a failure) and
# huge page pool setup that is always restored.

kvm_require() {
    if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        return 0
    fi
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: /dev/kvm is missing or not accessible, and CI=true" >&2
        exit 1
    fi
    echo "SKIP: no usable /dev/kvm" >&2
    exit 4
}

# pool_reserve PAGES: make PAGES more 2 MiB pages free than now; restored
# by pool_restore (call it from an EXIT trap).
POOL_KNOB=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
POOL_SAVED=
pool_reserve() {
    local want=$1 free
    if [ ! -w "$POOL_KNOB" ]; then
        if [ "${CI:-}" = "true" ]; then
            echo "FAIL: $POOL_KNOB not writable under CI" >&2
            exit 1
        fi
        echo "SKIP: $POOL_KNOB not writable (run as root)" >&2
        exit 4
    fi
    POOL_SAVED=$(cat "$POOL_KNOB")
    free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
    echo $((POOL_SAVED + want - (free < want ? free : want))) >"$POOL_KNOB"
    free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
    if [ "$free" -lt "$want" ]; then
        echo "FAIL: could only get $free free 2 MiB pages, need $want" >&2
        exit 1
    fi
}

HUGE_MNT=
hugetlbfs_mount() {
    HUGE_MNT=$(mktemp -d -t vmm-hugetlbfs.XXXXXX)
    mount -t hugetlbfs -o pagesize=2M none "$HUGE_MNT"
}

cleanup_host() {
    if [ -n "$HUGE_MNT" ]; then
        umount "$HUGE_MNT" 2>/dev/null
        rmdir "$HUGE_MNT" 2>/dev/null
    fi
    if [ -n "$POOL_SAVED" ]; then
        echo "$POOL_SAVED" >"$POOL_KNOB"
    fi
}

# full_boot_skip_on_pvm: a full Linux boot on a PVM host runs the guest
# kernel in the instruction emulator; skip it there unless asked.
full_boot_skip_on_pvm() {
    if [ -e /sys/module/kvm_pvm ] && [ "${VMM_LONG_TESTS:-}" != 1 ]; then
        echo "SKIP: PVM host: a full Linux boot runs its kernel in the" \
            "instruction emulator; set VMM_LONG_TESTS=1 to run it anyway" >&2
        exit 4
    fi
}

# test_kernel_env FLAVOR: BZIMAGE, VMLINUX, INITRD and MODULES of Debian's
# FLAVOR kernel (scripts/get-test-kernel), or exit 1.
test_kernel_env() {
    local env
    env=$("$(dirname "${BASH_SOURCE[0]}")/../../scripts/get-test-kernel" \
        --flavor "$1") || {
        echo "FAIL: scripts/get-test-kernel --flavor $1 failed" >&2
        exit 1
    }
    eval "$env"
}
