/*
 * test-ad-server.c: the Autodiscover service (src/autodiscover/ad-server.c and the writers of
 * ad-response.c; [MS-OXDSCLI] 3.2.5, protocol.md 7, the decision table of
 * include/mbx/autodiscover.h) on the sample directory conf/directory.ldif through the ldif
 * backend, the mailbox table and a real event loop, with a configuration that has [servers]
 * SERVER1 and SERVER2 and the forest fabrikam. Every answer is parsed back with libxml2 and its
 * elements asserted: settings (mapiHttp and EXCH/EXPR), redirectUrl, redirectAddr, errors 500,
 * 501, 600, 601, 602, 603; callbacks only from the loop; cancellation; the log line.
 */
#include "mbx-test.h"

#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "mbx/autodiscover.h"
#include "mbx/config.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/log.h"
#include "mbx/mailbox-table.h"

#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define CFGDN                                                                                      \
	",cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"            \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define SRV1_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER1"
#define SRV2_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER2"
#define DB01_LEG AG "/cn=Configuration/cn=Databases/cn=DB01"
#define RCPT(a) AG "/cn=Recipients/cn=" a
#define ALICE_GUID "9ac0e940-b846-59ab-b1b4-8781129997ed"
#define DAVE_GUID "0a88dde0-9ca7-5a5b-acc6-beb6c295f1e8"
#define CAROL_GUID "eb8a71bf-b568-575a-a8cf-ff812ee9afb7"
#define FABRIKAM_AD "https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml"

#define CONF_HEAD                                                                                  \
	"[server]\n"                                                                               \
	"name = SERVER1\n"                                                                         \
	"legacy_dn = " SRV1_LEG "\n"                                                               \
	"ldap_dn = cn=SERVER1,cn=Servers" CFGDN "\n"
#define CONF_FOREST                                                                                \
	"[forest.fabrikam]\n"                                                                      \
	"domains = fabrikam.com\n"                                                                 \
	"autodiscover_url = " FABRIKAM_AD "\n"
#define CONF_FULL                                                                                  \
	CONF_HEAD "[servers]\n"                                                                    \
	          "SERVER1 = https://server1.contoso.com\n"                                        \
	          "SERVER2 = https://server2.contoso.com:8443\n" CONF_FOREST

/* Entries appended to a copy of the sample directory: tests/unit/data/ad-server-extra.ldif
 * (mallory: mail user of a domain of no forest; olga: mail user whose target is itself; oscar:
 * markup in its display name; nora: a mailbox without msExchMailboxGuid). */

struct fx {
	struct event_base *base;
	char tmp[64], path[128];
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_config cfg;
	struct mbx_server_identity id;
	struct mbx_autodiscover *ad;
};

/* What came back. */
struct answer {
	int calls;
	int status;
	char *xml;
	size_t len;
	xmlDocPtr doc;
};

#define LOG_LINES 64
static struct {
	char lines[LOG_LINES][1024];
	int n;
} logcap;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	if (logcap.n < LOG_LINES)
		snprintf(logcap.lines[logcap.n++], sizeof(logcap.lines[0]), "%s", line);
}

static const char *log_find(const char *sub)
{
	for (int i = 0; i < logcap.n; i++)
		if (strstr(logcap.lines[i], sub) != NULL)
			return logcap.lines[i];
	return NULL;
}

