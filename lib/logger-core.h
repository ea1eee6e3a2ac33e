/*
 * The logger core (logger.c): struct jlog_core, the state a root and its
 * children share (ring, sinks, counters, sampler, flight recorder,
 * self-metrics, reload state), struct jlog_logger, a handle, and what
 * diag.c, reload.c and logger.c declare for each other around them.
 * A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_LOGGER_CORE_H
#define JLOG_LOGGER_CORE_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* State shared by a root and its children. */
struct jlog_core {
	struct jlog_ring ring;

	pthread_mutex_t lock; /* guards children, refs, flush state below */
	pthread_cond_t flushed;
	unsigned refs;        /* handles alive (root + children) */
	struct jlog_logger *children; /* list of child handles */

	pthread_t writer;
	_Atomic bool writer_started; /* read by jlog_flush() while a close stops it */
	pid_t writer_pid;             /* process the writer runs in */
	_Atomic bool stopping;
	_Atomic bool writer_done;     /* the writer thread has finished */
	_Atomic uint64_t written_pos; /* ring position written to the sink */
	_Atomic uint32_t flush_waiters; /* threads waiting in jlog_flush() */
	_Atomic bool closed;          /* the root was closed */
	/* Close and exit bound their wait for the sinks: see the stop and
	 * exit protocols at the top of writer.c. */
	int close_timeout_ms;
	struct jlog__write_deadline io;
	bool discarding;              /* writer: past io.at_ms, lines are lost */
	bool writer_abandoned;        /* close gave up joining: never freed */
	_Atomic bool exiting;         /* exit handler: write up to exit_target */
	_Atomic uint64_t exit_target;
	_Atomic uint64_t exit_ack;    /* writer: parked at this position + 1 */
	uint64_t exit_lost_before;    /* exit handler: lost when it began */

	/* Sinks: the current set (writer: acquire, once per batch); the set
	 * the writer last loaded; replaced sets, freed with the core. */
	_Atomic(struct jlog__sink_set *) sinks;
	_Atomic(struct jlog__sink_set *) sinks_seen;
	struct jlog__sink_set *retired;
	/* Serializes jlog_add_sink()/jlog_remove_sink(); taken before lock. */
	pthread_mutex_t sinks_lock;
	int next_sink_id;
	/* What log calls at ERROR and above capture for the sinks that show
	 * it (JLOG__CAPTURE_*); read relaxed by the log path. */
	_Atomic unsigned capture;
	/* Writer: a record's fields with its diagnostics expanded, and the
	 * symbolized stack of the record at diag_key (jlog__diag_view()). */
	struct jlog__buf diag_out;
	struct jlog__buf diag_stack;
	const void *diag_key;
	struct jlog__line_ctx ctx;
	/* The logger's redaction rules (redact.h), applied by the writer to
	 * each record before any sink sees it; NULL for none. Fixed at open. */
	struct jlog__redact *redact;
	jlog_overflow overflow;
	int flush_interval_ms;
	size_t max_record_size;
	/* max_record_size / 2, the largest record the fast path takes: a
	 * load instead of a load and a shift per call. */
	size_t fast_max;

	/* Records committed (jlog_stats.logged): this, plus the per-thread
	 * counts of this core (logger.c, count_logged()). */
	_Atomic uint64_t logged;
	_Atomic uint64_t dropped;
	uint64_t dropped_reported; /* writer thread */
	_Atomic uint64_t malformed; /* records the writer could not decode */
	_Atomic uint64_t written;
	_Atomic uint64_t truncated;
	_Atomic uint64_t write_errors;
	_Atomic uint64_t bytes_written;
	_Atomic uint64_t lost; /* lines formatted but not written whole */
	_Atomic uint64_t rotation_errors; /* the sinks' side_errors (writer.c) */
	/* Sampling and rate limits; NULL when off (the log path then never
	 * looks: every handle's fast_max sends nothing its way). */
	struct jlog__sampler *sampler;
	_Atomic uint64_t sampled_out;
	/* The flight recorder (flight.h); NULL when off, and then, as with
	 * the sampler, the log path never looks. Fixed at open. */
	struct jlog__flight *flight;
	/* Self-metrics (metrics.c): the ring's high-water mark (writer;
	 * read by any thread), and the periodic stats record's state. */
	_Atomic uint64_t queue_high;
	int stats_interval_ms;  /* 0: off */
	uint64_t stats_next_ms; /* writer: when the next record is due */
	uint64_t busy_ns;       /* writer: time spent on batches (with stats) */
	uint64_t stats_busy_ns; /* busy_ns and the time at the last record */
	uint64_t stats_at_ns;
	/* jlog_reopen() asked the writer to reopen the sinks (reopen.c). */
	_Atomic bool reopen_req;
	/* Reload (reload.c): the document the logger was opened from, as
	 * last applied (NULL when jlog_open() opened it; guarded by
	 * sinks_lock); the change jlog_reload_config() asks the writer to
	 * make at a ring position; the SIGHUP hook's request to reload from
	 * the file. */
	struct jlog__cfg_state *cfg;
	_Atomic(struct jlog__reload *) reload_req;
	_Atomic bool reload_file_req;
	struct jlog_logger *root; /* the root handle, while open */

