/*
 * fork() and signal handlers.
 *
 * A forked child logs through the loggers it inherited, to the same sinks:
 * its lines appear exactly once, and the records the parent had not yet
 * written are written by the parent alone. fork() while other threads
 * flood a logger never deadlocks, in the parent or in the child. A signal
 * handler that logs while the interrupted thread is itself logging
 * neither deadlocks nor corrupts the ring: its records are written or
 * counted as dropped.
 *
 * Children report failures through their exit status, never with Check
 * assertions: under CK_FORK=no (valgrind) an assertion in a child would
 * unwind into a copy of the test runner.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TC_VALGRIND 1
#endif
#endif

#ifdef TC_TSAN
/*
 * ThreadSanitizer does not support a child of a process with threads
 * starting threads, and jlog starts a writer in every child: by default
 * TSan kills that child at once. With die_after_fork=0 the child runs, with
 * TSan's checks off, but TSan still aborts it (exit status 66, "dup thread
 * with used id") when the child's writer gets the cached stack, hence the
 * id, of one of the parent's threads. So under TSan the cases whose point
 * is the child are left out, and test_fork_under_load checks the parent's
 * side of fork() (the atfork handlers against flooding threads) and the
 * children TSan let live.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TC_ASAN 1
#endif
#endif

/* Set in every process this suite forks. */
static volatile bool forked_child;

#ifdef TC_ASAN
/*
 * LeakSanitizer cannot check a child forked from a process with threads:
 * it cannot find the parent's threads to stop them, and memory only they
 * (or only the child's stack) referenced is reported as leaked. Children
 * turn it off; the parent is checked as always.
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return forked_child;
}

/*
 * ASan's allocator (in GCC 12's runtime) is not fork-safe: a child forked
 * while another thread is inside malloc inherits an allocator lock held,
 * and its first malloc of that size (here, in the child's writer thread)
 * waits forever. glibc's malloc takes its locks around fork(), so this is
 * ASan's alone. Under ASan the cases make sure no writer allocates at a
 * fork: they flush first (a writer formats, so allocates, from its first
 * record on), and under load let the writer's buffers reach their final
 * size before forking. The parent's records pending at the fork are then
 * tested without ASan only.
 */
#define ASAN_FORK_HAZARD true
#else
#define ASAN_FORK_HAZARD false
#endif

/* fork(), marking the child. */
static pid_t test_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		forked_child = true;
	return pid;
}

/*
 * Under valgrind, a child's leak check at exit finds memory lost: in any
 * child of a process with threads, what only the other threads referenced
 * (their thread-local buffers, a pointer held in a register) is
 * unreachable. That sets the exit status to 1 (--error-exitcode), which
 * the parent then accepts; a memory error before the child's end kills it
 * instead (see child_end()), which fails the parent.
 */
static bool on_valgrind(void)
{
#ifdef TC_VALGRIND
	return RUNNING_ON_VALGRIND;
#else
	return false;
#endif
}

static bool child_ok(int status)
{
	return status == 0 || (status == 1 && on_valgrind());
}

/* Leave a forked child with exit(@code) (exit handlers run) or _exit(). */
static _Noreturn void child_end(bool run_exit_handlers, int code)
{
#ifdef TC_VALGRIND
	if (RUNNING_ON_VALGRIND && VALGRIND_COUNT_ERRORS > 0)
		abort();
#endif
	if (run_exit_handlers)
		exit(code);
	_exit(code);
}

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* Open a logger writing to a fresh file; *path gets the file's path. */
static jlog_logger *open_file_logger(char **path, jlog_options *opts)
{
	jlog_options o;
	if (!opts) {
		jlog_options_init(&o);
		opts = &o;
	}
	*path = tc_tmppath("log.jsonl");
	opts->sink = *path;
	jlog_logger *lg = NULL;
	int rc = jlog_open(&lg, opts);
	ck_assert_msg(rc == 0, "jlog_open: %s", jlog_strerror(rc));
	ck_assert_ptr_nonnull(lg);
	return lg;
}

static const char *str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	TC_CHECK_MSG(json_is_string(v), "key %s is not a string", key);
	return json_string_value(v);
}

static json_int_t int_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	TC_CHECK_MSG(json_is_integer(v), "key %s is not an integer", key);
	return json_integer_value(v);
}

/* Wait for @pid: its exit status, or 128 + the signal that ended it, or -1
 * when it cannot be waited for. */
