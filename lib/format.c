/*
 * The text formatter: loguru's template language for human output.
 *
 *     <green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | ...
 *
 * A template is compiled once into a list of operations (literal text,
 * ANSI SGR codes, fields with their alignment, time formats) and every
 * error is reported then, with its column, so that formatting a record can
 * never fail on the template. Formatting runs on the writer thread and,
 * like the JSON encoder, keeps its scratch space thread-local.
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
#include "jlog-private.h"
#include "utf8.h"
#include "civil.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char jlog__default_text_format[] =
	"<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | "
	"<level>{level: <8}</level> | "
	"<cyan>{name}</cyan>:<cyan>{function}</cyan>:<cyan>{line}</cyan> - "
	"<level>{message}</level>";

/* ------------------------------------------------------------------------ */
/* Compiled form                                                            */
/* ------------------------------------------------------------------------ */

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

static const struct {
	const char *name;
	uint8_t field;
	uint8_t kind;
} field_names[] = {
	{"time", F_TIME, K_STR},
	{"level", F_LEVEL, K_STR},
	{"level.name", F_LEVEL, K_STR},
	{"level.no", F_LEVEL_NO, K_INT},
	{"level.icon", F_LEVEL_ICON, K_STR},
	{"name", F_NAME, K_STR},
	{"module", F_MODULE, K_STR},
	{"file", F_FILE, K_STR},
	{"file.name", F_FILE, K_STR},
	{"function", F_FUNCTION, K_STR},
	{"line", F_LINE, K_INT},
	{"thread", F_THREAD, K_INT},
	{"thread.id", F_THREAD, K_INT},
	{"thread.name", F_THREAD_NAME, K_STR},
	{"process", F_PROCESS, K_INT},
	{"process.id", F_PROCESS, K_INT},
	{"process.name", F_PROCESS_NAME, K_STR},
	{"message", F_MESSAGE, K_STR},
	{"extra", F_EXTRA, K_STR},
	{"exception", F_EXCEPTION, K_STR},
};

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

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

/* jlog__buf_put() for lengths that may be 0 (memcpy must not see the NULL
 * pointers an empty buffer or empty string can have then). */
static inline void put(struct jlog__buf *b, const void *p, size_t n)
{
	if (n)
		jlog__buf_put(b, p, n);
}

/* Characters that end a line or steer a terminal: C1 controls (U+0080 to
 * U+009F) and U+2028/U+2029. @p is a valid sequence of @len bytes. */
static bool is_special_cp(const unsigned char *p, size_t len)
{
	return (len == 2 && p[0] == 0xc2 && p[1] < 0xa0) ||
	       (len == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9));
}

/* Escape of a control character (or of '"' and '\\' when quoted) into
 * @o; returns its length. JSON's two-character forms where they exist. */
static size_t escape_cp(char *o, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";
	char c = 0;
	switch (cp) {
	case '\n': c = 'n'; break;
	case '\r': c = 'r'; break;
	case '\t': c = 't'; break;
	case '\b': c = 'b'; break;
	case '\f': c = 'f'; break;
	case '"': c = '"'; break;
	case '\\': c = '\\'; break;
	default: break;
	}
	o[0] = '\\';
	if (c) {
		o[1] = c;
		return 2;
	}
	o[1] = 'u';
	o[2] = hex[cp >> 12 & 15];
	o[3] = hex[cp >> 8 & 15];
	o[4] = hex[cp >> 4 & 15];
	o[5] = hex[cp & 15];
	return 6;
}

/*
 * Append text from a record, made safe: control characters, C1 controls,
 * U+2028 and U+2029 escaped, each maximal invalid UTF-8 subpart replaced
 * by U+FFFD, and with @quoted also '"' and '\\' escaped (the body of a
 * JSON string). At most @limit code points are written, counting an
 * escape as its length, and a unit is never cut: *cut (if given) tells
 * whether something was left out. Returns the code points written.
 */
static size_t put_text(struct jlog__buf *b, const char *s, size_t n, bool quoted,
                       size_t limit, bool *cut)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t cps = 0;

	if (cut)
		*cut = false;
	while (p < end) {
		/* A run of plain ASCII, copied at once. */
		const unsigned char *q = p;
		while (q < end && *q >= 0x20 && *q < 0x7f && !(quoted && (*q == '"' || *q == '\\')))
			q++;
		if (q > p) {
			size_t run = (size_t)(q - p);
			if (run > limit - cps) {
				put(b, p, limit - cps);
				if (cut)
					*cut = true;
				return limit;
			}
			put(b, p, run);
			cps += run;
			p = q;
			if (p == end)
				break;
		}

		char esc[8];
		const void *out = esc;
		size_t olen, ulen, ucps;
		unsigned c = *p;
		if (c < 0x80) {
			olen = ucps = escape_cp(esc, c);
			ulen = 1;
		} else if (jlog__utf8_check(p, end, &ulen) == JLOG__UTF8_VALID) {
			if (is_special_cp(p, ulen)) {
				unsigned cp = ulen == 2 ? (unsigned)(p[1] & 0x3f) | 0x80
				                        : 0x2000u | (p[2] & 0x3f);
				olen = ucps = escape_cp(esc, cp);
			} else {
				out = p;
				olen = ulen;
				ucps = 1;
			}
		} else {
			out = "\xef\xbf\xbd";
			olen = 3;
			ucps = 1;
		}
		if (ucps > limit - cps) {
			if (cut)
				*cut = true;
			return cps;
		}
		put(b, out, olen);
		cps += ucps;
		p += ulen;
	}
	return cps;
}

/* Does a key or string value need quotes in a key=value pair? */
static bool needs_quotes(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '=')
			return true;
		if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
			return true;
		if (c == 0xe2 && i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8)
			return true;
	}
	return false;
}

