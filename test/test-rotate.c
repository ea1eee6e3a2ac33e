/*
 * The rotating file (lib/rotate.h): option parsing, rotated names, size
 * and time rotation (with an injected clock, DST included), retention,
 * compression read back with zlib and libzstd, crash-safe leftovers,
 * reopen and the inode check, copytruncate, error reporting, and several
 * processes on one file. Real files in a private temporary directory.
 */
#include "jlog-private.h"
#include "rotate.h"
#include "test-common.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef JLOG_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef JLOG_HAVE_ZSTD
#include <zstd.h>
#endif

#define NS 1000000000ull

/* ---- Helpers ---- */

/* The injected clock. */
static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* Seconds since the epoch of a UTC civil time. */
static uint64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	                .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return (uint64_t)timegm(&tm) * NS;
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Errors seen through on_error. */
struct errs {
	pthread_mutex_t lock;
	int count;
	int last;
	enum jlog__rotate_err kind;
	char msg[800];
};
static void on_err(void *arg, enum jlog__rotate_err kind, int err, const char *msg)
{
	struct errs *e = arg;
	pthread_mutex_lock(&e->lock);
	e->count++;
	e->last = err;
	e->kind = kind;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	pthread_mutex_unlock(&e->lock);
}

/* A directory listing: names (sorted), excluding "." and "..". */
struct listing {
	char *names[4096];
	size_t n;
};
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}
static void list_dir(const char *dir, struct listing *l)
{
	l->n = 0;
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && l->n < 4096)
			l->names[l->n++] = strdup(e->d_name);
	closedir(d);
	qsort(l->names, l->n, sizeof(char *), cmp_str);
}
static void list_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	l->n = 0;
}
static size_t count_suffix(const struct listing *l, const char *suffix)
{
	size_t k = 0, sn = strlen(suffix);
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->names[i]);
		k += n >= sn && strcmp(l->names[i] + n - sn, suffix) == 0;
	}
	return k;
}

static char *dir_of(const char *path)
{
	char *c = strdup(path);
	char *d = strdup(dirname(c));
	free(c);
	return d;
}

static char *join(const char *dir, const char *name)
{
	char *p;
	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

/* One JSON line {"seq":N,"pad":"xxx..."} of about @len bytes. */
static size_t make_line(char *buf, size_t cap, unsigned long seq, size_t len)
{
	int n = snprintf(buf, cap, "{\"seq\":%lu,\"pad\":\"", seq);
	size_t k = (size_t)n;
	while (k + 3 < len && k + 3 < cap)
		buf[k++] = 'x';
	buf[k++] = '"';
	buf[k++] = '}';
	buf[k++] = '\n';
	return k;
}

static struct jlog__rotate *open_ok(const char *path, const struct jlog__rotate_policy *p)
{
	struct jlog__rotate *rf = NULL;
	int rc = jlog__rotate_open(&rf, path, 0644, false, p);
	ck_assert_msg(rc == 0, "open %s: %s (%s)", path, jlog_strerror(rc), jlog_last_error());
	return rf;
}

static void write_ok(struct jlog__rotate *rf, const char *buf, size_t len)
{
	size_t w = 0;
	int rc = jlog__rotate_write(rf, buf, len, &w);
	ck_assert_msg(rc == 0, "write: %s", jlog_strerror(rc));
	ck_assert_uint_eq(w, len);
}

static void write_seq(struct jlog__rotate *rf, unsigned long seq, size_t len)
{
	char line[4096];
	size_t n = make_line(line, sizeof(line), seq, len);
	write_ok(rf, line, n);
}

static uint64_t rotations(struct jlog__rotate *rf)
{
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	return st.rotations;
}

/* Every line of every file in @dir whose name starts with @stem parses;
 * the seq values are 0..want-1, each once. Returns the number of files. */
static size_t check_all_lines(const char *dir, const char *stem, unsigned long want,
                              uint64_t bound, size_t max_line)
{
	struct listing l;
	list_dir(dir, &l);
	unsigned char *seen = calloc(want ? want : 1, 1);
	unsigned long total = 0;
	size_t files = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (strncmp(l.names[i], stem, strlen(stem)) != 0)
			continue;
		char *p = join(dir, l.names[i]);
		struct stat st;
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		size_t n;
		char *text = tc_slurp(p, &n);
		if (bound)
			ck_assert_msg(n <= bound + max_line, "%s is %zu bytes > %llu + %zu", p, n,
			              (unsigned long long)bound, max_line);
		size_t count;
		json_t **lines = tc_parse_lines_n(text, n, &count);
		for (size_t k = 0; k < count; k++) {
			json_t *s = json_object_get(lines[k], "seq");
			ck_assert(json_is_integer(s));
			json_int_t v = json_integer_value(s);
			ck_assert_msg(v >= 0 && (unsigned long)v < want, "seq %lld", (long long)v);
			ck_assert_msg(!seen[v], "seq %lld twice", (long long)v);
			seen[v] = 1;
		}
		total += count;
		tc_free_lines(lines, count);
		free(text);
		free(p);
		files++;
	}
	ck_assert_uint_eq(total, want);
	free(seen);
	list_free(&l);
	return files;
}

/* ---- Parsing ---- */

static struct jlog__rotate_policy rot(const char *s)
{
	struct jlog__rotate_policy p = {0};
	int rc = jlog__rotate_parse_rotation(&p, s);
	ck_assert_msg(rc == 0, "rotation \"%s\": %s", s, jlog_last_error());
	return p;
}

static void rot_bad(const char *s)
{
	struct jlog__rotate_policy p = {0};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&p, s), -EINVAL);
	ck_assert_msg(strstr(jlog_last_error(), s) != NULL, "message names the value: %s",
	              jlog_last_error());
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "rotation"));
}

START_TEST(parse_rotation_sizes)
{
	ck_assert_uint_eq(rot("500 MB").size, 500000000u);
	ck_assert_uint_eq(rot("10 KiB").size, 10240u);
	ck_assert_uint_eq(rot("1.5 GB").size, 1500000000u);
	ck_assert_uint_eq(rot("4096").size, 4096u);
	ck_assert_uint_eq(rot("2GiB").size, 2147483648u);
	ck_assert_uint_eq(rot("100 B").size, 100u);
	ck_assert_uint_eq(rot("8 kb").size, 1000u); /* loguru: b is bits */
	ck_assert_uint_eq(rot("10 kB").size, 10000u);
	ck_assert_int_eq(rot("500 MB").when, JLOG__ROTATE_NEVER);
	rot_bad("5 parsecs");
	rot_bad("0 MB");
	rot_bad("-5 MB");
	rot_bad("10 QB");
	rot_bad("");
	rot_bad("1 MB or 2 MB");
	struct jlog__rotate_policy p = {0};
	ck_assert_int_eq(jlog__rotate_set_rotation_size(&p, 1e6), 0);
	ck_assert_uint_eq(p.size, 1000000u);
	ck_assert_int_eq(jlog__rotate_set_rotation_size(&p, 0), -EINVAL);
	ck_assert_int_eq(jlog__rotate_set_rotation_size(&p, 1.5), -EINVAL);
}
END_TEST

