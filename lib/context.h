/*
 * Scoped context (context.c): fields bound to a thread for a scope. A part
 * of jlog-private.h, which includes the parts in the order of the data
 * flow: include that, not this.
 */
#ifndef JLOG_CONTEXT_H
#define JLOG_CONTEXT_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* The calling thread's pushed context fields, encoded like bound fields;
 * the log path copies buf[0..len) into each record. */
struct jlog__context_tls {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t nfields;
};
extern _Thread_local struct jlog__context_tls jlog__ctx
	__attribute__((tls_model("initial-exec")));

#endif
