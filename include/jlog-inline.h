/*
 * jlog-inline.h - the private part of jlog.h that the macros expand to:
 * the inline fast path of JLOG_LOG and the record wire format it bakes
 * into every call site. Included by jlog.h only (inside its extern "C"
 * block); nothing here is API, and everything is named jlog__ / JLOG__.
 * The field encoding below is the one lib/record.c decodes: changing it
 * needs a new soname (see the ABI policy in jlog.h).
 *
 * Copyright (c) 2026 the jlog authors. MIT license, see COPYING.
 */
#ifndef JLOG_INLINE_H
#define JLOG_INLINE_H

#ifndef JLOG_H
#error "include <jlog.h>, not <jlog-inline.h>"
#endif

/*
 * Private: the inline fast path of JLOG_LOG in C. The call site encodes
 * its fields into the record itself, straight from the field
 * constructors: with literal keys and types, the size of each field, its
 * header and its key bytes fold into constants, so a field costs a few
 * stores instead of a 48-byte jlog_field built, then read twice with a
 * switch per field inside jlog__log() (the standard record of jlog-bench:
 * 655 instructions per call before, 302 with this alone, 199 with the
 * leaner jlog__log_begin(); callgrind, bench/hotpath.c).
 *
 * This bakes the field encoding of a record (lib/record.c) into the
 * caller: changing it needs a new soname (see the ABI policy above).
 * Fields the fast path does not encode (JSON, keys over 1024 bytes, a
 * record over half of max_record_size) go through jlog__log().
 */
struct jlog__field_hdr {
	uint8_t type;  /* enum jlog__type */
	uint8_t flags; /* set by the general path only */
	uint16_t key_len;
	uint32_t val_len;
};
/* Keys longer than this (in bytes) take the general path, which cuts them. */
#define JLOG__MAX_KEY 1024u

/* Private: a record reserved by jlog__log_begin(). */
struct jlog__reserved {
	unsigned char *rec;    /* the record; its message goes at
	                          rec + JLOG__REC_HEAD */
	unsigned char *fields; /* where the call's fields go */
	void *core;
};
/* Private: the size of a record's header (struct jlog__rec_hdr). */
#define JLOG__REC_HEAD 32
/* Private: resolve @log (NULL: the default logger), reserve a record of
 * @fields_size bytes of @nfields fields after its head (message of
 * @msg_len bytes, name, bound fields, context), and write the head but
 * the message. @cs is not NULL; @level is 0..255. Returns 1: write the
 * message at r->rec + JLOG__REC_HEAD and the fields from r->fields on,
 * then call jlog__log_commit(); 0: nothing to do (the logger is closed,
 * or the ring refused the record, counted as dropped); -1: call
 * jlog__log() instead (the record is too large for this path, or it
 * needs the diagnostics a sink shows: jlog_sink_options.backtrace,
 * .diagnose). */
JLOG_EXPORT int jlog__log_begin(jlog_logger *log, jlog_callsite *cs, int level,
                                size_t msg_len, size_t nfields, size_t fields_size,
                                struct jlog__reserved *r);
/* Private: publish a record whose fields end at @end. */
JLOG_EXPORT void jlog__log_commit(const struct jlog__reserved *r, unsigned char *end);

/* Encoded size of a field for the inline path; 0: the general path. */
JLOG__INLINE size_t jlog__field_fast_size(const jlog_field *f)
{
	size_t base = sizeof(struct jlog__field_hdr) + f->key_len;
	if (JLOG__UNLIKELY(f->key_len > JLOG__MAX_KEY))
		return 0;
	switch (f->type) {
	case JLOG__T_STR:
		return f->len <= UINT32_MAX ? base + f->len : 0;
	case JLOG__T_INT:
	case JLOG__T_UINT:
	case JLOG__T_DOUBLE:
		return base + 8;
	case JLOG__T_BOOL:
		return base + 1;
	case JLOG__T_NULL:
		return base;
	default:
		return 0;
	}
}

