#!/usr/bin/env bash
# jlog-config as a reviewer runs it: check (exit status, every error with
# its key path, the library's own messages, nothing opened) and show (the
# defaults filled in, the environment's overrides applied or not).
#
#   JLOG_CONFIG_TOOL=build/tools/jlog-config test/jlog-config.sh
set -uo pipefail

C=${JLOG_CONFIG_TOOL:?set JLOG_CONFIG_TOOL to the jlog-config binary}
T=$(mktemp -d /tmp/jlog-config-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset JLOG_LEVEL JLOG_SINK JLOG_FORMAT JLOG_SERIALIZE JLOG_COLORIZE JLOG_CONFIG
fails=0
n=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# has NAME OUTPUT TEXT... - OUTPUT contains each TEXT (fixed strings).
has() {
	local name=$1 out=$2
	shift 2
	n=$((n + 1))
	for want in "$@"; do
		[[ $out == *"$want"* ]] || fail "$name: no \"$want\" in: $out"
	done
}

# lacks NAME OUTPUT TEXT - OUTPUT does not contain TEXT.
lacks() {
	n=$((n + 1))
	[[ $2 != *"$3"* ]] || fail "$1: \"$3\" in: $2"
}

# status NAME WANT GOT
status() {
	n=$((n + 1))
	[[ $2 == "$3" ]] || fail "$1: exit status $3, expected $2"
}

out=$("$C" --help)
status help 0 $?
has help "$out" "check" "show" "key path"
"$C" >/dev/null 2>&1
status "no arguments" 2 $?
"$C" frob x >/dev/null 2>&1
status "unknown command" 2 $?

cat >"$T/good.json" <<JSON
{"level": "INFO", "modules": {"db.pool": "DEBUG"},
 "redact": {"keys": ["password", "**.secret"], "detect": ["bearer"]},
 "sinks": [{"sink": "$T/app.jsonl", "preset": "ecs", "options": null},
           {"sink": "stderr", "format": "{message}", "level": "WARNING"}]}
JSON
# "options" is not a key of a document's sink: take it out again.
sed -i 's/, "options": null//' "$T/good.json"
out=$("$C" check "$T/good.json" 2>&1)
status "check valid" 0 $?
has "check valid" "$out" "valid"
[[ -e $T/app.jsonl ]] && fail "check created the sink's file"
n=$((n + 1))

cat >"$T/bad.json" <<JSON
{"queue_size": 10, "redact": {"mode": "blur", "keys": ["ok", 3]},
 "sinks": [{"sink": "$T/a.log", "preset": "elk"}, {"sink": "stderr", "colour": 1},
           {"sink": "stderr", "format": "{foo}"}]}
JSON
out=$("$C" check "$T/bad.json" 2>&1)
status "check invalid" 1 $?
has "check invalid, every error" "$out" \
	"queue_size: 10 is out of range" \
	"redact.mode: expected \"replace\", \"remove\" or \"hash\", got \"blur\"" \
	"redact.keys[1]: expected a string" \
	"sinks[0].preset: unknown preset \"elk\"" \
	"sinks[1].colour: unknown key" \
	"sinks[2]: format: unknown field {foo}"
[[ -e $T/a.log ]] && fail "check created a sink's file"
n=$((n + 1))

echo '{"level": ' >"$T/broken.json"
out=$("$C" check "$T/broken.json" 2>&1)
status "not JSON" 1 $?
has "not JSON" "$out" "invalid JSON at line"
"$C" check "$T/missing.json" >/dev/null 2>&1
status "no such file" 2 $?
out=$(echo '{"level": "LOUD"}' | "$C" check - 2>&1)
status "stdin" 1 $?
has "stdin" "$out" "level:"

out=$("$C" show "$T/good.json")
status show 0 $?
has "show: defaults and given values" "$out" \
	'"queue_size": 4194304' '"overflow": "block"' '"flush_interval_ms": 50' \
	'"close_timeout_ms": 5000' '"preset": "ecs"' '"db.pool": "DEBUG"' \
	'"replacement": "[REDACTED]"' '"mode": "replace"' '"case_sensitive": false' \
	'"format": "{message}"' '"level": "WARNING"' '"catch": true' '"file_mode": "0640"'
if command -v jq >/dev/null; then
	n=$((n + 1))
	lvl=$(echo "$out" | jq -r '.sinks[1].level') || fail "show: not JSON"
	[[ $lvl == WARNING ]] || fail "show: sink 1 level $lvl, expected WARNING"
fi
out=$(JLOG_LEVEL=DEBUG JLOG_SINK=stdout "$C" show "$T/good.json")
has "show: environment overrides" "$out" '"level": "DEBUG"' '"sink": "stdout"'
out=$(JLOG_LEVEL=DEBUG "$C" show --no-env "$T/good.json")
[[ $out == *'"level": "DEBUG"'* ]] && fail "show --no-env applied JLOG_LEVEL"
n=$((n + 1))
out=$("$C" show '{}')
has "show: an empty document" "$out" '"sink": "stderr"' '"serialize": true' '"redact": null'
has "show: recorder and stats off" "$out" '"flight_recorder": null' '"stats_interval_ms": 0'
out=$("$C" show '{"flight_recorder": {"records": 200, "trigger": "WARNING"}, "stats_interval_ms": 10000}')
has "show: flight recorder and stats record" "$out" '"records": 200' '"bytes": 262144' \
	'"level": "DEBUG"' '"trigger": "WARNING"' '"stats_interval_ms": 10000'
out=$("$C" check '{"flight_recorder": {"records": 5, "level": "ERROR"}}' 2>&1)
status "check flight_recorder" 1 $?
has "check flight_recorder" "$out" 'flight_recorder.trigger: must be above "level"'
out=$("$C" show "$T/bad.json" 2>&1)
status "show invalid" 1 $?
has "show invalid" "$out" "queue_size: 10 is out of range"
out=$(JLOG_LEVEL=LOUD "$C" check --env "$T/good.json" 2>&1)
status "check --env" 0 $?
# A key taken out to find the next error leaves its object without it:
# that is not reported as an error of the document, and the errors after
# it are still found (a list element is taken out with its list).
out=$("$C" check '{"rate_limit": {"per_second": 0}, "queue_size": 5}' 2>&1)
status "check a bad required key" 1 $?
has "check a bad required key" "$out" "rate_limit.per_second: 0 is out of range" \
	"queue_size: 5 is out of range"
lacks "check a bad required key" "$out" "is required"
echo '{"levels": [{"name": "NOTICE", "no": 999}], "queue_size": 10,
	"sinks": [{"sink": "stdout", "preset": "elk"}]}' >"$T/levels.json"
