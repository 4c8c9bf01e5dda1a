#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vmm run --kernel K -- CMD`: Debian's kernel boots into this machine's own
# userspace (/ over 9P, read-only) and runs commands.
#   command.sh VMM generic bzimage|pvh CPUS TIMEOUT   (the cloud kernel has
#   no 9p; pvh boots the kernel's vmlinux through its PVH entry)
# Checked: `uname -r` prints the guest kernel's release and nothing else on
# stdout, exit 0, and --json has the command, its status and the phases;
# `sh -c 'exit 7'` exits 7 (and the guest found the keyboard controller
# in the DSDT); `cat /etc/hostname` and `uname -n` match the
# host's; under --sandbox: the command's stdout and stderr arrive apart, it
# runs in the caller's directory (under /tmp too, where the guest has an
# overlay), /tmp, /var/tmp and /var are writable in the guest (overlays),
# /etc is not; a --share DIR,rw gets the guest's changes (create, write,
# mkdir, rename, symlink, chmod, truncate, mtime, rm -r), a --share DIR
# refuses them; death by SIGKILL is 137; a missing command 127; as another user (setpriv, when root) it runs as that user; a
# module that does not load ends with 125 and the init saying why; a
# modules directory without 9p is refused before any boot.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kvm/lib.sh"
vmm=$(realpath "$1") flavor=$2 entry=$3 cpus=$4 timeout=$5
kvm_require
full_boot_skip_on_pvm
test_kernel_env "$flavor"
case $entry in
bzimage) kernel=$BZIMAGE ;;
pvh) kernel=$VMLINUX ;;
*) echo "command.sh: entry must be bzimage or pvh" >&2; exit 2 ;;
esac
release=$(basename "$(dirname "$BZIMAGE")")
release=${release%%_*}
t=$(mktemp -d)
chmod 755 "$t"
trap 'rm -rf "$t"' EXIT
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}
# run NAME CMD...: vmm run -- CMD in $t/NAME (its cwd), stdout and stderr
# kept apart, $EXTRA's options too; sets $st.
EXTRA=
run() {
    local name=$1
    shift
    mkdir -p "$t/$name"
    # shellcheck disable=SC2086 # options
    (cd "$t/$name" && timeout "$timeout" "$vmm" run --kernel "$kernel" \
        --modules "$MODULES" --cpus "$cpus" --memory 256M $EXTRA \
        --json "$t/$name.json" -- "$@" >"$t/$name.out" 2>"$t/$name.err")
    st=$?
    echo "$name: exit $st, $(wc -c <"$t/$name.out") bytes out," \
        "$(wc -c <"$t/$name.err") bytes err" >&2
}
show() {
    sed 's/^/  | /' "$t/$1.err" >&2
}

run uname uname -r
[ "$st" = 0 ] || { bad "uname -r: exit $st"; show uname; }
# (A sanitizer build's runtime may add its own "==PID==" notes.)
grep -qv '^==[0-9]*==' "$t/uname.err" &&
    { bad "uname -r: stderr not empty"; show uname; }
[ "$(cat "$t/uname.out")" = "$release" ] ||
    bad "uname -r printed '$(head -c 200 "$t/uname.out")', not $release"
j=$(cat "$t/uname.json" 2>/dev/null)
for want in '"command":{"argv":\["uname","-r"\],"status":0,"signal":null' \
    '"boot_ms":[0-9.]+' '"mount_ms":[0-9.]+' '"command_ms":[0-9.]+' \
    '"reason":"command exited"' '"init_failed":false'; do
    grep -Eq "$want" <<<"$j" || bad "uname --json lacks $want: $j"
done

# The exit status, and the board's ACPI keyboard controller as the
# guest's PNP scan found it (not probed blind, which costs the boot 0.3 s).
run exit7 sh -c 'cat /sys/bus/pnp/devices/*/id; exit 7'
[ "$st" = 7 ] || { bad "sh -c 'exit 7': exit $st"; show exit7; }
grep -qx PNP0303 "$t/exit7.out" ||
    bad "the guest's PNP devices: $(tr '\n' ' ' <"$t/exit7.out"), no PNP0303"

run hostname sh -c 'cat /etc/hostname; uname -n'
[ "$st" = 0 ] || { bad "cat /etc/hostname: exit $st"; show hostname; }
{ cat /etc/hostname; uname -n; } >"$t/want"
cmp -s "$t/hostname.out" "$t/want" ||
    bad "the guest's /etc/hostname and uname -n:" \
        "'$(tr '\n' '|' <"$t/hostname.out")', the host's '$(tr '\n' '|' <"$t/want")'"

stamp=vmm-command-test-$$
EXTRA=--sandbox run places sh -c "echo to-out; echo to-err >&2; pwd; id -u;
    touch /tmp/$stamp /var/tmp/$stamp /var/$stamp && echo writable;
    touch /etc/$stamp 2>/dev/null && echo etc-writable; exit 0"
[ "$st" = 0 ] || { bad "places: exit $st"; show places; }
printf 'to-out\n%s\n%s\nwritable\n' "$t/places" "$(id -u)" >"$t/want"
cmp -s "$t/want" "$t/places.out" ||
    bad "stdout of places: '$(tr '\n' '|' <"$t/places.out")'," \
        "want '$(tr '\n' '|' <"$t/want")'"
grep -qx 'to-err' "$t/places.err" || bad "stderr lacks to-err"
grep -q 'to-err' "$t/places.out" && bad "stderr's line on stdout"
rm -f /tmp/$stamp /var/tmp/$stamp /var/$stamp /etc/$stamp

