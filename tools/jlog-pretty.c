/*
 * jlog-pretty: JSON log lines -> one human line each, in color on a
 * terminal.
 *
 * A line becomes a record (pretty-record.c) and the record is rendered
 * by a text sink of the library, created here with a callback instead of
 * a file: the sink's template compiler, level and logger filters and text
 * formatter are the ones a program's text sink uses, so --format takes the
 * same templates and the output looks like loguru's. Lines that are not a
 * JSON object go through another such sink ("<dim>{message}</dim>"), which
 * escapes control characters and invalid UTF-8 as for any record.
 */
#include "pretty.h"
#include "transport.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef JLOG_PRETTY_VERSION
#define JLOG_PRETTY_VERSION "0"
#endif

/* Without --format, the default template loses the parts a record lacks,
 * rather than showing "(unknown function)" for every line of a logger
 * that never records it. With all parts it is the library's default. */
enum { V_TIME = 1, V_NAME = 2, V_LINE = 4, V_FUNCTION = 8, NVARIANTS = 16 };

/* What one thread needs to turn lines into output. */
struct work {
	struct pj_doc doc;
	struct pretty_rec rec;
	struct jlog__buf fbuf;
	struct jlog__buf out;
};

struct app {
	const char *format;
	int color;
	int level;
	const char *logger;
	struct pretty_where *where;
	size_t nwhere;
	bool has_since, has_until;
	uint64_t since, until;
	char **fields;
	bool follow;

	/* All made before any line is read: the threads only read them. */
	struct jlog_sink *sink[NVARIANTS];
	struct jlog_sink *pass;
	int status;

	struct work main_w, side_w;
	/* The second thread (see run()): mu guards job and quit; the
	 * condition variable signals a new job, its end and quit. */
	pthread_t side;
	bool side_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool job, quit;
	char *job_p;
	size_t job_n;
};

static void discard(const char *line, size_t len, void *user)
{
	(void)line;
	(void)len;
	(void)user;
}

static struct jlog_sink *make_sink(struct app *a, const char *fmt)
{
	jlog_sink_options o;
	jlog_sink_options_init(&o);
	o.write = discard;
	o.serialize = false;
	o.format = fmt;
	o.colorize = a->color;
	o.level = a->level;
	o.filter = a->logger;
	struct jlog_sink *s;
	if (jlog__sink_create_opts(&s, &o) < 0) {
		fprintf(stderr, "jlog-pretty: --format: %s\n", jlog_last_error());
		exit(2);
	}
	return s;
}

static void make_variants(struct app *a)
{
	if (a->format) {
		a->sink[0] = make_sink(a, a->format);
		return;
	}
	for (unsigned v = 0; v < NVARIANTS; v++) {
		char fmt[512];
		if (v == (V_TIME | V_NAME | V_LINE | V_FUNCTION))
			snprintf(fmt, sizeof(fmt), "%s", jlog__default_text_format);
		else
			snprintf(fmt, sizeof(fmt),
			         "%s<level>{level: <8}</level> | %s%s%s%s<level>{message}</level>",
			         v & V_TIME ? "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | " : "",
			         v & V_NAME ? "<cyan>{name}</cyan>" : "",
			         v & V_FUNCTION ? ":<cyan>{function}</cyan>" : "",
			         v & V_LINE ? ":<cyan>{line}</cyan>" : "", v & V_NAME ? " - " : "");
		a->sink[v] = make_sink(a, fmt);
	}
}

static void flush(struct app *a, struct work *w)
{
	if (w->out.failed) {
		fprintf(stderr, "jlog-pretty: out of memory\n");
		exit(1);
	}
	int r = jlog__write_all(1, w->out.p, w->out.len);
	w->out.len = 0;
	if (r == -EPIPE)
		exit(a->status); /* the reader is gone (| head): done */
	if (r < 0) {
		fprintf(stderr, "jlog-pretty: stdout: %s\n", strerror(-r));
		exit(1);
	}
}

/* A line that is not a record: as it is, dimmed on a terminal. Tabs are
 * kept (stack traces indent with them); everything else the formatter
 * would escape is escaped. */
