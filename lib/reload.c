/*
 * jlog_reload_config(): a changed document applied to a running logger.
 *
 * What changes: reload compares the new document's view (the effective
 * configuration, jlog__cfg_view()) with the last one applied, key by key.
 * A top-level key that differs must have an entry in live_keys below,
 * which says how the running logger takes it; a key without one (ring
 * size, record size, overflow policy, name...) cannot change on a running
 * logger, and the document is refused, naming it. "sinks" is matched sink
 * by sink: a sink whose whole view is equal to one the last document made
 * is kept (its open file or connection with it); any other is opened new;
 * one the new document no longer has is written up to the switch, then
 * closed. Sinks added with jlog_add_sink() are not the document's and
 * stay.
 *
 * How: everything that can fail (parsing, opening sinks, compiling rules)
 * happens first, on the calling thread; a failure frees it and changes
 * nothing. Then, under core->lock, the settings of the log calls change
 * (levels, module levels, sampling: the entries' caller step); the request
 * is published and the ring head P taken (reload_locked() says why in
 * that order); the writer, which formats no record at or past P before,
 * makes the changes of the writer's side (sinks, redaction, flush interval:
 * the writer step) between batches at P (writer.c, drain() and its loop),
 * and the caller then frees what was replaced. So every record reserved
 * before P is formatted with the old sinks and rules and every later one
 * with the new: none is lost or written twice by a sink that stays.
 *
 * The SIGHUP hook (reopen.c) only sets reload_file_req and kicks the ring;
 * the writer runs the same reload itself, from the file the logger was
 * opened from, at its own position, and reports a failure on stderr.
 */
#include "jlog-private.h"

#include "config.h"
#include "opt.h"
#include "redact.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many times the writer tries core->lock for a SIGHUP reload before
 * leaving it for its next round (it never waits for an application
 * thread: writer.c says why). */
#define LOCK_TRIES 1000

/* The last document applied to a core (guarded by sinks_lock). */
struct jlog__cfg_state {
	json_t *view;           /* jlog__cfg_view() of it */
	int ids[MAX_SINKS];     /* the sink made for view.sinks[i] */
	size_t nsinks;
	char *path;             /* the file it came from, NULL for JSON text */
	bool env;               /* the environment's overrides apply */
};

/* One reload, from its preparation to its release. */
struct jlog__reload {
	/* The ring head once the request is published (ready then): records
	 * before it are written with the old settings. */
	_Atomic uint64_t pos;
	_Atomic bool ready;
	const struct jlog__cfg *p;       /* the new document, parsed */
	json_t *view;                    /* its view */
	uint32_t changed;                /* bit i: live_keys[i] differs */
	struct jlog__sink_set *set, *old_set;
	struct jlog_sink *use[MAX_SINKS];   /* view.sinks[i]'s sink, kept or fresh */
	int ids[MAX_SINKS];                 /* their ids, once the change is made */
	size_t nuse;
	struct jlog_sink *fresh[MAX_SINKS]; /* opened for this document */
	size_t nfresh;
	struct jlog_sink *gone[MAX_SINKS];  /* the last document's, not in this one */
	size_t ngone;
	/* The entries' new values; after the swap, the replaced ones. */
	struct jlog__redact *redact;
	struct jlog__sample_rules *rules;
	struct jlog__sampler *sampler; /* a first sampler, for a logger without */
	struct jlog__module_level *modules;
	size_t nmodules;
	int flush_interval_ms;
	int stats_interval_ms;
};

/* ------------------------------------------------------------------------ */
/* What reload swaps: one entry per top-level key a running logger takes    */
/* ------------------------------------------------------------------------ */

