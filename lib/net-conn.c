/*
 * The connection engine of the network transports. Protocol:
 *
 * 1. States: DOWN (no socket; retry at `deadline`), RESOLVING (a helper
 *    thread runs getaddrinfo; give up at `deadline`), CONNECTING (a
 *    non-blocking connect in progress; give up at `deadline`), UP.
 * 2. Frames are queued whole in `q` (bytes) with their lengths in `lens`;
 *    `head_sent` bytes of the first frame have gone to the current
 *    connection. A stream send takes the queue from there in one call; a
 *    datagram send takes one frame. The bytes in the queue never exceed
 *    buffer_size: a frame that does not fit is dropped and counted.
 * 3. When a connection fails, `head_sent` goes back to 0: the frame it had
 *    started is sent again from its first byte on the next connection, so
 *    the aggregator never has to join the halves of a frame from two
 *    connections. Before writing to an idle stream the engine peeks for
 *    the peer's close (recv MSG_PEEK returning 0) so that frames are not
 *    written into a connection the server has already closed.
 * 4. Reconnects back off exponentially from 100 ms to reconnect_max_ms,
 *    with jitter (a delay drawn in [d/2, d]) so that many processes do not
 *    reconnect in step after an aggregator restart; a successful connect
 *    resets it. Every address getaddrinfo gave is tried before backing off.
 * 5. A name is resolved on a detached helper thread that owns half of a
 *    reference-counted request (resolve_req); the engine polls it from
 *    tick and abandons it after connect_timeout_ms, so a hung resolver
 *    never holds the writer. Names are resolved again each time all
 *    addresses have failed, so a moved aggregator is found.
 * 6. Each outage is reported once (its first error), and once more when
 *    the connection is back; errors are counted each time.
 */
#include "net-conn.h"

#include "jlog-private.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { DOWN, RESOLVING, CONNECTING, UP };

/* Shared by the engine and its resolver thread; whoever drops the last of
 * the two references frees it (under mu). */
struct resolve_req {
	pthread_mutex_t mu;
	int refs;
	bool done;
	int gai_err;
	struct addrinfo *res;
	int socktype;
	char host[256];
	char port[6];
};

struct peer {
	struct sockaddr_storage sa;
	socklen_t len;
	int family;
};

