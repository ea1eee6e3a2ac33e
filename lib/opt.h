/*
 * Option tables: the configuration keys a sink (sink.c) or a transport
 * (transport.h) takes, each with its type and the field it sets, so that
 * the configuration document (config.c) and jlog_sink_options.options
 * (transport.c) read them with the same code and the same errors, which
 * name the key path ("sinks[1].file_mode: ..."). Pair: opt.c.
 */
#ifndef JLOG_OPT_H
#define JLOG_OPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum jlog__opt_type {
	JLOG__OPT_BOOL,     /* bool */
	JLOG__OPT_STRING,   /* const char *, pointing into the JSON value */
	JLOG__OPT_NONEMPTY, /* the same, and not "" */
	JLOG__OPT_LEVEL,    /* int: a level name (any case) or 0..255 */
	JLOG__OPT_MODE,     /* unsigned: a file mode, an octal string */
	JLOG__OPT_CUSTOM,   /* set() */
};

/* A key of a table; a table ends with an entry whose name is NULL. */
struct jlog__opt {
	const char *name;
	enum jlog__opt_type type;
	size_t offset; /* of the field in the options struct the table fills */
	/* JLOG__OPT_CUSTOM: parse @v into @base; 0 or jlog__cfg_fail(). */
	int (*set)(void *base, const json_t *v, const char *path, char *err, size_t errlen);
	const char *doc;
};

/* The keys of a sink in a configuration document, fields of
 * jlog_sink_options (sink.c); its transport's keys are the transport's
 * (transport.h). */
extern const struct jlog__opt jlog__sink_keys[];

/* The entry of @table named @name, or NULL. */
const struct jlog__opt *jlog__opt_find(const struct jlog__opt *table, const char *name);
/* Set @o's field of @base from @v. 0, or -EINVAL with "path: why" in @err. */
int jlog__opt_set(const struct jlog__opt *o, void *base, const json_t *v, const char *path,
                  char *err, size_t errlen);

/* Set @base's fields from every key of the object @obj, each found in
 * @table: the paths are "@at.key"; a key not in the table fails with
 * "unknown key (the table's keys)". 0, or the first error. */
int jlog__opt_set_object(const struct jlog__opt *table, void *base, const json_t *obj,
                         const char *at, char *err, size_t errlen);

/* "path: message" into @err (@errlen bytes, may be 0). Returns -EINVAL. */
int jlog__cfg_fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "an object", "a string"...: @v's JSON type, for messages. */
const char *jlog__cfg_type_name(const json_t *v);
/* While this thread parses a document: its checked "levels" array, which
 * jlog__cfg_level() consults before the process's levels; NULL after. */
void jlog__cfg_doc_levels(const json_t *levels);
/* The number of the level @name (any case, blanks around it ignored) in a
 * "levels" array, or -1. */
int jlog__cfg_doc_level(const json_t *levels, const char *name);
/* The typed readers behind the table types, for keys outside a table. */
int jlog__cfg_level(const json_t *v, const char *path, int *out, char *err, size_t errlen);
int jlog__cfg_int(const json_t *v, const char *path, long long lo, long long hi, long long *out,
                  char *err, size_t errlen);
int jlog__cfg_string(const json_t *v, const char *path, const char **out, char *err,
                     size_t errlen);
int jlog__cfg_bool(const json_t *v, const char *path, bool *out, char *err, size_t errlen);
int jlog__cfg_mode(const json_t *v, const char *path, unsigned *out, char *err, size_t errlen);

/* The logger keys "sampling" and "rate_limit" (@key, also the path) into
 * @o (a jlog_options; sample.c). */
struct jlog_options;
int jlog__cfg_sampling(const char *key, const json_t *v, struct jlog_options *o, char *err,
                       size_t errlen);
/* "sampling" and "rate_limit" as jlog-config show prints them, defaults
 * filled in (sample.c, the pair of jlog__cfg_sampling()): @key is one of
 * them; JSON null when that one is off. */
json_t *jlog__sample_to_json(const char *key, const struct jlog_options *o,
                             json_t *(*level_json)(int level, const json_t *levels),
                             const json_t *levels);

#endif
