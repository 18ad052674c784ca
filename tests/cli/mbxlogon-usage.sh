#!/usr/bin/env bash
# mbxlogon-usage.sh: tests of mbxlogon(1) that need no server: --help and -V, every usage
# error (exit 2, one "mbxlogon: ..." line on stderr), the password sources (missing, unreadable
# or empty file, MBXLOGON_PASSWORD), an unreachable server (exit 6, with the hop line; also as
# --json; the two default Autodiscover URLs of [MS-OXDSCLI] 3.1.5 tried in order), and the
# offline parser of Autodiscover responses (--parse-autodiscover: settings, redirectUrl,
# redirectAddr, Error, and what it refuses: a DOCTYPE, entities, markup in a value, a wrong
# namespace, settings without a mapiHttp URL, over-long values, malformed XML).
#
# usage: mbxlogon-usage.sh BUILD_DIR
set -uo pipefail
export LC_ALL=C

build=${1:?usage: mbxlogon-usage.sh BUILD_DIR}
bin=$build/mbxlogon
if [[ ! -x $bin ]]; then
	echo "FAIL: $bin is not built"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npass=0
nfail=0
pass() {
	npass=$((npass + 1))
	echo "PASS: $*"
}
fail() {
	nfail=$((nfail + 1))
	echo "FAIL: $*"
	if [[ -s $tmp/err ]]; then
		sed -n '1,6s/^/      stderr: /p' "$tmp/err"
	fi
}

