/* Sink strings of the network transports (net-addr.c). */
#ifndef JLOG_NET_ADDR_H
#define JLOG_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

/* The four kinds of network sink; the scheme of the sink string. */
enum jlog__net_kind {
	JLOG__NET_TCP,      /* "tcp://host:port"   stream */
	JLOG__NET_UDP,      /* "udp://host:port"   datagram */
	JLOG__NET_UNIX,     /* "unix:/path"        stream (SOCK_STREAM) */
	JLOG__NET_UNIXGRAM, /* "unixgram:/path"    datagram (SOCK_DGRAM) */
};

/*
 * A parsed sink string. Invariant: for TCP/UDP host is non-empty (without
 * the brackets of an IPv6 literal) and port is 1..65535 as decimal text;
 * for UNIX/UNIXGRAM path is non-empty and fits sockaddr_un.sun_path with
 * its NUL.
 */
struct jlog__net_addr {
	enum jlog__net_kind kind;
	bool stream;      /* TCP, UNIX */
	bool numeric;     /* host is an IPv4/IPv6 literal: no resolver needed */
	char host[256];   /* RFC 1035 names are at most 253 characters */
	char port[6];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * jlog__net_addr_is - whether @sink has one of the network schemes
 * ("tcp://", "udp://", "unix:", "unixgram:"); the registry's key test.
 */
bool jlog__net_addr_is(const char *sink);

/*
 * jlog__net_addr_parse - parse @sink into @a.
 *
 * Accepted: "tcp://HOST:PORT", "udp://HOST:PORT" where HOST is a name
 * ("logs.example.com", "localhost"), an IPv4 literal ("127.0.0.1") or a
 * bracketed IPv6 literal ("[::1]", "[fe80::1%eth0]") and PORT a decimal
 * 1..65535; "unix:/PATH" and "unixgram:/PATH" (also "unix:relative/path";
 * "unix:///path" is the same as "unix:/path"). Nothing is resolved here.
 *
 * Returns 0, or -EINVAL with jlog_last_error() naming the value and what
 * is wrong ("sink \"tcp://h\": missing :PORT"). Thread-safe; no allocation.
 */
int jlog__net_addr_parse(const char *sink, struct jlog__net_addr *a);

/* jlog__net_addr_scheme - "tcp", "udp", "unix" or "unixgram". */
const char *jlog__net_addr_scheme(enum jlog__net_kind kind);

/*
 * jlog__net_addr_format - the sink string back ("tcp://[::1]:514",
 * "unixgram:/dev/log") into @out of @cap bytes (NUL-terminated, cut if
 * short); the transport's describe op. Returns the full length.
 */
size_t jlog__net_addr_format(const struct jlog__net_addr *a, char *out, size_t cap);

#endif
