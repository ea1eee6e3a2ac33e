#!/usr/bin/env bash
# Install what jlog needs to build, test, fuzz and benchmark, on Debian 12.
#
#   tools/install-deps.sh
#
# Idempotent and quick: packages already installed are detected with
# dpkg-query, and apt-get (update + install) runs only for missing ones.
# Runs as root (directly or through sudo); as another user it uses sudo if
# there is something to install. Never reads stdin.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
	build-essential    # gcc, make, libc headers
	g++                # tests/build-cxx.cc, the C++ bench peer
	meson
	ninja-build
	pkg-config
	libjansson-dev     # config, JSON fields, the test oracle
	check              # unit test framework
	zlib1g-dev         # gz: rotated files, jlog-pretty (meson feature zlib)
	libzstd-dev        # zst: rotated files, jlog-pretty (meson feature zstd)
	logrotate          # test-logrotate runs the real command
	valgrind           # meson test --setup valgrind
	clang              # fuzzing (libFuzzer) and sanitizers
	libclang-rt-14-dev # clang's sanitizer and libFuzzer runtimes
	libspdlog-dev      # optional benchmark peer
	gnuplot-nox        # benchmark plots
	tmux               # jlog-pretty's terminal tests
	zstd               # makes the .zst file of jlog-pretty's tests
)

die() {
	echo "install-deps: $*" >&2
	exit 1
}

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: this script supports Debian 12 (bookworm) only; install the equivalents of: ${PACKAGES[*]}"

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ $status != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#PACKAGES[@]} packages are installed"
	exit 0
fi

echo "install-deps: missing: ${missing[*]}"

as_root=()
if ((EUID != 0)); then
	command -v sudo >/dev/null 2>&1 ||
		die "not root and sudo is not available; run as root: apt-get install ${missing[*]}"
	# Without a terminal sudo cannot ask for a password: fail at once
	# rather than hang.
	if [[ -t 0 ]]; then
		as_root=(sudo)
	else
		as_root=(sudo -n)
	fi
fi

apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q
	-o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)

"${apt[@]}" update </dev/null
"${apt[@]}" install -y --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}" </dev/null

for pkg in "${missing[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || die "$pkg is still not installed ($status)"
done
echo "install-deps: installed ${missing[*]}"
