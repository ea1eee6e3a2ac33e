/*
 * A parsed configuration document (config.c), shared with reload.c,
 * which compares a running logger's document with a new one. Pair:
 * config.c.
 */
#ifndef JLOG_CONFIG_H
#define JLOG_CONFIG_H

#include "jlog-private.h"

#define MAX_SINKS 64

struct json_t;

struct jlog__cfg {
	jlog_options opts;
	jlog_sink_options sinks[MAX_SINKS];
	bool level_given[MAX_SINKS]; /* the sink set its own level */
	char *options[MAX_SINKS];    /* its transport keys (sinks[i].options) */
	size_t nsinks;
	bool file_mode_given, allow_symlink_given; /* at the top level */
	struct {
		const char *prefix;
		int level;
	} modules[256];
	size_t nmodules;
	const struct json_t *levels; /* the document's "levels", checked; or NULL */
	/* "redact" of the document and of each sink; their keys arrays. */
	jlog_redact_options redact, sink_redact[MAX_SINKS];
	const char **redact_keys, **sink_redact_keys[MAX_SINKS];
};

/* Parse and check @doc as jlog_open_config() does, opening nothing: 0 and
 * a new *out (its strings point into @doc), or the error with its key
 * path in @err. */
int jlog__cfg_parse(const struct json_t *doc, struct jlog__cfg **out, char *err, size_t errlen);
/* NULL is a no-op. */
void jlog__cfg_free(struct jlog__cfg *p);
/* What reload compares: the effective configuration (jlog-config show's).
 * A new reference, or NULL when out of memory. */
struct json_t *jlog__cfg_view(const struct jlog__cfg *p);
/* "sinks[@index]: " and the reason a sink could not be made (the last
 * error of this thread, cleared before the attempt, or @rc's text) into
 * @err; returns @rc. */
int jlog__cfg_sink_fail(char *err, size_t errlen, size_t index, int rc);
/* The sink jlog_open() makes for a document without "sinks". */
void jlog__cfg_default_sink(const struct jlog__cfg *p, jlog_sink_options *so);

#endif
