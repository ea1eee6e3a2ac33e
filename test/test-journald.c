/*
 * The journald transport: field names, the entry format, and entries read
 * back from a real systemd-journald (started by tools/aggregator.sh in a
 * private mount namespace; the program exits 77, a skip, when it cannot
 * start) with journalctl -D DIR -o json: every field present with its
 * value, a 1 MiB entry through the sealed memfd, a missing journald
 * reported.
 */
#include "test-aggregator.h"

#include "journald.h"
#include "net-conn.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

static char ident[64];

START_TEST(field_names)
{
	static const char *const cases[][2] = {
		{"http.status", "HTTP_STATUS"}, {"user-id", "USER_ID"}, {"ABC_9", "ABC_9"},
		{"2fa", "F_2FA"}, {"_pid", "F__PID"}, {"", "F_"}, {"message", "F_MESSAGE"},
		{"priority", "F_PRIORITY"}, {"tid", "F_TID"}, {"jlog_json", "F_JLOG_JSON"},
		{"errno", "ERRNO"}, {"\xc3\xa9t\xc3\xa9", "F___T__"},
	};
	char out[JLOG__JOURNALD_NAME_MAX + 1];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = jlog__journald_field_name(cases[i][0], strlen(cases[i][0]), out);
		ck_assert_str_eq(out, cases[i][1]);
		ck_assert_uint_eq(n, strlen(cases[i][1]));
	}
	char key[100];
	memset(key, 'k', 99);
	key[99] = 0;
	ck_assert_uint_eq(jlog__journald_field_name(key, 99, out), 64);
	ck_assert_uint_eq(jlog__journald_field_name("9", 1, out), 3);
}
END_TEST

/* The protocol's two forms: NAME=value, and NAME\n<le64><bytes>\n for a
 * value with a newline. */
START_TEST(entry_format)
{
	jlog_field f[] = {JLOG_STR("two", "a\nb"), JLOG_INT("n", -5)};
	struct jlog__rec_view v;
	uint8_t *rec = tc_make_record(JLOG_LEVEL_WARNING, 0, "hi", NULL, NULL, 0, f, 2, &v);
	struct jlog__journald_opts o;
	jlog__journald_opts_init(&o);
	snprintf(o.identifier, sizeof(o.identifier), "app");
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__journald_entry(&b, &o, "{}", 2, &v);
	const char want[] = "MESSAGE=hi\nPRIORITY=4\nJLOG_LEVEL=WARNING\nSYSLOG_IDENTIFIER=app\n"
	                    "TID=4243\nTWO\n\x03\0\0\0\0\0\0\0a\nb\nN=-5\n";
	ck_assert_uint_eq(b.len, sizeof(want) - 1);
	ck_assert(memcmp(b.p, want, b.len) == 0);
	jlog__buf_finish(&b);
	free(rec);
}
END_TEST

/* A journal field's value as journalctl -o json gives it: a string, or an
 * array of byte values for binary data (a newline, a control byte). */
static char *jvalue(json_t *e, const char *name, size_t *len)
{
	json_t *v = json_object_get(e, name);
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return strndup(json_string_value(v), *len);
	}
	if (json_is_array(v) && json_array_size(v) && json_is_integer(json_array_get(v, 0))) {
		size_t n = json_array_size(v);
		char *s = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)json_integer_value(json_array_get(v, i));
		s[n] = 0;
		*len = n;
		return s;
	}
	*len = 0;
	return NULL;
}

static void expect_field(json_t *e, const char *name, const char *want, size_t wlen)
{
	size_t len;
	char *got = jvalue(e, name, &len);
	ck_assert_msg(got != NULL, "entry has no %s", name);
	ck_assert_msg(len == wlen && memcmp(got, want, len) == 0, "%s: got \"%s\" want \"%s\"",
	              name, got, want);
	free(got);
}

