/*
 * Sinks under faults, and how log files are opened.
 *
 * Faults never reach the host: a reader that goes away (a real `head -1`),
 * a full device (/dev/full, a 64 KiB tmpfs), a file size limit
 * (RLIMIT_FSIZE, whose SIGXFSZ must not kill the process): each is
 * counted, reported once on stderr, the lines that could not be written
 * are counted as lost, no cut line is ever left in the file, and writing
 * resumes when space comes back. A slow reader, blocking or not, and a
 * writer interrupted by signals get every byte exactly once.
 *
 * Files: created 0640 (or file_mode), close-on-exec, a symbolic link
 * refused unless allowed, a missing directory reported as -ENOENT.
 *
 * The fault cases run in a child process (its stderr captured through a
 * pipe, its limits and mounts its own); a child checks with CHILD_CHECK,
 * never with ck_assert, whose failure would unwind into Check's loop in
 * the wrong process.
 */
#include "jlog-private.h"
#include "test-common.h"
#include "transport.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* ---- helpers -------------------------------------------------------------- */

#define CHILD_CHECK(cond, ...)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "CHECK FAILED at %s:%d: %s: ", __FILE__, \
			        __LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			_exit(1);                                              \
		}                                                              \
	} while (0)

#define PAD_MAX 8192
static char pad[PAD_MAX];

/* Every line of these tests comes from this one call site, so lines of the
 * same pad length and seq width have the same length. */
static void log_seq(jlog_logger *lg, int seq, size_t pad_len)
{
	JLOG_INFO(lg, "sink test", JLOG_INT("seq", seq), JLOG_STRN("pad", pad, pad_len));
}

static jlog_stats stats_of(jlog_logger *lg)
{
	jlog_stats st;
	int rc = jlog_get_stats(lg, &st);
	(void)rc;
	return st;
}

/* Read a whole descriptor until EOF into a NUL-terminated buffer. */
static char *read_all_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	for (;;) {
		if (n == cap) {
			char *p = realloc(buf, cap * 2 + 1);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static char *slurp_path(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *b = read_all_fd(fd, len);
	close(fd);
	return b;
}

/*
 * Check that @text (n bytes) is whole JSON lines, each an object with an
 * integer "seq"; store the seqs (up to @max) in @seqs. Returns NULL or what
 * is wrong (a static string).
 */
static const char *check_lines(const char *text, size_t n, long long *seqs, size_t max,
                               size_t *count)
{
	size_t k = 0;
	const char *p = text, *end = text + n;
	*count = 0;
	if (n > 0 && end[-1] != '\n')
		return "the output does not end with a newline (a cut line)";
	if (memchr(text, '\0', n))
		return "the output holds a NUL byte (a hole)";
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
		if (!j)
			return "a line is not valid JSON";
		json_t *seq = json_object_get(j, "seq");
		if (!json_is_object(j) || !json_is_integer(seq)) {
			json_decref(j);
			return "a line has no integer seq";
		}
		if (k < max)
			seqs[k] = json_integer_value(seq);
		k++;
		json_decref(j);
		p = nl + 1;
	}
	*count = k;
	return NULL;
}

static size_t count_substr(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Run @fn(@arg) in a child whose stderr is captured. Returns the wait
 * status; *err gets the stderr text (free it). */
static int run_child(int (*fn)(void *), void *arg, char **err)
{
	int ep[2];
	ck_assert_int_eq(pipe(ep), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ep[0]);
		dup2(ep[1], STDERR_FILENO);
		close(ep[1]);
		int rc = fn(arg);
		fflush(NULL);
		_exit(rc);
	}
	close(ep[1]);
	*err = read_all_fd(ep[0], NULL);
	close(ep[0]);
	ck_assert_ptr_nonnull(*err);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Assert the child exited 0 (true) or skipped (false, with a note). */
static bool child_passed(int status, const char *err, const char *what)
{
	ck_assert_msg(!WIFSIGNALED(status), "%s: child killed by signal %d; stderr:\n%s", what,
	              WIFSIGNALED(status) ? WTERMSIG(status) : 0, err);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == TC_SKIP) {
		fprintf(stderr, "sink: %s skipped: %s", what, err);
		return false;
	}
	ck_assert_msg(WEXITSTATUS(status) == 0, "%s: child exited %d; stderr:\n%s", what,
	              WEXITSTATUS(status), err);
	return true;
}

static jlog_logger *child_open(const char *sink)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = sink;
	jlog_logger *lg = NULL;
	int rc = jlog_open(&lg, &o);
	CHILD_CHECK(rc == 0, "jlog_open(%s): %s", sink, jlog_strerror(rc));
	return lg;
}

/* Reports of a failing sink on stderr: "jlog: sink ID (TARGET): writing
 * failed: ...". */
#define REPORT "jlog: sink "

/* ---- files ---------------------------------------------------------------- */

/* Created with file_mode exactly (umask 0), 0640 by default. */
START_TEST(test_file_mode)
{
	static const unsigned modes[] = {0640, 0600, 0644};
	mode_t old = umask(0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *path = tc_tmppath("mode.jsonl");
		jlog_options o;
		jlog_options_init(&o);
		if (i > 0)
			o.file_mode = modes[i];
		o.sink = path;
		jlog_logger *lg;
		ck_assert_int_eq(jlog_open(&lg, &o), 0);
		JLOG_INFO(lg, "mode");
		jlog_close(lg);
		struct stat sb;
		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert_uint_eq(sb.st_mode & 07777, modes[i]);
		free(path);
	}
	umask(old);
}
END_TEST

