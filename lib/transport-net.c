/*
 * The network transports: "tcp://host:port", "udp://host:port",
 * "unix:/path" (stream) and "unixgram:/path" (datagram, /dev/log), each
 * record one frame ("framing": lines, rfc5424 with RFC 6587 octet
 * counting on streams, rfc3164), sent by the connection engine
 * (net-conn.h: non-blocking connect, backoff, outage buffer, whole-frame
 * resend). What they share with journald, the ops below and the
 * accounting, is transport-net.h's protocol.
 *
 * Datagrams: a line longer than the datagram limit (max_datagram, less
 * the frame's header) is formatted again from its record, cut by the rule
 * of a record too long for max_record_size: "truncated":true, the message
 * cut and marked with U+2026, and as many of the fields as fit (the first
 * ones), and counted in jlog_stats.truncated like a record the log call
 * cut (once: a record the call already cut is counted there). It is never
 * split nor sent invalid.
 */
#include "transport-net.h"

#include "opt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The crash write's frames are built in this much memory, reserved at
 * open (a signal handler cannot allocate); a longer frame is skipped. */
#define CRASH_MEM (256u * 1024u)
/* How long a crash write waits for a full socket: a stream's send of
 * many frames, whose end would be torn if it gave up in the middle (the
 * crash handler's watchdog is far longer), and a datagram. */
#define CRASH_STREAM_WAIT_MS 1000u
#define CRASH_DGRAM_WAIT_MS 200u

/* ---- options ------------------------------------------------------------ */

static int set_uint(unsigned *field, const json_t *v, const char *path, long long lo,
                    long long hi, char *err, size_t errlen)
{
	long long n;
	int rc = jlog__cfg_int(v, path, lo, hi, &n, err, errlen);
	if (rc == 0)
		*field = (unsigned)n;
	return rc;
}

int jlog__net_set_connect_timeout(void *base, const json_t *v, const char *path, char *err,
                                  size_t errlen)
{
	return set_uint(&((struct jlog__net_common_opts *)base)->connect_timeout_ms, v, path, 1,
	                3600000, err, errlen);
}

int jlog__net_set_reconnect_max(void *base, const json_t *v, const char *path, char *err,
                                size_t errlen)
{
	return set_uint(&((struct jlog__net_common_opts *)base)->reconnect_max_ms, v, path,
	                JLOG__NET_RECONNECT_MIN_MS, 3600000, err, errlen);
}

int jlog__net_set_buffer_size(void *base, const json_t *v, const char *path, char *err,
                              size_t errlen)
{
	long long n;
	/* At least one record of the default max_record_size; the engine
	 * keeps frame lengths in 32 bits. */
	int rc = jlog__cfg_int(v, path, 65536, (long long)UINT32_MAX, &n, err, errlen);
	if (rc == 0)
		((struct jlog__net_common_opts *)base)->buffer_size = (size_t)n;
	return rc;
}

struct net_opts {
	struct jlog__net_common_opts c; /* first: the common setters cast base */
	struct jlog__frame_opts fo;
};

static int set_max_datagram(void *base, const json_t *v, const char *path, char *err,
                            size_t errlen)
{
	long long n;
	int rc = jlog__cfg_int(v, path, 512, JLOG__NET_UDP_MAX, &n, err, errlen);
	if (rc == 0)
		((struct net_opts *)base)->c.max_datagram = (size_t)n;
	return rc;
}

/* A frame option through syslog-frame.c's setter (its message names
 * @path). */
static int frame_string(struct net_opts *o, const json_t *v, const char *path, char *err,
                        size_t errlen,
                        int (*set)(struct jlog__frame_opts *, const char *, const char *))
{
	const char *s;
	int rc = jlog__cfg_string(v, path, &s, err, errlen);
	if (rc == 0 && set(&o->fo, path, s) < 0)
		rc = jlog__cfg_fail(err, errlen, "", "%s", jlog_last_error());
	return rc;
}

