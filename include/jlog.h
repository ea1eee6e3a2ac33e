/*
 * jlog — structured JSON logging for C services.
 *
 * A log call builds a typed key-value record, a lock-free ring buffer hands
 * it to a background writer thread, and the writer serializes it to one JSON
 * object per line (JSON Lines) on stderr, stdout or a file.
 *
 *     jlog_logger *log;
 *     if (jlog_open(&log, NULL) == 0) {
 *         JLOG_INFO(log, "request handled", JLOG_STR("user", "alice"),
 *                   JLOG_INT("status", 200), JLOG_DOUBLE("latency_ms", 12.5));
 *         jlog_close(log);
 *     }
 *
 * This is the only header to include. Everything named jlog__ / JLOG__ (two
 * underscores) is private: it appears here only because the macros need it;
 * the inline fast path and the record wire format are in jlog-inline.h,
 * which this header includes.
 *
 * Copyright (c) 2026 the jlog authors. MIT license, see COPYING.
 */
#ifndef JLOG_H
#define JLOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
#include <initializer_list>
#include <type_traits>
extern "C" {
#endif

/*
 * Version. The hex form is 0xMMmmpp. ABI policy: the soname carries the
 * major version; symbols are versioned per release in lib/jlog.map. Within
 * one major version, functions are only added, and jlog_options /
 * jlog_stats only grow at the end (callers always go through
 * jlog_options_init(), so new fields get their defaults).
 */
#define JLOG_VERSION_MAJOR 0
#define JLOG_VERSION_MINOR 1
#define JLOG_VERSION_MICRO 0
#define JLOG_VERSION "0.1.0"
#define JLOG_VERSION_HEX                                                      \
	((JLOG_VERSION_MAJOR << 16) | (JLOG_VERSION_MINOR << 8) | JLOG_VERSION_MICRO)

#if defined(__GNUC__) || defined(__clang__)
#define JLOG_EXPORT __attribute__((visibility("default")))
#define JLOG__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define JLOG__WUR __attribute__((warn_unused_result))
#define JLOG__LIKELY(x) __builtin_expect(!!(x), 1)
/* Field constructors and the level check are always inlined, so strlen()
 * of literal keys and values is folded at every call site. (GCC -O2 left
 * them out of line in a large function: the standard record then cost
 * 72 instructions in jlog__field_str() and 3 strlen() calls, ~124
 * instructions per log call, measured with callgrind.) */
#define JLOG__INLINE static inline __attribute__((always_inline))
#define JLOG__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define JLOG_EXPORT
#define JLOG__PRINTF(fmt, args)
#define JLOG__WUR
#define JLOG__LIKELY(x) (x)
#define JLOG__UNLIKELY(x) (x)
#define JLOG__INLINE static inline
#endif

/* jansson's value type; include <jansson.h> to build one. */
struct json_t;

/* ------------------------------------------------------------------------ */
/* Levels                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Levels use loguru's numbers. Any integer 0..255 is a valid level; the
 * named ones print by name ("INFO"), any other prints as its number in a
 * string ("22"). A level outside 0..255 is clamped into that range.
 */
#define JLOG_LEVEL_TRACE 5
#define JLOG_LEVEL_DEBUG 10
#define JLOG_LEVEL_INFO 20
#define JLOG_LEVEL_SUCCESS 25
#define JLOG_LEVEL_WARNING 30
#define JLOG_LEVEL_ERROR 40
#define JLOG_LEVEL_CRITICAL 50
/* A logger whose level is JLOG_LEVEL_OFF logs nothing. */
#define JLOG_LEVEL_OFF 256

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Every call that can fail returns 0 on success or a negative errno value:
 *   -EINVAL   an argument or option is out of range
 *   -ENOMEM   an allocation failed
 *   -ENOENT, -EACCES, -EISDIR, ...   opening a file sink failed (from open(2))
 *   -EAGAIN   a thread could not be started
 *   -EIO      a sink reported a write error (only where documented)
 *   -ESRCH    jlog_remove_sink(): no sink has that id ("no such sink")
 *   -ENODATA  jlog_context_pop(): nothing is pushed on this thread
 * A call that fails also leaves a message naming what is wrong (the option,
 * the value, the range) for jlog_last_error().
 */

/*
 * jlog_strerror - describe an error code returned by jlog.
 *
 * Accepts a negative errno value (or a positive one). Returns a static,
 * immutable string; never NULL. -ESRCH and -ENODATA are described in
 * jlog's terms ("no such sink", "no context pushed on this thread"), the
 * others as the C library does. Thread-safe.
 */
JLOG_EXPORT const char *jlog_strerror(int err);

/*
 * jlog_last_error - the message of the last failure of a jlog call on this
 * thread, or "" if there was none: "jlog_open: queue_size: 10 is out of
 * range 65536..1073741824", "sinks[1].preset: unknown preset \"elk\"".
 * Each failure of jlog_open(), jlog_add_sink(), jlog_remove_sink(),
 * jlog_set_module_level(), jlog_get_stats(), the level calls, the
 * configuration calls and the context calls (a NULL from
 * jlog_context_capture() too) sets it, so after one of those it never
 * shows an older call's message; read it right after the failing call. A
 * call that succeeds may leave it unchanged. Thread-local; the string
 * stays valid until the next failing call on this thread.
 */
JLOG_EXPORT const char *jlog_last_error(void);

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

/* What a log call does when the ring buffer is full. */
typedef enum jlog_overflow {
	/* Wait (spin briefly, then sleep) until the writer frees space: no
	 * committed record is ever lost. The default. */
	JLOG_OVERFLOW_BLOCK = 0,
	/* Never wait: the record is refused and counted in jlog_stats.dropped;
	 * the writer reports each new batch of drops as a WARNING line
	 * {"message":"records dropped","dropped":N}. */
	JLOG_OVERFLOW_DROP = 1,
} jlog_overflow;

/* How a redacted value is written (jlog_redact_options.mode). */
typedef enum jlog_redact_mode {
	/* The value becomes the replacement string. The default. */
	JLOG_REDACT_REPLACE = 0,
	/* The key and its value are left out. */
	JLOG_REDACT_REMOVE = 1,
	/* The value becomes "h:" and the first 16 hex digits of its
	 * HMAC-SHA-256 under the hash key: equal values give equal strings
	 * (they can be correlated), other keys give others. */
	JLOG_REDACT_HASH = 2,
} jlog_redact_mode;

/* Detectors of secrets inside the message and string values
 * (jlog_redact_options.detect), each match replaced by the replacement;
 * README, "Sensitive data", lists what each one recognizes. */
#define JLOG_DETECT_BEARER 1u /* "Bearer <token>", "Basic <base64>" */
#define JLOG_DETECT_LUHN 2u   /* 13 to 19 digits passing the Luhn check */
#define JLOG_DETECT_KEYS 4u   /* AWS, GitHub, Slack, Stripe keys, PEM private keys */

/*
 * Redaction rules (README, "Sensitive data"): applied on the writer
 * thread to every record before any sink formats it. Initialise with
 * jlog_redact_options_init(). The strings are read by jlog_open() and
 * jlog_add_sink() only (the rules are compiled then).
 *
 * keys: nkeys patterns. Without a '.', a pattern matches a key at any
 * depth: a field's key and a member name inside JSON values; '*' matches
 * any run of bytes and '?' one byte ("password", "*token*", "api_key*").
 * With a '.', it is a path from the field's key through member names
 * ("user.card.number"); a segment "**" matches any number of segments
 * ("**.secret"), the others may hold '*' and '?'. Arrays are transparent:
 * "items.secret" matches the "secret" of each object in the array
 * "items".
 */
typedef struct jlog_redact_options {
	const char *const *keys;
	size_t nkeys;
	jlog_redact_mode mode;
	/* The replacement string; NULL for "[REDACTED]". */
	const char *replacement;
	/* Match keys byte for byte; default false (ASCII case is ignored). */
	bool case_sensitive;
	/* JLOG_REDACT_HASH: the key is the contents of this file (a final
	 * newline is not part of it), or of this environment variable;
	 * at least 16 bytes. Exactly one of them. */
	const char *hash_key_file;
	const char *hash_key_env;
	/* JLOG_DETECT_* bits; default 0 (none). */
	unsigned detect;
} jlog_redact_options;

/*
 * jlog_redact_options_init - fill *o with the defaults (no keys, replace
 * with "[REDACTED]", case-insensitive, no detector). Does nothing when o
 * is NULL. Thread-safe.
 */
JLOG_EXPORT void jlog_redact_options_init(jlog_redact_options *o);

/*
 * Options for jlog_open(). Always initialise with jlog_options_init() and
 * then change the fields you need: later versions add fields at the end.
 */
typedef struct jlog_options {
	/* Minimum level written; default JLOG_LEVEL_INFO. */
	int level;
	/* Where lines go: "stderr" (default), "stdout", or a file path opened
	 * for append (created with file_mode). NULL means "stderr". The string
	 * is copied by jlog_open(). */
	const char *sink;
	/* Ring capacity in bytes, rounded up to a power of two; default 4 MiB,
	 * at least 64 KiB, at most 1 GiB. */
	size_t queue_size;
	/* What a log call does when the ring is full; default BLOCK. */
	jlog_overflow overflow;
	/* The longest a committed record waits before the writer hands it to
	 * the sink while the logger is otherwise idle, in milliseconds;
	 * default 50, range 1..10000. Under load the writer drains
	 * continuously and does not wait. */
	int flush_interval_ms;
	/* The largest encoded record in bytes: default 64 KiB, at least 4 KiB;
	 * a value above queue_size / 4 is lowered to that. The message and
	 * string or JSON values that would make a record larger are truncated,
	 * all to one common length chosen so that the record fits (shorter
	 * values are kept whole): a cut value ends at a UTF-8 boundary followed
	 * by "…" (U+2026), a cut JSON value becomes a string of its first
	 * bytes, fields that cannot fit at all are left out, and the line
	 * carries "truncated":true. Bound fields (JLOG_WITH) take at most a
	 * quarter of it: their values are cut to share that room when the
	 * child is made, fields that still do not fit are left out, and
	 * then every record of the child and of its children carries
	 * "truncated":true (and counts in jlog_stats.truncated). */
	size_t max_record_size;
	/* Mode for a file sink created by jlog_open(); default 0640. */
	unsigned file_mode;
	/* Name of the logger ("logger" key); NULL for none. Copied. */
	const char *name;
	/* Accept a file sink path that is a symbolic link; default false: the
	 * file is opened with O_NOFOLLOW and jlog_open() returns -ELOOP when
	 * the path's last component is a symbolic link (a dangling one too),
	 * so a link planted where the log should be cannot redirect it.
	 * Links among the directories of the path are followed either way.
	 * Note that /dev/stdout, /dev/stderr and /dev/fd/N are symbolic
	 * links: use "stdout" or "stderr", or set this. */
	bool allow_symlink;
	/* How long jlog_close() of the root and the exit handler wait for
	 * the sinks, in milliseconds; default 5000, range 0..600000 (0: do
	 * not wait: what is still queued is lost). A pipe or socket whose
	 * reader stopped reading holds the writer up until then, never
	 * longer (jlog waits with poll(2) and writes no more than the
	 * descriptor takes, without making it non-blocking); past it nothing
	 * more is written, the lines left are counted in jlog_stats.lost and
	 * one line on stderr says how many. Writes to a regular file are
	 * never cut short. Close and exit return within this time plus at
	 * most a second; a writer that has still not finished then (stuck in
	 * a write to a regular file on a hung file system, say) is left
	 * running and its logger is never freed, so nothing it uses goes
	 * away. Config key "close_timeout_ms". */
	int close_timeout_ms;
	/* Redaction rules of every sink (README, "Sensitive data"); NULL
	 * (the default) for none, which costs nothing. Compiled by
	 * jlog_open(): -EINVAL names a bad rule ("redact.keys[1]: ..."). */
	const jlog_redact_options *redact;

	/*
	 * Sampling and rate limits (see the README's "Sampling"); both off by
	 * default. A record either limit suppresses is not written: it is
	 * counted in jlog_stats.sampled_out and in a per-call-site count
	 * that the writer reports, at the end of each report interval (from
	 * the logger's start) for each call site that suppressed any, as a
	 * WARNING record of its own (or at the highest level among the
	 * records it counts, when that is higher) on every sink that takes
	 * that level: {"message":"records sampled out","sampled_out":N,
	 * "file":...,"line":...} (the call site's file and line; none for
	 * records logged without one). The report interval is
	 * sample_interval_ms with sampling, one second for a rate limit
	 * alone. Closing the logger reports what is left, so
	 * logged + dropped + sampled_out is the number of calls made at
	 * enabled levels. Records above the limit's max_level are never
	 * suppressed. Each call site's state takes 32 bytes, in a table of
	 * address space whose pages take memory only when a call site on
	 * them counts. Config keys "sampling" and "rate_limit".
	 */
	/* Per call site, in each interval of sample_interval_ms: the first
	 * sample_first records are written, then 1 in sample_thereafter (0:
	 * none). Off unless sampling is true. */
	bool sampling;
	unsigned sample_first;      /* default 100 */
	unsigned sample_thereafter; /* default 100 */
	int sample_interval_ms;     /* default 1000, range 1..3600000; also
	                               the report interval with sampling */
	int sample_max_level;       /* the highest level sampled; default
	                               JLOG_LEVEL_WARNING */
	/* A token bucket: rate_per_second tokens a second, at most rate_burst
	 * (0: rate_per_second rounded up, at least 1); a record takes one or
	 * is suppressed. Off while rate_per_second is 0 (the default); range
	 * 0.000001..1e9. Per call site (JLOG_RATE_PER_CALLSITE, the default)
	 * or one bucket for the whole logger (JLOG_RATE_PER_LOGGER). Records
	 * that sampling suppressed take no token. */
	double rate_per_second;
	unsigned rate_burst;
	int rate_per;
	int rate_max_level; /* the highest level limited; default
	                       JLOG_LEVEL_WARNING */

	/*
	 * Flight recorder (see the README's "Flight recorder"); off while
	 * flight_records is 0, the default, and then it costs nothing. Records
	 * below the logger's level (a handle's own, its module's or the
	 * root's) down to flight_level are not discarded: the writer keeps
	 * the last flight_records of them (at most flight_bytes bytes; the
	 * oldest go first, counted in jlog_stats.deferred_discarded) and
	 * writes them, oldest first and each with the field "deferred":true,
	 * before the next record at or above flight_trigger. Those records
	 * pass the sinks' own levels and filters like any other, and are
	 * redacted like any other. A recorded call costs what an enabled
	 * call costs: jlog_enabled() is true at the recorded levels. Records
	 * still held when the logger closes are discarded (counted). Config
	 * key "flight_recorder": {"records", "bytes", "level", "trigger"}.
	 */
	unsigned flight_records; /* 0 (off) .. 1000000 */
	size_t flight_bytes;     /* default 256 KiB, range 4 KiB..1 GiB */
	int flight_level;        /* default JLOG_LEVEL_DEBUG */
	int flight_trigger;      /* default JLOG_LEVEL_ERROR; above flight_level */

	/*
	 * Self-metrics (README, "Metrics"): every stats_interval_ms the
	 * writer adds an INFO record of its own, {"message":"jlog stats",
	 * ...}, with the counters of jlog_stats, the ring's high-water mark,
	 * the writer's busy share and each sink's counts, to every sink that
	 * takes INFO. 0 (the default): off, and it costs nothing. Range
	 * 0..86400000. Config key "stats_interval_ms".
	 */
	int stats_interval_ms;
} jlog_options;

/* jlog_options.rate_per: one token bucket per call site, or per logger. */
#define JLOG_RATE_PER_CALLSITE 0
#define JLOG_RATE_PER_LOGGER 1

/*
 * jlog_options_init - fill *opts with the defaults listed above.
 *
 * Does nothing when opts is NULL. Thread-safe.
 */
JLOG_EXPORT void jlog_options_init(jlog_options *opts);

/* ------------------------------------------------------------------------ */
/* Loggers                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A logger handle. A root logger (jlog_open) owns a ring buffer, a writer
 * thread and its sinks (jlog_add_sink); a child logger (JLOG_WITH,
 * jlog_named) shares its root's ring, writer and sinks and adds bound
 * fields or a name.
 */
typedef struct jlog_logger jlog_logger;

/*
 * jlog_open - create a root logger and start its writer thread.
 *
 * @out:  receives the logger, the caller's to release with jlog_close();
 *        set to NULL on failure.
 * @opts: options, or NULL for the defaults. Not retained: strings are
 *        copied.
 *
 * Returns 0, -EINVAL (bad option: out NULL, level, queue_size,
 * max_record_size, flush_interval_ms, sample_interval_ms,
 * rate_per_second or a max level out of range, overflow, rate_per or
 * file_mode not one of theirs; jlog_last_error() names the option, the
 * value and the range), -ENOMEM, -EAGAIN (the
 * writer thread could not start) or the negative errno of open(2) on the
 * file sink (e.g. -ENOENT for a missing directory, -EACCES, -ELOOP for a
 * path that is a symbolic link while allow_symlink is false, -ENXIO for a
 * FIFO without a reader: jlog_open() never waits for one), with
 * jlog_last_error() naming the path. On failure
 * nothing is left allocated and no thread runs. Thread-safe.
 *
 * Every open logger is flushed by an exit handler, so records committed
 * before exit() (from any thread) or a return from main() are written,
 * within close_timeout_ms. The writer then writes nothing more, so the end
 * of the process never cuts a line in two: records logged after the
 * handler began (by threads still running, or by exit handlers that run
 * after jlog's) are not written, unless the thread running the handlers
 * calls jlog_flush() or jlog_close().
 *
 * The first open decides how records are timestamped, once per process:
 * with the CPU's time-stamp counter, converted to CLOCK_REALTIME on the
 * writer thread, where the counter is invariant and the kernel keeps time
 * with it (x86-64, clocksource "tsc"); otherwise, or when the environment
 * has JLOG_CLOCK=realtime, with clock_gettime(CLOCK_REALTIME). The
 * "time" of a line is the wall-clock time of its call either way.
 *
 * fork(): the child may go on logging through every logger open at the
 * fork, the default logger included, to the same sinks. It inherits the
 * handles (roots and children, with their levels, names and bound
 * fields) and the sinks' descriptors. It does not inherit the parent's
 * records: whatever the parent logged and had not yet written is written
 * by the parent alone, never twice. jlog's pthread_atfork() child handler
 * gives each logger an empty ring and a writer thread of the child's own,
 * and zeroes its jlog_stats counters, which then count the child's records
 * only. The child's records are drained at exit() and by jlog_flush() and
 * jlog_close() as usual (these wait for the child's writer, never the
 * parent's), but not at _exit() or exec: flush first. The parent is not
 * affected, and fork() while other threads log is safe. Lines of both
 * processes land whole in a file sink (O_APPEND); on a pipe, socket or
 * terminal, a write larger than PIPE_BUF may interleave with the other
 * process's. posix_spawn() (and with glibc, system() and popen()) runs no
 * fork handler and costs nothing; fork() costs one thread start per open
 * logger in the child. If the child cannot start a thread, it says so on
 * stderr and that logger's records in the child are not written. Calling
 * fork() from a signal handler that interrupted a jlog call is not
 * supported.
 */
JLOG_EXPORT int jlog_open(jlog_logger **out, const jlog_options *opts) JLOG__WUR;

/*
 * jlog_flush - wait until every record committed before the call, by any
 * thread, has been handed to the sinks (with write(2), or to their
 * callbacks).
 *
 * @log: a logger (root or child; a child flushes its root), or NULL for the
 *       default logger.
 *
 * Returns 0, or -EINVAL if the logger (or its root) is closed, -EDEADLK
 * from a sink callback or filter (the writer's thread, which would wait
 * for itself), -ECANCELED
 * if another thread is running the exit handlers (the process is ending),
 * or the first error (a negative errno such as -ENOSPC or -EPIPE) of a
 * sink added with catch_errors false since the previous
 * jlog_flush()/jlog_close() (each error is returned once; jlog_last_error()
 * names the sink by id and target). Thread-safe; must not be called from a
 * signal handler.
 */
JLOG_EXPORT int jlog_flush(jlog_logger *log);

/*
 * jlog_close - release a logger.
 *
 * For a root logger: stop accepting records, drain everything committed,
 * write it, join the writer thread and close the sink, waiting for the
 * sinks at most close_timeout_ms (see jlog_options). Every record is then
 * in jlog_stats.written or lost, or a call refused after the close in
 * dropped. Children of the root
 * stay valid handles until they are closed themselves, but log nothing
 * after their root is closed (their level becomes JLOG_LEVEL_OFF, and a
 * call already past the level check is discarded, never blocked); the
 * shared state is freed when the last handle is closed.
 * For a child logger: release only the child.
 * For the default logger (jlog_default()): does nothing; it lives until
 * exit.
 *
 * NULL is a no-op returning 0. Returns 0, or for a root, the first error
 * of a sink added with catch_errors false that jlog_flush() did not return
 * yet (the logger is closed all the same; jlog_last_error() names that
 * sink by id and target). No other thread may be logging
 * through this very handle while it is closed; jlog_flush(),
 * jlog_get_stats(), JLOG_WITH() and jlog_named() on a root in other
 * threads during its close are safe (they are waited for, at most
 * close_timeout_ms and a second more; past that, the memory they may
 * still read is kept, not freed). Not to be called from a signal
 * handler.
 *
 * A closed root handle stays safe to use, as the children of a closed root
 * are: it becomes an inert handle (about 80 bytes, kept until exit) whose
 * level is JLOG_LEVEL_OFF. Log calls through it log nothing and evaluate
 * no argument, jlog_flush(), jlog_add_sink(), jlog_remove_sink() and
 * jlog_set_module_level() return -EINVAL, jlog_get_stats() reads zeros,
 * JLOG_WITH()/jlog_named() give inert children (close them as usual), and
 * jlog_close() on it again does nothing and returns 0. A closed child
 * handle is freed: it must not be used again.
 */
JLOG_EXPORT int jlog_close(jlog_logger *log);

/*
 * jlog_default - the process-wide logger, opened on first use.
 *
 * Its options come from the environment: JLOG_CONFIG, a JSON document as
 * for jlog_open_config() (a path, or the JSON text itself), then these
 * overrides: JLOG_LEVEL (a
 * level name in any case, such as "debug" or "WARNING", or a number
 * 0..255; default INFO), and for the first sink (created if the document
 * has none): JLOG_SINK ("stderr" (default), "stdout" or a file path),
 * JLOG_FORMAT (a text template; implies text lines unless JLOG_SERIALIZE
 * says otherwise), JLOG_SERIALIZE (1/true/yes: JSON, 0/false/no: text)
 * and JLOG_COLORIZE (1/true/yes, 0/false/no, auto). An override that does
 * not parse is ignored with a message on stderr. If the document is
 * broken or a sink cannot be opened, the default logger writes JSON to
 * stderr (at JLOG_LEVEL) and says why once on stderr. Passing NULL as the
 * logger to any macro or function here means this logger. It is drained
 * at exit() and never freed. Returns NULL only if even the stderr fallback
 * could not be created (out of memory). Thread-safe.
 */
JLOG_EXPORT jlog_logger *jlog_default(void);

/*
 * jlog_set_level - set the minimum level of a logger and of every child
 * created from it (before or after this call) that has no level of its own
 * and no module level (jlog_set_module_level). Clamped to
 * 0..JLOG_LEVEL_OFF. NULL means the default logger. Thread-safe at any
 * time; takes effect for calls that start after it.
 */
JLOG_EXPORT void jlog_set_level(jlog_logger *log, int level);

/*
 * jlog_set_module_level - per-module levels, like loguru's filter dict
 * {"": "INFO", "db": "DEBUG"}: every named logger of @log's root whose
 * name is @prefix or starts with "@prefix." ("db" covers "db" and
 * "db.pool", not "dbx") logs from @level; the longest matching prefix
 * wins, and "" matches every named logger. A level set on a handle itself
 * with jlog_set_level() still wins over module levels; module levels win
 * over levels inherited from ancestors and the root. @level -1 removes the
 * entry for @prefix.
 *
 * @log: any handle of the root (NULL: the default logger). @prefix is
 * copied.
 * Returns 0, -EINVAL (prefix NULL, level out of range -1..JLOG_LEVEL_OFF)
 * or -ENOMEM, with the reason in jlog_last_error().
 * Thread-safe at any time: levels are resolved here into each handle's
 * gate, so the disabled check stays one load and one compare.
 */
JLOG_EXPORT int jlog_set_module_level(jlog_logger *log, const char *prefix, int level);

/*
 * jlog_get_level - the minimum level of a logger (NULL: the default
 * logger), not counting the flight recorder's lower levels. Thread-safe.
 */
JLOG_EXPORT int jlog_get_level(const jlog_logger *log);

/*
 * jlog_enabled - true when a record at @level would be logged by @log
 * (NULL: the default logger), or kept by its flight recorder
 * (jlog_options.flight_records). Thread-safe.
 */
JLOG_EXPORT bool jlog_enabled(const jlog_logger *log, int level);

/*
 * jlog_level_name - the name of a level ("INFO", or a custom level's
 * name), or NULL for a level that has no name. Thread-safe; the string
 * lives as long as the process.
 */
JLOG_EXPORT const char *jlog_level_name(int level);

/*
 * jlog_level_from_name - parse a level: a name in any case ("warning",
 * "Info", a custom level's name), the aliases "warn", "fatal"/"crit" and
 * "off"/"none" (JLOG_LEVEL_OFF), or a decimal number 0..255 (digits only);
 * blanks around it are ignored. Returns the level, or -EINVAL with
 * 'unknown level "loud" ...' in jlog_last_error(). Thread-safe.
 * jlog_level_parse is the same function, and it is the one parser of
 * level names: JLOG_LEVEL and the configuration's "level" keys accept
 * exactly these words.
 */
JLOG_EXPORT int jlog_level_from_name(const char *text);
JLOG_EXPORT int jlog_level_parse(const char *text);

/*
 * jlog_level_add - name a level, like loguru's logger.level("NOTICE",
 * no=22, color="<yellow>"): records at @no then print "NOTICE" in JSON and
 * text, and the name parses back with jlog_level_from_name(). @name:
 * letters, digits, '_' and '-', at most 31, not starting with a digit;
 * stored in upper case; it must not already mean a level ("warn", "off").
 * @color: markup for the text format's <level> tag, or NULL or "" for
 * none: opening tags the text format knows, blanks between them allowed
 * ("<magenta><bold>", "<fg #ff8000>", "<fg 208><u>"); anything else
 * ("<purple>", "<red", "</red>", text) is refused. Adding the same name
 * and number again only changes the color. Both strings are copied.
 *
 * Returns 0, or -EINVAL (bad name, number or color), -EEXIST (the name
 * means another level, or the number already has another name, which
 * includes loguru's seven levels), -ENOMEM; jlog_last_error() says which
 * ('level "NOTICE" (22): color "<purple>": unknown tag <purple>'). Process-wide, for every
 * logger; thread-safe, also while other threads log. Names cannot be
 * removed.
 */
JLOG_EXPORT int jlog_level_add(const char *name, int no, const char *color);

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */
/* ------------------------------------------------------------------------ */

/* Counters of a root logger since it was opened. */
typedef struct jlog_stats {
	uint64_t logged;       /* records accepted into the ring */
	uint64_t dropped;      /* records refused because the ring was full
	                          (DROP policy), or discarded after close */
	uint64_t written;      /* lines written whole, summed over the sinks
	                          (a record two sinks take counts twice); for
	                          a network or journald sink, queued whole for
	                          sending: a queued line dropped afterwards
	                          (a datagram limit learned late, or still
	                          queued when jlog_close()'s close_timeout_ms
	                          ends) moves to lost */
	uint64_t truncated;    /* records with at least one truncated value,
	                          and lines a datagram sink shortened to its
	                          max_datagram (once per sink that did) */
	uint64_t write_errors; /* failed writes of a batch of lines to a
	                          sink (and output buffers that could not
	                          grow); the first failure of a sink, and
	                          the first after it recovered, is reported
	                          once on stderr */
	uint64_t bytes_written;/* bytes the sinks accepted, in whole lines */
	uint64_t lost;         /* lines formatted for the sink but not written
	                          whole because a write failed (EPIPE, ENOSPC,
	                          EFBIG, EIO...) or memory for the output ran
	                          out. They are dropped, never retried; a line
	                          cut short by the failure is truncated away
	                          from a regular file. Every line the writer
	                          formats ends up in written or in lost. */
	uint64_t rotation_errors; /* failed rotations, retention removals
	                          and compressions of rotating file sinks,
	                          and failed reopens of any file sink
	                          (lines still go to the active file; the
	                          first failure of a kind is reported once on
	                          stderr, again only after one succeeded) */
	uint64_t sampled_out;  /* records that sampling or a rate limit
	                          suppressed (jlog_options.sampling,
	                          .rate_per_second); logged + dropped +
	                          sampled_out is the number of log calls made
	                          at enabled levels (plus the calls the
	                          flight recorder took, see below) */
	/* The flight recorder (jlog_options.flight_records). Its records
	 * count in logged like any other; of those the writer has seen,
	 * deferred_written were written before a trigger record,
	 * deferred_discarded were pushed out by newer ones (or were larger
	 * than flight_bytes, or were held when the logger closed), and
	 * deferred_held are held now. So after jlog_flush(), the recorded
	 * calls are deferred_written + deferred_discarded + deferred_held, and
	 * logged + dropped + sampled_out is the number of calls at enabled
	 * levels plus the recorded calls. deferred_written counts records, not
	 * lines: written counts their lines per sink as it does any line. */
	uint64_t deferred_written;
	uint64_t deferred_discarded;
	uint64_t deferred_held;
	/* The ring: its capacity (jlog_options.queue_size rounded up), and
	 * the most bytes it held (reserved, not yet consumed by the writer),
	 * as the writer sees it at the start of each batch. */
	uint64_t queue_size;
	uint64_t queue_high_water;
} jlog_stats;

/*
 * jlog_get_stats - read the counters of @log's root (NULL: the default
 * logger) into *stats. Each counter is read atomically; together they are a
 * snapshot only when no thread is logging. Returns 0, -EINVAL (stats
 * NULL) or -ENOMEM (no default logger). Thread-safe.
 */
JLOG_EXPORT int jlog_get_stats(jlog_logger *log, jlog_stats *stats);

/* Counters of one sink since it was added (jlog_get_sink_stats()). Later
 * versions add fields at the end only. */
typedef struct jlog_sink_stats {
	int id;                 /* the sink's id (jlog_add_sink()'s) */
	char target[160];       /* what it writes to: "file /var/log/app.jsonl",
	                           "stderr", "tcp://host:514"... (NUL-terminated) */
	uint64_t written;       /* lines written whole (or queued whole for a
	                           network or journald sink) */
	uint64_t bytes_written; /* bytes it accepted, in whole lines */
	uint64_t write_errors;  /* failed writes of a batch of lines */
	uint64_t lost;          /* lines formatted for it but not written whole */
} jlog_sink_stats;

/*
 * jlog_get_sink_stats - read the counters of the sink @sink_id of @log's
 * root (NULL: the default logger) into *stats: summed over the sinks, they
 * are jlog_stats.written, bytes_written and lost (write_errors there also
 * counts failures that are no sink's). Sink 0 is jlog_options.sink (or a
 * configuration's first sink). Each counter is read atomically.
 *
 * Returns 0; -EINVAL (stats NULL, or the logger is closed), -ESRCH (no
 * sink with that id: the message lists the ids there are), -EDEADLK (from
 * a sink callback or filter, which run on the writer thread), -ENOMEM (no
 * default logger); jlog_last_error() says which. Thread-safe, also while
 * sinks are added and removed.
 */
JLOG_EXPORT int jlog_get_sink_stats(jlog_logger *log, int sink_id, jlog_sink_stats *stats);

/* ------------------------------------------------------------------------ */
/* Sinks                                                                    */
/* ------------------------------------------------------------------------ */

/* What a sink's filter predicate sees of a record. Valid only during the
 * call; strings are not NUL-terminated (use the lengths). */
typedef struct jlog_record_info {
	int level;
	const char *logger;   /* the logger's name, "" for an unnamed logger */
	size_t logger_len;
	const char *message;
	size_t message_len;
	const char *file;     /* base name, NULL if unknown */
	const char *function; /* NULL if unknown */
	int line;
	uint64_t time_ns;     /* ns since the epoch, UTC */
	uint32_t tid;
} jlog_record_info;

/* A sink callback: receives each formatted line, '\n' included (@len
 * counts it). Called on the writer thread only, one line at a time; @line
 * is valid only until the callback returns. It must not log through the
 * same root logger (the line would come back to it, and a full ring would
 * wait for the writer that is calling it) and should not block for long:
 * the writer waits for it. */
typedef void (*jlog_write_fn)(const char *line, size_t len, void *user);

/* A sink filter: return true to write the record to the sink. Called on
 * the writer thread; @rec is valid only during the call. */
typedef bool (*jlog_filter_fn)(const jlog_record_info *rec, void *user);

/* Key renames of the default JSON schema (preset "default"); NULL keeps a
 * key. Two schema keys may not end up with the same name. */
typedef struct jlog_sink_keys {
	const char *time, *level, *message, *logger, *file, *line, *function, *pid, *tid;
} jlog_sink_keys;

/*
 * Options of one sink. Initialise with jlog_sink_options_init(), then set
 * what you need; later versions add fields at the end. Strings are copied
 * by jlog_add_sink().
 */
typedef struct jlog_sink_options {
	/* "stderr", "stdout" or a file path (opened for append, created with
	 * file_mode; a symbolic link is refused unless allow_symlink; a FIFO
	 * without a reader is refused with -ENXIO rather than waited on),
	 * or an aggregator (README, "Shipping to aggregators"):
	 * "tcp://HOST:PORT", "udp://HOST:PORT" (HOST a name, an IPv4 address
	 * or a bracketed IPv6 one, "[::1]"), "unix:/PATH" (stream socket),
	 * "unixgram:/PATH" (datagram socket, e.g. "/dev/log"), "journald".
	 * Their keys (options below, or the sink's object in
	 * jlog_open_config()): "framing" ("lines", "rfc5424", "rfc3164"),
	 * "facility", "app_name", "msgid", "hostname", "connect_timeout_ms",
	 * "reconnect_max_ms", "buffer_size", "max_datagram"; for "journald"
	 * "socket", "identifier", "journal_json", "reconnect_max_ms",
	 * "buffer_size". A network sink never makes the writer wait on the
	 * network longer than connect_timeout_ms; an aggregator that is not
	 * there is no error: records wait in a buffer of buffer_size bytes
	 * and go out when it is back (beyond the bound they are lost,
	 * counted in jlog_stats.lost, reported once on stderr).
	 * Ignored when write is set. Default "stderr". */
	const char *sink;
	/* Instead of sink: a callback given each line and user. */
	jlog_write_fn write;
	void *user;
	/* Records below this level are not written to this sink; default 0
	 * (whatever the logger lets through: the logger's own level, set with
	 * jlog_options.level or jlog_set_level(), applies first). */
	int level;
	/* Only records of loggers whose name is this prefix or starts with
	 * "prefix." (loguru's filter="db": "db" and "db.pool", not "dbx");
	 * NULL or "" for all. */
	const char *filter;
	/* And (both must accept) a predicate, given filter_user; NULL for none. */
	jlog_filter_fn filter_fn;
	void *filter_user;
	/* true (default): JSON lines; false: the text format below. */
	bool serialize;
	/* Text template in loguru's syntax (README, "Text format"), used when
	 * serialize is false; NULL: loguru's default format. */
	const char *format;
	/* Colors of the text format: -1 auto (the default), 0 never, 1 always.
	 * Auto concerns "stderr" and "stdout" only: off when NO_COLOR is set
	 * and not empty, else on when FORCE_COLOR is set and not empty, else
	 * on when the stream is a terminal. A file or a callback gets colors
	 * only with 1 (FORCE_COLOR never puts escape codes into a file). */
	int colorize;
	/* JSON key schema: "default", "ecs", "gcp", "otel", "loguru"; NULL
	 * means "default". */
	const char *preset;
	/* Time format of JSON lines: "rfc3339" (= "rfc3339_us"), "rfc3339_ms",
	 * "rfc3339_ns", "epoch" (= "epoch_s", seconds with a fraction),
	 * "epoch_ms", "epoch_ns"; NULL for the preset's own (RFC 3339 with
	 * microseconds for default, ecs and gcp). ecs and gcp take the
	 * "rfc3339" forms only, otel (Timestamp in ns) and loguru (its
	 * record's time) none but the default: jlog_add_sink() refuses the
	 * others (-EINVAL). */
	const char *time_format;
	/* Renames of the default preset's keys. */
	jlog_sink_keys keys;
	/* Mode and symbolic-link policy of a file sink, as in jlog_options;
	 * default 0640 and false (the "file_mode" and "allow_symlink" keys of
	 * options override them). */
	unsigned file_mode;
	bool allow_symlink;
	/* Records at ERROR and above carry a "stack" array of the caller's
	 * frames ("binary(function+0x1f) [0x55d0c2a1b2c3]", innermost first),
	 * captured on the calling thread with glibc's backtrace() and
	 * symbolized on the writer thread. A sink asking for it makes its
	 * logger capture; sinks that did not ask do not show it. An
	 * executable's functions are named only when it is linked with
	 * -rdynamic, and its static functions never (they show as
	 * "binary(+0x1f)": addr2line or a debugger names them). Default
	 * false. */
	bool backtrace;
	/* loguru's diagnose, the C way (C has no variables to show): records
	 * at ERROR and above carry the caller's errno as it was when the call
	 * began ("errno", a number, and "errno_text", its description) and
	 * the calling thread's name ("thread"). Default false.
	 * In a line that shows them, "stack" (backtrace) and "errno",
	 * "errno_text", "thread" (diagnose) are reserved keys, in every
	 * preset and in text: a field of the call, JLOG_WITH or the scoped
	 * context with one of these keys is written as "fields.<key>", as
	 * a field named like a key of the schema is. */
	bool diagnose;
	/* loguru's catch: true (the default): errors of this sink never reach
	 * the caller (they are counted in jlog_stats and reported once on
	 * stderr). false: jlog_flush() and jlog_close() also return the first
	 * error of this sink since the previous such call (a negative errno,
	 * e.g. -ENOSPC, -EPIPE). */
	bool catch_errors;
	/* Options of the sink's transport (the kind of output the sink
	 * string names) as the text of a JSON object, with the keys and
	 * values a sink of jlog_open_config() takes for it, e.g.
	 * "{\"file_mode\":\"0600\",\"allow_symlink\":true}" for a file.
	 * They override file_mode and allow_symlink above. A key of another
	 * kind of output is checked and ignored; an unknown key or a bad
	 * value is -EINVAL with the key named ("options.file_mode: ...").
	 * NULL (the default) for none. Read by jlog_add_sink() only. */
	const char *options;
	/* Time zone of the dates this sink writes: 1 UTC; 0 local time, with
	 * its offset ("2026-11-26T05:02:03.123456+01:00" in JSON; {time}'s
	 * tokens in text, ZZ "+0100", Z "+01:00", zz "CET"); -1 (the
	 * default) UTC for JSON and local time for text, as loguru prints
	 * it. Epoch times (time_format "epoch*", X, x, OTel's Timestamp,
	 * loguru's record.time.timestamp) are the same either way; a text
	 * field "{time:...!UTC}" is always UTC. The zone is the process's
	 * (TZ, /etc/localtime); its offset is looked up on the writer thread
	 * once per minute of records, so a DST change shows from the minute
	 * it happens. Config key "utc" (true or false). */
	int utc;
	/* A file that rotates (README, "Files and rotation"); NULL (the
	 * default) for none. The keys "rotation", "retention",
	 * "compression" and "shared" of options and of jlog_open_config()
	 * sinks take the same values and override these. A file sink with
	 * none of them is a plain file opened for append.
	 * rotation: a size ("500 MB", "10 KiB", "4096" bytes; as a key, also
	 * a JSON number of bytes), a time of day ("00:00", "12:30", local
	 * time), an interval ("1 hour", "1 day", "1 week"), "hourly",
	 * "daily", "weekly", "monthly", a weekday ("monday at 12:00"), or a
	 * size and a time joined by " or " ("100 MB or 00:00"): whichever
	 * comes first. The active file keeps its path; the rotated one is
	 * renamed "app.2026-12-02_05-40-19_123456.log" (local time of the
	 * rotation, before the extension), so names sort by time. A line is
	 * never split across files; a file exceeds the size by at most one
	 * record (only a record larger than the bound does).
	 * retention: a count of rotated files to keep ("10", "10 files"; as a
	 * key, also a JSON number) or an age ("1 week", "10 days"), applied
	 * after each rotation and when the sink opens; only names of the
	 * rotated form above are ever removed.
	 * compression: "gz" (zlib) or "zst" (libzstd) for rotated files, on a
	 * helper thread (never on the writer's); "none" or NULL for none.
	 * -EINVAL when this build has no library for it.
	 * A bad value is -EINVAL from jlog_add_sink() with the key named. */
	const char *rotation;
	const char *retention;
	const char *compression;
	/* Several processes (pre-fork workers) write this file: each batch is
	 * written under flock(2) after checking that the path is still the
	 * file held, so exactly one process rotates and no line is lost or
	 * torn. Costs a lock and a stat per batch. Default false; key
	 * "shared". */
	bool shared;
	/* Redaction rules of this sink, applied after the logger's
	 * (jlog_options.redact); NULL (the default) for none. Compiled by
	 * jlog_add_sink(). Config key "redact". */
	const jlog_redact_options *redact;
	/* Integers beyond what the aggregator's reader holds exactly:
	 * "exact" writes every integer as a JSON number; "string" writes an
	 * integer field outside -2^53..2^53 (JavaScript's and a double's
	 * exact range; also every unsigned value above INT64_MAX) as its
	 * decimal digits in a JSON string, "18446744073709551615". NULL: the
	 * preset's default, "string" for ecs, gcp and otel (Elasticsearch's
	 * long refuses unsigned 64-bit values, Cloud Logging and OTLP/JSON
	 * readers keep numbers as doubles), "exact" for default and loguru
	 * (a file read by jq or jansson keeps 64 bits). Key "big_numbers". */
	const char *big_numbers;
} jlog_sink_options;

/*
 * jlog_reopen - ask @log's root (not NULL) to reopen its file sinks, as
 * after logrotate's `create` (the file was renamed away): the writer
 * closes each sink's file and opens its path again before its next batch.
 * Sets a flag and wakes the writer only: async-signal-safe, callable from
 * a signal handler and any thread. Returns 0, or -EINVAL when @log is
 * NULL (resolving the default logger is not signal-safe).
 *
 * Without the call, a file sink (rotating or not) also notices within
 * about a second that its path names another file or none (renamed or
 * deleted underneath) and opens it again; lines written meanwhile are in
 * the renamed file. A reopen that fails leaves the sink on the file it
 * had, and is counted in jlog_stats.rotation_errors.
 */
JLOG_EXPORT int jlog_reopen(jlog_logger *log);

/*
 * jlog_install_reopen_on_sighup - opt-in: SIGHUP calls jlog_reopen(@log),
 * then the handler installed before (SIG_DFL is not called: SIGHUP no
 * longer ends the process; SIG_IGN stays ignored). NULL uninstalls,
 * restoring the previous handler; do that before closing @log. Installing
 * again replaces the logger. Not thread-safe against itself; returns 0 or
 * the negative errno of sigaction().
 */
JLOG_EXPORT int jlog_install_reopen_on_sighup(jlog_logger *log);

/*
 * jlog_install_reload_on_sighup - opt-in: the SIGHUP handler of
 * jlog_install_reopen_on_sighup() (one handler, the same rules for the
 * previous one and for NULL) that also reloads @log's configuration from
 * the file it was opened from, as jlog_reload_config(@log, NULL) does.
 * The handler only sets flags and wakes the writer (async-signal-safe);
 * the writer reopens the files, then runs the reload itself between two
 * records (the records it took before are written with the old settings)
 * and, when the document is refused, says why on stderr ("jlog: reload on
 * SIGHUP: ...; the configuration is unchanged") and keeps running as it
 * was. Returns 0, -EINVAL (@log was not opened from a file: the message
 * says so) or the negative errno of sigaction(). Installing either hook
 * again replaces the logger and what SIGHUP does. Not thread-safe against
 * itself or jlog_install_reopen_on_sighup().
 */
JLOG_EXPORT int jlog_install_reload_on_sighup(jlog_logger *log);

/* jlog_sink_options_init - fill *opts with the defaults above. NULL is a
 * no-op. Thread-safe. */
JLOG_EXPORT void jlog_sink_options_init(jlog_sink_options *opts);

/*
 * jlog_add_sink - add a sink to @log's root (NULL: the default logger; a
 * child adds to its root, whose sinks all its handles share).
 *
 * Every record that passes the logger's level is formatted, on the writer
 * thread, for each sink whose level and filters accept it. A sink that
 * fails (a write error, a full disk, a reader gone) never disturbs the
 * others: its errors are counted in the logger's stats and reported once
 * on stderr. The sink receives the records the writer takes from the ring
 * after the call (a record logged concurrently with the call may or may not
 * reach it).
 *
 * Returns the sink's id (>= 0; ids are not reused while the logger lives),
 * or -EINVAL (a bad option, an unknown preset or time format, colliding
 * key renames, a template that does not compile: the reason, where and
 * why, is kept for jlog_last_error(), e.g. "format: unknown field {foo} at
 * column 12"), -ENOMEM, the negative errno of opening the file (with
 * jlog_last_error() naming the path; -ENXIO for a FIFO that has no reader:
 * the call never waits for one), or
 * -EDEADLK when called from a sink's callback or filter (the writer
 * thread). Thread-safe, also while other threads log; it waits for the
 * writer to finish the batch it is writing. Not from a signal handler.
 *
 * jlog_open() makes jlog_options.sink the logger's sink 0 (JSON lines,
 * level 0, catch_errors true).
 */
JLOG_EXPORT int jlog_add_sink(jlog_logger *log, const jlog_sink_options *opts);

/*
 * jlog_remove_sink - write what was committed before the call to sink @id
 * (and the others), then remove the sink and close it. Returns 0, or
 * -ESRCH (no sink has that id; jlog_last_error() lists the ids there are),
 * -EINVAL (the logger is closed), -EDEADLK (called from a sink's callback
 * or filter), -ENOMEM. Thread-safe, also while other threads
 * log; not from a signal handler. Removing every sink is allowed (sink 0
 * too, like loguru's logger.remove()): records are then consumed and
 * written nowhere.
 */
JLOG_EXPORT int jlog_remove_sink(jlog_logger *log, int id);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/*
 * jlog_open_config - open a root logger from a JSON document: a file path,
 * or the JSON text itself when it starts with '{' (after blanks). The
 * document mirrors loguru's LoggerService:
 *
 *   {"level": "INFO", "queue_size": 4194304, "overflow": "block",
 *    "flush_interval_ms": 50, "close_timeout_ms": 5000,
 *    "max_record_size": 65536, "name": "api",
 *    "levels": [{"name": "NOTICE", "no": 22, "color": "<yellow>"}],
 *    "modules": {"db": "DEBUG"},
 *    "sampling": {"first": 100, "thereafter": 100, "interval_ms": 1000,
 *                 "max_level": "WARNING"},
 *    "rate_limit": {"per_second": 1000, "burst": 200, "per": "callsite",
 *                   "max_level": "WARNING"},
 *    "sinks": [{"sink": "stderr", "level": "DEBUG", "format": "...",
 *               "colorize": true, "serialize": false, "backtrace": true,
 *               "diagnose": false, "catch": true, "utc": false},
 *              {"sink": "/var/log/app.jsonl", "serialize": true,
 *               "preset": "ecs", "time_format": "rfc3339_ms",
 *               "keys": {"time": "ts"}, "filter": "db",
 *               "file_mode": "0640", "allow_symlink": false}]}
 *
 * Every key is optional. Levels are what jlog_level_from_name() accepts
 * ("off" included), a custom level of the document's own "levels", or a
 * number 0..255. "levels" defines custom levels as jlog_level_add() does
 * ("name" and "no" required, "color" optional): they can be used as
 * "level" anywhere in the same document (top level, sinks[].level,
 * "modules"), and are added, process-wide, only once the whole document
 * has opened, so a refused document adds none. "sampling" and
 * "rate_limit" set the sampling fields of jlog_options ("sampling": {} is
 * sampling with the defaults; "rate_limit" needs "per_second", a number,
 * and takes "per": "callsite" or "logger"). "colorize" is true, false
 * or "auto"; "utc" true or false (absent: jlog_sink_options.utc -1).
 * "preset" and "time_format" take any case, as in
 * jlog_add_sink(); "big_numbers" is "exact" or "string"
 * (jlog_sink_options.big_numbers). A network or journald sink takes its
 * transport's keys in the same object ("framing", "facility",
 * "buffer_size"... as listed at jlog_sink_options.sink). "file_mode" is an octal string ("0640" or "640"): JSON
 * has no octal, so a number is refused (640 read as decimal would be mode
 * 01200). A key of another kind of sink ("file_mode" on "stderr") is
 * checked and ignored, so that JLOG_SINK can turn a file sink into a
 * stream. A sink with a "format" and no "serialize" writes text. Without
 * "sinks" the logger writes JSON to
 * stderr. Without a top-level "level", the logger's level is the lowest
 * of its sinks' levels (loguru has no logger level: a DEBUG sink gets
 * DEBUG records), a sink without a "level" counting as INFO (and getting
 * INFO and above). Top-level "file_mode" and "allow_symlink" are the
 * defaults of the file sinks. Module names are logger names in full: with
 * "name": "api", the child jlog_named(root, "db") is "api.db". Unknown keys and wrong
 * types are errors naming the key path (sinks[1].preset: unknown preset
 * "elk"); the message is printed on stderr and kept for jlog_last_error().
 * The whole document is checked before anything is opened.
 *
 * Returns 0 and *out, or -EINVAL (a bad document), the negative errno of
 * reading the file (-ENOENT, -EACCES...), -ENOMEM, or an error of
 * jlog_open()/jlog_add_sink() (the message then names the sink); on
 * failure *out is NULL and nothing is left open. Thread-safe.
 */
JLOG_EXPORT int jlog_open_config(jlog_logger **out, const char *path_or_json) JLOG__WUR;

/* jlog_open_config_err - as jlog_open_config() (the same returns, *out
 * the caller's to close, thread-safe), with the message of a failure
 * written into @err (@errlen bytes, always NUL-terminated when @errlen is
 * not 0; "" on success) and jlog_last_error() instead of stderr. @err may
 * be NULL. */
JLOG_EXPORT int jlog_open_config_err(jlog_logger **out, const char *path_or_json, char *err,
                                     size_t errlen) JLOG__WUR;

/*
 * jlog_reload_config - apply a changed document (the schema of
 * jlog_open_config(): a file path, or the JSON text itself when it starts
 * with '{'; NULL: the file the logger was opened from again) to @log's
 * root (NULL: the default logger), which must have been opened from a
 * configuration (jlog_open_config(), or the default logger from
 * JLOG_CONFIG, whose reload applies the environment's overrides again).
 *
 * Reload compares the document with the last one applied, as jlog-config
 * show would print them, and changes what differs:
 *   - "level" and "modules" (the module list is replaced whole; a level
 *     set with jlog_set_level() on a child handle stays);
 *   - "redact", "sampling", "rate_limit" (suppressed counts are still
 *     reported), "flush_interval_ms", "stats_interval_ms" (the next stats
 *     record is a whole interval after the switch), "levels" (added,
 *     never removed);
 *   - "sinks", sink by sink: a sink whose settings are all the same as
 *     one of the last document's is kept, with its open file or
 *     connection; any other is opened new; one the document no longer
 *     has is written up to the switch, then closed. Sinks added with
 *     jlog_add_sink() are not the document's and are left alone.
 *     Top-level "file_mode" and "allow_symlink" replace the file sinks
 *     they change.
 * Any other setting cannot change on a running logger ("queue_size",
 * "max_record_size", "overflow", "close_timeout_ms", "name",
 * "flight_recorder"): a document
 * that changes one is refused, naming it ("queue_size: cannot change on a
 * running logger (4194304, now 1048576); close and open the logger to
 * apply it"), and nothing changes.
 *
 * Atomic: everything that can fail (reading, checking, opening the new
 * sinks, compiling rules) happens first; an invalid document, or a sink
 * that cannot open, changes nothing, and the message names the key path
 * as jlog_open_config()'s do ("sinks[1].preset: unknown preset \"elk\"").
 * The levels and the sampling rules apply to log calls that begin after
 * the call took them; then the call takes the ring position P, and every
 * record reserved before P is formatted and written with the old sinks,
 * redaction and filters, every record from P on with the new ones, so
 * that a sink that stays gets every record once. The call returns once
 * the writer has switched (it waits for the records before P to be
 * formatted): a record logged after it returns has the new settings.
 *
 * Returns 0; -EINVAL (a bad document, a setting that cannot change, a
 * logger not opened from a configuration, a closed logger), the negative
 * errno of reading the file, -ENOMEM, or the error of opening a sink; the
 * reason is kept for jlog_last_error(). -EDEADLK from a sink's callback or
 * filter (the writer thread). Thread-safe, also while other threads log;
 * serialized with itself and jlog_add_sink()/jlog_remove_sink(); not
 * concurrently with jlog_close() of the root, nor from a signal handler
 * (jlog_install_reload_on_sighup() is for that).
 */
JLOG_EXPORT int jlog_reload_config(jlog_logger *log, const char *path_or_json);


/* ------------------------------------------------------------------------ */
/* Crash handler                                                            */
/* ------------------------------------------------------------------------ */

/*
 * jlog_install_crash_handler - on a fatal signal (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT), write what the loggers hold before the process dies.
 *
 * For every logger open when the crash comes (opened before or after this
 * call, the default logger included), every record committed before the
 * crash is written, then one more:
 *
 *   {"time":...,"level":"CRITICAL","message":"fatal signal","pid":...,
 *    "tid":...,"signal":"SIGSEGV","signo":11,"si_code":1,
 *    "fault_address":"0x0","thread_name":"worker",
 *    "stack":["./app(handle+0x1d)[0x55e1c3a0b1d9]", ...]}
 *
 * "fault_address" (the address, or the instruction for SIGILL and SIGFPE)
 * is there for a fault the kernel reported; a signal sent with kill(),
 * raise() or abort() has "sender_pid" instead. "stack" lists the crashing
 * thread's frames, innermost first, as backtrace_symbols_fd() prints them
 * (link with -rdynamic for the names of an executable's own functions).
 * Then the dispositions found at install time are restored and the signal
 * goes on: to the handler installed before (which sees the original
 * siginfo and, for a fault, the original context), or to the default
 * action, so the process still dies of that signal, with a core dump where
 * enabled.
 *
 * Idempotent: once installed, it returns 0 and does nothing (returns:
 * below). Install your own handlers for these signals first, and call
 * this early, before starting threads.
 *
 * How it works: each logger's writer thread is asked to write up to the
 * crash (a writer in the middle of a batch finishes it first), then stands
 * still; the handler waits while the writers make progress. Where a
 * writer cannot do it (the crashing thread is that writer, it made no
 * progress for a second, or could not be started in a forked child), the handler writes
 * from where the writer stopped, on the crashing thread, with write(2),
 * to a sink that has a file descriptor. The handler takes no lock and does
 * not allocate (except in a formatter's per-thread scratch when it must
 * format on the crashing thread); if it still takes more than 10 s, the
 * process dies of the original signal (default action) without it.
 *
 * Stack overflow: a handler can only run on a thread that overflowed its
 * stack if the thread has an alternate signal stack. jlog gives one (64
 * KiB, with a guard page, freed when the thread exits) to the thread that
 * installs the handler, to writer threads started after it, and to every
 * thread at its first log call after it; other threads (those that had
 * logged before, or never log) call jlog_crash_altstack_thread().
 *
 * Limits: these signals are taken as fatal, so do not install it in a
 * program that recovers from them (a runtime that uses guard pages); if a
 * previous handler does recover, the loggers stay stopped. Records are
 * written whole or not at all; a record reserved but not committed before
 * the crash (the crashing thread died inside a log call, e.g. reading a
 * bad pointer given to JLOG_STRN) holds up those after it for 200 ms, then
 * they are lost. A thread calling jlog_close() during the crash blocks
 * until the process dies.
 *
 * Returns 0 (also when already installed), -ENOMEM when the memory it
 * reserves cannot be mapped, or sigaction's or sigaltstack's error; on
 * failure nothing is installed and jlog_last_error() says what failed.
 * Thread-safe; not async-signal-safe.
 */
JLOG_EXPORT int jlog_install_crash_handler(void);

/*
 * jlog_uninstall_crash_handler - restore the dispositions that
 * jlog_install_crash_handler() found, for each signal whose handler is
 * still jlog's (one installed over it since is left alone). Alternate
 * stacks stay. Returns 0, also when it was not installed. Thread-safe;
 * not async-signal-safe.
 */
JLOG_EXPORT int jlog_uninstall_crash_handler(void);

/*
 * jlog_crash_altstack_thread - give the calling thread an alternate signal
 * stack (64 KiB and a guard page, freed when the thread exits), so the
 * crash handler also runs when this thread overflows its stack. A thread
 * that already has one at least as large keeps it. Call it at the start of
 * threads that do not log, or that logged before the handler was
 * installed. Returns 0, -ENOMEM, or sigaltstack's error (then
 * jlog_last_error() says what failed). Thread-safe; not async-signal-safe.
 */
JLOG_EXPORT int jlog_crash_altstack_thread(void);

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */
/* ------------------------------------------------------------------------ */

/* Field value types (private to the macros below). */
enum jlog__type {
	JLOG__T_END = 0,
	JLOG__T_STR,
	JLOG__T_INT,
	JLOG__T_UINT,
	JLOG__T_DOUBLE,
	JLOG__T_BOOL,
	JLOG__T_NULL,
	JLOG__T_JSON,
};

/*
 * One key-value pair of a log call, built by the JLOG_STR()... macros. It
 * holds pointers to the caller's key and value only for the duration of the
 * call: the record keeps a copy, so the caller may reuse its buffers as soon
 * as the call returns. Fields are private: build them with the macros.
 */
typedef struct jlog_field {
	const char *key;
	size_t key_len;
	int type;
	size_t len;
	union {
		int64_t i;
		uint64_t u;
		double d;
		bool b;
		const char *s;
		const struct json_t *j;
	} v;
} jlog_field;

JLOG__INLINE jlog_field jlog__field(const char *key, int type)
{
	/* One initializer, no memset: the compiler then keeps each member
	 * a constant through the inline path of the macros (see
	 * jlog__log_fields()). */
	jlog_field f = {key ? key : "", key ? strlen(key) : 0, type, 0, {0}};
	return f;
}

JLOG__INLINE jlog_field jlog__field_strn(const char *key, const char *s, size_t n)
{
	jlog_field f = jlog__field(key, s ? JLOG__T_STR : JLOG__T_NULL);
	f.v.s = s;
	f.len = s ? n : 0;
	return f;
}

JLOG__INLINE jlog_field jlog__field_str(const char *key, const char *s)
{
	return jlog__field_strn(key, s, s ? strlen(s) : 0);
}

JLOG__INLINE jlog_field jlog__field_int(const char *key, int64_t v)
{
	jlog_field f = jlog__field(key, JLOG__T_INT);
	f.v.i = v;
	return f;
}

JLOG__INLINE jlog_field jlog__field_uint(const char *key, uint64_t v)
{
	jlog_field f = jlog__field(key, JLOG__T_UINT);
	f.v.u = v;
	return f;
}

JLOG__INLINE jlog_field jlog__field_double(const char *key, double v)
{
	jlog_field f = jlog__field(key, JLOG__T_DOUBLE);
	f.v.d = v;
	return f;
}

JLOG__INLINE jlog_field jlog__field_bool(const char *key, bool v)
{
	/* Stored in all 8 bytes of the union (readers test v.i != 0): a
	 * one-byte store into it keeps GCC 12 from folding the field into
	 * constants on the inline path (34 instructions more per BOOL). */
	jlog_field f = jlog__field(key, JLOG__T_BOOL);
	f.v.i = v ? 1 : 0;
	return f;
}

JLOG__INLINE jlog_field jlog__field_json(const char *key, const struct json_t *j)
{
	jlog_field f = jlog__field(key, j ? JLOG__T_JSON : JLOG__T_NULL);
	f.v.j = j;
	return f;
}

/*
 * Field constructors. The key is a NUL-terminated string (NULL is taken as
 * ""). Keys and values are copied into the record during the log call.
 *
 * JLOG_STR(key, s)        a string; s NULL writes null
 * JLOG_STRN(key, s, n)    n bytes of s, which may contain NUL bytes
 * JLOG_INT(key, v)        int64_t, written exactly
 * JLOG_UINT(key, v)       uint64_t, written exactly
 * JLOG_DOUBLE(key, v)     double, shortest form that reads back equal;
 *                         NaN and ±Inf are written as null
 * JLOG_BOOL(key, v)       true / false
 * JLOG_NULL(key)          null
 * JLOG_JSON(key, j)       a jansson value (const json_t *), borrowed: it is
 *                         serialized during the call, so the caller may
 *                         change or free it as soon as the call returns.
 *                         NULL writes null, and so does a value nested
 *                         deeper than 512 arrays/objects (parsers refuse
 *                         such lines) or one jansson cannot serialize.
 *                         jansson's own text is embedded as is: keys
 *                         and strings set with its _nocheck functions
 *                         must be valid UTF-8 (jansson 2.14 writes an
 *                         invalid key as broken JSON and reports success).
 *
 * Invalid UTF-8 in keys and strings is replaced by U+FFFD; every control
 * character is escaped, so data can never start a new line. Keys longer
 * than 1024 bytes are cut.
 *
 * Only these build fields: anything else where a macro takes a field
 * (JLOG_INFO(log, "n=%d", n), or 42) fails to compile, and with C11 or
 * C++ the error says "fields are built with JLOG_STR(), ..." (C11 checks
 * a call's first 16 fields, C++ all).
 *
 * No key appears twice in a line. The rule:
 *   - a field whose key is one of the line's own keys ("time", "level",
 *     "message", "logger", "file", "line", "function", "pid", "tid",
 *     "truncated", "dropped") is written as "fields.<key>";
 *   - among the fields (bound ones first, then the call's), the last one
 *     with a given key wins, so a call's field overrides a bound field of
 *     the same key, and the earlier one is not written.
 */
#define JLOG_STR(key, s) jlog__field_str((key), (s))
#define JLOG_STRN(key, s, n) jlog__field_strn((key), (s), (n))
#define JLOG_INT(key, v) jlog__field_int((key), (int64_t)(v))
#define JLOG_UINT(key, v) jlog__field_uint((key), (uint64_t)(v))
#define JLOG_DOUBLE(key, v) jlog__field_double((key), (double)(v))
#define JLOG_BOOL(key, v) jlog__field_bool((key), (v) ? true : false)
#define JLOG_NULL(key) jlog__field((key), JLOG__T_NULL)
#define JLOG_JSON(key, j) jlog__field_json((key), (j))

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Call-site metadata: one static instance per log statement, registered
 * on its first use so records carry a small id instead of pointers.
 * Private: filled in by the macros.
 */
typedef struct jlog_callsite {
	const char *file;
	const char *function;
	int line;
	uint32_t id; /* 0 until registered; accessed atomically */
} jlog_callsite;

/* Private: the first member of every logger handle is its level gate. */
struct jlog__gate {
	int level;
};
/* Private: the level gate of the default logger; -1 until it is opened. */
JLOG_EXPORT extern int jlog__default_gate;
/* Private: open the default logger (reading the environment now) and
 * check @level against it. */
JLOG_EXPORT bool jlog__default_enabled(int level);

JLOG__INLINE bool jlog__enabled(const jlog_logger *log, int level)
{
	/* Relaxed loads: a level change only has to be seen eventually; a
	 * gate is a single int and guards no other data. */
	if (log)
		return level >= __atomic_load_n(&((const struct jlog__gate *)(const void *)log)->level,
		                                __ATOMIC_RELAXED);
	int gate = __atomic_load_n(&jlog__default_gate, __ATOMIC_RELAXED);
	return JLOG__LIKELY(gate >= 0) ? level >= gate : jlog__default_enabled(level);
}

/* Private: the compact call site's gate (JLOG__GATE, jlog-inline.h):
 * one load of either gate and one compare. The default logger's gate is
 * -1 until it is opened, which lets every level through: the out-of-line
 * call then opens it and checks the level there (jlog__log_site()). */
JLOG__INLINE bool jlog__enabled_lean(const jlog_logger *log, int level)
{
	/* Relaxed: as jlog__enabled(). */
	const int *gate = log ? &((const struct jlog__gate *)(const void *)log)->level
	                      : &jlog__default_gate;
	return level >= __atomic_load_n(gate, __ATOMIC_RELAXED);
}

/* Private entry points of the macros. */
JLOG_EXPORT void jlog__log(jlog_logger *log, jlog_callsite *cs, int level,
                           const char *msg, size_t msg_len,
                           const jlog_field *fields, size_t nfields);
JLOG_EXPORT void jlog__logf(jlog_logger *log, jlog_callsite *cs, int level,
                            const char *fmt, ...) JLOG__PRINTF(4, 5);
JLOG_EXPORT jlog_logger *jlog__with(jlog_logger *parent,
                                    const jlog_field *fields, size_t nfields);

JLOG__INLINE void jlog__log_msg(jlog_logger *log, jlog_callsite *cs, int level,
                                 const char *msg, const jlog_field *fields,
                                 size_t nfields)
{
	jlog__log(log, cs, level, msg, msg ? strlen(msg) : 0, fields, nfields);
}

/* The inline fast path and the record wire format (private). */
#include "jlog-inline.h"

/*
 * JLOG_WITH - a child logger whose records all carry these fields.
 *
 *     jlog_logger *req = JLOG_WITH(log, JLOG_STR("request_id", id));
 *
 * The fields are encoded once, here, and copied into each record of the
 * child. The child shares its parent's root (ring, writer, sink), name and
 * level, and inherits the parent's bound fields. At least one field is
 * required (use jlog_named() for a child without fields). Returns a new
 * handle to release with jlog_close(), or NULL if out of memory (then
 * jlog_last_error() says so; logging to NULL goes to the default logger). A NULL parent means the default logger.
 * Thread-safe.
 */
#ifdef __cplusplus
} /* extern "C" */
static inline jlog_logger *jlog__with_il(jlog_logger *parent,
                                         std::initializer_list<jlog_field> f)
{
	return jlog__with(parent, f.begin(), f.size() - 1);
}
#define JLOG_WITH(parent, ...)                                                \
	(JLOG__CHECK_FIELDS(__VA_ARGS__),                                     \
	 jlog__with_il((parent), {__VA_ARGS__, JLOG__END_FIELD}))
