/*
 * Redaction: the writer rewrites a decoded record before the sinks format
 * it, so every sink, preset and format (and the crash handler, which
 * formats with the same code) prints the same redacted record.
 *
 * 1. Keys. A field whose key matches a rule is replaced, removed or
 *    hashed whole. A JSON value (JLOG_JSON) is walked (json_walk()): each
 *    member's path from the field's key is matched, arrays being
 *    transparent, and a matching member's value is rewritten in place.
 *    The walk reads the compact text the record holds and writes the new
 *    text directly: no parse tree, no allocation, so the crash handler
 *    can run it. A value it cannot walk (nested deeper than PATH_MAX_DEPTH,
 *    or not JSON) is replaced whole: redaction fails closed.
 * 2. Detectors scan the message and string values (in JSON values, the
 *    escaped text, since the shapes they look for are ASCII).
 * 3. The record's top-level keys come from a handful of call sites, so
 *    the rule decision for a key is cached (writer thread only; the crash
 *    handler does not use the cache, which the writer may be updating).
 *    Ten rules then cost a hash and a compare per field, not ten matches.
 *
 * The output is built in one pass: nothing is copied until the first
 * change, and a record with no change is returned as it is.
 */
#include "redact.h"

#include "opt.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_REPLACEMENT "[REDACTED]"
#define HASH_HEX 16     /* hex digits of the HMAC kept */
#define MIN_HASH_KEY 16 /* bytes */
#define MAX_HASH_KEY 4096
#define PATH_MAX_DEPTH 64 /* member names in a path */
#define NEST_MAX 128      /* arrays and objects inside each other */
#define CACHE_N 256
#define CACHE_KEY 32

struct seg {
	const char *p;
	size_t len;
	bool glob; /* has '*' or '?' */
	bool any;  /* "**" */
};

struct rule {
	struct seg *segs;
	size_t nseg;
	bool path; /* had a '.': matched from the field's key */
};

struct cache_ent {
	uint16_t len1; /* key length + 1; 0 = empty */
	int16_t res;   /* rule index + 1, 0 for none */
	char key[CACHE_KEY];
};

/* A call site whose last record no rule could change (fields_clean()):
 * its decoded fields' keys, raw. A record of the call site with the same
 * keys (and no JSON value) is clean too, found by comparing the keys in
 * order instead of looking each one up. Writer only. */
#define CLEAN_SLOTS 64u
#define CLEAN_KEYS 16u
#define CLEAN_RAW 256u
struct clean_ent {
	uint32_t id; /* callsite; 0: empty */
	uint32_t n;  /* decoded fields */
	uint16_t len[CLEAN_KEYS];
	char raw[CLEAN_RAW];
};

struct jlog__redact {
	struct rule *rules;
	size_t nrules;
	struct seg *segs;
	char *text; /* the patterns, folded when !case_sensitive */
	jlog_redact_mode mode;
	char *repl;      /* the replacement */
	size_t repl_len;
	char *repl_esc;  /* the same escaped for a JSON string, no quotes */
	size_t repl_esc_len;
	bool fold;
	unsigned detect;
	struct jlog__hmac_key hkey;
	struct jlog__buf out;   /* writer */
	struct jlog__buf crash; /* crash handler, fixed */
	struct cache_ent cache[CACHE_N];
	struct clean_ent clean[CLEAN_SLOTS];
};

void jlog_redact_options_init(jlog_redact_options *o)
{
	if (o)
		memset(o, 0, sizeof(*o));
}

/* ------------------------------------------------------------------------ */
/* Matching                                                                 */
/* ------------------------------------------------------------------------ */

/* jlog__buf_put() of nothing does nothing, even on a buffer that has no
 * memory yet (whose NULL plus 0 is undefined behaviour). */
static inline void put(struct jlog__buf *b, const void *p, size_t n)
{
	if (n)
		jlog__buf_put(b, p, n);
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline unsigned char cmpc(unsigned char c, bool fold)
{
	return fold ? lower(c) : c;
}

/* '*' any run, '?' one byte; iterative, backtracking to the last '*'. */
static bool glob_match(const char *pat, size_t pn, const char *s, size_t sn, bool fold)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
	while (si < sn) {
		if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && (pat[pi] == '?' || (unsigned char)pat[pi] ==
		                                             cmpc((unsigned char)s[si], fold))) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static bool seg_match(const struct seg *g, const char *s, size_t n, bool fold)
{
	if (g->glob)
		return glob_match(g->p, g->len, s, n, fold);
	if (n != g->len)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)g->p[i] != cmpc((unsigned char)s[i], fold))
			return false;
	return true;
}

struct name {
	const char *p;
	size_t len;
};

static bool path_match(const struct seg *g, size_t ng, const struct name *p, size_t np, bool fold)
{
	if (ng == 0)
		return np == 0;
	if (g->any) {
		for (size_t k = 0; k <= np; k++)
			if (path_match(g + 1, ng - 1, p + k, np - k, fold))
				return true;
		return false;
	}
	return np > 0 && seg_match(g, p->p, p->len, fold) &&
	       path_match(g + 1, ng - 1, p + 1, np - 1, fold);
}

/* The first rule matching the member at the end of @path: its index + 1,
 * or 0. */
static int match(const struct jlog__redact *r, const struct name *path, size_t np)
{
	for (size_t i = 0; i < r->nrules; i++) {
		const struct rule *u = &r->rules[i];
		if (u->path ? path_match(u->segs, u->nseg, path, np, r->fold)
		            : seg_match(u->segs, path[np - 1].p, path[np - 1].len, r->fold))
			return (int)i + 1;
	}
	return 0;
}

/* Whether two keys of @n bytes (1..CACHE_KEY - 1) are equal: overlapping
 * loads, as jlog__copy_bytes() moves short keys, instead of a call. */
static inline bool key_eq(const char *a, const char *b, size_t n)
{
	if (n >= 8) {
		uint64_t x0, x1, y0, y1;
		if (n > 16)
			return memcmp(a, b, n) == 0;
		memcpy(&x0, a, 8);
		memcpy(&y0, b, 8);
		memcpy(&x1, a + n - 8, 8);
		memcpy(&y1, b + n - 8, 8);
		return x0 == y0 && x1 == y1;
	}
	if (n >= 4) {
		uint32_t x0, x1, y0, y1;
		memcpy(&x0, a, 4);
		memcpy(&y0, b, 4);
		memcpy(&x1, a + n - 4, 4);
		memcpy(&y1, b + n - 4, 4);
		return x0 == y0 && x1 == y1;
	}
	return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}

