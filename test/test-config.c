/*
 * Configuration: JSON documents (inline and files), every key of the
 * logger and of its sinks, the level rule, error messages with key paths
 * (and that an error leaves nothing open or created), and the default
 * logger's environment, each case in a forked child so that this
 * process's default logger is never opened.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- helpers ------------------------------------------------------------ */

/* The tails of the level parser's errors (level.c, config.c). */
#define NOT_A_LEVEL " (a level's name, \"off\" or 0..255)"
#define OFF_HINT " (\"off\" logs nothing)"

/* printf into a new string; free() it. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	ck_assert_int_ge(vasprintf(&s, f, ap), 0);
	va_end(ap);
	return s;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Open @doc; it must succeed. */
static jlog_logger *open_ok(const char *doc)
{
	char err[512] = "unset";
	jlog_logger *lg = NULL;
	int rc = jlog_open_config_err(&lg, doc, err, sizeof(err));
	ck_assert_msg(rc == 0, "rc %d (%s) for %s", rc, err, doc);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_nonnull(lg);
	return lg;
}

/* @doc must fail with @want_rc and exactly @message (NULL: not checked). */
static void expect_error_rc(const char *doc, int want_rc, const char *message)
{
	char err[512];
	jlog_logger *lg = (jlog_logger *)0x1;
	int rc = jlog_open_config_err(&lg, doc, err, sizeof(err));
	ck_assert_msg(rc == want_rc, "rc %d, not %d, for %s (%s)", rc, want_rc, doc, err);
	ck_assert_ptr_null(lg);
	if (message)
		ck_assert_msg(strcmp(err, message) == 0, "for %s: error \"%s\", want \"%s\"", doc,
		              err, message);
}

static void expect_error(const char *doc, const char *message)
{
	expect_error_rc(doc, -EINVAL, message);
}

