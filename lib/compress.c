/*
 * Compression of rotated files, off the writer's thread.
 *
 * Protocol of one file (jlog__compress_file()), so that a crash or kill at
 * any point leaves the original or the complete compressed file, never
 * neither and never a truncated file under the final name:
 *
 *   1. create "<rotated>.gz.tmp" with O_EXCL and flock(2) it: the lock
 *      tells a live compression (another process's) from a dead one's
 *      leftover, which jlog__rotate_open() removes;
 *   2. compress the original into it, polling the stop flag between
 *      chunks;
 *   3. give the temporary the original's times, fsync it, check the name
 *      still is our file, rename it to
 *      "<rotated>.gz", fsync the directory;
 *   4. only then unlink the original.
 *
 * A crash before 3 leaves the original (and a temporary that the next
 * open removes, then compresses the original again); after 3, the
 * complete compressed file (and maybe the original, compressed again at
 * the next open, over an identical result).
 *
 * The helper thread (struct jlog__compressor) takes paths from a queue
 * guarded by its mutex; it starts on the first push and stops at destroy
 * (its stop flag also abandons the file in progress).
 */
#include "jlog-private.h"
#include "rotate.h"
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef JLOG_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef JLOG_HAVE_ZSTD
#include <zstd.h>
#endif

#define CHUNK (128 * 1024)

/* One streaming encoder: gz or zst behind two calls. */
struct encoder {
	enum jlog__compression kind;
#ifdef JLOG_HAVE_ZLIB
	z_stream z;
#endif
#ifdef JLOG_HAVE_ZSTD
	ZSTD_CCtx *zc;
#endif
};

static int enc_init(struct encoder *e, enum jlog__compression kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	switch (kind) {
#ifdef JLOG_HAVE_ZLIB
	case JLOG__COMPRESS_GZ:
		/* 15 + 16: a gzip wrapper (header and CRC trailer), so gunzip
		 * and zcat read the file; level 6 is gzip's default. */
		return deflateInit2(&e->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK
		               ? 0
		               : -ENOMEM;
#endif
#ifdef JLOG_HAVE_ZSTD
	case JLOG__COMPRESS_ZST:
		e->zc = ZSTD_createCCtx();
		if (!e->zc)
			return -ENOMEM;
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_checksumFlag, 1);
		return 0;
#endif
	default:
		return -ENOTSUP;
	}
}

static void enc_finish(struct encoder *e)
{
#ifdef JLOG_HAVE_ZLIB
	if (e->kind == JLOG__COMPRESS_GZ)
		deflateEnd(&e->z);
#endif
#ifdef JLOG_HAVE_ZSTD
	if (e->kind == JLOG__COMPRESS_ZST)
		ZSTD_freeCCtx(e->zc);
#endif
}

/* Feed @in (n bytes; @last at the end of input) and write what comes out
 * to @fd. */
static int enc_step(struct encoder *e, const char *in, size_t n, bool last, int fd,
                    char *out)
{
#ifdef JLOG_HAVE_ZLIB
	if (e->kind == JLOG__COMPRESS_GZ) {
		e->z.next_in = (Bytef *)in;
		e->z.avail_in = (uInt)n;
		int zr;
		do {
			e->z.next_out = (Bytef *)out;
			e->z.avail_out = CHUNK;
			zr = deflate(&e->z, last ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR)
				return -EIO;
			size_t have = CHUNK - e->z.avail_out;
			int rc = jlog__write_all(fd, out, have);
			if (rc)
				return rc;
		} while (e->z.avail_out == 0 || (last && zr != Z_STREAM_END));
		return 0;
	}
#endif
#ifdef JLOG_HAVE_ZSTD
	if (e->kind == JLOG__COMPRESS_ZST) {
		ZSTD_inBuffer ib = {in, n, 0};
		for (;;) {
			ZSTD_outBuffer ob = {out, CHUNK, 0};
			size_t left = ZSTD_compressStream2(e->zc, &ob, &ib,
			                                   last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left))
				return -EIO;
			int rc = jlog__write_all(fd, out, ob.pos);
			if (rc)
				return rc;
			if (last ? left == 0 : ib.pos == ib.size)
				return 0;
		}
	}
#endif
	(void)in, (void)n, (void)last, (void)fd, (void)out;
	return -ENOTSUP;
}

