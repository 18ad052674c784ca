/*
 * test-session.c: the Execute engine of src/store/session.c (include/mbx/session.h) end to end,
 * without Connect: RopBuffer bytes in, RopBuffer bytes out, against the embedded ldif backend on
 * a copy of conf/directory.ldif with a real libevent loop and the libevent deferral
 * (mbx_dir_defer_init). The server is SERVER1 of the sample forest.
 *
 * Covered: the exact 166-byte private RopLogon response (FIDs, GUIDs, LogonTime from a fixed
 * clock), the follow-up ROPs on the objects it makes, the failure, redirect and unknown-user
 * layouts, the stable store facts across a database move on the same server (protocol.md 2.6),
 * compression and XOR in both directions, MaxRopOut and RopBufferTooSmall, malformed input at
 * every layer (with a truncation sweep), max_rops, handle bookkeeping, the object limit,
 * has_logon_on, and the life cycle of an Execute (one at a time, cancel, free while pending).
 */
#include "mbx-test.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/lz77.h"
#include "mbx/mailbox-table.h"
#include "mbx/oxcstor.h"
#include "mbx/principal.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"
#include "mbx/session.h"
#include "mbx/store-rops.h"

#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define RCPT AG "/cn=Recipients"
#define CONFIG_DN                                                                                  \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define USERS "cn=Users,dc=contoso,dc=com"
#define SERVER1_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER1"
#define SERVER2_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER2"
#define DB_DN(n) "cn=" n ",cn=Databases," CONFIG_DN

/* 2024-03-05 14:07:09 UTC, a Tuesday (protocol.md 2.5's example) */
#define FIXED_NOW 1709647629
#define LOGON_TIME_HEX "09 07 0E 02 05 03 E8 07"
#define GWART_HEX "80 A4 6B 69 06 6F DA 01"

#define OPEN_HOME 0x0100000Cu /* USE_PER_MDB_REPLID_MAPPING | HOME_LOGON | TAKE_OWNERSHIP */

static const struct mbx_foreign_forest fabrikam = {
        "fabrikam", (const char *const[]){"fabrikam.com"}, 1, "https://autodiscover.fabrikam.com/"};
static const struct mbx_server_identity server1 = {
        "SERVER1", SERVER1_LEG, "cn=SERVER1,cn=Servers," CONFIG_DN, &fabrikam, 1, false};

struct user {
	const char *dn, *legacy, *name;
};
static const struct user alice = {"cn=Alice Anders," USERS, RCPT "/cn=alice", "alice@contoso.com"};
static const struct user bob = {"cn=Bob Brown," USERS, RCPT "/cn=bob", "bob@contoso.com"};
static const struct user carol = {"cn=Carol Clark," USERS, RCPT "/cn=carol", "carol@contoso.com"};
static const struct user dave = {"cn=Dave Davis," USERS, RCPT "/cn=dave", "dave@contoso.com"};
static const struct user erin = {"cn=Erin Evans," USERS, RCPT "/cn=erin", "erin@contoso.com"};

/* --- log capture ---------------------------------------------------------------------------- */

static char lastlog[2048];
static unsigned nlogs;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	snprintf(lastlog, sizeof(lastlog), "%s", line);
	nlogs++;
}

/* --- fixture -------------------------------------------------------------------------------- */

struct fx {
	struct event_base *base;
	char tmp[64];
	char path[4096];
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *res;
	struct mbx_logon_pipeline *pl;
	struct mbx_session *s;
};

