#!/usr/bin/env bash
# jlog-pretty through a pipe, as scripts and people use it: every input
# shape, filter, compressed input, pass-through, escaping, the color rules,
# following a rotated file, and the options' errors. The output is text for
# people, so the checks are on its text.
#
#   JLOG_PRETTY=build/tools/jlog-pretty test/pretty-cli.sh
set -uo pipefail

P=${JLOG_PRETTY:?set JLOG_PRETTY to the jlog-pretty binary}
T=$(mktemp -d /tmp/jlog-pretty-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset NO_COLOR FORCE_COLOR
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
		if [[ $out != *"$want"* ]]; then
			fail "$name: no \"$want\" in: $out"
			return
		fi
	done
}

# hasnt NAME OUTPUT TEXT... - OUTPUT contains no TEXT.
hasnt() {
	local name=$1 out=$2
	shift 2
	n=$((n + 1))
	for bad in "$@"; do
		if [[ $out == *"$bad"* ]]; then
			fail "$name: \"$bad\" in: $out"
			return
		fi
	done
}

lines() {
	printf '%s' "$1" | grep -c '' || true
}

pretty() {
	"$P" "$@" 2>&1
}

ESC=$'\e'
STD='{"time":"2026-11-26T04:02:03.123456Z","level":"INFO","message":"request handled","logger":"api","file":"server.c","line":42,"function":"handle","pid":4242,"tid":4243,"user":"alice","status":200,"latency_ms":12.5,"cached":true}'
WANT='2026-11-26 04:02:03.123 | INFO     | api:handle:42 - request handled user=alice status=200 latency_ms=12.5 cached=true'

# ---- shapes: jlog's schema and presets ----------------------------------------
out=$(printf '%s\n' "$STD" | pretty)
[[ $out == "$WANT" ]] || fail "default schema: got: $out"
n=$((n + 1))

ecs='{"@timestamp":"2026-11-26T04:02:03.123456Z","log.level":"info","message":"request handled","log.logger":"api","log.origin.file.name":"server.c","log.origin.file.line":42,"log.origin.function":"handle","process.pid":4242,"process.thread.id":4243,"ecs.version":"8.11.0","user":"alice","status":200,"latency_ms":12.5,"cached":true}'
gcp='{"severity":"INFO","message":"request handled","timestamp":"2026-11-26T04:02:03.123456Z","logging.googleapis.com/sourceLocation":{"file":"server.c","line":"42","function":"handle"},"logging.googleapis.com/labels":{"logger":"api"},"pid":4242,"tid":4243,"user":"alice","status":200,"latency_ms":12.5,"cached":true}'
otel='{"Timestamp":"1795665723123456000","SeverityText":"INFO","SeverityNumber":9,"Body":"request handled","Resource":{"process.pid":4242},"InstrumentationScope":{"name":"api"},"Attributes":{"code.filepath":"server.c","code.lineno":42,"code.function":"handle","thread.id":4243,"user":"alice","status":200,"latency_ms":12.5,"cached":true}}'
loguru='{"text":"2026-11-26 04:02:03.123 | INFO     | api:handle:42 - request handled\n","record":{"elapsed":{"repr":"0:00:00.000288","seconds":0.000288},"exception":null,"extra":{"user":"alice","status":200,"latency_ms":12.5,"cached":true},"file":{"name":"server.c","path":"server.c"},"function":"handle","level":{"icon":"i","name":"INFO","no":20},"line":42,"message":"request handled","module":"server","name":"api","process":{"id":4242,"name":"srv"},"thread":{"id":4243,"name":"MainThread"},"time":{"repr":"2026-11-26 04:02:03.123456+00:00","timestamp":1795665723.123456}}}'
for shape in ecs gcp otel loguru; do
	out=$(printf '%s\n' "${!shape}" | pretty)
	[[ $out == "$WANT" ]] || fail "preset $shape: got: $out"
	n=$((n + 1))
done