static const char *str_at(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- the document: forms and top-level keys ------------------------------ */

/* The same document inline (with leading blanks) and as a file. */
START_TEST(test_inline_and_file_forms)
{
	char *a = tc_tmppath("inline.jsonl");
	char *b = tc_tmppath("file.jsonl");
	char *cfg = tc_tmppath("config.json");
#define TMPL "{\"level\":\"WARNING\",\"name\":\"svc\",\"sinks\":[{\"sink\":\"%s\"}]}"
	char *doc_a = fmt(TMPL, a);
	char *inline_doc = fmt(" \n\t\r%s", doc_a);
	char *doc_b = fmt(TMPL, b);
#undef TMPL
	write_file(cfg, doc_b);

	jlog_logger *la = open_ok(inline_doc);
	jlog_logger *lb = open_ok(cfg);
	ck_assert_int_eq(jlog_get_level(la), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_get_level(lb), JLOG_LEVEL_WARNING);
	JLOG_INFO(la, "below");
	JLOG_WARNING(la, "inline");
	JLOG_INFO(lb, "below");
	JLOG_WARNING(lb, "file");
	ck_assert_int_eq(jlog_close(la), 0);
	ck_assert_int_eq(jlog_close(lb), 0);

	json_t **l = tc_file_lines(a, 1);
	ck_assert_str_eq(str_at(l[0], "message"), "inline");
	ck_assert_str_eq(str_at(l[0], "logger"), "svc");
	tc_free_lines(l, 1);
	l = tc_file_lines(b, 1);
	ck_assert_str_eq(str_at(l[0], "message"), "file");
	ck_assert_str_eq(str_at(l[0], "logger"), "svc");
	tc_free_lines(l, 1);

	/* A file may start with blanks too; an inline document must be an
	 * object: anything else is taken as a path. */
	char *doc_c = fmt("\n\n   %s", doc_b);
	write_file(cfg, doc_c);
	jlog_close(open_ok(cfg));
	expect_error_rc("[{}]", -ENOENT, "[{}]: no such file or directory");
	expect_error("{\"level\":\"INFO\"} trailing",
	             "invalid JSON at line 1, column 25: end of file expected near 'trailing'");
	expect_error("{\"level\":1,\"level\":2}", NULL);
	free(doc_a);
	free(doc_b);
	free(doc_c);
	free(inline_doc);
	free(a);
	free(b);
	free(cfg);
}
END_TEST

/* "level": a name in any case, a number, a custom level; also for sinks. */
START_TEST(test_level_forms)
{
	struct {
		const char *doc;
		int level;
	} cases[] = {
		{"{\"level\":\"warning\"}", JLOG_LEVEL_WARNING},
		{"{\"level\":\"Debug\"}", JLOG_LEVEL_DEBUG},
		{"{\"level\":\"warn\"}", JLOG_LEVEL_WARNING},
		{"{\"level\":5}", 5},
		{"{\"level\":0}", 0},
		{"{\"level\":255}", 255},
		{"{\"level\":\"off\"}", JLOG_LEVEL_OFF},
		{"{}", JLOG_LEVEL_INFO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jlog_logger *lg = open_ok(cases[i].doc);
		ck_assert_msg(jlog_get_level(lg) == cases[i].level, "%s: level %d", cases[i].doc,
		              jlog_get_level(lg));
		jlog_close(lg);
	}
	expect_error("{\"level\":256}", "level: level 256 is out of range 0..255" OFF_HINT);
	expect_error("{\"level\":-1}", "level: level -1 is out of range 0..255" OFF_HINT);
	expect_error("{\"level\":\"notice\"}", "level: unknown level \"notice\"" NOT_A_LEVEL);

	/* Custom levels, once added, are names like the others. */
	ck_assert_int_eq(jlog_level_add("NOTICE", 22, "<yellow>"), 0);
	ck_assert_int_eq(jlog_level_add("AUDIT", 45, NULL), 0);
	char *all = tc_tmppath("all.jsonl");
	char *audit = tc_tmppath("audit.jsonl");
	char *doc = fmt("{\"level\":\"notice\",\"sinks\":[{\"sink\":\"%s\"},"
	                "{\"sink\":\"%s\",\"level\":\"Audit\"}]}", all, audit);
	jlog_logger *lg = open_ok(doc);
	ck_assert_int_eq(jlog_get_level(lg), 22);
	JLOG_INFO(lg, "info");
	JLOG_LOG(lg, 22, "notice");
	JLOG_ERROR(lg, "error");
	JLOG_LOG(lg, 45, "audit");
	ck_assert_int_eq(jlog_close(lg), 0);
	json_t **l = tc_file_lines(all, 3);
	ck_assert_str_eq(str_at(l[0], "level"), "NOTICE");
	ck_assert_str_eq(str_at(l[0], "message"), "notice");
	ck_assert_str_eq(str_at(l[2], "level"), "AUDIT");
	tc_free_lines(l, 3);
	tc_assert_messages(audit, "audit", NULL);
	free(doc);
	free(all);
	free(audit);
}
END_TEST

/* queue_size, overflow, flush_interval_ms, max_record_size. */
START_TEST(test_queue_overflow_flush_max)
{
	jlog_logger *lg = open_ok("{\"queue_size\":65536,\"overflow\":\"drop\","
	                          "\"flush_interval_ms\":7,\"max_record_size\":4096}");
	ck_assert_uint_eq(lg->core->ring.cap, 65536);
	ck_assert_int_eq(lg->core->overflow, JLOG_OVERFLOW_DROP);
	ck_assert_int_eq(lg->core->flush_interval_ms, 7);
	ck_assert_uint_eq(lg->core->max_record_size, 4096);
	jlog_close(lg);

	/* Rounded up to a power of two; "BLOCK" in any case; the defaults. */
	lg = open_ok("{\"queue_size\":100000,\"overflow\":\"BLOCK\"}");
	ck_assert_uint_eq(lg->core->ring.cap, 131072);
	ck_assert_int_eq(lg->core->overflow, JLOG_OVERFLOW_BLOCK);
	ck_assert_int_eq(lg->core->flush_interval_ms, 50);
	ck_assert_uint_eq(lg->core->max_record_size, 25000); /* lowered to a quarter */
	jlog_close(lg);
	lg = open_ok("{\"overflow\":\"drop\"}");
	ck_assert_int_eq(lg->core->overflow, JLOG_OVERFLOW_DROP);
	ck_assert_uint_eq(lg->core->ring.cap, 4u << 20);
	ck_assert_uint_eq(lg->core->max_record_size, 65536);
	jlog_close(lg);

	/* max_record_size shows in the output: a long message is cut. */
	char *path = tc_tmppath("max.jsonl");
	char *doc = fmt("{\"max_record_size\":4096,\"sinks\":[{\"sink\":\"%s\"}]}", path);
	lg = open_ok(doc);
	char big[10000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	JLOG_INFO(lg, "short");
	JLOG_INFO(lg, "long", JLOG_STR("big", big));
	ck_assert_int_eq(jlog_close(lg), 0);
	json_t **l = tc_file_lines(path, 2);
	ck_assert_ptr_null(json_object_get(l[0], "truncated"));
	ck_assert(json_is_true(json_object_get(l[1], "truncated")));
	ck_assert_uint_lt(strlen(str_at(l[1], "big")), 4096);
	tc_free_lines(l, 2);
	free(doc);
	free(path);

	expect_error("{\"queue_size\":65535}", "queue_size: 65535 is out of range 65536..1073741824");
	expect_error("{\"flush_interval_ms\":0}", "flush_interval_ms: 0 is out of range 1..10000");
	expect_error("{\"flush_interval_ms\":10001}",
	             "flush_interval_ms: 10001 is out of range 1..10000");
	expect_error("{\"max_record_size\":4095}",
	             "max_record_size: 4095 is out of range 4096..268435456");
	expect_error("{\"overflow\":\"spill\"}", "overflow: expected \"block\" or \"drop\", got \"spill\"");
}
END_TEST

/* close_timeout_ms: the key, its default and its range. */
START_TEST(test_close_timeout)
{
	jlog_logger *lg = open_ok("{\"close_timeout_ms\":250}");
	ck_assert_int_eq(lg->core->close_timeout_ms, 250);
	jlog_close(lg);
	lg = open_ok("{\"close_timeout_ms\":0}");
	ck_assert_int_eq(lg->core->close_timeout_ms, 0);
	jlog_close(lg);
	lg = open_ok("{}");
	ck_assert_int_eq(lg->core->close_timeout_ms, 5000);
	jlog_close(lg);
	expect_error("{\"close_timeout_ms\":-1}", "close_timeout_ms: -1 is out of range 0..600000");
	expect_error("{\"close_timeout_ms\":600001}",
	             "close_timeout_ms: 600001 is out of range 0..600000");

	jlog_options o;
	jlog_options_init(&o);
	ck_assert_int_eq(o.close_timeout_ms, 5000);
	o.close_timeout_ms = -1;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	o.close_timeout_ms = 600001;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
}
END_TEST

/* "name": every record carries "logger"; children nest under it. */
START_TEST(test_name)
{
	char *path = tc_tmppath("name.jsonl");
	char *doc = fmt("{\"name\":\"api\",\"sinks\":[{\"sink\":\"%s\"}]}", path);
	jlog_logger *lg = open_ok(doc);
	jlog_logger *db = jlog_named(lg, "db");
	JLOG_INFO(lg, "root");
	JLOG_INFO(db, "child");
	jlog_close(db);
	ck_assert_int_eq(jlog_close(lg), 0);
	json_t **l = tc_file_lines(path, 2);
	ck_assert_str_eq(str_at(l[0], "logger"), "api");
	ck_assert_str_eq(str_at(l[1], "logger"), "api.db");
	tc_free_lines(l, 2);
	free(doc);

	/* Without a name, no "logger" key on the root's records. */
	doc = fmt("{\"sinks\":[{\"sink\":\"%s\"}]}", path);
	unlink(path);
	lg = open_ok(doc);
	JLOG_INFO(lg, "anonymous");
	jlog_close(lg);
	l = tc_file_lines(path, 1);
	ck_assert_ptr_null(json_object_get(l[0], "logger"));
	tc_free_lines(l, 1);
	free(doc);
	free(path);
}
END_TEST

static unsigned mode_of(const char *path)
{
	struct stat st;
	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* file_mode, an octal string ("0640" or "640"), at the top level (the
 * default of every file sink) and per sink. A JSON number is refused: JSON
 * has no octal, and 640 read as decimal used to create mode 01200. */
START_TEST(test_file_mode)
{
	mode_t old = umask(0);
	char *a = tc_tmppath("a.log"), *b = tc_tmppath("b.log"), *c = tc_tmppath("c.log");
	char *d = tc_tmppath("d.log");
	char *doc = fmt("{\"file_mode\":\"0604\",\"sinks\":[{\"sink\":\"%s\"},"
	                "{\"sink\":\"%s\",\"file_mode\":\"600\"},"
	                "{\"sink\":\"%s\",\"file_mode\":\"0660\"}]}", a, b, c);
	jlog_logger *lg = open_ok(doc);
	jlog_close(lg);
	ck_assert_uint_eq(mode_of(a), 0604);
	ck_assert_uint_eq(mode_of(b), 0600);
	ck_assert_uint_eq(mode_of(c), 0660);
	free(doc);
	/* The top level without the leading 0; and the default. */
	char *e = tc_tmppath("e.log");
	doc = fmt("{\"file_mode\":\"640\",\"sinks\":[{\"sink\":\"%s\"}]}", d);
	jlog_close(open_ok(doc));
	free(doc);
	doc = fmt("{\"sinks\":[{\"sink\":\"%s\"}]}", e);
	jlog_close(open_ok(doc));
	free(doc);
	ck_assert_uint_eq(mode_of(d), 0640);
	ck_assert_uint_eq(mode_of(e), 0640);
	umask(old);

	expect_error("{\"file_mode\":\"0999\"}", "file_mode: \"0999\" is not an octal mode");
	expect_error("{\"file_mode\":\"\"}", "file_mode: \"\" is not an octal mode");
	expect_error("{\"file_mode\":\" 640\"}", "file_mode: \" 640\" is not an octal mode");
	expect_error("{\"file_mode\":\"-1\"}", "file_mode: \"-1\" is not an octal mode");
	expect_error("{\"file_mode\":\"10000\"}", "file_mode: \"10000\" is not an octal mode");
	expect_error("{\"file_mode\":640}", "file_mode: 640 is a number, and JSON numbers are "
	             "decimal: write the mode as a string, \"0640\"");
	expect_error("{\"file_mode\":416}", "file_mode: 416 is a number, and JSON numbers are "
	             "decimal: write the mode as a string, \"0416\"");
	expect_error("{\"file_mode\":4096}", "file_mode: 4096 is a number, and JSON numbers are "
	             "decimal: write the mode as an octal string such as \"0640\"");
	expect_error("{\"file_mode\":true}",
	             "file_mode: expected an octal mode string such as \"0640\", got a boolean");
	/* Per sink too, and nothing is created. */
	char *f = tc_tmppath("f.log");
	doc = fmt("{\"sinks\":[{\"sink\":\"%s\",\"file_mode\":640}]}", f);
	expect_error(doc, "sinks[0].file_mode: 640 is a number, and JSON numbers are decimal: "
	             "write the mode as a string, \"0640\"");
	ck_assert_int_ne(access(f, F_OK), 0);
	free(doc);
	free(f);
	expect_error("{\"sinks\":[{\"file_mode\":\"rw\"}]}",
	             "sinks[0].file_mode: \"rw\" is not an octal mode");
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
}
END_TEST

/* allow_symlink: a sink path that is a link is refused unless allowed,
 * per sink or at the top level. */
START_TEST(test_allow_symlink)
{
	char *target = tc_tmppath("target.log");
	char *link = tc_tmppath("link.log");
	write_file(target, "");
	ck_assert_int_eq(symlink(target, link), 0);

	char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\"}]}", link);
	char *msg = fmt("sinks[0]: sink \"%s\": %s", link, jlog_strerror(-ELOOP));
	expect_error_rc(doc, -ELOOP, msg);
	free(doc);
	doc = fmt("{\"allow_symlink\":false,\"sinks\":[{\"sink\":\"%s\"}]}", link);
	expect_error_rc(doc, -ELOOP, msg);
	free(doc);

	doc = fmt("{\"sinks\":[{\"sink\":\"%s\",\"allow_symlink\":true}]}", link);
	jlog_logger *lg = open_ok(doc);
	JLOG_INFO(lg, "per sink");
	jlog_close(lg);
	free(doc);
	doc = fmt("{\"allow_symlink\":true,\"sinks\":[{\"sink\":\"%s\"}]}", link);
	lg = open_ok(doc);
	JLOG_INFO(lg, "top level");
	jlog_close(lg);
	free(doc);
	/* The sink's own false wins over the top level's true. */
	doc = fmt("{\"allow_symlink\":true,\"sinks\":[{\"sink\":\"%s\",\"allow_symlink\":false}]}",
	          link);
	expect_error_rc(doc, -ELOOP, msg);
	free(doc);

	tc_assert_messages(target, "per sink", "top level", NULL);

	expect_error("{\"allow_symlink\":\"yes\"}", "allow_symlink: expected true or false, got a string");
	expect_error("{\"sinks\":[{\"allow_symlink\":1}]}",
	             "sinks[0].allow_symlink: expected true or false, got an integer");
	free(msg);
	free(target);
	free(link);
}
END_TEST

/* "modules": a prefix covers itself and its dotted descendants only. */
START_TEST(test_modules)
{
	char *path = tc_tmppath("modules.jsonl");
	char *doc = fmt("{\"level\":\"INFO\",\"modules\":{\"db\":\"DEBUG\",\"db.pool.slow\":\"ERROR\","
	                "\"\":\"WARNING\"},\"sinks\":[{\"sink\":\"%s\"}]}", path);
	jlog_logger *lg = open_ok(doc);
	struct tc_children c = tc_children_open(lg);
	jlog_logger *slow = jlog_named(c.pool, "slow");
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_INFO);
	ck_assert_int_eq(jlog_get_level(c.db), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(c.pool), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(slow), JLOG_LEVEL_ERROR);
	ck_assert_int_eq(jlog_get_level(c.dbx), JLOG_LEVEL_WARNING); /* "" */
	JLOG_DEBUG(c.db, "db");
	JLOG_DEBUG(c.pool, "db.pool");
	JLOG_WARNING(slow, "slow warning");
	JLOG_DEBUG(c.dbx, "dbx debug");
	JLOG_INFO(c.dbx, "dbx info");
	JLOG_INFO(lg, "root info");
	JLOG_DEBUG(lg, "root debug");
	jlog_close(slow);
	tc_children_close(&c);
	ck_assert_int_eq(jlog_close(lg), 0);
	json_t **l = tc_file_lines(path, 3);
	ck_assert_str_eq(str_at(l[0], "message"), "db");
	ck_assert_str_eq(str_at(l[1], "message"), "db.pool");
	ck_assert_str_eq(str_at(l[1], "logger"), "db.pool");
	ck_assert_str_eq(str_at(l[2], "message"), "root info");
	tc_free_lines(l, 3);
	free(doc);
	free(path);

	expect_error("{\"modules\":[]}", "modules: expected an object, got an array");
	expect_error("{\"modules\":{\"db\":true}}",
	             "modules.db: expected a level name or number, got a boolean");
	expect_error("{\"modules\":{\"db.pool\":\"LOUD\"}}",
	             "modules.db.pool: unknown level \"LOUD\"" NOT_A_LEVEL);
}
END_TEST

/* ---- sinks --------------------------------------------------------------- */

static char *child_cfg;

static void log_two_levels(void)
{
	jlog_logger *lg;
	if (jlog_open_config(&lg, child_cfg) != 0)
		exit(3);
	JLOG_INFO(lg, "info");
	JLOG_ERROR(lg, "error");
	jlog_close(lg);
}

/* "sink": stderr, stdout and a path; each sink with its own level. */
START_TEST(test_sink_targets)
{
	char *out = tc_tmppath("stdout"), *err = tc_tmppath("stderr"), *file = tc_tmppath("f.jsonl");
	child_cfg = fmt("{\"sinks\":[{\"sink\":\"stdout\",\"level\":\"INFO\"},"
	                "{\"sink\":\"stderr\",\"level\":\"ERROR\"},"
	                "{\"sink\":\"%s\",\"level\":\"ERROR\"}]}", file);
	tc_run_child(log_two_levels, out, err, NULL);
	tc_assert_messages(out, "info", "error", NULL);
	tc_assert_messages(err, "error", NULL);
	json_t **l = tc_file_lines(file, 1);
	ck_assert_str_eq(str_at(l[0], "level"), "ERROR");
	tc_free_lines(l, 1);

	/* No sinks: JSON on stderr. */
	free(child_cfg);
	child_cfg = fmt("{\"level\":\"ERROR\"}");
	tc_run_child(log_two_levels, out, err, NULL);
	tc_assert_file_text(out, "");
	tc_assert_messages(err, "error", NULL);

	expect_error("{\"sinks\":[{\"sink\":3}]}", "sinks[0].sink: expected a string, got an integer");
	expect_error("{\"sinks\":[{\"sink\":\"\"}]}", "sinks[0].sink: must not be empty");
	expect_error("{\"sinks\":[{\"level\":\"LOUD\"}]}",
	             "sinks[0].level: unknown level \"LOUD\"" NOT_A_LEVEL);
	expect_error("{\"sinks\":[{\"level\":[]}]}",
	             "sinks[0].level: expected a level name or number, got an array");
	free(child_cfg);
	child_cfg = NULL;
	free(out);
	free(err);
	free(file);
}
END_TEST

/* Without a top-level "level", the logger's level is the lowest sink
 * level, a sink without one counting as INFO (and getting INFO): a sink
 * next to it does not change what it receives. */
START_TEST(test_level_rule)
{
	struct {
		const char *doc;
		int level;
	} cases[] = {
		{"{}", JLOG_LEVEL_INFO},
		{"{\"sinks\":[]}", JLOG_LEVEL_INFO},
		{"{\"sinks\":[{}]}", JLOG_LEVEL_INFO},
		{"{\"sinks\":[{\"level\":\"ERROR\"}]}", JLOG_LEVEL_ERROR},
		{"{\"sinks\":[{\"level\":\"WARNING\"},{\"level\":5}]}", 5},
		{"{\"sinks\":[{\"level\":\"DEBUG\"},{\"level\":\"ERROR\"}]}", JLOG_LEVEL_DEBUG},
		{"{\"sinks\":[{},{\"level\":\"ERROR\"}]}", JLOG_LEVEL_INFO},
		{"{\"sinks\":[{},{\"level\":\"DEBUG\"}]}", JLOG_LEVEL_DEBUG},
		/* A top-level level wins. */
		{"{\"level\":\"ERROR\",\"sinks\":[{\"level\":\"DEBUG\"}]}", JLOG_LEVEL_ERROR},
		{"{\"sinks\":[{\"level\":\"DEBUG\"}],\"level\":\"WARNING\"}", JLOG_LEVEL_WARNING},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jlog_logger *lg = open_ok(cases[i].doc);
		ck_assert_msg(jlog_get_level(lg) == cases[i].level, "%s: level %d", cases[i].doc,
		              jlog_get_level(lg));
		jlog_close(lg);
	}

	/* What each sink gets. */
	char *plain = tc_tmppath("plain.jsonl"), *debug = tc_tmppath("debug.jsonl");
	char *errors = tc_tmppath("errors.jsonl");
	char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\"},{\"sink\":\"%s\",\"level\":\"debug\"},"
	                "{\"sink\":\"%s\",\"level\":\"error\"}]}", plain, debug, errors);
	jlog_logger *lg = open_ok(doc);
	JLOG_DEBUG(lg, "d");
	JLOG_INFO(lg, "i");
	JLOG_ERROR(lg, "e");
	ck_assert_int_eq(jlog_close(lg), 0);
	const char *want[3][3] = {{"i", "e", NULL}, {"d", "i", "e"}, {"e", NULL, NULL}};
	const char *paths[3] = {plain, debug, errors};
	for (int s = 0; s < 3; s++) {
		size_t n, k = 0;
		json_t **l = tc_parse_file(paths[s], &n);
		while (k < 3 && want[s][k])
			k++;
		ck_assert_msg(n == k, "sink %d: %zu lines", s, n);
		for (size_t i = 0; i < n; i++)
			ck_assert_str_eq(str_at(l[i], "message"), want[s][i]);
		tc_free_lines(l, n);
	}
	free(doc);
	free(plain);
	free(debug);
	free(errors);
}
END_TEST

/* Open @doc (one sink on @path), log "hi" at INFO from a logger named
 * "db", close, and return the file's text. */
static char *text_of(const char *sink_json, const char *path)
{
	char *doc = fmt("{\"sinks\":[%s]}", sink_json);
	unlink(path);
	jlog_logger *lg = open_ok(doc);
	jlog_logger *db = jlog_named(lg, "db");
	JLOG_INFO(db, "hi", JLOG_INT("n", 1));
	jlog_close(db);
	ck_assert_int_eq(jlog_close(lg), 0);
	free(doc);
	return tc_slurp(path, NULL);
}

/* text_of() for a JSON sink: its one line, parsed. json_decref() it. */
static json_t *line_of(const char *sink_json, const char *path)
{
	char *text = text_of(sink_json, path);
	size_t n;
	json_t **l = tc_parse_lines_n(text, strlen(text), &n);
	ck_assert_uint_eq(n, 1);
	json_t *line = json_incref(l[0]);
	tc_free_lines(l, n);
	free(text);
	return line;
}

/* format, serialize and colorize. */
START_TEST(test_format_serialize_colorize)
{
	unsetenv("NO_COLOR");
	unsetenv("FORCE_COLOR");
	char *path = tc_tmppath("text.log");
	struct {
		const char *keys; /* after "sink" */
		const char *text; /* NULL: JSON */
	} cases[] = {
		/* A format means text... */
		{",\"format\":\"{level}|{name}|{message}\"", "INFO|db|hi n=1\n"},
		{",\"format\":\"{level}|{message}\",\"serialize\":false",
		 "INFO|hi n=1\n"},
		/* ...unless serialize says JSON. */
		{",\"format\":\"{level}|{message}\",\"serialize\":true", NULL},
		{",\"serialize\":true", NULL},
		{"", NULL},
		/* Colors: on, off, auto (a file is not a terminal). */
		{",\"format\":\"<green>{message}</green> <level>{level}</level>\","
		 "\"colorize\":true",
		 "\x1b[32mhi\x1b[0m \x1b[1mINFO\x1b[0m n=1\n"},
		{",\"format\":\"<green>{message}</green> <level>{level}</level>\","
		 "\"colorize\":false",
		 "hi INFO n=1\n"},
		{",\"format\":\"<green>{message}</green> <level>{level}</level>\","
		 "\"colorize\":\"auto\"",
		 "hi INFO n=1\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *sink = fmt("{\"sink\":\"%s\"%s}", path, cases[i].keys);
		char *text = text_of(sink, path);
		if (cases[i].text) {
			ck_assert_msg(strcmp(text, cases[i].text) == 0, "%s: got \"%s\"", sink, text);
		} else {
			size_t n;
			json_t **l = tc_parse_lines_n(text, strlen(text), &n);
			ck_assert_uint_eq(n, 1);
			ck_assert_str_eq(str_at(l[0], "message"), "hi");
			ck_assert_int_eq(json_integer_value(json_object_get(l[0], "n")), 1);
			tc_free_lines(l, n);
		}
		free(text);
		free(sink);
	}

	/* FORCE_COLOR is for terminals: "auto" on a file stays without
	 * escape codes (stdout with FORCE_COLOR: the JLOG_COLORIZE test),
	 * and true still colors a file. */
	setenv("FORCE_COLOR", "1", 1);
	char *sink = fmt("{\"sink\":\"%s\",\"format\":\"<green>{message}</green>\","
	                 "\"colorize\":\"auto\"}", path);
	char *text = text_of(sink, path);
	ck_assert_str_eq(text, "hi n=1\n");
	free(text);
	free(sink);
	sink = fmt("{\"sink\":\"%s\",\"format\":\"<green>{message}</green>\","
	           "\"colorize\":true}", path);
	text = text_of(sink, path);
	ck_assert_str_eq(text, "\x1b[32mhi\x1b[0m n=1\n");
	free(text);
	free(sink);
	/* And false stays false. */
	sink = fmt("{\"sink\":\"%s\",\"format\":\"<green>{message}</green>\",\"colorize\":false}",
	           path);
	text = text_of(sink, path);
	ck_assert_str_eq(text, "hi n=1\n");
	free(text);
	free(sink);
	unsetenv("FORCE_COLOR");

	/* serialize false without a format: loguru's default format. */
	sink = fmt("{\"sink\":\"%s\",\"serialize\":false,\"colorize\":false}", path);
	text = text_of(sink, path);
	ck_assert_msg(strstr(text, " | INFO     | db:") != NULL, "got \"%s\"", text);
	ck_assert_msg(strstr(text, " - hi n=1\n") != NULL, "got \"%s\"", text);
	ck_assert_ptr_null(strchr(text, '\x1b'));
	free(text);
	free(sink);

	expect_error("{\"sinks\":[{\"format\":3}]}", "sinks[0].format: expected a string, got an integer");
	expect_error("{\"sinks\":[{\"serialize\":\"yes\"}]}",
	             "sinks[0].serialize: expected true or false, got a string");
	expect_error("{\"sinks\":[{\"colorize\":\"always\"}]}",
	             "sinks[0].colorize: expected true, false or \"auto\", got a string");
	expect_error("{\"sinks\":[{\"colorize\":1}]}",
	             "sinks[0].colorize: expected true, false or \"auto\", got an integer");
	free(path);
}
END_TEST

/* preset: one key of each schema; time_format; key renames. */
START_TEST(test_preset_time_keys)
{
	char *path = tc_tmppath("preset.jsonl");
	static const char *const presets[] = {"default", "ecs", "gcp", "otel", "loguru"};
	for (size_t i = 0; i < 5; i++) {
		char *sink = fmt("{\"sink\":\"%s\",\"preset\":\"%s\"}", path, presets[i]);
		json_t *o = line_of(sink, path);
		switch (i) {
		case 0: ck_assert_str_eq(str_at(o, "level"), "INFO"); break;
		case 1: ck_assert_str_eq(str_at(o, "log.level"), "info"); break;
		case 2: ck_assert_str_eq(str_at(o, "severity"), "INFO"); break;
		case 3: ck_assert_int_eq(json_integer_value(json_object_get(o, "SeverityNumber")), 9);
			break;
		case 4:
			ck_assert(json_is_object(json_object_get(o, "record")));
			ck_assert_ptr_nonnull(strstr(str_at(o, "text"), "hi"));
			break;
		}
		ck_assert_msg(i == 0 || json_object_get(o, "level") == NULL, "%s", presets[i]);
		json_decref(o);
		free(sink);
	}

	/* time_format. */
	char *sink = fmt("{\"sink\":\"%s\",\"time_format\":\"epoch_ns\"}", path);
	json_t *line = line_of(sink, path);
	ck_assert(json_is_integer(json_object_get(line, "time")));
	ck_assert_int_gt(json_integer_value(json_object_get(line, "time")), 1500000000000000000LL);
	json_decref(line);
	free(sink);
	sink = fmt("{\"sink\":\"%s\",\"time_format\":\"rfc3339_ms\"}", path);
	line = line_of(sink, path);
	const char *t = str_at(line, "time");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(t), 24); /* 2024-01-02T03:04:05.678Z */
	ck_assert(t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
	json_decref(line);
	free(sink);

	/* keys. */
	sink = fmt("{\"sink\":\"%s\",\"keys\":{\"time\":\"ts\",\"message\":\"msg\","
	           "\"level\":\"lvl\",\"logger\":\"component\"}}", path);
	line = line_of(sink, path);
	ck_assert_str_eq(str_at(line, "msg"), "hi");
	ck_assert_str_eq(str_at(line, "lvl"), "INFO");
	ck_assert_str_eq(str_at(line, "component"), "db");
	ck_assert_ptr_nonnull(str_at(line, "ts"));
	ck_assert_ptr_null(json_object_get(line, "time"));
	ck_assert_ptr_null(json_object_get(line, "message"));
	ck_assert_ptr_null(json_object_get(line, "level"));
	ck_assert_ptr_null(json_object_get(line, "logger"));
	json_decref(line);
	free(sink);

	expect_error("{\"sinks\":[{\"preset\":\"elk\"}]}",
	             "sinks[0].preset: unknown preset \"elk\" (default, ecs, gcp, otel, loguru)");
	expect_error("{\"sinks\":[{\"preset\":null}]}", "sinks[0].preset: expected a string, got null");

	/* Names in any case, as jlog_add_sink() takes them (one check). */
	sink = fmt("{\"sink\":\"%s\",\"preset\":\"ECS\"}", path);
	line = line_of(sink, path);
	ck_assert_str_eq(str_at(line, "log.level"), "info");
	json_decref(line);
	free(sink);
	sink = fmt("{\"sink\":\"%s\",\"time_format\":\"EPOCH_NS\"}", path);
	line = line_of(sink, path);
	ck_assert(json_is_integer(json_object_get(line, "time")));
	json_decref(line);
	free(sink);
	expect_error("{\"sinks\":[{\"time_format\":\"iso\"}]}",
	             "sinks[0].time_format: unknown time format \"iso\"");
	expect_error("{\"sinks\":[{\"time_format\":1.5}]}",
	             "sinks[0].time_format: expected a string, got a number");
	expect_error("{\"sinks\":[{\"keys\":[]}]}", "sinks[0].keys: expected an object, got an array");
	expect_error("{\"sinks\":[{},{\"keys\":{\"bogus\":\"x\"}}]}",
	             "sinks[1].keys.bogus: unknown key (time, level, message, logger, file, line, "
	             "function, pid, tid)");
	expect_error("{\"sinks\":[{\"keys\":{\"time\":1}}]}",
	             "sinks[0].keys.time: expected a string, got an integer");
	expect_error("{\"sinks\":[{\"keys\":{\"tid\":\"\"}}]}", "sinks[0].keys.tid: must not be empty");
	expect_error("{\"sinks\":[{\"keys\":{\"time\":\"level\"}}]}",
	             "sinks[0]: keys: two keys of the schema would have the same name");
	free(path);
}
END_TEST

/* filter: a logger-name prefix, "db" covers "db.pool", not "dbx". */
START_TEST(test_filter)
{
	char *path = tc_tmppath("filter.jsonl");
	char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\",\"filter\":\"db\"}]}", path);
	jlog_logger *lg = open_ok(doc);
	struct tc_children c = tc_children_open(lg);
	JLOG_INFO(lg, "root");
	JLOG_INFO(c.db, "db");
	JLOG_INFO(c.pool, "pool");
	JLOG_INFO(c.dbx, "dbx");
	tc_children_close(&c);
	ck_assert_int_eq(jlog_close(lg), 0);
	tc_assert_messages(path, "db", "pool", NULL);
	free(doc);
	free(path);
	expect_error("{\"sinks\":[{\"filter\":[\"db\"]}]}",
	             "sinks[0].filter: expected a string, got an array");
}
END_TEST

static __attribute__((noinline)) void log_error_enoent(jlog_logger *lg)
{
	errno = ENOENT;
	JLOG_ERROR(lg, "failed", JLOG_STR("path", "/x"));
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

/* backtrace and diagnose per sink. */
START_TEST(test_backtrace_diagnose)
{
	char *bt = tc_tmppath("bt.jsonl"), *dg = tc_tmppath("dg.jsonl"), *pl = tc_tmppath("pl.jsonl");
	char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\",\"backtrace\":true},"
	                "{\"sink\":\"%s\",\"diagnose\":true,\"backtrace\":false},"
	                "{\"sink\":\"%s\",\"diagnose\":false}]}", bt, dg, pl);
	jlog_logger *lg = open_ok(doc);
	JLOG_INFO(lg, "fine");
	log_error_enoent(lg);
	errno = EACCES;
	JLOG_CRITICAL(lg, "no fields");
	ck_assert_int_eq(jlog_close(lg), 0);
	json_t **l = tc_file_lines(bt, 3);
	ck_assert(json_is_array(json_object_get(l[2], "stack")));
	ck_assert_ptr_null(json_object_get(l[0], "stack"));
	ck_assert(json_is_array(json_object_get(l[1], "stack")));
	ck_assert_uint_ge(json_array_size(json_object_get(l[1], "stack")), 1);
	ck_assert_ptr_null(json_object_get(l[1], "errno"));
	tc_free_lines(l, 3);
	l = tc_file_lines(dg, 3);
	ck_assert_ptr_null(json_object_get(l[0], "errno"));
	ck_assert_int_eq(json_integer_value(json_object_get(l[1], "errno")), ENOENT);
	ck_assert_int_eq(json_integer_value(json_object_get(l[2], "errno")), EACCES);
	ck_assert_ptr_nonnull(str_at(l[1], "errno_text"));
	ck_assert_ptr_null(json_object_get(l[1], "stack"));
	tc_free_lines(l, 3);
	l = tc_file_lines(pl, 3);
	ck_assert_ptr_null(json_object_get(l[1], "stack"));
	ck_assert_ptr_null(json_object_get(l[1], "errno"));
	tc_free_lines(l, 3);
	free(doc);
	free(bt);
	free(dg);
	free(pl);
	expect_error("{\"sinks\":[{\"backtrace\":\"yes\"}]}",
	             "sinks[0].backtrace: expected true or false, got a string");
	expect_error("{\"sinks\":[{\"diagnose\":1}]}",
	             "sinks[0].diagnose: expected true or false, got an integer");
}
END_TEST

/* catch false: jlog_flush() returns the sink's error; true (the default)
 * keeps it from the caller. */
START_TEST(test_catch)
{
	char *good = tc_tmppath("good.jsonl");
	int saved = dup(STDERR_FILENO); /* the failure report goes to stderr */
	int null = open("/dev/null", O_WRONLY);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(null, 0);
	struct {
		const char *catch_json;
		int rc;
	} cases[] = {{",\"catch\":false", -ENOSPC}, {",\"catch\":true", 0}, {"", 0}};
	for (size_t i = 0; i < 3; i++) {
		unlink(good);
		char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\"},"
		                "{\"sink\":\"/dev/full\",\"allow_symlink\":true%s}]}", good,
		                cases[i].catch_json);
		jlog_logger *lg = open_ok(doc);
		dup2(null, STDERR_FILENO);
		JLOG_INFO(lg, "line");
		int rc = jlog_flush(lg);
		int rc2 = jlog_flush(lg);
		int rc3 = jlog_close(lg);
		dup2(saved, STDERR_FILENO);
		ck_assert_msg(rc == cases[i].rc, "%s: flush %d", doc, rc);
		ck_assert_int_eq(rc2, 0);
		ck_assert_int_eq(rc3, 0);
		tc_assert_line_count(good, 1);
		free(doc);
	}
	close(saved);
	close(null);
	free(good);
	expect_error("{\"sinks\":[{\"catch\":null}]}", "sinks[0].catch: expected true or false, got null");
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

/* Wrong types and unknown keys, at each level, name their key path. */
START_TEST(test_errors_name_the_key)
{
	expect_error("{\"sinks\":[{\"sink\":\"stderr\"},{\"sink\":\"stderr\",\"preset\":\"elk\"}]}",
	             "sinks[1].preset: unknown preset \"elk\" (default, ecs, gcp, otel, loguru)");
	expect_error("{\"level\":\"LOUD\"}", "level: unknown level \"LOUD\"" NOT_A_LEVEL);
	expect_error("{\"level\":true}", "level: expected a level name or number, got a boolean");
	expect_error("{\"level\":1.5}", "level: expected a level name or number, got a number");
	expect_error("{\"queue_size\":\"big\"}", "queue_size: expected an integer, got a string");
	expect_error("{\"max_record_size\":{}}", "max_record_size: expected an integer, got an object");
	expect_error("{\"flush_interval_ms\":null}", "flush_interval_ms: expected an integer, got null");
	expect_error("{\"overflow\":1}", "overflow: expected a string, got an integer");
	expect_error("{\"name\":5}", "name: expected a string, got an integer");
	expect_error("{\"colour\":1}", "colour: unknown key");
	expect_error("{\"sinks\":[{\"sink\":\"stderr\",\"colour\":true}]}",
	             "sinks[0].colour: unknown key");
	expect_error("{\"sinks\":[{},{},{\"write\":\"x\"}]}", "sinks[2].write: unknown key");
	expect_error("{\"sinks\":{}}", "sinks: expected an array, got an object");
	expect_error("{\"sinks\":[\"stderr\"]}", "sinks[0]: expected an object, got a string");
	expect_error("{\"sinks\":[{},null]}", "sinks[1]: expected an object, got null");
	expect_error("{\"modules\":{\"db\":\"LOUD\"}}", "modules.db: unknown level \"LOUD\"" NOT_A_LEVEL);
	expect_error("{\"level\":", NULL);
	expect_error("{\"level\":\"INFO\",}", NULL);
	expect_error_rc("", -ENOENT, "no such file or directory"); /* a path: "" */
	expect_error_rc("/nonexistent-dir/config.json", -ENOENT,
	                "/nonexistent-dir/config.json: no such file or directory");

	/* Too many sinks. */
	char big[64 * 4 + 32] = "{\"sinks\":[";
	for (int i = 0; i < 65; i++)
		strcat(big, i ? ",{}" : "{}");
	strcat(big, "]}");
	expect_error(big, "sinks: more than 64 sinks");

	/* The file form names the file. */
	char *cfg = tc_tmppath("bad.json");
	write_file(cfg, "{\n  \"level\": \"INFO\",\n  \"sinks\": [ }\n");
	char *want = fmt("%s: invalid JSON at line 3, column", cfg);
	char err[512];
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open_config_err(&lg, cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\"", err);
	free(want);
	write_file(cfg, "{\"sinks\":[{\"colorize\":\"on\"}]}");
	expect_error(cfg, "sinks[0].colorize: expected true, false or \"auto\", got a string");
	free(cfg);

	/* The two-argument form keeps the message for jlog_last_error(). */
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
	dup2(null, STDERR_FILENO);
	int rc = jlog_open_config(&lg, "{\"level\":\"LOUD\"}");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(lg);
	ck_assert_str_eq(jlog_last_error(), "level: unknown level \"LOUD\"" NOT_A_LEVEL);
}
END_TEST

/* Errors of jlog_add_sink() name the sink: a template that does not
 * compile, a file that cannot be opened. */
START_TEST(test_errors_of_sinks)
{
	expect_error("{\"sinks\":[{},{\"format\":\"{level}|{foo}\"}]}",
	             "sinks[1]: format: unknown field {foo} at column 9");
	expect_error("{\"sinks\":[{\"format\":\"<green>{message}\"}]}",
	             "sinks[0]: format: unclosed tag <green> at column 1");
	/* A JSON sink does not use (nor compile) its format. */
	jlog_close(open_ok("{\"sinks\":[{\"format\":\"{foo\",\"serialize\":true,"
	                   "\"sink\":\"/dev/null\",\"allow_symlink\":true}]}"));
	expect_error_rc("{\"sinks\":[{\"sink\":\"stderr\"},{\"sink\":\"/nonexistent-dir/x.log\"}]}",
	                -ENOENT, "sinks[1]: sink \"/nonexistent-dir/x.log\": no such file or directory");
	char *dir = tc_tmppath("");
	char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\"}]}", dir); /* a directory */
	char *msg = fmt("sinks[0]: sink \"%s\": %s", dir, jlog_strerror(-EISDIR));
	expect_error_rc(doc, -EISDIR, msg);
	free(doc);
	free(msg);
	free(dir);
}
END_TEST

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* An error leaves no descriptor, thread or file behind: the whole
 * document is checked before anything is opened. */
