/*
 * The growable output buffer (buf.c), written by the writer thread
 * only, and the short copies and compares the buffer and the encoders
 * use instead of calls into libc.
 * A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_BUF_H
#define JLOG_BUF_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

struct jlog__buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; contents are incomplete */
	bool fixed;  /* never reallocated: growing fails instead (the crash
	                handler's buffers, whose memory is not the heap's) */
};

/*
 * Copy @n bytes where n is usually small (keys, short values): two
 * overlapping fixed-size moves instead of a call into libc's memcpy, which
 * costs about 13 instructions plus the call for each of the ~8 copies of a
 * typical record (and for the encoder's short pieces of output). Reads
 * and writes nothing when n is 0.
 */
/* GCC 12 at -O3 sees the branches for larger sizes applied to small
 * arrays whose callers never pass that many bytes (format.c's escape
 * buffer), and warns: false positives. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
static inline void jlog__copy_bytes(void *dst_, const void *src, size_t n)
{
	uint8_t *dst = dst_;
	const uint8_t *s = src;
	if (JLOG__LIKELY(n <= 16)) {
		if (n >= 8) {
			uint64_t a, b;
			memcpy(&a, s, 8);
			memcpy(&b, s + n - 8, 8);
			memcpy(dst, &a, 8);
			memcpy(dst + n - 8, &b, 8);
		} else if (n >= 4) {
			uint32_t a, b;
			memcpy(&a, s, 4);
			memcpy(&b, s + n - 4, 4);
			memcpy(dst, &a, 4);
			memcpy(dst + n - 4, &b, 4);
		} else if (n > 0) {
			dst[0] = s[0];
			dst[n / 2] = s[n / 2];
			dst[n - 1] = s[n - 1];
		}
		return;
	}
	memcpy(dst, src, n);
}

/* The first and the last @w bytes (a constant, 4 or 8; n >= w) of @a and
 * @b are equal. */
static inline bool jlog__ends_equal(const uint8_t *a, const uint8_t *b, size_t n, size_t w)
{
	uint64_t x0 = 0, x1 = 0, y0 = 0, y1 = 0;
	memcpy(&x0, a, w);
	memcpy(&x1, a + n - w, w);
	memcpy(&y0, b, w);
	memcpy(&y1, b + n - w, w);
	return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

/* Whether the @n bytes at @a and @b are equal, for short keys: the loads
 * of jlog__copy_bytes() and one compare instead of a call into libc's
 * memcmp (its pair). */
static inline bool jlog__bytes_equal(const void *a_, const void *b_, size_t n)
{
	const uint8_t *a = a_, *b = b_;
	if (JLOG__LIKELY(n <= 16)) {
		if (n >= 8)
			return jlog__ends_equal(a, b, n, 8);
		if (n >= 4)
			return jlog__ends_equal(a, b, n, 4);
		return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
	}
	return memcmp(a, b, n) == 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void jlog__buf_init(struct jlog__buf *b);
void jlog__buf_finish(struct jlog__buf *b);
/* Make room for @extra more bytes. Returns false (and sets failed) when the
 * allocation fails; callers may keep appending, which then does nothing. */
bool jlog__buf_grow(struct jlog__buf *b, size_t extra);
static inline bool jlog__buf_room(struct jlog__buf *b, size_t extra)
{
	return b->cap - b->len >= extra || jlog__buf_grow(b, extra);
}
static inline void jlog__buf_put(struct jlog__buf *b, const void *p, size_t n)
{
	if (jlog__buf_room(b, n)) {
		jlog__copy_bytes(b->p + b->len, p, n);
		b->len += n;
	}
}
static inline void jlog__buf_putc(struct jlog__buf *b, char c)
{
	if (jlog__buf_room(b, 1))
		b->p[b->len++] = c;
}
#define jlog__buf_lit(b, s) jlog__buf_put((b), (s), sizeof(s) - 1)

#endif /* JLOG_BUF_H */
