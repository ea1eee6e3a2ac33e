/*
 * Tests of the record layout (lib/record.c): fields written with
 * jlog__field_write() decode back to the same values, truncation keeps
 * UTF-8 boundaries and is flagged, and damaged records are refused without
 * reading outside them. Buffers are allocated at their exact size so that
 * ASan catches any read past the end.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

/*
 * Check records a checkpoint (a write to its log) for every assertion that
 * passes, which dominates loops of many checks. CHECK reports only
 * failures; the fuzz loops use it.
 */
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg(__VA_ARGS__);                            \
	} while (0)

/* A record built by hand, the way the logger builds one. */
struct rec {
	uint8_t *p;
	size_t len;
};

static struct rec build(const char *msg, const char *name, uint32_t callsite,
                        const jlog_field *fields, size_t n, size_t val_cap)
{
	size_t msg_len = strlen(msg), name_len = name ? strlen(name) : 0;
	size_t cap = sizeof(struct jlog__rec_hdr) + msg_len + name_len;
	for (size_t i = 0; i < n; i++)
		cap += jlog__field_size(&fields[i]);

	struct jlog__rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.time_ns = 1795665723123456789ull;
	h.callsite = callsite;
	h.tid = 4243;
	h.msg_len = (uint32_t)msg_len;
	h.nfields = (uint32_t)n;
	h.name_len = (uint16_t)name_len;
	h.level = JLOG_LEVEL_WARNING;
	h.flags = JLOG__REC_TRUNCATED;

	uint8_t *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, &h, sizeof(h));
	uint8_t *p = buf + sizeof(h);
	memcpy(p, msg, msg_len);
	p += msg_len;
	if (name_len)
		memcpy(p, name, name_len);
	p += name_len;
	for (size_t i = 0; i < n; i++)
		p += jlog__field_write(p, &fields[i], val_cap);
	ck_assert_uint_le((size_t)(p - buf), cap);

	/* Shrink to the bytes written so ASan sees the true end. */
	struct rec r = {malloc((size_t)(p - buf)), (size_t)(p - buf)};
	ck_assert_ptr_nonnull(r.p);
	memcpy(r.p, buf, r.len);
	free(buf);
	return r;
}

/* Decode a single-field record and return its field. */
static struct jlog__field_view decode_one(const struct rec *r)
{
	struct jlog__rec_view v;
	struct jlog__field_view f;
	ck_assert(jlog__record_decode(r->p, r->len, &v));
	ck_assert_uint_eq(v.nfields, 1);
	const uint8_t *cur = v.fields;
	ck_assert(jlog__field_next(&v, &cur, &f));
	ck_assert_ptr_eq(cur, v.end);
	return f;
}

/* The decode sets every member of the view (it stores each one itself
 * rather than zeroing the view first): decoded over zero bytes and over
 * 0xff bytes, the views are the same bytes. */
START_TEST(test_decode_sets_every_member)
{
	const jlog_field fields[] = {JLOG_STR("a", "x"), JLOG_INT("b", 7)};
	struct rec r = build("m", "lg", 0, fields, 2, SIZE_MAX);
	for (int with_fv = 0; with_fv < 2; with_fv++) {
		struct jlog__rec_view a, b;
		struct jlog__field_view fa[2], fb[2];
		memset(&a, 0, sizeof(a));
		memset(&b, 0xff, sizeof(b));
		ck_assert(jlog__record_decode_into(r.p, r.len, &a, with_fv ? fa : NULL, 2, NULL));
		ck_assert(jlog__record_decode_into(r.p, r.len, &b, with_fv ? fb : NULL, 2, NULL));
		if (with_fv) {
			ck_assert_ptr_eq(a.fv, fa);
			b.fv = fa; /* the only member that differs by design */
		}
		ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
		ck_assert_uint_eq(a.dropped, 0);
		ck_assert_uint_eq(a.tid, 4243);
	}
	free(r.p);
}
END_TEST

/* A diagnostic field is left out of the decoded fields, whether or not
 * its record says it has one (JLOG__REC_DIAG), and the fields after it
 * keep their order. */
