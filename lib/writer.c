/*
 * The writer thread: one per root logger. It drains the ring in batches,
 * formats each record into the buffer of every sink that takes it and
 * hands each buffer to its sink in large write(2) calls. Producers never
 * wait for it except when the ring is full under the BLOCK policy.
 *
 * Sinks: the writer loads the core's sink set once per batch, at the top
 * of its loop, and says so in sinks_seen; every sink buffer is empty
 * there. jlog_add_sink()/jlog_remove_sink() publish a new set and, before
 * freeing anything of the old one, wait until sinks_seen is the new set:
 * the writer never waits for them, nor takes their lock.
 *
 * Flush protocol: jlog_flush() takes the ring's head as its target and
 * waits (on core->flushed, under core->lock) until written_pos, which the
 * writer advances after each batch has been written, reaches the target.
 *
 * Stop protocol: jlog__writer_stop() sets the deadline, sets stopping
 * and kicks the writer; the writer drains until it has consumed
 * everything reserved, seals the ring (jlog__ring_seal(): no record is
 * committed after that), writes it all, and exits; then it is joined. The
 * closer waits at most until the deadline plus STOP_GRACE_MS; a writer
 * still running then is detached and its core never freed.
 *
 * Exit protocol: the exit handler calls jlog__writer_exit_begin() on every
 * open core (deadline, exit_target = the ring's head, exiting), then
 * jlog__writer_exit_wait() on each. The writer drains only up to
 * exit_target, writes it, then parks: it stores exit_ack and makes no
 * write(2) any more (unless a close or a crash asks), because the process
 * ends when the handler returns, and a write to a regular file cut by the
 * end of the process would leave half a line in it. The handler returns
 * once exit_ack says the writer is parked at the target.
 *
 * Deadline: close and exit wait for the sinks at most close_timeout_ms.
 * The writer's writes to a pipe or socket wait with poll() and never
 * block past io.at_ms (jlog__write_some()); past it the writer writes
 * nothing more and counts every line left as lost (discarding), and the
 * closer or exit handler says once on stderr how many.
 *
 * Locks: core->lock guards only the flush wait (and the child list, in
 * logger.c). The writer only tries it, to broadcast to flushers, and
 * holds nothing else then: it never waits for an application thread.
 */
#include "jlog-private.h"
#include "flight.h"
#include "metrics.h"
#include "redact.h"
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Write the buffer once it holds this much: large writes, bounded memory. */
#define OUT_HIGH_WATER (256u * 1024u)
/* Give space back to producers at least every this many records. */
#define BATCH_RECORDS 1024u
/* The fields of a record that its decode keeps for the formatters (a
 * record with more has them walked again by each formatter). */
#define DECODED_FIELDS 32u
/* At stop, how long to wait for a record that was reserved but never
 * committed (its thread died inside a log call) before giving up on it. */
#define STOP_STALL_MS 2000
/* The same for a crash handler's last flush, which must be quick. */
#define CRASH_STALL_MS 200
/* How long close and exit wait past the deadline for the writer to stop
 * (it is then counting what is left, or finishing a write to a file). */
#define STOP_GRACE_MS 1000
/* The longest poll() of a write, so a deadline set meanwhile is seen. */
#define WRITE_SLICE_MS 100
/* How many times the writer tries core->lock to wake flushers. */
#define NOTIFY_TRIES 1000

/* The writer's batch: the sink set in use, and the position of the lines
 * formatted into the sink buffers but not yet written. */
struct pending {
	struct jlog__sink_set *set;
	uint64_t pos; /* ring position past the last record formatted */
	unsigned hooks; /* JLOG__SINK_HOOK_* of any sink of set */
	uint64_t last_tick_ms;
	struct jlog__clock_cache clock; /* for the records' times (decode) */
};

/* A sink's own counters (jlog_sink_stats), next to the core's: relaxed,
 * statistics only. */
static inline void sink_count(struct jlog_sink *s, uint64_t written, uint64_t bytes,
                              uint64_t errors, uint64_t lost)
{
	atomic_fetch_add_explicit(&s->n_written, written, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->n_bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->n_errors, errors, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->n_lost, lost, memory_order_relaxed);
}

/* A new sink set: which of the transports' hooks the batches call. */
static void use_set(struct pending *pend, struct jlog__sink_set *set)
{
	pend->set = set;
	pend->hooks = 0;
	for (unsigned i = 0; set && i < set->n; i++)
		pend->hooks |= jlog__sink_hooks(set->s[i]);
}

/* The transports' flush, at the end of a batch (before written_pos says
 * the batch is out, so that jlog_flush() covers it). */
static void flush_sinks(struct jlog_core *c, struct pending *pend)
{
	struct jlog__sink_set *set = pend->set;
	for (unsigned i = 0; set && i < set->n; i++)
		if ((jlog__sink_hooks(set->s[i]) & JLOG__SINK_HOOK_FLUSH) &&
		    jlog__sink_flush(set->s[i]) < 0)
			/* Relaxed: a statistics counter. */
			atomic_fetch_add_explicit(&c->write_errors, 1, memory_order_relaxed);
}

/*
 * Hand the buffered lines to the sink. When the sink fails (EPIPE, ENOSPC,
 * EFBIG...), the lines that reached it whole count as written and the
 * others are lost: dropped, not retried, so a sink that stays broken
 * cannot stall the ring, and the next batch tries again (writing resumes
 * as soon as the sink works).
 */
static bool past_deadline(struct jlog_core *c);

