/*
 * test-mailbox.c: the mailbox snapshot built from directory entries and its classification
 * against this server's identity (include/mbx/mailbox.h, src/store/mailbox.c; design.md state
 * table; MS-OXCSTOR 3.2.5.1.1 order; protocol.md 8). The entries mirror conf/directory.ldif
 * (Contoso, this server is SERVER1) but are built by hand here.
 */
#include "mbx-test.h"

#include "mbx/mailbox.h"
#include "mbx/secdesc.h"

#include "store-fixtures.h"

/* --- building ----------------------------------------------------------------------------- */

static void test_build_normal(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m = build(&w);
	struct mbx_sid sid;
	char buf[MBX_SID_STRMAX];
	static const uint8_t guid[16] = {0x40, 0xe9, 0xc0, 0x9a, 0x46, 0xb8, 0xab, 0x59,
	                                 0xb1, 0xb4, 0x87, 0x81, 0x12, 0x99, 0x97, 0xed};

	(void)state;
	assert_string_equal(m->dn, "cn=Alice Anders,cn=Users,dc=contoso,dc=com");
	assert_string_equal(m->legacy_dn, RCPT("alice"));
	assert_string_equal(m->display_name, "Alice Anders");
	/* the upper-case SMTP: proxy address wins over mail and the secondary address */
	assert_string_equal(m->smtp, "alice@contoso.com");
	assert_int_equal(m->kind, MBX_MAILBOX_KIND_USER);
	assert_true(m->has_rtd);
	assert_int_equal(m->recipient_type_details, 1);
	assert_true(m->has_mailbox);
	assert_string_equal(m->home_mdb_dn, DB01_DN);
	assert_string_equal(m->home_mdb_legacy_dn, AG "/cn=Configuration/cn=Databases/cn=DB01");
	assert_string_equal(m->home_server_dn, SRV1_DN);
	assert_string_equal(m->home_server_legacy_dn, SRV1_LEG);
	assert_false(m->home_server_from_attr);
	assert_false(m->disabled);
	assert_int_equal(m->user_account_control, 512);
	assert_true(m->has_object_sid);
	assert_string_equal(mbx_sid_to_str(&m->object_sid, buf, sizeof(buf)), DOM "-1101");
	assert_int_equal(m->master, MBX_MASTER_NONE);
	memset(&sid, 0, sizeof(sid));
	assert_memory_equal(&m->master_sid, &sid, sizeof(sid));
	assert_true(m->has_mailbox_guid);
	assert_memory_equal(m->mailbox_guid.b, guid, 16);
	assert_int_equal(m->move_status, 0);
	assert_int_equal(m->move_flags, 0);
	assert_null(m->target_address);
	assert_null(m->sd);
	assert_int_equal(m->sd_len, 0);
	assert_int_equal(m->fetched, 1700000000);
	mbx_mailbox_free(&m);
	assert_null(m);
	world_free(&w);
}

static void test_build_smtp_and_names(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m;

	(void)state;
	/* no primary proxy address: mail */
	ent_del(w.user, "proxyAddresses");
	ent_str(w.user, "proxyAddresses", "smtp:secondary@contoso.com");
	ent_str(w.user, "proxyAddresses", "X500:/o=old/cn=alice");
	m = build(&w);
	assert_string_equal(m->smtp, "alice@contoso.com");
	mbx_mailbox_free(&m);
	/* neither: no address */
	ent_del(w.user, "mail");
	ent_del(w.user, "displayName");
	m = build(&w);
	assert_null(m->smtp);
	assert_null(m->display_name);
	mbx_mailbox_free(&m);
	/* "SMTP:" alone is not an address */
	ent_set(w.user, "proxyAddresses", "SMTP:");
	m = build(&w);
	assert_null(m->smtp);
	mbx_mailbox_free(&m);
	world_free(&w);
}

static void test_build_home_server_sources(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m;

	(void)state;
	/* the server entry's legacyExchangeDN beats a stale msExchHomeServerName */
	ent_set(w.user, "msExchHomeServerName", SRV2_LEG);
	m = build(&w);
	assert_string_equal(m->home_server_legacy_dn, SRV1_LEG);
	assert_false(m->home_server_from_attr);
	mbx_mailbox_free(&m);
	/* without a server entry: msExchHomeServerName */
	mbx_dir_entry_free(&w.srv);
	m = build(&w);
	assert_string_equal(m->home_server_legacy_dn, SRV2_LEG);
	assert_true(m->home_server_from_attr);
	assert_string_equal(m->home_server_dn, SRV1_DN);
	mbx_mailbox_free(&m);
	/* without a database either */
	mbx_dir_entry_free(&w.db);
	m = build(&w);
	assert_null(m->home_mdb_legacy_dn);
	assert_null(m->home_server_dn);
	assert_string_equal(m->home_server_legacy_dn, SRV2_LEG);
	assert_true(m->has_mailbox);
	mbx_mailbox_free(&m);
	/* a server entry without legacyExchangeDN keeps the attribute */
	w.db = db_entry(DB01_DN, "DB01", SRV1_DN);
	w.srv = ent_new(SRV1_DN);
	m = build(&w);
	assert_string_equal(m->home_server_legacy_dn, SRV2_LEG);
	assert_true(m->home_server_from_attr);
	mbx_mailbox_free(&m);
	/* DNs match with other case and spacing */
	mbx_dir_entry_free(&w.srv);
	w.srv = server_entry("CN=SERVER1, CN=Servers" CFG, SRV1_LEG);
	m = build(&w);
	assert_string_equal(m->home_server_legacy_dn, SRV1_LEG);
	mbx_mailbox_free(&m);
	world_free(&w);
}

