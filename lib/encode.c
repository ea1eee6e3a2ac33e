/*
 * The JSON encoder: a decoded record becomes one line of JSON (RFC 8259)
 * ending in '\n'. It writes bytes directly; jansson is only the oracle the
 * tests compare against. Whatever the record holds (control characters,
 * invalid UTF-8, NaN, duplicate keys), the line is one valid JSON object
 * with no raw newline inside (DESIGN.md property 1).
 *
 * Everything here runs on the writer thread, which is why the time cache
 * and the key scratch space below are thread-local rather than locked.
 */
#include "jlog-private.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Output buffer                                                            */
/* ------------------------------------------------------------------------ */

#define BUF_MIN_CAP 4096u

void jlog__buf_init(struct jlog__buf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void jlog__buf_finish(struct jlog__buf *b)
{
	free(b->p);
	jlog__buf_init(b);
}

bool jlog__buf_grow(struct jlog__buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return true;
	if (extra > SIZE_MAX - b->len)
		goto fail;
	size_t need = b->len + extra;
	/* Doubling keeps appends amortized O(1); the floor avoids a string
	 * of tiny reallocations for the first lines. */
	size_t cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

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

enum utf8_status { UTF8_VALID, UTF8_INVALID, UTF8_INCOMPLETE };

/*
 * Check the UTF-8 sequence at @p (p < end, *p >= 0x80) against Unicode's
 * table of well-formed byte sequences (3-7), whose narrowed second-byte
 * ranges exclude overlongs (E0, F0), surrogates (ED) and code points above
 * U+10FFFF (F4). Sets *len to the sequence's length when valid, otherwise
 * to the length of its maximal subpart: the lead byte plus the
 * continuation bytes that were still acceptable. Each maximal subpart is
 * replaced by one U+FFFD, as the Unicode standard and the WHATWG decoder
 * recommend. INCOMPLETE means the subpart was cut short only by @end.
 */
static enum utf8_status utf8_check(const unsigned char *p, const unsigned char *end,
                                   size_t *len)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*len = 1;
		return UTF8_INVALID;
	}
	for (size_t i = 1; i < need; i++) {
		if (p + i == end) {
			*len = i;
			return UTF8_INCOMPLETE;
		}
		if (p[i] < lo || p[i] > hi) {
			*len = i;
			return UTF8_INVALID;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*len = need;
	return UTF8_VALID;
}

static void put_escape(struct jlog__buf *b, unsigned c)
{
	static const char hex[] = "0123456789abcdef";
	if (!jlog__buf_room(b, 6))
		return;
	char *o = b->p + b->len;
	o[0] = '\\';
	if (short_escape[c]) {
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
			enum utf8_status st = utf8_check(p, end, &len);
			/* U+2028 and U+2029 are valid JSON but end a line in
			 * JavaScript, so they are escaped like newlines. */
			bool line_sep = st == UTF8_VALID && c == 0xe2 && p[1] == 0x80 &&
			                (p[2] == 0xa8 || p[2] == 0xa9);
			if (st == UTF8_VALID && !line_sep) {
				p += len;
				continue;
			}
			if (p > run)
				jlog__buf_put(b, run, (size_t)(p - run));
			if (line_sep)
				jlog__buf_put(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
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
		if (utf8_check(u + i - 1, u + n, &len) == UTF8_INCOMPLETE)
			n = i - 1;
	}
	jlog__buf_putc(b, '"');
	str_body(b, s, n);
	jlog__buf_lit(b, "\xe2\x80\xa6\"");
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

static const char digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Write @v in decimal so that it ends just before @end, two digits per
 * division; returns the start. */
static char *fmt_u64(char *end, uint64_t v)
{
	char *p = end;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

void jlog__json_uint(struct jlog__buf *b, uint64_t v)
{
	char tmp[20];
	char *p = fmt_u64(tmp + sizeof(tmp), v);
	jlog__buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jlog__json_int(struct jlog__buf *b, int64_t v)
{
	char tmp[21];
	/* Negating in unsigned arithmetic is defined for INT64_MIN too. */
	uint64_t mag = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
	char *p = fmt_u64(tmp + sizeof(tmp), mag);
	if (v < 0)
		*--p = '-';
	jlog__buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static bool reads_back(const char *text, double v)
{
	double r = strtod(text, NULL);
	return memcmp(&r, &v, sizeof(r)) == 0;
}

/*
 * The shortest of %.15g, %.16g and %.17g that strtod() reads back bit for
 * bit (17 digits always do). A normal double has 15.95 decimal digits of
 * precision, so when some string of 15 digits or fewer reads back, %.15g
 * (which drops trailing zeros) is that string. Subnormals have fewer digits
 * of precision, so for them the search starts at one digit: 5e-324 rather
 * than 4.94065645841247e-324.
 *
 * The formatting and the check both follow the C library's current locale;
 * a decimal point other than '.' (',' or a multi-byte one) is replaced
 * afterwards, so no locale object is needed.
 */
size_t jlog__fmt_double(char *out, double v)
{
	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	char tmp[48];
	int prec = v != 0 && fabs(v) < DBL_MIN ? 1 : 15;
	for (;; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (prec == 17 || reads_back(tmp, v))
			break;
	}

	size_t n = 0;
	bool real = false;
	for (const char *t = tmp; *t;) {
		char c = *t;
		if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
			out[n++] = c;
			real |= c == 'e';
			t++;
			continue;
		}
		out[n++] = '.';
		real = true;
		while (*t && !(*t >= '0' && *t <= '9') && *t != 'e')
			t++;
	}
	/* "100" would read back as an integer; keep it a real. */
	if (!real) {
		out[n++] = '.';
		out[n++] = '0';
	}
	out[n] = '\0';
	return n;
}

void jlog__json_double(struct jlog__buf *b, double v)
{
	char tmp[32];
	size_t n = jlog__fmt_double(tmp, v);
	jlog__buf_put(b, tmp, n);
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* The date and time of the last second formatted on this thread. A writer
 * formats many records per second, so the calendar arithmetic runs about
 * once a second. UINT64_MAX is never a second of a uint64_t ns time. */
static _Thread_local struct {
	uint64_t sec;
	char text[19]; /* YYYY-MM-DDTHH:MM:SS */
} time_cache = {UINT64_MAX, {0}};

static void put2(char *o, unsigned v)
{
	memcpy(o, digit_pairs + 2 * v, 2);
}

/* Civil date from days since 1970-01-01 (Howard Hinnant's
 * civil_from_days, restricted to non-negative days). */
static void format_second(char *o, uint64_t sec)
{
	uint64_t days = sec / 86400, rem = sec % 86400;
	uint64_t z = days + 719468;
	uint64_t era = z / 146097;
	uint64_t doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	unsigned y = (unsigned)(yoe + era * 400 + (m <= 2));

	/* A uint64_t of ns ends in 2554, so the year has four digits. */
	put2(o, y / 100);
	put2(o + 2, y % 100);
	o[4] = '-';
	put2(o + 5, m);
	o[7] = '-';
	put2(o + 8, d);
	o[10] = 'T';
	put2(o + 11, (unsigned)(rem / 3600));
	o[13] = ':';
	put2(o + 14, (unsigned)(rem / 60 % 60));
	o[16] = ':';
	put2(o + 17, (unsigned)(rem % 60));
}

void jlog__json_time(struct jlog__buf *b, uint64_t time_ns)
{
	uint64_t sec = time_ns / 1000000000u;
	unsigned us = (unsigned)(time_ns % 1000000000u / 1000u);
	if (sec != time_cache.sec) {
		format_second(time_cache.text, sec);
		time_cache.sec = sec;
	}
	char o[29];
	o[0] = '"';
	memcpy(o + 1, time_cache.text, 19);
	o[20] = '.';
	put2(o + 21, us / 10000);
	put2(o + 23, us / 100 % 100);
	put2(o + 25, us % 100);
	o[27] = 'Z';
	o[28] = '"';
	jlog__buf_put(b, o, sizeof(o));
}

/* ------------------------------------------------------------------------ */
/* Levels                                                                   */
/* ------------------------------------------------------------------------ */

const char *jlog__level_name(int level)
{
	switch (level) {
	case JLOG_LEVEL_TRACE:
		return "TRACE";
	case JLOG_LEVEL_DEBUG:
		return "DEBUG";
	case JLOG_LEVEL_INFO:
		return "INFO";
	case JLOG_LEVEL_SUCCESS:
		return "SUCCESS";
	case JLOG_LEVEL_WARNING:
		return "WARNING";
	case JLOG_LEVEL_ERROR:
		return "ERROR";
	case JLOG_LEVEL_CRITICAL:
		return "CRITICAL";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------------ */
/* Field keys                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Duplicate keys are decided on the key as it will be printed: "fields."
 * prepended to a reserved key, invalid UTF-8 (and NUL) replaced, escapes
 * applied. Comparing raw bytes would miss "\x80" against "\xff" (both
 * print as U+FFFD), and a user key "fields.time" against a renamed "time".
 * Escaping is one-to-one on valid UTF-8, so equal printed keys mean equal
 * JSON keys. Each field is decoded once into a scratch array, its printed
 * key into a scratch buffer, and the line is written from there.
 */
struct key_ent {
	struct jlog__field_view f;
	size_t off; /* of the printed key in scratch.keys */
	size_t len;
	uint32_t hash;
	bool skip; /* a later field has the same key */
};

struct scratch {
	struct jlog__buf keys;
	struct key_ent *ent;
	size_t ent_cap;
	uint32_t *table; /* open addressing; entry index + 1, 0 = empty */
	size_t table_cap;
};

/* Up to this many fields a pairwise scan is cheaper than a hash table. */
#define PAIRWISE_MAX 16

/* The scratch space of this thread. The pthread key exists only to free it
 * when the thread exits; the _Thread_local pointer is the fast way in. */
static _Thread_local struct scratch *tls_scratch;
static pthread_key_t scratch_key;
static bool scratch_key_ok;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
	struct scratch *s = p;
	jlog__buf_finish(&s->keys);
	free(s->ent);
	free(s->table);
	free(s);
	tls_scratch = NULL;
}

static void scratch_key_init(void)
{
	scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

static struct scratch *scratch_get(void)
{
	if (tls_scratch)
		return tls_scratch;
	pthread_once(&scratch_once, scratch_key_init);
	struct scratch *s = calloc(1, sizeof(*s));
	/* The key buffer is allocated up front so that keys.p is never NULL,
	 * even when every key is empty. */
	if (!s || !jlog__buf_grow(&s->keys, 1)) {
		free(s);
		return NULL;
	}
	/* Without a key (the process ran out of keys) the scratch outlives
	 * its thread; it still works. */
	if (scratch_key_ok)
		pthread_setspecific(scratch_key, s);
	tls_scratch = s;
	return s;
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
	while (n && (nul = memchr(k, '\0', n)) != NULL) {
		str_body(b, k, (size_t)(nul - k));
		jlog__buf_lit(b, "\xef\xbf\xbd");
		n -= (size_t)(nul - k) + 1;
		k = nul + 1;
	}
	str_body(b, k, n);
}

static bool grow_entries(struct scratch *s)
{
	size_t cap = s->ent_cap ? 2 * s->ent_cap : 64;
	struct key_ent *e = realloc(s->ent, cap * sizeof(*e));
	if (!e)
		return false;
	s->ent = e;
	s->ent_cap = cap;
	return true;
}

/* Decode every field once and print its key into the scratch buffer;
 * *count gets the number of fields. */
static bool collect_fields(struct scratch *s, const struct jlog__rec_view *v, size_t *count)
{
	const uint8_t *cur = v->fields;
	size_t n = 0;

	s->keys.len = 0;
	s->keys.failed = false;
	while (n < v->nfields) {
		if (n == s->ent_cap && !grow_entries(s))
			return false;
		struct key_ent *e = &s->ent[n];
		if (!jlog__field_next(v, &cur, &e->f))
			break;
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

static bool same_key(const struct scratch *s, const struct key_ent *a,
                     const struct key_ent *b)
{
	return a->len == b->len && memcmp(s->keys.p + a->off, s->keys.p + b->off, a->len) == 0;
}

/* FNV-1a: keys are short and come from the program's log calls, so a
 * fast hash does; it is not meant to resist chosen collisions. */
static uint32_t key_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* Mark every field that a later field overrides (the last one wins). */
static bool mark_duplicates(struct scratch *s, size_t n)
{
	if (n <= PAIRWISE_MAX) {
		for (size_t i = 0; i + 1 < n; i++)
			for (size_t j = i + 1; j < n && !s->ent[i].skip; j++)
				s->ent[i].skip = same_key(s, &s->ent[i], &s->ent[j]);
		return true;
	}

	/* At most half full, so probe sequences stay short. */
	size_t cap = 64;
	while (cap < 2 * n)
		cap *= 2;
	if (cap > s->table_cap) {
		uint32_t *t = realloc(s->table, cap * sizeof(*t));
		if (!t)
			return false;
		s->table = t;
		s->table_cap = cap;
	}
	memset(s->table, 0, cap * sizeof(*s->table));
	size_t mask = cap - 1;
	/* Walk backwards: the first occurrence seen is the one printed. */
	for (size_t i = n; i-- > 0;) {
		struct key_ent *e = &s->ent[i];
		e->hash = key_hash(s->keys.p + e->off, e->len);
		for (size_t k = e->hash & mask;; k = (k + 1) & mask) {
			uint32_t slot = s->table[k];
			if (slot == 0) {
				s->table[k] = (uint32_t)i + 1;
				break;
			}
			const struct key_ent *o = &s->ent[slot - 1];
			if (o->hash == e->hash && same_key(s, o, e)) {
				e->skip = true;
				break;
			}
		}
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Copy jansson's compact text, which is valid JSON already, escaping only
 * U+2028 and U+2029 as strings do here (jansson leaves them raw). Outside
 * string literals jansson writes only ASCII, so every E2 80 A8/A9 is inside
 * a string, where "\u2028" means the same character.
 */
static void put_json_text(struct jlog__buf *b, const char *s, size_t n)
{
	const char *end = s + n, *p = s, *e2;
	while ((e2 = memchr(p, 0xe2, (size_t)(end - p))) != NULL) {
		if (end - e2 >= 3 && (unsigned char)e2[1] == 0x80 &&
		    ((unsigned char)e2[2] == 0xa8 || (unsigned char)e2[2] == 0xa9)) {
			jlog__buf_put(b, s, (size_t)(e2 - s));
			jlog__buf_put(b, (unsigned char)e2[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			s = p = e2 + 3;
		} else {
			p = e2 + 1;
		}
	}
	jlog__buf_put(b, s, (size_t)(end - s));
}

static void put_value(struct jlog__buf *b, const struct jlog__field_view *f)
{
	switch (f->type) {
	case JLOG__T_STR:
		if (f->flags & JLOG__FIELD_TRUNCATED)
			jlog__json_str_truncated(b, f->v.s, f->val_len);
		else
			jlog__json_str(b, f->v.s, f->val_len);
		break;
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

static void put_fields(struct jlog__buf *b, const struct scratch *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct key_ent *e = &s->ent[i];
		if (e->skip)
			continue;
		jlog__buf_lit(b, ",\"");
		jlog__buf_put(b, s->keys.p + e->off, e->len);
		jlog__buf_lit(b, "\":");
		put_value(b, &e->f);
	}
}

void jlog__encode_json(struct jlog__buf *b, const struct jlog__rec_view *v,
                       const struct jlog__line_ctx *ctx)
{
	struct scratch *s = NULL;
	size_t n = 0;

	if (v->nfields && v->fields) {
		s = scratch_get();
		if (!s || !collect_fields(s, v, &n) || !mark_duplicates(s, n)) {
			b->failed = true;
			return;
		}
	}

	jlog__buf_lit(b, "{\"time\":");
	jlog__json_time(b, v->time_ns);
	jlog__buf_lit(b, ",\"level\":\"");
	const char *name = jlog__level_name(v->level);
	if (name)
		jlog__buf_put(b, name, strlen(name));
	else
		jlog__json_int(b, v->level);
	jlog__buf_lit(b, "\",\"message\":");
	if (v->flags & JLOG__REC_MSG_TRUNCATED)
		jlog__json_str_truncated(b, v->msg, v->msg_len);
	else
		jlog__json_str(b, v->msg, v->msg_len);
	if (v->name_len) {
		jlog__buf_lit(b, ",\"logger\":");
		jlog__json_str(b, v->name, v->name_len);
	}
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
	jlog__buf_lit(b, ",\"tid\":");
	jlog__json_uint(b, v->tid);
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"truncated\":true");
	/* Drop reports are built by the writer as a view with no fields. */
	if (v->dropped) {
		jlog__buf_lit(b, ",\"dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	if (s)
		put_fields(b, s, n);
	jlog__buf_lit(b, "}\n");
}
