#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vmm bench dirty-log` on a small guest: one JSON line per mode with the
# documented fields and lost_pages 0; the table; --plot refused with a clear
# message when gnuplot is not on PATH, and an SVG when it is; bad options
# refused with status 2.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1
kvm_require
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

args=(--memory 64M --duration 0.3 --interval 5 --rounds 1)
# Two rounds here: ours and raw each go first once.
timeout --foreground 240 "$vmm" bench dirty-log "${args[@]}" --rounds 2 --json \
    >"$tmp/out.json" 2>"$tmp/err" || bad "--json exited $?: $(cat "$tmp/err")"
num='[0-9]+(\.[0-9]+)?'
line="^\\{\"mode\":\"(none|bitmap|clear|ring)\",\"memory_bytes\":67108864,\"working_set_bytes\":[0-9]+,\"vcpus\":1,\"guest_pages_per_s\":[0-9]+,\"harvested_pages_per_s\":([0-9]+|null),\"harvest_ms\":(\\{\"p50\":$num,\"p99\":$num,\"max\":$num\\}|null),\"full_harvest_ms\":($num|null),\"enable_ms\":($num|null),\"lost_pages\":(0|null),\"raw\":(\\{\"guest_pages_per_s\":[0-9]+,\"full_harvest_ms\":$num\\},\"ratio\":\\{\"guest_pages_per_s\":$num,\"full_harvest_ms\":$num\\}|null,\"ratio\":null)\\}\$"
[ "$(wc -l <"$tmp/out.json")" = 4 ] || bad "want 4 JSON lines"
while IFS= read -r l; do
    grep -Eq -- "$line" <<<"$l" || bad "JSON line does not match: $l"
done <"$tmp/out.json"
for m in bitmap clear ring; do
    grep -q "^{\"mode\":\"$m\",.*\"lost_pages\":0," "$tmp/out.json" ||
        bad "$m: lost_pages is not 0"
done
grep -q '^{"mode":"none",.*"lost_pages":null,"raw":null,"ratio":null}$' "$tmp/out.json" ||
    bad "none: no null harvest fields"

timeout --foreground 240 "$vmm" bench dirty-log "${args[@]}" --mode ring \
    --vcpus 2 --pattern random --ring-entries 1024 >"$tmp/table" 2>&1 ||
    bad "table run exited $?"
grep -Eq '^ring +[0-9.]+[kM]? ' "$tmp/table" || bad "no ring row in the table"
grep -q '^goals:' "$tmp/table" || bad "no goals line"

# --plot without gnuplot: refused before anything runs.
if env PATH=/nonexistent "$vmm" bench dirty-log --mode none --plot "$tmp/x.svg" \
    >/dev/null 2>"$tmp/err"; then
    bad "--plot without gnuplot succeeded"
fi
grep -q -- '--plot needs gnuplot' "$tmp/err" || bad "unclear --plot error: $(cat "$tmp/err")"
if command -v gnuplot >/dev/null; then
    timeout --foreground 240 "$vmm" bench dirty-log "${args[@]}" --mode bitmap \
        --plot "$tmp/p.svg" >/dev/null 2>"$tmp/err" || bad "--plot exited $?"
    grep -q '<svg' "$tmp/p.svg" 2>/dev/null || bad "--plot wrote no SVG"
else
    echo "note: gnuplot not installed, --plot's SVG not checked"
fi

# A ring larger than KVM offers fails when the VM is made: one line, 1.
# vmm info gives the capability in bytes; an entry is 16 bytes.
bytes=$("$vmm" info --json | sed -n 's/.*"DIRTY_LOG_RING_ACQ_REL":\([0-9]*\).*/\1/p')
max=$((${bytes:-0} / 16))
if [ "$max" -gt 0 ]; then
    "$vmm" bench dirty-log "${args[@]}" --mode ring --ring-entries $((max * 2)) \
        >/dev/null 2>"$tmp/err"
    st=$?
    [ "$st" = 1 ] || bad "--ring-entries $((max * 2)) exited $st, want 1"
    [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "at most $max" "$tmp/err" ||
        bad "--ring-entries $((max * 2)): $(cat "$tmp/err")"
fi

for opt in "--mode foo" "--ring-entries 1000" "--ring-entries 128" \
    "--vcpus 0" "--duration x" "--working-set 1G" "--bogus"; do
    # shellcheck disable=SC2086
    "$vmm" bench dirty-log --memory 64M $opt >/dev/null 2>&1
    st=$?
    [ "$st" = 2 ] || bad "'$opt' exited $st, want 2"
done
[ "$fail" = 0 ] && echo ok
exit $fail
