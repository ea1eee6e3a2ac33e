/*
 * Redaction: SHA-256 and HMAC-SHA-256 against the FIPS 180-2 examples and
 * RFC 4231; secrets planted in every place a value comes from (call
 * fields, bound fields, scoped and adopted context, JSON payloads with
 * objects in arrays in objects, the message, string values) and every
 * output byte of every sink, preset and format grepped for them, a crash
 * record's included; the modes (replace, remove, hash: equal values give
 * equal strings, another key other strings); the detectors' false
 * positives; per-sink rules; configuration errors naming the key path.
 */
#include "jlog-private.h"
#include "sha256.h"
#include "test-common.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- SHA-256, HMAC ------------------------------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_sha(const void *msg, size_t n, const char *want)
{
	struct jlog__sha256 s;
	uint8_t d[32];
	char h[65];
	jlog__sha256_init(&s);
	/* In two pieces, so that buffering across updates is exercised. */
	jlog__sha256_update(&s, msg, n / 3);
	jlog__sha256_update(&s, (const char *)msg + n / 3, n - n / 3);
	jlog__sha256_final(&s, d);
	hex(d, 32, h);
	ck_assert_str_eq(h, want);
}

START_TEST(test_sha256_fips)
{
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_sha(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *a = malloc(1000000);
	ck_assert_ptr_nonnull(a);
	memset(a, 'a', 1000000);
	check_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}
END_TEST

static void check_hmac(const void *key, size_t kn, const void *msg, size_t mn, const char *want)
{
	struct jlog__hmac_key k;
	uint8_t d[32];
	char h[65];
	jlog__hmac_key_init(&k, key, kn);
	jlog__hmac(&k, msg, mn, d);
	hex(d, 32, h);
	ck_assert_str_eq(h, want);
}

START_TEST(test_hmac_rfc4231)
{
	uint8_t k[131];
	memset(k, 0x0b, 20);
	check_hmac(k, 20, "Hi There", 8,
	           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
	           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	uint8_t m[50];
	memset(k, 0xaa, 20);
	memset(m, 0xdd, 50);
	check_hmac(k, 20, m, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++)
		k[i] = (uint8_t)(i + 1);
	memset(m, 0xcd, 50);
	check_hmac(k, 25, m, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	memset(k, 0xaa, 131);
	const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	check_hmac(k, 131, t6, strlen(t6),
	           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	const char *t7 = "This is a test using a larger than block-size key and a larger than "
	                 "block-size data. The key needs to be hashed before being used by the "
	                 "HMAC algorithm.";
	check_hmac(k, 131, t7, strlen(t7),
	           "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
END_TEST

/* ---- planted secrets ------------------------------------------------------ */

/* Every planted secret; none may appear in any output. */
static const char *const secrets[] = {
	"zqcall-pw-1",      /* call field "password" */
	"zqcall-Pw-2",      /* call field "PassWord" (case-insensitive) */
	"zqglob-3",         /* call field "session_token" ("*token*") */
	"zqbound-4",        /* JLOG_WITH "api_key_v2" ("api_key*") */
	"zqctx-5",          /* scoped context "X-Auth-Token" */
	"zqadopt-6",        /* adopted context "secret" */
	"zqcard-7",         /* JSON user.card.number */
	"zqcvv-8",          /* JSON user.card.cvv ("cvv" at any depth) */
	"zqdeep-9",         /* JSON items[0].secret ("**.secret") */
	"zqdeep-10",        /* JSON items[1].nested[0].secret */
	"zqbearer11abcdef", /* "Bearer ..." in the message */
	"4111 1111 1111 1111",  /* a card number in the message */
	"AKIAZQAAAAAAAAAAAA12", /* an AWS key id in the message */
	"ghp_zq3456789012345678901234567890123456", /* a GitHub token in a value */
	"zqpem13",          /* inside a PEM private key in a value */
	"zqhdr14abcdefgh",  /* "Bearer ..." in a string value */
	"4012888888881881", /* a card number inside a JSON string */
	"zqmsg-16",         /* call field "msg", printed "fields.msg" by a rename */
	"xoxb-zq12345678-abcdef", /* a Slack token in a JSON string */
	"zqthread-17",      /* the crash record's thread_name */
	"zqcut-18",         /* "password" in a JSON value the record limit cuts */
	"zqcutbound-19",    /* "**.secret" in a cut JSON value of JLOG_WITH */
};
#define NSECRETS (sizeof(secrets) / sizeof(secrets[0]))

static const char redact_rules[] =
	"\"redact\":{\"keys\":[\"password\",\"*token*\",\"api_key*\",\"user.card.number\","
	"\"**.secret\",\"cvv\",\"msg\",\"thread_name\"],\"detect\":[\"bearer\",\"luhn\",\"keys\"]}";

struct adopt_arg {
	jlog_logger *lg;
	jlog_context *ctx;
};

static void *adopt_thread(void *p)
{
	struct adopt_arg *a = p;
	ck_assert_int_eq(jlog_context_adopt(a->ctx), 0);
	JLOG_INFO(a->lg, "adopted", JLOG_STR("where", "pool"));
	jlog_context_pop();
	return NULL;
}

/* Log every planted secret once, in every place; bob and 42 must stay. */
static void plant(jlog_logger *lg)
{
	json_error_t je;
	json_t *u = json_loads("{\"name\":\"bob\",\"card\":{\"number\":\"zqcard-7\","
	                       "\"cvv\":\"zqcvv-8\"}}", 0, &je);
	ck_assert_ptr_nonnull(u);
	json_t *j = json_loads("{\"items\":[{\"id\":42,\"secret\":\"zqdeep-9\"},"
	                       "{\"nested\":[{\"secret\":\"zqdeep-10\",\"ok\":true}]}],"
	                       "\"note\":\"card 4012888888881881 ok\","
	                       "\"chat\":[\"xoxb-zq12345678-abcdef\"]}",
	                       0, &je);
	ck_assert_ptr_nonnull(j);
	JLOG_INFO(lg, "call fields", JLOG_STR("password", "zqcall-pw-1"),
	          JLOG_STR("PassWord", "zqcall-Pw-2"), JLOG_STR("session_token", "zqglob-3"),
	          JLOG_STR("msg", "zqmsg-16"), JLOG_STR("user_name", "bob"));
	jlog_logger *child = JLOG_WITH(lg, JLOG_STR("api_key_v2", "zqbound-4"));
	JLOG_INFO(child, "bound", JLOG_INT("n", 42));
	jlog_close(child);
	JLOG_CONTEXT_PUSH(JLOG_STR("X-Auth-Token", "zqctx-5"));
	JLOG_INFO(lg, "context");
	jlog_context_pop();
	JLOG_CONTEXT_PUSH(JLOG_STR("secret", "zqadopt-6"));
	struct adopt_arg a = {lg, jlog_context_capture()};
	jlog_context_pop();
	ck_assert_ptr_nonnull(a.ctx);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, adopt_thread, &a), 0);
	pthread_join(t, NULL);
	jlog_context_release(a.ctx);
	JLOG_INFO(lg, "json", JLOG_JSON("user", u), JLOG_JSON("payload", j));
	JLOG_INFO(lg, "login with Authorization: Bearer zqbearer11abcdef, card 4111 1111 1111 1111,"
	              " key AKIAZQAAAAAAAAAAAA12");
	JLOG_INFO(lg, "values", JLOG_STR("token_note", "ok"),
	          JLOG_STR("gh", "ghp_zq3456789012345678901234567890123456"),
	          JLOG_STR("pem", "-----BEGIN RSA PRIVATE KEY-----\nzqpem13\n"
	                          "-----END RSA PRIVATE KEY-----"),
	          JLOG_STR("hdr", "Bearer zqhdr14abcdefgh"));
	/* Past max_record_size (64 KiB): the JSON value is cut, and what is
	 * left of it is text in which no member can be told apart. */
	size_t big = 100000;
	char *blob = malloc(big + 1);
	ck_assert_ptr_nonnull(blob);
	memset(blob, 'x', big);
	blob[big] = '\0';
	json_t *cut = json_pack("{s:s,s:s}", "password", "zqcut-18", "blob", blob);
	json_t *cutb = json_pack("{s:{s:s},s:s}", "user", "secret", "zqcutbound-19", "blob", blob);
	ck_assert_ptr_nonnull(cut);
	ck_assert_ptr_nonnull(cutb);
	JLOG_INFO(lg, "cut json", JLOG_JSON("data", cut), JLOG_STR("user_name", "bob"));
	jlog_logger *cut_child = JLOG_WITH(lg, JLOG_JSON("req", cutb));
	JLOG_INFO(cut_child, "cut bound");
	jlog_close(cut_child);
	json_decref(cutb);
	json_decref(cut);
	free(blob);
	json_decref(j);
	json_decref(u);
}

struct capture {
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static void capture_line(const char *line, size_t len, void *user)
{
	struct capture *c = user;
	pthread_mutex_lock(&c->lock);
	c->text = realloc(c->text, c->len + len + 1);
	memcpy(c->text + c->len, line, len);
	c->len += len;
	c->text[c->len] = '\0';
	pthread_mutex_unlock(&c->lock);
}

static void assert_clean(const char *what, const char *text, size_t len)
{
	for (size_t i = 0; i < NSECRETS; i++)
		ck_assert_msg(!memmem(text, len, secrets[i], strlen(secrets[i])),
		              "%s holds the secret \"%s\":\n%.*s", what, secrets[i], (int)len, text);
	ck_assert_msg(memmem(text, len, "[REDACTED]", 10), "%s has no [REDACTED]", what);
	ck_assert_msg(memmem(text, len, "bob", 3), "%s lost an unredacted value", what);
}

#define NOUT 8
static const char *const out_opts[NOUT] = {
	"",
	",\"preset\":\"ecs\"",
	",\"preset\":\"gcp\"",
	",\"preset\":\"otel\"",
	",\"preset\":\"loguru\"",
	",\"serialize\":false",
	",\"keys\":{\"message\":\"msg\"},\"time_format\":\"epoch\"",
	",\"serialize\":false,\"format\":\"{level} {message} {extra}\"",
};

START_TEST(test_every_output)
{
	char *dir = tc_tmppath("x");
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	char doc[8192];
	size_t at = (size_t)snprintf(doc, sizeof(doc), "{%s,\"sinks\":[", redact_rules);
	char paths[NOUT][512];
	for (int i = 0; i < NOUT; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/out%d.log", dir, i);
		at += (size_t)snprintf(doc + at, sizeof(doc) - at, "%s{\"sink\":\"%s\"%s}", i ? "," : "",
		                       paths[i], out_opts[i]);
	}
	snprintf(doc + at, sizeof(doc) - at, "]}");
	jlog_logger *lg = NULL;
	char err[512];
	ck_assert_msg(jlog_open_config_err(&lg, doc, err, sizeof(err)) == 0, "%s", err);
	struct capture cap = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_line;
	so.user = &cap;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	plant(lg);
	ck_assert_int_eq(jlog_close(lg), 0);
	for (int i = 0; i < NOUT; i++) {
		size_t len;
		char *text = tc_slurp(paths[i], &len);
		ck_assert_ptr_nonnull(text);
		assert_clean(paths[i], text, len);
		if (!strstr(out_opts[i], "serialize")) {
			size_t n;
			json_t **lines = tc_parse_lines_n(text, len, &n);
			ck_assert_uint_eq(n, 9);
			tc_free_lines(lines, n);
		}
		free(text);
	}
	assert_clean("the callback", cap.text, cap.len);
	/* What the rules keep is there: the JSON around the redacted
	 * members, other fields. */
	size_t n;
	json_t **lines = tc_parse_lines_n(cap.text, cap.len, &n);
	ck_assert_uint_eq(n, 9);
	json_t *p = json_object_get(lines[4], "payload"), *u = json_object_get(lines[4], "user");
	ck_assert_str_eq(json_string_value(json_object_get(u, "name")), "bob");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(u, "card"), "number")),
	                 "[REDACTED]");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(p, "items"),
	                                                                   0), "id")), 42);
	ck_assert_str_eq(json_string_value(json_object_get(p, "note")), "card [REDACTED] ok");
	ck_assert_str_eq(json_string_value(json_object_get(lines[0], "user_name")), "bob");
	ck_assert_str_eq(json_string_value(json_object_get(lines[0], "password")), "[REDACTED]");
	ck_assert_str_eq(json_string_value(json_object_get(lines[5], "message")),
	                 "login with Authorization: Bearer [REDACTED], card [REDACTED], key [REDACTED]");
	ck_assert_str_eq(json_string_value(json_object_get(lines[6], "token_note")), "[REDACTED]");
	ck_assert_str_eq(json_string_value(json_object_get(lines[6], "pem")), "[REDACTED]");
	/* The cut JSON values are replaced whole; the record says it was
	 * truncated, and its other fields stay. */
	ck_assert_str_eq(json_string_value(json_object_get(lines[7], "data")), "[REDACTED]");
	ck_assert(json_is_true(json_object_get(lines[7], "truncated")));
	ck_assert_str_eq(json_string_value(json_object_get(lines[7], "user_name")), "bob");
	ck_assert_str_eq(json_string_value(json_object_get(lines[8], "req")), "[REDACTED]");
	tc_free_lines(lines, n);
	free(cap.text);
	free(dir);
}
END_TEST

