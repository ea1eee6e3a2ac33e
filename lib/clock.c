/*
 * Record timestamps: the CPU's time-stamp counter on the hot path,
 * converted to wall-clock time when the record is decoded.
 *
 * Why: reading CLOCK_REALTIME through the vDSO costs about 16 ns and 16
 * instructions per log call on the machines jlog is measured on (the
 * seqlock of the kernel's time data, a call, the scaling); RDTSC costs
 * about 7 ns and three instructions. The conversion, a multiply and an
 * add, moves to the writer, which decodes each record anyway.
 *
 * When: on x86-64 when the counter is invariant (CPUID 0x80000007 EDX
 * bit 8: constant rate, runs in every C-state, the same on every CPU)
 * and the kernel itself keeps time with it (its clocksource is "tsc", so
 * it found the counters synchronized and stable). Anywhere else, and with
 * JLOG_CLOCK=realtime in the environment, records carry CLOCK_REALTIME
 * nanoseconds as before. Records say which they carry (JLOG__REC_TICKS),
 * so both kinds can sit in one ring.
 *
 * Conversion: ns = anchor.real_ns + (ticks - anchor.tsc) * ns_per_tick.
 * An anchor is a (counter, CLOCK_REALTIME) pair read back to back; the
 * rate is measured against CLOCK_MONOTONIC from the process's first
 * anchor (base) to the latest. The error of a converted time is about
 * the anchor's own read-out jitter (tens of ns) times |ticks - anchor| /
 * (anchor - base), which stays below 1 while records are younger than the
 * process's clock base; anchors are renewed when a record is more than
 * 1 ms past the current one, so a clock step (settimeofday) reaches the
 * output within a millisecond of log time. The anchor lives in a seqlock
 * that any thread, a signal handler included, can read without waiting.
 */
#include "jlog-private.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

bool jlog__clock_tsc;

#if defined(__x86_64__)

/* The rate needs this much of CLOCK_MONOTONIC between the base and an
 * anchor: at 50 us and ~20 ns of read-out jitter the rate is within
 * 4e-4, and records converted then are at most 50 us from the anchor. */
#define MIN_BASE_NS 50000u
/* Anchors are renewed past this age (in ns of record time). */
#define ANCHOR_AGE_NS 1000000u
/* How far before its anchor a writer's copy converts records without
 * the clamps (jlog__clock_cache_miss()): a week. */
#define CACHE_BACK_NS 6.048e14

struct anchor {
	uint64_t tsc;
	uint64_t real_ns;
	uint64_t mono_ns;
	double ns_per_tick;
};

/* The process's base: the first anchor (read-only once set). */
static struct anchor base;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

/* The current anchor under a seqlock: seq is odd while a writer is in the
 * middle; every field is an atomic so readers racing a writer are
 * well-defined (and TSan agrees). */
static _Atomic uint32_t cur_seq;
static _Atomic uint64_t cur_tsc, cur_real, cur_rate_bits, cur_limit;
static atomic_flag cur_busy = ATOMIC_FLAG_INIT;

/* Read the counter and both clocks, keeping the tightest of three tries
 * (an interrupt between the reads widens one). */
static void read_pair(struct anchor *a)
{
	uint64_t best = UINT64_MAX;
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 3; i++) {
		struct timespec r, m;
		uint64_t t1 = __builtin_ia32_rdtsc();
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m);
		uint64_t t2 = __builtin_ia32_rdtsc();
		if (t2 - t1 < best) {
			best = t2 - t1;
			a->tsc = t1 + (t2 - t1) / 2;
			a->real_ns = jlog__ts_ns(&r);
			a->mono_ns = jlog__ts_ns(&m);
		}
	}
}

/* A fresh anchor with its rate measured from the base. Spins at most
 * MIN_BASE_NS, once per process, when called right after the base. */
