/*
 * A parsed JSON line -> the parts of a record, whatever logger wrote it.
 *
 * Each top-level key is looked up in one table of the names loggers give
 * the parts (jlog and its ecs/gcp/otel presets, zap, zerolog, pino,
 * bunyan, logrus, Go's slog); the first key that gives a part wins and the
 * rest stay extras, shown as key=value. Nested shapes are taken apart
 * where a logger nests the parts: gcp's sourceLocation and labels, otel's
 * Resource, InstrumentationScope and Attributes, slog's source, and
 * loguru's {"text", "record"} (see map_loguru()).
 *
 * Levels are mapped to jlog's scale (pretty_level_*()), so that --level
 * and the level colors mean the same for every logger.
 */
#include "pretty.h"

#include "civil.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- levels ---------------------------------------------------------------- */

int pretty_level_from_name(const char *s, size_t n)
{
	char t[32];
	if (n == 0 || n >= sizeof(t))
		return -EINVAL;
	memcpy(t, s, n);
	t[n] = '\0';
	/* slog's levels between the named ones: "INFO+2", "DEBUG-4". */
	char *off = strpbrk(t, "+-");
	if (off && off > t)
		*off = '\0';
	int l = jlog_level_from_name(t);
	if (l >= 0 && l <= 255)
		return l;
	static const struct {
		const char *name;
		int level;
	} aliases[] = {
		{"panic", JLOG_LEVEL_CRITICAL},     {"dpanic", JLOG_LEVEL_CRITICAL},
		{"alert", JLOG_LEVEL_CRITICAL},     {"emergency", JLOG_LEVEL_CRITICAL},
		{"emerg", JLOG_LEVEL_CRITICAL},     {"err", JLOG_LEVEL_ERROR},
		{"notice", JLOG_LEVEL_SUCCESS},     {"default", JLOG_LEVEL_TRACE},
		{"information", JLOG_LEVEL_INFO},   {"verbose", JLOG_LEVEL_TRACE},
	};
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(t, aliases[i].name) == 0)
			return aliases[i].level;
	return -EINVAL;
}

int pretty_level_from_pino(double no)
{
	static const int map[] = {JLOG_LEVEL_TRACE, JLOG_LEVEL_DEBUG, JLOG_LEVEL_INFO,
	                          JLOG_LEVEL_WARNING, JLOG_LEVEL_ERROR, JLOG_LEVEL_CRITICAL};
	if (!(no >= 20))
		return JLOG_LEVEL_TRACE;
	if (no >= 60)
		return JLOG_LEVEL_CRITICAL;
	return map[(int)(no / 10) - 1];
}

int pretty_level_from_otel(int64_t no)
{
	if (no <= 4)
		return JLOG_LEVEL_TRACE;
	if (no <= 8)
		return JLOG_LEVEL_DEBUG;
	if (no <= 12)
		/* jlog's otel preset writes SUCCESS as 10. */
		return no == 10 ? JLOG_LEVEL_SUCCESS : JLOG_LEVEL_INFO;
	if (no <= 16)
		return JLOG_LEVEL_WARNING;
	if (no <= 20)
		return JLOG_LEVEL_ERROR;
	return JLOG_LEVEL_CRITICAL;
}

/* ---- time ------------------------------------------------------------------ */

static bool digits(const char *s, size_t n, size_t at, size_t k, unsigned *v)
{
	if (at + k > n)
		return false;
	*v = 0;
	for (size_t i = at; i < at + k; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

bool pretty_parse_rfc3339(const char *s, size_t n, uint64_t *ns)
{
	unsigned y, mo, d, h, mi, sec;
	if (!digits(s, n, 0, 4, &y) || n < 19 || s[4] != '-' || !digits(s, n, 5, 2, &mo) ||
	    s[7] != '-' || !digits(s, n, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s, n, 11, 2, &h) || s[13] != ':' || !digits(s, n, 14, 2, &mi) || s[16] != ':' ||
	    !digits(s, n, 17, 2, &sec))
		return false;
	/* jlog__days_from_civil() counts from 1970 on, as a log time does. */
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	size_t i = 19;
	uint64_t frac = 0;
	if (i < n && (s[i] == '.' || s[i] == ',')) {
		uint64_t scale = 100000000;
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return false;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			frac += (uint64_t)(s[i] - '0') * scale;
			scale /= 10;
		}
	}
	int64_t off = 0;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		unsigned oh, om;
		int sign = s[i] == '-' ? -1 : 1;
		if (!digits(s, n, i + 1, 2, &oh))
			return false;
		i += 3;
		if (i < n && s[i] == ':')
			i++;
		if (!digits(s, n, i, 2, &om))
			return false;
		i += 2;
		off = sign * (int64_t)(oh * 3600 + om * 60);
	}
	if (i != n)
		return false;
	int64_t t = (int64_t)jlog__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (t < 0)
		return false;
	*ns = (uint64_t)t * 1000000000u + frac;
	return true;
}

