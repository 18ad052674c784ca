/*
 * test-admin-move.c: the mbxctl commands that write (include/mbx/admin.h; design.md "Moves",
 * MS-OXMVMBX 3.1.1, seeds 000 and 001) on the ldif backend, asserting the LDIF file as it is on
 * disk after each step: move start / complete / abort round trips (another server, the same
 * server, another forest), the events 1006-1009 and 9548 through mbx_log_set_hook, the
 * refusals (seed 000's disabled account without a master SID, no mailbox, a move already
 * recorded, the current database, no move to complete or abort, an unknown database), the
 * mailbox table seeing each change at once, and `mailbox associate-self` (seed 000's fix).
 */
#include "test-admin-fx.h"

#include "mbx/secdesc.h"

#define MOVE_FLAGS "msExchMailboxMoveFlags"
#define MOVE_STATUS "msExchMailboxMoveStatus"
#define MOVE_SOURCE "msExchMailboxMoveSourceMDBLink"
#define MOVE_TARGET "msExchMailboxMoveTargetMDBLink"
#define ALICE_GUID "msExchMailboxGuid:: QOnAmka4q1mxtIeBEpmX7Q=="

/* The mailbox as the table has it now (through the cache). */
struct got_mbx {
	int calls;
	enum mbx_dir_status st;
	bool cached;
	uint32_t move_status;
	enum mbx_mailbox_state state;
};

static void got_mbx_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct got_mbx *g = ctx;

	g->calls++;
	g->st = res->status;
	g->cached = res->cached;
	g->move_status = res->mbx != NULL ? res->mbx->move_status : 0;
	g->state = mbx_mailbox_classify(res->mbx, res->status, &server1, NULL);
}

static struct got_mbx table_get(struct afx *fx, const char *legacy_dn)
{
	struct got_mbx g = {0};

	assert_non_null(mbx_mailbox_table_get(fx->t, legacy_dn, got_mbx_cb, &g));
	while (g.calls == 0)
		event_base_loop(fx->base, EVLOOP_ONCE);
	return g;
}

static char *show_value(struct afx *fx, const char *mailbox, const char *key)
{
	char *body, v[1024];

	assert_int_equal(afx_run(fx, &body, "mailbox", "show", mailbox), MBX_CTL_OK);
	afx_value(body, key, v, sizeof(v));
	free(body);
	return strdup(v);
}

static void assert_show(struct afx *fx, const char *mailbox, const char *key, const char *want)
{
	char *v = show_value(fx, mailbox, key);

	if (strcmp(v, want) != 0)
		fail_msg("%s %s: \"%s\", want \"%s\"", mailbox, key, v, want);
	free(v);
}

/* --- round trips -------------------------------------------------------------------------- */

