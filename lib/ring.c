/*
 * Lock-free multi-producer, single-consumer byte ring.
 *
 * Why one MPSC ring rather than a ring per thread: a log record must be
 * accepted from any thread, including one that was never seen before, one
 * about to exit and a signal handler that interrupted a log call on the
 * same thread. One shared ring handles all of them without per-thread
 * allocation, registration or reclamation, keeps memory bounded by one
 * figure (queue_size), and gives the writer a single place to drain and a
 * single position to wait for in jlog_flush(). The price is one CAS per
 * record on a shared line, which is a few nanoseconds without contention.
 *
 * Protocol:
 *   - head and tail are free-running uint64_t byte positions, compared by
 *     difference, so they may wrap; the capacity is a power of two and a
 *     position's offset in the buffer is pos & mask.
 *   - head is written only by producers, with a CAS that reserves
 *     [head, head + need); tail is written only by the consumer.
 *   - every record starts with an 8-byte slot header on an 8-byte
 *     boundary: payload length | COMMITTED (| PAD). A header of 0 means
 *     "reserved but not yet written". The consumer zeroes every byte it
 *     gives back, so any header position of the next lap reads 0 until its
 *     producer commits. This is why a stale header can never be mistaken
 *     for a new one, whatever bytes the previous lap held.
 *   - a record never wraps around the end of the buffer: when it would,
 *     the producer reserves the rest of the lap as padding too and marks it
 *     with a PAD header, and the record starts at offset 0.
 *   - a producer writes its payload, then stores its header with release;
 *     the consumer loads the header with acquire, so it sees the payload.
 *   - the consumer zeroes what it consumed, then stores tail with release;
 *     producers load tail with acquire before they reserve, so they never
 *     write into bytes the consumer may still read or zero.
 *
 * Progress: producers are lock-free (a CAS fails only because another
 * producer succeeded). The consumer reads records in reservation order and
 * waits at a record that is reserved but not yet committed; its producer
 * commits without waiting on anything, so the wait is short. Per-thread
 * order holds because a thread's reservations are ordered by the CAS on
 * head and the consumer reads in head order.
 *
 * Waiting happens only on slow paths: a producer finding the ring full
 * (BLOCK), and the consumer finding it empty. Both use futexes with a
 * timeout as a safety net; the fast path makes no syscall.
 */
#include "jlog-private.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, int timeout_ms)
{
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000L,
	};
	/* Any return (woken, timeout, EAGAIN because the value changed,
	 * EINTR) sends the caller back to re-check its condition. */
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static inline _Atomic uint64_t *slot_at(const struct jlog_ring *r, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(r->buf + (pos & r->mask));
}

#define HUGE_PAGE ((size_t)2 << 20)

/* The ring's memory: zeroed, resident, and for rings of 2 MiB and more
 * aligned to and backed by 2 MiB pages where the kernel offers them
 * (transparent huge pages, "madvise" or "always"): the default 4 MiB ring
 * then takes two TLB entries instead of 1,024, so a call rarely waits for
 * a page walk (burst p90 50 -> 44 ns, p99 ~230 -> ~190 ns, max 80-170 ->
 * 35-45 us; four alternating pairs of jlog-bench --mode burst runs). */
