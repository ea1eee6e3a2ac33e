/*
 * The ring (ring.c): the MPSC queue from the log calls to the writer. A
 * part of jlog-private.h, which includes the parts in the order of the
 * data flow: include that, not this.
 */
#ifndef JLOG_RING_H
#define JLOG_RING_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

struct jlog_ring {
	/* Producer side: written by every producer (CAS), read by the
	 * consumer. Its own cache line so producers do not invalidate the
	 * consumer's line on every reservation. */
	_Alignas(JLOG__CACHELINE) _Atomic uint64_t head;

	/* Consumer side: written by the consumer only. */
	_Alignas(JLOG__CACHELINE) _Atomic uint64_t tail;

	/* Wakeups (slow paths only). */
	_Alignas(JLOG__CACHELINE) _Atomic uint32_t space_seq; /* futex: space freed */
	_Atomic uint32_t waiters;        /* producers parked on space_seq */
	_Atomic uint32_t wake_seq;       /* futex: consumer wakeup */
	_Atomic uint32_t consumer_idle;  /* consumer is (about to be) asleep */
	_Atomic bool closed;             /* no more records accepted */

	/* Read-only after init. */
	_Alignas(JLOG__CACHELINE) uint8_t *buf;
	uint64_t cap;
	uint64_t mask;
	uint64_t start; /* initial position (tests start near wraparound) */
};

/* Slot header in front of each record, 8 bytes, read and written
 * atomically: 0 means "not yet written". */
#define JLOG__SLOT_COMMITTED (1ull << 63)
#define JLOG__SLOT_PAD (1ull << 62)
#define JLOG__SLOT_LEN_MASK 0xffffffffull

/* Capacity is rounded up to a power of two. @start is the initial value of
 * the free-running positions. Returns 0 or -ENOMEM/-EINVAL. */
int jlog__ring_init(struct jlog_ring *r, size_t capacity, uint64_t start);
void jlog__ring_finish(struct jlog_ring *r);

/*
 * Reserve @len payload bytes (len <= cap / 4). Returns a pointer to the
 * payload, or NULL when the ring is full and @block is false, or when the
 * ring is closed. With @block the caller spins briefly, then sleeps until
 * the consumer frees space. Lock-free: no lock, no allocation, no syscall
 * unless the ring is full.
 */
void *jlog__ring_reserve_slow(struct jlog_ring *r, size_t len, bool block);
/*
 * The common case of a reservation, inline, with the orders of the full
 * protocol (ring.c): the record fits before the end of the buffer and
 * leaves the ring under half full, so no padding and no wakeup. One CAS
 * attempt; returns false for anything else (a lost race included), which
 * jlog__ring_reserve_slow() handles. Saves the call and half of the full
 * path's 59 instructions (callgrind, bench/hotpath.c).
 */
static inline bool jlog__ring_try_reserve(struct jlog_ring *r, size_t len, uint8_t **payload)
{
	uint64_t need = 8 + JLOG__ALIGN8((uint64_t)len);
	/* Relaxed: a guess that the CAS validates. */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Acquire pairs with the release store of tail in
	 * jlog__ring_release(), as in the full path. */
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t off = head & r->mask;
	/* Computed before the CAS, which makes the compiler reload fields. */
	uint8_t *p = r->buf + off + 8;
	if (JLOG__LIKELY(off + need <= r->cap && head + need - tail <= r->cap / 2) &&
	    atomic_compare_exchange_strong_explicit(&r->head, &head, head + need,
	                                            memory_order_relaxed, memory_order_relaxed)) {
		*payload = p;
		return true;
	}
	return false;
}
static inline void *jlog__ring_reserve(struct jlog_ring *r, size_t len, bool block)
{
	uint8_t *p;
	return jlog__ring_try_reserve(r, len, &p) ? p : jlog__ring_reserve_slow(r, len, block);
}
/* Publish a reserved record to the consumer. */
static inline void jlog__ring_commit(struct jlog_ring *r, void *payload, size_t len)
{
	_Atomic uint64_t *hdr = (_Atomic uint64_t *)(void *)((uint8_t *)payload - 8);
	/* Publish the record bytes before its header. Pairs with the acquire
	 * load of the header in jlog__ring_peek(). */
	atomic_store_explicit(hdr, (uint64_t)len | JLOG__SLOT_COMMITTED, memory_order_release);
	/* Fetch for writing the ring lines a few records ahead: the consumer
	 * zeroed them long ago and they went cold (out of this core's
	 * caches) since, and the hardware prefetchers do not cross 4 KiB
	 * pages, so without this the calls near a page boundary took a miss
	 * per line. 1 KiB ahead gives the fetch ~7 calls of lead; each commit
	 * moves the window by one record, so with records up to 256 bytes
	 * every line is fetched once. 8 instructions (199 -> 207 per call);
	 * burst p99 720 -> 300 ns when fetching the next record's lines, and
	 * fetching 1 KiB ahead instead: calls other than the first after a
	 * sleep over 120 ns 1.5% -> 0.3%, their p99 140 -> 54 ns and p99.9
	 * 320 -> 180 ns (jlog-bench --mode burst, three alternating runs of
	 * each). */
	(void)r;
	/* Integer addresses: past the ring's end a prefetch is harmless (it
	 * never faults); the first lines of the next lap are not fetched. */
	uintptr_t ahead = (uintptr_t)payload + len + 1024;
	__builtin_prefetch((const void *)ahead, 1, 3);
	__builtin_prefetch((const void *)(ahead + 64), 1, 3);
	__builtin_prefetch((const void *)(ahead + 128), 1, 3);
	__builtin_prefetch((const void *)(ahead + 192), 1, 3);
}

