/*
 * jlog-bench-encode - the JSON encoder alone: how long jlog__encode_json()
 * takes to turn one decoded record into one line.
 *
 * Each case is a record built once, the way a log call builds it (a
 * struct jlog__rec_hdr, the message, then every field through
 * jlog__field_write()), and decoded once with jlog__record_decode(). Each
 * run then encodes the same view N times into one jlog__buf, emptied
 * (not freed) before every call, so no allocation is timed. The cases:
 *
 *   standard  the record of jlog-bench: "request handled", user, status,
 *             latency_ms, cached, path
 *   escapes   one string of about 1 KiB in which many bytes need work:
 *             quotes, backslashes, control characters, DEL, U+2028 and
 *             non-ASCII text (2-, 3- and 4-byte UTF-8) to validate
 *   fields20  20 fields of mixed types: 6 strings, 4 ints, 2 uints,
 *             4 doubles, 2 bools, a null and a JSON array
 *
 * The time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that a
 * preemption by another process does not count; the wall time is in the
 * JSON as well. Each figure is the median of --runs runs (default 5). The
 * record's second never changes, so the encoder's per-thread cache of the
 * formatted second always hits, as it does for most lines of a busy log.
 *
 * Instructions per record come from the hardware counter
 * (perf_event_open) when the kernel gives access to it; in a VM or a
 * container it usually does not, and the table says n/a. A fixed
 * --iterations count makes a valgrind run deterministic instead; count
 * only what jlog__encode_json() executes, one case at a time:
 *
 *   valgrind --tool=callgrind --toggle-collect=jlog__encode_json \
 *       --callgrind-out-file=/tmp/encode.cg \
 *       BUILDDIR/bench/jlog-bench-encode --case standard --runs 1 \
 *       --iterations 100000
 *   callgrind_annotate /tmp/encode.cg | grep 'PROGRAM TOTALS'
 *
 * and divide the Ir total by "encode_calls" in the JSON line (runs times
 * iterations, plus one call that checks the line with jansson).
 *
 * The output is a table, then one line of JSON.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), getopt_long() */
#endif

#include "jlog-private.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define DEFAULT_RUNS 5
#define MAX_RUNS 1001
#define TARGET_RUN_NS 200000000ull /* calibrated runs last about 0.2 s */
#define ESCAPES_LEN 1024           /* bytes of the long string */

/* One case: a record and its decoded view. */
struct bench_case {
	const char *name;
	const char *what;
	uint8_t *bytes; /* the record */
	size_t len;
	struct jlog__rec_view view;
	size_t nfields;
};

/* The figures of one case. */
struct result {
	uint64_t iterations;   /* per run */
	uint64_t encode_calls; /* in total, the check included */
	size_t line_bytes;
	double cpu_ns, wall_ns; /* per record, medians */
	double instructions;    /* per record, median; < 0: not available */
};

/* ------------------------------------------------------------------------ */
/* Building the records                                                     */
/* ------------------------------------------------------------------------ */

/* Lay out a record as jlog__log() does, without truncation, and decode it. */
static int build_record(struct bench_case *c, const char *msg,
                        const jlog_field *fields, size_t n)
{
	static jlog_callsite cs = {__FILE__, "handle_request", 42, 0};
	const size_t msg_len = strlen(msg);
	struct jlog__rec_hdr h;
	size_t total = sizeof(h) + msg_len;
	uint8_t *q;

	for (size_t i = 0; i < n; i++)
		total += jlog__field_size(&fields[i]);
	c->bytes = malloc(total);
	if (!c->bytes)
		return -ENOMEM;
	memset(&h, 0, sizeof(h));
	h.time_ns = jlog__now_ns();
	h.callsite = jlog__callsite_id(&cs);
	h.tid = jlog__gettid();
	h.msg_len = (uint32_t)msg_len;
	h.nfields = (uint32_t)n;
	h.level = JLOG_LEVEL_INFO;
	q = c->bytes;
	memcpy(q, &h, sizeof(h));
	q += sizeof(h);
	memcpy(q, msg, msg_len);
	q += msg_len;
	for (size_t i = 0; i < n; i++)
		q += jlog__field_write(q, &fields[i], SIZE_MAX);
	c->len = (size_t)(q - c->bytes);
	c->nfields = n;
	if (c->len != total || !jlog__record_decode(c->bytes, c->len, &c->view))
		return -EINVAL;
	return 0;
}

/*
 * About 1 KiB of text in which roughly every third byte needs an escape or
 * a UTF-8 check, cut at a character boundary.
 */
