/*
 * The producer side of a log call: per-thread state (tid, nesting depth,
 * the per-thread count of jlog_stats.logged), then sizing, reserving and
 * writing a record into the ring. No lock is taken on this path. The
 * lifecycle it logs into is logger.c's.
 */
#include "jlog-private.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


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
static bool count_key_ok; /* written once in jlog__count_init() */

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
	/* Release, paired with the acquire in jlog__count_sum(): a thread
	 * that waits for `logged` to reach a count, then closes the logger,
	 * frees the core after this last touch of it. */
	atomic_fetch_add_explicit(&c->logged, 1, memory_order_release);
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
		/* Release: as in count_slow(); a plain store on x86. */
		atomic_store_explicit(&t->n, atomic_load_explicit(&t->n, memory_order_relaxed) + 1,
		                      memory_order_release);
		return;
	}
	count_slow(c);
}

/* Records committed to @c so far: see count_logged(). */
uint64_t jlog__count_sum(struct jlog_core *c)
{
	pthread_mutex_lock(&count_lock);
	/* Acquire, paired with the release increments of count_logged() and
	 * count_slow(): what the counted calls did to the core happened
	 * before whatever the caller does after reading the count. */
	uint64_t sum = atomic_load_explicit(&c->logged, memory_order_acquire);
	for (struct jlog__thread_count *t = count_list; t; t = t->next)
		if (atomic_load_explicit(&t->core, memory_order_relaxed) == c)
			sum += atomic_load_explicit(&t->n, memory_order_acquire);
	pthread_mutex_unlock(&count_lock);
	return sum;
}

/* A core is freed: unlink the slots of threads still registered. */
void jlog__count_detach_core(struct jlog_core *c)
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

void jlog__count_init(void)
{
	count_key_ok = pthread_key_create(&count_key, count_thread_exit) == 0;
}

void jlog__count_lock(void)
{
	pthread_mutex_lock(&count_lock);
}

void jlog__count_unlock(void)
{
	pthread_mutex_unlock(&count_lock);
}

/* In the forked child (count_lock held): forget the cached tid; the counts
 * restart at zero, and only this thread's slot stays listed (see
 * count_logged()). */
void jlog__thread_fork_child(void)
{
	tls.tid = 0;
	struct jlog__thread_count *self = &tls.count;
	count_list = NULL;
	if (atomic_load_explicit(&self->core, memory_order_relaxed)) {
		atomic_store_explicit(&self->n, 0, memory_order_relaxed);
		self->next = NULL;
		self->pprev = &count_list;
		count_list = self;
	}
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
	uint32_t id = cs ? jlog__callsite_id(cs) : 0;

	/* Acquire: jlog_reload_config() may publish a first sampler. The
	 * flight recorder's records (below the handle's level, which the gate
	 * let through) are not sampled: see begin_record(). */
	const void *sampler = __atomic_load_n(&c->sampler, __ATOMIC_ACQUIRE);
	if (JLOG__UNLIKELY(sampler || c->flight)) {
		uint8_t unused = 0;
		if (c->flight && level < __atomic_load_n(&lg->level, __ATOMIC_RELAXED))
			extra_flags |= JLOG__REC_DEFERRED;
		else if (sampler && !jlog__sample_admit(c, id, level, jlog__stamp(&unused)))
			return;
	}

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
			msg_len = msg_len <= val_cap ? msg_len : jlog__utf8_cut(msg, val_cap);
			flags |= JLOG__REC_MSG_TRUNCATED;
		}
	}

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


/* The sampler's decision for begin_record(): inline for the records
 * sampling alone decides (jlog__sample_lean()), out of line for the rest.
 * Acquire pairs with the release store that publishes the sampler
 * (handle_limits(), logger.c). */
static inline bool admit_sampled(struct jlog_core *c, uint32_t id, int level, uint64_t now)
{
	struct jlog__sampler *s = __atomic_load_n(&c->sampler, __ATOMIC_ACQUIRE);
	if (!s)
		return true;
	int d = jlog__sample_lean(s, &c->sampled_out, id, level, now);
	return JLOG__LIKELY(d >= 0) ? d : jlog__sample_admit(c, id, level, now);
}

/*
 * The head of a fast-path record: reserve @fields_size bytes of fields
 * after the head and write the head. Returns 1 with *r filled, 0 when the
 * ring refused the record (counted as dropped), -1 when the record needs
 * log_general(). The thread's scoped context is read once, so a signal
 * handler that pushes meanwhile cannot make its length and bytes disagree.
 * The header is stored straight into the ring, and the name, bound fields
 * and context are copied out of line when there are any (147 -> 98
 * instructions for a root logger without context, with the inline
 * reservation; callgrind, bench/hotpath.c). Always inline: with the
 * sampler's inline branch it grew past what gcc inlines by itself, and a
 * call of its own costs every log call, sampled or not.
 */
