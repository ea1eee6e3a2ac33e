/*
 * The public header compiles as strict ISO C11 (-std=c11 -pedantic -Werror
 * -Wall -Wextra, no feature-test macros) and every macro and function in it
 * works: this program opens a logger on a temporary file, logs through
 * every macro with every field type, closes the logger and checks, with
 * jansson, that the file holds exactly the expected lines in order.
 *
 * Only ISO C is used here on purpose (no POSIX calls, no _GNU_SOURCE): the
 * header must not depend on anything beyond C11. Exit 0 on success, 1 on
 * failure, 77 (skip) if no temporary file can be created.
 */
#include <jlog.h>

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(JLOG_VERSION_HEX ==
                       ((JLOG_VERSION_MAJOR << 16) | (JLOG_VERSION_MINOR << 8) |
                        JLOG_VERSION_MICRO),
               "JLOG_VERSION_HEX is consistent");
_Static_assert(sizeof(JLOG_VERSION) > 1, "JLOG_VERSION is a string");

#define MAX_EXPECTED 128

/* What one output line must hold. */
struct expected {
	const char *level;   /* level string */
	const char *message; /* exact message */
	const char *logger;  /* "logger" value, or NULL for no such key */
	const char *key;     /* a key the line must have, or NULL */
};

static struct expected expected[MAX_EXPECTED];
static size_t nexpected;
static int failures;

#define FAIL(...)                                                             \
	do {                                                                  \
		fprintf(stderr, "build-pedantic: " __VA_ARGS__);              \
		fputc('\n', stderr);                                          \
		failures++;                                                   \
	} while (0)

static void expect(const char *level, const char *message, const char *logger,
                   const char *key)
{
	if (nexpected == MAX_EXPECTED) {
		FAIL("too many expected lines");
		return;
	}
	expected[nexpected].level = level;
	expected[nexpected].message = message;
	expected[nexpected].logger = logger;
	expected[nexpected].key = key;
	nexpected++;
}

/* Counts its calls: arguments of disabled log calls must not be evaluated. */
static int evaluated;
static int side_effect(void)
{
	return ++evaluated;
}

/* Create a new empty file with a name nobody else uses (ISO C only: "x"
 * makes fopen fail if the file exists). */
static int make_temp_file(char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	int local;
	unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)clock() ^
	                     (unsigned long)(uintptr_t)&local;

	if (!dir || !*dir)
		dir = "/tmp";
	for (int attempt = 0; attempt < 100; attempt++) {
		snprintf(path, size, "%s/jlog-build-pedantic-%lx-%d.jsonl", dir, seed,
		         attempt);
		FILE *f = fopen(path, "wx");
		if (f) {
			fclose(f);
			return 0;
		}
	}
	return -1;
}

static const char *get_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The line with all field types: check each value with jansson. */
static void check_all_types(json_t *o)
{
	json_t *v;

	if (!get_str(o, "s") || strcmp(get_str(o, "s"), "text") != 0)
		FAIL("all-types: bad \"s\"");
	v = json_object_get(o, "sn");
	if (!json_is_string(v) || json_string_length(v) != 3 ||
	    memcmp(json_string_value(v), "a\0b", 3) != 0)
		FAIL("all-types: bad \"sn\"");
	v = json_object_get(o, "i");
	if (!json_is_integer(v) || json_integer_value(v) != INT64_MIN)
		FAIL("all-types: bad \"i\"");
	v = json_object_get(o, "u");
	if (!json_is_integer(v) || json_integer_value(v) != 4000000000)
		FAIL("all-types: bad \"u\"");
	v = json_object_get(o, "d");
	if (!json_is_number(v) || json_number_value(v) != 1.5)
		FAIL("all-types: bad \"d\"");
	if (!json_is_null(json_object_get(o, "nan")))
		FAIL("all-types: NaN is not null");
	if (!json_is_null(json_object_get(o, "inf")))
		FAIL("all-types: Inf is not null");
	if (!json_is_true(json_object_get(o, "b")))
		FAIL("all-types: bad \"b\"");
	if (!json_is_false(json_object_get(o, "nb")))
		FAIL("all-types: bad \"nb\"");
	if (!json_is_null(json_object_get(o, "n")))
		FAIL("all-types: bad \"n\"");
	v = json_object_get(o, "j");
	if (!json_is_object(v) || json_integer_value(json_object_get(v, "k")) != 1)
		FAIL("all-types: bad \"j\"");
	if (!json_is_null(json_object_get(o, "snull")))
		FAIL("all-types: bad \"snull\"");
	if (!json_is_null(json_object_get(o, "jnull")))
		FAIL("all-types: bad \"jnull\"");
}

