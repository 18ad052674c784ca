# shellcheck shell=bash
# s6-no-master-sid.sh: scenario 6 of tests/integration/test-scenarios.sh (docs/scenarios.md 6;
# seed 000, KB 278966): gina's account is disabled and has no msExchMasterAccountSid. An
# administrator gives alice FullAccess to her mailbox (gina-delegate.ldif); alice's logon to it
# still gets ecLoginFailure (0x80040111), with events 9548 (no master account SID) and 1022
# (logon failure). `mbxctl move start` refuses to move the mailbox (exit 1, naming the fix;
# event 1009). `mbxctl report disabled-without-master-sid` lists her. `mbxctl mailbox
# associate-self` sets msExchMasterAccountSid to SELF (S-1-5-10) and adds a SELF ACE to the
# descriptor, keeping alice's; then alice's logon works, and the report no longer lists gina.

scenario_6() {
	local G DN mark r sd
	G=$(legacy_of gina)
	DN=$(user_dn "Gina Gray")
	if ldap_admin contoso -f "$SCEN_DIR/gina-delegate.ldif" >"$WORK/s6.ldapmodify" 2>&1; then
		pass "6: the administrator gave alice FullAccess to gina's mailbox (ldapmodify)"
	else
		fail "6: ldapmodify gina-delegate.ldif: $(cat "$WORK/s6.ldapmodify")"
	fi
	mark=$(log_mark SERVER1)
	r=$(logon SERVER1 alice@contoso.com alice "$G" "$(legacy_of alice)")
	expect_logon "$r" 0x80040111 "6: alice's logon to gina's mailbox (ecLoginFailure)"
	if wait_log SERVER1 "$mark" 'event=9548 NO_MASTER_ACCOUNT_SID: .*gina' &&
		wait_log SERVER1 "$mark" 'event=1022 LOGON_FAILURE: .*gina'; then
		pass "6: events 9548 NO_MASTER_ACCOUNT_SID and 1022 LOGON_FAILURE logged"
	else
		fail "6: events 9548 and 1022 naming gina: $(log_since SERVER1 "$mark" | grep -E 'event=' | head -4)"
	fi

	mark=$(log_mark SERVER1)
	ctl SERVER1 move start "$G" --to DB02
	if [ "$CTL_RC" -eq 1 ] && grep -q "mbxctl mailbox associate-self" <<<"$CTL_ERR$CTL_OUT" &&
		[ -z "$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)" ]; then
		pass "6: move start gina refused: exit 1, \"$(head -n 1 <<<"$CTL_ERR")\", nothing written"
	else
		fail "6: move start gina: exit $CTL_RC, \"$CTL_ERR$CTL_OUT\", move status" \
			"\"$(ldap_attr contoso "$DN" msExchMailboxMoveStatus)\""
	fi
	if wait_log SERVER1 "$mark" 'event=1009 MOVE_REFUSED: .*gina'; then
		pass "6: event 1009 MOVE_REFUSED logged"
	else
		fail "6: no event 1009 naming gina in SERVER1's log"
	fi

	ctl SERVER1 report disabled-without-master-sid
	if [ "$CTL_RC" -eq 0 ] && grep -qx "dn: $DN" <<<"$CTL_OUT" &&
		! grep -q 'Conference Room 1' <<<"$CTL_OUT"; then
		pass "6: report disabled-without-master-sid lists gina (and not room1, which has SELF)"
	else
		fail "6: report disabled-without-master-sid: exit $CTL_RC: $CTL_OUT $CTL_ERR"
	fi

	ctl SERVER1 mailbox associate-self "$G"
	sd=$(ldap_attr contoso "$DN" msExchMailboxSecurityDescriptor)
	if [ "$CTL_RC" -eq 0 ] &&
		[ "$(ldap_attr contoso "$DN" msExchMasterAccountSid)" = ":AQEAAAAAAAUKAAAA" ] &&
		"$PY" - "${sd#:}" <<'PYEOF'; then
import base64, struct, sys
sd = base64.b64decode(sys.argv[1])
dacl = struct.unpack_from("<I", sd, 16)[0]
count = struct.unpack_from("<H", sd, dacl + 4)[0]
off, aces = dacl + 8, []
for _ in range(count):
    t, f, size, mask = struct.unpack_from("<BBHI", sd, off)
    aces.append((t, mask, sd[off + 8:off + size]))
    off += size
self_sid = bytes.fromhex("01010000000000050a000000")
alice = base64.b64decode("AQUAAAAAAAUVAAAAPhTCxfB0C0XxaP/RTQQAAA==")
ok = any(t == 0 and m & 1 and s == self_sid for t, m, s in aces) and \
     any(t == 0 and m & 1 and s == alice for t, m, s in aces)
sys.exit(0 if ok else 1)
PYEOF
		pass "6: associate-self: msExchMasterAccountSid S-1-5-10, a SELF FullAccess ACE," \
			"alice's ACE kept"
	else
		fail "6: associate-self gina: exit $CTL_RC $CTL_ERR; master SID" \
			"\"$(ldap_attr contoso "$DN" msExchMasterAccountSid)\", descriptor \"$sd\""
	fi
	ctl SERVER1 mailbox associate-self "$G"
	if [ "$CTL_RC" -eq 1 ]; then
		pass "6: a second associate-self is refused (exit 1: a master account SID is set)"
	else
		fail "6: second associate-self: exit $CTL_RC $CTL_ERR"
	fi

	local i
	for ((i = 0; i < 30; i++)); do
		r=$(logon SERVER1 alice@contoso.com alice "$G" "$(legacy_of alice)")
		[ "$(jget "$r" ec_hex)" = 0x00000000 ] && break
		sleep 0.1
	done
	if expect_logon "$r" 0x00000000 "6: alice (delegate) logs on to gina's mailbox after the fix" &&
		[ "$(jget "$r" mailbox_guid)" = 1e3dd1d0-a776-54b8-9679-f534093e8340 ]; then
		pass "6: ... with gina's MailboxGuid"
	fi
	ctl SERVER1 report disabled-without-master-sid
	if ! grep -q "Gina Gray" <<<"$CTL_OUT" && [ "$CTL_RC" -eq 0 ] || [ "$CTL_RC" -eq 3 ]; then
		pass "6: the report no longer lists gina (exit $CTL_RC)"
	else
		fail "6: report after the fix: exit $CTL_RC: $CTL_OUT $CTL_ERR"
	fi
}
