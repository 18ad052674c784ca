/*
 * ad-server.c: the Autodiscover service (mbx_autodiscover_*; [MS-OXDSCLI] 3.2.5, protocol.md
 * 7, design.md "Autodiscover"). A request is parsed (ad-request.c), its mailbox looked up in
 * the mailbox table (LegacyDN first: OXDSCLI 3.2.5 says a server MUST use it when both are
 * sent; else EMailAddress), classified with mbx_mailbox_classify, and answered with one of
 * the documents of ad-response.c. The decision table is in include/mbx/autodiscover.h.
 *
 * Everything the service needs from the configuration (this server's identity, the foreign
 * forests, [servers]) is copied, so a reload may free the configuration at any time.
 * Answers that need no lookup go through the deferral: the callback never runs inside
 * mbx_autodiscover_serve.
 */
#include "mbx/autodiscover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbx/config.h"
#include "mbx/log.h"
#include "mbx/mailbox.h"
#include "mbx/types.h"

/* The copied configuration. */
struct ad_conf {
	struct mbx_server_identity id; /* points into the fields below */
	char *name, *legacy_dn, *ldap_dn;
	struct mbx_foreign_forest *forests;
	struct mbx_config servers; /* only servers / nservers are set: for mbx_config_server_url */
	uint32_t server_id;        /* the error's Id attribute */
};

struct mbx_ad_req {
	struct mbx_autodiscover *ad;
	struct mbx_ad_req *prev, *next; /* ad->reqs (lookups) or ad->ready (answers queued) */
	bool ready;
	struct mbx_mt_wait *w;
	mbx_ad_done_cb *cb;
	void *ctx;
	struct mbx_ad_request q;
	unsigned capability;
	char who[128]; /* escaped, for the log */
	char peer[64]; /* escaped */
	char *xml;     /* a queued answer */
	size_t xml_len;
};

struct mbx_autodiscover {
	struct mbx_mailbox_table *table;
	struct ad_conf conf;
	struct mbx_defer defer;
	void *defer_handle;
	struct mbx_ad_req *reqs;  /* waiting for the table */
	struct mbx_ad_req *ready; /* answered, waiting for the deferral (FIFO: append at tail) */
	struct mbx_ad_req *ready_tail;
};

/* --- the copied configuration --------------------------------------------------------- */

static void ad_conf_clear(struct ad_conf *c)
{
	free(c->name);
	free(c->legacy_dn);
	free(c->ldap_dn);
	for (size_t i = 0; c->forests != NULL && i < c->id.nforests; i++) {
		struct mbx_foreign_forest *f = &c->forests[i];

		free((char *)f->name);
		free((char *)f->autodiscover_url);
		for (size_t j = 0; f->smtp_domains != NULL && j < f->nsmtp_domains; j++)
			free((char *)f->smtp_domains[j]);
		free((void *)f->smtp_domains);
	}
	free(c->forests);
	for (size_t i = 0; c->servers.servers != NULL && i < c->servers.nservers; i++) {
		free(c->servers.servers[i].name);
		free(c->servers.servers[i].url);
	}
	free(c->servers.servers);
	memset(c, 0, sizeof(*c));
}

