/*
 * logon-discover.c: mbxlogon's walk through Autodiscover POX ([MS-OXDSCLI] 3.1.5; protocol.md
 * 7): the candidate URLs of an address's domain (https://DOMAIN/autodiscover/autodiscover.xml,
 * then https://autodiscover.DOMAIN/...), one request per hop with EMailAddress or LegacyDN,
 * redirectUrl (the same request at the new URL), redirectAddr (a new request for the new
 * address), HTTP 3xx (the same request at the Location), Error, and settings, which become the
 * current settings of the run ([MS-OXMVMBX] 3.1.1: the client uses them to connect and updates
 * its profile). Also how the profile names the server.
 */
#include "mbxlogon.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DISCOVER_BODY_MAX (LOGON_DN_MAX * 6u + 512u)

/* The host of "scheme://[user@]host[:port]/..." into dst ("" if the URL has no host). */
static void discover_url_host(const char *url, char *dst, size_t size)
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
static void discover_dn_cn(const char *dn, char *dst, size_t size)
{
	const char *p = NULL;

	for (const char *s = dn; (s = strchr(s, '/')) != NULL; s++)
		if (strncasecmp(s + 1, "cn=", 3) == 0)
			p = s + 4;
	logon_follow_copy(dst, size, p != NULL ? p : dn);
}

