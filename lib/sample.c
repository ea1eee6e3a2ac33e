/*
 * Sampling and rate limits: per call site, "the first N records of each
 * interval, then 1 in M", and token buckets per call site or per logger.
 * Opt-in, and never silent: each suppressed record is counted in
 * jlog_stats.sampled_out and in its call site's state, which the writer
 * reports on the output (writer.c, report_sampled()).
 *
 * Cost when off: nothing on the log path. A logger with a sampler gives
 * its handles a fast_max of 0, so that begin_record()'s existing size
 * check sends every record here first (hotpath.c); without one that
 * branch is never taken for a sampling reason.
 *
 * State: one 32-byte struct jlog__sample_site per call-site id, in one
 * private anonymous mapping with a site for each id callsite.c can hand
 * out (32 MiB of address space). Its pages are the kernel's zero pages
 * until a site on them counts, so memory is bounded by the call sites
 * that log (4 KiB for each 128 ids), and a log call finds its site by
 * index, with no table of chunks to look through and none to install.
 * Counts are exact under any number of threads: each decision is one
 * atomic add on the site's window (interval number and count in one
 * word; see jlog__sample_window()) or a CAS on its bucket's schedule.
 *
 * Time is the records' own stamp (jlog__stamp(): counter ticks or ns);
 * intervals are converted to those units once, when the logger opens.
 */
#include "jlog-private.h"

#include "opt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SITES_BYTES ((size_t)JLOG__SAMPLE_SITES * sizeof(struct jlog__sample_site))
#define MAX_INTERVAL_MS 3600000
/* Intervals and bucket depths saturate here: far beyond any real use,
 * and a schedule of now + this cannot wrap. */
#define MAX_UNITS (UINT64_C(1) << 62)

static uint64_t to_units(double v)
{
	return v >= (double)MAX_UNITS ? MAX_UNITS : v < 1 ? 1 : (uint64_t)v;
}

static int check_level(const char *what, int level)
{
	if (level < 0 || level > 255)
		return jlog__fail(-EINVAL, "jlog_open: %s: %d is out of range 0..255", what, level);
	return 0;
}

/* The bucket's size: a burst of 0 is the rate rounded up. Pair:
 * jlog__sample_to_json(), which shows it. */
static double rate_burst(const jlog_options *o)
{
	return o->rate_burst ? o->rate_burst : ceil(o->rate_per_second);
}

/* How often the writer reports suppressed counts: every sampling interval,
 * or every second for rate limits alone. */
static uint64_t report_ms(const jlog_options *o)
{
	return (uint64_t)(o->sampling ? o->sample_interval_ms : 1000);
}

int jlog__sample_rules_new(const jlog_options *o, struct jlog__sample_rules **out)
{
	*out = NULL;
	bool rate = o->rate_per_second != 0;
	if (!o->sampling && !rate)
		return 0;
	if (o->sampling) {
		if (o->sample_interval_ms < 1 || o->sample_interval_ms > MAX_INTERVAL_MS)
			return jlog__fail(-EINVAL,
			                  "jlog_open: sample_interval_ms: %d is out of range 1..%d",
			                  o->sample_interval_ms, MAX_INTERVAL_MS);
		int rc = check_level("sample_max_level", o->sample_max_level);
		if (rc < 0)
			return rc;
	}
	if (rate) {
		/* !(x >= lo) also refuses NaN. */
		if (!(o->rate_per_second >= 1e-6) || !(o->rate_per_second <= 1e9))
			return jlog__fail(-EINVAL,
			                  "jlog_open: rate_per_second: %g is out of range 0.000001..1e9 "
			                  "(0: no rate limit)",
			                  o->rate_per_second);
		if (o->rate_per != JLOG_RATE_PER_CALLSITE && o->rate_per != JLOG_RATE_PER_LOGGER)
			return jlog__fail(-EINVAL,
			                  "jlog_open: rate_per: %d is not JLOG_RATE_PER_CALLSITE (0) "
			                  "or JLOG_RATE_PER_LOGGER (1)",
			                  o->rate_per);
		int rc = check_level("rate_max_level", o->rate_max_level);
		if (rc < 0)
			return rc;
	}
	struct jlog__sample_rules *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	double per_sec = jlog__clock_units_per_sec();
	s->max_level = -1;
	s->lean_max = INT_MIN;
	s->lean_rate_max = INT_MIN;
	if (o->sampling) {
		s->sampling = true;
		s->first = o->sample_first;
		s->thereafter = o->sample_thereafter;
		s->interval = to_units(per_sec * o->sample_interval_ms / 1000.0);
		s->sample_max = o->sample_max_level;
		uint8_t unused = 0;
		s->base = jlog__stamp(&unused);
		s->max_level = s->sample_max;
	}
	if (rate) {
		s->rate = true;
		s->per_logger = o->rate_per == JLOG_RATE_PER_LOGGER;
		double burst = rate_burst(o);
		s->emission = to_units(per_sec / o->rate_per_second);
		s->tolerance = burst < 2 ? 0 : to_units((double)s->emission * (burst - 1));
		s->rate_max = o->rate_max_level;
		if (s->rate_max > s->max_level)
			s->max_level = s->rate_max;
	}
	/* With a rate limit too, the levels it spares would need a range
	 * check: those records take jlog__sample_admit(). */
	if (s->sampling && !s->rate)
		s->lean_max = s->sample_max;
	if (s->rate && !s->sampling)
		s->lean_rate_max = s->rate_max;
	s->report_ms = report_ms(o);
	*out = s;
	return 0;
}

