/*
 * Shortest round-trip text of a double (jlog__fmt_double), used by the
 * JSON encoder and the text formatter.
 */
#include "jlog-private.h"
#include "digits.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
		memcpy(p - 8, jlog__digit_pairs + 2 * (a / 100), 2);
		memcpy(p - 6, jlog__digit_pairs + 2 * (a % 100), 2);
		memcpy(p - 4, jlog__digit_pairs + 2 * (b / 100), 2);
		memcpy(p - 2, jlog__digit_pairs + 2 * (b % 100), 2);
		p -= 8;
	}
	uint32_t m = (uint32_t)n;
	for (; p - d >= 2; m /= 100) {
		p -= 2;
		memcpy(p, jlog__digit_pairs + 2 * (m % 100), 2);
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
		memcpy(o, jlog__digit_pairs + 2 * ax, 2); /* at least two digits */
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
 * text starts. Returns its length from @out, or 0 when undecided. Out of
 * line, so that jlog__fmt_double()'s integer and short-decimal paths make
 * no frame for its 128-bit state.
 */
static __attribute__((noinline)) size_t fmt_double_fast(char *out, char *o, uint64_t bits)
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

/* The decimal digits of @v < 10^15: the first compares settle the short
 * numbers most values have. */
static inline unsigned digits_below_1e15(uint64_t v)
{
	if (v < 10000)
		return 1 + (v >= 10) + (v >= 100) + (v >= 1000);
	unsigned n = 5;
	for (uint64_t p = 100000; n < 15 && v >= p; p *= 10)
		n++;
	return n;
}

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
		unsigned nd = digits_below_1e15((uint64_t)a);
		jlog__fmt_u64(o + nd, (uint64_t)a);
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
			/* Signed conversions: one instruction each way on
			 * x86-64, where unsigned ones take a dozen; t < 10^15. */
			uint64_t m = (uint64_t)(int64_t)t;
			if ((double)(int64_t)m != t || (double)(int64_t)m / pow10_d[k] != a)
				continue;
			while (k > 1 && m % 10 == 0) { /* %g drops trailing zeros */
				m /= 10;
				k--;
			}
			/* The digits go straight to @out, then the k <= 4 of
			 * the fraction one byte on with one 4-byte copy, and
			 * the '.' into the gap. The copy reaches o + nd + 4,
			 * within the 32 bytes @out has (nd <= 15). */
			unsigned nd = digits_below_1e15(m);
			if (nd > (unsigned)k) { /* 12.5 */
				uint32_t f;
				char *dot = o + nd - (unsigned)k;
				jlog__fmt_u64(o + nd, m);
				memcpy(&f, dot, 4);
				memcpy(dot + 1, &f, 4);
				*dot = '.';
				o += nd + 1;
			} else { /* 0.025 */
				memcpy(o, "0.000", 5); /* "0." and k - nd zeros */
				o += 2 + (unsigned)k - nd;
				jlog__fmt_u64(o + nd, m);
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
