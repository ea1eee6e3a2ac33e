/*
 * The network transports: sink strings, framing, and the connection
 * engine (outage buffer, torn frames, reconnects, datagram limits) against
 * listeners of the test's own; then, with JLOG_TEST_SERVER=rsyslog or
 * syslog-ng, delivery to the real server started by tools/aggregator.sh
 * (the program exits 77, a skip, when it cannot start).
 */
#include "test-aggregator.h"

#include "net-addr.h"
#include "net-conn.h"
#include "syslog-frame.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

/* ---- reports --------------------------------------------------------- */

struct reports {
	int n;
	char msg[8][512];
};

static void on_report(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	if (r->n < 8)
		snprintf(r->msg[r->n], sizeof(r->msg[0]), "%s", msg);
	r->n++;
}

static bool reported(const struct reports *r, const char *what)
{
	for (int i = 0; i < r->n && i < 8; i++)
		if (strstr(r->msg[i], what))
			return true;
	return false;
}

static struct jlog__net *open_net(const char *sink, struct jlog__net_opts *o, struct reports *r)
{
	ck_assert_msg(jlog__net_addr_parse(sink, &o->addr) == 0, "%s", jlog_last_error());
	o->report = on_report;
	o->report_ctx = r;
	int err = 0;
	struct jlog__net *n = jlog__net_open(o, &err);
	ck_assert_msg(n != NULL, "open %s: %d %s", sink, err, jlog_last_error());
	return n;
}

/* A TCP port on 127.0.0.1 nobody listens on now. */
static int free_tcp_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	close(s);
	return ntohs(a.sin_port);
}

static int listen_tcp(int port, int rcvbuf)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_msg(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %d", port);
	ck_assert_int_eq(listen(s, 8), 0);
	return s;
}

/* Read @fd to EOF into a malloc'd buffer; *len gets its size. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (n == cap)
			b = realloc(b, cap *= 2);
		ssize_t r = read(fd, b + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return b;
}

/* ---- sink strings ----------------------------------------------------- */

