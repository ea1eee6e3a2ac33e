/*
 * The rotating file (contract in rotate.h).
 *
 * State of the active file, owned by one thread (the writer):
 *   fd, dev/ino   the file we write, and its identity
 *   size          bytes in it: st_size at open plus what we appended
 *                 (single process); st_size under the lock (shared)
 *   limit         rotate before a batch would make size exceed it: the
 *                 policy's size, or UINT64_MAX; raised by a tenth of the
 *                 bound after a failed rotation so it is not retried per
 *                 batch
 *   next_ns       the next time-driven rotation instant, UINT64_MAX none
 * The per-batch check is `size + len > limit` and, with time rotation,
 * `now >= next_ns`; everything else happens when one of them trips, in
 * tick (once a second), or on a reopen request.
 *
 * Rotation (single process): rename(2) the path to the rotated name with
 * RENAME_NOREPLACE (a taken name gets the next counter), open the path
 * again, swap the descriptors, then queue compression and apply retention.
 * If the path cannot be opened again, the rename is undone, so lines never
 * go on into a file that compression or retention may remove.
 *
 * Shared mode (several processes on one path): each batch is written under
 * flock(LOCK_EX) on the open file, after stat(2) of the path shows it is
 * still our inode (else we reopen it and lock again). The size comes from
 * that stat, so every process sees the others' lines. The process that
 * finds the bound reached renames the path while holding the lock of the
 * old inode; every other process then blocks on that lock, sees the path
 * is another inode, and reopens. Nobody writes into a rotated file, and
 * lines are whole (O_APPEND, one write(2) per batch under the lock).
 * flock(2) locks belong to the open file description, so a forked child
 * reopens the path (jlog__rotate_after_fork()).
 */
#include "jlog-private.h"
#include "rotate.h"
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define MAX_COUNTER 1000 /* collision counters tried per rotation */

struct jlog__rotate {
	char *path;
	struct jlog__rotate_name nm;
	unsigned mode;
	bool allow_symlink;
	struct jlog__rotate_policy pol;

	/* Read by jlog__rotate_crash_write() from any thread or handler;
	 * stored only by the owner (swap_fd()). */
	atomic_int fd;
	dev_t dev;
	ino_t ino;
	uint64_t size, limit;
	uint64_t next_ns, opened_ns, checked_ns;

	/* Set by jlog__rotate_reopen() (any thread, a signal handler);
	 * exchanged back to false by the owner. */
	atomic_bool reopen;

	struct jlog__compressor *comp; /* NULL without compression */
	struct jlog__rotate_stats st;
	bool failing[JLOG__ROTATE_ERR_KINDS]; /* reported; quiet until a success */
};

static uint64_t now_of(const struct jlog__rotate *rf)
{
	return rf->pol.now_ns ? rf->pol.now_ns(rf->pol.now_arg) : jlog__now_ns();
}

