/*
 * What the parts of a logger share across files: logger.c (lifecycle)
 * keeps the list of open cores, hotpath.c the per-thread counts, hooks.c
 * walks both at exit and fork. Lock order: jlog__open_lock, then each
 * core's sinks_lock and lock, then jlog__count_lock().
 */
#ifndef JLOG_LOGGER_H
#define JLOG_LOGGER_H

#include <pthread.h>
#include <stdint.h>

struct jlog_core;

extern pthread_mutex_t jlog__open_lock;
extern struct jlog_core *jlog__open_cores; /* guarded by jlog__open_lock */

/* hooks.c: the exit and fork hooks and the counts' thread-exit key, once
 * per process (the first jlog_open()). */
void jlog__process_init(void);

/* hotpath.c: jlog_stats.logged, counted per thread. */
void jlog__count_init(void);
uint64_t jlog__count_sum(struct jlog_core *c);
void jlog__count_detach_core(struct jlog_core *c);
void jlog__count_lock(void);
void jlog__count_unlock(void);
void jlog__thread_fork_child(void);

#endif
