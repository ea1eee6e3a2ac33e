/*
 * The callsite table: each log statement's static jlog_callsite gets a
 * small id on its first use, and records carry that id instead of pointers
 * to file and function names (DESIGN.md property 4). The writer maps ids
 * back to names.
 *
 * Registration is lock-free so that a signal handler logging from a new
 * statement cannot deadlock against an interrupted registration: ids come
 * from a fetch-add, the entry is filled, and a CAS on cs->id publishes it.
 * Two threads racing on one callsite each take an id; the loser's entry is
 * simply left unused. The first chunk is static, so the first 4096
 * callsites never allocate; later chunks are allocated once and installed
 * with a CAS.
 */
#include "jlog-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS JLOG__CALLSITE_CHUNK_BITS
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS JLOG__CALLSITE_MAX_CHUNKS

/* Read by jlog__callsite_entry_of() (callsite.h). */
static struct jlog__callsite_entry first_chunk[CHUNK_SIZE];
_Atomic(struct jlog__callsite_entry *) jlog__callsite_chunks[JLOG__CALLSITE_MAX_CHUNKS] = {
	first_chunk};
static _Atomic uint32_t next_id = 1;

/* The chunk of @id, allocated if it is not there yet; NULL past the
 * table or out of memory. */
static struct jlog__callsite_entry *chunk_for(uint32_t id)
{
	uint32_t c = id >> CHUNK_BITS;
	if (c >= MAX_CHUNKS)
		return NULL;
	/* Acquire pairs with the release CAS below (as the one of
	 * jlog__callsite_entry_of() does): a chunk seen here is zeroed memory. */
	struct jlog__callsite_entry *chunk =
		atomic_load_explicit(&jlog__callsite_chunks[c], memory_order_acquire);
	if (chunk)
		return chunk;
	struct jlog__callsite_entry *fresh = calloc(CHUNK_SIZE, sizeof(*fresh));
	if (!fresh)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(&jlog__callsite_chunks[c], &chunk, fresh,
	                                            memory_order_acq_rel,
	                                            memory_order_acquire))
		return fresh;
	free(fresh); /* another thread installed it first */
	return chunk;
}

static const char *base_name(const char *path)
{
	if (!path)
		return NULL;
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

uint32_t jlog__callsite_register(jlog_callsite *cs)
{
	/* Sequentially consistent, as the load of jlog__callsite_limit():
	 * a change of sampling rules that reads the limit after a log call
	 * with this id read the old rules sees this add. */
	uint32_t id = atomic_fetch_add(&next_id, 1);
	struct jlog__callsite_entry *chunk = chunk_for(id);
	if (!chunk)
		return 0;
	struct jlog__callsite_entry *e = &chunk[id & (CHUNK_SIZE - 1)];
	e->cs = cs;
	e->basename = base_name(cs->file);

	uint32_t expected = 0;
	/* Release publishes the entry written above; pairs with the acquire
	 * load in jlog__callsite_id() (and, through the record's commit,
	 * with the writer's reads in jlog__callsite_get()). */
	if (__atomic_compare_exchange_n(&cs->id, &expected, id, false, __ATOMIC_RELEASE,
	                                __ATOMIC_ACQUIRE))
		return id;
	e->cs = NULL; /* lost the race: this id is never used */
	return expected;
}

uint32_t jlog__callsite_limit(void)
{
	/* Sequentially consistent: see jlog__callsite_register(). next_id
	 * goes on past the table when it is full (chunk_for() refuses
	 * those). */
	uint32_t n = atomic_load(&next_id);
	return n < MAX_CHUNKS << CHUNK_BITS ? n : MAX_CHUNKS << CHUNK_BITS;
}

const jlog_callsite *jlog__callsite_get(uint32_t id)
{
	const struct jlog__callsite_entry *e = jlog__callsite_entry_of(id);
	return e ? e->cs : NULL;
}

const char *jlog__callsite_basename(uint32_t id)
{
	const struct jlog__callsite_entry *e = jlog__callsite_entry_of(id);
	return e ? e->basename : NULL;
}

/*
 * Call sites given as (file, line, function) by jlog_log()/jlog_logv():
 * each distinct triple gets one jlog_callsite here, registered once, so a
 * wrapper's calls cost a hash and a probe instead of a registration each.
 * Triples are keyed by the pointers (the strings must live as long as the
 * process, as __FILE__ and __func__ do), in an open-addressing table of
 * SITE_SLOTS entries allocated on first use and never freed or grown: at
 * most SITE_MAX triples, so a caller that makes up triples cannot grow
 * memory without bound; the ones after that are logged without a call
 * site, said once on stderr.
 *
 * Lock-free, as jlog__callsite_register() is: a slot goes EMPTY -> FILLING
 * (CAS, by the thread that fills it) -> READY (release store). A lookup
 * skips a FILLING slot rather than waiting for it (its filler may be the
 * code a signal handler interrupted), so two threads racing on a new
 * triple may each fill a slot: a duplicate, harmless and bounded.
 */
#define SITE_BITS 14
#define SITE_SLOTS (1u << SITE_BITS)
#define SITE_MAX (SITE_SLOTS / 4 * 3) /* keeps probe sequences short */
#define SITE_PROBES 256

enum { SITE_EMPTY, SITE_FILLING, SITE_READY };

struct site_slot {
	_Atomic unsigned state;
	jlog_callsite cs;
};

static _Atomic(struct site_slot *) sites;
static _Atomic unsigned sites_used;
static _Atomic bool sites_full_said;

static struct site_slot *site_table(void)
{
	/* Acquire pairs with the release CAS below: the table is zeroed. */
	struct site_slot *t = atomic_load_explicit(&sites, memory_order_acquire);
	if (t)
		return t;
	struct site_slot *fresh = calloc(SITE_SLOTS, sizeof(*fresh));
	if (!fresh)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(&sites, &t, fresh, memory_order_acq_rel,
	                                            memory_order_acquire))
		return fresh;
	free(fresh); /* another thread installed it first */
	return t;
}

