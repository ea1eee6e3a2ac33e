/*
 * Scoped thread context: push/pop, nesting, the block-scoped form,
 * snapshots handed to another thread, precedence over bound fields and
 * under call fields, and isolation between threads; context and bound
 * fields (JLOG_WITH) cut or left out mark the line and count.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <errno.h>
#include <pthread.h>

static jlog_logger *open_file(char **path)
{
	*path = tc_tmppath("ctx.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = *path;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	return lg;
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

START_TEST(test_push_pop_nesting)
{
	char *path;
	jlog_logger *lg = open_file(&path);
	JLOG_INFO(lg, "none");
	ck_assert_int_eq(JLOG_CONTEXT_PUSH(JLOG_STR("request_id", "r-1")), 0);
	JLOG_INFO(lg, "one");
	ck_assert_int_eq(JLOG_CONTEXT_PUSH(JLOG_STR("step", "parse"), JLOG_INT("attempt", 2)), 0);
	JLOG_INFO(lg, "two");
	ck_assert_int_eq(jlog_context_pop(), 0);
	JLOG_INFO(lg, "one again");
	ck_assert_int_eq(jlog_context_pop(), 0);
	ck_assert_int_eq(jlog_context_pop(), -ENODATA);
	JLOG_INFO(lg, "none again");
	jlog_close(lg);

	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_ptr_null(json_object_get(l[0], "request_id"));
	ck_assert_str_eq(str_of(l[1], "request_id"), "r-1");
	ck_assert_str_eq(str_of(l[2], "request_id"), "r-1");
	ck_assert_str_eq(str_of(l[2], "step"), "parse");
	ck_assert_int_eq(json_integer_value(json_object_get(l[2], "attempt")), 2);
	ck_assert_str_eq(str_of(l[3], "request_id"), "r-1");
	ck_assert_ptr_null(json_object_get(l[3], "step"));
	ck_assert_ptr_null(json_object_get(l[4], "request_id"));
	tc_free_lines(l, n);
	free(path);
}
END_TEST

/* Bound fields < context < call fields, with no duplicate key. */
START_TEST(test_precedence)
{
	char *path;
	jlog_logger *root = open_file(&path);
	jlog_logger *lg = JLOG_WITH(root, JLOG_STR("a", "bound"), JLOG_STR("b", "bound"),
	                            JLOG_STR("c", "bound"));
	JLOG_CONTEXT_PUSH(JLOG_STR("b", "context"), JLOG_STR("c", "context"));
	JLOG_INFO(lg, "x", JLOG_STR("c", "call"));
	jlog_context_pop();
	jlog_close(lg);
	jlog_close(root);

	size_t n;
	json_t **l = tc_parse_file(path, &n); /* rejects duplicate keys */
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(str_of(l[0], "a"), "bound");
	ck_assert_str_eq(str_of(l[0], "b"), "context");
	ck_assert_str_eq(str_of(l[0], "c"), "call");
	tc_free_lines(l, n);
	free(path);
}
END_TEST

static void scoped(jlog_logger *lg)
{
	JLOG_CONTEXT_SCOPE(JLOG_STR("scope", "inner"));
	JLOG_INFO(lg, "inside");
}

START_TEST(test_scope)
{
	char *path;
	jlog_logger *lg = open_file(&path);
	scoped(lg);
	JLOG_INFO(lg, "outside");
	ck_assert_int_eq(jlog_context_pop(), -ENODATA); /* the scope popped */
	jlog_close(lg);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(str_of(l[0], "scope"), "inner");
	ck_assert_ptr_null(json_object_get(l[1], "scope"));
	tc_free_lines(l, n);
	free(path);
}
END_TEST

struct job {
	jlog_logger *lg;
	jlog_context *ctx;
	bool adopt;
};

static void *pool_thread(void *arg)
{
	struct job *j = arg;
	if (j->adopt)
		ck_assert_int_eq(jlog_context_adopt(j->ctx), 0);
	JLOG_INFO(j->lg, j->adopt ? "job with context" : "job without");
	if (j->adopt)
		ck_assert_int_eq(jlog_context_pop(), 0);
	return NULL;
}

/* A snapshot taken on one thread is adopted on others; a thread that
 * adopts nothing sees nothing of another thread's context. */
START_TEST(test_capture_adopt)
{
	char *path;
	jlog_logger *lg = open_file(&path);
	JLOG_CONTEXT_PUSH(JLOG_STR("request_id", "r-9"));
	JLOG_CONTEXT_PUSH(JLOG_INT("tenant", 7));
	jlog_context *ctx = jlog_context_capture();
	ck_assert_ptr_nonnull(ctx);
	jlog_context_pop();
	jlog_context_pop();

	struct job with = {lg, ctx, true}, without = {lg, NULL, false};
	pthread_t a, b;
	pthread_create(&a, NULL, pool_thread, &with);
	pthread_join(a, NULL);
	pthread_create(&b, NULL, pool_thread, &without);
	pthread_join(b, NULL);
	jlog_context_release(ctx);
	ck_assert_int_eq(jlog_context_adopt(NULL), -EINVAL);
	jlog_close(lg);

	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(str_of(l[0], "message"), "job with context");
	ck_assert_str_eq(str_of(l[0], "request_id"), "r-9");
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "tenant")), 7);
	ck_assert_ptr_null(json_object_get(l[1], "request_id"));
	tc_free_lines(l, n);
	free(path);
}
END_TEST

/* A pop with nothing pushed, and a push over the limit, say so: neither
 * reads as a missing file. */
