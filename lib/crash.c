/*
 * The crash handler (opt-in: jlog_install_crash_handler()). On SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE or SIGABRT every open logger writes the records
 * committed before the crash, then one CRITICAL record naming the signal
 * with the crashing thread's stack; then the signal goes on to the
 * disposition found at install time, so the process still dies of it (with
 * a core dump where enabled) or the application's own handler runs.
 *
 * Who writes. Formatting and writing belong to each logger's writer
 * thread, which may be anywhere in a batch when the crash comes; so the
 * handler asks rather than takes over:
 *
 *   1. For each open core it notes the ring head (the target: every record
 *      reserved before the crash ends there).
 *   2. It builds the crash record in static memory: fields encoded with
 *      jlog__field_write(), the stack as a JSON array of strings.
 *   3. It sets crash.req and kicks each writer. Between two batches the
 *      writer sees the request (writer.c, crash_stop()), drains up to the
 *      target with its usual code (every sink, format and level), emits
 *      the crash record, writes, sets crash.ack and stands still until the
 *      process dies. The handler waits as long as the writers make
 *      progress, and gives up on one after NO_PROGRESS_MS without any.
 *   4. For a core whose writer cannot answer -- the crashing thread is that
 *      writer, the process has none (a forked child whose writer could not
 *      start), or it stopped making progress -- the handler drains the
 *      ring itself from crash.sink_pos, the last position the writer
 *      handed to the sinks (or, for a sink it had already written in a
 *      write that a later sink crashed, that sink's own crash_pos, so
 *      that no line is written twice). For each sink whose transport has a crash
 *      write (transport.h), it formats with the sink's formatter into a
 *      buffer reserved at install time that never grows, and hands it to
 *      that write, which polls with a deadline so that a stuck pipe cannot
 *      hold it; a sink without one (a callback) is skipped, said on stderr.
 *   5. It restores the dispositions found at install time and lets the
 *      signal go on. A fault the kernel reported returns to the faulting
 *      instruction, which faults again into the restored disposition, with
 *      its real siginfo and context; a signal that was sent (kill, raise,
 *      abort) is sent again, with its siginfo where the kernel allows.
 *
 * Async-signal safety. The handler takes no lock, calls no stdio and
 * allocates nothing itself: its memory is static or reserved at install
 * time, where backtrace() is also called once (its first call loads
 * libgcc_s with malloc and dlopen). Symbols come from
 * backtrace_symbols_fd(), which glibc documents as AS-safe, through a
 * pipe. What is not strictly safe happens only in step 4: the sink's
 * formatter runs on the crashing thread, and may allocate its per-thread
 * scratch space on first use. A watchdog bounds whatever could still block
 * (a lock the crashed code held, a stuck sink): a timer sends the crash
 * signal to the handling thread after WATCHDOG_S seconds, and the handler
 * then kills the process with the original signal's default action.
 *
 * Faults inside the handler. SA_NODEFER lets a fault raised by the handler
 * itself come back to it, and a guard (sigsetjmp) catches it where one is
 * likely: unwinding a damaged stack (the stack is then the faulting
 * address alone), naming frames (the rest are written as addresses), and
 * formatting a record in step 4 (a corrupt record, a formatter bug --
 * perhaps the very one that crashed the writer: that record is skipped).
 * Any other fault in the handler kills the process with the original
 * signal, default action.
 *
 * Open cores. crash.c keeps its own list of open cores, linked through
 * atomic pointers under logger.c's open_lock and walked by the handler
 * without a lock. jlog_close() unlinks a core before it stops the writer;
 * a close that races with a crash stands still instead of freeing the
 * core: unlink, seq_cst fence, read crash_owner on one side; set
 * crash_owner, seq_cst fence, walk the list on the other (Dekker), so
 * either the handler never sees the core or the closing thread sees the
 * crash.
 */
#include "jlog-private.h"
#include "redact.h"

#include "transport.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NCRASH 5
static const int crash_signals[NCRASH] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

/* Alternate signal stack of a thread. The handler, backtrace() and a
 * formatter (step 4) take about 8 KiB (12 KiB under ASan; measured with a
 * stack painted beforehand); the pages are only committed when touched. */
#define ALTSTACK_SIZE ((size_t)64 << 10)
/* Frames in the crash record, and the bytes of their JSON array. */
#define MAX_FRAMES 64
#define FRAME_TEXT_MAX 1024
#define STACK_TEXT_SIZE ((size_t)32 << 10)
#define FIELDS_SIZE (STACK_TEXT_SIZE + 4096)
/* Step 4's output buffer (reserved, committed when touched): a line that
 * does not fit in it is lost. Written out when it holds OUT_HIGH_WATER. */
