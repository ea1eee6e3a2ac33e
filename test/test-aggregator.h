/*
 * Helpers of the suites that run against real aggregators (test-net.c,
 * test-journald.c): start/stop a server through tools/aggregator.sh (its
 * path in $JLOG_AGGREGATOR), read its endpoints, wait for what it wrote,
 * and build records for the framing hooks.
 */
#ifndef JLOG_TEST_AGGREGATOR_H
#define JLOG_TEST_AGGREGATOR_H

#include "test-common.h"

#include "jlog-private.h"

#include <sys/wait.h>
#include <time.h>

struct tc_server {
	char name[32];
	char dir[256];
	pid_t owner; /* the process that stops it at exit (not Check's forks) */
};

static struct tc_server tc_srv;

static inline int tc_aggregator(const char *cmd, const char *server, const char *dir)
{
	const char *tool = getenv("JLOG_AGGREGATOR");
	if (!tool)
		tool = "tools/aggregator.sh";
	char line[1024];
	snprintf(line, sizeof(line), "%s %s %s %s >/dev/null", tool, cmd, server, dir ? dir : "");
	int st = system(line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static inline void tc_server_stop_at_exit(void)
{
	if (tc_srv.owner == getpid() && tc_srv.dir[0])
		tc_aggregator("stop", tc_srv.name, tc_srv.dir);
}

/*
 * Install and start @server in a fresh directory, or exit 77 (meson's
 * skip) saying why. Called from jlog_test_suite() so that a server that
 * cannot run skips the whole program, never passes it.
 */
static inline void tc_server_start_or_skip(const char *server)
{
	snprintf(tc_srv.name, sizeof(tc_srv.name), "%s", server);
	int rc = tc_aggregator("install", server, NULL);
	if (rc == 0) {
		snprintf(tc_srv.dir, sizeof(tc_srv.dir), "/tmp/jlog-agg-XXXXXX");
		if (!mkdtemp(tc_srv.dir))
			rc = 77;
		else
			rc = tc_aggregator("start", server, tc_srv.dir);
	}
	if (rc != 0) {
		fprintf(stderr, "SKIP: %s cannot be installed or started here "
		        "(tools/aggregator.sh exit %d)\n", server, rc);
		exit(TC_SKIP);
	}
	tc_srv.owner = getpid();
	atexit(tc_server_stop_at_exit);
}

static inline void tc_server_restart(void)
{
	ck_assert_int_eq(tc_aggregator("restart", tc_srv.name, tc_srv.dir), 0);
}

static inline void tc_server_stop(void)
{
	ck_assert_int_eq(tc_aggregator("stop", tc_srv.name, tc_srv.dir), 0);
}

/* The value of NAME in the server's env file; free() it. */
static inline char *tc_server_env(const char *name)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/env", tc_srv.dir);
	size_t len;
	char *text = tc_slurp(p, &len);
	size_t nl = strlen(name);
	for (char *l = text; l && *l;) {
		char *e = strchr(l, '\n');
		if (e)
			*e = 0;
		if (strncmp(l, name, nl) == 0 && l[nl] == '=') {
			char *v = strdup(l + nl + 1);
			free(text);
			return v;
		}
		l = e ? e + 1 : NULL;
	}
	free(text);
	ck_abort_msg("no %s in %s", name, p);
	return NULL;
}

/* The server's file @name (DIR/name) path; static buffer. */
static inline const char *tc_server_file(const char *name)
{
	static char p[400];
	snprintf(p, sizeof(p), "%.250s/%.120s", tc_srv.dir, name);
	return p;
}

static inline size_t tc_count_lines(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static inline void tc_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait up to @ms for @path to hold at least @want lines (servers write
 * asynchronously); then wait until the count stops growing for 200 ms,
 * so that duplicates would show. Returns the count. */
static inline size_t tc_wait_lines(const char *path, size_t want, unsigned ms)
{
	size_t n = 0;
	for (unsigned t = 0; t < ms; t += 10) {
		n = tc_count_lines(path);
		if (n >= want)
			break;
		tc_sleep_ms(10);
	}
	for (int stable = 0; stable < 20;) {
		tc_sleep_ms(10);
		size_t m = tc_count_lines(path);
		stable = m == n ? stable + 1 : 0;
		n = m;
	}
	return n;
}

/* Split @text into lines in place; *n gets the count; free() the array. */
static inline char **tc_split_lines(char *text, size_t len, size_t *n)
{
	size_t cap = 1024, k = 0;
	char **v = malloc(cap * sizeof(*v));
	ck_assert_ptr_nonnull(v);
	char *p = text, *end = text + len;
	while (p < end) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		*e = 0;
		if (k == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			ck_assert_ptr_nonnull(v);
		}
		v[k++] = p;
		p = e + 1;
	}
	*n = k;
	return v;
}

/*
 * A record as the logger builds it, decoded into *v (strings point into
 * the returned bytes; free() them). @file/@function may be NULL.
 */
static inline uint8_t *tc_make_record(int level, uint64_t time_ns, const char *msg,
                                      const char *file, const char *function, int line,
                                      const jlog_field *fields, size_t n,
                                      struct jlog__rec_view *v)
{
	size_t msg_len = strlen(msg);
	size_t cap = sizeof(struct jlog__rec_hdr) + msg_len;
	for (size_t i = 0; i < n; i++)
		cap += jlog__field_size(&fields[i]);
	uint8_t *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	struct jlog__rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.time_ns = time_ns;
	h.tid = 4243;
	h.msg_len = (uint32_t)msg_len;
	h.nfields = (uint32_t)n;
	h.level = (uint8_t)level;
	memcpy(buf, &h, sizeof(h));
	uint8_t *p = buf + sizeof(h);
	memcpy(p, msg, msg_len);
	p += msg_len;
	for (size_t i = 0; i < n; i++)
		p += jlog__field_write(p, &fields[i], SIZE_MAX);
	ck_assert(jlog__record_decode(buf, (size_t)(p - buf), v));
	v->file = file;
	v->function = function;
	v->line = line;
	return buf;
}

/* ---- records through a logger ------------------------------------------ */

#include <pthread.h>

/* A value with everything that breaks naive framing and parsing. */
#define TC_HOSTILE "quote \" backslash \\ tab \t nl \n ctl \x01 \xc3\xa9 \xe2\x88\x91 " \
                   "\xf0\x9f\x8e\x89 '; DROP TABLE users; -- <script>"

/*
 * A logger with two sinks of preset @preset: the file @file (the oracle:
 * the same lines as the other sink gets, from the same writer) and @sink
 * with @options (JSON text or NULL).
 */
static inline jlog_logger *tc_open_pair(const char *file, const char *sink,
                                        const char *options, const char *preset)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "stderr";
	o.level = JLOG_LEVEL_OFF;
	o.queue_size = 1 << 24;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.preset = preset;
	so.sink = file;
	ck_assert_msg(jlog_add_sink(lg, &so) >= 0, "%s: %s", file, jlog_last_error());
	so.sink = sink;
	so.options = options;
	ck_assert_msg(jlog_add_sink(lg, &so) >= 0, "%s: %s", sink, jlog_last_error());
	ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
	jlog_set_level(lg, JLOG_LEVEL_TRACE);
	return lg;
}

