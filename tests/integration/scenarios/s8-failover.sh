# shellcheck shell=bash
# s8-failover.sh: scenario 8 of tests/integration/test-scenarios.sh (docs/scenarios.md 8; seed
# 004): mbxbench loads SERVER1 for 16 s (4 session contexts, henry's RopLogon over and over) while the
# Contoso directory fails under it:
#   t = 2.5 s  the provider slapd is SIGKILLed: no crash, no ecUnknownUser, at most a burst of
#              ecNetworkError that ends within 2 s of the kill, and a logon that needs a fresh
#              directory lookup works 2 s after the kill (the replica answers), no restart;
#   t = 7 s    the replica is SIGKILLed too: henry's cached mailbox is still served, a mailbox
#              never looked up gets ecNetworkError, never ecUnknownUser;
#   t = 11 s   the provider is started again: event 2103 and fresh lookups work again.
# /metrics (mbx_logons_total by ec name) is sampled every 100 ms to time the errors; mbxbench's
# JSON report gives the per-kind failure counts. The steps keep a fixed schedule from the start
# of the load (sleep_until), whatever the probes in between cost.

# metrics_sampler SERVERn FILE: appends "epoch ecNone ecNetworkError ecUnknownUser" lines until
# killed; run it in the background (it execs python, so $! is the sampler itself).
metrics_sampler() {
	exec "$PY" - "${METRICS[$1]}" "$2" <<'PYEOF'
import re, sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
pat = re.compile(r'^mbx_logons_total\{ec="([^"]+)"\} (\d+)', re.M)
with open(sys.argv[2], "a") as f:
    while True:
        t = time.time()
        try:
            text = urllib.request.urlopen(url, timeout=2).read().decode()
            c = dict((k, int(v)) for k, v in pat.findall(text))
            f.write("%.3f %d %d %d\n" % (t, c.get("ecNone", 0), c.get("ecNetworkError", 0),
                                         c.get("ecUnknownUser", 0)))
            f.flush()
        except OSError:
            f.write("%.3f error\n" % t)
            f.flush()
        time.sleep(max(0.0, 0.1 - (time.time() - t)))
PYEOF
}

now() { date +%s.%N; }
plus() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.3f", t + d }'; }
# sleep_until EPOCH: sleeps until then (not at all if it has passed).
sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$d"
}

# window FILE FROM TO COL: how much column COL (2 ok, 3 net, 4 unknown) grew between the
# samples at FROM and TO (epoch seconds).
window() {
	awk -v a="$2" -v b="$3" -v c="$4" '$2 != "error" {
		if (first == "" || $1 <= a) first = $c; if ($1 <= b) last = $c }
		END { print last - first }' "$1"
}

