#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A guest boot under valgrind's memcheck (two vCPUs, live map changes):
# no invalid access, no leak (liburcu's own worker thread aside, see
# tests/valgrind/vmm.supp).
set -u
. "$(dirname "$0")/lib.sh"
vmm=$1 guest=$2
kvm_require
if ! command -v valgrind >/dev/null; then
    [ "${CI:-}" = "true" ] && { echo "FAIL: valgrind missing under CI" >&2; exit 1; }
    echo "SKIP: valgrind not installed" >&2
    exit 4
fi
supp=$(dirname "$0")/../valgrind/vmm.supp
timeout --foreground 300 valgrind -q --suppressions="$supp" --error-exitcode=99 \
    --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    "$vmm" run --kernel "$guest" --cpus 2 --memory 64M
st=$?
[ "$st" = 0 ] || { echo "FAIL: valgrind run exited $st" >&2; exit 1; }
echo "ok: no invalid access, no leak"
