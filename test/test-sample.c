/*
 * Sampling and rate limits (jlog_options.sampling, .rate_per_second; the
 * config keys "sampling" and "rate_limit"): exact counts under 4
 * threads, the reports on the output adding up to jlog_stats.sampled_out,
 * logged + dropped + sampled_out == calls, ERROR and above untouched
 * unless max_level says, and the configuration's errors. Intervals are an
 * hour and buckets refill one token in 1000 s, so that no interval ends
 * and no token comes back during a test: the counts are exact, with no
 * timing assumption.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define HOUR_MS 3600000

static jlog_options base_opts(const char *path)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	o.level = JLOG_LEVEL_DEBUG;
	o.queue_size = 4u << 20;
	return o;
}

/* base_opts() with sampling: the first @first of each hour-long interval
 * at each call site, then 1 in @thereafter (0: none). */
static jlog_options sampled_opts(const char *path, unsigned first, unsigned thereafter)
{
	jlog_options o = base_opts(path);
	o.sampling = true;
	o.sample_first = first;
	o.sample_thereafter = thereafter;
	o.sample_interval_ms = HOUR_MS;
	return o;
}

static jlog_logger *open_opts(const jlog_options *o)
{
	jlog_logger *lg = NULL;
	int rc = jlog_open(&lg, o);
	ck_assert_msg(rc == 0, "jlog_open: %d %s", rc, jlog_last_error());
	return lg;
}

/* What a file holds: lines with message @msg, and the reports (their
 * count and the sum of their sampled_out). */
struct tally {
	size_t records;
	size_t reports;
	uint64_t sampled_out;
	size_t reports_without_file;
	int report_level; /* the highest report's, -1 without one */
};

static struct tally tally_file(const char *path, const char *msg)
{
	struct tally t = {0, 0, 0, 0, -1};
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		ck_assert_ptr_nonnull(m);
		if (strcmp(m, "records sampled out") == 0) {
			json_t *so = json_object_get(lines[i], "sampled_out");
			ck_assert_msg(json_is_integer(so) && json_integer_value(so) > 0,
			              "a report without a positive sampled_out");
			/* A WARNING, or the level of the records it counts. */
			int lv = jlog_level_from_name(
				json_string_value(json_object_get(lines[i], "level")));
			ck_assert_int_ge(lv, JLOG_LEVEL_WARNING);
			if (lv > t.report_level)
				t.report_level = lv;
			t.reports++;
			t.sampled_out += (uint64_t)json_integer_value(so);
			const char *file = json_string_value(json_object_get(lines[i], "file"));
			if (!file)
				t.reports_without_file++;
			else {
				ck_assert_str_eq(file, "test-sample.c");
				ck_assert(json_integer_value(json_object_get(lines[i], "line")) > 0);
			}
		} else if (strcmp(m, msg) == 0) {
			t.records++;
		}
	}
	tc_free_lines(lines, n);
	return t;
}

static void check_stats(jlog_logger *lg, uint64_t calls, uint64_t logged)
{
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.logged, logged);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.logged + st.dropped + st.sampled_out, calls);
}

/* Logs @per_thread records from one call site on each of THREADS
 * threads. */
struct worker {
	jlog_logger *lg;
	unsigned per_thread;
	int level;
	pthread_t t;
};

static void one_site(jlog_logger *lg, int level, unsigned i)
{
	JLOG_LOG(lg, level, "sampled", JLOG_UINT("i", i), JLOG_STR("pad", "x"));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < w->per_thread; i++)
		one_site(w->lg, w->level, i);
	return NULL;
}

static void run_threads(jlog_logger *lg, unsigned per_thread, int level)
{
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){lg, per_thread, level, 0};
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(w[i].t, NULL);
}

/* What "first N, then 1 in M" keeps of @calls in one interval. */
static uint64_t kept(uint64_t calls, uint64_t first, uint64_t m)
{
	if (calls <= first)
		return calls;
	return first + (m ? (calls - first) / m : 0);
}

START_TEST(test_options_defaults)
{
	jlog_options o;
	jlog_options_init(&o);
	ck_assert(!o.sampling);
	ck_assert_uint_eq(o.sample_first, 100);
	ck_assert_uint_eq(o.sample_thereafter, 100);
	ck_assert_int_eq(o.sample_interval_ms, 1000);
	ck_assert_int_eq(o.sample_max_level, JLOG_LEVEL_WARNING);
	ck_assert(o.rate_per_second == 0);
	ck_assert_uint_eq(o.rate_burst, 0);
	ck_assert_int_eq(o.rate_per, JLOG_RATE_PER_CALLSITE);
	ck_assert_int_eq(o.rate_max_level, JLOG_LEVEL_WARNING);
}
END_TEST

