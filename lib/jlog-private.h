/*
 * Internal declarations shared by the files of lib/. Nothing here is
 * public; tests of internals include this header and link jlog_internal.
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
};

/* struct jlog__field_hdr is in jlog-inline.h, where binaries built with
 * an older jlog.h encode it inline. Its flags: */
enum { JLOG__FIELD_TRUNCATED = 1u << 0 };

/* Encoded size of a plain field for the fast path of jlog__log(); 0: the
 * general path (JSON, a key over JLOG__MAX_KEY, a string over 4 GiB). */
static inline size_t jlog__field_fast_size(const jlog_field *f)
{
	size_t base = sizeof(struct jlog__field_hdr) + f->key_len;
	if (JLOG__UNLIKELY(f->key_len > JLOG__MAX_KEY))
		return 0;
	switch (f->type) {
	case JLOG__T_STR:
		return f->len <= UINT32_MAX ? base + f->len : 0;
	case JLOG__T_INT:
	case JLOG__T_UINT:
	case JLOG__T_DOUBLE:
		return base + 8;
	case JLOG__T_BOOL:
		return base + 1;
	case JLOG__T_NULL:
		return base;
	default:
		return 0;
	}
}

/* Encode a field that jlog__field_fast_size() accepted; returns its end. */
static inline unsigned char *jlog__field_put(unsigned char *q, const jlog_field *f)
{
	struct jlog__field_hdr h;
	unsigned char *val = q + sizeof(h) + f->key_len;
	h.type = (uint8_t)f->type;
	h.flags = 0;
	h.key_len = (uint16_t)f->key_len;
	h.val_len = 0;
	if (f->key_len)
		memcpy(q + sizeof(h), f->key, f->key_len);
	switch (f->type) {
	case JLOG__T_STR:
		h.val_len = (uint32_t)f->len;
		if (f->len)
			memcpy(val, f->v.s, f->len);
		break;
	case JLOG__T_BOOL:
		h.val_len = 1;
		*val = f->v.i != 0;
		break;
	case JLOG__T_NULL:
		break;
	default: /* INT, UINT, DOUBLE: 8 bytes, unaligned */
		h.val_len = 8;
		memcpy(val, &f->v.u, 8);
		break;
	}
	memcpy(q, &h, sizeof(h));
	return val + h.val_len;
}


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
};

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

/* ------------------------------------------------------------------------ */
/* JSON encoder (encode.c)                                                  */
/* ------------------------------------------------------------------------ */

/* Append a JSON string literal (with quotes): escapes '"', '\\', every
 * C0 control character (as \n \r \t \b \f or \u00XX), DEL and the C1
 * controls U+0080..U+009F (as \u007f..\u009f), U+2028 and U+2029 (as
 * \u2028, \u2029), and replaces each maximal invalid UTF-8
 * subsequence with U+FFFD (the WHATWG/Unicode "substitution of maximal
 * subparts" rule). Overlongs, surrogates and code points above U+10FFFF are
 * invalid. */
void jlog__json_str(struct jlog__buf *b, const char *s, size_t n);
/* Same, for a string that was truncated: drop an incomplete UTF-8 sequence
 * at the end and append "…" (U+2026). */
void jlog__json_str_truncated(struct jlog__buf *b, const char *s, size_t n);
/* A field's value as JSON: strings escaped (truncated ones marked), JSON
 * text as given (U+2028/9 escaped), numbers, booleans, null. */
struct jlog__field_view;
void jlog__json_value(struct jlog__buf *b, const struct jlog__field_view *f);
void jlog__json_int(struct jlog__buf *b, int64_t v);
void jlog__json_uint(struct jlog__buf *b, uint64_t v);
/* Shortest decimal that strtod() reads back to the same double; always has
 * a '.', or an exponent, so it parses back as a real; NaN/Inf → null. */
