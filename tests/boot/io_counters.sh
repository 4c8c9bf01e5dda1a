#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Port I/O the VMM drops is counted in the --json report: the multiboot
# test kernel with "ioprobe" reads an unassigned port three times and makes
# one misaligned dword read inside the PCI host's ports.
#   io_counters.sh VMM KERNEL
set -u
. "$(dirname "$0")/../kvm/lib.sh"
vmm=$1 kernel=$2
kvm_require
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
count() {
    sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"
}
timeout --foreground 120 "$vmm" run --kernel "$kernel" --memory 128M \
    --json "$t/plain.json" >"$t/plain.out" 2>&1 </dev/null
timeout --foreground 120 "$vmm" run --kernel "$kernel" --memory 128M \
    --cmdline ioprobe --json "$t/probe.json" >"$t/out" 2>&1 </dev/null
st=$?
fail=0
[ "$st" = 1 ] || { echo "FAIL: status $st, want 1 (all checks passed)" >&2; fail=1; }
grep -q "io probe done" "$t/out" || { echo "FAIL: the probe did not run" >&2; fail=1; }
# The probe adds exactly its own accesses to what the plain run counted.
u0=$(count "$t/plain.json" io_unassigned) i0=$(count "$t/plain.json" io_invalid)
u1=$(count "$t/probe.json" io_unassigned) i1=$(count "$t/probe.json" io_invalid)
[ -n "$u0" ] && [ -n "$u1" ] && [ $((u1 - u0)) = 3 ] ||
    { echo "FAIL: io_unassigned $u0 -> $u1, want 3 more" >&2; fail=1; }
[ -n "$i0" ] && [ -n "$i1" ] && [ $((i1 - i0)) = 1 ] ||
    { echo "FAIL: io_invalid $i0 -> $i1, want 1 more" >&2; fail=1; }
if [ "$fail" != 0 ]; then
    cat "$t/out" "$t/plain.json" "$t/probe.json" >&2
    exit 1
fi
echo "ok: io_unassigned $u0 -> $u1, io_invalid $i0 -> $i1"
