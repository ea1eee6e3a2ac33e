/*
 * Tests of the JSON presets (lib/encode-preset.c). Records are built by
 * hand, encoded in each preset and parsed back with jansson, rejecting
 * duplicate keys. The expected keys, key order, level mappings and times
 * are written here from the preset's documentation (and gmtime_r), not
 * from the encoder's code.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>

/* ck_assert records a checkpoint per passing assertion; loops use CHECK,
 * which reports failures only. */
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg(__VA_ARGS__);                            \
	} while (0)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: fast and reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

#define T0 1795665723123456789ull /* 2026-11-26T04:02:03.123456789Z */
#define PID 4242

/* ------------------------------------------------------------------------ */
/* Records and lines                                                        */
/* ------------------------------------------------------------------------ */

struct spec {
	const char *msg;
	size_t msg_len;
	const char *name;
	int level;
	unsigned flags;
	uint64_t time_ns;
	uint32_t tid;
	const char *file; /* callsite, as the record decoder would set it */
	const char *function;
	int line;
	uint64_t dropped;
	size_t val_cap;
};

static const struct spec base_spec = {
	.msg = "hello", .msg_len = 5, .level = JLOG_LEVEL_INFO, .time_ns = T0,
	.tid = 4243, .val_cap = SIZE_MAX,
};

/* A spec with a named logger and a callsite. */
static struct spec full_spec(void)
{
	struct spec sp = base_spec;
	sp.name = "api";
	sp.file = "server.c";
	sp.function = "handle";
	sp.line = 42;
	return sp;
}

/* Build a record the way the logger does and decode it into *v. Returns
 * the bytes, which *v points into; free() them. */
static uint8_t *make_record(const struct spec *sp, const jlog_field *fields, size_t n,
                            struct jlog__rec_view *v)
{
	size_t name_len = sp->name ? strlen(sp->name) : 0;
	size_t cap = sizeof(struct jlog__rec_hdr) + sp->msg_len + name_len;
	for (size_t i = 0; i < n; i++)
		cap += jlog__field_size(&fields[i]);
	uint8_t *buf = malloc(cap);
	CHECK(buf != NULL, "out of memory");

	struct jlog__rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.time_ns = sp->time_ns;
	h.tid = sp->tid;
	h.msg_len = (uint32_t)sp->msg_len;
	h.nfields = (uint32_t)n;
	h.name_len = (uint16_t)name_len;
	h.level = (uint8_t)sp->level;
	h.flags = (uint8_t)sp->flags;
	memcpy(buf, &h, sizeof(h));
	uint8_t *p = buf + sizeof(h);
	if (sp->msg_len)
		memcpy(p, sp->msg, sp->msg_len);
	p += sp->msg_len;
	if (name_len)
		memcpy(p, sp->name, name_len);
	p += name_len;
	for (size_t i = 0; i < n; i++)
		p += jlog__field_write(p, &fields[i], sp->val_cap);
	CHECK(jlog__record_decode(buf, (size_t)(p - buf), v), "record does not decode");
	v->file = sp->file;
	v->function = sp->function;
	v->line = sp->line;
	v->dropped = sp->dropped;
	return buf;
}

static struct jlog__json_opts opts(enum jlog__preset p)
{
	struct jlog__json_opts o;
	jlog__json_opts_init(&o);
	o.preset = p;
	return o;
}

/* Encode; the text must be one line ending in its only '\n', without a raw
 * control character or U+2028/9. free() the result. */
static char *encode(const struct jlog__rec_view *v, const struct jlog__json_opts *o, size_t *len)
{
	struct jlog__buf b;
	struct jlog__line_ctx ctx = {.pid = PID};
	jlog__buf_init(&b);
	jlog__encode_preset(&b, v, &ctx, o);
	CHECK(!b.failed, "out of memory");
	CHECK(b.len > 2 && b.p[b.len - 1] == '\n', "no newline at the end");
	for (size_t i = 0; i + 1 < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];
		CHECK(c >= 0x20 && c != 0x7f, "raw byte 0x%02x at %zu: %.*s", c, i, (int)b.len,
		      b.p);
		CHECK(!(c == 0xe2 && i + 2 < b.len && (unsigned char)b.p[i + 1] == 0x80 &&
		        ((unsigned char)b.p[i + 2] & 0xfe) == 0xa8),
		      "raw U+2028/9 at %zu", i);
	}
	*len = b.len;
	return b.p;
}

static json_t *parse(const char *text, size_t len)
{
	json_error_t err;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	CHECK(j != NULL, "invalid JSON (%s at %d): %.*s", err.text, err.position,
	      (int)(len > 400 ? 400 : len), text);
	CHECK(json_is_object(j), "not an object");
	return j;
}

static json_t *line_view(const struct jlog__rec_view *v, const struct jlog__json_opts *o)
{
	size_t len;
	char *text = encode(v, o, &len);
	json_t *j = parse(text, len);
	free(text);
	return j;
}

static json_t *line_of(const struct spec *sp, const jlog_field *f, size_t n,
                       const struct jlog__json_opts *o)
{
	struct jlog__rec_view v;
	uint8_t *rec = make_record(sp, f, n, &v);
	json_t *j = line_view(&v, o);
	free(rec);
	return j;
}

/* The text of a line, for checks on the bytes. free() it. */
static char *text_of(const struct spec *sp, const jlog_field *f, size_t n,
                     const struct jlog__json_opts *o)
{
	struct jlog__rec_view v;
	uint8_t *rec = make_record(sp, f, n, &v);
	size_t len;
	char *text = encode(&v, o, &len);
	free(rec);
	return text;
}

/* The keys of an object in order, comma-separated. free() it. */
static char *key_order(const json_t *obj)
{
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__buf_putc(&b, '\0');
	b.len = 0;
	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *k = json_object_iter_key(it);
		if (b.len)
			jlog__buf_putc(&b, ',');
		jlog__buf_put(&b, k, strlen(k));
	}
	jlog__buf_putc(&b, '\0');
	return b.p;
}

#define ASSERT_ORDER(obj, want)                                               \
	do {                                                                  \
		char *order_ = key_order(obj);                                \
		ck_assert_str_eq(order_, want);                               \
		free(order_);                                                 \
	} while (0)

static const char *str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	ck_assert_msg(s != NULL, "no string at %s", key);
	return s;
}

static json_int_t int_at(const json_t *obj, const char *key)
{
	const json_t *j = json_object_get(obj, key);
	ck_assert_msg(json_is_integer(j), "no integer at %s", key);
	return json_integer_value(j);
}

/* The line of @sp without fields has the string @want at @key. */
static void expect_str_at(const struct spec *sp, const struct jlog__json_opts *o,
                          const char *key, const char *want)
{
	json_t *line = line_of(sp, NULL, 0, o);
	const char *got = str_at(line, key);
	ck_assert_msg(strcmp(got, want) == 0, "%s: \"%s\", want \"%s\"", key, got, want);
	json_decref(line);
}

/* "2026-11-26T04:02:03" + fraction of @digits (0: none) + @tail, by
 * gmtime_r: the slow and obviously right way. */