static int wait_status(pid_t pid)
{
	int status;
	pid_t r;
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Parse each line of the file at @path with jansson (each must be one JSON
 * object) and hand it to @fn, one at a time, so a flood's output need not
 * fit in memory as jansson values. Returns the number of lines.
 */
typedef void (*line_fn)(json_t *line, void *arg);

static size_t for_each_line(const char *path, line_fn fn, void *arg)
{
	size_t len, k = 0;
	char *text = tc_slurp(path, &len);
	TC_CHECK_MSG(len == 0 || text[len - 1] == '\n', "output does not end with a newline");
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t err;
		json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
		                       &err);
		TC_CHECK_MSG(j != NULL, "line %zu is not valid JSON (%s): %.*s", k + 1, err.text,
		              (int)((nl - p) > 300 ? 300 : (nl - p)), p);
		TC_CHECK_MSG(json_is_object(j), "line %zu is not an object", k + 1);
		fn(j, arg);
		json_decref(j);
		k++;
		p = nl + 1;
	}
	free(text);
	return k;
}

/* The cases whose point is the child; not under TSan (see
 * __tsan_default_options()). */
#ifndef TC_TSAN

/* Wait for @pid, which must succeed (see child_ok()). */
static void wait_child(pid_t pid)
{
	int status = wait_status(pid);
	ck_assert_msg(child_ok(status), "child %d: status %d", (int)pid, status);
}

/* ---- the child's lines appear once ---------------------------------------- */

/*
 * The parent logs K records that its writer has not written yet (a long
 * flush interval keeps them in the ring), forks; the child logs M records
 * through the inherited handles and closes them; the parent logs K2 more
 * and closes. The file has exactly K + M + K2 lines: nothing of the
 * parent's is written twice, nothing of the child's is lost.
 */
enum { CH_K = 1000, CH_M = 700, CH_K2 = 300 };

struct once_check {
	pid_t parent, child;
	json_int_t next_parent, next_child;
};

static void check_once_line(json_t *line, void *arg)
{
	struct once_check *c = arg;
	const char *msg = str_of(line, "message");
	json_int_t seq = int_of(line, "seq");
	json_int_t pid = int_of(line, "pid");
	if (strcmp(msg, "parent") == 0) {
		TC_CHECK_INT_EQ(seq, c->next_parent++);
		TC_CHECK_INT_EQ(pid, c->parent);
	} else {
		TC_CHECK_STR_EQ(msg, "child");
		TC_CHECK_INT_EQ(seq, c->next_child++);
		TC_CHECK_INT_EQ(pid, c->child);
		TC_CHECK_STR_EQ(str_of(line, "req"), "r1");
		TC_CHECK_STR_EQ(str_of(line, "logger"), "app");
		TC_CHECK_INT_EQ(int_of(line, "tid"), pid); /* the forking thread */
	}
}

START_TEST(test_child_lines_once)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.flush_interval_ms = 10000;
	o.name = "app";
	jlog_logger *lg = open_file_logger(&path, &o);
	jlog_logger *req = JLOG_WITH(lg, JLOG_STR("req", "r1"));
	ck_assert_ptr_nonnull(req);
	for (int i = 0; i < CH_K; i++)
		JLOG_INFO(lg, "parent", JLOG_INT("seq", i));
	if (ASAN_FORK_HAZARD)
		ck_assert_int_eq(jlog_flush(lg), 0);

	pid_t pid = test_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < CH_M; i++)
			JLOG_INFO(req, "child", JLOG_INT("seq", i));
		/* The child's counters start at the fork. */
		jlog_stats st;
		if (jlog_flush(req) != 0)
			child_end(false, 10);
		if (jlog_get_stats(lg, &st) != 0 || st.logged != CH_M || st.written != CH_M ||
		    st.dropped != 0)
			child_end(false, 11);
		jlog_close(req);
		jlog_close(lg); /* joins the child's writer, not the parent's */
		child_end(false, 0);
	}
	wait_child(pid);

	/* The parent goes on as if nothing happened. */
	for (int i = CH_K; i < CH_K + CH_K2; i++)
		JLOG_INFO(lg, "parent", JLOG_INT("seq", i));
	jlog_stats st;
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.logged, CH_K + CH_K2);
	ck_assert_uint_eq(st.written, CH_K + CH_K2);
	jlog_close(req);
	ck_assert_int_eq(jlog_close(lg), 0);

	struct once_check c = {.parent = getpid(), .child = pid};
	ck_assert_uint_eq(for_each_line(path, check_once_line, &c), CH_K + CH_M + CH_K2);
	ck_assert_int_eq(c.next_parent, CH_K + CH_K2);
	ck_assert_int_eq(c.next_child, CH_M);
	free(path);
}
END_TEST