/* The rules of a sampler that limits nothing: every level is above
 * max_level. Never freed. */
static struct jlog__sample_rules no_rules = {.max_level = -1, .lean_max = INT_MIN,
                                             .lean_rate_max = INT_MIN, .report_ms = 1000};

/* The sites' mapping: reserved, not committed (MAP_NORESERVE), and read
 * as zeroes until written. NULL when the address space is not there
 * (named by jlog__fail()). Pair: jlog__sampler_free(). */
static struct jlog__sample_site *map_sites(void)
{
	void *p = mmap(NULL, SITES_BYTES, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		jlog__fail(-ENOMEM, "jlog_open: sampling: cannot map the call sites' counts "
		                    "(%zu MiB of address space): %s",
		           SITES_BYTES >> 20, strerror(errno));
		return NULL;
	}
	return p;
}

struct jlog__sampler *jlog__sampler_create(struct jlog__sample_rules *r)
{
	struct jlog__sampler *s = calloc(1, sizeof(*s));
	if (s && !(s->sites = map_sites())) {
		free(s);
		s = NULL;
	}
	if (!s) {
		free(r);
		return NULL;
	}
	atomic_init(&s->rules, r ? r : &no_rules);
	s->counted = r && r->sampling ? r : NULL;
	return s;
}

void jlog__sampler_set_rules(struct jlog__sampler *s, struct jlog__sample_rules *r)
{
	/* The sites' windows carry the interval numbers of the rules that
	 * counted in them. New rules number from 0 at their own base, which
	 * would make every window look current, or later, until the new
	 * numbers caught up: for as many intervals as the old rules had run,
	 * a site would keep one window. So the new rules start past the
	 * numbers the old ones reach at the new base (+2: a stamp of another
	 * CPU a little ahead still falls behind). r is not published yet. */
	if (r && r->sampling) {
		if (s->counted)
			r->epoch0 = jlog__sample_epoch(s->counted, r->base) + 2;
		s->counted = r;
	}
	/* Release pairs with the acquire loads of the log calls: they see
	 * the new rules whole. Sequentially consistent, with the loads of
	 * the ends below, for the pair in move_end(). */
	struct jlog__sample_rules *old = atomic_exchange(&s->rules, r ? r : &no_rules);
	if (old != &no_rules) {
		old->retired_next = s->retired;
		s->retired = old;
	}
	/* The sites' ends are the old rules' intervals': forget them, so
	 * that the first call by the new rules numbers its interval and
	 * starts a window. A site with no end is not written, so that a
	 * page no site counted on stays the zero page. */
	uint32_t n = jlog__callsite_limit();
	for (uint32_t i = 0; i < n; i++)
		if (atomic_load(&s->sites[i].end))
			atomic_store(&s->sites[i].end, 0);
}

bool jlog__sampler_on(const struct jlog__sampler *s)
{
	return s && atomic_load_explicit(&((struct jlog__sampler *)s)->rules,
	                                 memory_order_acquire) != &no_rules;
}

int jlog__sampler_new(const jlog_options *o, struct jlog__sampler **out)
{
	*out = NULL;
	struct jlog__sample_rules *r;
	int rc = jlog__sample_rules_new(o, &r);
	if (rc < 0 || !r)
		return rc;
	*out = jlog__sampler_create(r);
	return *out ? 0 : -ENOMEM;
}

