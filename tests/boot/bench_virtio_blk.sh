#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vmm bench virtio-blk` runs end to end (scripts/bench-virtio-blk, a small
# span): one JSON object with the four figures for vmm, and for QEMU with
# the ratios when qemu-system-x86_64 is there; every figure positive. No
# figure is compared with any other (timing is the benchmark's business).
#   bench_virtio_blk.sh REPO BUILD
set -u
repo=$1 build=$2
. "$repo/tests/kvm/lib.sh"
kvm_require
if [ -e /sys/module/kvm_pvm ] && [ "${VMM_LONG_TESTS:-}" != 1 ]; then
    echo "SKIP: PVM host: a Linux guest runs in the instruction emulator" >&2
    exit 4
fi
out=$(VMM_BUILD=$build "$repo/scripts/bench-virtio-blk" --size 8 --seconds 1 --json 2>&1)
st=$?
fail=0
[ "$st" = 0 ] || { echo "FAIL: status $st" >&2; fail=1; }
num='[0-9]*\.[0-9]*'
fig="\"seq_write_mb_s\":$num,\"seq_read_mb_s\":$num,\"rand_read_qd1_iops\":$num,\"rand_read_qd32_iops\":$num"
echo "$out" | grep -q "^{\"benchmark\":\"virtio-blk\",\"span_mib\":8,\"seconds\":1,\"aio\":\"io_uring\",\"vmm\":{$fig}" ||
    { echo "FAIL: no vmm figures" >&2; fail=1; }
if command -v qemu-system-x86_64 >/dev/null; then
    echo "$out" | grep -q "\"qemu\":{$fig},\"ratio_vmm_to_qemu\":{$fig}}$" ||
        { echo "FAIL: no QEMU figures or ratios" >&2; fail=1; }
fi
echo "$out" | grep -q ':0\.0[,}]' && { echo "FAIL: a figure is 0" >&2; fail=1; }
[ "$fail" = 0 ] || { echo "$out" >&2; exit 1; }
echo "ok: $out"