void jlog__json_double(struct jlog__buf *b, double v);
/* Format a double into @out (at least 32 bytes) as jlog__json_double does;
 * returns the length. NaN/Inf give "null". */
size_t jlog__fmt_double(char *out, double v);
/* "2026-11-26T04:02:03.123456Z" with quotes (RFC 3339, UTC, microseconds). */
void jlog__json_time(struct jlog__buf *b, uint64_t time_ns);
/* The local time zone at a second: offset from UTC in seconds (east
 * positive) and abbreviation ("CET"). Cached per minute and per thread
 * (encode.c says why that is exact); valid until the thread's next call. */
struct jlog__zone {
	uint64_t minute; /* the minute (Unix seconds / 60) it holds for */
	int32_t off;
	char abbr[8];
};
const struct jlog__zone *jlog__local_zone(uint64_t sec);
/* @time_ns moved by @off seconds (local wall-clock time as if UTC, for
 * the calendar code); 0 rather than below the epoch. */
uint64_t jlog__local_ns(uint64_t time_ns, int32_t off);
/* "+01:00" (@colon) or "+0100" into @o (at least 6 bytes); the length. */
size_t jlog__fmt_offset(char *o, int32_t off, bool colon);
/* jlog__json_time(), or with @local the local time with its offset
 * ("2026-11-26T05:02:03.123456+01:00"). */
void jlog__json_time_zone(struct jlog__buf *b, uint64_t time_ns, bool local);
/* Replace the 'Z"' that ends a time appended at @pos with the offset
 * @off and its quote. */
void jlog__json_zone_suffix(struct jlog__buf *b, size_t pos, int32_t off);

/* Process facts the line needs that are not in the record. */
struct jlog__line_ctx {
	pid_t pid;
};

/*
 * Append one JSON line (ending in '\n') for a decoded record, in the
 * default schema: time, level, message, [logger], file, line, function,
 * pid, tid, [truncated], [dropped], then the fields (bound, then call).
 *
 * Duplicate keys: a field whose key equals a reserved key of the schema
 * ("time", "level", "message", "logger", "file", "line", "function", "pid",
 * "tid", "truncated", "dropped") is written under "fields.<key>". Among the
 * fields, the last one with a given key wins: earlier ones are not written.
 */
void jlog__encode_json(struct jlog__buf *b, const struct jlog__rec_view *v,
                       const struct jlog__line_ctx *ctx);

/* Level name ("INFO") or NULL for an unnamed level. */
const char *jlog__level_name(int level);

/* A named level and what each output calls it (the one table, level.c). */
struct jlog__level_row {
	int level;
	const char *name;  /* "WARNING" */
	const char *lower; /* "warning" */
	const char *color; /* loguru's markup, "<yellow><bold>" */
	const char *sgr;   /* its SGR codes */
	const char *icon;  /* loguru's icon, UTF-8 */
	int syslog;        /* RFC 5424 severity */
	const char *gcp;   /* Cloud Logging LogSeverity */
	int otel;          /* OpenTelemetry SeverityNumber */
};
/* The row of named level @level, NULL for another level. */
const struct jlog__level_row *jlog__level_row(int level);
/* The row of the nearest named level at or below @level; TRACE's below
 * TRACE. */
const struct jlog__level_row *jlog__level_floor(int level);

/* ------------------------------------------------------------------------ */
/* Callsites (callsite.c)                                                   */
/* ------------------------------------------------------------------------ */

/* Give @cs an id (once; thread-safe) and return it; 0 if the table is
 * full or out of memory (the record then has no file/line/function). */