#define K(x) MBX_MAILBOX_KIND_##x

static void test_build_kinds(void **state)
{
	static const struct {
		const char *classes[3];
		const char *rtd;
		bool home_mdb, target;
		enum mbx_mailbox_kind kind;
		bool has_mailbox;
	} rows[] = {
	        {{"user", NULL, NULL}, "1", true, false, K(USER), true},
	        {{"user", NULL, NULL}, NULL, false, false, K(USER), false},
	        {{"inetOrgPerson", NULL, NULL}, NULL, true, false, K(USER), true},
	        {{"user", NULL, NULL}, "128", false, true, K(MAIL_USER), false},
	        {{"user", NULL, NULL}, "2147483648", false, true, K(MAIL_USER), false},
	        /* RemoteSharedMailbox 0x800000000 */
	        {{"user", NULL, NULL}, "34359738368", false, true, K(MAIL_USER), false},
	        /* no homeMDB but a targetAddress: a mail user whatever RTD says */
	        {{"user", NULL, NULL}, NULL, false, true, K(MAIL_USER), false},
	        {{"user", NULL, NULL}, "1", false, true, K(MAIL_USER), false},
	        /* a mail user being given a mailbox (homeMDB wins for the mailbox) */
	        {{"user", NULL, NULL}, "128", true, true, K(MAIL_USER), true},
	        {{"person", "contact", NULL}, "64", false, true, K(CONTACT), false},
	        /* a contact never owns a mailbox, whatever homeMDB says */
	        {{"contact", NULL, NULL}, NULL, true, false, K(CONTACT), false},
	        {{"group", NULL, NULL}, "256", true, false, K(GROUP), false},
	        /* AD computers are class user too */
	        {{"user", "computer", NULL}, NULL, true, false, K(OTHER), true},
	        /* no known class: msExchRecipientTypeDetails decides */
	        {{"top", NULL, NULL}, "32768", false, false, K(CONTACT), false},
	        {{"top", NULL, NULL}, "131072", false, false, K(CONTACT), false},
	        {{"top", NULL, NULL}, "2048", false, false, K(GROUP), false},
	        {{"top", NULL, NULL}, "1", true, false, K(OTHER), true},
	        {{NULL, NULL, NULL}, NULL, false, false, K(OTHER), false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct world w = alice();
		struct mbx_mailbox *m;

		ent_del(w.user, "objectClass");
		for (size_t k = 0; k < 3 && rows[i].classes[k] != NULL; k++)
			ent_str(w.user, "objectClass", rows[i].classes[k]);
		ent_set(w.user, "msExchRecipientTypeDetails", rows[i].rtd);
		if (!rows[i].home_mdb) {
			ent_del(w.user, "homeMDB");
			mbx_dir_entry_free(&w.db);
			mbx_dir_entry_free(&w.srv);
		}
		if (rows[i].target)
			ent_set(w.user, "targetAddress", "SMTP:x@fabrikam.com");
		m = build(&w);
		if (m->kind != rows[i].kind || m->has_mailbox != rows[i].has_mailbox)
			fail_msg("row %zu: kind %s mailbox %d, expected %s %d", i,
			         mbx_mailbox_kind_name(m->kind), m->has_mailbox,
			         mbx_mailbox_kind_name(rows[i].kind), rows[i].has_mailbox);
		mbx_mailbox_free(&m);
		world_free(&w);
	}
	assert_string_equal(mbx_mailbox_kind_name(MBX_MAILBOX_KIND_MAIL_USER), "mail user");
	assert_string_equal(mbx_mailbox_kind_name((enum mbx_mailbox_kind)99), "unknown");
}
#undef K

static void test_build_disabled_and_master(void **state)
{
	static const struct {
		const char *uac, *xuac;
		bool disabled;
	} rows[] = {
	        {"512", "0", false},         {"514", "0", true},    {"512", "2", true},
	        {"514", NULL, true},         {NULL, "2", true},     {NULL, NULL, false},
	        {"66050", "0", true},        {"66048", "0", false}, {"2", "1", true},
	        {"-2147483646", NULL, true}, /* 0x80000002: bit 1 set */
	        {"4294967295", NULL, true},  {"512", "3", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct world w = alice();
		struct mbx_mailbox *m;

		ent_set(w.user, "userAccountControl", rows[i].uac);
		ent_set(w.user, "msExchUserAccountControl", rows[i].xuac);
		m = build(&w);
		if (m->disabled != rows[i].disabled)
			fail_msg("row %zu: disabled %d", i, m->disabled);
		mbx_mailbox_free(&m);
		world_free(&w);
	}

	/* msExchMasterAccountSid: SELF (binary, seed 000 fix), another SID, the string form */
	{
		struct world w = alice();
		struct mbx_mailbox *m;
		char buf[MBX_SID_STRMAX];

		ent_hex(w.user, "msExchMasterAccountSid", "01 01 00 00 00 00 00 05 0A 00 00 00");
		m = build(&w);
		assert_int_equal(m->master, MBX_MASTER_SELF);
		assert_true(mbx_sid_equal(&m->master_sid, &mbx_sid_self));
		mbx_mailbox_free(&m);
		ent_sid(w.user, "msExchMasterAccountSid", "S-1-5-21-1-2-3-500");
		m = build(&w);
		assert_int_equal(m->master, MBX_MASTER_SID);
		assert_string_equal(mbx_sid_to_str(&m->master_sid, buf, sizeof(buf)),
		                    "S-1-5-21-1-2-3-500");
		mbx_mailbox_free(&m);
		ent_set(w.user, "msExchMasterAccountSid", "S-1-5-10");
		ent_set(w.user, "objectSid", DOM "-1101");
		m = build(&w);
		assert_int_equal(m->master, MBX_MASTER_SELF);
		assert_string_equal(mbx_sid_to_str(&m->object_sid, buf, sizeof(buf)), DOM "-1101");
		mbx_mailbox_free(&m);
		ent_del(w.user, "objectSid");
		m = build(&w);
		assert_false(m->has_object_sid);
		mbx_mailbox_free(&m);
		world_free(&w);
	}
}

static void test_build_move_and_sd(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m;
	struct mbx_secdesc sd;
	struct mbx_ace ace;
	struct mbx_sid sid;
	uint8_t buf[256];
	struct wr wr;

	(void)state;
	ent_set(w.user, "msExchMailboxMoveStatus", "4");
	ent_set(w.user, "msExchMailboxMoveFlags", "-2147483646");
	ent_set(w.user, "msExchMailboxMoveSourceMDBLink", DB01_DN);
	ent_set(w.user, "msExchMailboxMoveTargetMDBLink", DB03_DN);
	mbx_secdesc_init(&sd);
	assert_int_equal(mbx_sid_from_str(DOM "-1102", &sid), 0);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, &sid);
	assert_int_equal(mbx_secdesc_dacl_add(&sd, &ace), 0);
	wr_init(&wr, buf, sizeof(buf));
	assert_int_equal(mbx_secdesc_encode(&wr, &sd), 0);
	ent_add(w.user, "msExchMailboxSecurityDescriptor", buf, wr.len);
	m = build(&w);
	assert_int_equal(m->move_status, 4);
	assert_int_equal(m->move_flags, 0x80000002u);
	assert_string_equal(m->move_source_mdb_dn, DB01_DN);
	assert_string_equal(m->move_target_mdb_dn, DB03_DN);
	assert_int_equal(m->sd_len, wr.len);
	assert_memory_equal(m->sd, buf, wr.len);

	/* a deep copy */
	{
		struct mbx_mailbox *c = mbx_mailbox_dup(m);

		assert_non_null(c);
		assert_ptr_not_equal(c->dn, m->dn);
		assert_ptr_not_equal(c->sd, m->sd);
		assert_string_equal(c->dn, m->dn);
		assert_string_equal(c->legacy_dn, m->legacy_dn);
		assert_string_equal(c->home_server_legacy_dn, m->home_server_legacy_dn);
		assert_string_equal(c->move_target_mdb_dn, m->move_target_mdb_dn);
		assert_null(c->target_address);
		assert_memory_equal(c->sd, m->sd, m->sd_len);
		assert_int_equal(c->move_status, 4);
		assert_true(mbx_sid_equal(&c->object_sid, &m->object_sid));
		mbx_mailbox_free(&c);
		assert_null(c);
	}
	mbx_mailbox_free(&m);
	mbx_mailbox_free(&m); /* cleared: a second free is a no-op */
	mbx_mailbox_free(NULL);
	assert_null(mbx_mailbox_dup(NULL));
	world_free(&w);
}

/* Bad attribute values: a directory ERROR with a message naming the entry and the problem. */
static void test_build_errors(void **state)
{
	enum target { USER, DB, SRV };
	static const struct {
		enum target where;
		const char *attr;
		const char *hex; /* value as hex, or */
		const char *str; /* value as a string; both NULL: a second value is added */
		const char *msg;
	} rows[] = {
	        {USER, "msExchMailboxGuid", "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e", NULL,
	         "msExchMailboxGuid is 15 bytes, not 16"},
	        {USER, "msExchMailboxGuid", "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10",
	         NULL, "msExchMailboxGuid is 17 bytes, not 16"},
	        {USER, "msExchMailboxGuid", NULL, NULL, "msExchMailboxGuid has 2 values"},
	        {USER, "objectSid", "02 01 00 00 00 00 00 05 0A 00 00 00", NULL,
	         "objectSid is not a valid binary SID (12 bytes)"},
	        {USER, "objectSid", "01 02 00 00 00 00 00 05 0A 00 00 00", NULL,
	         "objectSid is not a valid binary SID"},
	        {USER, "objectSid", "01 01 00 00 00 00 00 05 0A 00 00 00 00", NULL,
	         "objectSid is not a valid binary SID (13 bytes)"},
	        {USER, "objectSid", NULL, "S-1-5-21-01", "objectSid is not a valid SID string"},
	        {USER, "msExchMasterAccountSid", "01", NULL,
	         "msExchMasterAccountSid is not a valid binary SID (1 bytes)"},
	        {USER, "msExchMasterAccountSid", NULL, "S-1-5-x",
	         "msExchMasterAccountSid is not a valid SID string"},
	        {USER, "msExchMailboxMoveStatus", NULL, "2a",
	         "msExchMailboxMoveStatus \"2a\" is not a decimal number"},
	        {USER, "msExchMailboxMoveStatus", NULL, " 2", "is not a decimal number"},
	        {USER, "msExchMailboxMoveStatus", NULL, "+2", "is not a decimal number"},
	        {USER, "msExchMailboxMoveStatus", NULL, "-", "is not a decimal number"},
	        {USER, "msExchMailboxMoveStatus", NULL, "-1",
	         "msExchMailboxMoveStatus -1 is out of range"},
	        {USER, "msExchMailboxMoveStatus", NULL, "4294967296", "is out of range"},
	        {USER, "msExchMailboxMoveStatus", NULL, "99999999999999999999999",
	         "is out of range"},
	        {USER, "msExchMailboxMoveFlags", NULL, "-2147483649", "is out of range"},
	        {USER, "msExchMailboxMoveFlags", NULL, "0x10", "is not a decimal number"},
	        {USER, "userAccountControl", NULL, "abc", "userAccountControl \"abc\" is not"},
	        {USER, "userAccountControl", NULL, "4294967296",
	         "userAccountControl 4294967296 is out"},
	        {USER, "msExchUserAccountControl", NULL, "2\n", "is not a decimal number"},
	        {USER, "msExchRecipientTypeDetails", NULL, "-1", "is out of range"},
	        {USER, "msExchRecipientTypeDetails", NULL, "9223372036854775808",
	         "is out of range"},
	        {USER, "homeMDB", NULL, NULL, "homeMDB has 2 values; it is single-valued"},
	        {USER, "legacyExchangeDN", NULL, "", "legacyExchangeDN is empty"},
	        {USER, "legacyExchangeDN", "2f 6f 3d 41 00 42", NULL,
	         "legacyExchangeDN holds a NUL"},
	        {USER, "msExchMailboxSecurityDescriptor", "01 00 04 80", NULL,
	         "msExchMailboxSecurityDescriptor does not decode"},
	        {USER, "msExchMailboxSecurityDescriptor",
	         "01 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00 02 00 08 00 00 00 00 "
	         "00",
	         NULL, "msExchMailboxSecurityDescriptor does not decode"},
	        {DB, "msExchOwningServer", NULL, NULL, "msExchOwningServer has 2 values"},
	        {DB, "legacyExchangeDN", NULL, "", "legacyExchangeDN is empty"},
	        {SRV, "legacyExchangeDN", NULL, NULL, "legacyExchangeDN has 2 values"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct world w = alice();
		struct mbx_dir_entry *e = rows[i].where == USER ? w.user
		                          : rows[i].where == DB ? w.db
		                                                : w.srv;
		struct mbx_mailbox *m = (struct mbx_mailbox *)&w; /* must be cleared */
		char err[512];

		if (rows[i].hex != NULL)
			ent_hex(e, rows[i].attr, rows[i].hex);
		else if (rows[i].str != NULL)
			ent_set(e, rows[i].attr, rows[i].str);
		else
			ent_str(e, rows[i].attr, "second value");
		assert_int_equal(
		        mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, err, sizeof(err)), -1);
		assert_null(m);
		if (strstr(err, rows[i].msg) == NULL)
			fail_msg("row %zu: \"%s\" does not contain \"%s\"", i, err, rows[i].msg);
		/* the message starts with the DN of the entry at fault */
		if (strncmp(err, e->dn, strlen(e->dn)) != 0 || err[strlen(e->dn)] != ':')
			fail_msg("row %zu: \"%s\" does not start with the DN", i, err);
		/* a NULL or tiny error buffer is fine too */
		assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, NULL, 0), -1);
		assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, err, 1), -1);
		assert_string_equal(err, "");
		world_free(&w);
	}
}

