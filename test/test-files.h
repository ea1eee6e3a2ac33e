/*
 * Helpers of the file tests that log through the logger while files are
 * rotated, renamed or truncated underneath: threads that log numbered
 * lines until told to stop, and a tally that reads every file (gz and zst
 * ones decompressed) and checks each line is whole and seen once.
 */
#ifndef JLOG_TEST_FILES_H
#define JLOG_TEST_FILES_H

#include "test-common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

/* Lines carry "t" (a writer's number, < TC_WRITERS) and "seq" (its
 * count, from 0). */
#define TC_WRITERS 16

/* ---- Threads logging numbered lines ---- */

struct tc_writer {
	pthread_t th;
	jlog_logger *lg;
	unsigned t;
	unsigned long max;   /* stop after this many lines */
	unsigned long done;  /* lines logged, valid after tc_writers_stop() */
	atomic_bool *stop;   /* or when this reads true (may be NULL) */
	unsigned pace;       /* sleep 1 ms every @pace lines; 0 never */
};

static void *tc_writer_main(void *arg)
{
	struct tc_writer *w = arg;
	unsigned long i = 0;
	for (; i < w->max; i++) {
		if (w->stop && atomic_load(w->stop))
			break;
		JLOG_INFO(w->lg, "a numbered line", JLOG_INT("t", (long long)w->t),
		          JLOG_INT("seq", (long long)i), JLOG_STR("pad", "0123456789abcdef"));
		if (w->pace && i % w->pace == w->pace - 1)
			usleep(1000);
	}
	w->done = i;
	return NULL;
}

/* Start @n threads numbered @first.. on @lg. */
static inline void tc_writers_start(struct tc_writer *w, unsigned n, jlog_logger *lg,
                                    unsigned first, unsigned long max, atomic_bool *stop,
                                    unsigned pace)
{
	for (unsigned i = 0; i < n; i++) {
		w[i] = (struct tc_writer){.lg = lg, .t = first + i, .max = max, .stop = stop,
		                          .pace = pace};
		ck_assert_int_eq(pthread_create(&w[i].th, NULL, tc_writer_main, &w[i]), 0);
	}
}

static inline void tc_writers_join(struct tc_writer *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(w[i].th, NULL), 0);
}

/* Poll until @lg has written at least @lines (a generous deadline: the
 * machine may be slow, never a timing assertion). */
static inline void tc_wait_written(jlog_logger *lg, uint64_t lines)
{
	jlog_stats st = {0};
	for (int i = 0; i < 30000; i++) {
		jlog_get_stats(lg, &st);
		if (st.written >= lines)
			return;
		usleep(1000);
	}
	ck_abort_msg("the writer wrote %llu lines, want %llu", (unsigned long long)st.written,
	             (unsigned long long)lines);
}

/* Poll until @path exists and is not empty (deadline 30 s). */
static inline void tc_wait_nonempty(const char *path)
{
	struct stat st;
	for (int i = 0; i < 30000; i++) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return;
		usleep(1000);
	}
	ck_abort_msg("%s: still empty or missing after 30 s", path);
}

/* ---- Reading the files back ---- */

static inline bool tc_has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* A file's text; .gz and .zst are decompressed (gzip -dc, zstd -dc).
 * free() it. */
