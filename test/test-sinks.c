/*
 * Several sinks per logger: jlog_add_sink()/jlog_remove_sink(), each sink
 * with its own level, filters, format (JSON presets, text with and without
 * colors), callbacks, isolation of a failing sink, catch_errors, and the
 * backtrace/diagnose fields of error records.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

/* A callback sink that keeps every line it gets. */
struct capture {
	pthread_mutex_t lock;
	char *text;
	size_t len, cap;
	size_t lines;
	bool bad_call; /* a call without exactly one '\n', at the end */
};

static void capture_init(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->text = calloc(1, 1);
	c->cap = 1;
}

static void capture_free(struct capture *c)
{
	free(c->text);
	pthread_mutex_destroy(&c->lock);
}

static void capture_write(const char *line, size_t len, void *user)
{
	struct capture *c = user;
	pthread_mutex_lock(&c->lock);
	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		c->bad_call = true;
	if (c->len + len + 1 > c->cap) {
		size_t cap = (c->len + len + 1) * 2;
		char *t = realloc(c->text, cap);
		ck_assert_ptr_nonnull(t);
		c->text = t;
		c->cap = cap;
	}
	memcpy(c->text + c->len, line, len);
	c->len += len;
	c->text[c->len] = '\0';
	c->lines++;
	pthread_mutex_unlock(&c->lock);
}

static jlog_logger *open_quiet(const char *path, int level)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	o.level = level;
	o.queue_size = 1 << 20;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	return lg;
}

static int add_text_sink(jlog_logger *lg, struct capture *c, const char *format, int colorize)
{
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_write;
	so.user = c;
	so.serialize = false;
	so.format = format;
	so.colorize = colorize;
	return jlog_add_sink(lg, &so);
}

START_TEST(test_options_defaults)
{
	jlog_sink_options so;
	memset(&so, 0x5a, sizeof(so));
	jlog_sink_options_init(&so);
	ck_assert_str_eq(so.sink, "stderr");
	ck_assert(so.serialize);
	ck_assert_int_eq(so.colorize, -1);
	ck_assert(so.catch_errors);
	ck_assert(!so.backtrace && !so.diagnose);
	ck_assert_int_eq(so.level, 0);
	ck_assert_ptr_null(so.write);
	ck_assert_ptr_null(so.filter);
	ck_assert_ptr_null(so.preset);
	ck_assert_ptr_null(so.format);
	ck_assert_uint_eq(so.file_mode, 0640);
	jlog_sink_options_init(NULL); /* no-op */
}
END_TEST

/* Each sink has its own level, format and schema; the JSON sinks parse. */
START_TEST(test_sinks_each_own_level_and_format)
{
	char *main_path = tc_tmppath("main.jsonl");
	char *ecs_path = tc_tmppath("ecs.jsonl");
	jlog_logger *lg = open_quiet(main_path, JLOG_LEVEL_DEBUG);
	jlog_logger *api = jlog_named(lg, "api");

	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = ecs_path;
	so.preset = "ecs";
	so.level = JLOG_LEVEL_WARNING;
	int ecs = jlog_add_sink(lg, &so);
	ck_assert_int_eq(ecs, 1); /* the jlog_options sink is 0 */

	struct capture text;
	capture_init(&text);
	int t = add_text_sink(lg, &text, "{level: <8}|{name}|{message}", 0);
	ck_assert_int_eq(t, 2);

	JLOG_DEBUG(api, "debug", JLOG_INT("n", 1));
	JLOG_WARNING(api, "warn", JLOG_STR("user", "ann"));
	JLOG_ERROR(lg, "error \"quoted\"");
	ck_assert_int_eq(jlog_flush(lg), 0);

	/* Sink 0: everything, default schema. */
	size_t n;
	json_t **l = tc_parse_file(main_path, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "level")), "DEBUG");
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "n")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "logger")), "api");
	tc_free_lines(l, n);

	/* The ECS sink: WARNING and above, ECS keys. */
	l = tc_parse_file(ecs_path, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(json_object_get(l[0], "@timestamp"));
	ck_assert_ptr_null(json_object_get(l[0], "time"));
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "log.level")), "warning");
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "message")), "warn");
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "log.level")), "error");
	tc_free_lines(l, n);

	/* The text sink: exact lines, one line per callback call. {name}
	 * of an unnamed logger is the module (the file's base name), as in
	 * loguru. */
	ck_assert_str_eq(text.text, "DEBUG   |api|debug n=1\n"
	                            "WARNING |api|warn user=ann\n"
	                            "ERROR   |test-sinks|error \"quoted\"\n");
	ck_assert(!text.bad_call);

	jlog_stats st;
	jlog_get_stats(lg, &st);
	/* Lines over all sinks: 3 + 2 + 3. */
	ck_assert_uint_eq(st.written, 8);
	ck_assert_uint_eq(st.lost, 0);

	jlog_close(api);
	ck_assert_int_eq(jlog_close(lg), 0);
	capture_free(&text);
	free(main_path);
	free(ecs_path);
}
END_TEST