/* ---- exit() in the child drains the child's records ------------------------ */

/*
 * The child logs and calls exit() without flushing or closing: the exit
 * handler drains its records. It also forks a grandchild, which does the
 * same: the fork handlers work in a process that was itself forked.
 */
enum { EX_K = 500, EX_M = 20000, EX_G = 300 };

struct exit_check {
	pid_t pids[3];
	json_int_t next[3];
};

static void check_exit_line(json_t *line, void *arg)
{
	struct exit_check *c = arg;
	static const char *const names[3] = {"parent", "child", "grandchild"};
	const char *msg = str_of(line, "message");
	int who = -1;
	for (int i = 0; i < 3; i++)
		if (strcmp(msg, names[i]) == 0)
			who = i;
	TC_CHECK_MSG(who >= 0, "unexpected line %s", msg);
	TC_CHECK_INT_EQ(int_of(line, "seq"), c->next[who]++);
	if (c->pids[who])
		TC_CHECK_INT_EQ(int_of(line, "pid"), c->pids[who]);
	else
		c->pids[who] = (pid_t)int_of(line, "pid");
}

START_TEST(test_child_exit_drains)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.flush_interval_ms = 10000;
	jlog_logger *lg = open_file_logger(&path, &o);
	for (int i = 0; i < EX_K; i++)
		JLOG_INFO(lg, "parent", JLOG_INT("seq", i));
	if (ASAN_FORK_HAZARD)
		ck_assert_int_eq(jlog_flush(lg), 0);

	pid_t pid = test_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < EX_M; i++)
			JLOG_INFO(lg, "child", JLOG_INT("seq", i));
		if (ASAN_FORK_HAZARD && jlog_flush(lg) != 0)
			child_end(false, 22);
		pid_t g = test_fork();
		if (g < 0)
			child_end(false, 20);
		if (g == 0) {
			for (int i = 0; i < EX_G; i++)
				JLOG_INFO(lg, "grandchild", JLOG_INT("seq", i));
			child_end(true, 0);
		}
		int status;
		if (waitpid(g, &status, 0) != g || !WIFEXITED(status) ||
		    !child_ok(WEXITSTATUS(status)))
			child_end(false, 21);
		child_end(true, 0); /* no flush, no close: the exit handler drains */
	}
	wait_child(pid);
	ck_assert_int_eq(jlog_close(lg), 0);

	struct exit_check c = {.pids = {getpid(), pid, 0}};
	ck_assert_uint_eq(for_each_line(path, check_exit_line, &c), EX_K + EX_M + EX_G);
	ck_assert_int_eq(c.next[0], EX_K);
	ck_assert_int_eq(c.next[1], EX_M);
	ck_assert_int_eq(c.next[2], EX_G);
	ck_assert_int_ne(c.pids[2], c.pids[0]);
	ck_assert_int_ne(c.pids[2], c.pids[1]);
	free(path);
}
END_TEST

/* ---- the default logger --------------------------------------------------- */

/*
 * The default logger, opened in the parent, works in the child: records
 * through NULL and through a child logger of it appear once each.
 */
START_TEST(test_default_logger_in_child)
{
	char *path = tc_tmppath("default.jsonl");
	setenv("JLOG_SINK", path, 1);
	setenv("JLOG_LEVEL", "info", 1);
	jlog_logger *def = jlog_default();
	ck_assert_ptr_nonnull(def);
	/* Under CK_FORK=no another case may have opened it already, with
	 * another sink: nothing to check then. */
	char desc[4200];
	snprintf(desc, sizeof(desc), "file %s", path);
	if (strcmp(jlog__first_sink(def->core)->desc, desc) != 0) {
		free(path);
		return;
	}
	for (int i = 0; i < EX_K; i++)
		JLOG_INFO(NULL, "parent", JLOG_INT("seq", i));
	if (ASAN_FORK_HAZARD)
		ck_assert_int_eq(jlog_flush(NULL), 0);

	pid_t pid = test_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		jlog_logger *sub = JLOG_WITH(NULL, JLOG_STR("sub", "yes"));
		if (!sub)
			child_end(false, 30);
		for (int i = 0; i < EX_G; i++)
			JLOG_INFO(i % 2 ? sub : NULL, "child", JLOG_INT("seq", i));
		jlog_close(sub);
		jlog_close(NULL); /* the default logger: does nothing */
		child_end(true, 0);
	}
	wait_child(pid);
	ck_assert_int_eq(jlog_flush(NULL), 0);

	struct exit_check c = {.pids = {getpid(), pid, 0}};
	ck_assert_uint_eq(for_each_line(path, check_exit_line, &c), EX_K + EX_G);
	ck_assert_int_eq(c.next[0], EX_K);
	ck_assert_int_eq(c.next[1], EX_G);
	free(path);
}
END_TEST

