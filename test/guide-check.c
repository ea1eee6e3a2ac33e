/*
 * guide-check - the checks test/guide-snippets.sh makes on the snippets of
 * docs/GUIDE.md (and test/example-*.sh on the examples), with jansson and
 * the library itself:
 *
 *   guide-check config FILE
 *       FILE is a configuration document: open it with jlog_open_config()
 *       and close it. File sinks under /var/log/ are opened under
 *       ./var/log/ instead (created), so a document written for a server
 *       is checked in the current directory. Exit 0 when it opens, 1 (with
 *       jlog_last_error()) when it does not, 77 (SKIPPED, with the reason)
 *       when it needs what this build does not have yet: a sink string
 *       whose scheme no transport claims (tcp://, udp://, unix:,
 *       unixgram:, journald), or a key the library does not know yet
 *       ("redact").
 *       Sinks to the network or a socket (once their transport is built)
 *       are pointed at listeners of this program's own, on 127.0.0.1 or
 *       in the current directory (journald through its "socket" key), so
 *       what is checked is the document, not whether a server runs here.
 *   guide-check scheme SINK
 *       Exit 0 when a transport of this build claims the sink string SINK
 *       by its scheme, 1 when it would be taken as a file path.
 *   guide-check lines EXPECTED ACTUAL
 *       Both are JSON lines: the same number of lines, each an object with
 *       the same keys in the same order and equal values, except that the
 *       values of time, pid, tid and line only have to be of the same type
 *       (they change from run to run, or with the snippet's layout).
 *   guide-check jsonl FILE [MIN]
 *       Every line of FILE is a JSON object, and there are at least MIN
 *       lines (default 1).
 *   guide-check sequence FILE MESSAGE GROUP SEQ LAST [FIRST]
 *       Every line of FILE is a JSON object; among those whose "message"
 *       is MESSAGE, the integers SEQ of each value of GROUP follow each
 *       other (n, n + 1, ...: none lost, none twice), the last is LAST,
 *       and the first is FIRST when given. Prints the groups it saw.
 *
 * Messages go to stderr, one line, naming the line number that differs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline() */
#endif

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "jlog-private.h"
#include "transport.h"

#define SKIP 77

/* Sink strings of transports that may be absent from a build: a block
 * that names one is skipped until it is there. */
static const char *const pending_schemes[] = {"tcp://", "udp://", "unix:", "unixgram:",
                                              "journald"};
/* Keys of the document that may be absent: a block whose only error is
 * that one of these is unknown is skipped. */
static const char *const pending_keys[] = {"redact"};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static int scheme_known(const char *sink)
{
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.sink = sink;
	const struct jlog__transport_ops *k = jlog__transport_find(&so);
	return k != &jlog__transport_rotate && k != &jlog__transport_file;
}