static void test_start_complete_other_server(void **state)
{
	struct afx *fx = *state;
	char *before = afx_entry(fx, ALICE_DN), *e, *body, v[512];
	const char *ev;
	struct got_mbx g;

	/* the table holds alice as normal */
	g = table_get(fx, ALICE);
	assert_int_equal(g.state, MBX_MAILBOX_NORMAL);
	assert_true(afx_has_line(before, ALICE_GUID));

	assert_int_equal(afx_run(fx, &body, "move", "start", "alice@contoso.com", "--to", "DB03"),
	                 MBX_CTL_OK);
	assert_string_equal(afx_value(body, "mailbox", v, sizeof(v)), ALICE);
	assert_string_equal(afx_value(body, "action", v, sizeof(v)), "move started");
	assert_string_equal(afx_value(body, "source database", v, sizeof(v)), DB_LEG("DB01"));
	assert_string_equal(afx_value(body, "target database", v, sizeof(v)), DB_LEG("DB03"));
	assert_string_equal(afx_value(body, "move status", v, sizeof(v)), "2 (InProgress)");
	assert_string_equal(afx_value(body, "move flags", v, sizeof(v)), "0x2 (IntraOrg)");
	assert_string_equal(afx_value(body, "sessions dropped", v, sizeof(v)), "0");
	free(body);

	e = afx_entry(fx, ALICE_DN);
	assert_true(afx_has_line(e, MOVE_STATUS ": 2"));
	assert_true(afx_has_line(e, MOVE_FLAGS ": 2"));
	assert_true(afx_has_line(e, MOVE_SOURCE ": " DB01_DN));
	assert_true(afx_has_line(e, MOVE_TARGET ": " DB03_DN));
	assert_true(afx_has_line(e, "homeMDB: " DB01_DN)); /* not moved yet */
	assert_true(afx_has_line(e, ALICE_GUID));
	free(e);

	ev = afx_line(fx, "event=1006 ");
	assert_non_null(ev);
	assert_non_null(strstr(ev,
	                       "Started to move mailbox 'Alice Anders' (requested by uid 1000). "
	                       "Source Database: " DB_LEG("DB01") ". Destination Database: " DB_LEG(
	                               "DB03") ". Exchange DN: " ALICE));
	/* the table saw it at once: a new logon gets ecMailboxInTransit */
	g = table_get(fx, ALICE);
	assert_false(g.cached);
	assert_int_equal(g.move_status, 2);
	assert_int_equal(g.state, MBX_MAILBOX_IN_TRANSIT);
	assert_show(fx, ALICE, "logon", "ecMailboxInTransit (0x0000050C)");

	/* a second start is refused: the move is recorded */
	afx_clear_lines(fx);
	assert_int_equal(afx_run(fx, &body, "move", "start", ALICE, "--to", "DB02"),
	                 MBX_CTL_FAILED);
	assert_string_equal(body,
	                    "a move of " ALICE " is already recorded (msExchMailboxMoveStatus "
	                    "2 (InProgress)); complete or abort it first");
	free(body);
	assert_non_null(afx_line(fx, "event=1009 "));

	assert_int_equal(afx_run(fx, &body, "move", "complete", ALICE), MBX_CTL_OK);
	assert_string_equal(afx_value(body, "action", v, sizeof(v)), "move completed");
	assert_string_equal(afx_value(body, "home server", v, sizeof(v)), SRV2_LEG);
	assert_string_equal(afx_value(body, "move status", v, sizeof(v)), "10 (Completed)");
	free(body);
	e = afx_entry(fx, ALICE_DN);
	assert_true(afx_has_line(e, "homeMDB: " DB03_DN));
	assert_true(afx_has_line(e, "msExchHomeServerName: " SRV2_LEG));
	assert_true(afx_has_line(e, MOVE_STATUS ": 10"));
	assert_true(afx_has_line(e, MOVE_SOURCE ": " DB01_DN)); /* the record stays */
	assert_true(afx_has_line(e, MOVE_TARGET ": " DB03_DN));
	assert_true(afx_has_line(e, ALICE_GUID));
	free(e);
	ev = afx_line(fx, "event=1007 ");
	assert_non_null(ev);
	assert_non_null(
	        strstr(ev, "Completed the move of mailbox 'Alice Anders' (requested by "
	                   "uid 1000). Source Database: " DB_LEG(
	                           "DB01") ". Destination "
	                                   "Database: " DB_LEG("DB03") ". Exchange DN: " ALICE));
	g = table_get(fx, ALICE);
	assert_false(g.cached);
	assert_int_equal(g.state, MBX_MAILBOX_MOVED_SAME_FOREST);
	assert_show(fx, "alice@contoso.com", "redirect server", SRV2_LEG);

	/* nothing left to complete or abort */
	assert_int_equal(afx_run(fx, &body, "move", "complete", ALICE), MBX_CTL_FAILED);
	assert_string_equal(body, "no move in progress for " ALICE
	                          " (msExchMailboxMoveStatus 10 (Completed))");
	free(body);
	assert_int_equal(afx_run(fx, &body, "move", "abort", ALICE), MBX_CTL_FAILED);
	assert_string_equal(body, "no move recorded for " ALICE
	                          " (msExchMailboxMoveStatus 10 (Completed))");
	free(body);
	/* a completed move does not keep a new one from starting (back to DB01, by DN) */
	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--to", DB01_DN), MBX_CTL_OK);
	e = afx_entry(fx, ALICE_DN);
	assert_true(afx_has_line(e, MOVE_SOURCE ": " DB03_DN));
	assert_true(afx_has_line(e, MOVE_TARGET ": " DB01_DN));
	free(e);
	free(before);
}

