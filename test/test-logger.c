/*
 * The public API end to end: records go through the ring and the writer
 * into a real file, and every line is parsed with jansson. Covers flush
 * and close semantics, exit and thread exit, levels, children, overflow
 * policies, truncation, the duplicate-key rule and sink failures.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

/* ---- the schema ----------------------------------------------------------- */

START_TEST(test_schema_and_fields)
{
	char *path;
	jlog_logger *lg = open_file_logger(&path, NULL);
	json_t *payload = json_pack("{s:i, s:[s, b]}", "n", 1, "list", "x", 1);
	JLOG_INFO(lg, "request handled", JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_UINT("u", UINT64_C(4000000000)), JLOG_NULL("nothing"),
	          JLOG_STR("missing", NULL), JLOG_JSON("payload", payload),
	          JLOG_STRN("bytes", "a\0b", 3), JLOG_INT("neg", INT64_MIN));
	/* The caller may free a JSON value as soon as the call returns. */
	json_decref(payload);
	int line = __LINE__ - 7;
	JLOG_INFO(lg, "big", JLOG_UINT("big", UINT64_MAX));
	ck_assert_int_eq(jlog_close(lg), 0);

	/* jansson's integers are signed 64-bit: UINT64_MAX is checked in the
	 * raw text, and its line is parsed with big integers as reals. */
	char *text = tc_slurp(path, NULL);
	char *second = strchr(text, '\n') + 1;
	ck_assert_ptr_nonnull(strstr(second, "\"big\":18446744073709551615}"));
	json_error_t err;
	json_t *b = json_loads(second, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(b != NULL, "not JSON: %s", err.text);
	ck_assert_double_eq(json_real_value(json_object_get(b, "big")), 18446744073709551615.0);
	json_decref(b);
	second[0] = '\0';
	size_t n;
	json_t **lines = tc_parse_lines_n(text, strlen(text), &n);
	ck_assert_uint_eq(n, 1);
	json_t *o = lines[0];

	/* Key order: the schema, then the fields as given. */
	static const char *order[] = {"time", "level", "message", "file", "line", "function",
	                              "pid", "tid", "user", "status", "latency_ms", "cached",
	                              "u", "nothing", "missing", "payload", "bytes", "neg"};
	void *it = json_object_iter(o);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		ck_assert_ptr_nonnull(it);
		ck_assert_str_eq(json_object_iter_key(it), order[i]);
		it = json_object_iter_next(o, it);
	}
	ck_assert_ptr_null(it);

	ck_assert_str_eq(str_of(o, "level"), "INFO");
	ck_assert_str_eq(str_of(o, "message"), "request handled");
	ck_assert_str_eq(str_of(o, "file"), "test-logger.c");
	ck_assert_int_eq(int_of(o, "line"), line);
	/* Check's START_TEST names the function test_..._fn. */
	ck_assert_str_eq(str_of(o, "function"), "test_schema_and_fields_fn");
	ck_assert_int_eq(int_of(o, "pid"), getpid());
	ck_assert_int_eq(int_of(o, "tid"), (json_int_t)jlog__gettid());
	ck_assert_str_eq(str_of(o, "user"), "alice");
	ck_assert_int_eq(int_of(o, "status"), 200);
	ck_assert(json_is_real(json_object_get(o, "latency_ms")));
	ck_assert_double_eq(json_real_value(json_object_get(o, "latency_ms")), 12.5);
	ck_assert(json_is_true(json_object_get(o, "cached")));
	ck_assert(json_is_null(json_object_get(o, "nothing")));
	ck_assert(json_is_null(json_object_get(o, "missing")));
	json_t *p = json_object_get(o, "payload");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "n")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(p, "list"), 0)), "x");
	json_t *bytes = json_object_get(o, "bytes");
	ck_assert_uint_eq(json_string_length(bytes), 3);
	ck_assert_mem_eq(json_string_value(bytes), "a\0b", 3);
	ck_assert_int_eq(int_of(o, "neg"), INT64_MIN);

	/* time: RFC 3339, UTC, microseconds, close to now. */
	const char *t = str_of(o, "time");
	ck_assert_uint_eq(strlen(t), 27);
	struct tm tm = {0};
	ck_assert_ptr_nonnull(strptime(t, "%Y-%m-%dT%H:%M:%S", &tm));
	ck_assert_int_eq(t[19], '.');
	ck_assert_int_eq(t[26], 'Z');
	time_t when = timegm(&tm);
	ck_assert_int_lt(labs((long)(when - time(NULL))), 60);

	ck_assert_int_eq(int_of(o, "u"), 4000000000);
	free(text);
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

