/*
 * Self-metrics: the periodic stats record (jlog_options.stats_interval_ms,
 * config key "stats_interval_ms") and its counts against jlog_get_stats(),
 * the ring's high-water mark, and per-sink counters through
 * jlog_get_sink_stats().
 */
#include "test-common.h"
#include "jlog-private.h"

#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static uint64_t uint_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v) && json_integer_value(v) >= 0, "%s is not a count", key);
	return (uint64_t)json_integer_value(v);
}

/* Every interval one record; its counters are jlog_get_stats()'s at the
 * time; after the close the last one's plus its own line. */
START_TEST(test_periodic_record)
{
	char *a = tc_tmppath("m-a.jsonl"), *b = tc_tmppath("m-b.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"level\":\"INFO\",\"stats_interval_ms\":100,\"flush_interval_ms\":10,"
	         "\"sinks\":[{\"sink\":\"%s\"},{\"sink\":\"%s\",\"level\":\"WARNING\"}]}", a, b);
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open_config(&lg, doc), 0);
	for (int i = 0; i < 10; i++)
		JLOG_INFO(lg, "work", JLOG_INT("i", i));
	JLOG_WARNING(lg, "warn");
	ck_assert_int_eq(jlog_flush(lg), 0);
	uint64_t t0 = jlog__ms_now();
	sleep_ms(450);
	/* Nothing logged from here on: every record after the first has the
	 * same counts but written, which grows by its predecessor's line. */
	uint64_t t1 = jlog__ms_now();
	jlog_stats before;
	ck_assert_int_eq(jlog_get_stats(lg, &before), 0);
	jlog_close(lg);

	size_t n;
	json_t **lines = tc_parse_file(a, &n);
	size_t records = 0;
	json_t *last = NULL, *line = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		if (strcmp(m, "jlog stats") != 0)
			continue;
		ck_assert_str_eq(json_string_value(json_object_get(lines[i], "level")), "INFO");
		records++;
		line = lines[i];
		last = json_object_get(line, "stats");
		ck_assert(json_is_object(last));
	}
	/* At most one per interval since the open (plus the one due at the
	 * start of the sleep), at least one in 450 ms. */
	ck_assert_uint_ge(records, 1);
	ck_assert_uint_le(records, (t1 - t0) / 100 + 2);
	ck_assert_uint_eq(uint_of(last, "logged"), 11);
	ck_assert_uint_eq(uint_of(last, "dropped"), 0);
	ck_assert_uint_eq(uint_of(last, "lost"), 0);
	ck_assert_uint_eq(uint_of(last, "sampled_out"), 0);
	ck_assert_uint_eq(uint_of(last, "write_errors"), 0);
	/* sink a took 11 records and every stats line, sink b one record;
	 * the last stats record counts the lines before its own. The
	 * snapshot taken before the close counts that line too, unless the
	 * last record came after it. */
	jlog_stats st = before;
	ck_assert_uint_eq(uint_of(last, "logged"), st.logged);
	ck_assert_uint_eq(uint_of(last, "written"), 11 + 1 + records - 1);
	ck_assert_msg(st.written == uint_of(last, "written") + 1 ||
	              st.written == uint_of(last, "written"),
	              "jlog_get_stats written %llu, the last record's %llu",
	              (unsigned long long)st.written, (unsigned long long)uint_of(last, "written"));
	ck_assert_uint_eq(uint_of(last, "queue_size"), st.queue_size);
	ck_assert_uint_ge(uint_of(last, "queue_high_water"), 1);
	ck_assert_uint_le(uint_of(last, "queue_high_water"), st.queue_high_water);
	double busy = json_real_value(json_object_get(last, "writer_busy"));
	ck_assert(busy >= 0.0 && busy <= 1.0);
	double pct = json_real_value(json_object_get(last, "queue_high_water_pct"));
	ck_assert(pct > 0.0 && pct <= 100.0);
	ck_assert_uint_eq(uint_of(last, "interval_ms"), 100);
	json_t *sinks = json_object_get(line, "sinks");
	ck_assert_uint_eq(json_array_size(sinks), 2);
	json_t *s0 = json_array_get(sinks, 0), *s1 = json_array_get(sinks, 1);
	ck_assert_uint_eq(uint_of(s0, "id"), 0);
	ck_assert_uint_eq(uint_of(s1, "id"), 1);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s0, "target")), "m-a.jsonl"));
	ck_assert_uint_eq(uint_of(s0, "written"), 11 + records - 1);
	ck_assert_uint_eq(uint_of(s1, "written"), 1);
	ck_assert_uint_eq(uint_of(s0, "written") + uint_of(s1, "written"), uint_of(last, "written"));
	ck_assert_uint_eq(uint_of(s0, "bytes") + uint_of(s1, "bytes"), uint_of(last, "bytes"));
	tc_free_lines(lines, n);
	/* The WARNING sink takes no stats record (INFO). */
	tc_assert_messages(b, "warn", NULL);
	free(a);
	free(b);
}
END_TEST

