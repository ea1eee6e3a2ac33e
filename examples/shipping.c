/*
 * jlog-shipping - a service that keeps its logs in rotating files and
 * ships a copy to the host's syslog daemon (docs/GUIDE.md, sections 5
 * and 6, as one program).
 *
 *     jlog-shipping [--dir DIR] [--requests N] [--compression gz|zst|none]
 *                   [--syslog SINK]
 *
 *   - DIR/logs/orders.jsonl (default DIR "."): JSON lines, rotated every
 *     64 KiB, the 5 newest rotated files kept, compressed (gz by default);
 *   - --syslog tcp://127.0.0.1:514: the same records to rsyslog over TCP,
 *     framed as RFC 5424 (the level is the syslog severity, the JSON line
 *     the message);
 *   - stderr: WARNING and above as text, for whoever runs it by hand.
 *
 * WORKERS threads handle N requests in turn; every record carries the
 * worker and the worker's own sequence number ("seq"), so a reader can
 * tell that nothing was lost or duplicated (records of one thread are
 * written in the order they were logged). At the end it prints one JSON
 * line on stdout: {"requests":N,"records":R}, R the records logged.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jlog.h>

#define WORKERS 2

struct worker {
	pthread_t thread;
	int id;
	int requests;
	jlog_logger *http;
};

static const char *const routes[] = {"GET /orders", "POST /orders", "GET /orders/42",
                                     "DELETE /orders/7"};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int seq = 1; seq <= w->requests; seq++) {
		const char *route = routes[(unsigned)(seq + w->id) % 4];
		char id[32];

		snprintf(id, sizeof(id), "r-%d-%05d", w->id, seq);
		jlog_logger *req = JLOG_WITH(w->http, JLOG_STR("request_id", id),
		                             JLOG_INT("worker", w->id), JLOG_INT("seq", seq));
		jlog_logger *log = req ? req : w->http;
		int status = seq % 50 == 0 ? 503 : 200;

		/* One line per request, at the end, with the outcome; a
		 * failure is also an ERROR (docs/GUIDE.md, section 2). */
		if (status >= 500)
			JLOG_ERROR(log, "upstream unavailable", JLOG_STR("route", route),
			           JLOG_STR("upstream", "payments"));
		JLOG_INFO(log, "request handled", JLOG_STR("route", route),
		          JLOG_INT("status", status), JLOG_DOUBLE("latency_ms", 1.5 + seq % 7),
		          JLOG_INT("bytes", 200 + seq % 1000));
		jlog_close(req);
		if (seq % 10 == 0) {
			/* Now and then a pause, as a real service has. */
			struct timespec ts = {0, 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: jlog-shipping [--dir DIR] [--requests N] "
	                "[--compression gz|zst|none] [--syslog SINK]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *dir = ".", *compression = "gz", *syslog_sink = NULL;
	int requests = 1000;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--dir"))
			dir = argv[++i];
		else if (!strcmp(argv[i], "--requests"))
			requests = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--compression"))
			compression = argv[++i];
		else if (!strcmp(argv[i], "--syslog"))
			syslog_sink = argv[++i];
		else
			return usage();
	}
	if (requests < 1)
		return usage();

	/* The base: a logger named "orders" at INFO, whose stderr sink shows
	 * only WARNING and above, as text. */
	jlog_logger *root;
	if (jlog_open_config(&root, "{\"level\": \"INFO\", \"name\": \"orders\", \"sinks\": "
	                            "[{\"sink\": \"stderr\", \"level\": \"WARNING\", "
	                            "\"serialize\": false}]}") != 0) {
		fprintf(stderr, "jlog-shipping: %s\n", jlog_last_error());
		return 1;
	}

	/* The rotating files. A missing directory is an error of jlog_add_sink
	 * (-ENOENT, naming the path): make it first. */
	char logs[4096], path[4200];
	snprintf(logs, sizeof(logs), "%s/logs", dir);
	if (mkdir(logs, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "jlog-shipping: mkdir %s: %s\n", logs, strerror(errno));
		jlog_close(root);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/orders.jsonl", logs);
	jlog_sink_options files;
	jlog_sink_options_init(&files);
	files.sink = path;
	files.level = JLOG_LEVEL_INFO;
	files.rotation = "64 KiB";
	files.retention = "5 files";
	files.compression = compression;
	if (jlog_add_sink(root, &files) < 0) {
		fprintf(stderr, "jlog-shipping: %s\n", jlog_last_error());
		jlog_close(root);
		return 1;
	}

	/* The copy for the syslog daemon. The sink reconnects by itself and
	 * buffers while the daemon is away: the service never waits for it. */
	if (syslog_sink) {
		jlog_sink_options ship;
		jlog_sink_options_init(&ship);
		ship.sink = syslog_sink;
		ship.level = JLOG_LEVEL_INFO;
		ship.options = "{\"framing\": \"rfc5424\"}";
		if (jlog_add_sink(root, &ship) < 0) {
			fprintf(stderr, "jlog-shipping: %s\n", jlog_last_error());
			jlog_close(root);
			return 1;
		}
	}

	jlog_logger *http = jlog_named(root, "http");
	JLOG_INFO(root, "service starting", JLOG_INT("workers", WORKERS),
	          JLOG_STR("logs", path), JLOG_STR("syslog", syslog_sink ? syslog_sink : "none"));

	struct worker w[WORKERS];
	int started = 0;
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){.id = i + 1, .requests = requests, .http = http ? http : root};
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	jlog_close(http);
	JLOG_INFO(root, "service stopped", JLOG_INT("requests", started * requests));

	/* Counters before the close: a dropped or lost record is one the
	 * logs do not have. */
	jlog_stats st;
	int rc = jlog_flush(root);
	if (jlog_get_stats(root, &st) == 0)
		printf("{\"requests\":%d,\"records\":%llu,\"dropped\":%llu,\"lost\":%llu,"
		       "\"rotation_errors\":%llu}\n",
		       started * requests, (unsigned long long)st.logged,
		       (unsigned long long)st.dropped, (unsigned long long)st.lost,
		       (unsigned long long)st.rotation_errors);
	if (jlog_close(root) != 0 || rc != 0)
		return 1;
	return started == WORKERS ? 0 : 1;
}
