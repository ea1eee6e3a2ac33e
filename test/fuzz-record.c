/*
 * libFuzzer harness for the record codec and the JSON encoder
 * (lib/record.c, lib/encode.c): arbitrary bytes become a record, the
 * record becomes a line, and the line must be one valid JSON object that
 * says exactly what the record held.
 *
 * Built by meson with -Dfuzz=true and clang (test/meson.build); run by
 * tools/test.sh, or by hand:
 *
 *     build-fuzz/test/fuzz-record -max_total_time=60 corpus-copy/ test/fuzz-corpus/
 *
 * The input is read front to back (bytes past the end read as 0):
 *
 *   mode   u8   bit 7: raw mode, the rest of the input is the record itself
 *                      (decoding must refuse or accept it without reading out
 *                      of bounds; an accepted one must encode to a line)
 *               bit 0: a logger name follows the message
 *               bit 1: the message is marked cut (JLOG__REC_MSG_TRUNCATED)
 *               bit 2: the view carries a drop count (u64 after the name)
 *               bits 3-4: callsite: 0 none, 1 registered, 2 unknown id (u32)
 *               bit 5: set JLOG__REC_TRUNCATED even when nothing is cut
 *               bit 6: pad the record with 0..7 zero bytes (u8)
 *   level  u8
 *   time   u64, tid u32, pid u32
 *   msg    blob; name blob (bit 0); dropped u64 (bit 2)
 *   nfields u8 (mod 48), then per field:
 *     op   u8   bits 0-2: STR INT UINT DOUBLE BOOL NULL JSON, 7 = unknown
 *                         type (u8 follows)
 *               bit 3: val_cap follows (u16); otherwise no limit
 *               bit 4: key from the dictionary below (u8); otherwise a blob
 *     key, then the value: STR a blob; INT/UINT/DOUBLE 8 bytes (any bit
 *     pattern, NaN and Inf included); BOOL u8; JSON a tree (build_json).
 *
 *   blob   u8 L: L < 0xf0: L bytes follow. L >= 0xf0: u16 length (mod
 *          3000, within a budget of 12000 per input), u8 k (1..16) and k
 *          bytes, repeated to the length (long values and keys from short
 *          inputs).
 *
 * The record is laid out as the logger lays it out: a zeroed buffer the
 * size the logger reserves (STR/JSON values at most val_cap), fields
 * written with jlog__field_write(), the whole reservation decoded.
 *
 * Checks, each abort()s on failure:
 *  - the record decodes; each field reads back with the input's type, key
 *    (cut at 1024 bytes on a UTF-8 boundary) and value (cut at val_cap on
 *    a UTF-8 boundary and flagged; a cut JSON value becomes a string, an
 *    unserializable one null);
 *  - the line ends in its only '\n', holds no raw control character and no
 *    raw U+2028/U+2029, and jansson parses it (JSON_REJECT_DUPLICATES |
 *    JSON_ALLOW_NUL) into an object;
 *  - the object has exactly the schema's keys plus one key per distinct
 *    printed field key (reserved keys as "fields.<key>"), each with the
 *    value of the last field that has it;
 *  - strings equal the input decoded by the reference decoder below
 *    (maximal subparts replaced by U+FFFD; a cut value loses an
 *    incomplete final sequence and gains "…"); integers are exact;
 *    doubles read back bit for bit and are formatted as the documented
 *    printf reference formats them; NaN/Inf are null; JSON values equal
 *    the jansson value they came from.
 */
#include "jlog-private.h"
#include "redact.h"

#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAIL(...)                                                             \
	do {                                                                  \
		fprintf(stderr, "fuzz-record: " __VA_ARGS__);                 \
		fputc('\n', stderr);                                          \
		abort();                                                      \
	} while (0)
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			FAIL(__VA_ARGS__);                                    \
	} while (0)

/*
 * The reference checks run on every byte of every value; instrumenting
 * them for coverage (comparison tracing) took half the run time and
 * guides nothing in lib/. ASan and UBSan still apply.
 */
#if defined(__clang__)
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

#define MAX_FIELDS 48
#define MAX_BLOB 3000
/* Bytes all repeated blobs of one input may add up to: big records are slow
 * to check, and a few long values and keys reach every cut. */
#define REPEAT_BUDGET 12000
#define JSON_MAX_DEPTH 8
#define JSON_MAX_NODES 512

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------------ */
/* Reading the input                                                        */
/* ------------------------------------------------------------------------ */

struct src {
	const uint8_t *p;
	size_t n;
	/* Blobs made by repetition, freed after the run. */
	void *owned[2 * MAX_FIELDS + 8];
	size_t nowned;
	size_t repeated; /* bytes of repeated blobs so far */
};

static uint8_t take_u8(struct src *s)
{
	if (s->n == 0)
		return 0;
	s->n--;
	return *s->p++;
}

static uint64_t take_le(struct src *s, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)take_u8(s) << (8 * i);
	return v;
}

