/*
 * jlog-pretty's throughput: N lines of jlog's standard record (the
 * default schema with four fields, as the README shows it) are written to
 * a temporary file, then jlog-pretty reads the file on stdin and writes
 * to /dev/null, --runs times; the figures are the medians of the runs in
 * lines per second of wall time (the whole process, start-up included)
 * and of CPU time (user + system, from wait4): on a machine shared with
 * other work the wall time says more about the neighbours, the CPU time
 * about jlog-pretty.
 *
 *   jlog-pretty-bench --program build/tools/jlog-pretty [--lines N] [--runs R]
 *                     [-- jlog-pretty options...]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, long n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *const users[] = {"alice", "bob", "carol", "dave"};
static const char *const levels[] = {"INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR"};

int main(int argc, char **argv)
{
	const char *prog = NULL;
	long lines = 1000000, runs = 5;
	int extra = argc;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--program") == 0 && i + 1 < argc) {
			prog = argv[++i];
		} else if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) {
			lines = atol(argv[++i]);
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = atol(argv[++i]);
		} else if (strcmp(argv[i], "--") == 0) {
			extra = i + 1;
			break;
		} else {
			fprintf(stderr, "usage: %s --program PATH [--lines N] [--runs R] [-- OPTIONS]\n",
			        argv[0]);
			return 2;
		}
	}
	if (!prog || lines <= 0 || runs <= 0 || runs > 100) {
		fprintf(stderr, "%s: --program PATH is needed; --lines and --runs > 0\n", argv[0]);
		return 2;
	}

	char path[] = "/tmp/jlog-pretty-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	unlink(path); /* the descriptor keeps it; nothing is left behind */
	FILE *f = fdopen(dup(fd), "w");
	if (!f) {
		perror("fdopen");
		return 1;
	}
	long long t0 = 1796204262LL;
	for (long i = 0; i < lines; i++) {
		long long us = t0 * 1000000 + i * 137;
		time_t sec = (time_t)(us / 1000000);
		struct tm tm;
		gmtime_r(&sec, &tm);
		fprintf(f,
		        "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ\",\"level\":\"%s\","
		        "\"message\":\"request handled\",\"logger\":\"api\",\"file\":\"server.c\","
		        "\"line\":42,\"function\":\"handle\",\"pid\":4242,\"tid\":%ld,\"user\":\"%s\","
		        "\"status\":%d,\"latency_ms\":%.1f,\"cached\":%s}\n",
		        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		        us % 1000000, levels[i % 6], 4243 + i % 4, users[i % 4], i % 10 ? 200 : 500,
		        (double)(i % 1000) / 10, i % 3 ? "true" : "false");
	}
	if (fclose(f) != 0) {
		perror("write");
		return 1;
	}

	double t[100], cpu[100];
	for (long r = 0; r < runs; r++) {
		lseek(fd, 0, SEEK_SET);
		double start = now_s();
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(fd, 0);
			dup2(null, 1);
			char *av[64];
			int n = 0;
			av[n++] = (char *)prog;
			for (int i = extra; i < argc && n < 62; i++)
				av[n++] = argv[i];
			av[n] = NULL;
			execv(prog, av);
			perror(prog);
			_exit(127);
		}
		int st;
		struct rusage ru;
		if (pid < 0 || wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "%s: %s failed\n", argv[0], prog);
			return 1;
		}
		t[r] = now_s() - start;
		cpu[r] = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp);
	qsort(cpu, (size_t)runs, sizeof(cpu[0]), cmp);
	printf("jlog-pretty: %ld lines, median of %ld runs: %.0f lines/s wall (%.3f s; fastest "
	       "%.0f, slowest %.0f), %.0f lines/s of CPU time (%.3f s)\n",
	       lines, runs, (double)lines / median(t, runs), median(t, runs), (double)lines / t[0],
	       (double)lines / t[runs - 1], (double)lines / median(cpu, runs), median(cpu, runs));
	return 0;
}