/* strdup that keeps NULL; *ok is cleared when out of memory. */
static char *ad_dup(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

static int ad_conf_copy(struct ad_conf *c, const struct mbx_config *cfg,
                        const struct mbx_server_identity *id)
{
	bool ok = true;

	memset(c, 0, sizeof(*c));
	c->name = ad_dup(id->name, &ok);
	c->legacy_dn = ad_dup(id->legacy_dn, &ok);
	c->ldap_dn = ad_dup(id->ldap_dn, &ok);
	if (id->nforests > 0) {
		c->forests = calloc(id->nforests, sizeof(*c->forests));
		ok = ok && c->forests != NULL;
	}
	for (size_t i = 0; ok && i < id->nforests; i++) {
		const struct mbx_foreign_forest *f = &id->forests[i];
		struct mbx_foreign_forest *g = &c->forests[i];
		const char **doms = NULL;

		c->id.nforests = i + 1; /* what ad_conf_clear frees */
		g->name = ad_dup(f->name, &ok);
		g->autodiscover_url = ad_dup(f->autodiscover_url, &ok);
		if (f->nsmtp_domains > 0) {
			doms = calloc(f->nsmtp_domains, sizeof(*doms));
			ok = ok && doms != NULL;
		}
		g->smtp_domains = doms;
		for (size_t j = 0; ok && j < f->nsmtp_domains; j++) {
			doms[j] = ad_dup(f->smtp_domains[j], &ok);
			g->nsmtp_domains = j + 1;
		}
	}
	if (ok && cfg != NULL && cfg->nservers > 0) {
		c->servers.servers = calloc(cfg->nservers, sizeof(*c->servers.servers));
		ok = c->servers.servers != NULL;
		for (size_t i = 0; ok && i < cfg->nservers; i++) {
			c->servers.nservers = i + 1;
			c->servers.servers[i].name = ad_dup(cfg->servers[i].name, &ok);
			c->servers.servers[i].url = ad_dup(cfg->servers[i].url, &ok);
			ok = ok && c->servers.servers[i].name != NULL &&
			     c->servers.servers[i].url != NULL;
		}
	}
	if (!ok) {
		ad_conf_clear(c);
		return -1;
	}
	c->id.name = c->name;
	c->id.legacy_dn = c->legacy_dn;
	c->id.ldap_dn = c->ldap_dn;
	c->id.forests = c->forests;
	c->id.exchange2003_compat = id->exchange2003_compat;
	c->server_id = mbx_ad_server_id(id->name);
	return 0;
}

/* --- the lists ---------------------------------------------------------------------------- */

static void ad_unlink(struct mbx_ad_req *r)
{
	struct mbx_autodiscover *ad = r->ad;

	if (r->ready) {
		if (r->prev != NULL)
			r->prev->next = r->next;
		else
			ad->ready = r->next;
		if (r->next != NULL)
			r->next->prev = r->prev;
		else
			ad->ready_tail = r->prev;
	} else {
		if (r->prev != NULL)
			r->prev->next = r->next;
		else
			ad->reqs = r->next;
		if (r->next != NULL)
			r->next->prev = r->prev;
	}
	r->prev = r->next = NULL;
}

static void ad_req_free(struct mbx_ad_req *r)
{
	free(r->xml);
	free(r);
}

/* Queues r's answer (xml, owned; NULL: out of memory, answered HTTP 500 without a body). */
static void ad_queue(struct mbx_ad_req *r, char *xml, size_t len)
{
	struct mbx_autodiscover *ad = r->ad;

	r->xml = xml;
	r->xml_len = xml != NULL ? len : 0;
	r->ready = true;
	r->next = NULL;
	r->prev = ad->ready_tail;
	if (ad->ready_tail != NULL)
		ad->ready_tail->next = r;
	else
		ad->ready = r;
	ad->ready_tail = r;
	ad->defer.ops->schedule(ad->defer_handle);
}

/* Calls back every queued answer. A callback may serve or cancel other requests. */
static void ad_ready_fire(void *arg)
{
	struct mbx_autodiscover *ad = arg;
	struct mbx_ad_req *r;

	while ((r = ad->ready) != NULL) {
		ad_unlink(r);
		if (r->xml != NULL)
			r->cb(r->ctx, 200, r->xml, r->xml_len);
		else
			r->cb(r->ctx, 500, "", 0);
		ad_req_free(r);
	}
}

/* --- the decision ------------------------------------------------------------------------- */

/* What a request came to, for the log line and the answer. */
struct ad_outcome {
	int code;          /* 0: settings or a redirect; else the POX error code */
	const char *what;  /* "settings", "redirectUrl", ... for the log */
	const char *why;   /* static: the rule that decided */
	const char *debug; /* static: the error's DebugData (NULL: none) */
	char detail[300];  /* for the log, escaped: server, URL, target */
};

/* The address after an optional "SMTP:" prefix of targetAddress, or NULL. */
static const char *ad_target_addr(const struct mbx_mailbox *mbx)
{
	char dom[256];
	const char *t = mbx->target_address, *colon;

	if (t == NULL || mbx_mailbox_target_domain(mbx, dom, sizeof(dom)) == NULL)
		return NULL;
	colon = strchr(t, ':');
	return colon != NULL ? colon + 1 : t;
}

/* The cn= value of the last RDN of a legacyExchangeDN (".../cn=Servers/cn=SERVER1"), into
 * buf; NULL when there is none or it does not fit. */
static const char *ad_legacy_cn(const char *legdn, char *buf, size_t size)
{
	const char *last = NULL;
	size_t n;

	for (const char *p = legdn; p != NULL && *p != '\0'; p++)
		if (*p == '/' && strncasecmp(p + 1, "cn=", 3) == 0)
			last = p + 4;
	if (last == NULL || strchr(last, '/') != NULL)
		return NULL;
	n = strlen(last);
	if (n == 0 || n >= size)
		return NULL;
	memcpy(buf, last, n + 1);
	return buf;
}

/* The host of an http(s) URL ("https://h.example:8443/x" -> "h.example:8443"), into buf. */
static const char *ad_url_host(const char *url, char *buf, size_t size)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h != NULL ? h + 3 : url;
	n = strcspn(h, "/?#");
	if (n == 0 || n >= size)
		return NULL;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return buf;
}

