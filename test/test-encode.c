/*
 * Tests of the JSON encoder (lib/encode.c). Every line is parsed back with
 * jansson, the oracle; strings are also checked against a reference UTF-8
 * decoder written here from the definition of well-formed UTF-8, rather
 * than from the encoder's code.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <time.h>

/*
 * Check records a checkpoint (a write to its log) for every assertion that
 * passes, which dominates loops of a million checks. CHECK reports only
 * failures; the hot loops use it.
 */
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg(__VA_ARGS__);                            \
	} while (0)

/* test_buf makes realloc() fail on purpose; ASan must return NULL then,
 * as the C library does, instead of aborting. */
#if defined(__SANITIZE_ADDRESS__)
#define JLOG_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JLOG_TEST_ASAN 1
#endif
#endif
#ifdef JLOG_TEST_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

/* xorshift64*: fast and reproducible. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

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
	size_t val_cap;
	uint32_t callsite; /* 0: none */
};

static const struct spec default_spec = {"hello", 5, NULL, JLOG_LEVEL_INFO, 0,
                                         1795665723123456789ull, SIZE_MAX};

/* Build a record the way the logger does and decode it into *v. Returns
 * the record bytes, which *v points into; free() them. */
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
	h.tid = 4243;
	h.callsite = sp->callsite;
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
	return buf;
}

/* Encode a view; the text must be one line ending in its only '\n', with
 * no raw control character anywhere. free() the result. */
static char *encode_view(const struct jlog__rec_view *v, size_t *len)
{
	struct jlog__buf b;
	struct jlog__line_ctx ctx = {.pid = 4242};
	jlog__buf_init(&b);
	jlog__encode_json(&b, v, &ctx);
	CHECK(!b.failed, "out of memory");
	CHECK(b.len > 2 && b.p[b.len - 1] == '\n', "no newline at the end");
	for (size_t i = 0; i + 1 < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];
		CHECK(c >= 0x20 && c != 0x7f, "raw byte 0x%02x at %zu", c, i);
		CHECK(!(c == 0xe2 && i + 2 < b.len && (unsigned char)b.p[i + 1] == 0x80 &&
		        ((unsigned char)b.p[i + 2] & 0xfe) == 0xa8),
		      "raw U+2028/9 at %zu", i);
		CHECK(!(c == 0xc2 && (unsigned char)b.p[i + 1] < 0xa0), "raw C1 control at %zu", i);
	}
	*len = b.len;
	return b.p;
}

/* Parse a line produced by encode_view() as jansson would read it from a
 * log file. */
static json_t *parse_line(const char *text, size_t len)
{
	json_error_t err;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	CHECK(j != NULL, "invalid JSON (%s at %d): %.*s", err.text, err.position,
	      (int)(len > 300 ? 300 : len), text);
	CHECK(json_is_object(j), "not an object");
	return j;
}

static json_t *line_for_view(const struct jlog__rec_view *v)
{
	size_t len;
	char *text = encode_view(v, &len);
	json_t *j = parse_line(text, len);
	free(text);
	return j;
}

static json_t *line_spec(const struct spec *sp, const jlog_field *fields, size_t n)
{
	struct jlog__rec_view v;
	uint8_t *rec = make_record(sp, fields, n, &v);
	json_t *j = line_for_view(&v);
	free(rec);
	return j;
}

static json_t *line_of(const jlog_field *fields, size_t n)
{
	return line_spec(&default_spec, fields, n);
}

/* The text of an encoding helper's output. */
#define BUF_TEXT(call, out)                                                   \
	do {                                                                  \
		struct jlog__buf b_;                                          \
		jlog__buf_init(&b_);                                          \
		call;                                                         \
		CHECK(!b_.failed, "out of memory");                           \
		(out) = strndup(b_.p ? b_.p : "", b_.len);                     \
		jlog__buf_finish(&b_);                                        \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Reference UTF-8 decoder                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Built from the definition rather than from byte ranges: a well-formed
 * sequence is the encoding of a Unicode scalar value, and the maximal
 * subpart of an ill-formed one is its longest prefix that starts some
 * well-formed sequence (or one byte). The prefixes are collected by
 * encoding every scalar value once.
 */
static uint8_t lead_len[256];      /* length of encodings starting with b */
static uint8_t prefix2[1 << 16];   /* two bytes that start an encoding */
static uint8_t prefix3[1 << 21];   /* bitmap: three bytes that start one */

static size_t utf8_encode(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool is_scalar(uint32_t cp)
{
	return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
}

static void ref_init(void)
{
	static bool done;
	if (done)
		return;
	for (uint32_t cp = 0x80; cp <= 0x10ffff; cp++) {
		if (!is_scalar(cp))
			continue;
		unsigned char o[4];
		size_t n = utf8_encode(cp, o);
		lead_len[o[0]] = (uint8_t)n;
		prefix2[o[0] << 8 | o[1]] = 1;
		if (n >= 3) {
			uint32_t k = (uint32_t)o[0] << 16 | (uint32_t)o[1] << 8 | o[2];
			prefix3[k >> 3] |= (uint8_t)(1u << (k & 7));
		}
	}
	done = true;
}

static bool starts_encoding(const unsigned char *s, size_t k)
{
	if (k == 1)
		return lead_len[s[0]] != 0;
	if (k == 2)
		return prefix2[s[0] << 8 | s[1]];
	uint32_t x = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
	return prefix3[x >> 3] >> (x & 7) & 1;
}

/* Whether the @len bytes are the encoding of a scalar value. */
static bool is_encoding(const unsigned char *s, size_t len)
{
	uint32_t cp = s[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	unsigned char o[4];
	return is_scalar(cp) && utf8_encode(cp, o) == len && memcmp(o, s, len) == 0;
}

/*
 * Decode @s into UTF-8 with U+FFFD for each maximal subpart. When @cut is
 * true, a last subpart that is a valid start cut short by the end of @s is
 * dropped instead (what the encoder does for truncated values). @out needs
 * 3n bytes. Returns the output length.
 */
static size_t ref_decode(const unsigned char *s, size_t n, char *out, bool cut)
{
	size_t i = 0, o = 0;
	while (i < n) {
		size_t want = s[i] < 0x80 ? 1 : lead_len[s[i]];
		if (want == 1) {
			out[o++] = (char)s[i++];
			continue;
		}
		if (want != 0 && i + want <= n && is_encoding(s + i, want)) {
			memcpy(out + o, s + i, want);
			o += want;
			i += want;
			continue;
		}
		size_t k = 1;
		if (want != 0)
			while (k + 1 < want && i + k + 1 <= n && starts_encoding(s + i, k + 1))
				k++;
		bool at_end = want != 0 && i + k == n;
		i += k;
		if (cut && at_end)
			break;
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
	}
	return o;
}

/* Encode @s with jlog__json_str (or the _truncated form), parse it back
 * and compare with the reference. */
static void check_string(const char *s, size_t n, bool truncated)
{
	struct jlog__buf b;
	ref_init();
	jlog__buf_init(&b);
	if (truncated)
		jlog__json_str_truncated(&b, s, n);
	else
		jlog__json_str(&b, s, n);
	CHECK(!b.failed, "out of memory");
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];
		CHECK(c >= 0x20 && c != 0x7f, "raw 0x%02x", c);
		CHECK(!(c == 0xe2 && i + 2 < b.len && (unsigned char)b.p[i + 1] == 0x80 &&
		        ((unsigned char)b.p[i + 2] & 0xfe) == 0xa8),
		      "raw U+2028/9");
		CHECK(!(c == 0xc2 && i + 1 < b.len && (unsigned char)b.p[i + 1] < 0xa0),
		      "raw C1 control U+%04X", (unsigned char)b.p[i + 1]);
	}

	json_error_t err;
	json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	CHECK(j != NULL, "invalid JSON string (%s): %.*s", err.text, (int)b.len, b.p);
	CHECK(json_is_string(j), "not a string");

	char *want = malloc(3 * n + 4);
	size_t wn = ref_decode((const unsigned char *)s, n, want, truncated);
	if (truncated) {
		memcpy(want + wn, "\xe2\x80\xa6", 3);
		wn += 3;
	}
	CHECK(json_string_length(j) == wn && memcmp(json_string_value(j), want, wn) == 0,
	      "mismatch for %zu input bytes: got %.*s", n, (int)b.len, b.p);
	free(want);
	json_decref(j);
	jlog__buf_finish(&b);
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                  */
/* ------------------------------------------------------------------------ */

static char *expected_key(const char *k, size_t n);

/* The reference itself, on Unicode's own example (table 3-8) and on the
 * classic overlong and surrogate cases; the encoder must agree. */
START_TEST(test_reference_decoder)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
		 "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d"},
		{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf8\x88\x80\x80\x80",
		 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xe1\x80", "\xef\xbf\xbd"},
		{"\xf0\x9f\x98", "\xef\xbf\xbd"},
		{"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
		{"\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80"},
		{"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
	};
	ref_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);
		char out[64];
		size_t on = ref_decode((const unsigned char *)cases[i].in, n, out, false);
		ck_assert_msg(on == strlen(cases[i].out) && memcmp(out, cases[i].out, on) == 0,
		              "reference, case %zu", i);
		check_string(cases[i].in, n, false);

		/* The encoder's raw output too, not only what jansson makes of
		 * it. */
		char *text;
		BUF_TEXT(jlog__json_str(&b_, cases[i].in, n), text);
		ck_assert_uint_eq(strlen(text), on + 2);
		ck_assert(memcmp(text + 1, cases[i].out, on) == 0);
		free(text);
	}
}
END_TEST