uint64_t pretty_epoch_ns(double v)
{
	/* Seconds as a double (zap, loguru) hold about microseconds: round
	 * to them, so that 1795665723.25 is not shown as .249. */
	if (!(v > 0))
		return 0;
	if (v < 1e11)
		return (uint64_t)round(v * 1e6) * 1000u; /* s */
	if (v < 1e14)
		return (uint64_t)round(v * 1e3) * 1000u; /* ms */
	double ns = v < 1e17 ? v * 1e3 : v;
	return ns < 1.8e19 ? (uint64_t)ns : 0;
}

/* An integer count of ns/us/ms/s since the epoch, kept exact. */
static uint64_t epoch_ns_int(uint64_t v)
{
	if (v < 100000000000ull)
		return v * 1000000000ull;
	if (v < 100000000000000ull)
		return v * 1000000ull;
	if (v < 100000000000000000ull)
		return v * 1000ull;
	return v;
}

bool pretty_parse_when(const char *s, uint64_t now_ns, uint64_t *ns)
{
	size_t n = strlen(s);
	if (pretty_parse_rfc3339(s, n, ns))
		return true;
	/* A date alone is its midnight, UTC. */
	if (n == 10) {
		char t[32];
		snprintf(t, sizeof(t), "%sT00:00:00Z", s);
		if (pretty_parse_rfc3339(t, strlen(t), ns))
			return true;
	}
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0))
		return false;
	double unit;
	if (strcmp(end, "s") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "d") == 0)
		unit = 86400;
	else if (strcmp(end, "w") == 0)
		unit = 7 * 86400;
	else
		return false;
	double back = v * unit * 1e9;
	*ns = back >= (double)now_ns ? 0 : now_ns - (uint64_t)back;
	return true;
}

/* ---- mapping ----------------------------------------------------------------- */

enum role {
	R_NONE, R_TIME, R_LEVEL, R_SEVNUM, R_MSG, R_LOGGER, R_NAME, R_FILE, R_LINE,
	R_FUNCTION, R_PID, R_TID, R_SOURCE, R_GCP_SRC, R_GCP_LABELS,
	R_RESOURCE, R_SCOPE, R_ATTRS, R_HIDE,
};

#define K(s) s, sizeof(s) - 1
static const struct {
	const char *key;
	uint8_t len;
	uint8_t role;
} roles[] = {
	/* jlog and its presets, then the other loggers' spellings. */
	{K("time"), R_TIME},  {K("@timestamp"), R_TIME}, {K("timestamp"), R_TIME}, {K("Timestamp"), R_TIME},
	{K("ts"), R_TIME},    {K("timeUnixNano"), R_TIME},
	{K("level"), R_LEVEL}, {K("log.level"), R_LEVEL}, {K("severity"), R_LEVEL},
	{K("SeverityText"), R_LEVEL}, {K("severityText"), R_LEVEL}, {K("lvl"), R_LEVEL},
	{K("levelname"), R_LEVEL},
	{K("SeverityNumber"), R_SEVNUM}, {K("severityNumber"), R_SEVNUM},
	{K("message"), R_MSG}, {K("msg"), R_MSG}, {K("Body"), R_MSG}, {K("body"), R_MSG},
	{K("logger"), R_LOGGER}, {K("log.logger"), R_LOGGER}, {K("logger_name"), R_LOGGER},
	{K("name"), R_NAME},
	{K("file"), R_FILE}, {K("log.origin.file.name"), R_FILE}, {K("code.filepath"), R_FILE},
	{K("line"), R_LINE}, {K("log.origin.file.line"), R_LINE}, {K("code.lineno"), R_LINE},
	{K("function"), R_FUNCTION}, {K("func"), R_FUNCTION}, {K("log.origin.function"), R_FUNCTION},
	{K("code.function"), R_FUNCTION},
	{K("caller"), R_FILE},
	{K("pid"), R_PID}, {K("process.pid"), R_PID},
	{K("tid"), R_TID}, {K("process.thread.id"), R_TID}, {K("thread.id"), R_TID},
	{K("source"), R_SOURCE},
	{K("logging.googleapis.com/sourceLocation"), R_GCP_SRC},
	{K("logging.googleapis.com/labels"), R_GCP_LABELS},
	{K("Resource"), R_RESOURCE}, {K("resource"), R_RESOURCE},
	{K("InstrumentationScope"), R_SCOPE}, {K("scope"), R_SCOPE},
	{K("Attributes"), R_ATTRS}, {K("attributes"), R_ATTRS},
	{K("ecs.version"), R_HIDE},
};

