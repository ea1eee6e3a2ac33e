/*
 * The public header compiles as C++ (C++11 and later, -Wall -Wextra
 * -pedantic clean) and its macros work from C++ code: in functions,
 * lambdas, member functions, templates and namespaces. This program opens a
 * logger on a temporary file, logs through every macro with every field
 * type, closes it, and checks with jansson that the file holds exactly the
 * expected lines in order. It also covers JLOG_CONTEXT_SCOPE and the
 * jlog_context_scope guard, and jlog_log()/jlog_logv() behind a wrapper.
 *
 * Exit 0 on success, 1 on failure, 77 (skip) if no temporary file can be
 * created.
 */
#include <jlog.h>

#include <jansson.h>

#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

static_assert(JLOG_VERSION_HEX == ((JLOG_VERSION_MAJOR << 16) |
                                   (JLOG_VERSION_MINOR << 8) | JLOG_VERSION_MICRO),
              "JLOG_VERSION_HEX is consistent");

namespace {

/* What one output line must hold. */
struct Expected {
	std::string level;
	std::string message;
	std::string logger; /* empty: no "logger" key */
	std::string key;    /* a key the line must have; empty: none */
	std::string no_key; /* a key the line must not have; empty: none */
	long line;          /* the "line" the line must show; 0: any */
};

std::vector<Expected> expected;
int failures;

void fail(const std::string &what)
{
	std::fprintf(stderr, "build-cxx: %s\n", what.c_str());
	failures++;
}

void expect(const char *level, const std::string &message, const char *logger = "",
            const char *key = "", const char *no_key = "", long line = 0)
{
	expected.push_back(Expected{level, message, logger, key, no_key, line});
}

int evaluated;
int side_effect()
{
	return ++evaluated;
}

/* Create a new empty file nobody else uses ("x": fail if it exists). */
bool make_temp_file(std::string &path)
{
	const char *dir = std::getenv("TMPDIR");
	int local;
	unsigned long seed = static_cast<unsigned long>(std::time(nullptr)) ^
	                     static_cast<unsigned long>(std::clock()) ^
	                     static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(&local));

	if (!dir || !*dir)
		dir = "/tmp";
	for (int attempt = 0; attempt < 100; attempt++) {
		char name[64];
		std::snprintf(name, sizeof(name), "/jlog-build-cxx-%lx-%d.jsonl", seed, attempt);
		path = std::string(dir) + name;
		if (std::FILE *f = std::fopen(path.c_str(), "wx")) {
			std::fclose(f);
			return true;
		}
	}
	return false;
}

std::string get_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

void check_all_types(json_t *o)
{
	json_t *v;

	if (get_str(o, "s") != "text")
		fail("all-types: bad \"s\"");
	v = json_object_get(o, "sn");
	if (!json_is_string(v) || json_string_length(v) != 3 ||
	    std::memcmp(json_string_value(v), "a\0b", 3) != 0)
		fail("all-types: bad \"sn\"");
	if (json_integer_value(json_object_get(o, "i")) != INT64_MIN)
		fail("all-types: bad \"i\"");
	if (json_integer_value(json_object_get(o, "u")) != 4000000000LL)
		fail("all-types: bad \"u\"");
	if (json_number_value(json_object_get(o, "d")) != 1.5)
		fail("all-types: bad \"d\"");
	if (!json_is_null(json_object_get(o, "nan")) || !json_is_null(json_object_get(o, "inf")))
		fail("all-types: NaN or Inf is not null");
	if (!json_is_true(json_object_get(o, "b")) || !json_is_false(json_object_get(o, "nb")))
		fail("all-types: bad bool");
	if (!json_is_null(json_object_get(o, "n")) || !json_is_null(json_object_get(o, "snull")) ||
	    !json_is_null(json_object_get(o, "jnull")))
		fail("all-types: bad null");
	v = json_object_get(o, "j");
	if (!json_is_array(v) || json_array_size(v) != 2)
		fail("all-types: bad \"j\"");
}