static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int jlog__compress_file(const char *src, enum jlog__compression c, const atomic_bool *stop,
                        char *msg, size_t msg_len)
{
	char *dst = NULL, *tmp = NULL, *in = NULL, *out = NULL;
	int sfd = -1, tfd = -1, rc;
	bool tmp_ours = false, enc_live = false;
	struct encoder e;
	/* What failed, on which file, for the message. */
	const char *what = "open", *whom = src;

	if (asprintf(&dst, "%s%s", src, jlog__compression_suffix(c)) < 0) {
		dst = NULL;
		rc = -ENOMEM;
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp", dst) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	in = malloc(CHUNK);
	out = malloc(CHUNK);
	if (!in || !out) {
		rc = -ENOMEM;
		goto out;
	}
	sfd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) {
		rc = -errno;
		goto out;
	}
	struct stat st;
	if (fstat(sfd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	what = "create";
	whom = tmp;
	tfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0666);
	if (tfd < 0) {
		rc = -errno;
		/* A regular file there is another process's compression (or a
		 * dead one's, which the next open removes): not a failure.
		 * Anything else (a directory) stays in the way for good: a
		 * failure, reported and counted (compress_main()). */
		struct stat ost;
		if (rc == -EEXIST && lstat(tmp, &ost) == 0 && !S_ISREG(ost.st_mode))
			rc = S_ISDIR(ost.st_mode) ? -EISDIR : -ENOTSUP;
		goto out;
	}
	tmp_ours = true;
	/* Nobody else has it yet (O_EXCL): the lock cannot be contended,
	 * except by a clean-up that opened it in the instant since; then it
	 * is theirs to remove, and the name check in step 3 notices. */
	if (flock(tfd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		tmp_ours = false;
		goto out;
	}
	rc = enc_init(&e, c);
	if (rc)
		goto out;
	enc_live = true;
	what = "compress into";
	for (;;) {
		if (stop && atomic_load_explicit(stop, memory_order_relaxed)) {
			/* Relaxed: the flag carries no data; the owner joins
			 * the thread after setting it. */
			rc = -ECANCELED;
			goto out;
		}
		ssize_t n = read(sfd, in, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			what = "read";
			whom = src;
			goto out;
		}
		rc = enc_step(&e, in, (size_t)n, n == 0, tfd, out);
		if (rc)
			goto out;
		if (n == 0)
			break;
	}
	/* The original's times, as gzip keeps them: retention orders the
	 * rotated files by mtime (rotate-files.c, by_age()), and a
	 * compressed file stamped when its compression ended would pass
	 * for newer than the plain ones rotated meanwhile, which retention
	 * would then remove in its place. */
	what = "set the times of";
	const struct timespec times[2] = {st.st_atim, st.st_mtim};
	if (futimens(tfd, times) < 0) {
		rc = -errno;
		goto out;
	}
	what = "fsync";
	if (fsync(tfd) < 0) {
		rc = -errno;
		goto out;
	}
	struct stat tst, pst;
	if (fstat(tfd, &tst) < 0 || stat(tmp, &pst) < 0 || tst.st_ino != pst.st_ino ||
	    tst.st_dev != pst.st_dev) {
		rc = -ESTALE; /* a clean-up removed it: the original stays */
		tmp_ours = false;
		goto out;
	}
	what = "rename to";
	whom = dst;
	if (rename(tmp, dst) < 0) {
		rc = -errno;
		goto out;
	}
	tmp_ours = false;
	(void)fsync_dir_of(dst);
	what = "remove";
	whom = src;
	if (unlink(src) < 0) {
		rc = -errno;
		if (rc != -ENOENT)
			goto out;
		/* Retention (or a person) removed the original while it was
		 * being compressed: what was removed must not come back
		 * under the compressed name. */
		(void)unlink(dst);
	}
	rc = 0;
out:
	if (rc && rc != -ECANCELED && msg)
		snprintf(msg, msg_len, "compression of %s: %s %s: %s", src, what, whom,
		         jlog_strerror(rc));
	if (tmp_ours)
		unlink(tmp);
	if (enc_live)
		enc_finish(&e);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	free(in);
	free(out);
	free(tmp);
	free(dst);
	return rc;
}

/* ---- The helper thread ---- */

struct job {
	struct job *next;
	char path[];
};

/*
 * lock guards head/tail, busy, started, compressed, errors, failing.
 * stop is atomic because the thread polls it inside a file without the
 * lock.
 */
struct jlog__compressor {
	pthread_mutex_t lock;
	pthread_cond_t work; /* queue non-empty or stopping */
	pthread_cond_t idle; /* queue empty and not busy */
	struct job *head, *tail;
	bool busy, started;
	atomic_bool stop;
	pthread_t thread;
	enum jlog__compression kind;
	jlog__rotate_error_fn on_error;
	void *error_arg;
	uint64_t compressed, errors;
	bool failing; /* reported a failure; not again until a success */
};

static void *compress_main(void *arg)
{
	struct jlog__compressor *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		/* Relaxed: the store in destroy is made under the lock we
		 * hold here, which orders it. */
		while (!c->head && !atomic_load_explicit(&c->stop, memory_order_relaxed))
			pthread_cond_wait(&c->work, &c->lock);
		if (atomic_load_explicit(&c->stop, memory_order_relaxed))
			break;
		struct job *j = c->head;
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		c->busy = true;
		pthread_mutex_unlock(&c->lock);

		char msg[600] = "";
		int rc = jlog__compress_file(j->path, c->kind, &c->stop, msg, sizeof(msg));
		/* -EEXIST: another process is compressing it; -ENOENT: it
		 * finished or retention removed the file. Neither is a
		 * failure. */
		bool failed = rc && rc != -ECANCELED && rc != -EEXIST && rc != -ENOENT;
		bool report = false;

		pthread_mutex_lock(&c->lock);
		if (rc == 0) {
			c->compressed++;
			c->failing = false;
		} else if (failed) {
			c->errors++;
			report = !c->failing;
			c->failing = true;
		}
		pthread_mutex_unlock(&c->lock);
		if (report && c->on_error)
			c->on_error(c->error_arg, JLOG__ROTATE_ERR_COMPRESS, rc, msg);
		free(j);
		pthread_mutex_lock(&c->lock);
		c->busy = false;
		if (!c->head)
			pthread_cond_broadcast(&c->idle);
	}
	c->busy = false;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int jlog__compressor_create(struct jlog__compressor **out, enum jlog__compression kind,
                            jlog__rotate_error_fn on_error, void *error_arg)
{
	struct jlog__compressor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->idle, NULL);
	atomic_init(&c->stop, false);
	c->kind = kind;
	c->on_error = on_error;
	c->error_arg = error_arg;
	*out = c;
	return 0;
}

int jlog__compressor_push(struct jlog__compressor *c, const char *path)
{
	size_t n = strlen(path) + 1;
	struct job *j = malloc(sizeof(*j) + n);
	if (!j)
		return -ENOMEM;
	j->next = NULL;
	memcpy(j->path, path, n);
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	if (!c->started) {
		/* The thread must not take the process's signals meant for
		 * the application: block them all in it. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = -pthread_create(&c->thread, NULL, compress_main, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc == 0)
			c->started = true;
	}
	if (rc == 0) {
		if (c->tail)
			c->tail->next = j;
		else
			c->head = j;
		c->tail = j;
		pthread_cond_signal(&c->work);
	}
	pthread_mutex_unlock(&c->lock);
	if (rc)
		free(j);
	return rc;
}

void jlog__compressor_drain(struct jlog__compressor *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->started && (c->head || c->busy))
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void jlog__compressor_counts(struct jlog__compressor *c, uint64_t *compressed,
                             uint64_t *errors)
{
	pthread_mutex_lock(&c->lock);
	*compressed = c->compressed;
	*errors = c->errors;
	pthread_mutex_unlock(&c->lock);
}

static void free_queue(struct jlog__compressor *c)
{
	while (c->head) {
		struct job *j = c->head;
		c->head = j->next;
		free(j);
	}
	c->tail = NULL;
}

void jlog__compressor_after_fork(struct jlog__compressor *c)
{
	/* The thread is not in the child, and the lock may have been held
	 * by it at the fork: start over with a fresh lock and an empty
	 * queue (the parent compresses those files). */
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->idle, NULL);
	free_queue(c);
	c->busy = false;
	c->started = false;
}

void jlog__compressor_destroy(struct jlog__compressor *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	/* Pairs with the loads in compress_main() (under this lock) and in
	 * jlog__compress_file() (between chunks, relaxed: it only needs to
	 * see it eventually). */
	atomic_store_explicit(&c->stop, true, memory_order_relaxed);
	pthread_cond_signal(&c->work);
	bool started = c->started;
	pthread_mutex_unlock(&c->lock);
	if (started)
		pthread_join(c->thread, NULL);
	free_queue(c);
	pthread_cond_destroy(&c->idle);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
