# shellcheck shell=bash
# s1-same-server.sh: scenario 1 of tests/integration/test-scenarios.sh (docs/scenarios.md 1):
# alice logs on to SERVER1; `mbxctl move start --to DB02` and `move complete` move her mailbox
# to the other database of the same server; she logs on again and gets the same MailboxGuid,
# ReplGuid, ReplId and root folder id (protocol.md 2.6: no "administrator has made a change"
# prompt). The move attributes are checked in slapd after each step, and events 1006 and 1007.

# expect_logon JSON EC_HEX WHAT: the step's RopLogon answered EC_HEX (e.g. 0x0000050C).
expect_logon() {
	local got
	got=$(jget "$1" ec_hex)
	if [ "$got" = "$2" ]; then
		pass "$3: RopLogon $2"
		return 0
	fi
	fail "$3: RopLogon ${got:-none}, not $2 ($1)"
	return 1
}

scenario_1() {
	local A DN r1 r2 mark f ok
	A=$(legacy_of alice)
	DN=$(user_dn "Alice Anders")
	# What a client profile keeps (mbxlogon --json: MailboxGuid, ReplGuid, the 13 folder ids).
	local p1="" p2=""
	if have_piece mbxlogon; then
		mbxlogon_run --autodiscover-url "$(ad_url SERVER1)" --user alice@contoso.com \
			--password-file "$(pwfile alice)" --json alice@contoso.com
		if [ "$LOGON_RC" = 0 ] && mbxlogon_logged_on "$LOGON_OUT" SERVER1 \
			9ac0e940-b846-59ab-b1b4-8781129997ed; then
			p1=$(jget "$LOGON_OUT" profile.logon)
			pass "1: mbxlogon: Autodiscover, Connect, RopLogon: logged on at SERVER1"
		else
			fail "1: mbxlogon for alice: exit $LOGON_RC: $LOGON_OUT $LOGON_ERR"
		fi
	else
		fail "1: mbxlogon is not built ($MBXLOGON)"
	fi
	r1=$(logon SERVER1 alice@contoso.com alice "$A")
	if expect_logon "$r1" 0x00000000 "1: alice on SERVER1 (DB01)" &&
		[ "$(jget "$r1" kind)" = private ] &&
		[ "$(jget "$r1" mailbox_guid)" = 9ac0e940-b846-59ab-b1b4-8781129997ed ]; then
		pass "1: private logon, MailboxGuid = alice's msExchMailboxGuid" \
			"($(jget "$r1" mailbox_guid)), root folder $(jget "$r1" root_fid)"
	else
		fail "1: alice's first logon: $r1"
	fi

	mark=$(log_mark SERVER1)
	ctl SERVER1 move start "$A" --to DB02
	if [ "$CTL_RC" -eq 0 ]; then
		pass "1: mbxctl move start alice --to DB02: exit 0 ($(head -n 1 <<<"$CTL_OUT"))"
	else
		fail "1: mbxctl move start alice --to DB02: exit $CTL_RC: $CTL_ERR"
	fi
	if [ "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" = 2 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveFlags)" = 2 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveSourceMDBLink)" = "$(db_dn DB01)" ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveTargetMDBLink)" = "$(db_dn DB02)" ] &&
		[ "$(ldap_attr contoso "$DN" homeMDB)" = "$(db_dn DB01)" ]; then
		pass "1: slapd: status 2 (InProgress), flags 0x2 (IntraOrg), source DB01, target DB02"
	else
		fail "1: slapd after move start: $(move_attrs "$DN")"
	fi
	if wait_log SERVER1 "$mark" '^.*event=1006 MOVE_STARTED: .*alice'; then
		pass "1: event 1006 MOVE_STARTED logged"
	else
		fail "1: no event 1006 naming alice in SERVER1's log"
	fi
	r2=$(logon SERVER1 alice@contoso.com alice "$A")
	expect_logon "$r2" 0x0000050C "1: alice during the move (ecMailboxInTransit)"

	ctl SERVER1 move complete "$A"
	if [ "$CTL_RC" -eq 0 ]; then
		pass "1: mbxctl move complete alice: exit 0"
	else
		fail "1: mbxctl move complete alice: exit $CTL_RC: $CTL_ERR"
	fi
	if [ "$(ldap_attr contoso "$DN" homeMDB)" = "$(db_dn DB02)" ] &&
		[ "$(ldap_attr contoso "$DN" msExchHomeServerName)" = "$(server_legacy SERVER1)" ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" = 10 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxGuid)" = ":QOnAmka4q1mxtIeBEpmX7Q==" ]; then
		pass "1: slapd: homeMDB DB02, home server SERVER1, status 10 (Completed), same msExchMailboxGuid"
	else
		fail "1: slapd after move complete: $(move_attrs "$DN")"
	fi
	if wait_log SERVER1 "$mark" 'event=1007 MOVE_COMPLETED: .*alice'; then
		pass "1: event 1007 MOVE_COMPLETED logged"
	else
		fail "1: no event 1007 naming alice in SERVER1's log"
	fi

	r2=$(logon SERVER1 alice@contoso.com alice "$A")
	if expect_logon "$r2" 0x00000000 "1: alice after the move (DB02, SERVER1)"; then
		ok=1
		for f in mailbox_guid repl_guid replid root_fid; do
			if [ -z "$(jget "$r1" $f)" ] || [ "$(jget "$r1" $f)" != "$(jget "$r2" $f)" ]; then
				ok=0
				fail "1: $f changed with the move: $(jget "$r1" $f) -> $(jget "$r2" $f)"
			fi
		done
		[ $ok = 1 ] && pass "1: MailboxGuid, ReplGuid $(jget "$r2" repl_guid), ReplId" \
			"$(jget "$r2" replid) and root folder id $(jget "$r2" root_fid) unchanged by the move"
	fi
	if [ -n "$p1" ]; then
		mbxlogon_run --autodiscover-url "$(ad_url SERVER1)" --user alice@contoso.com \
			--password-file "$(pwfile alice)" --json alice@contoso.com
		p2=$(jget "$LOGON_OUT" profile.logon)
		if [ "$LOGON_RC" = 0 ] && [ -n "$(jget "$p1" folders)" ] &&
			[ "$(jget "$p1" folders)" = "$(jget "$p2" folders)" ] &&
			[ "$(jget "$p1" replguid)" = "$(jget "$p2" replguid)" ] &&
			[ "$(jget "$p1" mailbox_guid)" = "$(jget "$p2" mailbox_guid)" ]; then
			pass "1: mbxlogon after the move: the same MailboxGuid, ReplGuid and 13 folder ids"
		else
			fail "1: mbxlogon after the move: exit $LOGON_RC; before $p1; after $p2"
		fi
	fi
	ctl SERVER1 --json mailbox show "$A"
	if [ "$CTL_RC" -eq 0 ] && grep -q 'DB02' <<<"$CTL_OUT" &&
		"$PY" -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$CTL_OUT" 2>/dev/null; then
		pass "1: mbxctl --json mailbox show alice: one JSON document naming DB02"
	else
		fail "1: mbxctl --json mailbox show alice: exit $CTL_RC: ${CTL_ERR:-$CTL_OUT}"
	fi
}