START_TEST(test_error_leaves_nothing)
{
	/* Warm up whatever the process sets up once. */
	jlog_close(open_ok("{\"sinks\":[{\"sink\":\"/dev/null\",\"allow_symlink\":true}]}"));
	int fds = count_entries("/proc/self/fd");
	int threads = count_entries("/proc/self/task");

	char *first = tc_tmppath("first.log");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", first);
	*strrchr(dir, '/') = '\0';
	static const char *const bad_second[] = {
		"{\"preset\":\"elk\"}",
		"{\"format\":\"{nope}\"}",
		"{\"keys\":{\"time\":\"message\"}}",
		"{\"keys\":{\"bogus\":\"x\"}}",
		"{\"level\":\"LOUD\"}",
		"{\"time_format\":\"x\"}",
		"{\"sink\":\"stdout\",\"unknown\":1}",
		"7",
	};
	for (size_t i = 0; i < sizeof(bad_second) / sizeof(bad_second[0]); i++) {
		char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\"},%s]}", first, bad_second[i]);
		expect_error(doc, NULL);
		ck_assert_msg(!exists(first), "%s created the first sink's file", doc);
		free(doc);
	}
	/* Top-level errors after the sinks. */
	char *doc = fmt("{\"sinks\":[{\"sink\":\"%s\"}],\"modules\":{\"x\":\"LOUD\"}}", first);
	expect_error(doc, NULL);
	free(doc);
	doc = fmt("{\"sinks\":[{\"sink\":\"%s\"}],\"bogus\":1}", first);
	expect_error(doc, NULL);
	free(doc);
	ck_assert(!exists(first));
	ck_assert_int_eq(count_dir(dir), 0);

	/* A file that cannot be opened after one that could: the first is
	 * closed again. */
	doc = fmt("{\"sinks\":[{\"sink\":\"%s\"},{\"sink\":\"%s/no/such/dir.log\"}]}", first, dir);
	expect_error_rc(doc, -ENOENT, NULL);
	free(doc);

	ck_assert_int_eq(count_entries("/proc/self/fd"), fds);
	ck_assert_int_eq(count_entries("/proc/self/task"), threads);
	free(first);
}
END_TEST

