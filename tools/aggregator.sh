#!/usr/bin/env bash
# Start and stop real log aggregators for jlog's tests, as root, without
# systemd, on loopback and in a private directory.
#
#   tools/aggregator.sh install SERVER       apt-get the server (idempotent)
#   tools/aggregator.sh start SERVER DIR     configure and start it in DIR;
#                                            prints its endpoints, one per line
#   tools/aggregator.sh stop SERVER DIR      stop it (SIGTERM, then SIGKILL)
#   tools/aggregator.sh restart SERVER DIR   stop, then start on the same
#                                            ports and sockets (a client's
#                                            sink string stays valid)
#
# install swaps rsyslog and syslog-ng: they conflict in apt, so installing
# one removes the other (run the cases of one server, then the other's).
#
# SERVER is rsyslog, syslog-ng or journald. `start` writes DIR/env, which a
# test sources for its endpoints:
#   rsyslog:   TCP_PORT UDP_PORT UNIX_SOCK UNIXGRAM_SOCK, and per input
#              (tcp, udp, unix, unixgram) DIR/<input>.raw (each message as
#              received, one per line), DIR/<input>.json (the payload as
#              mmjsonparse re-serialized it) and DIR/<input>.bad (payloads
#              that did not parse).
#   syslog-ng: TCP_PORT UDP_PORT UNIX_SOCK UNIXGRAM_SOCK, DIR/<input>.raw.
#   journald:  JOURNAL_SOCK (the native socket) and JOURNAL_DIR (for
#              journalctl -D); it runs in a private mount namespace so the
#              host's /run/systemd is untouched.
# Servers run in a session of their own (setsid): a restart from a test
# process leaves no server in that process's group, which Check kills
# when the test ends.
# Readiness is checked by connecting to the ports and waiting for the
# sockets, never by sleeping a fixed time. Exit status 77 means the server
# cannot be installed or started here (a test then skips, saying so).
set -euo pipefail

die() { echo "aggregator: $*" >&2; exit 1; }
skip() { echo "aggregator: SKIP: $*" >&2; exit 77; }

# free_port - a TCP (and UDP) port on 127.0.0.1 nobody listens on now.
free_port() {
	python3 - <<'PY'
import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); u.close(); continue
    t.close(); u.close(); print(p); break
PY
}

# old_port DIR NAME - the port NAME of a previous start in DIR (restart
# keeps the endpoints), else a free one.
old_port() {
	local p=
	[[ -f $1/env ]] && p=$(sed -n "s/^$2=//p" "$1/env")
	[[ -n $p ]] && echo "$p" || free_port
}

# wait_for TIMEOUT_S CMD... - poll CMD every 10 ms until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.01
	done
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_pkg() {
	local pkg=$1 status
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] && return 0
	((EUID == 0)) || skip "installing $pkg needs root"
	DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 \
		-o DPkg::Lock::Timeout=300 install -y --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"$pkg" </dev/null >/dev/null ||
		{ apt-get -q update </dev/null >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 \
			-o DPkg::Lock::Timeout=300 install -y --no-install-recommends \
			"$pkg" </dev/null >/dev/null; } || skip "apt-get install $pkg failed"
}

package_of() {
	case $1 in
	rsyslog) echo rsyslog ;;
	syslog-ng) echo syslog-ng-core ;;
	journald) echo systemd ;;
	*) die "unknown server '$1' (rsyslog, syslog-ng, journald)" ;;
	esac
}

start_rsyslog() {
	local dir=$1 tcp udp
	command -v rsyslogd >/dev/null || skip "rsyslogd is not installed"
	tcp=$(old_port "$dir" TCP_PORT)
	udp=$(old_port "$dir" UDP_PORT)
	cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir" maxMessageSize="1m"
       parser.escapeControlCharactersOnReceive="off")
