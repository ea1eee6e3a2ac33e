#!/bin/sh
# check-subproject.sh [WORKDIR] - jlog as a meson subproject: set up the
# parent project of test/subproject with this source tree as
# subprojects/jlog (a symbolic link), configure, build and run the parent's
# tests, and check that the parent builds no test, benchmark or example of
# jlog's and that its `meson test` lists the parent's test alone.
#
# Run by tools/test.sh. WORKDIR (default: a new temporary directory) is
# removed at the end. Exit 0 on success, 1 on failure, 77 (skip) when meson
# is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if ! command -v meson >/dev/null 2>&1; then
	echo "check-subproject: meson not found, skipping" >&2
	exit 77
fi
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/jlog-subproject.XXXXXX")}
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parent/subprojects"
cp "$here/subproject/meson.build" "$here/subproject/consumer.c" "$work/parent/"
ln -s "$root" "$work/parent/subprojects/jlog"

fail() {
	echo "check-subproject: FAIL: $*" >&2
	exit 1
}

meson setup "$work/build" "$work/parent" >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log" >&2; fail "meson setup of the parent failed"; }
meson compile -C "$work/build" >"$work/compile.log" 2>&1 ||
	{ cat "$work/compile.log" >&2; fail "the parent does not build"; }

tests=$(meson test -C "$work/build" --no-rebuild --list 2>/dev/null | sed 's|^jlog-parent / ||')
if [ "$tests" != "consumer" ]; then
	printf '%s\n' "$tests" >&2
	fail "the parent's meson test lists more than its own test"
fi
benchmarks=$(meson test -C "$work/build" --no-rebuild --benchmark --list 2>/dev/null |
	grep -v '^No tests defined' || true)
if [ -n "$benchmarks" ]; then
	printf '%s\n' "$benchmarks" >&2
	fail "the parent has jlog's benchmarks"
fi
# Of jlog's targets only the library may be built by default.
extra=$(cd "$work/build/subprojects/jlog" &&
	find . -type f -perm -u+x ! -name '*.so*' ! -path '*/meson-*' -print)
if [ -n "$extra" ]; then
	printf '%s\n' "$extra" >&2
	fail "programs of jlog's were built in the parent"
fi
if [ -e "$work/build/subprojects/jlog/lib/libjlog_internal.a" ]; then
	fail "the tests' internal library was built in the parent"
fi
meson test -C "$work/build" >"$work/test.log" 2>&1 ||
	{ cat "$work/test.log" "$work/build/meson-logs/testlog.txt" >&2; fail "the consumer failed"; }
echo "check-subproject: OK (parent builds the consumer only; tests: $tests)"
