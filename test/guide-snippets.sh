#!/usr/bin/env bash
# Compile, run and check every fenced block of docs/GUIDE.md, so that the
# guide never shows code that no longer works.
#
#   test/guide-snippets.sh docs/GUIDE.md
#
# The block's info string (the words after the opening ```) says what it is:
#
#   c             a C program: compiled with -Wall -Wextra -Werror against
#                 the library, then run
#   c fragment    statements, run as the body of
#                     static void fragment(jlog_logger *log)
#                 where log is a root logger at level DEBUG writing JSON
#                 lines to stdout; <stdio.h>, <stdlib.h>, <string.h>,
#                 <errno.h>, <jansson.h> and <jlog.h> are included
#   cpp           a C++ program, compiled and run as a C program is
#   json config   a configuration document: opened with jlog_open_config()
#                 (test/guide-check.c: sinks under /var/log/ land in the
#                 scratch directory; a sink whose transport or a key the
#                 library does not have yet is SKIPPED, naming it)
#   sh run        a shell script, run with bash -euo pipefail
#   sh norun      a shell script shown only (it needs root, a server or
#                 a terminal); counted, never run
#   conf rsyslog  rsyslog configuration: checked with rsyslogd -N1
#   conf syslog-ng
#                 syslog-ng configuration: checked with syslog-ng -s
#                 (either SKIPPED when that server is not installed)
#   json output   the output the block before it must print: JSON lines,
#                 compared key by key (test/guide-check.c, "lines")
#   text output   the same, compared byte for byte
#   text sample   output that changes from run to run (figures): each of
#                 its lines must be a line of the output once every number
#                 is read as "#" and every run of blanks as one space, so
#                 the sample keeps the output's rows and columns
#
# A program or script with no output block after it must print JSON lines
# (at least one). Blocks run in order in one scratch directory, so a block
# may read what an earlier one wrote. A block without a known info string
# fails, so that no code hides from the test.
#
# Environment (test/meson.build sets it): GUIDE_CHECK (guide-check), GUIDE_CC
# and GUIDE_CXX (compiler commands; GUIDE_CXX may be empty), GUIDE_CFLAGS,
# GUIDE_LIBS (link arguments for the library), GUIDE_PATH (directories of
# jlog-pretty, jlog-bench, ... put first on PATH). GUIDE_KEEP=1 keeps the
# scratch directory.
#
# Exit status: 0 when no block failed (skipped ones are listed), 1 otherwise.
set -euo pipefail

guide=${1:?usage: guide-snippets.sh GUIDE.md}
: "${GUIDE_CHECK:?}" "${GUIDE_CC:?}" "${GUIDE_LIBS:?}"
GUIDE_CHECK=$(realpath "$GUIDE_CHECK")
GUIDE_CXX=${GUIDE_CXX:-}
GUIDE_CFLAGS=${GUIDE_CFLAGS:-}
guide_name=$(basename "$guide")

scratch=$(mktemp -d /tmp/jlog-guide-XXXXXX)
if [[ ${GUIDE_KEEP:-0} == 1 ]]; then
	echo "scratch directory: $scratch"
else
	trap 'rm -rf "$scratch"' EXIT
fi

# Extract: blocks/NNN holds block NNN's text, and each line of the manifest
# "NNN<TAB>first line<TAB>info string". An indented fence is an error: its
# code would be neither shown as a block nor checked.
mkdir -p "$scratch/blocks"
awk -v dir="$scratch/blocks" '
	/^[ \t]+```/ { printf "indented\t%d\t%s\n", NR, $0; next }
	/^```/ {
		if (!inside) {
			n++; inside = 1
			file = sprintf("%s/%03d", dir, n)
			printf "" > file
			info = substr($0, 4)
			gsub(/^[ \t]+|[ \t]+$/, "", info)
			printf "%03d\t%d\t%s\n", n, NR + 1, info
		} else {
			inside = 0
			close(file)
		}
		next
	}
	inside { print > file }
	END { if (inside) printf "unclosed\t%d\t\n", NR }
' "$guide" >"$scratch/manifest"

ok=0 failed=0 skipped=0 shown=0
report() { printf '%s:%s: %-14s %s\n' "$guide_name" "$1" "$2" "$3"; }
fail() {
	report "$1" "$2" "FAILED: $3"
	failed=$((failed + 1))
	if [[ -n ${4:-} && -s $4 ]]; then
		sed 's/^/    | /' "$4" | head -n 40
	fi
}