START_TEST(addr_parse)
{
	struct jlog__net_addr a;
	ck_assert_int_eq(jlog__net_addr_parse("tcp://127.0.0.1:514", &a), 0);
	ck_assert(a.kind == JLOG__NET_TCP && a.stream && a.numeric);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_str_eq(a.port, "514");
	ck_assert_int_eq(jlog__net_addr_parse("udp://[::1]:5514", &a), 0);
	ck_assert(a.kind == JLOG__NET_UDP && !a.stream && a.numeric);
	ck_assert_str_eq(a.host, "::1");
	char s[64];
	jlog__net_addr_format(&a, s, sizeof(s));
	ck_assert_str_eq(s, "udp://[::1]:5514");
	ck_assert_int_eq(jlog__net_addr_parse("tcp://logs.example.com:6514", &a), 0);
	ck_assert(!a.numeric);
	ck_assert_str_eq(a.host, "logs.example.com");
	ck_assert_int_eq(jlog__net_addr_parse("unix:/run/x.sock", &a), 0);
	ck_assert(a.kind == JLOG__NET_UNIX && a.stream);
	ck_assert_str_eq(a.path, "/run/x.sock");
	ck_assert_int_eq(jlog__net_addr_parse("unixgram:/dev/log", &a), 0);
	ck_assert(a.kind == JLOG__NET_UNIXGRAM && !a.stream);
	ck_assert_str_eq(a.path, "/dev/log");
	ck_assert_int_eq(jlog__net_addr_parse("unix:///dev/log", &a), 0);
	ck_assert_str_eq(a.path, "/dev/log");

	static const char *const bad[][2] = {
		{"tcp://host", "missing :PORT"},
		{"tcp://:514", "missing host"},
		{"tcp://h:0", "1..65535"},
		{"tcp://h:65536", "1..65535"},
		{"tcp://h:51x", "1..65535"},
		{"tcp://::1:514", "brackets"},
		{"tcp://[::1:514", "closing"},
		{"tcp://[zz]:514", "not an IPv6"},
		{"tcp://a b:1", "character"},
		{"unix:", "missing socket path"},
		{"sctp://h:1", "not tcp://"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(jlog__net_addr_parse(bad[i][0], &a), -EINVAL);
		ck_assert_msg(strstr(jlog_last_error(), bad[i][0]) &&
		              strstr(jlog_last_error(), bad[i][1]),
		              "%s: %s", bad[i][0], jlog_last_error());
	}
	char longp[200] = "unix:/";
	memset(longp + 6, 'a', 150);
	ck_assert_int_eq(jlog__net_addr_parse(longp, &a), -EINVAL);
	ck_assert(jlog__net_addr_is("unixgram:/x") && !jlog__net_addr_is("/var/log/x"));
}
END_TEST

/* ---- framing ----------------------------------------------------------- */

/* 2026-12-02T09:41:51.123456789Z */
#define T_FIXED (1796204511ull * 1000000000ull + 123456789ull)

static void frame_opts(struct jlog__frame_opts *o, bool stream, const char *framing)
{
	jlog__frame_opts_init(o, stream);
	ck_assert_int_eq(jlog__frame_set_framing(o, "framing", framing), 0);
	ck_assert_int_eq(jlog__frame_set_hostname(o, "hostname", "host1"), 0);
	ck_assert_int_eq(jlog__frame_set_app_name(o, "app_name", "app"), 0);
	o->pid = 77;
}

static char *frame(const struct jlog__frame_opts *o, int level, const char *line, size_t *len)
{
	struct jlog__rec_view v = {.time_ns = T_FIXED, .level = level};
	struct jlog__buf b;
	jlog__buf_init(&b);
	jlog__frame_append(&b, o, line, strlen(line), &v);
	ck_assert(!b.failed);
	jlog__buf_putc(&b, 0);
	*len = b.len - 1;
	ck_assert_uint_le(*len - strlen(line), jlog__frame_overhead(o));
	return b.p;
}

START_TEST(framing_formats)
{
	struct jlog__frame_opts o;
	size_t len;
	const char *line = "{\"msg\":\"hi\"}";

	frame_opts(&o, true, "lines");
	char *f = frame(&o, JLOG_LEVEL_INFO, line, &len);
	ck_assert_str_eq(f, "{\"msg\":\"hi\"}\n");
	free(f);
	frame_opts(&o, false, "lines");
	f = frame(&o, JLOG_LEVEL_INFO, line, &len);
	ck_assert_str_eq(f, line);
	free(f);

	frame_opts(&o, false, "rfc5424");
	ck_assert_int_eq(jlog__frame_set_facility(&o, "facility", "local0"), 0);
	ck_assert_int_eq(jlog__frame_set_msgid(&o, "msgid", "req"), 0);
	f = frame(&o, JLOG_LEVEL_ERROR, line, &len);
	/* local0 (16) * 8 + err (3) */
	ck_assert_str_eq(f, "<131>1 2026-12-02T09:41:51.123456Z host1 app 77 req - {\"msg\":\"hi\"}");
	free(f);

	/* RFC 6587 octet counting: the count is the bytes after its space. */
	frame_opts(&o, true, "rfc5424");
	f = frame(&o, JLOG_LEVEL_INFO, line, &len);
	char *sp = strchr(f, ' ');
	ck_assert_uint_eq(strtoul(f, NULL, 10), len - (size_t)(sp + 1 - f));
	ck_assert_str_eq(sp + 1, "<14>1 2026-12-02T09:41:51.123456Z host1 app 77 - - {\"msg\":\"hi\"}");
	free(f);

	frame_opts(&o, true, "rfc3164");
	ck_assert_int_eq(jlog__frame_set_facility(&o, "facility", "3"), 0);
	f = frame(&o, JLOG_LEVEL_WARNING, line, &len);
	/* daemon (3) * 8 + warning (4); local time, so only the shape. */
	ck_assert_msg(strncmp(f, "<28>Dec ", 8) == 0 || strncmp(f, "<28>Nov ", 8) == 0, "%s", f);
	ck_assert_ptr_nonnull(strstr(f, " host1 app[77]: {\"msg\":\"hi\"}\n"));
	ck_assert_uint_eq(strlen(f), len);
	free(f);
	o.local = true; /* /dev/log: no HOSTNAME, as syslog(3) */
	f = frame(&o, JLOG_LEVEL_WARNING, line, &len);
	ck_assert_ptr_nonnull(strstr(f, ":51 app[77]: {\"msg\":\"hi\"}\n"));
	free(f);

	static const int sev[][2] = {
		{0, 7}, {JLOG_LEVEL_TRACE, 7}, {JLOG_LEVEL_DEBUG, 7}, {19, 7},
		{JLOG_LEVEL_INFO, 6}, {24, 6}, {JLOG_LEVEL_SUCCESS, 5}, {29, 5},
		{JLOG_LEVEL_WARNING, 4}, {39, 4}, {JLOG_LEVEL_ERROR, 3}, {45, 3},
		{JLOG_LEVEL_CRITICAL, 2}, {255, 2},
	};
	for (size_t i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
		ck_assert_int_eq(jlog__syslog_severity(sev[i][0]), sev[i][1]);

	ck_assert_int_eq(jlog__frame_set_facility(&o, "sinks[0].facility", "local7"), 0);
	ck_assert_int_eq(o.facility, 23);
	ck_assert_int_eq(jlog__frame_set_facility(&o, "sinks[0].facility", "24"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "sinks[0].facility: \"24\""));
	ck_assert_int_eq(jlog__frame_set_facility(&o, "facility", "locl0"), -EINVAL);
	ck_assert_int_eq(jlog__frame_set_framing(&o, "framing", "json"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "\"json\""));
	ck_assert_int_eq(jlog__frame_set_app_name(&o, "app_name", "my app"), -EINVAL);
	ck_assert_int_eq(jlog__frame_set_msgid(&o, "msgid", "0123456789012345678901234567890123"),
	                 -EINVAL);
}
END_TEST

/* ---- the engine against local listeners -------------------------------- */

static char *numbered_line(int i, size_t size)
{
	char *s = malloc(size + 2); /* room for a newline */
	int n = snprintf(s, size + 1, "{\"i\":%d,\"pad\":\"", i);
	memset(s + n, 'x', size - (size_t)n - 2);
	memcpy(s + size - 2, "\"}", 2);
	s[size] = 0;
	return s;
}

/* Buffer bound: frames kept in order while down, beyond the bound dropped
 * whole, counted and reported once; sent on reconnect. */
START_TEST(outage_buffer)
{
	int port = free_tcp_port();
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", port);
	struct reports r = {0};
	struct jlog__net_opts o = {.buffer_size = 10000, .reconnect_max_ms = 200};
	struct jlog__net *n = open_net(sink, &o, &r);
	int ok = 0, nobufs = 0;
	for (int i = 0; i < 100; i++) {
		char *l = numbered_line(i, 199);
		strcat(l, "\n");
		int rc = jlog__net_write(n, l, 200);
		ok += rc == 0;
		nobufs += rc == -ENOBUFS;
		free(l);
		jlog__net_tick(n);
	}
	ck_assert_int_eq(ok, 50);
	ck_assert_int_eq(nobufs, 50);
	ck_assert_uint_le(jlog__net_queued(n), 10000);
	struct jlog__net_stats st = jlog__net_stats(n);
	ck_assert_uint_eq(st.lost, 50);
	ck_assert_uint_ge(st.errors, 1);
	ck_assert_msg(reported(&r, "Connection refused"), "%s", r.msg[0]);
	ck_assert(reported(&r, "buffer_size 10000"));
	ck_assert_int_eq(r.n, 2); /* one per outage, one for the first drop */

	int ls = listen_tcp(port, 0);
	ck_assert_int_eq(jlog__net_flush(n, 5000), 0);
	ck_assert(reported(&r, "connected again; 50 frames lost"));
	int c = accept(ls, NULL, NULL);
	ck_assert_int_ge(c, 0);
	jlog__net_close(n);
	size_t len;
	char *got = read_all(c, &len);
	ck_assert_uint_eq(len, 50 * 200);
	for (int i = 0; i < 50; i++) {
		char *l = numbered_line(i, 199);
		ck_assert(memcmp(got + i * 200, l, 199) == 0 && got[i * 200 + 199] == '\n');
		free(l);
	}
	free(got);
	close(c);
	close(ls);
}
END_TEST

struct torn_ctx {
	int ls;
	char *second;
	size_t second_len;
};

/* The aggregator that dies mid-frame: the first connection reads a little
 * and resets; the second reads everything. */
static void *torn_listener(void *arg)
{
	struct torn_ctx *t = arg;
	int c = accept(t->ls, NULL, NULL);
	char buf[1000];
	ssize_t r = read(c, buf, sizeof(buf));
	(void)r;
	struct linger lg = {1, 0};
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
	c = accept(t->ls, NULL, NULL);
	t->second = read_all(c, &t->second_len);
	close(c);
	return NULL;
}

/* A frame partly written to a connection that dies is sent again whole
 * (from its first byte) on the next one. The frame is larger than the
 * socket buffers can hold, so the first send is partial. Not under
 * valgrind, which slows the listener so that the kernel takes a frame of
 * any size the test can move in its time before the reset: the case
 * runs in the plain and sanitizer builds. */
START_TEST(torn_frame_resent_whole)
{
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		fprintf(stderr, "torn_frame_resent_whole: skipped under valgrind\n");
		return;
	}
	int port = free_tcp_port();
	struct torn_ctx t = {.ls = listen_tcp(port, 4096)};
	pthread_t th;
	pthread_create(&th, NULL, torn_listener, &t);
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", port);
	struct reports r = {0};
	size_t big = 16u << 20;
	struct jlog__net_opts o = {.buffer_size = 64u << 20, .reconnect_max_ms = 200};
	struct jlog__net *n = open_net(sink, &o, &r);
	char *f0 = numbered_line(0, big - 1);
	strcat(f0, "\n");
	char *f1 = numbered_line(1, 99);
	strcat(f1, "\n");
	ck_assert_int_eq(jlog__net_write(n, f0, big), 0);
	ck_assert_int_eq(jlog__net_write(n, f1, 100), 0);
	ck_assert_int_eq(jlog__net_flush(n, 20000), 0);
	struct jlog__net_stats st = jlog__net_stats(n);
	jlog__net_close(n);
	pthread_join(th, NULL);
	ck_assert_uint_ge(st.resent, 1);
	ck_assert_uint_ge(st.connects, 2);
	ck_assert_uint_eq(t.second_len, big + 100);
	ck_assert(memcmp(t.second, f0, big) == 0);
	ck_assert(memcmp(t.second + big, f1, 100) == 0);
	free(t.second);
	free(f0);
	free(f1);
	close(t.ls);
}
END_TEST

/* A name that does not resolve and a port nobody listens on are reported
 * (once), counted, and not fatal: frames wait in the buffer. */
START_TEST(unreachable_reported)
{
	struct reports r = {0};
	struct jlog__net_opts o = {.connect_timeout_ms = 3000, .reconnect_max_ms = 100};
	struct jlog__net *n = open_net("tcp://no-such-host.invalid:514", &o, &r);
	ck_assert_int_eq(jlog__net_write(n, "{}\n", 3), 0);
	for (int i = 0; i < 1000 && r.n == 0; i++) {
		tc_sleep_ms(5);
		jlog__net_tick(n);
	}
	ck_assert_msg(reported(&r, "no-such-host.invalid") &&
	              (reported(&r, "cannot resolve") || reported(&r, "resolving")),
	              "%d: %s", r.n, r.msg[0]);
	for (int i = 0; i < 100; i++) {
		tc_sleep_ms(2);
		jlog__net_tick(n);
	}
	ck_assert_int_eq(r.n, 1); /* once per outage, however many retries */
	ck_assert_uint_ge(jlog__net_stats(n).errors, 1);
	ck_assert_uint_eq(jlog__net_queued(n), 3);
	jlog__net_close(n);

	struct reports r2 = {0};
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", free_tcp_port());
	n = open_net(sink, &o, &r2);
	ck_assert_int_eq(jlog__net_write(n, "{}\n", 3), 0);
	for (int i = 0; i < 200 && r2.n == 0; i++) {
		tc_sleep_ms(5);
		jlog__net_tick(n);
	}
	ck_assert_msg(reported(&r2, "Connection refused") && reported(&r2, sink), "%s",
	              r2.msg[0]);
	ck_assert_str_eq(jlog__net_describe(n) + strlen(sink), " (disconnected)");
	jlog__net_close(n);
}
END_TEST

/* A connect that hangs (a listener whose backlog is full drops the SYN)
 * gives up after connect_timeout_ms, reported; the writer never waits. */
START_TEST(connect_timeout)
{
	int port = free_tcp_port(), ls = listen_tcp(port, 0);
	ck_assert_int_eq(listen(ls, 0), 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fill[4];
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	tc_sleep_ms(50);
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", port);
	struct reports r = {0};
	struct jlog__net_opts o = {.connect_timeout_ms = 300, .reconnect_max_ms = 5000};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct jlog__net *n = open_net(sink, &o, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Not a speed check: open returning before the timeout shows it did
	 * not wait for the connect. */
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 300);
	ck_assert_str_eq(jlog__net_describe(n) + strlen(sink), " (connecting)");
	for (int i = 0; i < 300 && r.n == 0; i++) {
		tc_sleep_ms(5);
		jlog__net_tick(n);
	}
	ck_assert_msg(reported(&r, "timed out after 300 ms"), "%d %s", r.n, r.msg[0]);
	jlog__net_close(n);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(ls);
}
END_TEST

/* Datagrams: one frame per datagram; one above max_datagram is dropped
 * and counted, never split. */
START_TEST(datagram_limit)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	char sink[64];
	snprintf(sink, sizeof(sink), "udp://127.0.0.1:%d", ntohs(a.sin_port));
	struct reports r = {0};
	struct jlog__net_opts o = {.max_datagram = 1000};
	struct jlog__net *n = open_net(sink, &o, &r);
	ck_assert_uint_eq(jlog__net_max_frame(n), 1000);
	char *big = numbered_line(1, 2000), *small = numbered_line(2, 1000);
	ck_assert_int_eq(jlog__net_write(n, big, 2000), -EMSGSIZE);
	ck_assert_int_eq(jlog__net_write(n, small, 1000), 0);
	ck_assert_int_eq(jlog__net_flush(n, 1000), 0);
	char buf[4096];
	ssize_t got = recv(s, buf, sizeof(buf), 0);
	ck_assert_int_eq(got, 1000);
	ck_assert(memcmp(buf, small, 1000) == 0);
	ck_assert_uint_eq(jlog__net_stats(n).lost, 1);
	ck_assert(reported(&r, "max_datagram 1000"));
	jlog__net_close(n);
	free(big);
	free(small);
	close(s);

	/* unixgram's default limit comes from the socket (SO_SNDBUF). */
	struct jlog__net_opts og = {0};
	n = open_net("unixgram:/nonexistent/jlog.sock", &og, &r);
	ck_assert_uint_gt(jlog__net_max_frame(n), 1000);
	ck_assert_uint_lt(jlog__net_max_frame(n), 16u << 20);
	jlog__net_close(n);
}
END_TEST

START_TEST(ipv6_loopback)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "no IPv6 loopback here: case not run\n");
		return;
	}
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	listen(s, 1);
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://[::1]:%d", ntohs(a.sin6_port));
	struct reports r = {0};
	struct jlog__net_opts o = {0};
	struct jlog__net *n = open_net(sink, &o, &r);
	ck_assert_int_eq(jlog__net_write(n, "{\"v6\":true}\n", 12), 0);
	ck_assert_int_eq(jlog__net_flush(n, 2000), 0);
	int c = accept(s, NULL, NULL);
	jlog__net_close(n);
	size_t len;
	char *got = read_all(c, &len);
	ck_assert_uint_eq(len, 12);
	ck_assert(memcmp(got, "{\"v6\":true}\n", 12) == 0);
	free(got);
	close(c);
	close(s);
}
END_TEST