/* A blob; *len gets its length. Never NULL. */
static const char *take_blob(struct src *s, size_t *len)
{
	unsigned l = take_u8(s);
	if (l < 0xf0) {
		size_t n = l < s->n ? l : s->n;
		const char *p = n ? (const char *)s->p : "";
		s->p += n;
		s->n -= n;
		*len = n;
		return p;
	}
	size_t total = take_le(s, 2) % MAX_BLOB;
	if (total > REPEAT_BUDGET - s->repeated)
		total = REPEAT_BUDGET - s->repeated;
	s->repeated += total;
	size_t k = take_u8(s) % 16 + 1;
	uint8_t chunk[16];
	for (size_t i = 0; i < k; i++)
		chunk[i] = take_u8(s);
	char *b = malloc(total + 1);
	CHECK(b != NULL, "out of memory");
	for (size_t i = 0; i < total; i++)
		b[i] = (char)chunk[i % k];
	if (s->nowned < sizeof(s->owned) / sizeof(s->owned[0])) {
		s->owned[s->nowned++] = b;
	} else {
		free(b);
		*len = 0;
		return "";
	}
	*len = total;
	return b;
}

/* ------------------------------------------------------------------------ */
/* Reference UTF-8 decoder                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Unicode 15, table 3-7: the well-formed UTF-8 byte sequences, as byte
 * ranges per position. A byte sequence is a valid prefix when some row
 * accepts each of its bytes.
 */
static const struct {
	int len;
	uint8_t lo[4], hi[4];
} wf[] = {
	{1, {0x00}, {0x7f}},
	{2, {0xc2, 0x80}, {0xdf, 0xbf}},
	{3, {0xe0, 0xa0, 0x80}, {0xe0, 0xbf, 0xbf}},
	{3, {0xe1, 0x80, 0x80}, {0xec, 0xbf, 0xbf}},
	{3, {0xed, 0x80, 0x80}, {0xed, 0x9f, 0xbf}},
	{3, {0xee, 0x80, 0x80}, {0xef, 0xbf, 0xbf}},
	{4, {0xf0, 0x90, 0x80, 0x80}, {0xf0, 0xbf, 0xbf, 0xbf}},
	{4, {0xf1, 0x80, 0x80, 0x80}, {0xf3, 0xbf, 0xbf, 0xbf}},
	{4, {0xf4, 0x80, 0x80, 0x80}, {0xf4, 0x8f, 0xbf, 0xbf}},
};

/* The row that accepts the first @n bytes of @p, or -1. */
NO_COVERAGE static int wf_row(const uint8_t *p, size_t n)
{
	for (size_t r = 0; r < sizeof(wf) / sizeof(wf[0]); r++) {
		if ((size_t)wf[r].len < n)
			continue;
		size_t i = 0;
		while (i < n && p[i] >= wf[r].lo[i] && p[i] <= wf[r].hi[i])
			i++;
		if (i == n)
			return (int)r;
	}
	return -1;
}

/*
 * One step of decoding at @p (n > 0 bytes left): *len gets the bytes
 * consumed. Returns the code point, or -1 for an ill-formed subsequence
 * (one U+FFFD), which is the maximal subpart: the longest prefix that
 * some well-formed sequence starts with, at least one byte. *cut_by_end
 * tells that the subpart was a valid prefix that only the end of the
 * input cut short.
 */
NO_COVERAGE static long ref_step(const uint8_t *p, size_t n, size_t *len, bool *cut_by_end)
{
	if (p[0] < 0x80) { /* row 0, the common case, without the search */
		*len = 1;
		*cut_by_end = false;
		return p[0];
	}
	size_t k = 0;
	int row = -1;
	while (k < 4 && k < n) {
		int r = wf_row(p, k + 1);
		if (r < 0)
			break;
		row = r;
		k++;
	}
	*cut_by_end = false;
	if (k == 0) {
		*len = 1;
		return -1;
	}
	*len = k;
	if ((size_t)wf[row].len != k) {
		*cut_by_end = k == n;
		return -1;
	}
	static const uint8_t mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	long cp = p[0] & mask[k];
	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

struct text {
	char *p;
	size_t len, cap;
};

NO_COVERAGE static void text_put(struct text *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		while (cap < t->len + n)
			cap *= 2;
		t->p = realloc(t->p, cap);
		CHECK(t->p != NULL, "out of memory");
		t->cap = cap;
	}
	if (n)
		memcpy(t->p + t->len, p, n);
	t->len += n;
}

NO_COVERAGE static void text_cp(struct text *t, long cp)
{
	uint8_t o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		o[0] = (uint8_t)(0xf0 | cp >> 18);
		o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	text_put(t, o, n);
}

#define FFFD 0xfffdL

/*
 * Append the text a JSON string of @s shows once parsed: each maximal
 * ill-formed subpart is U+FFFD. @truncated: the value was cut, so an
 * incomplete final sequence is dropped and "…" appended. @nul_fffd: a NUL
 * shows as U+FFFD (keys).
 */
NO_COVERAGE static void ref_text(struct text *t, const void *str, size_t n, bool truncated, bool nul_fffd)
{
	const uint8_t *s = str;
	size_t i = 0;
	while (i < n) {
		size_t len;
		bool cut;
		long cp = ref_step(s + i, n - i, &len, &cut);
		i += len;
		if (cut && truncated)
			break; /* i == n */
		if (cp < 0 || (cp == 0 && nul_fffd))
			cp = FFFD;
		text_cp(t, cp);
	}
	if (truncated)
		text_cp(t, 0x2026);
}

/* True when @s is well-formed UTF-8 throughout. */
NO_COVERAGE static bool ref_valid(const void *str, size_t n)
{
	const uint8_t *s = str;
	for (size_t i = 0; i < n;) {
		size_t len;
		bool cut;
		if (ref_step(s + i, n - i, &len, &cut) < 0)
			return false;
		i += len;
	}
	return true;
}

