# shellcheck shell=bash
# s5-custom-recipient.sh: scenario 5 of tests/integration/test-scenarios.sh (docs/scenarios.md
# 5): frank is a custom recipient (a mail contact with a targetAddress outside every configured
# forest, no mailbox, no account; seed 003). alice, validated, asks SERVER1 for a logon to his
# legacyExchangeDN: ecUnknownUser (0x3EB) and the failure audit, event 1023, naming him.
# Autodiscover for his address answers the POX error 501 (known, but nothing to configure),
# not settings and not a redirect.

scenario_5() {
	local F mark r
	F=$(legacy_of frank)
	mark=$(log_mark SERVER1)
	r=$(logon SERVER1 alice@contoso.com alice "$F" "$(legacy_of alice)")
	expect_logon "$r" 0x000003EB "5: alice's logon to frank's contact (ecUnknownUser)"
	if wait_log SERVER1 "$mark" 'event=1023 LOGON_FAILURE_AUDIT: .*alice.*frank'; then
		pass "5: event 1023 LOGON_FAILURE_AUDIT logged, naming alice and frank"
	else
		fail "5: no event 1023 naming alice and frank: $(log_since SERVER1 "$mark" | grep -i frank | head -3)"
	fi
	r=$(autodiscover SERVER1 alice@contoso.com alice --email frank@partner.example)
	if [ "$(jget "$r" http)" = 200 ] && [ "$(jget "$r" error_code)" = 501 ] &&
		[ -z "$(jget "$r" action)" ]; then
		pass "5: Autodiscover for frank@partner.example: POX error 501, no settings"
	else
		fail "5: Autodiscover for frank@partner.example: $r"
	fi
	r=$(autodiscover SERVER1 alice@contoso.com alice --legacy-dn "$F")
	if [ "$(jget "$r" error_code)" = 501 ]; then
		pass "5: Autodiscover for his LegacyDN: POX error 501"
	else
		fail "5: Autodiscover for frank's LegacyDN: $r"
	fi
}
