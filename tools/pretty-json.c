/*
 * A JSON line as a flat array of nodes. jlog-pretty reads every line of a
 * log, so the parser allocates nothing per line once its two buffers have
 * grown: nodes go into one array, and decoded strings into one buffer
 * sized to the line before parsing starts (a decoded string is never
 * longer than its JSON text), so pointers into it stay valid. Strings
 * without escapes point into the line itself. UTF-8 is not checked here:
 * the library's formatter replaces invalid sequences when it prints.
 */
#include "pretty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct ps {
	struct pj_doc *d;
	const char *p, *end;
	int depth;
};

static inline void ws(struct ps *s)
{
	/* Compact JSON, the usual input, has no blanks at all. */
	if (s->p < s->end && (unsigned char)*s->p > ' ')
		return;
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int new_node(struct pj_doc *d, uint32_t *idx)
{
	if (d->nn == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct pj_node *n = realloc(d->n, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->n = n;
		d->cap = cap;
	}
	*idx = (uint32_t)d->nn;
	memset(&d->n[d->nn++], 0, sizeof(struct pj_node));
	return 0;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at s->p (the opening quote): *out and *len, decoded. */
static int string(struct ps *s, const char **out, uint32_t *len)
{
	const char *start = ++s->p;
	const char *q = memchr(start, '"', (size_t)(s->end - start));
	if (!q)
		return -EINVAL;
	const char *bs = memchr(start, '\\', (size_t)(q - start));
	if (!bs) {
		/* The common case: no escape, the text is the line's. */
		*out = start;
		*len = (uint32_t)(q - start);
		s->p = q + 1;
		return 0;
	}
	q = bs;
	struct pj_doc *d = s->d;
	char *o = d->sbuf + d->slen;
	*out = o;
	memcpy(o, start, (size_t)(q - start));
	o += q - start;
	while (q < s->end && *q != '"') {
		if (*q != '\\') {
			*o++ = *q++;
			continue;
		}
		if (++q >= s->end)
			return -EINVAL;
		char c = *q++;
		switch (c) {
		case '"': case '\\': case '/': *o++ = c; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (s->end - q < 4 || hex4(q, &cp))
				return -EINVAL;
			q += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && s->end - q >= 6 && q[0] == '\\' &&
			    q[1] == 'u' && !hex4(q + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				q += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd; /* a lone surrogate */
			}
			o += put_utf8(o, cp);
			break;
		}
		default:
			return -EINVAL;
		}
	}
	if (q >= s->end)
		return -EINVAL;
	*len = (uint32_t)(o - *out);
	d->slen += *len;
	s->p = q + 1;
	return 0;
}

static int number(struct ps *s, struct pj_node *n)
{
	const char *p = s->p, *start = p;
	bool neg = false, integer = true;
	uint64_t u = 0;
	bool over = false;
	if (p < s->end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= s->end || *p < '0' || *p > '9')
		return -EINVAL;
	if (*p == '0') {
		p++;
	} else {
		while (p < s->end && *p >= '0' && *p <= '9') {
			unsigned dg = (unsigned)(*p++ - '0');
			if (u > (UINT64_MAX - dg) / 10)
				over = true;
			u = u * 10 + dg;
		}
	}
	const char *frac = NULL;
	uint64_t fu = u;
	if (p < s->end && *p == '.') {
		integer = false;
		frac = ++p;
		if (p >= s->end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < s->end && *p >= '0' && *p <= '9') {
			if (fu < (1ull << 53) / 10)
				fu = fu * 10 + (unsigned)(*p - '0');
			p++;
		}
	}
	bool exp = false;
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		integer = false;
		exp = true;
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	n->type = PJ_NUM;
	n->s = start;
	n->len = (uint32_t)(p - start);
	s->p = p;
	if (integer && !over && (!neg || u <= (uint64_t)INT64_MAX + 1)) {
		n->is_int = true;
		if (neg) {
			n->i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
			n->d = (double)n->i;
		} else if (u > INT64_MAX) {
			n->is_uint = true;
			n->u = u;
			n->d = (double)u;
		} else {
			n->i = (int64_t)u;
			n->d = (double)u;
		}
		return 0;
	}
	/* A short decimal (12.5) is its digits over a power of ten: both
	 * are exact doubles, and one division rounds correctly, as strtod
	 * does. */
	static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
	                               1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	size_t nfrac = frac ? (size_t)(p - frac) : 0;
	/* At most 16 bytes with the '.' and a sign: at most 15 digits. */
	if (frac && !exp && (size_t)(p - start) <= 16 && nfrac < 16) {
		n->d = (double)fu / pow10[nfrac];
		if (neg)
			n->d = -n->d;
		return 0;
	}
	/* The text is followed by a byte that ends a number (pj_parse's
	 * contract), so strtod stops where the scan did. */
	n->d = strtod(start, NULL);
	return 0;
}

static int value(struct ps *s, uint32_t idx);

static int container(struct ps *s, uint32_t idx, bool obj)
{
	const char *start = s->p++;
	char close = obj ? '}' : ']';
	uint32_t prev = 0;
	if (++s->depth > MAX_DEPTH)
		return -EINVAL;
	s->d->n[idx].type = obj ? PJ_OBJ : PJ_ARR;
	ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
	} else {
		for (;;) {
			const char *key = NULL;
			uint32_t klen = 0;
			int r;
			if (obj) {
				if (s->p >= s->end || *s->p != '"')
					return -EINVAL;
				if ((r = string(s, &key, &klen)))
					return r;
				ws(s);
				if (s->p >= s->end || *s->p != ':')
					return -EINVAL;
				s->p++;
				ws(s);
			}
			uint32_t c;
			if ((r = new_node(s->d, &c)))
				return r;
			if (prev)
				s->d->n[prev].next = c;
			else
				s->d->n[idx].child = c;
			prev = c;
			s->d->n[c].key = key;
			s->d->n[c].key_len = klen;
			if ((r = value(s, c)))
				return r;
			ws(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				ws(s);
				continue;
			}
			if (s->p < s->end && *s->p == close) {
				s->p++;
				break;
			}
			return -EINVAL;
		}
	}
	s->depth--;
	s->d->n[idx].s = start;
	s->d->n[idx].len = (uint32_t)(s->p - start);
	return 0;
}

static bool word(struct ps *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* Nodes may move while a value is parsed (new_node grows the array), so
 * they are addressed by index. */
static int value(struct ps *s, uint32_t idx)
{
	if (s->p >= s->end)
		return -EINVAL;
	struct pj_node *n = &s->d->n[idx];
	const char *start = s->p;
	switch (*s->p) {
	case '{':
		return container(s, idx, true);
	case '[':
		return container(s, idx, false);
	case '"': {
		const char *str;
		uint32_t len;
		int r = string(s, &str, &len);
		n = &s->d->n[idx];
		n->type = PJ_STR;
		n->s = str;
		n->len = len;
		return r;
	}
	case 't':
		if (!word(s, "true", 4))
			return -EINVAL;
		n->type = PJ_BOOL;
		n->b = true;
		break;
	case 'f':
		if (!word(s, "false", 5))
			return -EINVAL;
		n->type = PJ_BOOL;
		break;
	case 'n':
		if (!word(s, "null", 4))
			return -EINVAL;
		n->type = PJ_NULL;
		break;
	default:
		return number(s, n);
	}
	n->s = start;
	n->len = (uint32_t)(s->p - start);
	return 0;
}

int pj_parse(struct pj_doc *d, const char *p, size_t len)
{
	if (len > UINT32_MAX)
		return -EINVAL;
	d->nn = 0;
	d->slen = 0;
	if (d->scap < len + 1) {
		char *b = realloc(d->sbuf, len + 1);
		if (!b)
			return -ENOMEM;
		d->sbuf = b;
		d->scap = len + 1;
	}
	struct ps s = {d, p, p + len, 0};
	ws(&s);
	/* Only objects are records; anything else is passed through, so
	 * save the work. */
	if (s.p >= s.end || *s.p != '{')
		return -EINVAL;
	uint32_t root;
	int r = new_node(d, &root);
	if (r)
		return r;
	if ((r = value(&s, root)))
		return r;
	ws(&s);
	return s.p == s.end ? 0 : -EINVAL;
}

void pj_free(struct pj_doc *d)
{
	free(d->n);
	free(d->sbuf);
	memset(d, 0, sizeof(*d));
}

const struct pj_node *pj_get(const struct pj_doc *d, const struct pj_node *obj, const char *key)
{
	if (!obj || obj->type != PJ_OBJ)
		return NULL;
	size_t n = strlen(key);
	for (uint32_t c = obj->child; c; c = d->n[c].next)
		if (d->n[c].key_len == n && memcmp(d->n[c].key, key, n) == 0)
			return &d->n[c];
	return NULL;
}
