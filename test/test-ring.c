/*
 * The ring on its own: reserve/commit/peek/release, padding at the end of
 * a lap, full-ring behaviour with and without blocking, and a
 * multi-producer stress whose positions wrap around 2^64 during the run.
 */
#include "jlog-private.h"
#include "test-common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* A test record: producer id, sequence number, then filler bytes that
 * repeat a checksum so torn or overwritten records are caught. */
struct trec {
	uint32_t producer;
	uint32_t seq;
	uint32_t len; /* total payload length */
	uint32_t fill;
};

static void fill_record(uint8_t *p, uint32_t producer, uint32_t seq, uint32_t len)
{
	struct trec t = {producer, seq, len, producer * 2654435761u ^ seq};
	memcpy(p, &t, sizeof(t));
	for (uint32_t i = sizeof(t); i < len; i++)
		p[i] = (uint8_t)(t.fill + i);
}

/* Plain comparisons, not ck_assert: each ck_assert that passes still
 * reports a checkpoint to the parent process, which is far too slow for
 * the millions of records of the stress tests. */
static void check_record(const uint8_t *p, size_t len, struct trec *out)
{
	if (len < sizeof(struct trec))
		ck_abort_msg("record of %zu bytes is too short", len);
	memcpy(out, p, sizeof(*out));
	if (out->len != len)
		ck_abort_msg("record says %u bytes, ring says %zu", out->len, len);
	if (out->fill != (out->producer * 2654435761u ^ out->seq))
		ck_abort_msg("record header is corrupt");
	for (uint32_t i = sizeof(*out); i < len; i++)
		if (p[i] != (uint8_t)(out->fill + i))
			ck_abort_msg("record byte %u is corrupt", i);
}

START_TEST(test_ring_basic)
{
	struct jlog_ring r;
	ck_assert_int_eq(jlog__ring_init(&r, 5000, 0), 0);
	ck_assert_uint_eq(r.cap, 8192); /* rounded up to a power of two */

	uint64_t pos = r.start;
	const void *rec;
	size_t len;
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 0);

	for (uint32_t i = 0; i < 3; i++) {
		uint8_t *p = jlog__ring_reserve(&r, 20 + i, false);
		ck_assert_ptr_nonnull(p);
		fill_record(p, 1, i, 20 + i);
		jlog__ring_commit(&r, p, 20 + i);
	}
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 1);
		struct trec t;
		check_record(rec, len, &t);
		ck_assert_uint_eq(t.seq, i);
	}
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 0);
	jlog__ring_release(&r, pos);
	ck_assert_uint_eq(atomic_load(&r.tail), pos);
	/* Released bytes are zero again, as the protocol requires. */
	size_t nonzero = 0;
	for (size_t i = 0; i < r.cap; i++)
		nonzero += r.buf[i] != 0;
	ck_assert_uint_eq(nonzero, 0);
	jlog__ring_finish(&r);
}
END_TEST

/* A reserved but uncommitted record holds the consumer back, and records
 * after it wait too: the consumer reads in reservation order. */
START_TEST(test_ring_uncommitted_blocks_consumer)
{
	struct jlog_ring r;
	ck_assert_int_eq(jlog__ring_init(&r, 8192, 0), 0);
	uint8_t *a = jlog__ring_reserve(&r, 16, false);
	uint8_t *b = jlog__ring_reserve(&r, 16, false);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	fill_record(b, 2, 1, 16);
	jlog__ring_commit(&r, b, 16);

	uint64_t pos = r.start;
	const void *rec;
	size_t len;
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 0);
	fill_record(a, 1, 0, 16);
	jlog__ring_commit(&r, a, 16);
	struct trec t;
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 1);
	check_record(rec, len, &t);
	ck_assert_uint_eq(t.producer, 1);
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 1);
	check_record(rec, len, &t);
	ck_assert_uint_eq(t.producer, 2);
	jlog__ring_finish(&r);
}
END_TEST

/* Records never straddle the end of the buffer: a record that would is
 * preceded by padding and starts at offset 0. */
START_TEST(test_ring_padding_at_wrap)
{
	struct jlog_ring r;
	ck_assert_int_eq(jlog__ring_init(&r, 4096, 0), 0);
	uint64_t pos = r.start;
	const void *rec;
	size_t len;
	uint32_t seq = 0, expect = 0;
	/* Odd sizes so the lap ends at varying offsets. */
	for (int round = 0; round < 500; round++) {
		uint32_t l = 16 + (uint32_t)(round * 37 % 700);
		uint8_t *p = jlog__ring_reserve(&r, l, false);
		ck_assert_ptr_nonnull(p);
		ck_assert(p + l <= r.buf + r.cap);
		fill_record(p, 7, seq++, l);
		jlog__ring_commit(&r, p, l);
		while (jlog__ring_peek(&r, &pos, &rec, &len)) {
			struct trec t;
			check_record(rec, len, &t);
			ck_assert_uint_eq(t.seq, expect++);
		}
		jlog__ring_release(&r, pos);
	}
	ck_assert_uint_eq(expect, 500);
	ck_assert_uint_gt(pos - r.start, 4 * r.cap); /* several laps */
	jlog__ring_finish(&r);
}
END_TEST

