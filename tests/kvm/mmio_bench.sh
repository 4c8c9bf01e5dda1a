#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vmm bench mmio`: the JSON fields, the ratio of the two rates, the exits
# each path was timed on (blocks of 256 taking turns, the first four and
# the cut last one not counted: exact for the bench guest's exits), and too
# few iterations refused in one line.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1
kvm_require
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

timeout --foreground 240 "$vmm" bench mmio --iterations 3000 --json \
    >"$tmp/out.json" 2>"$tmp/err" || bad "--json exited $?: $(cat "$tmp/err")"
num='[0-9]+(\.[0-9]+)?'
grep -Eqx "\\{\"iterations\":3000,\"exits_per_s\":[1-9][0-9]*,\"raw_exits_per_s\":[1-9][0-9]*,\"ratio\":$num,\"start_to_first_run_ms\":$num,\"rss_kib\":[1-9][0-9]*\\}" \
    "$tmp/out.json" || bad "JSON does not match: $(cat "$tmp/out.json")"
# The ratio is the two rates' (to the rounding of the printed rates).
sed -E 's/.*"exits_per_s":([0-9]+),"raw_exits_per_s":([0-9]+),"ratio":([0-9.]+),.*/\1 \2 \3/' \
    "$tmp/out.json" | awk '{ d = $1 / $2 - $3; if (d < -0.002 || d > 0.002) exit 1 }' ||
    bad "ratio is not exits_per_s / raw_exits_per_s"

# 3002 exits per VM (ARG read, 3000 NOP writes, EXIT): blocks 0-11, block
# 11 cut short; blocks 4-10 counted, API raw raw API API raw raw: 3 and 4
# blocks of 256 per VM, three VMs.
timeout --foreground 240 "$vmm" bench mmio --iterations 3000 >"$tmp/table" \
    2>&1 || bad "table run exited $?: $(cat "$tmp/table")"
grep -qx 'iterations            3000 per VM, 3 VMs (2304 and 3072 exits timed)' \
    "$tmp/table" || bad "not the blocks expected: $(head -1 "$tmp/table")"
grep -Eq '^ratio +[0-9.]+ \(goal >= 0.95\)$' "$tmp/table" || bad "no ratio line"

# 1002 exits: blocks 0-3, all warm-up.
"$vmm" bench mmio --iterations 1000 >"$tmp/few" 2>&1
rc=$?
[ "$rc" = 1 ] || bad "--iterations 1000: exit $rc, want 1"
# (A sanitizer build's runtime may add its own "==PID==" notes.)
[ "$(grep -cv '^==[0-9]*==' "$tmp/few")" = 1 ] &&
    grep -q 'too few to time both paths' "$tmp/few" ||
    bad "--iterations 1000: $(cat "$tmp/few")"
exit $fail
