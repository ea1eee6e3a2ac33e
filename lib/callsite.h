/*
 * Callsites (callsite.c): where a log call is, registered once per call
 * site. A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_CALLSITE_H
#define JLOG_CALLSITE_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* Give @cs an id (once; thread-safe) and return it; 0 if the table is
 * full or out of memory (the record then has no file/line/function). */
uint32_t jlog__callsite_register(jlog_callsite *cs);
static inline uint32_t jlog__callsite_id(jlog_callsite *cs)
{
	/* Acquire pairs with the release store in jlog__callsite_register():
	 * an id seen here is already in the table. */
	uint32_t id = __atomic_load_n(&cs->id, __ATOMIC_ACQUIRE);
	return id ? id : jlog__callsite_register(cs);
}
/* One past the highest id handed out so far (at most
 * JLOG__CALLSITE_MAX_CHUNKS << JLOG__CALLSITE_CHUNK_BITS): every id in use
 * is below it. Any thread. */
uint32_t jlog__callsite_limit(void);
/* The callsite of an id, NULL if unknown. Any thread. */
const jlog_callsite *jlog__callsite_get(uint32_t id);
/* Base name of the callsite's file (computed at registration). */
const char *jlog__callsite_basename(uint32_t id);
/* The table (callsite.c): an id's entry is in chunk id >> CHUNK_BITS,
 * each chunk allocated on the first id in it; cs NULL: no callsite. */
#define JLOG__CALLSITE_CHUNK_BITS 12
#define JLOG__CALLSITE_MAX_CHUNKS 256 /* up to 1M callsites */
struct jlog__callsite_entry {
	const jlog_callsite *cs;
	const char *basename;
};
extern _Atomic(struct jlog__callsite_entry *) jlog__callsite_chunks[JLOG__CALLSITE_MAX_CHUNKS];

/* The entry of callsite @id, NULL if unknown: inline, for the writer's
 * decode (jlog__callsite_find()); jlog__callsite_get() and
 * jlog__callsite_basename() make the same lookup. Any thread. */
static inline const struct jlog__callsite_entry *jlog__callsite_entry_of(uint32_t id)
{
	uint32_t c = id >> JLOG__CALLSITE_CHUNK_BITS;
	if (id == 0 || c >= JLOG__CALLSITE_MAX_CHUNKS)
		return NULL;
	/* Acquire pairs with the release CAS that installed the chunk
	 * (callsite.c's chunk_for()): a chunk seen here is zeroed memory. */
	const struct jlog__callsite_entry *chunk =
		atomic_load_explicit(&jlog__callsite_chunks[c], memory_order_acquire);
	if (!chunk)
		return NULL;
	const struct jlog__callsite_entry *e =
		&chunk[id & ((1u << JLOG__CALLSITE_CHUNK_BITS) - 1)];
	return e->cs ? e : NULL;
}

/* Both in one lookup (the writer's decode wants both): the callsite, NULL
 * if unknown, and *basename set (NULL then too). Any thread. */
static inline const jlog_callsite *jlog__callsite_find(uint32_t id, const char **basename)
{
	const struct jlog__callsite_entry *e = jlog__callsite_entry_of(id);
	if (!e) {
		*basename = NULL;
		return NULL;
	}
	*basename = e->basename;
	return e->cs;
}
/* The callsite of a (file, line, function) triple given by the caller
 * (jlog_log()): one per distinct triple of pointers, kept for the life of
 * the process; NULL when the table is full or out of memory. Any thread. */
jlog_callsite *jlog__callsite_intern(const char *file, int line, const char *func);

#endif