static char *ad_error_xml(struct mbx_autodiscover *ad, int code, const char *debug, size_t *len)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return mbx_ad_response_error(code, debug, &now, ad->conf.server_id, len);
}

static char *ad_fail(struct mbx_autodiscover *ad, struct ad_outcome *o, int code, const char *why,
                     const char *debug, size_t *len)
{
	o->code = code;
	o->what = "error";
	o->why = why;
	o->debug = debug;
	return ad_error_xml(ad, code, debug, len);
}

/* Settings for a mailbox whose home is known to this forest. */
static char *ad_settings(struct mbx_autodiscover *ad, const struct mbx_ad_req *r,
                         const struct mbx_mailbox *mbx, enum mbx_mailbox_state st,
                         struct ad_outcome *o, size_t *len)
{
	const char *home = mbx->home_server_legacy_dn, *url, *at;
	char name[MBX_CONFIG_NAME_MAX + 1], esc[160], host[256], guid[MBX_GUID_STRLEN + 1];
	char *mailstore = NULL, *xml;
	struct mbx_ad_settings s = {0};
	size_t ulen, n;

	if (home == NULL && st == MBX_MAILBOX_NORMAL)
		home = ad->conf.id.legacy_dn; /* hosted here by msExchOwningServer */
	if (home == NULL)
		return ad_fail(ad, o, MBX_AD_ERR_NO_SETTINGS, "the home server is not known",
		               "home server unknown", len);
	if (ad_legacy_cn(home, name, sizeof(name)) == NULL) {
		snprintf(o->detail, sizeof(o->detail), "home=%s",
		         mbx_log_escape(home, strlen(home), esc, sizeof(esc)));
		mbx_log(MBX_LOG_ERROR,
		        "autodiscover: the home server legacyExchangeDN %s has no usable cn= name",
		        esc);
		return ad_fail(ad, o, MBX_AD_ERR_CONFIG, "the home server has no name",
		               "home server name", len);
	}
	url = mbx_config_server_url(&ad->conf.servers, name);
	if (url == NULL || url[0] == '\0') {
		char dnesc[200];

		snprintf(o->detail, sizeof(o->detail), "server=%s",
		         mbx_log_escape(name, strlen(name), esc, sizeof(esc)));
		mbx_log(MBX_LOG_ERROR,
		        "autodiscover: home server %s of mailbox %s is not in [servers]: no URL to "
		        "give (error 602)",
		        esc, mbx_log_escape(mbx->dn, strlen(mbx->dn), dnesc, sizeof(dnesc)));
		return ad_fail(ad, o, MBX_AD_ERR_CONFIG, "the home server is not in [servers]",
		               "home server not configured", len);
	}
	ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	s.display_name = mbx->display_name;
	s.legacy_dn = mbx->legacy_dn;
	s.smtp = mbx->smtp != NULL ? mbx->smtp : (r->q.email[0] != '\0' ? r->q.email : NULL);
	if (r->capability >= 1) {
		at = s.smtp != NULL ? strrchr(s.smtp, '@') : NULL;
		if (!mbx->has_mailbox_guid || at == NULL || at[1] == '\0') {
			snprintf(o->detail, sizeof(o->detail), "server=%s", name);
			mbx_log(MBX_LOG_ERROR,
			        "autodiscover: mailbox %s has no %s: no MAPI/HTTP MailboxId to "
			        "give "
			        "(error 602)",
			        mbx_log_escape(mbx->dn, strlen(mbx->dn), esc, sizeof(esc)),
			        !mbx->has_mailbox_guid ? "msExchMailboxGuid" : "SMTP address");
			return ad_fail(ad, o, MBX_AD_ERR_CONFIG, "no MailboxId for the mailbox",
			               "mailbox id", len);
		}
		mbx_guid_to_str(&mbx->mailbox_guid, guid);
		n = (size_t)snprintf(NULL, 0, "%.*s/mapi/emsmdb/?MailboxId=%s@%s", (int)ulen, url,
		                     guid, at + 1);
		mailstore = malloc(n + 1);
		if (mailstore == NULL)
			return NULL;
		snprintf(mailstore, n + 1, "%.*s/mapi/emsmdb/?MailboxId=%s@%s", (int)ulen, url,
		         guid, at + 1);
		s.mapihttp_version =
		        1; /* > 0 and <= X-MapiHttpCapability (OXDSCLI 2.2.4.1.1.2.6) */
		s.mailstore_url = mailstore;
	} else {
		s.exch_server = ad_url_host(url, host, sizeof(host));
		s.expr_server = s.exch_server;
		s.expr_ssl = strncasecmp(url, "https://", 8) == 0;
		s.server_dn = home;
		s.mdb_dn = mbx->home_mdb_legacy_dn;
	}
	xml = mbx_ad_response_settings(&s, len);
	snprintf(o->detail, sizeof(o->detail), "server=%s %s", name,
	         s.mapihttp_version > 0 ? "mapiHttp" : "EXCH/EXPR");
	free(mailstore);
	o->code = 0;
	o->what = "settings";
	return xml;
}

