#!/usr/bin/env bash
# mbxbench-baseline.sh: end-to-end tests of mbxbench(1) against itself only: --self-test (the
# histogram, the HTTP reader and the MAPI/HTTP response checks), short --baseline runs against
# the in-process evhttp responder (closed loop, --requests, open loop --rate, TLS with --compress
# --xor, connections closed by the server, --json), the failure counts and exit status (--baseline-error, --allow-errors), usage
# errors (exit 2), a refused connection, and `mbxbench --serve` in a second process measured
# through --url over http and https (--cert-out / --ca-file). Loopback only; every run is
# bounded by --duration/--requests and --timeout.
#
# usage: mbxbench-baseline.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: mbxbench-baseline.sh BUILD_DIR}

bench=
for cand in "$build/mbxbench" "$build/tools/mbxbench/mbxbench" "$build/bin/mbxbench"; do
	if [[ -x $cand ]]; then
		bench=$cand
		break
	fi
done
if [[ -z $bench ]]; then
	echo "FAIL: no mbxbench binary under $build"
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d)
serve_pid=
cleanup() {
	if [[ -n $serve_pid ]]; then
		kill "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0

pass() {
	passed=$((passed + 1))
	echo "PASS: $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $1"
	echo "      exit status $rc; stdout:"
	sed -n '1,30s/^/        /p' "$tmp/out"
	echo "      stderr:"
	sed -n '1,10s/^/        /p' "$tmp/err"
}

# Runs mbxbench; sets rc, stdout in $tmp/out, stderr in $tmp/err.
run() {
	set +e
	"$bench" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}

has() {
	grep -Eq -- "$1" "$tmp/out"
}

# The lines of one run block (text format) for a run named $1 are all there and well formed.
run_block_ok() {
	local name=$1
	has "^$name: https?://127\.0\.0\.1:[0-9]+/mapi/emsmdb/" &&
		has '^  requests:    [0-9]+ ok, [0-9]+ failed in [0-9]+\.[0-9]{3} s$' &&
		has '^  throughput:  [0-9]+\.[0-9] requests/s$' &&
		has '^  latency:     p50 [0-9]+ us, p90 [0-9]+ us, p99 [0-9]+ us, p999 [0-9]+ us, max [0-9]+ us, mean [0-9]+\.[0-9] us$' &&
		has '^  connections: [0-9]+ opened, [0-9]+ reopened, [0-9]+ closed by the server$' &&
		has '^  sessions:    [0-9]+ Connect, [0-9]+ restarted, [0-9]+ Disconnect$' &&
		has '^  response:    [0-9]+ bytes of Execute body, [0-9]+ bytes on the wire$' &&
		has '^  errors:      [0-9]+$'
}

ok_count() {
	sed -n 's/^  requests:    \([0-9]*\) ok.*/\1/p' "$tmp/out" | head -1
}

# --- self test ---------------------------------------------------------------------------------
run --self-test
if [[ $rc -eq 0 ]] && has '^[0-9]+ passed, 0 failed$'; then
	pass "--self-test: $(tail -1 "$tmp/out")"
else
	fail "--self-test"
fi

# --- closed loop by duration --------------------------------------------------------------------
run --baseline -c 4 -d 1 --warmup 0.2
n=$(ok_count)
if [[ $rc -eq 0 ]] && run_block_ok baseline &&
	has '^mbxbench [^ ]+: 4 sessions, closed loop, warmup 0\.2 s, duration 1 s$' &&
	has '^request: Execute of RopLogon \+ RopRelease, RopBuffer [0-9]+ bytes \(payload [0-9]+, Last\), body [0-9]+ bytes$' &&
	has '^  sessions:    4 Connect, 0 restarted, 4 Disconnect$' &&
	has '^  errors:      0$' && has ' 0 failed in ' && [[ ${n:-0} -gt 0 ]] && ! has '^ratio:'; then
	pass "--baseline closed loop: $n requests, exit 0, report format"
else
	fail "--baseline closed loop"
fi

# --- fixed request count --------------------------------------------------------------------------
run --baseline -c 3 -n 200 --warmup 0
if [[ $rc -eq 0 ]] && has '^  requests:    200 ok, 0 failed in ' &&
	has ': 3 sessions, closed loop, warmup 0 s, 200 requests$' &&
	has '^  connections: 3 opened, 0 reopened, '; then
	pass "--requests 200: exactly 200 measured"
else
	fail "--requests 200"
fi

# --- open loop --------------------------------------------------------------------------------------
run --baseline -c 4 -d 1 --warmup 0.2 --rate 400
n=$(ok_count)
if [[ $rc -eq 0 ]] && run_block_ok baseline && has 'open loop at 400 requests/s' &&
	has '^  schedule:    backlog max [0-9]+, unsent 0, unfinished 0$' &&
	[[ ${n:-0} -ge 390 && ${n:-0} -le 410 ]]; then
	pass "--rate 400 for 1 s: $n requests"
else
	fail "--rate 400 (got ${n:-none} requests)"
fi

run --baseline -c 2 -n 50 --warmup 0 --rate 1000
if [[ $rc -eq 0 ]] && has '^  requests:    50 ok, 0 failed'; then
	pass "--rate with --requests 50"
else
	fail "--rate with --requests"
fi

# --- TLS, compressed and XORed ----------------------------------------------------------------------
run --baseline --baseline-tls --compress --xor -c 2 -n 100 --warmup 0
if [[ $rc -eq 0 ]] && has '^baseline: https://127\.0\.0\.1:' && has 'XorMagic\|Last' &&
	has '^  requests:    100 ok, 0 failed'; then
	pass "--baseline-tls --compress --xor"
else
	fail "--baseline-tls --compress --xor"
fi

# --- connections the server closes are reopened and counted --------------------------------------
run --baseline -c 2 -n 100 --warmup 0 --baseline-close 10
if [[ $rc -eq 0 ]] && has '^  requests:    100 ok, 0 failed' &&
	has '^  connections: 12 opened, 10 reopened, 10 closed by the server$'; then
	pass "Connection: close every 10th Execute: 10 connections reopened, no failure"
else
	fail "--baseline-close 10"
fi
run --baseline --baseline-tls -c 2 -n 100 --warmup 0 --baseline-close 25
if [[ $rc -eq 0 ]] && has '^  requests:    100 ok, 0 failed' &&
	has '^  connections: 6 opened, 4 reopened, 4 closed by the server$'; then
	pass "the same over TLS"
else
	fail "--baseline-close over TLS"
fi

# --- JSON --------------------------------------------------------------------------------------------
run --baseline -c 2 -n 100 --warmup 0 --json
if [[ $rc -eq 0 ]] && python3 - "$tmp/out" <<'EOF'; then
import json, sys
d = json.load(open(sys.argv[1]))
r = d["runs"][0]
assert d["config"]["concurrency"] == 2 and d["config"]["requests"] == 100, d["config"]
assert d["config"]["mode"] == "closed" and d["ratio"] is None
assert r["name"] == "baseline" and r["ok"] == 100 and r["failed"] == 0 and r["errors"] == 0, r
lat = r["latency_us"]
assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], lat
assert r["rps"] > 0 and r["elapsed_s"] > 0 and r["sessions_connected"] == 2, r
assert r["response_body_bytes"] == r["responder_body_bytes"] > 0, r
assert r["failures"] == {} and r["aborted"] is False
EOF
	pass "--json: one valid object with the run's figures"
