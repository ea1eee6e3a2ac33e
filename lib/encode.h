/*
 * The JSON encoder (encode.c, on buf.c, dtoa.c, time-format.c): a decoded
 * record into a JSON line in the default schema, and the JSON pieces the
 * other formatters share. A part of jlog-private.h, which includes the
 * parts in the order of the data flow: include that, not this.
 */
#ifndef JLOG_ENCODE_H
#define JLOG_ENCODE_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

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

#endif
