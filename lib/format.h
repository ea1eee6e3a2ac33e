/*
 * The text formatter: loguru's template language for human output.
 *
 *     <green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | ...
 *
 * In two halves that share the compiled form below:
 *
 *   format-compile.c  a template's text into a struct jlog__template, a
 *                     list of operations (literal text, ANSI SGR codes,
 *                     fields with their alignment, time formats); every
 *                     error is reported there, with its column
 *   format.c          a record through a compiled template into a line,
 *                     which can never fail on the template
 *
 * Formatting runs on the writer thread and, like the JSON encoder, keeps
 * its scratch space thread-local (format.c).
 *
 * Where loguru (Python) does not map to C, the choices are:
 *
 *   - Time is local, as loguru's, or UTC (the sink's utc option,
 *     jlog__template_set_local()): Z is the offset "+01:00", ZZ "+0100",
 *     zz the zone's abbreviation ("CET"; "UTC" in UTC). The offset is
 *     looked up once per minute (jlog__local_zone()). A suffix "!UTC"
 *     gives that field in UTC. {time} without a spec is loguru's default
 *     "%Y-%m-%dT%H:%M:%S.%f%z" (2026-11-26T04:02:03.123456+0000). X is the
 *     Unix time in seconds, x in microseconds. A spec containing '%' is a
 *     strftime format (the common directives, English names); otherwise
 *     loguru's tokens apply, and "[TOKEN]" prints a token literally, exactly
 *     as loguru's pattern does (other bracketed text is copied with its
 *     brackets, as in loguru).
 *   - {name} is the logger's name; for an unnamed logger it is the module
 *     (the file's base name without extension), as loguru shows the
 *     caller's module. {module} and {file} are always the file's. A
 *     record without a callsite (a drop report) has Python logging's
 *     "(unknown file)" and "(unknown function)", and line 0, as the
 *     loguru JSON preset (encode-preset.c) has.
 *   - {thread} and {process} (and their .id) are the kernel tid and the
 *     pid. {thread.name} is the name of the thread that logged, noted at
 *     its first log call (thread-name.c; the main thread's is the
 *     program's), or the tid when none is known; {process.name} prints
 *     the pid.
 *     {exception} is accepted and prints nothing.
 *   - {level} and {level.name} print the name, or the number for a level
 *     without one; {level.icon} is loguru's emoji, or " " (loguru's icon
 *     for a level it knows only by number).
 *   - {extra} is the record's fields as one compact JSON object; NaN and
 *     infinities are null there. {extra[key]} is one field's value printed
 *     plainly: strings unquoted, integers exactly, doubles in their
 *     shortest round-trip form (nan, inf, -inf when not finite), booleans
 *     true/false, null as null, JSON values as compact JSON text; a key the
 *     record lacks prints "". Duplicate keys: the last one wins, as in the
 *     JSON line.
 *   - Fields not shown through {extra} or {extra[key]} follow the line as
 *     " key=value" pairs (logfmt-like): a string value (or key) is quoted
 *     with JSON escapes when it is empty or holds a space, a quote, '=' or
 *     a control character; other values are written plainly. Truncated
 *     records add " truncated=true", drop reports " dropped=N".
 *   - No raw control character ever comes from the record: control
 *     characters (C0, DEL, C1), U+2028 and U+2029 are escaped (\n, \t,
 *     \u001b...) in every value, and invalid UTF-8 becomes U+FFFD, so a
 *     line is one line and a record cannot send escape sequences to a
 *     terminal. Backslashes in unquoted text are left as they are.
 *   - Width and precision count code points, as Python does; precision
 *     never cuts an escape sequence in two.
 */
#ifndef JLOG_FORMAT_H
#define JLOG_FORMAT_H

#include "jlog-private.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compiled form */

enum op_kind {
	OP_TEXT,  /* literal text */
	OP_SGR,   /* an ANSI SGR sequence, written only with color */
	OP_LEVEL, /* the record level's color, only with color */
	OP_FIELD,
};