/* For well-formed @s (n bytes): the largest character boundary <= @cap. */
NO_COVERAGE static size_t ref_boundary(const void *str, size_t n, size_t cap)
{
	const uint8_t *s = str;
	size_t i = 0;
	while (i < n) {
		size_t len;
		bool cut;
		ref_step(s + i, n - i, &len, &cut);
		if (i + len > cap)
			break;
		i += len;
	}
	return i;
}

/* ------------------------------------------------------------------------ */
/* Reference number formatting                                              */
/* ------------------------------------------------------------------------ */

/* The documented contract of jlog__fmt_double() for finite @v: the
 * shortest of %.15g, %.16g, %.17g (from %.1g for subnormals) that strtod()
 * reads back bit for bit, with ".0" added when it would read as an
 * integer. The harness runs in the C locale. */
static size_t ref_fmt_double(char *out, size_t cap, double v)
{
	int prec = v != 0 && fabs(v) < DBL_MIN ? 1 : 15;
	for (;; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		double r = strtod(out, NULL);
		if (prec == 17 || memcmp(&r, &v, sizeof(r)) == 0)
			break;
	}
	if (!strpbrk(out, ".e"))
		strcat(out, ".0");
	return strlen(out);
}

static void check_number_text(const struct jlog__field_view *f)
{
	char want[64], got[64];
	struct jlog__buf b;
	jlog__buf_init(&b);
	switch (f->type) {
	case JLOG__T_INT:
		snprintf(want, sizeof(want), "%" PRId64, f->v.i);
		jlog__json_int(&b, f->v.i);
		break;
	case JLOG__T_UINT:
		snprintf(want, sizeof(want), "%" PRIu64, f->v.u);
		jlog__json_uint(&b, f->v.u);
		break;
	case JLOG__T_DOUBLE:
		if (isfinite(f->v.d))
			ref_fmt_double(want, sizeof(want), f->v.d);
		else
			strcpy(want, "null");
		jlog__json_double(&b, f->v.d);
		break;
	default:
		return;
	}
	CHECK(!b.failed && b.len < sizeof(got), "number formatting failed");
	memcpy(got, b.p, b.len);
	got[b.len] = '\0';
	jlog__buf_finish(&b);
	CHECK(strcmp(got, want) == 0, "number: got %s, want %s", got, want);
}

/* ------------------------------------------------------------------------ */
/* JSON values from the input                                               */
/* ------------------------------------------------------------------------ */

/*
 * A jansson tree from the input. Strings and object keys are the input's
 * bytes; valid UTF-8 is required by jansson, except that a string whose op
 * byte is 0xf0 or more is made with json_stringn_nocheck(), whose invalid
 * text jansson then refuses to serialize (the field must become null).
 * Object keys always go through the checking setter: jansson 2.14 ignores
 * the failure of an invalid key made with json_object_setn_nocheck() and
 * writes broken text ({":"v"} for a key "\xff"), which jlog cannot tell
 * from JSON. NUL is kept in strings but not in object keys: jansson
 * serializes such a key as "\u0000" yet refuses to parse one, so the
 * oracle could not read the line back.
 */
static json_t *build_json(struct src *s, int depth, int *nodes)
{
	unsigned op = take_u8(s);
	bool nocheck = op >= 0xf0;
	size_t n;
	const char *b;
	uint64_t bits;
	double d;

	if (++*nodes > JSON_MAX_NODES)
		return json_null();
	if (depth >= JSON_MAX_DEPTH && op % 10 >= 6)
		op = 0;
	switch (op % 10) {
	case 0: {
		b = take_blob(s, &n);
		json_t *j = nocheck ? json_stringn_nocheck(b, n) : json_stringn(b, n);
		return j ? j : json_string("invalid");
	}
	case 1:
		return json_integer((json_int_t)take_le(s, 8));
	case 2:
		bits = take_le(s, 8);
		memcpy(&d, &bits, sizeof(d));
		{
			json_t *j = json_real(d); /* NULL for NaN, Inf */
			return j ? j : json_null();
		}
	case 3:
		return json_true();
	case 4:
		return json_false();
	case 5:
		return json_null();
	case 6:
	case 7: {
		json_t *a = json_array();
		n = take_u8(s) % 8;
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, build_json(s, depth + 1, nodes));
		return a;
	}
	default: {
		json_t *o = json_object();
		n = take_u8(s) % 8;
		for (size_t i = 0; i < n; i++) {
			size_t kn;
			const char *k = take_blob(s, &kn);
			char kb[256];
			kn = kn < sizeof(kb) ? kn : sizeof(kb);
			memcpy(kb, k, kn);
			for (size_t c = 0; c < kn; c++)
				if (kb[c] == '\0')
					kb[c] = '0';
			json_t *v = build_json(s, depth + 1, nodes);
			/* An invalid UTF-8 key is refused (and v released). */
			(void)json_object_setn_new(o, kb, kn, v);
		}
		return o;
	}
	}
}

/* Serialize as the record does: compact, any value at the top. */
static char *dump_json(const json_t *j, size_t *len)
{
	size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	*len = n;
	if (n == 0)
		return NULL;
	char *p = malloc(n);
	CHECK(p != NULL, "out of memory");
	CHECK(json_dumpb(j, p, n, JSON_COMPACT | JSON_ENCODE_ANY) == n, "json_dumpb changed");
	return p;
}

