/*
 * Levels, configuration and errors (level.c, config.c, error.c,
 * logger.c), the caller's thread id and thread names (thread-name.c):
 * what opening a logger and reporting its errors take. The parsed
 * document itself is config.h's. A part of jlog-private.h, which
 * includes the parts in the order of the data flow: include that, not
 * this.
 */
#ifndef JLOG_CONFIG_PRIVATE_H
#define JLOG_CONFIG_PRIVATE_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* Name of a custom level (jlog_level_add), NULL if none. */
const char *jlog__level_custom_name(int level);
/* Text-format markup of a level's color ("<red><bold>"), "" if none. */
const char *jlog__level_color(int level);
/* What jlog_level_add() would refuse, without adding: 0, or -EINVAL or
 * -EEXIST with the reason in jlog_last_error(). */
int jlog__level_check(const char *name, int no, const char *color);
/* jlog_open, without creating the options' sink when @no_sink. */
int jlog__open(jlog_logger **out, const jlog_options *opts, bool no_sink);
/* Open a root logger from a parsed configuration document, which came
 * from the file @path (NULL: JSON text), with the environment's overrides
 * when @env (the default logger: a reload applies them again). */
int jlog__config_open_doc(jlog_logger **out, struct json_t *doc, const char *path, bool env,
                          char *err, size_t errlen);
/* The default logger's document from JLOG_CONFIG and the environment. */
struct json_t *jlog__config_from_env(int *rc, char *err, size_t errlen);
/* Apply JLOG_LEVEL, JLOG_SINK, JLOG_FORMAT, JLOG_SERIALIZE, JLOG_COLORIZE
 * to @doc (an object) as the default logger does. */
void jlog__config_env_overrides(struct json_t *doc);
/* A document from a path, or the JSON itself when it starts with '{'; NULL
 * with *rc and the message in @err. */
struct json_t *jlog__config_load(const char *path_or_json, int *rc, char *err, size_t errlen);
/* Everything jlog_open_config() checks before it opens anything, without
 * opening anything (no file, socket or thread): 0 or the error it would
 * return, with the same message in @err. */
int jlog__config_check(const struct json_t *doc, char *err, size_t errlen);
/* The configuration @doc gives, every key with its value (defaults filled
 * in), as a new JSON object; NULL with *rc and @err when invalid. */
struct json_t *jlog__config_effective(const struct json_t *doc, int *rc, char *err,
                                      size_t errlen);
/* Keep a message for jlog_last_error() on this thread. */
void jlog__set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* jlog__set_last_error(), then return @rc: `return jlog__fail(-EINVAL, ...)`. */
int jlog__fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A public call's failure always explains itself (jlog_last_error() is
 * never an older call's message): take jlog__last_error_seq() on entry and
 * pass it with the result to jlog__explain(), which sets "@call: <what
 * jlog_strerror says>" when @rc is an error and nothing set a message since.
 * Returns @rc.
 */
unsigned jlog__last_error_seq(void);
int jlog__explain(int rc, unsigned seq, const char *call);

/* Thread id of the caller, cached per thread. */
uint32_t jlog__gettid(void);

/* Thread names (thread-name.c). Note the calling thread's name under
 * @tid (its first log call). */
void jlog__thread_name_register(uint32_t tid);
/* The name of thread @tid into @out (NUL-terminated); returns its length,
 * 0 when unknown or empty. Writer thread (any thread). */
size_t jlog__thread_name(uint32_t tid, char out[16]);

#endif /* JLOG_CONFIG_PRIVATE_H */
