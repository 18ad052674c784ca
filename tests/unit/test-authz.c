/*
 * test-authz.c: who may open a mailbox (include/mbx/authz.h, src/store/authz.c; design.md
 * authorization, seed 000 for SELF as master account, seed 002 for BUILTIN SIDs held by
 * several domains): owner by objectSid, master account (SELF and another account), full access
 * directly and through a group, deny ACEs, ambiguous SIDs with the 2105 event line naming the
 * objects. The resource mailbox uses the security descriptor bytes of conf/directory.ldif.
 */
#include "mbx-test.h"

#include "mbx/authz.h"
#include "mbx/mailbox.h"
#include "mbx/rop-errors.h"
#include "mbx/secdesc.h"

#include "store-fixtures.h"

/* conf/directory.ldif, cn=Conference Room 1: SELF FullAccess + ExternalAccount, Alice
 * FullAccess, Room Delegates FullAccess, Bob SendAs; owner SELF. */
#define ROOM1_SD                                                                                   \
	"010004809c0000000000000000000000140000000200880004000000000214000500000001010000000000"   \
	"050a00000000022400010000000105000000000005150000003e14c2c5f0740b45f168ffd14d0400000002"   \
	"2400010000000105000000000005150000003e14c2c5f0740b45f168ffd1b1040000000224000200000001"   \
	"05000000000005150000003e14c2c5f0740b45f168ffd14e04000001010000000000050a000000"

#define ALICE DOM "-1101"
#define BOB DOM "-1102"
#define DAVE DOM "-1104"
#define ROOM1 DOM "-1107"
#define IVAN DOM "-1108"
#define HELPDESK DOM "-1200"
#define ROOM_DELEGATES DOM "-1201"
#define CHILD "S-1-5-21-1469046367-3356332170-3921670485"
#define HENRY CHILD "-1109"

static struct mbx_sid sid(const char *s)
{
	struct mbx_sid v;

	if (mbx_sid_from_str(s, &v) != 0)
		fail_msg("bad SID %s", s);
	return v;
}

/* room1: disabled resource mailbox, master SELF, the LDIF's descriptor */
static struct mbx_mailbox *room1(void)
{
	struct world w = alice();
	struct mbx_mailbox *m;

	free(w.user->dn);
	w.user->dn = strdup("cn=Conference Room 1,cn=Users,dc=contoso,dc=com");
	ent_set(w.user, "legacyExchangeDN", RCPT("room1"));
	ent_sid(w.user, "objectSid", ROOM1);
	ent_set(w.user, "userAccountControl", "514");
	ent_set(w.user, "msExchUserAccountControl", "2");
	ent_set(w.user, "msExchRecipientTypeDetails", "16");
	ent_hex(w.user, "msExchMasterAccountSid", "01 01 00 00 00 00 00 05 0A 00 00 00");
	ent_hex(w.user, "msExchMailboxSecurityDescriptor", ROOM1_SD);
	m = build(&w);
	world_free(&w);
	return m;
}

/* alice's mailbox with a descriptor made of the given ACEs (type, mask, SID string). */
struct ace_spec {
	uint8_t type, flags;
	uint32_t mask;
	const char *sid;
};

static struct mbx_mailbox *alice_with_sd(const struct ace_spec *aces, size_t n)
{
	struct world w = alice();
	struct mbx_mailbox *m;
	static struct mbx_secdesc sd;
	uint8_t buf[4096];
	struct wr wr;

	mbx_secdesc_init(&sd);
	for (size_t i = 0; i < n; i++) {
		struct mbx_ace ace;
		struct mbx_sid s = sid(aces[i].sid);

		mbx_secdesc_ace_set(&ace, aces[i].type, aces[i].flags, aces[i].mask, &s);
		assert_int_equal(mbx_secdesc_dacl_add(&sd, &ace), 0);
	}
	wr_init(&wr, buf, sizeof(buf));
	assert_int_equal(mbx_secdesc_encode(&wr, &sd), 0);
	ent_del(w.user, "msExchMailboxSecurityDescriptor");
	ent_add(w.user, "msExchMailboxSecurityDescriptor", buf, wr.len);
	m = build(&w);
	world_free(&w);
	return m;
}

