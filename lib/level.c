/* Level names and parsing. */
#include "jlog-private.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

static const struct {
	const char *name;
	int level;
} named_levels[] = {
	{"TRACE", JLOG_LEVEL_TRACE},     {"DEBUG", JLOG_LEVEL_DEBUG},
	{"INFO", JLOG_LEVEL_INFO},       {"SUCCESS", JLOG_LEVEL_SUCCESS},
	{"WARNING", JLOG_LEVEL_WARNING}, {"ERROR", JLOG_LEVEL_ERROR},
	{"CRITICAL", JLOG_LEVEL_CRITICAL},
};

const char *jlog_level_name(int level)
{
	return jlog__level_name(level);
}

int jlog_level_parse(const char *text)
{
	if (!text)
		return -EINVAL;
	while (*text == ' ' || *text == '\t')
		text++;
	for (size_t i = 0; i < sizeof(named_levels) / sizeof(named_levels[0]); i++)
		if (strcasecmp(text, named_levels[i].name) == 0)
			return named_levels[i].level;
	/* Common aliases, as other loggers spell them. */
	if (strcasecmp(text, "warn") == 0)
		return JLOG_LEVEL_WARNING;
	if (strcasecmp(text, "fatal") == 0 || strcasecmp(text, "crit") == 0)
		return JLOG_LEVEL_CRITICAL;
	if (strcasecmp(text, "off") == 0 || strcasecmp(text, "none") == 0)
		return JLOG_LEVEL_OFF;
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (end == text || errno || v < 0 || v > 255)
		return -EINVAL;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end ? -EINVAL : (int)v;
}