/* @want equals @got; with @int_as_real the line was parsed with
 * JSON_DECODE_INT_AS_REAL, so integers came back as reals. */
NO_COVERAGE static bool json_match(const json_t *want, const json_t *got, bool int_as_real)
{
	if (json_is_integer(want) && int_as_real)
		return json_is_real(got) &&
		       json_real_value(got) == (double)json_integer_value(want);
	if (json_is_real(want) && json_is_real(got)) {
		double a = json_real_value(want), b = json_real_value(got);
		return memcmp(&a, &b, sizeof(a)) == 0;
	}
	if (json_is_array(want)) {
		if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
			return false;
		for (size_t i = 0; i < json_array_size(want); i++)
			if (!json_match(json_array_get(want, i), json_array_get(got, i), int_as_real))
				return false;
		return true;
	}
	if (json_is_object(want)) {
		if (!json_is_object(got) || json_object_size(got) != json_object_size(want))
			return false;
		const char *k;
		size_t kl;
		json_t *v;
		json_object_keylen_foreach((json_t *)want, k, kl, v) {
			if (!json_match(v, json_object_getn(got, k, kl), int_as_real))
				return false;
		}
		return true;
	}
	return json_equal(want, got);
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */
/* ------------------------------------------------------------------------ */

struct in_field {
	jlog_field f;
	int type_sel;    /* 0..7 from the op byte */
	size_t val_cap;  /* SIZE_MAX: none */
	json_t *json;    /* JSON: the value (owned) */
	char *dump;      /* JSON: its compact text, NULL if unserializable */
	size_t dump_len;
};

static const char *const key_dict[] = {
	"a", "b", "", "time", "level", "message", "logger", "file", "line",
	"function", "pid", "tid", "truncated", "dropped", "fields.time",
	"fields.dropped", "\x80", "\xff", "\xc3", "\xef\xbf\xbd", "k\n", "k\\n",
	"\xe2\x80\xa8", "\"", "fields.", "Time",
};
#define KEY_DICT_N (sizeof(key_dict) / sizeof(key_dict[0]))

static void take_field(struct src *s, struct in_field *in, int *nodes)
{
	unsigned op = take_u8(s);
	memset(in, 0, sizeof(*in));
	in->type_sel = (int)(op & 7);
	in->val_cap = SIZE_MAX;
	if (op & 8)
		in->val_cap = (size_t)take_le(s, 2);

	const char *key;
	size_t key_len;
	if (op & 16) {
		unsigned k = take_u8(s);
		if (k % KEY_DICT_N == 2 && (k & 0x80)) {
			/* A key of one NUL byte, which prints as U+FFFD. */
			key = "\0";
			key_len = 1;
		} else {
			key = key_dict[k % KEY_DICT_N];
			key_len = strlen(key);
		}
	} else {
		key = take_blob(s, &key_len);
	}

	jlog_field *f = &in->f;
	switch (in->type_sel) {
	case 0: {
		size_t n;
		const char *v = take_blob(s, &n);
		*f = jlog__field_strn(NULL, v, n);
		break;
	}
	case 1:
		*f = jlog__field_int(NULL, (int64_t)take_le(s, 8));
		break;
	case 2:
		*f = jlog__field_uint(NULL, take_le(s, 8));
		break;
	case 3: {
		uint64_t bits = take_le(s, 8);
		double d;
		memcpy(&d, &bits, sizeof(d));
		*f = jlog__field_double(NULL, d);
		break;
	}
	case 4:
		*f = jlog__field_bool(NULL, take_u8(s) & 1);
		break;
	case 5:
		*f = jlog__field(NULL, JLOG__T_NULL);
		break;
	case 6:
		in->json = build_json(s, 0, nodes);
		in->dump = dump_json(in->json, &in->dump_len);
		*f = jlog__field_json(NULL, in->json);
		break;
	default: {
		/* A type this version does not know: stored as null. */
		unsigned t = take_u8(s);
		if (t >= JLOG__T_STR && t <= JLOG__T_JSON)
			t = JLOG__T_END;
		*f = jlog__field(NULL, (int)t);
		break;
	}
	}
	/* Keys are byte strings to the record: NUL bytes included. */
	f->key = key;
	f->key_len = key_len;
}

/* The value bytes of a field before truncation (STR, JSON). */
static size_t in_value_len(const struct in_field *in)
{
	if (in->type_sel == 0)
		return in->f.len;
	if (in->type_sel == 6)
		return in->dump_len;
	return 0;
}

/* The bytes the logger reserves for a field: values cut to val_cap. */
static size_t reserved_size(const struct in_field *in)
{
	size_t full = in_value_len(in);
	size_t kept = full < in->val_cap ? full : in->val_cap;
	return jlog__field_size(&in->f) - full + kept;
}

/* A field read back from the record equals what was written. */
static void check_field_written(const struct in_field *in, const struct jlog__field_view *f,
                                size_t idx)
{
	/* The key: whole up to JLOG__MAX_KEY, else cut on a boundary. */
	size_t kl = in->f.key_len;
	if (kl <= JLOG__MAX_KEY) {
		CHECK(f->key_len == kl, "field %zu: key length %zu, want %zu", idx,
		      (size_t)f->key_len, kl);
	} else {
		CHECK(f->key_len <= JLOG__MAX_KEY && f->key_len + 3 >= JLOG__MAX_KEY,
		      "field %zu: long key kept %zu bytes", idx, (size_t)f->key_len);
		if (ref_valid(in->f.key, kl))
			CHECK(f->key_len == ref_boundary(in->f.key, kl, JLOG__MAX_KEY),
			      "field %zu: long key cut at %zu, not on the last boundary", idx,
			      (size_t)f->key_len);
	}
	CHECK(f->key_len == 0 || memcmp(f->key, in->f.key, f->key_len) == 0,
	      "field %zu: key bytes differ", idx);

	switch (in->type_sel) {
	case 0:
	case 6: {
		const char *full = in->type_sel == 0 ? in->f.v.s : in->dump;
		size_t n = in_value_len(in);
		if (in->type_sel == 6 && !in->dump) {
			CHECK(f->type == JLOG__T_NULL, "field %zu: unserializable JSON not null",
			      idx);
			break;
		}
		if (n <= in->val_cap) {
			CHECK(f->type == (in->type_sel == 0 ? JLOG__T_STR : JLOG__T_JSON),
			      "field %zu: type %d", idx, f->type);
			CHECK(!(f->flags & JLOG__FIELD_TRUNCATED), "field %zu: flagged cut", idx);
			CHECK(f->val_len == n && (n == 0 || memcmp(f->v.s, full, n) == 0),
			      "field %zu: value differs", idx);
			break;
		}
		size_t cap = in->val_cap;
		CHECK(f->type == JLOG__T_STR, "field %zu: cut value has type %d", idx, f->type);
		CHECK(f->flags & JLOG__FIELD_TRUNCATED, "field %zu: cut value not flagged", idx);
		CHECK(f->val_len <= cap && f->val_len + 3 >= cap,
		      "field %zu: cut to %zu bytes for a cap of %zu", idx, (size_t)f->val_len, cap);
		CHECK(f->val_len == 0 || memcmp(f->v.s, full, f->val_len) == 0,
		      "field %zu: cut value is not a prefix", idx);
		if (ref_valid(full, n))
			CHECK(f->val_len == ref_boundary(full, n, cap),
			      "field %zu: cut at %zu, not on the last boundary before %zu", idx,
			      (size_t)f->val_len, cap);
		break;
	}
	case 1:
		CHECK(f->type == JLOG__T_INT && f->v.i == in->f.v.i, "field %zu: int", idx);
		break;
	case 2:
		CHECK(f->type == JLOG__T_UINT && f->v.u == in->f.v.u, "field %zu: uint", idx);
		break;
	case 3:
		CHECK(f->type == JLOG__T_DOUBLE && memcmp(&f->v.d, &in->f.v.d, 8) == 0,
		      "field %zu: double", idx);
		break;
	case 4:
		CHECK(f->type == JLOG__T_BOOL && f->v.b == (in->f.v.i != 0), "field %zu: bool", idx);
		break;
	default:
		CHECK(f->type == JLOG__T_NULL && f->val_len == 0, "field %zu: not null", idx);
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* The line                                                                 */
/* ------------------------------------------------------------------------ */

static bool is_reserved_key(const char *k, size_t n)
{
	static const char *const reserved[] = {
		"time", "level", "message", "logger", "file", "line",
		"function", "pid", "tid", "truncated", "dropped",
	};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], k, n) == 0)
			return true;
	return false;
}