fragment_head='#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jlog.h>

static void fragment(jlog_logger *log)
{
	(void)log;
#line 1 "main.c"'
fragment_tail='}

int main(void)
{
	jlog_logger *log;
	jlog_options o;

	jlog_options_init(&o);
	o.sink = "stdout";
	o.level = JLOG_LEVEL_DEBUG;
	if (jlog_open(&log, &o) != 0) {
		fprintf(stderr, "jlog_open: %s\n", jlog_last_error());
		return 1;
	}
	fragment(log);
	return jlog_close(log) == 0 ? 0 : 1;
}'

# build N LINE KIND: compile block N (a program or a fragment) into
# $scratch/bN/prog. KIND: c, fragment or cpp.
build() {
	local n=$1 at=$2 kind=$3 d=$scratch/b$1 src compiler
	mkdir -p "$d"
	case $kind in
	fragment)
		src=$d/main.c
		{ printf '%s\n' "$fragment_head"; cat "$scratch/blocks/$n"; printf '%s\n' "$fragment_tail"; } >"$src"
		compiler=$GUIDE_CC ;;
	c) src=$d/main.c; cp "$scratch/blocks/$n" "$src"; compiler=$GUIDE_CC ;;
	cpp) src=$d/main.cc; cp "$scratch/blocks/$n" "$src"; compiler=$GUIDE_CXX ;;
	esac
	# shellcheck disable=SC2086 # the commands and flags are word lists
	if ! (cd "$scratch" && $compiler $GUIDE_CFLAGS -o "b$n/prog" "${src#"$scratch/"}" $GUIDE_LIBS) \
		>"$d/build.log" 2>&1; then
		fail "$at" "${kind/#fragment/c fragment}" "does not compile" "$d/build.log"
		return 1
	fi
}

# run_and_check N LINE KIND CMD...: run CMD in the scratch directory and
# check its output against the output block that follows block N, if any.
run_and_check() {
	local n=$1 at=$2 kind=$3 d=$scratch/b$1 rc=0
	shift 3
	(cd "$scratch" && PATH=${GUIDE_PATH:+$GUIDE_PATH:}$PATH timeout 300 "$@") \
		>"$d/out" 2>"$d/err" </dev/null || rc=$?
	if ((rc != 0)); then
		fail "$at" "$kind" "exit status $rc" "$d/err"
		return
	fi
	local expect=${expect_for[$n]:-}
	if [[ -z $expect ]]; then
		if "$GUIDE_CHECK" jsonl "$d/out" 1 2>"$d/check"; then
			report "$at" "$kind" "ok (JSON lines)"
			ok=$((ok + 1))
		else
			fail "$at" "$kind" "its output is not JSON lines (no output block follows)" "$d/check"
		fi
		return
	fi
	local eline=${expect%% *} ekind=${expect#* } want=$scratch/blocks/${expect_block[$n]}
	local how="the same as" rc=0
	case $ekind in
	sample)
		how="shaped as"
		awk '
			function shape(s) {
				gsub(/[0-9][0-9.,]*/, "#", s); gsub(/[ \t]+/, " ", s)
				sub(/^ /, "", s); sub(/ $/, "", s); return s
			}
			FNR == NR { have[shape($0)] = 1; next }
			shape($0) != "" && !(shape($0) in have) {
				print "no output line has the shape of: " $0; bad = 1
			}
			END { exit bad }
		' "$d/out" "$want" >"$d/check" || rc=$? ;;
	json) "$GUIDE_CHECK" lines "$want" "$d/out" 2>"$d/check" || rc=$? ;;
	*) diff -u "$want" "$d/out" >"$d/check" || rc=$? ;;
	esac
	if ((rc == 0)); then
		report "$at" "$kind" "ok (output $how at line $eline)"
		ok=$((ok + 1))
	else
		{ cat "$d/check"; echo "the output was:"; cat "$d/out"; } >"$d/check.all"
		fail "$at" "$kind" "output is not $how the block at line $eline" "$d/check.all"
	fi
}

