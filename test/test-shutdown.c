/*
 * Shutdown under load: jlog_close() of a root while its children log,
 * close and exit() with a sink whose reader stopped reading, and exit()
 * while other threads log to a file. Each record is accounted for, close
 * and exit end within their bound, and a file never ends with a cut line.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- close while children log (BLOCK, small ring) ------------------------- */

struct close_prod {
	jlog_logger *child;
	atomic_bool *go;
	int id;
};

static void *close_producer(void *arg)
{
	struct close_prod *p = arg;
	while (!atomic_load(p->go))
		;
	/* Until the close turns the child's level off; a call past the
	 * level check then is written or counted as dropped. */
	for (int i = 0; jlog_enabled(p->child, JLOG_LEVEL_INFO); i++)
		JLOG_INFO(p->child, "close under load", JLOG_INT("t", p->id), JLOG_INT("i", i),
		          JLOG_STR("pad", "0123456789abcdef0123456789abcdef0123456789abcdef"));
	return NULL;
}

#define CLOSE_THREADS 4

/* One round: 4 threads log through children (JLOG_WITH, jlog_named) of a
 * root with a 64 KiB ring while the root is closed. Returns the lines of
 * records the file holds, and *st the children's counters after close. */
static size_t close_round(jlog_stats *st, size_t *reports)
{
	char *path = tc_tmppath("close.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	o.queue_size = 64 << 10;
	jlog_logger *root;
	ck_assert_int_eq(jlog_open(&root, &o), 0);
	jlog_logger *ch[CLOSE_THREADS];
	for (int i = 0; i < CLOSE_THREADS; i++) {
		ch[i] = i % 2 ? jlog_named(root, "worker")
		              : JLOG_WITH(root, JLOG_INT("child", i));
		ck_assert_ptr_nonnull(ch[i]);
	}
	atomic_bool go = false;
	pthread_t th[CLOSE_THREADS];
	struct close_prod pr[CLOSE_THREADS];
	for (int i = 0; i < CLOSE_THREADS; i++) {
		pr[i] = (struct close_prod){ch[i], &go, i};
		ck_assert_int_eq(pthread_create(&th[i], NULL, close_producer, &pr[i]), 0);
	}
	atomic_store(&go, true);
	/* Let the ring fill several times, so producers wait for space
	 * when it closes. */
	jlog_stats now;
	do {
		struct timespec ts = {0, 1000000L};
		nanosleep(&ts, NULL);
		ck_assert_int_eq(jlog_get_stats(root, &now), 0);
	} while (now.logged < 2000);
	ck_assert_int_eq(jlog_close(root), 0);
	for (int i = 0; i < CLOSE_THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(jlog_get_stats(ch[0], st), 0);
	for (int i = 0; i < CLOSE_THREADS; i++)
		jlog_close(ch[i]);

	size_t n, records = 0;
	json_t **lines = tc_parse_file(path, &n);
	*reports = 0;
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		TC_CHECK(m != NULL);
		if (strcmp(m, "records dropped") == 0)
			(*reports)++;
		else
			records++;
	}
	tc_free_lines(lines, n);
	unlink(path);
	free(path);
	return records;
}

/* Every record accepted is written (or lost, counted); every call refused
 * once the ring is closed is counted in dropped. Before the fix a
 * producer woken by the writer's last drain committed after it and the
 * record was neither written nor counted (logged > written). */
START_TEST(test_close_accounts_every_record)
{
	unsigned long rounds = tc_scale(40, 3);
	for (unsigned long r = 0; r < rounds; r++) {
		jlog_stats st;
		size_t reports;
		size_t records = close_round(&st, &reports);
		ck_assert_msg(st.written == records + reports,
		              "round %lu: written %llu, file has %zu lines", r,
		              (unsigned long long)st.written, records + reports);
		ck_assert_msg(st.logged == records + st.lost,
		              "round %lu: logged %llu != written records %zu + lost %llu "
		              "(dropped %llu)", r, (unsigned long long)st.logged, records,
		              (unsigned long long)st.lost, (unsigned long long)st.dropped);
		ck_assert_uint_eq(st.lost, 0);
		ck_assert_uint_gt(st.logged, 0);
	}
}
END_TEST

/* ---- a reader that stopped reading ---------------------------------------- */

#define STALL_TIMEOUT_MS 300
/* The parent's bound on the child: far above close_timeout_ms plus the
 * second of grace, far below "forever". */
#define CHILD_BOUND_MS 20000

/* Wait for @pid at most CHILD_BOUND_MS; kill it if it is still running.
 * Returns its status, or -1 when it had to be killed. */
static int wait_bounded(pid_t pid)
{
	uint64_t until = now_ms() + CHILD_BOUND_MS;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		ck_assert_int_ge(r, 0);
		if (r == pid)
			return status;
		if (now_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* All a pipe holds now, NUL-terminated (the writer end is closed). */
static char *read_all(int fd)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	ssize_t r;
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
	}
	buf[n] = '\0';
	return buf;
}

/*
 * A child whose stdout is a pipe (or with @sock a stream socket) that
 * nobody reads: it logs 1 MB (the pipe takes 64 KiB), then closes the logger (@do_close) or calls exit().
 * After a close it checks the counters and says them on stderr. Returns
 * the child's stderr; *status its exit status, -1 when it did not end
 * within CHILD_BOUND_MS.
 */
static char *stalled_run(bool do_close, bool sock, int *status)
{
	int out[2], err[2];
	if (sock)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
	else
		ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		jlog_options o;
		jlog_options_init(&o);
		o.sink = "stdout";
		o.close_timeout_ms = STALL_TIMEOUT_MS;
		jlog_logger *lg, *ch;
		if (jlog_open(&lg, &o) != 0 || !(ch = jlog_named(lg, "kept")))
			_exit(3);
		for (int i = 0; i < 4000; i++)
			JLOG_INFO(lg, "into a stalled pipe", JLOG_INT("i", i),
			          JLOG_STR("pad", "0123456789abcdef0123456789abcdef0123456789abcdef"
			                          "0123456789abcdef0123456789abcdef0123456789abcdef"));
		if (!do_close)
			exit(0);
		jlog_close(lg);
		jlog_stats st;
		jlog_get_stats(ch, &st);
		fprintf(stderr, "stats logged=%llu written=%llu lost=%llu\n",
		        (unsigned long long)st.logged, (unsigned long long)st.written,
		        (unsigned long long)st.lost);
		jlog_close(ch);
		_exit(st.lost > 0 && st.logged == st.written + st.lost ? 0 : 4);
	}
	close(out[1]);
	close(err[1]);
	*status = wait_bounded(pid);
	char *text = read_all(err[0]);
	close(err[0]);
	close(out[0]); /* only now: the reader stayed, not reading */
	return text;
}

