/*
 * logon-follow.c: what mbxlogon does as a MAPI client, hop by hop ([MS-OXMVMBX] 3.1.1,
 * [MS-OXCSTOR] 3.1.5.1; seed 001; protocol.md 3.2, 5, 7):
 *
 *   start     Autodiscover for EMAIL (--autodiscover-url, else https://DOMAIN/... then
 *             https://autodiscover.DOMAIN/..., [MS-OXDSCLI] 3.1.5), or --mailbox-url/--legacy-dn
 *   session   Connect, Execute(RopLogon), Disconnect at the settings' mailbox URL; an
 *             X-ResponseCode 10 (Context Not Found) on any request reconnects once
 *   referrals redirectUrl (the same request to the new URL), redirectAddr (a new request for
 *             that address, at its domain's URLs), HTTP 3xx Location (the same request again)
 *   follow    ecWrongServer: Autodiscover with the LegacyDN at the Autodiscover URL that gave
 *             the current settings, connect where it points, log on again.
 *             ecUnknownUser / ecLoginFailure: the same; nothing new learned (same mailbox URL
 *             and LegacyDN) ends the run: the logon is refused.
 *             ecMailboxInTransit: wait and retry in place up to --wait-transit seconds.
 *   limits    --max-hops (every request counts but Disconnect and the in-place retries), and
 *             a loop check: the same Autodiscover request to the same URL, or a logon at the
 *             same (mailbox URL, LegacyDN), twice.
 */
#include "mbxlogon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/random.h>

#include "mbx/mapihttp.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"

#define FOLLOW_VISITED_MAX 256u
#define FOLLOW_TRANSIT_STEP 5u /* seconds between logons while the mailbox is in transit */
#define FOLLOW_BODY_MAX (MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD + 64u)
#define FOLLOW_AD_BODY_MAX (LOGON_DN_MAX * 6u + 512u)

struct follow {
	const struct logon_opts *o;
	struct logon_http *http;
	struct logon_out *out;
	unsigned hop;     /* hop lines so far */
	unsigned counted; /* hops counted against --max-hops */
	char client_info[MBX_GUID_STRLEN + 3];
	unsigned request_no;
	char *visited[FOLLOW_VISITED_MAX];
	unsigned nvisited;
	struct logon_profile cur; /* the settings in use, and the profile once logged on */
	/* the end */
	int status;
	char result[64];
	uint32_t ec;
	bool has_ec;
	char msg[LOGON_MSG_MAX];
};

/* Ends the run with status; returns it. */
__attribute__((format(printf, 5, 6))) static int follow_end(struct follow *f, int status,
                                                            const char *result, const uint32_t *ec,
                                                            const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	snprintf(f->result, sizeof(f->result), "%s", result);
	f->has_ec = ec != NULL;
	f->ec = ec != NULL ? *ec : 0;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return status;
}

/* ---- small helpers --------------------------------------------------------------------------- */

/* Copies s (NULL: "") into dst, cut to size - 1 bytes; dst and s may overlap. */
static void follow_copy(char *dst, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memmove(dst, s, n);
	dst[n] = '\0';
}

/* The host of "scheme://[user@]host[:port]/..." into dst ("" if the URL has no host). */
static void follow_url_host(const char *url, char *dst, size_t size)
{
	const char *p = strstr(url, "://"), *end;
	size_t n;

	dst[0] = '\0';
	if (p == NULL)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (const char *at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close != NULL)
			end = close + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		if (colon != NULL)
			end = colon;
	}
	n = (size_t)(end - p);
	if (n >= size)
		n = size - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* The last "cn=" value of a legacyExchangeDN ("/o=.../cn=Servers/cn=SERVER2" -> "SERVER2"). */
static void follow_dn_cn(const char *dn, char *dst, size_t size)
{
	const char *p = NULL;

	for (const char *s = dn; (s = strchr(s, '/')) != NULL; s++)
		if (strncasecmp(s + 1, "cn=", 3) == 0)
			p = s + 4;
	follow_copy(dst, size, p != NULL ? p : dn);
}

