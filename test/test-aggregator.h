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
	static char p[300];
	snprintf(p, sizeof(p), "%s/%s", tc_srv.dir, name);
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

#endif