static void test_start_abort(void **state)
{
	struct afx *fx = *state;
	char *before = afx_entry(fx, ALICE_DN), *started, *e, *body, v[512];
	const char *ev;

	/* the database by its legacyExchangeDN */
	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--to", DB_LEG("DB03")),
	                 MBX_CTL_OK);
	started = afx_entry(fx, ALICE_DN);
	assert_true(afx_has_line(started, MOVE_STATUS ": 2"));
	assert_int_equal(afx_run(fx, &body, "move", "abort", "alice@contoso.com"), MBX_CTL_OK);
	assert_string_equal(afx_value(body, "action", v, sizeof(v)), "move aborted");
	assert_string_equal(afx_value(body, "target database", v, sizeof(v)), DB_LEG("DB03"));
	assert_string_equal(afx_value(body, "move status", v, sizeof(v)), "none");
	free(body);
	/* the entry is exactly as before the start */
	/* the entry is as before the start: the start's entry without the move attributes, and
	 * the original one but for userPassword, which the LDIF writer puts in base64 */
	e = afx_entry(fx, ALICE_DN);
	afx_drop_lines(started, MOVE_STATUS);
	afx_drop_lines(started, MOVE_FLAGS);
	afx_drop_lines(started, MOVE_SOURCE);
	afx_drop_lines(started, MOVE_TARGET);
	assert_string_equal(e, started);
	afx_drop_lines(e, "userPassword");
	afx_drop_lines(before, "userPassword");
	assert_string_equal(e, before);
	free(e);
	free(started);
	ev = afx_line(fx, "event=1008 ");
	assert_non_null(ev);
	assert_non_null(
	        strstr(ev, "Aborted the move of mailbox 'Alice Anders' (requested by uid "
	                   "1000). Source Database: " DB_LEG(
	                           "DB01") ". Destination "
	                                   "Database: " DB_LEG("DB03") ". Exchange DN: " ALICE));
	assert_show(fx, ALICE, "state", "normal");
	/* carol's recorded move can be aborted too: she is no longer in transit */
	assert_int_equal(afx_run(fx, NULL, "move", "abort", RCPT("carol")), MBX_CTL_OK);
	e = afx_entry(fx, CAROL_DN);
	assert_false(afx_has_attr(e, MOVE_STATUS));
	assert_false(afx_has_attr(e, MOVE_FLAGS));
	assert_false(afx_has_attr(e, MOVE_SOURCE));
	assert_false(afx_has_attr(e, MOVE_TARGET));
	free(e);
	assert_show(fx, "carol@contoso.com", "state", "normal");
	free(before);
}

/* protocol.md 2.6: a database move on the same server keeps the MailboxGuid; the logon still
 * succeeds here. The database named by its cn, in any case. */
static void test_same_server(void **state)
{
	struct afx *fx = *state;
	char *e;

	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--to", "db02"), MBX_CTL_OK);
	assert_int_equal(afx_run(fx, NULL, "move", "complete", "alice@contoso.com"), MBX_CTL_OK);
	e = afx_entry(fx, ALICE_DN);
	assert_true(afx_has_line(e, "homeMDB: " DB02_DN));
	assert_true(afx_has_line(e, "msExchHomeServerName: " SRV1_LEG));
	assert_true(afx_has_line(e, ALICE_GUID));
	assert_true(afx_has_line(e, MOVE_STATUS ": 10"));
	free(e);
	assert_show(fx, ALICE, "state", "normal");
	assert_show(fx, ALICE, "logon", "ecNone (0x00000000)");
	assert_show(fx, ALICE, "mailbox GUID", "9ac0e940-b846-59ab-b1b4-8781129997ed");
	assert_show(fx, ALICE, "database", DB_LEG("DB02"));
}

/* move start --cross-forest: the move recorded with flags CrossOrg and no target database;
 * only a --cross-forest completion or an abort ends it. */