static int prep_modules(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen)
{
	(void)c;
	const struct jlog__cfg *p = r->p;
	r->modules = calloc(p->nmodules ? p->nmodules : 1, sizeof(*r->modules));
	if (!r->modules)
		return jlog__cfg_fail(err, errlen, "modules", "out of memory");
	for (size_t i = 0; i < p->nmodules; i++) {
		char *prefix = strdup(p->modules[i].prefix);
		if (!prefix)
			return jlog__cfg_fail(err, errlen, "modules", "out of memory");
		r->modules[r->nmodules++] =
			(struct jlog__module_level){prefix, strlen(prefix), p->modules[i].level};
	}
	return 0;
}

static void swap_modules(struct jlog_core *c, struct jlog__reload *r)
{
	struct jlog__module_level *m = c->modules;
	size_t n = c->nmodules;
	c->modules = r->modules;
	c->nmodules = r->nmodules;
	r->modules = m;
	r->nmodules = n;
}

static void free_modules(struct jlog__reload *r)
{
	for (size_t i = 0; i < r->nmodules; i++)
		free(r->modules[i].prefix);
	free(r->modules);
	r->modules = NULL;
	r->nmodules = 0;
}

static void set_level(struct jlog_core *c, struct jlog__reload *r)
{
	c->root_level = r->p->opts.level;
}

static int prep_redact(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen)
{
	jlog__set_last_error("%s", "");
	int rc = jlog__redact_compile(r->p->opts.redact, "redact", &r->redact);
	if (rc == 0)
		rc = jlog__redact_crash_reserve(r->redact, c->max_record_size);
	if (rc < 0)
		jlog__cfg_fail(err, errlen, "", "%s",
		               *jlog_last_error() ? jlog_last_error() : jlog_strerror(rc));
	return rc;
}

static void swap_redact(struct jlog_core *c, struct jlog__reload *r)
{
	struct jlog__redact *old = c->redact;
	c->redact = r->redact;
	r->redact = old;
}

static void free_redact(struct jlog__reload *r)
{
	jlog__redact_free(r->redact);
	r->redact = NULL;
}

static int prep_sampling(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen)
{
	int rc = jlog__sample_rules_new(&r->p->opts, &r->rules);
	if (rc == 0 && r->rules && !c->sampler && !(r->sampler = jlog__sampler_create(NULL)))
		rc = -ENOMEM;
	if (rc < 0)
		jlog__cfg_fail(err, errlen, "sampling", "%s", jlog_strerror(rc));
	return rc;
}

static void swap_sampling(struct jlog_core *c, struct jlog__reload *r)
{
	if (r->sampler) {
		/* Release pairs with the acquire loads of the log path
		 * (hotpath.c, sample.c): the sampler is seen whole. */
		__atomic_store_n(&c->sampler, r->sampler, __ATOMIC_RELEASE);
		r->sampler = NULL;
	}
	if (c->sampler) {
		jlog__sampler_set_rules(c->sampler, r->rules);
		r->rules = NULL;
	}
}

static void free_sampling(struct jlog__reload *r)
{
	free(r->rules);
	r->rules = NULL;
	jlog__sampler_free(r->sampler);
	r->sampler = NULL;
}

/* Both intervals are plain numbers of the document: taken together, each
 * key's writer step applies its own. */
static int prep_intervals(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	r->flush_interval_ms = r->p->opts.flush_interval_ms;
	r->stats_interval_ms = r->p->opts.stats_interval_ms;
	return 0;
}

static void set_flush(struct jlog_core *c, struct jlog__reload *r)
{
	c->flush_interval_ms = r->flush_interval_ms;
}

/* The periodic stats record (metrics.c) is the writer's own: the next one
 * is due a whole new interval from the switch. */
static void set_stats(struct jlog_core *c, struct jlog__reload *r)
{
	c->stats_interval_ms = r->stats_interval_ms;
	c->stats_next_ms = jlog__ms_now() + (uint64_t)r->stats_interval_ms;
}

/* The document's custom levels, added process-wide as jlog_open_config()
 * adds them (a level is never taken away: records may name it). Last of
 * the preparations, when nothing else can fail. */
