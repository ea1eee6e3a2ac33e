/*
 * The lifecycle of loggers: open/close/flush, sinks, child loggers,
 * levels and statistics. The log call is hotpath.c, the default logger
 * default.c, the exit and fork hooks hooks.c.
 *
 * Locks: jlog__open_lock guards the list of open cores (used at exit and fork);
 * core->lock guards a core's child list, refs and handle tree. No lock is
 * taken on the log path.
 */
#include "jlog-private.h"
#include "flight.h"
#include "metrics.h"
#include "redact.h"
#include "utf8.h"

#include <jansson.h>

#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_QUEUE_SIZE ((size_t)4 << 20)
#define MIN_QUEUE_SIZE ((size_t)64 << 10)
#define MAX_QUEUE_SIZE ((size_t)1 << 30)
#define DEFAULT_MAX_RECORD ((size_t)64 << 10)
#define MIN_MAX_RECORD ((size_t)4 << 10)
#define MAX_NAME 255u
#define DEFAULT_CLOSE_TIMEOUT_MS 5000
#define MAX_CLOSE_TIMEOUT_MS 600000
#define MAX_STATS_INTERVAL_MS 86400000

pthread_mutex_t jlog__open_lock = PTHREAD_MUTEX_INITIALIZER;
struct jlog_core *jlog__open_cores; /* guarded by jlog__open_lock */
/* ------------------------------------------------------------------------ */
/* Open and close                                                           */
/* ------------------------------------------------------------------------ */

void jlog_options_init(jlog_options *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->level = JLOG_LEVEL_INFO;
	opts->sink = "stderr";
	opts->queue_size = DEFAULT_QUEUE_SIZE;
	opts->overflow = JLOG_OVERFLOW_BLOCK;
	opts->flush_interval_ms = 50;
	opts->max_record_size = DEFAULT_MAX_RECORD;
	opts->file_mode = 0640;
	opts->name = NULL;
	opts->close_timeout_ms = DEFAULT_CLOSE_TIMEOUT_MS;
	opts->sample_first = 100;
	opts->sample_thereafter = 100;
	opts->sample_interval_ms = 1000;
	opts->sample_max_level = JLOG_LEVEL_WARNING;
	opts->rate_per = JLOG_RATE_PER_CALLSITE;
	opts->rate_max_level = JLOG_LEVEL_WARNING;
	opts->flight_bytes = 256u * 1024u;
	opts->flight_level = JLOG_LEVEL_DEBUG;
	opts->flight_trigger = JLOG_LEVEL_ERROR;
}

static int clamp_level(int level)
{
	return level < 0 ? 0 : level > JLOG_LEVEL_OFF ? JLOG_LEVEL_OFF : level;
}

/* Each refusal names the option, the value and the range, in the words of
 * the configuration's errors (config.c) and jlog_add_sink's. */
static int check_options(const jlog_options *o)
{
	if (o->level < 0 || o->level > JLOG_LEVEL_OFF)
		return jlog__fail(-EINVAL, "jlog_open: level: %d is out of range 0..%d", o->level,
		                  JLOG_LEVEL_OFF);
	if (o->queue_size < MIN_QUEUE_SIZE || o->queue_size > MAX_QUEUE_SIZE)
		return jlog__fail(-EINVAL, "jlog_open: queue_size: %zu is out of range %zu..%zu",
		                  o->queue_size, MIN_QUEUE_SIZE, MAX_QUEUE_SIZE);
	if (o->overflow != JLOG_OVERFLOW_BLOCK && o->overflow != JLOG_OVERFLOW_DROP)
		return jlog__fail(-EINVAL, "jlog_open: overflow: %d is not JLOG_OVERFLOW_BLOCK (0) "
		                  "or JLOG_OVERFLOW_DROP (1)", (int)o->overflow);
	if (o->flush_interval_ms < 1 || o->flush_interval_ms > 10000)
		return jlog__fail(-EINVAL, "jlog_open: flush_interval_ms: %d is out of range 1..10000",
		                  o->flush_interval_ms);
	if (o->max_record_size < MIN_MAX_RECORD)
		return jlog__fail(-EINVAL, "jlog_open: max_record_size: %zu is below the minimum %zu",
		                  o->max_record_size, MIN_MAX_RECORD);
	if (o->file_mode > 07777)
		return jlog__fail(-EINVAL, "jlog_open: file_mode: %#o is not a file mode (0..07777)",
		                  o->file_mode);
	if (o->close_timeout_ms < 0 || o->close_timeout_ms > MAX_CLOSE_TIMEOUT_MS)
		return jlog__fail(-EINVAL, "jlog_open: close_timeout_ms: %d is out of range 0..%d",
		                  o->close_timeout_ms, MAX_CLOSE_TIMEOUT_MS);
	if (o->stats_interval_ms < 0 || o->stats_interval_ms > MAX_STATS_INTERVAL_MS)
		return jlog__fail(-EINVAL, "jlog_open: stats_interval_ms: %d is out of range 0..%d",
		                  o->stats_interval_ms, MAX_STATS_INTERVAL_MS);
	return 0;
}

/* A logger name's length in a handle: at most MAX_NAME bytes, cut at a
 * character boundary (the one rule of record values, utf8.h); *cut says
 * whether it was cut, so that the handle's records say "truncated". */