/* jlog_open_config_err: a small buffer gets a truncated, NUL-terminated
 * message; NULL is allowed; nothing goes to stderr. jlog_open_config
 * prints it. */
static void open_config_err_variants(void)
{
	const char *doc = "{\"sinks\":[{\"preset\":\"elk\"}]}";
	jlog_logger *lg;
	char small[8];
	memset(small, 'x', sizeof(small));
	if (jlog_open_config_err(&lg, doc, small, sizeof(small)) != -EINVAL || lg)
		exit(2);
	if (memcmp(small, "sinks[0", 8) != 0) /* 7 bytes and the NUL */
		exit(3);
	char one[1] = {'x'};
	if (jlog_open_config_err(&lg, doc, one, 1) != -EINVAL || one[0] != '\0')
		exit(4);
	char zero[1] = {'x'};
	if (jlog_open_config_err(&lg, doc, zero, 0) != -EINVAL || zero[0] != 'x')
		exit(5);
	if (jlog_open_config_err(&lg, doc, NULL, 100) != -EINVAL || lg)
		exit(6);
	if (jlog_open_config_err(&lg, "/nonexistent-dir/c.json", NULL, 0) != -ENOENT)
		exit(7);
	if (jlog_open_config_err(NULL, "{}", NULL, 0) != -EINVAL)
		exit(8);
	char err[64];
	if (jlog_open_config_err(&lg, NULL, err, sizeof(err)) != -EINVAL ||
	    strcmp(err, "no configuration given") != 0)
		exit(9);
	/* Success clears the buffer. */
	strcpy(err, "junk");
	if (jlog_open_config_err(&lg, "{}", err, sizeof(err)) != 0 || err[0] != '\0')
		exit(10);
	jlog_close(lg);
	fputs("--\n", stderr);
	/* The two-argument form prints. */
	if (jlog_open_config(&lg, doc) != -EINVAL)
		exit(11);
}