#endif /* !TC_TSAN */

/* ---- fork under load ------------------------------------------------------ */

#define FLOOD_THREADS 3
/* Records each flood thread logs per fork. */
#define FLOOD_PER_FORK 300

struct flood {
	jlog_logger *lg;
	int t;
	atomic_bool *stop;
	/* How many records the thread may have logged so far: the forking
	 * thread raises it before each fork, so every fork meets a burst of
	 * log calls, and the output stays small enough to check. */
	atomic_ulong *budget;
	atomic_ulong progress; /* records logged so far */
	unsigned long count; /* records logged, read after join */
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	unsigned long i = 0;
	for (;;) {
		/* Relaxed: the counters only pace the loop; the records are
		 * checked after the join. */
		if (i >= atomic_load_explicit(f->budget, memory_order_relaxed)) {
			if (atomic_load_explicit(f->stop, memory_order_relaxed))
				break;
			sched_yield();
			continue;
		}
		JLOG_INFO(f->lg, "flood", JLOG_INT("t", f->t), JLOG_UINT("seq", i),
		          JLOG_STR("pad", "0123456789abcdef0123456789abcdef"));
		i++;
		atomic_store_explicit(&f->progress, i, memory_order_relaxed);
		/* One thread also flushes now and then, so forks meet threads
		 * holding or waiting on the core's lock. */
		if (f->t == 0 && i % 512 == 0)
			jlog_flush(f->lg);
	}
	f->count = i;
	return NULL;
}

struct load_check {
	json_int_t next[FLOOD_THREADS];
	pid_t *child_pids;
	unsigned char *child_seen;
	unsigned long nforks;
	unsigned long child_lines;
	pid_t parent;
};

static void check_load_line(json_t *line, void *arg)
{
	struct load_check *c = arg;
	const char *msg = str_of(line, "message");
	if (strcmp(msg, "flood") == 0) {
		json_int_t t = int_of(line, "t");
		TC_CHECK(t >= 0 && t < FLOOD_THREADS);
		TC_CHECK_INT_EQ(int_of(line, "seq"), c->next[t]++);
		TC_CHECK_INT_EQ(int_of(line, "pid"), c->parent);
		return;
	}
	TC_CHECK_STR_EQ(msg, "forked");
	json_int_t i = int_of(line, "i");
	TC_CHECK(i >= 0 && (unsigned long)i < c->nforks);
	TC_CHECK_MSG(!c->child_seen[i], "child %d's line appears twice", (int)i);
	c->child_seen[i] = 1;
	c->child_lines++;
	TC_CHECK_INT_EQ(int_of(line, "pid"), c->child_pids[i]);
}

/*
 * Fork repeatedly while threads flood a logger whose small ring keeps them
 * blocked on it much of the time (and one of them flushing). Each child
 * logs one line and leaves in one of three ways: exit(), jlog_flush() then
 * _exit(), or jlog_close() then _exit(). No fork deadlocks; every flood
 * record appears once and in per-thread order; every child's line appears
 * once.
 */