static void test_build_entry_mismatch(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m = NULL;
	char err[512];

	(void)state;
	/* the database is not the user's homeMDB */
	mbx_dir_entry_free(&w.db);
	w.db = db_entry(DB02_DN, "DB02", SRV1_DN);
	assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "cn=DB02,cn=Databases"));
	assert_non_null(strstr(err, "database entry is not the user's homeMDB"));
	/* the server is not the database's owner */
	mbx_dir_entry_free(&w.db);
	w.db = db_entry(DB01_DN, "DB01", SRV2_DN);
	assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "server entry is not the database's msExchOwningServer"));
	/* a server entry, but the database names no owner */
	mbx_dir_entry_free(&w.db);
	w.db = db_entry(DB01_DN, "DB01", NULL);
	assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "the database has no msExchOwningServer"));
	/* a server entry without a database entry */
	assert_int_equal(mbx_mailbox_from_entries(w.user, NULL, w.srv, 0, &m, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "server entry given without a database entry"));
	/* a database entry for a user without homeMDB */
	ent_del(w.user, "homeMDB");
	assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, NULL, 0, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the user has no homeMDB"));
	/* no user, a user without DN */
	assert_int_equal(mbx_mailbox_from_entries(NULL, NULL, NULL, 0, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no user entry"));
	free(w.user->dn);
	w.user->dn = NULL;
	assert_int_equal(mbx_mailbox_from_entries(w.user, NULL, NULL, 0, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry has no DN"));
	assert_null(m);
	world_free(&w);
}

/* An unprintable DN is escaped in the message. */
static void test_build_error_escapes_dn(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m = NULL;
	char err[512];

	(void)state;
	free(w.user->dn);
	w.user->dn = strdup("cn=Evil\n\"x\",dc=contoso");
	ent_hex(w.user, "msExchMailboxGuid", "00");
	assert_int_equal(mbx_mailbox_from_entries(w.user, w.db, w.srv, 0, &m, err, sizeof(err)),
	                 -1);
	assert_string_equal(err,
	                    "cn=Evil\\x0a\\x22x\\x22,dc=contoso: msExchMailboxGuid is 1 bytes, "
	                    "not 16");
	world_free(&w);
}

/* --- names and places --------------------------------------------------------------------- */

static void test_dn_equal(void **state)
{
	static const struct {
		const char *a, *b;
		bool eq;
	} rows[] = {
	        {"cn=A,dc=x", "cn=A,dc=x", true},
	        {"CN=Alice Anders,DC=Contoso", "cn=alice anders,dc=contoso", true},
	        {"cn=A , dc=x", "cn=A,dc=x", true},
	        {" cn = A,dc=x ", "cn=A,dc=x", true},
	        {"cn=A+sn=B,dc=x", "cn=A + sn=B,dc=x", true},
	        {"cn=Alice Anders,dc=x", "cn=AliceAnders,dc=x", false},
	        {"cn=Alice  Anders,dc=x", "cn=Alice Anders,dc=x", false},
	        {"cn=A\\,B,dc=x", "cn=A,B,dc=x", false},
	        {"cn=A\\,B,dc=x", "cn=a\\,b,dc=x", true},
	        {"cn=A\\2Cb", "cn=a\\2cB", true},
	        {"cn=A,dc=x", "cn=A,dc=y", false},
	        {"cn=A,dc=x", "cn=A,dc=x,dc=y", false},
	        {"", "", true},
	        {"  ", "", true},
	        {"cn=A\\ ", "cn=A", false},
	        /* the fast path (equal but for the case of ASCII letters) and what it leaves
	         * to the full comparison */
	        {"CN=SERVER1,CN=Servers,DC=contoso", "cn=server1,cn=servers,dc=CONTOSO", true},
	        {"CN=SERVER1 , CN=Servers", "cn=server1,cn=servers", true},
	        {"cn=server1,cn=servers", "cn=server1,cn=servers ", true},
	        {"cn=A\\,B", "CN=a\\,b", true},
	        {"cn=\xc3\x89", "cn=\xc3\xa9", false}, /* only ASCII letters are folded */
	        {"cn=[", "cn={", false},               /* '[' + 0x20 is '{', not a letter */
	        {"cn=A", "cn=A,", false},
	        {"cn=Ab", "cn=A", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (mbx_mailbox_dn_equal(rows[i].a, rows[i].b) != rows[i].eq ||
		    mbx_mailbox_dn_equal(rows[i].b, rows[i].a) != rows[i].eq)
			fail_msg("row %zu: \"%s\" vs \"%s\"", i, rows[i].a, rows[i].b);
		/* the key of mbx_mailbox_dn_key: equal keys exactly for equal DNs */
		char *ka = mbx_mailbox_dn_key(rows[i].a, 'D'), *kb = mbx_mailbox_dn_key(rows[i].b, 'D');

		assert_non_null(ka);
		assert_non_null(kb);
		assert_int_equal(ka[0], 'D');
		if ((strcmp(ka, kb) == 0) != rows[i].eq)
			fail_msg("row %zu: keys \"%s\" and \"%s\"", i, ka, kb);
		free(ka);
		free(kb);
	}
	{
		char *k = mbx_mailbox_dn_key(" CN=Alice Anders , DC=Contoso ", '\0');

		assert_string_equal(k, "cn=alice anders,dc=contoso");
		free(k);
		k = mbx_mailbox_dn_key("cn=A\\,B\\", '\0'); /* an escape, and a lone final backslash */
		assert_string_equal(k, "cn=a\\,b\\");
		free(k);
		assert_null(mbx_mailbox_dn_key(NULL, 'D'));
	}
	assert_false(mbx_mailbox_dn_equal(NULL, "cn=A"));
	assert_false(mbx_mailbox_dn_equal("cn=A", NULL));
	assert_false(mbx_mailbox_dn_equal(NULL, NULL));
}

static void test_target_domain_and_forest(void **state)
{
	static const struct {
		const char *target;
		const char *domain;
		bool fabrikam;
	} rows[] = {
	        {"SMTP:erin@fabrikam.com", "fabrikam.com", true},
	        {"smtp:erin@FABRIKAM.COM", "FABRIKAM.COM", true},
	        {"SMTP:erin@corp.fabrikam.com", "corp.fabrikam.com", true},
	        {"erin@fabrikam.com", "fabrikam.com", true},
	        {"SMTP:erin@eu.fabrikam.com", "eu.fabrikam.com", false}, /* exact domains only */
	        {"SMTP:frank@partner.example", "partner.example", false},
	        {"SMTP:\"a@b\"@fabrikam.com", "fabrikam.com", true},
	        {"X400:c=US;a= ;p=Fabrikam", NULL, false},
	        {"SMTP:erin", NULL, false},
	        {"SMTP:@fabrikam.com", NULL, false},
	        {"SMTP:erin@", NULL, false},
	        {"SMTPX:erin@fabrikam.com", NULL, false},
	};
	struct mbx_mailbox m;
	char buf[64], tiny[5];

	(void)state;
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *d;

		m.target_address = (char *)rows[i].target;
		d = mbx_mailbox_target_domain(&m, buf, sizeof(buf));
		if (rows[i].domain == NULL)
			assert_null(d);
		else
			assert_string_equal(d, rows[i].domain);
		if ((mbx_mailbox_foreign_forest(&m, &server1) != NULL) != rows[i].fabrikam)
			fail_msg("row %zu: forest", i);
	}
	m.target_address = (char *)"SMTP:erin@fabrikam.com";
	assert_null(mbx_mailbox_target_domain(&m, tiny, sizeof(tiny)));
	assert_ptr_equal(mbx_mailbox_foreign_forest(&m, &server1), &forests[0]);
	assert_null(mbx_mailbox_foreign_forest(&m, NULL));
	m.target_address = NULL;
	assert_null(mbx_mailbox_target_domain(&m, buf, sizeof(buf)));
	assert_null(mbx_mailbox_target_domain(NULL, buf, sizeof(buf)));
	assert_ptr_equal(mbx_server_identity_forest(&server1, "CORP.fabrikam.com"), &forests[0]);
	assert_null(mbx_server_identity_forest(&server1, "contoso.com"));
	assert_null(mbx_server_identity_forest(&server1, NULL));
}

static void test_move_status(void **state)
{
	(void)state;
	for (uint32_t v = 0; v <= 200; v++) {
		const char *name = mbx_move_status_name(v);
		bool known = v <= 5 || v == 10 || v == 11 || v == 98 || v == 99;
		bool locks = v == 2 || v == 4 || !known;

		assert_int_equal(name != NULL, known);
		if (mbx_move_status_locks(v) != locks)
			fail_msg("status %u: locks %d", v, !locks);
	}
	assert_true(mbx_move_status_locks(UINT32_MAX));
	assert_string_equal(mbx_move_status_name(2), "InProgress");
	assert_string_equal(mbx_move_status_name(4), "CompletionInProgress");
	assert_string_equal(mbx_move_status_name(5), "Synced");
	assert_string_equal(mbx_move_status_name(99), "Failed");
}

/* --- classification ----------------------------------------------------------------------- */

static enum mbx_mailbox_state classify(const struct world *w, const struct mbx_server_identity *id)
{
	struct mbx_mailbox *m = build(w);
	const char *why = NULL;
	enum mbx_mailbox_state st = mbx_mailbox_classify(m, MBX_DIR_FOUND, id, &why);

	assert_non_null(why);
	mbx_mailbox_free(&m);
	return st;
}

static void expect_state(const struct world *w, enum mbx_mailbox_state want, int line)
{
	enum mbx_mailbox_state got = classify(w, &server1);

	if (got != want)
		fail_msg("line %d: state %s, expected %s", line, mbx_mailbox_state_name(got),
		         mbx_mailbox_state_name(want));
}
#define EXPECT_STATE(w, st) expect_state((w), (st), __LINE__)

static void test_classify_design_table(void **state)
{
	struct world w;

	(void)state;
	/* normal */
	w = alice();
	EXPECT_STATE(&w, MBX_MAILBOX_NORMAL);
	world_free(&w);
	/* moved to another database on this server */
	w = alice();
	ent_set(w.user, "homeMDB", DB02_DN);
	mbx_dir_entry_free(&w.db);
	w.db = db_entry(DB02_DN, "DB02", SRV1_DN);
	EXPECT_STATE(&w, MBX_MAILBOX_NORMAL);
	world_free(&w);
	/* in transit */
	w = alice();
	ent_set(w.user, "msExchMailboxMoveStatus", "2");
	EXPECT_STATE(&w, MBX_MAILBOX_IN_TRANSIT);
	ent_set(w.user, "msExchMailboxMoveStatus", "4");
	EXPECT_STATE(&w, MBX_MAILBOX_IN_TRANSIT);
	ent_set(w.user, "msExchMailboxMoveStatus", "7"); /* unknown value */
	EXPECT_STATE(&w, MBX_MAILBOX_IN_TRANSIT);
	world_free(&w);
	/* moved, same forest */
	w = dave();
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_SAME_FOREST);
	world_free(&w);
	/* moved, other forest */
	w = erin();
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_OTHER_FOREST);
	world_free(&w);
	/* custom recipient */
	w = frank();
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	world_free(&w);
	/* disabled without master account SID (seed 000) */
	w = alice();
	ent_set(w.user, "userAccountControl", "514");
	ent_set(w.user, "msExchUserAccountControl", "2");
	EXPECT_STATE(&w, MBX_MAILBOX_DISABLED_NO_MASTER);
	/* ... with one: a resource mailbox, served normally */
	ent_set(w.user, "msExchMasterAccountSid", "S-1-5-10");
	EXPECT_STATE(&w, MBX_MAILBOX_NORMAL);
	world_free(&w);
}

static void test_classify_lookup_status(void **state)
{
	struct world w = alice();
	struct mbx_mailbox *m = build(&w);
	const char *why = NULL;

	(void)state;
	assert_int_equal(mbx_mailbox_classify(NULL, MBX_DIR_NOT_FOUND, &server1, &why),
	                 MBX_MAILBOX_UNKNOWN);
	assert_non_null(strstr(why, "no directory object"));
	/* an object gone from the directory is gone, whatever the cache says */
	assert_int_equal(mbx_mailbox_classify(m, MBX_DIR_NOT_FOUND, &server1, NULL),
	                 MBX_MAILBOX_UNKNOWN);
	/* seed 004: the directory down is never "unknown user" */
	assert_int_equal(mbx_mailbox_classify(NULL, MBX_DIR_TEMPFAIL, &server1, &why),
	                 MBX_MAILBOX_DIR_UNREACHABLE);
	assert_non_null(strstr(why, "unreachable"));
	assert_int_equal(mbx_mailbox_classify(NULL, MBX_DIR_ERROR, &server1, NULL),
	                 MBX_MAILBOX_DIR_ERROR);
	assert_int_equal(mbx_mailbox_classify(NULL, MBX_DIR_FOUND, &server1, &why),
	                 MBX_MAILBOX_DIR_ERROR);
	assert_non_null(strstr(why, "could not be used"));
	/* serve stale: a cached snapshot stands in for a directory that does not answer */
	assert_int_equal(mbx_mailbox_classify(m, MBX_DIR_TEMPFAIL, &server1, NULL),
	                 MBX_MAILBOX_NORMAL);
	assert_int_equal(mbx_mailbox_classify(m, MBX_DIR_ERROR, &server1, NULL),
	                 MBX_MAILBOX_NORMAL);
	mbx_mailbox_free(&m);
	world_free(&w);
}

/* The order of MS-OXCSTOR 3.2.5.1.1: no mailbox, in transit, disabled, wrong server. */
static void test_classify_order(void **state)
{
	struct world w;

	(void)state;
	/* in transit beats disabled-without-master and the redirect */
	w = dave();
	ent_set(w.user, "msExchMailboxMoveStatus", "2");
	ent_set(w.user, "userAccountControl", "514");
	EXPECT_STATE(&w, MBX_MAILBOX_IN_TRANSIT);
	/* disabled beats the redirect */
	ent_set(w.user, "msExchMailboxMoveStatus", "10");
	EXPECT_STATE(&w, MBX_MAILBOX_DISABLED_NO_MASTER);
	/* ... which follows once a master account is set */
	ent_sid(w.user, "msExchMasterAccountSid", "S-1-5-21-9-9-9-1000");
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_SAME_FOREST);
	world_free(&w);
	/* no mailbox beats a move status (step 2 before step 3) */
	w = erin();
	ent_set(w.user, "msExchMailboxMoveStatus", "2");
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_OTHER_FOREST);
	ent_set(w.user, "userAccountControl", "514");
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_OTHER_FOREST);
	world_free(&w);
	w = frank();
	ent_set(w.user, "msExchMailboxMoveStatus", "2");
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	world_free(&w);
}