struct tc_producer {
	jlog_logger *lg;
	const char *tag;
	int thread, n, pace_every;
};

static inline void *tc_produce_main(void *arg)
{
	struct tc_producer *p = arg;
	for (int i = 0; i < p->n; i++) {
		JLOG_INFO(p->lg, p->tag, JLOG_INT("t", p->thread), JLOG_INT("seq", i),
		          JLOG_STR("s", TC_HOSTILE), JLOG_DOUBLE("d", 0.25), JLOG_BOOL("ok", true),
		          JLOG_INT("neg", -1234567890123LL), JLOG_NULL("none"),
		          JLOG_INT("big", 9007199254740993LL),
		          JLOG_INT("bigneg", -9007199254740993LL));
		if (p->pace_every && i % p->pace_every == p->pace_every - 1)
			tc_sleep_ms(1);
	}
	return NULL;
}

/* @threads threads log @per records each (tagged @tag in the message;
 * fields t and seq say which); sleep 1 ms every @pace_every records per
 * thread when not 0. */
static inline void tc_produce(jlog_logger *lg, const char *tag, int threads, int per,
                              int pace_every)
{
	pthread_t th[16];
	struct tc_producer p[16];
	ck_assert_int_le(threads, 16);
	for (int t = 0; t < threads; t++) {
		p[t] = (struct tc_producer){lg, tag, t, per, pace_every};
		ck_assert_int_eq(pthread_create(&th[t], NULL, tc_produce_main, &p[t]), 0);
	}
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
}

