/*
 * test-store-rops.c: the store facts of src/store/mailbox-store.c (FIDs, the name-based GUIDs,
 * receive folders, MessageClass rules: MS-OXCSTOR 2.2.1.1.3, 2.2.1.2.1, 3.2.5.2) as pure
 * functions, and the ROP handlers of src/store/store-rops.c through a session on the sample
 * directory (conf/directory.ldif, ldif backend, libevent loop), alice logged on to her mailbox:
 * RopGetPropertiesSpecific on the Logon and Folder objects (MS-OXCPRPT 3.2.5.1, MS-OXCDATA
 * 2.8.1: standard and flagged rows, PtypUnspecified, WantUnicode, UTF-8 to UTF-16 and to
 * PtypString8, EntryIDs), RopLongTermIdFromId / RopIdFromLongTermId (MS-OXCSTOR 3.2.5.8,
 * 3.2.5.9), RopGetReceiveFolder, RopOpenFolder, RopGetStoreState, with the boundary rows of
 * their count and length fields. Expected GUIDs were computed with Python's hashlib/uuid.
 */
#include "mbx-test.h"

#include <stdbool.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/mailbox-table.h"
#include "mbx/oxcstor.h"
#include "mbx/principal.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"
#include "mbx/session.h"
#include "mbx/store-rops.h"

#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define CONFIG_DN                                                                                  \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define SERVER1_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER1"
#define ALICE_DN "cn=Alice Anders,cn=Users,dc=contoso,dc=com"
#define ALICE_LEG AG "/cn=Recipients/cn=alice"

#define ALICE_MAILBOX_GUID "40E9C09A46B8AB59B1B48781129997ED"
#define ALICE_REPL_GUID "1418A2D7B6EED058A94710C4B64F0CE1" /* d7a21814-eeb6-58d0-a947-... */
#define INBOX_FID "0100 00000000000D"
#define ROOT_FID "0100 000000000001"
#define IPM_FID "0100 000000000009"

static const struct mbx_server_identity server1 = {
        "SERVER1", SERVER1_LEG, "cn=SERVER1,cn=Servers," CONFIG_DN, NULL, 0, false};

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

/* --- pure: the store facts ------------------------------------------------------------------ */

static void guid_hex(const char *hex, struct mbx_guid *g)
{
	size_t n;
	uint8_t *b = mbx_test_hex(hex, &n);

	assert_int_equal(n, 16);
	memcpy(g->b, b, 16);
	free(b);
}

static void test_guid5(void **state)
{
	struct mbx_guid g, want, mg;
	char s[MBX_GUID_STRLEN + 1];

	(void)state;
	mbx_mailbox_store_guid5("abc", 3, &g);
	assert_string_equal(mbx_guid_to_str(&g, s), "50a64b94-3782-5f50-bb70-bc1c26ef9e48");
	guid_hex(ALICE_MAILBOX_GUID, &mg);
	mbx_mailbox_store_repl_guid(&mg, &g);
	guid_hex(ALICE_REPL_GUID, &want);
	assert_true(mbx_guid_equal(&g, &want));
	assert_string_equal(mbx_guid_to_str(&g, s), "d7a21814-eeb6-58d0-a947-10c4b64f0ce1");
	/* a different MailboxGuid, a different ReplGuid */
	mg.b[15] ^= 1;
	mbx_mailbox_store_repl_guid(&mg, &g);
	assert_false(mbx_guid_equal(&g, &want));
}