static void passthrough(struct app *a, struct work *w, const char *p, size_t n)
{
	for (;;) {
		const char *tab = memchr(p, '\t', n);
		size_t seg = tab ? (size_t)(tab - p) : n;
		if (seg) {
			struct jlog__rec_view v;
			memset(&v, 0, sizeof(v));
			v.level = JLOG_LEVEL_INFO;
			v.msg = p;
			v.msg_len = seg;
			jlog__sink_format(a->pass, &w->out, &v, &(struct jlog__line_ctx){0});
			if (!w->out.failed)
				w->out.len--; /* its '\n' */
		}
		if (!tab)
			break;
		jlog__buf_putc(&w->out, '\t');
		p += seg + 1;
		n -= seg + 1;
	}
	jlog__buf_putc(&w->out, '\n');
}

static bool keep(const struct app *a, const struct work *w, const struct jlog__rec_view *v,
                 const struct jlog_sink *s)
{
	const struct pretty_rec *r = &w->rec;
	if (!jlog__sink_accepts(s, v))
		return false;
	if ((a->has_since || a->has_until) && !r->has_time)
		return false;
	if (a->has_since && r->time_ns < a->since)
		return false;
	if (a->has_until && r->time_ns > a->until)
		return false;
	for (size_t i = 0; i < a->nwhere; i++)
		if (!pretty_where_match(&a->where[i], &w->doc, r))
			return false;
	return true;
}

/* One input line, without its '\n'; p[n] may be written (and is put back). */
static void line(struct app *a, struct work *w, char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	char saved = p[n];
	p[n] = '\0'; /* pj_parse's contract: numbers end before p[n] */
	int r = pj_parse(&w->doc, p, n);
	if (r == -ENOMEM) {
		fprintf(stderr, "jlog-pretty: out of memory\n");
		exit(1);
	}
	if (r < 0 || !pretty_map(&w->doc, &w->rec)) {
		p[n] = saved;
		passthrough(a, w, p, n);
		return;
	}
	struct jlog__rec_view v;
	if (!pretty_view(&w->rec, a->fields, &w->fbuf, &v)) {
		fprintf(stderr, "jlog-pretty: out of memory\n");
		exit(1);
	}
	const struct pretty_rec *rec = &w->rec;
	unsigned var = (rec->has_time ? V_TIME : 0) |
	               (rec->logger_len || rec->file[0] ? V_NAME : 0) |
	               (rec->file[0] || rec->line ? V_LINE : 0) |
	               (rec->function[0] ? V_FUNCTION | V_NAME | V_LINE : 0);
	const struct jlog_sink *s = a->sink[a->format ? 0 : var];
	if (keep(a, w, &v, s)) {
		struct jlog__line_ctx ctx = {.pid = (pid_t)rec->pid};
		jlog__sink_format(s, &w->out, &v, &ctx);
	}
	p[n] = saved;
}

/* The lines of p[0, n), which ends with a '\n'. */
static void lines(struct app *a, struct work *w, char *p, size_t n)
{
	char *end = p + n;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		line(a, w, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

static void *side_main(void *arg)
{
	struct app *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->job && !a->quit)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->quit)
			break;
		pthread_mutex_unlock(&a->mu);
		lines(a, &a->side_w, a->job_p, a->job_n);
		pthread_mutex_lock(&a->mu);
		a->job = false;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/*
 * A large block of lines is cut in two at a line's end: the second thread
 * renders the second half while this one renders the first, then both
 * outputs are written in order. The formatter's scratch space is per
 * thread and the sinks are only read, so the halves share nothing but
 * the block. Small blocks (a pipe, a followed file) stay on this thread.
 */
#define SPLIT_MIN (256u * 1024u)

static void block(struct app *a, char *p, size_t n)
{
	char *mid = n >= SPLIT_MIN ? memchr(p + n / 2, '\n', n - n / 2) : NULL;
	if (mid && mid + 1 < p + n && !a->side_started) {
		pthread_mutex_init(&a->mu, NULL);
		pthread_cond_init(&a->cv, NULL);
		a->side_started = pthread_create(&a->side, NULL, side_main, a) == 0;
	}
	if (!mid || mid + 1 == p + n || !a->side_started) {
		lines(a, &a->main_w, p, n);
		flush(a, &a->main_w);
		return;
	}
	size_t first = (size_t)(mid + 1 - p);
	pthread_mutex_lock(&a->mu);
	a->job_p = p + first;
	a->job_n = n - first;
	a->job = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);

	lines(a, &a->main_w, p, first);

	pthread_mutex_lock(&a->mu);
	while (a->job)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
	flush(a, &a->main_w);
	flush(a, &a->side_w);
}

