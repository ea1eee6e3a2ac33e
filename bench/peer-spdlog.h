/*
 * The spdlog peer of jlog-bench (peer-spdlog.cc). It is C++, so it is built
 * only when meson finds a C++ compiler and spdlog; jlog-bench.c then sees
 * JLOG_BENCH_HAVE_SPDLOG and adds the peer to its table. The functions have
 * C linkage and follow the peer interface of jlog-bench.c (open, log,
 * close), with the one option they need passed as a plain argument.
 */
#ifndef JLOG_BENCH_PEER_SPDLOG_H
#define JLOG_BENCH_PEER_SPDLOG_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open an async spdlog logger writing to @path (appending). @drop selects
 * the overrun_oldest overflow policy instead of block. Returns 0 or a
 * negative errno value (-EIO when spdlog throws). */
int jlog_bench_spdlog_open(void **ctx, const char *path, bool drop);
/* Log the standard record. Any thread. */
void jlog_bench_spdlog_log(void *ctx);
/* Drain the queue, join the worker, close the file. *dropped is the
 * number of records the queue overran (0 under block). Returns 0. */
int jlog_bench_spdlog_close(void *ctx, uint64_t *dropped);

#ifdef __cplusplus
}
#endif

#endif /* JLOG_BENCH_PEER_SPDLOG_H */
