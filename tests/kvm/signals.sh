#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGINT, SIGTERM and SIGHUP end a running VM cleanly: the --json report is
# written with "result":"interrupted" and vmm exits 130, 143, 129. Then the
# same with Ctrl-C typed on a terminal (tmux): 130, the report, and the
# terminal back in cooked mode.
#   signals.sh VMM SPIN_GUEST
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 guest=$2
kvm_require
t=$(mktemp -d)
# tmux's socket in $t ($TMPDIR): not in /tmp, which may be a file system
# without sockets (9p in scripts/nested-run).
trap 'tmux -S "$t/tmux.sock" kill-server 2>/dev/null; rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Wait up to 30 s for (file) to contain (text).
wait_for() {
    for _ in $(seq 300); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

for s in INT:130 TERM:143 HUP:129; do
    sig=${s%:*} want=${s#*:}
    : >"$t/out"
    "$vmm" run --kernel "$guest" --memory 64M --json "$t/$sig.json" \
        </dev/null >"$t/out" 2>"$t/err" &
    pid=$!
    wait_for "$t/out" 'spin: running' || { kill -KILL $pid; fail "SIG$sig: the guest never started"; }
    kill -"$sig" $pid
    wait $pid
    st=$?
    [ "$st" = "$want" ] || { cat "$t/err" >&2; fail "SIG$sig: status $st, want $want"; }
    grep -q "^{\"result\":\"interrupted\",\"exit_code\":$want,\"reason\":\"interrupted (SIG$sig)\"" \
        "$t/$sig.json" || { cat "$t/$sig.json" >&2; fail "SIG$sig: report"; }
done

# Ctrl-C on a terminal.
command -v tmux >/dev/null || fail "tmux is needed (scripts/setup installs it)"
tm() { tmux -S "$t/tmux.sock" "$@"; }
# bash, whose wait lets a child that handled SIGINT go on to the next
# command.
tm new-session -d -x 120 -y 30 "bash -c 'stty sane; $vmm run --kernel $guest \
    --memory 64M --json $t/tty.json; echo \$? >$t/tty.status; stty -a \
    >$t/stty; sleep 60'" || fail "tty: tmux could not start"
for _ in $(seq 300); do
    tm capture-pane -p | grep -q 'spin: running' && break
    sleep 0.1
done
tm capture-pane -p | grep -q 'spin: running' ||
    { tm capture-pane -p >&2; fail "tty: the guest never started"; }
tm send-keys C-c
wait_for "$t/tty.status" . || fail "tty: Ctrl-C did not end the VM"
wait_for "$t/stty" . || fail "tty: no stty output"
[ "$(cat "$t/tty.status")" = 130 ] || fail "tty: status $(cat "$t/tty.status"), want 130"
grep -q '"result":"interrupted","exit_code":130' "$t/tty.json" ||
    { cat "$t/tty.json" >&2; fail "tty: report"; }
grep -qw -- 'icanon' "$t/stty" && grep -qw -- 'echo' "$t/stty" ||
    { cat "$t/stty" >&2; fail "tty: the terminal was not restored"; }
echo ok