static void write_out(struct jlog_core *c, struct pending *pend)
{
	struct jlog__sink_set *set = pend->set;
	/* Relaxed: a hint; past_deadline() reads it again with acquire. */
	if (JLOG__UNLIKELY(atomic_load_explicit(&c->io.at_ms, memory_order_relaxed)) &&
	    !c->discarding && past_deadline(c))
		c->discarding = true;
	for (unsigned i = 0; set && i < set->n; i++) {
		struct jlog_sink *s = set->s[i];
		if (JLOG__UNLIKELY(c->discarding)) {
			/* Past the close or exit deadline: nothing is written
			 * any more (see the top of the file). */
			atomic_fetch_add_explicit(&c->lost, s->pend_lines, memory_order_relaxed);
			sink_count(s, 0, 0, 0, s->pend_lines);
			s->out.len = 0;
			s->pend_lines = 0;
			continue;
		}
		ssize_t n = jlog__sink_drain(s);
		/* Relaxed: statistics counters, read by jlog_get_stats(). */
		if (n > 0) {
			atomic_fetch_add_explicit(&c->bytes_written, (uint64_t)n, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->written, s->pend_lines, memory_order_relaxed);
			sink_count(s, s->pend_lines, (uint64_t)n, 0, 0);
		} else if (n < 0) {
			uint64_t kept = s->kept_lines < s->pend_lines ? s->kept_lines : s->pend_lines;
			atomic_fetch_add_explicit(&c->bytes_written, s->kept_bytes, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->written, kept, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->lost, s->pend_lines - kept, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->write_errors, 1, memory_order_relaxed);
			sink_count(s, kept, s->kept_bytes, 1, s->pend_lines - kept);
		}
		s->pend_lines = 0;
		/* The crash handler resumes this sink from here should a
		 * later sink of the set crash this thread before crash.sink_pos
		 * moves (a callback that faults): its lines are not written
		 * twice. Release pairs with the handler's acquire. */
		atomic_store_explicit(&s->crash_pos, pend->pos, memory_order_release);
	}
	/* For the crash handler, which resumes from here when this thread
	 * cannot finish (crash.c, step 4). Release pairs with its acquire. */
	atomic_store_explicit(&c->crash.sink_pos, pend->pos, memory_order_release);
}

/* Format a record for every sink that takes it. A sink's failure (a
 * line it could not format) is its own: the others get the record. */
static void emit(struct jlog_core *c, const struct jlog__rec_view *v, struct pending *pend)
{
	struct jlog__sink_set *set = pend->set;
	bool full = false;
	/* Redaction, once for every sink; a record with diagnostics has
	 * them expanded per sink first, so that its redaction sees them. */
	struct jlog__rec_view rtmp;
	const struct jlog__rec_view *rv = v;
	bool diag = v->flags & JLOG__REC_DIAG;
	if (JLOG__UNLIKELY(c->redact) && !diag)
		rv = jlog__redact_view(c->redact, v, &rtmp);
	for (unsigned i = 0; set && i < set->n; i++) {
		struct jlog_sink *s = set->s[i];
		if (v->level < s->level ||
		    ((s->filter || s->filter_fn) && !jlog__sink_accepts(s, rv ? rv : v)))
			continue;
		if (JLOG__UNLIKELY(c->discarding)) {
			s->pend_lines++; /* lost, in write_out() */
			continue;
		}
		/* A record with diagnostics shows them to the sinks that
		 * asked (jlog__diag_view() expands them). */
		struct jlog__rec_view dv, dtmp, stmp;
		const struct jlog__rec_view *sv = rv;
		if (JLOG__UNLIKELY(diag)) {
			if (s->backtrace || s->diagnose)
				sv = jlog__diag_view(c, v, s->backtrace, s->diagnose, &dv);
			if (c->redact)
				sv = jlog__redact_view(c->redact, sv, &dtmp);
		}
		if (JLOG__UNLIKELY(s->redact) && sv)
			sv = jlog__redact_view(s->redact, sv, &stmp);
		if (JLOG__UNLIKELY(!sv)) {
			/* Out of memory redacting: the line is not written
			 * rather than written with the secret. */
			atomic_fetch_add_explicit(&c->write_errors, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->lost, 1, memory_order_relaxed);
			sink_count(s, 0, 0, 1, 1);
			continue;
		}
		size_t before = s->out.len;
		jlog__sink_format(s, &s->out, sv, &c->ctx);
		if (s->out.failed) {
			/* Out of memory growing the buffer: this line is
			 * incomplete and is taken back (a failed grow keeps what
			 * the buffer held), so only this line is lost. */
			s->out.len = before;
			s->out.failed = false;
			atomic_fetch_add_explicit(&c->write_errors, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->lost, 1, memory_order_relaxed);
			sink_count(s, 0, 0, 1, 1);
			continue;
		}
		if (JLOG__UNLIKELY(s->framed) &&
		    s->tp->ops->record(s->tp, &s->out, before, sv, s, &c->ctx))
			atomic_fetch_add_explicit(&c->truncated, 1, memory_order_relaxed);
		s->pend_lines++;
		full |= s->out.len >= OUT_HIGH_WATER;
	}
	if (full)
		write_out(c, pend);
}

/* When producers dropped records since the last report, say how many in a
 * WARNING line of its own. */
static void report_drops(struct jlog_core *c, struct pending *pend)
{
	/* Relaxed: a counter; an increment seen late is reported next time. */
	uint64_t d = atomic_load_explicit(&c->dropped, memory_order_relaxed);
	if (d == c->dropped_reported)
		return;
	struct jlog__rec_view v = jlog__rec_synthetic(JLOG_LEVEL_WARNING, "records dropped",
	                                              jlog__now_ns(), jlog__gettid(), NULL,
	                                              NULL, 0);
	v.dropped = d - c->dropped_reported;
	c->dropped_reported = d;
	emit(c, &v, pend);
}

