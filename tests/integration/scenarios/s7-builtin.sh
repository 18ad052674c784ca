# shellcheck shell=bash
# s7-builtin.sh: scenario 7 of tests/integration/test-scenarios.sh (docs/scenarios.md 7; seed
# 002): henry (child.contoso.com) is a member of BUILTIN\Remote Desktop Users of both domains,
# two group objects with the one SID S-1-5-32-555. He logs on to his mailbox normally, by UPN and
# by down-level name, and the daemon logs no SID ambiguity (event 2105).

scenario_7() {
	local H mark r
	H=$(legacy_of henry)
	mark=$(log_mark SERVER1)
	r=$(logon SERVER1 henry@child.contoso.com henry "$H")
	if expect_logon "$r" 0x00000000 "7: henry (UPN henry@child.contoso.com) on SERVER1" &&
		[ "$(jget "$r" mailbox_guid)" = 0527d511-23dd-5392-b6ae-1bf8347b2828 ]; then
		pass "7: henry's own MailboxGuid"
	fi
	r=$(logon SERVER1 'CHILD\henry' henry "$H")
	expect_logon "$r" 0x00000000 "7: henry as CHILD\\henry"
	if ! log_since SERVER1 "$mark" | grep -q 'event=2105'; then
		pass "7: no event 2105 SID_AMBIGUOUS for S-1-5-32-555"
	else
		fail "7: $(log_since SERVER1 "$mark" | grep 'event=2105' | head -2)"
	fi
}
