/*
 * The rotating file: an append-only log file that rotates by size and/or
 * time, keeps a bounded number (or age) of rotated files, compresses them
 * off the writer's thread, follows external rotation (logrotate's `create`
 * and `copytruncate`, a path renamed or deleted underneath) and lets
 * several processes share one file.
 *
 * This header is the contract of the file transport. Its calls map one to
 * one onto the transport operations:
 *
 *   transport op   call here
 *   ------------   -----------------------------------------------
 *   open           jlog__rotate_policy_parse_*() on the options, then
 *                  jlog__rotate_open()
 *   write          jlog__rotate_write()      (whole lines; partial count)
 *   tick           jlog__rotate_tick()       (at least once a second)
 *   flush          jlog__rotate_drain()      (waits for pending compression)
 *   crash_write    jlog__rotate_crash_write() (async-signal-safe)
 *   after_fork     jlog__rotate_after_fork() (in the child)
 *   describe       jlog__rotate_describe()
 *   close          jlog__rotate_close()
 *   (reopen)       jlog__rotate_reopen()     (async-signal-safe request)
 *
 * Threads: one owner thread (the writer) makes every call except
 * jlog__rotate_reopen() and jlog__rotate_crash_write(), which any thread or
 * signal handler may call at any time. Callers that share one object
 * between threads serialize the owner calls themselves.
 *
 * Names. The active file keeps its path, so `tail -F` follows it. A
 * rotated file is named after the local time of the rotation, inserted
 * before the extension, as loguru does:
 *
 *   app.log -> app.2026-12-02_05-40-19_123456.log
 *   app     -> app.2026-12-02_05-40-19_123456
 *
 * The name sorts by time (for one time zone). If that name is taken, a
 * counter goes after the timestamp: app.2026-12-02_05-40-19_123456.2.log.
 * Compressed files add ".gz" or ".zst"; a compression in progress writes
 * "<rotated>.gz.tmp". Retention and the start-up clean-up touch only
 * names of exactly this form (base name, '.', the 26-character timestamp,
 * an optional counter, the extension, an optional compression suffix):
 * never another file in the directory.
 *
 * Time zone and DST. Time-of-day rotation ("00:00", "daily", "monday at
 * 12:00") uses local wall-clock time (localtime_r(), the TZ of the
 * process), as loguru does. A day with a DST change still rotates once, at
 * the given wall-clock time: when that time occurs twice (the clock goes
 * back), at its first occurrence; when it does not exist (the clock jumps
 * over it), at the first instant after the gap starts. Interval rotation
 * ("1 hour", "2 days") counts elapsed time from when the file was opened
 * or last rotated and ignores the time zone. "hourly" rotates at the top of
 * every hour.
 *
 * Errors. Rotation, retention and compression never lose a line that can
 * still go to the active file: a failed rename leaves the active file in
 * use (it grows past the bound), a failed compression keeps the original.
 * Each failure increments a counter in jlog__rotate_stats; the first
 * failure of each kind after a success is also reported through the
 * policy's on_error callback (so a full disk is reported once, not per
 * line). A failed size rotation is tried again once the file has grown by
 * another tenth of the bound; a failed time rotation at the next instant.
 */
#ifndef JLOG_ROTATE_H
#define JLOG_ROTATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* When time-driven rotation happens (jlog__rotate_policy.when). */
enum jlog__rotate_when {
	JLOG__ROTATE_NEVER = 0,
	JLOG__ROTATE_INTERVAL, /* every interval_ns after open/last rotation */
	JLOG__ROTATE_HOURLY,   /* at minute 0 of every local hour */
	JLOG__ROTATE_DAILY,    /* every day at at_sec local time */
	JLOG__ROTATE_WEEKLY,   /* every weekday (0 Sunday) at at_sec */
	JLOG__ROTATE_MONTHLY,  /* the 1st of every month at at_sec */
	JLOG__ROTATE_YEARLY,   /* every 1 January at at_sec */
};

enum jlog__compression {
	JLOG__COMPRESS_NONE = 0,
	JLOG__COMPRESS_GZ,
	JLOG__COMPRESS_ZST,
};

/* What went wrong, for on_error and the counters. */
enum jlog__rotate_err {
	JLOG__ROTATE_ERR_ROTATE = 0, /* rename/reopen of the active file */
	JLOG__ROTATE_ERR_RETENTION,  /* removing an old rotated file */
	JLOG__ROTATE_ERR_COMPRESS,   /* compressing a rotated file */
	JLOG__ROTATE_ERR_KINDS
};

