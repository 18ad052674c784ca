# shellcheck shell=bash
# s3-other-server.sh: scenario 3 of tests/integration/test-scenarios.sh (docs/scenarios.md 3):
# bob (DB02 on SERVER1). First a move to DB03 (SERVER2) is started and aborted: the entry in
# slapd is exactly as before (every attribute), event 1008, bob logs on at SERVER1 again. Then
# the move is started and completed: SERVER1 answers ecWrongServer with SERVER2's
# legacyExchangeDN (protocol.md 2.3), SERVER2 lets him in with the same MailboxGuid, and
# mbxlogon, starting from SERVER1's Autodiscover, ends logged on at SERVER2.

scenario_3() {
	local B DN before after mark r
	B=$(legacy_of bob)
	DN=$(user_dn "Bob Brown")
	before=$(ldap_entry contoso "$DN")
	r=$(logon SERVER1 bob@contoso.com bob "$B")
	expect_logon "$r" 0x00000000 "3: bob on SERVER1 (DB02)"

	# --- an aborted move ---
	mark=$(log_mark SERVER1)
	ctl SERVER1 move start "$B" --to DB03
	if [ "$CTL_RC" -eq 0 ] && [ "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" = 2 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveTargetMDBLink)" = "$(db_dn DB03)" ]; then
		pass "3: mbxctl move start bob --to DB03: exit 0, status 2, target DB03 in slapd"
	else
		fail "3: move start bob --to DB03: exit $CTL_RC $CTL_ERR;" \
			"$(move_attrs "$DN")"
	fi
	r=$(logon SERVER1 bob@contoso.com bob "$B")
	expect_logon "$r" 0x0000050C "3: bob while the move to SERVER2 runs (ecMailboxInTransit)"
	ctl SERVER1 move abort "$B"
	after=$(ldap_entry contoso "$DN")
	if [ "$CTL_RC" -eq 0 ] && [ "$before" = "$after" ]; then
		pass "3: mbxctl move abort bob: exit 0, the entry in slapd is as before the start"
	else
		fail "3: move abort bob: exit $CTL_RC $CTL_ERR; entry differs:" \
			"$(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -8)"
	fi
	if wait_log SERVER1 "$mark" 'event=1008 MOVE_ABORTED: .*bob'; then
		pass "3: event 1008 MOVE_ABORTED logged"
	else
		fail "3: no event 1008 naming bob in SERVER1's log"
	fi
	r=$(logon SERVER1 bob@contoso.com bob "$B")
	expect_logon "$r" 0x00000000 "3: bob on SERVER1 after the abort"

	# --- the move to SERVER2 ---
	ctl SERVER1 move start "$B" --to DB03
	local rc1=$CTL_RC
	ctl SERVER1 move complete "$B"
	if [ "$rc1" -eq 0 ] && [ "$CTL_RC" -eq 0 ] &&
		[ "$(ldap_attr contoso "$DN" homeMDB)" = "$(db_dn DB03)" ] &&
		[ "$(ldap_attr contoso "$DN" msExchHomeServerName)" = "$(server_legacy SERVER2)" ]; then
		pass "3: move start + complete bob --to DB03: homeMDB DB03, home server SERVER2"
	else
		fail "3: move bob to DB03: exits $rc1/$CTL_RC $CTL_ERR;" \
			"$(move_attrs "$DN")"
	fi
	r=$(logon SERVER1 bob@contoso.com bob "$B")
	if expect_logon "$r" 0x00000478 "3: bob on SERVER1 after the move (ecWrongServer)"; then
		if [ "$(jget "$r" server)" = "$(server_legacy SERVER2)" ]; then
			pass "3: the redirect names SERVER2's legacyExchangeDN"
		else
			fail "3: the redirect names \"$(jget "$r" server)\", not SERVER2"
		fi
	fi
	# SERVER2 follows the directory itself (Content Sync, or the cache's TTL).
	local i
	for ((i = 0; i < 30; i++)); do
		r=$(logon SERVER2 bob@contoso.com bob "$B")
		[ "$(jget "$r" ec_hex)" = 0x00000000 ] && break
		sleep 0.1
	done
	if expect_logon "$r" 0x00000000 "3: bob on SERVER2" &&
		[ "$(jget "$r" mailbox_guid)" = d9ad3dde-e4b3-54a6-9e07-7c744b537007 ]; then
		pass "3: SERVER2 serves bob's mailbox with the same MailboxGuid"
	else
		fail "3: bob's logon on SERVER2: $r"
	fi
	if ! have_piece mbxlogon; then
		fail "3: mbxlogon is not built ($MBXLOGON): the client's side not checked"
		return
	fi
	mbxlogon_run --autodiscover-url "$(ad_url SERVER1)" --user bob@contoso.com \
		--password-file "$(pwfile bob)" --json bob@contoso.com
	if [ "$LOGON_RC" = 0 ] && mbxlogon_logged_on "$LOGON_OUT" SERVER2; then
		pass "3: mbxlogon from SERVER1's Autodiscover ends logged on at SERVER2"
	else
		fail "3: mbxlogon for bob: exit $LOGON_RC: $LOGON_OUT $LOGON_ERR"
	fi
	# Straight at SERVER1's mailbox URL, it must follow ecWrongServer.
	mbxlogon_run --mailbox-url "https://127.0.0.1:${PORT[SERVER1]}/mapi/emsmdb/" \
		--autodiscover-url "$(ad_url SERVER1)" --legacy-dn "$B" --user bob@contoso.com \
		--password-file "$(pwfile bob)" --json bob@contoso.com
	if [ "$LOGON_RC" = 0 ] && mbxlogon_logged_on "$LOGON_OUT" SERVER2 &&
		grep -q 'ecWrongServer' <<<"$LOGON_OUT"; then
		pass "3: mbxlogon at SERVER1's mailbox URL follows ecWrongServer to SERVER2"
	else
		fail "3: mbxlogon --mailbox-url SERVER1 for bob: exit $LOGON_RC: $LOGON_OUT $LOGON_ERR"
	fi
}