/* A forked child keeps none of the parent's frames and its own
 * connection; the parent's stays up. The crash write goes out at once. */
START_TEST(fork_and_crash_write)
{
	int port = free_tcp_port(), ls = listen_tcp(port, 0);
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", port);
	struct reports r = {0};
	struct jlog__net_opts o = {0};
	struct jlog__net *n = open_net(sink, &o, &r);
	ck_assert(jlog__net_connected(n));
	ck_assert_int_eq(jlog__net_crash_write(n, "crash\n", 6, 0), 0);
	ck_assert_int_eq(jlog__net_write(n, "queued\n", 7), 0); /* kept, not sent */
	ck_assert_uint_eq(jlog__net_queued(n), 7);
	/* The child answers through a pipe and ends by SIGKILL: under
	 * valgrind an exit's leak check of what the child inherited would
	 * set its exit status. */
	int res[2];
	ck_assert_int_eq(pipe(res), 0);
	pid_t pid = fork();
	if (pid == 0) {
		jlog__net_after_fork(n);
		char bad = jlog__net_queued(n) != 0 || jlog__net_stats(n).lost != 1;
		jlog__net_write(n, "child\n", 6);
		bad |= jlog__net_flush(n, 5000) != 0;
		bad = bad ? 'F' : 'K';
		jlog__net_close(n); /* the child's copy: its leak otherwise */
		(void)!write(res[1], &bad, 1);
		kill(getpid(), SIGKILL);
	}
	close(res[1]);
	char verdict = 0;
	ck_assert_int_eq(read(res[0], &verdict, 1), 1);
	close(res[0]);
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(verdict == 'K', "the child's engine kept the parent's frames or did not send");
	ck_assert_int_eq(jlog__net_write(n, "parent\n", 7), 0);
	ck_assert_int_eq(jlog__net_flush(n, 5000), 0);
	ck_assert_uint_eq(jlog__net_stats(n).connects, 1);
	jlog__net_close(n);
	int c1 = accept(ls, NULL, NULL), c2 = accept(ls, NULL, NULL);
	size_t l1, l2;
	char *d1 = read_all(c1, &l1), *d2 = read_all(c2, &l2);
	ck_assert_uint_eq(l1, 20);
	ck_assert(memcmp(d1, "crash\nqueued\nparent\n", 20) == 0);
	ck_assert_uint_eq(l2, 6);
	ck_assert(memcmp(d2, "child\n", 6) == 0);
	free(d1);
	free(d2);
	close(c1);
	close(c2);
	close(ls);
}
END_TEST