static time_t fixed_clock(void *ctx)
{
	(void)ctx;
	return FIXED_NOW;
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

static struct mbx_session *session_for(struct fx *fx, const struct user *u, unsigned max_rops,
                                       unsigned max_objects)
{
	struct mbx_session_config sc = {0};
	struct mbx_session *s;

	sc.pipeline = fx->pl;
	sc.id = &server1;
	mbx_dir_defer_init(&sc.defer, fx->base);
	sc.principal_dn = u->dn;
	sc.principal_legacy_dn = u->legacy;
	sc.principal_name = u->name;
	sc.max_rops = max_rops;
	sc.max_objects = max_objects;
	sc.clock = fixed_clock;
	s = mbx_session_new(&sc);
	assert_non_null(s);
	return s;
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *src = getenv("MBX_SRCDIR");
	struct mbx_principal_config pc = {.group_depth = 8};
	struct mbx_mailbox_table_config tc = {0};
	struct mbx_logon_pipeline_config lc = {0};
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	char from[4096], err[512];

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/test-session.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(from, sizeof(from), "%s/conf/directory.ldif", src != NULL ? src : ".");
	snprintf(fx->path, sizeof(fx->path), "%s/directory.ldif", fx->tmp);
	copy_file(from, fx->path);
	dc.ldif_path = fx->path;
	fx->dir = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (fx->dir == NULL)
		fail_msg("ldif backend on %s: %s", fx->path, err);
	tc.ttl_ms = 60000;
	tc.negative_ttl_ms = 1000;
	tc.stale_max_ms = 3600000;
	tc.max_entries = 1000;
	mbx_dir_defer_init(&tc.defer, fx->base);
	fx->table = mbx_mailbox_table_new(fx->dir, &tc);
	assert_non_null(fx->table);
	mbx_dir_defer_init(&pc.defer, fx->base);
	fx->res = mbx_principal_resolver_new(fx->dir, &pc);
	assert_non_null(fx->res);
	lc.table = fx->table;
	lc.resolver = fx->res;
	lc.id = &server1;
	mbx_dir_defer_init(&lc.defer, fx->base);
	fx->pl = mbx_logon_pipeline_new(&lc);
	assert_non_null(fx->pl);
	fx->s = session_for(fx, &alice, 0, 0);
	lastlog[0] = '\0';
	nlogs = 0;
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
	assert_null(fx->s);
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

/* --- building requests ------------------------------------------------------------------- */

struct buf {
	uint8_t b[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD + 64];
	size_t len;
};

static void put(struct buf *b, const char *hex)
{
	size_t n;
	uint8_t *p = mbx_test_hex(hex, &n);

	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, p, n);
	b->len += n;
	free(p);
}

static void put_logon(struct buf *b, uint8_t logon_id, uint8_t out_idx, uint8_t flags,
                      uint32_t open_flags, const char *essdn)
{
	struct mbx_logon_req req = {logon_id, out_idx, flags, open_flags, 0, 0, essdn};
	struct wr w;

	wr_init(&w, b->b + b->len, sizeof(b->b) - b->len);
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	b->len += w.len;
}

/* The payload: RopSize, the ROPs of rops, the handle table. */
static void payload(struct buf *p, const struct buf *rops, const uint32_t *h, unsigned nh)
{
	p->len = 0;
	p->b[0] = (uint8_t)((rops->len + 2) & 0xFF);
	p->b[1] = (uint8_t)((rops->len + 2) >> 8);
	memcpy(p->b + 2, rops->b, rops->len);
	p->len = 2 + rops->len;
	for (unsigned i = 0; i < nh; i++) {
		mbx_put_le32(p->b + p->len, h[i]);
		p->len += 4;
	}
}

#define RB_COMPRESS 0x1
#define RB_XOR 0x2

/* One extended buffer with Last around a payload, compressed and / or XORed. */
static void rop_buffer(struct buf *out, const struct buf *pl, unsigned how)
{
	uint16_t flags = MBX_RHE_LAST, size = (uint16_t)pl->len;
	uint8_t *body = out->b + MBX_RHE_HDRLEN;

	if (how & RB_COMPRESS) {
		size_t n = mbx_lz77_compress(pl->b, pl->len, body, pl->len - 1);

		assert_true(n > 0); /* the test's payload must be compressible */
		size = (uint16_t)n;
		flags |= MBX_RHE_COMPRESSED;
	} else {
		memcpy(body, pl->b, pl->len);
	}
	if (how & RB_XOR) {
		mbx_xor_a5(body, size);
		flags |= MBX_RHE_XORMAGIC;
	}
	mbx_put_le16(out->b, 0);
	mbx_put_le16(out->b + 2, flags);
	mbx_put_le16(out->b + 4, size);
	mbx_put_le16(out->b + 6, (uint16_t)pl->len);
	out->len = MBX_RHE_HDRLEN + size;
}

static void request(struct buf *out, const struct buf *rops, const uint32_t *h, unsigned nh,
                    unsigned how)
{
	struct buf *pl = malloc(sizeof(*pl));

	assert_non_null(pl);
	payload(pl, rops, h, nh);
	rop_buffer(out, pl, how);
	free(pl);
}

/* --- running an Execute ---------------------------------------------------------------------- */

struct out {
	int calls;
	bool inside; /* set while mbx_session_execute runs: a callback then is a bug */
	uint32_t ec;
	char why[512];
	struct mbx_rhe hdr;
	uint8_t raw[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
	size_t rawlen;
	uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	size_t plen;
	unsigned nrops, nlogons;
	uint32_t logon_ecs[8];
};

static void exec_cb(void *ctx, const struct mbx_session_exec_result *res)
{
	struct out *o = ctx;

	assert_false(o->inside);
	o->calls++;
	o->ec = res->error_code;
	snprintf(o->why, sizeof(o->why), "%s", res->why != NULL ? res->why : "");
	o->nrops = res->nrops;
	o->nlogons = res->nlogons;
	memcpy(o->logon_ecs, res->logon_ecs, sizeof(o->logon_ecs));
	o->rawlen = res->rop_out_len;
	assert_true(res->rop_out_len <= sizeof(o->raw));
	if (res->rop_out_len > 0)
		memcpy(o->raw, res->rop_out, res->rop_out_len);
	if (res->error_code != 0)
		assert_int_equal(res->rop_out_len, 0);
}

static void loop_until(struct fx *fx, const int *calls)
{
	for (int i = 0; i < 100000 && *calls == 0; i++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(*calls, 1);
}

static void run_on(struct fx *fx, struct mbx_session *s, const struct buf *rb, uint32_t flags,
                   uint32_t max_out, struct out *o)
{
	struct mbx_session_exec_req req = {flags, rb->b, rb->len, max_out};
	struct mbx_session_exec *e;

	memset(o, 0, sizeof(*o));
	o->inside = true;
	e = mbx_session_execute(s, &req, exec_cb, o);
	o->inside = false;
	assert_non_null(e);
	assert_int_equal(o->calls, 0);
	loop_until(fx, &o->calls);
	if (o->ec == 0) {
		struct rd r;

		assert_true(o->rawlen <= max_out);
		rd_init(&r, o->raw, o->rawlen, 0);
		if (mbx_rhe_read(&r, &o->hdr, o->payload, &o->plen) != 0)
			fail_msg("response RopBuffer: %s at %zu", r.err_msg, r.err_off);
		assert_true(o->hdr.flags & MBX_RHE_LAST);
		assert_int_equal(rd_left(&r), 0);
	}
}

static void run(struct fx *fx, const struct buf *rb, uint32_t max_out, struct out *o)
{
	run_on(fx, fx->s, rb, MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC, max_out, o);
}

/* Asserts the response payload (RopSize, responses, handle table) against hex. */
static void assert_payload(const struct out *o, const char *hex)
{
	size_t n;
	uint8_t *want = mbx_test_hex(hex, &n);

	assert_int_equal(o->ec, 0);
	if (o->plen != n || memcmp(o->payload, want, n) != 0) {
		fprintf(stderr, "got  (%zu):", o->plen);
		for (size_t i = 0; i < o->plen; i++)
			fprintf(stderr, " %02X", o->payload[i]);
		fprintf(stderr, "\nwant (%zu):", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02X", want[i]);
		fprintf(stderr, "\n");
		fail_msg("response payload differs");
	}
	free(want);
}

/* The RopsList of the response (after RopSize), and the handle table. */
static const uint8_t *resp_rops(const struct out *o, size_t *len_r)
{
	uint16_t rs;

	assert_int_equal(o->ec, 0);
	assert_true(o->plen >= 2);
	rs = mbx_le16(o->payload);
	assert_true(rs >= 2 && rs <= o->plen);
	*len_r = rs - 2u;
	return o->payload + 2;
}

static uint32_t resp_handle(const struct out *o, unsigned i)
{
	uint16_t rs = mbx_le16(o->payload);

	assert_true(rs + 4u * (i + 1) <= o->plen);
	return mbx_le32(o->payload + rs + 4 * i);
}

static const uint32_t one_empty[1] = {MBX_HANDLE_NONE};

/* One private RopLogon for u (LogonId 0, slot 0) on session s; returns its output. */
static void logon_on(struct fx *fx, struct mbx_session *s, const struct user *u, struct out *o)
{
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));

	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, u->legacy);
	request(rb, &rops, one_empty, 1, 0);
	run_on(fx, s, rb, MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC, 0x8007, o);
	free(rb);
}

#define ALICE_MAILBOX_GUID "40 E9 C0 9A 46 B8 AB 59 B1 B4 87 81 12 99 97 ED"
/* uuid5(9b47b17b-73fe-49d5-abae-2983e7b499f2, MailboxGuid wire bytes) =
 * d7a21814-eeb6-58d0-a947-10c4b64f0ce1, computed with Python's hashlib */
#define ALICE_REPL_GUID "14 18 A2 D7 B6 EE D0 58 A9 47 10 C4 B6 4F 0C E1"
#define PRIVATE_FIDS                                                                               \
	"0100 000000000001 0100 000000000002 0100 000000000003 0100 000000000009 "                 \
	"0100 00000000000D 0100 00000000000C 0100 00000000000A 0100 00000000000B "                 \
	"0100 000000000007 0100 000000000008 0100 000000000005 0100 000000000006 "                 \
	"0100 000000000004"
#define INBOX_FID "0100 00000000000D"

/* --- tests ---------------------------------------------------------------------------------- */

static void test_alice_logon_bytes(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	logon_on(fx, fx->s, &alice, o);
	assert_payload(o, "A8 00"                          /* RopSize 2 + 166 */
	                  "FE 00 00000000 01" PRIVATE_FIDS /* FIDs */
	                  "07" ALICE_MAILBOX_GUID "0100" ALICE_REPL_GUID LOGON_TIME_HEX GWART_HEX
	                  "00000000"
	                  "01000000"); /* the handle table: the Logon object, handle 1 */
	assert_int_equal(o->nrops, 1);
	assert_int_equal(o->nlogons, 1);
	assert_int_equal(o->logon_ecs[0], ecNone);
	assert_int_equal(o->hdr.flags, MBX_RHE_LAST); /* NoCompression, NoXorMagic */
	assert_true(mbx_session_has_logon_on(fx->s, alice.legacy));
	assert_true(mbx_session_has_logon_on(fx->s, "/O=CONTOSO/ou=Exchange Administrative Group "
	                                            "(FYDIBOHF23SPDLT)/cn=Recipients/CN=ALICE"));
	assert_false(mbx_session_has_logon_on(fx->s, bob.legacy));
	{
		const char *dns[2] = {NULL, NULL};

		assert_int_equal(mbx_session_logons(fx->s, dns, 2), 1);
		assert_string_equal(dns[0], alice.legacy);
	}
	free(o);
}

/* The ROPs after logon, each asserted byte for byte. */
static void test_after_logon(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[3] = {1, MBX_HANDLE_NONE, MBX_HANDLE_NONE};

	assert_non_null(o);
	assert_non_null(rb);
	logon_on(fx, fx->s, &alice, o);
	assert_int_equal(resp_handle(o, 0), 1);

	/* RopOpenFolder(Inbox) from the Logon object into slot 1, then
	 * RopGetPropertiesSpecific on it, then RopGetReceiveFolder("IPM") on the logon */
	put(&rops, "02 00 00 01" INBOX_FID "00");
	put(&rops, "07 00 01 0000 0000 0800" /* no size limit, WantUnicode 0, 8 tags */
	           "1F000130"                /* PidTagDisplayName, PtypString */
	           "14004867"                /* PidTagFolderId */
	           "03000236"                /* PidTagContentCount */
	           "03000336"                /* PidTagContentUnreadCount */
	           "03003866"                /* PidTagFolderChildCount */
	           "0B000A36"                /* PidTagSubfolders */
	           "1F001336"                /* PidTagContainerClass */
	           "03000100");              /* 0x0001: not a property of folders */
	put(&rops, "27 00 00 49504D00");     /* "IPM" */
	request(rb, &rops, h, 3, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "62 00"
	                  /* OpenFolder: slot 1, success, HasRules 0, IsGhosted 0 */
	                  "02 01 00000000 00 00"
	                  /* GetPropertiesSpecific: flagged row (one value missing) */
	                  "07 01 00000000 01"
	                  "00 49006E0062006F0078000000"              /* "Inbox" */
	                  "00" INBOX_FID                             /* FolderId */
	                  "00 00000000 00 00000000"                  /* counts */
	                  "00 00000000"                              /* no subfolders */
	                  "00 00"                                    /* PidTagSubfolders false */
	                  "00 4900500046002E004E006F0074006500 0000" /* "IPF.Note" */
	                  "0A 0F010480"                              /* ecNotFound */
	                  /* GetReceiveFolder: Inbox, ExplicitMessageClass "IPM" */
	                  "27 00 00000000" INBOX_FID "49504D00"
	                  "01000000 02000000 FFFFFFFF");
	assert_int_equal(o->nrops, 3);

	/* RopRelease the folder: no response; the slot's handle is stale after it */
	rops.len = 0;
	put(&rops, "01 00 01");
	put(&rops, "07 00 01 0000 0000 0100 1F000130");
	h[1] = 2;
	request(rb, &rops, h, 3, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "08 00 07 01 B9040000" /* ecNullObject */
	                  "01000000 02000000 FFFFFFFF");
	assert_int_equal(o->nrops, 2);

	/* Opening again gives a new handle: 3, never 2 again */
	rops.len = 0;
	put(&rops, "02 00 00 02" INBOX_FID "00");
	request(rb, &rops, h, 3, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "0A 00 02 02 00000000 00 00 01000000 02000000 03000000");
	free(rb);
	free(o);
}

static void test_carol_in_transit(void **state)
{
	struct fx *fx = *state;
	struct mbx_session *s = session_for(fx, &carol, 0, 0);
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	logon_on(fx, s, &carol, o);
	assert_payload(o, "08 00 FE 00 0C 05 00 00 FFFFFFFF"); /* the slot is left alone */
	assert_int_equal(o->logon_ecs[0], ecMailboxInTransit);
	assert_false(mbx_session_has_logon_on(s, carol.legacy));
	assert_int_equal(mbx_session_logons(s, NULL, 0), 0);
	mbx_session_free(&s);
	free(o);
}

static void test_dave_redirect(void **state)
{
	struct fx *fx = *state;
	struct mbx_session *s = session_for(fx, &dave, 0, 0);
	struct out *o = malloc(sizeof(*o));
	char hex[1024];
	size_t n = strlen(SERVER2_LEG) + 1, k = 0;

	assert_non_null(o);
	logon_on(fx, s, &dave, o);
	k += (size_t)snprintf(hex + k, sizeof(hex) - k, "%02zX 00 FE 00 78040000 01 %02zX",
	                      2 + 8 + n, n);
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "%02X",
		                      (unsigned char)SERVER2_LEG[i]);
	snprintf(hex + k, sizeof(hex) - k, " FFFFFFFF");
	assert_payload(o, hex);
	assert_int_equal(o->logon_ecs[0], ecWrongServer);
	mbx_session_free(&s);
	free(o);
}

