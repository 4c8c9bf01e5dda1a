#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The slot table before and after live map changes (guest "slots"
# disables, moves and re-enables the toggle region): every slot not
# backing the toggle region keeps its number, base and flags, and the
# toggle region has a slot at its new address.
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 guest=$2
kvm_require
out=$(timeout --foreground 60 "$vmm" run --kernel "$guest" --dump-slots) || {
    echo "FAIL: vmm exited with $?" >&2; echo "$out" >&2; exit 1; }
before=$(echo "$out" | sed -n '/^KVM memslots/,/^$/p' | grep '  slot ' | grep -v testdev-toggle)
after=$(echo "$out" | sed -n '/^at exit: KVM memslots/,$p' | grep '  slot ')
fail=0
[ -n "$before" ] || { echo "FAIL: no slot table before" >&2; fail=1; }
while IFS= read -r line; do
    grep -qxF -- "$line" <<<"$after" || { echo "FAIL: slot changed: $line" >&2; fail=1; }
done <<<"$before"
grep -Eq 'slot [0-9]+: 00000000fe050000-00000000fe050fff rw +testdev-toggle' <<<"$after" ||
    { echo "FAIL: no slot for the moved toggle region" >&2; fail=1; }
if grep -q 'fe040000-' <<<"$after"; then
    echo "FAIL: a slot still maps the old toggle address" >&2; fail=1
fi
[ "$fail" = 0 ] || { echo "$out" >&2; exit 1; }
echo "ok: $(wc -l <<<"$before") untouched slots kept their numbers"
