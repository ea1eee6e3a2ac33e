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

#include "sink.h" /* Sinks (sink.c; their transports: transport.h) */

#include "crash.h" /* Crash handler (crash.c) */

#include "sample.h" /* Sampling and rate limits (sample.c) */

#include "logger-core.h" /* Logger core (logger.c; diagnostics: diag.c; reload: reload.c) */

#include "writer.h" /* Writer thread (writer.c) */

#include "context.h" /* Scoped context (context.c) */

#include "config-private.h" /* Levels, configuration, errors (config.c, error.c) */

#include "template.h" /* Text formatter (format.h: format-compile.c, format.c) */

#include "logger.h"

#endif /* JLOG_PRIVATE_H */