START_TEST(test_fork_under_load)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.queue_size = 256 << 10;
	jlog_logger *lg = open_file_logger(&path, &o);

	unsigned long nforks = tc_scale(200, 10);
	atomic_bool stop = false;
	atomic_ulong budget = 0;
	struct flood fl[FLOOD_THREADS];
	pthread_t th[FLOOD_THREADS];
	for (int t = 0; t < FLOOD_THREADS; t++) {
		fl[t] = (struct flood){.lg = lg, .t = t, .stop = &stop, .budget = &budget};
		ck_assert_int_eq(pthread_create(&th[t], NULL, flood_main, &fl[t]), 0);
	}

	pid_t *pids = calloc(nforks, sizeof(*pids));
	unsigned char *dead = calloc(nforks, 1);
	ck_assert_ptr_nonnull(pids);
	ck_assert_ptr_nonnull(dead);
	unsigned long base = 0;
	if (ASAN_FORK_HAZARD) {
		/* Two full batches of each thread first: from then on the
		 * writer's buffers are large enough (see ASAN_FORK_HAZARD). */
		base = 2048;
		atomic_store(&budget, base);
		for (int t = 0; t < FLOOD_THREADS; t++)
			while (atomic_load(&fl[t].progress) < base)
				sched_yield();
		ck_assert_int_eq(jlog_flush(lg), 0);
	}
	/* No assertion until the threads are joined: under CK_FORK=no a
	 * failure would unwind this frame under their feet. */
	unsigned long failed_at = 0;
	int failed_status = 0;
	for (unsigned long i = 0; i < nforks; i++) {
		atomic_store_explicit(&budget, base + (i + 1) * FLOOD_PER_FORK, memory_order_relaxed);
		pid_t pid = test_fork();
		if (pid < 0) {
			failed_at = i + 1;
			failed_status = -errno;
			break;
		}
		if (pid == 0) {
			JLOG_INFO(lg, "forked", JLOG_UINT("i", i));
			jlog_stats st;
			if (jlog_get_stats(lg, &st) != 0 || st.logged != 1)
				child_end(false, 40);
			switch (i % 3) {
			case 0:
				child_end(true, 0);
			case 1:
				child_end(false, jlog_flush(lg) == 0 ? 0 : 41);
			default:
				child_end(false, jlog_close(lg) == 0 ? 0 : 42);
			}
		}
		pids[i] = pid;
		int status = wait_status(pid);
#ifdef TC_TSAN
		if (status == 66) {
			dead[i] = 1; /* killed by TSan; see __tsan_default_options() */
			continue;
		}
#endif
		if (!child_ok(status)) {
			failed_at = i + 1;
			failed_status = status;
			break;
		}
	}
	atomic_store(&stop, true);
	unsigned long total = 0;
	for (int t = 0; t < FLOOD_THREADS; t++) {
		pthread_join(th[t], NULL);
		total += fl[t].count;
	}
	ck_assert_msg(failed_at == 0, "fork %lu failed: status %d", failed_at - 1, failed_status);
	ck_assert_int_eq(jlog_close(lg), 0);

	struct load_check c = {.child_pids = pids, .nforks = nforks, .parent = getpid()};
	c.child_seen = calloc(nforks, 1);
	ck_assert_ptr_nonnull(c.child_seen);
	ck_assert_uint_eq(for_each_line(path, check_load_line, &c), total + c.child_lines);
	for (int t = 0; t < FLOOD_THREADS; t++)
		ck_assert_int_eq(c.next[t], (json_int_t)fl[t].count);
	for (unsigned long i = 0; i < nforks; i++)
		ck_assert_msg(c.child_seen[i] || dead[i], "child %lu's line is missing", i);
	free(c.child_seen);
	free(dead);
	free(pids);
	free(path);
}
END_TEST

/* ---- logging from a signal handler ---------------------------------------- */

static jlog_logger *sig_lg;
static atomic_ulong sig_attempts;
/* Set by the interrupted thread around its log calls, so the handler can
 * count how often it interrupted one. */
static volatile sig_atomic_t main_in_log;
static atomic_ulong sig_nested;
/* Large records from the handler fill the small ring now and then. */
static char sig_pad[1000];

static void on_timer(int sig)
{
	(void)sig;
	int saved = errno;
	/* A lock-free atomic: async-signal-safe. */
	unsigned long n = atomic_fetch_add_explicit(&sig_attempts, 1, memory_order_relaxed);
	if (main_in_log)
		atomic_fetch_add_explicit(&sig_nested, 1, memory_order_relaxed);
	JLOG_INFO(sig_lg, "tick", JLOG_UINT("n", n), JLOG_STRN("pad", sig_pad, sizeof(sig_pad)));
	errno = saved;
}

struct sig_check {
	json_int_t next_main;
	unsigned long ticks;
	unsigned char *tick_seen;
	unsigned long attempts;
	unsigned long reported_drops;
};