START_TEST(test_open_config_err_buffer)
{
	char *err = tc_tmppath("stderr");
	tc_run_child(open_config_err_variants, NULL, err, NULL);
	tc_assert_file_text(err, "--\njlog: configuration: sinks[0].preset: unknown preset \"elk\" "
	                         "(default, ecs, gcp, otel, loguru)\n");
	free(err);
}
END_TEST

/* ---- custom levels ("levels") -------------------------------------------- */

/* A document's levels name records and work as "level" in the same
 * document: the logger's, a sink's and a module's. */
START_TEST(test_doc_levels)
{
	char *notice = tc_tmppath("notice.jsonl");
	char *audit = tc_tmppath("audit.jsonl");
	char *doc = fmt("{\"level\": \"Notice\", \"modules\": {\"db\": \"AUDIT\"},"
	                " \"levels\": [{\"name\": \"NOTICE\", \"no\": 22, \"color\": \"<yellow>\"},"
	                " {\"name\": \"audit\", \"no\": 45}],"
	                " \"sinks\": [{\"sink\": \"%s\"}, {\"sink\": \"%s\", \"level\": \"audit\"}]}",
	                notice, audit);
	jlog_logger *lg = open_ok(doc);
	ck_assert_int_eq(jlog_get_level(lg), 22);
	jlog_logger *db = jlog_named(lg, "db");
	ck_assert_int_eq(jlog_get_level(db), 45);
	jlog_close(db);
	ck_assert_int_eq(jlog_level_from_name("notice"), 22);
	ck_assert_str_eq(jlog__level_color(22), "<yellow>");
	JLOG_INFO(lg, "info"); /* below NOTICE */
	JLOG_LOG(lg, 22, "a notice");
	JLOG_LOG(lg, 45, "an audit");
	jlog_close(lg);
	json_t **l = tc_file_lines(notice, 2);
	ck_assert_str_eq(str_at(l[0], "level"), "NOTICE");
	ck_assert_str_eq(str_at(l[1], "level"), "AUDIT");
	tc_free_lines(l, 2);
	l = tc_file_lines(audit, 1);
	ck_assert_str_eq(str_at(l[0], "message"), "an audit");
	tc_free_lines(l, 1);
	/* The same document again (a redefinition) is fine. */
	jlog_close(open_ok(doc));
	free(doc);
	free(notice);
	free(audit);
}
END_TEST