/* Count a failure; report it if it is the first since a success. */
static void fail(struct jlog__rotate *rf, enum jlog__rotate_err kind, int err,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(struct jlog__rotate *rf, enum jlog__rotate_err kind, int err,
                 const char *fmt, ...)
{
	rf->st.errors[kind]++;
	if (rf->failing[kind])
		return;
	rf->failing[kind] = true;
	if (!rf->pol.on_error)
		return;
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", jlog_strerror(err));
	rf->pol.on_error(rf->pol.error_arg, kind, err, msg);
}

/* ---- Opening and swapping the descriptor ---- */

static int open_path(const struct jlog__rotate *rf, struct stat *st)
{
	/* O_APPEND: lines from several processes never overwrite each
	 * other, and a copytruncate leaves no hole; O_NOFOLLOW unless
	 * allowed: a symlink planted at the path is refused. */
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	if (!rf->allow_symlink)
		flags |= O_NOFOLLOW;
	int fd;
	do
		fd = open(rf->path, flags, (mode_t)rf->mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Make @fd (with @st) the active file; close the old one. The new
 * descriptor is published before the old one is closed, so a crash
 * handler never writes to a closed number. */
static void swap_fd(struct jlog__rotate *rf, int fd, const struct stat *st, uint64_t now)
{
	/* Relaxed: a crash write needs a descriptor that is open, not any
	 * data published with it. Pairs with the load in
	 * jlog__rotate_crash_write(). */
	int old = atomic_exchange_explicit(&rf->fd, fd, memory_order_relaxed);
	if (old >= 0 && old != fd)
		close(old);
	rf->dev = st->st_dev;
	rf->ino = st->st_ino;
	rf->size = (uint64_t)st->st_size;
	rf->limit = rf->pol.size ? rf->pol.size : UINT64_MAX;
	rf->opened_ns = now;
	rf->next_ns = jlog__rotate_next_instant(&rf->pol, now);
	rf->checked_ns = now;
}

/* Open the path again (reopen request, inode change, after fork). */
static int reopen_path(struct jlog__rotate *rf, uint64_t now)
{
	struct stat st;
	int fd = open_path(rf, &st);
	if (fd < 0) {
		fail(rf, JLOG__ROTATE_ERR_ROTATE, fd, "reopen of %s", rf->path);
		return fd;
	}
	swap_fd(rf, fd, &st, now);
	rf->st.reopens++;
	rf->failing[JLOG__ROTATE_ERR_ROTATE] = false;
	return 0;
}

/* ---- Retention and the start-up clean-up ---- */

/* The length of @path without a compression suffix: a rotated file and
 * its compressed copy have the same stem. */
static size_t stem_len(const char *path)
{
	size_t n = strlen(path);
	if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
		return n - 3;
	if (n > 4 && strcmp(path + n - 4, ".zst") == 0)
		return n - 4;
	return n;
}

static bool same_stem(const struct jlog__rotated *a, const struct jlog__rotated *b)
{
	size_t la = stem_len(a->path);
	return la == stem_len(b->path) && memcmp(a->path, b->path, la) == 0;
}

/* Is v[i] the second copy of a rotation listed before it? Between the
 * compressor's rename and its unlink of the original (compress.c), a
 * listing shows both: they are one rotated file, counted once, removed
 * together. */
static bool is_twin(const struct jlog__rotated *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (v[j].kind != JLOG__ROTATED_TMP && same_stem(&v[j], &v[i]))
			return true;
	return false;
}

static bool remove_rotated(struct jlog__rotate *rf, const char *path)
{
	if (unlink(path) == 0) {
		rf->st.removed++;
		return true;
	}
	if (errno == ENOENT)
		return true;
	fail(rf, JLOG__ROTATE_ERR_RETENTION, -errno, "retention: removing %s", path);
	return false;
}

static void apply_retention(struct jlog__rotate *rf, uint64_t now)
{
	if (!rf->pol.keep_count && !rf->pol.keep_age_ns)
		return;
	struct jlog__rotated *v;
	size_t n;
	int rc = jlog__rotated_list(&rf->nm, &v, &n);
	if (rc) {
		fail(rf, JLOG__ROTATE_ERR_RETENTION, rc, "retention in %s: listing", rf->nm.dir);
		return;
	}
	bool *twin = n ? calloc(n, sizeof(*twin)) : NULL;
	if (n && !twin) {
		fail(rf, JLOG__ROTATE_ERR_RETENTION, -ENOMEM, "retention in %s: listing",
		     rf->nm.dir);
		jlog__rotated_free(v, n);
		return;
	}
	size_t files = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == JLOG__ROTATED_TMP)
			continue;
		twin[i] = is_twin(v, i);
		files += !twin[i];
	}
	/* Oldest first: by count, the first files - keep go; by age, those
	 * last modified before now - age. */
	size_t drop = rf->pol.keep_count && files > rf->pol.keep_count
	                      ? files - rf->pol.keep_count
	                      : 0;
	uint64_t cutoff = rf->pol.keep_age_ns && now > rf->pol.keep_age_ns
	                          ? now - rf->pol.keep_age_ns
	                          : 0;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == JLOG__ROTATED_TMP || twin[i])
			continue;
		uint64_t mt = (uint64_t)v[i].mtime * NS + (uint64_t)v[i].mtime_ns;
		bool old = rf->pol.keep_count ? drop > 0 : mt < cutoff;
		if (!old)
			continue;
		if (drop)
			drop--;
		ok &= remove_rotated(rf, v[i].path);
		for (size_t j = i + 1; j < n; j++)
			if (twin[j] && same_stem(&v[i], &v[j]))
				ok &= remove_rotated(rf, v[j].path);
	}
	if (ok)
		rf->failing[JLOG__ROTATE_ERR_RETENTION] = false;
	free(twin);
	jlog__rotated_free(v, n);
}