/* Colors on and off, for the same template. */
START_TEST(test_text_colors_on_off)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture on, off, autoc;
	capture_init(&on);
	capture_init(&off);
	capture_init(&autoc);
	const char *fmt = "<green>{name}</green> <level>{level}</level> {message}";
	jlog_logger *db = jlog_named(lg, "db");
	unsetenv("FORCE_COLOR");
	unsetenv("NO_COLOR");
	ck_assert_int_ge(add_text_sink(lg, &on, fmt, 1), 0);
	ck_assert_int_ge(add_text_sink(lg, &off, fmt, 0), 0);
	/* auto: a callback is not a terminal. */
	ck_assert_int_ge(add_text_sink(lg, &autoc, fmt, -1), 0);
	JLOG_INFO(db, "hi");
	JLOG_ERROR(db, "bad", JLOG_BOOL("retry", false));
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_str_eq(on.text, "\x1b[32mdb\x1b[0m \x1b[1mINFO\x1b[0m hi\n"
	                          "\x1b[32mdb\x1b[0m \x1b[31m\x1b[1mERROR\x1b[0m bad retry=false\n");
	ck_assert_str_eq(off.text, "db INFO hi\ndb ERROR bad retry=false\n");
	ck_assert_str_eq(autoc.text, off.text);
	jlog_close(db);
	jlog_close(lg);
	capture_free(&on);
	capture_free(&off);
	capture_free(&autoc);
}
END_TEST

/* A custom level prints its name, in its own color (jlog_level_add). */
START_TEST(test_custom_level_color)
{
	ck_assert_int_eq(jlog_level_add("NOTICE", 22, "<magenta><bold>"), 0);
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture on, off;
	capture_init(&on);
	capture_init(&off);
	ck_assert_int_ge(add_text_sink(lg, &on, "<level>{level}</level> {message}", 1), 0);
	ck_assert_int_ge(add_text_sink(lg, &off, "<level>{level}</level> {message}", 0), 0);
	JLOG_LOG(lg, 22, "custom");
	JLOG_LOG(lg, 23, "unnamed");
	jlog_flush(lg);
	/* A level without a color gets only the closing tag's reset. */
	ck_assert_str_eq(on.text, "\x1b[35m\x1b[1mNOTICE\x1b[0m custom\n23\x1b[0m unnamed\n");
	ck_assert_str_eq(off.text, "NOTICE custom\n23 unnamed\n");
	jlog_close(lg);
	capture_free(&on);
	capture_free(&off);
}
END_TEST

/* colorize -1 follows NO_COLOR and FORCE_COLOR (NO_COLOR first) on
 * stdout and stderr only (test-config.c's JLOG_COLORIZE cases): a callback,
 * like a file, is not a terminal, and FORCE_COLOR does not color it. */
