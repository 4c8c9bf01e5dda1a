#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Least privilege: once the guest runs, the VMM holds no capabilities
# (CapEff, CapPrm and CapBnd read from /proc are all zero), even when it
# was started as root with every capability.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 spin=$2
kvm_require
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$vmm" run --kernel "$spin" --memory 64M --timeout 20 >"$out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q "spin: running" "$out" && break
    sleep 0.05
done
if ! grep -q "spin: running" "$out"; then
    echo "FAIL: the guest did not start" >&2; cat "$out" >&2
    kill "$pid"; exit 1
fi
status=$(cat /proc/$pid/status)
kill "$pid"
wait "$pid" 2>/dev/null
fail=0
for f in CapEff CapPrm CapInh; do
    v=$(awk -v f="$f:" '$1 == f {print $2}' <<<"$status")
    if [ "$v" != "0000000000000000" ]; then
        echo "FAIL: $f of the running VMM is $v" >&2; fail=1
    fi
done
if [ "$(id -u)" = 0 ]; then
    v=$(awk '$1 == "CapBnd:" {print $2}' <<<"$status")
    [ "$v" = "0000000000000000" ] || { echo "FAIL: CapBnd is $v" >&2; fail=1; }
fi
[ "$fail" = 0 ] && echo "ok: no capabilities while the guest runs"
exit $fail