START_TEST(test_levels_and_names)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.level = JLOG_LEVEL_TRACE;
	jlog_logger *lg = open_file_logger(&path, &o);
	JLOG_TRACE(lg, "t");
	JLOG_DEBUG(lg, "d");
	JLOG_INFO(lg, "i");
	JLOG_SUCCESS(lg, "s");
	JLOG_WARNING(lg, "w");
	JLOG_ERROR(lg, "e");
	JLOG_CRITICAL(lg, "c");
	JLOG_LOG(lg, 22, "custom");
	JLOG_LOG(lg, 1000, "clamped");
	JLOG_INFOF(lg, "%d items in %s", 3, "cart");
	jlog_close(lg);

	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 10);
	static const char *want[] = {"TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING",
	                             "ERROR", "CRITICAL", "22", "255", "INFO"};
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(str_of(lines[i], "level"), want[i]);
	ck_assert_str_eq(str_of(lines[9], "message"), "3 items in cart");
	tc_free_lines(lines, n);
	free(path);

	ck_assert_int_eq(jlog_level_parse("warning"), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_level_parse("DEBUG"), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_level_parse("Info"), JLOG_LEVEL_INFO);
	ck_assert_int_eq(jlog_level_parse("22"), 22);
	ck_assert_int_eq(jlog_level_parse("256"), -EINVAL);
	ck_assert_int_eq(jlog_level_parse("loud"), -EINVAL);
	ck_assert_str_eq(jlog_last_error(), "unknown level \"loud\" (a level's name, \"off\" or "
	                 "0..255)");
	ck_assert_str_eq(jlog_level_name(JLOG_LEVEL_SUCCESS), "SUCCESS");
	ck_assert_ptr_null(jlog_level_name(22));
}
END_TEST

static int evaluated;
static int count_eval(void)
{
	return ++evaluated;
}

START_TEST(test_disabled_level_evaluates_nothing)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.level = JLOG_LEVEL_WARNING;
	jlog_logger *lg = open_file_logger(&path, &o);
	evaluated = 0;
	JLOG_INFO(lg, "no", JLOG_INT("n", count_eval()));
	JLOG_DEBUGF(lg, "no %d", count_eval());
	JLOG_LOG(lg, JLOG_LEVEL_WARNING - 1, "no", JLOG_INT("n", count_eval()));
	ck_assert_int_eq(evaluated, 0);
	ck_assert(!jlog_enabled(lg, JLOG_LEVEL_INFO));
	ck_assert(jlog_enabled(lg, JLOG_LEVEL_WARNING));

	JLOG_WARNING(lg, "yes", JLOG_INT("n", count_eval()));
	ck_assert_int_eq(evaluated, 1);

	jlog_set_level(lg, JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_DEBUG);
	JLOG_DEBUG(lg, "now yes", JLOG_INT("n", count_eval()));
	ck_assert_int_eq(evaluated, 2);
	jlog_close(lg);

	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(int_of(lines[0], "n"), 1);
	ck_assert_int_eq(int_of(lines[1], "n"), 2);
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/* ---- children ------------------------------------------------------------- */

START_TEST(test_children)
{
	char *path;
	jlog_logger *root = open_file_logger(&path, NULL);
	jlog_logger *api = jlog_named(root, "api");
	jlog_logger *db = jlog_named(api, "db");
	jlog_logger *req = JLOG_WITH(db, JLOG_STR("request_id", "r-1"), JLOG_INT("attempt", 1));
	char id[16] = "r-2";
	jlog_logger *req2 = JLOG_WITH(req, JLOG_STR("request_id", id));
	/* The bound value was copied: changing the buffer changes nothing. */
	strcpy(id, "CHANGED");
	ck_assert_ptr_nonnull(api);
	ck_assert_ptr_nonnull(db);
	ck_assert_ptr_nonnull(req);
	ck_assert_ptr_nonnull(req2);

	JLOG_INFO(api, "a");
	JLOG_INFO(req, "b", JLOG_STR("user", "bob"));
	JLOG_INFO(req2, "c", JLOG_INT("attempt", 2));
	/* Children follow the root's level unless their own is set. */
	jlog_set_level(root, JLOG_LEVEL_ERROR);
	ck_assert_int_eq(jlog_get_level(req2), JLOG_LEVEL_ERROR);
	JLOG_INFO(req2, "filtered");
	jlog_set_level(api, JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(root), JLOG_LEVEL_ERROR);
	JLOG_DEBUG(req2, "d");
	jlog_set_level(root, JLOG_LEVEL_WARNING);
	/* api has its own level now, so it and its children keep it. */
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_DEBUG);

	/* Closing a child releases only the child. */
	ck_assert_int_eq(jlog_close(db), 0);
	JLOG_DEBUG(req, "e");
	ck_assert_int_eq(jlog_close(req), 0);
	JLOG_WARNING(root, "f");
	ck_assert_int_eq(jlog_close(root), 0);

	/* After the root is closed its children log nothing and do not crash. */
	JLOG_CRITICAL(req2, "after close");
	ck_assert(!jlog_enabled(req2, JLOG_LEVEL_CRITICAL));
	ck_assert_int_eq(jlog_flush(req2), -EINVAL);
	ck_assert_int_eq(jlog_close(req2), 0);
	ck_assert_int_eq(jlog_close(api), 0);

	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(str_of(lines[0], "logger"), "api");
	ck_assert_str_eq(str_of(lines[1], "logger"), "api.db");
	ck_assert_str_eq(str_of(lines[1], "request_id"), "r-1");
	ck_assert_int_eq(int_of(lines[1], "attempt"), 1);
	ck_assert_str_eq(str_of(lines[1], "user"), "bob");
	/* Last writer wins, no duplicate key (the parser rejects those). */
	ck_assert_str_eq(str_of(lines[2], "request_id"), "r-2");
	ck_assert_int_eq(int_of(lines[2], "attempt"), 2);
	ck_assert_str_eq(str_of(lines[3], "message"), "d");
	ck_assert_str_eq(str_of(lines[4], "message"), "e");
	ck_assert_str_eq(str_of(lines[5], "message"), "f");
	ck_assert_ptr_null(json_object_get(lines[5], "logger"));
	tc_free_lines(lines, n);

	/* "logger" comes right after "message". */
	char *text = tc_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\"message\":\"a\",\"logger\":\"api\",\"file\""));
	free(text);
	free(path);
}
END_TEST

