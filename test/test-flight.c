/*
 * The flight recorder (jlog_options.flight_records, the config key
 * "flight_recorder"): records below the logger's level down to the
 * recorder's are held and written, in order and with "deferred":true,
 * before the next record at or above the trigger; the bounds (records and
 * bytes, oldest out first, counted); per logger; module and sink levels;
 * redaction; fork; 4 threads with exact counts; off changes nothing.
 */
#include "test-common.h"
#include "jlog-private.h"

#include <pthread.h>
#include <sys/wait.h>


static jlog_logger *open_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static jlog_logger *open_json(const char *fmt, ...)
{
	char doc[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(doc, sizeof(doc), fmt, ap);
	va_end(ap);
	jlog_logger *lg = NULL;
	int rc = jlog_open_config(&lg, doc);
	ck_assert_msg(rc == 0, "jlog_open_config: %d %s (%s)", rc, jlog_last_error(), doc);
	return lg;
}

/* The messages of @path's lines, with "d:" before a deferred one's, one
 * string joined by spaces. */
static char *sequence(const char *path)
{
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	size_t cap = 64 + n * 80, len = 0;
	char *out = calloc(1, cap);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		json_t *d = json_object_get(lines[i], "deferred");
		ck_assert_ptr_nonnull(m);
		ck_assert_msg(!d || json_is_true(d), "deferred is not true");
		len += (size_t)snprintf(out + len, cap - len, "%s%s%s", len ? " " : "",
		                        d ? "d:" : "", m);
	}
	tc_free_lines(lines, n);
	return out;
}

static void assert_sequence(const char *path, const char *want)
{
	char *got = sequence(path);
	ck_assert_str_eq(got, want);
	free(got);
}

static jlog_stats stats(jlog_logger *lg)
{
	jlog_stats st;
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	return st;
}

/* Held records come out oldest first, marked, before the trigger; TRACE
 * (below the recorder's level) is not held; the levels seen from the API. */
START_TEST(test_order_and_mark)
{
	char *path = tc_tmppath("order.jsonl");
	jlog_logger *lg = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                            "\"flight_recorder\":{\"records\":10}}", path);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_INFO);
	ck_assert(jlog_enabled(lg, JLOG_LEVEL_DEBUG));
	ck_assert(!jlog_enabled(lg, JLOG_LEVEL_TRACE));
	JLOG_TRACE(lg, "t0");
	JLOG_DEBUG(lg, "d0", JLOG_INT("i", 0));
	json_t *j = json_loads("{\"a\":[1,2]}", 0, NULL);
	JLOG_DEBUG(lg, "d1", JLOG_JSON("j", j));
	json_decref(j);
	JLOG_INFO(lg, "i0");
	JLOG_DEBUG(lg, "d2");
	jlog_stats st = stats(lg);
	ck_assert_uint_eq(st.deferred_held, 3);
	ck_assert_uint_eq(st.deferred_written, 0);
	assert_sequence(path, "i0");
	JLOG_ERROR(lg, "e0");
	JLOG_DEBUG(lg, "d3");
	JLOG_WARNING(lg, "w0");
	st = stats(lg);
	assert_sequence(path, "i0 d:d0 d:d1 d:d2 e0 w0");
	ck_assert_uint_eq(st.deferred_written, 3);
	ck_assert_uint_eq(st.deferred_held, 1);
	ck_assert_uint_eq(st.deferred_discarded, 0);
	ck_assert_uint_eq(st.logged, 7); /* t0 is not a call at a recorded level */
	/* The held record's fields are the call's, plus the mark. */
	json_t **lines = tc_file_lines(path, 6);
	ck_assert_int_eq(json_integer_value(json_object_get(lines[1], "i")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(lines[1], "level")), "DEBUG");
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(json_object_get(lines[2], "j"), "a"), 1)), 2);
	ck_assert_ptr_null(json_object_get(lines[4], "deferred"));
	tc_free_lines(lines, 6);
	jlog_close(lg);
	/* What was held at close is discarded, not written. */
	assert_sequence(path, "i0 d:d0 d:d1 d:d2 e0 w0");
	free(path);
}
END_TEST

