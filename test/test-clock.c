/*
 * Record timestamps (lib/clock.c): records stamped with the time-stamp
 * counter must come out with the wall-clock time of the call.
 *
 * Bounds: each figure is checked against CLOCK_REALTIME read just before
 * and just after the stamp, with a slack (SLACK_NS) far below what a
 * wrong conversion gives (a rate off by 1% is 3 ms off over 300 ms; a
 * missing or doubled anchor offset is decades) and far above the read-out
 * jitter of the anchors (tens of ns; a few us under valgrind).
 */
#include "test-common.h"

#include "jlog-private.h"
#include <jlog.h>

#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

#define SLACK_NS 200000u

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The counter, or skip the test where records do not use it. */
static bool have_tsc(void)
{
	jlog__clock_init();
	return jlog__clock_tsc;
}

#if defined(__x86_64__)
static uint64_t ticks(void)
{
	return __builtin_ia32_rdtsc();
}
#else
static uint64_t ticks(void)
{
	return 0;
}
#endif

#define CK_IN(x, lo, hi)                                                                           \
	ck_assert_msg((x) + SLACK_NS >= (lo) && (x) <= (hi) + SLACK_NS,                            \
	              "%s = %llu not in [%llu, %llu] (off by %lld ns)", #x,                        \
	              (unsigned long long)(x), (unsigned long long)(lo),                           \
	              (unsigned long long)(hi),                                                    \
	              (long long)((x) < (lo) ? (int64_t)((x) - (lo)) : (int64_t)((x) - (hi))))

/* Convert @n fresh readings, sleeping 1 ms every @every of them (so
 * anchors are renewed on the way); returns how many fell outside the
 * clock reads around them. Usable off the test's thread and in a child. */
static unsigned convert_fresh(int n, int every)
{
	unsigned bad = 0;
	for (int i = 0; i < n; i++) {
		uint64_t lo = real_ns();
		uint64_t t = ticks();
		uint64_t hi = real_ns();
		uint64_t ns = jlog__clock_ticks_to_ns(t);
		if (ns + SLACK_NS < lo || ns > hi + SLACK_NS) {
			fprintf(stderr, "reading %d: %llu not in [%llu, %llu]\n", i,
			        (unsigned long long)ns, (unsigned long long)lo,
			        (unsigned long long)hi);
			bad++;
		}
		if (i % every == 0)
			sleep_ms(1);
	}
	return bad;
}

START_TEST(test_choose)
{
	/* JLOG_CLOCK=realtime always refuses the counter. */
	ck_assert(!jlog__clock_choose_tsc("realtime"));
	/* Anything else leaves the choice to the machine, the same way. */
	ck_assert_int_eq(jlog__clock_choose_tsc(NULL), jlog__clock_choose_tsc("tsc"));
	jlog__clock_init();
	if (!getenv("JLOG_CLOCK"))
		ck_assert_int_eq(jlog__clock_tsc, jlog__clock_choose_tsc(NULL));
}
END_TEST

/* Fresh readings convert to now, across anchor renewals (one every
 * millisecond of record time). */
START_TEST(test_now)
{
	if (!have_tsc())
		return;
	ck_assert_uint_eq(convert_fresh(300, 10), 0);
}
END_TEST

/* A reading taken long before the anchor that converts it: the rate
 * decides the result (1 tick = 1 ns would be far off on any CPU above 1
 * GHz). Then a reading far newer than the anchor. */
START_TEST(test_old_and_new)
{
	if (!have_tsc())
		return;
	uint64_t lo = real_ns();
	uint64_t t_old = ticks();
	uint64_t hi = real_ns();
	sleep_ms(300);
	(void)jlog__clock_ticks_to_ns(ticks()); /* renews the anchor */
	uint64_t ns = jlog__clock_ticks_to_ns(t_old);
	CK_IN(ns, lo, hi);

	sleep_ms(200);
	lo = real_ns();
	uint64_t t_new = ticks();
	hi = real_ns();
	ns = jlog__clock_ticks_to_ns(t_new);
	CK_IN(ns, lo, hi);
}
END_TEST

/* The writer's copy of the anchor: an empty copy, readings within its
 * age, one past it (renewed), one from before the anchor, one older than
 * the copy converts without clamps, and garbage. Each agrees with the
 * clocks read around it, as jlog__clock_ticks_to_ns() does. */
