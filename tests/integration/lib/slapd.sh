# shellcheck shell=bash
# slapd.sh: sourceable bash functions that run real OpenLDAP slapd instances for integration
# tests (docs/design.md "Directory backends"; docs/directory.md "Loading it into slapd").
# Each instance gets its own directory under one temporary folder, a free loopback port chosen
# at run time, a slapd.conf built from the core, cosine, inetorgperson schemas and
# conf/schema/mbxstore.schema, an mdb database with the syncprov overlay (LDAP Content Sync,
# RFC 4533), and optionally a syncrepl consumer of another instance. Works as root and as a
# normal user; never sleeps blindly, readiness is polled with ldapsearch (bounded).
#
#   . tests/integration/lib/slapd.sh
#   slapd_start contoso dc=contoso,dc=com          # provider; prints nothing, returns 0/1
#   slapd_load contoso conf/directory.ldif          # ldapadd as the rootdn
#   slapd_start_replica contoso2 dc=contoso,dc=com "$(slapd_uri contoso)"
#   slapd_wait_synced contoso2 contoso              # contextCSN equal, bounded
#   slapd_kill contoso; slapd_restart contoso       # SIGKILL, then start again (same port/db)
#   slapd_stop contoso2                              # SIGTERM, wait
#   slapd_start_cnconfig cfg dc=contoso,dc=com      # same, configured via cn=config (-F)
#
# The instance name may be left out of every function but the three start functions; it then
# means the instance started last. On EXIT every instance is killed, the logs of all
# instances are printed (tails) if the shell exits non-zero, and the temporary folder is removed
# (kept when SLAPD_KEEP=1). Set SLAPD_NO_TRAP=1 before sourcing to install your own EXIT trap
# and call slapd_cleanup from it.
#
# Works under set -euo pipefail. Call the start functions in the test's own shell, not in a
# $(...) subshell: the list of instances lives in shell variables.
#
# Environment (all optional): SLAPD_BIN, SLAPD_MODULEDIR (/usr/lib/ldap), SLAPD_SCHEMADIR
# (/etc/ldap/schema), SLAPD_DEBUG (slapd -d level, "stats,sync"), SLAPD_TLS_CERT and
# SLAPD_TLS_KEY (PEM files: enable StartTLS; read when an instance starts, so
# "SLAPD_TLS_CERT=c SLAPD_TLS_KEY=k slapd_start NAME SUFFIX" sets them for one instance),
# SLAPD_READY_TIMEOUT (seconds, 5), SLAPD_ROOTPW, SLAPD_KEEP.
#
# Per instance: rootdn "cn=admin,<suffix>" with password $SLAPD_ROOTPW; the service account
# "cn=mbxstored,cn=Users,<suffix>" (from the loaded LDIF) may read everything, userPassword
# included (so tests can show the ldap backend drops it), with no size/time limit, and write
# the attributes a mailbox move or `mbxctl mailbox associate-self` changes
# ($SLAPD_SVC_WRITE_ATTRS) on user entries only: never userPassword, nothing else, no entry
# added or deleted; users may bind and read everything but passwords. A replica refers writes
# to its provider, whose syncrepl sends them back (the consumer binds as the rootdn).

SLAPD_ROOTPW=${SLAPD_ROOTPW:-slapd-harness-root}
SLAPD_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLAPD_SRCDIR=$(cd "$SLAPD_LIBDIR/../../.." && pwd)
SLAPD_TMP=
SLAPD_INSTANCES=
SLAPD_CURRENT=
SLAPD_READY_TIMEOUT=${SLAPD_READY_TIMEOUT:-5}
# What the service account may write on user entries (the move and associate-self commands).
SLAPD_SVC_WRITE_ATTRS=homeMDB,msExchHomeServerName,msExchMailboxMoveStatus,\
msExchMailboxMoveFlags,msExchMailboxMoveSourceMDBLink,msExchMailboxMoveTargetMDBLink,\
msExchMailboxMoveRemoteHostName,msExchMasterAccountSid,msExchMailboxSecurityDescriptor,\
targetAddress,msExchRecipientTypeDetails

slapd__err() {
	echo "slapd.sh: $*" >&2
}

# slapd__dir NAME: the folder of an instance.
slapd__dir() {
	echo "$SLAPD_TMP/$1"
}