extern "C" {
#else
#define JLOG_WITH(parent, ...)                                                \
	(JLOG__CHECK_FIELDS(__VA_ARGS__),                                     \
	 jlog__with((parent), JLOG__FIELDS(__VA_ARGS__, JLOG__END_FIELD),        \
	            sizeof(JLOG__FIELDS(__VA_ARGS__, JLOG__END_FIELD)) /          \
	                    sizeof(jlog_field) - 1))
#endif

/*
 * JLOG_LOG(logger, level, "message", field, ...) - log a record.
 *
 * The level is checked first (one load and one compare); when it is
 * disabled, neither the message nor any field argument is evaluated. The
 * message is any NUL-terminated string (NULL is taken as ""); the caller's
 * file, line and function are captured. The call never fails and never
 * returns an error: when the ring is full it waits (BLOCK) or drops and
 * counts (DROP). Safe from any thread.
 *
 * From a signal handler: the call takes no lock, so it never deadlocks and
 * never corrupts the ring, even when the handler interrupted a log call on
 * the same thread. When it did, a record that does not fit is dropped and
 * counted instead of waited for (the interrupted call may hold up the
 * writer); otherwise it waits as any call would under BLOCK. Within these
 * limits, the call is async-signal-safe: plain fields only (not JLOG_JSON,
 * which allocates) and at most 64 of them; not JLOG_LOGF (vsnprintf); to
 * log through NULL, open the default logger with jlog_default() before the
 * handler can run. A statement's first call registers its callsite, which
 * allocates (calloc) once per 4096 callsites beyond the first 4096 of the
 * process.
 *
 * Code at the call site (C), by default: the level gate and the record's
 * encoding inline (its size, its field headers and keys folded into
 * constants, the values stored into the ring), the fastest enabled call
 * and about 1 KB of code per statement of five fields.
 *
 * JLOG_COMPACT_CALLSITES: define it before including jlog.h (in a file, or
 * with -DJLOG_COMPACT_CALLSITES) and that translation unit's C statements
 * (GCC or Clang) compile to the level gate, the values stored in an array
 * and one out-of-line call, with the keys, types, file, line and function
 * in a static descriptor: about a tenth of the code per statement, for
 * about twice the instructions per enabled call (the library copies a
 * template of the statement's fields, built on its first call). A disabled
 * call runs the gate alone in both. Use it in files with many log
 * statements that are rarely enabled (debug and trace, error paths); keep
 * the default where a statement runs often. Both give the same records,
 * and translation units of either kind mix in one binary. In this mode a
 * statement's first call also builds its template, which allocates only
 * once the process's templates outgrow 256 KiB (a few thousand
 * statements); each field must be written with a constructor macro above
 * (or a macro of yours that expands to one), and a statement whose key is
 * not a string literal (or NULL), or with more than 32 fields, builds
 * jlog_field values and makes the same call as C++ does. Its gate is one
 * load and one compare whether the logger is NULL or not; so, through a
 * logger variable that is NULL, a statement made before the default logger
 * is opened evaluates its arguments even at a disabled level (the library
 * then opens the default logger and drops the record); a literal NULL
 * keeps the full gate, which evaluates nothing. C++ ignores the macro.
 */
#define JLOG_LOG(logger, level, ...)                                          \
	do {                                                                  \
		jlog_logger *jlog__lg_ = (logger);                            \
		int jlog__lv_ = (level);                                      \
		if (JLOG__UNLIKELY(JLOG__GATE(jlog__lg_, jlog__lv_, logger))) \
			JLOG__EMIT(jlog__lg_, jlog__lv_, __VA_ARGS__);        \
	} while (0)

#define JLOG_TRACE(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_TRACE, __VA_ARGS__)
#define JLOG_DEBUG(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_DEBUG, __VA_ARGS__)
#define JLOG_INFO(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_INFO, __VA_ARGS__)
#define JLOG_SUCCESS(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_SUCCESS, __VA_ARGS__)
#define JLOG_WARNING(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_WARNING, __VA_ARGS__)
#define JLOG_ERROR(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_ERROR, __VA_ARGS__)
#define JLOG_CRITICAL(logger, ...) JLOG_LOG(logger, JLOG_LEVEL_CRITICAL, __VA_ARGS__)

/*
 * JLOG_LOGF(logger, level, fmt, ...) - log a record whose message is
 * formatted with printf rules (checked by the compiler). The formatted
 * message is truncated to max_record_size. Arguments are not evaluated
 * when the level is disabled. Same guarantees as JLOG_LOG.
 */
#define JLOG_LOGF(logger, level, ...)                                         \
	do {                                                                  \
		jlog_logger *jlog__lg_ = (logger);                            \
		int jlog__lv_ = (level);                                      \
		if (JLOG__UNLIKELY(jlog__enabled(jlog__lg_, jlog__lv_))) {    \
			static jlog_callsite jlog__cs_ = {__FILE__, __func__, \
			                                  __LINE__, 0};       \
			jlog__logf(jlog__lg_, &jlog__cs_, jlog__lv_,          \
			           __VA_ARGS__);                              \
		}                                                             \
	} while (0)

#define JLOG_TRACEF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_TRACE, __VA_ARGS__)
#define JLOG_DEBUGF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_DEBUG, __VA_ARGS__)
#define JLOG_INFOF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_INFO, __VA_ARGS__)
#define JLOG_SUCCESSF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_SUCCESS, __VA_ARGS__)
#define JLOG_WARNINGF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_WARNING, __VA_ARGS__)
#define JLOG_ERRORF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_ERROR, __VA_ARGS__)
#define JLOG_CRITICALF(logger, ...) JLOG_LOGF(logger, JLOG_LEVEL_CRITICAL, __VA_ARGS__)

/*
 * jlog_log, jlog_logv - log a record for a logging layer of your own: the
 * functions behind a wrapper such as
 *
 *     #define LOG_ERROR(...) \
 *             app_log(JLOG_LEVEL_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
 *
 *     void app_log(int level, const char *file, int line, const char *func,
 *                  const char *fmt, ...)
 *     {
 *             va_list ap;
 *             va_start(ap, fmt);
 *             jlog_logv(app_logger, level, file, line, func, NULL, 0, fmt, ap);
 *             va_end(ap);
 *     }
 *
 * @log:     the logger (NULL: the default logger).
 * @level:   the record's level, checked first: below the logger's level the
 *           call returns at once and @fmt is not formatted. Clamped to
 *           0..255 like JLOG_LOG's.
 * @file, @line, @func: the call site the record shows as "file" (base
 *           name), "line" and "function": the wrapper passes its own
 *           caller's (__FILE__, __LINE__, __func__). jlog keeps the two
 *           pointers, not copies: they must stay valid and unchanged for
 *           the life of the process (string literals and __func__ do).
 *           @file and @func both NULL: the record has no call site.
 * @fields, @nfields: an array of fields built with JLOG_STR(), JLOG_INT(),
 *           ... (jlog_field f[] = {JLOG_STR("user", u)}), copied during
 *           the call; NULL and 0 for none.
 * @fmt, @ap / ...: the message, formatted with printf rules (checked by
 *           the compiler), as JLOG_LOGF's; NULL means "".
 *
 * Call sites: each distinct (file, line, func) triple of pointers is
 * registered once, on its first call, and found again by a hash of the
 * pointers (no lock, no allocation after the first call of the process,
 * which allocates the table). The table holds 12288 triples and never
 * grows: a triple beyond them is logged without file, line and function,
 * said once on stderr. A wrapper with literal __FILE__ and __func__ uses
 * one triple per call statement, like the macros.
 *
 * Records are the macros' (same keys, bound fields, context, truncation,
 * overflow policy); the macros' inline fast path is not involved, so a
 * call costs the formatting and the general path. Never fails, never
 * returns an error. Thread-safe; not async-signal-safe (vsnprintf).
 */
JLOG_EXPORT void jlog_logv(jlog_logger *log, int level, const char *file, int line,
                           const char *func, const jlog_field *fields, size_t nfields,
                           const char *fmt, va_list ap) JLOG__PRINTF(8, 0);
JLOG_EXPORT void jlog_log(jlog_logger *log, int level, const char *file, int line,
                          const char *func, const jlog_field *fields, size_t nfields,
                          const char *fmt, ...) JLOG__PRINTF(8, 9);

/*
 * jlog_named - a child logger whose records carry "logger":"name". Names
 * nest with a dot: jlog_named(jlog_named(root, "api"), "db") is "api.db".
 * Otherwise like JLOG_WITH (bound fields are inherited). @name is copied;
 * NULL or "" keeps the parent's name. A name (the whole dotted one, and
 * jlog_options.name) keeps at most 255 bytes, cut at a character
 * boundary; the records of a handle whose name was cut say
 * "truncated":true. Returns a new handle, the caller's
 * to release with jlog_close() (before or after the parent's), or NULL if
 * out of memory (jlog_last_error() says so). Thread-safe.
 */
JLOG_EXPORT jlog_logger *jlog_named(jlog_logger *parent, const char *name);

/* ------------------------------------------------------------------------ */
/* Scoped context                                                           */
/* ------------------------------------------------------------------------ */

/*
 * JLOG_CONTEXT_PUSH(field, ...) - add fields to every record this thread
 * logs, through any logger, until the matching jlog_context_pop().
 *
 *     JLOG_CONTEXT_PUSH(JLOG_STR("request_id", id), JLOG_STR("user", u));
 *     handle(request);            // every record carries both fields
 *     jlog_context_pop();
 *
 * Pushes nest: a pop removes the fields of the latest push. The fields are
 * encoded once, here (keys and values are copied); each log call copies
 * the encoded bytes. A record's fields come in this order: the logger's
 * bound fields, then the context (outermost push first), then the call's;
 * with the last-writer-wins rule for equal keys, a call's field overrides
 * the context, which overrides bound fields. A thread holds at most 16 KiB
 * of context; a context longer than half a record's max_record_size is
 * left out of that logger's records (which then say "truncated":true).
 *
 * Returns 0, -E2BIG (over 16 KiB) or -ENOMEM, with the reason in
 * jlog_last_error(); on failure nothing is pushed. Thread-local: affects
 * only the calling thread. Allocates (on the first push of a thread and
 * when the context grows), so not for signal handlers. At least one field is required.
 */
JLOG_EXPORT int jlog__context_push(const jlog_field *fields, size_t nfields);
#ifdef __cplusplus
} /* extern "C" */
static inline int jlog__context_push_il(std::initializer_list<jlog_field> f)
{
	return jlog__context_push(f.begin(), f.size() - 1);
}
#define JLOG_CONTEXT_PUSH(...)                                                \
	(JLOG__CHECK_FIELDS(__VA_ARGS__),                                     \
	 jlog__context_push_il({__VA_ARGS__, JLOG__END_FIELD}))
