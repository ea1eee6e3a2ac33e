/*
 * The clock (clock.c): the time a log call stamps on its record. A part of
 * jlog-private.h, which includes the parts in the order of the data flow:
 * include that, not this.
 */
#ifndef JLOG_CLOCK_H
#define JLOG_CLOCK_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* A timespec as ns. */
static inline uint64_t jlog__ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Wall-clock time now. CLOCK_REALTIME is read through the vDSO: no
 * system call, about 16 ns here. */
static inline uint64_t jlog__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return jlog__ts_ns(&ts);
}

/* True once jlog__clock_init() found an invariant time-stamp counter the
 * kernel keeps time with (clock.c); producers then stamp records with it.
 * Set before the first logger opens and never changed after, so a plain
 * read is race-free: every producer holds a logger opened after it. */
extern bool jlog__clock_tsc;
/* Decide the clock (once per process; any thread). */
void jlog__clock_init(void);
/* In a forked child: forget an anchor another thread of the parent may
 * have been publishing at the fork. */
void jlog__clock_fork_child(void);
/* Whether this machine's counter qualifies, given the value of JLOG_CLOCK
 * (NULL when unset; "realtime" refuses it). */
bool jlog__clock_choose_tsc(const char *env);
/* Wall-clock ns of a counter reading (a JLOG__REC_TICKS record's time).
 * Async-signal-safe; any thread. */
uint64_t jlog__clock_ticks_to_ns(uint64_t ticks);
/* A copy of the shared anchor kept by one thread (the writer's decode), so
 * that a record near it converts without the seqlock, the call and the
 * clamps of jlog__clock_ticks_to_ns(): a record between @back ticks before
 * the anchor and its age after it needs neither (its time is within a few
 * days of the anchor's). Renewed, from the shared anchor or a new one,
 * when a record is past its age. Zeroed: empty (span 0 lets nothing by).
 * Pair: jlog__clock_cache_miss() in clock.c. */
struct jlog__clock_cache {
	uint64_t tsc;
	uint64_t real_ns;
	uint64_t back; /* ticks before tsc it converts */
	uint64_t span; /* back + its age in ticks + 1 */
	double ns_per_tick;
};
uint64_t jlog__clock_cache_miss(struct jlog__clock_cache *cc, uint64_t ticks);
/* jlog__clock_ticks_to_ns() through @cc, which only this thread uses. */
static inline uint64_t jlog__clock_ticks_to_ns_cached(struct jlog__clock_cache *cc,
                                                      uint64_t ticks)
{
	int64_t dt = (int64_t)(ticks - cc->tsc);
	/* One compare for both ends: dt in [-back, age]. */
	if (JLOG__LIKELY((uint64_t)dt + cc->back < cc->span))
		return cc->real_ns + (uint64_t)(int64_t)((double)dt * cc->ns_per_tick);
	return jlog__clock_cache_miss(cc, ticks);
}

/* How many units of jlog__stamp() make a second: counter ticks (as
 * measured now), or 1e9 (ns). For intervals converted once, when a
 * logger opens, so that the log path compares stamps without converting
 * them. */
double jlog__clock_units_per_sec(void);

/* A record's timestamp: the time-stamp counter when calibrated (3
 * instructions and about 7 ns instead of 16 for clock_gettime(); burst
 * p50 43 -> 35 ns in jlog-bench), else CLOCK_REALTIME ns. Adds
 * JLOG__REC_TICKS to *flags for the former. */
static inline uint64_t jlog__stamp(uint8_t *flags)
{
#if defined(__x86_64__)
	if (JLOG__LIKELY(jlog__clock_tsc)) {
		*flags |= JLOG__REC_TICKS;
		return __builtin_ia32_rdtsc();
	}
#endif
	(void)flags;
	return jlog__now_ns();
}

#endif
