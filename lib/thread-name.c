/*
 * Thread names for the formatters ({thread.name}, the loguru preset's
 * record.thread.name): the name of the thread that logged, at no cost to
 * the log call.
 *
 * A record carries only its thread's id. Each thread registers its name
 * once, at its first log call (jlog__gettid()'s first call, on that
 * thread: one prctl()), in a table indexed by the id; the writer looks
 * the record's id up. Reading the name per call would be a system call on
 * the hot path, and carrying it would add 16 bytes to every record.
 *
 * Protocol, per slot (a sequence lock with one writer at a time):
 *   1. A registering thread takes the slot by moving seq from even to odd
 *      (CAS, acquire); a slot another thread is writing at that moment
 *      is left alone (this thread's records then fall back, below).
 *   2. It stores tid and the name's two words (relaxed), then releases
 *      seq to the next even value (release).
 *   3. The writer reads seq (acquire), tid and the words (relaxed), an
 *      acquire fence, and seq again: the read holds when both reads of
 *      seq are equal and even (the fence pairs with the release in 2;
 *      the acquire in 1 keeps 2's stores after the CAS).
 * Threads whose ids share a slot overwrite each other's entry (the latest
 * to start logging wins), and the writer then falls back to
 * /proc/self/task/<tid>/comm, the thread's current name, while the thread
 * lives; after that, nothing (the formatters print the id).
 *
 * The name is the one the thread had at its first log call: a thread
 * renamed later keeps its first name in the lines. The main thread's name
 * is the program's (the kernel's comm, at most 15 bytes).
 */
#include "jlog-private.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SLOTS 4096u /* a power of two */

struct slot {
	_Atomic uint32_t seq;
	_Atomic uint32_t tid;
	_Atomic uint64_t name[2]; /* 16 bytes, NUL-padded */
};

static struct slot table[SLOTS];

void jlog__thread_name_register(uint32_t tid)
{
	char name[16] = "";
	if (prctl(PR_GET_NAME, (unsigned long)name, 0, 0, 0) != 0)
		return;
	name[sizeof(name) - 1] = '\0';
	uint64_t w[2];
	memcpy(w, name, sizeof(w));

	struct slot *s = &table[tid & (SLOTS - 1)];
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	/* Acquire: the stores below stay after the slot is taken (step 1). */
	if ((seq & 1) || !atomic_compare_exchange_strong_explicit(&s->seq, &seq, seq + 1,
	                                                          memory_order_acquire,
	                                                          memory_order_relaxed))
		return;
	atomic_store_explicit(&s->tid, tid, memory_order_relaxed);
	atomic_store_explicit(&s->name[0], w[0], memory_order_relaxed);
	atomic_store_explicit(&s->name[1], w[1], memory_order_relaxed);
	/* Release pairs with the writer's acquire fence (step 3). */
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* The thread's current name from /proc, while it lives. */
static size_t name_from_proc(uint32_t tid, char *out)
{
	char path[48];
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", (unsigned)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[17];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return 0;
	size_t len = (size_t)n;
	if (buf[len - 1] == '\n')
		len--;
	if (len > 15)
		len = 15;
	memcpy(out, buf, len);
	out[len] = '\0';
	return len;
}

size_t jlog__thread_name(uint32_t tid, char out[16])
{
	const struct slot *s = &table[tid & (SLOTS - 1)];
	for (int tries = 0; tries < 4; tries++) {
		/* Acquire pairs with the release of step 2. */
		uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq & 1)
			continue;
		uint32_t t = atomic_load_explicit(&s->tid, memory_order_relaxed);
		uint64_t w[2] = {
			atomic_load_explicit(&s->name[0], memory_order_relaxed),
			atomic_load_explicit(&s->name[1], memory_order_relaxed),
		};
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
			continue;
		if (seq == 0 || t != tid)
			break;
		memcpy(out, w, 16);
		out[15] = '\0';
		return strlen(out);
	}
	return name_from_proc(tid, out);
}
