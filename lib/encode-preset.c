/*
 * JSON presets: a decoded record becomes one JSON line in the shape a log
 * aggregator expects. The value encoders (strings, numbers, time) are
 * encode.c's; this file only lays out keys, and keeps the rule that no key
 * appears twice in a line.
 *
 *   default  encode.c's schema. Unchanged options give exactly
 *            jlog__encode_json()'s bytes (it is called); renamed keys and
 *            another time format go through line_default() below.
 *   ecs      Elastic Common Schema 8.x, flat dotted keys as ecs-logging
 *            writes them: @timestamp, log.level ("info"), message,
 *            [log.logger], [log.origin.file.name], [log.origin.file.line],
 *            [log.origin.function], process.pid, process.thread.id,
 *            ecs.version ("8.11.0"), [jlog.truncated], [jlog.dropped], then
 *            the fields at top level.
 *   gcp      Cloud Logging structured JSON: severity, message, timestamp
 *            (an RFC 3339 string, the key the project's contract names;
 *            some Google agents read a string only from "time" and want
 *            {"seconds","nanos"} under "timestamp": "time" is therefore
 *            reserved too, so no field can contradict the entry's time),
 *            [logging.googleapis.com/sourceLocation {file, line (a string,
 *            as int64 is in proto3 JSON), function}],
 *            [logging.googleapis.com/labels {"logger": name}], pid, tid,
 *            [truncated], [dropped], then the fields.
 *   otel     the OpenTelemetry log data model, flat per line: Timestamp (ns
 *            since the epoch as a decimal string, as OTLP/JSON writes
 *            64-bit integers: a JSON number that large loses digits in
 *            double-based readers), SeverityText, SeverityNumber, Body,
 *            Resource {process.pid, [service.name from OTEL_SERVICE_NAME]},
 *            [InstrumentationScope {"name": logger name}], Attributes
 *            {[code.filepath], [code.lineno], [code.function], thread.id,
 *            [jlog.truncated], [jlog.dropped], then the fields}.
 *   loguru   loguru's serialize=True shape: {"text": ..., "record": {...}}
 *            with the fields in record.extra (see line_loguru()).
 *
 * Duplicate keys, in every preset: a field whose key (as printed) is one
 * of the keys the preset writes beside it is written as "fields.<key>",
 * again while that is still such a key; among the fields, the last one
 * with a given printed key wins. The keys "beside" the fields are the
 * top-level keys (default, ecs, gcp), the Attributes keys (otel) or
 * record.extra's own keys (loguru). For gcp they include the aliases under
 * which Cloud Logging would take a field as the entry's severity or time
 * (logging.googleapis.com/severity, time, timestampSeconds,
 * timestampNanos); its other special keys (logging.googleapis.com/trace,
 * spanId, httpRequest...) are left to the fields on purpose. For ecs a
 * field also yields when Elasticsearch would expand it into a path that
 * clashes with a preset key ("log" and "log.level.x" against "log.level"),
 * since such a document is refused at indexing.
 *
 * Everything here runs on the writer thread; the key scratch space is
 * thread-local, as in encode.c.
 */
#include "jlog-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The ECS version the ecs preset's lines conform to. */
#define ECS_VERSION "8.11.0"

/* ------------------------------------------------------------------------ */
/* Process facts                                                            */
/* ------------------------------------------------------------------------ */

uint64_t jlog__start_ns;

/* loguru's record.elapsed counts from when loguru was imported; ours from
 * when the library was loaded, which for a program linked with it is its
 * start. */
__attribute__((constructor)) static void start_init(void)
{
	jlog__start_ns = jlog__now_ns();
}

/* OTEL_SERVICE_NAME is read once, on the first otel line, and copied: the
 * writer must not call getenv() on every line while the program may be
 * calling setenv(). */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char *service_name;

