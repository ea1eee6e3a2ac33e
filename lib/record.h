/*
 * The record (record.c): its layout in the ring, the decoded record
 * and field views, the size and writing of an encoded field, the
 * diagnostic field, and what the formatters share for fields (fields.c:
 * duplicate keys, per-thread scratch).
 * A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_RECORD_H
#define JLOG_RECORD_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/*
 * A record is self-contained bytes: no pointer is stored in it, so a
 * committed record stays meaningful whatever the caller does next (and
 * could be read by another process). Layout, all fields native-endian:
 *
 *   struct jlog__rec_hdr
 *   msg_len bytes of message
 *   name_len bytes of logger name
 *   nfields times: struct jlog__field_hdr, key_len bytes of key, value
 *
 * Values: STR and JSON carry val_len bytes (JSON is compact JSON text
 * produced by jansson); INT, UINT, DOUBLE carry 8 bytes; BOOL 1 byte;
 * NULL nothing. Bound fields (from JLOG_WITH) come first, then the call's.
 */
struct jlog__rec_hdr {
	uint64_t time_ns;  /* CLOCK_REALTIME ns since the epoch, or ticks */
	uint32_t callsite; /* id in the callsite table, 0 = none */
	uint32_t tid;      /* kernel thread id of the caller */
	uint32_t msg_len;
	uint32_t nfields;
	uint16_t name_len;
	uint8_t level;
	uint8_t flags;     /* JLOG__REC_* */
	uint32_t reserved;
};

enum {
	JLOG__REC_TRUNCATED = 1u << 0, /* some value was cut */
	JLOG__REC_SYNTHETIC = 1u << 1, /* made by jlog itself (drop report) */
	JLOG__REC_MSG_TRUNCATED = 1u << 2, /* the message was cut */
	JLOG__REC_DIAG = 1u << 3, /* has a diagnostic field (JLOG__T_DIAG) */
	/* time_ns holds a time-stamp counter reading, not ns (clock.c);
	 * jlog__record_decode() converts it. */
	JLOG__REC_TICKS = 1u << 4,
	/* Below the logger's level: for the flight recorder (flight.h), not
	 * for the sinks, until a trigger record comes. */
	JLOG__REC_DEFERRED = 1u << 5,
};
/* The fast path marks a deferred record in its callsite id (hotpath.c's
 * begin_record(), where setting a flag costs every call a register);
 * jlog__record_decode() turns it into JLOG__REC_DEFERRED. Ids stay far
 * below it (callsite.c). */
#define JLOG__CALLSITE_DEFERRED (1u << 31)

/* struct jlog__field_hdr is in jlog.h: the macros encode fields inline.
 * Its flags: */
enum {
	JLOG__FIELD_TRUNCATED = 1u << 0,
	/* A JSON value cut short: a string of its text's prefix, whose
	 * members redaction can no longer tell apart (redact.c). */
	JLOG__FIELD_CUT_JSON = 1u << 1,
};

/* JLOG__MAX_KEY (jlog.h) is the longest key kept (longer keys are cut, at
 * a UTF-8 boundary). */

/* A decoded field: pointers into the record bytes. Its first members are
 * struct jlog__field_hdr's, in that order, so that the decode copies the
 * header in one store (field_at(), record.c). */
struct jlog__field_view {
	uint8_t type;  /* enum jlog__type */
	uint8_t flags;
	uint16_t key_len;
	uint32_t val_len;
	const char *key;
	union {
		int64_t i;
		uint64_t u;
		double d;
		bool b;
		const char *s; /* STR and JSON: val_len bytes */
	} v;
};
_Static_assert(offsetof(struct jlog__field_view, type) == offsetof(struct jlog__field_hdr, type) &&
                   offsetof(struct jlog__field_view, flags) ==
                       offsetof(struct jlog__field_hdr, flags) &&
                   offsetof(struct jlog__field_view, key_len) ==
                       offsetof(struct jlog__field_hdr, key_len) &&
                   offsetof(struct jlog__field_view, val_len) ==
                       offsetof(struct jlog__field_hdr, val_len) &&
                   sizeof(struct jlog__field_hdr) == 8,
               "a field view starts with the field header");