# ---- other loggers' shapes ------------------------------------------------------
out=$(echo '{"level":"warn","ts":1795665723.5,"logger":"db","caller":"store/pool.go:42","msg":"slow","conns":4}' | pretty)
has zap "$out" '2026-11-26 04:02:03.500 | WARNING  | db:42 - slow conns=4'
out=$(echo '{"level":"error","time":"2026-11-26T05:02:03+01:00","caller":"/src/main.go:17","message":"failed","ms":912}' | pretty)
has zerolog "$out" '2026-11-26 04:02:03.000 | ERROR    | main:17 - failed ms=912'
out=$(echo '{"level":40,"time":1795665723123,"pid":812,"hostname":"web1","name":"api","msg":"disk full"}' | pretty)
has pino "$out" '2026-11-26 04:02:03.123 | WARNING  | api - disk full hostname=web1'
out=$(echo '{"name":"api","hostname":"web1","pid":812,"level":50,"msg":"boom","time":"2026-11-26T04:02:03.123Z","v":0}' | pretty)
has bunyan "$out" '2026-11-26 04:02:03.123 | ERROR    | api - boom hostname=web1 v=0'
out=$(echo '{"file":"/src/app/main.go:88","func":"main.fetch","level":"warning","msg":"retrying","time":"2026-11-26T04:02:03Z","attempt":2}' | pretty)
has logrus "$out" '2026-11-26 04:02:03.000 | WARNING  | main:main.fetch:88 - retrying attempt=2'
out=$(echo '{"time":"2026-11-26T04:02:03.123456789Z","level":"DEBUG","source":{"function":"main.handle","file":"/src/h.go","line":51},"msg":"got","status":502}' | pretty)
has slog "$out" '2026-11-26 04:02:03.123 | DEBUG    | h:main.handle:51 - got status=502'
out=$(echo '{"time":"2026-11-26T04:02:03Z","level":"INFO+2","msg":"between"}' | pretty)
has slog-offset "$out" '| INFO     | between'
# A plain "logger" in a preset's line is a call's field: the presets name
# the logger in keys of their own.
for shape in ecs gcp otel; do
	line=${!shape}
	line=${line/\"user\":\"alice\"/\"user\":\"alice\",\"logger\":\"fake\"}
	out=$(printf '%s\n' "$line" | pretty)
	has "preset $shape, a logger field" "$out" '| api:handle:42 - request handled' 'logger=fake'
	out=$(printf '%s\n' "$line" | pretty --logger fake)
	[[ -z $out ]] || fail "preset $shape: --logger matched a field: $out"
	n=$((n + 1))
done
# A level number between pino's keeps the number beside the level it maps to.
out=$(echo '{"level":35,"time":1795665723123,"msg":"between","pid":1}' | pretty)
has pino-between "$out" '| INFO     | between level=35'
out=$(echo '{"msg":"no time, no level"}' | pretty)
[[ $out == 'INFO     | no time, no level' ]] || fail "bare record: got: $out"
n=$((n + 1))
out=$(echo '{"message":"m","level":"verbose?","nested":{"a":[1,2]},"n":null,"big":18446744073709551615,"neg":-5}' | pretty)
has extras "$out" 'level=verbose?' 'nested={"a":[1,2]}' 'n=null' 'big=18446744073709551615' 'neg=-5'

# ---- filters ----------------------------------------------------------------
mix="$T/mix.jsonl"
{
	echo '{"time":"2026-11-26T04:00:00Z","level":"DEBUG","message":"d1","logger":"db","status":200,"user":"alice"}'
	echo '{"time":"2026-11-26T04:01:00Z","level":"INFO","message":"i1","logger":"db.pool","status":404,"user":"bob"}'
	echo '{"time":"2026-11-26T04:02:00Z","level":"WARNING","message":"w1","logger":"dbx","status":500,"user":"alice smith"}'
	echo '{"time":"2026-11-26T04:03:00Z","level":"ERROR","message":"e1","logger":"api","status":503}'
	echo '{"level":30,"msg":"pino-info","time":1795665780000}'
	echo '{"level":50,"msg":"pino-error","time":1795665780000}'
	echo 'plain text line'
} >"$mix"
out=$(pretty --level WARNING "$mix")
has level-name "$out" w1 e1 pino-error 'plain text line'
hasnt level-name "$out" d1 i1 pino-info
out=$(pretty --level 40 "$mix")
has level-number "$out" e1 pino-error
hasnt level-number "$out" w1 i1
out=$(pretty -l warn "$mix")
has level-alias "$out" w1
hasnt level-alias "$out" i1
out=$(pretty --logger db "$mix")
has logger "$out" d1 i1
hasnt logger "$out" w1 e1 pino
out=$(pretty --where user=alice "$mix")
has where-eq "$out" d1
hasnt where-eq "$out" i1 w1 e1
out=$(pretty --where 'user!=alice' "$mix")
has where-ne "$out" i1 w1 e1
hasnt where-ne "$out" d1
out=$(pretty --where 'status>404' "$mix")
has where-gt "$out" w1 e1
hasnt where-gt "$out" d1 i1
out=$(pretty --where 'status<404' "$mix")
has where-lt "$out" d1
hasnt where-lt "$out" i1 w1 e1 pino
out=$(pretty --where 'status>=404' --where 'status<=500' "$mix")
has where-range "$out" i1 w1
hasnt where-range "$out" d1 e1
out=$(pretty --where 'user~smith' "$mix")
has where-has "$out" w1
hasnt where-has "$out" d1 i1
out=$(pretty --where 'message~pino' --where 'level=ERROR' "$mix")
has where-all "$out" pino-error
hasnt where-all "$out" pino-info e1
out=$(pretty --since 2026-11-26T04:01:30Z --until 2026-11-26T04:02:30Z "$mix")
has since-until "$out" w1
hasnt since-until "$out" d1 i1 e1 pino
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
old=$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)
rel=$(printf '{"time":"%s","message":"recent"}\n{"time":"%s","message":"stale"}\n' "$now" "$old" |
	pretty --since 10m)