#define OUT_SIZE ((size_t)8 << 20)
#define OUT_HIGH_WATER ((size_t)1 << 20)
/* Give up on a writer that has not moved for this long. */
#define NO_PROGRESS_MS 1000
/* Wait this long for a record reserved before the crash to be committed
 * (its thread may be the crashed one, inside a log call). */
#define STALL_MS 200
/* The whole handler; then the process dies of the signal, default action. */
#define WATCHDOG_S 10
/* A second crashing thread waits this long for the first to finish. */
#define OTHER_WAIT_MS ((WATCHDOG_S + 5) * 1000)
#define WATCHDOG_MAGIC 0x6a6c6f67 /* "jlog" */

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

/* Install state: install_lock guards it; the handler reads old_actions,
 * which are written before the handler is installed. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool installed;
static struct sigaction old_actions[NCRASH];
static char *out_mem; /* OUT_SIZE bytes, reserved once, never freed */

/* Per-thread alternate stacks: the key frees them at thread exit. */
static pthread_key_t altstack_key;
static bool altstack_key_ok;
static pthread_once_t altstack_once = PTHREAD_ONCE_INIT;

/* Open cores (see the top of the file). */
static _Atomic(struct jlog_core *) registry;

/* The thread handling a crash (kernel tid), 0 before any; and whether it
 * is done. Set once: after a crash, the loggers stay stopped. */
static _Atomic uint32_t crash_owner;
static _Atomic bool crash_done;

/* Everything below belongs to the crash owner alone. */
static int first_sig;
static int watchdog = -1; /* kernel timer id */
static sigjmp_buf guard_env;
static volatile sig_atomic_t guard_armed;
static struct jlog__rec_view crash_view;
static uint8_t crash_fields[FIELDS_SIZE];
static char stack_text[STACK_TEXT_SIZE];
static void *frames[MAX_FRAMES];
static int nframes;

/* Step 4, one core at a time. Static rather than local: the guard's
 * siglongjmp comes back into the function that holds it. */
static struct {
	struct jlog_core *c;
	uint64_t pos;        /* next record */
	uint64_t next;       /* end of the record being formatted */
	uint64_t stall_since;
	size_t line_start;   /* out.len before its line */
	bool records_done;   /* formatting the crash record now */
	struct jlog__buf out;
} fb;

/* ------------------------------------------------------------------------ */
/* Small async-signal-safe helpers                                          */
/* ------------------------------------------------------------------------ */

static uint32_t sys_gettid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int sig_index(int sig)
{
	for (int i = 0; i < NCRASH; i++)
		if (crash_signals[i] == sig)
			return i;
	return -1;
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGFPE:
		return "SIGFPE";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "?";
	}
}

/* "0x1f" into @out (at least 19 bytes); returns the length. */
static size_t fmt_hex(char *out, uintptr_t v)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	size_t n = 0;
	do {
		tmp[n++] = hex[v & 15];
		v >>= 4;
	} while (v);
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		out[2 + i] = tmp[n - 1 - i];
	return n + 2;
}

