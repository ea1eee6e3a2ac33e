/*
 * UTF-8: the one check of a sequence against Unicode's well-formed table
 * and the one rule for cutting text without splitting a sequence,
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

/*
 * Where to cut @str, which continues past @n, so that no UTF-8 sequence is
 * split: when a lead byte within the three bytes before @n starts a
 * sequence that would end past @n, cut just before that lead byte. Bytes
 * that cannot start a sequence (C0, C1, F5 and above, stray continuation
 * bytes) are cut wherever @n falls; the encoder replaces them with U+FFFD.
 * The one cut rule of record values, keys and fast-path messages
 * (record.c, hotpath.c).
 */
static inline size_t jlog__utf8_cut(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = n;
	while (i > 0 && n - i < 3 && (s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return n;
	unsigned lead = s[i - 1];
	size_t seq = lead >= 0xc2 && lead <= 0xdf   ? 2
	             : lead >= 0xe0 && lead <= 0xef ? 3
	             : lead >= 0xf0 && lead <= 0xf4 ? 4
	                                            : 0;
	return seq && i - 1 + seq > n ? i - 1 : n;
}

#endif
