/*
 * jlog-bench - latency and throughput of jlog, side by side with peers.
 *
 * Every peer logs the same standard record (level INFO, message "request
 * handled", five fields) from T threads, N records per thread, to a file.
 * Two measurements are made:
 *
 *   burst  Each call is timed on its own with CLOCK_MONOTONIC: 100 calls,
 *          then a 1 ms sleep, repeated. This is the latency a service sees
 *          when it logs at a realistic rate and the writer keeps up. The
 *          percentiles are taken over every call of every thread. A second
 *          table splits them: the first call after each sleep (one in 100,
 *          so it decides p99.9) and the other 99.
 *
 *   flood  No pauses and no timing per call. "calls/s" is how fast the
 *          producers get through their calls; "e2e rec/s" counts until the
 *          last byte has been written to the file and the logger is closed.
 *          Unless --records says otherwise, a flood makes the same number
 *          of calls in all whatever the thread count, split across the
 *          threads: a file four times as large would measure the kernel's
 *          writeback of dirty pages rather than the threads (the page
 *          cache throttles write(2) once a few GB are dirty).
 *
 * After each run the file is read back: every line must parse with jansson
 * as one JSON object, and under the BLOCK policy there must be exactly T*N
 * lines. Each figure is the median of --runs runs. Each (peer, mode) pair is
 * measured in a fresh process (this program re-executes itself with the
 * internal --child option), so the peak RSS of one does not hide another.
 *
 * Peers sit behind a small interface of function pointers (struct peer):
 * adding another logger means writing open/log/close and one table entry.
 * The default peers are jlog, spdlog (async, when meson found it; see
 * peer-spdlog.cc) and a fprintf baseline; the table gives the ratio of jlog
 * to each of them, all measured in the same invocation.
 *
 * --threads takes a list (--threads 1,2): the whole comparison is made for
 * each thread count in turn.
 *
 * The output is a table for humans, then exactly one line of JSON with all
 * figures, for scripts. Its "threads" is the thread count, or the list of
 * them when --threads was given several; each result row has its own.
 * Burst rows also carry "latency_curve", [percentile, ns] pairs from p50 to
 * p99.99 (each the median over the runs).
 *
 * Plots: with gnuplot on PATH,
 *
 *     jlog-bench --threads 1,2 --plot bench/results/jlog-bench
 *
 * measures, writes the JSON line to PREFIX.json, and draws
 * PREFIX-latency.png (burst latency against percentile, one panel per
 * thread count) and PREFIX-throughput.png (flood end-to-end records/s per
 * peer and thread count) with PREFIX.gp. Add --replot to draw again from
 * PREFIX.json without measuring.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), getopt_long() */
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <jlog.h>

#define BURST_LEN 100              /* calls per burst */
#define BURST_PAUSE_NS 1000000L    /* the sleep between bursts */
#define TIMER_SAMPLES 100001       /* back-to-back clock_gettime pairs */
#define DEFAULT_BURST_RECORDS 100000
#define DEFAULT_FLOOD_TOTAL 2000000  /* flood calls in all, see the top */
#define MAX_THREADS 1024
#define MAX_THREAD_COUNTS 8        /* entries in a --threads list */
#define MAX_RUNS 1000
#define MAX_PEERS 8
/* Points of the latency curve: percentiles p with 1/(1-p) spread evenly on
 * a log scale from 2 (p50) to 10000 (p99.99). */
#define CURVE_POINTS 41
#define CURVE_MIN_Q 2.0
#define CURVE_MAX_Q 10000.0

enum mode { MODE_BURST = 0, MODE_FLOOD = 1, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = {"burst", "flood"};

/* The command line, also what a child process is given. */
struct bench {
	int threads; /* of the measurement being made */
	int thread_counts[MAX_THREAD_COUNTS]; /* --threads */
	size_t nthread_counts;
	uint64_t records;  /* per thread; 0 means the default of the mode */
	bool modes[MODE_COUNT];
	const char *file;  /* NULL: one file per measurement in $TMPDIR */
	size_t queue_size; /* 0: the peer's default */
	bool drop;
	int runs;
	bool json_only;
	bool keep;
	bool in_process;
	const struct peer *peers[MAX_PEERS];
	size_t npeers;
	const char *child; /* "peer:mode" in a child process, else NULL */
	const char *plot;  /* --plot PREFIX, else NULL */
	bool replot;       /* draw from PREFIX.json, do not measure */
};

/* ------------------------------------------------------------------------ */
/* Peers                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * A logger under test. open() and close() run on the main thread; log()
 * runs on every worker thread at once and must write the standard record.
 * close() must not return before everything logged is in the file (written
 * with write(2), not necessarily synced), and it reports the number of
 * records the logger knowingly dropped.
 */
struct peer {
	const char *key;   /* name for --peers and file names */
	const char *label; /* name in the table and the JSON */
	int (*open)(void **ctx, const char *path, const struct bench *b);
	void (*log)(void *ctx);
	int (*close)(void *ctx, uint64_t *dropped);
};

/* jlog itself, through its public API only. */
static int jlog_peer_open(void **ctx, const char *path, const struct bench *b)
{
	jlog_options opts;
	jlog_logger *log;
	int err;

	jlog_options_init(&opts);
	opts.sink = path;
	opts.level = JLOG_LEVEL_INFO;
	opts.overflow = b->drop ? JLOG_OVERFLOW_DROP : JLOG_OVERFLOW_BLOCK;
	if (b->queue_size) {
		opts.queue_size = b->queue_size;
		/* max_record_size may be at most a quarter of the ring, and its
		 * default (64 KiB) is not lowered to fit a small ring. The
		 * standard record is about 250 bytes, so cap it. */
		if (opts.max_record_size > b->queue_size / 4)
			opts.max_record_size = b->queue_size / 4;
	}
	err = jlog_open(&log, &opts);
	if (err < 0)
		return err;
	*ctx = log;
	return 0;
}

static void jlog_peer_log(void *ctx)
{
	JLOG_INFO((jlog_logger *)ctx, "request handled",
	          JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_STR("path", "/api/v1/items"));
}

static int jlog_peer_close(void *ctx, uint64_t *dropped)
{
	jlog_logger *log = ctx;
	jlog_stats st;
	int err;

	/* Flush first so the counters are final when they are read. */
	err = jlog_flush(log);
	if (jlog_get_stats(log, &st) == 0)
		*dropped = st.dropped;
	jlog_close(log);
	return err;
}

/*
 * The baseline: what a service writes when it has no logging library. A
 * FILE * shared behind a mutex, the time formatted by hand on every call,
 * and the same JSON line printed with fprintf. It escapes nothing (the
 * values are constants), so it does less work than a real logger must.
 */
struct fprintf_peer {
	pthread_mutex_t lock; /* guards fp */
	FILE *fp;
	long pid;
};

/* The thread id, fetched once per thread as any sane logger would. */
static _Thread_local long fprintf_tid;

static int fprintf_peer_open(void **ctx, const char *path, const struct bench *b)
{
	struct fprintf_peer *p;
	int err;

	(void)b;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fp = fopen(path, "a");
	if (!p->fp) {
		err = -errno;
		free(p);
		return err;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->pid = (long)getpid();
	*ctx = p;
	return 0;
}

static void fprintf_peer_log(void *ctx)
{
	struct fprintf_peer *p = ctx;
	struct timespec ts;
	struct tm tm;
	char stamp[64];

	if (!fprintf_tid)
		fprintf_tid = (long)syscall(SYS_gettid);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000));