static void load_conf(const char *text, struct mbx_config *cfg, struct mbx_server_identity *id)
{
	static char err[8192];

	if (mbx_config_parse("t.conf", text, strlen(text), cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	mbx_config_server_identity(cfg, id);
}

static struct mbx_autodiscover *ad_new(struct fx *fx, const struct mbx_config *cfg,
                                       const struct mbx_server_identity *id,
                                       struct mbx_mailbox_table *table)
{
	struct mbx_autodiscover_deps deps = {0};
	struct mbx_autodiscover *ad;
	char err[256];

	deps.table = table;
	deps.id = id;
	deps.cfg = cfg;
	mbx_dir_defer_init(&deps.defer, fx->base);
	ad = mbx_autodiscover_new(&deps, err, sizeof(err));
	if (ad == NULL)
		fail_msg("mbx_autodiscover_new: %s", err);
	return ad;
}

static struct mbx_mailbox_table *table_new(struct fx *fx, struct mbx_dir *dir)
{
	struct mbx_mailbox_table_config tc = {0};
	struct mbx_mailbox_table *t;

	tc.ttl_ms = 60000;
	tc.negative_ttl_ms = 1000;
	tc.stale_max_ms = 0;
	tc.max_entries = 100;
	mbx_dir_defer_init(&tc.defer, fx->base);
	t = mbx_mailbox_table_new(dir, &tc);
	assert_non_null(t);
	return t;
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *src = getenv("MBX_SRCDIR");
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	char from[4096], cmd[8500], err[512];

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/test-ad-server.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(from, sizeof(from), "%s/conf/directory.ldif", src != NULL ? src : ".");
	snprintf(fx->path, sizeof(fx->path), "%s/directory.ldif", fx->tmp);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, fx->path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd),
	         "{ echo; cat '%s/tests/unit/data/ad-server-extra.ldif'; } >> '%s'",
	         src != NULL ? src : ".", fx->path);
	assert_int_equal(system(cmd), 0);
	dc.ldif_path = fx->path;
	fx->dir = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (fx->dir == NULL)
		fail_msg("ldif backend: %s", err);
	fx->table = table_new(fx, fx->dir);
	load_conf(CONF_FULL, &fx->cfg, &fx->id);
	fx->ad = ad_new(fx, &fx->cfg, &fx->id, fx->table);
	memset(&logcap, 0, sizeof(logcap));
	mbx_log_set_hook(log_hook, NULL);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[200];

	mbx_log_set_hook(NULL, NULL);
	mbx_autodiscover_free(&fx->ad);
	assert_null(fx->ad);
	mbx_mailbox_table_free(&fx->table);
	mbx_dir_free(&fx->dir);
	mbx_config_free(&fx->cfg);
	event_base_free(fx->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmp);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void fx_run(struct fx *fx)
{
	do
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
	while (event_base_get_num_events(fx->base, EVENT_BASE_COUNT_ACTIVE) > 0);
}

static void answer_cb(void *ctx, int status, const char *xml, size_t len)
{
	struct answer *a = ctx;

	a->calls++;
	a->status = status;
	a->xml = malloc(len + 1);
	assert_non_null(a->xml);
	memcpy(a->xml, xml, len);
	a->xml[len] = '\0';
	a->len = len;
}

static void answer_free(struct answer *a)
{
	xmlFreeDoc(a->doc);
	free(a->xml);
	memset(a, 0, sizeof(*a));
}

static char body[4096];

static const char *req_email(const char *email)
{
	snprintf(
	        body, sizeof(body),
	        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"" MBX_AD_NS_REQUEST
	        "\"><Request><EMailAddress>%s</"
	        "EMailAddress><AcceptableResponseSchema>" MBX_AD_NS_OUTLOOK
	        "</AcceptableResponseSchema></Request></Autodiscover>",
	        email);
	return body;
}

static const char *req_dn(const char *dn, const char *email)
{
	snprintf(body, sizeof(body),
	         "<Autodiscover xmlns=\"" MBX_AD_NS_REQUEST
	         "\"><Request>%s%s%s<LegacyDN>%s</LegacyDN>"
	         "<AcceptableResponseSchema>" MBX_AD_NS_OUTLOOK
	         "</AcceptableResponseSchema></Request></Autodiscover>",
	         email != NULL ? "<EMailAddress>" : "", email != NULL ? email : "",
	         email != NULL ? "</EMailAddress>" : "", dn);
	return body;
}

/* Serves one request on ad and runs the loop until it is answered; the XML is parsed. */
static void serve_on(struct fx *fx, struct mbx_autodiscover *ad, const char *req, unsigned cap,
                     struct answer *a)
{
	struct mbx_ad_http_request in = {0};
	struct mbx_ad_req *r;

	memset(a, 0, sizeof(*a));
	in.body = req;
	in.len = strlen(req);
	in.principal_dn = "cn=Alice Anders,cn=Users,dc=contoso,dc=com";
	in.principal_name = "alice@contoso.com";
	in.mapihttp_capability = cap;
	in.peer = "192.0.2.7";
	r = mbx_autodiscover_serve(ad, &in, answer_cb, a);
	assert_non_null(r);
	assert_int_equal(a->calls, 0); /* never from inside serve */
	fx_run(fx);
	assert_int_equal(a->calls, 1);
	assert_int_equal(a->status, 200);
	assert_int_equal(strlen(a->xml), a->len);
	assert_memory_equal(a->xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>", 38);
	a->doc = xmlReadMemory(a->xml, (int)a->len, "answer.xml", NULL,
	                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (a->doc == NULL)
		fail_msg("answer is not well-formed XML: %s", a->xml);
}

static void serve(struct fx *fx, const char *req, unsigned cap, struct answer *a)
{
	serve_on(fx, fx->ad, req, cap, a);
}

/* The string value of an XPath expression (prefixes r: response, o: outlook), malloc'ed. */
static char *xp(const struct answer *a, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(a->doc);
	xmlXPathObjectPtr obj;
	char *s;

	assert_non_null(ctx);
	xmlXPathRegisterNs(ctx, BAD_CAST "r", BAD_CAST MBX_AD_NS_RESPONSE);
	xmlXPathRegisterNs(ctx, BAD_CAST "o", BAD_CAST MBX_AD_NS_OUTLOOK);
	obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	if (obj == NULL)
		fail_msg("bad xpath %s", expr);
	s = (char *)xmlXPathCastToString(obj);
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	assert_non_null(s);
	return s;
}

static void expect_xp(const struct answer *a, const char *expr, const char *want)
{
	char *got = xp(a, expr);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\" in %s", expr, got, want, a->xml);
	xmlFree(got);
}

#define ACC "/r:Autodiscover/o:Response/o:Account"
#define USR "/r:Autodiscover/o:Response/o:User"
#define ERR "/r:Autodiscover/r:Response/r:Error"

static void expect_error(const struct answer *a, const char *code)
{
	expect_xp(a, ERR "/r:ErrorCode", code);
	expect_xp(a, "count(" ERR ")", "1");
	expect_xp(a, "count(/r:Autodiscover/o:Response)", "0");
}

static void expect_mapihttp(const struct answer *a, const char *url)
{
	expect_xp(a, ACC "/o:AccountType", "email");
	expect_xp(a, ACC "/o:Action", "settings");
	expect_xp(a, "count(" ACC "/o:Protocol)", "1");
	expect_xp(a, ACC "/o:Protocol/@Type", "mapiHttp");
	expect_xp(a, ACC "/o:Protocol/@Version", "1");
	expect_xp(a, ACC "/o:Protocol/o:MailStore/o:InternalUrl", url);
	expect_xp(a, ACC "/o:Protocol/o:MailStore/o:ExternalUrl", url);
}

/* --- settings ----------------------------------------------------------------------------- */

static void test_alice_mapihttp(void **state)
{
	struct fx *fx = *state;
	struct answer a;
	const char *line;

	serve(fx, req_email("alice@contoso.com"), 1, &a);
	expect_xp(&a, USR "/o:DisplayName", "Alice Anders");
	expect_xp(&a, USR "/o:LegacyDN", RCPT("alice"));
	expect_xp(&a, USR "/o:AutoDiscoverSMTPAddress", "alice@contoso.com");
	expect_mapihttp(&a, "https://server1.contoso.com/mapi/emsmdb/?MailboxId=" ALICE_GUID
	                    "@contoso.com");
	answer_free(&a);
	line = log_find("autodiscover: peer=192.0.2.7 user=alice@contoso.com "
	                "email=alice@contoso.com -> settings server=SERVER1 mapiHttp");
	if (line == NULL)
		fail_msg("no log line; first: %s", logcap.lines[0]);
	/* A larger capability still gets Version 1 (> 0 and <= the header). */
	serve(fx, req_email("ALICE.ANDERS@contoso.com"), 7, &a);
	expect_mapihttp(&a, "https://server1.contoso.com/mapi/emsmdb/?MailboxId=" ALICE_GUID
	                    "@contoso.com");
	expect_xp(&a, USR "/o:AutoDiscoverSMTPAddress", "alice@contoso.com"); /* the primary */
	answer_free(&a);
}

static void test_alice_exch(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("alice@contoso.com"), 0, &a);
	expect_xp(&a, ACC "/o:Action", "settings");
	expect_xp(&a, "count(" ACC "/o:Protocol)", "2");
	expect_xp(&a, "count(" ACC "/o:Protocol[@Type])", "0");
	expect_xp(&a, ACC "/o:Protocol[1]/o:Type", "EXCH");
	expect_xp(&a, ACC "/o:Protocol[1]/o:Server", "server1.contoso.com");
	expect_xp(&a, ACC "/o:Protocol[1]/o:ServerDN", SRV1_LEG);
	expect_xp(&a, ACC "/o:Protocol[1]/o:MdbDN", DB01_LEG);
	expect_xp(&a, ACC "/o:Protocol[2]/o:Type", "EXPR");
	expect_xp(&a, ACC "/o:Protocol[2]/o:Server", "server1.contoso.com");
	expect_xp(&a, ACC "/o:Protocol[2]/o:SSL", "On");
	expect_xp(&a, ACC "/o:Protocol[2]/o:AuthPackage", "Basic");
	assert_null(strstr(a.xml, "mapi/emsmdb"));
	answer_free(&a);
	assert_non_null(log_find("-> settings server=SERVER1 EXCH/EXPR"));
}

static void test_legacy_dn_wins(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_dn(RCPT("alice"), NULL), 1, &a);
	expect_xp(&a, USR "/o:LegacyDN", RCPT("alice"));
	answer_free(&a);
	/* Both: LegacyDN (alice) wins over EMailAddress (dave). */
	serve(fx, req_dn(RCPT("alice"), "dave@contoso.com"), 1, &a);
	expect_xp(&a, USR "/o:DisplayName", "Alice Anders");
	expect_mapihttp(&a, "https://server1.contoso.com/mapi/emsmdb/?MailboxId=" ALICE_GUID
	                    "@contoso.com");
	answer_free(&a);
	assert_non_null(log_find("legacydn=/o=Contoso"));
}

