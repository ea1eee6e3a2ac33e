/*
 * What the descriptor-based transports share (transport-stream.c,
 * transport-file.c): the write loop and the crash handler's write.
 *
 * A write that fails after part of the buffer went out (ENOSPC on a full
 * disk, EFBIG past RLIMIT_FSIZE: write(2) first returns a short count, and
 * the next call fails) must not leave a cut line in a regular file, where
 * the next line would be glued to it. jlog__fd_write_lines() remembers
 * where the line being written started in the file and, on failure,
 * truncates the file back to it. It only ever removes bytes this very call
 * wrote, and only while they are still the end of the file, so data
 * written before, or appended since by another process, is never cut.
 *
 * On a pipe or socket nothing can be taken back; a write there fails after
 * a short count only when the reader is gone (EPIPE), so no reader sees
 * the cut line. A full non-blocking pipe (EAGAIN) is waited on, never an
 * error (jlog__write_some()).
 */
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The crash write gives up on a descriptor that takes no byte this long. */
#define CRASH_WAIT_MS 2000

ssize_t jlog__write_some(int fd, const char *p, size_t len)
{
	/* On the writer thread, a pipe or socket is waited on with poll()
	 * and written no more than it takes at once, so a reader that
	 * stopped reading holds the writer up only until the close or exit
	 * deadline (writer.c), without making the descriptor, which the
	 * whole process shares, non-blocking. */
	int kind = jlog__write_kind(fd);
	for (;;) {
		ssize_t n;
		if (JLOG__UNLIKELY(kind != JLOG__FD_PLAIN)) {
			int rc = jlog__write_wait(fd);
			if (rc < 0)
				return rc;
			n = kind == JLOG__FD_SOCKET ? send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
			                            : write(fd, p, jlog__pipe_room(fd, len));
		} else {
			n = write(fd, p, len);
		}
		if (n > 0)
			return n;
		if (n == 0)
			return -EIO; /* no progress on a non-empty write */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (kind != JLOG__FD_PLAIN)
			continue; /* jlog__write_wait() waits */
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

/* Where the line being written starts in the file. Pair: note_chunk()
 * records it, remove_cut() uses it. */
struct cut_track {
	bool seekable; /* false once lseek() failed: a pipe, a socket, a tty */
	off_t end;     /* file offset just past the last chunk written */
	off_t line;    /* offset of the unfinished line; -1 unknown */
};

/* Note a short write of @n bytes of @q, which starts at @done in the
 * buffer. Only short writes are noted: one that writes the rest ends the
 * call with success, so every chunk before a failure is a short one. */
static void note_chunk(int fd, struct cut_track *t, const char *q, size_t n, size_t done)
{
	if (!t->seekable)
		return;
	/* After write(2) the offset is just past the bytes it wrote, also
	 * with O_APPEND (which positions and writes atomically). */
	off_t cur = lseek(fd, 0, SEEK_CUR);
	if (cur < 0 || cur < (off_t)n) {
		t->seekable = false;
		t->line = -1;
		return;
	}
	off_t start = cur - (off_t)n;
	const char *nl = memrchr(q, '\n', n);
	if (nl)
		t->line = start + (nl - q) + 1;
	else if (done == 0)
		t->line = start; /* the buffer starts with a whole line */
	else if (start != t->end)
		t->line = -1; /* someone wrote between our chunks */
	t->end = cur;
}

/* After a failure, take back the cut line of @tail bytes at the end of the
 * file, if it is still ours and still the end. Returns whether it did. */
static bool remove_cut(int fd, const struct cut_track *t, size_t tail)
{
	if (!t->seekable || t->line < 0 || t->end - t->line != (off_t)tail)
		return false;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != t->end)
		return false;
	int rc;
	do
		rc = ftruncate(fd, t->line);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return false;
	/* Without O_APPEND (stdout redirected with '>'), the next write goes
	 * to the offset: move it back, or the cut would become a hole. */
	(void)lseek(fd, t->line, SEEK_SET);
	return true;
}

int jlog__fd_write_lines(int fd, const char *p, size_t len, struct jlog__write_result *r)
{
	struct cut_track t = {.seekable = true, .end = -1, .line = -1};
	size_t done = 0;
	while (done < len) {
		ssize_t n = jlog__write_some(fd, p + done, len - done);
		if (n < 0) {
			const char *nl = done ? memrchr(p, '\n', done) : NULL;
			size_t whole = nl ? (size_t)(nl - p) + 1 : 0;
			if (done > whole && remove_cut(fd, &t, done - whole))
				r->cuts_removed++;
			r->kept = whole;
			return (int)n;
		}
		if ((size_t)n < len - done)
			note_chunk(fd, &t, p + done, (size_t)n, done);
		done += (size_t)n;
	}
	return 0;
}

/* A pipe or socket is polled first and written at most PIPE_BUF bytes at
 * a time, which a writable pipe takes without blocking, so a reader that
 * stopped reading cannot hold the crash handler. Only async-signal-safe
 * calls. */
void jlog__fd_crash_write(int fd, const char *p, size_t n)
{
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	while (n > 0) {
		if (!regular) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int r = poll(&pfd, 1, CRASH_WAIT_MS);
			if (r == 0 || (r < 0 && errno != EINTR) ||
			    (r > 0 && (pfd.revents & (POLLERR | POLLNVAL))))
				return;
			if (r < 0)
				continue;
		}
		size_t chunk = regular || n < PIPE_BUF ? n : PIPE_BUF;
		ssize_t w = write(fd, p, chunk);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			regular = false; /* poll from now on */
		} else {
			return;
		}
	}
}