/* A compression temporary nobody holds locked is a dead one's leftover. */
static void remove_stale_tmp(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		unlink(path);
	close(fd);
}

static void clean_up_at_open(struct jlog__rotate *rf, uint64_t now)
{
	struct jlog__rotated *v;
	size_t n;
	int rc = jlog__rotated_list(&rf->nm, &v, &n);
	if (rc) {
		fail(rf, JLOG__ROTATE_ERR_RETENTION, rc, "clean-up in %s: listing", rf->nm.dir);
		return;
	}
	/* Temporaries first: a queued original whose dead temporary is
	 * still there would be taken for one another process compresses
	 * (its O_EXCL create fails) and skipped. */
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == JLOG__ROTATED_TMP)
			remove_stale_tmp(v[i].path);
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == JLOG__ROTATED_PLAIN && rf->comp &&
		    jlog__compressor_push(rf->comp, v[i].path) < 0)
			fail(rf, JLOG__ROTATE_ERR_COMPRESS, -ENOMEM, "queueing %s", v[i].path);
	jlog__rotated_free(v, n);
	apply_retention(rf, now);
}

/* ---- Rotation ---- */

/* Rename the path to a free rotated name; the name in *out (malloc'ed). */
static int rename_away(struct jlog__rotate *rf, uint64_t now, char **out)
{
	for (unsigned k = 0; k < MAX_COUNTER; k++) {
		char *to = jlog__rotate_name_make(&rf->nm, now, k);
		if (!to)
			return -ENOMEM;
		int rc = renameat2(AT_FDCWD, rf->path, AT_FDCWD, to, RENAME_NOREPLACE);
		if (rc < 0 && errno == EINVAL) {
			/* A file system without RENAME_NOREPLACE: check, then
			 * rename (a race here only costs a counter). */
			struct stat st;
			if (lstat(to, &st) == 0)
				errno = EEXIST;
			else
				rc = rename(rf->path, to);
		}
		if (rc == 0) {
			*out = to;
			return 0;
		}
		int e = errno;
		free(to);
		if (e != EEXIST)
			return -e;
	}
	return -EEXIST;
}

/*
 * Rotate the active file. In shared mode the caller holds the lock of the
 * current file and has checked the path is still it. Returns true if the
 * path now is a new file (the caller's fd changed).
 */