static inline __attribute__((always_inline)) int
begin_record(jlog_logger *lg, uint32_t id, int level, size_t msg_len, size_t n,
             size_t fields_size, struct jlog__reserved *r)
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
	 * a handle whose bound fields were cut (its fast_max is 0). A
	 * logger with a sampler gives its handles a fast_max of 0 too, and
	 * the sampler decides here, on this branch only: without one this
	 * costs nothing more. A record too large for this path is sampled
	 * by log_general() instead, so never twice. A flight recorder sends
	 * its handles here the same way: a record below the handle's own
	 * level (the gate is the recorder's) is marked for it in its
	 * callsite id (JLOG__CALLSITE_DEFERRED: a changed flags value would
	 * cost every call 2 instructions), and is not sampled. Without a
	 * recorder the gate is that level, so no record is marked.
	 * jlog_reload_config() may change the limits (handle_limits()); a
	 * call that reads the old limits decides as before it. Acquire pairs
	 * with the release store there: a limit that sends the record to
	 * the sampler comes with the sampler it was stored after. */
	if (JLOG__UNLIKELY(total > __atomic_load_n(&lg->fast_max, __ATOMIC_ACQUIRE))) {
		if (total > __atomic_load_n(&lg->sample_max, __ATOMIC_RELAXED))
			return -1;
		if (level < __atomic_load_n(&lg->level, __ATOMIC_RELAXED))
			id |= JLOG__CALLSITE_DEFERRED;
		else if (!admit_sampled(c, id, level, now))
			return 0;
	}

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

/* The inline fast path of the macros (jlog__log_fields(), jlog-inline.h);
 * statements compiled with JLOG_COMPACT_CALLSITES call jlog__log_site(). */
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
 * The log call of jlog_field arrays: the C++ macros, jlog_log() and
 * jlog_logv(), statements with keys computed at run time, and the general
 * path of jlog__log_site(). The fast path handles records of plain fields
 * that fit max_record_size with one pass for the size, one reservation,
 * one pass of copies, one commit; anything else goes to log_general().
 * @caller is the application's return address, where a backtrace starts.
 */
static inline __attribute__((always_inline)) void
log_array(jlog_logger *lg, jlog_callsite *cs, int level, const char *msg, size_t msg_len,
          const jlog_field *fields, size_t n, const void *caller)
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
		log_diag(lg, cs, level, msg, msg_len, fields, n, errno, caller);
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

void jlog__log(jlog_logger *lg, jlog_callsite *cs, int level, const char *msg,
               size_t msg_len, const jlog_field *fields, size_t n)
{
	log_array(lg, cs, level, msg, msg_len, fields, n, __builtin_return_address(0));
}

/*
 * The template of a log statement (struct jlog__site, jlog-inline.h): its
 * fields' bytes as a record holds them, built once from the descriptor,
 * with the strings' values left out and the fixed-size values zero. A
 * record's fields are then the template's segments, each followed by one
 * string: a segment is copied, its fixed values stored at their offsets,
 * then its string's length patched into the string's header and the
 * string's bytes copied. Only constants of the statement go in it (keys,
 * types), so every record stays self-contained bytes.
 */
struct site_seg {
	uint32_t off, len;   /* the segment: bytes[off, off + len) */
	uint16_t fix0, fix1; /* its fixed values: fixes[fix0, fix1) */
	uint16_t slot;       /* the string's pointer (a JLOG_STRN's length is the next) */
	uint16_t back;       /* from the segment's end back to the string's header */
	uint8_t len_from;    /* SEG_MEASURE, SEG_GIVEN or SEG_LITERAL */
	uint32_t lit_len;    /* SEG_LITERAL: the literal's length */
};
enum {
	SEG_MEASURE, /* a JLOG_STR: strlen() each call */
	SEG_GIVEN,   /* a JLOG_STRN: its length is the slot after the pointer */
	SEG_LITERAL, /* a JLOG_STR of a literal (JLOG__TF_LIT): measured once */
};
/* A fixed value is one unaligned 8-byte store of (value & mask) | rest: a
 * BOOL's mask keeps its byte, and rest holds the template's next 7 bytes
 * of the segment (zero past its end: a string or the next segment is
 * written over them later, and a record ending in a BOOL reserves 7
 * zero bytes more, which decoding ignores). */
struct site_fix {
	uint32_t off;  /* from its segment's start */
	uint32_t slot; /* its value */
	uint64_t mask, rest;
};
struct site_tmpl {
	uint32_t fixed;  /* bytes of the template: the fields but their strings */
	uint16_t nstr;   /* strings; segs has nstr + 1 (the last has none) */
	uint8_t general; /* a JSON field or a key over JLOG__MAX_KEY: site_general() */
	uint8_t slack;   /* bytes reserved past the fields for a last BOOL's store */
	const struct site_seg *segs;
	const struct site_fix *fixes;
	const uint8_t *bytes;
};

/* The most fields a statement's descriptor has (JLOG__NFIELDS_OF() in
 * jlog-inline.h); a descriptor with more takes the general path. */
#define SITE_MAX_FIELDS 32

static const struct site_tmpl general_tmpl = {.general = 1};

/*
 * Templates come from this static arena, so that a statement's first
 * call allocates nothing (it may run in a signal handler); past the arena
 * they are calloc'ed. A template that loses the race to be published is
 * freed when it came from calloc, and left unused in the arena otherwise.
 */
static _Alignas(16) uint8_t tmpl_arena[256 << 10];
static _Atomic size_t tmpl_arena_used;

static void *tmpl_alloc(size_t n, bool *heap)
{
	n = (n + 15) & ~(size_t)15;
	size_t off = atomic_fetch_add_explicit(&tmpl_arena_used, n, memory_order_relaxed);
	*heap = off > sizeof(tmpl_arena) || n > sizeof(tmpl_arena) - off;
	return *heap ? calloc(1, n) : tmpl_arena + off;
}

/* The size of a fixed value of descriptor type @t; 0 for a string or a
 * null, -1 for a type the template does not encode: what the fast path
 * of the arrays encodes, for an empty key and an empty string. */
static int site_fixed_size(unsigned t)
{
	jlog_field f = {"", 0, (int)t, 0, {0}};
	size_t n = jlog__field_fast_size(&f);
	return n ? (int)(n - sizeof(struct jlog__field_hdr)) : -1;
}

/* Copy @n bytes: short ones inline, 16 at a time (the last 16 may
 * overlap the previous ones), long ones with memcpy(). */
static inline void site_copy(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n <= 16) {
		jlog__copy_bytes(d, s, n);
		return;
	}
	if (n > 128) {
		memcpy(d, s, n);
		return;
	}
	for (size_t i = 0; i + 16 < n; i += 16)
		memcpy(d + i, s + i, 16);
	memcpy(d + n - 16, s + n - 16, 16);
}

