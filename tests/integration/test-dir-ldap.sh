#!/usr/bin/env bash
# test-dir-ldap.sh: integration test of the `ldap` directory backend (src/directory/dir-ldap*.c)
# against real slapd instances (tests/integration/lib/slapd.sh): the Contoso sample directory
# (conf/directory.ldif, project schema) on a provider and a syncrepl replica, both with a
# server certificate for StartTLS from a CA made here with openssl. It then runs the cmocka
# driver tests/unit/test-dir-ldap.c from the build folder with MBX_LDAP_URIS and friends set:
# every lookup kind, injection keys, the attribute map, password checks, Content Sync
# (RFC 4533) within a second, modifications, StartTLS with the right and a wrong CA, failover
# during a stream of lookups (SIGKILL of the provider), all servers down, recovery. Then
# tests/unit/test-dir-ldap-report.c: X500 proxies, the report of disabled users without
# master SID (with a size-limited instance), writes as the service account and their
# replication. Usage: test-dir-ldap.sh BUILD_DIR. Prints PASS/FAIL lines; exits non-zero on failure.

set -uo pipefail
export LC_ALL=C

BUILD=${1:?usage: test-dir-ldap.sh BUILD_DIR}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$BUILD/test-dir-ldap"

# shellcheck source=tests/integration/lib/report.sh
. "$SRC/tests/integration/lib/report.sh"

if [ ! -x "$BIN" ]; then
	echo "FAIL: $BIN is not built"
	exit 1
fi
for tool in openssl ldapmodify; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL: $tool not found (Debian: apt-get install openssl ldap-utils)"
		exit 1
	fi
done

# Our own EXIT trap (below) cleans the instances and the work folder.
# shellcheck disable=SC2034
SLAPD_NO_TRAP=1
# shellcheck source=lib/slapd.sh
. "$SRC/tests/integration/lib/slapd.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-dir-ldap.XXXXXX")
cleanup() {
	local status=$1
	slapd_cleanup "$status"
	rm -rf "$WORK"
}
trap 'cleanup $?' EXIT