/* ---- modes ----------------------------------------------------------------- */

static jlog_logger *open_capture(const char *doc, struct capture *cap)
{
	jlog_logger *lg = NULL;
	char err[512];
	ck_assert_msg(jlog_open_config_err(&lg, doc, err, sizeof(err)) == 0, "%s", err);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_line;
	so.user = cap;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	return lg;
}

static json_t **run_hash(const char *env, size_t *n, struct capture *cap)
{
	char doc[512];
	snprintf(doc, sizeof(doc),
	         "{\"redact\":{\"keys\":[\"password\",\"**.number\"],\"mode\":\"hash\","
	         "\"hash_key_env\":\"%s\"},\"sinks\":[{\"sink\":\"/dev/null\"}]}", env);
	jlog_logger *lg = open_capture(doc, cap);
	json_t *j = json_pack("{s:{s:s}}", "card", "number", "same-value");
	JLOG_INFO(lg, "a", JLOG_STR("password", "same-value"));
	JLOG_INFO(lg, "b", JLOG_STR("password", "same-value"));
	JLOG_INFO(lg, "c", JLOG_STR("password", "other-value"));
	JLOG_INFO(lg, "d", JLOG_JSON("payload", j), JLOG_INT("password", 7));
	json_decref(j);
	ck_assert_int_eq(jlog_close(lg), 0);
	return tc_parse_lines_n(cap->text, cap->len, n);
}

