/*
 * Framing of formatted records: plain lines, RFC 5424 (with RFC 6587
 * octet counting on streams) and the legacy RFC 3164 format. The header
 * (syslog-frame.h) is the contract; jlog__frame_append is the per-record
 * hook of the network transports, whose engine (net-conn.c) sends each
 * frame whole or not at all.
 */
#include "syslog-frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{"kern", 0}, {"user", 1}, {"mail", 2}, {"daemon", 3}, {"auth", 4},
	{"syslog", 5}, {"lpr", 6}, {"news", 7}, {"uucp", 8}, {"cron", 9},
	{"authpriv", 10}, {"ftp", 11}, {"ntp", 12}, {"security", 13},
	{"console", 14}, {"solaris-cron", 15}, {"local0", 16}, {"local1", 17},
	{"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},
	{"local6", 22}, {"local7", 23},
};

/* Copy @v into @dst (capacity @cap) if it is 1..cap-1 bytes of
 * PRINTUSASCII (RFC 5424: %d33-126). */
static int set_token(char *dst, size_t cap, const char *key, const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n == 0 || n >= cap) {
		jlog__set_last_error("%s: \"%s\" must be 1..%zu bytes", key, v ? v : "", cap - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 33 || (unsigned char)v[i] > 126) {
			jlog__set_last_error("%s: \"%s\" has a byte that is not printable "
			                     "US-ASCII or is a space (RFC 5424)", key, v);
			return -EINVAL;
		}
	memcpy(dst, v, n + 1);
	return 0;
}

/* Copy what fits of @v into @dst, replacing non-PRINTUSASCII bytes by '_'
 * (for defaults taken from the system, which must never fail the open). */
static void set_token_lenient(char *dst, size_t cap, const char *v)
{
	size_t n = 0;
	for (; v && v[n] && n + 1 < cap; n++)
		dst[n] = ((unsigned char)v[n] < 33 || (unsigned char)v[n] > 126) ? '_' : v[n];
	if (n == 0)
		dst[n++] = '-';
	dst[n] = 0;
}

void jlog__frame_opts_init(struct jlog__frame_opts *o, bool stream)
{
	memset(o, 0, sizeof(*o));
	o->framing = JLOG__FRAME_LINES;
	o->stream = stream;
	o->facility = 1;
	o->pid = getpid();
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = 0;
	set_token_lenient(o->hostname, sizeof(o->hostname), host);
	set_token_lenient(o->app_name, sizeof(o->app_name), program_invocation_short_name);
	strcpy(o->msgid, "-");
}

int jlog__frame_set_framing(struct jlog__frame_opts *o, const char *key, const char *v)
{
	if (v && strcmp(v, "lines") == 0)
		o->framing = JLOG__FRAME_LINES;
	else if (v && strcmp(v, "rfc5424") == 0)
		o->framing = JLOG__FRAME_RFC5424;
	else if (v && strcmp(v, "rfc3164") == 0)
		o->framing = JLOG__FRAME_RFC3164;
	else {
		jlog__set_last_error("%s: \"%s\" is not \"lines\", \"rfc5424\" or \"rfc3164\"",
		                     key, v ? v : "");
		return -EINVAL;
	}
	return 0;
}

int jlog__frame_set_facility(struct jlog__frame_opts *o, const char *key, const char *v)
{
	for (size_t i = 0; v && i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(v, facilities[i].name) == 0) {
			o->facility = facilities[i].code;
			return 0;
		}
	char *end;
	long n = v && *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : -1;
	if (n < 0 || n > 23 || *end) {
		jlog__set_last_error("%s: \"%s\" is not a facility name (user, daemon, "
		                     "local0..local7, ...) or a number 0..23", key, v ? v : "");
		return -EINVAL;
	}
	o->facility = (int)n;
	return 0;
}

int jlog__frame_set_app_name(struct jlog__frame_opts *o, const char *key, const char *v)
{
	return set_token(o->app_name, sizeof(o->app_name), key, v);
}

