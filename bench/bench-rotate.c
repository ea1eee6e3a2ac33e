/*
 * The rotating file: what rotation and compression cost, in three
 * measurements (--mode engine|writer|burst; all three by default), each
 * comparing two configurations run by run, alternating, so that drift of
 * the machine hits both; the medians and their ratio are printed.
 *
 *   jlog-bench-rotate [--mode M] [--runs N] [--dir DIR]
 *                     [--mb N] [--rotate-mb N] [--line N] [--batch N]
 *                     [--keep N] [--compression gz|zst]
 *                     [--records N] [--bursts N] [--backlog-mb N] [--only 0|1]
 *
 * engine  The engine alone (lib/rotate.h): --mb MB of JSON lines of
 *         --line bytes in batches of --batch lines (the writer hands the
 *         engine one buffer per drained batch), with rotation every
 *         --rotate-mb MB against no rotation. --keep N adds retention (the
 *         rotating runs then also pay for removing files, which frees their
 *         pages during the run); --compression adds the helper thread's
 *         work beside the writes.
 *
 *   writer Through the logger (jlog_open_config(), one producer thread):
 *         --records standard records (jlog-bench's) from the first call
 *         until jlog_close() returned, so the writer thread sets the pace:
 *         a plain file sink against "rotation": "--rotate-mb MB".
 *
 *   burst  Through the logger, each call timed with CLOCK_MONOTONIC (100
 *         calls, then a 1 ms sleep, --bursts times, as jlog-bench's burst
 *         mode), with "rotation": "--rotate-mb MB" and --backlog-mb MB of
 *         rotated files waiting in the directory: "compression": "gz" (so
 *         the helper thread compresses them during the whole measurement;
 *         checked at its end) against none. Percentiles over all calls.
 *
 * --only 0 (or 1) runs only the first (second) configuration of the
 * writer comparison, for counting the writer's instructions per record:
 *   valgrind --tool=callgrind --toggle-collect=writer_main \
 *     jlog-bench-rotate --mode writer --runs 1 --records 200000 --only 1
 *
 * Files are made and removed outside the timed part. Use a tmpfs --dir
 * (/dev/shm) to measure the engine rather than the disk.
 */
#include "jlog-private.h"
#include "rotate.h"

#include <dirent.h>
#include <errno.h>
#include <jlog.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void clean_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[4096];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

/* One run: MB/s. */
static double run(const char *dir, uint64_t bytes, const struct jlog__rotate_policy *pol,
                  const char *batch, size_t batch_len, uint64_t *rotations)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/bench.log", dir);
	struct jlog__rotate *rf;
	int rc = jlog__rotate_open(&rf, path, 0644, false, pol);
	if (rc) {
		fprintf(stderr, "open %s: %s\n", path, jlog_last_error());
		exit(1);
	}
	uint64_t done = 0;
	double t0 = now_s();
	while (done < bytes) {
		size_t w;
		rc = jlog__rotate_write(rf, batch, batch_len, &w);
		if (rc) {
			fprintf(stderr, "write: %s\n", jlog_strerror(rc));
			exit(1);
		}
		done += w;
	}
	double t = now_s() - t0;
	struct jlog__rotate_stats st;
	jlog__rotate_get_stats(rf, &st);
	*rotations = st.rotations;
	jlog__rotate_drain(rf);
	jlog__rotate_close(rf);
	clean_dir(dir);
	return (double)done / 1e6 / t;
}

/* ---- Through the logger ---- */

static void standard_record(jlog_logger *lg)
{
	JLOG_INFO(lg, "request handled", JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_STR("path", "/api/v1/items"));
}

static jlog_logger *open_logger(const char *path, const char *keys)
{
	char doc[4600];
	snprintf(doc, sizeof(doc), "{\"sinks\":[{\"sink\":\"%s\"%s}]}", path, keys);
	jlog_logger *lg = NULL;
	char err[512];
	if (jlog_open_config_err(&lg, doc, err, sizeof(err)) != 0) {
		fprintf(stderr, "jlog_open_config: %s\n", err);
		exit(1);
	}
	return lg;
}