	pthread_mutex_lock(&p->lock);
	fprintf(p->fp,
	        "{\"time\":\"%s\",\"level\":\"%s\",\"message\":\"%s\","
	        "\"file\":\"%s\",\"line\":%d,\"function\":\"%s\","
	        "\"pid\":%ld,\"tid\":%ld,\"user\":\"%s\",\"status\":%d,"
	        "\"latency_ms\":%.17g,\"cached\":%s,\"path\":\"%s\"}\n",
	        stamp, "INFO", "request handled", __FILE__, __LINE__, __func__,
	        p->pid, fprintf_tid, "alice", 200, 12.5, "true",
	        "/api/v1/items");
	pthread_mutex_unlock(&p->lock);
}

static int fprintf_peer_close(void *ctx, uint64_t *dropped)
{
	struct fprintf_peer *p = ctx;
	int err = 0;

	*dropped = 0;
	if (fclose(p->fp) != 0)
		err = -errno;
	pthread_mutex_destroy(&p->lock);
	free(p);
	return err;
}

#ifdef JLOG_BENCH_HAVE_SPDLOG
#include "peer-spdlog.h"

/* spdlog's async logger (peer-spdlog.cc). Its queue is counted in
 * messages, not bytes, so --queue-size leaves it at spdlog's default of
 * 8192; --drop selects its overrun_oldest policy. */
static int spdlog_peer_open(void **ctx, const char *path, const struct bench *b)
{
	return jlog_bench_spdlog_open(ctx, path, b->drop);
}
#endif

/*
 * Every known peer, in the default order. The first one is the subject:
 * the others are compared with it.
 */
static const struct peer all_peers[] = {
	{"jlog", "jlog", jlog_peer_open, jlog_peer_log, jlog_peer_close},
#ifdef JLOG_BENCH_HAVE_SPDLOG
	{"spdlog", "spdlog-async", spdlog_peer_open, jlog_bench_spdlog_log,
	 jlog_bench_spdlog_close},
#endif
	{"fprintf", "fprintf+mutex", fprintf_peer_open, fprintf_peer_log,
	 fprintf_peer_close},
};
#define NPEERS (sizeof(all_peers) / sizeof(all_peers[0]))

