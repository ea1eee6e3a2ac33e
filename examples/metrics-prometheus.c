/*
 * jlog's counters in the Prometheus text exposition format (version
 * 0.0.4): jlog_get_stats() for the logger, jlog_get_sink_stats() for each
 * sink, labelled with its id and target. A service would serve this text
 * on its /metrics endpoint; this program logs a few records to two files
 * and prints it once.
 *
 *   metrics-prometheus [--records N] DIR
 *
 * writes DIR/app.jsonl (sink 0, INFO) and DIR/errors.jsonl (WARNING),
 * logs N records at INFO and N / 5 at WARNING, and prints the metrics on
 * stdout.
 */
#include <jlog.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A metric's HELP and TYPE lines, then its sample without labels. */
static void metric(FILE *out, const char *name, const char *type, const char *help,
                   uint64_t value)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type,
	        name, value);
}

/* A label value: backslash, double quote and line feed escaped, as the
 * format requires. */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

struct sink_metric {
	const char *name, *type, *help;
	uint64_t (*get)(const jlog_sink_stats *s);
};

static uint64_t s_written(const jlog_sink_stats *s) { return s->written; }
static uint64_t s_bytes(const jlog_sink_stats *s) { return s->bytes_written; }
static uint64_t s_errors(const jlog_sink_stats *s) { return s->write_errors; }
static uint64_t s_lost(const jlog_sink_stats *s) { return s->lost; }

static const struct sink_metric sink_metrics[] = {
	{"jlog_sink_written_total", "counter", "Lines the sink wrote whole.", s_written},
	{"jlog_sink_bytes_written_total", "counter", "Bytes the sink accepted, in whole lines.",
	 s_bytes},
	{"jlog_sink_write_errors_total", "counter", "Failed writes of a batch of lines.",
	 s_errors},
	{"jlog_sink_lost_total", "counter", "Lines formatted for the sink but not written whole.",
	 s_lost},
};

/* Every metric of @log and of its sinks @ids (@n of them). Returns 0, or
 * a negative errno when the counters could not be read. */
static int render(FILE *out, jlog_logger *log, const int *ids, size_t n)
{
	jlog_stats st;
	int rc = jlog_get_stats(log, &st);
	if (rc < 0)
		return rc;
	metric(out, "jlog_logged_total", "counter", "Records accepted into the ring.", st.logged);
	metric(out, "jlog_dropped_total", "counter",
	       "Records refused because the ring was full, or logged after close.", st.dropped);
	metric(out, "jlog_written_total", "counter", "Lines written whole, summed over the sinks.",
	       st.written);
	metric(out, "jlog_truncated_total", "counter", "Records with a truncated value.",
	       st.truncated);
	metric(out, "jlog_write_errors_total", "counter", "Failed writes to a sink.",
	       st.write_errors);
	metric(out, "jlog_bytes_written_total", "counter", "Bytes the sinks accepted.",
	       st.bytes_written);
	metric(out, "jlog_lost_total", "counter", "Lines formatted but not written whole.",
	       st.lost);
	metric(out, "jlog_sampled_out_total", "counter",
	       "Records that sampling or a rate limit suppressed.", st.sampled_out);
	metric(out, "jlog_deferred_written_total", "counter",
	       "Flight recorder records written before a trigger.", st.deferred_written);
	metric(out, "jlog_deferred_discarded_total", "counter",
	       "Flight recorder records pushed out or left at close.", st.deferred_discarded);
	metric(out, "jlog_queue_size_bytes", "gauge", "Capacity of the ring.", st.queue_size);
	metric(out, "jlog_queue_high_water_bytes", "gauge", "Most bytes the ring held.",
	       st.queue_high_water);

	jlog_sink_stats ss[16];
	if (n > sizeof(ss) / sizeof(ss[0]))
		n = sizeof(ss) / sizeof(ss[0]);
	for (size_t i = 0; i < n; i++) {
		rc = jlog_get_sink_stats(log, ids[i], &ss[i]);
		if (rc < 0)
			return rc;
	}
	for (size_t m = 0; m < sizeof(sink_metrics) / sizeof(sink_metrics[0]); m++) {
		const struct sink_metric *sm = &sink_metrics[m];
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", sm->name, sm->help, sm->name, sm->type);
		for (size_t i = 0; i < n; i++) {
			fprintf(out, "%s{sink=\"%d\",target=\"", sm->name, ss[i].id);
			label_value(out, ss[i].target);
			fprintf(out, "\"} %" PRIu64 "\n", sm->get(&ss[i]));
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long records = 10;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
			records = atol(argv[++i]);
		else
			dir = argv[i];
	}
	if (!dir || records < 0) {
		fprintf(stderr, "usage: %s [--records N] DIR\n", argv[0]);
		return 2;
	}
	char app[4096], errors[4096];
	snprintf(app, sizeof(app), "%s/app.jsonl", dir);
	snprintf(errors, sizeof(errors), "%s/errors.jsonl", dir);

	jlog_options o;
	jlog_options_init(&o);
	o.sink = app;
	jlog_logger *log;
	if (jlog_open(&log, &o) < 0) {
		fprintf(stderr, "jlog_open: %s\n", jlog_last_error());
		return 1;
	}
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = errors;
	so.level = JLOG_LEVEL_WARNING;
	int ids[2] = {0, jlog_add_sink(log, &so)};
	if (ids[1] < 0) {
		fprintf(stderr, "jlog_add_sink: %s\n", jlog_last_error());
		jlog_close(log);
		return 1;
	}
	for (long i = 0; i < records; i++) {
		JLOG_INFO(log, "request handled", JLOG_INT("n", i));
		if (i % 5 == 4)
			JLOG_WARNING(log, "slow request", JLOG_INT("n", i));
	}
	int rc = jlog_flush(log);
	if (rc == 0)
		rc = render(stdout, log, ids, 2);
	if (rc < 0)
		fprintf(stderr, "metrics: %s\n", jlog_last_error());
	jlog_close(log);
	return rc < 0 ? 1 : 0;
}
