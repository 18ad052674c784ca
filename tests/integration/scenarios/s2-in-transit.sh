# shellcheck shell=bash
# s2-in-transit.sh: scenario 2 of tests/integration/test-scenarios.sh (docs/scenarios.md 2):
# ivan has his mailbox open on SERVER1 (a session context with a logon) when `mbxctl move start
# --to DB02` begins a move. His next request on that context gets X-ResponseCode 10 (Context Not
# Found: the daemon destroyed the context, protocol.md 3.3); a new Connect + RopLogon gets
# ecMailboxInTransit (0x50C) and event 9660; `mbxlogon --wait-transit` waits and succeeds once
# `move complete` ends the move.

scenario_2() {
	local I DN go out mark r after relogon lpid t0 waited
	I=$(legacy_of ivan)
	DN=$(user_dn "Ivan Ives")
	go=$WORK/s2.go
	out=$WORK/s2.out
	rm -f "$go"
	mapi SERVER1 hold --user ivan@contoso.com --password-file "$(pwfile ivan)" --essdn "$I" \
		--go "$go" >"$out" 2>"$WORK/s2.err" &
	local hpid=$!
	BG_PIDS="$BG_PIDS $hpid"
	if wait_for "grep -q '\"step\": \"logon\"' '$out'" 150; then
		r=$(grep '"step": "logon"' "$out")
		expect_logon "$r" 0x00000000 "2: ivan's session on SERVER1 before the move"
	else
		fail "2: ivan's first logon did not finish: $(cat "$WORK/s2.err")"
	fi

	mark=$(log_mark SERVER1)
	ctl SERVER1 --json move start "$I" --to DB02
	if [ "$CTL_RC" -eq 0 ] && [ "$(jget "$CTL_OUT" sessionsDropped)" = 1 ]; then
		pass "2: mbxctl move start ivan --to DB02: exit 0, one session context dropped"
	else
		fail "2: mbxctl move start ivan: exit $CTL_RC, output: ${CTL_OUT:-none} ${CTL_ERR}"
	fi
	touch "$go"
	if wait_for "grep -q '\"step\": \"relogon\"' '$out'" 200; then
		after=$(grep '"step": "after"' "$out")
		relogon=$(grep '"step": "relogon"' "$out")
		if [ "$(jget "$after" rc)" = 10 ]; then
			pass "2: the open session's next Execute: X-ResponseCode 10 (Context Not Found)"
		else
			fail "2: the open session's next Execute: $after"
		fi
		expect_logon "$relogon" 0x0000050C "2: a new Connect + logon during the move" \
			"(ecMailboxInTransit)"
	else
		fail "2: the held session did not finish: $(cat "$out" "$WORK/s2.err")"
	fi
	wait "$hpid" 2>/dev/null
	if wait_log SERVER1 "$mark" 'event=9660 LOGON_IN_TRANSIT: .*ivan'; then
		pass "2: event 9660 LOGON_IN_TRANSIT logged"
	else
		fail "2: no event 9660 naming ivan in SERVER1's log"
	fi

	# mbxlogon --wait-transit, started during the move, ends logged on after it.
	if ! have_piece mbxlogon; then
		fail "2: mbxlogon is not built ($MBXLOGON): --wait-transit not checked"
	else
		t0=$SECONDS
		(mbxlogon_run --autodiscover-url "$(ad_url SERVER1)" --user ivan@contoso.com \
			--password-file "$(pwfile ivan)" --wait-transit 30 --json ivan@contoso.com
		printf '%s\n' "$LOGON_RC" >"$WORK/s2.logon.rc"
		printf '%s\n' "$LOGON_OUT" >"$WORK/s2.logon.out"
		printf '%s\n' "$LOGON_ERR" >"$WORK/s2.logon.err") &
		lpid=$!
		BG_PIDS="$BG_PIDS $lpid"
		sleep 2
		if kill -0 "$lpid" 2>/dev/null; then
			pass "2: mbxlogon --wait-transit still waiting after 2 s of transit"
		else
			fail "2: mbxlogon --wait-transit ended during the move: exit" \
				"$(cat "$WORK/s2.logon.rc" 2>/dev/null): $(cat "$WORK/s2.logon.err" 2>/dev/null)"
		fi
	fi
	ctl SERVER1 move complete "$I"
	if [ "$CTL_RC" -eq 0 ] && [ "$(ldap_attr contoso "$DN" homeMDB)" = "$(db_dn DB02)" ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" = 10 ]; then
		pass "2: mbxctl move complete ivan: exit 0, homeMDB DB02, status 10"
	else
		fail "2: move complete ivan: exit $CTL_RC $CTL_ERR;" \
			"$(move_attrs "$DN")"
	fi
	if have_piece mbxlogon; then
		wait "$lpid" 2>/dev/null
		waited=$((SECONDS - t0))
		LOGON_RC=$(cat "$WORK/s2.logon.rc" 2>/dev/null)
		LOGON_OUT=$(cat "$WORK/s2.logon.out" 2>/dev/null)
		if [ "$LOGON_RC" = 0 ] && mbxlogon_logged_on "$LOGON_OUT" SERVER1; then
			pass "2: mbxlogon --wait-transit logged on at SERVER1 after the move ($waited s)"
		else
			fail "2: mbxlogon --wait-transit: exit $LOGON_RC: $LOGON_OUT" \
				"$(cat "$WORK/s2.logon.err" 2>/dev/null)"
		fi
	fi
	r=$(logon SERVER1 ivan@contoso.com ivan "$I")
	expect_logon "$r" 0x00000000 "2: ivan after the move"
}
