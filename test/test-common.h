/* Helpers shared by the test suites. */
#ifndef JLOG_TEST_COMMON_H
#define JLOG_TEST_COMMON_H

#include "jlog.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* TC_TSAN: built with ThreadSanitizer (which cannot follow some forks). */
#if defined(__SANITIZE_THREAD__)
#define TC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TC_TSAN 1
#endif
#endif

/* Each test-<concern>.c defines the suite its executable runs. */
Suite *jlog_test_suite(void);

/*
 * Scale a stress test's iteration count down under slow tools: the
 * valgrind test setup and tools/test.sh's TSan run set JLOG_TEST_DIVISOR.
 * The result is never below @min.
 */
static inline unsigned long tc_scale(unsigned long n, unsigned long min)
{
	const char *d = getenv("JLOG_TEST_DIVISOR");
	unsigned long div = d ? strtoul(d, NULL, 10) : 1;
	if (div > 1)
		n /= div;
	return n < min ? min : n;
}

/* Exit status that tells meson a test was skipped. */
#define TC_SKIP 77

/* A fresh path in a new private temporary directory; free() it. The
 * directory is left for the OS to clean (tests run under /tmp). */
static inline char *tc_tmppath(const char *name)
{
	char dir[] = "/tmp/jlog-test-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	ck_assert_ptr_nonnull(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/*
 * Checks run once per line of a large output: ck_abort only on failure.
 * A passing ck_assert writes a record to Check's message file, which Check
 * reads back after the test (a forked child's checks land there too); per
 * line, that costs more than the check.
 */
#define TC_CHECK_MSG(c, ...)                                                            \
	do {                                                                            \
		if (!(c))                                                               \
			ck_abort_msg(__VA_ARGS__);                                      \
	} while (0)
#define TC_CHECK(c) TC_CHECK_MSG(c, "check failed: %s", #c)
#define TC_CHECK_INT_EQ(a, b)                                                           \
	do {                                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);                     \
		if (a_ != b_)                                                           \
			ck_abort_msg("%s == %s: %lld != %lld", #a, #b, a_, b_);         \
	} while (0)
#define TC_CHECK_STR_EQ(a, b)                                                           \
	do {                                                                            \
		const char *a_ = (a), *b_ = (b);                                        \
		if (strcmp(a_, b_) != 0)                                                \
			ck_abort_msg("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_);     \
	} while (0)

/* Read a whole file; *len gets its size. free() the result. */
static inline char *tc_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ck_assert_ptr_nonnull(buf);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/*
 * Parse every line of @text (n bytes) with jansson. Each line must be one
 * JSON object and the text must end with '\n'. Returns an array of new
 * references (free with tc_free_lines); *count gets the number of lines.
 */
static inline json_t **tc_parse_lines_n(const char *text, size_t n, size_t *count)
{
	size_t cap = 64, k = 0;
	json_t **lines = malloc(cap * sizeof(*lines));
	ck_assert_ptr_nonnull(lines);
	const char *p = text, *end = text + n;
	ck_assert_msg(n == 0 || end[-1] == '\n', "output does not end with a newline");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t err;
		json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
		TC_CHECK_MSG(j != NULL, "line %zu is not valid JSON (%s at %d): %.*s", k + 1,
		             err.text, err.position, (int)((nl - p) > 300 ? 300 : (nl - p)), p);
		TC_CHECK_MSG(json_is_object(j), "line %zu is not an object", k + 1);
		if (k == cap) {
			cap *= 2;
			lines = realloc(lines, cap * sizeof(*lines));
			TC_CHECK_MSG(lines != NULL, "out of memory at line %zu", k + 1);
		}
		lines[k++] = j;
		p = nl + 1;
	}
	*count = k;
	return lines;
}

/* Same, for a file. */
static inline json_t **tc_parse_file(const char *path, size_t *count)
{
	size_t n;
	char *text = tc_slurp(path, &n);
	json_t **lines = tc_parse_lines_n(text, n, count);
	free(text);
	return lines;
}

static inline void tc_free_lines(json_t **lines, size_t count)
{
	for (size_t i = 0; i < count; i++)
		json_decref(lines[i]);
	free(lines);
}

/* The lines of a file, which must number @want; free them with
 * tc_free_lines(lines, want). */
static inline json_t **tc_file_lines(const char *path, size_t want)
{
	size_t n;
	json_t **lines = tc_parse_file(path, &n);
	ck_assert_msg(n == want, "%s: %zu lines, want %zu", path, n, want);
	return lines;
}

/* The file holds @want lines, each a JSON object. */
static inline void tc_assert_line_count(const char *path, size_t want)
{
	tc_free_lines(tc_file_lines(path, want), want);
}

/* The file holds one line per message given (NULL ends the list), in
 * order, each with that "message". */
static inline void tc_assert_messages(const char *path, ...) __attribute__((sentinel));
static inline void tc_assert_messages(const char *path, ...)
{
	va_list ap;
	size_t want = 0;
	va_start(ap, path);
	while (va_arg(ap, const char *))
		want++;
	va_end(ap);
	json_t **lines = tc_file_lines(path, want);
	va_start(ap, path);
	for (size_t i = 0; i < want; i++) {
		const char *msg = va_arg(ap, const char *);
		const char *got = json_string_value(json_object_get(lines[i], "message"));
		ck_assert_msg(got && strcmp(got, msg) == 0, "%s, line %zu: message \"%s\", want \"%s\"",
		              path, i + 1, got ? got : "(none)", msg);
	}
	va_end(ap);
	tc_free_lines(lines, want);
}

/* The file's whole text is @want. */
static inline void tc_assert_file_text(const char *path, const char *want)
{
	char *text = tc_slurp(path, NULL);
	ck_assert_str_eq(text, want);
	free(text);
}

/*
 * The children the logger-name tests log through: "db", its child
 * "db.pool", and "dbx", which starts like "db" without being under it.
 * tc_children_close() closes them; the root is the caller's.
 */
struct tc_children {
	jlog_logger *db, *pool, *dbx;
};

static inline struct tc_children tc_children_open(jlog_logger *root)
{
	struct tc_children c;
	c.db = jlog_named(root, "db");
	c.pool = jlog_named(c.db, "pool");
	c.dbx = jlog_named(root, "dbx");
	ck_assert_ptr_nonnull(c.db);
	ck_assert_ptr_nonnull(c.pool);
	ck_assert_ptr_nonnull(c.dbx);
	return c;
}

static inline void tc_children_close(struct tc_children *c)
{
	jlog_close(c->pool);
	jlog_close(c->db);
	jlog_close(c->dbx);
}

/* The descriptor this process has open for writing on @path (a file
 * sink's, say), or -1: found in /proc/self/fd, since a transport keeps its
 * descriptor to itself. */
static inline int tc_fd_of(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int found = -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char link[64], target[4096];
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		int fl = fcntl(fd, F_GETFL);
		if (strcmp(target, path) == 0 && fl >= 0 && (fl & O_ACCMODE) == O_WRONLY)
			found = fd;
	}
	closedir(d);
	return found;
}

/* Run @fn in a forked child whose stdout and stderr go to @out and @err
 * (NULL: /dev/null), with the environment's jlog variables cleared and
 * the colors' variables unset, then @env ("NAME=value" pairs, NULL
 * ended) set. The child exits with 0 through exit(), so the default
 * logger is drained; anything else fails the test. Out of line, as a
 * function of its own, so that what the caller holds stays in its frame,
 * where the child's leak check (valgrind follows the fork) finds it. */
static __attribute__((unused, noinline)) void
tc_run_child(void (*fn)(void), const char *out, const char *err, const char *const *env)
{
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(90);
		close(o);
		close(e);
		static const char *const clear[] = {"JLOG_CONFIG", "JLOG_LEVEL", "JLOG_SINK",
		                                    "JLOG_FORMAT", "JLOG_SERIALIZE", "JLOG_COLORIZE",
		                                    "NO_COLOR", "FORCE_COLOR"};
		for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
			unsetenv(clear[i]);
		for (size_t i = 0; env && env[i]; i++)
			if (putenv((char *)env[i]) != 0)
				_exit(91);
		fn();
		exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}

#endif