START_TEST(test_decoded_skip_diag)
{
	struct jlog__diag d;
	memset(&d, 0, sizeof(d));
	d.err = 2;
	jlog_field diag;
	memset(&diag, 0, sizeof(diag));
	diag.key = "";
	diag.type = JLOG__T_DIAG;
	diag.len = offsetof(struct jlog__diag, frames);
	diag.v.s = (const char *)&d;
	const jlog_field fields[] = {JLOG_STR("a", "x"), diag, JLOG_INT("b", 7)};
	for (int marked = 0; marked < 2; marked++) {
		struct rec r = build("m", NULL, 0, fields, 3, SIZE_MAX);
		if (marked)
			r.p[offsetof(struct jlog__rec_hdr, flags)] |= JLOG__REC_DIAG;
		struct jlog__rec_view v;
		struct jlog__field_view fv[4];
		ck_assert(jlog__record_decode_into(r.p, r.len, &v, fv, 4, NULL));
		ck_assert_ptr_eq(jlog__rec_decoded(&v), fv);
		ck_assert_uint_eq(v.fv_n, 2);
		ck_assert_uint_eq(fv[0].key_len, 1);
		ck_assert_int_eq(fv[0].key[0], 'a');
		ck_assert_int_eq(fv[1].type, JLOG__T_INT);
		ck_assert_int_eq(fv[1].v.i, 7);
		/* The walk of a plain decode agrees. */
		ck_assert(jlog__record_decode(r.p, r.len, &v));
		const uint8_t *cur = v.fields;
		struct jlog__field_view f;
		size_t n = 0;
		while (jlog__field_next(&v, &cur, &f))
			n++;
		ck_assert_uint_eq(n, 2);
		free(r.p);
	}
}
END_TEST

START_TEST(test_roundtrip_types)
{
	static const char bin[] = "a\0b\n\xff";
	json_t *j = json_pack("{s:[i,f,s,n,b]}", "k", 1, 2.5, "x", 1);
	ck_assert_ptr_nonnull(j);
	double nan_bits;
	uint64_t nan_pattern = 0x7ff8000000000123ull;
	memcpy(&nan_bits, &nan_pattern, 8);
	const jlog_field fields[] = {
		JLOG_STR("s", "hello"),
		JLOG_STRN("bin", bin, sizeof(bin) - 1),
		JLOG_STR("", ""),
		JLOG_STR(NULL, NULL),
		JLOG_INT("imin", INT64_MIN),
		JLOG_INT("imax", INT64_MAX),
		JLOG_UINT("umax", UINT64_MAX),
		JLOG_DOUBLE("negzero", -0.0),
		JLOG_DOUBLE("nan", nan_bits),
		JLOG_DOUBLE("min", DBL_TRUE_MIN),
		JLOG_BOOL("t", 1),
		JLOG_BOOL("f", 0),
		JLOG_NULL("n"),
		JLOG_JSON("j", j),
		JLOG_JSON("jnull", NULL),
	};
	size_t n = sizeof(fields) / sizeof(fields[0]);

	/* Each field writes exactly the bytes jlog__field_size() promised. */
	for (size_t i = 0; i < n; i++) {
		uint8_t *tmp = malloc(jlog__field_size(&fields[i]));
		ck_assert_uint_eq(jlog__field_write(tmp, &fields[i], SIZE_MAX),
		                  jlog__field_size(&fields[i]));
		free(tmp);
	}

	struct rec r = build("the message", "api.db", 0, fields, n, SIZE_MAX);
	struct jlog__rec_view v;
	ck_assert(jlog__record_decode(r.p, r.len, &v));
	ck_assert_uint_eq(v.time_ns, 1795665723123456789ull);
	ck_assert_int_eq(v.level, JLOG_LEVEL_WARNING);
	ck_assert_uint_eq(v.flags, JLOG__REC_TRUNCATED);
	ck_assert_uint_eq(v.tid, 4243);
	ck_assert_uint_eq(v.msg_len, 11);
	ck_assert(memcmp(v.msg, "the message", 11) == 0);
	ck_assert_uint_eq(v.name_len, 6);
	ck_assert(memcmp(v.name, "api.db", 6) == 0);
	ck_assert_ptr_null(v.file);
	ck_assert_ptr_null(v.function);
	ck_assert_int_eq(v.line, 0);
	ck_assert_uint_eq(v.dropped, 0);
	ck_assert_uint_eq(v.nfields, n);
	ck_assert_ptr_eq(v.end, r.p + r.len);

	const uint8_t *cur = v.fields;
	struct jlog__field_view f[sizeof(fields) / sizeof(fields[0])];
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(jlog__field_next(&v, &cur, &f[i]), "field %zu", i);
		ck_assert_uint_eq(f[i].flags, 0);
		ck_assert_uint_eq(f[i].key_len, fields[i].key_len);
		ck_assert(memcmp(f[i].key, fields[i].key, f[i].key_len) == 0);
	}
	ck_assert(!jlog__field_next(&v, &cur, &f[0]));

	ck_assert_int_eq(f[0].type, JLOG__T_STR);
	ck_assert_uint_eq(f[0].val_len, 5);
	ck_assert(memcmp(f[0].v.s, "hello", 5) == 0);
	ck_assert_int_eq(f[1].type, JLOG__T_STR);
	ck_assert_uint_eq(f[1].val_len, sizeof(bin) - 1);
	ck_assert(memcmp(f[1].v.s, bin, sizeof(bin) - 1) == 0);
	ck_assert_int_eq(f[2].type, JLOG__T_STR);
	ck_assert_uint_eq(f[2].val_len, 0);
	ck_assert_int_eq(f[3].type, JLOG__T_NULL);
	ck_assert_int_eq(f[4].type, JLOG__T_INT);
	ck_assert(f[4].v.i == INT64_MIN);
	ck_assert(f[5].v.i == INT64_MAX);
	ck_assert_int_eq(f[6].type, JLOG__T_UINT);
	ck_assert(f[6].v.u == UINT64_MAX);
	ck_assert_int_eq(f[7].type, JLOG__T_DOUBLE);
	ck_assert(f[7].v.d == 0 && signbit(f[7].v.d));
	ck_assert(memcmp(&f[8].v.d, &nan_pattern, 8) == 0);
	ck_assert(f[9].v.d == DBL_TRUE_MIN);
	ck_assert_int_eq(f[10].type, JLOG__T_BOOL);
	ck_assert(f[10].v.b);
	ck_assert(!f[11].v.b);
	ck_assert_int_eq(f[12].type, JLOG__T_NULL);
	ck_assert_uint_eq(f[12].val_len, 0);
	ck_assert_int_eq(f[13].type, JLOG__T_JSON);
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_uint_eq(f[13].val_len, strlen(text));
	ck_assert(memcmp(f[13].v.s, text, strlen(text)) == 0);
	free(text);
	ck_assert_int_eq(f[14].type, JLOG__T_NULL);

	free(r.p);
	json_decref(j);
}
END_TEST

