/*
 * Civil date and time text (RFC 3339, UTC or local with its offset),
 * cached per thread for the second or minute last formatted.
 */
#include "jlog-private.h"
#include "civil.h"
#include "digits.h"

#include <stdio.h>
#include <string.h>
#include <time.h>


/* The date and time of the last second formatted on this thread. A writer
 * formats many records per second, so the calendar arithmetic runs about
 * once a second. It starts as the first second of 1970, so that one
 * compare tells whether a time is in the cached second. */
static _Thread_local struct {
	uint64_t base_ns; /* the second's first ns */
	char text[19];    /* YYYY-MM-DDTHH:MM:SS */
} time_cache __attribute__((tls_model("initial-exec"))) = {0, "1970-01-01T00:00:00"};

static void put2(char *o, unsigned v)
{
	memcpy(o, jlog__digit_pairs + 2 * v, 2);
}

/* "YYYY-MM-DDTHH:MM:SS" of Unix second @sec into @o. */
static void format_second(char *o, uint64_t sec)
{
	uint64_t rem = sec % 86400;
	struct jlog__date dt = jlog__civil_from_days(sec / 86400);
	unsigned y = dt.year, m = dt.month, d = dt.day;

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

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (quoted) of second @text and @into ns
 * into it. */
static inline void put_time(struct jlog__buf *b, const char *text, uint64_t into)
{
	unsigned us = (unsigned)into / 1000u;
	if (!jlog__buf_room(b, 29))
		return;
	char *o = b->p + b->len;
	o[0] = '"';
	memcpy(o + 1, text, 19);
	o[20] = '.';
	put2(o + 21, us / 10000);
	put2(o + 23, us / 100 % 100);
	put2(o + 25, us % 100);
	o[27] = 'Z';
	o[28] = '"';
	b->len += 29;
}

/* A time of another second than the cached one: format it, and cache it
 * unless it is the last second a uint64_t reaches, which is cut short
 * (its base + 10^9 wraps, so the one compare would take the first second
 * of 1970 for it). */
static __attribute__((noinline)) void json_time_new_second(struct jlog__buf *b,
                                                           uint64_t time_ns)
{
	uint64_t sec = time_ns / 1000000000u;
	uint64_t base = sec * 1000000000u;
	if (JLOG__UNLIKELY(base > UINT64_MAX - 1000000000u)) {
		char last[19];
		format_second(last, sec);
		put_time(b, last, time_ns - base);
		return;
	}
	format_second(time_cache.text, sec);
	time_cache.base_ns = base;
	put_time(b, time_cache.text, time_ns - base);
}

void jlog__json_time(struct jlog__buf *b, uint64_t time_ns)
{
	/* Within the cached second, the ns into it need no 64-bit division. */
	uint64_t into = time_ns - time_cache.base_ns;
	if (JLOG__UNLIKELY(into >= 1000000000u)) {
		json_time_new_second(b, time_ns);
		return;
	}
	put_time(b, time_cache.text, into);
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