# slapd__name [NAME]: NAME, or the instance started last.
slapd__name() {
	if [ -n "${1:-}" ]; then
		echo "$1"
	elif [ -n "$SLAPD_CURRENT" ]; then
		echo "$SLAPD_CURRENT"
	else
		slapd__err "no slapd instance started"
		return 1
	fi
}

slapd__find_tools() {
	local t
	SLAPD_BIN=${SLAPD_BIN:-$(command -v slapd || true)}
	if [ -z "$SLAPD_BIN" ]; then
		for t in /usr/sbin/slapd /usr/local/sbin/slapd /usr/libexec/slapd; do
			if [ -x "$t" ]; then
				SLAPD_BIN=$t
				break
			fi
		done
	fi
	if [ -z "$SLAPD_BIN" ] || [ ! -x "$SLAPD_BIN" ]; then
		slapd__err "slapd not found (Debian: apt-get install slapd ldap-utils)"
		return 1
	fi
	for t in ldapsearch ldapadd ldapwhoami python3; do
		if ! command -v "$t" >/dev/null; then
			slapd__err "$t not found (Debian: apt-get install ldap-utils python3)"
			return 1
		fi
	done
	if [ -z "${SLAPD_MODULEDIR:-}" ]; then
		for t in /usr/lib/ldap /usr/lib64/openldap /usr/lib/openldap \
			/usr/local/libexec/openldap; do
			if [ -d "$t" ]; then
				SLAPD_MODULEDIR=$t
				break
			fi
		done
	fi
	if [ -z "${SLAPD_SCHEMADIR:-}" ]; then
		for t in /etc/ldap/schema /etc/openldap/schema /usr/local/etc/openldap/schema; do
			if [ -f "$t/core.schema" ]; then
				SLAPD_SCHEMADIR=$t
				break
			fi
		done
	fi
	if [ -z "${SLAPD_SCHEMADIR:-}" ] || [ ! -f "$SLAPD_SCHEMADIR/core.schema" ]; then
		slapd__err "core.schema not found (set SLAPD_SCHEMADIR)"
		return 1
	fi
}

# slapd_init: creates the temporary folder and the EXIT trap (called by slapd_start).
slapd_init() {
	if [ -n "$SLAPD_TMP" ]; then
		return 0
	fi
	slapd__find_tools || return 1
	SLAPD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mbx-slapd.XXXXXX") || return 1
	if [ -z "${SLAPD_NO_TRAP:-}" ]; then
		trap 'slapd_cleanup $?' EXIT
	fi
}

# slapd_free_port: prints a TCP port that is free on 127.0.0.1 right now.
slapd_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# slapd__module NAME: the moduleload line for NAME if the module exists, else nothing.
slapd__module() {
	if [ -n "${SLAPD_MODULEDIR:-}" ] && { [ -e "$SLAPD_MODULEDIR/$1.so" ] ||
		[ -e "$SLAPD_MODULEDIR/$1.la" ]; }; then
		echo "moduleload $1"
	fi
}