static __attribute__((noinline)) int match_key_miss(struct jlog__redact *r, struct cache_ent *e,
                                                    const char *k, size_t n)
{
	struct name top = {k, n};
	int res = match(r, &top, 1);
	if (e) {
		e->len1 = (uint16_t)(n + 1);
		e->res = (int16_t)res;
		memcpy(e->key, k, n);
	}
	return res;
}

/* The rule decision for a field's key, through the cache: the slot comes
 * from the length and the first and last bytes, which tells a record's
 * few keys apart; a miss only costs a match. */
static inline __attribute__((always_inline)) int match_key_cached(struct jlog__redact *r,
                                                                   const char *k, size_t n)
{
	if (n >= CACHE_KEY || n == 0)
		return match_key_miss(r, NULL, k, n);
	uint32_t h = (uint32_t)(unsigned char)k[0] | (uint32_t)(unsigned char)k[n - 1] << 8 |
	             (uint32_t)n << 16;
	struct cache_ent *e = &r->cache[(h * 2654435761u) >> 24];
	if (e->len1 == n + 1 && key_eq(e->key, k, n))
		return e->res;
	return match_key_miss(r, e, k, n);
}

/* Whether @fv's @n fields have @c's keys, in order, and no JSON value.
 * With @short_only, a key longer than 16 bytes answers false (to be
 * compared again by the caller's slow path): no call into libc's memcmp,
 * so that jlog__redact_view()'s first look stays a leaf. */
static inline bool clean_keys_same(const struct clean_ent *c, const struct jlog__field_view *fv,
                                   uint32_t n, bool short_only)
{
	const char *raw = c->raw;
	for (uint32_t i = 0; i < n; i++) {
		size_t kl = fv[i].key_len;
		if ((short_only && kl > 16) || fv[i].type == JLOG__T_JSON || kl != c->len[i] ||
		    !jlog__bytes_equal(fv[i].key, raw, kl))
			return false;
		raw += kl;
	}
	return true;
}

/* Whether decoded @v (its fields @fv) is of a call site whose last record
 * was clean, with the same keys: the slot's check, for fields_clean() and
 * jlog__redact_view()'s first look (@short_only as clean_keys_same()). */
static inline bool clean_seen(const struct jlog__redact *r, const struct jlog__rec_view *v,
                              const struct jlog__field_view *fv, bool short_only)
{
	/* Records without a call site (0) are never kept: an empty slot
	 * (id 0, no keys) matches only those without fields, which are
	 * clean anyway. */
	const struct clean_ent *c = &r->clean[v->callsite % CLEAN_SLOTS];
	return c->id == v->callsite && c->n == v->fv_n &&
	       clean_keys_same(c, fv, v->fv_n, short_only);
}

/* fields_clean() for decoded fields of call site @id not in its slot @c
 * (id 0: a record without one, never kept): each key looked up, and a
 * clean record's keys kept in @c. Out of line: the common case, a call
 * site seen clean, saves no registers for it. */
static __attribute__((noinline)) bool decoded_clean(struct jlog__redact *r, struct clean_ent *c,
                                                    uint32_t id,
                                                    const struct jlog__field_view *fv,
                                                    uint32_t n)
{
	size_t raw = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (fv[i].type == JLOG__T_JSON || match_key_cached(r, fv[i].key, fv[i].key_len))
			return false;
		raw += fv[i].key_len;
	}
	if (id && n <= CLEAN_KEYS && raw <= CLEAN_RAW) {
		char *q = c->raw;
		for (uint32_t i = 0; i < n; i++) {
			c->len[i] = (uint16_t)fv[i].key_len;
			memcpy(q, fv[i].key, fv[i].key_len);
			q += fv[i].key_len;
		}
		c->n = n;
		c->id = id;
	}
	return true;
}

/*
 * Whether no rule can change @v's fields: no key matches and there is no
 * JSON value to walk. The writer's usual case, in a loop of its own. A
 * field whose bytes are not well-formed ends the scan: the formatters
 * stop there too (their checks are stricter).
 */
static bool fields_clean(struct jlog__redact *r, const struct jlog__rec_view *v)
{
	/* The writer's records come decoded (jlog__record_decode_into()):
	 * their keys are looked at where they are, without a walk. They
	 * leave out the diagnostic field, as the walk below does. */
	const struct jlog__field_view *fv = jlog__rec_decoded(v);
	if (fv) {
		if (clean_seen(r, v, fv, false))
			return true;
		return decoded_clean(r, &r->clean[v->callsite % CLEAN_SLOTS], v->callsite, fv,
		                     v->fv_n);
	}

	/* fields and end are both NULL when there is none. */
	const uint8_t *p = v->fields, *end = v->end;
	struct jlog__field_hdr h;
	while ((size_t)(end - p) >= sizeof(h)) {
		memcpy(&h, p, sizeof(h));
		const char *k = (const char *)p + sizeof(h);
		size_t size = (size_t)h.key_len + h.val_len;
		if (size > (size_t)(end - p) - sizeof(h))
			return true;
		if (h.type == JLOG__T_JSON ||
		    (h.type != JLOG__T_DIAG && match_key_cached(r, k, h.key_len)))
			return false;
		p = (const uint8_t *)k + size;
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Detectors                                                                */
/* ------------------------------------------------------------------------ */

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}
static inline bool is_alnum(unsigned char c)
{
	return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
}
static inline bool is_word(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

/* A match starts at a word boundary; in escaped JSON text, "\n" before
 * it is a boundary too. */
static bool boundary(const char *s, size_t i, bool json)
{
	return i == 0 || !is_word((unsigned char)s[i - 1]) || (json && i >= 2 && s[i - 2] == '\\');
}

static size_t run(const char *s, size_t n, size_t i, const char *extra)
{
	size_t j = i;
	while (j < n && (is_alnum((unsigned char)s[j]) || (s[j] && strchr(extra, s[j]))))
		j++;
	return j - i;
}

static bool prefix_ci(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);
	if (n - i < l)
		return false;
	for (size_t k = 0; k < l; k++)
		if (lower((unsigned char)s[i + k]) != (unsigned char)lit[k])
			return false;
	return true;
}

static bool prefix(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);
	return n - i >= l && memcmp(s + i, lit, l) == 0;
}