START_TEST(test_colorize_environment)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture forced, both;
	capture_init(&forced);
	capture_init(&both);
	setenv("FORCE_COLOR", "1", 1);
	unsetenv("NO_COLOR");
	ck_assert_int_ge(add_text_sink(lg, &forced, "<red>{message}</red>", -1), 0);
	setenv("NO_COLOR", "1", 1);
	ck_assert_int_ge(add_text_sink(lg, &both, "<red>{message}</red>", -1), 0);
	unsetenv("FORCE_COLOR");
	unsetenv("NO_COLOR");
	JLOG_INFO(lg, "x");
	jlog_flush(lg);
	ck_assert_str_eq(forced.text, "x\n");
	ck_assert_str_eq(both.text, "x\n");
	jlog_close(lg);
	capture_free(&forced);
	capture_free(&both);
}
END_TEST

static bool only_odd(const jlog_record_info *r, void *user)
{
	int *calls = user;
	(*calls)++;
	return r->message_len > 0 && (r->message[r->message_len - 1] - '0') % 2 == 1;
}

/* filter: a logger-name prefix ("db" takes db and db.pool, not dbx), and a
 * predicate; both must accept. */
START_TEST(test_filters)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture pre, pred;
	capture_init(&pre);
	capture_init(&pred);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_write;
	so.user = &pre;
	so.serialize = false;
	so.format = "{name}:{message}";
	so.filter = "db";
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	int calls = 0;
	so.user = &pred;
	so.filter_fn = only_odd;
	so.filter_user = &calls;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);

	jlog_logger *db = jlog_named(lg, "db");
	jlog_logger *pool = jlog_named(db, "pool");
	jlog_logger *dbx = jlog_named(lg, "dbx");
	JLOG_INFO(lg, "m1");
	JLOG_INFO(db, "m2");
	JLOG_INFO(pool, "m3");
	JLOG_INFO(dbx, "m4");
	JLOG_INFO(db, "m5");
	jlog_flush(lg);
	ck_assert_str_eq(pre.text, "db:m2\ndb.pool:m3\ndb:m5\n");
	ck_assert_str_eq(pred.text, "db.pool:m3\ndb:m5\n");
	/* The predicate is asked only about what the prefix let through. */
	ck_assert_int_eq(calls, 3);
	jlog_close(pool);
	jlog_close(dbx);
	jlog_close(db);
	jlog_close(lg);
	capture_free(&pre);
	capture_free(&pred);
}
END_TEST

START_TEST(test_bad_options_refused)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	char *path = tc_tmppath("never.log");
	jlog_sink_options so;

	jlog_sink_options_init(&so);
	so.sink = path;
	so.serialize = false;
	so.format = "{time} {bogus}";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "bogus"));
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "column"));
	/* Refused before the file was created. */
	ck_assert_int_ne(access(path, F_OK), 0);

	jlog_sink_options_init(&so);
	so.sink = path;
	so.preset = "elk";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "unknown preset \"elk\""));

	jlog_sink_options_init(&so);
	so.time_format = "iso";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	jlog_sink_options_init(&so);
	so.level = JLOG_LEVEL_OFF + 1;
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	jlog_sink_options_init(&so);
	so.colorize = -2;
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	so.colorize = 2;
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "colorize: 2 is not"));
	/* A time format the preset's schema has no room for: refused, not
	 * ignored. */
	jlog_sink_options_init(&so);
	so.preset = "ecs";
	so.time_format = "epoch_ms";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "the ecs preset writes its time as a date"));
	so.time_format = "rfc3339_ms";
	int ok_id = jlog_add_sink(lg, &so);
	ck_assert_int_ge(ok_id, 0);
	ck_assert_int_eq(jlog_remove_sink(lg, ok_id), 0);
	so.preset = "otel";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "Timestamp in ns"));
	so.preset = "loguru";
	so.time_format = "epoch";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	/* A schema key renamed to a backtrace or diagnose key of the sink. */
	jlog_sink_options_init(&so);
	so.backtrace = true;
	so.keys.time = "stack";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "\"stack\" is the key of this sink's backtrace"));
	so.backtrace = false;
	so.diagnose = true;
	so.keys.time = "errno";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	so.diagnose = false;
	ok_id = jlog_add_sink(lg, &so); /* "errno" without diagnose: a key like any */
	ck_assert_int_ge(ok_id, 0);
	ck_assert_int_eq(jlog_remove_sink(lg, ok_id), 0);
	jlog_sink_options_init(&so);
	so.keys.time = "message"; /* two keys named "message" */
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	jlog_sink_options_init(&so);
	so.sink = "/nonexistent-dir/x.log";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -ENOENT);
	ck_assert_int_eq(jlog_add_sink(lg, NULL), -EINVAL);
	ck_assert_int_eq(jlog_remove_sink(lg, 42), -ESRCH);
	ck_assert_int_eq(access(path, F_OK) == 0, 0);

	jlog_close(lg);
	free(path);
}
END_TEST