START_TEST(test_escape_table)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{"\"", 1, "\"\\\"\""},
		{"\\", 1, "\"\\\\\""},
		{"\n", 1, "\"\\n\""},
		{"\r", 1, "\"\\r\""},
		{"\t", 1, "\"\\t\""},
		{"\b", 1, "\"\\b\""},
		{"\f", 1, "\"\\f\""},
		{"\0", 1, "\"\\u0000\""},
		{"\x01", 1, "\"\\u0001\""},
		{"\x0b", 1, "\"\\u000b\""},
		{"\x1f", 1, "\"\\u001f\""},
		{"\x7f", 1, "\"\\u007f\""},
		{"\xe2\x80\xa8", 3, "\"\\u2028\""},
		{"\xe2\x80\xa9", 3, "\"\\u2029\""},
		{"\xe2\x80\xa7", 3, "\"\xe2\x80\xa7\""},
		{"\xc2\x80", 2, "\"\\u0080\""},
		{"\xc2\x85", 2, "\"\\u0085\""},
		{"\xc2\x9b[2J", 5, "\"\\u009b[2J\""},
		{"\xc2\x9f", 2, "\"\\u009f\""},
		{"\xc2\xa0", 2, "\"\xc2\xa0\""},
		{"a\xc2\x85" "b\xc2", 5, "\"a\\u0085b\xef\xbf\xbd\""},
		{"/", 1, "\"/\""},
		{"", 0, "\"\""},
		{"a\"b\\c\nd", 7, "\"a\\\"b\\\\c\\nd\""},
		{"\xc3\xa9\xff", 3, "\"\xc3\xa9\xef\xbf\xbd\""},
		{"line1\nline2\r\n{\"injected\":true}", 30,
		 "\"line1\\nline2\\r\\n{\\\"injected\\\":true}\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		BUF_TEXT(jlog__json_str(&b_, cases[i].in, cases[i].n), text);
		ck_assert_str_eq(text, cases[i].out);
		free(text);
		check_string(cases[i].in, cases[i].n, false);
	}
}
END_TEST

/* Every byte value, at every position of a 16-byte string (so each lane of
 * the eight-byte scan sees it), in a value and in a key. */
START_TEST(test_every_byte)
{
	ref_init();
	for (unsigned c = 0; c < 256; c++) {
		for (size_t pos = 0; pos < 16; pos++) {
			char s[16];
			memset(s, 'a', sizeof(s));
			s[pos] = (char)c;
			check_string(s, sizeof(s), false);
			check_string(s, pos + 1, false);
		}

		char s[3] = {'x', (char)c, 'y'};
		char want[16];
		size_t wn = ref_decode((const unsigned char *)s, 3, want, false);
		jlog_field f[] = {JLOG_STRN("v", s, 3), JLOG_STRN(NULL, s, 3)};
		f[1].key = s;
		f[1].key_len = 3;
		json_t *line = line_of(f, 2);
		json_t *v = json_object_get(line, "v");
		ck_assert(json_is_string(v));
		ck_assert_uint_eq(json_string_length(v), wn);
		ck_assert(memcmp(json_string_value(v), want, wn) == 0);
		char *key = expected_key(s, 3);
		v = json_object_get(line, key);
		ck_assert_msg(json_is_string(v), "key with byte 0x%02x", c);
		free(key);
		json_decref(line);
	}
}
END_TEST

/* Append a random piece of text of some kind to @s. */
static size_t random_piece(unsigned char *s)
{
	unsigned char tmp[4];
	uint32_t cp;
	switch (rnd() % 14) {
	case 0: /* printable ASCII run */ {
		size_t n = 1 + rnd() % 20;
		for (size_t i = 0; i < n; i++)
			s[i] = (unsigned char)(0x20 + rnd() % 95);
		return n;
	}
	case 1: /* control, quote, backslash, DEL */ {
		static const unsigned char special[] = {'"', '\\', 0x7f, '\n', 0};
		s[0] = rnd() % 2 ? (unsigned char)(rnd() % 0x20) : special[rnd() % 5];
		return 1;
	}
	case 2: /* two-byte character */
		cp = 0x80 + (uint32_t)(rnd() % (0x800 - 0x80));
		return utf8_encode(cp, s);
	case 3: /* three-byte character, surrogates excluded */
		do
			cp = 0x800 + (uint32_t)(rnd() % (0x10000 - 0x800));
		while (!is_scalar(cp));
		return utf8_encode(cp, s);
	case 4: /* four-byte character */
		cp = 0x10000 + (uint32_t)(rnd() % (0x110000 - 0x10000));
		return utf8_encode(cp, s);
	case 5: /* edges: separators, U+FFFD itself, ends of ranges */ {
		static const uint32_t edges[] = {0x2028, 0x2029, 0xfffd, 0xd7ff, 0xe000,
		                                 0xffff, 0x10ffff, 0x10000, 0x7ff, 0x800, 0x80};
		return utf8_encode(edges[rnd() % 11], s);
	}
	case 6: /* a valid character cut short */ {
		cp = 0x80 + (uint32_t)(rnd() % (0x110000 - 0x80));
		if (!is_scalar(cp))
			cp = 0xe9;
		size_t n = utf8_encode(cp, tmp);
		size_t keep = 1 + rnd() % (n - 1);
		memcpy(s, tmp, keep);
		return keep;
	}
	case 7: /* overlong forms */ {
		cp = (uint32_t)(rnd() % 0x800);
		if (rnd() % 2 || cp < 0x80) {
			cp %= 0x80;
			s[0] = (unsigned char)(0xc0 | cp >> 6);
			s[1] = (unsigned char)(0x80 | (cp & 0x3f));
			return 2;
		}
		s[0] = 0xe0;
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	case 8: /* four-byte overlong */
		cp = (uint32_t)(rnd() % 0x10000);
		s[0] = 0xf0;
		s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[3] = (unsigned char)(0x80 | (cp & 0x3f));
		return 4;
	case 9: /* encoded surrogate */
		cp = 0xd800 + (uint32_t)(rnd() % 0x800);
		s[0] = 0xed;
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	case 10: /* beyond U+10FFFF, and the old five/six-byte leads */
		cp = 0x110000 + (uint32_t)(rnd() % 0xf0000);
		s[0] = (unsigned char)(rnd() % 4 ? 0xf0 | cp >> 18 : 0xf8 + rnd() % 8);
		s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[3] = (unsigned char)(0x80 | (cp & 0x3f));
		return 4;
	case 11: /* stray continuation bytes */ {
		size_t n = 1 + rnd() % 4;
		for (size_t i = 0; i < n; i++)
			s[i] = (unsigned char)(0x80 + rnd() % 0x40);
		return n;
	}
	case 12: /* a lead byte alone */
		s[0] = (unsigned char)(0xc0 + rnd() % 0x40);
		return 1;
	default: /* random bytes */ {
		size_t n = 1 + rnd() % 8;
		for (size_t i = 0; i < n; i++)
			s[i] = (unsigned char)rnd();
		return n;
	}
	}
}

START_TEST(test_random_strings)
{
	ref_init();
	unsigned char s[1024];
	for (int iter = 0, iters = (int)tc_scale(100000, 2000); iter < iters; iter++) {
		size_t n = 0, pieces = rnd() % 24;
		for (size_t k = 0; k < pieces; k++)
			n += random_piece(s + n);
		check_string((const char *)s, n, false);
		check_string((const char *)s, n, true);
	}
}
END_TEST

/* A long string exercises the run copying and the buffer growth. */
START_TEST(test_long_string)
{
	ref_init();
	size_t cap = 1u << 20, n = 0;
	unsigned char *s = malloc(cap + 32);
	while (n < cap)
		n += random_piece(s + n);
	check_string((const char *)s, n, false);
	memset(s, 'a', n);
	check_string((const char *)s, n, false);
	free(s);
}
END_TEST

START_TEST(test_truncated_string)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"abc", "\"abc\xe2\x80\xa6\""},
		{"", "\"\xe2\x80\xa6\""},
		{"ab\xc3", "\"ab\xe2\x80\xa6\""},
		{"ab\xe2\x82", "\"ab\xe2\x80\xa6\""},
		{"ab\xf0\x9f\x98", "\"ab\xe2\x80\xa6\""},
		/* Not a valid start: replaced, not dropped. */
		{"ab\xf0\x80", "\"ab\xef\xbf\xbd\xef\xbf\xbd\xe2\x80\xa6\""},
		{"ab\xc0", "\"ab\xef\xbf\xbd\xe2\x80\xa6\""},
		{"ab\x80", "\"ab\xef\xbf\xbd\xe2\x80\xa6\""},
		{"ab\xc3\xa9", "\"ab\xc3\xa9\xe2\x80\xa6\""},
		{"a\n", "\"a\\n\xe2\x80\xa6\""},
	};
	ref_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		BUF_TEXT(jlog__json_str_truncated(&b_, cases[i].in, strlen(cases[i].in)), text);
		ck_assert_str_eq(text, cases[i].out);
		free(text);
		check_string(cases[i].in, strlen(cases[i].in), true);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

