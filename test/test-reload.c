/*
 * jlog_reload_config() and the SIGHUP reload: a changed document applied
 * to a running logger, under load (no record lost or written twice on the
 * sinks that stay), refused whole when invalid, and each kind of change
 * (levels, redaction, sampling, sinks kept, replaced, removed) taking
 * effect from the switch on.
 */
#include "test-files.h"

#include <limits.h>
#include <signal.h>
#include <sys/stat.h>

/* Write @text to @path (replacing it whole: a new file renamed over). */
static void put_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* The descriptors of this process open on @path. */
static int fds_on(const char *path, int *first)
{
	char want[PATH_MAX];
	ck_assert_ptr_nonnull(realpath(path, want));
	int n = 0;
	*first = -1;
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char link[300], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(link, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (strcmp(target, want) == 0) {
			if (*first < 0)
				*first = atoi(e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* The lines of @path whose "message" is @msg. */
static size_t count_msg(const char *path, const char *msg)
{
	size_t n, hits = 0;
	json_t **lines = tc_parse_file(path, &n);
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		hits += m && strcmp(m, msg) == 0;
	}
	tc_free_lines(lines, n);
	return hits;
}

/* The "secret" field of the line of @path with message @msg. */
static char *field_of(const char *path, const char *msg, const char *key)
{
	size_t n;
	char *out = NULL;
	json_t **lines = tc_parse_file(path, &n);
	for (size_t i = 0; i < n; i++) {
		const char *m = json_string_value(json_object_get(lines[i], "message"));
		if (m && strcmp(m, msg) == 0) {
			const char *v = json_string_value(json_object_get(lines[i], key));
			out = strdup(v ? v : "(absent)");
		}
	}
	tc_free_lines(lines, n);
	ck_assert_msg(out != NULL, "%s: no line \"%s\"", path, msg);
	return out;
}

static jlog_logger *open_doc(const char *doc)
{
	jlog_logger *lg = NULL;
	char err[512];
	int rc = jlog_open_config_err(&lg, doc, err, sizeof(err));
	ck_assert_msg(rc == 0, "open: %s", err);
	return lg;
}

/* ---- Reload under load ---- */

#define RELOADS 100

START_TEST(reload_under_load)
{
	char *a = tc_tmppath("a.jsonl"), *b = tc_tmppath("b.jsonl"), *w = tc_tmppath("w.jsonl");
	char docs[2][2048];
	/* A stays; B comes and goes; W's level changes (replaced each
	 * time); the logger's level goes between INFO and DEBUG, and a rate
	 * limit too wide to suppress anything comes and goes (the log calls
	 * are sent to a sampler and back while they run). */
	snprintf(docs[0], sizeof(docs[0]),
	         "{\"level\": \"INFO\", \"queue_size\": 262144, \"sinks\": ["
	         "{\"sink\": \"%s\", \"serialize\": true},"
	         "{\"sink\": \"%s\", \"serialize\": true},"
	         "{\"sink\": \"%s\", \"serialize\": true, \"level\": \"INFO\"}]}",
	         a, b, w);
	snprintf(docs[1], sizeof(docs[1]),
	         "{\"level\": \"DEBUG\", \"queue_size\": 262144, "
	         "\"rate_limit\": {\"per_second\": 1000000000, \"burst\": 4000000000}, \"sinks\": ["
	         "{\"sink\": \"%s\", \"serialize\": true, \"level\": \"WARNING\"},"
	         "{\"sink\": \"%s\", \"serialize\": true}]}",
	         w, a);
	jlog_logger *lg = open_doc(docs[0]);
	atomic_bool stop = false;
	struct tc_writer wr[4];
	/* Paced (fewer lines under the slow tools), so that the reloads
	 * and not the reading back set the test's length. */
	tc_writers_start(wr, 4, lg, 0, ULONG_MAX, &stop, (unsigned)tc_scale(64, 2));
	for (int i = 1; i <= RELOADS; i++) {
		int rc = jlog_reload_config(lg, docs[i % 2]);
		ck_assert_msg(rc == 0, "reload %d: %s", i, jlog_last_error());
		ck_assert_int_eq(jlog_get_level(lg), i % 2 ? JLOG_LEVEL_DEBUG : JLOG_LEVEL_INFO);
		usleep(1000);
	}
	atomic_store(&stop, true);
	tc_writers_join(wr, 4);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_int_eq(jlog_close(lg), 0);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.write_errors, 0);
	ck_assert_uint_eq(st.sampled_out, 0);

	/* A: every line of every thread, once. */
	struct tc_tally ta = {0};
	tc_tally_file(&ta, a, false, NULL);
	unsigned long total = 0;
	for (unsigned t = 0; t < 4; t++) {
		ck_assert_uint_gt(wr[t].done, 0);
		tc_tally_expect(&ta, t, wr[t].done);
		total += wr[t].done;
	}
	ck_assert_uint_eq(ta.lines, total);
	/* B (there half of the time) and W (INFO lines only while its level
	 * was INFO): some lines, none twice (the tally checks), none that
	 * was not logged. */
	const char *others[] = {b, w};
	for (int k = 0; k < 2; k++) {
		struct tc_tally tb = {0};
		tc_tally_file(&tb, others[k], false, NULL);
		ck_assert_uint_gt(tb.lines, 0);
		ck_assert_uint_lt(tb.lines, total);
		for (unsigned t = 0; t < 4; t++)
			ck_assert_msg(tb.cap[t] == 0 || !memchr(tb.seen[t] + (wr[t].done < tb.cap[t]
			                                                      ? wr[t].done
			                                                      : tb.cap[t]),
			                                        1,
			                                        tb.cap[t] - (wr[t].done < tb.cap[t]
			                                                     ? wr[t].done
			                                                     : tb.cap[t])),
			              "%s: a line that was not logged", others[k]);
		tc_tally_free(&tb);
	}
	tc_tally_free(&ta);
	free(a);
	free(b);
	free(w);
}
END_TEST

/* ---- An invalid document changes nothing ---- */

START_TEST(invalid_changes_nothing)
{
	char *a = tc_tmppath("a.jsonl");
	char doc[1024], bad[1024];
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"INFO\", \"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	jlog_logger *lg = open_doc(doc);
	int fd0;
	ck_assert_int_eq(fds_on(a, &fd0), 1);

	struct {
		const char *fmt;
		int rc;
		const char *says;
	} cases[] = {
		{"{\"level\": \"DEBUG\", \"sinks\": [{\"sink\": \"%s\"}, {\"preset\": \"elk\"}]}",
		 -EINVAL, "sinks[1].preset"},
		{"{\"level\": \"DEBUG\", \"queue_size\": 1048576, \"sinks\": [{\"sink\": \"%s\"}]}",
		 -EINVAL, "queue_size: cannot change on a running logger"},
		{"{\"level\": \"DEBUG\", \"overflow\": \"drop\", \"sinks\": [{\"sink\": \"%s\"}]}",
		 -EINVAL, "overflow: cannot change"},
		{"{\"level\": \"DEBUG\", \"sinks\": [{\"sink\": \"%s\"}, "
		 "{\"sink\": \"/nonexistent-dir/x.log\"}]}",
		 -ENOENT, "sinks[1]"},
		{"{\"level\": \"DEBUG\", \"redact\": {\"keys\": [\"password\"], \"mode\": \"scramble\"}, \"sinks\": [{\"sink\": \"%s\"}]}",
		 -EINVAL, "redact"},
		{"{\"level\": \"DEBUG\", \"sinks\": [{\"sink\": \"%s\"}], \"nope\": 1}", -EINVAL,
		 "nope: unknown key"},
		{"{\"level\": \"DEBUG\" \"sinks\": [{\"sink\": \"%s\"}]}", -EINVAL, "invalid JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(bad, sizeof(bad), cases[i].fmt, a);
#pragma GCC diagnostic pop
		int rc = jlog_reload_config(lg, bad);
		ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d (%s)", i, rc, jlog_last_error());
		ck_assert_msg(strstr(jlog_last_error(), cases[i].says) != NULL,
		              "case %zu: \"%s\" does not say \"%s\"", i, jlog_last_error(),
		              cases[i].says);
		ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_INFO);
	}
	/* The sink is the one it was (the same descriptor), and the level
	 * and the missing redaction are as they were. */
	int fd1;
	ck_assert_int_eq(fds_on(a, &fd1), 1);
	ck_assert_int_eq(fd1, fd0);
	JLOG_DEBUG(lg, "hidden");
	JLOG_INFO(lg, "shown", JLOG_STR("password", "hunter2"));
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_eq(count_msg(a, "hidden"), 0);
	char *pw = field_of(a, "shown", "password");
	ck_assert_str_eq(pw, "hunter2");
	free(pw);
	/* Not opened from a configuration. */
	jlog_logger *plain = NULL;
	jlog_options o;
	jlog_options_init(&o);
	o.sink = a;
	ck_assert_int_eq(jlog_open(&plain, &o), 0);
	ck_assert_int_eq(jlog_reload_config(plain, doc), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "not opened from a configuration"));
	ck_assert_int_eq(jlog_close(plain), 0);
	/* From JSON text, no file to reload from. */
	ck_assert_int_eq(jlog_reload_config(lg, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "not a file"));
	ck_assert_int_eq(jlog_install_reload_on_sighup(lg), -EINVAL);
	ck_assert_int_eq(jlog_close(lg), 0);
	/* A closed logger. */
	ck_assert_int_eq(jlog_reload_config(lg, doc), -EINVAL);
	free(a);
}
END_TEST

/* ---- Levels ---- */

START_TEST(level_change)
{
	char *a = tc_tmppath("a.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"INFO\", \"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	jlog_logger *lg = open_doc(doc);
	jlog_logger *db = jlog_named(lg, "db");
	ck_assert_ptr_nonnull(db);
	JLOG_DEBUG(lg, "debug before");
	JLOG_INFO(db, "db info before");
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"DEBUG\", \"modules\": {\"db\": \"ERROR\"}, "
	         "\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}",
	         a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_ERROR);
	JLOG_DEBUG(lg, "debug after");
	JLOG_INFO(db, "db info after");
	JLOG_ERROR(db, "db error after");
	/* Modules not in the document go away. */
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"DEBUG\", \"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_DEBUG);
	JLOG_INFO(db, "db info last");
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_eq(count_msg(a, "debug before"), 0);
	ck_assert_uint_eq(count_msg(a, "db info before"), 1);
	ck_assert_uint_eq(count_msg(a, "debug after"), 1);
	ck_assert_uint_eq(count_msg(a, "db info after"), 0);
	ck_assert_uint_eq(count_msg(a, "db error after"), 1);
	ck_assert_uint_eq(count_msg(a, "db info last"), 1);
	jlog_close(db);
	ck_assert_int_eq(jlog_close(lg), 0);
	free(a);
}
END_TEST

/* ---- Redaction ---- */

START_TEST(redact_added)
{
	char *a = tc_tmppath("a.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	jlog_logger *lg = open_doc(doc);
	JLOG_INFO(lg, "before", JLOG_STR("password", "hunter2"));
	snprintf(doc, sizeof(doc),
	         "{\"redact\": {\"keys\": [\"password\"]}, "
	         "\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}",
	         a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	JLOG_INFO(lg, "after", JLOG_STR("password", "hunter2"));
	ck_assert_int_eq(jlog_flush(lg), 0);
	/* The record before the call has the old rules, the one after the
	 * new. */
	char *v = field_of(a, "before", "password");
	ck_assert_str_eq(v, "hunter2");
	free(v);
	v = field_of(a, "after", "password");
	ck_assert_str_eq(v, "[REDACTED]");
	free(v);
	ck_assert_int_eq(jlog_close(lg), 0);
	free(a);
}
END_TEST

/* ---- The periodic stats record, turned on by a reload ---- */

static void log_for_ms(jlog_logger *lg, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		JLOG_INFO(lg, "tick", JLOG_INT("i", i));
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

START_TEST(stats_interval_added)
{
	char *a = tc_tmppath("a.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	jlog_logger *lg = open_doc(doc);
	log_for_ms(lg, 200);
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_eq(count_msg(a, "jlog stats"), 0);
	snprintf(doc, sizeof(doc),
	         "{\"stats_interval_ms\": 20, "
	         "\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}",
	         a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	log_for_ms(lg, 300);
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_ge(count_msg(a, "jlog stats"), 1);
	/* The recorder is fixed at open: a document that changes it is
	 * refused, naming the key, and the logger runs on unchanged. */
	snprintf(doc, sizeof(doc),
	         "{\"stats_interval_ms\": 20, \"flight_recorder\": {\"records\": 10}, "
	         "\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}",
	         a);
	ck_assert_int_lt(jlog_reload_config(lg, doc), 0);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "flight_recorder"));
	ck_assert_int_eq(jlog_close(lg), 0);
	free(a);
}
END_TEST

/* ---- Sampling on a logger that had none, then off again ---- */

static void log_ten(jlog_logger *lg)
{
	for (int i = 0; i < 10; i++)
		JLOG_INFO(lg, "sampled");
}

START_TEST(sampling_added)
{
	char *a = tc_tmppath("a.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	jlog_logger *lg = open_doc(doc);
	log_ten(lg);
	snprintf(doc, sizeof(doc),
	         "{\"sampling\": {\"first\": 1, \"thereafter\": 0, \"interval_ms\": 3600000}, "
	         "\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}",
	         a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	log_ten(lg);
	jlog_stats st;
	jlog_get_stats(lg, &st);
	ck_assert_uint_eq(st.sampled_out, 9);
	snprintf(doc, sizeof(doc), "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	log_ten(lg);
	ck_assert_int_eq(jlog_close(lg), 0);
	ck_assert_uint_eq(count_msg(a, "sampled"), 21);
	/* What was suppressed is reported (at the latest at close). */
	size_t n;
	json_t **lines = tc_parse_file(a, &n);
	json_int_t reported = 0;
	for (size_t i = 0; i < n; i++)
		reported += json_integer_value(json_object_get(lines[i], "sampled_out"));
	tc_free_lines(lines, n);
	ck_assert_int_eq(reported, 9);
	free(a);
}
END_TEST

/* ---- Sinks: kept, removed (flushed and closed), added ---- */

static void count_line(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	atomic_fetch_add((atomic_int *)user, 1);
}

START_TEST(sinks_kept_removed_added)
{
	char *a = tc_tmppath("a.jsonl"), *b = tc_tmppath("b.jsonl"), *c = tc_tmppath("c.jsonl");
	char doc[2048];
	snprintf(doc, sizeof(doc),
	         "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}, "
	         "{\"sink\": \"%s\", \"serialize\": true}]}",
	         a, b);
	jlog_logger *lg = open_doc(doc);
	/* A sink of the application's own, not the document's. */
	atomic_int calls = 0;
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = count_line;
	so.user = &calls;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	int fda, fdb, fdc;
	ck_assert_int_eq(fds_on(a, &fda), 1);
	ck_assert_int_eq(fds_on(b, &fdb), 1);
	for (int i = 0; i < 50; i++)
		JLOG_INFO(lg, "first", JLOG_INT("i", i));
	/* B goes, C comes, A stays; no flush before: the reload writes
	 * what came before it to B, then closes B. */
	snprintf(doc, sizeof(doc),
	         "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}, "
	         "{\"sink\": \"%s\", \"serialize\": true}]}",
	         c, a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	ck_assert_uint_eq(count_msg(b, "first"), 50);
	int fd;
	ck_assert_int_eq(fds_on(b, &fd), 0);
	ck_assert_int_eq(fds_on(a, &fd), 1);
	ck_assert_int_eq(fd, fda); /* kept: the same open file */
	ck_assert_int_eq(fds_on(c, &fdc), 1);
	JLOG_INFO(lg, "second");
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_eq(count_msg(a, "first"), 50);
	ck_assert_uint_eq(count_msg(a, "second"), 1);
	ck_assert_uint_eq(count_msg(b, "second"), 0);
	ck_assert_uint_eq(count_msg(c, "first"), 0);
	ck_assert_uint_eq(count_msg(c, "second"), 1);
	ck_assert_int_eq(atomic_load(&calls), 51);
	/* A changed sink (another level) is replaced: closed and opened. */
	snprintf(doc, sizeof(doc),
	         "{\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}, "
	         "{\"sink\": \"%s\", \"serialize\": true, \"level\": \"ERROR\"}]}",
	         c, a);
	ck_assert_int_eq(jlog_reload_config(lg, doc), 0);
	ck_assert_int_eq(fds_on(a, &fd), 1);
	JLOG_INFO(lg, "third");
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_eq(count_msg(a, "third"), 0);
	ck_assert_uint_eq(count_msg(c, "third"), 1);
	ck_assert_int_eq(atomic_load(&calls), 52);
	ck_assert_int_eq(jlog_close(lg), 0);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* ---- SIGHUP ---- */

START_TEST(sighup_reload)
{
	char *cfg = tc_tmppath("app.json"), *a = tc_tmppath("a.jsonl");
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"INFO\", \"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	put_file(cfg, doc);
	jlog_logger *lg = open_doc(cfg);
	ck_assert_int_eq(jlog_install_reload_on_sighup(lg), 0);
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"DEBUG\", \"redact\": {\"keys\": [\"password\"]}, "
	         "\"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}",
	         a);
	put_file(cfg, doc);
	ck_assert_int_eq(kill(getpid(), SIGHUP), 0);
	/* The writer reloads on its own thread; wait for it (a generous
	 * deadline, never a timing assertion). */
	for (int i = 0; i < 30000 && jlog_get_level(lg) != JLOG_LEVEL_DEBUG; i++)
		usleep(1000);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_DEBUG);
	JLOG_DEBUG(lg, "after hup", JLOG_STR("password", "hunter2"));
	/* A broken file: SIGHUP changes nothing, and the writer says why on
	 * stderr (caught in a file here). */
	put_file(cfg, "{\"level\": \"ERROR\", \"queue_size\": 65536}");
	char *errpath = tc_tmppath("stderr.txt");
	int saved = dup(STDERR_FILENO);
	int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(efd, 0);
	ck_assert_int_ge(dup2(efd, STDERR_FILENO), 0);
	close(efd);
	ck_assert_int_eq(kill(getpid(), SIGHUP), 0);
	char *said = NULL;
	for (int i = 0; i < 30000; i++) {
		said = tc_slurp(errpath, NULL);
		if (strstr(said, "reload on SIGHUP"))
			break;
		free(said);
		said = NULL;
		usleep(1000);
	}
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	ck_assert_msg(said != NULL, "no message on stderr");
	ck_assert_ptr_nonnull(strstr(said, "queue_size: cannot change on a running logger"));
	ck_assert_ptr_nonnull(strstr(said, "the configuration is unchanged"));
	free(said);
	free(errpath);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_DEBUG);
	JLOG_DEBUG(lg, "after bad hup");
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_uint_eq(count_msg(a, "after hup"), 1);
	ck_assert_uint_eq(count_msg(a, "after bad hup"), 1);
	char *v = field_of(a, "after hup", "password");
	ck_assert_str_eq(v, "[REDACTED]");
	free(v);
	/* The same reload by call, from the file (NULL). */
	snprintf(doc, sizeof(doc),
	         "{\"level\": \"WARNING\", \"sinks\": [{\"sink\": \"%s\", \"serialize\": true}]}", a);
	put_file(cfg, doc);
	ck_assert_int_eq(jlog_reload_config(lg, NULL), 0);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_install_reload_on_sighup(NULL), 0);
	ck_assert_int_eq(jlog_close(lg), 0);
	free(cfg);
	free(a);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("reload");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, reload_under_load);
	tcase_add_test(tc, invalid_changes_nothing);
	tcase_add_test(tc, level_change);
	tcase_add_test(tc, redact_added);
	tcase_add_test(tc, stats_interval_added);
	tcase_add_test(tc, sampling_added);
	tcase_add_test(tc, sinks_kept_removed_added);
	tcase_add_test(tc, sighup_reload);
	suite_add_tcase(s, tc);
	return s;
}
