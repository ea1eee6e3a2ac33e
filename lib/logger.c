/*
 * Public entry points: open/close/flush, the default logger, child
 * loggers, levels, statistics, and the producer side of a log call.
 *
 * Locks: open_lock guards the list of open cores (used at exit and fork);
 * core->lock guards a core's child list, refs and handle tree. No lock is
 * taken on the log path.
 */
#include "jlog-private.h"

#include <jansson.h>

#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_QUEUE_SIZE ((size_t)4 << 20)
#define MIN_QUEUE_SIZE ((size_t)64 << 10)
#define MAX_QUEUE_SIZE ((size_t)1 << 30)
#define DEFAULT_MAX_RECORD ((size_t)64 << 10)
#define MIN_MAX_RECORD ((size_t)4 << 10)
#define MAX_NAME 255u
#define DEFAULT_CLOSE_TIMEOUT_MS 5000
#define MAX_CLOSE_TIMEOUT_MS 600000

/* Level gate read by jlog__enabled(NULL, ...): -1 until the default
 * logger is opened, which sends the first check through
 * jlog__default_enabled(), so the environment is read at first use and a
 * disabled call evaluates no argument even then. */
JLOG_EXPORT int jlog__default_gate = -1;

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jlog_core *open_cores; /* guarded by open_lock */
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

/*
 * Per-thread state of the log path. initial-exec: the variables live in
 * the static TLS block, so an access is one %fs-relative load instead of a
 * __tls_get_addr() call (about 11 instructions each; 3 per log call
 * before).
 */
/*
 * jlog_stats.logged, counted per thread: a thread's records to one core
 * (the first it logs to) are counted in its own slot with a plain
 * load and store, instead of an atomic add on a line that every producer
 * writes (the lock-prefixed add cost 7 ns of a 50 ns burst p50, jlog-bench
 * --threads 1). The slot is linked into a process-wide list, so
 * jlog_get_stats() sums the core's shared counter and the slots counting
 * for that core; a slot is folded into the shared counter when its thread
 * exits (a pthread key destructor) and unlinked when its core is freed. A
 * forked child keeps only the forking thread's slot: the others belong to
 * threads that do not exist there, whose memory glibc may reuse for the
 * child's new threads. Other cores, calls nested in a signal handler and
 * threads that could not register use the shared counter (an atomic
 * add). count_lock guards the list and the slots' links; it is a leaf
 * lock.
 */
struct jlog__thread_count {
	_Atomic uint64_t n; /* written by its thread only */
	_Atomic(struct jlog_core *) core; /* NULL: not registered */
	struct jlog__thread_count *next, **pprev; /* in count_list */
	bool exiting; /* the destructor ran: never register again */
};

struct thread_state {
	uint32_t tid;
	/* Depth of log calls on this thread: above 0, a signal handler
	 * interrupted a log call, and the nested call must not wait for
	 * space the interrupted one may be holding up. */
	unsigned depth;
	struct jlog__thread_count count;
};
static _Thread_local struct thread_state tls __attribute__((tls_model("initial-exec")));

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jlog__thread_count *count_list; /* guarded by count_lock */
static pthread_key_t count_key;
static bool count_key_ok; /* written once in process_init() */

static void count_unlink_locked(struct jlog__thread_count *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
	/* Relaxed: count_lock orders it for every reader but the owner
	 * thread, which is the caller or no longer logs to the core. */
	atomic_store_explicit(&t->core, NULL, memory_order_relaxed);
}

/* Thread exit: fold this thread's count into its core's counter. */
static void count_thread_exit(void *p)
{
	struct jlog__thread_count *t = p;
	pthread_mutex_lock(&count_lock);
	t->exiting = true;
	struct jlog_core *c = atomic_load_explicit(&t->core, memory_order_relaxed);
	if (c) {
		/* Relaxed: counters only; count_lock orders them for
		 * jlog_get_stats(). */
		atomic_fetch_add_explicit(&c->logged,
		                          atomic_load_explicit(&t->n, memory_order_relaxed),
		                          memory_order_relaxed);
		count_unlink_locked(t);
	}
	pthread_mutex_unlock(&count_lock);
}

/* Count a record on the shared counter, or register this thread's slot
 * for @c and count it there. Never waits: a trylock that fails counts on
 * the shared counter (the lock may be held by the code a signal handler
 * interrupted). */
static __attribute__((noinline)) void count_slow(struct jlog_core *c)
{
	struct jlog__thread_count *t = &tls.count;
	if (tls.depth == 1 && count_key_ok && !t->exiting &&
	    atomic_load_explicit(&t->core, memory_order_relaxed) == NULL &&
	    pthread_mutex_trylock(&count_lock) == 0) {
		if (pthread_setspecific(count_key, t) == 0) {
			atomic_store_explicit(&t->n, 1, memory_order_relaxed);
			t->next = count_list;
			if (t->next)
				t->next->pprev = &t->next;
			t->pprev = &count_list;
			count_list = t;
			atomic_store_explicit(&t->core, c, memory_order_relaxed);
			pthread_mutex_unlock(&count_lock);
			return;
		}
		pthread_mutex_unlock(&count_lock);
	}
	/* Relaxed: a counter; it guards no data. */
	atomic_fetch_add_explicit(&c->logged, 1, memory_order_relaxed);
}

