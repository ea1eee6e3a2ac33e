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

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
/* Set on a thread to make its allocations fail (out of memory). */
static _Thread_local volatile bool failing;

void *malloc(size_t n)
{
	if (counting)
		atomic_fetch_add(&allocations, 1);
	if (failing) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		atomic_fetch_add(&allocations, 1);
	if (failing) {
		errno = ENOMEM;
		return NULL;
	}
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

/* A child logger that cannot be made says why: the NULL handle comes with
 * a jlog_last_error() naming the call, not an older, unrelated message. */
START_TEST(test_child_out_of_memory_says_why)
{
	if (under_valgrind())
		exit(TC_SKIP);
	char *path = tc_tmppath("alloc-child.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *log;
	ck_assert_int_eq(jlog_open(&log, &o), 0);
	ck_assert_int_lt(jlog_remove_sink(log, 4242), 0); /* an older message */

	failing = true;
	jlog_logger *a = JLOG_WITH(log, JLOG_STR("request_id", "r-1"));
	failing = false;
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(jlog_last_error(), "JLOG_WITH: out of memory") != NULL, "%s",
	              jlog_last_error());

	ck_assert_int_lt(jlog_remove_sink(log, 4242), 0);
	failing = true;
	jlog_logger *b = jlog_named(log, "db");
	failing = false;
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(jlog_last_error(), "jlog_named: out of memory") != NULL, "%s",
	              jlog_last_error());

	/* Made on a second try: the failure left nothing behind. */
	jlog_logger *c = jlog_named(log, "db");
	ck_assert_ptr_nonnull(c);
	jlog_close(c);
	jlog_close(log);
	unlink(path);
	free(path);
}
END_TEST

/* jlog_install_crash_handler() without the memory it reserves: -ENOMEM and a
 * message naming what could not be had. A child process, whose address
 * space limit stops the 8 MiB mapping. */
START_TEST(test_crash_install_out_of_memory_says_why)
{
	if (under_valgrind())
		exit(TC_SKIP);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		unsigned long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%lu", &pages) != 1)
			_exit(3);
		fclose(f);
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (1 << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(4);
		int rc = jlog_install_crash_handler();
		dprintf(fds[1], "%d %s", rc, jlog_last_error());
		_exit(0);
	}
	close(fds[1]);
	char buf[512] = {0};
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fds[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	int rc = atoi(buf);
	ck_assert_msg(rc == -ENOMEM, "install returned %d: %s", rc, buf);
	ck_assert_msg(strstr(buf, "jlog_install_crash_handler: cannot map") != NULL, "%s", buf);
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
	tcase_add_test(tc, test_child_out_of_memory_says_why);
	tcase_add_test(tc, test_crash_install_out_of_memory_says_why);
#endif
	suite_add_tcase(s, tc);
	return s;
}
