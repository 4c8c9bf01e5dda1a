#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/nested-ctest goes on after an L1 hang: a fake runner stands in for
# nested-run and "hangs" (status 125, nested-run's message) whenever a test
# announces it is stuck. Checks that finished tests do not run again, that
# a test stuck once (or whose L1 died) runs again and passes, that one
# stuck --test-hangs
# times counts as failed while the others still run, and that failures are
# kept across rounds; that a failed test runs once more in a new L1
# (--retry-failed) and one that passes there does not fail the run, while
# one the L1 kept hanging in is not retried.
#   nested_ctest.sh REPO
set -euo pipefail
repo=$1
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The fake runner: `runner [--cpus N] --timeout N -- CMD...`; it records
# the options it got.
cat >"$w/runner" <<'R'
#!/usr/bin/env bash
while [ "$1" != -- ]; do echo "$1" >>"$FAKE_DIR/runner-args"; shift; done
shift
setsid "$@" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
    if [ -e "$FAKE_DIR/stuck" ]; then
        rm -f "$FAKE_DIR/stuck"
        kill -KILL -- "-$pid"
        wait "$pid" 2>/dev/null
        echo "nested-run: the L1 hung (fake)" >&2
        exit 125
    fi
    if [ -e "$FAKE_DIR/panic" ]; then
        rm -f "$FAKE_DIR/panic"
        kill -KILL -- "-$pid"
        wait "$pid" 2>/dev/null
        echo "nested-run: the L1 stopped without a status (QEMU status 0): Kernel panic (fake)" >&2
        exit 125
    fi
    sleep 0.1
done
wait "$pid"
R
chmod +x "$w/runner"

# A test: counts its runs; "hang N" gets stuck on its first N runs; "fail"
# fails; "flaky" fails on its first run only; "panic N" kills the L1 (its
# kernel dies) on its first N runs.
cat >"$w/t.sh" <<'T'
#!/usr/bin/env bash
name=$1 kind=$2 n=${3:-0}
echo x >>"$FAKE_DIR/runs.$name"
runs=$(wc -l <"$FAKE_DIR/runs.$name")
if [ "$kind" = hang ] && [ "$runs" -le "$n" ]; then
    touch "$FAKE_DIR/stuck"
    sleep 100
fi
[ "$kind" = flaky ] && [ "$runs" = 1 ] && exit 1
if [ "$kind" = panic ] && [ "$runs" -le "$n" ]; then
    touch "$FAKE_DIR/panic"
    sleep 100
fi
[ "$kind" != fail ]
T
chmod +x "$w/t.sh"

mkdir "$w/src"
cat >"$w/src/CMakeLists.txt" <<C
cmake_minimum_required(VERSION 3.16)
project(fake NONE)
enable_testing()
add_test(NAME a1 COMMAND $w/t.sh a1 pass)
add_test(NAME b2 COMMAND $w/t.sh b2 fail)
add_test(NAME c3 COMMAND $w/t.sh c3 hang 1)
add_test(NAME d4 COMMAND $w/t.sh d4 pass)
add_test(NAME e5 COMMAND $w/t.sh e5 hang 5)
add_test(NAME f6 COMMAND $w/t.sh f6 pass)
C
cmake -S "$w/src" -B "$w/b" >/dev/null
export FAKE_DIR=$w NESTED_CTEST_RUNNER=$w/runner
st=0
(cd "$w/b" && "$repo/scripts/nested-ctest" --tries 5 --test-hangs 3) >"$w/out" 2>"$w/err" || st=$?
cat "$w/out" "$w/err"
runs() { if [ -e "$w/runs.$1" ]; then wc -l <"$w/runs.$1"; else echo 0; fi; }
[ "$st" = 1 ] || fail "status $st, expected 1 (b2 failed, e5 hung 3 times)"
for t in a1 d4 f6; do
    [ "$(runs $t)" = 1 ] || fail "$t ran $(runs $t) times, expected once"