/* loguru's filter dict {"": "WARNING", "db": "DEBUG"}: longest prefix
 * wins, a handle's own level wins over modules, and prefixes match whole
 * name components. */
START_TEST(test_module_levels)
{
	char *path;
	jlog_logger *root = open_file_logger(&path, NULL);
	jlog_logger *db = jlog_named(root, "db");
	jlog_logger *pool = jlog_named(db, "pool");
	jlog_logger *dbx = jlog_named(root, "dbx");
	jlog_logger *api = jlog_named(root, "api");
	ck_assert_int_eq(jlog_set_module_level(root, "", JLOG_LEVEL_WARNING), 0);
	ck_assert_int_eq(jlog_set_module_level(root, "db", JLOG_LEVEL_DEBUG), 0);
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(pool), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(jlog_get_level(dbx), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_get_level(api), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_get_level(root), JLOG_LEVEL_INFO); /* unnamed */

	/* Children created later resolve the same way. */
	jlog_logger *later = jlog_named(pool, "conn");
	ck_assert_int_eq(jlog_get_level(later), JLOG_LEVEL_DEBUG);
	/* A handle's own level wins. */
	jlog_set_level(pool, JLOG_LEVEL_ERROR);
	ck_assert_int_eq(jlog_get_level(pool), JLOG_LEVEL_ERROR);
	ck_assert_int_eq(jlog_get_level(later), JLOG_LEVEL_DEBUG); /* module "db" */

	JLOG_DEBUG(db, "db debug");
	JLOG_DEBUG(pool, "pool debug, filtered");
	JLOG_INFO(api, "api info, filtered");
	JLOG_WARNING(api, "api warning");
	JLOG_DEBUG(later, "conn debug");

	/* Removing an entry falls back to the next rule. */
	ck_assert_int_eq(jlog_set_module_level(root, "db", -1), 0);
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_set_module_level(root, NULL, 1), -EINVAL);
	ck_assert_int_eq(jlog_set_module_level(root, "x", 300), -EINVAL);

	jlog_close(later);
	jlog_close(api);
	jlog_close(dbx);
	jlog_close(pool);
	jlog_close(db);
	jlog_close(root);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(str_of(lines[0], "message"), "db debug");
	ck_assert_str_eq(str_of(lines[1], "message"), "api warning");
	ck_assert_str_eq(str_of(lines[2], "message"), "conn debug");
	ck_assert_str_eq(str_of(lines[2], "logger"), "db.pool.conn");
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

START_TEST(test_custom_levels)
{
	ck_assert_int_eq(jlog_level_add("NOTICE", 22, "<yellow>"), 0);
	ck_assert_int_eq(jlog_level_add("audit", 45, NULL), 0);
	ck_assert_int_eq(jlog_level_add("NOTICE", 22, "<green>"), 0); /* color only */
	ck_assert_int_eq(jlog_level_add("NOTICE", 23, NULL), -EEXIST);
	ck_assert_int_eq(jlog_level_add("OTHER", 22, NULL), -EEXIST);
	ck_assert_int_eq(jlog_level_add("LOUD", JLOG_LEVEL_INFO, NULL), -EEXIST);
	ck_assert_int_eq(jlog_level_add("bad name", 60, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "level \"bad name\" (60)"));
	ck_assert_int_eq(jlog_level_add("X", 256, NULL), -EINVAL);
	ck_assert_int_eq(jlog_level_from_name("notice"), 22);
	ck_assert_int_eq(jlog_level_from_name("AUDIT"), 45);
	ck_assert_int_eq(jlog_level_from_name("Warning"), JLOG_LEVEL_WARNING);
	ck_assert_str_eq(jlog_level_name(45), "AUDIT");

	char *path = tc_tmppath("levels.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	JLOG_LOG(lg, 22, "a notice");
	JLOG_LOG(lg, jlog_level_from_name("audit"), "an audit");
	JLOG_LOG(lg, 33, "unnamed");
	jlog_close(lg);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "level")), "NOTICE");
	ck_assert_str_eq(json_string_value(json_object_get(l[1], "level")), "AUDIT");
	ck_assert_str_eq(json_string_value(json_object_get(l[2], "level")), "33");
	tc_free_lines(l, n);
	free(path);
}
END_TEST

/* A color is markup the text format knows, or the level is refused with
 * -EINVAL and a message naming the color; a good one is taken. */
START_TEST(test_level_add_checks_color)
{
	static const char *const bad[] = {"<purple>", "not markup at all", "<red", "</red>",
	                                  "<red>x", "<level>", "<fg nocolor>"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(jlog_level_add("HUECHECK", 23, bad[i]) == -EINVAL, "%s taken", bad[i]);
		char *want = NULL;
		ck_assert_int_ge(asprintf(&want, "color \"%s\"", bad[i]), 0);
		ck_assert_msg(strstr(jlog_last_error(), want), "%s: \"%s\"", bad[i],
		              jlog_last_error());
		free(want);
		ck_assert_int_eq(jlog_level_from_name("HUECHECK"), -EINVAL); /* not added */
	}
	ck_assert_int_eq(jlog_level_add("HUECHECK", 23, "<fg nocolor>"), -EINVAL);
	ck_assert_str_eq(jlog_last_error(),
	                 "level \"HUECHECK\" (23): color \"<fg nocolor>\": unknown tag <fg nocolor>");
	static const char *const good[] = {"<fg #ff8000><bold>", " <red> <bold> ", "<LIGHT-BLUE>",
	                                   "", NULL};
	for (int i = 0; i < (int)(sizeof(good) / sizeof(good[0])); i++) {
		char name[16];
		snprintf(name, sizeof(name), "GOOD%d", i);
		ck_assert_msg(jlog_level_add(name, 60 + i, good[i]) == 0, "%s: %s",
		              good[i] ? good[i] : "NULL", jlog_last_error());
	}
}
END_TEST

