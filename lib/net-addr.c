/*
 * Sink strings of the network transports: "tcp://host:port",
 * "udp://host:port", "unix:/path", "unixgram:/path". Parsing only; the
 * connection engine (net-conn.c) resolves names off the producer threads.
 */
#include "net-addr.h"

#include "jlog-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scheme {
	const char *prefix;
	enum jlog__net_kind kind;
};

/* Longest prefix first: "unixgram:" before "unix:". */
static const struct scheme schemes[] = {
	{"tcp://", JLOG__NET_TCP},
	{"udp://", JLOG__NET_UDP},
	{"unixgram:", JLOG__NET_UNIXGRAM},
	{"unix:", JLOG__NET_UNIX},
};

static const struct scheme *scheme_of(const char *sink)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(sink, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			return &schemes[i];
	return NULL;
}

bool jlog__net_addr_is(const char *sink)
{
	return sink && scheme_of(sink);
}

const char *jlog__net_addr_scheme(enum jlog__net_kind kind)
{
	switch (kind) {
	case JLOG__NET_TCP: return "tcp";
	case JLOG__NET_UDP: return "udp";
	case JLOG__NET_UNIX: return "unix";
	case JLOG__NET_UNIXGRAM: return "unixgram";
	}
	return "?";
}

static int bad(const char *sink, const char *why)
{
	jlog__set_last_error("sink \"%s\": %s", sink, why);
	return -EINVAL;
}

static int parse_path(const char *sink, const char *rest, struct jlog__net_addr *a)
{
	/* "unix:///run/x.sock" is a URL spelling of "unix:/run/x.sock". */
	if (strncmp(rest, "//", 2) == 0)
		rest += 2;
	if (!*rest)
		return bad(sink, "missing socket path after the scheme");
	if (strlen(rest) >= sizeof(a->path))
		return bad(sink, "socket path longer than 107 bytes (sun_path)");
	strcpy(a->path, rest);
	return 0;
}

static int parse_hostport(const char *sink, const char *rest, struct jlog__net_addr *a)
{
	const char *host = rest, *colon;
	size_t hlen;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (!close)
			return bad(sink, "IPv6 address without its closing ']'");
		host = rest + 1;
		hlen = (size_t)(close - host);
		if (close[1] != ':')
			return bad(sink, "missing :PORT after the IPv6 address");
		colon = close + 1;
		char tmp[sizeof(a->host)];
		if (hlen == 0 || hlen >= sizeof(tmp))
			return bad(sink, "empty or too long IPv6 address");
		memcpy(tmp, host, hlen);
		tmp[hlen] = 0;
		/* A zone ("%eth0") is for getaddrinfo, not inet_pton. */
		char *zone = strchr(tmp, '%');
		if (zone)
			*zone = 0;
		struct in6_addr in6;
		if (inet_pton(AF_INET6, tmp, &in6) != 1)
			return bad(sink, "not an IPv6 address between '[' and ']'");
	} else {
		colon = strrchr(rest, ':');
		if (!colon)
			return bad(sink, "missing :PORT");
		hlen = (size_t)(colon - host);
		if (memchr(host, ':', hlen))
			return bad(sink, "an IPv6 address needs brackets: tcp://[::1]:514");
		if (hlen == 0)
			return bad(sink, "missing host before :PORT");
		if (hlen >= sizeof(a->host))
			return bad(sink, "host name longer than 255 bytes");
		for (size_t i = 0; i < hlen; i++) {
			char c = host[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
				return bad(sink, "host has a character a name cannot have");
		}
	}
	memcpy(a->host, host, hlen);
	a->host[hlen] = 0;
	const char *port = colon + 1;
	char *end;
	errno = 0;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535 || *port == '+' || *port == '-' ||
	    *port == ' ')
		return bad(sink, "PORT is not a number 1..65535");
	snprintf(a->port, sizeof(a->port), "%lu", p);
	struct in_addr in4;
	struct in6_addr in6;
	char tmp[sizeof(a->host)];
	strcpy(tmp, a->host);
	char *zone = strchr(tmp, '%');
	if (zone)
		*zone = 0;
	a->numeric = inet_pton(AF_INET, tmp, &in4) == 1 || inet_pton(AF_INET6, tmp, &in6) == 1;
	return 0;
}

int jlog__net_addr_parse(const char *sink, struct jlog__net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!sink)
		return bad("(null)", "no sink string");
	const struct scheme *s = scheme_of(sink);
	if (!s)
		return bad(sink, "not tcp://, udp://, unix: or unixgram:");
	a->kind = s->kind;
	a->stream = s->kind == JLOG__NET_TCP || s->kind == JLOG__NET_UNIX;
	const char *rest = sink + strlen(s->prefix);
	if (s->kind == JLOG__NET_UNIX || s->kind == JLOG__NET_UNIXGRAM)
		return parse_path(sink, rest, a);
	return parse_hostport(sink, rest, a);
}

size_t jlog__net_addr_format(const struct jlog__net_addr *a, char *out, size_t cap)
{
	int n;
	if (a->kind == JLOG__NET_UNIX || a->kind == JLOG__NET_UNIXGRAM)
		n = snprintf(out, cap, "%s:%s", jlog__net_addr_scheme(a->kind), a->path);
	else if (strchr(a->host, ':'))
		n = snprintf(out, cap, "%s://[%s]:%s", jlog__net_addr_scheme(a->kind), a->host,
		             a->port);
	else
		n = snprintf(out, cap, "%s://%s:%s", jlog__net_addr_scheme(a->kind), a->host,
		             a->port);
	return n < 0 ? 0 : (size_t)n;
}
