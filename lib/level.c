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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The named levels, and what every output calls each: loguru's name and
 * colors, the lower-case name (ecs), the SGR codes of the color and the
 * icon (text formats), RFC 5424's severity (syslog, journald's PRIORITY),
 * Cloud Logging's LogSeverity (gcp) and OpenTelemetry's SeverityNumber
 * (otel; each level at the bottom of its range, SUCCESS is INFO2).
 */
static const struct jlog__level_row named_levels[] = {
	{JLOG_LEVEL_TRACE, "TRACE", "trace", "<cyan><bold>", "\x1b[36m\x1b[1m",
	 "\xe2\x9c\x8f\xef\xb8\x8f" /* U+270F U+FE0F pencil */, 7, "DEBUG", 1},
	{JLOG_LEVEL_DEBUG, "DEBUG", "debug", "<blue><bold>", "\x1b[34m\x1b[1m",
	 "\xf0\x9f\x90\x9e" /* U+1F41E lady beetle */, 7, "DEBUG", 5},
	{JLOG_LEVEL_INFO, "INFO", "info", "<bold>", "\x1b[1m",
	 "\xe2\x84\xb9\xef\xb8\x8f" /* U+2139 U+FE0F information */, 6, "INFO", 9},
	{JLOG_LEVEL_SUCCESS, "SUCCESS", "success", "<green><bold>", "\x1b[32m\x1b[1m",
	 "\xe2\x9c\x85" /* U+2705 white heavy check mark, as loguru */, 5, "NOTICE", 10},
	{JLOG_LEVEL_WARNING, "WARNING", "warning", "<yellow><bold>", "\x1b[33m\x1b[1m",
	 "\xe2\x9a\xa0\xef\xb8\x8f" /* U+26A0 U+FE0F warning */, 4, "WARNING", 13},
	{JLOG_LEVEL_ERROR, "ERROR", "error", "<red><bold>", "\x1b[31m\x1b[1m",
	 "\xe2\x9d\x8c" /* U+274C cross mark */, 3, "ERROR", 17},
	{JLOG_LEVEL_CRITICAL, "CRITICAL", "critical", "<RED><bold>", "\x1b[41m\x1b[1m",
	 "\xe2\x98\xa0\xef\xb8\x8f" /* U+2620 U+FE0F skull */, 2, "CRITICAL", 21},
};
#define NNAMED (sizeof(named_levels) / sizeof(named_levels[0]))

/* The named levels are the multiples of 5 up to 50 that have a row: the
 * writer's per-record lookup is an index, not a search. */
#define STEP 5
static const signed char row_of[JLOG_LEVEL_CRITICAL / STEP + 1] = {
	-1, 0, 1, -1, 2, 3, 4, -1, 5, -1, 6,
};
_Static_assert(JLOG_LEVEL_TRACE == 5 && JLOG_LEVEL_DEBUG == 10 && JLOG_LEVEL_INFO == 20 &&
                       JLOG_LEVEL_SUCCESS == 25 && JLOG_LEVEL_WARNING == 30 &&
                       JLOG_LEVEL_ERROR == 40 && JLOG_LEVEL_CRITICAL == 50,
               "row_of follows the named levels' numbers");

const struct jlog__level_row *jlog__level_row(int level)
{
	if (level < 0 || level > JLOG_LEVEL_CRITICAL || level % STEP)
		return NULL;
	int i = row_of[level / STEP];
	return i >= 0 ? &named_levels[i] : NULL;
}

const struct jlog__level_row *jlog__level_floor(int level)
{
	size_t i = NNAMED - 1;
	while (i > 0 && level < named_levels[i].level)
		i--;
	return &named_levels[i];
}

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
	const struct jlog__level_row *r = jlog__level_row(level);
	return r ? (int)(r - named_levels) : -1;
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

/* Why @name, @no and @color cannot be a custom level (the arguments alone,
 * not what is taken), into jlog_last_error(); 0 or -EINVAL. */
static int check_args(const char *name, int no, const char *color)
{
	if (!name || !valid_name(name))
		return jlog__fail(-EINVAL, "level \"%.64s\" (%d): a name is 1 to 31 letters, "
		                  "digits, '_' or '-', not starting with a digit",
		                  name ? name : "(null)", no);
	if (no < 0 || no > 255)
		return jlog__fail(-EINVAL, "level \"%s\" (%d): the number is out of range 0..255",
		                  name, no);
	if (color && strlen(color) >= sizeof(((struct custom *)0)->color))
		return jlog__fail(-EINVAL, "level \"%s\" (%d): color markup longer than 63 bytes",
		                  name, no);
	char why[160];
	if (!jlog__color_check(color, why, sizeof(why)))
		return jlog__fail(-EINVAL, "level \"%s\" (%d): color \"%s\": %s", name, no, color,
		                  why);
	return 0;
}