START_TEST(test_integers)
{
	int64_t ints[] = {0, 1, -1, 9, 10, 99, 100, -100, 12345, INT32_MAX, INT32_MIN,
	                  INT64_MAX, INT64_MIN, INT64_MIN + 1};
	uint64_t uints[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000, UINT32_MAX,
	                    UINT64_MAX, UINT64_MAX - 1, 10000000000000000000ull,
	                    (uint64_t)INT64_MAX + 1};
	char want[32], *text;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		BUF_TEXT(jlog__json_int(&b_, ints[i]), text);
		snprintf(want, sizeof(want), "%" PRId64, ints[i]);
		ck_assert_str_eq(text, want);
		free(text);
	}
	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		BUF_TEXT(jlog__json_uint(&b_, uints[i]), text);
		snprintf(want, sizeof(want), "%" PRIu64, uints[i]);
		ck_assert_str_eq(text, want);
		free(text);
	}
	for (int k = 0; k < 20; k++) {
		uint64_t p = 1;
		for (int e = 0; e < k; e++)
			p *= 10;
		for (uint64_t u = p - 1; u <= p + 1; u++) {
			BUF_TEXT(jlog__json_uint(&b_, u), text);
			snprintf(want, sizeof(want), "%" PRIu64, u);
			ck_assert_str_eq(text, want);
			free(text);
		}
	}
	for (int i = 0, iters = (int)tc_scale(100000, 2000); i < iters; i++) {
		uint64_t u = rnd() >> (rnd() % 64);
		int64_t s = (int64_t)(rnd() >> (rnd() % 64)) * (rnd() % 2 ? 1 : -1);
		BUF_TEXT(jlog__json_uint(&b_, u), text);
		snprintf(want, sizeof(want), "%" PRIu64, u);
		CHECK(strcmp(text, want) == 0, "%s != %s", text, want);
		free(text);
		BUF_TEXT(jlog__json_int(&b_, s), text);
		snprintf(want, sizeof(want), "%" PRId64, s);
		CHECK(strcmp(text, want) == 0, "%s != %s", text, want);
		free(text);
	}
}
END_TEST

/* How many strings and keys in @j are @text. */
static int count_text(const json_t *j, const char *text)
{
	int n = 0;
	const char *k;
	json_t *e;
	size_t i;
	if (json_is_string(j))
		return strcmp(json_string_value(j), text) == 0;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, e)
			n += (strcmp(k, text) == 0) + count_text(e, text);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, e)
			n += count_text(e, text);
	}
	return n;
}

/* The C1 controls (NEL, CSI, ...) and DEL are escaped in every part of a
 * line and in every preset, JSON values included (jansson leaves them
 * raw), and read back as the same characters. */
START_TEST(test_c1_controls)
{
	static const char hostile[] = "a\xc2\x85" "b\xc2\x9b[31mc\x7f" "d\xc2\x80\xc2\x9f\xc2\xa0";
	json_t *j = json_pack("{s:[s]}", hostile, hostile);
	const jlog_field fields[] = {
		JLOG_STR("s", hostile),
		JLOG_STR(hostile, "k"),
		JLOG_JSON("j", j),
	};
	struct spec sp = default_spec;
	sp.msg = hostile;
	sp.msg_len = strlen(hostile);
	sp.name = hostile;
	static const enum jlog__preset presets[] = {
		JLOG__PRESET_DEFAULT, JLOG__PRESET_ECS, JLOG__PRESET_GCP,
		JLOG__PRESET_OTEL, JLOG__PRESET_LOGURU,
	};
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, fields, 3, &v);
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		struct jlog__json_opts o;
		struct jlog__line_ctx ctx = {.pid = 4242};
		struct jlog__buf b;
		jlog__json_opts_init(&o);
		o.preset = presets[i];
		jlog__buf_init(&b);
		jlog__encode_preset(&b, &v, &ctx, &o);
		ck_assert(!b.failed && b.len > 0);
		for (size_t k = 0; k + 1 < b.len; k++) {
			unsigned char c = (unsigned char)b.p[k];
			ck_assert_msg(c != 0x7f, "preset %zu: raw DEL", i);
			ck_assert_msg(!(c == 0xc2 && (unsigned char)b.p[k + 1] < 0xa0),
			              "preset %zu: raw C1 U+%04X at %zu: %.*s", i,
			              (unsigned char)b.p[k + 1], k, (int)b.len, b.p);
		}
		ck_assert_msg(memmem(b.p, b.len, "\\u0085", 6) && memmem(b.p, b.len, "\\u009b", 6),
		              "preset %zu: NEL or CSI not escaped", i);
		json_t *line = parse_line(b.p, b.len);
		/* Each preset nests the fields in its own way: the hostile
		 * text must be read back whole wherever it is (message,
		 * logger name, value, key, inside the JSON value). */
		ck_assert_msg(count_text(line, hostile) >= 5, "preset %zu: %d copies", i,
		              count_text(line, hostile));
		json_decref(line);
		jlog__buf_finish(&b);
	}
	free(rec);

	json_t *line = line_of(fields, 3);
	ck_assert_str_eq(json_string_value(json_object_get(line, "s")), hostile);
	ck_assert_str_eq(json_string_value(json_object_get(line, hostile)), "k");
	ck_assert(json_equal(json_object_get(line, "j"), j));
	json_decref(line);
	json_decref(j);
}
END_TEST

/* Every field type through record, encoder and jansson. */
START_TEST(test_field_types)
{
	json_t *obj = json_pack("{s:[i,f,s,n,b,{s:{s:[]}}],s:s}", "list", -7, 2.5, "x\xc3\xa9\n",
	                        1, "deep", "er", "s", "\xe2\x80\xa8");
	json_t *arr = json_pack("[[],{},[[i]]]", 1);
	json_t *scalar = json_string("just a string");
	/* jansson leaves line separators raw; the encoder escapes them. */
	json_t *seps = json_pack("{s:s}", "\xe2\x80\xa9k", "\xe2\x80\xa8\xe2\x80\xa9\xe2\x82\xac");
	const jlog_field fields[] = {
		JLOG_STR("s", "hello"),
		JLOG_STRN("nul", "a\0b", 3),
		JLOG_INT("imin", INT64_MIN),
		JLOG_INT("imax", INT64_MAX),
		JLOG_INT("neg", -1),
		JLOG_UINT("u", (uint64_t)INT64_MAX),
		JLOG_DOUBLE("d", 0.1),
		JLOG_DOUBLE("negzero", -0.0),
		JLOG_DOUBLE("big", 1e300),
		JLOG_DOUBLE("tiny", 5e-324),
		JLOG_DOUBLE("nan", NAN),
		JLOG_DOUBLE("inf", INFINITY),
		JLOG_DOUBLE("ninf", -INFINITY),
		JLOG_BOOL("t", 1),
		JLOG_BOOL("f", 0),
		JLOG_NULL("n"),
		JLOG_STR("nullstr", NULL),
		JLOG_JSON("obj", obj),
		JLOG_JSON("arr", arr),
		JLOG_JSON("scalar", scalar),
		JLOG_JSON("seps", seps),
		JLOG_JSON("none", NULL),
	};
	json_t *line = line_of(fields, sizeof(fields) / sizeof(fields[0]));

	ck_assert_str_eq(json_string_value(json_object_get(line, "s")), "hello");
	json_t *nul = json_object_get(line, "nul");
	ck_assert_uint_eq(json_string_length(nul), 3);
	ck_assert(memcmp(json_string_value(nul), "a\0b", 3) == 0);
	ck_assert(json_integer_value(json_object_get(line, "imin")) == INT64_MIN);
	ck_assert(json_integer_value(json_object_get(line, "imax")) == INT64_MAX);
	ck_assert(json_integer_value(json_object_get(line, "neg")) == -1);
	ck_assert(json_integer_value(json_object_get(line, "u")) == INT64_MAX);
	ck_assert(json_real_value(json_object_get(line, "d")) == 0.1);
	json_t *nz = json_object_get(line, "negzero");
	ck_assert(json_is_real(nz) && json_real_value(nz) == 0 && signbit(json_real_value(nz)));
	ck_assert(json_real_value(json_object_get(line, "big")) == 1e300);
	ck_assert(json_real_value(json_object_get(line, "tiny")) == 5e-324);
	ck_assert(json_is_null(json_object_get(line, "nan")));
	ck_assert(json_is_null(json_object_get(line, "inf")));
	ck_assert(json_is_null(json_object_get(line, "ninf")));
	ck_assert(json_is_true(json_object_get(line, "t")));
	ck_assert(json_is_false(json_object_get(line, "f")));
	ck_assert(json_is_null(json_object_get(line, "n")));
	ck_assert(json_is_null(json_object_get(line, "nullstr")));
	ck_assert(json_equal(json_object_get(line, "obj"), obj));
	ck_assert(json_equal(json_object_get(line, "arr"), arr));
	ck_assert(json_equal(json_object_get(line, "scalar"), scalar));
	ck_assert(json_equal(json_object_get(line, "seps"), seps));
	ck_assert(json_is_null(json_object_get(line, "none")));
	json_decref(line);
	json_decref(obj);
	json_decref(arr);
	json_decref(scalar);
	json_decref(seps);
}
END_TEST