/* The pending scheme @sink starts with, or NULL. */
static const char *pending_scheme(const char *sink)
{
	for (size_t i = 0; i < LEN(pending_schemes); i++) {
		size_t n = strlen(pending_schemes[i]);
		if (pending_schemes[i][n - 1] == ':' || pending_schemes[i][n - 1] == '/'
		            ? strncmp(sink, pending_schemes[i], n) == 0
		            : strcmp(sink, pending_schemes[i]) == 0)
			return pending_schemes[i];
	}
	return NULL;
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* The listeners of check_config(), closed (and their paths removed)
 * after the logger. */
#define MAX_LISTENERS 16
static int listeners[MAX_LISTENERS];
static char listener_paths[MAX_LISTENERS][108];
static size_t nlisteners;

/* A listener of @type (SOCK_STREAM, SOCK_DGRAM) on 127.0.0.1 (@path
 * NULL: its port in *port) or on the unix socket ./@path. -1 on error. */
static int listen_local(int type, const char *path, unsigned *port)
{
	if (nlisteners == MAX_LISTENERS)
		return -1;
	int fd = socket(path ? AF_UNIX : AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc;
	listener_paths[nlisteners][0] = '\0';
	if (path) {
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		if (!getcwd(un.sun_path, sizeof(un.sun_path) - 32)) {
			close(fd);
			return -1;
		}
		size_t n = strlen(un.sun_path);
		snprintf(un.sun_path + n, sizeof(un.sun_path) - n, "/%s", path);
		snprintf(listener_paths[nlisteners], sizeof(listener_paths[0]), "%s", un.sun_path);
		unlink(un.sun_path);
		rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
	} else {
		struct sockaddr_in in = {.sin_family = AF_INET,
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(in);
		rc = bind(fd, (struct sockaddr *)&in, sizeof(in));
		if (rc == 0)
			rc = getsockname(fd, (struct sockaddr *)&in, &len);
		*port = ntohs(in.sin_port);
	}
	if (rc == 0 && type == SOCK_STREAM)
		rc = listen(fd, 16);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	listeners[nlisteners++] = fd;
	return 0;
}

static void close_listeners(void)
{
	for (size_t i = 0; i < nlisteners; i++) {
		close(listeners[i]);
		if (listener_paths[i][0])
			unlink(listener_paths[i]);
	}
	nlisteners = 0;
}

/* Point the network or socket sink @s (of a transport this build has) at
 * a listener of ours. 0, or -1 when none could be made. */
static int redirect_sink(json_t *s, const char *t, size_t index)
{
	char sink[160], name[32];
	unsigned port = 0;
	snprintf(name, sizeof(name), "guide-%zu.sock", index);
	if (!strncmp(t, "tcp://", 6) || !strncmp(t, "udp://", 6)) {
		if (listen_local(t[0] == 't' ? SOCK_STREAM : SOCK_DGRAM, NULL, &port) < 0)
			return -1;
		snprintf(sink, sizeof(sink), "%.6s127.0.0.1:%u", t, port);
	} else if (!strncmp(t, "unix:", 5) || !strncmp(t, "unixgram:", 9)) {
		bool stream = t[4] == ':';
		if (listen_local(stream ? SOCK_STREAM : SOCK_DGRAM, name, NULL) < 0)
			return -1;
		snprintf(sink, sizeof(sink), "%s%s", stream ? "unix:" : "unixgram:",
		         listener_paths[nlisteners - 1]);
	} else if (!strcmp(t, "journald")) {
		if (listen_local(SOCK_DGRAM, name, NULL) < 0)
			return -1;
		json_object_set_new(s, "socket", json_string(listener_paths[nlisteners - 1]));
		return 0;
	} else {
		return 0;
	}
	json_object_set_new(s, "sink", json_string(sink));
	return 0;
}

static int check_config(const char *file)
{
	json_error_t je;
	json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		fprintf(stderr, "not JSON: line %d column %d: %s\n", je.line, je.column, je.text);
		return 1;
	}
	json_t *sinks = json_object_get(doc, "sinks");
	size_t i;
	json_t *s;
	json_array_foreach(sinks, i, s) {
		const char *t = json_string_value(json_object_get(s, "sink"));
		if (!t)
			continue;
		const char *scheme = pending_scheme(t);
		if (scheme && !scheme_known(t)) {
			printf("SKIPPED: sinks[%zu].sink \"%s\": this build has no %s transport yet\n", i,
			       t, scheme);
			json_decref(doc);
			return SKIP;
		}
		if (scheme && redirect_sink(s, t, i) < 0) {
			fprintf(stderr, "no local listener for sinks[%zu] \"%s\": %s\n", i, t,
			        strerror(errno));
			close_listeners();
			json_decref(doc);
			return 1;
		}
		if (strncmp(t, "/var/log/", 9) == 0) {
			char local[4096];
			snprintf(local, sizeof(local), "./%s", t + 1);
			if (mkdirs(local) < 0) {
				fprintf(stderr, "mkdir for %s: %s\n", local, strerror(errno));
				json_decref(doc);
				return 1;
			}
			json_object_set_new(s, "sink", json_string(local));
		}
	}
	char *text = json_dumps(doc, 0);
	json_decref(doc);
	if (!text)
		return 1;
	jlog_logger *log;
	int rc = jlog_open_config(&log, text);
	free(text);
	if (rc == 0) {
		rc = jlog_close(log);
		close_listeners();
		if (rc < 0) {
			fprintf(stderr, "jlog_close: %s\n", jlog_strerror(rc));
			return 1;
		}
		printf("ok\n");
		return 0;
	}
	close_listeners();
	const char *err = jlog_last_error();
	for (size_t k = 0; k < LEN(pending_keys); k++) {
		/* "redact: unknown key", "sinks[1].redact: unknown key" */
		const char *at = strstr(err, pending_keys[k]);
		size_t n = strlen(pending_keys[k]);
		if (at && (at == err || at[-1] == '.') && strncmp(at + n, ": unknown key", 13) == 0) {
			printf("SKIPPED: key \"%s\" is not known to this build yet (%s)\n",
			       pending_keys[k], err);
			return SKIP;
		}
	}
	fprintf(stderr, "jlog_open_config: %s: %s\n", jlog_strerror(rc), err);
	return 1;
}

static int volatile_key(const char *k)
{
	return !strcmp(k, "time") || !strcmp(k, "pid") || !strcmp(k, "tid") || !strcmp(k, "line");
}

/* The next line of @f as a JSON object; NULL at the end. *bad set when a
 * line is not an object. */
static json_t *next_object(FILE *f, const char *name, size_t lineno, int *bad)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	json_error_t je;
	json_t *v = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(v)) {
		fprintf(stderr, "%s line %zu is not a JSON object: %.200s", name, lineno, line);
		json_decref(v);
		v = NULL;
		*bad = 1;
	}
	free(line);
	return v;
}

