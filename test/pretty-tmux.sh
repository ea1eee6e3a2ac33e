#!/usr/bin/env bash
# jlog-pretty on a terminal, as a person runs it: in a tmux pane of a fixed
# size, the command is typed into a shell, and the pane is captured with
# its colors (capture-pane -e) to check the escape codes and the layout.
# A private tmux server (-S) keeps this away from anyone's sessions.
# Skips (77) only when tmux is missing or cannot start.
#
#   JLOG_PRETTY=build/tools/jlog-pretty test/pretty-tmux.sh
set -uo pipefail

P=$(realpath "${JLOG_PRETTY:?set JLOG_PRETTY to the jlog-pretty binary}")
command -v tmux >/dev/null || {
	echo "tmux not installed: skip"
	exit 77
}
T=$(mktemp -d /tmp/jlog-pretty-tmux.XXXXXX)
# The server's socket lives in the test's directory, removed with it.
tm() {
	tmux -S "$T/tmux.sock" -f /dev/null "$@"
}
cleanup() {
	tm kill-server 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
unset NO_COLOR FORCE_COLOR TMUX
export TERM=xterm-256color

fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

cat >"$T/app.jsonl" <<'LOG'
{"time":"2026-11-26T04:02:03.123456Z","level":"INFO","message":"request handled","logger":"api","file":"server.c","line":42,"function":"handle","pid":4242,"tid":4243,"user":"alice","status":200}
{"time":"2026-11-26T04:02:04.000000Z","level":"WARNING","message":"slow","logger":"db","file":"pool.c","line":7,"function":"get","pid":4242,"tid":4243,"ms":912}
{"time":"2026-11-26T04:02:05.000000Z","level":"ERROR","message":"failed \u001b[2J","logger":"api","file":"server.c","line":50,"function":"handle","pid":4242,"tid":4243}
a line that is not JSON
LOG

if ! tm new-session -d -s t -x 160 -y 20 "env -i PATH=$PATH TERM=$TERM HOME=$T HISTFILE=/dev/null PS1='$ ' bash --norc --noprofile" 2>"$T/err"; then
	echo "tmux cannot start ($(cat "$T/err")): skip"
	exit 77
fi

# run COMMAND - type it into the pane, wait for it to finish, capture.
# The marker is computed, so the typed command never matches it, and
# numbered, so the previous command's marker (on the pane until the shell
# runs `clear`) is not taken for this one's.
runs=0
run() {
	runs=$((runs + 1))
	tm send-keys -t t "clear; $1; echo __DONE__\$((6 * 7))_$runs" Enter
	for _ in $(seq 600); do
		if tm capture-pane -p -t t | grep -q "^__DONE__42_$runs\$"; then
			tm capture-pane -e -p -t t >"$T/pane"
			tm capture-pane -p -t t >"$T/plain"
			return 0
		fi
		sleep 0.05
	done
	fail "\"$1\" did not finish: $(tm capture-pane -p -t t)"
	return 1
}

E=$'\e'
run "$P $T/app.jsonl"
pane=$(cat "$T/pane")
plain=$(cat "$T/plain")
# Layout: one line per record, columns as loguru's default format.
grep -q '^2026-11-26 04:02:03.123 | INFO     | api:handle:42 - request handled user=alice status=200$' "$T/plain" ||
	fail "layout of the INFO line: $plain"
grep -q '^2026-11-26 04:02:04.000 | WARNING  | db:get:7 - slow ms=912$' "$T/plain" ||
	fail "layout of the WARNING line: $plain"
grep -q '^2026-11-26 04:02:05.000 | ERROR    | api:handle:50 - failed \\u001b\[2J$' "$T/plain" ||
	fail "the escape sequence in the message is shown, not run: $plain"
grep -q '^a line that is not JSON$' "$T/plain" || fail "pass-through line: $plain"
# Colors, as tmux redraws them: green time, cyan source, the levels' colors,
# a dim pass-through line.
[[ $pane == *"${E}[32m2026-11-26 04:02:03.123"* ]] || fail "time not green: $pane"
[[ $pane == *"${E}[36mapi"* ]] || fail "logger not cyan: $pane"
[[ $pane == *"${E}[1mINFO"* ]] || fail "INFO not bold: $pane"
[[ $pane == *"${E}[1m${E}[33mWARNING"* || $pane == *"${E}[33m${E}[1mWARNING"* || $pane == *"${E}[1;33mWARNING"* ]] ||
	fail "WARNING not bold yellow: $pane"
[[ $pane == *"${E}[1m${E}[31mERROR"* || $pane == *"${E}[31m${E}[1mERROR"* || $pane == *"${E}[1;31mERROR"* ]] ||
	fail "ERROR not bold red: $pane"
[[ $pane == *"${E}[2ma line that is not JSON"* || $pane == *"${E}[0;2m"*"a line that is not JSON"* ]] || fail "pass-through not dim: $pane"

# NO_COLOR on a terminal: the same layout, no color.
run "NO_COLOR=1 $P $T/app.jsonl"
pane=$(cat "$T/pane")
[[ $pane != *"${E}[3"* && $pane != *"${E}[1m"* ]] || fail "NO_COLOR: colors in: $pane"
grep -q '| WARNING  | db:get:7 - slow ms=912$' "$T/plain" || fail "NO_COLOR layout: $(cat "$T/plain")"

# A filter on a terminal.
run "$P --level ERROR $T/app.jsonl"
[[ $(grep -c ' | ' "$T/plain") == 1 ]] || fail "--level ERROR: $(cat "$T/plain")"

# Piped on: no color, even from a terminal.
run "$P $T/app.jsonl | cat"
pane=$(cat "$T/pane")
[[ $pane != *"${E}[32m"* ]] || fail "colors into a pipe: $pane"

# --help fits a terminal of 80 columns.
if awk 'length > 80 { bad = 1 } END { exit !bad }' < <("$P" --help); then
	fail "--help has lines longer than 80 columns"
fi

echo "pretty-tmux: $fails failed"
((fails == 0))
