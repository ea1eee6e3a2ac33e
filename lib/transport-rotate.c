/*
 * The rotating file transport: a path with "rotation", "retention",
 * "compression" or "shared" goes to the rotating file engine (rotate.h,
 * whose header maps each operation below to its call). The registry
 * (transport.c) gives it every path; a path with none of these keys is
 * handed to the plain file transport (transport-file.c), so a file that
 * does not rotate costs what it did before.
 *
 * Errors of the side work (rotation, retention, compression) are reported
 * once on stderr by the engine's on_error below and counted: tick adds
 * the engine's new failures to base.side_errors, which the writer folds
 * into jlog_stats.rotation_errors (writer.c, tick_sinks()).
 */
#include "transport.h"

#include "jlog-private.h"
#include "opt.h"
#include "rotate.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rotate_opts {
	unsigned mode;
	bool allow_symlink;
	struct jlog__rotate_policy pol;
	/* A jlog_sink_options field that did not parse (opts_init cannot
	 * fail): its error, reported by open unless options replaced it. */
	int so_rc;
	const char *so_key;
	char so_err[200];
};

/* Each setter starts the part of the policy it owns afresh, so that
 * options replace jlog_sink_options' field rather than add to it. */
static void clear_rotation(struct jlog__rotate_policy *p)
{
	p->size = 0;
	p->when = JLOG__ROTATE_NEVER;
	p->interval_ns = 0;
	p->at_sec = 0;
	p->weekday = 0;
}

static void clear_retention(struct jlog__rotate_policy *p)
{
	p->keep_count = 0;
	p->keep_age_ns = 0;
}

/* A key of options replaces the jlog_sink_options field it names, and
 * so that field's error. */
static void forget_so_error(struct rotate_opts *o, const char *key)
{
	if (o->so_key && strcmp(o->so_key, key) == 0)
		o->so_rc = 0;
}

/* The engine's parsers set jlog_last_error(); a key path goes first. */
static int parsed(int rc, const char *path, char *err, size_t errlen)
{
	if (rc == 0)
		return 0;
	jlog__cfg_fail(err, errlen, path, "%s", jlog_last_error());
	return rc == -ENOTSUP ? -EINVAL : rc;
}

static int set_rotation(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	struct rotate_opts *o = base;
	forget_so_error(o, "rotation");
	clear_rotation(&o->pol);
	if (json_is_number(v))
		return parsed(jlog__rotate_set_rotation_size(&o->pol, json_number_value(v)), path,
		              err, errlen);
	if (json_is_string(v))
		return parsed(jlog__rotate_parse_rotation(&o->pol, json_string_value(v)), path, err,
		              errlen);
	return jlog__cfg_fail(err, errlen, path, "expected a string (\"10 MB\", \"00:00\", "
	                      "\"1 day\") or a number of bytes, got %s", jlog__cfg_type_name(v));
}

static int set_retention(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	struct rotate_opts *o = base;
	forget_so_error(o, "retention");
	clear_retention(&o->pol);
	if (json_is_number(v))
		return parsed(jlog__rotate_set_retention_count(&o->pol, json_number_value(v)), path,
		              err, errlen);
	if (json_is_string(v))
		return parsed(jlog__rotate_parse_retention(&o->pol, json_string_value(v)), path,
		              err, errlen);
	return jlog__cfg_fail(err, errlen, path, "expected a count of files (10, \"10 files\") "
	                      "or an age (\"1 week\"), got %s", jlog__cfg_type_name(v));
}

static int set_compression(void *base, const json_t *v, const char *path, char *err,
                           size_t errlen)
{
	struct rotate_opts *o = base;
	forget_so_error(o, "compression");
	o->pol.compression = JLOG__COMPRESS_NONE;
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return jlog__cfg_fail(err, errlen, path, "expected \"gz\", \"zst\" or \"none\", got %s",
		                      jlog__cfg_type_name(v));
	return parsed(jlog__rotate_parse_compression(&o->pol, json_string_value(v)), path, err,
	              errlen);
}

static const struct jlog__opt rotate_keys[] = {
	{"file_mode", JLOG__OPT_MODE, offsetof(struct rotate_opts, mode), NULL,
	 "mode of a file the sink creates, an octal string; default \"0640\""},
	{"allow_symlink", JLOG__OPT_BOOL, offsetof(struct rotate_opts, allow_symlink), NULL,
	 "accept a path whose last component is a symbolic link; default false"},
	{"rotation", JLOG__OPT_CUSTOM, 0, set_rotation,
	 "rotate at a size (\"10 MB\"), a time (\"00:00\"), an interval (\"1 day\") or both "
	 "(\"100 MB or 00:00\")"},
	{"retention", JLOG__OPT_CUSTOM, 0, set_retention,
	 "keep this many rotated files (10, \"10 files\") or files this young (\"1 week\")"},
	{"compression", JLOG__OPT_CUSTOM, 0, set_compression,
	 "compress rotated files: \"gz\", \"zst\" or \"none\""},
	{"shared", JLOG__OPT_BOOL, offsetof(struct rotate_opts, pol.shared), NULL,
	 "several processes write this file (and one rotates it); default false"},
	{NULL, 0, 0, NULL, NULL},
};

/* A field of jlog_sink_options through its key's setter, as if it were
 * in options (same parser, same message). */
