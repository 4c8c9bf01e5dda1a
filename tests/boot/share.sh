#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot one of Debian's kernels with a host directory shared over virtio-9p
# (--share DIR,tag=host0), under --sandbox.
#   share.sh VMM generic CPUS TIMEOUT   (the cloud kernel has no 9p)
# The initramfs (the busybox one of scripts/get-test-kernel plus the
# kernel package's virtio and 9p modules) mounts the share (mount -t 9p
# -o trans=virtio host0), reads a file and a directory, follows a link
# inside the share, tries to create, write and remove files (each must
# fail: the share is read-only) and powers off. The VM must end through
# ACPI S5 with every marker on the console, the share must be unchanged
# (no file made, none changed or removed) and --json must count the 9P
# requests with no request refused by the server beyond those writes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kvm/lib.sh"
vmm=$1 flavor=$2 cpus=$3 timeout=$4
kvm_require
full_boot_skip_on_pvm
test_kernel_env "$flavor"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}

# The share.
mkdir -p "$t/share/sub" "$t/outside"
echo "hello from the host share" >"$t/share/hello.txt"
echo "inner" >"$t/share/sub/inner.txt"
ln -s sub/inner.txt "$t/share/link"
echo "outside" >"$t/outside/secret"
before=$(cd "$t/share" && find . -printf '%p %s %m %y\n' | LC_ALL=C sort | cksum)

mkdir -p "$t/extra/lib/modules"
cp "$MODULES"/*.ko "$MODULES/order" "$t/extra/lib/modules/"
cat >"$t/extra/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
    insmod /lib/modules/$m.ko || echo "SHARE-FAIL: insmod $m"
done
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L host0 /mnt 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 50 ] || { echo "SHARE-FAIL: mount"; poweroff -f; }
    sleep 0.1
done
echo "SHARE-READ: $(cat /mnt/hello.txt)"
echo "SHARE-LS: $(ls /mnt/sub)"
echo "SHARE-LINK: $(cat /mnt/link)"
touch /mnt/new 2>/dev/null && echo "SHARE-RO: created" || echo "SHARE-RO: create refused"
{ echo x >>/mnt/hello.txt; } 2>/dev/null && echo "SHARE-RO: written" || echo "SHARE-RO: write refused"
rm /mnt/sub/inner.txt 2>/dev/null && echo "SHARE-RO: removed" || echo "SHARE-RO: remove refused"
mkdir /mnt/d 2>/dev/null && echo "SHARE-RO: mkdir" || echo "SHARE-RO: mkdir refused"
echo "SHARE-MARKER: done"
poweroff -f
EOF
chmod +x "$t/extra/init"
(cd "$t/extra" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$t/extra.cpio.gz"
cat "$INITRD" "$t/extra.cpio.gz" >"$t/initrd"

"$vmm" run --kernel "$BZIMAGE" --initrd "$t/initrd" --memory 256M \
    --cpus "$cpus" --cmdline "console=ttyS0 panic=-1" --sandbox \
    --share "$t/share,tag=host0" --timeout "$timeout" --json "$t/r.json" \
    >"$t/out" 2>"$t/err" </dev/null
st=$?
[ "$st" = 0 ] || bad "vmm exited with $st"
grep -q '"reason":"guest power-off (ACPI S5)"' "$t/r.json" ||
    bad "the VM did not end through ACPI S5"
grep -q 'SHARE-READ: hello from the host share' "$t/out" || bad "the file was not read"
grep -q 'SHARE-LS: inner.txt' "$t/out" || bad "the directory was not listed"
grep -q 'SHARE-LINK: inner' "$t/out" || bad "the link inside the share was not followed"
for what in create write remove mkdir; do
    grep -q "SHARE-RO: $what refused" "$t/out" || bad "the guest could $what"
done
grep -q 'SHARE-MARKER: done' "$t/out" || bad "no marker on the console"
grep -q 'SHARE-FAIL' "$t/out" && bad "$(grep SHARE-FAIL "$t/out")"
after=$(cd "$t/share" && find . -printf '%p %s %m %y\n' | LC_ALL=C sort | cksum)
[ "$before" = "$after" ] || bad "the share changed"
grep -q '"device":"9p","ioeventfd":true,"irqfd":true,"kicks_by_exit":0,"queue_runs":[1-9][0-9]*,"requests":[1-9][0-9]*,"errors":[0-9]*}' "$t/r.json" ||
    bad "no 9p counters in --json: $(grep -o '"virtio":.*' "$t/r.json")"
if [ "$fail" != 0 ]; then
    echo "--- console" >&2
    tail -40 "$t/out" >&2
    echo "--- stderr" >&2
    cat "$t/err" >&2
    exit 1
fi
echo "ok: share $flavor $cpus CPU(s): $(grep -o '"device":"9p"[^}]*' "$t/r.json")"
