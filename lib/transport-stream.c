/*
 * The stream transport: "stderr" and "stdout", the process's descriptors 2
 * and 1, never closed by jlog. Writes go through jlog__fd_write_lines()
 * (transport-fd.c), so stdout redirected to a file keeps the no-cut-line
 * rule of file sinks.
 */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct stream {
	struct jlog_transport base;
	int fd;
};

static int open_fd(struct jlog_transport **out, int fd)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &jlog__transport_stream;
	s->base.flags = JLOG__TP_STREAM;
	if (isatty(fd))
		s->base.flags |= JLOG__TP_TTY;
	if (fd == STDERR_FILENO)
		s->base.flags |= JLOG__TP_STDERR;
	s->fd = fd;
	*out = &s->base;
	return 0;
}

int jlog__transport_stream_fd(struct jlog_transport **out, int fd)
{
	return open_fd(out, fd);
}

/* The registry sends only "stderr" and "stdout" here. */
static int stream_open(struct jlog_transport **out, const char *target, const void *opts,
                       const jlog_sink_options *so)
{
	(void)opts;
	(void)so;
	return open_fd(out, strcmp(target, "stdout") == 0 ? STDOUT_FILENO : STDERR_FILENO);
}

static int stream_write(struct jlog_transport *t, const char *p, size_t len,
                        struct jlog__write_result *r)
{
	return jlog__fd_write_lines(((struct stream *)t)->fd, p, len, r);
}

static void stream_crash_write(struct jlog_transport *t, const char *p, size_t len)
{
	jlog__fd_crash_write(((struct stream *)t)->fd, p, len);
}

static void stream_describe(const struct jlog_transport *t, char *buf, size_t len)
{
	int fd = ((const struct stream *)t)->fd;
	if (fd == STDOUT_FILENO)
		snprintf(buf, len, "stdout");
	else if (fd == STDERR_FILENO)
		snprintf(buf, len, "stderr");
	else
		snprintf(buf, len, "fd %d", fd);
}

static void stream_close(struct jlog_transport *t)
{
	free(t);
}

const struct jlog__transport_ops jlog__transport_stream = {
	.kind = "stream",
	.open = stream_open,
	.write = stream_write,
	.crash_write = stream_crash_write,
	.describe = stream_describe,
	.close = stream_close,
};
