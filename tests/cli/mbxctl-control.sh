#!/usr/bin/env bash
# mbxctl-control.sh: end-to-end tests of mbxctl's side of the control socket (mbxctl(8),
# include/mbx/control.h): global options (-s, --socket=, MBXCTL_SOCKET, --json), usage errors
# (exit 2), an unreachable daemon (exit 6), and a tiny fake daemon (python3, a Unix socket
# server in this script) that answers canned OK / ERR lines per command word, so that the
# output and the exit status of each kind of answer are checked, with the exact request lines
# mbxctl sent. Also: decode stays offline, and a global --json reaches it.
#
# usage: mbxctl-control.sh BUILD_DIR   (MBX_SRCDIR: the checkout, else found from this path)
set -euo pipefail

build=${1:?usage: mbxctl-control.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MBX_SRCDIR:-$(cd "$here/../.." && pwd)}
data=$src/tests/cli/data/decode

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
if ! command -v python3 >/dev/null; then
	echo "FAIL: python3 is needed for the fake daemon"
	exit 1
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
count=0
unset MBXCTL_SOCKET MBXCTL_TIMEOUT

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
	echo "      exit status: ${rc:-?}"
	if [[ -s $tmp/out ]]; then
		echo "      stdout:"
		sed -n '1,5s/^/        /p' "$tmp/out"
	fi
	if [[ -s $tmp/err ]]; then
		echo "      stderr:"
		sed -n '1,5s/^/        /p' "$tmp/err"
	fi
}

# Runs mbxctl with the arguments; rc, stdout in $tmp/out, stderr in $tmp/err.
run() {
	set +e
	"$mbxctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}

# check NAME RC STDOUT-FILE-CONTENT STDERR-CONTENT: exact comparison of both streams.
check() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4
	if [[ $rc -ne $want_rc ]]; then
		fail "$name" "exit status $rc, expected $want_rc"
	elif [[ $(cat "$tmp/out") != "$want_out" ]]; then
		fail "$name" "stdout differs; expected: $want_out"
	elif [[ $(cat "$tmp/err") != "$want_err" ]]; then
		fail "$name" "stderr differs; expected: $want_err"
	else
		pass "$name"
	fi
}

# expect_usage NAME: exit 2, nothing on stdout, something on stderr.
expect_usage() {
	if [[ $rc -eq 2 && ! -s $tmp/out && -s $tmp/err ]]; then
		pass "$1"
	else
		fail "$1" "expected exit 2, empty stdout, a message on stderr"
	fi
}

# The request line the fake daemon got last, with TAB as \t and LF as \n.
last_request() {
	python3 -c 'import sys; print(repr(open(sys.argv[1], "rb").read())[2:-1])' "$tmp/requests.last"
}

# --- the fake daemon ----------------------------------------------------------------------------

cat >"$tmp/fake.py" <<'EOF'
# A fake mbxstored control socket: one request line per connection, a canned answer chosen by
# the command word (argv[0]) and the format. Writes each request to requests.last.
import os, socket, sys, threading, time

path, logdir = sys.argv[1], sys.argv[2]

def answer(conn, line):
    with open(os.path.join(logdir, "requests.last.tmp"), "wb") as f:
        f.write(line)
    os.replace(os.path.join(logdir, "requests.last.tmp"), os.path.join(logdir, "requests.last"))
    fields = line.rstrip(b"\n").split(b"\t")
    fmt, argv = fields[1], fields[2:]
    cmd = argv[0] if argv else b""
    json = fmt == b"json"
    if cmd == b"sessions":
        body = b'{"sessions": [], "count": 0}\n' if json else b"no sessions\ncount: 0\n"
        conn.sendall(b"OK\n" + body)
    elif cmd == b"mailbox":
        msg = b"no such mailbox: " + (argv[2] if len(argv) > 2 else b"?")
        body = b'{"error": "' + msg + b'", "status": 3}\n' if json else b""
        conn.sendall(b"ERR 3 " + msg + b"\n" + body)
    elif cmd == b"trace":  # no JSON body even for json: mbxctl makes one
        conn.sendall(b"ERR 4 the directory cannot answer now\n")
    elif cmd == b"move" and argv[1:2] == [b"abort"]:  # too slow
        time.sleep(3)
        conn.sendall(b"OK\nlate\n")
    elif cmd == b"move":
        conn.sendall(b"ERR 1 busy\n")
    elif cmd == b"reload":  # no status line
        conn.sendall(b"HELLO there\n")
    elif cmd == b"help":  # nothing at all
        pass
    elif cmd == b"report":  # a body one byte over the limit
        conn.sendall(b"OK\n" + b"x" * (16 * 1024 * 1024 + 1))
    else:
        conn.sendall(b"ERR 2 unknown command\n")

