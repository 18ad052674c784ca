/*
 * ad-request.c: the Autodiscover POX request parser ([MS-OXDSCLI] 2.2.3, protocol.md 7.3).
 * Pure: bytes in, struct mbx_ad_request out.
 *
 * The body is untrusted XML, so libxml2 runs with every door shut:
 *   - the size is checked before libxml2 sees a byte (MBX_AD_BODY_MAX);
 *   - the document is decoded as UTF-8 whatever it declares (protocol.md 7.1), so bytes that
 *     are not UTF-8 are a well-formedness error;
 *   - XML_PARSE_NONET, no XML_PARSE_NOENT (entities are never substituted), no DTD loading
 *     or validation, and a SAX hook that stops the parser at the first DOCTYPE or entity
 *     declaration: no internal subset is ever read, so neither entity expansion ("billion
 *     laughs") nor an external entity (file:///etc/passwd) can happen;
 *   - a SAX hook that stops the parser past MBX_AD_DEPTH_MAX nested elements;
 *   - libxml2's errors go to a structured handler of this parse (the parser context's and,
 *     for the errors raised without a context, the thread's, restored afterwards), never to
 *     stderr; the first one becomes the reason.
 * The tree must then be exactly: root Autodiscover in the request namespace, one Request child
 * in it, and under Request the elements EMailAddress, LegacyDN and AcceptableResponseSchema
 * (exact names and namespace, each at most once, text only). Other elements are ignored.
 */
#include "mbx/autodiscover.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "mbx/errbuf.h"
#include "mbx/log.h"

#define MBX_AD_DEPTH_MAX 16u /* nested elements; the request needs 3 */

struct ad_parse {
	xmlParserCtxtPtr ctxt;
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
	unsigned depth;
	const char *refused; /* static: why a hook stopped the parser */
	char xmlerr[160];    /* libxml2's first error */
};

static void ad_refuse(struct ad_parse *p, const char *why)
{
	if (p->refused == NULL)
		p->refused = why;
	xmlStopParser(p->ctxt);
}

static struct ad_parse *ad_state(void *ctx)
{
	xmlParserCtxtPtr ctxt = ctx;

	return ctxt != NULL ? ctxt->_private : NULL;
}

static void ad_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
	(void)name;
	(void)ext_id;
	(void)sys_id;
	ad_refuse(ad_state(ctx), "a DOCTYPE is not allowed");
}

static void ad_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	ad_refuse(ad_state(ctx), "an entity declaration is not allowed");
}

static void ad_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
	struct ad_parse *p = ad_state(ctx);

	if (++p->depth > MBX_AD_DEPTH_MAX) {
		ad_refuse(p, "elements nested too deeply");
		return;
	}
	p->start(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
	         nb_defaulted, attributes);
}

static void ad_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct ad_parse *p = ad_state(ctx);

	if (p->depth > 0)
		p->depth--;
	p->end(ctx, localname, prefix, uri);
}

/* libxml2's structured errors: keep the first error's message, one line. */
static void ad_keep_error(struct ad_parse *p, const xmlError *e)
{
	char raw[160];
	size_t n;

	if (p == NULL || e == NULL || p->xmlerr[0] != '\0' || e->level < XML_ERR_ERROR)
		return;
	snprintf(raw, sizeof(raw), "line %d: %s", e->line,
	         e->message != NULL ? e->message : "error");
	n = strcspn(raw, "\r\n");
	while (n > 0 && raw[n - 1] == ' ')
		n--;
	/* The message may quote the client's bytes (tag names): escaped for the log. */
	mbx_log_escape(raw, n, p->xmlerr, sizeof(p->xmlerr));
}

/* The parser's errors: called with the context's userData, the parser context. */
static void ad_ctxt_error(void *ctx, xmlErrorPtr e)
{
	ad_keep_error(ad_state(ctx), e);
}

/* Errors raised without a parser context: called with our state. */
static void ad_thread_error(void *ctx, xmlErrorPtr e)
{
	ad_keep_error(ctx, e);
}

