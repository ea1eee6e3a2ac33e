/*
 * Decimal digits two at a time, for the integer, double and time
 * formatters (encode.c, dtoa.c, time-format.c), inline so that each keeps
 * its tight loop.
 */
#ifndef JLOG_DIGITS_H
#define JLOG_DIGITS_H

#include <stdint.h>
#include <string.h>

static const char jlog__digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Write @v in decimal so that it ends just before @end, two digits per
 * division; returns the start. */
static inline char *jlog__fmt_u64(char *end, uint64_t v)
{
	char *p = end;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, jlog__digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, jlog__digit_pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

/* The number of decimal digits of @v: a chain of compares, which for the
 * small numbers most fields hold ends after one or two. */
static inline unsigned jlog__u32_digits(uint32_t v)
{
	return v < 10u           ? 1
	       : v < 100u        ? 2
	       : v < 1000u       ? 3
	       : v < 10000u      ? 4
	       : v < 100000u     ? 5
	       : v < 1000000u    ? 6
	       : v < 10000000u   ? 7
	       : v < 100000000u  ? 8
	       : v < 1000000000u ? 9
	                         : 10;
}

/* jlog__fmt_u64() for a value of 32 bits: the same digits, each division
 * a 32-bit one (a shorter multiply than the 64-bit one). */
static inline void jlog__fmt_u32(char *end, uint32_t v)
{
	while (v >= 100) {
		uint32_t q = v / 100;
		end -= 2;
		memcpy(end, jlog__digit_pairs + 2 * (v - q * 100), 2);
		v = q;
	}
	if (v >= 10)
		memcpy(end - 2, jlog__digit_pairs + 2 * v, 2);
	else
		end[-1] = (char)('0' + v);
}

#endif