/* "Bearer <b64token>" (RFC 6750), "Basic <base64>" (RFC 7617): the token. */
static bool det_bearer(const char *s, size_t n, size_t i, size_t *a, size_t *b)
{
	bool bearer = prefix_ci(s, n, i, "bearer");
	if (!bearer && !prefix_ci(s, n, i, "basic"))
		return false;
	size_t t = i + (bearer ? 6 : 5);
	if (t >= n || (s[t] != ' ' && s[t] != '\t'))
		return false;
	while (t < n && (s[t] == ' ' || s[t] == '\t'))
		t++;
	size_t len = run(s, n, t, bearer ? "-._~+/=" : "+/=");
	if (len < 8)
		return false;
	if (!bearer) {
		/* Base64 of "user:password" is padded to 4 and mixes cases or
		 * digits; a word after "basic" in prose does not. */
		bool mixed = false;
		for (size_t k = t; k < t + len; k++) {
			unsigned char c = (unsigned char)s[k];
			if (is_digit(c) || c == '+' || c == '/' || c == '=' ||
			    (k > t && c >= 'A' && c <= 'Z'))
				mixed = true;
		}
		if (len % 4 || !mixed)
			return false;
	}
	*a = t;
	*b = t + len;
	return true;
}

/* 13 to 19 digits, single spaces or dashes between them, passing Luhn. */
static bool det_luhn(const char *s, size_t n, size_t i, size_t *a, size_t *b)
{
	if (i > 0 && is_digit((unsigned char)s[i - 1]))
		return false;
	uint8_t d[20];
	size_t count = 0, j = i, last = i;
	while (j < n) {
		if (is_digit((unsigned char)s[j])) {
			if (count < sizeof(d))
				d[count] = (uint8_t)(s[j] - '0');
			count++;
			last = ++j;
		} else if ((s[j] == ' ' || s[j] == '-') && j + 1 < n && is_digit((unsigned char)s[j + 1])) {
			j++;
		} else {
			break;
		}
	}
	if (count < 13 || count > 19 || (last < n && is_word((unsigned char)s[last])))
		return false;
	unsigned sum = 0;
	for (size_t k = 0; k < count; k++) {
		unsigned x = d[count - 1 - k];
		if (k & 1)
			x = x * 2 > 9 ? x * 2 - 9 : x * 2;
		sum += x;
	}
	if (sum % 10)
		return false;
	*a = i;
	*b = last;
	return true;
}

static const char *find(const char *s, size_t n, size_t from, const char *lit)
{
	size_t l = strlen(lit);
	for (size_t k = from; k + l <= n; k++)
		if (memcmp(s + k, lit, l) == 0)
			return s + k;
	return NULL;
}

/* Well-known key shapes (README, "Sensitive data"). */
static bool det_keys(const char *s, size_t n, size_t i, size_t *a, size_t *b)
{
	size_t len = 0;
	switch (s[i]) {
	case 'A':
		if ((prefix(s, n, i, "AKIA") || prefix(s, n, i, "ASIA")) && n - i >= 20) {
			len = 4;
			while (len < 20 && ((s[i + len] >= 'A' && s[i + len] <= 'Z') ||
			                    is_digit((unsigned char)s[i + len])))
				len++;
			if (len < 20 || (i + 20 < n && is_word((unsigned char)s[i + 20])))
				return false;
		}
		break;
	case 'g':
		if (prefix(s, n, i, "ghp_") || prefix(s, n, i, "gho_") || prefix(s, n, i, "ghu_") ||
		    prefix(s, n, i, "ghs_") || prefix(s, n, i, "ghr_")) {
			size_t r = run(s, n, i + 4, "");
			len = r >= 36 ? 4 + r : 0;
		} else if (prefix(s, n, i, "github_pat_")) {
			size_t r = run(s, n, i + 11, "_");
			len = r >= 22 ? 11 + r : 0;
		}
		break;
	case 'x':
		if (prefix(s, n, i, "xox") && n - i > 4 && strchr("abprs", s[i + 3]) && s[i + 4] == '-') {
			size_t r = run(s, n, i + 5, "-");
			len = r >= 10 ? 5 + r : 0;
		}
		break;
	case 's':
	case 'r':
		if (prefix(s, n, i + 1, "k_live_")) {
			size_t r = run(s, n, i + 8, "");
			len = r >= 16 ? 8 + r : 0;
		}
		break;
	case '-':
		if (prefix(s, n, i, "-----BEGIN ")) {
			const char *hdr = find(s, n < i + 80 ? n : i + 80, i + 11, "PRIVATE KEY-----");
			if (!hdr)
				return false;
			size_t from = (size_t)(hdr - s) + 16;
			const char *end = find(s, n, from, "-----END ");
			const char *tail = end ? find(s, n, (size_t)(end - s) + 9, "-----") : NULL;
			len = (tail ? (size_t)(tail - s) + 5 : n) - i;
		}
		break;
	default:
		break;
	}
	if (!len)
		return false;
	*a = i;
	*b = i + len;
	return true;
}

/*
 * Run the detectors over @s: when one matches, append @s to @b with each
 * match replaced (@json: the replacement escaped for a JSON string) and
 * return true; else append nothing and return false.
 */
static bool detect(const struct jlog__redact *r, const char *s, size_t n, struct jlog__buf *b,
                   bool json)
{
	size_t last = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t a, e;
		bool hit = false;
		if (!boundary(s, i, json) && c != '-')
			continue;
		if ((r->detect & JLOG_DETECT_BEARER) && (lower(c) == 'b'))
			hit = det_bearer(s, n, i, &a, &e);
		if (!hit && (r->detect & JLOG_DETECT_LUHN) && is_digit(c))
			hit = det_luhn(s, n, i, &a, &e);
		if (!hit && (r->detect & JLOG_DETECT_KEYS))
			hit = det_keys(s, n, i, &a, &e);
		if (!hit)
			continue;
		put(b, s + last, a - last);
		if (json)
			put(b, r->repl_esc, r->repl_esc_len);
		else
			put(b, r->repl, r->repl_len);
		last = e;
		i = e - 1;
		any = true;
	}
	if (any)
		put(b, s + last, n - last);
	return any;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* "h:" and HASH_HEX hex digits of the HMAC of @s, without quotes. */
