/*
 * Process-wide hooks: at exit, write what was committed; around fork(),
 * give the child working loggers. They walk the list of open cores that
 * logger.c keeps (jlog__open_lock) and the per-thread counts of
 * hotpath.c (jlog__count_lock()), in that lock order.
 */
#include "jlog-private.h"

#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Process-wide hooks: exit and fork                                        */
/* ------------------------------------------------------------------------ */

/* At exit() (from any thread) and on return from main(): write everything
 * committed so far, waiting at most each logger's close_timeout_ms (all
 * at once), and leave no writer inside a write(2) when the process ends
 * (the exit protocol in writer.c). Loggers are not freed: other threads
 * may still log. */
static void flush_all_at_exit(void)
{
	pthread_mutex_lock(&jlog__open_lock);
	uint64_t now = jlog__ms_now();
	for (struct jlog_core *c = jlog__open_cores; c; c = c->next_open)
		jlog__writer_exit_begin(c, now);
	for (struct jlog_core *c = jlog__open_cores; c; c = c->next_open)
		jlog__writer_exit_wait(c);
	pthread_mutex_unlock(&jlog__open_lock);
}

/*
 * fork(): the child gets a working copy of every open logger, with the
 * parent's pending records left to the parent. The prepare handler holds
 * jlog__open_lock and then every open core's lock (the order of
 * flush_all_at_exit()), so the child's copies of the core list, child
 * lists and refs are not caught mid-update. It waits for nothing else: a
 * thread inside a log call holds no lock, and the writer takes core->lock
 * only to wake flushers.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&jlog__open_lock);
	for (struct jlog_core *c = jlog__open_cores; c; c = c->next_open) {
		/* A sink being added or removed finishes first (it waits only
		 * for the writer), so the child's sink set is whole. */
		pthread_mutex_lock(&c->sinks_lock);
		pthread_mutex_lock(&c->lock);
	}
	jlog__count_lock();
}

static void fork_parent(void)
{
	jlog__count_unlock();
	for (struct jlog_core *c = jlog__open_cores; c; c = c->next_open) {
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&c->sinks_lock);
	}
	pthread_mutex_unlock(&jlog__open_lock);
}

/* The child has only the forking thread: forget its cached tid, and give
 * each core the child's pid, an empty ring and a writer thread of its own
 * (see jlog__writer_fork_child()). */
static void fork_child(void)
{
	jlog__thread_fork_child();
	jlog__clock_fork_child();
	pid_t pid = getpid();
	for (struct jlog_core *c = jlog__open_cores; c; c = c->next_open)
		atomic_store_explicit(&c->logged, 0, memory_order_relaxed);
	jlog__count_unlock();
	for (struct jlog_core *c = jlog__open_cores; c; c = c->next_open) {
		c->ctx.pid = pid;
		/* The calls in progress on the root were the parent's other
		 * threads', which the child does not have (logger.c, pin()). */
		if (c->root)
			atomic_store_explicit(&c->root->pins, 0, memory_order_relaxed);
		if (jlog__writer_fork_child(c) < 0) {
			static const char msg[] = "jlog: no writer thread in the forked "
			                          "child; its records are not written\n";
			(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		}
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&c->sinks_lock);
	}
	pthread_mutex_unlock(&jlog__open_lock);
}

static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void process_init(void)
{
	jlog__count_init();
	atexit(flush_all_at_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	jlog__clock_init();
}

void jlog__process_init(void)
{
	pthread_once(&process_once, process_init);
}