START_TEST(parse_rotation_times)
{
	struct jlog__rotate_policy p = rot("00:00");
	ck_assert_int_eq(p.when, JLOG__ROTATE_DAILY);
	ck_assert_uint_eq(p.at_sec, 0);
	p = rot("12:30");
	ck_assert_int_eq(p.when, JLOG__ROTATE_DAILY);
	ck_assert_uint_eq(p.at_sec, 12 * 3600 + 30 * 60);
	ck_assert_uint_eq(rot("23:59:59").at_sec, 86399u);
	ck_assert_uint_eq(rot("12:30 PM").at_sec, 12 * 3600 + 30 * 60);
	ck_assert_uint_eq(rot("12:00 am").at_sec, 0);
	ck_assert_uint_eq(rot("7 pm").at_sec, 19 * 3600);
	p = rot("1 hour");
	ck_assert_int_eq(p.when, JLOG__ROTATE_INTERVAL);
	ck_assert_uint_eq(p.interval_ns, 3600 * NS);
	ck_assert_uint_eq(rot("2 days").interval_ns, 2 * 86400 * NS);
	ck_assert_uint_eq(rot("1 week").interval_ns, 7 * 86400 * NS);
	ck_assert_uint_eq(rot("1h 30min").interval_ns, 5400 * NS);
	ck_assert_uint_eq(rot("90 s").interval_ns, 90 * NS);
	ck_assert_uint_eq(rot("0.5 days").interval_ns, 43200 * NS);
	ck_assert_int_eq(rot("hourly").when, JLOG__ROTATE_HOURLY);
	p = rot("Daily");
	ck_assert_int_eq(p.when, JLOG__ROTATE_DAILY);
	ck_assert_uint_eq(p.at_sec, 0);
	p = rot("weekly");
	ck_assert_int_eq(p.when, JLOG__ROTATE_WEEKLY);
	ck_assert_int_eq(p.weekday, 1);
	ck_assert_int_eq(rot("monthly").when, JLOG__ROTATE_MONTHLY);
	p = rot("Yearly");
	ck_assert_int_eq(p.when, JLOG__ROTATE_YEARLY);
	ck_assert_uint_eq(p.at_sec, 0);
	/* loguru's %H:%M:%S.%f: the fraction is dropped. */
	ck_assert_uint_eq(rot("12:00:00.5").at_sec, 12 * 3600);
	ck_assert_uint_eq(rot("11:59:59.999999 pm").at_sec, 23 * 3600 + 59 * 60 + 59);
	p = rot("sunday at 12:00");
	ck_assert_int_eq(p.when, JLOG__ROTATE_WEEKLY);
	ck_assert_int_eq(p.weekday, 0);
	ck_assert_uint_eq(p.at_sec, 12 * 3600);
	ck_assert_int_eq(rot("fri").weekday, 5);
	ck_assert_int_eq(rot("w0").weekday, 1); /* loguru: w0 is monday */
	p = rot("100 MB or 00:00");
	ck_assert_uint_eq(p.size, 100000000u);
	ck_assert_int_eq(p.when, JLOG__ROTATE_DAILY);
	p = rot("1 hour or 10 KiB");
	ck_assert_uint_eq(p.size, 10240u);
	ck_assert_int_eq(p.when, JLOG__ROTATE_INTERVAL);
	rot_bad("25:00");
	rot_bad("12:60");
	rot_bad("13 pm");
	rot_bad("0 hours");
	rot_bad("1 fortnight");
	rot_bad("funday at 12:00");
	rot_bad("monday at 25:00");
	rot_bad("daily or 12:00");
}
END_TEST

START_TEST(parse_retention_compression)
{
	struct jlog__rotate_policy p = {0};
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "10"), 0);
	ck_assert_uint_eq(p.keep_count, 10);
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "10 files"), 0);
	ck_assert_uint_eq(p.keep_count, 10);
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "1 file"), 0);
	ck_assert_uint_eq(p.keep_count, 1);
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "1 week"), 0);
	ck_assert_uint_eq(p.keep_age_ns, 7 * 86400 * NS);
	ck_assert_uint_eq(p.keep_count, 0);
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "10 days"), 0);
	ck_assert_uint_eq(p.keep_age_ns, 10 * 86400 * NS);
	ck_assert_int_eq(jlog__rotate_set_retention_count(&p, 10), 0);
	ck_assert_uint_eq(p.keep_count, 10);
	ck_assert_uint_eq(p.keep_age_ns, 0);
	ck_assert_int_eq(jlog__rotate_set_retention_count(&p, 0), -EINVAL);
	ck_assert_int_eq(jlog__rotate_set_retention_count(&p, 2.5), -EINVAL);
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "forever"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "retention \"forever\""));
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "0 files"), -EINVAL);
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "10 filez"), -EINVAL);

	ck_assert_int_eq(jlog__rotate_parse_compression(&p, "none"), 0);
	ck_assert_int_eq(p.compression, JLOG__COMPRESS_NONE);
	ck_assert_int_eq(jlog__rotate_parse_compression(&p, "bz2"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "compression \"bz2\""));
	int gz = jlog__rotate_parse_compression(&p, "gz");
#ifdef JLOG_HAVE_ZLIB
	ck_assert_int_eq(gz, 0);
	ck_assert_int_eq(p.compression, JLOG__COMPRESS_GZ);
#else
	ck_assert_int_eq(gz, -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "without zlib"));
#endif
	int zst = jlog__rotate_parse_compression(&p, "ZST");
#ifdef JLOG_HAVE_ZSTD
	ck_assert_int_eq(zst, 0);
	ck_assert_int_eq(p.compression, JLOG__COMPRESS_ZST);
#else
	ck_assert_int_eq(zst, -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "without libzstd"));
#endif
}
END_TEST

/* ---- Names ---- */

START_TEST(rotated_names)
{
	set_tz("UTC");
	struct jlog__rotate_name nm;
	ck_assert_int_eq(jlog__rotate_name_init(&nm, "/var/log/app.log"), 0);
	uint64_t t = utc(2026, 12, 2, 5, 40, 19) + 123456789;
	char *a = jlog__rotate_name_make(&nm, t, 0);
	ck_assert_str_eq(a, "/var/log/app.2026-12-02_05-40-19_123456.log");
	char *b = jlog__rotate_name_make(&nm, t, 2);
	ck_assert_str_eq(b, "/var/log/app.2026-12-02_05-40-19_123456.2.log");
	free(a);
	free(b);
	ck_assert_int_eq(jlog__rotate_name_match(&nm, "app.2026-12-02_05-40-19_123456.log"),
	                 JLOG__ROTATED_PLAIN);
	ck_assert_int_eq(jlog__rotate_name_match(&nm, "app.2026-12-02_05-40-19_123456.7.log"),
	                 JLOG__ROTATED_PLAIN);
	ck_assert_int_eq(jlog__rotate_name_match(&nm, "app.2026-12-02_05-40-19_123456.log.gz"),
	                 JLOG__ROTATED_PACKED);
	ck_assert_int_eq(jlog__rotate_name_match(&nm, "app.2026-12-02_05-40-19_123456.log.zst"),
	                 JLOG__ROTATED_PACKED);
	ck_assert_int_eq(jlog__rotate_name_match(&nm, "app.2026-12-02_05-40-19_123456.log.gz.tmp"),
	                 JLOG__ROTATED_TMP);
	static const char *const not_ours[] = {
		"app.log", "app.log.1", "app.log.1.gz", "other.2026-12-02_05-40-19_123456.log",
		"app.2026-12-02_05-40-19_123456.log.bak", "app.2026-12-02_05-40-19.log",
		"app.2026-12-02_05-40-19_123456.txt", "app.2026-12-02_05-40-19_123456.log.tmp",
		"app.x026-12-02_05-40-19_123456.log", "xapp.2026-12-02_05-40-19_123456.log",
	};
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		ck_assert_msg(jlog__rotate_name_match(&nm, not_ours[i]) == JLOG__ROTATED_NOT, "%s",
		              not_ours[i]);
	jlog__rotate_name_finish(&nm);

	/* No extension, and a dot-file. */
	ck_assert_int_eq(jlog__rotate_name_init(&nm, "app"), 0);
	a = jlog__rotate_name_make(&nm, t, 0);
	ck_assert_str_eq(a, "./app.2026-12-02_05-40-19_123456");
	free(a);
	ck_assert_int_eq(jlog__rotate_name_match(&nm, "app.2026-12-02_05-40-19_123456.3"),
	                 JLOG__ROTATED_PLAIN);
	jlog__rotate_name_finish(&nm);
	ck_assert_int_eq(jlog__rotate_name_init(&nm, "/tmp/.hidden"), 0);
	ck_assert_str_eq(nm.stem, ".hidden");
	ck_assert_str_eq(nm.ext, "");
	jlog__rotate_name_finish(&nm);
}
END_TEST

