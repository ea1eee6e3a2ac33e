/*
 * Records: the self-contained bytes a log call leaves in the ring (layout in
 * jlog-private.h). Writing runs on the caller's thread inside the log call,
 * so for every field type except JSON it is plain stores and memcpy: no
 * allocation, no lock, no syscall. Decoding runs on the writer thread and
 * trusts nothing: every length is checked against the end of the record, so
 * a damaged record is refused instead of being read out of bounds.
 */
#include "jlog-private.h"
#include "utf8.h"

#include <jansson.h>
#include <string.h>

/* The largest value a field header can describe. */
#define VAL_MAX ((size_t)UINT32_MAX)

/* The number of key bytes a record keeps. */
static size_t key_bytes(const jlog_field *f)
{
	if (!f->key)
		return 0;
	return f->key_len <= JLOG__MAX_KEY ? f->key_len : jlog__utf8_cut(f->key, JLOG__MAX_KEY);
}

/* A dump callback that keeps the prefix that fits in the destination and
 * counts the rest, so the caller learns the full size without jansson
 * allocating a buffer for the text. */
struct dump_dst {
	char *p;
	size_t cap;
	size_t len;
};

static int dump_cb(const char *chunk, size_t size, void *data)
{
	struct dump_dst *d = data;
	if (d->len < d->cap) {
		size_t n = d->cap - d->len < size ? d->cap - d->len : size;
		memcpy(d->p + d->len, chunk, n);
	}
	d->len += size;
	return 0;
}

/* JSON values nested deeper than this are written as null: parsers limit
 * depth (jansson at 2048, many at 512-1000), and a line that the
 * aggregator refuses is a lost line. RFC 8259 section 9 allows the limit. */
#define JSON_MAX_DEPTH 512

/* True when @j nests at most @budget levels of arrays and objects. */
static bool depth_within(const json_t *j, int budget)
{
	if (!json_is_array(j) && !json_is_object(j))
		return true;
	if (budget == 0)
		return false;
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++)
			if (!depth_within(json_array_get(j, i), budget - 1))
				return false;
		return true;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		if (!depth_within(v, budget - 1))
			return false;
	}
	return true;
}

