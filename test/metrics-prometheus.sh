#!/usr/bin/env bash
# examples/metrics-prometheus: its output is the Prometheus text exposition
# format (every line a HELP, a TYPE or a sample; each sample's metric has
# its HELP and TYPE first; names and labels well formed), and its values
# are the counts of what the program wrote: lines and bytes of each file.
#
#   test/metrics-prometheus.sh BUILD/examples/metrics-prometheus
set -uo pipefail

P=${1:?usage: $0 metrics-prometheus}
T=$(mktemp -d /tmp/jlog-metrics-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
N=25
if ! "$P" --records $N "$T" >"$T/out.txt"; then
	echo "FAIL: $P exited with status $?" >&2
	exit 1
fi

# The format, line by line; prints "name{labels} value" for each sample.
samples=$(awk '
	function bad(why) { printf "FAIL: line %d: %s: %s\n", NR, why, $0 > "/dev/stderr"; err = 1 }
	/^# HELP / {
		if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) bad("bad name")
		if (help[$3]++) bad("second HELP")
		if (NF < 4) bad("HELP without text")
		next
	}
	/^# TYPE / {
		if (NF != 4 || ($4 != "counter" && $4 != "gauge")) bad("bad TYPE")
		if (type[$3]) bad("second TYPE")
		type[$3] = $4
		next
	}
	/^#/ { bad("unknown comment"); next }
	/^$/ { bad("empty line"); next }
	{
		if (match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/) == 0) { bad("bad sample"); next }
		name = substr($0, 1, RLENGTH)
		rest = substr($0, RLENGTH + 1)
		if (substr(rest, 1, 1) == "{") {
			if (match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",)*[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"\}/) == 0) {
				bad("bad labels"); next
			}
			rest = substr(rest, RLENGTH + 1)
		}
		if (rest !~ /^ [0-9]+(\.[0-9]+)?$/) bad("bad value")
		if (!type[name] || !help[name]) bad("sample before its HELP and TYPE")
		if (type[name] == "counter" && name !~ /_total$/) bad("counter not named _total")
		print
	}
	END { exit err }
' "$T/out.txt") || { cat "$T/out.txt" >&2; exit 1; }

fails=0
# value PATTERN - the value of the one sample whose text up to the value
# matches PATTERN (a fixed prefix).
value() {
	local v
	v=$(printf '%s\n' "$samples" | awk -v p="$1" 'index($0, p) == 1 { print $NF; n++ } END { if (n != 1) exit 1 }') ||
		{ echo "FAIL: not exactly one sample $1" >&2; fails=$((fails + 1)); echo -1; return; }
	echo "$v"
}
expect() {
	if [[ $2 != "$3" ]]; then
		echo "FAIL: $1: $2, want $3" >&2
		fails=$((fails + 1))
	fi
}

app_lines=$(wc -l <"$T/app.jsonl")
err_lines=$(wc -l <"$T/errors.jsonl")
app_bytes=$(wc -c <"$T/app.jsonl")
err_bytes=$(wc -c <"$T/errors.jsonl")
warn=$((N / 5))
expect "app.jsonl lines" "$app_lines" $((N + warn))
expect "errors.jsonl lines" "$err_lines" $warn
expect jlog_logged_total "$(value 'jlog_logged_total ')" $((N + warn))
expect jlog_written_total "$(value 'jlog_written_total ')" $((app_lines + err_lines))
expect jlog_bytes_written_total "$(value 'jlog_bytes_written_total ')" $((app_bytes + err_bytes))
expect jlog_dropped_total "$(value 'jlog_dropped_total ')" 0
expect jlog_lost_total "$(value 'jlog_lost_total ')" 0
expect "sink 0 written" "$(value "jlog_sink_written_total{sink=\"0\",target=\"file $T/app.jsonl\"}")" "$app_lines"
expect "sink 1 written" "$(value "jlog_sink_written_total{sink=\"1\",target=\"file $T/errors.jsonl\"}")" "$err_lines"
expect "sink 0 bytes" "$(value 'jlog_sink_bytes_written_total{sink="0"')" "$app_bytes"
expect "sink 1 bytes" "$(value 'jlog_sink_bytes_written_total{sink="1"')" "$err_bytes"
expect "sink 1 errors" "$(value 'jlog_sink_write_errors_total{sink="1"')" 0
qs=$(value 'jlog_queue_size_bytes ')
hw=$(value 'jlog_queue_high_water_bytes ')
((hw > 0 && hw <= qs)) || { echo "FAIL: high water $hw of $qs" >&2; fails=$((fails + 1)); }

if ((fails)); then
	cat "$T/out.txt" >&2
	exit 1
fi
echo "metrics-prometheus: $(printf '%s\n' "$samples" | wc -l) samples, all as written"