/* One line, '\n' at the end only, no raw control character or
 * U+2028/U+2029, and no raw DEL unless @del_ok: jlog escapes DEL in the
 * strings it writes, but copies JSON values as jansson serialized them,
 * and jansson leaves DEL raw (valid JSON). */
NO_COVERAGE static void check_line_shape(const char *p, size_t n, bool del_ok)
{
	CHECK(n >= 2 && p[n - 1] == '\n', "line does not end with a newline");
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)p[i];
		CHECK(c >= 0x20 && (c != 0x7f || del_ok), "raw byte 0x%02x at %zu", c, i);
		CHECK(!(c == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
		        ((unsigned char)p[i + 2] & 0xfe) == 0xa8),
		      "raw U+2028/9 at %zu", i);
	}
}

static json_t *parse_line(const char *p, size_t n, bool int_as_real)
{
	json_error_t err;
	size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
	if (int_as_real)
		flags |= JSON_DECODE_INT_AS_REAL;
	json_t *j = json_loadb(p, n - 1, flags, &err);
	CHECK(j != NULL, "line is not valid JSON (%s at %d): %.*s", err.text, err.position,
	      (int)(n > 400 ? 400 : n), p);
	CHECK(json_is_object(j), "line is not an object");
	return j;
}

NO_COVERAGE static void check_string(const json_t *j, const struct text *want, const char *what)
{
	CHECK(json_is_string(j), "%s: not a string", what);
	size_t n = json_string_length(j);
	CHECK(n == want->len && (n == 0 || memcmp(json_string_value(j), want->p, n) == 0),
	      "%s: got \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", what,
	      (int)(n > 200 ? 200 : n), json_string_value(j), n,
	      (int)(want->len > 200 ? 200 : want->len), want->p ? want->p : "", want->len);
}

