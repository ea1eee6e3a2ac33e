/*
 * Sampling and rate limits (sample.c): a call site's counts, the rules
 * a sampler decides by (replaced whole by a reload) and the sampler.
 * A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_SAMPLE_H
#define JLOG_SAMPLE_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* One call site's state (or the logger's bucket). */
struct jlog__sample_site {
	/* (interval number << 32) | records counted in that interval, in
	 * one word so that counts stay exact (jlog__sample_window()). */
	_Atomic uint64_t window;
	/* Token bucket as a virtual schedule (GCRA): the stamp at which the
	 * bucket is full again; a record may go while that is at most
	 * burst - 1 emission intervals ahead of now. */
	_Atomic uint64_t tat;
	/* Records suppressed and not reported yet (the writer takes them):
	 * the count in the low JLOG__SAMPLE_COUNT_BITS, the highest level
	 * among them above it (jlog__sample_count_out()). */
	_Atomic uint64_t suppressed;
	/* The stamp at which the window's interval ends, so that a call in
	 * it needs no division (jlog__sample_window()); 0: unknown. Only
	 * grows, but for the reset of a change of rules. 32 bytes in all:
	 * no site straddles a line. */
	_Atomic uint64_t end;
};

/* One site per call-site id callsite.c can hand out: ids are below this. */
#define JLOG__SAMPLE_SITES (JLOG__CALLSITE_MAX_CHUNKS << JLOG__CALLSITE_CHUNK_BITS)

/* What a sampler decides by: immutable once published, so that a log call
 * may read it while jlog_reload_config() puts other rules in its place
 * (jlog__sampler_set_rules()). */
struct jlog__sample_rules {
	bool sampling;
	uint32_t first, thereafter;
	uint64_t interval; /* in jlog__stamp() units */
	uint64_t base;     /* the stamp the first interval starts at */
	/* The first interval's number: past every window the rules before
	 * these counted in, so that a reload starts each site's window
	 * afresh (jlog__sampler_set_rules()). */
	uint32_t epoch0;
	int sample_max;
	bool rate, per_logger;
	uint64_t emission;  /* stamp units per token */
	uint64_t tolerance; /* (burst - 1) * emission */
	int rate_max;
	int max_level;      /* the higher of the enabled limits' levels; -1: none */
	/* The highest level at which sampling alone decides (no rate limit
	 * applies): jlog__sample_lean() decides those inline. INT_MIN when
	 * none does. */
	int lean_max;
	/* The same for a rate limit alone (no sampling applies): a token
	 * taken inline, at the first try. INT_MIN when none. */
	int lean_rate_max;
	uint64_t report_ms; /* writer: the report interval */
	struct jlog__sample_rules *retired_next; /* the sampler's replaced rules */
};

/* A sampler: its rules and the per-call-site state the rules count in,
 * which outlives a change of rules, so that no suppressed count is lost. */
struct jlog__sampler {
	/* Acquire loads by log calls; replaced, never freed while the
	 * sampler lives (a log call may still read the old ones). */
	_Atomic(struct jlog__sample_rules *) rules;
	struct jlog__sample_rules *retired;
	/* The last rules that sampled (live or retired): the next ones
	 * number their intervals on from theirs. Callers of set_rules. */
	const struct jlog__sample_rules *counted;
	uint64_t next_report_ms; /* writer */
	struct jlog__sample_site bucket; /* JLOG_RATE_PER_LOGGER */
	/* JLOG__SAMPLE_SITES sites indexed by call-site id, [0] for records
	 * without one: one mapping of zero pages, so that a site is one
	 * index away and memory is taken only by the pages of the sites
	 * that count (sample.c, map_sites()). */
	struct jlog__sample_site *sites;
};

/* The rules @o asks for, in *out (NULL when it asks for none), or -EINVAL
 * (named by jlog__fail) / -ENOMEM. */
int jlog__sample_rules_new(const jlog_options *o, struct jlog__sample_rules **out);
/* A sampler with no counts yet that decides by @r (NULL: admits every
 * record), or NULL when out of memory (@r is then freed). */