/* Every kind of jansson value is stored as its compact text. */
START_TEST(test_json_values)
{
	json_t *vals[] = {
		json_integer(-42), json_real(0.1), json_string("é\n\""), json_true(),
		json_null(), json_array(), json_object(),
		json_pack("[{s:{s:[]}},f]", "a", "b", 1e300),
	};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		ck_assert_ptr_nonnull(vals[i]);
		jlog_field fl = JLOG_JSON("j", vals[i]);
		struct rec r = build("m", NULL, 0, &fl, 1, SIZE_MAX);
		struct jlog__field_view f = decode_one(&r);
		char *text = json_dumps(vals[i], JSON_COMPACT | JSON_ENCODE_ANY);
		ck_assert_int_eq(f.type, JLOG__T_JSON);
		ck_assert_uint_eq(f.flags, 0);
		ck_assert_uint_eq(f.val_len, strlen(text));
		ck_assert(memcmp(f.v.s, text, f.val_len) == 0);
		ck_assert_uint_eq(jlog__json_dump(vals[i], NULL, 0), strlen(text));
		free(text);
		free(r.p);
		json_decref(vals[i]);
	}
}
END_TEST

/* jansson refuses to serialize a string holding invalid UTF-8 (made with
 * json_stringn_nocheck); the field becomes null rather than bad JSON. */
START_TEST(test_json_failure)
{
	json_t *bad = json_stringn_nocheck("\xff", 1);
	ck_assert_ptr_nonnull(bad);
	ck_assert_uint_eq(jlog__json_dump(bad, NULL, 0), 0);
	jlog_field fl = JLOG_JSON("bad", bad);
	ck_assert_uint_eq(jlog__field_size(&fl), sizeof(struct jlog__field_hdr) + 3);
	struct rec r = build("m", NULL, 0, &fl, 1, SIZE_MAX);
	struct jlog__field_view f = decode_one(&r);
	ck_assert_int_eq(f.type, JLOG__T_NULL);
	ck_assert_uint_eq(f.val_len, 0);
	free(r.p);
	json_decref(bad);
}
END_TEST