START_TEST(test_hash_mode)
{
	setenv("JLOG_TEST_HK1", "a hash key of the first kind", 1);
	setenv("JLOG_TEST_HK2", "a hash key of the second kind", 1);
	struct capture c1 = {PTHREAD_MUTEX_INITIALIZER, NULL, 0}, c2 = c1;
	size_t n1, n2;
	json_t **a = run_hash("JLOG_TEST_HK1", &n1, &c1);
	json_t **b = run_hash("JLOG_TEST_HK2", &n2, &c2);
	ck_assert_uint_eq(n1, 4);
	ck_assert_uint_eq(n2, 4);
	ck_assert_ptr_null(strstr(c1.text, "same-value"));
	ck_assert_ptr_null(strstr(c1.text, "other-value"));
	const char *a0 = json_string_value(json_object_get(a[0], "password"));
	const char *a1 = json_string_value(json_object_get(a[1], "password"));
	const char *a2 = json_string_value(json_object_get(a[2], "password"));
	const char *b0 = json_string_value(json_object_get(b[0], "password"));
	ck_assert_ptr_nonnull(a0);
	ck_assert_uint_eq(strlen(a0), 18);
	ck_assert_int_eq(strncmp(a0, "h:", 2), 0);
	ck_assert_str_eq(a0, a1);     /* equal inputs, equal outputs */
	ck_assert_str_ne(a0, a2);     /* other inputs, other outputs */
	ck_assert_str_ne(a0, b0);     /* another key, another output */
	/* The same value inside JSON hashes the same; numbers hash too. */
	json_t *num = json_object_get(json_object_get(json_object_get(a[3], "payload"), "card"),
	                              "number");
	ck_assert_str_eq(json_string_value(num), a0);
	const char *seven = json_string_value(json_object_get(a[3], "password"));
	ck_assert_ptr_nonnull(seven);
	ck_assert_int_eq(strncmp(seven, "h:", 2), 0);
	tc_free_lines(a, n1);
	tc_free_lines(b, n2);
	free(c1.text);
	free(c2.text);
}
END_TEST