static void test_erin_unknown(void **state)
{
	struct fx *fx = *state;
	struct mbx_session *s = session_for(fx, &erin, 0, 0);
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	logon_on(fx, s, &erin, o);
	assert_payload(o, "08 00 FE 00 EB 03 00 00 FFFFFFFF");
	mbx_session_free(&s);
	free(o);
}

static void mod_cb(void *ctx, const struct mbx_dir_result *res)
{
	*(enum mbx_dir_status *)ctx = res->status;
}

static void set_home(struct fx *fx, const char *dn, const char *db)
{
	struct mbx_dir_value v = {(uint8_t *)(uintptr_t)db, strlen(db)};
	struct mbx_dir_mod m = {MBX_DIR_MOD_REPLACE, "homeMDB", &v, 1};
	enum mbx_dir_status st = MBX_DIR_ERROR;
	int calls = 0;

	assert_non_null(mbx_dir_modify(fx->dir, dn, &m, 1, mod_cb, &st));
	for (int i = 0; i < 1000 && st == MBX_DIR_ERROR; i++, calls++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(st, MBX_DIR_FOUND);
	/* let the change notification reach the table */
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

/* protocol.md 2.6: a move to another database of the same server keeps MailboxGuid, ReplGuid,
 * ReplId and the root FID (and every other FID). */
static void test_bob_database_move(void **state)
{
	struct fx *fx = *state;
	struct mbx_session *s;
	struct out *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));

	assert_non_null(before);
	assert_non_null(after);
	set_home(fx, bob.dn, DB_DN("DB01"));
	s = session_for(fx, &bob, 0, 0);
	logon_on(fx, s, &bob, before);
	mbx_session_free(&s);
	assert_int_equal(before->plen, 2 + 166 + 4);
	/* the table follows the directory: on SERVER2's DB03 bob is elsewhere */
	set_home(fx, bob.dn, DB_DN("DB03"));
	s = session_for(fx, &bob, 0, 0);
	logon_on(fx, s, &bob, after);
	mbx_session_free(&s);
	assert_int_equal(after->logon_ecs[0], ecWrongServer);
	set_home(fx, bob.dn, DB_DN("DB02"));
	s = session_for(fx, &bob, 0, 0);
	logon_on(fx, s, &bob, after);
	mbx_session_free(&s);
	assert_int_equal(after->plen, 2 + 166 + 4);
	/* the whole response is the same (the clock is fixed): FIDs at 9, MailboxGuid at 114,
	 * ReplId at 130, ReplGuid at 132 of the payload */
	assert_memory_equal(before->payload, after->payload, before->plen);
	{
		size_t n;
		uint8_t *g = mbx_test_hex("DE 3D AD D9 B3 E4 A6 54 9E 07 7C 74 4B 53 70 07 0100"
		                          /* uuid5 of it: 3d20bf81-e619-5964-91d2-121217e79efa */
		                          "81 BF 20 3D 19 E6 64 59 91 D2 12 12 17 E7 9E FA",
		                          &n);

		assert_memory_equal(after->payload + 2 + 112, g, n);
		free(g);
	}
	free(before);
	free(after);
}

