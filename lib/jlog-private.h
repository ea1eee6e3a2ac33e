/*
 * Internal declarations shared by the files of lib/. Nothing here is
 * public; tests of internals include this header and link jlog_internal.
 *
 * One umbrella over the parts, in the order of the data flow: the output
 * buffer, the record layout and its decoder (record.c), the encoder
 * (encode.h), levels (level.h), callsites, the clock and the ring
 * (callsite.h, clock.h, ring.h), the presets (preset.h), sinks and the
 * crash handler (crash.h), the logger core with sampling, the
 * writer and diagnostics, the scoped context (context.h), configuration
 * and errors, and the text formatter (template.h). Each part uses the ones
 * before it (a sink needs the record view, the line context, the buffer
 * and the level table), and every file of lib/ needs several, so each
 * includes this one rather than a list that would change with each file.
 * A part header is included here only (it says so if included alone).
 */
#ifndef JLOG_PRIVATE_H
#define JLOG_PRIVATE_H

#include "jlog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define JLOG__CACHELINE 64
#define JLOG__ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

/* ------------------------------------------------------------------------ */
/* Growable output buffer (writer thread only)                              */
/* ------------------------------------------------------------------------ */

struct jlog__buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; contents are incomplete */
	bool fixed;  /* never reallocated: growing fails instead (the crash
	                handler's buffers, whose memory is not the heap's) */
};

/*
 * Copy @n bytes where n is usually small (keys, short values): two
 * overlapping fixed-size moves instead of a call into libc's memcpy, which
 * costs about 13 instructions plus the call for each of the ~8 copies of a
 * typical record (and for the encoder's short pieces of output). Reads
 * and writes nothing when n is 0.
 */
/* GCC 12 at -O3 sees the branches for larger sizes applied to small
 * arrays whose callers never pass that many bytes (format.c's escape
 * buffer), and warns: false positives. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
static inline void jlog__copy_bytes(void *dst_, const void *src, size_t n)
{
	uint8_t *dst = dst_;
	const uint8_t *s = src;
	if (JLOG__LIKELY(n <= 16)) {
		if (n >= 8) {
			uint64_t a, b;
			memcpy(&a, s, 8);
			memcpy(&b, s + n - 8, 8);
			memcpy(dst, &a, 8);
			memcpy(dst + n - 8, &b, 8);
		} else if (n >= 4) {
			uint32_t a, b;
			memcpy(&a, s, 4);
			memcpy(&b, s + n - 4, 4);
			memcpy(dst, &a, 4);
			memcpy(dst + n - 4, &b, 4);
		} else if (n > 0) {
			dst[0] = s[0];
			dst[n / 2] = s[n / 2];
			dst[n - 1] = s[n - 1];
		}
		return;
	}
	memcpy(dst, src, n);
}

/* The first and the last @w bytes (a constant, 4 or 8; n >= w) of @a and
 * @b are equal. */