void jlog__sampler_free(struct jlog__sampler *s)
{
	if (!s)
		return;
	munmap(s->sites, SITES_BYTES);
	struct jlog__sample_rules *r = atomic_load_explicit(&s->rules, memory_order_relaxed);
	if (r != &no_rules)
		free(r);
	while (s->retired) {
		struct jlog__sample_rules *next = s->retired->retired_next;
		free(s->retired);
		s->retired = next;
	}
	free(s);
}

/* The count a window past JLOG__SAMPLE_WINDOW_HIGH goes back to: below
 * 2^31 and in the same phase of "1 in M" (past the first N, the same
 * remainder), so that cutting it back changes no decision. When no such
 * count fits (N or M near 2^31) the phase is given up: with N that large
 * every record of the interval is among the first, and with M that large
 * one record in M is all but none. */
static uint32_t window_cut(uint32_t c, uint32_t first, uint32_t m)
{
	if (first >= JLOG__SAMPLE_WINDOW_HIGH - 1)
		return JLOG__SAMPLE_WINDOW_HIGH - 2; /* still among the first */
	if (m == 0)
		return first + 1;
	uint64_t cut = (uint64_t)first + 1 + (c - first - 1) % m;
	return cut < (1u << 31) ? (uint32_t)cut : first + 1;
}

/*
 * Move @site's end on to @end, the end of the interval of the window the
 * caller found or started. Only forward: a call that started a window
 * may move it on after a call of the next interval did. Then, should @r
 * no longer be the rules (a change of rules in flight, whose reset of
 * the ends may have run before this), the end is forgotten again. The
 * change stores the rules and then reads the ends, this stores the end
 * and then reads the rules, all sequentially consistent: one of the two
 * sees the other's store. The CAS releases the window before it (pair:
 * the acquire load in jlog__sample_window()).
 */
static void move_end(struct jlog__sampler *s, const struct jlog__sample_rules *r,
                     struct jlog__sample_site *site, uint64_t end)
{
	uint64_t cur = atomic_load_explicit(&site->end, memory_order_relaxed);
	while (cur < end && !atomic_compare_exchange_weak(&site->end, &cur, end))
		;
	if (s && atomic_load(&s->rules) != r)
		atomic_store(&site->end, 0);
}

uint32_t jlog__sample_window_slow(struct jlog__sampler *s, const struct jlog__sample_rules *r,
                                  struct jlog__sample_site *site, uint64_t now, uint64_t old)
{
	/* The interval of the stamp, and the stamp it ends at (saturated:
	 * a schedule never gets near it). */
	uint64_t q = now > r->base ? (now - r->base) / r->interval : 0;
	uint32_t epoch = r->epoch0 + (uint32_t)q;
	uint64_t end = r->base + (q + 1) * r->interval;
	if (end <= now)
		end = UINT64_MAX;
	for (;;) {
		uint32_t we = (uint32_t)(old >> 32);
		if ((int32_t)(we - epoch) < 0) {
			/* An earlier interval's window, with this call's add in
			 * it: start this interval's with the call as its first.
			 * Should another call start it first, the add was lost
			 * with the old window, so the call adds itself again. */
			uint64_t cur = atomic_load_explicit(&site->window, memory_order_relaxed);
			while ((int32_t)((uint32_t)(cur >> 32) - epoch) < 0)
				if (atomic_compare_exchange_weak_explicit(&site->window, &cur,
				                                          (uint64_t)epoch << 32 | 1,
				                                          memory_order_relaxed,
				                                          memory_order_relaxed)) {
					move_end(s, r, site, end);
					return 1;
				}
			old = atomic_fetch_add_explicit(&site->window, 1, memory_order_relaxed);
			continue;
		}
		/* This interval's window or a later one: the add counts there.
		 * In this interval's, the end may be behind (not moved on yet,
		 * or forgotten by a change of rules). */
		if (we == epoch)
			move_end(s, r, site, end);
		uint32_t n = (uint32_t)old + 1;
		if (n >= JLOG__SAMPLE_WINDOW_HIGH) {
			/* Cut the count back before the adds of the calls in
			 * flight can carry into the interval number. */
			uint64_t cur = atomic_load_explicit(&site->window, memory_order_relaxed);
			while ((uint32_t)(cur >> 32) == we && (uint32_t)cur >= JLOG__SAMPLE_WINDOW_HIGH) {
				uint64_t nw = (uint64_t)we << 32 | window_cut((uint32_t)cur, r->first, r->thereafter);
				if (atomic_compare_exchange_weak_explicit(&site->window, &cur, nw,
				                                          memory_order_relaxed,
				                                          memory_order_relaxed))
					break;
			}
		}
		return n;
	}
}