done
[ "$(runs b2)" = 2 ] || fail "b2 ran $(runs b2) times, expected twice (one retry)"
grep -q 'failed: b2 ; running them again in a new L1' "$w/err" ||
    fail "no retry line for b2"
grep -q 'passed on retry' "$w/err" && fail "a retry passed, none should"
[ "$(runs c3)" = 2 ] || fail "c3 ran $(runs c3) times, expected twice"
[ "$(runs e5)" = 3 ] || fail "e5 ran $(runs e5) times, expected 3"
grep -q 'failed: b2 e5' "$w/err" || fail "the failed list does not name b2 and e5"
grep -q 'e5: the L1 hung or died in it 3 times' "$w/err" || fail "no line for e5"

# Everything passes after one hang and one retry: status 0, the retried
# test named; with --retry-failed 0 the flaky test fails the run.
rm -f "$w"/runs.*
sed -i '/NAME b2\|NAME e5/d' "$w/src/CMakeLists.txt"
echo "add_test(NAME h8 COMMAND $w/t.sh h8 flaky)" >>"$w/src/CMakeLists.txt"
echo "add_test(NAME i9 COMMAND $w/t.sh i9 panic 1)" >>"$w/src/CMakeLists.txt"
cmake -S "$w/src" -B "$w/b" >/dev/null
st=0
(cd "$w/b" && "$repo/scripts/nested-ctest") >"$w/out" 2>"$w/err" || st=$?
[ "$st" = 0 ] || { cat "$w/out" "$w/err"; fail "status $st, expected 0"; }
[ "$(runs c3)" = 2 ] && [ "$(runs a1)" = 1 ] && [ "$(runs h8)" = 2 ] &&
    [ "$(runs i9)" = 2 ] ||
    fail "runs: c3 $(runs c3), a1 $(runs a1), h8 $(runs h8), i9 $(runs i9) (an L1 that died runs its test again)"
grep -q 'passed on retry (failed once in the emulated L1): h8' "$w/err" ||
    { cat "$w/err"; fail "h8 not named as passed on retry"; }
rm -f "$w"/runs.*
st=0
(cd "$w/b" && "$repo/scripts/nested-ctest" --retry-failed 0 -R h8) >"$w/out" 2>"$w/err" || st=$?
[ "$st" = 1 ] && [ "$(runs h8)" = 1 ] ||
    fail "--retry-failed 0: status $st, h8 ran $(runs h8) times"
grep -qx -- --cpus "$w/runner-args" && fail "--cpus passed without being asked"
# --cpus reaches the runner.
rm -f "$w"/runs.* "$w/runner-args"
(cd "$w/b" && "$repo/scripts/nested-ctest" --cpus 1 -R a1) >"$w/out" 2>"$w/err" ||
    fail "--cpus 1 -R a1: $(cat "$w/err")"
[ "$(grep -A1 -x -- --cpus "$w/runner-args" | tail -n 1)" = 1 ] ||
    fail "the runner did not get --cpus 1: $(tr '\n' ' ' <"$w/runner-args")"

# Hangs beyond --tries: status 1 and the tests not run are named.
rm -f "$w"/runs.*
sed -i 's/c3 hang 1/c3 hang 9/' "$w/src/CMakeLists.txt"
echo "add_test(NAME g7 COMMAND $w/t.sh g7 hang 9)" >>"$w/src/CMakeLists.txt"
cmake -S "$w/src" -B "$w/b" >/dev/null
st=0
(cd "$w/b" && "$repo/scripts/nested-ctest" --tries 1) >"$w/out" 2>"$w/err" || st=$?
[ "$st" = 1 ] || { cat "$w/out" "$w/err"; fail "status $st with --tries 1, expected 1"; }
grep -q 'not run: .*g7' "$w/err" || { cat "$w/err"; fail "g7 not named as not run"; }
echo "nested_ctest: ok"