static int follow_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The MailboxId query value of a MAPI/HTTP URL ("...?MailboxId=<guid>@<domain>", protocol.md
 * 5.1), %XX decoded, into dst; false if there is none. Outlook shows it as the server of a
 * MAPI/HTTP profile. */
static bool follow_mailbox_id(const char *url, char *dst, size_t size)
{
	const char *q = strchr(url, '?'), *p;
	size_t n = 0;

	for (p = q; p != NULL; p = strchr(p + 1, '&'))
		if (strncasecmp(p + 1, "MailboxId=", 10) == 0)
			break;
	if (p == NULL || size == 0)
		return false;
	for (p += 11; *p != '\0' && *p != '&' && *p != '#' && n + 1 < size; p++) {
		int hi = *p == '%' ? follow_hex(p[1]) : -1, lo = hi >= 0 ? follow_hex(p[2]) : -1;

		if (lo >= 0 && hi * 16 + lo >= 0x20 && hi * 16 + lo < 0x7F) {
			dst[n++] = (char)(hi * 16 + lo);
			p += 2;
		} else {
			dst[n++] = *p;
		}
	}
	dst[n] = '\0';
	return n > 0;
}

/* The profile's server name: the EXCH Server of the settings (exch, may be NULL or ""), else
 * the MailboxId of the mailbox URL, else the last cn of the server's legacyExchangeDN, else the
 * mailbox URL's host. */
static void follow_server_name(struct logon_profile *c, const char *exch)
{
	if (exch != NULL && exch[0] != '\0')
		follow_copy(c->server, sizeof(c->server), exch);
	else if (follow_mailbox_id(c->mailbox_url, c->server, sizeof(c->server)))
		return;
	else if (c->server_dn[0] != '\0')
		follow_dn_cn(c->server_dn, c->server, sizeof(c->server));
	else
		follow_url_host(c->mailbox_url, c->server, sizeof(c->server));
}

static bool follow_is_http_url(const char *u)
{
	return strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0;
}

/* Has this key been seen? Records it if not. false also when the table is full (the hop limit
 * ends such runs long before). */
static bool follow_seen(struct follow *f, const char *kind, const char *url, const char *subject)
{
	char key[LOGON_URL_MAX + LOGON_DN_MAX + 32];

	snprintf(key, sizeof(key), "%s\n%s\n%s", kind, url, subject);
	for (unsigned i = 0; i < f->nvisited; i++)
		if (strcasecmp(f->visited[i], key) == 0)
			return true;
	if (f->nvisited < FOLLOW_VISITED_MAX && (f->visited[f->nvisited] = strdup(key)) != NULL)
		f->nvisited++;
	return false;
}

/* Numbers the next hop; counted hops are refused past --max-hops (0 returned, f ended). */
static unsigned follow_hop_no(struct follow *f, bool counted)
{
	if (counted) {
		if (f->counted >= f->o->max_hops) {
			follow_end(f, LOGON_EXIT_HOPS, "too many hops", NULL,
			           "stopped after %u hops (--max-hops %u)", f->counted,
			           f->o->max_hops);
			return 0;
		}
		f->counted++;
	}
	return ++f->hop;
}

/* An Autodiscover hop; redirect (may be NULL) is the URL or address it sends us to. */
static void follow_hop(struct follow *f, unsigned n, const char *url, const char *subject,
                       const char *result, const char *detail, long http_status,
                       const char *redirect)
{
	struct logon_hop h = {
	        .n = n,
	        .kind = "autodiscover",
	        .url = url,
	        .subject = subject,
	        .result = result,
	        .detail = detail,
	        .http_status = http_status,
	        .redirect = redirect,
	};

	logon_out_hop(f->out, &h);
}

/* ---- Autodiscover ---------------------------------------------------------------------------- */