/* Keys are kept up to JLOG__MAX_KEY bytes, cut before a character that
 * would straddle the limit. */
START_TEST(test_key_cut)
{
	static const struct {
		const char *tail; /* appended to 'a' * pad */
		size_t pad;
		size_t kept;
	} cases[] = {
		{"", JLOG__MAX_KEY, JLOG__MAX_KEY},
		{"b", JLOG__MAX_KEY, JLOG__MAX_KEY},
		{"\xc3\xa9", JLOG__MAX_KEY - 1, JLOG__MAX_KEY - 1},
		{"\xc3\xa9", JLOG__MAX_KEY - 2, JLOG__MAX_KEY},
		{"\xe2\x82\xac", JLOG__MAX_KEY - 1, JLOG__MAX_KEY - 1},
		{"\xe2\x82\xac", JLOG__MAX_KEY - 2, JLOG__MAX_KEY - 2},
		{"\xf0\x9f\x98\x80", JLOG__MAX_KEY - 3, JLOG__MAX_KEY - 3},
		{"\xf0\x9f\x98\x80", JLOG__MAX_KEY - 1, JLOG__MAX_KEY - 1},
		/* Stray continuation bytes have no character to keep whole. */
		{"\x80\x80\x80\x80\x80", JLOG__MAX_KEY - 2, JLOG__MAX_KEY},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t tl = strlen(cases[i].tail);
		char *key = malloc(cases[i].pad + tl + 1);
		memset(key, 'a', cases[i].pad);
		memcpy(key + cases[i].pad, cases[i].tail, tl + 1);
		jlog_field fl = JLOG_INT(key, 7);
		ck_assert_uint_eq(jlog__field_size(&fl),
		                  sizeof(struct jlog__field_hdr) + cases[i].kept + 8);
		struct rec r = build("m", NULL, 0, &fl, 1, SIZE_MAX);
		struct jlog__field_view f = decode_one(&r);
		ck_assert_msg(f.key_len == cases[i].kept, "case %zu: kept %zu", i, (size_t)f.key_len);
		ck_assert(memcmp(f.key, key, f.key_len) == 0);
		ck_assert(f.v.i == 7);
		free(r.p);
		free(key);
	}
}
END_TEST

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* For every cap, a STR value is cut to the longest prefix that ends on a
 * character boundary, and flagged. */
START_TEST(test_str_truncation)
{
	static const char s[] = "ab\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z\xf0\x9f\x98\x80\xc3\xa9";
	size_t len = sizeof(s) - 1;
	for (size_t cap = 0; cap <= len + 1; cap++) {
		jlog_field fl = JLOG_STRN("k", s, len);
		struct rec r = build("m", NULL, 0, &fl, 1, cap);
		struct jlog__field_view f = decode_one(&r);
		ck_assert_int_eq(f.type, JLOG__T_STR);
		if (cap >= len) {
			ck_assert_uint_eq(f.flags, 0);
			ck_assert_uint_eq(f.val_len, len);
		} else {
			ck_assert_uint_eq(f.flags, JLOG__FIELD_TRUNCATED);
			ck_assert_uint_le(f.val_len, cap);
			/* Ends on a boundary, and no later boundary fits. */
			ck_assert(!is_cont((unsigned char)s[f.val_len]));
			for (size_t k = f.val_len + 1; k <= cap; k++)
				ck_assert_msg(is_cont((unsigned char)s[k]), "cap %zu", cap);
		}
		ck_assert(memcmp(f.v.s, s, f.val_len) == 0);
		free(r.p);
	}
}
END_TEST

/* Invalid bytes are cut wherever the cap falls (the encoder replaces them
 * anyway); only a lead byte whose sequence would be split is held back. */