static size_t capped_name_len(const char *name, size_t n, bool *cut)
{
	*cut = n > MAX_NAME;
	return *cut ? jlog__utf8_cut(name, MAX_NAME) : n;
}

static void free_sinks(struct jlog_core *c)
{
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	for (unsigned i = 0; set && i < set->n; i++)
		jlog__sink_destroy(set->s[i]);
	free(set);
	atomic_store_explicit(&c->sinks, NULL, memory_order_relaxed);
	while (c->retired) {
		struct jlog__sink_set *next = c->retired->retired_next;
		free(c->retired);
		c->retired = next;
	}
	jlog__buf_finish(&c->diag_out);
	jlog__buf_finish(&c->diag_stack);
	jlog__redact_free(c->redact);
	c->redact = NULL;
}

static void core_free(struct jlog_core *c)
{
	jlog__count_detach_core(c);
	for (size_t i = 0; i < c->nmodules; i++)
		free(c->modules[i].prefix);
	free(c->modules);
	jlog__cfg_state_free(c->cfg);
	free_sinks(c);
	jlog__sampler_free(c->sampler);
	jlog__flight_free(c->flight);
	jlog__ring_finish(&c->ring);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->sinks_lock);
	pthread_cond_destroy(&c->flushed);
	free(c);
}

static void logger_free(jlog_logger *lg)
{
	free(lg->name);
	free(lg->bound);
	free(lg);
}

/* A sink set of @n sinks (uninitialised pointers). */
struct jlog__sink_set *jlog__sink_set_new(unsigned n)
{
	struct jlog__sink_set *set =
		malloc(sizeof(*set) + (n ? n : 1) * sizeof(set->s[0]));
	if (set) {
		set->retired_next = NULL;
		set->n = n;
	}
	return set;
}

/* The records begin_record() takes for @lg: every record of a handle
 * whose bound fields were cut (@bound_flags) goes to log_general(), and
 * with a sampler or a flight recorder every record asks them first
 * (jlog_logger.sample_max). */
static void handle_limits(jlog_logger *lg, const struct jlog_core *c, uint8_t bound_flags)
{
	size_t max = bound_flags ? 0 : c->fast_max;
	/* A flight recorder sends the handles to the same branch as a
	 * sampler: see begin_record(). */
	bool on = jlog__sampler_on(c->sampler) || c->flight;
	/* A reload changes them while other threads log. sample_max
	 * first, and fast_max with release, paired with begin_record()'s
	 * acquire: a call that finds fast_max 0 sees the sampler and the
	 * sample_max stored before it. */
	__atomic_store_n(&lg->sample_max, on ? max : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lg->fast_max, on ? 0 : max, __ATOMIC_RELEASE);
}

/* Set a handle's level: the gate lets the flight recorder's levels
 * through too, and begin_record() and log_general() (hotpath.c) mark
 * the records below @level deferred. Relaxed stores: see jlog__enabled.
 * Returns the gate. */
static int set_gate(jlog_logger *lg, const struct jlog_core *c, int level)
{
	int gate = c->flight && c->flight->level < level ? c->flight->level : level;
	__atomic_store_n(&lg->level, level, __ATOMIC_RELAXED);
	__atomic_store_n(&lg->gate.level, gate, __ATOMIC_RELAXED);
	return gate;
}

int jlog_open(jlog_logger **out, const jlog_options *opts)
{
	/* A failure that set no message (out of memory, no thread) still
	 * explains itself. */
	unsigned seq = jlog__last_error_seq();
	return jlog__explain(jlog__open(out, opts, false), seq, "jlog_open");
}