START_TEST(test_hash_key_file)
{
	char *path = tc_tmppath("hash.key");
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"redact\":{\"keys\":[\"password\"],\"mode\":\"hash\",\"hash_key_file\":\"%s\"},"
	         "\"sinks\":[{\"sink\":\"/dev/null\"}]}", path);
	struct capture c = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};
	jlog_logger *lg = open_capture(doc, &c);
	JLOG_INFO(lg, "a", JLOG_STR("password", "hunter2"));
	ck_assert_int_eq(jlog_close(lg), 0);
	/* HMAC-SHA-256 of "hunter2" under the file's key, without its
	 * newline: the first 8 bytes. */
	struct jlog__hmac_key k;
	uint8_t d[32];
	char h[65];
	jlog__hmac_key_init(&k, "0123456789abcdef0123456789abcdef", 32);
	jlog__hmac(&k, "hunter2", 7, d);
	hex(d, 8, h);
	char want[96];
	snprintf(want, sizeof(want), "\"password\":\"h:%s\"", h);
	ck_assert_msg(strstr(c.text, want), "no %s in %s", want, c.text);
	free(c.text);
	free(path);
}
END_TEST

START_TEST(test_remove_and_case)
{
	struct capture c = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};
	jlog_logger *lg = open_capture(
		"{\"redact\":{\"keys\":[\"password\",\"a.secret\"],\"mode\":\"remove\","
		"\"case_sensitive\":true},\"sinks\":[{\"sink\":\"/dev/null\"}]}", &c);
	json_t *j = json_pack("{s:s,s:s,s:[{s:s},{s:s}]}", "secret", "zq1", "keep", "yes", "list",
	                      "x", "zq2", "y", "z");
	JLOG_INFO(lg, "r", JLOG_STR("password", "zq3"), JLOG_STR("Password", "shown"),
	          JLOG_JSON("a", j), JLOG_INT("after", 1));
	json_decref(j);
	ck_assert_int_eq(jlog_close(lg), 0);
	size_t n;
	json_t **l = tc_parse_lines_n(c.text, c.len, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_null(json_object_get(l[0], "password"));
	ck_assert_str_eq(json_string_value(json_object_get(l[0], "Password")), "shown");
	json_t *a = json_object_get(l[0], "a");
	ck_assert_ptr_null(json_object_get(a, "secret"));
	ck_assert_str_eq(json_string_value(json_object_get(a, "keep")), "yes");
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "after")), 1);
	ck_assert_ptr_null(strstr(c.text, "zq1"));
	ck_assert_ptr_null(strstr(c.text, "zq3"));
	tc_free_lines(l, n);
	free(c.text);
}
END_TEST