/* A compressed and XORed request; the response is compressed (when that shrinks it) and XORed
 * unless the Flags forbid it. */
static void test_compression_xor(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o)), *plain = malloc(sizeof(*plain));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[2] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE};

	assert_non_null(o);
	assert_non_null(plain);
	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	for (int i = 0; i < 20; i++) /* repetitive: compresses */
		put(&rops, "02 00 00 01" INBOX_FID "00");
	request(rb, &rops, h, 2, 0);
	run_on(fx, fx->s, rb, MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC, 0x8007, plain);
	assert_int_equal(plain->hdr.flags, MBX_RHE_LAST);
	assert_int_equal(plain->nrops, 21);

	request(rb, &rops, h, 2, RB_COMPRESS | RB_XOR);
	run_on(fx, fx->s, rb, 0, 0x8007, o);
	assert_int_equal(o->hdr.flags, MBX_RHE_LAST | MBX_RHE_COMPRESSED | MBX_RHE_XORMAGIC);
	assert_true(o->hdr.size < o->hdr.size_actual);
	/* same responses, except the handles (a new logon and new folders each time) */
	assert_int_equal(o->plen, plain->plen);
	assert_memory_equal(o->payload, plain->payload, 2 + 166);

	/* compressed only, not XORed: the response is not XORed */
	request(rb, &rops, h, 2, RB_COMPRESS);
	run_on(fx, fx->s, rb, 0, 0x8007, o);
	assert_int_equal(o->hdr.flags, MBX_RHE_LAST | MBX_RHE_COMPRESSED);

	/* XORed, NoXorMagic: not XORed; NoCompression: not compressed */
	request(rb, &rops, h, 2, RB_XOR);
	run_on(fx, fx->s, rb, MBX_RPC_NOXORMAGIC, 0x8007, o);
	assert_int_equal(o->hdr.flags, MBX_RHE_LAST | MBX_RHE_COMPRESSED);
	run_on(fx, fx->s, rb, MBX_RPC_NOCOMPRESSION, 0x8007, o);
	assert_int_equal(o->hdr.flags, MBX_RHE_LAST | MBX_RHE_XORMAGIC);
	free(rb);
	free(o);
	free(plain);
}

