/*
 * jlog-service - a small simulated HTTP service, written to show the jlog
 * API in use. Read it top to bottom; it runs in well under a second.
 *
 *     jlog-service                     JSON lines on stdout
 *     jlog-service /tmp/service.jsonl  ... appended to a file instead
 *     JLOG_LEVEL=debug jlog-service    ... with the DEBUG lines too
 *
 * It shows:
 *   - opening a root logger from jlog_options, with the level taken from
 *     the environment (jlog_level_parse);
 *   - a named logger per component (jlog_named), shared by every thread;
 *   - a child logger per request that carries the request's fields on every
 *     line (JLOG_WITH), closed when the request is done;
 *   - typed fields, a jansson value as a field (JLOG_JSON), a printf-style
 *     message (JLOG_INFOF), and reporting an errno;
 *   - the logger's counters (jlog_get_stats) and an orderly shutdown.
 *
 * The simulated requests come from rand_r() with fixed seeds, so every run
 * logs the same events (only times and thread ids change).
 */
#define _POSIX_C_SOURCE 200809L /* rand_r(), nanosleep() */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <jlog.h>

#define WORKERS 4
#define REQUESTS_PER_WORKER 6
#define SLOW_MS 250.0 /* a request slower than this logs a WARNING */

struct route {
	const char *method;
	const char *path;
};

