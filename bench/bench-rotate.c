/*
 * Write throughput through the rotating file engine (lib/rotate.h), with
 * rotation every --rotate-mb MB against no rotation, in the same run.
 *
 *   jlog-bench-rotate [--mb N] [--rotate-mb N] [--runs N] [--line N]
 *                     [--batch N] [--keep N] [--compression gz|zst] [--dir DIR]
 *
 * Each run writes --mb MB of JSON lines of --line bytes in batches of
 * --batch lines (the writer hands the engine one buffer per drained
 * batch), into a fresh file in DIR. The two modes alternate run by run so
 * that drift of the machine hits both; the medians and their ratio are
 * printed. --keep N adds retention (the rotating runs then also pay for
 * removing files, which frees their pages during the run); --compression
 * adds the helper thread's work beside the writes. Files are removed
 * after each run, outside the timed part. Use a tmpfs --dir (/dev/shm) to
 * measure the engine rather than the disk.
 */
#include "jlog-private.h"
#include "rotate.h"

#include <dirent.h>
#include <errno.h>
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

int main(int argc, char **argv)
{
	unsigned long mb = 200, rotate_mb = 10, runs = 5, line = 200, lines = 64, keep = 0;
	const char *dir = NULL, *compression = "none";
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
		else {
			fprintf(stderr, "usage: %s [--mb N] [--rotate-mb N] [--runs N] [--line N] "
			                "[--batch N] [--keep N] [--compression gz|zst] [--dir DIR]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > 100 || line < 16 || lines < 1 || mb < 1 || rotate_mb < 1) {
		fprintf(stderr, "bad option value\n");
		return 2;
	}
	char tmpl[] = "/tmp/jlog-bench-rotate-XXXXXX";
	if (!dir && !(dir = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}

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
	if (dir == tmpl)
		rmdir(dir);
	return 0;
}
