/*
 * Redaction (README, "Sensitive data"): compiled rules, and the writer's
 * rewrite of a decoded record into a copy without the secrets, which every
 * formatter then prints. Pair: redact.c.
 */
#ifndef JLOG_REDACT_H
#define JLOG_REDACT_H

#include "jlog-private.h"

struct json_t;
struct jlog__redact;

/*
 * Compile @o. Returns 0 and *out (NULL when @o has no key and no
 * detector: nothing to do), or -EINVAL with a message naming the key
 * path under @path ("redact.keys[2]: ...", for jlog_last_error()), or
 * -ENOMEM. Reads the hash key (file or environment) now.
 */
int jlog__redact_compile(const jlog_redact_options *o, const char *path,
                         struct jlog__redact **out);
/* NULL is a no-op. */
void jlog__redact_free(struct jlog__redact *r);
/* Set aside a buffer for the crash handler's rewrites of records up to
 * @max_record bytes (jlog__redact_view_crash() allocates nothing).
 * 0 or -ENOMEM. */
int jlog__redact_crash_reserve(struct jlog__redact *r, size_t max_record);

/*
 * Writer thread: @v with the rules applied, in @tmp and the redactor's
 * scratch (valid until the next call on @r); @v itself when nothing
 * matched. NULL when out of memory: the record must not be written.
 */
const struct jlog__rec_view *jlog__redact_view(struct jlog__redact *r,
                                               const struct jlog__rec_view *v,
                                               struct jlog__rec_view *tmp);
/* The same for the crash handler: async-signal-safe, in the reserved
 * buffer; NULL when the rewrite does not fit (the record is left out
 * rather than written unredacted). */
const struct jlog__rec_view *jlog__redact_view_crash(struct jlog__redact *r,
                                                     const struct jlog__rec_view *v,
                                                     struct jlog__rec_view *tmp);

/*
 * The "redact" object of a configuration document at @path into @o,
 * whose keys array is allocated in *keys (free it; NULL when none) and
 * whose strings point into @v. 0 or -EINVAL with "path.key: why" in @err.
 */
int jlog__redact_parse(const struct json_t *v, const char *path, jlog_redact_options *o,
                       const char ***keys, char *err, size_t errlen);
/* @o as a configuration object with every key (defaults filled in), for
 * jlog-config show; a new reference or NULL. */
struct json_t *jlog__redact_to_json(const jlog_redact_options *o);

#endif
