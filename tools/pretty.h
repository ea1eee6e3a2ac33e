/*
 * jlog-pretty's parts, shared by its files and its unit tests
 * (test/test-pretty.c):
 *
 *   pretty-json.c    a JSON line -> a small tree of nodes (no allocation
 *                    per line once the buffers have grown)
 *   pretty-record.c  the tree -> one record: which keys mean time, level,
 *                    message... in jlog's schema, its presets and other
 *                    loggers' shapes; the filters; the record view that
 *                    the library's text formatter renders
 *   pretty-input.c   files and stdin, plain, gzip or zstd, followed
 *                    through rotation
 *   jlog-pretty.c    the command line
 */
#ifndef JLOG_PRETTY_H
#define JLOG_PRETTY_H

#include "jlog-private.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- JSON (pretty-json.c) ---------------------------------------------- */

enum pj_type { PJ_NULL, PJ_BOOL, PJ_NUM, PJ_STR, PJ_ARR, PJ_OBJ };

/* One value. Children of an array or object are linked through next
 * (index into the document's nodes, 0 = none: node 0 is the root). */
struct pj_node {
	uint8_t type;
	bool b;        /* PJ_BOOL */
	bool is_int;   /* PJ_NUM without fraction or exponent that fits 64 bits */
	bool is_uint;  /* is_int, and above INT64_MAX: the value is in u */
	const char *key; /* member of an object: its key, decoded */
	uint32_t key_len;
	const char *s; /* PJ_STR: decoded text; others: the raw JSON text */
	uint32_t len;
	uint32_t child, next;
	int64_t i;
	uint64_t u;
	double d;      /* every PJ_NUM */
};

struct pj_doc {
	struct pj_node *n;
	size_t nn, cap;
	char *sbuf; /* decoded strings; sized before parsing, never moves during it */
	size_t slen, scap;
};

/* Parse @len bytes (p[len] must be readable and not a digit: a NUL or a
 * newline). 0 on success (the root is n[0]), -EINVAL when it is not one
 * JSON value, -ENOMEM. Keeps its buffers for the next call. */
int pj_parse(struct pj_doc *d, const char *p, size_t len);
void pj_free(struct pj_doc *d);
/* Member @key of object @obj, or NULL. */
const struct pj_node *pj_get(const struct pj_doc *d, const struct pj_node *obj, const char *key);

/* ---- records and filters (pretty-record.c) ------------------------------- */

struct pretty_extra {
	const char *key;
	size_t key_len;
	const struct pj_node *v;
};

struct pretty_rec {
	bool has_time;
	uint64_t time_ns;
	int level;
	const char *msg;
	size_t msg_len;
	const char *logger;
	size_t logger_len;
	char file[256];     /* base name; "" if none */
	char function[256]; /* "" if none */
	int line;
	int64_t pid;
	uint32_t tid;
	struct pretty_extra *ex; /* every other key, in line order */
	size_t nex, excap;
};

/* Map a parsed line to a record. false when the root is not an object
 * (the line is then passed through) or out of memory. */
bool pretty_map(const struct pj_doc *d, struct pretty_rec *r);
void pretty_rec_free(struct pretty_rec *r);

/* A level as other loggers name it ("warn", "panic", "notice", slog's
 * "INFO+2"...), or a number in jlog's scale; -EINVAL if unknown. */
int pretty_level_from_name(const char *s, size_t n);
/* pino and bunyan's numeric levels (10 trace ... 60 fatal) in jlog's
 * scale. */
int pretty_level_from_pino(double no);
/* OpenTelemetry's SeverityNumber (1..24) in jlog's scale. */
int pretty_level_from_otel(int64_t no);

/* RFC 3339 ("2026-11-26T04:02:03.123Z", "+02:00", a space for 'T', no
 * zone = UTC) into ns since the epoch; false if it is not one. */
bool pretty_parse_rfc3339(const char *s, size_t n, uint64_t *ns);
/* A number of seconds, ms, us or ns since the epoch (told apart by
 * magnitude) into ns. */
uint64_t pretty_epoch_ns(double v);
/* --since/--until: RFC 3339, or a duration before @now_ns ("10m", "2h",
 * "1d", "30s", "1w"). false if neither. */
bool pretty_parse_when(const char *s, uint64_t now_ns, uint64_t *ns);

enum pretty_op { OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_HAS };
struct pretty_where {
	char *key;
	char *value;
	int op;
	double num;
	bool num_ok; /* value reads as a number */
	bool level;  /* KEY is level and VALUE a level: num is its number */
};
/* Parse "key=value", "key!=value", "key>N", "key<N", "key>=N", "key<=N",
 * "key~text". 0, or -EINVAL with a message in @err. */
int pretty_where_parse(const char *expr, struct pretty_where *w, char *err, size_t errlen);
void pretty_where_free(struct pretty_where *w);
/* Whether record @r (from @d) meets @w. A missing key meets only "!=". */
bool pretty_where_match(const struct pretty_where *w, const struct pj_doc *d,
                        const struct pretty_rec *r);

/* Encode @r's extras (only the keys in @only, a NULL-terminated list, when
 * it is not NULL) into @fields and fill @v to show the record. @v points
 * into @r, @fields and the document. false when out of memory. */
bool pretty_view(const struct pretty_rec *r, char *const *only, struct jlog__buf *fields,
                 struct jlog__rec_view *v);

/* ---- input (pretty-input.c) ---------------------------------------------- */

enum pin_kind { PIN_PLAIN, PIN_GZIP, PIN_ZSTD };

struct pin {
	const char *path; /* "-" is stdin */
	int fd;
	int kind;
	bool follow;
	bool raw_eof;
	bool rotated; /* following: the path names another file now */
	dev_t dev;
	ino_t ino;
	off_t pos;    /* plain files: bytes read */
	unsigned char *raw;
	size_t raw_len, raw_pos;
	void *z;      /* z_stream or ZSTD_DStream */
	bool z_end;   /* the last gzip member or zstd frame ended */
};

/* Open @path ("-" for stdin); follow it through rotation with @follow.
 * 0, or a negative errno with a message printed on stderr. */
int pin_open(struct pin *in, const char *path, bool follow);
/* Up to @cap decoded bytes into @dst: the count, 0 at the end (never when
 * following), or a negative errno (a message is printed). */
ssize_t pin_read(struct pin *in, char *dst, size_t cap);
void pin_close(struct pin *in);
/* Whether this build reads gzip and zstd files. */
bool pin_have_zlib(void);
bool pin_have_zstd(void);

#endif /* JLOG_PRETTY_H */
