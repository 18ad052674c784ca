/*
 * mh-server.c: the MAPI over HTTP mailbox endpoint on the HTTP server of include/mbx/httpd.h
 * ([MS-OXCMAPIHTTP] 2.2.2 common request and response format, 2.2.3 headers, 2.2.4 bodies,
 * 2.2.7 meta-tags, 3.2.5 server processing, examples 4.1-4.5; protocol.md 5).
 *
 * A request goes through, in this order (the first failure answers):
 *   method POST                      else X-ResponseCode 2  (HTTP 200)
 *   path /mapi/emsmdb[/] (any case)  else 3 (HTTP 200 under /mapi/, 404 elsewhere)
 *   body within max_body_bytes       else 9
 *   HTTP Basic authentication        401 + WWW-Authenticate (X-ResponseCode 8) when missing or
 *                                    wrong; 200 + 8 on a clear-text listener from a
 *                                    non-loopback peer (no credentials are accepted there);
 *                                    503 + 1 when the directory cannot answer (seed 004)
 *   X-RequestType                    missing 7, not a mailbox request type 5
 *   Content-Type, X-RequestId,
 *   X-ClientInfo, X-ClientApplication missing 7, malformed 4
 *   the body                         malformed 12
 *   the session cookies              mh-contexts.c: 13, 6, 10, 11, 15
 * Every transport-level failure is HTTP 200 with its X-ResponseCode and a one-line text body
 * (2.2.2.2: the status deviates from 200 only for authentication, redirection and exceptional
 * failures). Connect, Disconnect and PING answer in one piece with Content-Length; Execute and
 * NotificationWait answer chunked (example 4.2): the headers and "PROCESSING" at once, a
 * "PENDING" chunk every X-PendingPeriod while the request is held, then the DONE block with
 * the final X-ResponseCode, X-ElapsedTime and X-StartTime, and the body: mh-request.c, which
 * also keeps the request's life until then. The request types themselves (Connect, Execute,
 * Disconnect, PING, NotificationWait) are mh-emsmdb.c.
 *
 * POST /autodiscover/autodiscover.xml (any case; only when the daemon gave an Autodiscover
 * service) is routed before the mailbox checks: another method gets 405, a body over
 * MBX_AD_BODY_MAX 413, then the same authentication as above, then mh-autodiscover.c answers
 * with plain HTTP and XML.
 */
#include "mapihttp/mh-frontend-int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <openssl/crypto.h>

#include "mbx/autodiscover.h"
#include "mbx/config.h"
#include "mbx/defer-event.h"
#include "mbx/httpd.h"

/* The server refuses bodies past its own limit with 413 before we see them; it is set this
 * much above max_body_bytes so that a body a little too large gets X-ResponseCode 9 instead. */
#define MH_BODY_SLACK (64u * 1024u)

struct mh_listener {
	struct mbx_frontend *fe;
	struct mbx_httpd *http;
	bool tls;
	struct mh_listener *next;
};

/* ---- routing, authentication, headers -------------------------------------------------------- */

/* One pass over the request headers (rather than a walk for each of the nine names). */
static void mh_scan_headers(struct mh_req *r)
{
	struct mh_hdrs *x = &r->h;
	size_t n = mbx_http_req_nfields(r->http);

	for (size_t i = 0; i < n; i++) {
		const char *k = mbx_http_req_field_name(r->http, i);
		const char *value = mbx_http_req_field_value(r->http, i);
		const char **slot = NULL;

		switch (k[0]) {
		case 'X':
		case 'x':
			if (strncasecmp(k, "X-Request", 9) == 0) {
				if (strcasecmp(k + 9, "Type") == 0)
					slot = &x->request_type;
				else if (strcasecmp(k + 9, "Id") == 0)
					slot = &x->request_id;
			} else if (strncasecmp(k, "X-Client", 8) == 0) {
				if (strcasecmp(k + 8, "Info") == 0)
					slot = &x->client_info;
				else if (strcasecmp(k + 8, "Application") == 0)
					slot = &x->client_app;
			}
			break;
		case 'C':
		case 'c':
			if (strcasecmp(k, "Cookie") == 0) {
				if (x->ncookies == MH_MAX_COOKIE_HEADERS)
					x->too_many_cookies = true;
				else
					x->cookies[x->ncookies++] = value;
			} else if (strcasecmp(k, "Content-Type") == 0) {
				slot = &x->content_type;
			}
			break;
		case 'A':
		case 'a':
			if (strcasecmp(k, "Authorization") == 0)
				slot = &x->authorization;
			break;
		default:
			break;
		}
		if (slot != NULL && *slot == NULL)
			*slot = value;
	}
}