/* One parser: "off"/"none", blanks around a name, and the same words
 * through jlog_level_parse(), jlog_level_from_name() and the configuration. */
START_TEST(test_level_off_everywhere)
{
	static const char *const off[] = {"off", "OFF", "none", " Off ", "none\t"};
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		ck_assert_int_eq(jlog_level_from_name(off[i]), JLOG_LEVEL_OFF);
		ck_assert_int_eq(jlog_level_parse(off[i]), JLOG_LEVEL_OFF);
	}
	ck_assert_int_eq(jlog_level_from_name(" warning "), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(jlog_level_from_name(" 22 "), 22);
	ck_assert_int_eq(jlog_level_from_name("+22"), -EINVAL);
	ck_assert_int_eq(jlog_level_from_name("2 2"), -EINVAL);
	ck_assert_int_eq(jlog_level_from_name(""), -EINVAL);
	ck_assert_int_eq(jlog_level_from_name(NULL), -EINVAL);

	jlog_logger *lg;
	char err[256];
	ck_assert_int_eq(jlog_open_config_err(&lg, "{\"level\": \" none \", \"modules\": "
	                 "{\"db\": \"off\"}, \"sinks\": [{\"sink\": \"/dev/null\", "
	                 "\"level\": \"Off\"}]}", err, sizeof(err)), 0);
	ck_assert_int_eq(jlog_get_level(lg), JLOG_LEVEL_OFF);
	jlog_logger *db = jlog_named(lg, "db");
	ck_assert_int_eq(jlog_get_level(db), JLOG_LEVEL_OFF);
	jlog_close(db);
	jlog_close(lg);
}
END_TEST

START_TEST(test_reserved_key_collisions)
{
	char *path;
	jlog_logger *lg = open_file_logger(&path, NULL);
	JLOG_INFO(lg, "real", JLOG_STR("message", "fake"), JLOG_STR("time", "t"),
	          JLOG_INT("level", 3), JLOG_STR("x", "1"), JLOG_STR("x", "2"));
	jlog_close(lg);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(str_of(lines[0], "message"), "real");
	ck_assert_str_eq(str_of(lines[0], "fields.message"), "fake");
	ck_assert_str_eq(str_of(lines[0], "fields.time"), "t");
	ck_assert_int_eq(int_of(lines[0], "fields.level"), 3);
	ck_assert_str_eq(str_of(lines[0], "level"), "INFO");
	ck_assert_str_eq(str_of(lines[0], "x"), "2");
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/* ---- flush, close, overflow ---------------------------------------------- */

#define FLUSH_THREADS 2
#define FLUSH_RECORDS ((int)tc_scale(20000, 2000))

struct flood_arg {
	jlog_logger *lg;
	int id;
	int count;
	atomic_ulong *attempted;
};

static void *flood_thread(void *arg)
{
	struct flood_arg *a = arg;
	for (int i = 0; i < a->count; i++) {
		JLOG_INFO(a->lg, "flood", JLOG_INT("thread", a->id), JLOG_INT("seq", i),
		          JLOG_STR("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
		if (a->attempted)
			atomic_fetch_add(a->attempted, 1);
	}
	return NULL;
}

/* Check per-thread order and completeness: seq 0..count-1 per thread. */
static void check_sequences(json_t **lines, size_t n, int threads, int count, bool complete)
{
	int next[16] = {0};
	for (size_t i = 0; i < n; i++) {
		json_t *th = json_object_get(lines[i], "thread");
		if (!th)
			continue;
		int t = (int)json_integer_value(th);
		int seq = (int)json_integer_value(json_object_get(lines[i], "seq"));
		TC_CHECK(t < threads);
		if (complete && seq != next[t])
			ck_abort_msg("thread %d: seq %d, expected %d", t, seq, next[t]);
		if (seq < next[t])
			ck_abort_msg("thread %d: seq %d after %d (order or duplicate)", t, seq, next[t]);
		next[t] = seq + 1;
	}
	if (complete)
		for (int t = 0; t < threads; t++)
			ck_assert_int_eq(next[t], count);
}

START_TEST(test_flush_semantics)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.flush_interval_ms = 10000; /* only jlog_flush() may explain the output */
	jlog_logger *lg = open_file_logger(&path, &o);
	pthread_t th[FLUSH_THREADS];
	struct flood_arg args[FLUSH_THREADS];
	for (int i = 0; i < FLUSH_THREADS; i++) {
		args[i] = (struct flood_arg){lg, i, FLUSH_RECORDS, NULL};
		pthread_create(&th[i], NULL, flood_thread, &args[i]);
	}
	for (int i = 0; i < FLUSH_THREADS; i++)
		pthread_join(th[i], NULL);
	JLOG_INFO(lg, "last");
	ck_assert_int_eq(jlog_flush(lg), 0);

	/* Everything committed before the flush is in the file now, with the
	 * logger still open. */
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, FLUSH_THREADS * FLUSH_RECORDS + 1);
	check_sequences(lines, n, FLUSH_THREADS, FLUSH_RECORDS, true);
	ck_assert_str_eq(str_of(lines[n - 1], "message"), "last");
	tc_free_lines(lines, n);

	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.logged, FLUSH_THREADS * FLUSH_RECORDS + 1);
	ck_assert_uint_eq(st.written, st.logged);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.write_errors, 0);
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(st.bytes_written, (uint64_t)sb.st_size);
	/* A flush with nothing new returns at once. */
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_close(lg);
	free(path);
}
END_TEST