out=$("$C" check "$T/levels.json" 2>&1)
status "check a bad level" 1 $?
has "check a bad level" "$out" "levels[0].no: 999 is out of range" \
	"queue_size: 10 is out of range" 'sinks[0].preset: unknown preset "elk"'
lacks "check a bad level" "$out" 'a level needs'
[[ $(grep -c . <<<"$out") == 3 ]] || fail "check a bad level: not three lines: $out"
# A list element refused, then its stand-in too, leaves the list: the
# elements after it are still checked, under the document's indexes.
echo '{"redact": {"keys": ["a"], "detect": ["x", "bearer", "y"]},
	"levels": [{"name": "N1", "no": 999}, {"name": "N2", "no": 1000}]}' >"$T/lists.json"
out=$("$C" check "$T/lists.json" 2>&1)
status "check lists" 1 $?
has "check lists" "$out" 'redact.detect[0]: unknown detector "x"' \
	'redact.detect[2]: unknown detector "y"' "levels[0].no: 999 is out of range" \
	"levels[1].no: 1000 is out of range"
[[ $(grep -c . <<<"$out") == 4 ]] || fail "check lists: not four lines: $out"
# An error beside the key taken out that names it is not the document's.
printf 'short' >"$T/short.key"
out=$("$C" check "{\"redact\": {\"keys\": [\"a\"], \"mode\": \"hash\",
	\"hash_key_file\": \"$T/short.key\"}, \"queue_size\": 3}" 2>&1)
status "check a short hash key" 1 $?
has "check a short hash key" "$out" "redact.hash_key_file: the key has 5 bytes" \
	"queue_size: 3 is out of range"
lacks "check a short hash key" "$out" "needs hash_key_file"

echo "$n checks, $fails failed"
((fails == 0))
