/*
 * logon-ad.c: the client side of Autodiscover POX ([MS-OXDSCLI] 2.2.3 request, 2.2.4 response;
 * protocol.md 7.3-7.6): the request body with EMailAddress or LegacyDN, and the parser of the
 * answer (settings with the mapiHttp Protocol's MailStore URLs, redirectUrl, redirectAddr,
 * Error). libxml2 parses with XML_PARSE_NONET, without XML_PARSE_NOENT (entities are never
 * substituted), without DTD loading, and a document with a DOCTYPE is refused outright, so a
 * response can neither reach the network nor expand. Pure: bytes in, struct out.
 */
#include "mbxlogon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "mbx/autodiscover.h"

#define AD_BODY_MAX (256u * 1024u) /* response bytes we agree to parse */

const char *logon_ad_kind_name(enum logon_ad_kind k)
{
	switch (k) {
	case LOGON_AD_SETTINGS:
		return "settings";
	case LOGON_AD_REDIRECT_URL:
		return "redirectUrl";
	case LOGON_AD_REDIRECT_ADDR:
		return "redirectAddr";
	case LOGON_AD_ERROR:
		return "error";
	}
	return "?";
}

/* Appends s XML-escaped; false if it does not fit. */
static bool ad_put_escaped(char *buf, size_t size, size_t *at, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		char one[2] = {*s, '\0'};
		size_t n;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			rep = one;
		}
		n = strlen(rep);
		if (size - *at <= n)
			return false;
		memcpy(buf + *at, rep, n);
		*at += n;
	}
	buf[*at] = '\0';
	return true;
}

static bool ad_put(char *buf, size_t size, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (size - *at <= n)
		return false;
	memcpy(buf + *at, s, n + 1);
	*at += n;
	return true;
}

int logon_ad_request(char *buf, size_t size, const char *email, const char *legacy_dn)
{
	const char *addr = legacy_dn != NULL ? legacy_dn : email;
	const char *tag = legacy_dn != NULL ? "LegacyDN" : "EMailAddress";
	size_t at = 0, n;
	char open[32], close[32];

	if (size == 0 || addr == NULL || (n = strlen(addr)) == 0 || n >= LOGON_DN_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)addr[i] < 0x20 || addr[i] == 0x7F)
			return -1;
	snprintf(open, sizeof(open), "    <%s>", tag);
	snprintf(close, sizeof(close), "</%s>\n", tag);
	if (!ad_put(buf, size, &at,
	            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	            "<Autodiscover xmlns=\"" MBX_AD_NS_REQUEST "\">\n"
	            "  <Request>\n") ||
	    !ad_put(buf, size, &at, open) || !ad_put_escaped(buf, size, &at, addr) ||
	    !ad_put(buf, size, &at, close) ||
	    !ad_put(buf, size, &at,
	            "    <AcceptableResponseSchema>" MBX_AD_NS_OUTLOOK
	            "</AcceptableResponseSchema>\n"
	            "  </Request>\n"
	            "</Autodiscover>\n"))
		return -1;
	return (int)at;
}

/* ---- parsing --------------------------------------------------------------------------------- */

struct ad_parse {
	struct logon_ad_result *res;
	char *err;
	size_t errsize;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static int ad_fail(struct ad_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errsize, fmt, ap);
		va_end(ap);
		p->failed = true;
	}
	return -1;
}

static void ad_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static bool ad_ns_is(const xmlNode *n, const char *ns)
{
	return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

/* Elements of the response: in the response namespace, the outlook one, or (lenient, as the
 * error example of protocol.md 7.6 inherits the root's) either. Foreign namespaces are
 * skipped. */
static bool ad_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 &&
	       (ad_ns_is(n, MBX_AD_NS_RESPONSE) || ad_ns_is(n, MBX_AD_NS_OUTLOOK));
}

static const xmlNode *ad_child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *c = parent->children; c != NULL; c = c->next)
		if (ad_is(c, name))
			return c;
	return NULL;
}

/* The text of an element (its text and CDATA children, blanks around trimmed) into dst.
 * Child elements are an error, so is text that does not fit. */
