/*
 * The file transport: a path, opened for append. Its keys (file_mode,
 * allow_symlink) are its option table below; writes and the crash write
 * go through transport-fd.c.
 *
 * Opening never blocks: O_NONBLOCK makes open(2) of a FIFO without a
 * reader fail with ENXIO at once (without it, jlog_open() and
 * jlog_add_sink() would wait for a reader forever), and is cleared again
 * after the open, so a FIFO with a reader is written as before (a full
 * one is waited on, jlog__write_some()).
 *
 * External rotation (logrotate's `create`): reopen, asked by jlog_reopen(),
 * opens the path again; and tick, at most about once a second (as
 * `tail -F`), stats the path and reopens it when it names another file or
 * none (renamed or deleted underneath). Lines written between the rename
 * and the reopen are in the renamed file. A reopen that fails keeps the
 * old descriptor (lines go on there rather than nowhere), is counted in
 * side_errors and reported once until one succeeds. `copytruncate` needs
 * nothing: O_APPEND writes land at the new end.
 */
#include "transport.h"

#include "jlog-private.h"
#include "opt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_opts {
	unsigned mode;
	bool allow_symlink;
};

static const struct jlog__opt file_keys[] = {
	{"file_mode", JLOG__OPT_MODE, offsetof(struct file_opts, mode), NULL,
	 "mode of a file the sink creates, an octal string; default \"0640\""},
	{"allow_symlink", JLOG__OPT_BOOL, offsetof(struct file_opts, allow_symlink), NULL,
	 "accept a path whose last component is a symbolic link; default false"},
	{NULL, 0, 0, NULL, NULL},
};

struct file {
	struct jlog_transport base;
	/* Read by the crash write from any thread; stored only by the
	 * writer (reopen), the new one before the old is closed. */
	atomic_int fd;
	char *path;
	struct file_opts o;
	dev_t dev; /* the file fd is, for the inode check */
	ino_t ino;
	uint64_t checked_ns; /* last inode check */
	bool failing;        /* a reopen failed: reported, quiet until one works */
};

static void file_opts_init(void *opts, const jlog_sink_options *so)
{
	struct file_opts *o = opts;
	o->mode = so->file_mode;
	o->allow_symlink = so->allow_symlink;
}

static int open_path(const char *path, const struct file_opts *o)
{
	/* O_APPEND: lines from several processes sharing the file never
	 * overwrite each other; O_CLOEXEC: a child that execs does not keep
	 * the log open. O_NOFOLLOW: a log path that is a symbolic link (a
	 * dangling one planted in a shared directory, say, pointing at a file
	 * the service may write) is refused with ELOOP unless the caller
	 * allowed it. It concerns the last component only. */
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK;
	if (!o->allow_symlink)
		flags |= O_NOFOLLOW;
	int fd;
	do
		fd = open(path, flags, (mode_t)o->mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int jlog__file_open(struct jlog_transport **out, const char *path, unsigned mode,
                    bool allow_symlink)
{
	const struct file_opts fo = {mode, allow_symlink}, *o = &fo;
	if (!*path) {
		jlog__set_last_error("sink: an empty path");
		return -EINVAL;
	}
	if (o->mode > 07777) {
		jlog__set_last_error("file_mode: %o is not a file mode", o->mode);
		return -EINVAL;
	}
	int fd = open_path(path, o);
	if (fd == -ENXIO) {
		jlog__set_last_error("sink \"%.200s\": a FIFO with no reader (opening it for "
		                     "writing would wait for one): start the reader first",
		                     path);
		return fd;
	}
	if (fd < 0) {
		jlog__set_last_error("sink \"%.200s\": %s", path, jlog_strerror(fd));
		return fd;
	}
	struct file *f = calloc(1, sizeof(*f));
	char *copy = strdup(path);
	if (!f || !copy) {
		free(f);
		free(copy);
		close(fd);
		return -ENOMEM;
	}
	f->base.ops = &jlog__transport_file;
	atomic_init(&f->fd, fd);
	f->path = copy;
	f->o = fo;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
	*out = &f->base;
	return 0;
}

static int file_open(struct jlog_transport **out, const char *path, const void *opts,
                     const jlog_sink_options *so)
{
	(void)so;
	const struct file_opts *o = opts;
	return jlog__file_open(out, path, o->mode, o->allow_symlink);
}

/* The writer's own store, or a crash write's read of a descriptor that
 * is open: relaxed either way (no data is published with it). */
static int fd_of(struct file *f)
{
	return atomic_load_explicit(&f->fd, memory_order_relaxed);
}

static int file_write(struct jlog_transport *t, const char *p, size_t len,
                      struct jlog__write_result *r)
{
	return jlog__fd_write_lines(fd_of((struct file *)t), p, len, r);
}

static int file_reopen(struct jlog_transport *t)
{
	struct file *f = (struct file *)t;
	int fd = open_path(f->path, &f->o);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		fd = rc;
	}
	if (fd < 0) {
		f->base.side_errors++;
		if (!f->failing) {
			f->failing = true;
			char line[600];
			int n = snprintf(line, sizeof(line),
			                 "jlog: file %s: reopening it: %s; lines still go to the "
			                 "file opened before (counted in jlog_stats.rotation_errors)\n",
			                 f->path, jlog_strerror(fd));
			if (n > 0)
				(void)jlog__write_all(STDERR_FILENO, line,
				                      (size_t)n < sizeof(line) ? (size_t)n
				                                               : sizeof(line) - 1);
		}
		return fd;
	}
	f->failing = false;
	close(atomic_exchange_explicit(&f->fd, fd, memory_order_relaxed));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

static void file_tick(struct jlog_transport *t, uint64_t now_ns)
{
	struct file *f = (struct file *)t;
	if (now_ns - f->checked_ns < 1000000000u && f->checked_ns <= now_ns)
		return;
	f->checked_ns = now_ns;
	struct stat st;
	if (stat(f->path, &st) < 0 || st.st_ino != f->ino || st.st_dev != f->dev)
		(void)file_reopen(t);
}

static void file_crash_write(struct jlog_transport *t, const char *p, size_t len)
{
	jlog__fd_crash_write(fd_of((struct file *)t), p, len);
}

static void file_describe(const struct jlog_transport *t, char *buf, size_t len)
{
	snprintf(buf, len, "file %s", ((const struct file *)t)->path);
}

static void file_close(struct jlog_transport *t)
{
	struct file *f = (struct file *)t;
	close(fd_of(f));
	free(f->path);
	free(f);
}

const struct jlog__transport_ops jlog__transport_file = {
	.kind = "file",
	.opts = file_keys,
	.opts_size = sizeof(struct file_opts),
	.opts_init = file_opts_init,
	.open = file_open,
	.write = file_write,
	.tick = file_tick,
	.reopen = file_reopen,
	.crash_write = file_crash_write,
	.describe = file_describe,
	.close = file_close,
};