/* A missing directory is -ENOENT; nothing is created and *out is NULL. */
START_TEST(test_missing_directory)
{
	char *path = tc_tmppath("no-such-dir/log.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *lg = (jlog_logger *)0x1;
	ck_assert_int_eq(jlog_open(&lg, &o), -ENOENT);
	ck_assert_ptr_null(lg);
	/* The message names the path, from jlog_open() as from
	 * jlog_add_sink(). */
	ck_assert_msg(strstr(jlog_last_error(), path) != NULL, "\"%s\"", jlog_last_error());
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "no such file or directory"));
	o.sink = "/dev/null";
	o.allow_symlink = true;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = path;
	ck_assert_int_eq(jlog_add_sink(lg, &so), -ENOENT);
	ck_assert_msg(strstr(jlog_last_error(), path) != NULL, "\"%s\"", jlog_last_error());
	jlog_close(lg);
	free(path);
}
END_TEST

/* A FIFO without a reader: jlog_open() and jlog_add_sink() fail at once
 * with -ENXIO and say why (they used to wait for a reader forever: the
 * child's alarm catches that). With a reader, lines arrive. */
static int fifo_child(void *arg)
{
	const char *fifo = arg;
	alarm(10);
	jlog_options o;
	jlog_options_init(&o);
	o.sink = fifo;
	jlog_logger *lg = (jlog_logger *)0x1;
	int rc = jlog_open(&lg, &o);
	CHILD_CHECK(rc == -ENXIO && lg == NULL, "jlog_open: %d", rc);
	CHILD_CHECK(strstr(jlog_last_error(), fifo) && strstr(jlog_last_error(), "no reader"),
	            "message \"%s\"", jlog_last_error());
	lg = child_open("stderr");
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = fifo;
	rc = jlog_add_sink(lg, &so);
	CHILD_CHECK(rc == -ENXIO, "jlog_add_sink: %d", rc);
	CHILD_CHECK(strstr(jlog_last_error(), fifo) != NULL, "message \"%s\"", jlog_last_error());

	int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	CHILD_CHECK(rfd >= 0, "open reader: %s", strerror(errno));
	rc = jlog_add_sink(lg, &so);
	CHILD_CHECK(rc >= 0, "jlog_add_sink with a reader: %d %s", rc, jlog_last_error());
	JLOG_INFO(lg, "through the fifo", JLOG_INT("n", 7));
	CHILD_CHECK(jlog_flush(lg) == 0, "flush");
	char buf[4096];
	ssize_t n = read(rfd, buf, sizeof(buf) - 1);
	CHILD_CHECK(n > 0, "read: %zd", n);
	buf[n] = '\0';
	json_error_t je;
	json_t *line = json_loads(buf, JSON_DISABLE_EOF_CHECK, &je);
	CHILD_CHECK(line != NULL, "not JSON: %s", buf);
	CHILD_CHECK(strcmp(json_string_value(json_object_get(line, "message")),
	                   "through the fifo") == 0 &&
	                    json_integer_value(json_object_get(line, "n")) == 7,
	            "line %s", buf);
	json_decref(line);
	jlog_close(lg);
	close(rfd);
	return 0;
}

