/*
 * The JSON encoder: a decoded record becomes one line of JSON (RFC 8259)
 * ending in '\n'. It writes bytes directly; jansson is only the oracle the
 * tests compare against. Whatever the record holds (control characters,
 * invalid UTF-8, NaN, duplicate keys), the line is one valid JSON object
 * with no raw newline inside (DESIGN.md property 1).
 *
 * Everything here runs on the writer thread, which is why the key scratch
 * space below is thread-local rather than locked. The parts it builds on
 * are their own files: buf.c (the output buffer), utf8.h (the sequence
 * check), dtoa.c (doubles), time-format.c (timestamps).
 */
#include "jlog-private.h"
#include "digits.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Strings                                                                  */
/* ------------------------------------------------------------------------ */

/* Byte classes: P is copied as is, E needs an escape, U starts (or is a
 * stray part of) a multi-byte UTF-8 sequence and must be validated. */
enum { P = 0, E = 1, U = 2 };
static const uint8_t byte_class[256] = {
	E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, /* 0x00 */
	E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, /* 0x10 */
	P, P, E, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x20 '"' */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x30 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x40 */
	P, P, P, P, P, P, P, P, P, P, P, P, E, P, P, P, /* 0x50 '\\' */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x60 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, E, /* 0x70 DEL */
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, /* 0x80 */
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};

