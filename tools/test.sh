#!/usr/bin/env bash
# The test command: build jlog and run every test, then run the tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer, ThreadSanitizer and
# valgrind memcheck, and fuzz the record codec and encoder for a minute.
#
#   tools/test.sh                 everything (what CI runs)
#   JLOG_QUICK=1 tools/test.sh    only the plain build and its tests
#
# Stages, each in its own build directory under the source root:
#   build     buildtype debugoptimized, -Dwerror=true; all tests
#   static, shared
#             build-static, build-shared: -Ddefault_library=static/shared;
#             only the programs that link the library itself and their
#             tests (LIBMODE_TESTS below; the suites link the internal
#             library, the same in every mode)
#   subproject
#             test/check-subproject.sh: a parent project with jlog as
#             subprojects/jlog builds its consumer and none of jlog's
#             tests, benchmarks or examples; counts as one test
#   asan      build-asan, -Db_sanitize=address,undefined; all tests
#   tsan      build-tsan, -Db_sanitize=thread; the threaded tests only
#             (TSAN_TESTS below)
#   valgrind  build, meson test --setup valgrind (defined in meson.build);
#             all tests under memcheck, Check not forking (CK_FORK=no)
#   fuzz      build-fuzz, clang, -Dfuzz=true; test/fuzz-record (libFuzzer,
#             ASan, UBSan) for JLOG_FUZZ_SECONDS on a copy of the seeds in
#             test/fuzz-corpus; counts as one test. Skipped without clang.
#             A crashing input is kept as build-fuzz/fuzz-crash-*.
#
# Environment:
#   JLOG_QUICK=1        stop after the cheap stages (plain build and its
#                       tests, static, shared, subproject)
#   JLOG_BUILD_PREFIX   build directory prefix (default "build", giving
#                       build, build-asan, build-tsan, build-fuzz); relative
#                       to the source root, or absolute
#   JLOG_SKIP_DEPS=1    do not run tools/install-deps.sh
#   JLOG_FUZZ_SECONDS   how long the fuzz stage runs (default 60)
#
# Every stage runs even if an earlier one failed. Exits non-zero if any
# build or test failed; the last line is "N passed, N failed" over all runs.
set -euo pipefail

# The real-server tests (suite 'aggregators': rsyslog, syslog-ng,
# journald) run once, in the plain stage: they test the transports against
# the servers, which a sanitizer run would only slow down.

# Tests run under ThreadSanitizer: the suites that exercise threads. Adding
# one is adding its meson test name here.
TSAN_TESTS=(ring logger fork stress sinks clock api api-compact flight-compact sample-compact rotate rotation logrotate shutdown redact sample reload net flight metrics)

# Sanitized code runs slower: the meson and Check (fork mode) timeouts are
# stretched by these factors. (The valgrind setup has its own multiplier,
# and Check does not fork, hence does not time out, under valgrind.)
ASAN_SLOWDOWN=2
TSAN_SLOWDOWN=4

# allocator_may_return_null: an impossible allocation returns NULL as with
# libc (the tests of -ENOMEM paths rely on it) instead of aborting.
ASAN_ENV=(
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	"CK_TIMEOUT_MULTIPLIER=$ASAN_SLOWDOWN"
)
TSAN_ENV=(
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	"CK_TIMEOUT_MULTIPLIER=$TSAN_SLOWDOWN"
	JLOG_TEST_DIVISOR=4
)

# The sanitizer builds only run tests: the benchmarks are not built there.
PLAIN_OPTS=(-Dbuildtype=debugoptimized -Dwerror=true)
ASAN_OPTS=(-Dbuildtype=debugoptimized '-Db_sanitize=address,undefined' -Db_lundef=false -Dbench=false)
TSAN_OPTS=(-Dbuildtype=debugoptimized -Db_sanitize=thread -Dbench=false)
# The fuzz build (clang) is only used for test/fuzz-record, which brings
# its own sanitizers; b_lundef=false as for any sanitized link.
FUZZ_OPTS=(-Dbuildtype=debugoptimized -Dwerror=true -Dfuzz=true -Db_lundef=false -Dbench=false
	-Dexamples=false)
FUZZ_SECONDS=${JLOG_FUZZ_SECONDS:-60}