/* The answer to a table result. Returns the XML (NULL: out of memory). */
static char *ad_decide(struct mbx_autodiscover *ad, const struct mbx_ad_req *r,
                       const struct mbx_mt_result *res, struct ad_outcome *o, size_t *len)
{
	const struct mbx_mailbox *mbx = res->mbx;
	const struct mbx_foreign_forest *forest;
	const char *why = NULL, *target;
	char esc[200];
	enum mbx_mailbox_state st = mbx_mailbox_classify(mbx, res->status, &ad->conf.id, &why);

	o->why = why;
	switch (st) {
	case MBX_MAILBOX_NORMAL:
	case MBX_MAILBOX_MOVED_SAME_FOREST:
	case MBX_MAILBOX_IN_TRANSIT: /* clients wait at its current home */
		return ad_settings(ad, r, mbx, st, o, len);
	case MBX_MAILBOX_MOVED_OTHER_FOREST:
		forest = mbx_mailbox_foreign_forest(mbx, &ad->conf.id);
		target = ad_target_addr(mbx);
		if (forest != NULL && forest->autodiscover_url != NULL &&
		    forest->autodiscover_url[0] != '\0') {
			snprintf(o->detail, sizeof(o->detail), "url=%s",
			         mbx_log_escape(forest->autodiscover_url,
			                        strlen(forest->autodiscover_url), esc,
			                        sizeof(esc)));
			o->what = "redirectUrl";
			return mbx_ad_response_redirect_url(forest->autodiscover_url, len);
		}
		if (target != NULL)
			break; /* redirectAddr below */
		return ad_fail(ad, o, MBX_AD_ERR_NO_SETTINGS, "moved, but no target address",
		               "no target", len);
	case MBX_MAILBOX_CUSTOM_RECIPIENT:
		target = mbx->kind == MBX_MAILBOX_KIND_MAIL_USER ? ad_target_addr(mbx) : NULL;
		/* A target that is the address itself would send the client round in circles. */
		if (target != NULL && strcasecmp(target, r->q.email) != 0 &&
		    (mbx->smtp == NULL || strcasecmp(target, mbx->smtp) != 0))
			break;
		return ad_fail(ad, o, MBX_AD_ERR_NO_SETTINGS, why, "no mailbox", len);
	case MBX_MAILBOX_DISABLED_NO_MASTER:
	case MBX_MAILBOX_HOME_UNKNOWN:
		return ad_fail(ad, o, MBX_AD_ERR_NO_SETTINGS, why, "no settings", len);
	case MBX_MAILBOX_UNKNOWN:
		return ad_fail(ad, o, MBX_AD_ERR_NO_MAILBOX,
		               r->q.legacy_dn[0] != '\0' ? why
		                                         : "no directory object has this address",
		               NULL, len);
	case MBX_MAILBOX_DIR_UNREACHABLE:
	case MBX_MAILBOX_DIR_ERROR:
	default:
		return ad_fail(ad, o, MBX_AD_ERR_INTERNAL, why, "directory", len);
	}
	target = ad_target_addr(mbx);
	snprintf(o->detail, sizeof(o->detail), "target=%s",
	         mbx_log_escape(target, strlen(target), esc, sizeof(esc)));
	o->what = "redirectAddr";
	return mbx_ad_response_redirect_addr(target, len);
}