extern "C" {
#else
#define JLOG_CONTEXT_PUSH(...)                                                \
	(JLOG__CHECK_FIELDS(__VA_ARGS__),                                     \
	 jlog__context_push(JLOG__FIELDS(__VA_ARGS__, JLOG__END_FIELD),          \
	                    sizeof(JLOG__FIELDS(__VA_ARGS__, JLOG__END_FIELD)) /  \
	                            sizeof(jlog_field) - 1))
#endif

/*
 * jlog_context_pop - remove the fields of this thread's latest push (or
 * adopted context). Returns 0, or -ENODATA when nothing is pushed (with
 * a message for jlog_last_error()). Changes the calling thread's context
 * only, so it needs no lock; not from a signal handler that interrupted
 * a push or pop of the same thread.
 */
JLOG_EXPORT int jlog_context_pop(void);

/*
 * JLOG_CONTEXT_SCOPE(field, ...) - push for the rest of the enclosing
 * block: the fields are popped when the block is left by any path. In C
 * with GCC and Clang (cleanup attribute), and in C++, where it declares a
 * jlog_context_scope guard (below). A push that failed (-E2BIG, -ENOMEM)
 * pops nothing.
 *
 * C++: jlog_context_scope is the RAII form, for use without the macro:
 *
 *     jlog_context_scope scope{JLOG_STR("request_id", id)};
 *     if (scope.result() < 0) ...        // 0, -E2BIG or -ENOMEM
 *
 * It pushes in its constructor and pops in its destructor (also when the
 * scope is left by an exception); it can be neither copied nor moved, and
 * belongs to the thread that made it (the context is per thread).
 */
JLOG_EXPORT void jlog__context_scope_end(int *pushed);
#ifdef __cplusplus
} /* extern "C" */
class jlog_context_scope {
public:
	jlog_context_scope(std::initializer_list<jlog_field> fields)
		: rc_(jlog__context_push(fields.begin(), fields.size()))
	{
	}
	~jlog_context_scope() { jlog__context_scope_end(&rc_); }
	jlog_context_scope(const jlog_context_scope &) = delete;
	jlog_context_scope &operator=(const jlog_context_scope &) = delete;
	/* The push's result: 0, or -E2BIG / -ENOMEM (nothing pushed). */
	int result() const { return rc_; }

private:
	int rc_;
};
#define JLOG_CONTEXT_SCOPE(...)                                               \
	jlog_context_scope JLOG__CAT(jlog__scope_, __LINE__)(                 \
		(JLOG__CHECK_FIELDS(__VA_ARGS__),                             \
		 std::initializer_list<jlog_field>{__VA_ARGS__}))