/* Count a committed record (before end_record(): depth 1 means no
 * signal handler interrupted a log call on this thread). */
static inline void count_logged(struct jlog_core *c)
{
	struct jlog__thread_count *t = &tls.count;
	/* Relaxed: only this thread writes its slot's n; the core pointer
	 * is this thread's own unless count_lock holders clear it, which
	 * happens only for a core no handle refers to any more. A signal
	 * handler's nested call (depth > 1) counts on the shared counter,
	 * so this load and store are never interleaved with another. */
	if (JLOG__LIKELY(atomic_load_explicit(&t->core, memory_order_relaxed) == c &&
	                 tls.depth == 1)) {
		atomic_store_explicit(&t->n, atomic_load_explicit(&t->n, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		return;
	}
	count_slow(c);
}

/* Records committed to @c so far: see count_logged(). */
static uint64_t count_sum(struct jlog_core *c)
{
	pthread_mutex_lock(&count_lock);
	/* Relaxed: counters only. */
	uint64_t sum = atomic_load_explicit(&c->logged, memory_order_relaxed);
	for (struct jlog__thread_count *t = count_list; t; t = t->next)
		if (atomic_load_explicit(&t->core, memory_order_relaxed) == c)
			sum += atomic_load_explicit(&t->n, memory_order_relaxed);
	pthread_mutex_unlock(&count_lock);
	return sum;
}

/* A core is freed: unlink the slots of threads still registered. */
static void count_detach_core(struct jlog_core *c)
{
	pthread_mutex_lock(&count_lock);
	for (struct jlog__thread_count *t = count_list, *next; t; t = next) {
		next = t->next;
		if (atomic_load_explicit(&t->core, memory_order_relaxed) == c)
			count_unlink_locked(t);
	}
	pthread_mutex_unlock(&count_lock);
}

uint32_t jlog__gettid(void)
{
	if (JLOG__UNLIKELY(tls.tid == 0)) {
		tls.tid = (uint32_t)syscall(SYS_gettid);
		/* The thread's first log call: time for the crash handler's
		 * alternate stack, if it is installed, and to note the
		 * thread's name for the formatters. */
		jlog__crash_thread_init();
		jlog__thread_name_register(tls.tid);
	}
	return tls.tid;
}

/* ------------------------------------------------------------------------ */
/* Process-wide hooks: exit and fork                                        */
/* ------------------------------------------------------------------------ */

/* At exit() (from any thread) and on return from main(): write everything
 * committed so far, waiting at most each logger's close_timeout_ms (all
 * at once), and leave no writer inside a write(2) when the process ends
 * (the exit protocol in writer.c). Loggers are not freed: other threads
 * may still log. */
static void flush_all_at_exit(void)
{
	pthread_mutex_lock(&open_lock);
	uint64_t now = jlog__ms_now();
	for (struct jlog_core *c = open_cores; c; c = c->next_open)
		jlog__writer_exit_begin(c, now);
	for (struct jlog_core *c = open_cores; c; c = c->next_open)
		jlog__writer_exit_wait(c);
	pthread_mutex_unlock(&open_lock);
}

/*
 * fork(): the child gets a working copy of every open logger, with the
 * parent's pending records left to the parent. The prepare handler holds
 * open_lock and then every open core's lock (the order of
 * flush_all_at_exit()), so the child's copies of the core list, child
 * lists and refs are not caught mid-update. It waits for nothing else: a
 * thread inside a log call holds no lock, and the writer takes core->lock
 * only to wake flushers.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&open_lock);
	for (struct jlog_core *c = open_cores; c; c = c->next_open) {
		/* A sink being added or removed finishes first (it waits only
		 * for the writer), so the child's sink set is whole. */
		pthread_mutex_lock(&c->sinks_lock);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_lock(&count_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&count_lock);
	for (struct jlog_core *c = open_cores; c; c = c->next_open) {
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&c->sinks_lock);
	}
	pthread_mutex_unlock(&open_lock);
}

/* The child has only the forking thread: forget its cached tid, and give
 * each core the child's pid, an empty ring and a writer thread of its own
 * (see jlog__writer_fork_child()). */
static void fork_child(void)
{
	tls.tid = 0;
	jlog__clock_fork_child();
	pid_t pid = getpid();
	/* The counts restart at zero, and only this thread's slot stays
	 * listed (see count_logged()). */
	struct jlog__thread_count *self = &tls.count;
	count_list = NULL;
	if (atomic_load_explicit(&self->core, memory_order_relaxed)) {
		atomic_store_explicit(&self->n, 0, memory_order_relaxed);
		self->next = NULL;
		self->pprev = &count_list;
		count_list = self;
	}
	for (struct jlog_core *c = open_cores; c; c = c->next_open)
		atomic_store_explicit(&c->logged, 0, memory_order_relaxed);
	pthread_mutex_unlock(&count_lock);
	for (struct jlog_core *c = open_cores; c; c = c->next_open) {
		c->ctx.pid = pid;
		if (jlog__writer_fork_child(c) < 0) {
			static const char msg[] = "jlog: no writer thread in the forked "
			                          "child; its records are not written\n";
			(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		}
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&c->sinks_lock);
	}
	pthread_mutex_unlock(&open_lock);
}

