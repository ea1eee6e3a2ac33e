/*
 * The flight recorder (README, "Flight recorder"): records below the
 * logger's level, down to the recorder's, that the log path marked
 * JLOG__REC_DEFERRED are kept by the writer in a bounded buffer and
 * written before the next record at or above the trigger level. The log
 * path's side is the gate (logger.c's set_gate()) and one branch in
 * hotpath.c; the writer's is here. Pair: flight.c.
 */
#ifndef JLOG_FLIGHT_H
#define JLOG_FLIGHT_H

#include "jlog-private.h"

struct json_t;

/* One held record: where it is in buf. */
struct jlog__flight_ent {
	size_t off;
	size_t len;
};

struct jlog__flight {
	int level;   /* the lowest level recorded */
	int trigger; /* a record at or above it writes the held ones */
	uint32_t max_records;
	size_t cap;  /* bytes of buf */
	/* Writer thread: the held records, oldest first, in a circular byte
	 * buffer (each record whole, so it decodes in place) and a circular
	 * array of max_records entries. */
	uint8_t *buf;
	struct jlog__flight_ent *ent;
	uint32_t first, n;
	/* jlog_stats.deferred_*; written by the writer, read by any thread. */
	_Atomic uint64_t written;
	_Atomic uint64_t discarded;
	_Atomic uint64_t held;
};

/* The recorder @o asks for in *out (NULL when flight_records is 0), or
 * -EINVAL (named by jlog__fail) / -ENOMEM. */
int jlog__flight_new(const jlog_options *o, struct jlog__flight **out);
void jlog__flight_free(struct jlog__flight *f);
/* Writer: keep a copy of the deferred record @v (decoded from the ring),
 * with the field "deferred":true added, pushing out the oldest records
 * while there is no room. */
void jlog__flight_keep(struct jlog__flight *f, const struct jlog__rec_view *v);
/* Writer: call @emit for each held record, oldest first, and forget them. */
void jlog__flight_replay(struct jlog__flight *f,
                         void (*emit)(void *arg, const struct jlog__rec_view *v), void *arg);
/* Writer, at stop: the records still held are discarded (counted). */
void jlog__flight_discard(struct jlog__flight *f);
/* In a forked child: forget the parent's records and counts. */
void jlog__flight_fork_child(struct jlog__flight *f);

/* The logger key "flight_recorder" into @o (a jlog_options), as
 * jlog_open_config() reads it. 0 or -EINVAL with the key path in @err. */
int jlog__cfg_flight(const struct json_t *v, jlog_options *o, char *err, size_t errlen);
/* The effective "flight_recorder" of @o for jlog-config show (null when
 * off); level names from @levels (a document's "levels", may be NULL). */
struct json_t *jlog__flight_to_json(const jlog_options *o,
                                    struct json_t *(*level_json)(int level,
                                                                 const struct json_t *levels),
                                    const struct json_t *levels);

#endif