# The static and shared stages: each of these tests (those the tree has) and
# the programs they run.
LIBMODE_OPTS=(-Dbuildtype=debugoptimized -Dwerror=true -Dbench=false)
LIBMODE_TESTS=(build-pedantic build-cxx check-exports compile-fail-c example-service
	example-config example-shipping)

# Two tests at a time, one per core (under valgrind, a test's threads
# share one core); the real-server tests are not parallel and run alone.
MESON_TEST=(meson test --print-errorlogs --num-processes 2)

tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$tools")
cd "$root"

prefix=${JLOG_BUILD_PREFIX:-build}
build_plain=$prefix
build_asan=$prefix-asan
build_tsan=$prefix-tsan
build_fuzz=$prefix-fuzz
build_static=$prefix-static
build_shared=$prefix-shared

logdir=$(mktemp -d "${TMPDIR:-/tmp}/jlog-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

# One row per stage for the summary.
stage_names=()
stage_pass=()
stage_fail=()
stage_skip=()
stage_secs=()
stage_notes=()

now_ms() {
	date +%s%3N
}

# record NAME PASS FAIL SKIP START_MS NOTE
record() {
	local elapsed=$(($(now_ms) - $5))
	stage_names+=("$1")
	stage_pass+=("$2")
	stage_fail+=("$3")
	stage_skip+=("$4")
	stage_secs+=("$(printf '%d.%01d' $((elapsed / 1000)) $((elapsed % 1000 / 100)))")
	stage_notes+=("$6")
}

banner() {
	printf '\n==== %s ====\n' "$*"
}

# The last value of meson test's summary line "KEY: N" in a log, or 0.
summary_count() {
	local key=$1 log=$2 n
	n=$(sed 's/\x1b\[[0-9;]*m//g' "$log" |
		grep -E "^${key}:[[:space:]]+[0-9]+[[:space:]]*$" | tail -n 1 |
		awk '{ print $NF }' || true)
	echo "${n:-0}"
}

# build NAME DIR OPTIONS... - configure and compile; records the stage NAME
# (1 failure if the build fails) and returns non-zero if it fails.
build() {
	local name=$1 dir=$2 start rc=0
	shift 2
	banner "$name: $dir ($*)"
	start=$(now_ms)
	bash "$tools/build.sh" "$dir" "$@" || rc=$?
	if ((rc != 0)); then
		record "$name" 0 1 0 "$start" "build failed (exit $rc)"
		return 1
	fi
	record "$name" 0 0 0 "$start" "ok"
}

# run_tests NAME [VAR=value...] -- COMMAND... - run a meson test command,
# show its output, and record the counts from its summary.
run_tests() {
	local name=$1 start rc=0 log=$logdir/$1.log envs=()
	local ok xfail fail upass timeout skipped passed failed note
	shift
	while (($# > 0)) && [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	banner "$name: ${envs[*]} $*"
	start=$(now_ms)
	set +e
	env "${envs[@]}" "$@" 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e

	ok=$(summary_count 'Ok' "$log")
	xfail=$(summary_count 'Expected Fail' "$log")
	fail=$(summary_count 'Fail' "$log")
	upass=$(summary_count 'Unexpected Pass' "$log")
	timeout=$(summary_count 'Timeout' "$log")
	skipped=$(summary_count 'Skipped' "$log")
	passed=$((ok + xfail))
	failed=$((fail + upass + timeout))
	note="exit $rc"
	if ! grep -qE '^Ok:' <(sed 's/\x1b\[[0-9;]*m//g' "$log"); then
		note="no meson test summary (exit $rc)"
		((failed > 0)) || failed=1
	elif ((rc != 0 && failed == 0)); then
		# meson failed without a failing test (a rebuild error, ...).
		failed=1
	fi
	((timeout == 0)) || note="$note, $timeout timed out"
	if ((failed > 0)); then
		failure_details "$name" "$log"
	fi
	record "$name" "$passed" "$failed" "$skipped" "$start" "$note"
}

# failure_details NAME LOG - keep what says why tests of stage NAME failed:
# meson's FAIL/TIMEOUT lines, Check's failure lines, the first lines of a
# sanitizer report. Printed after the summary, where a truncated CI log
# still shows it.
failure_details() {
	{
		printf -- '-- %s\n' "$1"
		sed 's/\x1b\[[0-9;]*m//g' "$2" | grep -E \
			'^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)|:[FE]:[^:]*:[^:]*:|^[0-9]+%: Checks|(Thread|Address|Undefined|Leak)Sanitizer|runtime error:|^ +#[0-9] ' |
			head -n 40 || true
	} >>"$logdir/failures.txt"
}

# run_fuzz - run test/fuzz-record for FUZZ_SECONDS on a copy of the seed
# corpus; records the stage "fuzz" as one test passed or failed.
run_fuzz() {
	local start rc=0 log=$logdir/fuzz.log corpus execs rate note
	local exe=$build_fuzz/test/fuzz-record
	banner "fuzz: $exe, ${FUZZ_SECONDS}s"
	start=$(now_ms)
	corpus=$(mktemp -d "$logdir/fuzz-corpus.XXXXXX")
	cp "$root"/test/fuzz-corpus/* "$corpus"/
	set +e
	"$exe" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build_fuzz/fuzz-" "$corpus" \
		>"$log" 2>&1 </dev/null
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	if ((rc == 0)); then
		grep -E '^(stat::|Done )' "$log" || true
		record fuzz 1 0 0 "$start" "${execs:-?} runs, ${rate:-?}/s"
	else
		tail -n 40 "$log"
		note="exit $rc after ${execs:-?} runs"
		if grep -q "^artifact_prefix=" "$log"; then
			note="$note; input: $(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)"
		fi
		record fuzz 0 1 0 "$start" "$note"
	fi
}

# lib_mode NAME DIR MODE - configure DIR with default_library=MODE, build
# only what LIBMODE_TESTS need, run those tests; records NAME-build (one
# failure if the build fails) and NAME.
lib_mode() {
	local name=$1 dir=$2 mode=$3 start rc=0 listed selected=() targets=() t
	banner "$name-build: $dir (default_library=$mode)"
	start=$(now_ms)
	if [[ -f $dir/build.ninja ]]; then
		meson configure "$dir" "${LIBMODE_OPTS[@]}" "-Ddefault_library=$mode" || rc=$?
	else
		meson setup "$dir" "$root" "${LIBMODE_OPTS[@]}" "-Ddefault_library=$mode" || rc=$?
	fi
	if ((rc == 0)); then
		listed=$(meson test -C "$dir" --no-rebuild --list 2>/dev/null | sed "s|^.* / ||" || true)
		for t in "${LIBMODE_TESTS[@]}"; do
			grep -qx "$t" <<<"$listed" || continue
			selected+=("$t")
			case $t in
			build-pedantic | build-cxx) targets+=("$t") ;;
			example-service) targets+=(jlog-service) ;;
			example-config) targets+=(config-demo) ;;
			example-shipping) targets+=(jlog-shipping guide-check) ;;
			check-exports) targets+=(jlog) ;;
			esac
		done
		meson compile -C "$dir" "${targets[@]}" || rc=$?
	fi
	if ((rc != 0)); then
		record "$name-build" 0 1 0 "$start" "build failed (exit $rc)"
		return 1
	fi
	record "$name-build" 0 0 0 "$start" "ok"
	run_tests "$name" -- "${MESON_TEST[@]}" -C "$dir" --no-rebuild "${selected[@]}"
}

# run_script NAME COMMAND... - a check that is one test: exit 0 passes, 77
# skips, anything else fails.
run_script() {
	local name=$1 start rc=0
	shift
	banner "$name: $*"
	start=$(now_ms)
	"$@" </dev/null || rc=$?
	case $rc in
	0) record "$name" 1 0 0 "$start" "ok" ;;
	77) record "$name" 0 0 1 "$start" "skipped" ;;
	*) record "$name" 0 1 0 "$start" "exit $rc" ;;
	esac
}

total_start=$(now_ms)

if [[ ${JLOG_SKIP_DEPS:-} != 1 ]]; then
	banner "deps"
	start=$(now_ms)
	if bash "$tools/install-deps.sh" </dev/null; then
		record deps 0 0 0 "$start" "ok"
	else
		record deps 0 1 0 "$start" "install-deps failed"
	fi
fi

plain_built=0
if build build "$build_plain" "${PLAIN_OPTS[@]}"; then
	plain_built=1
	run_tests test -- "${MESON_TEST[@]}" -C "$build_plain"
fi

# Cheap stages: the library built static and shared, and jlog as a
# subproject.
lib_mode static "$build_static" static || true
lib_mode shared "$build_shared" shared || true
run_script subproject sh "$root/test/check-subproject.sh"

if [[ ${JLOG_QUICK:-} != 1 ]]; then
	if build build-asan "$build_asan" "${ASAN_OPTS[@]}"; then
		run_tests asan "${ASAN_ENV[@]}" -- "${MESON_TEST[@]}" -C "$build_asan" \
			--timeout-multiplier "$ASAN_SLOWDOWN" --no-suite aggregators
	fi

	# Kernels with many bits of mmap randomness (vm.mmap_rnd_bits > 28)
	# break TSan ("unexpected memory mapping"): run without ASLR when
	# setarch can turn it off. The personality is inherited by the tests.
	tsan_wrap=()
	if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
		tsan_wrap=(setarch "$(uname -m)" -R)
	else
		echo "test.sh: setarch -R does not work here; running TSan with ASLR" >&2
	fi
	if build build-tsan "$build_tsan" "${TSAN_OPTS[@]}"; then
		# Only the listed suites this tree has (a suite's file may not
		# exist yet; meson refuses unknown test names).
		local_tests=$(meson test -C "$build_tsan" --list 2>/dev/null | sed "s|^.* / ||" || true)
		tsan_selected=()
		for t in "${TSAN_TESTS[@]}"; do
			if grep -qx "$t" <<<"$local_tests"; then
				tsan_selected+=("$t")
			fi
		done
		run_tests tsan "${TSAN_ENV[@]}" -- "${tsan_wrap[@]}" \
			"${MESON_TEST[@]}" -C "$build_tsan" --timeout-multiplier "$TSAN_SLOWDOWN" \
			"${tsan_selected[@]}"
	fi

	if ((plain_built)); then
		run_tests valgrind -- "${MESON_TEST[@]}" -C "$build_plain" --setup valgrind \
			--no-suite aggregators --no-suite no-valgrind
		# The suite no-valgrind is not run here: counted as skipped,
		# and said.
		nv=$(meson test -C "$build_plain" --list --suite no-valgrind 2>/dev/null |
			grep -c ' / ' || true)
		if ((nv > 0)); then
			last=$((${#stage_skip[@]} - 1))
			stage_skip[last]=$((stage_skip[last] + nv))
			stage_notes[last]="${stage_notes[last]}; $nv skipped (suite no-valgrind)"
			echo "test.sh: valgrind: $nv test(s) of suite no-valgrind not run (leak reports from forked children)"
		fi
	fi

	if ! command -v clang >/dev/null 2>&1; then
		record fuzz 0 0 1 "$(now_ms)" "skipped: clang not installed"
	elif CC=clang build build-fuzz "$build_fuzz" "${FUZZ_OPTS[@]}"; then
		run_fuzz
	fi
fi

# Summary.
total_pass=0
total_fail=0
total_skip=0
banner "summary"
printf '%-12s %7s %7s %7s %9s  %s\n' stage passed failed skipped seconds note
for i in "${!stage_names[@]}"; do
	printf '%-12s %7d %7d %7d %9s  %s\n' "${stage_names[$i]}" "${stage_pass[$i]}" \
		"${stage_fail[$i]}" "${stage_skip[$i]}" "${stage_secs[$i]}" "${stage_notes[$i]}"
	total_pass=$((total_pass + stage_pass[i]))
	total_fail=$((total_fail + stage_fail[i]))
	total_skip=$((total_skip + stage_skip[i]))
done
total_ms=$(($(now_ms) - total_start))
printf '%-12s %7d %7d %7d %9s\n' total "$total_pass" "$total_fail" "$total_skip" \
	"$(printf '%d.%01d' $((total_ms / 1000)) $((total_ms % 1000 / 100)))"
echo
echo "$total_pass passed, $total_fail failed"
if [[ -s $logdir/failures.txt ]]; then
	banner "failures"
	cat "$logdir/failures.txt"
fi
((total_fail == 0))