int jlog__open(jlog_logger **out, const jlog_options *opts, bool no_sink)
{
	if (!out)
		return jlog__fail(-EINVAL, "jlog_open: out is NULL");
	*out = NULL;
	jlog_options defaults;
	if (!opts) {
		jlog_options_init(&defaults);
		opts = &defaults;
	}
	int rc = check_options(opts);
	if (rc < 0)
		return rc;
	jlog__process_init();

	/* The core holds cache-line aligned ring indices; its size is a
	 * multiple of the alignment, as aligned_alloc() requires. */
	struct jlog_core *c = aligned_alloc(JLOG__CACHELINE, sizeof(*c));
	jlog_logger *lg = calloc(1, sizeof(*lg));
	if (!c || !lg) {
		free(c);
		free(lg);
		return -ENOMEM;
	}
	memset(c, 0, sizeof(*c));
	rc = jlog__sampler_new(opts, &c->sampler);
	if (rc == 0)
		rc = jlog__flight_new(opts, &c->flight);
	if (rc < 0)
		goto err_free;
	rc = jlog__ring_init(&c->ring, opts->queue_size, 0);
	if (rc < 0)
		goto err_free;
	struct jlog__sink_set *set = jlog__sink_set_new(no_sink ? 0 : 1);
	if (!set) {
		rc = -ENOMEM;
		goto err_ring;
	}
	atomic_init(&c->sinks, set);
	atomic_init(&c->sinks_seen, NULL);
	if (!no_sink) {
		/* Sink 0: JSON lines, level 0, catch_errors (the defaults). */
		jlog_sink_options so;
		jlog_sink_options_init(&so);
		so.sink = opts->sink;
		so.file_mode = opts->file_mode;
		so.allow_symlink = opts->allow_symlink;
		rc = jlog__sink_create_opts(&set->s[0], &so);
		if (rc < 0) {
			set->n = 0;
			goto err_sink;
		}
		set->s[0]->id = c->next_sink_id++;
	}
	if (opts->name && *opts->name) {
		bool cut;
		lg->name_len = capped_name_len(opts->name, strlen(opts->name), &cut);
		lg->bound_flags = cut ? JLOG__REC_TRUNCATED : 0;
		lg->name = strndup(opts->name, lg->name_len);
		if (!lg->name) {
			rc = -ENOMEM;
			goto err_sink;
		}
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->sinks_lock, NULL);
	pthread_cond_init(&c->flushed, NULL);
	c->refs = 1;
	c->ctx.pid = getpid();
	c->overflow = opts->overflow;
	c->flush_interval_ms = opts->flush_interval_ms;
	c->close_timeout_ms = opts->close_timeout_ms;
	c->stats_interval_ms = opts->stats_interval_ms;
	c->stats_next_ms = jlog__ms_now() + (uint64_t)opts->stats_interval_ms;
	c->stats_at_ns = jlog__mono_ns();
	/* A record may take at most a quarter of the ring, so a small ring
	 * lowers the limit rather than refusing the default. */
	c->max_record_size = opts->max_record_size < opts->queue_size / 4
	                             ? opts->max_record_size
	                             : opts->queue_size / 4;
	c->fast_max = c->max_record_size / 2;
	handle_limits(lg, c, lg->bound_flags);
	rc = jlog__redact_compile(opts->redact, "jlog_open: redact", &c->redact);
	if (rc == 0)
		rc = jlog__redact_crash_reserve(c->redact, c->max_record_size);
	if (rc < 0)
		goto err_lock;
	atomic_init(&c->written_pos, c->ring.start);

	c->root_level = clamp_level(opts->level);
	set_gate(lg, c, c->root_level);
	lg->core = c;
	lg->is_root = true;
	c->root = lg;

	rc = jlog__writer_start(c);
	if (rc < 0)
		goto err_lock;

	pthread_mutex_lock(&jlog__open_lock);
	c->next_open = jlog__open_cores;
	jlog__open_cores = c;
	jlog__crash_register(c);
	pthread_mutex_unlock(&jlog__open_lock);
	*out = lg;
	return 0;

err_lock:
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->sinks_lock);
	pthread_cond_destroy(&c->flushed);
err_sink:
	free_sinks(c);
err_ring:
	jlog__ring_finish(&c->ring);
err_free:
	jlog__sampler_free(c->sampler);
	jlog__flight_free(c->flight);
	free(c);
	logger_free(lg);
	return rc;
}

static void unlink_open(struct jlog_core *c)
{
	pthread_mutex_lock(&jlog__open_lock);
	for (struct jlog_core **p = &jlog__open_cores; *p; p = &(*p)->next_open) {
		if (*p == c) {
			*p = c->next_open;
			break;
		}
	}
	jlog__crash_unregister(c);
	pthread_mutex_unlock(&jlog__open_lock);
}

/* Remove @lg from the handle tree of its core and drop its reference.
 * Called with c->lock held; returns true when the core has no handle left. */
static bool detach_locked(struct jlog_core *c, jlog_logger *lg)
{
	for (jlog_logger **p = &c->children; *p; p = &(*p)->next_child) {
		if (*p == lg) {
			*p = lg->next_child;
			break;
		}
	}
	/* Children of the closed handle now hang from its parent, so parent
	 * pointers never dangle. */
	for (jlog_logger *ch = c->children; ch; ch = ch->next_child)
		if (ch->parent == lg)
			ch->parent = lg->parent;
	return --c->refs == 0;
}

/* The first pending error of a sink with catch_errors false (cleared),
 * or 0. */
static int take_sink_error(struct jlog_core *c, const char *what)
{
	int rc = 0;
	pthread_mutex_lock(&c->sinks_lock);
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	for (unsigned i = 0; set && i < set->n; i++) {
		struct jlog_sink *s = set->s[i];
		int e = atomic_exchange_explicit(&s->pending_error, 0, memory_order_relaxed);
		if (e && !rc) {
			rc = e;
			jlog__set_last_error("%s: sink %d (%s) failed to write: %s", what, s->id,
			                     s->desc, jlog_strerror(e));
		}
	}
	pthread_mutex_unlock(&c->sinks_lock);
	return rc;
}

/*
 * A closed root handle is not freed: it becomes a tombstone whose gate
 * reads JLOG_LEVEL_OFF and whose core is dead_core, a core that is closed
 * from the start and has no ring, writer or sink. A late log call through
 * the handle then stops at the level check (the macros' fast path is
 * unchanged), and every other call sees a closed logger and returns its
 * error (jlog_flush: -EINVAL) instead of reading freed memory. dead_core's
 * refs never reach 0 (children made from a tombstone come and go), so it
 * is never freed. The tombstones stay listed in tombs (guarded by
 * tomb_lock, a leaf lock), so leak checkers see them as reachable; each
 * keeps sizeof(jlog_logger) bytes until exit.
 */