/* "123" into @out (at least 11 bytes); returns the length. */
static size_t fmt_dec(char *out, unsigned v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* @n bytes of @src at *at in @dst (@cap bytes), as far as they fit. */
static void put_text(char *dst, size_t cap, size_t *at, const char *src, size_t n)
{
	if (n > cap - *at)
		n = cap - *at;
	memcpy(dst + *at, src, n);
	*at += n;
}

/* ------------------------------------------------------------------------ */
/* Alternate signal stacks                                                  */
/* ------------------------------------------------------------------------ */

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

/* Thread exit: free the thread's alternate stack (@p is the mapping, guard
 * page first). If it is still the thread's, it is disabled first. If
 * another stack replaced it, it is unused and freed. If the thread has
 * none any more, whoever disabled ours may also have unmapped it
 * (AddressSanitizer unmaps the current one at thread exit): it is left
 * alone rather than unmapped twice. */
static void altstack_free(void *p)
{
	size_t page = page_size();
	stack_t cur;
	if (sigaltstack(NULL, &cur) != 0 || (cur.ss_flags & SS_DISABLE))
		return;
	if (cur.ss_sp == (char *)p + page) {
		stack_t off;
		memset(&off, 0, sizeof(off));
		off.ss_flags = SS_DISABLE;
		if (sigaltstack(&off, NULL) != 0)
			return; /* running on it */
	}
	munmap(p, page + ALTSTACK_SIZE);
}

static void altstack_key_init(void)
{
	altstack_key_ok = pthread_key_create(&altstack_key, altstack_free) == 0;
}

int jlog_crash_altstack_thread(void)
{
	stack_t cur;
	if (sigaltstack(NULL, &cur) != 0)
		return jlog__fail(-errno, "jlog_crash_altstack_thread: sigaltstack: %s",
		                  strerror(errno));
	/* Running on one now (a signal handler), or one that is big enough
	 * already (ours, or the application's). */
	if ((cur.ss_flags & SS_ONSTACK) ||
	    (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= ALTSTACK_SIZE))
		return 0;
	pthread_once(&altstack_once, altstack_key_init);

	size_t page = page_size();
	char *m = mmap(NULL, page + ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return jlog__fail(-ENOMEM, "jlog_crash_altstack_thread: cannot map %zu bytes for "
		                  "the alternate signal stack: %s", page + ALTSTACK_SIZE,
		                  strerror(errno));
	/* A guard page below the stack: the handler overflowing it faults
	 * (and the process dies of SIGSEGV) instead of writing over whatever
	 * lies below. */
	if (mprotect(m, page, PROT_NONE) != 0) {
		int err = errno;
		munmap(m, page + ALTSTACK_SIZE);
		return jlog__fail(-ENOMEM, "jlog_crash_altstack_thread: cannot protect the "
		                  "alternate signal stack's guard page: %s", strerror(err));
	}
	stack_t ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = m + page;
	ss.ss_size = ALTSTACK_SIZE;
	if (sigaltstack(&ss, NULL) != 0) {
		int err = errno;
		munmap(m, page + ALTSTACK_SIZE);
		return jlog__fail(-err, "jlog_crash_altstack_thread: sigaltstack: %s",
		                  strerror(err));
	}
	/* A stack of ours that was replaced or disabled since is not freed
	 * here: its new owner may still use or unmap it. Without a key the
	 * stack lives as long as the process. */
	if (altstack_key_ok)
		pthread_setspecific(altstack_key, m);
	return 0;
}

void jlog__crash_thread_init(void)
{
	/* Relaxed: a thread that misses an install in progress only goes
	 * without an alternate stack, as documented for threads that logged
	 * before the install. */
	if (atomic_load_explicit(&installed, memory_order_relaxed))
		(void)jlog_crash_altstack_thread();
}

/* ------------------------------------------------------------------------ */
/* Open cores                                                               */
/* ------------------------------------------------------------------------ */

void jlog__crash_register(struct jlog_core *c)
{
	/* Relaxed: open_lock orders the changes to the list. */
	atomic_store_explicit(&c->crash.next,
	                      atomic_load_explicit(&registry, memory_order_relaxed),
	                      memory_order_relaxed);
	/* Publish the initialized core to the handler, which walks the list
	 * without the lock. Pairs with the acquire loads in handle(). */
	atomic_store_explicit(&registry, c, memory_order_release);
}

static _Noreturn void park_forever(void)
{
	for (;;)
		pause();
}

void jlog__crash_unregister(struct jlog_core *c)
{
	_Atomic(struct jlog_core *) *p = &registry;
	struct jlog_core *x;
	/* Relaxed loads: open_lock is held, no other thread changes the list. */
	while ((x = atomic_load_explicit(p, memory_order_relaxed)) != NULL) {
		if (x == c) {
			/* Release: the handler that reaches the predecessor
			 * sees a fully initialized successor. */
			atomic_store_explicit(
				p, atomic_load_explicit(&c->crash.next, memory_order_relaxed),
				memory_order_release);
			break;
		}
		p = &x->crash.next;
	}
	/* Pairs with the fence in crash_handler(): either the handler's walk
	 * comes after this fence and does not see @c, or we see its owner
	 * and must not free a core it may be using. */
	atomic_thread_fence(memory_order_seq_cst);
	/* Relaxed: the fence above orders it. */
	uint32_t owner = atomic_load_explicit(&crash_owner, memory_order_relaxed);
	if (owner != 0 && owner != sys_gettid())
		park_forever(); /* the process is about to die */
}

/* ------------------------------------------------------------------------ */
/* The writer's side (called from writer.c)                                 */
/* ------------------------------------------------------------------------ */

void jlog__crash_writer_park(struct jlog_core *c)
{
	/* Publish the last flush (the lines written, crash.sink_pos). Pairs
	 * with the acquire load in wait_for_writers(). */
	atomic_store_explicit(&c->crash.ack, 1, memory_order_release);
	park_forever();
}

/* ------------------------------------------------------------------------ */
/* Dying                                                                    */
/* ------------------------------------------------------------------------ */

/* Kill the process with @sig, default action, skipping any handler. */
static _Noreturn void die_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int i = 0; i < NCRASH; i++)
		sigaction(crash_signals[i], &dfl, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_tgkill, getpid(), sys_gettid(), sig);
	_exit(128 + sig); /* not reached: these signals kill by default */
}

