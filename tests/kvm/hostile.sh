#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The hostile guest on every vCPU at once: the VMM stays up, ends with the
# guest's status (42), and counts the accesses it dropped.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 guest=$2 cpus=$3
kvm_require
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
timeout --foreground 120 "$vmm" run --kernel "$guest" --memory 64M \
    --cpus "$cpus" --json "$t/r.json" >"$t/out" 2>"$t/err"
st=$?
fail=0
[ "$st" = 42 ] || { echo "FAIL: status $st, want 42" >&2; fail=1; }
grep -q "hostile: done" "$t/out" || { echo "FAIL: guest did not finish" >&2; fail=1; }
grep -Eq '"mmio_unassigned":[1-9][0-9]*' "$t/r.json" ||
    { echo "FAIL: no dropped unassigned accesses counted" >&2; fail=1; }
grep -Eq '"mmio_invalid":[1-9][0-9]*' "$t/r.json" ||
    { echo "FAIL: no refused accesses counted" >&2; fail=1; }
if [ "$fail" != 0 ]; then
    cat "$t/r.json" "$t/err" >&2
    exit 1
fi
echo "ok: $(cat "$t/r.json")"
