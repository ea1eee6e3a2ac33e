/* The file sink: a path opened for append. */
#include "jlog-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int jlog__sink_file_create(struct jlog_sink **out, const char *path, unsigned mode)
{
	/* O_APPEND: lines from several processes sharing the file never
	 * overwrite each other; O_CLOEXEC: a child that execs does not keep
	 * the log open. */
	int fd;
	do
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, (mode_t)mode);
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