/* The entries of this run: journalctl -D DIR -o json, our identifier. */
static json_t **read_entries(size_t want, size_t *count)
{
	char *dir = tc_server_env("JOURNAL_DIR"), cmd[600], out[300];
	snprintf(out, sizeof(out), "%s/entries.json", tc_srv.dir);
	snprintf(cmd, sizeof(cmd), "journalctl -D '%s' -o json --all --no-pager "
	         "SYSLOG_IDENTIFIER=%s >'%s' 2>/dev/null", dir, ident, out);
	free(dir);
	json_t **lines = NULL;
	*count = 0;
	for (int t = 0; t < 500; t++) {
		if (lines)
			tc_free_lines(lines, *count);
		ck_assert_int_ne(system(cmd), -1);
		size_t len;
		char *text = tc_slurp(out, &len);
		lines = tc_parse_lines_n(text, len, count);
		free(text);
		if (*count >= want)
			break;
		tc_sleep_ms(20);
	}
	return lines;
}

/* The engine to the test's journald; entries get an identifier of their
 * own per test (@test), which read_entries() selects. */
static struct jlog__net *open_journal(struct jlog__journald_opts *jo, const char *test)
{
	snprintf(ident, sizeof(ident), "jlog-test-%d-%s", (int)getpid(), test);
	char *sock = tc_server_env("JOURNAL_SOCK");
	struct jlog__net_opts no = {0};
	ck_assert_int_eq(jlog__journald_net_opts(&no, sock), 0);
	free(sock);
	int err;
	struct jlog__net *n = jlog__net_open(&no, &err);
	ck_assert_ptr_nonnull(n);
	jlog__journald_opts_init(jo);
	snprintf(jo->identifier, sizeof(jo->identifier), "%s", ident);
	return n;
}

static void send_entry(struct jlog__net *n, const struct jlog__journald_opts *jo,
                       const struct jlog__rec_view *v, char **line_out)
{
	struct jlog__buf line, e;
	jlog__buf_init(&line);
	jlog__buf_init(&e);
	struct jlog__line_ctx ctx = {.pid = getpid()};
	jlog__encode_json(&line, v, &ctx);
	ck_assert(!line.failed && line.len && line.p[line.len - 1] == '\n');
	line.len--; /* the hook gets the line without its newline */
	jlog__journald_entry(&e, jo, line.p, line.len, v);
	ck_assert(!e.failed);
	ck_assert_int_eq(jlog__net_write(n, e.p, e.len), 0);
	if (line_out)
		*line_out = strndup(line.p, line.len);
	jlog__buf_finish(&line);
	jlog__buf_finish(&e);
}

START_TEST(entries_read_back)
{
	struct jlog__journald_opts jo;
	struct jlog__net *n = open_journal(&jo, "entries");
	jo.json_field = true;
	const int nrec = (int)tc_scale(500, 50);
	char **lines = calloc((size_t)nrec, sizeof(*lines));
	for (int i = 0; i < nrec; i++) {
		json_t *nested = json_pack("{s:[i,i],s:s}", "a", 1, 2, "b", "x\"y");
		jlog_field f[] = {
			JLOG_INT("i", i),
			JLOG_STR("user-id", "abc é"),
			JLOG_INT("http.status", 200),
			JLOG_BOOL("ok", true),
			JLOG_DOUBLE("ratio", 0.25),
			JLOG_JSON("nested", nested),
			JLOG_STR("message", "shadowed"),
			JLOG_STR("2fa", "on"),
			JLOG_STR("multi", "line1\nline2"),
			JLOG_NULL("nothing"),
			JLOG_UINT("big", 18446744073709551615ull),
		};
		struct jlog__rec_view v;
		uint8_t *rec = tc_make_record(JLOG_LEVEL_ERROR, (uint64_t)time(NULL) * 1000000000u,
		                              "request failed", "server.c", "handle", 42, f,
		                              sizeof(f) / sizeof(f[0]), &v);
		send_entry(n, &jo, &v, &lines[i]);
		free(rec);
		json_decref(nested);
		if (i % 50 == 49)
			jlog__net_flush(n, 1000);
	}
	ck_assert_int_eq(jlog__net_flush(n, 10000), 0);
	struct jlog__net_stats st = jlog__net_stats(n);
	ck_assert_uint_eq(st.frames_sent, (uint64_t)nrec);
	ck_assert_uint_eq(st.lost, 0);
	jlog__net_close(n);

	size_t count;
	json_t **es = read_entries((size_t)nrec, &count);
	ck_assert_uint_eq(count, (size_t)nrec);
	unsigned char *seen = calloc((size_t)nrec, 1);
	for (size_t k = 0; k < count; k++) {
		json_t *e = es[k];
		size_t len;
		char *is = jvalue(e, "I", &len);
		ck_assert_ptr_nonnull(is);
		int i = atoi(is);
		free(is);
		ck_assert(i >= 0 && i < nrec && !seen[i]++);
		expect_field(e, "MESSAGE", "request failed", 14);
		expect_field(e, "PRIORITY", "3", 1);
		expect_field(e, "JLOG_LEVEL", "ERROR", 5);
		expect_field(e, "CODE_FILE", "server.c", 8);
		expect_field(e, "CODE_LINE", "42", 2);
		expect_field(e, "CODE_FUNC", "handle", 6);
		expect_field(e, "TID", "4243", 4);
		expect_field(e, "USER_ID", "abc é", strlen("abc é"));
		expect_field(e, "HTTP_STATUS", "200", 3);
		expect_field(e, "OK", "true", 4);
		expect_field(e, "RATIO", "0.25", 4);
		expect_field(e, "NESTED", "{\"a\":[1,2],\"b\":\"x\\\"y\"}",
		             strlen("{\"a\":[1,2],\"b\":\"x\\\"y\"}"));
		expect_field(e, "F_MESSAGE", "shadowed", 8);
		expect_field(e, "F_2FA", "on", 2);
		expect_field(e, "MULTI", "line1\nline2", 11);
		expect_field(e, "NOTHING", "null", 4);
		expect_field(e, "BIG", "18446744073709551615", 20);
		expect_field(e, "JLOG_JSON", lines[i], strlen(lines[i]));
		/* The JSON line itself parses and carries the record. */
		json_t *j = json_loads(lines[i], JSON_DECODE_INT_AS_REAL, NULL);
		ck_assert_ptr_nonnull(j);
		json_decref(j);
	}
	free(seen);
	tc_free_lines(es, count);
	for (int i = 0; i < nrec; i++)
		free(lines[i]);
	free(lines);
}
END_TEST

