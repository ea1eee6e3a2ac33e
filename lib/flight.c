/*
 * The flight recorder's writer side and its configuration (flight.h
 * says what it does; the README's "Flight recorder" why). The held
 * records are copies of the ring's bytes with one field added,
 * "deferred":true, so that every format, preset and transport shows the
 * mark as it shows a call's own field, and the writer's emit() treats
 * them as any record (sink levels and filters, redaction).
 */
#include "flight.h"
#include "opt.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS 1000000u
#define DEFAULT_BYTES (256u * 1024u)
#define MIN_BYTES (4u * 1024u)
#define MAX_BYTES ((size_t)1 << 30)

static const char mark_key[] = "deferred";
/* The added field: header, key, one byte of value. */
#define MARK_SIZE (sizeof(struct jlog__field_hdr) + sizeof(mark_key) - 1 + 1)

int jlog__flight_new(const jlog_options *o, struct jlog__flight **out)
{
	*out = NULL;
	if (o->flight_records == 0)
		return 0;
	if (o->flight_records > MAX_RECORDS)
		return jlog__fail(-EINVAL, "jlog_open: flight_records %u is out of range 0..%u",
		                  o->flight_records, MAX_RECORDS);
	if (o->flight_bytes < MIN_BYTES || o->flight_bytes > MAX_BYTES)
		return jlog__fail(-EINVAL, "jlog_open: flight_bytes %zu is out of range %u..%zu",
		                  o->flight_bytes, MIN_BYTES, MAX_BYTES);
	if (o->flight_level < 0 || o->flight_level > 255 || o->flight_trigger < 0 ||
	    o->flight_trigger > JLOG_LEVEL_OFF)
		return jlog__fail(-EINVAL, "jlog_open: flight_level %d or flight_trigger %d is "
		                  "out of range 0..255", o->flight_level, o->flight_trigger);
	if (o->flight_trigger <= o->flight_level)
		return jlog__fail(-EINVAL, "jlog_open: flight_trigger %d must be above "
		                  "flight_level %d", o->flight_trigger, o->flight_level);
	struct jlog__flight *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->level = o->flight_level;
	f->trigger = o->flight_trigger;
	f->max_records = o->flight_records;
	f->cap = o->flight_bytes;
	f->buf = malloc(f->cap);
	f->ent = malloc(f->max_records * sizeof(*f->ent));
	if (!f->buf || !f->ent) {
		jlog__flight_free(f);
		return jlog__fail(-ENOMEM, "jlog_open: out of memory for the flight recorder "
		                  "(%zu bytes)", o->flight_bytes);
	}
	*out = f;
	return 0;
}

void jlog__flight_free(struct jlog__flight *f)
{
	if (!f)
		return;
	free(f->buf);
	free(f->ent);
	free(f);
}

static void drop_oldest(struct jlog__flight *f)
{
	f->first = f->first + 1 == f->max_records ? 0 : f->first + 1;
	f->n--;
	/* Relaxed: statistics counters, written by this thread only. */
	atomic_fetch_add_explicit(&f->discarded, 1, memory_order_relaxed);
}

/* Where a record of @len bytes goes, pushing out the oldest while it does
 * not fit; false when it cannot fit at all. */
static bool place(struct jlog__flight *f, size_t len, size_t *off)
{
	if (len > f->cap)
		return false;
	for (;;) {
		if (f->n == 0) {
			f->first = 0;
			*off = 0;
			return true;
		}
		if (f->n < f->max_records) {
			uint32_t last = (f->first + f->n - 1) % f->max_records;
			size_t head = f->ent[f->first].off;
			size_t tail = f->ent[last].off + f->ent[last].len;
			if (f->ent[last].off >= head) {
				/* Not wrapped: room after the newest, else at the
				 * start before the oldest. */
				if (f->cap - tail >= len) {
					*off = tail;
					return true;
				}
				if (head >= len) {
					*off = 0;
					return true;
				}
			} else if (head - tail >= len) {
				*off = tail;
				return true;
			}
		}
		drop_oldest(f);
	}
}

void jlog__flight_keep(struct jlog__flight *f, const struct jlog__rec_view *v)
{
	const uint8_t *rec = (const uint8_t *)v->msg - sizeof(struct jlog__rec_hdr);
	/* The fields end before any unused bytes the producer reserved. */
	const uint8_t *cur = v->fields;
	struct jlog__field_view fv;
	for (uint32_t i = 0; i < v->nfields; i++)
		if (!jlog__field_next_raw(v, &cur, &fv))
			return; /* decoded already: never */
	size_t body = (size_t)(cur - rec);
	size_t len = JLOG__ALIGN8(body + MARK_SIZE);
	size_t off;
	if (!place(f, len, &off)) {
		atomic_fetch_add_explicit(&f->discarded, 1, memory_order_relaxed);
		return;
	}
	uint8_t *p = f->buf + off;
	memcpy(p, rec, body);
	struct jlog__rec_hdr h;
	memcpy(&h, p, sizeof(h));
	h.nfields++;
	h.flags &= (uint8_t)~JLOG__REC_DEFERRED;
	h.callsite &= ~JLOG__CALLSITE_DEFERRED;
	memcpy(p, &h, sizeof(h));
	struct jlog__field_hdr fh = {.type = JLOG__T_BOOL, .key_len = sizeof(mark_key) - 1,
	                             .val_len = 1};
	uint8_t *q = p + body;
	memcpy(q, &fh, sizeof(fh));
	memcpy(q + sizeof(fh), mark_key, sizeof(mark_key) - 1);
	q[sizeof(fh) + sizeof(mark_key) - 1] = 1;
	/* The alignment's bytes are zero, as decoding wants them. */
	memset(p + body + MARK_SIZE, 0, len - body - MARK_SIZE);
	uint32_t at = (f->first + f->n) % f->max_records;
	f->ent[at] = (struct jlog__flight_ent){off, len};
	f->n++;
	atomic_store_explicit(&f->held, f->n, memory_order_relaxed);
}

