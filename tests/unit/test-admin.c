/*
 * test-admin.c: the mbxctl commands as the daemon runs them (include/mbx/admin.h) that read:
 * `mailbox show` for every kind of sample mailbox of conf/directory.ldif (normal, in transit,
 * moved to SERVER2, moved to fabrikam, contact, disabled without master SID, SELF resource,
 * unknown) by SMTP address and by legacyExchangeDN, in text and JSON; `report
 * disabled-without-master-sid` (seed 000's ldifde output); usage errors (exit 2); trace;
 * reload; help; sessions; the answer of mbx_admin_free; directory TEMPFAIL (exit 4) from an
 * ldap backend whose server is down. Moves and associate-self are in test-admin-move.c.
 */
#include "test-admin-fx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mbx/json.h"

/* --- mailbox show ------------------------------------------------------------------------- */

static const char alice_text[] =
        "mailbox:               " AG "/cn=Recipients/cn=alice\n"
        "dn:                    cn=Alice Anders,cn=Users,dc=contoso,dc=com\n"
        "display name:          Alice Anders\n"
        "smtp:                  alice@contoso.com\n"
        "kind:                  user\n"
        "recipient type:        0x1\n"
        "has mailbox:           yes\n"
        "homeMDB:               " DB01_DN "\n"
        "database:              " AG "/cn=Configuration/cn=Databases/cn=DB01\n"
        "home server:           " SRV1_LEG "\n"
        "hosted here:           yes\n"
        "account:               enabled (userAccountControl 0x200)\n"
        "object SID:            " DOM "-1101\n"
        "master account:        none (msExchMasterAccountSid absent)\n"
        "mailbox GUID:          9ac0e940-b846-59ab-b1b4-8781129997ed\n"
        "move status:           none\n"
        "move flags:            0x0 (None)\n"
        "move source:           -\n"
        "move target:           -\n"
        "target address:        -\n"
        "state:                 normal\n"
        "why:                   the mailbox database is on this server\n"
        "logon:                 ecNone (0x00000000)\n"
        "logon reason:          ";

static void test_show_alice(void **state)
{
	struct afx *fx = *state;
	char *body, *body2, v[512];

	assert_int_equal(afx_run(fx, &body, "mailbox", "show", ALICE), MBX_CTL_OK);
	if (strncmp(body, alice_text, strlen(alice_text)) != 0)
		fail_msg("got:\n%s", body);
	assert_string_equal(afx_value(body, "logon reason", v, sizeof(v)),
	                    "the principal's own mailbox");
	/* by an SMTP address (a proxy address), the same answer */
	assert_int_equal(afx_run(fx, &body2, "mailbox", "show", "alice.anders@contoso.com"),
	                 MBX_CTL_OK);
	assert_string_equal(body, body2);
	free(body2);
	/* and again: answered fresh although the table has it now */
	assert_int_equal(afx_run(fx, &body2, "mailbox", "show", "ALICE@contoso.com"), MBX_CTL_OK);
	assert_string_equal(body, body2);
	free(body2);
	free(body);
	/* no event: show is a preview */
	assert_null(afx_line(fx, "event="));
}

struct show_row {
	const char *arg;
	const char *state;
	const char *logon;
	const char *key, *value; /* one more line to check, or NULL */
};

