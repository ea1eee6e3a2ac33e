#!/usr/bin/env bash
# examples/shipping.c end to end (examples/meson.build runs it):
#
#   example-shipping.sh files     the rotating files: 5 rotated files kept,
#                                 compressed ones complete, and every
#                                 request of each worker from the oldest
#                                 kept to the last, once, in order
#   example-shipping.sh rsyslog   the same, plus a real rsyslog
#                                 (tools/aggregator.sh) receiving every
#                                 record over tcp:// as RFC 5424 with the
#                                 right severity, each message parsed as
#                                 JSON; exit 77 (skip) when this build has
#                                 no tcp:// transport or rsyslog cannot run
#
# Environment: JLOG_SHIPPING (the program), GUIDE_CHECK (test/guide-check),
# JLOG_AGGREGATOR (tools/aggregator.sh), JLOG_COMPRESSION (gz, zst or none:
# what this build can write).
set -euo pipefail

mode=${1:?usage: example-shipping.sh files|rsyslog}
: "${JLOG_SHIPPING:?}" "${GUIDE_CHECK:?}"
compression=${JLOG_COMPRESSION:-none}
RETENTION=5 # examples/shipping.c: "5 files"

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }

work=$(mktemp -d /tmp/jlog-shipping-XXXXXX)
srv=
cleanup() {
	if [[ -n $srv ]]; then
		"${JLOG_AGGREGATOR:?}" stop rsyslog "$srv" >/dev/null 2>&1 || true
		rm -rf "$srv"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# check_files N: the rotating files of a run of N requests per worker.
check_files() {
	local n=$1 f logs=$work/logs
	local -a rotated
	mapfile -t rotated < <(cd "$logs" && ls | grep -v '^orders\.jsonl$' | sort)
	[[ -f $logs/orders.jsonl ]] || die "no active file $logs/orders.jsonl"
	if ls "$logs" | grep -q '\.tmp$'; then
		die "a temporary file is left: $(ls "$logs")"
	fi
	((${#rotated[@]} == RETENTION)) ||
		die "${#rotated[@]} rotated files, expected $RETENTION (retention): ${rotated[*]}"
	local compressed=0
	: >"$work/all.jsonl"
	for f in "${rotated[@]}" orders.jsonl; do
		case $f in
		orders.[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]_*.jsonl) cat "$logs/$f" ;;
		*.jsonl.gz) gzip -t "$logs/$f" || die "$f is not a whole gzip file"
			compressed=$((compressed + 1)); gzip -dc "$logs/$f" ;;
		*.jsonl.zst) zstd -q -t "$logs/$f" || die "$f is not a whole zstd file"
			compressed=$((compressed + 1)); zstd -q -dc "$logs/$f" ;;
		orders.jsonl) cat "$logs/$f" ;;
		*) die "unexpected file $f in $logs" ;;
		esac >>"$work/all.jsonl"
	done
	# Compression runs on a helper thread that the close stops, so the
	# newest rotated files may still be plain; the older ones are not.
	if [[ $compression != none ]] && ((compressed == 0)); then
		die "no rotated file is compressed ($compression): ${rotated[*]}"
	fi
	"$GUIDE_CHECK" jsonl "$work/all.jsonl" 100 || die "the files are not JSON lines"
	"$GUIDE_CHECK" sequence "$work/all.jsonl" "request handled" worker seq "$n" ||
		die "requests are missing or repeated in the files"
	echo "files: ${#rotated[@]} rotated ($compressed compressed) and the active one," \
		"$(wc -l <"$work/all.jsonl") lines"
}

# summary KEY: a number of the program's stdout line.
summary() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$work/summary"; }

# run N [ARGS...]: run the service for N requests per worker.
run() {
	local n=$1
	shift
	"$JLOG_SHIPPING" --dir "$work" --requests "$n" --compression "$compression" "$@" \
		>"$work/summary" 2>"$work/stderr" || die "jlog-shipping failed: $(tail -5 "$work/stderr")"
	[[ $(summary dropped) == 0 && $(summary lost) == 0 && $(summary rotation_errors) == 0 ]] ||
		die "records dropped, lost or rotations failed: $(cat "$work/summary")"
	# stderr: the ERROR lines as text (every 50th request of each worker).
	local errors
	errors=$(grep -c 'upstream unavailable' "$work/stderr" || true)
	((errors == 2 * (n / 50))) || die "$errors ERROR lines on stderr, expected $((2 * (n / 50)))"
}

case $mode in
files)
	run 2000
	check_files 2000
	;;
rsyslog)
	"$GUIDE_CHECK" scheme tcp://127.0.0.1:514 ||
		skip "this build has no tcp:// transport yet: the rsyslog half of examples/shipping.c cannot run"
	"${JLOG_AGGREGATOR:?}" install rsyslog >/dev/null ||
		skip "rsyslog cannot be installed here (tools/aggregator.sh install exit $?)"
	srv=$(mktemp -d /tmp/jlog-agg-XXXXXX)
	"$JLOG_AGGREGATOR" start rsyslog "$srv" >/dev/null ||
		skip "rsyslog cannot be started here (tools/aggregator.sh start exit $?)"
	TCP_PORT=$(sed -n 's/^TCP_PORT=//p' "$srv/env")
	n=2000
	run "$n" --syslog "tcp://127.0.0.1:$TCP_PORT"
	check_files "$n"
	records=$(summary records)
	# rsyslog writes asynchronously: wait for the count, then for it to
	# stay put (duplicates would show).
	got=0
	for ((t = 0; t < 3000; t++)); do
		got=$(wc -l <"$srv/tcp.json" 2>/dev/null || echo 0)
		((got >= records)) && break
		sleep 0.01
	done
	sleep 0.3
	got=$(wc -l <"$srv/tcp.json" 2>/dev/null || echo 0)
	((got == records)) || die "rsyslog wrote $got records, the service logged $records"
	[[ ! -s $srv/tcp.bad ]] || die "rsyslog could not parse: $(head -3 "$srv/tcp.bad")"
	"$GUIDE_CHECK" jsonl "$srv/tcp.json" "$records" || die "rsyslog's records are not JSON"
	"$GUIDE_CHECK" sequence "$srv/tcp.json" "request handled" worker seq "$n" 1 ||
		die "requests are missing or repeated at rsyslog"
	# RFC 5424 frames: <PRI>1 ..., severity 6 (info) for INFO, 3 (err) for ERROR.
	awk '
		!/^<[0-9]+>1 / { print "not an RFC 5424 frame: " $0; bad = 1; exit }
		{ pri = substr($0, 2, index($0, ">") - 2) % 8 }
		/"request handled"/ && pri != 6 { print "INFO with severity " pri ": " $0; bad = 1; exit }
		/"upstream unavailable"/ && pri != 3 { print "ERROR with severity " pri ": " $0; bad = 1; exit }
		END { exit bad }
	' "$srv/tcp.raw" || die "the frames rsyslog received are wrong"
	echo "rsyslog: $got records over tcp:// (RFC 5424), each parsed, none lost or repeated"
	;;
*)
	die "unknown mode $mode (files, rsyslog)"
	;;
esac
