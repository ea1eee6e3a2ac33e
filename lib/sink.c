/*
 * Sinks: the part that is the same for every output. A sink owns an output
 * buffer filled by its formatter on the writer thread; jlog__sink_drain()
 * hands the buffer to the sink's transport (transport.h) in one call.
 * Write errors are counted and reported once on stderr, naming the sink
 * ("sink 2 (file /var/log/app.log)"); they never reach the application.
 *
 * The buffer always holds whole lines, and a failed write never leaves a
 * cut line behind in a regular file (jlog__fd_write_lines() in
 * transport-fd.c): the lines that could not be written whole are dropped,
 * and the writer counts them in jlog_stats.lost.
 *
 * The keys of a sink in the configuration document are sink_keys[] below
 * (read by config.c); the keys of its transport are the transport's.
 */
#include "jlog-private.h"
#include "redact.h"

#include "opt.h"
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void jlog__sink_destroy(struct jlog_sink *s)
{
	if (!s)
		return;
	jlog__buf_finish(&s->out);
	jlog__template_free(s->tmpl);
	jlog__redact_free(s->redact);
	free(s->filter);
	free(s->json_keys);
	if (s->tp)
		s->tp->ops->close(s->tp);
	free(s);
}

/* ------------------------------------------------------------------------ */
/* Sinks from jlog_sink_options                                             */
/* ------------------------------------------------------------------------ */

