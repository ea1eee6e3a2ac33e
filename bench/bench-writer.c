/*
 * jlog-bench-writer - the writer thread's throughput, against the bound the
 * machine sets, in the same run.
 *
 *   file   One producer floods jlog with the standard record (the one
 *          jlog-bench logs) into a new file; the time runs from jlog_open()
 *          until jlog_close() has written everything. Beside it, in the
 *          same process and directory, what dd(1) does with
 *          `dd if=/dev/zero of=FILE bs=1M count=N`: N write(2) calls of
 *          1 MiB of zeros into a new file. Both are MB/s of bytes in the
 *          file (page cache, no fsync), and the line gives jlog / dd.
 *   null   The same flood into /dev/null: records/s end to end, which
 *          write(2) does not bound, so it is the writer's own speed (with
 *          the producer on the other core).
 *
 * Each run does dd, then jlog to a file, then jlog to /dev/null, and
 * deletes its files; the figures are the medians of --runs runs, and the
 * ratio is the median of each run's own ratio (the two measured seconds
 * apart, so a host that slows down slows both).
 *
 *   jlog-bench-writer [--mb N] [--records N] [--runs N] [--dir DIR]
 *
 * --mb is how much dd writes (default 2000, as the command above) and
 * how much jlog writes to the file (records of the standard line until
 * N MiB); --records the records of the /dev/null flood (default 10 M).
 * The last line of output is one JSON object with every figure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <jlog.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 101
#define MIB ((size_t)1 << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process so far (every thread), user and
 * system: on a machine that other work shares, how much CPU each
 * measurement took says more than its wall-clock time alone. */
static void cpu_s(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* dd's loop: @count writes of 1 MiB of zeros into a new file. Returns
 * MB/s (10^6 bytes), or a negative value on error. */
static double dd_run(const char *path, size_t count, double *cpu)
{
	static char zeros[MIB];
	double u0, s0, u1, s1;
	cpu_s(&u0, &s0);
	double t0 = now_s();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		size_t done = 0;
		while (done < MIB) {
			ssize_t n = write(fd, zeros + done, MIB - done);
			if (n <= 0) {
				close(fd);
				return -1;
			}
			done += (size_t)n;
		}
	}
	close(fd);
	double t = now_s() - t0;
	cpu_s(&u1, &s1);
	*cpu = u1 - u0 + s1 - s0;
	unlink(path);
	return (double)count * MIB / 1e6 / t;
}

static void log_standard(jlog_logger *log)
{
	JLOG_INFO(log, "request handled",
	          JLOG_STR("user", "alice"), JLOG_INT("status", 200),
	          JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
	          JLOG_STR("path", "/api/v1/items"));
}

struct flood {
	double seconds;
	double user, sys; /* CPU seconds, producer and writer together */
	uint64_t records;
	uint64_t bytes;
};

/* One producer logs @records standard records into @sink (or, with
 * @until_bytes, until that many bytes were written); the clock stops
 * when jlog_close() returns. 0 or -1 with a message. */
