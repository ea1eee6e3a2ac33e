/*
 * jlog-burst-cold - what the first log call after an idle time pays for.
 *
 * jlog-bench's burst mode times 100 calls, sleeps 1 ms, and again; the
 * first call after each sleep decides its p99.9. This program runs the
 * same bursts with one of these before each, taking turns burst by burst
 * (so every variant sees the same machine at the same time):
 *
 *   none        nothing: as jlog-bench
 *   timer-only  no log call at all in the burst, just the two clock reads
 *               (the measurement's own cold cost)
 *   same-call   one untimed call of the very statement that is timed:
 *               code, data and branch predictors all warm
 *   other-call  one untimed call of another statement (another field
 *               list): the library's code and data warm, the timed call
 *               site's own inline code not
 *
 * and prints, per variant, the first timed call's p50/p90/p99 and the
 * p99/p99.9 of the others.
 *
 *   BUILDDIR/bench/jlog-burst-cold [--bursts N] [--file PATH]
 *
 * Defaults: 4,000 bursts (1,000 per variant), output to /dev/null.
 */
#include <jlog.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BURST_LEN 100
#define NVARIANTS 4

/* In this order, so that "none" follows a burst that logged, as in
 * jlog-bench, not the idle one of "timer-only". */
enum { NONE, TIMER_ONLY, SAME_CALL, OTHER_CALL };
static const char *const names[NVARIANTS] = {"none", "timer-only", "same-call", "other-call"};

static uint64_t ns_of(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *sorted, size_t n, unsigned per_mille10)
{
	size_t i = (size_t)((double)n * per_mille10 / 10000.0);
	return sorted[i < n ? i : n - 1];
}

/* The timed statement: jlog-bench's standard record. Not inlined, so the
 * warm-up of "same-call" runs the very instructions that are timed. */
__attribute__((noinline)) static void timed_call(jlog_logger *log)
{
	JLOG_INFO(log, "request handled", JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_STR("path", "/api/v1/items"));
}

__attribute__((noinline)) static void other_call(jlog_logger *log)
{
	JLOG_INFO(log, "warm-up", JLOG_INT("n", 1));
}

int main(int argc, char **argv)
{
	size_t bursts = 4000;
	const char *path = "/dev/null";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bursts") && i + 1 < argc) {
			bursts = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
			path = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--bursts N] [--file PATH]\n", argv[0]);
			return 2;
		}
	}
	bursts -= bursts % NVARIANTS;
	if (bursts == 0) {
		fprintf(stderr, "jlog-burst-cold: --bursts must be at least %d\n", NVARIANTS);
		return 2;
	}

	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *log;
	int err = jlog_open(&log, &o);
	if (err < 0) {
		fprintf(stderr, "jlog-burst-cold: %s: %s\n", path, strerror(-err));
		return 1;
	}

	size_t per = bursts / NVARIANTS;
	uint64_t *first = calloc(NVARIANTS * per, sizeof(uint64_t));
	uint64_t *rest = calloc(NVARIANTS * per * (BURST_LEN - 1), sizeof(uint64_t));
	if (!first || !rest) {
		fprintf(stderr, "jlog-burst-cold: out of memory\n");
		return 1;
	}
	const struct timespec pause = {0, 1000000};
	size_t nf[NVARIANTS] = {0}, nr[NVARIANTS] = {0};
	for (size_t b = 0; b < bursts; b++) {
		int v = (int)(b % NVARIANTS);
		if (v == SAME_CALL)
			timed_call(log);
		else if (v == OTHER_CALL)
			other_call(log);
		for (int i = 0; i < BURST_LEN; i++) {
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if (v != TIMER_ONLY)
				timed_call(log);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			uint64_t d = ns_of(&t1) - ns_of(&t0);
			if (i == 0)
				first[v * per + nf[v]++] = d;
			else
				rest[(size_t)v * per * (BURST_LEN - 1) + nr[v]++] = d;
		}
		nanosleep(&pause, NULL);
	}
	jlog_close(log);

	printf("jlog-burst-cold: %zu bursts of %d calls per variant, 1 ms sleep between; ns, "
	       "timer included\n",
	       per, BURST_LEN);
	printf("%-12s %10s %10s %10s %11s %12s\n", "variant", "first p50", "first p90", "first p99",
	       "others p99", "others p99.9");
	for (int v = 0; v < NVARIANTS; v++) {
		uint64_t *f = first + (size_t)v * per;
		uint64_t *r = rest + (size_t)v * per * (BURST_LEN - 1);
		qsort(f, nf[v], sizeof(*f), cmp_u64);
		qsort(r, nr[v], sizeof(*r), cmp_u64);
		printf("%-12s %10llu %10llu %10llu %11llu %12llu\n", names[v],
		       (unsigned long long)pct(f, nf[v], 5000), (unsigned long long)pct(f, nf[v], 9000),
		       (unsigned long long)pct(f, nf[v], 9900), (unsigned long long)pct(r, nr[v], 9900),
		       (unsigned long long)pct(r, nr[v], 9990));
	}
	free(first);
	free(rest);
	return 0;
}