static bool rotate(struct jlog__rotate *rf, uint64_t now)
{
	char *to = NULL;
	int rc = rename_away(rf, now, &to);
	if (rc) {
		fail(rf, JLOG__ROTATE_ERR_ROTATE, rc, "rotation of %s: rename to %s.<time>%s",
		     rf->path, rf->nm.stem, rf->nm.ext);
		goto retry_later;
	}
	struct stat st;
	int fd = open_path(rf, &st);
	if (fd < 0) {
		/* Put it back: lines must not go on into a file that
		 * compression or retention may remove. */
		fail(rf, JLOG__ROTATE_ERR_ROTATE, fd, "rotation of %s: creating the new file",
		     rf->path);
		if (renameat2(AT_FDCWD, to, AT_FDCWD, rf->path, RENAME_NOREPLACE) < 0) {
			/* Someone created the path meanwhile: that is
			 * where lines go now. */
			(void)reopen_path(rf, now);
		}
		free(to);
		goto retry_later;
	}
	swap_fd(rf, fd, &st, now);
	rf->st.rotations++;
	rf->failing[JLOG__ROTATE_ERR_ROTATE] = false;
	if (rf->comp && jlog__compressor_push(rf->comp, to) < 0)
		fail(rf, JLOG__ROTATE_ERR_COMPRESS, -ENOMEM, "queueing %s", to);
	free(to);
	apply_retention(rf, now);
	return true;

retry_later:
	/* Try again after another tenth of the bound, or at the next
	 * instant: not at every batch. */
	if (rf->pol.size) {
		uint64_t step = rf->pol.size / 10 ? rf->pol.size / 10 : 1;
		rf->limit = rf->size + step;
	}
	rf->next_ns = jlog__rotate_next_instant(&rf->pol, now);
	return false;
}

/* ---- Writing ---- */

/* The longest prefix of @p (n bytes) of whole lines within @room bytes. */
static size_t fit_lines(const char *p, size_t n, uint64_t room)
{
	size_t m = room < n ? (size_t)room : n;
	const char *nl = m ? memrchr(p, '\n', m) : NULL;
	return nl ? (size_t)(nl - p) + 1 : 0;
}

/*
 * Write @n bytes of whole lines to the active file; *w gets what went out
 * at a line boundary. On a failure after a short write (ENOSPC, EFBIG) the
 * cut line at the end of the file is truncated away when it is still the
 * end (nobody appended since: in shared mode we hold the lock).
 */
static int put(struct jlog__rotate *rf, const char *p, size_t n, size_t *w)
{
	int fd = atomic_load_explicit(&rf->fd, memory_order_relaxed); /* owner's own store */
	size_t done = 0;
	off_t end = -1;
	while (done < n) {
		ssize_t k = jlog__write_some(fd, p + done, n - done);
		if (k < 0) {
			const char *nl = done ? memrchr(p, '\n', done) : NULL;
			size_t whole = nl ? (size_t)(nl - p) + 1 : 0;
			struct stat st;
			if (done > whole && end >= 0 && fstat(fd, &st) == 0 && st.st_size == end &&
			    ftruncate(fd, end - (off_t)(done - whole)) == 0)
				done = whole;
			rf->size += done;
			*w = whole;
			return (int)k;
		}
		done += (size_t)k;
		if (done < n)
			end = lseek(fd, 0, SEEK_CUR); /* O_APPEND: just past our bytes */
	}
	rf->size += n;
	*w = n;
	return 0;
}