/*
 * on_error - a rotation, retention or compression failure
 * @arg: the policy's error_arg
 * @kind: which part failed
 * @err: negative errno
 * @msg: what failed, naming the file ("rotation of /var/log/app.log: rename
 *       to ...: permission denied"); valid only during the call
 *
 * Called on the owner thread for rotation and retention, on the
 * compression thread for compression (the callback must be thread-safe if
 * compression is on). Called for the first failure of a kind after a
 * success; later ones are only counted. Must not call back into the
 * object.
 */
typedef void (*jlog__rotate_error_fn)(void *arg, enum jlog__rotate_err kind, int err,
                                      const char *msg);

/*
 * The policy: zero-initialize, then fill with the parsers below (or by
 * hand). Copied by jlog__rotate_open(); the caller keeps ownership.
 */
struct jlog__rotate_policy {
	uint64_t size;              /* rotate before a line would cross it; 0 none */
	enum jlog__rotate_when when;
	uint64_t interval_ns;       /* JLOG__ROTATE_INTERVAL */
	unsigned at_sec;            /* seconds after local midnight (DAILY..MONTHLY) */
	int weekday;                /* 0 = Sunday .. 6 (WEEKLY) */
	unsigned keep_count;        /* retention: keep this many rotated files; 0 off */
	uint64_t keep_age_ns;       /* retention: remove rotated files older; 0 off */
	enum jlog__compression compression;
	/* Several processes write this path (pre-fork workers): each batch is
	 * written under flock(2) on the file after checking that the path is
	 * still the file we hold, so exactly one process rotates and nobody
	 * writes into a rotated file. Costs flock+stat+flock per batch. */
	bool shared;
	/* Test hook: wall-clock time now, in ns since the epoch; NULL is
	 * CLOCK_REALTIME. Used for the rotation instants, the rotated names
	 * and age retention. Called on the owner thread only. */
	uint64_t (*now_ns)(void *arg);
	void *now_arg;
	jlog__rotate_error_fn on_error;
	void *error_arg;
};

/*
 * Option parsers. Each returns 0 or -EINVAL (or -ENOTSUP for a compression
 * this build has no library for), and sets jlog_last_error() to a message
 * that names the option and the value ("rotation \"5 parsecs\": ..."),
 * which a config parser may prefix with the key path. @s is a
 * NUL-terminated string; case is ignored except for loguru's size units
 * (see below).
 *
 * rotation: a size, a time, or both joined by " or " (whichever comes
 *   first):
 *   - size: a number with an optional unit: "500 MB", "1.5 GB", "10 KiB",
 *     "4096" (bytes). B is bytes, b is bits (loguru's rule: "8 kb" is 1000
 *     bytes); K/M/G/T/P/E are powers of 1000, Ki/Mi/Gi/... of 1024.
 *   - interval: "1 hour", "2 days", "1 week", "1h 30min", "90 s" (units y,
 *     month(s), w/week(s), d/day(s), h/hour(s), min/minute(s),
 *     s/sec/second(s), ms, us; loguru's spellings).
 *   - time of day: "00:00", "12:30", "23:59:59", "12:30 pm"; a fraction
 *     of a second ("12:00:00.5", loguru's %f) is accepted and dropped.
 *   - frequency: "hourly", "daily" (00:00), "weekly" (monday 00:00),
 *     "monthly" (1st, 00:00), "yearly" (1 January, 00:00).
 *   - weekday: "monday", "mon", "w0" (monday, loguru's numbering),
 *     "sunday at 12:00".
 * A size given twice, or two times, is an error.
 */
int jlog__rotate_parse_rotation(struct jlog__rotate_policy *p, const char *s);

/* retention: a count ("10", "10 files") or an age ("1 week", "10 days",
 * any interval as above). */
int jlog__rotate_parse_retention(struct jlog__rotate_policy *p, const char *s);

/* retention given as a JSON number: a count (1 .. 1000000). */
int jlog__rotate_set_retention_count(struct jlog__rotate_policy *p, double n);

/* rotation given as a JSON number: a size in bytes (> 0). */
int jlog__rotate_set_rotation_size(struct jlog__rotate_policy *p, double n);

/* compression: "gz"/"gzip", "zst"/"zstd", "none" or "" (none). -ENOTSUP
 * when the library was not built in (meson -Dzlib / -Dzstd). */