has since-relative "$rel" recent
hasnt since-relative "$rel" stale
rel=$(printf '{"time":"%s","message":"recent"}\n{"time":"%s","message":"stale"}\n' "$now" "$old" |
	pretty --until 2h)
has until-relative "$rel" stale
hasnt until-relative "$rel" recent
out=$(printf '%s\n' "$STD" | pretty --fields user,cached)
has fields "$out" 'request handled user=alice cached=true'
hasnt fields "$out" status latency_ms

# ---- templates ----------------------------------------------------------------
out=$(printf '%s\n' "$STD" | pretty --format '{level.no} {name} {message} {extra[status]}')
[[ $out == '20 api request handled 200 user=alice latency_ms=12.5 cached=true' ]] ||
	fail "--format: got: $out"
n=$((n + 1))
out=$(pretty --format '{nope}' </dev/null)
rc=$?
[[ $rc == 2 && $out == *'unknown field {nope}'* ]] || fail "bad --format: rc $rc: $out"
n=$((n + 1))

# ---- compressed input -----------------------------------------------------------
printf '%s\n' "$STD" >"$T/a.jsonl"
gzip -c "$T/a.jsonl" >"$T/a.jsonl.1.gz"
# Two members, as appending to a .gz gives.
printf '%s\n' "$STD" | gzip -c >>"$T/a.jsonl.1.gz"
if "$P" --version | grep -q 'gzip: yes'; then
	out=$(pretty "$T/a.jsonl.1.gz")
	[[ $out == "$WANT"$'\n'"$WANT" ]] || fail "gzip: got: $out"
	out=$(pretty <"$T/a.jsonl.1.gz")
	[[ $out == "$WANT"$'\n'"$WANT" ]] || fail "gzip on stdin: got: $out"
else
	out=$(pretty "$T/a.jsonl.1.gz")
	has gzip-missing "$out" 'without zlib' 'cannot read'
fi
n=$((n + 1))
if command -v zstd >/dev/null; then
	zstd -q -c "$T/a.jsonl" >"$T/a.jsonl.2.zst"
	if "$P" --version | grep -q 'zstd: yes'; then
		out=$(pretty "$T/a.jsonl.2.zst" "$T/a.jsonl")
		[[ $out == "$WANT"$'\n'"$WANT" ]] || fail "zstd: got: $out"
	else
		out=$(pretty "$T/a.jsonl.2.zst")
		has zstd-missing "$out" 'without libzstd' 'cannot read'
	fi
	n=$((n + 1))