void jlog_sink_options_init(jlog_sink_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->sink = "stderr";
	o->serialize = true;
	o->colorize = -1;
	o->utc = -1;
	o->file_mode = 0640;
	o->catch_errors = true;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

/* colorize -1: loguru's rule, on a stream that may be a terminal (stdout,
 * stderr): NO_COLOR first, then FORCE_COLOR, then whether it is one.
 * Anything else (a file, a callback) gets colors only when asked with 1:
 * FORCE_COLOR is meant for terminals that isatty() does not recognise,
 * never for log files. */
static bool want_color(int colorize, const struct jlog_transport *tp)
{
	if (colorize >= 0)
		return colorize > 0;
	if (!(tp->flags & JLOG__TP_STREAM))
		return false;
	if (env_set("NO_COLOR"))
		return false;
	if (env_set("FORCE_COLOR"))
		return true;
	return tp->flags & JLOG__TP_TTY;
}

void jlog__sink_format_plain(const struct jlog_sink *s, struct jlog__buf *b,
                             const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	(void)s;
	jlog__encode_json(b, v, ctx);
}

void jlog__sink_format_json(const struct jlog_sink *s, struct jlog__buf *b,
                            const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	jlog__encode_preset(b, v, ctx, &s->json);
}

static void format_text(const struct jlog_sink *s, struct jlog__buf *b,
                        const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	jlog__format_text(b, v, ctx, s->tmpl, s->color);
}

/* The JSON options of @o into @s (renamed keys copied into one block).
 * 0 or -EINVAL/-ENOMEM, with a message. */
static int json_options(struct jlog_sink *s, const jlog_sink_options *o)
{
	struct jlog__json_opts *j = &s->json;
	jlog__json_opts_init(j);
	j->local_time = o->utc == 0; /* -1: UTC for JSON */
	if (o->preset) {
		int p = jlog__preset_parse(o->preset);
		if (p < 0) {
			jlog__set_last_error("preset: unknown preset \"%.64s\" (default, ecs, gcp, "
			                     "otel, loguru)", o->preset);
			return -EINVAL;
		}
		j->preset = (enum jlog__preset)p;
	}
	/* The readers behind ecs, gcp and otel lose integers beyond 2^53
	 * (jlog.h, big_numbers). */
	j->big_strings = j->preset == JLOG__PRESET_ECS || j->preset == JLOG__PRESET_GCP ||
	                 j->preset == JLOG__PRESET_OTEL;
	if (o->big_numbers) {
		if (strcmp(o->big_numbers, "string") != 0 && strcmp(o->big_numbers, "exact") != 0) {
			jlog__set_last_error("big_numbers: \"%.64s\" is not \"exact\" or \"string\"",
			                     o->big_numbers);
			return -EINVAL;
		}
		j->big_strings = strcmp(o->big_numbers, "string") == 0;
	}
	if (o->time_format) {
		int t = jlog__time_format_parse(o->time_format);
		if (t < 0) {
			jlog__set_last_error("time_format: unknown time format \"%.64s\" (rfc3339, "
			                     "rfc3339_ms, rfc3339_ns, epoch, epoch_ms, epoch_ns)",
			                     o->time_format);
			return -EINVAL;
		}
		j->time_format = (enum jlog__time_format)t;
		/* A preset whose schema fixes the time's form takes no other
		 * (encode-preset.c): refused rather than ignored. */
		bool epoch = t >= JLOG__TIME_EPOCH_S;
		if ((j->preset == JLOG__PRESET_ECS || j->preset == JLOG__PRESET_GCP) && epoch) {
			jlog__set_last_error("time_format: \"%.64s\": the %s preset writes its time "
			                     "as a date (rfc3339, rfc3339_ms, rfc3339_ns)",
			                     o->time_format, jlog__preset_name(j->preset));
			return -EINVAL;
		}
		if ((j->preset == JLOG__PRESET_OTEL || j->preset == JLOG__PRESET_LOGURU) &&
		    t != JLOG__TIME_RFC3339_US) {
			jlog__set_last_error("time_format: \"%.64s\": the %s preset's time has one "
			                     "form (%s), set by its schema",
			                     o->time_format, jlog__preset_name(j->preset),
			                     j->preset == JLOG__PRESET_OTEL ? "Timestamp in ns"
			                                                    : "loguru's record.time");
			return -EINVAL;
		}
	}
	const char *const from[] = {o->keys.time,     o->keys.level, o->keys.message,
	                            o->keys.logger,   o->keys.file,  o->keys.line,
	                            o->keys.function, o->keys.pid,   o->keys.tid};
	const char **to[] = {&j->key_time,     &j->key_level, &j->key_message,
	                     &j->key_logger,   &j->key_file,  &j->key_line,
	                     &j->key_function, &j->key_pid,   &j->key_tid};
	size_t total = 0;
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		if (!from[i])
			continue;
		size_t n = strlen(from[i]);
		if (n == 0 || n > 256) {
			jlog__set_last_error("keys: a renamed key must be 1 to 256 bytes");
			return -EINVAL;
		}
		/* The keys the writer gives ERROR records of this sink
		 * (diag.c): a schema key of that name would take their place. */
		if ((o->backtrace && strcmp(from[i], "stack") == 0) ||
		    (o->diagnose && (strcmp(from[i], "errno") == 0 ||
		                     strcmp(from[i], "errno_text") == 0 ||
		                     strcmp(from[i], "thread") == 0))) {
			jlog__set_last_error("keys: \"%s\" is the key of this sink's %s field",
			                     from[i], o->backtrace && !strcmp(from[i], "stack")
			                                  ? "backtrace"
			                                  : "diagnose");
			return -EINVAL;
		}
		total += n + 1;
	}
	if (total) {
		s->json_keys = malloc(total);
		if (!s->json_keys)
			return -ENOMEM;
		char *q = s->json_keys;
		for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
			if (!from[i])
				continue;
			size_t n = strlen(from[i]) + 1;
			memcpy(q, from[i], n);
			*to[i] = q;
			q += n;
		}
	}
	int rc = jlog__json_opts_check(j);
	if (rc == -EINVAL)
		jlog__set_last_error("keys: two keys of the schema would have the same name");
	return rc;
}

/* A sink from @o around @tp, or, when @tp is NULL, around the transport @o
 * names, opened only once everything else passed: a bad option creates no
 * file. @tp is closed on failure. */
