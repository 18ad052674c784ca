#!/usr/bin/env bash
# test-logon-ldap.sh: the RopLogon resolve pipeline (src/store/logon-pipeline.c) through the
# `ldap` directory backend against real slapd instances (tests/integration/lib/slapd.sh, the
# project schema): Contoso (conf/directory.ldif) on a provider and a syncrepl replica, Fabrikam
# (conf/fabrikam.ldif) on a third instance. It runs the cmocka driver
# tests/unit/test-logon-ldap.c from the build folder with MBX_LDAP_URIS and friends set:
# the decision table of tests/unit/data/logon-expect.tsv gives the same answers through ldap
# as through the embedded ldif backend; a change made with ldapmodify reaches the mailbox
# table within 1 s; the provider SIGKILLed during a stream of logons (never ecUnknownUser,
# the replica serves within 2 s); both servers down (stale snapshots, ecNetworkError, never
# ecUnknownUser); the provider restarted (recovery without re-creating anything).
# Usage: test-logon-ldap.sh BUILD_DIR. Prints PASS/FAIL lines and timings; exits non-zero on
# failure.

set -uo pipefail
export LC_ALL=C

BUILD=${1:?usage: test-logon-ldap.sh BUILD_DIR}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$BUILD/test-logon-ldap"

# shellcheck source=tests/integration/lib/report.sh
. "$SRC/tests/integration/lib/report.sh"

if [ ! -x "$BIN" ]; then
	echo "FAIL: $BIN is not built"
	exit 1
fi
if ! command -v ldapmodify >/dev/null; then
	echo "FAIL: ldapmodify not found (Debian: apt-get install ldap-utils)"
	exit 1
fi

# Our own EXIT trap (below) cleans the instances and the work folder.
# shellcheck disable=SC2034
SLAPD_NO_TRAP=1
# shellcheck source=lib/slapd.sh
. "$SRC/tests/integration/lib/slapd.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-logon-ldap.XXXXXX")
cleanup() {
	local status=$1
	slapd_cleanup "$status"
	rm -rf "$WORK"
}
trap 'cleanup $?' EXIT

# --- slapd: Contoso provider and replica, Fabrikam ------------------------------------------
CONTOSO=dc=contoso,dc=com
FABRIKAM=dc=fabrikam,dc=com
if slapd_start contoso "$CONTOSO" && slapd_load contoso "$SRC/conf/directory.ldif"; then
	pass "Contoso provider with conf/directory.ldif at $(slapd_uri contoso)"
else
	fail "Contoso provider slapd"
	exit 1
fi
if slapd_start_replica contoso2 "$CONTOSO" "$(slapd_uri contoso)" &&
	slapd_wait_synced contoso2 contoso 20; then
	pass "Contoso replica in sync at $(slapd_uri contoso2)"
else
	fail "Contoso replica slapd"
	exit 1
fi
if slapd_start fabrikam "$FABRIKAM" && slapd_load fabrikam "$SRC/conf/fabrikam.ldif"; then
	pass "Fabrikam with conf/fabrikam.ldif at $(slapd_uri fabrikam)"
else
	fail "Fabrikam slapd"
	exit 1
fi

# The control script the driver calls to restart instances (it kills them itself, by pid).
cat >"$WORK/ctl" <<EOF
#!/usr/bin/env bash
# ctl restart|kill NAME
set -uo pipefail
SLAPD_NO_TRAP=1
. "$SRC/tests/integration/lib/slapd.sh"
SLAPD_TMP=$SLAPD_TMP
SLAPD_INSTANCES="$SLAPD_INSTANCES"
SLAPD_BIN=$SLAPD_BIN
SLAPD_MODULEDIR=${SLAPD_MODULEDIR:-}
SLAPD_SCHEMADIR=$SLAPD_SCHEMADIR
case "\$1" in
restart) slapd_restart "\$2" ;;
kill) slapd_kill "\$2" ;;
*)
	echo "ctl: unknown command \$1" >&2
	exit 2
	;;
esac
EOF
chmod 700 "$WORK/ctl"

umask 077
printf '%s\n' mbxstored-Contoso1 >"$WORK/contoso.pw"
printf '%s\n' mbxstored-Fabrikam1 >"$WORK/fabrikam.pw"
printf '%s\n' "$SLAPD_ROOTPW" >"$WORK/root.pw"
chmod 600 "$WORK"/*.pw

export MBX_SRCDIR=$SRC
MBX_LDAP_URIS="$(slapd_uri contoso) $(slapd_uri contoso2)"
MBX_LDAP_PIDFILES="$(slapd_dir contoso)/pid $(slapd_dir contoso2)/pid"
export MBX_LDAP_URIS MBX_LDAP_PIDFILES
export MBX_LDAP_BASE=$CONTOSO
export MBX_LDAP_BIND_DN="cn=mbxstored,cn=Users,$CONTOSO"
export MBX_LDAP_PWFILE=$WORK/contoso.pw
export MBX_LDAP_ROOT_DN
MBX_LDAP_ROOT_DN=$(slapd_rootdn contoso)
export MBX_LDAP_ROOT_PWFILE=$WORK/root.pw
export MBX_LDAP_FABRIKAM_URI
MBX_LDAP_FABRIKAM_URI=$(slapd_uri fabrikam)
export MBX_LDAP_FABRIKAM_BASE=$FABRIKAM
export MBX_LDAP_FABRIKAM_BIND_DN="cn=mbxstored,cn=Users,$FABRIKAM"
export MBX_LDAP_FABRIKAM_PWFILE=$WORK/fabrikam.pw
export MBX_LDAP_CTL=$WORK/ctl

# --- the driver ---------------------------------------------------------------------------
"$BIN" >"$WORK/driver.log" 2>&1
rc=$?
while read -r line; do
	case "$line" in
	"[       OK ] "*) pass "${line#\[       OK \] }" ;;
	"[  FAILED  ] "*" test(s), listed below:") ;;
	"[  FAILED  ] "*" FAILED TEST(S)") ;;
	"[  FAILED  ] "*) fail "${line#\[  FAILED  \] }" ;;
	"[  SKIPPED ] "*" test(s), listed below:") ;;
	"[  SKIPPED ] "*) fail "skipped: ${line#\[  SKIPPED \] }" ;;
	esac
done < <(grep -E '^\[ +(OK|FAILED|SKIPPED) +\] ' "$WORK/driver.log" | awk '!seen[$0]++')
# The timings and counts the driver measured.
grep -E "^(equivalence|space variant|propagation|failover|outage|recovery):" "$WORK/driver.log" || true
if [ "$rc" -ne 0 ] || [ "$nfail" -ne 0 ] || [ -n "${MBX_TEST_VERBOSE:-}" ]; then
	echo "----- driver output -----"
	cat "$WORK/driver.log"
	[ "$rc" -ne 0 ] && fail "test-logon-ldap exited with status $rc"
fi

echo "test-logon-ldap: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
