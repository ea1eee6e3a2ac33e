/*
 * Internal declarations shared by the files of lib/. Nothing here is
 * public; tests of internals include this header and link jlog_internal.
 *
 * One umbrella over the parts, in the order of the data flow: the output
 * buffer (buf.h), the record layout and its decoder (record.h), the
 * encoder (encode.h), levels (level.h), callsites, the clock and the ring
 * (callsite.h, clock.h, ring.h), the presets (preset.h), sinks (sink.h)
 * and the crash handler (crash.h), sampling (sample.h), the logger core
 * with diagnostics and reload (logger-core.h), the writer (writer.h), the
 * scoped context (context.h), configuration and errors
 * (config-private.h), and the text formatter (template.h). Each part
 * uses the ones before it (a sink needs the record view, the line
 * context, the buffer and the level table), and every file of lib/ needs
 * several, so each includes this one rather than a list that would
 * change with each file.
 * A part header is included here only (it says so if included alone).
 */
#ifndef JLOG_PRIVATE_H
#define JLOG_PRIVATE_H

#include "jlog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define JLOG__CACHELINE 64
#define JLOG__ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

#include "buf.h" /* Growable output buffer (buf.c; writer thread only) */

#include "record.h" /* Record layout, fields and decoder (record.c, fields.c) */

#include "encode.h" /* JSON encoder (encode.c) */
#include "level.h" /* Level names and the level table (level.c) */
#include "callsite.h" /* Callsites (callsite.c) */
#include "clock.h" /* Clock (clock.c) */
#include "ring.h" /* Ring (ring.c) */
#include "preset.h" /* JSON presets (encode-preset.c) */

#include "sink.h" /* Sinks (sink.c; their transports: transport.h) */

#include "crash.h" /* Crash handler (crash.c) */

#include "sample.h" /* Sampling and rate limits (sample.c) */

#include "logger-core.h" /* Logger core (logger.c; diagnostics: diag.c; reload: reload.c) */

#include "writer.h" /* Writer thread (writer.c) */

#include "context.h" /* Scoped context (context.c) */

#include "config-private.h" /* Levels, configuration, errors (config.c, error.c) */

#include "template.h" /* Text formatter (format.h: format-compile.c, format.c) */

#include "logger.h"

#endif /* JLOG_PRIVATE_H */
