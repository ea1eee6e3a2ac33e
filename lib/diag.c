/*
 * Diagnostics of error records: loguru's backtrace and diagnose, the C way.
 *
 * When a sink of a logger asks for them (jlog_sink_options.backtrace,
 * .diagnose), a log call at ERROR and above captures, on the calling
 * thread, what only that thread knows: its stack (glibc's backtrace():
 * return addresses, no symbol lookup), its errno as the call began, and
 * its name. They travel in the record as one field of a type only the
 * library knows (JLOG__T_DIAG, a struct jlog__diag), so the record stays
 * self-contained. The writer turns that field, for each sink that shows
 * it, into ordinary fields: "stack" (an array of strings, symbolized with
 * dladdr() on the writer thread, where it costs the caller nothing),
 * "errno", "errno_text" and "thread". Formatters never see the raw field
 * (jlog__field_next() skips it), so a sink that did not ask shows nothing.
 */
#include "jlog-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

size_t jlog__diag_capture(struct jlog__diag *d, unsigned what, int err, const void *caller)
{
	d->err = err;
	memset(d->thread, 0, sizeof(d->thread));
	d->nframes = 0;
	if (what & JLOG__CAPTURE_DIAG) {
		/* The calling thread's own name: one prctl(), no allocation. */
		char name[16] = "";
		if (prctl(PR_GET_NAME, (unsigned long)name, 0, 0, 0) == 0) {
			name[sizeof(name) - 1] = '\0';
			memcpy(d->thread, name, sizeof(name));
		}
	}
	if (what & JLOG__CAPTURE_STACK) {
		/* A few frames more than kept: jlog's own are cut below. */
		void *fr[JLOG__DIAG_FRAMES + 8];
		int n = backtrace(fr, (int)(sizeof(fr) / sizeof(fr[0])));
		int first = 0;
		/* Start at the caller's frame: the one that returns to where
		 * the application called jlog. Kept whole when it is not
		 * found (a frame without a return address on the stack). */
		for (int i = 0; i < n; i++) {
			if (fr[i] == caller) {
				first = i;
				break;
			}
		}
		for (int i = first; i < n && d->nframes < JLOG__DIAG_FRAMES; i++)
			d->frames[d->nframes++] = (uint64_t)(uintptr_t)fr[i];
	}
	return offsetof(struct jlog__diag, frames) + d->nframes * sizeof(uint64_t);
}

/* ------------------------------------------------------------------------ */
/* Writer side                                                              */
/* ------------------------------------------------------------------------ */

/* The stack as a JSON array, in the form of glibc's backtrace_symbols():
 * "object(function+0x1f) [0x55d0c2a1b2c3]". */
static void symbolize(struct jlog__buf *b, const struct jlog__diag *d)
{
	jlog__buf_putc(b, '[');
	for (uint32_t i = 0; i < d->nframes; i++) {
		void *addr = (void *)(uintptr_t)d->frames[i];
		char text[768];
		Dl_info info;
		memset(&info, 0, sizeof(info));
		if (dladdr(addr, &info) && info.dli_fname) {
			if (info.dli_sname && info.dli_saddr)
				snprintf(text, sizeof(text), "%s(%s+0x%" PRIxPTR ") [%p]", info.dli_fname,
				         info.dli_sname, (uintptr_t)addr - (uintptr_t)info.dli_saddr, addr);
			else
				snprintf(text, sizeof(text), "%s(+0x%" PRIxPTR ") [%p]", info.dli_fname,
				         (uintptr_t)addr - (uintptr_t)info.dli_fbase, addr);
		} else {
			snprintf(text, sizeof(text), "[%p]", addr);
		}
		if (i)
			jlog__buf_putc(b, ',');
		jlog__json_str(b, text, strlen(text));
	}
	jlog__buf_putc(b, ']');
}

/* Append a field in record form (struct jlog__field_hdr, key, value). */
static void put_field(struct jlog__buf *b, int type, const char *key, const void *val,
                      size_t len)
{
	struct jlog__field_hdr h = {
		.type = (uint8_t)type,
		.flags = 0,
		.key_len = (uint16_t)strlen(key),
		.val_len = (uint32_t)len,
	};
	jlog__buf_put(b, &h, sizeof(h));
	jlog__buf_put(b, key, h.key_len);
	jlog__buf_put(b, val, len);
}