void jlog__flight_replay(struct jlog__flight *f,
                         void (*emit)(void *arg, const struct jlog__rec_view *v), void *arg)
{
	uint64_t done = 0;
	while (f->n) {
		struct jlog__flight_ent e = f->ent[f->first];
		struct jlog__rec_view v;
		if (jlog__record_decode(f->buf + e.off, e.len, &v)) {
			emit(arg, &v);
			done++;
		} else {
			atomic_fetch_add_explicit(&f->discarded, 1, memory_order_relaxed);
		}
		f->first = f->first + 1 == f->max_records ? 0 : f->first + 1;
		f->n--;
	}
	atomic_fetch_add_explicit(&f->written, done, memory_order_relaxed);
	atomic_store_explicit(&f->held, 0, memory_order_relaxed);
}

void jlog__flight_discard(struct jlog__flight *f)
{
	atomic_fetch_add_explicit(&f->discarded, f->n, memory_order_relaxed);
	f->n = 0;
	atomic_store_explicit(&f->held, 0, memory_order_relaxed);
}

void jlog__flight_fork_child(struct jlog__flight *f)
{
	if (!f)
		return;
	/* Only this thread runs: the parent's writer may have been half way
	 * through an update, so the held records are forgotten, not read. */
	f->first = 0;
	f->n = 0;
	atomic_store_explicit(&f->written, 0, memory_order_relaxed);
	atomic_store_explicit(&f->discarded, 0, memory_order_relaxed);
	atomic_store_explicit(&f->held, 0, memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* Configuration: "flight_recorder": {"records", "bytes", "level", "trigger"} */
/* ------------------------------------------------------------------------ */

static int set_records(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	long long n = 0;
	int rc = jlog__cfg_int(v, path, 1, MAX_RECORDS, &n, err, errlen);
	((jlog_options *)base)->flight_records = (unsigned)n;
	return rc;
}

static int set_bytes(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	long long n = 0;
	int rc = jlog__cfg_int(v, path, MIN_BYTES, (long long)MAX_BYTES, &n, err, errlen);
	((jlog_options *)base)->flight_bytes = (size_t)n;
	return rc;
}

/* The keys, read by jlog__cfg_flight() and shown by jlog__flight_to_json()
 * from the same table. */
static const struct jlog__opt flight_keys[] = {
	{"records", JLOG__OPT_CUSTOM, offsetof(jlog_options, flight_records), set_records,
	 "records held at most"},
	{"bytes", JLOG__OPT_CUSTOM, offsetof(jlog_options, flight_bytes), set_bytes,
	 "bytes held at most"},
	{"level", JLOG__OPT_LEVEL, offsetof(jlog_options, flight_level), NULL,
	 "the lowest level recorded"},
	{"trigger", JLOG__OPT_LEVEL, offsetof(jlog_options, flight_trigger), NULL,
	 "the level that writes the held records"},
	{NULL, 0, 0, NULL, NULL},
};

int jlog__cfg_flight(const json_t *v, jlog_options *o, char *err, size_t errlen)
{
	static const char key[] = "flight_recorder";
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return jlog__cfg_fail(err, errlen, key, "expected an object or null, got %s",
		                      jlog__cfg_type_name(v));
	if (!json_object_get(v, "records"))
		return jlog__cfg_fail(err, errlen, key, "\"records\" is required");
	int rc = jlog__opt_set_object(flight_keys, o, v, key, err, errlen);
	if (rc < 0)
		return rc;
	if (o->flight_trigger <= o->flight_level)
		return jlog__cfg_fail(err, errlen, "flight_recorder.trigger",
		                      "must be above \"level\" (%d <= %d)", o->flight_trigger,
		                      o->flight_level);
	return 0;
}

json_t *jlog__flight_to_json(const jlog_options *o,
                             json_t *(*level_json)(int level, const json_t *levels),
                             const json_t *levels)
{
	if (o->flight_records == 0)
		return json_null();
	json_t *j = json_object();
	for (const struct jlog__opt *k = flight_keys; j && k->name; k++) {
		const char *field = (const char *)o + k->offset;
		json_t *val;
		if (k->type == JLOG__OPT_LEVEL) {
			int level;
			memcpy(&level, field, sizeof(level));
			val = level_json(level, levels);
		} else if (k->offset == offsetof(jlog_options, flight_records)) {
			val = json_integer((json_int_t)o->flight_records);
		} else {
			val = json_integer((json_int_t)o->flight_bytes);
		}
		json_object_set_new(j, k->name, val);
	}
	return j;
}
