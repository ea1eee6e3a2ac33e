/*
 * The fd sink: stdout, stderr or any descriptor the caller gives (the file
 * sink is an fd sink on a descriptor it opened).
 *
 * A write that fails after part of the buffer went out (ENOSPC on a full
 * disk, EFBIG past RLIMIT_FSIZE: write(2) first returns a short count, and
 * the next call fails) must not leave a cut line in a regular file, where
 * the next line would be glued to it. fd_write() remembers where the line
 * being written started in the file and, on failure, truncates the file
 * back to it. It only ever removes bytes this very call wrote, and only
 * while they are still the end of the file, so data written before, or
 * appended since by another process, is never cut.
 *
 * On a pipe or socket nothing can be taken back; a write there fails after
 * a short count only when the reader is gone (EPIPE), so no reader sees
 * the cut line. A full non-blocking pipe (EAGAIN) is waited on, never an
 * error (jlog__write_some()).
 */
#include "jlog-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the line being written starts in the file. */
struct cut_track {
	bool seekable; /* false once lseek() failed: a pipe, a socket, a tty */
	off_t end;     /* file offset just past the last chunk written */
	off_t line;    /* offset of the unfinished line; -1 unknown */
};

/* Note a short write of @n bytes of @q, which starts at @done in the
 * buffer. Only short writes are noted: one that writes the rest ends the
 * call with success, so every chunk before a failure is a short one. */
static void note_chunk(struct jlog_sink *s, struct cut_track *t, const char *q,
                       size_t n, size_t done)
{
	if (!t->seekable)
		return;
	/* After write(2) the offset is just past the bytes it wrote, also
	 * with O_APPEND (which positions and writes atomically). */
	off_t cur = lseek(s->fd, 0, SEEK_CUR);
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
 * file, if it is still ours and still the end. */
static void remove_cut(struct jlog_sink *s, const struct cut_track *t, size_t tail)
{
	if (!t->seekable || t->line < 0 || t->end - t->line != (off_t)tail)
		return;
	struct stat st;
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != t->end)
		return;
	int rc;
	do
		rc = ftruncate(s->fd, t->line);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return;
	/* Without O_APPEND (stdout redirected with '>'), the next write goes
	 * to the offset: move it back, or the cut would become a hole. */
	(void)lseek(s->fd, t->line, SEEK_SET);
	s->cuts_removed++;
}

static int fd_write(struct jlog_sink *s, const char *p, size_t len)
{
	struct cut_track t = {.seekable = true, .end = -1, .line = -1};
	size_t done = 0;
	while (done < len) {
		ssize_t n = jlog__write_some(s->fd, p + done, len - done);
		if (n < 0) {
			const char *nl = done ? memrchr(p, '\n', done) : NULL;
			size_t whole = nl ? (size_t)(nl - p) + 1 : 0;
			if (done > whole)
				remove_cut(s, &t, done - whole);
			s->kept_bytes = whole;
			return (int)n;
		}
		if ((size_t)n < len - done)
			note_chunk(s, &t, p + done, (size_t)n, done);
		done += (size_t)n;
	}
	return 0;
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
	s->format = jlog__sink_format_plain;
	jlog__json_opts_init(&s->json);
	s->catch_errors = true;
	s->level = 0;
	s->fd = fd;
	s->owns_fd = owns_fd;
	jlog__buf_init(&s->out);
	*out = s;
	return 0;
}