/* One writer run: records/s from the first call until jlog_close(). */
static double run_writer(const char *dir, unsigned long records, const char *keys)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/app.log", dir);
	jlog_logger *lg = open_logger(path, keys);
	double t0 = now_s();
	for (unsigned long i = 0; i < records; i++)
		standard_record(lg);
	jlog_stats st;
	jlog_get_stats(lg, &st);
	if (jlog_close(lg) != 0) {
		fprintf(stderr, "jlog_close failed\n");
		exit(1);
	}
	double t = now_s() - t0;
	if (st.dropped) {
		fprintf(stderr, "%llu records dropped\n", (unsigned long long)st.dropped);
		exit(1);
	}
	clean_dir(dir);
	return (double)records / t;
}

/* --backlog-mb MB of rotated files (as an earlier run would leave
 * them) in @dir, for the compression thread to work through. */
static void make_backlog(const char *dir, unsigned long mb)
{
	static char buf[1 << 20];
	size_t n = 0;
	for (unsigned long i = 0; n + 256 < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		                      "{\"time\":\"2026-12-02T05:40:19.%06luZ\",\"level\":\"INFO\","
		                      "\"message\":\"request handled\",\"user\":\"alice\","
		                      "\"status\":200,\"latency_ms\":12.5,\"cached\":true,"
		                      "\"path\":\"/api/v1/items/%lu\",\"seq\":%lu}\n",
		                      i % 1000000, i * 7919 % 100003, i);
	for (unsigned long f = 0; f * 16 < mb; f++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/app.2026-01-01_00-00-%02lu_000000.log", dir, f);
		FILE *fp = fopen(path, "w");
		if (!fp) {
			perror(path);
			exit(1);
		}
		for (unsigned long m = 0; m < 16 && f * 16 + m < mb; m++)
			fwrite(buf, 1, n, fp);
		fclose(fp);
	}
}

/* Whether a backlog file is still uncompressed (the compression thread
 * was busy until now). */
