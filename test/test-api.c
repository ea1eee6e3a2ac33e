/*
 * The public API's contract around handles and wrappers: a closed root
 * handle is inert (logs nothing, flush and close again are errors or
 * no-ops, never a use after free), and jlog_log()/jlog_logv() log with the
 * call site a wrapper passes through, registering each distinct triple once.
 */
#include "test-common.h"

#include "jlog-private.h"

#include <pthread.h>

static jlog_logger *open_file(const char *path)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	o.level = JLOG_LEVEL_TRACE;
	o.queue_size = 1 << 16;
	jlog_logger *log = NULL;
	ck_assert_int_eq(jlog_open(&log, &o), 0);
	return log;
}

static int evaluated;
static int count_eval(void)
{
	return ++evaluated;
}

START_TEST(test_closed_root_is_inert)
{
	char *path = tc_tmppath("closed.jsonl");
	jlog_logger *log = open_file(path);
	JLOG_INFO(log, "before");
	ck_assert_int_eq(jlog_close(log), 0);

	/* Every call through the closed handle: under valgrind or ASan, a
	 * read of the freed handle fails the test. */
	evaluated = 0;
	JLOG_CRITICAL(log, "after", JLOG_INT("n", count_eval()));
	JLOG_INFOF(log, "after %d", count_eval());
	jlog_log(log, JLOG_LEVEL_CRITICAL, __FILE__, __LINE__, __func__, NULL, 0, "after");
	ck_assert_int_eq(evaluated, 0);
	ck_assert(!jlog_enabled(log, JLOG_LEVEL_CRITICAL));
	ck_assert_int_eq(jlog_get_level(log), JLOG_LEVEL_OFF);
	jlog_set_level(log, JLOG_LEVEL_TRACE);
	ck_assert_int_eq(jlog_get_level(log), JLOG_LEVEL_OFF);
	ck_assert_int_eq(jlog_flush(log), -EINVAL);
	ck_assert(strstr(jlog_last_error(), "closed") != NULL);
	ck_assert_int_eq(jlog_set_module_level(log, "db", JLOG_LEVEL_DEBUG), -EINVAL);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = "stderr";
	ck_assert_int_eq(jlog_add_sink(log, &so), -EINVAL);
	ck_assert_int_eq(jlog_remove_sink(log, 0), -EINVAL);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(log, &st), 0);
	ck_assert_uint_eq(st.logged, 0);

	/* A child made from the closed handle is inert and released as usual. */
	jlog_logger *ch = JLOG_WITH(log, JLOG_STR("k", "v"));
	ck_assert_ptr_nonnull(ch);
	JLOG_CRITICAL(ch, "child after");
	ck_assert_int_eq(jlog_flush(ch), -EINVAL);
	ck_assert_int_eq(jlog_close(ch), 0);

	/* Closing again is harmless. */
	ck_assert_int_eq(jlog_close(log), 0);
	ck_assert_int_eq(jlog_close(log), 0);

	tc_assert_messages(path, "before", NULL);
	free(path);
}
END_TEST

/* A closed root with a live child: both handles inert, the child freed
 * when it is closed after the root. */
START_TEST(test_closed_root_with_child)
{
	char *path = tc_tmppath("closed-child.jsonl");
	jlog_logger *log = open_file(path);
	jlog_logger *req = jlog_named(log, "req");
	ck_assert_ptr_nonnull(req);
	JLOG_INFO(req, "child before");
	ck_assert_int_eq(jlog_close(log), 0);
	JLOG_INFO(req, "child after");
	JLOG_INFO(log, "root after");
	ck_assert_int_eq(jlog_flush(req), -EINVAL);
	ck_assert_int_eq(jlog_flush(log), -EINVAL);
	ck_assert_int_eq(jlog_close(req), 0);
	ck_assert_int_eq(jlog_close(log), 0);
	tc_assert_messages(path, "child before", NULL);
	free(path);
}
END_TEST

/* An application's own logging layer, as the header shows it. */
static jlog_logger *app_logger;