struct jlog__net {
	struct jlog__net_opts o;
	enum state state;
	int fd;
	int socktype;
	struct peer *peers;
	size_t npeers, peer_i;
	struct resolve_req *rq;
	uint64_t deadline; /* CLOCK_MONOTONIC ns; meaning per state */
	unsigned attempt;  /* failed connection cycles since the last success */
	uint64_t rng;
	bool blocked;      /* the socket refused data (EAGAIN/ENOBUFS): tick */
	bool in_outage;
	bool lost_reported;
	uint64_t lost_at_outage;
	size_t max_dgram;
	/* The queue: frames in q[q_head, q_head + q_len), lengths in
	 * lens[l_head, l_head + l_n); head_sent bytes of the first are sent. */
	char *q;
	size_t q_head, q_len, q_cap;
	uint32_t *lens;
	size_t l_head, l_n, l_cap;
	size_t head_sent;
	struct jlog__net_stats st;
	char name[300];
	char desc[340];
	char err[1024];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(struct jlog__net *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct jlog__net *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(n->err, sizeof(n->err), fmt, ap);
	va_end(ap);
	if (n->o.report)
		n->o.report(n->o.report_ctx, n->err);
}

/* An error: counted always, reported when it starts an outage. */
static void fail_msg(struct jlog__net *n, const char *what, int e)
{
	n->st.errors++;
	if (n->in_outage) {
		snprintf(n->err, sizeof(n->err), "%s: %s: %s", n->name, what, strerror(e));
		return;
	}
	n->in_outage = true;
	n->st.outages++;
	n->lost_at_outage = n->st.lost;
	report(n, "%s: %s: %s; reconnecting with backoff up to %u ms", n->name, what,
	       strerror(e), n->o.reconnect_max_ms);
}

/* ---- the queue --------------------------------------------------------- */

static void pop_front(struct jlog__net *n)
{
	size_t len = n->lens[n->l_head];
	n->q_head += len;
	n->q_len -= len;
	n->l_head++;
	n->l_n--;
	if (n->l_n == 0)
		n->q_head = n->l_head = 0;
}

/* Room for @len more bytes and one more length, compacting first. */
static bool make_room(struct jlog__net *n, size_t len)
{
	if (n->q_head && n->q_head + n->q_len + len > n->q_cap) {
		memmove(n->q, n->q + n->q_head, n->q_len);
		n->q_head = 0;
	}
	if (n->q_len + len > n->q_cap) {
		size_t cap = n->q_cap ? n->q_cap : 64 * 1024;
		while (cap < n->q_len + len)
			cap *= 2;
		if (cap > n->o.buffer_size)
			cap = n->o.buffer_size;
		char *p = realloc(n->q, cap);
		if (!p)
			return false;
		n->q = p;
		n->q_cap = cap;
	}
	if (n->l_head && n->l_head + n->l_n == n->l_cap) {
		memmove(n->lens, n->lens + n->l_head, n->l_n * sizeof(*n->lens));
		n->l_head = 0;
	}
	if (n->l_n == n->l_cap) {
		size_t cap = n->l_cap ? n->l_cap * 2 : 1024;
		uint32_t *p = realloc(n->lens, cap * sizeof(*p));
		if (!p)
			return false;
		n->lens = p;
		n->l_cap = cap;
	}
	return true;
}

static void drop_queue(struct jlog__net *n)
{
	n->st.lost += n->l_n;
	n->q_head = n->q_len = n->l_head = n->l_n = n->head_sent = 0;
}

/* ---- connection ------------------------------------------------------- */

static void close_fd(struct jlog__net *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	if (n->head_sent) {
		/* Protocol step 3: the frame restarts whole on the next one. */
		n->head_sent = 0;
		n->st.resent++;
	}
}

static void backoff(struct jlog__net *n)
{
	uint64_t d = JLOG__NET_RECONNECT_MIN_MS;
	for (unsigned i = 0; i < n->attempt && d < n->o.reconnect_max_ms; i++)
		d *= 2;
	if (d > n->o.reconnect_max_ms)
		d = n->o.reconnect_max_ms;
	n->attempt++;
	/* xorshift64: jitter needs no quality, only independence between
	 * processes (seeded from pid and time). */
	n->rng ^= n->rng << 13;
	n->rng ^= n->rng >> 7;
	n->rng ^= n->rng << 17;
	uint64_t ms = d / 2 + n->rng % (d - d / 2 + 1);
	n->deadline = mono_ns() + ms * 1000000u;
	n->state = DOWN;
}

/* The connection failed (or could not be made): next address, or back off. */
static void conn_failed(struct jlog__net *n, const char *what, int e)
{
	close_fd(n);
	fail_msg(n, what, e);
	if (n->peer_i + 1 < n->npeers) {
		n->peer_i++;
		n->state = DOWN;
		n->deadline = 0;
		return;
	}
	n->peer_i = 0;
	/* Names are looked up again on the next cycle (protocol step 5). */
	if (!n->o.addr.numeric && !(n->o.addr.kind == JLOG__NET_UNIX ||
	                            n->o.addr.kind == JLOG__NET_UNIXGRAM))
		n->npeers = 0;
	backoff(n);
}

static void connected(struct jlog__net *n)
{
	n->state = UP;
	n->attempt = 0;
	n->st.connects++;
	n->blocked = false;
	if (!n->o.addr.stream && n->o.max_datagram == 0 &&
	    n->o.addr.kind == JLOG__NET_UNIXGRAM) {
		/* Linux refuses a unix datagram longer than sk_sndbuf - 32. */
		int sb = 0;
		socklen_t sl = sizeof(sb);
		if (getsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &sb, &sl) == 0 && sb > 64 &&
		    (size_t)sb - 64 < n->max_dgram)
			n->max_dgram = (size_t)sb - 64;
	}
	if (n->in_outage) {
		n->in_outage = false;
		report(n, "%s: connected again; %llu frames lost during the outage", n->name,
		       (unsigned long long)(n->st.lost - n->lost_at_outage));
	}
	n->lost_reported = false;
}

static void *resolve_main(void *arg)
{
	struct resolve_req *r = arg;
	struct addrinfo hints = {.ai_socktype = r->socktype, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int e = getaddrinfo(r->host, r->port, &hints, &res);
	pthread_mutex_lock(&r->mu);
	r->gai_err = e;
	r->res = res;
	r->done = true;
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last) {
		if (res)
			freeaddrinfo(res);
		pthread_mutex_destroy(&r->mu);
		free(r);
	}
	return NULL;
}