fi
# A compressed file cut short is an error (exit 1), as zcat says, after
# the lines it held.
if "$P" --version | grep -q 'gzip: yes'; then
	{
		printf '%s\n' "$STD"
		for i in $(seq 3000); do printf '{"message":"m%d","n":%d}\n' "$i" "$i"; done
	} | gzip -c >"$T/long.gz"
	head -c $(($(stat -c %s "$T/long.gz") / 2)) "$T/long.gz" >"$T/cut.gz"
	out=$(pretty "$T/cut.gz")
	rc=$?
	[[ $rc == 1 && $out == *'cut.gz: truncated gzip data'* && $out == *"$WANT"* ]] ||
		fail "truncated gzip: rc $rc: $out"
	n=$((n + 1))
fi
if command -v zstd >/dev/null && "$P" --version | grep -q 'zstd: yes'; then
	for i in $(seq 3000); do printf '{"message":"m%d","n":%d}\n' "$i" "$i"; done |
		zstd -q -c >"$T/long.zst"
	head -c $(($(stat -c %s "$T/long.zst") / 2)) "$T/long.zst" >"$T/cut.zst"
	out=$(pretty "$T/cut.zst")
	rc=$?
	[[ $rc == 1 && $out == *'cut.zst: truncated zstd data'* ]] || fail "truncated zstd: rc $rc: $out"
	n=$((n + 1))
fi
out=$(pretty "$T/missing.jsonl" "$T/a.jsonl")
rc=$?
[[ $rc == 1 && $out == *'missing.jsonl: No such file'* && $out == *"$WANT"* ]] ||
	fail "missing file: rc $rc: $out"
n=$((n + 1))

# ---- pass-through and escaping --------------------------------------------------
out=$(printf 'plain line\n\tat com.example.Foo(Foo.java:12)\n{"unterminated":\n[1,2]\n\n' | pretty)
[[ $out == $'plain line\n\tat com.example.Foo(Foo.java:12)\n{"unterminated":\n[1,2]' ]] ||
	fail "pass-through: got: $(printf '%q' "$out")"
n=$((n + 1))
out=$(printf 'raw \e[31mred\a \xff\xfe end\n{"message":"m \\u001b[2J \\u0007 \\n x","k":"\xc3(","\\u009b":1}\n' | pretty)
hasnt escape-raw "$out" "$ESC" $'\a' $'\xff' $'\xc3('
has escape-shown "$out" 'raw \u001b[31mred\u0007 '$'\xef\xbf\xbd\xef\xbf\xbd'' end' \
	'm \u001b[2J \u0007 \n x' 'k='$'\xef\xbf\xbd''(' '"\u009b"=1'
[[ $(lines "$out") == 2 ]] || fail "escaping: a record spans more than one line: $out"

# ---- colors -------------------------------------------------------------------
out=$(printf '%s\nplain\n' "$STD" | pretty)
hasnt color-pipe "$out" "$ESC"
out=$(printf '%s\nplain\n' "$STD" | pretty --color=always)
has color-always "$out" "${ESC}[32m2026-11-26 04:02:03.123${ESC}[0m | ${ESC}[1mINFO    ${ESC}[0m | ${ESC}[36mapi${ESC}[0m:${ESC}[36mhandle${ESC}[0m:${ESC}[36m42${ESC}[0m - ${ESC}[1mrequest handled${ESC}[0m user=alice" \
	"${ESC}[2mplain${ESC}[0m"
