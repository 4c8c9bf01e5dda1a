#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot Debian's cloud kernel (fetched and cached by scripts/get-test-kernel)
# and wait for a console line.
#   linux.sh VMM bzimage|pvh REGEX TIMEOUT [long]
# bzimage boots the packaged bzImage through the 64-bit boot protocol, pvh
# the ELF vmlinux through its PVH entry note, both with the busybox
# initramfs. With "long", the test is the full boot to the initramfs marker:
# it runs by default on hardware KVM; on a PVM host (where kernel mode is
# emulated, ~13 minutes, see HOST.md) only when VMM_LONG_TESTS=1, and it
# says which way it ran.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kvm/lib.sh"
vmm=$1 path=$2 regex=$3 timeout=$4 long=${5:-}
kvm_require
if [ "$long" = long ]; then
    if [ -e /sys/module/kvm_pvm ]; then
        if [ "${VMM_LONG_TESTS:-}" != 1 ]; then
            echo "SKIP: PVM host: a full Linux boot runs its kernel in the" \
                "instruction emulator (~13 min, HOST.md); set VMM_LONG_TESTS=1" \
                "to run it anyway" >&2
            exit 4
        fi
        echo "long test on a PVM host (VMM_LONG_TESTS=1): CPUID policy safe," \
            "INT3/FWAIT stepped over by the VMM" >&2
    else
        echo "long test on $(grep -qw hypervisor /proc/cpuinfo && echo nested || echo bare-metal) KVM" >&2
    fi
fi
env=$("$here/../../scripts/get-test-kernel") || {
    echo "FAIL: scripts/get-test-kernel failed" >&2
    exit 1
}
eval "$env"
case $path in
bzimage) kernel=$BZIMAGE ;;
pvh) kernel=$VMLINUX ;;
*) echo "linux.sh: path must be bzimage or pvh" >&2; exit 2 ;;
esac
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cmdline="earlyprintk=serial console=ttyS0 panic=-1"
[ "$long" = long ] && cmdline="$cmdline quiet cryptomgr.notests mitigations=off init_on_alloc=0 pci=off audit=0 nowatchdog"
"$vmm" run --kernel "$kernel" --initrd "$INITRD" --memory 256M \
    --cmdline "$cmdline" --expect "$regex" --timeout "$timeout" \
    --json "$t/r.json" >"$t/out" 2>"$t/err" </dev/null
st=$?
if [ "$st" != 0 ] || ! grep -q '"result":"matched"' "$t/r.json"; then
    if grep -q "RIP: 0033:entry_SYSCALL_64" "$t/out"; then
        echo "FAIL: the kernel reached init, whose first user-mode syscall" \
            "faulted at entry_SYSCALL_64 while still at CPL 3: the PVM host" \
            "defect HOST.md describes (syscall from a non-PVM-aware guest" \
            "does not change privilege); the VMM cannot fix it without" \
            "patching guest code" >&2
    fi
    echo "FAIL: no line matching /$regex/ (status $st)" >&2
    tail -n 20 "$t/out" >&2
    cat "$t/err" "$t/r.json" >&2
    exit 1
fi
echo "ok: $path: $(grep -o '"match_ms":[0-9.]*' "$t/r.json")"