static void test_dave_server2(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("dave@contoso.com"), 1, &a);
	expect_xp(&a, USR "/o:DisplayName", "Dave Davis");
	expect_mapihttp(&a, "https://server2.contoso.com:8443/mapi/emsmdb/?MailboxId=" DAVE_GUID
	                    "@contoso.com");
	answer_free(&a);
	serve(fx, req_email("dave@contoso.com"), 0, &a);
	expect_xp(&a, ACC "/o:Protocol[1]/o:Server", "server2.contoso.com:8443");
	expect_xp(&a, ACC "/o:Protocol[1]/o:ServerDN", SRV2_LEG);
	answer_free(&a);
}

/* Carol's mailbox is being moved (status 2): settings for its current home. */
static void test_in_transit(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("carol@contoso.com"), 1, &a);
	expect_mapihttp(&a, "https://server1.contoso.com/mapi/emsmdb/?MailboxId=" CAROL_GUID
	                    "@contoso.com");
	answer_free(&a);
}

/* Directory text with markup comes back intact through the escaping. */
static void test_escaping(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("oscar@contoso.com"), 1, &a);
	expect_xp(&a, USR "/o:DisplayName", "O'Brien & <Sons> \"Ltd\" \xc3\xa9");
	answer_free(&a);
}

/* --- redirects ---------------------------------------------------------------------------- */