/* Checks the request headers (2.2.3.2, 2.2.3.3) and runs the request type. */
static void mh_authed_mapi(struct mh_req *r);

static void mh_authed(struct mh_req *r)
{
	if (r->autodiscover)
		mbx_mh_autodiscover(r);
	else
		mh_authed_mapi(r);
}

static void mh_authed_mapi(struct mh_req *r)
{
	const char *v, *why = NULL;
	const char *const *cookies = r->h.cookies;
	size_t ncookies = r->h.ncookies;
	const struct {
		const char *name;
		const char *value;
		int (*check)(const char *v, const char **why_r);
	} hdrs[] = {
	        {"Content-Type", r->h.content_type, mbx_mh_hdr_content_type_check},
	        {"X-RequestId", r->h.request_id, mbx_mh_hdr_request_id_check},
	        {"X-ClientInfo", r->h.client_info, mbx_mh_hdr_client_info_check},
	        {"X-ClientApplication", r->h.client_app, mbx_mh_hdr_client_app_check},
	};
	char msg[128];

	if (r->h.request_type == NULL) {
		mbx_mh_request_fail(r, MBX_MH_RC_MISSING_HEADER,
		                    "the X-RequestType header is missing");
		return;
	}
	if (!r->type_ok) {
		mbx_mh_request_fail(
		        r, MBX_MH_RC_INVALID_REQUEST_TYPE,
		        r->type == MBX_MH_REQ_ADDRESS_BOOK
		                ? "X-RequestType names a request type of the address book endpoint"
		                : "X-RequestType names no request type of this endpoint");
		return;
	}
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		v = hdrs[i].value;
		if (v == NULL) {
			snprintf(msg, sizeof(msg), "the %s header is missing", hdrs[i].name);
			mbx_mh_request_fail(r, MBX_MH_RC_MISSING_HEADER, msg);
			return;
		}
		if (hdrs[i].check(v, &why) < 0) {
			snprintf(msg, sizeof(msg), "%s: %s", hdrs[i].name,
			         why != NULL ? why : "invalid value");
			mbx_mh_request_fail(r, MBX_MH_RC_INVALID_HEADER, msg);
			return;
		}
	}
	if (r->h.too_many_cookies) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_CONTEXT_COOKIE, "too many Cookie headers");
		return;
	}
	switch (r->type) {
	case MBX_MH_REQ_CONNECT:
		mbx_mh_emsmdb_connect(r);
		return;
	case MBX_MH_REQ_EXECUTE:
		mbx_mh_emsmdb_execute(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_DISCONNECT:
		mbx_mh_emsmdb_disconnect(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_NOTIFICATIONWAIT:
		mbx_mh_emsmdb_nwait(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_PING:
		mbx_mh_emsmdb_ping(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_UNKNOWN:
	case MBX_MH_REQ_ADDRESS_BOOK:
		break;
	}
	mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_TYPE, NULL);
}

static void mh_auth_cb(void *arg, enum mbx_mh_authn_status st, const struct mbx_mh_principal *p,
                       const char *why)
{
	struct mh_req *r = arg;

	r->auth = NULL;
	if (r->http == NULL || !mbx_http_req_attached(r->http)) { /* the client left meanwhile */
		mbx_mh_request_abandon(r);
		return;
	}
	switch (st) {
	case MBX_MH_AUTHN_OK:
		r->who = mbx_mh_principal_dup(p);
		if (r->who == NULL) {
			mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
			                           "out of memory");
			return;
		}
		mh_authed(r);
		return;
	case MBX_MH_AUTHN_DENIED:
		mbx_mh_request_fail_status(r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, why);
		return;
	case MBX_MH_AUTHN_TEMPFAIL:
	case MBX_MH_AUTHN_ERROR:
		break;
	}
	mbx_mh_request_fail_status(r, 503, MBX_MH_RC_UNKNOWN_FAILURE, why);
}

static bool mh_peer_is_loopback(const struct mbx_http_req *http)
{
	const struct sockaddr *sa = mbx_http_req_peer(http, NULL);

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		const uint8_t *a;

		memcpy(&sin6, sa, sizeof(sin6));
		a = sin6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) && a[12] == 127;
	}
	return false;
}

