/*
 * The systemd-journald native protocol (journald.c): entries built from
 * records, and the sealed-memfd path for entries too large for a
 * datagram. The sending is the connection engine's (net-conn.h) on a
 * unixgram socket; this file supplies the entry (the per-record hook) and
 * the engine's oversize hook.
 *
 * Wiring as a transport ("journald", options "socket", "json_field",
 * "identifier", and the engine's "buffer_size", "reconnect_max_ms"):
 *   open      jlog__journald_opts_init(&jo); jlog__journald_net_opts(&no,
 *             socket); jlog__net_open(&no)
 *   write     jlog__journald_entry(&scratch, &jo, line, len, view);
 *             jlog__net_write(n, scratch.p, scratch.len)
 *   others    as net-conn.h; max_record is unlimited (the memfd path takes
 *             any size the formatter produces).
 *
 * Written directly rather than with libsystemd's sd_journal_sendv(): no
 * new dependency, the entry is built in the writer's scratch buffer with
 * no iovec per field, and jlog sees the socket's errors — sd_journal_sendv
 * returns 0 when nothing listens, where jlog reports ENOENT/ECONNREFUSED
 * ("journald: no journald at /run/systemd/journal/socket: ...") and keeps
 * the entries in its outage buffer until journald is back.
 */
#ifndef JLOG_JOURNALD_H
#define JLOG_JOURNALD_H

#include "jlog-private.h"
#include "net-conn.h"

#include <stdbool.h>
#include <stddef.h>

#define JLOG__JOURNALD_SOCKET "/run/systemd/journal/socket"
/* The journal's longest field name. */
#define JLOG__JOURNALD_NAME_MAX 64

struct jlog__journald_opts {
	bool json_field;       /* "json_field": also JLOG_JSON=<the JSON line> */
	char identifier[256];  /* "identifier": SYSLOG_IDENTIFIER; default the
	                          program's name */
};

/* Defaults: no JLOG_JSON, identifier program_invocation_short_name. */
void jlog__journald_opts_init(struct jlog__journald_opts *o);

/*
 * jlog__journald_net_opts - the engine options for the journal socket
 * @socket (NULL: JLOG__JOURNALD_SOCKET): unixgram, the memfd oversize hook,
 * label "journald:PATH". Other fields of @no are left as the caller set
 * them. Returns 0 or -EINVAL (path too long; jlog_last_error() set).
 */
int jlog__journald_net_opts(struct jlog__net_opts *no, const char *socket);

/*
 * jlog__journald_field_name - the journal field name of jlog field @key:
 *   1. a-z become A-Z; A-Z, 0-9 and '_' stay; every other byte becomes '_'
 *      ("http.status" -> HTTP_STATUS, "user-id" -> USER_ID, "é" -> "__");
 *   2. a name that then starts with a digit or '_' (or is empty) gets the
 *      prefix "F_" (journald refuses the first and reserves '_' for its
 *      trusted fields): "2fa" -> F_2FA, "_pid" -> F__PID;
 *   3. a name equal to one jlog writes itself (MESSAGE, PRIORITY,
 *      CODE_FILE, CODE_LINE, CODE_FUNC, SYSLOG_IDENTIFIER, TID, JLOG_JSON,
 *      JLOG_LEVEL, JLOG_LOGGER) gets the prefix "F_" too: "message" ->
 *      F_MESSAGE;
 *   4. the result is cut to 64 bytes.
 * Two keys that map to one name ("a.b", "a_b") both appear: the journal
 * keeps several values per field (journalctl -o json shows an array).
 * Writes the name and its NUL into @out; returns its length (1..64).
 */
size_t jlog__journald_field_name(const char *key, size_t klen,
                                 char out[JLOG__JOURNALD_NAME_MAX + 1]);

/*
 * jlog__journald_entry - append the journal entry of one record to @out
 * (the per-record hook). Fields, in order:
 *   MESSAGE           the record's message (raw bytes)
 *   PRIORITY          jlog__syslog_severity(level) (syslog-frame.h)
 *   JLOG_LEVEL        the level's name ("INFO") or its number
 *   SYSLOG_IDENTIFIER o->identifier
 *   TID               the thread id
 *   CODE_FILE, CODE_LINE, CODE_FUNC   when the record has them
 *   JLOG_LOGGER       the logger's name, when it has one
 *   every field       named by jlog__journald_field_name; strings raw (a
 *                     truncated one ends in U+2026, as in the JSON line),
 *                     JSON values as their JSON text, numbers, booleans
 *                     and null as in the JSON line
 *   JLOG_JSON         @line/@len, when o->json_field
 * A value holding a newline uses the protocol's binary form (NAME "\n",
 * 64-bit little-endian length, the bytes, "\n"); others NAME=VALUE "\n".
 * Writer thread; on allocation failure out->failed is set.
 */
void jlog__journald_entry(struct jlog__buf *out, const struct jlog__journald_opts *o,
                          const char *line, size_t len, const struct jlog__rec_view *v);

/*
 * jlog__journald_send_memfd - send @len bytes of entry on the connected
 * journal socket @fd as the protocol requires for large entries: written
 * to a memfd, sealed (F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE|F_SEAL_SEAL)
 * and passed with SCM_RIGHTS in an empty datagram. Returns 0 or a
 * negative errno (memfd_create, write, fcntl or sendmsg's). The engine's
 * oversize hook.
 */
int jlog__journald_send_memfd(int fd, const void *entry, size_t len);

#endif