START_TEST(test_ring_full_nonblocking)
{
	struct jlog_ring r;
	ck_assert_int_eq(jlog__ring_init(&r, 4096, 0), 0);
	int n = 0;
	uint8_t *p;
	while ((p = jlog__ring_reserve(&r, 56, false)) != NULL) {
		fill_record(p, 1, (uint32_t)n, 56);
		jlog__ring_commit(&r, p, 56);
		n++;
	}
	/* 64 bytes per record (8 header + 56): exactly a full buffer. */
	ck_assert_int_eq(n, 4096 / 64);
	/* Oversized requests are refused outright. */
	ck_assert_ptr_null(jlog__ring_reserve(&r, 4096, false));

	uint64_t pos = r.start;
	const void *rec;
	size_t len;
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 1);
	jlog__ring_release(&r, pos);
	p = jlog__ring_reserve(&r, 56, false);
	ck_assert_ptr_nonnull(p);
	jlog__ring_commit(&r, p, 56);
	ck_assert_ptr_null(jlog__ring_reserve(&r, 56, false));
	jlog__ring_finish(&r);
}
END_TEST

struct block_arg {
	struct jlog_ring *r;
	atomic_int done;
};

static void *blocking_producer(void *arg)
{
	struct block_arg *a = arg;
	uint8_t *p = jlog__ring_reserve(a->r, 56, true);
	ck_assert_ptr_nonnull(p);
	fill_record(p, 9, 99, 56);
	jlog__ring_commit(a->r, p, 56);
	atomic_store(&a->done, 1);
	return NULL;
}

/* Under BLOCK a producer facing a full ring waits until the consumer gives
 * space back, then completes. */
START_TEST(test_ring_full_blocking)
{
	struct jlog_ring r;
	ck_assert_int_eq(jlog__ring_init(&r, 4096, 0), 0);
	uint8_t *p;
	while ((p = jlog__ring_reserve(&r, 56, false)) != NULL)
		jlog__ring_commit(&r, p, 56);

	struct block_arg a = {&r, 0};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, blocking_producer, &a), 0);
	usleep(50 * 1000);
	ck_assert_int_eq(atomic_load(&a.done), 0); /* still waiting */

	uint64_t pos = r.start;
	const void *rec;
	size_t len;
	ck_assert_int_eq(jlog__ring_peek(&r, &pos, &rec, &len), 1);
	jlog__ring_release(&r, pos);
	pthread_join(t, NULL);
	ck_assert_int_eq(atomic_load(&a.done), 1);
	jlog__ring_finish(&r);
}
END_TEST

static void *closing_waiter(void *arg)
{
	struct jlog_ring *r = arg;
	return jlog__ring_reserve(r, 56, true);
}

/* Closing the ring releases a producer blocked on it, with no record. */
START_TEST(test_ring_close_releases_blocked)
{
	struct jlog_ring r;
	ck_assert_int_eq(jlog__ring_init(&r, 4096, 0), 0);
	uint8_t *p;
	while ((p = jlog__ring_reserve(&r, 56, false)) != NULL)
		jlog__ring_commit(&r, p, 56);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, closing_waiter, &r), 0);
	usleep(20 * 1000);
	jlog__ring_close(&r);
	void *res = (void *)1;
	pthread_join(t, &res);
	ck_assert_ptr_null(res);
	jlog__ring_finish(&r);
}
END_TEST

/* ---- multi-producer stress ---------------------------------------------- */

#define STRESS_PRODUCERS 4

struct stress {
	struct jlog_ring r;
	uint32_t per_producer;
	bool block;
	atomic_uint go;
	atomic_ulong attempted[STRESS_PRODUCERS];
	atomic_ulong refused[STRESS_PRODUCERS];
	atomic_uint producers_done;
};

struct producer_arg {
	struct stress *s;
	uint32_t id;
};