/* jansson's json_int_t cannot hold integers above INT64_MAX, so those are
 * compared as text, and parsed as reals to prove the line is valid. */
START_TEST(test_big_unsigned)
{
	const jlog_field fields[] = {JLOG_UINT("max", UINT64_MAX),
	                             JLOG_UINT("half", (uint64_t)INT64_MAX + 1)};
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&default_spec, fields, 2, &v);
	size_t len;
	char *text = encode_view(&v, &len);
	ck_assert_ptr_nonnull(strstr(text, ",\"max\":18446744073709551615,"));
	ck_assert_ptr_nonnull(strstr(text, ",\"half\":9223372036854775808}\n"));
	json_error_t err;
	json_t *j = json_loadb(text, len, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "%s", err.text);
	ck_assert(json_real_value(json_object_get(j, "max")) == 18446744073709551615.0);
	json_decref(j);
	free(text);
	free(rec);
}
END_TEST

START_TEST(test_double_table)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{0.1, "0.1"},
		{1.5, "1.5"},
		{-1.5, "-1.5"},
		{100.0, "100.0"},
		{0.0, "0.0"},
		{-0.0, "-0.0"},
		{1.0, "1.0"},
		{0.3, "0.3"},
		{0.1 + 0.2, "0.30000000000000004"},
		{1.0 / 3.0, "0.3333333333333333"},
		{2.0 / 3.0, "0.6666666666666666"},
		{1e300, "1e+300"},
		{1e21, "1e+21"},
		{1e15, "1e+15"},
		{1e14, "100000000000000.0"},
		{1e-7, "1e-07"},
		{123456789012345680.0, "1.2345678901234568e+17"},
		{9007199254740992.0, "9007199254740992.0"},
		{5e-324, "5e-324"},
		{1e-310, "1e-310"},
		{DBL_MIN, "2.2250738585072014e-308"},
		{DBL_MAX, "1.7976931348623157e+308"},
		{12.5, "12.5"},
		{NAN, "null"},
		{-NAN, "null"},
		{INFINITY, "null"},
		{-INFINITY, "null"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[32];
		size_t n = jlog__fmt_double(out, cases[i].v);
		ck_assert_uint_eq(n, strlen(out));
		ck_assert_msg(strcmp(out, cases[i].text) == 0, "%.17g: got %s, want %s",
		              cases[i].v, out, cases[i].text);
		char *text;
		BUF_TEXT(jlog__json_double(&b_, cases[i].v), text);
		ck_assert_str_eq(text, cases[i].text);
		free(text);
	}
}
END_TEST

/* The number of significant digits of a formatted double. */
static int sig_digits(const char *s)
{
	char d[32];
	int n = 0;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			d[n++] = *s;
	int lo = 0;
	while (lo < n && d[lo] == '0')
		lo++;
	while (n > lo && d[n - 1] == '0')
		n--;
	return n - lo;
}

/* Random bit patterns (half of the cases) and the small integers and short
 * decimals logs are full of: the text reads back bit-exact through strtod
 * and through jansson, alone and in a line, and has no more significant
 * digits than the shortest %.Ng that reads back. */
START_TEST(test_random_doubles)
{
	int finite = 0, iters = (int)tc_scale(200000, 4000);
	for (int iter = 0; iter < iters; iter++) {
		uint64_t bits = rnd();
		if (iter % 4 == 1) {
			double d = (double)(int64_t)(rnd() % 2000001) - 1000000;
			memcpy(&bits, &d, 8);
		} else if (iter % 4 == 2) {
			double d = (double)(rnd() % 100000) / pow(10, (double)(rnd() % 12));
			memcpy(&bits, &d, 8);
		}
		double v;
		memcpy(&v, &bits, 8);
		char out[32];
		size_t n = jlog__fmt_double(out, v);
		CHECK(n < 32 && n == strlen(out), "length %zu", n);
		if (!isfinite(v)) {
			CHECK(strcmp(out, "null") == 0, "%s", out);
			continue;
		}
		finite++;
		double back = strtod(out, NULL);
		CHECK(memcmp(&back, &v, 8) == 0, "%s does not read back", out);
		CHECK(strchr(out, '.') || strchr(out, 'e'), "%s reads as an integer", out);

		int shortest = 1;
		char ref[40];
		for (;; shortest++) {
			snprintf(ref, sizeof(ref), "%.*g", shortest, v);
			if (strtod(ref, NULL) == v)
				break;
		}
		CHECK(sig_digits(out) == sig_digits(ref), "%s longer than %s", out, ref);

		json_error_t err;
		json_t *j = json_loadb(out, n, JSON_DECODE_ANY, &err);
		CHECK(j != NULL && json_is_real(j), "%s: %s", out, err.text);
		double jv = json_real_value(j);
		CHECK(memcmp(&jv, &v, 8) == 0, "jansson reads %s differently", out);
		json_decref(j);

		if (iter % 8 == 0) {
			jlog_field f = JLOG_DOUBLE("d", v);
			json_t *line = line_of(&f, 1);
			jv = json_real_value(json_object_get(line, "d"));
			CHECK(memcmp(&jv, &v, 8) == 0, "line with %s reads differently", out);
			json_decref(line);
		}
	}
	/* Nine in ten draws are finite. */
	ck_assert_int_gt(finite, iters / 10 * 9);
}
END_TEST

/*
 * jlog__fmt_double() computes its digits itself; its contract is the
 * snprintf() search it replaced (lib/encode.c, fmt_double_printf), copied
 * here as the reference. The tests below compare the two byte for byte.
 */
static size_t ref_fmt_double(char *out, double v)
{
	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	char tmp[48];
	int prec = v != 0 && fabs(v) < DBL_MIN ? 1 : 15;
	for (;; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		double r = strtod(tmp, NULL);
		if (prec == 17 || memcmp(&r, &v, sizeof(r)) == 0)
			break;
	}
	size_t n = 0;
	bool real = false;
	for (const char *t = tmp; *t;) {
		char c = *t;
		if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
			out[n++] = c;
			real |= c == 'e';
			t++;
			continue;
		}
		out[n++] = '.';
		real = true;
		while (*t && !(*t >= '0' && *t <= '9') && *t != 'e')
			t++;
	}
	if (!real) {
		out[n++] = '.';
		out[n++] = '0';
	}
	out[n] = '\0';
	return n;
}

static unsigned long ref_compared;

/* jlog__fmt_double(@v) equals the reference, terminator included. */
static void same_as_ref(double v)
{
	char got[32], want[48];
	memset(got, 'x', sizeof(got));
	size_t n = jlog__fmt_double(got, v);
	size_t wn = ref_fmt_double(want, v);
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	CHECK(n == wn && memcmp(got, want, wn + 1) == 0,
	      "%.17g (0x%016" PRIx64 "): got \"%s\" (%zu), want \"%s\"", v, bits, got, n,
	      want);
	ref_compared++;
}

/* The sign is printed apart from the digits: half the random values are
 * tried negative, the fixed ones both ways. */
static void same_as_ref_signed(double v, uint64_t r)
{
	same_as_ref(r & 1 ? -v : v);
}

static double from_bits(uint64_t bits)
{
	double v;
	memcpy(&v, &bits, sizeof(v));
	return v;
}

/* The double nearest m * 10^e, rounded once (as strtod does). */
static double dec(uint64_t m, int e)
{
	char s[48];
	snprintf(s, sizeof(s), "%" PRIu64 "e%d", m, e);
	return strtod(s, NULL);
}

/* @v and -@v, and a few of their neighbours on each side. */
static void same_as_ref_around(double v, int steps)
{
	double lo = v, hi = v;
	same_as_ref(v);
	same_as_ref(-v);
	for (int i = 0; i < steps; i++) {
		lo = nextafter(lo, -INFINITY);
		hi = nextafter(hi, INFINITY);
		same_as_ref(lo);
		same_as_ref(hi);
		same_as_ref(-lo);
		same_as_ref(-hi);
	}
}