/* The one line every answer gets. */
static void ad_log(const struct mbx_ad_req *r, const struct ad_outcome *o, bool stale)
{
	const char *addr = r->q.legacy_dn[0] != '\0' ? r->q.legacy_dn : r->q.email;

	if (addr[0] == '\0')
		addr = "-"; /* the request did not parse */
	char esc[300], outcome[32];

	if (o->code != 0)
		snprintf(outcome, sizeof(outcome), "error %d", o->code);
	else
		snprintf(outcome, sizeof(outcome), "%s", o->what);
	mbx_log(o->code == MBX_AD_ERR_INTERNAL ? MBX_LOG_WARNING : MBX_LOG_INFO,
	        "autodiscover: peer=%s user=%s %s=%s -> %s%s%s%s (%s)", r->peer, r->who,
	        r->q.legacy_dn[0] != '\0' ? "legacydn" : "email",
	        mbx_log_escape(addr, strlen(addr), esc, sizeof(esc)), outcome,
	        o->detail[0] != '\0' ? " " : "", o->detail, stale ? " stale" : "",
	        o->why != NULL ? o->why : "-");
}

static void ad_table_cb(void *ctx, const struct mbx_mt_result *res)
{
	struct mbx_ad_req *r = ctx;
	struct ad_outcome o;
	char *xml;
	size_t len = 0;

	memset(&o, 0, sizeof(o));
	r->w = NULL;
	ad_unlink(r);
	xml = ad_decide(r->ad, r, res, &o, &len);
	ad_log(r, &o, res->stale);
	if (xml != NULL)
		r->cb(r->ctx, 200, xml, len);
	else
		r->cb(r->ctx, 500, "", 0);
	free(xml);
	ad_req_free(r);
}

/* --- the service --------------------------------------------------------------------------- */

struct mbx_autodiscover *mbx_autodiscover_new(const struct mbx_autodiscover_deps *deps, char *err,
                                              size_t errsize)
{
	struct mbx_autodiscover *ad;

	if (deps == NULL || deps->table == NULL || deps->id == NULL || deps->defer.ops == NULL) {
		snprintf(err, errsize,
		         "autodiscover: the mailbox table, the server identity and the "
		         "deferral are required");
		return NULL;
	}
	ad = calloc(1, sizeof(*ad));
	if (ad == NULL || ad_conf_copy(&ad->conf, deps->cfg, deps->id) != 0) {
		free(ad);
		snprintf(err, errsize, "autodiscover: out of memory");
		return NULL;
	}
	ad->table = deps->table;
	ad->defer = deps->defer;
	ad->defer_handle = ad->defer.ops->create(ad->defer.loop, ad_ready_fire, ad);
	if (ad->defer_handle == NULL) {
		ad_conf_clear(&ad->conf);
		free(ad);
		snprintf(err, errsize, "autodiscover: the deferral could not be created");
		return NULL;
	}
	return ad;
}