struct jlog__sampler *jlog__sampler_create(struct jlog__sample_rules *r);
/* Decide by @r from now on (NULL: admit every record); the old rules are
 * kept until the sampler is freed. Callers serialize. */
void jlog__sampler_set_rules(struct jlog__sampler *s, struct jlog__sample_rules *r);
/* Whether @s limits anything (a sampler whose rules were taken away by a
 * reload admits everything and only reports what it counted before). */
bool jlog__sampler_on(const struct jlog__sampler *s);
/* The sampler @o asks for, in *out (NULL when it asks for none), or
 * -EINVAL (named by jlog__fail) / -ENOMEM. */
int jlog__sampler_new(const jlog_options *o, struct jlog__sampler **out);
void jlog__sampler_free(struct jlog__sampler *s);
/* Whether a record of call site @id at @level stamped @now goes on; when
 * not, it is counted (core->sampled_out and its site's report). Any
 * thread; lock-free. */
struct jlog_core;
bool jlog__sample_admit(struct jlog_core *c, uint32_t id, int level, uint64_t now);

/*
 * A call site's window: (interval number << 32) | records counted in it.
 * Every call adds itself with one fetch_add; a call stamped before the
 * site's end (the end of the window's interval) with a count below 2^31
 * is done. The rare call past the end, or with its count past 2^31,
 * settles it in jlog__sample_window_slow(), which numbers the interval
 * (a division), starts its window and moves the end on. A record
 * stamped in an earlier interval than the window's (another CPU's
 * counter a little behind) counts in the window's. Each call is counted
 * exactly once, in exactly one window, so "the first N" is exact across
 * threads. The end is loaded with acquire, which pairs with the release
 * that moves it on after the window was started: a call that sees the
 * new end adds to the new window. Pair: jlog__sample_window_slow().
 */
#define JLOG__SAMPLE_WINDOW_HIGH (3u << 30) /* counts are cut back from here */
struct jlog__sampler;
uint32_t jlog__sample_window_slow(struct jlog__sampler *s, const struct jlog__sample_rules *r,
                                  struct jlog__sample_site *site, uint64_t now, uint64_t old);

/* The number of the interval of stamp @now by @r (a division: the slow
 * path's and a change of rules'). A stamp before the base belongs to the
 * first interval. */
static inline uint32_t jlog__sample_epoch(const struct jlog__sample_rules *r, uint64_t now)
{
	return r->epoch0 + (now > r->base ? (uint32_t)((now - r->base) / r->interval) : 0);
}

/* This call's number in its site's window (1 for the first). @s is the
 * sampler whose rules @r are, NULL for a site of no sampler (tests). */
static inline uint32_t jlog__sample_window(struct jlog__sampler *s,
                                           const struct jlog__sample_rules *r,
                                           struct jlog__sample_site *site, uint64_t now)
{
	uint64_t end = atomic_load_explicit(&site->end, memory_order_acquire);
	/* Relaxed: the count is the only data. */
	uint64_t old = atomic_fetch_add_explicit(&site->window, 1, memory_order_relaxed);
	if (JLOG__LIKELY(now < end) && JLOG__LIKELY((uint32_t)old < (1u << 31)))
		return (uint32_t)old + 1;
	return jlog__sample_window_slow(s, r, site, now, old);
}

/* The first N of the interval, then 1 in M: whether the @n-th goes on. */
static inline bool jlog__sample_keep_nth(const struct jlog__sample_rules *r, uint32_t n)
{
	return n <= r->first || (r->thereafter && (n - r->first) % r->thereafter == 0);
}

/* Whether a record of @site stamped @now goes on by @r's sampling (@s as
 * for jlog__sample_window()). */
static inline bool jlog__sample_keep(struct jlog__sampler *s, const struct jlog__sample_rules *r,
                                     struct jlog__sample_site *site, uint64_t now)
{
	return jlog__sample_keep_nth(r, jlog__sample_window(s, r, site, now));
}

/* One try at a token of the bucket whose schedule is *@tat, last read as
 * *@old: 1 taken, 0 refused (none is due), -1 another call changed the
 * schedule meanwhile (*@old is then its new value). Relaxed: the
 * schedule is the only data. */