/* The core's sampler, which jlog_reload_config() may give a running
 * logger (acquire pairs with its release store). */
static inline struct jlog__sampler *sampler_of(struct jlog_core *c)
{
	return __atomic_load_n(&c->sampler, __ATOMIC_ACQUIRE);
}

struct sampled_report {
	struct jlog_core *c;
	struct pending *pend;
	uint64_t now_ns;
	uint32_t tid;
};

/* One call site's report: a record with the call site's file, line and
 * function, and one field, "sampled_out", so that every format and
 * preset writes it as it writes a call's field. A WARNING, or at @level,
 * the highest of the suppressed records, when that is higher: a sink
 * that takes those records takes their report. Pair:
 * jlog__sample_count_out(). */
static void report_site(void *arg, uint32_t id, uint64_t n, int level)
{
	static const char key[] = "sampled_out";
	struct sampled_report *r = arg;
	uint8_t field[sizeof(struct jlog__field_hdr) + sizeof(key) - 1 + 8];
	struct jlog__field_hdr h = {.type = JLOG__T_UINT, .key_len = sizeof(key) - 1,
	                            .val_len = 8};
	memcpy(field, &h, sizeof(h));
	memcpy(field + sizeof(h), key, sizeof(key) - 1);
	memcpy(field + sizeof(h) + sizeof(key) - 1, &n, 8);

	struct jlog__rec_view v =
		jlog__rec_synthetic(level > JLOG_LEVEL_WARNING ? level : JLOG_LEVEL_WARNING,
		                    "records sampled out", r->now_ns, r->tid,
		                    field, field + sizeof(field), 1);
	if (id) {
		const jlog_callsite *cs = jlog__callsite_get(id);
		v.file = jlog__callsite_basename(id);
		v.function = cs ? cs->function : NULL;
		v.line = cs ? cs->line : 0;
		v.callsite = id;
	}
	emit(r->c, &v, r->pend);
}

/* Once per report interval (and at the end, @all), a record for each
 * call site whose records sampling or a rate limit suppressed since the
 * last report. */
static void report_sampled(struct jlog_core *c, struct pending *pend, bool all)
{
	struct jlog__sampler *s = sampler_of(c);
	uint64_t now = jlog__ms_now();
	uint64_t every = atomic_load_explicit(&s->rules, memory_order_acquire)->report_ms;
	/* The first interval starts with the writer's first look, not at
	 * zero: a report comes at the end of an interval, so a burst that
	 * fits in one yields one report per call site (sample.h). */
	if (!s->next_report_ms)
		s->next_report_ms = now + every;
	if (!all && now < s->next_report_ms)
		return;
	s->next_report_ms = now + every;
	struct sampled_report r = {c, pend, jlog__now_ns(), jlog__gettid()};
	jlog__sample_collect(s, report_site, &r);
}

static void notify_flushers(struct jlog_core *c)
{
	/* Pairs with the increment in jlog__writer_flush(), which happens under
	 * the lock before the waiter re-checks written_pos. */
	if (atomic_load_explicit(&c->flush_waiters, memory_order_seq_cst)) {
		/* The writer never blocks on a lock that an application thread
		 * holds: that thread may be in fork_prepare(), or interrupted by
		 * a signal handler that waits for ring space only this writer
		 * can free. Other holders keep it for a few instructions, so a
		 * short retry nearly always wins. Failing that, a broadcast
		 * without the lock still wakes flushers already waiting; one
		 * between its check and its wait wakes on its own within 20 ms. */
		for (int i = 0; i < NOTIFY_TRIES; i++) {
			if (pthread_mutex_trylock(&c->lock) == 0) {
				pthread_cond_broadcast(&c->flushed);
				pthread_mutex_unlock(&c->lock);
				return;
			}
			sched_yield();
		}
		pthread_cond_broadcast(&c->flushed);
	}
}

/* emit() as a callback, for flight.c and metrics.c. */
struct emit_arg {
	struct jlog_core *c;
	struct pending *pend;
};

static void emit_cb(void *arg, const struct jlog__rec_view *v)
{
	struct emit_arg *e = arg;
	emit(e->c, v, e->pend);
}

/* With a flight recorder (flight.h): a deferred record is held, and a
 * record at or above the trigger has the held ones written first. */
static void emit_flight(struct jlog_core *c, const struct jlog__rec_view *v,
                        struct pending *pend)
{
	struct jlog__flight *f = c->flight;
	if (v->flags & JLOG__REC_DEFERRED) {
		jlog__flight_keep(f, v);
		return;
	}
	if (v->level >= f->trigger && f->n) {
		struct emit_arg e = {c, pend};
		jlog__flight_replay(f, emit_cb, &e);
	}
	emit(c, v, pend);
}

/* Drain up to BATCH_RECORDS records from *pos, and none at or past
 * @limit, nor, with @reload, one that a reload asked for meanwhile wants
 * formatted with its new settings (made between batches: the loop of
 * writer_main()). Returns how many. */
static unsigned drain(struct jlog_core *c, uint64_t *pos, struct pending *pend, uint64_t limit,
                      bool reload)
{
	unsigned n = 0;
	const void *rec;
	size_t len;
	struct jlog__field_view fv[DECODED_FIELDS];
	while (n < BATCH_RECORDS && (int64_t)(limit - *pos) > 0) {
		uint64_t at = *pos;
		if (!jlog__ring_peek(&c->ring, pos, &rec, &len))
			break;
		/* After the peek: a record reserved after the reload took its
		 * position was committed after the request was published,
		 * so the request is seen here (reload.c says why). Acquire
		 * pairs with its store. The record stays for the next batch. */
		struct jlog__reload *rq = atomic_load_explicit(&c->reload_req, memory_order_acquire);
		if (JLOG__UNLIKELY(rq) && reload && !jlog__reload_before(rq, *pos)) {
			*pos = at;
			break;
		}
		struct jlog__rec_view v;
		/* Before emit(): a write it makes includes this record. */
		pend->pos = *pos;
		if (!jlog__record_decode_into(rec, len, &v, fv, DECODED_FIELDS, &pend->clock))
			atomic_fetch_add_explicit(&c->malformed, 1, memory_order_relaxed);
		else if (JLOG__UNLIKELY(c->flight))
			emit_flight(c, &v, pend);
		else
			emit(c, &v, pend);
		n++;
	}
	return n;
}

