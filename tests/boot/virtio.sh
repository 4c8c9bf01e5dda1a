#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot one of Debian's kernels with its root file system on a virtio-blk
# disk (an ext4 image made with mkfs.ext4 -d), a second disk read-only and
# virtio-rng.
#   virtio.sh VMM cloud|generic CPUS acpi|cmdline|console TIMEOUT
# The initramfs (the busybox one of scripts/get-test-kernel plus the
# kernel package's virtio and ext4 modules) loads the modules, mounts
# /dev/vda and switches to it; the disk's /sbin/init reads a file, writes a
# marker, checks the read-only disk refuses a write and has its serial,
# reads the hardware RNG, syncs and powers off. Afterwards the image must
# be e2fsck-clean with the marker in it, and the read-only image unchanged;
# --json must show every queue notification arriving through ioeventfd (no
# MMIO exit to vmm), interrupts through irqfd, and the disks' I/O engine.
# acpi: the devices are found through the DSDT (Debian's kernels have no
# virtio_mmio.device= support); cmdline: --virtio-cmdline, which such a
# kernel ignores, so only the refusal of a kernel that finds no disk is
# checked there. console: as acpi with --console virtio: the disk's init
# moves to /dev/hvc0, prints there (vmm shows it and --json counts it) and
# reads a line vmm got on its stdin.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kvm/lib.sh"
vmm=$1 flavor=$2 cpus=$3 mode=$4 timeout=$5
kvm_require
full_boot_skip_on_pvm
for tool in mkfs.ext4 e2fsck debugfs cpio gzip; do
    command -v "$tool" >/dev/null || {
        echo "FAIL: $tool not found (scripts/setup installs e2fsprogs, cpio)" >&2
        exit 1
    }
done
test_kernel_env "$flavor"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}

# The disk's tree: busybox from the initramfs, a file to read, an init.
mkdir -p "$t/root/bin" "$t/root/sbin" "$t/root/proc" "$t/root/sys" \
    "$t/root/dev" "$t/root/tmp" "$t/ird"
(cd "$t/ird" && gzip -dc "$INITRD" | cpio -id --quiet bin/busybox) ||
    { echo "FAIL: no bin/busybox in $INITRD" >&2; exit 1; }
