/*
 * jlog-hotpath - a fixed number of log calls of the standard record, for
 * counting the instructions of the producer's hot path with callgrind.
 *
 * Each call goes through hot_enabled() (or hot_disabled(), at a level the
 * logger does not write), which the compiler may not inline; callgrind
 * counts what that function executes, callees included (the field
 * construction of the macros, jlog__log, the clock, the ring), and
 * nothing of the writer thread:
 *
 *   valgrind --tool=callgrind --toggle-collect=hot_enabled \
 *       --callgrind-out-file=/tmp/hot.cg \
 *       BUILDDIR/bench/jlog-hotpath --calls 100000
 *   callgrind_annotate /tmp/hot.cg | grep 'PROGRAM TOTALS'
 *
 * and divide the Ir total by the number of calls (100,000). The same with
 * --toggle-collect=hot_disabled and --disabled gives a disabled call.
 * BUILDDIR/bench/jlog-hotpath-compact is this file compiled with
 * JLOG_COMPACT_CALLSITES (jlog.h): the same calls through the compact call
 * site, for the other figure.
 * Each call's record is the one jlog-bench logs; the sink is a file
 * (default /dev/null) so that the writer's output costs nothing.
 *
 * With a sampler (see the README's "Sampling"): --sampling keeps every
 * record (first 2^32-1 of each interval), so a call pays the decision and
 * the record; --sampled-out suppresses every record (first 0, none
 * after), so a call pays the decision only; --rate gives each call site
 * a token bucket that never runs dry (10^9 a second, burst 2^32-1).
 *
 * With --redact the logger has ten key rules that match nothing in the
 * record (bench/bench-redact.c's): count the writer (writer_main) for
 * what redaction that finds nothing costs it.
 *
 * With a flight recorder (README, "Flight recorder"): --flight holds
 * DEBUG records (200 of them); an INFO call then pays for the recorder's
 * check, and with --disabled the DEBUG call of hot_disabled() is the
 * recorded call (count it with --toggle-collect=hot_disabled).
 */
#include <jlog.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void hot_enabled(jlog_logger *log);
__attribute__((noinline)) void hot_disabled(jlog_logger *log);

__attribute__((noinline)) void hot_enabled(jlog_logger *log)
{
	JLOG_INFO(log, "request handled",
	          JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_STR("path", "/api/v1/items"));
}

__attribute__((noinline)) void hot_disabled(jlog_logger *log)
{
	JLOG_DEBUG(log, "request handled",
	           JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	           JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	           JLOG_STR("path", "/api/v1/items"));
}

int main(int argc, char **argv)
{
	long calls = 100000;
	int disabled = 0, sampling = 0, rate = 0, flight = 0, redact = 0;
	const char *sink = "/dev/null";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
			calls = atol(argv[++i]);
		else if (strcmp(argv[i], "--disabled") == 0)
			disabled = 1;
		else if (strcmp(argv[i], "--sink") == 0 && i + 1 < argc)
			sink = argv[++i];
		else if (strcmp(argv[i], "--sampling") == 0)
			sampling = 1;
		else if (strcmp(argv[i], "--sampled-out") == 0)
			sampling = 2;
		else if (strcmp(argv[i], "--rate") == 0)
			rate = 1;
		else if (strcmp(argv[i], "--flight") == 0)
			flight = 1;
		else if (strcmp(argv[i], "--redact") == 0)
			redact = 1;
		else {
			fprintf(stderr,
			        "usage: %s [--calls N] [--disabled] [--sink PATH] "
			        "[--sampling | --sampled-out] [--rate] [--flight] [--redact]\n",
			        argv[0]);
			return 2;
		}
	}
	jlog_options o;
	jlog_options_init(&o);
	o.sink = sink;
	o.allow_symlink = true;
	/* Room for every record: a producer never waits for the writer
	 * (callgrind runs one thread at a time), so only the hot path is
	 * counted, never a wait for space. */
	o.queue_size = (size_t)64 << 20;
	if (sampling) {
		o.sampling = true;
		o.sample_first = sampling == 1 ? UINT32_MAX : 0;
		o.sample_thereafter = 0;
	}
	if (rate) {
		o.rate_per_second = 1e9;
		o.rate_burst = UINT32_MAX;
	}
	if (flight)
		o.flight_records = 200;
	/* The ten key rules of bench/bench-redact.c, none of which matches
	 * the standard record: the writer's cost of rules that find nothing. */
	static const char *const rules[10] = {
		"password", "*token*", "api_key*", "secret", "authorization",
		"cookie",   "*passwd*", "card.number", "**.ssn", "session_id",
	};
	jlog_redact_options ro;
	jlog_redact_options_init(&ro);
	ro.keys = rules;
	ro.nkeys = 10;
	if (redact)
		o.redact = &ro;
	jlog_logger *log;
	int rc = jlog_open(&log, &o);
	if (rc < 0) {
		fprintf(stderr, "jlog_open: %s\n", jlog_strerror(rc));
		return 1;
	}
	/* A thread's first call caches its thread id: make it before the
	 * counted calls. (Each callsite registers on its first call, a few
	 * hundred instructions once, less than 0.01 per call here.) */
	JLOG_INFO(log, "warm-up");
	for (long i = 0; i < calls; i++) {
		if (disabled)
			hot_disabled(log);
		else
			hot_enabled(log);
	}
	jlog_stats st;
	jlog_flush(log);
	jlog_get_stats(log, &st);
	printf("calls %ld logged %llu written %llu dropped %llu sampled_out %llu "
	       "deferred_discarded %llu\n", calls,
	       (unsigned long long)st.logged, (unsigned long long)st.written,
	       (unsigned long long)st.dropped, (unsigned long long)st.sampled_out,
	       (unsigned long long)st.deferred_discarded);
	jlog_close(log);
	return 0;
}
