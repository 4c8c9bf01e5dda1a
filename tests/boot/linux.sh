#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot one of Debian's kernels (fetched and cached by scripts/get-test-kernel)
# with the busybox initramfs.
#   linux.sh VMM cloud|generic bzimage|pvh CPUS version|full|qemu TIMEOUT
# bzimage boots the packaged bzImage through the 64-bit boot protocol, pvh
# the ELF vmlinux through its PVH entry note, both exactly as shipped (no
# extra kernel parameter beyond the console).
# - version: the kernel's banner ("Linux version") must appear; --expect
#   ends the VM there. Cheap everywhere, even where kernel mode is emulated.
#   The VMM's rss_kib must stay within 1 MiB of the hello guest's.
# - qemu: full, with QEMU's spellings (vmm -kernel ... -m 512 -smp N
#   -nographic -no-reboot).
# - full: the whole boot. The initramfs's /init prints its marker and powers
#   off; the VM must end by itself with status 0 through ACPI S5, with the
#   marker on the console, the kernel on kvm-clock, PCI config space found
#   (no "PCI: Fatal"), and all CPUS brought up. On a PVM host, where kernel
#   mode runs in the instruction emulator (~13 min), and user-mode syscall
#   is broken for guests that are not PVM-aware, it runs only with
#   VMM_LONG_TESTS=1 and says why when it is skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kvm/lib.sh"
vmm=$1 flavor=$2 path=$3 cpus=$4 mode=$5 timeout=$6
kvm_require
cmdline="console=ttyS0 panic=-1"
if { [ "$mode" = full ] || [ "$mode" = qemu ]; } && [ -e /sys/module/kvm_pvm ]; then
    if [ "${VMM_LONG_TESTS:-}" != 1 ]; then
        echo "SKIP: PVM host: a full Linux boot runs its kernel in the" \
            "instruction emulator (~13 min) and init's first syscall faults" \
            "there; set VMM_LONG_TESTS=1 to run it anyway" >&2
        exit 4
    fi
    cmdline="$cmdline quiet cryptomgr.notests mitigations=off init_on_alloc=0 pci=off audit=0 nowatchdog"
fi
test_kernel_env "$flavor"
case $path in
bzimage) kernel=$BZIMAGE ;;
pvh) kernel=$VMLINUX ;;
*) echo "linux.sh: path must be bzimage or pvh" >&2; exit 2 ;;
esac
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
args=(run --kernel "$kernel" --initrd "$INITRD" --memory 256M --cpus "$cpus"
    --cmdline "$cmdline" --timeout "$timeout" --json "$t/r.json")
[ "$mode" = version ] && args+=(--expect "Linux version")
if [ "$mode" = qemu ]; then
    # A QEMU command line with the program name replaced.
    args=(-kernel "$kernel" -initrd "$INITRD" -append "$cmdline" -m 512
        -smp "$cpus" -nographic -no-reboot --timeout "$timeout"
        --json "$t/r.json")
    mode=full
fi
"$vmm" "${args[@]}" >"$t/out" 2>"$t/err" </dev/null
st=$?
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}
[ "$st" = 0 ] || bad "vmm exited with $st"
if [ "$mode" = version ]; then
    grep -q '"result":"matched"' "$t/r.json" || bad "no \"Linux version\" line"
    # The kernel and initrd files are released once loaded: the VMM's own
    # resident set stays within 1 MiB of a test guest's.
    "$vmm" run --memory 256M --json "$t/hello.json" >/dev/null 2>&1 </dev/null
    kib=$(sed -n 's/.*"rss_kib":\([0-9]*\).*/\1/p' "$t/r.json")
    hello=$(sed -n 's/.*"rss_kib":\([0-9]*\).*/\1/p' "$t/hello.json")
    if [ -z "$kib" ] || [ -z "$hello" ] || [ "$kib" -gt $((hello + 1024)) ]; then
        bad "rss_kib ${kib:-?} with the kernel, ${hello:-?} with the hello guest: more than 1 MiB apart"
    fi
    # A command line beyond the bzImage header's cmdline_size is refused
    # before the VM starts, naming the limit.
    if [ "$path" = bzimage ]; then
        long=$(head -c 70000 /dev/zero | tr '\0' x)
        "$vmm" run --kernel "$kernel" --cmdline "$long" >/dev/null 2>"$t/long.err" </dev/null
        lst=$?
        [ "$lst" = 1 ] && [ "$(wc -l <"$t/long.err")" = 1 ] &&
            grep -q "cmdline of 70000 bytes beyond the kernel's limit of [0-9]" "$t/long.err" ||
            bad "a 70000-byte cmdline: status $lst, $(cat "$t/long.err")"
    fi
else
    grep -q '"reason":"guest power-off (ACPI S5)"' "$t/r.json" ||
        bad "the VM did not end through ACPI S5"
    grep -q "VMM-TEST-MARKER: init reached" "$t/out" || bad "no init marker"
    grep -q "clocksource: Switched to clocksource kvm-clock" "$t/out" ||
        bad "the kernel did not switch to kvm-clock"
    grep -q "PCI: Fatal" "$t/out" && bad "the kernel found no PCI config space"
    grep -q "smp: Brought up 1 node, $cpus CPU" "$t/out" ||
        bad "not all $cpus CPUs came up"
fi
if [ "$fail" != 0 ]; then
    if grep -q "RIP: 0033:entry_SYSCALL_64" "$t/out"; then
        echo "FAIL: init's first user-mode syscall faulted at" \
            "entry_SYSCALL_64 while still at CPL 3: the PVM host defect" \
            "(syscall from a non-PVM-aware guest does not change privilege)" >&2
    fi
    tail -n 30 "$t/out" >&2
    cat "$t/err" "$t/r.json" >&2
    exit 1
fi
echo "ok: $flavor $path, $cpus CPUs, $mode: $(grep -o -e '"elapsed_ms":[0-9.]*' -e '"rss_kib":[0-9]*' "$t/r.json" | tr '\n' ' ')${hello:+(hello guest: $hello KiB)}"
