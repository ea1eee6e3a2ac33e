/*
 * A logger configured from a JSON document, as loguru's LoggerService
 * would be: colored text on stderr from DEBUG, ECS JSON lines from INFO in
 * config-demo.jsonl (relative to the working directory), module levels.
 *
 *   config-demo [config.json]
 */
#include <errno.h>
#include <jlog.h>
#include <stdio.h>

#ifndef JLOG_EXAMPLE_CONFIG
#define JLOG_EXAMPLE_CONFIG "config.json"
#endif

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : JLOG_EXAMPLE_CONFIG;
	jlog_logger *log;
	if (jlog_open_config(&log, path) < 0)
		return 1; /* the reason, with its key path, is on stderr */

	jlog_logger *db = jlog_named(log, "db");
	jlog_logger *access = jlog_named(log, "http.access");

	JLOG_DEBUG(log, "starting", JLOG_STR("config", path));
	JLOG_INFO(log, "listening", JLOG_INT("port", 8080));
	JLOG_DEBUG(db, "pool sizing"); /* below the "orders.db" module level */
	JLOG_INFO(db, "connected", JLOG_STR("host", "db-1"), JLOG_INT("pool", 8));
	JLOG_INFO(access, "GET /health"); /* below "orders.http.access" */
	errno = ECONNREFUSED;
	JLOG_ERROR(db, "query failed", JLOG_STR("query", "SELECT 1")); /* stack, errno */

	jlog_close(access);
	jlog_close(db);
	return jlog_close(log) == 0 ? 0 : 1;
}
