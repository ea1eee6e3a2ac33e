/*
 * Tests of the text formatter (lib/format.c, lib/format-compile.c): loguru's template language,
 * compiled once and applied to records built by hand. Lines are compared
 * byte for byte, with colors on and off; the fuzz case checks that any
 * record gives exactly one line with no raw control character.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <math.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/prctl.h>

/* Check logs every passing assertion; CHECK reports only failures, for
 * the loops. */
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg(__VA_ARGS__);                            \
	} while (0)

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: fast and reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

/* 2026-11-26 04:02:03.123456789 UTC, a Thursday, day 330. */
#define T0 1795665723123456789ull

static jlog_callsite cs_handle = {"src/server.c", "handle", 42, 0};
static jlog_callsite cs_dots = {"/a/b/x.tar.gz", "f", 7, 0};
static jlog_callsite cs_hidden = {"lib/.hidden", "g", 8, 0};

struct spec {
	const char *msg;
	size_t msg_len;
	const char *name;
	int level;
	unsigned flags;
	uint64_t time_ns;
	jlog_callsite *cs; /* NULL: no callsite */
	size_t val_cap;
	uint32_t tid; /* 0: 4243 */
};

static struct spec base(void)
{
	struct spec sp = {"hello", 5, NULL, JLOG_LEVEL_INFO, 0, T0, &cs_handle, SIZE_MAX};
	return sp;
}

/* Build a record as the logger does and decode it into *v; free() the
 * returned bytes, which *v points into. */
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
	h.callsite = sp->cs ? jlog__callsite_id(sp->cs) : 0;
	h.tid = sp->tid ? sp->tid : 4243;
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

static const struct jlog__line_ctx test_ctx = {.pid = 4242};

