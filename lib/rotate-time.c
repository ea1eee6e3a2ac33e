/*
 * Time-driven rotation instants, in local time (localtime_r()/mktime(),
 * the TZ of the process), as rotate.h documents for DST:
 *
 * - a time of day is resolved on a calendar date with wall_to_time():
 *   a wall time that occurs twice gives its first instant, one that does
 *   not exist the end of the gap;
 * - the next date is the first one whose wall time at_sec is still ahead
 *   of now's wall time. Comparing wall times rather than instants is what
 *   makes a repeated hour rotate once: after rotating at the first 02:30,
 *   the second 02:30 is not "ahead" of now.
 */
#include "jlog-private.h"
#include "rotate.h"

#include <time.h>

#define NS 1000000000ull

/* Compare the wall-clock fields of two broken-down times. */
static int wall_cmp(const struct tm *a, const struct tm *b)
{
	const int x[] = {a->tm_year, a->tm_mon, a->tm_mday, a->tm_hour, a->tm_min, a->tm_sec};
	const int y[] = {b->tm_year, b->tm_mon, b->tm_mday, b->tm_hour, b->tm_min, b->tm_sec};
	for (int i = 0; i < 6; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static int wall_at(time_t t, const struct tm *want)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return wall_cmp(&tm, want);
}

/* The first instant whose local wall time is @want (its first occurrence
 * when the clock went back; the end of the gap when it jumped over it). */
static time_t wall_to_time(const struct tm *want)
{
	struct tm tm = *want;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (wall_at(t, want) == 0) {
		/* An earlier occurrence, an hour (or half an hour, as on
		 * Lord Howe Island) before? */
		for (time_t back = 3600; back >= 1800; back -= 1800)
			if (wall_at(t - back, want) == 0)
				return t - back;
		return t;
	}
	/* In a gap: the smallest t with wall(t) >= want, which is the
	 * transition. Wall time is monotonic near a gap. */
	time_t lo = t - 4 * 3600, hi = t + 4 * 3600;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (wall_at(mid, want) >= 0)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

uint64_t jlog__rotate_next_instant(const struct jlog__rotate_policy *p, uint64_t now)
{
	if (p->when == JLOG__ROTATE_NEVER)
		return UINT64_MAX;
	if (p->when == JLOG__ROTATE_INTERVAL)
		return now + p->interval_ns;
	time_t sec = (time_t)(now / NS);
	struct tm cur;
	localtime_r(&sec, &cur);
	if (p->when == JLOG__ROTATE_HOURLY) {
		struct tm want = cur;
		want.tm_min = 0;
		want.tm_sec = 0;
		want.tm_hour++;
		/* Normalize the date first (23h + 1), at noon so that DST
		 * does not move it. */
		struct tm day = want;
		day.tm_hour = 12;
		day.tm_isdst = -1;
		int hour = want.tm_hour % 24;
		day.tm_mday += want.tm_hour / 24;
		mktime(&day);
		want = day;
		want.tm_hour = hour;
		want.tm_min = 0;
		want.tm_sec = 0;
		time_t t = wall_to_time(&want);
		/* Two hours with one wall hour (the clock went back): the
		 * second one still starts a new hour of elapsed time. */
		if ((uint64_t)t * NS <= now)
			t = (time_t)(now / NS) + 3600 - (time_t)(now / NS) % 3600;
		return (uint64_t)t * NS;
	}
	/* Walk the days from today: the first day of the right kind whose
	 * wall time at_sec is still ahead of now's wall time. Comparing wall
	 * times, not instants, makes a repeated hour rotate once. */
	unsigned now_sod = (unsigned)(cur.tm_hour * 3600 + cur.tm_min * 60 + cur.tm_sec);
	for (int i = 0; i < 400; i++) {
		struct tm day = cur;
		day.tm_hour = 12;
		day.tm_min = day.tm_sec = 0;
		day.tm_mday += i;
		day.tm_isdst = -1;
		mktime(&day);
		if (p->when == JLOG__ROTATE_WEEKLY && day.tm_wday != p->weekday)
			continue;
		if (p->when == JLOG__ROTATE_MONTHLY && day.tm_mday != 1)
			continue;
		if (p->when == JLOG__ROTATE_YEARLY && (day.tm_mday != 1 || day.tm_mon != 0))
			continue;
		if (i == 0 && p->at_sec <= now_sod)
			continue;
		struct tm want = day;
		want.tm_hour = (int)(p->at_sec / 3600);
		want.tm_min = (int)(p->at_sec / 60 % 60);
		want.tm_sec = (int)(p->at_sec % 60);
		return (uint64_t)wall_to_time(&want) * NS;
	}
	return UINT64_MAX;
}