/* Random bit patterns: mostly 17 digits, every exponent, and subnormals. */
START_TEST(test_double_ref_bits)
{
	unsigned long count = tc_scale(1000000, 20000);
	ref_compared = 0;
	for (unsigned long i = 0; i < count; i++)
		same_as_ref(from_bits(rnd()));
	/* Subnormals, whose search starts at one digit, and the bottom of
	 * the normals. */
	for (unsigned long i = 0; i < count / 10; i++) {
		uint64_t r = rnd();
		same_as_ref_signed(from_bits(r >> (r & 63) & ((UINT64_C(1) << 53) - 1)), r >> 7);
	}
	ck_assert_uint_eq(ref_compared, count + count / 10);
}
END_TEST

/* The values logs are made of: counts, money, ratios, latencies, rates,
 * their neighbours, and arithmetic results. */
START_TEST(test_double_ref_human)
{
	static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
	unsigned long count = tc_scale(1200000, 24000);
	ref_compared = 0;
	for (unsigned long i = 0; i < count; i++) {
		uint64_t r = rnd();
		uint64_t m = rnd();
		double v;
		switch (i % 12) {
		case 0: /* integer / 10^k, k = 0..6 */
			v = (double)(m % 100000000) / p10[r % 7];
			break;
		case 1: /* m * 10^e with 1..17 digits */
			v = dec(m % (UINT64_C(1) << (r % 57 + 1)), (int)((r >> 8) % 61) - 30);
			break;
		case 2: /* x.5, x.25, x.125, x.75 */
			v = (double)(m % 1000000) + (double)(r % 8) / 8;
			break;
		case 3: /* money */
			v = (double)(m % 100000000000) / 100;
			break;
		case 4: /* latencies: ms with us, s with ns */
			v = r & 1 ? (double)(m % 10000000) / 1e3 : (double)(m % 100000000000) / 1e9;
			break;
		case 5: /* ratios and averages */
			v = (double)(m % 10000) / (double)(r % 9999 + 1);
			break;
		case 6: /* sums of short decimals (0.1 + 0.2) */
			v = (double)(m % 1000) / 10 + (double)(r % 1000) / 100;
			break;
		case 7: /* one to three ulps off a short decimal */
			v = dec(m % 10000000, (int)(r % 21) - 10);
			for (uint64_t k = r >> 32 & 3; k > 0; k--)
				v = nextafter(v, r >> 40 & 1 ? INFINITY : 0);
			break;
		case 8: /* us timestamps; integers near and above 2^53 */
			v = r & 1 ? (double)(1700000000000000 + m % 100000000000000)
			          : (double)(m >> (r % 16));
			break;
		case 9: /* dyadic fractions: exact ties for %.Ng */
			v = ldexp((double)(m % (UINT64_C(1) << (r % 53 + 1))), (int)((r >> 8) % 140) - 100);
			break;
		case 10: /* percentages, rates, scaled */
			v = (double)(m % 100001) * (r & 1 ? 0.01 : 0.1);
			break;
		default: /* short decimals of any magnitude */
			v = dec(m % 1000, (int)(r % 617) - 308);
			break;
		}
		same_as_ref_signed(v, r >> 63);
	}
	ck_assert_uint_eq(ref_compared, count);
}
END_TEST

/* Powers of ten and two, where the digits change length and where the
 * gap below is half the gap above, and the ends of the range. */
START_TEST(test_double_ref_edges)
{
	for (int e = -30; e <= 30; e++) {
		same_as_ref_around(dec(1, e), 3);
		same_as_ref_around(pow(10, e), 1);
	}
	for (int e = -323; e <= 308; e++) {
		same_as_ref_around(dec(1, e), 2);
		same_as_ref_around(dec(5, e), 1);
		same_as_ref_around(dec(99999999999999999u, e - 17), 1);
	}
	for (int e = -1074; e <= 1023; e++)
		same_as_ref_around(ldexp(1, e), 2);
	static const double edges[] = {
		1e15,      1e-4,       9007199254740992.0, 9007199254740993.0,
		1e16,      1e17,       DBL_MIN,            DBL_MAX,
		DBL_TRUE_MIN, 2 * DBL_TRUE_MIN, DBL_MIN - DBL_TRUE_MIN,
		999999999999999.9, 99999999999999.99, 0.000099999999999999999,
		0.5, 0.25, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 12.5, 99.9, 200.0,
		1234.5678, 1e300, 1e-300, 1.5e-300, 1e21, 1e22, 1e23,
		123456789012345680.0, 18014398509481988.0, 1795665723123455.0,
		2.98023223876953125e-8, /* 2^-25: a tie at 17 digits */
		18446744073709551616.0, 1e18, 1e19, 1e20, 4.75e21, 1.5e22,
		1e-11, 1e-12, /* ends of the exact range */
		0x1p-1017, /* %.16g fails where another 16-digit string reads back */
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		same_as_ref_around(edges[i], 8);
	for (uint64_t f = 0; f < 4096; f++) {
		same_as_ref(from_bits(f));                          /* subnormals */
		same_as_ref(from_bits(UINT64_C(0x000fffffffffffff) - f));
		same_as_ref(from_bits(UINT64_C(0x7fefffffffffffff) - f)); /* DBL_MAX */
		same_as_ref(from_bits(UINT64_C(0x0010000000000000) + f)); /* DBL_MIN */
	}
	same_as_ref(0.0);
	same_as_ref(-0.0);
	same_as_ref(NAN);
	same_as_ref(INFINITY);
	same_as_ref(-INFINITY);
}
END_TEST

/* A decimal comma in the locale must not reach the output. Skipped when
 * the system has no such locale. */
START_TEST(test_double_locale)
{
	static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
	                                      "ru_RU.UTF-8", "de_DE"};
	const char *old = setlocale(LC_NUMERIC, NULL);
	char *saved = strdup(old ? old : "C");
	bool found = false;
	for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]) && !found; i++)
		found = setlocale(LC_NUMERIC, locales[i]) != NULL;
	if (!found) {
		free(saved);
		return;
	}
	char out[32];
	jlog__fmt_double(out, 0.5);
	ck_assert_str_eq(out, "0.5");
	jlog__fmt_double(out, 0.1 + 0.2);
	ck_assert_str_eq(out, "0.30000000000000004");
	jlog__fmt_double(out, 1.5e-300);
	ck_assert_str_eq(out, "1.5e-300");
	/* The reference replaces the decimal comma too. */
	for (int i = 0, iters = (int)tc_scale(10000, 500); i < iters; i++) {
		same_as_ref(from_bits(rnd()));
		same_as_ref((double)(rnd() % 100000) / 100);
	}
	setlocale(LC_NUMERIC, saved);
	free(saved);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

static char *time_text(uint64_t ns)
{
	char *text;
	BUF_TEXT(jlog__json_time(&b_, ns), text);
	return text;
}

/* gmtime_r, the slow and obviously right way. */
static void ref_time(uint64_t ns, char *out, size_t cap)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	CHECK(gmtime_r(&sec, &tm) != NULL, "gmtime_r");
	snprintf(out, cap, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (unsigned)(ns % 1000000000u / 1000u));
}

START_TEST(test_time_known)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{0, "\"1970-01-01T00:00:00.000000Z\""},
		{999, "\"1970-01-01T00:00:00.000000Z\""},
		{1000, "\"1970-01-01T00:00:00.000001Z\""},
		{1709210096789012345ull, "\"2024-02-29T12:34:56.789012Z\""},
		{1795665723123456789ull, "\"2026-11-26T04:02:03.123456Z\""},
		{946684799999999999ull, "\"1999-12-31T23:59:59.999999Z\""},
		{951782400000000000ull, "\"2000-02-29T00:00:00.000000Z\""},
		{2147483648000000000ull, "\"2038-01-19T03:14:08.000000Z\""},
		{4107542400000000000ull, "\"2100-03-01T00:00:00.000000Z\""},
		{13574649599000000000ull, "\"2400-02-29T23:59:59.000000Z\""},
		/* The last instant a uint64_t of ns can hold. */
		{UINT64_MAX, "\"2554-07-21T23:34:33.709551Z\""},
		/* After it, times of 1970's first second (its second wraps). */
		{709551616, "\"1970-01-01T00:00:00.709551Z\""},
		{UINT64_MAX - 1, "\"2554-07-21T23:34:33.709551Z\""},
		{0, "\"1970-01-01T00:00:00.000000Z\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = time_text(cases[i].ns);
		ck_assert_str_eq(text, cases[i].text);
		free(text);
	}
	/* In a line, the time parses as a string. */
	json_t *line = line_of(NULL, 0);
	ck_assert_str_eq(json_string_value(json_object_get(line, "time")),
	                 "2026-11-26T04:02:03.123456Z");
	json_decref(line);
}
END_TEST