/* ---- Size rotation ---- */

START_TEST(size_rotation_bound)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {0};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&p, "1000 B"), 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	ino_t first;
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	first = st.st_ino;
	/* Batches of 1..7 lines of 40..200 bytes. */
	char batch[8192];
	unsigned long seq = 0, want = tc_scale(3000, 300);
	unsigned r = 1;
	while (seq < want) {
		size_t len = 0, lines = 1 + (r = r * 1103515245 + 12345) % 7;
		for (size_t i = 0; i < lines && seq < want; i++)
			len += make_line(batch + len, sizeof(batch) - len, seq++,
			                 40 + (r = r * 1103515245 + 12345) % 160);
		write_ok(rf, batch, len);
	}
	ck_assert_uint_gt(rotations(rf), 10);
	/* The active file keeps its name (a new inode at the same path). */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(st.st_ino != first);
	ck_assert_int_eq(fstat(jlog__rotate_fd(rf), &st), 0);
	jlog__rotate_close(rf);
	/* Lines never cross the bound (none here is longer than it). */
	size_t files = check_all_lines(dir, "app", want, 1000, 0);
	ck_assert_uint_gt(files, 10);
	struct listing l;
	list_dir(dir, &l);
	struct jlog__rotate_name nm;
	jlog__rotate_name_init(&nm, path);
	for (size_t i = 0; i < l.n; i++)
		ck_assert_msg(strcmp(l.names[i], "app.log") == 0 ||
		                      jlog__rotate_name_match(&nm, l.names[i]) == JLOG__ROTATED_PLAIN,
		              "unexpected %s", l.names[i]);
	jlog__rotate_name_finish(&nm);
	list_free(&l);
	free(dir);
	free(path);
}
END_TEST

START_TEST(size_rotation_long_line_alone)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {.size = 300};
	struct jlog__rotate *rf = open_ok(path, &p);
	write_seq(rf, 0, 100);
	write_seq(rf, 1, 1000); /* longer than the bound */
	write_seq(rf, 2, 100);
	jlog__rotate_close(rf);
	/* Three files: [0], [1] alone, [2]; none holds more than one line
	 * beyond the bound. */
	ck_assert_uint_eq(check_all_lines(dir, "app", 3, 300, 1000), 3);
	size_t n;
	free(tc_slurp(path, &n));
	ck_assert_uint_eq(n, 100);
	free(dir);
	free(path);
}
END_TEST

/* A batch that crosses the bound is split at a line boundary: the lines
 * that fit stay, the rest go to the new file. */
START_TEST(size_rotation_splits_batch)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {.size = 250};
	struct jlog__rotate *rf = open_ok(path, &p);
	char batch[1024];
	size_t len = 0;
	for (int i = 0; i < 5; i++)
		len += make_line(batch + len, sizeof(batch) - len, (unsigned long)i, 100);
	write_ok(rf, batch, len);
	ck_assert_uint_eq(rotations(rf), 2);
	jlog__rotate_close(rf);
	ck_assert_uint_eq(check_all_lines(dir, "app", 5, 250, 0), 3);
	free(dir);
	free(path);
}
END_TEST

/* ---- Time rotation, injected clock ---- */

START_TEST(time_rotation_daily_utc)
{
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {.now_ns = fake_clock};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&p, "00:00"), 0);
	fake_now = utc(2026, 12, 2, 23, 59, 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	write_seq(rf, 0, 80);
	fake_now = utc(2026, 12, 2, 23, 59, 59) + 999999999;
	write_seq(rf, 1, 80);
	jlog__rotate_tick(rf, 0);
	ck_assert_uint_eq(rotations(rf), 0);
	fake_now = utc(2026, 12, 3, 0, 0, 0) + 5000;
	write_seq(rf, 2, 80);
	ck_assert_uint_eq(rotations(rf), 1);
	/* Named after the rotation's local time. */
	char *rotated = join(dir, "app.2026-12-03_00-00-00_000005.log");
	ck_assert_msg(access(rotated, F_OK) == 0, "%s", rotated);
	ck_assert_uint_eq(check_all_lines(dir, "app.2026", 2, 0, 0), 1);
	/* Tick alone rotates at the next midnight; an empty file is not
	 * rotated. */
	fake_now = utc(2026, 12, 4, 0, 0, 1);
	jlog__rotate_tick(rf, 0);
	ck_assert_uint_eq(rotations(rf), 2);
	fake_now = utc(2026, 12, 5, 0, 0, 1);
	jlog__rotate_tick(rf, 0);
	ck_assert_uint_eq(rotations(rf), 2);
	write_seq(rf, 3, 80);
	fake_now = utc(2026, 12, 5, 12, 0, 0);
	jlog__rotate_tick(rf, 0);
	ck_assert_uint_eq(rotations(rf), 2);
	jlog__rotate_close(rf);
	check_all_lines(dir, "app", 4, 0, 0);
	free(rotated);
	free(dir);
	free(path);
}
END_TEST

/* Europe/Paris rules as a POSIX TZ (no tzdata needed): 2026-03-29 02:00
 * -> 03:00, 2026-10-25 03:00 -> 02:00. */
#define PARIS "CET-1CEST,M3.5.0,M10.5.0/3"

/* Step the clock and tick; returns the rotations so far. */
static uint64_t tick_at(struct jlog__rotate *rf, uint64_t t)
{
	fake_now = t;
	jlog__rotate_tick(rf, 0);
	write_seq(rf, 0, 60); /* the file is never empty */
	return rotations(rf);
}

/* One step of a rotation schedule: tick at t, then the rotations so far. */
struct step {
	uint64_t t;
	uint64_t rotations;
};

/* Open @path with rotation @spec at @start on the injected clock, then
 * tick at each step and check the count. The file is never empty (a line
 * after each tick), so every instant that passes rotates. */
static void check_schedule(const char *path, const char *spec, uint64_t start,
                           const struct step *steps, size_t n)
{
	struct jlog__rotate_policy p = {.now_ns = fake_clock};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&p, spec), 0);
	fake_now = start;
	struct jlog__rotate *rf = open_ok(path, &p);
	write_seq(rf, 0, 60);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(tick_at(rf, steps[i].t) == steps[i].rotations,
		              "\"%s\" step %zu: %llu rotations, want %llu", spec, i,
		              (unsigned long long)rotations(rf),
		              (unsigned long long)steps[i].rotations);
	jlog__rotate_close(rf);
}

#define STEPS(...) (const struct step[]){__VA_ARGS__}, \
	sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step)

