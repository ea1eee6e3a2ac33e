/*
 * The text formatter's compiler: a template's text into the compiled form
 * of format.h, which format.c runs per record. Every error in a template
 * is found here and reported with its column, so that formatting a record
 * never fails on the template.
 */
#include "format.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Compiler                                                                 */
/* ------------------------------------------------------------------------ */

/* The fields a template names, and the kind of their value. */
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
	return (unsigned)jlog__fmt_count_cps(c->s, pos) + 1;
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
bool jlog__fmt_tag_sgr(const char *p, size_t n, char *out, size_t cap)
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
		if (!jlog__fmt_tag_sgr(name, nlen, sgr, sizeof(sgr)))
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
	jlog__fmt_put_text(&t->pool, key, n, true, SIZE_MAX, NULL);
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
		if (*q >= 0x80 && jlog__fmt_special_cp(q, len))
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