static int lock_fd(int fd, int op)
{
	int rc;
	do
		rc = flock(fd, op);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

/* Act on a jlog__rotate_reopen() request; @now 0 reads the clock. */
static void take_reopen(struct jlog__rotate *rf, uint64_t now)
{
	/* Relaxed: the flag carries no data; pairs with the store in
	 * jlog__rotate_reopen(). */
	if (atomic_load_explicit(&rf->reopen, memory_order_relaxed) &&
	    atomic_exchange_explicit(&rf->reopen, false, memory_order_relaxed))
		(void)reopen_path(rf, now ? now : now_of(rf));
}

/* Drop the lock taken on @fd, unless a rotation or reopen closed @fd
 * meanwhile (closing released the lock, and the number may already
 * name another file). */
static void unlock_if_same(struct jlog__rotate *rf, int fd, bool locked)
{
	if (locked && atomic_load_explicit(&rf->fd, memory_order_relaxed) == fd)
		lock_fd(fd, LOCK_UN);
}

/*
 * How much of @p (n bytes of whole lines) goes to the active file now:
 * all of it when it fits under the bound (or after a failed rotation in
 * this call), else the whole lines that fit, or a single line longer
 * than the bound into an empty file. 0: rotate first.
 */
static size_t chunk(const struct jlog__rotate *rf, const char *p, size_t n, bool no_rotate)
{
	if (rf->size + n <= rf->limit || no_rotate)
		return n;
	size_t k = fit_lines(p, n, rf->size < rf->limit ? rf->limit - rf->size : 0);
	if (k == 0 && rf->size == 0)
		k = (size_t)((const char *)memchr(p, '\n', n) - p) + 1;
	return k;
}

/* Whether a time-driven rotation is due; *now is read (when 0) only if
 * one is configured. An empty file is not rotated: its instant moves
 * on. */
static bool time_due(struct jlog__rotate *rf, uint64_t *now)
{
	if (rf->next_ns == UINT64_MAX)
		return false;
	if (!*now)
		*now = now_of(rf);
	if (*now < rf->next_ns)
		return false;
	if (rf->size > 0)
		return true;
	rf->next_ns = jlog__rotate_next_instant(&rf->pol, *now);
	return false;
}

/* Shared mode: lock the active file and check that the path still names
 * it; the size then comes from that stat (the other processes' lines
 * included). *locked tells whether the lock is held. */
static bool lock_and_check(struct jlog__rotate *rf, int fd, bool *locked)
{
	*locked = lock_fd(fd, LOCK_EX) == 0;
	struct stat st;
	if (*locked && stat(rf->path, &st) == 0 && st.st_ino == rf->ino && st.st_dev == rf->dev) {
		rf->size = (uint64_t)st.st_size;
		return true;
	}
	return false;
}

/* Single process: the counters decide. */
static int write_private(struct jlog__rotate *rf, const char *buf, size_t len,
                         size_t *written)
{
	bool rotate_failed = false; /* then the rest of the batch goes here */
	uint64_t now = 0;
	if (time_due(rf, &now))
		rotate_failed = !rotate(rf, now);
	size_t done = 0;
	while (done < len) {
		size_t n = chunk(rf, buf + done, len - done, rotate_failed);
		if (n == 0) {
			rotate_failed = !rotate(rf, now_of(rf));
			continue;
		}
		size_t w;
		int rc = put(rf, buf + done, n, &w);
		done += w;
		if (rc) {
			*written = done;
			return rc;
		}
	}
	*written = len;
	return 0;
}

/* Several processes: the lock and the path's stat decide. */
static int write_shared(struct jlog__rotate *rf, const char *buf, size_t len,
                        size_t *written)
{
	size_t done = 0;
	int rc = 0;
	/* Reopens in this call. Each one follows a rotation another process
	 * made (progress), so a slow process may need several; the bound
	 * only keeps a file system whose inode numbers are not stable from
	 * looping us forever. */
	unsigned chases = 0;
	bool rotate_failed = false;
	while (done < len) {
		int fd = atomic_load_explicit(&rf->fd, memory_order_relaxed); /* owner's own store */
		bool locked;
		if (!lock_and_check(rf, fd, &locked) && chases++ < 1000) {
			/* The path is another file, or gone: someone rotated.
			 * Follow it. */
			unlock_if_same(rf, fd, locked);
			if (reopen_path(rf, now_of(rf)) == 0)
				continue;
			locked = lock_fd(fd, LOCK_EX) == 0;
		}
		/* Now: the path is ours, or we could not follow it (then
		 * the lines go here rather than nowhere). */
		uint64_t now = 0;
		size_t n = chunk(rf, buf + done, len - done, rotate_failed);
		if (!rotate_failed && (n == 0 || time_due(rf, &now))) {
			rotate_failed = !rotate(rf, now ? now : now_of(rf));
			unlock_if_same(rf, fd, locked);
			continue;
		}
		size_t w;
		rc = put(rf, buf + done, n, &w);
		unlock_if_same(rf, fd, locked);
		done += w;
		if (rc)
			break;
	}
	*written = done;
	return rc;
}

int jlog__rotate_write(struct jlog__rotate *rf, const char *buf, size_t len,
                       size_t *written)
{
	take_reopen(rf, 0);
	if (rf->pol.shared)
		return write_shared(rf, buf, len, written);
	return write_private(rf, buf, len, written);
}

/* ---- The rest of the contract ---- */

void jlog__rotate_tick(struct jlog__rotate *rf, uint64_t now)
{
	if (!now)
		now = now_of(rf);
	take_reopen(rf, now);
	if (rf->pol.shared && now >= rf->next_ns) {
		/* Rotate under the lock after the identity check, as a
		 * write does. */
		int fd = atomic_load_explicit(&rf->fd, memory_order_relaxed); /* own store */
		bool locked;
		if (!lock_and_check(rf, fd, &locked))
			rf->checked_ns = 0; /* someone rotated: follow below */
		else if (time_due(rf, &now))
			rotate(rf, now);
		unlock_if_same(rf, fd, locked);
	} else if (!rf->pol.shared && time_due(rf, &now)) {
		rotate(rf, now);
	}
	/* At most about once a second, as tail -F: is the path still our
	 * file, and did it shrink (copytruncate)? */
	if (now - rf->checked_ns < NS && rf->checked_ns != 0)
		return;
	rf->checked_ns = now;
	struct stat st;
	if (stat(rf->path, &st) < 0 || st.st_ino != rf->ino || st.st_dev != rf->dev) {
		(void)reopen_path(rf, now);
		return;
	}
	if (!rf->pol.shared && (uint64_t)st.st_size < rf->size) {
		rf->size = (uint64_t)st.st_size;
		rf->st.reopens++;
	}
}

void jlog__rotate_reopen(struct jlog__rotate *rf)
{
	/* Relaxed: see take_reopen(). A plain atomic store is
	 * async-signal-safe (lock-free on every target we build for). */
	atomic_store_explicit(&rf->reopen, true, memory_order_relaxed);
}

int jlog__rotate_crash_write(struct jlog__rotate *rf, const char *buf, size_t len)
{
	/* Relaxed: pairs with the exchange in swap_fd(). */
	int fd = atomic_load_explicit(&rf->fd, memory_order_relaxed);
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void jlog__rotate_after_fork(struct jlog__rotate *rf)
{
	if (rf->comp)
		jlog__compressor_after_fork(rf->comp);
	if (rf->pol.shared)
		(void)reopen_path(rf, now_of(rf));
}

void jlog__rotate_drain(struct jlog__rotate *rf)
{
	if (rf->comp)
		jlog__compressor_drain(rf->comp);
}

static void describe_size(char *buf, size_t n, uint64_t v)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;
	while (i < 4 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, "%llu %s", (unsigned long long)v, u[i]);
}

int jlog__rotate_describe(const struct jlog__rotate *rf, char *buf, size_t n)
{
	const struct jlog__rotate_policy *p = &rf->pol;
	char size[32] = "", when[48] = "", keep[48] = "";
	if (p->size)
		describe_size(size, sizeof(size), p->size);
	switch (p->when) {
	case JLOG__ROTATE_NEVER: break;
	case JLOG__ROTATE_INTERVAL:
		if (p->interval_ns % NS)
			snprintf(when, sizeof(when), "every %llu ms",
			         (unsigned long long)(p->interval_ns / 1000000u));
		else
			snprintf(when, sizeof(when), "every %llu s",
			         (unsigned long long)(p->interval_ns / NS));
		break;
	case JLOG__ROTATE_HOURLY: snprintf(when, sizeof(when), "hourly"); break;
	case JLOG__ROTATE_DAILY:
	case JLOG__ROTATE_WEEKLY:
	case JLOG__ROTATE_MONTHLY:
	case JLOG__ROTATE_YEARLY: {
		static const char *const days[] = {"sunday", "monday", "tuesday", "wednesday",
		                                   "thursday", "friday", "saturday"};
		const char *on = p->when == JLOG__ROTATE_YEARLY    ? "1 january"
		                 : p->when == JLOG__ROTATE_MONTHLY ? "the 1st"
		                 : p->when == JLOG__ROTATE_WEEKLY ? days[(unsigned)p->weekday % 7]
		                                                   : "daily";
		snprintf(when, sizeof(when), "%s at %02u:%02u:%02u", on, p->at_sec / 3600,
		         p->at_sec / 60 % 60, p->at_sec % 60);
		break;
	}
	}
	if (p->keep_count)
		snprintf(keep, sizeof(keep), ", retention %u files", p->keep_count);
	else if (p->keep_age_ns)
		snprintf(keep, sizeof(keep), ", retention %llu s",
		         (unsigned long long)(p->keep_age_ns / NS));
	return snprintf(buf, n, "file %s (rotation %s%s%s%s%s%s%s%s)", rf->path,
	                *size ? size : "", *size && *when ? " or " : "", when,
	                !*size && !*when ? "none" : "", keep,
	                p->compression ? ", compression " : "",
	                p->compression == JLOG__COMPRESS_GZ    ? "gz"
	                : p->compression == JLOG__COMPRESS_ZST ? "zst"
	                                                       : "",
	                p->shared ? ", shared" : "");
}

void jlog__rotate_get_stats(const struct jlog__rotate *rf, struct jlog__rotate_stats *st)
{
	*st = rf->st;
	if (rf->comp)
		jlog__compressor_counts(rf->comp, &st->compressed,
		                        &st->errors[JLOG__ROTATE_ERR_COMPRESS]);
	/* Queueing failures are counted on the owner side. */
	if (rf->comp)
		st->errors[JLOG__ROTATE_ERR_COMPRESS] += rf->st.errors[JLOG__ROTATE_ERR_COMPRESS];
}

int jlog__rotate_fd(const struct jlog__rotate *rf)
{
	return atomic_load_explicit(&rf->fd, memory_order_relaxed); /* owner's own store */
}

int jlog__rotate_open(struct jlog__rotate **out, const char *path, unsigned mode,
                      bool allow_symlink, const struct jlog__rotate_policy *pol)
{
	if (!path || !*path || !pol) {
		jlog__set_last_error("rotating file: empty path");
		return -EINVAL;
	}
	if (!jlog__compression_available(pol->compression)) {
		jlog__set_last_error("rotating file %s: compression not built in", path);
		return -ENOTSUP;
	}
	struct jlog__rotate *rf = calloc(1, sizeof(*rf));
	if (!rf)
		return -ENOMEM;
	int rc = -ENOMEM;
	rf->path = strdup(path);
	if (!rf->path || jlog__rotate_name_init(&rf->nm, path) < 0)
		goto free_rf;
	rf->mode = mode;
	rf->allow_symlink = allow_symlink;
	rf->pol = *pol;
	atomic_init(&rf->fd, -1);
	atomic_init(&rf->reopen, false);
	if (pol->compression != JLOG__COMPRESS_NONE &&
	    jlog__compressor_create(&rf->comp, pol->compression, pol->on_error,
	                            pol->error_arg) < 0)
		goto free_rf;
	struct stat st;
	int fd = open_path(rf, &st);
	if (fd < 0) {
		rc = fd;
		jlog__set_last_error("rotating file %s: %s", path, jlog_strerror(rc));
		goto free_rf;
	}
	uint64_t now = now_of(rf);
	swap_fd(rf, fd, &st, now);
	clean_up_at_open(rf, now);
	*out = rf;
	return 0;

free_rf:
	jlog__compressor_destroy(rf->comp);
	jlog__rotate_name_finish(&rf->nm);
	free(rf->path);
	free(rf);
	return rc;
}

void jlog__rotate_close(struct jlog__rotate *rf)
{
	if (!rf)
		return;
	jlog__compressor_destroy(rf->comp);
	int fd = atomic_load_explicit(&rf->fd, memory_order_relaxed); /* owner's own store */
	if (fd >= 0)
		close(fd);
	jlog__rotate_name_finish(&rf->nm);
	free(rf->path);
	free(rf);
}