/* Let the signal go on to the dispositions found at install time. */
static void chain(int sig, siginfo_t *info)
{
	for (int i = 0; i < NCRASH; i++)
		sigaction(crash_signals[i], &old_actions[i], NULL);
	/* Should the process live on (a previous handler recovered), a new
	 * install puts the handler back; it then only passes signals on, as
	 * the loggers stay stopped. Relaxed: nothing is published with it. */
	atomic_store_explicit(&installed, false, memory_order_relaxed);
	/* A fault reported by the kernel: returning runs the faulting
	 * instruction again, which faults into the restored disposition.
	 * (A machine-check notice that no instruction caused is sent on.) */
	bool fault = info->si_code > 0;
#ifdef BUS_MCEERR_AO
	if (sig == SIGBUS && info->si_code == BUS_MCEERR_AO)
		fault = false;
#endif
	if (fault)
		return;
	/* A signal that was sent: send it again. It is not blocked here
	 * (SA_NODEFER), so it is delivered now, before we return. The kernel
	 * lets a thread queue a siginfo of the kernel's kinds only to itself
	 * as the main thread; elsewhere it is resent without one. */
	pid_t pid = getpid();
	pid_t tid = (pid_t)sys_gettid();
	if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, info) != 0)
		syscall(SYS_tgkill, pid, tid, sig);
}

/* The handler of a thread that crashes while another handles a crash: the
 * first one kills the process; if it does not within OTHER_WAIT_MS,
 * go on alone. */
static void wait_for_owner(void)
{
	uint64_t start = ms_now();
	while (!atomic_load_explicit(&crash_done, memory_order_acquire) &&
	       ms_now() - start < OTHER_WAIT_MS)
		sleep_ms(10);
}

static void arm_watchdog(uint32_t tid, int sig)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = WATCHDOG_MAGIC;
	ev.sigev_notify_thread_id = (pid_t)tid;
	int id;
	/* The system call rather than timer_create(), which is not on the
	 * list of async-signal-safe functions. */
	if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) != 0)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = WATCHDOG_S;
	if (syscall(SYS_timer_settime, id, 0, &its, NULL) != 0) {
		syscall(SYS_timer_delete, id);
		return;
	}
	watchdog = id;
}

static void disarm_watchdog(void)
{
	if (watchdog >= 0)
		syscall(SYS_timer_delete, watchdog);
	watchdog = -1;
}

/* ------------------------------------------------------------------------ */
/* The crash record                                                         */
/* ------------------------------------------------------------------------ */

/* The program counter at the fault, 0 if unknown. */
static uintptr_t fault_pc(void *uctx)
{
	const ucontext_t *uc = uctx;
	if (!uc)
		return 0;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__i386__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_EIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	return 0;
#endif
}

/* Capture the stack, under the guard: the unwinder reads a stack that the
 * crash may have damaged. Frames before the one that was interrupted (the
 * handler's own, the kernel's trampoline) are left out. */
static void capture_frames(uintptr_t pc)
{
	nframes = 0;
	if (sigsetjmp(guard_env, 0) == 0) {
		guard_armed = 1;
		nframes = backtrace(frames, MAX_FRAMES);
		guard_armed = 0;
	} else {
		nframes = 0;
	}
	int first = 0;
	for (int i = 0; pc && i < nframes; i++) {
		if ((uintptr_t)frames[i] == pc) {
			first = i;
			break;
		}
	}
	if (first) {
		memmove(frames, frames + first, (size_t)(nframes - first) * sizeof(frames[0]));
		nframes -= first;
	}
	if (nframes == 0 && pc) {
		frames[0] = (void *)pc;
		nframes = 1;
	}
}

/* Append one frame's text to the array; false when it does not fit. */
static bool put_frame(struct jlog__buf *b, int i, const char *text, size_t len)
{
	size_t mark = b->len;
	if (i)
		jlog__buf_putc(b, ',');
	jlog__json_str(b, text, len);
	/* Keep a byte for the closing bracket. */
	if (b->failed || b->cap - b->len < 1) {
		b->len = mark;
		b->failed = false;
		return false;
	}
	return true;
}

/* The stack as a JSON array of strings, one per frame, as
 * backtrace_symbols_fd() prints them ("./app(main+0x1c) [0x4011d6]"); a
 * frame it could not name is "[0x4011d6]". Each frame goes through a
 * non-blocking pipe on its own, so no frame's text can fill it. */
