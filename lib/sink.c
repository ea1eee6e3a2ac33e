/*
 * Sinks: the common part. A sink owns an output buffer filled by its
 * formatter on the writer thread; jlog__sink_drain() hands the buffer to
 * the sink's write() in one call. Write errors are counted and reported
 * once on stderr; they never reach the application.
 *
 * The buffer always holds whole lines, and a failed write never leaves a
 * cut line behind in a regular file (see fd_write() in sink-fd.c): the
 * lines that could not be written whole are dropped, and the writer counts
 * them in jlog_stats.lost.
 */
#include "jlog-private.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ssize_t jlog__write_some(int fd, const char *p, size_t len)
{
	for (;;) {
		ssize_t n = write(fd, p, len);
		if (n > 0)
			return n;
		if (n == 0)
			return -EIO; /* no progress on a non-empty write */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		/* A non-blocking descriptor (a pipe or socket the application
		 * made non-blocking) is full: wait until it takes more, as a
		 * blocking one would, rather than lose bytes. A reader that
		 * goes away wakes poll() (POLLERR), and the write then fails
		 * with EPIPE. */
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
			/* ENOMEM: transient; do not spin on it. */
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

int jlog__write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = jlog__write_some(fd, p, len);
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int jlog__sink_create(struct jlog_sink **out, const char *spec, unsigned mode,
                      bool allow_symlink)
{
	if (!spec || strcmp(spec, "stderr") == 0)
		return jlog__sink_fd_create(out, STDERR_FILENO, false);
	if (strcmp(spec, "stdout") == 0)
		return jlog__sink_fd_create(out, STDOUT_FILENO, false);
	if (*spec == '\0')
		return -EINVAL;
	return jlog__sink_file_create(out, spec, mode, allow_symlink);
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

static size_t count_lines(const char *p, size_t len)
{
	size_t n = 0;
	const char *end = p + len;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

ssize_t jlog__sink_drain(struct jlog_sink *s)
{
	size_t len = s->out.len;
	s->kept_bytes = 0;
	s->kept_lines = 0;
	if (len == 0)
		return 0;
	int rc = s->ops->write(s, s->out.p, len);
	if (rc < 0) {
		/* A sink that does not say how far it got kept nothing. */
		if (s->kept_bytes > len)
			s->kept_bytes = 0;
		s->kept_lines = count_lines(s->out.p, s->kept_bytes);
		s->out.len = 0;
		s->write_errors++;
		s->last_error = -rc;
		report_error(s, -rc);
		return rc;
	}
	s->out.len = 0;
	s->kept_bytes = len;
	s->last_error = 0;
	s->error_reported = false;
	return (ssize_t)len;
}