module(load="imtcp")
module(load="imudp")
module(load="imptcp")
module(load="imuxsock" SysSock.Use="off")
module(load="mmjsonparse")
template(name="raw" type="string" string="%rawmsg%\n")
template(name="msg" type="string" string="%msg%\n")
template(name="json" type="string" string="%\$!%\n")
CONF
	local in
	for in in tcp udp unix unixgram; do
		cat >>"$dir/rsyslog.conf" <<CONF
ruleset(name="$in") {
  action(type="omfile" file="$dir/$in.raw" template="raw")
  if (\$rawmsg startswith "{") then {
    action(type="mmjsonparse" useRawMsg="on" cookie="")
  } else {
    action(type="omfile" file="$dir/$in.msg" template="msg")
    action(type="mmjsonparse" useRawMsg="off" cookie="")
  }
  if \$parsesuccess == "OK" then {
    action(type="omfile" file="$dir/$in.json" template="json")
  } else {
    action(type="omfile" file="$dir/$in.bad" template="raw")
  }
}
CONF
	done
	cat >>"$dir/rsyslog.conf" <<CONF
input(type="imtcp" address="127.0.0.1" port="$tcp" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="$udp" ruleset="udp" rcvbufSize="16m")
input(type="imptcp" path="$dir/unix.sock" unlink="on" ruleset="unix")
input(type="imuxsock" socket="$dir/unixgram.sock" useSpecialParser="off"
      parseHostname="off" ruleset="unixgram")
CONF
	rsyslogd -N1 -f "$dir/rsyslog.conf" >"$dir/check.log" 2>&1 ||
		die "rsyslog refuses its configuration: $(tail -3 "$dir/check.log")"
	setsid rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/pid" >"$dir/server.log" 2>&1 &
	echo $! >"$dir/server.pid"
	wait_for 10 tcp_open "$tcp" || die "rsyslog did not listen on $tcp: $(tail -3 "$dir/server.log")"
	wait_for 10 test -S "$dir/unix.sock" || die "rsyslog made no $dir/unix.sock"
	wait_for 10 test -S "$dir/unixgram.sock" || die "rsyslog made no $dir/unixgram.sock"
	cat >"$dir/env" <<ENV
TCP_PORT=$tcp
UDP_PORT=$udp
UNIX_SOCK=$dir/unix.sock
UNIXGRAM_SOCK=$dir/unixgram.sock
ENV
}

start_syslog_ng() {
	local dir=$1 tcp udp tcp5424
	command -v syslog-ng >/dev/null || skip "syslog-ng is not installed"
	tcp=$(old_port "$dir" TCP_PORT)
	udp=$(old_port "$dir" UDP_PORT)
	tcp5424=$(old_port "$dir" TCP5424_PORT)
	# flags(no-parse): the whole line is the message, as sent. The syslog()
	# source reads RFC 5424 frames with octet counting; its $MSG is the
	# frame's MSG part.
	cat >"$dir/syslog-ng.conf" <<CONF
@version: 3.38
options { keep-hostname(yes); chain-hostnames(no); log-msg-size(1048576);
          stats-freq(0); log-fifo-size(100000); };
source s_tcp { network(ip("127.0.0.1") port($tcp) transport("tcp") flags(no-parse)
               log-msg-size(1048576) max-connections(64) log-iw-size(64000)); };
source s_tcp5424 { syslog(ip("127.0.0.1") port($tcp5424) transport("tcp")
                   log-msg-size(1048576) max-connections(64) log-iw-size(64000)); };
source s_udp { network(ip("127.0.0.1") port($udp) transport("udp") flags(no-parse)
               log-msg-size(65536) so-rcvbuf(16777216)); };
source s_unix { unix-stream("$dir/unix.sock" flags(no-parse) log-msg-size(1048576)
                max-connections(64) log-iw-size(64000)); };
source s_unixgram { unix-dgram("$dir/unixgram.sock" flags(no-parse)
                    log-msg-size(1048576)); };
CONF
	local in
	for in in tcp tcp5424 udp unix unixgram; do
		cat >>"$dir/syslog-ng.conf" <<CONF
destination d_$in { file("$dir/$in.raw" template("\${MSG}\n") template-escape(no)); };
log { source(s_$in); destination(d_$in); };
CONF
	done
	syslog-ng -s -f "$dir/syslog-ng.conf" >"$dir/check.log" 2>&1 ||
		die "syslog-ng refuses its configuration: $(tail -3 "$dir/check.log")"
	setsid syslog-ng -F -f "$dir/syslog-ng.conf" -R "$dir/persist" -p "$dir/pid" \
		-c "$dir/ctl" >"$dir/server.log" 2>&1 &
	echo $! >"$dir/server.pid"
	wait_for 10 tcp_open "$tcp" || die "syslog-ng did not listen on $tcp: $(tail -3 "$dir/server.log")"
	wait_for 10 tcp_open "$tcp5424" || die "syslog-ng did not listen on $tcp5424"
	wait_for 10 test -S "$dir/unix.sock" || die "syslog-ng made no $dir/unix.sock"
	wait_for 10 test -S "$dir/unixgram.sock" || die "syslog-ng made no $dir/unixgram.sock"
	cat >"$dir/env" <<ENV
TCP_PORT=$tcp
TCP5424_PORT=$tcp5424
UDP_PORT=$udp
UNIX_SOCK=$dir/unix.sock
UNIXGRAM_SOCK=$dir/unixgram.sock
ENV
}

