#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The JUnit XML vmm writes for each of test_ktap's documents (hostile ones
# included) is well-formed and valid against junit.xsd (xmllint, from
# Debian's libxml2-utils); and the schema is no rubber stamp: a document
# without its required parts is refused.
#   junit_schema.sh TEST_KTAP JUNIT_XSD
set -u
test_ktap=$1 xsd=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
command -v xmllint >/dev/null || { echo "FAIL: xmllint is needed (scripts/setup installs libxml2-utils)" >&2; exit 1; }
"$test_ktap" --junit-dir "$t" >/dev/null || { echo "FAIL: test_ktap failed" >&2; exit 1; }
n=0
for f in "$t"/*.xml; do
    xmllint --noout --schema "$xsd" "$f" 2>"$t/err" || {
        cat "$t/err" >&2; echo "FAIL: $(basename "$f") is not valid" >&2; exit 1; }
    n=$((n + 1))
done
[ "$n" -ge 10 ] || { echo "FAIL: only $n documents" >&2; exit 1; }
sed '/<system-out\/>/d' "$t/kunit_mixed.xml" >"$t/broken.xml"
if xmllint --noout --schema "$xsd" "$t/broken.xml" 2>/dev/null; then
    echo "FAIL: the schema accepted a testsuite without system-out" >&2; exit 1
fi
echo "junit_schema: $n documents valid"
