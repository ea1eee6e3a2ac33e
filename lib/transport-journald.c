/*
 * The journald transport: sink "journald", one journal entry per record
 * in systemd's native protocol (journald.h: the fields, their names, the
 * sealed memfd for entries larger than a datagram) on
 * /run/systemd/journal/socket or the "socket" option's path, through the
 * connection engine and transport-net.h's ops.
 *
 * The protocol is written directly rather than with libsystemd's
 * sd_journal_sendv(): no new dependency, the entry is built in one buffer
 * with no iovec per field, and the socket's errors are jlog's to see:
 * sd_journal_sendv() returns 0 when nothing listens, where this transport
 * reports ENOENT or ECONNREFUSED on stderr once per outage and keeps the
 * entries in its outage buffer until journald is back.
 */
#include "transport-net.h"

#include "opt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct journald_opts {
	struct jlog__net_common_opts c; /* first: the common setters cast base */
	struct jlog__journald_opts jo;
	char socket[sizeof(((struct jlog__net_addr *)0)->path)];
};

static int set_socket(void *base, const json_t *v, const char *path, char *err, size_t errlen)
{
	struct journald_opts *o = base;
	const char *s;
	int rc = jlog__cfg_string(v, path, &s, err, errlen);
	if (rc == 0 && (!*s || strlen(s) >= sizeof(o->socket)))
		rc = jlog__cfg_fail(err, errlen, path, "a socket path of 1..%zu bytes",
		                    sizeof(o->socket) - 1);
	if (rc == 0)
		strcpy(o->socket, s);
	return rc;
}

static int set_identifier(void *base, const json_t *v, const char *path, char *err,
                          size_t errlen)
{
	struct journald_opts *o = base;
	const char *s;
	int rc = jlog__cfg_string(v, path, &s, err, errlen);
	if (rc == 0 && (!*s || strlen(s) >= sizeof(o->jo.identifier) || strchr(s, '\n')))
		rc = jlog__cfg_fail(err, errlen, path, "1..%zu bytes without a newline",
		                    sizeof(o->jo.identifier) - 1);
	if (rc == 0)
		strcpy(o->jo.identifier, s);
	return rc;
}

static const struct jlog__opt journald_keys[] = {
	{"socket", JLOG__OPT_CUSTOM, 0, set_socket,
	 "journald's native socket; default /run/systemd/journal/socket"},
	{"journal_json", JLOG__OPT_BOOL, offsetof(struct journald_opts, jo.json_field), NULL,
	 "also the whole JSON line as the field JLOG_JSON; default false"},
	{"identifier", JLOG__OPT_CUSTOM, 0, set_identifier,
	 "SYSLOG_IDENTIFIER; default the program's name"},
	{"reconnect_max_ms", JLOG__OPT_CUSTOM, 0, jlog__net_set_reconnect_max,
	 "the longest backoff between reconnects; default 30000"},
	{"buffer_size", JLOG__OPT_CUSTOM, 0, jlog__net_set_buffer_size,
	 "bytes of entries kept while journald is away; default 4194304"},
	{NULL, 0, 0, NULL, NULL},
};

static void journald_opts_init(void *opts, const jlog_sink_options *so)
{
	(void)so;
	struct journald_opts *o = opts;
	jlog__journald_opts_init(&o->jo);
	strcpy(o->socket, JLOG__JOURNALD_SOCKET);
}

static void build_entry(const struct jlog__net_tp *t, struct jlog__buf *out, const char *line,
                        size_t len, const struct jlog__rec_view *v)
{
	jlog__journald_entry(out, &t->jo, line, len, v);
}

static int journald_open(struct jlog_transport **out, const char *target, const void *opts,
                         const jlog_sink_options *so)
{
	(void)so;
	(void)target;
	const struct journald_opts *o = opts;
	struct jlog__net_opts no;
	memset(&no, 0, sizeof(no));
	int rc = jlog__journald_net_opts(&no, o->socket);
	if (rc < 0)
		return rc;
	struct jlog__net_tp *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->base.ops = &jlog__transport_journald;
	t->build = build_entry;
	t->jo = o->jo;
	/* The memfd path takes an entry of any size: nothing is cut. */
	t->cut_to_datagram = false;
	return jlog__net_tp_open(t, &no, &o->c, out);
}

const struct jlog__transport_ops jlog__transport_journald = {
	.kind = "journald",
	.opts = journald_keys,
	.opts_size = sizeof(struct journald_opts),
	.opts_init = journald_opts_init,
	.open = journald_open,
	.record = jlog__net_tp_record,
	.write = jlog__net_tp_write,
	.flush = jlog__net_tp_flush,
	.tick = jlog__net_tp_tick,
	.finish = jlog__net_tp_finish,
	.crash_write = jlog__net_tp_crash_write,
	.after_fork = jlog__net_tp_after_fork,
	.describe = jlog__net_tp_describe,
	.close = jlog__net_tp_close,
};