static int set_framing(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	return frame_string(base, v, path, err, errlen, jlog__frame_set_framing);
}

static int set_facility(void *base, const json_t *v, const char *path, char *err,
                        size_t errlen)
{
	if (json_is_integer(v)) {
		long long n;
		int rc = jlog__cfg_int(v, path, 0, 23, &n, err, errlen);
		if (rc == 0)
			((struct net_opts *)base)->fo.facility = (int)n;
		return rc;
	}
	return frame_string(base, v, path, err, errlen, jlog__frame_set_facility);
}

static int set_app_name(void *base, const json_t *v, const char *path, char *err,
                        size_t errlen)
{
	return frame_string(base, v, path, err, errlen, jlog__frame_set_app_name);
}

static int set_msgid(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	return frame_string(base, v, path, err, errlen, jlog__frame_set_msgid);
}

static int set_hostname(void *base, const json_t *v, const char *path, char *err,
                        size_t errlen)
{
	return frame_string(base, v, path, err, errlen, jlog__frame_set_hostname);
}

static const struct jlog__opt net_keys[] = {
	{"framing", JLOG__OPT_CUSTOM, 0, set_framing,
	 "\"lines\" (default), \"rfc5424\" (octet counting on streams) or \"rfc3164\""},
	{"facility", JLOG__OPT_CUSTOM, 0, set_facility,
	 "syslog facility: \"user\" (default), \"daemon\", \"local0\"..\"local7\"... or 0..23"},
	{"app_name", JLOG__OPT_CUSTOM, 0, set_app_name,
	 "syslog APP-NAME; default the program's name"},
	{"msgid", JLOG__OPT_CUSTOM, 0, set_msgid, "syslog MSGID; default \"-\""},
	{"hostname", JLOG__OPT_CUSTOM, 0, set_hostname,
	 "syslog HOSTNAME; default gethostname()"},
	{"connect_timeout_ms", JLOG__OPT_CUSTOM, 0, jlog__net_set_connect_timeout,
	 "give up a connect (and a name lookup) after this long; default 2000"},
	{"reconnect_max_ms", JLOG__OPT_CUSTOM, 0, jlog__net_set_reconnect_max,
	 "the longest backoff between reconnects; default 30000"},
	{"buffer_size", JLOG__OPT_CUSTOM, 0, jlog__net_set_buffer_size,
	 "bytes of frames kept while disconnected; default 4194304"},
	{"max_datagram", JLOG__OPT_CUSTOM, 0, set_max_datagram,
	 "largest datagram (udp, unixgram); default 65507 for UDP, the socket's for unixgram"},
	{NULL, 0, 0, NULL, NULL},
};

static void net_opts_init(void *opts, const jlog_sink_options *so)
{
	(void)so;
	struct net_opts *o = opts;
	jlog__frame_opts_init(&o->fo, true);
}

/* ---- shared ops ----------------------------------------------------------- */

