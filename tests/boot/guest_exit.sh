#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Guest-initiated power-off and reset end the VM cleanly with status 0:
# the multiboot test kernel, after its checks, powers off through ACPI S5
# (PM1a_CNT), or resets through the i8042 (0xFE to port 0x64) or 0xcf9.
#   guest_exit.sh VMM KERNEL acpi|kbd|cf9 REASON-REGEX
set -u
. "$(dirname "$0")/../kvm/lib.sh"
vmm=$1 kernel=$2 how=$3 reason=$4
kvm_require
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
timeout --foreground 120 "$vmm" run --kernel "$kernel" --memory 128M \
    --cmdline "exit=$how" --json "$t/r.json" >"$t/out" 2>&1 </dev/null
st=$?
if [ "$st" != 0 ] || ! grep -Eq "\"reason\":\"$reason\"" "$t/r.json"; then
    echo "FAIL: exit=$how: status $st" >&2
    cat "$t/out" "$t/r.json" >&2
    exit 1
fi
echo "ok: exit=$how ended the VM with 0 ($reason)"
