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

#include "config.h"
#include "flight.h"
#include "opt.h"
#include "redact.h"
#include "transport.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Check @v as key @o of a transport (@owner's) and, when @owner is the
 * sink's own transport, keep it in @mine for jlog_sink_options.options. */
static int transport_key(const struct jlog__opt *o, const struct jlog__transport_ops *owner,
                         const struct jlog__transport_ops *kind, json_t *mine, const char *key,
                         json_t *v, const char *path, char *err, size_t errlen)
{
	void *check = calloc(1, owner->opts_size);
	if (!check)
		return -ENOMEM;
	int rc = jlog__opt_set(o, check, v, path, err, errlen);
	free(check);
	if (rc == 0 && owner == kind && json_object_set(mine, key, v) < 0)
		rc = -ENOMEM;
	return rc;
}

/*
 * One sink: its own keys from sink.c's table, its transport's keys from
 * the transport's table (the transport follows from "sink", read first),
 * collected into so->options for jlog_add_sink(). A key of another kind
 * of transport is checked and ignored: the document stays valid when
 * JLOG_SINK turns a file sink into a stream.
 */
static int parse_sink(const json_t *obj, size_t index, jlog_sink_options *so, bool *level_given,
                      char **options, jlog_redact_options *redact, const char ***redact_keys,
                      char *err, size_t errlen)
{
	char path[128], base[32];
	snprintf(base, sizeof(base), "sinks[%zu]", index);
	if (!json_is_object(obj))
		return jlog__cfg_fail(err, errlen, base, "expected an object, got %s", jlog__cfg_type_name(obj));
	jlog_sink_options_init(so);
	json_t *target = json_object_get(obj, "sink");
	if (target) {
		snprintf(path, sizeof(path), "%s.sink", base);
		int rc = jlog__opt_set(jlog__opt_find(jlog__sink_keys, "sink"), so, target, path, err,
		                       errlen);
		if (rc < 0)
			return rc;
	}
	const struct jlog__transport_ops *kind = jlog__transport_find(so);
	json_t *mine = json_object();
	if (!mine)
		return -ENOMEM;
	int rc = 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		snprintf(path, sizeof(path), "%s.%.60s", base, key);
		const struct jlog__opt *o = jlog__opt_find(jlog__sink_keys, key);
		const struct jlog__transport_ops *owner;
		if (strcmp(key, "redact") == 0) {
			rc = jlog__redact_parse(v, path, redact, redact_keys, err, errlen);
			so->redact = redact;
		} else if (o)
			rc = jlog__opt_set(o, so, v, path, err, errlen);
		else if ((o = jlog__transport_opt(kind, key, &owner)) != NULL)
			rc = transport_key(o, owner, kind, mine, key, v, path, err, errlen);
		else
			rc = jlog__cfg_fail(err, errlen, path, "unknown key");
		if (rc < 0)
			break;
	}
	if (rc == 0 && json_object_size(mine) > 0) {
		*options = json_dumps(mine, JSON_COMPACT);
		so->options = *options;
		if (!*options)
			rc = -ENOMEM;
	}
	json_decref(mine);
	if (rc < 0)
		return rc;
	*level_given = json_object_get(obj, "level") != NULL;
	/* loguru: a format means text unless serialize says otherwise. */
	if (json_object_get(obj, "format") && !json_object_get(obj, "serialize"))
		so->serialize = false;
	return 0;
}

int jlog__cfg_sink_fail(char *err, size_t errlen, size_t index, int rc)
{
	char path[32];
	snprintf(path, sizeof(path), "sinks[%zu]", index);
	const char *why = jlog_last_error();
	jlog__cfg_fail(err, errlen, path, "%s", *why ? why : jlog_strerror(rc));
	return rc;
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
	if (rc < 0)
		return jlog__cfg_sink_fail(err, errlen, index, rc);
	jlog__sink_destroy(s);
	return 0;
}