START_TEST(test_fifo_without_reader)
{
	char *fifo = tc_tmppath("log.fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	char *err;
	int status = run_child(fifo_child, fifo, &err);
	child_passed(status, err, "fifo");
	free(err);
	unlink(fifo);
	free(fifo);
}
END_TEST

/* jlog_sink_options.options: the transport's keys as JSON text, the same
 * keys and checks as a sink of jlog_open_config(). */
START_TEST(test_transport_options)
{
	mode_t old = umask(0);
	char *path = tc_tmppath("options.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/dev/null";
	o.allow_symlink = true;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = path;
	so.file_mode = 0644;
	so.options = "{\"file_mode\":\"600\"}"; /* overrides file_mode */
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);

	static const struct {
		const char *options, *error;
	} bad[] = {
		{"{\"file_mode\":600}", "options.file_mode: 600 is a number, and JSON numbers are "
		                        "decimal: write the mode as a string, \"0600\""},
		{"{\"file_mode\":\"0999\"}", "options.file_mode: \"0999\" is not an octal mode"},
		{"{\"allow_symlink\":1}",
		 "options.allow_symlink: expected true or false, got an integer"},
		{"{\"bogus\":1}", "options.bogus: unknown key (file_mode, allow_symlink, rotation, retention, compression, shared, "
		                  "framing, facility, app_name, msgid, hostname, connect_timeout_ms, "
		                  "reconnect_max_ms, buffer_size, max_datagram, socket, journal_json, "
		                  "identifier)"},
		{"[1]", "options: expected an object, got an array"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p2 = tc_tmppath("never.jsonl");
		so.sink = p2;
		so.options = bad[i].options;
		ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
		ck_assert_str_eq(jlog_last_error(), bad[i].error);
		ck_assert_int_ne(access(p2, F_OK), 0); /* nothing created */
		free(p2);
	}
	so.sink = path;
	so.options = "{\"file_mode";
	ck_assert_int_eq(jlog_add_sink(lg, &so), -EINVAL);
	ck_assert_ptr_nonnull(strstr(jlog_last_error(), "options: invalid JSON"));
	/* A file key on a stream is checked and ignored. */
	so.sink = "stderr";
	so.options = "{\"file_mode\":\"0600\"}";
	ck_assert_int_ge(jlog_add_sink(lg, &so), 0);
	jlog_close(lg);
	umask(old);
	free(path);
}
END_TEST

/* Run readlink /proc/self/fd/@fd in a child that execs; returns what it
 * printed (free it), "" when the descriptor was not inherited. */
static char *readlink_after_exec(int fd)
{
	int op[2];
	ck_assert_int_eq(pipe(op), 0);
	char arg[64];
	snprintf(arg, sizeof(arg), "/proc/self/fd/%d", fd);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(op[1], STDOUT_FILENO);
		close(op[0]);
		close(op[1]);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO);
		execl("/usr/bin/readlink", "readlink", arg, (char *)NULL);
		execl("/bin/readlink", "readlink", arg, (char *)NULL);
		_exit(127);
	}
	close(op[1]);
	char *out = read_all_fd(op[0], NULL);
	close(op[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!WIFEXITED(status) || WEXITSTATUS(status) != 127, "cannot run readlink");
	ck_assert_ptr_nonnull(out);
	return out;
}

/* The file is opened O_APPEND | O_CLOEXEC: a program the host execs does
 * not inherit the log. A dup without close-on-exec is inherited, which
 * shows the exec check can see an inherited descriptor. */
START_TEST(test_cloexec_append)
{
	if (access("/usr/bin/readlink", X_OK) != 0 && access("/bin/readlink", X_OK) != 0) {
		fprintf(stderr, "sink: no readlink, exec check skipped\n");
		return;
	}
	char *path = tc_tmppath("cloexec.jsonl");
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	int fd = tc_fd_of(path);
	ck_assert_int_ge(fd, 0);
	int fdflags = fcntl(fd, F_GETFD);
	ck_assert_int_ge(fdflags, 0);
	ck_assert(fdflags & FD_CLOEXEC);
	int flflags = fcntl(fd, F_GETFL);
	ck_assert(flflags & O_APPEND);
	ck_assert_int_eq(flflags & O_ACCMODE, O_WRONLY);

	char *out = readlink_after_exec(fd);
	ck_assert_msg(strstr(out, path) == NULL, "the exec'd child inherited the log: %s", out);
	free(out);

	int leaked = fcntl(fd, F_DUPFD, 100); /* no FD_CLOEXEC */
	ck_assert_int_ge(leaked, 0);
	out = readlink_after_exec(leaked);
	ck_assert_msg(strstr(out, path) != NULL, "control: a plain dup was not seen: %s", out);
	free(out);
	close(leaked);
	jlog_close(lg);
	free(path);
}
END_TEST

/* A log path that is a symbolic link is refused with -ELOOP, a dangling
 * one too (nothing is created at its target); allow_symlink accepts it.
 * A link among the directories is followed. */
START_TEST(test_symlink)
{
	char *target = tc_tmppath("target.jsonl");
	char *link = tc_tmppath("link.jsonl");
	char *dangling_target = tc_tmppath("never-created.jsonl");
	char *dangling = tc_tmppath("dangling.jsonl");
	FILE *f = fopen(target, "w");
	ck_assert_ptr_nonnull(f);
	fputs("precious\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(symlink(dangling_target, dangling), 0);

	jlog_options o;
	jlog_options_init(&o);
	ck_assert(!o.allow_symlink);
	jlog_logger *lg = (jlog_logger *)0x1;
	o.sink = link;
	ck_assert_int_eq(jlog_open(&lg, &o), -ELOOP);
	ck_assert_ptr_null(lg);
	o.sink = dangling;
	ck_assert_int_eq(jlog_open(&lg, &o), -ELOOP);
	ck_assert_int_ne(access(dangling_target, F_OK), 0);
	size_t n;
	char *text = tc_slurp(target, &n);
	ck_assert_str_eq(text, "precious\n");
	free(text);
	ck_assert_str_eq(jlog_strerror(-ELOOP), "too many levels of symbolic links");

	/* Allowed: the lines go to the target. */
	o.sink = link;
	o.allow_symlink = true;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	JLOG_INFO(lg, "through the link");
	jlog_close(lg);
	text = tc_slurp(target, &n);
	ck_assert_msg(strncmp(text, "precious\n{", 10) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "through the link"));
	free(text);

	/* A directory component that is a link is followed. */
	char *dir = strdup(target);
	*strrchr(dir, '/') = '\0';
	char *dirlink = tc_tmppath("dirlink");
	ck_assert_int_eq(symlink(dir, dirlink), 0);
	char via[PATH_MAX];
	snprintf(via, sizeof(via), "%s/via-dir.jsonl", dirlink);
	jlog_options_init(&o);
	o.sink = via;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	jlog_close(lg);

	free(dirlink);
	free(dir);
	free(target);
	free(link);
	free(dangling_target);
	free(dangling);
}
END_TEST

/* ---- faults --------------------------------------------------------------- */

/* Two failing sinks: each report says which one, by id and target. */
static int two_failing_child(void *arg)
{
	(void)arg;
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/dev/full";
	o.allow_symlink = true;
	jlog_logger *lg = NULL;
	CHILD_CHECK(jlog_open(&lg, &o) == 0, "open");
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = "/dev/full";
	so.serialize = false;
	CHILD_CHECK(jlog_add_sink(lg, &so) == 1, "add");
	JLOG_INFO(lg, "lost twice");
	jlog_flush(lg);
	jlog_close(lg);
	return 0;
}

START_TEST(test_two_failing_sinks)
{
	struct stat sb;
	if (stat("/dev/full", &sb) != 0 || !S_ISCHR(sb.st_mode)) {
		fprintf(stderr, "sink: no /dev/full, skipped\n");
		return;
	}
	char *err;
	int status = run_child(two_failing_child, NULL, &err);
	if (child_passed(status, err, "two failing sinks")) {
		ck_assert_msg(count_substr(err, REPORT "0 (file /dev/full): writing failed: no space "
		                                "left on device") == 1, "%s", err);
		ck_assert_msg(count_substr(err, REPORT "1 (file /dev/full): writing failed: no space "
		                                "left on device") == 1, "%s", err);
		ck_assert_uint_eq(count_substr(err, REPORT), 2);
	}
	free(err);
}
END_TEST

/* A sink added with catch_errors false: jlog_close() returns its error and
 * jlog_last_error() names the sink that failed. */
static int close_error_child(void *arg)
{
	(void)arg;
	jlog_options o;
	jlog_options_init(&o);
	o.sink = "/dev/null";
	o.allow_symlink = true;
	jlog_logger *lg = NULL;
	CHILD_CHECK(jlog_open(&lg, &o) == 0, "open");
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = "/dev/full";
	so.catch_errors = false;
	CHILD_CHECK(jlog_add_sink(lg, &so) == 1, "add");
	JLOG_INFO(lg, "cannot be written");
	int rc = jlog_close(lg);
	CHILD_CHECK(rc == -ENOSPC, "close returned the sink's error");
	CHILD_CHECK(strstr(jlog_last_error(), "jlog_close: sink 1 (file /dev/full) failed to "
	                                      "write: no space left on device") != NULL,
	            "message names the sink");
	return 0;
}

START_TEST(test_close_returns_sink_error)
{
	struct stat sb;
	if (stat("/dev/full", &sb) != 0 || !S_ISCHR(sb.st_mode)) {
		fprintf(stderr, "sink: no /dev/full, skipped\n");
		return;
	}
	char *err;
	int status = run_child(close_error_child, NULL, &err);
	child_passed(status, err, "close returns the sink error");
	free(err);
}
END_TEST

/* `prog | head -1`: the reader prints one line and goes away. The host
 * is not killed by SIGPIPE (default disposition), the failure is reported
 * once, logging goes on, and every line is written or counted lost. */
static int head_child(void *arg)
{
	(void)arg;
	int a[2], b[2];
	CHILD_CHECK(pipe(a) == 0 && pipe(b) == 0, "pipe");
	pid_t head = fork();
	CHILD_CHECK(head >= 0, "fork");
	if (head == 0) {
		dup2(a[0], STDIN_FILENO);
		dup2(b[1], STDOUT_FILENO);
		close(a[0]);
		close(a[1]);
		close(b[0]);
		close(b[1]);
		execlp("head", "head", "-n", "1", (char *)NULL);
		_exit(127);
	}
	close(a[0]);
	close(b[1]);
	dup2(a[1], STDOUT_FILENO);
	close(a[1]);
	signal(SIGPIPE, SIG_DFL);

	jlog_logger *lg = child_open("stdout");
	int n = (int)tc_scale(20000, 2000);
	for (int i = 0; i < n; i++)
		log_seq(lg, i, 100);
	jlog_flush(lg);
	/* head is gone by now: logging goes on, into the void. */
	int hs;
	CHILD_CHECK(waitpid(head, &hs, 0) == head, "waitpid head");
	CHILD_CHECK(WIFEXITED(hs) && WEXITSTATUS(hs) == 0, "head failed: %d", hs);
	for (int i = n; i < n + 10; i++)
		log_seq(lg, i, 100);
	jlog_flush(lg);
	jlog_stats st = stats_of(lg);
	jlog_close(lg);
	close(STDOUT_FILENO);

	CHILD_CHECK(st.logged == (uint64_t)n + 10, "logged %lu", (unsigned long)st.logged);
	CHILD_CHECK(st.write_errors >= 1, "no write error counted");
	CHILD_CHECK(st.lost >= 10, "lost %lu", (unsigned long)st.lost);
	CHILD_CHECK(st.written + st.lost == st.logged, "written %lu + lost %lu != logged %lu",
	            (unsigned long)st.written, (unsigned long)st.lost, (unsigned long)st.logged);

	size_t len;
	char *out = read_all_fd(b[0], &len);
	close(b[0]);
	long long seq[2];
	size_t count;
	const char *bad = check_lines(out, len, seq, 2, &count);
	CHILD_CHECK(!bad, "head's output: %s: %s", bad, out);
	CHILD_CHECK(count == 1 && seq[0] == 0, "head printed %zu lines: %s", count, out);
	free(out);
	return 0;
}

START_TEST(test_head_closes_pipe)
{
	char *err;
	int status = run_child(head_child, NULL, &err);
	if (child_passed(status, err, "head -1")) {
		ck_assert_msg(count_substr(err, REPORT "0 (stdout): writing failed: broken pipe") == 1,
		              "expected one report: %s", err);
		ck_assert_uint_eq(count_substr(err, REPORT), 1);
	}
	free(err);
}
END_TEST

/* /dev/full: every write fails with ENOSPC. Nothing is written, every line
 * is lost and counted, one report. */
static int devfull_child(void *arg)
{
	(void)arg;
	jlog_logger *lg = child_open("/dev/full");
	int n = 0;
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 100; i++)
			log_seq(lg, n++, (size_t)i * 10);
		jlog_flush(lg);
	}
	jlog_stats st = stats_of(lg);
	jlog_close(lg);
	CHILD_CHECK(st.logged == (uint64_t)n, "logged");
	CHILD_CHECK(st.written == 0 && st.bytes_written == 0, "written %lu",
	            (unsigned long)st.written);
	CHILD_CHECK(st.lost == (uint64_t)n, "lost %lu of %d", (unsigned long)st.lost, n);
	CHILD_CHECK(st.write_errors >= 5, "write_errors %lu", (unsigned long)st.write_errors);
	return 0;
}

