/*
 * Rotating file sinks through the public API: the "rotation",
 * "retention", "compression" keys and jlog_sink_options fields reach the
 * rotating file transport, jlog_reopen() and the SIGHUP hook reopen it,
 * and side-work failures are counted in jlog_stats.rotation_errors.
 */
#include "jlog.h"
#include "test-common.h"
#include "test-files.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOUND 4096

static jlog_logger *open_rotating(const char *path, const char *rotation,
                                  const char *retention, const char *compression)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "stderr";
	o.level = JLOG_LEVEL_OFF;
	o.queue_size = 1 << 20;
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = path;
	so.rotation = rotation;
	so.retention = retention;
	so.compression = compression;
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	ck_assert_int_eq(jlog_remove_sink(lg, 0), 0);
	jlog_set_level(lg, JLOG_LEVEL_INFO);
	return lg;
}

/* The files of @dir starting with "app", sorted by name; count returned. */
static size_t app_files(const char *dir, char names[][256], size_t max)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "app", 3) == 0 && n < max)
			snprintf(names[n++], 256, "%.80s/%.160s", dir, e->d_name);
	closedir(d);
	qsort(names, n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void log_n(jlog_logger *lg, unsigned long from, unsigned long to)
{
	for (unsigned long i = from; i < to; i++)
		JLOG_INFO(lg, "line", JLOG_INT("seq", (long long)i));
}

/* Every line of the rotated and active files parses; the seq numbers are
 * exactly 0..n-1, once each, in name order (rotated names sort by time,
 * the active "app.log" sorts... last only among its kind, so it is read
 * last). Each file stays within the bound plus one record. */
static void check_files(const char *dir, unsigned long n, size_t *nfiles)
{
	static char names[4096][256];
	size_t k = app_files(dir, names, 4096);
	unsigned char *seen = calloc(n, 1);
	ck_assert_ptr_nonnull(seen);
	unsigned long total = 0;
	for (size_t i = 0; i < k; i++) {
		struct stat st;
		ck_assert_int_eq(stat(names[i], &st), 0);
		ck_assert_int_le(st.st_size, BOUND + 256);
		size_t count;
		json_t **lines = tc_parse_file(names[i], &count);
		for (size_t j = 0; j < count; j++) {
			json_t *seq = json_object_get(lines[j], "seq");
			ck_assert_msg(json_is_integer(seq), "%s: line %zu has no seq", names[i], j);
			json_int_t v = json_integer_value(seq);
			ck_assert(v >= 0 && (unsigned long)v < n);
			ck_assert_msg(!seen[v], "seq %lld twice", (long long)v);
			seen[v] = 1;
			total++;
		}
		tc_free_lines(lines, count);
	}
	ck_assert_uint_eq(total, n);
	free(seen);
	*nfiles = k;
}

START_TEST(size_rotation)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	jlog_logger *lg = open_rotating(path, "4 KB", NULL, NULL);
	unsigned long n = tc_scale(2000, 200);
	log_n(lg, 0, n);
	ck_assert_int_eq(jlog_close(lg), 0);
	size_t files;
	check_files(dir, n, &files);
	/* ~150-byte lines: many rotations happened. */
	ck_assert_uint_gt(files, n * 100 / BOUND);
	free(path);
	free(dir);
}
END_TEST

START_TEST(retention_count)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	jlog_logger *lg = open_rotating(path, "4 KB", "3", NULL);
	log_n(lg, 0, 1000);
	ck_assert_int_eq(jlog_close(lg), 0);
	static char names[64][256];
	/* 3 rotated files and the active one. */
	ck_assert_uint_eq(app_files(dir, names, 64), 4);
	free(path);
	free(dir);
}
END_TEST