/*
 * "levels": [{"name": "NOTICE", "no": 22, "color": "<yellow>"}, ...]:
 * custom levels, checked here against each other and against the levels
 * that exist (jlog__level_check, which says what jlog_level_add() would
 * refuse), and added by open_parsed() once everything else has opened.
 */
static int parse_levels(const json_t *v, char *err, size_t errlen)
{
	if (!json_is_array(v))
		return jlog__cfg_fail(err, errlen, "levels", "expected an array, got %s", jlog__cfg_type_name(v));
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)v, i, l) {
		char base[32], path[96];
		snprintf(base, sizeof(base), "levels[%zu]", i);
		if (!json_is_object(l))
			return jlog__cfg_fail(err, errlen, base, "expected an object, got %s", jlog__cfg_type_name(l));
		const char *name = NULL, *color = NULL, *key;
		long long no = -1;
		json_t *f;
		json_object_foreach((json_t *)l, key, f) {
			snprintf(path, sizeof(path), "%s.%.60s", base, key);
			int rc = strcmp(key, "name") == 0    ? jlog__cfg_string(f, path, &name, err, errlen)
			         : strcmp(key, "no") == 0    ? jlog__cfg_int(f, path, 0, 255, &no, err, errlen)
			         : strcmp(key, "color") == 0 ? jlog__cfg_string(f, path, &color, err, errlen)
			                                     : jlog__cfg_fail(err, errlen, path,
			                                            "unknown key (name, no, color)");
			if (rc < 0)
				return rc;
		}
		if (!name || no < 0)
			return jlog__cfg_fail(err, errlen, base, "a level needs \"name\" and \"no\"");
		char why[160];
		if (!jlog__color_check(color, why, sizeof(why))) {
			snprintf(path, sizeof(path), "%s.color", base);
			return jlog__cfg_fail(err, errlen, path, "%s", why);
		}
		for (size_t j = 0; j < i; j++) {
			const json_t *e = json_array_get(v, j);
			const char *en = json_string_value(json_object_get(e, "name"));
			json_int_t eno = json_integer_value(json_object_get(e, "no"));
			bool same_name = strcasecmp(en, name) == 0;
			snprintf(path, sizeof(path), "%s.%s", base, same_name ? "name" : "no");
			if (same_name)
				return jlog__cfg_fail(err, errlen, path, "\"%s\" is already levels[%zu]", name, j);
			if (eno == no)
				return jlog__cfg_fail(err, errlen, path, "%lld is already levels[%zu] (\"%s\")", no, j,
				            en);
		}
		if (jlog__level_check(name, (int)no, color) < 0)
			return jlog__cfg_fail(err, errlen, base, "%s", jlog_last_error());
	}
	return 0;
}