START_TEST(test_dev_full)
{
	struct stat sb;
	if (stat("/dev/full", &sb) != 0 || !S_ISCHR(sb.st_mode)) {
		fprintf(stderr, "sink: no /dev/full, skipped\n");
		return;
	}
	char *err;
	int status = run_child(devfull_child, NULL, &err);
	if (child_passed(status, err, "/dev/full")) {
		ck_assert_msg(count_substr(err, REPORT "0 (file /dev/full): writing failed: no space left on device") == 1,
		              "expected one report: %s", err);
		ck_assert_uint_eq(count_substr(err, REPORT), 1);
	}
	free(err);
}
END_TEST

/*
 * A file size limit (RLIMIT_FSIZE): a write that crosses it is cut short,
 * the next fails with EFBIG and raises SIGXFSZ (default action: kill). The
 * host lives, the cut line is truncated away (never the file's older
 * content, even though it ends without a newline), the whole lines of the
 * cut write count as written, and writing resumes when the limit goes up.
 *
 * @arg selects the sink: a file sink (O_APPEND), or stdout redirected to a
 * file with '>' (no O_APPEND: the offset must be moved back too, or the
 * next line would leave a hole of NUL bytes).
 */
#define OLD "OLD-PARTIAL"
#define OLD_LEN (sizeof(OLD) - 1)
#define SEQ0 1000 /* four-digit seqs: every line has the same length */