static void ref_time(uint64_t ns, int digits, char sep, const char *tail, char *out,
                     size_t cap)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	CHECK(gmtime_r(&sec, &tm) != NULL, "gmtime_r");
	int n = snprintf(out, cap, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (digits) {
		char frac[16];
		snprintf(frac, sizeof(frac), "%09" PRIu64, ns % 1000000000u);
		n += snprintf(out + n, cap - (size_t)n, ".%.*s", digits, frac);
	}
	snprintf(out + n, cap - (size_t)n, "%s", tail);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

START_TEST(test_parse)
{
	static const struct {
		const char *name;
		int want;
	} presets[] = {
		{"default", JLOG__PRESET_DEFAULT}, {"ecs", JLOG__PRESET_ECS},
		{"gcp", JLOG__PRESET_GCP},         {"otel", JLOG__PRESET_OTEL},
		{"loguru", JLOG__PRESET_LOGURU},   {"ECS", JLOG__PRESET_ECS},
		{"OTel", JLOG__PRESET_OTEL},       {"Default", JLOG__PRESET_DEFAULT},
		{"", -EINVAL},                     {"ecs ", -EINVAL},
		{"elastic", -EINVAL},              {"otlp", -EINVAL},
		{"defaults", -EINVAL},             {"gc", -EINVAL},
	}, formats[] = {
		{"rfc3339", JLOG__TIME_RFC3339_US},    {"rfc3339_ms", JLOG__TIME_RFC3339_MS},
		{"rfc3339_us", JLOG__TIME_RFC3339_US}, {"rfc3339_ns", JLOG__TIME_RFC3339_NS},
		{"epoch", JLOG__TIME_EPOCH_S},         {"epoch_s", JLOG__TIME_EPOCH_S},
		{"epoch_ms", JLOG__TIME_EPOCH_MS},     {"epoch_ns", JLOG__TIME_EPOCH_NS},
		{"RFC3339_NS", JLOG__TIME_RFC3339_NS}, {"Epoch_Ms", JLOG__TIME_EPOCH_MS},
		{"iso8601", -EINVAL},                  {"rfc3339_", -EINVAL},
		{"epoch_us", -EINVAL},                 {"", -EINVAL},
	};
	for (size_t i = 0; i < ARRAY_LEN(presets); i++)
		ck_assert_msg(jlog__preset_parse(presets[i].name) == presets[i].want, "%s",
		              presets[i].name);
	for (size_t i = 0; i < ARRAY_LEN(formats); i++)
		ck_assert_msg(jlog__time_format_parse(formats[i].name) == formats[i].want, "%s",
		              formats[i].name);
	ck_assert_int_eq(jlog__preset_parse(NULL), -EINVAL);
	ck_assert_int_eq(jlog__time_format_parse(NULL), -EINVAL);

	struct jlog__json_opts o;
	memset(&o, 0x5a, sizeof(o));
	jlog__json_opts_init(&o);
	ck_assert_int_eq(o.preset, JLOG__PRESET_DEFAULT);
	ck_assert_int_eq(o.time_format, JLOG__TIME_RFC3339_US);
	ck_assert_ptr_null(o.key_time);
	ck_assert_ptr_null(o.key_tid);
	ck_assert_int_eq(jlog__json_opts_check(&o), 0);
	ck_assert_int_eq(jlog__json_opts_check(NULL), -EINVAL);

	o.preset = (enum jlog__preset)7;
	ck_assert_int_eq(jlog__json_opts_check(&o), -EINVAL);
	o = opts(JLOG__PRESET_DEFAULT);
	o.time_format = (enum jlog__time_format)9;
	ck_assert_int_eq(jlog__json_opts_check(&o), -EINVAL);

	/* Renames: two schema keys may not print the same. */
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_time = "level";
	ck_assert_int_eq(jlog__json_opts_check(&o), -EINVAL);
	o.key_level = "time"; /* a swap is fine */
	ck_assert_int_eq(jlog__json_opts_check(&o), 0);
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_pid = "truncated";
	ck_assert_int_eq(jlog__json_opts_check(&o), -EINVAL);
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_tid = "dropped";
	ck_assert_int_eq(jlog__json_opts_check(&o), -EINVAL);
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_file = "x\xff";
	o.key_line = "x\xfe"; /* both print "x\uFFFD" */
	ck_assert_int_eq(jlog__json_opts_check(&o), -EINVAL);
	o.key_line = "x";
	ck_assert_int_eq(jlog__json_opts_check(&o), 0);
	/* Renames are the default preset's; elsewhere they are ignored. */
	o = opts(JLOG__PRESET_ECS);
	o.key_time = "level";
	ck_assert_int_eq(jlog__json_opts_check(&o), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Random records                                                           */
/* ------------------------------------------------------------------------ */

/* Field keys: raw bytes and how a parser reads them back. */
static const struct pool_key {
	const char *raw;
	size_t len;
	const char *printed;
} pool[] = {
	{"a", 1, "a"}, {"b", 1, "b"}, {"", 0, ""}, {"user", 4, "user"},
	{"time", 4, "time"}, {"fields.time", 11, "fields.time"}, {"level", 5, "level"},
	{"fields.level", 12, "fields.level"}, {"message", 7, "message"}, {"msg", 3, "msg"},
	{"ts", 2, "ts"}, {"pid", 3, "pid"}, {"tid", 3, "tid"}, {"truncated", 9, "truncated"},
	{"dropped", 7, "dropped"}, {"fields.truncated", 16, "fields.truncated"},
	{"log", 3, "log"}, {"log.level", 9, "log.level"}, {"log.level.x", 11, "log.level.x"},
	{"log.levels", 10, "log.levels"}, {"process", 7, "process"},
	{"process.name", 12, "process.name"}, {"ecs", 3, "ecs"}, {"@timestamp", 10, "@timestamp"},
	{"jlog", 4, "jlog"}, {"severity", 8, "severity"}, {"timestamp", 9, "timestamp"},
	{"logging.googleapis.com/trace", 28, "logging.googleapis.com/trace"},
	{"logging.googleapis.com/labels", 29, "logging.googleapis.com/labels"},
	{"thread.id", 9, "thread.id"}, {"fields.thread.id", 16, "fields.thread.id"},
	{"code.lineno", 11, "code.lineno"}, {"Body", 4, "Body"}, {"text", 4, "text"},
	{"record", 6, "record"}, {"k\n", 2, "k\n"}, {"x\"y", 3, "x\"y"},
	{"\x80", 1, "\xef\xbf\xbd"}, {"\xef\xbf\xbd", 3, "\xef\xbf\xbd"},
	{"n\0", 2, "n\xef\xbf\xbd"}, {"n\xff", 2, "n\xef\xbf\xbd"},
	{"\xe2\x80\xa8", 3, "\xe2\x80\xa8"},
};

/* The keys each preset writes beside the fields, from its documentation. */
static const char *const ecs_keys[] = {
	"@timestamp", "log.level", "message", "log.logger", "log.origin.file.name",
	"log.origin.file.line", "log.origin.function", "process.pid", "process.thread.id",
	"ecs.version", "jlog.truncated", "jlog.dropped",
};
static const char *const gcp_keys[] = {
	"severity", "message", "time", "logging.googleapis.com/sourceLocation",
	"logging.googleapis.com/labels", "pid", "tid", "truncated", "dropped", "timestamp",
	"timestampSeconds", "timestampNanos", "logging.googleapis.com/severity",
};
static const char *const otel_keys[] = {
	"code.filepath", "code.lineno", "code.function", "thread.id", "jlog.truncated",
	"jlog.dropped",
};
static const char *const loguru_keys[] = {"truncated", "dropped"};
static const char *const default_names[] = {
	"time", "level", "message", "logger", "file", "line", "function", "pid", "tid",
};

/* The test's view of a preset: its reserved keys, and for default the
 * schema names after renames. */
struct model {
	enum jlog__preset preset;
	const char *names[9]; /* default: time ... tid */
	const char *const *keys;
	size_t nkeys;
	const char *dkeys[11];
};

static struct model model_of(const struct jlog__json_opts *o)
{
	struct model m;
	memset(&m, 0, sizeof(m));
	m.preset = o->preset;
	switch (o->preset) {
	case JLOG__PRESET_ECS:
		m.keys = ecs_keys;
		m.nkeys = ARRAY_LEN(ecs_keys);
		break;
	case JLOG__PRESET_GCP:
		m.keys = gcp_keys;
		m.nkeys = ARRAY_LEN(gcp_keys);
		break;
	case JLOG__PRESET_OTEL:
		m.keys = otel_keys;
		m.nkeys = ARRAY_LEN(otel_keys);
		break;
	case JLOG__PRESET_LOGURU:
		m.keys = loguru_keys;
		m.nkeys = ARRAY_LEN(loguru_keys);
		break;
	default: {
		const char *r[9] = {o->key_time, o->key_level, o->key_message, o->key_logger,
		                    o->key_file, o->key_line, o->key_function, o->key_pid,
		                    o->key_tid};
		for (size_t i = 0; i < 9; i++)
			m.names[i] = r[i] ? r[i] : default_names[i];
		/* The renames used here are valid UTF-8 without NUL, so they
		 * read back as written; colliding ones fall back. */
		m.dkeys[9] = "truncated";
		m.dkeys[10] = "dropped";
		bool clash = false;
		for (size_t i = 0; i < 9; i++)
			m.dkeys[i] = m.names[i];
		for (size_t i = 0; i < 11; i++)
			for (size_t j = i + 1; j < 11; j++)
				clash |= strcmp(m.dkeys[i], m.dkeys[j]) == 0;
		if (clash)
			for (size_t i = 0; i < 9; i++)
				m.names[i] = m.dkeys[i] = default_names[i];
		m.nkeys = 11; /* in dkeys: m is returned by value */
		break;
	}
	}
	return m;
}

static bool model_reserved(const struct model *m, const char *k)
{
	size_t n = strlen(k);
	const char *const *keys = m->preset == JLOG__PRESET_DEFAULT ? m->dkeys : m->keys;
	for (size_t i = 0; i < m->nkeys; i++) {
		const char *r = keys[i];
		size_t rn = strlen(r);
		if (strcmp(r, k) == 0)
			return true;
		if (m->preset != JLOG__PRESET_ECS)
			continue;
		/* Elasticsearch paths: one a dotted prefix of the other. */
		if (rn > n && strncmp(r, k, n) == 0 && r[n] == '.')
			return true;
		if (n > rn && strncmp(k, r, rn) == 0 && k[rn] == '.')
			return true;
	}
	return false;
}

/* The key a field reads back as. free() it. */
static char *model_key(const struct model *m, const char *printed)
{
	size_t cap = strlen(printed) + 1;
	char *k = malloc(cap);
	memcpy(k, printed, cap);
	while (model_reserved(m, k)) {
		char *p = malloc(cap + 7);
		memcpy(p, "fields.", 7);
		memcpy(p + 7, k, cap);
		cap += 7;
		free(k);
		k = p;
	}
	return k;
}

/* The keys before the fields in the object that holds them. */
static size_t model_fixed(const struct model *m, const struct spec *sp, const char **out)
{
	size_t n = 0;
	bool named = sp->name && *sp->name;
	bool trunc = sp->flags & JLOG__REC_TRUNCATED;
	switch (m->preset) {
	case JLOG__PRESET_ECS:
		out[n++] = "@timestamp";
		out[n++] = "log.level";
		out[n++] = "message";
		if (named)
			out[n++] = "log.logger";
		if (sp->file)
			out[n++] = "log.origin.file.name";
		if (sp->line > 0)
			out[n++] = "log.origin.file.line";
		if (sp->function)
			out[n++] = "log.origin.function";
		out[n++] = "process.pid";
		out[n++] = "process.thread.id";
		out[n++] = "ecs.version";
		if (trunc)
			out[n++] = "jlog.truncated";
		if (sp->dropped)
			out[n++] = "jlog.dropped";
		break;
	case JLOG__PRESET_GCP:
		out[n++] = "severity";
		out[n++] = "message";
		out[n++] = "timestamp";
		if (sp->file || sp->line > 0 || sp->function)
			out[n++] = "logging.googleapis.com/sourceLocation";
		if (named)
			out[n++] = "logging.googleapis.com/labels";
		out[n++] = "pid";
		out[n++] = "tid";
		if (trunc)
			out[n++] = "truncated";
		if (sp->dropped)
			out[n++] = "dropped";
		break;
	case JLOG__PRESET_OTEL:
		if (sp->file)
			out[n++] = "code.filepath";
		if (sp->line > 0)
			out[n++] = "code.lineno";
		if (sp->function)
			out[n++] = "code.function";
		out[n++] = "thread.id";
		if (trunc)
			out[n++] = "jlog.truncated";
		if (sp->dropped)
			out[n++] = "jlog.dropped";
		break;
	case JLOG__PRESET_LOGURU:
		if (trunc)
			out[n++] = "truncated";
		if (sp->dropped)
			out[n++] = "dropped";
		break;
	default:
		out[n++] = m->names[0];
		out[n++] = m->names[1];
		out[n++] = m->names[2];
		if (named)
			out[n++] = m->names[3];
		if (sp->file)
			out[n++] = m->names[4];
		if (sp->line > 0)
			out[n++] = m->names[5];
		if (sp->function)
			out[n++] = m->names[6];
		out[n++] = m->names[7];
		out[n++] = m->names[8];
		if (trunc)
			out[n++] = "truncated";
		if (sp->dropped)
			out[n++] = "dropped";
		break;
	}
	return n;
}

/* The object that holds the fields in a line of the preset. */
static json_t *fields_object(json_t *line, enum jlog__preset p)
{
	switch (p) {
	case JLOG__PRESET_OTEL:
		return json_object_get(line, "Attributes");
	case JLOG__PRESET_LOGURU:
		return json_object_get(json_object_get(line, "record"), "extra");
	default:
		return line;
	}
}

/* The top-level keys of the presets that keep fields elsewhere. */
static void check_top(json_t *line, const struct spec *sp, enum jlog__preset p)
{
	char *order = key_order(line);
	if (p == JLOG__PRESET_OTEL) {
		const char *want = sp->name && *sp->name
		        ? "Timestamp,SeverityText,SeverityNumber,Body,Resource,"
		          "InstrumentationScope,Attributes"
		        : "Timestamp,SeverityText,SeverityNumber,Body,Resource,Attributes";
		CHECK(strcmp(order, want) == 0, "otel keys %s", order);
	} else if (p == JLOG__PRESET_LOGURU) {
		CHECK(strcmp(order, "text,record") == 0, "loguru keys %s", order);
		free(order);
		order = key_order(json_object_get(line, "record"));
		CHECK(strcmp(order, "elapsed,exception,extra,file,function,level,line,message,"
		                    "module,name,process,thread,time") == 0,
		      "loguru record keys %s", order);
	}
	free(order);
}

/*
 * Fields whose value is their index (INT), keys from the pool: the object
 * holding them has the preset's own keys, then, in order, each printed
 * key whose last occurrence it is, with that occurrence's value.
 */
static void check_fields(json_t *line, const struct model *m, const struct spec *sp,
                         const size_t *keyidx, size_t n)
{
	json_t *obj = fields_object(line, m->preset);
	CHECK(json_is_object(obj), "no fields object");
	check_top(line, sp, m->preset);

	const char *fixed[16];
	size_t nfixed = model_fixed(m, sp, fixed);
	char **keys = malloc((n ? n : 1) * sizeof(*keys));
	json_t *last = json_object();
	for (size_t i = 0; i < n; i++) {
		keys[i] = model_key(m, pool[keyidx[i]].printed);
		json_object_set_new(last, keys[i], json_integer((json_int_t)i));
	}
	CHECK(json_object_size(obj) == nfixed + json_object_size(last),
	      "%zu keys, want %zu + %zu", json_object_size(obj), nfixed,
	      json_object_size(last));

	void *it = json_object_iter(obj);
	for (size_t i = 0; i < nfixed; i++, it = json_object_iter_next(obj, it)) {
		CHECK(it != NULL, "fixed key %zu missing", i);
		CHECK(strcmp(json_object_iter_key(it), fixed[i]) == 0, "key %zu is %s, want %s",
		      i, json_object_iter_key(it), fixed[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (json_integer_value(json_object_get(last, keys[i])) == (json_int_t)i) {
			CHECK(it != NULL, "field %zu missing", i);
			CHECK(strcmp(json_object_iter_key(it), keys[i]) == 0,
			      "field %zu: key %s, want %s", i, json_object_iter_key(it), keys[i]);
			CHECK(json_integer_value(json_object_iter_value(it)) == (json_int_t)i,
			      "field %zu value", i);
			it = json_object_iter_next(obj, it);
		}
		free(keys[i]);
	}
	free(keys);
	json_decref(last);
}

/* Random bytes of the kinds that need care in JSON. */
static size_t random_text(char *s, size_t cap)
{
	static const char *const bits[] = {
		"a", "bc", "\"", "\\", "\n", "\r", "\t", "\x01", "\x1f", "\x7f", "\xff",
		"\xc3\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xf0\x9f\x98\x80", "\xe2\x82",
		"\xed\xa0\x80", "/", "{\"k\":1}", " ", "\0",
	};
	size_t n = 0, parts = rnd() % 8;
	for (size_t i = 0; i < parts; i++) {
		const char *b = bits[rnd() % ARRAY_LEN(bits)];
		size_t bl = *b ? strlen(b) : 1;
		if (n + bl > cap)
			break;
		memcpy(s + n, b, bl);
		n += bl;
	}
	return n;
}

static json_t *json_values[4];

static void json_values_init(void)
{
	if (json_values[0])
		return;
	json_values[0] = json_pack("{s:i,s:s}", "a", 1, "line\xe2\x80\xa8sep", "x\xe2\x80\xa9y");
	json_values[1] = json_pack("[i,f,b,n]", 1, 2.5, 1);
	json_values[2] = json_string("s\"\n");
	json_values[3] = json_real(-0.25);
}

struct rand_rec {
	struct spec sp;
	jlog_field f[48];
	size_t keyidx[48];
	size_t n;
	char msg[64];
	char name[32];
	char vals[48][32];
	struct jlog__rec_view v; /* decoded from rec */
	uint8_t *rec;            /* free() it */
};

/* A random record, built and decoded into r->v; free(r->rec) after. With
 * @int_only every field is JLOG_INT(key, index). */
static void random_record(struct rand_rec *r, size_t max_fields, bool int_only)
{
	static const char *const files[] = {"server.c", "a.tar.gz", ".hidden", "noext", "x\"y\n.c"};
	static const char *const names[] = {"api", "na\"me\n", "\xff", "a.b"};
	json_values_init();
	r->sp = base_spec;
	r->sp.time_ns = rnd() % (uint64_t)INT64_MAX; /* jansson reads int64 only */
	r->sp.level = (int)(rnd() % 256);
	r->sp.tid = rnd() % 4 ? (uint32_t)rnd() : PID;
	r->sp.msg_len = random_text(r->msg, sizeof(r->msg));
	r->sp.msg = r->msg;
	r->sp.name = rnd() % 2 ? names[rnd() % ARRAY_LEN(names)] : NULL;
	if (rnd() % 3) {
		r->sp.file = files[rnd() % ARRAY_LEN(files)];
		r->sp.function = rnd() % 4 ? "fn\"\t" : NULL;
		r->sp.line = (int)(rnd() % 3) - 1;
	}
	r->sp.flags = (unsigned)(rnd() % 8) & (JLOG__REC_TRUNCATED | JLOG__REC_MSG_TRUNCATED);
	r->sp.dropped = rnd() % 5 == 0 ? rnd() % 1000000 + 1 : 0;
	if (!int_only && rnd() % 4 == 0)
		r->sp.val_cap = rnd() % 8;
	r->n = max_fields ? rnd() % (max_fields + 1) : 0;
	for (size_t i = 0; i < r->n; i++) {
		size_t k = rnd() % ARRAY_LEN(pool);
		r->keyidx[i] = k;
		jlog_field f = JLOG_INT("", (int64_t)i);
		if (!int_only) {
			switch (rnd() % 8) {
			case 0: {
				size_t len = random_text(r->vals[i], sizeof(r->vals[i]));
				f = JLOG_STRN("", r->vals[i], len);
				break;
			}
			case 1: {
				static const double d[] = {NAN, INFINITY, -INFINITY, 0.1, -0.0, 1e300,
				                           5e-324, 12.5};
				f = JLOG_DOUBLE("", d[rnd() % ARRAY_LEN(d)]);
				break;
			}
			case 2:
				f = JLOG_UINT("", rnd() % (uint64_t)INT64_MAX);
				break;
			case 3:
				f = JLOG_BOOL("", rnd() % 2);
				break;
			case 4:
				f = JLOG_NULL("");
				break;
			case 5:
				f = JLOG_JSON("", json_values[rnd() % ARRAY_LEN(json_values)]);
				break;
			default:
				f = JLOG_INT("", (int64_t)rnd());
				break;
			}
		}
		f.key = pool[k].raw;
		f.key_len = pool[k].len;
		r->f[i] = f;
	}
	r->rec = make_record(&r->sp, r->f, r->n, &r->v);
}

/* Renames for the default preset, some of them colliding. */
static void random_renames(struct jlog__json_opts *o)
{
	static const char *const pick[] = {
		NULL, NULL, NULL, "ts", "severity", "msg", "level", "time", "fields.level",
		"fields.time", "k\"\n", "@timestamp", "log.level", "truncated", "user", "pid",
		"a", "\xc3\xa9t\xc3\xa9",
	};
	const char **k[] = {&o->key_time, &o->key_level, &o->key_message, &o->key_logger,
	                    &o->key_file, &o->key_line, &o->key_function, &o->key_pid,
	                    &o->key_tid};
	for (size_t i = 0; i < ARRAY_LEN(k); i++)
		*k[i] = rnd() % 2 ? pick[rnd() % ARRAY_LEN(pick)] : NULL;
	o->time_format = (enum jlog__time_format)(rnd() % 6);
}

/* Options for preset @p: random renames (and time format) for the
 * default preset; for the others a random time format if @any_time. */
static struct jlog__json_opts random_opts(enum jlog__preset p, bool any_time)
{
	struct jlog__json_opts o = opts(p);
	if (p == JLOG__PRESET_DEFAULT)
		random_renames(&o);
	else if (any_time)
		o.time_format = (enum jlog__time_format)(rnd() % 6);
	return o;
}

/* ------------------------------------------------------------------------ */
/* default                                                                  */
/* ------------------------------------------------------------------------ */

static char *encode_json_text(const struct jlog__rec_view *v, size_t *len)
{
	struct jlog__buf b;
	struct jlog__line_ctx ctx = {.pid = PID};
	jlog__buf_init(&b);
	jlog__encode_json(&b, v, &ctx);
	CHECK(!b.failed, "out of memory");
	*len = b.len;
	return b.p;
}

/* Unchanged options give jlog__encode_json()'s bytes; so do renames to
 * the same names (which take the general path) and colliding renames
 * (which fall back to the default names). */
START_TEST(test_default_same_bytes)
{
	struct jlog__json_opts plain = opts(JLOG__PRESET_DEFAULT);
	struct jlog__json_opts same = plain;
	same.key_time = "time";
	same.key_level = "level";
	same.key_message = "message";
	same.key_logger = "logger";
	same.key_file = "file";
	same.key_line = "line";
	same.key_function = "function";
	same.key_pid = "pid";
	same.key_tid = "tid";
	struct jlog__json_opts clash = plain;
	clash.key_time = "message";
	struct jlog__json_opts unknown = plain;
	unknown.preset = (enum jlog__preset)99;
	const struct jlog__json_opts *all[] = {NULL, &plain, &same, &clash, &unknown};

	unsigned long iters = tc_scale(3000, 100);
	for (unsigned long iter = 0; iter < iters; iter++) {
		struct rand_rec r;
		random_record(&r, 40, false);
		size_t want_len;
		char *want = encode_json_text(&r.v, &want_len);
		for (size_t i = 0; i < ARRAY_LEN(all); i++) {
			size_t len;
			char *got = encode(&r.v, all[i], &len);
			CHECK(len == want_len && memcmp(got, want, len) == 0,
			      "options %zu, iteration %lu:\n%.*s\n%.*s", i, iter, (int)want_len, want,
			      (int)len, got);
			free(got);
		}
		free(want);
		free(r.rec);
	}
}
END_TEST

START_TEST(test_default_renames)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_DEFAULT);
	o.key_time = "ts";
	o.key_level = "severity";
	o.key_message = "msg";
	o.key_logger = "logger_name";
	o.key_file = "src.file";
	o.key_line = "src.line";
	o.key_function = "src.func";
	o.key_pid = "process";
	o.key_tid = "thread";
	const jlog_field f[] = {
		JLOG_INT("time", 0),       /* no longer reserved */
		JLOG_INT("ts", 1),         /* -> fields.ts, overridden by 4 */
		JLOG_INT("msg", 2),        /* -> fields.msg */
		JLOG_INT("level", 3),      /* no longer reserved */
		JLOG_INT("fields.ts", 4),  /* same printed key as 1 */
		JLOG_INT("thread", 5),     /* -> fields.thread */
		JLOG_INT("truncated", 6),  /* still reserved */
	};
	struct spec sp = full_spec();
	json_t *line = line_of(&sp, f, ARRAY_LEN(f), &o);
	ASSERT_ORDER(line, "ts,severity,msg,logger_name,src.file,src.line,src.func,process,"
	                   "thread,time,fields.msg,level,fields.ts,fields.thread,"
	                   "fields.truncated");
	ck_assert_str_eq(str_at(line, "ts"), "2026-11-26T04:02:03.123456Z");
	ck_assert_str_eq(str_at(line, "severity"), "INFO");
	ck_assert_str_eq(str_at(line, "msg"), "hello");
	ck_assert_str_eq(str_at(line, "logger_name"), "api");
	ck_assert_str_eq(str_at(line, "src.file"), "server.c");
	ck_assert_int_eq(int_at(line, "src.line"), 42);
	ck_assert_str_eq(str_at(line, "src.func"), "handle");
	ck_assert_int_eq(int_at(line, "process"), PID);
	ck_assert_int_eq(int_at(line, "thread"), 4243);
	ck_assert_int_eq(int_at(line, "time"), 0);
	ck_assert_int_eq(int_at(line, "fields.msg"), 2);
	ck_assert_int_eq(int_at(line, "level"), 3);
	ck_assert_int_eq(int_at(line, "fields.ts"), 4);
	ck_assert_int_eq(int_at(line, "fields.thread"), 5);
	ck_assert_int_eq(int_at(line, "fields.truncated"), 6);
	json_decref(line);

	/* A rename of the "fields.<key>" form: the renamed field moves on. */
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_time = "fields.level";
	const jlog_field g[] = {JLOG_INT("level", 1), JLOG_INT("fields.level", 2),
	                        JLOG_INT("time", 3)};
	line = line_of(&base_spec, g, ARRAY_LEN(g), &o);
	ASSERT_ORDER(line, "fields.level,level,message,pid,tid,fields.fields.level,time");
	ck_assert_int_eq(int_at(line, "fields.fields.level"), 2);
	ck_assert_int_eq(int_at(line, "time"), 3);
	json_decref(line);

	/* Renames are escaped like any key, and compared as printed. */
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_message = "m\"sg\n";
	o.key_level = "l\xff";
	const jlog_field h[] = {JLOG_INT("m\"sg\n", 1), JLOG_INT("l\xfe", 2)};
	line = line_of(&base_spec, h, ARRAY_LEN(h), &o);
	ASSERT_ORDER(line, "time,l\xef\xbf\xbd,m\"sg\n,pid,tid,fields.m\"sg\n,"
	                   "fields.l\xef\xbf\xbd");
	ck_assert_str_eq(str_at(line, "m\"sg\n"), "hello");
	json_decref(line);

	/* Colliding renames are ignored: the default names are used. */
	o = opts(JLOG__PRESET_DEFAULT);
	o.key_time = "level";
	o.time_format = JLOG__TIME_EPOCH_MS;
	line = line_of(&base_spec, g, ARRAY_LEN(g), &o);
	ASSERT_ORDER(line, "time,level,message,pid,tid,fields.level,fields.time");
	ck_assert_int_eq(int_at(line, "time"), (json_int_t)(T0 / 1000000u));
	ck_assert_int_eq(int_at(line, "fields.level"), 2);
	json_decref(line);
}
END_TEST

/* Each time format, in the default preset, against gmtime_r. */
static void check_time_formats(uint64_t ns)
{
	static const struct {
		enum jlog__time_format tf;
		int digits;
	} rfc[] = {
		{JLOG__TIME_RFC3339_MS, 3}, {JLOG__TIME_RFC3339_US, 6}, {JLOG__TIME_RFC3339_NS, 9},
	};
	char want[64], got[96];
	struct spec sp = base_spec;
	sp.time_ns = ns;
	for (size_t i = 0; i < ARRAY_LEN(rfc); i++) {
		struct jlog__json_opts o = opts(JLOG__PRESET_DEFAULT);
		o.time_format = rfc[i].tf;
		char *text = text_of(&sp, NULL, 0, &o);
		ref_time(ns, rfc[i].digits, 'T', "Z", want, sizeof(want));
		snprintf(got, sizeof(got), "{\"time\":\"%s\",", want);
		CHECK(strncmp(text, got, strlen(got)) == 0, "%s: %s", got, text);
		free(text);
	}
	struct jlog__json_opts o = opts(JLOG__PRESET_DEFAULT);
	o.time_format = JLOG__TIME_EPOCH_S;
	char *text = text_of(&sp, NULL, 0, &o);
	snprintf(want, sizeof(want), "{\"time\":%" PRIu64 ".%06" PRIu64 ",", ns / 1000000000u,
	         ns % 1000000000u / 1000u);
	CHECK(strncmp(text, want, strlen(want)) == 0, "%s: %s", want, text);
	free(text);
	o.time_format = JLOG__TIME_EPOCH_MS;
	text = text_of(&sp, NULL, 0, &o);
	snprintf(want, sizeof(want), "{\"time\":%" PRIu64 ",", ns / 1000000u);
	CHECK(strncmp(text, want, strlen(want)) == 0, "%s: %s", want, text);
	free(text);
	o.time_format = JLOG__TIME_EPOCH_NS;
	text = text_of(&sp, NULL, 0, &o);
	snprintf(want, sizeof(want), "{\"time\":%" PRIu64 ",", ns);
	CHECK(strncmp(text, want, strlen(want)) == 0, "%s: %s", want, text);
	free(text);
}

START_TEST(test_default_time_formats)
{
	static const uint64_t known[] = {
		0, 999, 1000, 1000000, 1709210096789012345ull, T0, 946684799999999999ull,
		951782400000000000ull, 4107542400000000000ull, (uint64_t)INT64_MAX,
	};
	for (size_t i = 0; i < ARRAY_LEN(known); i++)
		check_time_formats(known[i]);
	unsigned long iters = tc_scale(2000, 100);
	for (unsigned long i = 0; i < iters; i++)
		check_time_formats(rnd() % (uint64_t)INT64_MAX);

	/* Parsed back: strings, a real, integers. */
	struct jlog__json_opts o = opts(JLOG__PRESET_DEFAULT);
	o.time_format = JLOG__TIME_RFC3339_NS;
	expect_str_at(&base_spec, &o, "time", "2026-11-26T04:02:03.123456789Z");
	o.time_format = JLOG__TIME_RFC3339_MS;
	expect_str_at(&base_spec, &o, "time", "2026-11-26T04:02:03.123Z");
	o.time_format = JLOG__TIME_EPOCH_S;
	json_t *line = line_of(&base_spec, NULL, 0, &o);
	ck_assert(json_is_real(json_object_get(line, "time")));
	ck_assert(json_real_value(json_object_get(line, "time")) == 1795665723.123456);
	json_decref(line);
	o.time_format = JLOG__TIME_EPOCH_NS;
	line = line_of(&base_spec, NULL, 0, &o);
	ck_assert_int_eq(int_at(line, "time"), (json_int_t)T0);
	json_decref(line);

	/* Past INT64_MAX ns (year 2262) the number is valid JSON that
	 * jansson can only read as a real. */
	struct spec sp = base_spec;
	sp.time_ns = UINT64_MAX;
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, NULL, 0, &v);
	size_t len;
	char *text = encode(&v, &o, &len);
	free(rec);
	ck_assert(strncmp(text, "{\"time\":18446744073709551615,", 29) == 0);
	json_error_t err;
	json_t *j = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &err);
	ck_assert_msg(j != NULL, "%s", err.text);
	json_decref(j);
	free(text);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* ecs                                                                      */
/* ------------------------------------------------------------------------ */

START_TEST(test_ecs)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_ECS);
	const jlog_field f[] = {
		JLOG_INT("message", 0), JLOG_INT("log", 1), JLOG_INT("log.level.x", 2),
		JLOG_INT("process", 3), JLOG_INT("@timestamp", 4), JLOG_INT("ecs", 5),
		JLOG_INT("jlog", 6), JLOG_STR("process.name", "srv"), JLOG_STR("service.name", "svc"),
		JLOG_INT("logx", 9), JLOG_INT("log.levels", 10), JLOG_INT("labels.a", 11),
		JLOG_INT("log.origin.file", 12), JLOG_INT("time", 13), JLOG_INT("logx", 14),
	};
	struct spec sp = full_spec();
	json_t *line = line_of(&sp, f, ARRAY_LEN(f), &o);
	ASSERT_ORDER(line, "@timestamp,log.level,message,log.logger,log.origin.file.name,"
	                   "log.origin.file.line,log.origin.function,process.pid,"
	                   "process.thread.id,ecs.version,fields.message,fields.log,"
	                   "fields.log.level.x,fields.process,fields.@timestamp,fields.ecs,"
	                   "fields.jlog,process.name,service.name,log.levels,labels.a,"
	                   "fields.log.origin.file,time,logx");
	ck_assert_str_eq(str_at(line, "@timestamp"), "2026-11-26T04:02:03.123456Z");
	ck_assert_str_eq(str_at(line, "log.level"), "info");
	ck_assert_str_eq(str_at(line, "message"), "hello");
	ck_assert_str_eq(str_at(line, "log.logger"), "api");
	ck_assert_str_eq(str_at(line, "log.origin.file.name"), "server.c");
	ck_assert_int_eq(int_at(line, "log.origin.file.line"), 42);
	ck_assert_str_eq(str_at(line, "log.origin.function"), "handle");
	ck_assert_int_eq(int_at(line, "process.pid"), PID);
	ck_assert_int_eq(int_at(line, "process.thread.id"), 4243);
	ck_assert_str_eq(str_at(line, "ecs.version"), "8.11.0");
	ck_assert_int_eq(int_at(line, "fields.message"), 0);
	ck_assert_int_eq(int_at(line, "fields.log.level.x"), 2);
	ck_assert_str_eq(str_at(line, "process.name"), "srv");
	ck_assert_int_eq(int_at(line, "logx"), 14);
	json_decref(line);

	/* No name, no callsite; truncated, dropped. */
	sp = base_spec;
	sp.flags = JLOG__REC_TRUNCATED;
	sp.dropped = 7;
	const jlog_field g[] = {JLOG_INT("jlog.truncated", 1), JLOG_INT("jlog.dropped.n", 2)};
	line = line_of(&sp, g, ARRAY_LEN(g), &o);
	ASSERT_ORDER(line, "@timestamp,log.level,message,process.pid,process.thread.id,"
	                   "ecs.version,jlog.truncated,jlog.dropped,fields.jlog.truncated,"
	                   "fields.jlog.dropped.n");
	ck_assert(json_is_true(json_object_get(line, "jlog.truncated")));
	ck_assert_int_eq(int_at(line, "jlog.dropped"), 7);
	json_decref(line);

	/* Levels: lowercase names, the number for others. */
	static const struct {
		int level;
		const char *text;
	} levels[] = {
		{5, "trace"}, {10, "debug"}, {20, "info"}, {25, "success"}, {30, "warning"},
		{40, "error"}, {50, "critical"}, {0, "0"}, {22, "22"}, {255, "255"},
	};
	for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
		sp = base_spec;
		sp.level = levels[i].level;
		expect_str_at(&sp, &o, "log.level", levels[i].text);
	}

	/* @timestamp: the RFC 3339 forms; the epoch ones give microseconds. */
	static const struct {
		enum jlog__time_format tf;
		const char *text;
	} times[] = {
		{JLOG__TIME_RFC3339_MS, "2026-11-26T04:02:03.123Z"},
		{JLOG__TIME_RFC3339_US, "2026-11-26T04:02:03.123456Z"},
		{JLOG__TIME_RFC3339_NS, "2026-11-26T04:02:03.123456789Z"},
		{JLOG__TIME_EPOCH_S, "2026-11-26T04:02:03.123456Z"},
		{JLOG__TIME_EPOCH_MS, "2026-11-26T04:02:03.123456Z"},
		{JLOG__TIME_EPOCH_NS, "2026-11-26T04:02:03.123456Z"},
	};
	for (size_t i = 0; i < ARRAY_LEN(times); i++) {
		o.time_format = times[i].tf;
		expect_str_at(&base_spec, &o, "@timestamp", times[i].text);
	}
}
END_TEST