/* The table hashed once, by length and first and last bytes: each key of
 * every line is looked up. */
#define NSLOTS 256
static uint8_t slots[NSLOTS]; /* index + 1 into roles, 0 = empty */

static unsigned slot_of(const char *k, size_t n)
{
	return ((unsigned)n * 31u + (unsigned char)k[0] * 7u + (unsigned char)k[n - 1]) % NSLOTS;
}

static void build_slots(void)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		unsigned h = slot_of(roles[i].key, roles[i].len);
		while (slots[h])
			h = (h + 1) % NSLOTS;
		slots[h] = (uint8_t)(i + 1);
	}
}

static int role_of(const char *k, size_t n)
{
	/* jlog-pretty maps lines on two threads; pthread_once publishes
	 * the table to both. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, build_slots);
	/* Only short keys can be one. */
	if (n == 0 || n > 40)
		return R_NONE;
	for (unsigned h = slot_of(k, n); slots[h]; h = (h + 1) % NSLOTS) {
		size_t i = slots[h] - 1u;
		if (roles[i].len == n && memcmp(roles[i].key, k, n) == 0)
			return roles[i].role;
	}
	return R_NONE;
}

struct mapper {
	const struct pj_doc *d;
	struct pretty_rec *r;
	bool got_time, got_level, got_msg, got_logger, got_file, got_line, got_func, got_pid,
		got_tid;
	bool numeric_level; /* pino/bunyan: "name" is the logger's */
	bool level_inexact; /* a number between pino's: kept as an extra too */
	/* A preset's line (ecs, gcp, otel): they name the logger in a key of
	 * their own, so a plain "logger" there is a call's field. */
	bool preset;
	const struct pj_node *name;
	const struct pj_node *plain_logger; /* "logger", decided at the end */
	bool oom;
};

static void add_extra(struct mapper *m, const struct pj_node *n)
{
	struct pretty_rec *r = m->r;
	if (r->nex == r->excap) {
		size_t cap = r->excap ? r->excap * 2 : 32;
		struct pretty_extra *e = realloc(r->ex, cap * sizeof(*e));
		if (!e) {
			m->oom = true;
			return;
		}
		r->ex = e;
		r->excap = cap;
	}
	r->ex[r->nex++] = (struct pretty_extra){n->key, n->key_len, n};
}