/* The lines of @path that contain @tag (a copy each), in order. */
static inline char **tc_tagged(const char *path, const char *tag, size_t *n)
{
	size_t len;
	FILE *f = fopen(path, "rb");
	*n = 0;
	if (!f)
		return calloc(1, sizeof(char *));
	fclose(f);
	char *text = tc_slurp(path, &len);
	size_t nl;
	char **all = tc_split_lines(text, len, &nl);
	char **out = calloc(nl + 1, sizeof(*out));
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < nl; i++)
		if (strstr(all[i], tag))
			out[(*n)++] = strdup(all[i]);
	free(all);
	free(text);
	return out;
}

static inline void tc_free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* How many times @tag occurs in @path (0 when it does not exist). */
static inline size_t tc_count_tag(const char *path, const char *tag)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	fclose(f);
	size_t len, n = 0, tl = strlen(tag);
	char *text = tc_slurp(path, &len);
	for (char *p = text; (p = memmem(p, len - (size_t)(p - text), tag, tl)) != NULL; p += tl)
		n++;
	free(text);
	return n;
}

/* Wait until @path holds @want lines with @tag, or the count stops
 * growing for @quiet_ms (the server flushed all it will), within @ms.
 * Returns the last count. */
static inline size_t tc_wait_tagged(const char *path, const char *tag, size_t want,
                                    unsigned ms, unsigned quiet_ms)
{
	size_t n = 0, last = (size_t)-1;
	unsigned still = 0;
	for (unsigned t = 0; t < ms; t += 50) {
		n = tc_count_tag(path, tag);
		if (n >= want)
			break;
		still = n == last ? still + 50 : 0;
		if (still >= quiet_ms)
			break;
		last = n;
		tc_sleep_ms(50);
	}
	/* A duplicate would show after the count was reached. */
	tc_sleep_ms(100);
	return tc_count_tag(path, tag);
}

struct tc_tally {
	size_t sent, got, dup, bad;
};

/*
 * Match @got (lines received) against @sent (the oracle's lines) by the
 * record's (t, seq): each received line must parse and equal the sent line
 * of its record byte for byte (@byte_exact) or as JSON (parsed equal,
 * types kept). @threads x @per records.
 */
/* The record number t * per + seq of a parsed line; t and seq sit at the
 * top or in the preset's object of fields (loguru's record.extra: two
 * levels down). SIZE_MAX when absent. */
static inline size_t tc_record_no(json_t *j, int per)
{
	json_t *t = json_object_get(j, "t"), *q = json_object_get(j, "seq");
	if (json_is_integer(t) && json_is_integer(q))
		return (size_t)json_integer_value(t) * (size_t)per + (size_t)json_integer_value(q);
	const char *key;
	json_t *sub;
	json_object_foreach(j, key, sub) {
		size_t k = json_is_object(sub) ? tc_record_no(sub, per) : SIZE_MAX;
		if (k != SIZE_MAX)
			return k;
	}
	return SIZE_MAX;
}

static inline struct tc_tally tc_match(char **sent, size_t nsent, char **got, size_t ngot,
                                       int threads, int per, bool byte_exact)
{
	struct tc_tally r = {.sent = nsent};
	size_t total = (size_t)threads * (size_t)per;
	ck_assert_uint_eq(nsent, total);
	char **by = calloc(total, sizeof(*by));
	unsigned char *seen = calloc(total, 1);
	for (size_t i = 0; i < nsent; i++) {
		json_t *j = json_loads(sent[i], 0, NULL);
		ck_assert_msg(j != NULL, "oracle line does not parse: %s", sent[i]);
		size_t k = tc_record_no(j, per);
		ck_assert_msg(k < total && !by[k], "%s", sent[i]);
		by[k] = sent[i];
		json_decref(j);
	}
	for (size_t i = 0; i < ngot; i++) {
		json_t *j = json_loads(got[i], 0, NULL);
		size_t k = j ? tc_record_no(j, per) : SIZE_MAX;
		bool ok = k < total && by[k];
		if (ok && byte_exact) {
			ok = strcmp(by[k], got[i]) == 0;
		} else if (ok) {
			json_t *w = json_loads(by[k], 0, NULL);
			ok = json_equal(w, j);
			json_decref(w);
		}
		json_decref(j);
		if (!ok) {
			if (r.bad++ < 3)
				fprintf(stderr, "differs: %s\n   sent: %s\n", got[i],
				        k < total && by[k] ? by[k] : "(none)");
			continue;
		}
		if (seen[k]++)
			r.dup++;
		else
			r.got++;
	}
	free(by);
	free(seen);
	return r;
}

#endif
