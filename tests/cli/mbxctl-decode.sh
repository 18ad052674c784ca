#!/usr/bin/env bash
# mbxctl-decode.sh: end-to-end tests of `mbxctl decode` (mbxctl(8)): the two Outlook 2007
# EcDoRpcExt2 vectors of protocol.md 9.1 in stub and rgbIn form, hand-built RopLogon
# requests and all four RopLogon response layouts (tests/cli/data/decode, made by
# make-fixtures.py), --payload, --json, ROPs of unknown layout, bad input (exit 1, one stderr
# line naming the offset) and usage errors (exit 2).
#
# usage: mbxctl-decode.sh BUILD_DIR   (MBX_VECTORS: the test-vector folder; MBX_SRCDIR: the
# checkout, else found from this script's path)
set -euo pipefail

build=${1:?usage: mbxctl-decode.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MBX_SRCDIR:-$(cd "$here/../.." && pwd)}
data=$src/tests/cli/data/decode
vectors=${MBX_VECTORS:-$src/../shared/test-vectors}
oc=$vectors/openchange-lzxpress
v001=$oc/001_Outlook_2007_in_ModifyRecipients
v002=$oc/002_Outlook_2007_in_Tables_operations

mbxctl=
for cand in "$build/mbxctl" "$build/tools/mbxctl/mbxctl" "$build/bin/mbxctl"; do
	if [[ -x $cand ]]; then
		mbxctl=$cand
		break
	fi
done
if [[ -z $mbxctl ]]; then
	echo "FAIL: no mbxctl binary under $build"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

pass() {
	count=$((count + 1))
	echo "PASS: $1"
}

fail() {
	count=$((count + 1))
	failures=$((failures + 1))
	echo "FAIL: $1"
	shift
	for line in "$@"; do
		echo "      $line"
	done
	if [[ -s $tmp/err ]]; then
		echo "      stderr:"
		sed -n '1,10s/^/        /p' "$tmp/err"
	fi
}