uint32_t jlog__callsite_register(jlog_callsite *cs);
static inline uint32_t jlog__callsite_id(jlog_callsite *cs)
{
	/* Acquire pairs with the release store in jlog__callsite_register():
	 * an id seen here is already in the table. */
	uint32_t id = __atomic_load_n(&cs->id, __ATOMIC_ACQUIRE);
	return id ? id : jlog__callsite_register(cs);
}
/* The callsite of an id, NULL if unknown. Any thread. */
const jlog_callsite *jlog__callsite_get(uint32_t id);
/* Base name of the callsite's file (computed at registration). */
const char *jlog__callsite_basename(uint32_t id);
/* The callsite of a (file, line, function) triple given by the caller
 * (jlog_log()): one per distinct triple of pointers, kept for the life of
 * the process; NULL when the table is full or out of memory. Any thread. */
jlog_callsite *jlog__callsite_intern(const char *file, int line, const char *func);

/* ------------------------------------------------------------------------ */
/* Clock (clock.c)                                                          */
/* ------------------------------------------------------------------------ */

/* A timespec as ns. */
static inline uint64_t jlog__ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Wall-clock time now. CLOCK_REALTIME is read through the vDSO: no
 * system call, about 16 ns here. */
static inline uint64_t jlog__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return jlog__ts_ns(&ts);
}

/* True once jlog__clock_init() found an invariant time-stamp counter the
 * kernel keeps time with (clock.c); producers then stamp records with it.
 * Set before the first logger opens and never changed after, so a plain
 * read is race-free: every producer holds a logger opened after it. */
extern bool jlog__clock_tsc;
/* Decide the clock (once per process; any thread). */
void jlog__clock_init(void);
/* In a forked child: forget an anchor another thread of the parent may
 * have been publishing at the fork. */
void jlog__clock_fork_child(void);
/* Whether this machine's counter qualifies, given the value of JLOG_CLOCK
 * (NULL when unset; "realtime" refuses it). */
bool jlog__clock_choose_tsc(const char *env);
/* Wall-clock ns of a counter reading (a JLOG__REC_TICKS record's time).
 * Async-signal-safe; any thread. */
uint64_t jlog__clock_ticks_to_ns(uint64_t ticks);

/* How many units of jlog__stamp() make a second: counter ticks (as
 * measured now), or 1e9 (ns). For intervals converted once, when a
 * logger opens, so that the log path compares stamps without converting
 * them. */
double jlog__clock_units_per_sec(void);

/* A record's timestamp: the time-stamp counter when calibrated (3
 * instructions and about 7 ns instead of 16 for clock_gettime(); burst
 * p50 43 -> 35 ns in jlog-bench), else CLOCK_REALTIME ns. Adds
 * JLOG__REC_TICKS to *flags for the former. */
static inline uint64_t jlog__stamp(uint8_t *flags)
{
#if defined(__x86_64__)
	if (JLOG__LIKELY(jlog__clock_tsc)) {
		*flags |= JLOG__REC_TICKS;
		return __builtin_ia32_rdtsc();
	}
#endif
	(void)flags;
	return jlog__now_ns();
}

/* ------------------------------------------------------------------------ */
/* Ring (ring.c)                                                            */
/* ------------------------------------------------------------------------ */

struct jlog_ring {
	/* Producer side: written by every producer (CAS), read by the
	 * consumer. Its own cache line so producers do not invalidate the
	 * consumer's line on every reservation. */
	_Alignas(JLOG__CACHELINE) _Atomic uint64_t head;

	/* Consumer side: written by the consumer only. */
	_Alignas(JLOG__CACHELINE) _Atomic uint64_t tail;

	/* Wakeups (slow paths only). */
	_Alignas(JLOG__CACHELINE) _Atomic uint32_t space_seq; /* futex: space freed */
	_Atomic uint32_t waiters;        /* producers parked on space_seq */
	_Atomic uint32_t wake_seq;       /* futex: consumer wakeup */
	_Atomic uint32_t consumer_idle;  /* consumer is (about to be) asleep */
	_Atomic bool closed;             /* no more records accepted */

	/* Read-only after init. */
	_Alignas(JLOG__CACHELINE) uint8_t *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t start; /* initial position (tests start near wraparound) */
};

