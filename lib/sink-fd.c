/* The fd sink: stdout, stderr or any descriptor the caller gives. */
#include "jlog-private.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int fd_write(struct jlog_sink *s, const char *p, size_t len)
{
	return jlog__write_all(s->fd, p, len);
}

static void fd_destroy(struct jlog_sink *s)
{
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
}

static const struct jlog_sink_ops fd_ops = {
	.write = fd_write,
	.flush = NULL,
	.destroy = fd_destroy,
};

int jlog__sink_fd_create(struct jlog_sink **out, int fd, bool owns_fd)
{
	struct jlog_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = &fd_ops;
	s->format = jlog__encode_json;
	s->level = 0;
	s->fd = fd;
	s->owns_fd = owns_fd;
	jlog__buf_init(&s->out);
	*out = s;
	return 0;
}