struct fsize_case {
	bool via_stdout;
	char *path;
};

static void set_fsize(rlim_t soft)
{
	struct rlimit rl;
	CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0, "getrlimit");
	rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
	CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit: %s", strerror(errno));
}

static off_t size_of(const char *path)
{
	struct stat sb;
	CHILD_CHECK(stat(path, &sb) == 0, "stat");
	return sb.st_size;
}

static int fsize_child(void *arg)
{
	struct fsize_case *fc = arg;
	int fd = open(fc->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	CHILD_CHECK(fd >= 0, "open");
	CHILD_CHECK(write(fd, OLD, OLD_LEN) == (ssize_t)OLD_LEN, "write");
	jlog_logger *lg;
	if (fc->via_stdout) {
		dup2(fd, STDOUT_FILENO);
		lg = child_open("stdout");
	} else {
		lg = child_open(fc->path);
	}
	close(fd);
	struct jlog_sink *sink = jlog__first_sink(lg->core);
	const size_t pad_len = 200;
	int seq = SEQ0;

	/* a) Room for 50 more bytes: the write is cut inside the first line;
	 * the file goes back to exactly its old content. */
	set_fsize(OLD_LEN + 50);
	log_seq(lg, seq++, pad_len);
	jlog_flush(lg);
	jlog_stats st = stats_of(lg);
	size_t n;
	char *text = slurp_path(fc->path, &n);
	CHILD_CHECK(text && n == OLD_LEN && memcmp(text, OLD, OLD_LEN) == 0,
	            "old content changed: %zu bytes: %.100s", n, text ? text : "");
	free(text);
	CHILD_CHECK(st.written == 0 && st.lost == 1 && st.write_errors >= 1, "a: stats");
	CHILD_CHECK(sink->cuts_removed == 1, "a: cuts %lu", (unsigned long)sink->cuts_removed);

	/* b) No limit: lines are written again. */
	set_fsize(RLIM_INFINITY);
	for (int i = 0; i < 10; i++)
		log_seq(lg, seq++, pad_len);
	jlog_flush(lg);
	st = stats_of(lg);
	CHILD_CHECK(st.written == 10 && st.lost == 1, "b: written %lu", (unsigned long)st.written);
	off_t line_len = (size_of(fc->path) - (off_t)OLD_LEN) / 10;

	/* c) Room for 1000 bytes: the whole lines that fit are kept and
	 * counted as written, the cut one is removed. */
	off_t limit = size_of(fc->path) + 1000;
	set_fsize((rlim_t)limit);
	uint64_t cuts = sink->cuts_removed;
	for (int i = 0; i < 20; i++)
		log_seq(lg, seq++, pad_len);
	jlog_flush(lg);
	st = stats_of(lg);
	CHILD_CHECK(size_of(fc->path) <= limit && size_of(fc->path) > limit - line_len,
	            "c: size %ld, limit %ld", (long)size_of(fc->path), (long)limit);
	CHILD_CHECK(st.written == 10 + (uint64_t)(1000 / line_len), "c: written %lu (line %ld)",
	            (unsigned long)st.written, (long)line_len);
	CHILD_CHECK(st.written + st.lost == st.logged, "c: accounts");
	CHILD_CHECK(sink->cuts_removed > cuts, "c: no cut removed");

	/* d) Room for less than a line, several batches: every one is cut
	 * and removed, nothing is added, still one report. */
	off_t before = size_of(fc->path);
	set_fsize((rlim_t)before + 100);
	cuts = sink->cuts_removed;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++)
			log_seq(lg, seq++, pad_len);
		jlog_flush(lg);
	}
	CHILD_CHECK(size_of(fc->path) == before, "d: size changed");
	CHILD_CHECK(sink->cuts_removed >= cuts + 3, "d: cuts %lu", (unsigned long)sink->cuts_removed);

	/* e) The limit goes away: writing resumes. */
	set_fsize(RLIM_INFINITY);
	int resumed = seq;
	for (int i = 0; i < 30; i++)
		log_seq(lg, seq++, pad_len);
	jlog_flush(lg);
	st = stats_of(lg);
	jlog_close(lg);
	if (fc->via_stdout)
		close(STDOUT_FILENO);

	CHILD_CHECK(st.logged == (uint64_t)(seq - SEQ0), "logged");
	CHILD_CHECK(st.written + st.lost == st.logged, "written %lu + lost %lu != logged %lu",
	            (unsigned long)st.written, (unsigned long)st.lost, (unsigned long)st.logged);
	text = slurp_path(fc->path, &n);
	CHILD_CHECK(text && n > OLD_LEN && memcmp(text, OLD, OLD_LEN) == 0, "old content");
	long long seqs[256];
	size_t count;
	const char *bad = check_lines(text + OLD_LEN, n - OLD_LEN, seqs, 256, &count);
	CHILD_CHECK(!bad, "%s", bad);
	CHILD_CHECK(count == st.written, "%zu lines in the file, %lu written", count,
	            (unsigned long)st.written);
	CHILD_CHECK(st.bytes_written == n - OLD_LEN, "bytes_written %lu, file %zu",
	            (unsigned long)st.bytes_written, n - OLD_LEN);
	for (size_t i = 1; i < count; i++)
		CHILD_CHECK(seqs[i] > seqs[i - 1], "seqs out of order");
	for (int i = 0; i < 30; i++)
		CHILD_CHECK(seqs[count - 30 + (size_t)i] == resumed + i, "e: seq %d missing", resumed + i);
	free(text);
	return 0;
}