static int ad_text(struct ad_parse *p, const xmlNode *n, char *dst, size_t size)
{
	size_t len = 0, start, end;
	char tmp[LOGON_URL_MAX + 1];

	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		size_t k;

		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return ad_fail(p, "<%s> holds markup where text was expected",
			               (const char *)n->name);
		k = strlen((const char *)c->content);
		if (k >= sizeof(tmp) - len)
			return ad_fail(p, "<%s> is longer than %zu bytes", (const char *)n->name,
			               size - 1);
		memcpy(tmp + len, c->content, k);
		len += k;
	}
	tmp[len] = '\0';
	start = 0;
	end = len;
	while (start < end && (tmp[start] == ' ' || tmp[start] == '\t' || tmp[start] == '\r' ||
	                       tmp[start] == '\n'))
		start++;
	while (end > start && (tmp[end - 1] == ' ' || tmp[end - 1] == '\t' ||
	                       tmp[end - 1] == '\r' || tmp[end - 1] == '\n'))
		end--;
	if (end - start >= size)
		return ad_fail(p, "<%s> is longer than %zu bytes", (const char *)n->name, size - 1);
	for (size_t i = start; i < end; i++)
		if ((unsigned char)tmp[i] < 0x20)
			return ad_fail(p, "<%s> holds a control character", (const char *)n->name);
	memcpy(dst, tmp + start, end - start);
	dst[end - start] = '\0';
	return 0;
}

/* The text of an optional child element; "" when absent. */
static int ad_child_text(struct ad_parse *p, const xmlNode *parent, const char *name, char *dst,
                         size_t size)
{
	const xmlNode *c = ad_child(parent, name);

	dst[0] = '\0';
	return c != NULL ? ad_text(p, c, dst, size) : 0;
}

static int ad_parse_error(struct ad_parse *p, const xmlNode *err)
{
	char code[16];
	char *end;
	unsigned long v;

	p->res->kind = LOGON_AD_ERROR;
	if (ad_child_text(p, err, "ErrorCode", code, sizeof(code)) != 0 ||
	    ad_child_text(p, err, "Message", p->res->error_msg, sizeof(p->res->error_msg)) != 0)
		return -1;
	if (code[0] < '0' || code[0] > '9')
		return ad_fail(p, "<Error> has no numeric <ErrorCode>");
	v = strtoul(code, &end, 10);
	if (*end != '\0' || v > 999999)
		return ad_fail(p, "<ErrorCode> \"%s\" is not a number", code);
	p->res->error_code = (unsigned)v;
	return 0;
}

/* The Type of a Protocol: the Type attribute (mapiHttp form) or the <Type> element. */
static int ad_protocol_type(struct ad_parse *p, const xmlNode *proto, char *dst, size_t size)
{
	xmlChar *attr = xmlGetNoNsProp(proto, (const xmlChar *)"Type");

	if (attr != NULL) {
		size_t n = strlen((const char *)attr);

		if (n >= size) {
			xmlFree(attr);
			return ad_fail(p, "<Protocol Type> is too long");
		}
		memcpy(dst, attr, n + 1);
		xmlFree(attr);
		return 0;
	}
	return ad_child_text(p, proto, "Type", dst, size);
}

static int ad_parse_protocol(struct ad_parse *p, const xmlNode *proto)
{
	struct logon_ad_result *res = p->res;
	char type[32];

	if (ad_protocol_type(p, proto, type, sizeof(type)) != 0)
		return -1;
	if (strcmp(type, "EXCH") == 0) {
		return ad_child_text(p, proto, "Server", res->server, sizeof(res->server)) == 0 &&
		                       ad_child_text(p, proto, "ServerDN", res->server_dn,
		                                     sizeof(res->server_dn)) == 0 &&
		                       ad_child_text(p, proto, "MdbDN", res->mdb_dn,
		                                     sizeof(res->mdb_dn)) == 0
		               ? 0
		               : -1;
	}
	if (strcasecmp(type, "mapiHttp") == 0) {
		const xmlNode *ms = ad_child(proto, "MailStore");

		if (res->has_mapihttp)
			return ad_fail(p, "two mapiHttp <Protocol> elements");
		res->has_mapihttp = true;
		if (ms == NULL)
			return 0;
		return ad_child_text(p, ms, "InternalUrl", res->internal_url,
		                     sizeof(res->internal_url)) == 0 &&
		                       ad_child_text(p, ms, "ExternalUrl", res->external_url,
		                                     sizeof(res->external_url)) == 0
		               ? 0
		               : -1;
	}
	return 0; /* EXPR, EXHTTP, WEB...: not ours */
}

