#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Console input: Ctrl-A Ctrl-A is passed on, Ctrl-A x ends the VM with 0
# (the guest never exits by itself).
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 guest=$2
kvm_require
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
(printf 'abc\001\001def\001x'; sleep 2) |
    timeout 15 "$vmm" run --kernel "$guest" --memory 64M --json "$t/r.json" >/dev/null
st=$?
[ "$st" = 0 ] || { echo "FAIL: status $st, want 0" >&2; exit 1; }
grep -q '"reason":"quit (Ctrl-A x)"' "$t/r.json" || { cat "$t/r.json" >&2; exit 1; }
echo ok
