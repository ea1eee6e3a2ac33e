/*
 * Configuration from a JSON document (jansson), mirroring loguru's
 * LoggerService: logger options, module levels and a list of sinks. The
 * whole document is checked before anything is opened, so an error leaves
 * nothing behind, and every error names its key path:
 * sinks[1].preset: unknown preset "elk".
 *
 * The default logger goes through here too: JLOG_CONFIG names a document,
 * and JLOG_LEVEL, JLOG_SINK, JLOG_FORMAT, JLOG_SERIALIZE and JLOG_COLORIZE
 * are applied to it as overrides (see jlog__config_from_env).
 */
#include "jlog-private.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SINKS 64

/* The keys a sink set itself, so that the document's defaults (the
 * top-level file_mode and allow_symlink, the level rule) fill the rest. */
struct sink_given {
	bool level, file_mode, allow_symlink;
};

struct parsed {
	jlog_options opts;
	jlog_sink_options sinks[MAX_SINKS];
	struct sink_given given[MAX_SINKS]; /* what each sink sets itself */
	size_t nsinks;
	bool file_mode_given, allow_symlink_given; /* at the top level */
	struct {
		const char *prefix;
		int level;
	} modules[256];
	size_t nmodules;
};

/* An error: "path: message" into err. Returns -EINVAL. */
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", path, *path ? ": " : "", msg);
	return -EINVAL;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int get_level(const json_t *v, const char *path, int *out, char *err, size_t errlen)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > 255)
			return fail(err, errlen, path, "level %lld is out of range 0..255", (long long)n);
		*out = (int)n;
		return 0;
	}
	if (json_is_string(v)) {
		int l = jlog_level_from_name(json_string_value(v));
		if (l < 0)
			return fail(err, errlen, path, "unknown level \"%s\"", json_string_value(v));
		*out = l;
		return 0;
	}
	return fail(err, errlen, path, "expected a level name or number, got %s", type_name(v));
}

static int get_int(const json_t *v, const char *path, long long lo, long long hi, long long *out,
                   char *err, size_t errlen)
{
	if (!json_is_integer(v))
		return fail(err, errlen, path, "expected an integer, got %s", type_name(v));
	long long n = json_integer_value(v);
	if (n < lo || n > hi)
		return fail(err, errlen, path, "%lld is out of range %lld..%lld", n, lo, hi);
	*out = n;
	return 0;
}

static int get_string(const json_t *v, const char *path, const char **out, char *err,
                      size_t errlen)
{
	if (!json_is_string(v))
		return fail(err, errlen, path, "expected a string, got %s", type_name(v));
	*out = json_string_value(v);
	return 0;
}

