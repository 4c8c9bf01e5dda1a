#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run a vmm command that needs /dev/kvm and expect exit status STATUS:
#   run_vmm.sh STATUS VMM ARGS...
set -u
. "$(dirname "$0")/lib.sh"
want=$1
shift
kvm_require
timeout --foreground 600 "$@"
got=$?
if [ "$got" != "$want" ]; then
    echo "FAIL: '$*' exited $got, want $want" >&2
    exit 1
fi