static void test_classify_moves(void **state)
{
	static const struct {
		const char *status;
		enum mbx_mailbox_state st;
	} rows[] = {
	        {"0", MBX_MAILBOX_NORMAL},     {"1", MBX_MAILBOX_NORMAL},
	        {"2", MBX_MAILBOX_IN_TRANSIT}, {"3", MBX_MAILBOX_NORMAL},
	        {"4", MBX_MAILBOX_IN_TRANSIT}, {"5", MBX_MAILBOX_NORMAL},
	        {"6", MBX_MAILBOX_IN_TRANSIT}, {"10", MBX_MAILBOX_NORMAL},
	        {"11", MBX_MAILBOX_NORMAL},    {"98", MBX_MAILBOX_NORMAL},
	        {"99", MBX_MAILBOX_NORMAL},    {"4294967295", MBX_MAILBOX_IN_TRANSIT},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct world w = alice();

		ent_set(w.user, "msExchMailboxMoveStatus", rows[i].status);
		if (classify(&w, &server1) != rows[i].st)
			fail_msg("status %s", rows[i].status);
		world_free(&w);
	}
}

static void test_classify_no_mailbox(void **state)
{
	struct world w;
	struct mbx_server_identity no_forests = server1;

	(void)state;
	no_forests.forests = NULL;
	no_forests.nforests = 0;
	/* a mail user whose target is in no configured forest: custom recipient */
	w = erin();
	assert_int_equal(classify(&w, &no_forests), MBX_MAILBOX_CUSTOM_RECIPIENT);
	ent_set(w.user, "targetAddress", "SMTP:erin@partner.example");
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	ent_set(w.user, "targetAddress", "X400:c=US;p=Fabrikam");
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	ent_set(w.user, "targetAddress", "SMTP:erin@corp.fabrikam.com");
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_OTHER_FOREST);
	world_free(&w);
	/* a contact whose target is in Fabrikam is still a custom recipient */
	w = frank();
	ent_set(w.user, "targetAddress", "SMTP:frank@fabrikam.com");
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	world_free(&w);
	/* a user without a mailbox, a group */
	w = alice();
	ent_del(w.user, "homeMDB");
	mbx_dir_entry_free(&w.db);
	mbx_dir_entry_free(&w.srv);
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	ent_set(w.user, "objectClass", "group");
	EXPECT_STATE(&w, MBX_MAILBOX_CUSTOM_RECIPIENT);
	world_free(&w);
}