static void test_erin_redirect_url(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("erin@contoso.com"), 1, &a);
	expect_xp(&a, ACC "/o:Action", "redirectUrl");
	expect_xp(&a, ACC "/o:RedirectUrl", FABRIKAM_AD);
	expect_xp(&a, "count(" ACC "/o:Protocol)", "0");
	expect_xp(&a, "count(" USR ")", "0");
	answer_free(&a);
	assert_non_null(log_find("-> redirectUrl url=" FABRIKAM_AD));
	/* By LegacyDN too. */
	serve(fx, req_dn(RCPT("erin"), NULL), 0, &a);
	expect_xp(&a, ACC "/o:RedirectUrl", FABRIKAM_AD);
	answer_free(&a);
}

/* A forest known without an Autodiscover URL: the address instead. */
static void test_erin_redirect_addr(void **state)
{
	struct fx *fx = *state;
	static const char *const doms[] = {"fabrikam.com"};
	const struct mbx_foreign_forest forest = {"fabrikam", doms, 1, NULL};
	struct mbx_server_identity id = fx->id;
	struct mbx_autodiscover *ad;
	struct answer a;

	id.forests = &forest;
	id.nforests = 1;
	ad = ad_new(fx, &fx->cfg, &id, fx->table);
	serve_on(fx, ad, req_email("erin@contoso.com"), 1, &a);
	expect_xp(&a, ACC "/o:Action", "redirectAddr");
	expect_xp(&a, ACC "/o:RedirectAddr", "erin@fabrikam.com");
	answer_free(&a);
	mbx_autodiscover_free(&ad);
}