# A writable share and a read-only one (under --sandbox): what the guest
# does in the first is on the host when vmm returns; the second refuses.
mkdir -p "$t/rwshare/keep" "$t/roshare"
echo old >"$t/rwshare/keep/old"
echo ro >"$t/roshare/f"
EXTRA="--sandbox --share $t/rwshare,rw --share $t/roshare" run share sh -c "
    cd $t/rwshare && echo made >new && mkdir -m 700 d && mv new d/moved &&
    ln -s d/moved ln && chmod 640 d/moved && truncate -s 3 d/moved &&
    touch -m -d @1000000000 d/moved && rm -r keep && echo rw-ok
    echo x >$t/roshare/g 2>/dev/null && echo ro-writable
    mkdir $t/roshare/d 2>/dev/null && echo ro-mkdir; exit 0"
[ "$st" = 0 ] || { bad "shares: exit $st"; show share; }
[ "$(cat "$t/share.out")" = rw-ok ] ||
    { bad "shares: stdout '$(tr '\n' '|' <"$t/share.out")', want rw-ok"; show share; }
got=$(cd "$t/rwshare" && find . -mindepth 1 -printf '%p %y %m %l\n' | LC_ALL=C sort | tr '\n' ';')
[ "$got" = "./d d 700 ;./d/moved f 640 ;./ln l 777 d/moved;" ] ||
    bad "the writable share on the host: $got"
[ "$(cat "$t/rwshare/d/moved" 2>/dev/null)" = mad ] &&
    [ "$(stat -c %Y "$t/rwshare/d/moved" 2>/dev/null)" = 1000000000 ] ||
    bad "d/moved: '$(cat "$t/rwshare/d/moved" 2>/dev/null)'," \
        "mtime $(stat -c %Y "$t/rwshare/d/moved" 2>/dev/null)"
[ "$(ls -A "$t/roshare")" = f ] && [ "$(cat "$t/roshare/f")" = ro ] ||
    bad "the read-only share changed: $(ls -A "$t/roshare")"
grep -q '"device":"9p"' "$t/share.json" || bad "shares: no 9p in --json"

run kill sh -c 'kill -KILL $$'
[ "$st" = 137 ] || { bad "killed by SIGKILL: exit $st, want 137"; show kill; }
grep -q '"status":137,"signal":9' "$t/kill.json" ||
    bad "--json of SIGKILL: $(cat "$t/kill.json")"

run missing /nonexistent/vmm-no-such-command
[ "$st" = 127 ] || { bad "missing command: exit $st, want 127"; show missing; }
grep -q 'vmm-no-such-command' "$t/missing.err" ||
    bad "missing command: no message on stderr"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    # The user's own node for the KVM device: /dev/kvm stays as it is.
    mkdir -p "$t/nobody/mods"
    cp "$kernel" "$t/nobody/kernel"
    cp "$MODULES"/* "$t/nobody/mods/"
    chmod -R a+rX "$t/nobody"
    mknod "$t/nobody/kvm" c "$((0x$(stat -c %t /dev/kvm)))" \
        "$((0x$(stat -c %T /dev/kvm)))"
    chown 65534:65534 "$t/nobody/kvm"
    chmod 600 "$t/nobody/kvm"
    (cd "$t/nobody" && timeout "$timeout" setpriv --reuid=65534 \
        --regid=65534 --clear-groups "$vmm" run --kernel \
        "$t/nobody/kernel" --modules "$t/nobody/mods" --cpus "$cpus" \
        --kvm-device "$t/nobody/kvm" -- id -u >"$t/nobody.out" 2>"$t/nobody.err")
    st=$?
    [ "$st" = 0 ] || { bad "as uid 65534: exit $st"; show nobody; }
    [ "$(cat "$t/nobody.out")" = 65534 ] ||
        bad "as uid 65534, id -u printed '$(cat "$t/nobody.out")'"
else
    echo "note: not root or no setpriv: the other-user case is left out" >&2
fi

# A 9p module cut short: the guest's init cannot load it.
mkdir -p "$t/badmods"
cp "$MODULES"/* "$t/badmods/"
head -c 4096 "$MODULES/9p.ko" >"$t/badmods/9p.ko"
MODULES=$t/badmods run badmod uname -r
[ "$st" = 125 ] || { bad "a broken 9p.ko: exit $st, want 125"; show badmod; }
grep -q 'vmm-init: loading .*9p' "$t/badmod.err" ||
    { bad "a broken 9p.ko: the init did not say so"; show badmod; }
grep -q '"init_failed":true' "$t/badmod.json" ||
    bad "a broken 9p.ko: --json: $(cat "$t/badmod.json")"

# No 9p at all, and modules.builtin does not have it: refused up front.
mkdir -p "$t/nomods"
grep -v '^9p\.ko:' "$MODULES/modules.dep" >"$t/nomods/modules.dep"
: >"$t/nomods/modules.builtin"
MODULES=$t/nomods run nomod uname -r
[ "$st" = 1 ] || bad "no 9p module: exit $st, want 1"
grep -q 'no module 9p in' "$t/nomod.err" || { bad "no 9p: message"; show nomod; }
[ "$(grep -cv '^==[0-9]*==' "$t/nomod.err")" = 1 ] ||
    bad "no 9p: more than one line"

[ $fail = 0 ] && echo "PASS: -- CMD with $flavor, $cpus vCPU(s)"
exit $fail
