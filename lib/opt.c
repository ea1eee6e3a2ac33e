/* Option tables and the typed readers of configuration values (opt.h). */
#include "opt.h"

#include "jlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int jlog__cfg_fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
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

const char *jlog__cfg_type_name(const json_t *v)
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

/*
 * The document's own "levels" (an array config.c has checked) while this
 * thread parses it, so that "level": "NOTICE" works in the document that
 * defines NOTICE, before jlog_level_add() makes it known to all.
 * Thread-local: documents may be parsed on several threads at once.
 */
static _Thread_local const json_t *doc_levels;

void jlog__cfg_doc_levels(const json_t *levels)
{
	doc_levels = levels;
}

int jlog__cfg_doc_level(const json_t *levels, const char *name)
{
	name += strspn(name, " \t");
	size_t n = strcspn(name, " \t");
	if (name[n + strspn(name + n, " \t")])
		return -1; /* a blank inside: not a name */
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)levels, i, l) {
		const char *ln = json_string_value(json_object_get(l, "name"));
		const json_t *no = json_object_get(l, "no");
		if (ln && json_is_integer(no) && strlen(ln) == n && strncasecmp(ln, name, n) == 0)
			return (int)json_integer_value(no);
	}
	return -1;
}

int jlog__cfg_level(const json_t *v, const char *path, int *out, char *err, size_t errlen)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > 255)
			return jlog__cfg_fail(err, errlen, path, "level %lld is out of range 0..255 "
			                      "(\"off\" logs nothing)", (long long)n);
		*out = (int)n;
		return 0;
	}
	if (json_is_string(v)) {
		/* jlog_level_from_name() is the one parser; the document's own
		 * levels come first only because they are not added yet. */
		int l = doc_levels ? jlog__cfg_doc_level(doc_levels, json_string_value(v)) : -1;
		if (l < 0)
			l = jlog_level_from_name(json_string_value(v));
		if (l < 0)
			return jlog__cfg_fail(err, errlen, path, "%s", jlog_last_error());
		*out = l;
		return 0;
	}
	return jlog__cfg_fail(err, errlen, path, "expected a level name or number, got %s",
	                      jlog__cfg_type_name(v));
}

int jlog__cfg_int(const json_t *v, const char *path, long long lo, long long hi, long long *out,
                  char *err, size_t errlen)
{
	if (!json_is_integer(v))
		return jlog__cfg_fail(err, errlen, path, "expected an integer, got %s",
		                      jlog__cfg_type_name(v));
	long long n = json_integer_value(v);
	if (n < lo || n > hi)
		return jlog__cfg_fail(err, errlen, path, "%lld is out of range %lld..%lld", n, lo, hi);
	*out = n;
	return 0;
}

int jlog__cfg_string(const json_t *v, const char *path, const char **out, char *err,
                     size_t errlen)
{
	if (!json_is_string(v))
		return jlog__cfg_fail(err, errlen, path, "expected a string, got %s",
		                      jlog__cfg_type_name(v));
	*out = json_string_value(v);
	return 0;
}

int jlog__cfg_bool(const json_t *v, const char *path, bool *out, char *err, size_t errlen)
{
	if (!json_is_boolean(v))
		return jlog__cfg_fail(err, errlen, path, "expected true or false, got %s",
		                      jlog__cfg_type_name(v));
	*out = json_is_true(v);
	return 0;
}

/*
 * A file mode: an octal string, "0640" or "640". JSON has no octal, so a
 * number is refused rather than read: 640 read as decimal is 01200 (sticky
 * bit, owner write only), and read as octal it would differ from what
 * every other JSON reader makes of the same document.
 */
int jlog__cfg_mode(const json_t *v, const char *path, unsigned *out, char *err, size_t errlen)
{
	if (json_is_integer(v)) {
		long long n = json_integer_value(v);
		char digits[32];
		snprintf(digits, sizeof(digits), "%lld", n);
		bool octal = n >= 0 && n <= 7777 && strspn(digits, "01234567") == strlen(digits);
		if (octal)
			return jlog__cfg_fail(err, errlen, path,
			                      "%lld is a number, and JSON numbers are decimal: write "
			                      "the mode as a string, \"0%lld\"", n, n);
		return jlog__cfg_fail(err, errlen, path,
		                      "%lld is a number, and JSON numbers are decimal: write the "
		                      "mode as an octal string such as \"0640\"", n);
	}
	if (!json_is_string(v))
		return jlog__cfg_fail(err, errlen, path,
		                      "expected an octal mode string such as \"0640\", got %s",
		                      jlog__cfg_type_name(v));
	/* Digits only: strtoul alone would take "" as 0 and accept blanks
	 * and a sign. */
	const char *s = json_string_value(v);
	char *end;
	unsigned long m = strtoul(s, &end, 8);
	if (!*s || strspn(s, "01234567") != strlen(s) || *end || m > 07777)
		return jlog__cfg_fail(err, errlen, path, "\"%s\" is not an octal mode", s);
	*out = (unsigned)m;
	return 0;
}

const struct jlog__opt *jlog__opt_find(const struct jlog__opt *table, const char *name)
{
	for (const struct jlog__opt *o = table; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

int jlog__opt_set(const struct jlog__opt *o, void *base, const json_t *v, const char *path,
                  char *err, size_t errlen)
{
	void *field = (char *)base + o->offset;
	switch (o->type) {
	case JLOG__OPT_BOOL:
		return jlog__cfg_bool(v, path, field, err, errlen);
	case JLOG__OPT_STRING:
		return jlog__cfg_string(v, path, field, err, errlen);
	case JLOG__OPT_NONEMPTY: {
		int rc = jlog__cfg_string(v, path, field, err, errlen);
		if (rc == 0 && !**(const char **)field)
			rc = jlog__cfg_fail(err, errlen, path, "must not be empty");
		return rc;
	}
	case JLOG__OPT_LEVEL:
		return jlog__cfg_level(v, path, field, err, errlen);
	case JLOG__OPT_MODE:
		return jlog__cfg_mode(v, path, field, err, errlen);
	case JLOG__OPT_CUSTOM:
		return o->set(base, v, path, err, errlen);
	}
	return jlog__cfg_fail(err, errlen, path, "unknown key");
}

int jlog__opt_set_object(const struct jlog__opt *table, void *base, const json_t *obj,
                         const char *at, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		char path[192];
		snprintf(path, sizeof(path), "%.96s.%.60s", at, key);
		const struct jlog__opt *o = jlog__opt_find(table, key);
		if (!o) {
			/* The message lists the table's keys, in its order. */
			char names[256];
			size_t len = 0;
			names[0] = '\0';
			for (const struct jlog__opt *k = table; k->name && len < sizeof(names); k++) {
				int w = snprintf(names + len, sizeof(names) - len, "%s%s",
				                 k == table ? "" : ", ", k->name);
				len += w > 0 ? (size_t)w : 0;
			}
			return jlog__cfg_fail(err, errlen, path, "unknown key (%s)", names);
		}
		int rc = jlog__opt_set(o, base, v, path, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}