static void mh_authenticate(struct mh_req *r)
{
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	const struct mbx_mh_principal *p = NULL;
	const char *why = NULL;
	int rc;

	if (!r->tls && !mh_peer_is_loopback(r->http)) {
		mbx_mh_request_fail(
		        r, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED,
		        "HTTP Basic authentication is refused over plain HTTP from a non-loopback "
		        "address: use TLS");
		return;
	}
	rc = mbx_mh_auth_parse_basic(r->h.authorization, user, sizeof(user), pass, sizeof(pass),
	                             &why);
	if (rc != MBX_MH_AUTH_BASIC) {
		mbx_mh_request_fail_status(r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED,
		                           rc == MBX_MH_AUTH_NONE ? "authentication required"
		                                                  : why);
		return;
	}
	rc = mbx_mh_authn_check(r->fe->authn, user, pass, mh_auth_cb, r, &r->auth, &p);
	OPENSSL_cleanse(pass, strlen(pass)); /* (parse_basic leaves "" or the password) */
	if (rc < 0) {
		mbx_mh_request_fail_status(r, 503, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "the directory cannot authenticate now");
		return;
	}
	if (rc == 1) {
		r->who = mbx_mh_principal_dup(p);
		if (r->who == NULL) {
			mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
			                           "out of memory");
			return;
		}
		mh_authed(r);
	}
}

/* Which endpoint a path names: 2 Autodiscover (when served), 1 the mailbox endpoint, 0 another
 * path under /mapi/, -1 none. */
static int mh_route(const struct mbx_frontend *fe, struct mbx_http_req *http)
{
	const char *path = mbx_http_req_path(http);
	int route = -1;

	if (path == NULL)
		return -1;
	if (strcasecmp(path, "/mapi/emsmdb/") == 0 || strcasecmp(path, "/mapi/emsmdb") == 0)
		route = 1;
	else if (strncasecmp(path, "/mapi/", 6) == 0 || strcasecmp(path, "/mapi") == 0)
		route = 0;
	else if (fe->deps.autodiscover != NULL &&
	         strcasecmp(path, "/autodiscover/autodiscover.xml") == 0)
		route = 2;
	return route;
}

/* POST /autodiscover/autodiscover.xml: plain HTTP errors (no X-ResponseCode semantics there),
 * then the same HTTP Basic authentication as the mailbox endpoint, then mh-autodiscover.c. */
static void mh_autodiscover(struct mh_req *r)
{
	size_t len = 0;
	const uint8_t *body = mbx_http_req_body(r->http, &len);
	static const char not_post[] = "Autodiscover takes POST\n";
	static const char too_big[] = "Autodiscover request body too large\n";

	r->autodiscover = true;
	if (mbx_http_req_method(r->http) != MBX_HTTP_POST) {
		/* (the server sends no body in the answer to HEAD, RFC 9110 9.3.2) */
		mbx_http_req_add_header(r->http, "Allow", "POST");
		mbx_mh_request_reply_plain(r, 405, "text/plain; charset=us-ascii", not_post,
		                           sizeof(not_post) - 1);
		return;
	}
	if (len > MBX_AD_BODY_MAX) {
		mbx_mh_request_reply_plain(r, 413, "text/plain; charset=us-ascii", too_big,
		                           sizeof(too_big) - 1);
		return;
	}
	r->body_len = len;
	r->body = body;
	mh_authenticate(r);
}