static void test_show_kinds(void **state)
{
	static const struct show_row rows[] = {
	        {"carol@contoso.com", "in transit", "ecMailboxInTransit (0x0000050C)",
	         "move status", "2 (InProgress)"},
	        {RCPT("carol"), "in transit", "ecMailboxInTransit (0x0000050C)", "move target",
	         DB03_DN},
	        {"dave@contoso.com", "moved, same forest", "ecWrongServer (0x00000478)",
	         "redirect server", SRV2_LEG},
	        {RCPT("dave"), "moved, same forest", "ecWrongServer (0x00000478)", "redirect url",
	         "https://server2.contoso.com"},
	        {"erin@contoso.com", "moved, other forest", "ecUnknownUser (0x000003EB)", "forest",
	         "fabrikam"},
	        {RCPT("erin"), "moved, other forest", "ecUnknownUser (0x000003EB)",
	         "target address", "SMTP:erin@fabrikam.com"},
	        {"frank@partner.example", "custom recipient", "ecUnknownUser (0x000003EB)", "kind",
	         "contact"},
	        {"gina@contoso.com", "disabled without master account SID",
	         "ecLoginFailure (0x80040111)", "account", "disabled (userAccountControl 0x202)"},
	        {GINA, "disabled without master account SID", "ecLoginFailure (0x80040111)",
	         "master account", "none (msExchMasterAccountSid absent)"},
	        {"room1@contoso.com", "normal", "ecNone (0x00000000)", "master account",
	         "S-1-5-10 (SELF)"},
	        {RCPT("room1"), "normal", "ecNone (0x00000000)", "recipient type", "0x10"},
	        {"bob@contoso.com", "normal", "ecNone (0x00000000)", "database", DB_LEG("DB02")},
	};
	struct afx *fx = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct show_row *r = &rows[i];
		char *body, v[512];

		assert_int_equal(afx_run(fx, &body, "mailbox", "show", r->arg), MBX_CTL_OK);
		if (strcmp(afx_value(body, "state", v, sizeof(v)), r->state) != 0 ||
		    strcmp(afx_value(body, "logon", v, sizeof(v)), r->logon) != 0 ||
		    strcmp(afx_value(body, r->key, v, sizeof(v)), r->value) != 0)
			fail_msg("row %zu (%s):\n%s", i, r->arg, body);
		free(body);
	}
}

static void test_show_unknown(void **state)
{
	struct afx *fx = *state;
	char *body;

	assert_int_equal(afx_run(fx, &body, "mailbox", "show", "nobody@contoso.com"),
	                 MBX_CTL_NOT_FOUND);
	assert_string_equal(body, "no such mailbox: nobody@contoso.com");
	free(body);
	assert_int_equal(afx_run(fx, &body, "mailbox", "show", RCPT("nobody")), MBX_CTL_NOT_FOUND);
	assert_string_equal(body, "no such mailbox: " RCPT("nobody"));
	free(body);
}

static void test_show_json(void **state)
{
	struct afx *fx = *state;
	char *body;

	assert_int_equal(afx_run_json(fx, &body, "mailbox", "show", "dave@contoso.com"),
	                 MBX_CTL_OK);
	assert_non_null(strstr(body, "\"legacyExchangeDN\": \"" RCPT("dave") "\""));
	assert_non_null(strstr(body, "\"state\": \"moved, same forest\""));
	assert_non_null(strstr(body, "\"hostedHere\": false"));
	assert_non_null(strstr(body, "\"moveStatus\": 0"));
	assert_non_null(strstr(body, "\"moveStatusName\": null"));
	assert_non_null(strstr(body, "\"masterAccountSid\": null"));
	assert_non_null(strstr(body, "\"ec\": 1144"));
	assert_non_null(strstr(body, "\"ecName\": \"ecWrongServer\""));
	assert_non_null(strstr(body, "\"redirectServer\": \"" SRV2_LEG "\""));
	assert_non_null(strstr(body, "\"redirectUrl\": \"https://server2.contoso.com\""));
	assert_int_equal(body[0], '{');
	assert_int_equal(body[strlen(body) - 1], '\n');
	free(body);
	/* errors are one line in JSON mode too (control.c wraps them) */
	assert_int_equal(afx_run_json(fx, &body, "mailbox", "show", "nobody@contoso.com"),
	                 MBX_CTL_NOT_FOUND);
	assert_string_equal(body, "no such mailbox: nobody@contoso.com");
	free(body);
}

/* --- report ------------------------------------------------------------------------------- */