static const struct peer *find_peer(const char *name, size_t len)
{
	for (size_t i = 0; i < NPEERS; i++) {
		const struct peer *p = &all_peers[i];

		if ((strlen(p->key) == len && !strncmp(p->key, name, len)) ||
		    (strlen(p->label) == len && !strncmp(p->label, name, len)))
			return p;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_ns(&ts);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The nearest-rank percentile num/den of @n sorted values, in integers so
 * that p99.9 of 100000 values is exactly the 99900th.
 */
static uint64_t percentile(const uint64_t *sorted, size_t n, uint64_t num,
                           uint64_t den)
{
	uint64_t rank = ((uint64_t)n * num + den - 1) / den;

	if (n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

/* The percentile (in percent) of point @k of the latency curve. */
static double curve_pct(int k)
{
	double q = CURVE_MIN_Q *
	           pow(CURVE_MAX_Q / CURVE_MIN_Q, (double)k / (CURVE_POINTS - 1));

	/* Rounded to 1e-4 percent, the resolution of percentile() below. */
	return round((1.0 - 1.0 / q) * 1e6) / 1e4;
}

/* The median of @n values; sorts them in place. */
static double median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The peak RSS of this process so far, in MiB. */
static double peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

/*
 * The cost of the timer itself: the median gap between two back-to-back
 * clock_gettime() calls. Every burst latency includes it once.
 */
static uint64_t timer_cost_ns(void)
{
	uint64_t *d = malloc(TIMER_SAMPLES * sizeof(*d));
	uint64_t m;

	if (!d)
		return 0;
	for (size_t i = 0; i < TIMER_SAMPLES; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_MONOTONIC, &b);
		d[i] = ts_ns(&b) - ts_ns(&a);
	}
	qsort(d, TIMER_SAMPLES, sizeof(*d), cmp_u64);
	m = d[TIMER_SAMPLES / 2];
	free(d);
	return m;
}

/* "1234567" as "1,234,567" in @buf. */
static const char *thousands(char *buf, size_t size, uint64_t v)
{
	char digits[32];
	size_t n, j = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v);
	for (size_t i = 0; i < n && j + 2 < size; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = digits[i];
	}
	buf[j] = '\0';
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Checking the output file                                                 */
/* ------------------------------------------------------------------------ */

struct file_check {
	uint64_t lines;            /* lines in the file */
	uint64_t records;          /* lines whose message is the standard one */
	uint64_t dropped_reported; /* sum of "dropped" in "records dropped" */
	bool valid;                /* every line is one JSON object */
};

/*
 * Read the file back line by line (not mapped: mapped pages would count in
 * the RSS being measured) and parse every line with jansson. Duplicate keys
 * are rejected too, since jlog promises none.
 */
static int check_file(const char *path, struct file_check *fc)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool reported = false;

	memset(fc, 0, sizeof(*fc));
	fc->valid = true;
	if (!fp) {
		fprintf(stderr, "jlog-bench: %s: %s\n", path, strerror(errno));
		fc->valid = false;
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		size_t len = (size_t)n;
		json_error_t jerr;
		json_t *obj;

		fc->lines++;
		if (line[len - 1] == '\n')
			len--;
		else
			fc->valid = false; /* the last line is unterminated */
		obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!obj || !json_is_object(obj)) {
			if (!reported)
				fprintf(stderr,
				        "jlog-bench: %s:%" PRIu64 ": %s: %.200s\n",
				        path, fc->lines,
				        obj ? "not an object" : jerr.text, line);
			reported = true;
			fc->valid = false;
		} else {
			const char *msg = json_string_value(
			        json_object_get(obj, "message"));

			if (msg && !strcmp(msg, "request handled"))
				fc->records++;
			else if (msg && !strcmp(msg, "records dropped"))
				fc->dropped_reported += (uint64_t)json_integer_value(
				        json_object_get(obj, "dropped"));
		}
		json_decref(obj);
	}
	free(line);
	fclose(fp);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* One run                                                                  */
/* ------------------------------------------------------------------------ */

struct worker {
	pthread_t thread;
	const struct peer *peer;
	void *ctx;
	enum mode mode;
	uint64_t records;
	uint64_t *lat; /* burst: one slot per call, preallocated and touched */
	pthread_barrier_t *start;
	uint64_t t_start; /* CLOCK_MONOTONIC ns after the barrier */
	uint64_t t_end;   /* ... after the last call */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct timespec pause = {0, BURST_PAUSE_NS};
	const struct peer *peer = w->peer;
	void *ctx = w->ctx;

	pthread_barrier_wait(w->start);
	w->t_start = now_ns();
	if (w->mode == MODE_FLOOD) {
		for (uint64_t i = 0; i < w->records; i++)
			peer->log(ctx);
	} else {
		for (uint64_t i = 0; i < w->records; i++) {
			struct timespec a, b;

			clock_gettime(CLOCK_MONOTONIC, &a);
			peer->log(ctx);
			clock_gettime(CLOCK_MONOTONIC, &b);
			w->lat[i] = ts_ns(&b) - ts_ns(&a);
			if ((i + 1) % BURST_LEN == 0 && i + 1 < w->records)
				nanosleep(&pause, NULL);
		}
	}
	w->t_end = now_ns();
	return NULL;
}

/* The figures of one run; a (peer, mode) row holds their medians. */
struct run {
	double p50, p90, p99, p999, max, timer_ns; /* burst */
	/* burst, split: the first call after each pause, and the others */
	double first_p50, first_p90, rest_p99, rest_p999;
	double curve[CURVE_POINTS];                /* burst, at curve_pct(k) */
	double e2e_rec_per_s, calls_per_s;         /* flood */
	double lines;
	uint64_t dropped;          /* as counted by the peer */
	uint64_t dropped_reported; /* as reported in the file */
	bool valid;                /* every line is a JSON object */
	bool complete;             /* no record is missing or unaccounted */
};

/*
 * The burst figures of the first call after each pause apart from those
 * of the other calls: the first one finds caches, TLBs and branch
 * predictors cooled by the sleep (and on a VM, by whatever else ran on the
 * core meanwhile), which the others do not. @lat holds @records calls of
 * each of @nthreads threads, in call order.
 */
static void split_first(const uint64_t *lat, uint64_t records, size_t nthreads, struct run *r)
{
	uint64_t nfirst = (records + BURST_LEN - 1) / BURST_LEN * nthreads;
	uint64_t nrest = records * nthreads - nfirst;
	uint64_t *first = malloc(nfirst * sizeof(*first));
	uint64_t *rest = malloc((nrest ? nrest : 1) * sizeof(*rest));
	uint64_t f = 0, o = 0;

	if (!first || !rest) {
		free(first);
		free(rest);
		return;
	}
	for (size_t t = 0; t < nthreads; t++)
		for (uint64_t i = 0; i < records; i++) {
			if (i % BURST_LEN == 0)
				first[f++] = lat[t * records + i];
			else
				rest[o++] = lat[t * records + i];
		}
	qsort(first, f, sizeof(*first), cmp_u64);
	qsort(rest, o, sizeof(*rest), cmp_u64);
	r->first_p50 = (double)percentile(first, f, 500, 1000);
	r->first_p90 = (double)percentile(first, f, 900, 1000);
	if (o) {
		r->rest_p99 = (double)percentile(rest, o, 990, 1000);
		r->rest_p999 = (double)percentile(rest, o, 999, 1000);
	}
	free(first);
	free(rest);
}

static int run_once(const struct bench *b, const struct peer *peer,
                    enum mode mode, uint64_t records, const char *path,
                    double *base_rss, struct run *r)
{
	const size_t nthreads = (size_t)b->threads;
	const uint64_t total = records * nthreads;
	struct worker *w = NULL;
	uint64_t *lat = NULL;
	pthread_barrier_t start;
	struct file_check fc;
	uint64_t t0, t_calls = 0, t_done;
	void *ctx;
	int err;

	memset(r, 0, sizeof(*r));
	if (unlink(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "jlog-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	w = calloc(nthreads, sizeof(*w));
	if (!w)
		goto fail_alloc;
	if (mode == MODE_BURST) {
		/* Touch every slot now so no page fault lands in a timing. */
		lat = malloc(total * sizeof(*lat));
		if (!lat)
			goto fail_alloc;
		memset(lat, 0, total * sizeof(*lat));
		r->timer_ns = (double)timer_cost_ns();
	}
	if (*base_rss == 0)
		*base_rss = peak_rss_mib();

	err = peer->open(&ctx, path, b);
	if (err < 0) {
		fprintf(stderr, "jlog-bench: %s: cannot open %s: %s\n",
		        peer->label, path, strerror(-err));
		goto fail_open;
	}

	/* The main thread takes part so that it knows all workers exist. */
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (size_t i = 0; i < nthreads; i++) {
		w[i].peer = peer;
		w[i].ctx = ctx;
		w[i].mode = mode;
		w[i].records = records;
		w[i].lat = lat ? lat + i * records : NULL;
		w[i].start = &start;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			/* The workers already started wait at a barrier that
			 * can no longer fill up: there is no clean way back. */
			fprintf(stderr, "jlog-bench: cannot start thread %zu\n", i);
			exit(2);
		}
	}
	pthread_barrier_wait(&start);
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	err = peer->close(ctx, &r->dropped);
	t_done = now_ns();
	pthread_barrier_destroy(&start);
	if (err < 0)
		fprintf(stderr, "jlog-bench: %s: close: %s\n", peer->label,
		        strerror(-err));

	/* From the first call of any thread, to the last. */
	t0 = w[0].t_start;
	for (size_t i = 0; i < nthreads; i++) {
		if (w[i].t_start < t0)
			t0 = w[i].t_start;
		if (w[i].t_end > t_calls)
			t_calls = w[i].t_end;
	}
	if (mode == MODE_FLOOD) {
		r->calls_per_s = (double)total * 1e9 / (double)(t_calls - t0);
	} else {
		split_first(lat, records, nthreads, r);
		qsort(lat, total, sizeof(*lat), cmp_u64);
		r->p50 = (double)percentile(lat, total, 500, 1000);
		r->p90 = (double)percentile(lat, total, 900, 1000);
		r->p99 = (double)percentile(lat, total, 990, 1000);
		r->p999 = (double)percentile(lat, total, 999, 1000);
		r->max = (double)lat[total - 1];
		for (int k = 0; k < CURVE_POINTS; k++)
			r->curve[k] = (double)percentile(
			        lat, total, (uint64_t)llround(curve_pct(k) * 1e4),
			        1000000);
	}
	free(lat);
	free(w);

	check_file(path, &fc);
	/* Under DROP only the records that reached the file count; under
	 * BLOCK that is all of them, or the run fails below. */
	if (mode == MODE_FLOOD)
		r->e2e_rec_per_s = (double)(b->drop ? fc.records : total) * 1e9 /
		                   (double)(t_done - t0);
	r->lines = (double)fc.lines;
	r->dropped_reported = fc.dropped_reported;
	r->valid = fc.valid;
	if (b->drop)
		/* Every record is either in the file or counted as dropped. */
		r->complete = fc.records + r->dropped == total;
	else
		r->complete = fc.lines == total && fc.records == total;
	if (!r->complete)
		fprintf(stderr,
		        "jlog-bench: %s %s: %" PRIu64 " lines, %" PRIu64
		        " records, %" PRIu64 " dropped; expected %" PRIu64
		        " records\n",
		        peer->label, mode_names[mode], fc.lines, fc.records,
		        r->dropped, total);
	return err < 0 ? -1 : 0;

fail_open:
	free(lat);
	free(w);
	return -1;
fail_alloc:
	fprintf(stderr, "jlog-bench: out of memory\n");
	free(lat);
	free(w);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* One measurement: a (peer, mode) pair, run --runs times                   */
/* ------------------------------------------------------------------------ */

/* Calls per thread of a measurement at @threads threads. */
static uint64_t records_of(const struct bench *b, enum mode mode, int threads)
{
	if (b->records)
		return b->records;
	if (mode == MODE_BURST)
		return DEFAULT_BURST_RECORDS;
	return DEFAULT_FLOOD_TOTAL / (uint64_t)(threads > 0 ? threads : 1);
}

/* A whole number of units, or null when the figure was not measured. */
static json_t *json_count(double v, bool present)
{
	return present ? json_integer((json_int_t)llround(v)) : json_null();
}

/* A real rounded to @digits decimals, or null when not measured. */
static json_t *json_fixed(double v, int digits, bool present)
{
	double scale = pow(10, digits);

	if (!present || !isfinite(v))
		return json_null();
	return json_real(round(v * scale) / scale);
}

/*
 * Run the pair --runs times and return its row: the median of each figure
 * over the runs (each figure on its own), the peak RSS of the process and
 * whether every run wrote what it should. New reference; NULL on failure.
 */
static json_t *measure(const struct bench *b, const struct peer *peer,
                       enum mode mode, const char *path, const char *rss_scope)
{
	const size_t runs = (size_t)b->runs;
	const uint64_t records = records_of(b, mode, b->threads);
	const bool burst = mode == MODE_BURST;
	double *v[13], *curve = NULL;
	double base_rss = 0;
	uint64_t dropped = 0, dropped_reported = 0;
	bool valid = true, complete = true;
	json_t *row = NULL;
	size_t k;

	for (k = 0; k < 13; k++) {
		v[k] = calloc(runs, sizeof(double));
		if (!v[k])
			goto out;
	}
	/* Point c of run i is curve[c * runs + i]. */
	curve = calloc(runs * CURVE_POINTS, sizeof(double));
	if (!curve)
		goto out;
	for (size_t i = 0; i < runs; i++) {
		struct run r;

		if (run_once(b, peer, mode, records, path, &base_rss, &r) < 0)
			goto out;
		v[0][i] = r.p50;
		v[1][i] = r.p90;
		v[2][i] = r.p99;
		v[3][i] = r.p999;
		v[4][i] = r.max;
		v[5][i] = r.timer_ns;
		v[6][i] = r.e2e_rec_per_s;
		v[7][i] = r.calls_per_s;
		v[8][i] = r.lines;
		v[9][i] = r.first_p50;
		v[10][i] = r.first_p90;
		v[11][i] = r.rest_p99;
		v[12][i] = r.rest_p999;
		for (size_t c = 0; c < CURVE_POINTS; c++)
			curve[c * runs + i] = r.curve[c];
		valid = valid && r.valid;
		complete = complete && r.complete;
		/* Drops are the worst run's: they are not a speed. */
		if (r.dropped > dropped)
			dropped = r.dropped;
		if (r.dropped_reported > dropped_reported)
			dropped_reported = r.dropped_reported;
	}

	row = json_object();
	json_object_set_new(row, "peer", json_string(peer->label));
	json_object_set_new(row, "mode", json_string(mode_names[mode]));
	json_object_set_new(row, "threads", json_integer(b->threads));
	json_object_set_new(row, "records", json_integer((json_int_t)records));
	json_object_set_new(row, "runs", json_integer(b->runs));
	json_object_set_new(row, "p50", json_count(median(v[0], runs), burst));
	json_object_set_new(row, "p90", json_count(median(v[1], runs), burst));
	json_object_set_new(row, "p99", json_count(median(v[2], runs), burst));
	json_object_set_new(row, "p999", json_count(median(v[3], runs), burst));
	json_object_set_new(row, "max", json_count(median(v[4], runs), burst));
	json_object_set_new(row, "timer_ns", json_count(median(v[5], runs), burst));
	json_object_set_new(row, "first_p50", json_count(median(v[9], runs), burst));
	json_object_set_new(row, "first_p90", json_count(median(v[10], runs), burst));
	json_object_set_new(row, "rest_p99", json_count(median(v[11], runs), burst));
	json_object_set_new(row, "rest_p999", json_count(median(v[12], runs), burst));
	json_object_set_new(row, "e2e_rec_per_s",
	                    json_count(median(v[6], runs), !burst));
	json_object_set_new(row, "calls_per_s",
	                    json_count(median(v[7], runs), !burst));
	json_object_set_new(row, "peak_rss_mib",
	                    json_fixed(peak_rss_mib(), 1, true));
	json_object_set_new(row, "base_rss_mib", json_fixed(base_rss, 1, true));
	json_object_set_new(row, "rss_scope", json_string(rss_scope));
	json_object_set_new(row, "valid", json_boolean(valid));
	json_object_set_new(row, "lines", json_count(median(v[8], runs), true));
	json_object_set_new(row, "complete", json_boolean(complete));
	json_object_set_new(row, "dropped", json_integer((json_int_t)dropped));
	json_object_set_new(row, "dropped_reported",
	                    json_integer((json_int_t)dropped_reported));
	if (burst) {
		json_t *points = json_array();

		for (size_t c = 0; c < CURVE_POINTS; c++)
			json_array_append_new(
			        points,
			        json_pack("[f,I]", curve_pct((int)c),
			                  (json_int_t)llround(median(
			                          curve + c * runs, runs))));
		json_object_set_new(row, "latency_curve", points);
	}
out:
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(curve);
	return row;
}

/*
 * Measure in a fresh process: run this program again with --child and read
 * the row it prints. Sets *unsupported (and returns NULL) when the program
 * cannot re-execute itself or the child ended without a word, so that the
 * caller measures in this process instead.
 */
static json_t *measure_in_child(const struct bench *b, const struct peer *peer,
                                enum mode mode, const char *path,
                                bool *unsupported)
{
	char child[64], threads[24], records[24], runs[24], queue[24];
	const char *argv[20];
	size_t argc = 0, len = 0, cap = 0;
	char *out = NULL;
	json_t *row = NULL;
	json_error_t jerr;
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	*unsupported = false;
	snprintf(child, sizeof(child), "%s:%s", peer->key, mode_names[mode]);
	snprintf(threads, sizeof(threads), "%d", b->threads);
	snprintf(records, sizeof(records), "%" PRIu64, records_of(b, mode, b->threads));
	snprintf(runs, sizeof(runs), "%d", b->runs);
	snprintf(queue, sizeof(queue), "%zu", b->queue_size);
	argv[argc++] = "jlog-bench";
	argv[argc++] = "--child";
	argv[argc++] = child;
	argv[argc++] = "--threads";
	argv[argc++] = threads;
	argv[argc++] = "--records";
	argv[argc++] = records;
	argv[argc++] = "--runs";
	argv[argc++] = runs;
	argv[argc++] = "--file";
	argv[argc++] = path;
	if (b->queue_size) {
		argv[argc++] = "--queue-size";
		argv[argc++] = queue;
	}
	if (b->drop)
		argv[argc++] = "--drop";
	argv[argc] = NULL;

	if (pipe(fds) < 0)
		goto unsupported;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		goto unsupported;
	}
	if (pid == 0) {
		/* The child's stdout is the pipe; its stderr stays ours. */
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (len + 4096 > cap) {
			char *bigger = realloc(out, cap = cap * 2 + 4096);

			if (!bigger)
				break;
			out = bigger;
		}
		n = read(fds[0], out + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "jlog-bench: the measurement of %s %s was killed "
		                "by signal %d\n",
		        peer->label, mode_names[mode], WTERMSIG(status));
	} else if (WEXITSTATUS(status) != 0 && len == 0) {
		/* Nothing printed: most likely this program could not run
		 * itself again (under valgrind, /proc/self/exe is valgrind).
		 * A real failure will show again in this process. */
		free(out);
		goto unsupported;
	} else if (WEXITSTATUS(status) != 0) {
		fprintf(stderr, "jlog-bench: the measurement of %s %s failed\n",
		        peer->label, mode_names[mode]);
	} else {
		row = json_loadb(out ? out : "", len, 0, &jerr);
		if (!row)
			fprintf(stderr, "jlog-bench: bad child output: %s\n",
			        jerr.text);
	}
	free(out);
	return row;

unsupported:
	*unsupported = true;
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */
/* ------------------------------------------------------------------------ */

static double num(const json_t *row, const char *key)
{
	return json_number_value(json_object_get(row, key));
}

/* Whether @row (a result or a ratio) is of @mode and @threads. */
static bool row_is(const json_t *row, enum mode mode, int threads)
{
	const char *m = json_string_value(json_object_get(row, "mode"));

	return m && !strcmp(m, mode_names[mode]) &&
	       json_integer_value(json_object_get(row, "threads")) == threads;
}

/* The row of the peer labelled @label in @mode with @threads threads, or
 * NULL. Borrowed reference. */
static json_t *find_row(json_t *rows, const char *label, enum mode mode,
                        int threads)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row) {
		const char *peer = json_string_value(json_object_get(row, "peer"));

		if (peer && !strcmp(peer, label) && row_is(row, mode, threads))
			return row;
	}
	return NULL;
}

static json_t *ratio(const json_t *a, const json_t *b, const char *key)
{
	double x = num(a, key), y = num(b, key);

	if (y == 0)
		return json_null();
	return json_fixed(x / y, 3, true);
}

/*
 * Ratios of the subject (the first peer) to each other peer, per thread
 * count and mode: for latencies below 1 means the subject is faster, for
 * rates above 1 does.
 */
static json_t *ratios(const struct bench *b, json_t *rows)
{
	static const char *const burst_keys[] = {"p50", "p90", "p99", "p999",
	                                         "max", "peak_rss_mib"};
	static const char *const flood_keys[] = {"e2e_rec_per_s", "calls_per_s",
	                                         "peak_rss_mib"};
	json_t *list = json_array();

	for (size_t t = 0; t < b->nthread_counts; t++) {
		const int threads = b->thread_counts[t];

		for (int m = 0; m < MODE_COUNT; m++) {
			const char *const *keys =
			        m == MODE_BURST ? burst_keys : flood_keys;
			size_t nkeys = m == MODE_BURST ? 6 : 3;
			json_t *subject = find_row(rows, b->peers[0]->label,
			                           (enum mode)m, threads);

			for (size_t p = 1; subject && p < b->npeers; p++) {
				json_t *other = find_row(rows, b->peers[p]->label,
				                         (enum mode)m, threads);
				json_t *r;

				if (!other)
					continue;
				r = json_object();
				json_object_set_new(r, "mode",
				                    json_string(mode_names[m]));
				json_object_set_new(r, "threads",
				                    json_integer(threads));
				json_object_set_new(r, "peer",
				                    json_string(b->peers[0]->label));
				json_object_set_new(r, "versus",
				                    json_string(b->peers[p]->label));
				for (size_t k = 0; k < nkeys; k++)
					json_object_set_new(
					        r, keys[k],
					        ratio(subject, other, keys[k]));
				json_array_append_new(list, r);
			}
		}
	}
	return list;
}

/* One line of a table: the figures of one peer in one mode. */
static void print_row(const struct bench *b, const json_t *row, enum mode mode)
{
	char x[32], y[32];
	const char *check = "ok";

	if (!json_is_true(json_object_get(row, "valid")))
		check = "INVALID";
	else if (!json_is_true(json_object_get(row, "complete")))
		check = "MISSING";

	printf("%-20s ", json_string_value(json_object_get(row, "peer")));
	if (mode == MODE_BURST)
		printf("%8.0f %8.0f %8.0f %8.0f %9.0f %6.0f ", num(row, "p50"),
		       num(row, "p90"), num(row, "p99"), num(row, "p999"),
		       num(row, "max"), num(row, "timer_ns"));
	else
		printf("%14s %14s ",
		       thousands(x, sizeof(x), (uint64_t)num(row, "e2e_rec_per_s")),
		       thousands(y, sizeof(y), (uint64_t)num(row, "calls_per_s")));
	printf("%8.1f %8.1f %10s %7s\n", num(row, "peak_rss_mib"),
	       num(row, "base_rss_mib"),
	       thousands(x, sizeof(x), (uint64_t)num(row, "lines")), check);
	if (b->drop && num(row, "dropped") > 0)
		printf("%-20s dropped %s records (%s reported in the file)\n", "",
		       thousands(x, sizeof(x), (uint64_t)num(row, "dropped")),
		       thousands(y, sizeof(y),
		                 (uint64_t)num(row, "dropped_reported")));
}

/* One line of ratios, aligned under the figures they compare. */
static void print_ratio(const json_t *r, enum mode mode)
{
	const char *subject = json_string_value(json_object_get(r, "peer"));
	char label[64];

	snprintf(label, sizeof(label), "%s/%s", subject,
	         json_string_value(json_object_get(r, "versus")));
	if (mode == MODE_BURST)
		printf("%-20s %7.2fx %7.2fx %7.2fx %7.2fx %8.2fx %6s %7.2fx"
		       "   (below 1x: %s is faster, smaller)\n",
		       label, num(r, "p50"), num(r, "p90"), num(r, "p99"),
		       num(r, "p999"), num(r, "max"), "", num(r, "peak_rss_mib"),
		       subject);
	else
		printf("%-20s %13.2fx %13.2fx %7.2fx"
		       "   (rates above 1x: %s is faster)\n",
		       label, num(r, "e2e_rec_per_s"), num(r, "calls_per_s"),
		       num(r, "peak_rss_mib"), subject);
}

/* The tables of one thread count. */
static void print_table(const struct bench *b, int threads, json_t *rows,
                        json_t *rat)
{
	const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char x[32];
	size_t i;
	json_t *row;

	printf("jlog-bench: jlog %s, %d thread%s, %ld CPU%s online, "
	       "median of %d run%s, overflow %s, queue %s\n",
	       JLOG_VERSION, threads, threads == 1 ? "" : "s", cpus,
	       cpus == 1 ? "" : "s", b->runs, b->runs == 1 ? "" : "s",
	       b->drop ? "DROP" : "BLOCK",
	       b->queue_size ? thousands(x, sizeof(x), b->queue_size)
	                     : "default");
	printf("RSS: peak of %s (base: before the logger opened)\n",
	       b->in_process ? "this whole process (measured in-process)"
	                     : "a fresh process per row");

	for (int m = 0; m < MODE_COUNT; m++) {
		if (!b->modes[m])
			continue;
		if (m == MODE_BURST) {
			printf("\nburst: %s calls per thread, %d calls then a 1 ms "
			       "sleep; ns per call, timer cost included\n",
			       thousands(x, sizeof(x), records_of(b, MODE_BURST, threads)),
			       BURST_LEN);
			printf("%-20s %8s %8s %8s %8s %9s %6s %8s %8s %10s %7s\n",
			       "peer", "p50", "p90", "p99", "p99.9", "max", "timer",
			       "RSS MiB", "base MiB", "lines", "check");
		} else {
			printf("\nflood: %s calls per thread, no pauses; e2e counts "
			       "until the file is written and the logger closed%s\n",
			       thousands(x, sizeof(x), records_of(b, MODE_FLOOD, threads)),
			       b->drop ? " (records written, not dropped)" : "");
			printf("%-20s %14s %14s %8s %8s %10s %7s\n", "peer",
			       "e2e rec/s", "calls/s", "RSS MiB", "base MiB",
			       "lines", "check");
		}
		json_array_foreach(rows, i, row)
			if (row_is(row, (enum mode)m, threads))
				print_row(b, row, (enum mode)m);
		json_array_foreach(rat, i, row)
			if (row_is(row, (enum mode)m, threads))
				print_ratio(row, (enum mode)m);
		if (m == MODE_BURST) {
			printf("\nburst, split: the first call after each sleep "
			       "(cold caches and predictors), the other %d\n",
			       BURST_LEN - 1);
			printf("%-20s %10s %10s %10s %10s\n", "peer", "first p50",
			       "first p90", "others p99", "others p99.9");
			json_array_foreach(rows, i, row)
				if (row_is(row, (enum mode)m, threads))
					printf("%-20s %10.0f %10.0f %10.0f %10.0f\n",
					       json_string_value(json_object_get(row, "peer")),
					       num(row, "first_p50"), num(row, "first_p90"),
					       num(row, "rest_p99"), num(row, "rest_p999"));
		}
	}
	printf("\n");
}

/* ------------------------------------------------------------------------ */
/* Plots                                                                    */
/* ------------------------------------------------------------------------ */

/* @s as a gnuplot single-quoted string, in which only ' needs escaping. */
static void gp_string(FILE *fp, const char *s)
{
	fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', fp);
		fputc(*s, fp);
	}
	fputc('\'', fp);
}

/* Append @s to the array @list unless it is there already. */
static void add_unique_string(json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), s))
			return;
	json_array_append_new(list, json_string(s));
}