START_TEST(test_str_truncation_invalid)
{
	static const struct {
		const char *s;
		size_t cap;
		size_t kept;
	} cases[] = {
		{"\x80\x80\x80\x80\x80", 3, 3},
		{"\xff\xff\xff", 1, 1},
		{"a\xc3", 1, 1},
		{"a\xc3", 2, 1}, /* not cut by the cap, so stored whole */
		{"\xe2\x82\x80\x80\x80", 4, 4},
		{"\xf0\x9f\x98", 2, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].s);
		jlog_field fl = JLOG_STRN("k", cases[i].s, len);
		struct rec r = build("m", NULL, 0, &fl, 1, cases[i].cap);
		struct jlog__field_view f = decode_one(&r);
		size_t want = cases[i].cap >= len ? len : cases[i].kept;
		ck_assert_msg(f.val_len == want, "case %zu: %zu", i, (size_t)f.val_len);
		ck_assert_uint_eq(f.flags, cases[i].cap < len ? JLOG__FIELD_TRUNCATED : 0);
		free(r.p);
	}
}
END_TEST

/* A JSON value that does not fit becomes a truncated string holding a
 * prefix of its text, cut on a character boundary. */
START_TEST(test_json_truncation)
{
	json_t *j = json_pack("{s:s,s:[i,i,i]}", "name", "\xc3\xa9\xc3\xa9\xc3\xa9", "list", 1, 2, 3);
	char *text = json_dumps(j, JSON_COMPACT);
	size_t len = strlen(text);
	for (size_t cap = 0; cap <= len; cap++) {
		jlog_field fl = JLOG_JSON("k", j);
		ck_assert_uint_eq(jlog__field_size(&fl), sizeof(struct jlog__field_hdr) + 1 + len);
		struct rec r = build("m", NULL, 0, &fl, 1, cap);
		struct jlog__field_view f = decode_one(&r);
		if (cap == len) {
			ck_assert_int_eq(f.type, JLOG__T_JSON);
			ck_assert_uint_eq(f.flags, 0);
			ck_assert_uint_eq(f.val_len, len);
		} else {
			ck_assert_int_eq(f.type, JLOG__T_STR);
			ck_assert_uint_eq(f.flags, JLOG__FIELD_TRUNCATED | JLOG__FIELD_CUT_JSON);
			ck_assert_uint_le(f.val_len, cap);
			ck_assert_uint_ge(f.val_len + 1, cap);
			ck_assert(!is_cont((unsigned char)text[f.val_len]));
		}
		ck_assert(memcmp(f.v.s, text, f.val_len) == 0);
		free(r.p);
	}
	free(text);
	json_decref(j);
}
END_TEST

/* A registered callsite gives the view its file base name, function and
 * line; an unknown id gives nothing. */
START_TEST(test_callsite)
{
	static jlog_callsite cs = {"/src/app/server.c", "handle", 42, 0};
	uint32_t id = jlog__callsite_id(&cs);
	ck_assert_uint_ne(id, 0);
	struct rec r = build("m", NULL, id, NULL, 0, SIZE_MAX);
	struct jlog__rec_view v;
	ck_assert(jlog__record_decode(r.p, r.len, &v));
	ck_assert_str_eq(v.file, "server.c");
	ck_assert_str_eq(v.function, "handle");
	ck_assert_int_eq(v.line, 42);
	free(r.p);

	r = build("m", NULL, 0x7ffffff0u, NULL, 0, SIZE_MAX);
	ck_assert(jlog__record_decode(r.p, r.len, &v));
	ck_assert_ptr_null(v.file);
	ck_assert_ptr_null(v.function);
	ck_assert_int_eq(v.line, 0);
	free(r.p);
}
END_TEST

/* Where decode_exact() leaves its sum, so the reads are not optimized
 * away. */
static volatile unsigned touched;

/* Decode @len bytes copied into an exact-size buffer; when it succeeds,
 * walk and touch every field, so that ASan sees any stray read. */
