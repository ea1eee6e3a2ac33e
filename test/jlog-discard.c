/*
 * jlog-discard - a TCP (or unix stream) reader that discards what it
 * reads: the far end of the writer-throughput figure of the tcp:// and
 * unix: transports, with no aggregator's ingest as the bound.
 *
 *   jlog-discard [PORT | unix:PATH]
 *
 * Listens on 127.0.0.1:PORT (0 or none: a free port) or on PATH; prints
 * the endpoint ("tcp://127.0.0.1:40123" / "unix:PATH") on stdout, then
 * accepts any number of connections and reads them until SIGTERM or
 * SIGINT, when it prints "bytes N lines N connections N seconds S" (from
 * the first byte to the last) on stdout and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *arg = argc > 1 ? argv[1] : "0";
	int ls;
	if (strncmp(arg, "unix:", 5) == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", arg + 5);
		unlink(a.sun_path);
		ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0) {
			fprintf(stderr, "jlog-discard: bind %s: %s\n", arg, strerror(errno));
			return 1;
		}
		printf("%s\n", arg);
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)atoi(arg)),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int one = 1;
		ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		socklen_t l = sizeof(a);
		if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(ls, (struct sockaddr *)&a, &l) != 0) {
			fprintf(stderr, "jlog-discard: bind port %s: %s\n", arg, strerror(errno));
			return 1;
		}
		printf("tcp://127.0.0.1:%d\n", ntohs(a.sin_port));
	}
	fflush(stdout);
	if (listen(ls, 64) != 0) {
		fprintf(stderr, "jlog-discard: listen: %s\n", strerror(errno));
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	enum { MAXC = 256 };
	struct pollfd pf[MAXC + 1] = {{.fd = ls, .events = POLLIN}};
	int n = 1;
	unsigned long long bytes = 0, lines = 0, conns = 0;
	double first = 0, last = 0;
	static char buf[1 << 18];
	while (!stop) {
		if (poll(pf, (nfds_t)n, 100) < 0 && errno != EINTR)
			break;
		if ((pf[0].revents & POLLIN) && n <= MAXC) {
			int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				pf[n++] = (struct pollfd){.fd = c, .events = POLLIN};
				conns++;
			}
		}
		for (int i = 1; i < n; i++) {
			if (!pf[i].revents)
				continue;
			ssize_t r = read(pf[i].fd, buf, sizeof(buf));
			if (r <= 0) {
				close(pf[i].fd);
				pf[i--] = pf[--n];
				continue;
			}
			if (!first)
				first = now_s();
			last = now_s();
			bytes += (unsigned long long)r;
			for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))); p++)
				lines++;
		}
	}
	printf("bytes %llu lines %llu connections %llu seconds %.6f\n", bytes, lines, conns,
	       last - first);
	return 0;
}
