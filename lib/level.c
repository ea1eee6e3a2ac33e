/*
 * Levels: the named ones of loguru, custom levels added at run time
 * (jlog_level_add), and parsing of names and numbers.
 *
 * Custom levels are published slot by slot with release stores and never
 * freed, so the writer thread reads a name without a lock; additions take
 * a mutex.
 */
#include "jlog-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	int level;
	const char *color;
} named_levels[] = {
	{"TRACE", JLOG_LEVEL_TRACE, "<cyan><bold>"},
	{"DEBUG", JLOG_LEVEL_DEBUG, "<blue><bold>"},
	{"INFO", JLOG_LEVEL_INFO, "<bold>"},
	{"SUCCESS", JLOG_LEVEL_SUCCESS, "<green><bold>"},
	{"WARNING", JLOG_LEVEL_WARNING, "<yellow><bold>"},
	{"ERROR", JLOG_LEVEL_ERROR, "<red><bold>"},
	{"CRITICAL", JLOG_LEVEL_CRITICAL, "<RED><bold>"},
};
#define NNAMED (sizeof(named_levels) / sizeof(named_levels[0]))

struct custom {
	char name[32];
	char color[64];
	/* A slot replaced by a new color stays reachable from its successor:
	 * the writer may still be reading it, so it is never freed. */
	struct custom *replaced;
};

static _Atomic(struct custom *) custom[256];
static pthread_mutex_t custom_lock = PTHREAD_MUTEX_INITIALIZER;

static int named_index(int level)
{
	for (size_t i = 0; i < NNAMED; i++)
		if (named_levels[i].level == level)
			return (int)i;
	return -1;
}

const char *jlog__level_custom_name(int level)
{
	if (level < 0 || level > 255)
		return NULL;
	/* Acquire pairs with the release store in jlog_level_add(). */
	struct custom *c = atomic_load_explicit(&custom[level], memory_order_acquire);
	return c ? c->name : NULL;
}

const char *jlog__level_color(int level)
{
	int i = named_index(level);
	if (i >= 0)
		return named_levels[i].color;
	if (level < 0 || level > 255)
		return "";
	struct custom *c = atomic_load_explicit(&custom[level], memory_order_acquire);
	return c ? c->color : "";
}

const char *jlog_level_name(int level)
{
	int i = named_index(level);
	return i >= 0 ? named_levels[i].name : jlog__level_custom_name(level);
}

/* Only letters, digits, '_' and '-': the name goes into JSON and text
 * unescaped by some consumers, and is matched case-insensitively. */
static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(((struct custom *)0)->name))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	/* A name must not read as a number. */
	return !(name[0] >= '0' && name[0] <= '9');
}

int jlog_level_add(const char *name, int no, const char *color)
{
	if (!name || !valid_name(name) || no < 0 || no > 255) {
		jlog__set_last_error("level \"%s\" (%d): a name is 1 to 31 letters, digits, "
		                     "'_' or '-', not starting with a digit; a number 0..255",
		                     name ? name : "(null)", no);
		return -EINVAL;
	}
	if (color && strlen(color) >= sizeof(((struct custom *)0)->color)) {
		jlog__set_last_error("level \"%s\": color markup longer than 63 bytes", name);
		return -EINVAL;
	}
	int rc = 0;
	pthread_mutex_lock(&custom_lock);
	int existing = jlog_level_from_name(name);
	const char *at_no = jlog_level_name(no);
	if (existing >= 0 && existing != no) {
		rc = -EEXIST; /* the name means another level */
	} else if (named_index(no) >= 0) {
		rc = -EEXIST; /* loguru's levels keep their names */
	} else if (at_no && strcasecmp(at_no, name) != 0) {
		rc = -EEXIST; /* the number has another name */
	} else {
		struct custom *c = calloc(1, sizeof(*c));
		if (!c) {
			rc = -ENOMEM;
		} else {
			for (size_t i = 0; name[i]; i++)
				c->name[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
			if (color)
				strcpy(c->color, color);
			/* A redefinition (same name and number: a new color)
			 * replaces the slot; the old one is kept alive, since
			 * the writer may be reading it. */
			c->replaced = atomic_load_explicit(&custom[no], memory_order_relaxed);
			atomic_store_explicit(&custom[no], c, memory_order_release);
		}
	}
	pthread_mutex_unlock(&custom_lock);
	if (rc == -EEXIST)
		jlog__set_last_error("level \"%s\" (%d): the name or the number is already taken",
		                     name, no);
	return rc;
}

int jlog_level_from_name(const char *text)
{
	if (!text)
		return -EINVAL;
	while (*text == ' ' || *text == '\t')
		text++;
	for (size_t i = 0; i < NNAMED; i++)
		if (strcasecmp(text, named_levels[i].name) == 0)
			return named_levels[i].level;
	/* Common aliases, as other loggers spell them. */
	if (strcasecmp(text, "warn") == 0)
		return JLOG_LEVEL_WARNING;
	if (strcasecmp(text, "fatal") == 0 || strcasecmp(text, "crit") == 0)
		return JLOG_LEVEL_CRITICAL;
	if (strcasecmp(text, "off") == 0 || strcasecmp(text, "none") == 0)
		return JLOG_LEVEL_OFF;
	for (int no = 0; no < 256; no++) {
		const char *c = jlog__level_custom_name(no);
		if (c && strcasecmp(text, c) == 0)
			return no;
	}
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (end == text || errno || v < 0 || v > 255)
		return -EINVAL;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end ? -EINVAL : (int)v;
}

int jlog_level_parse(const char *text)
{
	return jlog_level_from_name(text);
}