/* The per-second cache: consecutive seconds, repeats within a second, jumps
 * back and across days all agree with gmtime_r. */
START_TEST(test_time_cache)
{
	char want[64];
	uint64_t t = 1795665720000000000ull;
	for (int i = 0, iters = (int)tc_scale(200000, 4000); i < iters; i++) {
		uint64_t ns;
		switch (i % 5) {
		case 0:
			t += rnd() % 2000000000u; /* often the next second */
			ns = t;
			break;
		case 1:
			ns = t - t % 1000000000u + rnd() % 1000000000u; /* same second */
			break;
		case 2:
			ns = t - 1000000000u; /* the second before */
			break;
		case 3:
			ns = rnd(); /* anywhere up to 2554 */
			break;
		default:
			ns = t + (rnd() % 1000) * 86400000000000ull; /* days later */
			break;
		}
		char *text = time_text(ns);
		ref_time(ns, want, sizeof(want));
		CHECK(strcmp(text, want) == 0, "%s != %s", text, want);
		free(text);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Lines                                                                    */
/* ------------------------------------------------------------------------ */

/* The keys of an object in order, comma-separated. */
static char *key_order(json_t *obj)
{
	struct jlog__buf b;
	jlog__buf_init(&b);
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *k = json_object_iter_key(it);
		if (b.len)
			jlog__buf_putc(&b, ',');
		jlog__buf_put(&b, k, strlen(k));
	}
	jlog__buf_putc(&b, '\0');
	return b.p;
}

START_TEST(test_schema_order)
{
	const jlog_field fields[] = {JLOG_STR("user", "alice"), JLOG_INT("status", 200)};
	struct spec sp = default_spec;
	sp.name = "api";
	sp.level = JLOG_LEVEL_INFO;
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, fields, 2, &v);
	v.file = "server.c";
	v.line = 42;
	v.function = "handle";
	json_t *line = line_for_view(&v);
	char *order = key_order(line);
	ck_assert_str_eq(order, "time,level,message,logger,file,line,function,pid,tid,user,status");
	ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "INFO");
	ck_assert_str_eq(json_string_value(json_object_get(line, "message")), "hello");
	ck_assert_str_eq(json_string_value(json_object_get(line, "logger")), "api");
	ck_assert_str_eq(json_string_value(json_object_get(line, "file")), "server.c");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "line")), 42);
	ck_assert_str_eq(json_string_value(json_object_get(line, "function")), "handle");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "pid")), 4242);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "tid")), 4243);
	free(order);
	json_decref(line);
	free(rec);

	/* No name, no callsite, truncated: the optional keys come and go. */
	sp = default_spec;
	sp.flags = JLOG__REC_TRUNCATED;
	line = line_spec(&sp, fields, 2);
	order = key_order(line);
	ck_assert_str_eq(order, "time,level,message,pid,tid,truncated,user,status");
	ck_assert(json_is_true(json_object_get(line, "truncated")));
	free(order);
	json_decref(line);
}
END_TEST

/* The writer's drop report is a view with no record behind it. */
START_TEST(test_drop_report)
{
	struct jlog__rec_view v;
	memset(&v, 0, sizeof(v));
	v.time_ns = 1;
	v.level = JLOG_LEVEL_WARNING;
	v.flags = JLOG__REC_SYNTHETIC;
	v.msg = "records dropped";
	v.msg_len = strlen(v.msg);
	v.dropped = 12345;
	json_t *line = line_for_view(&v);
	char *order = key_order(line);
	ck_assert_str_eq(order, "time,level,message,pid,tid,dropped");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "dropped")), 12345);
	ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "WARNING");
	free(order);
	json_decref(line);
}
END_TEST

START_TEST(test_levels)
{
	for (int lvl = 0; lvl < 256; lvl++) {
		struct spec sp = default_spec;
		sp.level = lvl;
		json_t *line = line_spec(&sp, NULL, 0);
		const char *got = json_string_value(json_object_get(line, "level"));
		ck_assert_ptr_nonnull(got);
		const char *name = jlog__level_name(lvl);
		char num[16];
		snprintf(num, sizeof(num), "%d", lvl);
		ck_assert_str_eq(got, name ? name : num);
		json_decref(line);
	}
	ck_assert_str_eq(jlog__level_name(5), "TRACE");
	ck_assert_str_eq(jlog__level_name(10), "DEBUG");
	ck_assert_str_eq(jlog__level_name(20), "INFO");
	ck_assert_str_eq(jlog__level_name(25), "SUCCESS");
	ck_assert_str_eq(jlog__level_name(30), "WARNING");
	ck_assert_str_eq(jlog__level_name(40), "ERROR");
	ck_assert_str_eq(jlog__level_name(50), "CRITICAL");
	ck_assert_ptr_null(jlog__level_name(22));
	struct spec sp = default_spec;
	sp.level = 22;
	json_t *line = line_spec(&sp, NULL, 0);
	ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "22");
	json_decref(line);
	ck_assert_ptr_null(jlog__level_name(-1));
	ck_assert_ptr_null(jlog__level_name(256));
}
END_TEST

/* Messages and logger names are escaped like any string. */
START_TEST(test_hostile_message)
{
	static const char msg[] = "two\nlines\r\"quoted\"\\ \x01\x7f\xff\xe2\x80\xa8\0end";
	struct spec sp = default_spec;
	sp.msg = msg;
	sp.msg_len = sizeof(msg) - 1;
	sp.name = "na\"me\n";
	json_t *line = line_spec(&sp, NULL, 0);
	json_t *m = json_object_get(line, "message");
	char want[256];
	ref_init();
	size_t wn = ref_decode((const unsigned char *)msg, sizeof(msg) - 1, want, false);
	ck_assert_uint_eq(json_string_length(m), wn);
	ck_assert(memcmp(json_string_value(m), want, wn) == 0);
	ck_assert_str_eq(json_string_value(json_object_get(line, "logger")), "na\"me\n");
	json_decref(line);
}
END_TEST

/* Values cut by the record size end in an ellipsis; a JSON value that did
 * not fit becomes a string. */
START_TEST(test_truncated_values)
{
	json_t *big = json_pack("{s:s}", "k", "0123456789");
	const jlog_field fields[] = {JLOG_STR("s", "abcdef\xc3\xa9"), JLOG_JSON("j", big),
	                             JLOG_STR("short", "ab")};
	struct spec sp = default_spec;
	sp.flags = JLOG__REC_TRUNCATED;
	sp.val_cap = 7;
	json_t *line = line_spec(&sp, fields, 3);
	ck_assert_str_eq(json_string_value(json_object_get(line, "s")), "abcdef\xe2\x80\xa6");
	ck_assert_str_eq(json_string_value(json_object_get(line, "j")), "{\"k\":\"0\xe2\x80\xa6");
	ck_assert_str_eq(json_string_value(json_object_get(line, "short")), "ab");
	ck_assert(json_is_true(json_object_get(line, "truncated")));
	json_decref(line);
	json_decref(big);
}
END_TEST

START_TEST(test_reserved_keys)
{
	static const char *const reserved[] = {"time", "level", "message", "logger",
	                                       "file", "line", "function", "pid",
	                                       "tid", "truncated", "dropped"};
	enum { N = sizeof(reserved) / sizeof(reserved[0]) };
	jlog_field fields[N + 2];
	for (size_t i = 0; i < N; i++)
		fields[i] = JLOG_INT(reserved[i], (int64_t)i);
	/* Not reserved: prefixes, other case, the renamed form itself. */
	fields[N] = JLOG_STR("Time", "T");
	fields[N + 1] = JLOG_STR("times", "s");
	json_t *line = line_of(fields, N + 2);
	for (size_t i = 0; i < N; i++) {
		char key[32];
		snprintf(key, sizeof(key), "fields.%s", reserved[i]);
		ck_assert_msg(json_integer_value(json_object_get(line, key)) == (json_int_t)i,
		              "%s", key);
	}
	ck_assert_str_eq(json_string_value(json_object_get(line, "message")), "hello");
	ck_assert_str_eq(json_string_value(json_object_get(line, "Time")), "T");
	ck_assert_str_eq(json_string_value(json_object_get(line, "times")), "s");
	ck_assert_ptr_null(json_object_get(line, "dropped"));
	json_decref(line);
}
END_TEST

