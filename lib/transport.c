/*
 * The transport registry: which kind writes a sink string, and the
 * options of each kind (its option table, filled from its defaults and
 * then from jlog_sink_options.options). The kinds and the strings they
 * claim are transports.def's lines, which also declare them (transport.h)
 * and list their sources (lib/meson.build).
 */
#include "transport.h"

#include "jlog-private.h"
#include "opt.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const struct jlog__transport_ops *ops;
	const char *claims; /* transports.def's words */
} registry[] = {
#define JLOG_TRANSPORT(name, claims) {&jlog__transport_##name, claims},
#include "transports.def"
#undef JLOG_TRANSPORT
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The @i-th kind, in transports.def's order; NULL past the last. */
static const struct jlog__transport_ops *kind_at(size_t i)
{
	return i < LEN(registry) ? registry[i].ops : NULL;
}

/* Does the claim @w (@n bytes, one word) take the sink string @t? */
static bool claim_takes(const char *w, size_t n, const char *t)
{
	if (w[n - 1] == ':' || w[n - 1] == '/')
		return strncmp(t, w, n) == 0;
	return strlen(t) == n && memcmp(t, w, n) == 0;
}

const struct jlog__transport_ops *jlog__transport_find(const jlog_sink_options *so)
{
	if (so->write)
		return &jlog__transport_callback;
	const char *t = so->sink ? so->sink : "stderr";
	const struct jlog__transport_ops *path_kind = NULL;
	for (size_t i = 0; i < LEN(registry); i++)
		for (const char *w = registry[i].claims; *w; ) {
			size_t n = strcspn(w, " ");
			if (n == 1 && *w == '*')
				path_kind = registry[i].ops;
			else if (n && claim_takes(w, n, t))
				return registry[i].ops;
			w += n + (w[n] == ' ');
		}
	return path_kind;
}

const struct jlog__opt *jlog__transport_opt(const struct jlog__transport_ops *kind,
                                            const char *name,
                                            const struct jlog__transport_ops **owner)
{
	const struct jlog__opt *o = jlog__opt_find(kind->opts, name);
	*owner = kind;
	for (size_t i = 0; !o && kind_at(i); i++) {
		*owner = kind_at(i);
		o = jlog__opt_find((*owner)->opts, name);
	}
	return o;
}

void jlog__transport_opt_names(char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; kind_at(i); i++)
		for (const struct jlog__opt *o = kind_at(i)->opts; o && o->name; o++) {
			/* Keys several kinds share are named once. */
			bool named = false;
			for (size_t j = 0; j < i && !named; j++)
				named = jlog__opt_find(kind_at(j)->opts, o->name) != NULL;
			if (named)
				continue;
			int n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", o->name);
			if (n < 0 || (size_t)n >= len - at)
				return;
			at += (size_t)n;
		}
}

/*
 * jlog_sink_options.options, a JSON object of transport keys, into @opts
 * (@kind's). A key of another kind is checked and ignored, as in the
 * configuration document. 0 or -EINVAL with a message.
 */
static int parse_options(const struct jlog__transport_ops *kind, void *opts, const char *text)
{
	char err[512];
	json_error_t je;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		jlog__set_last_error("options: invalid JSON at column %d: %s", je.column, je.text);
		return -EINVAL;
	}
	int rc = 0;
	if (!json_is_object(doc)) {
		rc = jlog__cfg_fail(err, sizeof(err), "options", "expected an object, got %s",
		                    jlog__cfg_type_name(doc));
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) {
		char path[96];
		snprintf(path, sizeof(path), "options.%.60s", key);
		const struct jlog__transport_ops *owner;
		const struct jlog__opt *o = jlog__transport_opt(kind, key, &owner);
		if (!o) {
			char names[512];
			jlog__transport_opt_names(names, sizeof(names));
			rc = jlog__cfg_fail(err, sizeof(err), path, "unknown key (%s)", names);
			goto out;
		}
		void *base = opts;
		if (owner != kind) {
			base = calloc(1, owner->opts_size);
			if (!base) {
				rc = -ENOMEM;
				goto out;
			}
		}
		rc = jlog__opt_set(o, base, v, path, err, sizeof(err));
		if (base != opts)
			free(base);
		if (rc < 0)
			goto out;
	}
out:
	if (rc == -EINVAL)
		jlog__set_last_error("%s", err);
	json_decref(doc);
	return rc;
}

int jlog__transport_open(struct jlog_transport **out, const jlog_sink_options *so)
{
	*out = NULL;
	const struct jlog__transport_ops *kind = jlog__transport_find(so);
	void *opts = NULL;
	if (kind->opts_size) {
		opts = calloc(1, kind->opts_size);
		if (!opts)
			return -ENOMEM;
		if (kind->opts_init)
			kind->opts_init(opts, so);
	}
	int rc = 0;
	if (so->options && *so->options)
		rc = parse_options(kind, opts, so->options);
	if (rc == 0) {
		jlog__set_last_error("%s", "");
		rc = kind->open(out, so->write ? NULL : so->sink ? so->sink : "stderr", opts, so);
		if (rc < 0 && !*jlog_last_error())
			jlog__set_last_error("sink \"%.200s\": %s", so->sink ? so->sink : "stderr",
			                     jlog_strerror(rc));
	}
	free(opts);
	return rc;
}