START_TEST(time_rotation_dst)
{
	set_tz(PARIS);
	char *path = tc_tmppath("app.log");
	/* Spring: 02:30 does not exist on 2026-03-29; rotate at 03:00 CEST
	 * = 01:00 UTC, the first instant after it. The next day, 02:30
	 * CEST = 00:30 UTC. */
	check_schedule(path, "02:30", utc(2026, 3, 28, 12, 0, 0),
	               STEPS({utc(2026, 3, 29, 0, 59, 59), 0}, {utc(2026, 3, 29, 1, 0, 0), 1},
	                     {utc(2026, 3, 30, 0, 29, 59), 1}, {utc(2026, 3, 30, 0, 30, 0), 2}));
	/* Autumn: 02:30 happens twice on 2026-10-25 (00:30 and 01:30 UTC):
	 * rotate once, at the first. The next day, 02:30 CET = 01:30 UTC. */
	check_schedule(path, "02:30", utc(2026, 10, 24, 12, 0, 0),
	               STEPS({utc(2026, 10, 25, 0, 29, 59), 0}, {utc(2026, 10, 25, 0, 30, 0), 1},
	                     {utc(2026, 10, 25, 1, 30, 0), 1}, {utc(2026, 10, 25, 1, 31, 0), 1},
	                     {utc(2026, 10, 26, 1, 29, 59), 1}, {utc(2026, 10, 26, 1, 30, 0), 2}));
	set_tz("UTC");
	free(path);
}
END_TEST

START_TEST(time_rotation_interval_hourly_weekly)
{
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	/* An interval counts from the open, then from each rotation. */
	check_schedule(path, "90 min", utc(2026, 12, 2, 10, 17, 0),
	               STEPS({utc(2026, 12, 2, 11, 46, 59), 0}, {utc(2026, 12, 2, 11, 47, 0), 1},
	                     {utc(2026, 12, 2, 13, 16, 59), 1}, {utc(2026, 12, 2, 13, 17, 0), 2}));
	check_schedule(path, "hourly", utc(2026, 12, 2, 10, 17, 0),
	               STEPS({utc(2026, 12, 2, 10, 59, 59), 0}, {utc(2026, 12, 2, 11, 0, 0), 1},
	                     {utc(2026, 12, 2, 23, 59, 59), 2}, {utc(2026, 12, 3, 0, 0, 0), 3}));
	/* 2026-12-02 is a Wednesday; "monday at 08:00" is 2026-12-07. */
	check_schedule(path, "monday at 08:00", utc(2026, 12, 2, 10, 0, 0),
	               STEPS({utc(2026, 12, 7, 7, 59, 59), 0}, {utc(2026, 12, 7, 8, 0, 0), 1},
	                     {utc(2026, 12, 14, 7, 59, 59), 1}, {utc(2026, 12, 14, 8, 0, 0), 2}));
	check_schedule(path, "monthly", utc(2026, 12, 2, 10, 0, 0),
	               STEPS({utc(2026, 12, 31, 23, 59, 59), 0}, {utc(2027, 1, 1, 0, 0, 0), 1}));
	check_schedule(path, "yearly", utc(2026, 3, 2, 10, 0, 0),
	               STEPS({utc(2026, 12, 31, 23, 59, 59), 0}, {utc(2027, 1, 1, 0, 0, 0), 1},
	                     {utc(2027, 12, 31, 23, 59, 59), 1}, {utc(2028, 1, 1, 0, 0, 0), 2}));
	free(path);
}
END_TEST

/* "SIZE or TIME": whichever comes first. */
START_TEST(time_or_size)
{
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {.now_ns = fake_clock};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&p, "1 KB or 00:00"), 0);
	fake_now = utc(2026, 12, 2, 12, 0, 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	for (unsigned long i = 0; i < 30; i++)
		write_seq(rf, i, 100);
	ck_assert_uint_eq(rotations(rf), 2); /* by size: 10 lines a file */
	fake_now = utc(2026, 12, 3, 0, 0, 0);
	write_seq(rf, 30, 100);
	ck_assert_uint_eq(rotations(rf), 3); /* by time */
	jlog__rotate_close(rf);
	check_all_lines(dir, "app", 31, 1000, 0);
	free(dir);
	free(path);
}
END_TEST

/* ---- Retention ---- */

static void touch(const char *dir, const char *name, time_t mtime)
{
	char *p = join(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{}\n", 3), 3);
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	ck_assert_int_eq(futimens(fd, ts), 0);
	close(fd);
	free(p);
}

static const char *const unrelated[] = {
	"app.log.1", "app.log.2.gz", "notes.txt", "app.2026-bad.log", "other.log",
	"app.2026-12-02_05-40-19_123456.log.bak", "app.2020-01-01_00-00-00_000000.txt",
};

START_TEST(retention_by_count)
{
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++)
		touch(dir, unrelated[i], 1000);
	/* Five rotated files from before, one of them compressed. */
	touch(dir, "app.2020-01-01_00-00-00_000000.log", 1000);
	touch(dir, "app.2020-01-02_00-00-00_000000.log.gz", 2000);
	touch(dir, "app.2020-01-03_00-00-00_000000.log", 3000);
	touch(dir, "app.2020-01-04_00-00-00_000000.2.log", 4000);
	touch(dir, "app.2020-01-05_00-00-00_000000.log", 5000);
	struct jlog__rotate_policy p = {.size = 500};
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "3 files"), 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	/* At open: the two oldest went. */
	struct listing l;
	list_dir(dir, &l);
	ck_assert_uint_eq(l.n, 7 + 1 + 3);
	list_free(&l);
	char *gone = join(dir, "app.2020-01-02_00-00-00_000000.log.gz");
	ck_assert_int_ne(access(gone, F_OK), 0);
	free(gone);
	/* After each rotation: still three. */
	for (unsigned long i = 0; i < 40; i++)
		write_seq(rf, i, 100);
	ck_assert_uint_ge(rotations(rf), 7);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	ck_assert_uint_eq(st.removed, 2 + rotations(rf));
	jlog__rotate_close(rf);
	list_dir(dir, &l);
	ck_assert_uint_eq(l.n, 7 + 1 + 3);
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++) {
		char *u = join(dir, unrelated[i]);
		ck_assert_msg(access(u, F_OK) == 0, "%s was removed", unrelated[i]);
		free(u);
	}
	list_free(&l);
	free(dir);
	free(path);
}
END_TEST

/* A rotated file listed with its compressed copy (the compressor between
 * its rename and its unlink of the original) is one rotation: counted
 * once, and removed with its copy. Before, the pair counted as two and
 * retention kept one rotation too few. */
START_TEST(retention_counts_a_compressing_pair_once)
{
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	touch(dir, "app.2020-01-01_00-00-00_000000.log", 1000);
	touch(dir, "app.2020-01-01_00-00-00_000000.log.gz", 1001);
	touch(dir, "app.2020-01-02_00-00-00_000000.log", 2000);
	touch(dir, "app.2020-01-03_00-00-00_000000.log", 3000);
	touch(dir, "app.2020-01-04_00-00-00_000000.log", 4000);
	touch(dir, "app.2020-01-04_00-00-00_000000.log.gz", 4001);
	struct jlog__rotate_policy p = {.size = 1 << 20};
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "3 files"), 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	/* Four rotations, keep three: only the oldest pair goes. */
	const char *kept[] = {"app.2020-01-02_00-00-00_000000.log",
	                      "app.2020-01-03_00-00-00_000000.log",
	                      "app.2020-01-04_00-00-00_000000.log",
	                      "app.2020-01-04_00-00-00_000000.log.gz"};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		char *k = join(dir, kept[i]);
		ck_assert_msg(access(k, F_OK) == 0, "%s was removed", kept[i]);
		free(k);
	}
	const char *gone[] = {"app.2020-01-01_00-00-00_000000.log",
	                      "app.2020-01-01_00-00-00_000000.log.gz"};
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		char *g = join(dir, gone[i]);
		ck_assert_msg(access(g, F_OK) != 0, "%s was kept", gone[i]);
		free(g);
	}
	jlog__rotate_close(rf);
	free(dir);
	free(path);
}
END_TEST