/* ecs: a level named with jlog_level_add() is written by its name in
 * lower case, as the built-in ones are; a level without a name stays a
 * number. */
START_TEST(test_custom_level_presets)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_ECS);
	struct spec sp = base_spec;
	sp.level = 47;
	expect_str_at(&sp, &o, "log.level", "47");
	ck_assert_int_eq(jlog_level_add("Audit_Log-2", 47, NULL), 0);
	expect_str_at(&sp, &o, "log.level", "audit_log-2");
	sp.level = 48;
	expect_str_at(&sp, &o, "log.level", "48");

	/* gcp: the nearest severity, and the name in the labels (beside the
	 * logger's when there is one); none for an unnamed level. */
	struct jlog__json_opts g = opts(JLOG__PRESET_GCP);
	sp = base_spec;
	sp.level = 47;
	json_t *line = line_of(&sp, NULL, 0, &g);
	ck_assert_str_eq(str_at(line, "severity"), "ERROR");
	json_t *labels = json_object_get(line, "logging.googleapis.com/labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "level")), "AUDIT_LOG-2");
	ck_assert_ptr_null(json_object_get(labels, "logger"));
	json_decref(line);
	sp = full_spec();
	sp.level = 47;
	line = line_of(&sp, NULL, 0, &g);
	labels = json_object_get(line, "logging.googleapis.com/labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "level")), "AUDIT_LOG-2");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "logger")), "api");
	json_decref(line);
	sp.level = 48;
	line = line_of(&sp, NULL, 0, &g);
	labels = json_object_get(line, "logging.googleapis.com/labels");
	ck_assert_ptr_null(json_object_get(labels, "level"));
	json_decref(line);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* gcp                                                                      */
/* ------------------------------------------------------------------------ */

/* Cloud Logging's names, from the preset's documented mapping. */
static const char *want_gcp(int level)
{
	static const struct {
		int from;
		const char *name;
	} t[] = {
		{0, "DEFAULT"}, {5, "DEBUG"},  {10, "DEBUG"}, {20, "INFO"}, {25, "NOTICE"},
		{30, "WARNING"}, {40, "ERROR"}, {50, "CRITICAL"},
	};
	const char *name = NULL;
	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		if (level >= t[i].from)
			name = t[i].name;
	return name;
}

START_TEST(test_gcp)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_GCP);
	const jlog_field f[] = {
		JLOG_INT("severity", 0), JLOG_INT("time", 1), JLOG_INT("timestamp", 2),
		JLOG_INT("timestampSeconds", 3), JLOG_INT("timestampNanos", 4),
		JLOG_INT("logging.googleapis.com/severity", 5), JLOG_INT("message", 6),
		JLOG_INT("pid", 7), JLOG_STR("logging.googleapis.com/trace", "projects/p/traces/t"),
		JLOG_INT("logging.googleapis.com/labels", 9), JLOG_INT("level", 10),
		JLOG_INT("fields.time", 11),
	};
	struct spec sp = full_spec();
	json_t *line = line_of(&sp, f, ARRAY_LEN(f), &o);
	ASSERT_ORDER(line, "severity,message,timestamp,logging.googleapis.com/sourceLocation,"
	                   "logging.googleapis.com/labels,pid,tid,fields.severity,"
	                   "fields.timestamp,fields.timestampSeconds,fields.timestampNanos,"
	                   "fields.logging.googleapis.com/severity,fields.message,fields.pid,"
	                   "logging.googleapis.com/trace,fields.logging.googleapis.com/labels,"
	                   "level,fields.time");
	ck_assert_str_eq(str_at(line, "severity"), "INFO");
	ck_assert_str_eq(str_at(line, "message"), "hello");
	ck_assert_str_eq(str_at(line, "timestamp"), "2026-11-26T04:02:03.123456Z");
	json_t *loc = json_object_get(line, "logging.googleapis.com/sourceLocation");
	ASSERT_ORDER(loc, "file,line,function");
	ck_assert_str_eq(str_at(loc, "file"), "server.c");
	ck_assert_str_eq(str_at(loc, "line"), "42");
	ck_assert_str_eq(str_at(loc, "function"), "handle");
	json_t *labels = json_object_get(line, "logging.googleapis.com/labels");
	ASSERT_ORDER(labels, "logger");
	ck_assert_str_eq(str_at(labels, "logger"), "api");
	ck_assert_int_eq(int_at(line, "pid"), PID);
	ck_assert_int_eq(int_at(line, "tid"), 4243);
	ck_assert_int_eq(int_at(line, "fields.time"), 11); /* overrides "time" */
	ck_assert_str_eq(str_at(line, "logging.googleapis.com/trace"), "projects/p/traces/t");
	json_decref(line);

	/* Partial callsites; no name; truncated and dropped. */
	sp = base_spec;
	sp.file = "a.c";
	sp.flags = JLOG__REC_TRUNCATED;
	sp.dropped = 3;
	line = line_of(&sp, NULL, 0, &o);
	ASSERT_ORDER(line, "severity,message,timestamp,logging.googleapis.com/sourceLocation,pid,tid,"
	                   "truncated,dropped");
	ASSERT_ORDER(json_object_get(line, "logging.googleapis.com/sourceLocation"), "file");
	ck_assert(json_is_true(json_object_get(line, "truncated")));
	ck_assert_int_eq(int_at(line, "dropped"), 3);
	json_decref(line);
	sp = base_spec;
	sp.function = "f";
	line = line_of(&sp, NULL, 0, &o);
	ASSERT_ORDER(json_object_get(line, "logging.googleapis.com/sourceLocation"), "function");
	json_decref(line);
	sp.line = 7;
	line = line_of(&sp, NULL, 0, &o);
	loc = json_object_get(line, "logging.googleapis.com/sourceLocation");
	ASSERT_ORDER(loc, "line,function");
	ck_assert_str_eq(str_at(loc, "line"), "7");
	json_decref(line);
	line = line_of(&base_spec, NULL, 0, &o);
	ASSERT_ORDER(line, "severity,message,timestamp,pid,tid");
	json_decref(line);

	/* Every level. */
	for (int lvl = 0; lvl < 256; lvl++) {
		sp = base_spec;
		sp.level = lvl;
		line = line_of(&sp, NULL, 0, &o);
		const char *got = json_string_value(json_object_get(line, "severity"));
		CHECK(got && strcmp(got, want_gcp(lvl)) == 0, "level %d: %s", lvl, got);
		CHECK(strcmp(jlog__gcp_severity(lvl), want_gcp(lvl)) == 0, "level %d", lvl);
		json_decref(line);
	}
	ck_assert_str_eq(want_gcp(22), "INFO");
	ck_assert_str_eq(want_gcp(255), "CRITICAL");
	ck_assert_str_eq(want_gcp(4), "DEFAULT");

	/* time: the RFC 3339 forms; epoch ones give microseconds. */
	o.time_format = JLOG__TIME_RFC3339_NS;
	expect_str_at(&base_spec, &o, "timestamp", "2026-11-26T04:02:03.123456789Z");
	o.time_format = JLOG__TIME_RFC3339_MS;
	expect_str_at(&base_spec, &o, "timestamp", "2026-11-26T04:02:03.123Z");
	o.time_format = JLOG__TIME_EPOCH_NS;
	expect_str_at(&base_spec, &o, "timestamp", "2026-11-26T04:02:03.123456Z");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* otel                                                                     */
/* ------------------------------------------------------------------------ */

/* SeverityNumber, from the documented mapping. */
static int want_otel(int level)
{
	static const struct {
		int from, number;
	} t[] = {
		{0, 1}, {5, 1}, {10, 5}, {20, 9}, {25, 10}, {30, 13}, {40, 17}, {50, 21},
	};
	int number = 0;
	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		if (level >= t[i].from)
			number = t[i].number;
	return number;
}

/* Set by jlog_test_suite() before any test runs (and before any fork). */
#define SERVICE_NAME "svc \"x\"\n"

START_TEST(test_otel)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_OTEL);
	o.time_format = JLOG__TIME_EPOCH_MS; /* otel keeps nanoseconds */
	const jlog_field f[] = {
		JLOG_INT("thread.id", 0), JLOG_INT("code.lineno", 1), JLOG_INT("Body", 2),
		JLOG_INT("user", 3), JLOG_INT("fields.thread.id", 4), JLOG_INT("user", 5),
		JLOG_DOUBLE("ratio", NAN), JLOG_INT("Timestamp", 7), JLOG_INT("jlog.dropped", 8),
	};
	struct spec sp = full_spec();
	json_t *line = line_of(&sp, f, ARRAY_LEN(f), &o);
	ASSERT_ORDER(line, "Timestamp,SeverityText,SeverityNumber,Body,Resource,"
	                   "InstrumentationScope,Attributes");
	ck_assert_str_eq(str_at(line, "Timestamp"), "1795665723123456789");
	ck_assert_str_eq(str_at(line, "SeverityText"), "INFO");
	ck_assert_int_eq(int_at(line, "SeverityNumber"), 9);
	ck_assert_str_eq(str_at(line, "Body"), "hello");
	json_t *res = json_object_get(line, "Resource");
	ASSERT_ORDER(res, "process.pid,service.name");
	ck_assert_int_eq(int_at(res, "process.pid"), PID);
	ck_assert_str_eq(str_at(res, "service.name"), SERVICE_NAME);
	json_t *scope = json_object_get(line, "InstrumentationScope");
	ASSERT_ORDER(scope, "name");
	ck_assert_str_eq(str_at(scope, "name"), "api");
	json_t *attr = json_object_get(line, "Attributes");
	ASSERT_ORDER(attr, "code.filepath,code.lineno,code.function,thread.id,fields.code.lineno,"
	                   "Body,fields.thread.id,user,ratio,Timestamp,fields.jlog.dropped");
	ck_assert_str_eq(str_at(attr, "code.filepath"), "server.c");
	ck_assert_int_eq(int_at(attr, "code.lineno"), 42);
	ck_assert_str_eq(str_at(attr, "code.function"), "handle");
	ck_assert_int_eq(int_at(attr, "thread.id"), 4243);
	ck_assert_int_eq(int_at(attr, "fields.thread.id"), 4); /* "thread.id" renamed, then overridden */
	ck_assert_int_eq(int_at(attr, "user"), 5);
	ck_assert(json_is_null(json_object_get(attr, "ratio")));
	json_decref(line);

	/* Unnamed, no callsite, custom level; truncated and dropped. */
	sp = base_spec;
	sp.level = 22;
	sp.flags = JLOG__REC_TRUNCATED;
	sp.dropped = 9;
	line = line_of(&sp, NULL, 0, &o);
	ASSERT_ORDER(line, "Timestamp,SeverityText,SeverityNumber,Body,Resource,Attributes");
	ck_assert_str_eq(str_at(line, "SeverityText"), "22");
	ck_assert_int_eq(int_at(line, "SeverityNumber"), 9);
	attr = json_object_get(line, "Attributes");
	ASSERT_ORDER(attr, "thread.id,jlog.truncated,jlog.dropped");
	ck_assert_int_eq(int_at(attr, "jlog.dropped"), 9);
	json_decref(line);

	for (int lvl = 0; lvl < 256; lvl++) {
		sp = base_spec;
		sp.level = lvl;
		line = line_of(&sp, NULL, 0, &o);
		json_int_t got = json_integer_value(json_object_get(line, "SeverityNumber"));
		CHECK(got == want_otel(lvl), "level %d: %d", lvl, (int)got);
		CHECK(jlog__otel_severity(lvl) == want_otel(lvl), "level %d", lvl);
		const char *text = json_string_value(json_object_get(line, "SeverityText"));
		char num[16];
		snprintf(num, sizeof(num), "%d", lvl);
		const char *name = jlog__level_name(lvl);
		CHECK(text && strcmp(text, name ? name : num) == 0, "level %d: %s", lvl, text);
		json_decref(line);
	}
	static const int named[][2] = {{5, 1}, {10, 5}, {20, 9}, {25, 10},
	                               {30, 13}, {40, 17}, {50, 21}, {255, 21}};
	for (size_t i = 0; i < ARRAY_LEN(named); i++)
		ck_assert_int_eq(jlog__otel_severity(named[i][0]), named[i][1]);

	/* Timestamps past INT64_MAX ns are still strings. */
	sp = base_spec;
	sp.time_ns = UINT64_MAX;
	expect_str_at(&sp, &o, "Timestamp", "18446744073709551615");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* loguru                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_loguru)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_LOGURU);
	o.time_format = JLOG__TIME_EPOCH_MS; /* ignored */
	uint64_t saved_start = jlog__start_ns;
	jlog__start_ns = T0 - 1500000000u; /* 1.5 s before the record */
	const jlog_field f[] = {
		JLOG_INT("truncated", 0), JLOG_INT("a", 1), JLOG_INT("text", 2),
		JLOG_INT("record", 3), JLOG_INT("message", 4), JLOG_INT("a", 5),
		JLOG_INT("fields.truncated", 6),
	};
	/* record.thread.name is the name of the thread that logged, noted
	 * at its first log call: note one for the records' thread id. */
	char saved[16] = "";
	prctl(PR_GET_NAME, (unsigned long)saved, 0, 0, 0);
	prctl(PR_SET_NAME, (unsigned long)"lg-worker", 0, 0, 0);
	jlog__thread_name_register(4243);
	prctl(PR_SET_NAME, (unsigned long)saved, 0, 0, 0);
	struct spec sp = full_spec();
	json_t *line = line_of(&sp, f, ARRAY_LEN(f), &o);
	ASSERT_ORDER(line, "text,record");
	ck_assert_str_eq(str_at(line, "text"),
	                 "2026-11-26 04:02:03.123 | INFO     | api:handle:42 - hello\n");
	json_t *rec = json_object_get(line, "record");
	ASSERT_ORDER(rec, "elapsed,exception,extra,file,function,level,line,message,module,name,"
	                  "process,thread,time");
	json_t *el = json_object_get(rec, "elapsed");
	ASSERT_ORDER(el, "repr,seconds");
	ck_assert_str_eq(str_at(el, "repr"), "0:00:01.500000");
	ck_assert(json_real_value(json_object_get(el, "seconds")) == 1.5);
	ck_assert(json_is_null(json_object_get(rec, "exception")));
	json_t *extra = json_object_get(rec, "extra");
	ASSERT_ORDER(extra, "text,record,message,a,fields.truncated");
	ck_assert_int_eq(int_at(extra, "a"), 5);
	ck_assert_int_eq(int_at(extra, "fields.truncated"), 6);
	json_t *file = json_object_get(rec, "file");
	ASSERT_ORDER(file, "name,path");
	ck_assert_str_eq(str_at(file, "name"), "server.c");
	ck_assert_str_eq(str_at(file, "path"), "server.c");
	ck_assert_str_eq(str_at(rec, "function"), "handle");
	json_t *lv = json_object_get(rec, "level");
	ASSERT_ORDER(lv, "icon,name,no");
	ck_assert_str_eq(str_at(lv, "icon"), "\xe2\x84\xb9\xef\xb8\x8f");
	ck_assert_str_eq(str_at(lv, "name"), "INFO");
	ck_assert_int_eq(int_at(lv, "no"), 20);
	ck_assert_int_eq(int_at(rec, "line"), 42);
	ck_assert_str_eq(str_at(rec, "message"), "hello");
	ck_assert_str_eq(str_at(rec, "module"), "server");
	ck_assert_str_eq(str_at(rec, "name"), "api");
	json_t *proc = json_object_get(rec, "process");
	ASSERT_ORDER(proc, "id,name");
	ck_assert_int_eq(int_at(proc, "id"), PID);
	ck_assert_str_eq(str_at(proc, "name"), program_invocation_short_name);
	json_t *th = json_object_get(rec, "thread");
	ASSERT_ORDER(th, "id,name");
	ck_assert_int_eq(int_at(th, "id"), 4243);
	ck_assert_str_eq(str_at(th, "name"), "lg-worker");
	json_t *tm = json_object_get(rec, "time");
	ASSERT_ORDER(tm, "repr,timestamp");
	ck_assert_str_eq(str_at(tm, "repr"), "2026-11-26 04:02:03.123456+00:00");
	ck_assert(json_real_value(json_object_get(tm, "timestamp")) == 1795665723123456.0 / 1e6);
	json_decref(line);

	/* Unnamed, no callsite, a thread whose name is not known (no such
	 * thread), a whole second, truncated and dropped. */
	sp = base_spec;
	sp.time_ns = 1795665723000000999ull;
	sp.tid = 0x7fff0000u;
	sp.flags = JLOG__REC_TRUNCATED;
	sp.dropped = 4;
	const jlog_field g[] = {JLOG_INT("dropped", 1)};
	line = line_of(&sp, g, 1, &o);
	ck_assert_str_eq(str_at(line, "text"), "2026-11-26 04:02:03.000 | INFO     | "
	                                       "(unknown file):(unknown function):0 - hello\n");
	rec = json_object_get(line, "record");
	ck_assert_str_eq(str_at(json_object_get(rec, "file"), "name"), "(unknown file)");
	ck_assert_str_eq(str_at(rec, "function"), "(unknown function)");
	ck_assert_int_eq(int_at(rec, "line"), 0);
	ck_assert_str_eq(str_at(rec, "module"), "(unknown file)");
	ck_assert_str_eq(str_at(rec, "name"), "(unknown file)");
	ck_assert_str_eq(str_at(json_object_get(rec, "thread"), "name"), "2147418112");
	ck_assert_str_eq(str_at(json_object_get(rec, "time"), "repr"),
	                 "2026-11-26 04:02:03+00:00");
	extra = json_object_get(rec, "extra");
	ASSERT_ORDER(extra, "truncated,dropped,fields.dropped");
	ck_assert(json_is_true(json_object_get(extra, "truncated")));
	ck_assert_int_eq(int_at(extra, "dropped"), 4);
	json_decref(line);

	/* Levels: names, numbers, icons; "Level N" for the others. */
	static const struct {
		int level;
		const char *name, *icon, *pad;
	} levels[] = {
		{5, "TRACE", "\xe2\x9c\x8f\xef\xb8\x8f", "TRACE   "},
		{10, "DEBUG", "\xf0\x9f\x90\x9e", "DEBUG   "},
		{20, "INFO", "\xe2\x84\xb9\xef\xb8\x8f", "INFO    "},
		{25, "SUCCESS", "\xe2\x9c\x85", "SUCCESS "},
		{30, "WARNING", "\xe2\x9a\xa0\xef\xb8\x8f", "WARNING "},
		{40, "ERROR", "\xe2\x9d\x8c", "ERROR   "},
		{50, "CRITICAL", "\xe2\x98\xa0\xef\xb8\x8f", "CRITICAL"},
		{22, "Level 22", " ", "Level 22"},
		{255, "Level 255", " ", "Level 255"},
		{0, "Level 0", " ", "Level 0 "},
	};
	for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
		sp = full_spec();
		sp.level = levels[i].level;
		line = line_of(&sp, NULL, 0, &o);
		lv = json_object_get(json_object_get(line, "record"), "level");
		ck_assert_str_eq(str_at(lv, "name"), levels[i].name);
		ck_assert_str_eq(str_at(lv, "icon"), levels[i].icon);
		ck_assert_int_eq(int_at(lv, "no"), levels[i].level);
		char want[128];
		snprintf(want, sizeof(want), "2026-11-26 04:02:03.123 | %s | api:handle:42 - hello\n",
		         levels[i].pad);
		ck_assert_str_eq(str_at(line, "text"), want);
		json_decref(line);
	}

	/* elapsed as Python's str(timedelta). */
	static const struct {
		uint64_t ago_ns;
		const char *repr;
		double seconds;
	} el_cases[] = {
		{0, "0:00:00", 0.0},
		{999, "0:00:00", 0.0},
		{1000, "0:00:00.000001", 0.000001},
		{((86400u + 2 * 3600 + 3 * 60 + 4) * 1000000ull + 5) * 1000u,
		 "1 day, 2:03:04.000005", 93784.000005},
		{3 * 86400ull * 1000000000u, "3 days, 0:00:00", 259200.0},
		{59 * 60 * 1000000000ull + 59999999000ull, "0:59:59.999999", 3599.999999},
	};
	for (size_t i = 0; i < ARRAY_LEN(el_cases); i++) {
		jlog__start_ns = T0 - el_cases[i].ago_ns;
		line = line_of(&base_spec, NULL, 0, &o);
		el = json_object_get(json_object_get(line, "record"), "elapsed");
		ck_assert_str_eq(str_at(el, "repr"), el_cases[i].repr);
		ck_assert_msg(json_real_value(json_object_get(el, "seconds")) == el_cases[i].seconds,
		              "%s", el_cases[i].repr);
		json_decref(line);
	}
	/* A record older than the start (the clock went back): 0. */
	jlog__start_ns = T0 + 1000000000u;
	line = line_of(&base_spec, NULL, 0, &o);
	el = json_object_get(json_object_get(line, "record"), "elapsed");
	ck_assert_str_eq(str_at(el, "repr"), "0:00:00");
	json_decref(line);

	/* module: os.path.splitext(name)[0]. */
	static const char *const mods[][2] = {
		{"server.c", "server"}, {"a.tar.gz", "a.tar"}, {".hidden", ".hidden"},
		{"noext", "noext"}, {"..x", "..x"}, {"a.", "a"}, {"x.y.c", "x.y"},
	};
	for (size_t i = 0; i < ARRAY_LEN(mods); i++) {
		sp = base_spec;
		sp.file = mods[i][0];
		line = line_of(&sp, NULL, 0, &o);
		rec = json_object_get(line, "record");
		ck_assert_str_eq(str_at(rec, "module"), mods[i][1]);
		ck_assert_str_eq(str_at(rec, "name"), mods[i][1]);
		json_decref(line);
	}
	jlog__start_ns = saved_start;
}
END_TEST