static struct jlog_core dead_core = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sinks_lock = PTHREAD_MUTEX_INITIALIZER,
	.flushed = PTHREAD_COND_INITIALIZER,
	.refs = 1,
	.closed = true,
	.root_level = JLOG_LEVEL_OFF,
};
static pthread_mutex_t tomb_lock = PTHREAD_MUTEX_INITIALIZER;
static jlog_logger *tombs; /* guarded by tomb_lock, linked by next_child */

/* Turn a closed root handle, detached from its core, into a tombstone. */
static void entomb(jlog_logger *lg)
{
	free(lg->name);
	free(lg->bound);
	lg->name = NULL;
	lg->name_len = 0;
	lg->bound = NULL;
	lg->bound_len = 0;
	lg->nbound = 0;
	lg->parent = NULL;
	/* dead_core has no sampler: a call racing the close must not ask
	 * for one (begin_record() then takes log_general(), which sees
	 * none). */
	lg->sample_max = 0;
	/* Atomic: pin() reads it (a call on the handle after the close). */
	__atomic_store_n(&lg->core, &dead_core, __ATOMIC_RELAXED);
	/* Relaxed: the gate guards no data (see jlog__enabled). Close
	 * stored OFF already; from here on nothing changes it (calls that
	 * set levels see dead_core closed). */
	__atomic_store_n(&lg->gate.level, JLOG_LEVEL_OFF, __ATOMIC_RELAXED);
	pthread_mutex_lock(&tomb_lock);
	lg->next_child = tombs;
	tombs = lg;
	pthread_mutex_unlock(&tomb_lock);
}

/*
 * A call that uses a root handle's core (jlog_flush(), jlog_get_stats(),
 * a child's creation) pins the handle first, then reads its core;
 * jlog_close() stores the tombstone's core, then waits for the pins to
 * go before it frees the core and the handle's name and bound fields.
 * Both sides store, then load the other's word, sequentially consistent:
 * a call either reads the dead core or is waited for. A child handle
 * needs no pin: it holds a reference on its core. Pair: unpin().
 */
static struct jlog_core *pin(jlog_logger *lg)
{
	if (lg->is_root)
		atomic_fetch_add(&lg->pins, 1);
	return __atomic_load_n(&lg->core, __ATOMIC_SEQ_CST);
}

static void unpin(jlog_logger *lg)
{
	if (lg->is_root)
		atomic_fetch_sub_explicit(&lg->pins, 1, memory_order_release);
}

/* jlog_close() of root @lg: its core is the tombstone's from here on;
 * wait for the calls that read the old one. False when they take longer
 * than @ms (one stuck in a flush of a writer that does not finish): the
 * old core and the handle's strings are then never freed. */