/* Rotated files become .gz (read back with gzip -dc: whole JSON lines). */
START_TEST(gzip_compression)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	jlog_logger *lg = open_rotating(path, "4 KB", NULL, "gz");
	log_n(lg, 0, 200);
	ck_assert_int_eq(jlog_flush(lg), 0);
	static char names[64][256];
	size_t gz = 0;
	for (int tries = 0; tries < 500 && gz == 0; tries++) {
		size_t k = app_files(dir, names, 64);
		for (size_t i = 0; i < k; i++)
			gz += tc_has_suffix(names[i], ".log.gz");
		if (!gz)
			usleep(10000);
	}
	ck_assert_uint_gt(gz, 0);
	size_t k = app_files(dir, names, 64);
	for (size_t i = 0; i < k; i++) {
		if (!tc_has_suffix(names[i], ".log.gz"))
			continue;
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", names[i]);
		FILE *p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		char line[512];
		size_t lines = 0;
		while (fgets(line, sizeof(line), p)) {
			json_error_t je;
			json_t *j = json_loads(line, 0, &je);
			ck_assert_msg(j != NULL, "%s: %s", names[i], je.text);
			json_decref(j);
			lines++;
		}
		ck_assert_int_eq(pclose(p), 0);
		ck_assert_uint_gt(lines, 0);
		break;
	}
	ck_assert_int_eq(jlog_close(lg), 0);
	free(path);
	free(dir);
}
END_TEST

/* The keys of a configuration document, and their errors by key path. */
START_TEST(config_keys)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"sinks\":[{\"sink\":\"%s\",\"rotation\":4096,\"retention\":\"2 files\","
	         "\"compression\":\"none\"}]}",
	         path);
	jlog_logger *lg = NULL;
	ck_assert_int_eq(jlog_open_config(&lg, doc), 0);
	log_n(lg, 0, 1000);
	ck_assert_int_eq(jlog_close(lg), 0);
	static char names[64][256];
	ck_assert_uint_eq(app_files(dir, names, 64), 3);

	char err[512];
	snprintf(doc, sizeof(doc), "{\"sinks\":[{\"sink\":\"%s\",\"rotation\":\"5 parsecs\"}]}",
	         path);
	ck_assert_int_eq(jlog_open_config_err(&lg, doc, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "sinks[0].rotation") != NULL, "%s", err);
	snprintf(doc, sizeof(doc), "{\"sinks\":[{\"sink\":\"%s\",\"retention\":true}]}", path);
	ck_assert_int_eq(jlog_open_config_err(&lg, doc, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "sinks[0].retention") != NULL, "%s", err);
	snprintf(doc, sizeof(doc), "{\"sinks\":[{\"sink\":\"%s\",\"compression\":\"rar\"}]}",
	         path);
	ck_assert_int_eq(jlog_open_config_err(&lg, doc, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "sinks[0].compression") != NULL, "%s", err);

	/* The same keys through jlog_sink_options.options. */
	jlog_options o;
	jlog_options_init(&o);
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = path;
	so.options = "{\"rotation\":\"1 fortnight\"}";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_msg(strstr(jlog_last_error(), "options.rotation") != NULL, "%s",
	              jlog_last_error());
	so.options = NULL;
	so.rotation = "10 parsecs";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_msg(strstr(jlog_last_error(), "rotation") != NULL, "%s", jlog_last_error());
	ck_assert_int_eq(jlog_close(lg), 0);
	free(path);
	free(dir);
}
END_TEST

/* Renamed away, then SIGHUP through jlog_install_reopen_on_sighup(): the
 * next lines go to a new file at the path; the handler before is still
 * called. */
static volatile sig_atomic_t prev_called;
static void prev_handler(int sig)
{
	(void)sig;
	prev_called = 1;
}

START_TEST(reopen_on_sighup)
{
	char *path = tc_tmppath("app.log");
	jlog_logger *lg = open_rotating(path, "1 GB", NULL, NULL);
	signal(SIGHUP, prev_handler);
	ck_assert_int_eq(jlog_install_reopen_on_sighup(lg), 0);
	log_n(lg, 0, 10);
	ck_assert_int_eq(jlog_flush(lg), 0);
	char moved[512];
	snprintf(moved, sizeof(moved), "%s.1", path);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(raise(SIGHUP), 0);
	ck_assert_int_eq(prev_called, 1);
	/* The writer acts on the request before its next batch. */
	for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
		usleep(5000);
	log_n(lg, 10, 30);
	ck_assert_int_eq(jlog_close(lg), 0);
	ck_assert_int_eq(jlog_install_reopen_on_sighup(NULL), 0);
	signal(SIGHUP, SIG_DFL);
	tc_assert_line_count(moved, 10);
	tc_assert_line_count(path, 20);
	free(path);
}
END_TEST

