#!/bin/sh
# check-exports.sh LIBJLOG.so - the shared library exports only jlog symbols.
#
# Lists the dynamic symbols the library defines (nm -D --defined-only) and
# fails if a function or object symbol is not named jlog_* / jlog__* (the
# version script or a missing JLOG_EXPORT / static let something leak), or
# if one of the expected public functions is missing.
#
# POSIX sh on purpose, and re-executed once before doing anything: under
# `meson test --setup valgrind` the first shell runs under memcheck, which
# would report the shell's own leaks; after exec the rest runs natively
# (valgrind does not follow exec without --trace-children).
if [ -z "${JLOG_CHECK_EXPORTS_REEXEC:-}" ]; then
	JLOG_CHECK_EXPORTS_REEXEC=1
	export JLOG_CHECK_EXPORTS_REEXEC
	exec /bin/sh "$0" "$@"
fi

set -eu

# Public functions that must be exported.
EXPECTED="jlog_open jlog_close jlog_flush jlog_strerror jlog_log jlog_logv"

if [ $# -ne 1 ]; then
	echo "usage: $0 LIBJLOG.so" >&2
	exit 2
fi
lib=$1
if [ ! -f "$lib" ]; then
	echo "check-exports: $lib: no such file" >&2
	exit 1
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "check-exports: nm not found (binutils), skipping" >&2
	exit 77
fi

# Lines are "VALUE TYPE NAME[@@VERSION]". Type A marks the version nodes
# themselves (JLOG_0.1), which are not symbols of code or data; every other
# defined type (T/W/i functions, D/B/R/V/G/S/u objects) counts.
if ! table=$(nm -D --defined-only "$lib"); then
	echo "check-exports: nm failed on $lib" >&2
	exit 1
fi
symbols=$(printf '%s\n' "$table" | awk 'NF >= 3 && $2 != "A" { sub(/@.*/, "", $3); print $2, $3 }' | sort -k2)
versions=$(printf '%s\n' "$table" | awk 'NF >= 3 && $2 == "A" { print $3 }' | sort -u | tr '\n' ' ')

status=0
count=0
bad=""
names=" "
while read -r type name; do
	[ -n "$name" ] || continue
	count=$((count + 1))
	names="$names$name "
	case $name in
	jlog_*) ;; # includes the private jlog__ ones
	*) bad="$bad $name($type)" ;;
	esac
done <<EOF
$symbols
EOF

echo "check-exports: $lib: $count exported symbol(s); version nodes: ${versions:-none}"
printf '%s\n' "$symbols" | sed -e '/^$/d' -e 's/^/  /'

if [ -n "$bad" ]; then
	echo "check-exports: FAIL: exported without the jlog_ prefix:$bad" >&2
	status=1
fi
missing=""
for f in $EXPECTED; do
	case $names in
	*" $f "*) ;;
	*) missing="$missing $f" ;;
	esac
done
if [ -n "$missing" ]; then
	echo "check-exports: FAIL: expected public functions missing:$missing" >&2
	status=1
fi
if [ "$status" -eq 0 ]; then
	echo "check-exports: OK"
fi
exit "$status"