/* Take a token of @b's bucket. */
static bool bucket_take(const struct jlog__sample_rules *s, struct jlog__sample_site *b, uint64_t now)
{
	uint64_t old = atomic_load_explicit(&b->tat, memory_order_relaxed);
	int took;
	while ((took = jlog__sample_bucket_try(s, &b->tat, now, &old)) < 0)
		;
	return took;
}

bool jlog__sample_admit(struct jlog_core *c, uint32_t id, int level, uint64_t now)
{
	/* Never NULL here: jlog_reload_config() publishes a running
	 * logger's first sampler before the handle limits that send calls
	 * here (logger.c, handle_limits(); log_general() checks itself).
	 * Acquire pairs with that release store. */
	struct jlog__sampler *s = __atomic_load_n(&c->sampler, __ATOMIC_ACQUIRE);
	/* Acquire pairs with jlog__sampler_set_rules(). */
	const struct jlog__sample_rules *r = atomic_load_explicit(&s->rules, memory_order_acquire);
	if (level > r->max_level)
		return true;
	struct jlog__sample_site *site = jlog__sample_site_for(s, id);
	if ((r->sampling && level <= r->sample_max && !jlog__sample_keep(s, r, site, now)) ||
	    (r->rate && level <= r->rate_max &&
	     !bucket_take(r, r->per_logger ? &s->bucket : site, now))) {
		jlog__sample_count_out(site, &c->sampled_out, level);
		return false;
	}
	return true;
}

void jlog__sample_raise_level(struct jlog__sample_site *site, int level)
{
	/* Relaxed, as the count: a raise that lands after the writer took
	 * the count raises the next report's level (that report may then
	 * count none: collect_site() skips it). */
	uint64_t cur = atomic_load_explicit(&site->suppressed, memory_order_relaxed);
	while (cur >> JLOG__SAMPLE_COUNT_BITS < (unsigned)level &&
	       !atomic_compare_exchange_weak_explicit(
		       &site->suppressed, &cur,
		       (cur & JLOG__SAMPLE_COUNT_MASK) | (uint64_t)level << JLOG__SAMPLE_COUNT_BITS,
		       memory_order_relaxed, memory_order_relaxed))
		;
}

static void collect_site(struct jlog__sample_site *site, uint32_t id,
                         void (*fn)(void *arg, uint32_t id, uint64_t n, int level), void *arg)
{
	/* Relaxed load first: most sites have nothing, and a plain read
	 * does not dirty their line. */
	if (!atomic_load_explicit(&site->suppressed, memory_order_relaxed))
		return;
	uint64_t w = atomic_exchange_explicit(&site->suppressed, 0, memory_order_relaxed);
	if (w & JLOG__SAMPLE_COUNT_MASK)
		fn(arg, id, w & JLOG__SAMPLE_COUNT_MASK, (int)(w >> JLOG__SAMPLE_COUNT_BITS));
}

void jlog__sample_collect(struct jlog__sampler *s,
                          void (*fn)(void *arg, uint32_t id, uint64_t n, int level), void *arg)
{
	/* A site counts only after its id was handed out; one counted
	 * after this look is reported by the next. */
	uint32_t n = jlog__callsite_limit();
	for (uint32_t i = 0; i < n; i++)
		collect_site(&s->sites[i], i, fn, arg);
}