static void check(const struct mbx_mailbox *m, const char *who, const char *const *groups,
                  size_t ngroups, enum mbx_authz_result want, enum mbx_authz_via via, bool owner,
                  int line)
{
	struct mbx_sid psid, gs[8];
	struct mbx_authz_principal p = {who, NULL, gs, ngroups, NULL, 0};
	struct mbx_authz a;

	if (who != NULL) {
		psid = sid(who);
		p.sid = &psid;
	}
	for (size_t i = 0; i < ngroups; i++)
		gs[i] = sid(groups[i]);
	memset(&a, 0x5A, sizeof(a));
	mbx_authz_check(m, &p, &a);
	if (a.result != want || a.via != via || a.owner != owner)
		fail_msg("line %d: %s via %s owner %d (%s); expected %s via %s owner %d", line,
		         mbx_authz_result_name(a.result), mbx_authz_via_name(a.via), a.owner,
		         a.reason, mbx_authz_result_name(want), mbx_authz_via_name(via), owner);
	assert_true(strlen(a.reason) > 0);
	if (want == MBX_AUTHZ_GRANTED)
		assert_true(a.owner_right);
	else
		assert_false(a.owner_right || a.send_as_right);
}
#define CHECK(m, who, groups, ngroups, want, via, owner)                                           \
	check((m), (who), (groups), (ngroups), (want), (via), (owner), __LINE__)