int jlog__frame_set_msgid(struct jlog__frame_opts *o, const char *key, const char *v)
{
	return set_token(o->msgid, sizeof(o->msgid), key, v);
}

int jlog__frame_set_hostname(struct jlog__frame_opts *o, const char *key, const char *v)
{
	return set_token(o->hostname, sizeof(o->hostname), key, v);
}

int jlog__syslog_severity(int level)
{
	return jlog__level_floor(level)->syslog;
}

/* "<PRI>1 2026-12-02T09:41:51.123456Z host app pid msgid - " */
static int header5424(char *h, size_t cap, const struct jlog__frame_opts *o,
                      const struct jlog__rec_view *v)
{
	time_t s = (time_t)(v->time_ns / 1000000000u);
	unsigned us = (unsigned)(v->time_ns % 1000000000u / 1000u);
	struct tm tm;
	gmtime_r(&s, &tm);
	return snprintf(h, cap, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06uZ %s %s %ld %s - ",
	                o->facility * 8 + jlog__syslog_severity(v->level), tm.tm_year + 1900,
	                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us,
	                o->hostname, o->app_name, (long)o->pid, o->msgid);
}

/* "<PRI>Dec  2 09:41:51 host app[pid]: " (RFC 3164 section 4.1). */
static int header3164(char *h, size_t cap, const struct jlog__frame_opts *o,
                      const struct jlog__rec_view *v)
{
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t s = (time_t)(v->time_ns / 1000000000u);
	struct tm tm;
	localtime_r(&s, &tm);
	return snprintf(h, cap, "<%d>%s %2d %02d:%02d:%02d %s%s%s[%ld]: ",
	                o->facility * 8 + jlog__syslog_severity(v->level), mon[tm.tm_mon],
	                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, o->local ? "" : o->hostname,
	                o->local ? "" : " ", o->app_name, (long)o->pid);
}

/* The fixed parts of header5424 plus its strings: 5 (PRI) + 2 + 27 (time)
 * + 6 spaces and "-" + the pid's 20 digits, rounded up. */
#define HDR_FIXED 64

size_t jlog__frame_overhead(const struct jlog__frame_opts *o)
{
	size_t strs = strlen(o->hostname) + strlen(o->app_name) + strlen(o->msgid);
	switch (o->framing) {
	case JLOG__FRAME_LINES:
		return o->stream ? 1 : 0;
	case JLOG__FRAME_RFC5424:
		return HDR_FIXED + strs + (o->stream ? 21 : 0);
	case JLOG__FRAME_RFC3164:
		return HDR_FIXED + strs + (o->stream ? 1 : 0);
	}
	return HDR_FIXED + strs + 21;
}

void jlog__frame_append(struct jlog__buf *out, const struct jlog__frame_opts *o,
                        const char *line, size_t len, const struct jlog__rec_view *v)
{
	char h[HDR_FIXED + sizeof(o->hostname) + sizeof(o->app_name) + sizeof(o->msgid)];
	int hn;
	switch (o->framing) {
	case JLOG__FRAME_LINES:
		jlog__buf_put(out, line, len);
		if (o->stream)
			jlog__buf_putc(out, '\n');
		return;
	case JLOG__FRAME_RFC5424:
		hn = header5424(h, sizeof(h), o, v);
		if (hn < 0)
			hn = 0;
		if (o->stream) {
			/* RFC 6587 3.4.1: MSG-LEN counts the octets after its SP. */
			char cnt[24];
			int cn = snprintf(cnt, sizeof(cnt), "%zu ", (size_t)hn + len);
			jlog__buf_put(out, cnt, (size_t)cn);
		}
		jlog__buf_put(out, h, (size_t)hn);
		jlog__buf_put(out, line, len);
		return;
	case JLOG__FRAME_RFC3164:
		hn = header3164(h, sizeof(h), o, v);
		jlog__buf_put(out, h, hn < 0 ? 0 : (size_t)hn);
		jlog__buf_put(out, line, len);
		if (o->stream)
			jlog__buf_putc(out, '\n');
		return;
	}
}
