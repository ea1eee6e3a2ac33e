/*
 * The rotating file under the real logrotate(8), in both of its styles:
 * `create` (logrotate renames the file, a postrotate script sends SIGHUP,
 * whose handler calls jlog__rotate_reopen()) and `copytruncate`
 * (logrotate copies the file and truncates it; the size counter follows
 * and O_APPEND leaves no hole). Then the same through the logger, with 4
 * threads logging while logrotate runs, for a plain and a rotating file
 * sink (jlog_install_reopen_on_sighup() for `create`). A private state
 * file, so the system's is never touched. Skipped (77) when logrotate is
 * not installed.
 */
#include "jlog-private.h"
#include "rotate.h"
#include "test-common.h"
#include "test-files.h"

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS 1000000000ull

static const char *logrotate_bin(void)
{
	static const char *const where[] = {"/usr/sbin/logrotate", "/sbin/logrotate",
	                                    "/usr/bin/logrotate", "/usr/local/sbin/logrotate"};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

static void write_lines(struct jlog__rotate *rf, unsigned long from, unsigned long to)
{
	char line[256];
	for (unsigned long i = from; i < to; i++) {
		int n = snprintf(line, sizeof(line), "{\"seq\":%lu,\"msg\":\"line %lu\"}\n", i, i);
		size_t w;
		ck_assert_int_eq(jlog__rotate_write(rf, line, (size_t)n, &w), 0);
		ck_assert_uint_eq(w, (size_t)n);
	}
}

/* The seqs in @path are exactly from..to-1, in order. */
static void assert_seqs(const char *path, unsigned long from, unsigned long to)
{
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_msg(n == to - from, "%s: %zu lines, want %lu", path, n, to - from);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(l[i], "seq")),
		                 (json_int_t)(from + i));
	tc_free_lines(l, n);
}

/* Run logrotate -f -s STATE CONF on @path with @style's directives. */
static void run_logrotate(const char *path, const char *style)
{
	char *c = strdup(path);
	char *dir = dirname(c);
	char conf[512], state[512], cmd[2048];
	snprintf(conf, sizeof(conf), "%s/logrotate.conf", dir);
	snprintf(state, sizeof(state), "%s/logrotate.state", dir);
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s {\n\t%s\n\trotate 3\n\tmissingok\n", path, style);
	if (strcmp(style, "create") == 0)
		fprintf(f, "\tpostrotate\n\t\tkill -HUP %d\n\tendscript\n", (int)getpid());
	fprintf(f, "}\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s -f -s %s %s", logrotate_bin(), state, conf);
	int rc = system(cmd);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: status %d", cmd, rc);
	free(c);
}

static struct jlog__rotate *hup_target;
static void on_hup(int sig)
{
	(void)sig;
	jlog__rotate_reopen(hup_target);
}

START_TEST(logrotate_create)
{
	char *path = tc_tmppath("app.log");
	struct jlog__rotate_policy p = {.size = 1 << 20};
	struct jlog__rotate *rf = NULL;
	ck_assert_int_eq(jlog__rotate_open(&rf, path, 0644, false, &p), 0);
	hup_target = rf;
	struct sigaction sa = {.sa_handler = on_hup}, old;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGHUP, &sa, &old), 0);
	write_lines(rf, 0, 100);
	run_logrotate(path, "create");
	/* The signal arrived during system(); the next write reopens. */
	write_lines(rf, 100, 150);
	sigaction(SIGHUP, &old, NULL);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	ck_assert_uint_eq(st.reopens, 1);
	jlog__rotate_close(rf);
	char *rotated;
	ck_assert_int_ge(asprintf(&rotated, "%s.1", path), 0);
	assert_seqs(rotated, 0, 100);
	assert_seqs(path, 100, 150);
	free(rotated);
	free(path);
}
END_TEST

/* create without a signal: the inode check finds the new file. */
START_TEST(logrotate_create_no_signal)
{
	char *path = tc_tmppath("app.log");
	struct jlog__rotate_policy p = {0};
	struct jlog__rotate *rf = NULL;
	ck_assert_int_eq(jlog__rotate_open(&rf, path, 0644, false, &p), 0);
	uint64_t t = 5000 * NS;
	jlog__rotate_tick(rf, t);
	write_lines(rf, 0, 10);
	/* No postrotate script here: the same conf without it. */
	hup_target = rf;
	struct sigaction sa = {.sa_handler = SIG_IGN}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, &old);
	run_logrotate(path, "create");
	sigaction(SIGHUP, &old, NULL);
	jlog__rotate_tick(rf, t + 2 * NS);
	write_lines(rf, 10, 20);
	jlog__rotate_close(rf);
	char *rotated;
	ck_assert_int_ge(asprintf(&rotated, "%s.1", path), 0);
	assert_seqs(rotated, 0, 10);
	assert_seqs(path, 10, 20);
	free(rotated);
	free(path);
}
END_TEST