void check_output(const std::string &path)
{
	std::FILE *f = std::fopen(path.c_str(), "rb");
	std::vector<char> line(65536);
	size_t n = 0;

	if (!f) {
		fail("cannot read " + path);
		return;
	}
	while (std::fgets(line.data(), static_cast<int>(line.size()), f)) {
		size_t len = std::strlen(line.data());
		std::string where = "line " + std::to_string(n + 1) + ": ";
		json_error_t err;

		if (len == 0 || line[len - 1] != '\n') {
			fail(where + "too long or not terminated");
			break;
		}
		json_t *o = json_loadb(line.data(), len - 1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
		if (!json_is_object(o)) {
			fail(where + "not a JSON object (" + err.text + "): " + line.data());
		} else if (n < expected.size()) {
			const Expected &e = expected[n];
			if (get_str(o, "level") != e.level)
				fail(where + "level " + get_str(o, "level") + ", expected " + e.level);
			if (get_str(o, "message") != e.message)
				fail(where + "message \"" + get_str(o, "message") + "\", expected \"" +
				     e.message + "\"");
			if (get_str(o, "logger") != e.logger ||
			    (e.logger.empty() && json_object_get(o, "logger")))
				fail(where + "logger \"" + get_str(o, "logger") + "\", expected \"" +
				     e.logger + "\"");
			if (!e.key.empty() && !json_object_get(o, e.key.c_str()))
				fail(where + "no key \"" + e.key + "\"");
			if (!e.no_key.empty() && json_object_get(o, e.no_key.c_str()))
				fail(where + "unexpected key \"" + e.no_key + "\"");
			if (e.line && json_integer_value(json_object_get(o, "line")) != e.line)
				fail(where + "line " +
				     std::to_string(json_integer_value(json_object_get(o, "line"))) +
				     ", expected " + std::to_string(e.line));
			if (e.message == "all types")
				check_all_types(o);
		}
		json_decref(o);
		n++;
	}
	std::fclose(f);
	if (n != expected.size())
		fail(path + " has " + std::to_string(n) + " lines, expected " +
		     std::to_string(expected.size()));
}

/* Macros inside a template, a class and a lambda. */
template <typename T>
void log_value(jlog_logger *log, const char *key, T value)
{
	JLOG_INFO(log, "template", JLOG_DOUBLE(key, value));
	expect("INFO", "template", "", key);
}

class Service {
public:
	explicit Service(jlog_logger *log) : log_(log) {}
	void handle(const std::string &user, int status) const
	{
		JLOG_INFO(log_, "request handled", JLOG_STR("user", user.c_str()),
		          JLOG_INT("status", status), JLOG_DOUBLE("latency_ms", 12.5));
		expect("INFO", "request handled", "", "latency_ms");
	}

private:
	jlog_logger *log_;
};

/* An application's own printf-style layer over jlog_logv(), passing its
 * caller's call site through. */
jlog_logger *app_target;

void app_log(int level, const char *file, int line, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void app_log(int level, const char *file, int line, const char *func, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	jlog_logv(app_target, level, file, line, func, nullptr, 0, fmt, ap);
	va_end(ap);
}
#define APP_WARNING(...) app_log(JLOG_LEVEL_WARNING, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* The scoped context the C++ way: the macro and the guard, left by the
 * end of a block and by an exception. */
void context_scopes(jlog_logger *log)
{
	{
		JLOG_CONTEXT_SCOPE(JLOG_STR("request_id", "r-9"));
		JLOG_INFO(log, "in scope");
		expect("INFO", "in scope", "", "request_id");
		{
			jlog_context_scope inner{JLOG_INT("depth", 2)};
			if (inner.result() != 0)
				fail("jlog_context_scope: push failed");
			JLOG_INFO(log, "inner scope");
			expect("INFO", "inner scope", "", "depth");
		}
		JLOG_INFO(log, "after inner", JLOG_INT("n", 1));
		expect("INFO", "after inner", "", "request_id", "depth");
		try {
			JLOG_CONTEXT_SCOPE(JLOG_STR("thrown", "x"), JLOG_BOOL("b", true));
			JLOG_INFO(log, "before throw");
			expect("INFO", "before throw", "", "thrown");
			throw 1;
		} catch (int) {
		}
		JLOG_INFO(log, "after throw");
		expect("INFO", "after throw", "", "request_id", "thrown");
	}
	JLOG_INFO(log, "out of scope");
	expect("INFO", "out of scope", "", "", "request_id");
	if (jlog_context_pop() != -ENODATA)
		fail("a scope left a context frame pushed");
}

} // namespace

int main()
{
	jlog_options opts;
	jlog_logger *log = nullptr;
	std::string path;

	jlog_options_init(&opts);
	if (opts.level != JLOG_LEVEL_INFO || opts.overflow != JLOG_OVERFLOW_BLOCK)
		fail("unexpected defaults");
	if (!jlog_strerror(-22) || std::strcmp(jlog_level_name(JLOG_LEVEL_ERROR), "ERROR") != 0 ||
	    jlog_level_parse("critical") != JLOG_LEVEL_CRITICAL)
		fail("jlog_strerror / jlog_level_name / jlog_level_parse");

	if (!make_temp_file(path)) {
		std::fprintf(stderr, "build-cxx: cannot create a temporary file\n");
		return 77;
	}
	opts.level = JLOG_LEVEL_TRACE;
	opts.sink = path.c_str();
	opts.queue_size = 1u << 16;
	opts.max_record_size = 8192; /* at most queue_size / 4 */
	opts.flush_interval_ms = 10;
	opts.overflow = JLOG_OVERFLOW_DROP;
	int rc = jlog_open(&log, &opts);
	if (rc != 0 || !log) {
		std::fprintf(stderr, "build-cxx: jlog_open(%s): %s\n", path.c_str(), jlog_strerror(rc));
		std::remove(path.c_str());
		return 1;
	}

	/* Every level macro with no field, one field and several fields. */
	JLOG_TRACE(log, "trace 0");
	JLOG_TRACE(log, "trace 1", JLOG_INT("n", 1));
	JLOG_TRACE(log, "trace 2", JLOG_INT("n", 2), JLOG_STR("s", "x"));
	JLOG_DEBUG(log, "debug 0");
	JLOG_DEBUG(log, "debug 1", JLOG_UINT("u", 1u));
	JLOG_DEBUG(log, "debug 2", JLOG_UINT("u", 2u), JLOG_BOOL("b", true));
	JLOG_INFO(log, "info 0");
	JLOG_INFO(log, "info 1", JLOG_DOUBLE("d", 0.25));
	JLOG_INFO(log, "info 2", JLOG_DOUBLE("d", 0.5f), JLOG_NULL("nothing"));
	JLOG_SUCCESS(log, "success 0");
	JLOG_SUCCESS(log, "success 1", JLOG_BOOL("ok", 1));
	JLOG_SUCCESS(log, "success 2", JLOG_BOOL("ok", nullptr), JLOG_STRN("raw", "abc", 2));
	JLOG_WARNING(log, "warning 0");
	JLOG_WARNING(log, "warning 1", JLOG_STR("s", std::string("x").c_str()));
	JLOG_WARNING(log, "warning 2", JLOG_STR("s", "x"), JLOG_INT("i", -1));
	JLOG_ERROR(log, "error 0");
	JLOG_ERROR(log, "error 1", JLOG_NULL("n"));
	JLOG_ERROR(log, "error 2", JLOG_NULL("n"), JLOG_UINT("u", 7));
	JLOG_CRITICAL(log, "critical 0");
	JLOG_CRITICAL(log, "critical 1", JLOG_STRN("k", "v", 1));
	JLOG_CRITICAL(log, "critical 2", JLOG_STRN("k", "v", 1), JLOG_DOUBLE("d", 3));
	for (const char *lvl : {"TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"}) {
		std::string base = lvl;
		for (char &c : base)
			c = static_cast<char>(c - 'A' + 'a');
		expect(lvl, base + " 0");
		expect(lvl, base + " 1");
		expect(lvl, base + " 2");
	}

	/* Every field type in one call. */
	json_t *arr = json_pack("[is]", 1, "two");
	JLOG_INFO(log, "all types",
	          JLOG_STR("s", "text"),
	          JLOG_STRN("sn", "a\0b", 3),
	          JLOG_INT("i", std::numeric_limits<std::int64_t>::min()),
	          JLOG_UINT("u", UINT64_C(4000000000)),
	          JLOG_DOUBLE("d", 1.5),
	          JLOG_DOUBLE("nan", std::nan("")),
	          JLOG_DOUBLE("inf", HUGE_VAL),
	          JLOG_BOOL("b", true),
	          JLOG_BOOL("nb", false),
	          JLOG_NULL("n"),
	          JLOG_JSON("j", arr),
	          JLOG_STR("snull", nullptr),
	          JLOG_JSON("jnull", nullptr));
	expect("INFO", "all types", "", "j");
	json_decref(arr);

	JLOG_LOG(log, JLOG_LEVEL_WARNING, "log warning", JLOG_INT("n", 1));
	JLOG_LOG(log, 22, "log 22");
	JLOG_LOG(log, JLOG_LEVEL_INFO, nullptr);
	expect("WARNING", "log warning", "", "n");
	expect("22", "log 22");
	expect("INFO", "");

	JLOG_TRACEF(log, "tracef %d", 1);
	JLOG_DEBUGF(log, "debugf %s", "x");
	JLOG_INFOF(log, "infof %" PRId64, static_cast<std::int64_t>(-5));
	JLOG_SUCCESSF(log, "successf %.2f", 0.25);
	JLOG_WARNINGF(log, "warningf %zu", sizeof(int));
	JLOG_ERRORF(log, "errorf %%");
	JLOG_CRITICALF(log, "criticalf %s", std::string("str").c_str());
	JLOG_LOGF(log, 22, "logf %x", 255u);
	JLOG_INFOF(log, "plain");
	expect("TRACE", "tracef 1");
	expect("DEBUG", "debugf x");
	expect("INFO", "infof -5");
	expect("SUCCESS", "successf 0.25");
	expect("WARNING", "warningf " + std::to_string(sizeof(int)));
	expect("ERROR", "errorf %");
	expect("CRITICAL", "criticalf str");
	expect("22", "logf ff");
	expect("INFO", "plain");

	/* Template, member function, lambda. */
	log_value(log, "float", 2.5f);
	log_value(log, "int", 3);
	Service(log).handle("alice", 200);
	auto lambda = [log](int n) {
		JLOG_DEBUG(log, "lambda", JLOG_INT("n", n));
		JLOG_DEBUGF(log, "lambdaf %d", n);
	};
	lambda(4);
	expect("DEBUG", "lambda", "", "n");
	expect("DEBUG", "lambdaf 4");

	/* Disabled levels: nothing logged, no argument evaluated. */
	jlog_set_level(log, JLOG_LEVEL_ERROR);
	if (jlog_get_level(log) != JLOG_LEVEL_ERROR || jlog_enabled(log, JLOG_LEVEL_WARNING))
		fail("jlog_set_level / jlog_get_level / jlog_enabled");
	JLOG_INFO(log, "disabled", JLOG_INT("n", side_effect()));
	JLOG_WARNINGF(log, "disabled %d", side_effect());
	if (evaluated != 0)
		fail("arguments of disabled calls were evaluated");
	JLOG_ERROR(log, "enabled", JLOG_INT("n", side_effect()));
	expect("ERROR", "enabled", "", "n");
	if (evaluated != 1)
		fail("arguments of an enabled call were evaluated " + std::to_string(evaluated) +
		     " times");
	jlog_set_level(log, JLOG_LEVEL_TRACE);

	/* Child loggers. */
	jlog_logger *req = JLOG_WITH(log, JLOG_STR("request_id", "r-1"), JLOG_UINT("attempt", 2));
	jlog_logger *api = jlog_named(log, "api");
	jlog_logger *db = api ? jlog_named(api, "db") : nullptr;
	if (!req || !api || !db) {
		fail("JLOG_WITH / jlog_named returned NULL");
	} else {
		JLOG_INFO(req, "with");
		JLOG_INFOF(req, "withf %d", 1);
		JLOG_WARNING(api, "named", JLOG_INT("k", 1));
		JLOG_ERRORF(db, "nested %s", "name");
		expect("INFO", "with", "", "request_id");
		expect("INFO", "withf 1", "", "attempt");
		expect("WARNING", "named", "api", "k");
		expect("ERROR", "nested name", "api.db");
	}

	context_scopes(log);

	/* A wrapper over jlog_logv() and jlog_log() with fields. */
	app_target = log;
	long app_line = __LINE__ + 1;
	APP_WARNING("wrapped %d", 7);
	expect("WARNING", "wrapped 7", "", "function", "", app_line);
	jlog_field wf[] = {JLOG_STR("user", "bob"), JLOG_UINT("attempt", 3)};
	long log_line = __LINE__ + 1;
	jlog_log(log, JLOG_LEVEL_ERROR, __FILE__, __LINE__, __func__, wf, 2, "jlog_log %s", "x");
	expect("ERROR", "jlog_log x", "", "attempt", "", log_line);

	if (jlog_flush(log) != 0)
		fail("jlog_flush");
	jlog_stats st{};
	if (jlog_get_stats(log, &st) != 0)
		fail("jlog_get_stats");
	else if (st.logged != expected.size() || st.written != expected.size() || st.dropped)
		fail("stats: logged " + std::to_string(st.logged) + ", written " +
		     std::to_string(st.written) + ", dropped " + std::to_string(st.dropped) +
		     "; expected " + std::to_string(expected.size()));

	jlog_close(db);
	jlog_close(api);
	jlog_close(req);
	if (jlog_close(log) != 0)
		fail("jlog_close");

	check_output(path);
	std::remove(path.c_str());

	if (!jlog_default())
		fail("jlog_default");
	JLOG_INFO(nullptr, "build-cxx: default logger", JLOG_INT("failures", failures));
	jlog_flush(nullptr);

	if (failures) {
		std::fprintf(stderr, "build-cxx: %d failure(s)\n", failures);
		return 1;
	}
	std::printf("build-cxx: %zu lines checked\n", expected.size());
	return 0;
}
