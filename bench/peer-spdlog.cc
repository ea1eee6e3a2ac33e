/*
 * spdlog as a peer of jlog-bench: the asynchronous logger a C++ service
 * would pick, set up as spdlog's documentation shows (spdlog::create_async
 * with a basic_file_sink_mt), with the default thread pool: a queue of 8192
 * messages and one worker thread, overflow policy block. The pool and the
 * logger are created here rather than through spdlog's global registry so
 * that every run of a measurement gets a fresh pair and close() can join
 * the worker; the pool has the registry's default sizes.
 *
 * spdlog has no structured fields, so the line is shaped as JSON by the
 * pattern, and the message body carries the fields, formatted with fmt on
 * the calling thread:
 *
 *   pattern  {"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","file":"%s",
 *             "line":%#,"function":"%!","pid":%P,"tid":%t,%v}
 *   body     "message":"request handled","user":"alice","status":200,
 *            "latency_ms":12.5,"cached":true,"path":"/api/v1/items"
 *
 * The line has the same keys as jlog's (in another order; the level is
 * spdlog's lowercase "info"), time in UTC with microseconds. Like the
 * fprintf baseline, nothing is escaped: the values are constants, so
 * spdlog does less work here than a logger that must escape user data.
 */
#include "peer-spdlog.h"

#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

namespace {

// spdlog's defaults (spdlog/async.h): 8192 queue slots, one worker thread.
constexpr size_t queue_items = 8192;
constexpr size_t worker_threads = 1;

constexpr const char *pattern =
        "{\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",\"file\":\"%s\","
        "\"line\":%#,\"function\":\"%!\",\"pid\":%P,\"tid\":%t,%v}";

struct spdlog_peer {
	std::shared_ptr<spdlog::details::thread_pool> pool;
	std::shared_ptr<spdlog::async_logger> logger;
};

} // namespace

extern "C" int jlog_bench_spdlog_open(void **ctx, const char *path, bool drop)
{
	try {
		auto p = std::make_unique<spdlog_peer>();
		auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);

		p->pool = std::make_shared<spdlog::details::thread_pool>(queue_items,
		                                                         worker_threads);
		p->logger = std::make_shared<spdlog::async_logger>(
		        "bench", std::move(sink), p->pool,
		        drop ? spdlog::async_overflow_policy::overrun_oldest
		             : spdlog::async_overflow_policy::block);
		p->logger->set_pattern(pattern, spdlog::pattern_time_type::utc);
		p->logger->set_level(spdlog::level::info);
		*ctx = p.release();
		return 0;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "jlog-bench: spdlog: %s\n", e.what());
		return -EIO;
	} catch (...) {
		return -EIO;
	}
}

extern "C" void jlog_bench_spdlog_log(void *ctx)
{
	auto *p = static_cast<spdlog_peer *>(ctx);

	// No exception may cross into C; spdlog catches its own, this is for
	// std::bad_alloc. It costs nothing when nothing is thrown.
	try {
		p->logger->log(spdlog::source_loc{__FILE__, __LINE__, __func__},
		               spdlog::level::info,
		               "\"message\":\"{}\",\"user\":\"{}\",\"status\":{},"
		               "\"latency_ms\":{},\"cached\":{},\"path\":\"{}\"",
		               "request handled", "alice", 200, 12.5, true,
		               "/api/v1/items");
	} catch (...) {
	}
}

extern "C" int jlog_bench_spdlog_close(void *ctx, uint64_t *dropped)
{
	auto *p = static_cast<spdlog_peer *>(ctx);

	// Every producer has returned, so the overrun count is final.
	*dropped = p->pool->overrun_counter();
	// Queued messages hold the logger (shared_from_this), and the pool's
	// destructor queues a terminate message behind them and joins the
	// worker: everything logged is handed to the sink first. The last
	// reference to the logger then destroys the sink, which closes the
	// file and flushes its stdio buffer.
	p->logger.reset();
	p->pool.reset();
	delete p;
	return 0;
}