static bool ad_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	       strcmp((const char *)n->ns->href, MBX_AD_NS_REQUEST) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

static bool ad_blank(const xmlChar *s)
{
	for (; s != NULL && *s != 0; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

/* The text of element n, XML whitespace trimmed, into out (size bytes, so at most size - 1
 * bytes of text). Returns 0, or -1 with a reason. */
static int ad_text(const xmlNode *n, char *out, size_t size, const char **why)
{
	size_t len = 0, start = 0;

	out[0] = '\0';
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		size_t k;

		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
			*why = "has child elements";
			return -1;
		}
		k = c->content != NULL ? strlen((const char *)c->content) : 0;
		if (size - 1 - len < k) {
			*why = "is too long"; /* surrounding blanks included */
			return -1;
		}
		memcpy(out + len, c->content, k);
		len += k;
		out[len] = '\0';
	}
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\r' ||
	                   out[len - 1] == '\n'))
		out[--len] = '\0';
	while (start < len && (out[start] == ' ' || out[start] == '\t' || out[start] == '\r' ||
	                       out[start] == '\n'))
		start++;
	memmove(out, out + start, len - start + 1);
	len -= start;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)out[i] < 0x20) {
			*why = "contains a control character";
			return -1;
		}
	}
	return 0;
}

/* The tree: Autodiscover / Request / {EMailAddress, LegacyDN, AcceptableResponseSchema}. */
static int ad_walk(const xmlDoc *doc, struct mbx_ad_request *req, char *err, size_t errsize)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *request = NULL;
	bool seen_email = false, seen_dn = false, seen_schema = false;

	if (root == NULL || !ad_is(root, "Autodiscover")) {
		mbx_errbuf_set(err, errsize,
		               "the root element is not Autodiscover in the namespace %s",
		               MBX_AD_NS_REQUEST);
		return MBX_AD_ERR_INVALID;
	}
	for (const xmlNode *c = root->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE && ad_blank(c->content))
			continue;
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (!ad_is(c, "Request") || request != NULL) {
			mbx_errbuf_set(
			        err, errsize,
			        "Autodiscover must hold exactly one Request element and nothing "
			        "else");
			return MBX_AD_ERR_INVALID;
		}
		request = c;
	}
	if (request == NULL) {
		mbx_errbuf_set(err, errsize, "no Request element");
		return MBX_AD_ERR_INVALID;
	}
	for (const xmlNode *c = request->children; c != NULL; c = c->next) {
		char *out;
		size_t size;
		bool *seen;
		const char *what, *why = NULL;

		if (c->type == XML_TEXT_NODE && ad_blank(c->content))
			continue;
		if (c->type != XML_ELEMENT_NODE) {
			if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
				continue;
			mbx_errbuf_set(err, errsize, "Request holds text outside its elements");
			return MBX_AD_ERR_INVALID;
		}
		if (ad_is(c, "EMailAddress")) {
			out = req->email, size = sizeof(req->email), seen = &seen_email;
			what = "EMailAddress";
		} else if (ad_is(c, "LegacyDN")) {
			out = req->legacy_dn, size = sizeof(req->legacy_dn), seen = &seen_dn;
			what = "LegacyDN";
		} else if (ad_is(c, "AcceptableResponseSchema")) {
			out = req->schema, size = sizeof(req->schema), seen = &seen_schema;
			what = "AcceptableResponseSchema";
		} else {
			continue; /* an element we do not know: ignored */
		}
		if (*seen) {
			mbx_errbuf_set(err, errsize, "%s appears twice", what);
			return MBX_AD_ERR_INVALID;
		}
		*seen = true;
		if (ad_text(c, out, size, &why) != 0) {
			mbx_errbuf_set(err, errsize, "%s %s", what, why);
			return MBX_AD_ERR_INVALID;
		}
	}
	if (req->email[0] == '\0' && req->legacy_dn[0] == '\0') {
		mbx_errbuf_set(err, errsize, "no EMailAddress or LegacyDN");
		return MBX_AD_ERR_INVALID;
	}
	if (!seen_schema || req->schema[0] == '\0') {
		mbx_errbuf_set(err, errsize, "no AcceptableResponseSchema");
		return MBX_AD_ERR_INVALID;
	}
	if (strcmp(req->schema, MBX_AD_NS_OUTLOOK) != 0) {
		char esc[128];

		mbx_errbuf_set(err, errsize, "AcceptableResponseSchema \"%s\" is not %s",
		               mbx_log_escape(req->schema, strlen(req->schema), esc, sizeof(esc)),
		               MBX_AD_NS_OUTLOOK);
		return MBX_AD_ERR_SCHEMA;
	}
	return 0;
}

