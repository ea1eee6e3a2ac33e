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
#include <time.h>

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
	b->fixed = false;
}

void jlog__buf_finish(struct jlog__buf *b)
{
	free(b->p);
	jlog__buf_init(b);
}

#define BUF_MAX_CAP ((size_t)1 << 32)

bool jlog__buf_grow(struct jlog__buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return true;
	if (b->fixed)
		goto fail;
	/* No line is anywhere near this large (a record is at most 256 MiB
	 * before escaping); a request beyond it is a bug, refused before it
	 * reaches the allocator. */
	if (extra > BUF_MAX_CAP || b->len > BUF_MAX_CAP - extra)
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

/*
 * True when all @n bytes at @p are class P, read with whole-word loads
 * only: a tail shorter than a word is checked with a load that overlaps
 * bytes already checked, a string under four bytes is padded with 'a'.
 * Keys and most values are plain ASCII: str_body() then copies them
 * without a byte loop (standard record: 151 -> 118 ns per line together
 * with jlog__buf_put()'s inline short copy; jlog-bench-encode).
 */
static inline bool all_plain(const unsigned char *p, size_t n)
{
	uint64_t x;
	if (n >= 8) {
		size_t i = 0;
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, p + i, 8);
			if (!plain8(x))
				return false;
		}
		if (i == n)
			return true;
		memcpy(&x, p + n - 8, 8);
		return plain8(x);
	}
	if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return plain8(lo | (uint64_t)hi << 32);
	}
	x = ONES * 'a';
	if (n > 0) {
		x = (x << 24) | (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
	}
	return plain8(x);
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
			enum utf8_status st = utf8_check(p, end, &len);
			/* U+2028 and U+2029 are valid JSON but end a line in
			 * JavaScript, so they are escaped like newlines; the C1
			 * controls U+0080..U+009F (C2 80..C2 9F) like the C0
			 * ones: NEL ends a line for some readers (Python's
			 * splitlines()), CSI starts a terminal escape. */
			bool line_sep = st == UTF8_VALID && c == 0xe2 && p[1] == 0x80 &&
			                (p[2] == 0xa8 || p[2] == 0xa9);
			bool c1 = st == UTF8_VALID && c == 0xc2 && p[1] < 0xa0;
			if (st == UTF8_VALID && !line_sep && !c1) {
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

/*
 * Doubles. The contract is the output of fmt_double_printf() below, which
 * the tests keep a copy of: the shortest of %.15g, %.16g and %.17g that
 * strtod() reads back bit for bit. That costs 150-1500 ns a value (up to
 * three snprintf() and two strtod() calls), the writer thread's largest
 * cost, so jlog__fmt_double() computes the same digits itself (10-30 times
 * faster) and keeps the C library for the few values it cannot settle
 * (see fmt_double_fast).
 */

static bool reads_back(const char *text, double v)
{
	double r = strtod(text, NULL);
	return memcmp(&r, &v, sizeof(r)) == 0;
}

/*
 * The reference: the shortest of %.15g, %.16g and %.17g that strtod()
 * reads back bit for bit (17 digits always do). A normal double has 15.95
 * decimal digits of precision, so when some string of 15 digits or fewer
 * reads back, %.15g (which drops trailing zeros) is that string.
 * Subnormals have fewer digits of precision, so for them the search starts
 * at one digit: 5e-324 rather than 4.94065645841247e-324.
 *
 * The formatting and the check both follow the C library's current locale;
 * a decimal point other than '.' (',' or a multi-byte one) is replaced
 * afterwards, so no locale object is needed. @v is finite.
 */
static size_t fmt_double_printf(char *out, double v)
{
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

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

/* Write the @nd digits of @n (n < 10^nd, nd <= 17) at @d: the low eight
 * in four independent pairs, then two at a time. */
static void put_digits(char *d, uint64_t n, int nd)
{
	char *p = d + nd;
	if (nd > 8) {
		uint32_t lo = (uint32_t)(n % 100000000);
		uint32_t a = lo / 10000, b = lo % 10000;
		n /= 100000000;
		memcpy(p - 8, digit_pairs + 2 * (a / 100), 2);
		memcpy(p - 6, digit_pairs + 2 * (a % 100), 2);
		memcpy(p - 4, digit_pairs + 2 * (b / 100), 2);
		memcpy(p - 2, digit_pairs + 2 * (b % 100), 2);
		p -= 8;
	}
	uint32_t m = (uint32_t)n;
	for (; p - d >= 2; m /= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (m % 100), 2);
	}
	if (p > d)
		*--p = (char)('0' + m);
}

/*
 * Lay out @p significant digits @n (10^(p-1) <= n < 10^p) with decimal
 * exponent @x after @o as %.{p}g does in the C locale, with the ".0" the
 * reference adds to an integer. Returns the length from @out.
 */
static size_t put_g(char *out, char *o, uint64_t n, int p, int x)
{
	/* %g drops trailing zeros; 12.5 is 125000000000000 at p = 15. */
	int nd = p;
	while (n % 100000000 == 0) {
		n /= 100000000;
		nd -= 8;
	}
	if (n % 10000 == 0) {
		n /= 10000;
		nd -= 4;
	}
	if (n % 100 == 0) {
		n /= 100;
		nd -= 2;
	}
	if (n % 10 == 0) {
		n /= 10;
		nd -= 1;
	}
	/* The digits go straight to where they end up; a '.' after the
	 * first x + 1 is made room for by moving those one byte left, byte
	 * by byte so that the loads are served from the stores just made. */
	if (x < -4 || x >= p) {
		put_digits(o + 1, n, nd);
		o[0] = o[1];
		o += 1;
		if (nd > 1) {
			*o = '.';
			o += nd;
		}
		*o++ = 'e';
		*o++ = x < 0 ? '-' : '+';
		unsigned ax = x < 0 ? (unsigned)-x : (unsigned)x;
		if (ax >= 100) {
			*o++ = (char)('0' + ax / 100);
			ax %= 100;
		}
		memcpy(o, digit_pairs + 2 * ax, 2); /* at least two digits */
		o += 2;
	} else if (x < 0) {
		memcpy(o, "0.000", 5); /* "0." and -x-1 zeros */
		o += 1 - x;
		put_digits(o, n, nd);
		o += nd;
	} else if (nd <= x + 1) {
		put_digits(o, n, nd);
		o += nd;
		memset(o, '0', (size_t)(x + 1 - nd));
		o += x + 1 - nd;
		memcpy(o, ".0", 2);
		o += 2;
	} else {
		put_digits(o + 1, n, nd);
		for (int i = 0; i <= x; i++)
			o[i] = o[i + 1];
		o[x + 1] = '.';
		o += nd + 1;
	}
	*o = '\0';
	return (size_t)(o - out);
}

static const uint64_t pow10_64[20] = {
	1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u,
	100000000u, 1000000000u, 10000000000u, 100000000000u,
	1000000000000u, 10000000000000u, 100000000000000u,
	1000000000000000u, 10000000000000000u, 100000000000000000u,
	1000000000000000000u, 10000000000000000000u,
};

/* 10^(28i) for i = -11..12 as hi:lo * 2^q with hi:lo in [2^127, 2^128),
 * rounded down (computed with exact rationals); only 10^0 and 10^28 are
 * exact. Any 10^s, -308 <= s < 364, is one of these times 5^j * 2^j. */
static const struct {
	uint64_t hi, lo;
	int16_t q;
} pow10_28[24] = {
	{0xe61acf033d1a45dfu, 0x6fb92487298e33bdu, -1151}, /* 1e-308 */
	{0xe858ad248f5c22c9u, 0xd1b3400f8f9cff68u, -1058}, /* 1e-280 */
	{0xea9c227723ee8bcbu, 0x465e15a979c1cadcu, -965},  /* 1e-252 */
	{0xece53cec4a314ebdu, 0xa4f8bf5635246428u, -872},  /* 1e-224 */
	{0xef340a98172aace4u, 0x86fb897116c87c34u, -779},  /* 1e-196 */
	{0xf18899b1bc3f8ca1u, 0xdc44e6c3cb279ac1u, -686},  /* 1e-168 */
	{0xf3e2f893dec3f126u, 0x5a89dba3c3efccfau, -593},  /* 1e-140 */
	{0xf64335bcf065d37du, 0x4d4617b5ff4a16d5u, -500},  /* 1e-112 */
	{0xf8a95fcf88747d94u, 0x75a44c6397ce912au, -407},  /* 1e-84 */
	{0xfb158592be068d2eu, 0xeed6e2f0f0d56712u, -314},  /* 1e-56 */
	{0xfd87b5f28300ca0du, 0x8bca9d6e188853fcu, -221},  /* 1e-28 */
	{0x8000000000000000u, 0x0000000000000000u, -127},  /* 1e0 */
	{0x813f3978f8940984u, 0x4000000000000000u, -34},   /* 1e28 */
	{0x82818f1281ed449fu, 0xbff8f10e7a8921a4u, 59},    /* 1e56 */
	{0x83c7088e1aab65dbu, 0x792667c6da79e0fau, 152},   /* 1e84 */
	{0x850fadc09923329eu, 0x03e2cf6bc604ddb0u, 245},   /* 1e112 */
	{0x865b86925b9bc5c2u, 0x0b8a2392ba45a9b2u, 338},   /* 1e140 */
	{0x87aa9aff79042286u, 0x90fb44d2f05d0842u, 431},   /* 1e168 */
	{0x88fcf317f22241e2u, 0x441fece3bdf81f03u, 524},   /* 1e196 */
	{0x8a5296ffe33cc92fu, 0x82bd6b70d99aaa6fu, 617},   /* 1e224 */
	{0x8bab8eefb6409c1au, 0x1ad089b6c2f7548eu, 710},   /* 1e252 */
	{0x8d07e33455637eb2u, 0xdb0b487b6423e1e8u, 803},   /* 1e280 */
	{0x8e679c2f5e44ff8fu, 0x570f09eaa7ea7648u, 896},   /* 1e308 */
	{0x8fcac257558ee4e6u, 0x213a4f0aa5e8a7b1u, 989},   /* 1e336 */
};

static const uint64_t pow5_64[28] = {
	1u, 5u, 25u, 125u, 625u, 3125u, 15625u, 78125u, 390625u, 1953125u,
	9765625u, 48828125u, 244140625u, 1220703125u, 6103515625u,
	30517578125u, 152587890625u, 762939453125u, 3814697265625u,
	19073486328125u, 95367431640625u, 476837158203125u,
	2384185791015625u, 11920928955078125u, 59604644775390625u,
	298023223876953125u, 1490116119384765625u, 7450580596923828125u,
};

/* 10^s as *c * 2^*q, *c in [2^127, 2^128), less than 3 units of *c below
 * the true value (the table's error times 5^j, then a truncation).
 * Returns whether it is exact, as it is for 0 <= s <= 55. */
static bool pow10_128(int s, u128 *c, int *q)
{
	if (s >= 0 && s < 28) {
		/* 1e-11 <= v < 1e17, most values: 10^s = 5^s * 2^s. */
		uint64_t m = pow5_64[s];
		int z = __builtin_clzll(m);
		*c = (u128)(m << z) << 64;
		*q = s - z - 64;
		return true;
	}
	int i = s >= 0 ? s / 28 : -((27 - s) / 28);
	int j = s - 28 * i;
	uint64_t m = pow5_64[j];
	u128 lo = (u128)pow10_28[i + 11].lo * m;
	u128 hi = (u128)pow10_28[i + 11].hi * m + (uint64_t)(lo >> 64);
	uint64_t p0 = (uint64_t)lo;
	uint64_t top = (uint64_t)(hi >> 64);
	int t = top ? 64 - __builtin_clzll(top) : 0;
	bool exact = i == 0 || i == 1;
	if (t == 0) {
		*c = hi << 64 | p0;
	} else {
		*c = hi << (64 - t) | p0 >> t;
		exact = exact && p0 << (64 - t) == 0;
	}
	*q = pow10_28[i + 11].q + j + t;
	return exact;
}

/* A double scaled by a power of ten, in fixed point with 64 fraction bits:
 * w = v * 10^s, and the half-gaps to its neighbours (hg_lo is half of
 * hg_hi at a power of two, where the gap below is half the gap above).
 * strtod() returns v for exactly the reals within them, and for those at
 * the edge when v's mantissa is even. When not exact, w is less than 4
 * units (2^-64) below the truth (3 from 10^s, 1 from truncation) and the
 * half-gaps less than 2.5, and no decision closer than margin to its
 * threshold is taken. */
struct scaled {
	u128 w, hg_hi, hg_lo;
	u128 margin; /* 0 when exact */
	bool even;
};

#define SCALED_MARGIN 16 /* > 4 + 2.5: w and a half-gap, both off */

/* v = fn * 2^en with fn's top bit set, and lz the shift that set it. */
static bool scale10(struct scaled *r, uint64_t fn, int en, int lz, bool asym, int s)
{
	u128 c;
	int q;
	bool exact = pow10_128(s, &c, &q);
	/* fn * c is 192 bits; w is its top 128 after dropping 64 + t. */
	u128 lo = (u128)fn * (uint64_t)c;
	u128 hi = (u128)fn * (uint64_t)(c >> 64) + (uint64_t)(lo >> 64);
	int t = -(en + q + 64) - 64;
	int hs = t + 65 - lz; /* hg_hi = 2^(en + lz - 1) * 10^s * 2^64 */
	if (t < 0 || t > 63 || hs < 1 || hs > 126)
		return false; /* not reached for doubles; kept as a guard */
	r->w = hi >> t;
	exact = exact && (uint64_t)lo == 0 && (t == 0 || hi << (128 - t) == 0);
	r->hg_hi = c >> hs;
	r->hg_lo = c >> (hs + asym);
	exact = exact && c << (128 - hs - asym) == 0;
	r->margin = exact ? 0 : SCALED_MARGIN;
	return true;
}

/* Whether a decimal at distance @dist from v reads back as v, given the
 * half-gap @hg on its side: 1 yes, -1 no, 0 too close to call. */
static int reads_back_at(const struct scaled *r, u128 dist, u128 hg)
{
	if (dist + r->margin < hg)
		return 1;
	if (dist > hg + r->margin)
		return -1;
	if (r->margin)
		return 0;
	return r->even ? 1 : -1; /* strtod() rounds a tie to even */
}

/*
 * Round w to a multiple of @unit, ties to even, giving *n = the digits.
 * Returns 1 when that decimal reads back as v (@last: taken unchecked),
 * -1 when it does not, 0 when too close to call. Too close to a tie to
 * round is fine when neither neighbour reads back.
 */
static inline int round_w(const struct scaled *r, uint64_t unit, bool last, uint64_t *n)
{
	uint64_t wi = (uint64_t)(r->w >> 64);
	u128 below = (u128)(wi % unit) << 64 | (uint64_t)r->w; /* w - *n unit */
	u128 above = ((u128)unit << 64) - below;
	u128 half = (u128)unit << 63;
	bool tie = r->margin == 0 && below == half;
	*n = wi / unit;
	if (below > half + r->margin || (tie && (*n & 1))) {
		++*n;
		return last ? 1 : reads_back_at(r, above, r->hg_hi);
	}
	if (below + r->margin < half || tie)
		return last ? 1 : reads_back_at(r, below, r->hg_lo);
	if (last || reads_back_at(r, below, r->hg_lo) >= 0 ||
	    reads_back_at(r, above, r->hg_hi) >= 0)
		return 0;
	return -1;
}

/* The reference's search for a normal v: @unit is 10^(17 - 15) or 10^(18
 * - 15) depending on where w lies. A constant @unit lets the compiler turn
 * the divisions into multiplications. */
static inline int round_normal(const struct scaled *r, uint64_t unit, uint64_t *n, int *p)
{
	int in = round_w(r, unit, false, n);
	*p = 15;
	if (in < 0) {
		in = round_w(r, unit / 10, false, n);
		*p = 16;
	}
	if (in < 0) {
		in = round_w(r, unit / 100, true, n);
		*p = 17;
	}
	return in;
}

/*
 * The reference's digits without the C library. glibc's printf rounds the
 * exact binary value correctly (ties to even, in the default rounding
 * mode), and its strtod() is correctly rounded too, so the reference
 * amounts to: for p = 15, 16, 17 (1..17 for a subnormal), round v to p
 * significant digits, and keep the first result within half a gap of v
 * (p = 17 is kept unchecked). This is that procedure, not a shortest-digits
 * algorithm (Ryu, Schubfach), whose output can differ: at 49 powers of two
 * (2^-1017 is one), where the gap below is half the gap above, a 16-digit
 * string reads back while the nearest one, %.16g's, does not; the
 * reference then prints 17 digits where a shortest algorithm prints 16.
 *
 * Both questions are answered on w = v * 10^(16 - x) in [10^16, 10^18),
 * where x = floor(floor(log2 v) * log10 2): rounding to p digits rounds w
 * at the unit 10^(17 - p), or 10^(18 - p) when w >= 10^17 (x was one short
 * of floor(log10 v)).
 *
 * w comes from a 128-bit power of ten, so it is exact for 1e-11 <= v < 1e17
 * (10^s is then 5^s * 2^s) and within 4 * 2^-64 of the truth elsewhere. A
 * decision closer than that to its threshold (a rounding tie, a decimal at
 * exactly half a gap, v a power of ten) returns 0 and the caller asks
 * snprintf(); the exact range settles ties itself, and integers up to 2^64
 * are handled exactly too (below). What is left is about 4 in a million
 * random doubles (integers from 2^64 to 2^75, mostly) and exact integers
 * like 1e20 or 4.75e21.
 *
 * @o gets the text, without a sign, 0 < v < inf; @out is where the whole
 * text starts. Returns its length from @out, or 0 when undecided.
 */
static size_t fmt_double_fast(char *out, char *o, uint64_t bits)
{
	int be = (int)(bits >> 52 & 0x7ff);
	uint64_t f = bits & ((UINT64_C(1) << 52) - 1);
	int e = -1074;
	if (be) {
		f |= UINT64_C(1) << 52;
		e = be - 1075;
	}
	int lz = __builtin_clzll(f);
	int en = e - lz;

	/* floor(E log10 2) for 2^E <= v < 2^(E+1) (exact for |E| < 1650). */
	int l = (en + 63) * 78913;
	int x = l >= 0 ? l >> 18 : -((-l + (1 << 18) - 1) >> 18);
	struct scaled r;
	r.even = (f & 1) == 0;
	bool asym = f == UINT64_C(1) << 52 && be > 1;
	bool big;
	int k = 0;
	if (x > 16 && e >= 0 && e < 12) {
		/* An integer from 10^17 to 2^64, whose neighbours' midpoints
		 * are integers too, so that scaled down it would often be
		 * too close to call: keep w = v and make the units 10^k
		 * times larger instead. x <= log10 v < x + 2 here. */
		k = x - 16;
		uint64_t iv = f << e;
		r.w = (u128)iv << 64;
		r.hg_hi = (u128)1 << (e + 63);
		r.hg_lo = r.hg_hi >> asym;
		r.margin = 0;
		big = iv >= pow10_64[17 + k];
	} else {
		if (!scale10(&r, f << lz, en, lz, asym, 16 - x))
			return 0;
		const u128 ten16 = (u128)pow10_64[16] << 64;
		const u128 ten17 = (u128)pow10_64[17] << 64;
		u128 m = r.margin;
		if (r.w < ten16 + m || r.w + m >= ten17 * 10 ||
		    (r.w + m >= ten17 && r.w < ten17 + m))
			return 0;
		big = r.w >= ten17;
	}
	x += big;

	uint64_t n;
	int p, in;
	if (!be) {
		for (p = 1; (in = round_w(&r, pow10_64[17 - p + big], p == 17, &n)) < 0; p++)
			;
	} else if (k) {
		in = round_normal(&r, pow10_64[2 + big + k], &n, &p);
	} else if (big) {
		in = round_normal(&r, 1000, &n, &p);
	} else {
		in = round_normal(&r, 100, &n, &p);
	}
	if (in == 0)
		return 0;
	if (n == pow10_64[p]) {
		n /= 10; /* 9.99..95 became 10.0 */
		x++;
	}
	return put_g(out, o, n, p, x);
}
#endif

/*
 * Byte for byte what fmt_double_printf() gives, at a fraction of the cost:
 * ns per value on x86-64 (glibc 2.36, gcc -O2), snprintf() search against
 * this: 12.5 145 -> 18, 0.1 170 -> 18, 1/3 400 -> 22, 1e300 420 -> 21,
 * money amounts 300 -> 26, random bit patterns 1480 -> 45, integers
 * 175 -> 8. The rare undecided value still costs the snprintf() search.
 */
size_t jlog__fmt_double(char *out, double v)
{
	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	char *o = out;
	if (bits >> 63)
		*o++ = '-';
	bits &= ~(UINT64_C(1) << 63);
	if (bits == 0) {
		memcpy(o, "0.0", 4);
		return (size_t)(o - out) + 3;
	}
	/* An integer below 10^15 has at most 15 digits, which %.15g prints
	 * in full without an exponent, and which read back. */
	double a = fabs(v);
	if (a < 1e15 && (double)(int64_t)a == a) {
		char tmp[20];
		char *d = fmt_u64(tmp + sizeof(tmp), (uint64_t)a);
		size_t nd = (size_t)(tmp + sizeof(tmp) - d);
		memcpy(o, d, nd);
		memcpy(o + nd, ".0", 3);
		return (size_t)(o - out) + nd + 2;
	}
	/* A decimal m / 10^k with k <= 4 and m < 10^15 (prices, latencies:
	 * 12.5, 0.25, 99.99), for the smallest k at which the division gives
	 * v back: IEEE division rounds correctly, so strtod() reads that
	 * text back to v, and v lies within half an ulp of it, far closer
	 * than half a unit of the 15th digit, so %.15g prints exactly those
	 * digits. 12.5: about 350 -> 130 instructions (callgrind). */
	if (a >= 1e-4 && a < 1e11) {
		static const double pow10_d[5] = {1, 10, 100, 1000, 10000};
		for (int k = 1; k <= 4; k++) {
			double t = a * pow10_d[k];
			uint64_t m = (uint64_t)t;
			if ((double)m != t || (double)m / pow10_d[k] != a)
				continue;
			while (k > 1 && m % 10 == 0) { /* %g drops trailing zeros */
				m /= 10;
				k--;
			}
			char tmp[20];
			char *d = fmt_u64(tmp + sizeof(tmp), m);
			int nd = (int)(tmp + sizeof(tmp) - d);
			if (nd > k) { /* 12.5 */
				memcpy(o, d, (size_t)(nd - k));
				o += nd - k;
				*o++ = '.';
				memcpy(o, d + nd - k, (size_t)k);
				o += k;
			} else { /* 0.025 */
				memcpy(o, "0.000", (size_t)(2 + k - nd));
				o += 2 + k - nd;
				memcpy(o, d, (size_t)nd);
				o += nd;
			}
			*o = '\0';
			return (size_t)(o - out);
		}
	}
#ifdef __SIZEOF_INT128__
	size_t n = fmt_double_fast(out, o, bits);
	if (n)
		return n;
#endif
	return fmt_double_printf(out, v);
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
} time_cache __attribute__((tls_model("initial-exec"))) = {UINT64_MAX, {0}};

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

/*
 * Local time. The zone's offset changes only at a transition (DST, a
 * change of the zone's rules), and every zone's transitions fall on a
 * whole minute, so one localtime_r() per minute of records gives the
 * exact offset of each: the answer is kept for the minute it was asked
 * for, per thread (the writer's; the text formatter's tests run on
 * others). A record of another minute, a transition included, asks
 * again.
 */
static _Thread_local struct jlog__zone zone_cache __attribute__((tls_model("initial-exec"))) = {
	UINT64_MAX, 0, ""};

const struct jlog__zone *jlog__local_zone(uint64_t sec)
{
	struct jlog__zone *z = &zone_cache;
	uint64_t minute = sec / 60;
	if (z->minute == minute)
		return z;
	time_t t = (time_t)sec;
	struct tm tm;
	if (localtime_r(&t, &tm)) {
		z->off = (int32_t)tm.tm_gmtoff;
		snprintf(z->abbr, sizeof(z->abbr), "%s", tm.tm_zone ? tm.tm_zone : "");
	} else {
		z->off = 0;
		snprintf(z->abbr, sizeof(z->abbr), "UTC");
	}
	z->minute = minute;
	return z;
}

uint64_t jlog__local_ns(uint64_t time_ns, int32_t off)
{
	int64_t d = (int64_t)off * 1000000000;
	if (d < 0 && time_ns < (uint64_t)-d)
		return 0;
	return time_ns + (uint64_t)d;
}

size_t jlog__fmt_offset(char *o, int32_t off, bool colon)
{
	unsigned a = (unsigned)(off < 0 ? -off : off) / 60;
	size_t k = 0;
	o[k++] = off < 0 ? '-' : '+';
	put2(o + k, a / 60 % 100);
	k += 2;
	if (colon)
		o[k++] = ':';
	put2(o + k, a % 60);
	return k + 2;
}

void jlog__json_time_zone(struct jlog__buf *b, uint64_t time_ns, bool local)
{
	if (!local) {
		jlog__json_time(b, time_ns);
		return;
	}
	int32_t off = jlog__local_zone(time_ns / 1000000000u)->off;
	size_t pos = b->len;
	jlog__json_time(b, jlog__local_ns(time_ns, off));
	jlog__json_zone_suffix(b, pos, off);
}

void jlog__json_zone_suffix(struct jlog__buf *b, size_t pos, int32_t off)
{
	/* Out of memory the line is dropped anyway. */
	if (b->len < pos + 2 || b->p[b->len - 2] != 'Z')
		return;
	char o[8];
	size_t n = jlog__fmt_offset(o, off, true);
	o[n++] = '"';
	b->len -= 2;
	jlog__buf_put(b, o, n);
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
		/* A level named with jlog_level_add(), or NULL. */
		return jlog__level_custom_name(level);
	}
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
struct keys_ent {
	uint32_t id; /* callsite; 0: empty */
	uint32_t n;  /* fields */
	uint32_t text_len;
	uint16_t raw_len[KEYS_MAX];
	uint16_t off[KEYS_MAX], len[KEYS_MAX]; /* in text */
	bool skip[KEYS_MAX];
	char raw[KEYS_RAW];
	char text[KEYS_TEXT];
};

struct scratch {
	struct site_ent sites[SITE_SLOTS];
	struct keys_ent keys_cache[SITE_SLOTS];
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

static inline void put_value(struct jlog__buf *b, const struct jlog__field_view *f)
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

/* The same for the presets (encode-preset.c); put_value() stays inline
 * in this file's hot loop (40 instructions per record). */
void jlog__json_value(struct jlog__buf *b, const struct jlog__field_view *f)
{
	put_value(b, f);
}

/* Decode the fields of @v, taking their keys from @k when the raw keys
 * are the same. Returns false (and the caller does the full work) when
 * they are not. */
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
		if (!jlog__field_next(v, &cur, &e->f) || e->f.key_len != k->raw_len[i] ||
		    memcmp(e->f.key, raw, e->f.key_len) != 0)
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
	k->n = (uint32_t)n;
	k->id = callsite;
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

	if (v->callsite)
		s = scratch_get(); /* NULL: no cache this time */
	if (v->nfields && v->fields) {
		s = s ? s : scratch_get();
		struct keys_ent *k = s && v->callsite ? &s->keys_cache[v->callsite % SITE_SLOTS] : NULL;
		if (k && collect_cached(s, k, v, &n)) {
			key_text = k->text;
		} else {
			if (!s || !collect_fields(s, v, &n) || !jlog__mark_duplicate_keys(s->keys.p, s->ent, n, &s->table, &s->table_cap)) {
				b->failed = true;
				return;
			}
			key_text = s->keys.p;
			if (k)
				keys_store(k, s, v->callsite, n);
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
	jlog__buf_lit(b, ",\"tid\":");
	jlog__json_uint(b, v->tid);
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"truncated\":true");
	/* Drop reports are built by the writer as a view with no fields. */
	if (v->dropped) {
		jlog__buf_lit(b, ",\"dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	if (key_text)
		put_fields(b, s, key_text, n);
	jlog__buf_lit(b, "}\n");
}