static int prep_levels(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen)
{
	(void)c;
	size_t i;
	const json_t *l;
	json_array_foreach((json_t *)r->p->levels, i, l) {
		int rc = jlog_level_add(json_string_value(json_object_get(l, "name")),
		                        (int)json_integer_value(json_object_get(l, "no")),
		                        json_string_value(json_object_get(l, "color")));
		if (rc < 0) {
			char path[32];
			snprintf(path, sizeof(path), "levels[%zu]", i);
			return jlog__cfg_fail(err, errlen, path, "%s", jlog_last_error());
		}
	}
	return 0;
}

/*
 * The top-level keys a running logger takes when a document changes them.
 * prepare: on the calling thread, before anything changes; may fail.
 * caller: with core->lock held, before the ring position is taken (the
 *   settings of log calls: they apply to calls that begin after it).
 * writer: on the writer thread at that position (what formats records).
 * release: after the change, free what it replaced; after a failure, what
 *   prepare made.
 * An entry without functions changes nothing at the logger level (the
 * sinks' defaults: a sink they change has another view and is replaced).
 * A key of the view that is not here cannot change on a running logger.
 */
struct live_key {
	const char *key;
	int (*prepare)(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen);
	void (*caller)(struct jlog_core *c, struct jlog__reload *r);
	void (*writer)(struct jlog_core *c, struct jlog__reload *r);
	void (*release)(struct jlog__reload *r);
};

static const struct live_key live_keys[] = {
	{"level", NULL, set_level, NULL, NULL},
	{"modules", prep_modules, swap_modules, NULL, free_modules},
	{"redact", prep_redact, NULL, swap_redact, free_redact},
	/* One sampler decides by both. */
	{"sampling", prep_sampling, swap_sampling, NULL, free_sampling},
	{"rate_limit", prep_sampling, swap_sampling, NULL, free_sampling},
	{"flush_interval_ms", prep_intervals, NULL, set_flush, NULL},
	{"stats_interval_ms", prep_intervals, NULL, set_stats, NULL},
	{"file_mode", NULL, NULL, NULL, NULL},
	{"allow_symlink", NULL, NULL, NULL, NULL},
	{"levels", prep_levels, NULL, NULL, NULL}, /* last: it cannot be undone */
};
#define NLIVE (sizeof(live_keys) / sizeof(live_keys[0]))

/* Entry @i runs its functions: it changed, and it is not the second key of
 * an entry pair that the first one ran already (sampling, rate_limit). */
static bool runs(const struct jlog__reload *r, size_t i)
{
	if (!(r->changed & (1u << i)))
		return false;
	for (size_t j = 0; j < i; j++)
		if ((r->changed & (1u << j)) && live_keys[j].prepare == live_keys[i].prepare &&
		    live_keys[i].prepare)
			return false;
	return true;
}

/* A value for a message: compact JSON, cut to fit. */
static void show(const json_t *v, char *out, size_t len)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	snprintf(out, len, "%s", s ? s : "absent");
	if (s && strlen(s) >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
	free(s);
}

/* Which live keys differ between @old and r->view; -EINVAL naming the
 * first key that differs and cannot change. */