static void test_cross_forest_start(void **state)
{
	struct afx *fx = *state;
	char *e, *body, v[512];

	assert_int_equal(afx_run(fx, &body, "move", "start", ALICE, "--cross-forest"),
	                 MBX_CTL_OK);
	assert_string_equal(afx_value(body, "cross-forest", v, sizeof(v)), "yes");
	assert_string_equal(afx_value(body, "move flags", v, sizeof(v)), "0x1 (CrossOrg)");
	assert_string_equal(afx_value(body, "move status", v, sizeof(v)), "2 (InProgress)");
	free(body);
	e = afx_entry(fx, ALICE_DN);
	assert_true(afx_has_line(e, MOVE_STATUS ": 2"));
	assert_true(afx_has_line(e, MOVE_FLAGS ": 1"));
	assert_true(afx_has_attr(e, "msExchMailboxMoveSourceMDBLink"));
	assert_false(afx_has_attr(e, "msExchMailboxMoveTargetMDBLink"));
	assert_true(afx_has_attr(e, "homeMDB"));
	free(e);
	assert_non_null(afx_line(fx, "event=1006 "));
	assert_show(fx, ALICE, "state", "in transit");
	/* a plain completion has no database to go to */
	assert_int_equal(afx_run(fx, &body, "move", "complete", ALICE), MBX_CTL_FAILED);
	assert_non_null(strstr(body, "names no target database"));
	free(body);
	/* wrong forms */
	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--cross"), MBX_CTL_USAGE);
	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--cross-forest", "x"),
	                 MBX_CTL_USAGE);
	/* a second start is refused, an abort ends it */
	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--cross-forest"),
	                 MBX_CTL_FAILED);
	assert_int_equal(afx_run(fx, NULL, "move", "abort", ALICE), MBX_CTL_OK);
	e = afx_entry(fx, ALICE_DN);
	assert_false(afx_has_attr(e, "msExchMailboxMoveStatus"));
	assert_false(afx_has_attr(e, "msExchMailboxMoveFlags"));
	assert_false(afx_has_attr(e, "msExchMailboxMoveSourceMDBLink"));
	free(e);
	assert_show(fx, ALICE, "state", "normal");
	/* start again and complete out of the forest */
	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--cross-forest"),
	                 MBX_CTL_OK);
	assert_int_equal(afx_run(fx, NULL, "move", "complete", ALICE, "--cross-forest",
	                         "SMTP:alice@fabrikam.com"),
	                 MBX_CTL_OK);
	e = afx_entry(fx, ALICE_DN);
	assert_false(afx_has_attr(e, "homeMDB"));
	assert_true(afx_has_line(e, "targetAddress: SMTP:alice@fabrikam.com"));
	assert_true(afx_has_line(e, MOVE_STATUS ": 10"));
	free(e);
	assert_show(fx, ALICE, "state", "moved, other forest");
}

static void test_cross_forest(void **state)
{
	struct afx *fx = *state;
	char *e, *body, v[512];
	const char *ev;

	assert_int_equal(afx_run(fx, NULL, "move", "start", ALICE, "--to", "DB03"), MBX_CTL_OK);
	assert_int_equal(afx_run(fx, &body, "move", "complete", ALICE, "--cross-forest",
	                         "SMTP:alice@fabrikam.com"),
	                 MBX_CTL_OK);
	assert_null(strstr(body, "warning"));
	assert_string_equal(afx_value(body, "cross-forest", v, sizeof(v)), "yes");
	assert_string_equal(afx_value(body, "target address", v, sizeof(v)),
	                    "SMTP:alice@fabrikam.com");
	assert_string_equal(afx_value(body, "forest", v, sizeof(v)), "fabrikam");
	assert_string_equal(afx_value(body, "move flags", v, sizeof(v)), "0x1 (CrossOrg)");
	free(body);
	e = afx_entry(fx, ALICE_DN);
	assert_false(afx_has_attr(e, "homeMDB"));
	assert_false(afx_has_attr(e, "msExchHomeServerName"));
	assert_true(afx_has_line(e, "targetAddress: SMTP:alice@fabrikam.com"));
	assert_true(afx_has_line(e, "msExchRecipientTypeDetails: 128"));
	assert_true(afx_has_line(e, MOVE_FLAGS ": 1"));
	assert_true(afx_has_line(e, MOVE_STATUS ": 10"));
	assert_true(afx_has_line(e, ALICE_GUID));
	free(e);
	ev = afx_line(fx, "event=1007 ");
	assert_non_null(ev);
	assert_non_null(strstr(ev, "Completed the cross-forest move of mailbox 'Alice Anders'"));
	assert_non_null(strstr(ev, "Destination Database: SMTP:alice@fabrikam.com"));
	assert_show(fx, ALICE, "state", "moved, other forest");
	assert_show(fx, "alice@contoso.com", "logon", "ecUnknownUser (0x000003EB)");
	assert_show(fx, ALICE, "autodiscover url",
	            "https://autodiscover.fabrikam.com/autodiscover/");

	/* a domain of no configured forest: done, with a warning */
	afx_clear_lines(fx);
	assert_int_equal(afx_run(fx, NULL, "move", "start", "bob@contoso.com", "--to", "DB01"),
	                 MBX_CTL_OK);
	assert_int_equal(afx_run_json(fx, &body, "move", "complete", "bob@contoso.com",
	                              "--cross-forest", "bob@elsewhere.example"),
	                 MBX_CTL_OK);
	assert_non_null(strstr(body, "\"targetAddress\": \"SMTP:bob@elsewhere.example\""));
	assert_non_null(strstr(body, "\"forest\": null"));
	assert_non_null(strstr(body, "\"warning\": \"elsewhere.example is not a domain of a "
	                             "configured [forest.NAME]"));
	assert_non_null(strstr(body, "\"crossForest\": true"));
	free(body);
	assert_non_null(afx_line(fx, "elsewhere.example is not a domain of a configured"));
	assert_show(fx, "bob@contoso.com", "state", "custom recipient");
}