static void test_owner(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m = build(&w);
	struct mbx_sid me = sid(ALICE);
	struct mbx_authz_principal p = {"alice@contoso.com", &me, NULL, 0, NULL, 0};
	struct mbx_authz a;

	(void)state;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_OWNER);
	assert_true(a.owner && a.owner_right && a.send_as_right);
	assert_string_equal(a.reason, "alice@contoso.com is the owner (objectSid " ALICE ")");
	/* somebody else: no descriptor, no access */
	CHECK(m, BOB, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* holding alice's SID as a group does not make one the owner */
	{
		const char *g[] = {ALICE};

		CHECK(m, BOB, g, 1, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	}
	/* an unknown principal SID is nobody */
	CHECK(m, NULL, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* a disabled account is not its own mailbox's owner (seed 000: that is the master) */
	mbx_mailbox_free(&m);
	ent_set(w.user, "userAccountControl", "514");
	m = build(&w);
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	mbx_mailbox_free(&m);
	world_free(&w);
}

/* Seed 000's fix: a disabled resource mailbox whose master account is SELF. */
static void test_self_master(void **state)
{
	struct mbx_mailbox *m = room1();
	const char *ivan_groups[] = {HELPDESK, ROOM_DELEGATES};
	const char *helpdesk_only[] = {HELPDESK};
	struct mbx_sid me = sid(ROOM1);
	struct mbx_authz_principal p = {"room1", &me, NULL, 0, NULL, 0};
	struct mbx_authz a;

	(void)state;
	assert_true(m->disabled);
	assert_int_equal(m->master, MBX_MASTER_SELF);
	/* the account itself, through SELF */
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_MASTER_ACCOUNT);
	assert_true(a.owner);
	assert_string_equal(
	        a.reason, "room1 is the owner (msExchMasterAccountSid SELF = objectSid " ROOM1 ")");
	/* Alice: FullAccess ACE of her own */
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	/* Ivan: through Room Delegates (Helpdesk is nested in it; the token is transitive) */
	CHECK(m, IVAN, ivan_groups, 2, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	CHECK(m, IVAN, helpdesk_only, 1, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	CHECK(m, IVAN, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* Bob has Send As only: no full access, no logon */
	CHECK(m, BOB, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	CHECK(m, DAVE, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* full access through a group, with no principal SID at all */
	CHECK(m, NULL, ivan_groups, 2, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	mbx_mailbox_free(&m);
}

/* A linked mailbox: disabled, msExchMasterAccountSid = an account of another forest. */
static void test_master_other_account(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m;

	(void)state;
	ent_set(w.user, "userAccountControl", "514");
	ent_sid(w.user, "msExchMasterAccountSid", "S-1-5-21-111-222-333-1000");
	m = build(&w);
	assert_int_equal(m->master, MBX_MASTER_SID);
	CHECK(m, "S-1-5-21-111-222-333-1000", NULL, 0, MBX_AUTHZ_GRANTED,
	      MBX_AUTHZ_VIA_MASTER_ACCOUNT, true);
	/* the disabled account itself is not the owner */
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* the master SID as a group of someone else does not make them the owner */
	{
		const char *g[] = {"S-1-5-21-111-222-333-1000"};

		CHECK(m, BOB, g, 1, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	}
	mbx_mailbox_free(&m);
	/* enabled with a master account (should not happen, KB 316047): both are owners */
	ent_set(w.user, "userAccountControl", "512");
	m = build(&w);
	CHECK(m, "S-1-5-21-111-222-333-1000", NULL, 0, MBX_AUTHZ_GRANTED,
	      MBX_AUTHZ_VIA_MASTER_ACCOUNT, true);
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_OWNER, true);
	mbx_mailbox_free(&m);
	/* disabled without any master account (seed 000's problem): nobody owns it */
	ent_del(w.user, "msExchMasterAccountSid");
	ent_set(w.user, "userAccountControl", "514");
	m = build(&w);
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	mbx_mailbox_free(&m);
	world_free(&w);
}

/* ACEs for SELF name the mailbox's own account and nobody else. */
static void test_self_ace(void **state)
{
	const struct ace_spec aces[] = {
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, "S-1-5-10"},
	};
	struct mbx_mailbox *m = alice_with_sd(aces, 1);
	const char *self_group[] = {"S-1-5-10"};

	(void)state;
	CHECK(m, BOB, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* claiming SELF as a group is no use either */
	CHECK(m, BOB, self_group, 1, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	/* a disabled account with another master: its own SID reaches it through SELF only */
	m->disabled = true;
	m->master = MBX_MASTER_SID;
	m->master_sid = sid("S-1-5-21-111-222-333-1000");
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	/* without an objectSid, SELF matches nobody */
	m->has_object_sid = false;
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	mbx_mailbox_free(&m);
}

static void test_deny_ace(void **state)
{
	const char *ivan_groups[] = {HELPDESK, ROOM_DELEGATES};
	const struct ace_spec deny_first[] = {
	        {MBX_SD_ACE_ACCESS_DENIED, 0, MBX_SD_RIGHT_FULL_ACCESS, IVAN},
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, ROOM_DELEGATES},
	};
	const struct ace_spec allow_first[] = {
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, ROOM_DELEGATES},
	        {MBX_SD_ACE_ACCESS_DENIED, 0, MBX_SD_RIGHT_FULL_ACCESS, IVAN},
	};
	const struct ace_spec deny_group[] = {
	        {MBX_SD_ACE_ACCESS_DENIED, 0, MBX_SD_RIGHT_FULL_ACCESS, HELPDESK},
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, IVAN},
	        {MBX_SD_ACE_ACCESS_DENIED, 0, MBX_SD_RIGHT_FULL_ACCESS, ALICE},
	};
	const struct ace_spec deny_inherit_only[] = {
	        {MBX_SD_ACE_ACCESS_DENIED, MBX_SD_ACE_INHERIT_ONLY | MBX_SD_ACE_CONTAINER_INHERIT,
	         MBX_SD_RIGHT_FULL_ACCESS, IVAN},
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, IVAN},
	};
	const struct ace_spec deny_sendas[] = {
	        {MBX_SD_ACE_ACCESS_DENIED, 0, MBX_SD_RIGHT_SEND_AS, IVAN},
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_SEND_AS,
	         IVAN},
	};
	struct mbx_mailbox *m;

	(void)state;
	/* the deny ACE comes first: ivan is refused although his group is allowed */
	m = alice_with_sd(deny_first, 2);
	CHECK(m, IVAN, ivan_groups, 2, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	CHECK(m, BOB, ivan_groups + 1, 1, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	mbx_mailbox_free(&m);
	/* allowed first: DACL order decides, as Windows does */
	m = alice_with_sd(allow_first, 2);
	CHECK(m, IVAN, ivan_groups, 2, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	mbx_mailbox_free(&m);
	/* a deny for one of his groups; the owner is not subject to the descriptor */
	m = alice_with_sd(deny_group, 3);
	CHECK(m, IVAN, ivan_groups, 2, MBX_AUTHZ_DENIED, MBX_AUTHZ_VIA_NONE, false);
	CHECK(m, IVAN, NULL, 0, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	CHECK(m, ALICE, NULL, 0, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_OWNER, true);
	mbx_mailbox_free(&m);
	/* an inherit-only deny does not apply to the mailbox itself */
	m = alice_with_sd(deny_inherit_only, 2);
	CHECK(m, IVAN, NULL, 0, MBX_AUTHZ_GRANTED, MBX_AUTHZ_VIA_FULL_ACCESS, false);
	mbx_mailbox_free(&m);
	/* a deny of Send As only: full access, without SendAsRight */
	m = alice_with_sd(deny_sendas, 2);
	{
		struct mbx_sid s = sid(IVAN);
		struct mbx_authz_principal p = {"ivan", &s, NULL, 0, NULL, 0};
		struct mbx_authz a;

		mbx_authz_check(m, &p, &a);
		assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
		assert_true(a.owner_right);
		assert_false(a.send_as_right);
	}
	mbx_mailbox_free(&m);
}

/* Send As for a delegate comes from the descriptor. */
static void test_send_as_right(void **state)
{
	const struct ace_spec aces[] = {
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_SEND_AS,
	         BOB},
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, DAVE},
	};
	struct mbx_mailbox *m = alice_with_sd(aces, 2);
	struct mbx_sid b = sid(BOB), d = sid(DAVE);
	struct mbx_authz_principal p = {"bob", &b, NULL, 0, NULL, 0};
	struct mbx_authz a;

	(void)state;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_FULL_ACCESS);
	assert_true(a.owner_right && a.send_as_right);
	assert_false(a.owner);
	p.sid = &d;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_FULL_ACCESS);
	assert_true(a.owner_right);
	assert_false(a.send_as_right);
	mbx_mailbox_free(&m);
}

/* Seed 002: BUILTIN SIDs exist in every domain; several objects holding one is normal. */
static void test_builtin_not_ambiguous(void **state)
{
	static const char *const rdu_dns[] = {
	        "cn=Remote Desktop Users,cn=Builtin,dc=contoso,dc=com",
	        "cn=Remote Desktop Users,cn=Builtin,dc=child,dc=contoso,dc=com",
	};
	static const char *const users_dns[] = {
	        "cn=Users,cn=Builtin,dc=contoso,dc=com",
	        "cn=Users,cn=Builtin,dc=child,dc=contoso,dc=com",
	        "cn=Users,cn=Builtin,dc=other,dc=contoso,dc=com",
	};
	static const char *const henry_dns[] = {
	        "cn=Henry Hill,cn=Users,dc=child,dc=contoso,dc=com"};
	const struct ace_spec aces[] = {
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, "S-1-5-32-555"},
	};
	struct mbx_sid henry = sid(HENRY);
	struct mbx_sid groups[] = {sid("S-1-5-32-555"), sid("S-1-5-32-545"), sid(CHILD "-513")};
	struct mbx_authz_sid_dns resolved[] = {
	        {sid("S-1-5-32-555"), rdu_dns, 2},
	        {sid("S-1-5-32-545"), users_dns, 3},
	        {sid(HENRY), henry_dns, 1},
	        {sid(CHILD "-513"), NULL, 0}, /* unresolved: not a problem */
	};
	struct mbx_authz_principal p = {"henry@child.contoso.com", &henry, groups, 3, resolved, 4};
	struct mbx_mailbox *m;
	struct world w;
	struct mbx_authz a;

	(void)state;
	/* henry's own mailbox */
	w = alice();
	ent_sid(w.user, "objectSid", HENRY);
	m = build(&w);
	world_free(&w);
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_OWNER);
	mbx_mailbox_free(&m);
	/* another mailbox that grants Remote Desktop Users full access */
	m = alice_with_sd(aces, 1);
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_FULL_ACCESS);
	/* the well-known SIDs (Everyone, SELF, BUILTIN itself) are never ambiguous either */
	resolved[0].sid = sid("S-1-1-0");
	groups[0] = sid("S-1-1-0");
	mbx_authz_check(m, &p, &a);
	assert_int_not_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	resolved[0].sid = sid("S-1-5-32");
	groups[0] = sid("S-1-5-32");
	mbx_authz_check(m, &p, &a);
	assert_int_not_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	/* a BUILTIN RID no table names (S-1-5-32-600) is still BUILTIN */
	resolved[0].sid = sid("S-1-5-32-600");
	groups[0] = sid("S-1-5-32-600");
	mbx_authz_check(m, &p, &a);
	assert_int_not_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	mbx_mailbox_free(&m);
}