static void add_unique_int(json_t *list, json_int_t n)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_integer_value(v) == n)
			return;
	json_array_append_new(list, json_integer(n));
}

/* How many calls the rows in @mode made, as words for a title: "N calls
 * per thread" when every row made as many per thread, else "N calls in
 * all" (flood's default splits one number across the threads). */
static const char *calls_in(json_t *rows, enum mode mode, char *out, size_t cap)
{
	size_t i;
	json_t *row;
	json_int_t per = -1, all = -1;
	bool same_per = true, same_all = true;
	char x[32];

	json_array_foreach(rows, i, row) {
		const char *m = json_string_value(json_object_get(row, "mode"));
		if (!m || strcmp(m, mode_names[mode]))
			continue;
		json_int_t r = json_integer_value(json_object_get(row, "records"));
		json_int_t t = json_integer_value(json_object_get(row, "threads"));
		if (per >= 0 && r != per)
			same_per = false;
		if (all >= 0 && r * t != all)
			same_all = false;
		per = r;
		all = r * t;
	}
	if (same_per || !same_all)
		snprintf(out, cap, "%s calls per thread",
		         thousands(x, sizeof(x), (uint64_t)(per > 0 ? per : 0)));
	else
		snprintf(out, cap, "%s calls in all",
		         thousands(x, sizeof(x), (uint64_t)all));
	return out;
}