/* Code points in valid UTF-8 (everything this file writes is). */
static size_t count_cps(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

static void put_str(struct jlog__buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

struct civil {
	uint64_t sec;
	unsigned year, month, day, hour, min, s, yday, wday; /* wday: Monday 0 */
};

/* The calendar fields of the last second formatted on this thread. */
static _Thread_local struct civil time_cache = {UINT64_MAX, 0, 0, 0, 0, 0, 0, 0, 0};

/* The calendar fields of Unix second @sec, cached per thread. */
static const struct civil *civil_of(uint64_t sec)
{
	struct civil *c = &time_cache;
	if (c->sec == sec)
		return c;
	uint64_t days = sec / 86400, rem = sec % 86400;
	struct jlog__date dt = jlog__civil_from_days(days);
	c->day = dt.day;
	c->month = dt.month;
	c->year = dt.year;
	c->hour = (unsigned)(rem / 3600);
	c->min = (unsigned)(rem / 60 % 60);
	c->s = (unsigned)(rem % 60);
	c->yday = (unsigned)(days - jlog__days_from_civil(c->year, 1, 1) + 1);
	c->wday = (unsigned)((days + 3) % 7); /* 1970-01-01 was a Thursday */
	c->sec = sec;
	return c;
}

static const char *const month_names[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const day_names[7] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};

/* @v in decimal, at least @width digits (zero-padded). */
static void put_num(struct jlog__buf *b, uint64_t v, unsigned width)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	unsigned nd = 0;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
		nd++;
	} while (v);
	while (nd < width) {
		*--p = '0';
		nd++;
	}
	put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void put_time(struct jlog__buf *b, const struct jlog__template *t,
                     const struct op *op, uint64_t time_ns)
{
	uint64_t sec = time_ns / 1000000000u;
	unsigned us = (unsigned)(time_ns % 1000000000u / 1000u);
	/* Local time: the calendar of the time moved by the zone's offset
	 * (X and x stay Unix time). */
	const struct jlog__zone *z = NULL;
	if (t->local_time && !op->utc)
		z = jlog__local_zone(sec);
	const struct civil *c = civil_of(z ? jlog__local_ns(time_ns, z->off) / 1000000000u : sec);
	unsigned h12 = (c->hour + 11) % 12 + 1;
	char zone[8];

	for (uint32_t i = 0; i < op->tcount; i++) {
		const struct tpart *tp = &t->tparts[op->tfirst + i];
		switch (tp->kind) {
		case TP_LIT: put(b, t->pool.p + tp->off, tp->len); break;
		case TP_YYYY: put_num(b, c->year, 4); break;
		case TP_YY: put_num(b, c->year % 100, 2); break;
		case TP_Q: put_num(b, (c->month - 1) / 3 + 1, 1); break;
		case TP_MMMM: put_str(b, month_names[c->month - 1]); break;
		case TP_MMM: put(b, month_names[c->month - 1], 3); break;
		case TP_MM: put_num(b, c->month, 2); break;
		case TP_M: put_num(b, c->month, 1); break;
		case TP_DDDD: put_num(b, c->yday, 3); break;
		case TP_DDD: put_num(b, c->yday, 1); break;
		case TP_DD: put_num(b, c->day, 2); break;
		case TP_D: put_num(b, c->day, 1); break;
		case TP_e:
			if (c->day < 10)
				jlog__buf_putc(b, ' ');
			put_num(b, c->day, 1);
			break;
		case TP_dddd: put_str(b, day_names[c->wday]); break;
		case TP_ddd: put(b, day_names[c->wday], 3); break;
		case TP_d: put_num(b, c->wday, 1); break;
		case TP_E: put_num(b, c->wday + 1, 1); break;
		case TP_w: put_num(b, (c->wday + 1) % 7, 1); break;
		case TP_HH: put_num(b, c->hour, 2); break;
		case TP_H: put_num(b, c->hour, 1); break;
		case TP_hh: put_num(b, h12, 2); break;
		case TP_h: put_num(b, h12, 1); break;
		case TP_mm: put_num(b, c->min, 2); break;
		case TP_m: put_num(b, c->min, 1); break;
		case TP_ss: put_num(b, c->s, 2); break;
		case TP_s: put_num(b, c->s, 1); break;
		case TP_FRAC: {
			static const unsigned div[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
			put_num(b, us / div[tp->len], tp->len);
			break;
		}
		case TP_A: put_str(b, c->hour < 12 ? "AM" : "PM"); break;
		case TP_Z:
		case TP_ZZ:
			put(b, zone, jlog__fmt_offset(zone, z ? z->off : 0, tp->kind == TP_Z));
			break;
		case TP_zz: put_str(b, z ? z->abbr : "UTC"); break;
		case TP_X: put_num(b, sec, 1); break;
		case TP_x: put_num(b, time_ns / 1000u, 1); break;
		default: break;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Levels                                                                   */
/* ------------------------------------------------------------------------ */


static bool tag_sgr(const char *p, size_t n, char *out, size_t cap);

/*
 * Level color markup (jlog_level_add): opening tags only, blanks around
 * them allowed ("<magenta><bold>", "<fg #ff8000>"), each one a tag that
 * tag_sgr() knows, as in a template. Appends their SGR codes to @b unless
 * it is NULL. Returns NULL when the whole markup is good, else where it
 * goes wrong, with *bad_len the length of that part (to its '>', or the
 * rest). jlog__color_check() and put_level_sgr() are its two callers.
 */
static const char *color_walk(const char *m, struct jlog__buf *b, size_t *bad_len)
{
	for (const char *p = m;; ) {
		p += strspn(p, " \t");
		if (!*p)
			return NULL;
		const char *end = *p == '<' ? strchr(p, '>') : NULL;
		*bad_len = end ? (size_t)(end + 1 - p) : strlen(p);
		char code[64];
		if (!end || !tag_sgr(p + 1, (size_t)(end - p - 1), code, sizeof(code)))
			return p;
		if (b)
			put_str(b, code);
		p = end + 1;
	}
}

bool jlog__color_check(const char *markup, char *why, size_t whylen)
{
	size_t n = 0;
	const char *bad = markup ? color_walk(markup, NULL, &n) : NULL;
	if (!bad)
		return true;
	if (*bad != '<')
		snprintf(why, whylen, "\"%.*s\" is not a tag such as <red> or <bold>", (int)n,
		         bad);
	else if (bad[n - 1] != '>')
		snprintf(why, whylen, "tag %.*s has no closing '>'", (int)n, bad);
	else if (bad[1] == '/')
		snprintf(why, whylen, "closing tag %.*s (a level color is opening tags only)",
		         (int)n, bad);
	else
		snprintf(why, whylen, "unknown tag %.*s", (int)n, bad);
	return false;
}

/* The SGR codes of a level's color: loguru's for its seven levels, the
 * markup given to jlog_level_add() ("<magenta><bold>") for a custom one,
 * which it checked. Returns whether anything was written. */
static bool put_level_sgr(struct jlog__buf *b, int level)
{
	const struct jlog__level_row *r = jlog__level_row(level);
	if (r) {
		put_str(b, r->sgr);
		return true;
	}
	size_t len = b->len, bad_len;
	(void)color_walk(jlog__level_color(level), b, &bad_len);
	return b->len != len;
}

const char *jlog__level_icon(int level)
{
	const struct jlog__level_row *r = jlog__level_row(level);
	return r ? r->icon : " ";
}

/* ------------------------------------------------------------------------ */
/* Per-thread scratch: the record's fields, decoded once                    */
/* ------------------------------------------------------------------------ */

/*
 * Keys are compared in a canonical form: the body of the JSON string the
 * key prints as (invalid UTF-8 replaced, escapes applied), so that two
 * keys that look the same in the output count as the same key.
 */

struct scratch {
	struct jlog__buf keys;
	struct jlog__buf tmp; /* a field rendered before padding */
	struct jlog__key_ent *ent;
	size_t ent_cap;
	uint32_t *table;
	size_t table_cap;
};

/* This thread's scratch; the pthread key only frees it at thread exit. */
static _Thread_local struct scratch *tls_scratch;

static void scratch_free(void *p)
{
	struct scratch *s = p;
	jlog__buf_finish(&s->keys);
	jlog__buf_finish(&s->tmp);
	free(s->ent);
	free(s->table);
	free(s);
	tls_scratch = NULL;
}

/* keys.p is never NULL, even when every key is empty. */
static bool scratch_init(void *p)
{
	struct scratch *s = p;
	return jlog__buf_grow(&s->keys, 1);
}

static struct jlog__tls_slot scratch_slot =
	JLOG__TLS_SLOT_INIT(sizeof(struct scratch), scratch_init, scratch_free);

static struct scratch *scratch_get(void)
{
	if (tls_scratch)
		return tls_scratch;
	return tls_scratch = jlog__tls_slot_get(&scratch_slot);
}

/* Decode the fields and mark every one a later field overrides. */
static bool collect_fields(struct scratch *s, const struct jlog__rec_view *v, size_t *count)
{
	const uint8_t *cur = v->fields;
	size_t n = 0;

	s->keys.len = 0;
	s->keys.failed = false;
	while (n < v->nfields) {
		if (n == s->ent_cap && !jlog__key_ents_grow(&s->ent, &s->ent_cap))
			return false;
		struct jlog__key_ent *e = &s->ent[n];
		if (!jlog__field_next(v, &cur, &e->f))
			break;
		n++;
		e->off = s->keys.len;
		put_text(&s->keys, e->f.key, e->f.key_len, true, SIZE_MAX, NULL);
		e->len = s->keys.len - e->off;
		e->skip = false;
	}
	*count = n;
	if (s->keys.failed)
		return false;

	return jlog__mark_duplicate_keys(s->keys.p, s->ent, n, &s->table, &s->table_cap);
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

static void put_double_text(struct jlog__buf *b, double d)
{
	if (isnan(d)) {
		jlog__buf_lit(b, "nan");
	} else if (isinf(d)) {
		if (d < 0)
			jlog__buf_putc(b, '-');
		jlog__buf_lit(b, "inf");
	} else {
		jlog__json_double(b, d);
	}
}

static bool is_number(const struct jlog__field_view *f)
{
	return f->type == JLOG__T_INT || f->type == JLOG__T_UINT || f->type == JLOG__T_DOUBLE;
}

/*
 * A value in text: strings plain (or @quoted as a JSON string), numbers,
 * true/false/null, JSON values as their compact text. @limit applies to
 * strings and JSON text.
 */
static void put_value_text(struct jlog__buf *b, const struct jlog__field_view *f,
                           bool quoted, size_t limit)
{
	bool cut = false;
	switch (f->type) {
	case JLOG__T_STR:
		if (quoted)
			jlog__buf_putc(b, '"');
		if (put_text(b, f->v.s, f->val_len, quoted, limit, &cut) < limit && !cut &&
		    (f->flags & JLOG__FIELD_TRUNCATED))
			jlog__buf_lit(b, "\xe2\x80\xa6");
		if (quoted)
			jlog__buf_putc(b, '"');
		break;
	case JLOG__T_JSON:
		put_text(b, f->v.s, f->val_len, false, limit, NULL);
		break;
	case JLOG__T_INT:
		jlog__json_int(b, f->v.i);
		break;
	case JLOG__T_UINT:
		jlog__json_uint(b, f->v.u);
		break;
	case JLOG__T_DOUBLE:
		put_double_text(b, f->v.d);
		break;
	case JLOG__T_BOOL:
		if (f->v.b)
			jlog__buf_lit(b, "true");
		else
			jlog__buf_lit(b, "false");
		break;
	default:
		jlog__buf_lit(b, "null");
		break;
	}
}

/* {extra}: the winning fields as one JSON object. */
static void put_extra_json(struct jlog__buf *b, const struct scratch *s, size_t n)
{
	bool first = true;
	jlog__buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		const struct jlog__key_ent *e = &s->ent[i];
		if (e->skip)
			continue;
		if (!first)
			jlog__buf_putc(b, ',');
		first = false;
		jlog__buf_putc(b, '"');
		put(b, s->keys.p + e->off, e->len);
		jlog__buf_lit(b, "\":");
		if (e->f.type == JLOG__T_DOUBLE && !isfinite(e->f.v.d))
			jlog__buf_lit(b, "null");
		else
			put_value_text(b, &e->f, e->f.type == JLOG__T_STR, SIZE_MAX);
	}
	jlog__buf_putc(b, '}');
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                               */
/* ------------------------------------------------------------------------ */

struct fmt {
	const struct jlog__rec_view *v;
	const struct jlog__line_ctx *ctx;
	const struct jlog__template *t;
	struct scratch *s;
	size_t nfields;
};

/* Base name of the file without its extension (Python's splitext: a
 * leading dot does not start an extension). */
#define UNKNOWN_FILE "(unknown file)"
#define UNKNOWN_FUNCTION "(unknown function)"

static void module_of(const char *file, const char **m, size_t *n)
{
	*m = file ? file : UNKNOWN_FILE;
	*n = strlen(*m);
	const char *dot = strrchr(*m, '.');
	if (!dot)
		return;
	for (const char *p = *m; p < dot; p++) {
		if (*p != '.') {
			*n = (size_t)(dot - *m);
			return;
		}
	}
}

static const struct jlog__key_ent *find_key(const struct fmt *x, const char *key, size_t len)
{
	if (!x->s)
		return NULL;
	/* The last occurrence is the one that wins. */
	for (size_t i = x->nfields; i-- > 0;) {
		const struct jlog__key_ent *e = &x->s->ent[i];
		if (e->len == len && memcmp(x->s->keys.p + e->off, key, len) == 0)
			return e;
	}
	return NULL;
}

/* Append a field's text (before alignment); @limit is its precision. */
static void render(struct jlog__buf *o, const struct op *op, const struct fmt *x, size_t limit)
{
	const struct jlog__rec_view *v = x->v;
	const char *str = NULL;
	size_t len = 0;
	bool cut;
	char name[16];

	switch (op->field) {
	case F_TIME:
		put_time(o, x->t, op, v->time_ns);
		return;
	case F_LEVEL:
		str = jlog__level_name(v->level);
		if (!str) {
			jlog__json_int(o, v->level);
			return;
		}
		len = strlen(str);
		break;
	case F_LEVEL_NO:
		jlog__json_int(o, v->level);
		return;
	case F_LEVEL_ICON:
		str = jlog__level_icon(v->level);
		len = strlen(str);
		break;
	case F_NAME:
		if (v->name_len) {
			str = v->name;
			len = v->name_len;
		} else {
			module_of(v->file, &str, &len);
		}
		break;
	case F_MODULE:
		module_of(v->file, &str, &len);
		break;
	case F_FILE:
		str = v->file ? v->file : UNKNOWN_FILE;
		len = strlen(str);
		break;
	case F_FUNCTION:
		str = v->function ? v->function : UNKNOWN_FUNCTION;
		len = strlen(str);
		break;
	case F_LINE:
		jlog__json_int(o, v->line > 0 ? v->line : 0);
		return;
	case F_THREAD:
		jlog__json_uint(o, v->tid);
		return;
	case F_THREAD_NAME:
		len = jlog__thread_name(v->tid, name);
		if (len == 0) {
			jlog__json_uint(o, v->tid);
			return;
		}
		str = name;
		break;
	case F_PROCESS:
	case F_PROCESS_NAME:
		jlog__json_int(o, x->ctx ? x->ctx->pid : 0);
		return;
	case F_MESSAGE:
		if (put_text(o, v->msg, v->msg_len, false, limit, &cut) < limit && !cut &&
		    (v->flags & JLOG__REC_MSG_TRUNCATED))
			jlog__buf_lit(o, "\xe2\x80\xa6");
		return;
	case F_EXTRA:
		if (x->s)
			put_extra_json(o, x->s, x->nfields);
		else
			jlog__buf_lit(o, "{}");
		return;
	case F_EXTRA_KEY: {
		const struct jlog__key_ent *e = find_key(x, x->t->pool.p + op->off, op->len);
		if (e)
			put_value_text(o, &e->f, false, limit);
		return;
	}
	default: /* F_EXCEPTION */
		return;
	}
	put_text(o, str, len, false, limit, NULL);
}

static void put_fill(struct jlog__buf *b, const struct op *op, size_t k)
{
	while (k--)
		put(b, op->fill, op->fill_len);
}

static void format_field(struct jlog__buf *b, const struct op *op, const struct fmt *x)
{
	size_t limit = op->prec == NO_PREC ? SIZE_MAX : op->prec;
	if (!op->width) {
		render(b, op, x, limit);
		return;
	}

	struct jlog__buf *tmp = &x->s->tmp;
	tmp->len = 0;
	tmp->failed = false;
	render(tmp, op, x, limit);
	if (tmp->failed) {
		b->failed = true;
		return;
	}
	size_t cps = count_cps(tmp->p ? tmp->p : "", tmp->len);
	size_t pad = cps < op->width ? op->width - cps : 0;
	int align = op->align;
	if (!align) {
		bool num = op->vkind == K_INT;
		if (op->vkind == K_ANY) {
			const struct jlog__key_ent *e = find_key(x, x->t->pool.p + op->off, op->len);
			num = e && is_number(&e->f);
		}
		align = num ? '>' : '<';
	}
	size_t left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
	put_fill(b, op, left);
	put(b, tmp->p, tmp->len);
	put_fill(b, op, pad - left);
}

static bool key_referenced(const struct jlog__template *t, const struct scratch *s,
                           const struct jlog__key_ent *e)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].len == e->len &&
		    memcmp(t->pool.p + t->keys[i].off, s->keys.p + e->off, e->len) == 0)
			return true;
	return false;
}

/* The fields the template does not show, as " key=value". */
static void put_pairs(struct jlog__buf *b, const struct fmt *x)
{
	const struct scratch *s = x->s;
	for (size_t i = 0; i < x->nfields; i++) {
		const struct jlog__key_ent *e = &s->ent[i];
		if (e->skip || key_referenced(x->t, s, e))
			continue;
		jlog__buf_putc(b, ' ');
		if (needs_quotes(e->f.key, e->f.key_len)) {
			jlog__buf_putc(b, '"');
			put(b, s->keys.p + e->off, e->len);
			jlog__buf_putc(b, '"');
		} else {
			put_text(b, e->f.key, e->f.key_len, false, SIZE_MAX, NULL);
		}
		jlog__buf_putc(b, '=');
		bool q = e->f.type == JLOG__T_STR && needs_quotes(e->f.v.s, e->f.val_len);
		put_value_text(b, &e->f, q, SIZE_MAX);
	}
}

void jlog__format_text(struct jlog__buf *b, const struct jlog__rec_view *v,
                       const struct jlog__line_ctx *ctx, const struct jlog__template *t,
                       bool color)
{
	struct fmt x = {v, ctx, t, NULL, 0};

	x.s = scratch_get();
	if (!x.s) {
		b->failed = true;
		return;
	}
	if (v->nfields && v->fields && !collect_fields(x.s, v, &x.nfields)) {
		b->failed = true;
		return;
	}

	bool open = false; /* an SGR code is in effect */
	for (size_t i = 0; i < t->nops; i++) {
		const struct op *op = &t->ops[i];
		switch (op->kind) {
		case OP_TEXT:
			put(b, t->pool.p + op->off, op->len);
			break;
		case OP_SGR:
			if (color) {
				put(b, t->pool.p + op->off, op->len);
				open = !op->reset;
			}
			break;
		case OP_LEVEL:
			if (color)
				open |= put_level_sgr(b, v->level);
			break;
		default:
			format_field(b, op, &x);
			break;
		}
	}
	if (open)
		jlog__buf_lit(b, "\x1b[0m");

	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, " truncated=true");
	if (v->dropped) {
		jlog__buf_lit(b, " dropped=");
		jlog__json_uint(b, v->dropped);
	}
	if (!t->has_extra && x.nfields)
		put_pairs(b, &x);
	jlog__buf_putc(b, '\n');
}

/* ------------------------------------------------------------------------ */
/* Compiler                                                                 */
/* ------------------------------------------------------------------------ */

struct open_tag {
	size_t pos;        /* of '<' in the template */
	size_t name, nlen; /* the tag's name in the template */
	struct op op;      /* what re-applies it */
};

struct comp {
	struct jlog__template *t;
	const char *s;
	size_t n;
	char *err;
	size_t errlen;
	struct open_tag stack[MAX_DEPTH];
	size_t depth;
};

/* 1-based column of byte @pos, in code points (the template is valid
 * UTF-8 by the time this is called). */
static unsigned column(const struct comp *c, size_t pos)
{
	return (unsigned)count_cps(c->s, pos) + 1;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct comp *c, size_t pos, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		va_list ap;
		int k = snprintf(c->err, c->errlen, "format: ");
		size_t used = k > 0 ? (size_t)k : 0;
		if (used < c->errlen) {
			va_start(ap, fmt);
			k = vsnprintf(c->err + used, c->errlen - used, fmt, ap);
			va_end(ap);
			used += k > 0 ? (size_t)k : 0;
		}
		if (used < c->errlen)
			snprintf(c->err + used, c->errlen - used, " at column %u", column(c, pos));
	}
	return -EINVAL;
}

static int nomem(struct comp *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "format: out of memory");
	return -ENOMEM;
}

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? 2 * *cap : 16;
	void *q = realloc(*p, ncap * size);
	if (!q)
		return false;
	*p = q;
	*cap = ncap;
	return true;
}