static void *stress_producer(void *arg)
{
	struct producer_arg *pa = arg;
	struct stress *s = pa->s;
	unsigned seed = pa->id * 7919u + 1;
	while (!atomic_load(&s->go))
		;
	uint32_t seq = 0;
	for (uint32_t i = 0; i < s->per_producer; i++) {
		uint32_t len = sizeof(struct trec) + (uint32_t)(rand_r(&seed) % 300);
		atomic_fetch_add(&s->attempted[pa->id], 1);
		uint8_t *p = jlog__ring_reserve(&s->r, len, s->block);
		if (!p && s->block)
			ck_abort_msg("blocking reserve failed");
		if (!p) {
			atomic_fetch_add(&s->refused[pa->id], 1);
			continue;
		}
		fill_record(p, pa->id, seq++, len);
		jlog__ring_commit(&s->r, p, len);
	}
	atomic_fetch_add(&s->producers_done, 1);
	jlog__ring_kick(&s->r);
	return NULL;
}

static void run_stress(uint64_t start, bool block, uint32_t per_producer)
{
	struct stress *s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	/* A small ring so producers lap it thousands of times and often find
	 * it full. */
	ck_assert_int_eq(jlog__ring_init(&s->r, 16384, start), 0);
	s->per_producer = per_producer = (uint32_t)tc_scale(per_producer, 5000);
	s->block = block;

	pthread_t th[STRESS_PRODUCERS];
	struct producer_arg pa[STRESS_PRODUCERS];
	for (uint32_t i = 0; i < STRESS_PRODUCERS; i++) {
		pa[i] = (struct producer_arg){s, i};
		ck_assert_int_eq(pthread_create(&th[i], NULL, stress_producer, &pa[i]), 0);
	}
	atomic_store(&s->go, 1);

	uint32_t next[STRESS_PRODUCERS] = {0};
	uint64_t pos = s->r.start, got = 0;
	const void *rec;
	size_t len;
	for (;;) {
		uint32_t seq = jlog__ring_wait_seq(&s->r);
		int n = 0;
		while (jlog__ring_peek(&s->r, &pos, &rec, &len)) {
			struct trec t;
			check_record(rec, len, &t);
			if (t.producer >= STRESS_PRODUCERS)
				ck_abort_msg("unknown producer %u", t.producer);
			/* Per-producer order, no loss, no duplicate. */
			if (t.seq != next[t.producer])
				ck_abort_msg("producer %u: got seq %u, expected %u", t.producer,
				             t.seq, next[t.producer]);
			next[t.producer]++;
			got++;
			if (++n % 64 == 0)
				jlog__ring_release(&s->r, pos);
		}
		jlog__ring_release(&s->r, pos);
		if (atomic_load(&s->producers_done) == STRESS_PRODUCERS &&
		    jlog__ring_head(&s->r) == pos)
			break;
		if (n == 0)
			jlog__ring_wait(&s->r, pos, seq, 5);
	}
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		pthread_join(th[i], NULL);

	uint64_t attempted = 0, refused = 0;
	for (int i = 0; i < STRESS_PRODUCERS; i++) {
		attempted += atomic_load(&s->attempted[i]);
		refused += atomic_load(&s->refused[i]);
		ck_assert_uint_eq(next[i], atomic_load(&s->attempted[i]) - atomic_load(&s->refused[i]));
	}
	ck_assert_uint_eq(attempted, (uint64_t)STRESS_PRODUCERS * per_producer);
	ck_assert_uint_eq(got + refused, attempted);
	if (block)
		ck_assert_uint_eq(refused, 0);
	/* The run really went around the position counter when asked to. */
	if (start > UINT64_MAX / 2)
		ck_assert_uint_lt(pos, start);
	jlog__ring_finish(&s->r);
	free(s);
}

START_TEST(test_ring_stress_block)
{
	run_stress(0, true, 500000);
}
END_TEST

/* Positions start just below 2^64 and wrap early in the run. */
START_TEST(test_ring_stress_block_wrap64)
{
	run_stress(UINT64_MAX - 100000, true, 200000);
}
END_TEST

/* Positions start just below 2^32, where a 32-bit counter would wrap. */
START_TEST(test_ring_stress_block_wrap32)
{
	run_stress((uint64_t)UINT32_MAX - 100000, true, 100000);
}
END_TEST

START_TEST(test_ring_stress_drop)
{
	run_stress(UINT64_MAX - 2000, false, 200000);
}
END_TEST

Suite *jlog_test_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("single");
	tcase_add_test(tc, test_ring_basic);
	tcase_add_test(tc, test_ring_uncommitted_blocks_consumer);
	tcase_add_test(tc, test_ring_padding_at_wrap);
	tcase_add_test(tc, test_ring_full_nonblocking);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_ring_full_blocking);
	tcase_add_test(tc, test_ring_close_releases_blocked);
	tcase_add_test(tc, test_ring_stress_block);
	tcase_add_test(tc, test_ring_stress_block_wrap64);
	tcase_add_test(tc, test_ring_stress_block_wrap32);
	tcase_add_test(tc, test_ring_stress_drop);
	suite_add_tcase(s, tc);
	return s;
}