static void finish_batch(struct jlog_core *c, uint64_t pos, struct pending *pend)
{
	report_drops(c, pend);
	if (JLOG__UNLIKELY(sampler_of(c)))
		report_sampled(c, pend, false);
	if (JLOG__UNLIKELY(c->stats_interval_ms) && jlog__metrics_due(c, jlog__ms_now())) {
		struct emit_arg e = {c, pend};
		jlog__metrics_record(c, pend->set, emit_cb, &e);
	}
	write_out(c, pend);
	if (JLOG__UNLIKELY(pend->hooks & JLOG__SINK_HOOK_FLUSH))
		flush_sinks(c, pend);
	jlog__ring_release(&c->ring, pos);
	/* Release pairs with the acquire load in jlog__writer_flush(): a
	 * flusher that sees this position sees the writes done. */
	atomic_store_explicit(&c->written_pos, pos, memory_order_release);
	notify_flushers(c);
}

uint64_t jlog__ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Move what a transport counted on the side into the logger's counters
 * (transport.h, struct jlog_transport). */
static void take_side_counts(struct jlog_core *c, struct jlog_sink *s)
{
	struct jlog_transport *tp = s->tp;
	/* Relaxed: statistics counters. */
	atomic_fetch_add_explicit(&c->rotation_errors, tp->side_errors, memory_order_relaxed);
	tp->side_errors = 0;
	if (tp->side_lost) {
		/* Counted written when the transport took them. */
		atomic_fetch_sub_explicit(&c->written, tp->side_lost, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->lost, tp->side_lost, memory_order_relaxed);
		atomic_fetch_sub_explicit(&s->n_written, tp->side_lost, memory_order_relaxed);
		sink_count(s, 0, 0, 0, tp->side_lost);
		tp->side_lost = 0;
	}
	atomic_fetch_add_explicit(&c->write_errors, tp->side_write_errors, memory_order_relaxed);
	sink_count(s, 0, 0, tp->side_write_errors, 0);
	tp->side_write_errors = 0;
}

/* The transports' time-driven work: at least every flush interval, since
 * the idle writer wakes that often; at most every millisecond. */
static void tick_sinks(struct jlog_core *c, struct pending *pend)
{
	uint64_t now = jlog__ms_now();
	if (now == pend->last_tick_ms)
		return;
	pend->last_tick_ms = now;
	uint64_t real = jlog__now_ns();
	struct jlog__sink_set *set = pend->set;
	for (unsigned i = 0; set && i < set->n; i++)
		if (jlog__sink_hooks(set->s[i]) & JLOG__SINK_HOOK_TICK) {
			jlog__sink_tick(set->s[i], real);
			take_side_counts(c, set->s[i]);
		}
}

/* At close, after the last write: what the transports still hold gets
 * until @until (ms: the close deadline, or the crash's short wait;
 * transport.h, finish). What they drop then counts as a write the
 * deadline cut short, so that report_deadline() says so once, with the
 * other sinks' losses. */
static void finish_sinks(struct jlog_core *c, struct pending *pend, uint64_t until)
{
	struct jlog__sink_set *set = pend->set;
	for (unsigned i = 0; set && i < set->n; i++) {
		struct jlog_transport *tp = set->s[i]->tp;
		if (!tp->ops->finish)
			continue;
		tp->ops->finish(tp, until);
		if (tp->side_lost)
			/* Relaxed: a counter, read after the join. */
			atomic_fetch_add_explicit(&c->io.expired, 1, memory_order_relaxed);
		take_side_counts(c, set->s[i]);
	}
}

static bool past_deadline(struct jlog_core *c)
{
	/* Acquire pairs with the release store in set_deadline(). */
	uint64_t at = atomic_load_explicit(&c->io.at_ms, memory_order_acquire);
	return at && jlog__ms_now() >= at;
}

/* The writer thread's deadline (NULL on other threads): see
 * jlog__write_some(). */
static _Thread_local struct jlog__write_deadline *write_deadline;

int jlog__write_kind(int fd)
{
	struct stat st;
	if (!write_deadline || fstat(fd, &st) < 0)
		return JLOG__FD_PLAIN;
	if (S_ISFIFO(st.st_mode))
		return JLOG__FD_PIPE;
	if (S_ISSOCK(st.st_mode))
		return JLOG__FD_SOCKET;
	return JLOG__FD_PLAIN;
}

int jlog__write_wait(int fd)
{
	struct jlog__write_deadline *d = write_deadline;
	for (;;) {
		/* Acquire pairs with the release store in set_deadline(). */
		uint64_t at = d ? atomic_load_explicit(&d->at_ms, memory_order_acquire) : 0;
		uint64_t now = at ? jlog__ms_now() : 0;
		int slice = WRITE_SLICE_MS;
		if (at && now >= at)
			slice = 0; /* past it: only what goes at once */
		else if (at && at - now < (uint64_t)slice)
			slice = (int)(at - now);
		/* POLLERR, POLLHUP (no reader) and POLLNVAL send the caller to
		 * write(2), which then fails with the reason. */
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int rc = poll(&pfd, 1, slice);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR) {
			/* ENOMEM: transient; do not spin on it. */
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
			nanosleep(&ts, NULL);
		}
		if (at && now >= at) {
			/* Relaxed: a counter, read after the writer is done. */
			atomic_fetch_add_explicit(&d->expired, 1, memory_order_relaxed);
			return -ETIMEDOUT;
		}
	}
}