static struct op *add_op(struct comp *c, int kind)
{
	struct jlog__template *t = c->t;
	if (!grow((void **)&t->ops, &t->ops_cap, t->nops, sizeof(*t->ops)))
		return NULL;
	struct op *op = &t->ops[t->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = (uint8_t)kind;
	op->prec = NO_PREC;
	return op;
}

/* Append to the pool; returns false when out of memory. */
static bool pool_put(struct comp *c, const void *p, size_t n, uint32_t *off)
{
	*off = (uint32_t)c->t->pool.len;
	put(&c->t->pool, p, n);
	return !c->t->pool.failed;
}

/* Literal text, merged with the literal op before it when adjacent. */
static int add_text(struct comp *c, const char *p, size_t n)
{
	struct jlog__template *t = c->t;
	if (n == 0)
		return 0;
	struct op *last = t->nops ? &t->ops[t->nops - 1] : NULL;
	if (last && last->kind == OP_TEXT && last->off + last->len == t->pool.len) {
		uint32_t off;
		if (!pool_put(c, p, n, &off))
			return nomem(c);
		last->len += (uint32_t)n;
		return 0;
	}
	struct op *op = add_op(c, OP_TEXT);
	if (!op || !pool_put(c, p, n, &op->off))
		return nomem(c);
	op->len = (uint32_t)n;
	return 0;
}

static int add_sgr(struct comp *c, const char *sgr, bool reset, struct op *copy)
{
	struct op *op = add_op(c, OP_SGR);
	if (!op || !pool_put(c, sgr, strlen(sgr), &op->off))
		return nomem(c);
	op->len = (uint32_t)strlen(sgr);
	op->reset = reset;
	if (copy)
		*copy = *op;
	return 0;
}

/* --- Markup --------------------------------------------------------------- */

static const struct {
	const char *name;
	int code;
} tag_codes[] = {
	{"b", 1}, {"d", 2}, {"n", 22}, {"h", 8}, {"i", 3}, {"l", 5}, {"s", 9}, {"u", 4},
	{"v", 7}, {"bold", 1}, {"dim", 2}, {"normal", 22}, {"hide", 8}, {"italic", 3},
	{"blink", 5}, {"strike", 9}, {"underline", 4}, {"reverse", 7},

	{"k", 30}, {"r", 31}, {"g", 32}, {"y", 33}, {"e", 34}, {"m", 35}, {"c", 36},
	{"w", 37}, {"lk", 90}, {"lr", 91}, {"lg", 92}, {"ly", 93}, {"le", 94},
	{"lm", 95}, {"lc", 96}, {"lw", 97}, {"black", 30}, {"red", 31}, {"green", 32},
	{"yellow", 33}, {"blue", 34}, {"magenta", 35}, {"cyan", 36}, {"white", 37},
	{"light-black", 90}, {"light-red", 91}, {"light-green", 92},
	{"light-yellow", 93}, {"light-blue", 94}, {"light-magenta", 95},
	{"light-cyan", 96}, {"light-white", 97},

	{"K", 40}, {"R", 41}, {"G", 42}, {"Y", 43}, {"E", 44}, {"M", 45}, {"C", 46},
	{"W", 47}, {"LK", 100}, {"LR", 101}, {"LG", 102}, {"LY", 103}, {"LE", 104},
	{"LM", 105}, {"LC", 106}, {"LW", 107}, {"BLACK", 40}, {"RED", 41},
	{"GREEN", 42}, {"YELLOW", 43}, {"BLUE", 44}, {"MAGENTA", 45}, {"CYAN", 46},
	{"WHITE", 47}, {"LIGHT-BLACK", 100}, {"LIGHT-RED", 101}, {"LIGHT-GREEN", 102},
	{"LIGHT-YELLOW", 103}, {"LIGHT-BLUE", 104}, {"LIGHT-MAGENTA", 105},
	{"LIGHT-CYAN", 106}, {"LIGHT-WHITE", 107},
};

static int tag_code(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof(tag_codes) / sizeof(tag_codes[0]); i++)
		if (strlen(tag_codes[i].name) == n && memcmp(tag_codes[i].name, p, n) == 0)
			return tag_codes[i].code;
	return -1;
}