static int ad_parse_account(struct ad_parse *p, const xmlNode *acct)
{
	struct logon_ad_result *res = p->res;
	const xmlNode *err = ad_child(acct, "Error");
	char action[32];

	if (err != NULL)
		return ad_parse_error(p, err);
	if (ad_child(acct, "Action") == NULL)
		return ad_fail(p, "<Account> has no <Action>");
	if (ad_child_text(p, acct, "Action", action, sizeof(action)) != 0)
		return -1;
	if (strcmp(action, "redirectUrl") == 0) {
		res->kind = LOGON_AD_REDIRECT_URL;
		if (ad_child_text(p, acct, "RedirectUrl", res->redirect, sizeof(res->redirect)) !=
		    0)
			return -1;
		if (res->redirect[0] == '\0')
			return ad_fail(p, "redirectUrl without a <RedirectUrl>");
		return 0;
	}
	if (strcmp(action, "redirectAddr") == 0) {
		res->kind = LOGON_AD_REDIRECT_ADDR;
		if (ad_child_text(p, acct, "RedirectAddr", res->redirect, sizeof(res->redirect)) !=
		    0)
			return -1;
		if (res->redirect[0] == '\0')
			return ad_fail(p, "redirectAddr without a <RedirectAddr>");
		if (strlen(res->redirect) >= LOGON_DN_MAX || strchr(res->redirect, '@') == NULL)
			return ad_fail(p, "<RedirectAddr> \"%.100s\" is not an e-mail address",
			               res->redirect);
		return 0;
	}
	if (strcmp(action, "settings") != 0)
		return ad_fail(p, "unknown <Action> \"%.40s\"", action);
	res->kind = LOGON_AD_SETTINGS;
	for (const xmlNode *c = acct->children; c != NULL; c = c->next)
		if (ad_is(c, "Protocol") && ad_parse_protocol(p, c) != 0)
			return -1;
	return 0;
}

static int ad_parse_doc(struct ad_parse *p, const xmlDoc *doc)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *rsp, *user, *acct, *err;
	struct logon_ad_result *res = p->res;

	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return ad_fail(p, "the response has a DOCTYPE (refused)");
	if (root == NULL || strcmp((const char *)root->name, "Autodiscover") != 0)
		return ad_fail(p, "the root element is not <Autodiscover>");
	if (!ad_ns_is(root, MBX_AD_NS_RESPONSE))
		return ad_fail(p, "<Autodiscover> is not in the namespace %s", MBX_AD_NS_RESPONSE);
	rsp = ad_child(root, "Response");
	if (rsp == NULL)
		return ad_fail(p, "<Autodiscover> has no <Response>");
	if ((err = ad_child(rsp, "Error")) != NULL)
		return ad_parse_error(p, err);
	if ((user = ad_child(rsp, "User")) != NULL &&
	    (ad_child_text(p, user, "DisplayName", res->display_name, sizeof(res->display_name)) !=
	             0 ||
	     ad_child_text(p, user, "LegacyDN", res->legacy_dn, sizeof(res->legacy_dn)) != 0 ||
	     ad_child_text(p, user, "AutoDiscoverSMTPAddress", res->smtp, sizeof(res->smtp)) != 0))
		return -1;
	if ((acct = ad_child(rsp, "Account")) == NULL)
		return ad_fail(p, "<Response> has neither <Account> nor <Error>");
	if (ad_parse_account(p, acct) != 0)
		return -1;
	if (res->kind == LOGON_AD_SETTINGS && res->legacy_dn[0] == '\0')
		return ad_fail(p, "settings without a <User><LegacyDN>");
	return 0;
}

int logon_ad_parse(const void *xml, size_t len, struct logon_ad_result *res_r, char *err,
                   size_t errsize)
{
	struct ad_parse p = {.res = res_r, .err = err, .errsize = errsize};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	int rc;

	memset(res_r, 0, sizeof(*res_r));
	if (errsize > 0)
		err[0] = '\0';
	if (len == 0)
		return ad_fail(&p, "the response body is empty");
	if (len > AD_BODY_MAX)
		return ad_fail(&p, "the response body is larger than %u bytes", AD_BODY_MAX);
	xmlSetGenericErrorFunc(NULL, ad_silent);
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return ad_fail(&p, "out of memory");
	/* No XML_PARSE_NOENT (no substitution), no DTDLOAD / DTDATTR, no network. */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "autodiscover.xml", NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160];
		size_t n;

		snprintf(msg, sizeof(msg), "%s",
		         e != NULL && e->message != NULL ? e->message : "?");
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		rc = ad_fail(&p, "not well-formed XML: line %d: %s", e != NULL ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return rc;
	}
	rc = ad_parse_doc(&p, doc);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

const char *logon_ad_mailbox_url(const struct logon_ad_result *res, bool external)
{
	const char *first = external ? res->external_url : res->internal_url;
	const char *second = external ? res->internal_url : res->external_url;

	if (first[0] != '\0')
		return first;
	if (second[0] != '\0')
		return second;
	return NULL;
}