static size_t make_escapes(char *out, size_t cap)
{
	static const char piece[] =
	        "say \"hi\" \\ C:\\dir\\file\t|\n|\r|\x01\x1f\x7f| "
	        "caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	        "\xe2\x80\xa8 \xf0\x9f\x98\x80 ";
	size_t n = 0;

	while (n + sizeof(piece) - 1 <= cap) {
		memcpy(out + n, piece, sizeof(piece) - 1);
		n += sizeof(piece) - 1;
	}
	/* Fill up with a prefix of the piece, cut before a UTF-8 sequence
	 * that would not fit. */
	for (size_t i = 0; n < cap; i++) {
		unsigned char ch = (unsigned char)piece[i];
		size_t seq = ch < 0x80 ? 1 : ch < 0xe0 ? 2 : ch < 0xf0 ? 3 : 4;

		if (n + seq > cap)
			break;
		memcpy(out + n, piece + i, seq);
		n += seq;
		i += seq - 1;
	}
	return n;
}

static int build_cases(struct bench_case *cases, json_t **tags, char *escapes)
{
	size_t elen = make_escapes(escapes, ESCAPES_LEN);
	int err;

	cases[0].name = "standard";
	cases[0].what = "the jlog-bench record: 5 fields";
	err = build_record(&cases[0], "request handled",
	                   (const jlog_field[]){
	                           JLOG_STR("user", "alice"),
	                           JLOG_INT("status", 200),
	                           JLOG_DOUBLE("latency_ms", 12.5),
	                           JLOG_BOOL("cached", true),
	                           JLOG_STR("path", "/api/v1/items"),
	                   },
	                   5);
	if (err < 0)
		return err;

	cases[1].name = "escapes";
	cases[1].what = "a 1 KiB string full of escapes and UTF-8";
	err = build_record(&cases[1], "request handled",
	                   (const jlog_field[]){
	                           JLOG_STRN("body", escapes, elen),
	                   },
	                   1);
	if (err < 0)
		return err;

	*tags = json_pack("[sss]", "beta", "eu", "mobile");
	if (!*tags)
		return -ENOMEM;
	cases[2].name = "fields20";
	cases[2].what = "20 fields of mixed types";
	err = build_record(&cases[2], "request handled",
	                   (const jlog_field[]){
	                           JLOG_STR("user", "alice"),
	                           JLOG_STR("path", "/api/v1/items"),
	                           JLOG_STR("method", "GET"),
	                           JLOG_STR("host", "api.example.com"),
	                           JLOG_STR("region", "eu-west-1"),
	                           JLOG_STR("trace_id",
	                                    "4bf92f3577b34da6a3ce929d0e0e4736"),
	                           JLOG_INT("status", 200),
	                           JLOG_INT("bytes_in", 512),
	                           JLOG_INT("bytes_out", 18234),
	                           JLOG_INT("retries", -1),
	                           JLOG_UINT("request_id", UINT64_C(9007199254740993)),
	                           JLOG_UINT("shard", 7),
	                           JLOG_DOUBLE("latency_ms", 12.5),
	                           JLOG_DOUBLE("db_ms", 3.141592653589793),
	                           JLOG_DOUBLE("cpu_ms", 0.1),
	                           JLOG_DOUBLE("ratio", 1e-7),
	                           JLOG_BOOL("cached", true),
	                           JLOG_BOOL("authenticated", false),
	                           JLOG_NULL("error"),
	                           JLOG_JSON("tags", *tags),
	                   },
	                   20);
	return err;
}

/* ------------------------------------------------------------------------ */
/* Measuring                                                                */
/* ------------------------------------------------------------------------ */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A counter of the instructions this thread retires in user space, or -1
 * when the kernel (or the hypervisor) does not provide one. */