static void test_report(void **state)
{
	struct afx *fx = *state;
	char *body;

	assert_int_equal(afx_run(fx, &body, "report", "disabled-without-master-sid"), MBX_CTL_OK);
	/* gina only: room1 is disabled but has SELF; the service account is enabled */
	assert_string_equal(body, "dn: " GINA_DN "\nchangetype: add\n\n");
	free(body);
	assert_int_equal(afx_run_json(fx, &body, "report", "disabled-without-master-sid"),
	                 MBX_CTL_OK);
	assert_string_equal(body, "{\n"
	                          "  \"accounts\": [\n"
	                          "    {\n"
	                          "      \"dn\": \"" GINA_DN "\",\n"
	                          "      \"legacyExchangeDN\": \"" GINA "\",\n"
	                          "      \"hasMailbox\": true\n"
	                          "    }\n"
	                          "  ],\n"
	                          "  \"count\": 1\n"
	                          "}\n");
	free(body);
}

/* --- usage, help, trace, reload, sessions ------------------------------------------------- */

static void test_usage(void **state)
{
	static const char *const cases[][6] = {
	        {"bogus"},
	        {"mailbox"},
	        {"mailbox", "frob", "x@y"},
	        {"mailbox", "show"},
	        {"mailbox", "show", "alice"},
	        {"mailbox", "show", "a@b", "extra"},
	        {"move", "start", "alice@contoso.com"},
	        {"move", "start", "alice@contoso.com", "--from", "DB02"},
	        {"move", "start", "alice@contoso.com", "--to", "DB;02"},
	        {"move", "complete", "alice@contoso.com", "--cross-forest"},
	        {"move", "complete", "alice@contoso.com", "--cross-forest", "not-an-address"},
	        {"move", "complete", "alice@contoso.com", "--to", "SMTP:a@fabrikam.com"},
	        {"move", "abort"},
	        {"report"},
	        {"report", "everything"},
	        {"trace", "rop"},
	        {"trace", "nonsense", "on"},
	        {"trace", "rop", "maybe"},
	        {"sessions", "all"},
	        {"help", "me"},
	};
	struct afx *fx = *state;
	char *before = afx_read(fx->path);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct answer ans = {0};
		int argc = 0;

		while (argc < 6 && cases[i][argc] != NULL)
			argc++;
		mbx_admin_run(fx->a, argc, cases[i], false, "uid 0", afx_answer_cb, &ans);
		assert_int_equal(ans.calls, 0);
		while (ans.calls == 0)
			event_base_loop(fx->base, EVLOOP_ONCE);
		if (ans.exit != MBX_CTL_USAGE)
			fail_msg("case %zu (%s): exit %d: %s", i, cases[i][0], ans.exit, ans.body);
		assert_true(strncmp(ans.body, "usage: mbxctl ", 14) == 0 ||
		            strncmp(ans.body, "unknown command", 15) == 0);
		free(ans.body);
	}
	{
		struct answer ans = {0};

		mbx_admin_run(fx->a, 0, NULL, false, "uid 0", afx_answer_cb, &ans);
		assert_int_equal(ans.calls, 0);
		event_base_loop(fx->base, EVLOOP_ONCE);
		assert_int_equal(ans.calls, 1);
		assert_int_equal(ans.exit, MBX_CTL_USAGE);
		free(ans.body);
	}
	/* exact texts of two of them */
	{
		char *body;

		assert_int_equal(afx_run(fx, &body, "bogus"), MBX_CTL_USAGE);
		assert_string_equal(
		        body, "unknown command \"bogus\"; \"mbxctl help\" lists the commands");
		free(body);
		assert_int_equal(afx_run(fx, &body, "move", "start", "alice@contoso.com"),
		                 MBX_CTL_USAGE);
		assert_string_equal(body,
		                    "usage: mbxctl move start MAILBOX --to DATABASE | --cross-forest");
		free(body);
		assert_int_equal(afx_run(fx, &body, "move"), MBX_CTL_USAGE);
		assert_string_equal(body, "usage: mbxctl move start|complete|abort ...");
		free(body);
	}
	/* nothing was written */
	{
		char *after = afx_read(fx->path);

		assert_string_equal(before, after);
		free(after);
	}
	free(before);
}