extern "C" {
#elif defined(__GNUC__) || defined(__clang__)
#define JLOG_CONTEXT_SCOPE(...)                                               \
	int JLOG__CAT(jlog__scope_, __LINE__)                                 \
		__attribute__((cleanup(jlog__context_scope_end), unused)) =   \
			JLOG_CONTEXT_PUSH(__VA_ARGS__)
#endif

/* A snapshot of a thread's context, to hand to another thread. */
typedef struct jlog_context jlog_context;

/*
 * jlog_context_capture - copy the calling thread's current context (all
 * pushed fields). Returns a new object to release with
 * jlog_context_release(), or NULL if out of memory. An empty context is a
 * valid snapshot.
 *
 * jlog_context_adopt - push a captured context on the calling thread, as
 * one frame: its records carry those fields until jlog_context_pop().
 * The snapshot is not consumed (it may be adopted by many threads, at the
 * same time too). Returns 0, -EINVAL (ctx NULL), -E2BIG or -ENOMEM.
 *
 * jlog_context_release - free a snapshot; NULL is a no-op. The snapshot
 * must not be adopted by another thread at the same time or after it;
 * the contexts that adopted it keep their own copy of its fields, so it
 * may be released while they are still pushed.
 *
 * All three are thread-safe: capture and adopt touch the calling
 * thread's context and read the snapshot only; not from a signal handler
 * (they allocate).
 *
 *     jlog_context *ctx = jlog_context_capture();   // request thread
 *     submit(job, ctx);
 *     ...
 *     jlog_context_adopt(job->ctx);                 // pool thread
 *     run(job);
 *     jlog_context_pop();
 *     jlog_context_release(job->ctx);
 */
JLOG_EXPORT jlog_context *jlog_context_capture(void);
JLOG_EXPORT int jlog_context_adopt(const jlog_context *ctx);
JLOG_EXPORT void jlog_context_release(jlog_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* JLOG_H */