/* Off by default: every call is logged, sampled_out stays 0. */
START_TEST(test_off_by_default)
{
	char *path = tc_tmppath("off.jsonl");
	jlog_options o = base_opts(path);
	jlog_logger *lg = open_opts(&o);
	for (unsigned i = 0; i < 500; i++)
		one_site(lg, JLOG_LEVEL_INFO, i);
	check_stats(lg, 500, 500);
	jlog_close(lg);
	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 500);
	ck_assert_uint_eq(t.reports, 0);
	free(path);
}
END_TEST

/* First N, then 1 in M, across 4 threads on one call site: exact. */
START_TEST(test_sampling_exact_threads)
{
	char *path = tc_tmppath("sampling.jsonl");
	jlog_options o = sampled_opts(path, 37, 10);
	jlog_logger *lg = open_opts(&o);
	unsigned per = (unsigned)tc_scale(2500, 100);
	uint64_t calls = (uint64_t)per * THREADS;
	uint64_t want = kept(calls, 37, 10);
	run_threads(lg, per, JLOG_LEVEL_INFO);
	check_stats(lg, calls, want);
	jlog_stats st;
	jlog_get_stats(lg, &st);
	ck_assert_uint_eq(st.sampled_out, calls - want);
	jlog_close(lg);

	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, want);
	ck_assert_uint_ge(t.reports, 1);
	ck_assert_uint_eq(t.sampled_out, calls - want);
	ck_assert_uint_eq(t.reports_without_file, 0);
	free(path);
}
END_TEST

/* thereafter 0: only the first N of the interval. */
START_TEST(test_sampling_first_only)
{
	char *path = tc_tmppath("first.jsonl");
	jlog_options o = sampled_opts(path, 5, 0);
	jlog_logger *lg = open_opts(&o);
	for (unsigned i = 0; i < 40; i++)
		one_site(lg, JLOG_LEVEL_WARNING, i);
	check_stats(lg, 40, 5);
	jlog_close(lg);
	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 5);
	ck_assert_uint_eq(t.reports, 1); /* one call site, one interval */
	ck_assert_uint_eq(t.sampled_out, 35);
	free(path);
}
END_TEST

/* A token bucket per call site, burst 50 and a refill of one token in
 * 1000 s: 50 records of each site, whichever thread logs them. */
START_TEST(test_rate_per_callsite_threads)
{
	char *path = tc_tmppath("rate.jsonl");
	jlog_options o = base_opts(path);
	o.rate_per_second = 0.001;
	o.rate_burst = 50;
	jlog_logger *lg = open_opts(&o);
	unsigned per = (unsigned)tc_scale(1000, 100);
	run_threads(lg, per, JLOG_LEVEL_INFO);
	/* Another call site has a bucket of its own. */
	for (unsigned i = 0; i < 80; i++)
		JLOG_INFO(lg, "other");
	uint64_t calls = (uint64_t)per * THREADS + 80;
	check_stats(lg, calls, 100);
	jlog_close(lg);
	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 50);
	ck_assert_uint_eq(tally_file(path, "other").records, 50);
	ck_assert_uint_eq(t.sampled_out, calls - 100);
	/* One per call site and report interval (a second: more than one
	 * may end on a slow machine). */
	ck_assert_uint_ge(t.reports, 2);
	free(path);
}
END_TEST

/* One bucket for the logger: two call sites share its 30 tokens. */
START_TEST(test_rate_per_logger)
{
	char *path = tc_tmppath("rate-logger.jsonl");
	jlog_options o = base_opts(path);
	o.rate_per_second = 0.001;
	o.rate_burst = 30;
	o.rate_per = JLOG_RATE_PER_LOGGER;
	jlog_logger *lg = open_opts(&o);
	run_threads(lg, 20, JLOG_LEVEL_INFO);
	for (unsigned i = 0; i < 20; i++)
		JLOG_INFO(lg, "sampled", JLOG_UINT("i", i));
	check_stats(lg, 100, 30);
	jlog_close(lg);
	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 30);
	ck_assert_uint_eq(t.sampled_out, 70);
	free(path);
}
END_TEST

/* Sampling first, then the bucket: records sampling suppressed take no
 * token. */