size_t jlog__pipe_room(int fd, size_t len)
{
	/* A pipe holds up to F_GETPIPE_SZ / page slots of one page each; a
	 * write starts a new slot whenever its first bytes do not fit in the
	 * last one, so two slots in a row hold more than a page and the
	 * unread bytes (FIONREAD) take at most 2 * pages(unread) + 1 slots. A
	 * write of n bytes needs at most pages(n) + 1 free slots. poll() said
	 * one slot is free: PIPE_BUF bytes always fit. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int cap = fcntl(fd, F_GETPIPE_SZ);
	int unread = 0;
	size_t room = PIPE_BUF;
	if (cap > 0 && ioctl(fd, FIONREAD, &unread) == 0 && unread >= 0) {
		size_t slots = (size_t)cap / page;
		size_t used = 2 * (((size_t)unread + page - 1) / page) + 1;
		if (slots > used + 1 && (slots - used - 1) * page > room)
			room = (slots - used - 1) * page;
	}
	return len < room ? len : room;
}

/* How far the writer may drain: up to the exit handler's target while the
 * process exits (the exit protocol), else anywhere. A close during the
 * exit handler (from a later exit handler) drains everything. */
static uint64_t drain_limit(struct jlog_core *c, uint64_t pos)
{
	/* Acquire pairs with the release stores of exit_begin()/the flush
	 * of the exiting thread and of jlog__writer_stop(). */
	if (JLOG__LIKELY(!atomic_load_explicit(&c->exiting, memory_order_acquire)) ||
	    atomic_load_explicit(&c->stopping, memory_order_acquire))
		return pos + ((uint64_t)1 << 62);
	return atomic_load_explicit(&c->exit_target, memory_order_acquire);
}

/* The exit handler's target is written and nothing is in flight: say so,
 * and wait for a close, a crash or a further target (the exit protocol). */
static void exit_park(struct jlog_core *c, uint64_t pos)
{
	/* Release pairs with the acquire load in exit_acked(): the lines up
	 * to pos are written when the handler sees it. */
	atomic_store_explicit(&c->exit_ack, pos + 1, memory_order_release);
	notify_flushers(c);
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 2 * 1000000L};
	nanosleep(&ts, NULL);
}

/*
 * A crash handler asked for a last flush (crash.c): write every record
 * reserved before the crash (up to crash.target), then the crash record,
 * and stand still until the process dies. The ring is not released: the
 * process is about to die. A record reserved but never committed (its
 * thread crashed inside a log call) holds up the rest for at most
 * CRASH_STALL_MS.
 */
static void crash_stop(struct jlog_core *c, uint64_t pos, struct pending *pend)
{
	uint64_t stall_since = 0;
	while ((int64_t)(pos - c->crash.target) < 0) {
		uint32_t seq = jlog__ring_wait_seq(&c->ring);
		if (drain(c, &pos, pend, pos + ((uint64_t)1 << 62), false) > 0) {
			write_out(c, pend); /* moves crash.sink_pos: progress */
			stall_since = 0;
			continue;
		}
		if (!stall_since)
			stall_since = jlog__ms_now();
		else if (jlog__ms_now() - stall_since > CRASH_STALL_MS)
			break;
		jlog__ring_wait(&c->ring, pos, seq, 1);
	}
	report_drops(c, pend);
	if (sampler_of(c))
		report_sampled(c, pend, true);
	if (c->crash.record && c->flight)
		emit_flight(c, c->crash.record, pend);
	else if (c->crash.record)
		emit(c, c->crash.record, pend);
	write_out(c, pend);
	if (pend->hooks & JLOG__SINK_HOOK_FLUSH)
		flush_sinks(c, pend);
	/* A network sink's queue would die with the process: a short wait
	 * for it, within the handler's patience (crash.c, NO_PROGRESS_MS). */
	finish_sinks(c, pend, jlog__ms_now() + CRASH_STALL_MS);
	jlog__crash_writer_park(c);
}