static void test_private_store(void **state)
{
	struct mbx_mailbox a, b;
	struct mbx_mailbox_store sa, sb;
	char db01[] = "cn=DB01", db02[] = "cn=DB02", other[] = "/o=Other", server[] = SERVER1_LEG;
	static const uint64_t globcnts[MBX_LOGON_NFIDS] = {0x01, 0x02, 0x03, 0x09, 0x0d, 0x0c, 0x0a,
	                                                   0x0b, 0x07, 0x08, 0x05, 0x06, 0x04};

	(void)state;
	memset(&a, 0, sizeof(a));
	a.has_mailbox_guid = true;
	guid_hex(ALICE_MAILBOX_GUID, &a.mailbox_guid);
	a.home_mdb_dn = db01;
	a.home_server_legacy_dn = server;
	b = a;
	b.home_mdb_dn = db02; /* a move to another database: nothing changes */
	b.legacy_dn = other;
	assert_int_equal(mbx_mailbox_store_private(&a, &sa), 0);
	assert_int_equal(mbx_mailbox_store_private(&b, &sb), 0);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	assert_int_equal(sa.kind, MBX_STORE_PRIVATE);
	assert_int_equal(sa.replid, 1);
	assert_int_equal(sa.nfolders, MBX_LOGON_NFIDS);
	for (size_t i = 0; i < MBX_LOGON_NFIDS; i++) {
		assert_int_equal(sa.fids[i].replid, 1);
		assert_int_equal(sa.fids[i].globcnt, globcnts[i]);
		assert_int_equal(mbx_mailbox_store_folder(&sa, sa.fids[i]), (int)i);
		assert_true(mbx_fid_to_u64(mbx_mailbox_store_fid(&sa, i)) ==
		            mbx_fid_to_u64(sa.fids[i]));
	}
	assert_int_equal(mbx_mailbox_store_folder(&sa, mbx_fid_make(2, 0x0d)), -1);
	assert_int_equal(mbx_mailbox_store_folder(&sa, mbx_fid_make(1, 0x0e)), -1);
	assert_int_equal(mbx_mailbox_store_folder(&sa, mbx_fid_make(0, 0)), -1);
	assert_int_equal(mbx_mailbox_store_child_count(&sa, MBX_FOLDER_ROOT), 8);
	assert_int_equal(mbx_mailbox_store_child_count(&sa, MBX_FOLDER_IPM_SUBTREE), 4);
	assert_int_equal(mbx_mailbox_store_child_count(&sa, MBX_FOLDER_INBOX), 0);
	assert_int_equal(mbx_mailbox_store_content_count(&sa, MBX_FOLDER_INBOX), 0);
	assert_int_equal(mbx_mailbox_store_unread_count(&sa, MBX_FOLDER_INBOX), 0);
	assert_string_equal(sa.folders[MBX_FOLDER_IPM_SUBTREE].name, "Top of Information Store");

	a.has_mailbox_guid = false;
	assert_int_equal(mbx_mailbox_store_private(&a, &sa), -1);
	assert_int_equal(mbx_mailbox_store_private(NULL, &sa), -1);
}