START_TEST(test_sampling_then_rate)
{
	char *path = tc_tmppath("both.jsonl");
	jlog_options o = sampled_opts(path, 0, 2); /* every second record */
	o.rate_per_second = 0.001;
	o.rate_burst = 10;
	jlog_logger *lg = open_opts(&o);
	for (unsigned i = 0; i < 100; i++) {
		one_site(lg, JLOG_LEVEL_INFO, i);
		/* The writer looks at the counts half-way: the interval is
		 * not over, so there is still one report, at the end. */
		if (i == 50)
			ck_assert_int_eq(jlog_flush(lg), 0);
	}
	/* 50 pass the sampling, 10 of those the bucket. */
	check_stats(lg, 100, 10);
	jlog_close(lg);
	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 10);
	ck_assert_uint_eq(t.sampled_out, 90);
	ck_assert_uint_eq(t.reports, 1);
	free(path);
}
END_TEST

/* ERROR and CRITICAL are never sampled by default; WARNING is. */
START_TEST(test_error_not_sampled_by_default)
{
	char *path = tc_tmppath("errors.jsonl");
	jlog_options o = base_opts(path);
	o.sampling = true;
	o.sample_first = 0;
	o.sample_thereafter = 0; /* suppress everything that can be */
	o.rate_per_second = 0.001;
	o.rate_burst = 1;
	jlog_logger *lg = open_opts(&o);
	for (unsigned i = 0; i < 20; i++) {
		one_site(lg, JLOG_LEVEL_WARNING, i);
		one_site(lg, JLOG_LEVEL_ERROR, i);
		one_site(lg, JLOG_LEVEL_CRITICAL, i);
	}
	check_stats(lg, 60, 40);
	jlog_close(lg);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	size_t warn = 0, err = 0;
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		const char *l = json_string_value(json_object_get(lines[i], "level"));
		if (strcmp(m, "sampled") != 0)
			continue;
		if (strcmp(l, "WARNING") == 0)
			warn++;
		else
			err++;
	}
	tc_free_lines(lines, n);
	ck_assert_uint_eq(warn, 0);
	ck_assert_uint_eq(err, 40);
	ck_assert_uint_eq(tally_file(path, "sampled").sampled_out, 20);
	free(path);
}
END_TEST

/* max_level ERROR: ERROR is sampled, CRITICAL still not. */
START_TEST(test_max_level)
{
	char *path = tc_tmppath("max-level.jsonl");
	jlog_options o = sampled_opts(path, 2, 0);
	o.sample_max_level = JLOG_LEVEL_ERROR;
	jlog_logger *lg = open_opts(&o);
	for (unsigned i = 0; i < 10; i++) {
		JLOG_ERROR(lg, "err");
		JLOG_CRITICAL(lg, "crit");
	}
	check_stats(lg, 20, 12);
	jlog_close(lg);
	ck_assert_uint_eq(tally_file(path, "err").records, 2);
	ck_assert_uint_eq(tally_file(path, "crit").records, 10);
	struct tally t = tally_file(path, "err");
	ck_assert_uint_eq(t.sampled_out, 8);
	ck_assert_int_eq(t.report_level, JLOG_LEVEL_ERROR);
	free(path);
}
END_TEST

/* A sink that takes only ERROR and above still learns that ERROR records
 * were suppressed: the report of a call site is at the highest level it
 * counts (a WARNING at least), and a sink takes it by that level. The
 * INFO call site's report (a WARNING) goes to the sink that takes INFO. */
START_TEST(test_report_reaches_error_sink)
{
	char *path = tc_tmppath("all.jsonl");
	char *errs = tc_tmppath("errors.jsonl");
	jlog_options o = sampled_opts(path, 2, 0);
	o.sample_max_level = JLOG_LEVEL_ERROR;
	jlog_logger *lg = open_opts(&o);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = errs;
	so.level = JLOG_LEVEL_ERROR;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	for (unsigned i = 0; i < 10; i++) {
		JLOG_ERROR(lg, "err", JLOG_UINT("i", i));
		JLOG_INFO(lg, "info", JLOG_UINT("i", i));
	}
	check_stats(lg, 20, 4);
	jlog_close(lg);

	struct tally t = tally_file(errs, "err");
	ck_assert_uint_eq(t.records, 2);
	ck_assert_uint_eq(t.reports, 1);
	ck_assert_uint_eq(t.sampled_out, 8);
	ck_assert_int_eq(t.report_level, JLOG_LEVEL_ERROR);
	t = tally_file(path, "info");
	ck_assert_uint_eq(t.records, 2);
	ck_assert_uint_eq(t.reports, 2);
	ck_assert_uint_eq(t.sampled_out, 16);
	free(path);
	free(errs);
}
END_TEST