/*
 * Write the gnuplot script for @report (a jlog-bench JSON report) to
 * PREFIX.gp: the data are inline, so the script alone redraws the images.
 */
static int write_plot_script(const char *prefix, const char *gp_path,
                             json_t *report)
{
	json_t *rows = json_object_get(report, "results");
	json_t *labels = json_array(), *counts = json_array();
	const char *version = json_string_value(json_object_get(report, "jlog_version"));
	const json_int_t runs = json_integer_value(json_object_get(report, "runs"));
	const json_int_t cpus = json_integer_value(json_object_get(report, "cpus"));
	size_t i, t, p, nburst = 0, nflood = 0;
	double lo = 0, hi = 0; /* of every latency, for one y range */
	char path[4096], calls[64];
	json_t *row, *v;
	FILE *fp;

	json_array_foreach(rows, i, row) {
		const char *m = json_string_value(json_object_get(row, "mode"));

		add_unique_string(labels, json_string_value(json_object_get(row, "peer")));
		add_unique_int(counts, json_integer_value(json_object_get(row, "threads")));
		nburst += m && !strcmp(m, "burst");
		nflood += m && !strcmp(m, "flood");
		json_array_foreach(json_object_get(row, "latency_curve"), t, v) {
			double ns = json_number_value(json_array_get(v, 1));

			if (ns > 0 && (lo == 0 || ns < lo))
				lo = ns;
			if (ns > hi)
				hi = ns;
		}
	}
	fp = fopen(gp_path, "w");
	if (!fp) {
		fprintf(stderr, "jlog-bench: %s: %s\n", gp_path, strerror(errno));
		json_decref(labels);
		json_decref(counts);
		return -1;
	}
	fprintf(fp, "# Drawn by jlog-bench --plot from %s.json; the data are "
	            "inline.\n# Redraw with: gnuplot ",
	        prefix);
	gp_string(fp, gp_path);
	fprintf(fp, "\n\n"
	            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
	            "\tterm = 'pngcairo enhanced font \"sans,10\"'\n"
	            "} else {\n"
	            "\tterm = 'png'\n"
	            "}\n\n");

	/* Latency: one panel per thread count, one curve per peer. */
	if (nburst) {
		json_array_foreach(counts, t, v) {
			json_array_foreach(labels, p, row) {
				json_t *r = find_row(rows, json_string_value(row),
				                     MODE_BURST,
				                     (int)json_integer_value(v));
				json_t *pt;
				size_t k;

				fprintf(fp, "$lat_%zu_%zu << EOD\n", t, p);
				json_array_foreach(json_object_get(r, "latency_curve"),
				                   k, pt) {
					double pct = json_number_value(
					        json_array_get(pt, 0));

					fprintf(fp, "%.6g %.6g %" JSON_INTEGER_FORMAT "\n",
					        100.0 / (100.0 - pct), pct,
					        json_integer_value(json_array_get(pt, 1)));
				}
				fprintf(fp, "EOD\n");
			}
		}
		fprintf(fp, "\nset terminal @term size %zu,520\nset output ",
		        480 * json_array_size(counts) + 80);
		snprintf(path, sizeof(path), "%s-latency.png", prefix);
		gp_string(fp, path);
		fprintf(fp, "\nset multiplot layout 1,%zu title ",
		        json_array_size(counts));
		snprintf(path, sizeof(path),
		         "jlog %s: latency of one call in burst mode (%s, 100 calls "
		         "then 1 ms sleep), median of %"
		         JSON_INTEGER_FORMAT " run%s, %" JSON_INTEGER_FORMAT " CPUs",
		         version ? version : "?",
		         calls_in(rows, MODE_BURST, calls, sizeof(calls)),
		         runs, runs == 1 ? "" : "s", cpus);
		gp_string(fp, path);
		/* The panels share a y range of whole decades. */
		fprintf(fp, "\nset logscale xy\n"
		            "set yrange [%g:%g]\n"
		            "set format y '%%.0s%%c'\n"
		            "set xrange [%g:%g]\n"
		            "set xtics ('p50' 2, 'p90' 10, 'p99' 100, 'p99.9' 1000, "
		            "'p99.99' 10000)\n"
		            "set mxtics 10\n"
		            "set xlabel 'percentile (1/(1-p) on a log scale)'\n"
		            "set ylabel 'ns per call, timer included (log scale)'\n"
		            "set grid xtics ytics mytics\n"
		            "set key top left reverse Left\n",
		        lo > 0 ? pow(10, floor(log10(lo))) : 1,
		        hi > 0 ? pow(10, ceil(log10(hi))) : 10, CURVE_MIN_Q,
		        CURVE_MAX_Q);
		json_array_foreach(counts, t, v) {
			json_int_t n = json_integer_value(v);

			fprintf(fp, "set title '%" JSON_INTEGER_FORMAT " thread%s'\n"
			            "plot ",
			        n, n == 1 ? "" : "s");
			json_array_foreach(labels, p, row) {
				fprintf(fp, "%s$lat_%zu_%zu using 1:3 with linespoints "
				            "pointsize 0.6 linewidth 2 title ",
				        p ? ", \\\n     " : "", t, p);
				gp_string(fp, json_string_value(row));
			}
			fprintf(fp, "\n");
		}
		fprintf(fp, "unset multiplot\nset output\nreset\n\n");
	}

	/* Throughput: groups of bars, one group per thread count. */
	if (nflood) {
		const size_t n = json_array_size(labels);

		fprintf(fp, "$tp << EOD\n");
		json_array_foreach(counts, t, v) {
			json_int_t threads = json_integer_value(v);

			fprintf(fp, "\"%" JSON_INTEGER_FORMAT " thread%s\"", threads,
			        threads == 1 ? "" : "s");
			json_array_foreach(labels, p, row) {
				json_t *r = find_row(rows, json_string_value(row),
				                     MODE_FLOOD, (int)threads);

				if (r)
					fprintf(fp, " %.4f",
					        num(r, "e2e_rec_per_s") / 1e6);
				else
					fprintf(fp, " NaN");
			}
			fprintf(fp, "\n");
		}
		fprintf(fp, "EOD\n\nset terminal @term size %zu,520\nset output ",
		        110 * n * json_array_size(counts) + 320);
		snprintf(path, sizeof(path), "%s-throughput.png", prefix);
		gp_string(fp, path);
		fprintf(fp, "\nset title ");
		snprintf(path, sizeof(path),
		         "jlog %s: end-to-end records/s in flood mode (%s, until "
		         "written and closed), median of %"
		         JSON_INTEGER_FORMAT " run%s, %" JSON_INTEGER_FORMAT " CPUs",
		         version ? version : "?",
		         calls_in(rows, MODE_FLOOD, calls, sizeof(calls)),
		         runs, runs == 1 ? "" : "s", cpus);
		gp_string(fp, path);
		/* A bar of a clustered histogram (gap 1) is 1/(n+1) wide and
		 * the cluster is centred on its row number. */
		fprintf(fp, "\nset datafile missing 'NaN'\n"
		            "set style data histograms\n"
		            "set style histogram clustered gap 1\n"
		            "set style fill solid 0.85 border -1\n"
		            "set xrange [-0.6:%zu.6]\n"
		            "set yrange [0:*]\n"
		            "set offsets 0, 0, graph 0.08, 0\n"
		            "set ylabel 'million records/s (end to end)'\n"
		            "set grid ytics\n"
		            "set key outside bottom center horizontal\n"
		            "plot ",
		        json_array_size(counts) - 1);
		for (p = 0; p < n; p++) {
			fprintf(fp, "%s$tp using %zu:xtic(1) title ",
			        p ? ", \\\n     " : "", p + 2);
			gp_string(fp, json_string_value(json_array_get(labels, p)));
		}
		for (p = 0; p < n; p++)
			fprintf(fp, ", \\\n     $tp using ($0%+.4f):%zu:"
			            "(sprintf('%%.2f', column(%zu))) with labels "
			            "offset 0,0.7 notitle",
			        ((double)p - (double)(n - 1) / 2) / (double)(n + 1),
			        p + 2, p + 2);
		fprintf(fp, "\n\nset output\n");
	}
	json_decref(labels);
	json_decref(counts);
	if (fclose(fp) != 0) {
		fprintf(stderr, "jlog-bench: %s: %s\n", gp_path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Draw PREFIX-latency.png and PREFIX-throughput.png from @report: write
 * PREFIX.gp and run gnuplot on it.
 */
static int plot(const char *prefix, json_t *report)
{
	char gp_path[4096];
	int status;
	pid_t pid;

	snprintf(gp_path, sizeof(gp_path), "%s.gp", prefix);
	if (write_plot_script(prefix, gp_path, report) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "jlog-bench: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", gp_path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr, "jlog-bench: gnuplot is not on PATH; the data are "
		                "in %s.json, draw them later with --plot %s "
		                "--replot\n", prefix, prefix);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "jlog-bench: gnuplot %s failed\n", gp_path);
		return -1;
	}
	fprintf(stderr, "jlog-bench: wrote %s-latency.png and "
	                "%s-throughput.png\n", prefix, prefix);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

/* "jlog,spdlog,fprintf": every peer built in, in the default order. */
static const char *default_peers(void)
{
	static char list[128];

	if (!list[0])
		for (size_t i = 0; i < NPEERS; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			         "%s%s", i ? "," : "", all_peers[i].key);
	return list;
}

static void usage(FILE *fp)
{
	fprintf(fp,
	        "usage: jlog-bench [options]\n"
	        "  --threads T[,T...] logging threads (default 1); with a list,\n"
	        "                     everything is measured for each count\n"
	        "  --records N        records per thread (default %d for burst;\n"
	        "                     for flood, %d in all, split across the\n"
	        "                     threads)\n"
	        "  --mode M           burst, flood or both (default both)\n"
	        "  --runs R           runs per figure; medians are reported "
	        "(default 3)\n"
	        "  --file PATH        log to PATH, truncated before each run\n"
	        "                     (default: a file per row in $TMPDIR or /tmp)\n"
	        "  --keep             keep the log files\n"
	        "  --queue-size B     ring size in bytes (suffix k, M or G)\n"
	        "  --drop             DROP overflow policy instead of BLOCK\n"
	        "  --peers LIST       comma-separated, first is compared with the\n"
	        "                     others (default %s)\n"
	        "  --in-process       do not re-execute for each row\n"
	        "  --json-only        print only the JSON line\n"
	        "  --plot PREFIX      also write PREFIX.json and, with gnuplot,\n"
	        "                     PREFIX-latency.png and PREFIX-throughput.png\n"
	        "  --replot           with --plot: draw from PREFIX.json, do not\n"
	        "                     measure\n",
	        DEFAULT_BURST_RECORDS, DEFAULT_FLOOD_TOTAL, default_peers());
}

/* A positive decimal number at most @max, with an optional binary suffix. */
static bool parse_number(const char *s, bool suffix, uint64_t max,
                         uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	if (suffix && *end) {
		switch (*end++) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return false;
		}
	}
	if (*end || v == 0 || v > max / mult)
		return false;
	*out = (uint64_t)v * mult;
	return true;
}

static bool parse_peers(struct bench *b, const char *list)
{
	b->npeers = 0;
	while (*list) {
		size_t len = strcspn(list, ",");
		const struct peer *p = find_peer(list, len);

		if (!p || b->npeers == MAX_PEERS) {
			fprintf(stderr, "jlog-bench: unknown peer '%.*s'\n",
			        (int)len, list);
			return false;
		}
		b->peers[b->npeers++] = p;
		list += len;
		if (*list == ',')
			list++;
	}
	return b->npeers > 0;
}

/* A comma-separated list of distinct thread counts. */
static bool parse_threads(struct bench *b, const char *list)
{
	char buf[32];
	uint64_t v;

	b->nthread_counts = 0;
	while (*list) {
		size_t len = strcspn(list, ",");

		if (len == 0 || len >= sizeof(buf) ||
		    b->nthread_counts == MAX_THREAD_COUNTS)
			return false;
		memcpy(buf, list, len);
		buf[len] = '\0';
		if (!parse_number(buf, false, MAX_THREADS, &v))
			return false;
		for (size_t i = 0; i < b->nthread_counts; i++)
			if (b->thread_counts[i] == (int)v)
				return false;
		b->thread_counts[b->nthread_counts++] = (int)v;
		list += len;
		if (*list == ',' && *++list == '\0')
			return false;
	}
	return b->nthread_counts > 0;
}

static int parse_args(struct bench *b, int argc, char **argv)
{
	/* In the order of opts[], which the error message relies on. */
	enum { O_THREADS = 256, O_RECORDS, O_MODE, O_FILE, O_QUEUE, O_DROP,
	       O_RUNS, O_JSON, O_KEEP, O_PEERS, O_INPROC, O_CHILD, O_PLOT,
	       O_REPLOT, O_HELP };
	static const struct option opts[] = {
		{"threads", required_argument, NULL, O_THREADS},
		{"records", required_argument, NULL, O_RECORDS},
		{"mode", required_argument, NULL, O_MODE},
		{"file", required_argument, NULL, O_FILE},
		{"queue-size", required_argument, NULL, O_QUEUE},
		{"drop", no_argument, NULL, O_DROP},
		{"runs", required_argument, NULL, O_RUNS},
		{"json-only", no_argument, NULL, O_JSON},
		{"keep", no_argument, NULL, O_KEEP},
		{"peers", required_argument, NULL, O_PEERS},
		{"in-process", no_argument, NULL, O_INPROC},
		{"child", required_argument, NULL, O_CHILD},
		{"plot", required_argument, NULL, O_PLOT},
		{"replot", no_argument, NULL, O_REPLOT},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	b->thread_counts[0] = 1;
	b->nthread_counts = 1;
	b->runs = 3;
	b->modes[MODE_BURST] = b->modes[MODE_FLOOD] = true;
	for (size_t i = 0; i < NPEERS && i < MAX_PEERS; i++)
		b->peers[b->npeers++] = &all_peers[i];
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_THREADS:
			if (!parse_threads(b, optarg))
				goto bad;
			break;
		case O_RECORDS:
			if (!parse_number(optarg, false, UINT64_MAX / MAX_THREADS, &v))
				goto bad;
			b->records = v;
			break;
		case O_MODE:
			b->modes[MODE_BURST] = !strcmp(optarg, "burst") ||
			                       !strcmp(optarg, "both");
			b->modes[MODE_FLOOD] = !strcmp(optarg, "flood") ||
			                       !strcmp(optarg, "both");
			if (!b->modes[MODE_BURST] && !b->modes[MODE_FLOOD])
				goto bad;
			break;
		case O_FILE:
			b->file = optarg;
			break;
		case O_QUEUE:
			if (!parse_number(optarg, true, SIZE_MAX, &v))
				goto bad;
			b->queue_size = (size_t)v;
			break;
		case O_DROP:
			b->drop = true;
			break;
		case O_RUNS:
			if (!parse_number(optarg, false, MAX_RUNS, &v))
				goto bad;
			b->runs = (int)v;
			break;
		case O_JSON:
			b->json_only = true;
			break;
		case O_KEEP:
			b->keep = true;
			break;
		case O_PEERS:
			if (!parse_peers(b, optarg))
				return -1;
			break;
		case O_INPROC:
			b->in_process = true;
			break;
		case O_CHILD:
			b->child = optarg;
			break;
		case O_PLOT:
			b->plot = optarg;
			break;
		case O_REPLOT:
			b->replot = true;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jlog-bench: unexpected argument '%s'\n",
		        argv[optind]);
		return -1;
	}
	if (b->replot && !b->plot) {
		fprintf(stderr, "jlog-bench: --replot needs --plot PREFIX\n");
		return -1;
	}
	b->threads = b->thread_counts[0];
	return 0;
bad:
	fprintf(stderr, "jlog-bench: bad value '%s' for --%s\n", optarg,
	        opts[c - O_THREADS].name);
	return -1;
}