static int create(struct jlog_sink **out, const jlog_sink_options *o, struct jlog_transport *tp)
{
	*out = NULL;
	int rc = -EINVAL;
	if (!o) {
		jlog__set_last_error("sink: no options");
		goto fail_tp;
	}
	if (o->level < 0 || o->level > JLOG_LEVEL_OFF) {
		jlog__set_last_error("level: %d is out of range 0..%d", o->level, JLOG_LEVEL_OFF);
		goto fail_tp;
	}
	if (o->utc < -1 || o->utc > 1) {
		jlog__set_last_error("utc: %d is not -1 (UTC for JSON, local for text), 0 or 1",
		                     o->utc);
		goto fail_tp;
	}
	if (o->colorize < -1 || o->colorize > 1) {
		jlog__set_last_error("colorize: %d is not -1 (auto), 0 or 1", o->colorize);
		goto fail_tp;
	}
	if (o->file_mode > 07777) {
		jlog__set_last_error("file_mode: %o is not a file mode", o->file_mode);
		goto fail_tp;
	}

	struct jlog_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		rc = -ENOMEM;
		goto fail_tp;
	}
	jlog__buf_init(&s->out);
	rc = json_options(s, o);
	if (rc < 0)
		goto fail;
	rc = jlog__redact_compile(o->redact, "redact", &s->redact);
	if (rc < 0)
		goto fail;
	if (!o->serialize) {
		char err[256];
		rc = jlog__template_compile(o->format ? o->format : jlog__default_text_format,
		                            &s->tmpl, err, sizeof(err));
		if (rc < 0) {
			if (rc == -EINVAL)
				jlog__set_last_error("%s", err);
			goto fail;
		}
		jlog__template_set_local(s->tmpl, o->utc != 1); /* -1: local for text */
	}
	if (o->filter && *o->filter) {
		s->filter_len = strlen(o->filter);
		s->filter = strdup(o->filter);
		if (!s->filter) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (!tp) {
		rc = jlog__transport_open(&tp, o);
		if (rc < 0)
			goto fail;
	}
	s->tp = tp;
	tp->ops->describe(tp, s->desc, sizeof(s->desc));
	s->level = o->level;
	s->filter_fn = o->filter_fn;
	s->filter_user = o->filter_user;
	s->color = !o->serialize && want_color(o->colorize, tp);
	s->backtrace = o->backtrace;
	s->diagnose = o->diagnose;
	s->catch_errors = o->catch_errors;
	s->framed = tp->ops->record != NULL;
	if (!o->serialize)
		s->format = format_text;
	else if (jlog__json_opts_plain(&s->json))
		s->format = jlog__sink_format_plain;
	else
		s->format = jlog__sink_format_json;
	*out = s;
	return 0;

fail:
	jlog__sink_destroy(s);
fail_tp:
	if (tp)
		tp->ops->close(tp);
	return rc;
}

int jlog__sink_create_opts(struct jlog_sink **out, const jlog_sink_options *o)
{
	return create(out, o, NULL);
}

int jlog__sink_create_on(struct jlog_sink **out, const jlog_sink_options *o,
                         struct jlog_transport *tp)
{
	return create(out, o, tp);
}

bool jlog__sink_accepts(const struct jlog_sink *s, const struct jlog__rec_view *v)
{
	if (v->level < s->level)
		return false;
	/* jlog's own records (drop reports) have no logger name; they go to
	 * every sink whose level takes them. */
	if (s->filter && !(v->flags & JLOG__REC_SYNTHETIC)) {
		if (v->name_len < s->filter_len || memcmp(v->name, s->filter, s->filter_len) != 0 ||
		    (v->name_len > s->filter_len && v->name[s->filter_len] != '.'))
			return false;
	}
	if (s->filter_fn) {
		jlog_record_info ri = {
			.level = v->level,
			.logger = v->name_len ? v->name : "",
			.logger_len = v->name_len,
			.message = v->msg_len ? v->msg : "",
			.message_len = v->msg_len,
			.file = v->file,
			.function = v->function,
			.line = v->line,
			.time_ns = v->time_ns,
			.tid = v->tid,
		};
		return s->filter_fn(&ri, s->filter_user);
	}
	return true;
}

bool jlog__sink_on_stderr(const struct jlog_sink *s)
{
	return s->tp->flags & JLOG__TP_STDERR;
}

/* Say once on stderr that a sink fails, naming it (id and target: two
 * failing sinks are told apart); say again only after it recovered and
 * failed anew. Never on the sink itself if that is stderr. */