scenario_8() {
	local H S url dpid bpid spid t0 tk tb tr te tp m r out late unk0 i
	H=$(legacy_of henry)
	S=$WORK/s8.metrics
	dpid=${PID[SERVER1]}
	url="https://127.0.0.1:${PORT[SERVER1]}/mapi/emsmdb/"
	metrics_sampler SERVER1 "$S" &
	spid=$!
	BG_PIDS="$BG_PIDS $spid"
	"$MBXBENCH" --url "$url" --user henry@child.contoso.com --password-file "$(pwfile henry)" \
		--legacy-dn "$H" -c 4 -d 16 --warmup 0 --timeout 5 --json --allow-errors \
		--ca-file "$WORK/ca-bundle.pem" >"$WORK/s8.bench.json" 2>"$WORK/s8.bench.err" &
	bpid=$!
	BG_PIDS="$BG_PIDS $bpid"
	t0=$(now)
	sleep_until "$(plus "$t0" 2.5)"

	# --- the provider dies -----------------------------------------------------------------
	m=$(log_mark SERVER1)
	tk=$(now)
	slapd_kill contoso
	sleep_until "$(plus "$tk" 2)"
	tp=$(now)
	r=$(logon SERVER1 alice@contoso.com alice "$(legacy_of room1)" "$(legacy_of alice)")
	local dt
	dt=$(awk -v a="$tk" -v b="$tp" -v c="$(now)" \
		'BEGIN { printf "%.2f s after the kill, answered in %.2f s", b - a, c - b }')
	if [ "$(jget "$r" ec_hex)" = 0x00000000 ]; then
		pass "8: provider killed: a logon needing a fresh lookup (alice -> room1, never" \
			"looked up before) started $dt: success"
	else
		fail "8: provider killed: alice -> room1 started $dt: $r"
	fi
	if wait_log SERVER1 "$m" 'event=2102 DIR_FAILOVER' 5; then
		pass "8: event 2102 DIR_FAILOVER logged"
	else
		fail "8: no event 2102 DIR_FAILOVER after the provider's death"
	fi
	# --- both die --------------------------------------------------------------------------
	# A session context made before: its RopLogon of a mailbox never looked up must get
	# ecNetworkError once no directory answers.
	local go=$WORK/s8.go hold=$WORK/s8.hold hpid
	rm -f "$go"
	(exec timeout 60 "$PY" "$SCEN_DIR/mapi.py" hold --port "${PORT[SERVER1]}" \
		--user henry@child.contoso.com --password-file "$(pwfile henry)" --essdn "$H" \
		--essdn2 "$(legacy_of carol)" --admin --go "$go" >"$hold" 2>&1) &
	hpid=$!
	BG_PIDS="$BG_PIDS $hpid"
	wait_for "grep -q '\"step\": \"logon\"' '$hold'" 30
	sleep_until "$(plus "$t0" 7)"
	tb=$(now)
	slapd_kill contoso2
	sleep 1
	touch "$go"
	wait_for "grep -q '\"step\": \"after\"' '$hold'" 100
	r=$(grep '"step": "after"' "$hold")
	if [ "$(jget "$r" ec_hex)" = 0x80040115 ]; then
		pass "8: both down: on a session made before, RopLogon of a mailbox never looked up" \
			"(carol): ecNetworkError"
	else
		fail "8: both down: held session, RopLogon of carol: ${r:-$(cat "$hold")}"
	fi
	r=$(logon SERVER1 henry@child.contoso.com henry "$(legacy_of carol)" "$H")
	if [ "$(jget "$r" ec_hex)" = 0x80040115 ] || [ "$(jget "$r" connect_ec_hex)" = 0x80040115 ]; then
		pass "8: both down: a new Connect + RopLogon of carol: ecNetworkError at" \
			"$([ -n "$(jget "$r" ec_hex)" ] && echo RopLogon || echo Connect)"
	else
		fail "8: both down: new session, henry -> carol: $r"
	fi
	# henry's token and mailbox were read before the outage: a new session of his still works
	# (the principal resolver and the mailbox table serve what they read, stale).
	r=$(logon SERVER1 henry@child.contoso.com henry "$H" "$H")
	if [ "$(jget "$r" ec_hex)" = 0x00000000 ]; then
		pass "8: both down: a new Connect + RopLogon of henry's own mailbox: success (cached" \
			"token and mailbox)"
	else
		fail "8: both down: new session, henry -> henry: $r"
	fi
	if grep -q 'serving the cached token' "$(dlog SERVER1)"; then
		pass "8: the stale token was logged"
	else
		fail "8: no log line about serving a cached token"
	fi
	wait "$hpid" 2>/dev/null
	if wait_log SERVER1 "$m" 'event=2104 DIR_ALL_DOWN' 20; then
		pass "8: event 2104 DIR_ALL_DOWN logged"
	else
		fail "8: no event 2104 DIR_ALL_DOWN with both slapd dead"
	fi
	sleep_until "$(plus "$t0" 11)"

	# --- the provider comes back -----------------------------------------------------------
	m=$(log_mark SERVER1)
	tr=$(now)
	if slapd_restart contoso >"$WORK/s8.restart" 2>&1; then
		pass "8: provider slapd restarted on its port and data"
	else
		fail "8: slapd_restart contoso: $(cat "$WORK/s8.restart")"
	fi
	if wait_log SERVER1 "$m" 'event=2103 DIR_RECOVERED' 50; then
		pass "8: event 2103 DIR_RECOVERED within" \
			"$(awk -v a="$tr" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
	else
		fail "8: no event 2103 DIR_RECOVERED within 5 s of the restart"
	fi
	for ((i = 0; i < 30; i++)); do
		r=$(logon SERVER1 henry@child.contoso.com henry "$(legacy_of carol)" "$H")
		[ "$(jget "$r" ec_hex)" = 0x0000050C ] && break
		sleep 0.1
	done
	if [ "$(jget "$r" ec_hex)" = 0x0000050C ]; then
		pass "8: recovered: a fresh lookup answers again (carol: ecMailboxInTransit)"
	else
		fail "8: after the restart, henry -> carol: $r"
	fi

	wait "$bpid"
	te=$(now)
	kill_tree "$spid"
	wait "$spid" 2>/dev/null
	slapd_restart contoso2 >/dev/null 2>&1

	# --- what the load saw -----------------------------------------------------------------
	out=$(cat "$WORK/s8.bench.json")
	if kill -0 "$dpid" 2>/dev/null && [ "$(grep -c 'mbxstored .* started' "$(dlog SERVER1)")" = 1 ]; then
		pass "8: SERVER1 ran through it all: same pid $dpid, started once"
	else
		fail "8: SERVER1 died or restarted (pid $dpid)"
	fi
	"$PY" - "$out" >"$WORK/s8.kinds" <<'PYEOF'
import json, sys
d = json.loads(sys.argv[1])
run = d["runs"][0]
print(run["ok"], run["failed"])
for k, v in sorted((run.get("failures") or {}).items()):
    print(k, v["count"], v.get("first", ""))
PYEOF
	if [ $? -ne 0 ]; then
		fail "8: mbxbench gave no JSON report: $(head -c 400 "$WORK/s8.bench.json") $(tail -n 5 "$WORK/s8.bench.err")"
		return
	fi
	local okn failn bad
	read -r okn failn <"$WORK/s8.kinds"
	bad=$(tail -n +2 "$WORK/s8.kinds" | grep -v '^logon:ecNetworkError ')
	if [ -z "$bad" ] && [ "$okn" -gt 0 ]; then
		pass "8: mbxbench: $okn ok, $failn failed, and every failure is logon:ecNetworkError" \
			"(no ecUnknownUser, no connection or protocol error)"
	else
		fail "8: mbxbench failures other than ecNetworkError: $bad (ok $okn)"
	fi
	unk0=$(window "$S" 0 "$te" 4)
	if [ "$unk0" = 0 ]; then
		pass "8: /metrics: no ecUnknownUser answered during the run"
	else
		fail "8: /metrics: $unk0 ecUnknownUser answers during the run"
	fi
	# The last sample before an ecNetworkError increase, in the provider-only phase.
	late=$(awk -v a="$tk" -v b="$tb" '$2 != "error" {
		if (prev != "" && $3 > pnet && $1 > a && $1 <= b) last = prev
		prev = $1; pnet = $3 }
		END { if (last == "") print "none"; else printf "%.2f", last - a }' "$S")
	if [ "$late" = none ] || awk -v l="$late" 'BEGIN { exit !(l < 2.0) }'; then
		pass "8: provider killed: ecNetworkError $(window "$S" "$tk" "$tb" 3) times," \
			"the last one ${late} s after the kill (bound 2 s)"
	else
		fail "8: provider killed: ecNetworkError still answered ${late} s after the kill"
	fi
	local p1 p2 p3
	p1=$(window "$S" "$(awk -v t="$tk" 'BEGIN { printf "%.3f", t + 2 }')" "$tb" 2)
	p2=$(window "$S" "$(awk -v t="$tb" 'BEGIN { printf "%.3f", t + 0.5 }')" "$tr" 2)
	p3=$(window "$S" "$(awk -v t="$tr" 'BEGIN { printf "%.3f", t + 1 }')" "$te" 2)
	if [ "$p1" -gt 0 ] && [ "$p2" -gt 0 ] && [ "$p3" -gt 0 ]; then
		pass "8: successful logons in every phase: $p1 on the replica, $p2 from the cache" \
			"with both down, $p3 after the restart"
	else
		fail "8: successful logons per phase: replica $p1, both down $p2, restarted $p3"
	fi
}
