/*
 * Stress through the public API: many threads, a million records, values
 * up to and beyond max_record_size, both overflow policies, and a long
 * flood that must not grow memory. Every line written is parsed with
 * jansson and accounted for.
 *
 * Producers log {"thread":T,"seq":S,"payload":P} where P's length is a
 * function of (T, S), so the checker knows what each record held without
 * keeping a copy: most are short, some long, and a few close to or beyond
 * the record limit, which must come out cut and marked
 * ("truncated":true), never lost.
 *
 * The loops that check a million lines use plain comparisons and report
 * the first failure at the end: a passing ck_assert costs a write to
 * Check's pipe in fork mode.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>

#define THREADS 8
#define MAX_RECORD (8 * 1024)
#define MSG "stress"

/* Payloads are slices of the alphabet repeated: char i of the payload of
 * record S is 'a' + (S + i) % 26. */
#define MAX_PAYLOAD (MAX_RECORD + 4096)
static char alphabet[MAX_PAYLOAD + 26];

static void alphabet_init(void)
{
	for (size_t i = 0; i < sizeof(alphabet); i++)
		alphabet[i] = (char)('a' + i % 26);
}

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finalizer */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The payload length of record @seq of thread @t: 95% under 64 bytes,
 * 4.8% up to 2 KiB, 0.1% within 200 bytes of the record limit (either
 * side) and 0.1% well beyond it.
 */
static size_t payload_len(unsigned t, unsigned long seq)
{
	uint64_t h = mix((uint64_t)t << 40 ^ seq);
	unsigned r = (unsigned)(h % 1000);
	h >>= 20;
	if (r < 1)
		return MAX_RECORD - 200 + h % 400;
	if (r < 2)
		return MAX_RECORD + h % 4096;
	if (r < 50)
		return h % 2048;
	return h % 64;
}

/* The fields of record @seq of thread @t (as the producer logs them). */
static void make_fields(jlog_field f[3], unsigned t, unsigned long seq)
{
	f[0] = JLOG_INT("thread", t);
	f[1] = JLOG_INT("seq", seq);
	f[2] = JLOG_STRN("payload", alphabet + seq % 26, payload_len(t, seq));
}

/* The record's size before truncation (the layout in jlog-private.h). */
static size_t record_size(unsigned t, unsigned long seq)
{
	jlog_field f[3];
	make_fields(f, t, seq);
	size_t n = sizeof(struct jlog__rec_hdr) + strlen(MSG);
	for (int i = 0; i < 3; i++)
		n += jlog__field_size(&f[i]);
	return n;
}

struct producer {
	pthread_t thread;
	jlog_logger *lg;
	unsigned id;
	unsigned long count;     /* records to log */
	unsigned long attempted; /* log calls made */
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	unsigned long seq = 0;
	for (; seq < p->count; seq++) {
		size_t len = payload_len(p->id, seq);
		JLOG_INFO(p->lg, MSG, JLOG_INT("thread", p->id), JLOG_INT("seq", seq),
		          JLOG_STRN("payload", alphabet + seq % 26, len));
	}
	p->attempted = seq;
	return NULL;
}

static jlog_logger *open_logger(const char *sink, size_t queue, jlog_overflow overflow)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = sink;
	o.queue_size = queue;
	o.max_record_size = MAX_RECORD;
	o.overflow = overflow;
	jlog_logger *lg = NULL;
	int rc = jlog_open(&lg, &o);
	ck_assert_msg(rc == 0, "jlog_open: %s", jlog_strerror(rc));
	return lg;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------ */
/* Checking the file                                                        */
/* ------------------------------------------------------------------------ */

struct tally {
	unsigned long lines;
	unsigned long records;   /* lines with a "thread" */
	unsigned long truncated; /* records marked truncated */
	unsigned long reports;   /* "records dropped" lines */
	uint64_t reported;       /* sum of their "dropped" */
	/* Per producer thread: the first seq seen, and the last + 1. */
	bool seen[THREADS];
	unsigned long first[THREADS];
	unsigned long next[THREADS];
	unsigned long errors;
	char first_error[512];
};