static void app_log(int level, const char *file, int line, const char *func,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void app_log(int level, const char *file, int line, const char *func,
                    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	jlog_logv(app_logger, level, file, line, func, NULL, 0, fmt, ap);
	va_end(ap);
}
#define APP_ERROR(...) app_log(JLOG_LEVEL_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define APP_DEBUG(...) app_log(JLOG_LEVEL_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__)

static int wrapper_line_a, wrapper_line_b;

static void wrapped_calls(int round)
{
	wrapper_line_a = __LINE__ + 1;
	APP_ERROR("round %d of %s", round, "calls");
	wrapper_line_b = __LINE__ + 1;
	APP_DEBUG("debug %d", round);
}

START_TEST(test_wrapper_call_site)
{
	char *path = tc_tmppath("wrapper.jsonl");
	app_logger = open_file(path);
	jlog_set_level(app_logger, JLOG_LEVEL_INFO);
	for (int i = 0; i < 3; i++)
		wrapped_calls(i);
	jlog_field f[] = {JLOG_STR("user", "alice"), JLOG_INT("status", 200)};
	int line_c = __LINE__ + 1;
	jlog_log(app_logger, JLOG_LEVEL_WARNING, __FILE__, __LINE__, __func__, f, 2, "%s", "with fields");
	jlog_log(app_logger, JLOG_LEVEL_INFO, NULL, 0, NULL, NULL, 0, NULL);
	/* Below the level: nothing, and the format is not looked at. */
	jlog_log(app_logger, JLOG_LEVEL_DEBUG, __FILE__, __LINE__, __func__, NULL, 0, "%s", "no");
	ck_assert_int_eq(jlog_close(app_logger), 0);

	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 5);
	for (int i = 0; i < 3; i++) {
		char want[64];
		snprintf(want, sizeof(want), "round %d of calls", i);
		json_t *o = lines[i];
		ck_assert_str_eq(json_string_value(json_object_get(o, "message")), want);
		ck_assert_str_eq(json_string_value(json_object_get(o, "level")), "ERROR");
		ck_assert_str_eq(json_string_value(json_object_get(o, "file")), "test-api.c");
		ck_assert_int_eq(json_integer_value(json_object_get(o, "line")), wrapper_line_a);
		ck_assert_str_eq(json_string_value(json_object_get(o, "function")), "wrapped_calls");
	}
	json_t *o = lines[3];
	ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "with fields");
	ck_assert_str_eq(json_string_value(json_object_get(o, "level")), "WARNING");
	ck_assert_str_eq(json_string_value(json_object_get(o, "user")), "alice");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "line")), line_c);
	ck_assert_str_eq(json_string_value(json_object_get(o, "function")), "test_wrapper_call_site_fn");
	o = lines[4];
	ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "");
	ck_assert_ptr_null(json_object_get(o, "file"));
	ck_assert_ptr_null(json_object_get(o, "line"));
	tc_free_lines(lines, n);
	(void)wrapper_line_b;
	free(path);
}
END_TEST

/* One callsite per distinct triple: the same triple maps to the same
 * callsite, others to others, and the table stops growing at its bound. */
START_TEST(test_callsite_intern_bounded)
{
	static const char file[] = "x.c", func[] = "f";
	jlog_callsite *a = jlog__callsite_intern(file, 1, func);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(jlog__callsite_intern(file, 1, func), a);
	jlog_callsite *b = jlog__callsite_intern(file, 2, func);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(b->line, 2);
	ck_assert_ptr_eq(b->file, file);
	ck_assert_ptr_eq(b->function, func);

	/* Made-up triples: at most the bound is registered, then NULL. */
	unsigned got = 0;
	for (int line = 3; line < 40000; line++)
		if (jlog__callsite_intern(file, line, func))
			got++;
	ck_assert_uint_gt(got, 10000);
	ck_assert_uint_lt(got, 16384);
	ck_assert_ptr_null(jlog__callsite_intern(file, 50000, func));
	/* Those registered are still found. */
	ck_assert_ptr_eq(jlog__callsite_intern(file, 1, func), a);
	ck_assert_ptr_eq(jlog__callsite_intern(file, 2, func), b);
}
END_TEST

/* Threads racing on the same new triples: every lookup returns a
 * callsite of its own key (a race may register a triple twice, never mix
 * two), and every record is logged with its line. */
#define RACE_THREADS 4
#define RACE_SITES 200
static const char race_file[] = "race.c", race_func[] = "racer";
static jlog_logger *race_log;

static void *race_thread(void *arg)
{
	(void)arg;
	for (int round = 0; round < 5; round++) {
		for (int line = 1; line <= RACE_SITES; line++) {
			jlog_callsite *cs = jlog__callsite_intern(race_file, 100000 + line, race_func);
			ck_assert_ptr_nonnull(cs);
			ck_assert_int_eq(cs->line, 100000 + line);
			ck_assert_ptr_eq(cs->file, race_file);
			ck_assert_ptr_eq(cs->function, race_func);
			jlog_log(race_log, JLOG_LEVEL_INFO, race_file, 200000 + line, race_func, NULL,
			         0, "race %d", line);
		}
	}
	return NULL;
}

START_TEST(test_callsite_intern_threads)
{
	char *path = tc_tmppath("race.jsonl");
	race_log = open_file(path);
	pthread_t t[RACE_THREADS];
	for (int i = 0; i < RACE_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_thread, NULL), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(jlog_close(race_log), 0);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, RACE_THREADS * 5 * RACE_SITES);
	for (size_t i = 0; i < n; i++) {
		int line = atoi(json_string_value(json_object_get(lines[i], "message")) + 5);
		ck_assert_int_eq(json_integer_value(json_object_get(lines[i], "line")), 200000 + line);
		ck_assert_str_eq(json_string_value(json_object_get(lines[i], "file")), "race.c");
	}
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_closed_root_is_inert);
	tcase_add_test(tc, test_closed_root_with_child);
	tcase_add_test(tc, test_wrapper_call_site);
	tcase_add_test(tc, test_callsite_intern_threads);
	tcase_add_test(tc, test_callsite_intern_bounded);
	suite_add_tcase(s, tc);
	return s;
}