/* Key renames and time formats of the default preset, per sink. */
START_TEST(test_renames_and_time_format)
{
	char *path = tc_tmppath("renamed.jsonl");
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = path;
	so.keys.time = "ts";
	so.keys.message = "msg";
	so.time_format = "epoch_ms";
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	JLOG_INFO(lg, "renamed", JLOG_STR("ts", "a field"));
	jlog_close(lg);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(json_is_integer(json_object_get(l[0], "ts")));
	ck_assert_int_gt(json_integer_value(json_object_get(l[0], "ts")), 1700000000000LL);
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "msg")), "renamed");
	ck_assert_ptr_null(json_object_get(l[0], "message"));
	/* The field that collides with the renamed key moves aside. */
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "fields.ts")), "a field");
	tc_free_lines(l, n);
	free(path);
}
END_TEST

/* A sink that fails (a full device) does not disturb the others; with
 * catch_errors false its first error reaches jlog_flush() once, and
 * jlog_close(). */
START_TEST(test_failing_sink_isolated)
{
	char *good = tc_tmppath("good.jsonl");
	jlog_logger *lg = open_quiet(good, JLOG_LEVEL_INFO);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = "/dev/full";
	so.allow_symlink = true;
	int caught = jlog_add_sink(lg, &so);
	ck_assert_int_ge(caught, 0);
	so.catch_errors = false;
	int loud = jlog_add_sink(lg, &so);
	ck_assert_int_gt(loud, caught);

	int fd = dup(STDERR_FILENO); /* the failure report goes to stderr */
	int null = open("/dev/null", O_WRONLY);
	dup2(null, STDERR_FILENO);
	unsigned long n = tc_scale(1000, 100);
	for (unsigned long i = 0; i < n; i++)
		JLOG_INFO(lg, "line", JLOG_UINT("i", i));
	int rc = jlog_flush(lg);
	int rc2 = jlog_flush(lg);
	JLOG_INFO(lg, "after");
	int rc3 = jlog_close(lg);
	dup2(fd, STDERR_FILENO);
	close(fd);
	close(null);

	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_eq(rc2, 0); /* reported once */
	ck_assert_int_eq(rc3, -ENOSPC); /* the error of the last line */

	size_t count;
	json_t **l = tc_parse_file(good, &count);
	ck_assert_uint_eq(count, n + 1);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(json_integer_value(json_object_get(l[i], "i")), i);
	tc_free_lines(l, count);
	free(good);
}
END_TEST

/* Sinks come and go while other threads log. */
struct flood {
	jlog_logger *lg;
	unsigned long n;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	for (unsigned long i = 0; i < f->n; i++)
		JLOG_INFO(f->lg, "flood", JLOG_UINT("i", i));
	return NULL;
}

