#!/usr/bin/env bash
# run-bench-daemon.sh: the daemon under mbxbench(1) (docs/performance.md "The daemon under load
# (mbxbench)"): starts mbxstored on the sample directory (conf/directory.ldif, the ldif backend)
# with a configuration generated as `tools/setup.sh run` makes it, on free loopback ports (TLS
# with a self-signed certificate, plain HTTP, metrics, a control socket in a scratch folder),
# warms it with one short run, then either runs mbxbench against it or counts the daemon's
# instructions per Execute under callgrind.
#
# Usage: run-bench-daemon.sh BUILD_DIR load [tls|plain] [mbxbench options...]
#        run-bench-daemon.sh BUILD_DIR callgrind [tls|plain] [N1 N2]
#        run-bench-daemon.sh BUILD_DIR callgrind-baseline [tls|plain] [N1 N2]
#   BUILD_DIR  a release build folder holding mbxstored and mbxbench, e.g.
#              CC=gcc cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release \
#                      -DCMAKE_C_FLAGS_RELEASE="-O2 -g"
#              cmake --build build-rel -j2 --target mbxstored mbxbench
#   load       mbxbench with the options given (default: -c 16 -d 10 --warmup 2 --baseline),
#              plus --server-pid of the daemon, so that it reports the daemon's CPU time per
#              request; prints the load average before and after
#   callgrind  the daemon under valgrind --tool=callgrind, one session (-c 1) doing N1 and then,
#              in a second daemon, N2 Execute requests (default 200 and 2200); prints the
#              difference of the instruction totals divided by N2 - N1: the cost of one Execute,
#              start-up and Connect cancelled out. The callgrind.out files stay in
#              BUILD_DIR/bench-daemon/ for callgrind_annotate.
#   callgrind-baseline  the same count for mbxbench's evhttp responder (mbxbench --serve, the
#              baseline of --baseline) instead of the daemon
# PIN_DAEMON and PIN_CLIENT (load only), CPU lists for taskset(1), pin the daemon and mbxbench
# (with its in-process baseline responder: do not compare ratios from pinned runs) to separate
# cores, so that on a small machine the open loop's tail is not the two preempting each other.
# The transport defaults to tls. MBXBENCH names another mbxbench to use (e.g. a newer one against
# an older daemon; load mode needs one that knows --server-pid). Exits non-zero if a run fails.

set -euo pipefail
export LC_ALL=C

BUILD=${1:?usage: run-bench-daemon.sh BUILD_DIR load|callgrind [tls|plain] [options...]}
MODE=${2:?usage: run-bench-daemon.sh BUILD_DIR load|callgrind [tls|plain] [options...]}
shift 2
PROTO=tls
if [ $# -gt 0 ] && { [ "$1" = tls ] || [ "$1" = plain ]; }; then
	PROTO=$1
	shift
fi
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
MBXBENCH=${MBXBENCH:-$BUILD/mbxbench}
for b in "$BUILD/mbxstored" "$MBXBENCH"; do
	if [ ! -x "$b" ]; then
		echo "run-bench-daemon.sh: $b is not built" >&2
		exit 2
	fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-daemon.XXXXXX")
DPID=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
P_TLS=$(free_port)
P_PLAIN=$(free_port)
P_METRICS=$(free_port)
while [ "$P_PLAIN" = "$P_TLS" ]; do P_PLAIN=$(free_port); done
while [ "$P_METRICS" = "$P_TLS" ] || [ "$P_METRICS" = "$P_PLAIN" ]; do P_METRICS=$(free_port); done

cp "$SRC/conf/directory.ldif" "$WORK/directory.ldif"
{
	echo "[server]"
	grep -E '^(name|legacy_dn|ldap_dn) = ' "$SRC/conf/mbxstored.conf"
	echo "state_dir = $WORK/state"
	echo "[listen]"
	echo "https = 127.0.0.1:$P_TLS"
	echo "plain_http = 127.0.0.1:$P_PLAIN"
	echo "metrics = 127.0.0.1:$P_METRICS"
	echo "control_socket = $WORK/control.sock"
	echo "[directory]"
	echo "ldif_path = $WORK/directory.ldif"
	echo "[servers]"
	echo "SERVER1 = https://127.0.0.1:$P_TLS"
	echo "[log]"
	echo "target = stderr"
} >"$WORK/mbxstored.conf"
(
	umask 077
	printf '%s\n' alice-Secret1 >"$WORK/pw"
)
DN='/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice'
if [ "$PROTO" = tls ]; then
	URL=https://127.0.0.1:$P_TLS/mapi/emsmdb/
else
	URL=http://127.0.0.1:$P_PLAIN/mapi/emsmdb/
fi

# Starts the daemon (under $1, a wrapper command, when not empty); waits for its metrics port.
start_daemon() {
	local wrap=$1 log=$2
	# shellcheck disable=SC2086 # the wrapper is a command line
	$wrap "$BUILD/mbxstored" -f -c "$WORK/mbxstored.conf" >"$log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do
		if curl -s -o /dev/null "http://127.0.0.1:$P_METRICS/metrics"; then
			return 0
		fi
		if ! kill -0 "$DPID" 2>/dev/null; then
			echo "run-bench-daemon.sh: the daemon did not start:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.2
	done
	echo "run-bench-daemon.sh: the daemon does not answer on its metrics port" >&2
	exit 1
}

stop_daemon() {
	kill -TERM "$DPID"
	wait "$DPID" || true
	DPID=
}

bench() {
	# shellcheck disable=SC2086 # an optional taskset prefix
	${PIN_CLIENT:+taskset -c $PIN_CLIENT} "$MBXBENCH" --url "$URL" --user alice@contoso.com --password-file "$WORK/pw" \
		--legacy-dn "$DN" --ca-file "$WORK/state/selfsigned-cert.pem" "$@"
}

echo "machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
	head -n 1), $(uname -sr)"
