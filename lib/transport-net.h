/*
 * What the network transports share (transport-net.c: "tcp://", "udp://",
 * "unix:", "unixgram:"; transport-journald.c: "journald"): a connection
 * engine (net-conn.h) behind the seam's ops, fed one frame per record by
 * the record op.
 *
 * Accounting (jlog_stats: every formatted line ends up in written or in
 * lost). The record op queues each record's frame in the engine, and the
 * write op sends the batch (net-conn.h, jlog__net_queue(): never before
 * the writer hands the batch over, which the crash handler resumes
 * from; only back-pressure, below, sends in the middle of a batch).
 * A frame the engine refuses (its outage buffer full, a datagram too
 * large) is remembered as the first line of the batch that failed, and
 * that line and the ones after it in the batch are not queued: the next
 * write reports the failure with the lines before it kept, so the writer
 * counts those as written and the rest as lost. Frames the engine drops
 * later, after they were counted written (a datagram limit learned from
 * EMSGSIZE), move to lost through base.side_lost at the next tick; the
 * engine's errors go to write_errors through base.side_write_errors. The
 * frames a forked child drops were its parent's lines, not in the
 * child's counters (which start at zero), so they are not moved. At
 * jlog_close() the finish op sends what is queued until the close
 * deadline, on a connection that is up (one that is down would only make
 * the close wait), and moves what is left to lost, which the writer
 * reports once with the other sinks' losses. A sink that jlog_remove_sink()
 * takes away gets no finish: its close waits connect_timeout_ms and says
 * on stderr what was not sent, but that is counted written.
 *
 * Back-pressure. While connected, a record whose frame would fill more
 * than half the outage buffer first waits (poll) for the socket to take
 * the queue, up to connect_timeout_ms once per stall: a slow aggregator
 * slows the writer (and, through the ring, the producers under the BLOCK
 * policy) instead of filling the buffer meant for outages. A socket that
 * takes nothing for that long is stalled: the writer stops waiting on it
 * until its queue drains, and frames beyond the bound are dropped and
 * counted.
 */
#ifndef JLOG_TRANSPORT_NET_H
#define JLOG_TRANSPORT_NET_H

#include "transport.h"

#include "jlog-private.h"
#include "journald.h"
#include "net-conn.h"
#include "syslog-frame.h"

#include <jansson.h>

struct jlog__net_tp;

/* The frame of one record (@line/@len without its newline) into @out. */
typedef void jlog__net_build_fn(const struct jlog__net_tp *t, struct jlog__buf *out,
                                const char *line, size_t len,
                                const struct jlog__rec_view *v);

struct jlog__net_tp {
	struct jlog_transport base;
	struct jlog__net *n;
	jlog__net_build_fn *build;
	bool cut_to_datagram; /* a line longer than the datagram is re-formatted shorter */
	unsigned wait_ms;     /* the longest wait for a connected socket */
	size_t buffer_size;
	bool stalled;         /* a wait timed out; no more until the queue drains */
	size_t drop_at;       /* offset in the sink buffer of the first line of this
	                         batch not queued, SIZE_MAX for none */
	int drop_err;
	uint64_t lost_seen;   /* engine losses already counted */
	uint64_t errors_seen; /* engine errors already in side_write_errors */
	struct jlog__buf frame;     /* the record's frame (writer thread) */
	struct jlog__buf crash;     /* fixed: the crash write's frames */
	bool stream;                /* a stream socket (else datagrams) */
	bool crash_gave_up;         /* a crash write's wait ran out: no more waits */
	char name[300];
	struct jlog__frame_opts fo; /* the syslog kinds */
	struct jlog__journald_opts jo; /* journald */
};

/* The engine options every kind takes ("connect_timeout_ms",
 * "reconnect_max_ms", "buffer_size"). Pair: jlog__net_tp_open(). */
struct jlog__net_common_opts {
	unsigned connect_timeout_ms;
	unsigned reconnect_max_ms;
	size_t buffer_size;
	size_t max_datagram;
};

int jlog__net_set_connect_timeout(void *base, const json_t *v, const char *path, char *err,
                                  size_t errlen);
int jlog__net_set_reconnect_max(void *base, const json_t *v, const char *path, char *err,
                                size_t errlen);
int jlog__net_set_buffer_size(void *base, const json_t *v, const char *path, char *err,
                              size_t errlen);

/*
 * jlog__net_tp_open - the engine for @no (its addr and hooks set by the
 * caller) with @c's options, around @t (allocated by the caller with
 * build, fo or jo set); reports go to stderr. 0, or a negative errno with
 * jlog_last_error() set (@t is then freed).
 */
int jlog__net_tp_open(struct jlog__net_tp *t, struct jlog__net_opts *no,
                      const struct jlog__net_common_opts *c, struct jlog_transport **out);

/* The shared ops. */
bool jlog__net_tp_record(struct jlog_transport *tp, struct jlog__buf *out, size_t start,
                         const struct jlog__rec_view *v, const struct jlog_sink *s,
                         const struct jlog__line_ctx *ctx);
int jlog__net_tp_write(struct jlog_transport *tp, const char *p, size_t len,
                       struct jlog__write_result *r);
int jlog__net_tp_flush(struct jlog_transport *tp);
void jlog__net_tp_tick(struct jlog_transport *tp, uint64_t now_ns);
void jlog__net_tp_finish(struct jlog_transport *tp, uint64_t until_ms);
void jlog__net_tp_crash_write(struct jlog_transport *tp, const char *p, size_t len);
void jlog__net_tp_after_fork(struct jlog_transport *tp);
void jlog__net_tp_describe(const struct jlog_transport *tp, char *buf, size_t len);
void jlog__net_tp_close(struct jlog_transport *tp);

#endif