/* ---- through the public API ------------------------------------------- */

struct reader {
	int ls;
	char *data;
	size_t len;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int c = accept(r->ls, NULL, NULL);
	r->data = c >= 0 ? read_all(c, &r->len) : NULL;
	if (c >= 0)
		close(c);
	return NULL;
}

/* A logger whose only sink is @sink with @options (JSON text or NULL). */
static jlog_logger *open_sink(const char *sink, const char *options, const char *preset)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "stderr";
	o.level = JLOG_LEVEL_OFF;
	o.queue_size = 1 << 22;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = sink;
	so.options = options;
	so.preset = preset;
	ck_assert_msg(jlog_add_sink(lg, &so) >= 0, "%s: %s", sink, jlog_last_error());
	ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
	jlog_set_level(lg, JLOG_LEVEL_TRACE);
	return lg;
}

/* Every line of the @nsinks sinks is written or lost. */
static void assert_stats_balance(jlog_logger *lg, jlog_stats *st, uint64_t nsinks)
{
	ck_assert_int_eq(jlog_get_stats(lg, st), 0);
	ck_assert_msg(st->logged * nsinks == st->written + st->lost, "logged %llu written %llu lost %llu",
	              (unsigned long long)st->logged, (unsigned long long)st->written,
	              (unsigned long long)st->lost);
}

/* tcp:// with rfc5424: octet-counted frames, PRI from the level, the
 * options' APP-NAME and MSGID, the JSON line as MSG. */
START_TEST(api_tcp_rfc5424)
{
	int port = free_tcp_port();
	struct reader rd = {.ls = listen_tcp(port, 0)};
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &rd);
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", port);
	jlog_logger *lg = open_sink(sink, "{\"framing\":\"rfc5424\",\"app_name\":\"tapp\","
	                            "\"msgid\":\"m1\",\"facility\":\"local3\"}", NULL);
	const int n = 2000;
	for (int i = 0; i < n; i++) {
		if (i % 2)
			JLOG_ERROR(lg, "odd", JLOG_INT("i", i));
		else
			JLOG_INFO(lg, "even", JLOG_INT("i", i));
	}
	jlog_stats st;
	ck_assert_int_eq(jlog_flush(lg), 0);
	assert_stats_balance(lg, &st, 1);
	ck_assert_uint_eq(st.written, (uint64_t)n);
	jlog_close(lg);
	pthread_join(th, NULL);
	close(rd.ls);
	size_t at = 0;
	int k = 0;
	while (at < rd.len) {
		char *sp;
		unsigned long cnt = strtoul(rd.data + at, &sp, 10);
		ck_assert(*sp == ' ');
		char *fr = sp + 1;
		ck_assert_uint_le((size_t)(fr - rd.data) + cnt, rd.len);
		/* local3 (19) * 8 + err (3) or info (6) */
		const char *pri = k % 2 ? "<155>1 " : "<158>1 ";
		ck_assert_msg(strncmp(fr, pri, 7) == 0, "%.40s", fr);
		char *msg = memchr(fr, '{', cnt);
		ck_assert_ptr_nonnull(msg);
		ck_assert_ptr_nonnull(strstr(fr, " tapp "));
		ck_assert_ptr_nonnull(strstr(fr, " m1 - {"));
		json_t *j = json_loadb(msg, cnt - (size_t)(msg - fr), 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "i")), k);
		json_decref(j);
		at = (size_t)(fr - rd.data) + cnt;
		k++;
	}
	ck_assert_int_eq(k, n);
	free(rd.data);
}
END_TEST

/* Nobody listens: the outage buffer keeps what fits, the rest is lost,
 * and jlog_stats says so (logged == written + lost). */
START_TEST(api_outage_lost_counted)
{
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", free_tcp_port());
	jlog_logger *lg = open_sink(sink, "{\"buffer_size\":65536,\"connect_timeout_ms\":200}",
	                            NULL);
	char pad[300];
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	for (int i = 0; i < 2000; i++)
		JLOG_INFO(lg, "x", JLOG_INT("i", i), JLOG_STR("pad", pad));
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats st;
	assert_stats_balance(lg, &st, 1);
	ck_assert_uint_gt(st.lost, 0);
	ck_assert_uint_gt(st.written, 0);
	ck_assert_uint_le(st.written * 300, 65536);
	ck_assert_uint_ge(st.write_errors, 1);
	jlog_close(lg);
}
END_TEST

/* udp:// with max_datagram: a record too large is cut by the truncation
 * rule (marked, valid JSON, counted in jlog_stats.truncated), never split. */
START_TEST(api_udp_cut)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	char sink[64];
	snprintf(sink, sizeof(sink), "udp://127.0.0.1:%d", ntohs(a.sin_port));
	jlog_logger *lg = open_sink(sink, "{\"max_datagram\":1000}", NULL);
	char *big = malloc(5001);
	memset(big, 'b', 5000);
	big[5000] = 0;
	JLOG_INFO(lg, big, JLOG_STR("s", big), JLOG_INT("k", 7));
	JLOG_INFO(lg, "small", JLOG_INT("k", 8));
	ck_assert_int_eq(jlog_flush(lg), 0);
	char buf[70000];
	for (int i = 0; i < 2; i++) {
		ssize_t got = recv(s, buf, sizeof(buf), 0);
		ck_assert_int_gt(got, 0);
		ck_assert_int_le(got, 1000);
		json_t *j = json_loadb(buf, (size_t)got, 0, NULL);
		ck_assert_msg(j != NULL, "%.*s", (int)got, buf);
		if (i == 0) {
			ck_assert(json_is_true(json_object_get(j, "truncated")));
			const char *m = json_string_value(json_object_get(j, "message"));
			ck_assert(m && strncmp(m, "bbbb", 4) == 0 && strstr(m, "\xe2\x80\xa6"));
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(j, "message")), "small");
		}
		json_decref(j);
	}
	jlog_stats st;
	assert_stats_balance(lg, &st, 1);
	ck_assert_uint_eq(st.written, 2);
	/* The call kept the record whole (it fits max_record_size): the
	 * cut is the datagram's, and counted like the call's own. */
	ck_assert_uint_eq(st.truncated, 1);
	jlog_close(lg);
	free(big);
	close(s);
}
END_TEST

/* A server that reads nothing: the frames still queued when close's
 * deadline passes are lost, counted so (not written) and said once. */
