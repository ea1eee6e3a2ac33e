/*
 * The connection engine of the network transports (net-conn.c): one
 * connection to one aggregator, its outage buffer, reconnects and error
 * reports. Shared by tcp://, udp://, unix:, unixgram: and journald.
 *
 * Mapping onto the transport seam's ops (one engine per sink):
 *   open         jlog__net_open(opts)        never blocks (numeric hosts
 *                                            and paths connect at once;
 *                                            names resolve on a helper thread)
 *   record       jlog__frame_append() (or jlog__journald_entry()) into a
 *                scratch buffer, then jlog__net_queue(frame)  - one frame
 *                per record, queued whole
 *   write        jlog__net_flush(n, 0)       send the batch
 *   flush        jlog__net_flush(n, 0)       push what the socket takes now
 *   tick         jlog__net_tick(n)           connect progress, backoff,
 *                                            resolver results, push; call
 *                                            again by jlog__net_next_ns()
 *   max_record   jlog__net_max_frame(n) - jlog__frame_overhead(fo)
 *   crash_write  jlog__net_crash_write(n, frames, len, ms)
 *   after_fork   jlog__net_after_fork(n)     in the child
 *   describe     jlog__net_describe(n)
 *   finish       jlog__net_flush(n, ms) then jlog__net_discard(n)
 *   close        jlog__net_flush(n, ms) then jlog__net_close(n)
 * Everything but crash_write runs on the writer thread only (the engine
 * has no lock); stats are plain counters read on that thread.
 */
#ifndef JLOG_NET_CONN_H
#define JLOG_NET_CONN_H

#include "net-addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Option defaults (documented for jlog.h by the transports that use them). */
#define JLOG__NET_CONNECT_TIMEOUT_MS 2000u
#define JLOG__NET_RECONNECT_MIN_MS 100u
#define JLOG__NET_RECONNECT_MAX_MS 30000u
#define JLOG__NET_BUFFER_SIZE (4u << 20)
/* 65535 - 8 (UDP header) - 20 (IPv4 header): the largest UDP payload over
 * IPv4; IPv6 allows 20 more, which jlog does not use. */
#define JLOG__NET_UDP_MAX 65507u

/*
 * Called (writer thread) with a one-line message: once when an outage
 * starts ("tcp://127.0.0.1:514: connect: Connection refused; reconnecting
 * with backoff up to 30000 ms"), once when the outage buffer first drops
 * a frame in it, and once when the connection is back (with the frames
 * lost meanwhile). @msg is valid during the call only.
 */
typedef void jlog__net_report_fn(void *ctx, const char *msg);

/*
 * Sends one datagram too large for the socket (the journald native
 * protocol's sealed memfd); returns 0 or a negative errno. NULL: such a
 * frame is dropped and counted lost.
 */
typedef int jlog__net_oversize_fn(int fd, const void *frame, size_t len);

struct jlog__net_opts {
	struct jlog__net_addr addr;
	unsigned connect_timeout_ms; /* "connect_timeout_ms"; 0: default 2000 */
	unsigned reconnect_max_ms;   /* "reconnect_max_ms"; 0: default 30000 */
	size_t buffer_size;          /* "buffer_size" bytes; 0: default 4 MiB */
	size_t max_datagram;         /* "max_datagram"; 0: UDP 65507, unixgram
	                                the socket's SO_SNDBUF limit */
	jlog__net_report_fn *report; /* may be NULL */
	void *report_ctx;
	jlog__net_oversize_fn *oversize; /* datagrams only; may be NULL */
	const char *label; /* the name in messages and describe (copied);
	                      NULL: the sink string */
};

struct jlog__net_stats {
	uint64_t frames_sent; /* whole frames handed to the kernel */
	uint64_t bytes_sent;
	uint64_t lost;     /* frames dropped: buffer full, too large, EMSGSIZE,
	                      or cut by after_fork */
	uint64_t errors;   /* failed connects, resolves and sends */
	uint64_t connects; /* successful connections */
	uint64_t outages;  /* times the connection went down */
	uint64_t resent;   /* frames restarted on a new connection after a
	                      partial write to a dead one */
};

struct jlog__net;

/*
 * jlog__net_open - an engine for @o (copied). Never blocks: a numeric host
 * or a path is connected at once (a unix socket's connect does not wait;
 * TCP's is non-blocking and completes in jlog__net_tick()); a name is
 * handed to a resolver helper thread. A server that is not there is not an
 * error: the engine keeps frames in its buffer and reconnects.
 * Returns NULL with *err = -ENOMEM (or -EAGAIN when no thread can be made)
 * and jlog_last_error() set.
 */