static int compare_line(json_t *want, json_t *got, size_t lineno)
{
	void *wi = json_object_iter(want), *gi = json_object_iter(got);
	for (; wi && gi; wi = json_object_iter_next(want, wi), gi = json_object_iter_next(got, gi)) {
		const char *wk = json_object_iter_key(wi), *gk = json_object_iter_key(gi);
		json_t *wv = json_object_iter_value(wi), *gv = json_object_iter_value(gi);
		if (strcmp(wk, gk) != 0) {
			fprintf(stderr, "line %zu: key \"%s\" expected where the output has \"%s\"\n",
			        lineno, wk, gk);
			return 1;
		}
		if (volatile_key(wk) ? json_typeof(wv) != json_typeof(gv) : !json_equal(wv, gv)) {
			char *a = json_dumps(wv, JSON_ENCODE_ANY), *b = json_dumps(gv, JSON_ENCODE_ANY);
			fprintf(stderr, "line %zu: \"%s\" is %s, expected %s\n", lineno, wk,
			        b ? b : "?", a ? a : "?");
			free(a);
			free(b);
			return 1;
		}
	}
	if (wi || gi) {
		fprintf(stderr, "line %zu: %s \"%s\"\n", lineno,
		        wi ? "the output lacks the key" : "the output has an unexpected key",
		        json_object_iter_key(wi ? wi : gi));
		return 1;
	}
	return 0;
}

static int check_lines(const char *expected, const char *actual)
{
	FILE *we = fopen(expected, "r"), *ga = fopen(actual, "r");
	int rc = 0, bad = 0;
	if (!we || !ga) {
		fprintf(stderr, "cannot open %s\n", we ? actual : expected);
		rc = 1;
		goto out;
	}
	for (size_t n = 1;; n++) {
		json_t *w = next_object(we, "expected output", n, &bad);
		json_t *g = next_object(ga, "output", n, &bad);
		if (bad) {
			rc = 1;
		} else if (!w && g) {
			fprintf(stderr, "line %zu: more output than expected\n", n);
			rc = 1;
		} else if (w && !g) {
			fprintf(stderr, "line %zu: the output ends before the expected lines do\n", n);
			rc = 1;
		} else if (w && g) {
			rc = compare_line(w, g, n);
		}
		int done = !w || !g;
		json_decref(w);
		json_decref(g);
		if (rc || done)
			break;
	}
out:
	if (we)
		fclose(we);
	if (ga)
		fclose(ga);
	return rc;
}