static void *writer_main(void *arg)
{
	struct jlog_core *c = arg;
	/* Signals meant for the application go to its own threads; a write
	 * to a closed pipe then fails with EPIPE here instead of killing the
	 * process with SIGPIPE. Faults stay unblocked: a fault in a thread
	 * that blocks it kills the process at once, without running any
	 * handler (jlog's crash handler or the application's). */
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGABRT);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	/* SETMASK: the thread starts with every signal blocked (see
	 * jlog__writer_start()). */
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	jlog__crash_thread_init();

	write_deadline = &c->io;
	struct pending pend = {0};
	use_set(&pend, atomic_load_explicit(&c->sinks, memory_order_acquire));
	atomic_store_explicit(&c->sinks_seen, pend.set, memory_order_release);
	/* Relaxed: nothing has been consumed yet; only this thread writes it. */
	uint64_t pos = atomic_load_explicit(&c->ring.tail, memory_order_relaxed);
	pend.pos = pos;
	/* Relaxed: no line is behind this position, so there is nothing to
	 * publish with it. */
	atomic_store_explicit(&c->crash.sink_pos, pos, memory_order_relaxed);
	uint64_t stall_since = 0;
	for (;;) {
		/* Every sink buffer is empty here: the place to switch to a new
		 * sink set. Acquire pairs with the release store of
		 * jlog_add_sink()/jlog_remove_sink(); release publishes that
		 * the old set is no longer used. */
		struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_acquire);
		if (JLOG__UNLIKELY(set != pend.set)) {
			use_set(&pend, set);
			atomic_store_explicit(&c->sinks_seen, set, memory_order_release);
			notify_flushers(c);
		}
		if (JLOG__UNLIKELY(pend.hooks & JLOG__SINK_HOOK_TICK))
			tick_sinks(c, &pend);
		uint32_t seq = jlog__ring_wait_seq(&c->ring);
		/* Read after seq: a crash handler sets req, then kicks, so
		 * either we see req here or the wait below returns at once.
		 * Acquire pairs with the release store in crash.c's handle(). */
		if (JLOG__UNLIKELY(atomic_load_explicit(&c->crash.req, memory_order_acquire)))
			crash_stop(c, pos, &pend);
		/* The same order for jlog_reopen() (reopen.c): flag, then kick.
		 * Relaxed: the flag carries no data. */
		if (JLOG__UNLIKELY(atomic_load_explicit(&c->reopen_req, memory_order_relaxed)))
			jlog__reopen_sinks(c, pend.set);
		/* The same order for a reload (reload.c), which swaps what the
		 * writer uses while every sink buffer is still empty: a change
		 * asked for at ring position P is made here once every record
		 * before P is written (drain() takes nothing from P on before);
		 * once made, the loop goes round to switch sink sets. Relaxed:
		 * jlog__reload_writer() reads the request again with acquire,
		 * and the SIGHUP hook's flag carries no data. */
		if (JLOG__UNLIKELY(atomic_load_explicit(&c->reload_req, memory_order_relaxed) ||
		                   atomic_load_explicit(&c->reload_file_req, memory_order_relaxed)) &&
		    jlog__reload_writer(c, pos))
			continue;
		uint64_t limit = drain_limit(c, pos);
		jlog__metrics_batch(c, pos);
		/* The busy share of the stats record: the time of each batch. */
		uint64_t began = JLOG__UNLIKELY(c->stats_interval_ms) ? jlog__mono_ns() : 0;
		unsigned n = drain(c, &pos, &pend, limit, true);
		if (n > 0) {
			finish_batch(c, pos, &pend);
			if (began)
				c->busy_ns += jlog__mono_ns() - began;
			stall_since = 0;
			continue;
		}
		if (JLOG__UNLIKELY(pos == limit)) {
			/* The process is exiting without a close: the
			 * suppressed counts are reported now or never. */
			if (sampler_of(c)) {
				report_sampled(c, &pend, true);
				write_out(c, &pend);
			}
			exit_park(c, pos);
			continue;
		}
		/* Idle: report drops that happened while the ring was full
		 * and the flush position of an empty ring. */
		finish_batch(c, pos, &pend);
		if (atomic_load_explicit(&c->stopping, memory_order_acquire)) {
			/* The last look is the seal: it fails if a producer
			 * reserved past pos (one woken by the space this drain
			 * gave back, say), and then we drain its record. */
			if (jlog__ring_seal(&c->ring, pos))
				break;
			/* Something is reserved but not committed yet: its
			 * producer is about to commit. Give up only after a
			 * long stall (a thread that died inside a log call),
			 * sealing the ring behind the records it holds up. */
			if (!stall_since) {
				stall_since = jlog__ms_now();
			} else if (jlog__ms_now() - stall_since > STOP_STALL_MS || past_deadline(c)) {
				while (!jlog__ring_seal(&c->ring, jlog__ring_head(&c->ring)))
					;
				break;
			}
			jlog__ring_wait(&c->ring, pos, seq, 1);
			continue;
		}
		jlog__ring_wait(&c->ring, pos, seq, c->flush_interval_ms);
	}
	/* Whatever is left of the suppressed counts: every one is reported. */
	if (sampler_of(c))
		report_sampled(c, &pend, true);
	/* Nothing will trigger the held records any more. */
	if (c->flight)
		jlog__flight_discard(c->flight);
	finish_batch(c, pos, &pend);
	/* Acquire pairs with the release store in set_deadline(). */
	finish_sinks(c, &pend, atomic_load_explicit(&c->io.at_ms, memory_order_acquire));
	atomic_store_explicit(&c->writer_done, true, memory_order_release);
	notify_flushers(c);
	return NULL;
}

int jlog__writer_start(struct jlog_core *c)
{
	/* Start the thread with every signal blocked, so none arrives before
	 * writer_main() has set its mask. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&c->writer, NULL, writer_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -EAGAIN;
	pthread_setname_np(c->writer, "jlog-writer");
	c->writer_started = true;
	c->writer_pid = getpid();
	return 0;
}

/* Say @msg on stderr if that takes no wait: stderr may be the very pipe
 * that stalled. One write of less than PIPE_BUF bytes after poll() said
 * it takes data does not block. */
static void say(const char *msg, size_t len)
{
	struct pollfd pfd = {.fd = STDERR_FILENO, .events = POLLOUT};
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT))
		(void)!write(STDERR_FILENO, msg, len < PIPE_BUF ? len : PIPE_BUF - 1);
}

/* After a close or exit: if the deadline cut writes short, say once how
 * many lines were not written. */
