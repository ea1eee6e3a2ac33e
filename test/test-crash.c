/*
 * The crash handler: child processes open file loggers, install the
 * handler, log, and crash in every way the handler covers (a fault in a
 * producer, abort(), raised and kernel-raised SIGBUS, SIGILL and SIGFPE,
 * a stack overflow on the alternate stack, a crash while another thread
 * floods, while the writer is busy, in the writer itself, while the
 * writer does not answer, in two threads at once, in a forked child). The
 * parent checks that the child died of the same signal, that the file
 * holds every record logged before the crash (per-thread sequence numbers
 * without a gap or a duplicate) and then exactly one CRITICAL "fatal
 * signal" record naming the signal with a non-empty stack, and that
 * jansson parses every line. Also: chaining to a handler installed before
 * jlog's, install/uninstall being idempotent, an ignored signal that is
 * sent not counting as a crash, and the watchdog ending a handler that
 * hangs.
 *
 * Children turn core dumps off (RLIMIT_CORE 0, not dumpable) to stay fast,
 * and start from the default dispositions: under AddressSanitizer the
 * previous handler would otherwise be ASan's, which reports and exits
 * instead of dying of the signal (chaining to a real handler is tested
 * with the test's own).
 *
 * Under valgrind (meson test --setup valgrind) the crashing tests are
 * skipped, the install test still runs. They do pass there, but prove
 * nothing more: valgrind follows the forked children, which die of a
 * signal, so its reports there (including false "invalid write" ones for
 * a chained handler nested on the alternate stack, which it emulates
 * loosely) cannot fail the test, and it makes the suite ten times slower.
 * The crash paths run in the plain and the ASan builds.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

/* Crashing functions are not instrumented: UBSan would report the null
 * store or the division itself and stop the child before the signal. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define CRASHER __attribute__((noinline, no_sanitize("undefined", "address")))
#else
#define CRASHER __attribute__((noinline))
#endif

#define MAXT 8

static bool under_valgrind(void)
{
#ifdef HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return true;
#endif
	const char *pre = getenv("LD_PRELOAD");
	return pre && strstr(pre, "vgpreload");
}

/* ThreadSanitizer runs signal handlers from its own handler, installed
 * without SA_NODEFER: a fault inside jlog's handler (the writer-crash
 * test) or the watchdog's signal then finds the signal blocked, which the
 * handler relies on not being. TSan builds run only the suites listed in
 * tools/test.sh, which does not list this one; these two tests skip
 * there anyway. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifdef UNDER_TSAN
#define SKIP_UNDER_TSAN()                                                     \
	do {                                                                  \
		fprintf(stderr, "%s: skipped under ThreadSanitizer\n", __func__); \
		return;                                                       \
	} while (0)
#else
#define SKIP_UNDER_TSAN() ((void)0)
#endif

#define SKIP_UNDER_VALGRIND()                                                 \
	do {                                                                  \
		if (under_valgrind()) {                                       \
			fprintf(stderr, "%s: skipped under valgrind\n", __func__); \
			return;                                               \
		}                                                             \
	} while (0)

/* ---- in the child ---------------------------------------------------------- */

static int *volatile null_ptr;
static volatile int zero;

static CRASHER void crash_null(void)
{
	*null_ptr = 1;
}

static volatile int hundred = 100, quotient;

static CRASHER void crash_divide(void)
{
	quotient = hundred / zero;
}

static CRASHER int overflow(int depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	/* Never false, but the compiler cannot know it: no warning about
	 * infinite recursion, no tail call. */
	if (zero == 0)
		return overflow(depth + 1) + frame[0];
	return frame[0];
}

/* A SIGBUS the kernel raises: reading a mapped page past the end of the
 * file. */
static CRASHER void crash_bus(const char *path)
{
	char p[512];
	snprintf(p, sizeof(p), "%s.bus", path);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		_exit(90);
	volatile char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		_exit(91);
	(void)m[0];
}

/* Every child: no core dump, the default dispositions, a known name. */
static void child_setup(const char *name)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0);
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	prctl(PR_SET_NAME, name);
}

static jlog_logger *child_open(const char *path, const char *name, size_t queue)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	o.name = name;
	if (queue)
		o.queue_size = queue;
	jlog_logger *lg = NULL;
	if (jlog_open(&lg, &o) != 0)
		_exit(80);
	return lg;
}

static void log_seq(jlog_logger *lg, long t, long from, long to)
{
	for (long i = from; i < to; i++)
		JLOG_INFO(lg, "rec", JLOG_INT("t", t), JLOG_INT("seq", i),
		          JLOG_STR("pad", "a record of moderate length, like most"));
}

/* A record saying that thread @t had logged at least @min records. */
static void log_mark(jlog_logger *lg, long t, long min)
{
	JLOG_INFO(lg, "mark", JLOG_INT("t", t), JLOG_INT("min", min));
}

struct range {
	jlog_logger *lg;
	long t, from, to;
};

static void *range_thread(void *arg)
{
	struct range *r = arg;
	log_seq(r->lg, r->t, r->from, r->to);
	return NULL;
}

/* ---- in the parent ------------------------------------------------------------ */

/* Run @fn(arg) in a child; returns its wait status. */
static int run_child(void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn(arg);
		_exit(99); /* it was meant to crash */
	}
	int status;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		ck_assert_int_eq(r, 0);
		if (waited > 100 * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("the child hung");
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return status;
}

static void assert_killed_by(int status, int sig)
{
	ck_assert_msg(WIFSIGNALED(status), "child exited with %d instead of dying of signal %d",
	              WIFEXITED(status) ? WEXITSTATUS(status) : -1, sig);
	ck_assert_msg(WTERMSIG(status) == sig, "child died of signal %d instead of %d",
	              WTERMSIG(status), sig);
}