static void mh_http_cb(struct mbx_http_req *http, void *arg)
{
	struct mh_listener *l = arg;
	struct mbx_frontend *fe = l->fe;
	struct mh_req *r = mbx_mh_request_new(fe, http, l->tls);
	const char *v;
	size_t len = 0;
	int route;

	if (r == NULL) {
		mbx_http_reply(http, 500, NULL, NULL, 0);
		return;
	}
	mh_scan_headers(r);
	/* What is echoed: only values that pass their checks. */
	r->type = mbx_mh_reqtype_parse(r->h.request_type);
	r->type_ok = r->type != MBX_MH_REQ_UNKNOWN && r->type != MBX_MH_REQ_ADDRESS_BOOK;
	v = r->h.request_id;
	if (v != NULL && mbx_mh_hdr_request_id_check(v, NULL) == 0)
		snprintf(r->rid, sizeof(r->rid), "%s", v);
	v = r->h.client_info;
	if (v != NULL && mbx_mh_hdr_client_info_check(v, NULL) == 0)
		snprintf(r->cinfo, sizeof(r->cinfo), "%s", v);

	route = mh_route(fe, http);
	if (route == 2) {
		mh_autodiscover(r);
		return;
	}
	if (mbx_http_req_method(http) != MBX_HTTP_POST) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_VERB, "the HTTP method must be POST");
		return;
	}
	if (route < 0) {
		mbx_mh_request_fail_status(r, 404, MBX_MH_RC_INVALID_PATH,
		                           "no MAPI/HTTP endpoint at this path");
		return;
	}
	if (route == 0) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_PATH,
		                    "this server serves the mailbox endpoint /mapi/emsmdb/ only");
		return;
	}
	r->body = mbx_http_req_body(http, &len);
	if (len > fe->lim.max_body_bytes) {
		mbx_mh_request_fail(r, MBX_MH_RC_TOO_LARGE,
		                    "the request body exceeds max_body_bytes");
		return;
	}
	r->body_len = len;
	mh_authenticate(r);
}

/* ---- frontend.h --------------------------------------------------------------------------- */

static void mh_copy_limits(struct mbx_frontend *fe, const struct mbx_config *cfg)
{
	fe->lim.max_body_bytes = cfg->limits.max_body_bytes;
	fe->lim.max_rops_per_execute = cfg->limits.max_rops_per_execute;
	fe->lim.max_contexts = cfg->limits.max_contexts;
	fe->lim.max_contexts_per_user = cfg->limits.max_contexts_per_user;
	fe->lim.context_idle_seconds = cfg->limits.context_idle_seconds;
	fe->lim.pending_period_ms =
	        cfg->limits.pending_period_ms > 0 ? cfg->limits.pending_period_ms : 15000u;
	fe->lim.notification_wait_seconds = cfg->limits.notification_wait_seconds;
	snprintf(fe->server_app, sizeof(fe->server_app), "%s",
	         cfg->server.server_application != NULL ? cfg->server.server_application
	                                                : "Exchange/15.01.2176.009");
}