/* MaxRopOut: below 8 + 2 the Execute fails; a list that does not fit is cut with
 * RopBufferTooSmall carrying the unprocessed requests. */
static void test_max_rop_out(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[2] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE};
	size_t logon_len;
	const uint8_t *list;
	size_t len;

	assert_non_null(o);
	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	logon_len = rops.len;
	put(&rops, "7B 00 00"); /* RopGetStoreState: 10-byte response */
	request(rb, &rops, h, 2, 0);

	for (uint32_t m = 0; m < MBX_RHE_HDRLEN + 2; m++) {
		run(fx, rb, m, o);
		assert_int_equal(o->ec, ecBufferTooSmall);
		assert_non_null(strstr(o->why, "MaxRopOut"));
	}
	/* room for the logon (166), a cut behind it (3 + 3) and the table (8), not for both */
	run(fx, rb, 8 + 2 + 166 + 6 + 8, o);
	list = resp_rops(o, &len);
	assert_int_equal(len, 166 + 6);
	assert_int_equal(list[0], 0xFE);
	assert_int_equal(list[166], 0xFF); /* RopBufferTooSmall */
	/* SizeNeeded: header, RopSize, the 10-byte response, the table */
	assert_int_equal(mbx_le16(list + 167), 8 + 2 + 10 + 8);
	assert_memory_equal(list + 169, rops.b + logon_len, 3);
	assert_int_equal(o->nrops, 1);
	/* exactly enough for both */
	run(fx, rb, 8 + 2 + 166 + 10 + 8, o);
	list = resp_rops(o, &len);
	assert_int_equal(len, 176);
	assert_int_equal(o->nrops, 2);
	/* not even the logon fits, but it could in a larger buffer: cut before it */
	run(fx, rb, 8 + 2 + 3 + (uint32_t)rops.len + 8, o);
	list = resp_rops(o, &len);
	assert_int_equal(list[0], 0xFF);
	assert_int_equal(mbx_le16(list + 1), 8 + 2 + 166 + 3 + 3 + 8);
	assert_memory_equal(list + 3, rops.b, rops.len);
	assert_int_equal(o->nrops, 0);
	/* nor the cut: ecBufferTooSmall */
	run(fx, rb, 8 + 2 + 3 + (uint32_t)rops.len + 8 - 1, o);
	assert_int_equal(o->ec, ecBufferTooSmall);
	/* the smallest MaxRopOut that works: an empty list and no handles */
	rops.len = 0;
	request(rb, &rops, NULL, 0, 0);
	run(fx, rb, 10, o);
	assert_payload(o, "02 00");
	run(fx, rb, 9, o);
	assert_int_equal(o->ec, ecBufferTooSmall);
	/* a RopLogon whose slot is not in the table: ecNullObject, nothing resolved */
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	request(rb, &rops, NULL, 0, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "08 00 FE 00 B9040000");
	assert_int_equal(o->nlogons, 0);
	/* a huge MaxRopOut is capped at 32 KB of payload */
	rops.len = 0;
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	put(&rops, "7B 00 00");
	request(rb, &rops, h, 2, 0);
	run(fx, rb, 0xFFFFFFFF, o);
	assert_int_equal(o->nrops, 2);
	free(rb);
	free(o);
}

static void expect_rpc_format(struct fx *fx, const struct buf *rb, const char *why)
{
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	nlogs = 0;
	run(fx, rb, 0x8007, o);
	assert_int_equal(o->ec, ecRpcFormat);
	if (strstr(o->why, why) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", o->why, why);
	assert_true(nlogs >= 1);
	assert_non_null(strstr(lastlog, "ecRpcFormat"));
	free(o);
}

static void test_bad_input(void **state)
{
	struct fx *fx = *state;
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb)), *pl = malloc(sizeof(*pl));

	assert_non_null(rb);
	assert_non_null(pl);
	put(&rops, "7B 00 00");
	payload(pl, &rops, one_empty, 1);

	rb->len = 0;
	expect_rpc_format(fx, rb, "at offset 0");
	put(rb, "01 00 04 00 07 00 07 00 0500 7B0000 FFFFFFFF"); /* Version 1 */
	expect_rpc_format(fx, rb, "Version");
	rop_buffer(rb, pl, 0);
	rb->b[2] = 0x00; /* no Last */
	expect_rpc_format(fx, rb, "more than one extended buffer");
	rop_buffer(rb, pl, 0);
	rb->b[rb->len++] = 0x00; /* a trailing byte */
	expect_rpc_format(fx, rb, "1 bytes after the last extended buffer");
	pl->b[0] = 0x01; /* RopSize 1 */
	rop_buffer(rb, pl, 0);
	expect_rpc_format(fx, rb, "RopSize 1");
	pl->b[0] = 0x05;
	pl->len -= 1; /* a handle table of 3 bytes */
	rop_buffer(rb, pl, 0);
	expect_rpc_format(fx, rb, "multiple of 4");
	/* the message is escaped in the log line: a response-only RopId fails the call */
	rops.len = 0;
	put(&rops, "FF 00 00");
	payload(pl, &rops, one_empty, 1);
	rop_buffer(rb, pl, 0);
	expect_rpc_format(fx, rb, "payload offset 2");
	free(rb);
	free(pl);
}

/* A RopLogon whose Essdn has no NUL: the list ends with its ecRpcFormat; a truncated ROP in the
 * middle: the ROPs before it are answered, it gets ecRpcFormat, the list ends. */