START_TEST(logrotate_copytruncate)
{
	char *path = tc_tmppath("app.log");
	/* A hundred lines are about 3 KB: a bound the old size counter
	 * would cross after the truncation, the new one not. */
	struct jlog__rotate_policy p = {.size = 4000};
	struct jlog__rotate *rf = NULL;
	ck_assert_int_eq(jlog__rotate_open(&rf, path, 0644, false, &p), 0);
	uint64_t t = 5000 * NS;
	jlog__rotate_tick(rf, t);
	write_lines(rf, 0, 100);
	run_logrotate(path, "copytruncate");
	jlog__rotate_tick(rf, t + 2 * NS);
	write_lines(rf, 100, 200);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	ck_assert_uint_eq(st.rotations, 0);
	jlog__rotate_close(rf);
	char *copy;
	ck_assert_int_ge(asprintf(&copy, "%s.1", path), 0);
	assert_seqs(copy, 0, 100);
	assert_seqs(path, 100, 200); /* from offset 0: no hole */
	free(copy);
	free(path);
}
END_TEST

/*
 * Through the logger: 4 threads log while logrotate rotates the sink's
 * file (_i bit 0: a rotating sink, else a plain one; bit 1: copytruncate,
 * else create with the SIGHUP hook). After it, lines reach the path again;
 * every line is in the rotated copy or the active file, once and whole.
 * copytruncate loses what is appended between logrotate's copy and its
 * truncation (logrotate(8) says so; no writer can prevent it): there, each
 * thread may miss one contiguous run of lines, and the copy's last line
 * may be cut (the copy was read while it was being appended).
 */
START_TEST(logger_under_logrotate)
{
	bool rotating = _i & 1, copytruncate = _i & 2;
	char *path = tc_tmppath("app.log");
	char doc[1024], err[512];
	snprintf(doc, sizeof(doc), "{\"queue_size\":1048576,\"sinks\":[{\"sink\":\"%s\"%s}]}",
	         path, rotating ? ",\"rotation\":\"1 GB\"" : "");
	jlog_logger *lg = NULL;
	ck_assert_msg(jlog_open_config_err(&lg, doc, err, sizeof(err)) == 0, "%s", err);
	if (!copytruncate)
		ck_assert_int_eq(jlog_install_reopen_on_sighup(lg), 0);
	atomic_bool stop = false;
	struct tc_writer w[4];
	tc_writers_start(w, 4, lg, 0, ULONG_MAX, &stop, 10);
	tc_wait_written(lg, 400);
	run_logrotate(path, copytruncate ? "copytruncate" : "create");
	/* create: the new empty file gets lines once the sink reopened it;
	 * copytruncate: the truncated file gets the next ones. */
	tc_wait_nonempty(path);
	jlog_stats st;
	jlog_get_stats(lg, &st);
	tc_wait_written(lg, st.written + 400);
	atomic_store(&stop, true);
	tc_writers_join(w, 4);
	ck_assert_int_eq(jlog_close(lg), 0);
	if (!copytruncate)
		ck_assert_int_eq(jlog_install_reopen_on_sighup(NULL), 0);

	char *rotated;
	ck_assert_int_ge(asprintf(&rotated, "%s.1", path), 0);
	struct tc_tally ty = {0};
	bool torn = tc_tally_file(&ty, rotated, copytruncate, NULL);
	unsigned long in_copy = ty.lines;
	(void)tc_tally_file(&ty, path, false, NULL);
	ck_assert_uint_gt(in_copy, 0);
	ck_assert_uint_gt(ty.lines, in_copy);
	unsigned long lost = 0;
	for (unsigned t = 0; t < 4; t++) {
		if (copytruncate)
			lost += tc_tally_expect_but_run(&ty, t, w[t].done);
		else
			tc_tally_expect(&ty, t, w[t].done);
	}
	if (copytruncate)
		fprintf(stderr, "%s sink, copytruncate: %lu lines, %lu lost in logrotate's "
		        "window%s\n", rotating ? "rotating" : "plain", ty.lines, lost,
		        torn ? ", the copy's last line cut" : "");
	tc_tally_free(&ty);
	free(rotated);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	if (!logrotate_bin()) {
		fprintf(stderr, "logrotate not installed: skipped\n");
		exit(TC_SKIP);
	}
	Suite *s = suite_create("logrotate");
	TCase *tc = tcase_create("logrotate");
	tcase_add_test(tc, logrotate_create);
	tcase_add_test(tc, logrotate_create_no_signal);
	tcase_add_test(tc, logrotate_copytruncate);
	tcase_add_loop_test(tc, logger_under_logrotate, 0, 4);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