/* Parse the file line by line and compare with the expected lines. */
static void check_output(const char *path)
{
	FILE *f = fopen(path, "rb");
	char line[65536];
	size_t n = 0;

	if (!f) {
		FAIL("cannot read %s", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		json_error_t err;
		json_t *o;

		if (len == 0 || line[len - 1] != '\n') {
			FAIL("line %zu: too long or not terminated", n + 1);
			break;
		}
		o = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
		if (!json_is_object(o)) {
			FAIL("line %zu: not a JSON object (%s): %s", n + 1, err.text, line);
		} else if (n < nexpected) {
			const struct expected *e = &expected[n];
			const char *level = get_str(o, "level");
			const char *message = get_str(o, "message");
			const char *logger = get_str(o, "logger");

			if (!level || strcmp(level, e->level) != 0)
				FAIL("line %zu: level %s, expected %s", n + 1,
				     level ? level : "(none)", e->level);
			if (!message || strcmp(message, e->message) != 0)
				FAIL("line %zu: message \"%s\", expected \"%s\"", n + 1,
				     message ? message : "(none)", e->message);
			if ((logger == NULL) != (e->logger == NULL) ||
			    (logger && strcmp(logger, e->logger) != 0))
				FAIL("line %zu: logger %s, expected %s", n + 1,
				     logger ? logger : "(none)", e->logger ? e->logger : "(none)");
			if (e->key && !json_object_get(o, e->key))
				FAIL("line %zu: no key \"%s\"", n + 1, e->key);
			if (strcmp(e->message, "all types") == 0)
				check_all_types(o);
		}
		json_decref(o);
		n++;
	}
	fclose(f);
	if (n != nexpected)
		FAIL("%s has %zu lines, expected %zu", path, n, nexpected);
}

static void exercise_api(void)
{
	jlog_options defaults;

	jlog_options_init(NULL); /* no-op */
	jlog_options_init(&defaults);
	if (defaults.level != JLOG_LEVEL_INFO || defaults.overflow != JLOG_OVERFLOW_BLOCK)
		FAIL("unexpected defaults");

	if (!jlog_strerror(-22) || !jlog_strerror(0) || !jlog_strerror(12345))
		FAIL("jlog_strerror returned NULL");
	if (!jlog_level_name(JLOG_LEVEL_INFO) ||
	    strcmp(jlog_level_name(JLOG_LEVEL_INFO), "INFO") != 0)
		FAIL("jlog_level_name(INFO)");
	if (jlog_level_name(22) != NULL)
		FAIL("jlog_level_name(22) is not NULL");
	if (jlog_level_parse("warning") != JLOG_LEVEL_WARNING ||
	    jlog_level_parse("Debug") != JLOG_LEVEL_DEBUG ||
	    jlog_level_parse("42") != 42 || jlog_level_parse("bogus") >= 0)
		FAIL("jlog_level_parse");
	if (jlog_close(NULL) != 0)
		FAIL("jlog_close(NULL)");
}

int main(void)
{
	char path[4096];
	jlog_options opts;
	jlog_logger *log = NULL, *req, *api, *db;
	jlog_stats st;
	json_t *obj;
	const char *who = "alice";
	int rc;

	exercise_api();

	if (make_temp_file(path, sizeof(path)) != 0) {
		fprintf(stderr, "build-pedantic: cannot create a temporary file\n");
		return 77;
	}

	jlog_options_init(&opts);
	opts.level = JLOG_LEVEL_TRACE;
	opts.sink = path;
	opts.queue_size = 1u << 16;
	opts.overflow = JLOG_OVERFLOW_BLOCK;
	opts.flush_interval_ms = 10;
	opts.max_record_size = 4096;
	opts.file_mode = 0600;
	opts.name = NULL;
	rc = jlog_open(&log, &opts);
	if (rc != 0 || !log) {
		fprintf(stderr, "build-pedantic: jlog_open(%s): %s\n", path, jlog_strerror(rc));
		remove(path);
		return 1;
	}

	/* Every level macro with no field, one field and several fields. */
	JLOG_TRACE(log, "trace 0");
	JLOG_TRACE(log, "trace 1", JLOG_INT("n", 1));
	JLOG_TRACE(log, "trace 2", JLOG_INT("n", 2), JLOG_STR("who", who));
	expect("TRACE", "trace 0", NULL, NULL);
	expect("TRACE", "trace 1", NULL, "n");
	expect("TRACE", "trace 2", NULL, "who");
	JLOG_DEBUG(log, "debug 0");
	JLOG_DEBUG(log, "debug 1", JLOG_UINT("u", 1u));
	JLOG_DEBUG(log, "debug 2", JLOG_UINT("u", 2u), JLOG_BOOL("b", 1));
	expect("DEBUG", "debug 0", NULL, NULL);
	expect("DEBUG", "debug 1", NULL, "u");
	expect("DEBUG", "debug 2", NULL, "b");
	JLOG_INFO(log, "info 0");
	JLOG_INFO(log, "info 1", JLOG_DOUBLE("d", 0.25));
	JLOG_INFO(log, "info 2", JLOG_DOUBLE("d", 0.5), JLOG_NULL("nothing"));
	expect("INFO", "info 0", NULL, NULL);
	expect("INFO", "info 1", NULL, "d");
	expect("INFO", "info 2", NULL, "nothing");
	JLOG_SUCCESS(log, "success 0");
	JLOG_SUCCESS(log, "success 1", JLOG_BOOL("ok", true));
	JLOG_SUCCESS(log, "success 2", JLOG_BOOL("ok", false), JLOG_STRN("raw", "abc", 2));
	expect("SUCCESS", "success 0", NULL, NULL);
	expect("SUCCESS", "success 1", NULL, "ok");
	expect("SUCCESS", "success 2", NULL, "raw");
	JLOG_WARNING(log, "warning 0");
	JLOG_WARNING(log, "warning 1", JLOG_STR("s", "x"));
	JLOG_WARNING(log, "warning 2", JLOG_STR("s", "x"), JLOG_INT("i", -1));
	expect("WARNING", "warning 0", NULL, NULL);
	expect("WARNING", "warning 1", NULL, "s");
	expect("WARNING", "warning 2", NULL, "i");
	JLOG_ERROR(log, "error 0");
	JLOG_ERROR(log, "error 1", JLOG_NULL("n"));
	JLOG_ERROR(log, "error 2", JLOG_NULL("n"), JLOG_UINT("u", 7));
	expect("ERROR", "error 0", NULL, NULL);
	expect("ERROR", "error 1", NULL, "n");
	expect("ERROR", "error 2", NULL, "u");
	JLOG_CRITICAL(log, "critical 0");
	JLOG_CRITICAL(log, "critical 1", JLOG_STRN("k", "v", 1));
	JLOG_CRITICAL(log, "critical 2", JLOG_STRN("k", "v", 1), JLOG_DOUBLE("d", 3));
	expect("CRITICAL", "critical 0", NULL, NULL);
	expect("CRITICAL", "critical 1", NULL, "k");
	expect("CRITICAL", "critical 2", NULL, "d");

	/* Every field type in one call; the value is checked above. */
	obj = json_pack("{s:i}", "k", 1);
	JLOG_INFO(log, "all types",
	          JLOG_STR("s", "text"),
	          JLOG_STRN("sn", "a\0b", 3),
	          JLOG_INT("i", INT64_MIN),
	          JLOG_UINT("u", UINT64_C(4000000000)),
	          JLOG_DOUBLE("d", 1.5),
	          JLOG_DOUBLE("nan", NAN),
	          JLOG_DOUBLE("inf", INFINITY),
	          JLOG_BOOL("b", true),
	          JLOG_BOOL("nb", 0),
	          JLOG_NULL("n"),
	          JLOG_JSON("j", obj),
	          JLOG_STR("snull", NULL),
	          JLOG_JSON("jnull", NULL));
	expect("INFO", "all types", NULL, "j");
	json_decref(obj); /* borrowed only during the call */

	/* JLOG_LOG with a named and an unnamed level; a NULL message is "". */
	JLOG_LOG(log, JLOG_LEVEL_INFO, "log info", JLOG_INT("n", 1));
	JLOG_LOG(log, 22, "log 22");
	JLOG_LOG(log, JLOG_LEVEL_ERROR, NULL);
	expect("INFO", "log info", NULL, "n");
	expect("22", "log 22", NULL, NULL);
	expect("ERROR", "", NULL, NULL);

	/* The printf forms, with and without arguments. */
	JLOG_TRACEF(log, "tracef %d", 1);
	JLOG_DEBUGF(log, "debugf %s", "x");
	JLOG_INFOF(log, "infof %u %ld", 2u, 3L);
	JLOG_SUCCESSF(log, "successf %.1f", 0.5);
	JLOG_WARNINGF(log, "warningf %c%c", 'o', 'k');
	JLOG_ERRORF(log, "errorf %%");
	JLOG_CRITICALF(log, "criticalf %5s|", "ab");
	JLOG_LOGF(log, 22, "logf %d-%d", 1, 2);
	JLOG_INFOF(log, "plain");
	expect("TRACE", "tracef 1", NULL, NULL);
	expect("DEBUG", "debugf x", NULL, NULL);
	expect("INFO", "infof 2 3", NULL, NULL);
	expect("SUCCESS", "successf 0.5", NULL, NULL);
	expect("WARNING", "warningf ok", NULL, NULL);
	expect("ERROR", "errorf %", NULL, NULL);
	expect("CRITICAL", "criticalf    ab|", NULL, NULL);
	expect("22", "logf 1-2", NULL, NULL);
	expect("INFO", "plain", NULL, NULL);

	/* Macros are single statements. */
	if (log)
		JLOG_INFO(log, "if branch");
	else
		JLOG_INFO(log, "else branch");
	expect("INFO", "if branch", NULL, NULL);

	/* Disabled levels: nothing logged, no argument evaluated. */
	jlog_set_level(log, JLOG_LEVEL_WARNING);
	if (jlog_get_level(log) != JLOG_LEVEL_WARNING)
		FAIL("jlog_get_level after jlog_set_level");
	if (jlog_enabled(log, JLOG_LEVEL_INFO) || !jlog_enabled(log, JLOG_LEVEL_ERROR))
		FAIL("jlog_enabled");
	JLOG_INFO(log, "disabled", JLOG_INT("n", side_effect()));
	JLOG_DEBUGF(log, "disabled %d", side_effect());
	JLOG_LOG(log, JLOG_LEVEL_INFO, "disabled", JLOG_INT("n", side_effect()));
	if (evaluated != 0)
		FAIL("arguments of disabled calls were evaluated %d times", evaluated);
	JLOG_WARNING(log, "enabled", JLOG_INT("n", side_effect()));
	expect("WARNING", "enabled", NULL, "n");
	if (evaluated != 1)
		FAIL("arguments of an enabled call were evaluated %d times", evaluated);
	jlog_set_level(log, JLOG_LEVEL_TRACE);

	/* Child loggers: bound fields, names, nesting. */
	req = JLOG_WITH(log, JLOG_STR("request_id", "r-1"), JLOG_INT("attempt", 2));
	api = jlog_named(log, "api");
	db = api ? jlog_named(api, "db") : NULL;
	if (!req || !api || !db) {
		FAIL("JLOG_WITH / jlog_named returned NULL");
	} else {
		JLOG_INFO(req, "with", JLOG_BOOL("cached", true));
		JLOG_INFOF(req, "withf %d", 1);
		JLOG_WARNING(api, "named");
		JLOG_ERRORF(db, "nested %s", "name");
		expect("INFO", "with", NULL, "request_id");
		expect("INFO", "withf 1", NULL, "attempt");
		expect("WARNING", "named", "api", NULL);
		expect("ERROR", "nested name", "api.db", NULL);
	}

	if (jlog_flush(log) != 0)
		FAIL("jlog_flush");
	if (jlog_flush(req) != 0)
		FAIL("jlog_flush(child)");
	if (jlog_get_stats(log, NULL) == 0)
		FAIL("jlog_get_stats(NULL stats) succeeded");
	memset(&st, 0, sizeof(st));
	if (jlog_get_stats(log, &st) != 0) {
		FAIL("jlog_get_stats");
	} else {
		if (st.logged != nexpected || st.written != nexpected)
			FAIL("stats: logged %llu written %llu, expected %zu",
			     (unsigned long long)st.logged, (unsigned long long)st.written,
			     nexpected);
		if (st.dropped || st.truncated || st.write_errors || !st.bytes_written)
			FAIL("stats: dropped %llu truncated %llu errors %llu bytes %llu",
			     (unsigned long long)st.dropped, (unsigned long long)st.truncated,
			     (unsigned long long)st.write_errors,
			     (unsigned long long)st.bytes_written);
	}

	jlog_close(db);
	jlog_close(api);
	jlog_close(req);
	if (jlog_close(log) != 0)
		FAIL("jlog_close");

	check_output(path);
	remove(path);

	/* The default logger (NULL handle): written to stderr unless JLOG_SINK
	 * says otherwise; exercised, not checked. */
	if (jlog_default() == NULL)
		FAIL("jlog_default");
	JLOG_DEBUG(NULL, "default logger, disabled by default");
	JLOG_INFO(NULL, "build-pedantic: default logger", JLOG_INT("failures", failures));
	if (jlog_flush(NULL) != 0)
		FAIL("jlog_flush(NULL)");
	(void)jlog_get_level(NULL);

	if (failures) {
		fprintf(stderr, "build-pedantic: %d failure(s)\n", failures);
		return 1;
	}
	printf("build-pedantic: %zu lines checked\n", nexpected);
	return 0;
}