/* Errors name the key path; a refused document adds no level. */
START_TEST(test_doc_levels_errors)
{
#define L1(body) "{\"levels\": [" body "]}"
	expect_error(L1("{\"name\": \"CFGERR\", \"no\": 74, \"color\": \"<purple>\"}"),
	             "levels[0].color: unknown tag <purple>");
	expect_error(L1("{\"name\": \"CFGERR\", \"no\": 74, \"color\": \"<red\"}"),
	             "levels[0].color: tag <red has no closing '>'");
	expect_error(L1("{\"name\": \"CFGERR\", \"no\": 256}"),
	             "levels[0].no: 256 is out of range 0..255");
	expect_error(L1("{\"name\": \"CFGERR\", \"no\": 20}"),
	             "levels[0]: level \"CFGERR\" (20): the number is loguru's INFO");
	expect_error(L1("{\"name\": \"warn\", \"no\": 21}"),
	             "levels[0]: level \"warn\" (21): the name is already level 30");
	expect_error(L1("{\"name\": \"9x\", \"no\": 21}"),
	             "levels[0]: level \"9x\" (21): a name is 1 to 31 letters, digits, '_' or '-',"
	             " not starting with a digit");
	expect_error(L1("{\"name\": \"CFGERR\"}"), "levels[0]: a level needs \"name\" and \"no\"");
	expect_error(L1("{\"name\": \"CFGERR\", \"no\": 74, \"colour\": \"<red>\"}"),
	             "levels[0].colour: unknown key (name, no, color)");
	expect_error(L1("{\"name\": \"A\", \"no\": 71}, {\"name\": \"a\", \"no\": 72}"),
	             "levels[1].name: \"a\" is already levels[0]");
	expect_error(L1("{\"name\": \"A\", \"no\": 73}, {\"name\": \"B\", \"no\": 73}"),
	             "levels[1].no: 73 is already levels[0] (\"A\")");
	expect_error(L1("7"), "levels[0]: expected an object, got an integer");
	expect_error("{\"levels\": {}}", "levels: expected an array, got an object");
	/* Only the document's own levels: CFGERR is not defined here. */
	expect_error("{\"level\": \"CFGERR\"}", "level: unknown level \"CFGERR\"" NOT_A_LEVEL);
	/* A later error: nothing is added, so another number is still free. */
	expect_error_rc("{\"levels\": [{\"name\": \"CFGERR\", \"no\": 74}], \"sinks\":"
	                " [{\"sink\": \"/nonexistent-dir/x.log\", \"level\": \"CFGERR\"}]}",
	                -ENOENT, NULL);
	expect_error("{\"levels\": [{\"name\": \"CFGERR\", \"no\": 74}], \"bogus\": 1}",
	             "bogus: unknown key");
	ck_assert_int_eq(jlog_level_from_name("CFGERR"), -EINVAL);
	jlog_close(open_ok(L1("{\"name\": \"CFGERR\", \"no\": 75}")));
	ck_assert_int_eq(jlog_level_from_name("CFGERR"), 75);
	/* Taken since: the document cannot give it another number. */
	expect_error(L1("{\"name\": \"CFGERR\", \"no\": 74}"),
	             "levels[0]: level \"CFGERR\" (74): the name is already level 75");
#undef L1
}
END_TEST

/* jlog_last_error() holds the failure of jlog_open_config_err() too, and
 * never an older message. */
START_TEST(test_open_config_sets_last_error)
{
	ck_assert_int_eq(jlog_level_add("bad name", 60, NULL), -EINVAL);
	jlog_logger *lg;
	char err[256];
	ck_assert_int_eq(jlog_open_config_err(&lg, "{\"queue_size\": 5}", err, sizeof(err)),
	                 -EINVAL);
	ck_assert_str_eq(jlog_last_error(), err);
	ck_assert_int_eq(jlog_level_add("bad name", 60, NULL), -EINVAL);
	ck_assert_int_eq(jlog_open_config_err(&lg, "/nonexistent-dir/c.json", NULL, 0), -ENOENT);
	ck_assert_str_eq(jlog_last_error(), "/nonexistent-dir/c.json: no such file or directory");
	ck_assert_int_eq(jlog_open_config_err(NULL, "{}", NULL, 0), -EINVAL);
	ck_assert_str_eq(jlog_last_error(), "out is NULL");
}
END_TEST

/* ---- the default logger's environment ------------------------------------ */

static void log_default(void)
{
	JLOG_DEBUG(NULL, "debug");
	JLOG_INFO(NULL, "info", JLOG_INT("n", 5));
	JLOG_WARNING(NULL, "warning");
}

/* JLOG_CONFIG names a document for the default logger. */
START_TEST(test_env_config)
{
	char *cfg = tc_tmppath("env.json");
	char *path = tc_tmppath("env.jsonl");
	char *doc = fmt("{\"name\":\"svc\",\"sinks\":[{\"sink\":\"%s\",\"level\":\"DEBUG\","
	                "\"preset\":\"ecs\"}]}", path);
	write_file(cfg, doc);
	char *env_cfg = fmt("JLOG_CONFIG=%s", cfg);
	const char *env[] = {env_cfg, NULL};
	char *err = tc_tmppath("stderr");
	tc_run_child(log_default, NULL, err, env);
	json_t **l = tc_file_lines(path, 3);
	ck_assert_str_eq(str_at(l[0], "message"), "debug");
	ck_assert_str_eq(str_at(l[0], "log.level"), "debug");
	ck_assert_str_eq(str_at(l[0], "log.logger"), "svc");
	tc_free_lines(l, 3);
	tc_assert_file_text(err, "");

	/* The document may also be given inline. */
	unlink(path);
	free(env_cfg);
	env_cfg = fmt("JLOG_CONFIG= %s", doc);
	const char *env2[] = {env_cfg, NULL};
	tc_run_child(log_default, NULL, err, env2);
	l = tc_file_lines(path, 3);
	ck_assert_str_eq(str_at(l[2], "log.level"), "warning");
	tc_free_lines(l, 3);
	tc_assert_file_text(err, "");
	free(env_cfg);
	free(doc);
	free(cfg);
	free(path);
	free(err);
}
END_TEST

/* JLOG_LEVEL=off (or none) turns the default logger off, silently; a
 * level JLOG_CONFIG's document defines is a level too. */
static void log_default_notice(void)
{
	JLOG_INFO(NULL, "info");
	JLOG_LOG(NULL, jlog_level_from_name("notice"), "notice");
}

START_TEST(test_env_level_off_and_custom)
{
	char *out = tc_tmppath("stdout");
	char *err = tc_tmppath("stderr");
	const char *env[] = {"JLOG_LEVEL=off", NULL};
	tc_run_child(log_default, out, err, env);
	tc_assert_file_text(err, "");
	tc_assert_file_text(out, "");
	const char *env2[] = {"JLOG_LEVEL= None ", NULL};
	tc_run_child(log_default, out, err, env2);
	tc_assert_file_text(err, "");

	char *cfg = tc_tmppath("levels.json");
	write_file(cfg, "{\"levels\": [{\"name\": \"NOTICE\", \"no\": 22}]}");
	char *env_cfg = fmt("JLOG_CONFIG=%s", cfg);
	const char *env3[] = {env_cfg, "JLOG_LEVEL=notice", NULL};
	tc_run_child(log_default_notice, out, err, env3);
	json_t **l = tc_file_lines(err, 1);
	ck_assert_str_eq(str_at(l[0], "level"), "NOTICE");
	tc_free_lines(l, 1);
	free(env_cfg);
	free(cfg);
	free(out);
	free(err);
}
END_TEST