/* The two URLs of [MS-OXDSCLI] 3.1.5 for the domain of addr. Returns how many (0: no domain). */
static unsigned follow_domain_urls(const char *addr, char urls[2][LOGON_URL_MAX])
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;

	if (at == NULL || at[1] == '\0' || strlen(at + 1) > 253)
		return 0;
	snprintf(urls[0], LOGON_URL_MAX, "https://%s/autodiscover/autodiscover.xml", at + 1);
	snprintf(urls[1], LOGON_URL_MAX, "https://autodiscover.%s/autodiscover/autodiscover.xml",
	         at + 1);
	return 2;
}

static bool follow_same_domain(const char *a, const char *b)
{
	const char *x = a != NULL ? strrchr(a, '@') : NULL, *y = b != NULL ? strrchr(b, '@') : NULL;

	return x != NULL && y != NULL && strcasecmp(x, y) == 0;
}

/* One Autodiscover hop: POST the request for addr (a LegacyDN when by_dn) to url. */
static int follow_ad_post(struct follow *f, const char *url, bool by_dn, const char *addr,
                          struct logon_http_rsp *rsp)
{
	static char body[FOLLOW_AD_BODY_MAX];
	static const char *const headers[] = {
	        "Content-Type: text/xml; charset=utf-8",
	        "X-MapiHttpCapability: 1",
	        "Accept: text/xml",
	        NULL,
	};
	int len = logon_ad_request(body, sizeof(body), by_dn ? NULL : addr, by_dn ? addr : NULL);

	if (len < 0) {
		snprintf(rsp->err, sizeof(rsp->err),
		         "cannot build an Autodiscover request for \"%.200s\"", addr);
		return -1;
	}
	return logon_http_post(f->http, url, headers, body, (size_t)len, rsp);
}

/*
 * Autodiscover for addr (an SMTP address, or a LegacyDN when by_dn) starting at url (NULL: the
 * domain URLs of addr, or of the run's e-mail address for a LegacyDN), following redirects.
 * Returns 0 with settings in *res and the URL that gave them in ad_url; LOGON_EXIT_AUTODISCOVER
 * for an error answer or nothing usable (f->msg says what); or another exit status (transport,
 * 401, hops, loop) with f ended.
 */
static int follow_discover(struct follow *f, bool by_dn, const char *addr_in, const char *url,
                           struct logon_ad_result *res, char *ad_url)
{
	char urls[2][LOGON_URL_MAX], addr[LOGON_DN_MAX], err[LOGON_MSG_MAX],
	        line[LOGON_URL_MAX + 64];
	struct logon_http_rsp rsp;
	unsigned nurls, i = 0;
	int last = 0;