static int lookup(const char *text);

/* Whether @name and @no can become a custom level next to those that
 * exist: 0, or -EEXIST with the reason. Called with custom_lock held, or
 * by jlog__level_check() for a look ahead. */
static int check_free(const char *name, int no)
{
	int existing = lookup(name);
	const char *at_no = jlog_level_name(no);
	if (named_index(no) >= 0) /* loguru's levels keep their names */
		return jlog__fail(-EEXIST, "level \"%s\" (%d): the number is loguru's %s", name, no,
		                  named_levels[named_index(no)].name);
	if (existing >= 0 && existing != no)
		return jlog__fail(-EEXIST, "level \"%s\" (%d): the name is already level %d",
		                  name, no, existing);
	if (at_no && strcasecmp(at_no, name) != 0)
		return jlog__fail(-EEXIST, "level \"%s\" (%d): the number is already named %s",
		                  name, no, at_no);
	return 0;
}

/* jlog_level_add(), or only its checks when !@add (jlog__level_check). */
static int add_level(const char *name, int no, const char *color, bool add)
{
	int rc = check_args(name, no, color);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&custom_lock);
	rc = check_free(name, no);
	struct custom *c = rc == 0 && add ? calloc(1, sizeof(*c)) : NULL;
	if (c) {
		for (size_t i = 0; name[i]; i++)
			c->name[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		if (color)
			strcpy(c->color, color);
		/* A redefinition (same name and number: a new color) replaces
		 * the slot; the old one is kept alive, since the writer may be
		 * reading it. */
		c->replaced = atomic_load_explicit(&custom[no], memory_order_relaxed);
		/* Release pairs with the acquire loads of
		 * jlog__level_custom_name() and jlog__level_color(). */
		atomic_store_explicit(&custom[no], c, memory_order_release);
	} else if (rc == 0 && add) {
		rc = jlog__fail(-ENOMEM, "level \"%s\" (%d): out of memory", name, no);
	}
	pthread_mutex_unlock(&custom_lock);
	return rc;
}

int jlog__level_check(const char *name, int no, const char *color)
{
	return add_level(name, no, color, false);
}

int jlog_level_add(const char *name, int no, const char *color)
{
	return add_level(name, no, color, true);
}

/*
 * The one level parser: jlog_level_from_name(), and through it the
 * environment, the configuration and jlog_level_parse(). Blanks around the
 * text are ignored. -EINVAL, without a message, for what is not a level.
 */
static int lookup(const char *text)
{
	if (!text)
		return -EINVAL;
	text += strspn(text, " \t");
	size_t n = strlen(text);
	while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	char s[32]; /* longer than any name or number */
	if (n == 0 || n >= sizeof(s))
		return -EINVAL;
	memcpy(s, text, n);
	s[n] = '\0';
	for (size_t i = 0; i < NNAMED; i++)
		if (strcasecmp(s, named_levels[i].name) == 0)
			return named_levels[i].level;
	/* Common aliases, as other loggers spell them. */
	if (strcasecmp(s, "warn") == 0)
		return JLOG_LEVEL_WARNING;
	if (strcasecmp(s, "fatal") == 0 || strcasecmp(s, "crit") == 0)
		return JLOG_LEVEL_CRITICAL;
	if (strcasecmp(s, "off") == 0 || strcasecmp(s, "none") == 0)
		return JLOG_LEVEL_OFF;
	for (int no = 0; no < 256; no++) {
		const char *c = jlog__level_custom_name(no);
		if (c && strcasecmp(s, c) == 0)
			return no;
	}
	/* Digits only: strtol would also take a sign or "0x". */
	if (strspn(s, "0123456789") != n || n > 3)
		return -EINVAL;
	int v = atoi(s);
	return v <= 255 ? v : -EINVAL;
}

int jlog_level_from_name(const char *text)
{
	int level = lookup(text);
	if (level < 0)
		return jlog__fail(-EINVAL, "unknown level \"%.64s\" (a level's name, \"off\" "
		                  "or 0..255)",
		                  text ? text : "(null)");
	return level;
}

int jlog_level_parse(const char *text)
{
	return jlog_level_from_name(text);
}


const char *jlog__level_name(int level)
{
	const struct jlog__level_row *r = jlog__level_row(level);
	/* Else a level named with jlog_level_add(), or NULL. */
	return r ? r->name : jlog__level_custom_name(level);
}