START_TEST(test_add_remove_while_logging)
{
	char *base = tc_tmppath("base.jsonl");
	jlog_logger *lg = open_quiet(base, JLOG_LEVEL_INFO);
	struct flood f = {lg, tc_scale(50000, 5000)};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, flood_main, &f), 0);

	struct capture caps[8];
	int ids[8];
	for (int round = 0; round < 8; round++) {
		capture_init(&caps[round]);
		jlog_sink_options so;
		jlog_sink_options_init(&so);
		so.write = capture_write;
		so.user = &caps[round];
		ids[round] = jlog_add_sink(lg, &so);
		ck_assert_int_eq(ids[round], round + 1);
		usleep(2000);
		if (round % 2 == 1) {
			ck_assert_int_eq(jlog_remove_sink(lg, ids[round - 1]), 0);
			ck_assert_int_eq(jlog_remove_sink(lg, ids[round - 1]), -ESRCH);
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	jlog_close(lg);

	/* The base sink got everything, in order per thread. */
	size_t count;
	json_t **l = tc_parse_file(base, &count);
	ck_assert_uint_eq(count, 2 * f.n);
	tc_free_lines(l, count);
	/* Every captured line is a whole JSON line; a removed sink got
	 * nothing after its removal returned (checked by the count never
	 * moving once removed: the capture was freed only at the end). */
	for (int round = 0; round < 8; round++) {
		ck_assert(!caps[round].bad_call);
		ck_assert_uint_le(caps[round].lines, 2 * f.n);
		if (caps[round].lines) {
			json_t **cl = tc_parse_lines_n(caps[round].text, caps[round].len, &count);
			ck_assert_uint_eq(count, caps[round].lines);
			tc_free_lines(cl, count);
		}
		capture_free(&caps[round]);
	}
	free(base);
}
END_TEST

/* After jlog_remove_sink() returns, the sink gets nothing more, and what
 * was logged before the call reached it. */
START_TEST(test_remove_writes_pending_then_stops)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture c;
	capture_init(&c);
	int id = add_text_sink(lg, &c, "{message}", 0);
	unsigned long n = tc_scale(5000, 500);
	for (unsigned long i = 0; i < n; i++)
		JLOG_INFO(lg, "before");
	ck_assert_int_eq(jlog_remove_sink(lg, id), 0);
	ck_assert_uint_eq(c.lines, n);
	JLOG_INFO(lg, "after");
	jlog_flush(lg);
	ck_assert_uint_eq(c.lines, n);
	ck_assert_ptr_null(strstr(c.text, "after"));
	/* All sinks removed: records are consumed, written nowhere. */
	ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
	JLOG_INFO(lg, "nowhere");
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_close(lg);
	capture_free(&c);
}
END_TEST

/* A sink callback cannot add or remove sinks, nor flush (it runs on the
 * writer): each says so with -EDEADLK. */
struct reentrant {
	jlog_logger *lg;
	int add_rc, remove_rc, flush_rc;
	char flush_err[256];
};

static void reentrant_write(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	struct reentrant *r = user;
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	r->add_rc = jlog_add_sink(r->lg, &so);
	r->remove_rc = jlog_remove_sink(r->lg, 0);
	r->flush_rc = jlog_flush(r->lg);
	snprintf(r->flush_err, sizeof(r->flush_err), "%s", jlog_last_error());
}

START_TEST(test_callback_cannot_reconfigure)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct reentrant r = {lg, 1, 1, 1, ""};
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = reentrant_write;
	so.user = &r;
	ck_assert_int_eq(jlog_add_sink(lg, &so), 1);
	JLOG_INFO(lg, "x");
	jlog_flush(lg);
	ck_assert_int_eq(r.add_rc, -EDEADLK);
	ck_assert_int_eq(r.remove_rc, -EDEADLK);
	ck_assert_int_eq(r.flush_rc, -EDEADLK);
	ck_assert_msg(strstr(r.flush_err, "jlog_flush() from a sink callback") != NULL, "%s",
	              r.flush_err);
	jlog_close(lg);
}
END_TEST

/* The default logger takes sinks too (jlog_add_sink(NULL, ...)). */
START_TEST(test_default_logger_sink)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO);
		struct capture c;
		capture_init(&c);
		jlog_sink_options so;
		jlog_sink_options_init(&so);
		so.write = capture_write;
		so.user = &c;
		so.serialize = false;
		so.format = "{level}:{message}";
		if (jlog_add_sink(NULL, &so) != 1)
			_exit(2);
		JLOG_INFO(NULL, "to the default");
		jlog_flush(NULL);
		_exit(strcmp(c.text, "INFO:to the default\n") == 0 ? 0 : 3);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- backtrace and diagnose ----------------------------------------------------- */

static void *json_sink_lines(struct capture *c, size_t *n)
{
	return tc_parse_lines_n(c->text, c->len, n);
}