/* --- refusals ----------------------------------------------------------------------------- */

static void test_refuse_disabled_no_master(void **state)
{
	struct afx *fx = *state;
	char *file = afx_read(fx->path), *after, *body;
	const char *l9548, *l1009;

	afx_clear_lines(fx);
	assert_int_equal(afx_run(fx, &body, "move", "start", "gina@contoso.com", "--to", "DB03"),
	                 MBX_CTL_FAILED);
	assert_string_equal(body, "Disabled user " GINA " does not have a master account SID; "
	                          "set one with `mbxctl mailbox associate-self " GINA "`");
	free(body);
	l9548 = afx_line(fx, "event=9548 ");
	l1009 = afx_line(fx, "event=1009 ");
	assert_non_null(l9548);
	assert_non_null(l1009);
	assert_non_null(strstr(l9548, "disabled user " GINA " does not have a master account SID"));
	assert_non_null(
	        strstr(l1009, "move start refused (requested by uid 1000): Disabled user " GINA));
	assert_int_equal(afx_count(fx, "event="), 2);
	/* 9548 comes first, as in the seed */
	for (size_t i = 0; i < fx->nlines; i++) {
		if (strstr(fx->lines[i], "event=") != NULL) {
			assert_non_null(strstr(fx->lines[i], "event=9548 "));
			break;
		}
	}
	/* nothing written */
	after = afx_read(fx->path);
	assert_string_equal(file, after);
	free(after);
	free(file);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *argv[6];
		int exit;
		const char *msg;
	} rows[] = {
	        {{"move", "start", "carol@contoso.com", "--to", "DB02"},
	         MBX_CTL_FAILED,
	         "a move of " AG "/cn=Recipients/cn=carol is already recorded "
	         "(msExchMailboxMoveStatus 2 (InProgress)); complete or abort it first"},
	        {{"move", "start", "frank@partner.example", "--to", "DB02"},
	         MBX_CTL_FAILED,
	         AG "/cn=Recipients/cn=frank has no mailbox (no homeMDB): nothing to move"},
	        {{"move", "start", "erin@contoso.com", "--to", "DB02"},
	         MBX_CTL_FAILED,
	         AG "/cn=Recipients/cn=erin has no mailbox (no homeMDB): nothing to move"},
	        {{"move", "start", "alice@contoso.com", "--to", "DB01"},
	         MBX_CTL_FAILED,
	         AG "/cn=Recipients/cn=alice is already on database " AG
	            "/cn=Configuration/cn=Databases/cn=DB01"},
	        {{"move", "start", "alice@contoso.com", "--to", "DB99"},
	         MBX_CTL_NOT_FOUND,
	         "no such database: DB99"},
	        {{"move", "start", "alice@contoso.com", "--to", "cn=nothing,dc=contoso,dc=com"},
	         MBX_CTL_NOT_FOUND,
	         "no such database: cn=nothing,dc=contoso,dc=com"},
	        {{"move", "start", "alice@contoso.com", "--to", SRV2_DN},
	         MBX_CTL_FAILED,
	         SRV2_DN " is not a mailbox database"},
	        {{"move", "start", "nobody@contoso.com", "--to", "DB02"},
	         MBX_CTL_NOT_FOUND,
	         "no such mailbox: nobody@contoso.com"},
	        {{"move", "complete", "alice@contoso.com"},
	         MBX_CTL_FAILED,
	         "no move in progress for " AG "/cn=Recipients/cn=alice (msExchMailboxMoveStatus "
	         "absent)"},
	        {{"move", "abort", "alice@contoso.com"},
	         MBX_CTL_FAILED,
	         "no move recorded for " AG "/cn=Recipients/cn=alice (msExchMailboxMoveStatus "
	         "absent)"},
	        {{"move", "abort", "nobody@contoso.com"},
	         MBX_CTL_NOT_FOUND,
	         "no such mailbox: nobody@contoso.com"},
	};
	struct afx *fx = *state;
	char *file = afx_read(fx->path), *after;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct answer ans = {0};
		int argc = 0;

		while (argc < 6 && rows[i].argv[argc] != NULL)
			argc++;
		mbx_admin_run(fx->a, argc, rows[i].argv, false, "uid 0", afx_answer_cb, &ans);
		while (ans.calls == 0)
			event_base_loop(fx->base, EVLOOP_ONCE);
		if (ans.exit != rows[i].exit || strcmp(ans.body, rows[i].msg) != 0)
			fail_msg("row %zu: exit %d \"%s\"", i, ans.exit, ans.body);
		free(ans.body);
	}
	after = afx_read(fx->path);
	assert_string_equal(file, after);
	free(after);
	free(file);
}

