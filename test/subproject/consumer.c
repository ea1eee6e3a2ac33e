/*
 * The parent project's program (test/subproject): logs one record to a
 * callback sink through jlog built as a subproject and checks it with
 * jansson. Exit 0 on success.
 */
#include <jlog.h>

#include <jansson.h>

#include <stdio.h>
#include <string.h>

static char line[4096];
static size_t line_len;

static void keep(const char *l, size_t len, void *user)
{
	(void)user;
	if (len < sizeof(line) && line_len == 0) {
		memcpy(line, l, len);
		line_len = len;
	}
}

int main(void)
{
	jlog_logger *log;
	jlog_options o;
	jlog_options_init(&o);
	if (jlog_open(&log, &o) != 0)
		return 1;
	jlog_remove_sink(log, 0);
	jlog_sink_options so;
	jlog_sink_options_init(&so);
	so.write = keep;
	if (jlog_add_sink(log, &so) < 0)
		return 1;
	JLOG_INFO(log, "hello from the parent", JLOG_INT("n", 7));
	jlog_close(log);

	json_error_t err;
	json_t *j = json_loadb(line, line_len, 0, &err);
	const char *msg = json_string_value(json_object_get(j, "message"));
	int ok = msg && strcmp(msg, "hello from the parent") == 0 &&
	         json_integer_value(json_object_get(j, "n")) == 7;
	if (!ok)
		fprintf(stderr, "consumer: unexpected line: %.*s\n", (int)line_len, line);
	json_decref(j);
	return ok ? 0 : 1;
}