static void run(struct app *a, const char *path, bool follow)
{
	struct pin in;
	if (pin_open(&in, path, follow) < 0) {
		a->status = 1;
		return;
	}
	size_t cap = 1u << 20, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fprintf(stderr, "jlog-pretty: out of memory\n");
		exit(1);
	}
	for (;;) {
		/* Room for a block, and one byte after the last line. */
		if (cap - len < (64u << 10) + 1) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				fprintf(stderr, "jlog-pretty: %s: a line longer than %zu bytes\n", path, len);
				exit(1);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = pin_read(&in, buf + len, cap - len - 1);
		if (n < 0)
			a->status = 1;
		if (n <= 0)
			break;
		len += (size_t)n;
		char *last = memrchr(buf, '\n', len);
		size_t start = last ? (size_t)(last - buf) + 1 : 0;
		/* Whatever was read is shown before the next read may wait. */
		if (start)
			block(a, buf, start);
		memmove(buf, buf + start, len - start);
		len -= start;
	}
	if (len)
		line(a, &a->main_w, buf, len);
	flush(a, &a->main_w);
	free(buf);
	pin_close(&in);
}

static const char usage[] =
	"usage: jlog-pretty [OPTION]... [FILE]...\n"
	"\n"
	"Show JSON log lines as one human line each, colored like loguru's default\n"
	"format on a terminal. Understands jlog's schema and presets (ecs, gcp, otel,\n"
	"loguru) and the lines of zap, zerolog, pino, bunyan, logrus and Go's slog.\n"
	"Reads the FILEs in order (.gz and .zst too), or stdin when there is none or\n"
	"FILE is -. Lines that are not JSON are shown as they are.\n"
	"\n"
	"Filters (all must hold):\n"
	"  -l, --level=LEVEL    records at LEVEL and above: TRACE DEBUG INFO SUCCESS\n"
	"                       WARNING ERROR CRITICAL (other loggers' names too: warn,\n"
	"                       fatal, panic, notice...) or a number\n"
	"                         jlog-pretty --level WARNING app.jsonl\n"
	"  -n, --logger=NAME    records of logger NAME and its children (NAME.*)\n"
	"                         jlog-pretty --logger db app.jsonl\n"
	"  -w, --where=EXPR     KEY=VALUE, KEY!=VALUE, KEY>N, KEY<N, KEY>=N, KEY<=N,\n"
	"                       KEY~TEXT (contains); repeatable; KEY is a field, or\n"
	"                       message, logger, level, file, function, line, pid, tid;\n"
	"                       levels compare by rank (level>=WARNING)\n"
	"                         jlog-pretty -w 'status>=500' -w user=alice app.jsonl\n"
	"  -s, --since=TIME     records at TIME or later: RFC 3339, a date, or a\n"
	"                       duration ago (30s, 10m, 2h, 1d, 1w)\n"
	"                         jlog-pretty --since 10m app.jsonl\n"
	"  -u, --until=TIME     records at TIME or earlier (the same forms)\n"
	"                         jlog-pretty --since 2026-11-26 --until 1h app.jsonl\n"
	"\n"
	"Output:\n"
	"  -F, --fields=A,B     show only these fields after the message\n"
	"                         jlog-pretty --fields user,status app.jsonl\n"
	"  -t, --format=TMPL    a text sink's template (loguru's language, as jlog's\n"
	"                       \"format\" option); other fields follow as key=value\n"
	"                         jlog-pretty --format '{time:HH:mm} {message}' a.jsonl\n"
	"      --color=WHEN     always, never or auto: the default, on a terminal\n"
	"                       unless NO_COLOR is set; FORCE_COLOR forces it\n"
	"                         jlog-pretty --color=always app.jsonl | less -R\n"
	"\n"
	"Input:\n"
	"  -f, --follow         keep reading the (last) FILE as it grows, through\n"
	"                       rotation and truncation, or until it appears\n"
	"                       (like tail -F)\n"
	"                         jlog-pretty -f /var/log/app.jsonl\n"
	"\n"
	"  -h, --help           this text\n"
	"  -V, --version        the version, and whether .gz and .zst can be read\n"
	"\n"
	"Exit status: 0; 1 when a file could not be read; 2 for a bad option.\n"
	"See also jlog-pretty(1).\n";

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "jlog-pretty: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'jlog-pretty --help'.\n");
	va_end(ap);
	exit(2);
}