static json_int_t int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	TC_CHECK_MSG(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	TC_CHECK_MSG(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

struct expect {
	int sig;
	const char *signame;
	bool fault;              /* kernel-reported: fault_address */
	const char *address;     /* its expected value, or NULL */
	const char *thread_name; /* expected, or NULL */
	const char *frame;       /* a substring some frame has, or NULL */
	bool stuck_ok;           /* a "stuck" line may appear */
	long exact[MAXT];        /* records of thread t, -1: not checked */
	long at_least[MAXT];
};

static void expect_init(struct expect *e, int sig, const char *name)
{
	memset(e, 0, sizeof(*e));
	e->sig = sig;
	e->signame = name;
	for (int t = 0; t < MAXT; t++)
		e->exact[t] = -1;
}

/* Check a log file written by a crashed child; returns the crash record's
 * line (a new reference). */
static json_t *check_log(const char *path, const struct expect *e)
{
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_msg(n > 0, "%s is empty", path);
	long next[MAXT] = {0}, min[MAXT] = {0};
	json_t *crash = NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *l = lines[i];
		const char *msg = str_of(l, "message");
		if (strcmp(msg, "fatal signal") == 0) {
			TC_CHECK_MSG(crash == NULL, "two crash records");
			TC_CHECK_MSG(i == n - 1, "the crash record is line %zu of %zu", i + 1, n);
			crash = json_incref(l);
		} else if (strcmp(msg, "rec") == 0) {
			json_int_t t = int_of(l, "t"), seq = int_of(l, "seq");
			TC_CHECK(t >= 0 && t < MAXT);
			TC_CHECK_MSG(seq == next[t], "thread %d: record %lld where %ld was due (line %zu)",
			              (int)t, (long long)seq, next[t], i + 1);
			next[t]++;
		} else if (e->stuck_ok && strcmp(msg, "stuck") == 0) {
			continue;
		} else if (strcmp(msg, "mark") == 0) {
			json_int_t t = int_of(l, "t");
			TC_CHECK(t >= 0 && t < MAXT);
			min[t] = (long)int_of(l, "min");
		} else {
			ck_abort_msg("unexpected line %zu: \"%s\"", i + 1, msg);
		}
	}
	for (int t = 0; t < MAXT; t++) {
		if (e->exact[t] >= 0)
			ck_assert_msg(next[t] == e->exact[t], "thread %d: %ld records, %ld expected", t,
			              next[t], e->exact[t]);
		ck_assert_msg(next[t] >= e->at_least[t] && next[t] >= min[t],
		              "thread %d: %ld records, at least %ld expected", t, next[t],
		              e->at_least[t] > min[t] ? e->at_least[t] : min[t]);
	}

	ck_assert_msg(crash != NULL, "no crash record in %s", path);
	ck_assert_str_eq(str_of(crash, "level"), "CRITICAL");
	ck_assert_str_eq(str_of(crash, "signal"), e->signame);
	ck_assert_int_eq(int_of(crash, "signo"), e->sig);
	(void)int_of(crash, "si_code");
	if (e->fault) {
		const char *a = str_of(crash, "fault_address");
		ck_assert(strncmp(a, "0x", 2) == 0);
		if (e->address)
			ck_assert_str_eq(a, e->address);
	} else {
		ck_assert_ptr_null(json_object_get(crash, "fault_address"));
		ck_assert(int_of(crash, "sender_pid") > 0);
	}
	if (e->thread_name)
		ck_assert_str_eq(str_of(crash, "thread_name"), e->thread_name);
	json_t *stack = json_object_get(crash, "stack");
	ck_assert_msg(json_is_array(stack) && json_array_size(stack) > 0, "no stack");
	bool found = e->frame == NULL;
	for (size_t i = 0; i < json_array_size(stack); i++) {
		const char *f = json_string_value(json_array_get(stack, i));
		ck_assert_msg(f && *f, "frame %zu is not a non-empty string", i);
		found = found || strstr(f, e->frame) != NULL;
	}
	ck_assert_msg(found, "no frame mentions %s", e->frame);
	tc_free_lines(lines, n);
	return crash;
}

/* ---- one way to crash per test ------------------------------------------------ */

enum how { NULL_DEREF, ABORT, RAISE_BUS, REAL_BUS, RAISE_ILL, TRAP_ILL, DIV_ZERO, RAISE_FPE };

struct basic {
	char *path_a, *path_b;
	enum how how;
	long k;
};

/*
 * Logger A opened before the install, B (named) after it. Two threads log
 * a third of the records each to A and are joined; the main thread logs
 * the rest to A and a few to B, then crashes.
 */
static void basic_child(void *arg)
{
	struct basic *b = arg;
	child_setup("crash-main");
	jlog_logger *a = child_open(b->path_a, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	jlog_logger *lb = child_open(b->path_b, "later", 0);
	long third = b->k / 3;
	struct range r1 = {a, 1, 0, third}, r2 = {a, 2, 0, third};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, range_thread, &r1);
	pthread_create(&t2, NULL, range_thread, &r2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	log_seq(a, 0, 0, b->k - 2 * third);
	log_seq(lb, 0, 0, 100);
	switch (b->how) {
	case NULL_DEREF:
		crash_null();
		break;
	case ABORT:
		abort();
	case RAISE_BUS:
		raise(SIGBUS);
		break;
	case REAL_BUS:
		crash_bus(b->path_a);
		break;
	case RAISE_ILL:
		raise(SIGILL);
		break;
	case TRAP_ILL:
#if defined(__x86_64__) || defined(__i386__)
		__asm__ volatile("ud2");
#else
		raise(SIGILL);
#endif
		break;
	case DIV_ZERO:
		crash_divide();
		break;
	case RAISE_FPE:
		raise(SIGFPE);
		break;
	}
}

static void run_basic(enum how how, int sig, const char *name, bool fault, const char *address,
                      const char *frame)
{
	struct basic b = {tc_tmppath("a.jsonl"), tc_tmppath("b.jsonl"), how,
	                  (long)tc_scale(30000, 1500)};
	assert_killed_by(run_child(basic_child, &b), sig);
	struct expect e;
	expect_init(&e, sig, name);
	e.fault = fault;
	e.address = address;
	e.thread_name = "crash-main";
	e.frame = frame;
	long third = b.k / 3;
	e.exact[0] = b.k - 2 * third;
	e.exact[1] = e.exact[2] = third;
	json_decref(check_log(b.path_a, &e));
	expect_init(&e, sig, name);
	e.fault = fault;
	e.exact[0] = 100;
	json_decref(check_log(b.path_b, &e));
	free(b.path_a);
	free(b.path_b);
}

START_TEST(test_null_deref)
{
	SKIP_UNDER_VALGRIND();
	run_basic(NULL_DEREF, SIGSEGV, "SIGSEGV", true, "0x0", NULL);
}
END_TEST

START_TEST(test_abort)
{
	SKIP_UNDER_VALGRIND();
	/* The stack starts at the interrupted frame, inside abort(). */
	run_basic(ABORT, SIGABRT, "SIGABRT", false, NULL, "abort");
}
END_TEST

START_TEST(test_bus)
{
	SKIP_UNDER_VALGRIND();
	run_basic(RAISE_BUS, SIGBUS, "SIGBUS", false, NULL, NULL);
	run_basic(REAL_BUS, SIGBUS, "SIGBUS", true, NULL, NULL);
}
END_TEST

START_TEST(test_ill)
{
	SKIP_UNDER_VALGRIND();
	run_basic(RAISE_ILL, SIGILL, "SIGILL", false, NULL, NULL);
#if defined(__x86_64__) || defined(__i386__)
	run_basic(TRAP_ILL, SIGILL, "SIGILL", true, NULL, NULL);
#endif
}
END_TEST

START_TEST(test_fpe)
{
	SKIP_UNDER_VALGRIND();
	run_basic(RAISE_FPE, SIGFPE, "SIGFPE", false, NULL, NULL);
#if defined(__x86_64__) || defined(__i386__)
	/* Integer division by zero traps on x86 (not on ARM, which gives 0). */
	run_basic(DIV_ZERO, SIGFPE, "SIGFPE", true, NULL, NULL);
#endif
}
END_TEST

/* ---- stack overflow on the alternate stack ------------------------------------ */

struct ovf {
	char *path;
	long k;
};

static void *overflow_thread(void *arg)
{
	struct ovf *o = arg;
	jlog_logger *lg = child_open(o->path, NULL, 0);
	prctl(PR_SET_NAME, "deep");
	/* The first log call gives this thread its alternate stack. */
	log_seq(lg, 0, 0, o->k);
	overflow(0);
	return NULL;
}

static void overflow_child(void *arg)
{
	struct ovf *o = arg;
	child_setup("crash-main");
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	if (o->k < 0) {
		/* On the main thread, which got its stack from the install. */
		o->k = -o->k;
		jlog_logger *lg = child_open(o->path, NULL, 0);
		log_seq(lg, 0, 0, o->k);
		overflow(0);
	}
	pthread_t t;
	pthread_create(&t, NULL, overflow_thread, o);
	pthread_join(t, NULL);
}

static void run_overflow(bool main_thread)
{
	struct ovf o = {tc_tmppath("log.jsonl"), (long)tc_scale(5000, 500)};
	long k = o.k;
	if (main_thread)
		o.k = -o.k;
	assert_killed_by(run_child(overflow_child, &o), SIGSEGV);
	struct expect e;
	expect_init(&e, SIGSEGV, "SIGSEGV");
	e.fault = true;
	e.exact[0] = k;
	e.thread_name = main_thread ? "crash-main" : "deep";
	json_t *crash = check_log(o.path, &e);
	/* The innermost frames are the recursion's, all alike. */
	json_t *stack = json_object_get(crash, "stack");
	ck_assert_int_ge(json_array_size(stack), 8);
	ck_assert_str_eq(json_string_value(json_array_get(stack, 2)),
	                 json_string_value(json_array_get(stack, 3)));
	json_decref(crash);
	free(o.path);
}

START_TEST(test_stack_overflow)
{
	SKIP_UNDER_VALGRIND();
	run_overflow(true);
	run_overflow(false);
}
END_TEST

/* ---- a producer crashes while another thread floods ---------------------------- */

struct flood {
	char *path;
	long k;
	jlog_logger *lg;
	_Atomic long done; /* records the flooding thread has logged */
};

static void *flood_thread(void *arg)
{
	struct flood *f = arg;
	for (long i = 0;; i++) {
		log_seq(f->lg, 1, i, i + 1);
		atomic_store_explicit(&f->done, i + 1, memory_order_release);
	}
	return NULL;
}

static void *producer_thread(void *arg)
{
	struct flood *f = arg;
	prctl(PR_SET_NAME, "producer");
	log_seq(f->lg, 0, 0, f->k);
	/* Every record the flood had committed before this one must be
	 * written too. */
	log_mark(f->lg, 1, atomic_load_explicit(&f->done, memory_order_acquire));
	crash_null();
	return NULL;
}

static void flood_child(void *arg)
{
	struct flood *f = arg;
	child_setup("crash-main");
	f->lg = child_open(f->path, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	pthread_t t1, t2;
	pthread_create(&t1, NULL, flood_thread, f);
	while (atomic_load_explicit(&f->done, memory_order_acquire) < 1000)
		sched_yield();
	pthread_create(&t2, NULL, producer_thread, f);
	pthread_join(t2, NULL);
}

START_TEST(test_producer_crash_during_flood)
{
	SKIP_UNDER_VALGRIND();
	struct flood f = {.path = tc_tmppath("log.jsonl"), .k = (long)tc_scale(20000, 1000)};
	assert_killed_by(run_child(flood_child, &f), SIGSEGV);
	struct expect e;
	expect_init(&e, SIGSEGV, "SIGSEGV");
	e.fault = true;
	e.address = "0x0";
	e.thread_name = "producer";
	e.exact[0] = f.k;
	e.at_least[1] = 1000;
	json_decref(check_log(f.path, &e));
	free(f.path);
}
END_TEST

/* ---- a crash while the writer is busy ------------------------------------------- */

struct busy {
	char *path;
	long n;
};

/* Big records as fast as the ring takes them (it fills: the writer is
 * in the middle of a batch), then crash at once, without a flush. */
static void busy_child(void *arg)
{
	struct busy *b = arg;
	child_setup("crash-main");
	jlog_logger *lg = child_open(b->path, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	char big[1024];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (long i = 0; i < b->n; i++)
		JLOG_INFO(lg, "rec", JLOG_INT("t", 0), JLOG_INT("seq", i), JLOG_STR("big", big),
		          JLOG_DOUBLE("d", i * 0.25), JLOG_STR("esc", "tab\there \"quoted\"\n"));
	crash_null();
}

START_TEST(test_writer_busy)
{
	SKIP_UNDER_VALGRIND();
	struct busy b = {tc_tmppath("log.jsonl"), (long)tc_scale(50000, 2000)};
	assert_killed_by(run_child(busy_child, &b), SIGSEGV);
	struct expect e;
	expect_init(&e, SIGSEGV, "SIGSEGV");
	e.fault = true;
	e.exact[0] = b.n;
	json_decref(check_log(b.path, &e));
	free(b.path);
}
END_TEST

/* ---- the writer itself crashes ----------------------------------------------------- */

/*
 * The sink's formatter is replaced by one that faults on the record
 * "boom", once the main thread has logged everything: the writer crashes
 * in the middle of a batch with lines formatted but not written. The
 * handler, on the writer thread, resumes from the last write; formatting
 * "boom" faults again and that record is skipped.
 */
static jlog__format_fn real_format;
static _Atomic int boom_go;

static void boom_format(const struct jlog_sink *s, struct jlog__buf *b,
                        const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	if (v->msg_len == 4 && memcmp(v->msg, "boom", 4) == 0) {
		while (!atomic_load(&boom_go))
			sched_yield();
		crash_null();
	}
	real_format(s, b, v, ctx);
}

struct wcrash {
	char *path;
	long k, m;
};

/* Install the handler, make sink 0 fault on "boom", log k records,
 * "boom", m more, then let the writer reach "boom". */
static __attribute__((noreturn)) void boom_run(jlog_logger *lg, const struct wcrash *w)
{
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	real_format = jlog__first_sink(lg->core)->format;
	jlog__first_sink(lg->core)->format = boom_format;
	log_seq(lg, 0, 0, w->k);
	JLOG_INFO(lg, "boom");
	log_seq(lg, 0, w->k, w->k + w->m);
	atomic_store(&boom_go, 1);
	for (;;)
		pause();
}

/* What a log shows after the writer crashed on "boom" with @records
 * records (boom_run()). */
static void expect_writer_crash(struct expect *e, long records)
{
	expect_init(e, SIGSEGV, "SIGSEGV");
	e->fault = true;
	e->address = "0x0";
	e->thread_name = "jlog-writer";
	e->exact[0] = records;
}

static void writer_crash_child(void *arg)
{
	struct wcrash *w = arg;
	child_setup("crash-main");
	jlog_logger *lg = child_open(w->path, NULL, 0);
	boom_run(lg, w);
}

START_TEST(test_writer_crash)
{
	SKIP_UNDER_VALGRIND();
	SKIP_UNDER_TSAN();
	struct wcrash w = {tc_tmppath("log.jsonl"), (long)tc_scale(3000, 300),
	                   (long)tc_scale(1000, 100)};
	assert_killed_by(run_child(writer_crash_child, &w), SIGSEGV);
	struct expect e;
	expect_writer_crash(&e, w.k + w.m);
	json_decref(check_log(w.path, &e));
	free(w.path);
}
END_TEST


/*
 * The same with three sinks: the handler resumes each sink that writes to
 * a descriptor from the last write (JSON for the first two, text for the
 * third); the second skips "boom" with its filter, so only sink 0 faults.
 */
static bool not_boom(const jlog_record_info *r, void *user)
{
	(void)user;
	return !(r->message_len == 4 && memcmp(r->message, "boom", 4) == 0);
}

struct wcrash3 {
	struct wcrash w;
	char *json2, *text;
};

static void writer_crash_sinks_child(void *arg)
{
	struct wcrash3 *w3 = arg;
	struct wcrash *w = &w3->w;
	child_setup("crash-main");
	jlog_logger *lg = child_open(w->path, NULL, 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = w3->json2;
	so.filter_fn = not_boom;
	if (jlog_add_sink(lg, &so) != 1)
		_exit(82);
	so.sink = w3->text;
	so.filter_fn = NULL;
	so.serialize = false;
	so.format = "{level} {message}";
	if (jlog_add_sink(lg, &so) != 2)
		_exit(83);
	boom_run(lg, w);
}

START_TEST(test_writer_crash_three_sinks)
{
	SKIP_UNDER_VALGRIND();
	SKIP_UNDER_TSAN();
	struct wcrash3 w3 = {{tc_tmppath("log.jsonl"), (long)tc_scale(3000, 300),
	                      (long)tc_scale(1000, 100)},
	                     tc_tmppath("log2.jsonl"), tc_tmppath("log.txt")};
	assert_killed_by(run_child(writer_crash_sinks_child, &w3), SIGSEGV);
	struct expect e;
	expect_writer_crash(&e, w3.w.k + w3.w.m);
	json_decref(check_log(w3.w.path, &e));
	json_decref(check_log(w3.json2, &e));

	/* The text sink: every record, "boom" included, then the crash. */
	char *text = tc_slurp(w3.text, NULL);
	long recs = 0, booms = 0;
	char *last = NULL;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strcmp(line, "INFO rec") == 0 || strncmp(line, "INFO rec ", 9) == 0)
			recs++;
		else if (strcmp(line, "INFO boom") == 0)
			booms++;
		last = line;
	}
	ck_assert_int_eq(recs, w3.w.k + w3.w.m);
	ck_assert_int_eq(booms, 1);
	ck_assert_ptr_nonnull(last);
	ck_assert_msg(strncmp(last, "CRITICAL fatal signal", 21) == 0, "last line: %s", last);
	free(text);
	free(w3.w.path);
	free(w3.json2);
	free(w3.text);
}
END_TEST

/*
 * A callback sink next to a file: the handler, on the crashed writer,
 * cannot call the application's function from a signal handler. The file
 * still gets every record and the crash; stderr says the callback was
 * skipped, naming it.
 */
static void discard(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	(void)user;
}

struct wcrash_cb {
	struct wcrash w;
	char *err;
};

/* In the child: stderr into wc->err, a logger on wc->w.path, and a
 * callback sink (id 1) writing with @write. */
static jlog_logger *callback_child_open(struct wcrash_cb *wc,
                                        void (*write)(const char *, size_t, void *))
{
	child_setup("crash-main");
	int fd = open(wc->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(84);
	jlog_logger *lg = child_open(wc->w.path, NULL, 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = write;
	if (jlog_add_sink(lg, &so) != 1)
		_exit(85);
	return lg;
}

static void writer_crash_callback_child(void *arg)
{
	struct wcrash_cb *wc = arg;
	boom_run(callback_child_open(wc, discard), &wc->w);
}

START_TEST(test_writer_crash_callback_sink)
{
	SKIP_UNDER_VALGRIND();
	SKIP_UNDER_TSAN();
	struct wcrash_cb wc = {{tc_tmppath("log.jsonl"), (long)tc_scale(300, 30),
	                        (long)tc_scale(100, 10)},
	                       tc_tmppath("stderr.txt")};
	assert_killed_by(run_child(writer_crash_callback_child, &wc), SIGSEGV);
	struct expect e;
	expect_writer_crash(&e, wc.w.k + wc.w.m);
	json_decref(check_log(wc.w.path, &e));
	char *err = tc_slurp(wc.err, NULL);
	ck_assert_msg(strstr(err, "jlog: crash: sink 1 (callback) cannot be written from a "
	                          "signal handler") != NULL, "stderr: %s", err);
	free(err);
	free(wc.w.path);
	free(wc.err);
}
END_TEST

/*
 * A callback sink after a file sink that faults in its write, on the line
 * of record K: the writer had already handed the file its lines of that
 * write. The handler resumes the file from there, not from the write
 * before, so every record is in it exactly once, in order (check_log()).
 */
#define FAULT_SEQ 200
static void fault_on_seq(const char *line, size_t len, void *user)
{
	(void)user;
	char mark[32];
	int n = snprintf(mark, sizeof(mark), "\"seq\":%d,", FAULT_SEQ);
	if (memmem(line, len, mark, (size_t)n)) {
		while (!atomic_load(&boom_go))
			sched_yield();
		crash_null();
	}
}

static void writer_crash_in_write_child(void *arg)
{
	struct wcrash_cb *wc = arg;
	jlog_logger *lg = callback_child_open(wc, fault_on_seq);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	log_seq(lg, 0, 0, wc->w.k);
	atomic_store(&boom_go, 1);
	for (;;)
		pause();
}

START_TEST(test_writer_crash_in_later_sink_write)
{
	SKIP_UNDER_VALGRIND();
	SKIP_UNDER_TSAN();
	struct wcrash_cb wc = {{tc_tmppath("log.jsonl"), FAULT_SEQ + 300, 0},
	                       tc_tmppath("stderr.txt")};
	assert_killed_by(run_child(writer_crash_in_write_child, &wc), SIGSEGV);
	struct expect e;
	expect_writer_crash(&e, wc.w.k);
	json_decref(check_log(wc.w.path, &e));
	free(wc.w.path);
	free(wc.err);
}
END_TEST

/*
 * Network and journald sinks next to a file: a child logs to a file and to
 * tcp://, udp://, unix:, unixgram: and journald listeners of the parent's,
 * then crashes in a producer (the writer answers: its last flush sends
 * what the sockets take) or in the writer (the handler sends each line
 * with the transport's crash write: one whole frame per send on a
 * connection that is up and has no frame half-sent, else nothing). The
 * listeners see whole frames only, in order, none twice, ending with the
 * crash record; the file gets every record and the crash record.
 */
enum { NS_TCP, NS_UDP, NS_UNIX, NS_UNIXGRAM, NS_JOURNALD, NS_N };

struct net_crash {
	bool writer; /* crash in the writer (boom_run), else in a producer */
	struct wcrash w;
	char sinks[NS_N][160];
	char paths[3][108]; /* unix, unixgram, journald socket files */
	int fds[NS_N];      /* listeners (stream) or bound sockets */
};

static void net_crash_child(void *arg)
{
	struct net_crash *nc = arg;
	child_setup("crash-main");
	jlog_logger *lg = child_open(nc->w.path, NULL, 0);
	for (int i = 0; i < NS_N; i++) {
		jlog_sink_options so;
		jlog_sink_options_init(&so);
		char opts[200];
		if (i == NS_JOURNALD) {
			so.sink = "journald";
			snprintf(opts, sizeof(opts), "{\"socket\":\"%s\"}", nc->paths[2]);
			so.options = opts;
		} else {
			so.sink = nc->sinks[i];
		}
		if (jlog_add_sink(lg, &so) != i + 1)
			_exit(86);
	}
	if (nc->writer)
		boom_run(lg, &nc->w);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	log_seq(lg, 0, 0, nc->w.k);
	crash_null();
}

static int net_listener(int family, int type, const char *path, char *sink, size_t cap,
                        const char *scheme)
{
	int s = socket(family, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	int big = 8 << 20;
	/* Root may go past rmem_max: the datagrams of a run all fit. */
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (family == AF_INET) {
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
		socklen_t l = sizeof(a);
		getsockname(s, (struct sockaddr *)&a, &l);
		snprintf(sink, cap, "%s://127.0.0.1:%d", scheme, ntohs(a.sin_port));
	} else {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		unlink(path);
		ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
		snprintf(sink, cap, "%s:%s", scheme, path);
	}
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(s, 4), 0);
	return s;
}

/* A datagram socket read while the child runs (a unix one queues only
 * net.unix.max_dgram_qlen datagrams unread); lines gets each datagram,
 * or a journald entry's MESSAGE. */
struct dgram_reader {
	int fd;
	bool journald;
	_Atomic bool stop;
	/* Set by the reader once it runs: the fork waits for it, since a
	 * thread still starting (its allocations, under ASan the
	 * allocator's lock) while another forks leaves that lock held in
	 * the child for good. */
	_Atomic bool ready;
	char **lines;
	size_t n, cap;
	int torn;
};

static void *dgram_main(void *arg)
{
	struct dgram_reader *d = arg;
	static _Thread_local char buf[70000];
	atomic_store(&d->ready, true);
	for (;;) {
		struct pollfd pf = {.fd = d->fd, .events = POLLIN};
		if (poll(&pf, 1, 20) == 0) {
			if (atomic_load(&d->stop))
				return NULL;
			continue;
		}
		ssize_t r = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r <= 0)
			continue;
		if (d->n == d->cap)
			d->lines = realloc(d->lines, (d->cap = d->cap ? d->cap * 2 : 256) *
			                                     sizeof(*d->lines));
		if (!d->journald) {
			/* One record per datagram, parsed whole later: a cut
			 * one would not parse. */
			d->lines[d->n++] = strndup(buf, (size_t)r);
			continue;
		}
		/* A native entry: its MESSAGE is the record's message (the
		 * writer's entries) or the whole JSON line (the crash write's). */
		char *m = memmem(buf, (size_t)r, "MESSAGE=", 8);
		if (buf[r - 1] != '\n' || !memmem(buf, (size_t)r, "\nPRIORITY=", 10) || !m) {
			d->torn++;
			continue;
		}
		m += 8;
		char *end = memchr(m, '\n', (size_t)(buf + r - m));
		d->lines[d->n++] = strndup(m, (size_t)(end - m));
	}
}

/* Everything a stream listener got: the child's one connection to EOF. */
static char *stream_take(int ls, size_t *len)
{
	int c = accept(ls, NULL, NULL);
	ck_assert_int_ge(c, 0);
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (n == cap)
			b = realloc(b, cap *= 2);
		ssize_t r = read(c, b + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(c);
	*len = n;
	return b;
}

/* The records a listener saw, in order: seq of each "rec" must follow
 * the one before (gaps allowed: frames the engine held when the writer
 * died), no other line but a last "fatal signal". Returns the number of
 * records; *crash whether the crash record came last. */
static long check_net_lines(const char *what, char **lines, size_t n, bool *crash)
{
	long recs = 0, last = -1;
	*crash = false;
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_loads(lines[i], 0, NULL);
		ck_assert_msg(j != NULL, "%s: line %zu is not JSON: %.80s", what, i + 1, lines[i]);
		const char *msg = str_of(j, "message");
		ck_assert_msg(!*crash, "%s: a line after the crash record", what);
		if (strcmp(msg, "fatal signal") == 0) {
			*crash = true;
			ck_assert_str_eq(str_of(j, "signal"), "SIGSEGV");
		} else if (strcmp(msg, "rec") == 0) {
			long seq = (long)int_of(j, "seq");
			ck_assert_msg(seq > last, "%s: record %ld after %ld", what, seq, last);
			last = seq;
			recs++;
		} else {
			ck_assert_msg(strcmp(msg, "boom") == 0, "%s: unexpected \"%s\"", what, msg);
		}
		json_decref(j);
	}
	return recs;
}

static void run_net_crash(bool writer)
{
	struct net_crash nc = {.writer = writer,
	                       .w = {tc_tmppath("log.jsonl"), (long)tc_scale(300, 30),
	                             (long)tc_scale(100, 10)}};
	for (int i = 0; i < 3; i++)
		snprintf(nc.paths[i], sizeof(nc.paths[i]), "/tmp/jlog-crash-%d-%d.sock",
		         (int)getpid(), i);
	nc.fds[NS_TCP] = net_listener(AF_INET, SOCK_STREAM, NULL, nc.sinks[NS_TCP], 160, "tcp");
	nc.fds[NS_UDP] = net_listener(AF_INET, SOCK_DGRAM, NULL, nc.sinks[NS_UDP], 160, "udp");
	nc.fds[NS_UNIX] = net_listener(AF_UNIX, SOCK_STREAM, nc.paths[0], nc.sinks[NS_UNIX], 160,
	                               "unix");
	nc.fds[NS_UNIXGRAM] = net_listener(AF_UNIX, SOCK_DGRAM, nc.paths[1],
	                                   nc.sinks[NS_UNIXGRAM], 160, "unixgram");
	nc.fds[NS_JOURNALD] = net_listener(AF_UNIX, SOCK_DGRAM, nc.paths[2],
	                                   nc.sinks[NS_JOURNALD], 160, "unixgram");
	struct dgram_reader rd[NS_N] = {{0}};
	pthread_t th[NS_N];
	for (int i = NS_UDP; i <= NS_JOURNALD; i++) {
		if (i == NS_UNIX)
			continue;
		rd[i].fd = nc.fds[i];
		rd[i].journald = i == NS_JOURNALD;
		ck_assert_int_eq(pthread_create(&th[i], NULL, dgram_main, &rd[i]), 0);
	}
	for (int i = 0; i < NS_N; i++)
		while (i != NS_TCP && i != NS_UNIX && !atomic_load(&rd[i].ready))
			sched_yield();
	assert_killed_by(run_child(net_crash_child, &nc), SIGSEGV);
	long all = writer ? nc.w.k + nc.w.m : nc.w.k;
	struct expect e;
	if (writer) {
		expect_writer_crash(&e, all);
	} else {
		expect_init(&e, SIGSEGV, "SIGSEGV");
		e.fault = true;
		e.exact[0] = all;
	}
	json_decref(check_log(nc.w.path, &e));

	for (int i = 0; i < NS_N; i++) {
		char **lines = NULL;
		size_t n = 0, cap = 0;
		if (i == NS_TCP || i == NS_UNIX) {
			size_t len;
			char *data = stream_take(nc.fds[i], &len);
			ck_assert_msg(len > 0 && data[len - 1] == '\n', "%s: %zu bytes, last frame torn",
			              nc.sinks[i], len);
			for (char *p = data; p < data + len;) {
				char *nl = memchr(p, '\n', (size_t)(data + len - p));
				if (n == cap)
					lines = realloc(lines, (cap = cap ? cap * 2 : 256) * sizeof(*lines));
				lines[n++] = strndup(p, (size_t)(nl - p));
				p = nl + 1;
			}
			free(data);
		} else {
			struct dgram_reader *d = &rd[i];
			atomic_store(&d->stop, true);
			pthread_join(th[i], NULL);
			ck_assert_msg(d->torn == 0, "journald: %d torn entries", d->torn);
			lines = d->lines;
			n = d->n;
		}
		close(nc.fds[i]);
		bool crash;
		long recs;
		if (i == NS_JOURNALD) {
			recs = 0;
			crash = n > 0 && strstr(lines[n - 1], "fatal signal") != NULL;
			for (size_t k = 0; k < n; k++)
				recs += strcmp(lines[k], "rec") == 0 ||
				        strstr(lines[k], "\"message\":\"rec\"") != NULL;
		} else {
			recs = check_net_lines(nc.sinks[i], lines, n, &crash);
		}
		printf("net crash (%s): %s got %ld of %ld records, crash record %s\n",
		       writer ? "writer" : "producer", i == NS_JOURNALD ? "journald" : nc.sinks[i],
		       recs, all, crash ? "yes" : "no");
		fflush(stdout);
		/* Each connection was up and idle: the crash record went. */
		ck_assert_msg(crash, "%s: no crash record", nc.sinks[i]);
		ck_assert_int_le(recs, all);
		if (!writer)
			ck_assert_int_eq(recs, all);
		for (size_t k = 0; k < n; k++)
			free(lines[k]);
		free(lines);
	}
	for (int i = 0; i < 3; i++)
		unlink(nc.paths[i]);
	free(nc.w.path);
}

START_TEST(test_net_sinks_producer_crash)
{
	SKIP_UNDER_VALGRIND();
	run_net_crash(false);
}
END_TEST

START_TEST(test_net_sinks_writer_crash)
{
	SKIP_UNDER_VALGRIND();
	SKIP_UNDER_TSAN();
	run_net_crash(true);
}
END_TEST

/*
 * The handler hangs: the writer crashes formatting "hang", and when the
 * handler formats it again (on the writer thread) it never returns. The
 * watchdog still kills the process, of the original signal, in about ten
 * seconds.
 */
static _Atomic int hang_seen;

static void hang_format(const struct jlog_sink *s, struct jlog__buf *b,
                        const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	if (v->msg_len == 4 && memcmp(v->msg, "hang", 4) == 0) {
		if (atomic_fetch_add(&hang_seen, 1) == 0)
			crash_null();
		for (;;)
			pause();
	}
	real_format(s, b, v, ctx);
}

static void hang_child(void *arg)
{
	struct wcrash *w = arg;
	child_setup("crash-main");
	jlog_logger *lg = child_open(w->path, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	real_format = jlog__first_sink(lg->core)->format;
	jlog__first_sink(lg->core)->format = hang_format;
	log_seq(lg, 0, 0, w->k);
	JLOG_INFO(lg, "hang");
	for (;;)
		pause();
}

START_TEST(test_watchdog)
{
	SKIP_UNDER_VALGRIND();
	SKIP_UNDER_TSAN();
	struct wcrash w = {tc_tmppath("log.jsonl"), 100, 0};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_killed_by(run_child(hang_child, &w), SIGSEGV);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(s > 9 && s < 60, "died after %.1f s", s);
	/* What was written is whole lines. */
	size_t n;
	json_t **lines = tc_parse_file(w.path, &n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(str_of(lines[i], "message"), "rec");
	tc_free_lines(lines, n);
	free(w.path);
}
END_TEST

/*
 * The writer does not answer: its formatter blocks (once) on "stuck". The
 * handler gives up on it after a second without progress and writes from
 * the writer's last write itself, on the crashing thread. With a broken
 * pipe for a sink, the SIGPIPE its write raises must not replace the
 * crash signal.
 */
static _Atomic int stuck_seen;

static void stuck_format(const struct jlog_sink *s, struct jlog__buf *b,
                        const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	if (v->msg_len == 5 && memcmp(v->msg, "stuck", 5) == 0 &&
	    atomic_fetch_add(&stuck_seen, 1) == 0) {
		for (;;)
			pause();
	}
	real_format(s, b, v, ctx);
}

static void stuck_child(void *arg)
{
	struct wcrash *w = arg;
	child_setup("crash-main");
	if (!w->path) {
		int p[2];
		if (pipe(p) != 0 || dup2(p[1], STDOUT_FILENO) < 0)
			_exit(82);
		close(p[0]);
		close(p[1]);
	}
	jlog_logger *lg = child_open(w->path ? w->path : "stdout", NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	real_format = jlog__first_sink(lg->core)->format;
	jlog__first_sink(lg->core)->format = stuck_format;
	log_seq(lg, 0, 0, w->k);
	JLOG_INFO(lg, "stuck");
	log_seq(lg, 0, w->k, w->k + w->m);
	while (!atomic_load(&stuck_seen))
		sched_yield();
	crash_null();
}

START_TEST(test_writer_unresponsive)
{
	SKIP_UNDER_VALGRIND();
	struct wcrash w = {tc_tmppath("log.jsonl"), (long)tc_scale(3000, 300),
	                   (long)tc_scale(1000, 100)};
	assert_killed_by(run_child(stuck_child, &w), SIGSEGV);
	struct expect e;
	expect_init(&e, SIGSEGV, "SIGSEGV");
	e.fault = true;
	e.address = "0x0";
	e.thread_name = "crash-main";
	e.exact[0] = w.k + w.m;
	e.stuck_ok = true;
	json_decref(check_log(w.path, &e));
	free(w.path);

	struct wcrash p = {NULL, 100, 100};
	assert_killed_by(run_child(stuck_child, &p), SIGSEGV);
}
END_TEST

/* ---- two threads crash at once; a crash in a forked child ---------------------------- */

static pthread_barrier_t both;

static void *crash_together(void *arg)
{
	struct range *r = arg;
	log_seq(r->lg, r->t, r->from, r->to);
	pthread_barrier_wait(&both);
	crash_null();
	return NULL;
}

static void two_child(void *arg)
{
	const char *path = arg;
	child_setup("crash-main");
	jlog_logger *lg = child_open(path, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	pthread_barrier_init(&both, NULL, 2);
	struct range r1 = {lg, 1, 0, 1000}, r2 = {lg, 2, 0, 1000};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, crash_together, &r1);
	pthread_create(&t2, NULL, crash_together, &r2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
}

START_TEST(test_two_threads_crash)
{
	SKIP_UNDER_VALGRIND();
	char *path = tc_tmppath("log.jsonl");
	assert_killed_by(run_child(two_child, path), SIGSEGV);
	struct expect e;
	expect_init(&e, SIGSEGV, "SIGSEGV");
	e.fault = true;
	e.address = "0x0";
	e.exact[1] = e.exact[2] = 1000;
	/* One crash record: check_log refuses two. */
	json_decref(check_log(path, &e));
	free(path);
}
END_TEST

/* The parent logs, then forks; the child logs and crashes; the parent
 * reports how its child died through its own exit status. */
static void fork_child_crash(void *arg)
{
	const char *path = arg;
	child_setup("crash-main");
	jlog_logger *lg = child_open(path, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	log_seq(lg, 0, 0, 1000);
	jlog_flush(lg);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "forked");
		log_seq(lg, 1, 0, 2000);
		crash_null();
		_exit(99);
	}
	int status;
	waitpid(pid, &status, 0);
	_exit(WIFSIGNALED(status) ? 100 + WTERMSIG(status) : 50);
}

START_TEST(test_forked_child_crash)
{
	SKIP_UNDER_VALGRIND();
	char *path = tc_tmppath("log.jsonl");
	int status = run_child(fork_child_crash, path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 100 + SIGSEGV,
	              "status %#x", status);
	struct expect e;
	expect_init(&e, SIGSEGV, "SIGSEGV");
	e.fault = true;
	e.thread_name = "forked";
	e.exact[0] = 1000;
	e.exact[1] = 2000;
	json_decref(check_log(path, &e));
	free(path);
}
END_TEST

/* ---- chaining ----------------------------------------------------------------------- */

static char marker_path[512];

/* A user handler: note what it got, then let the signal kill the
 * process (default action, returning to re-run the fault). */
static void user_handler(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "user signo=%d code=%d addr=%p\n", sig, info->si_code,
	                 info->si_addr);
	int fd = open(marker_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		(void)!write(fd, buf, (size_t)n);
		close(fd);
	}
	signal(sig, SIG_DFL);
	if (info->si_code <= 0)
		raise(sig);
}

struct chained {
	char *path;
	int sig;
	long k;
};

static void chain_child(void *arg)
{
	struct chained *c = arg;
	child_setup("crash-main");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = user_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(c->sig, &sa, NULL);
	jlog_logger *lg = child_open(c->path, NULL, 0);
	if (jlog_install_crash_handler() != 0 || jlog_install_crash_handler() != 0)
		_exit(81);
	log_seq(lg, 0, 0, c->k);
	if (c->sig == SIGSEGV)
		crash_null();
	else
		abort();
}

static void run_chain(int sig, const char *name, const char *want)
{
	struct chained c = {tc_tmppath("log.jsonl"), sig, (long)tc_scale(2000, 200)};
	snprintf(marker_path, sizeof(marker_path), "%s.marker", c.path);
	assert_killed_by(run_child(chain_child, &c), sig);
	struct expect e;
	expect_init(&e, sig, name);
	e.fault = sig == SIGSEGV;
	e.exact[0] = c.k;
	json_decref(check_log(c.path, &e));
	/* The user's handler ran once, with the original siginfo. */
	char *m = tc_slurp(marker_path, NULL);
	ck_assert_msg(strstr(m, want) != NULL, "marker: %s", m);
	ck_assert_ptr_null(strstr(strstr(m, "user") + 1, "user"));
	free(m);
	free(c.path);
}

START_TEST(test_chains_to_previous_handler)
{
	SKIP_UNDER_VALGRIND();
	char want[64];
	snprintf(want, sizeof(want), "user signo=%d code=%d addr=(nil)", SIGSEGV, SEGV_MAPERR);
	run_chain(SIGSEGV, "SIGSEGV", want);
	snprintf(want, sizeof(want), "user signo=%d code=%d", SIGABRT, SI_TKILL);
	run_chain(SIGABRT, "SIGABRT", want);
}
END_TEST

/* ---- install and uninstall ---------------------------------------------------------- */

static bool is_default(int sig)
{
	struct sigaction cur;
	return sigaction(sig, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_handler == SIG_DFL;
}

static void *altstack_thread(void *arg)
{
	(void)arg;
	stack_t ss;
	if (jlog_crash_altstack_thread() != 0 || jlog_crash_altstack_thread() != 0)
		return (void *)1;
	if (sigaltstack(NULL, &ss) != 0 || (ss.ss_flags & SS_DISABLE) || ss.ss_size < 64 * 1024)
		return (void *)2;
	return NULL;
}

/* Exits 0, or with the number of the check that failed. */
static void install_child(void *arg)
{
	(void)arg;
	child_setup("crash-main");
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	struct sigaction first;
	if (jlog_install_crash_handler() != 0)
		_exit(1);
	if (sigaction(SIGSEGV, NULL, &first) != 0 || !(first.sa_flags & SA_SIGINFO) ||
	    !(first.sa_flags & SA_ONSTACK))
		_exit(2);
	for (size_t i = 0; i < 5; i++)
		if (is_default(sigs[i]))
			_exit(3);
	if (jlog_install_crash_handler() != 0)
		_exit(4);
	struct sigaction again;
	sigaction(SIGSEGV, NULL, &again);
	if (again.sa_sigaction != first.sa_sigaction)
		_exit(5);
	stack_t ss;
	if (sigaltstack(NULL, &ss) != 0 || (ss.ss_flags & SS_DISABLE) || ss.ss_size < 64 * 1024)
		_exit(6);
	if (jlog_uninstall_crash_handler() != 0 || jlog_uninstall_crash_handler() != 0)
		_exit(7);
	for (size_t i = 0; i < 5; i++)
		if (!is_default(sigs[i]))
			_exit(8);
	if (jlog_install_crash_handler() != 0)
		_exit(9);
	if (is_default(SIGSEGV))
		_exit(10);
	pthread_t t;
	void *r = (void *)3;
	pthread_create(&t, NULL, altstack_thread, NULL);
	pthread_join(t, &r);
	if (r != NULL)
		_exit(11);
	/* A handler installed over jlog's is left alone by uninstall. */
	signal(SIGBUS, SIG_IGN);
	if (jlog_uninstall_crash_handler() != 0)
		_exit(12);
	struct sigaction bus;
	sigaction(SIGBUS, NULL, &bus);
	if (bus.sa_handler != SIG_IGN || !is_default(SIGSEGV))
		_exit(13);
	_exit(0);
}

START_TEST(test_install_idempotent)
{
	int status = run_child(install_child, NULL);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "install check %d failed (status %#x)",
	              WIFEXITED(status) ? WEXITSTATUS(status) : -1, status);
}
END_TEST

/* A signal someone sends while the application ignores it is not a
 * crash: nothing is written and the process goes on. */
static void ignored_child(void *arg)
{
	const char *path = arg;
	child_setup("crash-main");
	signal(SIGBUS, SIG_IGN);
	jlog_logger *lg = child_open(path, NULL, 0);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	log_seq(lg, 0, 0, 10);
	raise(SIGBUS);
	log_seq(lg, 0, 10, 20);
	jlog_close(lg);
	_exit(0);
}

START_TEST(test_ignored_signal_is_not_a_crash)
{
	SKIP_UNDER_VALGRIND();
	char *path = tc_tmppath("log.jsonl");
	int status = run_child(ignored_child, path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 20);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(str_of(lines[i], "message"), "rec");
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("signals");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_null_deref);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_bus);
	tcase_add_test(tc, test_ill);
	tcase_add_test(tc, test_fpe);
	tcase_add_test(tc, test_stack_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_producer_crash_during_flood);
	tcase_add_test(tc, test_writer_busy);
	tcase_add_test(tc, test_writer_crash);
	tcase_add_test(tc, test_writer_crash_three_sinks);
	tcase_add_test(tc, test_writer_crash_callback_sink);
	tcase_add_test(tc, test_writer_crash_in_later_sink_write);
	tcase_add_test(tc, test_net_sinks_producer_crash);
	tcase_add_test(tc, test_net_sinks_writer_crash);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_writer_unresponsive);
	tcase_add_test(tc, test_two_threads_crash);
	tcase_add_test(tc, test_forked_child_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("install");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_chains_to_previous_handler);
	tcase_add_test(tc, test_install_idempotent);
	tcase_add_test(tc, test_ignored_signal_is_not_a_crash);
	suite_add_tcase(s, tc);
	return s;
}
