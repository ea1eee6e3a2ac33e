/*
 * The JSON presets (encode-preset.c): ecs, gcp, otel, loguru and renamed
 * keys. A part of jlog-private.h, which includes the parts in the order of
 * the data flow: include that, not this.
 */
#ifndef JLOG_PRESET_H
#define JLOG_PRESET_H

#ifndef JLOG_PRIVATE_H
#error "include jlog-private.h, which includes this part"
#endif

/* The schemas are described at the top of encode-preset.c. */
enum jlog__preset {
	JLOG__PRESET_DEFAULT,
	JLOG__PRESET_ECS,
	JLOG__PRESET_GCP,
	JLOG__PRESET_OTEL,
	JLOG__PRESET_LOGURU,
};

enum jlog__time_format {
	JLOG__TIME_RFC3339_MS, /* "2026-11-26T04:02:03.123Z" */
	JLOG__TIME_RFC3339_US, /* "2026-11-26T04:02:03.123456Z", the default */
	JLOG__TIME_RFC3339_NS, /* "2026-11-26T04:02:03.123456789Z" */
	JLOG__TIME_EPOCH_S,    /* 1795665723.123456 (a number, exact digits) */
	JLOG__TIME_EPOCH_MS,   /* 1795665723123 */
	JLOG__TIME_EPOCH_NS,   /* 1795665723123456789 */
};

/*
 * Options of a JSON line. Set with jlog__json_opts_init(): a zeroed struct
 * means RFC3339_MS, not the default time format.
 *
 * time_format applies to the default preset (all six forms) and to ecs and
 * gcp (the RFC 3339 forms; an epoch form gives RFC3339_US there, their
 * time keys being dates); otel (Timestamp in ns) and loguru keep their own.
 * The key_* renames apply to the default preset only; NULL keeps a key.
 * Field keys that collide with the renamed keys get "fields." (the
 * reserved set follows the renames). Renames that make two schema keys
 * print the same are refused by jlog__json_opts_check(), and ignored by
 * the encoder (the default names are used).
 */
struct jlog__json_opts {
	enum jlog__preset preset;
	enum jlog__time_format time_format;
	/* Dates in local time with their offset instead of UTC (every
	 * preset; epoch forms and OTel's ns are the same either way). */
	bool local_time;
	/* Integer fields outside +-2^53 as decimal strings ("big_numbers":
	 * "string"). */
	bool big_strings;
	const char *key_time, *key_level, *key_message, *key_logger, *key_file,
	           *key_line, *key_function, *key_pid, *key_tid;
};

void jlog__json_opts_init(struct jlog__json_opts *o);
/* 0, or -EINVAL for an unknown preset or time format or colliding renames
 * (-ENOMEM if that could not be decided). Call it when configuring. */
int jlog__json_opts_check(const struct jlog__json_opts *o);
/* True when @o prints exactly jlog__encode_json()'s lines. */
bool jlog__json_opts_plain(const struct jlog__json_opts *o);
/* "default", "ecs", "gcp", "otel", "loguru" (ASCII case-insensitive), or
 * -EINVAL. */
int jlog__preset_parse(const char *name);
/* "rfc3339" (= rfc3339_us), "rfc3339_ms", "rfc3339_us", "rfc3339_ns",
 * "epoch" (= epoch_s), "epoch_s", "epoch_ms", "epoch_ns" (ASCII
 * case-insensitive), or -EINVAL. */
int jlog__time_format_parse(const char *name);
/* The canonical (lower-case, full) name of a preset or a time format
 * that the parsers above returned: what jlog-config show prints. */
const char *jlog__preset_name(int preset);
const char *jlog__time_format_name(int time_format);
/* Append one JSON line (ending in '\n') for a record in the preset of @o
 * (NULL: the defaults). Writer thread; sets b->failed when out of memory. */
void jlog__encode_preset(struct jlog__buf *b, const struct jlog__rec_view *v,
                         const struct jlog__line_ctx *ctx, const struct jlog__json_opts *o);
/* Level mappings of the gcp and otel presets (nearest named level at or
 * below): Cloud Logging's severity name, OpenTelemetry's SeverityNumber. */
const char *jlog__gcp_severity(int level);
int jlog__otel_severity(int level);
/* CLOCK_REALTIME when the library was loaded: loguru's elapsed counts from
 * it. Tests may set it before encoding. */
extern uint64_t jlog__start_ns;

#endif