/* An entry larger than any datagram goes through the sealed memfd. */
START_TEST(large_entry_memfd)
{
	struct jlog__journald_opts jo;
	struct jlog__net *n = open_journal(&jo, "large");
	size_t big = 1u << 20;
	char *s = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		s[i] = (char)('a' + i % 26);
	s[big] = 0;
	jlog_field f[] = {JLOG_STR("payload", s), JLOG_INT("i", 0)};
	struct jlog__rec_view v;
	uint8_t *rec = tc_make_record(JLOG_LEVEL_INFO, (uint64_t)time(NULL) * 1000000000u,
	                              "large", NULL, NULL, 0, f, 2, &v);
	ck_assert_uint_lt(jlog__net_max_frame(n), big);
	send_entry(n, &jo, &v, NULL);
	ck_assert_int_eq(jlog__net_flush(n, 5000), 0);
	ck_assert_uint_eq(jlog__net_stats(n).frames_sent, 1);
	ck_assert_uint_eq(jlog__net_stats(n).lost, 0);
	jlog__net_close(n);
	size_t count;
	json_t **es = read_entries(1, &count);
	ck_assert_uint_eq(count, 1);
	expect_field(es[0], "MESSAGE", "large", 5);
	expect_field(es[0], "PAYLOAD", s, big);
	tc_free_lines(es, count);
	free(rec);
	free(s);
}
END_TEST

struct reports {
	int n;
	char first[512];
};

static void on_report(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	if (!r->n++)
		snprintf(r->first, sizeof(r->first), "%s", msg);
}

/* No journald at the socket: reported (not silently dropped), not fatal;
 * the entries wait in the outage buffer. */
START_TEST(missing_journald)
{
	struct jlog__net_opts no = {0};
	struct reports r = {0};
	ck_assert_int_eq(jlog__journald_net_opts(&no, "/nonexistent/journal/socket"), 0);
	no.report = on_report;
	no.report_ctx = &r;
	int err;
	struct jlog__net *n = jlog__net_open(&no, &err);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(jlog__net_write(n, "MESSAGE=x\n", 10), 0);
	jlog__net_tick(n);
	ck_assert_int_eq(r.n, 1);
	ck_assert_msg(strstr(r.first, "journald:/nonexistent/journal/socket") &&
	              strstr(r.first, "No such file"), "%s", r.first);
	ck_assert_uint_eq(jlog__net_queued(n), 10);
	jlog__net_close(n);
}
END_TEST