static void test_mail_user_other_domain(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("mallory@contoso.com"), 1, &a);
	expect_xp(&a, ACC "/o:AccountType", "email");
	expect_xp(&a, ACC "/o:Action", "redirectAddr");
	expect_xp(&a, ACC "/o:RedirectAddr", "mallory@tailspintoys.com");
	answer_free(&a);
	assert_non_null(log_find("-> redirectAddr target=mallory@tailspintoys.com"));
	/* A target that is the address itself would loop: 501. */
	serve(fx, req_email("olga@partner.example"), 1, &a);
	expect_error(&a, "501");
	answer_free(&a);
}

/* --- errors ------------------------------------------------------------------------------- */

static void test_contact_501(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("frank@partner.example"), 1, &a);
	expect_error(&a, "501");
	expect_xp(&a, ERR "/r:Message",
	          "The e-mail address is known, but there are no settings for it.");
	answer_free(&a);
	/* A disabled account without a master account SID (gina): 501 too. */
	serve(fx, req_email("gina@contoso.com"), 1, &a);
	expect_error(&a, "501");
	answer_free(&a);
	assert_non_null(log_find("-> error 501 (disabled account without msExchMasterAccountSid)"));
}

static void test_unknown_500(void **state)
{
	struct fx *fx = *state;
	struct answer a;
	char *t, id[16];

	serve(fx, req_email("nobody@contoso.com"), 1, &a);
	expect_error(&a, "500");
	assert_non_null(log_find("email=nobody@contoso.com -> error 500 (no directory object has "
	                         "this address)"));
	/* exchangelib turns exactly this text into ErrorNonExistentMailbox. */
	expect_xp(&a, ERR "/r:Message", "The e-mail address cannot be found.");
	expect_xp(&a, ERR "/r:DebugData", "");
	t = xp(&a, "string(" ERR "/@Time)");
	assert_int_equal(strlen(t), 16);
	for (int i = 0; i < 16; i++) {
		if (i == 2 || i == 5)
			assert_int_equal(t[i], ':');
		else if (i == 8)
			assert_int_equal(t[i], '.');
		else
			assert_true(t[i] >= '0' && t[i] <= '9');
	}
	xmlFree(t);
	snprintf(id, sizeof(id), "%lu", (unsigned long)mbx_ad_server_id("SERVER1"));
	expect_xp(&a, "string(" ERR "/@Id)", id);
	answer_free(&a);
	serve(fx, req_dn(RCPT("nobody"), NULL), 0, &a);
	expect_error(&a, "500");
	answer_free(&a);
}

