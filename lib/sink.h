/*
 * Sinks (sink.c): struct jlog_sink, what the writer does for every
 * output around its transport (transport.h), the sink sets of a core, and
 * the writer's deadline for writes to a pipe or socket.
 * A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_SINK_H
#define JLOG_SINK_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

struct jlog_sink;
struct jlog_transport;

/* A formatter appends one line for a record to the sink's buffer (or to
 * @b, the crash handler's); sets b->failed when out of memory. */
typedef void (*jlog__format_fn)(const struct jlog_sink *s, struct jlog__buf *b,
                                const struct jlog__rec_view *v,
                                const struct jlog__line_ctx *ctx);

/* A sink: what the writer does for every output (level, filters,
 * formatter, buffer, counters, error reports), around a transport that
 * takes the bytes. Written by the writer thread only, once added. */
struct jlog_sink {
	struct jlog_transport *tp;
	jlog__format_fn format;
	int id;             /* jlog_add_sink()'s id */
	int level;          /* records below it are not written to this sink */
	/* Output options (jlog_sink_options), fixed once added. */
	char *filter;       /* logger-name prefix, NULL for all */
	size_t filter_len;
	jlog_filter_fn filter_fn;
	void *filter_user;
	struct jlog__template *tmpl; /* text sinks (serialize false) */
	bool color;
	struct jlog__json_opts json; /* JSON sinks */
	/* This sink's own redaction rules, after the logger's (redact.h);
	 * NULL for none. */
	struct jlog__redact *redact;
	char *json_keys;    /* storage of json's renamed keys */
	bool backtrace;     /* show "stack" */
	bool diagnose;      /* show "errno", "errno_text", "thread" */
	bool catch_errors;
	bool framed;        /* the transport has a record op (transport.h) */
	_Atomic int pending_error; /* !catch_errors: first error to return */
	/* The transport's describe(), taken at creation, for messages (the
	 * crash handler's too, which cannot format). */
	char desc[160];

	struct jlog__buf out; /* pending output (writer thread) */
	uint64_t pend_lines;  /* lines in out */
	/* Writer: the ring position up to which this sink's lines were
	 * handed to it, when that is past the core's crash.sink_pos (a
	 * write_out() in progress: see it, and crash.c's step 4). */
	_Atomic uint64_t crash_pos;
	uint64_t write_errors;
	int last_error;     /* errno of the last failure, 0 after success */
	bool error_reported;
	/* After a failed jlog__sink_drain(): the bytes and lines at the start
	 * of the buffer that still reached the output whole. */
	size_t kept_bytes;
	size_t kept_lines;
	uint64_t cuts_removed; /* cut lines truncated away after a failure */
	/* jlog_sink_stats: written by the writer where it counts the core's
	 * written, bytes_written, write_errors and lost; read by any thread
	 * (jlog_get_sink_stats()). */
	_Atomic uint64_t n_written;
	_Atomic uint64_t n_bytes;
	_Atomic uint64_t n_errors;
	_Atomic uint64_t n_lost;
};

/* The sinks of a core: an immutable array, replaced whole (copy, change,
 * publish) by jlog_add_sink()/jlog_remove_sink(). The writer loads it once
 * per batch. */
struct jlog__sink_set {
	struct jlog__sink_set *retired_next; /* core's list of replaced sets */
	unsigned n;
	struct jlog_sink *s[];
};

/* Create a sink and open its transport from options (checked here:
 * -EINVAL with a message for jlog_last_error()), or the negative errno of
 * opening the transport, with a message naming it. */
int jlog__sink_create_opts(struct jlog_sink **out, const jlog_sink_options *o);
/* The same around an open transport @tp, which the sink then owns (also
 * on failure). */
int jlog__sink_create_on(struct jlog_sink **out, const jlog_sink_options *o,
                         struct jlog_transport *tp);
/* Whether @s takes the record: level, logger-name prefix, predicate. */
bool jlog__sink_accepts(const struct jlog_sink *s, const struct jlog__rec_view *v);
/* Append @s's line for @v to @b (the sink's formatter). */
static inline void jlog__sink_format(const struct jlog_sink *s, struct jlog__buf *b,
                                     const struct jlog__rec_view *v,
                                     const struct jlog__line_ctx *ctx)
{
	s->format(s, b, v, ctx);
}
/* The formatters of a JSON sink: the default schema unchanged (no
 * preset, renames or time format), and any other. */
void jlog__sink_format_plain(const struct jlog_sink *s, struct jlog__buf *b,
                             const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx);
void jlog__sink_format_json(const struct jlog_sink *s, struct jlog__buf *b,
                            const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx);
void jlog__sink_destroy(struct jlog_sink *s);
/* Write the sink's pending buffer. Returns bytes written or a negative
 * errno (counted in s->write_errors; the buffer is emptied either way: the
 * lines past s->kept_lines are dropped, never retried). */
ssize_t jlog__sink_drain(struct jlog_sink *s);
/* Which of the writer's hooks @s's transport has (JLOG__SINK_HOOK_*), so
 * that the writer calls none for a set whose sinks have none. */
#define JLOG__SINK_HOOK_FLUSH 1u
#define JLOG__SINK_HOOK_TICK 2u
unsigned jlog__sink_hooks(const struct jlog_sink *s);
/* The transport's flush (0 or a negative errno, counted and reported as a
 * write error) and tick; only for sinks whose hooks say so. */
int jlog__sink_flush(struct jlog_sink *s);
void jlog__sink_tick(struct jlog_sink *s, uint64_t now_ns);
/* The writer's side of jlog_reopen() (reopen.c): when asked, every sink's
 * transport reopens its target. Writer thread, between batches. */
struct jlog_core;
void jlog__reopen_sinks(struct jlog_core *c, struct jlog__sink_set *set);
/* In the child of fork(): an empty buffer (the parent's lines are the
 * parent's to write), then the transport's after_fork. */
void jlog__sink_after_fork(struct jlog_sink *s);
/* The crash handler's write (async-signal-safe), for a sink whose
 * transport has one. */
bool jlog__sink_has_crash_write(const struct jlog_sink *s);
void jlog__sink_crash_write(struct jlog_sink *s, const char *p, size_t len);
/* jlog's own messages about sink @s go to stderr unless @s writes there. */
bool jlog__sink_on_stderr(const struct jlog_sink *s);
/* A forked child's copy of a buffer the parent's writer may have been
 * reallocating: never freed nor touched (writer.c). */
void jlog__fork_keep(void *p);

/*
 * Writes of the writer thread to a pipe or socket never block past a
 * deadline (writer.c): close and exit set it, and the writer gives up on a
 * sink that takes nothing by then. @at_ms is CLOCK_MONOTONIC in ms, 0 for
 * none; @expired counts the writes that gave up.
 */
struct jlog__write_deadline {
	_Atomic uint64_t at_ms;
	_Atomic uint64_t expired;
};
/* Its use by jlog__write_some(): transport.h (jlog__write_kind()). */

#endif /* JLOG_SINK_H */
