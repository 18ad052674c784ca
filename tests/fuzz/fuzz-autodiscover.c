/*
 * fuzz-autodiscover.c: libFuzzer harness for Autodiscover POX ([MS-OXDSCLI] 2.2.3, 2.2.4;
 * protocol.md 7): src/autodiscover/ad-request.c and ad-response.c.
 *
 * 1. The input is a request body for mbx_ad_request_parse, the function the daemon calls. On
 *    success every field must be NUL-terminated within its bound, free of control characters,
 *    one of EMailAddress / LegacyDN non-empty, and the schema the Outlook one; on failure the
 *    code must be 600 or 601, the request cleared and the reason one printable line.
 * 2. The input, cut at NUL bytes into strings, feeds every response writer; each document must
 *    parse back with libxml2 as well-formed XML, and a string of plain ASCII must come back
 *    unchanged as the element's text (the escaping round trip).
 * Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "mbx/autodiscover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-autodiscover: %s: %s\n", what, detail != NULL ? detail : "");
	abort();
}

static void quiet(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

static void check_field(const char *f, size_t size, bool allow_empty)
{
	size_t n = strnlen(f, size);

	if (n == size)
		die("field not terminated", NULL);
	if (!allow_empty && n == 0)
		die("empty field", NULL);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20)
			die("control character in field", f);
}

static void check_parse(const char *body, size_t len)
{
	struct mbx_ad_request q;
	char err[256];
	int rc = mbx_ad_request_parse(body, len, &q, err, sizeof(err));

	check_field(q.email, sizeof(q.email), true);
	check_field(q.legacy_dn, sizeof(q.legacy_dn), true);
	check_field(q.schema, sizeof(q.schema), true);
	if (rc == 0) {
		if (q.email[0] == '\0' && q.legacy_dn[0] == '\0')
			die("success without an address", NULL);
		if (strcmp(q.schema, MBX_AD_NS_OUTLOOK) != 0)
			die("success with another schema", q.schema);
		return;
	}
	if (rc != MBX_AD_ERR_INVALID && rc != MBX_AD_ERR_SCHEMA)
		die("unexpected code", err);
	if (q.email[0] != '\0' || q.legacy_dn[0] != '\0' || q.schema[0] != '\0')
		die("failure left fields set", err);
	if (err[0] == '\0')
		die("failure without a reason", NULL);
	for (const char *p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			die("reason not printable ASCII", err);
}

static bool plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') ||
		    (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* The text of the first element named name anywhere under n, or NULL (xmlFree it). */
static xmlChar *find_text(xmlNode *n, const char *name)
{
	for (; n != NULL; n = n->next) {
		xmlChar *t;

		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return xmlNodeGetContent(n);
		t = find_text(n->children, name);
		if (t != NULL)
			return t;
	}
	return NULL;
}

/* The document must be well-formed; if want is plain ASCII, element name must hold it. */
static void check_doc(char *xml, size_t len, const char *name, const char *want)
{
	xmlDocPtr doc;
	xmlChar *t;

	if (xml == NULL)
		die("writer returned NULL", name);
	if (strlen(xml) != len)
		die("length mismatch", name);
	doc = xmlReadMemory(xml, (int)len, "out.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		die("output not well-formed", xml);
	if (want != NULL && plain_ascii(want)) {
		t = find_text(xmlDocGetRootElement(doc), name);
		if (t == NULL || strcmp((const char *)t, want) != 0)
			die("text did not round-trip", xml);
		xmlFree(t);
	}
	xmlFreeDoc(doc);
	free(xml);
}

static void check_writers(const char *const s[4])
{
	struct mbx_ad_settings st = {0};
	struct timespec now = {1700000000, 123456789};
	size_t len = 0;

	st.display_name = s[0];
	st.legacy_dn = s[1];
	st.smtp = s[2];
	st.mapihttp_version = 1;
	st.mailstore_url = s[3];
	check_doc(mbx_ad_response_settings(&st, &len), len, "DisplayName", s[0]);
	st.mapihttp_version = 0;
	st.exch_server = s[3];
	st.server_dn = s[1];
	st.mdb_dn = s[2];
	st.expr_server = s[0];
	check_doc(mbx_ad_response_settings(&st, &len), len, "ServerDN", s[1]);
	check_doc(mbx_ad_response_redirect_url(s[0], &len), len, "RedirectUrl", s[0]);
	check_doc(mbx_ad_response_redirect_addr(s[1], &len), len, "RedirectAddr", s[1]);
	check_doc(mbx_ad_response_error(600, s[2], &now, mbx_ad_server_id(s[3]), &len), len,
	          s[2][0] != '\0' ? "DebugData" : "ErrorCode", s[2][0] != '\0' ? s[2] : "600");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	char *copy;
	const char *s[4];
	size_t off = 0;

	if (!init) {
		xmlInitParser();
		xmlSetGenericErrorFunc(NULL, NULL);
		xmlSetStructuredErrorFunc(NULL, quiet);
		init = true;
	}
	check_parse((const char *)data, size);

	/* Four strings cut at NUL bytes (missing ones are ""). */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	copy[size] = '\0';
	for (int i = 0; i < 4; i++) {
		s[i] = copy + off;
		off += strlen(copy + off);
		if (off < size)
			off++;
	}
	check_writers(s);
	free(copy);
	return 0;
}
