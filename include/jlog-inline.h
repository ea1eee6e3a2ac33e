/*
 * jlog-inline.h - the private part of jlog.h that the macros expand to:
 * the inline fast path of JLOG_LOG and the record wire format it bakes
 * into every call site, or, with JLOG_COMPACT_CALLSITES, each statement's
 * static descriptor and its one out-of-line call. Included by jlog.h only (inside its extern "C"
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
 * Private: the inline fast path of JLOG_LOG in C, the default. The call
 * site encodes its fields into the record itself, straight from the
 * field constructors: with literal keys and types, the size of each
 * field, its header and its key bytes fold into constants, so a field
 * costs a few stores instead of a 48-byte jlog_field built, then read
 * twice with a switch per field inside jlog__log().
 *
 * This bakes the field encoding of a record (lib/record.c) into the
 * caller: changing it needs a new soname (see the ABI policy in jlog.h).
 * Fields the fast path does not encode (JSON, keys over 1024 bytes, a
 * record over half of max_record_size) go through jlog__log(). A
 * translation unit that defines JLOG_COMPACT_CALLSITES calls
 * jlog__log_site() instead (below), which is exported either way.
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

/*
 * Private: the compact call site of JLOG_LOG in C, selected by
 * JLOG_COMPACT_CALLSITES (jlog.h). Each statement has a static descriptor (struct jlog__site: its callsite, its fields' keys and
 * types, all constants) and makes one out-of-line call,
 * jlog__log_site(), with the values only, packed one union jlog__val
 * each (a JLOG_STRN takes two: pointer, then its length; a JLOG_STR the
 * pointer alone, which the library measures). The library turns the
 * descriptor into a template of the record's field bytes on the
 * statement's first call and copies it into each record, so the caller
 * stores a few words and the record's bytes stay self-contained (the
 * writer never reads the caller's memory). The site needs literal keys:
 * a statement with a key computed at run time (or more than 32 fields,
 * or a compiler without __builtin_constant_p) builds an array of
 * jlog_field and calls jlog__log() instead, as the C++ macros do.
 */
union jlog__val {
	int64_t i;
	uint64_t u;
	double d;
	const char *s;
	const void *p;
};

/* Private: in a descriptor's type, a JLOG_STRN: its length is always
 * given, in the value after its pointer. A JLOG_STR takes the pointer
 * only: the library measures it, and measures it once when it is a
 * literal (JLOG__TF_LIT, known while parsing: a literal's length is the
 * same on every call), so that no statement stores a length. */
#define JLOG__TF_LEN 0x80
#define JLOG__TF_LIT 0x40

struct jlog__site {
	jlog_callsite cs;
	const char *const *keys;     /* nfields keys (NULL is "") */
	const unsigned char *types;  /* nfields enum jlog__type | JLOG__TF_* */
	unsigned nfields;
	void *tmpl; /* the template, built by the first call (lib/hotpath.c);
	               accessed atomically */
};

/* Private: log a record of @site's fields with the values @vals (NULL
 * when the site has no field). @msg_len is @msg's length, or SIZE_MAX:
 * measure it. Resolves @log (NULL: the default logger), whose level was
 * checked by the caller. */
JLOG_EXPORT void jlog__log_site(jlog_logger *log, struct jlog__site *site, int level,
                                const char *msg, size_t msg_len,
                                const union jlog__val *vals);

/* The message's length where the compiler knows it (a literal), else
 * SIZE_MAX: the library measures it, which keeps strlen() out of the
 * call site. */
JLOG__INLINE void jlog__site_call(jlog_logger *log, struct jlog__site *site, int level,
                                  const char *msg, const union jlog__val *vals)
{
#if defined(__GNUC__) || defined(__clang__)
	size_t len = __builtin_constant_p(msg == NULL) && msg == NULL ? 0
	             : __builtin_constant_p(strlen(msg))              ? strlen(msg)
	                                                              : SIZE_MAX;
#else
	size_t len = SIZE_MAX;
#endif
	jlog__log_site(log, site, level, msg, len, vals);
}


/*
 * What each field constructor gives a descriptor, by the name of the
 * function its macro expands to (JLOG__FIELD_OF() pastes it after the
 * prefix): FT its type, FK its key, FV its values. Only the constructors
 * of jlog.h have these; anything else fails to compile, next to the
 * message of JLOG__CHECK_FIELDS.
 */
