#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run one dirty-log correctness case (test_dirty_log SCENARIO MODE) once
# /dev/kvm is known to be usable:
#   dirty_log.sh TEST_BINARY SCENARIO MODE
set -u
. "$(dirname "$0")/lib.sh"
kvm_require
exec timeout --foreground 240 "$@"