static void process_init(void)
{
	count_key_ok = pthread_key_create(&count_key, count_thread_exit) == 0;
	atexit(flush_all_at_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	jlog__clock_init();
}

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
	return 0;
}

static size_t capped_name_len(const char *name)
{
	size_t n = strlen(name);
	return n > MAX_NAME ? MAX_NAME : n;
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
}

static void core_free(struct jlog_core *c)
{
	count_detach_core(c);
	for (size_t i = 0; i < c->nmodules; i++)
		free(c->modules[i].prefix);
	free(c->modules);
	free_sinks(c);
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
static struct jlog__sink_set *set_new(unsigned n)
{
	struct jlog__sink_set *set =
		malloc(sizeof(*set) + (n ? n : 1) * sizeof(set->s[0]));
	if (set) {
		set->retired_next = NULL;
		set->n = n;
	}
	return set;
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
	pthread_once(&process_once, process_init);

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
	rc = jlog__ring_init(&c->ring, opts->queue_size, 0);
	if (rc < 0)
		goto err_free;
	struct jlog__sink_set *set = set_new(no_sink ? 0 : 1);
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
		lg->name_len = capped_name_len(opts->name);
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
	/* A record may take at most a quarter of the ring, so a small ring
	 * lowers the limit rather than refusing the default. */
	c->max_record_size = opts->max_record_size < opts->queue_size / 4
	                             ? opts->max_record_size
	                             : opts->queue_size / 4;
	c->fast_max = c->max_record_size / 2;
	lg->fast_max = c->fast_max;
	atomic_init(&c->written_pos, c->ring.start);

	lg->gate.level = clamp_level(opts->level);
	c->root_level = lg->gate.level;
	lg->core = c;
	lg->is_root = true;

	rc = jlog__writer_start(c);
	if (rc < 0)
		goto err_lock;

	pthread_mutex_lock(&open_lock);
	c->next_open = open_cores;
	open_cores = c;
	jlog__crash_register(c);
	pthread_mutex_unlock(&open_lock);
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
	free(c);
	logger_free(lg);
	return rc;
}

static void unlink_open(struct jlog_core *c)
{
	pthread_mutex_lock(&open_lock);
	for (struct jlog_core **p = &open_cores; *p; p = &(*p)->next_open) {
		if (*p == c) {
			*p = c->next_open;
			break;
		}
	}
	jlog__crash_unregister(c);
	pthread_mutex_unlock(&open_lock);
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
static int take_sink_error(struct jlog_core *c)
{
	int rc = 0;
	pthread_mutex_lock(&c->sinks_lock);
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	for (unsigned i = 0; set && i < set->n; i++) {
		int e = atomic_exchange_explicit(&set->s[i]->pending_error, 0, memory_order_relaxed);
		if (e && !rc)
			rc = e;
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
	lg->core = &dead_core;
	/* Relaxed: the gate guards no data (see jlog__enabled). Close
	 * stored OFF already; from here on nothing changes it (calls that
	 * set levels see dead_core closed). */
	__atomic_store_n(&lg->gate.level, JLOG_LEVEL_OFF, __ATOMIC_RELAXED);
	pthread_mutex_lock(&tomb_lock);
	lg->next_child = tombs;
	tombs = lg;
	pthread_mutex_unlock(&tomb_lock);
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
	int rc = lg->is_root ? take_sink_error(c) : 0;

	pthread_mutex_lock(&c->lock);
	bool last = detach_locked(c, lg);
	pthread_mutex_unlock(&c->lock);
	if (lg->is_root)
		entomb(lg);
	else
		logger_free(lg);
	if (last && !c->writer_abandoned)
		core_free(c);
	return rc;
}

int jlog_flush(jlog_logger *lg)
{
	if (!lg) {
		lg = jlog_default();
		if (!lg)
			return -ENOMEM;
	}
	struct jlog_core *c = lg->core;
	if (atomic_load_explicit(&c->closed, memory_order_acquire)) {
		jlog__set_last_error("jlog_flush: the logger is closed");
		return -EINVAL;
	}
	int rc = jlog__writer_flush(c);
	if (rc < 0)
		return rc;
	return take_sink_error(c);
}

/* ------------------------------------------------------------------------ */
/* Sinks                                                                    */
/* ------------------------------------------------------------------------ */

static jlog_logger *resolve(const jlog_logger *lg);

/* What log calls must capture for @set's sinks. */
static unsigned capture_of(const struct jlog__sink_set *set)
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
static bool writer_running(struct jlog_core *c)
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
	atomic_store_explicit(&c->capture, capture_of(set), memory_order_relaxed);
	/* Release: the writer that loads the set sees the sinks whole. */
	atomic_store_explicit(&c->sinks, set, memory_order_release);
	if (writer_running(c) && !pthread_equal(pthread_self(), c->writer))
		jlog__writer_wait(c, writer_uses, (uintptr_t)set);
	if (old) {
		old->retired_next = c->retired;
		c->retired = old;
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
	struct jlog__sink_set *set = set_new(n + 1);
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
	struct jlog__sink_set *set = set_new(n - 1);
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

/* ------------------------------------------------------------------------ */
/* The default logger                                                       */
/* ------------------------------------------------------------------------ */

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static jlog_logger *default_logger;

static void default_open(void)
{
	/* JLOG_CONFIG's document with the environment's overrides; a broken
	 * one is reported and the defaults used instead: the application's
	 * logging must not disappear over a typo. */
	char err[512] = "";
	int rc = 0;
	jlog_logger *lg = NULL;
	json_t *doc = jlog__config_from_env(&rc, err, sizeof(err));
	if (doc) {
		rc = jlog__config_open_doc(&lg, doc, err, sizeof(err));
		json_decref(doc);
	}
	if (rc < 0 || !lg) {
		fprintf(stderr, "jlog: default logger: %s; logging JSON to stderr\n",
		        *err ? err : jlog_strerror(rc));
		jlog_options o;
		jlog_options_init(&o);
		const char *lv = getenv("JLOG_LEVEL");
		if (lv && jlog_level_parse(lv) >= 0)
			o.level = jlog_level_parse(lv);
		lg = NULL;
		rc = jlog_open(&lg, &o);
	}
	if (rc < 0) {
		/* No default logger: calls through NULL do nothing. */
		__atomic_store_n(&jlog__default_gate, JLOG_LEVEL_OFF, __ATOMIC_RELAXED);
		return;
	}
	lg->core->is_default = true;
	__atomic_store_n(&jlog__default_gate, lg->gate.level, __ATOMIC_RELAXED);
	default_logger = lg;
}

jlog_logger *jlog_default(void)
{
	pthread_once(&default_once, default_open);
	return default_logger;
}

bool jlog__default_enabled(int level)
{
	jlog_logger *lg = jlog_default();
	return lg && jlog__enabled(lg, level);
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
		__atomic_store_n(&ch->gate.level, effective_level_locked(c, ch), __ATOMIC_RELAXED);
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
			__atomic_store_n(&lg->gate.level, level, __ATOMIC_RELAXED);
			if (c->is_default)
				__atomic_store_n(&jlog__default_gate, level, __ATOMIC_RELAXED);
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
	return __atomic_load_n(&lg->gate.level, __ATOMIC_RELAXED);
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
	struct jlog_core *c = lg->core;
	memset(st, 0, sizeof(*st));
	/* Relaxed: counters only; see the header for what a snapshot means. */
	st->logged = count_sum(c);
	st->dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
	st->written = atomic_load_explicit(&c->written, memory_order_relaxed);
	st->truncated = atomic_load_explicit(&c->truncated, memory_order_relaxed);
	st->write_errors = atomic_load_explicit(&c->write_errors, memory_order_relaxed);
	st->bytes_written = atomic_load_explicit(&c->bytes_written, memory_order_relaxed);
	st->lost = atomic_load_explicit(&c->lost, memory_order_relaxed);
	st->rotation_errors = atomic_load_explicit(&c->rotation_errors, memory_order_relaxed);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Child loggers                                                            */
/* ------------------------------------------------------------------------ */

/* Create a child of @parent with @extra_name appended to its name and
 * @fields appended to its bound fields. */
static jlog_logger *child_create(jlog_logger *parent, const char *extra_name,
                                 const jlog_field *fields, size_t n)
{
	parent = resolve(parent);
	if (!parent)
		return NULL;
	struct jlog_core *c = parent->core;
	jlog_logger *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;

	/* Name: parent's, then ".extra". */
	if (extra_name && *extra_name) {
		size_t en = strlen(extra_name);
		size_t total = parent->name_len + (parent->name_len ? 1 : 0) + en;
		if (total > MAX_NAME)
			total = MAX_NAME;
		ch->name = malloc(total + 1);
		if (!ch->name)
			goto err;
		size_t k = 0;
		if (parent->name_len) {
			memcpy(ch->name, parent->name, parent->name_len);
			k = parent->name_len;
			if (k < total)
				ch->name[k++] = '.';
		}
		memcpy(ch->name + k, extra_name, total - k);
		ch->name[total] = '\0';
		ch->name_len = total;
	} else if (parent->name_len) {
		ch->name = strndup(parent->name, parent->name_len);
		if (!ch->name)
			goto err;
		ch->name_len = parent->name_len;
	}

	/* Bound fields: the parent's bytes, then the new ones, encoded now so
	 * each log call only copies them. Together they take at most a
	 * quarter of max_record_size: values are cut to share that room, and
	 * fields that still do not fit are left out. Either way every record
	 * of the child (and of its children) says "truncated":true
	 * (bound_flags, read by log_general(), and fast_max). */
	ch->bound_flags = parent->bound_flags;
	size_t limit = c->max_record_size / 4;
	size_t size = parent->bound_len, fixed = 0;
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
			size_t used = parent->bound_len + fixed;
			val_cap = (limit - (used < limit ? used : limit)) / n;
		}
		ch->bound = malloc(size);
		if (!ch->bound)
			goto err;
		if (parent->bound_len)
			memcpy(ch->bound, parent->bound, parent->bound_len);
		size_t k = parent->bound_len;
		uint32_t kept = parent->nbound;
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
		if (kept < parent->nbound + n)
			ch->bound_flags = JLOG__REC_TRUNCATED;
		ch->bound_len = k;
		ch->nbound = kept;
	}
	ch->fast_max = ch->bound_flags ? 0 : c->fast_max;

	ch->core = c;
	ch->parent = parent;
	pthread_mutex_lock(&c->lock);
	ch->gate.level = atomic_load_explicit(&c->closed, memory_order_relaxed)
	                         ? JLOG_LEVEL_OFF
	                         : effective_level_locked(c, ch);
	ch->next_child = c->children;
	c->children = ch;
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	return ch;

err:
	logger_free(ch);
	return NULL;
}

jlog_logger *jlog__with(jlog_logger *parent, const jlog_field *fields, size_t n)
{
	return child_create(parent, NULL, fields, n);
}

jlog_logger *jlog_named(jlog_logger *parent, const char *name)
{
	return child_create(parent, name, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* The log call                                                             */
/* ------------------------------------------------------------------------ */

/* Value bytes of a STR or JSON field (the part truncation can shrink). */
static size_t variable_len(const jlog_field *f, size_t fsize)
{
	if (f->type != JLOG__T_STR && f->type != JLOG__T_JSON)
		return 0;
	size_t key = f->key_len < JLOG__MAX_KEY ? f->key_len : JLOG__MAX_KEY;
	return fsize - sizeof(struct jlog__field_hdr) - key;
}

/*
 * A record would exceed max_record_size: find how many fields to keep and
 * the longest value (message included) that fits. Values shorter than the
 * cap keep their length; the cap is the largest that makes everything fit
 * ("water filling"). Fields that do not fit even with empty values are
 * left out. Returns the record size with these limits.
 */
static size_t plan_truncation(size_t budget, size_t msg_len, const jlog_field *fields,
                              const size_t *sizes, size_t *keep, size_t *cap)
{
	size_t fixed = 0, k = 0;
	for (; k < *keep; k++) {
		size_t f = sizes[k] - variable_len(&fields[k], sizes[k]);
		if (fixed + f > budget)
			break;
		fixed += f;
	}
	*keep = k;
	size_t room = budget - fixed;
	size_t nvar = 1; /* the message */
	for (size_t i = 0; i < k; i++)
		nvar += fields[i].type == JLOG__T_STR || fields[i].type == JLOG__T_JSON;
	size_t c = room / nvar;
	for (int iter = 0; iter < 8; iter++) {
		size_t small = msg_len <= c ? msg_len : 0, big = msg_len > c;
		for (size_t i = 0; i < k; i++) {
			size_t v = variable_len(&fields[i], sizes[i]);
			if (fields[i].type != JLOG__T_STR && fields[i].type != JLOG__T_JSON)
				continue;
			if (v <= c)
				small += v;
			else
				big++;
		}
		if (!big)
			break;
		size_t next = (room - small) / big;
		if (next == c)
			break;
		c = next;
	}
	*cap = c;
	size_t total = fixed + (msg_len < c ? msg_len : c);
	for (size_t i = 0; i < k; i++) {
		size_t v = variable_len(&fields[i], sizes[i]);
		total += v < c ? v : c;
	}
	return total;
}

/* Cut @n bytes of UTF-8 text to at most @cap without splitting a
 * character. */
static size_t utf8_cut(const char *s, size_t n, size_t cap)
{
	if (n <= cap)
		return n;
	size_t k = cap;
	/* Step back over continuation bytes (at most 3) to a lead byte. */
	while (k > 0 && cap - k < 3 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k;
}

#define SIZES_ON_STACK 64

/* Leave a log call: the end of what reserve_record() began. */
static inline void end_record(void)
{
	/* Pairs with the fence in reserve_record(): compiler ordering only
	 * (a signal handler runs on the same thread). */
	atomic_signal_fence(memory_order_seq_cst);
	tls.depth--;
}

/* The rest of reserve_record(): the ring's full path. */
static __attribute__((noinline)) bool reserve_slow(struct jlog_core *c, size_t total,
                                                   unsigned depth, uint8_t **p)
{
	bool block = c->overflow == JLOG_OVERFLOW_BLOCK && depth == 0;
	*p = jlog__ring_reserve_slow(&c->ring, total, block);
	if (!*p) {
		/* Relaxed: a counter; the writer reports it. */
		atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
		end_record();
		return false;
	}
	return true;
}

/*
 * Reserve @total bytes for a record of this thread, at *p. A call nested
 * in another on the same thread (a signal handler) never waits. Returns
 * false when the ring refuses, counted as dropped; otherwise the caller
 * ends with end_record().
 */
static inline bool reserve_record(struct jlog_core *c, size_t total, uint8_t **p)
{
	unsigned depth = tls.depth++;
	/* A signal handler on this thread must see the increment before
	 * this call reserves anything. */
	atomic_signal_fence(memory_order_seq_cst);
	if (JLOG__LIKELY(jlog__ring_try_reserve(&c->ring, total, p)))
		return true;
	return reserve_slow(c, total, depth, p);
}

/* The parts of a record's head that most records do not have: the
 * logger's name and bound fields and the thread's context. */
static __attribute__((noinline)) uint8_t *write_extra(uint8_t *q, const jlog_logger *lg,
                                                      const uint8_t *ctx, size_t ctx_len)
{
	jlog__copy_bytes(q, lg->name, lg->name_len);
	q += lg->name_len;
	jlog__copy_bytes(q, lg->bound, lg->bound_len);
	q += lg->bound_len;
	jlog__copy_bytes(q, ctx, ctx_len);
	return q + ctx_len;
}

/* Write a record's head: header, message, logger name, bound fields and
 * the thread's context. Returns where the call's fields go. jlog__copy_bytes()
 * reads nothing for a length of 0, so NULL pointers are fine there. */
static inline uint8_t *write_head(uint8_t *q, const struct jlog__rec_hdr *h, const char *msg,
                                  const jlog_logger *lg, const uint8_t *ctx, size_t ctx_len)
{
	memcpy(q, h, sizeof(*h));
	q += sizeof(*h);
	jlog__copy_bytes(q, msg, h->msg_len);
	return write_extra(q + h->msg_len, lg, ctx, ctx_len);
}

/*
 * The general log path: any field type (JSON is serialized here), long
 * keys, and truncation to max_record_size. jlog__log() takes it only when
 * its fast path cannot encode a record.
 */
static __attribute__((noinline)) void log_general(jlog_logger *lg, jlog_callsite *cs,
                                                  int level, const char *msg, size_t msg_len,
                                                  const jlog_field *fields, size_t n,
                                                  uint8_t extra_flags)
{
	struct jlog_core *c = lg->core;

	/* Sizes of the fields, computed once (a JSON field is serialized to
	 * find its size). */
	size_t stack_sizes[SIZES_ON_STACK];
	size_t *sizes = stack_sizes;
	if (JLOG__UNLIKELY(n > SIZES_ON_STACK)) {
		sizes = malloc(n * sizeof(*sizes));
		if (!sizes) {
			atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
			return;
		}
	}
	uint8_t flags = extra_flags | lg->bound_flags;
	size_t head_len = sizeof(struct jlog__rec_hdr) + lg->name_len + lg->bound_len;
	/* The thread's context goes in whole, or, if it would take more than
	 * half of the record, not at all (the line says truncated). */
	size_t ctx_len = jlog__ctx.len;
	uint32_t ctx_n = jlog__ctx.nfields;
	if (JLOG__UNLIKELY(head_len + ctx_len > c->max_record_size / 2)) {
		ctx_len = 0;
		ctx_n = 0;
		flags |= JLOG__REC_TRUNCATED;
	}
	head_len += ctx_len;
	size_t total = head_len + msg_len;
	for (size_t i = 0; i < n; i++) {
		sizes[i] = jlog__field_size(&fields[i]);
		total += sizes[i];
	}

	size_t keep = n, val_cap = SIZE_MAX;
	if (JLOG__UNLIKELY(total > c->max_record_size)) {
		total = head_len + plan_truncation(c->max_record_size - head_len, msg_len, fields,
		                                   sizes, &keep, &val_cap);
		flags |= JLOG__REC_TRUNCATED;
		if (msg_len > val_cap) {
			msg_len = utf8_cut(msg, msg_len, val_cap);
			flags |= JLOG__REC_MSG_TRUNCATED;
		}
	}

	uint32_t id = cs ? jlog__callsite_id(cs) : 0;
	uint64_t now = jlog__stamp(&flags);
	struct jlog__rec_hdr h = {
		.time_ns = now,
		.callsite = id,
		.tid = jlog__gettid(),
		.msg_len = (uint32_t)msg_len,
		.nfields = (uint32_t)(lg->nbound + ctx_n + keep),
		.name_len = (uint16_t)lg->name_len,
		.level = (uint8_t)level,
		.flags = flags,
	};

	uint8_t *p;
	if (reserve_record(c, total, &p)) {
		uint8_t *q = write_head(p, &h, msg, lg, jlog__ctx.buf, ctx_len);
		for (size_t i = 0; i < keep; i++)
			q += jlog__field_write(q, &fields[i], val_cap);
		/* Commit the reserved length: a value cut at a character
		 * boundary may leave a few unused bytes at the end, which
		 * decoding ignores. */
		jlog__ring_commit(&c->ring, p, total);
		count_logged(c);
		end_record();
		if (JLOG__UNLIKELY(flags & JLOG__REC_TRUNCATED))
			atomic_fetch_add_explicit(&c->truncated, 1, memory_order_relaxed);
	}
	if (JLOG__UNLIKELY(sizes != stack_sizes))
		free(sizes);
}

/*
 * A record at ERROR or above of a logger whose sinks show diagnostics: the
 * call's fields after a diagnostic field (errno, thread name, stack; see
 * diag.c) captured here, on the calling thread. The stack starts at the
 * frame returning to @caller, the application's call of jlog__log().
 */
static __attribute__((noinline)) void log_diag(jlog_logger *lg, jlog_callsite *cs, int level,
                                               const char *msg, size_t msg_len,
                                               const jlog_field *fields, size_t n, int err,
                                               const void *caller)
{
	struct jlog_core *c = lg->core;
	struct jlog__diag d;
	unsigned what = atomic_load_explicit(&c->capture, memory_order_relaxed);
	size_t dlen = jlog__diag_capture(&d, what, err, caller);

	jlog_field stack_fields[17];
	jlog_field *all = stack_fields;
	if (JLOG__UNLIKELY(n + 1 > sizeof(stack_fields) / sizeof(stack_fields[0]))) {
		all = malloc((n + 1) * sizeof(*all));
		if (!all) {
			/* Without memory for the list, the record goes out
			 * without its diagnostics rather than not at all. */
			log_general(lg, cs, level, msg, msg_len, fields, n, 0);
			return;
		}
	}
	memset(&all[0], 0, sizeof(all[0]));
	all[0].key = "";
	all[0].type = JLOG__T_DIAG;
	all[0].len = dlen;
	all[0].v.s = (const char *)&d;
	if (n)
		memcpy(all + 1, fields, n * sizeof(*all));
	log_general(lg, cs, level, msg, msg_len, all, n + 1, JLOG__REC_DIAG);
	if (all != stack_fields)
		free(all);
}

_Static_assert(sizeof(struct jlog__rec_hdr) == JLOG__REC_HEAD, "jlog.h knows the header size");


/*
 * The head of a fast-path record: reserve @fields_size bytes of fields
 * after the head and write the head. Returns 1 with *r filled, 0 when the
 * ring refused the record (counted as dropped), -1 when the record needs
 * log_general(). The thread's scoped context is read once, so a signal
 * handler that pushes meanwhile cannot make its length and bytes disagree.
 * The header is stored straight into the ring, and the name, bound fields
 * and context are copied out of line when there are any (147 -> 98
 * instructions for a root logger without context, with the inline
 * reservation; callgrind, bench/hotpath.c).
 */
static inline int begin_record(jlog_logger *lg, uint32_t id, int level,
                               size_t msg_len, size_t n, size_t fields_size,
                               struct jlog__reserved *r)
{
	struct jlog_core *c = lg->core;
	/* Errors of a logger whose sinks show diagnostics need the caller's
	 * errno and stack: jlog__log() captures them (log_diag()). */
	if (JLOG__UNLIKELY(level >= JLOG_LEVEL_ERROR) &&
	    JLOG__UNLIKELY(atomic_load_explicit(&c->capture, memory_order_relaxed)))
		return -1;
	/* The clock first: fewer values live across its call, fewer
	 * registers to save (6 instructions). */
	uint8_t flags = 0;
	uint64_t now = jlog__stamp(&flags);
	size_t ctx_len = jlog__ctx.len;
	uint32_t ctx_n = jlog__ctx.nfields;
	size_t extra = lg->name_len + lg->bound_len + ctx_len;
	size_t total = sizeof(struct jlog__rec_hdr) + msg_len + extra + fields_size;
	/* Large records get the exact limits of the general path (context
	 * at most half a record, truncation), and so do all the records of
	 * a handle whose bound fields were cut (its fast_max is 0). */
	if (JLOG__UNLIKELY(total > lg->fast_max))
		return -1;

	uint32_t tid = jlog__gettid();
	uint8_t *p;
	if (JLOG__UNLIKELY(!reserve_record(c, total, &p)))
		return 0;
	/* reserved stays 0: the ring hands out zeroed bytes (see the
	 * protocol at the top of ring.c). */
	struct jlog__rec_hdr *h = (struct jlog__rec_hdr *)(void *)p;
	h->time_ns = now;
	h->callsite = id;
	h->tid = tid;
	h->msg_len = (uint32_t)msg_len;
	h->nfields = (uint32_t)(lg->nbound + ctx_n + n);
	h->name_len = (uint16_t)lg->name_len;
	h->level = (uint8_t)level;
	h->flags = flags;
	uint8_t *q = p + sizeof(*h) + msg_len;
	/* The context's bytes are read here, its length above: a push
	 * (never from a signal handler) only appends. */
	if (JLOG__UNLIKELY(extra))
		q = write_extra(q, lg, jlog__ctx.buf, ctx_len);
	r->rec = p;
	r->fields = q;
	r->core = c;
	return 1;
}

int jlog__log_begin(jlog_logger *lg, jlog_callsite *cs, int level, size_t msg_len,
                    size_t n, size_t fields_size, struct jlog__reserved *r)
{
	if (JLOG__UNLIKELY(!lg)) {
		lg = jlog_default();
		if (!lg || !jlog__enabled(lg, level))
			return 0;
	}
	return begin_record(lg, jlog__callsite_id(cs), level, msg_len, n, fields_size, r);
}

void jlog__log_commit(const struct jlog__reserved *r, unsigned char *end)
{
	struct jlog_core *c = r->core;
	jlog__ring_commit(&c->ring, r->rec, (size_t)(end - r->rec));
	count_logged(c);
	end_record();
}

/*
 * The log call of C++ callers (and of C code compiled against an older
 * header): the fast path handles records of plain fields that fit
 * max_record_size with one pass for the size, one reservation, one pass
 * of copies, one commit. Anything else goes to log_general(). C callers of
 * the current header encode their fields inline (jlog__log_fields() in
 * jlog.h) and come here only for the general path.
 */
void jlog__log(jlog_logger *lg, jlog_callsite *cs, int level, const char *msg,
               size_t msg_len, const jlog_field *fields, size_t n)
{
	if (JLOG__UNLIKELY(!lg)) {
		lg = jlog_default();
		if (!lg || !jlog__enabled(lg, level))
			return;
	}
	level = level < 0 ? 0 : level > 255 ? 255 : level;
	if (JLOG__UNLIKELY(!msg))
		msg_len = 0;

	/* Errors, when a sink shows their backtrace or diagnostics: one
	 * compare for the records below ERROR. */
	if (JLOG__UNLIKELY(level >= JLOG_LEVEL_ERROR) &&
	    JLOG__UNLIKELY(atomic_load_explicit(&lg->core->capture, memory_order_relaxed))) {
		log_diag(lg, cs, level, msg, msg_len, fields, n, errno,
		         __builtin_return_address(0));
		return;
	}
	size_t fields_size = 0;
	for (size_t i = 0; i < n; i++) {
		size_t fs = jlog__field_fast_size(&fields[i]);
		if (JLOG__UNLIKELY(fs == 0)) {
			log_general(lg, cs, level, msg, msg_len, fields, n, 0);
			return;
		}
		fields_size += fs;
	}
	struct jlog__reserved r;
	int rc = begin_record(lg, cs ? jlog__callsite_id(cs) : 0, level, msg_len, n, fields_size,
	                      &r);
	if (JLOG__UNLIKELY(rc < 0)) {
		log_general(lg, cs, level, msg, msg_len, fields, n, 0);
		return;
	}
	if (JLOG__UNLIKELY(rc == 0))
		return;
	jlog__copy_bytes(r.rec + sizeof(struct jlog__rec_hdr), msg, msg_len);
	uint8_t *q = r.fields;
	for (size_t i = 0; i < n; i++)
		q = jlog__field_put(q, &fields[i]);
	jlog__ring_commit(&lg->core->ring, r.rec, (size_t)(q - r.rec));
	count_logged(lg->core);
	end_record();
}

/*
 * Format @fmt with @ap into the message of a record with @fields (shared by
 * the JLOG_LOGF macros and jlog_logv()): on the stack when it fits, else
 * whole on the heap (rare; the log call truncates it to the record limit).
 * @ap is used once and copied for the second pass.
 */
static void log_vformat(jlog_logger *lg, jlog_callsite *cs, int level,
                        const jlog_field *fields, size_t n, const char *fmt, va_list ap)
{
	char stack[1024];
	if (!fmt) {
		jlog__log(lg, cs, level, "", 0, fields, n);
		return;
	}
	va_list again;
	va_copy(again, ap);
	int len = vsnprintf(stack, sizeof(stack), fmt, ap);
	if (len < 0) {
		static const char bad[] = "(invalid format)";
		jlog__log(lg, cs, level, bad, sizeof(bad) - 1, fields, n);
	} else if ((size_t)len < sizeof(stack)) {
		jlog__log(lg, cs, level, stack, (size_t)len, fields, n);
	} else {
		char *heap = malloc((size_t)len + 1);
		if (heap) {
			vsnprintf(heap, (size_t)len + 1, fmt, again);
			jlog__log(lg, cs, level, heap, (size_t)len, fields, n);
			free(heap);
		} else {
			jlog__log(lg, cs, level, stack, sizeof(stack) - 1, fields, n);
		}
	}
	va_end(again);
}

void jlog__logf(jlog_logger *lg, jlog_callsite *cs, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vformat(lg, cs, level, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * The wrappers' entry (see jlog.h): the same gate as the macros, then the
 * caller's (file, line, function) mapped to a callsite of its own
 * (jlog__callsite_intern(): one per distinct triple, kept), then the
 * macros' general path.
 */
void jlog_logv(jlog_logger *lg, int level, const char *file, int line, const char *func,
               const jlog_field *fields, size_t nfields, const char *fmt, va_list ap)
{
	if (!jlog__enabled(lg, level))
		return;
	jlog_callsite *cs = file || func ? jlog__callsite_intern(file, line, func) : NULL;
	if (!fields)
		nfields = 0;
	log_vformat(lg, cs, level, fields, nfields, fmt, ap);
}

void jlog_log(jlog_logger *lg, int level, const char *file, int line, const char *func,
              const jlog_field *fields, size_t nfields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	jlog_logv(lg, level, file, line, func, fields, nfields, fmt, ap);
	va_end(ap);
}