	follow_copy(addr, sizeof(addr), addr_in);
	if (url != NULL) {
		follow_copy(urls[0], sizeof(urls[0]), url);
		nurls = 1;
	} else {
		nurls = follow_domain_urls(
		        by_dn ? (f->o->email != NULL ? f->o->email : f->cur.smtp) : addr, urls);
		if (nurls == 0)
			return follow_end(
			        f, LOGON_EXIT_AUTODISCOVER, "no Autodiscover URL", NULL,
			        "no Autodiscover URL for %s: give --autodiscover-url or EMAIL",
			        addr);
	}
	while (i < nurls) {
		const char *u = urls[i];
		const char *kind = by_dn ? "legacy-dn" : "email";
		unsigned n;

		if (follow_seen(f, kind, u, addr))
			return follow_end(f, LOGON_EXIT_HOPS, "loop", NULL,
			                  "Autodiscover for %s at %s was asked before", addr, u);
		if ((n = follow_hop_no(f, true)) == 0)
			return f->status;
		if (follow_ad_post(f, u, by_dn, addr, &rsp) != 0) {
			follow_hop(f, n, u, addr, "failed", rsp.err, 0, NULL);
			last = follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL,
			                  "Autodiscover at %s: %s", u, rsp.err);
			i++;
			continue;
		}
		if (rsp.status == 401) {
			follow_hop(f, n, u, addr, "http", "401 (credentials refused)", 401, NULL);
			return follow_end(
			        f, LOGON_EXIT_AUTH, "authentication failed", NULL,
			        "Autodiscover at %s: HTTP 401: the credentials were refused", u);
		}
		if (rsp.status >= 300 && rsp.status < 400 && rsp.location[0] != '\0' &&
		    follow_is_http_url(rsp.location)) {
			snprintf(line, sizeof(line), "%ld %s", rsp.status, rsp.location);
			follow_hop(f, n, u, addr, "http", line, rsp.status, rsp.location);
			/* [MS-OXDSCLI] 3.1.5.1: the same request to the new location. */
			follow_copy(urls[0], sizeof(urls[0]), rsp.location);
			nurls = 1;
			i = 0;
			continue;
		}
		if (rsp.status != 200) {
			snprintf(line, sizeof(line), "%ld", rsp.status);
			follow_hop(f, n, u, addr, "http", line, rsp.status, NULL);
			last = follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL,
			                  "Autodiscover at %s: HTTP status %ld", u, rsp.status);
			i++;
			continue;
		}
		if (logon_ad_parse(rsp.body, rsp.len, res, err, sizeof(err)) != 0) {
			follow_hop(f, n, u, addr, "unusable", err, 200, NULL);
			last = follow_end(f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed", NULL,
			                  "Autodiscover at %s: %s", u, err);
			i++;
			continue;
		}
		switch (res->kind) {
		case LOGON_AD_ERROR:
			snprintf(line, sizeof(line), "%u (%s)", res->error_code, res->error_msg);
			follow_hop(f, n, u, addr, "error", line, 200, NULL);
			return follow_end(f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed", NULL,
			                  "Autodiscover at %s answered error %u (%s) for %s", u,
			                  res->error_code, res->error_msg, addr);
		case LOGON_AD_REDIRECT_URL:
			follow_hop(f, n, u, addr, "redirectUrl", res->redirect, 200, res->redirect);
			if (!follow_is_http_url(res->redirect))
				return follow_end(f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed",
				                  NULL, "redirectUrl \"%.200s\" is not an HTTP URL",
				                  res->redirect);
			follow_copy(urls[0], sizeof(urls[0]), res->redirect);
			nurls = 1;
			i = 0;
			continue;
		case LOGON_AD_REDIRECT_ADDR:
			follow_hop(f, n, u, addr, "redirectAddr", res->redirect, 200,
			           res->redirect);
			/* A new request for the new address: at the same URL if it is in the same
			 * domain, else where that domain's Autodiscover lives. */
			if (!by_dn && follow_same_domain(addr, res->redirect)) {
				follow_copy(urls[0], sizeof(urls[0]), u);
				nurls = 1;
			} else {
				nurls = follow_domain_urls(res->redirect, urls);
			}
			follow_copy(addr, sizeof(addr), res->redirect);
			by_dn = false;
			i = 0;
			continue;
		case LOGON_AD_SETTINGS: {
			const char *mu = logon_ad_mailbox_url(res, f->o->external);

			if (mu == NULL || !follow_is_http_url(mu)) {
				follow_hop(f, n, u, addr, "settings",
				           "without a mapiHttp MailStore URL", 200, NULL);
				return follow_end(
				        f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed", NULL,
				        "the settings from %s for %s carry no mapiHttp MailStore "
				        "URL",
				        u, addr);
			}
			if (res->server[0] != '\0')
				snprintf(line, sizeof(line), "%s %s", res->server, mu);
			else
				snprintf(line, sizeof(line), "%s", mu);
			follow_hop(f, n, u, addr, "settings", line, 200, NULL);
			follow_copy(ad_url, LOGON_URL_MAX, u);
			return 0;
		}
		}
	}
	return last;
}