/* In the descriptor's static initializer, __builtin_constant_p() is
 * decided while parsing: true for a literal (or a null constant) only. */
#define JLOG__FT_jlog__field_str(jk, jv)                                      \
	(JLOG__T_STR | (__builtin_constant_p(jv) ? JLOG__TF_LIT : 0))
#define JLOG__FK_jlog__field_str(jk, jv) jk
#define JLOG__FV_jlog__field_str(jk, jv) {.s = (jv)},
#define JLOG__FT_jlog__field_strn(jk, jv, jn) (JLOG__T_STR | JLOG__TF_LEN)
#define JLOG__FK_jlog__field_strn(jk, jv, jn) jk
#define JLOG__FV_jlog__field_strn(jk, jv, jn) {.s = (jv)}, {.u = (jn)},
#define JLOG__FT_jlog__field_int(jk, jv) JLOG__T_INT
#define JLOG__FK_jlog__field_int(jk, jv) jk
#define JLOG__FV_jlog__field_int(jk, jv) {.i = (jv)},
#define JLOG__FT_jlog__field_uint(jk, jv) JLOG__T_UINT
#define JLOG__FK_jlog__field_uint(jk, jv) jk
#define JLOG__FV_jlog__field_uint(jk, jv) {.u = (jv)},
#define JLOG__FT_jlog__field_double(jk, jv) JLOG__T_DOUBLE
#define JLOG__FK_jlog__field_double(jk, jv) jk
#define JLOG__FV_jlog__field_double(jk, jv) {.d = (jv)},
#define JLOG__FT_jlog__field_bool(jk, jv) JLOG__T_BOOL
#define JLOG__FK_jlog__field_bool(jk, jv) jk
#define JLOG__FV_jlog__field_bool(jk, jv) {.i = (jv)},
#define JLOG__FT_jlog__field_json(jk, jv) JLOG__T_JSON
#define JLOG__FK_jlog__field_json(jk, jv) jk
#define JLOG__FV_jlog__field_json(jk, jv) {.p = (jv)},
/* JLOG_NULL(key) is jlog__field(key, JLOG__T_NULL). */
#define JLOG__FT_jlog__field(jk, jt) jt
#define JLOG__FK_jlog__field(jk, jt) jk
#define JLOG__FV_jlog__field(jk, jt) {.i = 0},

#define JLOG__FIELD_OF(what, f) JLOG__CAT(what, f)
#define JLOG__FT(f) JLOG__FIELD_OF(JLOG__FT_, f),
/* A key the compiler does not know (not a literal) gives the statement
 * the array path: the descriptor keeps only constant keys. */
#define JLOG__FK(f) (__builtin_constant_p(JLOG__FIELD_OF(JLOG__FK_, f))                \
	                     ? (JLOG__FIELD_OF(JLOG__FK_, f)) : (const char *)0),
#define JLOG__FOK(f) __builtin_constant_p(JLOG__FIELD_OF(JLOG__FK_, f)) &&
#define JLOG__FV(f) JLOG__FIELD_OF(JLOG__FV_, f)

/* JLOG__NFIELDS_OF(msg, field...): the number of fields, 0 to 32, or X
 * for more. Generated, with JLOG__MAP_n(M, a1..an): M(a1) ... M(an). */
#define JLOG__NFIELDS_(m, \
	_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, \
	_15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, \
	_29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, \
	_43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56, \
	_57, _58, _59, _60, _61, _62, _63, _64, _65, _66, _67, _68, _69, _70, \
	_71, _72, _73, _74, _75, _76, _77, _78, _79, _80, _81, _82, _83, _84, \
	_85, _86, _87, _88, _89, _90, _91, _92, _93, _94, _95, _96, _97, _98, \
	_99, _100, _101, _102, _103, _104, _105, _106, _107, _108, _109, _110, _111, _112, \
	_113, _114, _115, _116, _117, _118, _119, _120, _121, _122, \
	n, ...) n
