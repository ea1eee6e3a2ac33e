/*
 * The log path allocates nothing after a thread's first call: malloc,
 * calloc and realloc are interposed (this executable's definitions win
 * over libc's for the statically linked library) and counted on the
 * producer threads only, over a million calls.
 *
 * Sanitizers and valgrind bring their own allocators, which these
 * definitions would bypass, so the suite skips itself under them.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <pthread.h>
#include <stdatomic.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TC_SANITIZED 1
#endif
#endif

#ifndef TC_SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

/* Set on a producer thread while it is being measured. volatile: the
 * compiler takes malloc() to read no program memory, and would otherwise
 * move the store that sets this past the call it is meant to cover. */
static _Thread_local volatile bool counting;
static atomic_ulong allocations;

void *malloc(size_t n)
{
	if (counting)
		atomic_fetch_add(&allocations, 1);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		atomic_fetch_add(&allocations, 1);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		atomic_fetch_add(&allocations, 1);
	return __libc_realloc(p, n);
}

static bool under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");
	return pre && strstr(pre, "vgpreload");
}

#define CALLS 1000000

struct producer {
	jlog_logger *log;
	jlog_logger *child;
	unsigned long calls;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	/* The first call of a thread may allocate (callsite registration of
	 * a new statement beyond the static table); it is not counted. */
	JLOG_INFO(p->log, "warm-up");
	counting = true;
	for (unsigned long i = 0; i < p->calls; i++) {
		JLOG_INFO(p->log, "request handled", JLOG_STR("user", "alice"),
		          JLOG_INT("status", 200), JLOG_DOUBLE("latency_ms", 12.5),
		          JLOG_BOOL("cached", true), JLOG_STR("path", "/api/v1/items"));
		if (i % 16 == 0)
			JLOG_WARNINGF(p->child, "slow request %lu", i);
	}
	counting = false;
	return NULL;
}

START_TEST(test_no_allocation_per_call)
{
	if (under_valgrind())
		exit(TC_SKIP); /* valgrind replaces the allocator (CK_FORK=no there) */
	char *path = tc_tmppath("alloc.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	/* A small ring, so producers also go through the full-ring wait. */
	o.queue_size = 256 * 1024;
	jlog_logger *log;
	ck_assert_int_eq(jlog_open(&log, &o), 0);
	jlog_logger *child = JLOG_WITH(jlog_named(log, "api"), JLOG_STR("request_id", "r-1"));
	ck_assert_ptr_nonnull(child);

	struct producer p[2] = {{log, child, CALLS / 2}, {log, child, CALLS / 2}};
	pthread_t t[2];
	atomic_store(&allocations, 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	unsigned long seen = atomic_load(&allocations);

	jlog_stats st;
	jlog_flush(log);
	jlog_get_stats(log, &st);
	/* Every call was accepted: the measurement covered real work. */
	ck_assert_uint_eq(st.logged, 2 + CALLS + 2 * ((CALLS / 2 + 15) / 16));
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_msg(seen == 0, "%lu allocations over %d log calls", seen, CALLS);
	fprintf(stderr, "alloc: %lu allocations over %lu log calls\n", seen,
	        (unsigned long)st.logged);
	jlog_close(child);
	jlog_close(log);
	free(path);
}
END_TEST

/* The counter itself works: a thread that allocates is seen. */
START_TEST(test_counter_sees_allocations)
{
	if (under_valgrind())
		exit(TC_SKIP);
	atomic_store(&allocations, 0);
	counting = true;
	void *volatile p = malloc(10);
	counting = false;
	free(p);
	ck_assert_uint_eq(atomic_load(&allocations), 1);
}
END_TEST
#endif /* !TC_SANITIZED */

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("alloc");
	tcase_set_timeout(tc, 120);
#ifndef TC_SANITIZED
	tcase_add_test(tc, test_counter_sees_allocations);
	tcase_add_test(tc, test_no_allocation_per_call);
#endif
	suite_add_tcase(s, tc);
	return s;
}
