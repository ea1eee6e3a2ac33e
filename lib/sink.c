/*
 * Sinks: the common part. A sink owns an output buffer filled by its
 * formatter on the writer thread; jlog__sink_drain() hands the buffer to
 * the sink's write() in one call. Write errors are counted and reported
 * once on stderr; they never reach the application.
 *
 * The buffer always holds whole lines, and a failed write never leaves a
 * cut line behind in a regular file (see fd_write() in sink-fd.c): the
 * lines that could not be written whole are dropped, and the writer counts
 * them in jlog_stats.lost.
 */
#include "jlog-private.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

ssize_t jlog__write_some(int fd, const char *p, size_t len)
{
	/* On the writer thread, a pipe or socket is waited on with poll()
	 * and written no more than it takes at once, so a reader that
	 * stopped reading holds the writer up only until the close or exit
	 * deadline (writer.c), without making the descriptor, which the
	 * whole process shares, non-blocking. */
	int kind = jlog__write_kind(fd);
	for (;;) {
		ssize_t n;
		if (JLOG__UNLIKELY(kind != JLOG__FD_PLAIN)) {
			int rc = jlog__write_wait(fd);
			if (rc < 0)
				return rc;
			n = kind == JLOG__FD_SOCKET ? send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
			                            : write(fd, p, jlog__pipe_room(fd, len));
		} else {
			n = write(fd, p, len);
		}
		if (n > 0)
			return n;
		if (n == 0)
			return -EIO; /* no progress on a non-empty write */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (kind != JLOG__FD_PLAIN)
			continue; /* jlog__write_wait() waits */
		/* A non-blocking descriptor (a pipe or socket the application
		 * made non-blocking) is full: wait until it takes more, as a
		 * blocking one would, rather than lose bytes. A reader that
		 * goes away wakes poll() (POLLERR), and the write then fails
		 * with EPIPE. */
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
			/* ENOMEM: transient; do not spin on it. */
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

int jlog__write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = jlog__write_some(fd, p, len);
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int jlog__sink_create(struct jlog_sink **out, const char *spec, unsigned mode,
                      bool allow_symlink)
{
	if (!spec || strcmp(spec, "stderr") == 0)
		return jlog__sink_fd_create(out, STDERR_FILENO, false);
	if (strcmp(spec, "stdout") == 0)
		return jlog__sink_fd_create(out, STDOUT_FILENO, false);
	if (*spec == '\0')
		return -EINVAL;
	return jlog__sink_file_create(out, spec, mode, allow_symlink);
}

void jlog__sink_destroy(struct jlog_sink *s)
{
	if (!s)
		return;
	jlog__buf_finish(&s->out);
	jlog__template_free(s->tmpl);
	free(s->filter);
	free(s->json_keys);
	s->ops->destroy(s);
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
	o->file_mode = 0640;
	o->catch_errors = true;
}

/* The callback sink: each line of the buffer to the application's
 * function. It cannot fail. */
static int cb_write(struct jlog_sink *s, const char *p, size_t len)
{
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		s->write_cb(p, n, s->user);
		p += n;
	}
	return 0;
}

static void cb_destroy(struct jlog_sink *s)
{
	free(s);
}

static const struct jlog_sink_ops cb_ops = {
	.write = cb_write,
	.flush = NULL,
	.destroy = cb_destroy,
};

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

/* colorize -1: loguru's rule. NO_COLOR first, then FORCE_COLOR, then
 * whether the output is a terminal. */
static bool want_color(int colorize, int fd)
{
	if (colorize >= 0)
		return colorize > 0;
	if (env_set("NO_COLOR"))
		return false;
	if (env_set("FORCE_COLOR"))
		return true;
	return fd >= 0 && isatty(fd);
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
	if (o->preset) {
		int p = jlog__preset_parse(o->preset);
		if (p < 0) {
			jlog__set_last_error("preset: unknown preset \"%.64s\" (default, ecs, gcp, "
			                     "otel, loguru)", o->preset);
			return -EINVAL;
		}
		j->preset = (enum jlog__preset)p;
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

int jlog__sink_create_opts(struct jlog_sink **out, const jlog_sink_options *o)
{
	*out = NULL;
	if (!o) {
		jlog__set_last_error("sink: no options");
		return -EINVAL;
	}
	if (o->level < 0 || o->level > JLOG_LEVEL_OFF) {
		jlog__set_last_error("level: %d is out of range 0..%d", o->level, JLOG_LEVEL_OFF);
		return -EINVAL;
	}
	if (o->colorize < -1) {
		jlog__set_last_error("colorize: %d is not -1 (auto), 0 or 1", o->colorize);
		return -EINVAL;
	}
	if (o->file_mode > 07777) {
		jlog__set_last_error("file_mode: %o is not a file mode", o->file_mode);
		return -EINVAL;
	}
	if (!o->write && o->sink && !*o->sink) {
		jlog__set_last_error("sink: an empty path");
		return -EINVAL;
	}

	/* Everything that can be refused is checked before the file is
	 * opened, so a bad option creates no file. */
	struct jlog_sink tmp;
	memset(&tmp, 0, sizeof(tmp));
	int rc = json_options(&tmp, o);
	if (rc < 0)
		goto fail;
	if (!o->serialize) {
		char err[256];
		rc = jlog__template_compile(o->format ? o->format : jlog__default_text_format,
		                            &tmp.tmpl, err, sizeof(err));
		if (rc < 0) {
			if (rc == -EINVAL)
				jlog__set_last_error("%s", err);
			goto fail;
		}
	}
	if (o->filter && *o->filter) {
		tmp.filter_len = strlen(o->filter);
		tmp.filter = strdup(o->filter);
		if (!tmp.filter) {
			rc = -ENOMEM;
			goto fail;
		}
	}

	struct jlog_sink *s;
	if (o->write) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			rc = -ENOMEM;
			goto fail;
		}
		s->ops = &cb_ops;
		s->fd = -1;
		s->write_cb = o->write;
		s->user = o->user;
		jlog__buf_init(&s->out);
	} else {
		rc = jlog__sink_create(&s, o->sink, o->file_mode, o->allow_symlink);
		if (rc < 0) {
			jlog__set_last_error("sink \"%.200s\": %s", o->sink ? o->sink : "stderr",
			                     jlog_strerror(rc));
			goto fail;
		}
	}
	s->level = o->level;
	s->filter = tmp.filter;
	s->filter_len = tmp.filter_len;
	s->filter_fn = o->filter_fn;
	s->filter_user = o->filter_user;
	s->json = tmp.json;
	s->json_keys = tmp.json_keys;
	s->tmpl = tmp.tmpl;
	s->color = !o->serialize && want_color(o->colorize, s->fd);
	s->backtrace = o->backtrace;
	s->diagnose = o->diagnose;
	s->catch_errors = o->catch_errors;
	if (!o->serialize)
		s->format = format_text;
	else if (jlog__json_opts_plain(&s->json))
		s->format = jlog__sink_format_plain;
	else
		s->format = jlog__sink_format_json;
	*out = s;
	return 0;

fail:
	jlog__template_free(tmp.tmpl);
	free(tmp.filter);
	free(tmp.json_keys);
	return rc;
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

/* Say once on stderr that a sink fails; say again only after it recovered
 * and failed anew. Never on the sink itself if that is stderr. */
static void report_error(struct jlog_sink *s, int err)
{
	if (s->error_reported)
		return;
	s->error_reported = true;
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
	                 "jlog: writing to %s failed: %s; lines are dropped and "
	                 "counted until it works again\n",
	                 s->path ? s->path : (s->fd == STDOUT_FILENO ? "stdout" : "stderr"),
	                 jlog_strerror(err));
	if (n > 0 && s->fd != STDERR_FILENO)
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

ssize_t jlog__sink_drain(struct jlog_sink *s)
{
	size_t len = s->out.len;
	s->kept_bytes = 0;
	s->kept_lines = 0;
	if (len == 0)
		return 0;
	int rc = s->ops->write(s, s->out.p, len);
	if (rc < 0) {
		/* A sink that does not say how far it got kept nothing. */
		if (s->kept_bytes > len)
			s->kept_bytes = 0;
		s->kept_lines = count_lines(s->out.p, s->kept_bytes);
		s->out.len = 0;
		s->write_errors++;
		s->last_error = -rc;
		if (!s->catch_errors) {
			/* Kept for jlog_flush()/jlog_close(): the first one. */
			int none = 0;
			atomic_compare_exchange_strong(&s->pending_error, &none, rc);
		}
		report_error(s, -rc);
		return rc;
	}
	s->out.len = 0;
	s->kept_bytes = len;
	s->last_error = 0;
	s->error_reported = false;
	return (ssize_t)len;
}