/* A decoded record. Strings point into the record bytes (or static data for
 * file/function) and are valid while the record is. */
struct jlog__rec_view {
	uint64_t time_ns;
	int level;
	unsigned flags;
	const char *msg;
	size_t msg_len;
	const char *name;
	size_t name_len;
	const char *file;     /* base name, NULL if unknown */
	const char *function; /* NULL if unknown */
	int line;
	/* The callsite id that file, function and line come from; 0 when
	 * they do not come from the callsite table. */
	uint32_t callsite;
	uint32_t nfields;
	uint32_t tid;
	/* No padding before here or after fv_n, so that a test can tell
	 * every byte was set by jlog__record_decode_into(), which stores
	 * each member itself. */
	const uint8_t *fields; /* first struct jlog__field_hdr */
	const uint8_t *end;    /* end of the record */
	/* For synthetic drop reports: the number of records dropped. */
	uint64_t dropped;
	/* The fields jlog__field_next() walks, as jlog__record_decode_into()
	 * already decoded them (fv_n of them), or NULL. They hold only while
	 * fields, end and nfields are the ones decoded: a copy of the view
	 * given other fields (redaction, diagnostics) or cut short
	 * (transport-net.c) walks its own. Read them with jlog__rec_decoded(). */
	const struct jlog__field_view *fv;
	const uint8_t *fv_fields;
	const uint8_t *fv_end;
	uint32_t fv_nfields;
	uint32_t fv_n;
};

/* The decoded fields of @v, fv_n of them, or NULL when the encoder must
 * walk them itself (see struct jlog__rec_view). */
static inline const struct jlog__field_view *jlog__rec_decoded(const struct jlog__rec_view *v)
{
	return v->fv && v->fv_fields == v->fields && v->fv_end == v->end &&
	               v->fv_nfields == v->nfields
	               ? v->fv
	               : NULL;
}

/* A record the writer makes itself, which no call logged: the drop and
 * sampling reports (writer.c) and the stats record (metrics.c). Marked
 * JLOG__REC_SYNTHETIC; @n encoded fields in [@fields, @end), none when
 * NULL. Records from the ring come from jlog__record_decode_into(). */
static inline struct jlog__rec_view jlog__rec_synthetic(int level, const char *msg,
                                                        uint64_t time_ns, uint32_t tid,
                                                        const uint8_t *fields,
                                                        const uint8_t *end, uint32_t n)
{
	return (struct jlog__rec_view){
		.time_ns = time_ns,
		.level = level,
		.flags = JLOG__REC_SYNTHETIC,
		.tid = tid,
		.msg = msg,
		.msg_len = strlen(msg),
		.nfields = n,
		.fields = fields,
		.end = end,
	};
}

/* Encoded size of one field as the caller gave it, before truncation. */
size_t jlog__field_size(const jlog_field *f);

/*
 * Serialize a field into @dst, which has room for jlog__field_size(f), or
 * less when @val_cap limits a STR/JSON value (the value is then cut at a
 * UTF-8 boundary and flagged truncated). Returns bytes written.
 */
size_t jlog__field_write(uint8_t *dst, const jlog_field *f, size_t val_cap);

/*
 * The diagnostic field: what a log call at ERROR and above captures when a
 * sink shows a backtrace or diagnose (jlog_sink_options). Its type is
 * JLOG__T_DIAG, known to the library only; its value is this struct with
 * nframes frames. jlog__field_next() skips it; the writer expands it into
 * ordinary fields for the sinks that show them (jlog__diag_view()).
 */