static struct jlog__template *compile_ok(const char *tmpl)
{
	struct jlog__template *t = NULL;
	char err[256];
	int r = jlog__template_compile(tmpl, &t, err, sizeof(err));
	ck_assert_msg(r == 0, "compile \"%s\": %d %s", tmpl, r, err);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Format a view; the text must be one line ending in its only '\n'.
 * free() the result. */
static char *format_view(const struct jlog__template *t, const struct jlog__rec_view *v,
                         bool color)
{
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__format_text(&b, v, &test_ctx, t, color);
	CHECK(!b.failed, "out of memory");
	CHECK(b.len > 0 && b.p[b.len - 1] == '\n', "no newline at the end");
	CHECK(memchr(b.p, '\n', b.len) == b.p + b.len - 1, "raw newline inside: %.*s",
	      (int)b.len, b.p);
	char *s = strndup(b.p, b.len);
	jlog__buf_finish(&b);
	return s;
}

static char *format_spec(const char *tmpl, const struct spec *sp, const jlog_field *f,
                         size_t n, bool color)
{
	struct jlog__rec_view v;
	struct jlog__template *t = compile_ok(tmpl);
	uint8_t *rec = make_record(sp, f, n, &v);
	char *s = format_view(t, &v, color);
	free(rec);
	jlog__template_free(t);
	return s;
}

static void expect_spec(const char *tmpl, const struct spec *sp, const jlog_field *f, size_t n,
                        bool color, const char *want)
{
	char *got = format_spec(tmpl, sp, f, n, color);
	ck_assert_msg(strcmp(got, want) == 0, "template \"%s\" (color %d):\n got  \"%s\"\n want \"%s\"",
	              tmpl, color, got, want);
	free(got);
}

/* The base record without fields. */
static void expect(const char *tmpl, bool color, const char *want)
{
	struct spec sp = base();
	expect_spec(tmpl, &sp, NULL, 0, color, want);
}

static void expect_fields(const char *tmpl, const jlog_field *f, size_t n, const char *want)
{
	struct spec sp = base();
	expect_spec(tmpl, &sp, f, n, false, want);
}

static void expect_error(const char *tmpl, const char *want)
{
	struct jlog__template *t = (struct jlog__template *)&t; /* must be reset */
	char err[256];
	int r = jlog__template_compile(tmpl, &t, err, sizeof(err));
	ck_assert_msg(r == -EINVAL, "\"%s\" compiled (%d)", tmpl, r);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(err, want);
}

/* ------------------------------------------------------------------------ */
/* The two reference formats                                                */
/* ------------------------------------------------------------------------ */

#define SEED_FORMAT                                                           \
	"<green>[{time:YYYY-MM-DD HH:mm:ss.SSS}]</green><level>[{level}]</level>" \
	"<cyan>[{name}:{function}:{line}]</cyan> <level>{message}</level>"

START_TEST(test_default_format)
{
	ck_assert_str_eq(jlog__default_text_format,
	                 "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
	                 "<cyan>{name}</cyan>:<cyan>{function}</cyan>:<cyan>{line}</cyan> - "
	                 "<level>{message}</level>");
	expect(jlog__default_text_format, false,
	       "2026-11-26 04:02:03.123 | INFO     | server:handle:42 - hello\n");
	expect(jlog__default_text_format, true,
	       "\x1b[32m2026-11-26 04:02:03.123\x1b[0m | \x1b[1mINFO    \x1b[0m | "
	       "\x1b[36mserver\x1b[0m:\x1b[36mhandle\x1b[0m:\x1b[36m42\x1b[0m - "
	       "\x1b[1mhello\x1b[0m\n");

	struct spec sp = base();
	sp.level = JLOG_LEVEL_WARNING;
	sp.name = "api.db";
	expect_spec(jlog__default_text_format, &sp, NULL, 0, true,
	            "\x1b[32m2026-11-26 04:02:03.123\x1b[0m | \x1b[33m\x1b[1mWARNING \x1b[0m | "
	            "\x1b[36mapi.db\x1b[0m:\x1b[36mhandle\x1b[0m:\x1b[36m42\x1b[0m - "
	            "\x1b[33m\x1b[1mhello\x1b[0m\n");
	sp.level = JLOG_LEVEL_CRITICAL;
	expect_spec(jlog__default_text_format, &sp, NULL, 0, false,
	            "2026-11-26 04:02:03.123 | CRITICAL | api.db:handle:42 - hello\n");
}
END_TEST

START_TEST(test_seed_format)
{
	expect(SEED_FORMAT, false, "[2026-11-26 04:02:03.123][INFO][server:handle:42] hello\n");
	expect(SEED_FORMAT, true,
	       "\x1b[32m[2026-11-26 04:02:03.123]\x1b[0m\x1b[1m[INFO]\x1b[0m"
	       "\x1b[36m[server:handle:42]\x1b[0m \x1b[1mhello\x1b[0m\n");

	struct spec sp = base();
	sp.level = JLOG_LEVEL_ERROR;
	sp.name = "api";
	jlog_field f[] = {JLOG_STR("user", "alice"), JLOG_INT("status", 500)};
	expect_spec(SEED_FORMAT, &sp, f, LEN(f), true,
	            "\x1b[32m[2026-11-26 04:02:03.123]\x1b[0m\x1b[31m\x1b[1m[ERROR]\x1b[0m"
	            "\x1b[36m[api:handle:42]\x1b[0m \x1b[31m\x1b[1mhello\x1b[0m"
	            " user=alice status=500\n");
	expect_spec(SEED_FORMAT, &sp, f, LEN(f), false,
	            "[2026-11-26 04:02:03.123][ERROR][api:handle:42] hello user=alice status=500\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_fields)
{
	expect("{level}|{level.name}|{level.no}|{level.icon}|{name}|{module}|{file}|"
	       "{file.name}|{function}|{line}",
	       false, "INFO|INFO|20|\xe2\x84\xb9\xef\xb8\x8f|server|server|server.c|server.c|handle|42\n");
	/* {thread.name} is the name of the thread that logged, noted at its
	 * first log call: note one for the records' thread id. */
	char saved[16] = "";
	prctl(PR_GET_NAME, (unsigned long)saved, 0, 0, 0);
	prctl(PR_SET_NAME, (unsigned long)"fmt-worker", 0, 0, 0);
	jlog__thread_name_register(4243);
	prctl(PR_SET_NAME, (unsigned long)saved, 0, 0, 0);
	expect("{thread}|{thread.id}|{thread.name}|{process}|{process.id}|{process.name}|"
	       "{message}|{exception}|{extra}",
	       false, "4243|4243|fmt-worker|4242|4242|4242|hello||{}\n");
	/* A thread whose name is not known (no such thread): its id. */
	struct spec nt = base();
	nt.tid = 0x7fff0000u;
	expect_spec("{thread.name}", &nt, NULL, 0, false, "2147418112\n");
	expect("", false, "\n");
	expect("plain text", true, "plain text\n");

	struct spec sp = base();
	sp.name = "api";
	expect_spec("{name}|{module}", &sp, NULL, 0, false, "api|server\n");

	/* Module: the base name without its last extension. */
	sp = base();
	sp.cs = &cs_dots;
	expect_spec("{name}|{module}|{file}|{function}|{line}", &sp, NULL, 0, false,
	            "x.tar|x.tar|x.tar.gz|f|7\n");
	sp.cs = &cs_hidden;
	expect_spec("{name}|{module}|{file}", &sp, NULL, 0, false, ".hidden|.hidden|.hidden\n");

	/* No callsite, as in a drop report. */
	sp.cs = NULL;
	expect_spec("{name}|{module}|{file}|{function}|{line}", &sp, NULL, 0, false,
	            "(unknown file)|(unknown file)|(unknown file)|(unknown function)|0\n");

	/* Every named level: name, number, icon and color; then unnamed. */
	static const struct {
		int level;
		const char *line;
	} levels[] = {
		{JLOG_LEVEL_TRACE, "\x1b[36m\x1b[1mTRACE 5 \xe2\x9c\x8f\xef\xb8\x8f\x1b[0m\n"},
		{JLOG_LEVEL_DEBUG, "\x1b[34m\x1b[1mDEBUG 10 \xf0\x9f\x90\x9e\x1b[0m\n"},
		{JLOG_LEVEL_INFO, "\x1b[1mINFO 20 \xe2\x84\xb9\xef\xb8\x8f\x1b[0m\n"},
		{JLOG_LEVEL_SUCCESS, "\x1b[32m\x1b[1mSUCCESS 25 \xe2\x9c\x85\x1b[0m\n"},
		{JLOG_LEVEL_WARNING, "\x1b[33m\x1b[1mWARNING 30 \xe2\x9a\xa0\xef\xb8\x8f\x1b[0m\n"},
		{JLOG_LEVEL_ERROR, "\x1b[31m\x1b[1mERROR 40 \xe2\x9d\x8c\x1b[0m\n"},
		{JLOG_LEVEL_CRITICAL, "\x1b[41m\x1b[1mCRITICAL 50 \xe2\x98\xa0\xef\xb8\x8f\x1b[0m\n"},
		{22, "22 22  \x1b[0m\n"},
		{0, "0 0  \x1b[0m\n"},
		{255, "255 255  \x1b[0m\n"},
	};
	for (size_t i = 0; i < LEN(levels); i++) {
		sp = base();
		sp.level = levels[i].level;
		expect_spec("<lvl>{level} {level.no} {level.icon}</lvl>", &sp, NULL, 0, true,
		            levels[i].line);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

static void expect_time(uint64_t ns, const char *tmpl, const char *want)
{
	struct spec sp = base();
	sp.time_ns = ns;
	expect_spec(tmpl, &sp, NULL, 0, false, want);
}

START_TEST(test_time_tokens)
{
	expect_time(T0,
	            "{time:YYYY|YY|Q|MMMM|MMM|MM|M|DDDD|DDD|DD|D|dddd|ddd|d|E|HH|H|hh|h|"
	            "mm|m|ss|s|S|SS|SSS|SSSS|SSSSS|SSSSSS|A|Z|ZZ|zz|X|x}",
	            "2026|26|4|November|Nov|11|11|330|330|26|26|Thursday|Thu|3|4|04|4|04|4|"
	            "02|2|03|3|1|12|123|1234|12345|123456|AM|+00:00|+0000|UTC|1795665723|"
	            "1795665723123456\n");
	/* 2024-02-29 13:05:09.000007, a Thursday in a leap year. */
	expect_time(1709211909000007000ull, "{time:YYYY-MM-DD DDDD hh:mm:ss A h H SSSSSS S}",
	            "2024-02-29 060 01:05:09 PM 1 13 000007 0\n");
	/* Midnight is 12 AM; 2000-01-01 was a Saturday. */
	expect_time(946684800000000000ull, "{time:hh A dddd d E Q M/D DDD}",
	            "12 AM Saturday 5 6 1 1/1 1\n");
	expect_time(946645199999999999ull, "{time:YYYY-MM-DD HH:mm:ss.SSSSSS hh A dddd DDDD}",
	            "1999-12-31 12:59:59.999999 12 PM Friday 365\n");
	expect_time(0, "{time:YYYY-MM-DD HH:mm:ss.SSS dddd X x}",
	            "1970-01-01 00:00:00.000 Thursday 0 0\n");

	/* Default format, and "!UTC" (a no-op: times are UTC). */
	expect_time(T0, "{time}", "2026-11-26T04:02:03.123456+0000\n");
	expect_time(T0, "{time:}", "2026-11-26T04:02:03.123456+0000\n");
	expect_time(T0, "{time:!UTC}", "2026-11-26T04:02:03.123456+0000\n");
	expect_time(T0, "{time:HH:mm!UTC}", "04:02\n");

	/* Brackets escape one token (loguru's pattern); other text keeps
	 * its brackets; runs longer than a token split. */
	expect_time(T0, "{time:[YYYY] YYYY [at] [T] [HH] [] [dd] [SSS] [!UTC] MMMMM YYY}",
	            "YYYY 2026 [at] [T] HH  [33] SSS !UTC November11 26Y\n");
	/* Non-token characters are literal. */
	expect_time(T0, "{time:YYYY.MM.DD @ HH-mm-ss,SSS (T) <q>}",
	            "2026.11.26 @ 04-02-03,123 (T) <q>\n");

	/* strftime mode. */
	expect_time(T0,
	            "{time:%Y-%m-%d %H:%M:%S.%f %z %Z %a %A %b %h %B %j %I %p %y %e|%F|%T|%R|%D"
	            " %% %u %w %s}",
	            "2026-11-26 04:02:03.123456 +0000 UTC Thu Thursday Nov Nov November 330 04 AM "
	            "26 26|2026-11-26|04:02:03|04:02|11/26/26 % 4 4 1795665723\n");
	expect_time(946684800000000000ull, "{time:%e|%I %p}", " 1|12 AM\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Alignment                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(test_align)
{
	expect("{level: <8}|", false, "INFO    |\n");
	expect("{level:<8}|", false, "INFO    |\n");
	expect("{level:8}|", false, "INFO    |\n");
	expect("{level:>8}|", false, "    INFO|\n");
	expect("{level:^8}|", false, "  INFO  |\n");
	expect("{level:^9}|", false, "  INFO   |\n");
	expect("{level:*^9}|", false, "**INFO***|\n");
	expect("{level:<<7}|", false, "INFO<<<|\n");
	expect("{level:3}|", false, "INFO|\n");
	expect("{level:s}|{level:8s}|", false, "INFO|INFO    |\n");
	expect("{line:^5}|", false, " 42  |\n");
	expect("{line:5}|", false, "   42|\n");
	expect("{line:<5}|", false, "42   |\n");
	expect("{line:05}|", false, "00042|\n");
	expect("{line:=5}|{line:0=5}|", false, "   42|00042|\n");
	expect("{line:*>6}|{line:d}|{line:4d}|", false, "****42|42|  42|\n");
	expect("{level.no:03}|{thread:>8}|{process:<6}|", false, "020|    4243|4242  |\n");
	expect("{message:.3}|", false, "hel|\n");
	expect("{message:.0}|", false, "|\n");
	expect("{message:.20}|", false, "hello|\n");
	expect("{message:10.3}|", false, "hel       |\n");
	expect("{message:>10.3}|", false, "       hel|\n");
	/* A multi-byte fill; widths count code points. */
	expect("{message:\xc3\xa9^7}|", false, "\xc3\xa9hello\xc3\xa9|\n");
	expect("{level.icon:>3}|", false, " \xe2\x84\xb9\xef\xb8\x8f|\n");
	expect("<red>{level:>6}</red>", true, "\x1b[31m  INFO\x1b[0m\n");

	struct spec sp = base();
	sp.msg = "h\xc3\xa9llo";
	sp.msg_len = strlen(sp.msg);
	expect_spec("{message:>7}|{message:.2}|", &sp, NULL, 0, false,
	            "  h\xc3\xa9llo|h\xc3\xa9|\n");
	/* Precision never cuts an escape sequence. */
	sp.msg = "ab\ncd";
	sp.msg_len = 5;
	expect_spec("{message:.3}|{message:.4}|{message:8}|", &sp, NULL, 0, false,
	            "ab|ab\\n|ab\\ncd  |\n");
	/* A truncated message ends in an ellipsis, which counts. */
	sp = base();
	sp.flags = JLOG__REC_MSG_TRUNCATED;
	expect_spec("{message}|{message:.5}|{message:.6}|{message:7}|", &sp, NULL, 0, false,
	            "hello\xe2\x80\xa6|hello|hello\xe2\x80\xa6|hello\xe2\x80\xa6 |\n");
	sp.level = 7;
	expect_spec("{level:>4}|{level:<4}|", &sp, NULL, 0, false, "   7|7   |\n");

	/* extra[key]: numbers right-aligned by default, strings left. */
	jlog_field f[] = {JLOG_INT("n", 42), JLOG_STR("s", "ab"), JLOG_DOUBLE("d", 2.5),
	                  JLOG_STR("long", "abcdefgh")};
	expect_fields("{extra[n]:5}|{extra[s]:5}|{extra[d]:6}|{extra[n]:<5}|{extra[s]:>5}|"
	              "{extra[long]:.3}|{extra[missing]:3}|{extra[s]:s}",
	              f, LEN(f), "   42|ab   |   2.5|42   |   ab|abc|   |ab\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Markup                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_markup)
{
	expect("<red>a</red>", true, "\x1b[31ma\x1b[0m\n");
	expect("<red>a</red>", false, "a\n");
	/* Nesting: a closing tag resets, then re-applies what is open. */
	expect("<red>a<bold>b</bold>c</red>d", true,
	       "\x1b[31ma\x1b[1mb\x1b[0m\x1b[31mc\x1b[0md\n");
	expect("<green>a<u>b</>c</>", true, "\x1b[32ma\x1b[4mb\x1b[0m\x1b[32mc\x1b[0m\n");
	expect("<green>a<u>b</>c</>", false, "abc\n");
	expect("<r><b><i>x</i></b></r>", true,
	       "\x1b[31m\x1b[1m\x1b[3mx\x1b[0m\x1b[31m\x1b[1m\x1b[0m\x1b[31m\x1b[0m\n");

	struct spec sp = base();
	sp.level = JLOG_LEVEL_WARNING;
	expect_spec("<level>a<b>b</b>c</level>", &sp, NULL, 0, true,
	            "\x1b[33m\x1b[1ma\x1b[1mb\x1b[0m\x1b[33m\x1b[1mc\x1b[0m\n");
	expect_spec("<red>a<level>b</level>c</red>", &sp, NULL, 0, true,
	            "\x1b[31ma\x1b[33m\x1b[1mb\x1b[0m\x1b[31mc\x1b[0m\n");

	/* Every named tag. */
	static const struct {
		const char *tag;
		const char *sgr;
	} tags[] = {
		{"b", "1"}, {"bold", "1"}, {"d", "2"}, {"dim", "2"}, {"i", "3"}, {"italic", "3"},
		{"u", "4"}, {"underline", "4"}, {"l", "5"}, {"blink", "5"}, {"v", "7"},
		{"reverse", "7"}, {"h", "8"}, {"hide", "8"}, {"s", "9"}, {"strike", "9"},
		{"n", "22"}, {"normal", "22"},
		{"black", "30"}, {"red", "31"}, {"green", "32"}, {"yellow", "33"}, {"blue", "34"},
		{"magenta", "35"}, {"cyan", "36"}, {"white", "37"},
		{"k", "30"}, {"r", "31"}, {"g", "32"}, {"y", "33"}, {"e", "34"}, {"m", "35"},
		{"c", "36"}, {"w", "37"},
		{"light-black", "90"}, {"light-red", "91"}, {"light-green", "92"},
		{"light-yellow", "93"}, {"light-blue", "94"}, {"light-magenta", "95"},
		{"light-cyan", "96"}, {"light-white", "97"}, {"lk", "90"}, {"lr", "91"},
		{"lg", "92"}, {"ly", "93"}, {"le", "94"}, {"lm", "95"}, {"lc", "96"}, {"lw", "97"},
		{"BLACK", "40"}, {"RED", "41"}, {"GREEN", "42"}, {"YELLOW", "43"}, {"BLUE", "44"},
		{"MAGENTA", "45"}, {"CYAN", "46"}, {"WHITE", "47"},
		{"K", "40"}, {"R", "41"}, {"G", "42"}, {"Y", "43"}, {"E", "44"}, {"M", "45"},
		{"C", "46"}, {"W", "47"},
		{"LIGHT-BLACK", "100"}, {"LIGHT-RED", "101"}, {"LIGHT-GREEN", "102"},
		{"LIGHT-YELLOW", "103"}, {"LIGHT-BLUE", "104"}, {"LIGHT-MAGENTA", "105"},
		{"LIGHT-CYAN", "106"}, {"LIGHT-WHITE", "107"}, {"LK", "100"}, {"LR", "101"},
		{"LW", "107"},
		{"fg red", "31"}, {"fg RED", "31"}, {"fg light-blue", "94"}, {"fg lr", "91"},
		{"bg red", "41"}, {"bg light-blue", "104"}, {"bg LR", "101"},
		{"fg 86", "38;5;86"}, {"bg 0", "48;5;0"}, {"bg 255", "48;5;255"},
		{"fg #ff8000", "38;2;255;128;0"}, {"fg #F80", "38;2;255;136;0"},
		{"bg #000000", "48;2;0;0;0"}, {"fg 1,2,3", "38;2;1;2;3"},
		{"bg 255,0,10", "48;2;255;0;10"},
	};
	for (size_t i = 0; i < LEN(tags); i++) {
		char tmpl[64], want[64];
		snprintf(tmpl, sizeof(tmpl), "<%s>x</%s>", tags[i].tag, tags[i].tag);
		snprintf(want, sizeof(want), "\x1b[%smx\x1b[0m\n", tags[i].sgr);
		expect(tmpl, true, want);
		expect(tmpl, false, "x\n");
	}

	/* Escapes: \< makes a tag literal; backslashes before a tag pair
	 * up (as in loguru); elsewhere they are literal. */
	expect("\\<red>x", true, "<red>x\n");
	expect("\\\\<red>x</red>", true, "\\\x1b[31mx\x1b[0m\n");
	expect("\\\\\\<red>x", false, "\\<red>x\n");
	expect("a\\b \\n \\", false, "a\\b \\n \\\n");
	expect("\\< b", false, "\\< b\n");
	/* A '<' that does not start a tag is text. */
	expect("a < b <= c -> d <x y> a<b", true, "a < b <= c -> d <x y> a<b\n");
	/* Braces. */
	expect("{{}}{{level}} <green>{{</green>", true, "{}{level} \x1b[32m{\x1b[0m\n");
	/* Markup in the record is text. */
	sp = base();
	sp.msg = "<red>hi</red> {level}";
	sp.msg_len = strlen(sp.msg);
	expect_spec("<b>{message}</b>", &sp, NULL, 0, true,
	            "\x1b[1m<red>hi</red> {level}\x1b[0m\n");
	/* A '<' inside a field spec is not markup. */
	expect("<level>{level:<6}</level>|{level:>>6}", true, "\x1b[1mINFO  \x1b[0m|>>INFO\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_errors)
{
	expect_error("{foo}", "format: unknown field {foo} at column 1");
	expect_error("<green>{time}</green> {foo}", "format: unknown field {foo} at column 23");
	expect_error("\xc3\xa9t\xc3\xa9 {foo}", "format: unknown field {foo} at column 5");
	expect_error("{}", "format: unknown field {} at column 1");
	expect_error("{level.foo}", "format: unknown field {level.foo} at column 1");
	expect_error("{file.path}", "format: unknown field {file.path} at column 1");
	expect_error("{elapsed}", "format: unknown field {elapsed} at column 1");
	expect_error("{extra[]}", "format: unknown field {extra[]} at column 1");
	expect_error("{extra[a]b}", "format: unknown field {extra[a]b} at column 1");
	expect_error("{Level}", "format: unknown field {Level} at column 1");
	expect_error("<green>{message}", "format: unclosed tag <green> at column 1");
	expect_error("a<red><b>x</b>", "format: unclosed tag <red> at column 2");
	expect_error("[{time}] {message", "format: unterminated '{' at column 10");
	expect_error("{", "format: unterminated '{' at column 1");
	expect_error("{extra[a}b]}", "format: unknown field {extra[a} at column 1");
	expect_error("a}b", "format: single '}' at column 2");
	expect_error("}", "format: single '}' at column 1");
	expect_error("<foo>x</foo>", "format: unknown tag <foo> at column 1");
	expect_error("x <>", "format: unknown tag <> at column 3");
	expect_error("<fg nope>x</fg nope>", "format: unknown tag <fg nope> at column 1");
	expect_error("<fg 256>x", "format: unknown tag <fg 256> at column 1");
	expect_error("<fg #12345>x", "format: unknown tag <fg #12345> at column 1");
	expect_error("<fg bold>x", "format: unknown tag <fg bold> at column 1");
	expect_error("<bg red,0,0>x", "format: unknown tag <bg red,0,0> at column 1");
	expect_error("<g>x</green>", "format: closing tag </green> has no opening tag at column 5");
	expect_error("<red><green>x</red></green>",
	             "format: closing tag </red> does not match <green> at column 14");
	expect_error("<level>x</lvl>", "format: closing tag </lvl> has no opening tag at column 9");
	expect_error("x</red>", "format: closing tag </red> has no opening tag at column 2");
	expect_error("</>", "format: closing tag </> has no opening tag at column 1");
	expect_error("{line:.3}",
	             "format: bad format spec ':.3' in {line} (precision not allowed for an "
	             "integer) at column 1");
	expect_error("ab{level:x}",
	             "format: bad format spec ':x' in {level} (unexpected characters) at column 3");
	expect_error("{level:=8}",
	             "format: bad format spec ':=8' in {level} ('=' alignment not allowed for a "
	             "string) at column 1");
	expect_error("{level:2000}",
	             "format: bad format spec ':2000' in {level} (width above 1024) at column 1");
	expect_error("{message:.}",
	             "format: bad format spec ':.' in {message} (no digits after '.') at column 1");
	expect_error("{line:s}",
	             "format: bad format spec ':s' in {line} (type 's' for an integer) at column 1");
	expect_error("{level:d}",
	             "format: bad format spec ':d' in {level} (type 'd' for a string) at column 1");
	expect_error("{extra:.5}",
	             "format: bad format spec ':.5' in {extra} (precision not allowed for {extra}) "
	             "at column 1");
	expect_error("{level:+}",
	             "format: bad format spec ':+' in {level} (unexpected characters) at column 1");
	expect_error("{message!r}", "format: conversion not supported in {message!r} at column 9");
	expect_error("{level:{w}}", "format: nested '{' in a field at column 8");
	expect_error("{time:SSSSSSS}",
	             "format: bad time format {time:SSSSSSS} (more than six 'S') at column 1");
	expect_error("x{time:%Y %Q}",
	             "format: bad time format {time:%Y %Q} (unsupported directive %Q) at column 2");
	expect_error("{time:%Y%}",
	             "format: bad time format {time:%Y%} (lone '%' at the end) at column 1");
	expect_error("a\nb", "format: control character 0x0a at column 2");
	expect_error("\t", "format: control character 0x09 at column 1");
	expect_error("ab\x1b[31m", "format: control character 0x1b at column 3");
	expect_error("a\xc2\x85", "format: control character U+0085 at column 2");
	expect_error("a\xe2\x80\xa8", "format: control character U+2028 at column 2");
	expect_error("a\xff", "format: invalid UTF-8 at column 2");
	expect_error("\xc3\xa9\xc3", "format: invalid UTF-8 at column 2");

	/* Nesting too deep. */
	char deep[64 * 3 + 8] = "";
	for (int i = 0; i < 65; i++)
		strcat(deep, "<b>");
	expect_error(deep, "format: tags nested too deeply at column 193");

	/* NULL template, NULL out, a short or absent error buffer. */
	struct jlog__template *t = NULL;
	char err[16];
	ck_assert_int_eq(jlog__template_compile(NULL, &t, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "format: no temp");
	ck_assert_int_eq(jlog__template_compile("{x}", NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(jlog__template_compile("{foo}", &t, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "format: unknown");
	ck_assert_int_eq(jlog__template_compile("{foo}", &t, err, 1), -EINVAL);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(jlog__template_compile("{foo}", &t, NULL, 0), -EINVAL);
	ck_assert_int_eq(jlog__template_compile("{message}", &t, NULL, 0), 0);
	jlog__template_free(t);
	jlog__template_free(NULL);

	/* Too long. */
	char *big = malloc(70000);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	char e2[128];
	ck_assert_int_eq(jlog__template_compile(big, &t, e2, sizeof(e2)), -EINVAL);
	ck_assert_str_eq(e2, "format: template longer than 65536 bytes");
	free(big);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Fields of the record                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_extra_pairs)
{
	json_t *j = json_pack("{s:[i,i]}", "a", 1, 2);
	jlog_field f[] = {
		JLOG_STR("user", "alice"), JLOG_INT("n", 5),      JLOG_DOUBLE("x", 12.5),
		JLOG_BOOL("ok", true),     JLOG_BOOL("no", false), JLOG_NULL("nothing"),
		JLOG_JSON("j", j),         JLOG_UINT("u", UINT64_MAX), JLOG_INT("neg", INT64_MIN),
		JLOG_DOUBLE("big", 1e300), JLOG_DOUBLE("hundred", 100.0),
	};
	expect_fields("{message}", f, LEN(f),
	              "hello user=alice n=5 x=12.5 ok=true no=false nothing=null j={\"a\":[1,2]} "
	              "u=18446744073709551615 neg=-9223372036854775808 big=1e+300 hundred=100.0\n");
	/* {extra[key]} shows a field and takes it out of the pairs. */
	expect_fields("{message} [{extra[user]}] [{extra[j]}] [{extra[x]}] [{extra[nothing]}] "
	              "[{extra[ok]}] [{extra[missing]}]",
	              f, 4,
	              "hello [alice] [] [12.5] [] [true] [] n=5\n");
	expect_fields("{extra[j]}|{extra[nothing]}|{extra[neg]}", f, LEN(f),
	              "{\"a\":[1,2]}|null|-9223372036854775808 user=alice n=5 x=12.5 ok=true "
	              "no=false u=18446744073709551615 big=1e+300 hundred=100.0\n");
	/* {extra} shows them all, as JSON, and no pairs follow. */
	expect_fields("{message} {extra}", f, LEN(f),
	              "hello {\"user\":\"alice\",\"n\":5,\"x\":12.5,\"ok\":true,\"no\":false,"
	              "\"nothing\":null,\"j\":{\"a\":[1,2]},\"u\":18446744073709551615,"
	              "\"neg\":-9223372036854775808,\"big\":1e+300,\"hundred\":100.0}\n");
	/* {extra} is valid JSON. */
	char *line = format_spec("{extra}", &(struct spec){"", 0, NULL, 20, 0, T0, NULL, SIZE_MAX},
	                         f, LEN(f), true);
	json_error_t jerr;
	json_t *parsed = json_loadb(line, strlen(line) - 1, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
	                           &jerr);
	ck_assert_msg(parsed != NULL, "{extra} is not JSON: %s (%s)", line, jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(parsed, "user")), "alice");
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(parsed, "j"), "a")), 2);
	json_decref(parsed);
	free(line);
	json_decref(j);

	/* Not finite doubles: nan/inf in text, null in JSON. */
	jlog_field nf[] = {JLOG_DOUBLE("a", NAN), JLOG_DOUBLE("b", INFINITY),
	                   JLOG_DOUBLE("c", -INFINITY), JLOG_DOUBLE("d", -0.0)};
	expect_fields("-", nf, LEN(nf), "- a=nan b=inf c=-inf d=-0.0\n");
	expect_fields("{extra[a]} {extra[c]}|{extra}", nf, LEN(nf),
	              "nan -inf|{\"a\":null,\"b\":null,\"c\":null,\"d\":-0.0}\n");

	/* Quoting: empty, spaces, quotes, '=', control characters. */
	jlog_field q[] = {
		JLOG_STR("s", "two words"), JLOG_STR("q", "say \"hi\""), JLOG_STR("eq", "a=b"),
		JLOG_STR("empty", ""),      JLOG_STR("nl", "a\nb"),      JLOG_STR("ctl", "\x1b[31m"),
		JLOG_STR("ap", "it's"),     JLOG_STR("path", "C:\\dir"), JLOG_STR("tab", "a\tb"),
		JLOG_STR("c1", "a\xc2\x85" "b"), JLOG_STR("ls", "a\xe2\x80\xa8" "b"),
		JLOG_STR("bad", "a\xff" "b"), JLOG_STR("uni", "h\xc3\xa9"),
		JLOG_STR("bs", "a \\ b"),
	};
	expect_fields("m", q, LEN(q),
	              "m s=\"two words\" q=\"say \\\"hi\\\"\" eq=\"a=b\" empty=\"\" nl=\"a\\nb\" "
	              "ctl=\"\\u001b[31m\" ap=\"it's\" path=C:\\dir tab=\"a\\tb\" c1=\"a\\u0085b\" "
	              "ls=\"a\\u2028b\" bad=a\xef\xbf\xbd" "b uni=h\xc3\xa9 bs=\"a \\\\ b\"\n");
	/* In {extra[key]} a string is plain, escapes only for control
	 * characters. */
	expect_fields("{extra[q]}|{extra[nl]}|{extra[s]}|{extra[bs]}", q, LEN(q),
	              "say \"hi\"|a\\nb|two words|a \\ b eq=\"a=b\" empty=\"\" "
	              "ctl=\"\\u001b[31m\" ap=\"it's\" path=C:\\dir tab=\"a\\tb\" c1=\"a\\u0085b\" "
	              "ls=\"a\\u2028b\" bad=a\xef\xbf\xbd" "b uni=h\xc3\xa9\n");

	/* Keys are quoted by the same rule. */
	jlog_field k[] = {JLOG_INT("my key", 1), JLOG_INT("", 2), JLOG_INT("a=b", 3),
	                  JLOG_INT("k\"q", 4), JLOG_INT("line\nbreak", 5), JLOG_INT("\xff", 6)};
	expect_fields("m", k, LEN(k),
	              "m \"my key\"=1 \"\"=2 \"a=b\"=3 \"k\\\"q\"=4 \"line\\nbreak\"=5 "
	              "\xef\xbf\xbd=6\n");
	/* {extra[key]} finds keys as printed. */
	expect_fields("{extra[my key]}|{extra[k\"q]}|{extra[\xef\xbf\xbd]}", k, LEN(k),
	              "1|4|6 \"\"=2 \"a=b\"=3 \"line\\nbreak\"=5\n");
}
END_TEST

START_TEST(test_duplicates)
{
	/* Bound fields first, then the call's: the last one wins, in its
	 * own position. */
	jlog_field f[] = {JLOG_INT("a", 1), JLOG_STR("user", "bob"), JLOG_INT("b", 2),
	                  JLOG_STR("user", "alice"), JLOG_INT("a", 3)};
	expect_fields("m", f, LEN(f), "m b=2 user=alice a=3\n");
	expect_fields("{extra[user]} {extra[a]}", f, LEN(f), "alice 3 b=2\n");
	expect_fields("{extra}", f, LEN(f), "{\"b\":2,\"user\":\"alice\",\"a\":3}\n");
	/* Keys equal once printed: both invalid bytes become U+FFFD. */
	jlog_field g[] = {JLOG_INT("\x80", 1), JLOG_INT("\xff", 2)};
	expect_fields("m", g, LEN(g), "m \xef\xbf\xbd=2\n");

	/* Many fields: the hash table path. */
	jlog_field many[80];
	char keys[40][8];
	for (int i = 0; i < 40; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		many[i] = JLOG_INT(keys[i], i);
		many[40 + i] = JLOG_INT(keys[i], 100 + i);
	}
	struct spec sp = base();
	char *line = format_spec("m", &sp, many, LEN(many), false);
	char want[1024] = "m";
	for (int i = 0; i < 40; i++) {
		char one[16];
		snprintf(one, sizeof(one), " k%d=%d", i, 100 + i);
		strcat(want, one);
	}
	strcat(want, "\n");
	ck_assert_str_eq(line, want);
	free(line);
	line = format_spec("{extra[k7]}", &sp, many, LEN(many), false);
	ck_assert_msg(strncmp(line, "107 k0=100 k1=101", 17) == 0, "%s", line);
	ck_assert_ptr_null(strstr(line, "k7="));
	free(line);
}
END_TEST

START_TEST(test_flags)
{
	/* Truncated values and messages end in an ellipsis. */
	struct spec sp = base();
	sp.val_cap = 4;
	sp.flags = JLOG__REC_TRUNCATED | JLOG__REC_MSG_TRUNCATED;
	jlog_field f[] = {JLOG_STR("s", "abcdefgh"), JLOG_STR("t", "ab cdefgh"), JLOG_INT("n", 1)};
	expect_spec("{message}", &sp, f, LEN(f), false,
	            "hello\xe2\x80\xa6 truncated=true s=abcd\xe2\x80\xa6 t=\"ab c\xe2\x80\xa6\" n=1\n");
	expect_spec("{extra[s]}|{extra[s]:.4}|{extra}", &sp, f, LEN(f), false,
	            "abcd\xe2\x80\xa6|abcd|{\"s\":\"abcd\xe2\x80\xa6\",\"t\":\"ab c\xe2\x80\xa6\","
	            "\"n\":1} truncated=true\n");

	/* A drop report: no callsite, a count. */
	struct jlog__rec_view v;
	sp = base();
	sp.cs = NULL;
	sp.level = JLOG_LEVEL_WARNING;
	sp.msg = "records dropped";
	sp.msg_len = strlen(sp.msg);
	uint8_t *rec = make_record(&sp, NULL, 0, &v);
	v.dropped = 17;
	struct jlog__template *t = compile_ok(jlog__default_text_format);
	char *line = format_view(t, &v, false);
	ck_assert_str_eq(line, "2026-11-26 04:02:03.123 | WARNING  | (unknown file):(unknown "
	                       "function):0 - records dropped dropped=17\n");
	free(line);
	jlog__template_free(t);
	free(rec);
}
END_TEST

START_TEST(test_injection)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{"line1\nline2\r\n", 13, "line1\\nline2\\r\\n"},
		{"\x1b[2J\x07\x7f\b\f\t", 9, "\\u001b[2J\\u0007\\u007f\\b\\f\\t"},
		{"a\0b", 3, "a\\u0000b"},
		{"nel\xc2\x85 csi\xc2\x9b" "1m", 13, "nel\\u0085 csi\\u009b1m"},
		{"\xe2\x80\xa8\xe2\x80\xa9", 6, "\\u2028\\u2029"},
		{"\xff\xc3(", 3, "\xef\xbf\xbd\xef\xbf\xbd("},
		{"ab\xe2\x82", 4, "ab\xef\xbf\xbd"},
		{"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf0\x9f\x98\x80 ok \xc2\xa0", 10, "\xf0\x9f\x98\x80 ok \xc2\xa0"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct spec sp = base();
		sp.msg = cases[i].in;
		sp.msg_len = cases[i].len;
		sp.name = "x\ny";
		char want[256];
		snprintf(want, sizeof(want), "%s|x\\ny\n", cases[i].out);
		expect_spec("{message}|{name}", &sp, NULL, 0, true, want);

		/* The same in a value, a key and {extra}. */
		jlog_field f[] = {jlog__field_strn("v", cases[i].in, cases[i].len)};
		sp = base();
		char *line = format_spec("{extra[v]}", &sp, f, 1, false);
		snprintf(want, sizeof(want), "%s\n", cases[i].out);
		ck_assert_str_eq(line, want);
		free(line);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Fuzz                                                                     */
/* ------------------------------------------------------------------------ */

/* Bytes that stress the escaping. */
static void rnd_bytes(char *out, size_t n)
{
	static const char special[] = "\n\r\t\x1b\x7f\"\\= '<>{}%[]";
	static const char *const seqs[] = {"\xc2\x85", "\xc2\x9b", "\xe2\x80\xa8", "\xed\xa0\x80",
	                                   "\xc3\xa9", "\xf0\x9f\x98\x80", "\xe2\x82", "\xff"};
	size_t i = 0;
	while (i < n) {
		uint64_t r = rnd();
		switch (r % 5) {
		case 0:
			out[i++] = (char)(r >> 8);
			break;
		case 1:
			out[i++] = special[(r >> 8) % (sizeof(special) - 1)];
			break;
		case 2: {
			const char *s = seqs[(r >> 8) % LEN(seqs)];
			size_t k = strlen(s);
			if (k > n - i)
				k = n - i;
			memcpy(out + i, s, k);
			i += k;
			break;
		}
		default:
			out[i++] = (char)('a' + (r >> 8) % 26);
			break;
		}
	}
}

/* Well-formed UTF-8 throughout. */
static bool valid_utf8(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
		           : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (!len || i + len > n)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/*
 * Check a line: one '\n', at the end; valid UTF-8; no control character
 * (nor C1, U+2028/9) but the ESC of well-formed SGR sequences when @color.
 * Returns the line with those sequences removed (in @plain).
 */
static void check_line(const char *p, size_t n, bool color, char *plain, size_t *plen)
{
	CHECK(n > 0 && p[n - 1] == '\n', "no newline at the end");
	CHECK(valid_utf8((const unsigned char *)p, n), "invalid UTF-8: %.*s", (int)n, p);
	size_t k = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0x1b && color) {
			CHECK(i + 2 < n && p[i + 1] == '[', "ESC not starting an SGR sequence");
			size_t j = i + 2;
			while (j < n && ((p[j] >= '0' && p[j] <= '9') || p[j] == ';'))
				j++;
			CHECK(j < n && p[j] == 'm' && j > i + 2, "malformed SGR sequence");
			i = j;
			continue;
		}
		CHECK(c >= 0x20 && c != 0x7f, "raw byte 0x%02x at %zu: %.*s", c, i, (int)n, p);
		CHECK(!(c == 0xc2 && (unsigned char)p[i + 1] < 0xa0), "raw C1 at %zu", i);
		CHECK(!(c == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
		        ((unsigned char)p[i + 2] & 0xfe) == 0xa8),
		      "raw U+2028/9 at %zu", i);
		plain[k++] = (char)c;
	}
	plain[k++] = '\n';
	*plen = k;
}

START_TEST(test_fuzz)
{
	static const char *const templates[] = {
		jlog__default_text_format,
		SEED_FORMAT,
		"{time} {time:X x A dddd [YYYY] %F} {level.icon} {level.no:>4} {name:.5} "
		"<fg #abcdef>{module:^12}</fg #abcdef> {file}:{line:05} {thread} {process} "
		"<r><b>{message:>30.10}</b></r> {extra[k1]:*^9} {extra[k2]}",
		"<level>{message}</level> {extra}",
	};
	struct jlog__template *t[LEN(templates)];
	for (size_t i = 0; i < LEN(templates); i++)
		t[i] = compile_ok(templates[i]);

	unsigned long iters = tc_scale(10000, 500);
	char msg[64], name[16], keys[8][12], vals[8][24], plain[1 << 16];
	json_t *jv = json_pack("{s:s}", "k\n\xe2\x80\xa8", "v\x1b\x7f");
	struct jlog__buf b, b2;
	jlog__buf_init(&b);
	jlog__buf_init(&b2);
	for (unsigned long it = 0; it < iters; it++) {
		struct spec sp = base();
		sp.msg_len = rnd() % sizeof(msg);
		rnd_bytes(msg, sp.msg_len);
		sp.msg = msg;
		size_t nl = rnd() % 4 ? 0 : rnd() % (sizeof(name) - 1) + 1;
		rnd_bytes(name, nl);
		name[nl] = '\0';
		sp.name = nl && !memchr(name, '\0', nl) ? name : NULL;
		sp.level = (int)(rnd() % 256);
		sp.time_ns = rnd() % 16 ? rnd() % (UINT64_MAX / 2) : rnd();
		sp.flags = (unsigned)(rnd() % 8);
		sp.cs = rnd() % 8 ? &cs_handle : NULL;
		sp.val_cap = rnd() % 4 ? SIZE_MAX : rnd() % 8;

		jlog_field f[8];
		size_t nf = rnd() % 9;
		for (size_t i = 0; i < nf; i++) {
			size_t kl = rnd() % 4 ? 2 : rnd() % (sizeof(keys[i]) - 1);
			if (kl == 2) {
				keys[i][0] = 'k';
				keys[i][1] = (char)('0' + rnd() % 4);
			} else {
				rnd_bytes(keys[i], kl);
			}
			keys[i][kl] = '\0';
			size_t vl = rnd() % sizeof(vals[i]);
			rnd_bytes(vals[i], vl);
			double d;
			uint64_t bits = rnd();
			memcpy(&d, &bits, sizeof(d));
			switch (rnd() % 8) {
			case 0: f[i] = jlog__field_strn(keys[i], vals[i], vl); break;
			case 1: f[i] = JLOG_INT(keys[i], (int64_t)rnd()); break;
			case 2: f[i] = JLOG_UINT(keys[i], rnd()); break;
			case 3: f[i] = JLOG_DOUBLE(keys[i], d); break;
			case 4: f[i] = JLOG_BOOL(keys[i], rnd() & 1); break;
			case 5: f[i] = JLOG_NULL(keys[i]); break;
			case 6: f[i] = JLOG_JSON(keys[i], jv); break;
			default: f[i] = jlog__field_strn(keys[i], vals[i], vl); break;
			}
		}
		struct jlog__rec_view v;
		uint8_t *rec = make_record(&sp, f, nf, &v);
		if (rnd() % 16 == 0)
			v.dropped = rnd();

		size_t ti = it % LEN(templates);
		b.len = 0;
		b2.len = 0;
		jlog__format_text(&b, &v, &test_ctx, t[ti], true);
		jlog__format_text(&b2, &v, &test_ctx, t[ti], false);
		CHECK(!b.failed && !b2.failed, "out of memory");
		CHECK(b.len < sizeof(plain) && b2.len < sizeof(plain), "line too long");
		CHECK(memchr(b.p, '\n', b.len) == b.p + b.len - 1, "newline inside a line");
		CHECK(memchr(b2.p, '\n', b2.len) == b2.p + b2.len - 1, "newline inside a line");
		size_t plen, plen2;
		check_line(b2.p, b2.len, false, plain, &plen2);
		check_line(b.p, b.len, true, plain, &plen);
		/* Colors only add SGR sequences. */
		CHECK(plen == b2.len && memcmp(plain, b2.p, plen) == 0,
		      "colored line differs from the plain one:\n%.*s%.*s", (int)plen, plain,
		      (int)b2.len, b2.p);
		free(rec);
	}
	jlog__buf_finish(&b);
	jlog__buf_finish(&b2);
	json_decref(jv);
	for (size_t i = 0; i < LEN(templates); i++)
		jlog__template_free(t[i]);
}
END_TEST

/*
 * Random templates from pieces of the language: each one compiles, or is
 * refused with a message "format: ... at column N" that fits the buffer;
 * what compiles formats a record into one line.
 */
START_TEST(test_compile_fuzz)
{
	static const char *const pieces[] = {
		"{", "}", "{{", "}}", "<", ">", "</", "</>", "\\", "<red>", "</red>", "<b>", "</b>",
		"<level>", "</level>", "<fg #abc>", "<bg 12>", "{message}", "{level: <8}",
		"{line:^5}", "{time}", "{time:YYYY [SS] x}", "{time:%F %Q}", "{extra}",
		"{extra[k]}", "{extra[k]:>4.2}", "{name", "{foo}", ":", "!", "[", "]", ".",
		"a", " ", "\xc3\xa9", "\xff", "\n", "0", "8", "<x y>", "{level.icon}",
	};
	unsigned long iters = tc_scale(20000, 1000);
	struct spec sp = base();
	jlog_field f[] = {JLOG_INT("k", 1), JLOG_STR("z", "a b")};
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, f, LEN(f), &v);
	struct jlog__buf b;
	jlog__buf_init(&b);
	unsigned ok = 0;
	for (unsigned long it = 0; it < iters; it++) {
		char tmpl[256] = "";
		size_t np = rnd() % 12;
		for (size_t i = 0; i < np; i++)
			strcat(tmpl, pieces[rnd() % LEN(pieces)]);
		struct jlog__template *t = NULL;
		char err[128];
		int r = jlog__template_compile(tmpl, &t, err, sizeof(err));
		if (r) {
			CHECK(r == -EINVAL && t == NULL, "\"%s\": %d", tmpl, r);
			const char *col = strstr(err, " at column ");
			CHECK(strncmp(err, "format: ", 8) == 0 && col && atoi(col + 11) >= 1 &&
			          (size_t)atoi(col + 11) <= strlen(tmpl) + 1,
			      "\"%s\": bad message \"%s\"", tmpl, err);
			continue;
		}
		ok++;
		for (int color = 0; color < 2; color++) {
			b.len = 0;
			jlog__format_text(&b, &v, &test_ctx, t, color);
			CHECK(!b.failed && b.len && memchr(b.p, '\n', b.len) == b.p + b.len - 1,
			      "\"%s\": not one line", tmpl);
		}
		jlog__template_free(t);
	}
	ck_assert_uint_gt(ok, iters / 20);
	jlog__buf_finish(&b);
	free(rec);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Buffers and threads                                                      */
/* ------------------------------------------------------------------------ */

START_TEST(test_appends)
{
	/* Lines append to what the buffer holds. */
	struct jlog__template *t = compile_ok("{level} {message}");
	struct spec sp = base();
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, NULL, 0, &v);
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__buf_lit(&b, "x");
	jlog__format_text(&b, &v, &test_ctx, t, false);
	jlog__format_text(&b, &v, &test_ctx, t, true);
	ck_assert(!b.failed);
	ck_assert_int_eq(b.len, strlen("xINFO hello\nINFO hello\n"));
	ck_assert(memcmp(b.p, "xINFO hello\nINFO hello\n", b.len) == 0);
	jlog__buf_finish(&b);
	free(rec);
	jlog__template_free(t);
}
END_TEST

struct thread_arg {
	const struct jlog__template *t;
	int id;
	bool ok;
};

static void *format_thread(void *p)
{
	struct thread_arg *a = p;
	char key[8], want[64];
	snprintf(key, sizeof(key), "t%d", a->id);
	jlog_field f[] = {JLOG_INT(key, a->id), JLOG_STR("who", key)};
	struct spec sp = base();
	struct jlog__rec_view v;
	uint8_t *rec = make_record(&sp, f, LEN(f), &v);
	snprintf(want, sizeof(want), "INFO    |%-4s| hello t%d=%d\n", key, a->id, a->id);
	struct jlog__buf b;
	jlog__buf_init(&b);
	a->ok = true;
	for (int i = 0; i < 2000 && a->ok; i++) {
		b.len = 0;
		jlog__format_text(&b, &v, &test_ctx, a->t, false);
		a->ok = !b.failed && b.len == strlen(want) && memcmp(b.p, want, b.len) == 0;
	}
	jlog__buf_finish(&b);
	free(rec);
	return NULL;
}

START_TEST(test_threads)
{
	/* One compiled template serves several threads at once. */
	struct jlog__template *t = compile_ok("{level:8}|{extra[who]:4}| {message}");
	pthread_t th[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){t, i, false};
		ck_assert_int_eq(pthread_create(&th[i], NULL, format_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(args[i].ok, "thread %d formatted a wrong line", i);
	}
	jlog__template_free(t);
}
END_TEST

/* Local time: the zone's offset and name, looked up per minute, right on
 * both sides of the DST changes; "!UTC" and X stay UTC. */
static void expect_local(const char *tmpl, uint64_t ns, const char *want)
{
	struct spec sp = base();
	sp.time_ns = ns;
	struct jlog__rec_view v;
	struct jlog__template *t = compile_ok(tmpl);
	jlog__template_set_local(t, true);
	uint8_t *rec = make_record(&sp, NULL, 0, &v);
	char *got = format_view(t, &v, false);
	ck_assert_msg(strcmp(got, want) == 0, "template \"%s\" at %" PRIu64 ":\n got  \"%s\"\n want \"%s\"",
	              tmpl, ns, got, want);
	free(got);
	free(rec);
	jlog__template_free(t);
}

START_TEST(test_local_time)
{
	/* Central European rules as a POSIX TZ string: no tzdata needed. */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	const char *tm = "{time:YYYY-MM-DD HH:mm:ss.SSS Z ZZ zz}|{time:HH:mm ZZ!UTC}|{time:X}";
	expect_local(tm, T0, "2026-11-26 05:02:03.123 +01:00 +0100 CET|04:02 +0000|1795665723\n");
	/* Spring forward at 01:00 UTC: the last second before it, the
	 * first after, in the same minute of UTC records' order. */
	expect_local(tm, 1774745999000000000ull,
	             "2026-03-29 01:59:59.000 +01:00 +0100 CET|00:59 +0000|1774745999\n");
	expect_local(tm, 1774746000000000000ull,
	             "2026-03-29 03:00:00.000 +02:00 +0200 CEST|01:00 +0000|1774746000\n");
	/* Fall back at 01:00 UTC: 02:59:59 CEST, then 02:00:00 CET. */
	expect_local(tm, 1792889999000000000ull,
	             "2026-10-25 02:59:59.000 +02:00 +0200 CEST|00:59 +0000|1792889999\n");
	expect_local(tm, 1792890000000000000ull,
	             "2026-10-25 02:00:00.000 +01:00 +0100 CET|01:00 +0000|1792890000\n");
	/* Back to a cached minute after another: asked again. */
	expect_local("{time:HH:mm ZZ}", 1774745999000000000ull, "01:59 +0100\n");
	/* West of UTC, and loguru's default {time} (%z). */
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	expect_local("{time}", T0 + 3600000000000ull, "2026-11-26T00:02:03.123456-0500\n");
	/* Without set_local the template is UTC. */
	expect("{time:HH:mm ZZ zz}", false, "04:02 +0000 UTC\n");
	unsetenv("TZ");
	tzset();
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("templates");
	tcase_add_test(tc, test_default_format);
	tcase_add_test(tc, test_seed_format);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_local_time);
	tcase_add_test(tc, test_time_tokens);
	tcase_add_test(tc, test_align);
	tcase_add_test(tc, test_markup);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_test(tc, test_extra_pairs);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_injection);
	tcase_add_test(tc, test_appends);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_compile_fuzz);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}