static void test_malformed_rops(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));

	assert_non_null(o);
	assert_non_null(rb);
	put(&rops, "FE 00 00 01 0C000001 00000000 0300 414243"); /* Essdn "ABC" without NUL */
	put(&rops, "7B 00 00");
	request(rb, &rops, one_empty, 1, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "08 00 FE 00 B6040000 FFFFFFFF");
	assert_non_null(strstr(lastlog, "malformed RopLogon at payload offset"));
	assert_int_equal(o->logon_ecs[0], ecRpcFormat);

	rops.len = 0;
	put(&rops, "7B 00 00 02 00 00 0100"); /* GetStoreState, then a cut OpenFolder */
	request(rb, &rops, one_empty, 1, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "0E 00 7B 00 B9040000 02 01 B6040000 FFFFFFFF");
	assert_non_null(strstr(lastlog, "ROP list ends at payload offset"));
	free(rb);
	free(o);
}

/* Every prefix of a valid RopBuffer fails cleanly; every prefix of its RopsList in a proper
 * buffer gives a valid response buffer or ecRpcFormat. */
static void test_truncation_sweep(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, cut, *rb = malloc(sizeof(*rb)), *part = malloc(sizeof(*part));
	uint32_t h[2] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE};

	assert_non_null(o);
	assert_non_null(rb);
	assert_non_null(part);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	put(&rops, "02 00 00 01" INBOX_FID "00 07 00 01 0000 0100 0100 1F000130 27 00 00 4900");
	request(rb, &rops, h, 2, 0);
	run(fx, rb, 0x8007, o);
	assert_int_equal(o->nrops, 4);
	for (size_t n = 0; n < rb->len; n++) {
		memcpy(part->b, rb->b, n);
		part->len = n;
		run(fx, part, 0x8007, o);
		assert_int_equal(o->ec, ecRpcFormat);
	}
	for (size_t n = 0; n < rops.len; n++) {
		memcpy(cut.b, rops.b, n);
		cut.len = n;
		request(part, &cut, h, 2, 0);
		run(fx, part, 0x8007, o);
		if (o->ec != 0)
			assert_int_equal(o->ec, ecRpcFormat);
		else
			assert_true(o->plen >= 2 + 8);
	}
	free(part);
	free(rb);
	free(o);
}

/* max_rops: exactly max is fine, one more is ecRpcFormat. */
static void test_max_rops(void **state)
{
	struct fx *fx = *state;
	struct mbx_session *s = session_for(fx, &alice, 3, 0);
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));

	assert_non_null(o);
	assert_non_null(rb);
	put(&rops, "7B 00 00 7B 00 00 7B 00 00");
	request(rb, &rops, one_empty, 1, 0);
	run_on(fx, s, rb, 0, 0x8007, o);
	assert_int_equal(o->ec, 0);
	assert_int_equal(o->nrops, 3);
	put(&rops, "7B 00 00");
	request(rb, &rops, one_empty, 1, 0);
	run_on(fx, s, rb, 0, 0x8007, o);
	assert_int_equal(o->ec, ecRpcFormat);
	assert_non_null(strstr(o->why, "more than 3 ROPs"));
	mbx_session_free(&s);
	free(rb);
	free(o);
}

/* Handles: a counter, never reused; a ROP naming an empty slot, a stale handle or another
 * LogonId gets ecNullObject; reusing a LogonId releases the old logon and its folders. */
static void test_handles(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[4] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE, MBX_HANDLE_NONE, MBX_HANDLE_NONE};

	assert_non_null(o);
	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	put(&rops, "02 00 00 01" INBOX_FID "00");
	put(&rops, "7B 01 00"); /* LogonId 1 has no logon: ecNullObject */
	put(&rops, "7B 00 02"); /* an empty slot */
	put(&rops, "7B 00 01"); /* a folder: RopGetStoreState needs the Logon object */
	request(rb, &rops, h, 4, 0);
	run(fx, rb, 0x8007, o);
	{
		size_t len;
		const uint8_t *l = resp_rops(o, &len);

		assert_int_equal(len, 166 + 8 + 18);
		assert_memory_equal(l + 174, "\x7B\x00\xB9\x04\x00\x00", 6);
		assert_memory_equal(l + 180, "\x7B\x02\xB9\x04\x00\x00", 6);
		assert_memory_equal(l + 186, "\x7B\x01\x02\x01\x04\x80", 6);
	}
	assert_int_equal(resp_handle(o, 0), 1);
	assert_int_equal(resp_handle(o, 1), 2);
	assert_int_equal(resp_handle(o, 2), MBX_HANDLE_NONE);

	/* LogonId 0 again into slot 2: the old logon (1) and its folder (2) are released */
	rops.len = 0;
	put_logon(&rops, 0, 2, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	put(&rops, "7B 00 00 07 00 01 0000 0000 0100 1F000130 7B 00 02");
	h[0] = 1;
	h[1] = 2;
	request(rb, &rops, h, 4, 0);
	run(fx, rb, 0x8007, o);
	{
		size_t len;
		const uint8_t *l = resp_rops(o, &len);

		assert_int_equal(len, 166 + 6 + 6 + 10);
		assert_memory_equal(l + 166, "\x7B\x00\xB9\x04\x00\x00", 6);
		assert_memory_equal(l + 172, "\x07\x01\xB9\x04\x00\x00", 6);
		assert_memory_equal(l + 178, "\x7B\x02\x00\x00\x00\x00\x00\x00\x00\x00", 10);
	}
	assert_int_equal(resp_handle(o, 2), 3);
	assert_int_equal(mbx_session_logons(fx->s, NULL, 0), 1);
	free(rb);
	free(o);
}