/* --- associate-self ----------------------------------------------------------------------- */

struct got_sd_hdr {
	int calls;
	uint8_t buf[1024];
	size_t len;
};

static void sd_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct got_sd_hdr *g = ctx;

	g->calls++;
	assert_non_null(res->mbx);
	if (res->mbx->sd == NULL)
		return; /* len 0: none */
	assert_true(res->mbx->sd_len <= sizeof(g->buf));
	memcpy(g->buf, res->mbx->sd, res->mbx->sd_len);
	g->len = res->mbx->sd_len;
}

/* The snapshot's descriptor, decoded (through the table, fresh). */
/* Returns false (and *sd untouched) when the mailbox has no descriptor. */
static bool mailbox_secdesc(struct afx *fx, const char *legacy_dn, struct mbx_secdesc *sd)
{
	struct got_sd_hdr *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	mbx_mailbox_table_invalidate(fx->t, legacy_dn);
	assert_non_null(mbx_mailbox_table_get(fx->t, legacy_dn, sd_cb, g));
	while (g->calls == 0)
		event_base_loop(fx->base, EVLOOP_ONCE);
	if (g->len == 0) {
		free(g);
		return false;
	}
	assert_int_equal(mbx_secdesc_decode(g->buf, g->len, sd, NULL), 0);
	free(g);
	return true;
}

static void test_associate_self(void **state)
{
	struct afx *fx = *state;
	struct mbx_secdesc *sd, *before;
	char *e, *body, v[512], want[16];

	assert_show(fx, GINA, "state", "disabled without master account SID");
	/* whatever her descriptor holds stays first; SELF's ACE comes after */
	before = calloc(1, sizeof(*before));
	sd = calloc(1, sizeof(*sd));
	assert_non_null(before);
	assert_non_null(sd);
	if (!mailbox_secdesc(fx, GINA, before))
		before->dacl.nace = 0;
	assert_int_equal(afx_run(fx, &body, "mailbox", "associate-self", "gina@contoso.com"),
	                 MBX_CTL_OK);
	assert_string_equal(afx_value(body, "master account", v, sizeof(v)), "S-1-5-10 (SELF)");
	snprintf(want, sizeof(want), "%u", before->dacl.nace + 1);
	assert_string_equal(afx_value(body, "DACL entries", v, sizeof(v)), want);
	assert_non_null(strstr(body, "(added)"));
	free(body);
	e = afx_entry(fx, GINA_DN);
	assert_true(afx_has_line(e, "msExchMasterAccountSid:: AQEAAAAAAAUKAAAA")); /* S-1-5-10 */
	assert_true(afx_has_attr(e, "msExchMailboxSecurityDescriptor"));
	free(e);
	assert_true(mailbox_secdesc(fx, GINA, sd));
	assert_int_equal(sd->dacl.nace, before->dacl.nace + 1);
	for (unsigned i = 0; i < before->dacl.nace; i++) {
		assert_int_equal(sd->aces[i].mask, before->aces[i].mask);
		assert_true(mbx_sid_equal(&sd->aces[i].sid, &before->aces[i].sid));
	}
	{
		const struct mbx_ace *self = &sd->aces[before->dacl.nace];

		assert_true(mbx_sid_equal(&self->sid, &mbx_sid_self));
		assert_int_equal(self->type, MBX_SD_ACE_ACCESS_ALLOWED);
		assert_int_equal(self->flags, 0);
		assert_int_equal(self->mask,
		                 MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT);
	}
	free(sd);
	free(before);
	assert_non_null(afx_line(fx, "msExchMasterAccountSid of " GINA " set to SELF"));
	assert_show(fx, GINA, "state", "normal");
	assert_show(fx, "gina@contoso.com", "logon", "ecNone (0x00000000)");
	assert_show(fx, GINA, "master account", "S-1-5-10 (SELF)");
	/* the report no longer lists her */
	assert_int_equal(afx_run(fx, &body, "report", "disabled-without-master-sid"), MBX_CTL_OK);
	assert_string_equal(body, "");
	free(body);
	/* and her mailbox can be moved now */
	assert_int_equal(afx_run(fx, NULL, "move", "start", GINA, "--to", "DB03"), MBX_CTL_OK);
	/* never twice */
	assert_int_equal(afx_run(fx, &body, "mailbox", "associate-self", GINA), MBX_CTL_FAILED);
	assert_string_equal(body, GINA " already has a master account SID (S-1-5-10, SELF); it is "
	                               "not replaced");
	free(body);
	/* not for a contact */
	assert_int_equal(afx_run(fx, &body, "mailbox", "associate-self", "frank@partner.example"),
	                 MBX_CTL_FAILED);
	assert_string_equal(body, "cn=Frank Fisher,cn=Users,dc=contoso,dc=com is a contact, not "
	                          "an account");
	free(body);
}