/* A small ring under BLOCK: producers wait, nothing is lost. */
START_TEST(test_block_loses_nothing)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.queue_size = 64 * 1024;
	jlog_logger *lg = open_file_logger(&path, &o);
	pthread_t th[4];
	struct flood_arg args[4];
	int count = (int)tc_scale(50000, 2000);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct flood_arg){lg, i, count, NULL};
		pthread_create(&th[i], NULL, flood_thread, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	jlog_stats st;
	jlog_close(lg); /* close drains: no flush before it */
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 4 * (size_t)count);
	check_sequences(lines, n, 4, count, true);
	tc_free_lines(lines, n);
	(void)st;
	free(path);
}
END_TEST

/* A small ring under DROP: nothing waits, every loss is counted, and the
 * drop reports in the output add up to the counter. */
START_TEST(test_drop_counts_everything)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.queue_size = 64 * 1024;
	o.overflow = JLOG_OVERFLOW_DROP;
	jlog_logger *lg = open_file_logger(&path, &o);
	atomic_ulong attempted = 0;
	pthread_t th[3];
	struct flood_arg args[3];
	int count = (int)tc_scale(100000, 5000);
	for (int i = 0; i < 3; i++) {
		args[i] = (struct flood_arg){lg, i, count, &attempted};
		pthread_create(&th[i], NULL, flood_thread, &args[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	jlog_flush(lg);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	jlog_close(lg);

	ck_assert_uint_eq(st.logged + st.dropped, atomic_load(&attempted));
	ck_assert_uint_gt(st.dropped, 0); /* the ring really overflowed */
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	uint64_t records = 0, reported = 0, reports = 0;
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(lines[i], "thread")) {
			records++;
			continue;
		}
		ck_assert_str_eq(str_of(lines[i], "message"), "records dropped");
		ck_assert_str_eq(str_of(lines[i], "level"), "WARNING");
		reported += (uint64_t)int_of(lines[i], "dropped");
		reports++;
	}
	ck_assert_uint_eq(records, st.logged);
	ck_assert_uint_eq(reported, st.dropped);
	ck_assert_uint_ge(reports, 1);
	check_sequences(lines, n, 3, count, false);
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

static void *log_once_and_exit(void *arg)
{
	JLOG_INFO((jlog_logger *)arg, "short-lived thread", JLOG_INT("tid", 0));
	return NULL;
}

/* Records from threads that exit right after logging are written. */
/* jlog_close() of a root while other threads call jlog_flush(),
 * jlog_get_stats() and jlog_named() on it (and log through and close the
 * children they made): those calls are waited for, so nothing they read
 * is freed under them (under ASan, a use after free fails this). They
 * see either the open logger or the closed one. */
struct close_race {
	jlog_logger *lg;
	_Atomic bool stop;
	unsigned bad;
};

static void *close_race_main(void *p)
{
	struct close_race *r = p;
	while (!atomic_load(&r->stop)) {
		int rc = jlog_flush(r->lg);
		if (rc != 0 && rc != -EINVAL)
			r->bad++;
		jlog_stats st;
		if (jlog_get_stats(r->lg, &st) != 0)
			r->bad++;
		jlog_logger *c = jlog_named(r->lg, "c");
		if (!c) {
			r->bad++;
			continue;
		}
		JLOG_INFO(c, "from a child");
		jlog_close(c);
	}
	return NULL;
}

START_TEST(test_close_races_other_calls)
{
	for (int round = 0; round < (int)tc_scale(100, 20); round++) {
		jlog_options o;
		jlog_options_init(&o);
		o.sink = "/dev/null";
		struct close_race r = {.stop = false};
		ck_assert_int_eq(jlog_open(&r.lg, &o), 0);
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(pthread_create(&th[i], NULL, close_race_main, &r), 0);
		struct timespec ts = {0, 200000 * (round % 5)};
		nanosleep(&ts, NULL);
		ck_assert_int_eq(jlog_close(r.lg), 0);
		atomic_store(&r.stop, true);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		ck_assert_uint_eq(r.bad, 0);
		/* The tombstone afterwards: closed, and children of it inert. */
		ck_assert_int_eq(jlog_flush(r.lg), -EINVAL);
	}
}
END_TEST

/* A logger name past 255 bytes is cut at a character boundary, and the
 * handle's records say truncated; one within the limit is whole. */
START_TEST(test_long_name_cut)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	char root_name[401];
	for (int i = 0; i < 200; i++)
		memcpy(root_name + 2 * i, "\xc3\xa9", 2); /* U+00E9, 2 bytes */
	root_name[400] = '\0';
	o.name = root_name;
	jlog_logger *lg = open_file_logger(&path, &o);
	JLOG_INFO(lg, "root");
	jlog_options o2;
	jlog_options_init(&o2);
	char *path2;
	jlog_logger *lg2 = open_file_logger(&path2, &o2);
	jlog_logger *ch = jlog_named(lg2, root_name);
	ck_assert_ptr_nonnull(ch);
	jlog_logger *short_ch = jlog_named(lg2, "db");
	JLOG_INFO(ch, "child");
	JLOG_INFO(short_ch, "short");
	jlog_close(ch);
	jlog_close(short_ch);
	jlog_close(lg2);
	jlog_close(lg);
	const char *paths[2] = {path, path2};
	for (int f = 0; f < 2; f++) {
		size_t n;
		json_t **lines = tc_parse_file(paths[f], &n);
		for (size_t i = 0; i < n; i++) {
			const char *m = str_of(lines[i], "message");
			if (strcmp(m, "short") == 0) {
				ck_assert_str_eq(str_of(lines[i], "logger"), "db");
				ck_assert_ptr_null(json_object_get(lines[i], "truncated"));
				continue;
			}
			const char *name = str_of(lines[i], "logger");
			ck_assert_uint_le(strlen(name), 255);
			ck_assert_uint_eq(strlen(name) % 2, 0); /* whole characters */
			ck_assert_ptr_null(strstr(name, "\xef\xbf\xbd")); /* no U+FFFD */
			ck_assert(json_is_true(json_object_get(lines[i], "truncated")));
		}
		ck_assert_uint_eq(n, f == 0 ? 1 : 2);
		tc_free_lines(lines, n);
	}
	free(path);
	free(path2);
}
END_TEST