static void env_init(void)
{
	const char *s = getenv("OTEL_SERVICE_NAME");
	if (s && *s)
		service_name = strdup(s);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

/* ASCII case-insensitive equality with a lowercase name; no locale. */
static bool name_is(const char *s, const char *lower)
{
	for (; *s && *lower; s++, lower++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (c != (unsigned char)*lower)
			return false;
	}
	return *s == *lower;
}

struct name_value {
	const char *name;
	int value;
};

static const struct name_value preset_names[] = {
	{"default", JLOG__PRESET_DEFAULT}, {"ecs", JLOG__PRESET_ECS},
	{"gcp", JLOG__PRESET_GCP},         {"otel", JLOG__PRESET_OTEL},
	{"loguru", JLOG__PRESET_LOGURU},
};

static const struct name_value time_format_names[] = {
	{"rfc3339", JLOG__TIME_RFC3339_US},    {"rfc3339_ms", JLOG__TIME_RFC3339_MS},
	{"rfc3339_us", JLOG__TIME_RFC3339_US}, {"rfc3339_ns", JLOG__TIME_RFC3339_NS},
	{"epoch", JLOG__TIME_EPOCH_S},         {"epoch_s", JLOG__TIME_EPOCH_S},
	{"epoch_ms", JLOG__TIME_EPOCH_MS},     {"epoch_ns", JLOG__TIME_EPOCH_NS},
};

static int lookup(const struct name_value *t, size_t n, const char *name)
{
	if (name)
		for (size_t i = 0; i < n; i++)
			if (name_is(name, t[i].name))
				return t[i].value;
	return -EINVAL;
}

int jlog__preset_parse(const char *name)
{
	return lookup(preset_names, ARRAY_LEN(preset_names), name);
}

int jlog__time_format_parse(const char *name)
{
	return lookup(time_format_names, ARRAY_LEN(time_format_names), name);
}

/* The last name of @value in @t: the tables list a short alias before
 * the full name ("rfc3339" before "rfc3339_us"). */
static const char *name_of(const struct name_value *t, size_t n, int value)
{
	const char *name = NULL;
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			name = t[i].name;
	return name;
}

const char *jlog__preset_name(int preset)
{
	return name_of(preset_names, ARRAY_LEN(preset_names), preset);
}

const char *jlog__time_format_name(int time_format)
{
	return name_of(time_format_names, ARRAY_LEN(time_format_names), time_format);
}

void jlog__json_opts_init(struct jlog__json_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->preset = JLOG__PRESET_DEFAULT;
	o->time_format = JLOG__TIME_RFC3339_US;
}

/* ------------------------------------------------------------------------ */
/* Scratch space                                                            */
/* ------------------------------------------------------------------------ */


/* Fields are decoded once into struct jlog__key_ent entries, with their
 * keys as printed (escaped, "fields." prepended where needed) at off in
 * scratch.keys; fields.c marks the duplicates. */
struct scratch {
	struct jlog__buf keys;  /* printed field keys; byte 0 is a sentinel */
	struct jlog__buf names; /* printed renamed schema keys; byte 0 too */
	struct jlog__key_ent *ent;
	size_t ent_cap;
	uint32_t *table; /* open addressing; entry index + 1, 0 = empty */
	size_t table_cap;
};


/* This thread's scratch; the pthread key only frees it at thread exit. */
static _Thread_local struct scratch *tls_scratch;

static void scratch_free(void *p)
{
	struct scratch *s = p;
	jlog__buf_finish(&s->keys);
	jlog__buf_finish(&s->names);
	free(s->ent);
	free(s->table);
	free(s);
	tls_scratch = NULL;
}

static struct jlog__tls_slot scratch_slot =
	JLOG__TLS_SLOT_INIT(sizeof(struct scratch), NULL, scratch_free);

static struct scratch *scratch_get(void)
{
	if (tls_scratch)
		return tls_scratch;
	return tls_scratch = jlog__tls_slot_get(&scratch_slot);
}

/* ------------------------------------------------------------------------ */
/* Strings and keys                                                         */
/* ------------------------------------------------------------------------ */

/*
 * Append the body of a JSON string (escaped, no quotes) to @b, which holds
 * at least one byte. jlog__json_str() writes its opening quote over the
 * last byte, which is put back afterwards, and its closing quote is taken
 * off: the body lands in place without a copy.
 */
static void put_body(struct jlog__buf *b, const char *s, size_t n, bool truncated)
{
	size_t pos = b->len;
	char saved = b->p[pos - 1];
	b->len = pos - 1;
	if (truncated)
		jlog__json_str_truncated(b, s, n);
	else
		jlog__json_str(b, s, n);
	b->p[pos - 1] = saved;
	if (b->len > pos)
		b->len--;
	else
		b->len = pos; /* out of memory: the line is dropped anyway */
}

/* A key as printed. jansson, like most C consumers, cannot hold a NUL in
 * an object key, so a NUL there becomes U+FFFD (as in encode.c). */
static void put_key_body(struct jlog__buf *b, const char *k, size_t n)
{
	const char *nul;
	while (n && (nul = memchr(k, '\0', n)) != NULL) {
		put_body(b, k, (size_t)(nul - k), false);
		jlog__buf_lit(b, "\xef\xbf\xbd");
		n -= (size_t)(nul - k) + 1;
		k = nul + 1;
	}
	put_body(b, k, n, false);
}

struct span {
	const char *p;
	size_t n;
};

#define SPAN(s) {(s), sizeof(s) - 1}

/* The keys a preset writes beside the fields: a field may not take one. */
struct rset {
	const struct span *k;
	size_t n;
	/* Elasticsearch paths: "a" and "a.b.c" clash with "a.b". */
	bool paths;
};

static bool rset_has(const struct rset *r, const char *k, size_t n)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct span *s = &r->k[i];
		if (s->n == n && memcmp(s->p, k, n) == 0)
			return true;
		if (!r->paths)
			continue;
		if (n < s->n && s->p[n] == '.' && memcmp(s->p, k, n) == 0)
			return true;
		if (n > s->n && k[s->n] == '.' && memcmp(s->p, k, s->n) == 0)
			return true;
	}
	return false;
}

/*
 * Decode every field once and print its key into s->keys, prefixed with
 * "fields." for as long as it is a key of @r (a renamed schema key may
 * itself be "fields.<something>"; the set is finite and each round makes
 * the key longer, so this ends). *count gets the number of fields.
 */
static bool collect_fields(struct scratch *s, const struct jlog__rec_view *v,
                           const struct rset *r, size_t *count)
{
	const uint8_t *cur = v->fields;
	size_t n = 0;

	s->keys.len = 0;
	s->keys.failed = false;
	jlog__buf_putc(&s->keys, '\0');
	while (n < v->nfields && !s->keys.failed) {
		if (n == s->ent_cap && !jlog__key_ents_grow(&s->ent, &s->ent_cap))
			return false;
		struct jlog__key_ent *e = &s->ent[n];
		if (!jlog__field_next(v, &cur, &e->f))
			break;
		n++;
		e->off = s->keys.len;
		put_key_body(&s->keys, e->f.key, e->f.key_len);
		e->len = s->keys.len - e->off;
		while (!s->keys.failed && rset_has(r, s->keys.p + e->off, e->len) &&
		       jlog__buf_room(&s->keys, 7)) {
			char *k = s->keys.p + e->off;
			memmove(k + 7, k, e->len);
			memcpy(k, "fields.", 7);
			s->keys.len += 7;
			e->len += 7;
		}
		e->skip = false;
	}
	*count = n;
	return !s->keys.failed;
}