/* A descriptor type without its flags (JLOG__TF_*). */
#define SITE_TYPE(t) ((unsigned)(t) & ~(unsigned)(JLOG__TF_LEN | JLOG__TF_LIT))

/* Build @site's template and publish it; returns the published one (NULL:
 * out of memory, the general path this time). @v: the first call's
 * values, where the literal strings' lengths are measured (a literal is
 * the same on every call). Keeps errno: the record's diagnostics show the
 * caller's. */
static __attribute__((noinline)) const struct site_tmpl *site_build(struct jlog__site *site,
                                                                   const union jlog__val *v)
{
	int saved_errno = errno;
	const struct site_tmpl *t = &general_tmpl;
	unsigned n = site->nfields;
	size_t bytes = 0, nstr = 0, nfix = 0;
	bool heap = false;
	if (n > SITE_MAX_FIELDS)
		goto publish;
	for (unsigned i = 0; i < n; i++) {
		const char *key = site->keys[i] ? site->keys[i] : "";
		size_t kl = strlen(key);
		unsigned type = SITE_TYPE(site->types[i]);
		int fs = site_fixed_size(type);
		if (kl > JLOG__MAX_KEY || fs < 0)
			goto publish;
		bytes += sizeof(struct jlog__field_hdr) + kl + (size_t)fs;
		nstr += type == JLOG__T_STR;
		nfix += fs > 0;
	}
	/* The fixes follow the segments, rounded up to their alignment. */
	size_t fix_at = sizeof(struct site_tmpl) + (nstr + 1) * sizeof(struct site_seg);
	fix_at = (fix_at + _Alignof(struct site_fix) - 1) & ~(_Alignof(struct site_fix) - 1);
	size_t size = fix_at + nfix * sizeof(struct site_fix) + bytes;
	struct site_tmpl *nt = tmpl_alloc(size, &heap);
	if (!nt) {
		errno = saved_errno;
		return NULL;
	}
	struct site_seg *segs = (struct site_seg *)(void *)(nt + 1);
	struct site_fix *fixes = (struct site_fix *)(void *)((uint8_t *)nt + fix_at);
	uint8_t *b = (uint8_t *)(fixes + nfix);
	nt->slack = 0;
	size_t pos = 0, start = 0, slot = 0, nf = 0, ns = 0;
	segs[0].fix0 = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *key = site->keys[i] ? site->keys[i] : "";
		size_t kl = strlen(key);
		unsigned type = SITE_TYPE(site->types[i]);
		int fs = site_fixed_size(type);
		struct jlog__field_hdr h = {.type = (uint8_t)type,
		                            .key_len = (uint16_t)kl,
		                            .val_len = (uint32_t)fs};
		memcpy(b + pos, &h, sizeof(h));
		memcpy(b + pos + sizeof(h), key, kl);
		pos += sizeof(h) + kl;
		if (type == JLOG__T_STR) {
			segs[ns].off = (uint32_t)start;
			segs[ns].len = (uint32_t)(pos - start);
			segs[ns].fix1 = (uint16_t)nf;
			segs[ns].slot = (uint16_t)slot;
			segs[ns].back = (uint16_t)(sizeof(h) + kl);
			segs[ns].lit_len = 0;
			if (site->types[i] & JLOG__TF_LEN) {
				segs[ns].len_from = SEG_GIVEN;
				slot += 2;
			} else if (site->types[i] & JLOG__TF_LIT) {
				size_t l = v[slot].s ? strlen(v[slot].s) : 0;
				if (l > UINT32_MAX) {
					/* Never a literal in practice: the general
					 * path, the arena's bytes left unused. */
					if (heap)
						free(nt);
					heap = false;
					goto publish;
				}
				segs[ns].len_from = SEG_LITERAL;
				segs[ns].lit_len = (uint32_t)l;
				slot++;
			} else {
				segs[ns].len_from = SEG_MEASURE;
				slot++;
			}
			start = pos;
			segs[++ns].fix0 = (uint16_t)nf;
			continue;
		}
		if (fs > 0) {
			fixes[nf].off = (uint32_t)(pos - start);
			fixes[nf].slot = (uint32_t)slot;
			fixes[nf].mask = fs == 1 ? 1 : UINT64_MAX;
			fixes[nf].rest = 0;
			nf++;
			pos += (size_t)fs;
		}
		slot++;
	}
	/* A BOOL's rest: the template bytes after it in its segment. */
	for (size_t k = 0, j = 0; k <= nstr; k++) {
		for (; j < segs[k].fix1; j++) {
			if (fixes[j].mask != 1)
				continue;
			size_t at = segs[k].off + fixes[j].off + 1;
			size_t end = segs[k].off + segs[k].len;
			uint8_t next[8] = {0};
			memcpy(next + 1, b + at, end - at < 7 ? end - at : 7);
			memcpy(&fixes[j].rest, next, 8);
			nt->slack = 7;
		}
	}
	segs[ns].off = (uint32_t)start;
	segs[ns].len = (uint32_t)(pos - start);
	segs[ns].fix1 = (uint16_t)nf;
	nt->fixed = (uint32_t)pos;
	nt->nstr = (uint16_t)nstr;
	nt->general = 0;
	nt->segs = segs;
	nt->fixes = fixes;
	nt->bytes = b;
	t = nt;