static size_t stack_json(void)
{
	/* Static, like the rest of this function's state: the guard's
	 * siglongjmp comes back into it. */
	static struct jlog__buf b;
	b = (struct jlog__buf){.p = stack_text, .cap = sizeof(stack_text), .fixed = true};
	static int fds[2];
	static bool piped;
	char text[FRAME_TEXT_MAX];
	piped = pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0;

	jlog__buf_putc(&b, '[');
	static int i;
	i = 0;
	if (sigsetjmp(guard_env, 0) != 0) {
		/* Naming frame i faulted (a damaged link map?): the rest are
		 * written as addresses. */
		if (piped) {
			close(fds[0]);
			close(fds[1]);
			piped = false;
		}
	}
	guard_armed = 1;
	for (; i < nframes; i++) {
		size_t len = 0;
		if (piped) {
			backtrace_symbols_fd(&frames[i], 1, fds[1]);
			ssize_t n = read(fds[0], text, sizeof(text));
			if (n > 0)
				len = (size_t)n;
			/* The rest of an overlong line. */
			char junk[256];
			while (read(fds[0], junk, sizeof(junk)) > 0)
				;
			while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
				len--;
		}
		if (len == 0) {
			text[0] = '[';
			len = 1 + fmt_hex(text + 1, (uintptr_t)frames[i]);
			text[len++] = ']';
		}
		if (!put_frame(&b, i, text, len))
			break;
	}
	guard_armed = 0;
	if (piped) {
		close(fds[0]);
		close(fds[1]);
	}
	jlog__buf_putc(&b, ']');
	return b.len;
}

static size_t put_field(size_t at, jlog_field f)
{
	if (jlog__field_size(&f) > sizeof(crash_fields) - at)
		return at;
	crash_view.nfields++;
	return at + jlog__field_write(crash_fields + at, &f, SIZE_MAX);
}

/* Build the crash record in crash_view and crash_fields. */
static void build_record(int sig, const siginfo_t *info, void *uctx, uint32_t tid,
                         uint64_t time_ns)
{
	memset(&crash_view, 0, sizeof(crash_view));
	size_t at = 0;
	at = put_field(at, jlog__field_str("signal", sig_name(sig)));
	at = put_field(at, jlog__field_int("signo", sig));
	at = put_field(at, jlog__field_int("si_code", info->si_code));
	if (info->si_code > 0) {
		/* Reported by the kernel: the faulting address (SIGSEGV,
		 * SIGBUS) or instruction (SIGILL, SIGFPE). */
		char hex[20];
		size_t n = fmt_hex(hex, (uintptr_t)info->si_addr);
		at = put_field(at, jlog__field_strn("fault_address", hex, n));
	} else {
		at = put_field(at, jlog__field_int("sender_pid", info->si_pid));
	}
	char name[17] = {0};
	if (prctl(PR_GET_NAME, name) == 0)
		at = put_field(at, jlog__field_str("thread_name", name));

	capture_frames(fault_pc(uctx));
	size_t len = stack_json();
	static const char key[] = "stack";
	struct jlog__field_hdr h = {
		.type = JLOG__T_JSON,
		.flags = 0,
		.key_len = sizeof(key) - 1,
		.val_len = (uint32_t)len,
	};
	if (sizeof(crash_fields) - at >= sizeof(h) + h.key_len + len) {
		memcpy(crash_fields + at, &h, sizeof(h));
		memcpy(crash_fields + at + sizeof(h), key, h.key_len);
		memcpy(crash_fields + at + sizeof(h) + h.key_len, stack_text, len);
		at += sizeof(h) + h.key_len + len;
		crash_view.nfields++;
	}

	crash_view.time_ns = time_ns;
	crash_view.level = JLOG_LEVEL_CRITICAL;
	crash_view.flags = JLOG__REC_SYNTHETIC;
	crash_view.tid = tid;
	crash_view.msg = "fatal signal";
	crash_view.msg_len = strlen(crash_view.msg);
	crash_view.fields = crash_fields;
	crash_view.end = crash_fields + at;
}

/* ------------------------------------------------------------------------ */
/* Draining on the crashing thread (step 4)                                 */
/* ------------------------------------------------------------------------ */

static void fb_flush(struct jlog_sink *s)
{
	if (fb.out.len)
		jlog__sink_crash_write(s, fb.out.p, fb.out.len);
	fb.out.len = 0;
	fb.line_start = 0;
}

/* Format one line into fb.out; when it does not fit, write what is there
 * and try once more in the empty buffer. */