	struct jlog_core *next_open; /* global list of open cores */
	bool is_default;
	struct jlog__crash_core crash; /* crash.c */

	/* Levels (guarded by lock): the root's, and per-module levels
	 * (jlog_set_module_level), resolved into each handle's gate. */
	int root_level;
	struct jlog__module_level *modules;
	size_t nmodules;
};

struct jlog_logger {
	struct jlog__gate gate; /* must stay first: read by jlog__enabled() */
	struct jlog_core *core;
	struct jlog_logger *parent;
	struct jlog_logger *next_child; /* in core->children */
	bool is_root;
	bool level_set; /* level set on this handle itself */
	/* The handle's level; the gate holds it too, or, with a flight
	 * recorder, the recorder's lower level, and begin_record() marks
	 * the records below this one deferred. Relaxed atomic accesses, as
	 * the gate's (set by logger.c's set_gate()). */
	int level;
	int own_level;  /* that level, when level_set */
	char *name;
	size_t name_len;
	uint8_t *bound; /* encoded bound fields */
	size_t bound_len;
	uint32_t nbound;
	/* JLOG__REC_TRUNCATED when a bound field of this handle or of an
	 * ancestor was cut or left out (child_create()), else 0: ORed into
	 * the flags of each of its records by log_general(), which then say
	 * so. */
	uint8_t bound_flags;
	/* The largest record begin_record() takes: the core's fast_max, or 0
	 * with bound_flags so that every record takes log_general(), or 0
	 * with a sampler so that every record asks it first. */
	size_t fast_max;
	/* With a sampler or a flight recorder: the fast_max the handle
	 * would have without them (what begin_record() takes once it has
	 * asked them); else 0. */
	size_t sample_max;
	/* Root handles: calls in progress that use the core through this
	 * handle (logger.c, pin()), which jlog_close() waits for before it
	 * frees what they read. */
	_Atomic unsigned pins;
};

struct jlog__module_level {
	char *prefix;
	size_t len;
	int level;
};

/* The first sink of a core (tests), or NULL. */
static inline struct jlog_sink *jlog__first_sink(struct jlog_core *c)
{
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_acquire);
	return set && set->n ? set->s[0] : NULL;
}

/* Diagnostics (diag.c). What log calls capture (core->capture): */
enum { JLOG__CAPTURE_STACK = 1u << 0, JLOG__CAPTURE_DIAG = 1u << 1 };
/* Caller thread: fill @d (errno @err, the thread's name, the stack from
 * the frame that returns to @caller on, when found). Returns the bytes of
 * @d to store. */
size_t jlog__diag_capture(struct jlog__diag *d, unsigned what, int err, const void *caller);
/* Writer: @v with its diagnostic field replaced by the ordinary fields a
 * sink shows ("stack"; "errno", "errno_text", "thread"), built in *tmp
 * and c->diag_out; @v itself when there is nothing to show. */
const struct jlog__rec_view *jlog__diag_view(struct jlog_core *c, const struct jlog__rec_view *v,
                                             bool backtrace, bool diagnose,
                                             struct jlog__rec_view *tmp);

/* Reload (reload.c). The writer, between batches (every sink buffer
 * empty) at ring position @pos: makes a requested change whose position
 * is @pos, or runs the SIGHUP hook's reload; true when it changed what
 * the writer uses. */
bool jlog__reload_writer(struct jlog_core *c, uint64_t pos);
/* Whether the record that ends at ring position @end is one of those
 * the old settings of the requested change @r write (before its
 * position; false while the position is not taken yet). */
struct jlog__reload;
bool jlog__reload_before(struct jlog__reload *r, uint64_t end);
/* Whether @c was opened from a configuration file (it can reload from
 * it: jlog_install_reload_on_sighup()). */
bool jlog__reload_from_file_ok(struct jlog_core *c);
/* Free a core's reload state (NULL is a no-op). */
void jlog__cfg_state_free(struct jlog__cfg_state *st);
/* jlog__config_open_doc()'s record of the document it opened @lg from
 * (@p, parsed), the file it came from (@path, NULL for JSON text) and
 * whether a reload from the file applies the environment's overrides
 * again (@env, the default logger). 0 or -ENOMEM. */
struct jlog__cfg;
int jlog__cfg_state_init(jlog_logger *lg, const struct jlog__cfg *p, const char *path, bool env);

/* logger.c, for reload.c. A sink set of @n sinks (uninitialised
 * pointers), or NULL. */
struct jlog__sink_set *jlog__sink_set_new(unsigned n);
/* What log calls must capture for @set's sinks (JLOG__CAPTURE_*). */
unsigned jlog__sink_capture(const struct jlog__sink_set *set);
/* Keep a set the writer no longer uses until the core is freed. */
void jlog__sink_set_retire(struct jlog_core *c, struct jlog__sink_set *set);
/* Whether the writer may be using a sink set right now. */
bool jlog__writer_running(struct jlog_core *c);
/* With c->lock held: resolve every handle's gate and limits after a
 * change of the root's level, the module levels or the sampler. */
void jlog__handles_update_locked(struct jlog_core *c);

#endif /* JLOG_LOGGER_CORE_H */
