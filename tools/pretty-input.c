/*
 * jlog-pretty's input: stdin or a file, plain or compressed (gzip, zstd:
 * what rotated logs are), read in large blocks.
 *
 * The kind is told by the first bytes (gzip's 1f 8b, zstd's 28 b5 2f fd),
 * not the name, so stdin and renamed files work too. A compressed file is
 * fed to its decoder block by block; several gzip members or zstd frames
 * one after another (what appending to a compressed log gives) are read
 * as one stream.
 *
 * Following (-f, like tail -F): at the end of a plain file the reader
 * waits and looks at the path again. When the path names another file
 * (its inode changed: the log was rotated), what is left of the old file
 * is read first, then the new one from its start; when the file got
 * shorter (truncated in place, copytruncate), reading starts over.
 */
#include "pretty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef JLOG_PRETTY_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef JLOG_PRETTY_HAVE_ZSTD
#include <zstd.h>
#endif

#define RAW_CAP (256u * 1024u)
/* How long a follower sleeps at the end of the file. */
#define FOLLOW_NS 100000000L

bool pin_have_zlib(void)
{
#ifdef JLOG_PRETTY_HAVE_ZLIB
	return true;
#else
	return false;
#endif
}

bool pin_have_zstd(void)
{
#ifdef JLOG_PRETTY_HAVE_ZSTD
	return true;
#else
	return false;
#endif
}

static const char *name_of(const struct pin *in)
{
	return strcmp(in->path, "-") == 0 ? "stdin" : in->path;
}

static ssize_t fill(struct pin *in)
{
	if (in->raw_pos == in->raw_len)
		in->raw_pos = in->raw_len = 0;
	for (;;) {
		ssize_t n = read(in->fd, in->raw + in->raw_len, RAW_CAP - in->raw_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			fprintf(stderr, "jlog-pretty: %s: %s\n", name_of(in), strerror(e));
			return -e;
		}
		if (n == 0)
			in->raw_eof = true;
		in->raw_len += (size_t)n;
		in->pos += n;
		return n;
	}
}

static int start_decoder(struct pin *in)
{
	if (in->kind == PIN_GZIP) {
#ifdef JLOG_PRETTY_HAVE_ZLIB
		z_stream *z = calloc(1, sizeof(*z));
		/* 16 + MAX_WBITS: a gzip header and trailer around deflate. */
		if (!z || inflateInit2(z, 16 + MAX_WBITS) != Z_OK) {
			free(z);
			fprintf(stderr, "jlog-pretty: %s: out of memory\n", name_of(in));
			return -ENOMEM;
		}
		in->z = z;
		return 0;
#else
		fprintf(stderr,
		        "jlog-pretty: %s: a gzip file, and this jlog-pretty was built without zlib "
		        "(install zlib1g-dev and rebuild with -Dzlib=enabled): cannot read it\n",
		        name_of(in));
		return -ENOTSUP;
#endif
	}
	if (in->kind == PIN_ZSTD) {
#ifdef JLOG_PRETTY_HAVE_ZSTD
		ZSTD_DStream *zs = ZSTD_createDStream();
		if (!zs) {
			fprintf(stderr, "jlog-pretty: %s: out of memory\n", name_of(in));
			return -ENOMEM;
		}
		ZSTD_initDStream(zs);
		in->z = zs;
		return 0;
#else
		fprintf(stderr,
		        "jlog-pretty: %s: a zstd file, and this jlog-pretty was built without libzstd "
		        "(install libzstd-dev and rebuild with -Dzstd=enabled): cannot read it\n",
		        name_of(in));
		return -ENOTSUP;
#endif
	}
	return 0;
}