static inline char *tc_file_text(const char *path, size_t *len)
{
	const char *tool = tc_has_suffix(path, ".gz")    ? "gzip -dc"
	                   : tc_has_suffix(path, ".zst") ? "zstd -dcq"
	                                                 : NULL;
	if (!tool)
		return tc_slurp(path, len);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "%s '%s'", tool, path);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t cap = 1 << 16, n = 0, r;
	char *buf = malloc(cap + 1);
	ck_assert_ptr_nonnull(buf);
	while ((r = fread(buf + n, 1, cap - n, p)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
	}
	int rc = pclose(p);
	ck_assert_msg(rc == 0, "%s: status %d", cmd, rc);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Which (t, seq) were seen, and how often lines were. */
struct tc_tally {
	unsigned char *seen[TC_WRITERS];
	size_t cap[TC_WRITERS];
	unsigned long lines;
	size_t longest; /* the longest line, with its '\n' */
};

static inline void tc_tally_free(struct tc_tally *ty)
{
	for (unsigned t = 0; t < TC_WRITERS; t++)
		free(ty->seen[t]);
}

static inline void tc_tally_mark(struct tc_tally *ty, const json_t *line, const char *where)
{
	json_t *jt = json_object_get(line, "t"), *js = json_object_get(line, "seq");
	TC_CHECK_MSG(json_is_integer(jt) && json_is_integer(js), "%s: a line without t/seq",
	             where);
	json_int_t t = json_integer_value(jt), seq = json_integer_value(js);
	TC_CHECK_MSG(t >= 0 && t < TC_WRITERS && seq >= 0, "%s: t %lld seq %lld", where,
	             (long long)t, (long long)seq);
	size_t s = (size_t)seq;
	if (s >= ty->cap[t]) {
		size_t cap = ty->cap[t] ? ty->cap[t] : 1024;
		while (cap <= s)
			cap *= 2;
		ty->seen[t] = realloc(ty->seen[t], cap);
		TC_CHECK_MSG(ty->seen[t] != NULL, "%s: out of memory", where);
		memset(ty->seen[t] + ty->cap[t], 0, cap - ty->cap[t]);
		ty->cap[t] = cap;
	}
	TC_CHECK_MSG(!ty->seen[t][s], "%s: t %lld seq %lld written twice", where, (long long)t,
	             (long long)seq);
	ty->seen[t][s] = 1;
	ty->lines++;
}

/* Every line of @path (decompressed) is a whole JSON object with t/seq
 * not seen before. With @torn_tail, a last line without its '\n' is
 * allowed and ignored (a copy taken while a line was being appended);
 * returns whether there was one. *bytes gets the text's length. */
static inline bool tc_tally_file(struct tc_tally *ty, const char *path, bool torn_tail,
                                 size_t *bytes)
{
	size_t n;
	char *text = tc_file_text(path, &n);
	if (bytes)
		*bytes = n;
	bool torn = false;
	if (torn_tail && n > 0 && text[n - 1] != '\n') {
		char *nl = memrchr(text, '\n', n);
		n = nl ? (size_t)(nl - text) + 1 : 0;
		torn = true;
	}
	for (const char *p = text, *nl; p < text + n; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + n - p));
		if (nl && (size_t)(nl - p) + 1 > ty->longest)
			ty->longest = (size_t)(nl - p) + 1;
		if (!nl)
			break;
	}
	size_t count;
	json_t **lines = tc_parse_lines_n(text, n, &count);
	for (size_t i = 0; i < count; i++)
		tc_tally_mark(ty, lines[i], path);
	tc_free_lines(lines, count);
	free(text);
	return torn;
}

/* Writer @t's lines 0..@n-1 were each seen (once: marking checked). */
static inline void tc_tally_expect(const struct tc_tally *ty, unsigned t, unsigned long n)
{
	/* One assertion, not one per line (see TC_CHECK_MSG). */
	unsigned long s = 0;
	while (s < n && s < ty->cap[t] && ty->seen[t][s])
		s++;
	ck_assert_msg(s == n, "t %u seq %lu: missing (of %lu)", t, s, n);
	ck_assert_msg(n >= ty->cap[t] || !memchr(ty->seen[t] + n, 1, ty->cap[t] - n),
	              "t %u: a seq past its %lu lines", t, n);
}

/* Writer @t's lines 0..@n-1 except one contiguous run (lost in a
 * copytruncate's window): returns the run's length. */
static inline unsigned long tc_tally_expect_but_run(const struct tc_tally *ty, unsigned t,
                                                    unsigned long n)
{
	unsigned long s = 0, missing = 0;
	while (s < n && s < ty->cap[t] && ty->seen[t][s])
		s++;
	while (s < n && (s >= ty->cap[t] || !ty->seen[t][s])) {
		s++;
		missing++;
	}
	while (s < n && s < ty->cap[t] && ty->seen[t][s])
		s++;
	ck_assert_msg(s == n, "t %u seq %lu: missing after another gap", t, s);
	return missing;
}

/* The names in @dir starting with @prefix, sorted; free each and the
 * array. */
static inline char **tc_dir_files(const char *dir, const char *prefix, size_t *count)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t n = 0, cap = 64;
	char **v = malloc(cap * sizeof(*v));
	ck_assert_ptr_nonnull(v);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			ck_assert_ptr_nonnull(v);
		}
		ck_assert_int_ge(asprintf(&v[n++], "%s/%s", dir, e->d_name), 0);
	}
	closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	*count = n;
	return v;
}

static inline void tc_dir_files_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

#endif