static void tally_fail(struct tally *t, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tally_fail(struct tally *t, unsigned long line, const char *fmt, ...)
{
	if (t->errors++ == 0) {
		char *e = t->first_error;
		int k = snprintf(e, sizeof(t->first_error), "line %lu: ", line);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e + k, sizeof(t->first_error) - (size_t)k, fmt, ap);
		va_end(ap);
	}
}

static bool is_int(const json_t *o, const char *key, json_int_t *v)
{
	const json_t *j = json_object_get(o, key);
	if (!json_is_integer(j))
		return false;
	*v = json_integer_value(j);
	return true;
}

/* One record line: its thread's next sequence number (@complete: exactly
 * the next, else any later one), and its payload whole, or cut and marked
 * when the record did not fit. The first record of a thread in a segment
 * is checked when the segments are joined. */
static void check_record(struct tally *t, unsigned long ln, const json_t *o, bool complete)
{
	json_int_t th, seq;
	if (!is_int(o, "thread", &th) || !is_int(o, "seq", &seq) || th < 0 || th >= THREADS ||
	    seq < 0) {
		tally_fail(t, ln, "bad thread/seq");
		return;
	}
	unsigned tid = (unsigned)th;
	unsigned long s = (unsigned long)seq;
	if (!t->seen[tid]) {
		t->seen[tid] = true;
		t->first[tid] = s;
	} else if (complete ? s != t->next[tid] : s < t->next[tid]) {
		tally_fail(t, ln, "thread %u: seq %lu after %lu (%s)", tid, s, t->next[tid] - 1,
		           s < t->next[tid] ? "duplicate or reordered" : "records lost");
		return;
	}
	t->next[tid] = s + 1;
	t->records++;

	const json_t *m = json_object_get(o, "message");
	if (!json_is_string(m) || strcmp(json_string_value(m), MSG) != 0)
		tally_fail(t, ln, "message changed");

	const json_t *pj = json_object_get(o, "payload");
	if (!json_is_string(pj)) {
		tally_fail(t, ln, "no payload");
		return;
	}
	const char *p = json_string_value(pj);
	size_t got = json_string_length(pj);
	size_t want = payload_len(tid, s);
	size_t size = record_size(tid, s);
	bool marked = json_is_true(json_object_get(o, "truncated"));
	if (size <= MAX_RECORD) {
		if (marked || got != want)
			tally_fail(t, ln, "record of %zu bytes: payload %zu of %zu bytes%s", size, got,
			     want, marked ? ", marked truncated" : "");
	} else {
		t->truncated++;
		/* The payload keeps what fits: the limit less everything else
		 * in the record, give or take a few bytes. */
		size_t room = MAX_RECORD - (size - want);
		if (!marked || got < 3 || memcmp(p + got - 3, "\xe2\x80\xa6", 3) != 0) {
			tally_fail(t, ln, "record of %zu bytes not cut and marked", size);
			return;
		}
		got -= 3;
		if (got > room || got + 16 < room)
			tally_fail(t, ln, "record of %zu bytes: payload cut to %zu bytes, room %zu", size,
			     got, room);
	}
	for (size_t i = 0; i < got; i++) {
		if (p[i] != (char)('a' + (s + i) % 26)) {
			tally_fail(t, ln, "payload byte %zu differs", i);
			break;
		}
	}
}

/* A drop report: {"level":"WARNING","message":"records dropped","dropped":N}. */
static void check_report(struct tally *t, unsigned long ln, const json_t *o)
{
	const json_t *m = json_object_get(o, "message");
	const json_t *l = json_object_get(o, "level");
	json_int_t n;
	if (!json_is_string(m) || strcmp(json_string_value(m), "records dropped") != 0 ||
	    !json_is_string(l) || strcmp(json_string_value(l), "WARNING") != 0 ||
	    !is_int(o, "dropped", &n) || n <= 0) {
		tally_fail(t, ln, "neither a record nor a drop report");
		return;
	}
	t->reports++;
	t->reported += (uint64_t)n;
}

/* A part of the file, checked by its own thread. */
struct segment {
	pthread_t thread;
	const char *p, *end;
	bool complete;
	struct tally t;
};

/* Parse every line of a segment with jansson (one json_loadb() per
 * line). */