struct capture {
	unsigned n;
	enum mbx_log_level level;
	char line[4096];
};

static void capture_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	struct capture *c = ctx;

	c->n++;
	c->level = level;
	snprintf(c->line, sizeof(c->line), "%s", line);
}

/* A domain SID held by two objects is ambiguous: denied, event 2105 naming both. */
static void test_ambiguous_sid(void **state)
{
	static const char *const two[] = {
	        "cn=Helpdesk,cn=Users,dc=contoso,dc=com",
	        "cn=Helpdesk,cn=Users,dc=child,dc=contoso,dc=com",
	};
	const struct ace_spec aces[] = {
	        {MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, ROOM_DELEGATES},
	};
	struct mbx_sid ivan = sid(IVAN), alice_sid = sid(ALICE);
	struct mbx_sid groups[] = {sid(HELPDESK), sid(ROOM_DELEGATES)};
	struct mbx_authz_sid_dns resolved[] = {{sid(HELPDESK), two, 2}};
	struct mbx_authz_principal p = {"ivan@contoso.com", &ivan, groups, 2, resolved, 1};
	struct mbx_mailbox *m = alice_with_sd(aces, 1);
	struct mbx_authz a;

	(void)state;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_AMBIGUOUS_SID);
	assert_false(a.owner || a.owner_right || a.send_as_right);
	assert_string_equal(a.reason, "SID " HELPDESK " is held by 2 objects: "
	                              "\"cn=Helpdesk,cn=Users,dc=contoso,dc=com\", "
	                              "\"cn=Helpdesk,cn=Users,dc=child,dc=contoso,dc=com\"");

	/* through the decision and the log hook: event 2105 names both objects */
	{
		struct mbx_logon_req req = {0};
		struct mbx_logon_input in = {
		        MBX_MAILBOX_NORMAL, m, &req, &server1, &a, "ivan@contoso.com", NULL, 0,
		};
		struct mbx_logon_decision d;
		struct capture c = {0};

		req.logon_flags = MBX_LOGON_PRIVATE;
		req.open_flags = MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | MBX_OPEN_USE_ADMIN_PRIVILEGE;
		req.essdn = RCPT("alice");
		assert_int_equal(mbx_mailbox_classify(m, MBX_DIR_FOUND, &server1, NULL),
		                 MBX_MAILBOX_NORMAL);
		mbx_logon_decide(&in, &d);
		assert_int_equal(d.ec, ecAccessDenied);
		assert_int_equal(d.kind, MBX_LOGON_RESP_FAILURE);
		mbx_log_set_hook(capture_hook, &c);
		mbx_logon_decision_log(&d, &in);
		mbx_log_set_hook(NULL, NULL);
		assert_int_equal(c.n, 1);
		assert_int_equal(c.level, MBX_LOG_WARNING);
		assert_string_equal(
		        c.line,
		        "event=2105 SID_AMBIGUOUS: ivan@contoso.com denied access to " RCPT(
		                "alice") " on server SERVER1: SID " HELPDESK
		                         " is held by 2 objects: "
		                         "\"cn=Helpdesk,cn=Users,dc=contoso,dc=com\", "
		                         "\"cn=Helpdesk,cn=Users,dc=child,dc=contoso,dc=com\"");
	}

	/* ambiguity stops even the owner: the token cannot be trusted */
	p.sid = &alice_sid;
	p.name = "alice@contoso.com";
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	/* the principal's own SID held twice */
	resolved[0].sid = sid(ALICE);
	p.ngroups = 0;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	assert_non_null(strstr(a.reason, "SID " ALICE " is held by 2 objects"));
	/* a SID held twice that is not in the token does not matter */
	resolved[0].sid = sid(DAVE);
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_OWNER);
	/* one object is not ambiguous */
	resolved[0].sid = sid(ALICE);
	resolved[0].ndns = 1;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_GRANTED);
	mbx_mailbox_free(&m);
}