static void put_hash(const struct jlog__redact *r, struct jlog__buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[JLOG__SHA256_LEN];
	jlog__hmac(&r->hkey, s, n, mac);
	char o[2 + HASH_HEX];
	o[0] = 'h';
	o[1] = ':';
	for (int i = 0; i < HASH_HEX / 2; i++) {
		o[2 + 2 * i] = hex[mac[i] >> 4];
		o[3 + 2 * i] = hex[mac[i] & 15];
	}
	put(b, o, sizeof(o));
}

struct walk {
	const struct jlog__redact *r;
	const char *p, *end;
	struct jlog__buf *b;
	bool changed;
	bool ok;
	unsigned nest;
	size_t depth;
	struct name path[PATH_MAX_DEPTH];
	char names[2048]; /* unescaped member names of the path */
	size_t names_used;
};

static void w_ws(struct walk *w)
{
	while (w->p < w->end && (*w->p == ' ' || *w->p == '\t' || *w->p == '\n' || *w->p == '\r'))
		w->p++;
}

/* A string at w->p: its escaped contents in [*s, *s + *n). */
static bool w_string(struct walk *w, const char **s, size_t *n)
{
	if (w->p >= w->end || *w->p != '"')
		return false;
	const char *q = ++w->p;
	while (q < w->end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	if (q >= w->end)
		return false;
	*s = w->p;
	*n = (size_t)(q - w->p);
	w->p = q + 1;
	return true;
}

static int hexval(char c)
{
	unsigned char l = lower((unsigned char)c);
	return is_digit(l) ? l - '0' : l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

/* A member name unescaped into w->names (the rules match names, not their
 * JSON spelling); false when there is no room. */
static bool w_name(struct walk *w, const char *s, size_t n, struct name *out)
{
	char *o = w->names + w->names_used;
	size_t room = sizeof(w->names) - w->names_used, k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned cp = (unsigned char)s[i];
		if (cp == '\\' && i + 1 < n) {
			char e = s[++i];
			cp = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b'
			     : e == 'f' ? '\f' : (unsigned char)e;
			if (e == 'u' && i + 4 < n) {
				cp = 0;
				for (int h = 1; h <= 4; h++) {
					int x = hexval(s[i + h]);
					if (x < 0)
						return false;
					cp = cp * 16 + (unsigned)x;
				}
				i += 4;
			}
		}
		char u[3];
		size_t ul = 1;
		if (cp < 0x80 || (unsigned char)s[i] == cp) {
			u[0] = (char)cp;
		} else if (cp < 0x800) {
			u[0] = (char)(0xc0 | cp >> 6);
			u[1] = (char)(0x80 | (cp & 0x3f));
			ul = 2;
		} else {
			/* Surrogates stay as they are: a pattern names no such key. */
			u[0] = (char)(0xe0 | cp >> 12);
			u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (char)(0x80 | (cp & 0x3f));
			ul = 3;
		}
		if (k + ul > room)
			return false;
		memcpy(o + k, u, ul);
		k += ul;
	}
	out->p = o;
	out->len = k;
	w->names_used += k;
	return true;
}

static bool w_value(struct walk *w, bool emit);

static bool w_object(struct walk *w, bool emit)
{
	w->p++;
	if (emit)
		jlog__buf_putc(w->b, '{');
	bool first = true;
	w_ws(w);
	if (w->p < w->end && *w->p == '}') {
		w->p++;
		if (emit)
			jlog__buf_putc(w->b, '}');
		return true;
	}
	for (;;) {
		const char *ks;
		size_t kn;
		w_ws(w);
		if (!w_string(w, &ks, &kn))
			return false;
		w_ws(w);
		if (w->p >= w->end || *w->p != ':')
			return false;
		w->p++;
		w_ws(w);
		int hit = 0;
		size_t names_mark = w->names_used;
		if (emit) {
			if (w->depth >= PATH_MAX_DEPTH || !w_name(w, ks, kn, &w->path[w->depth]))
				return false;
			w->depth++;
			hit = match(w->r, w->path, w->depth);
		}
		if (emit && !(hit && w->r->mode == JLOG_REDACT_REMOVE)) {
			if (!first)
				jlog__buf_putc(w->b, ',');
			first = false;
			jlog__buf_putc(w->b, '"');
			put(w->b, ks, kn);
			jlog__buf_lit(w->b, "\":");
		}
		if (hit) {
			const char *vs = w->p;
			if (!w_value(w, false))
				return false;
			w->changed = true;
			if (w->r->mode == JLOG_REDACT_HASH) {
				size_t vn = (size_t)(w->p - vs);
				if (*vs == '"') {
					vs++;
					vn -= 2;
				}
				jlog__buf_putc(w->b, '"');
				put_hash(w->r, w->b, vs, vn);
				jlog__buf_putc(w->b, '"');
			} else if (w->r->mode == JLOG_REDACT_REPLACE) {
				jlog__buf_putc(w->b, '"');
				put(w->b, w->r->repl_esc, w->r->repl_esc_len);
				jlog__buf_putc(w->b, '"');
			}
		} else if (!w_value(w, emit)) {
			return false;
		}
		if (emit) {
			w->depth--;
			w->names_used = names_mark;
		}
		w_ws(w);
		if (w->p < w->end && *w->p == ',') {
			w->p++;
			continue;
		}
		if (w->p < w->end && *w->p == '}') {
			w->p++;
			if (emit)
				jlog__buf_putc(w->b, '}');
			return true;
		}
		return false;
	}
}

static bool w_array(struct walk *w, bool emit)
{
	w->p++;
	if (emit)
		jlog__buf_putc(w->b, '[');
	w_ws(w);
	if (w->p < w->end && *w->p == ']') {
		w->p++;
		if (emit)
			jlog__buf_putc(w->b, ']');
		return true;
	}
	for (bool first = true;; first = false) {
		if (emit && !first)
			jlog__buf_putc(w->b, ',');
		w_ws(w);
		if (!w_value(w, emit))
			return false;
		w_ws(w);
		if (w->p < w->end && *w->p == ',') {
			w->p++;
			continue;
		}
		if (w->p < w->end && *w->p == ']') {
			w->p++;
			if (emit)
				jlog__buf_putc(w->b, ']');
			return true;
		}
		return false;
	}
}

static bool w_value(struct walk *w, bool emit)
{
	if (w->p >= w->end)
		return false;
	bool ok;
	switch (*w->p) {
	case '{':
	case '[':
		if (++w->nest > NEST_MAX)
			return false;
		ok = *w->p == '{' ? w_object(w, emit) : w_array(w, emit);
		w->nest--;
		return ok;
	case '"': {
		const char *s;
		size_t n;
		if (!w_string(w, &s, &n))
			return false;
		if (!emit)
			return true;
		jlog__buf_putc(w->b, '"');
		if (w->r->detect && detect(w->r, s, n, w->b, true))
			w->changed = true;
		else
			put(w->b, s, n);
		jlog__buf_putc(w->b, '"');
		return true;
	}
	default: {
		const char *s = w->p;
		while (w->p < w->end && *w->p != ',' && *w->p != '}' && *w->p != ']' && *w->p != ' ')
			w->p++;
		if (w->p == s)
			return false;
		if (emit)
			put(w->b, s, (size_t)(w->p - s));
		return true;
	}
	}
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

struct out {
	struct jlog__buf *b;
	size_t fields_off; /* where the fields start in b; SIZE_MAX: not copying */
	size_t hdr_off;    /* the field being written */
};

/* Start a new field in the output (copying the unchanged fields before it
 * first): header with @type, the key; the value follows. */
static void field_begin(struct out *o, const struct jlog__rec_view *v, const uint8_t *start,
                        const struct jlog__field_view *f, int type)
{
	if (o->fields_off == SIZE_MAX) {
		o->fields_off = o->b->len;
		put(o->b, v->fields, (size_t)(start - v->fields));
	}
	o->hdr_off = o->b->len;
	struct jlog__field_hdr h = {.type = (uint8_t)type, .flags = 0, .key_len = (uint16_t)f->key_len};
	put(o->b, &h, sizeof(h));
	put(o->b, f->key, f->key_len);
}

static void field_end(struct out *o)
{
	if (o->b->failed)
		return;
	struct jlog__field_hdr h;
	memcpy(&h, o->b->p + o->hdr_off, sizeof(h));
	h.val_len = (uint32_t)(o->b->len - o->hdr_off - sizeof(h) - h.key_len);
	memcpy(o->b->p + o->hdr_off, &h, sizeof(h));
}

/* A field that matched a rule. */
static void field_redact(const struct jlog__redact *r, struct out *o,
                         const struct jlog__rec_view *v, const uint8_t *start,
                         const struct jlog__field_view *f)
{
	if (r->mode == JLOG_REDACT_REMOVE) {
		if (o->fields_off == SIZE_MAX) {
			o->fields_off = o->b->len;
			put(o->b, v->fields, (size_t)(start - v->fields));
		}
		return;
	}
	if (r->mode == JLOG_REDACT_REPLACE) {
		field_begin(o, v, start, f, JLOG__T_STR);
		put(o->b, r->repl, r->repl_len);
		field_end(o);
		return;
	}
	/* Hash: strings and JSON text by their bytes, the others by their
	 * JSON spelling. */
	char num[48];
	const char *s = f->v.s;
	size_t n = f->val_len;
	if (f->type != JLOG__T_STR && f->type != JLOG__T_JSON) {
		struct jlog__buf nb = {.p = num, .cap = sizeof(num), .fixed = true};
		jlog__json_value(&nb, f);
		s = num;
		n = nb.len;
	}
	field_begin(o, v, start, f, JLOG__T_STR);
	put_hash(r, o->b, s, n);
	field_end(o);
}

/* The next field's type, key and value bytes, without the checks of
 * each type's value that jlog__field_next_raw() makes (what a field
 * needs beyond its bytes is decoded only when it is redacted). False at
 * the end or on bytes that do not hold a field, where the formatters
 * stop too. */
static inline bool next_field(const struct jlog__rec_view *v, const uint8_t **cursor,
                              struct jlog__field_view *f)
{
	const uint8_t *p = *cursor;
	struct jlog__field_hdr h;
	if (!p || p >= v->end || (size_t)(v->end - p) < sizeof(h))
		return false;
	memcpy(&h, p, sizeof(h));
	size_t avail = (size_t)(v->end - p) - sizeof(h);
	if (h.key_len > avail || h.val_len > avail - h.key_len)
		return false;
	f->type = h.type;
	f->flags = h.flags;
	f->key = (const char *)p + sizeof(h);
	f->key_len = h.key_len;
	f->v.s = f->key + h.key_len;
	f->val_len = h.val_len;
	*cursor = (const uint8_t *)f->v.s + h.val_len;
	return true;
}

static const struct jlog__rec_view *rewrite(struct jlog__redact *r, const struct jlog__rec_view *v,
                                            struct jlog__rec_view *tmp, struct jlog__buf *b,
                                            bool cached)
{
	b->len = 0;
	b->failed = false;
	size_t msg_len = SIZE_MAX;
	if (r->detect && v->msg_len && detect(r, v->msg, v->msg_len, b, false))
		msg_len = b->len;
	struct out o = {.b = b, .fields_off = SIZE_MAX};
	uint32_t nf = 0;
	const uint8_t *cur = v->fields, *start;
	struct jlog__field_view f;
	while (start = cur, next_field(v, &cur, &f)) {
		int hit = 0;
		if (f.type != JLOG__T_DIAG && r->nrules)
			hit = cached ? match_key_cached(r, f.key, f.key_len)
			             : match(r, &(struct name){f.key, f.key_len}, 1);
		if (hit) {
			/* The value itself, decoded and checked. */
			const uint8_t *again = start;
			if (!jlog__field_next_raw(v, &again, &f))
				break;
			field_redact(r, &o, v, start, &f);
			nf += r->mode != JLOG_REDACT_REMOVE;
			continue;
		}
		nf++;
		if (JLOG__UNLIKELY(f.flags & JLOG__FIELD_CUT_JSON) && f.type == JLOG__T_STR) {
			/* A JSON value the record limit cut: its text is no
			 * longer walkable, and a member a rule names may be in
			 * what is left. Replaced whole, as a value that cannot
			 * be walked is (fails closed). */
			field_begin(&o, v, start, &f, JLOG__T_STR);
			put(b, r->repl, r->repl_len);
			field_end(&o);
			continue;
		}
		if (f.type == JLOG__T_JSON && (r->nrules || r->detect)) {
			size_t mark = b->len, fields_off = o.fields_off;
			field_begin(&o, v, start, &f, JLOG__T_JSON);
			struct walk w = {.r = r, .p = f.v.s, .end = f.v.s + f.val_len, .b = b, .depth = 1};
			w.path[0] = (struct name){f.key, f.key_len};
			w.ok = w_value(&w, true);
			w_ws(&w);
			if (w.ok && w.p == w.end && !w.changed) {
				b->len = mark; /* unchanged: keep the original */
				o.fields_off = fields_off;
			} else {
				if (!w.ok || w.p != w.end) {
					/* Not walkable: replaced whole. */
					b->len = o.hdr_off;
					field_begin(&o, v, start, &f, JLOG__T_STR);
					put(b, r->repl, r->repl_len);
				}
				field_end(&o);
				continue;
			}
		} else if (f.type == JLOG__T_STR && r->detect) {
			size_t mark = b->len, fields_off = o.fields_off;
			field_begin(&o, v, start, &f, JLOG__T_STR);
			if (detect(r, f.v.s, f.val_len, b, false)) {
				field_end(&o);
				continue;
			}
			b->len = mark;
			o.fields_off = fields_off;
		}
		if (o.fields_off != SIZE_MAX)
			put(b, start, (size_t)(cur - start));
	}
	if (msg_len == SIZE_MAX && o.fields_off == SIZE_MAX)
		return v;
	if (b->failed)
		return NULL;
	*tmp = *v;
	if (msg_len != SIZE_MAX) {
		tmp->msg = b->p ? b->p : "";
		tmp->msg_len = msg_len;
		tmp->flags &= (unsigned)~JLOG__REC_MSG_TRUNCATED;
	}
	if (o.fields_off != SIZE_MAX) {
		/* Every field removed, nothing written: no fields. */
		tmp->fields = b->p ? (const uint8_t *)b->p + o.fields_off : NULL;
		tmp->end = b->p ? (const uint8_t *)b->p + b->len : NULL;
		tmp->nfields = nf;
	}
	return tmp;
}

/* jlog__redact_view() past its first look: the keys looked up, the
 * record rewritten. Out of line, so that the first look needs no stack
 * frame and saves no registers. A record the first look gave up on for a
 * long key is compared again here, in full (fields_clean()). */
static __attribute__((noinline)) const struct jlog__rec_view *
redact_view_slow(struct jlog__redact *r, const struct jlog__rec_view *v, struct jlog__rec_view *tmp)
{
	/* A record with a cut value may hold a cut JSON value, which
	 * looks like a string to the key checks: rewritten in any case. */
	if (!r->detect && !(v->flags & JLOG__REC_TRUNCATED) && fields_clean(r, v))
		return v;
	return rewrite(r, v, tmp, &r->out, true);
}

const struct jlog__rec_view *jlog__redact_view(struct jlog__redact *r,
                                               const struct jlog__rec_view *v,
                                               struct jlog__rec_view *tmp)
{
	/* The writer's usual record: decoded, of a call site whose last
	 * record was clean, with the same keys. */
	const struct jlog__field_view *fv = jlog__rec_decoded(v);
	if (JLOG__LIKELY(fv && !r->detect && !(v->flags & JLOG__REC_TRUNCATED)) &&
	    clean_seen(r, v, fv, true))
		return v;
	return redact_view_slow(r, v, tmp);
}

const struct jlog__rec_view *jlog__redact_view_crash(struct jlog__redact *r,
                                                     const struct jlog__rec_view *v,
                                                     struct jlog__rec_view *tmp)
{
	if (!r->crash.p)
		return NULL;
	return rewrite(r, v, tmp, &r->crash, false);
}

/* ------------------------------------------------------------------------ */
/* Compiling                                                                */
/* ------------------------------------------------------------------------ */

void jlog__redact_free(struct jlog__redact *r)
{
	if (!r)
		return;
	jlog__buf_finish(&r->out);
	free(r->crash.p);
	free(r->rules);
	free(r->segs);
	free(r->text);
	free(r->repl);
	free(r->repl_esc);
	memset(&r->hkey, 0, sizeof(r->hkey));
	free(r);
}

int jlog__redact_crash_reserve(struct jlog__redact *r, size_t max_record)
{
	if (!r || r->crash.p)
		return 0;
	/* A rewrite grows a record by at most the replacement or a hash per
	 * field or detector match; twice the record and some room covers the
	 * usual cases, and one that does not fit is left out. */
	size_t cap = 2 * max_record + 4096;
	r->crash.p = malloc(cap);
	if (!r->crash.p)
		return -ENOMEM;
	r->crash.cap = cap;
	r->crash.fixed = true;
	return 0;
}

static int read_key_file(const char *path, const char *where, uint8_t *key, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return jlog__fail(-EINVAL, "%s.hash_key_file: cannot open %s: %s", where, path, strerror(e));
	}
	size_t n = 0;
	for (;;) {
		ssize_t got = read(fd, key + n, MAX_HASH_KEY + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			close(fd);
			return jlog__fail(-EINVAL, "%s.hash_key_file: cannot read %s: %s", where, path,
			                  strerror(e));
		}
		if (got == 0 || (n += (size_t)got) > MAX_HASH_KEY)
			break;
	}
	close(fd);
	if (n > MAX_HASH_KEY)
		return jlog__fail(-EINVAL, "%s.hash_key_file: %s is larger than %d bytes", where, path,
		                  MAX_HASH_KEY);
	while (n && (key[n - 1] == '\n' || key[n - 1] == '\r'))
		n--;
	*len = n;
	return 0;
}

static int load_key(struct jlog__redact *r, const jlog_redact_options *o, const char *where)
{
	bool file = o->hash_key_file && *o->hash_key_file;
	bool env = o->hash_key_env && *o->hash_key_env;
	if (!file && !env)
		return jlog__fail(-EINVAL, "%s.mode: \"hash\" needs hash_key_file or hash_key_env "
		                           "(the key is never in the configuration itself)", where);
	if (file && env)
		return jlog__fail(-EINVAL, "%s.hash_key_env: give hash_key_file or hash_key_env, not both",
		                  where);
	uint8_t *key = malloc(MAX_HASH_KEY + 1);
	if (!key)
		return -ENOMEM;
	size_t len = 0;
	int rc = 0;
	const char *which = file ? "hash_key_file" : "hash_key_env";
	if (file) {
		rc = read_key_file(o->hash_key_file, where, key, &len);
	} else {
		const char *v = getenv(o->hash_key_env);
		if (!v || !*v)
			rc = jlog__fail(-EINVAL, "%s.hash_key_env: %s is not set or empty", where,
			                o->hash_key_env);
		else if ((len = strlen(v)) > MAX_HASH_KEY)
			rc = jlog__fail(-EINVAL, "%s.hash_key_env: %s is longer than %d bytes", where,
			                o->hash_key_env, MAX_HASH_KEY);
		else
			memcpy(key, v, len);
	}
	if (rc == 0 && len < MIN_HASH_KEY)
		rc = jlog__fail(-EINVAL, "%s.%s: the key has %zu bytes, at least %d are needed", where,
		                which, len, MIN_HASH_KEY);
	if (rc == 0)
		jlog__hmac_key_init(&r->hkey, key, len);
	memset(key, 0, MAX_HASH_KEY + 1);
	free(key);
	return rc;
}

/* The JSON string escape of the replacement, without quotes. */
static int escape_replacement(struct jlog__redact *r)
{
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__json_str(&b, r->repl, r->repl_len);
	if (b.failed) {
		jlog__buf_finish(&b);
		return -ENOMEM;
	}
	r->repl_esc_len = b.len - 2;
	r->repl_esc = malloc(r->repl_esc_len + 1);
	if (r->repl_esc)
		memcpy(r->repl_esc, b.p + 1, r->repl_esc_len);
	jlog__buf_finish(&b);
	return r->repl_esc ? 0 : -ENOMEM;
}

static int compile_rules(struct jlog__redact *r, const jlog_redact_options *o, const char *where)
{
	size_t total = 0, nseg = 0;
	for (size_t i = 0; i < o->nkeys; i++) {
		const char *k = o->keys[i];
		if (!k || !*k)
			return jlog__fail(-EINVAL, "%s.keys[%zu]: empty pattern", where, i);
		size_t l = strlen(k);
		if (l > JLOG__MAX_KEY)
			return jlog__fail(-EINVAL, "%s.keys[%zu]: longer than %u bytes", where, i,
			                  JLOG__MAX_KEY);
		total += l + 1;
		nseg++;
		for (size_t j = 0; j < l; j++)
			nseg += k[j] == '.';
	}
	r->rules = calloc(o->nkeys ? o->nkeys : 1, sizeof(*r->rules));
	r->segs = calloc(nseg ? nseg : 1, sizeof(*r->segs));
	r->text = malloc(total ? total : 1);
	if (!r->rules || !r->segs || !r->text)
		return -ENOMEM;
	char *t = r->text;
	struct seg *g = r->segs;
	for (size_t i = 0; i < o->nkeys; i++) {
		const char *k = o->keys[i];
		size_t l = strlen(k);
		for (size_t j = 0; j < l; j++)
			t[j] = r->fold ? (char)lower((unsigned char)k[j]) : k[j];
		t[l] = '\0';
		struct rule *u = &r->rules[i];
		u->segs = g;
		u->path = strchr(k, '.') != NULL;
		for (size_t s = 0; s <= l;) {
			size_t e = s;
			while (e < l && t[e] != '.')
				e++;
			if (e == s)
				return jlog__fail(-EINVAL, "%s.keys[%zu]: \"%s\" has an empty segment", where,
				                  i, k);
			g->p = t + s;
			g->len = e - s;
			g->any = g->len == 2 && t[s] == '*' && t[s + 1] == '*';
			g->glob = memchr(t + s, '*', g->len) || memchr(t + s, '?', g->len);
			if (!g->any && g->len >= 2 && strstr(t + s, "**") && strstr(t + s, "**") < t + e)
				return jlog__fail(-EINVAL, "%s.keys[%zu]: \"**\" must be a whole segment in "
				                           "\"%s\"", where, i, k);
			g++;
			u->nseg++;
			s = e + 1;
		}
		if (!u->path && u->segs[0].any)
			u->segs[0].any = false; /* "**" alone: any key, as "*" */
		t += l + 1;
	}
	r->nrules = o->nkeys;
	return 0;
}

int jlog__redact_compile(const jlog_redact_options *o, const char *where,
                         struct jlog__redact **out)
{
	*out = NULL;
	if (!o)
		return 0;
	if (o->nkeys && !o->keys)
		return jlog__fail(-EINVAL, "%s.keys: NULL with nkeys %zu", where, o->nkeys);
	if (o->mode != JLOG_REDACT_REPLACE && o->mode != JLOG_REDACT_REMOVE &&
	    o->mode != JLOG_REDACT_HASH)
		return jlog__fail(-EINVAL, "%s.mode: unknown mode %d", where, (int)o->mode);
	if (o->detect & ~(JLOG_DETECT_BEARER | JLOG_DETECT_LUHN | JLOG_DETECT_KEYS))
		return jlog__fail(-EINVAL, "%s.detect: unknown detector bits 0x%x", where, o->detect);
	struct jlog__redact *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->mode = o->mode;
	r->fold = !o->case_sensitive;
	r->detect = o->detect;
	jlog__buf_init(&r->out);
	const char *repl = o->replacement ? o->replacement : DEFAULT_REPLACEMENT;
	r->repl_len = strlen(repl);
	r->repl = strdup(repl);
	int rc = r->repl ? escape_replacement(r) : -ENOMEM;
	if (rc == 0)
		rc = compile_rules(r, o, where);
	if (rc == 0 && o->mode == JLOG_REDACT_HASH)
		rc = load_key(r, o, where);
	if (rc == 0 && !r->nrules && !r->detect) {
		jlog__redact_free(r);
		return 0;
	}
	if (rc < 0) {
		jlog__redact_free(r);
		return rc == -ENOMEM ? jlog__fail(rc, "%s: out of memory", where) : rc;
	}
	*out = r;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	unsigned bit;
} detectors[] = {
	{"bearer", JLOG_DETECT_BEARER},
	{"luhn", JLOG_DETECT_LUHN},
	{"keys", JLOG_DETECT_KEYS},
};
static const char *const mode_names[] = {"replace", "remove", "hash"};

static int parse_strings(const json_t *v, const char *path, const char ***out, size_t *n,
                         char *err, size_t errlen)
{
	if (!json_is_array(v))
		return jlog__cfg_fail(err, errlen, path, "expected an array, got %s", jlog__cfg_type_name(v));
	size_t count = json_array_size(v);
	const char **a = calloc(count ? count : 1, sizeof(*a));
	if (!a)
		return jlog__cfg_fail(err, errlen, path, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const json_t *e = json_array_get(v, i);
		if (!json_is_string(e)) {
			free(a);
			char p[160];
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			return jlog__cfg_fail(err, errlen, p, "expected a string, got %s", jlog__cfg_type_name(e));
		}
		a[i] = json_string_value(e);
	}
	*out = a;
	*n = count;
	return 0;
}

int jlog__redact_parse(const json_t *v, const char *path, jlog_redact_options *o,
                       const char ***keys, char *err, size_t errlen)
{
	jlog_redact_options_init(o);
	*keys = NULL;
	if (!json_is_object(v))
		return jlog__cfg_fail(err, errlen, path, "expected an object, got %s", jlog__cfg_type_name(v));
	const char *key;
	json_t *f;
	json_object_foreach((json_t *)v, key, f) {
		char p[160];
		snprintf(p, sizeof(p), "%s.%.60s", path, key);
		int rc = 0;
		const char *s = NULL;
		if (strcmp(key, "keys") == 0) {
			free(*keys);
			*keys = NULL;
			rc = parse_strings(f, p, keys, &o->nkeys, err, errlen);
			o->keys = *keys;
		} else if (strcmp(key, "mode") == 0) {
			rc = jlog__cfg_string(f, p, &s, err, errlen);
			size_t m = 0;
			while (rc == 0 && m < 3 && strcasecmp(s, mode_names[m]) != 0)
				m++;
			if (rc == 0 && m == 3)
				rc = jlog__cfg_fail(err, errlen, p,
				                    "expected \"replace\", \"remove\" or \"hash\", got \"%s\"", s);
			o->mode = (jlog_redact_mode)m;
		} else if (strcmp(key, "replacement") == 0) {
			rc = jlog__cfg_string(f, p, &o->replacement, err, errlen);
		} else if (strcmp(key, "case_sensitive") == 0) {
			rc = jlog__cfg_bool(f, p, &o->case_sensitive, err, errlen);
		} else if (strcmp(key, "hash_key_file") == 0) {
			rc = jlog__cfg_string(f, p, &o->hash_key_file, err, errlen);
		} else if (strcmp(key, "hash_key_env") == 0) {
			rc = jlog__cfg_string(f, p, &o->hash_key_env, err, errlen);
		} else if (strcmp(key, "detect") == 0) {
			const char **names = NULL;
			size_t n = 0;
			rc = parse_strings(f, p, &names, &n, err, errlen);
			for (size_t i = 0; rc == 0 && i < n; i++) {
				size_t d = 0;
				while (d < 3 && strcasecmp(names[i], detectors[d].name) != 0)
					d++;
				if (d == 3) {
					char pi[200];
					snprintf(pi, sizeof(pi), "%s[%zu]", p, i);
					rc = jlog__cfg_fail(err, errlen, pi,
					                    "unknown detector \"%s\" (bearer, luhn, keys)", names[i]);
				} else {
					o->detect |= detectors[d].bit;
				}
			}
			free(names);
		} else {
			rc = jlog__cfg_fail(err, errlen, p, "unknown key (keys, mode, replacement, "
			                    "case_sensitive, hash_key_file, hash_key_env, detect)");
		}
		if (rc < 0) {
			free(*keys);
			*keys = NULL;
			return rc;
		}
	}
	/* What jlog_open() would refuse (the hash key included), said here
	 * with the document's path. */
	struct jlog__redact *r;
	jlog__set_last_error("%s", "");
	int rc = jlog__redact_compile(o, path, &r);
	if (rc < 0) {
		free(*keys);
		*keys = NULL;
		return jlog__cfg_fail(err, errlen, "", "%s", *jlog_last_error() ? jlog_last_error()
		                                                                : jlog_strerror(rc));
	}
	jlog__redact_free(r);
	return 0;
}

json_t *jlog__redact_to_json(const jlog_redact_options *o)
{
	json_t *j = json_object(), *keys = json_array(), *det = json_array();
	if (!j || !keys || !det) {
		json_decref(j);
		json_decref(keys);
		json_decref(det);
		return NULL;
	}
	for (size_t i = 0; i < o->nkeys; i++)
		json_array_append_new(keys, json_string(o->keys[i]));
	for (size_t d = 0; d < 3; d++)
		if (o->detect & detectors[d].bit)
			json_array_append_new(det, json_string(detectors[d].name));
	json_object_set_new(j, "keys", keys);
	json_object_set_new(j, "mode", json_string(mode_names[o->mode <= 2 ? o->mode : 0]));
	json_object_set_new(j, "replacement",
	                    json_string(o->replacement ? o->replacement : DEFAULT_REPLACEMENT));
	json_object_set_new(j, "case_sensitive", json_boolean(o->case_sensitive));
	if (o->hash_key_file)
		json_object_set_new(j, "hash_key_file", json_string(o->hash_key_file));
	if (o->hash_key_env)
		json_object_set_new(j, "hash_key_env", json_string(o->hash_key_env));
	json_object_set_new(j, "detect", det);
	return j;
}