static void report_error(struct jlog_sink *s, int err)
{
	if (s->error_reported)
		return;
	s->error_reported = true;
	if (jlog__sink_on_stderr(s))
		return;
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
	                 "jlog: sink %d (%s): writing failed: %s; lines are dropped and "
	                 "counted until it works again\n",
	                 s->id, s->desc, jlog_strerror(err));
	if (n > 0)
		(void)jlog__write_all(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

static size_t count_lines(const char *p, size_t len)
{
	size_t n = 0;
	const char *end = p + len;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* A failure of the transport: counted, kept for jlog_flush() when the
 * sink does not catch errors, reported. */
static void note_error(struct jlog_sink *s, int rc)
{
	s->write_errors++;
	s->last_error = -rc;
	if (!s->catch_errors) {
		/* Kept for jlog_flush()/jlog_close(): the first one. */
		int none = 0;
		atomic_compare_exchange_strong(&s->pending_error, &none, rc);
	}
	report_error(s, -rc);
}

ssize_t jlog__sink_drain(struct jlog_sink *s)
{
	size_t len = s->out.len;
	s->kept_bytes = 0;
	s->kept_lines = 0;
	if (len == 0)
		return 0;
	struct jlog__write_result r = {0, 0};
	int rc = s->tp->ops->write(s->tp, s->out.p, len, &r);
	s->cuts_removed += r.cuts_removed;
	if (rc < 0) {
		/* A transport that does not say how far it got kept nothing. */
		s->kept_bytes = r.kept <= len ? r.kept : 0;
		s->kept_lines = count_lines(s->out.p, s->kept_bytes);
		s->out.len = 0;
		note_error(s, rc);
		return rc;
	}
	s->out.len = 0;
	s->kept_bytes = len;
	s->last_error = 0;
	s->error_reported = false;
	return (ssize_t)len;
}

unsigned jlog__sink_hooks(const struct jlog_sink *s)
{
	return (s->tp->ops->flush ? JLOG__SINK_HOOK_FLUSH : 0) |
	       (s->tp->ops->tick ? JLOG__SINK_HOOK_TICK : 0);
}

int jlog__sink_flush(struct jlog_sink *s)
{
	int rc = s->tp->ops->flush(s->tp);
	if (rc < 0)
		note_error(s, rc);
	return rc;
}

void jlog__sink_tick(struct jlog_sink *s, uint64_t now_ns)
{
	s->tp->ops->tick(s->tp, now_ns);
}

void jlog__sink_after_fork(struct jlog_sink *s)
{
	if (s->out.p)
		jlog__fork_keep(s->out.p);
	jlog__buf_init(&s->out);
	s->pend_lines = 0;
	if (s->tp->ops->after_fork)
		s->tp->ops->after_fork(s->tp);
}

bool jlog__sink_has_crash_write(const struct jlog_sink *s)
{
	return s->tp->ops->crash_write != NULL;
}

void jlog__sink_crash_write(struct jlog_sink *s, const char *p, size_t len)
{
	s->tp->ops->crash_write(s->tp, p, len);
}

/* ------------------------------------------------------------------------ */
/* The keys of a sink in a configuration document                           */
/* ------------------------------------------------------------------------ */

static int set_colorize(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	jlog_sink_options *so = base;
	if (json_is_boolean(v))
		so->colorize = json_is_true(v) ? 1 : 0;
	else if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0)
		so->colorize = -1;
	else
		return jlog__cfg_fail(err, errlen, path, "expected true, false or \"auto\", got %s",
		                      jlog__cfg_type_name(v));
	return 0;
}

/* "utc": true or false, for jlog_sink_options.utc's 1 and 0 (absent: -1). */
static int set_utc(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	jlog_sink_options *so = base;
	bool b = false;
	int rc = jlog__cfg_bool(v, path, &b, err, errlen);
	if (rc == 0)
		so->utc = b ? 1 : 0;
	return rc;
}

/* The same check as json_options() (jlog__preset_parse(), any case), so
 * that a document and jlog_add_sink() accept the same names. */
static int set_preset(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	jlog_sink_options *so = base;
	int rc = jlog__cfg_string(v, path, &so->preset, err, errlen);
	if (rc == 0 && jlog__preset_parse(so->preset) < 0)
		rc = jlog__cfg_fail(err, errlen, path,
		                    "unknown preset \"%s\" (default, ecs, gcp, otel, loguru)", so->preset);
	return rc;
}

static int set_big_numbers(void *base, const json_t *v, const char *path, char *err,
                           size_t errlen)
{
	jlog_sink_options *so = base;
	int rc = jlog__cfg_string(v, path, &so->big_numbers, err, errlen);
	if (rc == 0 && strcmp(so->big_numbers, "exact") != 0 && strcmp(so->big_numbers, "string") != 0)
		rc = jlog__cfg_fail(err, errlen, path, "\"%s\" is not \"exact\" or \"string\"",
		                    so->big_numbers);
	return rc;
}

static int set_time_format(void *base, const json_t *v, const char *path, char *err,
                           size_t errlen)
{
	jlog_sink_options *so = base;
	int rc = jlog__cfg_string(v, path, &so->time_format, err, errlen);
	if (rc == 0 && jlog__time_format_parse(so->time_format) < 0)
		rc = jlog__cfg_fail(err, errlen, path, "unknown time format \"%s\"", so->time_format);
	return rc;
}

/* "keys": {"time": "ts", ...}: renames of the default schema's keys. */
static int set_keys(void *base, const json_t *obj, const char *at, char *err, size_t errlen)
{
	jlog_sink_keys *k = &((jlog_sink_options *)base)->keys;
	if (!json_is_object(obj))
		return jlog__cfg_fail(err, errlen, at, "expected an object, got %s",
		                      jlog__cfg_type_name(obj));
	static const struct jlog__opt names[] = {
		{"time", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, time), NULL, NULL},
		{"level", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, level), NULL, NULL},
		{"message", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, message), NULL, NULL},
		{"logger", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, logger), NULL, NULL},
		{"file", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, file), NULL, NULL},
		{"line", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, line), NULL, NULL},
		{"function", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, function), NULL, NULL},
		{"pid", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, pid), NULL, NULL},
		{"tid", JLOG__OPT_NONEMPTY, offsetof(jlog_sink_keys, tid), NULL, NULL},
		{NULL, 0, 0, NULL, NULL},
	};
	return jlog__opt_set_object(names, k, obj, at, err, errlen);
}