/* Many long or hostile DNs: the reason is escaped and bounded. */
static void test_ambiguous_reason_bounds(void **state)
{
	static char long_dn[1000];
	static const char *dns[12];
	static const char *const odd[] = {"cn=A\"B\n,dc=x", "cn=\x01\xff,dc=y"};
	struct mbx_sid me = sid(ALICE);
	struct mbx_authz_sid_dns resolved[] = {{sid(ALICE), dns, 12}};
	struct mbx_authz_principal p = {"alice", &me, NULL, 0, resolved, 1};
	struct world w = alice();
	struct mbx_mailbox *m = build(&w);
	struct mbx_authz a;

	(void)state;
	memset(long_dn, 'x', sizeof(long_dn) - 1);
	for (size_t i = 0; i < 12; i++)
		dns[i] = long_dn;
	mbx_authz_check(m, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_AMBIGUOUS);
	assert_true(strlen(a.reason) < sizeof(a.reason));
	assert_non_null(strstr(a.reason, "is held by 12 objects"));
	assert_non_null(strstr(a.reason, "..."));
	resolved[0].dns = odd;
	resolved[0].ndns = 2;
	mbx_authz_check(m, &p, &a);
	assert_string_equal(a.reason, "SID " ALICE " is held by 2 objects: "
	                              "\"cn=A\\x22B\\x0a,dc=x\", \"cn=\\x01\\xff,dc=y\"");
	mbx_mailbox_free(&m);
	world_free(&w);
}