START_TEST(api_close_deadline_counts_lost)
{
	int port = free_tcp_port(), ls = listen_tcp(port, 4096);
	char sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%d", port);
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "stderr";
	o.level = JLOG_LEVEL_OFF;
	o.queue_size = 1 << 22;
	o.close_timeout_ms = 300;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = sink;
	so.options = "{\"connect_timeout_ms\":100,\"buffer_size\":16777216}";
	ck_assert_msg(jlog_add_sink(lg, &so) >= 0, "%s", jlog_last_error());
	ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
	jlog_set_level(lg, JLOG_LEVEL_TRACE);
	jlog_logger *kept = jlog_named(lg, "kept");
	ck_assert_ptr_nonnull(kept);
	char pad[300];
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	/* About 10 MiB: more than the two sockets hold (the sender's grows
	 * to tcp_wmem's 4 MiB), less than half the outage buffer. */
	const int n = 30000;
	for (int i = 0; i < n; i++)
		JLOG_INFO(lg, "x", JLOG_INT("i", i), JLOG_STR("pad", pad));
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats before;
	assert_stats_balance(lg, &before, 1);
	ck_assert_uint_eq(before.written, (uint64_t)n);
	/* Capture what the close says on stderr. */
	char errpath[] = "/tmp/jlog-net-close-XXXXXX";
	int ef = mkstemp(errpath), saved = dup(STDERR_FILENO);
	ck_assert_int_ge(ef, 0);
	dup2(ef, STDERR_FILENO);
	uint64_t t0 = jlog__ms_now();
	ck_assert_int_eq(jlog_close(lg), 0);
	uint64_t took = jlog__ms_now() - t0;
	dup2(saved, STDERR_FILENO);
	close(saved);
	jlog_stats st;
	assert_stats_balance(kept, &st, 1);
	jlog_close(kept);
	ck_assert_uint_gt(st.lost, 0);
	ck_assert_uint_lt(st.written, (uint64_t)n);
	ck_assert_uint_le(took, 1300);
	size_t elen;
	lseek(ef, 0, SEEK_SET);
	char *err = read_all(ef, &elen);
	close(ef);
	unlink(errpath);
	err = realloc(err, elen + 1);
	err[elen] = 0;
	char want[160];
	snprintf(want, sizeof(want), "jlog: close: %llu lines not written within close_timeout_ms",
	         (unsigned long long)st.lost);
	const char *at = strstr(err, want);
	ck_assert_msg(at != NULL, "stderr: %s", err);
	ck_assert_msg(strstr(at + strlen(want), "not written") == NULL && strstr(err, "not sent") == NULL,
	              "said more than once: %s", err);
	free(err);
	close(ls);
}
END_TEST

/* Bad keys and values name the key, through both ways in. */
START_TEST(api_bad_options)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "stderr";
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	static const char *const bad[][3] = {
		{"tcp://127.0.0.1:1", "{\"framing\":\"json\"}", "options.framing"},
		{"tcp://127.0.0.1:1", "{\"facility\":24}", "options.facility"},
		{"tcp://127.0.0.1:1", "{\"facility\":\"locl0\"}", "options.facility"},
		{"udp://127.0.0.1:1", "{\"max_datagram\":10}", "options.max_datagram"},
		{"tcp://127.0.0.1:1", "{\"buffer_size\":\"big\"}", "options.buffer_size"},
		{"tcp://127.0.0.1:1", "{\"app_name\":\"a b\"}", "options.app_name"},
		{"tcp://127.0.0.1:1", "{\"bogus\":1}", "unknown key"},
		{"tcp://127.0.0.1", NULL, "missing :PORT"},
		{"journald", "{\"socket\":\"\"}", "options.socket"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jlog_sink_options so;
		jlog_sink_options_init(&so);
		so.sink = bad[i][0];
		so.options = bad[i][1];
		ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
		ck_assert_msg(strstr(jlog_last_error(), bad[i][2]), "%s: %s", bad[i][1],
		              jlog_last_error());
	}
	jlog_close(lg);
	char err[512];
	jlog_logger *cl = NULL;
	ck_assert_int_eq(jlog_open_config_err(&cl, "{\"sinks\":[{\"sink\":\"unix:/x\","
	                                      "\"reconnect_max_ms\":-1}]}", err, sizeof(err)),
	                 -EINVAL);
	ck_assert_msg(strstr(err, "sinks[0].reconnect_max_ms"), "%s", err);
	ck_assert_int_eq(jlog_open_config_err(&cl, "{\"sinks\":[{\"sink\":\"tcp://127.0.0.1:9\","
	                                      "\"framing\":\"rfc5424\",\"facility\":\"daemon\","
	                                      "\"msgid\":\"x\",\"app_name\":\"y\","
	                                      "\"connect_timeout_ms\":100,"
	                                      "\"buffer_size\":100000}]}", err, sizeof(err)),
	                 0);
	jlog_close(cl);
}
END_TEST

/* ---- real servers ------------------------------------------------------ */

static const char *server;

/* A JSON line with hostile strings and a record number. */
static json_t *payload(const char *tag, int i)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:I, s:f, s:b, s:n, s:{s:[i,s]}}", "t", tag, "i", i,
	                 "msg", "quote \" backslash \\ tab \t nl \n ctl \x01 é ∑ 🎉",
	                 "sql", "'; DROP TABLE users; -- <script>alert(1)</script>",
	                 "big", (json_int_t)9007199254740993LL, "d", 0.25, "ok", 1, "none",
	                 "nested", "a", 1, "b");
}

