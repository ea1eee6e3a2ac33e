/*
 * Civil (proleptic Gregorian) dates from days since 1970-01-01 and back:
 * Howard Hinnant's civil_from_days and days_from_civil, restricted to
 * non-negative days (a uint64_t of ns is never before 1970). Shared by
 * the JSON time (time-format.c) and the text formatter's calendar fields
 * (format.c), and jlog-pretty's reading of RFC 3339 times
 * (tools/pretty-record.c).
 */
#ifndef JLOG_CIVIL_H
#define JLOG_CIVIL_H

#include <stdint.h>

struct jlog__date {
	unsigned year, month, day; /* month 1..12, day 1..31 */
};

static inline struct jlog__date jlog__civil_from_days(uint64_t days)
{
	uint64_t z = days + 719468;
	uint64_t era = z / 146097;
	uint64_t doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	struct jlog__date dt;
	dt.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	dt.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	dt.year = (unsigned)(yoe + era * 400 + (dt.month <= 2));
	return dt;
}

/* Days since 1970-01-01 of @y-@m-@d (on or after it). */
static inline uint64_t jlog__days_from_civil(unsigned y, unsigned m, unsigned d)
{
	uint64_t yy = y - (m <= 2);
	uint64_t era = yy / 400;
	uint64_t yoe = yy - era * 400;
	uint64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

#endif