/* Encode a field that jlog__field_fast_size() accepted; returns its end. */
JLOG__INLINE unsigned char *jlog__field_put(unsigned char *q, const jlog_field *f)
{
	struct jlog__field_hdr h;
	unsigned char *val = q + sizeof(h) + f->key_len;
	h.type = (uint8_t)f->type;
	h.flags = 0;
	h.key_len = (uint16_t)f->key_len;
	h.val_len = 0;
	if (f->key_len)
		memcpy(q + sizeof(h), f->key, f->key_len);
	switch (f->type) {
	case JLOG__T_STR:
		h.val_len = (uint32_t)f->len;
		if (f->len)
			memcpy(val, f->v.s, f->len);
		break;
	case JLOG__T_BOOL:
		h.val_len = 1;
		*val = f->v.i != 0;
		break;
	case JLOG__T_NULL:
		break;
	default: /* INT, UINT, DOUBLE: 8 bytes, unaligned */
		h.val_len = 8;
		memcpy(val, &f->v.u, 8);
		break;
	}
	memcpy(q, &h, sizeof(h));
	return val + h.val_len;
}

/* Unroll the loops over a call's fields, so that each field's type and
 * lengths are constants of its own iteration. */
#if defined(__clang__)
#define JLOG__UNROLL _Pragma("unroll 64")
#elif defined(__GNUC__) && __GNUC__ >= 8
#define JLOG__UNROLL _Pragma("GCC unroll 64")
#else
#define JLOG__UNROLL
#endif

/*
 * @copy: room for @n fields in the caller's frame. The general path gets
 * a copy of the fields, never @f itself: when @f's address reaches no
 * call, the compiler keeps its members as constants (GCC 12 and Clang 14
 * fold nothing of the fields otherwise, about 200 instructions more for
 * the standard record).
 */
JLOG__INLINE void jlog__log_fields(jlog_logger *log, jlog_callsite *cs, int level,
                                   const char *msg, const jlog_field *f, size_t n,
                                   jlog_field *copy)
{
	size_t msg_len = msg ? strlen(msg) : 0;
	size_t size = 0;
	size_t i;
	struct jlog__reserved r;
	unsigned char *q;
	int rc;
	JLOG__UNROLL
	for (i = 0; i < n; i++) {
		size_t fs = jlog__field_fast_size(&f[i]);
		if (JLOG__UNLIKELY(fs == 0))
			goto general;
		size += fs;
	}
	/* The level is clamped and the message copied here, where they are
	 * usually constants (12 instructions fewer in jlog__log_begin()). */
	rc = jlog__log_begin(log, cs, level < 0 ? 0 : level > 255 ? 255 : level, msg_len, n,
	                     size, &r);
	if (JLOG__UNLIKELY(rc <= 0)) {
		if (rc < 0)
			goto general;
		return;
	}
	if (msg_len)
		memcpy(r.rec + JLOG__REC_HEAD, msg, msg_len);
	q = r.fields;
	JLOG__UNROLL
	for (i = 0; i < n; i++)
		q = jlog__field_put(q, &f[i]);
	jlog__log_commit(&r, q);
	return;
general:
	/* Element by element, so that GCC moves the fields' stores into
	 * this branch (a memcpy kept them on the fast path: 30 stores). */
	JLOG__UNROLL
	for (i = 0; i < n; i++)
		copy[i] = f[i];
	jlog__log(log, cs, level, msg, msg_len, copy, n);
}

#define JLOG__FIRST(a, ...) a
#define JLOG__REST(a, ...) __VA_ARGS__
#define JLOG__END_FIELD jlog__field(NULL, JLOG__T_END)
#define JLOG__CAT2(a, b) a##b
#define JLOG__CAT(a, b) JLOG__CAT2(a, b)

/*
 * JLOG__CHECK_FIELDS(field, ...) - a compile-time check that every
 * argument is a jlog_field, so that a misused macro (JLOG_INFO(log, "m",
 * 42), or a printf argument given to JLOG_INFO) is reported with this
 * message next to the compiler's own about the initializer. No code:
 * nothing is evaluated. C11 checks the first 16 fields (_Generic, one
 * _Static_assert each), C++ all of them (static_assert).
 */
#define JLOG__FIELD_MSG                                                       \
	"jlog: fields are built with JLOG_STR(), JLOG_STRN(), JLOG_INT(), "  \
	"JLOG_UINT(), JLOG_DOUBLE(), JLOG_BOOL(), JLOG_NULL() or JLOG_JSON(); " \
	"for a printf-style message use JLOG_LOGF() or JLOG_INFOF() and friends"