/* One call site (jlog_log() with the same file, line and function) whose
 * records alternate between keys no rule matches and keys one does (of
 * the same length, so that only the bytes tell them apart): a
 * call site seen clean is remembered by its keys, so each record with the
 * secret key is still redacted, whichever came before it, and the clean
 * ones are left as they are. */
START_TEST(test_call_site_keys_change)
{
	struct capture c = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};
	jlog_logger *lg = open_capture("{\"redact\":{\"keys\":[\"password\",\"account_password_x\"]},"
	                               "\"sinks\":[{\"sink\":\"/dev/null\"}]}",
	                               &c);
	static const char *const second[] = {"username", "password", "username", "username",
	                                     "password"};
	/* Keys longer than 16 bytes take another compare (redact.c). */
	static const char *const second_long[] = {"account_username_x", "account_password_x",
	                                          "account_username_x", "account_username_x",
	                                          "account_password_x"};
	for (int i = 0; i < 20; i++) {
		const char *k = i < 10 ? second[i % 5] : second_long[i % 5];
		jlog_field f[2] = {JLOG_STR("id", "x"), JLOG_STR(k, "zq9")};
		jlog_log(lg, JLOG_LEVEL_INFO, "site.c", i < 10 ? 7 : 8, "fn", f, 2, "m");
	}
	ck_assert_int_eq(jlog_close(lg), 0);
	size_t n;
	json_t **l = tc_parse_lines_n(c.text, c.len, &n);
	ck_assert_uint_eq(n, 20);
	for (size_t i = 0; i < n; i++) {
		const char *k = i < 10 ? second[i % 5] : second_long[i % 5];
		const char *want = strstr(k, "password") ? "[REDACTED]" : "zq9";
		ck_assert_msg(strcmp(json_string_value(json_object_get(l[i], k)), want) == 0,
		              "line %zu: %s is %s", i, k, json_string_value(json_object_get(l[i], k)));
	}
	tc_free_lines(l, n);
	free(c.text);
}
END_TEST