static int check_jsonl(const char *file, long min)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", file, strerror(errno));
		return 1;
	}
	int bad = 0;
	long n = 0;
	json_t *v;
	while ((v = next_object(f, file, (size_t)n + 1, &bad)) != NULL) {
		json_decref(v);
		n++;
	}
	fclose(f);
	if (bad)
		return 1;
	if (n < min) {
		fprintf(stderr, "%s: %ld JSON lines, expected at least %ld\n", file, n, min);
		return 1;
	}
	return 0;
}

#define MAX_GROUPS 64

static int check_sequence(const char *file, const char *msg, const char *group,
                          const char *seqkey, long long last, long long first)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", file, strerror(errno));
		return 1;
	}
	struct group {
		long long id, first, prev, count;
	} g[MAX_GROUPS];
	size_t ng = 0;
	int bad = 0, rc = 0;
	json_t *v;
	for (size_t n = 1; !rc && (v = next_object(f, file, n, &bad)) != NULL; n++) {
		const char *m = json_string_value(json_object_get(v, "message"));
		json_t *gv = json_object_get(v, group), *sv = json_object_get(v, seqkey);
		if (m && !strcmp(m, msg)) {
			if (!json_is_integer(gv) || !json_is_integer(sv)) {
				fprintf(stderr, "line %zu: no integer %s and %s\n", n, group, seqkey);
				rc = 1;
			} else {
				long long id = json_integer_value(gv), s = json_integer_value(sv);
				size_t i = 0;
				while (i < ng && g[i].id != id)
					i++;
				if (i == ng && ng == MAX_GROUPS) {
					fprintf(stderr, "line %zu: more than %d groups\n", n, MAX_GROUPS);
					rc = 1;
				} else if (i == ng) {
					g[ng++] = (struct group){id, s, s, 1};
				} else if (s != g[i].prev + 1) {
					fprintf(stderr, "line %zu: %s %lld: %s %lld after %lld\n", n, group,
					        id, seqkey, s, g[i].prev);
					rc = 1;
				} else {
					g[i].prev = s;
					g[i].count++;
				}
			}
		}
		json_decref(v);
	}
	fclose(f);
	if (bad)
		return 1;
	if (!rc && ng == 0) {
		fprintf(stderr, "%s: no record with message \"%s\"\n", file, msg);
		rc = 1;
	}
	for (size_t i = 0; !rc && i < ng; i++) {
		printf("%s %lld: %s %lld..%lld, %lld records\n", group, g[i].id, seqkey, g[i].first,
		       g[i].prev, g[i].count);
		if (g[i].prev != last || (first >= 0 && g[i].first != first)) {
			fprintf(stderr, "%s %lld: %s %lld..%lld, expected %lld..%lld\n", group, g[i].id,
			        seqkey, g[i].first, g[i].prev, first >= 0 ? first : g[i].first, last);
			rc = 1;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "config"))
		return check_config(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "scheme"))
		return scheme_known(argv[2]) ? 0 : 1;
	if (argc == 4 && !strcmp(argv[1], "lines"))
		return check_lines(argv[2], argv[3]);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "jsonl"))
		return check_jsonl(argv[2], argc == 4 ? strtol(argv[3], NULL, 10) : 1);
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "sequence"))
		return check_sequence(argv[2], argv[3], argv[4], argv[5], strtoll(argv[6], NULL, 10),
		                      argc == 8 ? strtoll(argv[7], NULL, 10) : -1);
	fprintf(stderr, "usage: guide-check config FILE | scheme SINK | lines EXPECTED ACTUAL | "
	                "jsonl FILE [MIN] | sequence FILE MESSAGE GROUP SEQ LAST [FIRST]\n");
	return 2;
}