#define JLOG__T_DIAG 100
#define JLOG__DIAG_FRAMES 48
struct jlog__diag {
	int32_t err;        /* errno when the call began */
	char thread[16];    /* thread name, NUL-padded */
	uint32_t nframes;
	uint64_t frames[JLOG__DIAG_FRAMES]; /* return addresses, innermost first */
};
bool jlog__diag_valid(const uint8_t *p, size_t len);

/*
 * A decoded field and its key as a formatter prints it (at off, len bytes,
 * in the formatter's key buffer), for the duplicate-key rule (fields.c):
 * skip is set on every field a later field with the same printed key
 * overrides.
 */
struct jlog__key_ent {
	struct jlog__field_view f;
	size_t off;
	size_t len;
	uint32_t hash;
	bool skip;
};
/* Double the entries (64 at first). false when out of memory. */
bool jlog__key_ents_grow(struct jlog__key_ent **ent, size_t *cap);
/* Set skip on each of the @n entries that a later one overrides; @keys
 * holds the printed keys; *table is scratch space kept between calls.
 * false when out of memory. */
bool jlog__mark_duplicate_keys(const char *keys, struct jlog__key_ent *ent, size_t n,
                               uint32_t **table, size_t *table_cap);

/*
 * A formatter's per-thread scratch space (fields.c). The formatter keeps
 * a _Thread_local pointer as the fast way in and calls
 * jlog__tls_slot_get() only while it is NULL; the pthread key exists only
 * to call @free on the scratch when the thread exits, and @free clears
 * the formatter's pointer. Define a slot with JLOG__TLS_SLOT_INIT.
 */
struct jlog__tls_slot {
	pthread_once_t once;
	pthread_key_t key;      /* created on first use, if one is left */
	bool key_ok;
	size_t size;            /* bytes to calloc */
	bool (*init)(void *);   /* NULL, or set up a zeroed scratch; on false it
	                           has allocated nothing and the scratch is freed */
	void (*free)(void *);   /* the key's destructor */
};
#define JLOG__TLS_SLOT_INIT(size_, init_, free_) \
	{ .once = PTHREAD_ONCE_INIT, .size = (size_), .init = (init_), .free = (free_) }
/* A new zeroed scratch of slot->size bytes, registered to be freed when
 * this thread exits; NULL when out of memory. */
void *jlog__tls_slot_get(struct jlog__tls_slot *slot);

/* Decode @len bytes of a record. Returns false if the bytes are not a
 * well-formed record (the writer then skips it and counts an error). */
bool jlog__record_decode(const void *rec, size_t len, struct jlog__rec_view *v);
/* The same, keeping the fields that jlog__field_next() would return in
 * @fv (room for @cap) for the formatters, when there are at most @cap:
 * the writer's decode already walks every field to check it, and the
 * encoder then need not walk them again. @fv must outlive the view's use. */
struct jlog__clock_cache;
/* Counter readings convert through @cc when not NULL (the writer's own
 * copy of the clock's anchor, clock.h). */
bool jlog__record_decode_into(const void *rec, size_t len, struct jlog__rec_view *v,
                              struct jlog__field_view *fv, uint32_t cap,
                              struct jlog__clock_cache *cc);

/* Iterate the fields of a decoded record: *cursor starts at v->fields.
 * Returns false at the end or on malformed bytes. Skips the diagnostic
 * field; the _raw form returns it too. */
bool jlog__field_next(const struct jlog__rec_view *v, const uint8_t **cursor,
                      struct jlog__field_view *f);
bool jlog__field_next_raw(const struct jlog__rec_view *v, const uint8_t **cursor,
                          struct jlog__field_view *f);

/* Serialize a jansson value to compact JSON into @dst (capacity @cap).
 * Returns the full length the text needs (may exceed cap), 0 on failure. */
size_t jlog__json_dump(const struct json_t *j, char *dst, size_t cap);

#endif /* JLOG_RECORD_H */
