#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile virtio driver: the multiboot test kernel with "virtio=hostile"
# breaks a virtio-blk disk's rings (a buffer outside RAM, a descriptor
# loop, a 4 GiB buffer, an available index far ahead, a queue outside
# RAM), then reads a sector far past the disk's end. The VMM must keep
# running and end normally with the guest's verdict (isa-debug-exit) (every case answered:
# DEVICE_NEEDS_RESET, the layout refused, IOERR), count the refused read
# in --json, and leave the image as it was.
#   virtio_hostile.sh VMM KERNEL
set -u
. "$(dirname "$0")/../kvm/lib.sh"
vmm=$1 kernel=$2
kvm_require
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
head -c 1048576 /dev/urandom >"$t/disk.img"
sum=$(cksum <"$t/disk.img")
timeout --foreground 300 "$vmm" run --kernel "$kernel" --memory 128M \
    --disk "$t/disk.img" --cmdline "virtio=hostile" --json "$t/r.json" \
    >"$t/out" 2>&1 </dev/null
st=$?
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}
# isa-debug-exit of 0 (pass): (0 << 1) | 1.
[ "$st" = 1 ] || bad "status $st, want 1 (the guest passed)"
grep -q 'virtio hostile: 6 of 6 cases handled' "$t/out" || bad "not every case was handled"
grep -q '"virtio":\[{"device":"blk","ioeventfd":true,"irqfd":true,"kicks_by_exit":0,"queue_runs":[0-9]*,"requests":1,"errors":1,"aio":"[a-z_]*"}\]' "$t/r.json" ||
    bad "--json does not count one refused request: $(grep -o '"virtio":.*' "$t/r.json")"
[ "$(cksum <"$t/disk.img")" = "$sum" ] || bad "the image changed"
if [ "$fail" != 0 ]; then
    cat "$t/out" >&2
    exit 1
fi
echo "ok: the hostile virtio driver was refused case by case"