/* The text is escaped like any string; a cut message ends in "…". */
START_TEST(test_loguru_text_escapes)
{
	struct jlog__json_opts o = opts(JLOG__PRESET_LOGURU);
	static const char msg[] = "two\nlines \"q\" \\ \x01\xff\xe2\x80\xa8\0end";
	struct spec sp = full_spec();
	sp.msg = msg;
	sp.msg_len = sizeof(msg) - 1;
	sp.name = "na\"me\n";
	sp.function = "f\tn";
	json_t *line = line_of(&sp, NULL, 0, &o);
	static const char want_msg[] = "two\nlines \"q\" \\ \x01\xef\xbf\xbd\xe2\x80\xa8\0end";
	static const char want_text[] = "2026-11-26 04:02:03.123 | INFO     | na\"me\n:f\tn:42 - "
	                                "two\nlines \"q\" \\ \x01\xef\xbf\xbd\xe2\x80\xa8\0end\n";
	json_t *text = json_object_get(line, "text");
	ck_assert_uint_eq(json_string_length(text), sizeof(want_text) - 1);
	ck_assert(memcmp(json_string_value(text), want_text, sizeof(want_text) - 1) == 0);
	json_t *m = json_object_get(json_object_get(line, "record"), "message");
	ck_assert_uint_eq(json_string_length(m), sizeof(want_msg) - 1);
	ck_assert(memcmp(json_string_value(m), want_msg, sizeof(want_msg) - 1) == 0);
	ck_assert_str_eq(str_at(json_object_get(line, "record"), "name"), "na\"me\n");
	json_decref(line);

	/* A message cut inside a character. */
	sp = full_spec();
	sp.msg = "hel\xc3";
	sp.msg_len = 4;
	sp.flags = JLOG__REC_MSG_TRUNCATED;
	line = line_of(&sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, "text"),
	                 "2026-11-26 04:02:03.123 | INFO     | api:handle:42 - hel\xe2\x80\xa6\n");
	ck_assert_str_eq(str_at(json_object_get(line, "record"), "message"), "hel\xe2\x80\xa6");
	json_decref(line);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Every preset                                                             */