static void resolve_release(struct resolve_req *r)
{
	pthread_mutex_lock(&r->mu);
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last) {
		if (r->res)
			freeaddrinfo(r->res);
		pthread_mutex_destroy(&r->mu);
		free(r);
	}
}

static bool take_peers(struct jlog__net *n, struct addrinfo *res)
{
	size_t cnt = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next)
		cnt++;
	struct peer *p = calloc(cnt ? cnt : 1, sizeof(*p));
	if (!p)
		return false;
	size_t i = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_addrlen > sizeof(p[i].sa))
			continue;
		memcpy(&p[i].sa, a->ai_addr, a->ai_addrlen);
		p[i].len = a->ai_addrlen;
		p[i].family = a->ai_family;
		i++;
	}
	free(n->peers);
	n->peers = p;
	n->npeers = i;
	n->peer_i = 0;
	return i > 0;
}

static void start_resolve(struct jlog__net *n)
{
	struct resolve_req *r = calloc(1, sizeof(*r));
	if (!r) {
		conn_failed(n, "resolving", ENOMEM);
		return;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->refs = 2;
	r->socktype = n->socktype;
	strcpy(r->host, n->o.addr.host);
	strcpy(r->port, n->o.addr.port);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int e = pthread_create(&t, &at, resolve_main, r);
	pthread_attr_destroy(&at);
	if (e) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		conn_failed(n, "resolving (no thread)", e);
		return;
	}
	n->rq = r;
	n->state = RESOLVING;
	n->deadline = mono_ns() + (uint64_t)n->o.connect_timeout_ms * 1000000u;
}

static void poll_resolve(struct jlog__net *n)
{
	struct resolve_req *r = n->rq;
	pthread_mutex_lock(&r->mu);
	bool done = r->done;
	int e = r->gai_err;
	struct addrinfo *res = r->res;
	r->res = NULL;
	pthread_mutex_unlock(&r->mu);
	if (!done) {
		if (mono_ns() < n->deadline)
			return;
		resolve_release(r);
		n->rq = NULL;
		conn_failed(n, "resolving the host name", ETIMEDOUT);
		return;
	}
	resolve_release(r);
	n->rq = NULL;
	if (e) {
		if (res)
			freeaddrinfo(res);
		n->st.errors++;
		if (!n->in_outage) {
			n->in_outage = true;
			n->st.outages++;
			n->lost_at_outage = n->st.lost;
			report(n, "%s: cannot resolve \"%s\": %s; retrying with backoff up to %u ms",
			       n->name, n->o.addr.host, gai_strerror(e), n->o.reconnect_max_ms);
		} else {
			snprintf(n->err, sizeof(n->err), "%s: cannot resolve \"%s\": %s", n->name,
			         n->o.addr.host, gai_strerror(e));
		}
		backoff(n);
		return;
	}
	bool ok = take_peers(n, res);
	freeaddrinfo(res);
	if (!ok) {
		conn_failed(n, "resolving", ENOENT);
		return;
	}
	n->state = DOWN;
	n->deadline = 0;
}

static void start_connect(struct jlog__net *n)
{
	if (n->npeers == 0) {
		start_resolve(n);
		return;
	}
	struct peer *p = &n->peers[n->peer_i];
	n->fd = socket(p->family, n->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		conn_failed(n, "socket", errno);
		return;
	}
	if (connect(n->fd, (struct sockaddr *)&p->sa, p->len) == 0) {
		connected(n);
		return;
	}
	if (errno == EINPROGRESS) {
		n->state = CONNECTING;
		n->deadline = mono_ns() + (uint64_t)n->o.connect_timeout_ms * 1000000u;
		return;
	}
	conn_failed(n, "connect", errno);
}

static void poll_connect(struct jlog__net *n)
{
	struct pollfd pf = {.fd = n->fd, .events = POLLOUT};
	if (poll(&pf, 1, 0) == 0) {
		if (mono_ns() >= n->deadline) {
			char what[64];
			snprintf(what, sizeof(what), "connect (timed out after %u ms)",
			         n->o.connect_timeout_ms);
			conn_failed(n, what, ETIMEDOUT);
		}
		return;
	}
	int e = 0;
	socklen_t el = sizeof(e);
	if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
		e = errno;
	if (e)
		conn_failed(n, "connect", e);
	else
		connected(n);
}