# Runs mbxctl with the arguments; sets rc, stdout in $tmp/out, stderr in $tmp/err.
run() {
	set +e
	"$mbxctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}

# Same, with standard input from a file.
run_stdin() {
	local input=$1
	shift
	set +e
	"$mbxctl" "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}

# expect_ok NAME FIXED-STRING... : exit 0, nothing on stderr, every string in stdout.
expect_ok() {
	local name=$1 missing=()
	shift
	if [[ $rc -ne 0 ]]; then
		fail "$name" "exit status $rc, expected 0"
		return
	fi
	if [[ -s $tmp/err ]]; then
		fail "$name" "unexpected output on stderr"
		return
	fi
	for want in "$@"; do
		if ! grep -qF -- "$want" "$tmp/out"; then
			missing+=("missing in stdout: $want")
		fi
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		fail "$name" "${missing[@]}"
		return
	fi
	pass "$name"
}

# expect_bad NAME [SUBSTRING]: exit 1, empty stdout, exactly one stderr line that has the
# "mbxctl: decode: offset 0x.. (N): " form (and SUBSTRING if given).
expect_bad() {
	local name=$1 want=${2:-}
	local lines
	lines=$(wc -l <"$tmp/err")
	if [[ $rc -ne 1 ]]; then
		fail "$name" "exit status $rc, expected 1"
	elif [[ -s $tmp/out ]]; then
		fail "$name" "stdout is not empty"
	elif [[ $lines -ne 1 ]]; then
		fail "$name" "$lines lines on stderr, expected 1"
	elif ! grep -qE '^mbxctl: decode: offset 0x[0-9a-f]+ \([0-9]+\): .+' "$tmp/err"; then
		fail "$name" "stderr line is not 'mbxctl: decode: offset 0x.. (N): ...'"
	elif [[ -n $want ]] && ! grep -qF -- "$want" "$tmp/err"; then
		fail "$name" "stderr lacks: $want"
	else
		pass "$name"
	fi
}

# expect_usage NAME: exit 2.
expect_usage() {
	if [[ $rc -ne 2 ]]; then
		fail "$1" "exit status $rc, expected 2"
	elif [[ ! -s $tmp/err ]]; then
		fail "$1" "no message on stderr"
	else
		pass "$1"
	fi
}

# expect_json NAME PYTHON-ASSERTIONS: stdout parses with python3 -m json.tool and the
# assertions (on d, the document) hold.
expect_json() {
	local name=$1 code=$2
	if [[ $rc -ne 0 ]]; then
		fail "$name" "exit status $rc, expected 0"
		return
	fi
	if ! python3 -m json.tool "$tmp/out" >/dev/null 2>"$tmp/jerr"; then
		fail "$name" "not valid JSON: $(head -1 "$tmp/jerr")"
		return
	fi
	if ! python3 - "$tmp/out" >"$tmp/jerr" 2>&1 <<EOF; then
import json, sys
d = json.load(open(sys.argv[1]))
$code
EOF
		fail "$name" "JSON assertion failed: $(tail -1 "$tmp/jerr")"
		return
	fi
	pass "$name"
}

# hex2bin HEXFILE BINFILE
hex2bin() {
	python3 -c 'import sys; open(sys.argv[2], "wb").write(bytes.fromhex(open(sys.argv[1]).read()))' \
		"$1" "$2"
}

h002='[0x00000075, 0xFFFFFFFF, 0x00000071, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF]'

# --- the Outlook 2007 vectors --------------------------------------------------------------

run decode "${v001}_comp.dat"
expect_ok "001 stub: ROP names and handle table" "EcDoRpcExt2 request stub (detected)" \
	"RopRemoveAllRecipients (0x0D)" "RopModifyRecipients (0x0E)" "RopSize: 455 (0x01C7)" \
	"handle table (1): [0x00000045]" "Flags 0x0005 (Compressed|Last), Size 325, SizeActual 459" \
	"pulFlags: 0x00000000" "cbIn 333 (0x14D)" "pcbOut: 32775 (0x8007)" \
	"cbAuxIn 48 (0x30)" "pcbAuxOut: 136 (0x88)" \
	"Flags 0x0006 (XorMagic|Last), Size 40, SizeActual 40" \
	"Type 0x01 AUX_TYPE_PERF_REQUESTID: SessionID 1, RequestID 163" \
	"GUID d0a05627-1e72-480c-b85a-274429fd403f"

run decode "${v001}.rgbIn.bin"
expect_ok "001 rgbIn: ROP names and handle table" "extended buffers (detected)" \
	"RopRemoveAllRecipients (0x0D)" "RopModifyRecipients (0x0E)" \
	"handle table (1): [0x00000045]" "payload: 459 bytes"

run decode "${v002}_comp.dat"
expect_ok "002 stub: ROP names and handle table" "EcDoRpcExt2 request stub (detected)" \
	"RopGetContentsTable (0x05)" \
	"RopSetColumns (0x12)" "handle table (6): $h002" "Type 0x01 AUX_TYPE_PERF_REQUESTID: SessionID 1, RequestID 28"

run decode --format rhe "${v002}.rgbIn.bin"
expect_ok "002 rgbIn (forced): ROP names and handle table" "RopGetContentsTable (0x05)" \
	"RopSetColumns (0x12)" "handle table (6): $h002" "RopSize: 356 (0x0164)"

run decode --payload "$tmp/p001.bin" "${v001}_comp.dat"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/p001.bin" "${v001}.payload_decompressed.bin"; then
	pass "001 stub --payload equals payload_decompressed.bin"
else
	fail "001 stub --payload equals payload_decompressed.bin" "rc $rc or bytes differ"
fi

run decode --payload "$tmp/p001r.bin" "${v001}.rgbIn.bin"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/p001r.bin" "${v001}.payload_decompressed.bin"; then
	pass "001 rgbIn --payload equals payload_decompressed.bin"
else
	fail "001 rgbIn --payload equals payload_decompressed.bin" "rc $rc or bytes differ"
fi

for form in _comp.dat .rgbIn.bin; do
	run decode --payload "$tmp/p002.bin" "${v002}${form}"
	sum=$(sha256sum "$tmp/p002.bin" | cut -d' ' -f1)
	if [[ $rc -eq 0 && $sum == 17e511fe555d1576789cc8d58e1b89f328f0784f092ddbef8ca8daa1dc265ec1 ]]; then
		pass "002 $form --payload sha256"
	else
		fail "002 $form --payload sha256" "rc $rc, sha256 $sum"
	fi
done

run decode --payload - "${v001}_comp.dat"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/out" "${v001}.payload_decompressed.bin"; then
	pass "001 --payload - writes the payload (only) to stdout"
else
	fail "001 --payload - writes the payload (only) to stdout" "rc $rc or bytes differ"
fi

# the same vector as hex text on standard input (xxd -p style lines, no 0x)
od -An -v -tx1 "${v001}_comp.dat" >"$tmp/v001.hex"
run_stdin "$tmp/v001.hex" decode --hex -
expect_ok "001 stub as hex text on stdin" "RopModifyRecipients (0x0E)" \
	"handle table (1): [0x00000045]"

run decode --json "${v001}_comp.dat"
expect_json "001 stub --json" '
assert d["format"] == "stub" and d["format_detected"] is True and d["direction"] == "request"
s = d["stub"]
assert s["cbIn"] == 333 and s["pcbOut"] == 0x8007 and s["cbAuxIn"] == 48 and s["pcbAuxOut"] == 0x88
assert s["pulFlags"] == 0 and s["cxh_guid"] == "d0a05627-1e72-480c-b85a-274429fd403f"
a = s["aux"]
assert a["flags_names"] == "XorMagic|Last" and a["size"] == 40
assert [b["type"] for b in a["blocks"]] == [1, 12, 12]
assert a["blocks"][0]["type_name"] == "AUX_TYPE_PERF_REQUESTID" and a["blocks"][0]["request_id"] == 163
(b,) = d["buffers"]
assert b["flags"] == 5 and b["flags_names"] == "Compressed|Last"
assert b["size"] == 325 and b["size_actual"] == 459 and b["payload_size"] == 459
assert b["rop_size"] == 0x1C7 and b["handles"] == ["0x00000045"]
names = [r["name"] for r in b["rops"]]
assert names[:2] == ["RopRemoveAllRecipients", "RopModifyRecipients"], names
r0 = b["rops"][0]
assert r0["rop_id"] == 0x0D and r0["logon_id"] == 0 and r0["input_handle_index"] == 0
assert r0["raw"] == "0d000001000000" and r0["length"] == 7
assert d["payload_size"] == 459
'

run decode --json "${v002}.rgbIn.bin"
expect_json "002 rgbIn --json" '
assert d["format"] == "rhe" and "stub" not in d
(b,) = d["buffers"]
assert b["handles"] == ["0x00000075", "0xFFFFFFFF", "0x00000071", "0xFFFFFFFF", "0xFFFFFFFF", "0xFFFFFFFF"]
names = [r["name"] for r in b["rops"]]
assert names[:2] == ["RopGetContentsTable", "RopSetColumns"], names
assert b["rops"][0]["raw"] == "0500000102"
assert b["rops"][1]["input_handle_index"] == 1
'

# --- RopLogon requests ---------------------------------------------------------------------

essdn='"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"'
logon_req_fields=("RopLogon (0xFE) LogonId 0, OutputHandleIndex 0, 99 bytes"
	"LogonFlags: 0x01 (Private)"
	"OpenFlags: 0x0100000C (HOME_LOGON|TAKE_OWNERSHIP|USE_PER_MDB_REPLID_MAPPING)"
	"StoreState: 0x00000000" "EssdnSize: 85" "Essdn: $essdn"
	"handle table (1): [0xFFFFFFFF]" "RopSize: 101 (0x0065)")

run decode --hex "$data/logon-req.hex"
expect_ok "RopLogon request (protocol.md 1.4) by hex" "${logon_req_fields[@]}" \
	"Flags 0x0004 (Last), Size 105, SizeActual 105"

run_stdin "$data/logon-req.hex" decode --hex -
expect_ok "RopLogon request by hex on stdin" "${logon_req_fields[@]}"

run decode --hex --payload "$tmp/logon.bin" "$data/logon-req.hex"
hex2bin "$data/logon-req.hex" "$tmp/logon-req.bin"
tail -c +9 "$tmp/logon-req.bin" >"$tmp/logon-want.bin"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/logon.bin" "$tmp/logon-want.bin"; then
	pass "RopLogon request --payload is the bytes after the header"
else
	fail "RopLogon request --payload is the bytes after the header" "rc $rc or bytes differ"
fi

run decode --hex "$data/logon-stub.hex"
expect_ok "RopLogon request in a stub, XORed, with aux" "${logon_req_fields[@]}" \
	"pulFlags: 0x00000003 (NoCompression|NoXorMagic)" \
	"Flags 0x0006 (XorMagic|Last), Size 105, SizeActual 105" \
	"Type 0x01 AUX_TYPE_PERF_REQUESTID: SessionID 1, RequestID 7" \
	"Type 0x4A AUX_TYPE_CLIENT_CONNECTION_INFO"

run decode --hex --json "$data/logon-req.hex"
expect_json "RopLogon request --json" '
(r,) = d["buffers"][0]["rops"]
assert r["name"] == "RopLogon" and r["rop_id"] == 254 and r["output_handle_index"] == 0
assert r["input_handle_index"] is None
l = r["logon"]
assert l["logon_flags"] == 1 and l["logon_flags_names"] == "Private"
assert l["open_flags"] == 0x0100000C
assert l["open_flags_names"] == "HOME_LOGON|TAKE_OWNERSHIP|USE_PER_MDB_REPLID_MAPPING"
assert l["store_state"] == 0 and l["essdn_size"] == 85
assert l["essdn"] == "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
assert d["buffers"][0]["handles"] == ["0xFFFFFFFF"]
'

run decode --hex "$data/logon-req-escapes.hex"
expect_ok "Essdn bytes escaped in the text report" 'Essdn: "/o=T\x01\"\\\xff\xc3\xa9\x7f"' "EssdnSize: 12"

run decode --hex --json "$data/logon-req-escapes.hex"
expect_json "Essdn bytes escaped in JSON (bad UTF-8 -> U+FFFD)" '
l = d["buffers"][0]["rops"][0]["logon"]
assert l["essdn"] == "/o=T\x01\"\\\ufffd\u00e9\x7f", repr(l["essdn"])
assert l["essdn_size"] == 12
'
if grep -qF '"essdn": "/o=T\u0001\"\\\ufffdé\u007f"' "$tmp/out"; then
	pass "JSON escapes are \uXXXX for control bytes"
else
	fail "JSON escapes are \uXXXX for control bytes"
fi

# --- RopLogon responses --------------------------------------------------------------------

run decode --response --hex "$data/logon-resp-private.hex"
expect_ok "RopLogon private success response" \
	"RopLogon (0xFE) OutputHandleIndex 0, ReturnValue 0x00000000 ecNone, 166 bytes" \
	"layout: private" "LogonFlags: 0x01 (Private)" \
	"Root                             ReplId 0x0001, GLOBCNT 0x000000000001 (0x0100000000000001)" \
	"Inbox                            ReplId 0x0001, GLOBCNT 0x00000000000D" \
	"Shortcuts                        ReplId 0x0001, GLOBCNT 0x000000000004" \
	"ResponseFlags: 0x07 (Reserved|OwnerRight|SendAsRight)" \
	"MailboxGuid: 12345678-1234-5678-9abc-def012345678" "ReplId: 0x0005" \
	"ReplGuid: deadbeef-dead-beef-0102-030405060708" \
	"LogonTime: 2024-03-05 14:07:09 (Tuesday)" \
	"GwartTime: 0x01DA6F06696BA480 (2024-03-05 14:07:09.0000000 UTC)" \
	"StoreState: 0x00000000" "handle table (1): [0x00000101]"

run decode --response --hex "$data/logon-resp-public.hex"
expect_ok "RopLogon public success response (0x-prefixed hex)" \
	"RopLogon (0xFE) OutputHandleIndex 1, ReturnValue 0x00000000 ecNone, 145 bytes" \
	"layout: public" "LogonFlags: 0x00 (0)" "Public Root" "Non-IPM Subtree" \
	"ReplId: 0x0001" "ReplGuid: deadbeef-dead-beef-0102-030405060708" \
	"PerUserGuid: 00000000-0000-0000-0000-000000000000" \
	"handle table (2): [0xFFFFFFFF, 0x00000202]"

run decode --response --hex "$data/logon-resp-redirect.hex"
expect_ok "RopLogon ecWrongServer redirect response" \
	"ReturnValue 0x00000478 ecWrongServer" "layout: redirect" "LogonFlags: 0x01 (Private)" \
	"ServerNameSize: 101" \
	'ServerName: "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=EXMBX02"'

run decode --response --hex "$data/logon-resp-failure.hex"
expect_ok "RopLogon failure response" \
	"RopLogon (0xFE) OutputHandleIndex 0, ReturnValue 0x0000050C ecMailboxInTransit, 6 bytes" \
	"layout: failure" "handle table (1): [0xFFFFFFFF]"

run decode --response --hex "$data/two-buffers-resp.hex"
expect_ok "two extended buffers (first without Last, second XORed)" \
	"extended buffer 1 at 0x0: Version 0x0000, Flags 0x0000 (none)" \
	"extended buffer 2 at 0x14: Version 0x0000, Flags 0x0006 (XorMagic|Last)" \
	"ecMailboxInTransit" "ecWrongServer" "payload total: 127 bytes in 2 extended buffers"

run decode --response --hex --json "$data/logon-resp-private.hex"
expect_json "RopLogon private response --json" '
assert d["direction"] == "response"
(r,) = d["buffers"][0]["rops"]
assert r["return_value"] == 0 and r["return_value_name"] == "ecNone" and r["handle_index"] == 0
l = r["logon"]
assert l["kind"] == "private" and l["logon_flags"] == 1
assert len(l["folder_ids"]) == 13
assert l["folder_ids"][0] == {"folder": "Root", "replid": 1, "globcnt": "0x000000000001", "fid": "0x0100000000000001"}
assert l["folder_ids"][4]["folder"] == "Inbox" and l["folder_ids"][4]["globcnt"] == "0x00000000000D"
assert l["response_flags"] == 7 and l["response_flags_names"] == "Reserved|OwnerRight|SendAsRight"
assert l["mailbox_guid"] == "12345678-1234-5678-9abc-def012345678"
assert l["replid"] == 5 and l["repl_guid"] == "deadbeef-dead-beef-0102-030405060708"
assert l["logon_time"] == {"year": 2024, "month": 3, "day": 5, "hour": 14, "minute": 7, "second": 9, "day_of_week": 2, "day_of_week_name": "Tuesday"}
assert l["gwart_time"] == "0x01DA6F06696BA480"
assert l["gwart_time_utc"] == "2024-03-05 14:07:09.0000000 UTC"
assert l["store_state"] == 0
assert d["buffers"][0]["handles"] == ["0x00000101"]
'

run decode --response --hex --json "$data/logon-resp-public.hex"
expect_json "RopLogon public response --json" '
l = d["buffers"][0]["rops"][0]["logon"]
assert l["kind"] == "public" and l["replid"] == 1
assert l["per_user_guid"] == "00000000-0000-0000-0000-000000000000"
assert l["folder_ids"][0]["folder"] == "Public Root" and "mailbox_guid" not in l
'

run decode --response --hex --json "$data/logon-resp-redirect.hex"
expect_json "RopLogon redirect response --json" '
r = d["buffers"][0]["rops"][0]
assert r["return_value"] == 0x478 and r["return_value_name"] == "ecWrongServer"
l = r["logon"]
assert l["kind"] == "redirect" and l["server_name_size"] == 101
assert l["server_name"].endswith("/cn=Configuration/cn=Servers/cn=EXMBX02")
'

run decode --response --hex --json "$data/logon-resp-failure.hex"
expect_json "RopLogon failure response --json" '
r = d["buffers"][0]["rops"][0]
assert r["return_value"] == 0x50C and r["return_value_name"] == "ecMailboxInTransit"
assert r["logon"] == {"kind": "failure"} and r["raw"] == "fe000c050000"
'

run decode --response --hex "$data/pending-resp.hex"
expect_ok "RopPending: no handle index, no ReturnValue" "#1 at 0x10: RopPending (0x6E) 3 bytes"

run decode --response --hex --json "$data/pending-resp.hex"
expect_json "RopPending --json: null handle index and ReturnValue" '
r = d["buffers"][0]["rops"][1]
assert r["name"] == "RopPending" and r["raw"] == "6e0100"
assert r["handle_index"] is None and r["return_value"] is None and r["return_value_name"] is None
'

# --- ROPs of unknown layout: a warning, exit status 0 ---------------------------------------

check_unknown() {
	local name=$1 rop=$2
	if [[ $rc -ne 0 ]]; then
		fail "$name" "exit status $rc, expected 0"
	elif [[ $(wc -l <"$tmp/err") -ne 1 ]] || ! grep -q "warning: offset .*$rop.* no known" "$tmp/err"; then
		fail "$name" "expected one warning line naming $rop"
	elif ! grep -q "$rop.*layout unknown; the walk stops here" "$tmp/out"; then
		fail "$name" "stdout does not say the walk stopped at $rop"
	else
		pass "$name"
	fi
}

run decode --hex "$data/unknown-req.hex"
check_unknown "request of unknown layout stops the walk" "RopBufferTooSmall"
if grep -qF "RopRelease (0x01) LogonId 0, InputHandleIndex 0, 3 bytes" "$tmp/out" &&
	grep -qF "handle table (1): [0x00000033]" "$tmp/out" && grep -qF "6 bytes not walked" "$tmp/out"; then
	pass "ROPs before the unknown one and the handle table are shown"
else
	fail "ROPs before the unknown one and the handle table are shown"
fi

run decode --response --hex "$data/unknown-resp.hex"
check_unknown "response of unknown layout stops the walk" "RopQueryRows"

run decode --response --hex --json "$data/unknown-resp.hex"
expect_json "unknown layout --json" '
b = d["buffers"][0]
assert b["walk_complete"] is False
assert b["rops"][-1]["layout_known"] is False and b["rops"][-1]["name"] == "RopQueryRows"
assert b["rops"][-1]["bytes_not_walked"] == 11
'

# --- bad input: exit 1, one line on stderr -------------------------------------------------

: >"$tmp/empty"
run decode "$tmp/empty"
expect_bad "empty file" "empty input"
run decode --hex "$tmp/empty"
expect_bad "empty hex file" "empty input"
run decode --hex "$data/bad-truncated-header.hex"
expect_bad "truncated RPC_HEADER_EXT" "offset 0x0 (0)"
run decode --hex "$data/bad-version.hex"
expect_bad "bad Version" "Version"
run decode --hex "$data/bad-flags.hex"
expect_bad "unknown Flags bits" "Flags"
run decode --hex "$data/bad-size-beyond.hex"
expect_bad "Size beyond the input" "Size"
run decode --hex "$data/bad-lz77.hex"
expect_bad "corrupt LZ77 data" "offset 0xc (12)"
run decode --hex "$data/bad-odd.hex"
expect_bad "odd hex digit count" "line 2, column 10"
run decode --hex "$data/bad-char.hex"
expect_bad "bad hex character" "'z' (line 2, column 12)"
run decode --hex "$data/bad-ropsize.hex"
expect_bad "RopSize beyond the payload" "RopSize"
run decode --hex "$data/bad-truncated-rop.hex"
expect_bad "truncated ROP" "extended buffer 1"
run decode --hex "$data/bad-trailing.hex"
expect_bad "bytes after the buffer with Last" "1 byte after"
run decode --hex "$data/bad-no-last.hex"
expect_bad "input ends without a buffer with Last" "lacks the Last flag"
run decode --hex "$data/bad-stub-cbin.hex"
expect_bad "stub cbIn differs from the rgbIn max count" "cbIn"

# a corrupted real vector: the compressed payload's first indicator made all "match"
cp "${v001}.rgbIn.bin" "$tmp/corrupt.bin"
printf '\xff\xff\xff\xff' | dd of="$tmp/corrupt.bin" bs=1 seek=8 conv=notrunc status=none
run decode "$tmp/corrupt.bin"
expect_bad "corrupt LZ77 in a real vector" "offset"

# truncation sweeps: every prefix of a valid input fails cleanly
sweep() {
	local name=$1 file=$2 step=$3
	shift 3
	local size bad=0 n
	size=$(stat -c %s "$file")
	for ((n = 0; n < size; n += step)); do
		head -c "$n" "$file" >"$tmp/prefix"
		set +e
		"$mbxctl" decode "$@" "$tmp/prefix" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		set -e
		if [[ $rc -ne 1 || -s $tmp/out || $(wc -l <"$tmp/err") -ne 1 ]] ||
			! grep -q '^mbxctl: decode: offset 0x' "$tmp/err"; then
			bad=$((bad + 1))
			[[ $bad -le 3 ]] && echo "      prefix of $n bytes: rc $rc, $(head -1 "$tmp/err")"
		fi
	done
	if [[ $bad -eq 0 ]]; then
		pass "$name"
	else
		fail "$name" "$bad prefixes did not fail cleanly"
	fi
}
sweep "truncation sweep: RopLogon request (every prefix)" "$tmp/logon-req.bin" 1
sweep "truncation sweep: 001 rgbIn (every 3rd prefix)" "${v001}.rgbIn.bin" 3
sweep "truncation sweep: 001 stub, --format stub (every 5th prefix)" "${v001}_comp.dat" 5 --format stub

# --- usage errors: exit 2 ------------------------------------------------------------------

run
expect_usage "no command"
run decode
expect_usage "decode without INPUT"
run decode "$data/logon-req.hex" "$data/logon-req.hex"
expect_usage "decode with two INPUTs"
run decode --bogus "$data/logon-req.hex"
expect_usage "unknown option"
run decode --format xml "$data/logon-req.hex"
expect_usage "bad --format value"
run decode --response --format stub "${v001}_comp.dat"
expect_usage "--response with --format stub"
run decode --hex --payload
expect_usage "--payload without FILE"
run frobnicate
expect_usage "unknown command"

run decode --help
if [[ $rc -eq 0 ]] && grep -q '^usage: mbxctl decode' "$tmp/out"; then
	pass "decode --help"
else
	fail "decode --help" "rc $rc"
fi
run --version
if [[ $rc -eq 0 ]] && grep -q '^mbxctl ' "$tmp/out"; then
	pass "--version"
else
	fail "--version" "rc $rc"
fi

echo "$((count - failures)) of $count passed"
if [[ $failures -ne 0 ]]; then
	echo "FAIL: mbxctl-decode: $failures failed"
	exit 1
fi
echo "PASS: mbxctl-decode"