static int get_bool(const json_t *v, const char *path, bool *out, char *err, size_t errlen)
{
	if (!json_is_boolean(v))
		return fail(err, errlen, path, "expected true or false, got %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* file_mode: an integer, or an octal string like "0640". */
static int get_mode(const json_t *v, const char *path, unsigned *out, char *err, size_t errlen)
{
	if (json_is_string(v)) {
		/* Digits only: strtoul alone would take "" as 0 and accept
		 * blanks and a sign. */
		const char *s = json_string_value(v);
		char *end;
		unsigned long m = strtoul(s, &end, 8);
		if (!*s || strspn(s, "01234567") != strlen(s) || *end || m > 07777)
			return fail(err, errlen, path, "\"%s\" is not an octal mode", json_string_value(v));
		*out = (unsigned)m;
		return 0;
	}
	long long n = 0;
	int rc = get_int(v, path, 0, 07777, &n, err, errlen);
	if (rc == 0)
		*out = (unsigned)n;
	return rc;
}

static const char *const presets[] = {"default", "ecs", "gcp", "otel", "loguru"};
static const char *const time_formats[] = {"rfc3339", "rfc3339_ms", "rfc3339_us", "rfc3339_ns",
                                           "epoch", "epoch_s", "epoch_ms", "epoch_ns"};

static bool one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* "keys": {"time": "ts", ...}: renames of the default schema's keys. */
static int parse_keys(const json_t *obj, const char *base, jlog_sink_keys *k, char *err,
                      size_t errlen)
{
	if (!json_is_object(obj))
		return fail(err, errlen, base, "expected an object, got %s", type_name(obj));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		char path[192];
		snprintf(path, sizeof(path), "%.64s.%.60s", base, key);
		const char **slot = !strcmp(key, "time")       ? &k->time
		                    : !strcmp(key, "level")    ? &k->level
		                    : !strcmp(key, "message")  ? &k->message
		                    : !strcmp(key, "logger")   ? &k->logger
		                    : !strcmp(key, "file")     ? &k->file
		                    : !strcmp(key, "line")     ? &k->line
		                    : !strcmp(key, "function") ? &k->function
		                    : !strcmp(key, "pid")      ? &k->pid
		                    : !strcmp(key, "tid")      ? &k->tid
		                                               : NULL;
		if (!slot)
			return fail(err, errlen, path, "unknown key (time, level, message, logger, "
			            "file, line, function, pid, tid)");
		int rc = get_string(v, path, slot, err, errlen);
		if (rc < 0)
			return rc;
		if (!**slot)
			return fail(err, errlen, path, "must not be empty");
	}
	return 0;
}

static int parse_sink(const json_t *obj, size_t index, jlog_sink_options *so,
                      struct sink_given *given, char *err, size_t errlen)
{
	char path[128], base[32];
	snprintf(base, sizeof(base), "sinks[%zu]", index);
	if (!json_is_object(obj))
		return fail(err, errlen, base, "expected an object, got %s", type_name(obj));
	jlog_sink_options_init(so);
	bool format_given = false, serialize_given = false;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		snprintf(path, sizeof(path), "%s.%.60s", base, key);
		int rc = 0;
		if (strcmp(key, "sink") == 0) {
			rc = get_string(v, path, &so->sink, err, errlen);
			if (rc == 0 && !*so->sink)
				rc = fail(err, errlen, path, "must not be empty");
		} else if (strcmp(key, "level") == 0) {
			rc = get_level(v, path, &so->level, err, errlen);
			given->level = true;
		} else if (strcmp(key, "format") == 0) {
			rc = get_string(v, path, &so->format, err, errlen);
			format_given = true;
		} else if (strcmp(key, "serialize") == 0) {
			rc = get_bool(v, path, &so->serialize, err, errlen);
			serialize_given = true;
		} else if (strcmp(key, "colorize") == 0) {
			if (json_is_boolean(v))
				so->colorize = json_is_true(v) ? 1 : 0;
			else if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0)
				so->colorize = -1;
			else
				rc = fail(err, errlen, path, "expected true, false or \"auto\", got %s",
				          type_name(v));
		} else if (strcmp(key, "preset") == 0) {
			rc = get_string(v, path, &so->preset, err, errlen);
			if (rc == 0 && !one_of(so->preset, presets, sizeof(presets) / sizeof(*presets)))
				rc = fail(err, errlen, path, "unknown preset \"%s\" (default, ecs, gcp, otel, loguru)",
				          so->preset);
		} else if (strcmp(key, "time_format") == 0) {
			rc = get_string(v, path, &so->time_format, err, errlen);
			if (rc == 0 && !one_of(so->time_format, time_formats,
			                       sizeof(time_formats) / sizeof(*time_formats)))
				rc = fail(err, errlen, path, "unknown time format \"%s\"", so->time_format);
		} else if (strcmp(key, "filter") == 0) {
			rc = get_string(v, path, &so->filter, err, errlen);
		} else if (strcmp(key, "keys") == 0) {
			rc = parse_keys(v, path, &so->keys, err, errlen);
		} else if (strcmp(key, "file_mode") == 0) {
			rc = get_mode(v, path, &so->file_mode, err, errlen);
			given->file_mode = true;
		} else if (strcmp(key, "allow_symlink") == 0) {
			rc = get_bool(v, path, &so->allow_symlink, err, errlen);
			given->allow_symlink = true;
		} else if (strcmp(key, "backtrace") == 0 || strcmp(key, "diagnose") == 0 ||
		           strcmp(key, "catch") == 0) {
			bool b = false;
			rc = get_bool(v, path, &b, err, errlen);
			if (rc == 0 && strcmp(key, "backtrace") == 0)
				so->backtrace = b;
			else if (rc == 0 && strcmp(key, "diagnose") == 0)
				so->diagnose = b;
			else if (rc == 0)
				so->catch_errors = b;
		} else {
			rc = fail(err, errlen, path, "unknown key");
		}
		if (rc < 0)
			return rc;
	}
	/* loguru: a format means text unless serialize says otherwise. */
	if (format_given && !serialize_given)
		so->serialize = false;
	return 0;
}

