/* jlog-pretty's parts (tools/pretty-*.c): the JSON parser, the mapping of
 * each logger's shape to a record, levels, times and the --where filter.
 * The program itself is tested by pretty-cli.sh and pretty-tmux.sh. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pretty.h"
#include "test-common.h"

static struct pj_doc doc;
static struct pretty_rec rec;

static void teardown(void)
{
	pj_free(&doc);
	pretty_rec_free(&rec);
}

/* Parse and map @line; the record must be one. */
static void map(const char *line)
{
	ck_assert_int_eq(pj_parse(&doc, line, strlen(line)), 0);
	ck_assert(pretty_map(&doc, &rec));
}

static const struct pj_node *extra(const char *key)
{
	for (size_t i = 0; i < rec.nex; i++)
		if (rec.ex[i].key_len == strlen(key) && memcmp(rec.ex[i].key, key, rec.ex[i].key_len) == 0)
			return rec.ex[i].v;
	return NULL;
}

static void ck_text(const char *s, size_t n, const char *want)
{
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(memcmp(s, want, n) == 0);
}

/* 2026-11-26T04:02:03Z */
#define T0 1795665723ull

START_TEST(json_values)
{
	const char *l = "{\"s\":\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\",\"i\":-42,\"u\":18446744073709551615,"
	                "\"d\":1.5e3,\"t\":true,\"f\":false,\"z\":null,\"o\":{\"a\":[1, {}]},"
	                "\"lone\":\"\\ud800x\"}";
	ck_assert_int_eq(pj_parse(&doc, l, strlen(l)), 0);
	const struct pj_node *root = &doc.n[0];
	ck_assert_int_eq(root->type, PJ_OBJ);
	const struct pj_node *s = pj_get(&doc, root, "s");
	ck_assert_int_eq(s->type, PJ_STR);
	ck_text(s->s, s->len, "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80\n");
	const struct pj_node *i = pj_get(&doc, root, "i");
	ck_assert(i->is_int && !i->is_uint);
	ck_assert_int_eq(i->i, -42);
	const struct pj_node *u = pj_get(&doc, root, "u");
	ck_assert(u->is_uint);
	ck_assert_uint_eq(u->u, UINT64_MAX);
	const struct pj_node *d = pj_get(&doc, root, "d");
	ck_assert(!d->is_int);
	ck_assert(d->d == 1500.0);
	ck_assert(pj_get(&doc, root, "t")->b);
	ck_assert_int_eq(pj_get(&doc, root, "f")->type, PJ_BOOL);
	ck_assert(!pj_get(&doc, root, "f")->b);
	ck_assert_int_eq(pj_get(&doc, root, "z")->type, PJ_NULL);
	const struct pj_node *o = pj_get(&doc, root, "o");
	ck_assert_int_eq(o->type, PJ_OBJ);
	ck_text(o->s, o->len, "{\"a\":[1, {}]}");
	const struct pj_node *lone = pj_get(&doc, root, "lone");
	ck_text(lone->s, lone->len, "\xef\xbf\xbdx");
	ck_assert_ptr_null(pj_get(&doc, root, "missing"));
}
END_TEST

/* Short decimals take a path of their own; it must agree with strtod. */
START_TEST(json_decimals)
{
	char line[64], num[40];
	unsigned long seed = 12345;
	for (int k = 0; k < 20000; k++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		int ip = (int)(seed >> 33) % 100000, fd = 1 + (int)((seed >> 20) % 10);
		unsigned long fr = (seed >> 8) % 10000000000ul;
		snprintf(num, sizeof(num), "%s%d.%0*lu", k % 3 ? "" : "-", ip, fd, fr % 1000000000ul);
		snprintf(line, sizeof(line), "{\"v\":%s}", num);
		ck_assert_int_eq(pj_parse(&doc, line, strlen(line)), 0);
		const struct pj_node *v = pj_get(&doc, &doc.n[0], "v");
		ck_assert_msg(v->d == strtod(num, NULL), "%s: %.17g", num, v->d);
	}
}
END_TEST

