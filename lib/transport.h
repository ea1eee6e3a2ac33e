/*
 * Transports: where a sink's bytes go.
 *
 * A sink (sink.c) owns what is the same for every output: level, filters,
 * formatter, buffer, counters and error reports. It hands whole lines to
 * its transport, which each kind implements in a file of its own,
 * lib/transport-NAME.c, listed once in transports.def with the sink
 * strings it claims ("stderr", "tcp://", every path...). That list makes
 * the declarations below, transport.c's registry, which maps a sink string
 * to its kind, and the build's sources: a new kind is its file and its
 * line there (docs/TRANSPORTS.md). Its configuration keys are its own
 * option table (opt.h), read by jlog_open_config() from the sink's object
 * and by jlog_add_sink() from jlog_sink_options.options.
 * transport-fd.c holds what the descriptor-based kinds share: the write
 * loop that never leaves a cut line in a regular file, and the
 * signal-safe write of the crash handler.
 *
 * Threads: open runs in jlog_open()/jlog_add_sink(); close once no writer
 * uses the sink any more (after finish, when a close stopped the writer); after_fork in the child of fork(), before its
 * writer starts; crash_write in a signal handler (crash.c, step 4); every
 * other operation on the writer thread only.
 */
#ifndef JLOG_TRANSPORT_H
#define JLOG_TRANSPORT_H

#include "jlog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct jlog__opt;
struct jlog__transport_ops;
struct jlog__buf;
struct jlog__rec_view;
struct jlog__line_ctx;
struct jlog_sink;

/* What every transport starts with (its own state follows). */
struct jlog_transport {
	const struct jlog__transport_ops *ops;
	unsigned flags; /* JLOG__TP_*, set by open */
	/* Failures of side work (rotation...) not yet in jlog_stats: added
	 * by the transport, taken by the writer's tick (writer thread). */
	uint64_t side_errors;
	/* Lines an earlier write took (counted written) that the transport
	 * dropped since (an outage buffer's frames): moved from written to
	 * lost by the writer's tick. And the transport's own failures
	 * (connects, sends), added to write_errors there. */
	uint64_t side_lost;
	uint64_t side_write_errors;
};

/* A stream that may be a terminal: colorize -1 (auto) looks at NO_COLOR,
 * FORCE_COLOR and the terminal. Without it auto means no colors: a file
 * gets escape codes only when its sink says colorize 1. */
#define JLOG__TP_STREAM 1u
/* ...and it was a terminal when opened. */
#define JLOG__TP_TTY 2u
/* The process's stderr: jlog's own reports about it would go to itself. */
#define JLOG__TP_STDERR 4u

/* What a write did. */
struct jlog__write_result {
	size_t kept;           /* bytes at the start that reached the output
	                          as whole lines (on failure) */
	unsigned cuts_removed; /* lines cut short by the failure and taken back */
};

struct jlog__transport_ops {
	/* "file", "stream"...: for describe and the docs; never compared. */
	const char *kind;
	/* Its configuration keys (fields of a struct of opts_size bytes), or
	 * NULL for none. */
	const struct jlog__opt *opts;
	size_t opts_size;
	/* The defaults of @opts, from the jlog_sink_options fields that
	 * predate the tables (file_mode, allow_symlink). May be NULL. */
	void (*opts_init)(void *opts, const jlog_sink_options *so);
	/* Open @target (the sink string; NULL for a callback) with @opts.
	 * 0, or a negative errno with jlog_last_error() naming the target.
	 * Never blocks (a FIFO without a reader is an error, not a wait). */
	int (*open)(struct jlog_transport **out, const char *target, const void *opts,
	            const jlog_sink_options *so);
	/* Write all @len bytes (whole lines): 0, or a negative errno with
	 * r->kept the prefix that reached the output as whole lines. A line
	 * cut short by the failure is removed where that can be done (a
	 * regular file never keeps one). Handles EINTR, short writes and
	 * EAGAIN itself. */
	int (*write)(struct jlog_transport *t, const char *p, size_t len,
	             struct jlog__write_result *r);
	/* Per record, on the writer thread, when the sink has just formatted
	 * @v as the line at [@start, out->len) of @out (newline included): the
	 * transport's per-record work (a syslog frame, a journal entry), which
	 * needs the record and not only its line. It may replace the line by
	 * a shorter one (jlog__sink_format() of @s with @v cut: a datagram's
	 * limit). A line the transport cannot take is reported by the next
	 * write, as a failure with the lines before it kept. Returns true
	 * when it shortened a record that was whole, which the writer counts
	 * in jlog_stats.truncated (the log call counted the others). May be
	 * NULL. */
	bool (*record)(struct jlog_transport *t, struct jlog__buf *out, size_t start,
	               const struct jlog__rec_view *v, const struct jlog_sink *s,
	               const struct jlog__line_ctx *ctx);
	/* At the end of each batch the writer writes (the flush point of
	 * jlog_flush()): anything buffered below write goes out. May be NULL. */
	int (*flush)(struct jlog_transport *t);
	/* Time-driven work (rotation, reconnecting): called by the writer at
	 * least every flush interval, with CLOCK_REALTIME. May be NULL. */
	void (*tick)(struct jlog_transport *t, uint64_t now_ns);
	/* At jlog_close(), on the writer thread after its last write: send
	 * what the transport still holds below write (an outage buffer)
	 * until @until_ms (CLOCK_MONOTONIC in ms: the close deadline), then
	 * drop the rest and add it to side_lost, where the writer moves it
	 * from written to lost and reports it. May be NULL. */
	void (*finish)(struct jlog_transport *t, uint64_t until_ms);
	/* Reopen the target (an external rotation moved it). May be NULL. */
	int (*reopen)(struct jlog_transport *t);
	/* Async-signal-safe: write @p (whole lines) as well as can be, with a
	 * bounded wait. NULL when the kind cannot (a callback): the crash
	 * handler then skips the sink and says so on stderr. */
	void (*crash_write)(struct jlog_transport *t, const char *p, size_t len);
	/* In the child of fork(): drop what belongs to the parent. May be NULL. */
	void (*after_fork)(struct jlog_transport *t);
	/* "file /var/log/app.log", "stderr", "callback": into @buf. */
	void (*describe)(const struct jlog_transport *t, char *buf, size_t len);
	void (*close)(struct jlog_transport *t);
};

