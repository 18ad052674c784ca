# shellcheck shell=bash
# harness.sh: the set-up of the move scenarios (issue #5, docs/scenarios.md), sourced by
# tests/integration/test-scenarios.sh. Two forests on real slapd (lib/slapd.sh): Contoso on a
# provider and a syncrepl replica (conf/directory.ldif + contoso-kim.ldif), Fabrikam on one
# instance (conf/fabrikam.ldif); three mbxstored daemons on loopback ports chosen at run time,
# SERVER1 and SERVER2 of Contoso and SERVER3 of Fabrikam, each with the ldap backend, TLS with
# the self-signed certificate it makes in its state folder, plain_http off, /metrics, and a
# control socket (mode 0600) in the work folder. Then functions to drive them: mbxctl, mbxlogon,
# mbxbench, the raw MAPI/HTTP client (mapi.py), ldapsearch, and the daemons' logs.
#
# Needs before sourcing: SRC, BUILD, WORK (an empty folder), and report.sh's pass/fail.

SCEN_DIR=$SRC/tests/integration/scenarios
CONTOSO=dc=contoso,dc=com
FABRIKAM=dc=fabrikam,dc=com
AGN="cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups"
ORG_C="$AGN,cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,$CONTOSO"
ORG_F="$AGN,cn=Fabrikam,cn=Microsoft Exchange,cn=Services,cn=Configuration,$FABRIKAM"
AG_C="/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
AG_F="/o=Fabrikam/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
# Legacy DNs and LDAP DNs of the sample directory (docs/directory.md).
legacy_of() { # ALIAS [FOREST]: a recipient's legacyExchangeDN
	if [ "${2:-contoso}" = fabrikam ]; then
		echo "$AG_F/cn=Recipients/cn=$1"
	else
		echo "$AG_C/cn=Recipients/cn=$1"
	fi
}
server_legacy() { # SERVERn
	case "$1" in
	SERVER3) echo "$AG_F/cn=Configuration/cn=Servers/cn=$1" ;;
	*) echo "$AG_C/cn=Configuration/cn=Servers/cn=$1" ;;
	esac
}
server_dn() {
	case "$1" in
	SERVER3) echo "cn=$1,cn=Servers,$ORG_F" ;;
	*) echo "cn=$1,cn=Servers,$ORG_C" ;;
	esac
}
db_dn() { # DBnn
	case "$1" in
	DB10) echo "cn=$1,cn=Databases,$ORG_F" ;;
	*) echo "cn=$1,cn=Databases,$ORG_C" ;;
	esac
}
user_dn() { # "First Last" [child]
	if [ "${2:-}" = child ]; then
		echo "cn=$1,cn=Users,dc=child,$CONTOSO"
	else
		echo "cn=$1,cn=Users,$CONTOSO"
	fi
}

MBXSTORED=$BUILD/mbxstored
MBXCTL=$BUILD/mbxctl
MBXLOGON=$BUILD/mbxlogon
MBXBENCH=$BUILD/mbxbench
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1

declare -A PORT METRICS PID
DAEMONS="SERVER1 SERVER2 SERVER3"

# wait_for COND_CMD TENTHS: polls every 0.1 s, at most TENTHS times.
wait_for() {
	local i
	for ((i = 0; i < $2; i++)); do
		if eval "$1"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

free_port() {
	local p
	while :; do
		p=$(slapd_free_port)
		case " ${USED_PORTS:-} " in
		*" $p "*) ;;
		*)
			USED_PORTS="${USED_PORTS:-} $p"
			echo "$p"
			return 0
			;;
		esac
	done
}

# --- the directories ------------------------------------------------------------------------