/* The count in "jlog: WHAT: N lines not written within close_timeout_ms",
 * which @text must hold once. */
static unsigned long long lines_not_written(const char *text, const char *what)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "jlog: %s: ", what);
	const char *p = strstr(text, prefix);
	ck_assert_msg(p != NULL, "no \"%s\" on stderr: %s", prefix, text);
	char *end;
	unsigned long long n = strtoull(p + strlen(prefix), &end, 10);
	static const char rest[] = " lines not written within close_timeout_ms";
	ck_assert_msg(strncmp(end, rest, sizeof(rest) - 1) == 0,
	              "stderr: %s", text);
	ck_assert_msg(strstr(end, prefix) == NULL, "said twice: %s", text);
	return n;
}

/* Run the stalled child and check that it ended in time, found its
 * counters right (after a close) and said once on stderr how many lines
 * were not written. */
static void check_stalled(bool do_close, bool sock)
{
	const char *what = do_close ? "close" : "exit";
	int status;
	char *text = stalled_run(do_close, sock, &status);
	ck_assert_msg(status != -1, "%s did not return within %d ms; stderr: %s", what,
	              CHILD_BOUND_MS, text);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "child status %d; stderr: %s", status, text);
	ck_assert_uint_gt(lines_not_written(text, what), 0);
	free(text);
}

/* Before the fix, close and exit() never returned: the writer sat in a
 * blocking write(2) to the full pipe and close joined it. */
START_TEST(test_stalled_pipe_close_returns)
{
	check_stalled(true, false);
}
END_TEST

/* The same with a socket (a log collector on a Unix socket). */
START_TEST(test_stalled_socket_close_returns)
{
	check_stalled(true, true);
}
END_TEST

START_TEST(test_stalled_pipe_exit_returns)
{
	check_stalled(false, false);
}
END_TEST

/* ---- exit() while other threads log to a file ----------------------------- */

static jlog_logger *exit_lg;

static void *exit_producer(void *arg)
{
	long t = (long)arg;
	for (int i = 0;; i++)
		JLOG_INFO(exit_lg, "logging through exit", JLOG_INT("t", t), JLOG_INT("i", i),
		          JLOG_STR("pad", "0123456789abcdef0123456789abcdef0123456789abcdef"));
	return NULL;
}

/* 3 threads log at full speed while a 4th calls exit(0). Before the fix,
 * about 1 run in 8 ended the file with a cut line (its length a multiple
 * of 4096): the process ended while the writer was inside a write(2) of
 * records logged after the exit handler's target. */
START_TEST(test_exit_leaves_whole_lines)
{
	unsigned long runs = tc_scale(48, 2), nonempty = 0;
	for (unsigned long r = 0; r < runs; r++) {
		char *path = tc_tmppath("exit.jsonl");
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			jlog_options o;
			jlog_options_init(&o);
			o.sink = path;
			if (jlog_open(&exit_lg, &o) != 0)
				_exit(3);
			pthread_t th[3];
			for (long t = 0; t < 3; t++)
				if (pthread_create(&th[t], NULL, exit_producer, (void *)t) != 0)
					_exit(3);
			struct timespec ts = {0, (long)(1 + r % 3) * 1000000L};
			nanosleep(&ts, NULL);
			exit(0);
		}
		int status = wait_bounded(pid);
		ck_assert_msg(status != -1, "run %lu: exit() did not return", r);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run %lu: status %d",
		              r, status);
		size_t len;
		char *text = tc_slurp(path, &len);
		/* Empty when exit() came before any thread logged. */
		ck_assert_msg(len == 0 || text[len - 1] == '\n',
		              "run %lu: the file (%zu bytes) ends with a cut line", r, len);
		/* Plain checks per line, one assertion at the end: a passing
		 * ck_assert costs a write to Check's pipe. */
		size_t n = 0, bad = 0;
		for (const char *p = text, *end = text + len; p < end; n++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
			if (!json_is_object(j) && !bad)
				bad = n + 1;
			json_decref(j);
			p = nl + 1;
		}
		ck_assert_msg(bad == 0, "run %lu: line %zu of %zu is not a JSON object", r, bad, n);
		nonempty += n > 0;
		free(text);
		unlink(path);
		free(path);
	}
	ck_assert_uint_ge(nonempty, runs / 2);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("close");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_close_accounts_every_record);
	tcase_add_test(tc, test_stalled_pipe_close_returns);
	tcase_add_test(tc, test_stalled_socket_close_returns);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stalled_pipe_exit_returns);
	tcase_add_test(tc, test_exit_leaves_whole_lines);
	suite_add_tcase(s, tc);
	return s;
}