# --- TLS material: a CA, a server certificate for 127.0.0.1 and localhost, another CA -------
mkcert() {
	local dir=$WORK/tls
	mkdir -p "$dir" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=mbxstore test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" || return 1
	openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
		-keyout "$dir/server.key" -out "$dir/server.csr" || return 1
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		>"$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -sha256 -extfile "$dir/server.ext" -out "$dir/server.pem" ||
		return 1
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=some other CA" \
		-keyout "$dir/wrong-ca.key" -out "$dir/wrong-ca.pem" || return 1
	chmod 600 "$dir"/*.key
}
if mkcert >"$WORK/openssl.log" 2>&1; then
	pass "test CA and server certificate made with openssl"
else
	fail "openssl could not make the test certificates"
	cat "$WORK/openssl.log"
	exit 1
fi
export SLAPD_TLS_CERT=$WORK/tls/server.pem SLAPD_TLS_KEY=$WORK/tls/server.key

# --- slapd: provider with the sample directory, replica --------------------------------------
SUFFIX=dc=contoso,dc=com
if slapd_start contoso "$SUFFIX" && slapd_load contoso "$SRC/conf/directory.ldif"; then
	pass "provider started with conf/directory.ldif at $(slapd_uri contoso)"
else
	fail "provider slapd"
	exit 1
fi
if slapd_start_replica contoso2 "$SUFFIX" "$(slapd_uri contoso)" &&
	slapd_wait_synced contoso2 contoso 20; then
	pass "replica in sync at $(slapd_uri contoso2)"
else
	fail "replica slapd"
	exit 1
fi

# An ldaps:// instance with the same data: TLS from the first byte (no StartTLS).
if slapd_start tls "$SUFFIX" && slapd_load tls "$SRC/conf/directory.ldif" && slapd_stop tls &&
	echo "ldaps://127.0.0.1:$(slapd_free_port)/" >"$(slapd_dir tls)/uri" &&
	LDAPTLS_CACERT=$WORK/tls/ca.pem slapd_restart tls; then
	pass "ldaps:// instance at $(slapd_uri tls)"
else
	fail "ldaps:// instance"
	exit 1
fi

# A copy of the sample directory whose service account may get at most 2 entries per search
# (slapd "limits ... size=2"), with two more disabled users than gina: the report would be cut
# short there, and must say so (ERROR) rather than pass a part for the whole.
small_extra() {
	local n
	for n in 1 2; do
		printf 'dn: cn=Small %s,cn=Users,%s\nchangetype: add\nobjectClass: user\n' "$n" "$SUFFIX"
		printf 'cn: Small %s\nsn: S\nuserAccountControl: 514\n\n' "$n"
	done
}
if slapd_start small "$SUFFIX" && slapd_load small "$SRC/conf/directory.ldif" &&
	small_extra | ldapmodify -x -H "$(slapd_uri small)" -D "$(slapd_rootdn small)" \
		-w "$SLAPD_ROOTPW" >/dev/null && slapd_stop small &&
	sed -i 's/^limits \(.*\) size=unlimited /limits \1 size=2 /' "$(slapd_dir small)/slapd.conf" &&
	grep -q '^limits .* size=2 ' "$(slapd_dir small)/slapd.conf" && slapd_restart small; then
	pass "size-limited instance at $(slapd_uri small)"
else
	fail "size-limited instance"
	exit 1
fi

# The service account writes the attributes of a move on a user entry, nothing else, and
# never userPassword (tests/integration/lib/slapd.sh); the driver does the same through
# mbx_dir_modify and checks the replica.
svc_modify() {
	ldapmodify -x -H "$(slapd_uri small)" -D "cn=mbxstored,cn=Users,$SUFFIX" \
		-w mbxstored-Contoso1 >/dev/null 2>&1
}
ginamod() {
	printf 'dn: cn=Gina Gray,cn=Users,%s\nchangetype: modify\nreplace: %s\n%s: %s\n' \
		"$SUFFIX" "$1" "$1" "$2"
}
if ginamod msExchMailboxMoveStatus 2 | svc_modify &&
	ginamod homeMDB "cn=DB03,cn=Databases,cn=x,$SUFFIX" | svc_modify; then
	pass "ldapmodify as the service account: msExchMailboxMoveStatus, homeMDB of a user"
else
	fail "ldapmodify as the service account of msExchMailboxMoveStatus/homeMDB refused"
fi
if ginamod userPassword x | svc_modify; then
	fail "the service account could write userPassword"
else
	pass "the service account may not write userPassword"
fi
if ginamod description x | svc_modify; then
	fail "the service account could write description"
else
	pass "the service account may not write other attributes (description)"
fi

# The control script the driver calls to kill, restart and modify instances.
cat >"$WORK/ctl" <<EOF
#!/usr/bin/env bash
# ctl kill|term|restart|stop|cont NAME; ctl modify NAME < LDIF (as the rootdn)
set -uo pipefail
# stop_all PID: SIGSTOP, then wait until every thread of the process is stopped. kill returns
# before that: the kernel wakes one thread to carry out the stop, and on a loaded machine that
# thread may get a CPU only after another thread of slapd has read the test's next request
# and answered it (the hung-server test then saw the "stopped" server answer). Bounded: 5 s.
stop_all() {
	local pid=\$1 i t line running
	kill -STOP "\$pid" || return 1
	for ((i = 0; i < 500; i++)); do
		running=0
		for t in /proc/"\$pid"/task/*/stat; do
			read -r line 2>/dev/null <"\$t" || continue
			line=\${line##*) }
			case "\${line%% *}" in
			T | t | Z | X) ;;
			*) running=1 ;;
			esac
		done
		[ "\$running" -eq 0 ] && return 0
		sleep 0.01
	done
	echo "ctl: slapd \$pid did not stop within 5 s" >&2
	return 1
}
SLAPD_NO_TRAP=1
. "$SRC/tests/integration/lib/slapd.sh"
SLAPD_TMP=$SLAPD_TMP
SLAPD_INSTANCES="$SLAPD_INSTANCES"
SLAPD_BIN=$SLAPD_BIN
SLAPD_MODULEDIR=${SLAPD_MODULEDIR:-}
SLAPD_SCHEMADIR=$SLAPD_SCHEMADIR
case "\$1" in
kill) slapd_kill "\$2" ;;
restart) slapd_restart "\$2" ;;
term) slapd_stop "\$2" ;;
stop) stop_all "\$(slapd_pid "\$2")" ;;
cont) kill -CONT "\$(slapd_pid "\$2")" ;;
modify)
	ldapmodify -x -H "\$(slapd_uri "\$2")" -D "\$(slapd_rootdn "\$2")" -w "\$SLAPD_ROOTPW" \\
		>/dev/null
	;;
