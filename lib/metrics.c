/*
 * Self-metrics (README, "Metrics"): the ring's high-water mark and the
 * writer's busy time, which the writer keeps, and the periodic stats
 * record it adds to its output every stats_interval_ms. The record is
 * an ordinary synthetic record with fields, so that every format, preset
 * and transport writes it as it writes a call's fields. Pair: the calls
 * in writer.c (metrics_* there).
 */
#include "metrics.h"
#include "flight.h"

#include <string.h>
#include <time.h>

uint64_t jlog__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return jlog__ts_ns(&ts);
}

void jlog__metrics_batch(struct jlog_core *c, uint64_t pos)
{
	uint64_t used = jlog__ring_head(&c->ring) - pos;
	/* Relaxed: only the writer stores it; readers want a counter. */
	if (used > atomic_load_explicit(&c->queue_high, memory_order_relaxed))
		atomic_store_explicit(&c->queue_high, used, memory_order_relaxed);
}

static void put_field(struct jlog__buf *b, int type, const char *key, const void *val,
                      size_t len)
{
	struct jlog__field_hdr h = {.type = (uint8_t)type, .key_len = (uint16_t)strlen(key),
	                            .val_len = (uint32_t)len};
	jlog__buf_put(b, &h, sizeof(h));
	jlog__buf_put(b, key, h.key_len);
	jlog__buf_put(b, val, len);
}

static void json_member_uint(struct jlog__buf *j, const char *key, uint64_t v)
{
	jlog__json_str(j, key, strlen(key));
	jlog__buf_putc(j, ':');
	jlog__json_uint(j, v);
	jlog__buf_putc(j, ',');
}

static void json_member_double(struct jlog__buf *j, const char *key, double v)
{
	jlog__json_str(j, key, strlen(key));
	jlog__buf_putc(j, ':');
	jlog__json_double(j, v);
	jlog__buf_putc(j, ',');
}

/* Replace the ',' after the last member with @close. */
static void json_close(struct jlog__buf *j, char close)
{
	if (j->len && j->p[j->len - 1] == ',')
		j->p[j->len - 1] = close;
	else
		jlog__buf_putc(j, close);
}

/* The "stats" object: the counters of jlog_stats by their names ("bytes"
 * for bytes_written), the ring and the writer's busy share since the
 * previous record (or the open). In an object of its own, so that no
 * counter's name meets a key of a line's schema ("dropped", "truncated"). */
static void stats_json(struct jlog_core *c, struct jlog__buf *j, uint64_t now_ns)
{
	/* Relaxed: counters, as jlog_get_stats() reads them. */
#define LOAD(x) atomic_load_explicit(&c->x, memory_order_relaxed)
	jlog__buf_putc(j, '{');
	json_member_uint(j, "logged", jlog__count_sum(c));
	json_member_uint(j, "written", LOAD(written));
	json_member_uint(j, "dropped", LOAD(dropped));
	json_member_uint(j, "lost", LOAD(lost));
	json_member_uint(j, "truncated", LOAD(truncated));
	json_member_uint(j, "sampled_out", LOAD(sampled_out));
	json_member_uint(j, "write_errors", LOAD(write_errors));
	json_member_uint(j, "bytes", LOAD(bytes_written));
	if (c->flight) {
		json_member_uint(j, "deferred_written",
		                 atomic_load_explicit(&c->flight->written, memory_order_relaxed));
		json_member_uint(j, "deferred_discarded",
		                 atomic_load_explicit(&c->flight->discarded, memory_order_relaxed));
		json_member_uint(j, "deferred_held",
		                 atomic_load_explicit(&c->flight->held, memory_order_relaxed));
	}
	uint64_t high = LOAD(queue_high);
#undef LOAD
	json_member_uint(j, "queue_size", c->ring.cap);
	json_member_uint(j, "queue_high_water", high);
	json_member_double(j, "queue_high_water_pct", 100.0 * (double)high / (double)c->ring.cap);
	uint64_t span = now_ns - c->stats_at_ns;
	double busy = span ? (double)(c->busy_ns - c->stats_busy_ns) / (double)span : 0.0;
	json_member_double(j, "writer_busy", busy > 1.0 ? 1.0 : busy);
	json_member_uint(j, "interval_ms", (uint64_t)c->stats_interval_ms);
	c->stats_at_ns = now_ns;
	c->stats_busy_ns = c->busy_ns;
	json_close(j, '}');
}

/* The "sinks" array: one object per sink, its jlog_sink_stats. */
static void sinks_json(const struct jlog__sink_set *set, struct jlog__buf *j)
{
	jlog__buf_putc(j, '[');
	for (unsigned i = 0; set && i < set->n; i++) {
		const struct jlog_sink *s = set->s[i];
		jlog__buf_lit(j, "{\"id\":");
		jlog__json_int(j, s->id);
		jlog__buf_lit(j, ",\"target\":");
		jlog__json_str(j, s->desc, strlen(s->desc));
		jlog__buf_putc(j, ',');
		json_member_uint(j, "written", atomic_load_explicit(&s->n_written, memory_order_relaxed));
		json_member_uint(j, "bytes", atomic_load_explicit(&s->n_bytes, memory_order_relaxed));
		json_member_uint(j, "write_errors",
		                 atomic_load_explicit(&s->n_errors, memory_order_relaxed));
		json_member_uint(j, "lost", atomic_load_explicit(&s->n_lost, memory_order_relaxed));
		json_close(j, '}');
		jlog__buf_putc(j, ',');
	}
	json_close(j, ']');
}

bool jlog__metrics_due(struct jlog_core *c, uint64_t now_ms)
{
	if (now_ms < c->stats_next_ms)
		return false;
	c->stats_next_ms = now_ms + (uint64_t)c->stats_interval_ms;
	return true;
}

void jlog__metrics_record(struct jlog_core *c, const struct jlog__sink_set *set,
                          void (*emit)(void *arg, const struct jlog__rec_view *v), void *arg)
{
	struct jlog__buf b, j;
	jlog__buf_init(&b);
	jlog__buf_init(&j);
	stats_json(c, &j, jlog__mono_ns());
	put_field(&b, JLOG__T_JSON, "stats", j.p, j.len);
	j.len = 0;
	sinks_json(set, &j);
	put_field(&b, JLOG__T_JSON, "sinks", j.p, j.len);
	bool failed = b.failed || j.failed;
	jlog__buf_finish(&j);
	if (failed) {
		/* Out of memory: this interval has no record. */
		jlog__buf_finish(&b);
		return;
	}
	struct jlog__rec_view v =
		jlog__rec_synthetic(JLOG_LEVEL_INFO, "jlog stats", jlog__now_ns(), jlog__gettid(),
		                    (const uint8_t *)b.p, (const uint8_t *)b.p + b.len, 2);
	emit(arg, &v);
	jlog__buf_finish(&b);
}