START_TEST(test_last_writer_wins)
{
	const jlog_field fields[] = {
		JLOG_INT("a", 1), JLOG_INT("b", 2), JLOG_STR("a", "three"),
		/* A user "fields.time" and a renamed "time" are the same key. */
		JLOG_INT("time", 4), JLOG_INT("fields.time", 5),
		JLOG_INT("fields.pid", 6), JLOG_INT("pid", 7),
		/* Keys that print the same after U+FFFD replacement. */
		JLOG_INT("\x80", 8), JLOG_INT("\xff", 9), JLOG_INT("\xef\xbf\xbd", 10),
		JLOG_INT("z\xc3", 11), JLOG_INT("z\xe2\x82", 12),
		/* A NUL in a key (only possible by hand) prints as U+FFFD. */
		JLOG_INT("n\xff", 13), JLOG_INT("n", 14),
	};
	jlog_field f[sizeof(fields) / sizeof(fields[0])];
	memcpy(f, fields, sizeof(fields));
	f[13].key = "n\0";
	f[13].key_len = 2;
	json_t *line = line_of(f, sizeof(f) / sizeof(f[0]));
	char *order = key_order(line);
	ck_assert_str_eq(order, "time,level,message,pid,tid,b,a,fields.time,fields.pid,"
	                        "\xef\xbf\xbd,z\xef\xbf\xbd,n\xef\xbf\xbd");
	ck_assert_str_eq(json_string_value(json_object_get(line, "a")), "three");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "b")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "fields.time")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "fields.pid")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "\xef\xbf\xbd")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "z\xef\xbf\xbd")), 12);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "n\xef\xbf\xbd")), 14);
	free(order);
	json_decref(line);
}
END_TEST

/* The key a field prints under, computed independently of the encoder. */
static char *expected_key(const char *k, size_t n)
{
	static const char *const reserved[] = {"time", "level", "message", "logger",
	                                       "file", "line", "function", "pid",
	                                       "tid", "truncated", "dropped"};
	char *out = malloc(3 * n + 8);
	size_t o = 0;
	ref_init();
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], k, n) == 0)
			o = (size_t)sprintf(out, "fields.");
	for (size_t i = 0; i < n; i++) {
		/* A NUL cannot be in a jansson key; the encoder replaces it. */
		size_t j = i;
		while (j < n && k[j])
			j++;
		o += ref_decode((const unsigned char *)k + i, j - i, out + o, false);
		if (j < n) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
		i = j;
	}
	out[o] = '\0';
	return out;
}

/* Check a line's fields against "last one wins, in the order of the last
 * occurrences", each field's value being its index. A jansson object
 * serves as the map from printed key to last index. */
static void check_dedup(const jlog_field *fields, size_t n)
{
	json_t *line = line_of(fields, n);
	char **keys = malloc((n ? n : 1) * sizeof(*keys));
	json_t *last = json_object();
	for (size_t i = 0; i < n; i++) {
		keys[i] = expected_key(fields[i].key, fields[i].key_len);
		json_object_set_new(last, keys[i], json_integer((json_int_t)i));
	}

	void *it = json_object_iter(line);
	for (int skip = 0; skip < 5; skip++) /* time ... tid */
		it = json_object_iter_next(line, it);
	for (size_t i = 0; i < n; i++) {
		if (json_integer_value(json_object_get(last, keys[i])) == (json_int_t)i) {
			CHECK(it != NULL, "field %zu missing", i);
			CHECK(strcmp(json_object_iter_key(it), keys[i]) == 0, "field %zu key", i);
			CHECK(json_integer_value(json_object_iter_value(it)) == (json_int_t)i,
			      "field %zu value", i);
			it = json_object_iter_next(line, it);
		}
		free(keys[i]);
	}
	ck_assert_ptr_null(it);
	ck_assert_uint_eq(json_object_size(line), 5 + json_object_size(last));
	free(keys);
	json_decref(last);
	json_decref(line);
}

/* Random records around the switch from pairwise scan to hash table. */
START_TEST(test_dedup_random)
{
	static const char *const pool[] = {"a", "b", "c", "time", "fields.time", "pid",
	                                   "\x80", "\xfe", "\xef\xbf\xbd", "k\n", "",
	                                   "level", "fields.level", "x\"y"};
	ref_init();
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = rnd() % 40;
		jlog_field f[40];
		for (size_t i = 0; i < n; i++)
			f[i] = JLOG_INT(pool[rnd() % (sizeof(pool) / sizeof(pool[0]))], (int64_t)i);
		check_dedup(f, n);
	}
}
END_TEST

/* 10,000 fields, most of them repeated: the line parses with duplicates
 * rejected, keeps the last value of each key, and keeps the order. */
