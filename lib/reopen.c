/*
 * jlog_reopen() and the opt-in SIGHUP hook: external rotation (logrotate's
 * `create`) asks the writer to reopen its sinks, and the hook may ask it
 * to reload the configuration too (reload.c). The caller side only
 * sets core->reopen_req and kicks the ring (async-signal-safe); the writer
 * sees the flag between batches (writer.c, its pair) and calls
 * jlog__reopen_sinks() below.
 */
#include "jlog-private.h"
#include "transport.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

int jlog_reopen(jlog_logger *log)
{
	if (!log)
		return -EINVAL;
	struct jlog_core *c = log->core;
	/* Relaxed: the flag carries no data; the kick wakes the writer, which
	 * reads the flag after its wait sequence (writer.c). */
	atomic_store_explicit(&c->reopen_req, true, memory_order_relaxed);
	jlog__ring_kick(&c->ring);
	return 0;
}

void jlog__reopen_sinks(struct jlog_core *c, struct jlog__sink_set *set)
{
	/* Relaxed: pairs with the store in jlog_reopen(); a request that
	 * comes after this exchange is seen on the next round. */
	atomic_store_explicit(&c->reopen_req, false, memory_order_relaxed);
	for (unsigned i = 0; set && i < set->n; i++) {
		struct jlog_transport *tp = set->s[i]->tp;
		if (tp->ops->reopen)
			(void)tp->ops->reopen(tp);
	}
}

/* The SIGHUP hook: one handler, for jlog_install_reopen_on_sighup() and
 * jlog_install_reload_on_sighup(): it reopens @hup_logger's files and,
 * with @hup_reload, asks its writer to reload the configuration from the
 * file it was opened from (reload.c runs it on the writer thread). */
static _Atomic(jlog_logger *) hup_logger;
static _Atomic bool hup_reload;
static struct sigaction hup_prev;
static bool hup_installed;

static void on_hup(int sig, siginfo_t *info, void *uctx)
{
	/* Acquire pairs with the release store in the installer. */
	jlog_logger *log = atomic_load_explicit(&hup_logger, memory_order_acquire);
	if (log && atomic_load_explicit(&hup_reload, memory_order_relaxed)) {
		/* Flag, then kick (inside jlog_reopen()): the writer reads
		 * the flag after its wait sequence (writer.c). Relaxed: the
		 * flag carries no data. */
		atomic_store_explicit(&log->core->reload_file_req, true, memory_order_relaxed);
	}
	if (log)
		(void)jlog_reopen(log);
	if (hup_prev.sa_flags & SA_SIGINFO) {
		if (hup_prev.sa_sigaction)
			hup_prev.sa_sigaction(sig, info, uctx);
	} else if (hup_prev.sa_handler != SIG_DFL && hup_prev.sa_handler != SIG_IGN &&
	           hup_prev.sa_handler) {
		hup_prev.sa_handler(sig);
	}
}

static int install(jlog_logger *log, bool reload)
{
	if (!log) {
		if (!hup_installed)
			return 0;
		if (sigaction(SIGHUP, &hup_prev, NULL) < 0)
			return -errno;
		hup_installed = false;
		atomic_store_explicit(&hup_logger, NULL, memory_order_release);
		return 0;
	}
	atomic_store_explicit(&hup_reload, reload, memory_order_relaxed);
	atomic_store_explicit(&hup_logger, log, memory_order_release);
	if (hup_installed)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_hup;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, &hup_prev) < 0)
		return -errno;
	hup_installed = true;
	return 0;
}

int jlog_install_reopen_on_sighup(jlog_logger *log)
{
	return install(log, false);
}

int jlog_install_reload_on_sighup(jlog_logger *log)
{
	if (log && !jlog__reload_from_file_ok(log->core))
		return jlog__fail(-EINVAL, "jlog_install_reload_on_sighup: the logger was not "
		                  "opened from a configuration file (jlog_open_config with a path, "
		                  "or JLOG_CONFIG naming a file)");
	return install(log, true);
}