/* Slot header in front of each record, 8 bytes, read and written
 * atomically: 0 means "not yet written". */
#define JLOG__SLOT_COMMITTED (1ull << 63)
#define JLOG__SLOT_PAD (1ull << 62)
#define JLOG__SLOT_LEN_MASK 0xffffffffull

/* Capacity is rounded up to a power of two. @start is the initial value of
 * the free-running positions. Returns 0 or -ENOMEM/-EINVAL. */
int jlog__ring_init(struct jlog_ring *r, size_t capacity, uint64_t start);
void jlog__ring_finish(struct jlog_ring *r);

/*
 * Reserve @len payload bytes (len <= cap / 4). Returns a pointer to the
 * payload, or NULL when the ring is full and @block is false, or when the
 * ring is closed. With @block the caller spins briefly, then sleeps until
 * the consumer frees space. Lock-free: no lock, no allocation, no syscall
 * unless the ring is full.
 */
void *jlog__ring_reserve_slow(struct jlog_ring *r, size_t len, bool block);
/*
 * The common case of a reservation, inline, with the orders of the full
 * protocol (ring.c): the record fits before the end of the buffer and
 * leaves the ring under half full, so no padding and no wakeup. One CAS
 * attempt; returns false for anything else (a lost race included), which
 * jlog__ring_reserve_slow() handles. Saves the call and half of the full
 * path's 59 instructions (callgrind, bench/hotpath.c).
 */
static inline bool jlog__ring_try_reserve(struct jlog_ring *r, size_t len, uint8_t **payload)
{
	uint64_t need = 8 + JLOG__ALIGN8((uint64_t)len);
	/* Relaxed: a guess that the CAS validates. */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Acquire pairs with the release store of tail in
	 * jlog__ring_release(), as in the full path. */
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t off = head & r->mask;
	/* Computed before the CAS, which makes the compiler reload fields. */
	uint8_t *p = r->buf + off + 8;
	if (JLOG__LIKELY(off + need <= r->cap && head + need - tail <= r->cap / 2) &&
	    atomic_compare_exchange_strong_explicit(&r->head, &head, head + need,
	                                            memory_order_relaxed, memory_order_relaxed)) {
		*payload = p;
		return true;
	}
	return false;
}
static inline void *jlog__ring_reserve(struct jlog_ring *r, size_t len, bool block)
{
	uint8_t *p;
	return jlog__ring_try_reserve(r, len, &p) ? p : jlog__ring_reserve_slow(r, len, block);
}
/* Publish a reserved record to the consumer. */
static inline void jlog__ring_commit(struct jlog_ring *r, void *payload, size_t len)
{
	_Atomic uint64_t *hdr = (_Atomic uint64_t *)(void *)((uint8_t *)payload - 8);
	/* Publish the record bytes before its header. Pairs with the acquire
	 * load of the header in jlog__ring_peek(). */
	atomic_store_explicit(hdr, (uint64_t)len | JLOG__SLOT_COMMITTED, memory_order_release);
	/* Fetch for writing the ring lines a few records ahead: the consumer
	 * zeroed them long ago and they went cold (out of this core's
	 * caches) since, and the hardware prefetchers do not cross 4 KiB
	 * pages, so without this the calls near a page boundary took a miss
	 * per line. 1 KiB ahead gives the fetch ~7 calls of lead; each commit
	 * moves the window by one record, so with records up to 256 bytes
	 * every line is fetched once. 8 instructions (199 -> 207 per call);
	 * burst p99 720 -> 300 ns when fetching the next record's lines, and
	 * fetching 1 KiB ahead instead: calls other than the first after a
	 * sleep over 120 ns 1.5% -> 0.3%, their p99 140 -> 54 ns and p99.9
	 * 320 -> 180 ns (jlog-bench --mode burst, three alternating runs of
	 * each). */
	(void)r;
	/* Integer addresses: past the ring's end a prefetch is harmless (it
	 * never faults); the first lines of the next lap are not fetched. */
	uintptr_t ahead = (uintptr_t)payload + len + 1024;
	__builtin_prefetch((const void *)ahead, 1, 3);
	__builtin_prefetch((const void *)(ahead + 64), 1, 3);
	__builtin_prefetch((const void *)(ahead + 128), 1, 3);
	__builtin_prefetch((const void *)(ahead + 192), 1, 3);
}