else
	fail "--json"
fi

# --- failures: counted per kind, exit 1 unless --allow-errors ---------------------------------------
run --baseline -c 2 -n 40 --warmup 0 --baseline-error ecMailboxInTransit
if [[ $rc -eq 1 ]] && has '^  requests:    0 ok, 40 failed' &&
	has '^  failure:     logon:ecMailboxInTransit x40 \(first: RopLogon failed with ecMailboxInTransit' &&
	grep -q 'allow-errors' "$tmp/err"; then
	pass "RopLogon failures counted by ec name, exit 1"
else
	fail "RopLogon failures"
fi
run --baseline -c 2 -n 40 --warmup 0 --baseline-error ecWrongServer --allow-errors
if [[ $rc -eq 0 ]] && has '^  failure:     logon:ecWrongServer x40 \(first: RopLogon redirected to /o='; then
	pass "--allow-errors: exit 0 with failures"
else
	fail "--allow-errors"
fi

# --- usage errors --------------------------------------------------------------------------------------
usage_ok=1
for args in "" "--url http://127.0.0.1:1/mapi/emsmdb/" "--baseline -c 0" "--baseline -d -1" \
	"--baseline --rate 0" "--baseline --bogus" "--baseline extra" \
	"--baseline --baseline-error ecNoSuchThing" "--baseline --insecure --ca-file x"; do
	# shellcheck disable=SC2086 # word splitting of the option list is intended
	run $args
	if [[ $rc -ne 2 ]] || ! grep -q '^mbxbench: ' "$tmp/err"; then
		usage_ok=0
		fail "usage error for '$args' exits 2"
	fi