static int parse_doc(const json_t *doc, struct jlog__cfg *p, char *err, size_t errlen)
{
	if (!json_is_object(doc))
		return jlog__cfg_fail(err, errlen, "", "the configuration must be a JSON object, got %s",
		            jlog__cfg_type_name(doc));
	/* The levels first: the other keys may name them. */
	const json_t *levels = json_object_get(doc, "levels");
	if (levels) {
		int rc = parse_levels(levels, err, errlen);
		if (rc < 0)
			return rc;
		jlog__cfg_doc_levels(levels);
	}
	p->levels = levels;
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
			rc = jlog__cfg_level(v, key, &p->opts.level, err, errlen);
			level_given = true;
		} else if (strcmp(key, "queue_size") == 0) {
			rc = jlog__cfg_int(v, key, 64 << 10, 1 << 30, &n, err, errlen);
			p->opts.queue_size = (size_t)n;
		} else if (strcmp(key, "max_record_size") == 0) {
			rc = jlog__cfg_int(v, key, 4 << 10, 1 << 28, &n, err, errlen);
			p->opts.max_record_size = (size_t)n;
		} else if (strcmp(key, "flush_interval_ms") == 0) {
			rc = jlog__cfg_int(v, key, 1, 10000, &n, err, errlen);
			p->opts.flush_interval_ms = (int)n;
		} else if (strcmp(key, "close_timeout_ms") == 0) {
			rc = jlog__cfg_int(v, key, 0, 600000, &n, err, errlen);
			p->opts.close_timeout_ms = (int)n;
		} else if (strcmp(key, "stats_interval_ms") == 0) {
			rc = jlog__cfg_int(v, key, 0, 86400000, &n, err, errlen);
			p->opts.stats_interval_ms = (int)n;
		} else if (strcmp(key, "overflow") == 0) {
			const char *s = NULL;
			rc = jlog__cfg_string(v, key, &s, err, errlen);
			if (rc == 0 && strcasecmp(s, "block") == 0)
				p->opts.overflow = JLOG_OVERFLOW_BLOCK;
			else if (rc == 0 && strcasecmp(s, "drop") == 0)
				p->opts.overflow = JLOG_OVERFLOW_DROP;
			else if (rc == 0)
				rc = jlog__cfg_fail(err, errlen, key, "expected \"block\" or \"drop\", got \"%s\"", s);
		} else if (strcmp(key, "name") == 0) {
			rc = jlog__cfg_string(v, key, &p->opts.name, err, errlen);
		} else if (strcmp(key, "file_mode") == 0) {
			rc = jlog__cfg_mode(v, key, &p->opts.file_mode, err, errlen);
			p->file_mode_given = true;
		} else if (strcmp(key, "allow_symlink") == 0) {
			rc = jlog__cfg_bool(v, key, &p->opts.allow_symlink, err, errlen);
			p->allow_symlink_given = true;
		} else if (strcmp(key, "modules") == 0) {
			if (!json_is_object(v))
				return jlog__cfg_fail(err, errlen, key, "expected an object, got %s", jlog__cfg_type_name(v));
			const char *mod;
			json_t *lv;
			json_object_foreach(v, mod, lv) {
				char path[300];
				snprintf(path, sizeof(path), "modules.%s", mod);
				if (p->nmodules == sizeof(p->modules) / sizeof(p->modules[0]))
					return jlog__cfg_fail(err, errlen, path, "too many modules");
				p->modules[p->nmodules].prefix = mod;
				rc = jlog__cfg_level(lv, path, &p->modules[p->nmodules].level, err, errlen);
				if (rc < 0)
					return rc;
				p->nmodules++;
			}
		} else if (strcmp(key, "redact") == 0) {
			rc = jlog__redact_parse(v, key, &p->redact, &p->redact_keys, err, errlen);
			p->opts.redact = &p->redact;
		} else if (strcmp(key, "sampling") == 0 || strcmp(key, "rate_limit") == 0) {
			rc = jlog__cfg_sampling(key, v, &p->opts, err, errlen);
		} else if (strcmp(key, "flight_recorder") == 0) {
			rc = jlog__cfg_flight(v, &p->opts, err, errlen);
		} else if (strcmp(key, "levels") == 0) {
			continue; /* parsed first */
		} else if (strcmp(key, "sinks") == 0) {
			if (!json_is_array(v))
				return jlog__cfg_fail(err, errlen, key, "expected an array, got %s", jlog__cfg_type_name(v));
			if (json_array_size(v) > MAX_SINKS)
				return jlog__cfg_fail(err, errlen, key, "more than %d sinks", MAX_SINKS);
			size_t i;
			json_t *so;
			json_array_foreach(v, i, so) {
				rc = parse_sink(so, i, &p->sinks[i], &p->level_given[i], &p->options[i],
				                &p->sink_redact[i], &p->sink_redact_keys[i], err, errlen);
				if (rc < 0)
					return rc;
			}
			p->nsinks = json_array_size(v);
		} else {
			rc = jlog__cfg_fail(err, errlen, key, "unknown key");
		}
		if (rc < 0)
			return rc;
	}
	/* The top-level file_mode and allow_symlink are the defaults of the
	 * file sinks (the logger itself has no file sink here); a sink's own
	 * keys, in its options, override them. */
	for (size_t i = 0; i < p->nsinks; i++) {
		if (p->file_mode_given)
			p->sinks[i].file_mode = p->opts.file_mode;
		if (p->allow_symlink_given)
			p->sinks[i].allow_symlink = p->opts.allow_symlink;
	}
	/* No logger level: loguru has none, each sink filters; the logger
	 * lets through what its most verbose sink wants. A sink without a
	 * level has the default one (INFO), so that a quieter or noisier
	 * sink next to it does not change what it gets. */
	if (!level_given && p->nsinks > 0) {
		int lowest = JLOG_LEVEL_OFF;
		for (size_t i = 0; i < p->nsinks; i++) {
			if (!p->level_given[i])
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

static int parse(const json_t *doc, struct jlog__cfg *p, char *err, size_t errlen)
{
	int rc = parse_doc(doc, p, err, errlen);
	jlog__cfg_doc_levels(NULL);
	return rc;
}

/* Open a logger from a parsed document: the root without a sink, then its
 * modules and sinks; on any failure everything is closed again. */
static int open_parsed(jlog_logger **out, struct jlog__cfg *p, char *err, size_t errlen)
{
	jlog_logger *lg;
	unsigned seq = jlog__last_error_seq();
	int rc = jlog__open(&lg, &p->opts, p->nsinks > 0);
	if (rc < 0)
		return jlog__cfg_fail(err, errlen, "", "cannot open the logger: %s",
		                      jlog__last_error_seq() != seq ? jlog_last_error() : jlog_strerror(rc));
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
			jlog__cfg_sink_fail(err, errlen, i, rc);
			jlog_close(lg);
			return rc;
		}
	}
	/* The document's levels last, when nothing can fail but them (and
	 * they can only if another thread took a name or number since the
	 * check), so that a refused document adds none. */
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)p->levels, i, l) {
		rc = jlog_level_add(json_string_value(json_object_get(l, "name")),
		                    (int)json_integer_value(json_object_get(l, "no")),
		                    json_string_value(json_object_get(l, "color")));
		if (rc < 0) {
			char path[32];
			snprintf(path, sizeof(path), "levels[%zu]", i);
			jlog__cfg_fail(err, errlen, path, "%s", jlog_last_error());
			jlog_close(lg);
			return rc;
		}
	}
	*out = lg;
	return 0;