/* ------------------------------------------------------------------------ */

static const enum jlog__preset all_presets[] = {
	JLOG__PRESET_DEFAULT, JLOG__PRESET_ECS, JLOG__PRESET_GCP, JLOG__PRESET_OTEL,
	JLOG__PRESET_LOGURU,
};

/* Values and keys that need escapes, NaN and ±Inf, a message and a logger
 * name with control characters, in each preset. */
START_TEST(test_escapes_nan)
{
	static const char s[] = "a\"b\\c\nd\x01\xff\xe2\x80\xa8\0z";
	static const char want_s[] = "a\"b\\c\nd\x01\xef\xbf\xbd\xe2\x80\xa8\0z";
	json_t *j = json_pack("{s:s}", "u\xe2\x80\xa9", "v\xe2\x80\xa8");
	const jlog_field f[] = {
		JLOG_DOUBLE("nan", NAN), JLOG_DOUBLE("inf", INFINITY), JLOG_DOUBLE("ninf", -INFINITY),
		JLOG_STRN("s", s, sizeof(s) - 1), JLOG_INT("k\"\n\\", 1), JLOG_JSON("j", j),
		JLOG_DOUBLE("d", 0.1), JLOG_UINT("u", UINT64_C(9007199254740993)),
	};
	struct spec sp = full_spec();
	sp.msg = "m\"\n\x7f";
	sp.msg_len = 4;
	sp.name = "n\r\"";
	for (size_t p = 0; p < ARRAY_LEN(all_presets); p++) {
		struct jlog__json_opts o = opts(all_presets[p]);
		json_t *line = line_of(&sp, f, ARRAY_LEN(f), &o);
		json_t *obj = fields_object(line, all_presets[p]);
		ck_assert(json_is_null(json_object_get(obj, "nan")));
		ck_assert(json_is_null(json_object_get(obj, "inf")));
		ck_assert(json_is_null(json_object_get(obj, "ninf")));
		json_t *v = json_object_get(obj, "s");
		ck_assert_uint_eq(json_string_length(v), sizeof(want_s) - 1);
		ck_assert(memcmp(json_string_value(v), want_s, sizeof(want_s) - 1) == 0);
		ck_assert_int_eq(int_at(obj, "k\"\n\\"), 1);
		ck_assert(json_equal(json_object_get(obj, "j"), j));
		ck_assert(json_real_value(json_object_get(obj, "d")) == 0.1);
		ck_assert_int_eq(int_at(obj, "u"), 9007199254740993);
		const char *msg_key[] = {"message", "message", "message", "Body", NULL};
		if (msg_key[p])
			ck_assert_str_eq(str_at(line, msg_key[p]), "m\"\n\x7f");
		else
			ck_assert_str_eq(str_at(json_object_get(line, "record"), "message"),
			                 "m\"\n\x7f");
		json_decref(line);
	}
	json_decref(j);
}
END_TEST