/* A decimal 0..255 made only of digits; -1 otherwise. */
static int byte_value(const char *p, size_t n)
{
	if (n == 0 || n > 3)
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 255 ? v : -1;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * The SGR sequence of a tag name (without '<', '>'), into @out (at least
 * 64 bytes). Returns false for an unknown tag. Names as loguru's: styles,
 * colors (lower case foreground, upper case background, short forms),
 * and "fg X" / "bg X" with X a color name, 0-255, #rgb, #rrggbb or r,g,b.
 */
static bool tag_sgr(const char *p, size_t n, char *out, size_t cap)
{
	int code = tag_code(p, n);
	if (code >= 0) {
		snprintf(out, cap, "\x1b[%dm", code);
		return true;
	}
	if (n < 4 || (p[0] != 'f' && p[0] != 'b') || p[1] != 'g' || (p[2] != ' ' && p[2] != '\t'))
		return false;
	bool fg = p[0] == 'f';
	const char *col = p + 3;
	size_t cn = n - 3;
	char name[32];
	if (cn < sizeof(name)) {
		/* Names are looked up in lower case for fg, upper for bg. */
		for (size_t i = 0; i < cn; i++) {
			char ch = col[i];
			if (fg && ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			else if (!fg && ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 'a' + 'A');
			name[i] = ch;
		}
		code = tag_code(name, cn);
		if (fg ? (code >= 30 && code < 40) || (code >= 90 && code < 100)
		       : (code >= 40 && code < 50) || code >= 100) {
			snprintf(out, cap, "\x1b[%dm", code);
			return true;
		}
	}
	int base = fg ? 38 : 48;
	int v = byte_value(col, cn);
	if (v >= 0) {
		snprintf(out, cap, "\x1b[%d;5;%dm", base, v);
		return true;
	}
	if (col[0] == '#' && (cn == 4 || cn == 7)) {
		int rgb[3];
		for (int i = 0; i < 3; i++) {
			int hi, lo;
			if (cn == 4) {
				hi = lo = hexval(col[1 + i]);
			} else {
				hi = hexval(col[1 + 2 * i]);
				lo = hexval(col[2 + 2 * i]);
			}
			if (hi < 0 || lo < 0)
				return false;
			rgb[i] = hi * 16 + lo;
		}
		snprintf(out, cap, "\x1b[%d;2;%d;%d;%dm", base, rgb[0], rgb[1], rgb[2]);
		return true;
	}
	const char *c1 = memchr(col, ',', cn);
	const char *c2 = c1 ? memchr(c1 + 1, ',', (size_t)(col + cn - c1 - 1)) : NULL;
	if (c2 && !memchr(c2 + 1, ',', (size_t)(col + cn - c2 - 1))) {
		int r = byte_value(col, (size_t)(c1 - col));
		int g = byte_value(c1 + 1, (size_t)(c2 - c1 - 1));
		int bl = byte_value(c2 + 1, (size_t)(col + cn - c2 - 1));
		if (r >= 0 && g >= 0 && bl >= 0) {
			snprintf(out, cap, "\x1b[%d;2;%d;%d;%dm", base, r, g, bl);
			return true;
		}
	}
	return false;
}

/* Length of the markup tag at @i ('<'), following loguru's pattern
 * </?([fb]g\s)?[^<>\s]*> (and no braces); 0 if there is none. */
static size_t tag_at(const struct comp *c, size_t i)
{
	const char *s = c->s;
	size_t j = i + 1;
	if (j < c->n && s[j] == '/')
		j++;
	if (j + 2 < c->n && (s[j] == 'f' || s[j] == 'b') && s[j + 1] == 'g' &&
	    (s[j + 2] == ' ' || s[j + 2] == '\t'))
		j += 3;
	while (j < c->n && !strchr("<> \t{}", s[j]))
		j++;
	return j < c->n && s[j] == '>' ? j + 1 - i : 0;
}

static int open_tag(struct comp *c, size_t pos, size_t len)
{
	const char *name = c->s + pos + 1;
	size_t nlen = len - 2;
	if (c->depth == MAX_DEPTH)
		return fail(c, pos, "tags nested too deeply");
	struct open_tag *ot = &c->stack[c->depth];
	if ((nlen == 5 && memcmp(name, "level", 5) == 0) ||
	    (nlen == 3 && memcmp(name, "lvl", 3) == 0)) {
		struct op *op = add_op(c, OP_LEVEL);
		if (!op)
			return nomem(c);
		ot->op = *op;
	} else {
		char sgr[64];
		if (!tag_sgr(name, nlen, sgr, sizeof(sgr)))
			return fail(c, pos, "unknown tag %.*s", (int)len, c->s + pos);
		int r = add_sgr(c, sgr, false, &ot->op);
		if (r)
			return r;
	}
	ot->pos = pos;
	ot->name = pos + 1;
	ot->nlen = nlen;
	c->depth++;
	return 0;
}

/* A closing tag resets everything, then re-applies what is still open
 * (as loguru does). */
static int close_tag(struct comp *c, size_t pos, size_t len)
{
	const char *name = c->s + pos + 2;
	size_t nlen = len - 3;
	const struct open_tag *top = c->depth ? &c->stack[c->depth - 1] : NULL;
	if (!top || (nlen && (nlen != top->nlen || memcmp(name, c->s + top->name, nlen)))) {
		for (size_t i = 0; nlen && i < c->depth; i++)
			if (c->stack[i].nlen == nlen && !memcmp(name, c->s + c->stack[i].name, nlen))
				return fail(c, pos, "closing tag %.*s does not match <%.*s>",
				            (int)len, c->s + pos, (int)top->nlen, c->s + top->name);
		return fail(c, pos, "closing tag %.*s has no opening tag", (int)len, c->s + pos);
	}
	c->depth--;
	int r = add_sgr(c, "\x1b[0m", true, NULL);
	for (size_t i = 0; !r && i < c->depth; i++) {
		struct op *op = add_op(c, OP_TEXT);
		if (!op)
			return nomem(c);
		*op = c->stack[i].op;
	}
	return r;
}

/* --- Time formats --------------------------------------------------------- */

static int add_tpart(struct comp *c, int kind, uint32_t off, uint32_t len)
{
	struct jlog__template *t = c->t;
	if (!grow((void **)&t->tparts, &t->tparts_cap, t->ntparts, sizeof(*t->tparts)))
		return nomem(c);
	struct tpart *tp = &t->tparts[t->ntparts++];
	tp->kind = (uint8_t)kind;
	tp->off = off;
	tp->len = len;
	return 0;
}

static int add_tlit(struct comp *c, const char *p, size_t n)
{
	struct jlog__template *t = c->t;
	if (n == 0)
		return 0;
	struct tpart *last = t->ntparts ? &t->tparts[t->ntparts - 1] : NULL;
	uint32_t off;
	if (!pool_put(c, p, n, &off))
		return nomem(c);
	/* Only merge with a part of this same time field. */
	if (last && last->kind == TP_LIT && last->off + last->len == off &&
	    c->t->nops && t->ntparts > c->t->ops[c->t->nops - 1].tfirst) {
		last->len += (uint32_t)n;
		return 0;
	}
	return add_tpart(c, TP_LIT, off, (uint32_t)n);
}

/*
 * A loguru token made of @r repetitions of @ch (exactly @r when @exact,
 * else the longest prefix the pattern takes). Returns the part kind and
 * sets *len, or -1.
 */
static int time_token(char ch, size_t r, bool exact, size_t *len)
{
	size_t max;
	int k;
	switch (ch) {
	case 'H': max = 2; k = r >= 2 ? TP_HH : TP_H; break;
	case 'h': max = 2; k = r >= 2 ? TP_hh : TP_h; break;
	case 'm': max = 2; k = r >= 2 ? TP_mm : TP_m; break;
	case 's': max = 2; k = r >= 2 ? TP_ss : TP_s; break;
	case 'S': max = SIZE_MAX; k = TP_FRAC; break;
	case 'Y':
		if (r < 2 || (exact && r != 2 && r != 4))
			return -1;
		*len = r >= 4 ? 4 : 2;
		return r >= 4 ? TP_YYYY : TP_YY;
	case 'M':
		max = 4;
		k = r >= 4 ? TP_MMMM : r == 3 ? TP_MMM : r == 2 ? TP_MM : TP_M;
		break;
	case 'D':
		max = 4;
		k = r >= 4 ? TP_DDDD : r == 3 ? TP_DDD : r == 2 ? TP_DD : TP_D;
		break;
	case 'Z': max = 2; k = r >= 2 ? TP_ZZ : TP_Z; break;
	case 'z':
		if (r < 2 || (exact && r != 2))
			return -1;
		*len = 2;
		return TP_zz;
	case 'A': max = 1; k = TP_A; break;
	case 'X': max = 1; k = TP_X; break;
	case 'x': max = 1; k = TP_x; break;
	case 'E': max = 1; k = TP_E; break;
	case 'Q': max = 1; k = TP_Q; break;
	case 'd':
		if (exact && (r == 2 || r > 4))
			return -1;
		*len = r >= 4 ? 4 : r == 3 ? 3 : 1;
		return r >= 4 ? TP_dddd : r == 3 ? TP_ddd : TP_d;
	default:
		return -1;
	}
	if (exact && r > max)
		return -1;
	*len = r < max ? r : max;
	return k;
}

/* loguru's token language; @spec has no "!UTC" suffix. */
static int compile_tokens(struct comp *c, const char *spec, size_t n)
{
	size_t lit = 0, i = 0;
	int r;
	while (i < n) {
		char ch = spec[i];
		size_t run = 1, len;
		while (i + run < n && spec[i + run] == ch)
			run++;
		int k = time_token(ch, run, false, &len);
		if (k >= 0) {
			if ((r = add_tlit(c, spec + lit, i - lit)) != 0 ||
			    (r = add_tpart(c, k, 0, k == TP_FRAC ? (uint32_t)len : 0)) != 0)
				return r;
			i += len;
			lit = i;
			continue;
		}
		if (ch == '[') {
			/* "[TOKEN]", "[!UTC]" and "[]" print their content. */
			size_t j = i + 1, clen = 0;
			if (j < n && spec[j] == ']') {
				clen = 0;
			} else if (n - j >= 5 && memcmp(spec + j, "!UTC]", 5) == 0) {
				clen = 4;
			} else if (j < n) {
				size_t rr = 1;
				while (j + rr < n && spec[j + rr] == spec[j])
					rr++;
				if (j + rr < n && spec[j + rr] == ']' &&
				    time_token(spec[j], rr, true, &len) >= 0)
					clen = rr;
				else
					clen = SIZE_MAX;
			} else {
				clen = SIZE_MAX;
			}
			if (clen != SIZE_MAX) {
				if ((r = add_tlit(c, spec + lit, i - lit)) != 0 ||
				    (r = add_tlit(c, spec + j, clen)) != 0)
					return r;
				i = j + clen + 1;
				lit = i;
				continue;
			}
		}
		i++;
	}
	return add_tlit(c, spec + lit, n - lit);
}

/* A strftime format (English names, UTC). */
static int compile_strftime(struct comp *c, const char *spec, size_t n, size_t pos)
{
	static const struct {
		char d;
		const char *parts; /* kinds, or a format to expand */
		int kind;
	} dirs[] = {
		{'Y', NULL, TP_YYYY}, {'y', NULL, TP_YY}, {'m', NULL, TP_MM},
		{'d', NULL, TP_DD}, {'e', NULL, TP_e}, {'H', NULL, TP_HH},
		{'I', NULL, TP_hh}, {'M', NULL, TP_mm}, {'S', NULL, TP_ss},
		{'f', NULL, TP_FRAC}, {'p', NULL, TP_A}, {'j', NULL, TP_DDDD},
		{'a', NULL, TP_ddd}, {'A', NULL, TP_dddd}, {'b', NULL, TP_MMM},
		{'h', NULL, TP_MMM}, {'B', NULL, TP_MMMM}, {'z', NULL, TP_ZZ},
		{'Z', NULL, TP_zz}, {'u', NULL, TP_E}, {'w', NULL, TP_w},
		{'s', NULL, TP_X}, {'F', "%Y-%m-%d", 0}, {'T', "%H:%M:%S", 0},
		{'R', "%H:%M", 0}, {'D', "%m/%d/%y", 0},
	};
	size_t lit = 0;
	int r;
	for (size_t i = 0; i < n; i++) {
		if (spec[i] != '%')
			continue;
		if ((r = add_tlit(c, spec + lit, i - lit)) != 0)
			return r;
		if (i + 1 == n)
			return fail(c, pos, "bad time format {time:%.*s} (lone '%%' at the end)",
			            (int)n, spec);
		char d = spec[++i];
		lit = i + 1;
		if (d == '%') {
			if ((r = add_tlit(c, "%", 1)) != 0)
				return r;
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++)
			if (dirs[k].d == d)
				break;
		if (k == sizeof(dirs) / sizeof(dirs[0]))
			return fail(c, pos, "bad time format {time:%.*s} (unsupported directive %%%c)",
			            (int)n, spec, d);
		if (dirs[k].parts)
			r = compile_strftime(c, dirs[k].parts, strlen(dirs[k].parts), pos);
		else
			r = add_tpart(c, dirs[k].kind, 0, dirs[k].kind == TP_FRAC ? 6 : 0);
		if (r)
			return r;
	}
	return add_tlit(c, spec + lit, n - lit);
}

static int compile_time(struct comp *c, struct op *op_in, const char *spec, size_t n,
                        size_t pos)
{
	size_t idx = (size_t)(op_in - c->t->ops);
	uint32_t first = (uint32_t)c->t->ntparts;
	int r;

	if (n >= 4 && memcmp(spec + n - 4, "!UTC", 4) == 0) {
		n -= 4;
		c->t->ops[idx].utc = 1;
	}
	if (n == 0) {
		spec = "%Y-%m-%dT%H:%M:%S.%f%z";
		n = strlen(spec);
	}
	c->t->ops[idx].tfirst = first;
	if (memchr(spec, '%', n)) {
		r = compile_strftime(c, spec, n, pos);
	} else {
		for (size_t i = 0, run = 0; i < n; i++) {
			run = spec[i] == 'S' ? run + 1 : 0;
			if (run > 6)
				return fail(c, pos, "bad time format {time:%.*s} (more than six 'S')",
				            (int)n, spec);
		}
		r = compile_tokens(c, spec, n);
	}
	c->t->ops[idx].tcount = (uint32_t)c->t->ntparts - first;
	return r;
}

/* --- Fields ----------------------------------------------------------------- */

/*
 * Python's format spec, the subset that makes sense here:
 * [[fill]align][0][width][.precision][type] with align one of < > ^ =,
 * type 's' for strings and 'd' for integers.
 */
static int parse_spec(struct comp *c, struct op *op, const char *sp, size_t n, size_t pos,
                      const char *fname, size_t fnlen)
{
	size_t i = 0;
	const char *why = NULL;
	op->fill[0] = ' ';
	op->fill_len = 1;

	/* The fill is any one code point before an alignment character. */
	size_t cl = 1;
	while (cl < n && ((unsigned char)sp[cl] & 0xc0) == 0x80)
		cl++;
	if (cl < n && strchr("<>^=", sp[cl]) && cl <= 4) {
		memcpy(op->fill, sp, cl);
		op->fill_len = (uint8_t)cl;
		op->align = (uint8_t)sp[cl];
		i = cl + 1;
	} else if (n && strchr("<>^=", sp[0])) {
		op->align = (uint8_t)sp[0];
		i = 1;
	}
	if (op->align == '=') {
		if (op->vkind == K_STR) {
			why = "'=' alignment not allowed for a string";
			goto bad;
		}
		op->align = '>';
	}
	if (i < n && sp[i] == '0') {
		if (!op->align) {
			op->fill[0] = '0';
			op->fill_len = 1;
			if (op->vkind == K_INT)
				op->align = '>';
		}
		i++;
	}
	uint64_t w = 0;
	bool digits = false;
	while (i < n && sp[i] >= '0' && sp[i] <= '9') {
		w = w * 10 + (uint64_t)(sp[i++] - '0');
		digits = true;
		if (w > MAX_WIDTH) {
			why = "width above 1024";
			goto bad;
		}
	}
	op->width = digits ? (uint32_t)w : 0;
	if (i < n && sp[i] == '.') {
		uint64_t p = 0;
		digits = false;
		i++;
		while (i < n && sp[i] >= '0' && sp[i] <= '9') {
			p = p * 10 + (uint64_t)(sp[i++] - '0');
			digits = true;
			if (p > 1000000)
				p = 1000000;
		}
		if (!digits) {
			why = "no digits after '.'";
			goto bad;
		}
		if (op->vkind == K_INT) {
			why = "precision not allowed for an integer";
			goto bad;
		}
		if (op->field == F_EXTRA) {
			why = "precision not allowed for {extra}";
			goto bad;
		}
		op->prec = (uint32_t)p;
	}
	if (i < n && (sp[i] == 's' || sp[i] == 'd')) {
		if ((sp[i] == 's') != (op->vkind != K_INT) || (sp[i] == 'd' && op->vkind == K_ANY)) {
			why = sp[i] == 's' ? "type 's' for an integer" : "type 'd' for a string";
			goto bad;
		}
		i++;
	}
	if (i == n)
		return 0;
	why = "unexpected characters";
bad:
	return fail(c, pos, "bad format spec ':%.*s' in {%.*s} (%s)", (int)n, sp, (int)fnlen,
	            fname, why);
}

static int add_key(struct comp *c, struct op *op, const char *key, size_t n)
{
	struct jlog__template *t = c->t;
	uint32_t off = (uint32_t)t->pool.len;
	/* The canonical form of the key, as record keys are compared. */
	put_text(&t->pool, key, n, true, SIZE_MAX, NULL);
	if (t->pool.failed ||
	    !grow((void **)&t->keys, &t->keys_cap, t->nkeys, sizeof(*t->keys)))
		return nomem(c);
	op->off = off;
	op->len = (uint32_t)(t->pool.len - off);
	t->keys[t->nkeys].off = op->off;
	t->keys[t->nkeys].len = op->len;
	t->nkeys++;
	return 0;
}

/* A replacement field starting at @pos ('{'); *next gets the position
 * after its '}'. */
static int compile_field(struct comp *c, size_t pos, size_t *next)
{
	const char *s = c->s;
	size_t i = pos + 1, name_end = 0;
	bool bracket = false;

	for (; i < c->n; i++) {
		char ch = s[i];
		if (ch == '}')
			break;
		if (ch == '{')
			return fail(c, i, "nested '{' in a field");
		if (name_end)
			continue;
		if (ch == '[')
			bracket = true;
		else if (ch == ']')
			bracket = false;
		else if (!bracket && (ch == ':' || ch == '!'))
			name_end = i;
	}
	if (i == c->n)
		return fail(c, pos, "unterminated '{'");
	*next = i + 1;
	if (!name_end)
		name_end = i;
	const char *name = s + pos + 1;
	size_t nlen = name_end - pos - 1;
	if (s[name_end] == '!')
		return fail(c, name_end, "conversion not supported in {%.*s}", (int)(i - pos - 1),
		            name);
	const char *spec = s[name_end] == ':' ? s + name_end + 1 : s + i;
	size_t slen = (size_t)(s + i - spec);

	struct op *op = add_op(c, OP_FIELD);
	if (!op)
		return nomem(c);
	size_t k;
	for (k = 0; k < sizeof(field_names) / sizeof(field_names[0]); k++)
		if (strlen(field_names[k].name) == nlen && memcmp(field_names[k].name, name, nlen) == 0)
			break;
	if (k < sizeof(field_names) / sizeof(field_names[0])) {
		op->field = field_names[k].field;
		op->vkind = field_names[k].kind;
	} else if (nlen > 7 && memcmp(name, "extra[", 6) == 0 && name[nlen - 1] == ']' &&
	           !memchr(name + 6, ']', nlen - 7)) {
		op->field = F_EXTRA_KEY;
		op->vkind = K_ANY;
		int r = add_key(c, op, name + 6, nlen - 7);
		if (r)
			return r;
	} else {
		return fail(c, pos, "unknown field {%.*s}", (int)nlen, name);
	}

	if (op->field == F_TIME)
		return compile_time(c, op, spec, slen, pos);
	if (op->field == F_EXTRA)
		c->t->has_extra = true;
	return parse_spec(c, op, spec, slen, pos, name, nlen);
}

/* Every byte of the template is valid UTF-8 and no control character;
 * the error messages quote parts of it. */
static int check_template(struct comp *c)
{
	const unsigned char *p = (const unsigned char *)c->s, *end = p + c->n;
	for (const unsigned char *q = p; q < end;) {
		size_t len = 1;
		if (*q < 0x20 || *q == 0x7f)
			return fail(c, (size_t)(q - p), "control character 0x%02x", *q);
		if (*q >= 0x80 && jlog__utf8_check(q, end, &len) != JLOG__UTF8_VALID)
			return fail(c, (size_t)(q - p), "invalid UTF-8");
		if (*q >= 0x80 && is_special_cp(q, len))
			return fail(c, (size_t)(q - p), "control character U+%04X",
			            len == 2 ? q[1] : 0x2000u | (q[2] & 0x3f));
		q += len;
	}
	return 0;
}

static int compile(struct comp *c)
{
	const char *s = c->s;
	size_t i = 0, lit = 0;
	int r;

	if ((r = check_template(c)) != 0)
		return r;
	while (i < c->n) {
		char ch = s[i];
		if (ch == '{' || ch == '}') {
			if ((r = add_text(c, s + lit, i - lit)) != 0)
				return r;
			if (i + 1 < c->n && s[i + 1] == ch) {
				if ((r = add_text(c, s + i, 1)) != 0)
					return r;
				i += 2;
			} else if (ch == '}') {
				return fail(c, i, "single '}'");
			} else if ((r = compile_field(c, i, &i)) != 0) {
				return r;
			}
			lit = i;
			continue;
		}
		if (ch != '\\' && ch != '<') {
			i++;
			continue;
		}
		/* Backslashes count only before a tag: an odd number escapes
		 * it, and each pair prints one backslash (as in loguru). */
		size_t bs = i;
		while (i < c->n && s[i] == '\\')
			i++;
		size_t tlen = i < c->n && s[i] == '<' ? tag_at(c, i) : 0;
		if (!tlen) {
			if (i < c->n && s[i] == '<')
				i++;
			continue;
		}
		size_t nbs = i - bs;
		if ((r = add_text(c, s + lit, bs - lit)) != 0 ||
		    (r = add_text(c, s + bs, nbs / 2)) != 0)
			return r;
		if (nbs % 2)
			r = add_text(c, s + i, tlen);
		else if (s[i + 1] == '/')
			r = close_tag(c, i, tlen);
		else
			r = open_tag(c, i, tlen);
		if (r)
			return r;
		i += tlen;
		lit = i;
	}
	if ((r = add_text(c, s + lit, i - lit)) != 0)
		return r;
	if (c->depth)
		return fail(c, c->stack[0].pos, "unclosed tag <%.*s>", (int)c->stack[0].nlen,
		            s + c->stack[0].name);
	return 0;
}

void jlog__template_set_local(struct jlog__template *t, bool local)
{
	t->local_time = local;
}

void jlog__template_free(struct jlog__template *t)
{
	if (!t)
		return;
	free(t->ops);
	free(t->tparts);
	free(t->keys);
	jlog__buf_finish(&t->pool);
	free(t);
}

int jlog__template_compile(const char *tmpl, struct jlog__template **out, char *err,
                           size_t errlen)
{
	struct comp c;
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!tmpl) {
		if (err && errlen)
			snprintf(err, errlen, "format: no template");
		return -EINVAL;
	}
	c.s = tmpl;
	c.n = strlen(tmpl);
	if (c.n > MAX_TEMPLATE) {
		if (err && errlen)
			snprintf(err, errlen, "format: template longer than %u bytes", MAX_TEMPLATE);
		return -EINVAL;
	}
	c.t = calloc(1, sizeof(*c.t));
	if (!c.t)
		return nomem(&c);
	jlog__buf_init(&c.t->pool);
	/* The pool is never empty, so pool.p is valid for empty texts. */
	if (!jlog__buf_grow(&c.t->pool, 64)) {
		jlog__template_free(c.t);
		return nomem(&c);
	}
	int r = compile(&c);
	if (r) {
		jlog__template_free(c.t);
		return r;
	}
	*out = c.t;
	return 0;
}