/* Takes the settings as the current ones. */
static void follow_apply(struct follow *f, const struct logon_ad_result *res, const char *ad_url)
{
	struct logon_profile *c = &f->cur;

	follow_copy(c->mailbox_url, sizeof(c->mailbox_url),
	            logon_ad_mailbox_url(res, f->o->external));
	follow_copy(c->autodiscover_url, sizeof(c->autodiscover_url), ad_url);
	follow_copy(c->legacy_dn, sizeof(c->legacy_dn), res->legacy_dn);
	follow_copy(c->display_name, sizeof(c->display_name), res->display_name);
	if (res->smtp[0] != '\0')
		follow_copy(c->smtp, sizeof(c->smtp), res->smtp);
	follow_copy(c->server_dn, sizeof(c->server_dn), res->server_dn);
	follow_server_name(c, res->server);
}

/* ---- MAPI over HTTP -------------------------------------------------------------------------- */

/* One MAPI/HTTP request at the current mailbox URL. Returns 0 with *o filled, or -1 on a
 * transport failure (o->cls TRANSPORT, o->msg set). */
static int follow_mapi(struct follow *f, enum logon_mapi_req t, struct logon_mapi_outcome *o)
{
	static uint8_t body[FOLLOW_BODY_MAX];
	char type[48], reqid[80], info[80];
	const char *headers[] = {
	        "Content-Type: application/mapi-http",
	        type,
	        reqid,
	        info,
	        "X-ClientApplication: mbxlogon/" MBX_VERSION,
	        "Accept: application/mapi-http",
	        NULL,
	};
	struct logon_http_rsp rsp;
	int len = logon_mapi_body(t, f->cur.legacy_dn, body, sizeof(body));

	memset(o, 0, sizeof(*o));
	if (len < 0) {
		o->cls = LOGON_MAPI_TRANSPORT;
		snprintf(o->msg, sizeof(o->msg),
		         "%s: cannot encode the request for LegacyDN \"%.200s\" (printable ASCII, "
		         "below %u bytes)",
		         logon_mapi_req_name(t), f->cur.legacy_dn, MBX_MH_DN_MAX);
		return -1;
	}
	snprintf(type, sizeof(type), "X-RequestType: %s", logon_mapi_req_name(t));
	snprintf(reqid, sizeof(reqid), "X-RequestId: %s:%u", f->client_info, ++f->request_no);
	snprintf(info, sizeof(info), "X-ClientInfo: %s", f->client_info);
	if (logon_http_post(f->http, f->cur.mailbox_url, headers, body, (size_t)len, &rsp) != 0) {
		o->cls = LOGON_MAPI_TRANSPORT;
		snprintf(o->msg, sizeof(o->msg), "%s: %.400s", logon_mapi_req_name(t), rsp.err);
		return -1;
	}
	logon_mapi_check(t, &rsp, o);
	return 0;
}

/* The hop line of one MAPI request's outcome. */
static void follow_mapi_hop(struct follow *f, unsigned n, const char *kind, bool with_dn,
                            const struct logon_mapi_outcome *o)
{
	char ecbuf[16], res[64], detail[LOGON_MSG_MAX];
	struct logon_hop h = {
	        .n = n,
	        .kind = kind,
	        .url = f->cur.mailbox_url,
	        .subject = with_dn ? f->cur.legacy_dn : NULL,
	};

	switch (o->cls) {
	case LOGON_MAPI_OK:
		h.result = "ok";
		h.detail = o->display_name[0] != '\0' ? o->display_name : NULL;
		break;
	case LOGON_MAPI_WRONG_SERVER:
	case LOGON_MAPI_REFUSED:
		snprintf(res, sizeof(res), "%s", mbx_ec_str(o->ec, ecbuf, sizeof(ecbuf)));
		h.result = res;
		h.has_ec = true;
		h.ec = o->ec;
		if (o->cls == LOGON_MAPI_WRONG_SERVER) {
			snprintf(detail, sizeof(detail), "(0x%08X) server %s", (unsigned)o->ec,
			         o->logon.server);
			h.server_dn = o->logon.server;
		} else {
			snprintf(detail, sizeof(detail), "(0x%08X)", (unsigned)o->ec);
		}
		h.detail = detail;
		break;
	case LOGON_MAPI_CONTEXT_LOST:
		h.result = "context-lost";
		h.detail = o->msg;
		break;
	case LOGON_MAPI_AUTH:
		h.result = "http";
		h.http_status = 401;
		h.detail = "401 (credentials refused)";
		break;
	case LOGON_MAPI_TRANSPORT:
		h.result = "failed";
		h.detail = o->msg;
		break;
	}
	logon_out_hop(f->out, &h);
}

