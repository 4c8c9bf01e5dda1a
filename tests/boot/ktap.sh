#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vmm run --ktap / --junit with the multiboot test kernel printing KTAP
# (ktap=... on its command line): 3 passing, 1 skipped, 1 failing subtest
# exits 1 with the failing path and its diagnostics in --json and a valid
# --junit; all passing exits 0; a truncated plan exits 1 with a reason;
# hostile output (20 levels deep, a 6000-byte line, invalid UTF-8, control
# bytes) exits 1 and both reports stay valid.
#   ktap.sh VMM MBKERNEL JUNIT_XSD
set -u
. "$(dirname "$0")/../kvm/lib.sh"
vmm=$1 kernel=$2 xsd=$3
kvm_require
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# run DOC WANT_STATUS: the reports are $t/DOC.json and $t/DOC.xml.
run() {
    local st=0
    timeout --foreground 120 "$vmm" run --kernel "$kernel" --memory 64M \
        --cmdline "ktap=$1" --ktap --junit "$t/$1.xml" --json "$t/$1.json" \
        --timeout 60 >"$t/$1.out" 2>&1 </dev/null || st=$?
    [ "$st" = "$2" ] || { cat "$t/$1.out" "$t/$1.json" >&2; fail "ktap=$1: status $st, want $2"; }
    iconv -f UTF-8 -t UTF-8 "$t/$1.json" >/dev/null 2>&1 || fail "ktap=$1: the JSON is not UTF-8"
    ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f]' "$t/$1.json" || fail "ktap=$1: raw control bytes in the JSON"
    xmllint --noout --schema "$xsd" "$t/$1.xml" 2>"$t/$1.xmlerr" ||
        { cat "$t/$1.xmlerr" "$t/$1.xml" >&2; fail "ktap=$1: the JUnit XML is not valid"; }
}
has() { grep -Fq -- "$2" "$t/$1.json" || { cat "$t/$1.json" >&2; fail "ktap=$1: the JSON lacks $2"; }; }

command -v xmllint >/dev/null || fail "xmllint is needed (scripts/setup installs libxml2-utils)"

run mixed 1
has mixed '"reason":"KTAP run over"'
has mixed '"ktap":{"verdict":"fail","reason":"1 of 5 tests failed","complete":true,"plan":1,"results":1,"passed":3,"failed":1,"skipped":1,"todo":0'
has mixed '"failures":[{"path":"mbk_demo/fail_four","diagnostics":["# fail_four: EXPECTATION FAILED at mbkernel.c:1","# Expected answer == 42, but answer == 41"]}]'
grep -q '<failure type="not ok" message="not ok"># fail_four' "$t/mixed.xml" || fail "mixed: no failure in the XML"
grep -q 'tests="5" failures="1" errors="0" skipped="1"' "$t/mixed.xml" || fail "mixed: XML counts"
grep -q 'KTAP: 1 of 5 tests failed' "$t/mixed.out" || fail "mixed: no verdict line on stderr"

run pass 0
has pass '"ktap":{"verdict":"pass"'
has pass '"passed":2,"failed":0,"skipped":1'

run trunc 1
has trunc '"reason":"guest power-off (ACPI S5)"'
has trunc '"reason":"the KTAP plan is incomplete: 2 of 3 results"'
grep -q '<error type="ktap" message="the KTAP plan is incomplete' "$t/trunc.xml" || fail "trunc: no error case in the XML"

run hostile 1
has hostile '"reason":"KTAP subtests nested deeper than 16 levels"'
has hostile '\ufffd'
echo "ok: ktap mixed 1, pass 0, trunc 1, hostile 1; reports valid"