START_TEST(retention_by_age)
{
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	/* Relative to the real time: the file rotated in the test gets a
	 * real mtime, which must be recent in the injected clock too. */
	uint64_t now = (uint64_t)time(NULL) * NS;
	time_t day = 86400, t0 = (time_t)(now / NS);
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++)
		touch(dir, unrelated[i], t0 - 100 * day);
	touch(dir, "app.2026-11-01_00-00-00_000000.log", t0 - 31 * day);
	touch(dir, "app.2026-11-21_00-00-00_000000.log.zst", t0 - 11 * day);
	touch(dir, "app.2026-11-23_00-00-00_000000.log", t0 - 9 * day);
	touch(dir, "app.2026-12-01_00-00-00_000000.log", t0 - 1 * day);
	fake_now = now;
	struct jlog__rotate_policy p = {.now_ns = fake_clock};
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "10 days"), 0);
	ck_assert_int_eq(jlog__rotate_parse_rotation(&p, "daily"), 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	struct listing l;
	list_dir(dir, &l);
	ck_assert_uint_eq(l.n, 7 + 1 + 2);
	list_free(&l);
	/* Nine days later the 2026-11-23 file is 18 days old; the one
	 * from 12-01 is 10 days old and stays until it is older. */
	write_seq(rf, 0, 60);
	fake_now = now + 9 * day * NS;
	jlog__rotate_tick(rf, 0);
	ck_assert_uint_eq(rotations(rf), 1);
	char *gone = join(dir, "app.2026-11-23_00-00-00_000000.log");
	char *kept = join(dir, "app.2026-12-01_00-00-00_000000.log");
	ck_assert_int_ne(access(gone, F_OK), 0);
	ck_assert_int_eq(access(kept, F_OK), 0);
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++) {
		char *u = join(dir, unrelated[i]);
		ck_assert_msg(access(u, F_OK) == 0, "%s was removed", unrelated[i]);
		free(u);
	}
	jlog__rotate_close(rf);
	free(gone);
	free(kept);
	free(dir);
	free(path);
}
END_TEST

/* ---- Compression ---- */

/* Decompress @path (gz or zst by its suffix) into a malloc'ed string. */
static char *unpack(const char *path, size_t *len)
{
	size_t n;
	char *packed = tc_slurp(path, &n);
	size_t cap = 1 << 20, out_n = 0;
	char *out = malloc(cap + 1);
	ck_assert_ptr_nonnull(out);
	size_t pl = strlen(path);
	if (pl > 3 && strcmp(path + pl - 3, ".gz") == 0) {
#ifdef JLOG_HAVE_ZLIB
		z_stream z = {0};
		ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
		z.next_in = (Bytef *)packed;
		z.avail_in = (uInt)n;
		int zr;
		do {
			if (out_n == cap) {
				cap *= 2;
				out = realloc(out, cap + 1);
			}
			z.next_out = (Bytef *)out + out_n;
			z.avail_out = (uInt)(cap - out_n);
			zr = inflate(&z, Z_NO_FLUSH);
			ck_assert_msg(zr == Z_OK || zr == Z_STREAM_END, "inflate %s: %d", path, zr);
			out_n = cap - z.avail_out;
		} while (zr != Z_STREAM_END);
		ck_assert_uint_eq(z.avail_in, 0);
		inflateEnd(&z);
#else
		ck_abort_msg("no zlib");
#endif
	} else {
#ifdef JLOG_HAVE_ZSTD
		ZSTD_DCtx *d = ZSTD_createDCtx();
		ZSTD_inBuffer ib = {packed, n, 0};
		size_t left = 1;
		while (ib.pos < ib.size || left) {
			if (out_n == cap) {
				cap *= 2;
				out = realloc(out, cap + 1);
			}
			ZSTD_outBuffer ob = {out + out_n, cap - out_n, 0};
			left = ZSTD_decompressStream(d, &ob, &ib);
			ck_assert_msg(!ZSTD_isError(left), "zstd %s: %s", path, ZSTD_getErrorName(left));
			out_n += ob.pos;
			if (ib.pos == ib.size && left && ob.pos == 0)
				ck_abort_msg("%s: truncated zstd frame", path);
		}
		ZSTD_freeDCtx(d);
#else
		ck_abort_msg("no zstd");
#endif
	}
	free(packed);
	out[out_n] = '\0';
	*len = out_n;
	return out;
}

/* Every compressed file in @dir: unpack, parse; the seqs 0..want-1 over
 * them and the active file. */
static void check_packed(const char *dir, const char *active, const char *suffix,
                         unsigned long want, size_t want_files)
{
	struct listing l;
	list_dir(dir, &l);
	ck_assert_uint_eq(count_suffix(&l, suffix), want_files);
	ck_assert_uint_eq(count_suffix(&l, ".tmp"), 0);
	unsigned char *seen = calloc(want, 1);
	unsigned long total = 0;
	for (size_t i = 0; i < l.n; i++) {
		char *p = join(dir, l.names[i]);
		size_t n, count;
		char *text;
		if (strcmp(l.names[i], active) == 0)
			text = tc_slurp(p, &n);
		else {
			size_t sl = strlen(suffix), nl = strlen(l.names[i]);
			ck_assert_msg(nl > sl && strcmp(l.names[i] + nl - sl, suffix) == 0,
			              "uncompressed %s", l.names[i]);
			text = unpack(p, &n);
		}
		json_t **lines = tc_parse_lines_n(text, n, &count);
		for (size_t k = 0; k < count; k++) {
			json_int_t v = json_integer_value(json_object_get(lines[k], "seq"));
			ck_assert(v >= 0 && (unsigned long)v < want && !seen[v]);
			seen[v] = 1;
		}
		total += count;
		tc_free_lines(lines, count);
		free(text);
		free(p);
	}
	ck_assert_uint_eq(total, want);
	free(seen);
	list_free(&l);
}

static void compress_round(enum jlog__compression c, const char *suffix)
{
	if (!jlog__compression_available(c))
		return;
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct errs e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct jlog__rotate_policy p = {.size = 20000, .compression = c, .on_error = on_err,
	                                .error_arg = &e};
	struct jlog__rotate *rf = open_ok(path, &p);
	unsigned long want = 2000;
	for (unsigned long i = 0; i < want; i++)
		write_seq(rf, i, 50 + i % 100);
	uint64_t rot = rotations(rf);
	ck_assert_uint_ge(rot, 5);
	jlog__rotate_drain(rf);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	ck_assert_uint_eq(st.compressed, rot);
	ck_assert_int_eq(e.count, 0);
	jlog__rotate_close(rf);
	check_packed(dir, "app.log", suffix, want, rot);
	free(dir);
	free(path);
}

/* Retention by count while the compressor lags behind the rotations: the
 * kept files are the newest, so the seqs over them and the active file
 * run without a gap to the last. Before, a compressed file carried the
 * time its compression ended, newer than the plain files rotated
 * meanwhile, and retention took those instead (a gap in the middle). */
START_TEST(retention_keeps_the_newest_while_compressing)
{
	if (!jlog__compression_available(JLOG__COMPRESS_GZ))
		return;
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct errs e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct jlog__rotate_policy p = {.size = 2000, .compression = JLOG__COMPRESS_GZ,
	                                .on_error = on_err, .error_arg = &e};
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "3 files"), 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	unsigned long want = tc_scale(4000, 800);
	for (unsigned long i = 0; i < want; i++)
		write_seq(rf, i, 100);
	ck_assert_uint_ge(rotations(rf), want / 40);
	jlog__rotate_drain(rf);
	jlog__rotate_close(rf);
	ck_assert_int_eq(e.count, 0);
	struct listing l;
	list_dir(dir, &l);
	unsigned char *seen = calloc(want, 1);
	unsigned long lowest = want;
	for (size_t i = 0; i < l.n; i++) {
		char *f = join(dir, l.names[i]);
		size_t n, count, nl = strlen(l.names[i]);
		char *text = nl > 3 && strcmp(l.names[i] + nl - 3, ".gz") == 0 ? unpack(f, &n)
		                                                                 : tc_slurp(f, &n);
		json_t **lines = tc_parse_lines_n(text, n, &count);
		for (size_t k = 0; k < count; k++) {
			json_int_t v = json_integer_value(json_object_get(lines[k], "seq"));
			ck_assert(v >= 0 && (unsigned long)v < want && !seen[v]);
			seen[v] = 1;
			if ((unsigned long)v < lowest)
				lowest = (unsigned long)v;
		}
		tc_free_lines(lines, count);
		free(text);
		free(f);
	}
	for (unsigned long v = lowest; v < want; v++)
		ck_assert_msg(seen[v], "seq %lu is missing (kept %lu..%lu)", v, lowest, want - 1);
	free(seen);
	list_free(&l);
	free(dir);
	free(path);
}
END_TEST