/* What the detectors must leave alone. */
START_TEST(test_detector_negatives)
{
	struct capture c = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};
	jlog_logger *lg = open_capture(
		"{\"redact\":{\"detect\":[\"bearer\",\"luhn\",\"keys\"],\"replacement\":\"<x>\"},"
		"\"sinks\":[{\"sink\":\"/dev/null\"}]}", &c);
	static const char *const keep[] = {
		"basic setup of the service",
		"order 4111 1111 1111 1112 failed",   /* not Luhn-valid */
		"id 12345678901234567890123",          /* too long */
		"bearer of bad news",                  /* token too short */
		"AKIA is a prefix only",
		"phone 555-1234",
	};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		JLOG_INFO(lg, keep[i]);
	JLOG_INFO(lg, "Authorization: Basic dXNlcjpwYXNzd29yZA==");
	JLOG_INFO(lg, "card 4111-1111-1111-1111.");
	ck_assert_int_eq(jlog_close(lg), 0);
	size_t n;
	json_t **l = tc_parse_lines_n(c.text, c.len, &n);
	ck_assert_uint_eq(n, sizeof(keep) / sizeof(keep[0]) + 2);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		ck_assert_str_eq(json_string_value(json_object_get(l[i], "message")), keep[i]);
	ck_assert_str_eq(json_string_value(json_object_get(l[n - 2], "message")),
	                 "Authorization: Basic <x>");
	ck_assert_str_eq(json_string_value(json_object_get(l[n - 1], "message")), "card <x>.");
	tc_free_lines(l, n);
	free(c.text);
}
END_TEST