START_TEST(test_dedup_large)
{
	enum { N = 10000 };
	static char keys[N][16];
	static jlog_field f[N];
	ref_init();
	for (size_t i = 0; i < N; i++) {
		if (i % 97 == 0)
			snprintf(keys[i], sizeof(keys[i]), "%s", i % 2 ? "time" : "fields.time");
		else
			snprintf(keys[i], sizeof(keys[i]), "k%zu", i % 1000);
		f[i] = JLOG_INT(keys[i], (int64_t)i);
	}
	check_dedup(f, N);

	/* All distinct. */
	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%zu", i);
		f[i] = JLOG_INT(keys[i], (int64_t)i);
	}
	json_t *line = line_of(f, N);
	ck_assert_uint_eq(json_object_size(line), 5 + N);
	json_decref(line);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Buffer                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_buf)
{
	struct jlog__buf b;
	jlog__buf_init(&b);
	ck_assert(jlog__buf_grow(&b, 1));
	ck_assert_uint_ge(b.cap, 4096);
	for (int i = 0; i < 100000; i++)
		jlog__buf_lit(&b, "0123456789");
	ck_assert(!b.failed);
	ck_assert_uint_eq(b.len, 1000000);
	ck_assert(memcmp(b.p + 999990, "0123456789", 10) == 0);

	/* A request that cannot be met fails cleanly and says so: one whose
	 * size overflows, and one that realloc() refuses (4 EiB on a 64-bit
	 * system; below 2^63, which valgrind would flag as negative). */
	size_t len = b.len;
	ck_assert(!jlog__buf_grow(&b, SIZE_MAX - 10));
	ck_assert(b.failed);
	ck_assert_uint_eq(b.len, len);
	if (sizeof(size_t) >= 8) {
		b.failed = false;
		ck_assert(!jlog__buf_grow(&b, SIZE_MAX / 8));
		ck_assert(b.failed);
		ck_assert_uint_eq(b.len, len);
		/* The buffer is intact and still usable. */
		jlog__buf_lit(&b, "x");
		ck_assert_uint_eq(b.len, len + 1);
		ck_assert(memcmp(b.p + 999990, "0123456789x", 11) == 0);
	}
	jlog__buf_finish(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

/* Lines append to what the buffer already holds. */
START_TEST(test_lines_append)
{
	struct jlog__buf b;
	struct jlog__line_ctx ctx = {.pid = 1};
	jlog__buf_init(&b);
	const jlog_field f = JLOG_STR("k", "v");
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&default_spec, &f, 1, &v);
	for (int i = 0; i < 1000; i++)
		jlog__encode_json(&b, &v, &ctx);
	size_t count;
	json_t **lines = tc_parse_lines_n(b.p, b.len, &count);
	ck_assert_uint_eq(count, 1000);
	ck_assert_str_eq(json_string_value(json_object_get(lines[999], "k")), "v");
	tc_free_lines(lines, count);
	free(rec);
	jlog__buf_finish(&b);
}
END_TEST

static void *encode_on_thread(void *arg)
{
	(void)arg;
	/* Empty keys only: the fresh scratch buffer stays unallocated. */
	const jlog_field f[] = {JLOG_INT("", 1), JLOG_INT("", 2)};
	json_t *line = line_of(f, 2);
	json_int_t a = json_integer_value(json_object_get(line, ""));
	json_decref(line);
	return (void *)(intptr_t)a;
}

/* Each thread gets its own key scratch space, freed when the thread exits
 * (ASan and valgrind report it otherwise). */
/* The encoder keeps a callsite's file/line/function/pid text and its
 * fields' printed keys: lines of one callsite whose keys change from line
 * to line (reserved keys, duplicates, NUL and invalid UTF-8 included)
 * must print their fields exactly as lines without a callsite do. */
START_TEST(test_callsite_cache)
{
	static jlog_callsite cs = {"dir/cache.c", "cached_fn", 77, 0};
	static const char *const pool[] = {"a", "bb", "time", "message", "k\0z", "\xff",
	                                   "dup", "fields.time", "ccccccccccccccccc"};
	static const size_t pool_len[] = {1, 2, 4, 7, 3, 1, 3, 11, 17};
	struct spec with = default_spec, without = default_spec;
	with.callsite = jlog__callsite_id(&cs);
	ck_assert_uint_ne(with.callsite, 0);
	for (int iter = 0; iter < 3000; iter++) {
		jlog_field f[40];
		/* Runs of four lines with the same keys, so that the cache
		 * hits, and a new set of keys for the next run. */
		rng_state = 0x9e3779b97f4a7c15ull * (uint64_t)(iter / 4 + 1);
		size_t n = (size_t)(rnd() % 40);
		for (size_t i = 0; i < n; i++) {
			size_t k = (size_t)(rnd() % 9);
			f[i] = JLOG_INT("", (int64_t)i);
			f[i].key = pool[k];
			f[i].key_len = pool_len[k];
		}
		struct jlog__rec_view v1, v2;
		uint8_t *r1 = make_record(&with, f, n, &v1);
		uint8_t *r2 = make_record(&without, f, n, &v2);
		size_t l1, l2;
		char *e1 = encode_view(&v1, &l1), *e2 = encode_view(&v2, &l2);
		char *t1 = strndup(e1, l1), *t2 = strndup(e2, l2); /* NUL-terminated */
		free(e1);
		free(e2);
		CHECK(t1 && t2, "out of memory");
		const char *s1 = strstr(t1, ",\"pid\":"), *s2 = strstr(t2, ",\"pid\":");
		CHECK(s1 && s2 && strcmp(s1, s2) == 0, "iteration %d: the cached line differs", iter);
		CHECK(strstr(t1, ",\"file\":\"cache.c\",\"line\":77,\"function\":\"cached_fn\""),
		      "callsite: %s", t1);
		json_decref(parse_line(t1, l1));
		free(t1);
		free(t2);
		free(r1);
		free(r2);
	}
}
END_TEST

/*
 * The writer decodes with jlog__record_decode_into(), and the encoder then
 * takes the fields as decoded instead of walking the record again (with
 * the callsite's cached keys, or without). The lines must be the same
 * bytes as from a plain decode, for every mix of keys, types, duplicates
 * and reserved names, and for records with more fields than were kept.
 */
START_TEST(test_decoded_fields)
{
	static jlog_callsite cs = {"dir/decoded.c", "decoded_fn", 12, 0};
	static const char *const pool[] = {"a", "bb", "time", "message", "k\0z", "\xff",
	                                   "dup", "fields.time", "ccccccccccccccccc"};
	static const size_t pool_len[] = {1, 2, 4, 7, 3, 1, 3, 11, 17};
	struct spec sp = default_spec;
	sp.callsite = jlog__callsite_id(&cs);
	ck_assert_uint_ne(sp.callsite, 0);
	for (int iter = 0; iter < 2000; iter++) {
		jlog_field f[40];
		rng_state = 0x2545f4914f6cdd1dull * (uint64_t)(iter / 3 + 1);
		size_t n = (size_t)(rnd() % 40);
		for (size_t i = 0; i < n; i++) {
			size_t k = (size_t)(rnd() % 9);
			switch (rnd() % 5) {
			case 0:
				f[i] = JLOG_INT("", -(int64_t)i * 1000);
				break;
			case 1:
				f[i] = JLOG_STR("", i % 2 ? "plain" : "q\"uote\n");
				break;
			case 2:
				f[i] = JLOG_DOUBLE("", 12.5 * (double)i);
				break;
			case 3:
				f[i] = JLOG_BOOL("", i % 2);
				break;
			default:
				f[i] = JLOG_UINT("", (uint64_t)i * 7);
				break;
			}
			f[i].key = pool[k];
			f[i].key_len = pool_len[k];
		}
		sp.callsite = iter % 2 ? jlog__callsite_id(&cs) : 0;
		struct jlog__rec_view v, w;
		uint8_t *r = make_record(&sp, f, n, &v);
		size_t len = (size_t)(v.end - r);
		/* Room for fewer fields than some records have: those walk. */
		struct jlog__field_view fv[24];
		ck_assert(jlog__record_decode_into(r, len, &w, fv, 24, NULL));
		ck_assert(n > 24 ? jlog__rec_decoded(&w) == NULL : jlog__rec_decoded(&w) == fv);
		size_t l1, l2, l3;
		char *e1 = encode_view(&v, &l1);
		char *e2 = encode_view(&w, &l2); /* keys cached now, with a callsite */
		char *e3 = encode_view(&w, &l3);
		CHECK(l1 == l2 && memcmp(e1, e2, l1) == 0, "iteration %d: %.*s\nagainst %.*s", iter,
		      (int)l2, e2, (int)l1, e1);
		CHECK(l1 == l3 && memcmp(e1, e3, l1) == 0, "iteration %d: cached: %.*s", iter,
		      (int)l3, e3);
		json_t *j = parse_line(e2, l2);
		ck_assert(json_is_object(j));
		json_decref(j);
		free(e1);
		free(e2);
		free(e3);
		free(r);
	}
	/* One call site, the same number of fields, keys that differ only
	 * from the second or the last field on: the fields printed before
	 * the differing key are taken back, and each line has its own keys. */
	static const char *const keysets[][3] = {
		{"user", "status", "path"}, {"user", "status", "route"},
		{"user", "code", "route"},  {"user", "status", "route"},
		{"user", "status", "path"},
	};
	sp.callsite = jlog__callsite_id(&cs);
	for (size_t t = 0; t < 2 * sizeof(keysets) / sizeof(keysets[0]); t++) {
		const char *const *ks = keysets[t % (sizeof(keysets) / sizeof(keysets[0]))];
		jlog_field f3[3] = {JLOG_STR(ks[0], "alice"), JLOG_INT(ks[1], (int64_t)t),
		                    JLOG_STR(ks[2], "/api")};
		struct jlog__rec_view v3, w3;
		uint8_t *r3 = make_record(&sp, f3, 3, &v3);
		struct jlog__field_view fv3[4];
		ck_assert(jlog__record_decode_into(r3, (size_t)(v3.end - r3), &w3, fv3, 4, NULL));
		ck_assert_ptr_eq(jlog__rec_decoded(&w3), fv3);
		size_t l;
		char *e = encode_view(&w3, &l);
		json_t *j3 = parse_line(e, l);
		ck_assert_msg(json_is_object(j3), "line %zu: %.*s", t, (int)l, e);
		/* No key of another line's. */
		static const char *const all[] = {"user", "status", "path", "route", "code"};
		size_t others = 0;
		for (size_t a = 0; a < 5; a++)
			others += json_object_get(j3, all[a]) != NULL;
		ck_assert_uint_eq(others, 3);
		ck_assert_str_eq(json_string_value(json_object_get(j3, ks[0])), "alice");
		ck_assert_int_eq(json_integer_value(json_object_get(j3, ks[1])), (json_int_t)t);
		ck_assert_str_eq(json_string_value(json_object_get(j3, ks[2])), "/api");
		json_decref(j3);
		free(e);
		free(r3);
	}
	/* A view whose fields were replaced (as redaction does) or cut short
	 * (as the network sinks do) walks its own. */
	jlog_field g[3] = {JLOG_INT("a", 1), JLOG_INT("b", 2), JLOG_INT("c", 3)};
	struct jlog__rec_view v;
	uint8_t *r = make_record(&default_spec, g, 3, &v);
	struct jlog__field_view fv[4];
	ck_assert(jlog__record_decode_into(r, (size_t)(v.end - r), &v, fv, 4, NULL));
	ck_assert_ptr_eq(jlog__rec_decoded(&v), fv);
	struct jlog__rec_view cut = v;
	cut.nfields = 1;
	ck_assert_ptr_null(jlog__rec_decoded(&cut));
	json_t *j = line_for_view(&cut);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "a")), 1);
	ck_assert_ptr_null(json_object_get(j, "b"));
	json_decref(j);
	free(r);
}
END_TEST

START_TEST(test_thread_scratch)
{
	for (int i = 0; i < 8; i++) {
		pthread_t t;
		void *ret;
		ck_assert_int_eq(pthread_create(&t, NULL, encode_on_thread, NULL), 0);
		ck_assert_int_eq(pthread_join(t, &ret), 0);
		ck_assert_int_eq((intptr_t)ret, 2);
	}
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("encode");
	TCase *tc = tcase_create("strings");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_reference_decoder);
	tcase_add_test(tc, test_escape_table);
	tcase_add_test(tc, test_every_byte);
	tcase_add_test(tc, test_random_strings);
	tcase_add_test(tc, test_long_string);
	tcase_add_test(tc, test_truncated_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_field_types);
	tcase_add_test(tc, test_c1_controls);
	tcase_add_test(tc, test_big_unsigned);
	tcase_add_test(tc, test_double_table);
	tcase_add_test(tc, test_random_doubles);
	tcase_add_test(tc, test_double_locale);
	suite_add_tcase(s, tc);

	tc = tcase_create("doubles");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_double_ref_bits);
	tcase_add_test(tc, test_double_ref_human);
	tcase_add_test(tc, test_double_ref_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_time_known);
	tcase_add_test(tc, test_time_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_schema_order);
	tcase_add_test(tc, test_drop_report);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_hostile_message);
	tcase_add_test(tc, test_truncated_values);
	tcase_add_test(tc, test_reserved_keys);
	tcase_add_test(tc, test_last_writer_wins);
	tcase_add_test(tc, test_dedup_random);
	tcase_add_test(tc, test_dedup_large);
	tcase_add_test(tc, test_buf);
	tcase_add_test(tc, test_lines_append);
	tcase_add_test(tc, test_thread_scratch);
	tcase_add_test(tc, test_callsite_cache);
	tcase_add_test(tc, test_decoded_fields);
	suite_add_tcase(s, tc);
	return s;
}
