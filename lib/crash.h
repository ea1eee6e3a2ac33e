/*
 * The crash handler (crash.c): what a fatal signal writes, and each core's
 * part in it. A part of jlog-private.h, which includes the parts in the
 * order of the data flow: include that, not this.
 */
#ifndef JLOG_CRASH_H
#define JLOG_CRASH_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

struct jlog_core;

/* A core's part in the crash protocol (see the top of crash.c). */
struct jlog__crash_core {
	_Atomic(struct jlog_core *) next; /* crash.c's list of open cores */
	_Atomic uint32_t req;   /* handler: write up to target, then stop */
	_Atomic uint32_t ack;   /* writer: done, standing still */
	/* Writer: the ring position up to which every record's line has been
	 * handed to the sink (advanced at each write, not only per batch). */
	_Atomic uint64_t sink_pos;
	/* Handler, published by the release store of req: */
	uint64_t target; /* ring head when the crash began */
	const struct jlog__rec_view *record; /* the crash record */
	bool asked;      /* handler only: req was set */
};

/* Add @c to / remove it from the handler's list; open_lock held. A core
 * removed while a crash is being handled is never freed: the calling
 * thread stands still until the process dies. */
void jlog__crash_register(struct jlog_core *c);
void jlog__crash_unregister(struct jlog_core *c);
/* A thread's first log call, and a writer's start: give the thread an
 * alternate signal stack if the crash handler is installed. */
void jlog__crash_thread_init(void);
/* Writer: the last flush a crash handler asked for is written; stand
 * still until the process dies. */
__attribute__((noreturn)) void jlog__crash_writer_park(struct jlog_core *c);

#endif