static char **split_fields(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	char **v = calloc(n + 1, sizeof(*v));
	char *copy = strdup(s);
	if (!v || !copy) {
		fprintf(stderr, "jlog-pretty: out of memory\n");
		exit(1);
	}
	size_t i = 0;
	for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		v[i++] = t;
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int auto_color(void)
{
	const char *no = getenv("NO_COLOR"), *force = getenv("FORCE_COLOR");
	if (no && *no)
		return 0;
	if (force && *force)
		return 1;
	return isatty(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"level", required_argument, NULL, 'l'},  {"logger", required_argument, NULL, 'n'},
		{"where", required_argument, NULL, 'w'},  {"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},  {"fields", required_argument, NULL, 'F'},
		{"format", required_argument, NULL, 't'}, {"color", required_argument, NULL, 'c'},
		{"colour", required_argument, NULL, 'c'}, {"follow", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct app a;
	memset(&a, 0, sizeof(a));
	a.color = -1;
	jlog__buf_init(&a.main_w.out);
	jlog__buf_init(&a.main_w.fbuf);
	jlog__buf_init(&a.side_w.out);
	jlog__buf_init(&a.side_w.fbuf);
	char err[256];
	int c;
	while ((c = getopt_long(argc, argv, "l:n:w:s:u:F:t:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			a.level = pretty_level_from_name(optarg, strlen(optarg));
			if (a.level < 0)
				die_usage("--level: unknown level \"%s\" (a name such as WARNING, or "
				          "0..255)",
				          optarg);
			break;
		case 'n':
			a.logger = optarg;
			break;
		case 'w': {
			struct pretty_where *w = realloc(a.where, (a.nwhere + 1) * sizeof(*w));
			if (!w)
				die_usage("%s", "out of memory");
			a.where = w;
			if (pretty_where_parse(optarg, &a.where[a.nwhere], err, sizeof(err)) < 0)
				die_usage("%s", err);
			a.nwhere++;
			break;
		}
		case 's':
		case 'u': {
			uint64_t *t = c == 's' ? &a.since : &a.until;
			if (!pretty_parse_when(optarg, now_ns(), t))
				die_usage("--%s: \"%s\" is not an RFC 3339 time, a date or a "
				          "duration like 10m",
				          c == 's' ? "since" : "until", optarg);
			*(c == 's' ? &a.has_since : &a.has_until) = true;
			break;
		}
		case 'F':
			a.fields = split_fields(optarg);
			break;
		case 't':
			a.format = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "always") == 0)
				a.color = 1;
			else if (strcmp(optarg, "never") == 0)
				a.color = 0;
			else if (strcmp(optarg, "auto") == 0)
				a.color = -1;
			else
				die_usage("--color: \"%s\" is not always, never or auto", optarg);
			break;
		case 'f':
			a.follow = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("jlog-pretty %s (gzip: %s, zstd: %s)\n", JLOG_PRETTY_VERSION,
			       pin_have_zlib() ? "yes" : "no", pin_have_zstd() ? "yes" : "no");
			return 0;
		default:
			fprintf(stderr, "Try 'jlog-pretty --help'.\n");
			return 2;
		}
	}
	if (a.color < 0)
		a.color = auto_color();
	/* A bad --format is reported before any input is read. */
	make_variants(&a);
	a.pass = make_sink(&a, "<dim>{message}</dim>");

	if (optind == argc) {
		run(&a, "-", a.follow);
	} else {
		for (int i = optind; i < argc; i++)
			run(&a, argv[i], a.follow && i == argc - 1);
	}

	for (size_t i = 0; i < NVARIANTS; i++)
		jlog__sink_destroy(a.sink[i]);
	jlog__sink_destroy(a.pass);
	for (size_t i = 0; i < a.nwhere; i++)
		pretty_where_free(&a.where[i]);
	free(a.where);
	if (a.fields)
		free(a.fields[0]);
	free(a.fields);
	if (a.side_started) {
		pthread_mutex_lock(&a.mu);
		a.quit = true;
		pthread_cond_broadcast(&a.cv);
		pthread_mutex_unlock(&a.mu);
		pthread_join(a.side, NULL);
	}
	struct work *ws[] = {&a.main_w, &a.side_w};
	for (size_t i = 0; i < 2; i++) {
		pj_free(&ws[i]->doc);
		pretty_rec_free(&ws[i]->rec);
		jlog__buf_finish(&ws[i]->fbuf);
		jlog__buf_finish(&ws[i]->out);
	}
	return a.status;
}