static void fb_line(struct jlog_sink *s, const struct jlog__rec_view *v)
{
	/* Redacted as the writer does, into buffers set aside at open: a
	 * record whose rewrite does not fit is left out, never written as
	 * it is. */
	struct jlog__rec_view rtmp, stmp;
	if (fb.c->redact && !(v = jlog__redact_view_crash(fb.c->redact, v, &rtmp)))
		return;
	if (!jlog__sink_accepts(s, v))
		return;
	if (s->redact && !(v = jlog__redact_view_crash(s->redact, v, &stmp)))
		return;
	fb.line_start = fb.out.len;
	jlog__sink_format(s, &fb.out, v, &fb.c->ctx);
	if (fb.out.failed && fb.line_start > 0) {
		fb.out.len = fb.line_start;
		fb.out.failed = false;
		fb_flush(s);
		jlog__sink_format(s, &fb.out, v, &fb.c->ctx);
	}
	if (fb.out.failed) {
		fb.out.len = fb.line_start; /* too long for the buffer: lost */
		fb.out.failed = false;
	}
	if (fb.out.len >= OUT_HIGH_WATER)
		fb_flush(s);
}

/* One record from fb.pos. Returns false when there is no more to do. */
static bool fb_step(struct jlog_sink *s)
{
	struct jlog_core *c = fb.c;
	if ((int64_t)(fb.pos - c->crash.target) >= 0)
		return false;
	uint64_t p = fb.pos;
	const void *rec;
	size_t len;
	if (!jlog__ring_peek(&c->ring, &p, &rec, &len)) {
		/* Reserved before the crash but not committed (yet). */
		uint64_t now = ms_now();
		if (!fb.stall_since)
			fb.stall_since = now;
		else if (now - fb.stall_since > STALL_MS)
			return false;
		sleep_ms(1);
		return true;
	}
	fb.stall_since = 0;
	fb.next = p;
	struct jlog__rec_view v;
	/* A flight recorder's records are the writer's to hold (flight.h):
	 * this path holds nothing, so they are not written here. */
	if (jlog__record_decode(rec, len, &v) && !(v.flags & JLOG__REC_DEFERRED))
		fb_line(s, &v);
	fb.pos = p;
	return true;
}

/* Say on stderr that sink @s has no signal-safe write, so that what it
 * misses is not a mystery: "jlog: crash: sink 1 (callback) ...". */
static void say_skipped(const struct jlog_sink *s)
{
	static const char a[] = "jlog: crash: sink ";
	static const char b[] = " cannot be written from a signal handler; "
	                        "its lines since the last write are not written\n";
	char msg[sizeof(a) + 12 + sizeof(s->desc) + 3 + sizeof(b)];
	char num[12];
	size_t at = 0;
	put_text(msg, sizeof(msg), &at, a, sizeof(a) - 1);
	put_text(msg, sizeof(msg), &at, num, fmt_dec(num, (unsigned)s->id));
	put_text(msg, sizeof(msg), &at, " (", 2);
	put_text(msg, sizeof(msg), &at, s->desc, strnlen(s->desc, sizeof(s->desc)));
	put_text(msg, sizeof(msg), &at, ")", 1);
	put_text(msg, sizeof(msg), &at, b, sizeof(b) - 1);
	jlog__fd_crash_write(STDERR_FILENO, msg, at);
}

/*
 * Write what @c's writer could not: the records from crash.sink_pos up to
 * the target, then the crash record, with the transport's crash write (a
 * transport without one is skipped: said on stderr). Read-only on the
 * ring: nothing is released, so a writer that comes back to life finds
 * the ring as it left it.
 */
static void fallback_drain_sink(struct jlog_core *c, struct jlog_sink *s)
{
	if (!s || !s->format || !out_mem)
		return;
	if (!jlog__sink_has_crash_write(s)) {
		say_skipped(s);
		return;
	}
	fb.c = c;
	/* Acquire pairs with the release store in the writer's write_out():
	 * the lines before this position were handed to the sink. */
	fb.pos = atomic_load_explicit(&c->crash.sink_pos, memory_order_acquire);
	/* The writer may have handed this sink its lines past that, and
	 * crashed in a later sink of the same write (writer.c, write_out()):
	 * those are not written again. Acquire, as above. */
	uint64_t own = atomic_load_explicit(&s->crash_pos, memory_order_acquire);
	if ((int64_t)(own - fb.pos) > 0 && (int64_t)(c->crash.target - own) >= 0)
		fb.pos = own;
	fb.next = fb.pos;
	fb.stall_since = 0;
	fb.line_start = 0;
	fb.records_done = false;
	fb.out = (struct jlog__buf){.p = out_mem, .cap = OUT_SIZE, .fixed = true};

	if (sigsetjmp(guard_env, 0) != 0) {
		/* Formatting the record at fb.pos (or the crash record)
		 * faulted: its partial line is taken back and it is left out.
		 * A fault before the record's end was known (reading the ring
		 * itself) ends the drain. */
		fb.out.len = fb.line_start;
		fb.out.failed = false;
		if (fb.records_done)
			goto out;
		if (fb.next == fb.pos)
			fb.records_done = true;
		fb.pos = fb.next;
	}
	guard_armed = 1;
	if (!fb.records_done) {
		fb.next = fb.pos;
		while (fb_step(s))
			fb.next = fb.pos;
		fb.records_done = true;
	}
	fb_line(s, &crash_view);
out:
	guard_armed = 0;
	fb_flush(s);
}