/* ---- sending ------------------------------------------------------------ */

/* A send error: true if the connection is lost. */
static bool send_error(struct jlog__net *n, int e)
{
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		n->blocked = true;
		return false;
	case ENOBUFS:
		/* Transient: the kernel is short of buffers; retry at tick. */
		n->blocked = true;
		n->st.errors++;
		return false;
	default:
		/* EPIPE, ECONNRESET, ECONNREFUSED (UDP after an ICMP port
		 * unreachable; unixgram with no reader), ENOTCONN, EHOSTUNREACH,
		 * ENETUNREACH, ETIMEDOUT, ENOENT, ... */
		conn_failed(n, "send", e);
		return true;
	}
}

/* Protocol step 3: an idle stream whose peer has closed is not written. */
static bool peer_closed(struct jlog__net *n)
{
	char c;
	ssize_t r = recv(n->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == 0) {
		conn_failed(n, "connection closed by the server", ECONNRESET);
		return true;
	}
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		conn_failed(n, "connection", errno);
		return true;
	}
	return false;
}

static void send_stream(struct jlog__net *n)
{
	if (n->head_sent == 0 && peer_closed(n))
		return;
	while (n->l_n) {
		ssize_t w = send(n->fd, n->q + n->q_head + n->head_sent, n->q_len - n->head_sent,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			send_error(n, errno);
			return;
		}
		n->st.bytes_sent += (size_t)w;
		n->head_sent += (size_t)w;
		while (n->l_n && n->head_sent >= n->lens[n->l_head]) {
			n->head_sent -= n->lens[n->l_head];
			pop_front(n);
			n->st.frames_sent++;
		}
	}
}

static void send_dgrams(struct jlog__net *n)
{
	while (n->l_n) {
		const char *f = n->q + n->q_head;
		size_t len = n->lens[n->l_head];
		int e = 0;
		if (len > n->max_dgram && n->o.oversize) {
			e = -n->o.oversize(n->fd, f, len);
		} else if (send(n->fd, f, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			e = errno;
			if (e == EMSGSIZE && n->o.oversize)
				e = -n->o.oversize(n->fd, f, len);
		}
		if (e == EINTR)
			continue;
		if (e == EMSGSIZE) {
			/* Never split: drop it, count it, and send no larger one. */
			if (len - 1 < n->max_dgram)
				n->max_dgram = len - 1;
			n->st.errors++;
			n->st.lost++;
			report(n, "%s: a %zu-byte datagram is too large for the socket (EMSGSIZE); "
			       "dropped, limit now %zu", n->name, len, n->max_dgram);
			pop_front(n);
			continue;
		}
		if (e) {
			if (send_error(n, e))
				return;
			return;
		}
		n->st.bytes_sent += len;
		n->st.frames_sent++;
		pop_front(n);
	}
}

/* Advance the state machine as far as it goes without waiting; send. */
static void pump(struct jlog__net *n)
{
	for (int guard = 0; guard < 8; guard++) {
		switch (n->state) {
		case DOWN:
			if (mono_ns() < n->deadline)
				return;
			start_connect(n);
			continue;
		case RESOLVING:
			poll_resolve(n);
			if (n->state == RESOLVING)
				return;
			continue;
		case CONNECTING:
			poll_connect(n);
			if (n->state == CONNECTING)
				return;
			continue;
		case UP:
			n->blocked = false;
			if (n->o.addr.stream)
				send_stream(n);
			else
				send_dgrams(n);
			if (n->l_n == 0)
				n->lost_reported = false;
			return;
		}
	}
}

/* ---- the API ------------------------------------------------------------ */

struct jlog__net *jlog__net_open(const struct jlog__net_opts *o, int *err)
{
	struct jlog__net *n = calloc(1, sizeof(*n));
	if (!n) {
		*err = -ENOMEM;
		jlog__set_last_error("network sink: out of memory");
		return NULL;
	}
	n->o = *o;
	if (!n->o.connect_timeout_ms)
		n->o.connect_timeout_ms = JLOG__NET_CONNECT_TIMEOUT_MS;
	if (!n->o.reconnect_max_ms)
		n->o.reconnect_max_ms = JLOG__NET_RECONNECT_MAX_MS;
	if (n->o.reconnect_max_ms < JLOG__NET_RECONNECT_MIN_MS)
		n->o.reconnect_max_ms = JLOG__NET_RECONNECT_MIN_MS;
	if (!n->o.buffer_size)
		n->o.buffer_size = JLOG__NET_BUFFER_SIZE;
	n->fd = -1;
	n->socktype = n->o.addr.stream ? SOCK_STREAM : SOCK_DGRAM;
	n->rng = ((uint64_t)getpid() << 32) ^ mono_ns() ^ (uintptr_t)n;
	if (!n->rng)
		n->rng = 1;
	if (o->label)
		snprintf(n->name, sizeof(n->name), "%s", o->label);
	else
		jlog__net_addr_format(&n->o.addr, n->name, sizeof(n->name));
	n->o.label = NULL;
	n->max_dgram = n->o.max_datagram ? n->o.max_datagram
	               : n->o.addr.kind == JLOG__NET_UDP ? JLOG__NET_UDP_MAX
	                                                  : (size_t)-1;
	if (n->o.addr.kind == JLOG__NET_UNIXGRAM && !n->o.max_datagram) {
		/* Known before the first connect, for max_record. */
		int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), sb = 0;
		socklen_t sl = sizeof(sb);
		if (s >= 0 && getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, &sl) == 0 && sb > 64)
			n->max_dgram = (size_t)sb - 64;
		else
			n->max_dgram = 64 * 1024;
		if (s >= 0)
			close(s);
	}
	if (n->o.addr.kind == JLOG__NET_UNIX || n->o.addr.kind == JLOG__NET_UNIXGRAM) {
		n->peers = calloc(1, sizeof(*n->peers));
		if (!n->peers)
			goto nomem;
		struct sockaddr_un *un = (struct sockaddr_un *)&n->peers[0].sa;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, n->o.addr.path);
		n->peers[0].len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		                              strlen(un->sun_path) + 1);
		n->peers[0].family = AF_UNIX;
		n->npeers = 1;
	} else if (n->o.addr.numeric) {
		/* A literal never waits on a resolver. */
		struct addrinfo hints = {.ai_socktype = n->socktype,
		                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
		struct addrinfo *res = NULL;
		int e = getaddrinfo(n->o.addr.host, n->o.addr.port, &hints, &res);
		if (e) {
			jlog__set_last_error("sink \"%s\": %s", n->name, gai_strerror(e));
			*err = -EINVAL;
			free(n);
			return NULL;
		}
		bool ok = take_peers(n, res);
		freeaddrinfo(res);
		if (!ok)
			goto nomem;
	}
	n->state = DOWN;
	n->deadline = 0;
	pump(n);
	return n;
nomem:
	free(n->peers);
	free(n);
	*err = -ENOMEM;
	jlog__set_last_error("network sink: out of memory");
	return NULL;
}