fail_close:
	jlog__cfg_fail(err, errlen, "", "%s", jlog_strerror(rc));
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
			*rc = jlog__cfg_fail(err, errlen, "", "invalid JSON at line %d, column %d: %s", je.line,
			           je.column, je.text);
			return NULL;
		}
		return doc;
	}
	FILE *f = fopen(text, "re");
	if (!f) {
		*rc = -errno;
		jlog__cfg_fail(err, errlen, text, "%s", jlog_strerror(*rc));
		return NULL;
	}
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!doc)
		*rc = jlog__cfg_fail(err, errlen, text, "invalid JSON at line %d, column %d: %s", je.line,
		           je.column, je.text);
	return doc;
}

static void parsed_free(struct jlog__cfg *p)
{
	for (size_t i = 0; i < MAX_SINKS; i++) {
		free(p->options[i]);
		free(p->sink_redact_keys[i]);
	}
	free(p->redact_keys);
	free(p);
}

int jlog__config_open_doc(jlog_logger **out, json_t *doc, const char *path, bool env, char *err,
                          size_t errlen)
{
	struct jlog__cfg *p = calloc(1, sizeof(*p));
	if (!p) {
		jlog__cfg_fail(err, errlen, "", "out of memory");
		return -ENOMEM;
	}
	int rc = parse(doc, p, err, errlen);
	if (rc == 0)
		rc = open_parsed(out, p, err, errlen);
	/* What jlog_reload_config() compares the next document with. */
	if (rc == 0 && (rc = jlog__cfg_state_init(*out, p, path, env)) < 0) {
		jlog__cfg_fail(err, errlen, "", "out of memory");
		jlog_close(*out);
		*out = NULL;
	}
	parsed_free(p);
	return rc;
}

