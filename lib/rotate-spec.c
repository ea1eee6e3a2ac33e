/*
 * The rotation, retention and compression options: strings in loguru's
 * spellings -> struct jlog__rotate_policy (see rotate.h for the grammar).
 *
 * Each parser works on a lower-cased copy, except the size units, where
 * loguru tells bits (b) from bytes (B). Errors name the option and the
 * whole value as given.
 */
#include "jlog-private.h"
#include "rotate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_SEC 1000000000.0

static const char *skip_ws(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* A non-negative decimal number (no sign, no hex, no inf/nan); NULL if
 * there is none at @s. */
static const char *parse_number(const char *s, double *v)
{
	if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
		return NULL;
	char *end;
	*v = strtod(s, &end);
	if (end == s || !isfinite(*v))
		return NULL;
	return end;
}

/* "500 MB", "10 KiB", "1.5 GB", "4096": bytes in *out. -1 if @s is not a
 * size at all (another kind may match), -2 if it is a size out of range. */
static int parse_size(const char *s, uint64_t *out)
{
	double v;
	const char *p = parse_number(skip_ws(s), &v);
	if (!p)
		return -1;
	p = skip_ws(p);
	double mult = 1;
	if (*p) {
		static const char prefixes[] = "kmgtpe";
		const char *k = *p ? strchr(prefixes, tolower((unsigned char)*p)) : NULL;
		unsigned power = 0;
		if (k) {
			power = (unsigned)(k - prefixes) + 1;
			p++;
		}
		double base = 1000;
		if (power && (*p == 'i' || *p == 'I')) {
			base = 1024;
			p++;
		}
		if (*p == 'B')
			mult = 1;
		else if (*p == 'b')
			mult = 1.0 / 8; /* loguru: b is bits */
		else
			return -1;
		p++;
		for (unsigned i = 0; i < power; i++)
			mult *= base;
	}
	if (*skip_ws(p))
		return -1;
	double bytes = v * mult;
	if (!(bytes >= 1) || bytes > 9e18)
		return -2;
	*out = (uint64_t)bytes;
	return 0;
}

/* loguru's duration units, longest spelling first within a unit. */
static const struct {
	const char *name;
	double sec;
} units[] = {
	{"years", 31536000}, {"year", 31536000}, {"y", 31536000},
	{"months", 2628000}, {"month", 2628000},
	{"weeks", 604800}, {"week", 604800}, {"w", 604800},
	{"days", 86400}, {"day", 86400}, {"d", 86400},
	{"hours", 3600}, {"hour", 3600}, {"h", 3600},
	{"minutes", 60}, {"minute", 60}, {"mins", 60}, {"min", 60},
	{"seconds", 1}, {"second", 1}, {"secs", 1}, {"sec", 1}, {"s", 1},
	{"milliseconds", 1e-3}, {"millisecond", 1e-3}, {"ms", 1e-3},
	{"microseconds", 1e-6}, {"microsecond", 1e-6}, {"us", 1e-6},
};

/* "1 hour", "2 days", "1h 30min": ns in *out. -1 not a duration, -2 zero
 * or out of range. @s is lower case. */
static int parse_duration(const char *s, uint64_t *out)
{
	double total = 0;
	const char *p = skip_ws(s);
	if (!*p)
		return -1;
	while (*p) {
		double v;
		p = parse_number(p, &v);
		if (!p)
			return -1;
		p = skip_ws(p);
		size_t n = 0;
		while (isalpha((unsigned char)p[n]))
			n++;
		if (n == 0)
			return -1;
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == n && memcmp(units[i].name, p, n) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		total += v * units[i].sec;
		p += n;
		while (isspace((unsigned char)*p) || *p == ',')
			p++;
	}
	double ns = total * NS_PER_SEC;
	if (!(ns >= 1) || ns > 9e18)
		return -2;
	*out = (uint64_t)ns;
	return 0;
}

/* "12:30", "23:59:59", "12:00:00.5", "12:30 pm", "7 am": seconds after
 * midnight (a fraction dropped). -1 not
 * a time, -2 a time out of range. */
static int parse_clock(const char *s, unsigned *out)
{
	const char *p = skip_ws(s);
	if (!isdigit((unsigned char)*p))
		return -1;
	char *end;
	long h = strtol(p, &end, 10), m = 0, sec = 0;
	p = end;
	bool colon = false;
	if (*p == ':') {
		colon = true;
		if (!isdigit((unsigned char)p[1]))
			return -1;
		m = strtol(p + 1, &end, 10);
		p = end;
		if (*p == ':') {
			if (!isdigit((unsigned char)p[1]))
				return -1;
			sec = strtol(p + 1, &end, 10);
			p = end;
			/* loguru's %f: rotation keeps whole seconds. */
			if (*p == '.' && isdigit((unsigned char)p[1]))
				for (p++; isdigit((unsigned char)*p); p++)
					;
		}
	}
	p = skip_ws(p);
	int ampm = 0;
	if (strncmp(p, "am", 2) == 0 || strncmp(p, "pm", 2) == 0) {
		ampm = p[0] == 'a' ? 1 : 2;
		p = skip_ws(p + 2);
	}
	if (*p || (!colon && !ampm))
		return -1;
	if (ampm) {
		if (h < 1 || h > 12)
			return -2;
		h = h % 12 + (ampm == 2 ? 12 : 0);
	}
	if (h > 23 || m > 59 || sec > 59)
		return -2;
	*out = (unsigned)(h * 3600 + m * 60 + sec);
	return 0;
}

static const char *const weekdays[] = {"sunday", "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"};

/* "monday", "mon", "w0" (loguru: w0 is Monday): tm_wday in *out. */
static bool parse_weekday(const char *s, size_t n, int *out)
{
	if (n == 2 && s[0] == 'w' && s[1] >= '0' && s[1] <= '6') {
		*out = (s[1] - '0' + 1) % 7;
		return true;
	}
	for (int d = 0; d < 7; d++) {
		if ((n == 3 || n == strlen(weekdays[d])) && strncmp(s, weekdays[d], n) == 0) {
			*out = d;
			return true;
		}
	}
	return false;
}

/* One time-driven part: an interval, a frequency, a time of day, a
 * weekday with an optional "at" time. -1 not a time, -2 out of range. */
static int parse_when(const char *s, struct jlog__rotate_policy *p)
{
	s = skip_ws(s);
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	char tmp[64];
	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';

	if (strcmp(tmp, "hourly") == 0) {
		p->when = JLOG__ROTATE_HOURLY;
		return 0;
	}
	if (strcmp(tmp, "daily") == 0) {
		p->when = JLOG__ROTATE_DAILY;
		p->at_sec = 0;
		return 0;
	}
	if (strcmp(tmp, "weekly") == 0) {
		p->when = JLOG__ROTATE_WEEKLY;
		p->weekday = 1;
		p->at_sec = 0;
		return 0;
	}
	if (strcmp(tmp, "monthly") == 0) {
		p->when = JLOG__ROTATE_MONTHLY;
		p->at_sec = 0;
		return 0;
	}
	if (strcmp(tmp, "yearly") == 0) {
		p->when = JLOG__ROTATE_YEARLY;
		p->at_sec = 0;
		return 0;
	}
	uint64_t ns;
	int rc = parse_duration(tmp, &ns);
	if (rc != -1) {
		if (rc == 0) {
			p->when = JLOG__ROTATE_INTERVAL;
			p->interval_ns = ns;
		}
		return rc;
	}
	unsigned at;
	rc = parse_clock(tmp, &at);
	if (rc != -1) {
		if (rc == 0) {
			p->when = JLOG__ROTATE_DAILY;
			p->at_sec = at;
		}
		return rc;
	}
	size_t wn = 0;
	while (isalnum((unsigned char)tmp[wn]))
		wn++;
	int wd;
	if (!parse_weekday(tmp, wn, &wd))
		return -1;
	const char *rest = skip_ws(tmp + wn);
	at = 0;
	if (*rest) {
		if (strncmp(rest, "at", 2) != 0 || !isspace((unsigned char)rest[2]))
			return -1;
		rc = parse_clock(rest + 3, &at);
		if (rc)
			return rc;
	}
	p->when = JLOG__ROTATE_WEEKLY;
	p->weekday = wd;
	p->at_sec = at;
	return 0;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	if (d)
		for (char *q = d; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	return d;
}

int jlog__rotate_parse_rotation(struct jlog__rotate_policy *p, const char *s)
{
	if (!s) {
		jlog__set_last_error("rotation: missing value");
		return -EINVAL;
	}
	/* Split at " or " on the lower-cased copy; parse each part of the
	 * original (sizes need the case) by its offset. */
	char *low = lower_dup(s);
	if (!low)
		return -ENOMEM;
	struct jlog__rotate_policy q = *p;
	q.size = 0;
	q.when = JLOG__ROTATE_NEVER;
	int rc = 0;
	size_t off = 0, total = strlen(s);
	bool have_size = false, have_when = false;
	while (off <= total && rc == 0) {
		char *hit = strstr(low + off, " or ");
		size_t end = hit ? (size_t)(hit - low) : total;
		char part[64], lpart[64];
		size_t n = end - off;
		if (n >= sizeof(part)) {
			rc = -1;
			break;
		}
		memcpy(part, s + off, n);
		part[n] = '\0';
		memcpy(lpart, low + off, n);
		lpart[n] = '\0';
		uint64_t size;
		int r = parse_size(part, &size);
		if (r == 0) {
			if (have_size) {
				jlog__set_last_error("rotation \"%s\": two sizes", s);
				free(low);
				return -EINVAL;
			}
			have_size = true;
			q.size = size;
		} else if (r == -2) {
			rc = -2;
			break;
		} else {
			if (have_when) {
				jlog__set_last_error("rotation \"%s\": two times (give one, or a size "
				                     "\"or\" a time)", s);
				free(low);
				return -EINVAL;
			}
			r = parse_when(lpart, &q);
			if (r) {
				rc = r;
				break;
			}
			have_when = true;
		}
		if (!hit)
			break;
		off = end + 4;
	}
	free(low);
	if (rc == -2) {
		jlog__set_last_error("rotation \"%s\": out of range (a size >= 1 byte, an interval "
		                     "> 0, a time of day 00:00..23:59:59)", s);
		return -EINVAL;
	}
	if (rc) {
		jlog__set_last_error("rotation \"%s\": not a size (\"500 MB\", \"10 KiB\"), a time "
		                     "of day (\"00:00\"), an interval (\"1 hour\", \"daily\"), a "
		                     "weekday (\"monday at 12:00\") or \"SIZE or TIME\"", s);
		return -EINVAL;
	}
	p->size = q.size;
	p->when = q.when;
	p->interval_ns = q.interval_ns;
	p->at_sec = q.at_sec;
	p->weekday = q.weekday;
	return 0;
}

int jlog__rotate_set_rotation_size(struct jlog__rotate_policy *p, double n)
{
	if (!(n >= 1) || n > 9e18 || n != floor(n)) {
		jlog__set_last_error("rotation %g: a size in bytes must be a whole number >= 1", n);
		return -EINVAL;
	}
	p->size = (uint64_t)n;
	return 0;
}

int jlog__rotate_set_retention_count(struct jlog__rotate_policy *p, double n)
{
	if (!(n >= 1) || n > 1000000 || n != floor(n)) {
		jlog__set_last_error("retention %g: a count of files must be a whole number "
		                     "1..1000000", n);
		return -EINVAL;
	}
	p->keep_count = (unsigned)n;
	p->keep_age_ns = 0;
	return 0;
}

int jlog__rotate_parse_retention(struct jlog__rotate_policy *p, const char *s)
{
	if (!s) {
		jlog__set_last_error("retention: missing value");
		return -EINVAL;
	}
	char *low = lower_dup(s);
	if (!low)
		return -ENOMEM;
	const char *q = skip_ws(low);
	char *end;
	int rc = -EINVAL;
	if (isdigit((unsigned char)*q)) {
		unsigned long long n = strtoull(q, &end, 10);
		const char *rest = skip_ws(end);
		if (*rest == '\0' || strncmp(rest, "files", 5) == 0 || strncmp(rest, "file", 4) == 0) {
			if (*rest)
				rest = skip_ws(rest + (rest[4] == 's' ? 5 : 4));
			if (*rest == '\0') {
				free(low);
				if (n < 1 || n > 1000000) {
					jlog__set_last_error("retention \"%s\": a count of files must be "
					                     "1..1000000", s);
					return -EINVAL;
				}
				p->keep_count = (unsigned)n;
				p->keep_age_ns = 0;
				return 0;
			}
		}
	}
	uint64_t ns;
	int r = parse_duration(low, &ns);
	free(low);
	if (r == 0) {
		p->keep_age_ns = ns;
		p->keep_count = 0;
		return 0;
	}
	jlog__set_last_error("retention \"%s\": not a count of files (\"10\", \"10 files\") or "
	                     "an age (\"1 week\", \"10 days\")", s);
	return rc;
}

bool jlog__compression_available(enum jlog__compression c)
{
	switch (c) {
	case JLOG__COMPRESS_NONE: return true;
#ifdef JLOG_HAVE_ZLIB
	case JLOG__COMPRESS_GZ: return true;
#endif
#ifdef JLOG_HAVE_ZSTD
	case JLOG__COMPRESS_ZST: return true;
#endif
	default: return false;
	}
}

const char *jlog__compression_suffix(enum jlog__compression c)
{
	return c == JLOG__COMPRESS_GZ ? ".gz" : c == JLOG__COMPRESS_ZST ? ".zst" : "";
}

int jlog__rotate_parse_compression(struct jlog__rotate_policy *p, const char *s)
{
	if (!s) {
		jlog__set_last_error("compression: missing value");
		return -EINVAL;
	}
	enum jlog__compression c;
	const char *lib;
	if (strcasecmp(s, "gz") == 0 || strcasecmp(s, "gzip") == 0) {
		c = JLOG__COMPRESS_GZ;
		lib = "zlib (meson -Dzlib=enabled, package zlib1g-dev)";
	} else if (strcasecmp(s, "zst") == 0 || strcasecmp(s, "zstd") == 0) {
		c = JLOG__COMPRESS_ZST;
		lib = "libzstd (meson -Dzstd=enabled, package libzstd-dev)";
	} else if (*s == '\0' || strcasecmp(s, "none") == 0) {
		p->compression = JLOG__COMPRESS_NONE;
		return 0;
	} else {
		jlog__set_last_error("compression \"%s\": not supported (\"gz\", \"zst\" or "
		                     "\"none\")", s);
		return -EINVAL;
	}
	if (!jlog__compression_available(c)) {
		jlog__set_last_error("compression \"%s\": this jlog was built without %s", s, lib);
		return -ENOTSUP;
	}
	p->compression = c;
	return 0;
}
