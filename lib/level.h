/*
 * Levels as the formatters see them (level.c): the name of a level and the
 * one table of what each output calls the named ones. A part of jlog-
 * private.h, which includes the parts in the order of the data flow:
 * include that, not this.
 */
#ifndef JLOG_LEVEL_H
#define JLOG_LEVEL_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* Level name ("INFO") or NULL for an unnamed level. */
const char *jlog__level_name(int level);

/* A named level and what each output calls it (the one table, level.c). */
struct jlog__level_row {
	int level;
	const char *name;  /* "WARNING" */
	const char *lower; /* "warning" */
	const char *color; /* loguru's markup, "<yellow><bold>" */
	const char *sgr;   /* its SGR codes */
	const char *icon;  /* loguru's icon, UTF-8 */
	int syslog;        /* RFC 5424 severity */
	const char *gcp;   /* Cloud Logging LogSeverity */
	int otel;          /* OpenTelemetry SeverityNumber */
};
/* The row of named level @level, NULL for another level. */
const struct jlog__level_row *jlog__level_row(int level);
/* The row of the nearest named level at or below @level; TRACE's below
 * TRACE. */
const struct jlog__level_row *jlog__level_floor(int level);

#endif