/* A directory the process may not write: rotation fails, is counted in
 * jlog_stats.rotation_errors, and every line still reaches the file. */
static int eacces_child(const char *dir, const char *path)
{
	/* The active file exists; only renaming it in @dir fails. */
	int fd = open(path, O_WRONLY | O_CREAT, 0640);
	if (fd < 0 || close(fd) < 0 || chmod(dir, 0555) < 0)
		return 1;
	jlog_logger *lg = open_rotating(path, "4 KB", NULL, NULL);
	log_n(lg, 0, 200);
	if (jlog_flush(lg) < 0)
		return 2;
	jlog_stats st = {0};
	for (int i = 0; i < 400 && st.rotation_errors == 0; i++) {
		usleep(5000);
		jlog_get_stats(lg, &st);
	}
	if (st.rotation_errors == 0)
		return 3;
	if (st.written != 200 || st.lost != 0)
		return 4;
	if (jlog_close(lg) < 0)
		return 5;
	return 0;
}

START_TEST(rotation_error_counted)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 &&
		    (chown(dir, 65534, 65534) || setgid(65534) || setuid(65534)))
			_exit(90);
		int rc = eacces_child(dir, path);
		free(dir);
		free(path);
		_exit(rc ? 10 + rc : 0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "step %d failed",
	              WIFEXITED(status) ? WEXITSTATUS(status) - 10 : -1);
	tc_assert_line_count(path, 200);
	free(dir);
	free(path);
}
END_TEST

/* A logger through jlog_open_config() whose one sink is @path with the
 * further keys @keys ("\"rotation\":\"4 KB\"", or ""). */
static int open_doc(jlog_logger **lg, const char *path, const char *keys, char *err,
                    size_t errlen)
{
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"queue_size\":1048576,\"sinks\":[{\"sink\":\"%s\"%s%s}]}",
	         path, *keys ? "," : "", keys);
	return jlog_open_config_err(lg, doc, err, errlen);
}

/* Every "app*" file of @dir into @ty; each within @bound plus one record
 * (of the longest seen). Returns the number of files. */
static size_t tally_dir(struct tc_tally *ty, const char *dir, uint64_t bound)
{
	size_t n;
	char **v = tc_dir_files(dir, "app", &n);
	size_t *sizes = calloc(n ? n : 1, sizeof(*sizes));
	ck_assert_ptr_nonnull(sizes);
	for (size_t i = 0; i < n; i++)
		(void)tc_tally_file(ty, v[i], false, &sizes[i]);
	for (size_t i = 0; bound && i < n; i++)
		ck_assert_msg(sizes[i] <= bound + ty->longest, "%s: %zu bytes, bound %llu + %zu",
		              v[i], sizes[i], (unsigned long long)bound, ty->longest);
	free(sizes);
	tc_dir_files_free(v, n);
	return n;
}

/* Rotated files become .zst while 4 threads log; every line comes back
 * once (zstd -dc), whole, and each file holds at most the bound plus one
 * record. */
START_TEST(zstd_compression)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	jlog_logger *lg = NULL;
	char err[512];
	int rc = open_doc(&lg, path, "\"rotation\":\"4 KB\",\"compression\":\"zst\"", err,
	                  sizeof(err));
	if (rc != 0 && strstr(err, "built without")) {
		fprintf(stderr, "zstd_compression: %s: skipped\n", err);
		free(path);
		free(dir);
		return;
	}
	ck_assert_msg(rc == 0, "%s", err);
	struct tc_writer w[4];
	unsigned long n = tc_scale(1000, 100);
	tc_writers_start(w, 4, lg, 0, n, NULL, 0);
	tc_writers_join(w, 4);
	ck_assert_int_eq(jlog_flush(lg), 0);
	/* Compression runs on its own thread: wait until no rotated file is
	 * left uncompressed (nor a temporary). */
	size_t left = 1, zst = 0;
	for (int i = 0; i < 60000 && left; i++) {
		size_t k;
		char **v = tc_dir_files(dir, "app.", &k);
		left = zst = 0;
		for (size_t j = 0; j < k; j++) {
			bool packed = tc_has_suffix(v[j], ".log.zst");
			zst += packed;
			left += !packed && !tc_has_suffix(v[j], "/app.log");
		}
		tc_dir_files_free(v, k);
		if (left)
			usleep(1000);
	}
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_gt(zst, 1);
	ck_assert_int_eq(jlog_close(lg), 0);
	struct tc_tally ty = {0};
	ck_assert_uint_eq(tally_dir(&ty, dir, BOUND), zst + 1);
	for (unsigned t = 0; t < 4; t++)
		tc_tally_expect(&ty, t, n);
	tc_tally_free(&ty);
	free(path);
	free(dir);
}
END_TEST