static bool decode_exact(const void *bytes, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	CHECK(p != NULL, "out of memory");
	if (len)
		memcpy(p, bytes, len);
	struct jlog__rec_view v;
	bool ok = jlog__record_decode(p, len, &v);
	if (ok) {
		unsigned sum = 0;
		for (size_t i = 0; i < v.msg_len; i++)
			sum += (unsigned char)v.msg[i];
		for (size_t i = 0; i < v.name_len; i++)
			sum += (unsigned char)v.name[i];
		const uint8_t *cur = v.fields;
		struct jlog__field_view f;
		uint32_t n = 0;
		while (jlog__field_next(&v, &cur, &f)) {
			for (size_t i = 0; i < f.key_len; i++)
				sum += (unsigned char)f.key[i];
			if (f.type == JLOG__T_STR || f.type == JLOG__T_JSON)
				for (size_t i = 0; i < f.val_len; i++)
					sum += (unsigned char)f.v.s[i];
			n++;
		}
		CHECK(n == v.nfields, "%u fields of %u", n, v.nfields);
		CHECK(v.end == p + len && cur <= v.end, "fields end past the record");
		/* Only zero slack (left by a value cut short) may follow. */
		for (; cur < v.end; cur++)
			CHECK(*cur == 0, "non-zero bytes after the fields");
		touched += sum;
	}
	free(p);
	return ok;
}

/* A valid two-field record to damage. */
static struct rec sample(void)
{
	const jlog_field fields[] = {JLOG_STR("key", "value"), JLOG_INT("n", 5)};
	return build("msg", "nm", 0, fields, 2, SIZE_MAX);
}

#define HDR sizeof(struct jlog__rec_hdr)
#define FHDR sizeof(struct jlog__field_hdr)

/* Patch a field of the record header or of the first field header. */
#define PATCH_HDR(r, member, value)                                           \
	do {                                                                  \
		struct jlog__rec_hdr h_;                                      \
		memcpy(&h_, (r).p, HDR);                                      \
		h_.member = (value);                                          \
		memcpy((r).p, &h_, HDR);                                      \
	} while (0)
#define FIELD0 (HDR + 3 + 2) /* after "msg" and "nm" */
#define PATCH_FIELD(r, off, member, value)                                    \
	do {                                                                  \
		struct jlog__field_hdr f_;                                    \
		memcpy(&f_, (r).p + (off), FHDR);                             \
		f_.member = (value);                                          \
		memcpy((r).p + (off), &f_, FHDR);                             \
	} while (0)

START_TEST(test_malformed)
{
	struct rec r = sample();
	ck_assert(decode_exact(r.p, r.len));
	size_t field1 = FIELD0 + FHDR + 3 + 5;

	/* Every proper prefix is refused. */
	for (size_t n = 0; n < r.len; n++)
		ck_assert_msg(!decode_exact(r.p, n), "prefix %zu accepted", n);
	/* Trailing zero bytes are the slack a producer leaves when a value
	 * is cut at a character boundary: accepted. Anything else after the
	 * fields is refused. */
	uint8_t *longer = calloc(1, r.len + 3);
	memcpy(longer, r.p, r.len);
	ck_assert(decode_exact(longer, r.len + 3));
	longer[r.len + 2] = 0x41;
	ck_assert(!decode_exact(longer, r.len + 3));
	free(longer);

#define EXPECT_BAD(patch)                                                     \
	do {                                                                  \
		struct rec c_ = {malloc(r.len), r.len};                       \
		memcpy(c_.p, r.p, r.len);                                     \
		patch;                                                        \
		ck_assert_msg(!decode_exact(c_.p, c_.len), "accepted: %s", #patch); \
		free(c_.p);                                                   \
	} while (0)

	EXPECT_BAD(PATCH_HDR(c_, msg_len, UINT32_MAX));
	EXPECT_BAD(PATCH_HDR(c_, msg_len, (uint32_t)r.len));
	EXPECT_BAD(PATCH_HDR(c_, name_len, UINT16_MAX));
	EXPECT_BAD(PATCH_HDR(c_, nfields, 3));
	EXPECT_BAD(PATCH_HDR(c_, nfields, UINT32_MAX));
	EXPECT_BAD(PATCH_HDR(c_, nfields, 1));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, key_len, UINT16_MAX));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, key_len, JLOG__MAX_KEY + 1));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, val_len, UINT32_MAX));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, val_len, 100));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, type, JLOG__T_END));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, type, JLOG__T_JSON + 1));
	EXPECT_BAD(PATCH_FIELD(c_, FIELD0, type, 255));
	EXPECT_BAD(PATCH_FIELD(c_, field1, val_len, 4));
	EXPECT_BAD(PATCH_FIELD(c_, field1, val_len, 9));
	EXPECT_BAD(PATCH_FIELD(c_, field1, type, JLOG__T_BOOL));
	EXPECT_BAD(PATCH_FIELD(c_, field1, type, JLOG__T_NULL));
	EXPECT_BAD(PATCH_FIELD(c_, field1, key_len, 9));