START_TEST(test_errors_explained)
{
	int rc = jlog_context_pop();
	ck_assert_int_eq(rc, -ENODATA);
	ck_assert_str_eq(jlog_strerror(rc), "no context pushed on this thread");
	ck_assert_str_ne(jlog_strerror(rc), jlog_strerror(-ENOENT));
	ck_assert_str_eq(jlog_last_error(), "jlog_context_pop: nothing pushed on this thread");

	static char big[20000];
	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(JLOG_CONTEXT_PUSH(JLOG_STR("big", big)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "16384 bytes"));
	ck_assert_int_eq(jlog_context_adopt(NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "jlog_context_adopt"));
}
END_TEST

START_TEST(test_limit)
{
	static char big[20000];
	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(JLOG_CONTEXT_PUSH(JLOG_STR("big", big)), -E2BIG);
	ck_assert_int_eq(jlog_context_pop(), -ENODATA); /* nothing was pushed */

	/* A context too large for a logger's records is left out of them. */
	char *path = tc_tmppath("small.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	o.max_record_size = 4096;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	big[3000] = '\0';
	ck_assert_int_eq(JLOG_CONTEXT_PUSH(JLOG_STR("big", big)), 0);
	JLOG_INFO(lg, "kept", JLOG_INT("n", 1));
	jlog_context_pop();
	jlog_stats st;
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.truncated, 1);
	jlog_close(lg);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_null(json_object_get(l[0], "big"));
	ck_assert(json_is_true(json_object_get(l[0], "truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "n")), 1);
	tc_free_lines(l, n);
	free(path);
}
END_TEST

/* Bound fields cut or left out when the child is made: every record of
 * the child and of its children says "truncated":true and counts in
 * stats.truncated, through the fast path and the general one. */
START_TEST(test_bound_truncated)
{
	char *path;
	jlog_logger *lg = open_file(&path);

	/* A 40 KB value: cut to a quarter of max_record_size (64 KiB). */
	size_t big_len = 40000;
	char *big = malloc(big_len + 1);
	memset(big, 'v', big_len);
	big[big_len] = '\0';
	jlog_logger *cut = JLOG_WITH(lg, JLOG_STR("big", big));
	ck_assert_ptr_nonnull(cut);
	jlog_logger *grand = JLOG_WITH(cut, JLOG_INT("g", 1));
	/* 3,000 fields bound in one call: those past the quarter are left
	 * out. */
	size_t nf = 3000;
	jlog_field *fs = calloc(nf, sizeof(*fs));
	char (*keys)[8] = calloc(nf, sizeof(*keys));
	for (size_t i = 0; i < nf; i++) {
		snprintf(keys[i], sizeof(keys[i]), "f%zu", i);
		fs[i] = (jlog_field)JLOG_STR(keys[i], "some value");
	}
	jlog_logger *many = jlog__with(lg, fs, nf);
	ck_assert_ptr_nonnull(many);
	/* A chain of children binding one field each: the later ones find
	 * no room. */
	jlog_logger *chain = lg;
	for (size_t i = 0; i < nf; i++) {
		jlog_logger *next = jlog__with(chain, &fs[i], 1);
		ck_assert_ptr_nonnull(next);
		if (chain != lg)
			jlog_close(chain);
		chain = next;
	}
	jlog_logger *whole = JLOG_WITH(lg, JLOG_STR("small", "s"));

	JLOG_INFO(cut, "fast");                        /* fast path */
	JLOG_INFO(cut, "general", JLOG_JSON("j", NULL)); /* general path */
	JLOG_INFO(grand, "grandchild");
	JLOG_INFO(many, "many");
	JLOG_INFO(chain, "chain");
	JLOG_INFO(whole, "whole");
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);

	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 6);
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(json_is_true(json_object_get(l[i], "truncated")), "line %zu: %s", i,
		              json_string_value(json_object_get(l[i], "message")));
	ck_assert_ptr_null(json_object_get(l[5], "truncated"));
	const char *v = str_of(l[0], "big");
	ck_assert_uint_lt(strlen(v), big_len);
	ck_assert_ptr_nonnull(strstr(v, "\xe2\x80\xa6")); /* the cut is shown */
	ck_assert_ptr_nonnull(json_object_get(l[3], "f0"));
	ck_assert_ptr_null(json_object_get(l[3], "f2999"));
	ck_assert_ptr_nonnull(json_object_get(l[4], "f0"));
	ck_assert_ptr_null(json_object_get(l[4], "f2999"));
	tc_free_lines(l, n);
	ck_assert_uint_eq(st.truncated, 5);

	jlog_close(whole);
	jlog_close(chain);
	jlog_close(many);
	jlog_close(grand);
	jlog_close(cut);
	jlog_close(lg);
	free(keys);
	free(fs);
	free(big);
	free(path);
}
END_TEST

static void *push_and_exit(void *arg)
{
	(void)arg;
	/* Left pushed: freed when the thread exits (valgrind checks). */
	JLOG_CONTEXT_PUSH(JLOG_STR("k", "v"));
	return NULL;
}

START_TEST(test_thread_exit_frees)
{
	pthread_t t;
	pthread_create(&t, NULL, push_and_exit, NULL);
	pthread_join(t, NULL);
	ck_assert_int_eq(jlog_context_pop(), -ENODATA); /* not this thread's */
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("context");
	TCase *tc = tcase_create("context");
	tcase_add_test(tc, test_push_pop_nesting);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_scope);
	tcase_add_test(tc, test_capture_adopt);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_errors_explained);
	tcase_add_test(tc, test_bound_truncated);
	tcase_add_test(tc, test_thread_exit_frees);
	suite_add_tcase(s, tc);
	return s;
}