publish:;
	/* Release pairs with the acquire load of jlog__log_site(): the
	 * template's bytes are seen whole. */
	void *expected = NULL;
	if (!__atomic_compare_exchange_n(&site->tmpl, &expected, (void *)(uintptr_t)t, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (t != &general_tmpl && heap)
			free((void *)(uintptr_t)t);
		t = expected;
	}
	errno = saved_errno;
	return t;
}

/* A statement's record as jlog_field (JSON, a key over JLOG__MAX_KEY,
 * truncation, diagnostics): the general path of the arrays. */
static __attribute__((noinline)) void site_general(jlog_logger *lg, struct jlog__site *site,
                                                   int level, const char *msg, size_t msg_len,
                                                   const union jlog__val *v,
                                                   const void *caller)
{
	jlog_field f[SITE_MAX_FIELDS];
	unsigned n = site->nfields < SITE_MAX_FIELDS ? site->nfields : SITE_MAX_FIELDS;
	for (unsigned i = 0; i < n; i++) {
		const char *key = site->keys[i];
		switch (site->types[i] & ~(unsigned)JLOG__TF_LIT) {
		case JLOG__T_STR:
			f[i] = jlog__field_str(key, v->s);
			break;
		case JLOG__T_STR | JLOG__TF_LEN:
			f[i] = jlog__field_strn(key, v->s, v[1].u);
			v++;
			break;
		case JLOG__T_INT:
			f[i] = jlog__field_int(key, v->i);
			break;
		case JLOG__T_UINT:
			f[i] = jlog__field_uint(key, v->u);
			break;
		case JLOG__T_DOUBLE:
			f[i] = jlog__field_double(key, v->d);
			break;
		case JLOG__T_BOOL:
			f[i] = jlog__field_bool(key, v->i != 0);
			break;
		case JLOG__T_JSON:
			f[i] = jlog__field_json(key, (const struct json_t *)v->p);
			break;
		default:
			f[i] = jlog__field(key, JLOG__T_NULL);
			break;
		}
		v++;
	}
	log_array(lg, &site->cs, level, msg, msg_len, f, n, caller);
}