START_TEST(test_thread_exit)
{
	char *path;
	jlog_logger *lg = open_file_logger(&path, NULL);
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		pthread_create(&t, NULL, log_once_and_exit, lg);
		pthread_detach(t);
	}
	/* Detached threads: wait until all 200 have committed. */
	jlog_stats st;
	for (int i = 0; i < 1000; i++) {
		jlog_get_stats(lg, &st);
		if (st.logged == 200)
			break;
		usleep(2000);
	}
	ck_assert_uint_eq(st.logged, 200);
	jlog_close(lg);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 200);
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/* ---- exit ----------------------------------------------------------------- */

static void *exit_from_thread(void *arg)
{
	(void)arg;
	JLOG_INFO(NULL, "from thread");
	exit(0);
}

/* The default logger (configured by the environment) is drained at
 * exit(), from the main thread or from another one. */
static void run_default_logger_child(const char *path, bool from_thread)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("JLOG_SINK", path, 1);
		setenv("JLOG_LEVEL", "debug", 1);
		for (int i = 0; i < 5000; i++)
			JLOG_DEBUG(NULL, "child", JLOG_INT("seq", i));
		if (from_thread) {
			pthread_t t;
			pthread_create(&t, NULL, exit_from_thread, NULL);
			pthread_join(t, NULL);
		}
		exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, from_thread ? 5001 : 5000);
	for (size_t i = 0; i < 5000; i++)
		TC_CHECK_INT_EQ(int_of(lines[i], "seq"), (json_int_t)i);
	ck_assert_str_eq(str_of(lines[0], "level"), "DEBUG");
	tc_free_lines(lines, n);
}

START_TEST(test_default_logger_drains_at_exit)
{
	char *path = tc_tmppath("default.jsonl");
	run_default_logger_child(path, false);
	free(path);
}
END_TEST

START_TEST(test_exit_from_other_thread)
{
	char *path = tc_tmppath("default.jsonl");
	run_default_logger_child(path, true);
	free(path);
}
END_TEST

/* An explicitly opened logger that is never closed is drained at exit. */
START_TEST(test_unclosed_logger_drains_at_exit)
{
	char *path = tc_tmppath("unclosed.jsonl");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		jlog_options o;
		jlog_options_init(&o);
		o.sink = path;
		o.flush_interval_ms = 10000;
		jlog_logger *lg;
		if (jlog_open(&lg, &o) != 0)
			_exit(3);
		for (int i = 0; i < 10000; i++)
			JLOG_INFO(lg, "x", JLOG_INT("seq", i));
		exit(0); /* no close: the exit handler must drain */
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 10000);
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/* ---- truncation ----------------------------------------------------------- */