static int open_fd(struct pin *in)
{
	struct stat st;
	if (strcmp(in->path, "-") == 0) {
		in->fd = 0;
	} else {
		in->fd = open(in->path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			int e = errno;
			fprintf(stderr, "jlog-pretty: %s: %s\n", in->path, strerror(e));
			return -e;
		}
	}
	if (fstat(in->fd, &st) == 0) {
		in->dev = st.st_dev;
		in->ino = st.st_ino;
	}
	in->pos = 0;
	in->raw_len = in->raw_pos = 0;
	in->raw_eof = false;
	in->rotated = false;
	/* The first bytes tell the kind: read until there are 4, or the end. */
	while (in->raw_len < 4 && !in->raw_eof) {
		ssize_t n = fill(in);
		if (n < 0)
			return (int)n;
		if (n == 0 && in->follow && in->raw_len == 0)
			break; /* an empty file being followed: plain */
	}
	const unsigned char *r = in->raw;
	in->kind = PIN_PLAIN;
	if (in->raw_len >= 2 && r[0] == 0x1f && r[1] == 0x8b)
		in->kind = PIN_GZIP;
	else if (in->raw_len >= 4 && r[0] == 0x28 && r[1] == 0xb5 && r[2] == 0x2f && r[3] == 0xfd)
		in->kind = PIN_ZSTD;
	return start_decoder(in);
}

int pin_open(struct pin *in, const char *path, bool follow)
{
	memset(in, 0, sizeof(*in));
	in->path = path;
	in->follow = follow;
	in->fd = -1;
	in->raw = malloc(RAW_CAP);
	if (!in->raw) {
		fprintf(stderr, "jlog-pretty: out of memory\n");
		return -ENOMEM;
	}
	int r = open_fd(in);
	if (r == -ENOENT && follow && strcmp(path, "-") != 0) {
		/* As tail -F: a file that is not there yet is waited for
		 * (follow_wait() opens it once the path names a file). */
		fprintf(stderr, "jlog-pretty: %s: waiting for the file to appear\n", path);
		in->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		in->rotated = true;
		in->kind = PIN_PLAIN;
		in->pos = 0;
		in->raw_len = in->raw_pos = 0;
		in->raw_eof = false;
		r = in->fd < 0 ? -errno : 0;
	}
	if (r < 0)
		pin_close(in);
	return r;
}

static void end_decoder(struct pin *in)
{
#ifdef JLOG_PRETTY_HAVE_ZLIB
	if (in->kind == PIN_GZIP && in->z) {
		inflateEnd(in->z);
		free(in->z);
	}
#endif
#ifdef JLOG_PRETTY_HAVE_ZSTD
	if (in->kind == PIN_ZSTD && in->z)
		ZSTD_freeDStream(in->z);
#endif
	in->z = NULL;
}

void pin_close(struct pin *in)
{
	end_decoder(in);
	if (in->fd > 0)
		close(in->fd);
	in->fd = -1;
	free(in->raw);
	in->raw = NULL;
}

/*
 * At the end of a followed file: 1 when there may be more to read (the
 * file grew, was truncated or replaced), 0 after a wait with nothing new.
 */
static int follow_wait(struct pin *in)
{
	struct stat st;
	if (in->rotated && stat(in->path, &st) == 0) {
		/* The rest of the old file has been read: on to the new one. */
		close(in->fd);
		in->fd = -1;
		if (open_fd(in) == 0)
			return 1;
		/* Gone again, or unreadable: keep trying, on an empty input. */
		in->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		in->rotated = true;
	}
	struct timespec ts = {0, FOLLOW_NS};
	nanosleep(&ts, NULL);
	if (stat(in->path, &st) < 0)
		return 0; /* rotated away, the new file not created yet */
	if (st.st_dev != in->dev || st.st_ino != in->ino) {
		in->rotated = true;
		in->raw_eof = false;
		return 1;
	}
	if (st.st_size < in->pos) {
		lseek(in->fd, 0, SEEK_SET);
		in->pos = 0;
	}
	in->raw_eof = false;
	return 1;
}

static ssize_t read_plain(struct pin *in, char *dst, size_t cap)
{
	for (;;) {
		if (in->raw_pos < in->raw_len) {
			size_t n = in->raw_len - in->raw_pos;
			if (n > cap)
				n = cap;
			memcpy(dst, in->raw + in->raw_pos, n);
			in->raw_pos += n;
			return (ssize_t)n;
		}
		/* Straight into the caller's buffer: no copy for big reads. */
		ssize_t n;
		do
			n = read(in->fd, dst, cap);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			int e = errno;
			fprintf(stderr, "jlog-pretty: %s: %s\n", name_of(in), strerror(e));
			return -e;
		}
		if (n > 0) {
			in->pos += n;
			return n;
		}
		if (!in->follow || strcmp(in->path, "-") == 0)
			return 0;
		follow_wait(in);
	}
}