static inline bool jlog__ends_equal(const uint8_t *a, const uint8_t *b, size_t n, size_t w)
{
	uint64_t x0 = 0, x1 = 0, y0 = 0, y1 = 0;
	memcpy(&x0, a, w);
	memcpy(&x1, a + n - w, w);
	memcpy(&y0, b, w);
	memcpy(&y1, b + n - w, w);
	return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

/* Whether the @n bytes at @a and @b are equal, for short keys: the loads
 * of jlog__copy_bytes() and one compare instead of a call into libc's
 * memcmp (its pair). */
static inline bool jlog__bytes_equal(const void *a_, const void *b_, size_t n)
{
	const uint8_t *a = a_, *b = b_;
	if (JLOG__LIKELY(n <= 16)) {
		if (n >= 8)
			return jlog__ends_equal(a, b, n, 8);
		if (n >= 4)
			return jlog__ends_equal(a, b, n, 4);
		return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
	}
	return memcmp(a, b, n) == 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void jlog__buf_init(struct jlog__buf *b);
void jlog__buf_finish(struct jlog__buf *b);
/* Make room for @extra more bytes. Returns false (and sets failed) when the
 * allocation fails; callers may keep appending, which then does nothing. */
bool jlog__buf_grow(struct jlog__buf *b, size_t extra);
static inline bool jlog__buf_room(struct jlog__buf *b, size_t extra)
{
	return b->cap - b->len >= extra || jlog__buf_grow(b, extra);
}
static inline void jlog__buf_put(struct jlog__buf *b, const void *p, size_t n)
{
	if (jlog__buf_room(b, n)) {
		jlog__copy_bytes(b->p + b->len, p, n);
		b->len += n;
	}
}
static inline void jlog__buf_putc(struct jlog__buf *b, char c)
{
	if (jlog__buf_room(b, 1))
		b->p[b->len++] = c;
}
#define jlog__buf_lit(b, s) jlog__buf_put((b), (s), sizeof(s) - 1)

/* ------------------------------------------------------------------------ */
/* Record layout (record.c)                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A record is self-contained bytes: no pointer is stored in it, so a
 * committed record stays meaningful whatever the caller does next (and
 * could be read by another process). Layout, all fields native-endian:
 *
 *   struct jlog__rec_hdr
 *   msg_len bytes of message
 *   name_len bytes of logger name
 *   nfields times: struct jlog__field_hdr, key_len bytes of key, value
 *
 * Values: STR and JSON carry val_len bytes (JSON is compact JSON text
 * produced by jansson); INT, UINT, DOUBLE carry 8 bytes; BOOL 1 byte;
 * NULL nothing. Bound fields (from JLOG_WITH) come first, then the call's.
 */
struct jlog__rec_hdr {
	uint64_t time_ns;  /* CLOCK_REALTIME ns since the epoch, or ticks */
	uint32_t callsite; /* id in the callsite table, 0 = none */
	uint32_t tid;      /* kernel thread id of the caller */
	uint32_t msg_len;
	uint32_t nfields;
	uint16_t name_len;
	uint8_t level;
	uint8_t flags;     /* JLOG__REC_* */
	uint32_t reserved;
};

enum {
	JLOG__REC_TRUNCATED = 1u << 0, /* some value was cut */
	JLOG__REC_SYNTHETIC = 1u << 1, /* made by jlog itself (drop report) */
	JLOG__REC_MSG_TRUNCATED = 1u << 2, /* the message was cut */
	JLOG__REC_DIAG = 1u << 3, /* has a diagnostic field (JLOG__T_DIAG) */
	/* time_ns holds a time-stamp counter reading, not ns (clock.c);
	 * jlog__record_decode() converts it. */
	JLOG__REC_TICKS = 1u << 4,
	/* Below the logger's level: for the flight recorder (flight.h), not
	 * for the sinks, until a trigger record comes. */
	JLOG__REC_DEFERRED = 1u << 5,
};
/* The fast path marks a deferred record in its callsite id (hotpath.c's
 * begin_record(), where setting a flag costs every call a register);
 * jlog__record_decode() turns it into JLOG__REC_DEFERRED. Ids stay far
 * below it (callsite.c). */
#define JLOG__CALLSITE_DEFERRED (1u << 31)

/* struct jlog__field_hdr is in jlog.h: the macros encode fields inline.
 * Its flags: */
enum { JLOG__FIELD_TRUNCATED = 1u << 0 };

/* JLOG__MAX_KEY (jlog.h) is the longest key kept (longer keys are cut, at
 * a UTF-8 boundary). */

/* A decoded field: pointers into the record bytes. */
struct jlog__field_view {
	int type;
	unsigned flags;
	const char *key;
	size_t key_len;
	union {
		int64_t i;
		uint64_t u;
		double d;
		bool b;
		const char *s; /* STR and JSON: val_len bytes */
	} v;
	size_t val_len;
};

/* A decoded record. Strings point into the record bytes (or static data for
 * file/function) and are valid while the record is. */
struct jlog__rec_view {
	uint64_t time_ns;
	int level;
	unsigned flags;
	uint32_t tid;
	const char *msg;
	size_t msg_len;
	const char *name;
	size_t name_len;
	const char *file;     /* base name, NULL if unknown */
	const char *function; /* NULL if unknown */
	int line;
	/* The callsite id that file, function and line come from; 0 when
	 * they do not come from the callsite table. */
	uint32_t callsite;
	uint32_t nfields;
	const uint8_t *fields; /* first struct jlog__field_hdr */
	const uint8_t *end;    /* end of the record */
	/* For synthetic drop reports: the number of records dropped. */
	uint64_t dropped;
	/* The fields jlog__field_next() walks, as jlog__record_decode_into()
	 * already decoded them (fv_n of them), or NULL. They hold only while
	 * fields, end and nfields are the ones decoded: a copy of the view
	 * given other fields (redaction, diagnostics) or cut short
	 * (transport-net.c) walks its own. Read them with jlog__rec_decoded(). */
	const struct jlog__field_view *fv;
	const uint8_t *fv_fields;
	const uint8_t *fv_end;
	uint32_t fv_nfields;
	uint32_t fv_n;
};

/* The decoded fields of @v, fv_n of them, or NULL when the encoder must
 * walk them itself (see struct jlog__rec_view). */
static inline const struct jlog__field_view *jlog__rec_decoded(const struct jlog__rec_view *v)
{
	return v->fv && v->fv_fields == v->fields && v->fv_end == v->end &&
	               v->fv_nfields == v->nfields
	               ? v->fv
	               : NULL;
}

/* Encoded size of one field as the caller gave it, before truncation. */
size_t jlog__field_size(const jlog_field *f);

/*
 * Serialize a field into @dst, which has room for jlog__field_size(f), or
 * less when @val_cap limits a STR/JSON value (the value is then cut at a
 * UTF-8 boundary and flagged truncated). Returns bytes written.
 */
size_t jlog__field_write(uint8_t *dst, const jlog_field *f, size_t val_cap);

/*
 * The diagnostic field: what a log call at ERROR and above captures when a
 * sink shows a backtrace or diagnose (jlog_sink_options). Its type is
 * JLOG__T_DIAG, known to the library only; its value is this struct with
 * nframes frames. jlog__field_next() skips it; the writer expands it into
 * ordinary fields for the sinks that show them (jlog__diag_view()).
 */
#define JLOG__T_DIAG 100
#define JLOG__DIAG_FRAMES 48
struct jlog__diag {
	int32_t err;        /* errno when the call began */
	char thread[16];    /* thread name, NUL-padded */
	uint32_t nframes;
	uint64_t frames[JLOG__DIAG_FRAMES]; /* return addresses, innermost first */
};
bool jlog__diag_valid(const uint8_t *p, size_t len);

/*
 * A decoded field and its key as a formatter prints it (at off, len bytes,
 * in the formatter's key buffer), for the duplicate-key rule (fields.c):
 * skip is set on every field a later field with the same printed key
 * overrides.
 */
struct jlog__key_ent {
	struct jlog__field_view f;
	size_t off;
	size_t len;
	uint32_t hash;
	bool skip;
};
/* Double the entries (64 at first). false when out of memory. */
bool jlog__key_ents_grow(struct jlog__key_ent **ent, size_t *cap);
/* Set skip on each of the @n entries that a later one overrides; @keys
 * holds the printed keys; *table is scratch space kept between calls.
 * false when out of memory. */
bool jlog__mark_duplicate_keys(const char *keys, struct jlog__key_ent *ent, size_t n,
                               uint32_t **table, size_t *table_cap);

/*
 * A formatter's per-thread scratch space (fields.c). The formatter keeps
 * a _Thread_local pointer as the fast way in and calls
 * jlog__tls_slot_get() only while it is NULL; the pthread key exists only
 * to call @free on the scratch when the thread exits, and @free clears
 * the formatter's pointer. Define a slot with JLOG__TLS_SLOT_INIT.
 */
struct jlog__tls_slot {
	pthread_once_t once;
	pthread_key_t key;      /* created on first use, if one is left */
	bool key_ok;
	size_t size;            /* bytes to calloc */
	bool (*init)(void *);   /* NULL, or set up a zeroed scratch; on false it
	                           has allocated nothing and the scratch is freed */
	void (*free)(void *);   /* the key's destructor */
};
#define JLOG__TLS_SLOT_INIT(size_, init_, free_) \
	{ .once = PTHREAD_ONCE_INIT, .size = (size_), .init = (init_), .free = (free_) }
/* A new zeroed scratch of slot->size bytes, registered to be freed when
 * this thread exits; NULL when out of memory. */
void *jlog__tls_slot_get(struct jlog__tls_slot *slot);

/* Decode @len bytes of a record. Returns false if the bytes are not a
 * well-formed record (the writer then skips it and counts an error). */
bool jlog__record_decode(const void *rec, size_t len, struct jlog__rec_view *v);
/* The same, keeping the fields that jlog__field_next() would return in
 * @fv (room for @cap) for the formatters, when there are at most @cap:
 * the writer's decode already walks every field to check it, and the
 * encoder then need not walk them again. @fv must outlive the view's use. */
bool jlog__record_decode_into(const void *rec, size_t len, struct jlog__rec_view *v,
                              struct jlog__field_view *fv, uint32_t cap);

/* Iterate the fields of a decoded record: *cursor starts at v->fields.
 * Returns false at the end or on malformed bytes. Skips the diagnostic
 * field; the _raw form returns it too. */
bool jlog__field_next(const struct jlog__rec_view *v, const uint8_t **cursor,
                      struct jlog__field_view *f);
bool jlog__field_next_raw(const struct jlog__rec_view *v, const uint8_t **cursor,
                          struct jlog__field_view *f);

/* Serialize a jansson value to compact JSON into @dst (capacity @cap).
 * Returns the full length the text needs (may exceed cap), 0 on failure. */
size_t jlog__json_dump(const struct json_t *j, char *dst, size_t cap);

#include "encode.h" /* JSON encoder (encode.c) */
#include "level.h" /* Level names and the level table (level.c) */
#include "callsite.h" /* Callsites (callsite.c) */
#include "clock.h" /* Clock (clock.c) */
#include "ring.h" /* Ring (ring.c) */
#include "preset.h" /* JSON presets (encode-preset.c) */

/* ------------------------------------------------------------------------ */
/* Sinks (sink.c; their transports: transport.h)                           */
/* ------------------------------------------------------------------------ */

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

#include "crash.h" /* Crash handler (crash.c) */

/* ------------------------------------------------------------------------ */
/* Logger core (logger.c, writer.c)                                         */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* Sampling and rate limits (sample.c)                                      */
/* ------------------------------------------------------------------------ */

/* One call site's state (or the logger's bucket). */
struct jlog__sample_site {
	/* (interval number << 32) | records counted in that interval,
	 * replaced together by one CAS so that counts stay exact. */
	_Atomic uint64_t window;
	/* Token bucket as a virtual schedule (GCRA): the stamp at which the
	 * bucket is full again; a record may go while that is at most
	 * burst - 1 emission intervals ahead of now. */
	_Atomic uint64_t tat;
	_Atomic uint64_t suppressed; /* not reported yet (the writer takes it) */
	uint64_t spare;              /* 32 bytes: no site straddles a line */
};

#define JLOG__SAMPLE_CHUNK_BITS 12
#define JLOG__SAMPLE_CHUNKS 256 /* as many call-site ids as callsite.c has */

/* What a sampler decides by: immutable once published, so that a log call
 * may read it while jlog_reload_config() puts other rules in its place
 * (jlog__sampler_set_rules()). */
struct jlog__sample_rules {
	bool sampling;
	uint32_t first, thereafter;
	uint64_t interval; /* in jlog__stamp() units */
	uint64_t base;     /* the stamp the first interval starts at */
	int sample_max;
	bool rate, per_logger;
	uint64_t emission;  /* stamp units per token */
	uint64_t tolerance; /* (burst - 1) * emission */
	int rate_max;
	int max_level;      /* the higher of the enabled limits' levels; -1: none */
	uint64_t report_ms; /* writer: the report interval */
	struct jlog__sample_rules *retired_next; /* the sampler's replaced rules */
};

/* A sampler: its rules and the per-call-site state the rules count in,
 * which outlives a change of rules, so that no suppressed count is lost. */
struct jlog__sampler {
	/* Acquire loads by log calls; replaced, never freed while the
	 * sampler lives (a log call may still read the old ones). */
	_Atomic(struct jlog__sample_rules *) rules;
	struct jlog__sample_rules *retired;
	uint64_t next_report_ms; /* writer */
	struct jlog__sample_site nosite; /* records without a call site */
	struct jlog__sample_site bucket; /* JLOG_RATE_PER_LOGGER */
	_Atomic(struct jlog__sample_site *) chunks[JLOG__SAMPLE_CHUNKS];
};

/* The rules @o asks for, in *out (NULL when it asks for none), or -EINVAL
 * (named by jlog__fail) / -ENOMEM. */
int jlog__sample_rules_new(const jlog_options *o, struct jlog__sample_rules **out);
/* A sampler with no counts yet that decides by @r (NULL: admits every
 * record), or NULL when out of memory (@r is then freed). */
struct jlog__sampler *jlog__sampler_create(struct jlog__sample_rules *r);
/* Decide by @r from now on (NULL: admit every record); the old rules are
 * kept until the sampler is freed. Callers serialize. */
void jlog__sampler_set_rules(struct jlog__sampler *s, struct jlog__sample_rules *r);
/* Whether @s limits anything (a sampler whose rules were taken away by a
 * reload admits everything and only reports what it counted before). */
bool jlog__sampler_on(const struct jlog__sampler *s);
/* The sampler @o asks for, in *out (NULL when it asks for none), or
 * -EINVAL (named by jlog__fail) / -ENOMEM. */
int jlog__sampler_new(const jlog_options *o, struct jlog__sampler **out);
void jlog__sampler_free(struct jlog__sampler *s);
/* Whether a record of call site @id at @level stamped @now goes on; when
 * not, it is counted (core->sampled_out and its site's report). Any
 * thread; lock-free. */
struct jlog_core;
bool jlog__sample_admit(struct jlog_core *c, uint32_t id, int level, uint64_t now);
/* Writer: call @fn for each site with suppressed records not yet
 * reported, taking their counts. */
void jlog__sample_collect(struct jlog__sampler *s,
                          void (*fn)(void *arg, uint32_t id, uint64_t n), void *arg);
/* In a forked child: forget the parent's counts. */
void jlog__sampler_fork_child(struct jlog__sampler *s);

/* State shared by a root and its children. */
struct jlog_core {
	struct jlog_ring ring;

	pthread_mutex_t lock; /* guards children, refs, flush state below */
	pthread_cond_t flushed;
	unsigned refs;        /* handles alive (root + children) */
	struct jlog_logger *children; /* list of child handles */

	pthread_t writer;
	bool writer_started;
	pid_t writer_pid;             /* process the writer runs in */
	_Atomic bool stopping;
	_Atomic bool writer_done;     /* the writer thread has finished */
	_Atomic uint64_t written_pos; /* ring position written to the sink */
	_Atomic uint32_t flush_waiters; /* threads waiting in jlog_flush() */
	_Atomic bool closed;          /* the root was closed */
	/* Close and exit bound their wait for the sinks: see the stop and
	 * exit protocols at the top of writer.c. */
	int close_timeout_ms;
	struct jlog__write_deadline io;
	bool discarding;              /* writer: past io.at_ms, lines are lost */
	bool writer_abandoned;        /* close gave up joining: never freed */
	_Atomic bool exiting;         /* exit handler: write up to exit_target */
	_Atomic uint64_t exit_target;
	_Atomic uint64_t exit_ack;    /* writer: parked at this position + 1 */
	uint64_t exit_lost_before;    /* exit handler: lost when it began */

	/* Sinks: the current set (writer: acquire, once per batch); the set
	 * the writer last loaded; replaced sets, freed with the core. */
	_Atomic(struct jlog__sink_set *) sinks;
	_Atomic(struct jlog__sink_set *) sinks_seen;
	struct jlog__sink_set *retired;
	/* Serializes jlog_add_sink()/jlog_remove_sink(); taken before lock. */
	pthread_mutex_t sinks_lock;
	int next_sink_id;
	/* What log calls at ERROR and above capture for the sinks that show
	 * it (JLOG__CAPTURE_*); read relaxed by the log path. */
	_Atomic unsigned capture;
	/* Writer: a record's fields with its diagnostics expanded, and the
	 * symbolized stack of the record at diag_key (jlog__diag_view()). */
	struct jlog__buf diag_out;
	struct jlog__buf diag_stack;
	const void *diag_key;
	struct jlog__line_ctx ctx;
	/* The logger's redaction rules (redact.h), applied by the writer to
	 * each record before any sink sees it; NULL for none. Fixed at open. */
	struct jlog__redact *redact;
	jlog_overflow overflow;
	int flush_interval_ms;
	size_t max_record_size;
	/* max_record_size / 2, the largest record the fast path takes: a
	 * load instead of a load and a shift per call. */
	size_t fast_max;

	/* Records committed (jlog_stats.logged): this, plus the per-thread
	 * counts of this core (logger.c, count_logged()). */
	_Atomic uint64_t logged;
	_Atomic uint64_t dropped;
	uint64_t dropped_reported; /* writer thread */
	_Atomic uint64_t malformed; /* records the writer could not decode */
	_Atomic uint64_t written;
	_Atomic uint64_t truncated;
	_Atomic uint64_t write_errors;
	_Atomic uint64_t bytes_written;
	_Atomic uint64_t lost; /* lines formatted but not written whole */
	_Atomic uint64_t rotation_errors; /* the sinks' side_errors (writer.c) */
	/* Sampling and rate limits; NULL when off (the log path then never
	 * looks: every handle's fast_max sends nothing its way). */
	struct jlog__sampler *sampler;
	_Atomic uint64_t sampled_out;
	/* The flight recorder (flight.h); NULL when off, and then, as with
	 * the sampler, the log path never looks. Fixed at open. */
	struct jlog__flight *flight;
	/* Self-metrics (metrics.c): the ring's high-water mark (writer;
	 * read by any thread), and the periodic stats record's state. */
	_Atomic uint64_t queue_high;
	int stats_interval_ms;  /* 0: off */
	uint64_t stats_next_ms; /* writer: when the next record is due */
	uint64_t busy_ns;       /* writer: time spent on batches (with stats) */
	uint64_t stats_busy_ns; /* busy_ns and the time at the last record */
	uint64_t stats_at_ns;
	/* jlog_reopen() asked the writer to reopen the sinks (reopen.c). */
	_Atomic bool reopen_req;
	/* Reload (reload.c): the document the logger was opened from, as
	 * last applied (NULL when jlog_open() opened it; guarded by
	 * sinks_lock); the change jlog_reload_config() asks the writer to
	 * make at a ring position; the SIGHUP hook's request to reload from
	 * the file. */
	struct jlog__cfg_state *cfg;
	_Atomic(struct jlog__reload *) reload_req;
	_Atomic bool reload_file_req;
	struct jlog_logger *root; /* the root handle, while open */

	struct jlog_core *next_open; /* global list of open cores */
	bool is_default;
	struct jlog__crash_core crash; /* crash.c */

	/* Levels (guarded by lock): the root's, and per-module levels
	 * (jlog_set_module_level), resolved into each handle's gate. */
	int root_level;
	struct jlog__module_level *modules;
	size_t nmodules;
};

struct jlog_logger {
	struct jlog__gate gate; /* must stay first: read by jlog__enabled() */
	struct jlog_core *core;
	struct jlog_logger *parent;
	struct jlog_logger *next_child; /* in core->children */
	bool is_root;
	bool level_set; /* level set on this handle itself */
	/* The handle's level; the gate holds it too, or, with a flight
	 * recorder, the recorder's lower level, and begin_record() marks
	 * the records below this one deferred. Relaxed atomic accesses, as
	 * the gate's (set by logger.c's set_gate()). */
	int level;
	int own_level;  /* that level, when level_set */
	char *name;
	size_t name_len;
	uint8_t *bound; /* encoded bound fields */
	size_t bound_len;
	uint32_t nbound;
	/* JLOG__REC_TRUNCATED when a bound field of this handle or of an
	 * ancestor was cut or left out (child_create()), else 0: ORed into
	 * the flags of each of its records by log_general(), which then say
	 * so. */
	uint8_t bound_flags;
	/* The largest record begin_record() takes: the core's fast_max, or 0
	 * with bound_flags so that every record takes log_general(), or 0
	 * with a sampler so that every record asks it first. */
	size_t fast_max;
	/* With a sampler or a flight recorder: the fast_max the handle
	 * would have without them (what begin_record() takes once it has
	 * asked them); else 0. */
	size_t sample_max;
};

struct jlog__module_level {
	char *prefix;
	size_t len;
	int level;
};

/* The first sink of a core (tests), or NULL. */
static inline struct jlog_sink *jlog__first_sink(struct jlog_core *c)
{
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_acquire);
	return set && set->n ? set->s[0] : NULL;
}

/* Diagnostics (diag.c). What log calls capture (core->capture): */
enum { JLOG__CAPTURE_STACK = 1u << 0, JLOG__CAPTURE_DIAG = 1u << 1 };
/* Caller thread: fill @d (errno @err, the thread's name, the stack from
 * the frame that returns to @caller on, when found). Returns the bytes of
 * @d to store. */
size_t jlog__diag_capture(struct jlog__diag *d, unsigned what, int err, const void *caller);
/* Writer: @v with its diagnostic field replaced by the ordinary fields a
 * sink shows ("stack"; "errno", "errno_text", "thread"), built in *tmp
 * and c->diag_out; @v itself when there is nothing to show. */
const struct jlog__rec_view *jlog__diag_view(struct jlog_core *c, const struct jlog__rec_view *v,
                                             bool backtrace, bool diagnose,
                                             struct jlog__rec_view *tmp);

/* Reload (reload.c). The writer, between batches (every sink buffer
 * empty) at ring position @pos: makes a requested change whose position
 * is @pos, or runs the SIGHUP hook's reload; true when it changed what
 * the writer uses. */
bool jlog__reload_writer(struct jlog_core *c, uint64_t pos);
/* Whether the record that ends at ring position @end is one of those
 * the old settings of the requested change @r write (before its
 * position; false while the position is not taken yet). */
struct jlog__reload;
bool jlog__reload_before(struct jlog__reload *r, uint64_t end);
/* Whether @c was opened from a configuration file (it can reload from
 * it: jlog_install_reload_on_sighup()). */
bool jlog__reload_from_file_ok(struct jlog_core *c);
/* Free a core's reload state (NULL is a no-op). */
void jlog__cfg_state_free(struct jlog__cfg_state *st);
/* jlog__config_open_doc()'s record of the document it opened @lg from
 * (@p, parsed), the file it came from (@path, NULL for JSON text) and
 * whether a reload from the file applies the environment's overrides
 * again (@env, the default logger). 0 or -ENOMEM. */
struct jlog__cfg;
int jlog__cfg_state_init(jlog_logger *lg, const struct jlog__cfg *p, const char *path, bool env);

/* logger.c, for reload.c. A sink set of @n sinks (uninitialised
 * pointers), or NULL. */
struct jlog__sink_set *jlog__sink_set_new(unsigned n);
/* What log calls must capture for @set's sinks (JLOG__CAPTURE_*). */
unsigned jlog__sink_capture(const struct jlog__sink_set *set);
/* Keep a set the writer no longer uses until the core is freed. */
void jlog__sink_set_retire(struct jlog_core *c, struct jlog__sink_set *set);
/* Whether the writer may be using a sink set right now. */
bool jlog__writer_running(struct jlog_core *c);
/* With c->lock held: resolve every handle's gate and limits after a
 * change of the root's level, the module levels or the sampler. */
void jlog__handles_update_locked(struct jlog_core *c);

/* Writer thread (writer.c). */
int jlog__writer_start(struct jlog_core *c);
/* Drain everything, stop and join the writer, waiting for the sinks at
 * most close_timeout_ms. Returns false when the writer could not be
 * joined in time: it is detached and @c must never be freed. */
bool jlog__writer_stop(struct jlog_core *c);
/* Wait until everything committed before the call is written; -ECANCELED
 * while another thread runs the exit handler. */
int jlog__writer_flush(struct jlog_core *c);
/* The exit handler: jlog__writer_exit_begin() on every open core, then
 * jlog__writer_exit_wait() on each (see the exit protocol in writer.c). */
void jlog__writer_exit_begin(struct jlog_core *c, uint64_t now_ms);
void jlog__writer_exit_wait(struct jlog_core *c);
uint64_t jlog__ms_now(void); /* CLOCK_MONOTONIC, in ms */
/* Wait (kicking the writer, woken after each of its batches) until
 * @reached(c, arg) holds or the writer has finished. Not from the writer. */
void jlog__writer_wait(struct jlog_core *c, bool (*reached)(struct jlog_core *c, uintptr_t arg),
                       uintptr_t arg);
/* In a forked child, from the atfork child handler, with c->lock held
 * since fork_prepare(): give @c an empty ring, zeroed counters and a
 * writer thread of its own. Returns 0 or -EAGAIN (no writer: the ring is
 * closed, so a log call on @c never waits, and the child's records on @c
 * are not written). */
int jlog__writer_fork_child(struct jlog_core *c);

#include "context.h" /* Scoped context (context.c) */

/* ------------------------------------------------------------------------ */
/* Levels, configuration, errors (level.c, config.c, error.c, logger.c)     */
/* ------------------------------------------------------------------------ */

/* Name of a custom level (jlog_level_add), NULL if none. */
const char *jlog__level_custom_name(int level);
/* Text-format markup of a level's color ("<red><bold>"), "" if none. */
const char *jlog__level_color(int level);
/* What jlog_level_add() would refuse, without adding: 0, or -EINVAL or
 * -EEXIST with the reason in jlog_last_error(). */
int jlog__level_check(const char *name, int no, const char *color);
/* jlog_open, without creating the options' sink when @no_sink. */
int jlog__open(jlog_logger **out, const jlog_options *opts, bool no_sink);
/* Open a root logger from a parsed configuration document, which came
 * from the file @path (NULL: JSON text), with the environment's overrides
 * when @env (the default logger: a reload applies them again). */
int jlog__config_open_doc(jlog_logger **out, struct json_t *doc, const char *path, bool env,
                          char *err, size_t errlen);
/* The default logger's document from JLOG_CONFIG and the environment. */
struct json_t *jlog__config_from_env(int *rc, char *err, size_t errlen);
/* Apply JLOG_LEVEL, JLOG_SINK, JLOG_FORMAT, JLOG_SERIALIZE, JLOG_COLORIZE
 * to @doc (an object) as the default logger does. */
void jlog__config_env_overrides(struct json_t *doc);
/* A document from a path, or the JSON itself when it starts with '{'; NULL
 * with *rc and the message in @err. */
struct json_t *jlog__config_load(const char *path_or_json, int *rc, char *err, size_t errlen);
/* Everything jlog_open_config() checks before it opens anything, without
 * opening anything (no file, socket or thread): 0 or the error it would
 * return, with the same message in @err. */
int jlog__config_check(const struct json_t *doc, char *err, size_t errlen);
/* The configuration @doc gives, every key with its value (defaults filled
 * in), as a new JSON object; NULL with *rc and @err when invalid. */
struct json_t *jlog__config_effective(const struct json_t *doc, int *rc, char *err,
                                      size_t errlen);
/* Keep a message for jlog_last_error() on this thread. */
void jlog__set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* jlog__set_last_error(), then return @rc: `return jlog__fail(-EINVAL, ...)`. */
int jlog__fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A public call's failure always explains itself (jlog_last_error() is
 * never an older call's message): take jlog__last_error_seq() on entry and
 * pass it with the result to jlog__explain(), which sets "@call: <what
 * jlog_strerror says>" when @rc is an error and nothing set a message since.
 * Returns @rc.
 */
unsigned jlog__last_error_seq(void);
int jlog__explain(int rc, unsigned seq, const char *call);

/* Thread id of the caller, cached per thread. */
uint32_t jlog__gettid(void);

/* Thread names (thread-name.c). Note the calling thread's name under
 * @tid (its first log call). */
void jlog__thread_name_register(uint32_t tid);
/* The name of thread @tid into @out (NUL-terminated); returns its length,
 * 0 when unknown or empty. Writer thread (any thread). */
size_t jlog__thread_name(uint32_t tid, char out[16]);

#include "template.h" /* Text formatter (format.h: format-compile.c, format.c) */

#include "logger.h"

#endif /* JLOG_PRIVATE_H */