static void set_str(char *dst, size_t cap, const char *s, size_t n, bool base)
{
	if (base) {
		for (size_t i = n; i-- > 0;) {
			if (s[i] == '/' || s[i] == '\\') {
				s += i + 1;
				n -= i + 1;
				break;
			}
		}
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	/* The view's file and function are C strings. */
	dst[strnlen(dst, n)] = '\0';
}

static bool num_of(const struct pj_node *n, double *v)
{
	if (n->type == PJ_NUM) {
		*v = n->d;
		return true;
	}
	if (n->type == PJ_STR && n->len > 0 && n->len < 64) {
		char t[64], *end;
		memcpy(t, n->s, n->len);
		t[n->len] = '\0';
		*v = strtod(t, &end);
		return *end == '\0';
	}
	return false;
}

/* "file.go:42" (zap, zerolog, logrus): the line after the last ':'. */
static void take_file(struct mapper *m, const char *s, size_t n)
{
	size_t colon = n;
	while (colon > 0 && s[colon - 1] >= '0' && s[colon - 1] <= '9')
		colon--;
	if (colon > 1 && colon < n && s[colon - 1] == ':') {
		if (!m->got_line) {
			m->r->line = atoi(s + colon);
			m->got_line = true;
		}
		n = colon - 1;
	}
	set_str(m->r->file, sizeof(m->r->file), s, n, true);
	m->got_file = true;
}

static bool take_time(struct mapper *m, const struct pj_node *n)
{
	uint64_t ns = 0;
	bool ok = false;
	if (n->type == PJ_NUM) {
		ns = n->is_int && !n->is_uint && n->i > 0 ? epoch_ns_int((uint64_t)n->i)
		                                          : n->is_uint ? n->u : pretty_epoch_ns(n->d);
		ok = ns != 0;
	} else if (n->type == PJ_STR) {
		ok = pretty_parse_rfc3339(n->s, n->len, &ns);
		if (!ok && n->len > 0 && n->len < 21 && n->s[0] >= '0' && n->s[0] <= '9') {
			/* otel: ns since the epoch as a decimal string. */
			uint64_t v = 0;
			size_t i = 0;
			for (; i < n->len && n->s[i] >= '0' && n->s[i] <= '9'; i++)
				v = v * 10 + (uint64_t)(n->s[i] - '0');
			ok = i == n->len;
			ns = epoch_ns_int(v);
		}
	} else if (n->type == PJ_OBJ) {
		/* {"seconds", "nanos"} (protobuf's Timestamp), or loguru's
		 * {"repr", "timestamp"}. */
		const struct pj_node *sec = pj_get(m->d, n, "seconds");
		const struct pj_node *ts = pj_get(m->d, n, "timestamp");
		double v;
		if (sec && num_of(sec, &v) && v > 0) {
			const struct pj_node *nanos = pj_get(m->d, n, "nanos");
			double nv = 0;
			if (nanos)
				num_of(nanos, &nv);
			ns = (uint64_t)v * 1000000000u + (uint64_t)nv;
			ok = true;
		} else if (ts && num_of(ts, &v) && v > 0) {
			ns = pretty_epoch_ns(v);
			ok = true;
		}
	}
	if (!ok)
		return false;
	m->r->has_time = true;
	m->r->time_ns = ns;
	m->got_time = true;
	return true;
}

static bool take_level(struct mapper *m, const struct pj_node *n, int role)
{
	int l = -EINVAL;
	/* Most lines repeat the level of the one before (a cache per
	 * thread, so no lock). */
	static _Thread_local char last[16];
	static _Thread_local size_t last_len;
	static _Thread_local int last_level = -1;
	if (n->type == PJ_STR && n->len == last_len && last_level >= 0 &&
	    memcmp(n->s, last, n->len) == 0) {
		l = last_level;
	} else if (n->type == PJ_STR) {
		l = pretty_level_from_name(n->s, n->len);
		if (n->len <= sizeof(last)) {
			memcpy(last, n->s, n->len);
			last_len = n->len;
			last_level = l;
		}
	}
	else if (n->type == PJ_NUM && role == R_SEVNUM)
		l = pretty_level_from_otel(n->is_int ? n->i : (int64_t)n->d);
	else if (n->type == PJ_NUM) {
		l = pretty_level_from_pino(n->d);
		m->numeric_level = true;
		m->level_inexact = !(n->d >= 10 && n->d <= 60 && fmod(n->d, 10) == 0);
	} else if (n->type == PJ_OBJ) {
		/* loguru: {"icon", "name", "no"}. */
		const struct pj_node *no = pj_get(m->d, n, "no");
		const struct pj_node *name = pj_get(m->d, n, "name");
		if (no && no->type == PJ_NUM && no->d >= 0 && no->d <= 255)
			l = (int)no->d;
		else if (name && name->type == PJ_STR)
			l = pretty_level_from_name(name->s, name->len);
	}
	if (l < 0)
		return false; /* stays an extra: the reader sees what it said */
	m->r->level = l;
	m->got_level = true;
	return true;
}

static void member(struct mapper *m, const struct pj_node *n, int depth);

/* Members of a nested object that carry parts (otel's Attributes...). */
static void members(struct mapper *m, const struct pj_node *obj, int depth)
{
	for (uint32_t c = obj->child; c; c = m->d->n[c].next)
		member(m, &m->d->n[c], depth + 1);
}

static bool take_int(const struct pj_node *n, int64_t *out)
{
	double v;
	if (!num_of(n, &v) || v < 0 || v > 4294967295.0 * 65536)
		return false;
	*out = (int64_t)v;
	return true;
}

static bool key_is(const struct pj_node *n, const char *k)
{
	return n->key_len == strlen(k) && memcmp(n->key, k, n->key_len) == 0;
}

static void member(struct mapper *m, const struct pj_node *n, int depth)
{
	struct pretty_rec *r = m->r;
	int role = role_of(n->key, n->key_len);
	int64_t iv;
	const struct pj_node *x;

	if (role == R_SEVNUM || role == R_GCP_SRC || role == R_GCP_LABELS || role == R_RESOURCE ||
	    role == R_SCOPE || role == R_ATTRS || role == R_HIDE ||
	    (role == R_LEVEL && (key_is(n, "log.level") || key_is(n, "severity") ||
	                         key_is(n, "SeverityText"))) ||
	    (role == R_TIME && key_is(n, "@timestamp")))
		m->preset = true;
	switch (role) {
	case R_TIME:
		if (!m->got_time && take_time(m, n))
			return;
		break;
	case R_LEVEL:
	case R_SEVNUM:
		if (!m->got_level && take_level(m, n, role)) {
			/* The number the mapping rounded, as the line has it. */
			if (m->level_inexact)
				add_extra(m, n);
			return;
		}
		/* otel writes both; the number says nothing the text does not. */
		if (role == R_SEVNUM && m->got_level)
			return;
		break;
	case R_MSG:
		if (!m->got_msg && n->type == PJ_STR) {
			r->msg = n->s;
			r->msg_len = n->len;
			m->got_msg = true;
			return;
		}
		break;
	case R_LOGGER:
		if (n->key_len == 6 && n->type == PJ_STR && !m->plain_logger) {
			m->plain_logger = n; /* jlog's, zap's... or a preset's field */
			return;
		}
		if (!m->got_logger && n->type == PJ_STR) {
			r->logger = n->s;
			r->logger_len = n->len;
			m->got_logger = true;
			return;
		}
		break;
	case R_NAME:
		/* bunyan and pino name the logger "name"; elsewhere it is
		 * the application's field. Decided once the level is known. */
		if (depth == 0 && n->type == PJ_STR && !m->name) {
			m->name = n;
			return;
		}
		break;
	case R_FILE: /* "file.c", or "file.go:42" as zap's "caller" */
		if (!m->got_file && n->type == PJ_STR) {
			take_file(m, n->s, n->len);
			return;
		}
		break;
	case R_LINE:
		if (!m->got_line && take_int(n, &iv)) {
			r->line = iv > INT32_MAX ? INT32_MAX : (int)iv;
			m->got_line = true;
			return;
		}
		break;
	case R_FUNCTION:
		if (!m->got_func && n->type == PJ_STR) {
			set_str(r->function, sizeof(r->function), n->s, n->len, false);
			m->got_func = true;
			return;
		}
		break;
	case R_PID:
		if (!m->got_pid && take_int(n, &iv)) {
			r->pid = iv;
			m->got_pid = true;
			return;
		}
		break;
	case R_TID:
		if (!m->got_tid && take_int(n, &iv)) {
			r->tid = (uint32_t)iv;
			m->got_tid = true;
			return;
		}
		break;
	case R_SOURCE:    /* slog: {"function", "file", "line"} */
	case R_GCP_SRC:   /* gcp: {"file", "line" (a string), "function"} */
	case R_RESOURCE:  /* otel: {"process.pid", "service.name"...} */
	case R_ATTRS:     /* otel: {"code.filepath"..., "thread.id", fields} */
		if (n->type == PJ_OBJ && depth == 0) {
			members(m, n, depth);
			return;
		}
		break;
	case R_GCP_LABELS:
		if (n->type == PJ_OBJ && depth == 0) {
			x = pj_get(m->d, n, "logger");
			for (uint32_t c = n->child; c; c = m->d->n[c].next) {
				const struct pj_node *l = &m->d->n[c];
				if (l == x && !m->got_logger && l->type == PJ_STR) {
					r->logger = l->s;
					r->logger_len = l->len;
					m->got_logger = true;
				} else {
					add_extra(m, l);
				}
			}
			return;
		}
		break;
	case R_SCOPE:
		x = pj_get(m->d, n, "name");
		if (depth == 0 && x && x->type == PJ_STR && !m->got_logger) {
			r->logger = x->s;
			r->logger_len = x->len;
			m->got_logger = true;
			return;
		}
		break;
	case R_HIDE:
		return;
	default:
		break;
	}
	add_extra(m, n);
}

/*
 * loguru's serialize=True: {"text": the formatted line, "record": {...}}.
 * The record has the parts, nested; its "extra" holds the fields.
 */
static bool map_loguru(struct mapper *m, const struct pj_node *rec)
{
	struct pretty_rec *r = m->r;
	const struct pj_doc *d = m->d;
	const struct pj_node *x;
	if ((x = pj_get(d, rec, "time")))
		take_time(m, x);
	if ((x = pj_get(d, rec, "level")))
		take_level(m, x, R_LEVEL);
	if ((x = pj_get(d, rec, "message")) && x->type == PJ_STR) {
		r->msg = x->s;
		r->msg_len = x->len;
	}
	if ((x = pj_get(d, rec, "name")) && x->type == PJ_STR) {
		r->logger = x->s;
		r->logger_len = x->len;
	}
	if ((x = pj_get(d, pj_get(d, rec, "file"), "name")) && x->type == PJ_STR)
		take_file(m, x->s, x->len);
	if ((x = pj_get(d, rec, "function")) && x->type == PJ_STR)
		set_str(r->function, sizeof(r->function), x->s, x->len, false);
	int64_t iv;
	if ((x = pj_get(d, rec, "line")) && take_int(x, &iv))
		r->line = (int)iv;
	if ((x = pj_get(d, pj_get(d, rec, "process"), "id")) && take_int(x, &iv))
		r->pid = iv;
	if ((x = pj_get(d, pj_get(d, rec, "thread"), "id")) && take_int(x, &iv))
		r->tid = (uint32_t)iv;
	if ((x = pj_get(d, rec, "exception")) && x->type != PJ_NULL)
		add_extra(m, x);
	if ((x = pj_get(d, rec, "extra")) && x->type == PJ_OBJ)
		for (uint32_t c = x->child; c; c = d->n[c].next)
			add_extra(m, &d->n[c]);
	return !m->oom;
}

bool pretty_map(const struct pj_doc *d, struct pretty_rec *r)
{
	struct pretty_extra *ex = r->ex;
	size_t excap = r->excap;
	memset(r, 0, sizeof(*r));
	r->ex = ex;
	r->excap = excap;
	r->level = JLOG_LEVEL_INFO;

	if (d->nn == 0 || d->n[0].type != PJ_OBJ)
		return false;
	const struct pj_node *root = &d->n[0];
	struct mapper m = {.d = d, .r = r};

	/* loguru writes "text" first: look for "record" only then. */
	const struct pj_node *first = root->child ? &d->n[root->child] : NULL;
	if (first && first->key_len == 4 && memcmp(first->key, "text", 4) == 0 &&
	    first->type == PJ_STR) {
		const struct pj_node *rec = pj_get(d, root, "record");
		if (rec && rec->type == PJ_OBJ)
			return map_loguru(&m, rec);
	}

	members(&m, root, -1);
	if (m.plain_logger) {
		if (!m.got_logger && !m.preset) {
			r->logger = m.plain_logger->s;
			r->logger_len = m.plain_logger->len;
			m.got_logger = true;
		} else {
			add_extra(&m, m.plain_logger);
		}
	}
	if (m.name) {
		if (m.numeric_level && !m.got_logger) {
			r->logger = m.name->s;
			r->logger_len = m.name->len;
		} else {
			add_extra(&m, m.name);
		}
	}
	return !m.oom;
}

void pretty_rec_free(struct pretty_rec *r)
{
	free(r->ex);
	r->ex = NULL;
	r->excap = r->nex = 0;
}

/* ---- filters ----------------------------------------------------------------- */

int pretty_where_parse(const char *expr, struct pretty_where *w, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	const char *p = strpbrk(expr, "=!<>~");
	if (!p || p == expr) {
		snprintf(err, errlen,
		         "--where \"%s\": expected KEY=VALUE, KEY!=VALUE, KEY>N, KEY<N or KEY~TEXT",
		         expr);
		return -EINVAL;
	}
	const char *v = p + 1;
	switch (*p) {
	case '=': w->op = OP_EQ; break;
	case '~': w->op = OP_HAS; break;
	case '!':
		if (p[1] != '=') {
			snprintf(err, errlen, "--where \"%s\": '!' must be followed by '='", expr);
			return -EINVAL;
		}
		w->op = OP_NE;
		v++;
		break;
	case '>':
	case '<':
		w->op = *p == '>' ? (p[1] == '=' ? OP_GE : OP_GT) : (p[1] == '=' ? OP_LE : OP_LT);
		if (p[1] == '=')
			v++;
		break;
	}
	char *end;
	w->num = strtod(v, &end);
	w->num_ok = *v && *end == '\0';
	/* level>=WARNING, level=warn: levels compare by number, named as
	 * --level names them. */
	int lv;
	if (w->op != OP_HAS && (size_t)(p - expr) == 5 && memcmp(expr, "level", 5) == 0 &&
	    (lv = pretty_level_from_name(v, strlen(v))) >= 0) {
		w->num = lv;
		w->num_ok = true;
		w->level = true;
	}
	if ((w->op == OP_GT || w->op == OP_LT || w->op == OP_GE || w->op == OP_LE) && !w->num_ok) {
		snprintf(err, errlen, "--where \"%s\": \"%s\" is not a number", expr, v);
		return -EINVAL;
	}
	w->key = strndup(expr, (size_t)(p - expr));
	w->value = strdup(v);
	if (!w->key || !w->value) {
		pretty_where_free(w);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void pretty_where_free(struct pretty_where *w)
{
	free(w->key);
	free(w->value);
	w->key = w->value = NULL;
}

/* The text a key has in the record: an extra's value, then the parts by
 * their jlog names, then the line's own key. */
static bool lookup(const struct pretty_where *w, const struct pj_doc *d,
                   const struct pretty_rec *r, const char **s, size_t *n,
                   const struct pj_node **node, char *tmp, size_t tmpcap)
{
	size_t klen = strlen(w->key);
	*node = NULL;
	for (size_t i = r->nex; i-- > 0;) {
		if (r->ex[i].key_len == klen && memcmp(r->ex[i].key, w->key, klen) == 0) {
			*node = r->ex[i].v;
			*s = (*node)->s;
			*n = (*node)->len;
			return true;
		}
	}
	const char *k = w->key;
	if (strcmp(k, "message") == 0) {
		*s = r->msg ? r->msg : "";
		*n = r->msg_len;
	} else if (strcmp(k, "logger") == 0 && r->logger) {
		*s = r->logger;
		*n = r->logger_len;
	} else if (strcmp(k, "file") == 0 && r->file[0]) {
		*s = r->file;
		*n = strlen(r->file);
	} else if (strcmp(k, "function") == 0 && r->function[0]) {
		*s = r->function;
		*n = strlen(r->function);
	} else if (strcmp(k, "level") == 0) {
		if (w->level) {
			/* As a number, which the caller reads back. */
			*n = (size_t)snprintf(tmp, tmpcap, "%d", r->level);
			*s = tmp;
			return true;
		}
		const char *name = jlog_level_name(r->level);
		*n = (size_t)snprintf(tmp, tmpcap, "%s", name ? name : "");
		if (!name)
			*n = (size_t)snprintf(tmp, tmpcap, "%d", r->level);
		*s = tmp;
	} else if (strcmp(k, "line") == 0 || strcmp(k, "pid") == 0 || strcmp(k, "tid") == 0) {
		long long v = k[0] == 'l' ? r->line : k[0] == 'p' ? r->pid : (long long)r->tid;
		*n = (size_t)snprintf(tmp, tmpcap, "%lld", v);
		*s = tmp;
	} else {
		const struct pj_node *x = d->nn ? pj_get(d, &d->n[0], k) : NULL;
		if (!x)
			return false;
		*node = x;
		*s = x->s;
		*n = x->len;
	}
	return true;
}

bool pretty_where_match(const struct pretty_where *w, const struct pj_doc *d,
                        const struct pretty_rec *r)
{
	const char *s;
	size_t n;
	const struct pj_node *node;
	char tmp[64];
	if (!lookup(w, d, r, &s, &n, &node, tmp, sizeof(tmp)))
		return w->op == OP_NE;

	double v = 0;
	bool num;
	if (node) {
		num = num_of(node, &v);
	} else {
		char t[64], *end;
		num = n > 0 && n < sizeof(t);
		if (num) {
			memcpy(t, s, n);
			t[n] = '\0';
			v = strtod(t, &end);
			num = *end == '\0';
		}
	}
	size_t vl = strlen(w->value);
	switch (w->op) {
	case OP_EQ:
	case OP_NE: {
		bool eq = num && w->num_ok ? v == w->num : n == vl && memcmp(s, w->value, n) == 0;
		return eq == (w->op == OP_EQ);
	}
	case OP_GT: return num && v > w->num;
	case OP_LT: return num && v < w->num;
	case OP_GE: return num && v >= w->num;
	case OP_LE: return num && v <= w->num;
	default: /* OP_HAS */
		return vl == 0 || (n >= vl && memmem(s, n, w->value, vl) != NULL);
	}
}

/* ---- the view the formatter renders --------------------------------------- */

static bool wanted(char *const *only, const char *k, size_t n)
{
	if (!only)
		return true;
	for (; *only; only++)
		if (strlen(*only) == n && memcmp(*only, k, n) == 0)
			return true;
	return false;
}

/* One field in the record's wire format (struct jlog__field_hdr, key,
 * value), as jlog__field_next() reads it back. */
static void put_field(struct jlog__buf *b, const struct pretty_extra *e)
{
	const struct pj_node *n = e->v;
	struct jlog__field_hdr h = {0};
	uint8_t val[8];
	const void *vp = val;
	size_t klen = e->key_len > JLOG__MAX_KEY ? JLOG__MAX_KEY : e->key_len;

	switch (n->type) {
	case PJ_STR:
		h.type = JLOG__T_STR;
		vp = n->s;
		h.val_len = n->len;
		break;
	case PJ_NUM:
		if (n->is_uint) {
			h.type = JLOG__T_UINT;
			memcpy(val, &n->u, 8);
		} else if (n->is_int) {
			h.type = JLOG__T_INT;
			memcpy(val, &n->i, 8);
		} else {
			h.type = JLOG__T_DOUBLE;
			memcpy(val, &n->d, 8);
		}
		h.val_len = 8;
		break;
	case PJ_BOOL:
		h.type = JLOG__T_BOOL;
		val[0] = n->b;
		h.val_len = 1;
		break;
	case PJ_NULL:
		h.type = JLOG__T_NULL;
		break;
	default:
		/* Objects and arrays as the line wrote them: JSON text. */
		h.type = JLOG__T_JSON;
		vp = n->s;
		h.val_len = n->len;
		break;
	}
	h.key_len = (uint16_t)klen;
	jlog__buf_put(b, &h, sizeof(h));
	if (klen)
		jlog__buf_put(b, e->key, klen);
	if (h.val_len)
		jlog__buf_put(b, vp, h.val_len);
}

bool pretty_view(const struct pretty_rec *r, char *const *only, struct jlog__buf *fields,
                 struct jlog__rec_view *v)
{
	memset(v, 0, sizeof(*v));
	fields->len = 0;
	fields->failed = false;
	uint32_t nf = 0;
	for (size_t i = 0; i < r->nex; i++) {
		if (!wanted(only, r->ex[i].key, r->ex[i].key_len))
			continue;
		put_field(fields, &r->ex[i]);
		nf++;
	}
	if (fields->failed)
		return false;
	v->time_ns = r->time_ns;
	v->level = r->level;
	v->tid = r->tid;
	v->msg = r->msg ? r->msg : "";
	v->msg_len = r->msg_len;
	v->name = r->logger;
	v->name_len = r->logger_len;
	v->file = r->file[0] ? r->file : NULL;
	v->function = r->function[0] ? r->function : NULL;
	v->line = r->line;
	v->nfields = nf;
	v->fields = nf ? (const uint8_t *)fields->p : NULL;
	v->end = nf ? (const uint8_t *)fields->p + fields->len : NULL;
	return true;
}