struct mbx_frontend *mbx_frontend_new(const struct mbx_frontend_deps *deps, char *err,
                                      size_t errsize)
{
	struct mbx_frontend *fe;
	struct mbx_mh_ctxs_config cc = {0};
	struct mbx_mh_authn_config ac = {0};

	if (deps == NULL || deps->base == NULL || deps->cfg == NULL || deps->dir == NULL ||
	    deps->pipeline == NULL || deps->id == NULL) {
		snprintf(err, errsize,
		         "front end: the event base, configuration, directory, logon "
		         "pipeline and server identity are required");
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (fe == NULL) {
		snprintf(err, errsize, "front end: out of memory");
		return NULL;
	}
	fe->deps = *deps;
	fe->deps.cfg = NULL; /* not kept: a reload may free it */
	mh_copy_limits(fe, deps->cfg);
	mbx_dir_defer_init(&fe->defer, deps->base);
	cc.base = deps->base;
	cc.max_contexts = fe->lim.max_contexts;
	cc.max_per_user = fe->lim.max_contexts_per_user;
	cc.idle_ms = (uint64_t)fe->lim.context_idle_seconds * 1000u;
	cc.gone = mbx_mh_emsmdb_ctx_gone;
	cc.gone_arg = fe;
	fe->ctxs = mbx_mh_ctxs_new(&cc);
	ac.dir = deps->dir;
	fe->authn = mbx_mh_authn_new(&ac);
	if (fe->ctxs == NULL || fe->authn == NULL) {
		snprintf(err, errsize, "front end: out of memory");
		mbx_frontend_free(&fe);
		return NULL;
	}
	return fe;
}

int mbx_frontend_attach(struct mbx_frontend *fe, struct mbx_httpd *http, bool tls)
{
	struct mh_listener *l;

	if (fe == NULL || http == NULL)
		return -1;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -1;
	l->fe = fe;
	l->http = http;
	l->tls = tls;
	/* Every method reaches us, so that a wrong one gets X-ResponseCode 2; bodies a little
	 * over the limit get X-ResponseCode 9 rather than 413. */
	mbx_httpd_set_max_body(http, (size_t)fe->lim.max_body_bytes + MH_BODY_SLACK);
	mbx_httpd_set_cb(http, mh_http_cb, l);
	l->next = fe->listeners;
	fe->listeners = l;
	return 0;
}

void mbx_frontend_reconfigure(struct mbx_frontend *fe, const struct mbx_config *cfg)
{
	if (fe == NULL || cfg == NULL)
		return;
	mh_copy_limits(fe, cfg);
	mbx_mh_authn_flush(fe->authn); /* a reload may come with changed passwords */
	mbx_mh_ctxs_reconfigure(fe->ctxs, fe->lim.max_contexts, fe->lim.max_contexts_per_user,
	                        (uint64_t)fe->lim.context_idle_seconds * 1000u);
	for (struct mh_listener *l = fe->listeners; l != NULL; l = l->next)
		mbx_httpd_set_max_body(l->http, (size_t)fe->lim.max_body_bytes + MH_BODY_SLACK);
}

void mbx_frontend_drain(struct mbx_frontend *fe)
{
	struct mh_req *r, *next;

	if (fe == NULL || fe->draining)
		return;
	fe->draining = true;
	for (r = fe->reqs; r != NULL; r = next) {
		next = r->next;
		/* Finishing r frees only r: next stays valid. */
		if (r->holds_wait && r->started)
			mbx_mh_emsmdb_nwait_finish(r, 0);
	}
}

void mbx_frontend_free(struct mbx_frontend **fep)
{
	struct mbx_frontend *fe = fep != NULL ? *fep : NULL;

	if (fe == NULL)
		return;
	fe->draining = true;
	while (fe->reqs != NULL) {
		struct mh_req *r = fe->reqs;

		/* (when its connection is gone, this only counts and frees r) */
		mbx_mh_request_fail(r, MBX_MH_RC_ENDPOINT_SHUTTING_DOWN,
		                    "the server is shutting down");
	}
	mbx_mh_ctxs_free(&fe->ctxs);
	mbx_mh_authn_free(&fe->authn);
	while (fe->listeners != NULL) {
		struct mh_listener *l = fe->listeners;

		fe->listeners = l->next;
		free(l); /* http may be gone already: not touched (see frontend.h) */
	}
	free(fe);
	*fep = NULL;
}