START_TEST(compress_gz)
{
	compress_round(JLOG__COMPRESS_GZ, ".gz");
}
END_TEST

START_TEST(compress_zst)
{
	compress_round(JLOG__COMPRESS_ZST, ".zst");
}
END_TEST

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* What a kill in the middle of a compression leaves: the original and a
 * truncated temporary. Open removes the temporary and compresses the
 * original again; a temporary another process holds locked is left. */
START_TEST(compress_leftovers_at_open)
{
	enum jlog__compression c = jlog__compression_available(JLOG__COMPRESS_GZ)
	                                   ? JLOG__COMPRESS_GZ
	                                   : JLOG__COMPRESS_ZST;
	if (!jlog__compression_available(c))
		return;
	const char *sfx = jlog__compression_suffix(c);
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	char *orig = join(dir, "app.2026-12-01_00-00-00_000000.log");
	char *tmp, *busy_orig, *busy_tmp;
	ck_assert_int_ge(asprintf(&tmp, "%s%s.tmp", orig, sfx), 0);
	busy_orig = join(dir, "app.2026-12-01_01-00-00_000000.log");
	ck_assert_int_ge(asprintf(&busy_tmp, "%s%s.tmp", busy_orig, sfx), 0);
	write_file(orig, "{\"seq\":0}\n{\"seq\":1}\n");
	write_file(tmp, "\x1f\x8b truncated");
	write_file(busy_orig, "{\"seq\":2}\n");
	write_file(busy_tmp, "in progress");
	int holder = open(busy_tmp, O_RDONLY);
	ck_assert_int_eq(flock(holder, LOCK_EX), 0);

	struct jlog__rotate_policy p = {.compression = c};
	struct jlog__rotate *rf = open_ok(path, &p);
	jlog__rotate_drain(rf);
	char *packed;
	ck_assert_int_ge(asprintf(&packed, "%s%s", orig, sfx), 0);
	ck_assert_int_eq(access(packed, F_OK), 0);
	ck_assert_int_ne(access(orig, F_OK), 0);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	size_t n, count;
	char *text = unpack(packed, &n);
	json_t **lines = tc_parse_lines_n(text, n, &count);
	ck_assert_uint_eq(count, 2);
	tc_free_lines(lines, count);
	free(text);
	/* The busy one: its temporary and its original untouched. */
	ck_assert_int_eq(access(busy_tmp, F_OK), 0);
	ck_assert_int_eq(access(busy_orig, F_OK), 0);
	jlog__rotate_close(rf);
	close(holder);
	free(packed);
	free(busy_tmp);
	free(busy_orig);
	free(tmp);
	free(orig);
	free(dir);
	free(path);
}
END_TEST

/* The compressed file keeps the original's mtime: retention orders the
 * rotated files by it, and one stamped at the end of its compression
 * would pass for newer than the plain files rotated meanwhile. */
START_TEST(compress_keeps_the_mtime)
{
	for (int k = 0; k < 2; k++) {
		enum jlog__compression c = k ? JLOG__COMPRESS_ZST : JLOG__COMPRESS_GZ;
		if (!jlog__compression_available(c))
			continue;
		char *path = tc_tmppath("app.2026-12-01_00-00-00_000000.log");
		write_file(path, "{\"seq\":0}\n");
		struct timespec ts[2] = {{1000, 0}, {2000, 123456789}};
		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
		atomic_bool stop;
		atomic_init(&stop, false);
		char msg[256] = "";
		ck_assert_msg(jlog__compress_file(path, c, &stop, msg, sizeof(msg)) == 0, "%s", msg);
		char *dst;
		ck_assert_int_ge(asprintf(&dst, "%s%s", path, jlog__compression_suffix(c)), 0);
		struct stat st;
		ck_assert_int_eq(stat(dst, &st), 0);
		ck_assert_int_eq(st.st_mtim.tv_sec, 2000);
		ck_assert_int_eq(st.st_mtim.tv_nsec, 123456789);
		ck_assert_int_ne(access(path, F_OK), 0);
		free(dst);
		free(path);
	}
}
END_TEST

/* A crash-safety check of jlog__compress_file() itself: stopped midway,
 * it leaves the original and no temporary, never a file under the final
 * name. */