/* Every sink of @c, one after another from the same position (a
 * transport without a signal-safe write, such as a callback, is skipped). */
static void fallback_drain(struct jlog_core *c)
{
	/* Acquire pairs with the release store of jlog_add_sink(). */
	struct jlog__sink_set *set = atomic_load_explicit(&c->sinks, memory_order_acquire);
	for (unsigned i = 0; set && i < set->n; i++)
		fallback_drain_sink(c, set->s[i]);
}

/* ------------------------------------------------------------------------ */
/* The handler                                                              */
/* ------------------------------------------------------------------------ */

#define FOR_EACH_CORE(c)                                                      \
	for (struct jlog_core *c = atomic_load_explicit(&registry, memory_order_acquire); c; \
	     c = atomic_load_explicit(&c->crash.next, memory_order_acquire))

/* Whether @c's writer can do the last flush itself. */
static bool writer_can_answer(struct jlog_core *c)
{
	return c->writer_started && c->writer_pid == getpid() &&
	       !pthread_equal(pthread_self(), c->writer) &&
	       !atomic_load_explicit(&c->writer_done, memory_order_acquire);
}

/* Wait for every writer that was asked, as long as one of them moves. */
static void wait_for_writers(void)
{
	uint64_t last_move = ms_now(), last_sum = 0;
	for (unsigned round = 0;; round++) {
		bool all = true;
		uint64_t sum = 0;
		FOR_EACH_CORE(c) {
			if (!c->crash.asked)
				continue;
			/* Acquire pairs with the release in
			 * jlog__crash_writer_park(). */
			if (atomic_load_explicit(&c->crash.ack, memory_order_acquire))
				continue;
			all = false;
			/* Relaxed: only a sign of life, compared with itself. */
			sum += atomic_load_explicit(&c->crash.sink_pos, memory_order_relaxed);
			/* Now and then, in case a wakeup went astray. */
			if (round % 64 == 63)
				jlog__ring_kick(&c->ring);
		}
		if (all)
			return;
		uint64_t now = ms_now();
		if (sum != last_sum || round == 0) {
			last_sum = sum;
			last_move = now;
		} else if (now - last_move > NO_PROGRESS_MS) {
			return;
		}
		sleep_ms(1);
	}
}

/* Whether SIGPIPE is pending (for this thread or the process). */
static bool sigpipe_pending(void)
{
	sigset_t p;
	return sigpending(&p) == 0 && sigismember(&p, SIGPIPE);
}

/* Discard a pending SIGPIPE. */
static void sigpipe_discard(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
		;
}

static void handle(int sig, siginfo_t *info, void *uctx, uint32_t self)
{
	uint64_t time_ns = jlog__now_ns();
	arm_watchdog(self, sig);

	/* 1. Targets. The rings stay open: records logged from now on are
	 * not written, and a producer that finds the ring full waits (BLOCK)
	 * until the process dies, as it would for a slow writer. */
	FOR_EACH_CORE(c) {
		c->crash.target = jlog__ring_head(&c->ring);
		c->crash.asked = false;
	}

	/* 2. The crash record. */
	build_record(sig, info, uctx, self, time_ns);

	/* 3. The writers' last flush. */
	FOR_EACH_CORE(c) {
		if (!writer_can_answer(c))
			continue;
		c->crash.record = &crash_view;
		c->crash.asked = true;
		/* Publish target and record with the request. Pairs with the
		 * acquire load in writer_main(). */
		atomic_store_explicit(&c->crash.req, 1, memory_order_release);
		jlog__ring_kick(&c->ring);
	}
	wait_for_writers();

	/* 4. What the writers could not do. */
	FOR_EACH_CORE(c) {
		if (c->crash.asked && atomic_load_explicit(&c->crash.ack, memory_order_acquire))
			continue;
		fallback_drain(c);
	}
	disarm_watchdog();
}

