#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cmake --install puts the binary, the man page and the bash completion in
# the prefix; the binary runs, the man page is well-formed troff (when a
# formatter is here) and names every run option, and the completion offers
# subcommands, benchmarks and a command's options.
#   install.sh BUILD_DIR
set -u
build=$1
p=$(mktemp -d)
trap 'rm -rf "$p"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$p" >/dev/null || fail "cmake --install failed"
vmm=$p/bin/vmm
man=$p/share/man/man1/vmm.1
comp=$p/share/bash-completion/completions/vmm
for f in "$vmm" "$man" "$comp"; do
    [ -s "$f" ] || fail "$f was not installed"
done
"$vmm" --version | grep -Eq '^vmm [0-9a-g.-]+' || fail "vmm --version: $("$vmm" --version)"
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$man" 2>"$p/groff.err"
    [ ! -s "$p/groff.err" ] || { cat "$p/groff.err" >&2; fail "groff warns about the man page"; }
fi
# Each long option of vmm run is in the man page.
for o in $("$vmm" run --help | grep -oE '^  --[-a-z]+' | tr -d ' '); do
    grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$man" ||
        fail "the man page does not mention $o"
done
complete_words() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
        _vmm; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
complete_words "$vmm" r | grep -qx run || fail "completion: no 'run' for 'r'"
complete_words "$vmm" bench d | grep -qx dirty-log || fail "completion: no 'dirty-log'"
complete_words "$vmm" run --ke | grep -qx -- --kernel || fail "completion: no --kernel"
complete_words "$vmm" run --mem-backend m | grep -qx memfd || fail "completion: no memfd"
complete_words "$vmm" bench mmio --it | grep -qx -- --iterations || fail "completion: no --iterations"
echo "install: binary, man page and completion ok"
