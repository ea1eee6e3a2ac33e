/* Error strings. */
#include "jlog-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *jlog_strerror(int err)
{
	if (err < 0)
		err = -err;
	/* A fixed table rather than strerror(): strerror() may format into a
	 * shared static buffer for unknown codes, which is not thread-safe. */
	switch (err) {
	case 0: return "success";
	case EINVAL: return "invalid argument";
	case ENOMEM: return "out of memory";
	case EAGAIN: return "resource temporarily unavailable";
	case ENOENT: return "no such file or directory";
	case EACCES: return "permission denied";
	case EPERM: return "operation not permitted";
	case EISDIR: return "is a directory";
	case ENOTDIR: return "not a directory";
	case EEXIST: return "file exists";
	case ELOOP: return "too many levels of symbolic links";
	case ENAMETOOLONG: return "file name too long";
	case EROFS: return "read-only file system";
	case ENOSPC: return "no space left on device";
	case EFBIG: return "file too large";
	case EDQUOT: return "disk quota exceeded";
	case EIO: return "input/output error";
	case EPIPE: return "broken pipe";
	case EBADF: return "bad file descriptor";
	case EMFILE: return "too many open files";
	case ENFILE: return "too many open files in system";
	case EINTR: return "interrupted system call";
	case ENOSYS: return "function not implemented";
	case ENOTSUP: return "operation not supported";
	case ECONNREFUSED: return "connection refused";
	case ECONNRESET: return "connection reset by peer";
	case ETIMEDOUT: return "timed out";
	case EBUSY: return "device or resource busy";
	case ERANGE: return "result out of range";
	/* Two codes jlog gives its own meaning, so that neither reads as a
	 * missing file (jlog_remove_sink and jlog_context_pop). */
	case ESRCH: return "no such sink";
	case ENODATA: return "no context pushed on this thread";
	default: {
		/* glibc's description table: static strings, thread-safe. */
		const char *d = strerrordesc_np(err);
		return d ? d : "unknown error";
	}
	}
}

static _Thread_local char last_error[512];
/* Counts the messages set on this thread, so that jlog__explain() can tell
 * whether a failing call explained itself. */
static _Thread_local unsigned last_error_seq;

/* format(printf, 1, 0): callers' formats are checked at their own calls. */
__attribute__((format(printf, 1, 0))) static void set_v(const char *fmt, va_list ap)
{
	last_error_seq++;
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
}

void jlog__set_last_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(fmt, ap);
	va_end(ap);
}

int jlog__fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(fmt, ap);
	va_end(ap);
	return rc;
}

unsigned jlog__last_error_seq(void)
{
	return last_error_seq;
}

int jlog__explain(int rc, unsigned seq, const char *call)
{
	if (rc < 0 && last_error_seq == seq)
		jlog__set_last_error("%s: %s", call, jlog_strerror(rc));
	return rc;
}

const char *jlog_last_error(void)
{
	return last_error;
}