int jlog__cfg_parse(const json_t *doc, struct jlog__cfg **out, char *err, size_t errlen)
{
	struct jlog__cfg *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p) {
		jlog__cfg_fail(err, errlen, "", "out of memory");
		return -ENOMEM;
	}
	int rc = parse(doc, p, err, errlen);
	if (rc < 0) {
		parsed_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void jlog__cfg_free(struct jlog__cfg *p)
{
	if (p)
		parsed_free(p);
}


static int open_config(jlog_logger **out, const char *path_or_json, char *err, size_t errlen)
{
	if (!out)
		return jlog__cfg_fail(err, errlen, "", "out is NULL");
	*out = NULL;
	if (!path_or_json)
		return jlog__cfg_fail(err, errlen, "", "no configuration given");
	int rc = 0;
	json_t *doc = load(path_or_json, &rc, err, errlen);
	if (!doc)
		return rc;
	const char *t = path_or_json + strspn(path_or_json, " \t\n\r");
	rc = jlog__config_open_doc(out, doc, *t == '{' ? NULL : path_or_json, false, err, errlen);
	json_decref(doc);
	return rc;
}

int jlog_open_config_err(jlog_logger **out, const char *path_or_json, char *err, size_t errlen)
{
	/* The message goes to @err and to jlog_last_error() both, so that no
	 * failure leaves an older one there. */
	char why[512] = "";
	int rc = open_config(out, path_or_json, why, sizeof(why));
	if (rc < 0)
		jlog__set_last_error("%s", *why ? why : jlog_strerror(rc));
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return rc;
}

int jlog_open_config(jlog_logger **out, const char *path_or_json)
{
	int rc = jlog_open_config_err(out, path_or_json, NULL, 0);
	if (rc < 0)
		fprintf(stderr, "jlog: configuration: %s\n", jlog_last_error());
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
		*rc = jlog__cfg_fail(err, errlen, "JLOG_CONFIG", "must hold a JSON object");
		return NULL;
	}
	jlog__config_env_overrides(doc);
	return doc;
}

void jlog__config_env_overrides(json_t *doc)
{
	const char *lv = getenv("JLOG_LEVEL");
	if (lv && *lv) {
		/* As text, for the document's parser: "off" is a level there, and
		 * so is a level the document's "levels" define. */
		const json_t *levels = json_object_get(doc, "levels");
		if (jlog_level_from_name(lv) >= 0 ||
		    (json_is_array(levels) && jlog__cfg_doc_level(levels, lv) >= 0))
			json_object_set_new(doc, "level", json_string(lv));
		else
			fprintf(stderr, "jlog: ignoring JLOG_LEVEL=\"%s\": not a level\n", lv);
	}
	const char *sink = getenv("JLOG_SINK"), *format = getenv("JLOG_FORMAT");
	const char *ser = getenv("JLOG_SERIALIZE"), *color = getenv("JLOG_COLORIZE");
	bool any = (sink && *sink) || (format && *format) || (ser && *ser) || (color && *color);
	if (!any)
		return;
	json_t *sinks = json_object_get(doc, "sinks");
	if (sinks && !json_is_array(sinks))
		return; /* a wrong "sinks": let the check name it */
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
}

json_t *jlog__config_load(const char *path_or_json, int *rc, char *err, size_t errlen)
{
	*rc = 0;
	json_t *doc = load(path_or_json, rc, err, errlen);
	if (doc && *rc == 0)
		return doc;
	json_decref(doc);
	if (*rc == 0)
		*rc = -EINVAL;
	return NULL;
}