static void test_help(void **state)
{
	struct afx *fx = *state;
	char *body;

	assert_int_equal(afx_run(fx, &body, "help"), MBX_CTL_OK);
	assert_true(strncmp(body, "commands:\n", 10) == 0);
	assert_non_null(strstr(body, "\n  move start MAILBOX --to DATABASE "));
	assert_non_null(strstr(body, "\n  mailbox associate-self MAILBOX "));
	assert_non_null(strstr(body, "\n  report disabled-without-master-sid "));
	free(body);
	assert_int_equal(afx_run_json(fx, &body, "help"), MBX_CTL_OK);
	assert_non_null(strstr(body, "\"usage\": \"move abort MAILBOX\""));
	free(body);
}

static void test_trace(void **state)
{
	struct afx *fx = *state;
	unsigned saved = mbx_log_get_trace();
	char *body;

	mbx_log_set_trace(MBX_TRACE_ROP | MBX_TRACE_HTTP | MBX_TRACE_LDAP | MBX_TRACE_STORE, false);
	assert_int_equal(afx_run(fx, &body, "trace", "rop", "on"), MBX_CTL_OK);
	assert_string_equal(body, "rop:                   on\n"
	                          "http:                  off\n"
	                          "ldap:                  off\n"
	                          "store:                 off\n");
	free(body);
	assert_int_equal(mbx_log_get_trace(), MBX_TRACE_ROP);
	assert_non_null(afx_line(fx, "admin: uid 1000: trace rop on"));
	assert_int_equal(afx_run(fx, NULL, "trace", "all", "on"), MBX_CTL_OK);
	assert_int_equal(mbx_log_get_trace(),
	                 MBX_TRACE_ROP | MBX_TRACE_HTTP | MBX_TRACE_LDAP | MBX_TRACE_STORE);
	assert_int_equal(afx_run(fx, NULL, "trace", "LDAP", "off"), MBX_CTL_OK);
	assert_int_equal(mbx_log_get_trace(), MBX_TRACE_ROP | MBX_TRACE_HTTP | MBX_TRACE_STORE);
	assert_int_equal(afx_run_json(fx, &body, "trace", "all", "off"), MBX_CTL_OK);
	assert_int_equal(mbx_log_get_trace(), 0);
	assert_non_null(strstr(body, "\"trace\": {"));
	assert_non_null(strstr(body, "\"rop\": false"));
	free(body);
	mbx_log_set_trace(saved, true);
}

static int reload_calls;
static int reload_ok(void *ctx, char *err, size_t errsize)
{
	(void)ctx;
	(void)err;
	(void)errsize;
	reload_calls++;
	return 0;
}

static int reload_bad(void *ctx, char *err, size_t errsize)
{
	(void)ctx;
	reload_calls++;
	snprintf(err, errsize, "mbxstored.conf:12: unknown key \"frob\"");
	return -1;
}

static void test_reload(void **state)
{
	struct afx *fx = *state;
	struct mbx_admin *a;
	char *body;

	assert_int_equal(afx_run(fx, &body, "reload"), MBX_CTL_FAILED);
	assert_string_equal(body, "reload is not available");
	free(body);
	reload_calls = 0;
	a = afx_admin(fx, fx->d, reload_ok);
	assert_int_equal(afx_run_on(fx, a, false, &body, "reload", NULL), MBX_CTL_OK);
	assert_string_equal(body, "reload:                done\n");
	free(body);
	mbx_admin_free(&a);
	a = afx_admin(fx, fx->d, reload_bad);
	assert_int_equal(afx_run_on(fx, a, false, &body, "reload", NULL), MBX_CTL_FAILED);
	assert_string_equal(body, "reload failed: mbxstored.conf:12: unknown key \"frob\"");
	free(body);
	mbx_admin_free(&a);
	assert_int_equal(reload_calls, 2);
	/* a reconfigure changes what is read at the next command */
	mbx_admin_reconfigure(fx->a, NULL);
	assert_int_equal(afx_run(fx, &body, "mailbox", "show", "dave@contoso.com"), MBX_CTL_OK);
	assert_null(strstr(body, "redirect url"));
	free(body);
	mbx_admin_reconfigure(fx->a, &fx->cfg);
}