/* The kinds (one file each): jlog__transport_NAME for each line of
 * transports.def. */
#define JLOG_TRANSPORT(name, claims) \
	extern const struct jlog__transport_ops jlog__transport_##name;
#include "transports.def"
#undef JLOG_TRANSPORT
/* The plain file transport on @path (the rotating one's hand-off). */
int jlog__file_open(struct jlog_transport **out, const char *path, unsigned mode,
                    bool allow_symlink);

/* Registry (transport.c) */

/* The kind of @so's sink: the callback when so->write is set, else by the
 * sink string's scheme (NULL is "stderr"). */
const struct jlog__transport_ops *jlog__transport_find(const jlog_sink_options *so);
/* The key @name of @kind, or else of another kind (*owner says which:
 * a document for a file sink still passes when JLOG_SINK makes it a
 * stream); NULL when no kind has it. */
const struct jlog__opt *jlog__transport_opt(const struct jlog__transport_ops *kind,
                                            const char *name,
                                            const struct jlog__transport_ops **owner);
/* "file_mode, allow_symlink" (every kind's keys), for "unknown key". */
void jlog__transport_opt_names(char *buf, size_t len);
/* Open @so's transport: its kind, its options (defaults, then
 * so->options), its target. 0, or a negative errno with a message. */
int jlog__transport_open(struct jlog_transport **out, const jlog_sink_options *so);

/* A stream on @fd, which the caller keeps open (tests). */
int jlog__transport_stream_fd(struct jlog_transport **out, int fd);

/* Descriptor helpers (transport-fd.c) */

/* Write all of @p to @fd as whole lines (the write op of the fd kinds). */
int jlog__fd_write_lines(int fd, const char *p, size_t len, struct jlog__write_result *r);
/* Async-signal-safe: write all of @p to @fd, or give up on an error or
 * when @fd takes nothing for a while (a stalled pipe cannot hold it). */
void jlog__fd_crash_write(int fd, const char *p, size_t len);
/* How jlog__write_some() writes to @fd on this thread (writer.c): PLAIN
 * (a blocking write(2)) except on the writer thread for a pipe or socket,
 * which are waited on with poll() up to the close/exit deadline. */
enum { JLOG__FD_PLAIN, JLOG__FD_PIPE, JLOG__FD_SOCKET };
int jlog__write_kind(int fd);
/* Wait until @fd takes data, or fail with -ETIMEDOUT past the deadline. */
int jlog__write_wait(int fd);
/* The most of @len bytes that a write(2) to the pipe @fd, which poll()
 * just said takes data, can take without blocking. */
size_t jlog__pipe_room(int fd, size_t len);
/* One write(2) that makes progress: retries EINTR, and polls while a
 * non-blocking @fd is full (EAGAIN). Returns bytes written (> 0, possibly
 * fewer than @len) or a negative errno. */
ssize_t jlog__write_some(int fd, const char *p, size_t len);
/* Write all of @p to @fd, retrying on EINTR, EAGAIN and partial writes. */
int jlog__write_all(int fd, const char *p, size_t len);

#endif
