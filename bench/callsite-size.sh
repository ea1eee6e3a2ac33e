#!/bin/sh
# callsite-size.sh [-n "1 200 2000"] [-r RUNS] [-t TIMEOUT] [-p "jlog jlog-compact fprintf spdlog"]
#
# The cost of a log statement at its call site: generates C files of N
# statements of the standard record (INFO "request handled", user str,
# status int, latency_ms double, cached bool, path str), all in one
# function ("one") and one function per statement ("many"), compiles each
# with gcc and clang at -O2 -c, and prints the .text bytes per statement
# (sum of the .text* sections, `size -A`) and the compile time per
# statement (median of RUNS runs): wall clock, and the compiler's CPU time
# (user + system, from /usr/bin/time when installed), which a loaded
# machine inflates far less than the wall clock. jlog is the default
# (inline) call site, jlog-compact the same file with JLOG_COMPACT_CALLSITES
# defined before jlog.h. Peers in the same run: the
# same record as fprintf() with a JSON format, and spdlog's SPDLOG_INFO
# (fmt) when its headers are installed (g++/clang++). A compile slower
# than TIMEOUT seconds is reported as ">TIMEOUT".
#
# Run from the source tree: sh bench/callsite-size.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
counts="1 200 2000"
runs=3
tmo=120
peers="jlog jlog-compact fprintf spdlog"
while getopts n:r:t:p: o; do
	case $o in
	n) counts=$OPTARG ;;
	r) runs=$OPTARG ;;
	t) tmo=$OPTARG ;;
	p) peers=$OPTARG ;;
	*) exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/jlog-callsite.XXXXXX")
trap 'rm -rf "$work"' EXIT

# stmt PEER: one statement of the standard record, values from parameters.
stmt() {
	case $1 in
	jlog | jlog-compact)
		printf '\tJLOG_INFO(log, "request handled", JLOG_STR("user", user), JLOG_INT("status", status), JLOG_DOUBLE("latency_ms", ms), JLOG_BOOL("cached", cached), JLOG_STR("path", path));\n' ;;
	fprintf)
		printf '\tfprintf(stderr, "{\\"level\\":\\"info\\",\\"message\\":\\"request handled\\",\\"user\\":\\"%%s\\",\\"status\\":%%d,\\"latency_ms\\":%%g,\\"cached\\":%%s,\\"path\\":\\"%%s\\"}\\n", user, status, ms, cached ? "true" : "false", path);\n' ;;
	spdlog)
		printf '\tSPDLOG_INFO("request handled user={} status={} latency_ms={} cached={} path={}", user, status, ms, cached, path);\n' ;;
	esac
}

head_of() {
	case $1 in
	jlog) printf '#include <jlog.h>\n' ;;
	jlog-compact) printf '#define JLOG_COMPACT_CALLSITES\n#include <jlog.h>\n' ;;
	fprintf) printf '#include <stdbool.h>\n#include <stdio.h>\n' ;;
	spdlog) printf '#include <spdlog/spdlog.h>\n' ;;
	esac
}

# gen PEER N SHAPE FILE
gen() {
	{
		head_of "$1"
		params='void *log, const char *user, int status, double ms, bool cached, const char *path'
		case $1 in jlog*) params='jlog_logger *log, const char *user, int status, double ms, bool cached, const char *path' ;; esac
		if [ "$3" = one ]; then
			printf 'void f0(%s);\nvoid f0(%s)\n{\n\t(void)log;\n' "$params" "$params"
			i=0
			while [ $i -lt "$2" ]; do stmt "$1"; i=$((i + 1)); done
			printf '}\n'
		else
			i=0
			while [ $i -lt "$2" ]; do
				printf 'void f%d(%s);\nvoid f%d(%s)\n{\n\t(void)log;\n' $i "$params" $i "$params"
				stmt "$1"
				printf '}\n'
				i=$((i + 1))
			done
		fi
	} >"$4"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

spdlog_flags=$(pkg-config --cflags spdlog 2>/dev/null || true)
have_spdlog=0
printf '#include <spdlog/spdlog.h>\n' >"$work/probe.cc"
if g++ $spdlog_flags -fsyntax-only "$work/probe.cc" 2>/dev/null; then have_spdlog=1; fi

timer=
if [ -x /usr/bin/time ]; then timer="/usr/bin/time -f %U+%S -o $work/cpu"; fi

printf '%-12s %-8s %-5s %6s %12s %14s %10s\n' peer compiler shape stmts text_B/stmt compile_ms/stmt cpu_ms/stmt
for peer in $peers; do
	[ "$peer" = spdlog ] && [ $have_spdlog = 0 ] && continue
	for comp in gcc clang; do
		case $peer in
		spdlog) ext=cc; [ $comp = gcc ] && cc=g++ || cc=clang++; flags="-std=c++17 $spdlog_flags" ;;
		*) ext=c; cc=$comp; flags="-std=c11 -I$root/include" ;;
		esac
		command -v $cc >/dev/null 2>&1 || continue
		for n in $counts; do
			for shape in one many; do
				[ "$n" = 1 ] && [ $shape = many ] && continue
				src="$work/$peer-$n-$shape.$ext"
				gen "$peer" "$n" "$shape" "$src"
				ok=1
				: >"$work/times"
				: >"$work/cpus"
				r=0
				while [ $r -lt "$runs" ]; do
					t0=$(date +%s%N)
					if ! timeout "$tmo" $timer $cc -O2 $flags -c "$src" -o "$work/o.o" 2>"$work/err"; then
						ok=0
						break
					fi
					t1=$(date +%s%N)
					echo $(((t1 - t0) / 1000)) >>"$work/times"
					if [ -n "$timer" ]; then
						echo "$(cat "$work/cpu")" | awk -F+ '{print ($1 + $2) * 1e6}' >>"$work/cpus"
					else
						echo 0 >>"$work/cpus"
					fi
					r=$((r + 1))
				done
				if [ $ok = 0 ]; then
					if [ -s "$work/err" ]; then cat "$work/err" >&2; fi
					printf '%-12s %-8s %-5s %6d %12s %14s %10s\n' $peer $comp $shape $n - ">${tmo}s" -
					continue
				fi
				text=$(size -A "$work/o.o" | awk '$1 ~ /^\.text/ {s += $2} END {print s + 0}')
				us=$(median <"$work/times")
				cpu=$(median <"$work/cpus")
				printf '%-12s %-8s %-5s %6d %12.0f %14.2f %10.2f\n' $peer $comp $shape $n \
					"$(echo "$text $n" | awk '{print $1 / $2}')" \
					"$(echo "$us $n" | awk '{print $1 / $2 / 1000}')" \
					"$(echo "$cpu $n" | awk '{print $1 / $2 / 1000}')"
			done
		done
	done
done