done
if [[ $usage_ok -eq 1 ]]; then
	pass "usage errors exit 2 with a message"
fi

printf 'secret\n' >"$tmp/pw"

# --- nobody listening ------------------------------------------------------------------------------------
run --url http://127.0.0.1:1/mapi/emsmdb/ --user u --password-file "$tmp/pw" --legacy-dn /o=x/cn=u \
	-c 2 -d 1 --warmup 0 --timeout 2
if [[ $rc -eq 1 ]] && has '^  aborted:     no session could Connect' && has 'failure:     io:connect x2'; then
	pass "a refused connection aborts the run, exit 1"
else
	fail "refused connection"
fi

# --- --serve in another process, measured through --url ---------------------------------------------------
start_serve() {
	"$bench" --serve -d 60 "$@" >"$tmp/serve.out" 2>"$tmp/serve.err" &
	serve_pid=$!
	for _ in $(seq 1 100); do
		if grep -q '^serving ' "$tmp/serve.out"; then
			break
		fi
		sleep 0.05
	done
	url=$(sed -n 's/^serving //p' "$tmp/serve.out")
}
stop_serve() {
	kill "$serve_pid" 2>/dev/null || true
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=
}

start_serve
run --url "$url" --user alice@contoso.com --password-file "$tmp/pw" \
	--legacy-dn "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice" \
	-c 3 -n 150 --warmup 0 --baseline
if [[ -n $url && $rc -eq 0 ]] && run_block_ok daemon && run_block_ok baseline &&
	has '^ratio: [0-9]+\.[0-9]{3} \(daemon requests/s / baseline requests/s\)$' &&
	[[ $(grep -c '^  requests:    150 ok, 0 failed' "$tmp/out") -eq 2 ]]; then
	pass "--url against --serve plus --baseline: both runs and the ratio"
else
	fail "--url against --serve ($url)"
fi
stop_serve
if grep -Eq '^mbxbench: served [0-9]+ requests$' "$tmp/serve.err"; then
	pass "--serve stops on SIGTERM and counts what it served"
else
	rc=0
	cp "$tmp/serve.err" "$tmp/err"
	: >"$tmp/out"
	fail "--serve shutdown"
fi

start_serve --baseline-tls --cert-out "$tmp/cert.pem"
run --url "$url" --user u --password-file "$tmp/pw" --legacy-dn /o=x/cn=u --ca-file "$tmp/cert.pem" \
	-c 2 -n 50 --warmup 0
if [[ $url == https://* && $rc -eq 0 ]] && has '^  requests:    50 ok, 0 failed'; then
	pass "https --url verified with --ca-file from --cert-out"
else
	fail "https with --ca-file ($url)"
fi
run --url "$url" --user u --password-file "$tmp/pw" --legacy-dn /o=x/cn=u -c 2 -n 10 --warmup 0 --timeout 3
if [[ $rc -eq 1 ]] && has 'failure:     tls:handshake x2'; then
	pass "https --url with an untrusted certificate fails the handshake"
else
	fail "untrusted certificate"
fi
stop_serve

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