/* records bounds the held records: the oldest go, counted. */
START_TEST(test_bound_records)
{
	char *path = tc_tmppath("bound.jsonl");
	jlog_logger *lg = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                            "\"flight_recorder\":{\"records\":3}}", path);
	for (int i = 0; i < 10; i++)
		JLOG_DEBUG(lg, "d", JLOG_INT("i", i));
	JLOG_ERROR(lg, "e");
	jlog_stats st = stats(lg);
	ck_assert_uint_eq(st.deferred_written, 3);
	ck_assert_uint_eq(st.deferred_discarded, 7);
	ck_assert_uint_eq(st.deferred_held, 0);
	json_t **lines = tc_file_lines(path, 4);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(lines[i], "i")), 7 + i);
	tc_free_lines(lines, 4);
	jlog_close(lg);
	free(path);
}
END_TEST

/* bytes bounds them too: records of about 1 KiB in 4 KiB, the newest kept
 * in order, and every recorded call written or discarded. */
START_TEST(test_bound_bytes)
{
	char *path = tc_tmppath("bytes.jsonl");
	jlog_logger *lg = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                            "\"flight_recorder\":{\"records\":100,\"bytes\":4096}}", path);
	char big[1001];
	memset(big, 'x', 1000);
	big[1000] = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++)
			JLOG_DEBUG(lg, big, JLOG_INT("i", i));
		JLOG_ERROR(lg, "e");
	}
	jlog_stats st = stats(lg);
	ck_assert_uint_eq(st.deferred_written + st.deferred_discarded, 60);
	ck_assert_uint_eq(st.deferred_written, 9); /* 3 of about 1.1 KiB each round */
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 12);
	for (size_t k = 0; k < n; k += 4)
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(json_integer_value(json_object_get(lines[k + (size_t)i], "i")),
			                 17 + i);
	tc_free_lines(lines, n);
	jlog_close(lg);
	free(path);
}
END_TEST

/* The trigger level: a WARNING trigger writes at WARNING, an ERROR one
 * does not; a record held (below the level) never triggers. */
START_TEST(test_trigger_level)
{
	char *path = tc_tmppath("trig.jsonl");
	jlog_logger *lg = open_json("{\"level\":\"ERROR\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                            "\"flight_recorder\":{\"records\":10,\"level\":\"INFO\","
	                            "\"trigger\":\"CRITICAL\"}}", path);
	JLOG_DEBUG(lg, "no");
	JLOG_INFO(lg, "i0");
	JLOG_WARNING(lg, "w0"); /* held too: below ERROR, above INFO */
	JLOG_ERROR(lg, "e0");   /* written, no trigger */
	jlog_stats st = stats(lg);
	ck_assert_uint_eq(st.deferred_held, 2);
	assert_sequence(path, "e0");
	JLOG_CRITICAL(lg, "c0");
	stats(lg);
	assert_sequence(path, "e0 d:i0 d:w0 c0");
	jlog_close(lg);

	char *p2 = tc_tmppath("trig2.jsonl");
	lg = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	               "\"flight_recorder\":{\"records\":10,\"trigger\":\"WARNING\"}}", p2);
	JLOG_DEBUG(lg, "d0");
	JLOG_WARNING(lg, "w0");
	stats(lg);
	assert_sequence(p2, "d:d0 w0");
	jlog_close(lg);
	free(path);
	free(p2);
}
END_TEST

/* Each root has its own recorder: a trigger in one writes only its own. */
START_TEST(test_per_logger)
{
	char *pa = tc_tmppath("a.jsonl"), *pb = tc_tmppath("b.jsonl");
	jlog_logger *a = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                           "\"flight_recorder\":{\"records\":10}}", pa);
	jlog_logger *b = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                           "\"flight_recorder\":{\"records\":10}}", pb);
	jlog_logger *child = jlog_named(a, "child");
	JLOG_DEBUG(a, "a0");
	JLOG_DEBUG(b, "b0");
	JLOG_DEBUG(child, "c0");
	JLOG_ERROR(child, "ce"); /* a child's trigger writes its root's held records */
	stats(a);
	stats(b);
	assert_sequence(pa, "d:a0 d:c0 ce");
	assert_sequence(pb, "");
	JLOG_ERROR(b, "be");
	stats(b);
	assert_sequence(pb, "d:b0 be");
	jlog_close(child);
	jlog_close(a);
	jlog_close(b);
	free(pa);
	free(pb);
}
END_TEST