# Password files (first line; mode 0600, as the daemon demands for its bind password).
setup_passwords() {
	local u
	mkdir -p "$WORK/pw"
	chmod 700 "$WORK/pw"
	printf '%s\n' mbxstored-Contoso1 >"$WORK/pw/svc-contoso"
	printf '%s\n' mbxstored-Fabrikam1 >"$WORK/pw/svc-fabrikam"
	for u in alice bob carol dave gina ivan henry kim; do
		printf '%s\n' "$u-Secret1" >"$WORK/pw/$u"
	done
	chmod 600 "$WORK/pw"/*
}
pwfile() { echo "$WORK/pw/$1"; }

setup_directories() {
	slapd_start contoso "$CONTOSO" && slapd_load contoso "$SRC/conf/directory.ldif" &&
		slapd_load contoso "$SCEN_DIR/contoso-kim.ldif" || return 1
	slapd_start_replica contoso2 "$CONTOSO" "$(slapd_uri contoso)" &&
		slapd_wait_synced contoso2 contoso 20 || return 1
	slapd_start fabrikam "$FABRIKAM" && slapd_load fabrikam "$SRC/conf/fabrikam.ldif" || return 1
}

# ldap_attr INSTANCE DN ATTR: the values of ATTR of one entry, as the rootdn sees it, one per
# line (base64 values as "::b64"), sorted.
ldap_attr() {
	slapd_search "$1" -s base -b "$2" "(objectClass=*)" "$3" 2>/dev/null |
		sed -n "s/^$3:\(:\{0,1\}\) \{0,1\}/\1/Ip" | sort
}
# ldap_entry INSTANCE DN: the whole entry (user attributes), attribute lines sorted.
ldap_entry() {
	slapd_search "$1" -s base -b "$2" "(objectClass=*)" 2>/dev/null | sort
}
# move_attrs DN: the attributes of a Contoso entry that moves change, for failure messages.
move_attrs() {
	ldap_entry contoso "$1" |
		grep -E '^(homeMDB|msExchHomeServerName|targetAddress|msExchRecipientTypeDetails|msExchMailbox)'
}
# ldap_admin INSTANCE: ldapmodify as the forest's administrator (rootdn), LDIF on stdin.
ldap_admin() {
	ldapmodify -x -H "$(slapd_uri "$1")" -D "$(slapd_rootdn "$1")" -w "$SLAPD_ROOTPW" "${@:2}"
}

# kill_tree PID...: ends those processes and everything they started (children first looked up
# by parent id, so a background function's subshell does not leave its programs running).
kill_tree() {
	local p c
	for p in "$@"; do
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
			kill_tree "$c"
		done
		kill "$p" 2>/dev/null
	done
}

# --- the daemons ----------------------------------------------------------------------------

# write_conf SERVERn: the daemon's configuration file.
write_conf() {
	local n=$1 dir=$WORK/$1 lower
	lower=$(tr 'A-Z' 'a-z' <<<"$n")
	mkdir -p "$dir/state"
	{
		echo "# generated by tests/integration/scenarios/harness.sh"
		echo "[server]"
		echo "name = $n"
		echo "legacy_dn = $(server_legacy "$n")"
		echo "ldap_dn = $(server_dn "$n")"
		echo "state_dir = $dir/state"
		echo "pid_file = $dir/mbxstored.pid"
		echo "[listen]"
		echo "https = 127.0.0.1:${PORT[$n]}"
		echo "metrics = 127.0.0.1:${METRICS[$n]}"
		echo "control_socket = $WORK/ctl/$lower.sock"
		echo "control_socket_mode = 0600"
		echo "[limits]"
		echo "max_contexts_per_user = 100"
		echo "request_timeout_seconds = 30"
		echo "[cache]"
		echo "ttl_seconds = 2"
		echo "negative_ttl_seconds = 1"
		echo "[directory]"
		echo "backend = ldap"
		if [ "$n" = SERVER3 ]; then
			echo "uris = $(slapd_uri fabrikam)"
			echo "base_dn = $FABRIKAM"
			echo "bind_dn = cn=mbxstored,cn=Users,$FABRIKAM"
			echo "bind_password_file = $WORK/pw/svc-fabrikam"
		else
			echo "uris = $(slapd_uri contoso) $(slapd_uri contoso2)"
			echo "base_dn = $CONTOSO"
			echo "bind_dn = cn=mbxstored,cn=Users,$CONTOSO"
			echo "bind_password_file = $WORK/pw/svc-contoso"
		fi
		echo "starttls = no"
		echo "network_timeout_ms = 500"
		echo "request_timeout_ms = 1000"
		echo "retry_min_ms = 100"
		echo "retry_max_ms = 500"
		echo "content_sync = yes"
		echo "[servers]"
		if [ "$n" = SERVER3 ]; then
			echo "SERVER3 = https://127.0.0.1:${PORT[SERVER3]}"
		else
			echo "SERVER1 = https://127.0.0.1:${PORT[SERVER1]}"
			echo "SERVER2 = https://127.0.0.1:${PORT[SERVER2]}"
			echo "[forest.fabrikam]"
			echo "domains = fabrikam.com"
			echo "autodiscover_url = https://127.0.0.1:${PORT[SERVER3]}/autodiscover/autodiscover.xml"
		fi
		echo "[log]"
		echo "target = stderr"
		echo "level = info"
	} >"$dir/mbxstored.conf"
}

sock() { echo "$WORK/ctl/$(tr 'A-Z' 'a-z' <<<"$1").sock"; }
dlog() { echo "$WORK/$1/daemon.log"; }
cert() { echo "$WORK/$1/state/selfsigned-cert.pem"; }

tls_up() { # PORT: a TLS handshake completes
	"$PY" - "$1" <<'EOF' 2>/dev/null
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    with ctx.wrap_socket(s, server_hostname="localhost"):
        pass
EOF
}

start_daemon() { # SERVERn
	local n=$1
	"$MBXSTORED" -f -c "$WORK/$n/mbxstored.conf" >>"$(dlog "$n")" 2>&1 &
	PID[$n]=$!
	if ! wait_for "grep -q 'mbxstored .* started' '$(dlog "$n")' && tls_up ${PORT[$n]}" 200; then
		echo "daemon $n did not start; its log:"
		tail -n 30 "$(dlog "$n")"
		return 1
	fi
}

setup_daemons() {
	local n
	mkdir -p "$WORK/ctl"
	chmod 700 "$WORK/ctl"
	for n in $DAEMONS; do
		PORT[$n]=$(free_port)
		METRICS[$n]=$(free_port)
	done
	for n in $DAEMONS; do
		write_conf "$n"
	done
	for n in $DAEMONS; do
		start_daemon "$n" || return 1
	done
	# The three self-signed certificates are the trust anchors of mbxlogon and mbxbench.
	cat "$(cert SERVER1)" "$(cert SERVER2)" "$(cert SERVER3)" >"$WORK/ca-bundle.pem"
}

stop_daemons() {
	local n
	for n in $DAEMONS; do
		if [ -n "${PID[$n]:-}" ] && kill -0 "${PID[$n]}" 2>/dev/null; then
			kill -TERM "${PID[$n]}" 2>/dev/null
		fi
	done
	for n in $DAEMONS; do
		if [ -n "${PID[$n]:-}" ]; then
			if ! wait_for "! kill -0 ${PID[$n]} 2>/dev/null" 100; then
				kill -KILL "${PID[$n]}" 2>/dev/null
			fi
			wait "${PID[$n]}" 2>/dev/null
		fi
	done
}

# log_mark SERVERn: the number of lines in the daemon's log now; log_since SERVERn MARK: the
# lines written after that mark.
log_mark() { wc -l <"$(dlog "$1")"; }
log_since() { tail -n +"$(($2 + 1))" "$(dlog "$1")"; }
# wait_log SERVERn MARK REGEX [TENTHS]: a line matching REGEX (grep -E) after MARK.
wait_log() {
	local i
	for ((i = 0; i < ${4:-30}; i++)); do
		if log_since "$1" "$2" | grep -Eq -- "$3"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# --- the tools ----------------------------------------------------------------------------

# ctl SERVERn ARGS...: runs mbxctl against that daemon's control socket; sets CTL_OUT (stdout),
# CTL_ERR (stderr) and CTL_RC (exit status).
ctl() {
	local n=$1
	shift
	CTL_OUT=$(timeout 20 "$MBXCTL" -s "$(sock "$n")" "$@" 2>"$WORK/ctl.err")
	CTL_RC=$?
	CTL_ERR=$(cat "$WORK/ctl.err")
}

# mapi SERVERn CMD ARGS...: the raw client (mapi.py), one JSON object per line on stdout.
mapi() {
	local n=$1 cmd=$2
	shift 2
	timeout 60 "$PY" "$SCEN_DIR/mapi.py" "$cmd" --port "${PORT[$n]}" "$@"
}
# logon SERVERn USER ALIAS-OF-PASSWORD ESSDN [USERDN]: one Connect + RopLogon; JSON on stdout.
# With USERDN (the user's own DN), a delegate's logon: OpenFlags with USE_ADMIN_PRIVILEGE.
logon() {
	local extra=()
	[ -n "${5:-}" ] && extra=(--user-dn "$5" --admin)
	mapi "$1" logon --user "$2" --password-file "$(pwfile "$3")" --essdn "$4" "${extra[@]}"
}
# autodiscover SERVERn USER PWALIAS (--email A | --legacy-dn DN)
autodiscover() {
	local n=$1 u=$2 p=$3
	shift 3
	mapi "$n" autodiscover --user "$u" --password-file "$(pwfile "$p")" "$@"
}

# jget JSON KEY: one member of a JSON object ("" for null or absent; nested keys a.b.c;
# numbers in decimal).
jget() {
	"$PY" -c '
import json, sys
try:
    v = json.loads(sys.argv[1])
except ValueError:
    sys.exit(0)
for k in sys.argv[2].split("."):
    if isinstance(v, dict) and k in v:
        v = v[k]
    elif isinstance(v, list) and k.isdigit() and int(k) < len(v):
        v = v[int(k)]
    else:
        v = None
        break
if v is None:
    print("")
elif isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, (dict, list)):
    print(json.dumps(v, sort_keys=True))
else:
    print(v)
' "$1" "$2"
}

# mbxlogon_run ARGS...: runs mbxlogon (tools/mbxlogon) with the scenario's CA bundle; sets
# LOGON_OUT, LOGON_ERR, LOGON_RC.
mbxlogon_run() {
	LOGON_OUT=$(timeout 60 "$MBXLOGON" --ca-file "$WORK/ca-bundle.pem" "$@" 2>"$WORK/mbxlogon.err")
	LOGON_RC=$?
	LOGON_ERR=$(cat "$WORK/mbxlogon.err")
}
ad_url() { echo "https://127.0.0.1:${PORT[$1]}/autodiscover/autodiscover.xml"; }

# metrics SERVERn: the /metrics text.
metrics() {
	curl -s --max-time 5 "http://127.0.0.1:${METRICS[$1]}/metrics"
}

# sanitizer_clean SERVERn: no AddressSanitizer/UBSan report in its log.
sanitizer_clean() {
	! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$(dlog "$1")"
}

# have_piece WHAT: whether a piece other helpers build has landed (for the message of a failing
# check only: a missing piece still fails its checks).
have_piece() {
	case "$1" in
	mbxlogon) [ -x "$MBXLOGON" ] ;;
	control) nm -A "$BUILD/libmbxcore.a" 2>/dev/null | grep -q ' T mbx_control_new$' ;;
	admin) nm -A "$BUILD/libmbxcore.a" 2>/dev/null | grep -q ' T mbx_admin_run$' ;;
	autodiscover) nm -A "$BUILD/libmbxcore.a" 2>/dev/null | grep -q ' T mbx_autodiscover_serve$' ;;
	*) return 1 ;;
	esac
}

# mbxlogon_logged_on JSON SERVERn: mbxlogon's --json document (mbxlogon(1): "hops", "profile",
# "result") says it ended logged on at that server: a profile (null unless logged on), result
# exit_status 0, the profile's mailbox URL on that server's port, and its server DN (when
# given) that server's legacyExchangeDN; with GUID, the profile's MailboxGuid is that.
mbxlogon_logged_on() {
	"$PY" - "$1" "${PORT[$2]}" "$(server_legacy "$2")" "${3:-}" <<'PYEOF'
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    sys.exit(1)
p = d.get("profile")
if not isinstance(p, dict) or (d.get("result") or {}).get("exit_status") != 0:
    sys.exit(1)
if (":%s/" % sys.argv[2]) not in (p.get("mailbox_url") or ""):
    sys.exit(1)
sdn = p.get("server_dn")
if sdn and sdn.lower() != sys.argv[3].lower():
    sys.exit(1)
if sys.argv[4] and (p.get("mailbox_guid") or "").lower() != sys.argv[4].lower():
    sys.exit(1)
PYEOF
}