/* The active file renamed away while 4 threads log: within about a
 * second (the inode check) the sink opens the path again, and every line
 * is in the old or the new file, once. _i 0: a plain file sink, 1: a
 * rotating one. */
START_TEST(renamed_underneath)
{
	char *path = tc_tmppath("app.log");
	jlog_logger *lg = NULL;
	char err[512];
	ck_assert_msg(open_doc(&lg, path, _i ? "\"rotation\":\"1 GB\"" : "", err, sizeof(err)) == 0,
	              "%s", err);
	atomic_bool stop = false;
	struct tc_writer w[4];
	/* A line per thread and millisecond, one in ten as many when
	 * scaled (valgrind): the rename is noticed about a second later,
	 * and every line then is read back. */
	tc_writers_start(w, 4, lg, 0, ULONG_MAX, &stop, (unsigned)tc_scale(10, 1));
	tc_wait_written(lg, 400);
	char moved[600];
	snprintf(moved, sizeof(moved), "%s.moved", path);
	ck_assert_int_eq(rename(path, moved), 0);
	/* No request: the sink notices the path is another file (here: none). */
	tc_wait_nonempty(path);
	jlog_stats st;
	jlog_get_stats(lg, &st);
	tc_wait_written(lg, st.written + 400);
	atomic_store(&stop, true);
	tc_writers_join(w, 4);
	ck_assert_int_eq(jlog_close(lg), 0);
	struct tc_tally ty = {0};
	(void)tc_tally_file(&ty, moved, false, NULL);
	(void)tc_tally_file(&ty, path, false, NULL);
	for (unsigned t = 0; t < 4; t++)
		tc_tally_expect(&ty, t, w[t].done);
	tc_tally_free(&ty);
	free(path);
}
END_TEST

/* A plain file sink whose path cannot be opened again (a directory took
 * its place): the reopen fails, is counted, and lines go on to the file
 * the sink had; once the path is free, the next reopen takes it. */
START_TEST(plain_reopen_fails)
{
	char *path = tc_tmppath("app.log");
	jlog_logger *lg = NULL;
	char err[512];
	ck_assert_msg(open_doc(&lg, path, "", err, sizeof(err)) == 0, "%s", err);
	log_n(lg, 0, 10);
	ck_assert_int_eq(jlog_flush(lg), 0);
	char moved[600];
	snprintf(moved, sizeof(moved), "%s.moved", path);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(jlog_reopen(lg), 0);
	jlog_stats st = {0};
	for (int i = 0; i < 30000 && st.rotation_errors == 0; i++) {
		usleep(1000);
		jlog_get_stats(lg, &st);
	}
	ck_assert_uint_gt(st.rotation_errors, 0);
	log_n(lg, 10, 20);
	ck_assert_int_eq(jlog_flush(lg), 0);
	tc_assert_line_count(moved, 20);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(jlog_reopen(lg), 0);
	unsigned long n = 20;
	while (access(path, F_OK) != 0 && n < 30000) {
		log_n(lg, n, n + 1);
		n++;
		usleep(1000);
	}
	log_n(lg, n, n + 1);
	n++;
	ck_assert_int_eq(jlog_close(lg), 0);
	size_t before, after;
	json_t **lines = tc_parse_file(moved, &before);
	tc_free_lines(lines, before);
	lines = tc_parse_file(path, &after);
	tc_free_lines(lines, after);
	ck_assert_uint_ge(before, 20);
	ck_assert_uint_gt(after, 0);
	ck_assert_uint_eq(before + after, n);
	free(path);
}
END_TEST