static char *payload_line(const char *tag, int i)
{
	json_t *j = payload(tag, i);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

struct delivery {
	size_t sent, got, dup, torn, bad;
	unsigned char *seen;
};

/* Check what the server wrote to @file against the lines tagged @tag:
 * each parses (as JSON, equal to what was sent), arrives once, and the
 * line is byte-exact. Lines with the tag that do not parse are torn. */
static void check_file(const char *file, const char *tag, int nsent, bool byte_exact,
                       struct delivery *d)
{
	d->seen = calloc((size_t)nsent, 1);
	d->sent = (size_t)nsent;
	size_t len;
	char *text = tc_slurp(tc_server_file(file), &len);
	size_t nl;
	char **lines = tc_split_lines(text, len, &nl);
	char want_tag[64];
	snprintf(want_tag, sizeof(want_tag), "\"%s\"", tag);
	for (size_t k = 0; k < nl; k++) {
		if (!strstr(lines[k], want_tag))
			continue;
		/* rsyslog's %msg% of an RFC 3164 message keeps the space after
		 * "tag[pid]:" (it counts as part of MSG there). */
		if (lines[k][0] == ' ')
			lines[k]++;
		json_error_t e;
		json_t *j = json_loads(lines[k], 0, &e);
		json_t *ti = j ? json_object_get(j, "i") : NULL;
		if (!j || !json_is_integer(ti)) {
			d->torn++;
			json_decref(j);
			continue;
		}
		int i = (int)json_integer_value(ti);
		ck_assert_int_lt(i, nsent);
		json_t *want = payload(tag, i);
		if (!json_equal(j, want))
			d->bad++;
		if (byte_exact) {
			char *wl = payload_line(tag, i);
			if (strcmp(wl, lines[k]) != 0)
				d->bad++;
			free(wl);
		}
		json_decref(want);
		json_decref(j);
		if (d->seen[i]++)
			d->dup++;
		else
			d->got++;
	}
	free(lines);
	free(text);
}

/* Count the lines tagged @tag in @file (to wait for them). */
static size_t tagged_lines(const char *file, const char *tag)
{
	size_t len;
	FILE *f = fopen(tc_server_file(file), "rb");
	if (!f)
		return 0;
	fclose(f);
	char *text = tc_slurp(tc_server_file(file), &len);
	char want_tag[64];
	snprintf(want_tag, sizeof(want_tag), "\"%s\"", tag);
	size_t n = 0;
	for (char *p = text; (p = strstr(p, want_tag)); p++)
		n++;
	free(text);
	return n;
}

static size_t wait_tagged(const char *file, const char *tag, size_t want, unsigned ms)
{
	size_t n = 0;
	for (unsigned t = 0; t < ms; t += 20) {
		n = tagged_lines(file, tag);
		if (n >= want)
			break;
		tc_sleep_ms(20);
	}
	tc_sleep_ms(200); /* duplicates would show by now */
	return tagged_lines(file, tag);
}

/* Send @nsent tagged lines through @sink with @framing; @pace sleeps 1 ms
 * every @pace frames (UDP and unixgram have no flow control). */
static struct jlog__net *send_lines(const char *sink, const char *framing, const char *tag,
                                    int nsent, int pace)
{
	struct reports r = {0};
	struct jlog__net_opts o = {0};
	struct jlog__net *n = open_net(sink, &o, &r);
	struct jlog__frame_opts fo;
	jlog__frame_opts_init(&fo, o.addr.stream);
	fo.local = o.addr.kind == JLOG__NET_UNIX || o.addr.kind == JLOG__NET_UNIXGRAM;
	ck_assert_int_eq(jlog__frame_set_framing(&fo, "framing", framing), 0);
	struct jlog__buf b;
	jlog__buf_init(&b);
	for (int i = 0; i < nsent; i++) {
		char *l = payload_line(tag, i);
		struct jlog__rec_view v = {.time_ns = (uint64_t)time(NULL) * 1000000000u,
		                           .level = JLOG_LEVEL_INFO};
		b.len = 0;
		jlog__frame_append(&b, &fo, l, strlen(l), &v);
		ck_assert_int_eq(jlog__net_write(n, b.p, b.len), 0);
		free(l);
		if (pace && i % pace == pace - 1) {
			jlog__net_flush(n, 0);
			tc_sleep_ms(1);
		}
	}
	jlog__buf_finish(&b);
	ck_assert_int_eq(jlog__net_flush(n, 10000), 0);
	ck_assert_msg(r.n == 0, "%s", r.msg[0]);
	return n;
}

/* The sink string of the server's endpoint @transport ("tcp", "udp",
 * "tcp5424" (syslog-ng's RFC 5424 port), "unix", "unixgram"). */
static void server_sink(const char *transport, char *sink, size_t cap)
{
	char *ep;
	if (strcmp(transport, "tcp") == 0 || strcmp(transport, "udp") == 0 ||
	    strcmp(transport, "tcp5424") == 0) {
		const char *var = strcmp(transport, "tcp") == 0   ? "TCP_PORT"
		                  : strcmp(transport, "udp") == 0 ? "UDP_PORT"
		                                                  : "TCP5424_PORT";
		ep = tc_server_env(var);
		snprintf(sink, cap, "%s://127.0.0.1:%s", strcmp(transport, "udp") == 0 ? "udp" : "tcp",
		         ep);
	} else {
		ep = tc_server_env(strcmp(transport, "unix") == 0 ? "UNIX_SOCK" : "UNIXGRAM_SOCK");
		snprintf(sink, cap, "%s:%s", transport, ep);
	}
	free(ep);
}

static void deliver(const char *transport, const char *framing, const char *file, int pace)
{
	char sink[400];
	server_sink(transport, sink, sizeof(sink));
	int nsent = (int)tc_scale(2000, 200);
	char tag[64];
	snprintf(tag, sizeof(tag), "%s-%s-%s", transport, framing, server);
	struct jlog__net *n = send_lines(sink, framing, tag, nsent, pace);
	struct jlog__net_stats st = jlog__net_stats(n);
	ck_assert_uint_eq(st.frames_sent, (uint64_t)nsent);
	ck_assert_uint_eq(st.lost, 0);
	jlog__net_close(n);
	wait_tagged(file, tag, (size_t)nsent, 10000);
	struct delivery d = {0};
	check_file(file, tag, nsent, true, &d);
	printf("%s %s %s: sent %zu, arrived %zu, duplicated %zu, torn %zu, differing %zu\n",
	       server, sink, framing, d.sent, d.got, d.dup, d.torn, d.bad);
	/* UDP alone has no flow control: a busy server's receive buffer can
	 * overflow on a shared machine, so it may lose a few (counted and
	 * printed above); every other transport delivers all. */
	bool udp = strcmp(transport, "udp") == 0;
	if (udp)
		ck_assert_uint_ge(d.got * 100, d.sent * 99);
	else
		ck_assert_uint_eq(d.got, d.sent);
	ck_assert_uint_eq(d.dup, 0);
	ck_assert_uint_eq(d.torn, 0);
	ck_assert_uint_eq(d.bad, 0);
	free(d.seen);
	if (strcmp(server, "rsyslog") == 0 && strcmp(framing, "lines") == 0) {
		/* mmjsonparse's re-serialization: parsed, equal to what was sent. */
		char jf[64];
		snprintf(jf, sizeof(jf), "%s.json", transport);
		struct delivery dj = {0};
		check_file(jf, tag, nsent, false, &dj);
		ck_assert_uint_eq(dj.got, d.got);
		ck_assert_uint_eq(dj.bad, 0);
		free(dj.seen);
	}
}

/* What each server receives: transport, framing, the server's file of
 * it, pacing (1 ms every N frames for the datagrams, which have no or
 * little flow control), and the server it applies to (NULL: both). RFC
 * 5424 rides octet counting on the streams; rfc3164 goes to a /dev/log
 * style reader (imuxsock), whose MSG follows "tag[pid]:". */
static const struct {
	const char *transport, *framing, *file;
	int pace;
	const char *only;
} deliveries[] = {
	{"tcp", "lines", "tcp.raw", 0, NULL},
	{"unix", "lines", "unix.raw", 0, NULL},
	{"udp", "lines", "udp.raw", 4, NULL},
	{"unixgram", "lines", "unixgram.raw", 20, NULL},
	{"tcp", "rfc5424", "tcp.msg", 0, "rsyslog"},
	{"tcp5424", "rfc5424", "tcp5424.raw", 0, "syslog-ng"},
	{"unix", "rfc5424", "unix.msg", 0, "rsyslog"},
	{"unixgram", "rfc3164", "unixgram.msg", 20, "rsyslog"},
};

START_TEST(deliver_each)
{
	if (deliveries[_i].only && strcmp(deliveries[_i].only, server) != 0)
		return;
	deliver(deliveries[_i].transport, deliveries[_i].framing, deliveries[_i].file,
	        deliveries[_i].pace);
}
END_TEST

/* Restart the server 5 times in the middle of a run: the engine
 * reconnects by itself; no torn frame, no duplicate; what plain TCP loses
 * (written before the listener closed, never acknowledged) is counted. */
START_TEST(restart_five_times)
{
	char *port = tc_server_env("TCP_PORT"), sink[64];
	snprintf(sink, sizeof(sink), "tcp://127.0.0.1:%s", port);
	free(port);
	struct reports r = {0};
	struct jlog__net_opts o = {.reconnect_max_ms = 200};
	struct jlog__net *n = open_net(sink, &o, &r);
	const int per = 400, restarts = 5, nsent = per * (restarts + 1);
	char tag[64];
	snprintf(tag, sizeof(tag), "restart-%s", server);
	int boundary[8];
	for (int i = 0; i < nsent; i++) {
		if (i % per == 0 && i) {
			boundary[i / per - 1] = i;
			tc_server_restart();
		}
		char *l = payload_line(tag, i);
		size_t len = strlen(l);
		l[len] = '\n';
		ck_assert_int_eq(jlog__net_write(n, l, len + 1), 0);
		free(l);
		jlog__net_flush(n, 0);
		tc_sleep_ms(1);
	}
	ck_assert_int_eq(jlog__net_flush(n, 10000), 0);
	struct jlog__net_stats st = jlog__net_stats(n);
	jlog__net_close(n);
	wait_tagged("tcp.raw", tag, (size_t)nsent, 10000);
	struct delivery d = {0};
	check_file("tcp.raw", tag, nsent, true, &d);
	size_t lost_total = 0;
	for (int k = 0; k < restarts; k++) {
		/* The records a restart can lose are those written around it. */
		int lo = boundary[k] - per / 2, hi = boundary[k] + per / 2, lost = 0, dup = 0;
		for (int i = lo; i < hi; i++) {
			lost += !d.seen[i];
			dup += d.seen[i] > 1;
		}
		lost_total += (size_t)lost;
		printf("%s restart %d: lost %d, duplicated %d\n", server, k + 1, lost, dup);
	}
	printf("%s restarts: sent %zu, arrived %zu, duplicated %zu, torn %zu, connects %llu, "
	       "resent %llu\n", server, d.sent, d.got, d.dup, d.torn,
	       (unsigned long long)st.connects, (unsigned long long)st.resent);
	ck_assert_uint_ge(st.connects, (uint64_t)restarts + 1);
	ck_assert_uint_eq(d.torn, 0);
	ck_assert_uint_eq(d.dup, 0);
	ck_assert_uint_eq(d.bad, 0);
	ck_assert_uint_eq(d.got + lost_total, d.sent);
	/* Plain TCP: only what was in flight at each close may go. */
	ck_assert_uint_le(lost_total, (size_t)restarts * 50);
	ck_assert(reported(&r, "connected again"));
	free(d.seen);
}
END_TEST

/* ---- real servers through the logger ------------------------------------ */

/* Records from 4 threads through jlog_add_sink() sinks, every preset at
 * least once per server; the oracle is a file sink of the same logger
 * (the same lines from the same writer). */
static const struct api_case {
	const char *srv, *preset, *transport, *framing, *file;
	int threads, per;
} api_cases[] = {
	{"rsyslog", "default", "tcp", "rfc5424", "tcp.msg", 4, 25000},
	{"rsyslog", "ecs", "tcp", "lines", "tcp.raw", 4, 1000},
	{"rsyslog", "gcp", "unix", "lines", "unix.raw", 4, 1000},
	{"rsyslog", "otel", "unix", "rfc5424", "unix.msg", 4, 1000},
	{"rsyslog", "loguru", "unixgram", "rfc3164", "unixgram.msg", 4, 1000},
	{"syslog-ng", "default", "tcp5424", "rfc5424", "tcp5424.raw", 4, 25000},
	{"syslog-ng", "ecs", "tcp", "lines", "tcp.raw", 4, 1000},
	{"syslog-ng", "gcp", "unix", "lines", "unix.raw", 4, 1000},
	{"syslog-ng", "otel", "unixgram", "lines", "unixgram.raw", 4, 1000},
	{"syslog-ng", "loguru", "tcp5424", "rfc5424", "tcp5424.raw", 4, 1000},
};

/* The server's lines with @tag; rsyslog's %msg% of an RFC 3164 message
 * keeps the space after "tag[pid]:". */
static char **server_lines(const char *file, const char *tag, size_t *n)
{
	char **v = tc_tagged(tc_server_file(file), tag, n);
	for (size_t i = 0; i < *n; i++)
		if (v[i][0] == ' ')
			memmove(v[i], v[i] + 1, strlen(v[i]));
	return v;
}

/* Occurrences of @tag in the whole lines of @path from *off on, which
 * moves past them: the count of a growing file read once, for a rate
 * (tc_count_tag() reads it all every time, which would slow the server
 * it measures). */
static size_t count_tag_from(const char *path, const char *tag, off_t *off)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = 0, cap = 0;
	char *line = NULL;
	ssize_t len;
	if (fseeko(f, *off, SEEK_SET) == 0)
		while ((len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
			*off += len;
			for (char *p = line; (p = strstr(p, tag)) != NULL; p += strlen(tag))
				n++;
		}
	free(line);
	fclose(f);
	return n;
}

static struct tc_tally run_case(const char *preset, const char *transport, const char *framing,
                                const char *file, int threads, int per, int pace,
                                const char *tag)
{
	char sink[400], opts[64];
	server_sink(transport, sink, sizeof(sink));
	snprintf(opts, sizeof(opts), "{\"framing\":\"%s\"}", framing);
	char *oracle = tc_tmppath("oracle.jsonl");
	jlog_logger *lg = tc_open_pair(oracle, sink, opts, preset);
	uint64_t t0 = jlog__ms_now();
	tc_produce(lg, tag, threads, per, pace);
	ck_assert_int_eq(jlog_flush(lg), 0);
	uint64_t t_flushed = jlog__ms_now();
	jlog_stats st;
	assert_stats_balance(lg, &st, 2);
	jlog_close(lg);
	size_t total = (size_t)threads * (size_t)per, nsent, ngot;
	/* The server's ingest rate: from the first call until its output
	 * file holds every record (looked at every 25 ms). Unpaced runs
	 * only: the datagrams' pacing would set the figure. */
	size_t in_file = 0;
	off_t seen_to = 0;
	for (int k = 0; pace == 0 && k < 60000 / 25 && in_file < total; k++) {
		in_file += count_tag_from(tc_server_file(file), tag, &seen_to);
		if (in_file < total)
			tc_sleep_ms(25);
	}
	uint64_t t_in = jlog__ms_now();
	if (pace == 0 && in_file == total)
		printf("%s ingest %s %s: %zu records in %llu ms from the first call until its "
		       "file held them: %.0f records/s (jlog_flush() returned after "
		       "%llu ms)\n", server, transport, framing, total,
		       (unsigned long long)(t_in - t0), (double)total * 1000.0 / (double)(t_in - t0),
		       (unsigned long long)(t_flushed - t0));
	char **sent = tc_tagged(oracle, tag, &nsent);
	ck_assert_uint_eq(nsent, total);
	tc_wait_tagged(tc_server_file(file), tag, total, 60000, 3000);
	char **got = server_lines(file, tag, &ngot);
	struct tc_tally r = tc_match(sent, nsent, got, ngot, threads, per, true);
	printf("%s %s %s %s preset %s: sent %zu, arrived %zu, duplicated %zu, differing %zu "
	       "(jlog: written %llu, lost %llu)\n", server, transport, sink, framing, preset, r.sent,
	       r.got, r.dup, r.bad, (unsigned long long)st.written, (unsigned long long)st.lost);
	if (strcmp(server, "rsyslog") == 0) {
		/* mmjsonparse's re-serialization: parsed equal, types kept. */
		char jf[64];
		snprintf(jf, sizeof(jf), "%s.json", strcmp(transport, "unixgram") == 0 ? "unixgram"
		                                     : transport);
		size_t nj;
		char **js = tc_tagged(tc_server_file(jf), tag, &nj);
		struct tc_tally rj = tc_match(sent, nsent, js, nj, threads, per, false);
		ck_assert_uint_eq(rj.got, r.got);
		ck_assert_uint_eq(rj.bad, 0);
		tc_free_strs(js, nj);
	}
	tc_free_strs(sent, nsent);
	tc_free_strs(got, ngot);
	unlink(oracle);
	free(oracle);
	return r;
}

START_TEST(api_deliver)
{
	const struct api_case *c = &api_cases[_i];
	if (strcmp(c->srv, server) != 0)
		return;
	char tag[96];
	snprintf(tag, sizeof(tag), "api-%s-%s-%s-%d", c->preset, c->transport, c->framing,
	         (int)getpid());
	int per = (int)tc_scale((unsigned long)c->per, 100);
	struct tc_tally r = run_case(c->preset, c->transport, c->framing, c->file, c->threads, per,
	                             0, tag);
	ck_assert_uint_eq(r.got, r.sent);
	ck_assert_uint_eq(r.dup, 0);
	ck_assert_uint_eq(r.bad, 0);
}
END_TEST

/* UDP has no flow control: records are paced and what arrives is
 * measured; no duplicate, no line torn or changed. */
START_TEST(api_udp_measured)
{
	char tag[96];
	snprintf(tag, sizeof(tag), "api-udp-%d", (int)getpid());
	struct tc_tally r = run_case("default", "udp", "lines", "udp.raw", 4, 1000, 1, tag);
	ck_assert_uint_ge(r.got * 100, r.sent * 95);
	ck_assert_uint_eq(r.dup, 0);
	ck_assert_uint_eq(r.bad, 0);
}
END_TEST

struct restart_prod {
	jlog_logger *lg;
	const char *tag;
	int n;
	_Atomic int done;
	_Atomic bool stop;
};

static void *restart_prod_main(void *arg)
{
	struct restart_prod *p = arg;
	for (int i = 0; i < p->n && !atomic_load(&p->stop); i++) {
		JLOG_INFO(p->lg, p->tag, JLOG_INT("t", 0), JLOG_INT("seq", i), JLOG_STR("s", TC_HOSTILE));
		atomic_store(&p->done, i + 1);
		tc_sleep_ms(1);
	}
	return NULL;
}

/* Through the logger: the server restarts 5 times while a thread logs a
 * record per millisecond; the sink reconnects by itself, and what each
 * restart lost or duplicated is counted. Plain TCP has no
 * acknowledgement: records the kernel took in the last milliseconds
 * before the listener closed, which the server had not read yet, are
 * lost (up to 100 ms of them is the bound asserted); none is torn or
 * duplicated. */
START_TEST(api_restart_five_times)
{
	char sink[400], tag[96];
	server_sink("tcp", sink, sizeof(sink));
	snprintf(tag, sizeof(tag), "api-restart-%d", (int)getpid());
	char *oracle = tc_tmppath("oracle.jsonl");
	jlog_logger *lg = tc_open_pair(oracle, sink, "{\"reconnect_max_ms\":200}", NULL);
	const int restarts = 5;
	struct restart_prod p = {.lg = lg, .tag = tag, .n = 100000};
	pthread_t th;
	pthread_create(&th, NULL, restart_prod_main, &p);
	int at[5];
	for (int k = 0; k < restarts; k++) {
		tc_sleep_ms(300);
		at[k] = atomic_load(&p.done);
		tc_server_restart();
	}
	tc_sleep_ms(300);
	atomic_store(&p.stop, true);
	pthread_join(th, NULL);
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats st;
	assert_stats_balance(lg, &st, 2);
	jlog_close(lg);
	size_t nsent, ngot;
	char **sent = tc_tagged(oracle, tag, &nsent);
	tc_wait_tagged(tc_server_file("tcp.raw"), tag, nsent, 20000, 2000);
	char **got = tc_tagged(tc_server_file("tcp.raw"), tag, &ngot);
	/* Which records arrived, by seq. */
	unsigned char *seen = calloc(nsent, 1);
	size_t bad = 0;
	for (size_t i = 0; i < ngot; i++) {
		json_t *j = json_loads(got[i], 0, NULL);
		size_t k = j ? tc_record_no(j, p.n) : SIZE_MAX;
		json_decref(j);
		if (k >= nsent) {
			bad++;
			continue;
		}
		seen[k]++;
	}
	size_t lost_total = 0, dup_total = 0, worst = 0;
	for (int k = 0; k < restarts; k++) {
		int lo = k ? (at[k - 1] + at[k]) / 2 : 0;
		int hi = k + 1 < restarts ? (at[k] + at[k + 1]) / 2 : (int)nsent;
		size_t lost = 0, dup = 0;
		for (int i = lo; i < hi; i++) {
			lost += !seen[i];
			dup += seen[i] > 1;
		}
		printf("%s via jlog, restart %d (after record %d): lost %zu, duplicated %zu\n", server,
		       k + 1, at[k], lost, dup);
		lost_total += lost;
		dup_total += dup;
		worst = lost > worst ? lost : worst;
	}
	size_t tail_missing = 0;
	for (size_t i = nsent - 100; i < nsent; i++)
		tail_missing += !seen[i];
	printf("%s via jlog, 5 restarts: sent %zu, lost %zu, duplicated %zu, torn %zu "
	       "(jlog: written %llu, lost %llu, write errors %llu)\n", server, nsent, lost_total,
	       dup_total, bad, (unsigned long long)st.written, (unsigned long long)st.lost,
	       (unsigned long long)st.write_errors);
	ck_assert_uint_eq(nsent, (size_t)atomic_load(&p.done));
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(dup_total, 0);
	/* Reconnected after the last restart: its records are there. */
	ck_assert_uint_eq(tail_missing, 0);
	/* The bound: 100 ms of records at one per millisecond. */
	ck_assert_uint_le(worst, 100);
	free(seen);
	tc_free_strs(sent, nsent);
	tc_free_strs(got, ngot);
	unlink(oracle);
	free(oracle);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("engine");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, addr_parse);
	tcase_add_test(tc, framing_formats);
	tcase_add_test(tc, outage_buffer);
	tcase_add_test(tc, torn_frame_resent_whole);
	tcase_add_test(tc, unreachable_reported);
	tcase_add_test(tc, connect_timeout);
	tcase_add_test(tc, datagram_limit);
	tcase_add_test(tc, ipv6_loopback);
	tcase_add_test(tc, fork_and_crash_write);
	suite_add_tcase(s, tc);
	TCase *ta = tcase_create("api");
	tcase_set_timeout(ta, 60);
	tcase_add_test(ta, api_tcp_rfc5424);
	tcase_add_test(ta, api_outage_lost_counted);
	tcase_add_test(ta, api_udp_cut);
	tcase_add_test(ta, api_close_deadline_counts_lost);
	tcase_add_test(ta, api_bad_options);
	suite_add_tcase(s, ta);
	server = getenv("JLOG_TEST_SERVER");
	if (server && *server) {
		tc_server_start_or_skip(server);
		TCase *ts = tcase_create("server");
		tcase_set_timeout(ts, 120);
		tcase_add_loop_test(ts, deliver_each, 0,
		                    (int)(sizeof(deliveries) / sizeof(deliveries[0])));
		tcase_add_test(ts, restart_five_times);
		tcase_add_loop_test(ts, api_deliver, 0,
		                    (int)(sizeof(api_cases) / sizeof(api_cases[0])));
		tcase_add_test(ts, api_udp_measured);
		tcase_add_test(ts, api_restart_five_times);
		suite_add_tcase(s, ts);
	}
	return s;
}
