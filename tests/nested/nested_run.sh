#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/nested-run itself (label nested; runs on the host, never inside
# an L1): the command's status and streams come back, its stdout and
# stderr apart and free of the L1's console; a timeout and SIGTERM end
# with 124 and 143, a hung L1 with 125, and leave no QEMU behind; bad
# options exit 2.
#   nested_run.sh REPO
set -u
repo=$1
nr=$repo/scripts/nested-run
if ! command -v qemu-system-x86_64 >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: no qemu-system-x86_64, and CI=true" >&2
        exit 1
    fi
    echo "SKIP: no qemu-system-x86_64 (Debian's qemu-system-x86)" >&2
    exit 4
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}
# QEMU processes of this checkout's nested-run (their command line names a
# run folder in its cache) that this test started: those running before
# it, and other checkouts' runs, are left out.
cache=${VMM_NESTED_CACHE:-$repo/build/nested-cache}
all_l1s() {
    pgrep -f "qemu-system-x86_64 .*${cache//./\\.}/run\.[A-Za-z0-9]+/initrd" |
        sort
}
before=$(all_l1s)
l1s() {
    comm -13 <(echo "$before") <(all_l1s) | tr '\n' ' '
}

# The first run may prepare the L1's kernel and fetch QEMU (lines on
# stderr). The backported QEMU gives the L1 2 vCPUs; the system's, 1.
"$nr" -- nproc >"$t/out" 2>"$t/err" ||
    bad "nested-run -- nproc: status $?: $(cat "$t/err")"
[ "$(cat "$t/out")" = 2 ] || bad "the L1 has $(cat "$t/out") vCPUs, want 2 (QEMU from bookworm-backports: $(cat "$t/err"))"
NESTED_RUN_SYSTEM_QEMU=1 "$nr" -- nproc >"$t/out" 2>"$t/err"
[ "$(cat "$t/out")" = 1 ] || bad "with the system's QEMU the L1 has $(cat "$t/out") vCPUs, want 1"

"$nr" -- sh -c 'echo to-out; echo to-err >&2; exit 7' >"$t/out" 2>"$t/err"
st=$?
[ "$st" = 7 ] || bad "status $st, want the command's 7"
[ "$(cat "$t/out")" = to-out ] || bad "stdout is not just the command's: $(head -c 300 "$t/out")"
[ "$(cat "$t/err")" = to-err ] || bad "stderr is not just the command's: $(head -c 300 "$t/err")"

"$nr" -- sh -c 'pwd; echo "$NESTED_TEST_VAR"' >"$t/out" 2>"$t/err"
[ "$(sed -n 1p "$t/out")" = "$PWD" ] || bad "cwd $(sed -n 1p "$t/out"), want $PWD"
# A working directory under the host's /tmp (a checkout cloned there) is
# the same directory inside.
mkdir -p "$t/wd"
(cd "$t/wd" && "$nr" -- sh -c 'pwd; echo x >here') >"$t/out" 2>&1
[ "$(sed -n 1p "$t/out")" = "$t/wd" ] && [ -s "$t/wd/here" ] ||
    bad "cwd under /tmp: $(cat "$t/out")"
NESTED_TEST_VAR="a b" "$nr" -- sh -c 'echo "$NESTED_TEST_VAR"' >"$t/out" 2>&1
[ "$(cat "$t/out")" = "a b" ] || bad "environment not passed: $(cat "$t/out")"

"$nr" -- sh -c 'kill -9 $$' >/dev/null 2>&1
st=$?
[ "$st" = 137 ] || bad "status $st after SIGKILL in the L1, want 137"

"$nr" --timeout 3 -- sleep 600 >/dev/null 2>"$t/err"
st=$?
[ "$st" = 124 ] || bad "status $st on --timeout, want 124"
grep -q "timed out after 3 s" "$t/err" || bad "no timeout line: $(cat "$t/err")"
sleep 1
[ -z "$(l1s)" ] || bad "QEMU left behind after a timeout: $(l1s)"

"$nr" -- sleep 600 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do
    [ -n "$(l1s)" ] && break
    sleep 0.2
done
[ -n "$(l1s)" ] || bad "no L1 started"
kill -TERM "$pid"
wait "$pid"
st=$?
[ "$st" = 143 ] || bad "status $st after SIGTERM, want 143"
sleep 1
[ -z "$(l1s)" ] || bad "QEMU left behind after SIGTERM: $(l1s)"

# An L1 that stops making progress (here: every process but the command
# stopped, so the console heartbeat stops) is killed and reported as hung.
NESTED_RUN_HANG_S=20 timeout 120 "$nr" -- sh -c 'kill -STOP -1; sleep 300' \
    >/dev/null 2>"$t/err"
st=$?
[ "$st" = 125 ] && grep -q "the L1 hung" "$t/err" ||
    bad "hung L1: status $st, $(cat "$t/err")"
sleep 1
[ -z "$(l1s)" ] || bad "QEMU left behind after a hang: $(l1s)"

# QEMU that cannot start: 125 and one line with QEMU's reason, no hang.
timeout 60 "$nr" --memory 99999999G -- true 2>"$t/err"
st=$?
[ "$st" = 125 ] && [ "$(wc -l <"$t/err")" = 1 ] &&
    grep -q "guest memory" "$t/err" ||
    bad "L1 that cannot start: status $st, $(cat "$t/err")"

"$nr" --bogus -- true 2>"$t/err"
st=$?
[ "$st" = 2 ] && [ "$(wc -l <"$t/err")" = 1 ] || bad "bad option: status $st, $(cat "$t/err")"
"$nr" --cpus 0 -- true 2>/dev/null
[ $? = 2 ] || bad "--cpus 0 accepted"

[ "$fail" = 0 ] || exit 1
echo "ok: nested-run statuses, streams, timeout and SIGTERM"