/* Disconnect at the end of a session: a hop of its own that does not count; its failure is
 * only reported. */
static void follow_disconnect(struct follow *f)
{
	struct logon_mapi_outcome o;

	follow_mapi(f, LOGON_REQ_DISCONNECT, &o);
	follow_mapi_hop(f, follow_hop_no(f, false), "disconnect", false, &o);
}

/*
 * Connect + RopLogon (+ Disconnect) at the current settings. Returns 0 with *lo the RopLogon (or
 * Connect) outcome: OK, REFUSED, WRONG_SERVER; or an exit status with f ended (transport, 401,
 * hops). in_place: a retry at the same place, whose hops do not count.
 */
static int follow_session(struct follow *f, bool in_place, struct logon_mapi_outcome *lo)
{
	bool reconnected = false;
	unsigned n;

again:
	logon_http_clear_cookies(f->http);
	if ((n = follow_hop_no(f, !in_place)) == 0)
		return f->status;
	follow_mapi(f, LOGON_REQ_CONNECT, lo);
	follow_mapi_hop(f, n, "connect", true, lo);
	switch (lo->cls) {
	case LOGON_MAPI_OK:
		if (f->cur.display_name[0] == '\0')
			follow_copy(f->cur.display_name, sizeof(f->cur.display_name),
			            lo->display_name);
		break;
	case LOGON_MAPI_REFUSED:
	case LOGON_MAPI_WRONG_SERVER:
		return 0; /* no session context was made */
	case LOGON_MAPI_CONTEXT_LOST:
		if (!reconnected) {
			reconnected = in_place = true;
			goto again;
		}
		return follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL, "%s",
		                  lo->msg);
	case LOGON_MAPI_AUTH:
		return follow_end(f, LOGON_EXIT_AUTH, "authentication failed", NULL, "%s at %s",
		                  lo->msg, f->cur.mailbox_url);
	case LOGON_MAPI_TRANSPORT:
		return follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL, "%s at %s",
		                  lo->msg, f->cur.mailbox_url);
	}

	if ((n = follow_hop_no(f, !in_place)) == 0)
		return f->status;
	follow_mapi(f, LOGON_REQ_EXECUTE, lo);
	follow_mapi_hop(f, n, "logon", true, lo);
	switch (lo->cls) {
	case LOGON_MAPI_OK:
		logon_out_logon(f->out, &lo->logon);
		follow_disconnect(f);
		return 0;
	case LOGON_MAPI_REFUSED:
	case LOGON_MAPI_WRONG_SERVER:
		follow_disconnect(f);
		return 0;
	case LOGON_MAPI_CONTEXT_LOST:
		if (!reconnected) {
			reconnected = in_place = true;
			goto again;
		}
		return follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL, "%s",
		                  lo->msg);
	case LOGON_MAPI_AUTH:
		return follow_end(f, LOGON_EXIT_AUTH, "authentication failed", NULL, "%s at %s",
		                  lo->msg, f->cur.mailbox_url);
	case LOGON_MAPI_TRANSPORT:
		break;
	}
	return follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL, "%s at %s", lo->msg,
	                  f->cur.mailbox_url);
}

/* ---- the run --------------------------------------------------------------------------------- */

/*
 * After ecWrongServer / ecUnknownUser / ecLoginFailure: Autodiscover for the current LegacyDN at
 * the Autodiscover URL that gave the current settings (or --autodiscover-url, or the e-mail
 * domain's URLs). Returns 0 when new settings are in place, or the exit status (f ended).
 */