/* Queue @frame; with @send, send what the socket takes now (see
 * jlog__net_write()). */
static int enqueue(struct jlog__net *n, const void *frame, size_t len, bool send)
{
	if (!n->o.addr.stream && len > n->max_dgram && !n->o.oversize) {
		n->st.lost++;
		if (!n->lost_reported) {
			n->lost_reported = true;
			report(n, "%s: a %zu-byte frame exceeds max_datagram %zu; dropped "
			       "(the formatter should have cut it to max_record)", n->name, len,
			       n->max_dgram);
		}
		return -EMSGSIZE;
	}
	if (len > UINT32_MAX || n->q_len + len > n->o.buffer_size || !make_room(n, len)) {
		n->st.lost++;
		if (!n->lost_reported) {
			n->lost_reported = true;
			report(n, "%s: outage buffer (buffer_size %zu bytes) full; dropping new "
			       "frames (counted as lost)", n->name, n->o.buffer_size);
		}
		if (send)
			pump(n);
		return -ENOBUFS;
	}
	memcpy(n->q + n->q_head + n->q_len, frame, len);
	n->q_len += len;
	n->lens[n->l_head + n->l_n++] = (uint32_t)len;
	/* Small frames gather until the stream has a batch's worth or the
	 * writer flushes: one send per batch, not per record. */
	if (!send || (n->o.addr.stream && n->state == UP && n->q_len - n->head_sent < 64 * 1024))
		return 0;
	pump(n);
	return 0;
}

int jlog__net_write(struct jlog__net *n, const void *frame, size_t len)
{
	return enqueue(n, frame, len, true);
}

int jlog__net_queue(struct jlog__net *n, const void *frame, size_t len)
{
	return enqueue(n, frame, len, false);
}