# journald binds /run/systemd/journal/* and stores under /run/log/journal:
# in a private mount namespace both are bind mounts of directories in DIR,
# so its sockets are reachable from outside at DIR's paths and the host's
# own /run/systemd is never touched.
start_journald() {
	local dir=$1 jd=/lib/systemd/systemd-journald
	[[ -x $jd ]] || skip "$jd is not installed"
	command -v unshare >/dev/null || skip "unshare is not available"
	mkdir -p "$dir/run-systemd/journald.conf.d" "$dir/run-log"
	# A test sends 100,000 entries from one process in seconds: no rate
	# limit (the default drops beyond 10,000 per 30 s per service).
	cat >"$dir/run-systemd/journald.conf.d/jlog-test.conf" <<CONF
[Journal]
Storage=volatile
RateLimitIntervalSec=0
RateLimitBurst=0
CONF
	setsid unshare -m --propagation private sh -c '
		mkdir -p /run/systemd /run/log &&
		mount --bind "$1/run-systemd" /run/systemd &&
		mount --bind "$1/run-log" /run/log &&
		exec "$2"' sh "$dir" "$jd" >"$dir/server.log" 2>&1 &
	echo $! >"$dir/server.pid"
	wait_for 10 test -S "$dir/run-systemd/journal/socket" ||
		skip "systemd-journald did not start here: $(tail -3 "$dir/server.log")"
	cat >"$dir/env" <<ENV
JOURNAL_SOCK=$dir/run-systemd/journal/socket
JOURNAL_DIR=$dir/run-log/journal
ENV
}

stop_pidfile() {
	local dir=$1 pid
	[[ -f $dir/server.pid ]] || return 0
	pid=$(cat "$dir/server.pid")
	kill -TERM "$pid" 2>/dev/null || { rm -f "$dir/server.pid"; return 0; }
	for _ in $(seq 500); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/server.pid"
}

(($# >= 2)) || die "usage: $0 install|start|stop rsyslog|syslog-ng|journald [DIR]"
cmd=$1 server=$2
pkg=$(package_of "$server")
case $cmd in
install) install_pkg "$pkg" ;;
start)
	(($# == 3)) || die "usage: $0 start SERVER DIR"
	mkdir -p "$3"
	dir=$(cd "$3" && pwd)
	"start_${server//-/_}" "$dir"
	cat "$dir/env"
	;;
stop)
	(($# == 3)) || die "usage: $0 stop SERVER DIR"
	stop_pidfile "$3"
	;;
restart)
	(($# == 3)) || die "usage: $0 restart SERVER DIR"
	stop_pidfile "$3"
	dir=$(cd "$3" && pwd)
	"start_${server//-/_}" "$dir"
	cat "$dir/env"
	;;
*) die "unknown command '$cmd'" ;;
esac
