/* Framing of formatted records for the network transports (syslog-frame.c). */
#ifndef JLOG_SYSLOG_FRAME_H
#define JLOG_SYSLOG_FRAME_H

#include "jlog-private.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The "framing" option. */
enum jlog__framing {
	JLOG__FRAME_LINES,   /* "lines" (default) */
	JLOG__FRAME_RFC5424, /* "rfc5424" */
	JLOG__FRAME_RFC3164, /* "rfc3164" */
};

/*
 * Everything a frame needs besides the record: fixed when the sink opens.
 * Invariant: the strings are NUL-terminated printable US-ASCII without
 * spaces (RFC 5424 PRINTUSASCII), never empty ("-" for none), cut to the
 * RFC 5424 lengths (HOSTNAME 255, APP-NAME 48, MSGID 32).
 */
struct jlog__frame_opts {
	enum jlog__framing framing;
	bool stream;      /* a stream transport: frames need delimiting */
	bool local;       /* a unix: or unixgram: socket (rfc3164 then omits
	                     HOSTNAME, as syslog(3) does on /dev/log) */
	int facility;     /* 0..23 */
	pid_t pid;
	char hostname[256];
	char app_name[49];
	char msgid[33];
};

/*
 * jlog__frame_opts_init - defaults: "lines", facility user (1), the
 * process's pid, gethostname() (its first label for rfc3164 is the
 * caller's concern: the full name is kept), app_name the program's name
 * (program_invocation_short_name), msgid "-". @stream as the transport;
 * the transport sets o->local itself for unix: and unixgram: sinks.
 */
void jlog__frame_opts_init(struct jlog__frame_opts *o, bool stream);

/*
 * Option setters; each returns 0, or -EINVAL with jlog_last_error()
 * naming the option and value. @key is the option's path for the message
 * ("sinks[1].facility").
 *
 * framing:  "lines", "rfc5424", "rfc3164".
 * facility: "kern" "user" "mail" "daemon" "auth" "syslog" "lpr" "news"
 *           "uucp" "cron" "authpriv" "ftp" "ntp" "security" "console"
 *           "solaris-cron" "local0".."local7", or a number 0..23.
 * app_name, msgid, hostname: 1..48 / 1..32 / 1..255 bytes of printable
 *           US-ASCII without spaces (RFC 5424 section 6.2).
 */
int jlog__frame_set_framing(struct jlog__frame_opts *o, const char *key, const char *v);
int jlog__frame_set_facility(struct jlog__frame_opts *o, const char *key, const char *v);
int jlog__frame_set_app_name(struct jlog__frame_opts *o, const char *key, const char *v);
int jlog__frame_set_msgid(struct jlog__frame_opts *o, const char *key, const char *v);
int jlog__frame_set_hostname(struct jlog__frame_opts *o, const char *key, const char *v);

/*
 * jlog__syslog_severity - the syslog severity (RFC 5424 table 2) of a jlog
 * level, by range so custom levels map too:
 *   level >= 50 (CRITICAL)  2 crit
 *   level >= 40 (ERROR)     3 err
 *   level >= 30 (WARNING)   4 warning
 *   level >= 25 (SUCCESS)   5 notice
 *   level >= 20 (INFO)      6 info
 *   below 20 (DEBUG, TRACE) 7 debug
 * jlog never emits 0 emerg or 1 alert: no jlog level means "the system is
 * unusable"; a host that wants them maps at the aggregator.
 */
int jlog__syslog_severity(int level);

/*
 * jlog__frame_append - append the frame of one record to @out: the
 * transport's per-record hook. @line/@len is the formatted record without
 * its trailing newline; @v the decoded record (level, time_ns are used).
 *
 *   lines,   stream:   LINE "\n"
 *   lines,   datagram: LINE                    (one record per datagram)
 *   rfc5424, stream:   LEN " " HEADER " " LINE (RFC 6587 octet counting)
 *   rfc5424, datagram: HEADER " " LINE
 *   rfc3164, stream:   HEADER3164 LINE "\n"    (RFC 6587 non-transparent)
 *   rfc3164, datagram: HEADER3164 LINE
 * with HEADER = "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID -",
 * TIMESTAMP "2026-12-02T09:41:51.123456Z" (UTC, microseconds), and
 * HEADER3164 = "<PRI>Mmm dd hh:mm:ss HOSTNAME APP-NAME[PID]: " in local
 * time (the syslog(3) convention the legacy readers expect), without
 * "HOSTNAME " when o->local: /dev/log readers take the word after the
 * time as the tag, since syslog(3) sends none. PRI is
 * facility * 8 + jlog__syslog_severity(level). A LINE holding a newline is
 * the formatter's business: the JSON formatter never writes one.
 * Writer thread only (uses localtime_r for rfc3164). On allocation failure
 * out->failed is set (the caller drops the record and counts it).
 */
void jlog__frame_append(struct jlog__buf *out, const struct jlog__frame_opts *o,
                        const char *line, size_t len, const struct jlog__rec_view *v);

/*
 * jlog__frame_overhead - the most bytes jlog__frame_append adds around a
 * LINE (header, count, newline): a datagram transport's max_record is its
 * datagram limit minus this.
 */
size_t jlog__frame_overhead(const struct jlog__frame_opts *o);

#endif
