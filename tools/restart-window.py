#!/usr/bin/env python3
"""What a server restart loses on a plain TCP connection, and where.

    tools/aggregator.sh start rsyslog DIR
    python3 tools/restart-window.py DIR [BURST]

Sends numbered JSON lines to the server's TCP input (DIR/env: TCP_PORT),
BURST lines (default 1) every millisecond; after 500 rounds it sends SIGTERM
to the server (DIR/server.pid) and keeps sending until the connection ends.
Then it reads DIR/tcp.raw and prints how many lines were sent before and
after the signal, how the connection ended (a reset means the server closed
it with data unread) and which lines never arrived. Restart the server
(tools/aggregator.sh restart rsyslog DIR) before the next run. This is the
measurement behind README's restart figures (section "Shipping to
aggregators").
"""
import json
import os
import select
import signal
import socket
import sys
import time

d = sys.argv[1]
burst = int(sys.argv[2]) if len(sys.argv) > 2 else 1
env = dict(l.strip().split("=", 1) for l in open(d + "/env") if "=" in l)
pid = int(open(d + "/server.pid").read())
s = socket.create_connection(("127.0.0.1", int(env["TCP_PORT"])))
tag = "restart-window-%d" % os.getpid()
i = term_i = 0
t_term = None
end = "none"
while i < 100000 * burst:
    if i >= 500 * burst and t_term is None:
        os.kill(pid, signal.SIGTERM)
        t_term, term_i = time.time(), i
    if select.select([s], [], [], 0)[0]:
        try:
            end = "closed (FIN)" if s.recv(1, socket.MSG_PEEK) == b"" else "data"
        except OSError as e:
            end = "recv: " + e.strerror
        break
    try:
        for _ in range(burst):
            s.send(('{"tag":"%s","seq":%d,"pad":"%s"}\n' % (tag, i, "x" * 200)).encode())
            i += 1
    except OSError as e:
        end = "send: " + e.strerror
        break
    time.sleep(0.001)
t_end = time.time()
time.sleep(0.5)
got = set()
for line in open(d + "/tcp.raw", errors="replace"):
    if tag in line:
        try:
            got.add(json.loads(line)["seq"])
        except ValueError:
            pass
lost = [k for k in range(i) if k not in got]
print("sent %d, %d of them after SIGTERM; the connection ended (%s) %.1f ms after it; "
      "arrived %d, lost %d (seq %s..%s)" % (i, i - term_i, end, (t_end - t_term) * 1000,
      len(got), len(lost), lost[0] if lost else "-", lost[-1] if lost else "-"))