static __attribute__((noinline)) void fail_somewhere(jlog_logger *lg)
{
	errno = ENOENT;
	JLOG_ERROR(lg, "open failed", JLOG_STR("path", "/x"));
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

START_TEST(test_backtrace_and_diagnose)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture plain, bt, diag;
	capture_init(&plain);
	capture_init(&bt);
	capture_init(&diag);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_write;
	so.user = &plain;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	so.user = &bt;
	so.backtrace = true;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	so.user = &diag;
	so.backtrace = false;
	so.diagnose = true;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);

	pthread_setname_np(pthread_self(), "test-worker");
	JLOG_INFO(lg, "not an error");
	fail_somewhere(lg);
	errno = 0;
	JLOG_CRITICAL(lg, "crit");
	jlog_flush(lg);

	size_t n;
	json_t **l = json_sink_lines(&plain, &n);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_null(json_object_get(l[i], "stack"));
		ck_assert_ptr_null(json_object_get(l[i], "errno"));
	}
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "path")), "/x");
	tc_free_lines(l, n);

	l = json_sink_lines(&bt, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(json_object_get(l[0], "stack")); /* INFO */
	json_t *stack = json_object_get(l[1], "stack");
	ck_assert(json_is_array(stack));
	ck_assert_uint_ge(json_array_size(stack), 2);
	/* Innermost first: the function that logged, in this test binary
	 * (not a frame of jlog itself). */
	const char *top = json_string_value(json_array_get(stack, 0));
	ck_assert_ptr_nonnull(top);
	ck_assert_msg(strstr(top, "test-sinks") != NULL, "top frame %s", top);
	ck_assert_ptr_null(strstr(top, "jlog__log"));
	ck_assert_ptr_null(json_object_get(l[1], "errno"));
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "path")), "/x");
	ck_assert(json_is_array(json_object_get(l[2], "stack")));
	tc_free_lines(l, n);

	l = json_sink_lines(&diag, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(json_object_get(l[0], "errno"));
	ck_assert_int_eq(json_integer_value(json_object_get(l[1], "errno")), ENOENT);
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "errno_text")),
	                 "No such file or directory");
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "thread")), "test-worker");
	ck_assert_ptr_null(json_object_get(l[1], "stack"));
	ck_assert_int_eq(json_integer_value(json_object_get(l[2], "errno")), 0);
	tc_free_lines(l, n);

	jlog_close(lg);
	capture_free(&plain);
	capture_free(&bt);
	capture_free(&diag);
}
END_TEST

/* Without a sink that asks, error records capture nothing. */
START_TEST(test_no_capture_without_asking)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	ck_assert_uint_eq(atomic_load(&lg->core->capture), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = "/dev/null";
	so.allow_symlink = true;
	so.diagnose = true;
	int id = jlog_add_sink(lg, &so);
	ck_assert_uint_eq(atomic_load(&lg->core->capture), JLOG__CAPTURE_DIAG);
	ck_assert_int_eq(jlog_remove_sink(lg, id), 0);
	ck_assert_uint_eq(atomic_load(&lg->core->capture), 0);
	jlog_close(lg);
}
END_TEST

/* Text sinks show diagnostics as key=value pairs too. */
START_TEST(test_diagnose_text)
{
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture c;
	capture_init(&c);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_write;
	so.user = &c;
	so.serialize = false;
	so.format = "{level}:{message}";
	so.diagnose = true;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	pthread_setname_np(pthread_self(), "txt");
	errno = EACCES;
	JLOG_ERROR(lg, "denied");
	jlog_flush(lg);
	ck_assert_str_eq(c.text,
	                 "ERROR:denied errno=13 errno_text=\"Permission denied\" thread=txt\n");
	jlog_close(lg);
	capture_free(&c);
}
END_TEST

/* The first value under @key anywhere in @j (presets nest the fields). */
static json_t *find_key(json_t *j, const char *key)
{
	const char *k;
	json_t *e, *r;
	size_t i;
	if (json_is_object(j)) {
		if ((r = json_object_get(j, key)) != NULL)
			return r;
		json_object_foreach(j, k, e)
			if ((r = find_key(e, key)) != NULL)
				return r;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, e)
			if ((r = find_key(e, key)) != NULL)
				return r;
	}
	return NULL;
}

