/*
 * The text formatter as the writer uses it: a compiled template (format.h
 * has the language; format-compile.c compiles, format.c formats). A part
 * of jlog-private.h, which includes the parts in the order of the data
 * flow: include that, not this.
 */
#ifndef JLOG_TEMPLATE_H
#define JLOG_TEMPLATE_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* A compiled loguru-style template (opaque; immutable once compiled, so
 * one template may serve several threads). */
struct jlog__template;

/*
 * Compile a loguru template: {fields} with Python format specs, <color>
 * markup, {{ }} and \< escapes (format.h documents the language and the
 * choices made where loguru does not map to C). Returns 0 and *out, or
 * -EINVAL with a message naming the reason and the column in @err
 * ("format: unknown field {foo} at column 12"), or -ENOMEM.
 */
int jlog__template_compile(const char *tmpl, struct jlog__template **out, char *err,
                           size_t errlen);
/* {time} in local time (@local) or UTC (the default); before the template
 * is shared. */
void jlog__template_set_local(struct jlog__template *t, bool local);
/* NULL is a no-op. */
void jlog__template_free(struct jlog__template *t);
/*
 * Append one line (ending in its only '\n') for a record. @color: emit
 * ANSI SGR codes for the markup; without, markup is removed. Fields the
 * template does not show follow as " key=value" pairs. Writer thread (any
 * thread: the scratch space is thread-local); sets b->failed when out of
 * memory.
 */
void jlog__format_text(struct jlog__buf *b, const struct jlog__rec_view *v,
                       const struct jlog__line_ctx *ctx, const struct jlog__template *t,
                       bool color);
/* loguru's default icon of a level (loguru/_defaults.py), shared by
 * {level.icon} and the loguru preset's record.level.icon; " " for other
 * levels, as loguru gives a level logged by number. */
const char *jlog__level_icon(int level);
/* loguru's default format, usable as a template. */
extern const char jlog__default_text_format[];
/*
 * Whether @markup (NULL or "" for none) is a level color the text format
 * can show: opening tags it knows, as "<magenta><bold>". If not, why it
 * is not goes to @why ("unknown tag <purple>"). Thread-safe.
 */
bool jlog__color_check(const char *markup, char *why, size_t whylen);

#endif