def serve(conn):
    try:
        buf = b""
        while b"\n" not in buf:
            chunk = conn.recv(4096)
            if not chunk:
                break
            buf += chunk
        if b"\n" in buf:
            answer(conn, buf[: buf.index(b"\n") + 1])
    except OSError:
        pass
    finally:
        conn.close()

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

sock=$tmp/control.sock
python3 "$tmp/fake.py" "$sock" "$tmp" &
server_pid=$!
for _ in $(seq 1 100); do
	[[ -S $sock ]] && break
	sleep 0.05
done
if [[ ! -S $sock ]]; then
	echo "FAIL: the fake daemon did not start"
	exit 1
fi

# --- usage errors: exit 2 -----------------------------------------------------------------------

run
expect_usage "no command"
run frobnicate
expect_usage "unknown command"
run --bogus sessions
expect_usage "unknown global option"
run -s
expect_usage "-s without SOCKET"
run -s "$sock"
expect_usage "-s SOCKET without a command"
run -s "$sock" --json
expect_usage "--json without a command"
run -s "$sock" trace "$(printf 'a\tb')" on
check "an argument with a TAB is refused before sending" 2 "" \
	"mbxctl: byte 0x09 in argument 2"
run -s "$sock" mailbox show ""
check "an empty argument is refused" 2 "" "mbxctl: empty argument 3"
run -s "$sock" mailbox $(seq 1 32)
check "33 arguments are refused" 2 "" "mbxctl: more than 32 arguments"
run -s "$sock" mailbox show "$(head -c 5000 /dev/zero | tr '\0' x)"
check "a request over 4096 bytes is refused" 2 "" "mbxctl: request longer than 4096 bytes"

run -h
if [[ $rc -eq 0 ]] && grep -q 'move start MAILBOX --to DATABASE' "$tmp/out" &&
	grep -q 'report disabled-without-master-sid' "$tmp/out" &&
	grep -q 'mailbox associate-self MAILBOX' "$tmp/out" && grep -q '^  decode ' "$tmp/out" &&
	grep -q -- '-s SOCKET' "$tmp/out" && grep -q -- '--json' "$tmp/out"; then
	pass "-h lists the daemon's commands, decode and the options"
else
	fail "-h lists the daemon's commands, decode and the options"
fi
run --help move
if [[ $rc -eq 0 && $(grep -c '^usage: mbxctl \[-s SOCKET\] \[--json\] move ' "$tmp/out") -eq 3 ]]; then
	pass "--help move: the three move usages"
else
	fail "--help move: the three move usages"
fi
run help decode
if [[ $rc -eq 0 ]] && grep -q '^usage: mbxctl decode' "$tmp/out"; then
	pass "help decode is answered offline"
else
	fail "help decode is answered offline"
fi

# --- unreachable: exit 6 ------------------------------------------------------------------------

run -s "$tmp/nothing-here.sock" sessions
check "no socket file" 6 "" \
	"mbxctl: cannot reach mbxstored at $tmp/nothing-here.sock: No such file or directory"
: >"$tmp/plain-file"
run -s "$tmp/plain-file" sessions
check "a file that is no socket" 6 "" \
	"mbxctl: cannot reach mbxstored at $tmp/plain-file: Connection refused"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/stale.sock"
run -s "$tmp/stale.sock" sessions
check "a stale socket nobody listens on" 6 "" \
	"mbxctl: cannot reach mbxstored at $tmp/stale.sock: Connection refused"
longpath=/tmp/$(head -c 120 /dev/zero | tr '\0' p)
run -s "$longpath" sessions
check "a socket path too long for sun_path" 6 "" \
	"mbxctl: cannot reach mbxstored at $longpath: File name too long"
MBXCTL_SOCKET=$tmp/nothing-here.sock run sessions
check "MBXCTL_SOCKET is used" 6 "" \
	"mbxctl: cannot reach mbxstored at $tmp/nothing-here.sock: No such file or directory"
run sessions
if [[ $rc -eq 6 ]] && grep -q "^mbxctl: cannot reach mbxstored at /run/mbxstored/control.sock: " "$tmp/err"; then
	pass "the default socket path"