int jlog__config_check(const json_t *doc, char *err, size_t errlen)
{
	struct jlog__cfg *p = calloc(1, sizeof(*p));
	if (!p) {
		jlog__cfg_fail(err, errlen, "", "out of memory");
		return -ENOMEM;
	}
	int rc = parse(doc, p, err, errlen);
	parsed_free(p);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The effective configuration (jlog-config show)                           */
/* ------------------------------------------------------------------------ */

static json_t *level_json(int level, const json_t *levels)
{
	const char *name = jlog__level_name(level);
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)levels, i, l)
		if (json_integer_value(json_object_get(l, "no")) == level)
			name = json_string_value(json_object_get(l, "name"));
	if (level == JLOG_LEVEL_OFF)
		name = "OFF";
	return name ? json_string(name) : json_integer(level);
}

static json_t *mode_json(unsigned mode)
{
	char m[8];
	snprintf(m, sizeof(m), "%04o", mode);
	return json_string(m);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *sink_json(const jlog_sink_options *so, const json_t *levels)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	const char *preset = so->preset ? so->preset : "default";
	int pr = jlog__preset_parse(preset);
	bool own_time = pr == JLOG__PRESET_OTEL || pr == JLOG__PRESET_LOGURU;
	json_object_set_new(j, "sink", json_string(so->sink ? so->sink : "stderr"));
	json_object_set_new(j, "level", level_json(so->level, levels));
	json_object_set_new(j, "serialize", json_boolean(so->serialize));
	json_object_set_new(j, "format", so->serialize ? json_null()
	                                 : json_string(so->format ? so->format
	                                                          : jlog__default_text_format));
	json_object_set_new(j, "colorize", so->colorize < 0 ? json_string("auto")
	                                   : json_boolean(so->colorize));
	/* The names as the parsers read them: "ECS" is "ecs", "rfc3339"
	 * is "rfc3339_us". */
	if (pr >= 0)
		preset = jlog__preset_name(pr);
	int tf = so->time_format ? jlog__time_format_parse(so->time_format) : -1;
	json_object_set_new(j, "preset", json_string(preset));
	json_object_set_new(j, "time_format", tf >= 0 ? json_string(jlog__time_format_name(tf))
	                                      : so->time_format ? json_string(so->time_format)
	                                      : own_time ? json_null()
	                                                 : json_string("rfc3339_us"));
	json_object_set_new(j, "filter", str_or_null(so->filter && *so->filter ? so->filter : NULL));
	json_t *keys = json_object();
	const jlog_sink_keys *k = &so->keys;
	const char *const names[] = {"time", "level", "message", "logger", "file",
	                             "line", "function", "pid", "tid"};
	const char *const vals[] = {k->time, k->level, k->message, k->logger, k->file,
	                            k->line, k->function, k->pid, k->tid};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		json_object_set_new(keys, names[i], json_string(vals[i] ? vals[i] : names[i]));
	json_object_set_new(j, "keys", keys);
	json_object_set_new(j, "backtrace", json_boolean(so->backtrace));
	json_object_set_new(j, "diagnose", json_boolean(so->diagnose));
	json_object_set_new(j, "catch", json_boolean(so->catch_errors));
	json_object_set_new(j, "utc", json_boolean(so->utc < 0 ? so->serialize : so->utc));
	json_object_set_new(j, "file_mode", mode_json(so->file_mode));
	json_object_set_new(j, "allow_symlink", json_boolean(so->allow_symlink));
	json_object_set_new(j, "rotation", str_or_null(so->rotation));
	json_object_set_new(j, "retention", str_or_null(so->retention));
	json_object_set_new(j, "compression", str_or_null(so->compression));
	json_object_set_new(j, "shared", json_boolean(so->shared));
	/* The transport's own keys, as given: they override the above. */
	if (so->options) {
		json_t *o = json_loads(so->options, 0, NULL);
		if (json_is_object(o))
			json_object_update(j, o);
		json_decref(o);
	}
	json_object_set_new(j, "redact", so->redact ? jlog__redact_to_json(so->redact) : json_null());
	return j;
}

