/*
 * The callback transport: each line of a buffer to the application's
 * function (jlog_sink_options.write), on the writer thread. It cannot fail,
 * and has no crash write: the application's function is not known to be
 * async-signal-safe, so the crash handler skips it (and says so).
 */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct callback {
	struct jlog_transport base;
	jlog_write_fn fn;
	void *user;
};

static int cb_open(struct jlog_transport **out, const char *target, const void *opts,
                   const jlog_sink_options *so)
{
	(void)target;
	(void)opts;
	struct callback *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base.ops = &jlog__transport_callback;
	c->fn = so->write;
	c->user = so->user;
	*out = &c->base;
	return 0;
}

static int cb_write(struct jlog_transport *t, const char *p, size_t len,
                    struct jlog__write_result *r)
{
	(void)r;
	struct callback *c = (struct callback *)t;
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		c->fn(p, n, c->user);
		p += n;
	}
	return 0;
}

static void cb_describe(const struct jlog_transport *t, char *buf, size_t len)
{
	(void)t;
	snprintf(buf, len, "callback");
}

static void cb_close(struct jlog_transport *t)
{
	free(t);
}

const struct jlog__transport_ops jlog__transport_callback = {
	.kind = "callback",
	.open = cb_open,
	.write = cb_write,
	.describe = cb_describe,
	.close = cb_close,
};