*)
	echo "ctl: unknown command \$1" >&2
	exit 2
	;;
esac
EOF
chmod 700 "$WORK/ctl"

umask 077
printf '%s\n' mbxstored-Contoso1 >"$WORK/service.pw"
printf '%s\n' "$SLAPD_ROOTPW" >"$WORK/root.pw"
chmod 600 "$WORK/service.pw" "$WORK/root.pw"

MBX_LDAP_URIS="$(slapd_uri contoso) $(slapd_uri contoso2)"
export MBX_LDAP_URIS
export MBX_LDAP_BASE=$SUFFIX
export MBX_LDAP_BIND_DN="cn=mbxstored,cn=Users,$SUFFIX"
export MBX_LDAP_PWFILE=$WORK/service.pw
export MBX_LDAP_ROOT_DN
MBX_LDAP_ROOT_DN=$(slapd_rootdn contoso)
export MBX_LDAP_ROOT_PWFILE=$WORK/root.pw
export MBX_LDAP_CA=$WORK/tls/ca.pem
export MBX_LDAP_WRONG_CA=$WORK/tls/wrong-ca.pem
export MBX_LDAP_CTL=$WORK/ctl
export MBX_LDAP_LDAPS_URI
MBX_LDAP_LDAPS_URI=$(slapd_uri tls)

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
if [ "$rc" -ne 0 ] || [ "$nfail" -ne 0 ] || [ -n "${MBX_TEST_VERBOSE:-}" ]; then
	echo "----- driver output -----"
	cat "$WORK/driver.log"
	[ "$rc" -ne 0 ] && fail "test-dir-ldap exited with status $rc"
else
	grep -E "^(failover|hung server):" "$WORK/driver.log" || true
fi

# --- the second driver: X500 proxies, the report, writes as the service account -------------
# After the first (it adds entries, then deletes them).
export MBX_LDAP_SMALL_URI
MBX_LDAP_SMALL_URI=$(slapd_uri small)
REPORT_BIN="$BUILD/test-dir-ldap-report"
if [ ! -x "$REPORT_BIN" ]; then
	fail "$REPORT_BIN is not built"
else
	"$REPORT_BIN" >"$WORK/driver-report.log" 2>&1
	rc=$?
	before=$nfail
	while read -r line; do
		case "$line" in
		"[       OK ] "*) pass "${line#\[       OK \] }" ;;
		"[  FAILED  ] "*" test(s), listed below:") ;;
		"[  FAILED  ] "*" FAILED TEST(S)") ;;
		"[  FAILED  ] "*) fail "${line#\[  FAILED  \] }" ;;
		"[  SKIPPED ] "*" test(s), listed below:") ;;
		"[  SKIPPED ] "*) fail "skipped: ${line#\[  SKIPPED \] }" ;;
		esac
	done < <(grep -E '^\[ +(OK|FAILED|SKIPPED) +\] ' "$WORK/driver-report.log" | awk '!seen[$0]++')
	if [ "$rc" -ne 0 ] || [ "$nfail" -ne "$before" ] || [ -n "${MBX_TEST_VERBOSE:-}" ]; then
		echo "----- driver output (test-dir-ldap-report) -----"
		cat "$WORK/driver-report.log"
		[ "$rc" -ne 0 ] && fail "test-dir-ldap-report exited with status $rc"
	fi
fi

echo "test-dir-ldap: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