/* JLOG_LEVEL: a name or a number; a bad one is reported and ignored. */
START_TEST(test_env_level)
{
	char *err = tc_tmppath("stderr");
	const char *env[] = {"JLOG_LEVEL=warning", NULL};
	tc_run_child(log_default, NULL, err, env);
	tc_assert_messages(err, "warning", NULL);

	const char *env2[] = {"JLOG_LEVEL=10", NULL};
	tc_run_child(log_default, NULL, err, env2);
	json_t **l = tc_file_lines(err, 3);
	ck_assert_str_eq(str_at(l[0], "level"), "DEBUG");
	tc_free_lines(l, 3);

	/* It overrides the document's level. */
	char *cfg = tc_tmppath("lvl.json");
	write_file(cfg, "{\"level\":\"ERROR\"}");
	char *env_cfg = fmt("JLOG_CONFIG=%s", cfg);
	const char *env3[] = {env_cfg, "JLOG_LEVEL=Info", NULL};
	tc_run_child(log_default, NULL, err, env3);
	tc_assert_messages(err, "info", "warning", NULL);

	const char *env4[] = {"JLOG_LEVEL=loud", NULL};
	tc_run_child(log_default, NULL, err, env4);
	char *text = tc_slurp(err, NULL);
	const char *want = "jlog: ignoring JLOG_LEVEL=\"loud\": not a level\n";
	ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "got \"%s\"", text);
	size_t n;
	l = tc_parse_lines_n(text + strlen(want), strlen(text + strlen(want)), &n);
	ck_assert_uint_eq(n, 2); /* INFO, the default */
	tc_free_lines(l, n);
	free(text);
	free(env_cfg);
	free(cfg);
	free(err);
}
END_TEST

/* JLOG_SINK: stdout, stderr or a path, replacing the document's first
 * sink. */
START_TEST(test_env_sink)
{
	char *out = tc_tmppath("stdout"), *err = tc_tmppath("stderr");
	const char *env[] = {"JLOG_SINK=stdout", NULL};
	tc_run_child(log_default, out, err, env);
	json_t **l = tc_file_lines(out, 2);
	ck_assert_str_eq(str_at(l[0], "message"), "info");
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "n")), 5);
	tc_free_lines(l, 2);
	tc_assert_file_text(err, "");

	char *path = tc_tmppath("sink.jsonl");
	char *cfg = tc_tmppath("sink.json");
	char *second = tc_tmppath("second.jsonl");
	char *doc = fmt("{\"sinks\":[{\"sink\":\"stdout\",\"preset\":\"gcp\"},{\"sink\":\"%s\"}]}",
	                second);
	write_file(cfg, doc);
	char *env_sink = fmt("JLOG_SINK=%s", path), *env_cfg = fmt("JLOG_CONFIG=%s", cfg);
	const char *env2[] = {env_sink, env_cfg, NULL};
	tc_run_child(log_default, out, err, env2);
	l = tc_file_lines(path, 2);
	ck_assert_str_eq(str_at(l[1], "severity"), "WARNING"); /* the first sink's preset */
	tc_free_lines(l, 2);
	tc_assert_line_count(second, 2);
	tc_assert_file_text(out, "");
	free(doc);
	free(env_sink);
	free(env_cfg);
	free(cfg);
	free(second);
	free(path);
	free(out);
	free(err);
}
END_TEST

/* JLOG_FORMAT implies text; JLOG_SERIALIZE; JLOG_COLORIZE. */
START_TEST(test_env_format_serialize_colorize)
{
	char *out = tc_tmppath("stdout"), *err = tc_tmppath("stderr");
	struct {
		const char *env[5]; /* NULL ended */
		const char *text; /* NULL: JSON */
	} cases[] = {
		{{"JLOG_SINK=stdout", "JLOG_FORMAT={level}|{message}"}, "INFO|info n=5\nWARNING|warning\n"},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT={level}|{message}", "JLOG_SERIALIZE=1"}, NULL},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT={level}|{message}", "JLOG_SERIALIZE=true"}, NULL},
		{{"JLOG_SINK=stdout", "JLOG_SERIALIZE=yes"}, NULL},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT=<red>{message}</red>", "JLOG_COLORIZE=1"},
		 "\x1b[31minfo\x1b[0m n=5\n\x1b[31mwarning\x1b[0m\n"},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT=<red>{message}</red>", "JLOG_COLORIZE=yes"},
		 "\x1b[31minfo\x1b[0m n=5\n\x1b[31mwarning\x1b[0m\n"},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT=<red>{message}</red>", "JLOG_COLORIZE=0"},
		 "info n=5\nwarning\n"},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT=<red>{message}</red>", "JLOG_COLORIZE=auto"},
		 "info n=5\nwarning\n"},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT=<red>{message}</red>", "JLOG_COLORIZE=auto",
		  "FORCE_COLOR=1"},
		 "\x1b[31minfo\x1b[0m n=5\n\x1b[31mwarning\x1b[0m\n"},
		{{"JLOG_SINK=stdout", "JLOG_FORMAT=<red>{message}</red>", "JLOG_COLORIZE=false",
		  "FORCE_COLOR=1"},
		 "info n=5\nwarning\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tc_run_child(log_default, out, err, cases[i].env);
		char *text = tc_slurp(out, NULL);
		if (cases[i].text) {
			ck_assert_msg(strcmp(text, cases[i].text) == 0, "case %zu: got \"%s\"", i, text);
		} else {
			size_t n;
			json_t **l = tc_parse_lines_n(text, strlen(text), &n);
			ck_assert_uint_eq(n, 2);
			ck_assert_str_eq(str_at(l[0], "message"), "info");
			tc_free_lines(l, n);
		}
		free(text);
		text = tc_slurp(err, NULL);
		ck_assert_msg(strcmp(text, "") == 0, "case %zu: stderr \"%s\"", i, text);
		free(text);
	}

	/* JLOG_SERIALIZE=0 alone: loguru's default text format. */
	const char *env[] = {"JLOG_SINK=stdout", "JLOG_SERIALIZE=no", "JLOG_COLORIZE=0", NULL};
	tc_run_child(log_default, out, err, env);
	char *text = tc_slurp(out, NULL);
	ck_assert_msg(strstr(text, " | INFO     | ") != NULL && strstr(text, " - info n=5\n") != NULL,
	              "got \"%s\"", text);
	free(text);

	/* They override the document's first sink. */
	char *cfg = tc_tmppath("first.json");
	char *env_cfg = fmt("JLOG_CONFIG=%s", cfg);
	write_file(cfg, "{\"sinks\":[{\"sink\":\"stdout\",\"serialize\":true}]}");
	const char *env_f[] = {env_cfg, "JLOG_FORMAT={level}|{message}", NULL};
	tc_run_child(log_default, out, err, env_f);
	tc_assert_file_text(out, "INFO|info n=5\nWARNING|warning\n");
	write_file(cfg, "{\"sinks\":[{\"sink\":\"stdout\",\"format\":\"<red>{message}</red>\","
	                "\"colorize\":true}]}");
	const char *env_c[] = {env_cfg, "JLOG_COLORIZE=auto", NULL};
	tc_run_child(log_default, out, err, env_c);
	tc_assert_file_text(out, "info n=5\nwarning\n");
	const char *env_s[] = {env_cfg, "JLOG_SERIALIZE=1", NULL};
	tc_run_child(log_default, out, err, env_s);
	tc_assert_line_count(out, 2);
	free(env_cfg);
	free(cfg);

	/* Bad values are reported and ignored. */
	const char *env2[] = {"JLOG_SINK=stdout", "JLOG_SERIALIZE=maybe", "JLOG_COLORIZE=sometimes",
	                      NULL};
	tc_run_child(log_default, out, err, env2);
	tc_assert_file_text(err, "jlog: ignoring JLOG_SERIALIZE=\"maybe\": not a boolean\n"
	                         "jlog: ignoring JLOG_COLORIZE=\"sometimes\": not a boolean\n");
	tc_assert_line_count(out, 2);
	free(out);
	free(err);
}
END_TEST

/* A bad JLOG_CONFIG: JSON on stderr (at JLOG_LEVEL) and one message. */
START_TEST(test_env_bad_config)
{
	char *err = tc_tmppath("stderr");
	char *cfg = tc_tmppath("bad.json");
	struct {
		const char *content; /* NULL: no such file */
		const char *why;     /* after "<path>" or at the start */
		bool names_path;
	} cases[] = {
		{"{\"level\": ", ": invalid JSON at line 1", true},
		{NULL, ": no such file or directory", true},
		{"{\"colour\":true}", "colour: unknown key", false},
		{"[1]", "JLOG_CONFIG: must hold a JSON object", false},
		{"{\"sinks\":[{\"sink\":\"/nonexistent-dir/never.log\"}]}",
		 "sinks[0]: sink \"/nonexistent-dir/never.log\": no such file or directory", false},
		{"{\"sinks\":{\"sink\":\"stdout\"}}", "sinks: expected an array, got an object", false},
	};
	char *env_cfg = fmt("JLOG_CONFIG=%s", cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(cfg);
		if (cases[i].content)
			write_file(cfg, cases[i].content);
		/* JLOG_SINK too, for the last case: the wrong "sinks" is still
		 * reported, not replaced. */
		const char *env[] = {env_cfg, "JLOG_LEVEL=warning", i == 5 ? "JLOG_SINK=stdout" : NULL,
		                     NULL};
		tc_run_child(log_default, NULL, err, env);
		char *text = tc_slurp(err, NULL);
		char *want = fmt("jlog: default logger: %s%s", cases[i].names_path ? cfg : "",
		                 cases[i].why);
		ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "case %zu: got \"%s\"", i, text);
		const char *nl = strchr(text, '\n');
		ck_assert_ptr_nonnull(nl);
		const char *tail = "; logging JSON to stderr\n";
		ck_assert_msg(strncmp(nl + 1 - strlen(tail), tail, strlen(tail)) == 0, "got \"%s\"", text);
		size_t n;
		json_t **l = tc_parse_lines_n(nl + 1, strlen(nl + 1), &n);
		ck_assert_msg(n == 1, "case %zu: %zu lines", i, n);
		ck_assert_str_eq(str_at(l[0], "message"), "warning");
		tc_free_lines(l, n);
		free(want);
		free(text);
	}
	free(env_cfg);
	free(cfg);
	free(err);
}
END_TEST

