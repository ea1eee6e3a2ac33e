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

#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS 256 /* up to 1M callsites */

struct entry {
	const jlog_callsite *cs;
	const char *basename;
};

static struct entry first_chunk[CHUNK_SIZE];
static _Atomic(struct entry *) chunks[MAX_CHUNKS] = {first_chunk};
static _Atomic uint32_t next_id = 1;

static struct entry *chunk_for(uint32_t id, bool create)
{
	uint32_t c = id >> CHUNK_BITS;
	if (c >= MAX_CHUNKS)
		return NULL;
	/* Acquire pairs with the release CAS below: a chunk seen here is
	 * zeroed memory. */
	struct entry *chunk = atomic_load_explicit(&chunks[c], memory_order_acquire);
	if (chunk || !create)
		return chunk;
	struct entry *fresh = calloc(CHUNK_SIZE, sizeof(*fresh));
	if (!fresh)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(&chunks[c], &chunk, fresh,
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
	/* Relaxed: ids only need to be unique. */
	uint32_t id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	struct entry *chunk = chunk_for(id, true);
	if (!chunk)
		return 0;
	struct entry *e = &chunk[id & (CHUNK_SIZE - 1)];
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

static const struct entry *lookup(uint32_t id)
{
	if (id == 0)
		return NULL;
	struct entry *chunk = chunk_for(id, false);
	if (!chunk)
		return NULL;
	const struct entry *e = &chunk[id & (CHUNK_SIZE - 1)];
	return e->cs ? e : NULL;
}

const jlog_callsite *jlog__callsite_get(uint32_t id)
{
	const struct entry *e = lookup(id);
	return e ? e->cs : NULL;
}

const char *jlog__callsite_basename(uint32_t id)
{
	const struct entry *e = lookup(id);
	return e ? e->basename : NULL;
}