static void take_anchor(struct anchor *a)
{
	for (;;) {
		read_pair(a);
		if (a->mono_ns - base.mono_ns >= MIN_BASE_NS)
			break;
	}
	uint64_t dt = a->tsc - base.tsc;
	/* A counter that went backwards or stood still (it should not, on
	 * the machines this is enabled on): one tick per ns keeps times
	 * near now rather than far off. */
	a->ns_per_tick = (int64_t)dt > 0 ? (double)(a->mono_ns - base.mono_ns) / (double)dt : 1.0;
}

static bool counter_invariant(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return false;
	__get_cpuid(0x80000007u, &a, &b, &c, &d);
	return (d >> 8) & 1;
}

static bool kernel_uses_tsc(void)
{
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
	              O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == 4 && memcmp(buf, "tsc\n", 4) == 0;
}

bool jlog__clock_choose_tsc(const char *env)
{
	if (env && strcmp(env, "realtime") == 0)
		return false;
	return counter_invariant() && kernel_uses_tsc();
}

static void clock_init(void)
{
	if (!jlog__clock_choose_tsc(getenv("JLOG_CLOCK")))
		return;
	read_pair(&base);
	jlog__clock_tsc = true;
}

void jlog__clock_init(void)
{
	pthread_once(&clock_once, clock_init);
}

static bool load_anchor(struct anchor *a, uint64_t *limit)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t s1 = atomic_load_explicit(&cur_seq, memory_order_acquire);
		if (s1 == 0)
			return false; /* none yet */
		if (s1 & 1)
			continue;
		a->tsc = atomic_load_explicit(&cur_tsc, memory_order_relaxed);
		a->real_ns = atomic_load_explicit(&cur_real, memory_order_relaxed);
		uint64_t bits = atomic_load_explicit(&cur_rate_bits, memory_order_relaxed);
		*limit = atomic_load_explicit(&cur_limit, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&cur_seq, memory_order_relaxed) == s1) {
			memcpy(&a->ns_per_tick, &bits, sizeof(bits));
			return true;
		}
	}
	/* A writer interrupted in the middle (this is its own signal
	 * handler): the caller takes an anchor of its own. */
	return false;
}

static void publish_anchor(const struct anchor *a, uint64_t limit)
{
	/* One publisher at a time; a busy one means a fresh anchor is on
	 * its way, so this one need not be shared. */
	if (atomic_flag_test_and_set_explicit(&cur_busy, memory_order_acquire))
		return;
	uint64_t bits;
	memcpy(&bits, &a->ns_per_tick, sizeof(bits));
	uint32_t s = atomic_load_explicit(&cur_seq, memory_order_relaxed);
	atomic_store_explicit(&cur_seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&cur_tsc, a->tsc, memory_order_relaxed);
	atomic_store_explicit(&cur_real, a->real_ns, memory_order_relaxed);
	atomic_store_explicit(&cur_rate_bits, bits, memory_order_relaxed);
	atomic_store_explicit(&cur_limit, limit, memory_order_relaxed);
	/* Odd to even, never back to 0 (0 = no anchor yet). */
	atomic_store_explicit(&cur_seq, s + 2 ? s + 2 : 2, memory_order_release);
	atomic_flag_clear_explicit(&cur_busy, memory_order_release);
}

void jlog__clock_fork_child(void)
{
	/* Only this thread runs: no reader or publisher to race. */
	atomic_store_explicit(&cur_seq, 0, memory_order_relaxed);
	atomic_flag_clear_explicit(&cur_busy, memory_order_relaxed);
}

/* @ticks as wall-clock ns by anchor @a. */
static inline uint64_t convert(const struct anchor *a, uint64_t ticks)
{
	double d = (double)(int64_t)(ticks - a->tsc) * a->ns_per_tick;
	/* Clamp what only a corrupt record can reach: the result stays
	 * within [0, 2^63]. */
	if (JLOG__UNLIKELY(d <= -(double)a->real_ns))
		return 0;
	if (JLOG__UNLIKELY(d >= 9.2e18 - (double)a->real_ns))
		return UINT64_C(9200000000000000000);
	return d < 0 ? a->real_ns - (uint64_t)(-d) : a->real_ns + (uint64_t)d;
}