/* Pre-fork workers: 4 processes x 4 threads on one "shared" file with a
 * small bound. Exactly one process rotates per rotation: every rotated
 * file was full when it was rotated (a second rotation of the same
 * crossing would leave a nearly empty file), none grew past the bound
 * (nobody wrote into a rotated file), and every line is there once,
 * whole. */
#define SHARED_BOUND 8192

static int shared_child(const char *path, unsigned p, unsigned long n)
{
	jlog_logger *lg = NULL;
	char err[512];
	char keys[128];
	snprintf(keys, sizeof(keys), "\"rotation\":%d,\"shared\":true", SHARED_BOUND);
	if (open_doc(&lg, path, keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "child %u: %s\n", p, err);
		return 1;
	}
	struct tc_writer w[4];
	for (unsigned i = 0; i < 4; i++) {
		w[i] = (struct tc_writer){.lg = lg, .t = p * 4 + i, .max = n};
		if (pthread_create(&w[i].th, NULL, tc_writer_main, &w[i]) != 0)
			return 2;
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(w[i].th, NULL);
	if (jlog_flush(lg) != 0)
		return 6;
	jlog_stats st;
	jlog_get_stats(lg, &st);
	if (jlog_close(lg) != 0)
		return 3;
	if (st.written != 4 * n || st.lost || st.write_errors) {
		fprintf(stderr, "child %u: written %llu lost %llu errors %llu\n", p,
		        (unsigned long long)st.written, (unsigned long long)st.lost,
		        (unsigned long long)st.write_errors);
		return 4;
	}
	if (st.rotation_errors) {
		fprintf(stderr, "child %u: %llu rotation errors\n", p,
		        (unsigned long long)st.rotation_errors);
		return 5;
	}
	return 0;
}

START_TEST(shared_processes)
{
	char *path = tc_tmppath("app.log");
	char *dir = dirname(strdup(path));
	unsigned long n = tc_scale(1500, 150);
	pid_t pids[4];
	for (unsigned p = 0; p < 4; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0)
			_exit(shared_child(path, p, n));
	}
	for (unsigned p = 0; p < 4; p++) {
		int status;
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "process %u: status %d", p, status);
	}
	struct tc_tally ty = {0};
	size_t files;
	char **v = tc_dir_files(dir, "app", &files);
	size_t *sizes = calloc(files, sizeof(*sizes));
	ck_assert_ptr_nonnull(sizes);
	for (size_t i = 0; i < files; i++)
		(void)tc_tally_file(&ty, v[i], false, &sizes[i]);
	for (unsigned t = 0; t < 16; t++)
		tc_tally_expect(&ty, t, n);
	/* ~170-byte lines: the files hold them all, a bound's worth each. */
	ck_assert_uint_ge(files, ty.lines * 100 / SHARED_BOUND);
	for (size_t i = 0; i < files; i++) {
		ck_assert_msg(sizes[i] <= SHARED_BOUND, "%s: %zu bytes, past the bound", v[i],
		              sizes[i]);
		if (!tc_has_suffix(v[i], "/app.log"))
			ck_assert_msg(sizes[i] + ty.longest > SHARED_BOUND,
			              "%s: %zu bytes: rotated before it was full (twice for one "
			              "crossing?)", v[i], sizes[i]);
	}
	free(sizes);
	tc_dir_files_free(v, files);
	tc_tally_free(&ty);
	free(path);
	free(dir);
}
END_TEST

Suite *jlog_test_suite(void);
Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("rotation");
	TCase *tc = tcase_create("rotation");
	tcase_add_test(tc, size_rotation);
	tcase_add_test(tc, retention_count);
	tcase_add_test(tc, gzip_compression);
	tcase_add_test(tc, config_keys);
	tcase_add_test(tc, reopen_on_sighup);
	tcase_add_test(tc, rotation_error_counted);
	tcase_add_test(tc, zstd_compression);
	tcase_add_loop_test(tc, renamed_underneath, 0, 2);
	tcase_add_test(tc, plain_reopen_fails);
	tcase_add_test(tc, shared_processes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