#define SO(f) offsetof(jlog_sink_options, f)
const struct jlog__opt jlog__sink_keys[] = {
	{"sink", JLOG__OPT_NONEMPTY, SO(sink), NULL, "\"stderr\", \"stdout\" or a path"},
	{"level", JLOG__OPT_LEVEL, SO(level), NULL, "records below it are not written"},
	{"format", JLOG__OPT_STRING, SO(format), NULL, "text template; implies serialize false"},
	{"serialize", JLOG__OPT_BOOL, SO(serialize), NULL, "JSON lines (true) or text"},
	{"colorize", JLOG__OPT_CUSTOM, 0, set_colorize, "true, false or \"auto\""},
	{"preset", JLOG__OPT_CUSTOM, 0, set_preset, "JSON key schema"},
	{"time_format", JLOG__OPT_CUSTOM, 0, set_time_format, "time format of JSON lines"},
	{"big_numbers", JLOG__OPT_CUSTOM, 0, set_big_numbers,
	 "\"exact\" or \"string\" (integers beyond 2^53 as strings); default by preset"},
	{"filter", JLOG__OPT_STRING, SO(filter), NULL, "logger-name prefix"},
	{"keys", JLOG__OPT_CUSTOM, 0, set_keys, "renames of the default schema's keys"},
	{"backtrace", JLOG__OPT_BOOL, SO(backtrace), NULL, "\"stack\" at ERROR and above"},
	{"diagnose", JLOG__OPT_BOOL, SO(diagnose), NULL, "errno and thread at ERROR and above"},
	{"catch", JLOG__OPT_BOOL, SO(catch_errors), NULL, "errors stay inside jlog"},
	{"utc", JLOG__OPT_CUSTOM, 0, set_utc, "UTC (true) or local time (false) in dates"},
	{NULL, 0, 0, NULL, NULL},
};
#undef SO