static void test_public_store(void **state)
{
	struct mbx_mailbox_store st, up;
	struct mbx_server_identity id = server1;
	struct mbx_guid want;

	(void)state;
	mbx_mailbox_store_public(&server1, &st);
	guid_hex("5C99735488727C5183EF98278C5478A6", &want);
	assert_true(mbx_guid_equal(&st.repl_guid, &want));
	assert_true(mbx_guid_is_null(&st.mailbox_guid));
	assert_int_equal(st.nfolders, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(st.fids[i].globcnt, i + 1);
	for (size_t i = 4; i < MBX_LOGON_NFIDS; i++)
		assert_true(mbx_fid_to_u64(st.fids[i]) == 0);
	assert_int_equal(mbx_mailbox_store_child_count(&st, 0), 2);
	assert_int_equal(mbx_mailbox_store_child_count(&st, 2), 1);
	/* the legacyExchangeDN is compared without case */
	id.legacy_dn = "/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)"
	               "/CN=CONFIGURATION/CN=SERVERS/CN=SERVER1";
	mbx_mailbox_store_public(&id, &up);
	assert_true(mbx_guid_equal(&up.repl_guid, &want));
	mbx_mailbox_store_public(NULL, &up); /* no identity: still a GUID */
	assert_false(mbx_guid_is_null(&up.repl_guid));
	{
		const char *x = NULL;

		assert_int_equal(mbx_mailbox_store_receive_folder(&st, "IPM", &x), -1);
	}
}

static void test_receive_folders(void **state)
{
	static const struct {
		const char *cls;
		int folder;
		const char *explicit_cls;
	} rows[] = {
	        {"", MBX_FOLDER_INBOX, ""},
	        {"IPM", MBX_FOLDER_INBOX, "IPM"},
	        {"ipm", MBX_FOLDER_INBOX, "IPM"},
	        {"IPM.Note", MBX_FOLDER_INBOX, "IPM"},
	        {"IPM.Note.Secure.Sign", MBX_FOLDER_INBOX, "IPM"},
	        {"IPMX", MBX_FOLDER_INBOX, ""}, /* not a subclass of IPM */
	        {"IPC", MBX_FOLDER_ROOT, "IPC"},
	        {"ipc.MS.Outlook", MBX_FOLDER_ROOT, "IPC"},
	        {"REPORT.IPM.Note.NDR", MBX_FOLDER_INBOX, "REPORT.IPM"},
	        {"REPORT", MBX_FOLDER_INBOX, ""},
	        {"Something.Else", MBX_FOLDER_INBOX, ""},
	};
	struct mbx_mailbox m;
	struct mbx_mailbox_store st;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.has_mailbox_guid = true;
	assert_int_equal(mbx_mailbox_store_private(&m, &st), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *x = NULL;

		assert_int_equal(mbx_mailbox_store_receive_folder(&st, rows[i].cls, &x),
		                 rows[i].folder);
		assert_string_equal(x, rows[i].explicit_cls);
	}
}

static void test_class_valid(void **state)
{
	char c[300];

	(void)state;
	assert_true(mbx_mailbox_store_class_valid(""));
	assert_true(mbx_mailbox_store_class_valid("I"));
	assert_true(mbx_mailbox_store_class_valid("IPM.Note"));
	assert_true(mbx_mailbox_store_class_valid(" ~"));
	assert_false(mbx_mailbox_store_class_valid(".IPM"));
	assert_false(mbx_mailbox_store_class_valid("IPM."));
	assert_false(mbx_mailbox_store_class_valid("."));
	assert_false(mbx_mailbox_store_class_valid("IPM..Note"));
	assert_false(mbx_mailbox_store_class_valid("IPM\x1F"));
	assert_false(mbx_mailbox_store_class_valid("IPM\x7F"));
	assert_false(mbx_mailbox_store_class_valid("IPM\xC3\xA9"));
	/* 255 bytes with the NUL is the most (2.2.1.2.1) */
	memset(c, 'A', sizeof(c));
	c[254] = '\0';
	assert_true(mbx_mailbox_store_class_valid(c));
	c[254] = 'A';
	c[255] = '\0';
	assert_false(mbx_mailbox_store_class_valid(c));
}

/* --- the handlers through a session ------------------------------------------------------- */

struct fx {
	struct event_base *base;
	char tmp[64], path[4096];
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *res;
	struct mbx_logon_pipeline *pl;
	struct mbx_session *s;
	uint32_t h[4]; /* the handle table after the logon: the Logon object in slot 0 */
};

struct buf {
	uint8_t b[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD + 64];
	size_t len;
};

struct out {
	int calls;
	uint32_t ec;
	uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	size_t plen;
};

static void exec_cb(void *ctx, const struct mbx_session_exec_result *res)
{
	struct out *o = ctx;
	struct mbx_rhe hdr;
	struct rd r;

	o->calls++;
	o->ec = res->error_code;
	o->plen = 0;
	if (res->error_code != 0)
		return;
	rd_init(&r, res->rop_out, res->rop_out_len, 0);
	assert_int_equal(mbx_rhe_read(&r, &hdr, o->payload, &o->plen), 0);
}

static void put(struct buf *b, const char *hex)
{
	size_t n;
	uint8_t *p = mbx_test_hex(hex, &n);

	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, p, n);
	b->len += n;
	free(p);
}