/* Every entry is sampled, exactly once: the general path (a JSON field),
 * a child with bound fields, the printf macros, the wrappers' jlog_log()
 * with and without a call site. */
START_TEST(test_every_path_sampled_once)
{
	char *path = tc_tmppath("paths.jsonl");
	jlog_options o = sampled_opts(path, 3, 0);
	jlog_logger *lg = open_opts(&o);
	jlog_logger *child = JLOG_WITH(lg, JLOG_STR("req", "r1"));
	ck_assert_ptr_nonnull(child);
	json_t *j = json_pack("{s:[i,i]}", "a", 1, 2);
	for (unsigned i = 0; i < 10; i++) {
		JLOG_INFO(lg, "json", JLOG_JSON("j", j));
		JLOG_INFO(child, "child", JLOG_INT("i", i));
		JLOG_INFOF(lg, "printf %u", i);
		jlog_log(lg, JLOG_LEVEL_INFO, __FILE__, 42, "fn", NULL, 0, "wrapped");
		jlog_log(lg, JLOG_LEVEL_INFO, NULL, 0, NULL, NULL, 0, "anonymous");
	}
	json_decref(j);
	check_stats(lg, 50, 15);
	jlog_close(child);
	jlog_close(lg);
	const char *msgs[] = {"json", "child", "wrapped", "anonymous"};
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(tally_file(path, msgs[i]).records == 3, "%s", msgs[i]);
	size_t n, printf_lines = 0;
	json_t **lines = tc_parse_file(path, &n);
	for (size_t i = 0; i < n; i++)
		printf_lines += strncmp(json_string_value(json_object_get(lines[i], "message")),
		                        "printf ", 7) == 0;
	tc_free_lines(lines, n);
	ck_assert_uint_eq(printf_lines, 3);
	struct tally t = tally_file(path, "none");
	ck_assert_uint_eq(t.sampled_out, 35);
	ck_assert_uint_eq(t.reports, 5);
	ck_assert_uint_eq(t.reports_without_file, 1); /* the anonymous one */
	free(path);
}
END_TEST

/* The report reaches every sink, in every format: a preset and text. */
static char text_out[1 << 16];
static size_t text_len;
static void text_write(const char *line, size_t len, void *user)
{
	(void)user;
	if (text_len + len < sizeof(text_out)) {
		memcpy(text_out + text_len, line, len);
		text_len += len;
	}
}

START_TEST(test_report_every_sink)
{
	char *path = tc_tmppath("main.jsonl");
	char *ecs = tc_tmppath("ecs.jsonl");
	jlog_options o = sampled_opts(path, 1, 0);
	jlog_logger *lg = open_opts(&o);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = ecs;
	so.preset = "ecs";
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	jlog_sink_options_init(&so);
	so.write = text_write;
	so.serialize = false;
	so.format = "{level}|{message}|{file}|{extra}";
	text_len = 0;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	for (unsigned i = 0; i < 6; i++)
		one_site(lg, JLOG_LEVEL_INFO, i);
	jlog_close(lg);

	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 1);
	ck_assert_uint_eq(t.sampled_out, 5);
	size_t n;
	json_t **lines = tc_parse_file(ecs, &n);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		json_t *so_v = json_object_get(lines[i], "sampled_out");
		if (so_v) {
			ck_assert_int_eq(json_integer_value(so_v), 5);
			found = true;
		}
	}
	tc_free_lines(lines, n);
	ck_assert_msg(found, "no report in the ecs sink");
	text_out[text_len] = '\0';
	ck_assert_msg(strstr(text_out, "WARNING|records sampled out|test-sample.c|"
	                               "{\"sampled_out\":5}\n") != NULL,
	              "%s", text_out);
	free(path);
	free(ecs);
}
END_TEST

/* A process that exits without closing its logger still reports what
 * it suppressed (the exit handler's flush). */
START_TEST(test_report_at_exit)
{
	char *path = tc_tmppath("exit.jsonl");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		jlog_options o = sampled_opts(path, 2, 0);
		jlog_logger *lg = NULL;
		if (jlog_open(&lg, &o) != 0)
			_exit(3);
		for (unsigned i = 0; i < 10; i++)
			one_site(lg, JLOG_LEVEL_INFO, i);
		exit(0); /* no jlog_close() */
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct tally t = tally_file(path, "sampled");
	ck_assert_uint_eq(t.records, 2);
	ck_assert_uint_eq(t.sampled_out, 8);
	free(path);
}
END_TEST

