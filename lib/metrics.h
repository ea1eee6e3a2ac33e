/*
 * Self-metrics (README, "Metrics"): what the writer measures for
 * jlog_stats and the periodic stats record (jlog_options.stats_interval_ms),
 * and that record. Writer thread only, but for the counters it publishes.
 * Pair: metrics.c.
 */
#ifndef JLOG_METRICS_H
#define JLOG_METRICS_H

#include "jlog-private.h"

/* CLOCK_MONOTONIC in ns. */
uint64_t jlog__mono_ns(void);
/* At the start of each batch, from ring position @pos: the high-water
 * mark of the bytes reserved and not yet consumed. */
void jlog__metrics_batch(struct jlog_core *c, uint64_t pos);
/* Whether the stats record is due at @now_ms (CLOCK_MONOTONIC ms); when
 * it is, the next one is due an interval later. */
bool jlog__metrics_due(struct jlog_core *c, uint64_t now_ms);
/* Build the stats record for the sinks of @set and pass it to @emit. */
void jlog__metrics_record(struct jlog_core *c, const struct jlog__sink_set *set,
                          void (*emit)(void *arg, const struct jlog__rec_view *v), void *arg);

#endif