/* The ticks of @ns at @a's rate, for an anchor's age and a cache's
 * bounds. */
static uint64_t ticks_of(const struct anchor *a, double ns)
{
	double t = ns / a->ns_per_tick;
	return t < 9e18 ? (uint64_t)t : UINT64_C(9000000000000000000);
}

/* A new anchor in *a, shared, and the ticks it is good for. */
static uint64_t renew_anchor(struct anchor *a)
{
	take_anchor(a);
	uint64_t limit = ticks_of(a, ANCHOR_AGE_NS);
	publish_anchor(a, limit);
	return limit;
}

/* No anchor yet, or @ticks is past the current one's age: a new one.
 * Out of line, so the common path saves no registers for it (67 -> 48
 * instructions per record on the writer; callgrind, jlog-hotpath). */
static __attribute__((noinline)) uint64_t convert_renewing(uint64_t ticks)
{
	struct anchor a;
	renew_anchor(&a);
	return convert(&a, ticks);
}

uint64_t jlog__clock_ticks_to_ns(uint64_t ticks)
{
	if (!jlog__clock_tsc) {
		/* Ticks without a calibrated counter: a record from another
		 * process or a corrupt one. The time of decoding is the best
		 * there is. */
		return jlog__now_ns();
	}
	struct anchor a;
	uint64_t limit;
	if (JLOG__UNLIKELY(!load_anchor(&a, &limit)) || (int64_t)(ticks - a.tsc) > (int64_t)limit)
		return convert_renewing(ticks);
	return convert(&a, ticks);
}

/* The cache's copy does not cover @ticks (or is empty). A record past its
 * age takes the shared anchor if that covers it, else a new one, as
 * jlog__clock_ticks_to_ns() does; an older one than the copy covers is
 * converted by it with the clamps. Out of line, as convert_renewing() is. */
uint64_t jlog__clock_cache_miss(struct jlog__clock_cache *cc, uint64_t ticks)
{
	if (!jlog__clock_tsc)
		return jlog__now_ns();
	struct anchor a = {.tsc = cc->tsc, .real_ns = cc->real_ns, .ns_per_tick = cc->ns_per_tick};
	if (cc->span && (int64_t)(ticks - cc->tsc) < 0)
		return convert(&a, ticks);
	uint64_t limit;
	if (!load_anchor(&a, &limit) || (int64_t)(ticks - a.tsc) > (int64_t)limit)
		limit = renew_anchor(&a);
	/* Back as far as a third of the anchor's own time, and no more than
	 * CACHE_BACK_NS: the fast path's sum then neither wraps nor needs
	 * convert()'s clamps. */
	double back_ns = (double)a.real_ns / 3 < CACHE_BACK_NS ? (double)a.real_ns / 3 : CACHE_BACK_NS;
	uint64_t back = ticks_of(&a, back_ns);
	*cc = (struct jlog__clock_cache){.tsc = a.tsc, .real_ns = a.real_ns, .back = back,
	                                 .span = back + limit + 1, .ns_per_tick = a.ns_per_tick};
	return convert(&a, ticks);
}

double jlog__clock_units_per_sec(void)
{
	if (!jlog__clock_tsc)
		return 1e9;
	struct anchor a;
	take_anchor(&a);
	return 1e9 / a.ns_per_tick;
}

#else /* !__x86_64__ */

double jlog__clock_units_per_sec(void)
{
	return 1e9;
}

bool jlog__clock_choose_tsc(const char *env)
{
	(void)env;
	return false;
}

void jlog__clock_init(void)
{
}

void jlog__clock_fork_child(void)
{
}

uint64_t jlog__clock_ticks_to_ns(uint64_t ticks)
{
	(void)ticks;
	return jlog__now_ns();
}

uint64_t jlog__clock_cache_miss(struct jlog__clock_cache *cc, uint64_t ticks)
{
	(void)cc;
	(void)ticks;
	return jlog__now_ns();
}

#endif
