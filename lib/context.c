/*
 * Scoped thread context (loguru's contextualize, an MDC): fields pushed on
 * a thread are carried by every record that thread logs, through any
 * logger, until popped. They are encoded once, at push, into a per-thread
 * buffer; the log path copies that buffer into each record, between the
 * logger's bound fields and the call's fields.
 *
 * The buffer is a stack: each push appends its fields and records a
 * frame (the length and count before it); pop truncates back. A captured
 * context is a heap copy of the bytes, adopted on another thread as one
 * frame.
 *
 * A signal handler that logs while its thread is in the middle of a push
 * sees either the old or the new context: the bytes are written before the
 * length that publishes them (a compiler barrier orders the two; it is
 * the same thread).
 */
#include "jlog-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Most context a thread may hold; a push beyond it fails with -E2BIG. */
#define MAX_CONTEXT ((size_t)16 << 10)

struct frame {
	size_t len;
	uint32_t nfields;
};

/* The part the log path reads lives in jlog__ctx (initial-exec TLS, in
 * jlog-private.h); the frames stay here. */
static _Thread_local struct {
	struct frame *frames;
	size_t nframes;
	size_t cap;
} stack;

_Thread_local struct jlog__context_tls jlog__ctx __attribute__((tls_model("initial-exec")));

struct jlog_context {
	size_t len;
	uint32_t nfields;
	uint8_t bytes[];
};

/* Free a thread's context when it exits with frames still pushed. */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;

static void free_at_exit(void *unused)
{
	(void)unused;
	free(jlog__ctx.buf);
	free(stack.frames);
	memset(&jlog__ctx, 0, sizeof(jlog__ctx));
	memset(&stack, 0, sizeof(stack));
}

static void make_exit_key(void)
{
	exit_key_ok = pthread_key_create(&exit_key, free_at_exit) == 0;
}

static int reserve(size_t extra)
{
	if (jlog__ctx.len + extra > MAX_CONTEXT)
		return -E2BIG;
	if (jlog__ctx.len + extra > jlog__ctx.cap) {
		size_t cap = jlog__ctx.cap ? jlog__ctx.cap : 256;
		while (cap < jlog__ctx.len + extra)
			cap *= 2;
		uint8_t *p = realloc(jlog__ctx.buf, cap);
		if (!p)
			return -ENOMEM;
		/* The log path on this thread (a signal handler) may read buf
		 * only after the barrier below publishes it. */
		jlog__ctx.buf = p;
		jlog__ctx.cap = cap;
	}
	if (stack.nframes == stack.cap) {
		size_t cap = stack.cap ? stack.cap * 2 : 8;
		struct frame *f = realloc(stack.frames, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		stack.frames = f;
		stack.cap = cap;
	}
	pthread_once(&exit_once, make_exit_key);
	if (exit_key_ok)
		pthread_setspecific(exit_key, &stack);
	return 0;
}

/* reserve()'s failure, explained for jlog_last_error(). */
static int why_not(int rc, size_t size)
{
	if (rc == -E2BIG)
		return jlog__fail(rc, "context: %zu more bytes would exceed the %zu bytes a thread "
		                  "may hold (%zu held)", size, MAX_CONTEXT, jlog__ctx.len);
	return jlog__fail(rc, "context: out of memory");
}

/* Append @len bytes of @nfields encoded fields as a new frame. */
static int push_bytes(const uint8_t *bytes, size_t len, uint32_t nfields)
{
	int rc = reserve(len);
	if (rc < 0)
		return why_not(rc, len);
	stack.frames[stack.nframes++] = (struct frame){jlog__ctx.len, jlog__ctx.nfields};
	memcpy(jlog__ctx.buf + jlog__ctx.len, bytes, len);
	/* Bytes first, then the length that makes them visible to a log
	 * call from a signal handler on this thread. */
	atomic_signal_fence(memory_order_release);
	jlog__ctx.nfields += nfields;
	jlog__ctx.len += len;
	return 0;
}

int jlog__context_push(const jlog_field *fields, size_t n)
{
	size_t size = 0;
	for (size_t i = 0; i < n; i++)
		size += jlog__field_size(&fields[i]);
	int rc = size > MAX_CONTEXT ? -E2BIG : reserve(size);
	if (rc < 0)
		return why_not(rc, size);
	/* Encode in place past the published length, then publish. */
	uint8_t *dst = jlog__ctx.buf + jlog__ctx.len;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += jlog__field_write(dst + k, &fields[i], SIZE_MAX);
	stack.frames[stack.nframes++] = (struct frame){jlog__ctx.len, jlog__ctx.nfields};
	atomic_signal_fence(memory_order_release);
	jlog__ctx.nfields += (uint32_t)n;
	jlog__ctx.len += k;
	return 0;
}

int jlog_context_pop(void)
{
	if (stack.nframes == 0)
		return jlog__fail(-ENODATA, "jlog_context_pop: nothing pushed on this thread");
	struct frame f = stack.frames[--stack.nframes];
	jlog__ctx.len = f.len;
	jlog__ctx.nfields = f.nfields;
	return 0;
}

void jlog__context_scope_end(int *pushed)
{
	if (pushed && *pushed == 0)
		jlog_context_pop();
}

jlog_context *jlog_context_capture(void)
{
	jlog_context *c = malloc(sizeof(*c) + jlog__ctx.len);
	if (!c) {
		jlog__set_last_error("jlog_context_capture: out of memory");
		return NULL;
	}
	c->len = jlog__ctx.len;
	c->nfields = jlog__ctx.nfields;
	if (c->len)
		memcpy(c->bytes, jlog__ctx.buf, c->len);
	return c;
}

int jlog_context_adopt(const jlog_context *c)
{
	if (!c)
		return jlog__fail(-EINVAL, "jlog_context_adopt: no context (NULL)");
	return push_bytes(c->bytes, c->len, c->nfields);
}

void jlog_context_release(jlog_context *c)
{
	free(c);
}