size_t jlog__json_dump(const struct json_t *j, char *dst, size_t cap)
{
	struct dump_dst d = {dst, dst ? cap : 0, 0};
	if (!j || !depth_within(j, JSON_MAX_DEPTH) ||
	    json_dump_callback(j, dump_cb, &d, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
		return 0;
	return d.len;
}

/* A diagnostic field as the log path builds it (lib/diag.c). */
static bool diag_ok(const jlog_field *f)
{
	return f->v.s && jlog__diag_valid((const uint8_t *)f->v.s, f->len);
}

/* Bytes of the value as given, before any truncation. */
static size_t value_bytes(const jlog_field *f)
{
	switch (f->type) {
	case JLOG__T_STR:
		return f->len;
	case JLOG__T_DIAG:
		return diag_ok(f) ? f->len : 0;
	case JLOG__T_JSON:
		return jlog__json_dump(f->v.j, NULL, 0);
	case JLOG__T_INT:
	case JLOG__T_UINT:
	case JLOG__T_DOUBLE:
		return 8;
	case JLOG__T_BOOL:
		return 1;
	default:
		return 0;
	}
}

size_t jlog__field_size(const jlog_field *f)
{
	return sizeof(struct jlog__field_hdr) + key_bytes(f) + value_bytes(f);
}

size_t jlog__field_write(uint8_t *dst, const jlog_field *f, size_t val_cap)
{
	struct jlog__field_hdr h = {0};
	size_t klen = key_bytes(f);
	uint8_t *val = dst + sizeof(h) + klen;
	size_t vlen = 0;

	if (val_cap > VAL_MAX)
		val_cap = VAL_MAX;
	h.type = (uint8_t)f->type;
	switch (f->type) {
	case JLOG__T_STR:
		vlen = f->len;
		if (vlen > val_cap) {
			vlen = jlog__utf8_cut(f->v.s, val_cap);
			h.flags = JLOG__FIELD_TRUNCATED;
		}
		if (vlen)
			memcpy(val, f->v.s, vlen);
		break;
	case JLOG__T_JSON:
		/* Size first: jansson may fail half way through (invalid UTF-8
		 * in a string made with json_stringn_nocheck(), a cycle) after
		 * handing over part of the text, and the caller only made room
		 * for what jlog__field_size() promised. */
		vlen = jlog__json_dump(f->v.j, NULL, 0);
		if (vlen == 0) {
			/* Say null rather than write something that is not
			 * JSON. */
			h.type = JLOG__T_NULL;
			break;
		}
		/* jansson writes straight into the record; only the prefix
		 * that fits is kept. */
		jlog__json_dump(f->v.j, (char *)val, vlen < val_cap ? vlen : val_cap);
		if (vlen > val_cap) {
			/* A cut JSON text is not JSON any more, so the prefix is
			 * kept as a string. */
			h.type = JLOG__T_STR;
			h.flags = JLOG__FIELD_TRUNCATED | JLOG__FIELD_CUT_JSON;
			vlen = jlog__utf8_cut((const char *)val, val_cap);
			/* jansson wrote val_cap bytes; the ones cut off fall in
			 * the record's unused tail, which must read as zero
			 * (jlog__record_decode refuses anything else there). */
			memset(val + vlen, 0, val_cap - vlen);
		}
		break;
	case JLOG__T_INT:
	case JLOG__T_UINT:
	case JLOG__T_DOUBLE:
		/* The union members are all 8 bytes; records are not aligned,
		 * hence memcpy. */
		vlen = 8;
		memcpy(val, &f->v.u, 8);
		break;
	case JLOG__T_BOOL:
		vlen = 1;
		*val = f->v.i != 0; /* see jlog__field_bool() */
		break;
	case JLOG__T_DIAG:
		/* Made by the log path itself, never cut (its size is
		 * bounded: see struct jlog__diag). Anything else claiming
		 * the type is stored as null, like an unknown type. */
		if (!diag_ok(f)) {
			h.type = JLOG__T_NULL;
			break;
		}
		vlen = f->len;
		memcpy(val, f->v.s, vlen);
		break;
	default:
		/* NULL, and any type this version does not know, which is
		 * stored as null so the record stays well-formed. */
		h.type = JLOG__T_NULL;
		break;
	}
	h.key_len = (uint16_t)klen;
	h.val_len = (uint32_t)vlen;
	memcpy(dst, &h, sizeof(h));
	if (klen)
		memcpy(dst + sizeof(h), f->key, klen);
	return sizeof(h) + klen + vlen;
}

/* The field at @p, which ends before @end, into *f; returns the position
 * past it, or NULL when the bytes there are not a well-formed field.
 * @p <= @end, both non-NULL: next_raw() checks that for the walks that
 * start from a view, the decode's loop keeps it by construction. @end is
 * a parameter, not read through the view, so that the decode's loop keeps
 * it in a register (the project builds with -fno-strict-aliasing: every
 * store into *f would otherwise reload it). Pair: next_raw(). */
static inline const uint8_t *field_at(const uint8_t *p, const uint8_t *end,
                                      struct jlog__field_view *f)
{
	struct jlog__field_hdr h;
	size_t avail = (size_t)(end - p);

	if (avail < sizeof(h))
		return NULL;
	memcpy(&h, p, sizeof(h));
	/* One bound for the header, the key and the value: their sum cannot
	 * wrap in 64 bits (a 16-bit and a 32-bit length). */
	if (h.key_len > JLOG__MAX_KEY ||
	    sizeof(h) + (uint64_t)h.key_len + h.val_len > (uint64_t)avail)
		return NULL;

	const uint8_t *val = p + sizeof(h) + h.key_len;
	/* Strings and the 8-byte numbers first: most fields are one. */
	if (h.type == JLOG__T_STR) {
		f->v.s = (const char *)val;
	} else if ((unsigned)h.type - JLOG__T_INT <= (unsigned)(JLOG__T_DOUBLE - JLOG__T_INT)) {
		if (h.val_len != 8)
			return NULL;
		memcpy(&f->v.u, val, 8);
	} else {
		switch (h.type) {
		case JLOG__T_JSON:
			/* Empty text is not JSON; jansson never produces it. */
			if (h.val_len == 0)
				return NULL;
			f->v.s = (const char *)val;
			break;
		case JLOG__T_BOOL:
			if (h.val_len != 1)
				return NULL;
			f->v.b = *val != 0;
			break;
		case JLOG__T_NULL:
			if (h.val_len != 0)
				return NULL;
			break;
		case JLOG__T_DIAG:
			if (!jlog__diag_valid(val, h.val_len))
				return NULL;
			f->v.s = (const char *)val;
			break;
		default:
			return NULL;
		}
	}
	memcpy(f, &h, sizeof(h)); /* type, flags, key_len, val_len */
	f->key = (const char *)p + sizeof(h);
	return val + h.val_len;
}

static inline bool next_raw(const struct jlog__rec_view *v, const uint8_t **cursor,
                            struct jlog__field_view *f)
{
	const uint8_t *p = *cursor, *end = v->end;
	if (!p || !end || p >= end)
		return false;
	const uint8_t *next = field_at(p, end, f);
	if (!next)
		return false;
	*cursor = next;
	return true;
}

bool jlog__field_next_raw(const struct jlog__rec_view *v, const uint8_t **cursor,
                          struct jlog__field_view *f)
{
	return next_raw(v, cursor, f);
}

bool jlog__field_next(const struct jlog__rec_view *v, const uint8_t **cursor,
                      struct jlog__field_view *f)
{
	/* The diagnostic field is the writer's to expand per sink (see
	 * jlog__diag_view()); formatters never see it. */
	while (next_raw(v, cursor, f))
		if (f->type != JLOG__T_DIAG)
			return true;
	return false;
}

bool jlog__diag_valid(const uint8_t *p, size_t len)
{
	struct jlog__diag d;
	if (len < offsetof(struct jlog__diag, frames))
		return false;
	memcpy(&d, p, offsetof(struct jlog__diag, frames));
	return d.nframes <= JLOG__DIAG_FRAMES &&
	       len == offsetof(struct jlog__diag, frames) + d.nframes * sizeof(uint64_t);
}

static inline uint64_t ticks_to_ns(struct jlog__clock_cache *cc, uint64_t ticks)
{
	return cc ? jlog__clock_ticks_to_ns_cached(cc, ticks) : jlog__clock_ticks_to_ns(ticks);
}

bool jlog__record_decode(const void *rec, size_t len, struct jlog__rec_view *v)
{
	return jlog__record_decode_into(rec, len, v, NULL, 0, NULL);
}

bool jlog__record_decode_into(const void *rec, size_t len, struct jlog__rec_view *v,
                              struct jlog__field_view *fv, uint32_t cap,
                              struct jlog__clock_cache *cc)
{
	const uint8_t *p = rec;
	struct jlog__rec_hdr h;

	if (!p || len < sizeof(h))
		return false;
	memcpy(&h, p, sizeof(h));
	size_t rest = len - sizeof(h);
	if (h.msg_len > rest || h.name_len > rest - h.msg_len)
		return false;

	if (h.callsite & JLOG__CALLSITE_DEFERRED) {
		h.callsite &= ~JLOG__CALLSITE_DEFERRED;
		h.flags |= JLOG__REC_DEFERRED;
	}
	const char *file = NULL;
	const jlog_callsite *cs = h.callsite ? jlog__callsite_find(h.callsite, &file) : NULL;
	const char *msg = (const char *)p + sizeof(h);
	/* Every member is stored once, here (a compound literal zeroes the
	 * whole view first, then stores most of it again): a member added to
	 * struct jlog__rec_view is set here too. */
	const uint8_t *fields = (const uint8_t *)msg + h.msg_len + h.name_len;
	v->time_ns = h.flags & JLOG__REC_TICKS ? ticks_to_ns(cc, h.time_ns) : h.time_ns;
	v->level = h.level;
	v->flags = h.flags;
	v->tid = h.tid;
	v->msg = msg;
	v->msg_len = h.msg_len;
	v->name = msg + h.msg_len;
	v->name_len = h.name_len;
	v->file = file;
	v->function = cs ? cs->function : NULL;
	v->line = cs ? cs->line : 0;
	v->callsite = h.callsite;
	v->nfields = h.nfields;
	v->fields = fields;
	v->end = p + len;
	v->dropped = 0;
	v->fv = NULL;
	v->fv_fields = fields;
	v->fv_end = p + len;
	v->fv_nfields = h.nfields;
	v->fv_n = 0;

	/* Walk every field once here, so that the encoder can trust the
	 * count and never has to give up half way through a line. Each field
	 * takes at least a header, so a huge nfields in a short record fails
	 * fast. */
	const uint8_t *cur = v->fields, *end = p + len;
	if (fv && h.nfields <= cap) {
		uint32_t n = 0;
		/* A record marked as without a diagnostic field (nearly all)
		 * keeps every field where the loop's count puts it; one that
		 * has one after all is walked again by the loop that skips
		 * it, so both decodes accept the same bytes. */
		bool diag = h.flags & JLOG__REC_DIAG;
		for (; !diag && n < h.nfields; n++) {
			cur = field_at(cur, end, &fv[n]);
			if (!cur)
				return false;
			diag = fv[n].type == JLOG__T_DIAG;
		}
		if (JLOG__UNLIKELY(diag)) {
			cur = v->fields;
			n = 0;
			for (uint32_t i = 0; i < h.nfields; i++) {
				cur = field_at(cur, end, &fv[n]);
				if (!cur)
					return false;
				/* The diagnostic field is skipped, as
				 * jlog__field_next() does. */
				n += fv[n].type != JLOG__T_DIAG;
			}
		}
		v->fv = fv;
		v->fv_n = n;
	} else {
		struct jlog__field_view f;
		for (uint32_t i = 0; i < h.nfields; i++)
			if (!next_raw(v, &cur, &f))
				return false;
	}
	/* A producer commits the length it reserved; a value cut at a
	 * character boundary may leave a few bytes unused at the end, which
	 * the ring had zeroed. Anything else there is corruption. */
	for (; cur < end; cur++)
		if (*cur != 0)
			return false;
	return true;
}
