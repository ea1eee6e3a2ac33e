/*
 * jlog-bench-redact - the writer's cost of redaction per record: decode,
 * redact (with --rules 0, none: what the writer does without rules), and
 * encode one JSON line, as the writer does for each record.
 *
 * The record is jlog-bench's ("request handled", user, status,
 * latency_ms, cached, path); --secret adds a "password" field that a rule
 * replaces. The ten rules are a typical set: exact names, globs and
 * paths. --detect adds the three detectors (which scan the message and
 * every string value).
 *
 * For a stable figure count instructions with callgrind, only inside
 * one_record():
 *
 *   valgrind --tool=callgrind --toggle-collect=one_record \
 *       --callgrind-out-file=/tmp/redact.cg \
 *       BUILDDIR/bench/jlog-bench-redact --rules 10 --iterations 100000
 *   callgrind_annotate /tmp/redact.cg | grep 'PROGRAM TOTALS'
 *
 * and divide the total by the iterations. Without valgrind it prints
 * the CPU time per record.
 */
#include "jlog-private.h"
#include "redact.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rules[10] = {
	"password", "*token*", "api_key*", "secret", "authorization",
	"cookie",   "*passwd*", "card.number", "**.ssn", "session_id",
};

static uint8_t rec[4096];
static size_t rec_len;
static struct jlog__buf out;
static struct jlog__redact *red;
static const struct jlog__line_ctx ctx = {.pid = 1234};

static void build(bool secret)
{
	static jlog_callsite cs = {__FILE__, "handle_request", 42, 0};
	jlog_field f[6] = {
		JLOG_STR("user", "alice"),   JLOG_INT("status", 200),
		JLOG_DOUBLE("latency_ms", 12.5), JLOG_BOOL("cached", true),
		JLOG_STR("path", "/api/v1/items"), JLOG_STR("password", "hunter2"),
	};
	size_t n = secret ? 6 : 5;
	const char *msg = "request handled";
	struct jlog__rec_hdr h;
	memset(&h, 0, sizeof(h));
	h.time_ns = jlog__now_ns();
	h.callsite = jlog__callsite_id(&cs);
	h.tid = 1;
	h.msg_len = (uint32_t)strlen(msg);
	h.nfields = (uint32_t)n;
	h.level = JLOG_LEVEL_INFO;
	uint8_t *q = rec;
	memcpy(q, &h, sizeof(h));
	q += sizeof(h);
	memcpy(q, msg, h.msg_len);
	q += h.msg_len;
	for (size_t i = 0; i < n; i++)
		q += jlog__field_write(q, &f[i], SIZE_MAX);
	rec_len = (size_t)(q - rec);
}

/* What the writer does for one record and one JSON sink. */
__attribute__((noinline)) static void one_record(void)
{
	struct jlog__rec_view v, tmp;
	/* Decoded as the writer decodes (writer.c's drain(): the fields
	 * kept for the encoder and the redaction). */
	struct jlog__field_view fv[32];
	if (!jlog__record_decode_into(rec, rec_len, &v, fv, 32, NULL))
		abort();
	const struct jlog__rec_view *sv = &v;
	if (red)
		sv = jlog__redact_view(red, &v, &tmp);
	out.len = 0;
	jlog__encode_json(&out, sv, &ctx);
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long iterations = 1000000, nrules = 10;
	bool secret = false, detect = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rules") && i + 1 < argc)
			nrules = atol(argv[++i]);
		else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iterations = atol(argv[++i]);
		else if (!strcmp(argv[i], "--secret"))
			secret = true;
		else if (!strcmp(argv[i], "--detect"))
			detect = true;
		else {
			fprintf(stderr, "usage: %s [--rules 0..10] [--secret] [--detect] "
			                "[--iterations N]\n", argv[0]);
			return 2;
		}
	}
	if (nrules < 0 || nrules > 10)
		nrules = 10;
	jlog_redact_options ro;
	jlog_redact_options_init(&ro);
	ro.keys = rules;
	ro.nkeys = (size_t)nrules;
	ro.detect = detect ? JLOG_DETECT_BEARER | JLOG_DETECT_LUHN | JLOG_DETECT_KEYS : 0;
	if (jlog__redact_compile(&ro, "redact", &red) < 0) {
		fprintf(stderr, "%s\n", jlog_last_error());
		return 1;
	}
	jlog__buf_init(&out);
	build(secret);
	one_record();
	fwrite(out.p, 1, out.len, stdout);
	double t0 = cpu_s();
	for (long i = 0; i < iterations; i++)
		one_record();
	double t = cpu_s() - t0;
	printf("{\"rules\":%ld,\"secret\":%s,\"detect\":%s,\"iterations\":%ld,\"ns_per_record\":%.1f}\n",
	       nrules, secret ? "true" : "false", detect ? "true" : "false", iterations,
	       t * 1e9 / (double)iterations);
	jlog__redact_free(red);
	jlog__buf_finish(&out);
	return 0;
}