static void test_bad_input(void **state)
{
	struct mbx_sid me = sid(ALICE);
	struct mbx_authz_principal p = {"alice", &me, NULL, 0, NULL, 0};
	struct world w = alice();
	struct mbx_mailbox *m = build(&w);
	struct mbx_mailbox *r = room1();
	struct mbx_authz a;

	(void)state;
	mbx_authz_check(NULL, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_DENIED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_BAD_INPUT);
	/* no principal: nobody */
	mbx_authz_check(m, NULL, &a);
	assert_int_equal(a.result, MBX_AUTHZ_DENIED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_NONE);
	assert_non_null(strstr(a.reason, "the principal is not the owner"));
	/* a descriptor spoiled after the snapshot was built */
	r->sd[0] = 2;
	mbx_authz_check(r, &p, &a);
	assert_int_equal(a.result, MBX_AUTHZ_DENIED);
	assert_int_equal(a.via, MBX_AUTHZ_VIA_BAD_INPUT);
	assert_non_null(strstr(a.reason, "does not decode"));
	/* names */
	assert_string_equal(mbx_authz_result_name(MBX_AUTHZ_AMBIGUOUS), "ambiguous");
	assert_string_equal(mbx_authz_result_name((enum mbx_authz_result)9), "invalid");
	assert_string_equal(mbx_authz_via_name(MBX_AUTHZ_VIA_MASTER_ACCOUNT), "master account");
	assert_string_equal(mbx_authz_via_name(MBX_AUTHZ_VIA_FULL_ACCESS), "full access");
	assert_string_equal(mbx_authz_via_name((enum mbx_authz_via)99), "invalid");
	mbx_mailbox_free(&r);
	mbx_mailbox_free(&m);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_owner),
	        cmocka_unit_test(test_self_master),
	        cmocka_unit_test(test_master_other_account),
	        cmocka_unit_test(test_self_ace),
	        cmocka_unit_test(test_deny_ace),
	        cmocka_unit_test(test_send_as_right),
	        cmocka_unit_test(test_builtin_not_ambiguous),
	        cmocka_unit_test(test_ambiguous_sid),
	        cmocka_unit_test(test_ambiguous_reason_bounds),
	        cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
