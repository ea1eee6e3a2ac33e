#!/bin/sh
# compile-fail.sh SOURCE INCLUDE_DIR EXPECTED COMPILER... - SOURCE must not
# compile, and the compiler's diagnostics must contain EXPECTED; with
# -DJLOG_COMPILE_OK it must compile (the failure comes from the misuse the
# source guards, not from the setup). Exit 77 (skip) when the compiler
# cannot be run.
#
# Re-executed once first, as check-exports.sh is: under `meson test --setup
# valgrind` the first shell runs under memcheck, which would report the
# shell's own leaks; after exec the rest runs natively.
if [ -z "${JLOG_COMPILE_FAIL_REEXEC:-}" ]; then
	JLOG_COMPILE_FAIL_REEXEC=1
	export JLOG_COMPILE_FAIL_REEXEC
	exec /bin/sh "$0" "$@"
fi
set -u

if [ $# -lt 4 ]; then
	echo "usage: $0 SOURCE INCLUDE_DIR EXPECTED COMPILER..." >&2
	exit 2
fi
src=$1
inc=$2
expected=$3
shift 3

if ! command -v "$1" >/dev/null 2>&1; then
	echo "compile-fail: compiler $1 not found, skipping" >&2
	exit 77
fi
out=${TMPDIR:-/tmp}/jlog-compile-fail.$$
trap 'rm -f "$out.o" "$out.log"' EXIT

if ! "$@" -I"$inc" -DJLOG_COMPILE_OK -c "$src" -o "$out.o" >"$out.log" 2>&1; then
	cat "$out.log" >&2
	echo "compile-fail: FAIL: the correct form of $src does not compile" >&2
	exit 1
fi
if "$@" -I"$inc" -c "$src" -o "$out.o" >"$out.log" 2>&1; then
	echo "compile-fail: FAIL: $src compiled, but it misuses a macro" >&2
	exit 1
fi
if ! grep -qF "$expected" "$out.log"; then
	cat "$out.log" >&2
	echo "compile-fail: FAIL: the diagnostics do not say \"$expected\"" >&2
	exit 1
fi
grep -F "$expected" "$out.log" | head -n 1
echo "compile-fail: OK"