# First pass: tie each output block to the runnable block before it.
declare -A expect_for expect_block
prev= prev_runnable=0
while IFS=$'\t' read -r n at info; do
	case $info in
	"json output" | "text output" | "text sample")
		if ((prev_runnable)); then
			kind=${info%% *}
			[[ $info == "text sample" ]] && kind=sample
			expect_for[$prev]="$at $kind"
			expect_block[$prev]=$n
		fi ;;
	esac
	case $info in
	c | "c fragment" | cpp | "sh run") prev_runnable=1 ;;
	*) prev_runnable=0 ;;
	esac
	prev=$n
done <"$scratch/manifest"

prev_runnable=0
while IFS=$'\t' read -r n at info; do
	case $n in
	indented) fail "$at" fence "an indented code fence: put it at the start of the line"; continue ;;
	unclosed) fail "$at" fence "a code fence is not closed"; continue ;;
	esac
	runnable=0
	case $info in
	c)
		runnable=1
		build "$n" "$at" c && run_and_check "$n" "$at" c "b$n/prog" ;;
	"c fragment")
		runnable=1
		build "$n" "$at" fragment && run_and_check "$n" "$at" "c fragment" "b$n/prog" ;;
	cpp)
		runnable=1
		if [[ -z $GUIDE_CXX ]]; then
			report "$at" cpp "SKIPPED: no C++ compiler in this build"
			skipped=$((skipped + 1))
		else
			build "$n" "$at" cpp && run_and_check "$n" "$at" cpp "b$n/prog"
		fi ;;
	"sh run")
		runnable=1
		mkdir -p "$scratch/b$n"
		cp "$scratch/blocks/$n" "$scratch/b$n/script.sh"
		run_and_check "$n" "$at" "sh run" bash -euo pipefail "b$n/script.sh" ;;
	"sh norun")
		report "$at" "sh norun" "shown only"
		shown=$((shown + 1)) ;;
	"json config")
		mkdir -p "$scratch/b$n"
		rc=0
		(cd "$scratch" && "$GUIDE_CHECK" config "blocks/$n") >"$scratch/b$n/out" 2>"$scratch/b$n/err" || rc=$?
		if ((rc == 0)); then
			report "$at" "json config" "ok (jlog_open_config)"
			ok=$((ok + 1))
		elif ((rc == 77)); then
			report "$at" "json config" "$(cat "$scratch/b$n/out")"
			skipped=$((skipped + 1))
		else
			fail "$at" "json config" "jlog_open_config refuses it" "$scratch/b$n/err"
		fi ;;
	"conf rsyslog")
		if ! command -v rsyslogd >/dev/null; then
			report "$at" "conf rsyslog" "SKIPPED: rsyslogd is not installed here"
			skipped=$((skipped + 1))
		elif rsyslogd -N1 -f "$scratch/blocks/$n" >"$scratch/blocks/$n.log" 2>&1; then
			report "$at" "conf rsyslog" "ok (rsyslogd -N1)"
			ok=$((ok + 1))
		else
			fail "$at" "conf rsyslog" "rsyslogd -N1 refuses it" "$scratch/blocks/$n.log"
		fi ;;
	"conf syslog-ng")
		if ! command -v syslog-ng >/dev/null; then
			report "$at" "conf syslog-ng" "SKIPPED: syslog-ng is not installed here"
			skipped=$((skipped + 1))
		else
			# A conf.d snippet has no @version line: give it the
			# installed server's.
			ver=$(syslog-ng --version | sed -n 's/^syslog-ng [0-9]* (\([0-9]*\.[0-9]*\).*/\1/p')
			{ echo "@version: $ver"; cat "$scratch/blocks/$n"; } >"$scratch/blocks/$n.conf"
			if syslog-ng -s -f "$scratch/blocks/$n.conf" >"$scratch/blocks/$n.log" 2>&1; then
				report "$at" "conf syslog-ng" "ok (syslog-ng -s)"
				ok=$((ok + 1))
			else
				fail "$at" "conf syslog-ng" "syslog-ng -s refuses it" "$scratch/blocks/$n.log"
			fi
		fi ;;
	"json output" | "text output" | "text sample")
		if ((!prev_runnable)); then
			fail "$at" "$info" "follows no c, cpp or sh run block"
		fi ;;
	*)
		fail "$at" "${info:-(none)}" "unknown info string: say what the block is (see test/guide-snippets.sh)" ;;
	esac
	prev_runnable=$runnable
done <"$scratch/manifest"

echo "$guide_name: $ok ok, $skipped skipped, $shown shown only, $failed failed"
((failed == 0))
