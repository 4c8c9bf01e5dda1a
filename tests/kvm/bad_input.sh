#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input, table-driven: each case must end within 2 s with a non-zero
# status that is not a signal (no crash, no core), and exactly one line on
# stderr that names the input and the reason.
#   bad_input.sh VMM GUEST_DIR
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 g=$2
kvm_require
t=$(mktemp -d)
trap 'cleanup_host; rm -rf "$t"' EXIT
: >"$t/empty"
head -c 100 "$g/hello.elf" >"$t/truncated.elf"
head -c 8192 /dev/urandom >"$t/garbage"
mkdir "$t/dir"
: >"$t/not-kvm"
# An ELF image that is neither a test guest nor a kernel.
cp "$(type -P true)" "$t/plain.elf"

pass=0 fail=0
# expect: an extended regex the single stderr line must match.
case_() {
    local name=$1 expect=$2
    shift 2
    local st lines
    timeout -s KILL 2 "$vmm" "$@" >/dev/null 2>"$t/err" </dev/null
    st=$?
    lines=$(wc -l <"$t/err")
    if [ "$st" = 0 ] || [ "$st" -ge 124 ] || [ "$lines" != 1 ] ||
        ! grep -Eq -- "$expect" "$t/err"; then
        echo "FAIL $name: status $st, $lines stderr lines, want /$expect/:" >&2
        sed 's/^/    /' "$t/err" >&2
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

case_ "kernel missing" "nonexistent\.elf: No such file" run --kernel "$t/nonexistent.elf"
case_ "kernel empty" "empty: empty file" run --kernel "$t/empty"
case_ "kernel truncated" "truncated\.elf: .*(truncat|short|beyond|small|past the end)" run --kernel "$t/truncated.elf"
case_ "kernel garbage" "garbage: .*(not|unknown|format)" run --kernel "$t/garbage"
case_ "kernel is a directory" "dir: not a regular file" run --kernel "$t/dir"
case_ "kernel plain ELF" "plain\.elf: " run --kernel "$t/plain.elf"
case_ "kernel value missing" "^vmm: --kernel: missing value" run --kernel
case_ "memory 0" "^vmm: --memory 0: " run --memory 0
case_ "memory unaligned" "^vmm: --memory 4097 bytes: not a multiple" run --memory 4097B
case_ "memory too small" "^vmm: --memory: .*too small" run --memory 1M
case_ "memory not a size" "^vmm: --memory abc: not a size" run --memory abc
case_ "memory absurd" "^vmm: --memory 99999999999G: too large" run --memory 99999999999G
case_ "memory beyond host" "--memory .*(host|RAM)" run --memory 4T
case_ "memory via -m" "^vmm: -m x: not a size" run -m x
case_ "cpus 0" "^vmm: --cpus 0: " run --cpus 0
case_ "cpus not a number" "^vmm: --cpus two: " run --cpus two
case_ "cpus beyond host" "--cpus 4096: this host's KVM allows at most" run --cpus 4096
case_ "smp 0" "^vmm: -smp 0: " run -smp 0
case_ "backend unknown" "^vmm: --mem-backend tmpfs: unknown backend" run --mem-backend tmpfs
case_ "hugepage size" "^vmm: --hugepage-size 3M: must be 2M or 1G" run --mem-backend memfd --hugepage-size 3M
case_ "hugepage size with anon" "^vmm: --hugepage-size: needs --mem-backend" run --hugepage-size 2M
case_ "mem-path missing" "/nonexistent/hugepages.*No such file" run --mem-backend hugetlbfs --mem-path /nonexistent/hugepages
case_ "mem-path not hugetlbfs" "not a hugetlbfs mount" run --mem-backend hugetlbfs --mem-path "$t/dir"
case_ "mem-path without hugetlbfs" "^vmm: --mem-path: needs --mem-backend hugetlbfs" run --mem-path /tmp
case_ "mem-share with memfd" "^vmm: --mem-share: only for --mem-backend anon" run --mem-backend memfd --mem-share
case_ "thp with hugetlbfs" "^vmm: --mem-thp: not for --mem-backend hugetlbfs" run --mem-backend hugetlbfs --mem-thp
case_ "kvm device missing" "/nonexistent/kvm: no such device: .*(kvm_amd|kvm_intel|PVM guest|VMX nor SVM)" run --kvm-device /nonexistent/kvm
case_ "kvm device not a device" "not-kvm: not a KVM character device" run --kvm-device "$t/not-kvm"
case_ "kvm device not KVM" "/dev/null: not a KVM device" run --kvm-device /dev/null
case_ "unknown option" "^vmm: --frobnicate: unknown option" run --frobnicate
case_ "unknown command" "^vmm: unknown command 'fly'" fly
case_ "bad serial" "^vmm: --serial tty: expected stdio, file:PATH or none" run --serial tty
case_ "serial file unwritable" "--serial file:/nonexistent/dir/out: No such file" run --serial file:/nonexistent/dir/out
case_ "bad regex" "^vmm: --expect '\(': " run --expect '('
case_ "timeout 0" "^vmm: --timeout 0: " run --timeout 0
case_ "cpuid policy" "^vmm: --cpuid fast: expected host or safe" run --cpuid fast
case_ "json unwritable" "--json /nonexistent/dir/r\.json: No such file" run --json /nonexistent/dir/r.json
case_ "initrd missing" "nonexistent\.img: No such file" run --kernel "$g/mbkernel.elf" --initrd "$t/nonexistent.img"
# Options a guest cannot use are refused, not dropped (cli.c's table says
# where each applies; test_cli checks every option against every kind).
truncate -s 300M "$t/big.img"
long=$(head -c 70000 /dev/zero | tr '\0' x)
case_ "initrd for a test guest" "^vmm: --initrd: a test guest does not take it \(only kernels" run --kernel "$g/hello.elf" --memory 128M --initrd "$t/big.img"
case_ "cmdline for a test guest" "^vmm: --cmdline: a test guest does not take it" run --kernel "$g/hello.elf" --cmdline "$long"
case_ "append for the embedded guest" "^vmm: --cmdline: a test guest" run -append "console=ttyS0"
case_ "debug-exit device for a test guest" "^vmm: -device: a test guest does not take it" run -device isa-debug-exit,iobase=0xf4
# Inputs that cannot fit, refused before the VM starts (a bzImage's
# cmdline_size: tests/boot/linux.sh; multiboot's 384 KiB for the command
# line is more than one argument can carry).
truncate -s 16M "$t/16m.img"
case_ "module beyond RAM" "16m\.img\) of 16777216 bytes does not fit in RAM" run --kernel "$g/mbkernel.elf" --memory 8M --initrd "$t/16m.img"
# An empty 2 MiB pool (root only: the pool is put back afterwards).
if [ -w "$POOL_KNOB" ]; then
    POOL_SAVED=$(cat "$POOL_KNOB")
    echo 0 >"$POOL_KNOB"
    case_ "empty hugepage pool" "free 2 MiB pages needed, 0 available: raise /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" run --mem-backend memfd --hugepage-size 2M --memory 64M
fi
# Without access to /dev/kvm (as an unprivileged user, when we are root).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    cp "$vmm" "$t/vmm" && chmod 755 "$t" "$t/vmm"
    timeout -s KILL 2 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$t/vmm" run >/dev/null 2>"$t/err" </dev/null
    st=$?
    if [ "$st" = 0 ] || [ "$st" -ge 124 ] || [ "$(wc -l <"$t/err")" != 1 ] ||
        ! grep -q "/dev/kvm: permission denied" "$t/err"; then
        echo "FAIL no permission on /dev/kvm: status $st:" >&2; cat "$t/err" >&2
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
fi
echo "bad input: $pass passed, $fail failed"
[ "$fail" = 0 ]