# slapd__write_conf NAME SUFFIX [PROVIDER_URI]
slapd__write_conf() {
	local name=$1 suffix=$2 provider=${3:-} dir svc
	dir=$(slapd__dir "$name")
	svc="cn=mbxstored,cn=Users,$suffix"
	{
		echo "# slapd.conf of test instance $name (by tests/integration/lib/slapd.sh)"
		echo "include \"$SLAPD_SCHEMADIR/core.schema\""
		echo "include \"$SLAPD_SCHEMADIR/cosine.schema\""
		echo "include \"$SLAPD_SCHEMADIR/inetorgperson.schema\""
		echo "include \"$SLAPD_SRCDIR/conf/schema/mbxstore.schema\""
		echo "pidfile \"$dir/slapd.pid\""
		echo "argsfile \"$dir/slapd.args\""
		if [ -n "${SLAPD_MODULEDIR:-}" ]; then
			echo "modulepath \"$SLAPD_MODULEDIR\""
		fi
		# Debian builds the backend and overlays as modules; other builds may link them in.
		slapd__module back_mdb
		slapd__module syncprov
		# {SSHA256}/{SSHA512} (contrib module pw-sha2); {SSHA} and {CRYPT} are built in.
		slapd__module pw-sha2
		if [ -n "${SLAPD_TLS_CERT:-}" ]; then
			echo "TLSCertificateFile \"$SLAPD_TLS_CERT\""
			echo "TLSCertificateKeyFile \"$SLAPD_TLS_KEY\""
		fi
		echo "database mdb"
		echo "suffix \"$suffix\""
		echo "rootdn \"cn=admin,$suffix\""
		echo "rootpw \"$SLAPD_ROOTPW\""
		echo "directory \"$dir/db\""
		echo "maxsize 67108864"
		echo "index objectClass,entryCSN,entryUUID eq"
		echo "index legacyExchangeDN,objectSid,msExchMasterAccountSid,msExchMailboxGuid eq"
		echo "index mail,userPrincipalName,sAMAccountName,mailNickname eq"
		echo "index proxyAddresses eq,sub"
		echo "index member,memberOf,homeMDB,msExchOwningServer eq"
		echo "limits dn.exact=\"$svc\" size=unlimited time=unlimited"
		echo "access to attrs=userPassword"
		echo "	by dn.exact=\"$svc\" read"
		echo "	by anonymous auth"
		echo "	by * none"
		echo "access to filter=(objectClass=user) attrs=$SLAPD_SVC_WRITE_ATTRS"
		echo "	by dn.exact=\"$svc\" write"
		echo "	by users read"
		echo "	by * none"
		echo "access to *"
		echo "	by dn.exact=\"$svc\" read"
		echo "	by users read"
		echo "	by * none"
		if [ -n "$provider" ]; then
			# A read-only consumer of the provider (RFC 4533 refreshAndPersist);
			# it binds as the provider's rootdn, so it works before any data is
			# loaded, and retries every second for ever when the provider is gone.
			echo "syncrepl rid=001"
			echo "	provider=$provider"
			echo "	type=refreshAndPersist"
			echo "	retry=\"1 +\""
			echo "	timeout=2 network-timeout=2"
			echo "	searchbase=\"$suffix\""
			echo "	scope=sub"
			echo "	bindmethod=simple"
			echo "	binddn=\"cn=admin,$suffix\""
			echo "	credentials=\"$SLAPD_ROOTPW\""
			echo "updateref $provider"
		fi
		echo "overlay syncprov"
		echo "syncprov-checkpoint 100 1"
		echo "syncprov-sessionlog 1000"
	} >"$dir/slapd.conf"
}