static void test_malformed_600_601(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, "<Autodiscover><Request>", 1, &a);
	expect_error(&a, "600");
	expect_xp(&a, ERR "/r:Message", "Invalid Request");
	answer_free(&a);
	assert_non_null(log_find("email=- -> error 600 malformed XML"));
	serve(fx, "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>", 1, &a);
	expect_error(&a, "600");
	assert_null(strstr(a.xml, "root:"));
	answer_free(&a);
	serve(fx,
	      "<Autodiscover xmlns=\"" MBX_AD_NS_REQUEST "\"><Request><EMailAddress>a@b"
	      "</EMailAddress><AcceptableResponseSchema>urn:other</AcceptableResponseSchema>"
	      "</Request></Autodiscover>",
	      1, &a);
	expect_error(&a, "601");
	answer_free(&a);
}

/* The home server of dave (SERVER2) is not in [servers]: 602 and a log line. */
static void test_home_not_configured_602(void **state)
{
	struct fx *fx = *state;
	struct mbx_config cfg;
	struct mbx_server_identity id;
	struct mbx_autodiscover *ad;
	struct answer a;

	load_conf(CONF_HEAD "[servers]\nSERVER1 = https://server1.contoso.com\n" CONF_FOREST, &cfg,
	          &id);
	ad = ad_new(fx, &cfg, &id, fx->table);
	mbx_config_free(&cfg); /* the service keeps copies */
	serve_on(fx, ad, req_email("dave@contoso.com"), 1, &a);
	expect_error(&a, "602");
	answer_free(&a);
	assert_non_null(log_find("autodiscover: home server SERVER2 of mailbox cn=Dave Davis,"
	                         "cn=Users,dc=contoso,dc=com is not in [servers]"));
	serve_on(fx, ad, req_email("alice@contoso.com"), 1, &a);
	expect_xp(&a, ACC "/o:Action", "settings");
	answer_free(&a);
	mbx_autodiscover_free(&ad);
}

/* A mailbox without msExchMailboxGuid has no MailboxId for MAPI/HTTP (602), but EXCH works. */
static void test_no_guid(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve(fx, req_email("nora@contoso.com"), 1, &a);
	expect_error(&a, "602");
	answer_free(&a);
	assert_non_null(log_find("has no msExchMailboxGuid"));
	serve(fx, req_email("nora@contoso.com"), 0, &a);
	expect_xp(&a, ACC "/o:Protocol[1]/o:Server", "server1.contoso.com");
	answer_free(&a);
}

/* A directory that is down: every lookup answers TEMPFAIL from the loop. */
struct down_req {
	struct mbx_dir_req head;
	struct event *ev;
	mbx_dir_cb *cb;
	void *ctx;
};

static void down_fire(evutil_socket_t sock, short what, void *arg)
{
	struct down_req *r = arg;
	struct mbx_dir_result res = {.status = MBX_DIR_TEMPFAIL, .message = "down"};

	(void)sock;
	(void)what;
	r->cb(r->ctx, &res);
	event_free(r->ev);
	free(r);
}

static struct mbx_dir_req *down_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                                       size_t keylen, mbx_dir_cb *cb, void *ctx)
{
	struct down_req *r = calloc(1, sizeof(*r));

	(void)kind;
	(void)key;
	(void)keylen;
	assert_non_null(r);
	r->head.dir = d;
	r->cb = cb;
	r->ctx = ctx;
	r->ev = event_new(d->base, -1, 0, down_fire, r);
	assert_non_null(r->ev);
	event_active(r->ev, EV_TIMEOUT, 1);
	return &r->head;
}

static void down_cancel(struct mbx_dir_req *req)
{
	struct down_req *r = (struct down_req *)req;

	event_free(r->ev);
	free(r);
}

static void down_free(struct mbx_dir *d)
{
	free(d);
}

static const struct mbx_dir_ops down_ops = {
        .name = "down", .lookup = down_lookup, .cancel = down_cancel, .free = down_free};