START_TEST(test_truncation)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.max_record_size = 4096;
	jlog_logger *lg = open_file_logger(&path, &o);
	size_t big = 1 << 20;
	char *s = malloc(big + 1);
	/* Multi-byte characters, so a cut could split one. */
	for (size_t i = 0; i < big; i += 2) {
		s[i] = (char)0xC3;
		s[i + 1] = (char)0xA9; /* é */
	}
	s[big] = '\0';
	JLOG_INFO(lg, "big value", JLOG_STR("short", "kept"), JLOG_STR("huge", s),
	          JLOG_INT("after", 7));
	JLOG_INFO(lg, "normal");
	/* A printf message longer than a record is cut and marked too. */
	JLOG_INFOF(lg, "%s!", s);
	jlog_stats st;
	jlog_flush(lg);
	jlog_get_stats(lg, &st);
	jlog_close(lg);

	ck_assert_uint_eq(st.truncated, 2);
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 3);
	json_t *l = lines[0];
	ck_assert(json_is_true(json_object_get(l, "truncated")));
	ck_assert_str_eq(str_of(l, "short"), "kept");
	ck_assert_int_eq(int_of(l, "after"), 7);
	const char *h = str_of(l, "huge");
	size_t hl = strlen(h);
	ck_assert_uint_lt(hl, 4096);
	ck_assert_uint_gt(hl, 1000);
	/* Ends with the marker, right after a whole character. */
	ck_assert_str_eq(h + hl - 3, "\xE2\x80\xA6");
	ck_assert_str_eq(h + hl - 5, "\xC3\xA9\xE2\x80\xA6");
	free(s);
	ck_assert_ptr_null(json_object_get(lines[1], "truncated"));
	const char *m = str_of(lines[2], "message");
	size_t ml = strlen(m);
	ck_assert(json_is_true(json_object_get(lines[2], "truncated")));
	ck_assert_uint_lt(ml, 4096);
	ck_assert_uint_gt(ml, 1000);
	ck_assert_str_eq(m + ml - 5, "\xC3\xA9\xE2\x80\xA6");
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/* Hostile input through the public API: every line must still parse. */
START_TEST(test_hostile_input)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	o.max_record_size = 1 << 20; /* room for 10,000 fields */
	jlog_logger *lg = open_file_logger(&path, &o);

	/* A json_t nested 5,000 deep: over the 512-level limit, so null (a
	 * parser would refuse the line); 500 deep is embedded. */
	json_t *deep = json_array();
	json_t *cur = deep;
	for (int i = 0; i < 5000; i++) {
		json_t *inner = json_array();
		json_array_append_new(cur, inner);
		cur = inner;
	}
	JLOG_INFO(lg, "deep", JLOG_JSON("v", deep));
	json_decref(deep);
	deep = json_array();
	cur = deep;
	for (int i = 0; i < 500; i++) {
		json_t *inner = json_array();
		json_array_append_new(cur, inner);
		cur = inner;
	}
	JLOG_INFO(lg, "deep but fine", JLOG_JSON("v", deep));
	json_decref(deep);

	/* 10,000 fields, many with the same key (last writer wins). */
	jlog_field *many = malloc(10000 * sizeof(*many));
	char (*keys)[16] = malloc(10000 * sizeof(*keys));
	for (int i = 0; i < 10000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i % 7000);
		many[i] = JLOG_INT(keys[i], i);
	}
	jlog__log(lg, NULL, JLOG_LEVEL_INFO, "many", 4, many, 10000);
	free(many);
	free(keys);

	/* Control characters and quotes in keys and the message, a 1 MiB
	 * value, invalid UTF-8. */
	char *big = malloc((1 << 20) + 1);
	memset(big, 'a', 1 << 20);
	big[1 << 20] = '\0';
	JLOG_INFO(lg, "line\nbreak \"quoted\" \x01\x1f",
	          JLOG_STR("key\n\"with\"\ttabs", "v\r\n{\"injected\":1}"),
	          JLOG_STR("big", big), JLOG_STRN("bad", "\xff\xc0\x80\xed\xa0\x80", 6));
	free(big);
	jlog_close(lg);

	size_t n;
	json_t **lines = tc_parse_file(path, &n); /* one object per line */
	ck_assert_uint_eq(n, 4);
	ck_assert(json_is_null(json_object_get(lines[0], "v")));
	ck_assert(json_is_array(json_object_get(lines[1], "v")));
	/* k0 was written by i = 0 and i = 7000: the last one wins. */
	ck_assert_int_eq(int_of(lines[2], "k0"), 7000);
	ck_assert_int_eq(int_of(lines[2], "k6999"), 6999);
	/* time, level, message, pid, tid (no callsite given), 7,000 keys. */
	ck_assert_uint_eq(json_object_size(lines[2]), 5 + 7000);
	ck_assert_str_eq(str_of(lines[3], "message"), "line\nbreak \"quoted\" \x01\x1f");
	ck_assert_str_eq(str_of(lines[3], "key\n\"with\"\ttabs"), "v\r\n{\"injected\":1}");
	ck_assert(json_is_true(json_object_get(lines[3], "truncated")));
	ck_assert_str_eq(str_of(lines[3], "bad"),
	                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	tc_free_lines(lines, n);
	free(path);
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

START_TEST(test_open_errors)
{
	jlog_logger *lg = (jlog_logger *)0x1;
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/nonexistent-dir/sub/log.jsonl";
	ck_assert_int_eq(jlog_open(&lg, &o), -ENOENT);
	ck_assert_ptr_null(lg);

	jlog_options_init(&o);
	o.queue_size = 10;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	jlog_options_init(&o);
	o.level = -1;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	jlog_options_init(&o);
	o.flush_interval_ms = 0;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	jlog_options_init(&o);
	o.overflow = (jlog_overflow)7;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_int_eq(jlog_open(NULL, NULL), -EINVAL);

	ck_assert_str_eq(jlog_strerror(-ENOENT), "no such file or directory");
	ck_assert_str_eq(jlog_strerror(-EINVAL), "invalid argument");
	ck_assert_ptr_nonnull(jlog_strerror(-ECONNABORTED));
	ck_assert_ptr_nonnull(jlog_strerror(123456));
	ck_assert_int_eq(jlog_close(NULL), 0);
}
END_TEST

/* Every refused option of jlog_open() says which, the value and the range,
 * and a failure never shows an older call's message. */
START_TEST(test_open_errors_explained)
{
	static const struct {
		const char *option;
		const char *words[2]; /* the value and the range */
	} want[] = {
		{"level", {"-1", "0..256"}},
		{"queue_size", {"10", "65536..1073741824"}},
		{"flush_interval_ms", {"0", "1..10000"}},
		{"max_record_size", {"100", "4096"}},
		{"overflow", {"7", "JLOG_OVERFLOW_DROP"}},
		{"file_mode", {"010000", "07777"}},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		jlog_options o;
		jlog_options_init(&o);
		switch (i) {
		case 0: o.level = -1; break;
		case 1: o.queue_size = 10; break;
		case 2: o.flush_interval_ms = 0; break;
		case 3: o.max_record_size = 100; break;
		case 4: o.overflow = (jlog_overflow)7; break;
		default: o.file_mode = 010000; break;
		}
		jlog_logger *lg = (jlog_logger *)0x1;
		ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
		ck_assert_ptr_null(lg);
		const char *e = jlog_last_error();
		ck_assert_msg(strstr(e, want[i].option) && strstr(e, want[i].words[0]) &&
		              strstr(e, want[i].words[1]), "%s: \"%s\"", want[i].option, e);
	}
	ck_assert_int_eq(jlog_open(NULL, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "out"));

	/* A failure of its own (the file) replaces an older, unrelated message. */
	ck_assert_int_eq(jlog_level_add("bad name", 60, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "bad name"));
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/nonexistent-dir/sub/log.jsonl";
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), -ENOENT);
	ck_assert_str_ne(jlog_last_error(), "");
	ck_assert_msg(!strstr(jlog_last_error(), "bad name"), "stale: %s", jlog_last_error());
}
END_TEST

