#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile 9P client: the multiboot test kernel with "virtio9p=hostile"
# talks to two virtio-9p devices itself, a read-only share and a writable
# one, both next to a directory the guest must never reach: messages that
# lie about their size or fields, names that climb ("..", "a/b", through a
# link out), changes to the read-only share, a device node, a write count
# past its message, and three chains the device must refuse. Under
# --sandbox (the writable share's calls are in its list). The VMM must
# keep running and end with the guest's verdict (every case got its exact
# answer), --json must count the Rlerror answers the guest saw, the
# read-only share and the outside directory must be as they were, and the
# writable share must hold only what the guest was allowed to make.
#   virtio9p_hostile.sh VMM KERNEL
set -u
. "$(dirname "$0")/../kvm/lib.sh"
vmm=$1 kernel=$2
kvm_require
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
t=$top/box
mkdir -p "$t/ro/dir" "$t/rw" "$t/outside"
echo secret >"$t/outside/secret"
echo hello >"$t/ro/hello"
ln -s ../outside "$t/ro/up"
ln -s ../outside "$t/rw/up"
# Every entry (path, type, mode, owner, size, change time, link target)
# and the files' bytes.
snap() {
    (cd "$t/$1" && find . -printf '%p %y %m %U %G %s %C@ %l\n' | LC_ALL=C sort &&
        find . -type f -exec cat {} +) | cksum
}
ro=$(snap ro) outside=$(snap outside)
timeout --foreground 300 "$vmm" run --kernel "$kernel" --memory 128M \
    --sandbox --share "$t/ro" --share "$t/rw,rw" \
    --cmdline "virtio9p=hostile" --json "$top/r.json" >"$top/out" 2>&1 </dev/null
st=$?
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}
# isa-debug-exit of 0 (pass): (0 << 1) | 1.
[ "$st" = 1 ] || bad "status $st, want 1 (the guest passed)"
line=$(grep -o '9p hostile: [0-9]* of [0-9]* cases handled, [0-9]* Rlerror' "$top/out")
read -r ok total errs <<<"$(echo "$line" | tr -cs '0-9' ' ' | sed 's/^ *9 //')"
[ -n "$line" ] && [ "$ok" = "$total" ] && [ "$total" -ge 40 ] ||
    bad "not every case was handled: '$line'"
json_errs=$(grep -o '"device":"9p"[^}]*' "$top/r.json" | grep -o '"errors":[0-9]*' |
    awk -F: '{ s += $2 } END { if (NR) print s }')
[ "${json_errs:-x}" = "${errs:-y}" ] ||
    bad "--json counts ${json_errs:-none} Rlerror answers, the guest saw ${errs:-none}"
[ "$(snap ro)" = "$ro" ] || bad "the read-only share changed"
[ "$(snap outside)" = "$outside" ] || bad "the directory beside the shares changed"
[ "$(ls -A "$t")" = "$(printf 'outside\nro\nrw')" ] || bad "something was made beside the shares: $(ls -A "$t")"
got=$(cd "$t/rw" && find . -mindepth 1 -printf '%p %y %l\n' | LC_ALL=C sort | tr '\n' ';')
[ "$got" = "./ln l /;./up l ../outside;" ] || bad "the writable share holds: $got"
if [ "$fail" != 0 ]; then
    cat "$top/out" >&2
    exit 1
fi
echo "ok: $line; the shares and what lies beside them as they should be"