/* Fields named like a diagnostic key (bound, scoped or the call's) go
 * under "fields.<key>" in every preset: they neither replace the
 * diagnostic nor vanish. */
START_TEST(test_diag_keys_reserved)
{
	static const char *const presets[] = {"default", "ecs", "gcp", "otel", "loguru"};
	enum { NP = sizeof(presets) / sizeof(presets[0]) };
	jlog_logger *lg = open_quiet("/dev/null", JLOG_LEVEL_INFO);
	struct capture cap[NP];
	jlog_sink_options so;
	for (size_t i = 0; i < NP; i++) {
		capture_init(&cap[i]);
		jlog_sink_options_init(&so);
		so.write = capture_write;
		so.user = &cap[i];
		so.preset = presets[i];
		so.backtrace = true;
		so.diagnose = true;
		ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	}
	pthread_setname_np(pthread_self(), "diag-keys");
	jlog_logger *child = JLOG_WITH(lg, JLOG_STR("thread", "bound"));
	ck_assert_ptr_nonnull(child);
	ck_assert_int_eq(JLOG_CONTEXT_PUSH(JLOG_STR("errno_text", "scoped")), 0);
	errno = ENOENT;
	JLOG_ERROR(child, "failed", JLOG_STR("stack", "mine"), JLOG_INT("errno", 7));
	ck_assert_int_eq(jlog_context_pop(), 0);
	jlog_flush(lg);

	for (size_t i = 0; i < NP; i++) {
		size_t n;
		json_t **l = json_sink_lines(&cap[i], &n);
		ck_assert_uint_eq(n, 1);
		ck_assert_msg(json_is_array(find_key(l[0], "stack")), "%s: stack replaced",
		              presets[i]);
		ck_assert_int_eq(json_integer_value(find_key(l[0], "errno")), ENOENT);
		ck_assert_str_eq(json_string_value(find_key(l[0], "errno_text")),
		                 "No such file or directory");
		json_t *where = strcmp(presets[i], "loguru") == 0 ? find_key(l[0], "extra") : l[0];
		ck_assert_str_eq(json_string_value(find_key(where, "thread")), "diag-keys");
		ck_assert_str_eq(json_string_value(find_key(l[0], "fields.stack")), "mine");
		ck_assert_int_eq(json_integer_value(find_key(l[0], "fields.errno")), 7);
		ck_assert_str_eq(json_string_value(find_key(l[0], "fields.errno_text")), "scoped");
		ck_assert_str_eq(json_string_value(find_key(l[0], "fields.thread")), "bound");
		tc_free_lines(l, n);
		capture_free(&cap[i]);
	}
	jlog_close(child);
	jlog_close(lg);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("sinks");
	TCase *tc = tcase_create("sinks");
	tcase_add_test(tc, test_options_defaults);
	tcase_add_test(tc, test_sinks_each_own_level_and_format);
	tcase_add_test(tc, test_text_colors_on_off);
	tcase_add_test(tc, test_colorize_environment);
	tcase_add_test(tc, test_custom_level_color);
	tcase_add_test(tc, test_filters);
	tcase_add_test(tc, test_bad_options_refused);
	tcase_add_test(tc, test_renames_and_time_format);
	tcase_add_test(tc, test_failing_sink_isolated);
	tcase_add_test(tc, test_add_remove_while_logging);
	tcase_add_test(tc, test_remove_writes_pending_then_stops);
	tcase_add_test(tc, test_default_logger_sink);
	tcase_add_test(tc, test_callback_cannot_reconfigure);
	tcase_add_test(tc, test_backtrace_and_diagnose);
	tcase_add_test(tc, test_no_capture_without_asking);
	tcase_add_test(tc, test_diagnose_text);
	tcase_add_test(tc, test_diag_keys_reserved);
	suite_add_tcase(s, tc);
	return s;
}