/* The object limit: what does not fit is ecMAPIOOM, and the table is left alone. */
static void test_object_limit(void **state)
{
	struct fx *fx = *state;
	struct mbx_session *s = session_for(fx, &alice, 0, 2);
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[3] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE, MBX_HANDLE_NONE};
	size_t len;
	const uint8_t *l;

	assert_non_null(o);
	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	put(&rops, "02 00 00 01" INBOX_FID "00 02 00 00 02" INBOX_FID "00");
	put_logon(&rops, 1, 2, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	request(rb, &rops, h, 3, 0);
	run_on(fx, s, rb, 0, 0x8007, o);
	l = resp_rops(o, &len);
	assert_int_equal(len, 166 + 8 + 6 + 6);
	assert_memory_equal(l + 174, "\x02\x02\x0E\x00\x07\x80", 6);
	assert_memory_equal(l + 180, "\xFE\x02\x0E\x00\x07\x80", 6);
	assert_int_equal(resp_handle(o, 2), MBX_HANDLE_NONE);
	assert_int_equal(o->nlogons, 2);
	assert_int_equal(o->logon_ecs[1], ecMAPIOOM);
	mbx_session_free(&s);
	free(rb);
	free(o);
}

/* A public folders logon (answered from the request alone) and a private one, resolved in one
 * list; the public-logon-only and private-logon-only ROPs on each. */
static void test_public_logon(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[2] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE};
	size_t len;
	const uint8_t *l;
	char *hex = malloc(1024);
	size_t n = strlen(SERVER1_LEG) + 1, k;

	assert_non_null(o);
	assert_non_null(rb);
	assert_non_null(hex);
	put_logon(&rops, 5, 1, 0x00, 0x01000002, NULL);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	put(&rops, "7B 05 01 42 05 01 0100 000000000002 42 05 01 0100 000000000077"
	           "42 00 00 0100 000000000001 27 05 01 00");
	request(rb, &rops, h, 2, 0);
	run(fx, rb, 0x8007, o);
	l = resp_rops(o, &len);
	/* the public layout: 145 bytes; public ReplGuid = uuid5 of "public:" + the lower-case
	 * server DN = 5473995c-7288-517c-83ef-98278c5478a6 */
	assert_memory_equal(l, "\xFE\x01\x00\x00\x00\x00\x00", 7);
	{
		size_t gn;
		uint8_t *want = mbx_test_hex("0100 000000000001 0100 000000000002 0100 000000000003"
		                             "0100 000000000004 0000000000000000",
		                             &gn);

		assert_memory_equal(l + 7, want, gn);
		free(want);
		want = mbx_test_hex("0100 5C99735488727C5183EF98278C5478A6"
		                    "00000000000000000000000000000000",
		                    &gn);
		assert_memory_equal(l + 111, want, gn);
		free(want);
	}
	l += 145 + 166;
	len -= 145 + 166;
	assert_memory_equal(l, "\x7B\x01\x02\x01\x04\x80", 6); /* public: ecNotSupported */
	k = (size_t)snprintf(hex, 1024, "42 01 00000000 0100 0100");
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(hex + k, 1024 - k, "%02X", (unsigned char)SERVER1_LEG[i]);
	{
		size_t gn;
		uint8_t *want = mbx_test_hex(hex, &gn);

		assert_memory_equal(l + 6, want, gn);
		l += 6 + gn;
		len -= 6 + gn;
		free(want);
	}
	assert_memory_equal(l, "\x42\x01\x0F\x01\x04\x80", 6);      /* unknown folder */
	assert_memory_equal(l + 6, "\x42\x00\x02\x01\x04\x80", 6);  /* private: ecNotSupported */
	assert_memory_equal(l + 12, "\x27\x01\x02\x01\x04\x80", 6); /* public: ecNotSupported */
	assert_int_equal(len, 18);
	assert_int_equal(o->nlogons, 2);
	free(hex);
	free(rb);
	free(o);
}

/* A ROP the store does not implement gets a well-formed ecNotSupported. */
static void test_unsupported(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));

	assert_non_null(o);
	assert_non_null(rb);
	put(&rops, "68 00 00"); /* RopGetReceiveFolderTable */
	request(rb, &rops, one_empty, 1, 0);
	run(fx, rb, 0x8007, o);
	assert_payload(o, "08 00 68 00 02010480 FFFFFFFF");
	free(rb);
	free(o);
}

/* One Execute at a time; a cancelled one never calls back; freeing the session with an Execute
 * in flight neither. */
static void test_life_cycle(void **state)
{
	struct fx *fx = *state;
	struct out o1, o2;
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));
	struct mbx_session_exec_req req;
	struct mbx_session_exec *e;
	struct mbx_session *s;

	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	request(rb, &rops, one_empty, 1, 0);
	req = (struct mbx_session_exec_req){0, rb->b, rb->len, 0x8007};
	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	e = mbx_session_execute(fx->s, &req, exec_cb, &o1);
	assert_non_null(e);
	assert_null(mbx_session_execute(fx->s, &req, exec_cb, &o2));
	mbx_session_exec_cancel(e);
	for (int i = 0; i < 100; i++)
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(o1.calls, 0);
	/* after a cancel, the next one runs */
	e = mbx_session_execute(fx->s, &req, exec_cb, &o2);
	assert_non_null(e);
	loop_until(fx, &o2.calls);
	assert_int_equal(o2.logon_ecs[0], ecNone);

	s = session_for(fx, &alice, 0, 0);
	memset(&o1, 0, sizeof(o1));
	assert_non_null(mbx_session_execute(s, &req, exec_cb, &o1));
	mbx_session_free(&s);
	for (int i = 0; i < 100; i++)
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(o1.calls, 0);
	/* an error answer also comes from the loop */
	s = session_for(fx, &alice, 0, 0);
	req.rop_buffer_len = 3;
	memset(&o1, 0, sizeof(o1));
	assert_non_null(mbx_session_execute(s, &req, exec_cb, &o1));
	assert_int_equal(o1.calls, 0);
	loop_until(fx, &o1.calls);
	assert_int_equal(o1.ec, ecRpcFormat);
	mbx_session_free(&s);
	assert_null(mbx_session_execute(NULL, &req, exec_cb, &o1));
	mbx_session_exec_cancel(NULL);
	mbx_session_free(NULL);
	free(rb);
}

/* The principal as a resolved token (copied by the session). */
static void token_cb(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                     const char *message)
{
	(void)message;
	assert_int_equal(status, MBX_DIR_FOUND);
	*(struct mbx_principal **)ctx = p;
}

