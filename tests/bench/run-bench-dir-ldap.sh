#!/usr/bin/env bash
# run-bench-dir-ldap.sh: runs tests/bench/bench-dir-ldap.c (lookups per second through the
# `ldap` directory backend beside raw libldap, docs/performance.md "Directory lookups (ldap
# backend)") against a real slapd started with tests/integration/lib/slapd.sh: the project
# schema and the Contoso sample directory (conf/directory.ldif), bound as the service account.
#
# Usage: run-bench-dir-ldap.sh BUILD_DIR [bench-dir-ldap options...]
#   BUILD_DIR  a release build folder holding bench-dir-ldap, e.g.
#              CC=gcc cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release \
#                      -DCMAKE_C_FLAGS_RELEASE=-O2
#              cmake --build build-rel -j2 --target bench-dir-ldap
# Environment:
#   BENCH_CONCURRENCY  the concurrencies to run, one bench-dir-ldap run each ("1 16 64")
#   BENCH_WRAP         a command put in front of the benchmark (e.g. "perf record -g -o F")
#   SLAPD_DEBUG        slapd's -d level; 0 here (no per-operation log lines: they would cost
#                      slapd CPU on the 2 shared cores); the harness default is stats,sync
# Options after BUILD_DIR go to every run (e.g. --seconds 5 --rounds 3). Prints the machine,
# the slapd version and the load average before and after. Exits non-zero if a run fails.

set -euo pipefail
export LC_ALL=C

BUILD=${1:?usage: run-bench-dir-ldap.sh BUILD_DIR [bench-dir-ldap options...]}
shift
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$BUILD/bench-dir-ldap"
if [ ! -x "$BIN" ]; then
	echo "run-bench-dir-ldap.sh: $BIN is not built" >&2
	exit 2
fi

export SLAPD_DEBUG=${SLAPD_DEBUG:-0}
# shellcheck disable=SC2034
SLAPD_NO_TRAP=1
# shellcheck source=../integration/lib/slapd.sh
. "$SRC/tests/integration/lib/slapd.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-dir-ldap.XXXXXX")
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local status=$1
	slapd_cleanup "$status"
	rm -rf "$WORK"
}
trap 'cleanup $?' EXIT

SUFFIX=dc=contoso,dc=com
slapd_start bench "$SUFFIX"
slapd_load bench "$SRC/conf/directory.ldif"

# The service account's password (docs/directory.md), in a file only we may read: the
# backend refuses one that group or others can read.
(
	umask 077
	printf '%s\n' mbxstored-Contoso1 >"$WORK/service.pw"
)
chmod 600 "$WORK/service.pw"

echo "machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
	head -n 1), $(uname -sr)"
echo "slapd: $("$SLAPD_BIN" -VV 2>&1 | sed -n 's/.*\(slapd [^ ]*\).*/\1/p' | head -n 1)" \
	"at $(slapd_uri bench), -d $SLAPD_DEBUG"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"

status=0
for c in ${BENCH_CONCURRENCY:-1 16 64}; do
	echo
	echo "\$ bench-dir-ldap --concurrency $c $*"
	# shellcheck disable=SC2086
	${BENCH_WRAP:-} "$BIN" --uri "$(slapd_uri bench)" --base "$SUFFIX" \
		--bind-dn "cn=mbxstored,cn=Users,$SUFFIX" --password-file "$WORK/service.pw" \
		--concurrency "$c" "$@" || status=$?
	echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
done
exit "$status"