/* The writer's drop report: a view with no record behind it. */
START_TEST(test_drop_report)
{
	struct jlog__rec_view v;
	memset(&v, 0, sizeof(v));
	v.time_ns = T0;
	v.level = JLOG_LEVEL_WARNING;
	v.flags = JLOG__REC_SYNTHETIC;
	v.msg = "records dropped";
	v.msg_len = strlen(v.msg);
	v.dropped = 12345;
	for (size_t p = 0; p < ARRAY_LEN(all_presets); p++) {
		struct jlog__json_opts o = opts(all_presets[p]);
		json_t *line = line_view(&v, &o);
		json_t *obj = fields_object(line, all_presets[p]);
		const char *key = all_presets[p] == JLOG__PRESET_ECS ||
		                  all_presets[p] == JLOG__PRESET_OTEL ? "jlog.dropped" : "dropped";
		ck_assert_int_eq(int_at(obj, key), 12345);
		json_decref(line);
	}
}
END_TEST

/* Random records, fields of every type: every line of every preset is one
 * valid JSON object without duplicate keys. */
START_TEST(test_random_parse)
{
	unsigned long iters = tc_scale(3000, 100);
	for (unsigned long iter = 0; iter < iters; iter++) {
		struct rand_rec r;
		random_record(&r, 40, false);
		for (size_t p = 0; p < ARRAY_LEN(all_presets); p++) {
			struct jlog__json_opts o = random_opts(all_presets[p], true);
			json_t *line = line_view(&r.v, &o);
			check_top(line, &r.sp, all_presets[p]);
			json_decref(line);
		}
		free(r.rec);
	}
}
END_TEST

