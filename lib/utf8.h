/*
 * UTF-8: the one check of a sequence against Unicode's well-formed table,
 * shared by the JSON encoder, the text formatter and the template
 * compiler, inline because the encoder calls it per non-ASCII sequence.
 */
#ifndef JLOG_UTF8_H
#define JLOG_UTF8_H

#include <stddef.h>


enum jlog__utf8_status { JLOG__UTF8_VALID, JLOG__UTF8_INVALID, JLOG__UTF8_INCOMPLETE };

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
static inline enum jlog__utf8_status jlog__utf8_check(const unsigned char *p,
                                                       const unsigned char *end, size_t *len)
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
		return JLOG__UTF8_INVALID;
	}
	for (size_t i = 1; i < need; i++) {
		if (p + i == end) {
			*len = i;
			return JLOG__UTF8_INCOMPLETE;
		}
		if (p[i] < lo || p[i] > hi) {
			*len = i;
			return JLOG__UTF8_INVALID;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*len = need;
	return JLOG__UTF8_VALID;
}

#endif