static void run_fsize(bool via_stdout)
{
	struct fsize_case fc = {.via_stdout = via_stdout, .path = tc_tmppath("fsize.jsonl")};
	char *err;
	int status = run_child(fsize_child, &fc, &err);
	if (child_passed(status, err, via_stdout ? "RLIMIT_FSIZE (stdout)" : "RLIMIT_FSIZE")) {
		/* One report for a), one for c)-d): b) recovered in between. */
		ck_assert_msg(count_substr(err, "failed: file too large") == 2,
		              "expected two reports: %s", err);
		ck_assert_uint_eq(count_substr(err, REPORT), 2);
	}
	free(err);
	free(fc.path);
}

START_TEST(test_fsize_limit_file)
{
	run_fsize(false);
}
END_TEST

START_TEST(test_fsize_limit_stdout)
{
	run_fsize(true);
}
END_TEST

/*
 * A full file system: a 64 KiB tmpfs in a private mount namespace (skipped
 * where that is not allowed). Lines longer than a page cannot fit in the
 * room left in the log's last page, so the first failing write is cut
 * short (then ENOSPC) whatever the exact sizes: the cut is removed. When
 * space comes back, writing resumes.
 */
static int tmpfs_child(void *arg)
{
	(void)arg;
	if (unshare(CLONE_NEWNS) != 0) {
		fprintf(stderr, "unshare(CLONE_NEWNS): %s\n", strerror(errno));
		return TC_SKIP;
	}
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) {
		fprintf(stderr, "mount --make-rprivate /: %s\n", strerror(errno));
		return TC_SKIP;
	}
	char dir[] = "/tmp/jlog-tmpfs-XXXXXX";
	CHILD_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") != 0) {
		fprintf(stderr, "mount tmpfs: %s\n", strerror(errno));
		rmdir(dir);
		return TC_SKIP;
	}
	char path[PATH_MAX], filler[PATH_MAX];
	snprintf(path, sizeof(path), "%s/log.jsonl", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);

	jlog_logger *lg = child_open(path);
	struct jlog_sink *sink = jlog__first_sink(lg->core);
	int seq = 0;
	/* 1) Some short lines; the log must not end on a page boundary. */
	for (int i = 0; i < 20; i++)
		log_seq(lg, seq++, 200);
	jlog_flush(lg);
	while (size_of(path) % 4096 == 0) {
		log_seq(lg, seq++, 10);
		jlog_flush(lg);
	}
	jlog_stats st = stats_of(lg);
	uint64_t phase1 = st.written;
	off_t size1 = size_of(path);
	CHILD_CHECK(st.lost == 0 && phase1 == (uint64_t)seq, "1: stats");

	/* Fill the rest of the file system. */
	int ffd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHILD_CHECK(ffd >= 0, "open filler");
	char page[4096];
	memset(page, 'f', sizeof(page));
	while (write(ffd, page, sizeof(page)) > 0)
		;
	CHILD_CHECK(errno == ENOSPC, "filler: %s", strerror(errno));
	close(ffd);

	/* 2) Long lines: none fits; each failing write is cut and removed. */
	int phase2 = seq;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++)
			log_seq(lg, seq++, 5000);
		jlog_flush(lg);
	}
	st = stats_of(lg);
	CHILD_CHECK(size_of(path) == size1, "2: size %ld, was %ld", (long)size_of(path), (long)size1);
	CHILD_CHECK(st.written == phase1 && st.lost == 30, "2: written %lu lost %lu",
	            (unsigned long)st.written, (unsigned long)st.lost);
	CHILD_CHECK(st.write_errors >= 3, "2: write_errors %lu", (unsigned long)st.write_errors);
	CHILD_CHECK(sink->cuts_removed >= 1, "2: no cut removed");

	/* 3) Space comes back: writing resumes, no new report. */
	CHILD_CHECK(unlink(filler) == 0, "unlink");
	int phase3 = seq;
	for (int i = 0; i < 20; i++)
		log_seq(lg, seq++, i % 2 ? 200 : 3000);
	jlog_flush(lg);
	st = stats_of(lg);
	jlog_close(lg);

	size_t n;
	char *text = slurp_path(path, &n);
	CHILD_CHECK(text, "read log");
	long long seqs[128];
	size_t count;
	const char *bad = check_lines(text, n, seqs, 128, &count);
	CHILD_CHECK(!bad, "%s", bad);
	free(text);
	CHILD_CHECK(count == st.written && st.written == phase1 + 20, "%zu lines, written %lu",
	            count, (unsigned long)st.written);
	CHILD_CHECK(st.written + st.lost == st.logged, "accounts");
	for (size_t i = 0; i < count; i++) {
		long long want = i < phase1 ? (long long)i : phase3 + (long long)(i - phase1);
		CHILD_CHECK(seqs[i] == want, "line %zu has seq %lld, want %lld", i, seqs[i], want);
	}
	(void)phase2;
	umount(dir);
	rmdir(dir);
	return 0;
}