static void test_sessions(void **state)
{
	struct afx *fx = *state;
	char *body;

	assert_int_equal(afx_run(fx, &body, "sessions"), MBX_CTL_OK);
	assert_string_equal(body, "owner                      age(s)  idle(s) requests state   "
	                          "mailboxes\n"
	                          "sessions: 0\n");
	free(body);
	assert_int_equal(afx_run_json(fx, &body, "sessions"), MBX_CTL_OK);
	assert_string_equal(body, "{\n  \"sessions\": [],\n  \"count\": 0\n}\n");
	free(body);
}

/* mbx_admin_free answers what is still running. */
static void test_free_pending(void **state)
{
	struct afx *fx = *state;
	const char *argv[] = {"mailbox", "show", ALICE};
	struct answer a1 = {0}, a2 = {0};
	struct mbx_admin *a = afx_admin(fx, fx->d, NULL);

	mbx_admin_run(a, 3, argv, false, "uid 0", afx_answer_cb, &a1);
	mbx_admin_run(a, 1, argv, false, "uid 0", afx_answer_cb, &a2); /* "mailbox": usage */
	assert_int_equal(mbx_admin_pending(a), 2);
	assert_int_equal(a1.calls + a2.calls, 0);
	mbx_admin_free(&a);
	assert_null(a);
	assert_int_equal(a1.calls, 1);
	assert_int_equal(a1.exit, MBX_CTL_FAILED);
	assert_string_equal(a1.body, "daemon stopping");
	/* an answer that was ready is delivered as it was */
	assert_int_equal(a2.calls, 1);
	assert_int_equal(a2.exit, MBX_CTL_USAGE);
	free(a1.body);
	free(a2.body);
	/* the loop has nothing left to run for them */
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(a1.calls, 1);
	assert_int_equal(a2.calls, 1);
	mbx_admin_free(&a); /* NULL-safe */
}

/* --- TEMPFAIL ----------------------------------------------------------------------------- */

static unsigned short closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void test_tempfail(void **state)
{
	struct afx *fx = *state;
	char uri[64], pw[256], err[512] = "", *body;
	const char *uris[2] = {uri, NULL};
	struct mbx_dir_config dc;
	struct mbx_mailbox_table_config tc;
	struct mbx_mailbox_table *t;
	struct mbx_admin_deps deps;
	struct mbx_admin *a;
	struct mbx_dir *d;
	FILE *f;

	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%u", closed_port());
	snprintf(pw, sizeof(pw), "%s/pw", fx->dir);
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);
	assert_int_equal(chmod(pw, 0600), 0);
	memset(&dc, 0, sizeof(dc));
	dc.backend = "ldap";
	dc.uris = uris;
	dc.base_dn = "dc=contoso,dc=com";
	dc.bind_dn = "cn=mbxstored,cn=Users,dc=contoso,dc=com";
	dc.bind_password_file = pw;
	dc.network_timeout_ms = 200;
	dc.request_timeout_ms = 500;
	dc.retry_min_ms = 100;
	dc.retry_max_ms = 200;
	dc.group_depth = 8;
	d = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (d == NULL)
		fail_msg("ldap backend: %s", err);
	memset(&tc, 0, sizeof(tc));
	tc.ttl_ms = 60000;
	tc.stale_max_ms = 3600000;
	mbx_dir_defer_init(&tc.defer, fx->base);
	t = mbx_mailbox_table_new(d, &tc);
	assert_non_null(t);
	memset(&deps, 0, sizeof(deps));
	deps.base = fx->base;
	deps.dir = d;
	deps.table = t;
	deps.id = &server1;
	a = mbx_admin_new(&deps);
	assert_non_null(a);

	assert_int_equal(
	        afx_run_on(fx, a, false, &body, "mailbox", "show", "alice@contoso.com", NULL),
	        MBX_CTL_TEMPFAIL);
	assert_true(strncmp(body, "directory unavailable: ", 23) == 0);
	free(body);
	assert_int_equal(
	        afx_run_on(fx, a, false, &body, "move", "start", ALICE, "--to", "DB03", NULL),
	        MBX_CTL_TEMPFAIL);
	assert_true(strncmp(body, "directory unavailable: ", 23) == 0);
	free(body);
	assert_int_equal(
	        afx_run_on(fx, a, true, &body, "report", "disabled-without-master-sid", NULL),
	        MBX_CTL_TEMPFAIL);
	assert_true(strncmp(body, "directory unavailable: ", 23) == 0);
	free(body);
	mbx_admin_free(&a);
	mbx_mailbox_table_free(&t);
	mbx_dir_free(&d);
}