#if defined(__cplusplus)
} /* extern "C" */
template <class... T> struct jlog__all_fields {
	static const bool value = true;
};
template <class H, class... T> struct jlog__all_fields<H, T...> {
	static const bool value =
		std::is_same<typename std::decay<H>::type, jlog_field>::value &&
		jlog__all_fields<T...>::value;
};
template <class... T> struct jlog__fields_check {
	static_assert(jlog__all_fields<T...>::value, JLOG__FIELD_MSG);
	typedef int type;
};
/* Declared only: named in sizeof, never called. */
template <class... T> typename jlog__fields_check<T...>::type jlog__check_fields(const T &...);
#define JLOG__CHECK_FIELDS(...) ((void)sizeof(jlog__check_fields(__VA_ARGS__)))
extern "C" {
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define JLOG__IS_FIELD(x) _Generic((x), jlog_field: 1, default: 0)
#define JLOG__FIELD_OK(x) _Static_assert(JLOG__IS_FIELD(x), JLOG__FIELD_MSG);
#define JLOG__CHECK16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, ...)   \
	((void)sizeof(struct {                                                \
		JLOG__FIELD_OK(a) JLOG__FIELD_OK(b) JLOG__FIELD_OK(c)         \
		JLOG__FIELD_OK(d) JLOG__FIELD_OK(e) JLOG__FIELD_OK(f)         \
		JLOG__FIELD_OK(g) JLOG__FIELD_OK(h) JLOG__FIELD_OK(i)         \
		JLOG__FIELD_OK(j) JLOG__FIELD_OK(k) JLOG__FIELD_OK(l)         \
		JLOG__FIELD_OK(m) JLOG__FIELD_OK(n) JLOG__FIELD_OK(o)         \
		JLOG__FIELD_OK(p) char jlog__c_;                              \
	}))
#define JLOG__CHECK16_(...) JLOG__CHECK16(__VA_ARGS__)
#define JLOG__CHECK_FIELDS(...)                                               \
	JLOG__CHECK16_(__VA_ARGS__, JLOG__END_FIELD, JLOG__END_FIELD,         \
	               JLOG__END_FIELD, JLOG__END_FIELD, JLOG__END_FIELD,     \
	               JLOG__END_FIELD, JLOG__END_FIELD, JLOG__END_FIELD,     \
	               JLOG__END_FIELD, JLOG__END_FIELD, JLOG__END_FIELD,     \
	               JLOG__END_FIELD, JLOG__END_FIELD, JLOG__END_FIELD,     \
	               JLOG__END_FIELD, JLOG__END_FIELD)
#else
#define JLOG__CHECK_FIELDS(...) ((void)0)
#endif

#ifdef __cplusplus
} /* extern "C" */
static inline void jlog__log_il(jlog_logger *log, jlog_callsite *cs, int level,
                                const char *msg,
                                std::initializer_list<jlog_field> f)
{
	jlog__log_msg(log, cs, level, msg, f.begin(), f.size() - 1);
}
#define JLOG__EMIT(lg, cs, lvl, ...)                                          \
	(JLOG__CHECK_FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)),        \
	 jlog__log_il((lg), (cs), (lvl), JLOG__FIRST(__VA_ARGS__, 0),         \
	              {JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)}))
extern "C" {
#else
#define JLOG__FIELDS(...) ((const jlog_field[]){__VA_ARGS__})
#define JLOG__NFIELDS(...)                                                    \
	(sizeof(JLOG__FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD))) /      \
	 sizeof(jlog_field))
#define JLOG__EMIT(lg, cs, lvl, ...)                                          \
	do {                                                                  \
		JLOG__CHECK_FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)); \
		jlog_field jlog__copy_[JLOG__NFIELDS(__VA_ARGS__)];           \
		jlog__log_fields((lg), (cs), (lvl), JLOG__FIRST(__VA_ARGS__, 0), \
		                 JLOG__FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)), \
		                 JLOG__NFIELDS(__VA_ARGS__) - 1, jlog__copy_); \
	} while (0)
#endif

#endif /* JLOG_INLINE_H */