/* The body of a child process: measure one row and print it on stdout. */
static int child_main(const struct bench *b)
{
	const char *colon = strchr(b->child, ':');
	const struct peer *peer;
	json_t *row;
	int mode;

	if (!colon || !b->file)
		return 2;
	peer = find_peer(b->child, (size_t)(colon - b->child));
	for (mode = 0; mode < MODE_COUNT; mode++)
		if (!strcmp(colon + 1, mode_names[mode]))
			break;
	if (!peer || mode == MODE_COUNT)
		return 2;
	row = measure(b, peer, (enum mode)mode, b->file, "fresh process");
	if (!row)
		return 2;
	json_dumpf(row, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(row);
	return fflush(stdout) == 0 ? 0 : 2;
}

/*
 * Measure every (thread count, mode, peer) row, in that order, appending
 * the rows to @rows. Returns 0, or -1 when a measurement could not be made;
 * *ok turns false when an output file was invalid or incomplete.
 */
static int measure_all(struct bench *b, json_t *rows, bool *ok)
{
	const char *tmpdir = getenv("TMPDIR");

	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	for (size_t t = 0; t < b->nthread_counts; t++) {
		b->threads = b->thread_counts[t];
		for (int m = 0; m < MODE_COUNT; m++) {
			if (!b->modes[m])
				continue;
			for (size_t p = 0; p < b->npeers; p++) {
				const struct peer *peer = b->peers[p];
				char path[4096];
				bool unsupported = true;
				json_t *row = NULL;

				if (b->file)
					snprintf(path, sizeof(path), "%s", b->file);
				else
					snprintf(path, sizeof(path),
					         "%s/jlog-bench.%ld.%s.%s.t%d.jsonl",
					         tmpdir, (long)getpid(), peer->key,
					         mode_names[m], b->threads);
				if (!b->json_only && isatty(STDERR_FILENO))
					fprintf(stderr,
					        "jlog-bench: measuring %s %s, %d "
					        "thread%s...\n",
					        peer->label, mode_names[m], b->threads,
					        b->threads == 1 ? "" : "s");
				if (!b->in_process)
					row = measure_in_child(b, peer, (enum mode)m,
					                       path, &unsupported);
				if (unsupported) {
					b->in_process = true;
					row = measure(b, peer, (enum mode)m, path,
					              "process");
				}
				if (!b->keep)
					unlink(path);
				if (!row)
					return -1;
				*ok = *ok &&
				      json_is_true(json_object_get(row, "valid")) &&
				      json_is_true(json_object_get(row, "complete"));
				json_array_append_new(rows, row);
			}
		}
	}
	return 0;
}

/* Write @line and a newline to PREFIX.json. */
static int save_report(const char *prefix, const char *line)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s.json", prefix);
	fp = fopen(path, "w");
	if (!fp || fprintf(fp, "%s\n", line) < 0 || fclose(fp) != 0) {
		fprintf(stderr, "jlog-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* --plot PREFIX --replot: draw PREFIX.json again. */
static int replot(const char *prefix)
{
	char path[4096];
	json_error_t jerr;
	json_t *report;
	int err;

	snprintf(path, sizeof(path), "%s.json", prefix);
	report = json_load_file(path, 0, &jerr);
	if (!report) {
		fprintf(stderr, "jlog-bench: %s:%d: %s\n", path, jerr.line,
		        jerr.text);
		return 1;
	}
	err = plot(prefix, report);
	json_decref(report);
	return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	json_t *report, *rows, *rat, *threads;
	char *line;
	bool ok = true, plotted = true;

	memset(&b, 0, sizeof(b));
	if (parse_args(&b, argc, argv) < 0)
		return 2;
	if (b.child)
		return child_main(&b);
	if (b.replot)
		return replot(b.plot);

	rows = json_array();
	if (measure_all(&b, rows, &ok) < 0) {
		json_decref(rows);
		return 2;
	}
	rat = ratios(&b, rows);
	if (!b.json_only)
		for (size_t t = 0; t < b.nthread_counts; t++)
			print_table(&b, b.thread_counts[t], rows, rat);

	if (b.nthread_counts == 1) {
		threads = json_integer(b.thread_counts[0]);
	} else {
		threads = json_array();
		for (size_t t = 0; t < b.nthread_counts; t++)
			json_array_append_new(threads,
			                      json_integer(b.thread_counts[t]));
	}
	report = json_object();
	json_object_set_new(report, "benchmark", json_string("jlog-bench"));
	json_object_set_new(report, "jlog_version", json_string(JLOG_VERSION));
	json_object_set_new(report, "threads", threads);
	json_object_set_new(report, "runs", json_integer(b.runs));
	json_object_set_new(report, "overflow",
	                    json_string(b.drop ? "drop" : "block"));
	json_object_set_new(report, "queue_size",
	                    b.queue_size ? json_integer((json_int_t)b.queue_size)
	                                 : json_null());
	json_object_set_new(report, "cpus",
	                    json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(report, "ok", json_boolean(ok));
	json_object_set_new(report, "results", rows);
	json_object_set_new(report, "ratios", rat);
	line = json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (line)
		printf("%s\n", line);
	if (b.plot)
		plotted = line && save_report(b.plot, line) == 0 &&
		          plot(b.plot, report) == 0;
	free(line);
	json_decref(report);
	if (!ok)
		fprintf(stderr, "jlog-bench: FAILED: a log file was invalid or "
		                "incomplete\n");
	return ok && plotted ? 0 : 1;
}