#define JLOG__NFIELDS_OF(...) JLOG__NFIELDS_(__VA_ARGS__, \
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, \
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, \
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, \
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, \
	X, X, X, X, X, X, X, X, X, X, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, \
	22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, \
	2, 1, 0, 0)
#define JLOG__MAP_1(M, a) M(a)
#define JLOG__MAP_2(M, a, ...) M(a) JLOG__MAP_1(M, __VA_ARGS__)
#define JLOG__MAP_3(M, a, ...) M(a) JLOG__MAP_2(M, __VA_ARGS__)
#define JLOG__MAP_4(M, a, ...) M(a) JLOG__MAP_3(M, __VA_ARGS__)
#define JLOG__MAP_5(M, a, ...) M(a) JLOG__MAP_4(M, __VA_ARGS__)
#define JLOG__MAP_6(M, a, ...) M(a) JLOG__MAP_5(M, __VA_ARGS__)
#define JLOG__MAP_7(M, a, ...) M(a) JLOG__MAP_6(M, __VA_ARGS__)
#define JLOG__MAP_8(M, a, ...) M(a) JLOG__MAP_7(M, __VA_ARGS__)
#define JLOG__MAP_9(M, a, ...) M(a) JLOG__MAP_8(M, __VA_ARGS__)
#define JLOG__MAP_10(M, a, ...) M(a) JLOG__MAP_9(M, __VA_ARGS__)
#define JLOG__MAP_11(M, a, ...) M(a) JLOG__MAP_10(M, __VA_ARGS__)
#define JLOG__MAP_12(M, a, ...) M(a) JLOG__MAP_11(M, __VA_ARGS__)
#define JLOG__MAP_13(M, a, ...) M(a) JLOG__MAP_12(M, __VA_ARGS__)
#define JLOG__MAP_14(M, a, ...) M(a) JLOG__MAP_13(M, __VA_ARGS__)
#define JLOG__MAP_15(M, a, ...) M(a) JLOG__MAP_14(M, __VA_ARGS__)
#define JLOG__MAP_16(M, a, ...) M(a) JLOG__MAP_15(M, __VA_ARGS__)
#define JLOG__MAP_17(M, a, ...) M(a) JLOG__MAP_16(M, __VA_ARGS__)
#define JLOG__MAP_18(M, a, ...) M(a) JLOG__MAP_17(M, __VA_ARGS__)
#define JLOG__MAP_19(M, a, ...) M(a) JLOG__MAP_18(M, __VA_ARGS__)
#define JLOG__MAP_20(M, a, ...) M(a) JLOG__MAP_19(M, __VA_ARGS__)
#define JLOG__MAP_21(M, a, ...) M(a) JLOG__MAP_20(M, __VA_ARGS__)
#define JLOG__MAP_22(M, a, ...) M(a) JLOG__MAP_21(M, __VA_ARGS__)
#define JLOG__MAP_23(M, a, ...) M(a) JLOG__MAP_22(M, __VA_ARGS__)
#define JLOG__MAP_24(M, a, ...) M(a) JLOG__MAP_23(M, __VA_ARGS__)
#define JLOG__MAP_25(M, a, ...) M(a) JLOG__MAP_24(M, __VA_ARGS__)
#define JLOG__MAP_26(M, a, ...) M(a) JLOG__MAP_25(M, __VA_ARGS__)
#define JLOG__MAP_27(M, a, ...) M(a) JLOG__MAP_26(M, __VA_ARGS__)
#define JLOG__MAP_28(M, a, ...) M(a) JLOG__MAP_27(M, __VA_ARGS__)
#define JLOG__MAP_29(M, a, ...) M(a) JLOG__MAP_28(M, __VA_ARGS__)
#define JLOG__MAP_30(M, a, ...) M(a) JLOG__MAP_29(M, __VA_ARGS__)
#define JLOG__MAP_31(M, a, ...) M(a) JLOG__MAP_30(M, __VA_ARGS__)
#define JLOG__MAP_32(M, a, ...) M(a) JLOG__MAP_31(M, __VA_ARGS__)
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
/* The compact call site's check (JLOG__EMIT_N): one _Static_assert over
 * its @n fields (n <= 32), all of them, with no padding and the message
 * once, so that the statement's expansion stays short. */