/* Module levels and a handle's own level decide what is held; the sinks'
 * own levels and filters still apply to held records. */
START_TEST(test_module_and_sink_levels)
{
	char *all = tc_tmppath("all.jsonl"), *warn = tc_tmppath("warn.jsonl");
	jlog_logger *lg = open_json(
		"{\"level\":\"DEBUG\",\"modules\":{\"db\":\"WARNING\"},"
		"\"sinks\":[{\"sink\":\"%s\",\"level\":0},{\"sink\":\"%s\",\"level\":\"WARNING\"}],"
		"\"flight_recorder\":{\"records\":10,\"level\":\"TRACE\"}}", all, warn);
	jlog_logger *db = jlog_named(lg, "db");
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_WARNING);
	JLOG_INFO(db, "db-info");   /* held: below the module's level */
	JLOG_INFO(lg, "root-info"); /* written */
	JLOG_TRACE(lg, "root-trace"); /* held */
	JLOG_WARNING(db, "db-warn");  /* written, no trigger */
	ck_assert_int_eq(jlog_set_module_level(lg, "db", JLOG_LEVEL_TRACE), 0);
	JLOG_TRACE(db, "db-trace"); /* written: the module is at TRACE now */
	JLOG_ERROR(db, "db-error");
	stats(lg);
	assert_sequence(all, "root-info db-warn db-trace d:db-info d:root-trace db-error");
	/* The WARNING sink took no held record: they are all below it. */
	assert_sequence(warn, "db-warn db-error");
	jlog_close(db);
	jlog_close(lg);
	free(all);
	free(warn);
}
END_TEST

/* Redaction reaches the held records; the text format shows the mark. */
START_TEST(test_redacted_and_text)
{
	char *path = tc_tmppath("red.jsonl"), *text = tc_tmppath("red.txt");
	jlog_logger *lg = open_json(
		"{\"level\":\"INFO\",\"redact\":{\"keys\":[\"password\",\"**.secret\"]},"
		"\"sinks\":[{\"sink\":\"%s\",\"level\":0},"
		"{\"sink\":\"%s\",\"level\":0,\"serialize\":false,\"format\":\"{message}\"}],"
		"\"flight_recorder\":{\"records\":10}}", path, text);
	json_t *req = json_loads("{\"a\":[{\"secret\":\"s3cr3t-planted\"}]}", 0, NULL);
	JLOG_DEBUG(lg, "login", JLOG_STR("password", "hunter2-planted"), JLOG_JSON("req", req));
	json_decref(req);
	JLOG_ERROR(lg, "failed");
	stats(lg);
	jlog_close(lg);
	size_t len;
	char *bytes = tc_slurp(path, &len);
	ck_assert_ptr_null(strstr(bytes, "planted"));
	free(bytes);
	bytes = tc_slurp(text, &len);
	ck_assert_ptr_null(strstr(bytes, "planted"));
	ck_assert_msg(strstr(bytes, "login") && strstr(bytes, "deferred=true"),
	              "text line without the mark: %s", bytes);
	free(bytes);
	json_t **lines = tc_file_lines(path, 2);
	ck_assert(json_is_true(json_object_get(lines[0], "deferred")));
	ck_assert_str_eq(json_string_value(json_object_get(lines[0], "password")), "[REDACTED]");
	tc_free_lines(lines, 2);
	free(path);
	free(text);
}
END_TEST

/* Off (the default): nothing held, nothing marked, the same lines as a
 * logger without the key; on, the lines that are not held are the same. */