int jlog__rotate_parse_compression(struct jlog__rotate_policy *p, const char *s);

/* Whether this build can compress with @c. */
bool jlog__compression_available(enum jlog__compression c);

/* Counters; read on the owner thread (compression counters are updated by
 * the compression thread: read them after jlog__rotate_drain()). */
struct jlog__rotate_stats {
	uint64_t rotations;   /* files this process renamed away */
	uint64_t reopens;     /* reopen requests, inode or truncation changes handled */
	uint64_t removed;     /* rotated files removed by retention */
	uint64_t compressed;  /* rotated files compressed */
	uint64_t errors[JLOG__ROTATE_ERR_KINDS];
};

struct jlog__rotate;

/*
 * jlog__rotate_open - open (create) the active file
 * @out: the new object
 * @path: the active file's path (copied)
 * @mode: permission bits for a file created (0644 typically)
 * @allow_symlink: false opens with O_NOFOLLOW (a symlink at @path is ELOOP)
 * @pol: the policy (copied)
 *
 * Opens @path with O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC. Then, in the
 * directory: removes temporaries of compressions that did not finish,
 * queues rotated files of this base name that are not compressed (when
 * compression is on) and applies retention. Failures of that clean-up are
 * reported (on_error) but do not fail the open.
 *
 * Returns 0, -ENOMEM, or the negative errno of open(2) (jlog_last_error()
 * names the path).
 */
int jlog__rotate_open(struct jlog__rotate **out, const char *path, unsigned mode,
                      bool allow_symlink, const struct jlog__rotate_policy *pol);

/*
 * jlog__rotate_write - append whole lines, rotating first if due
 * @buf, @len: whole lines (each ends with '\n'; the last byte is '\n')
 * @written: out, the bytes of @buf written (always at a line boundary when
 *           the call fails; @len on success)
 *
 * The check before the batch is a counter compare (size) and, with time
 * rotation, one clock read. A line is never split across files: when the
 * batch would cross the size bound, the lines that fit go first, then the
 * file rotates and the rest follows. A file exceeds the bound only when a
 * single line is larger than the bound (it then holds that line alone).
 * Acts on a pending jlog__rotate_reopen().
 *
 * Returns 0, or the negative errno of write(2) (-ENOSPC, -EFBIG, -EIO...).
 * After a failure the bytes past *written were not written; a cut line at
 * the end of the file is taken back when it is still ours.
 */
int jlog__rotate_write(struct jlog__rotate *rf, const char *buf, size_t len,
                       size_t *written);

/*
 * jlog__rotate_tick - time-driven work
 * @now_ns: wall-clock now (0: read the policy's clock)
 *
 * Rotates when the rotation instant has passed, acts on a pending reopen,
 * and at most about once a second: stats the path and reopens it when it
 * is another file or gone (renamed or deleted underneath, as `tail -F`
 * does), and notices a truncation (copytruncate: the size counter follows
 * the file). Call it at least once a second. Never fails: problems go to
 * the counters and on_error.
 */
void jlog__rotate_tick(struct jlog__rotate *rf, uint64_t now_ns);

/*
 * jlog__rotate_reopen - ask the owner to reopen the path
 *
 * For logrotate's `create` style (a postrotate script sends a signal).
 * Sets a flag only: async-signal-safe, any thread. The next write or tick
 * closes the file and opens the path again.
 */
void jlog__rotate_reopen(struct jlog__rotate *rf);

/*
 * jlog__rotate_crash_write - write whole lines from a crash handler
 *
 * Plain write(2)s of @buf to the current descriptor; no rotation, no lock,
 * no allocation. Async-signal-safe, any thread. Returns 0 or -errno.
 */
int jlog__rotate_crash_write(struct jlog__rotate *rf, const char *buf, size_t len);

/*
 * jlog__rotate_after_fork - in a forked child, before it writes
 *
 * Forgets the parent's compression queue and thread (the parent does that
 * work). In shared mode, opens the path again: flock(2) locks belong to the
 * open file description, which the child shares with its parent.
 */
void jlog__rotate_after_fork(struct jlog__rotate *rf);

/*
 * jlog__rotate_drain - wait until queued compressions are done
 *
 * Owner thread. Returns at once without compression.
 */
void jlog__rotate_drain(struct jlog__rotate *rf);

/*
 * jlog__rotate_describe - "file /var/log/app.log (rotation 10 MB, ...)"
 *
 * Writes at most @n bytes including the NUL; returns what snprintf()
 * returns. Any thread (reads only what open set).
 */