START_TEST(test_tmpfs_full)
{
	if (geteuid() != 0) {
		fprintf(stderr, "sink: tmpfs case needs root, skipped\n");
		return;
	}
	char *err;
	int status = run_child(tmpfs_child, NULL, &err);
	if (child_passed(status, err, "tmpfs full")) {
		ck_assert_msg(count_substr(err, "failed: no space left on device") == 1,
		              "expected one report: %s", err);
		ck_assert_uint_eq(count_substr(err, REPORT), 1);
	}
	free(err);
}
END_TEST

/* ---- slow readers and interrupted writes ------------------------------------ */

struct reader {
	int fd;
	unsigned seed;
	char *buf;
	size_t len;
};

/* Read in small chunks of random size, pausing now and then, until EOF. */
static void *slow_reader(void *arg)
{
	struct reader *r = arg;
	size_t cap = 1 << 20;
	r->buf = malloc(cap);
	r->len = 0;
	unsigned reads = 0;
	for (;;) {
		size_t want = 1 + (size_t)(rand_r(&r->seed) % 700);
		if (r->len + want > cap) {
			cap *= 2;
			r->buf = realloc(r->buf, cap);
		}
		if (!r->buf)
			return NULL;
		ssize_t n = read(r->fd, r->buf + r->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r->len += (size_t)n;
		if (++reads % 16 == 0) {
			struct timespec ts = {0, 50 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* Every line of @r's bytes parses and the seqs are exactly 0..n-1. */
static void check_seq_stream(const struct reader *r, unsigned long n)
{
	ck_assert_ptr_nonnull(r->buf);
	long long *seqs = malloc(n * sizeof(*seqs));
	ck_assert_ptr_nonnull(seqs);
	size_t count;
	const char *bad = check_lines(r->buf, r->len, seqs, n, &count);
	ck_assert_msg(!bad, "%s", bad);
	ck_assert_uint_eq(count, n);
	for (size_t i = 0; i < n; i++)
		if (seqs[i] != (long long)i)
			ck_abort_msg("line %zu has seq %lld", i, seqs[i]);
	free(seqs);
}

/* A FIFO with a slow reader and a one-page pipe buffer: the writer blocks,
 * or (@nonblock, as when the application made the descriptor non-blocking)
 * gets EAGAIN and short writes. No byte is lost or doubled. */
static void slow_fifo(bool nonblock)
{
	char *path = tc_tmppath("fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	struct reader r = {.seed = nonblock ? 7u : 3u};
	r.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(r.fd, 0);
	ck_assert_int_eq(fcntl(r.fd, F_SETFL, 0), 0); /* blocking reads */
	ck_assert_int_ge(fcntl(r.fd, F_SETPIPE_SZ, 4096), 4096);

	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	if (nonblock) {
		int fd = tc_fd_of(path);
		ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	}
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, slow_reader, &r), 0);
	unsigned long n = tc_scale(20000, 1000);
	for (unsigned long i = 0; i < n; i++)
		log_seq(lg, (int)i, (i * 37) % 600);
	jlog_close(lg); /* drains, then closes the write end: EOF */
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	close(r.fd);

	check_seq_stream(&r, n);
	free(r.buf);
	unlink(path);
	free(path);
}

START_TEST(test_slow_reader_blocking)
{
	slow_fifo(false);
}
END_TEST

START_TEST(test_slow_reader_nonblocking)
{
	slow_fifo(true);
}
END_TEST

/* The counters after a slow reader: nothing lost, no error. */
START_TEST(test_slow_reader_stats)
{
	char *path = tc_tmppath("fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	struct reader r = {.seed = 11u};
	r.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(r.fd, 0);
	ck_assert_int_eq(fcntl(r.fd, F_SETFL, 0), 0);
	ck_assert_int_ge(fcntl(r.fd, F_SETPIPE_SZ, 4096), 4096);
	jlog_options o;
	jlog_options_init(&o);
	o.sink = path;
	jlog_logger *lg;
	ck_assert_int_eq(jlog_open(&lg, &o), 0);
	int fd = tc_fd_of(path);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, slow_reader, &r), 0);
	unsigned long n = tc_scale(5000, 500);
	for (unsigned long i = 0; i < n; i++)
		log_seq(lg, (int)i, (i * 13) % 300);
	jlog_flush(lg);
	jlog_stats st = stats_of(lg);
	jlog_close(lg);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	close(r.fd);
	ck_assert_uint_eq(st.written, n);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.write_errors, 0);
	ck_assert_uint_eq(st.bytes_written, r.len);
	free(r.buf);
	unlink(path);
	free(path);
}
END_TEST

static atomic_uint interrupts;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&interrupts, 1, memory_order_relaxed);
}

struct drain_job {
	struct jlog_sink *sink;
	int wfd;
	ssize_t result;
	atomic_bool done;
};

static void *drain_thread(void *arg)
{
	struct drain_job *j = arg;
	j->result = jlog__sink_drain(j->sink);
	close(j->wfd);
	atomic_store(&j->done, true);
	return NULL;
}

/* The sink's write loop, interrupted: a handler installed without
 * SA_RESTART makes a blocked pipe write return a short count or fail with
 * EINTR. (The writer thread blocks every signal; this drives the same
 * code from a thread that does not.) Every byte arrives exactly once. */