/* A direct directory modification, waited for. */
struct got_mod {
	int calls;
	enum mbx_dir_status st;
};

static void got_mod_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct got_mod *g = ctx;

	g->calls++;
	g->st = res->status;
}

static void dir_modify(struct afx *fx, const char *dn, const struct mbx_dir_mod *mods, size_t n)
{
	struct got_mod g = {0};

	assert_non_null(mbx_dir_modify(fx->d, dn, mods, n, got_mod_cb, &g));
	while (g.calls == 0)
		event_base_loop(fx->base, EVLOOP_ONCE);
	assert_int_equal(g.st, MBX_DIR_FOUND);
}

/* An existing descriptor keeps its ACEs: SELF's is appended after them, or not added when
 * SELF already has both rights (room1's own descriptor). */
static void test_associate_self_keeps_acl(void **state)
{
	struct afx *fx = *state;
	const char *room1_dn = "cn=Conference Room 1,cn=Users,dc=contoso,dc=com";
	struct mbx_secdesc *sd = calloc(1, sizeof(*sd)), *orig = calloc(1, sizeof(*orig));
	struct mbx_ace ace;
	struct mbx_sid alice;
	uint8_t buf[256];
	struct wr w;
	struct mbx_dir_value val;
	struct mbx_dir_mod mods[2];
	char *body, *e, *e2, v[128];

	assert_non_null(sd);
	/* 1. room1 without its master SID: SELF already holds both rights, nothing added */
	assert_non_null(orig);
	mailbox_secdesc(fx, RCPT("room1"), orig);
	assert_int_equal(orig->dacl.nace, 4);
	memset(mods, 0, sizeof(mods));
	mods[0].op = MBX_DIR_MOD_DELETE;
	mods[0].attr = "msExchMasterAccountSid";
	dir_modify(fx, room1_dn, mods, 1);
	e = afx_entry(fx, room1_dn);
	assert_int_equal(afx_run(fx, &body, "mailbox", "associate-self", "room1@contoso.com"),
	                 MBX_CTL_OK);
	assert_string_equal(afx_value(body, "DACL entries", v, sizeof(v)), "4");
	assert_non_null(strstr(body, "(already granted)"));
	free(body);
	e2 = afx_entry(fx, room1_dn);
	assert_true(afx_has_line(e2, "msExchMasterAccountSid:: AQEAAAAAAAUKAAAA"));
	free(e);
	free(e2);
	/* the descriptor is written back with the same meaning (owner, ACEs in order) */
	mailbox_secdesc(fx, RCPT("room1"), sd);
	assert_true(mbx_secdesc_equal(orig, sd));
	free(orig);

	/* 2. a descriptor that grants only Alice: SELF's ACE goes after hers */
	mbx_secdesc_init(sd);
	assert_int_equal(mbx_sid_from_str(DOM "-1101", &alice), 0);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0, MBX_SD_RIGHT_FULL_ACCESS, &alice);
	assert_int_equal(mbx_secdesc_dacl_add(sd, &ace), 0);
	wr_init(&w, buf, sizeof(buf));
	assert_int_equal(mbx_secdesc_encode(&w, sd), 0);
	val.data = buf;
	val.len = w.len;
	memset(mods, 0, sizeof(mods));
	mods[0].op = MBX_DIR_MOD_DELETE;
	mods[0].attr = "msExchMasterAccountSid";
	mods[1].op = MBX_DIR_MOD_REPLACE;
	mods[1].attr = "msExchMailboxSecurityDescriptor";
	mods[1].vals = &val;
	mods[1].nvals = 1;
	dir_modify(fx, room1_dn, mods, 2);
	assert_int_equal(afx_run(fx, &body, "mailbox", "associate-self", RCPT("room1")),
	                 MBX_CTL_OK);
	assert_string_equal(afx_value(body, "DACL entries", v, sizeof(v)), "2");
	assert_non_null(strstr(body, "(added)"));
	free(body);
	mailbox_secdesc(fx, RCPT("room1"), sd);
	assert_int_equal(sd->dacl.nace, 2);
	assert_true(mbx_sid_equal(&sd->aces[0].sid, &alice));
	assert_int_equal(sd->aces[0].mask, MBX_SD_RIGHT_FULL_ACCESS);
	assert_true(mbx_sid_equal(&sd->aces[1].sid, &mbx_sid_self));
	assert_int_equal(sd->aces[1].type, MBX_SD_ACE_ACCESS_ALLOWED);
	assert_int_equal(sd->aces[1].mask,
	                 MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT);
	assert_show(fx, "room1@contoso.com", "master account", "S-1-5-10 (SELF)");
	free(sd);
}