out=$(echo '{"level":"error","msg":"bad"}' | pretty --color=always)
has color-level "$out" "${ESC}[31m${ESC}[1mERROR   ${ESC}[0m"
out=$(printf '%s\n' "$STD" | FORCE_COLOR=1 pretty)
has force-color "$out" "$ESC["
out=$(printf '%s\n' "$STD" | NO_COLOR=1 FORCE_COLOR=1 pretty)
hasnt no-color "$out" "$ESC"
out=$(printf '%s\n' "$STD" | NO_COLOR=1 pretty --color=always)
has color-flag-wins "$out" "$ESC["
out=$(printf '%s\n' "$STD" | FORCE_COLOR=1 pretty --color=never)
hasnt color-never "$out" "$ESC"
out=$(pretty --color=sometimes </dev/null)
[[ $? == 2 && $out == *'--color: "sometimes" is not always, never or auto'* ]] || fail "bad --color: $out"
n=$((n + 1))

# ---- options ------------------------------------------------------------------
out=$(pretty --help)
for opt in --level --logger --where --since --until --fields --format --color --follow --help --version; do
	has "help $opt" "$out" "$opt"
done
has help-examples "$out" 'jlog-pretty --level WARNING' 'jlog-pretty -f /var/log/app.jsonl'
for bad in '--level NOPE' '--where novalue' '--where a>x' '--since yesterday'; do
	# shellcheck disable=SC2086
	out=$(pretty $bad </dev/null)
	rc=$?
	[[ $rc == 2 && $out == *'jlog-pretty: --'* ]] || fail "bad option $bad: rc $rc: $out"
	n=$((n + 1))
done

# ---- large files: two threads, the output as from one ----------------------------
# A file is read in blocks large enough to be split between two threads;
# through a pipe the reads are small and one thread renders everything.
# (--where n>10 leaves out the pino lines, which have no n, and 10 others.)
big="$T/big.jsonl"
for i in $(seq 3000); do
	printf '{"time":"2026-11-26T04:02:%02d.%06dZ","level":"%s","message":"m%d","logger":"api","file":"s.c","line":%d,"function":"f","n":%d}\n' \
		$((i % 60)) "$i" "$([[ $((i % 3)) == 0 ]] && echo ERROR || echo INFO)" "$i" "$i" "$i"
	printf '{"level":40,"time":1795665723%03d,"name":"pino","msg":"p%d"}\n' $((i % 1000)) "$i"
	echo "plain $i"
done >"$big"
one=$(cat "$big" | pretty --color=always --where 'n>10')
two=$(pretty --color=always --where 'n>10' "$big")
[[ $one == "$two" ]] || fail "large file: the two-thread output differs from the one-thread output"
[[ $(lines "$two") == $((2 * 3000 - 10)) && $two == *m3000* && $two == *'plain 3000'* ]] ||
	fail "large file: $(lines "$two") lines"
n=$((n + 1))

# ---- following a file through rotation -----------------------------------------
log="$T/follow.jsonl"
echo '{"message":"first"}' >"$log"
"$P" -f "$log" >"$T/follow.out" 2>&1 &
fpid=$!
wait_for() {
	for _ in $(seq 100); do
		grep -q "$1" "$T/follow.out" && return 0
		sleep 0.05
	done
	fail "follow: no \"$1\" in: $(cat "$T/follow.out")"
	return 1
}
wait_for first
echo '{"message":"appended"}' >>"$log"
wait_for appended
mv "$log" "$log.1"
echo '{"message":"late in the old file"}' >>"$log.1"
# Longer than the line written after the truncation, so that the file is
# shorter than what was read whenever the follower looks.
echo '{"message":"in the new file","pad":"'"$(printf '%0100d' 0)"'"}' >"$log"
wait_for 'in the new file'
wait_for 'late in the old file'
: >"$log"
echo '{"message":"after truncation"}' >>"$log"
wait_for 'after truncation'
kill "$fpid"
wait "$fpid" 2>/dev/null
n=$((n + 1))
# A file that is not there yet is waited for, as tail -F does.
log="$T/later.jsonl"
"$P" -f "$log" >"$T/follow.out" 2>&1 &
fpid=$!
wait_for 'waiting for the file to appear'
echo '{"message":"it appeared"}' >"$log"
wait_for 'it appeared'
kill "$fpid"
wait "$fpid" 2>/dev/null
n=$((n + 1))

echo "pretty-cli: $n checks, $fails failed"
((fails == 0))