static uint32_t site_hash(const char *file, int line, const char *func)
{
	uint64_t h = (uint64_t)(uintptr_t)file * 0x9E3779B97F4A7C15u;
	h ^= (uint64_t)(uintptr_t)func * 0xC2B2AE3D27D4EB4Fu;
	h ^= (uint64_t)(unsigned)line * 0x165667B19E3779F9u;
	h ^= h >> 29;
	return (uint32_t)(h >> (64 - SITE_BITS));
}

static void say_sites_full(void)
{
	/* Relaxed: a once-only message; it guards no data. */
	if (!atomic_exchange_explicit(&sites_full_said, true, memory_order_relaxed))
		fprintf(stderr, "jlog: more than %u distinct call sites through "
		                "jlog_log(); the others are logged without file, line "
		                "and function\n", SITE_MAX);
}

jlog_callsite *jlog__callsite_intern(const char *file, int line, const char *func)
{
	struct site_slot *t = site_table();
	if (!t)
		return NULL;
	uint32_t h = site_hash(file, line, func);
	for (unsigned probe = 0; probe < SITE_PROBES; probe++) {
		struct site_slot *s = &t[(h + probe) & (SITE_SLOTS - 1)];
		/* Acquire pairs with the release store of READY below: the
		 * key is seen whole. */
		unsigned st = atomic_load_explicit(&s->state, memory_order_acquire);
		if (st == SITE_READY) {
			if (s->cs.file == file && s->cs.function == func && s->cs.line == line)
				return &s->cs;
			continue;
		}
		if (st == SITE_FILLING)
			continue;
		/* Relaxed: the count only bounds the table; slots are claimed
		 * by the CAS that follows. */
		if (atomic_fetch_add_explicit(&sites_used, 1, memory_order_relaxed) >= SITE_MAX) {
			atomic_fetch_sub_explicit(&sites_used, 1, memory_order_relaxed);
			break;
		}
		unsigned empty = SITE_EMPTY;
		if (!atomic_compare_exchange_strong_explicit(&s->state, &empty, SITE_FILLING,
		                                             memory_order_acquire,
		                                             memory_order_acquire)) {
			atomic_fetch_sub_explicit(&sites_used, 1, memory_order_relaxed);
			/* Taken meanwhile: look at this slot again. */
			probe--;
			continue;
		}
		s->cs.file = file;
		s->cs.function = func;
		s->cs.line = line;
		/* Release publishes the key; pairs with the acquire above. */
		atomic_store_explicit(&s->state, SITE_READY, memory_order_release);
		return &s->cs;
	}
	say_sites_full();
	return NULL;
}