/* --- a directory that fails where the test says ------------------------------------------- */

/* Wraps the ldif backend: lookups of kind `fail_kind` answer `fail_status`, modifications
 * answer `mod_status` (FOUND: passed on). Answers come from the loop, as the rules want. */
struct wrap_dir {
	struct mbx_dir head;
	struct mbx_dir *inner;
	int fail_kind; /* -1: none */
	enum mbx_dir_status fail_status;
	enum mbx_dir_status mod_status;
};

struct wrap_req {
	struct mbx_dir_req head;
	struct event *ev;
	enum mbx_dir_status st;
	mbx_dir_cb *cb;
	void *ctx;
};

static void wrap_fire(evutil_socket_t fd, short what, void *arg)
{
	struct wrap_req *r = arg;
	struct mbx_dir_result res = {.status = r->st, .server = "wrap"};

	(void)fd;
	(void)what;
	res.message = r->st == MBX_DIR_TEMPFAIL ? "wrap: server down" : "wrap: scripted error";
	r->cb(r->ctx, &res);
	event_free(r->ev);
	free(r);
}

static struct mbx_dir_req *wrap_fail(struct mbx_dir *d, enum mbx_dir_status st, mbx_dir_cb *cb,
                                     void *ctx)
{
	struct wrap_req *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->head.dir = d;
	r->st = st;
	r->cb = cb;
	r->ctx = ctx;
	r->ev = event_new(d->base, -1, 0, wrap_fire, r);
	event_active(r->ev, EV_TIMEOUT, 1);
	return &r->head;
}

static struct mbx_dir_req *wrap_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                                       size_t keylen, mbx_dir_cb *cb, void *ctx)
{
	struct wrap_dir *w = (struct wrap_dir *)d;

	if ((int)kind == w->fail_kind)
		return wrap_fail(d, w->fail_status, cb, ctx);
	return mbx_dir_lookup(w->inner, kind, key, keylen, cb, ctx);
}

static struct mbx_dir_req *wrap_modify(struct mbx_dir *d, const char *dn,
                                       const struct mbx_dir_mod *mods, size_t nmods, mbx_dir_cb *cb,
                                       void *ctx)
{
	struct wrap_dir *w = (struct wrap_dir *)d;

	if (w->mod_status != MBX_DIR_FOUND)
		return wrap_fail(d, w->mod_status, cb, ctx);
	return mbx_dir_modify(w->inner, dn, mods, nmods, cb, ctx);
}

static void wrap_cancel(struct mbx_dir_req *req)
{
	struct wrap_req *r = (struct wrap_req *)req;

	event_free(r->ev);
	free(r);
}

static void wrap_free(struct mbx_dir *d)
{
	free(d);
}

static const struct mbx_dir_ops wrap_ops = {
        .name = "wrap",
        .lookup = wrap_lookup,
        .modify = wrap_modify,
        .cancel = wrap_cancel,
        .free = wrap_free,
};