/* jlog_open() refuses bad values, naming the option. */
START_TEST(test_option_errors)
{
	jlog_options o;
	jlog_logger *lg = NULL;

	jlog_options_init(&o);
	o.sampling = true;
	o.sample_interval_ms = 0;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_null(lg);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "sample_interval_ms"));

	jlog_options_init(&o);
	o.rate_per_second = -1;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "rate_per_second"));

	jlog_options_init(&o);
	o.rate_per_second = 10;
	o.rate_per = 7;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "rate_per"));

	jlog_options_init(&o);
	o.sampling = true;
	o.sample_max_level = 300;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "sample_max_level"));
}
END_TEST

/* The config keys set what the options do. */
START_TEST(test_config_keys)
{
	char *path = tc_tmppath("config.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"DEBUG\", \"sinks\": [{\"sink\": \"%s\"}],"
	         " \"sampling\": {\"first\": 4, \"thereafter\": 3, \"interval_ms\": 3600000,"
	         "                \"max_level\": \"error\"},"
	         " \"rate_limit\": {\"per_second\": 0.001, \"burst\": 2, \"per\": \"logger\","
	         "                  \"max_level\": \"DEBUG\"}}",
	         path);
	char err[256];
	jlog_logger *lg = NULL;
	ck_assert_msg(jlog_open_config_err(&lg, doc, err, sizeof(err)) == 0, "%s", err);
	/* ERROR is sampled (max_level error): 4 + (16 - 4) / 3 = 8 of 16. */
	for (unsigned i = 0; i < 16; i++)
		JLOG_ERROR(lg, "e");
	/* DEBUG: sampled, then the logger's bucket: 2 tokens. */
	for (unsigned i = 0; i < 16; i++)
		JLOG_DEBUG(lg, "d", JLOG_UINT("i", i));
	/* INFO: sampled (8 of 16), not rate limited (above DEBUG). */
	for (unsigned i = 0; i < 16; i++)
		JLOG_INFO(lg, "i");
	check_stats(lg, 48, 18);
	jlog_close(lg);
	ck_assert_uint_eq(tally_file(path, "e").records, 8);
	ck_assert_uint_eq(tally_file(path, "d").records, 2);
	ck_assert_uint_eq(tally_file(path, "i").records, 8);
	ck_assert_uint_eq(tally_file(path, "e").sampled_out, 30);
	free(path);

	/* "sampling": {} is on, with the defaults: 100 first of a second. */
	lg = NULL;
	ck_assert_msg(jlog_open_config_err(&lg, "{\"sinks\": [{\"sink\": \"stderr\", \"level\": 50}],"
	                                        " \"level\": \"INFO\", \"sampling\": {}}",
	                                   err, sizeof(err)) == 0,
	              "%s", err);
	for (unsigned i = 0; i < 150; i++)
		one_site(lg, JLOG_LEVEL_INFO, i);
	jlog_stats st;
	jlog_get_stats(lg, &st);
	ck_assert_uint_eq(st.logged + st.sampled_out, 150);
	ck_assert_uint_ge(st.logged, 100); /* a new second may have begun */
	jlog_close(lg);
}
END_TEST

static void config_error(const char *doc, const char *want)
{
	char err[256] = "";
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open_config_err(&lg, doc, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(lg);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "\"%s\" does not start with \"%s\"",
	              err, want);
}

START_TEST(test_config_errors)
{
	config_error("{\"sampling\": 3}", "sampling: expected an object");
	config_error("{\"sampling\": {\"first\": \"many\"}}", "sampling.first: expected an integer");
	config_error("{\"sampling\": {\"thereafter\": -1}}", "sampling.thereafter: -1 is out of range");
	config_error("{\"sampling\": {\"interval_ms\": 0}}", "sampling.interval_ms: 0 is out of range");
	config_error("{\"sampling\": {\"max_level\": \"LOUD\"}}", "sampling.max_level:");
	config_error("{\"sampling\": {\"every\": 2}}", "sampling.every: unknown key");
	config_error("{\"rate_limit\": {\"burst\": 2}}", "rate_limit: \"per_second\" is required");
	config_error("{\"rate_limit\": {\"per_second\": 0}}", "rate_limit.per_second: 0 is out of range");
	config_error("{\"rate_limit\": {\"per_second\": \"fast\"}}",
	             "rate_limit.per_second: expected a number");
	config_error("{\"rate_limit\": {\"per_second\": 5, \"burst\": 0}}",
	             "rate_limit.burst: must be at least 1");
	config_error("{\"rate_limit\": {\"per_second\": 5, \"per\": \"thread\"}}",
	             "rate_limit.per: expected \"callsite\" or \"logger\"");
	config_error("{\"rate_limit\": {\"per_second\": 5, \"max\": 1}}", "rate_limit.max: unknown key");
	config_error("{\"rate_limit\": []}", "rate_limit: expected an object");
}
END_TEST