START_TEST(test_eintr_and_short_writes)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);

	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(fcntl(p[0], F_SETPIPE_SZ, 4096), 4096);
	struct jlog_sink *s;
	struct jlog_transport *tp;
	ck_assert_int_eq(jlog__transport_stream_fd(&tp, p[1]), 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	ck_assert_int_eq(jlog__sink_create_on(&s, &so, tp), 0);
	unsigned long n = tc_scale(20000, 1000);
	char line[1024];
	for (unsigned long i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "{\"seq\":%lu,\"pad\":\"%.*s\"}\n", i,
		                   (int)((i * 31) % 700), pad);
		jlog__buf_put(&s->out, line, (size_t)len);
	}
	ck_assert(!s->out.failed);
	size_t total = s->out.len;
	char *expect = malloc(total);
	ck_assert_ptr_nonnull(expect);
	memcpy(expect, s->out.p, total);

	struct reader r = {.fd = p[0], .seed = 5u};
	struct drain_job job = {.sink = s, .wfd = p[1]};
	atomic_init(&job.done, false);
	atomic_store(&interrupts, 0);
	pthread_t rt, wt;
	ck_assert_int_eq(pthread_create(&rt, NULL, slow_reader, &r), 0);
	ck_assert_int_eq(pthread_create(&wt, NULL, drain_thread, &job), 0);
	while (!atomic_load(&job.done)) {
		pthread_kill(wt, SIGUSR1);
		struct timespec ts = {0, 100 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(pthread_join(wt, NULL), 0);
	ck_assert_int_eq(pthread_join(rt, NULL), 0);
	close(p[0]);
	ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);

	ck_assert_msg(atomic_load(&interrupts) > 0, "no signal was delivered");
	ck_assert_int_eq(job.result, (ssize_t)total);
	ck_assert_uint_eq(s->write_errors, 0);
	ck_assert_uint_eq(r.len, total);
	ck_assert(memcmp(r.buf, expect, total) == 0);
	check_seq_stream(&r, n);
	fprintf(stderr, "sink: %u interrupts over %zu bytes\n", atomic_load(&interrupts), total);
	free(expect);
	free(r.buf);
	jlog__sink_destroy(s);
}
END_TEST

/* ---- the registry --------------------------------------------------------- */

static void drop_line(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	(void)user;
}

/* transports.def's claims: exact words, prefixes, every other string a
 * path; the callback by its function; every kind complete. */
START_TEST(test_registry)
{
	static const struct {
		const char *sink;
		const struct jlog__transport_ops *kind;
	} cases[] = {
		{NULL, &jlog__transport_stream},
		{"stderr", &jlog__transport_stream},
		{"stdout", &jlog__transport_stream},
		{"tcp://127.0.0.1:514", &jlog__transport_net},
		{"udp://[::1]:514", &jlog__transport_net},
		{"unix:/dev/log", &jlog__transport_net},
		{"unixgram:/dev/log", &jlog__transport_net},
		{"journald", &jlog__transport_journald},
		/* Exact words are not prefixes, prefixes are not words. */
		{"journald.log", &jlog__transport_rotate},
		{"stderr2", &jlog__transport_rotate},
		{"tcp:/", &jlog__transport_rotate},
		{"unix", &jlog__transport_rotate},
		{"/var/log/app.jsonl", &jlog__transport_rotate},
		{"app.log", &jlog__transport_rotate},
	};
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		so.sink = cases[i].sink;
		ck_assert_msg(jlog__transport_find(&so) == cases[i].kind, "%s: kind %s",
		              cases[i].sink ? cases[i].sink : "NULL",
		              jlog__transport_find(&so)->kind);
	}
	so.sink = "tcp://127.0.0.1:514";
	so.write = drop_line;
	ck_assert_ptr_eq(jlog__transport_find(&so), &jlog__transport_callback);

	const struct jlog__transport_ops *const kinds[] = {
#define JLOG_TRANSPORT(name, claims) &jlog__transport_##name,
#include "transports.def"
#undef JLOG_TRANSPORT
	};
	ck_assert_uint_eq(sizeof(kinds) / sizeof(kinds[0]), 6);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct jlog__transport_ops *k = kinds[i];
		ck_assert_ptr_nonnull(k->kind);
		ck_assert_msg(k->open && k->write && k->describe && k->close, "%s lacks an operation",
		              k->kind);
		ck_assert_msg((k->opts == NULL) == (k->opts_size == 0), "%s: opts and opts_size",
		              k->kind);
	}
}
END_TEST

Suite *jlog_test_suite(void)
{
	memset(pad, 'x', sizeof(pad));
	Suite *s = suite_create("sink");
	TCase *tc = tcase_create("files");
	tcase_add_test(tc, test_file_mode);
	tcase_add_test(tc, test_missing_directory);
	tcase_add_test(tc, test_cloexec_append);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_fifo_without_reader);
	tcase_add_test(tc, test_transport_options);
	tcase_add_test(tc, test_registry);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_head_closes_pipe);
	tcase_add_test(tc, test_dev_full);
	tcase_add_test(tc, test_two_failing_sinks);
	tcase_add_test(tc, test_close_returns_sink_error);
	tcase_add_test(tc, test_fsize_limit_file);
	tcase_add_test(tc, test_fsize_limit_stdout);
	tcase_add_test(tc, test_tmpfs_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("slow");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_slow_reader_blocking);
	tcase_add_test(tc, test_slow_reader_nonblocking);
	tcase_add_test(tc, test_slow_reader_stats);
	tcase_add_test(tc, test_eintr_and_short_writes);
	suite_add_tcase(s, tc);
	return s;
}