static bool unpinned(jlog_logger *lg, unsigned ms)
{
	__atomic_store_n(&lg->core, &dead_core, __ATOMIC_SEQ_CST);
	for (unsigned waited = 0; atomic_load(&lg->pins); waited++) {
		if (waited >= ms)
			return false;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return true;
}

int jlog_close(jlog_logger *lg)
{
	if (!lg)
		return 0;
	struct jlog_core *c = lg->core;
	/* A tombstone (a root closed before): nothing left to release.
	 * Children made from a tombstone are released as any child. */
	if (c == &dead_core && lg->is_root)
		return 0;
	if (c->is_default && lg->is_root)
		return 0;

	if (lg->is_root) {
		/* Stop new records: children log nothing from now on. */
		pthread_mutex_lock(&c->lock);
		atomic_store_explicit(&c->closed, true, memory_order_release);
		for (jlog_logger *ch = c->children; ch; ch = ch->next_child)
			__atomic_store_n(&ch->gate.level, JLOG_LEVEL_OFF, __ATOMIC_RELAXED);
		__atomic_store_n(&lg->gate.level, JLOG_LEVEL_OFF, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&c->lock);

		unlink_open(c);
		/* false: the writer still runs (see jlog__writer_stop()), so
		 * the core is never freed. */
		if (!jlog__writer_stop(c))
			c->writer_abandoned = true;
		jlog__ring_close(&c->ring);
	}
	/* catch_errors false: the first sink error since the last flush. */
	int rc = lg->is_root ? take_sink_error(c, "jlog_close") : 0;
	/* Before the count of handles is read: a call in progress may add
	 * a child. */
	bool drained = !lg->is_root || unpinned(lg, (unsigned)c->close_timeout_ms + 1000u);

	pthread_mutex_lock(&c->lock);
	bool last = detach_locked(c, lg);
	pthread_mutex_unlock(&c->lock);
	if (lg->is_root && drained)
		entomb(lg);
	else if (lg->is_root)
		/* Its strings may still be read: kept. */
		__atomic_store_n(&lg->core, &dead_core, __ATOMIC_RELAXED);
	else
		logger_free(lg);
	if (last && !c->writer_abandoned && drained)
		core_free(c);
	return rc;
}

static bool on_writer(struct jlog_core *c);

int jlog_flush(jlog_logger *lg)
{
	if (!lg) {
		lg = jlog_default();
		if (!lg)
			return -ENOMEM;
	}
	struct jlog_core *c = pin(lg);
	int rc;
	if (atomic_load_explicit(&c->closed, memory_order_acquire)) {
		jlog__set_last_error("jlog_flush: the logger is closed");
		rc = -EINVAL;
	} else if (on_writer(c)) {
		rc = jlog__fail(-EDEADLK, "jlog_flush() from a sink callback or filter (the "
		                          "writer would wait for itself)");
	} else {
		rc = jlog__writer_flush(c);
		if (rc >= 0)
			rc = take_sink_error(c, "jlog_flush");
	}
	unpin(lg);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Sinks                                                                    */
/* ------------------------------------------------------------------------ */

static jlog_logger *resolve(const jlog_logger *lg);

/* What log calls must capture for @set's sinks. */
unsigned jlog__sink_capture(const struct jlog__sink_set *set)
{
	unsigned what = 0;
	for (unsigned i = 0; i < set->n; i++) {
		if (set->s[i]->backtrace)
			what |= JLOG__CAPTURE_STACK;
		if (set->s[i]->diagnose)
			what |= JLOG__CAPTURE_DIAG;
	}
	return what;
}

/* Whether the writer may be using a sink set right now (a writer thread
 * of this process that has not finished). */
bool jlog__writer_running(struct jlog_core *c)
{
	return c->writer_started && c->writer_pid == getpid() &&
	       !atomic_load_explicit(&c->writer_done, memory_order_acquire);
}

/* Whether the caller is @c's writer (a sink callback or filter). */
static bool on_writer(struct jlog_core *c)
{
	return c->writer_started && c->writer_pid == getpid() &&
	       pthread_equal(pthread_self(), c->writer);
}

/* publish_sinks()'s condition: the writer has switched to @set. Acquire
 * pairs with the writer's release store of sinks_seen. */
static bool writer_uses(struct jlog_core *c, uintptr_t set)
{
	return (uintptr_t)atomic_load_explicit(&c->sinks_seen, memory_order_acquire) == set;
}

/*
 * Publish @set in place of the current set (c->sinks_lock held) and wait
 * until the writer has left the old one, which is then retired (kept until
 * the core is freed: a crash handler may still read it). The writer
 * switches sets between batches, with every sink buffer empty.
 */
static void publish_sinks(struct jlog_core *c, struct jlog__sink_set *set)
{
	struct jlog__sink_set *old = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	atomic_store_explicit(&c->capture, jlog__sink_capture(set), memory_order_relaxed);
	/* Release: the writer that loads the set sees the sinks whole. */
	atomic_store_explicit(&c->sinks, set, memory_order_release);
	if (jlog__writer_running(c) && !pthread_equal(pthread_self(), c->writer))
		jlog__writer_wait(c, writer_uses, (uintptr_t)set);
	jlog__sink_set_retire(c, old);
}

void jlog__sink_set_retire(struct jlog_core *c, struct jlog__sink_set *set)
{
	if (set) {
		set->retired_next = c->retired;
		c->retired = set;
	}
}

int jlog_add_sink(jlog_logger *lg, const jlog_sink_options *opts)
{
	lg = resolve(lg);
	if (!lg) {
		jlog__set_last_error("no default logger");
		return -ENOMEM;
	}
	struct jlog_core *c = lg->core;
	if (on_writer(c)) {
		jlog__set_last_error("jlog_add_sink() from a sink callback or filter");
		return -EDEADLK;
	}
	struct jlog_sink *s;
	unsigned seq = jlog__last_error_seq();
	int rc = jlog__sink_create_opts(&s, opts);
	if (rc == 0 && jlog__redact_crash_reserve(s->redact, c->max_record_size) < 0) {
		jlog__sink_destroy(s);
		rc = -ENOMEM;
	}
	if (rc < 0)
		return jlog__explain(rc, seq, "jlog_add_sink"); /* -ENOMEM sets none */
	if (s->backtrace) {
		/* glibc loads its unwinder on the first backtrace() of the
		 * process (dlopen, malloc): do it here, not in a log call that
		 * may run in a signal handler. */
		void *warm[2];
		(void)backtrace(warm, 2);
	}
	pthread_mutex_lock(&c->sinks_lock);
	if (atomic_load_explicit(&c->closed, memory_order_acquire) || c->next_sink_id == INT_MAX) {
		pthread_mutex_unlock(&c->sinks_lock);
		jlog__sink_destroy(s);
		jlog__set_last_error("the logger is closed");
		return -EINVAL;
	}
	struct jlog__sink_set *old = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	unsigned n = old ? old->n : 0;
	struct jlog__sink_set *set = jlog__sink_set_new(n + 1);
	if (!set) {
		pthread_mutex_unlock(&c->sinks_lock);
		jlog__sink_destroy(s);
		return jlog__fail(-ENOMEM, "jlog_add_sink: out of memory");
	}
	for (unsigned i = 0; i < n; i++)
		set->s[i] = old->s[i];
	s->id = c->next_sink_id++;
	set->s[n] = s;
	publish_sinks(c, set);
	pthread_mutex_unlock(&c->sinks_lock);
	return s->id;
}

int jlog_remove_sink(jlog_logger *lg, int id)
{
	lg = resolve(lg);
	if (!lg)
		return jlog__fail(-ENOMEM, "jlog_remove_sink: no default logger");
	struct jlog_core *c = lg->core;
	if (atomic_load_explicit(&c->closed, memory_order_acquire))
		return jlog__fail(-EINVAL, "jlog_remove_sink: the logger is closed");
	if (on_writer(c))
		return jlog__fail(-EDEADLK, "jlog_remove_sink() from a sink callback or filter");
	/* What was committed before the call reaches every sink first. */
	(void)jlog__writer_flush(c);
	pthread_mutex_lock(&c->sinks_lock);
	struct jlog__sink_set *old = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	unsigned n = old ? old->n : 0, at = n;
	for (unsigned i = 0; i < n; i++)
		if (old->s[i]->id == id)
			at = i;
	if (at == n) {
		/* Name the ids there are: a stale id is the usual mistake. */
		char ids[96] = "";
		for (unsigned i = 0, k = 0; i < n && k + 12 < sizeof(ids); i++)
			k += (unsigned)snprintf(ids + k, sizeof(ids) - k, "%s%d", i ? ", " : "",
			                        old->s[i]->id);
		pthread_mutex_unlock(&c->sinks_lock);
		return jlog__fail(-ESRCH, "jlog_remove_sink: no sink with id %d (the logger's "
		                  "sinks: %s)", id, n ? ids : "none");
	}
	struct jlog__sink_set *set = jlog__sink_set_new(n - 1);
	if (!set) {
		pthread_mutex_unlock(&c->sinks_lock);
		return jlog__fail(-ENOMEM, "jlog_remove_sink: out of memory");
	}
	for (unsigned i = 0, j = 0; i < n; i++)
		if (i != at)
			set->s[j++] = old->s[i];
	struct jlog_sink *gone = old->s[at];
	publish_sinks(c, set);
	pthread_mutex_unlock(&c->sinks_lock);
	/* The writer no longer sees it, and its buffer was written. */
	jlog__sink_destroy(gone);
	return 0;
}

int jlog_get_sink_stats(jlog_logger *lg, int id, jlog_sink_stats *st)
{
	if (!st)
		return jlog__fail(-EINVAL, "jlog_get_sink_stats: stats is NULL");
	lg = resolve(lg);
	if (!lg)
		return jlog__fail(-ENOMEM, "jlog_get_sink_stats: no default logger");
	struct jlog_core *c = lg->core;
	if (atomic_load_explicit(&c->closed, memory_order_acquire))
		return jlog__fail(-EINVAL, "jlog_get_sink_stats: the logger is closed");
	/* sinks_lock keeps the sink from being destroyed while it is read;
	 * jlog_add_sink() holds it while it waits for the writer. */
	if (on_writer(c))
		return jlog__fail(-EDEADLK, "jlog_get_sink_stats() from a sink callback or filter");
	pthread_mutex_lock(&c->sinks_lock);
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	unsigned n = set ? set->n : 0;
	for (unsigned i = 0; i < n; i++) {
		const struct jlog_sink *s = set->s[i];
		if (s->id != id)
			continue;
		memset(st, 0, sizeof(*st));
		st->id = id;
		snprintf(st->target, sizeof(st->target), "%s", s->desc);
		/* Relaxed: counters only, as in jlog_get_stats(). */
		st->written = atomic_load_explicit(&s->n_written, memory_order_relaxed);
		st->bytes_written = atomic_load_explicit(&s->n_bytes, memory_order_relaxed);
		st->write_errors = atomic_load_explicit(&s->n_errors, memory_order_relaxed);
		st->lost = atomic_load_explicit(&s->n_lost, memory_order_relaxed);
		pthread_mutex_unlock(&c->sinks_lock);
		return 0;
	}
	char ids[96] = "";
	for (unsigned i = 0, k = 0; i < n && k + 12 < sizeof(ids); i++)
		k += (unsigned)snprintf(ids + k, sizeof(ids) - k, "%s%d", i ? ", " : "", set->s[i]->id);
	pthread_mutex_unlock(&c->sinks_lock);
	return jlog__fail(-ESRCH, "jlog_get_sink_stats: no sink with id %d (the logger's sinks: %s)",
	                  id, n ? ids : "none");
}
/* ------------------------------------------------------------------------ */
/* Levels and statistics                                                    */
/* ------------------------------------------------------------------------ */

static jlog_logger *resolve(const jlog_logger *lg)
{
	return lg ? (jlog_logger *)lg : jlog_default();
}

/* The module level for a logger name: the longest module prefix that is
 * the name or a dotted ancestor of it ("db" covers "db" and "db.pool", not
 * "dbx"; "" covers every named logger). -1 when none applies. */
static int module_level_locked(const struct jlog_core *c, const char *name, size_t len)
{
	int level = -1;
	size_t best = 0;
	bool found = false;
	for (size_t i = 0; i < c->nmodules; i++) {
		const struct jlog__module_level *m = &c->modules[i];
		bool match = m->len == 0 ? len > 0
		                         : len >= m->len && memcmp(name, m->prefix, m->len) == 0 &&
		                                   (len == m->len || name[m->len] == '.');
		if (match && (!found || m->len >= best)) {
			found = true;
			best = m->len;
			level = m->level;
		}
	}
	return level;
}

/*
 * A child's effective level: its own (jlog_set_level on it), else the
 * module level of its name, else the nearest ancestor's own level, else
 * the root's. Called with c->lock held.
 */
static int effective_level_locked(const struct jlog_core *c, const jlog_logger *h)
{
	if (h->level_set)
		return h->own_level;
	int m = module_level_locked(c, h->name, h->name_len);
	if (m >= 0)
		return m;
	for (const jlog_logger *p = h->parent; p && !p->is_root; p = p->parent)
		if (p->level_set)
			return p->own_level;
	return c->root_level;
}

/* Resolve every handle's gate after a level change. Relaxed stores: a
 * gate guards no data (see jlog__enabled). */
static void update_gates_locked(struct jlog_core *c)
{
	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		return;
	for (jlog_logger *ch = c->children; ch; ch = ch->next_child)
		set_gate(ch, c, effective_level_locked(c, ch));
}

void jlog__handles_update_locked(struct jlog_core *c)
{
	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		return;
	jlog_logger *root = c->root;
	int gate = set_gate(root, c, c->root_level);
	if (c->is_default)
		__atomic_store_n(&jlog__default_gate, gate, __ATOMIC_RELAXED);
	handle_limits(root, c, root->bound_flags);
	for (jlog_logger *ch = c->children; ch; ch = ch->next_child)
		handle_limits(ch, c, ch->bound_flags);
	update_gates_locked(c);
}

void jlog_set_level(jlog_logger *lg, int level)
{
	lg = resolve(lg);
	if (!lg)
		return;
	level = clamp_level(level);
	struct jlog_core *c = lg->core;
	pthread_mutex_lock(&c->lock);
	if (!atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		if (lg->is_root) {
			c->root_level = level;
			int gate = set_gate(lg, c, level);
			if (c->is_default)
				__atomic_store_n(&jlog__default_gate, gate, __ATOMIC_RELAXED);
		} else {
			lg->level_set = true;
			lg->own_level = level;
		}
		update_gates_locked(c);
	}
	pthread_mutex_unlock(&c->lock);
}

int jlog_set_module_level(jlog_logger *lg, const char *prefix, int level)
{
	if (!prefix)
		return jlog__fail(-EINVAL, "jlog_set_module_level: prefix is NULL");
	if (level < -1 || level > JLOG_LEVEL_OFF)
		return jlog__fail(-EINVAL, "jlog_set_module_level: level %d is out of range -1..%d",
		                  level, JLOG_LEVEL_OFF);
	lg = resolve(lg);
	if (!lg)
		return jlog__fail(-ENOMEM, "jlog_set_module_level: no default logger");
	struct jlog_core *c = lg->core;
	/* A tombstone's core is shared by every closed root: keep it bare. */
	if (c == &dead_core)
		return -EINVAL;
	size_t len = strlen(prefix);
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	size_t i = 0;
	while (i < c->nmodules && !(c->modules[i].len == len && memcmp(c->modules[i].prefix, prefix, len) == 0))
		i++;
	if (level < 0) {
		if (i < c->nmodules) {
			free(c->modules[i].prefix);
			c->modules[i] = c->modules[--c->nmodules];
		}
	} else if (i < c->nmodules) {
		c->modules[i].level = level;
	} else {
		struct jlog__module_level *m = realloc(c->modules, (c->nmodules + 1) * sizeof(*m));
		char *copy = strdup(prefix);
		if (m)
			c->modules = m;
		if (!m || !copy) {
			free(copy);
			rc = -ENOMEM;
		} else {
			c->modules[c->nmodules++] = (struct jlog__module_level){copy, len, level};
		}
	}
	if (rc == 0)
		update_gates_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		jlog__set_last_error("jlog_set_module_level: out of memory");
	return rc;
}

int jlog_get_level(const jlog_logger *lg)
{
	lg = resolve(lg);
	if (!lg)
		return JLOG_LEVEL_OFF;
	/* A closed handle's gate is OFF, whatever its level was. */
	int gate = __atomic_load_n(&lg->gate.level, __ATOMIC_RELAXED);
	return gate == JLOG_LEVEL_OFF ? gate : __atomic_load_n(&lg->level, __ATOMIC_RELAXED);
}

bool jlog_enabled(const jlog_logger *lg, int level)
{
	lg = resolve(lg);
	return lg && jlog__enabled(lg, level);
}

int jlog_get_stats(jlog_logger *lg, jlog_stats *st)
{
	if (!st)
		return jlog__fail(-EINVAL, "jlog_get_stats: stats is NULL");
	lg = resolve(lg);
	if (!lg)
		return jlog__fail(-ENOMEM, "jlog_get_stats: no default logger");
	struct jlog_core *c = pin(lg);
	memset(st, 0, sizeof(*st));
	/* Relaxed: counters only; see the header for what a snapshot means. */
	st->logged = jlog__count_sum(c);
	st->dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
	st->written = atomic_load_explicit(&c->written, memory_order_relaxed);
	st->truncated = atomic_load_explicit(&c->truncated, memory_order_relaxed);
	st->write_errors = atomic_load_explicit(&c->write_errors, memory_order_relaxed);
	st->bytes_written = atomic_load_explicit(&c->bytes_written, memory_order_relaxed);
	st->lost = atomic_load_explicit(&c->lost, memory_order_relaxed);
	st->rotation_errors = atomic_load_explicit(&c->rotation_errors, memory_order_relaxed);
	st->sampled_out = atomic_load_explicit(&c->sampled_out, memory_order_relaxed);
	st->queue_size = c->ring.cap;
	st->queue_high_water = atomic_load_explicit(&c->queue_high, memory_order_relaxed);
	if (c->flight) {
		st->deferred_written = atomic_load_explicit(&c->flight->written, memory_order_relaxed);
		st->deferred_discarded =
			atomic_load_explicit(&c->flight->discarded, memory_order_relaxed);
		st->deferred_held = atomic_load_explicit(&c->flight->held, memory_order_relaxed);
	}
	unpin(lg);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Child loggers                                                            */
/* ------------------------------------------------------------------------ */

/* Create a child of @parent with @extra_name appended to its name and
 * @fields appended to its bound fields. */
static jlog_logger *child_create(const char *what, jlog_logger *parent, const char *extra_name,
                                 const jlog_field *fields, size_t n)
{
	parent = resolve(parent);
	if (!parent) {
		jlog__set_last_error("%s: no default logger (out of memory)", what);
		return NULL;
	}
	struct jlog_core *c = pin(parent);
	/* A tombstone's name and bound fields are being freed, or are gone:
	 * its children have none (see entomb()). */
	static const jlog_logger no_parent;
	const jlog_logger *src = c == &dead_core ? &no_parent : parent;
	jlog_logger *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		unpin(parent);
		jlog__set_last_error("%s: out of memory for the child logger", what);
		return NULL;
	}

	/* Name: parent's, then ".extra". */
	bool name_cut = false;
	if (extra_name && *extra_name) {
		size_t en = strlen(extra_name);
		size_t total = src->name_len + (src->name_len ? 1 : 0) + en;
		size_t keep = total > MAX_NAME ? MAX_NAME : total;
		ch->name = malloc(keep + 1);
		if (!ch->name)
			goto err;
		size_t k = 0;
		if (src->name_len) {
			memcpy(ch->name, src->name, src->name_len);
			k = src->name_len;
			if (k < keep)
				ch->name[k++] = '.';
		}
		memcpy(ch->name + k, extra_name, keep - k);
		name_cut = total > MAX_NAME;
		if (name_cut)
			keep = jlog__utf8_cut(ch->name, keep);
		ch->name[keep] = '\0';
		ch->name_len = keep;
	} else if (src->name_len) {
		ch->name = strndup(src->name, src->name_len);
		if (!ch->name)
			goto err;
		ch->name_len = src->name_len;
	}

	/* Bound fields: the parent's bytes, then the new ones, encoded now so
	 * each log call only copies them. Together they take at most a
	 * quarter of max_record_size: values are cut to share that room, and
	 * fields that still do not fit are left out. Either way every record
	 * of the child (and of its children) says "truncated":true
	 * (bound_flags, read by log_general(), and fast_max). */
	ch->bound_flags = src->bound_flags | (name_cut ? JLOG__REC_TRUNCATED : 0);
	size_t limit = c->max_record_size / 4;
	size_t size = src->bound_len, fixed = 0;
	for (size_t i = 0; i < n; i++) {
		size += jlog__field_size(&fields[i]);
		/* What a field takes besides its value (the key is cut
		 * at JLOG__MAX_KEY): not part of the values' share. */
		fixed += sizeof(struct jlog__field_hdr) +
		         (fields[i].key_len < JLOG__MAX_KEY ? fields[i].key_len : JLOG__MAX_KEY);
	}
	if (size) {
		size_t val_cap = SIZE_MAX;
		if (size > limit && n) {
			size_t used = src->bound_len + fixed;
			val_cap = (limit - (used < limit ? used : limit)) / n;
		}
		ch->bound = malloc(size);
		if (!ch->bound)
			goto err;
		if (src->bound_len)
			memcpy(ch->bound, src->bound, src->bound_len);
		size_t k = src->bound_len;
		uint32_t kept = src->nbound;
		for (size_t i = 0; i < n; i++) {
			size_t w = jlog__field_write(ch->bound + k, &fields[i], val_cap);
			if (k + w > limit)
				break;
			/* Fewer bytes than the field takes whole: its value
			 * was cut. */
			if (w < jlog__field_size(&fields[i]))
				ch->bound_flags = JLOG__REC_TRUNCATED;
			k += w;
			kept++;
		}
		if (kept < src->nbound + n)
			ch->bound_flags = JLOG__REC_TRUNCATED;
		ch->bound_len = k;
		ch->nbound = kept;
	}
	ch->core = c;
	ch->parent = parent;
	pthread_mutex_lock(&c->lock);
	/* Under the lock: a reload that changes the sampler updates the
	 * handles listed here. */
	handle_limits(ch, c, ch->bound_flags);
	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		ch->gate.level = JLOG_LEVEL_OFF;
	else
		set_gate(ch, c, effective_level_locked(c, ch));
	ch->next_child = c->children;
	c->children = ch;
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	unpin(parent);
	return ch;

err:
	unpin(parent);
	jlog__set_last_error("%s: out of memory for the child logger", what);
	logger_free(ch);
	return NULL;
}

jlog_logger *jlog__with(jlog_logger *parent, const jlog_field *fields, size_t n)
{
	return child_create("JLOG_WITH", parent, NULL, fields, n);
}

jlog_logger *jlog_named(jlog_logger *parent, const char *name)
{
	return child_create("jlog_named", parent, name, NULL, 0);
}