START_TEST(test_off_identical)
{
	char *off = tc_tmppath("off.jsonl"), *on = tc_tmppath("on.jsonl");
	jlog_logger *a = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}]}",
	                           off);
	jlog_logger *b = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                           "\"flight_recorder\":{\"records\":10}}", on);
	ck_assert(!jlog_enabled(a, JLOG_LEVEL_DEBUG));
	jlog_logger *lgs[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		JLOG_DEBUG(lgs[k], "d0");
		JLOG_INFO(lgs[k], "i0", JLOG_STR("s", "v"), JLOG_DOUBLE("x", 1.5));
		JLOG_WARNING(lgs[k], "w0");
	}
	jlog_stats st = stats(a);
	ck_assert_uint_eq(st.logged, 2);
	ck_assert_uint_eq(st.deferred_written + st.deferred_discarded + st.deferred_held, 0);
	stats(b);
	assert_sequence(off, "i0 w0");
	assert_sequence(on, "i0 w0");
	json_t **la = tc_file_lines(off, 2), **lb = tc_file_lines(on, 2);
	for (int i = 0; i < 2; i++) {
		json_object_del(la[i], "time");
		json_object_del(lb[i], "time");
		json_object_del(la[i], "line");
		json_object_del(lb[i], "line");
		ck_assert_msg(json_equal(la[i], lb[i]), "line %d differs", i);
	}
	tc_free_lines(la, 2);
	tc_free_lines(lb, 2);
	jlog_close(a);
	jlog_close(b);
	free(off);
	free(on);
}
END_TEST

#define THREADS 4
#define PER_THREAD 2000

struct worker {
	jlog_logger *lg;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		JLOG_DEBUG(w->lg, "held", JLOG_INT("t", w->id), JLOG_INT("i", i));
		if (i % 100 == 0)
			JLOG_INFO(w->lg, "info", JLOG_INT("t", w->id));
	}
	return NULL;
}

/* 4 threads: every recorded call is written once, each thread's in its
 * order, and the counters add up exactly. */
START_TEST(test_threads_exact)
{
	char *path = tc_tmppath("threads.jsonl");
	jlog_logger *lg = open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
	                            "\"flight_recorder\":{\"records\":100000,\"bytes\":67108864}}",
	                            path);
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){lg, t};
		ck_assert_int_eq(pthread_create(&th[t], NULL, work, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	JLOG_ERROR(lg, "trigger");
	jlog_stats st = stats(lg);
	uint64_t enabled = THREADS * (PER_THREAD / 100) + 1, recorded = THREADS * PER_THREAD;
	ck_assert_uint_eq(st.logged + st.dropped + st.sampled_out, enabled + recorded);
	ck_assert_uint_eq(st.deferred_written, recorded);
	ck_assert_uint_eq(st.deferred_discarded + st.deferred_held, 0);
	ck_assert_uint_eq(st.written, enabled + recorded);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, enabled + recorded);
	int next[THREADS] = {0};
	size_t held = 0;
	for (size_t k = 0; k < n; k++) {
		const char *m = json_string_value(json_object_get(lines[k], "message"));
		if (strcmp(m, "held") != 0)
			continue;
		TC_CHECK(json_is_true(json_object_get(lines[k], "deferred")));
		int t = (int)json_integer_value(json_object_get(lines[k], "t"));
		TC_CHECK(t >= 0 && t < THREADS);
		TC_CHECK_INT_EQ(json_integer_value(json_object_get(lines[k], "i")), next[t]);
		next[t]++;
		held++;
	}
	ck_assert_uint_eq(held, recorded);
	ck_assert_str_eq(json_string_value(json_object_get(lines[n - 1], "message")), "trigger");
	tc_free_lines(lines, n);
	jlog_close(lg);
	free(path);
}
END_TEST

/* A forked child starts with nothing held: its trigger writes its own
 * records only, and the parent's still come out in the parent. */
/* In statics: the child exits without freeing them, and valgrind counts
 * memory that only a register points to as lost. */
static char *volatile fork_path; /* volatile: never read */
static jlog_logger *volatile fork_lg;