enum field {
	F_TIME,
	F_LEVEL,
	F_LEVEL_NO,
	F_LEVEL_ICON,
	F_NAME,
	F_MODULE,
	F_FILE,
	F_FUNCTION,
	F_LINE,
	F_THREAD,      /* number, as an integer */
	F_THREAD_NAME, /* the thread's name (thread-name.c), else its number */
	F_PROCESS,
	F_PROCESS_NAME,
	F_MESSAGE,
	F_EXTRA,
	F_EXTRA_KEY,
	F_EXCEPTION,
};

/* Kinds of value, for the default alignment and the spec checks. */
enum { K_STR, K_INT, K_ANY /* extra[key]: known only per record */ };


#define NO_PREC UINT32_MAX
#define MAX_WIDTH 1024u
#define MAX_TEMPLATE (64u * 1024u)
#define MAX_DEPTH 64

struct op {
	uint8_t kind;  /* enum op_kind */
	uint8_t field; /* enum field */
	uint8_t vkind; /* K_* */
	uint8_t align; /* 0 (the kind's default), '<', '>', '^' */
	uint8_t reset; /* OP_SGR: this is the reset, "\e[0m" */
	uint8_t utc;   /* F_TIME: "!UTC", UTC whatever the template's zone */
	uint8_t fill_len;
	char fill[4];
	uint32_t width; /* 0: none */
	uint32_t prec;  /* NO_PREC: none */
	uint32_t off, len; /* in pool: text, SGR bytes, or extra key */
	uint32_t tfirst, tcount; /* F_TIME: its parts */
};

/* Parts of a time format. */
enum tpart_kind {
	TP_LIT,
	TP_YYYY, TP_YY, TP_Q, TP_MMMM, TP_MMM, TP_MM, TP_M,
	TP_DDDD, TP_DDD, TP_DD, TP_D, TP_e,
	TP_dddd, TP_ddd, TP_d, TP_E, TP_w,
	TP_HH, TP_H, TP_hh, TP_h, TP_mm, TP_m, TP_ss, TP_s,
	TP_FRAC, /* len digits of the second */
	TP_A, TP_Z, TP_ZZ, TP_zz, TP_X, TP_x,
};

struct tpart {
	uint8_t kind;
	uint32_t off, len; /* TP_LIT: pool text; TP_FRAC: digits in len */
};

struct key_ref {
	uint32_t off, len; /* canonical key in pool */
};

struct jlog__template {
	struct op *ops;
	size_t nops, ops_cap;
	struct tpart *tparts;
	size_t ntparts, tparts_cap;
	struct key_ref *keys; /* keys of the {extra[key]} fields */
	size_t nkeys, keys_cap;
	struct jlog__buf pool;
	bool has_extra; /* {extra}: every field is shown; no pairs */
	bool local_time; /* {time} in local time (jlog__template_set_local) */
};

/* jlog__buf_put() for lengths that may be 0 (memcpy must not see the NULL
 * pointers an empty buffer or empty string can have then). */
static inline void put(struct jlog__buf *b, const void *p, size_t n)
{
	if (n)
		jlog__buf_put(b, p, n);
}

/* Shared by the two halves (format.c) */

/* Characters that end a line or steer a terminal: C1 controls (U+0080 to
 * U+009F) and U+2028/U+2029. @p is a valid sequence of @len bytes. */
bool jlog__fmt_special_cp(const unsigned char *p, size_t len);
/* Record text made safe, into @b (format.c has the rules); the compiler
 * uses it for the canonical form of an {extra[key]} key. */
size_t jlog__fmt_put_text(struct jlog__buf *b, const char *s, size_t n, bool quoted,
                          size_t limit, bool *cut);
/* Code points in valid UTF-8. */
size_t jlog__fmt_count_cps(const char *s, size_t n);

/* (format-compile.c) */

/* The SGR sequence of a markup tag's name, for templates and for level
 * colors (jlog_level_add): false for an unknown tag. */
bool jlog__fmt_tag_sgr(const char *p, size_t n, char *out, size_t cap);

#endif
