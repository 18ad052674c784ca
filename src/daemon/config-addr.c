/*
 * config-addr.c: the network names of mbxstored's configuration (include/mbx/config.h): the
 * address:port values of [listen] ("[v6]:port", IPv4:port, host:port), DNS host and domain
 * names, the https:// URLs of [servers] and [forest.NAME] autodiscover_url, and the LDAP URIs
 * of [directory] uris. Syntax only: nothing is resolved or connected to here.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <ldap.h>

#include "mbx/config.h"

#include "config-int.h"

/* --- host names ---------------------------------------------------------------------------- */

static bool config_addr_hostname_ok(const char *v, bool need_dot)
{
	size_t len = strlen(v), label = 0;

	if (len == 0 || len > MBX_CONFIG_HOST_MAX || v[len - 1] == '.' || v[0] == '.')
		return false;
	if (need_dot && strchr(v, '.') == NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		if (c == '.') {
			if (label == 0 || v[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return v[len - 1] != '-';
}

int mbx_config_check_domain(const char *v, char *err, size_t errsize)
{
	if (!config_addr_hostname_ok(v, false)) {
		snprintf(err, errsize, "not a DNS domain name");
		return -1;
	}
	return 0;
}

/* --- addresses ---------------------------------------------------------------------------- */

/* The host part of an address or URL: "[v6]", an IPv4 address or a host name. */
static int config_addr_host_parse(const char *h, size_t len, struct mbx_config_addr *a)
{
	char buf[MBX_CONFIG_HOST_MAX + 3];
	unsigned char bin[16];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, h, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		if (len < 3 || buf[len - 1] != ']')
			return -1;
		buf[len - 1] = '\0';
		if (inet_pton(AF_INET6, buf + 1, bin) != 1)
			return -1;
		a->family = AF_INET6;
		memcpy(a->host, buf + 1, len - 1); /* with the NUL that replaced ']' */
		return 0;
	}
	if (len > MBX_CONFIG_HOST_MAX)
		return -1;
	if (inet_pton(AF_INET, buf, bin) == 1) {
		a->family = AF_INET;
	} else {
		/* all digits and dots but not an address: a typo, not a host name */
		if (config_chars(buf, ".") && strspn(buf, "0123456789.") == len)
			return -1;
		if (!config_addr_hostname_ok(buf, false))
			return -1;
		a->family = AF_UNSPEC;
	}
	memcpy(a->host, buf, len + 1);
	return 0;
}

static int config_addr_port_parse(const char *p, uint16_t *port_r)
{
	unsigned long v = 0;

	if (*p == '\0' || strlen(p) > 5)
		return -1;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

int mbx_config_addr_parse(const char *s, struct mbx_config_addr *addr_r, char *err, size_t errsize)
{
	struct mbx_config_addr a;
	const char *colon;
	char q[80];

	memset(&a, 0, sizeof(a));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(err, errsize, "\"%s\" is not [IPv6]:port",
			         config_quote(s, q, sizeof(q)));
			return -1;
		}
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			snprintf(err, errsize,
			         "\"%s\": an IPv6 address goes in brackets, [::1]:443",
			         config_quote(s, q, sizeof(q)));
			return -1;
		}
		if (colon == NULL) {
			snprintf(err, errsize, "\"%s\" has no :port",
			         config_quote(s, q, sizeof(q)));
			return -1;
		}
	}
	if (config_addr_host_parse(s, (size_t)(colon - s), &a) < 0) {
		snprintf(err, errsize, "\"%s\": not an IP address or host name",
		         config_quote(s, q, sizeof(q)));
		return -1;
	}
	if (config_addr_port_parse(colon + 1, &a.port) < 0) {
		snprintf(err, errsize, "\"%s\": the port is a number from 1 to 65535",
		         config_quote(s, q, sizeof(q)));
		return -1;
	}
	a.set = true;
	*addr_r = a;
	return 0;
}

bool mbx_config_addr_is_loopback(const struct mbx_config_addr *a)
{
	unsigned char bin[16];
	static const unsigned char v6lo[16] = {[15] = 1};
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (a == NULL || !a->set)
		return false;
	if (a->family == AF_INET)
		return inet_pton(AF_INET, a->host, bin) == 1 && bin[0] == 127;
	if (a->family == AF_INET6) {
		if (inet_pton(AF_INET6, a->host, bin) != 1)
			return false;
		return memcmp(bin, v6lo, 16) == 0 ||
		       (memcmp(bin, mapped, 12) == 0 && bin[12] == 127);
	}
	return strcasecmp(a->host, "localhost") == 0;
}

const char *mbx_config_addr_format(const struct mbx_config_addr *a, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if (a == NULL || !a->set)
		buf[0] = '\0';
	else if (a->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a->host, (unsigned)a->port);
	else
		snprintf(buf, size, "%s:%u", a->host, (unsigned)a->port);
	return buf;
}

bool config_addr_equal(const struct mbx_config_addr *a, const struct mbx_config_addr *b)
{
	unsigned char x[16], y[16];

	if (!a->set || !b->set || a->port != b->port || a->family != b->family)
		return false;
	if (a->family == AF_UNSPEC)
		return strcasecmp(a->host, b->host) == 0;
	return inet_pton(a->family, a->host, x) == 1 && inet_pton(b->family, b->host, y) == 1 &&
	       memcmp(x, y, a->family == AF_INET ? 4 : 16) == 0;
}

/* --- URLs --------------------------------------------------------------------------------- */

int mbx_config_check_url(const char *v, char *err, size_t errsize)
{
	struct mbx_config_addr a;
	const char *p, *auth, *end, *colon;
	bool plain;

	memset(&a, 0, sizeof(a));
	if (strncasecmp(v, "https://", 8) == 0) {
		plain = false;
		auth = v + 8;
	} else if (strncasecmp(v, "http://", 7) == 0) {
		plain = true;
		auth = v + 7;
	} else {
		snprintf(err, errsize, "not an https:// URL");
		return -1;
	}
	end = auth + strcspn(auth, "/");
	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '"' || *p == '<' || *p == '>' || *p == '\\' ||
		    (*p == '@' && p < end)) {
			snprintf(err, errsize,
			         "a URL here has no spaces, user, query or fragment, and no \" < > "
			         "\\");
			return -1;
		}
	}
	/* host[:port]: the last ':' after any ']' */
	colon = NULL;
	for (p = auth; p < end; p++) {
		if (*p == ']')
			colon = NULL;
		else if (*p == ':')
			colon = p;
	}
	if (colon != NULL && auth[0] != '[' && memchr(auth, ':', (size_t)(colon - auth)) != NULL)
		colon = NULL; /* a bare IPv6 address: fails below */
	if (config_addr_host_parse(auth, (size_t)((colon != NULL ? colon : end) - auth), &a) < 0) {
		snprintf(err, errsize, "the URL's host is not an IP address or host name");
		return -1;
	}
	if (colon != NULL) {
		char port[8];
		size_t n = (size_t)(end - colon - 1);

		if (n >= sizeof(port)) {
			snprintf(err, errsize, "the URL's port is a number from 1 to 65535");
			return -1;
		}
		memcpy(port, colon + 1, n);
		port[n] = '\0';
		if (config_addr_port_parse(port, &a.port) < 0) {
			snprintf(err, errsize, "the URL's port is a number from 1 to 65535");
			return -1;
		}
	}
	a.set = true;
	if (a.port == 0)
		a.port = plain ? 80 : 443;
	if (plain && !mbx_config_addr_is_loopback(&a)) {
		snprintf(err, errsize, "http:// is for loopback hosts only; use https://");
		return -1;
	}
	return 0;
}

