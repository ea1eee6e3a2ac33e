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
	/* (interval number << 32) | records counted in that interval,
	 * replaced together by one CAS so that counts stay exact. */
	_Atomic uint64_t window;
	/* Token bucket as a virtual schedule (GCRA): the stamp at which the
	 * bucket is full again; a record may go while that is at most
	 * burst - 1 emission intervals ahead of now. */
	_Atomic uint64_t tat;
	_Atomic uint64_t suppressed; /* not reported yet (the writer takes it) */
	uint64_t spare;              /* 32 bytes: no site straddles a line */
};

#define JLOG__SAMPLE_CHUNK_BITS 12
#define JLOG__SAMPLE_CHUNKS 256 /* as many call-site ids as callsite.c has */

/* What a sampler decides by: immutable once published, so that a log call
 * may read it while jlog_reload_config() puts other rules in its place
 * (jlog__sampler_set_rules()). */
struct jlog__sample_rules {
	bool sampling;
	uint32_t first, thereafter;
	uint64_t interval; /* in jlog__stamp() units */
	uint64_t base;     /* the stamp the first interval starts at */
	int sample_max;
	bool rate, per_logger;
	uint64_t emission;  /* stamp units per token */
	uint64_t tolerance; /* (burst - 1) * emission */
	int rate_max;
	int max_level;      /* the higher of the enabled limits' levels; -1: none */
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
	uint64_t next_report_ms; /* writer */
	struct jlog__sample_site nosite; /* records without a call site */
	struct jlog__sample_site bucket; /* JLOG_RATE_PER_LOGGER */
	_Atomic(struct jlog__sample_site *) chunks[JLOG__SAMPLE_CHUNKS];
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
/* Writer: call @fn for each site with suppressed records not yet
 * reported, taking their counts. */
void jlog__sample_collect(struct jlog__sampler *s,
                          void (*fn)(void *arg, uint32_t id, uint64_t n), void *arg);
/* In a forked child: forget the parent's counts. */
void jlog__sampler_fork_child(struct jlog__sampler *s);

#endif /* JLOG_SAMPLE_H */