void mbx_autodiscover_reconfigure(struct mbx_autodiscover *ad, const struct mbx_config *cfg,
                                  const struct mbx_server_identity *id)
{
	struct ad_conf c;

	if (ad == NULL || id == NULL)
		return;
	if (ad_conf_copy(&c, cfg, id) != 0) {
		mbx_log(MBX_LOG_ERROR, "autodiscover: out of memory while reconfiguring: the "
		                       "previous [servers] and forests stay in use");
		return;
	}
	ad_conf_clear(&ad->conf);
	ad->conf = c; /* c.id points at heap copies, not into c: the move keeps it valid */
}

void mbx_autodiscover_free(struct mbx_autodiscover **adp)
{
	struct mbx_autodiscover *ad;

	if (adp == NULL || *adp == NULL)
		return;
	ad = *adp;
	*adp = NULL;
	while (ad->reqs != NULL) {
		struct mbx_ad_req *r = ad->reqs;

		mbx_mailbox_table_cancel(r->w);
		ad_unlink(r);
		ad_req_free(r);
	}
	while (ad->ready != NULL) {
		struct mbx_ad_req *r = ad->ready;

		ad_unlink(r);
		ad_req_free(r);
	}
	ad->defer.ops->destroy(ad->defer_handle);
	ad_conf_clear(&ad->conf);
	free(ad);
}

struct mbx_ad_req *mbx_autodiscover_serve(struct mbx_autodiscover *ad,
                                          const struct mbx_ad_http_request *in, mbx_ad_done_cb *cb,
                                          void *ctx)
{
	struct mbx_ad_req *r;
	struct ad_outcome o;
	char perr[256];
	int rc;

	if (ad == NULL || in == NULL || cb == NULL)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->ad = ad;
	r->cb = cb;
	r->ctx = ctx;
	r->capability = in->mapihttp_capability;
	{
		const char *who =
		        in->principal_name != NULL ? in->principal_name : in->principal_dn;

		mbx_log_escape(who != NULL ? who : "-", strlen(who != NULL ? who : "-"), r->who,
		               sizeof(r->who));
		mbx_log_escape(in->peer != NULL ? in->peer : "-",
		               strlen(in->peer != NULL ? in->peer : "-"), r->peer, sizeof(r->peer));
	}
	rc = mbx_ad_request_parse(in->body, in->len, &r->q, perr, sizeof(perr));
	if (rc != 0) {
		size_t len = 0;
		char *xml;

		memset(&o, 0, sizeof(o));
		xml = ad_fail(ad, &o, rc, "the request",
		              rc == MBX_AD_ERR_SCHEMA ? "schema" : "request", &len);
		snprintf(o.detail, sizeof(o.detail), "%s", perr);
		o.why = "the request";
		ad_log(r, &o, false);
		ad_queue(r, xml, len);
		return r;
	}
	/* Linked before the lookup starts: the table never calls back from inside the call. */
	r->next = ad->reqs;
	if (ad->reqs != NULL)
		ad->reqs->prev = r;
	ad->reqs = r;
	if (r->q.legacy_dn[0] != '\0')
		r->w = mbx_mailbox_table_get(ad->table, r->q.legacy_dn, ad_table_cb, r);
	else
		r->w = mbx_mailbox_table_get_smtp(ad->table, r->q.email, ad_table_cb, r);
	if (r->w == NULL) {
		size_t len = 0;
		char *xml;

		ad_unlink(r);
		memset(&o, 0, sizeof(o));
		xml = ad_fail(ad, &o, MBX_AD_ERR_INTERNAL, "the lookup could not be started",
		              "directory", &len);
		ad_log(r, &o, false);
		ad_queue(r, xml, len);
	}
	return r;
}

void mbx_autodiscover_cancel(struct mbx_ad_req *r)
{
	if (r == NULL)
		return;
	if (!r->ready)
		mbx_mailbox_table_cancel(r->w);
	ad_unlink(r);
	ad_req_free(r);
}