# slapd__write_cnconfig NAME SUFFIX: the same instance as slapd__write_conf without a
# provider, in cn=config form (slapd -F), with the schema from conf/schema/mbxstore.ldif.
slapd__write_cnconfig() {
	local name=$1 suffix=$2 dir svc slapadd m
	dir=$(slapd__dir "$name")
	svc="cn=mbxstored,cn=Users,$suffix"
	slapadd=$(dirname "$SLAPD_BIN")/slapadd
	if [ ! -x "$slapadd" ]; then
		slapadd=$(command -v slapadd || true)
	fi
	if [ -z "$slapadd" ]; then
		slapd__err "slapadd not found"
		return 1
	fi
	for m in core cosine inetorgperson; do
		if [ ! -f "$SLAPD_SCHEMADIR/$m.ldif" ]; then
			slapd__err "$SLAPD_SCHEMADIR/$m.ldif not found"
			return 1
		fi
	done
	{
		echo "dn: cn=config"
		echo "objectClass: olcGlobal"
		echo "cn: config"
		echo "olcPidFile: $dir/slapd.pid"
		echo "olcArgsFile: $dir/slapd.args"
		if [ -n "${SLAPD_TLS_CERT:-}" ]; then
			echo "olcTLSCertificateFile: $SLAPD_TLS_CERT"
			echo "olcTLSCertificateKeyFile: $SLAPD_TLS_KEY"
		fi
		echo
		echo "dn: cn=module{0},cn=config"
		echo "objectClass: olcModuleList"
		echo "cn: module{0}"
		if [ -n "${SLAPD_MODULEDIR:-}" ]; then
			echo "olcModulePath: $SLAPD_MODULEDIR"
		fi
		for m in back_mdb syncprov pw-sha2; do
			slapd__module "$m" | sed 's/^moduleload /olcModuleLoad: /'
		done
		echo
		echo "dn: cn=schema,cn=config"
		echo "objectClass: olcSchemaConfig"
		echo "cn: schema"
		echo
		for m in core cosine inetorgperson; do
			echo "include: file://$SLAPD_SCHEMADIR/$m.ldif"
			echo
		done
		echo "include: file://$SLAPD_SRCDIR/conf/schema/mbxstore.ldif"
		echo
		echo "dn: olcDatabase={-1}frontend,cn=config"
		echo "objectClass: olcDatabaseConfig"
		echo "objectClass: olcFrontendConfig"
		echo "olcDatabase: {-1}frontend"
		echo
		echo "dn: olcDatabase={0}config,cn=config"
		echo "objectClass: olcDatabaseConfig"
		echo "olcDatabase: {0}config"
		echo "olcRootDN: cn=admin,cn=config"
		echo "olcRootPW: $SLAPD_ROOTPW"
		echo
		echo "dn: olcDatabase={1}mdb,cn=config"
		echo "objectClass: olcDatabaseConfig"
		echo "objectClass: olcMdbConfig"
		echo "olcDatabase: {1}mdb"
		echo "olcSuffix: $suffix"
		echo "olcRootDN: cn=admin,$suffix"
		echo "olcRootPW: $SLAPD_ROOTPW"
		echo "olcDbDirectory: $dir/db"
		echo "olcDbMaxSize: 67108864"
		echo "olcDbIndex: objectClass,entryCSN,entryUUID eq"
		echo "olcDbIndex: legacyExchangeDN,objectSid eq"
		echo "olcDbIndex: msExchMasterAccountSid,msExchMailboxGuid eq"
		echo "olcDbIndex: mail,userPrincipalName,sAMAccountName,mailNickname eq"
		echo "olcDbIndex: proxyAddresses eq,sub"
		echo "olcDbIndex: member,memberOf,homeMDB,msExchOwningServer eq"
		echo "olcLimits: dn.exact=\"$svc\" size=unlimited time=unlimited"
		echo "olcAccess: {0}to attrs=userPassword by dn.exact=\"$svc\" read"
		echo "  by anonymous auth by * none"
		echo "olcAccess: {1}to filter=(objectClass=user) attrs=$SLAPD_SVC_WRITE_ATTRS"
		echo "  by dn.exact=\"$svc\" write by users read by * none"
		echo "olcAccess: {2}to * by dn.exact=\"$svc\" read by users read by * none"
		echo
		echo "dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config"
		echo "objectClass: olcOverlayConfig"
		echo "objectClass: olcSyncProvConfig"
		echo "olcOverlay: {0}syncprov"
		echo "olcSpCheckpoint: 100 1"
		echo "olcSpSessionlog: 1000"
	} >"$dir/config.ldif"
	mkdir -p "$dir/slapd.d" || return 1
	if ! "$slapadd" -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >>"$dir/log" 2>&1; then
		slapd__err "slapadd of the cn=config of $name failed:"
		tail -n 20 "$dir/log" >&2
		return 1
	fi
}

# slapd__ping URI: 0 when the server answers a root DSE search.
slapd__ping() {
	ldapsearch -x -H "$1" -o nettimeout=1 -l 1 -b "" -s base "(objectClass=*)" namingContexts \
		>/dev/null 2>&1
}