/* An unknown sink id has its own code and message, not a missing file's. */
START_TEST(test_remove_unknown_sink)
{
	char *path;
	jlog_logger *lg = open_file_logger(&path, NULL);
	int rc = jlog_remove_sink(lg, 42);
	ck_assert_int_eq(rc, -ESRCH);
	ck_assert_str_eq(jlog_strerror(rc), "no such sink");
	ck_assert_str_ne(jlog_strerror(rc), jlog_strerror(-ENOENT));
	ck_assert_str_eq(jlog_last_error(),
	                 "jlog_remove_sink: no sink with id 42 (the logger's sinks: 0)");
	jlog_close(lg);
	free(path);
}
END_TEST

/* Other calls' failures explain themselves too, replacing an older message. */
START_TEST(test_failures_explained)
{
	char *path;
	jlog_logger *lg = open_file_logger(&path, NULL);
	static const char *const want[] = {"prefix is NULL", "level 300 is out of range -1..256",
	                                   "stats is NULL"};
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(jlog_level_add("bad name", 60, NULL), -EINVAL); /* stale */
		int rc = i == 0   ? jlog_set_module_level(lg, NULL, 10)
		         : i == 1 ? jlog_set_module_level(lg, "db", 300)
		                  : jlog_get_stats(lg, NULL);
		ck_assert_int_eq(rc, -EINVAL);
		ck_assert_msg(strstr(jlog_last_error(), want[i]), "%s", jlog_last_error());
	}
	jlog_close(lg);
	free(path);
}
END_TEST

START_TEST(test_file_mode)
{
	char *path;
	jlog_options o;
	jlog_options_init(&o);
	mode_t old = umask(0);
	jlog_logger *lg = open_file_logger(&path, &o);
	umask(old);
	jlog_close(lg);
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
	free(path);
}
END_TEST

/* A reader that goes away (prog | head -1) must not kill the process with
 * SIGPIPE: the errors are counted and logging goes on. */
START_TEST(test_closed_stdout_pipe)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]); /* no reader left at all */
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		signal(SIGPIPE, SIG_DFL);
		jlog_options o;
		jlog_options_init(&o);
		o.sink = "stdout";
		jlog_logger *lg;
		if (jlog_open(&lg, &o) != 0)
			_exit(3);
		for (int i = 0; i < 1000; i++)
			JLOG_INFO(lg, "into the void", JLOG_INT("i", i));
		jlog_flush(lg);
		JLOG_INFO(lg, "still logging");
		jlog_flush(lg);
		jlog_stats st;
		jlog_get_stats(lg, &st);
		jlog_close(lg);
		_exit(st.write_errors >= 1 && st.logged == 1001 ? 0 : 4);
	}
	close(fds[0]);
	close(fds[1]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!WIFSIGNALED(status), "killed by signal %d", WTERMSIG(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("logger");
	TCase *tc = tcase_create("output");
	tcase_add_test(tc, test_schema_and_fields);
	tcase_add_test(tc, test_levels_and_names);
	tcase_add_test(tc, test_disabled_level_evaluates_nothing);
	tcase_add_test(tc, test_children);
	tcase_add_test(tc, test_reserved_key_collisions);
	tcase_add_test(tc, test_module_levels);
	tcase_add_test(tc, test_custom_levels);
	tcase_add_test(tc, test_level_add_checks_color);
	tcase_add_test(tc, test_level_off_everywhere);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_hostile_input);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_open_errors_explained);
	tcase_add_test(tc, test_remove_unknown_sink);
	tcase_add_test(tc, test_failures_explained);
	tcase_add_test(tc, test_file_mode);
	suite_add_tcase(s, tc);

	tc = tcase_create("delivery");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_flush_semantics);
	tcase_add_test(tc, test_block_loses_nothing);
	tcase_add_test(tc, test_drop_counts_everything);
	tcase_add_test(tc, test_thread_exit);
	tcase_add_test(tc, test_long_name_cut);
	tcase_add_test(tc, test_close_races_other_calls);
	tcase_add_test(tc, test_default_logger_drains_at_exit);
	tcase_add_test(tc, test_exit_from_other_thread);
	tcase_add_test(tc, test_unclosed_logger_drains_at_exit);
	tcase_add_test(tc, test_closed_stdout_pipe);
	suite_add_tcase(s, tc);
	return s;
}