/* Random keys from the pool, values their index: the fields of every
 * preset follow "fields.<key>" for the preset's keys and "last one wins",
 * around the switch from pairwise scan to hash table. */
START_TEST(test_random_dedup)
{
	unsigned long iters = tc_scale(2000, 100);
	for (unsigned long iter = 0; iter < iters; iter++) {
		struct rand_rec r;
		random_record(&r, 40, true);
		for (size_t p = 0; p < ARRAY_LEN(all_presets); p++) {
			struct jlog__json_opts o = random_opts(all_presets[p], false);
			struct model m = model_of(&o);
			json_t *line = line_view(&r.v, &o);
			check_fields(line, &m, &r.sp, r.keyidx, r.n);
			json_decref(line);
		}
		free(r.rec);
	}
}
END_TEST

/* Thousands of fields, most of them repeated. */
START_TEST(test_dedup_large)
{
	enum { N = 5000 };
	static jlog_field f[N];
	static size_t keyidx[N];
	for (size_t i = 0; i < N; i++) {
		keyidx[i] = rnd() % ARRAY_LEN(pool);
		f[i] = JLOG_INT("", (int64_t)i);
		f[i].key = pool[keyidx[i]].raw;
		f[i].key_len = pool[keyidx[i]].len;
	}
	struct spec sp = full_spec();
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, f, N, &v);
	for (size_t p = 0; p < ARRAY_LEN(all_presets); p++) {
		struct jlog__json_opts o = opts(all_presets[p]);
		if (all_presets[p] == JLOG__PRESET_DEFAULT)
			o.key_time = "ts";
		struct model m = model_of(&o);
		json_t *line = line_view(&v, &o);
		check_fields(line, &m, &sp, keyidx, N);
		json_decref(line);
	}
	free(rec);
}
END_TEST

static void *encode_on_thread(void *arg)
{
	const enum jlog__preset *p = arg;
	const jlog_field f[] = {JLOG_INT("a", 1), JLOG_INT("a", 2)};
	struct jlog__json_opts o = opts(*p);
	o.key_time = "ts";
	json_t *line = line_of(&base_spec, f, 2, &o);
	json_int_t a = json_integer_value(json_object_get(fields_object(line, *p), "a"));
	json_decref(line);
	return (void *)(intptr_t)a;
}

/* Each thread's scratch space is freed when it exits (ASan reports it
 * otherwise). */
START_TEST(test_thread_scratch)
{
	for (size_t p = 0; p < ARRAY_LEN(all_presets); p++) {
		pthread_t t;
		void *ret;
		ck_assert_int_eq(pthread_create(&t, NULL, encode_on_thread,
		                                (void *)&all_presets[p]), 0);
		ck_assert_int_eq(pthread_join(t, &ret), 0);
		ck_assert_int_eq((intptr_t)ret, 2);
	}
}
END_TEST

/* Lines append to what the buffer holds. */
START_TEST(test_lines_append)
{
	struct jlog__buf b;
	struct jlog__line_ctx ctx = {.pid = PID};
	jlog__buf_init(&b);
	const jlog_field f = JLOG_STR("k", "v");
	struct jlog__rec_view v;
	struct spec sp = full_spec();
	uint8_t *rec = make_record(&sp, &f, 1, &v);
	for (int i = 0; i < 500; i++) {
		struct jlog__json_opts o = opts(all_presets[i % 5]);
		jlog__encode_preset(&b, &v, &ctx, &o);
	}
	ck_assert(!b.failed);
	size_t count;
	json_t **lines = tc_parse_lines_n(b.p, b.len, &count);
	ck_assert_uint_eq(count, 500);
	for (size_t i = 0; i < count; i++)
		ck_assert_str_eq(str_at(fields_object(lines[i], all_presets[i % 5]), "k"), "v");
	tc_free_lines(lines, count);
	free(rec);
	jlog__buf_finish(&b);
}
END_TEST

/* Through a logger: the loguru preset has loguru 0.6's serialize=True
 * shape, key for key and type for type, and record.thread.name and
 * {thread.name} are the name of the thread that logged (the main
 * thread's is the program's), {thread.id} and {thread} its id. */
struct named_arg {
	jlog_logger *lg;
	uint32_t tid;
};

static void *log_as_worker(void *p)
{
	struct named_arg *a = p;
	pthread_setname_np(pthread_self(), "worker-1");
	a->tid = (uint32_t)gettid();
	JLOG_INFO(a->lg, "from worker");
	return NULL;
}

static void check_types(const json_t *obj, const char *path, const char *const *spec)
{
	/* spec: "key", "type letter" pairs, NULL-terminated; s string,
	 * i integer, r real, n null, o object. Exactly these keys. */
	size_t n = 0;
	for (; spec[n]; n += 2) {
		json_t *v = json_object_get(obj, spec[n]);
		ck_assert_msg(v != NULL, "%s.%s missing", path, spec[n]);
		char t = spec[n + 1][0];
		bool ok = (t == 's' && json_is_string(v)) || (t == 'i' && json_is_integer(v)) ||
		          (t == 'r' && json_is_real(v)) || (t == 'n' && json_is_null(v)) ||
		          (t == 'o' && json_is_object(v));
		ck_assert_msg(ok, "%s.%s: not of type %c", path, spec[n], t);
	}
	ck_assert_msg(json_object_size(obj) == n / 2, "%s: %zu keys, want %zu", path,
	              json_object_size(obj), n / 2);
}