START_TEST(test_cache)
{
	if (!have_tsc())
		return;
	struct jlog__clock_cache cc;
	memset(&cc, 0, sizeof(cc));
	uint64_t lo = real_ns();
	uint64_t t_old = ticks();
	uint64_t hi = real_ns();
	sleep_ms(50);
	unsigned bad = 0;
	for (int i = 0; i < 300; i++) {
		uint64_t l = real_ns();
		uint64_t t = ticks();
		uint64_t h = real_ns();
		uint64_t ns = jlog__clock_ticks_to_ns_cached(&cc, t);
		bad += ns + SLACK_NS < l || ns > h + SLACK_NS;
		if (i % 10 == 0)
			sleep_ms(1); /* past the copy's age: renewed */
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_ne(cc.span, 0);
	/* Stamped 50 ms and more before the copy's anchor. */
	uint64_t ns = jlog__clock_ticks_to_ns_cached(&cc, t_old);
	CK_IN(ns, lo, hi);
	/* Older than the copy converts directly: the clamped path. */
	uint64_t far = cc.tsc - cc.back - 1000;
	uint64_t want = jlog__clock_ticks_to_ns(far);
	ns = jlog__clock_ticks_to_ns_cached(&cc, far);
	ck_assert_uint_le(ns > want ? ns - want : want - ns, SLACK_NS);
	const uint64_t odd[] = {0, 1, UINT64_MAX, UINT64_MAX / 2, (uint64_t)1 << 63,
	                        ticks() + ((uint64_t)1 << 62), ticks() - ((uint64_t)1 << 62)};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		ck_assert_uint_le(jlog__clock_ticks_to_ns_cached(&cc, odd[i]),
		                  UINT64_C(9200000000000000000));
	/* And a fresh reading after all that is right again. */
	lo = real_ns();
	uint64_t t = ticks();
	hi = real_ns();
	ns = jlog__clock_ticks_to_ns_cached(&cc, t);
	CK_IN(ns, lo, hi);
}
END_TEST

/* Readings no counter gives (a corrupt record) stay in range. */
START_TEST(test_garbage)
{
	jlog__clock_init();
	const uint64_t odd[] = {0, 1, UINT64_MAX, UINT64_MAX / 2, (uint64_t)1 << 63,
	                        ticks() + ((uint64_t)1 << 62), ticks() - ((uint64_t)1 << 62)};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		uint64_t ns = jlog__clock_ticks_to_ns(odd[i]);
		ck_assert_uint_le(ns, UINT64_C(9200000000000000000));
	}
}
END_TEST

/* A record flagged as ticks decodes to wall time; one without the flag
 * keeps its ns as they are. */
START_TEST(test_decode)
{
	jlog__clock_init();
	struct jlog__rec_hdr h;
	memset(&h, 0, sizeof(h));
	struct jlog__rec_view v;

	h.time_ns = 1234567890123456789ull;
	ck_assert(jlog__record_decode(&h, sizeof(h), &v));
	ck_assert_uint_eq(v.time_ns, 1234567890123456789ull);

	uint64_t lo = real_ns();
	h.time_ns = have_tsc() ? ticks() : 42;
	uint64_t hi = real_ns();
	h.flags = JLOG__REC_TICKS;
	ck_assert(jlog__record_decode(&h, sizeof(h), &v));
	/* Without a calibrated counter, flagged ticks (from elsewhere) get
	 * the time of decoding. */
	if (!have_tsc())
		hi = real_ns();
	CK_IN(v.time_ns, lo, hi);
}
END_TEST

/* Several threads convert at once while anchors are renewed (the
 * seqlock; run under ThreadSanitizer too). */
static void *convert_loop(void *arg)
{
	unsigned *bad = arg;
	*bad = convert_fresh((int)tc_scale(2000, 100), 100);
	return NULL;
}

START_TEST(test_threads)
{
	if (!have_tsc())
		return;
	pthread_t th[4];
	unsigned bad[4] = {0};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, convert_loop, &bad[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(bad[i], 0);
	}
}
END_TEST

/* A forked child converts on its own (the parent's anchor state is reset
 * by the fork handler; a counter reading means the same there). */
START_TEST(test_fork_child)
{
	if (!have_tsc())
		return;
	/* The first open installs the fork handlers; closing it leaves no
	 * thread behind, so the child starts none (which ThreadSanitizer
	 * could not follow). */
	jlog_logger *log;
	ck_assert_int_eq(jlog_open(&log, NULL), 0);
	ck_assert_int_eq(jlog_close(log), 0);
	(void)jlog__clock_ticks_to_ns(ticks());
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(convert_fresh(50, 10) ? 1 : 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* "2026-11-26T04:02:03.123456Z" -> ns (of the microsecond). */
static uint64_t parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	ck_assert_msg(rest && *rest == '.', "time %s", s);
	char *end;
	unsigned long us = strtoul(rest + 1, &end, 10);
	ck_assert_msg(end == rest + 7 && strcmp(end, "Z") == 0, "time %s", s);
	return (uint64_t)timegm(&tm) * 1000000000u + us * 1000u;
}

/* Through the whole logger: each line's time lies between the clock
 * read before the call and after it (the output has microseconds). */
START_TEST(test_logged_times)
{
	char *path = tc_tmppath("clock.log");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *log;
	ck_assert_int_eq(jlog_open(&log, &o), 0);
	enum { N = 60 };
	uint64_t lo[N], hi[N];
	for (int i = 0; i < N; i++) {
		lo[i] = real_ns() / 1000u * 1000u;
		JLOG_INFO(log, "tick", JLOG_INT("i", i));
		hi[i] = real_ns();
		if (i % 3 == 0)
			sleep_ms(2);
	}
	ck_assert_int_eq(jlog_close(log), 0);

	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, N);
	for (size_t k = 0; k < n; k++) {
		int i = (int)json_integer_value(json_object_get(lines[k], "i"));
		ck_assert_int_eq(i, (int)k); /* one thread: in order */
		const char *ts = json_string_value(json_object_get(lines[k], "time"));
		ck_assert_ptr_nonnull(ts);
		uint64_t t = parse_time(ts);
		CK_IN(t, lo[i], hi[i]);
	}
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_choose);
	tcase_add_test(tc, test_now);
	tcase_add_test(tc, test_old_and_new);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_fork_child);
	tcase_add_test(tc, test_logged_times);
	suite_add_tcase(s, tc);
	return s;
}