/*
 * Decode and deduplicate the record's fields against @r, in *sp (taken
 * from this thread when NULL). Returns false when memory ran out
 * (b->failed is then set and nothing is written); *n is 0, and *sp may
 * stay NULL, when the record has no fields.
 */
static bool prepare(struct jlog__buf *b, const struct jlog__rec_view *v, const struct rset *r,
                    struct scratch **sp, size_t *n)
{
	*n = 0;
	if (!v->nfields || !v->fields)
		return true;
	struct scratch *s = *sp ? *sp : scratch_get();
	if (!s || !collect_fields(s, v, r, n) || !jlog__mark_duplicate_keys(s->keys.p, s->ent, *n, &s->table, &s->table_cap)) {
		b->failed = true;
		return false;
	}
	*sp = s;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Values (jlog__json_value(), shared with encode.c)                        */
/* ------------------------------------------------------------------------ */

/* The surviving fields as members: ",\"k\":v" each, without the first
 * comma when *first (inside an object that has no member yet). */
/* The line being written says "big_numbers": "string" (set by
 * jlog__encode_preset(); writer thread). */
static _Thread_local bool tls_big_strings;

/* 2^53: beyond it a double, hence JavaScript, loses integers. Compared
 * as integers: converting to double would round 2^53 + 1 down into range. */
#define EXACT_MAX (1ull << 53)

static bool beyond_double(const struct jlog__field_view *f)
{
	if (f->type == JLOG__T_INT)
		return f->v.i > (int64_t)EXACT_MAX || f->v.i < -(int64_t)EXACT_MAX;
	return f->type == JLOG__T_UINT && f->v.u > EXACT_MAX;
}

static void put_fields(struct jlog__buf *b, const struct scratch *s, size_t n, bool *first)
{
	for (size_t i = 0; i < n; i++) {
		const struct jlog__key_ent *e = &s->ent[i];
		if (e->skip)
			continue;
		if (*first)
			jlog__buf_putc(b, '"');
		else
			jlog__buf_lit(b, ",\"");
		*first = false;
		jlog__buf_put(b, s->keys.p + e->off, e->len);
		jlog__buf_lit(b, "\":");
		if (JLOG__UNLIKELY(tls_big_strings) && beyond_double(&e->f)) {
			jlog__buf_putc(b, '"');
			jlog__json_value(b, &e->f);
			jlog__buf_putc(b, '"');
		} else {
			jlog__json_value(b, &e->f);
		}
	}
}

static void put_cstr(struct jlog__buf *b, const char *s)
{
	jlog__json_str(b, s, strlen(s));
}

static void put_message(struct jlog__buf *b, const struct jlog__rec_view *v)
{
	if (v->flags & JLOG__REC_MSG_TRUNCATED)
		jlog__json_str_truncated(b, v->msg, v->msg_len);
	else
		jlog__json_str(b, v->msg, v->msg_len);
}

/* The level as the default schema prints it: "INFO", or "22". */
static void put_level_text(struct jlog__buf *b, int level)
{
	const char *name = jlog__level_name(level);
	jlog__buf_putc(b, '"');
	if (name)
		jlog__buf_put(b, name, strlen(name));
	else
		jlog__json_int(b, level);
	jlog__buf_putc(b, '"');
}

/* Exactly @width decimal digits of @v (leading zeros kept). */
static void put_digits(struct jlog__buf *b, uint64_t v, int width)
{
	char tmp[20];
	for (int i = width; i-- > 0; v /= 10)
		tmp[i] = (char)('0' + v % 10);
	jlog__buf_put(b, tmp, (size_t)width);
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* Width of jlog__json_time()'s output: "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" and
 * its quotes. Its calendar code (and per-second cache) is reused for
 * every form here by editing or copying that text. */
#define JSON_TIME_LEN 29

/* With @local, the local time and its offset: the UTC text of the
 * shifted time, whose "Z" becomes the offset. */
static void put_rfc3339(struct jlog__buf *b, uint64_t ns, enum jlog__time_format tf, bool local)
{
	size_t pos = b->len;
	int32_t off = 0;
	if (local) {
		off = jlog__local_zone(ns / 1000000000u)->off;
		ns = jlog__local_ns(ns, off);
	}
	jlog__json_time(b, ns);
	if (b->len != pos + JSON_TIME_LEN)
		return;
	if (tf == JLOG__TIME_RFC3339_MS) {
		memcpy(b->p + pos + 24, "Z\"", 2);
		b->len = pos + 26;
	} else if (tf == JLOG__TIME_RFC3339_NS) {
		b->len = pos + 21;
		put_digits(b, ns % 1000000000u, 9);
		jlog__buf_lit(b, "Z\"");
	}
	if (local)
		jlog__json_zone_suffix(b, pos, off);
}

/* The time in @tf; a format other than the RFC 3339 ones is only honoured
 * when @epoch_ok (the default preset), else it falls back to microseconds. */
static void put_time(struct jlog__buf *b, uint64_t ns, enum jlog__time_format tf, bool epoch_ok,
                     bool local)
{
	switch (tf) {
	case JLOG__TIME_RFC3339_MS:
	case JLOG__TIME_RFC3339_NS:
		put_rfc3339(b, ns, tf, local);
		return;
	case JLOG__TIME_EPOCH_S:
		if (!epoch_ok)
			break;
		/* Exact decimal from the integer, not through a double. */
		jlog__json_uint(b, ns / 1000000000u);
		jlog__buf_putc(b, '.');
		put_digits(b, ns % 1000000000u / 1000u, 6);
		return;
	case JLOG__TIME_EPOCH_MS:
		if (!epoch_ok)
			break;
		jlog__json_uint(b, ns / 1000000u);
		return;
	case JLOG__TIME_EPOCH_NS:
		if (!epoch_ok)
			break;
		jlog__json_uint(b, ns);
		return;
	default:
		break;
	}
	put_rfc3339(b, ns, JLOG__TIME_RFC3339_US, local);
}

/* "YYYY-MM-DDTHH:MM:SS" of @ns into @out: jlog__json_time() writes at the
 * end of @b, the text is copied and taken back. */
static void civil_time(struct jlog__buf *b, uint64_t ns, char out[19])
{
	size_t pos = b->len;
	jlog__json_time(b, ns);
	if (b->len == pos + JSON_TIME_LEN)
		memcpy(out, b->p + pos + 1, 19);
	else
		memset(out, '0', 19); /* out of memory; the line is dropped */
	b->len = pos;
}

/* ------------------------------------------------------------------------ */
/* default                                                                  */
/* ------------------------------------------------------------------------ */

enum {
	K_TIME, K_LEVEL, K_MESSAGE, K_LOGGER, K_FILE, K_LINE, K_FUNCTION, K_PID, K_TID,
	K_TRUNCATED, K_DROPPED, NKEYS
};

static const struct span default_keys[NKEYS] = {
	SPAN("time"), SPAN("level"), SPAN("message"), SPAN("logger"),
	SPAN("file"), SPAN("line"), SPAN("function"), SPAN("pid"),
	SPAN("tid"), SPAN("truncated"), SPAN("dropped"),
};

static void renames(const struct jlog__json_opts *o, const char *k[NKEYS])
{
	k[K_TIME] = o->key_time;
	k[K_LEVEL] = o->key_level;
	k[K_MESSAGE] = o->key_message;
	k[K_LOGGER] = o->key_logger;
	k[K_FILE] = o->key_file;
	k[K_LINE] = o->key_line;
	k[K_FUNCTION] = o->key_function;
	k[K_PID] = o->key_pid;
	k[K_TID] = o->key_tid;
	k[K_TRUNCATED] = NULL;
	k[K_DROPPED] = NULL;
}

static bool plain_default(const struct jlog__json_opts *o)
{
	const char *k[NKEYS];
	renames(o, k);
	for (size_t i = 0; i < NKEYS; i++)
		if (k[i])
			return false;
	return o->time_format == JLOG__TIME_RFC3339_US && !o->local_time && !o->big_strings;
}

bool jlog__json_opts_plain(const struct jlog__json_opts *o)
{
	return o->preset == JLOG__PRESET_DEFAULT && plain_default(o);
}

/*
 * The schema keys after renames, printed (escaped) into s->names, spans in
 * @out. Returns false when two of them print the same: the renames are
 * then not usable and the caller falls back to the default names.
 */
static bool print_names(struct scratch *s, const struct jlog__json_opts *o, struct span out[NKEYS])
{
	const char *k[NKEYS];
	size_t off[NKEYS];
	renames(o, k);
	s->names.len = 0;
	s->names.failed = false;
	jlog__buf_putc(&s->names, '\0');
	for (size_t i = 0; i < NKEYS; i++) {
		off[i] = s->names.len;
		if (k[i])
			put_body(&s->names, k[i], strlen(k[i]), false);
		else
			jlog__buf_put(&s->names, default_keys[i].p, default_keys[i].n);
		out[i].n = s->names.len - off[i];
	}
	if (s->names.failed)
		return false;
	for (size_t i = 0; i < NKEYS; i++)
		out[i].p = s->names.p + off[i];
	for (size_t i = 0; i < NKEYS; i++)
		for (size_t j = i + 1; j < NKEYS; j++)
			if (out[i].n == out[j].n && memcmp(out[i].p, out[j].p, out[i].n) == 0)
				return false;
	return true;
}

int jlog__json_opts_check(const struct jlog__json_opts *o)
{
	if (!o || (unsigned)o->preset > JLOG__PRESET_LOGURU ||
	    (unsigned)o->time_format > JLOG__TIME_EPOCH_NS)
		return -EINVAL;
	if (o->preset != JLOG__PRESET_DEFAULT || plain_default(o))
		return 0;
	struct scratch *s = scratch_get();
	struct span names[NKEYS];
	if (!s)
		return -ENOMEM;
	if (!print_names(s, o, names))
		return s->names.failed ? -ENOMEM : -EINVAL;
	return 0;
}

static void put_key(struct jlog__buf *b, const struct span *k)
{
	jlog__buf_lit(b, ",\"");
	jlog__buf_put(b, k->p, k->n);
	jlog__buf_lit(b, "\":");
}

/* The default schema with renamed keys or another time format; the same
 * bytes as jlog__encode_json() when neither changes anything. */
static void line_default(struct jlog__buf *b, const struct jlog__rec_view *v,
                         const struct jlog__line_ctx *ctx, const struct jlog__json_opts *o)
{
	struct scratch *s = scratch_get();
	struct span names[NKEYS];
	size_t n;

	if (!s) {
		b->failed = true;
		return;
	}
	const struct span *k = print_names(s, o, names) ? names : default_keys;
	if (s->names.failed) {
		b->failed = true;
		return;
	}
	const struct rset r = {k, NKEYS, false};
	if (!prepare(b, v, &r, &s, &n))
		return;

	jlog__buf_lit(b, "{\"");
	jlog__buf_put(b, k[K_TIME].p, k[K_TIME].n);
	jlog__buf_lit(b, "\":");
	put_time(b, v->time_ns, o->time_format, true, o->local_time);
	put_key(b, &k[K_LEVEL]);
	put_level_text(b, v->level);
	put_key(b, &k[K_MESSAGE]);
	put_message(b, v);
	if (v->name_len) {
		put_key(b, &k[K_LOGGER]);
		jlog__json_str(b, v->name, v->name_len);
	}
	if (v->file) {
		put_key(b, &k[K_FILE]);
		put_cstr(b, v->file);
	}
	if (v->line > 0) {
		put_key(b, &k[K_LINE]);
		jlog__json_int(b, v->line);
	}
	if (v->function) {
		put_key(b, &k[K_FUNCTION]);
		put_cstr(b, v->function);
	}
	put_key(b, &k[K_PID]);
	jlog__json_int(b, ctx->pid);
	put_key(b, &k[K_TID]);
	jlog__json_uint(b, v->tid);
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"truncated\":true");
	if (v->dropped) {
		jlog__buf_lit(b, ",\"dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	bool first = false;
	if (n)
		put_fields(b, s, n, &first);
	jlog__buf_lit(b, "}\n");
}

/* ------------------------------------------------------------------------ */
/* ecs                                                                      */
/* ------------------------------------------------------------------------ */

static const struct span ecs_keys[] = {
	SPAN("@timestamp"), SPAN("log.level"), SPAN("message"), SPAN("log.logger"),
	SPAN("log.origin.file.name"), SPAN("log.origin.file.line"),
	SPAN("log.origin.function"), SPAN("process.pid"), SPAN("process.thread.id"),
	SPAN("ecs.version"), SPAN("jlog.truncated"), SPAN("jlog.dropped"),
};

/* ECS's log.level: a named level in lower case ("warning", and a level
 * named with jlog_level_add(), "NOTICE", as "notice"), or the number. */
static void put_lower_level(struct jlog__buf *b, int level)
{
	const struct jlog__level_row *r = jlog__level_row(level);
	const char *name = r ? r->lower : jlog__level_custom_name(level);
	if (!name) {
		jlog__json_int(b, level);
		return;
	}
	/* A custom name is letters, digits, '_' and '-' only (level.c,
	 * valid_name()): nothing to escape. */
	for (; *name; name++)
		jlog__buf_putc(b, *name >= 'A' && *name <= 'Z' ? (char)(*name - 'A' + 'a') : *name);
}

static void line_ecs(struct jlog__buf *b, const struct jlog__rec_view *v,
                     const struct jlog__line_ctx *ctx, const struct jlog__json_opts *o)
{
	static const struct rset r = {ecs_keys, ARRAY_LEN(ecs_keys), true};
	struct scratch *s = NULL;
	size_t n;
	if (!prepare(b, v, &r, &s, &n))
		return;

	/* @timestamp is a date: the RFC 3339 forms only. */
	jlog__buf_lit(b, "{\"@timestamp\":");
	put_time(b, v->time_ns, o->time_format, false, o->local_time);
	jlog__buf_lit(b, ",\"log.level\":\"");
	put_lower_level(b, v->level);
	jlog__buf_lit(b, "\",\"message\":");
	put_message(b, v);
	if (v->name_len) {
		jlog__buf_lit(b, ",\"log.logger\":");
		jlog__json_str(b, v->name, v->name_len);
	}
	if (v->file) {
		jlog__buf_lit(b, ",\"log.origin.file.name\":");
		put_cstr(b, v->file);
	}
	if (v->line > 0) {
		jlog__buf_lit(b, ",\"log.origin.file.line\":");
		jlog__json_int(b, v->line);
	}
	if (v->function) {
		jlog__buf_lit(b, ",\"log.origin.function\":");
		put_cstr(b, v->function);
	}
	jlog__buf_lit(b, ",\"process.pid\":");
	jlog__json_int(b, ctx->pid);
	jlog__buf_lit(b, ",\"process.thread.id\":");
	jlog__json_uint(b, v->tid);
	jlog__buf_lit(b, ",\"ecs.version\":\"" ECS_VERSION "\"");
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"jlog.truncated\":true");
	if (v->dropped) {
		jlog__buf_lit(b, ",\"jlog.dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	bool first = false;
	if (n)
		put_fields(b, s, n, &first);
	jlog__buf_lit(b, "}\n");
}

/* ------------------------------------------------------------------------ */
/* gcp                                                                      */
/* ------------------------------------------------------------------------ */

static const struct span gcp_keys[] = {
	SPAN("severity"), SPAN("message"), SPAN("timestamp"),
	SPAN("logging.googleapis.com/sourceLocation"), SPAN("logging.googleapis.com/labels"),
	SPAN("pid"), SPAN("tid"), SPAN("truncated"), SPAN("dropped"),
	/* Other names under which Cloud Logging takes a field as the entry's
	 * time or severity: a field there would silently replace ours. */
	SPAN("time"), SPAN("timestampSeconds"), SPAN("timestampNanos"),
	SPAN("logging.googleapis.com/severity"),
};

/* Cloud Logging's LogSeverity for a level: that of the nearest named
 * level at or below it; DEFAULT below TRACE. ALERT and EMERGENCY have no
 * jlog level and are not produced. */
const char *jlog__gcp_severity(int level)
{
	return level < JLOG_LEVEL_TRACE ? "DEFAULT" : jlog__level_floor(level)->gcp;
}

static void line_gcp(struct jlog__buf *b, const struct jlog__rec_view *v,
                     const struct jlog__line_ctx *ctx, const struct jlog__json_opts *o)
{
	static const struct rset r = {gcp_keys, ARRAY_LEN(gcp_keys), false};
	struct scratch *s = NULL;
	size_t n;
	if (!prepare(b, v, &r, &s, &n))
		return;

	jlog__buf_lit(b, "{\"severity\":\"");
	const char *sev = jlog__gcp_severity(v->level);
	jlog__buf_put(b, sev, strlen(sev));
	jlog__buf_lit(b, "\",\"message\":");
	put_message(b, v);
	jlog__buf_lit(b, ",\"timestamp\":");
	put_time(b, v->time_ns, o->time_format, false, o->local_time);
	if (v->file || v->line > 0 || v->function) {
		bool first = true;
		jlog__buf_lit(b, ",\"logging.googleapis.com/sourceLocation\":{");
		if (v->file) {
			jlog__buf_lit(b, "\"file\":");
			put_cstr(b, v->file);
			first = false;
		}
		if (v->line > 0) {
			/* LogEntrySourceLocation.line is an int64: a string
			 * in proto3 JSON. */
			if (!first)
				jlog__buf_putc(b, ',');
			jlog__buf_lit(b, "\"line\":\"");
			jlog__json_int(b, v->line);
			jlog__buf_putc(b, '"');
			first = false;
		}
		if (v->function) {
			if (!first)
				jlog__buf_putc(b, ',');
			jlog__buf_lit(b, "\"function\":");
			put_cstr(b, v->function);
		}
		jlog__buf_putc(b, '}');
	}
	/* severity has LogSeverity's names only: a level named with
	 * jlog_level_add() keeps its name in the labels, beside the nearest
	 * severity. A custom name is letters, digits, '_' and '-' (level.c,
	 * valid_name()): nothing to escape. */
	const char *custom = jlog__level_row(v->level) ? NULL : jlog__level_custom_name(v->level);
	if (v->name_len || custom) {
		jlog__buf_lit(b, ",\"logging.googleapis.com/labels\":{");
		if (v->name_len) {
			jlog__buf_lit(b, "\"logger\":");
			jlog__json_str(b, v->name, v->name_len);
		}
		if (custom) {
			if (v->name_len)
				jlog__buf_putc(b, ',');
			jlog__buf_lit(b, "\"level\":\"");
			jlog__buf_put(b, custom, strlen(custom));
			jlog__buf_putc(b, '"');
		}
		jlog__buf_putc(b, '}');
	}
	jlog__buf_lit(b, ",\"pid\":");
	jlog__json_int(b, ctx->pid);
	jlog__buf_lit(b, ",\"tid\":");
	jlog__json_uint(b, v->tid);
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"truncated\":true");
	if (v->dropped) {
		jlog__buf_lit(b, ",\"dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	bool first = false;
	if (n)
		put_fields(b, s, n, &first);
	jlog__buf_lit(b, "}\n");
}

/* ------------------------------------------------------------------------ */
/* otel                                                                     */
/* ------------------------------------------------------------------------ */

static const struct span otel_attr_keys[] = {
	SPAN("code.filepath"), SPAN("code.lineno"), SPAN("code.function"),
	SPAN("thread.id"), SPAN("jlog.truncated"), SPAN("jlog.dropped"),
};

/* The data model's SeverityNumber: each named level at the bottom of its
 * OpenTelemetry range (SUCCESS is INFO2), other levels as the nearest
 * named level at or below them; below TRACE is still TRACE (1), since the
 * severity is known (0 would mean unspecified). */
int jlog__otel_severity(int level)
{
	return jlog__level_floor(level)->otel;
}

static void line_otel(struct jlog__buf *b, const struct jlog__rec_view *v,
                      const struct jlog__line_ctx *ctx)
{
	static const struct rset r = {otel_attr_keys, ARRAY_LEN(otel_attr_keys), false};
	struct scratch *s = NULL;
	size_t n;
	if (!prepare(b, v, &r, &s, &n))
		return;
	pthread_once(&env_once, env_init);

	jlog__buf_lit(b, "{\"Timestamp\":\"");
	jlog__json_uint(b, v->time_ns);
	jlog__buf_lit(b, "\",\"SeverityText\":");
	put_level_text(b, v->level);
	jlog__buf_lit(b, ",\"SeverityNumber\":");
	jlog__json_int(b, jlog__otel_severity(v->level));
	jlog__buf_lit(b, ",\"Body\":");
	put_message(b, v);
	jlog__buf_lit(b, ",\"Resource\":{\"process.pid\":");
	jlog__json_int(b, ctx->pid);
	if (service_name) {
		jlog__buf_lit(b, ",\"service.name\":");
		put_cstr(b, service_name);
	}
	jlog__buf_putc(b, '}');
	if (v->name_len) {
		jlog__buf_lit(b, ",\"InstrumentationScope\":{\"name\":");
		jlog__json_str(b, v->name, v->name_len);
		jlog__buf_putc(b, '}');
	}
	jlog__buf_lit(b, ",\"Attributes\":{");
	if (v->file) {
		jlog__buf_lit(b, "\"code.filepath\":");
		put_cstr(b, v->file);
		jlog__buf_putc(b, ',');
	}
	if (v->line > 0) {
		jlog__buf_lit(b, "\"code.lineno\":");
		jlog__json_int(b, v->line);
		jlog__buf_putc(b, ',');
	}
	if (v->function) {
		jlog__buf_lit(b, "\"code.function\":");
		put_cstr(b, v->function);
		jlog__buf_putc(b, ',');
	}
	jlog__buf_lit(b, "\"thread.id\":");
	jlog__json_uint(b, v->tid);
	if (v->flags & JLOG__REC_TRUNCATED)
		jlog__buf_lit(b, ",\"jlog.truncated\":true");
	if (v->dropped) {
		jlog__buf_lit(b, ",\"jlog.dropped\":");
		jlog__json_uint(b, v->dropped);
	}
	bool first = false;
	if (n)
		put_fields(b, s, n, &first);
	jlog__buf_lit(b, "}}\n");
}

/* ------------------------------------------------------------------------ */
/* loguru                                                                   */
/* ------------------------------------------------------------------------ */

static const struct span loguru_extra_keys[] = {SPAN("truncated"), SPAN("dropped")};

/* What Python's logging module writes when the caller is unknown. */
#define UNKNOWN_FILE "(unknown file)"
#define UNKNOWN_FUNCTION "(unknown function)"

/* os.path.splitext(name)[0]: the name without its last extension; leading
 * dots do not start one (".profile" has none). */
static size_t module_len(const char *name)
{
	size_t n = strlen(name), dot = n;
	for (size_t i = n; i-- > 0;) {
		if (name[i] == '.') {
			dot = i;
			break;
		}
	}
	for (size_t i = 0; i < dot; i++)
		if (name[i] != '.')
			return dot;
	return n;
}

/* Python's str(timedelta) of a non-negative number of microseconds:
 * "H:MM:SS", "D day(s), H:MM:SS", then ".ffffff" unless it is zero. */
static size_t timedelta_repr(char *out, size_t cap, uint64_t us)
{
	uint64_t sec = us / 1000000u, days = sec / 86400u;
	unsigned frac = (unsigned)(us % 1000000u), rem = (unsigned)(sec % 86400u);
	int n = 0;
	if (days)
		n = snprintf(out, cap, "%llu day%s, ", (unsigned long long)days,
		             days == 1 ? "" : "s");
	n += snprintf(out + n, cap - (size_t)n, "%u:%02u:%02u", rem / 3600u, rem / 60u % 60u,
	              rem % 60u);
	if (frac)
		n += snprintf(out + n, cap - (size_t)n, ".%06u", frac);
	return (size_t)n;
}

/*
 * loguru's serialize=True line: the same keys, in the same order, as
 * loguru's _serialize_record(), written compactly (loguru uses
 * json.dumps' ", " and ": " separators; the JSON is the same). Where a
 * Python program has facts a C record lacks:
 *   - text: loguru's default format, "YYYY-MM-DD HH:mm:ss.SSS | LEVEL    |
 *     name:function:line - message\n", in UTC, or in local time (as
 *     loguru) with the sink's utc false, made here rather than by the
 *     template engine of format.c;
 *   - elapsed: since the library was loaded (jlog__start_ns), 0 if the
 *     record is older; time: UTC ("+00:00"), or local with its offset;
 *   - file.path: the base name too (the record keeps no more);
 *   - module: the file name without extension; name: the logger's name,
 *     else the module;
 *   - an unknown callsite gives Python logging's "(unknown file)", line 0
 *     and "(unknown function)";
 *   - process.name: the program's short name; thread.name: the name of
 *     the thread that logged (thread-name.c; the main thread's is the
 *     program's), or its id as a string when none is known;
 *   - level: loguru's name, number and icon; a level without a name is
 *     "Level 22" with icon " ", as loguru names a level given by number;
 *   - extra: the fields, after "truncated" and "dropped" when set.
 */
static void line_loguru(struct jlog__buf *b, const struct jlog__rec_view *v,
                        const struct jlog__line_ctx *ctx, bool local)
{
	static const struct rset r = {loguru_extra_keys, ARRAY_LEN(loguru_extra_keys), false};
	struct scratch *s = NULL;
	size_t n;
	if (!prepare(b, v, &r, &s, &n))
		return;

	char level_buf[24];
	const char *level = jlog__level_name(v->level);
	if (!level) {
		snprintf(level_buf, sizeof(level_buf), "Level %d", v->level);
		level = level_buf;
	}
	const char *file = v->file ? v->file : UNKNOWN_FILE;
	const char *function = v->function ? v->function : UNKNOWN_FUNCTION;
	int line = v->line > 0 ? v->line : 0;
	size_t mod_len = module_len(file);
	const char *name = v->name_len ? v->name : file;
	size_t name_len = v->name_len ? v->name_len : mod_len;
	char civil[19];
	int32_t off = local ? jlog__local_zone(v->time_ns / 1000000000u)->off : 0;
	civil_time(b, local ? jlog__local_ns(v->time_ns, off) : v->time_ns, civil);
	unsigned us = (unsigned)(v->time_ns % 1000000000u / 1000u);

	/* text */
	jlog__buf_lit(b, "{\"text\":\"");
	jlog__buf_put(b, civil, 10);
	jlog__buf_putc(b, ' ');
	jlog__buf_put(b, civil + 11, 8);
	jlog__buf_putc(b, '.');
	put_digits(b, us / 1000u, 3);
	jlog__buf_lit(b, " | ");
	size_t level_len = strlen(level);
	jlog__buf_put(b, level, level_len);
	for (size_t i = level_len; i < 8; i++)
		jlog__buf_putc(b, ' ');
	jlog__buf_lit(b, " | ");
	put_body(b, name, name_len, false);
	jlog__buf_putc(b, ':');
	put_body(b, function, strlen(function), false);
	jlog__buf_putc(b, ':');
	jlog__json_int(b, line);
	jlog__buf_lit(b, " - ");
	put_body(b, v->msg, v->msg_len, (v->flags & JLOG__REC_MSG_TRUNCATED) != 0);
	jlog__buf_lit(b, "\\n\"");

	/* record.elapsed */
	uint64_t start = jlog__start_ns;
	uint64_t elapsed_us = v->time_ns > start ? (v->time_ns - start) / 1000u : 0;
	char repr[64];
	size_t repr_len = timedelta_repr(repr, sizeof(repr), elapsed_us);
	jlog__buf_lit(b, ",\"record\":{\"elapsed\":{\"repr\":\"");
	jlog__buf_put(b, repr, repr_len);
	jlog__buf_lit(b, "\",\"seconds\":");
	/* timedelta.total_seconds(): microseconds / 10**6, correctly
	 * rounded, as this division is for integers below 2^53. */
	jlog__json_double(b, (double)elapsed_us / 1e6);
	jlog__buf_lit(b, "},\"exception\":null,\"extra\":{");
	bool first = true;
	if (v->flags & JLOG__REC_TRUNCATED) {
		jlog__buf_lit(b, "\"truncated\":true");
		first = false;
	}
	if (v->dropped) {
		if (!first)
			jlog__buf_putc(b, ',');
		jlog__buf_lit(b, "\"dropped\":");
		jlog__json_uint(b, v->dropped);
		first = false;
	}
	if (n)
		put_fields(b, s, n, &first);

	/* record.file ... record.thread */
	jlog__buf_lit(b, "},\"file\":{\"name\":");
	put_cstr(b, file);
	jlog__buf_lit(b, ",\"path\":");
	put_cstr(b, file);
	jlog__buf_lit(b, "},\"function\":");
	put_cstr(b, function);
	jlog__buf_lit(b, ",\"level\":{\"icon\":");
	put_cstr(b, jlog__level_icon(v->level));
	jlog__buf_lit(b, ",\"name\":");
	put_cstr(b, level);
	jlog__buf_lit(b, ",\"no\":");
	jlog__json_int(b, v->level);
	jlog__buf_lit(b, "},\"line\":");
	jlog__json_int(b, line);
	jlog__buf_lit(b, ",\"message\":");
	put_message(b, v);
	jlog__buf_lit(b, ",\"module\":");
	jlog__json_str(b, file, mod_len);
	jlog__buf_lit(b, ",\"name\":");
	jlog__json_str(b, name, name_len);
	jlog__buf_lit(b, ",\"process\":{\"id\":");
	jlog__json_int(b, ctx->pid);
	jlog__buf_lit(b, ",\"name\":");
	const char *prog = program_invocation_short_name;
	put_cstr(b, prog && *prog ? prog : "MainProcess");
	jlog__buf_lit(b, "},\"thread\":{\"id\":");
	jlog__json_uint(b, v->tid);
	char tname[16];
	size_t tlen = jlog__thread_name(v->tid, tname);
	if (tlen) {
		jlog__buf_lit(b, ",\"name\":");
		jlog__json_str(b, tname, tlen);
		jlog__buf_putc(b, '}');
	} else {
		/* No name known: the id, as a string (loguru's type). */
		jlog__buf_lit(b, ",\"name\":\"");
		jlog__json_uint(b, v->tid);
		jlog__buf_lit(b, "\"}");
	}

	/* record.time: str(datetime) drops a zero fraction; timestamp() is
	 * microseconds / 10**6 as for elapsed. */
	jlog__buf_lit(b, ",\"time\":{\"repr\":\"");
	jlog__buf_put(b, civil, 10);
	jlog__buf_putc(b, ' ');
	jlog__buf_put(b, civil + 11, 8);
	if (us) {
		jlog__buf_putc(b, '.');
		put_digits(b, us, 6);
	}
	char zone[8];
	jlog__buf_put(b, zone, jlog__fmt_offset(zone, off, true));
	jlog__buf_lit(b, "\",\"timestamp\":");
	jlog__json_double(b, (double)(v->time_ns / 1000u) / 1e6);
	jlog__buf_lit(b, "}}}\n");
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

void jlog__encode_preset(struct jlog__buf *b, const struct jlog__rec_view *v,
                         const struct jlog__line_ctx *ctx, const struct jlog__json_opts *o)
{
	struct jlog__json_opts def;
	if (!o) {
		jlog__json_opts_init(&def);
		o = &def;
	}
	tls_big_strings = o->big_strings;
	switch (o->preset) {
	case JLOG__PRESET_ECS:
		line_ecs(b, v, ctx, o);
		break;
	case JLOG__PRESET_GCP:
		line_gcp(b, v, ctx, o);
		break;
	case JLOG__PRESET_OTEL:
		line_otel(b, v, ctx);
		break;
	case JLOG__PRESET_LOGURU:
		line_loguru(b, v, ctx, o->local_time);
		break;
	default:
		if (plain_default(o))
			jlog__encode_json(b, v, ctx);
		else
			line_default(b, v, ctx, o);
		break;
	}
}