START_TEST(test_fork)
{
	char *path = fork_path = tc_tmppath("fork.jsonl");
	jlog_logger *lg = fork_lg =
		open_json("{\"level\":\"INFO\",\"sinks\":[{\"sink\":\"%s\",\"level\":0}],"
		          "\"flight_recorder\":{\"records\":10}}", path);
	JLOG_DEBUG(lg, "parent-held");
	ck_assert_int_eq(jlog_flush(lg), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		JLOG_DEBUG(lg, "child-held");
		JLOG_ERROR(lg, "child-error");
		jlog_stats st;
		jlog_flush(lg);
		jlog_get_stats(lg, &st);
		int ok = st.deferred_written == 1 && st.deferred_discarded == 0;
		jlog_close(lg);
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_sequence(path, "d:child-held child-error");
	JLOG_ERROR(lg, "parent-error");
	jlog_stats st = stats(lg);
	ck_assert_uint_eq(st.deferred_written, 1);
	assert_sequence(path, "d:child-held child-error d:parent-held parent-error");
	jlog_close(lg);
	free(path);
}
END_TEST

/* jlog_options and the config: defaults, errors naming the key, and the
 * effective configuration. */
START_TEST(test_options_and_config)
{
	jlog_options o;
	jlog_options_init(&o);
	ck_assert_uint_eq(o.flight_records, 0);
	ck_assert_uint_eq(o.flight_bytes, 256u * 1024u);
	ck_assert_int_eq(o.flight_level, JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(o.flight_trigger, JLOG_LEVEL_ERROR);
	o.sink = "/dev/null";
	o.allow_symlink = true;
	o.flight_records = 10;
	o.flight_trigger = JLOG_LEVEL_DEBUG;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "flight_trigger"));
	o.flight_trigger = JLOG_LEVEL_ERROR;
	o.flight_bytes = 100;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "flight_bytes"));

	static const struct {
		const char *doc, *want;
	} bad[] = {
		{"{\"flight_recorder\":5}", "flight_recorder: expected an object"},
		{"{\"flight_recorder\":{}}", "\"records\" is required"},
		{"{\"flight_recorder\":{\"records\":0}}", "flight_recorder.records: 0 is out of range"},
		{"{\"flight_recorder\":{\"records\":5,\"bytes\":10}}", "flight_recorder.bytes"},
		{"{\"flight_recorder\":{\"records\":5,\"level\":\"LOUD\"}}", "flight_recorder.level"},
		{"{\"flight_recorder\":{\"records\":5,\"trigger\":\"TRACE\"}}",
		 "flight_recorder.trigger: must be above"},
		{"{\"flight_recorder\":{\"records\":5,\"size\":1}}", "flight_recorder.size: unknown key"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		lg = NULL;
		ck_assert_int_eq(jlog_open_config_err(&lg, bad[i].doc, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, bad[i].want), "%s: got \"%s\"", bad[i].doc, err);
	}

	json_t *doc = json_loads("{\"flight_recorder\":{\"records\":200,\"trigger\":\"WARNING\"}}",
	                         0, NULL);
	int rc = 0;
	char err[256];
	json_t *eff = jlog__config_effective(doc, &rc, err, sizeof(err));
	ck_assert_int_eq(rc, 0);
	json_t *fr = json_object_get(eff, "flight_recorder");
	ck_assert_int_eq(json_integer_value(json_object_get(fr, "records")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(fr, "bytes")), 256 * 1024);
	ck_assert_str_eq(json_string_value(json_object_get(fr, "level")), "DEBUG");
	ck_assert_str_eq(json_string_value(json_object_get(fr, "trigger")), "WARNING");
	json_decref(eff);
	json_decref(doc);
	doc = json_loads("{}", 0, NULL);
	eff = jlog__config_effective(doc, &rc, err, sizeof(err));
	ck_assert(json_is_null(json_object_get(eff, "flight_recorder")));
	json_decref(eff);
	json_decref(doc);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("flight");
	TCase *tc = tcase_create("flight");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_order_and_mark);
	tcase_add_test(tc, test_bound_records);
	tcase_add_test(tc, test_bound_bytes);
	tcase_add_test(tc, test_trigger_level);
	tcase_add_test(tc, test_per_logger);
	tcase_add_test(tc, test_module_and_sink_levels);
	tcase_add_test(tc, test_redacted_and_text);
	tcase_add_test(tc, test_off_identical);
	tcase_add_test(tc, test_threads_exact);
	/* ThreadSanitizer kills a child of a process with threads that
	 * starts a thread (jlog's writer; test-fork.c says more). */
#ifndef TC_TSAN
	tcase_add_test(tc, test_fork);
#endif
	tcase_add_test(tc, test_options_and_config);
	suite_add_tcase(s, tc);
	return s;
}