static int compare(const json_t *old, struct jlog__reload *r, char *err, size_t errlen)
{
	const json_t *views[2] = {old, r->view};
	for (int side = 0; side < 2; side++) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)views[side], key, v) {
			if (strcmp(key, "sinks") == 0)
				continue;
			const json_t *was = json_object_get(old, key), *now = json_object_get(r->view, key);
			if (was && now && json_equal((json_t *)was, (json_t *)now))
				continue;
			size_t i = 0;
			while (i < NLIVE && strcmp(live_keys[i].key, key) != 0)
				i++;
			if (i < NLIVE) {
				r->changed |= 1u << i;
				continue;
			}
			char a[64], b[64];
			show(was, a, sizeof(a));
			show(now, b, sizeof(b));
			return jlog__cfg_fail(err, errlen, key,
			                      "cannot change on a running logger (%s, now %s); "
			                      "close and open the logger to apply it",
			                      a, b);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Sinks                                                                    */
/* ------------------------------------------------------------------------ */

static struct jlog_sink *sink_by_id(const struct jlog__sink_set *set, int id)
{
	for (unsigned i = 0; set && i < set->n; i++)
		if (set->s[i]->id == id)
			return set->s[i];
	return NULL;
}

/* Whether @s is one of the last document's sinks. */
static bool managed(const struct jlog__cfg_state *st, const struct jlog_sink *s)
{
	for (size_t j = 0; j < st->nsinks; j++)
		if (st->ids[j] == s->id)
			return true;
	return false;
}

/* The new sink set: the sinks jlog_add_sink() added, then the document's,
 * kept or opened now. 0, or an error naming the sink ("sinks[1]: ..."). */
static int prep_sinks(struct jlog_core *c, const struct jlog__cfg_state *st,
                      struct jlog__reload *r, char *err, size_t errlen)
{
	const json_t *was = json_object_get(st->view, "sinks"), *now = json_object_get(r->view, "sinks");
	size_t n = json_array_size(now);
	bool taken[MAX_SINKS] = {false};
	struct jlog_sink **use = r->use;
	r->nuse = n;
	struct jlog__sink_set *cur = atomic_load_explicit(&c->sinks, memory_order_relaxed);
	r->old_set = cur;
	for (size_t i = 0; i < n; i++) {
		use[i] = NULL;
		for (size_t j = 0; j < st->nsinks && !use[i]; j++) {
			struct jlog_sink *s = sink_by_id(cur, st->ids[j]);
			if (!taken[j] && s && json_equal(json_array_get(was, j), json_array_get(now, i))) {
				taken[j] = true;
				use[i] = s;
			}
		}
		if (use[i])
			continue;
		jlog_sink_options def;
		const jlog_sink_options *so = &r->p->sinks[i];
		if (r->p->nsinks == 0) {
			jlog__cfg_default_sink(r->p, &def);
			so = &def;
		}
		jlog__set_last_error("%s", "");
		struct jlog_sink *s;
		int rc = jlog__sink_create_opts(&s, so);
		if (rc == 0 && jlog__redact_crash_reserve(s->redact, c->max_record_size) < 0) {
			jlog__sink_destroy(s);
			rc = -ENOMEM;
		}
		if (rc < 0)
			return jlog__cfg_sink_fail(err, errlen, i, rc);
		s->id = -1; /* given when the change is made */
		r->fresh[r->nfresh++] = s;
		use[i] = s;
	}
	for (size_t j = 0; j < st->nsinks; j++) {
		struct jlog_sink *s = sink_by_id(cur, st->ids[j]);
		if (!taken[j] && s)
			r->gone[r->ngone++] = s;
	}
	unsigned kept = 0;
	for (unsigned i = 0; cur && i < cur->n; i++)
		kept += !managed(st, cur->s[i]);
	r->set = jlog__sink_set_new(kept + (unsigned)n);
	if (!r->set)
		return jlog__cfg_fail(err, errlen, "sinks", "out of memory");
	unsigned k = 0;
	for (unsigned i = 0; cur && i < cur->n; i++)
		if (!managed(st, cur->s[i]))
			r->set->s[k++] = cur->s[i];
	for (size_t i = 0; i < n; i++)
		r->set->s[k++] = use[i];
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The reload                                                               */
/* ------------------------------------------------------------------------ */

/* Everything that can fail, nothing changed yet. */
static int prepare(struct jlog_core *c, struct jlog__reload *r, char *err, size_t errlen)
{
	struct jlog__cfg_state *st = c->cfg;
	int rc = compare(st->view, r, err, errlen);
	if (rc == 0)
		rc = prep_sinks(c, st, r, err, errlen);
	for (size_t i = 0; rc == 0 && i < NLIVE; i++)
		if (runs(r, i) && live_keys[i].prepare)
			rc = live_keys[i].prepare(c, r, err, errlen);
	return rc;
}

/* The writer's side of the change (or the caller's, when no writer runs). */
static void writer_apply(struct jlog_core *c, struct jlog__reload *r)
{
	for (size_t i = 0; i < NLIVE; i++)
		if (runs(r, i) && live_keys[i].writer)
			live_keys[i].writer(c, r);
	/* Release: the writer that loads the set sees the sinks whole (it
	 * switches at the top of its loop, writer.c). */
	atomic_store_explicit(&c->sinks, r->set, memory_order_release);
}

/* The caller's side, with core->lock held: the settings of log calls,
 * then the position from which records get the writer's side. */
static void caller_apply(struct jlog_core *c, struct jlog__reload *r)
{
	for (size_t i = 0; i < NLIVE; i++)
		if (runs(r, i) && live_keys[i].caller)
			live_keys[i].caller(c, r);
	jlog__handles_update_locked(c);
	for (size_t i = 0; i < r->nfresh; i++)
		r->fresh[i]->id = c->next_sink_id++;
	for (size_t i = 0; i < r->nuse; i++)
		r->ids[i] = r->use[i]->id;
	/* Relaxed: read so by the log path. */
	atomic_store_explicit(&c->capture, jlog__sink_capture(r->set), memory_order_relaxed);
}

/* After the change (@applied) or a failure: free what is not used. */
static void finish(struct jlog_core *c, struct jlog__reload *r, bool applied)
{
	for (size_t i = 0; i < NLIVE; i++)
		if (runs(r, i) && live_keys[i].release)
			live_keys[i].release(r);
	if (applied) {
		/* Written up to the switch, and the writer no longer sees
		 * them: closed now. */
		for (size_t i = 0; i < r->ngone; i++)
			jlog__sink_destroy(r->gone[i]);
		jlog__sink_set_retire(c, r->old_set);
		struct jlog__cfg_state *st = c->cfg;
		json_decref(st->view);
		st->view = r->view;
		r->view = NULL;
		st->nsinks = r->nuse;
		memcpy(st->ids, r->ids, r->nuse * sizeof(st->ids[0]));
	} else {
		for (size_t i = 0; i < r->nfresh; i++)
			jlog__sink_destroy(r->fresh[i]);
		free(r->set);
	}
	json_decref(r->view);
}

/* The writer has switched to the new set (acquire pairs with its release
 * store of sinks_seen). */
static bool switched(struct jlog_core *c, uintptr_t set)
{
	return (uintptr_t)atomic_load_explicit(&c->sinks_seen, memory_order_acquire) == set;
}

/* Load @text (a path or JSON; NULL: the file the logger was opened from)
 * as the logger's document. */
static json_t *load_doc(const struct jlog__cfg_state *st, const char *text, int *rc, char *err,
                        size_t errlen)
{
	if (!text && !st->path) {
		*rc = jlog__cfg_fail(err, errlen, "", "the logger was opened from JSON text, "
		                     "not a file: give the document to reload");
		return NULL;
	}
	json_t *doc = jlog__config_load(text ? text : st->path, rc, err, errlen);
	if (doc && !json_is_object(doc)) {
		*rc = jlog__cfg_fail(err, errlen, "", "the configuration must be a JSON object");
		json_decref(doc);
		return NULL;
	}
	/* The default logger's document always has the environment's
	 * overrides, as when it opened. */
	if (doc && st->env)
		jlog__config_env_overrides(doc);
	return doc;
}

/* The reload of @text on @c, sinks_lock held; on the writer thread when
 * @on_writer (at ring position @pos). Returns 0, or the error with its message in @err; 1 when
 * the writer could not take core->lock (try again later). */
static int reload_locked(struct jlog_core *c, const char *text, bool on_writer, uint64_t pos,
                         char *err, size_t errlen)
{
	if (!c->cfg)
		return jlog__cfg_fail(err, errlen, "", "the logger was not opened from a "
		                      "configuration (jlog_open_config)");
	int rc = 0;
	json_t *doc = load_doc(c->cfg, text, &rc, err, errlen);
	if (!doc)
		return rc;
	struct jlog__cfg *p = NULL;
	struct jlog__reload *r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(doc);
		return jlog__cfg_fail(err, errlen, "", "out of memory");
	}
	rc = jlog__cfg_parse(doc, &p, err, errlen);
	if (rc == 0) {
		r->p = p;
		r->view = jlog__cfg_view(p);
		rc = r->view ? prepare(c, r, err, errlen)
		             : jlog__cfg_fail(err, errlen, "", "out of memory");
	}
	bool locked = false;
	if (rc == 0 && on_writer) {
		for (int i = 0; i < LOCK_TRIES && !locked; i++)
			if (!(locked = pthread_mutex_trylock(&c->lock) == 0))
				sched_yield();
		if (!locked)
			rc = 1;
	} else if (rc == 0) {
		pthread_mutex_lock(&c->lock);
		locked = true;
	}
	if (rc == 0 && atomic_load_explicit(&c->closed, memory_order_relaxed))
		rc = jlog__cfg_fail(err, errlen, "", "the logger is closed");
	if (rc == 0)
		caller_apply(c, r);
	if (locked)
		pthread_mutex_unlock(&c->lock);
	if (rc == 0 && on_writer) {
		/* The writer is at @pos with every buffer empty: the change
		 * is made here, for every record from @pos on. */
		(void)pos;
		writer_apply(c, r);
	} else if (rc == 0 && jlog__writer_running(c)) {
		/*
		 * Publish, then take the position P: the writer checks for a
		 * request after it peeks at each record, and a record at P or
		 * later was reserved after the head was read here, so it was
		 * committed after the request was published and the writer
		 * sees the request before it formats that record (seq_cst
		 * keeps the store before the load; the producers' reserving
		 * CAS and the writer's acquire loads do the rest). Until
		 * ready, the writer takes no record at all.
		 */
		atomic_store_explicit(&c->reload_req, r, memory_order_seq_cst);
		uint64_t head = atomic_load_explicit(&c->ring.head, memory_order_seq_cst);
		atomic_store_explicit(&r->pos, head, memory_order_relaxed);
		/* Release pairs with jlog__reload_before()'s acquire. */
		atomic_store_explicit(&r->ready, true, memory_order_release);
		jlog__ring_kick(&c->ring);
		jlog__writer_wait(c, switched, (uintptr_t)r->set);
		/* A writer that finished first (a close meanwhile) made no
		 * change: nothing runs any more, so it is made here. */
		struct jlog__reload *left = r;
		if (atomic_compare_exchange_strong_explicit(&c->reload_req, &left, NULL,
		                                            memory_order_acq_rel,
		                                            memory_order_acquire))
			writer_apply(c, r);
	} else if (rc == 0) {
		writer_apply(c, r); /* no writer runs (a forked child without one) */
	}
	finish(c, r, rc == 0);
	jlog__cfg_free(p);
	json_decref(doc);
	free(r);
	return rc;
}

int jlog_reload_config(jlog_logger *log, const char *path_or_json)
{
	if (!log)
		log = jlog_default();
	if (!log)
		return jlog__fail(-ENOMEM, "jlog_reload_config: no default logger");
	struct jlog_core *c = log->core;
	if (atomic_load_explicit(&c->closed, memory_order_acquire))
		return jlog__fail(-EINVAL, "jlog_reload_config: the logger is closed");
	if (c->writer_started && c->writer_pid == getpid() && pthread_equal(pthread_self(), c->writer))
		return jlog__fail(-EDEADLK, "jlog_reload_config() from a sink callback or filter");
	char why[512] = "";
	pthread_mutex_lock(&c->sinks_lock);
	int rc = reload_locked(c, path_or_json, false, 0, why, sizeof(why));
	pthread_mutex_unlock(&c->sinks_lock);
	if (rc < 0)
		jlog__set_last_error("jlog_reload_config: %s", *why ? why : jlog_strerror(rc));
	return rc;
}

/* Say @msg on stderr if that takes no wait (the writer never blocks on
 * it: stderr may be a pipe nobody reads). */
static void say(const char *msg)
{
	struct pollfd pfd = {.fd = STDERR_FILENO, .events = POLLOUT};
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT))
		(void)!write(STDERR_FILENO, msg, strlen(msg));
}

