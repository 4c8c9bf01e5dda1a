#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vmm run --json FILE` writes the documented fields with plausible values
# (the hello guest makes a handful of MMIO exits and no port I/O, and has
# no virtio devices), and
# `vmm info` / `vmm info --json` describe the host's KVM.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1
kvm_require
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {
    grep -Eq -- "$2" "$1" || { echo "FAIL: $1 lacks /$2/" >&2; cat "$1" >&2; fail=1; }
}
"$vmm" run --json "$tmp/run.json" >/dev/null || { echo "FAIL: run exited $?" >&2; fail=1; }
check "$tmp/run.json" '^\{"result":"exited","exit_code":0,"reason":"guest exit","matched_line":null,'
check "$tmp/run.json" '"phases":\{"first_kvm_run_ms":[0-9.]+,"first_console_byte_ms":[0-9.]+,"match_ms":null\}'
check "$tmp/run.json" '"start_to_first_run_ms":[0-9]+\.[0-9]+'
check "$tmp/run.json" '"rss_kib":[1-9][0-9]*'
check "$tmp/run.json" '"exits":\{"mmio":[1-9][0-9]*,"io":0,"mmio_unassigned":0,"mmio_invalid":0,"mmio_readonly":0,"io_unassigned":0,"io_invalid":0\},"virtio":\[\]\}$'
"$vmm" run --kernel "$(dirname "$vmm")/../guest/fault.elf" --json "$tmp/fault.json" \
    >/dev/null 2>&1
check "$tmp/fault.json" '^\{"result":"exited","exit_code":112,"reason":"triple fault"'
# Smoke mode: a match ends the VM with 0 and reports the line.
"$vmm" run --expect 'ram: [0-9]+ MiB' --json "$tmp/match.json" >/dev/null
st=$?
[ "$st" = 0 ] || { echo "FAIL: --expect match exited $st" >&2; fail=1; }
check "$tmp/match.json" '^\{"result":"matched","exit_code":0,.*"matched_line":"ram: 256 MiB \(0x10000000 bytes\), vcpu 0, abi 1"'
check "$tmp/match.json" '"match_ms":[0-9.]+\}'
# A pattern that never shows: the guest's own status, result "exited".
"$vmm" run --expect 'never printed' --json "$tmp/nomatch.json" >/dev/null
check "$tmp/nomatch.json" '^\{"result":"exited","exit_code":0,'
# QEMU's spellings, without the run command: a plain -m is MiB.
"$vmm" -m 64 -smp cpus=1 -nographic -no-reboot -display none -enable-kvm \
    -serial stdio --expect 'ram: [0-9]+ MiB' --json "$tmp/qemu.json" >/dev/null
st=$?
[ "$st" = 0 ] || { echo "FAIL: QEMU-spelled run exited $st" >&2; fail=1; }
check "$tmp/qemu.json" '"matched_line":"ram: 64 MiB \(0x4000000 bytes\)'
# A bad regex is refused up front.
if "$vmm" run --expect '(' >/dev/null 2>"$tmp/err"; then
    echo "FAIL: a bad --expect regex was accepted" >&2; fail=1
fi
check "$tmp/err" "^vmm: --expect '\(': "
"$vmm" info >"$tmp/info.txt" || fail=1
check "$tmp/info.txt" '^KVM API version 12$'
check "$tmp/info.txt" 'NR_MEMSLOTS +[1-9]'
check "$tmp/info.txt" '^host: (PVM|nested KVM|bare metal)'
"$vmm" info --json >"$tmp/info.json" || fail=1
check "$tmp/info.json" '^\{"api_version":12,"host":"(pvm|nested|bare-metal)","capabilities":\{"NR_MEMSLOTS":[1-9]'
check "$tmp/info.json" '"hugepage_pools":\['
[ "$fail" = 0 ] && echo "ok"
exit $fail