START_TEST(compress_stopped_keeps_original)
{
	enum jlog__compression c = jlog__compression_available(JLOG__COMPRESS_ZST)
	                                   ? JLOG__COMPRESS_ZST
	                                   : JLOG__COMPRESS_GZ;
	if (!jlog__compression_available(c))
		return;
	char *path = tc_tmppath("app.2026-12-01_00-00-00_000000.log");
	write_file(path, "{\"seq\":0}\n");
	atomic_bool stop;
	atomic_init(&stop, true);
	char msg[256];
	ck_assert_int_eq(jlog__compress_file(path, c, &stop, msg, sizeof(msg)), -ECANCELED);
	char *dst, *tmp;
	ck_assert_int_ge(asprintf(&dst, "%s%s", path, jlog__compression_suffix(c)), 0);
	ck_assert_int_ge(asprintf(&tmp, "%s.tmp", dst), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_ne(access(dst, F_OK), 0);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	free(tmp);
	free(dst);
	free(path);
}
END_TEST

/* A directory in the way of the compressed name (_i 0) or of its
 * temporary (_i 1: not another process's compression, which a regular
 * file there is): reported once, counted, the original kept; the lines
 * all still there. */
START_TEST(compress_error_reported_once)
{
	enum jlog__compression c = jlog__compression_available(JLOG__COMPRESS_GZ)
	                                   ? JLOG__COMPRESS_GZ
	                                   : JLOG__COMPRESS_ZST;
	if (!jlog__compression_available(c))
		return;
	set_tz("UTC");
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct errs e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct jlog__rotate_policy p = {.size = 200, .compression = c, .now_ns = fake_clock,
	                                .on_error = on_err, .error_arg = &e};
	fake_now = utc(2026, 12, 2, 12, 0, 0);
	/* The names the next three rotations take, with directories (not
	 * empty: rename(2) could replace an empty one) at their .gz names. */
	for (int i = 0; i < 3; i++) {
		struct jlog__rotate_name nm;
		jlog__rotate_name_init(&nm, path);
		char *r = jlog__rotate_name_make(&nm, fake_now + (uint64_t)(i + 2) * NS, 0), *d, *f;
		ck_assert_int_ge(asprintf(&d, "%s%s%s", r, jlog__compression_suffix(c),
		                          _i ? ".tmp" : ""), 0);
		ck_assert_int_eq(mkdir(d, 0755), 0);
		f = join(d, "x");
		write_file(f, "x");
		free(f);
		free(d);
		free(r);
		jlog__rotate_name_finish(&nm);
	}
	struct jlog__rotate *rf = open_ok(path, &p);
	for (unsigned long i = 0; i < 8; i++) {
		if (i % 2 == 0)
			fake_now += NS;
		write_seq(rf, i, 100);
	}
	ck_assert_uint_eq(rotations(rf), 3);
	jlog__rotate_drain(rf);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	ck_assert_uint_eq(st.errors[JLOG__ROTATE_ERR_COMPRESS], 3);
	ck_assert_uint_eq(st.compressed, 0);
	pthread_mutex_lock(&e.lock);
	ck_assert_int_eq(e.count, 1);
	ck_assert_int_eq(e.kind, JLOG__ROTATE_ERR_COMPRESS);
	ck_assert_msg(strstr(e.msg, "app.2026-12-02_12-00-02_000000.log") != NULL, "%s", e.msg);
	pthread_mutex_unlock(&e.lock);
	jlog__rotate_close(rf);
	check_all_lines(dir, "app", 8, 200, 0);
	free(dir);
	free(path);
}
END_TEST

/* ---- Rotation errors: EACCES on the directory ---- */

/* Runs in a child (unprivileged when we are root, so that permissions
 * apply): exit status 0 on success, else the failed step's number. */
static int eacces_scenario(const char *dir)
{
	char *path = join(dir, "app.log");
	struct errs e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct jlog__rotate_policy p = {.size = 500, .on_error = on_err, .error_arg = &e};
	struct jlog__rotate *rf = NULL;
	if (jlog__rotate_open(&rf, path, 0644, false, &p))
		return 1;
	char line[256];
	unsigned long seq = 0;
	for (; seq < 4; seq++) {
		size_t n = make_line(line, sizeof(line), seq, 100), w;
		if (jlog__rotate_write(rf, line, n, &w) || w != n)
			return 2;
	}
	if (chmod(dir, 0555))
		return 3;
	/* 40 lines of 25 bytes: far past the bound; every one written. */
	for (; seq < 44; seq++) {
		size_t n = make_line(line, sizeof(line), seq, 25), w;
		if (jlog__rotate_write(rf, line, n, &w) || w != n)
			return 4;
	}
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	if (st.rotations != 0 || e.count != 1 || e.last != -EACCES ||
	    e.kind != JLOG__ROTATE_ERR_ROTATE)
		return 5;
	/* Retried each tenth of the bound (50 bytes, two lines), not at
	 * every line. */
	if (st.errors[JLOG__ROTATE_ERR_ROTATE] < 10 || st.errors[JLOG__ROTATE_ERR_ROTATE] > 25)
		return 6;
	if (!strstr(e.msg, path) || !strstr(e.msg, "permission denied"))
		return 7;
	if (chmod(dir, 0755))
		return 8;
	size_t n = make_line(line, sizeof(line), seq++, 100), w;
	if (jlog__rotate_write(rf, line, n, &w) || w != n)
		return 9;
	jlog__rotate_get_stats(rf, &st);
	if (st.rotations != 1)
		return 10;
	jlog__rotate_close(rf);
	free(path);
	return 0;
}

START_TEST(rotation_eacces_reported_once)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0) {
			if (chown(dir, 65534, 65534) || setgid(65534) || setuid(65534))
				_exit(90);
		}
		int rc = eacces_scenario(dir);
		/* The child's copies: freed, or valgrind's leak check at
		 * the child's exit counts them (and exits 1). */
		free(dir);
		free(path);
		_exit(rc ? 10 + rc : 0); /* 1 is valgrind's error exit */
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "step %d failed",
	              WIFEXITED(status) ? WEXITSTATUS(status) - 10 : -1);
	check_all_lines(dir, "app", 45, 0, 0);
	free(dir);
	free(path);
}
END_TEST

/* A write cut short (EFBIG past RLIMIT_FSIZE, as ENOSPC would): the
 * lines before the cut count as written, the cut line is taken back. */
static int efbig_scenario(const char *path)
{
	struct jlog__rotate_policy p = {.size = 1 << 20};
	struct jlog__rotate *rf = NULL;
	if (jlog__rotate_open(&rf, path, 0644, false, &p))
		return 1;
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {1000, 1000};
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 2;
	char batch[2048];
	size_t len = 0;
	for (unsigned long i = 0; i < 15; i++)
		len += make_line(batch + len, sizeof(batch) - len, i, 90);
	size_t w = 12345;
	int rc = jlog__rotate_write(rf, batch, len, &w);
	if (rc != -EFBIG)
		return 3;
	if (w != 990)
		return 4;
	struct stat st;
	if (stat(path, &st) || st.st_size != 990)
		return 5;
	jlog__rotate_close(rf);
	return 0;
}

START_TEST(short_write_takes_back_cut_line)
{
	char *path = tc_tmppath("app.log");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc = efbig_scenario(path);
		free(path); /* see rotation_eacces_reported_once */
		_exit(rc ? 10 + rc : 0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "step %d failed",
	              WIFEXITED(status) ? WEXITSTATUS(status) - 10 : -1);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 11);
	tc_free_lines(l, n);
	free(path);
}
END_TEST

/* ---- External changes: reopen, inode check, copytruncate ---- */

START_TEST(reopen_request)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {0};
	struct jlog__rotate *rf = open_ok(path, &p);
	write_seq(rf, 0, 60);
	char *moved = join(dir, "app.log.1");
	ck_assert_int_eq(rename(path, moved), 0);
	write_seq(rf, 1, 60); /* still the old file: nothing asked yet */
	jlog__rotate_reopen(rf);
	write_seq(rf, 2, 60);
	jlog__rotate_close(rf);
	size_t n;
	json_t **l = tc_parse_file(moved, &n);
	ck_assert_uint_eq(n, 2);
	tc_free_lines(l, n);
	l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "seq")), 2);
	tc_free_lines(l, n);
	free(moved);
	free(dir);
	free(path);
}
END_TEST

START_TEST(inode_check_renamed_and_deleted)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {0};
	uint64_t t = 1000 * NS;
	struct jlog__rotate *rf = open_ok(path, &p);
	jlog__rotate_tick(rf, t);
	write_seq(rf, 0, 60);
	char *moved = join(dir, "moved.log");
	ck_assert_int_eq(rename(path, moved), 0);
	/* Another file at the path (as logrotate's create makes): only the
	 * inode tells it from ours. */
	int other = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(other, 0);
	close(other);
	/* Within a second of the last check: not looked at yet. */
	jlog__rotate_tick(rf, t + NS / 2);
	write_seq(rf, 1, 60);
	size_t n0;
	free(tc_slurp(path, &n0));
	ck_assert_uint_eq(n0, 0);
	jlog__rotate_tick(rf, t + NS + NS / 10);
	write_seq(rf, 2, 60);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	tc_free_lines(l, n);
	/* Deleted: reopened (created) at the next check. */
	ck_assert_int_eq(unlink(path), 0);
	jlog__rotate_tick(rf, t + 3 * NS);
	write_seq(rf, 3, 60);
	l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(l[0], "seq")), 3);
	tc_free_lines(l, n);
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	ck_assert_uint_eq(st.reopens, 2);
	jlog__rotate_close(rf);
	l = tc_parse_file(moved, &n);
	ck_assert_uint_eq(n, 2);
	tc_free_lines(l, n);
	free(moved);
	free(dir);
	free(path);
}
END_TEST

/* copytruncate: the file shrinks under us. O_APPEND writes at the new
 * end; the size counter must follow, or the next rotation comes early. */