static void test_dir_failures(void **state)
{
	struct afx *fx = *state;
	struct wrap_dir *w = calloc(1, sizeof(*w));
	struct mbx_mailbox_table_config tc;
	struct mbx_mailbox_table *t, *saved_t = fx->t;
	struct mbx_dir *d;
	struct mbx_admin *a;
	char *file = afx_read(fx->path), *after, *body;

	assert_non_null(w);
	w->head.ops = &wrap_ops;
	w->head.base = fx->base;
	w->inner = fx->d;
	w->fail_kind = -1;
	w->mod_status = MBX_DIR_FOUND;
	d = &w->head;
	memset(&tc, 0, sizeof(tc));
	tc.ttl_ms = 60000;
	mbx_dir_defer_init(&tc.defer, fx->base);
	t = mbx_mailbox_table_new(d, &tc);
	assert_non_null(t);
	fx->t = t;
	a = afx_admin(fx, d, NULL);
	fx->t = saved_t;
	assert_non_null(a);

	/* a lookup ERROR: exit 1, never "no such mailbox" */
	w->fail_kind = MBX_DIR_BY_SMTP;
	w->fail_status = MBX_DIR_ERROR;
	assert_int_equal(
	        afx_run_on(fx, a, false, &body, "mailbox", "show", "alice@contoso.com", NULL),
	        MBX_CTL_FAILED);
	assert_string_equal(body, "directory error on mailbox alice@contoso.com: wrap: scripted "
	                          "error");
	free(body);
	/* TEMPFAIL of the lookups by DN (the mailbox's database, the target): exit 4 */
	w->fail_kind = MBX_DIR_BY_DN;
	w->fail_status = MBX_DIR_TEMPFAIL;
	assert_int_equal(
	        afx_run_on(fx, a, false, &body, "move", "start", ALICE, "--to", "DB03", NULL),
	        MBX_CTL_TEMPFAIL);
	assert_string_equal(body, "directory unavailable: wrap: server down");
	free(body);
	w->fail_kind = -1;
	/* the modification fails: TEMPFAIL exit 4, ERROR exit 1; no event, nothing written */
	afx_clear_lines(fx);
	w->mod_status = MBX_DIR_TEMPFAIL;
	assert_int_equal(
	        afx_run_on(fx, a, false, &body, "move", "start", ALICE, "--to", "DB03", NULL),
	        MBX_CTL_TEMPFAIL);
	assert_string_equal(body, "directory unavailable: wrap: server down");
	free(body);
	w->mod_status = MBX_DIR_ERROR;
	assert_int_equal(afx_run_on(fx, a, false, &body, "mailbox", "associate-self", GINA, NULL),
	                 MBX_CTL_FAILED);
	assert_string_equal(body, "the directory refused the change: wrap: scripted error");
	free(body);
	assert_null(afx_line(fx, "event="));
	after = afx_read(fx->path);
	assert_string_equal(file, after);
	free(after);
	free(file);
	/* and through to the ldif backend when nothing fails */
	w->mod_status = MBX_DIR_FOUND;
	assert_int_equal(
	        afx_run_on(fx, a, false, NULL, "move", "start", ALICE, "--to", "DB03", NULL),
	        MBX_CTL_OK);
	assert_non_null(afx_line(fx, "event=1006 "));
	mbx_admin_free(&a);
	mbx_mailbox_table_free(&t);
	mbx_dir_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_show_alice, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_show_kinds, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_show_unknown, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_show_json, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_report, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_usage, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_help, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_trace, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_reload, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_sessions, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_free_pending, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_tempfail, afx_setup, afx_teardown),
	        cmocka_unit_test_setup_teardown(test_dir_failures, afx_setup, afx_teardown),
	};

	mbx_log_open_stderr("test-admin");
	mbx_log_set_level(getenv("MBX_TEST_VERBOSE") != NULL ? MBX_LOG_DEBUG : MBX_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