static int flood_run(const char *sink, uint64_t records, uint64_t until_bytes, struct flood *f)
{
	jlog_options o;
	jlog_options_init(&o);
	o.sink = sink;
	o.allow_symlink = true;
	o.overflow = JLOG_OVERFLOW_BLOCK;
	double u0, s0;
	cpu_s(&u0, &s0);
	double t0 = now_s();
	jlog_logger *log;
	int rc = jlog_open(&log, &o);
	if (rc < 0) {
		fprintf(stderr, "jlog_open(%s): %s\n", sink, jlog_strerror(rc));
		return -1;
	}
	jlog_stats st;
	uint64_t n = 0;
	if (until_bytes) {
		/* The bytes are counted as they are written, so check them
		 * every so often and stop once the file has its size. */
		for (;;) {
			for (int i = 0; i < 4096; i++)
				log_standard(log);
			n += 4096;
			if (jlog_get_stats(log, &st) == 0 && st.bytes_written + ((uint64_t)4 << 20) >=
			                                          until_bytes)
				break;
		}
	} else {
		for (; n < records; n++)
			log_standard(log);
	}
	jlog_flush(log);
	if (jlog_get_stats(log, &st) < 0) {
		fprintf(stderr, "jlog_get_stats: %s\n", jlog_last_error());
		jlog_close(log);
		return -1;
	}
	jlog_close(log);
	f->seconds = now_s() - t0;
	cpu_s(&f->user, &f->sys);
	f->user -= u0;
	f->sys -= s0;
	f->records = n;
	f->bytes = st.bytes_written;
	if (st.written != n) {
		fprintf(stderr, "%s: %llu records logged, %llu written\n", sink,
		        (unsigned long long)n, (unsigned long long)st.written);
		return -1;
	}
	return 0;
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0) {
		fprintf(stderr, "%s: not a positive number: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long mb = 2000, runs = 5;
	long records = 10000000;
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = parse_long(argv[++i], "--mb");
		else if (!strcmp(argv[i], "--records") && i + 1 < argc)
			records = parse_long(argv[++i], "--records");
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = parse_long(argv[++i], "--runs");
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr,
			        "usage: %s [--mb N] [--records N] [--runs N] [--dir DIR]\n",
			        argv[0]);
			return 2;
		}
	}
	if (runs > MAX_RUNS)
		runs = MAX_RUNS;
	char dd_path[4096], jlog_path[4096];
	snprintf(dd_path, sizeof(dd_path), "%s/jlog-bench-writer-dd.%ld", dir, (long)getpid());
	snprintf(jlog_path, sizeof(jlog_path), "%s/jlog-bench-writer-jlog.%ld", dir,
	         (long)getpid());

	double dd[MAX_RUNS], file[MAX_RUNS], ratio[MAX_RUNS], null_rate[MAX_RUNS];
	double file_rec[MAX_RUNS], line_bytes = 0;
	double dd_cpu[MAX_RUNS], file_user[MAX_RUNS], file_sys[MAX_RUNS], null_cpu[MAX_RUNS];
	for (long r = 0; r < runs; r++) {
		dd[r] = dd_run(dd_path, (size_t)mb, &dd_cpu[r]);
		if (dd[r] < 0) {
			fprintf(stderr, "dd to %s: %s\n", dd_path, strerror(errno));
			unlink(dd_path);
			return 1;
		}
		struct flood f;
		if (flood_run(jlog_path, 0, (uint64_t)mb * MIB, &f) < 0) {
			unlink(jlog_path);
			return 1;
		}
		struct stat stt;
		if (stat(jlog_path, &stt) < 0 || (uint64_t)stt.st_size != f.bytes) {
			fprintf(stderr, "%s: the file does not hold the %llu bytes written\n",
			        jlog_path, (unsigned long long)f.bytes);
			unlink(jlog_path);
			return 1;
		}
		unlink(jlog_path);
		file[r] = (double)f.bytes / 1e6 / f.seconds;
		file_rec[r] = (double)f.records / f.seconds;
		ratio[r] = file[r] / dd[r];
		/* CPU seconds per GB written (10^9 bytes). */
		dd_cpu[r] *= 1e9 / ((double)mb * MIB);
		file_user[r] = f.user * 1e9 / (double)f.bytes;
		file_sys[r] = f.sys * 1e9 / (double)f.bytes;
		line_bytes = (double)f.bytes / (double)f.records;
		if (flood_run("/dev/null", (uint64_t)records, 0, &f) < 0)
			return 1;
		null_rate[r] = (double)f.records / f.seconds;
		null_cpu[r] = (f.user + f.sys) * 1e9 / (double)f.records;
		printf("run %ld: dd %.0f MB/s (%.2f CPU s/GB), jlog file %.0f MB/s (%.0f rec/s, "
		       "ratio %.3f; CPU s/GB user %.2f sys %.2f), /dev/null %.0f rec/s (%.0f CPU "
		       "ns/rec)\n",
		       r + 1, dd[r], dd_cpu[r], file[r], file_rec[r], ratio[r], file_user[r],
		       file_sys[r], null_rate[r], null_cpu[r]);
		fflush(stdout);
	}
	double m_dd = median(dd, (int)runs), m_file = median(file, (int)runs);
	double m_ratio = median(ratio, (int)runs), m_null = median(null_rate, (int)runs);
	double m_rec = median(file_rec, (int)runs);
	double m_dd_cpu = median(dd_cpu, (int)runs), m_user = median(file_user, (int)runs);
	double m_sys = median(file_sys, (int)runs), m_null_cpu = median(null_cpu, (int)runs);
	printf("medians of %ld runs: dd %.0f MB/s, jlog to a file %.0f MB/s (%.0f records/s, "
	       "%.1f B/line), jlog/dd %.3f; jlog to /dev/null %.0f records/s\n",
	       runs, m_dd, m_file, m_rec, line_bytes, m_ratio, m_null);
	printf("CPU per GB written: dd %.2f s; jlog %.2f s user + %.2f s system (both threads); "
	       "CPU per record to /dev/null: %.0f ns\n",
	       m_dd_cpu, m_user, m_sys, m_null_cpu);
	printf("{\"runs\":%ld,\"mb\":%ld,\"dd_mb_per_s\":%.1f,\"file_mb_per_s\":%.1f,"
	       "\"file_rec_per_s\":%.0f,\"line_bytes\":%.1f,\"file_over_dd\":%.4f,"
	       "\"null_rec_per_s\":%.0f,\"dd_cpu_s_per_gb\":%.3f,\"file_user_s_per_gb\":%.3f,"
	       "\"file_sys_s_per_gb\":%.3f,\"null_cpu_ns_per_rec\":%.1f}\n",
	       runs, mb, m_dd, m_file, m_rec, line_bytes, m_ratio, m_null, m_dd_cpu, m_user,
	       m_sys, m_null_cpu);
	return 0;
}