/* ---- The window on its own (jlog__sample_window(), sample.h) ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

#define WIN_ROUNDS 3000
struct win_arg {
	const struct jlog__sample_rules *r;
	struct jlog__sample_site *site;
	pthread_barrier_t *bar;
	unsigned id;
	unsigned calls; /* per round */
	uint32_t *out;  /* WIN_ROUNDS * calls numbers */
	uint64_t *seen; /* the window after each round (thread 1 looks) */
};

/* Round E calls with interval E: the first calls of a round race to
 * start its window, while the others' adds still land in the old one. */
static void *win_thread(void *p)
{
	struct win_arg *a = p;
	for (uint32_t e = 0; e < WIN_ROUNDS; e++) {
		pthread_barrier_wait(a->bar);
		for (unsigned i = 0; i < a->calls; i++)
			a->out[e * a->calls + i] = jlog__sample_window(NULL, a->r, a->site, e);
		pthread_barrier_wait(a->bar);
		/* Before the others pass the next round's first barrier. */
		if (a->id == 1)
			a->seen[e] = atomic_load(&a->site->window);
	}
	return NULL;
}

/* Every call is counted exactly once, in its interval's window: in each
 * round the numbers handed out are exactly 1..calls. A call stamped an
 * interval behind the window counts in the window it finds. */