void jlog__log_site(jlog_logger *lg, struct jlog__site *site, int level, const char *msg,
                    size_t msg_len, const union jlog__val *v)
{
	if (JLOG__UNLIKELY(!lg)) {
		lg = jlog_default();
		if (!lg || !jlog__enabled(lg, level))
			return;
	}
	if (JLOG__UNLIKELY((unsigned)level > 255))
		level = level < 0 ? 0 : 255;
	if (msg_len == SIZE_MAX)
		msg_len = msg ? strlen(msg) : 0;
	const struct site_tmpl *t = __atomic_load_n((struct site_tmpl **)&site->tmpl, __ATOMIC_ACQUIRE);
	if (JLOG__UNLIKELY(!t)) {
		t = site_build(site, v);
		if (!t)
			goto general;
	}
	if (JLOG__UNLIKELY(t->general))
		goto general;
	size_t lens[SITE_MAX_FIELDS];
	size_t size = t->fixed;
	for (unsigned k = 0; k < t->nstr; k++) {
		const struct site_seg *sg = &t->segs[k];
		const char *s = v[sg->slot].s;
		size_t l;
		if (JLOG__UNLIKELY(!s))
			l = 0;
		else if (sg->len_from == SEG_LITERAL)
			l = sg->lit_len;
		else if (sg->len_from == SEG_GIVEN)
			l = v[sg->slot + 1].u;
		else
			l = strlen(s);
		if (JLOG__UNLIKELY(l > UINT32_MAX))
			goto general;
		lens[k] = l;
		size += l;
	}
	size += t->slack;
	struct jlog__reserved r;
	int rc = begin_record(lg, jlog__callsite_id(&site->cs), level, msg_len, site->nfields,
	                      size, &r);
	if (JLOG__UNLIKELY(rc <= 0)) {
		if (rc < 0)
			goto general;
		return;
	}
	jlog__copy_bytes(r.rec + sizeof(struct jlog__rec_hdr), msg, msg_len);
	uint8_t *q = r.fields;
	const struct site_seg *sg = t->segs;
	for (unsigned k = 0;; k++, sg++) {
		site_copy(q, t->bytes + sg->off, sg->len);
		for (const struct site_fix *fx = t->fixes + sg->fix0, *fe = t->fixes + sg->fix1;
		     fx < fe; fx++) {
			uint64_t w = (v[fx->slot].u & fx->mask) | fx->rest;
			memcpy(q + fx->off, &w, 8);
		}
		q += sg->len;
		if (k == t->nstr)
			break;
		const char *s = v[sg->slot].s;
		uint32_t l = (uint32_t)lens[k];
		uint8_t *h = q - sg->back;
		if (!s)
			h[0] = JLOG__T_NULL;
		memcpy(h + offsetof(struct jlog__field_hdr, val_len), &l, sizeof(l));
		site_copy(q, (const uint8_t *)s, l);
		q += l;
	}
	q += t->slack;
	struct jlog_core *c = r.core;
	jlog__ring_commit(&c->ring, r.rec, (size_t)(q - r.rec));
	count_logged(c);
	end_record();
	return;
general:
	site_general(lg, site, level, msg, msg_len, v, __builtin_return_address(0));
}

/*
 * Format @fmt with @ap into the message of a record with @fields (shared by
 * the JLOG_LOGF macros and jlog_logv()): on the stack when it fits, else
 * whole on the heap (rare; the log call truncates it to the record limit).
 * @ap is used once and copied for the second pass.
 */
__attribute__((format(printf, 6, 0))) static void
log_vformat(jlog_logger *lg, jlog_callsite *cs, int level, const jlog_field *fields, size_t n,
            const char *fmt, va_list ap)
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