void jlog__sampler_fork_child(struct jlog__sampler *s)
{
	if (!s)
		return;
	/* Only this thread runs. A site with nothing is not written, so
	 * that its page stays the zero page. */
	uint32_t n = jlog__callsite_limit();
	for (uint32_t i = 0; i < n; i++)
		if (atomic_load_explicit(&s->sites[i].suppressed, memory_order_relaxed))
			atomic_store_explicit(&s->sites[i].suppressed, 0, memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

static int cfg_uint(const json_t *v, const char *path, unsigned *out, char *err, size_t errlen)
{
	long long n = 0;
	int rc = jlog__cfg_int(v, path, 0, UINT32_MAX, &n, err, errlen);
	if (rc == 0)
		*out = (unsigned)n;
	return rc;
}

static int cfg_sampling(const json_t *v, jlog_options *o, char *err, size_t errlen)
{
	const char *key;
	json_t *f;
	o->sampling = true;
	json_object_foreach((json_t *)v, key, f) {
		char path[96];
		snprintf(path, sizeof(path), "sampling.%.60s", key);
		long long n = 0;
		int rc;
		if (strcmp(key, "first") == 0) {
			rc = cfg_uint(f, path, &o->sample_first, err, errlen);
		} else if (strcmp(key, "thereafter") == 0) {
			rc = cfg_uint(f, path, &o->sample_thereafter, err, errlen);
		} else if (strcmp(key, "interval_ms") == 0) {
			rc = jlog__cfg_int(f, path, 1, MAX_INTERVAL_MS, &n, err, errlen);
			o->sample_interval_ms = (int)n;
		} else if (strcmp(key, "max_level") == 0) {
			rc = jlog__cfg_level(f, path, &o->sample_max_level, err, errlen);
		} else {
			rc = jlog__cfg_fail(err, errlen, path,
			                    "unknown key (first, thereafter, interval_ms, max_level)");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int cfg_rate(const json_t *v, jlog_options *o, char *err, size_t errlen)
{
	const char *key;
	json_t *f;
	if (!json_object_get(v, "per_second"))
		return jlog__cfg_fail(err, errlen, "rate_limit", "\"per_second\" is required");
	json_object_foreach((json_t *)v, key, f) {
		char path[96];
		snprintf(path, sizeof(path), "rate_limit.%.60s", key);
		int rc = 0;
		if (strcmp(key, "per_second") == 0) {
			double d = json_number_value(f);
			if (!json_is_number(f))
				rc = jlog__cfg_fail(err, errlen, path, "expected a number, got %s",
				                    jlog__cfg_type_name(f));
			else if (!(d >= 1e-6 && d <= 1e9))
				rc = jlog__cfg_fail(err, errlen, path,
				                    "%g is out of range 0.000001..1e9", d);
			else
				o->rate_per_second = d;
		} else if (strcmp(key, "burst") == 0) {
			rc = cfg_uint(f, path, &o->rate_burst, err, errlen);
			if (rc == 0 && o->rate_burst == 0)
				rc = jlog__cfg_fail(err, errlen, path, "must be at least 1");
		} else if (strcmp(key, "per") == 0) {
			const char *s = NULL;
			rc = jlog__cfg_string(f, path, &s, err, errlen);
			if (rc == 0 && strcmp(s, "callsite") == 0)
				o->rate_per = JLOG_RATE_PER_CALLSITE;
			else if (rc == 0 && strcmp(s, "logger") == 0)
				o->rate_per = JLOG_RATE_PER_LOGGER;
			else if (rc == 0)
				rc = jlog__cfg_fail(err, errlen, path,
				                    "expected \"callsite\" or \"logger\", got \"%s\"", s);
		} else if (strcmp(key, "max_level") == 0) {
			rc = jlog__cfg_level(f, path, &o->rate_max_level, err, errlen);
		} else {
			rc = jlog__cfg_fail(err, errlen, path,
			                    "unknown key (per_second, burst, per, max_level)");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int jlog__cfg_sampling(const char *key, const json_t *v, struct jlog_options *o, char *err,
                       size_t errlen)
{
	if (!json_is_object(v))
		return jlog__cfg_fail(err, errlen, key, "expected an object, got %s",
		                      jlog__cfg_type_name(v));
	return strcmp(key, "sampling") == 0 ? cfg_sampling(v, o, err, errlen)
	                                    : cfg_rate(v, o, err, errlen);
}

json_t *jlog__sample_to_json(const char *key, const struct jlog_options *o,
                             json_t *(*level_json)(int level, const json_t *levels),
                             const json_t *levels)
{
	json_t *j;
	if (strcmp(key, "sampling") == 0) {
		if (!o->sampling || !(j = json_object()))
			return json_null();
		json_object_set_new(j, "first", json_integer(o->sample_first));
		json_object_set_new(j, "thereafter", json_integer(o->sample_thereafter));
		json_object_set_new(j, "interval_ms", json_integer(o->sample_interval_ms));
		json_object_set_new(j, "max_level", level_json(o->sample_max_level, levels));
		return j;
	}
	if (o->rate_per_second <= 0 || !(j = json_object()))
		return json_null();
	json_object_set_new(j, "per_second", json_real(o->rate_per_second));
	json_object_set_new(j, "burst", json_integer((json_int_t)rate_burst(o)));
	json_object_set_new(j, "per", json_string(o->rate_per == JLOG_RATE_PER_LOGGER ? "logger"
	                                                                               : "callsite"));
	json_object_set_new(j, "max_level", level_json(o->rate_max_level, levels));
	json_object_set_new(j, "report_interval_ms", json_integer((json_int_t)report_ms(o)));
	return j;
}
