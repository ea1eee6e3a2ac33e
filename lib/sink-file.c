/* The file sink: a path opened for append. */
#include "jlog-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int jlog__sink_file_create(struct jlog_sink **out, const char *path, unsigned mode,
                           bool allow_symlink)
{
	/* O_APPEND: lines from several processes sharing the file never
	 * overwrite each other; O_CLOEXEC: a child that execs does not keep
	 * the log open. O_NOFOLLOW: a log path that is a symbolic link (a
	 * dangling one planted in a shared directory, say, pointing at a file
	 * the service may write) is refused with ELOOP unless the caller
	 * allowed it. It concerns the last component only. */
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	if (!allow_symlink)
		flags |= O_NOFOLLOW;
	int fd;
	do
		fd = open(path, flags, (mode_t)mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	char *copy = strdup(path);
	if (!copy) {
		close(fd);
		return -ENOMEM;
	}
	int rc = jlog__sink_fd_create(out, fd, true);
	if (rc < 0) {
		free(copy);
		close(fd);
		return rc;
	}
	(*out)->path = copy;
	return 0;
}