/* The whole chain: a document with two sinks, JLOG_SINK redirecting the
 * first to a file, JLOG_FORMAT making it text. */
START_TEST(test_default_logger_environment)
{
	char *cfg = tc_tmppath("env.json");
	char *out = tc_tmppath("env.log");
	write_file(cfg, "{\"level\":\"ERROR\",\"sinks\":[{\"sink\":\"/nonexistent-dir/never.log\"}]}");
	char *env_cfg = fmt("JLOG_CONFIG=%s", cfg), *env_sink = fmt("JLOG_SINK=%s", out);
	const char *env[] = {env_cfg, "JLOG_LEVEL=info", env_sink, "JLOG_FORMAT={level}|{message}",
	                     "JLOG_COLORIZE=0", NULL};
	tc_run_child(log_default, NULL, NULL, env);
	tc_assert_file_text(out, "INFO|info n=5\nWARNING|warning\n");
	free(env_cfg);
	free(env_sink);
	free(cfg);
	free(out);
}
END_TEST

/* The check behind jlog-config: the same verdict and message as
 * jlog_open_config_err(), and nothing opened (the sink's file is not
 * created). */
START_TEST(test_check_only)
{
	char *path = tc_tmppath("never.log");
	char docs[4][512];
	snprintf(docs[0], sizeof(docs[0]), "{\"sinks\":[{\"sink\":\"%s\"}]}", path);
	snprintf(docs[1], sizeof(docs[1]), "{\"sinks\":[{\"sink\":\"%s\",\"preset\":\"elk\"}]}",
	         path);
	snprintf(docs[2], sizeof(docs[2]), "{\"redact\":{\"keys\":[\"\"]},\"sinks\":[{\"sink\":\"%s\"}]}",
	         path);
	snprintf(docs[3], sizeof(docs[3]), "{\"queue_size\":1,\"sinks\":[{\"sink\":\"%s\"}]}", path);
	for (int i = 0; i < 4; i++) {
		json_t *doc = json_loads(docs[i], 0, NULL);
		ck_assert_ptr_nonnull(doc);
		char a[512] = "", b[512] = "";
		int rc = jlog__config_check(doc, a, sizeof(a));
		json_decref(doc);
		ck_assert_int_eq(access(path, F_OK), -1);
		jlog_logger *lg = NULL;
		int rc2 = jlog_open_config_err(&lg, docs[i], b, sizeof(b));
		ck_assert_int_eq(rc, rc2);
		ck_assert_str_eq(a, b);
		ck_assert_int_eq(rc == 0, i == 0);
		if (lg)
			jlog_close(lg);
		unlink(path);
	}
	free(path);
}
END_TEST

/* jlog-config show: every key, the defaults filled in. */
START_TEST(test_effective)
{
	json_t *doc = json_loads("{\"level\":\"WARNING\",\"sinks\":[{\"sink\":\"stdout\","
	                         "\"format\":\"{message}\"}]}", 0, NULL);
	int rc;
	char err[256];
	json_t *e = jlog__config_effective(doc, &rc, err, sizeof(err));
	json_decref(doc);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_string_value(json_object_get(e, "level")), "WARNING");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "queue_size")), 4 << 20);
	ck_assert_str_eq(json_string_value(json_object_get(e, "overflow")), "block");
	json_t *s0 = json_array_get(json_object_get(e, "sinks"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "sink")), "stdout");
	ck_assert(json_is_false(json_object_get(s0, "serialize")));
	ck_assert_str_eq(json_string_value(json_object_get(s0, "colorize")), "auto");
	ck_assert(json_is_true(json_object_get(s0, "catch")));
	json_decref(e);
}
END_TEST

/* jlog-config show: sampling and rate limits with their defaults filled
 * in, null when off. */
START_TEST(test_effective_sampling)
{
	int rc;
	char err[256];
	json_t *doc = json_loads("{\"level\":\"INFO\"}", 0, NULL);
	json_t *e = jlog__config_effective(doc, &rc, err, sizeof(err));
	json_decref(doc);
	ck_assert_ptr_nonnull(e);
	ck_assert(json_is_null(json_object_get(e, "sampling")));
	ck_assert(json_is_null(json_object_get(e, "rate_limit")));
	json_decref(e);

	doc = json_loads("{\"sampling\":{\"first\":7},\"rate_limit\":{\"per_second\":2.5,"
	                 "\"per\":\"logger\"}}", 0, NULL);
	e = jlog__config_effective(doc, &rc, err, sizeof(err));
	json_decref(doc);
	ck_assert_msg(e != NULL, "%s", err);
	json_t *sm = json_object_get(e, "sampling");
	ck_assert_int_eq(json_integer_value(json_object_get(sm, "first")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(sm, "thereafter")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(sm, "interval_ms")), 1000);
	ck_assert_str_eq(json_string_value(json_object_get(sm, "max_level")), "WARNING");
	json_t *rl = json_object_get(e, "rate_limit");
	ck_assert(json_number_value(json_object_get(rl, "per_second")) == 2.5);
	/* A burst of 0 is the rate rounded up. */
	ck_assert_int_eq(json_integer_value(json_object_get(rl, "burst")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(rl, "per")), "logger");
	ck_assert_str_eq(json_string_value(json_object_get(rl, "max_level")), "WARNING");
	json_decref(e);
}
END_TEST

/* show prints a preset and a time format by the names the parsers read
 * them as, whatever case or alias the document used. */
START_TEST(test_effective_canonical_names)
{
	int rc;
	char err[256];
	json_t *doc = json_loads("{\"sinks\":[{\"sink\":\"stderr\",\"preset\":\"ECS\","
	                         "\"time_format\":\"RFC3339\"},{\"sink\":\"stdout\","
	                         "\"time_format\":\"Epoch\"}]}", 0, NULL);
	ck_assert_ptr_nonnull(doc);
	json_t *e = jlog__config_effective(doc, &rc, err, sizeof(err));
	json_decref(doc);
	ck_assert_msg(e != NULL, "%s", err);
	json_t *sinks = json_object_get(e, "sinks");
	ck_assert_uint_eq(json_array_size(sinks), 2);
	json_t *s0 = json_array_get(sinks, 0), *s1 = json_array_get(sinks, 1);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "preset")), "ecs");
	ck_assert_str_eq(json_string_value(json_object_get(s0, "time_format")), "rfc3339_us");
	ck_assert_str_eq(json_string_value(json_object_get(s1, "preset")), "default");
	ck_assert_str_eq(json_string_value(json_object_get(s1, "time_format")), "epoch_s");
	json_decref(e);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *doc = tcase_create("document");
	tcase_add_test(doc, test_inline_and_file_forms);
	tcase_add_test(doc, test_level_forms);
	tcase_add_test(doc, test_queue_overflow_flush_max);
	tcase_add_test(doc, test_close_timeout);
	tcase_add_test(doc, test_name);
	tcase_add_test(doc, test_file_mode);
	tcase_add_test(doc, test_allow_symlink);
	tcase_add_test(doc, test_modules);
	suite_add_tcase(s, doc);

	TCase *sinks = tcase_create("sinks");
	tcase_add_test(sinks, test_sink_targets);
	tcase_add_test(sinks, test_level_rule);
	tcase_add_test(sinks, test_format_serialize_colorize);
	tcase_add_test(sinks, test_preset_time_keys);
	tcase_add_test(sinks, test_filter);
	tcase_add_test(sinks, test_backtrace_diagnose);
	tcase_add_test(sinks, test_catch);
	suite_add_tcase(s, sinks);

	TCase *errors = tcase_create("errors");
	tcase_add_test(errors, test_errors_name_the_key);
	tcase_add_test(errors, test_errors_of_sinks);
	tcase_add_test(errors, test_error_leaves_nothing);
	tcase_add_test(errors, test_open_config_err_buffer);
	tcase_add_test(errors, test_open_config_sets_last_error);
	tcase_add_test(errors, test_check_only);
	tcase_add_test(errors, test_effective);
	tcase_add_test(errors, test_effective_sampling);
	tcase_add_test(errors, test_effective_canonical_names);
	suite_add_tcase(s, errors);

	TCase *levels = tcase_create("levels");
	tcase_add_test(levels, test_doc_levels);
	tcase_add_test(levels, test_doc_levels_errors);
	suite_add_tcase(s, levels);

	TCase *env = tcase_create("environment");
	tcase_add_test(env, test_env_config);
	tcase_add_test(env, test_env_level);
	tcase_add_test(env, test_env_level_off_and_custom);
	tcase_add_test(env, test_env_sink);
	tcase_add_test(env, test_env_format_serialize_colorize);
	tcase_add_test(env, test_env_bad_config);
	tcase_add_test(env, test_default_logger_environment);
	tcase_set_timeout(env, 60);
	suite_add_tcase(s, env);
	return s;
}
