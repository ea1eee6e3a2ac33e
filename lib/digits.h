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

#endif
