# shellcheck shell=bash
# s4-cross-forest.sh: scenario 4 of tests/integration/test-scenarios.sh (docs/scenarios.md 4):
# kim (contoso-kim.ldif, DB01 on SERVER1) moves to the Fabrikam forest. Fabrikam's administrator
# adds her new mailbox there (fabrikam-kim.ldif: DB10 on SERVER3, the same mailbox GUID, her
# Contoso legacyExchangeDN as an X500 proxy), then Contoso runs `mbxctl move start` and
# `move complete --cross-forest SMTP:kim@fabrikam.com`. Afterwards SERVER1 answers her RopLogon
# with ecUnknownUser (0x3EB), its Autodiscover answers her LegacyDN with a redirectUrl to
# SERVER3's Autodiscover, SERVER3's Autodiscover finds her by the X500 proxy and gives its own
# MAPI/HTTP URL, and mbxlogon, starting at SERVER1, ends logged on at SERVER3.

scenario_4() {
	local K KF DN r
	K=$(legacy_of kim)
	KF=$(legacy_of kim fabrikam)
	DN=$(user_dn "Kim Kane")
	r=$(logon SERVER1 kim kim "$K")
	expect_logon "$r" 0x00000000 "4: kim on SERVER1 before the move"

	if ldap_admin fabrikam -a -f "$SCEN_DIR/fabrikam-kim.ldif" >"$WORK/s4.ldapadd" 2>&1 &&
		[ "$(slapd_search fabrikam "(proxyAddresses=X500:$(sed 's/(/\\28/; s/)/\\29/' <<<"$K"))" \
			legacyExchangeDN | sed -n 's/^legacyExchangeDN: //p')" = "$KF" ]; then
		pass "4: Fabrikam's admin added kim's new mailbox (DB10, X500 proxy of her Contoso DN)"
	else
		fail "4: ldapadd of fabrikam-kim.ldif: $(cat "$WORK/s4.ldapadd")"
	fi

	# The target database of a cross-forest move is in the other forest: `move start
	# --cross-forest` records the move with flags 0x1 (CrossOrg) and no target database (the
	# mailbox is in transit from here on, as for any move), and `move complete --cross-forest`
	# says where it went (include/mbx/admin.h).
	ctl SERVER1 move start "$K" --cross-forest
	local rc1=$CTL_RC
	if [ "$rc1" -eq 0 ] && [ "$(ldap_attr contoso "$DN" msExchMailboxMoveFlags)" = 1 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" = 2 ] &&
		[ -z "$(ldap_attr contoso "$DN" msExchMailboxMoveTargetMDBLink)" ]; then
		pass "4: move start --cross-forest: status 2, flags 0x1 (CrossOrg), no target database"
	else
		fail "4: move start --cross-forest: exit $rc1 $CTL_ERR"
	fi
	ctl SERVER1 move complete "$K" --cross-forest SMTP:kim@fabrikam.com
	if [ "$rc1" -eq 0 ] && [ "$CTL_RC" -eq 0 ] &&
		[ -z "$(ldap_attr contoso "$DN" homeMDB)" ] &&
		[ -z "$(ldap_attr contoso "$DN" msExchHomeServerName)" ] &&
		[ "$(ldap_attr contoso "$DN" targetAddress)" = SMTP:kim@fabrikam.com ] &&
		[ "$(ldap_attr contoso "$DN" msExchRecipientTypeDetails)" = 128 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveFlags)" = 1 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" = 10 ]; then
		pass "4: move complete --cross-forest: a mail user (0x80) with targetAddress" \
			"SMTP:kim@fabrikam.com, no homeMDB, flags 0x1 CrossOrg, status 10"
	else
		fail "4: cross-forest move of kim: exits $rc1/$CTL_RC $CTL_ERR;" \
			"$(move_attrs "$DN")"
	fi

	r=$(logon SERVER1 kim kim "$K")
	expect_logon "$r" 0x000003EB "4: kim on SERVER1 after the move (ecUnknownUser)"

	r=$(autodiscover SERVER1 kim kim --legacy-dn "$K")
	if [ "$(jget "$r" http)" = 200 ] && [ "$(jget "$r" action)" = redirectUrl ] &&
		[ "$(jget "$r" redirect_url)" = "$(ad_url SERVER3)" ]; then
		pass "4: SERVER1's Autodiscover (LegacyDN) answers redirectUrl $(ad_url SERVER3)"
	else
		fail "4: SERVER1's Autodiscover for kim's LegacyDN: $r"
	fi
	r=$(autodiscover SERVER3 kim kim --legacy-dn "$K")
	if [ "$(jget "$r" action)" = settings ] && [ "$(jget "$r" legacy_dn)" = "$KF" ] &&
		grep -q "https://127.0.0.1:${PORT[SERVER3]}/mapi/emsmdb/" <<<"$(jget "$r" mapi_urls)"; then
		pass "4: SERVER3's Autodiscover finds her by the X500 proxy: settings, LegacyDN $KF," \
			"SERVER3's MAPI/HTTP URL"
	else
		fail "4: SERVER3's Autodiscover for kim's old LegacyDN: $r"
	fi
	r=$(logon SERVER3 kim kim "$KF")
	if expect_logon "$r" 0x00000000 "4: kim on SERVER3 with her Fabrikam DN" &&
		[ "$(jget "$r" mailbox_guid)" = 6d31d1cb-998c-5b29-9249-7e6a838381a9 ]; then
		pass "4: SERVER3 serves the same MailboxGuid"
	else
		fail "4: kim's logon on SERVER3: $r"
	fi

	if ! have_piece mbxlogon; then
		fail "4: mbxlogon is not built ($MBXLOGON): the client's side not checked"
		return
	fi
	# The client's profile still says SERVER1 and her Contoso DN: it logs on there, gets
	# ecUnknownUser, asks Autodiscover, follows the redirectUrl to SERVER3 and logs on there.
	mbxlogon_run --mailbox-url "https://127.0.0.1:${PORT[SERVER1]}/mapi/emsmdb/" \
		--legacy-dn "$K" --autodiscover-url "$(ad_url SERVER1)" --user kim \
		--password-file "$(pwfile kim)" --json kim@contoso.com
	if [ "$LOGON_RC" = 0 ] &&
		mbxlogon_logged_on "$LOGON_OUT" SERVER3 6d31d1cb-998c-5b29-9249-7e6a838381a9 &&
		grep -q ecUnknownUser <<<"$LOGON_OUT" && grep -q redirectUrl <<<"$LOGON_OUT"; then
		pass "4: mbxlogon with SERVER1 in its profile: ecUnknownUser, Autodiscover," \
			"redirectUrl, logged on at SERVER3"
	else
		fail "4: mbxlogon for kim from SERVER1: exit $LOGON_RC: $LOGON_OUT $LOGON_ERR"
	fi
	mbxlogon_run --autodiscover-url "$(ad_url SERVER1)" --user kim \
		--password-file "$(pwfile kim)" --json kim@contoso.com
	if [ "$LOGON_RC" = 0 ] && mbxlogon_logged_on "$LOGON_OUT" SERVER3; then
		pass "4: mbxlogon from SERVER1's Autodiscover with kim@contoso.com ends at SERVER3"
	else
		fail "4: mbxlogon for kim@contoso.com: exit $LOGON_RC: $LOGON_OUT $LOGON_ERR"
	fi
}