static void check_uint(const json_t *j, uint64_t want, bool int_as_real, const char *what)
{
	if (int_as_real)
		CHECK(json_is_real(j) && json_real_value(j) == (double)want, "%s: %" PRIu64, what,
		      want);
	else
		CHECK(json_is_integer(j) && (uint64_t)json_integer_value(j) == want,
		      "%s: %" PRIu64, what, want);
}

static void check_int(const json_t *j, int64_t want, bool int_as_real, const char *what)
{
	if (int_as_real)
		CHECK(json_is_real(j) && json_real_value(j) == (double)want, "%s: %" PRId64, what,
		      want);
	else
		CHECK(json_is_integer(j) && json_integer_value(j) == want, "%s: %" PRId64, what,
		      want);
}

/* The value of one (winning) field in the parsed line. */
static void check_field_value(const json_t *got, const struct jlog__field_view *f,
                              const struct in_field *in, bool int_as_real, size_t idx)
{
	char what[64];
	snprintf(what, sizeof(what), "field %zu (type %d)", idx, f->type);
	CHECK(got != NULL, "%s: key missing from the line", what);
	switch (f->type) {
	case JLOG__T_STR: {
		struct text t = {0};
		ref_text(&t, f->v.s, f->val_len, f->flags & JLOG__FIELD_TRUNCATED, false);
		check_string(got, &t, what);
		free(t.p);
		break;
	}
	case JLOG__T_JSON: {
		CHECK(in->json != NULL, "%s: JSON without a source", what);
		CHECK(json_match(in->json, got, int_as_real), "%s: JSON value differs", what);
		break;
	}
	case JLOG__T_INT:
		check_int(got, f->v.i, int_as_real, what);
		break;
	case JLOG__T_UINT:
		check_uint(got, f->v.u, int_as_real, what);
		break;
	case JLOG__T_DOUBLE:
		if (!isfinite(f->v.d)) {
			CHECK(json_is_null(got), "%s: non-finite double not null", what);
		} else {
			CHECK(json_is_real(got), "%s: double not a real", what);
			double d = json_real_value(got);
			CHECK(memcmp(&d, &f->v.d, sizeof(d)) == 0, "%s: double %a read back as %a",
			      what, f->v.d, d);
		}
		break;
	case JLOG__T_BOOL:
		CHECK(json_is_boolean(got) && json_is_true(got) == f->v.b, "%s: bool", what);
		break;
	default:
		CHECK(json_is_null(got), "%s: not null", what);
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* One input                                                                */
/* ------------------------------------------------------------------------ */

static jlog_callsite fuzz_site = {"some/dir/fuzz-site.c", "fuzz_function", 4242, 0};
static uint32_t fuzz_site_id;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_site_id = jlog__callsite_id(&fuzz_site);
	CHECK(fuzz_site_id != 0, "callsite registration failed");
	return 0;
}

/* Redaction of an accepted record (lib/redact.c): key rules of every
 * kind, the detectors, each mode, with the writer's and the crash
 * handler's buffers; the result must encode, and stay in bounds on JSON
 * text that is not JSON. */
static void run_redact(const struct jlog__rec_view *v)
{
	static struct jlog__redact *r[3];
	static bool ready;
	if (!ready) {
		static const char *const keys[] = {"a*", "**.k", "x.y", "?", "password"};
		setenv("JLOG_FUZZ_HASH_KEY", "0123456789abcdef", 1);
		for (int m = 0; m < 3; m++) {
			jlog_redact_options o;
			jlog_redact_options_init(&o);
			o.keys = keys;
			o.nkeys = 5;
			o.mode = (jlog_redact_mode)m;
			o.detect = JLOG_DETECT_BEARER | JLOG_DETECT_LUHN | JLOG_DETECT_KEYS;
			o.hash_key_env = "JLOG_FUZZ_HASH_KEY";
			CHECK(jlog__redact_compile(&o, "redact", &r[m]) == 0 && r[m], "compile");
			CHECK(jlog__redact_crash_reserve(r[m], 1 << 20) == 0, "reserve");
		}
		ready = true;
	}
	for (int m = 0; m < 3; m++) {
		struct jlog__rec_view t1, t2;
		const struct jlog__rec_view *w = jlog__redact_view(r[m], v, &t1);
		const struct jlog__rec_view *c = jlog__redact_view_crash(r[m], v, &t2);
		CHECK(w != NULL, "redaction failed");
		struct jlog__line_ctx ctx = {.pid = 77};
		struct jlog__buf b;
		jlog__buf_init(&b);
		jlog__encode_json(&b, w, &ctx);
		if (c)
			jlog__encode_json(&b, c, &ctx);
		CHECK(!b.failed, "encoding a redacted record failed");
		jlog__buf_finish(&b);
	}
}

/* Raw mode: the bytes are a record. Decoding must stay in bounds; an
 * accepted record must encode to a line, which is valid JSON unless a JSON
 * field carries arbitrary bytes (the producer vouches for JSON text). */
static void run_raw(const uint8_t *data, size_t size)
{
	uint8_t *rec = malloc(size ? size : 1);
	CHECK(rec != NULL, "out of memory");
	if (size)
		memcpy(rec, data, size);
	struct jlog__rec_view v;
	if (!jlog__record_decode(rec, size, &v)) {
		free(rec);
		return;
	}
	bool has_json = false;
	const uint8_t *cur = v.fields;
	struct jlog__field_view f;
	for (uint32_t i = 0; i < v.nfields; i++) {
		CHECK(jlog__field_next(&v, &cur, &f), "decoded record has a bad field");
		has_json |= f.type == JLOG__T_JSON;
	}
	struct jlog__line_ctx ctx = {.pid = 77};
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__encode_json(&b, &v, &ctx);
	CHECK(!b.failed, "encoding failed");
	CHECK(b.len >= 2 && b.p[b.len - 1] == '\n', "line does not end with a newline");
	/* The writer's decode keeps the fields for the encoder: the same
	 * record gives the same line, twice (the second with the callsite's
	 * keys cached). */
	struct jlog__field_view fv[16];
	struct jlog__rec_view w;
	CHECK(jlog__record_decode_into(rec, size, &w, fv, 16, NULL), "decode_into refuses the record");
	/* A time in ticks with no calibrated counter (this process has none)
	 * is the time of decoding (clock.c): the same for both decodes. */
	if (w.flags & JLOG__REC_TICKS)
		w.time_ns = v.time_ns;
	for (int pass = 0; pass < 2; pass++) {
		struct jlog__buf b2;
		jlog__buf_init(&b2);
		jlog__encode_json(&b2, &w, &ctx);
		CHECK(!b2.failed && b2.len == b.len && memcmp(b2.p, b.p, b.len) == 0,
		      "the decoded fields give another line (pass %d):\n%.*s%.*s", pass,
		      (int)b.len, b.p, (int)b2.len, b2.p);
		jlog__buf_finish(&b2);
	}
	if (!has_json) {
		check_line_shape(b.p, b.len, false);
		json_error_t err;
		json_t *j = json_loadb(b.p, b.len - 1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
		if (!j) /* an integer beyond int64 (a uint field) */
			j = parse_line(b.p, b.len, true);
		CHECK(json_is_object(j), "line is not an object");
		json_decref(j);
	}
	jlog__buf_finish(&b);
	run_redact(&v);
	free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && (data[0] & 0x80)) {
		run_raw(data + 1, size - 1);
		return 0;
	}

	struct src s = {.p = data, .n = size};
	unsigned mode = take_u8(&s);
	struct jlog__rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.level = take_u8(&s);
	h.time_ns = take_le(&s, 8);
	h.tid = (uint32_t)take_le(&s, 4);
	struct jlog__line_ctx ctx = {.pid = (pid_t)(int32_t)take_le(&s, 4)};

	size_t msg_len, name_len = 0;
	const char *msg = take_blob(&s, &msg_len);
	const char *name = "";
	if (mode & 1) {
		name = take_blob(&s, &name_len);
		if (name_len > UINT16_MAX)
			name_len = UINT16_MAX;
	}
	uint64_t dropped = (mode & 4) ? take_le(&s, 8) : 0;
	switch (mode >> 3 & 3) {
	case 1:
		h.callsite = fuzz_site_id;
		break;
	case 2:
		h.callsite = (uint32_t)take_le(&s, 4);
		break;
	default:
		break;
	}
	/* The decoder looks the id up without its deferred mark (record.h). */
	bool site_known = (h.callsite & ~(uint32_t)JLOG__CALLSITE_DEFERRED) == fuzz_site_id &&
	                  fuzz_site_id != 0;
	size_t pad = (mode & 64) ? take_u8(&s) % 8 : 0;

	size_t nfields = take_u8(&s) % MAX_FIELDS;
	struct in_field in[MAX_FIELDS];
	int nodes = 0;
	bool any_cut = false;
	size_t total = sizeof(h) + msg_len + name_len;
	for (size_t i = 0; i < nfields; i++) {
		take_field(&s, &in[i], &nodes);
		total += reserved_size(&in[i]);
		any_cut |= in_value_len(&in[i]) > in[i].val_cap &&
		           !(in[i].type_sel == 6 && !in[i].dump);
	}

	h.msg_len = (uint32_t)msg_len;
	h.name_len = (uint16_t)name_len;
	h.nfields = (uint32_t)nfields;
	if (any_cut || (mode & 32))
		h.flags |= JLOG__REC_TRUNCATED;
	if (mode & 2)
		h.flags |= JLOG__REC_MSG_TRUNCATED | JLOG__REC_TRUNCATED;

	/* The reservation, zeroed as the ring is, written as the logger
	 * writes it. */
	size_t len = total + pad;
	uint8_t *rec = calloc(1, len);
	CHECK(rec != NULL, "out of memory");
	uint8_t *q = rec;
	memcpy(q, &h, sizeof(h));
	q += sizeof(h);
	if (msg_len)
		memcpy(q, msg, msg_len);
	q += msg_len;
	if (name_len)
		memcpy(q, name, name_len);
	q += name_len;
	for (size_t i = 0; i < nfields; i++) {
		size_t w = jlog__field_write(q, &in[i].f, in[i].val_cap);
		CHECK(w <= reserved_size(&in[i]), "field %zu: wrote %zu bytes, reserved %zu", i,
		      w, reserved_size(&in[i]));
		q += w;
	}

	/* Decode, and compare every field with its input. */
	struct jlog__rec_view v;
	CHECK(jlog__record_decode(rec, len, &v),
	      "a record written by jlog__field_write does not decode (%zu fields, %zu bytes)",
	      nfields, len);
	/* The decoder turns the callsite's deferred mark into a flag
	 * (record.h); a callsite id taken from the input may carry it. */
	unsigned want_flags = h.flags;
	if (h.callsite & JLOG__CALLSITE_DEFERRED)
		want_flags |= JLOG__REC_DEFERRED;
	CHECK(v.nfields == nfields && v.msg_len == msg_len && v.name_len == name_len &&
	              v.level == h.level && v.tid == h.tid && v.time_ns == h.time_ns &&
	              v.flags == want_flags,
	      "header fields differ");
	v.dropped = dropped;
	struct jlog__field_view views[MAX_FIELDS];
	const uint8_t *cur = v.fields;
	bool int_as_real = dropped > INT64_MAX;
	bool has_json = false;
	for (size_t i = 0; i < nfields; i++) {
		CHECK(jlog__field_next(&v, &cur, &views[i]), "field %zu does not read back", i);
		check_field_written(&in[i], &views[i], i);
		check_number_text(&views[i]);
		has_json |= views[i].type == JLOG__T_JSON;
		if (views[i].type == JLOG__T_UINT && views[i].v.u > INT64_MAX)
			int_as_real = true;
	}

	/* Encode and parse. */
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__encode_json(&b, &v, &ctx);
	CHECK(!b.failed, "encoding failed");
	check_line_shape(b.p, b.len, has_json);
	json_t *line = parse_line(b.p, b.len, int_as_real);

	/* The schema. */
	size_t schema = 5; /* time, level, message, pid, tid */
	struct text t = {0};
	{
		const json_t *jt = json_object_get(line, "time");
		char want[40];
		time_t sec = (time_t)(h.time_ns / 1000000000u);
		struct tm tm;
		CHECK(gmtime_r(&sec, &tm) != NULL, "gmtime_r");
		size_t k = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + k, sizeof(want) - k, ".%06uZ",
		         (unsigned)(h.time_ns % 1000000000u / 1000u));
		CHECK(json_is_string(jt) && strcmp(json_string_value(jt), want) == 0,
		      "time: got %s, want %s", json_is_string(jt) ? json_string_value(jt) : "?",
		      want);
	}
	{
		const json_t *jl = json_object_get(line, "level");
		char want[8];
		const char *lname = jlog_level_name(h.level);
		if (!lname) {
			snprintf(want, sizeof(want), "%u", (unsigned)h.level);
			lname = want;
		}
		CHECK(json_is_string(jl) && strcmp(json_string_value(jl), lname) == 0, "level");
	}
	ref_text(&t, msg, msg_len, h.flags & JLOG__REC_MSG_TRUNCATED, false);
	check_string(json_object_get(line, "message"), &t, "message");
	if (name_len) {
		schema++;
		t.len = 0;
		ref_text(&t, name, name_len, false, false);
		check_string(json_object_get(line, "logger"), &t, "logger");
	}
	if (site_known) {
		schema += 3;
		const json_t *jf = json_object_get(line, "file");
		const json_t *jn = json_object_get(line, "function");
		CHECK(json_is_string(jf) && strcmp(json_string_value(jf), "fuzz-site.c") == 0,
		      "file");
		CHECK(json_is_string(jn) && strcmp(json_string_value(jn), "fuzz_function") == 0,
		      "function");
		check_int(json_object_get(line, "line"), 4242, int_as_real, "line");
	}
	check_int(json_object_get(line, "pid"), ctx.pid, int_as_real, "pid");
	check_uint(json_object_get(line, "tid"), h.tid, int_as_real, "tid");
	if (h.flags & JLOG__REC_TRUNCATED) {
		schema++;
		CHECK(json_is_true(json_object_get(line, "truncated")), "truncated");
	}
	if (dropped) {
		schema++;
		check_uint(json_object_get(line, "dropped"), dropped, int_as_real, "dropped");
	}

	/* The fields: printed keys, the last field with a key wins. */
	struct text keys[MAX_FIELDS];
	memset(keys, 0, sizeof(keys));
	for (size_t i = 0; i < nfields; i++) {
		if (is_reserved_key(views[i].key, views[i].key_len))
			text_put(&keys[i], "fields.", 7);
		ref_text(&keys[i], views[i].key, views[i].key_len, false, true);
	}
	size_t distinct = 0;
	for (size_t i = 0; i < nfields; i++) {
		bool overridden = false;
		for (size_t j = i + 1; j < nfields && !overridden; j++)
			overridden = keys[j].len == keys[i].len &&
			             (keys[i].len == 0 || memcmp(keys[j].p, keys[i].p, keys[i].len) == 0);
		if (overridden)
			continue;
		distinct++;
		const json_t *got = json_object_getn(line, keys[i].p ? keys[i].p : "", keys[i].len);
		check_field_value(got, &views[i], &in[i], int_as_real, i);
	}
	CHECK(json_object_size(line) == schema + distinct,
	      "the line has %zu keys, want %zu schema keys and %zu field keys: %.*s",
	      json_object_size(line), schema, distinct, (int)(b.len > 400 ? 400 : b.len), b.p);

	for (size_t i = 0; i < nfields; i++) {
		free(keys[i].p);
		json_decref(in[i].json);
		free(in[i].dump);
	}
	free(t.p);
	json_decref(line);
	jlog__buf_finish(&b);
	free(rec);
	for (size_t i = 0; i < s.nowned; i++)
		free(s.owned[i]);
	return 0;
}