static int instructions_open(void)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = PERF_COUNT_HW_INSTRUCTIONS;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static uint64_t instructions_read(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* Encode @c @n times; the figures of the run go to the out-parameters. */
static void run_once(const struct bench_case *c, struct jlog__buf *b,
                     const struct jlog__line_ctx *ctx, uint64_t n, int perf_fd,
                     uint64_t *cpu_ns, uint64_t *wall_ns, uint64_t *instr)
{
	uint64_t cpu0, wall0, ins0 = 0;

	if (perf_fd >= 0) {
		ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0);
		ins0 = instructions_read(perf_fd);
	}
	wall0 = clock_ns(CLOCK_MONOTONIC);
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (uint64_t i = 0; i < n; i++) {
		b->len = 0;
		jlog__encode_json(b, &c->view, ctx);
	}
	*cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	*wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;
	if (perf_fd >= 0) {
		*instr = instructions_read(perf_fd) - ins0;
		ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Encode once and parse the line with jansson: one object with the
 * record's fields. Returns the line's length, 0 if it is wrong.
 */
static size_t check_line(const struct bench_case *c, struct jlog__buf *b,
                         const struct jlog__line_ctx *ctx)
{
	json_error_t jerr;
	json_t *obj;
	size_t len;

	b->len = 0;
	jlog__encode_json(b, &c->view, ctx);
	len = b->len;
	if (b->failed || len == 0 || b->p[len - 1] != '\n' ||
	    memchr(b->p, '\n', len - 1)) {
		fprintf(stderr, "jlog-bench-encode: %s: not one line\n", c->name);
		return 0;
	}
	obj = json_loadb(b->p, len - 1, JSON_REJECT_DUPLICATES, &jerr);
	/* time, level, message, file, line, function, pid, tid + fields */
	if (!obj || json_object_size(obj) != 8 + c->nfields) {
		fprintf(stderr, "jlog-bench-encode: %s: bad line (%s): %.*s",
		        c->name, obj ? "wrong number of keys" : jerr.text,
		        (int)len, b->p);
		len = 0;
	}
	json_decref(obj);
	return len;
}

/*
 * Choose how many records a run encodes so that it lasts about
 * TARGET_RUN_NS: double a trial count until it takes 20 ms, then scale.
 */
static uint64_t calibrate(const struct bench_case *c, struct jlog__buf *b,
                          const struct jlog__line_ctx *ctx, uint64_t *calls)
{
	uint64_t n = 1000, cpu, wall, ins;

	for (;;) {
		run_once(c, b, ctx, n, -1, &cpu, &wall, &ins);
		*calls += n;
		if (cpu >= TARGET_RUN_NS / 10 || n >= (UINT64_C(1) << 40))
			break;
		n *= 2;
	}
	if (cpu == 0)
		return n;
	return (uint64_t)((double)n * (double)TARGET_RUN_NS / (double)cpu) + 1;
}

static int measure(const struct bench_case *c, uint64_t iterations, int runs,
                   int perf_fd, struct result *r)
{
	const struct jlog__line_ctx ctx = {.pid = getpid()};
	struct jlog__buf b;
	double cpu[MAX_RUNS], wall[MAX_RUNS], ins[MAX_RUNS];
	int err = 0;

	memset(r, 0, sizeof(*r));
	jlog__buf_init(&b);
	r->line_bytes = check_line(c, &b, &ctx);
	r->encode_calls = 1;
	if (r->line_bytes == 0) {
		err = -EINVAL;
		goto out;
	}
	r->iterations = iterations ? iterations
	                           : calibrate(c, &b, &ctx, &r->encode_calls);
	for (int i = 0; i < runs; i++) {
		uint64_t cpu_ns, wall_ns, instr = 0;

		run_once(c, &b, &ctx, r->iterations, perf_fd, &cpu_ns, &wall_ns,
		         &instr);
		cpu[i] = (double)cpu_ns / (double)r->iterations;
		wall[i] = (double)wall_ns / (double)r->iterations;
		ins[i] = (double)instr / (double)r->iterations;
	}
	r->encode_calls += (uint64_t)runs * r->iterations;
	r->cpu_ns = median(cpu, (size_t)runs);
	r->wall_ns = median(wall, (size_t)runs);
	r->instructions = perf_fd >= 0 ? median(ins, (size_t)runs) : -1;
	if (b.failed)
		err = -ENOMEM;
out:
	jlog__buf_finish(&b);
	return err;
}

/* ------------------------------------------------------------------------ */
/* Output and command line                                                  */
/* ------------------------------------------------------------------------ */

/* "1234567" as "1,234,567" in @buf. */
static const char *thousands(char *buf, size_t size, uint64_t v)
{
	char digits[32];
	size_t n, j = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v);
	for (size_t i = 0; i < n && j + 2 < size; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = digits[i];
	}
	buf[j] = '\0';
	return buf;
}

static void usage(FILE *fp)
{
	fprintf(fp,
	        "usage: jlog-bench-encode [options]\n"
	        "  --runs R           runs per case; medians are reported "
	        "(default %d)\n"
	        "  --iterations N     records encoded per run (default: enough\n"
	        "                     for about 0.2 s of CPU time); fix it for\n"
	        "                     valgrind --tool=callgrind\n"
	        "  --case NAME        only this case: standard, escapes, fields20\n"
	        "  --json-only        print only the JSON line\n",
	        DEFAULT_RUNS);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return false;
	*out = (uint64_t)v;
	return true;
}

int main(int argc, char **argv)
{
	enum { O_RUNS = 256, O_ITER, O_CASE, O_JSON, O_HELP };
	static const struct option opts[] = {
		{"runs", required_argument, NULL, O_RUNS},
		{"iterations", required_argument, NULL, O_ITER},
		{"case", required_argument, NULL, O_CASE},
		{"json-only", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	struct bench_case cases[3];
	struct result results[3];
	char escapes[ESCAPES_LEN];
	const char *only = NULL;
	uint64_t iterations = 0, v;
	int runs = DEFAULT_RUNS, perf_fd, c, status = 0;
	bool json_only = false, any = false;
	json_t *tags = NULL, *report, *list;
	char x[32];
	char *line;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_RUNS:
			if (!parse_u64(optarg, MAX_RUNS, &v))
				goto bad;
			runs = (int)v;
			break;
		case O_ITER:
			if (!parse_u64(optarg, UINT64_C(1) << 40, &v))
				goto bad;
			iterations = v;
			break;
		case O_CASE:
			only = optarg;
			break;
		case O_JSON:
			json_only = true;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	memset(cases, 0, sizeof(cases));
	if (build_cases(cases, &tags, escapes) < 0) {
		fprintf(stderr, "jlog-bench-encode: cannot build the records\n");
		status = 2;
		goto out;
	}
	perf_fd = instructions_open();

	if (!json_only)
		printf("jlog-bench-encode: jlog %s, jlog__encode_json() alone, "
		       "median of %d run%s, CPU time of this thread\n"
		       "%-10s %6s %10s %10s %14s %8s %12s %14s\n",
		       JLOG_VERSION, runs, runs == 1 ? "" : "s", "case", "bytes",
		       "ns/record", "wall ns", "records/s", "MB/s",
		       "instr/record", "records/run");
	list = json_array();
	for (size_t i = 0; i < 3; i++) {
		struct bench_case *bc = &cases[i];
		struct result *r = &results[i];
		char ins[32], per_run[32];
		json_t *o;

		if (only && strcmp(only, bc->name))
			continue;
		any = true;
		if (measure(bc, iterations, runs, perf_fd, r) < 0) {
			status = 1;
			continue;
		}
		if (r->instructions >= 0)
			snprintf(ins, sizeof(ins), "%.0f", r->instructions);
		else
			snprintf(ins, sizeof(ins), "n/a");
		if (!json_only)
			printf("%-10s %6zu %10.1f %10.1f %14s %8.0f %12s %14s\n",
			       bc->name, r->line_bytes, r->cpu_ns, r->wall_ns,
			       thousands(x, sizeof(x), (uint64_t)(1e9 / r->cpu_ns)),
			       (double)r->line_bytes * 1e3 / r->cpu_ns, ins,
			       thousands(per_run, sizeof(per_run), r->iterations));
		o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:f}",
		              "case", bc->name, "what", bc->what, "line_bytes",
		              (json_int_t)r->line_bytes, "iterations",
		              (json_int_t)r->iterations, "encode_calls",
		              (json_int_t)r->encode_calls, "ns_per_record",
		              round(r->cpu_ns * 10) / 10, "wall_ns_per_record",
		              round(r->wall_ns * 10) / 10, "records_per_s",
		              (json_int_t)(1e9 / r->cpu_ns), "mb_per_s",
		              round((double)r->line_bytes * 1e4 / r->cpu_ns) / 10);
		json_object_set_new(o, "instructions_per_record",
		                    r->instructions >= 0
		                            ? json_integer((json_int_t)(r->instructions + 0.5))
		                            : json_null());
		json_array_append_new(list, o);
	}
	if (!any) {
		fprintf(stderr, "jlog-bench-encode: unknown case '%s'\n", only);
		json_decref(list);
		status = 2;
		goto out;
	}
	if (!json_only) {
		if (perf_fd < 0)
			printf("instr/record: no hardware counter here; see the "
			       "callgrind command at the top of bench-encode.c\n");
		printf("\n");
	}
	report = json_pack("{s:s, s:s, s:i, s:s, s:o}", "benchmark",
	                   "jlog-bench-encode", "jlog_version", JLOG_VERSION,
	                   "runs", runs, "time", "thread_cpu", "results", list);
	line = report ? json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(10))
	              : NULL;
	if (line)
		printf("%s\n", line);
	free(line);
	json_decref(report);
	if (perf_fd >= 0)
		close(perf_fd);
out:
	for (size_t i = 0; i < 3; i++)
		free(cases[i].bytes);
	json_decref(tags);
	return status;
bad:
	fprintf(stderr, "jlog-bench-encode: bad value '%s' for --%s\n", optarg,
	        opts[c - O_RUNS].name);
	return 2;
}
