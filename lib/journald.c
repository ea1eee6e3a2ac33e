/*
 * The systemd-journald native protocol: each record one entry, each
 * field "NAME=value\n" or, for a value with a newline, "NAME\n" + 64-bit
 * little-endian length + bytes + "\n" (systemd's journal-native protocol
 * document). Entries larger than a datagram are written to a sealed memfd
 * whose descriptor is sent instead (jlog__journald_send_memfd, the
 * connection engine's oversize hook).
 */
#include "journald.h"

#include "syslog-frame.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

void jlog__journald_opts_init(struct jlog__journald_opts *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->identifier, sizeof(o->identifier), "%s", program_invocation_short_name);
}

int jlog__journald_net_opts(struct jlog__net_opts *no, const char *socket)
{
	static _Thread_local char label[sizeof(no->addr.path) + 16];
	if (!socket)
		socket = JLOG__JOURNALD_SOCKET;
	if (!*socket || strlen(socket) >= sizeof(no->addr.path)) {
		jlog__set_last_error("journald: socket \"%s\" must be 1..%zu bytes", socket,
		                     sizeof(no->addr.path) - 1);
		return -EINVAL;
	}
	memset(&no->addr, 0, sizeof(no->addr));
	no->addr.kind = JLOG__NET_UNIXGRAM;
	strcpy(no->addr.path, socket);
	no->oversize = jlog__journald_send_memfd;
	snprintf(label, sizeof(label), "journald:%s", socket);
	no->label = label; /* copied by jlog__net_open() */
	return 0;
}

static const char *const own_names[] = {
	"MESSAGE", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "SYSLOG_IDENTIFIER",
	"TID", "JLOG_JSON", "JLOG_LEVEL", "JLOG_LOGGER",
};

size_t jlog__journald_field_name(const char *key, size_t klen,
                                 char out[JLOG__JOURNALD_NAME_MAX + 1])
{
	char tmp[JLOG__JOURNALD_NAME_MAX + 3];
	size_t n = 0;
	/* Rule 2 needs the first mapped byte: map it first. */
	char first = klen ? key[0] : '_';
	if (first >= 'a' && first <= 'z')
		first = (char)(first - 'a' + 'A');
	bool prefix = !(first >= 'A' && first <= 'Z');
	if (prefix) {
		tmp[n++] = 'F';
		tmp[n++] = '_';
	}
	for (size_t i = 0; i < klen && n < JLOG__JOURNALD_NAME_MAX; i++) {
		char c = key[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			c = '_';
		tmp[n++] = c;
	}
	tmp[n] = 0;
	if (!prefix)
		for (size_t i = 0; i < sizeof(own_names) / sizeof(own_names[0]); i++)
			if (strcmp(tmp, own_names[i]) == 0) {
				memmove(tmp + 2, tmp, n + 1);
				tmp[0] = 'F';
				tmp[1] = '_';
				n += 2;
				break;
			}
	if (n > JLOG__JOURNALD_NAME_MAX)
		n = JLOG__JOURNALD_NAME_MAX;
	memcpy(out, tmp, n);
	out[n] = 0;
	return n;
}

static void put_field(struct jlog__buf *b, const char *name, const char *val, size_t len,
                      const char *suffix)
{
	size_t slen = suffix ? strlen(suffix) : 0;
	jlog__buf_put(b, name, strlen(name));
	if (memchr(val, '\n', len)) {
		uint64_t n = len + slen;
		unsigned char le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)(n >> (8 * i));
		jlog__buf_putc(b, '\n');
		jlog__buf_put(b, le, 8);
	} else {
		jlog__buf_putc(b, '=');
	}
	jlog__buf_put(b, val, len);
	jlog__buf_put(b, suffix, slen);
	jlog__buf_putc(b, '\n');
}

static void put_num(struct jlog__buf *b, const char *name, long long v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%lld", v);
	put_field(b, name, t, (size_t)n, NULL);
}

void jlog__journald_entry(struct jlog__buf *out, const struct jlog__journald_opts *o,
                          const char *line, size_t len, const struct jlog__rec_view *v)
{
	put_field(out, "MESSAGE", v->msg ? v->msg : "", v->msg ? v->msg_len : 0,
	          (v->flags & JLOG__REC_MSG_TRUNCATED) ? "\xe2\x80\xa6" : NULL);
	put_num(out, "PRIORITY", jlog__syslog_severity(v->level));
	const char *ln = jlog__level_name(v->level);
	if (ln)
		put_field(out, "JLOG_LEVEL", ln, strlen(ln), NULL);
	else
		put_num(out, "JLOG_LEVEL", v->level);
	put_field(out, "SYSLOG_IDENTIFIER", o->identifier, strlen(o->identifier), NULL);
	put_num(out, "TID", (long long)v->tid);
	if (v->file)
		put_field(out, "CODE_FILE", v->file, strlen(v->file), NULL);
	if (v->file || v->line > 0)
		put_num(out, "CODE_LINE", v->line);
	if (v->function)
		put_field(out, "CODE_FUNC", v->function, strlen(v->function), NULL);
	if (v->name && v->name_len)
		put_field(out, "JLOG_LOGGER", v->name, v->name_len, NULL);
	const uint8_t *cur = v->fields;
	struct jlog__field_view f;
	char name[JLOG__JOURNALD_NAME_MAX + 1];
	struct jlog__buf tmp;
	jlog__buf_init(&tmp);
	while (cur && jlog__field_next(v, &cur, &f)) {
		jlog__journald_field_name(f.key, f.key_len, name);
		switch (f.type) {
		case JLOG__T_STR:
			put_field(out, name, f.v.s, f.val_len,
			          (f.flags & JLOG__FIELD_TRUNCATED) ? "\xe2\x80\xa6" : NULL);
			break;
		case JLOG__T_JSON:
			put_field(out, name, f.v.s, f.val_len, NULL);
			break;
		default:
			tmp.len = 0;
			jlog__json_value(&tmp, &f);
			if (!tmp.failed)
				put_field(out, name, tmp.p, tmp.len, NULL);
			break;
		}
	}
	jlog__buf_finish(&tmp);
	if (o->json_field)
		put_field(out, "JLOG_JSON", line, len, NULL);
}

int jlog__journald_send_memfd(int fd, const void *entry, size_t len)
{
	int mfd = memfd_create("jlog-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -errno;
	const char *p = entry;
	size_t left = len;
	while (left) {
		ssize_t w = write(mfd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(mfd);
			return e;
		}
		p += w;
		left -= (size_t)w;
	}
	/* journald refuses a memfd that is not sealed: the entry cannot
	 * change while it reads it. */
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		int e = -errno;
		close(mfd);
		return e;
	}
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr mh = {.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &mfd, sizeof(int));
	ssize_t r;
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	int e = r < 0 ? -errno : 0;
	close(mfd);
	return e;
}
