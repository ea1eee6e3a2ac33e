/*
 * The writer thread (writer.c): starting and stopping it, flushing,
 * the exit handler's two steps, waiting for its progress and its fork
 * child. The stop and exit protocols are at the top of writer.c.
 * A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_WRITER_H
#define JLOG_WRITER_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* Writer thread (writer.c). */
int jlog__writer_start(struct jlog_core *c);
/* Drain everything, stop and join the writer, waiting for the sinks at
 * most close_timeout_ms. Returns false when the writer could not be
 * joined in time: it is detached and @c must never be freed. */
bool jlog__writer_stop(struct jlog_core *c);
/* Wait until everything committed before the call is written; -ECANCELED
 * while another thread runs the exit handler. */
int jlog__writer_flush(struct jlog_core *c);
/* The exit handler: jlog__writer_exit_begin() on every open core, then
 * jlog__writer_exit_wait() on each (see the exit protocol in writer.c). */
void jlog__writer_exit_begin(struct jlog_core *c, uint64_t now_ms);
void jlog__writer_exit_wait(struct jlog_core *c);
uint64_t jlog__ms_now(void); /* CLOCK_MONOTONIC, in ms */
/* Wait (kicking the writer, woken after each of its batches) until
 * @reached(c, arg) holds or the writer has finished. Not from the writer. */
void jlog__writer_wait(struct jlog_core *c, bool (*reached)(struct jlog_core *c, uintptr_t arg),
                       uintptr_t arg);
/* In a forked child, from the atfork child handler, with c->lock held
 * since fork_prepare(): give @c an empty ring, zeroed counters and a
 * writer thread of its own. Returns 0 or -EAGAIN (no writer: the ring is
 * closed, so a log call on @c never waits, and the child's records on @c
 * are not written). */
int jlog__writer_fork_child(struct jlog_core *c);

#endif /* JLOG_WRITER_H */