bool jlog__reload_before(struct jlog__reload *r, uint64_t end)
{
	/* Acquire pairs with the release store of ready: pos is seen. */
	return atomic_load_explicit(&r->ready, memory_order_acquire) &&
	       (int64_t)(end - atomic_load_explicit(&r->pos, memory_order_relaxed)) <= 0;
}

bool jlog__reload_writer(struct jlog_core *c, uint64_t pos)
{
	/* Acquire pairs with jlog_reload_config()'s release store. */
	struct jlog__reload *r = atomic_load_explicit(&c->reload_req, memory_order_acquire);
	if (r) {
		/* drain() stops at the position: not there yet (or not
		 * taken yet), records before it are still to come. */
		if (!atomic_load_explicit(&r->ready, memory_order_acquire) ||
		    pos != atomic_load_explicit(&r->pos, memory_order_relaxed))
			return false;
		writer_apply(c, r);
		/* Release: the caller sees the change made; it waits for the
		 * switch of sink sets that follows (switched()). */
		atomic_store_explicit(&c->reload_req, NULL, memory_order_release);
		return true;
	}
	/* The SIGHUP hook's request. The writer takes no lock an application
	 * thread may hold while it waits for the writer: a thread that
	 * changes the sinks now leaves the reload for a later round. */
	if (pthread_mutex_trylock(&c->sinks_lock) != 0)
		return false;
	atomic_store_explicit(&c->reload_file_req, false, memory_order_relaxed);
	char why[512] = "";
	int rc = reload_locked(c, NULL, true, pos, why, sizeof(why));
	pthread_mutex_unlock(&c->sinks_lock);
	if (rc == 1) {
		atomic_store_explicit(&c->reload_file_req, true, memory_order_relaxed);
		return false;
	}
	if (rc < 0) {
		char msg[640];
		snprintf(msg, sizeof(msg),
		         "jlog: reload on SIGHUP: %s; the configuration is unchanged\n", why);
		say(msg);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

int jlog__cfg_state_init(jlog_logger *lg, const struct jlog__cfg *p, const char *path, bool env)
{
	struct jlog__cfg_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->view = jlog__cfg_view(p);
	/* A relative path names the same file after a chdir(). */
	st->path = path ? realpath(path, NULL) : NULL;
	if (path && !st->path)
		st->path = strdup(path);
	st->env = env;
	if (!st->view || (path && !st->path)) {
		jlog__cfg_state_free(st);
		return -ENOMEM;
	}
	/* open_parsed() made the document's sinks first, ids from 0 in
	 * order (or jlog__open() its sink 0). */
	st->nsinks = json_array_size(json_object_get(st->view, "sinks"));
	for (size_t i = 0; i < st->nsinks; i++)
		st->ids[i] = (int)i;
	struct jlog_core *c = lg->core;
	pthread_mutex_lock(&c->sinks_lock);
	c->cfg = st;
	pthread_mutex_unlock(&c->sinks_lock);
	return 0;
}

void jlog__cfg_state_free(struct jlog__cfg_state *st)
{
	if (!st)
		return;
	json_decref(st->view);
	free(st->path);
	free(st);
}

bool jlog__reload_from_file_ok(struct jlog_core *c)
{
	pthread_mutex_lock(&c->sinks_lock);
	bool ok = c->cfg && c->cfg->path;
	pthread_mutex_unlock(&c->sinks_lock);
	return ok;
}