int jlog__rotate_describe(const struct jlog__rotate *rf, char *buf, size_t n);

/* The counters so far (see the struct for which thread updates them). */
void jlog__rotate_get_stats(const struct jlog__rotate *rf, struct jlog__rotate_stats *st);

/* The current descriptor (tests, and the wrapper's poll/fsync). */
int jlog__rotate_fd(const struct jlog__rotate *rf);

/*
 * jlog__rotate_close - close the file and free the object; NULL is a no-op
 *
 * Stops the compression thread without waiting for queued work: a
 * compression in progress is abandoned (its temporary removed, the original
 * kept) and the next open compresses what is left, so closing never waits
 * for a large file. Call jlog__rotate_drain() first to finish it.
 */
void jlog__rotate_close(struct jlog__rotate *rf);

/* ---- Parts shared by rotate.c, rotate-files.c, rotate-time.c and compress.c ---- */

/* A rotated name's pieces for @path: dir ("." if none), base name up to
 * the extension, the extension (with its '.', or ""). */
struct jlog__rotate_name {
	char *dir;
	char *stem;
	char *ext;
};
int jlog__rotate_name_init(struct jlog__rotate_name *nm, const char *path);
void jlog__rotate_name_finish(struct jlog__rotate_name *nm);

/* The rotated name for local time @ns and collision counter @n (0: none),
 * malloc'ed; NULL on ENOMEM. */
char *jlog__rotate_name_make(const struct jlog__rotate_name *nm, uint64_t ns, unsigned n);

/* What a directory entry is, relative to @nm. */
enum jlog__rotated_kind {
	JLOG__ROTATED_NOT = 0, /* not ours: never touched */
	JLOG__ROTATED_PLAIN,   /* a rotated file, uncompressed */
	JLOG__ROTATED_PACKED,  /* a rotated file, .gz or .zst */
	JLOG__ROTATED_TMP,     /* a compression's temporary */
};
enum jlog__rotated_kind jlog__rotate_name_match(const struct jlog__rotate_name *nm,
                                                const char *entry);

/* The compression file suffix (".gz", ".zst"), "" for none. */
const char *jlog__compression_suffix(enum jlog__compression c);

/*
 * Compress @src into @src + suffix, crash-safe: the data goes to
 * "<dst>.tmp" (O_EXCL, flock'ed while written), which is fsync'ed and
 * renamed to <dst>; the directory is fsync'ed; only then @src is unlinked.
 * @stop (may be NULL) is polled between chunks: when it reads true the
 * temporary is removed and -ECANCELED returned. Returns 0, -EEXIST when
 * another process holds the temporary, or -errno with @msg (@msg_len
 * bytes) saying what failed.
 */
int jlog__compress_file(const char *src, enum jlog__compression c,
                        const atomic_bool *stop, char *msg, size_t msg_len);

/* The compression helper thread of one rotating file (compress.c). */
struct jlog__compressor;
int jlog__compressor_create(struct jlog__compressor **out, enum jlog__compression c,
                            jlog__rotate_error_fn on_error, void *error_arg);
/* Queue @path (copied); starts the thread on first use. -ENOMEM, or the
 * pthread_create() error (the file then stays uncompressed until the next
 * open). */
int jlog__compressor_push(struct jlog__compressor *c, const char *path);
void jlog__compressor_drain(struct jlog__compressor *c);
/* Files compressed and failures so far (under the queue's lock). */
void jlog__compressor_counts(struct jlog__compressor *c, uint64_t *compressed,
                             uint64_t *errors);
void jlog__compressor_after_fork(struct jlog__compressor *c);
void jlog__compressor_destroy(struct jlog__compressor *c);

/* The next time-driven rotation instant after @now (ns since the epoch),
 * UINT64_MAX for none (rotate-time.c). An interval counts from @now. */
uint64_t jlog__rotate_next_instant(const struct jlog__rotate_policy *p, uint64_t now);

/* Rotated files of @nm in its directory (rotate-files.c). */
struct jlog__rotated {
	char *path;    /* malloc'ed */
	time_t mtime;  /* seconds */
	long mtime_ns;
	enum jlog__rotated_kind kind;
};
/* List them, oldest first (by mtime, then name). -errno of opendir(). */
int jlog__rotated_list(const struct jlog__rotate_name *nm, struct jlog__rotated **out,
                       size_t *n);
void jlog__rotated_free(struct jlog__rotated *v, size_t n);

#endif