START_TEST(test_loguru_shape_and_thread_names)
{
	char *jpath = tc_tmppath("loguru.jsonl"), *tpath = tc_tmppath("loguru.txt");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/dev/null";
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = jpath;
	so.preset = "loguru";
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	jlog_sink_options_init(&so);
	so.sink = tpath;
	so.serialize = false;
	so.format = "{thread.name}|{thread.id}|{thread}";
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	pthread_t t;
	struct named_arg a = {lg, 0};
	ck_assert_int_eq(pthread_create(&t, NULL, log_as_worker, &a), 0);
	pthread_join(t, NULL);
	JLOG_INFO(lg, "from main", JLOG_STR("user", "alice"));
	jlog_close(lg);

	char main_name[16] = "";
	prctl(PR_GET_NAME, (unsigned long)main_name, 0, 0, 0);
	uint32_t main_tid = (uint32_t)gettid();
	size_t n;
	json_t **l = tc_parse_file(jpath, &n);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		static const char *const top[] = {"text", "s", "record", "o", NULL};
		static const char *const rec[] = {
			"elapsed", "o", "exception", "n", "extra", "o", "file", "o",
			"function", "s", "level", "o", "line", "i", "message", "s",
			"module", "s", "name", "s", "process", "o", "thread", "o",
			"time", "o", NULL};
		static const char *const elapsed[] = {"repr", "s", "seconds", "r", NULL};
		static const char *const file[] = {"name", "s", "path", "s", NULL};
		static const char *const level[] = {"icon", "s", "name", "s", "no", "i", NULL};
		static const char *const idname[] = {"id", "i", "name", "s", NULL};
		static const char *const time[] = {"repr", "s", "timestamp", "r", NULL};
		check_types(l[i], "", top);
		json_t *r = json_object_get(l[i], "record");
		check_types(r, "record", rec);
		check_types(json_object_get(r, "elapsed"), "record.elapsed", elapsed);
		check_types(json_object_get(r, "file"), "record.file", file);
		check_types(json_object_get(r, "level"), "record.level", level);
		check_types(json_object_get(r, "process"), "record.process", idname);
		check_types(json_object_get(r, "thread"), "record.thread", idname);
		check_types(json_object_get(r, "time"), "record.time", time);
	}
	json_t *th = json_object_get(json_object_get(l[0], "record"), "thread");
	ck_assert_str_eq(str_at(th, "name"), "worker-1");
	ck_assert_int_eq(int_at(th, "id"), a.tid);
	th = json_object_get(json_object_get(l[1], "record"), "thread");
	ck_assert_str_eq(str_at(th, "name"), main_name);
	ck_assert_int_eq(int_at(th, "id"), main_tid);
	json_t *extra = json_object_get(json_object_get(l[1], "record"), "extra");
	ck_assert_str_eq(str_at(extra, "user"), "alice");
	tc_free_lines(l, n);

	char want[128];
	snprintf(want, sizeof(want), "worker-1|%u|%u\n%s|%u|%u user=alice\n", a.tid, a.tid, main_name,
	         main_tid, main_tid);
	tc_assert_file_text(tpath, want);
	free(jpath);
	free(tpath);
}
END_TEST

/* The string at @key of @p's line for @sp in local time. */
static void expect_local_at(enum jlog__preset p, const struct spec *sp, const char *key,
                            const char *want)
{
	struct jlog__json_opts o = opts(p);
	o.local_time = true;
	json_t *line = line_of(sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, key), want);
	json_decref(line);
}

/* Local time in the JSON presets (the sink's utc false): RFC 3339 with
 * the offset; epoch forms, OTel's ns and loguru's timestamp unchanged. */
START_TEST(test_local_time)
{
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	struct spec sp = full_spec();
	struct jlog__json_opts o = opts(JLOG__PRESET_DEFAULT);
	o.local_time = true;
	json_t *line = line_of(&sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, "time"), "2026-11-26T05:02:03.123456+01:00");
	json_decref(line);
	o.time_format = JLOG__TIME_RFC3339_MS;
	line = line_of(&sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, "time"), "2026-11-26T05:02:03.123+01:00");
	json_decref(line);
	o.time_format = JLOG__TIME_RFC3339_NS;
	line = line_of(&sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, "time"), "2026-11-26T05:02:03.123456789+01:00");
	json_decref(line);
	o.time_format = JLOG__TIME_EPOCH_MS;
	line = line_of(&sp, NULL, 0, &o);
	ck_assert_int_eq(int_at(line, "time"), 1795665723123);
	json_decref(line);

	/* Summer time: +02:00. */
	struct spec summer = sp;
	summer.time_ns = 1774746000000000000ull; /* 2026-03-29T01:00:00Z */
	expect_local_at(JLOG__PRESET_ECS, &summer, "@timestamp", "2026-03-29T03:00:00.000000+02:00");
	expect_local_at(JLOG__PRESET_GCP, &sp, "timestamp", "2026-11-26T05:02:03.123456+01:00");
	expect_local_at(JLOG__PRESET_OTEL, &sp, "Timestamp", "1795665723123456789");

	o = opts(JLOG__PRESET_LOGURU);
	o.local_time = true;
	line = line_of(&sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, "text"),
	                 "2026-11-26 05:02:03.123 | INFO     | api:handle:42 - hello\n");
	json_t *tm = json_object_get(json_object_get(line, "record"), "time");
	ck_assert_str_eq(str_at(tm, "repr"), "2026-11-26 05:02:03.123456+01:00");
	ck_assert(json_real_value(json_object_get(tm, "timestamp")) == 1795665723123456.0 / 1e6);
	json_decref(line);

	/* utc true (the JSON default) is unchanged. */
	o = opts(JLOG__PRESET_DEFAULT);
	line = line_of(&sp, NULL, 0, &o);
	ck_assert_str_eq(str_at(line, "time"), "2026-11-26T04:02:03.123456Z");
	json_decref(line);
	unsetenv("TZ");
	tzset();
}
END_TEST

/* The sink option and its config key: utc false gives local time, -1
 * (default) UTC in JSON and local in text; anything else is refused. */
START_TEST(test_sink_utc_option)
{
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	ck_assert_int_eq(so.utc, -1);
	jlog_logger *lg;
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/dev/null";
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	so.utc = 2;
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "utc: 2"));
	jlog_close(lg);

	char *jpath = tc_tmppath("utc.jsonl"), *lpath = tc_tmppath("local.jsonl");
	char *tpath = tc_tmppath("local.txt");
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"sinks\":[{\"sink\":\"%s\"},{\"sink\":\"%s\",\"utc\":false},"
	         "{\"sink\":\"%s\",\"format\":\"{time:ZZ}|{time:ZZ!UTC}\"}]}",
	         jpath, lpath, tpath);
	ck_assert_int_eq(jlog_open_config(&lg, doc), 0);
	JLOG_INFO(lg, "now");
	jlog_close(lg);
	size_t n;
	json_t **l = tc_parse_file(jpath, &n);
	ck_assert_uint_eq(n, 1);
	const char *t = str_at(l[0], "time");
	ck_assert_msg(t[strlen(t) - 1] == 'Z', "JSON default not UTC: %s", t);
	tc_free_lines(l, n);
	l = tc_parse_file(lpath, &n);
	ck_assert_uint_eq(n, 1);
	t = str_at(l[0], "time");
	ck_assert_msg(strlen(t) == 32 && (strcmp(t + 26, "+01:00") == 0 || strcmp(t + 26, "+02:00") == 0),
	              "utc false: %s", t);
	tc_free_lines(l, n);
	size_t len;
	char *text = tc_slurp(tpath, &len);
	ck_assert_msg(strcmp(text, "+0100|+0000\n") == 0 || strcmp(text, "+0200|+0000\n") == 0,
	              "text default: %s", text);
	free(text);

	char err[256];
	ck_assert_int_eq(jlog_open_config_err(&lg, "{\"sinks\":[{\"utc\":\"no\"}]}", err,
	                                      sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "sinks[0].utc") != NULL, "%s", err);
	free(jpath);
	free(lpath);
	free(tpath);
	unsetenv("TZ");
	tzset();
}
END_TEST

/* The object of @j (or of its objects) holding @key, or NULL. */
static json_t *holder_of(json_t *j, const char *key)
{
	if (json_object_get(j, key))
		return j;
	const char *k;
	json_t *sub;
	json_object_foreach(j, k, sub) {
		json_t *h = json_is_object(sub) ? holder_of(sub, key) : NULL;
		if (h)
			return h;
	}
	return NULL;
}

/* big_numbers: each preset's default, and both values forced; integers
 * within +-2^53 stay numbers in every mode. */
START_TEST(test_big_numbers)
{
	static const char *const presets[] = {"default", "ecs", "gcp", "otel", "loguru"};
	static const bool string_default[] = {false, true, true, true, false};
	for (size_t p = 0; p < 5; p++)
		for (int mode = 0; mode < 3; mode++) {
			char *path = tc_tmppath("big.jsonl");
			jlog_options o;
			jlog_options_init(&o);
			o.sink = "stderr";
			o.level = JLOG_LEVEL_OFF;
			jlog_logger *lg = NULL;
			ck_assert_int_eq(jlog_open(&lg, &o), 0);
			jlog_sink_options so;
			jlog_sink_options_init(&so);
			so.sink = path;
			so.preset = presets[p];
			so.big_numbers = mode == 1 ? "exact" : mode == 2 ? "string" : NULL;
			ck_assert_int_ge(jlog_add_sink(lg, &so), 1);
			ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
			jlog_set_level(lg, JLOG_LEVEL_INFO);
			JLOG_INFO(lg, "big", JLOG_UINT("u", 18446744073709551615ull),
			          JLOG_INT("n", -9007199254740993LL), JLOG_INT("edge", 9007199254740992LL),
			          JLOG_UINT("small", 42));
			jlog_close(lg);
			bool strings = mode == 2 || (mode == 0 && string_default[p]);
			size_t len;
			char *text = tc_slurp(path, &len);
			if (!strings) {
				/* jansson, like most readers, refuses 2^64-1: the text. */
				ck_assert_ptr_nonnull(strstr(text, "\"u\":18446744073709551615"));
				ck_assert_ptr_nonnull(strstr(text, "\"n\":-9007199254740993"));
				ck_assert_ptr_nonnull(strstr(text, "\"edge\":9007199254740992"));
				free(text);
				unlink(path);
				free(path);
				continue;
			}
			free(text);
			json_t **lines = tc_file_lines(path, 1);
			json_t *h = holder_of(lines[0], "u");
			ck_assert_ptr_nonnull(h);
			{
				ck_assert_str_eq(json_string_value(json_object_get(h, "u")),
				                 "18446744073709551615");
				ck_assert_str_eq(json_string_value(json_object_get(h, "n")),
				                 "-9007199254740993");
			}
			ck_assert_int_eq(json_integer_value(json_object_get(h, "edge")), 9007199254740992LL);
			ck_assert_int_eq(json_integer_value(json_object_get(h, "small")), 42);
			tc_free_lines(lines, 1);
			unlink(path);
			free(path);
		}
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "stderr";
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.big_numbers = "strings";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "big_numbers"));
	jlog_close(lg);
	char err[256];
	ck_assert_int_eq(jlog_open_config_err(&lg, "{\"sinks\":[{\"big_numbers\":1}]}", err,
	                                      sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "sinks[0].big_numbers"), "%s", err);
	ck_assert_int_eq(jlog_open_config_err(&lg, "{\"sinks\":[{\"big_numbers\":\"string\"}]}",
	                                      err, sizeof(err)), 0);
	jlog_close(lg);
}
END_TEST

Suite *jlog_test_suite(void)
{
	/* Read once by the otel preset, on its first line. Set here, before
	 * Check forks any test, so every test sees it. */
	setenv("OTEL_SERVICE_NAME", SERVICE_NAME, 1);

	Suite *s = suite_create("preset");
	TCase *tc = tcase_create("options");
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("presets");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_default_same_bytes);
	tcase_add_test(tc, test_default_renames);
	tcase_add_test(tc, test_default_time_formats);
	tcase_add_test(tc, test_ecs);
	tcase_add_test(tc, test_custom_level_presets);
	tcase_add_test(tc, test_gcp);
	tcase_add_test(tc, test_otel);
	tcase_add_test(tc, test_loguru);
	tcase_add_test(tc, test_loguru_shape_and_thread_names);
	tcase_add_test(tc, test_local_time);
	tcase_add_test(tc, test_sink_utc_option);
	tcase_add_test(tc, test_loguru_text_escapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("all");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_escapes_nan);
	tcase_add_test(tc, test_drop_report);
	tcase_add_test(tc, test_random_parse);
	tcase_add_test(tc, test_random_dedup);
	tcase_add_test(tc, test_dedup_large);
	tcase_add_test(tc, test_thread_scratch);
	tcase_add_test(tc, test_lines_append);
	tcase_add_test(tc, test_big_numbers);
	suite_add_tcase(s, tc);
	return s;
}