static void test_classify_home_server(void **state)
{
	struct world w;
	struct mbx_server_identity legacy_only = server1, dn_only = server1;

	(void)state;
	legacy_only.ldap_dn = NULL;
	dn_only.legacy_dn = NULL;
	/* known only through msExchHomeServerName */
	w = alice();
	mbx_dir_entry_free(&w.db);
	mbx_dir_entry_free(&w.srv);
	EXPECT_STATE(&w, MBX_MAILBOX_NORMAL);
	ent_set(w.user, "msExchHomeServerName", SRV1_LEG "X");
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_SAME_FOREST);
	ent_set(w.user, "msExchHomeServerName", AG "/CN=Configuration/CN=Servers/CN=server1");
	EXPECT_STATE(&w, MBX_MAILBOX_NORMAL);
	/* nothing says where: home unknown */
	ent_del(w.user, "msExchHomeServerName");
	EXPECT_STATE(&w, MBX_MAILBOX_HOME_UNKNOWN);
	world_free(&w);
	/* the database is on SERVER2 but the server entry is missing and msExchHomeServerName
	 * (stale) names us: never redirect a client to ourselves */
	w = dave();
	mbx_dir_entry_free(&w.srv);
	ent_set(w.user, "msExchHomeServerName", SRV1_LEG);
	EXPECT_STATE(&w, MBX_MAILBOX_HOME_UNKNOWN);
	ent_del(w.user, "msExchHomeServerName");
	EXPECT_STATE(&w, MBX_MAILBOX_HOME_UNKNOWN);
	ent_set(w.user, "msExchHomeServerName", SRV2_LEG);
	EXPECT_STATE(&w, MBX_MAILBOX_MOVED_SAME_FOREST);
	world_free(&w);
	/* msExchOwningServer beats msExchHomeServerName (stale after a move) */
	w = alice();
	ent_set(w.user, "msExchHomeServerName", SRV2_LEG);
	EXPECT_STATE(&w, MBX_MAILBOX_NORMAL);
	world_free(&w);
	/* identity with only one of its names */
	w = alice();
	assert_int_equal(classify(&w, &legacy_only), MBX_MAILBOX_NORMAL);
	assert_int_equal(classify(&w, &dn_only), MBX_MAILBOX_NORMAL);
	world_free(&w);
	w = dave();
	assert_int_equal(classify(&w, &legacy_only), MBX_MAILBOX_MOVED_SAME_FOREST);
	assert_int_equal(classify(&w, &dn_only), MBX_MAILBOX_MOVED_SAME_FOREST);
	/* seen from SERVER2, dave is at home and alice is elsewhere */
	{
		struct mbx_server_identity server2 = {"SERVER2", SRV2_LEG, SRV2_DN, NULL, 0, false};
		struct world a = alice();

		assert_int_equal(classify(&w, &server2), MBX_MAILBOX_NORMAL);
		assert_int_equal(classify(&a, &server2), MBX_MAILBOX_MOVED_SAME_FOREST);
		world_free(&a);
	}
	world_free(&w);
	/* no identity: nothing is hosted here */
	w = alice();
	assert_int_equal(classify(&w, NULL), MBX_MAILBOX_MOVED_SAME_FOREST);
	world_free(&w);
}