static int discover_hex(char c)
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
static bool discover_mailbox_id(const char *url, char *dst, size_t size)
{
	const char *q = strchr(url, '?'), *p;
	size_t n = 0;

	for (p = q; p != NULL; p = strchr(p + 1, '&'))
		if (strncasecmp(p + 1, "MailboxId=", 10) == 0)
			break;
	if (p == NULL || size == 0)
		return false;
	for (p += 11; *p != '\0' && *p != '&' && *p != '#' && n + 1 < size; p++) {
		int hi = *p == '%' ? discover_hex(p[1]) : -1,
		    lo = hi >= 0 ? discover_hex(p[2]) : -1;

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
void logon_discover_server_name(struct logon_profile *c, const char *exch)
{
	if (exch != NULL && exch[0] != '\0')
		logon_follow_copy(c->server, sizeof(c->server), exch);
	else if (discover_mailbox_id(c->mailbox_url, c->server, sizeof(c->server)))
		return;
	else if (c->server_dn[0] != '\0')
		discover_dn_cn(c->server_dn, c->server, sizeof(c->server));
	else
		discover_url_host(c->mailbox_url, c->server, sizeof(c->server));
}

static bool discover_is_http_url(const char *u)
{
	return strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0;
}

/* An Autodiscover hop; redirect (may be NULL) is the URL or address it sends us to. */
static void discover_hop(struct logon_follow *f, unsigned n, const char *url, const char *subject,
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
static unsigned discover_domain_urls(const char *addr, char urls[2][LOGON_URL_MAX])
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;

	if (at == NULL || at[1] == '\0' || strlen(at + 1) > 253)
		return 0;
	snprintf(urls[0], LOGON_URL_MAX, "https://%s/autodiscover/autodiscover.xml", at + 1);
	snprintf(urls[1], LOGON_URL_MAX, "https://autodiscover.%s/autodiscover/autodiscover.xml",
	         at + 1);
	return 2;
}

static bool discover_same_domain(const char *a, const char *b)
{
	const char *x = a != NULL ? strrchr(a, '@') : NULL, *y = b != NULL ? strrchr(b, '@') : NULL;

	return x != NULL && y != NULL && strcasecmp(x, y) == 0;
}

/* One Autodiscover hop: POST the request for addr (a LegacyDN when by_dn) to url. */
static int discover_post(struct logon_follow *f, const char *url, bool by_dn, const char *addr,
                         struct logon_http_rsp *rsp)
{
	static char body[DISCOVER_BODY_MAX];
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
int logon_discover_run(struct logon_follow *f, bool by_dn, const char *addr_in, const char *url,
                       struct logon_ad_result *res, char *ad_url)
{
	char urls[2][LOGON_URL_MAX], addr[LOGON_DN_MAX], err[LOGON_MSG_MAX],
	        line[LOGON_URL_MAX + 64];
	struct logon_http_rsp rsp;
	unsigned nurls, i = 0;
	int last = 0;

	logon_follow_copy(addr, sizeof(addr), addr_in);
	if (url != NULL) {
		logon_follow_copy(urls[0], sizeof(urls[0]), url);
		nurls = 1;
	} else {
		nurls = discover_domain_urls(
		        by_dn ? (f->o->email != NULL ? f->o->email : f->cur.smtp) : addr, urls);
		if (nurls == 0)
			return logon_follow_end(
			        f, LOGON_EXIT_AUTODISCOVER, "no Autodiscover URL", NULL,
			        "no Autodiscover URL for %s: give --autodiscover-url or EMAIL",
			        addr);
	}
	while (i < nurls) {
		const char *u = urls[i];
		const char *kind = by_dn ? "legacy-dn" : "email";
		unsigned n;

		if (logon_follow_seen(f, kind, u, addr))
			return logon_follow_end(f, LOGON_EXIT_HOPS, "loop", NULL,
			                        "Autodiscover for %s at %s was asked before", addr,
			                        u);
		if ((n = logon_follow_hop_no(f, true)) == 0)
			return f->status;
		if (discover_post(f, u, by_dn, addr, &rsp) != 0) {
			discover_hop(f, n, u, addr, "failed", rsp.err, 0, NULL);
			last = logon_follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL,
			                        "Autodiscover at %s: %s", u, rsp.err);
			i++;
			continue;
		}
		if (rsp.status == 401) {
			discover_hop(f, n, u, addr, "http", "401 (credentials refused)", 401, NULL);
			return logon_follow_end(
			        f, LOGON_EXIT_AUTH, "authentication failed", NULL,
			        "Autodiscover at %s: HTTP 401: the credentials were refused", u);
		}
		if (rsp.status >= 300 && rsp.status < 400 && rsp.location[0] != '\0' &&
		    discover_is_http_url(rsp.location)) {
			snprintf(line, sizeof(line), "%ld %s", rsp.status, rsp.location);
			discover_hop(f, n, u, addr, "http", line, rsp.status, rsp.location);
			/* [MS-OXDSCLI] 3.1.5.1: the same request to the new location. */
			logon_follow_copy(urls[0], sizeof(urls[0]), rsp.location);
			nurls = 1;
			i = 0;
			continue;
		}
		if (rsp.status != 200) {
			snprintf(line, sizeof(line), "%ld", rsp.status);
			discover_hop(f, n, u, addr, "http", line, rsp.status, NULL);
			last = logon_follow_end(f, LOGON_EXIT_TRANSPORT, "transport failure", NULL,
			                        "Autodiscover at %s: HTTP status %ld", u,
			                        rsp.status);
			i++;
			continue;
		}
		if (logon_ad_parse(rsp.body, rsp.len, res, err, sizeof(err)) != 0) {
			discover_hop(f, n, u, addr, "unusable", err, 200, NULL);
			last = logon_follow_end(f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed",
			                        NULL, "Autodiscover at %s: %s", u, err);
			i++;
			continue;
		}
		switch (res->kind) {
		case LOGON_AD_ERROR:
			snprintf(line, sizeof(line), "%u (%s)", res->error_code, res->error_msg);
			discover_hop(f, n, u, addr, "error", line, 200, NULL);
			return logon_follow_end(f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed",
			                        NULL,
			                        "Autodiscover at %s answered error %u (%s) for %s",
			                        u, res->error_code, res->error_msg, addr);
		case LOGON_AD_REDIRECT_URL:
			discover_hop(f, n, u, addr, "redirectUrl", res->redirect, 200,
			             res->redirect);
			if (!discover_is_http_url(res->redirect))
				return logon_follow_end(
				        f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed", NULL,
				        "redirectUrl \"%.200s\" is not an HTTP URL", res->redirect);
			logon_follow_copy(urls[0], sizeof(urls[0]), res->redirect);
			nurls = 1;
			i = 0;
			continue;
		case LOGON_AD_REDIRECT_ADDR:
			discover_hop(f, n, u, addr, "redirectAddr", res->redirect, 200,
			             res->redirect);
			/* A new request for the new address: at the same URL if it is in the same
			 * domain, else where that domain's Autodiscover lives. */
			if (!by_dn && discover_same_domain(addr, res->redirect)) {
				logon_follow_copy(urls[0], sizeof(urls[0]), u);
				nurls = 1;
			} else {
				nurls = discover_domain_urls(res->redirect, urls);
			}
			logon_follow_copy(addr, sizeof(addr), res->redirect);
			by_dn = false;
			i = 0;
			continue;
		case LOGON_AD_SETTINGS: {
			const char *mu = logon_ad_mailbox_url(res, f->o->external);

			if (mu == NULL || !discover_is_http_url(mu)) {
				discover_hop(f, n, u, addr, "settings",
				             "without a mapiHttp MailStore URL", 200, NULL);
				return logon_follow_end(
				        f, LOGON_EXIT_AUTODISCOVER, "Autodiscover failed", NULL,
				        "the settings from %s for %s carry no mapiHttp MailStore "
				        "URL",
				        u, addr);
			}
			if (res->server[0] != '\0')
				snprintf(line, sizeof(line), "%s %s", res->server, mu);
			else
				snprintf(line, sizeof(line), "%s", mu);
			discover_hop(f, n, u, addr, "settings", line, 200, NULL);
			logon_follow_copy(ad_url, LOGON_URL_MAX, u);
			return 0;
		}
		}
	}
	return last;
}

/* Takes the settings as the current ones. */
void logon_discover_apply(struct logon_follow *f, const struct logon_ad_result *res,
                          const char *ad_url)
{
	struct logon_profile *c = &f->cur;

	logon_follow_copy(c->mailbox_url, sizeof(c->mailbox_url),
	                  logon_ad_mailbox_url(res, f->o->external));
	logon_follow_copy(c->autodiscover_url, sizeof(c->autodiscover_url), ad_url);
	logon_follow_copy(c->legacy_dn, sizeof(c->legacy_dn), res->legacy_dn);
	logon_follow_copy(c->display_name, sizeof(c->display_name), res->display_name);
	if (res->smtp[0] != '\0')
		logon_follow_copy(c->smtp, sizeof(c->smtp), res->smtp);
	logon_follow_copy(c->server_dn, sizeof(c->server_dn), res->server_dn);
	logon_discover_server_name(c, res->server);
}