static void test_token(void **state)
{
	struct fx *fx = *state;
	struct mbx_principal *p = NULL;
	struct mbx_session_config sc = {0};
	struct mbx_session *s;
	struct out *o = malloc(sizeof(*o));

	assert_non_null(o);
	assert_non_null(mbx_principal_lookup(fx->res, alice.dn, token_cb, &p));
	for (int i = 0; i < 10000 && p == NULL; i++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_non_null(p);
	sc.pipeline = fx->pl;
	sc.id = &server1;
	mbx_dir_defer_init(&sc.defer, fx->base);
	sc.principal_name = alice.name;
	sc.token = p;
	s = mbx_session_new(&sc);
	mbx_principal_free(&p); /* the session has its own copy */
	assert_non_null(s);
	logon_on(fx, s, &alice, o);
	assert_int_equal(o->logon_ecs[0], ecNone);
	assert_int_equal(o->payload[2 + 111], 0x07);
	mbx_session_free(&s);

	memset(&sc, 0, sizeof(sc));
	assert_null(mbx_session_new(&sc));
	assert_null(mbx_session_new(NULL));
	free(o);
}

/* A RopLogon that only the second walk finds: the first walk guesses that a private RopLogon on
 * LogonId 3 (a public logon so far) succeeds, which makes a later RopSetMessageReadFlag on
 * LogonId 3 private (no ClientData) and its bytes a RopWriteStream that swallows the rest; the
 * logon fails (carol is in transit), so LogonId 3 stays public, the 24 bytes are ClientData
 * and a RopLogon follows: a second resolve round. */
static void test_second_round(void **state)
{
	struct fx *fx = *state;
	struct out *o = malloc(sizeof(*o));
	struct buf rops = {.len = 0}, d = {.len = 0}, *rb = malloc(sizeof(*rb));
	uint32_t h[2] = {MBX_HANDLE_NONE, MBX_HANDLE_NONE};
	size_t len;
	const uint8_t *l;
	char hex[64];

	assert_non_null(o);
	assert_non_null(rb);
	put_logon(&rops, 3, 1, 0x00, 0x01000002, NULL);
	request(rb, &rops, h, 2, 0);
	run(fx, rb, 0x8007, o);
	h[1] = resp_handle(o, 1);
	assert_int_equal(h[1], 1);

	put_logon(&d, 4, 1, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	rops.len = 0;
	put_logon(&rops, 3, 0, MBX_LOGON_PRIVATE, OPEN_HOME, carol.legacy);
	put(&rops, "11 03 00 01 00"); /* RopSetMessageReadFlag, ReadFlags 0 */
	snprintf(hex, sizeof(hex), "2D 03 01 %02zX %02zX", (19 + d.len) & 0xFF, (19 + d.len) >> 8);
	put(&rops, hex); /* ClientData (24 bytes) or a RopWriteStream of 19 + len(D) bytes */
	put(&rops, "00000000000000000000000000000000000000");
	memcpy(rops.b + rops.len, d.b, d.len);
	rops.len += d.len;
	request(rb, &rops, h, 2, 0);
	run(fx, rb, 0x8007, o);
	l = resp_rops(o, &len);
	assert_int_equal(len, 6 + 6 + 166);
	assert_memory_equal(l, "\xFE\x00\x0C\x05\x00\x00", 6);
	assert_memory_equal(l + 6, "\x11\x00\x02\x01\x04\x80", 6);
	assert_memory_equal(l + 12, "\xFE\x01\x00\x00\x00\x00\x01", 7);
	assert_int_equal(o->nlogons, 2);
	assert_int_equal(o->logon_ecs[1], ecNone);
	assert_int_equal(resp_handle(o, 1), 2);
	free(rb);
	free(o);
}

/* The callback may free the session, or start the next Execute. */
struct chain {
	struct fx *fx;
	struct mbx_session *s;
	struct mbx_session_exec_req req;
	int calls;
	bool free_it;
	struct out next;
};

static void chain_cb(void *ctx, const struct mbx_session_exec_result *res)
{
	struct chain *c = ctx;

	c->calls++;
	assert_int_equal(res->error_code, 0);
	if (c->free_it) {
		mbx_session_free(&c->s);
		return;
	}
	memset(&c->next, 0, sizeof(c->next));
	assert_non_null(mbx_session_execute(c->s, &c->req, exec_cb, &c->next));
}

static void test_callback_reentry(void **state)
{
	struct fx *fx = *state;
	struct chain *c = calloc(1, sizeof(*c));
	struct buf rops = {.len = 0}, *rb = malloc(sizeof(*rb));

	assert_non_null(c);
	assert_non_null(rb);
	put_logon(&rops, 0, 0, MBX_LOGON_PRIVATE, OPEN_HOME, alice.legacy);
	request(rb, &rops, one_empty, 1, 0);
	c->fx = fx;
	c->req = (struct mbx_session_exec_req){0, rb->b, rb->len, 0x8007};
	c->s = session_for(fx, &alice, 0, 0);
	c->free_it = true;
	assert_non_null(mbx_session_execute(c->s, &c->req, chain_cb, c));
	loop_until(fx, &c->calls);
	assert_null(c->s);

	c->calls = 0;
	c->free_it = false;
	c->s = session_for(fx, &alice, 0, 0);
	assert_non_null(mbx_session_execute(c->s, &c->req, chain_cb, c));
	loop_until(fx, &c->calls);
	loop_until(fx, &c->next.calls);
	assert_int_equal(c->next.logon_ecs[0], ecNone);
	mbx_session_free(&c->s);
	free(rb);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	        T(test_alice_logon_bytes), T(test_after_logon),      T(test_carol_in_transit),
	        T(test_dave_redirect),     T(test_erin_unknown),     T(test_bob_database_move),
	        T(test_compression_xor),   T(test_max_rop_out),      T(test_bad_input),
	        T(test_malformed_rops),    T(test_truncation_sweep), T(test_max_rops),
	        T(test_handles),           T(test_object_limit),     T(test_public_logon),
	        T(test_unsupported),       T(test_life_cycle),       T(test_token),
	        T(test_second_round),      T(test_callback_reentry),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