/*
 * Consumer: look at the position *pos. Returns 1 and sets *rec and *len and
 * advances *pos past the record when a committed record is there (padding
 * is skipped); returns 0 when nothing committed is there yet.
 */
int jlog__ring_peek(struct jlog_ring *r, uint64_t *pos, const void **rec,
                    size_t *len);
/* Consumer: give back everything before @pos (zeroes it and publishes the
 * new tail; wakes producers parked on a full ring). */
void jlog__ring_release(struct jlog_ring *r, uint64_t pos);
/* Current head (acquire): every record reserved before the call ends at or
 * before it. */
uint64_t jlog__ring_head(struct jlog_ring *r);

/* Wake the consumer if it sleeps. Async-signal-safe. */
void jlog__ring_wake_consumer(struct jlog_ring *r);
/* Wake the consumer unconditionally (even one about to sleep whose wait
 * sequence was read before this call). Async-signal-safe. */
void jlog__ring_kick(struct jlog_ring *r);
/* Consumer: read the wait sequence before checking its own reasons to
 * stay awake (stop, flush), then pass it to jlog__ring_wait(), which
 * sleeps until woken or @timeout_ms passes, unless the ring has a
 * committed record at @pos or a kick came after the sequence was read. */
uint32_t jlog__ring_wait_seq(struct jlog_ring *r);
void jlog__ring_wait(struct jlog_ring *r, uint64_t pos, uint32_t seq, int timeout_ms);
/* Refuse new reservations and wake every parked producer. */
void jlog__ring_close(struct jlog_ring *r);
/* Consumer, at stop: if head is still @head (everything before it
 * consumed and released), make every later reservation fail and close the
 * ring; false when a producer reserved meanwhile (see ring.c). */
bool jlog__ring_seal(struct jlog_ring *r, uint64_t head);
/* In a forked child (only the forking thread runs): empty the ring,
 * dropping the parent's records, and reset its wakeup state. Returns the
 * new position (head == tail). */
uint64_t jlog__ring_reset_after_fork(struct jlog_ring *r);

/* ------------------------------------------------------------------------ */
/* JSON presets (encode-preset.c)                                           */
/* ------------------------------------------------------------------------ */

/* The schemas are described at the top of encode-preset.c. */
enum jlog__preset {
	JLOG__PRESET_DEFAULT,
	JLOG__PRESET_ECS,
	JLOG__PRESET_GCP,
	JLOG__PRESET_OTEL,
	JLOG__PRESET_LOGURU,
};

enum jlog__time_format {
	JLOG__TIME_RFC3339_MS, /* "2026-11-26T04:02:03.123Z" */
	JLOG__TIME_RFC3339_US, /* "2026-11-26T04:02:03.123456Z", the default */
	JLOG__TIME_RFC3339_NS, /* "2026-11-26T04:02:03.123456789Z" */
	JLOG__TIME_EPOCH_S,    /* 1795665723.123456 (a number, exact digits) */
	JLOG__TIME_EPOCH_MS,   /* 1795665723123 */
	JLOG__TIME_EPOCH_NS,   /* 1795665723123456789 */
};