static void test_state_names(void **state)
{
	(void)state;
	for (int i = 0; i < MBX_MAILBOX_NSTATES; i++) {
		const char *a = mbx_mailbox_state_name((enum mbx_mailbox_state)i);

		assert_string_not_equal(a, "invalid");
		for (int k = 0; k < i; k++)
			assert_string_not_equal(a,
			                        mbx_mailbox_state_name((enum mbx_mailbox_state)k));
	}
	assert_string_equal(mbx_mailbox_state_name(MBX_MAILBOX_NSTATES), "invalid");
	assert_string_equal(mbx_mailbox_state_name(MBX_MAILBOX_DIR_UNREACHABLE),
	                    "directory unreachable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_build_normal),
	        cmocka_unit_test(test_build_smtp_and_names),
	        cmocka_unit_test(test_build_home_server_sources),
	        cmocka_unit_test(test_build_kinds),
	        cmocka_unit_test(test_build_disabled_and_master),
	        cmocka_unit_test(test_build_move_and_sd),
	        cmocka_unit_test(test_build_errors),
	        cmocka_unit_test(test_build_entry_mismatch),
	        cmocka_unit_test(test_build_error_escapes_dn),
	        cmocka_unit_test(test_dn_equal),
	        cmocka_unit_test(test_target_domain_and_forest),
	        cmocka_unit_test(test_move_status),
	        cmocka_unit_test(test_classify_design_table),
	        cmocka_unit_test(test_classify_lookup_status),
	        cmocka_unit_test(test_classify_order),
	        cmocka_unit_test(test_classify_moves),
	        cmocka_unit_test(test_classify_no_mailbox),
	        cmocka_unit_test(test_classify_home_server),
	        cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