static int follow_rediscover(struct follow *f, uint32_t ec, const char *server_dn)
{
	struct logon_ad_result res;
	char ad_url[LOGON_URL_MAX], ecbuf[16];
	const char *url = f->cur.autodiscover_url[0] != '\0' ? f->cur.autodiscover_url
	                                                     : f->o->autodiscover_url;
	const char *ecs = mbx_ec_str(ec, ecbuf, sizeof(ecbuf));
	char old_url[LOGON_URL_MAX], old_dn[LOGON_DN_MAX];
	int rc;

	if (url == NULL && f->o->email == NULL && f->cur.smtp[0] == '\0') {
		if (server_dn != NULL)
			return follow_end(
			        f, LOGON_EXIT_REFUSED, "logon refused", &ec,
			        "cannot follow the redirect to %s: no Autodiscover URL to ask "
			        "for its mailbox URL (give --autodiscover-url or EMAIL)",
			        server_dn);
		return follow_end(f, LOGON_EXIT_REFUSED, "logon refused", &ec,
		                  "no Autodiscover URL to ask about %s (give --autodiscover-url or "
		                  "EMAIL)",
		                  f->cur.legacy_dn);
	}
	follow_copy(old_url, sizeof(old_url), f->cur.mailbox_url);
	follow_copy(old_dn, sizeof(old_dn), f->cur.legacy_dn);
	rc = follow_discover(f, true, f->cur.legacy_dn, url, &res, ad_url);
	if (rc == LOGON_EXIT_AUTODISCOVER) {
		char why[LOGON_MSG_MAX];

		follow_copy(why, sizeof(why), f->msg);
		return follow_end(f, LOGON_EXIT_REFUSED, "logon refused", &ec,
		                  "%s, and Autodiscover found nothing better: %s", ecs, why);
	}
	if (rc != 0)
		return rc;
	if (strcmp(logon_ad_mailbox_url(&res, f->o->external), old_url) == 0 &&
	    strcasecmp(res.legacy_dn, old_dn) == 0) {
		if (server_dn != NULL)
			return follow_end(f, LOGON_EXIT_HOPS, "loop", &ec,
			                  "Autodiscover points back to %s, which redirected %s "
			                  "to %s",
			                  old_url, old_dn, server_dn);
		return follow_end(f, LOGON_EXIT_REFUSED, "logon refused", &ec,
		                  "Autodiscover learned nothing new about %s (same mailbox URL and "
		                  "LegacyDN)",
		                  old_dn);
	}
	follow_apply(f, &res, ad_url);
	if (server_dn != NULL && res.server_dn[0] == '\0') {
		/* The server the redirect named is where the profile now points. */
		follow_copy(f->cur.server_dn, sizeof(f->cur.server_dn), server_dn);
		follow_server_name(&f->cur, res.server);
	}
	return 0;
}

static double follow_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void follow_sleep(unsigned s)
{
	struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = 0};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int follow_loop(struct follow *f)
{
	struct logon_mapi_outcome lo;
	double transit_start = -1;
	bool in_place = false;
	int rc;

	for (;;) {
		if (!in_place && follow_seen(f, "logon", f->cur.mailbox_url, f->cur.legacy_dn))
			return follow_end(f, LOGON_EXIT_HOPS, "loop", NULL,
			                  "a logon as %s at %s was made before", f->cur.legacy_dn,
			                  f->cur.mailbox_url);
		rc = follow_session(f, in_place, &lo);
		if (rc != 0)
			return rc;
		in_place = false;
		if (lo.cls == LOGON_MAPI_OK) {
			f->cur.logged_on = true;
			f->cur.logon = lo.logon;
			return follow_end(f, LOGON_EXIT_OK, "logged on", NULL, "%s at %s",
			                  f->cur.legacy_dn, f->cur.mailbox_url);
		}
		if (lo.cls == LOGON_MAPI_WRONG_SERVER) {
			transit_start = -1;
			if ((rc = follow_rediscover(f, lo.ec, lo.logon.server)) != 0)
				return rc;
			continue;
		}
		/* REFUSED */
		if (lo.ec == ecUnknownUser || lo.ec == ecLoginFailure || lo.ec == ecWrongServer) {
			transit_start = -1;
			if ((rc = follow_rediscover(f, lo.ec, NULL)) != 0)
				return rc;
			continue;
		}
		if (lo.ec == ecMailboxInTransit) {
			double now = follow_now();
			unsigned waited, step;
			struct logon_hop h = {.kind = "wait", .subject = f->cur.legacy_dn};

			if (transit_start < 0)
				transit_start = now;
			waited = (unsigned)(now - transit_start);
			if (waited >= f->o->wait_transit)
				return follow_end(
				        f, LOGON_EXIT_TRANSIT, "mailbox in transit", &lo.ec,
				        "%s is still being moved after %u s (--wait-transit %u)",
				        f->cur.legacy_dn, waited, f->o->wait_transit);
			h.waited = waited;
			h.wait_limit = f->o->wait_transit;
			logon_out_hop(f->out, &h);
			step = f->o->wait_transit - waited;
			follow_sleep(step < FOLLOW_TRANSIT_STEP ? step : FOLLOW_TRANSIT_STEP);
			in_place = true;
			continue;
		}
		return follow_end(f, LOGON_EXIT_REFUSED, "logon refused", &lo.ec, "%s at %s",
		                  f->cur.legacy_dn, f->cur.mailbox_url);
	}
}