/*
 * Options of a JSON line. Set with jlog__json_opts_init(): a zeroed struct
 * means RFC3339_MS, not the default time format.
 *
 * time_format applies to the default preset (all six forms) and to ecs and
 * gcp (the RFC 3339 forms; an epoch form gives RFC3339_US there, their
 * time keys being dates); otel (Timestamp in ns) and loguru keep their own.
 * The key_* renames apply to the default preset only; NULL keeps a key.
 * Field keys that collide with the renamed keys get "fields." (the
 * reserved set follows the renames). Renames that make two schema keys
 * print the same are refused by jlog__json_opts_check(), and ignored by
 * the encoder (the default names are used).
 */
struct jlog__json_opts {
	enum jlog__preset preset;
	enum jlog__time_format time_format;
	/* Dates in local time with their offset instead of UTC (every
	 * preset; epoch forms and OTel's ns are the same either way). */
	bool local_time;
	/* Integer fields outside +-2^53 as decimal strings ("big_numbers":
	 * "string"). */
	bool big_strings;
	const char *key_time, *key_level, *key_message, *key_logger, *key_file,
	           *key_line, *key_function, *key_pid, *key_tid;
};

void jlog__json_opts_init(struct jlog__json_opts *o);
/* 0, or -EINVAL for an unknown preset or time format or colliding renames
 * (-ENOMEM if that could not be decided). Call it when configuring. */
int jlog__json_opts_check(const struct jlog__json_opts *o);
/* True when @o prints exactly jlog__encode_json()'s lines. */
bool jlog__json_opts_plain(const struct jlog__json_opts *o);
/* "default", "ecs", "gcp", "otel", "loguru" (ASCII case-insensitive), or
 * -EINVAL. */
int jlog__preset_parse(const char *name);
/* "rfc3339" (= rfc3339_us), "rfc3339_ms", "rfc3339_us", "rfc3339_ns",
 * "epoch" (= epoch_s), "epoch_s", "epoch_ms", "epoch_ns" (ASCII
 * case-insensitive), or -EINVAL. */
int jlog__time_format_parse(const char *name);
/* Append one JSON line (ending in '\n') for a record in the preset of @o
 * (NULL: the defaults). Writer thread; sets b->failed when out of memory. */
void jlog__encode_preset(struct jlog__buf *b, const struct jlog__rec_view *v,
                         const struct jlog__line_ctx *ctx, const struct jlog__json_opts *o);
/* Level mappings of the gcp and otel presets (nearest named level at or
 * below): Cloud Logging's severity name, OpenTelemetry's SeverityNumber. */
const char *jlog__gcp_severity(int level);
int jlog__otel_severity(int level);
/* CLOCK_REALTIME when the library was loaded: loguru's elapsed counts from
 * it. Tests may set it before encoding. */
extern uint64_t jlog__start_ns;

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

/* ------------------------------------------------------------------------ */
/* Crash handler (crash.c)                                                  */
/* ------------------------------------------------------------------------ */

struct jlog_core;

/* A core's part in the crash protocol (see the top of crash.c). */
struct jlog__crash_core {
	_Atomic(struct jlog_core *) next; /* crash.c's list of open cores */
	_Atomic uint32_t req;   /* handler: write up to target, then stop */
	_Atomic uint32_t ack;   /* writer: done, standing still */
	/* Writer: the ring position up to which every record's line has been
	 * handed to the sink (advanced at each write, not only per batch). */
	_Atomic uint64_t sink_pos;
	/* Handler, published by the release store of req: */
	uint64_t target; /* ring head when the crash began */
	const struct jlog__rec_view *record; /* the crash record */
	bool asked;      /* handler only: req was set */
};

/* Add @c to / remove it from the handler's list; open_lock held. A core
 * removed while a crash is being handled is never freed: the calling
 * thread stands still until the process dies. */
void jlog__crash_register(struct jlog_core *c);
void jlog__crash_unregister(struct jlog_core *c);
/* A thread's first log call, and a writer's start: give the thread an
 * alternate signal stack if the crash handler is installed. */
void jlog__crash_thread_init(void);
/* Writer: the last flush a crash handler asked for is written; stand
 * still until the process dies. */