static void *map_ring(size_t cap)
{
	if (cap >= HUGE_PAGE) {
		size_t len = cap + HUGE_PAGE;
		uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			uintptr_t a = ((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
			uint8_t *p = (uint8_t *)a;
			if (p > m)
				munmap(m, (size_t)(p - m));
			if (m + len > p + cap)
				munmap(p + cap, (size_t)(m + len - (p + cap)));
#ifdef MADV_HUGEPAGE
			madvise(p, cap, MADV_HUGEPAGE);
#endif
			/* Fault every page in now (zeroes: the memory is
			 * zero already). */
			for (size_t i = 0; i < cap; i += 4096)
				((volatile uint8_t *)p)[i] = 0;
			return p;
		}
	}
	void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int jlog__ring_init(struct jlog_ring *r, size_t capacity, uint64_t start)
{
	if (capacity < 4096 || capacity > ((size_t)1 << 40))
		return -EINVAL;
	size_t cap = 4096;
	while (cap < capacity)
		cap <<= 1;

	memset(r, 0, sizeof(*r));
	/* Anonymous memory is zero, which the protocol requires. mmap rather
	 * than calloc so a large ring is page-aligned and returned to the
	 * system at once when freed. map_ring() faults the pages in here
	 * (MAP_POPULATE, or a touch per page after the huge-page advice), not
	 * by log calls during the first lap of the ring, where one call in
	 * about twenty took a page fault of 1-2 us (burst p99.9 2.4 -> 1.1
	 * us; the ring is resident from the start, 4 MiB by default). */
	void *p = map_ring(cap);
	if (!p)
		return -ENOMEM;
	r->buf = p;
	r->cap = cap;
	r->mask = cap - 1;
	start &= ~(uint64_t)7; /* headers stay 8-byte aligned */
	r->start = start;
	atomic_init(&r->head, start);
	atomic_init(&r->tail, start);
	atomic_init(&r->space_seq, 0);
	atomic_init(&r->waiters, 0);
	atomic_init(&r->wake_seq, 0);
	atomic_init(&r->consumer_idle, 0);
	atomic_init(&r->closed, false);
	return 0;
}

void jlog__ring_finish(struct jlog_ring *r)
{
	if (r->buf)
		munmap(r->buf, r->cap);
	r->buf = NULL;
}

void jlog__ring_wake_consumer(struct jlog_ring *r)
{
	/* Relaxed: a missed wakeup costs at most the consumer's timeout; the
	 * callers that cannot afford that (a blocked producer, a flush) issue
	 * a full fence first, pairing with the fence in jlog__ring_wait(). */
	if (atomic_load_explicit(&r->consumer_idle, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&r->wake_seq, 1, memory_order_release);
		futex_wake(&r->wake_seq, 1);
	}
}

/*
 * The ring is full: spin briefly (the writer usually frees space within
 * microseconds), then yield, then sleep on space_seq until the consumer
 * gives space back. Returns false when the ring was closed meanwhile.
 */
static bool wait_for_space(struct jlog_ring *r, uint64_t need, unsigned *spins)
{
	if (atomic_load_explicit(&r->closed, memory_order_acquire))
		return false;
	(*spins)++;
	if (*spins < 64) {
		cpu_relax();
		return true;
	}
	/* Make sure the consumer is awake: it may be sleeping until its
	 * flush interval. The fence pairs with the one in jlog__ring_wait(). */
	atomic_thread_fence(memory_order_seq_cst);
	jlog__ring_wake_consumer(r);
	if (*spins < 96) {
		sched_yield();
		return true;
	}

	uint32_t seq = atomic_load_explicit(&r->space_seq, memory_order_acquire);
	atomic_fetch_add_explicit(&r->waiters, 1, memory_order_seq_cst);
	/* Re-check after announcing ourselves: either the consumer sees
	 * waiters != 0 after its tail store and bumps space_seq, or we see
	 * the new tail here (the seq_cst accesses order the two sides). */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
	if (head + need - tail > r->cap &&
	    !atomic_load_explicit(&r->closed, memory_order_acquire))
		futex_wait(&r->space_seq, seq, 10);
	atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
	return true;
}

/* The full reservation; jlog__ring_reserve() (jlog-private.h) tries the
 * common case inline first. */
void *jlog__ring_reserve_slow(struct jlog_ring *r, size_t len, bool block)
{
	uint64_t need = 8 + JLOG__ALIGN8((uint64_t)len);
	if (need > r->cap / 2)
		return NULL;

	/* Relaxed: the value is only a guess that the CAS below validates. */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t pad, tail;
	unsigned spins = 0;
	for (;;) {
		uint64_t off = head & r->mask;
		pad = off + need > r->cap ? r->cap - off : 0;
		/* Acquire pairs with the release store of tail in
		 * jlog__ring_release(): the bytes up to tail are zeroed and no
		 * longer read by the consumer. */
		tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + pad + need - tail > r->cap) {
			/* Our head may be older than the tail we just read
			 * (other producers and the consumer moved on since):
			 * look again before calling the ring full. */
			uint64_t now = atomic_load_explicit(&r->head, memory_order_relaxed);
			if (now != head) {
				head = now;
				continue;
			}
			if (!block || !wait_for_space(r, pad + need, &spins))
				return NULL;
			head = atomic_load_explicit(&r->head, memory_order_relaxed);
			continue;
		}
		/* Relaxed: the CAS only claims the bytes; what we write into
		 * them is published by the header store in commit. */
		if (atomic_compare_exchange_weak_explicit(&r->head, &head, head + pad + need,
		                                          memory_order_relaxed,
		                                          memory_order_relaxed))
			break;
	}

	if (pad) {
		/* Release pairs with the acquire in jlog__ring_peek(); the pad
		 * has no payload, but the order of headers must hold. */
		atomic_store_explicit(slot_at(r, head),
		                      (pad - 8) | JLOG__SLOT_PAD | JLOG__SLOT_COMMITTED,
		                      memory_order_release);
	}
	uint64_t pos = head + pad;

	/* Past half full, make sure a sleeping consumer starts draining now
	 * rather than at its next timeout. Rare in steady state, so the
	 * common path pays one relaxed load and no syscall. */
	if (pos + need - tail > r->cap / 2)
		jlog__ring_wake_consumer(r);

	return r->buf + (pos & r->mask) + 8;
}

/*
 * Zero @n bytes at @p (both multiples of 8, as every ring position is),
 * 32 bytes a store (two on a CPU without 32-byte stores). libc's memset
 * does sizes like these with `rep stosb`, which callgrind counts as one
 * instruction per byte, so the writer's
 * count per record (the figure bench/ tracks) was mostly this zeroing;
 * the CPU does the same few stores a cache line either way. The empty asm
 * keeps the compiler from turning the loop back into a memset call.
 * Pair: jlog__ring_release().
 */
typedef uint64_t zero_vec __attribute__((vector_size(32), aligned(8)));

static void zero_bytes(uint8_t *p, size_t n)
{
	const zero_vec z = {0, 0, 0, 0};
	size_t i = 0;
	/* Four stores a turn: the loop's own add and branch were a third
	 * of its instructions. */
	for (; i + 128 <= n; i += 128) {
		memcpy(p + i, &z, 32);
		memcpy(p + i + 32, &z, 32);
		memcpy(p + i + 64, &z, 32);
		memcpy(p + i + 96, &z, 32);
		__asm__ __volatile__("" : : "r"(p + i) : "memory");
	}
	for (; i + 32 <= n; i += 32) {
		memcpy(p + i, &z, 32);
		__asm__ __volatile__("" : : "r"(p + i) : "memory");
	}
	for (; i < n; i += 8)
		memset(p + i, 0, 8);
}

void jlog__ring_release(struct jlog_ring *r, uint64_t pos)
{
	/* Relaxed: only this thread writes tail. */
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (pos == tail)
		return;
	uint64_t n = pos - tail;
	uint64_t off = tail & r->mask;
	uint64_t first = n < r->cap - off ? n : r->cap - off;
	zero_bytes(r->buf + off, first);
	if (n > first)
		zero_bytes(r->buf, n - first);
	/* Publish the zeroed bytes as free space. Pairs with the acquire load
	 * of tail in jlog__ring_reserve(). */
	atomic_store_explicit(&r->tail, pos, memory_order_release);
	/* Pairs with the seq_cst accesses in wait_for_space(): either a
	 * parked producer sees the new tail, or we see it waiting. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->waiters, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&r->space_seq, 1, memory_order_release);
		futex_wake(&r->space_seq, INT32_MAX);
	}
}

uint64_t jlog__ring_head(struct jlog_ring *r)
{
	/* Acquire: a caller that then waits for the consumer to pass this
	 * position needs it to be at least the value other threads' earlier
	 * reservations left. */
	return atomic_load_explicit(&r->head, memory_order_acquire);
}

uint32_t jlog__ring_wait_seq(struct jlog_ring *r)
{
	/* Acquire pairs with the release increments in jlog__ring_kick() and
	 * jlog__ring_wake_consumer(). */
	return atomic_load_explicit(&r->wake_seq, memory_order_acquire);
}

void jlog__ring_kick(struct jlog_ring *r)
{
	atomic_fetch_add_explicit(&r->wake_seq, 1, memory_order_release);
	futex_wake(&r->wake_seq, 1);
}

void jlog__ring_wait(struct jlog_ring *r, uint64_t pos, uint32_t seq, int timeout_ms)
{
	atomic_store_explicit(&r->consumer_idle, 1, memory_order_relaxed);
	/* Pairs with the fence in wait_for_space() and in the flush path: a
	 * waker either sees consumer_idle set, or we see its record. A kick
	 * after @seq was read makes the futex wait return at once. */
	atomic_thread_fence(memory_order_seq_cst);
	uint64_t h = atomic_load_explicit(slot_at(r, pos), memory_order_acquire);
	if (!(h & JLOG__SLOT_COMMITTED))
		futex_wait(&r->wake_seq, seq, timeout_ms);
	atomic_store_explicit(&r->consumer_idle, 0, memory_order_relaxed);
}

/*
 * The consumer's last step at stop: when nothing is reserved past @head
 * (everything before it consumed and released, so tail == head), move
 * head a full lap ahead of tail with a CAS and close the ring. Every later
 * reservation then finds the ring full and, closed, gives up at once
 * (counted as dropped by its caller), whatever the policy: no record can
 * be committed after the consumer's last look. The CAS is that look: a
 * producer that reserved first makes it fail, and the consumer drains its
 * record and tries again. Pairs with the CAS on head in the reservations.
 */
bool jlog__ring_seal(struct jlog_ring *r, uint64_t head)
{
	/* Relaxed: only this thread writes tail. */
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&r->head, &head, tail + r->cap,
	                                             memory_order_seq_cst, memory_order_relaxed))
		return false;
	jlog__ring_close(r);
	return true;
}