int logon_follow_run(const struct logon_opts *o, struct logon_http *http, struct logon_out *out)
{
	struct follow *f = calloc(1, sizeof(*f));
	struct mbx_guid g;
	int rc;

	if (f == NULL) {
		logon_err("out of memory");
		return LOGON_EXIT_TRANSPORT;
	}
	f->o = o;
	f->http = http;
	f->out = out;
	if (getrandom(g.b, sizeof(g.b), 0) != (ssize_t)sizeof(g.b))
		memset(g.b, 0x5A, sizeof(g.b));
	g.b[7] = (uint8_t)((g.b[7] & 0x0F) | 0x40); /* version 4 (Data3 is little-endian) */
	g.b[8] = (uint8_t)((g.b[8] & 0x3F) | 0x80);
	f->client_info[0] = '{';
	mbx_guid_to_str(&g, f->client_info + 1);
	strcat(f->client_info, "}");
	if (o->email != NULL)
		follow_copy(f->cur.smtp, sizeof(f->cur.smtp), o->email);

	if (o->mailbox_url != NULL) {
		follow_copy(f->cur.mailbox_url, sizeof(f->cur.mailbox_url), o->mailbox_url);
		follow_copy(f->cur.legacy_dn, sizeof(f->cur.legacy_dn), o->legacy_dn);
		follow_copy(f->cur.autodiscover_url, sizeof(f->cur.autodiscover_url),
		            o->autodiscover_url);
		follow_server_name(&f->cur, NULL);
		rc = follow_loop(f);
	} else {
		struct logon_ad_result res;
		char ad_url[LOGON_URL_MAX];

		rc = follow_discover(f, false, o->email, o->autodiscover_url, &res, ad_url);
		if (rc == 0) {
			follow_apply(f, &res, ad_url);
			rc = follow_loop(f);
		}
	}
	if (rc != LOGON_EXIT_OK) {
		char ecbuf[16], ecs[48] = "";

		if (f->has_ec)
			snprintf(ecs, sizeof(ecs), ": %s (0x%08X)",
			         mbx_ec_str(f->ec, ecbuf, sizeof(ecbuf)), (unsigned)f->ec);
		logon_err("%s%s%s%s", f->result, ecs, f->msg[0] != '\0' ? ": " : "", f->msg);
	}
	if (logon_out_finish(out, &f->cur, rc, f->result, f->ec, f->has_ec,
	                     f->msg[0] != '\0' ? f->msg : NULL) != 0 &&
	    rc == LOGON_EXIT_OK)
		rc = LOGON_EXIT_TRANSPORT;
	for (unsigned i = 0; i < f->nvisited; i++)
		free(f->visited[i]);
	free(f);
	return rc;
}