struct jlog__net *jlog__net_open(const struct jlog__net_opts *o, int *err);

/*
 * jlog__net_write - queue one whole frame (copied) and send what the socket
 * accepts now without waiting. Frames leave in order; a frame is never
 * split across connections: one partly written to a connection that then
 * dies is sent again from its start on the next one. Returns 0, or
 * -ENOBUFS when the frame did not fit in buffer_size (dropped, counted in
 * lost, reported once per outage), -EMSGSIZE when a datagram frame exceeds
 * jlog__net_max_frame() and no oversize hook is set (dropped, counted).
 */
int jlog__net_write(struct jlog__net *n, const void *frame, size_t len);

/*
 * jlog__net_queue - jlog__net_write() without the send: the frame waits
 * for the next flush or tick. The transports queue a batch's frames this
 * way and send them when the writer writes the batch, so that nothing of
 * a batch reaches the aggregator before the writer counts it handed over
 * (the crash handler resumes every sink from that point: a frame sent
 * earlier would arrive twice).
 */
int jlog__net_queue(struct jlog__net *n, const void *frame, size_t len);

/*
 * jlog__net_flush - send queued frames; with @timeout_ms > 0, wait (poll)
 * up to that long for the queue to empty, connecting if needed (close and
 * tests use that; the writer's ordinary flush passes 0). Returns 0 when
 * the queue is empty, -EAGAIN when frames remain.
 */
int jlog__net_flush(struct jlog__net *n, unsigned timeout_ms);

/* jlog__net_tick - advance resolving, connecting and backoff; send. */
void jlog__net_tick(struct jlog__net *n);

/*
 * jlog__net_next_ns - CLOCK_MONOTONIC time by which the next tick is
 * needed (a connect deadline, a backoff's end, a resolver to poll, frames
 * the socket refused); UINT64_MAX when nothing waits.
 */
uint64_t jlog__net_next_ns(const struct jlog__net *n);

/*
 * jlog__net_max_frame - the largest frame jlog__net_write() sends: a
 * datagram transport's limit (max_datagram, or learned from EMSGSIZE);
 * for streams buffer_size (a larger frame can never be queued).
 */
size_t jlog__net_max_frame(const struct jlog__net *n);

/*
 * jlog__net_crash_write - the crash handler's write of @len bytes of
 * whole frames (a stream) or of one frame (a datagram), if the connection
 * is up and no frame is half-written on it (the crash frames would tear
 * it): sent with MSG_DONTWAIT|MSG_NOSIGNAL, polling up to @wait_ms while
 * the socket is full. A stream's bytes may be cut only when the peer takes
 * nothing for that long. The queue is not touched (the writer may be
 * using it), so the crash frames go ahead of frames still queued there.
 * Async-signal-safe. Returns 0 if sent whole, -EAGAIN if nothing went,
 * -ETIMEDOUT if part of it went.
 */
int jlog__net_crash_write(struct jlog__net *n, const void *frame, size_t len, unsigned wait_ms);

/*
 * jlog__net_after_fork - in a child: close the inherited socket (close()
 * only: the parent's connection stays up), forget queued frames (they are
 * the parent's, counted in lost) and an unfinished resolution (its thread
 * is the parent's), and reconnect on the next write.
 */
void jlog__net_after_fork(struct jlog__net *n);

/*
 * jlog__net_discard - drop every queued frame, counted in lost (a close
 * whose deadline passed); a frame half-sent goes too, and the connection
 * with it, so that no later write completes it. Returns how many.
 */
uint64_t jlog__net_discard(struct jlog__net *n);

/* jlog__net_describe - "tcp://127.0.0.1:514 (connected)" etc. */
const char *jlog__net_describe(struct jlog__net *n);

/* jlog__net_stats - the counters (writer thread). */
struct jlog__net_stats jlog__net_stats(const struct jlog__net *n);

/* jlog__net_connected - whether a connection is up now. */
bool jlog__net_connected(const struct jlog__net *n);

/* jlog__net_queued - bytes waiting in the outage buffer. */
size_t jlog__net_queued(const struct jlog__net *n);

/* jlog__net_last_error - the last error message ("" if none); valid until
 * the next call on @n. */
const char *jlog__net_last_error(const struct jlog__net *n);

/* jlog__net_close - close the socket and free; queued frames are dropped
 * (call jlog__net_flush() with a timeout first). NULL is a no-op. */
void jlog__net_close(struct jlog__net *n);

#endif