static void report_deadline(struct jlog_core *c, const char *what, uint64_t lost_before)
{
	/* Relaxed: counters, final (the writer is done or parked: its
	 * join or exit_ack orders them, and discarding, before this). */
	uint64_t lost = atomic_load_explicit(&c->lost, memory_order_relaxed) - lost_before;
	if (lost == 0 ||
	    (!atomic_load_explicit(&c->io.expired, memory_order_relaxed) && !c->discarding))
		return;
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
	                 "jlog: %s: %llu lines not written within close_timeout_ms (%d ms): "
	                 "a sink stopped taking data; counted in jlog_stats.lost\n",
	                 what, (unsigned long long)lost, c->close_timeout_ms);
	if (n > 0)
		say(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

static void set_deadline(struct jlog_core *c, uint64_t now)
{
	/* Release pairs with the acquire load in past_deadline(); 0 means
	 * none, and a monotonic clock in ms is never 0 here. */
	atomic_store_explicit(&c->io.at_ms, now + (uint64_t)c->close_timeout_ms + 1,
	                      memory_order_release);
}

/* The wait of jlog__writer_wait(), given up at @until (ms, 0: never).
 * Returns whether @reached holds. */
static bool wait_until(struct jlog_core *c, bool (*reached)(struct jlog_core *c, uintptr_t arg),
                       uintptr_t arg, uint64_t until)
{
	pthread_mutex_lock(&c->lock);
	atomic_fetch_add_explicit(&c->flush_waiters, 1, memory_order_seq_cst);
	bool ok;
	while (!(ok = reached(c, arg)) &&
	       !atomic_load_explicit(&c->writer_done, memory_order_acquire) &&
	       (!until || jlog__ms_now() < until)) {
		jlog__ring_kick(&c->ring);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->flushed, &c->lock, &ts);
	}
	atomic_fetch_sub_explicit(&c->flush_waiters, 1, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
	return ok;
}

void jlog__writer_wait(struct jlog_core *c, bool (*reached)(struct jlog_core *c, uintptr_t arg),
                       uintptr_t arg)
{
	(void)wait_until(c, reached, arg, 0);
}

static bool writer_finished(struct jlog_core *c, uintptr_t arg)
{
	(void)arg;
	/* Acquire pairs with the release store at the end of writer_main(). */
	return atomic_load_explicit(&c->writer_done, memory_order_acquire);
}

bool jlog__writer_stop(struct jlog_core *c)
{
	if (!c->writer_started)
		return true;
	bool joined = true;
	/* Relaxed: a counter, for the report. */
	uint64_t lost_before = atomic_load_explicit(&c->lost, memory_order_relaxed);
	uint64_t now = jlog__ms_now();
	set_deadline(c, now);
	atomic_store_explicit(&c->stopping, true, memory_order_release);
	jlog__ring_kick(&c->ring);
	if (c->writer_pid == getpid()) {
		uint64_t until = now + (uint64_t)c->close_timeout_ms + STOP_GRACE_MS;
		if (wait_until(c, writer_finished, 0, until)) {
			pthread_join(c->writer, NULL);
			report_deadline(c, "close", lost_before);
		} else {
			/* Stuck where no deadline reaches (a write to a hung
			 * file system): it may still use the core, so the core
			 * is never freed, and the thread ends on its own. */
			pthread_detach(c->writer);
			joined = false;
			static const char msg[] = "jlog: close: the writer did not finish within "
			                          "close_timeout_ms; it is left running and its "
			                          "logger is not freed\n";
			say(msg, sizeof(msg) - 1);
		}
	}
	c->writer_started = false;
	return joined;
}

/* jlog__writer_flush()'s condition: the lines up to @target are written.
 * Acquire pairs with the release store in finish_batch(). */
static bool written_past(struct jlog_core *c, uintptr_t target)
{
	return (int64_t)(atomic_load_explicit(&c->written_pos, memory_order_acquire) -
	                 (uint64_t)target) >= 0;
}

/* The exit wait's condition: the writer is parked at @target or past it.
 * Acquire pairs with the release store in exit_park(). */
static bool exit_acked(struct jlog_core *c, uintptr_t target)
{
	uint64_t ack = atomic_load_explicit(&c->exit_ack, memory_order_acquire);
	return ack != 0 && (int64_t)(ack - 1 - (uint64_t)target) >= 0;
}

/* Set on the thread that runs the exit handler: its flushes may move the
 * exit target (it is the thread that ends the process). */
static _Thread_local bool exit_thread;

/* Move the exit target to @target and wait until the writer is parked
 * there, at most until the deadline plus STOP_GRACE_MS. */
static bool exit_wait_for(struct jlog_core *c, uint64_t target)
{
	/* Release pairs with the acquire load in drain_limit(); only the
	 * exiting thread stores it, and only forward. */
	if ((int64_t)(target - atomic_load_explicit(&c->exit_target, memory_order_relaxed)) > 0)
		atomic_store_explicit(&c->exit_target, target, memory_order_release);
	uint64_t at = atomic_load_explicit(&c->io.at_ms, memory_order_acquire);
	return wait_until(c, exit_acked, (uintptr_t)target, at + STOP_GRACE_MS);
}

void jlog__writer_exit_begin(struct jlog_core *c, uint64_t now)
{
	/* As jlog__writer_flush(): no writer of ours, or exit() from the
	 * writer itself (a sink's callback), which cannot wait for itself. */
	if (!c->writer_started || c->writer_pid != getpid() ||
	    pthread_equal(pthread_self(), c->writer) ||
	    atomic_load_explicit(&c->exiting, memory_order_relaxed))
		return;
	exit_thread = true;
	/* Relaxed: a counter, for the report. */
	c->exit_lost_before = atomic_load_explicit(&c->lost, memory_order_relaxed);
	set_deadline(c, now);
	/* Release pairs with the acquire loads in drain_limit(): the target
	 * first, then the flag that makes the writer read it. */
	atomic_store_explicit(&c->exit_target, jlog__ring_head(&c->ring), memory_order_release);
	atomic_store_explicit(&c->exiting, true, memory_order_release);
	jlog__ring_kick(&c->ring);
}

void jlog__writer_exit_wait(struct jlog_core *c)
{
	if (!c->writer_started || c->writer_pid != getpid() ||
	    !atomic_load_explicit(&c->exiting, memory_order_relaxed))
		return;
	if (exit_wait_for(c, atomic_load_explicit(&c->exit_target, memory_order_relaxed))) {
		report_deadline(c, "exit", c->exit_lost_before);
	} else if (!atomic_load_explicit(&c->writer_done, memory_order_acquire)) {
		static const char msg[] = "jlog: exit: the writer did not finish within "
		                          "close_timeout_ms; records may be lost\n";
		say(msg, sizeof(msg) - 1);
	}
}

int jlog__writer_flush(struct jlog_core *c)
{
	/* No writer (a forked child could not start one), or the writer of
	 * another process; the writer cannot wait for itself. */
	if (!c->writer_started || c->writer_pid != getpid() ||
	    pthread_equal(pthread_self(), c->writer))
		return -EINVAL;
	uint64_t target = jlog__ring_head(&c->ring);
	/* Acquire pairs with the release store in exit_begin(). */
	if (JLOG__UNLIKELY(atomic_load_explicit(&c->exiting, memory_order_acquire))) {
		/* Only the exiting thread may have more written: the process
		 * ends when it returns, not while the writer writes. */
		if (!exit_thread)
			return -ECANCELED;
		(void)exit_wait_for(c, target);
		return 0;
	}
	if (written_past(c, target))
		return 0;

	jlog__writer_wait(c, written_past, (uintptr_t)target);
	return 0;
}

/*
 * Output buffers of the parent's writers, left behind in a forked child.
 * fork() snapshots the parent's writer wherever it is in its loop, even
 * between realloc() and the store of the new pointer, so the child's copy
 * of sink->out.p may point to freed memory: the child never writes to it
 * nor frees it. Keeping it referenced here only stops leak checkers from
 * reporting it in the child; its pages stay shared copy-on-write with the
 * parent and are never touched. Written only in atfork child handlers
 * (jlog__sink_after_fork() and jlog__writer_fork_child()).
 */
#define STALE_OUT_MAX 32
static void *volatile stale_out[STALE_OUT_MAX]; /* volatile: never read */
static unsigned stale_out_count;

void jlog__fork_keep(void *p)
{
	if (p && stale_out_count < STALE_OUT_MAX)
		stale_out[stale_out_count++] = p;
}

int jlog__writer_fork_child(struct jlog_core *c)
{
	/* The parent's writer thread does not exist here. Whatever its
	 * buffer held is the parent's to write (or was being written when
	 * fork() came): the child starts with an empty one. */
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	for (unsigned i = 0; set && i < set->n; i++)
		jlog__sink_after_fork(set->s[i]);
	jlog__fork_keep(c->diag_out.p);
	jlog__buf_init(&c->diag_out);
	jlog__fork_keep(c->diag_stack.p);
	jlog__buf_init(&c->diag_stack);
	c->diag_key = NULL;
	atomic_store_explicit(&c->sinks_seen, set, memory_order_relaxed);

	uint64_t pos = jlog__ring_reset_after_fork(&c->ring);
	/* Relaxed stores: only this thread exists until the writer starts,
	 * and pthread_create() publishes them to it. The counters describe
	 * this process from the fork on. */
	atomic_store_explicit(&c->written_pos, pos, memory_order_relaxed);
	atomic_store_explicit(&c->crash.sink_pos, pos, memory_order_relaxed);
	for (unsigned i = 0; set && i < set->n; i++)
		atomic_store_explicit(&set->s[i]->crash_pos, pos, memory_order_relaxed);
	atomic_store_explicit(&c->stopping, false, memory_order_relaxed);
	atomic_store_explicit(&c->writer_done, false, memory_order_relaxed);
	atomic_store_explicit(&c->flush_waiters, 0, memory_order_relaxed);
	atomic_store_explicit(&c->dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&c->malformed, 0, memory_order_relaxed);
	atomic_store_explicit(&c->written, 0, memory_order_relaxed);
	atomic_store_explicit(&c->truncated, 0, memory_order_relaxed);
	atomic_store_explicit(&c->write_errors, 0, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_written, 0, memory_order_relaxed);
	atomic_store_explicit(&c->lost, 0, memory_order_relaxed);
	atomic_store_explicit(&c->rotation_errors, 0, memory_order_relaxed);
	atomic_store_explicit(&c->sampled_out, 0, memory_order_relaxed);
	jlog__sampler_fork_child(c->sampler);
	jlog__flight_fork_child(c->flight);
	atomic_store_explicit(&c->queue_high, 0, memory_order_relaxed);
	c->busy_ns = c->stats_busy_ns = 0;
	c->stats_at_ns = jlog__mono_ns();
	atomic_store_explicit(&c->reopen_req, false, memory_order_relaxed);
	atomic_store_explicit(&c->io.at_ms, 0, memory_order_relaxed);
	atomic_store_explicit(&c->io.expired, 0, memory_order_relaxed);
	atomic_store_explicit(&c->exiting, false, memory_order_relaxed);
	atomic_store_explicit(&c->exit_ack, 0, memory_order_relaxed);
	c->discarding = false;
	c->dropped_reported = 0;
	/* The copy may count waiters of the parent (flushers) that will never
	 * leave it; destroying it could wait for them. Start a fresh one. */
	pthread_cond_init(&c->flushed, NULL);
	c->writer_started = false;

	/* A root closed by a parent thread that fork() left out: nobody here
	 * will finish closing it; a late call is dropped, never blocked. */
	if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		(void)jlog__ring_seal(&c->ring, pos); /* tail == head == pos */
		return 0;
	}
	int rc = jlog__writer_start(c);
	if (rc < 0)
		jlog__ring_close(&c->ring);
	return rc;
}