/* seed 000: "Only one account at a time can have the Associated External Account permission";
 * one held by another account must be removed first: associate-self refuses and changes
 * nothing. */
static void test_associate_self_other_external(void **state)
{
	struct afx *fx = *state;
	const char *room1_dn = "cn=Conference Room 1,cn=Users,dc=contoso,dc=com";
	struct mbx_secdesc *sd = calloc(1, sizeof(*sd));
	struct mbx_ace ace;
	struct mbx_sid alice;
	uint8_t buf[256];
	struct wr w;
	struct mbx_dir_value val;
	struct mbx_dir_mod mods[2];
	char *body, *e;

	assert_non_null(sd);
	mbx_secdesc_init(sd);
	assert_int_equal(mbx_sid_from_str(DOM "-1101", &alice), 0);
	mbx_secdesc_ace_set(&ace, MBX_SD_ACE_ACCESS_ALLOWED, 0,
	                    MBX_SD_RIGHT_FULL_ACCESS | MBX_SD_RIGHT_EXTERNAL_ACCOUNT, &alice);
	assert_int_equal(mbx_secdesc_dacl_add(sd, &ace), 0);
	wr_init(&w, buf, sizeof(buf));
	assert_int_equal(mbx_secdesc_encode(&w, sd), 0);
	val.data = buf;
	val.len = w.len;
	memset(mods, 0, sizeof(mods));
	mods[0].op = MBX_DIR_MOD_DELETE;
	mods[0].attr = "msExchMasterAccountSid";
	mods[1].op = MBX_DIR_MOD_REPLACE;
	mods[1].attr = "msExchMailboxSecurityDescriptor";
	mods[1].vals = &val;
	mods[1].nvals = 1;
	dir_modify(fx, room1_dn, mods, 2);
	assert_int_equal(afx_run(fx, &body, "mailbox", "associate-self", RCPT("room1")),
	                 MBX_CTL_FAILED);
	assert_null(strchr(body, '\n'));
	assert_non_null(strstr(body, DOM "-1101"));
	assert_non_null(strstr(body, "associated external account"));
	assert_non_null(strstr(body, "remove it first"));
	free(body);
	/* nothing written */
	e = afx_entry(fx, room1_dn);
	assert_false(afx_has_line(e, "msExchMasterAccountSid:: AQEAAAAAAAUKAAAA"));
	free(e);
	mbx_secdesc_init(sd);
	assert_true(mailbox_secdesc(fx, RCPT("room1"), sd));
	assert_int_equal(sd->dacl.nace, 1);
	assert_true(mbx_sid_equal(&sd->aces[0].sid, &alice));
	free(sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_start_complete_other_server, afx_setup,
	                                        afx_teardown),
	        cmocka_unit_test_setup_teardown(test_start_abort, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_same_server, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_cross_forest, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_cross_forest_start, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_refuse_disabled_no_master, afx_setup,
	                                        afx_teardown),
	        cmocka_unit_test_setup_teardown(test_refusals, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_associate_self, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_associate_self_keeps_acl, afx_setup,
	                                        afx_teardown),
	        cmocka_unit_test_setup_teardown(test_associate_self_other_external, afx_setup,
	                                        afx_teardown),
	};

	mbx_log_open_stderr("test-admin-move");
	mbx_log_set_level(getenv("MBX_TEST_VERBOSE") != NULL ? MBX_LOG_DEBUG : MBX_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