START_TEST(json_invalid)
{
	static const char *const bad[] = {
		"", "plain text", "[1,2]", "\"str\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}", "{\"a\":\"x}", "{\"a\":\"\\q\"}",
		"{\"a\":1} x", "{\"a\":\"\\u12\"}", "{'a':1}",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		ck_assert_msg(pj_parse(&doc, bad[k], strlen(bad[k])) == -EINVAL, "accepted: %s", bad[k]);
	/* Deep nesting is refused, not a stack overflow. */
	char deep[400];
	strcpy(deep, "{\"a\":");
	for (int k = 0; k < 100; k++)
		strcat(deep, "[");
	ck_assert_int_eq(pj_parse(&doc, deep, strlen(deep)), -EINVAL);
}
END_TEST

START_TEST(levels)
{
	ck_assert_int_eq(pretty_level_from_name("WARNING", 7), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(pretty_level_from_name("warn", 4), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(pretty_level_from_name("dpanic", 6), JLOG_LEVEL_CRITICAL);
	ck_assert_int_eq(pretty_level_from_name("fatal", 5), JLOG_LEVEL_CRITICAL);
	ck_assert_int_eq(pretty_level_from_name("NOTICE", 6), JLOG_LEVEL_SUCCESS);
	ck_assert_int_eq(pretty_level_from_name("INFO+2", 6), JLOG_LEVEL_INFO);
	ck_assert_int_eq(pretty_level_from_name("DEBUG-4", 7), JLOG_LEVEL_DEBUG);
	ck_assert_int_eq(pretty_level_from_name("22", 2), 22);
	ck_assert_int_eq(pretty_level_from_name("nope", 4), -EINVAL);
	ck_assert_int_eq(pretty_level_from_name("off", 3), -EINVAL);
	ck_assert_int_eq(pretty_level_from_pino(10), JLOG_LEVEL_TRACE);
	ck_assert_int_eq(pretty_level_from_pino(30), JLOG_LEVEL_INFO);
	ck_assert_int_eq(pretty_level_from_pino(35), JLOG_LEVEL_INFO);
	ck_assert_int_eq(pretty_level_from_pino(40), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(pretty_level_from_pino(60), JLOG_LEVEL_CRITICAL);
	ck_assert_int_eq(pretty_level_from_otel(9), JLOG_LEVEL_INFO);
	ck_assert_int_eq(pretty_level_from_otel(10), JLOG_LEVEL_SUCCESS);
	ck_assert_int_eq(pretty_level_from_otel(13), JLOG_LEVEL_WARNING);
	ck_assert_int_eq(pretty_level_from_otel(17), JLOG_LEVEL_ERROR);
	ck_assert_int_eq(pretty_level_from_otel(21), JLOG_LEVEL_CRITICAL);
}
END_TEST

START_TEST(times)
{
	uint64_t ns;
	ck_assert(pretty_parse_rfc3339("2026-11-26T04:02:03Z", 20, &ns));
	ck_assert_uint_eq(ns, T0 * 1000000000ull);
	ck_assert(pretty_parse_rfc3339("2026-11-26T05:02:03.5+01:00", 27, &ns));
	ck_assert_uint_eq(ns, T0 * 1000000000ull + 500000000ull);
	ck_assert(pretty_parse_rfc3339("2026-11-26 04:02:03.123456789-0130", 34, &ns));
	ck_assert_uint_eq(ns, (T0 + 5400) * 1000000000ull + 123456789ull);
	ck_assert(pretty_parse_rfc3339("2026-11-26T04:02:03", 19, &ns)); /* no zone: UTC */
	/* January, February and a leap day: the days before March. */
	ck_assert(pretty_parse_rfc3339("1970-01-01T00:00:01Z", 20, &ns));
	ck_assert_uint_eq(ns, 1000000000ull);
	ck_assert(pretty_parse_rfc3339("2024-02-29T00:00:00Z", 20, &ns));
	ck_assert_uint_eq(ns, 1709164800ull * 1000000000ull);
	ck_assert(pretty_parse_rfc3339("2000-03-01T00:00:00Z", 20, &ns));
	ck_assert_uint_eq(ns, 951868800ull * 1000000000ull);
	ck_assert(!pretty_parse_rfc3339("1969-12-31T23:59:59Z", 20, &ns));
	ck_assert(!pretty_parse_rfc3339("2026-13-26T04:02:03Z", 20, &ns));
	ck_assert(!pretty_parse_rfc3339("2026-11-26T04:02:03Zx", 21, &ns));
	ck_assert(!pretty_parse_rfc3339("yesterday", 9, &ns));
	ck_assert_uint_eq(pretty_epoch_ns((double)T0), T0 * 1000000000ull);
	ck_assert_uint_eq(pretty_epoch_ns((double)T0 * 1000), T0 * 1000000000ull);
	ck_assert_uint_eq(pretty_epoch_ns((double)T0 * 1e6), T0 * 1000000000ull);

	uint64_t now = T0 * 1000000000ull;
	ck_assert(pretty_parse_when("10m", now, &ns));
	ck_assert_uint_eq(ns, now - 600ull * 1000000000ull);
	ck_assert(pretty_parse_when("2h", now, &ns));
	ck_assert_uint_eq(ns, now - 7200ull * 1000000000ull);
	ck_assert(pretty_parse_when("1d", now, &ns));
	ck_assert_uint_eq(ns, now - 86400ull * 1000000000ull);
	ck_assert(pretty_parse_when("2026-11-26", now, &ns));
	ck_assert_uint_eq(ns, (T0 - 4 * 3600 - 2 * 60 - 3) * 1000000000ull);
	ck_assert(!pretty_parse_when("10x", now, &ns));
	ck_assert(!pretty_parse_when("", now, &ns));
}
END_TEST

START_TEST(shape_jlog)
{
	map("{\"time\":\"2026-11-26T04:02:03Z\",\"level\":\"ERROR\",\"message\":\"m\",\"logger\":\"api\","
	    "\"file\":\"server.c\",\"line\":42,\"function\":\"handle\",\"pid\":7,\"tid\":8,\"user\":\"al\"}");
	ck_assert(rec.has_time);
	ck_assert_uint_eq(rec.time_ns, T0 * 1000000000ull);
	ck_assert_int_eq(rec.level, JLOG_LEVEL_ERROR);
	ck_text(rec.msg, rec.msg_len, "m");
	ck_text(rec.logger, rec.logger_len, "api");
	ck_assert_str_eq(rec.file, "server.c");
	ck_assert_str_eq(rec.function, "handle");
	ck_assert_int_eq(rec.line, 42);
	ck_assert_int_eq(rec.pid, 7);
	ck_assert_uint_eq(rec.tid, 8);
	ck_assert_uint_eq(rec.nex, 1);
	ck_assert_ptr_nonnull(extra("user"));
}
END_TEST

START_TEST(shape_zap_pino)
{
	map("{\"level\":\"dpanic\",\"ts\":1795665723.25,\"logger\":\"db\",\"caller\":\"store/pool.go:42\","
	    "\"msg\":\"x\",\"name\":\"field\"}");
	ck_assert_int_eq(rec.level, JLOG_LEVEL_CRITICAL);
	ck_assert_uint_eq(rec.time_ns / 1000000, T0 * 1000 + 250);
	ck_assert_str_eq(rec.file, "pool.go");
	ck_assert_int_eq(rec.line, 42);
	ck_text(rec.logger, rec.logger_len, "db");
	/* "name" is a field unless the level is pino's number. */
	ck_assert_ptr_nonnull(extra("name"));

	map("{\"level\":50,\"time\":1795665723123,\"name\":\"api\",\"msg\":\"y\",\"hostname\":\"h\"}");
	ck_assert_int_eq(rec.level, JLOG_LEVEL_ERROR);
	ck_assert_uint_eq(rec.time_ns, T0 * 1000000000ull + 123000000ull);
	ck_text(rec.logger, rec.logger_len, "api");
	ck_assert_ptr_null(extra("name"));
	ck_assert_ptr_nonnull(extra("hostname"));
}
END_TEST

START_TEST(shape_nested)
{
	/* otel: the parts in Resource, InstrumentationScope, Attributes. */
	map("{\"Timestamp\":\"1795665723000000001\",\"SeverityText\":\"WARNING\",\"SeverityNumber\":13,"
	    "\"Body\":\"b\",\"Resource\":{\"process.pid\":5,\"service.name\":\"svc\"},"
	    "\"InstrumentationScope\":{\"name\":\"api\"},\"Attributes\":{\"code.filepath\":\"a.c\","
	    "\"code.lineno\":3,\"code.function\":\"f\",\"thread.id\":6,\"k\":1}}");
	ck_assert_uint_eq(rec.time_ns, T0 * 1000000000ull + 1);
	ck_assert_int_eq(rec.level, JLOG_LEVEL_WARNING);
	ck_text(rec.logger, rec.logger_len, "api");
	ck_assert_str_eq(rec.file, "a.c");
	ck_assert_str_eq(rec.function, "f");
	ck_assert_int_eq(rec.line, 3);
	ck_assert_int_eq(rec.pid, 5);
	ck_assert_uint_eq(rec.tid, 6);
	ck_assert_ptr_nonnull(extra("service.name"));
	ck_assert_ptr_nonnull(extra("k"));
	ck_assert_ptr_null(extra("SeverityNumber"));
	ck_assert_uint_eq(rec.nex, 2);

	/* slog's source and gcp's sourceLocation (a string line). */
	map("{\"time\":\"2026-11-26T04:02:03Z\",\"level\":\"WARN\",\"msg\":\"s\","
	    "\"source\":{\"function\":\"main.f\",\"file\":\"/x/y/h.go\",\"line\":9}}");
	ck_assert_str_eq(rec.file, "h.go");
	ck_assert_str_eq(rec.function, "main.f");
	ck_assert_int_eq(rec.line, 9);
	map("{\"severity\":\"NOTICE\",\"message\":\"g\",\"logging.googleapis.com/sourceLocation\":"
	    "{\"file\":\"g.c\",\"line\":\"12\",\"function\":\"fn\"},"
	    "\"logging.googleapis.com/labels\":{\"logger\":\"api\",\"team\":\"t\"}}");
	ck_assert_int_eq(rec.level, JLOG_LEVEL_SUCCESS);
	ck_assert_int_eq(rec.line, 12);
	ck_text(rec.logger, rec.logger_len, "api");
	ck_assert_ptr_nonnull(extra("team"));

	/* loguru's record; its extra holds the fields. */
	map("{\"text\":\"t\\n\",\"record\":{\"extra\":{\"u\":1},\"file\":{\"name\":\"l.py\"},"
	    "\"function\":\"fn\",\"level\":{\"name\":\"SUCCESS\",\"no\":25},\"line\":4,\"message\":\"lm\","
	    "\"name\":\"mod\",\"time\":{\"timestamp\":1795665723.5}}}");
	ck_assert_int_eq(rec.level, JLOG_LEVEL_SUCCESS);
	ck_text(rec.msg, rec.msg_len, "lm");
	ck_text(rec.logger, rec.logger_len, "mod");
	ck_assert_uint_eq(rec.time_ns / 1000000, T0 * 1000 + 500);
	ck_assert_uint_eq(rec.nex, 1);
	ck_assert_ptr_nonnull(extra("u"));
}
END_TEST

static bool where(const char *expr)
{
	struct pretty_where w;
	char err[128];
	ck_assert_int_eq(pretty_where_parse(expr, &w, err, sizeof(err)), 0);
	bool r = pretty_where_match(&w, &doc, &rec);
	pretty_where_free(&w);
	return r;
}

START_TEST(where_ops)
{
	map("{\"level\":\"WARNING\",\"message\":\"db timeout\",\"logger\":\"db\",\"status\":503,"
	    "\"user\":\"alice\",\"ratio\":\"0.5\",\"line\":7}");
	ck_assert(where("user=alice"));
	ck_assert(!where("user=bob"));
	ck_assert(where("user!=bob"));
	ck_assert(!where("user!=alice"));
	ck_assert(where("missing!=x"));
	ck_assert(!where("missing=x"));
	ck_assert(where("status=503.0")); /* numbers compare as numbers */
	ck_assert(where("status>500"));
	ck_assert(!where("status<500"));
	ck_assert(where("status>=503"));
	ck_assert(where("status<=503"));
	ck_assert(where("ratio<1"));  /* a string that reads as a number */
	ck_assert(!where("user>1"));   /* not a number */
	ck_assert(where("user~lic"));
	ck_assert(!where("user~bob"));
	ck_assert(where("message~timeout"));
	ck_assert(where("level=WARNING"));
	ck_assert(where("level=warn"));
	ck_assert(where("level>=WARNING"));
	ck_assert(where("level>INFO"));
	ck_assert(!where("level>=ERROR"));
	ck_assert(where("level<ERROR"));
	ck_assert(where("level=30"));
	ck_assert(!where("level=INFO"));
	ck_assert(where("level~WARN")); /* the name, as text */
	ck_assert(where("logger=db"));
	ck_assert(where("line=7"));

	struct pretty_where w;
	char err[128];
	ck_assert_int_eq(pretty_where_parse("nokey", &w, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "--where \"nokey\"") != NULL);
	ck_assert_int_eq(pretty_where_parse("=v", &w, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(pretty_where_parse("a>b", &w, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "not a number") != NULL);
	ck_assert_int_eq(pretty_where_parse("a!b", &w, err, sizeof(err)), -EINVAL);
}
END_TEST

/* The record view renders through the library's text formatter. */
START_TEST(view_renders)
{
	map("{\"time\":\"2026-11-26T04:02:03.123Z\",\"level\":\"INFO\",\"message\":\"m\",\"logger\":\"api\","
	    "\"file\":\"s.c\",\"line\":4,\"function\":\"f\",\"a\":\"x y\",\"b\":2,\"c\":[1],\"d\":false}");
	struct jlog__buf fields, out;
	jlog__buf_init(&fields);
	jlog__buf_init(&out);
	struct jlog__rec_view v;
	ck_assert(pretty_view(&rec, NULL, &fields, &v));
	struct jlog__template *t;
	char err[128];
	ck_assert_int_eq(jlog__template_compile(jlog__default_text_format, &t, err, sizeof(err)), 0);
	jlog__format_text(&out, &v, &(struct jlog__line_ctx){0}, t, false);
	const char *want = "2026-11-26 04:02:03.123 | INFO     | api:f:4 - m a=\"x y\" b=2 c=[1] d=false\n";
	ck_text(out.p, out.len, want);

	char *only[] = {"b", NULL};
	ck_assert(pretty_view(&rec, only, &fields, &v));
	out.len = 0;
	jlog__format_text(&out, &v, &(struct jlog__line_ctx){0}, t, false);
	ck_text(out.p, out.len, "2026-11-26 04:02:03.123 | INFO     | api:f:4 - m b=2\n");
	jlog__template_free(t);
	jlog__buf_finish(&fields);
	jlog__buf_finish(&out);
}
END_TEST

/* Lines a callback sink got, one buffer per sink. */
static void collect(const char *line, size_t len, void *user)
{
	jlog__buf_put(user, line, len);
}

/*
 * The whole point of jlog-pretty: a JSON line of the library, rendered,
 * is the line the library's own text sink writes for the same record.
 * Each record goes to a JSON and a text sink; every JSON line mapped and
 * rendered must equal the text sink's line.
 */
START_TEST(same_as_text_sink)
{
	struct jlog__buf json, text;
	jlog__buf_init(&json);
	jlog__buf_init(&text);
	jlog_options o;
	jlog_options_init(&o);
	o.level = JLOG_LEVEL_TRACE;
	o.name = "api";
	jlog_logger *log;
	ck_assert_int_eq(jlog__open(&log, &o, true), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = collect;
	so.user = &json;
	ck_assert_int_ge(jlog_add_sink(log, &so), 0);
	so.user = &text;
	so.serialize = false;
	so.colorize = 0;
	ck_assert_int_ge(jlog_add_sink(log, &so), 0);

	json_t *j = json_pack("{s:[i,s]}", "a", 1, "b");
	JLOG_INFO(log, "request handled", JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true));
	JLOG_WARNING(jlog_named(log, "db"), "slow \"q\"\n\x1b[2J", JLOG_STR("sql", "select 1"),
	             JLOG_STR("empty", ""), JLOG_NULL("none"), JLOG_JSON("doc", j),
	             JLOG_UINT("big", UINT64_MAX), JLOG_INT("neg", -3), JLOG_DOUBLE("tiny", 1e-300));
	JLOG_ERROR(log, "bad \xff utf8", JLOG_STR("k=v", "a b"), JLOG_STR("ctl", "\t\x01"));
	JLOG_SUCCESS(log, "done");
	JLOG_TRACE(log, "dup", JLOG_INT("n", 1), JLOG_INT("n", 2));
	jlog_close(log);
	json_decref(j);

	struct jlog__template *t;
	char err[128];
	ck_assert_int_eq(jlog__template_compile(jlog__default_text_format, &t, err, sizeof(err)), 0);
	struct jlog__buf fields, out;
	jlog__buf_init(&fields);
	jlog__buf_init(&out);
	size_t lines = 0;
	const char *jp = json.p, *tp = text.p;
	while (jp < json.p + json.len) {
		const char *jn = memchr(jp, '\n', (size_t)(json.p + json.len - jp));
		const char *tn = memchr(tp, '\n', (size_t)(text.p + text.len - tp));
		ck_assert(jn && tn);
		ck_assert_int_eq(pj_parse(&doc, jp, (size_t)(jn - jp)), 0);
		ck_assert(pretty_map(&doc, &rec));
		struct jlog__rec_view v;
		ck_assert(pretty_view(&rec, NULL, &fields, &v));
		out.len = 0;
		jlog__format_text(&out, &v, &(struct jlog__line_ctx){(pid_t)rec.pid}, t, false);
		ck_assert_msg(out.len == (size_t)(tn - tp + 1) && memcmp(out.p, tp, out.len) == 0,
		              "pretty: %.*s\ntext:   %.*s", (int)out.len, out.p, (int)(tn - tp + 1), tp);
		jp = jn + 1;
		tp = tn + 1;
		lines++;
	}
	ck_assert_uint_eq(lines, 5);
	jlog__template_free(t);
	jlog__buf_finish(&fields);
	jlog__buf_finish(&out);
	jlog__buf_finish(&json);
	jlog__buf_finish(&text);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("pretty");
	TCase *tc = tcase_create("json");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, json_values);
	tcase_add_test(tc, json_decimals);
	tcase_add_test(tc, json_invalid);
	suite_add_tcase(s, tc);
	tc = tcase_create("record");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, levels);
	tcase_add_test(tc, times);
	tcase_add_test(tc, shape_jlog);
	tcase_add_test(tc, shape_zap_pino);
	tcase_add_test(tc, shape_nested);
	tcase_add_test(tc, where_ops);
	tcase_add_test(tc, view_renders);
	tcase_add_test(tc, same_as_text_sink);
	suite_add_tcase(s, tc);
	return s;
}