# run ARGS...: rc, stdout in $tmp/out, stderr in $tmp/err (no password in the environment
# unless the caller exports one).
run() {
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect_usage TEXT ARGS...: exit 2 and one stderr line holding TEXT (the usage text may
# follow it when the command line names nothing to do).
expect_usage() {
	local want=$1
	shift
	run "$@"
	if [[ $rc -eq 2 ]] && head -n 1 "$tmp/err" | grep -qF -- "mbxlogon: $want" &&
		[[ ! -s $tmp/out ]]; then
		pass "usage: $* -> exit 2, \"$want\""
	else
		fail "usage: $*: exit $rc, stdout $(head -c 200 "$tmp/out")"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- help, version --------------------------------------------------------------------------
run --help
if [[ $rc -eq 0 ]] && grep -q '^usage: mbxlogon \[options\] EMAIL$' "$tmp/out" &&
	grep -q 'Exit status: 0 logged on; 1 logon refused' "$tmp/out" &&
	grep -q '7 authentication failed (HTTP 401)' "$tmp/out" && [[ ! -s $tmp/err ]]; then
	pass "--help: usage and the exit statuses on stdout, exit 0"
else
	fail "--help: exit $rc"
fi
run -V
if [[ $rc -eq 0 ]] && grep -Eq '^mbxlogon [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"; then
	pass "-V prints \"$(cat "$tmp/out")\""
else
	fail "-V: exit $rc, $(cat "$tmp/out")"
fi

# --- usage errors ------------------------------------------------------------------------------
unset MBXLOGON_PASSWORD
run
if [[ $rc -eq 2 ]] && head -n 1 "$tmp/err" | grep -q '^mbxlogon: no EMAIL' &&
	grep -q '^usage: mbxlogon' "$tmp/err"; then
	pass "no arguments: exit 2, the reason, then the usage on stderr"
else
	fail "no arguments: exit $rc"
fi
run --no-such-option alice@contoso.com
if [[ $rc -eq 2 ]] && grep -q '^usage: mbxlogon' "$tmp/err" && [[ ! -s $tmp/out ]]; then
	pass "an unknown option: exit 2, usage on stderr"
else
	fail "unknown option: exit $rc"
fi
expect_usage '"alice" is not an e-mail address' alice
expect_usage '"alice@" is not an e-mail address' alice@
expect_usage 'one EMAIL only' alice@contoso.com bob@contoso.com
expect_usage '--mailbox-url and --legacy-dn go together' --mailbox-url https://h/mapi/emsmdb/
expect_usage '--mailbox-url and --legacy-dn go together' --legacy-dn /o=x/cn=alice alice@x.test
expect_usage '--mailbox-url: "ftp://h/x" is not an http:// or https:// URL' \
	--mailbox-url ftp://h/x --legacy-dn /o=x/cn=a alice@x.test
expect_usage '--autodiscover-url: "autodiscover.xml" is not an http:// or https:// URL' \
	--autodiscover-url autodiscover.xml alice@x.test
expect_usage '--legacy-dn: not printable ASCII' --mailbox-url https://h/ \
	--legacy-dn "$(printf '/o=x/cn=\001')" alice@x.test
expect_usage '--wait-transit: "abc" is not a number from 0 to 86400' --wait-transit abc alice@x.test
expect_usage '--wait-transit: "-1" is not a number' --wait-transit -1 alice@x.test
expect_usage '--wait-transit: "86401" is not a number' --wait-transit 86401 alice@x.test
expect_usage '--max-hops: "0" is not a number from 1 to 1000' --max-hops 0 alice@x.test
expect_usage '--timeout: "5s" is not a number' --timeout 5s alice@x.test
expect_usage '--ca-file and --insecure exclude each other' --ca-file /dev/null -k alice@x.test
expect_usage 'no user name: give --user USER' --mailbox-url https://h/ --legacy-dn /o=x/cn=a
expect_usage '--parse-autodiscover takes no EMAIL' --parse-autodiscover /dev/null alice@x.test

# --- passwords -----------------------------------------------------------------------------------
expect_usage 'no password: give --password-file FILE or set MBXLOGON_PASSWORD' alice@x.test
expect_usage "cannot read the password file $tmp/missing.pw: No such file or directory" \
	--password-file "$tmp/missing.pw" alice@x.test
: >"$tmp/empty.pw"
expect_usage "the password file $tmp/empty.pw is empty" --password-file "$tmp/empty.pw" alice@x.test
if [[ $(id -u) -ne 0 ]]; then
	echo secret >"$tmp/closed.pw"
	chmod 000 "$tmp/closed.pw"
	expect_usage "cannot read the password file $tmp/closed.pw: Permission denied" \
		--password-file "$tmp/closed.pw" alice@x.test
fi
head -c 2000 /dev/zero | tr '\0' x >"$tmp/long.pw"
expect_usage "the password in $tmp/long.pw is longer than 1024 bytes" \
	--password-file "$tmp/long.pw" alice@x.test

# --- an unreachable server: exit 6 ---------------------------------------------------------------
closed=$(free_port) # bound and released: nothing listens there
echo secret >"$tmp/pw"
run --password-file "$tmp/pw" --timeout 5 \
	--autodiscover-url "https://127.0.0.1:$closed/autodiscover/autodiscover.xml" alice@x.test
if [[ $rc -eq 6 ]] &&
	grep -q "^hop 1: autodiscover https://127.0.0.1:$closed/autodiscover/autodiscover.xml alice@x.test -> failed " "$tmp/out" &&
	grep -q '^result: transport failure: Autodiscover at ' "$tmp/out" &&
	[[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -q '^mbxlogon: transport failure: ' "$tmp/err"; then
	pass "Autodiscover at a closed port: hop line, exit 6, one stderr line"
else
	fail "unreachable Autodiscover: exit $rc, $(cat "$tmp/out")"
fi
MBXLOGON_PASSWORD=secret run --mailbox-url "https://127.0.0.1:$closed/mapi/emsmdb/" \
	--legacy-dn /o=x/cn=alice --user alice
if [[ $rc -eq 6 ]] && grep -q "^hop 1: connect https://127.0.0.1:$closed/mapi/emsmdb/ /o=x/cn=alice -> failed Connect: " "$tmp/out"; then
	pass "Connect to a closed port (MBXLOGON_PASSWORD, --user): exit 6"
else
	fail "unreachable mailbox URL: exit $rc, $(cat "$tmp/out")"
fi
MBXLOGON_PASSWORD=secret run --json --mailbox-url "https://127.0.0.1:$closed/mapi/emsmdb/" \
	--legacy-dn /o=x/cn=alice alice@x.test
if [[ $rc -eq 6 ]] && python3 - "$tmp/out" <<'EOF'; then
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"]["exit_status"] == 6, d
assert d["result"]["status"] == "transport failure", d
assert d["profile"] is None, d
assert [h["kind"] for h in d["hops"]] == ["connect"], d
assert d["hops"][0]["result"] == "failed", d
EOF
	pass "--json on a transport failure: one document, exit_status 6, profile null"
else
	fail "--json transport failure: exit $rc, $(head -c 300 "$tmp/out")"
fi
# Without --autodiscover-url: https://DOMAIN/... first, then https://autodiscover.DOMAIN/...
run --password-file "$tmp/pw" --timeout 5 --connect-to "x.test:443:127.0.0.1:$closed" \
	--connect-to "autodiscover.x.test:443:127.0.0.1:$closed" alice@x.test
if [[ $rc -eq 6 ]] &&
	grep -q '^hop 1: autodiscover https://x.test/autodiscover/autodiscover.xml alice@x.test -> failed' "$tmp/out" &&
	grep -q '^hop 2: autodiscover https://autodiscover.x.test/autodiscover/autodiscover.xml alice@x.test -> failed' "$tmp/out"; then
	pass "the two default Autodiscover URLs, in the order of MS-OXDSCLI 3.1.5, then exit 6"
else
	fail "default Autodiscover URLs: exit $rc, $(cat "$tmp/out")"
fi
run --password-file "$tmp/pw" --max-hops 1 --timeout 5 \
	--connect-to "x.test:443:127.0.0.1:$closed" \
	--connect-to "autodiscover.x.test:443:127.0.0.1:$closed" alice@x.test
if [[ $rc -eq 4 ]] && [[ $(grep -c '^hop ' "$tmp/out") -eq 1 ]] &&
	grep -q 'stopped after 1 hops (--max-hops 1)' "$tmp/err"; then
	pass "--max-hops 1: the second candidate URL is not tried, exit 4"
else
	fail "--max-hops 1: exit $rc, $(cat "$tmp/out")"
fi

# --- --parse-autodiscover --------------------------------------------------------------------------
NS='http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006'
NSO='http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'
ad() { # NAME BODY-INSIDE-RESPONSE: writes $tmp/NAME.xml
	printf '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="%s">\n<Response xmlns="%s">%s</Response>\n</Autodiscover>\n' \
		"$NS" "$NSO" "$2" >"$tmp/$1.xml"
}
DN='/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice'
SDN='/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=SERVER1'
USER="<User><DisplayName>Alice &amp; Anders</DisplayName><LegacyDN>$DN</LegacyDN><AutoDiscoverSMTPAddress>alice@contoso.com</AutoDiscoverSMTPAddress><DeploymentId>x</DeploymentId></User>"
EXCH="<Protocol><Type>EXCH</Type><Server>SERVER1</Server><ServerDN>$SDN</ServerDN><MdbDN>$SDN/cn=Microsoft Private MDB</MdbDN></Protocol>"
MAPI='<Protocol Type="mapiHttp" Version="1"><MailStore><InternalUrl> https://in.contoso.com/mapi/emsmdb/?MailboxId=a@contoso.com </InternalUrl><ExternalUrl><![CDATA[https://ex.contoso.com/mapi/emsmdb/?MailboxId=a@contoso.com]]></ExternalUrl></MailStore><AddressBook><InternalUrl>https://in/nspi/</InternalUrl></AddressBook></Protocol>'
ad settings "$USER<Account><AccountType>email</AccountType><Action>settings</Action>$EXCH<Protocol><Type>EXPR</Type><Server>outlook.contoso.com</Server></Protocol>$MAPI</Account>"
run --parse-autodiscover "$tmp/settings.xml"
if [[ $rc -eq 0 ]] && grep -qx 'kind: settings' "$tmp/out" &&
	grep -qx 'display-name: Alice & Anders' "$tmp/out" && grep -qxF "legacy-dn: $DN" "$tmp/out" &&
	grep -qx 'server: SERVER1' "$tmp/out" && grep -qxF "server-dn: $SDN" "$tmp/out" &&
	grep -qx 'internal-url: https://in.contoso.com/mapi/emsmdb/?MailboxId=a@contoso.com' "$tmp/out" &&
	grep -qx 'external-url: https://ex.contoso.com/mapi/emsmdb/?MailboxId=a@contoso.com' "$tmp/out"; then
	pass "settings: User, EXCH, mapiHttp MailStore (blanks trimmed, CDATA, &amp;), EXPR skipped"
else
	fail "settings: exit $rc, $(cat "$tmp/out")"
fi
if "$bin" --json --parse-autodiscover "$tmp/settings.xml" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["kind"] == "settings" and d["mapihttp"] is True and d["mdb_dn"].endswith("Private MDB"), d
'; then
	pass "settings --json parses (python3 json)"
else
	fail "settings --json"
fi
# The Type element form is accepted for mapiHttp too; no User is fine for a redirect.
ad redirurl '<Account><Action>redirectUrl</Action><RedirectUrl>https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml</RedirectUrl></Account>'
run --parse-autodiscover "$tmp/redirurl.xml"
if [[ $rc -eq 0 ]] && grep -qx 'kind: redirectUrl' "$tmp/out" &&
	grep -qx 'redirect: https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml' "$tmp/out"; then
	pass "redirectUrl"
else
	fail "redirectUrl: exit $rc, $(cat "$tmp/out")"
fi
ad rediraddr '<Account><Action>redirectAddr</Action><RedirectAddr>erin@fabrikam.com</RedirectAddr></Account>'
run --parse-autodiscover "$tmp/rediraddr.xml"
if [[ $rc -eq 0 ]] && grep -qx 'kind: redirectAddr' "$tmp/out" &&
	grep -qx 'redirect: erin@fabrikam.com' "$tmp/out"; then
	pass "redirectAddr"
else
	fail "redirectAddr: exit $rc, $(cat "$tmp/out")"
fi
printf '<Autodiscover xmlns="%s"><Response><Error Time="16:56:32.6164027" Id="1054084152"><ErrorCode>500</ErrorCode><Message>The email address can'"'"'t be found.</Message><DebugData /></Error></Response></Autodiscover>' \
	"$NS" >"$tmp/error.xml"
run --parse-autodiscover "$tmp/error.xml"
if [[ $rc -eq 5 ]] && grep -qx 'kind: error' "$tmp/out" && grep -qx 'error-code: 500' "$tmp/out" &&
	grep -qx "message: The email address can't be found." "$tmp/out"; then
	pass "Error 500 (protocol.md 7.6 shape, Response in the root's namespace): exit 5"
else
	fail "error response: exit $rc, $(cat "$tmp/out")"
fi

# refuse NAME REGEX: --parse-autodiscover $tmp/NAME.xml fails with exit 5, nothing on stdout and
# one stderr line matching REGEX (grep -E)
refuse() {
	run --parse-autodiscover "$tmp/$1.xml"
	if [[ $rc -eq 5 ]] && grep -qE -- "$2" "$tmp/err" && [[ ! -s $tmp/out ]] &&
		[[ $(wc -l <"$tmp/err") -eq 1 ]]; then
		pass "refused: $1 ($2)"
	else
		fail "$1: exit $rc, stdout $(head -c 200 "$tmp/out")"
	fi
}
printf '<?xml version="1.0"?>\n<!DOCTYPE Autodiscover [<!ENTITY a "x">]>\n<Autodiscover xmlns="%s"><Response><Error><ErrorCode>500</ErrorCode><Message>&a;</Message></Error></Response></Autodiscover>\n' \
	"$NS" >"$tmp/doctype.xml"
refuse doctype 'the response has a DOCTYPE \(refused\)'
printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<Autodiscover xmlns="%s"><Response><Error><ErrorCode>500</ErrorCode><Message>&x;</Message></Error></Response></Autodiscover>\n' \
	"$NS" >"$tmp/xxe.xml"
refuse xxe 'DOCTYPE'
{
	printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
	for i in 1 2 3 4 5 6 7 8 9; do
		printf '<!ENTITY %s "%s">' "b$i" "$(printf '&%s;' "$([ $i -eq 1 ] && echo a || echo "b$((i - 1))")" | sed 's/.*/&&&&&&&&&&/')"
	done
	printf ']>\n<Autodiscover xmlns="%s"><Response><Error><ErrorCode>1</ErrorCode><Message>&b9;</Message></Error></Response></Autodiscover>\n' "$NS"
} >"$tmp/laughs.xml"
# libxml2 stops the nested entities itself; either way nothing is expanded into a value.
refuse laughs 'DOCTYPE|entity reference loop|amplification'
printf '<Autodiscover xmlns="%s"><Response><Error><ErrorCode>500</ErrorCode><Message>&nbsp;</Message></Error></Response></Autodiscover>' \
	"$NS" >"$tmp/undef.xml"
refuse undef 'not well-formed XML: line 1:'
printf '<Autodiscover xmlns="http://example.com/other"><Response/></Autodiscover>' >"$tmp/ns.xml"
refuse ns "<Autodiscover> is not in the namespace http://schemas"

printf '<Other xmlns="%s"/>' "$NS" >"$tmp/root.xml"
refuse root 'the root element is not <Autodiscover>'
printf '<Autodiscover xmlns="%s"/>' "$NS" >"$tmp/noresp.xml"
refuse noresp '<Autodiscover> has no <Response>'
ad noaction "$USER<Account><AccountType>email</AccountType></Account>"
refuse noaction '<Account> has no <Action>'
ad badaction "$USER<Account><Action>download</Action></Account>"
refuse badaction 'unknown <Action> "download"'
ad nomapi "$USER<Account><Action>settings</Action>$EXCH</Account>"
run --parse-autodiscover "$tmp/nomapi.xml"
if [[ $rc -eq 5 ]] && grep -qx 'mapihttp: no' "$tmp/out" &&
	grep -q 'settings without a mapiHttp MailStore URL' "$tmp/err"; then
	pass "settings without a mapiHttp Protocol: printed, but exit 5 (nothing usable)"
else
	fail "nomapi: exit $rc"
fi
ad nodn "<User><DisplayName>x</DisplayName></User><Account><Action>settings</Action>$MAPI</Account>"
refuse nodn 'settings without a <User><LegacyDN>'
ad markup "<User><DisplayName>x<b>y</b></DisplayName><LegacyDN>$DN</LegacyDN></User><Account><Action>settings</Action>$MAPI</Account>"
refuse markup '<DisplayName> holds markup where text was expected'
ad longdn "<User><LegacyDN>/o=$(head -c 1100 /dev/zero | tr '\0' a)</LegacyDN></User><Account><Action>settings</Action>$MAPI</Account>"
refuse longdn '<LegacyDN> is longer than 1023 bytes'
ad noredirect '<Account><Action>redirectUrl</Action></Account>'
refuse noredirect 'redirectUrl without a <RedirectUrl>'
ad badaddr '<Account><Action>redirectAddr</Action><RedirectAddr>not-an-address</RedirectAddr></Account>'
refuse badaddr '<RedirectAddr> "not-an-address" is not an e-mail address'
printf '<Autodiscover xmlns="%s"><Response><Error><ErrorCode>five</ErrorCode></Error></Response></Autodiscover>' \
	"$NS" >"$tmp/badcode.xml"
refuse badcode '<Error> has no numeric <ErrorCode>'
printf '<html><body>It works!</body>' >"$tmp/html.xml"
refuse html 'not well-formed XML'
: >"$tmp/empty.xml"
refuse empty 'the response body is empty'
# Every prefix of the settings document shorter than its root's end tag fails cleanly.
size=$(wc -c <"$tmp/settings.xml")
bad=0
for ((n = 1; n < size - 20; n += 7)); do
	head -c "$n" "$tmp/settings.xml" >"$tmp/cut.xml"
	"$bin" --parse-autodiscover "$tmp/cut.xml" >/dev/null 2>"$tmp/cut.err"
	r=$?
	if [[ $r -ne 5 ]] || [[ $(wc -l <"$tmp/cut.err") -ne 1 ]]; then
		bad=$((bad + 1))
		echo "      prefix $n: exit $r"
	fi
done
if [[ $bad -eq 0 ]]; then
	pass "truncation sweep of the settings document: every prefix fails with exit 5, one line"
else
	fail "truncation sweep: $bad prefixes misbehaved"
fi
run --parse-autodiscover "$tmp/missing.xml"
if [[ $rc -eq 2 ]] && grep -q "^mbxlogon: cannot read $tmp/missing.xml: No such file" "$tmp/err"; then
	pass "--parse-autodiscover on a missing file: exit 2"
else
	fail "--parse-autodiscover missing file: exit $rc"
fi

echo "mbxlogon-usage: $npass passed, $nfail failed"
[[ $nfail -eq 0 ]]