START_TEST(test_window_exact_across_intervals)
{
	struct jlog__sample_rules r = {.sampling = true, .first = 10, .thereafter = 3,
	                               .interval = 1, .base = 0};
	struct jlog__sample_site site;
	memset(&site, 0, sizeof(site));
	unsigned calls = (unsigned)tc_scale(40, 10);
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, THREADS);
	pthread_t th[THREADS];
	struct win_arg a[THREADS];
	uint64_t seen[WIN_ROUNDS];
	for (unsigned t = 0; t < THREADS; t++) {
		a[t] = (struct win_arg){&r, &site, &bar, t, calls,
		                        malloc(sizeof(uint32_t) * WIN_ROUNDS * calls), seen};
		ck_assert_ptr_nonnull(a[t].out);
		ck_assert_int_eq(pthread_create(&th[t], NULL, win_thread, &a[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&bar);

	size_t per_round = (size_t)THREADS * calls;
	uint32_t *all = malloc(sizeof(uint32_t) * per_round);
	ck_assert_ptr_nonnull(all);
	for (uint32_t e = 0; e < WIN_ROUNDS; e++) {
		for (unsigned t = 0; t < THREADS; t++)
			memcpy(all + (size_t)t * calls, a[t].out + (size_t)e * calls, sizeof(uint32_t) * calls);
		qsort(all, per_round, sizeof(uint32_t), cmp_u32);
		for (size_t i = 0; i < per_round; i++)
			ck_assert_msg(all[i] == i + 1, "round %u: number %u at %zu", e, all[i], i);
		ck_assert_uint_eq(seen[e] >> 32, e);
		ck_assert_uint_eq((uint32_t)seen[e], per_round);
	}

	/* The end follows the window: the last round's interval ends at
	 * stamp WIN_ROUNDS (interval 1 from base 0). */
	ck_assert_uint_eq(atomic_load(&site.end), WIN_ROUNDS);
	/* Late: stamped in interval 4 while the window is 5's. */
	atomic_store(&site.window, (uint64_t)5 << 32 | 3);
	atomic_store(&site.end, 6);
	ck_assert_uint_eq(jlog__sample_window(NULL, &r, &site, 4), 4);
	ck_assert_uint_eq(atomic_load(&site.window), (uint64_t)5 << 32 | 4);
	ck_assert_uint_eq(atomic_load(&site.end), 6);
	/* In the window's own interval, before its end: no slow path. */
	ck_assert_uint_eq(jlog__sample_window(NULL, &r, &site, 5), 5);
	ck_assert_uint_eq(atomic_load(&site.end), 6);
	/* With the end forgotten (a change of rules), the slow path finds
	 * the window current and stores its end again. */
	atomic_store(&site.end, 0);
	ck_assert_uint_eq(jlog__sample_window(NULL, &r, &site, 5), 6);
	ck_assert_uint_eq(atomic_load(&site.end), 6);
	/* A later interval starts a window of its own, however far on. */
	ck_assert_uint_eq(jlog__sample_window(NULL, &r, &site, 900), 1);
	ck_assert_uint_eq(atomic_load(&site.window), (uint64_t)900 << 32 | 1);
	ck_assert_uint_eq(atomic_load(&site.end), 901);
	ck_assert_uint_eq(jlog__sample_window(NULL, &r, &site, 900), 2);
	/* The interval number wraps (2^32 intervals): still a later one. */
	atomic_store(&site.window, (uint64_t)UINT32_MAX << 32 | 9);
	atomic_store(&site.end, 0);
	ck_assert_uint_eq(jlog__sample_window(NULL, &r, &site, 0), 1);
	ck_assert_uint_eq(atomic_load(&site.window), 1);
	free(all);
	for (unsigned t = 0; t < THREADS; t++)
		free(a[t].out);
}
END_TEST

static struct jlog__sample_rules *rules_at(uint64_t base, uint64_t interval)
{
	struct jlog__sample_rules *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->sampling = true;
	r->first = 1;
	r->thereafter = 0;
	r->interval = interval;
	r->base = base;
	return r;
}

/* New rules (a reload) start every site's window afresh, however many
 * intervals the rules before them had run, also after a spell without
 * sampling: their interval numbers start past the old ones'. Without
 * that, the new numbers (from 0) looked older than the site's window,
 * and the site kept counting in that one window. */
START_TEST(test_rules_change_restarts_windows)
{
	const uint64_t t = 5000000; /* the 5,000th interval of r1 */
	struct jlog__sample_rules *r1 = rules_at(0, 1000);
	struct jlog__sampler *s = jlog__sampler_create(r1);
	ck_assert_ptr_nonnull(s);
	struct jlog__sample_site *site = jlog__sample_site_for(s, 0);
	ck_assert(jlog__sample_keep(s, r1, site, t));
	ck_assert(!jlog__sample_keep(s, r1, site, t + 1));

	/* The same rules again, made at t + 10. */
	struct jlog__sample_rules *r2 = rules_at(t + 10, 1000);
	jlog__sampler_set_rules(s, r2);
	ck_assert_msg(jlog__sample_keep(s, r2, site, t + 20), "the first after the change");
	ck_assert(!jlog__sample_keep(s, r2, site, t + 30));
	ck_assert_msg(jlog__sample_keep(s, r2, site, t + 10 + 1000), "the next interval's first");
	ck_assert(!jlog__sample_keep(s, r2, site, t + 10 + 1001));

	/* No sampling for a while, then rules with a longer interval. */
	jlog__sampler_set_rules(s, NULL);
	struct jlog__sample_rules *r3 = rules_at(t + 5000, 1000000);
	jlog__sampler_set_rules(s, r3);
	ck_assert_msg(jlog__sample_keep(s, r3, site, t + 6000), "the first after a spell without");
	ck_assert(!jlog__sample_keep(s, r3, site, t + 6001));
	/* A stamp a little behind the new base counts in the same window. */
	ck_assert(!jlog__sample_keep(s, r3, site, t + 4990));
	jlog__sampler_free(s);
}
END_TEST

/* A count that reaches JLOG__SAMPLE_WINDOW_HIGH is cut back without
 * changing a decision, and never carries into the interval number. */
START_TEST(test_window_count_cut_back)
{
	const uint32_t firsts[] = {10, 0, UINT32_MAX, (1u << 31) - 5};
	const uint32_t ms[] = {7, 0, 100, 1};
	for (size_t c = 0; c < sizeof(firsts) / sizeof(firsts[0]); c++) {
		struct jlog__sample_rules r = {.sampling = true, .first = firsts[c],
		                               .thereafter = ms[c], .interval = 1};
		struct jlog__sample_site site;
		memset(&site, 0, sizeof(site));
		const uint32_t epoch = 77;
		uint64_t count = JLOG__SAMPLE_WINDOW_HIGH - 50; /* the uncut count */
		atomic_store(&site.window, (uint64_t)epoch << 32 | count);
		for (int i = 0; i < 1000; i++) {
			count++;
			uint32_t n = jlog__sample_window(NULL, &r, &site, epoch);
			bool want = count <= r.first ||
			            (r.thereafter && (count - r.first) % r.thereafter == 0);
			if (firsts[c] == (1u << 31) - 5 && count > (1u << 31))
				continue; /* no room to keep the phase: given up */
			ck_assert_msg(jlog__sample_keep_nth(&r, n) == want,
			              "first %u, 1 in %u: call %llu (n %u) kept %d",
			              r.first, r.thereafter, (unsigned long long)count, n, !want);
		}
		uint64_t w = atomic_load(&site.window);
		ck_assert_uint_eq(w >> 32, epoch);
		ck_assert_uint_lt((uint32_t)w, JLOG__SAMPLE_WINDOW_HIGH);
	}
}
END_TEST

/* The sites' table takes memory only for the pages of the sites that
 * count: a sampler whose call sites are far apart in the id space (ids
 * 5,000, 300,000 and 900,000 of a table of 2^20, beside one registered
 * call site's) keeps their pages of it, and a change of rules, which
 * forgets the ends of the ids handed out so far, writes none of the
 * others. Counted with mincore(), which sees the table's own pages. */
START_TEST(test_sites_take_pages_that_count)
{
	static jlog_callsite cs = {__FILE__, "test", __LINE__, 0};
	uint32_t own = jlog__callsite_register(&cs);
	ck_assert_uint_gt(own, 0);
	ck_assert_uint_lt(own, 5000);
	struct jlog__sample_rules *r1 = calloc(1, sizeof(*r1));
	ck_assert_ptr_nonnull(r1);
	r1->sampling = true;
	r1->first = 1;
	r1->interval = 1000;
	struct jlog__sampler *s = jlog__sampler_create(r1);
	ck_assert_ptr_nonnull(s);
	const uint32_t ids[] = {own, 5000, 300000, 900000};
	for (size_t i = 0; i < 4; i++) {
		struct jlog__sample_site *site = jlog__sample_site_for(s, ids[i]);
		ck_assert(jlog__sample_keep(s, r1, site, 10));
		ck_assert(!jlog__sample_keep(s, r1, site, 20));
	}
	struct jlog__sample_rules *r2 = calloc(1, sizeof(*r2));
	ck_assert_ptr_nonnull(r2);
	*r2 = *r1;
	r2->base = 30;
	jlog__sampler_set_rules(s, r2);
	ck_assert_msg(jlog__sample_keep(s, r2, jlog__sample_site_for(s, own), 40),
	              "a change of rules starts the window again");
	ck_assert(!jlog__sample_keep(s, r2, jlog__sample_site_for(s, own), 50));

	long page = sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)JLOG__SAMPLE_SITES * sizeof(struct jlog__sample_site);
	size_t pages = (bytes + (size_t)page - 1) / (size_t)page;
	unsigned char *vec = malloc(pages);
	ck_assert_ptr_nonnull(vec);
	ck_assert_int_eq(mincore(s->sites, bytes, vec), 0);
	size_t resident = 0;
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	/* The far sites' three pages, and those the reset read up to the
	 * ids handed out (the registered site's among them). */
	size_t read_up_to = (size_t)jlog__callsite_limit() * sizeof(struct jlog__sample_site);
	size_t most = 3 + (read_up_to + (size_t)page - 1) / (size_t)page;
	ck_assert_msg(resident >= 3 && resident <= most, "%zu of %zu pages resident (at most %zu)",
	              resident, pages, most);
	free(vec);
	jlog__sampler_free(s);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("sample");
	TCase *tc = tcase_create("sample");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_options_defaults);
	tcase_add_test(tc, test_off_by_default);
	tcase_add_test(tc, test_sampling_exact_threads);
	tcase_add_test(tc, test_sampling_first_only);
	tcase_add_test(tc, test_rate_per_callsite_threads);
	tcase_add_test(tc, test_rate_per_logger);
	tcase_add_test(tc, test_sampling_then_rate);
	tcase_add_test(tc, test_error_not_sampled_by_default);
	tcase_add_test(tc, test_max_level);
	tcase_add_test(tc, test_report_reaches_error_sink);
	tcase_add_test(tc, test_every_path_sampled_once);
	tcase_add_test(tc, test_report_every_sink);
	tcase_add_test(tc, test_report_at_exit);
	tcase_add_test(tc, test_option_errors);
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_window_exact_across_intervals);
	tcase_add_test(tc, test_window_count_cut_back);
	tcase_add_test(tc, test_rules_change_restarts_windows);
	tcase_add_test(tc, test_sites_take_pages_that_count);
	suite_add_tcase(s, tc);
	return s;
}
