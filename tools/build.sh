#!/usr/bin/env bash
# Configure a build directory if needed, else apply new options, then build.
#
#   tools/build.sh BUILD_DIR [meson options...]
#
#   tools/build.sh build
#   tools/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
#
# A new BUILD_DIR gets `meson setup BUILD_DIR OPTIONS`; an existing one gets
# `meson configure BUILD_DIR OPTIONS` (only when options are given), so the
# same command works the first time and every time after. (Debian 12's meson
# 1.0.1 refuses `meson setup --reconfigure` on a directory that does not
# exist yet.) Options use the -Dname=value form, which both accept.
set -euo pipefail

if (($# < 1)) || [[ $1 == -* ]]; then
	echo "usage: $0 BUILD_DIR [meson options...]" >&2
	exit 2
fi

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=$1
shift

if [[ -f $builddir/build.ninja ]]; then
	if (($# > 0)); then
		meson configure "$builddir" "$@"
	fi
else
	if [[ -e $builddir/meson-private/coredata.dat ]]; then
		# An earlier setup failed half-way: start it over.
		meson setup --wipe "$builddir" "$srcdir" "$@"
	else
		meson setup "$builddir" "$srcdir" "$@"
	fi
fi

meson compile -C "$builddir"