/* The engine's reports (writer thread): once per outage, on stderr. */
static void report(void *ctx, const char *msg)
{
	(void)ctx;
	char line[1200];
	int n = snprintf(line, sizeof(line), "jlog: sink %s\n", msg);
	if (n > 0)
		(void)jlog__write_all(STDERR_FILENO, line,
		                      (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int jlog__net_tp_open(struct jlog__net_tp *t, struct jlog__net_opts *no,
                      const struct jlog__net_common_opts *c, struct jlog_transport **out)
{
	no->connect_timeout_ms = c->connect_timeout_ms;
	no->reconnect_max_ms = c->reconnect_max_ms;
	no->buffer_size = c->buffer_size;
	no->max_datagram = c->max_datagram;
	no->report = report;
	no->report_ctx = t;
	t->wait_ms = c->connect_timeout_ms ? c->connect_timeout_ms : JLOG__NET_CONNECT_TIMEOUT_MS;
	t->buffer_size = c->buffer_size ? c->buffer_size : JLOG__NET_BUFFER_SIZE;
	t->drop_at = SIZE_MAX;
	t->stream = no->addr.stream;
	jlog__buf_init(&t->frame);
	t->crash.p = malloc(CRASH_MEM);
	t->crash.cap = CRASH_MEM;
	t->crash.fixed = true;
	if (no->label)
		snprintf(t->name, sizeof(t->name), "%s", no->label);
	else
		jlog__net_addr_format(&no->addr, t->name, sizeof(t->name));
	int err = -ENOMEM;
	t->n = t->crash.p ? jlog__net_open(no, &err) : NULL;
	if (!t->n) {
		if (!t->crash.p)
			jlog__set_last_error("sink \"%s\": out of memory", t->name);
		free(t->crash.p);
		free(t);
		return err;
	}
	*out = &t->base;
	return 0;
}

/* Step back to the start of a UTF-8 sequence at or before @n. */
static size_t utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/*
 * Format @v again at @start of @out as a line of at most @budget bytes
 * (without its newline): the message cut to a quarter of the budget, then
 * the fields halved until it fits (see the top of the file). Returns
 * false when not even the record without fields and message fits.
 */
static bool shrink_line(struct jlog__buf *out, size_t start, size_t budget,
                        const struct jlog__rec_view *v, const struct jlog_sink *s,
                        const struct jlog__line_ctx *ctx)
{
	struct jlog__rec_view w = *v;
	w.flags |= JLOG__REC_TRUNCATED;
	for (int pass = 0; pass < 2; pass++) {
		size_t cap = pass == 0 ? budget / 4 : 0;
		if (v->msg_len > cap) {
			w.msg_len = utf8_cut(v->msg, cap);
			w.flags |= JLOG__REC_MSG_TRUNCATED;
		}
		for (uint32_t k = v->nfields;; k /= 2) {
			/* The first k fields: end the view after them. */
			const uint8_t *cur = v->fields;
			struct jlog__field_view f;
			for (uint32_t i = 0; i < k && cur && jlog__field_next_raw(v, &cur, &f); i++)
				;
			w.nfields = k;
			w.end = k ? cur : v->fields;
			out->len = start;
			out->failed = false;
			jlog__sink_format(s, out, &w, ctx);
			if (!out->failed && out->len - start <= budget + 1)
				return true;
			if (k == 0)
				break;
		}
	}
	out->len = start;
	return false;
}

bool jlog__net_tp_record(struct jlog_transport *tp, struct jlog__buf *out, size_t start,
                         const struct jlog__rec_view *v, const struct jlog_sink *s,
                         const struct jlog__line_ctx *ctx)
{
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	if (start == 0)
		t->drop_at = SIZE_MAX; /* a new batch (or one discarded) */
	if (t->drop_at != SIZE_MAX)
		return false; /* a line before failed: this one goes with it */
	size_t len = out->len - start;
	if (len && out->p[out->len - 1] == '\n')
		len--;
	bool cut = false;
	if (t->cut_to_datagram) {
		size_t max = jlog__net_max_frame(t->n), over = jlog__frame_overhead(&t->fo);
		size_t budget = max > over ? max - over : 0;
		if (len > budget) {
			if (!shrink_line(out, start, budget, v, s, ctx)) {
				/* Keep the sink's buffer whole lines: an empty
				 * line stands for the record, which is lost. */
				out->len = start;
				jlog__buf_putc(out, '\n');
				t->drop_at = start;
				t->drop_err = -EMSGSIZE;
				return false;
			}
			len = out->len - start - 1;
			cut = !(v->flags & JLOG__REC_TRUNCATED);
		}
	}
	t->frame.len = 0;
	t->build(t, &t->frame, out->p + start, len, v);
	if (t->frame.failed) {
		t->frame.failed = false;
		t->drop_at = start;
		t->drop_err = -ENOMEM;
		return false;
	}
	size_t queued = jlog__net_queued(t->n);
	if (t->stalled && queued < t->buffer_size / 4)
		t->stalled = false;
	if (!t->stalled && jlog__net_connected(t->n) &&
	    queued + t->frame.len > t->buffer_size / 2) {
		/* Back-pressure (transport-net.h): the socket is up but
		 * slower than the writer. */
		if (jlog__net_flush(t->n, t->wait_ms) < 0 && jlog__net_connected(t->n))
			t->stalled = true;
	}
	int rc = jlog__net_queue(t->n, t->frame.p, t->frame.len);
	if (rc < 0) {
		t->lost_seen++; /* this one is counted through the write */
		t->drop_at = start;
		t->drop_err = rc;
		return false; /* lost: its line is not written, cut or not */
	}
	return cut;
}

int jlog__net_tp_write(struct jlog_transport *tp, const char *p, size_t len,
                       struct jlog__write_result *r)
{
	(void)p;
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	/* The record op only queued the batch's frames (net-conn.h,
	 * jlog__net_queue()): they go now, as a file's lines would. */
	(void)jlog__net_flush(t->n, 0);
	size_t at = t->drop_at;
	t->drop_at = SIZE_MAX;
	if (at == SIZE_MAX || at >= len)
		return 0;
	r->kept = at;
	return t->drop_err;
}

int jlog__net_tp_flush(struct jlog_transport *tp)
{
	/* What the socket takes now; the rest goes at the next ticks. */
	(void)jlog__net_flush(((struct jlog__net_tp *)tp)->n, 0);
	return 0;
}

/* The engine's losses and errors since the last look, for the writer
 * (transport-net.h, accounting). */
static void take_engine_counts(struct jlog__net_tp *t)
{
	struct jlog__net_stats st = jlog__net_stats(t->n);
	if (st.lost > t->lost_seen) {
		t->base.side_lost += st.lost - t->lost_seen;
		t->lost_seen = st.lost;
	}
	if (st.errors > t->errors_seen) {
		t->base.side_write_errors += st.errors - t->errors_seen;
		t->errors_seen = st.errors;
	}
}

void jlog__net_tp_tick(struct jlog_transport *tp, uint64_t now_ns)
{
	(void)now_ns;
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	jlog__net_tick(t->n);
	take_engine_counts(t);
}

void jlog__net_tp_finish(struct jlog_transport *tp, uint64_t until_ms)
{
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	uint64_t now = jlog__ms_now();
	unsigned ms = 0;
	if (!until_ms)
		ms = t->wait_ms; /* no deadline set: close's own wait */
	else if (until_ms > now)
		ms = until_ms - now < UINT32_MAX ? (unsigned)(until_ms - now) : UINT32_MAX;
	(void)jlog__net_flush(t->n, jlog__net_connected(t->n) ? ms : 0);
	(void)jlog__net_discard(t->n);
	take_engine_counts(t);
}

/* Async-signal-safe but for the frame's header (snprintf, gmtime_r): the
 * crash handler's step 4 runs the formatter too. Each line gets the
 * crash's time and severity crit in its header; its JSON has its own. A
 * stream's frames go out together, as many as the crash buffer holds per
 * send (each send costs the socket buffer an overhead of its own, so one
 * per frame fills it long before its size in bytes); a datagram's one by
 * one. Each send waits a while for a full socket, since the process is
 * about to die with what is left; after one wait gave up the rest go
 * only if the socket takes them at once. */
static void crash_send(struct jlog__net_tp *t)
{
	if (t->crash.len == 0)
		return;
	unsigned ms = t->crash_gave_up ? 0 : t->stream ? CRASH_STREAM_WAIT_MS : CRASH_DGRAM_WAIT_MS;
	if (jlog__net_crash_write(t->n, t->crash.p, t->crash.len, ms) < 0)
		t->crash_gave_up = true;
	t->crash.len = 0;
}

void jlog__net_tp_crash_write(struct jlog_transport *tp, const char *p, size_t len)
{
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	if (t->build == NULL)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct jlog__rec_view v;
	memset(&v, 0, sizeof(v));
	v.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	v.level = JLOG_LEVEL_CRITICAL;
	const char *end = p + len;
	t->crash.len = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		v.msg = p;
		v.msg_len = n;
		size_t at = t->crash.len;
		t->crash.failed = false;
		t->build(t, &t->crash, p, n, &v);
		if (t->crash.failed && at > 0) {
			/* Full: send the frames before this one, build it again. */
			t->crash.len = at;
			crash_send(t);
			t->crash.failed = false;
			t->build(t, &t->crash, p, n, &v);
		}
		if (t->crash.failed)
			t->crash.len = 0; /* longer than the buffer: skipped */
		if (!t->stream)
			crash_send(t);
		p += n + (nl != NULL);
	}
	crash_send(t);
}

void jlog__net_tp_after_fork(struct jlog_transport *tp)
{
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	jlog__net_after_fork(t->n);
	/* The parent's frames were the parent's lines: not the child's
	 * counters' to move. */
	struct jlog__net_stats st = jlog__net_stats(t->n);
	t->lost_seen = st.lost;
	t->errors_seen = st.errors;
	t->drop_at = SIZE_MAX;
	t->stalled = false;
}

void jlog__net_tp_describe(const struct jlog_transport *tp, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ((const struct jlog__net_tp *)tp)->name);
}

void jlog__net_tp_close(struct jlog_transport *tp)
{
	struct jlog__net_tp *t = (struct jlog__net_tp *)tp;
	/* After finish nothing is queued. A sink jlog_remove_sink() took
	 * away had none: what is queued gets the connect timeout to go out
	 * on a connection that is up (one that is down would only make the
	 * remove wait); what is left then is said, not counted (the writer
	 * counted it written and no longer looks at this sink). */
	(void)jlog__net_flush(t->n, jlog__net_connected(t->n) ? t->wait_ms : 0);
	if (jlog__net_queued(t->n)) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s: closed with %zu bytes of frames not sent", t->name,
		         jlog__net_queued(t->n));
		report(NULL, msg);
	}
	jlog__net_close(t->n);
	jlog__buf_finish(&t->frame);
	free(t->crash.p);
	free(t);
}