int mbx_ad_request_parse(const char *body, size_t len, struct mbx_ad_request *req_r, char *err,
                         size_t errsize)
{
	struct ad_parse p;
	xmlDocPtr doc;
	xmlStructuredErrorFunc saved_fn;
	void *saved_ctx;
	int rc;

	memset(req_r, 0, sizeof(*req_r));
	mbx_errbuf_set(err, errsize, "%s", "");
	if (body == NULL || len == 0) {
		mbx_errbuf_set(err, errsize, "empty body");
		return MBX_AD_ERR_INVALID;
	}
	if (len > MBX_AD_BODY_MAX) {
		mbx_errbuf_set(err, errsize, "body of %zu bytes is over the limit of %u bytes", len,
		               MBX_AD_BODY_MAX);
		return MBX_AD_ERR_INVALID;
	}
	memset(&p, 0, sizeof(p));
	xmlInitParser();
	p.ctxt = xmlNewParserCtxt();
	if (p.ctxt == NULL) {
		mbx_errbuf_set(err, errsize, "out of memory");
		return MBX_AD_ERR_INVALID;
	}
	p.ctxt->_private = &p;
	p.start = p.ctxt->sax->startElementNs;
	p.end = p.ctxt->sax->endElementNs;
	p.ctxt->sax->startElementNs = ad_start;
	p.ctxt->sax->endElementNs = ad_end;
	p.ctxt->sax->internalSubset = ad_internal_subset;
	p.ctxt->sax->externalSubset = ad_internal_subset;
	p.ctxt->sax->entityDecl = ad_entity_decl;
	p.ctxt->sax->serror = ad_ctxt_error;
	p.ctxt->sax->warning = NULL;
	p.ctxt->sax->error = NULL;
	p.ctxt->sax->fatalError = NULL;
	p.ctxt->vctxt.error = NULL;
	p.ctxt->vctxt.warning = NULL;
	/* Errors raised without the context (encoding, memory) go to the thread's handler. */
	saved_fn = xmlStructuredError;
	saved_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&p, ad_thread_error);
	doc = xmlCtxtReadMemory(p.ctxt, body, (int)len, "autodiscover.xml", "UTF-8",
	                        XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS |
	                                XML_PARSE_IGNORE_ENC);
	xmlSetStructuredErrorFunc(saved_ctx, saved_fn);
	if (p.refused != NULL || doc == NULL || !p.ctxt->wellFormed) {
		if (p.refused != NULL)
			mbx_errbuf_set(err, errsize, "%s", p.refused);
		else
			mbx_errbuf_set(err, errsize, "malformed XML: %s",
			               p.xmlerr[0] != '\0' ? p.xmlerr : "not well-formed");
		rc = MBX_AD_ERR_INVALID;
	} else if (doc->intSubset != NULL || doc->extSubset != NULL) {
		mbx_errbuf_set(err, errsize,
		               "a DOCTYPE is not allowed"); /* not reached: the hook */
		rc = MBX_AD_ERR_INVALID;
	} else {
		rc = ad_walk(doc, req_r, err, errsize);
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(p.ctxt);
	if (rc != 0)
		memset(req_r, 0, sizeof(*req_r));
	return rc;
}