#define JLOG__IS_FIELD_AND(x) JLOG__IS_FIELD(x) &&
#define JLOG__CHECK_N(n, ...)                                                 \
	((void)sizeof(struct {                                                \
		_Static_assert(JLOG__CAT(JLOG__MAP_, n)(JLOG__IS_FIELD_AND, __VA_ARGS__) 1, \
		               JLOG__FIELD_MSG);                              \
		char jlog__c_;                                                \
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
#define JLOG__CHECK_N(n, ...) ((void)0)
#endif

#ifdef __cplusplus
} /* extern "C" */
static inline void jlog__log_il(jlog_logger *log, jlog_callsite *cs, int level,
                                const char *msg,
                                std::initializer_list<jlog_field> f)
{
	jlog__log_msg(log, cs, level, msg, f.begin(), f.size() - 1);
}
#define JLOG__EMIT(lg, lvl, ...)                                              \
	do {                                                                  \
		static jlog_callsite jlog__cs_ = {__FILE__, __func__, __LINE__, 0}; \
		JLOG__CHECK_FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)); \
		jlog__log_il((lg), &jlog__cs_, (lvl), JLOG__FIRST(__VA_ARGS__, 0), \
		             {JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)});     \
	} while (0)
extern "C" {
#else
#define JLOG__FIELDS(...) ((const jlog_field[]){__VA_ARGS__})
#define JLOG__NFIELDS(...)                                                    \
	(sizeof(JLOG__FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD))) /      \
	 sizeof(jlog_field))
/* The array path: fields built as jlog_field, one call of jlog__log(). */
#define JLOG__EMIT_ARRAY(lg, lvl, ...)                                        \
	do {                                                                  \
		static jlog_callsite jlog__cs_ = {__FILE__, __func__, __LINE__, 0}; \
		jlog__log_msg((lg), &jlog__cs_, (lvl), JLOG__FIRST(__VA_ARGS__, 0), \
		              JLOG__FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)), \
		              JLOG__NFIELDS(__VA_ARGS__) - 1);                \
	} while (0)
#if defined(JLOG_COMPACT_CALLSITES) && (defined(__GNUC__) || defined(__clang__))
/* The compact call site (JLOG_COMPACT_CALLSITES, jlog.h). @lg is
 * JLOG_LOG's variable. */
/* JLOG_LOG's gate: jlog__enabled_lean() for a logger variable, which
 * does not branch on the pointer, so the statement is one block of the
 * gate, one branch and the call (a gate that branched on NULL made GCC
 * copy calls into both branches, and take longer over every function);
 * the full gate for a constant @logger, NULL say, whose pointer test
 * folds away. */
#define JLOG__GATE(lg, lvl, logger)                                           \
	(__builtin_constant_p(logger) ? jlog__enabled(lg, lvl) : jlog__enabled_lean(lg, lvl))
#define JLOG__EMIT(lg, lvl, ...)                                              \
	JLOG__EMIT_SEL(JLOG__NFIELDS_OF(__VA_ARGS__), lg, lvl, __VA_ARGS__)
#define JLOG__EMIT_SEL(n, lg, lvl, ...) JLOG__CAT(JLOG__EMIT_, n)(n, lg, lvl, __VA_ARGS__)
#define JLOG__EMIT_X(n, lg, lvl, ...)                                         \
	do {                                                                  \
		JLOG__CHECK_FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)); \
		JLOG__EMIT_ARRAY(lg, lvl, __VA_ARGS__);                       \
	} while (0)
#define JLOG__EMIT_0(n, lg, lvl, ...)                                         \
	do {                                                                  \
		static struct jlog__site jlog__s_ = {                         \
			{__FILE__, __func__, __LINE__, 0}, 0, 0, 0, 0};      \
		jlog__site_call((lg), &jlog__s_, (lvl), __VA_ARGS__, 0);      \
	} while (0)
/* The descriptor and the values of @n fields. A key the compiler does
 * not know sends the statement to the array path, chosen while parsing
 * (__builtin_choose_expr), so the other path costs no compile time. */