static void check_sig_line(json_t *line, void *arg)
{
	struct sig_check *c = arg;
	const char *msg = str_of(line, "message");
	if (strcmp(msg, "main") == 0) {
		TC_CHECK_INT_EQ(int_of(line, "seq"), c->next_main++);
	} else if (strcmp(msg, "tick") == 0) {
		json_int_t n = int_of(line, "n");
		TC_CHECK(n >= 0 && (unsigned long)n < c->attempts);
		TC_CHECK_MSG(!c->tick_seen[n], "tick %d appears twice", (int)n);
		c->tick_seen[n] = 1;
		c->ticks++;
	} else {
		TC_CHECK_STR_EQ(msg, "records dropped");
		c->reported_drops += (unsigned long)int_of(line, "dropped");
	}
}

/*
 * A timer signal aimed at this thread fires every 15 µs; its handler logs
 * while this thread is itself logging, into a ring small enough to be
 * full now and then. A handler that interrupted a log call never waits
 * (the interrupted call may hold the record the writer waits for), so it
 * drops when the ring is full. Afterwards: every line parses, this
 * thread's records are all there in order, and every handler call either
 * wrote its line or was counted as dropped.
 */
START_TEST(test_signal_handler_logs)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.queue_size = 64 << 10;
	sig_lg = open_file_logger(&path, &o);
	atomic_store(&sig_attempts, 0);
	atomic_store(&sig_nested, 0);
	memset(sig_pad, 's', sizeof(sig_pad));

	struct sigaction sa, old_sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, &old_sa), 0);

	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR2;
	sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	timer_t timer;
	ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	struct itimerspec its = {
		.it_interval = {.tv_sec = 0, .tv_nsec = 15000},
		.it_value = {.tv_sec = 0, .tv_nsec = 15000},
	};
	ck_assert_int_eq(timer_settime(timer, 0, &its, NULL), 0);

	char pad[48];
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	/* Valgrind delivers a timer signal only at its scheduling points, a
	 * few times a second: there the handler's memory accesses are what
	 * is checked, and a few dozen calls check them. */
	unsigned long target = on_valgrind() ? 60 : tc_scale(12000, 500);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	json_int_t seq = 0;
	for (;;) {
		for (int k = 0; k < 64; k++, seq++) {
			main_in_log = 1;
			JLOG_INFO(sig_lg, "main", JLOG_INT("seq", seq), JLOG_STR("pad", pad));
			main_in_log = 0;
		}
		if (atomic_load_explicit(&sig_attempts, memory_order_relaxed) >= target)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 90)
			break;
	}
	ck_assert_int_eq(timer_delete(timer), 0);
	/* Discard a signal still pending, then put the old action back. */
	signal(SIGUSR2, SIG_IGN);
	ck_assert_int_eq(sigaction(SIGUSR2, &old_sa, NULL), 0);
	unsigned long attempts = atomic_load(&sig_attempts);
	ck_assert_msg(attempts >= target, "only %lu handler calls in 90 s", attempts);
#ifndef TC_TSAN
	/* The handler did interrupt log calls. TSan and valgrind hold an
	 * asynchronous signal back until a point of their choosing, so there
	 * it may not have. */
	if (!on_valgrind())
		ck_assert_uint_gt(atomic_load(&sig_nested), 0);
#endif

	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(sig_lg, &st), 0);
	ck_assert_int_eq(jlog_close(sig_lg), 0);
	sig_lg = NULL;

	struct sig_check c = {.attempts = attempts};
	c.tick_seen = calloc(attempts, 1);
	ck_assert_ptr_nonnull(c.tick_seen);
	size_t n = for_each_line(path, check_sig_line, &c);
	ck_assert_int_eq(c.next_main, seq);
	ck_assert_uint_eq(c.ticks + st.dropped, attempts);
	ck_assert_uint_eq(c.reported_drops, st.dropped);
	ck_assert_uint_eq(st.logged, (uint64_t)seq + c.ticks);
	ck_assert_uint_gt(n, 0);
	free(c.tick_seen);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("fork");

	TCase *tc = tcase_create("fork");
	tcase_set_timeout(tc, 120);
#ifndef TC_TSAN /* see __tsan_default_options() */
	tcase_add_test(tc, test_child_lines_once);
	tcase_add_test(tc, test_child_exit_drains);
	tcase_add_test(tc, test_default_logger_in_child);
#endif
	tcase_add_test(tc, test_fork_under_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_signal_handler_logs);
	suite_add_tcase(s, tc);
	return s;
}