/* Through the logger: 100,000 records from 4 threads to a "journald"
 * sink with JLOG_JSON, each one entry with every field; JLOG_JSON equals
 * the line a file sink of the same logger got. */
/* journalctl -D JOURNAL_DIR @args into a file of the server's directory;
 * its text (free() it), *len its size. */
static char *journalctl(const char *args, size_t *len)
{
	char *dir = tc_server_env("JOURNAL_DIR"), cmd[1200], out[300];
	snprintf(out, sizeof(out), "%s/journalctl.out", tc_srv.dir);
	snprintf(cmd, sizeof(cmd), "journalctl -D '%s' --all --no-pager %s >'%s' 2>/dev/null", dir,
	         args, out);
	free(dir);
	ck_assert_int_ne(system(cmd), -1);
	return tc_slurp(out, len);
}

START_TEST(api_journald_100k)
{
	snprintf(ident, sizeof(ident), "jlog-test-%d-api", (int)getpid());
	char *sock = tc_server_env("JOURNAL_SOCK"), opts[512];
	snprintf(opts, sizeof(opts), "{\"socket\":\"%s\",\"journal_json\":true,"
	         "\"identifier\":\"%s\"}", sock, ident);
	free(sock);
	char *oracle = tc_tmppath("oracle.jsonl");
	jlog_logger *lg = tc_open_pair(oracle, "journald", opts, NULL);
	const int threads = 4, per = (int)tc_scale(25000, 250);
	const char *tag = "api-journald";
	tc_produce(lg, tag, threads, per, 0);
	/* journald reads its socket in order: once this one is in, all are. */
	JLOG_INFO(lg, "end of run");
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	ck_assert_uint_eq(st.logged * 2, st.written + st.lost);
	ck_assert_uint_eq(st.lost, 0);
	jlog_close(lg);
	size_t total = (size_t)threads * (size_t)per, nsent, len;
	char **sent = tc_tagged(oracle, tag, &nsent);
	ck_assert_uint_eq(nsent, total);
	char args[400];
	snprintf(args, sizeof(args), "-o cat SYSLOG_IDENTIFIER=%s 'MESSAGE=end of run'", ident);
	for (int t = 0; t < 600; t++) {
		char *text = journalctl(args, &len);
		free(text);
		if (len)
			break;
		tc_sleep_ms(50);
	}
	ck_assert_uint_gt(len, 0);
	/* Every entry's JLOG_JSON (-o cat of one field is fast); then every
	 * field of the last thousand entries (-o json is slow). */
	snprintf(args, sizeof(args), "-o cat --output-fields=JLOG_JSON SYSLOG_IDENTIFIER=%s "
	         "MESSAGE=%s", ident, tag);
	char *text = journalctl(args, &len);
	size_t count;
	char **lines = tc_split_lines(text, len, &count);
	struct tc_tally r = tc_match(sent, nsent, lines, count, threads, per, true);
	printf("journald via jlog: sent %zu, arrived %zu, duplicated %zu, differing %zu\n", r.sent,
	       r.got, r.dup, r.bad);
	ck_assert_uint_eq(r.got, total);
	ck_assert_uint_eq(r.dup, 0);
	ck_assert_uint_eq(r.bad, 0);
	free(lines);
	free(text);
	snprintf(args, sizeof(args), "-o json -n 1000 SYSLOG_IDENTIFIER=%s MESSAGE=%s", ident, tag);
	text = journalctl(args, &len);
	json_t **es = tc_parse_lines_n(text, len, &count);
	free(text);
	ck_assert_uint_eq(count, 1000);
	for (size_t k = 0; k < count; k++) {
		json_t *e = es[k];
		expect_field(e, "MESSAGE", tag, strlen(tag));
		expect_field(e, "PRIORITY", "6", 1);
		expect_field(e, "JLOG_LEVEL", "INFO", 4);
		expect_field(e, "SYSLOG_IDENTIFIER", ident, strlen(ident));
		expect_field(e, "CODE_FILE", "test-aggregator.h", strlen("test-aggregator.h"));
		expect_field(e, "CODE_FUNC", "tc_produce_main", strlen("tc_produce_main"));
		expect_field(e, "S", TC_HOSTILE, strlen(TC_HOSTILE));
		expect_field(e, "D", "0.25", 4);
		expect_field(e, "OK", "true", 4);
		expect_field(e, "NEG", "-1234567890123", 14);
		expect_field(e, "NONE", "null", 4);
		/* The JSON line says the same. */
		size_t jl;
		char *line = jvalue(e, "JLOG_JSON", &jl);
		json_t *j = json_loads(line, 0, NULL);
		ck_assert_ptr_nonnull(j);
		char num[32];
		snprintf(num, sizeof(num), "%lld", json_integer_value(json_object_get(j, "seq")));
		expect_field(e, "SEQ", num, strlen(num));
		snprintf(num, sizeof(num), "%lld", json_integer_value(json_object_get(j, "tid")));
		expect_field(e, "TID", num, strlen(num));
		snprintf(num, sizeof(num), "%lld", json_integer_value(json_object_get(j, "line")));
		expect_field(e, "CODE_LINE", num, strlen(num));
		json_decref(j);
		free(line);
	}
	tc_free_lines(es, count);
	tc_free_strs(sent, nsent);
	unlink(oracle);
	free(oracle);
}
END_TEST