int mbx_config_check_ldap_uri(const char *v, char *err, size_t errsize)
{
	LDAPURLDesc *lud = NULL;
	int rc = -1;

	if (strchr(v, ',') != NULL) {
		snprintf(err, errsize, "a comma in a server URI (the list is separated by spaces)");
		return -1;
	}
	if (strncasecmp(v, "ldap://", 7) != 0 && strncasecmp(v, "ldaps://", 8) != 0 &&
	    strncasecmp(v, "ldapi://", 8) != 0) {
		snprintf(err, errsize, "not an ldap://, ldaps:// or ldapi:// URI");
		return -1;
	}
	if (ldap_url_parse(v, &lud) != LDAP_URL_SUCCESS || lud == NULL || lud->lud_scheme == NULL) {
		snprintf(err, errsize, "not an LDAP URI");
		goto out;
	}
	if (strcasecmp(lud->lud_scheme, "ldapi") != 0 &&
	    (lud->lud_host == NULL || lud->lud_host[0] == '\0')) {
		snprintf(err, errsize, "the URI names no host");
		goto out;
	}
	if ((lud->lud_dn != NULL && lud->lud_dn[0] != '\0') || lud->lud_attrs != NULL ||
	    lud->lud_filter != NULL || lud->lud_exts != NULL) {
		snprintf(err, errsize, "a server URI has no DN, attributes, filter or extensions");
		goto out;
	}
	rc = 0;
out:
	if (lud != NULL)
		ldap_free_urldesc(lud);
	return rc;
}

int config_addr_ldap_uri_local(const char *v, bool *tls_r)
{
	LDAPURLDesc *lud = NULL;
	struct mbx_config_addr a;
	int rc;

	if (ldap_url_parse(v, &lud) != LDAP_URL_SUCCESS || lud == NULL || lud->lud_scheme == NULL) {
		if (lud != NULL)
			ldap_free_urldesc(lud);
		return -1;
	}
	*tls_r = strcasecmp(lud->lud_scheme, "ldaps") == 0;
	memset(&a, 0, sizeof(a));
	a.set = true;
	if (strcasecmp(lud->lud_scheme, "ldapi") == 0) {
		rc = 1;
	} else if (lud->lud_host == NULL) {
		rc = 0;
	} else {
		size_t n = strlen(lud->lud_host);
		bool v6 = strchr(lud->lud_host, ':') != NULL;
		char h[MBX_CONFIG_HOST_MAX + 3];

		if (v6 && n + 2 < sizeof(h))
			snprintf(h, sizeof(h), "[%s]", lud->lud_host);
		else
			snprintf(h, sizeof(h), "%s", lud->lud_host);
		rc = config_addr_host_parse(h, strlen(h), &a) == 0 &&
		     mbx_config_addr_is_loopback(&a);
	}
	ldap_free_urldesc(lud);
	return rc;
}