#if defined(JLOG_PRETTY_HAVE_ZLIB) || defined(JLOG_PRETTY_HAVE_ZSTD)
/* A decoder's input: 1 when there are compressed bytes to feed it, 0 at
 * the end of the file, or a negative errno. */
static ssize_t need_raw(struct pin *in)
{
	if (in->raw_pos < in->raw_len)
		return 1;
	if (in->raw_eof)
		return 0;
	return fill(in);
}
#endif

#ifdef JLOG_PRETTY_HAVE_ZLIB
static ssize_t read_gzip(struct pin *in, char *dst, size_t cap)
{
	z_stream *z = in->z;
	for (;;) {
		ssize_t more = need_raw(in);
		if (more < 0)
			return more;
		if (in->z_end) {
			if (more == 0)
				return 0; /* the end, after a whole member */
			/* Another member follows the one that ended. */
			inflateReset(z);
			in->z_end = false;
		}
		z->next_in = in->raw + in->raw_pos;
		z->avail_in = (uInt)(in->raw_len - in->raw_pos);
		z->next_out = (Bytef *)dst;
		z->avail_out = (uInt)cap;
		int r = inflate(z, Z_NO_FLUSH);
		in->raw_pos = in->raw_len - z->avail_in;
		size_t got = cap - z->avail_out;
		if (r == Z_STREAM_END)
			in->z_end = true;
		else if (r != Z_OK && r != Z_BUF_ERROR) {
			fprintf(stderr, "jlog-pretty: %s: corrupt gzip data (%s)\n", name_of(in),
			        z->msg ? z->msg : "inflate failed");
			return -EIO;
		}
		if (got)
			return (ssize_t)got;
		if (more == 0) {
			/* No input left, nothing more out, the member not
			 * ended: a file cut short, which must not pass for a
			 * whole one (as zcat says too). */
			fprintf(stderr, "jlog-pretty: %s: truncated gzip data (the file ends inside "
			                "a member)\n", name_of(in));
			return -EIO;
		}
	}
}
#endif

#ifdef JLOG_PRETTY_HAVE_ZSTD
static ssize_t read_zstd(struct pin *in, char *dst, size_t cap)
{
	for (;;) {
		ssize_t more = need_raw(in);
		if (more < 0)
			return more;
		if (more == 0 && in->z_end)
			return 0; /* the end, after a whole frame */
		/* With no input left, still called: the decoder may hold
		 * output it had no room for. */
		ZSTD_inBuffer ib = {in->raw, in->raw_len, in->raw_pos};
		ZSTD_outBuffer ob = {dst, cap, 0};
		size_t r = ZSTD_decompressStream(in->z, &ob, &ib);
		in->raw_pos = ib.pos;
		if (ZSTD_isError(r)) {
			fprintf(stderr, "jlog-pretty: %s: corrupt zstd data (%s)\n", name_of(in),
			        ZSTD_getErrorName(r));
			return -EIO;
		}
		in->z_end = r == 0;
		if (ob.pos)
			return (ssize_t)ob.pos;
		if (more == 0) {
			fprintf(stderr, "jlog-pretty: %s: truncated zstd data (the file ends inside "
			                "a frame)\n", name_of(in));
			return -EIO;
		}
	}
}
#endif

ssize_t pin_read(struct pin *in, char *dst, size_t cap)
{
	switch (in->kind) {
#ifdef JLOG_PRETTY_HAVE_ZLIB
	case PIN_GZIP:
		return read_gzip(in, dst, cap);
#endif
#ifdef JLOG_PRETTY_HAVE_ZSTD
	case PIN_ZSTD:
		return read_zstd(in, dst, cap);
#endif
	default:
		return read_plain(in, dst, cap);
	}
}