case "$MODE" in
load)
	[ $# -gt 0 ] || set -- -c 16 -d 10 --warmup 2 --baseline
	start_daemon "${PIN_DAEMON:+taskset -c $PIN_DAEMON}" "$WORK/daemon.log"
	bench -c 4 -d 1 --warmup 0 >/dev/null # warm: the certificate, caches, sessions
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	bench --server-pid "$DPID" "$@"
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	stop_daemon
	;;
callgrind)
	N1=${1:-200}
	N2=${2:-2200}
	OUT=$BUILD/bench-daemon
	mkdir -p "$OUT"
	declare -A TOTAL
	for n in "$N1" "$N2"; do
		start_daemon "valgrind --tool=callgrind --callgrind-out-file=$OUT/callgrind.out.$PROTO.$n" \
			"$OUT/daemon.$PROTO.$n.log"
		bench -c 1 -n "$n" --warmup 0 --timeout 60 | grep -E '^  (requests|errors):'
		stop_daemon
		TOTAL[$n]=$(sed -n 's/^totals: //p' "$OUT/callgrind.out.$PROTO.$n")
		echo "$PROTO, $n Execute requests: ${TOTAL[$n]} instructions"
	done
	echo "$PROTO: $(((TOTAL[$N2] - TOTAL[$N1]) / (N2 - N1))) instructions per Execute"
	;;
callgrind-baseline)
	N1=${1:-200}
	N2=${2:-2200}
	OUT=$BUILD/bench-daemon
	mkdir -p "$OUT"
	declare -A TOTAL
	P_BASE=$(free_port)
	for n in "$N1" "$N2"; do
		tlsopt=()
		[ "$PROTO" = tls ] && tlsopt=(--baseline-tls --cert-out "$WORK/base-cert.pem")
		rm -f "$WORK/base-cert.pem"
		# It serves for 30 s whatever happens (idle time costs no instructions).
		valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.base-$PROTO.$n" \
			"$MBXBENCH" --serve --listen "127.0.0.1:$P_BASE" "${tlsopt[@]}" -d 30 \
			>"$OUT/serve.$PROTO.$n.log" 2>&1 &
		DPID=$!
		for _ in $(seq 100); do
			if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
				"$P_BASE" 2>/dev/null && { [ "$PROTO" = plain ] || [ -s "$WORK/base-cert.pem" ]; }; then
				break
			fi
			sleep 0.2
		done
		if [ "$PROTO" = tls ]; then
			u=https://127.0.0.1:$P_BASE/mapi/emsmdb/
		else
			u=http://127.0.0.1:$P_BASE/mapi/emsmdb/
		fi
		"$MBXBENCH" --url "$u" --user alice@contoso.com --password-file "$WORK/pw" \
			--legacy-dn "$DN" --ca-file "$WORK/base-cert.pem" -c 1 -n "$n" --warmup 0 \
			--timeout 60 | grep -E '^  (requests|errors):'
		wait "$DPID" || true
		DPID=
		TOTAL[$n]=$(sed -n 's/^totals: //p' "$OUT/callgrind.out.base-$PROTO.$n")
		echo "baseline $PROTO, $n Execute requests: ${TOTAL[$n]} instructions"
	done
	echo "baseline $PROTO: $(((TOTAL[$N2] - TOTAL[$N1]) / (N2 - N1))) instructions per Execute"
	;;
*)
	echo "run-bench-daemon.sh: MODE is load, callgrind or callgrind-baseline" >&2
	exit 2
	;;
esac
