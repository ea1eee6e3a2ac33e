/*
 * The growable output buffer every encoder and formatter writes into
 * (struct jlog__buf, its inline appends in buf.h).
 */
#include "jlog-private.h"

#include <stdlib.h>

#define BUF_MIN_CAP 4096u


void jlog__buf_init(struct jlog__buf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
	b->fixed = false;
}

void jlog__buf_finish(struct jlog__buf *b)
{
	free(b->p);
	jlog__buf_init(b);
}

#define BUF_MAX_CAP ((size_t)1 << 32)

bool jlog__buf_grow(struct jlog__buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return true;
	if (b->fixed)
		goto fail;
	/* No line is anywhere near this large (a record is at most 256 MiB
	 * before escaping); a request beyond it is a bug, refused before it
	 * reaches the allocator. */
	if (extra > BUF_MAX_CAP || b->len > BUF_MAX_CAP - extra)
		goto fail;
	size_t need = b->len + extra;
	/* Doubling keeps appends amortized O(1); the floor avoids a string
	 * of tiny reallocations for the first lines. */
	size_t cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}