/* The two-character escapes JSON offers; other E bytes use \u00XX. */
static const char short_escape[128] = {
	['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
	['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/*
 * True when all eight bytes of @x are class P. Each term leaves a high bit
 * set in some byte exactly when a byte of that kind is present (the
 * "haszero"/"hasless" tricks): below 0x20; 0x7f or above (x + 1 carries
 * into the high bit only for 0x7f, and bytes of 0x80 or above already have
 * it); '"'; '\\'.
 */
static inline bool plain8(uint64_t x)
{
	uint64_t ctl = (x - ONES * 0x20) & ~x;
	uint64_t q = x ^ (ONES * '"');
	uint64_t bs = x ^ (ONES * '\\');
	q = (q - ONES) & ~q;
	bs = (bs - ONES) & ~bs;
	return ((ctl | x | (x + ONES) | q | bs) & HIGHS) == 0;
}

#ifdef __SSE2__
/* plain8() for 16 bytes at once: a signed compare below 0x20 also takes
 * every byte of 0x80 or above (negative), as plain8()'s high-bit term does. */
static inline bool plain16(__m128i x)
{
	__m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
	                           _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
	bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
	                                     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
	return _mm_movemask_epi8(bad) == 0;
}

/* Two words at once, for strings under 16 bytes. */
static inline bool plain8x2(uint64_t x, uint64_t y)
{
	return plain16(_mm_set_epi64x((long long)y, (long long)x));
}
#else
static inline bool plain8x2(uint64_t x, uint64_t y)
{
	return plain8(x) && plain8(y);
}
#endif

/*
 * True when all @n bytes at @p are class P, read with whole-word loads
 * only: a tail shorter than a word is checked with a load that overlaps
 * bytes already checked, a string under four bytes is padded with 'a'.
 * Keys and most values are plain ASCII: str_body() then copies them
 * without a byte loop. With SSE2, 16 bytes are checked at a time, and a
 * string under 16 bytes in one check of its two words.
 */
static inline bool all_plain(const unsigned char *p, size_t n)
{
	uint64_t x, y;
	if (n >= 16) {
		size_t i = 0;
#ifdef __SSE2__
		for (; i + 16 <= n; i += 16)
			if (!plain16(_mm_loadu_si128((const __m128i *)(const void *)(p + i))))
				return false;
		return i == n ||
		       plain16(_mm_loadu_si128((const __m128i *)(const void *)(p + n - 16)));
#else
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, p + i, 8);
			if (!plain8(x))
				return false;
		}
		if (i == n)
			return true;
		memcpy(&x, p + n - 8, 8);
		return plain8(x);
#endif
	}
	if (n >= 8) {
		memcpy(&x, p, 8);
		memcpy(&y, p + n - 8, 8);
		return plain8x2(x, y);
	}
	y = ONES * 'a';
	if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return plain8x2(lo | (uint64_t)hi << 32, y);
	}
	x = y;
	if (n > 0) {
		x = (x << 24) | (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
	}
	return plain8x2(x, y);
}

/* \u00XX (or a short escape) for a C0 control, '"', '\\', DEL or, from
 * str_body()'s and put_json_text()'s C1 check, a C1 control (c < 0xa0). */
static void put_escape(struct jlog__buf *b, unsigned c)
{
	static const char hex[] = "0123456789abcdef";
	if (!jlog__buf_room(b, 6))
		return;
	char *o = b->p + b->len;
	o[0] = '\\';
	if (c < 0x80 && short_escape[c]) {
		o[1] = short_escape[c];
		b->len += 2;
		return;
	}
	o[1] = 'u';
	o[2] = '0';
	o[3] = '0';
	o[4] = hex[c >> 4];
	o[5] = hex[c & 15];
	b->len += 6;
}

/*
 * The body of a JSON string, without quotes. Runs of bytes that need no
 * change (plain ASCII and valid multi-byte sequences) are found first and
 * copied with one memcpy; ASCII is scanned eight bytes at a time.
 */
static void str_body(struct jlog__buf *b, const char *s, size_t n)
{
	if (n == 0)
		return; /* s may be NULL then */
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
	if (all_plain(p, n)) {
		jlog__buf_put(b, s, n);
		return;
	}

	while (p < end) {
		uint64_t x;
		while ((size_t)(end - p) >= 8) {
			memcpy(&x, p, 8);
			if (!plain8(x))
				break;
			p += 8;
		}
		while (p < end && byte_class[*p] == P)
			p++;
		if (p == end)
			break;

		unsigned c = *p;
		size_t len = 1;
		if (byte_class[c] == U) {
			enum jlog__utf8_status st = jlog__utf8_check(p, end, &len);
			/* U+2028 and U+2029 are valid JSON but end a line in
			 * JavaScript, so they are escaped like newlines; the C1
			 * controls U+0080..U+009F (C2 80..C2 9F) like the C0
			 * ones: NEL ends a line for some readers (Python's
			 * splitlines()), CSI starts a terminal escape. */
			bool line_sep = st == JLOG__UTF8_VALID && c == 0xe2 && p[1] == 0x80 &&
			                (p[2] == 0xa8 || p[2] == 0xa9);
			bool c1 = st == JLOG__UTF8_VALID && c == 0xc2 && p[1] < 0xa0;
			if (st == JLOG__UTF8_VALID && !line_sep && !c1) {
				p += len;
				continue;
			}
			if (p > run)
				jlog__buf_put(b, run, (size_t)(p - run));
			if (line_sep)
				jlog__buf_put(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			else if (c1)
				put_escape(b, p[1]);
			else
				jlog__buf_lit(b, "\xef\xbf\xbd");
		} else {
			if (p > run)
				jlog__buf_put(b, run, (size_t)(p - run));
			put_escape(b, c);
		}
		p += len;
		run = p;
	}
	if (p > run)
		jlog__buf_put(b, run, (size_t)(p - run));
}

void jlog__json_str(struct jlog__buf *b, const char *s, size_t n)
{
	jlog__buf_putc(b, '"');
	str_body(b, s, n);
	jlog__buf_putc(b, '"');
}

void jlog__json_str_truncated(struct jlog__buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = n;

	/* A sequence cut by the truncation would otherwise show up as a
	 * U+FFFD just before the ellipsis. Only a sequence that is a valid
	 * start cut short by the end of the value is dropped; genuinely
	 * invalid bytes are still replaced. */
	while (i > 0 && n - i < 3 && (u[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && u[i - 1] >= 0xc0) {
		size_t len;
		if (jlog__utf8_check(u + i - 1, u + n, &len) == JLOG__UTF8_INCOMPLETE)
			n = i - 1;
	}
	jlog__buf_putc(b, '"');
	str_body(b, s, n);
	jlog__buf_lit(b, "\xe2\x80\xa6\"");
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

/* put_magnitude() for 64-bit values and a buffer that must grow. Out of
 * line, so that the common case needs no stack frame for its buffer. */
static __attribute__((noinline)) void put_magnitude_slow(struct jlog__buf *b, uint64_t mag,
                                                          bool neg)
{
	char tmp[21];
	char *p = jlog__fmt_u64(tmp + sizeof(tmp), mag);
	if (neg)
		*--p = '-';
	jlog__buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* A number below 2^32 is written in place, its length counted first, so
 * that it is neither formatted into a copy nor copied (jlog__u32_digits());
 * a larger one goes through jlog__fmt_u64(). @neg: a '-' first. */
static inline void put_magnitude(struct jlog__buf *b, uint64_t mag, bool neg)
{
	if (JLOG__LIKELY(mag <= UINT32_MAX) && JLOG__LIKELY(b->cap - b->len >= 11)) {
		char *o = b->p + b->len;
		*o = '-';
		o += neg;
		unsigned n = jlog__u32_digits((uint32_t)mag);
		jlog__fmt_u32(o + n, (uint32_t)mag);
		b->len += neg + n;
		return;
	}
	put_magnitude_slow(b, mag, neg);
}

void jlog__json_uint(struct jlog__buf *b, uint64_t v)
{
	put_magnitude(b, v, false);
}

void jlog__json_int(struct jlog__buf *b, int64_t v)
{
	/* Negating in unsigned arithmetic is defined for INT64_MIN too. */
	put_magnitude(b, v < 0 ? 0u - (uint64_t)v : (uint64_t)v, v < 0);
}

/* jlog__json_double() into a buffer that must grow: out of line, so that
 * the common case needs no stack frame. */
static __attribute__((noinline)) void json_double_slow(struct jlog__buf *b, double v)
{
	char tmp[32];
	size_t n = jlog__fmt_double(tmp, v);
	jlog__buf_put(b, tmp, n);
}

void jlog__json_double(struct jlog__buf *b, double v)
{
	/* Straight into the buffer when it has the 32 bytes that
	 * jlog__fmt_double() may write (encode.h). */
	if (JLOG__LIKELY(b->cap - b->len >= 32)) {
		b->len += jlog__fmt_double(b->p + b->len, v);
		return;
	}
	json_double_slow(b, v);
}

/* ------------------------------------------------------------------------ */
/* Field keys                                                               */
/* ------------------------------------------------------------------------ */


/*
 * The part of a line that depends only on the callsite and the process,
 * ,"file":"x.c","line":42,"function":"f","pid":42, as last printed for a
 * callsite id (direct-mapped on the id's low bits) and pid. A busy writer prints the same
 * few callsites over and over: this saves two escaped strings, two
 * strlen() and an integer per line (standard record: 180 -> 173 ns,
 * bench-encode.c).
 */
#define SITE_SLOTS 256u
#define SITE_TEXT 200u
struct site_ent {
	uint32_t id; /* 0: empty */
	uint32_t len;
	pid_t pid;
	char text[SITE_TEXT];
};

/*
 * Duplicate keys are decided on the key as it will be printed: "fields."
 * prepended to a reserved key, invalid UTF-8 (and NUL) replaced, escapes
 * applied. Comparing raw bytes would miss "\x80" against "\xff" (both
 * print as U+FFFD), and a user key "fields.time" against a renamed "time".
 * Escaping is one-to-one on valid UTF-8, so equal printed keys mean equal
 * JSON keys. Each field is decoded once into a scratch array (struct
 * jlog__key_ent), its printed key into a scratch buffer, and the line is
 * written from there; fields.c marks the duplicates.
 */

/*
 * The fields' keys of the last line of a callsite (same slots as the
 * sites): their raw bytes as in the record, and what collect_fields() and
 * mark_duplicates() made of them (printed keys, which are skipped). The
 * printed keys and the duplicates depend only on the raw keys and their
 * order, so a line whose raw keys equal these takes them as they are
 * instead of printing and comparing every key again (standard record:
 * 103-112 -> 83-88 ns, jlog-bench-encode).
 */
#define KEYS_MAX 32u
#define KEYS_RAW 384u
#define KEYS_TEXT 448u
/* Each printed key framed as the line has it, ,"key": (4 bytes more). */
#define KEYS_FRAMED (KEYS_TEXT + 4u * KEYS_MAX)
struct keys_ent {
	uint32_t id; /* callsite; 0: empty */
	uint32_t n;  /* fields */
	uint32_t text_len;
	uint16_t raw_len[KEYS_MAX];
	uint16_t off[KEYS_MAX], len[KEYS_MAX]; /* in text */
	uint16_t foff[KEYS_MAX];               /* in framed; length len + 4 */
	bool skip[KEYS_MAX];
	char raw[KEYS_RAW];
	char text[KEYS_TEXT];
	char framed[KEYS_FRAMED];
};

/* The fragment of a line from the level's key to the message's,
 * ,"level":"INFO","message": for the level name last printed (its
 * pointer: names are static or never freed, level.c), and its number
 * when it is a named level, whose name never changes (a custom level's
 * may appear later), so that no lookup is needed. */
#define LEVEL_TEXT 96u
struct level_ent {
	const char *name;
	int named; /* the named level's number, or -1 */
	uint32_t len;
	char text[LEVEL_TEXT];
};

/* ,"tid":N for the thread id last printed. */
struct tid_ent {
	uint32_t tid;
	uint32_t len; /* 0: empty */
	char text[20];
};

struct scratch {
	struct site_ent sites[SITE_SLOTS];
	struct keys_ent keys_cache[SITE_SLOTS];
	struct level_ent level;
	struct tid_ent tid;
	struct jlog__buf keys;
	struct jlog__key_ent *ent;
	size_t ent_cap;
	uint32_t *table; /* open addressing; entry index + 1, 0 = empty */
	size_t table_cap;
};


/* The scratch space of this thread. The pthread key exists only to free it
 * when the thread exits; the _Thread_local pointer is the fast way in. */
/* initial-exec, as time_cache: a %fs-relative load instead of two
 * __tls_get_addr() calls per line (33 instructions per line in the
 * writer; callgrind, bench/hotpath.c with --toggle-collect=writer_main). */
static _Thread_local struct scratch *tls_scratch __attribute__((tls_model("initial-exec")));

static void scratch_free(void *p)
{
	struct scratch *s = p;
	jlog__buf_finish(&s->keys);
	free(s->ent);
	free(s->table);
	free(s);
	tls_scratch = NULL;
}

/* The key buffer is allocated up front so that keys.p is never NULL, even
 * when every key is empty. */
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

/* The keys of the schema. Every field key goes through this, so the
 * comparisons are by length first, with constant sizes the compiler turns
 * into integer compares. */
static bool is_reserved(const char *k, size_t n)
{
#define IS(s) (memcmp(k, s, sizeof(s) - 1) == 0)
	switch (n) {
	case 3:
		return IS("pid") || IS("tid");
	case 4:
		return IS("time") || IS("file") || IS("line");
	case 5:
		return IS("level");
	case 6:
		return IS("logger");
	case 7:
		return IS("message") || IS("dropped");
	case 8:
		return IS("function");
	case 9:
		return IS("truncated");
	default:
		return false;
	}
#undef IS
}

/* A key as printed. jansson, like most consumers written in C, cannot hold
 * a NUL byte in an object key (it refuses "\u0000" there), so a NUL in a
 * key becomes U+FFFD; in values it is escaped. */
static void key_body(struct jlog__buf *b, const char *k, size_t n)
{
	const char *nul;
	/* Plain ASCII has no NUL: no memchr() (5 per standard line). */
	if (all_plain((const unsigned char *)k, n)) {
		jlog__buf_put(b, k, n);
		return;
	}
	while (n && (nul = memchr(k, '\0', n)) != NULL) {
		str_body(b, k, (size_t)(nul - k));
		jlog__buf_lit(b, "\xef\xbf\xbd");
		n -= (size_t)(nul - k) + 1;
		k = nul + 1;
	}
	str_body(b, k, n);
}

/* Decode every field once and print its key into the scratch buffer;
 * *count gets the number of fields. */
static bool collect_fields(struct scratch *s, const struct jlog__rec_view *v, size_t *count)
{
	const uint8_t *cur = v->fields;
	size_t n = 0;
	const struct jlog__field_view *fv = jlog__rec_decoded(v);

	s->keys.len = 0;
	s->keys.failed = false;
	while (n < v->nfields) {
		if (n == s->ent_cap && !jlog__key_ents_grow(&s->ent, &s->ent_cap))
			return false;
		struct jlog__key_ent *e = &s->ent[n];
		if (fv) {
			if (n == v->fv_n)
				break;
			e->f = fv[n];
		} else if (!jlog__field_next(v, &cur, &e->f)) {
			break;
		}
		n++;
		e->off = s->keys.len;
		if (is_reserved(e->f.key, e->f.key_len))
			jlog__buf_lit(&s->keys, "fields.");
		key_body(&s->keys, e->f.key, e->f.key_len);
		e->len = s->keys.len - e->off;
		e->skip = false;
	}
	*count = n;
	return !s->keys.failed;
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Copy jansson's compact text, which is valid JSON already, escaping what
 * str_body() escapes and jansson leaves raw: DEL, the C1 controls and
 * U+2028/U+2029. Outside string literals jansson writes only printable
 * ASCII, so every such byte (sequence) is inside a string, where the
 * escape means the same character.
 */
static void put_json_text(struct jlog__buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
	while (p < end) {
		unsigned c = *p;
		if (c != 0x7f && c != 0xc2 && c != 0xe2) {
			p++;
			continue;
		}
		size_t len = 1;
		if (c == 0xc2 && end - p >= 2 && p[1] < 0xa0)
			len = 2;
		else if (c == 0xe2 && end - p >= 3 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			len = 3;
		else if (c != 0x7f) {
			p++;
			continue;
		}
		jlog__buf_put(b, run, (size_t)(p - run));
		if (len == 3)
			jlog__buf_put(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
		else
			put_escape(b, len == 2 ? p[1] : c);
		p += len;
		run = p;
	}
	jlog__buf_put(b, run, (size_t)(end - run));
}

/* jlog__json_str(), with a short plain string (most values, the message)
 * quoted and copied here in one append. */
static inline void put_str(struct jlog__buf *b, const char *s, size_t n)
{
	if (n <= 64 && all_plain((const unsigned char *)s, n) && jlog__buf_room(b, n + 2)) {
		char *o = b->p + b->len;
		o[0] = '"';
		jlog__copy_bytes(o + 1, s, n);
		o[n + 1] = '"';
		b->len += n + 2;
		return;
	}
	jlog__json_str(b, s, n);
}

/* Always inline: out of line, its prologue and epilogue cost nearly as
 * much as what it does for a number or a short string. */
static inline __attribute__((always_inline)) void put_value(struct jlog__buf *b,
                                                            const struct jlog__field_view *f)
{
	/* Strings before the switch: the most common type, and one compare
	 * costs them less than the switch's jump table. */
	if (JLOG__LIKELY(f->type == JLOG__T_STR)) {
		if (f->flags & JLOG__FIELD_TRUNCATED)
			jlog__json_str_truncated(b, f->v.s, f->val_len);
		else
			put_str(b, f->v.s, f->val_len);
		return;
	}
	switch (f->type) {
	case JLOG__T_JSON:
		put_json_text(b, f->v.s, f->val_len);
		break;
	case JLOG__T_INT:
		jlog__json_int(b, f->v.i);
		break;
	case JLOG__T_UINT:
		jlog__json_uint(b, f->v.u);
		break;
	case JLOG__T_DOUBLE:
		jlog__json_double(b, f->v.d);
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

/* The same for the presets (encode-preset.c); put_value() stays inline
 * in this file's hot loop (40 instructions per record). */
void jlog__json_value(struct jlog__buf *b, const struct jlog__field_view *f)
{
	put_value(b, f);
}

/* Decode the fields of @v, taking their keys from @k when the raw keys
 * are the same. Returns false (and the caller does the full work) when
 * they are not. For a view without decoded fields; one with them is
 * compared while it is printed (put_fields_decoded()). */
static bool collect_cached(struct scratch *s, const struct keys_ent *k,
                           const struct jlog__rec_view *v, size_t *count)
{
	if (k->id != v->callsite || k->n != v->nfields)
		return false;
	while (s->ent_cap < k->n)
		if (!jlog__key_ents_grow(&s->ent, &s->ent_cap))
			return false;
	const uint8_t *cur = v->fields;
	const char *raw = k->raw;
	for (size_t i = 0; i < k->n; i++) {
		struct jlog__key_ent *e = &s->ent[i];
		if (!jlog__field_next(v, &cur, &e->f))
			return false;
		if (e->f.key_len != k->raw_len[i] || !jlog__bytes_equal(e->f.key, raw, e->f.key_len))
			return false;
		raw += e->f.key_len;
		e->off = k->off[i];
		e->len = k->len[i];
		e->skip = k->skip[i];
	}
	*count = k->n;
	return true;
}

/* Keep the keys of a line just collected for the next line of its
 * callsite, if they fit. */
static void keys_store(struct keys_ent *k, const struct scratch *s, uint32_t callsite,
                       size_t n)
{
	k->id = 0;
	if (n > KEYS_MAX || s->keys.len > KEYS_TEXT)
		return;
	size_t raw = 0;
	for (size_t i = 0; i < n; i++) {
		const struct jlog__key_ent *e = &s->ent[i];
		if (e->f.key_len > KEYS_RAW - raw)
			return;
		memcpy(k->raw + raw, e->f.key, e->f.key_len);
		raw += e->f.key_len;
		k->raw_len[i] = (uint16_t)e->f.key_len;
		k->off[i] = (uint16_t)e->off;
		k->len[i] = (uint16_t)e->len;
		k->skip[i] = e->skip;
	}
	memcpy(k->text, s->keys.p, s->keys.len);
	k->text_len = (uint32_t)s->keys.len;
	size_t f = 0;
	for (size_t i = 0; i < n; i++) {
		k->foff[i] = (uint16_t)f;
		memcpy(k->framed + f, ",\"", 2);
		memcpy(k->framed + f + 2, k->text + k->off[i], k->len[i]);
		memcpy(k->framed + f + 2 + k->len[i], "\":", 2);
		f += k->len[i] + 4u;
	}
	k->n = (uint32_t)n;
	k->id = callsite;
}

/* Whether @k holds the keys of @v's call site for as many fields as @v's
 * decoded ones (then put_fields_decoded() compares the keys themselves). */
static inline bool keys_may_fit(const struct keys_ent *k, const struct jlog__rec_view *v)
{
	return k->id == v->callsite && k->n == v->nfields && v->fv_n == k->n;
}

/* The fields of a line from the record's decoded fields @fv, with the
 * keys @k printed for the last line of the call site, when @fv's raw keys
 * are @k's: each is compared just before it is printed, one pass over the
 * fields. Returns false, with nothing of the fields left in @b, at the
 * first key that differs (then the caller prints the keys afresh);
 * put_fields() is the same from the scratch's entries. */
static bool put_fields_decoded(struct jlog__buf *b, const struct keys_ent *k,
                               const struct jlog__field_view *fv)
{
	size_t start = b->len;
	const char *raw = k->raw;
	for (size_t i = 0; i < k->n; i++) {
		size_t n = fv[i].key_len;
		if (n != k->raw_len[i] || !jlog__bytes_equal(fv[i].key, raw, n)) {
			b->len = start;
			return false;
		}
		raw += n;
		if (k->skip[i])
			continue;
		jlog__buf_put(b, k->framed + k->foff[i], k->len[i] + 4u);
		put_value(b, &fv[i]);
	}
	return true;
}

/* Print and mark @v's keys in @s (n of them in *count), and keep them in
 * @k (when not NULL) for the call site's next line. False when out of
 * memory (or no scratch). */
static bool keys_collect(struct scratch *s, struct keys_ent *k, const struct jlog__rec_view *v,
                         size_t *count)
{
	if (!s || !collect_fields(s, v, count) ||
	    !jlog__mark_duplicate_keys(s->keys.p, s->ent, *count, &s->table, &s->table_cap))
		return false;
	if (k)
		keys_store(k, s, v->callsite, *count);
	return true;
}

/* @text: the printed keys (the scratch's, or a keys_ent's). */
static void put_fields(struct jlog__buf *b, const struct scratch *s, const char *text,
                       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct jlog__key_ent *e = &s->ent[i];
		if (e->skip)
			continue;
		jlog__buf_lit(b, ",\"");
		jlog__buf_put(b, text + e->off, e->len);
		jlog__buf_lit(b, "\":");
		put_value(b, &e->f);
	}
}

void jlog__encode_json(struct jlog__buf *b, const struct jlog__rec_view *v,
                       const struct jlog__line_ctx *ctx)
{
	struct scratch *s = NULL;
	size_t n = 0;
	const char *key_text = NULL;
	struct keys_ent *k = NULL, *cached = NULL;
	const struct jlog__field_view *fv = jlog__rec_decoded(v);

	if (v->callsite)
		s = scratch_get(); /* NULL: no cache this time */
	if (v->nfields && v->fields) {
		s = s ? s : scratch_get();
		k = s && v->callsite ? &s->keys_cache[v->callsite % SITE_SLOTS] : NULL;
		if (k && fv && keys_may_fit(k, v)) {
			cached = k; /* its keys are compared as they are printed */
		} else if (k && !fv && collect_cached(s, k, v, &n)) {
			key_text = k->text;
		} else if (!keys_collect(s, k, v, &n)) {
			b->failed = true;
			return;
		} else {
			key_text = s->keys.p;
		}
	}

	jlog__buf_lit(b, "{\"time\":");
	jlog__json_time(b, v->time_ns);
	const char *name = NULL;
	bool level_hit = s && s->level.len && s->level.named == v->level;
	if (!level_hit) {
		name = jlog__level_name(v->level);
		level_hit = s && name && s->level.name == name;
	}
	if (level_hit) {
		jlog__buf_put(b, s->level.text, s->level.len);
	} else {
		size_t start = b->len;
		jlog__buf_lit(b, ",\"level\":\"");
		if (name)
			jlog__buf_put(b, name, strlen(name));
		else
			jlog__json_int(b, v->level);
		jlog__buf_lit(b, "\",\"message\":");
		if (s && name && !b->failed && b->len - start <= LEVEL_TEXT) {
			s->level.name = name;
			s->level.named = jlog__level_row(v->level) ? v->level : -1;
			s->level.len = (uint32_t)(b->len - start);
			memcpy(s->level.text, b->p + start, s->level.len);
		}
	}
	if (v->flags & JLOG__REC_MSG_TRUNCATED)
		jlog__json_str_truncated(b, v->msg, v->msg_len);
	else
		put_str(b, v->msg, v->msg_len);
	if (v->name_len) {
		jlog__buf_lit(b, ",\"logger\":");
		jlog__json_str(b, v->name, v->name_len);
	}
	struct site_ent *site = s && v->callsite ? &s->sites[v->callsite % SITE_SLOTS] : NULL;
	if (site && site->id == v->callsite && site->pid == ctx->pid) {
		jlog__buf_put(b, site->text, site->len);
	} else {
		size_t start = b->len;
		if (v->file) {
			jlog__buf_lit(b, ",\"file\":");
			jlog__json_str(b, v->file, strlen(v->file));
		}
		if (v->line > 0) {
			jlog__buf_lit(b, ",\"line\":");
			jlog__json_int(b, v->line);
		}
		if (v->function) {
			jlog__buf_lit(b, ",\"function\":");
			jlog__json_str(b, v->function, strlen(v->function));
		}
		jlog__buf_lit(b, ",\"pid\":");
		jlog__json_int(b, ctx->pid);
		if (site && !b->failed && b->len - start <= SITE_TEXT) {
			site->id = v->callsite;
			site->pid = ctx->pid;
			site->len = (uint32_t)(b->len - start);
			memcpy(site->text, b->p + start, site->len);
		}
	}
	if (s && s->tid.len && s->tid.tid == v->tid) {
		jlog__buf_put(b, s->tid.text, s->tid.len);
	} else {
		size_t start = b->len;
		jlog__buf_lit(b, ",\"tid\":");
		jlog__json_uint(b, v->tid);
		if (s && !b->failed && b->len - start <= sizeof(s->tid.text)) {
			s->tid.tid = v->tid;
			s->tid.len = (uint32_t)(b->len - start);
			memcpy(s->tid.text, b->p + start, s->tid.len);
		}
	}
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"truncated\":true");
	/* Drop reports are built by the writer as a view with no fields. */
	if (v->dropped) {
		jlog__buf_lit(b, ",\"dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	if (cached && !put_fields_decoded(b, cached, fv)) {
		/* A key differs from the last line's: print them afresh. */
		if (!keys_collect(s, k, v, &n)) {
			b->failed = true;
			return;
		}
		key_text = s->keys.p;
	}
	if (key_text)
		put_fields(b, s, key_text, n);
	jlog__buf_lit(b, "}\n");
}

