/*
 * The default logger: the one jlog_default() and calls through NULL use,
 * opened at first use from JLOG_CONFIG and the environment.
 */
#include "jlog-private.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Level gate read by jlog__enabled(NULL, ...): -1 until the default
 * logger is opened, which sends the first check through
 * jlog__default_enabled(), so the environment is read at first use and a
 * disabled call evaluates no argument even then. */
JLOG_EXPORT int jlog__default_gate = -1;


/* ------------------------------------------------------------------------ */
/* The default logger                                                       */
/* ------------------------------------------------------------------------ */

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static jlog_logger *default_logger;

static void default_open(void)
{
	/* JLOG_CONFIG's document with the environment's overrides; a broken
	 * one is reported and the defaults used instead: the application's
	 * logging must not disappear over a typo. */
	char err[512] = "";
	int rc = 0;
	jlog_logger *lg = NULL;
	json_t *doc = jlog__config_from_env(&rc, err, sizeof(err));
	if (doc) {
		const char *path = getenv("JLOG_CONFIG");
		path = path && *path && path[strspn(path, " \t\n\r")] != '{' ? path : NULL;
		rc = jlog__config_open_doc(&lg, doc, path, true, err, sizeof(err));
		json_decref(doc);
	}
	if (rc < 0 || !lg) {
		fprintf(stderr, "jlog: default logger: %s; logging JSON to stderr\n",
		        *err ? err : jlog_strerror(rc));
		jlog_options o;
		jlog_options_init(&o);
		const char *lv = getenv("JLOG_LEVEL");
		if (lv && jlog_level_parse(lv) >= 0)
			o.level = jlog_level_parse(lv);
		lg = NULL;
		rc = jlog_open(&lg, &o);
	}
	if (rc < 0) {
		/* No default logger: calls through NULL do nothing. */
		__atomic_store_n(&jlog__default_gate, JLOG_LEVEL_OFF, __ATOMIC_RELAXED);
		return;
	}
	lg->core->is_default = true;
	__atomic_store_n(&jlog__default_gate, lg->gate.level, __ATOMIC_RELAXED);
	default_logger = lg;
}

jlog_logger *jlog_default(void)
{
	pthread_once(&default_once, default_open);
	return default_logger;
}

bool jlog__default_enabled(int level)
{
	jlog_logger *lg = jlog_default();
	return lg && jlog__enabled(lg, level);
}