static void discard_line(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	(void)user;
}

/* Everything jlog_add_sink() can refuse but opening the file (the
 * template, colliding key renames...), checked on a callback twin of the
 * sink so that nothing is opened or created before the whole document
 * passed. */
static int check_sink(const jlog_sink_options *so, size_t index, char *err, size_t errlen)
{
	jlog_sink_options twin = *so;
	twin.write = discard_line;
	struct jlog_sink *s;
	jlog__set_last_error("%s", "");
	int rc = jlog__sink_create_opts(&s, &twin);
	if (rc < 0) {
		char path[32];
		snprintf(path, sizeof(path), "sinks[%zu]", index);
		const char *why = jlog_last_error();
		fail(err, errlen, path, "%s", *why ? why : jlog_strerror(rc));
		return rc;
	}
	jlog__sink_destroy(s);
	return 0;
}

static int parse(const json_t *doc, struct parsed *p, char *err, size_t errlen)
{
	if (!json_is_object(doc))
		return fail(err, errlen, "", "the configuration must be a JSON object, got %s",
		            type_name(doc));
	jlog_options_init(&p->opts);
	p->nsinks = 0;
	p->nmodules = 0;
	bool level_given = false;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)doc, key, v) {
		int rc = 0;
		long long n = 0;
		if (strcmp(key, "level") == 0) {
			rc = get_level(v, key, &p->opts.level, err, errlen);
			level_given = true;
		} else if (strcmp(key, "queue_size") == 0) {
			rc = get_int(v, key, 64 << 10, 1 << 30, &n, err, errlen);
			p->opts.queue_size = (size_t)n;
		} else if (strcmp(key, "max_record_size") == 0) {
			rc = get_int(v, key, 4 << 10, 1 << 28, &n, err, errlen);
			p->opts.max_record_size = (size_t)n;
		} else if (strcmp(key, "flush_interval_ms") == 0) {
			rc = get_int(v, key, 1, 10000, &n, err, errlen);
			p->opts.flush_interval_ms = (int)n;
		} else if (strcmp(key, "close_timeout_ms") == 0) {
			rc = get_int(v, key, 0, 600000, &n, err, errlen);
			p->opts.close_timeout_ms = (int)n;
		} else if (strcmp(key, "overflow") == 0) {
			const char *s = NULL;
			rc = get_string(v, key, &s, err, errlen);
			if (rc == 0 && strcasecmp(s, "block") == 0)
				p->opts.overflow = JLOG_OVERFLOW_BLOCK;
			else if (rc == 0 && strcasecmp(s, "drop") == 0)
				p->opts.overflow = JLOG_OVERFLOW_DROP;
			else if (rc == 0)
				rc = fail(err, errlen, key, "expected \"block\" or \"drop\", got \"%s\"", s);
		} else if (strcmp(key, "name") == 0) {
			rc = get_string(v, key, &p->opts.name, err, errlen);
		} else if (strcmp(key, "file_mode") == 0) {
			rc = get_mode(v, key, &p->opts.file_mode, err, errlen);
			p->file_mode_given = true;
		} else if (strcmp(key, "allow_symlink") == 0) {
			rc = get_bool(v, key, &p->opts.allow_symlink, err, errlen);
			p->allow_symlink_given = true;
		} else if (strcmp(key, "modules") == 0) {
			if (!json_is_object(v))
				return fail(err, errlen, key, "expected an object, got %s", type_name(v));
			const char *mod;
			json_t *lv;
			json_object_foreach(v, mod, lv) {
				char path[300];
				snprintf(path, sizeof(path), "modules.%s", mod);
				if (p->nmodules == sizeof(p->modules) / sizeof(p->modules[0]))
					return fail(err, errlen, path, "too many modules");
				p->modules[p->nmodules].prefix = mod;
				rc = get_level(lv, path, &p->modules[p->nmodules].level, err, errlen);
				if (rc < 0)
					return rc;
				p->nmodules++;
			}
		} else if (strcmp(key, "sinks") == 0) {
			if (!json_is_array(v))
				return fail(err, errlen, key, "expected an array, got %s", type_name(v));
			if (json_array_size(v) > MAX_SINKS)
				return fail(err, errlen, key, "more than %d sinks", MAX_SINKS);
			size_t i;
			json_t *so;
			json_array_foreach(v, i, so) {
				rc = parse_sink(so, i, &p->sinks[i], &p->given[i], err, errlen);
				if (rc < 0)
					return rc;
			}
			p->nsinks = json_array_size(v);
		} else {
			rc = fail(err, errlen, key, "unknown key");
		}
		if (rc < 0)
			return rc;
	}
	/* The top-level file_mode and allow_symlink are the defaults of the
	 * file sinks (the logger itself has no file sink here). */
	for (size_t i = 0; i < p->nsinks; i++) {
		if (p->file_mode_given && !p->given[i].file_mode)
			p->sinks[i].file_mode = p->opts.file_mode;
		if (p->allow_symlink_given && !p->given[i].allow_symlink)
			p->sinks[i].allow_symlink = p->opts.allow_symlink;
	}
	/* No logger level: loguru has none, each sink filters; the logger
	 * lets through what its most verbose sink wants. A sink without a
	 * level has the default one (INFO), so that a quieter or noisier
	 * sink next to it does not change what it gets. */
	if (!level_given && p->nsinks > 0) {
		int lowest = JLOG_LEVEL_OFF;
		for (size_t i = 0; i < p->nsinks; i++) {
			if (!p->given[i].level)
				p->sinks[i].level = p->opts.level;
			if (p->sinks[i].level < lowest)
				lowest = p->sinks[i].level;
		}
		p->opts.level = lowest;
	}
	for (size_t i = 0; i < p->nsinks; i++) {
		int rc = check_sink(&p->sinks[i], i, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Open a logger from a parsed document: the root without a sink, then its
 * modules and sinks; on any failure everything is closed again. */
static int open_parsed(jlog_logger **out, struct parsed *p, char *err, size_t errlen)
{
	jlog_logger *lg;
	int rc = jlog__open(&lg, &p->opts, p->nsinks > 0);
	if (rc < 0)
		return fail(err, errlen, "", "cannot open the logger: %s", jlog_strerror(rc));
	for (size_t i = 0; i < p->nmodules; i++) {
		rc = jlog_set_module_level(lg, p->modules[i].prefix, p->modules[i].level);
		if (rc < 0)
			goto fail_close;
	}
	for (size_t i = 0; i < p->nsinks; i++) {
		/* A stale message of an earlier call must not explain this
		 * failure (-ENOMEM sets none). */
		jlog__set_last_error("%s", "");
		rc = jlog_add_sink(lg, &p->sinks[i]);
		if (rc < 0) {
			char path[32];
			snprintf(path, sizeof(path), "sinks[%zu]", i);
			const char *why = jlog_last_error();
			fail(err, errlen, path, "%s", *why ? why : jlog_strerror(rc));
			jlog_close(lg);
			return rc;
		}
	}
	*out = lg;
	return 0;
fail_close:
	fail(err, errlen, "", "%s", jlog_strerror(rc));
	jlog_close(lg);
	return rc;
}

/* Load @text: a path, or the JSON itself when it starts with '{'. */
static json_t *load(const char *text, int *rc, char *err, size_t errlen)
{
	json_error_t je;
	const char *t = text;
	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	json_t *doc;
	if (*t == '{') {
		doc = json_loads(t, JSON_REJECT_DUPLICATES, &je);
		if (!doc) {
			*rc = fail(err, errlen, "", "invalid JSON at line %d, column %d: %s", je.line,
			           je.column, je.text);
			return NULL;
		}
		return doc;
	}
	FILE *f = fopen(text, "re");
	if (!f) {
		*rc = -errno;
		fail(err, errlen, text, "%s", jlog_strerror(*rc));
		return NULL;
	}
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!doc)
		*rc = fail(err, errlen, text, "invalid JSON at line %d, column %d: %s", je.line,
		           je.column, je.text);
	return doc;
}

int jlog__config_open_doc(jlog_logger **out, json_t *doc, char *err, size_t errlen)
{
	struct parsed *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = parse(doc, p, err, errlen);
	if (rc == 0)
		rc = open_parsed(out, p, err, errlen);
	free(p);
	return rc;
}

int jlog_open_config_err(jlog_logger **out, const char *path_or_json, char *err, size_t errlen)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!path_or_json)
		return fail(err, errlen, "", "no configuration given");
	int rc = 0;
	json_t *doc = load(path_or_json, &rc, err, errlen);
	if (!doc)
		return rc;
	rc = jlog__config_open_doc(out, doc, err, errlen);
	json_decref(doc);
	return rc;
}