static void *check_segment(void *arg)
{
	struct segment *g = arg;
	struct tally *t = &g->t;
	const char *p = g->p;
	while (p < g->end) {
		const char *nl = memchr(p, '\n', (size_t)(g->end - p));
		if (!nl)
			nl = g->end;
		unsigned long ln = ++t->lines;
		json_error_t err;
		json_t *o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &err);
		if (!o || !json_is_object(o)) {
			tally_fail(t, ln, "not a JSON object (%s): %.*s",
			           o ? "not an object" : err.text,
			           (int)((nl - p) > 200 ? 200 : (nl - p)), p);
		} else if (json_object_get(o, "thread")) {
			check_record(t, ln, o, g->complete);
		} else {
			check_report(t, ln, o);
		}
		json_decref(o);
		p = nl + 1;
	}
	return NULL;
}

/* Add the tally of the segment that follows @a to it. */
static void join_tally(struct tally *a, const struct tally *b, bool complete)
{
	if (b->errors && !a->errors)
		snprintf(a->first_error, sizeof(a->first_error), "(after %lu lines) %s", a->lines,
		         b->first_error);
	a->errors += b->errors;
	for (unsigned i = 0; i < THREADS; i++) {
		if (!b->seen[i])
			continue;
		if (a->seen[i] && (complete ? b->first[i] != a->next[i] : b->first[i] < a->next[i]))
			tally_fail(a, a->lines, "thread %u: seq %lu after %lu across segments", i,
			           b->first[i], a->next[i] - 1);
		if (!a->seen[i])
			a->first[i] = b->first[i];
		a->seen[i] = true;
		a->next[i] = b->next[i];
	}
	a->lines += b->lines;
	a->records += b->records;
	a->truncated += b->truncated;
	a->reports += b->reports;
	a->reported += b->reported;
}

#define CHECK_THREADS 2

/*
 * Check every line of @path, in CHECK_THREADS segments checked in
 * parallel (jansson takes ~10 us a line, several times that under the
 * sanitizers). @complete: BLOCK, so every thread's records are 0, 1, 2...
 * without a gap.
 */
static void check_file(const char *path, bool complete, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	int fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	size_t size = (size_t)st.st_size;
	if (size == 0) {
		close(fd);
		return;
	}
	const char *text = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_msg(text != MAP_FAILED, "mmap: %s", strerror(errno));
	close(fd);

	/* jansson seeds its hash function on first use; do it before the
	 * threads (jansson's doc/threadsafety.rst). */
	json_object_seed(0);
	struct segment g[CHECK_THREADS];
	const char *p = text, *end = text + size;
	for (int i = 0; i < CHECK_THREADS; i++) {
		const char *e = i == CHECK_THREADS - 1 ? end : text + size / CHECK_THREADS * (size_t)(i + 1);
		if (e < p)
			e = p;
		const char *nl = e < end ? memchr(e, '\n', (size_t)(end - e)) : NULL;
		e = nl ? nl + 1 : end;
		memset(&g[i], 0, sizeof(g[i]));
		g[i].p = p;
		g[i].end = e;
		g[i].complete = complete;
		ck_assert_int_eq(pthread_create(&g[i].thread, NULL, check_segment, &g[i]), 0);
		p = e;
	}
	for (int i = 0; i < CHECK_THREADS; i++) {
		pthread_join(g[i].thread, NULL);
		join_tally(t, &g[i].t, complete);
	}
	if (text[size - 1] != '\n')
		tally_fail(t, t->lines, "the file does not end with a newline");
	munmap((void *)text, size);
}

/* Remove the file and its private directory (from tc_tmppath). */
static void remove_log(char *path)
{
	unlink(path);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	rmdir(path);
	free(path);
}

/* ------------------------------------------------------------------------ */
/* BLOCK: nothing lost, nothing twice, order kept                           */
/* ------------------------------------------------------------------------ */