/* Append the diagnostic fields a sink shows; returns how many. */
static uint32_t put_diag(struct jlog__buf *b, const struct jlog__diag *d, bool diagnose,
                         bool show_stack, const struct jlog_core *c)
{
	uint32_t added = 0;
	if (diagnose) {
		int64_t e = d->err;
		put_field(b, JLOG__T_INT, "errno", &e, 8);
		const char *text = d->err ? strerrordesc_np(d->err) : "Success";
		char unknown[32];
		if (!text) {
			snprintf(unknown, sizeof(unknown), "Unknown error %d", (int)d->err);
			text = unknown;
		}
		put_field(b, JLOG__T_STR, "errno_text", text, strlen(text));
		char name[17];
		memcpy(name, d->thread, 16);
		name[16] = '\0';
		put_field(b, JLOG__T_STR, "thread", name, strnlen(name, 16));
		added += 3;
	}
	if (show_stack) {
		put_field(b, JLOG__T_JSON, "stack", c->diag_stack.p, c->diag_stack.len);
		added++;
	}
	return added;
}

static bool key_is(const struct jlog__field_view *f, const char *key)
{
	size_t n = strlen(key);
	return f->key_len == n && memcmp(f->key, key, n) == 0;
}

/* Whether @f's key is one of the diagnostic keys shown in the line. */
static bool reserved_diag_key(const struct jlog__field_view *f, bool diagnose, bool show_stack)
{
	return (show_stack && key_is(f, "stack")) ||
	       (diagnose && (key_is(f, "errno") || key_is(f, "errno_text") || key_is(f, "thread")));
}

/* Append the field at [raw, end) (decoded as @f) under the key
 * "fields.<key>". */
static void put_renamed(struct jlog__buf *b, const uint8_t *raw, const uint8_t *end,
                        const struct jlog__field_view *f)
{
	static const char prefix[] = "fields.";
	struct jlog__field_hdr h;
	memcpy(&h, raw, sizeof(h));
	h.key_len = (uint16_t)(f->key_len + sizeof(prefix) - 1); /* key is one of four */
	const uint8_t *val = raw + sizeof(h) + f->key_len;
	jlog__buf_put(b, &h, sizeof(h));
	jlog__buf_lit(b, prefix);
	jlog__buf_put(b, f->key, f->key_len);
	jlog__buf_put(b, val, (size_t)(end - val));
}

const struct jlog__rec_view *jlog__diag_view(struct jlog_core *c, const struct jlog__rec_view *v,
                                             bool backtrace, bool diagnose,
                                             struct jlog__rec_view *tmp)
{
	/* Find the diagnostic field. */
	const uint8_t *cur = v->fields, *at = NULL;
	struct jlog__field_view f;
	for (uint32_t i = 0; i < v->nfields; i++) {
		const uint8_t *here = cur;
		if (!jlog__field_next_raw(v, &cur, &f))
			return v;
		if (f.type == JLOG__T_DIAG) {
			at = here;
			break;
		}
	}
	if (!at)
		return v;
	struct jlog__diag d;
	memset(&d, 0, sizeof(d));
	memcpy(&d, f.v.s, f.val_len);

	/* The stack is symbolized once per record, whatever the number of
	 * sinks showing it. */
	if (backtrace && d.nframes && c->diag_key != v->end) {
		c->diag_stack.len = 0;
		c->diag_stack.failed = false;
		symbolize(&c->diag_stack, &d);
		c->diag_key = c->diag_stack.failed ? NULL : v->end;
	}

	/* The fields before the diagnostic one, the diagnostics, then the
	 * fields after it. The diagnostic keys this sink shows are reserved
	 * in its lines: a field of the call, bound or scoped that has one of
	 * them is renamed "fields.<key>", the rule of the schema's own keys,
	 * so that it neither replaces the diagnostic nor is replaced. */
	bool show_stack = backtrace && d.nframes && c->diag_key == v->end;
	struct jlog__buf *b = &c->diag_out;
	b->len = 0;
	b->failed = false;
	const uint8_t *p = v->fields;
	for (uint32_t i = 0; i < v->nfields; i++) {
		const uint8_t *here = p;
		if (!jlog__field_next_raw(v, &p, &f))
			return v; /* cannot happen: decoded before */
		if (here == at) {
			uint32_t added = put_diag(b, &d, diagnose, show_stack, c);
			tmp->nfields = v->nfields - 1 + added;
			continue;
		}
		if (reserved_diag_key(&f, diagnose, show_stack))
			put_renamed(b, here, p, &f);
		else
			jlog__buf_put(b, here, (size_t)(p - here));
	}
	if (b->failed)
		return v; /* out of memory: the line goes out without them */
	uint32_t nfields = tmp->nfields;
	*tmp = *v;
	tmp->fields = (const uint8_t *)b->p;
	tmp->end = (const uint8_t *)b->p + b->len;
	tmp->nfields = nfields;
	return tmp;
}
