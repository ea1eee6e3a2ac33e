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

/*
 * The statements' descriptor path (struct jlog__site): every field type,
 * strings given by pointer or with a length, null values, a BOOL last
 * (its store past the template), values changing between calls of one
 * statement (the template is built once), arguments evaluated once, a key
 * computed at run time and more than 32 fields (the array path), JSON
 * (the general path). Each line is parsed back.
 */
static const char *site_name(int i)
{
	static const char *const names[] = {"alice", "bob", "carol"};
	return names[i % 3];
}

START_TEST(test_site_every_shape)
{
	char *path = tc_tmppath("site.jsonl");
	jlog_logger *log = open_file(path);
	char key[8];
	snprintf(key, sizeof(key), "rt%d", 7);
	json_t *j = json_pack("{s:i}", "a", 1);
	evaluated = 0;
	for (int i = 0; i < 3; i++) {
		const char *user = site_name(i);
		JLOG_INFO(log, "every", JLOG_STR("user", user), JLOG_INT("i", -i),
		          JLOG_UINT("u", ((uint64_t)1 << 40) + (unsigned)i), JLOG_DOUBLE("d", i + 0.5),
		          JLOG_STRN("bin", "a\0b", 3), JLOG_STR("lit", "/api/v1/items"),
		          JLOG_STR("none", NULL), JLOG_NULL("nul"), JLOG_INT("ev", count_eval()),
		          JLOG_BOOL("last", i == 1));
	}
	JLOG_WARNING(log, site_name(1), JLOG_STR(key, "runtime key"), JLOG_JSON("j", j));
	JLOG_ERROR(log, NULL);
	JLOG_INFO(log, "many", JLOG_INT("f0", 0), JLOG_INT("f1", 1), JLOG_INT("f2", 2),
	          JLOG_INT("f3", 3), JLOG_INT("f4", 4), JLOG_INT("f5", 5), JLOG_INT("f6", 6),
	          JLOG_INT("f7", 7), JLOG_INT("f8", 8), JLOG_INT("f9", 9), JLOG_INT("f10", 10),
	          JLOG_INT("f11", 11), JLOG_INT("f12", 12), JLOG_INT("f13", 13),
	          JLOG_INT("f14", 14), JLOG_INT("f15", 15), JLOG_INT("f16", 16),
	          JLOG_INT("f17", 17), JLOG_INT("f18", 18), JLOG_INT("f19", 19),
	          JLOG_INT("f20", 20), JLOG_INT("f21", 21), JLOG_INT("f22", 22),
	          JLOG_INT("f23", 23), JLOG_INT("f24", 24), JLOG_INT("f25", 25),
	          JLOG_INT("f26", 26), JLOG_INT("f27", 27), JLOG_INT("f28", 28),
	          JLOG_INT("f29", 29), JLOG_INT("f30", 30), JLOG_INT("f31", 31),
	          JLOG_INT("f32", 32));
	/* The general path reads the values by the descriptor: a string
	 * takes one, a JLOG_STRN two. */
	JLOG_INFO(log, "json only", JLOG_STR("s", site_name(2)), JLOG_JSON("j", j),
	          JLOG_STRN("sn", "xyz", 2), JLOG_STR("sl", "lit"), JLOG_BOOL("b", true));
	json_decref(j);
	ck_assert_int_eq(evaluated, 3);
	ck_assert_int_eq(jlog_close(log), 0);

	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 7);
	for (int i = 0; i < 3; i++) {
		json_t *o = lines[i];
		ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "every");
		ck_assert_str_eq(json_string_value(json_object_get(o, "user")), site_name(i));
		ck_assert_int_eq(json_integer_value(json_object_get(o, "i")), -i);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "u")), ((int64_t)1 << 40) + i);
		ck_assert(json_number_value(json_object_get(o, "d")) == i + 0.5);
		json_t *bin = json_object_get(o, "bin");
		ck_assert_uint_eq(json_string_length(bin), 3);
		ck_assert_mem_eq(json_string_value(bin), "a\0b", 3);
		ck_assert_str_eq(json_string_value(json_object_get(o, "lit")), "/api/v1/items");
		ck_assert(json_is_null(json_object_get(o, "none")));
		ck_assert(json_is_null(json_object_get(o, "nul")));
		ck_assert_int_eq(json_integer_value(json_object_get(o, "ev")), i + 1);
		ck_assert(json_is_boolean(json_object_get(o, "last")));
		ck_assert(json_is_true(json_object_get(o, "last")) == (i == 1));
		ck_assert_str_eq(json_string_value(json_object_get(o, "file")), "test-api.c");
		ck_assert_str_eq(json_string_value(json_object_get(o, "function")),
		                 "test_site_every_shape_fn");
	}
	json_t *o = lines[3];
	ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "bob");
	ck_assert_str_eq(json_string_value(json_object_get(o, "rt7")), "runtime key");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "j"), "a")), 1);
	o = lines[4];
	ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "");
	ck_assert_str_eq(json_string_value(json_object_get(o, "level")), "ERROR");
	o = lines[5];
	for (int i = 0; i <= 32; i++) {
		char k[8];
		snprintf(k, sizeof(k), "f%d", i);
		ck_assert_int_eq(json_integer_value(json_object_get(o, k)), i);
	}
	o = lines[6];
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "j"), "a")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "s")), "carol");
	ck_assert_str_eq(json_string_value(json_object_get(o, "sn")), "xy");
	ck_assert_str_eq(json_string_value(json_object_get(o, "sl")), "lit");
	ck_assert(json_is_true(json_object_get(o, "b")));
	tc_free_lines(lines, n);
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
			TC_CHECK((cs) != NULL);
			TC_CHECK_INT_EQ(cs->line, 100000 + line);
			TC_CHECK((cs->file) == (race_file));
			TC_CHECK((cs->function) == (race_func));
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
		TC_CHECK_INT_EQ(json_integer_value(json_object_get(lines[i], "line")), 200000 + line);
		TC_CHECK_STR_EQ(json_string_value(json_object_get(lines[i], "file")), "race.c");
	}
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/*
 * A statement whose logger is a variable that holds NULL logs to the
 * default logger at its level, also before that logger is opened: the
 * first call (disabled) writes nothing, the next (enabled) opens it and
 * writes, and once it is open a disabled call evaluates no argument. The
 * full gate evaluates nothing before the open either; the compact call
 * site's one-load gate may evaluate the first call's once (jlog.h,
 * JLOG_COMPACT_CALLSITES). In a child (tc_run_child(), which clears the
 * JLOG_* environment): the default logger is the process's.
 */
