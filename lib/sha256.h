/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the hash mode of
 * redaction (redact.c): small, allocation-free and async-signal-safe, so
 * the crash handler can hash too, and no crypto library is needed for
 * this one primitive. Pair: sha256.c.
 */
#ifndef JLOG_SHA256_H
#define JLOG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define JLOG__SHA256_LEN 32
#define JLOG__SHA256_BLOCK 64

struct jlog__sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed */
	uint8_t buf[JLOG__SHA256_BLOCK];
	size_t used;    /* bytes in buf */
};

void jlog__sha256_init(struct jlog__sha256 *s);
void jlog__sha256_update(struct jlog__sha256 *s, const void *p, size_t n);
void jlog__sha256_final(struct jlog__sha256 *s, uint8_t out[JLOG__SHA256_LEN]);

/* An HMAC key prepared once: the hash states after the inner and outer
 * padded keys, so that each message costs its own blocks and two more. */
struct jlog__hmac_key {
	struct jlog__sha256 inner, outer;
};
void jlog__hmac_key_init(struct jlog__hmac_key *k, const void *key, size_t len);
void jlog__hmac(const struct jlog__hmac_key *k, const void *msg, size_t n,
                uint8_t out[JLOG__SHA256_LEN]);

#endif