/* Off by default: no stats record. */
START_TEST(test_off)
{
	char *a = tc_tmppath("m-off.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	ck_assert_int_eq(o.stats_interval_ms, 0);
	o.sink = a;
	o.flush_interval_ms = 5;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	JLOG_INFO(lg, "one");
	sleep_ms(60);
	jlog_close(lg);
	tc_assert_messages(a, "one", NULL);
	o.stats_interval_ms = -1;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "stats_interval_ms"));
	char err[256] = "";
	ck_assert_int_eq(jlog_open_config_err(&lg, "{\"stats_interval_ms\":\"1s\"}", err,
	                                      sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "stats_interval_ms: expected an integer"));
	free(a);
}
END_TEST

/* The high-water mark: records held in the ring while the writer cannot
 * drain (a sink callback that waits) raise it to at least their size. */
static int hold_writer, in_callback;
static void slow_write(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	(void)user;
	__atomic_store_n(&in_callback, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&hold_writer, __ATOMIC_ACQUIRE))
		sleep_ms(1);
}

START_TEST(test_high_water)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/dev/null";
	o.allow_symlink = true;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.queue_size, 4u << 20);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = NULL;
	so.write = slow_write;
	hold_writer = 1;
	int id = jlog_add_sink(lg, &so);
	ck_assert_int_ge(id, 1);
	JLOG_INFO(lg, "first"); /* the writer waits in the callback with it */
	for (int i = 0; i < 10000 && !__atomic_load_n(&in_callback, __ATOMIC_ACQUIRE); i++)
		sleep_ms(1);
	ck_assert(__atomic_load_n(&in_callback, __ATOMIC_ACQUIRE));
	char big[1000];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int i = 0; i < 100; i++)
		JLOG_INFO(lg, big);
	__atomic_store_n(&hold_writer, 0, __ATOMIC_RELEASE);
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_ge(st.queue_high_water, 100 * 1000);
	ck_assert_uint_le(st.queue_high_water, st.queue_size);

	jlog_sink_stats ss;
	ck_assert_int_eq(jlog_get_sink_stats(lg, id, &ss), 0);
	ck_assert_int_eq(ss.id, id);
	ck_assert_uint_eq(ss.written, 101);
	ck_assert_uint_eq(ss.lost + ss.write_errors, 0);
	jlog_sink_stats s0;
	ck_assert_int_eq(jlog_get_sink_stats(lg, 0, &s0), 0);
	ck_assert_ptr_nonnull(strstr(s0.target, "/dev/null"));
	ck_assert_uint_eq(s0.written + ss.written, st.written);
	ck_assert_uint_eq(s0.bytes_written + ss.bytes_written, st.bytes_written);
	ck_assert_int_eq(jlog_get_sink_stats(lg, 7, &ss), -ESRCH);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "0, 1"));
	ck_assert_int_eq(jlog_get_sink_stats(lg, 0, NULL), -EINVAL);
	jlog_close(lg);
}
END_TEST

/* With a flight recorder the stats record has its three counters, as
 * jlog_get_stats() has them: records held now among them. */
START_TEST(test_flight_counters)
{
	char *a = tc_tmppath("m-fr.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"level\":\"INFO\",\"stats_interval_ms\":50,\"flush_interval_ms\":10,"
	         "\"flight_recorder\":{\"records\":2,\"level\":\"DEBUG\",\"trigger\":\"ERROR\"},"
	         "\"sinks\":[{\"sink\":\"%s\"}]}", a);
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open_config(&lg, doc), 0);
	for (int i = 0; i < 3; i++)
		JLOG_DEBUG(lg, "held", JLOG_INT("i", i));
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.deferred_held, 2);
	ck_assert_uint_eq(st.deferred_discarded, 1);
	sleep_ms(200);
	jlog_close(lg);

	size_t n;
	json_t **lines = tc_parse_file(a, &n);
	json_t *last = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(json_string_value(json_object_get(lines[i], "message")), "jlog stats"))
			last = json_object_get(lines[i], "stats");
	ck_assert_ptr_nonnull(last);
	ck_assert_uint_eq(uint_of(last, "deferred_written"), 0);
	ck_assert_uint_eq(uint_of(last, "deferred_discarded"), 1);
	ck_assert_uint_eq(uint_of(last, "deferred_held"), 2);
	tc_free_lines(lines, n);
	free(a);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_periodic_record);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_high_water);
	tcase_add_test(tc, test_flight_counters);
	suite_add_tcase(s, tc);
	return s;
}