#undef EXPECT_BAD
	free(r.p);

	/* An empty JSON text is not JSON. */
	json_t *j = json_integer(1);
	jlog_field jf = JLOG_JSON("j", j);
	r = build("", NULL, 0, &jf, 1, SIZE_MAX);
	ck_assert(decode_exact(r.p, r.len));
	PATCH_FIELD(r, HDR, val_len, 0);
	uint8_t *cut = malloc(r.len - 1);
	memcpy(cut, r.p, r.len - 1);
	ck_assert(!decode_exact(cut, r.len - 1));
	free(cut);
	free(r.p);
	json_decref(j);

	ck_assert(!jlog__record_decode(NULL, 100, &(struct jlog__rec_view){0}));
}
END_TEST

/* xorshift64*: fast, reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random bytes and randomly damaged valid records never make the decoder
 * read out of bounds (run under ASan to see it), and whatever it accepts
 * iterates to exactly nfields fields. */
START_TEST(test_fuzz)
{
	uint8_t buf[512];
	unsigned accepted = 0;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = (size_t)(rnd() % sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		/* Plausible headers reach the field parser more often. */
		if (len >= HDR && (iter & 1)) {
			struct jlog__rec_hdr h;
			memcpy(&h, buf, HDR);
			h.msg_len %= 16;
			h.name_len %= 16;
			h.nfields %= 8;
			memcpy(buf, &h, HDR);
		}
		accepted += decode_exact(buf, len);
	}

	json_t *j = json_pack("[s,i]", "x\xc3\xa9", 3);
	const jlog_field fields[] = {
		JLOG_STR("a", "hello world"), JLOG_INT("b", -1), JLOG_DOUBLE("c", 0.5),
		JLOG_BOOL("d", 1),            JLOG_NULL("e"),    JLOG_JSON("f", j),
		JLOG_UINT("g", 9),
	};
	struct rec r = build("message", "logger", 0, fields, 7, SIZE_MAX);
	ck_assert(decode_exact(r.p, r.len));
	for (int iter = 0; iter < 100000; iter++) {
		memcpy(buf, r.p, r.len);
		int flips = 1 + (int)(rnd() % 4);
		for (int k = 0; k < flips; k++)
			buf[rnd() % r.len] ^= (uint8_t)(1u << (rnd() % 8));
		size_t len = rnd() % 8 ? r.len : (size_t)(rnd() % (r.len + 1));
		accepted += decode_exact(buf, len);
	}
	/* Some damaged records are still well-formed (a flipped bit in a
	 * value); the point is that nothing crashed. */
	ck_assert_uint_gt(accepted, 0);
	free(r.p);
	json_decref(j);
}
END_TEST

/* A huge number of fields declared in a short record fails fast. */
START_TEST(test_many_fields_declared)
{
	struct rec r = build("m", NULL, 0, NULL, 0, SIZE_MAX);
	PATCH_HDR(r, nfields, UINT32_MAX);
	ck_assert(!decode_exact(r.p, r.len));
	free(r.p);
}
END_TEST

/* A view with no field bytes at all (the writer's drop report) iterates
 * to nothing. */
START_TEST(test_field_next_empty_view)
{
	struct jlog__rec_view v;
	memset(&v, 0, sizeof(v));
	const uint8_t *cur = v.fields;
	struct jlog__field_view f;
	ck_assert(!jlog__field_next(&v, &cur, &f));
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("layout");
	tcase_add_test(tc, test_roundtrip_types);
	tcase_add_test(tc, test_decoded_skip_diag);
	tcase_add_test(tc, test_decode_sets_every_member);
	tcase_add_test(tc, test_json_values);
	tcase_add_test(tc, test_json_failure);
	tcase_add_test(tc, test_key_cut);
	tcase_add_test(tc, test_str_truncation);
	tcase_add_test(tc, test_str_truncation_invalid);
	tcase_add_test(tc, test_json_truncation);
	tcase_add_test(tc, test_callsite);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_many_fields_declared);
	tcase_add_test(tc, test_field_next_empty_view);
	suite_add_tcase(s, tc);
	return s;
}
