/*
 * Sinks: the common part. A sink owns an output buffer filled by its
 * formatter on the writer thread; jlog__sink_drain() hands the buffer to
 * the sink's write() in one call. Write errors are counted and reported
 * once on stderr; they never reach the application.
 */
#include "jlog-private.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int jlog__write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* A non-blocking descriptor (a pipe or socket the
			 * application made non-blocking): wait until it takes
			 * more, rather than lose bytes. */
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

int jlog__sink_create(struct jlog_sink **out, const char *spec, unsigned mode)
{
	if (!spec || strcmp(spec, "stderr") == 0)
		return jlog__sink_fd_create(out, STDERR_FILENO, false);
	if (strcmp(spec, "stdout") == 0)
		return jlog__sink_fd_create(out, STDOUT_FILENO, false);
	if (*spec == '\0')
		return -EINVAL;
	return jlog__sink_file_create(out, spec, mode);
}

void jlog__sink_destroy(struct jlog_sink *s)
{
	if (!s)
		return;
	jlog__buf_finish(&s->out);
	s->ops->destroy(s);
}

/* Say once on stderr that a sink fails; say again only after it recovered
 * and failed anew. Never on the sink itself if that is stderr. */
static void report_error(struct jlog_sink *s, int err)
{
	if (s->error_reported)
		return;
	s->error_reported = true;
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
	                 "jlog: writing to %s failed: %s; lines are dropped and "
	                 "counted until it works again\n",
	                 s->path ? s->path : (s->fd == STDOUT_FILENO ? "stdout" : "stderr"),
	                 jlog_strerror(err));
	if (n > 0 && s->fd != STDERR_FILENO)
		(void)jlog__write_all(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

ssize_t jlog__sink_drain(struct jlog_sink *s)
{
	size_t len = s->out.len;
	if (len == 0)
		return 0;
	int rc = s->ops->write(s, s->out.p, len);
	s->out.len = 0;
	if (rc < 0) {
		s->write_errors++;
		s->last_error = -rc;
		report_error(s, -rc);
		return rc;
	}
	s->last_error = 0;
	s->error_reported = false;
	return (ssize_t)len;
}
