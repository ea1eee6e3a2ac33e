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
 */
#include "transport.h"

#include "jlog-private.h"
#include "opt.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	int fd;
	char *path;
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
	f->fd = fd;
	f->path = copy;
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

static int file_write(struct jlog_transport *t, const char *p, size_t len,
                      struct jlog__write_result *r)
{
	return jlog__fd_write_lines(((struct file *)t)->fd, p, len, r);
}

static void file_crash_write(struct jlog_transport *t, const char *p, size_t len)
{
	jlog__fd_crash_write(((struct file *)t)->fd, p, len);
}

static void file_describe(const struct jlog_transport *t, char *buf, size_t len)
{
	snprintf(buf, len, "file %s", ((const struct file *)t)->path);
}

static void file_close(struct jlog_transport *t)
{
	struct file *f = (struct file *)t;
	close(f->fd);
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
	.crash_write = file_crash_write,
	.describe = file_describe,
	.close = file_close,
};