START_TEST(truncated_underneath)
{
	char *path = tc_tmppath("app.log");
	struct jlog__rotate_policy p = {.size = 1000};
	uint64_t t = 1000 * NS;
	struct jlog__rotate *rf = open_ok(path, &p);
	jlog__rotate_tick(rf, t);
	for (unsigned long i = 0; i < 9; i++)
		write_seq(rf, i, 100);
	ck_assert_int_eq(truncate(path, 0), 0);
	jlog__rotate_tick(rf, t + 2 * NS);
	for (unsigned long i = 9; i < 18; i++)
		write_seq(rf, i, 100);
	ck_assert_uint_eq(rotations(rf), 0);
	jlog__rotate_close(rf);
	size_t n;
	json_t **l = tc_parse_file(path, &n); /* no hole of NULs before */
	ck_assert_uint_eq(n, 9);
	tc_free_lines(l, n);
	free(path);
}
END_TEST

START_TEST(crash_write_and_describe)
{
	char *path = tc_tmppath("app.log");
	struct jlog__rotate_policy p = {.size = 10 * 1024 * 1024};
	ck_assert_int_eq(jlog__rotate_parse_retention(&p, "5"), 0);
	struct jlog__rotate *rf = open_ok(path, &p);
	const char *line = "{\"seq\":0,\"crash\":true}\n";
	ck_assert_int_eq(jlog__rotate_crash_write(rf, line, strlen(line)), 0);
	char d[256];
	jlog__rotate_describe(rf, d, sizeof(d));
	ck_assert_msg(strstr(d, path) && strstr(d, "10 MiB") && strstr(d, "5 files"), "%s", d);
	jlog__rotate_close(rf);
	struct jlog__rotate_policy w = {0};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&w, "1 GB or monday at 12:30"), 0);
	w.compression = JLOG__COMPRESS_NONE;
	rf = open_ok(path, &w);
	jlog__rotate_describe(rf, d, sizeof(d));
	ck_assert_msg(strstr(d, "monday at 12:30:00") && strstr(d, " or "), "%s", d);
	jlog__rotate_close(rf);
	/* Intervals under a second, or not whole seconds, in ms. */
	w = (struct jlog__rotate_policy){0};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&w, "500 ms"), 0);
	rf = open_ok(path, &w);
	jlog__rotate_describe(rf, d, sizeof(d));
	ck_assert_msg(strstr(d, "every 500 ms"), "%s", d);
	jlog__rotate_close(rf);
	w = (struct jlog__rotate_policy){0};
	ck_assert_int_eq(jlog__rotate_parse_rotation(&w, "yearly"), 0);
	rf = open_ok(path, &w);
	jlog__rotate_describe(rf, d, sizeof(d));
	ck_assert_msg(strstr(d, "1 january at 00:00:00"), "%s", d);
	jlog__rotate_close(rf);
	size_t n;
	json_t **l = tc_parse_file(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(json_is_true(json_object_get(l[0], "crash")));
	tc_free_lines(l, n);
	/* A symlink at the path is refused unless allowed. */
	char *dir = dir_of(path), *link = join(dir, "link.log");
	ck_assert_int_eq(symlink(path, link), 0);
	struct jlog__rotate *r2 = NULL;
	ck_assert_int_eq(jlog__rotate_open(&r2, link, 0644, false, &p), -ELOOP);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), link));
	ck_assert_int_eq(jlog__rotate_open(&r2, link, 0644, true, &p), 0);
	jlog__rotate_close(r2);
	jlog__rotate_close(NULL);
	free(link);
	free(dir);
	free(path);
}
END_TEST

/* ---- Several processes, several threads ---- */

#define PROCS 4
#define THREADS 4
#define BOUND 4096

struct mp_thread {
	struct jlog__rotate *rf;
	pthread_mutex_t *lock;
	unsigned proc, thread;
	unsigned long lines;
	int rc;
};

static void *mp_main(void *arg)
{
	struct mp_thread *t = arg;
	char batch[1024];
	unsigned long k = 0;
	unsigned r = t->proc * 31 + t->thread;
	while (k < t->lines) {
		size_t len = 0, n = 1 + (r = r * 1103515245 + 12345) % 3;
		for (size_t i = 0; i < n && k < t->lines; i++, k++) {
			unsigned long seq = ((unsigned long)t->proc * THREADS + t->thread) * t->lines + k;
			len += make_line(batch + len, sizeof(batch) - len, seq,
			                 60 + (r = r * 1103515245 + 12345) % 200);
		}
		size_t w;
		pthread_mutex_lock(t->lock);
		int rc = jlog__rotate_write(t->rf, batch, len, &w);
		pthread_mutex_unlock(t->lock);
		if (rc || w != len) {
			t->rc = rc ? rc : -EIO;
			return NULL;
		}
	}
	return NULL;
}

START_TEST(several_processes_one_file)
{
	char *path = tc_tmppath("app.log");
	char *dir = dir_of(path);
	struct jlog__rotate_policy p = {.size = BOUND, .shared = true};
	unsigned long per_thread = tc_scale(2000, 200);
	/* Opened once before the fork, as a pre-fork server does. */
	struct jlog__rotate *rf = open_ok(path, &p);
	pid_t pids[PROCS];
	for (unsigned i = 0; i < PROCS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			jlog__rotate_after_fork(rf);
			pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
			pthread_t th[THREADS];
			struct mp_thread ts[THREADS];
			for (unsigned j = 0; j < THREADS; j++) {
				ts[j] = (struct mp_thread){rf, &lock, i, j, per_thread, 0};
				if (pthread_create(&th[j], NULL, mp_main, &ts[j]))
					_exit(21);
			}
			int bad = 0;
			for (unsigned j = 0; j < THREADS; j++) {
				pthread_join(th[j], NULL);
				bad |= ts[j].rc != 0;
			}
			jlog__rotate_close(rf);
			free(dir); /* see rotation_eacces_reported_once */
			free(path);
			_exit(bad ? 20 : 0);
		}
	}
	for (unsigned i = 0; i < PROCS; i++) {
		int status;
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %u failed (%d)", i,
		              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	jlog__rotate_close(rf);
	/* Every line once, whole, and no file over the bound (no line here
	 * is longer than it). */
	size_t files = check_all_lines(dir, "app", PROCS * THREADS * per_thread, BOUND, 0);
	ck_assert_uint_gt(files, 10);
	free(dir);
	free(path);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("rotate");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, parse_rotation_sizes);
	tcase_add_test(tc, parse_rotation_times);
	tcase_add_test(tc, parse_retention_compression);
	tcase_add_test(tc, rotated_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("rotation");
	tcase_add_test(tc, size_rotation_bound);
	tcase_add_test(tc, size_rotation_long_line_alone);
	tcase_add_test(tc, size_rotation_splits_batch);
	tcase_add_test(tc, time_rotation_daily_utc);
	tcase_add_test(tc, time_rotation_dst);
	tcase_add_test(tc, time_rotation_interval_hourly_weekly);
	tcase_add_test(tc, time_or_size);
	tcase_add_test(tc, rotation_eacces_reported_once);
	tcase_add_test(tc, short_write_takes_back_cut_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("retention");
	tcase_add_test(tc, retention_by_count);
	tcase_add_test(tc, retention_by_age);
	tcase_add_test(tc, retention_counts_a_compressing_pair_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("compression");
	tcase_add_test(tc, compress_gz);
	tcase_add_test(tc, retention_keeps_the_newest_while_compressing);
	tcase_add_test(tc, compress_zst);
	tcase_add_test(tc, compress_leftovers_at_open);
	tcase_add_test(tc, compress_stopped_keeps_original);
	tcase_add_test(tc, compress_keeps_the_mtime);
	tcase_add_loop_test(tc, compress_error_reported_once, 0, 2);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("external");
	tcase_add_test(tc, reopen_request);
	tcase_add_test(tc, inode_check_renamed_and_deleted);
	tcase_add_test(tc, truncated_underneath);
	tcase_add_test(tc, crash_write_and_describe);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_test(tc, several_processes_one_file);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