static void init_field(struct rotate_opts *o, const char *key, const char *value)
{
	if (!value || o->so_rc)
		return;
	json_t *v = json_string(value);
	if (!v) {
		o->so_rc = -ENOMEM;
		return;
	}
	o->so_rc = jlog__opt_find(rotate_keys, key)->set(o, v, key, o->so_err,
	                                                 sizeof(o->so_err));
	json_decref(v);
	o->so_key = key;
}

static void rotate_opts_init(void *opts, const jlog_sink_options *so)
{
	struct rotate_opts *o = opts;
	o->mode = so->file_mode;
	o->allow_symlink = so->allow_symlink;
	o->pol.shared = so->shared;
	init_field(o, "rotation", so->rotation);
	init_field(o, "retention", so->retention);
	init_field(o, "compression", so->compression);
}

struct rotating {
	struct jlog_transport base;
	struct jlog__rotate *rf;
	uint64_t errors_seen; /* the engine's failures already in side_errors */
	char *path;
};

/* The engine's on_error (owner or compression thread): once per kind
 * until it works again, on stderr. write(2) only: thread-safe. */
static void report(void *arg, enum jlog__rotate_err kind, int err, const char *msg)
{
	(void)kind;
	(void)err;
	const struct rotating *t = arg;
	char line[640];
	int n = snprintf(line, sizeof(line),
	                 "jlog: file %s: %s; lines still go to the active file (counted in "
	                 "jlog_stats.rotation_errors)\n",
	                 t->path, msg);
	if (n > 0)
		(void)jlog__write_all(STDERR_FILENO, line,
		                      (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int rotate_open(struct jlog_transport **out, const char *path, const void *opts,
                       const jlog_sink_options *so)
{
	const struct rotate_opts *o = opts;
	if (o->so_rc) {
		if (o->so_rc == -EINVAL)
			jlog__set_last_error("%s", o->so_err);
		return o->so_rc;
	}
	const struct jlog__rotate_policy *p = &o->pol;
	if (!p->size && p->when == JLOG__ROTATE_NEVER && !p->keep_count && !p->keep_age_ns &&
	    p->compression == JLOG__COMPRESS_NONE && !p->shared)
		return jlog__file_open(out, path, o->mode, o->allow_symlink);
	(void)so;
	if (!*path) {
		jlog__set_last_error("sink: an empty path");
		return -EINVAL;
	}
	if (o->mode > 07777) {
		jlog__set_last_error("file_mode: %o is not a file mode", o->mode);
		return -EINVAL;
	}
	struct rotating *t = calloc(1, sizeof(*t));
	char *copy = strdup(path);
	if (!t || !copy) {
		free(t);
		free(copy);
		return -ENOMEM;
	}
	t->base.ops = &jlog__transport_rotate;
	t->path = copy;
	struct jlog__rotate_policy pol = *p;
	pol.on_error = report;
	pol.error_arg = t;
	int rc = jlog__rotate_open(&t->rf, path, o->mode, o->allow_symlink, &pol);
	if (rc < 0) {
		free(t->path);
		free(t);
		return rc;
	}
	*out = &t->base;
	return 0;
}

static int rotate_write(struct jlog_transport *tp, const char *p, size_t len,
                        struct jlog__write_result *r)
{
	size_t written = 0;
	int rc = jlog__rotate_write(((struct rotating *)tp)->rf, p, len, &written);
	r->kept = written;
	return rc;
}

static void rotate_tick(struct jlog_transport *tp, uint64_t now_ns)
{
	struct rotating *t = (struct rotating *)tp;
	jlog__rotate_tick(t->rf, now_ns);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(t->rf, &st);
	uint64_t all = 0;
	for (int k = 0; k < JLOG__ROTATE_ERR_KINDS; k++)
		all += st.errors[k];
	if (all > t->errors_seen) {
		t->base.side_errors += all - t->errors_seen;
		t->errors_seen = all;
	}
}

static int rotate_reopen(struct jlog_transport *tp)
{
	jlog__rotate_reopen(((struct rotating *)tp)->rf);
	return 0;
}

static void rotate_crash_write(struct jlog_transport *tp, const char *p, size_t len)
{
	(void)jlog__rotate_crash_write(((struct rotating *)tp)->rf, p, len);
}

static void rotate_after_fork(struct jlog_transport *tp)
{
	jlog__rotate_after_fork(((struct rotating *)tp)->rf);
}

static void rotate_describe(const struct jlog_transport *tp, char *buf, size_t len)
{
	(void)jlog__rotate_describe(((const struct rotating *)tp)->rf, buf, len);
}

static void rotate_close(struct jlog_transport *tp)
{
	struct rotating *t = (struct rotating *)tp;
	jlog__rotate_close(t->rf);
	free(t->path);
	free(t);
}

const struct jlog__transport_ops jlog__transport_rotate = {
	.kind = "file",
	.opts = rotate_keys,
	.opts_size = sizeof(struct rotate_opts),
	.opts_init = rotate_opts_init,
	.open = rotate_open,
	.write = rotate_write,
	.tick = rotate_tick,
	.reopen = rotate_reopen,
	.crash_write = rotate_crash_write,
	.after_fork = rotate_after_fork,
	.describe = rotate_describe,
	.close = rotate_close,
};