static bool backlog_left(const char *dir)
{
	DIR *d = opendir(dir);
	bool left = false;
	struct dirent *e;
	while (d && (e = readdir(d)))
		left |= strncmp(e->d_name, "app.2026-01-01_", 15) == 0 &&
		        strcmp(e->d_name + strlen(e->d_name) - 4, ".log") == 0;
	if (d)
		closedir(d);
	return left;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct burst_result {
	double p50, p99, p999;
	bool busy; /* compression still had work at the end */
};

/* One burst run: the percentiles of the calls' durations (ns, timer
 * included). */
static struct burst_result run_burst(const char *dir, unsigned long bursts,
                                     unsigned long backlog_mb, const char *keys, uint64_t *lat)
{
	make_backlog(dir, backlog_mb);
	char path[4096];
	snprintf(path, sizeof(path), "%s/app.log", dir);
	jlog_logger *lg = open_logger(path, keys);
	size_t k = 0;
	const struct timespec pause = {0, 1000000};
	for (unsigned long b = 0; b < bursts; b++) {
		for (int i = 0; i < 100; i++) {
			uint64_t t0 = mono_ns();
			standard_record(lg);
			lat[k++] = mono_ns() - t0;
		}
		nanosleep(&pause, NULL);
	}
	struct burst_result r = {.busy = backlog_left(dir)};
	jlog_close(lg);
	clean_dir(dir);
	qsort(lat, k, sizeof(*lat), cmp_u64);
	r.p50 = (double)lat[k / 2];
	r.p99 = (double)lat[k * 99 / 100];
	r.p999 = (double)lat[k * 999 / 1000];
	return r;
}

static double median(double *v, unsigned long n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* --only 0 or 1: run only that side of a comparison (for callgrind). */
static int only = -1;

static void bench_writer(const char *dir, unsigned long runs, unsigned long records,
                         unsigned long rotate_mb)
{
	char keys[64];
	snprintf(keys, sizeof(keys), ",\"rotation\":\"%lu MB\"", rotate_mb);
	double *a = calloc(runs, sizeof(double)), *b = calloc(runs, sizeof(double));
	for (unsigned long i = 0; i < runs; i++) {
		a[i] = only != 1 ? run_writer(dir, records, "") : 1;
		b[i] = only != 0 ? run_writer(dir, records, keys) : 1;
	}
	double ma = median(a, runs), mb = median(b, runs);
	printf("writer through the logger: %lu standard records per run, 1 thread, %lu runs\n",
	       records, runs);
	printf("  plain file sink          median %10.0f records/s\n", ma);
	printf("  rotation every %3lu MB    median %10.0f records/s\n", rotate_mb, mb);
	printf("  ratio (rotation / none)  %.3f\n", mb / ma);
	free(a);
	free(b);
}

static void bench_burst(const char *dir, unsigned long runs, unsigned long bursts,
                        unsigned long rotate_mb, unsigned long backlog_mb)
{
	char none[96], gz[96];
	snprintf(none, sizeof(none), ",\"rotation\":\"%lu MB\"", rotate_mb);
	snprintf(gz, sizeof(gz), ",\"rotation\":\"%lu MB\",\"compression\":\"gz\"", rotate_mb);
	uint64_t *lat = malloc(bursts * 100 * sizeof(*lat));
	double p[2][3][100];
	unsigned long idle = 0;
	for (unsigned long i = 0; i < runs; i++) {
		for (int m = 0; m < 2; m++) {
			struct burst_result r = run_burst(dir, bursts, backlog_mb, m ? gz : none, lat);
			p[m][0][i] = r.p50;
			p[m][1][i] = r.p99;
			p[m][2][i] = r.p999;
			idle += m && !r.busy;
		}
	}
	printf("log-call burst through the logger: %lu bursts of 100 calls per run, 1 thread, "
	       "rotation every %lu MB, %lu MB of rotated files waiting, %lu runs\n",
	       bursts, rotate_mb, backlog_mb, runs);
	double v[2][3];
	for (int m = 0; m < 2; m++)
		for (int q = 0; q < 3; q++)
			v[m][q] = median(p[m][q], runs);
	printf("  ns per call (timer incl.)  p50 %6.0f  p99 %6.0f  p99.9 %6.0f  no compression\n",
	       v[0][0], v[0][1], v[0][2]);
	printf("                             p50 %6.0f  p99 %6.0f  p99.9 %6.0f  gz running\n",
	       v[1][0], v[1][1], v[1][2]);
	printf("  ratio p99.9 (gz / none)    %.2f\n", v[1][2] / v[0][2]);
	if (idle)
		printf("  WARNING: in %lu runs compression finished before the bursts did: raise "
		       "--backlog-mb\n", idle);
	free(lat);
}

int main(int argc, char **argv)
{
	unsigned long mb = 200, rotate_mb = 10, runs = 5, line = 200, lines = 64, keep = 0;
	unsigned long records = 2000000, bursts = 2000, backlog_mb = 512;
	const char *dir = NULL, *compression = "none", *mode = "all";
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "%s: missing value\n", a);
			return 2;
		}
		if (strcmp(a, "--mb") == 0)
			mb = strtoul(v, NULL, 10);
		else if (strcmp(a, "--rotate-mb") == 0)
			rotate_mb = strtoul(v, NULL, 10);
		else if (strcmp(a, "--runs") == 0)
			runs = strtoul(v, NULL, 10);
		else if (strcmp(a, "--line") == 0)
			line = strtoul(v, NULL, 10);
		else if (strcmp(a, "--batch") == 0)
			lines = strtoul(v, NULL, 10);
		else if (strcmp(a, "--keep") == 0)
			keep = strtoul(v, NULL, 10);
		else if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--compression") == 0)
			compression = v;
		else if (strcmp(a, "--mode") == 0)
			mode = v;
		else if (strcmp(a, "--records") == 0)
			records = strtoul(v, NULL, 10);
		else if (strcmp(a, "--bursts") == 0)
			bursts = strtoul(v, NULL, 10);
		else if (strcmp(a, "--backlog-mb") == 0)
			backlog_mb = strtoul(v, NULL, 10);
		else if (strcmp(a, "--only") == 0)
			only = atoi(v);
		else {
			fprintf(stderr, "usage: %s [--mode engine|writer|burst|all] [--runs N] "
			                "[--dir DIR] [--mb N] [--rotate-mb N] [--line N] [--batch N] "
			                "[--keep N] [--compression gz|zst] [--records N] [--bursts N] "
			                "[--backlog-mb N]\n", argv[0]);
			return 2;
		}
	}
	bool all = strcmp(mode, "all") == 0;
	if (runs < 1 || runs > 100 || line < 16 || lines < 1 || mb < 1 || rotate_mb < 1 ||
	    records < 1 || bursts < 1 ||
	    (!all && strcmp(mode, "engine") && strcmp(mode, "writer") && strcmp(mode, "burst"))) {
		fprintf(stderr, "bad option value\n");
		return 2;
	}
	char tmpl[] = "/tmp/jlog-bench-rotate-XXXXXX";
	if (!dir && !(dir = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}

	if (all || strcmp(mode, "writer") == 0)
		bench_writer(dir, runs, records, rotate_mb);
	if (all || strcmp(mode, "burst") == 0)
		bench_burst(dir, runs, bursts, rotate_mb, backlog_mb);
	if (!all && strcmp(mode, "engine") != 0)
		goto out;

	size_t batch_len = line * lines;
	char *batch = malloc(batch_len);
	for (unsigned long i = 0; i < lines; i++) {
		char *l = batch + i * line;
		int n = snprintf(l, line, "{\"time\":\"2026-12-02T05:40:19.123456Z\",\"level\":\"INFO\","
		                          "\"message\":\"request handled\",\"n\":%lu,\"pad\":\"", i);
		memset(l + n, 'x', line - (size_t)n - 3);
		memcpy(l + line - 3, "\"}\n", 3);
	}

	struct jlog__rotate_policy plain = {0}, rot = {0};
	rot.size = (uint64_t)rotate_mb * 1000000;
	rot.keep_count = (unsigned)keep;
	if (jlog__rotate_parse_compression(&rot, compression)) {
		fprintf(stderr, "%s\n", jlog_last_error());
		return 2;
	}
	double *a = calloc(runs, sizeof(double)), *b = calloc(runs, sizeof(double));
	uint64_t rotations = 0, r0;
	for (unsigned long i = 0; i < runs; i++) {
		a[i] = run(dir, (uint64_t)mb * 1000000, &plain, batch, batch_len, &r0);
		b[i] = run(dir, (uint64_t)mb * 1000000, &rot, batch, batch_len, &rotations);
	}
	qsort(a, runs, sizeof(double), cmp_double);
	qsort(b, runs, sizeof(double), cmp_double);
	double ma = a[runs / 2], mr = b[runs / 2];
	printf("rotating file: %lu MB per run, %lu-byte lines, %lu lines a batch, %lu runs\n", mb,
	       line, lines, runs);
	printf("  no rotation              median %8.1f MB/s (%.0f lines/s)\n", ma,
	       ma * 1e6 / (double)line);
	printf("  rotation every %3lu MB%-5s median %8.1f MB/s (%.0f lines/s), %llu rotations a run\n",
	       rotate_mb, strcmp(compression, "none") ? " +cmp" : "", mr,
	       mr * 1e6 / (double)line, (unsigned long long)rotations);
	printf("  ratio (rotation / none)  %.3f\n", mr / ma);
	free(a);
	free(b);
	free(batch);
out:
	if (dir == tmpl)
		rmdir(dir);
	return 0;
}
