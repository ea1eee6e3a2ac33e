/*
 * jlog-bench-net - a network sink against the file sink, in the same run:
 *
 *   flood: one thread logs N records (the standard workload's fields) as
 *          fast as it can; the time runs from the first call until
 *          jlog_close() returned (everything written, or sent), in
 *          records per second of the writer.
 *   burst: 100 calls, each timed with clock_gettime(CLOCK_MONOTONIC), then
 *          a 1 ms sleep, repeated; p50 and p99.9 of the call's cost, and
 *          the file sink's spread over the runs, the noise the network
 *          sink's figures are compared with.
 *
 * The network sink is tcp:// to jlog-discard (test/jlog-discard.c, a
 * reader that discards), so the figure is jlog's own, not an
 * aggregator's ingest. Each figure is the median of --runs runs, the two
 * sinks alternating within a run.
 *
 *   jlog-bench-net --discard PATH/jlog-discard [--records N] [--runs R]
 *                  [--dir DIR] [--sink tcp://HOST:PORT]
 * (--sink instead of --discard: an aggregator of your own, e.g. rsyslog.)
 */
#include "jlog.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static jlog_logger *open_one(const char *sink)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = sink;
	o.queue_size = 1 << 24;
	jlog_logger *lg = NULL;
	if (jlog_open(&lg, &o) != 0) {
		fprintf(stderr, "jlog-bench-net: open %s: %s\n", sink, jlog_last_error());
		exit(1);
	}
	return lg;
}

static void one_record(jlog_logger *lg, long i)
{
	JLOG_INFO(lg, "request handled", JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_STR("path", "/api/v1/items"), JLOG_INT("i", i));
}

static double flood(const char *sink, long n)
{
	jlog_logger *lg = open_one(sink);
	double t0 = now_s();
	for (long i = 0; i < n; i++)
		one_record(lg, i);
	jlog_stats st;
	jlog_flush(lg);
	jlog_get_stats(lg, &st);
	jlog_close(lg);
	double dt = now_s() - t0;
	if (st.written != (uint64_t)n)
		fprintf(stderr, "jlog-bench-net: %s wrote %llu of %ld (lost %llu)\n", sink,
		        (unsigned long long)st.written, n, (unsigned long long)st.lost);
	return (double)n / dt;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void burst(const char *sink, long n, double *p50, double *p999)
{
	jlog_logger *lg = open_one(sink);
	uint64_t *t = malloc((size_t)n * sizeof(*t));
	for (long i = 0; i < n; i++) {
		uint64_t a = now_ns();
		one_record(lg, i);
		t[i] = now_ns() - a;
		if (i % 100 == 99) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	jlog_close(lg);
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	*p50 = (double)t[n / 2];
	*p999 = (double)t[(size_t)((double)n * 0.999)];
	free(t);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *discard = NULL, *dir = "/tmp", *net = NULL;
	long records = 1000000;
	int runs = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--discard") == 0 && i + 1 < argc)
			discard = argv[++i];
		else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
			records = atol(argv[++i]);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--sink") == 0 && i + 1 < argc)
			net = argv[++i];
		else {
			fprintf(stderr, "usage: %s --discard PATH | --sink tcp://H:P [--records N] "
			        "[--runs R] [--dir DIR]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > 99 || records < 1000 || (!discard && !net)) {
		fprintf(stderr, "jlog-bench-net: need --discard or --sink, runs 1..99, records >= 1000\n");
		return 2;
	}
	char endpoint[128] = "";
	pid_t pid = -1;
	FILE *from = NULL;
	if (!net) {
		int fd[2];
		if (pipe(fd) != 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			dup2(fd[1], STDOUT_FILENO);
			close(fd[0]);
			execl(discard, discard, "0", (char *)NULL);
			_exit(127);
		}
		close(fd[1]);
		from = fdopen(fd[0], "r");
		if (!from || !fgets(endpoint, sizeof(endpoint), from)) {
			fprintf(stderr, "jlog-bench-net: %s printed no endpoint\n", discard);
			return 1;
		}
		endpoint[strcspn(endpoint, "\n")] = 0;
		net = endpoint;
	}
	char file[512];
	snprintf(file, sizeof(file), "%s/jlog-bench-net-%d.jsonl", dir, (int)getpid());
	double ff[99], fn[99], b50f[99], b999f[99], b50n[99], b999n[99];
	for (int r = 0; r < runs; r++) {
		unlink(file);
		ff[r] = flood(file, records);
		fn[r] = flood(net, records);
		burst(file, 100000, &b50f[r], &b999f[r]);
		burst(net, 100000, &b50n[r], &b999n[r]);
		fprintf(stderr, "run %d: flood file %.0f/s, %s %.0f/s; burst p50/p99.9 ns file "
		        "%.0f/%.0f, %s %.0f/%.0f\n", r + 1, ff[r], net, fn[r], b50f[r], b999f[r], net,
		        b50n[r], b999n[r]);
	}
	unlink(file);
	printf("records %ld, runs %d (medians)\n", records, runs);
	printf("flood, records/s: file %.0f, %s %.0f (%.0f%% of the file's)\n", median(ff, runs),
	       net, median(fn, runs), 100.0 * median(fn, runs) / median(ff, runs));
	double m50f = median(b50f, runs), m999f = median(b999f, runs);
	double m50n = median(b50n, runs), m999n = median(b999n, runs);
	printf("burst, ns per call: file p50 %.0f p99.9 %.0f; %s p50 %.0f p99.9 %.0f\n", m50f,
	       m999f, net, m50n, m999n);
	/* The noise: how far the file sink's own runs spread (median()
	 * sorted them). The network's median is within it when it falls
	 * inside that range. */
	printf("burst noise, the file sink's runs: p50 %.0f..%.0f, p99.9 %.0f..%.0f; the "
	       "network's medians are %s (p50) and %s (p99.9)\n", b50f[0], b50f[runs - 1],
	       b999f[0], b999f[runs - 1],
	       m50n >= b50f[0] && m50n <= b50f[runs - 1] ? "within it" : "outside it",
	       m999n >= b999f[0] && m999n <= b999f[runs - 1] ? "within it" : "outside it");
	if (pid > 0) {
		kill(pid, SIGTERM);
		char line[256];
		if (fgets(line, sizeof(line), from))
			printf("jlog-discard: %s", line);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