static inline int jlog__sample_bucket_try(const struct jlog__sample_rules *r,
                                          _Atomic uint64_t *tat, uint64_t now, uint64_t *old)
{
	uint64_t base = *old > now ? *old : now;
	if (base - now > r->tolerance)
		return 0;
	return atomic_compare_exchange_weak_explicit(tat, old, base + r->emission,
	                                             memory_order_relaxed, memory_order_relaxed)
	               ? 1
	               : -1;
}

/* The state of call site @id (sites[0] for records without one). Ids
 * are below JLOG__SAMPLE_SITES; the mask keeps a flagged id
 * (JLOG__CALLSITE_DEFERRED) at its own site, and any other in the table. */
static inline struct jlog__sample_site *jlog__sample_site_for(struct jlog__sampler *s, uint32_t id)
{
	return &s->sites[id & (JLOG__SAMPLE_SITES - 1)];
}

#define JLOG__SAMPLE_COUNT_BITS 56
#define JLOG__SAMPLE_COUNT_MASK ((UINT64_C(1) << JLOG__SAMPLE_COUNT_BITS) - 1)
void jlog__sample_raise_level(struct jlog__sample_site *site, int level);

/* Count a suppressed record of @site at @level. Relaxed: counters; the
 * writer takes the site's with an exchange, so every suppressed record is
 * reported exactly once. The report is at the highest level it counts
 * (WARNING at least: writer.c, report_site()), so that a sink that takes
 * only ERROR sees that ERROR records were suppressed; that level is
 * raised by the first record above it, out of line. */
static inline void jlog__sample_count_out(struct jlog__sample_site *site,
                                          _Atomic uint64_t *sampled_out, int level)
{
	uint64_t old = atomic_fetch_add_explicit(&site->suppressed, 1, memory_order_relaxed);
	if (JLOG__UNLIKELY(old >> JLOG__SAMPLE_COUNT_BITS < (unsigned)level))
		jlog__sample_raise_level(site, level);
	atomic_fetch_add_explicit(sampled_out, 1, memory_order_relaxed);
}

/*
 * jlog__sample_admit() for the log call's branch (hotpath.c), inline for
 * what needs no more than one look: a record above every limit, one that
 * sampling alone decides, and one a rate limit alone lets go at the first
 * try. Returns 1 when the record goes on, 0 when it is suppressed
 * (counted, in its site and *@sampled_out), -1 for every other record:
 * the caller then asks jlog__sample_admit(). @s is the core's sampler.
 */
static inline int jlog__sample_lean(struct jlog__sampler *s, _Atomic uint64_t *sampled_out,
                                    uint32_t id, int level, uint64_t now)
{
	/* Acquire pairs with jlog__sampler_set_rules(). */
	const struct jlog__sample_rules *r = atomic_load_explicit(&s->rules, memory_order_acquire);
	if (JLOG__LIKELY(level <= r->lean_max)) {
		struct jlog__sample_site *site = jlog__sample_site_for(s, id);
		if (jlog__sample_keep(s, r, site, now))
			return 1;
		jlog__sample_count_out(site, sampled_out, level);
		return 0;
	}
	if (level > r->lean_rate_max)
		return level > r->max_level ? 1 : -1;
	/* A refusal or a lost race goes to jlog__sample_admit(), which
	 * tries again and decides (a failed try takes nothing). */
	_Atomic uint64_t *tat = r->per_logger ? &s->bucket.tat : &jlog__sample_site_for(s, id)->tat;
	uint64_t old = atomic_load_explicit(tat, memory_order_relaxed);
	return jlog__sample_bucket_try(r, tat, now, &old) > 0 ? 1 : -1;
}
/* Writer: call @fn for each site with suppressed records not yet
 * reported, taking their counts (@n of them, the highest at @level). */
void jlog__sample_collect(struct jlog__sampler *s,
                          void (*fn)(void *arg, uint32_t id, uint64_t n, int level), void *arg);
/* In a forked child: forget the parent's counts. */
void jlog__sampler_fork_child(struct jlog__sampler *s);

#endif /* JLOG_SAMPLE_H */