else
	fail "the default socket path"
fi

# --- answers of the fake daemon -----------------------------------------------------------------

run -s "$sock" sessions
check "OK: the body on stdout, exit 0" 0 "no sessions
count: 0" ""
if [[ $(last_request) == 'MBXCTL/1\ttext\tsessions\n' ]]; then
	pass "the request line of sessions"
else
	fail "the request line of sessions" "got: $(last_request)"
fi
run -s "$sock" --json sessions
check "OK --json: the JSON body" 0 '{"sessions": [], "count": 0}' ""
if [[ $(last_request) == 'MBXCTL/1\tjson\tsessions\n' ]]; then
	pass "the request line of --json sessions"
else
	fail "the request line of --json sessions" "got: $(last_request)"
fi
run --json -s "$sock" mailbox show 'j\xc3rg m@x.example'
if [[ $(last_request) == 'MBXCTL/1\tjson\tmailbox\tshow\tj\\xc3rg m@x.example\n' ]]; then
	pass "arguments with spaces and backslashes go as they are"
else
	fail "arguments with spaces and backslashes go as they are" "got: $(last_request)"
fi
MBXCTL_SOCKET=$sock run sessions
check "MBXCTL_SOCKET reaches the daemon" 0 "no sessions
count: 0" ""
MBXCTL_SOCKET=$tmp/nothing-here.sock run -s "$sock" sessions
check "-s wins over MBXCTL_SOCKET" 0 "no sessions
count: 0" ""
run --socket="$sock" sessions
check "--socket=PATH" 0 "no sessions
count: 0" ""

run -s "$sock" mailbox show nobody@contoso.example
check "ERR 3: the message on stderr, exit 3" 3 "" \
	"mbxctl: no such mailbox: nobody@contoso.example"
run -s "$sock" --json mailbox show nobody@contoso.example
check "ERR 3 --json: the daemon's JSON error body on stdout" 3 \
	'{"error": "no such mailbox: nobody@contoso.example", "status": 3}' ""
run -s "$sock" trace ldap on
check "ERR 4: exit 4" 4 "" "mbxctl: the directory cannot answer now"
run -s "$sock" --json trace ldap on
check "ERR 4 --json without a body: mbxctl writes the JSON error" 4 \
	'{"error":"the directory cannot answer now","status":4}' ""
run -s "$sock" move start a@b.example --to DB02
check "ERR 1 busy" 1 "" "mbxctl: busy"
if [[ $(last_request) == 'MBXCTL/1\ttext\tmove\tstart\ta@b.example\t--to\tDB02\n' ]]; then
	pass "the request line of move start"
else
	fail "the request line of move start" "got: $(last_request)"
fi
run -s "$sock" reload
check "an answer without a status line: exit 6" 6 "" \
	"mbxctl: bad answer from mbxstored: no status line"
run -s "$sock" help
check "a close without an answer: exit 6" 6 "" \
	"mbxctl: mbxstored closed the connection without an answer"
run -s "$sock" report disabled-without-master-sid
check "a body over 16 MiB: exit 6, nothing printed" 6 "" \
	"mbxctl: the answer of mbxstored is larger than 16777216 bytes"
start=$(date +%s)
MBXCTL_TIMEOUT=1 run -s "$sock" move abort a@b.example
took=$(($(date +%s) - start))
check "no answer in time: exit 6" 6 "" "mbxctl: no answer from mbxstored at $sock within 1 s"
if [[ $took -le 2 ]]; then
	pass "the timeout is kept (${took} s)"
else
	fail "the timeout is kept" "took ${took} s"
fi

# --- decode stays offline -----------------------------------------------------------------------

run -s "$tmp/nothing-here.sock" decode --hex "$data/logon-req.hex"
if [[ $rc -eq 0 && -s $tmp/out ]] && grep -q 'RopLogon' "$tmp/out"; then
	pass "decode needs no daemon"
else
	fail "decode needs no daemon"
fi
"$mbxctl" decode --json --hex "$data/logon-req.hex" >"$tmp/want.json"
run --json decode --hex "$data/logon-req.hex"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/out" "$tmp/want.json"; then
	pass "a global --json reaches decode"
else
	fail "a global --json reaches decode"
fi

echo "$((count - failures)) passed, $failures failed"
if [[ $failures -ne 0 ]]; then
	echo "FAIL: mbxctl-control: $failures failed"
	exit 1
fi
echo "PASS: mbxctl-control"