/* A sink's rules add to the logger's, for that sink only. */
START_TEST(test_per_sink)
{
	struct capture a = {PTHREAD_MUTEX_INITIALIZER, NULL, 0}, b = a;
	jlog_logger *lg = open_capture("{\"redact\":{\"keys\":[\"password\"]},"
	                               "\"sinks\":[{\"sink\":\"/dev/null\"}]}", &a);
	const char *const extra[] = {"email"};
	jlog_redact_options ro;
	jlog_redact_options_init(&ro);
	ro.keys = extra;
	ro.nkeys = 1;
	ro.replacement = "***";
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = capture_line;
	so.user = &b;
	so.redact = &ro;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	JLOG_INFO(lg, "r", JLOG_STR("password", "zqp"), JLOG_STR("email", "bob@example.com"));
	ck_assert_int_eq(jlog_close(lg), 0);
	ck_assert_ptr_null(strstr(a.text, "zqp"));
	ck_assert_ptr_nonnull(strstr(a.text, "\"email\":\"bob@example.com\""));
	ck_assert_ptr_null(strstr(b.text, "zqp"));
	ck_assert_ptr_nonnull(strstr(b.text, "\"email\":\"***\""));
	ck_assert_ptr_nonnull(strstr(b.text, "\"password\":\"[REDACTED]\""));
	free(a.text);
	free(b.text);
}
END_TEST

/* jlog_options.redact and its errors. */
START_TEST(test_options_api)
{
	const char *const bad[] = {"ok", ""};
	jlog_redact_options ro;
	jlog_redact_options_init(&ro);
	ro.keys = bad;
	ro.nkeys = 2;
	jlog_options o;
	jlog_options_init(&o);
	o.redact = &ro;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "redact.keys[1]: empty pattern"));
	ro.nkeys = 1;
	ro.mode = JLOG_REDACT_HASH;
	ck_assert_int_eq(jlog_open(&lg, &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "redact.mode"));
	ro.mode = JLOG_REDACT_REPLACE;
	o.sink = "/dev/null";
	o.allow_symlink = true;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	JLOG_INFO(lg, "fine", JLOG_STR("ok", "v"));
	ck_assert_int_eq(jlog_close(lg), 0);
}
END_TEST

static void expect_error(const char *doc, const char *want)
{
	jlog_logger *lg = NULL;
	char err[512] = "";
	ck_assert_int_eq(jlog_open_config_err(&lg, doc, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(lg);
	ck_assert_msg(strstr(err, want), "error \"%s\" does not contain \"%s\"", err, want);
}

START_TEST(test_config_errors)
{
	unsetenv("JLOG_TEST_NO_SUCH_KEY");
	setenv("JLOG_TEST_SHORT_KEY", "short", 1);
	expect_error("{\"redact\":[]}", "redact: expected an object");
	expect_error("{\"redact\":{\"keys\":[\"a\",3]}}", "redact.keys[1]: expected a string");
	expect_error("{\"redact\":{\"keys\":[\"a..b\"]}}",
	             "redact.keys[0]: \"a..b\" has an empty segment");
	expect_error("{\"redact\":{\"mode\":\"blur\"}}", "redact.mode: expected \"replace\"");
	expect_error("{\"redact\":{\"detect\":[\"luhn\",\"ssn\"]}}",
	             "redact.detect[1]: unknown detector \"ssn\"");
	expect_error("{\"redact\":{\"colour\":1}}", "redact.colour: unknown key");
	expect_error("{\"redact\":{\"keys\":[\"a\"],\"mode\":\"hash\"}}",
	             "redact.mode: \"hash\" needs hash_key_file or hash_key_env");
	expect_error("{\"redact\":{\"keys\":[\"a\"],\"mode\":\"hash\","
	             "\"hash_key_env\":\"JLOG_TEST_NO_SUCH_KEY\"}}",
	             "redact.hash_key_env: JLOG_TEST_NO_SUCH_KEY is not set");
	expect_error("{\"redact\":{\"keys\":[\"a\"],\"mode\":\"hash\","
	             "\"hash_key_env\":\"JLOG_TEST_SHORT_KEY\"}}",
	             "redact.hash_key_env: the key has 5 bytes, at least 16");
	expect_error("{\"redact\":{\"keys\":[\"a\"],\"mode\":\"hash\","
	             "\"hash_key_file\":\"/nonexistent/key\"}}",
	             "redact.hash_key_file: cannot open /nonexistent/key");
	expect_error("{\"sinks\":[{\"sink\":\"stderr\"},{\"sink\":\"stderr\","
	             "\"redact\":{\"mode\":\"hide\"}}]}",
	             "sinks[1].redact.mode: expected \"replace\"");
}
END_TEST

/* ---- the crash path ---------------------------------------------------------- */

static jlog__format_fn real_format;
static _Atomic int stuck_seen;

/* The writer stops in its formatter at "stuck": the crash handler then
 * writes the later records itself, redacting them with its own buffers. */
static void stuck_format(const struct jlog_sink *s, struct jlog__buf *b,
                         const struct jlog__rec_view *v, const struct jlog__line_ctx *ctx)
{
	if (v->msg_len == 5 && memcmp(v->msg, "stuck", 5) == 0 && atomic_fetch_add(&stuck_seen, 1) == 0)
		for (;;)
			pause();
	real_format(s, b, v, ctx);
}

static int *volatile null_ptr;

__attribute__((noinline, no_sanitize("undefined", "address"))) static void crash_null(void)
{
	*null_ptr = 1;
}

static void crash_child(const char *path, bool stuck)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGSEGV, SIG_DFL);
	prctl(PR_SET_NAME, "zqthread-17");
	char doc[2048];
	snprintf(doc, sizeof(doc), "{%s,\"sinks\":[{\"sink\":\"%s\"}]}", redact_rules, path);
	jlog_logger *lg = NULL;
	if (jlog_open_config_err(&lg, doc, NULL, 0) != 0)
		_exit(80);
	if (jlog_install_crash_handler() != 0)
		_exit(81);
	if (stuck) {
		real_format = jlog__first_sink(lg->core)->format;
		jlog__first_sink(lg->core)->format = stuck_format;
		JLOG_INFO(lg, "stuck");
	}
	plant(lg);
	while (stuck && !atomic_load(&stuck_seen))
		sched_yield();
	crash_null();
	_exit(99);
}