void jlog__ring_close(struct jlog_ring *r)
{
	atomic_store_explicit(&r->closed, true, memory_order_release);
	atomic_fetch_add_explicit(&r->space_seq, 1, memory_order_release);
	futex_wake(&r->space_seq, INT32_MAX);
}

/*
 * In a forked child, from the atfork child handler (the only thread): make
 * the ring empty. The child's copy holds records committed but not yet
 * consumed, which the parent's writer writes (writing them here too would
 * duplicate lines), and may hold records reserved by threads that do not
 * exist in the child and will never commit. The buffer is replaced by
 * fresh zero pages at the same address, as the protocol requires of free
 * space: no page of the parent's ring is copied, and a ring mapped from a
 * shared file would stay the parent's alone. The positions restart at the
 * copied head; the wakeup counters restart at zero.
 */
uint64_t jlog__ring_reset_after_fork(struct jlog_ring *r)
{
	void *p = mmap(r->buf, r->cap, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		memset(r->buf, 0, r->cap); /* out of mappings: zero our copy */
	/* Relaxed: no other thread exists; the writer that starts next is
	 * published these values by pthread_create(). */
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	atomic_store_explicit(&r->tail, pos, memory_order_relaxed);
	atomic_store_explicit(&r->space_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&r->waiters, 0, memory_order_relaxed);
	atomic_store_explicit(&r->wake_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&r->consumer_idle, 0, memory_order_relaxed);
	return pos;
}