static const struct route routes[] = {
	{"GET", "/api/v1/items"},
	{"POST", "/api/v1/items"},
	{"GET", "/api/v1/items/42"},
	{"DELETE", "/api/v1/items/7"},
	{"GET", "/healthz"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct worker {
	pthread_t thread;
	int id;
	/* One logger handle may be used by any number of threads at once. */
	jlog_logger *http;
	unsigned seed;
	int handled;
	int failed;
};

/* Simulate the work: sleep for 1/100 of the pretended latency. */
static void pretend_work(double latency_ms)
{
	struct timespec ts = {0, (long)(latency_ms * 10000.0)};

	nanosleep(&ts, NULL);
}

/*
 * Deleting an item needs the item store, which this demo does not have: the
 * open(2) really fails, so the errno logged is a real one.
 */
static int delete_item(void)
{
	int fd = open("/nonexistent/jlog-service/items.db", O_RDWR);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void handle_request(struct worker *w, int n)
{
	const struct route *rt = &routes[(size_t)(w->id + n) % NROUTES];
	double latency_ms;
	jlog_logger *req, *log;
	char id[32];

	snprintf(id, sizeof(id), "req-%d-%03d", w->id, n);

	/*
	 * A child logger for this request: every line logged through it
	 * carries request_id, method and path, after the logger's own name
	 * ("http"). The fields are copied now, so `id` may live on the stack.
	 * On out-of-memory JLOG_WITH returns NULL; logging to NULL would go to
	 * the process-wide default logger, so fall back to the parent instead.
	 */
	req = JLOG_WITH(w->http, JLOG_STR("request_id", id),
	                JLOG_STR("method", rt->method), JLOG_STR("path", rt->path));
	log = req ? req : w->http;

	/*
	 * DEBUG is off unless JLOG_LEVEL says otherwise. When a level is off,
	 * the macro skips the call without evaluating its arguments, so a
	 * costly argument costs nothing then.
	 */
	JLOG_DEBUG(log, "request parsed",
	           JLOG_INT("header_bytes", 180 + 7 * (int)strlen(rt->path)),
	           JLOG_STR("user_agent", "curl/8.5.0"));

	/* Mostly quick, now and then very slow. */
	latency_ms = 2.0 + rand_r(&w->seed) % 4000 / 100.0;
	if (rand_r(&w->seed) % 8 == 0)
		latency_ms += 300.0 + rand_r(&w->seed) % 500;
	pretend_work(latency_ms);

	if (!strcmp(rt->method, "DELETE")) {
		int err = delete_item();

		if (err) {
			/*
			 * Log errno both as a number (to filter on) and as text
			 * (to read). glibc's strerror() returns a constant string
			 * for every errno it knows, so it is safe from several
			 * threads here; elsewhere prefer strerror_r().
			 */
			JLOG_ERROR(log, "request failed", JLOG_INT("status", 500),
			           JLOG_DOUBLE("latency_ms", latency_ms),
			           JLOG_INT("errno", err),
			           JLOG_STR("error", strerror(err)));
			w->failed++;
			goto done;
		}
	}

	if (!strcmp(rt->method, "POST")) {
		/*
		 * A jansson value as a field. JLOG_JSON borrows it: the value
		 * is serialized during the call, so it can be released right
		 * after. (If json_pack() failed, NULL would log null.)
		 */
		json_t *item = json_pack("{s:s, s:i, s:[s, s]}", "name", "widget",
		                         "quantity", 1 + rand_r(&w->seed) % 9,
		                         "tags", "blue", "small");

		JLOG_INFO(log, "item created", JLOG_JSON("item", item));
		json_decref(item);
	}

	JLOG_INFO(log, "request handled",
	          JLOG_INT("status", !strcmp(rt->method, "POST") ? 201 : 200),
	          JLOG_DOUBLE("latency_ms", latency_ms),
	          JLOG_INT("bytes", 64 + rand_r(&w->seed) % 8192));
	if (latency_ms > SLOW_MS)
		JLOG_WARNING(log, "slow request",
		             JLOG_DOUBLE("latency_ms", latency_ms),
		             JLOG_DOUBLE("threshold_ms", SLOW_MS));
done:
	w->handled++;
	/* Closing a child releases only the child; NULL is a no-op. */
	jlog_close(req);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int n = 1; n <= REQUESTS_PER_WORKER; n++)
		handle_request(w, n);
	/* A printf-style message; the format is checked by the compiler. */
	JLOG_INFOF(w->http, "worker %d finished: %d requests, %d failed", w->id,
	           w->handled, w->failed);
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker workers[WORKERS];
	jlog_logger *root, *http;
	jlog_options opts;
	jlog_stats stats;
	const char *env;
	int err, started = 0, handled = 0, failed = 0;

	/*
	 * Start from the defaults, then change what this program needs: later
	 * versions of jlog add fields to jlog_options, and jlog_options_init()
	 * gives them their defaults.
	 */
	jlog_options_init(&opts);
	opts.sink = argc > 1 ? argv[1] : "stdout";
	env = getenv("JLOG_LEVEL");
	if (env && *env) {
		int level = jlog_level_parse(env);

		if (level < 0) {
			fprintf(stderr, "jlog-service: JLOG_LEVEL=%s: %s\n", env,
			        jlog_strerror(level));
			return 2;
		}
		opts.level = level;
	}

	/* Every jlog call that can fail returns 0 or a negative errno. */
	err = jlog_open(&root, &opts);
	if (err < 0) {
		fprintf(stderr, "jlog-service: cannot log to %s: %s\n", opts.sink,
		        jlog_strerror(err));
		return 1;
	}
	JLOG_INFO(root, "service starting", JLOG_INT("workers", WORKERS),
	          JLOG_STR("sink", opts.sink),
	          JLOG_STR("min_level", jlog_level_name(jlog_get_level(root))),
	          JLOG_STR("jlog_version", JLOG_VERSION));

	/* Lines logged through this handle carry "logger":"http". */
	http = jlog_named(root, "http");
	if (!http) {
		JLOG_CRITICAL(root, "out of memory");
		jlog_close(root);
		return 1;
	}

	for (int i = 0; i < WORKERS; i++) {
		workers[i] = (struct worker){.id = i + 1, .http = http,
		                             .seed = 1000u + (unsigned)i};
		err = pthread_create(&workers[i].thread, NULL, worker_main,
		                     &workers[i]);
		if (err) {
			JLOG_ERROR(root, "cannot start worker",
			           JLOG_INT("worker", i + 1), JLOG_INT("errno", err),
			           JLOG_STR("error", strerror(err)));
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		handled += workers[i].handled;
		failed += workers[i].failed;
	}

	/* Close every child before its root. */
	jlog_close(http);
	JLOG_SUCCESS(root, "service stopped", JLOG_INT("requests", handled),
	             JLOG_INT("failed", failed));

	/*
	 * The counters. Flush first so that "written" includes every line
	 * above; this line itself is not counted in them. The keys avoid the
	 * names jlog reserves for its own schema ("time", "level", "message",
	 * "logger", "file", "line", "function", "pid", "tid", "truncated",
	 * "dropped"): a field named like one of those would be written as
	 * "fields.dropped".
	 */
	jlog_flush(root);
	if (jlog_get_stats(root, &stats) == 0)
		JLOG_INFO(root, "logger stats",
		          JLOG_UINT("records_logged", stats.logged),
		          JLOG_UINT("records_dropped", stats.dropped),
		          JLOG_UINT("records_written", stats.written),
		          JLOG_UINT("records_truncated", stats.truncated),
		          JLOG_UINT("write_errors", stats.write_errors),
		          JLOG_UINT("bytes_written", stats.bytes_written));

	/* Drains what is left, stops the writer thread and closes the sink. */
	jlog_close(root);
	return started == WORKERS ? 0 : 1;
}