/* ThreadSanitizer runs signal handlers from its own, with the signal
 * blocked: the crash handler's protocol does not hold there (test-crash.c
 * is not run under it either). */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static void check_crash(bool stuck)
{
#ifdef UNDER_TSAN
	fprintf(stderr, "crash test skipped under ThreadSanitizer\n");
	return;
#endif
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		fprintf(stderr, "crash test skipped under valgrind\n");
		return;
	}
	char *path = tc_tmppath("crash.log");
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		crash_child(path, stuck);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %d", status);
	size_t len;
	char *text = tc_slurp(path, &len);
	ck_assert_ptr_nonnull(text);
	assert_clean("the crash log", text, len);
	size_t n;
	json_t **l = tc_parse_lines_n(text, len, &n);
	ck_assert_uint_eq(n, 9 + 1 + (stuck ? 1 : 0));
	json_t *last = l[n - 1];
	ck_assert_str_eq(json_string_value(json_object_get(last, "message")), "fatal signal");
	ck_assert_str_eq(json_string_value(json_object_get(last, "thread_name")), "[REDACTED]");
	tc_free_lines(l, n);
	free(text);
	free(path);
}

START_TEST(test_crash_record)
{
	check_crash(false);
}
END_TEST

START_TEST(test_crash_fallback)
{
	check_crash(true);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");
	tcase_add_test(tc, test_sha256_fips);
	tcase_add_test(tc, test_hmac_rfc4231);
	tcase_add_test(tc, test_every_output);
	tcase_add_test(tc, test_hash_mode);
	tcase_add_test(tc, test_hash_key_file);
	tcase_add_test(tc, test_remove_and_case);
	tcase_add_test(tc, test_call_site_keys_change);
	tcase_add_test(tc, test_detector_negatives);
	tcase_add_test(tc, test_per_sink);
	tcase_add_test(tc, test_options_api);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_crash_record);
	tcase_add_test(tc, test_crash_fallback);
	suite_add_tcase(s, tc);
	return s;
}