/* Runs the ROPs in rops with the handle table h[0..3]; the response payload in o. */
static void exec_rops(struct fx *fx, const struct buf *rops, struct out *o)
{
	struct buf *rb = malloc(sizeof(*rb));
	size_t pl = 2 + rops->len + 16;
	struct mbx_session_exec_req req;

	assert_non_null(rb);
	assert_true(pl <= MBX_RHE_MAX_PAYLOAD);
	mbx_put_le16(rb->b, 0);
	mbx_put_le16(rb->b + 2, MBX_RHE_LAST);
	mbx_put_le16(rb->b + 4, (uint16_t)pl);
	mbx_put_le16(rb->b + 6, (uint16_t)pl);
	mbx_put_le16(rb->b + 8, (uint16_t)(rops->len + 2));
	memcpy(rb->b + 10, rops->b, rops->len);
	for (int i = 0; i < 4; i++)
		mbx_put_le32(rb->b + 10 + rops->len + 4 * i, fx->h[i]);
	rb->len = 8 + pl;
	req = (struct mbx_session_exec_req){MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC, rb->b,
	                                    rb->len, 0x8007};
	memset(o, 0, sizeof(*o));
	assert_non_null(mbx_session_execute(fx->s, &req, exec_cb, o));
	for (int i = 0; i < 100000 && o->calls == 0; i++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(o->calls, 1);
	free(rb);
}

static void exec_hex(struct fx *fx, const char *hex, struct out *o)
{
	struct buf *rops = malloc(sizeof(*rops));

	assert_non_null(rops);
	rops->len = 0;
	put(rops, hex);
	exec_rops(fx, rops, o);
	free(rops);
}

/* The responses of the list (between RopSize and the handle table) must be hex. */
static void expect(const struct out *o, const char *hex)
{
	size_t n;
	uint8_t *want = mbx_test_hex(hex, &n);
	uint16_t rs;

	assert_int_equal(o->ec, 0);
	assert_true(o->plen >= 2);
	rs = mbx_le16(o->payload);
	if (rs - 2u != n || memcmp(o->payload + 2, want, n) != 0) {
		fprintf(stderr, "got  (%u):", rs - 2u);
		for (size_t i = 2; i < rs; i++)
			fprintf(stderr, " %02X", o->payload[i]);
		fprintf(stderr, "\nwant (%zu):", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02X", want[i]);
		fprintf(stderr, "\n");
		fail_msg("responses differ");
	}
	free(want);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;

	if (in == NULL)
		fail_msg("cannot open %s", from);
	out = fopen(to, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static time_t fixed_clock(void *ctx)
{
	(void)ctx;
	return 1709647629;
}

static void logon(struct fx *fx)
{
	struct buf *rops = malloc(sizeof(*rops));
	struct mbx_logon_req req = {0, 0, MBX_LOGON_PRIVATE, 0x0100000C, 0, 0, ALICE_LEG};
	struct out *o = malloc(sizeof(*o));
	struct wr w;

	assert_non_null(rops);
	assert_non_null(o);
	wr_init(&w, rops->b, sizeof(rops->b));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	rops->len = w.len;
	for (int i = 0; i < 4; i++)
		fx->h[i] = MBX_HANDLE_NONE;
	exec_rops(fx, rops, o);
	assert_int_equal(o->ec, 0);
	assert_int_equal(mbx_le16(o->payload), 2 + 166);
	assert_int_equal(o->payload[2 + 2], 0); /* ReturnValue */
	fx->h[0] = mbx_le32(o->payload + 2 + 166);
	assert_int_equal(fx->h[0], 1);
	free(rops);
	free(o);
}

static void mod_cb(void *ctx, const struct mbx_dir_result *res)
{
	*(enum mbx_dir_status *)ctx = res->status;
}

static void set_attr(struct fx *fx, const char *attr, const char *value)
{
	struct mbx_dir_value v = {(uint8_t *)(uintptr_t)value, strlen(value)};
	struct mbx_dir_mod m = {MBX_DIR_MOD_REPLACE, attr, &v, 1};
	enum mbx_dir_status st = MBX_DIR_ERROR;

	assert_non_null(mbx_dir_modify(fx->dir, ALICE_DN, &m, 1, mod_cb, &st));
	for (int i = 0; i < 1000 && st == MBX_DIR_ERROR; i++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(st, MBX_DIR_FOUND);
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *src = getenv("MBX_SRCDIR");
	struct mbx_principal_config pc = {.group_depth = 8};
	struct mbx_mailbox_table_config tc = {.ttl_ms = 60000, .stale_max_ms = 3600000};
	struct mbx_logon_pipeline_config lc = {0};
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	struct mbx_session_config sc = {0};
	char from[4096], err[512];

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/test-store-rops.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(from, sizeof(from), "%s/conf/directory.ldif", src != NULL ? src : ".");
	snprintf(fx->path, sizeof(fx->path), "%s/directory.ldif", fx->tmp);
	copy_file(from, fx->path);
	dc.ldif_path = fx->path;
	fx->dir = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (fx->dir == NULL)
		fail_msg("ldif backend: %s", err);
	mbx_dir_defer_init(&tc.defer, fx->base);
	fx->table = mbx_mailbox_table_new(fx->dir, &tc);
	mbx_dir_defer_init(&pc.defer, fx->base);
	fx->res = mbx_principal_resolver_new(fx->dir, &pc);
	lc.table = fx->table;
	lc.resolver = fx->res;
	lc.id = &server1;
	mbx_dir_defer_init(&lc.defer, fx->base);
	fx->pl = mbx_logon_pipeline_new(&lc);
	assert_non_null(fx->pl);
	sc.pipeline = fx->pl;
	sc.id = &server1;
	mbx_dir_defer_init(&sc.defer, fx->base);
	sc.principal_dn = ALICE_DN;
	sc.principal_legacy_dn = ALICE_LEG;
	sc.principal_name = "alice@contoso.com";
	sc.clock = fixed_clock;
	fx->s = mbx_session_new(&sc);
	assert_non_null(fx->s);
	mbx_log_set_hook(log_hook, NULL);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[200];

	mbx_log_set_hook(NULL, NULL);
	mbx_session_free(&fx->s);
	mbx_logon_pipeline_free(&fx->pl);
	mbx_principal_resolver_free(&fx->res);
	mbx_mailbox_table_free(&fx->table);
	mbx_dir_free(&fx->dir);
	event_base_free(fx->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmp);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* "Alice Anders" and "Mailbox - Alice Anders" in UTF-16LE and 8-bit */
#define U16_ALICE "41006C00690063006500200041006E0064006500720073000000"
#define S8_ALICE "416C69636520416E6465727300"
#define U16_MAILBOX "4D00610069006C0062006F00780020002D002000" U16_ALICE
#define AB_EID_ALICE                                                                               \
	"7100 00000000 DCA740C8C042101AB4B908002B2FE182 01000000 00000000"                         \
	"2F6F3D436F6E746F736F2F6F753D45786368616E67652041646D696E6973747261746976652047726F"       \
	"7570202846594449424F484632335350444C54292F636E3D526563697069656E74732F636E3D616C696365"   \
	"00"

static void test_logon_props(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	logon(fx);
	/* all there: a standard row */
	exec_hex(fx,
	         "07 00 00 0000 0000 0700 1F000130 1E001C66 1F001C66 02011B66 03000E34 0201F90F"
	         "02011966",
	         o);
	expect(o, "07 00 00000000 00" U16_MAILBOX S8_ALICE U16_ALICE AB_EID_ALICE
	          "00000000 1000" ALICE_MAILBOX_GUID AB_EID_ALICE);
	/* PtypUnspecified: the type goes first; strings by WantUnicode */
	exec_hex(fx, "07 00 00 0000 0000 0200 00001C66 00000E34", o);
	expect(o, "07 00 00000000 00 1E00" S8_ALICE "0300 00000000");
	exec_hex(fx, "07 00 00 0000 0100 0100 00001C66", o);
	expect(o, "07 00 00000000 00 1F00" U16_ALICE);
	/* something missing: a flagged row; with PtypUnspecified a FlaggedPropertyValueWithType */
	exec_hex(fx, "07 00 00 0000 0000 0400 03000130 1F001C66 00004867 00000100", o);
	expect(o, "07 00 00000000 01 0A 0F010480 00" U16_ALICE "0A00 0A 0F010480 0A00 0A 0F010480");
	/* PropertyTagCount 0: an empty standard row */
	exec_hex(fx, "07 00 00 0000 0000 0000", o);
	expect(o, "07 00 00000000 00");
	/* PropertyTagCount one more than the tags there: the request is malformed */
	exec_hex(fx, "07 00 00 0000 0000 0200 1F000130", o);
	expect(o, "07 00 B6040000");
	/* on a folder-less, logon-less slot */
	exec_hex(fx, "07 00 01 0000 0000 0100 1F000130", o);
	expect(o, "07 01 B9040000");
	free(o);
}

/* Non-ASCII display names: UTF-16 with a surrogate pair; '?' in PtypString8; bad UTF-8 is
 * U+FFFD. */
static void test_unicode(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	set_attr(fx, "displayName", "Zo\xC3\xAB \xF0\x9F\x98\x80!\xC3");
	logon(fx);
	exec_hex(fx, "07 00 00 0000 0000 0200 1F001C66 1E001C66", o);
	expect(o, "07 00 00000000 00"
	          "5A006F00EB002000 3DD800DE 2100 FDFF 0000"
	          "5A6F3F203F213F00");
	free(o);
}

/* A folder's properties; EntryID and record key (MS-OXCDATA 2.2.4.1). */
static void test_folder_props(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	logon(fx);
	exec_hex(fx,
	         "02 00 00 01" INBOX_FID "00 02 00 01 02" ROOT_FID "00"
	         "07 00 01 0000 0000 0400 14004967 0201FF0F 0201F90F 03000136"
	         "07 00 02 0000 0000 0600 1F000130 14004967 03000136 03003866 0B000A36 1E001336",
	         o);
	expect(o, "02 01 00000000 00 00 02 02 00000000 00 00"
	          "07 01 00000000 00" IPM_FID "2E00 00000000" ALICE_MAILBOX_GUID
	          "0100" ALICE_REPL_GUID "00000000000D 0000"
	          "2E00 00000000" ALICE_MAILBOX_GUID "0100" ALICE_REPL_GUID "00000000000D 0000"
	          "01000000"
	          "07 02 00000000 01"
	          "00 52006F006F007400200043006F006E007400610069006E0065007200 0000"
	          "0A 0F010480" /* the root has no parent */
	          "00 00000000 00 08000000 00 01"
	          "0A 0F010480"); /* no container class */
	free(o);
}

static void test_long_term_ids(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	char hex[256];

	assert_non_null(o);
	logon(fx);
	/* ReplId 1 <-> ReplGuid, the GLOBCNT bytes as they are */
	exec_hex(fx,
	         "43 00 00 0100 123456789ABC 44 00 00" ALICE_REPL_GUID "123456789ABC 0000"
	         "43 00 00 0200 000000000001 43 00 00 0000 000000000001",
	         o);
	expect(o, "43 00 00000000" ALICE_REPL_GUID "123456789ABC 0000"
	          "44 00 00000000 0100 123456789ABC"
	          "43 00 0F010480 43 00 0F010480");
	/* a zero ReplGuid: ecInvalidParameter; a zero GLOBCNT: ReturnValue 0, ObjectId 0; the
	 * pad is ignored */
	exec_hex(fx,
	         "44 00 00 00000000000000000000000000000000 000000000001 0000"
	         "44 00 00" ALICE_REPL_GUID "000000000000 0000"
	         "44 00 00" ALICE_REPL_GUID "000000000002 FFFF",
	         o);
	expect(o, "44 00 57000780 44 00 00000000 0000000000000000"
	          "44 00 00000000 0100 000000000002");
	/* new REPLGUIDs get 2, 3, ...; asking again gives the same; then back */
	exec_hex(fx,
	         "44 00 00 AA000000000000000000000000000000 000000000005 0000"
	         "44 00 00 BB000000000000000000000000000000 000000000006 0000"
	         "44 00 00 AA000000000000000000000000000000 000000000007 0000"
	         "43 00 00 0300 000000000009",
	         o);
	expect(o, "44 00 00000000 0200 000000000005 44 00 00000000 0300 000000000006"
	          "44 00 00000000 0200 000000000007"
	          "43 00 00000000 BB000000000000000000000000000000 000000000009 0000");
	/* the table is full at MBX_STORE_MAX_REPLIDS: one more is ecParameterOverflow */
	for (unsigned i = 2; i < MBX_STORE_MAX_REPLIDS - 1; i++) {
		snprintf(hex, sizeof(hex),
		         "44 00 00 CC%08X0000000000000000000000 000000000001 0000", i);
		exec_hex(fx, hex, o);
		snprintf(hex, sizeof(hex), "44 00 00000000 %02X%02X 000000000001", (i + 2) & 0xFF,
		         (i + 2) >> 8);
		expect(o, hex);
	}
	exec_hex(fx, "44 00 00 DD000000000000000000000000000000 000000000001 0000", o);
	expect(o, "44 00 50040000");
	/* known ones still map */
	exec_hex(fx, "44 00 00 BB000000000000000000000000000000 000000000001 0000", o);
	expect(o, "44 00 00000000 0300 000000000001");
	/* on a folder: these need the Logon object */
	exec_hex(fx, "02 00 00 01" INBOX_FID "00 43 00 01 0100 000000000001", o);
	expect(o, "02 01 00000000 00 00 43 01 02010480");
	free(o);
}

static void test_receive_folder_rop(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf *rops = malloc(sizeof(*rops));
	char *cls = malloc(300);

	assert_non_null(o);
	assert_non_null(rops);
	assert_non_null(cls);
	logon(fx);
	exec_hex(fx,
	         "27 00 00 49504D2E4E6F746500 27 00 00 6970632E7800"
	         "27 00 00 00 27 00 00 2E49504D00",
	         o);
	expect(o, "27 00 00000000" INBOX_FID "49504D00"
	          "27 00 00000000" ROOT_FID "49504300"
	          "27 00 00000000" INBOX_FID "00"
	          "27 00 57000780");
	/* 254 characters is the longest class, 255 too long */
	for (int n = 254; n <= 255; n++) {
		rops->len = 0;
		put(rops, "27 00 00");
		memset(rops->b + rops->len, 'Q', (size_t)n);
		rops->len += (size_t)n;
		rops->b[rops->len++] = 0;
		exec_rops(fx, rops, o);
		expect(o, n == 254 ? "27 00 00000000" INBOX_FID "00" : "27 00 57000780");
	}
	free(cls);
	free(rops);
	free(o);
}

static void test_open_folder_rop(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	logon(fx);
	/* unknown GLOBCNT, another ReplId: ecNotFound; from a folder: fine; another LogonId:
	 * ecNullObject; RopGetStoreState: 0 */
	exec_hex(fx,
	         "02 00 00 01 0100 000000000077 00 02 00 00 01 0200 00000000000D 00"
	         "02 00 00 01" IPM_FID "00 02 00 01 02" INBOX_FID "04"
	         "02 07 00 03" INBOX_FID "00 7B 00 00",
	         o);
	expect(o, "02 01 0F010480 02 01 0F010480 02 01 00000000 00 00 02 02 00000000 00 00"
	          "02 03 B9040000 7B 00 00000000 00000000");
	assert_int_equal(mbx_le32(o->payload + mbx_le16(o->payload) + 4), 2);
	assert_int_equal(mbx_le32(o->payload + mbx_le16(o->payload) + 8), 3);
	assert_int_equal(mbx_le32(o->payload + mbx_le16(o->payload) + 12), MBX_HANDLE_NONE);
	free(o);
}

/* A response bigger than MaxRopOut allows but within 32 KB: cut with RopBufferTooSmall and
 * SizeNeeded exact; more than 32 KB: it can never run. */
static void test_big_rows(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf *rops = malloc(sizeof(*rops));
	size_t n;

	assert_non_null(o);
	assert_non_null(rops);
	logon(fx);
	/* 500 x "Mailbox - Alice Anders" in UTF-16: 500 x 46 bytes + 7 */
	rops->len = 0;
	put(rops, "07 00 00 0000 0000 F401");
	for (int i = 0; i < 500; i++)
		put(rops, "1F000130");
	exec_rops(fx, rops, o);
	assert_int_equal(o->ec, 0);
	n = mbx_le16(o->payload);
	assert_int_equal(n, 2 + 7 + 500 * 46);
	/* 800: 36807 bytes, more than any buffer: as the first ROP, the Execute fails */
	rops->len = 0;
	put(rops, "07 00 00 0000 0000 2003");
	for (int i = 0; i < 800; i++)
		put(rops, "1F000130");
	exec_rops(fx, rops, o);
	assert_int_equal(o->ec, ecBufferTooSmall);
	/* after another ROP: that one is answered, this one cut; SizeNeeded says what it would
	 * take (header, RopSize, the row, the table), more than a client may ask for */
	memmove(rops->b + 3, rops->b, rops->len);
	memcpy(rops->b, "\x7B\x00\x00", 3);
	rops->len += 3;
	exec_rops(fx, rops, o);
	assert_int_equal(o->ec, 0);
	assert_int_equal(o->payload[2 + 10], 0xFF);
	assert_int_equal(mbx_le16(o->payload + 2 + 11), 8 + 2 + 36807 + 16);
	free(rops);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_guid5),
	        cmocka_unit_test(test_private_store),
	        cmocka_unit_test(test_public_store),
	        cmocka_unit_test(test_receive_folders),
	        cmocka_unit_test(test_class_valid),
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	        T(test_logon_props),
	        T(test_unicode),
	        T(test_folder_props),
	        T(test_long_term_ids),
	        T(test_receive_folder_rop),
	        T(test_open_folder_rop),
	        T(test_big_rows),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
