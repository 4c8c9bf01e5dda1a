#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The multiboot test kernel: every PC device, SMP bring-up by INIT/SIPI,
# exit through isa-debug-exit ((0 << 1) | 1 = 1 on success).
#   mbkernel.sh VMM KERNEL CPUS [extra vmm args...]
set -u
. "$(dirname "$0")/../kvm/lib.sh"
vmm=$1 kernel=$2 cpus=$3
shift 3
kvm_require
out=$(timeout --foreground 300 "$vmm" run --kernel "$kernel" --cpus "$cpus" \
    --memory 128M --cmdline "hello world" "$@" </dev/null 2>&1)
st=$?
fail=0
[ "$st" = 1 ] || { echo "FAIL: status $st, want 1 (isa-debug-exit of 0)" >&2; fail=1; }
for re in "all checks passed" "$cpus of $cpus CPUs up" \
    'multiboot cmdline ".*mbkernel.elf hello world"' \
    'fw_cfg signature QEMU' "cpus $cpus max $cpus ram 128 MiB"; do
    grep -Eq -- "$re" <<<"$out" || { echo "FAIL: no /$re/" >&2; fail=1; }
done
if grep -q FAIL <<<"$out"; then
    fail=1
fi
[ "$fail" = 0 ] || { echo "$out" >&2; exit 1; }
echo "ok: $cpus CPUs"