/*
 * Consumer: look at the position *pos. Returns 1 and sets *rec and *len and
 * advances *pos past the record when a committed record is there (padding
 * is skipped); returns 0 when nothing committed is there yet. Inline: the
 * writer's drain loop calls it for every record.
 */
static inline int jlog__ring_peek(struct jlog_ring *r, uint64_t *pos, const void **rec,
                                  size_t *len)
{
	/* Relaxed: only this thread writes tail. */
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (;;) {
		/* A full lap ahead of tail is our own consumed but not yet
		 * released (so not yet zeroed) bytes: stop there until the
		 * caller releases them. Only a ring that is exactly full gets
		 * here. */
		if (*pos - tail >= r->cap)
			return 0;
		/* Acquire pairs with the release store in jlog__ring_commit()
		 * (or of a pad header in jlog__ring_reserve()). */
		_Atomic uint64_t *slot = (_Atomic uint64_t *)(void *)(r->buf + (*pos & r->mask));
		uint64_t h = atomic_load_explicit(slot, memory_order_acquire);
		if (!(h & JLOG__SLOT_COMMITTED))
			return 0;
		uint64_t l = h & JLOG__SLOT_LEN_MASK;
		if (h & JLOG__SLOT_PAD) {
			*pos += 8 + l;
			continue;
		}
		*rec = r->buf + (*pos & r->mask) + 8;
		*len = (size_t)l;
		*pos += 8 + JLOG__ALIGN8(l);
		return 1;
	}
}
/* Consumer: give back everything before @pos (zeroes it and publishes the
 * new tail; wakes producers parked on a full ring). */
void jlog__ring_release(struct jlog_ring *r, uint64_t pos);
/* Current head (acquire): every record reserved before the call ends at or
 * before it. */
uint64_t jlog__ring_head(struct jlog_ring *r);

/* Wake the consumer if it sleeps. Async-signal-safe. */
void jlog__ring_wake_consumer(struct jlog_ring *r);
/* Wake the consumer unconditionally (even one about to sleep whose wait
 * sequence was read before this call). Async-signal-safe. */
void jlog__ring_kick(struct jlog_ring *r);
/* Consumer: read the wait sequence before checking its own reasons to
 * stay awake (stop, flush), then pass it to jlog__ring_wait(), which
 * sleeps until woken or @timeout_ms passes, unless the ring has a
 * committed record at @pos or a kick came after the sequence was read. */
uint32_t jlog__ring_wait_seq(struct jlog_ring *r);
void jlog__ring_wait(struct jlog_ring *r, uint64_t pos, uint32_t seq, int timeout_ms);
/* Refuse new reservations and wake every parked producer. */
void jlog__ring_close(struct jlog_ring *r);
/* Consumer, at stop: if head is still @head (everything before it
 * consumed and released), make every later reservation fail and close the
 * ring; false when a producer reserved meanwhile (see ring.c). */
bool jlog__ring_seal(struct jlog_ring *r, uint64_t head);
/* In a forked child (only the forking thread runs): empty the ring,
 * dropping the parent's records, and reset its wakeup state. Returns the
 * new position (head == tail). */
uint64_t jlog__ring_reset_after_fork(struct jlog_ring *r);

#endif