/* A "journald" sink with no journald: jlog_add_sink() succeeds (the
 * entries wait), the outage is reported once on stderr with the socket's
 * error (ENOENT: no socket; ECONNREFUSED: a socket nobody reads), not
 * silently dropped as sd_journal_sendv() would. */
START_TEST(api_journald_missing)
{
	char *dead = tc_tmppath("dead.sock");
	int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", dead);
	ck_assert_int_eq(bind(ds, (struct sockaddr *)&a, sizeof(a)), 0);
	close(ds); /* the path stays, nobody reads it */
	const char *sockets[] = {"/nonexistent/journal/socket", dead};
	const char *errors[] = {"No such file or directory", "Connection refused"};
	for (int i = 0; i < 2; i++) {
		char *err = tc_tmppath("stderr.txt");
		fflush(stderr);
		int saved = dup(STDERR_FILENO), fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_ge(fd, 0);
		dup2(fd, STDERR_FILENO);
		close(fd);
		jlog_options o;
		jlog_options_init(&o);
		o.sink = "stdout";
		o.level = JLOG_LEVEL_OFF;
		jlog_logger *lg = NULL;
		ck_assert_int_eq(jlog_open(&lg, &o), 0);
		jlog_sink_options so;
		jlog_sink_options_init(&so);
		so.sink = "journald";
		char opts[300];
		snprintf(opts, sizeof(opts), "{\"socket\":\"%s\"}", sockets[i]);
		so.options = opts;
		int id = jlog_add_sink(lg, &so);
		ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
		jlog_set_level(lg, JLOG_LEVEL_INFO);
		JLOG_INFO(lg, "waits");
		JLOG_INFO(lg, "waits too");
		int frc = jlog_flush(lg);
		jlog_close(lg);
		fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);
		ck_assert_int_ge(id, 1);
		ck_assert_int_eq(frc, 0);
		size_t len;
		char *text = tc_slurp(err, &len);
		char want[300];
		snprintf(want, sizeof(want), "jlog: sink journald:%s: connect: %s", sockets[i],
		         errors[i]);
		char *at = strstr(text, want);
		ck_assert_msg(at != NULL, "%s", text);
		ck_assert_ptr_null(strstr(at + 1, want)); /* once per outage */
		free(text);
		unlink(err);
		free(err);
	}
	unlink(dead);
	free(dead);
}
END_TEST

Suite *jlog_test_suite(void)
{
	tc_server_start_or_skip("journald");
	Suite *s = suite_create("journald");
	TCase *tc = tcase_create("journald");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, field_names);
	tcase_add_test(tc, entry_format);
	tcase_add_test(tc, entries_read_back);
	tcase_add_test(tc, large_entry_memfd);
	tcase_add_test(tc, missing_journald);
	tcase_add_test(tc, api_journald_100k);
	tcase_add_test(tc, api_journald_missing);
	suite_add_tcase(s, tc);
	return s;
}