#define JLOG__EMIT_N(n, lg, lvl, msg, ...)                                    \
	do {                                                                  \
		JLOG__CHECK_N(n, __VA_ARGS__);                                \
		static const char *const jlog__k_[] = {                       \
			JLOG__CAT(JLOG__MAP_, n)(JLOG__FK, __VA_ARGS__)};      \
		static const unsigned char jlog__t_[] = {                     \
			JLOG__CAT(JLOG__MAP_, n)(JLOG__FT, __VA_ARGS__)};      \
		static struct jlog__site jlog__s_ = {                         \
			{__FILE__, __func__, __LINE__, 0}, jlog__k_, jlog__t_, n, 0}; \
		__builtin_choose_expr(                                        \
			JLOG__CAT(JLOG__MAP_, n)(JLOG__FOK, __VA_ARGS__) 1,    \
			jlog__site_call((lg), &jlog__s_, (lvl), (msg),        \
			                (const union jlog__val[]){            \
			                JLOG__CAT(JLOG__MAP_, n)(JLOG__FV, __VA_ARGS__)}), \
			jlog__log_msg((lg), &jlog__s_.cs, (lvl), (msg),       \
			              JLOG__FIELDS(__VA_ARGS__), n));         \
	} while (0)
#define JLOG__EMIT_1 JLOG__EMIT_N
#define JLOG__EMIT_2 JLOG__EMIT_N
#define JLOG__EMIT_3 JLOG__EMIT_N
#define JLOG__EMIT_4 JLOG__EMIT_N
#define JLOG__EMIT_5 JLOG__EMIT_N
#define JLOG__EMIT_6 JLOG__EMIT_N
#define JLOG__EMIT_7 JLOG__EMIT_N
#define JLOG__EMIT_8 JLOG__EMIT_N
#define JLOG__EMIT_9 JLOG__EMIT_N
#define JLOG__EMIT_10 JLOG__EMIT_N
#define JLOG__EMIT_11 JLOG__EMIT_N
#define JLOG__EMIT_12 JLOG__EMIT_N
#define JLOG__EMIT_13 JLOG__EMIT_N
#define JLOG__EMIT_14 JLOG__EMIT_N
#define JLOG__EMIT_15 JLOG__EMIT_N
#define JLOG__EMIT_16 JLOG__EMIT_N
#define JLOG__EMIT_17 JLOG__EMIT_N
#define JLOG__EMIT_18 JLOG__EMIT_N
#define JLOG__EMIT_19 JLOG__EMIT_N
#define JLOG__EMIT_20 JLOG__EMIT_N
#define JLOG__EMIT_21 JLOG__EMIT_N
#define JLOG__EMIT_22 JLOG__EMIT_N
#define JLOG__EMIT_23 JLOG__EMIT_N
#define JLOG__EMIT_24 JLOG__EMIT_N
#define JLOG__EMIT_25 JLOG__EMIT_N
#define JLOG__EMIT_26 JLOG__EMIT_N
#define JLOG__EMIT_27 JLOG__EMIT_N
#define JLOG__EMIT_28 JLOG__EMIT_N
#define JLOG__EMIT_29 JLOG__EMIT_N
#define JLOG__EMIT_30 JLOG__EMIT_N
#define JLOG__EMIT_31 JLOG__EMIT_N
#define JLOG__EMIT_32 JLOG__EMIT_N
#else
/* The inline fast path, the default: the statement encodes its fields
 * into the record itself (jlog__log_fields()). */
#define JLOG__EMIT(lg, lvl, ...)                                              \
	do {                                                                  \
		static jlog_callsite jlog__cs_ = {__FILE__, __func__, __LINE__, 0}; \
		JLOG__CHECK_FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)); \
		jlog_field jlog__copy_[JLOG__NFIELDS(__VA_ARGS__)];           \
		jlog__log_fields((lg), &jlog__cs_, (lvl), JLOG__FIRST(__VA_ARGS__, 0), \
		                 JLOG__FIELDS(JLOG__REST(__VA_ARGS__, JLOG__END_FIELD)), \
		                 JLOG__NFIELDS(__VA_ARGS__) - 1, jlog__copy_); \
	} while (0)
#endif
#endif

/* JLOG_LOG's gate: the full one but in a compact call site (above). */
#ifndef JLOG__GATE
#define JLOG__GATE(lg, lvl, logger) jlog__enabled(lg, lvl)
#endif

#endif /* JLOG_INLINE_H */