__attribute__((noreturn)) void jlog__crash_writer_park(struct jlog_core *c);

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

struct jlog__sampler {
	bool sampling;
	uint32_t first, thereafter;
	uint64_t interval; /* in jlog__stamp() units */
	uint64_t base;     /* the stamp the first interval starts at */
	int sample_max;
	bool rate, per_logger;
	uint64_t emission;  /* stamp units per token */
	uint64_t tolerance; /* (burst - 1) * emission */
	int rate_max;
	int max_level;      /* the higher of the enabled limits' levels */
	uint64_t report_ms; /* writer: the report interval */
	uint64_t next_report_ms;
	struct jlog__sample_site nosite; /* records without a call site */
	struct jlog__sample_site bucket; /* JLOG_RATE_PER_LOGGER */
	_Atomic(struct jlog__sample_site *) chunks[JLOG__SAMPLE_CHUNKS];
};

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
	/* jlog_reopen() asked the writer to reopen the sinks (reopen.c). */
	_Atomic bool reopen_req;

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
	/* With a sampler: the fast_max the handle would have without it
	 * (what begin_record() takes once the sampler let a record go);
	 * else 0. */
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

/* ------------------------------------------------------------------------ */
/* Scoped context (context.c)                                               */
/* ------------------------------------------------------------------------ */

/* The calling thread's pushed context fields, encoded like bound fields;
 * the log path copies buf[0..len) into each record. */
struct jlog__context_tls {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t nfields;
};
extern _Thread_local struct jlog__context_tls jlog__ctx
	__attribute__((tls_model("initial-exec")));

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
/* Open a root logger from a parsed configuration document. */
int jlog__config_open_doc(jlog_logger **out, struct json_t *doc, char *err, size_t errlen);
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

/* ------------------------------------------------------------------------ */
/* Text formatter (format.c)                                                */
/* ------------------------------------------------------------------------ */

/* A compiled loguru-style template (opaque; immutable once compiled, so
 * one template may serve several threads). */
struct jlog__template;

/*
 * Compile a loguru template: {fields} with Python format specs, <color>
 * markup, {{ }} and \< escapes (format.c documents the language and the
 * choices made where loguru does not map to C). Returns 0 and *out, or
 * -EINVAL with a message naming the reason and the column in @err
 * ("format: unknown field {foo} at column 12"), or -ENOMEM.
 */
int jlog__template_compile(const char *tmpl, struct jlog__template **out, char *err,
                           size_t errlen);
/* {time} in local time (@local) or UTC (the default); before the template
 * is shared. */
void jlog__template_set_local(struct jlog__template *t, bool local);
/* NULL is a no-op. */
void jlog__template_free(struct jlog__template *t);
/*
 * Append one line (ending in its only '\n') for a record. @color: emit
 * ANSI SGR codes for the markup; without, markup is removed. Fields the
 * template does not show follow as " key=value" pairs. Writer thread (any
 * thread: the scratch space is thread-local); sets b->failed when out of
 * memory.
 */
void jlog__format_text(struct jlog__buf *b, const struct jlog__rec_view *v,
                       const struct jlog__line_ctx *ctx, const struct jlog__template *t,
                       bool color);
/* loguru's default icon of a level (loguru/_defaults.py), shared by
 * {level.icon} and the loguru preset's record.level.icon; " " for other
 * levels, as loguru gives a level logged by number. */
const char *jlog__level_icon(int level);
/* loguru's default format, usable as a template. */
extern const char jlog__default_text_format[];
/*
 * Whether @markup (NULL or "" for none) is a level color the text format
 * can show: opening tags it knows, as "<magenta><bold>". If not, why it
 * is not goes to @why ("unknown tag <purple>"). Thread-safe.
 */
bool jlog__color_check(const char *markup, char *why, size_t whylen);

#include "logger.h"

#endif /* JLOG_PRIVATE_H */