int jlog_open_config(jlog_logger **out, const char *path_or_json)
{
	char err[512];
	int rc = jlog_open_config_err(out, path_or_json, err, sizeof(err));
	if (rc < 0) {
		jlog__set_last_error("%s", err);
		fprintf(stderr, "jlog: configuration: %s\n", err);
	}
	return rc;
}

/*
 * The default logger's document: JLOG_CONFIG's file (or an empty one),
 * then the environment's overrides: JLOG_LEVEL the root level, JLOG_SINK,
 * JLOG_FORMAT, JLOG_SERIALIZE and JLOG_COLORIZE the first sink (created
 * when the document has none). A bad override is reported on stderr and
 * ignored. Returns a new reference, or NULL with the error in err.
 */
json_t *jlog__config_from_env(int *rc, char *err, size_t errlen)
{
	const char *path = getenv("JLOG_CONFIG");
	json_t *doc = path && *path ? load(path, rc, err, errlen) : json_object();
	if (!doc)
		return NULL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		*rc = fail(err, errlen, "JLOG_CONFIG", "must hold a JSON object");
		return NULL;
	}
	const char *lv = getenv("JLOG_LEVEL");
	if (lv && *lv) {
		int level = jlog_level_from_name(lv);
		if (level >= 0)
			json_object_set_new(doc, "level", json_integer(level));
		else
			fprintf(stderr, "jlog: ignoring JLOG_LEVEL=\"%s\": not a level\n", lv);
	}
	const char *sink = getenv("JLOG_SINK"), *format = getenv("JLOG_FORMAT");
	const char *ser = getenv("JLOG_SERIALIZE"), *color = getenv("JLOG_COLORIZE");
	bool any = (sink && *sink) || (format && *format) || (ser && *ser) || (color && *color);
	if (!any)
		return doc;
	json_t *sinks = json_object_get(doc, "sinks");
	if (sinks && !json_is_array(sinks))
		return doc; /* a wrong "sinks": let the check name it */
	if (!sinks) {
		sinks = json_array();
		json_object_set_new(doc, "sinks", sinks);
	}
	json_t *first = json_array_get(sinks, 0);
	if (!json_is_object(first)) {
		first = json_object();
		json_array_append_new(sinks, first);
	}
	if (sink && *sink)
		json_object_set_new(first, "sink", json_string(sink));
	if (format && *format) {
		json_object_set_new(first, "format", json_string(format));
		if (!(ser && *ser))
			json_object_set_new(first, "serialize", json_false());
	}
	if (ser && *ser) {
		if (!strcasecmp(ser, "1") || !strcasecmp(ser, "true") || !strcasecmp(ser, "yes"))
			json_object_set_new(first, "serialize", json_true());
		else if (!strcasecmp(ser, "0") || !strcasecmp(ser, "false") || !strcasecmp(ser, "no"))
			json_object_set_new(first, "serialize", json_false());
		else
			fprintf(stderr, "jlog: ignoring JLOG_SERIALIZE=\"%s\": not a boolean\n", ser);
	}
	if (color && *color) {
		if (!strcasecmp(color, "1") || !strcasecmp(color, "true") || !strcasecmp(color, "yes"))
			json_object_set_new(first, "colorize", json_true());
		else if (!strcasecmp(color, "0") || !strcasecmp(color, "false") || !strcasecmp(color, "no"))
			json_object_set_new(first, "colorize", json_false());
		else if (!strcasecmp(color, "auto"))
			json_object_set_new(first, "colorize", json_string("auto"));
		else
			fprintf(stderr, "jlog: ignoring JLOG_COLORIZE=\"%s\": not a boolean\n", color);
	}
	return doc;
}