/* ---- the syslog kinds ------------------------------------------------------ */

static void build_syslog(const struct jlog__net_tp *t, struct jlog__buf *out, const char *line,
                         size_t len, const struct jlog__rec_view *v)
{
	jlog__frame_append(out, &t->fo, line, len, v);
}

static int net_open(struct jlog_transport **out, const char *target, const void *opts,
                    const jlog_sink_options *so)
{
	(void)so;
	const struct net_opts *o = opts;
	struct jlog__net_opts no;
	memset(&no, 0, sizeof(no));
	int rc = jlog__net_addr_parse(target, &no.addr);
	if (rc < 0)
		return rc;
	struct jlog__net_tp *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->base.ops = &jlog__transport_net;
	t->build = build_syslog;
	t->fo = o->fo;
	t->fo.stream = no.addr.stream;
	t->fo.local = no.addr.kind == JLOG__NET_UNIX || no.addr.kind == JLOG__NET_UNIXGRAM;
	t->cut_to_datagram = !no.addr.stream;
	return jlog__net_tp_open(t, &no, &o->c, out);
}

const struct jlog__transport_ops jlog__transport_net = {
	.kind = "network",
	.opts = net_keys,
	.opts_size = sizeof(struct net_opts),
	.opts_init = net_opts_init,
	.open = net_open,
	.record = jlog__net_tp_record,
	.write = jlog__net_tp_write,
	.flush = jlog__net_tp_flush,
	.tick = jlog__net_tp_tick,
	.finish = jlog__net_tp_finish,
	.crash_write = jlog__net_tp_crash_write,
	.after_fork = jlog__net_tp_after_fork,
	.describe = jlog__net_tp_describe,
	.close = jlog__net_tp_close,
};