void jlog__cfg_default_sink(const struct jlog__cfg *p, jlog_sink_options *so)
{
	/* As jlog__open() makes sink 0. */
	jlog_sink_options_init(so);
	so->sink = p->opts.sink;
	so->file_mode = p->opts.file_mode;
	so->allow_symlink = p->opts.allow_symlink;
}

static json_t *effective(const struct jlog__cfg *p)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	const jlog_options *o = &p->opts;
	json_object_set_new(j, "level", level_json(o->level, p->levels));
	json_object_set_new(j, "name", str_or_null(o->name && *o->name ? o->name : NULL));
	json_object_set_new(j, "queue_size", json_integer((json_int_t)o->queue_size));
	/* As jlog_open() lowers it. */
	size_t mrs = o->max_record_size < o->queue_size / 4 ? o->max_record_size : o->queue_size / 4;
	json_object_set_new(j, "max_record_size", json_integer((json_int_t)mrs));
	json_object_set_new(j, "flush_interval_ms", json_integer(o->flush_interval_ms));
	json_object_set_new(j, "close_timeout_ms", json_integer(o->close_timeout_ms));
	json_object_set_new(j, "stats_interval_ms", json_integer(o->stats_interval_ms));
	json_object_set_new(j, "overflow",
	                    json_string(o->overflow == JLOG_OVERFLOW_DROP ? "drop" : "block"));
	json_object_set_new(j, "file_mode", mode_json(o->file_mode));
	json_object_set_new(j, "allow_symlink", json_boolean(o->allow_symlink));
	json_t *mods = json_object();
	for (size_t i = 0; i < p->nmodules; i++)
		json_object_set_new(mods, p->modules[i].prefix, level_json(p->modules[i].level, p->levels));
	json_object_set_new(j, "modules", mods);
	json_object_set_new(j, "levels", p->levels ? json_deep_copy(p->levels) : json_array());
	json_object_set_new(j, "redact", o->redact ? jlog__redact_to_json(o->redact) : json_null());
	json_object_set_new(j, "flight_recorder", jlog__flight_to_json(o, level_json, p->levels));
	json_object_set_new(j, "sampling", jlog__sample_to_json("sampling", o, level_json, p->levels));
	json_object_set_new(j, "rate_limit",
	                    jlog__sample_to_json("rate_limit", o, level_json, p->levels));
	json_t *sinks = json_array();
	if (p->nsinks == 0) {
		/* No sinks: jlog_open()'s own, the options' sink in JSON. */
		jlog_sink_options so;
		jlog__cfg_default_sink(p, &so);
		json_array_append_new(sinks, sink_json(&so, p->levels));
	}
	for (size_t i = 0; i < p->nsinks; i++)
		json_array_append_new(sinks, sink_json(&p->sinks[i], p->levels));
	json_object_set_new(j, "sinks", sinks);
	return j;
}

json_t *jlog__config_effective(const json_t *doc, int *rc, char *err, size_t errlen)
{
	struct jlog__cfg *p = calloc(1, sizeof(*p));
	if (!p) {
		*rc = -ENOMEM;
		jlog__cfg_fail(err, errlen, "", "out of memory");
		return NULL;
	}
	*rc = parse(doc, p, err, errlen);
	json_t *j = *rc == 0 ? effective(p) : NULL;
	if (*rc == 0 && !j) {
		*rc = -ENOMEM;
		jlog__cfg_fail(err, errlen, "", "out of memory");
	}
	parsed_free(p);
	return j;
}

json_t *jlog__cfg_view(const struct jlog__cfg *p)
{
	return effective(p);
}