int jlog__net_flush(struct jlog__net *n, unsigned timeout_ms)
{
	pump(n);
	if (n->l_n == 0 || timeout_ms == 0)
		return n->l_n ? -EAGAIN : 0;
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000u;
	while (n->l_n) {
		uint64_t now = mono_ns();
		if (now >= end)
			return -EAGAIN;
		uint64_t wait = end - now, next = jlog__net_next_ns(n);
		if (next > now && next - now < wait)
			wait = next - now;
		int ms = (int)(wait / 1000000u) + 1;
		if (ms > 10)
			ms = 10;
		if (n->fd >= 0 && (n->state == UP || n->state == CONNECTING)) {
			struct pollfd pf = {.fd = n->fd, .events = POLLOUT};
			poll(&pf, 1, ms);
		} else {
			poll(NULL, 0, ms);
		}
		pump(n);
	}
	return 0;
}

void jlog__net_tick(struct jlog__net *n)
{
	pump(n);
}

uint64_t jlog__net_next_ns(const struct jlog__net *n)
{
	switch (n->state) {
	case DOWN:
		return n->deadline;
	case RESOLVING:
	case CONNECTING:
		/* Polled: the resolver thread and the connect do not wake us. */
		return mono_ns() + 5 * 1000000u;
	case UP:
		return n->l_n ? mono_ns() + (n->blocked ? 5 : 1) * 1000000u : UINT64_MAX;
	}
	return UINT64_MAX;
}

size_t jlog__net_max_frame(const struct jlog__net *n)
{
	return n->o.addr.stream ? n->o.buffer_size : n->max_dgram;
}

int jlog__net_crash_write(struct jlog__net *n, const void *frame, size_t len, unsigned wait_ms)
{
	if (n->state != UP || n->fd < 0 || n->head_sent)
		return -EAGAIN;
	uint64_t end = mono_ns() + (uint64_t)wait_ms * 1000000u;
	size_t done = 0;
	for (;;) {
		ssize_t w = send(n->fd, (const char *)frame + done, len - done,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			done += (size_t)w;
			if (done == len)
				return 0;
			if (!n->o.addr.stream)
				return -ETIMEDOUT; /* a datagram is never cut */
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			break;
		uint64_t now = mono_ns();
		if (now >= end)
			break;
		struct pollfd pf = {.fd = n->fd, .events = POLLOUT};
		(void)poll(&pf, 1, (int)((end - now) / 1000000u) + 1);
	}
	return done ? -ETIMEDOUT : -EAGAIN;
}

void jlog__net_after_fork(struct jlog__net *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	/* The resolver thread is the parent's: its request is left to it
	 * (this copy is never freed; its mutex may be held). */
	n->rq = NULL;
	drop_queue(n);
	if (!n->o.addr.numeric && n->o.addr.kind != JLOG__NET_UNIX &&
	    n->o.addr.kind != JLOG__NET_UNIXGRAM && n->state == RESOLVING)
		n->npeers = 0;
	n->state = DOWN;
	n->deadline = 0;
	n->attempt = 0;
	n->rng ^= (uint64_t)getpid() << 17;
}

uint64_t jlog__net_discard(struct jlog__net *n)
{
	uint64_t gone = n->l_n;
	if (n->head_sent && n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
		n->state = DOWN;
		n->deadline = 0;
	}
	drop_queue(n);
	return gone;
}

const char *jlog__net_describe(struct jlog__net *n)
{
	static const char *const names[] = {"disconnected", "resolving", "connecting",
	                                    "connected"};
	snprintf(n->desc, sizeof(n->desc), "%s (%s)", n->name, names[n->state]);
	return n->desc;
}

struct jlog__net_stats jlog__net_stats(const struct jlog__net *n)
{
	return n->st;
}

bool jlog__net_connected(const struct jlog__net *n)
{
	return n->state == UP;
}

size_t jlog__net_queued(const struct jlog__net *n)
{
	return n->q_len;
}

const char *jlog__net_last_error(const struct jlog__net *n)
{
	return n->err;
}

void jlog__net_close(struct jlog__net *n)
{
	if (!n)
		return;
	if (n->rq)
		resolve_release(n->rq);
	n->head_sent = 0;
	if (n->fd >= 0)
		close(n->fd);
	free(n->peers);
	free(n->q);
	free(n->lens);
	free(n);
}