static jlog_logger *volatile null_logger;

/* In the child: exits with the number of the first check that fails. */
static void log_null_variable(void)
{
	jlog_logger *log = null_logger;
#ifdef JLOG_COMPACT_CALLSITES
	const int first = 1;
#else
	const int first = 0;
#endif
	evaluated = 0;
	JLOG_INFO(log, "first", JLOG_INT("n", count_eval()));
	if (evaluated != first)
		_exit(10);
	JLOG_WARNING(log, "second", JLOG_INT("n", count_eval()));
	if (evaluated != first + 1)
		_exit(11);
	JLOG_INFO(log, "third", JLOG_INT("n", count_eval()));
	JLOG_DEBUG(log, "fourth", JLOG_INT("n", count_eval()));
	if (evaluated != first + 1)
		_exit(12);
}

START_TEST(test_null_variable_default_logger)
{
	char *path = tc_tmppath("default.jsonl");
	char doc[512];
	snprintf(doc, sizeof(doc),
	         "JLOG_CONFIG= {\"level\":\"WARNING\",\"sinks\":[{\"sink\":\"%s\"}]}", path);
	const char *env[] = {doc, NULL};
	tc_run_child(log_null_variable, NULL, NULL, env);
	json_t **l = tc_file_lines(path, 1);
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "message")), "second");
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "level")), "WARNING");
	tc_free_lines(l, 1);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_closed_root_is_inert);
	tcase_add_test(tc, test_null_variable_default_logger);
	tcase_add_test(tc, test_closed_root_with_child);
	tcase_add_test(tc, test_wrapper_call_site);
	tcase_add_test(tc, test_site_every_shape);
	tcase_add_test(tc, test_callsite_intern_threads);
	tcase_add_test(tc, test_callsite_intern_bounded);
	suite_add_tcase(s, tc);
	return s;
}