# slapd__launch NAME: starts slapd for an existing instance folder and waits until it answers.
# Returns 2 when the port was taken (the caller may pick another), 1 on other failures.
slapd__launch() {
	local name=$1 dir uri pid i deadline
	dir=$(slapd__dir "$name")
	uri=$(cat "$dir/uri")
	echo "=== start $(date '+%H:%M:%S') $uri" >>"$dir/log"
	if [ -d "$dir/slapd.d" ]; then
		set -- -F "$dir/slapd.d"
	else
		set -- -f "$dir/slapd.conf"
	fi
	"$SLAPD_BIN" -h "$uri" "$@" -d "${SLAPD_DEBUG:-stats,sync}" >>"$dir/log" 2>&1 </dev/null &
	pid=$!
	# Not a job of this shell: bash still reaps it, but prints no "Killed" notices.
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$dir/pid"
	# Bounded readiness poll: about SLAPD_READY_TIMEOUT seconds in 50 ms steps.
	deadline=$((SLAPD_READY_TIMEOUT * 20))
	for ((i = 0; i < deadline; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$dir/pid"
			if grep -q "Address already in use" "$dir/log"; then
				return 2
			fi
			slapd__err "slapd $name exited during start-up; its log:"
			tail -n 50 "$dir/log" >&2
			return 1
		fi
		if slapd__ping "$uri"; then
			return 0
		fi
		sleep 0.05
	done
	slapd__err "slapd $name did not answer within ${SLAPD_READY_TIMEOUT}s; its log:"
	tail -n 50 "$dir/log" >&2
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/pid"
	return 1
}

# slapd__start NAME SUFFIX [PROVIDER_URI|--cn-config]
slapd__start() {
	local name=$1 suffix=$2 provider=${3:-} dir try rc port
	if [ -z "$name" ] || [ -z "$suffix" ]; then
		slapd__err "usage: slapd_start NAME SUFFIX"
		return 1
	fi
	slapd_init || return 1
	dir=$(slapd__dir "$name")
	if [ -e "$dir" ]; then
		slapd__err "instance $name exists already"
		return 1
	fi
	mkdir -p "$dir/db" || return 1
	echo "$suffix" >"$dir/suffix"
	SLAPD_INSTANCES="$SLAPD_INSTANCES $name"
	if [ "$provider" = --cn-config ]; then
		slapd__write_cnconfig "$name" "$suffix" || return 1
	else
		slapd__write_conf "$name" "$suffix" "$provider"
	fi
	SLAPD_CURRENT=$name
	for try in 1 2 3; do
		port=$(slapd_free_port) || return 1
		echo "ldap://127.0.0.1:$port/" >"$dir/uri"
		rc=0
		slapd__launch "$name" || rc=$?
		if [ "$rc" -ne 2 ]; then
			return "$rc"
		fi
		slapd__err "port $port was taken, trying another (attempt $try)"
	done
	return 1
}

# slapd_start NAME SUFFIX: a provider instance (with syncprov) for SUFFIX.
slapd_start() {
	slapd__start "${1:-}" "${2:-}"
}

# slapd_start_replica NAME SUFFIX PROVIDER_URI: a syncrepl consumer of PROVIDER_URI (which
# also runs syncprov, so clients may sync from it; writes get a referral to the provider).
slapd_start_replica() {
	if [ -z "${3:-}" ]; then
		slapd__err "usage: slapd_start_replica NAME SUFFIX PROVIDER_URI"
		return 1
	fi
	slapd__start "$1" "$2" "$3"
}

# slapd_start_cnconfig NAME SUFFIX: like slapd_start, but configured through cn=config
# (slapd -F) with the schema loaded from conf/schema/mbxstore.ldif; the config database has
# rootdn "cn=admin,cn=config" with password $SLAPD_ROOTPW.
slapd_start_cnconfig() {
	slapd__start "${1:-}" "${2:-}" --cn-config
}

# slapd_uri [NAME], slapd_suffix [NAME], slapd_rootdn [NAME], slapd_pid [NAME], slapd_dir [NAME]
slapd_uri() {
	local n
	n=$(slapd__name "${1:-}") && cat "$(slapd__dir "$n")/uri"
}

slapd_suffix() {
	local n
	n=$(slapd__name "${1:-}") && cat "$(slapd__dir "$n")/suffix"
}

slapd_rootdn() {
	local s
	s=$(slapd_suffix "${1:-}") && echo "cn=admin,$s"
}

slapd_pid() {
	local n
	n=$(slapd__name "${1:-}") && cat "$(slapd__dir "$n")/pid" 2>/dev/null
}

slapd_dir() {
	local n
	n=$(slapd__name "${1:-}") && slapd__dir "$n"
}

# slapd_load [NAME] FILE: adds the entries of an LDIF file as the rootdn.
slapd_load() {
	local name file out
	if [ $# -ge 2 ]; then
		name=$1
		file=$2
	else
		name=
		file=${1:-}
	fi
	name=$(slapd__name "$name") || return 1
	if [ ! -r "$file" ]; then
		slapd__err "slapd_load: cannot read $file"
		return 1
	fi
	if ! out=$(ldapadd -x -H "$(slapd_uri "$name")" -D "$(slapd_rootdn "$name")" \
		-w "$SLAPD_ROOTPW" -f "$file" 2>&1); then
		slapd__err "slapd_load $name $file failed:"
		echo "$out" | tail -n 20 >&2
		return 1
	fi
}

# slapd_search NAME [ldapsearch arguments...]: ldapsearch as the rootdn under the suffix,
# LDIF without wrapping or comments.
slapd_search() {
	local name
	name=$(slapd__name "${1:-}") || return 1
	shift
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(slapd_uri "$name")" -D "$(slapd_rootdn "$name")" \
		-w "$SLAPD_ROOTPW" -b "$(slapd_suffix "$name")" "$@"
}

# slapd__signal NAME SIGNAL: sends SIGNAL, waits (bounded) for the process to end.
slapd__signal() {
	local name sig=$2 dir pid i
	name=$(slapd__name "${1:-}") || return 1
	dir=$(slapd__dir "$name")
	pid=$(cat "$dir/pid" 2>/dev/null) || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		slapd__err "slapd $name ignored SIG$sig for 5s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 40; i++)); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			sleep 0.05
		done
	fi
	rm -f "$dir/pid"
	echo "=== stopped (SIG$sig) $(date '+%H:%M:%S')" >>"$dir/log"
	return 0
}

# slapd_stop [NAME]: clean shutdown (SIGTERM); the database and the port are kept.
slapd_stop() {
	slapd__signal "${1:-}" TERM
}

# slapd_kill [NAME]: crash (SIGKILL); the database and the port are kept.
slapd_kill() {
	slapd__signal "${1:-}" KILL
}

# slapd_restart [NAME]: starts a stopped or killed instance again on the same port and data.
slapd_restart() {
	local name
	name=$(slapd__name "${1:-}") || return 1
	if [ -e "$(slapd__dir "$name")/pid" ]; then
		slapd_stop "$name"
	fi
	slapd__launch "$name"
}

# slapd_context_csn [NAME]: the contextCSN values of the suffix entry, sorted, one per line.
slapd_context_csn() {
	local name
	name=$(slapd__name "${1:-}") || return 1
	{ ldapsearch -x -LLL -o ldif-wrap=no -o nettimeout=2 -H "$(slapd_uri "$name")" \
		-D "$(slapd_rootdn "$name")" -w "$SLAPD_ROOTPW" -b "$(slapd_suffix "$name")" \
		-s base "(objectClass=*)" contextCSN 2>/dev/null || true; } |
		sed -n 's/^contextCSN: //p' | sort
}

# slapd_wait_synced REPLICA PROVIDER [SECONDS]: waits until both have the same non-empty
# contextCSN (default at most 10 s). Returns 1 on timeout.
slapd_wait_synced() {
	local replica=$1 provider=$2 secs=${3:-10} i a b
	for ((i = 0; i < secs * 20; i++)); do
		a=$(slapd_context_csn "$provider")
		b=$(slapd_context_csn "$replica")
		if [ -n "$a" ] && [ "$a" = "$b" ]; then
			return 0
		fi
		sleep 0.05
	done
	slapd__err "replica $replica not in sync with $provider after ${secs}s" \
		"(provider: ${a:-none}, replica: ${b:-none})"
	return 1
}

# slapd_log [NAME]: prints the log of an instance.
slapd_log() {
	local name
	name=$(slapd__name "${1:-}") || return 1
	cat "$(slapd__dir "$name")/log" 2>/dev/null
}

# slapd_cleanup [STATUS]: kills every instance; with a non-zero STATUS prints their logs
# (last 100 lines each); removes the temporary folder unless SLAPD_KEEP=1.
slapd_cleanup() {
	local status=${1:-0} n
	if [ -z "$SLAPD_TMP" ]; then
		return 0
	fi
	for n in $SLAPD_INSTANCES; do
		slapd__signal "$n" KILL >/dev/null 2>&1 || true
	done
	if [ "$status" -ne 0 ]; then
		for n in $SLAPD_INSTANCES; do
			echo "----- slapd $n log (last 100 lines) -----" >&2
			tail -n 100 "$(slapd__dir "$n")/log" >&2 2>/dev/null || true
		done
	fi
	if [ "${SLAPD_KEEP:-0}" = 1 ]; then
		slapd__err "kept $SLAPD_TMP"
	else
		rm -rf "$SLAPD_TMP" || true
	fi
	SLAPD_TMP=
	SLAPD_INSTANCES=
	SLAPD_CURRENT=
}