static void run_block(size_t queue, const char *label)
{
	alphabet_init();
	char *path = tc_tmppath("stress.jsonl");
	jlog_logger *lg = open_logger(path, queue, JLOG_OVERFLOW_BLOCK);
	unsigned long per = tc_scale(125000, 2000);
	struct producer p[THREADS];

	double t0 = now_s();
	for (unsigned i = 0; i < THREADS; i++) {
		p[i] = (struct producer){.lg = lg, .id = i, .count = per};
		ck_assert_int_eq(pthread_create(&p[i].thread, NULL, produce, &p[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(p[i].thread, NULL);
	double t1 = now_s();
	jlog_close(lg); /* drains everything */
	double t2 = now_s();

	struct tally t;
	check_file(path, true, &t);
	double t3 = now_s();
	unsigned long total = per * THREADS;
	fprintf(stderr,
	        "stress: BLOCK, queue %zu KiB: %u threads x %lu records in %.2f s "
	        "(%.0f records/s; close %.2f s), %lu lines checked in %.2f s, "
	        "%lu truncated\n",
	        queue / 1024, THREADS, per, t1 - t0, (double)total / (t1 - t0), t2 - t1,
	        t.lines, t3 - t2, t.truncated);
	ck_assert_msg(t.errors == 0, "%s: %lu errors, first: %s", label, t.errors,
	              t.first_error);
	ck_assert_uint_eq(t.records, total);
	ck_assert_uint_eq(t.lines, total);
	ck_assert_uint_eq(t.reports, 0);
	for (unsigned i = 0; i < THREADS; i++) {
		ck_assert(t.seen[i]);
		ck_assert_uint_eq(t.first[i], 0);
		ck_assert_uint_eq(t.next[i], per);
	}
	ck_assert_uint_gt(t.truncated, 0); /* the limit was really reached */
	remove_log(path);
}

START_TEST(test_block_default_queue)
{
	run_block(4 * 1024 * 1024, "default queue");
}
END_TEST

START_TEST(test_block_small_queue)
{
	run_block(64 * 1024, "64 KiB queue");
}
END_TEST

/* The counters agree with the file under BLOCK. */
START_TEST(test_block_stats)
{
	alphabet_init();
	char *path = tc_tmppath("stats.jsonl");
	jlog_logger *lg = open_logger(path, 64 * 1024, JLOG_OVERFLOW_BLOCK);
	unsigned long per = tc_scale(20000, 1000);
	struct producer p[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		p[i] = (struct producer){.lg = lg, .id = i, .count = per};
		ck_assert_int_eq(pthread_create(&p[i].thread, NULL, produce, &p[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(p[i].thread, NULL);
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	jlog_close(lg);

	struct tally t;
	check_file(path, true, &t);
	ck_assert_msg(t.errors == 0, "%lu errors, first: %s", t.errors, t.first_error);
	ck_assert_uint_eq(st.logged, per * THREADS);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.written, per * THREADS);
	ck_assert_uint_eq(st.truncated, t.truncated);
	ck_assert_uint_eq(st.write_errors, 0);
	remove_log(path);
}
END_TEST

/*
 * Values cut at the limit are kept, cut and marked, wherever the cut falls
 * in a multi-byte character: a STR or JSON value (which becomes a string
 * of its first bytes), as the last field or not. A JSON value cut inside a
 * character as the last field once left its dropped bytes in the
 * record's unused tail, so the writer refused the record and the line was
 * lost.
 */
START_TEST(test_cut_values_kept)
{
	char *path = tc_tmppath("cut.jsonl");
	jlog_logger *lg = open_logger(path, 64 * 1024, JLOG_OVERFLOW_BLOCK);
	size_t n = 2 * MAX_RECORD;
	char *text = malloc(n + 1);
	ck_assert_ptr_nonnull(text);
	const int shifts = 6, per_shift = 4;
	for (int k = 0; k < shifts; k++) {
		/* k ASCII bytes, then "€" (3 bytes) over and over: the
		 * cut falls at each offset within a character. */
		memset(text, 'x', (size_t)k);
		for (size_t i = (size_t)k; i < n; i++)
			text[i] = "\xe2\x82\xac"[(i - (size_t)k) % 3];
		size_t len = n - (n - (size_t)k) % 3;
		json_t *j = json_stringn(text, len);
		json_t *a = json_pack("[O]", j);
		ck_assert_ptr_nonnull(a);
		JLOG_INFO(lg, MSG, JLOG_INT("k", k), JLOG_JSON("v", j));
		JLOG_INFO(lg, MSG, JLOG_INT("k", k), JLOG_JSON("v", a));
		JLOG_INFO(lg, MSG, JLOG_JSON("v", a), JLOG_INT("k", k));
		JLOG_INFO(lg, MSG, JLOG_INT("k", k), JLOG_STRN("v", text, len));
		json_decref(a);
		json_decref(j);
	}
	free(text);
	jlog_stats st;
	ck_assert_int_eq(jlog_flush(lg), 0);
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	jlog_close(lg);

	size_t count;
	json_t **lines = tc_parse_file(path, &count);
	ck_assert_uint_eq(st.logged, (uint64_t)(shifts * per_shift));
	ck_assert_msg(count == (size_t)(shifts * per_shift), "%zu of %d lines written", count,
	              shifts * per_shift);
	for (size_t i = 0; i < count; i++) {
		ck_assert(json_is_true(json_object_get(lines[i], "truncated")));
		const json_t *v = json_object_get(lines[i], "v");
		ck_assert(json_is_string(v));
		size_t vl = json_string_length(v);
		ck_assert_uint_gt(vl, MAX_RECORD / 2);
		ck_assert_mem_eq(json_string_value(v) + vl - 3, "\xe2\x80\xa6", 3);
	}
	tc_free_lines(lines, count);
	remove_log(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* DROP: nothing twice, every drop counted and reported                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_drop_accounting)
{
	alphabet_init();
	char *path = tc_tmppath("drop.jsonl");
	jlog_logger *lg = open_logger(path, 64 * 1024, JLOG_OVERFLOW_DROP);
	unsigned long per = tc_scale(125000, 2000);
	struct producer p[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		p[i] = (struct producer){.lg = lg, .id = i, .count = per};
		ck_assert_int_eq(pthread_create(&p[i].thread, NULL, produce, &p[i]), 0);
	}
	unsigned long attempted = 0;
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(p[i].thread, NULL);
		attempted += p[i].attempted;
	}
	ck_assert_int_eq(jlog_flush(lg), 0);
	jlog_stats before;
	ck_assert_int_eq(jlog_get_stats(lg, &before), 0);
	jlog_close(lg); /* reports the last drops */

	struct tally t;
	check_file(path, false, &t);
	fprintf(stderr,
	        "stress: DROP, queue 64 KiB: %lu attempted, %" PRIu64 " logged, %" PRIu64
	        " dropped, %lu drop reports adding up to %" PRIu64 "\n",
	        attempted, before.logged, before.dropped, t.reports, t.reported);
	ck_assert_msg(t.errors == 0, "%lu errors, first: %s", t.errors, t.first_error);
	ck_assert_uint_eq(attempted, per * THREADS);
	ck_assert_uint_eq(before.logged + before.dropped, attempted);
	ck_assert_uint_eq(t.records, before.logged);
	ck_assert_uint_eq(t.reported, before.dropped);
	ck_assert_uint_eq(t.lines, t.records + t.reports);
	if (before.dropped == 0)
		fprintf(stderr, "stress: DROP: the ring never filled; nothing to report\n");
	else
		ck_assert_uint_ge(t.reports, 1);
	remove_log(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bounded memory                                                           */
/* ------------------------------------------------------------------------ */

/* Resident set size in KiB, from /proc/self/status. */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Under ASan and TSan, RSS also holds the tools' own memory, which grows
 * with every allocation for a while (ASan keeps freed blocks in a
 * quarantine of up to 256 MiB; jansson allocates while serializing), so
 * there the bound applies to the live heap as the sanitizer allocator
 * counts it, and RSS is only reported.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TOOL_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TOOL_BUILD 1
#endif
#endif
#ifndef TOOL_BUILD
#define TOOL_BUILD 0
#endif

#if TOOL_BUILD
/* From the sanitizer runtime (sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Live heap in KiB under ASan/TSan; -1 elsewhere. */
static long heap_kib(void)
{
#if TOOL_BUILD
	return (long)(__sanitizer_get_current_allocated_bytes() / 1024);
#else
	return -1;
#endif
}

struct flood {
	pthread_t thread;
	jlog_logger *lg;
	unsigned id;
	atomic_bool *stop;
	unsigned long records;
};

/* Like produce(), plus a JSON field now and then and a child logger with
 * bound fields: the paths that allocate or copy more. */
static void *flood(void *arg)
{
	struct flood *f = arg;
	jlog_logger *child = JLOG_WITH(f->lg, JLOG_STR("request", "abcdef"), JLOG_INT("worker", f->id));
	json_t *j = json_pack("{s:i, s:[s, s]}", "n", (int)f->id, "list", "x", "y");
	unsigned long seq = 0;
	while (!atomic_load_explicit(f->stop, memory_order_relaxed)) {
		size_t len = payload_len(f->id, seq);
		if (seq % 64 == 0)
			JLOG_INFO(child, MSG, JLOG_INT("thread", f->id), JLOG_INT("seq", seq),
			          JLOG_JSON("json", j), JLOG_STRN("payload", alphabet + seq % 26, len));
		else
			JLOG_INFO(f->lg, MSG, JLOG_INT("thread", f->id), JLOG_INT("seq", seq),
			          JLOG_STRN("payload", alphabet + seq % 26, len));
		seq++;
	}
	json_decref(j);
	jlog_close(child);
	f->records = seq;
	return NULL;
}

START_TEST(test_flood_memory_flat)
{
	alphabet_init();
	/* 10 s, 2.5 s under TSan, 2 s under valgrind (JLOG_TEST_DIVISOR). */
	unsigned long run_ms = tc_scale(10000, 2000);
	long rss_start = rss_kib();
	jlog_logger *lg = open_logger("/dev/null", 4 * 1024 * 1024, JLOG_OVERFLOW_BLOCK);
	atomic_bool stop = false;
	struct flood f[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		f[i] = (struct flood){.lg = lg, .id = i, .stop = &stop};
		ck_assert_int_eq(pthread_create(&f[i].thread, NULL, flood, &f[i]), 0);
	}

	double t0 = now_s();
	long rss_1s = -1, rss_max = -1, heap_1s = -1, heap_max = -1;
	unsigned samples = 0;
	for (;;) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		double el = now_s() - t0;
		long r = rss_kib(), h = heap_kib();
		if (el >= 1.0) {
			if (samples++ == 0) {
				rss_1s = r;
				heap_1s = h;
			}
			rss_max = r > rss_max ? r : rss_max;
			heap_max = h > heap_max ? h : heap_max;
		}
		if (el * 1000 >= (double)run_ms)
			break;
	}
	atomic_store(&stop, true);
	unsigned long records = 0;
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(f[i].thread, NULL);
		records += f[i].records;
	}
	double el = now_s() - t0;
	jlog_stats st;
	ck_assert_int_eq(jlog_get_stats(lg, &st), 0);
	jlog_close(lg);
	long rss_end = rss_kib();

	const long slack = 16 * 1024;
	fprintf(stderr,
	        "stress: flood, %u threads to /dev/null for %.1f s: %lu records (%.0f/s), "
	        "%" PRIu64 " truncated; VmRSS before open %ld KiB, at 1 s %ld KiB, max after "
	        "1 s %ld KiB (%+ld KiB, %u samples), after close %ld KiB\n",
	        THREADS, el, records, (double)records / el, st.truncated, rss_start, rss_1s,
	        rss_max, rss_max - rss_1s, samples, rss_end);
	if (TOOL_BUILD)
		fprintf(stderr, "stress: flood: live heap at 1 s %ld KiB, max after 1 s %ld KiB (%+ld KiB)\n",
		        heap_1s, heap_max, heap_max - heap_1s);
	ck_assert_int_ge(rss_1s, 0);
	ck_assert_uint_eq(st.logged, records);
	if (TOOL_BUILD)
		ck_assert_msg(heap_max <= heap_1s + slack,
		              "live heap grew from %ld KiB at 1 s to %ld KiB (bound +%ld KiB)",
		              heap_1s, heap_max, slack);
	else
		ck_assert_msg(rss_max <= rss_1s + slack,
		              "RSS grew from %ld KiB at 1 s to %ld KiB (bound +%ld KiB)", rss_1s,
		              rss_max, slack);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("stress");

	TCase *tc = tcase_create("block");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_block_default_queue);
	tcase_add_test(tc, test_block_small_queue);
	tcase_add_test(tc, test_block_stats);
	tcase_add_test(tc, test_cut_values_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("drop");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_drop_accounting);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_flood_memory_flat);
	suite_add_tcase(s, tc);
	return s;
}
