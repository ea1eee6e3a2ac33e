/*
 * The text formatter's runtime: a record through a compiled template
 * (format-compile.c makes it; format.h has the language and the compiled
 * form) into a line. Nothing here fails on the template: every error was
 * reported when it was compiled.
 */
#include "format.h"
#include "utf8.h"
#include "civil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char jlog__default_text_format[] =
	"<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | "
	"<level>{level: <8}</level> | "
	"<cyan>{name}</cyan>:<cyan>{function}</cyan>:<cyan>{line}</cyan> - "
	"<level>{message}</level>";

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

/* Characters that end a line or steer a terminal: C1 controls (U+0080 to
 * U+009F) and U+2028/U+2029. @p is a valid sequence of @len bytes. */
bool jlog__fmt_special_cp(const unsigned char *p, size_t len)
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
size_t jlog__fmt_put_text(struct jlog__buf *b, const char *s, size_t n, bool quoted,
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
			if (jlog__fmt_special_cp(p, ulen)) {
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
size_t jlog__fmt_count_cps(const char *s, size_t n)
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


/*
 * Level color markup (jlog_level_add): opening tags only, blanks around
 * them allowed ("<magenta><bold>", "<fg #ff8000>"), each one a tag that
 * jlog__fmt_tag_sgr() knows, as in a template. Appends their SGR codes to @b unless
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
		if (!end || !jlog__fmt_tag_sgr(p + 1, (size_t)(end - p - 1), code, sizeof(code)))
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
		jlog__fmt_put_text(&s->keys, e->f.key, e->f.key_len, true, SIZE_MAX, NULL);
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
		if (jlog__fmt_put_text(b, f->v.s, f->val_len, quoted, limit, &cut) < limit &&
		    !cut && (f->flags & JLOG__FIELD_TRUNCATED))
			jlog__buf_lit(b, "\xe2\x80\xa6");
		if (quoted)
			jlog__buf_putc(b, '"');
		break;
	case JLOG__T_JSON:
		jlog__fmt_put_text(b, f->v.s, f->val_len, false, limit, NULL);
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
		if (jlog__fmt_put_text(o, v->msg, v->msg_len, false, limit, &cut) < limit && !cut &&
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
	jlog__fmt_put_text(o, str, len, false, limit, NULL);
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
	size_t cps = jlog__fmt_count_cps(tmp->p ? tmp->p : "", tmp->len);
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
			jlog__fmt_put_text(b, e->f.key, e->f.key_len, false, SIZE_MAX, NULL);
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
