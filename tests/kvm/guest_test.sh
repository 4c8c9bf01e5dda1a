#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run one guest and check how it ended:
#   guest_test.sh VMM STATUS [--out REGEX]... [--err REGEX]... [--pool N]
#                 [--hugetlbfs] [--fault-regs] -- vmm-run-args...
# STATUS is the expected exit status; --out/--err are extended regexes that
# must match stdout/stderr; --pool N reserves N free 2 MiB huge pages and
# --hugetlbfs mounts a hugetlbfs for --mem-path, both undone on exit.
# --fault-regs checks the register report of the fault guest's triple
# fault as far as the host's KVM can give it: on kvm_amd the vCPU is reset
# before the VMM sees the exit, so the report must say the registers are
# not available; elsewhere (Intel, PVM) it must show the ud2 at CPL 3.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 want=$2
shift 2
outs=() errs=() pool=0 huge=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
    --out) outs+=("$2"); shift 2 ;;
    --err) errs+=("$2"); shift 2 ;;
    --pool) pool=$2; shift 2 ;;
    --hugetlbfs) huge=1; shift ;;
    --fault-regs)
        if [ -d /sys/module/kvm_amd ]; then
            errs+=("registers not available on this host: KVM reset the vCPU")
        else
            errs+=("cs 0033 \\(cpl 3\\)" "code at rip \\(gpa 0+20[0-9a-f]+\\): 0f 0b")
        fi
        shift
        ;;
    *) echo "guest_test.sh: bad argument $1" >&2; exit 2 ;;
    esac
done
shift
kvm_require
trap cleanup_host EXIT
[ "$pool" -gt 0 ] && pool_reserve "$pool"
extra=()
if [ "$huge" = 1 ]; then
    hugetlbfs_mount
    extra=(--mem-path "$HUGE_MNT")
fi
tmp=$(mktemp -d)
trap 'cleanup_host; rm -rf "$tmp"' EXIT
timeout --foreground 120 "$vmm" run "$@" "${extra[@]}" >"$tmp/out" 2>"$tmp/err"
got=$?
fail=0
if [ "$got" != "$want" ]; then
    echo "FAIL: exit status $got, want $want" >&2
    fail=1
fi
for re in "${outs[@]}"; do
    grep -Eq -- "$re" "$tmp/out" || { echo "FAIL: stdout lacks /$re/" >&2; fail=1; }
done
for re in "${errs[@]}"; do
    grep -Eq -- "$re" "$tmp/err" || { echo "FAIL: stderr lacks /$re/" >&2; fail=1; }
done
if [ "$fail" != 0 ]; then
    echo "--- vmm run $* ${extra[*]}" >&2
    echo "--- stdout:" >&2; cat "$tmp/out" >&2
    echo "--- stderr:" >&2; cat "$tmp/err" >&2
    exit 1
fi
echo "ok: status $got"