static void crash_handler(int sig, siginfo_t *info, void *uctx)
{
	int saved_errno = errno;
	int i = sig_index(sig);
	if (i < 0)
		return;
	/* Someone sent a signal the application ignores: not a crash
	 * (abort() is one whatever SIGABRT's disposition). */
	if (info->si_code <= 0 && sig != SIGABRT && !(old_actions[i].sa_flags & SA_SIGINFO) &&
	    old_actions[i].sa_handler == SIG_IGN) {
		errno = saved_errno;
		return;
	}

	uint32_t self = sys_gettid();
	uint32_t owner = 0;
	if (!atomic_compare_exchange_strong_explicit(&crash_owner, &owner, self,
	                                             memory_order_seq_cst,
	                                             memory_order_seq_cst)) {
		if (owner == self) {
			/* The handler itself faulted, or the watchdog fired. */
			bool dog = info->si_code == SI_TIMER &&
			           info->si_value.sival_int == WATCHDOG_MAGIC;
			if (!dog && guard_armed) {
				guard_armed = 0;
				siglongjmp(guard_env, 1);
			}
			die_default(first_sig);
		}
		wait_for_owner();
		chain(sig, info);
		errno = saved_errno;
		return;
	}
	first_sig = sig;
	/* Pairs with the fence in jlog__crash_unregister(). */
	atomic_thread_fence(memory_order_seq_cst);

	/* Writing to a pipe whose reader is gone raises SIGPIPE, blocked
	 * while the handler runs: delivered after it, it would kill the
	 * process in place of the crash signal. The handler's own go. */
	bool pipe_before = sigpipe_pending();
	handle(sig, info, uctx, self);
	if (!pipe_before && sigpipe_pending())
		sigpipe_discard();

	atomic_store_explicit(&crash_done, true, memory_order_release);
	chain(sig, info);
	errno = saved_errno;
}

/* ------------------------------------------------------------------------ */
/* Install                                                                  */
/* ------------------------------------------------------------------------ */

/* What the handler needs that cannot be had in it: done at the first
 * install, kept for the life of the process. */
static int reserve(void)
{
	if (out_mem)
		return 0;
	/* backtrace() loads libgcc_s on its first call (malloc, dlopen);
	 * symbolizing a frame once binds what that path needs. */
	void *f[4];
	int n = backtrace(f, 4);
	int fds[2];
	if (n > 0 && pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
		char junk[FRAME_TEXT_MAX];
		backtrace_symbols_fd(f, 1, fds[1]);
		while (read(fds[0], junk, sizeof(junk)) > 0)
			;
		close(fds[0]);
		close(fds[1]);
	}
	pthread_once(&altstack_once, altstack_key_init);
	void *m = mmap(NULL, OUT_SIZE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return jlog__fail(-ENOMEM, "jlog_install_crash_handler: cannot map %zu bytes for "
		                  "the crash record: %s", (size_t)OUT_SIZE, strerror(errno));
	out_mem = m;
	return 0;
}

int jlog_install_crash_handler(void)
{
	int rc = 0;
	pthread_mutex_lock(&install_lock);
	/* Relaxed here and below: install_lock orders the changes. */
	if (atomic_load_explicit(&installed, memory_order_relaxed))
		goto out;
	rc = reserve();
	if (rc < 0)
		goto out;
	rc = jlog_crash_altstack_thread();
	if (rc < 0)
		goto out;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	/* SA_NODEFER: a fault inside the handler comes back to it (see the
	 * top of the file). Every other signal waits until the handler is
	 * done: an application handler that exits or flushes must not run in
	 * the middle of it. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigfillset(&sa.sa_mask);
	for (int i = 0; i < NCRASH; i++)
		sigdelset(&sa.sa_mask, crash_signals[i]);

	/* The old dispositions are in place before ours can run. */
	for (int i = 0; i < NCRASH; i++) {
		if (sigaction(crash_signals[i], NULL, &old_actions[i]) != 0) {
			rc = jlog__fail(-errno, "jlog_install_crash_handler: sigaction(%s): %s",
			                strsignal(crash_signals[i]), strerror(errno));
			goto out;
		}
	}
	for (int i = 0; i < NCRASH; i++) {
		if (sigaction(crash_signals[i], &sa, NULL) != 0) {
			rc = jlog__fail(-errno, "jlog_install_crash_handler: sigaction(%s): %s",
			                strsignal(crash_signals[i]), strerror(errno));
			while (i-- > 0)
				sigaction(crash_signals[i], &old_actions[i], NULL);
			goto out;
		}
	}
	atomic_store_explicit(&installed, true, memory_order_relaxed);
out:
	pthread_mutex_unlock(&install_lock);
	return rc;
}

int jlog_uninstall_crash_handler(void)
{
	pthread_mutex_lock(&install_lock);
	if (atomic_load_explicit(&installed, memory_order_relaxed)) {
		for (int i = 0; i < NCRASH; i++) {
			struct sigaction cur;
			/* A handler installed over ours since stays. */
			if (sigaction(crash_signals[i], NULL, &cur) == 0 &&
			    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == crash_handler)
				sigaction(crash_signals[i], &old_actions[i], NULL);
		}
		atomic_store_explicit(&installed, false, memory_order_relaxed);
	}
	pthread_mutex_unlock(&install_lock);
	return 0;
}