cp "$t/ird/bin/busybox" "$t/root/bin/busybox"
ln -s busybox "$t/root/bin/sh"
echo "hello from the disk" >"$t/root/hello.txt"
cat >"$t/root/sbin/init" <<'EOF'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -o remount,rw /
/bin/busybox --install -s /bin
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
if grep -q 'console=hvc0' /proc/cmdline; then
    # virtio_console is a module here: hvc0 came after /dev/console.
    i=0
    while [ ! -c /dev/hvc0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    exec </dev/hvc0 >/dev/hvc0 2>&1
    echo "VIRTIO-CONSOLE: on"
    read -t 30 line
    echo "TYPED: $line"
fi
echo "DISK-READ: $(cat /hello.txt)"
echo "written by the guest" >/marker
# The read-only disk: a write must fail, its serial must show.
if dd if=/dev/zero of=/dev/vdb bs=512 count=1 oflag=direct 2>/dev/null; then
    echo "DISK-RO: written"
else
    echo "DISK-RO: refused"
fi
echo "DISK-SERIAL: $(cat /sys/block/vdb/serial 2>/dev/null)"
echo "RNG: $(cat /sys/devices/virtual/misc/hw_random/rng_current 2>/dev/null)" \
    "$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
echo "CPUS: $(grep -c ^processor /proc/cpuinfo)"
sync
echo "VMM-DISK-MARKER: done"
poweroff -f
EOF
chmod +x "$t/root/sbin/init"
mkfs.ext4 -q -F -L vmmroot -d "$t/root" "$t/root.img" 64M ||
    { echo "FAIL: mkfs.ext4 -d failed" >&2; exit 1; }
head -c 1048576 /dev/urandom >"$t/ro.img"
sum_ro=$(cksum <"$t/ro.img")
size_root=$(stat -c %s "$t/root.img")

# The initramfs: Debian's modules for the disk, then the disk as root.
mkdir -p "$t/extra/lib/modules"
cp "$MODULES"/*.ko "$MODULES/order" "$t/extra/lib/modules/"
cat >"$t/extra/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
    insmod /lib/modules/$m.ko || echo "VMM-DISK-FAIL: insmod $m"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] || { echo "VMM-DISK-FAIL: no /dev/vda"; poweroff -f; }
mount -t ext4 -o ro /dev/vda /newroot || { echo "VMM-DISK-FAIL: mount"; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
EOF
chmod +x "$t/extra/init"
(cd "$t/extra" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$t/extra.cpio.gz"
cat "$INITRD" "$t/extra.cpio.gz" >"$t/initrd"

# The root disk's I/O: io_uring, or system calls on the worker thread in
# console mode; the read-only disk takes the default (io_uring here).
root_aio=io_uring
[ "$mode" = console ] && root_aio=threads
args=(run --kernel "$BZIMAGE" --initrd "$t/initrd" --memory 256M
    --cpus "$cpus" --cmdline "console=ttyS0 panic=-1 root=/dev/vda"
    --disk "$t/root.img,aio=$root_aio" --disk "$t/ro.img,readonly,serial=vmm-ro" --rng
    --timeout "$timeout" --json "$t/r.json")
if [ "$mode" = cmdline ]; then
    args+=(--virtio-cmdline --expect 'VMM-DISK-FAIL: no /dev/vda')
fi
[ "$mode" = console ] && args+=(--console virtio)
if [ "$mode" = console ]; then
    # Typed once the guest listens on hvc0, as a user would.
    mkfifo "$t/in"
    "$vmm" "${args[@]}" >"$t/out" 2>"$t/err" <"$t/in" &
    pid=$!
    exec 3>"$t/in"
    for _ in $(seq 1 "$((timeout * 10))"); do
        grep -q 'VIRTIO-CONSOLE: on' "$t/out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "typed-by-the-host" >&3
    wait "$pid"
    st=$?
    exec 3>&-
else
    "$vmm" "${args[@]}" >"$t/out" 2>"$t/err" </dev/null
    st=$?
fi
[ "$st" = 0 ] || bad "vmm exited with $st"
if [ "$mode" = cmdline ]; then
    grep -q 'Command line: virtio_mmio.device=512@0xd0000000:5 virtio_mmio.device=512@0xd0000200:6 virtio_mmio.device=512@0xd0000400:7 ' "$t/out" ||
        bad "the kernel's command line has no virtio_mmio.device= for vda"
else
    grep -q 'DISK-READ: hello from the disk' "$t/out" || bad "the file was not read"
    grep -q 'DISK-RO: refused' "$t/out" || bad "the read-only disk took a write"
    grep -q 'DISK-SERIAL: vmm-ro' "$t/out" || bad "no serial vmm-ro on vdb"
    grep -q 'RNG: virtio_rng.0 64' "$t/out" || bad "no 64 bytes from virtio-rng"
    grep -q "CPUS: $cpus" "$t/out" || bad "not $cpus CPUs"
    grep -q 'VMM-DISK-MARKER: done' "$t/out" || bad "no marker on the console"
    grep -q 'VMM-DISK-FAIL' "$t/out" && bad "$(grep VMM-DISK-FAIL "$t/out")"
    # Notifications through ioeventfd (none reached vmm as an exit),
    # interrupts through irqfd, requests counted, none refused (the guest's
    # kernel refuses the write to the read-only disk itself: it offers
    # VIRTIO_BLK_F_RO; test_virtio_blk covers the device's own refusal).
    if [ "$mode" = console ]; then
        grep -q 'VIRTIO-CONSOLE: on' "$t/out" || bad "nothing through hvc0"
        grep -q 'TYPED: typed-by-the-host' "$t/out" || bad "the typed line did not reach hvc0"
        grep -q '"device":"console","ioeventfd":true,"irqfd":true,"kicks_by_exit":0,"queue_runs":[1-9][0-9]*,"requests":[1-9][0-9]*,"errors":0}' "$t/r.json" ||
            bad "no virtio-console counters in --json"
    fi
    v=$(grep -o '"virtio":\[.*\]' "$t/r.json")
    echo "$v" | grep -q '^"virtio":\[{"device":"blk","ioeventfd":true,"irqfd":true,"kicks_by_exit":0,"queue_runs":[1-9][0-9]*,"requests":[1-9][0-9]*,"errors":0,"aio":"'$root_aio'"},{"device":"blk","ioeventfd":true,"irqfd":true,"kicks_by_exit":0,"queue_runs":[1-9][0-9]*,"requests":[1-9][0-9]*,"errors":0,"aio":"io_uring"},{"device":"rng","ioeventfd":true,"irqfd":true,"kicks_by_exit":0,"queue_runs":[1-9][0-9]*,"requests":[1-9][0-9]*,"errors":0}' ||
        bad "virtio counters in --json: $v"
    e2fsck -fn "$t/root.img" >"$t/fsck" 2>&1 || bad "e2fsck -fn: $(tail -3 "$t/fsck")"
    marker=$(debugfs -R 'cat /marker' "$t/root.img" 2>/dev/null)
    [ "$marker" = "written by the guest" ] || bad "marker in the image: '$marker'"
fi
[ "$(cksum <"$t/ro.img")" = "$sum_ro" ] || bad "the read-only image changed"
[ "$(stat -c %s "$t/root.img")" = "$size_root" ] || bad "the image's size changed"
if [ "$fail" != 0 ]; then
    echo "--- console" >&2
    tail -"${VIRTIO_TEST_CONSOLE_LINES:-40}" "$t/out" >&2
    echo "--- stderr" >&2
    cat "$t/err" >&2
    exit 1
fi
echo "ok: virtio $flavor $cpus CPU(s) $mode"
