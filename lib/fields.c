/*
 * What every formatter (encode.c, encode-preset.c, format.c) shares about
 * a record's fields: the duplicate-key rule, and the per-thread scratch
 * space that holds the decoded fields.
 *
 * Among a record's fields, the last one with a given printed key wins.
 * Each formatter prints the keys its own way into one buffer (its struct
 * jlog__key_ent entries point into it); the marking is shared.
 */
#include "jlog-private.h"

#include <stdlib.h>
#include <string.h>

/* Up to this many fields a pairwise scan is cheaper than a hash table. */
#define PAIRWISE_MAX 16

bool jlog__key_ents_grow(struct jlog__key_ent **ent, size_t *cap)
{
	size_t n = *cap ? 2 * *cap : 64;
	struct jlog__key_ent *e = realloc(*ent, n * sizeof(*e));
	if (!e)
		return false;
	*ent = e;
	*cap = n;
	return true;
}

static bool same_key(const char *keys, const struct jlog__key_ent *a,
                     const struct jlog__key_ent *b)
{
	return a->len == b->len && memcmp(keys + a->off, keys + b->off, a->len) == 0;
}

/* FNV-1a: keys are short and come from the program's log calls, so a
 * fast hash does; it is not meant to resist chosen collisions. */
static uint32_t key_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

bool jlog__mark_duplicate_keys(const char *keys, struct jlog__key_ent *ent, size_t n,
                               uint32_t **table, size_t *table_cap)
{
	if (n <= PAIRWISE_MAX) {
		for (size_t i = 0; i + 1 < n; i++)
			for (size_t j = i + 1; j < n && !ent[i].skip; j++)
				ent[i].skip = same_key(keys, &ent[i], &ent[j]);
		return true;
	}

	/* At most half full, so probe sequences stay short. */
	size_t cap = 64;
	while (cap < 2 * n)
		cap *= 2;
	if (cap > *table_cap) {
		uint32_t *t = realloc(*table, cap * sizeof(*t));
		if (!t)
			return false;
		*table = t;
		*table_cap = cap;
	}
	uint32_t *tab = *table;
	memset(tab, 0, cap * sizeof(*tab));
	size_t mask = cap - 1;
	/* Walk backwards: the first occurrence seen is the one printed. */
	for (size_t i = n; i-- > 0;) {
		struct jlog__key_ent *e = &ent[i];
		e->hash = key_hash(keys + e->off, e->len);
		for (size_t k = e->hash & mask;; k = (k + 1) & mask) {
			uint32_t slot = tab[k];
			if (slot == 0) {
				tab[k] = (uint32_t)i + 1;
				break;
			}
			const struct jlog__key_ent *o = &ent[slot - 1];
			if (o->hash == e->hash && same_key(keys, o, e)) {
				e->skip = true;
				break;
			}
		}
	}
	return true;
}

/* pthread_once() passes nothing to its routine, which runs on the calling
 * thread: the slot goes to it through this thread's variable. */
static _Thread_local struct jlog__tls_slot *once_slot;

static void slot_key_init(void)
{
	struct jlog__tls_slot *slot = once_slot;
	slot->key_ok = pthread_key_create(&slot->key, slot->free) == 0;
}

void *jlog__tls_slot_get(struct jlog__tls_slot *slot)
{
	once_slot = slot;
	pthread_once(&slot->once, slot_key_init);
	void *p = calloc(1, slot->size);
	if (!p || (slot->init && !slot->init(p))) {
		free(p);
		return NULL;
	}
	/* Without a key (the process ran out of keys) the scratch outlives
	 * its thread; it still works. */
	if (slot->key_ok)
		pthread_setspecific(slot->key, p);
	return p;
}