/* The directory cannot answer: 603 (never 500: seed 004). */
static void test_directory_down_603(void **state)
{
	struct fx *fx = *state;
	struct mbx_dir *d = calloc(1, sizeof(*d));
	struct mbx_mailbox_table *t;
	struct mbx_autodiscover *ad;
	struct answer a;

	assert_non_null(d);
	d->ops = &down_ops;
	d->base = fx->base;
	t = table_new(fx, d);
	ad = ad_new(fx, &fx->cfg, &fx->id, t);
	serve_on(fx, ad, req_email("alice@contoso.com"), 1, &a);
	expect_error(&a, "603");
	answer_free(&a);
	assert_non_null(log_find("-> error 603"));
	mbx_autodiscover_free(&ad);
	mbx_mailbox_table_free(&t);
	mbx_dir_free(&d);
}

/* --- the service's life ------------------------------------------------------------------- */

static void test_cancel_and_free(void **state)
{
	struct fx *fx = *state;
	struct mbx_ad_http_request in = {0};
	struct answer a = {0}, b = {0}, c = {0};
	struct mbx_ad_req *r1, *r2, *r3;

	in.body = req_email("alice@contoso.com");
	in.len = strlen(in.body);
	r1 = mbx_autodiscover_serve(fx->ad, &in, answer_cb, &a);
	in.body = "<bad";
	in.len = 4;
	r2 = mbx_autodiscover_serve(fx->ad, &in, answer_cb, &b); /* queued 600 */
	in.body = req_email("dave@contoso.com");
	in.len = strlen(in.body);
	r3 = mbx_autodiscover_serve(fx->ad, &in, answer_cb, &c);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_non_null(r3);
	mbx_autodiscover_cancel(r1);
	mbx_autodiscover_cancel(r2);
	mbx_autodiscover_cancel(NULL);
	fx_run(fx);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	answer_free(&c);
	/* Freed with requests pending: no callbacks. */
	in.body = req_email("alice@contoso.com");
	in.len = strlen(in.body);
	assert_non_null(mbx_autodiscover_serve(fx->ad, &in, answer_cb, &a));
	in.body = "x";
	in.len = 1;
	assert_non_null(mbx_autodiscover_serve(fx->ad, &in, answer_cb, &b));
	mbx_autodiscover_free(&fx->ad);
	fx_run(fx);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
	mbx_autodiscover_free(NULL);
}

/* After a reload the new [servers] is used; the old configuration may be gone. */
static void test_reconfigure(void **state)
{
	struct fx *fx = *state;
	struct mbx_config cfg;
	struct mbx_server_identity id;
	struct answer a;

	load_conf(CONF_HEAD "[servers]\nSERVER1 = https://mail.contoso.com/\n"
	                    "SERVER2 = https://server2.contoso.com\n" CONF_FOREST,
	          &cfg, &id);
	mbx_autodiscover_reconfigure(fx->ad, &cfg, &id);
	mbx_config_free(&cfg);
	serve(fx, req_email("alice@contoso.com"), 1, &a);
	/* A trailing slash of the base URL is not doubled. */
	expect_mapihttp(&a, "https://mail.contoso.com/mapi/emsmdb/?MailboxId=" ALICE_GUID
	                    "@contoso.com");
	answer_free(&a);
	serve(fx, req_email("erin@contoso.com"), 1, &a);
	expect_xp(&a, ACC "/o:RedirectUrl", FABRIKAM_AD);
	answer_free(&a);
}

static void test_new_requires(void **state)
{
	struct fx *fx = *state;
	struct mbx_autodiscover_deps deps = {0};
	char err[256];

	deps.table = fx->table;
	deps.id = &fx->id;
	assert_null(mbx_autodiscover_new(&deps, err, sizeof(err))); /* no deferral */
	assert_non_null(strstr(err, "required"));
	assert_null(mbx_autodiscover_serve(NULL, NULL, answer_cb, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_alice_mapihttp, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_alice_exch, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_legacy_dn_wins, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_dave_server2, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_in_transit, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_escaping, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_erin_redirect_url, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_erin_redirect_addr, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_mail_user_other_domain, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_contact_501, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_500, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_600_601, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_home_not_configured_602, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_no_guid, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_directory_down_603, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_and_free, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_reconfigure, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_new_requires, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
