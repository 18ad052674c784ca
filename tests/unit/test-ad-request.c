/*
 * test-ad-request.c: the Autodiscover POX request parser (src/autodiscover/ad-request.c,
 * [MS-OXDSCLI] 2.2.3, protocol.md 7.3): valid requests (Outlook's and exchangelib's exact
 * bytes among them), wrong namespaces and names, DOCTYPE attacks (billion laughs, external
 * entities) refused before any expansion, size and depth limits at their boundaries, encodings,
 * a truncation sweep, and libxml2 kept off stderr.
 */
#include "mbx-test.h"

#include <fcntl.h>
#include <unistd.h>

#include "mbx/autodiscover.h"

#define NS_REQ MBX_AD_NS_REQUEST
#define NS_OUT MBX_AD_NS_OUTLOOK
#define SCHEMA "<AcceptableResponseSchema>" NS_OUT "</AcceptableResponseSchema>"
#define REQ(inner) "<Autodiscover xmlns=\"" NS_REQ "\"><Request>" inner "</Request></Autodiscover>"

static struct mbx_ad_request q;
static char err[256];

static int parse_n(const char *body, size_t len)
{
	memset(&q, 0x5A, sizeof(q)); /* the parser must clear it */
	err[0] = 'X';
	err[1] = '\0';
	return mbx_ad_request_parse(body, len, &q, err, sizeof(err));
}

static int parse(const char *body)
{
	return parse_n(body, strlen(body));
}

/* Expects error code with err containing sub, and a cleared request. */
static void expect_fail(const char *body, size_t len, int code, const char *sub)
{
	int rc = parse_n(body, len);

	if (rc != code || strstr(err, sub) == NULL)
		fail_msg("expected %d \"%s\", got %d \"%s\"", code, sub, rc, err);
	assert_string_equal(q.email, "");
	assert_string_equal(q.legacy_dn, "");
	assert_string_equal(q.schema, "");
}

static void expect_fail_s(const char *body, int code, const char *sub)
{
	expect_fail(body, strlen(body), code, sub);
}

/* --- valid requests ---------------------------------------------------------------------- */

static void test_email(void **state)
{
	(void)state;
	assert_int_equal(parse(REQ("<EMailAddress>alice@contoso.com</EMailAddress>" SCHEMA)), 0);
	assert_string_equal(q.email, "alice@contoso.com");
	assert_string_equal(q.legacy_dn, "");
	assert_string_equal(q.schema, NS_OUT);
	assert_string_equal(err, "");
}

static void test_legacy_dn(void **state)
{
	(void)state;
	assert_int_equal(parse(REQ(SCHEMA "<LegacyDN>/o=Contoso/ou=Exchange Administrative Group "
	                                  "(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice</LegacyDN>")),
	                 0);
	assert_string_equal(q.email, "");
	assert_string_equal(q.legacy_dn, "/o=Contoso/ou=Exchange Administrative Group "
	                                 "(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice");
}

/* Both: the parser keeps both; the service uses LegacyDN (test-ad-server.c). */
static void test_both(void **state)
{
	(void)state;
	assert_int_equal(parse(REQ("<EMailAddress>dave@contoso.com</EMailAddress>"
	                           "<LegacyDN>/o=Contoso/cn=alice</LegacyDN>" SCHEMA)),
	                 0);
	assert_string_equal(q.email, "dave@contoso.com");
	assert_string_equal(q.legacy_dn, "/o=Contoso/cn=alice");
}

/* Outlook 2016's request as it sends it: pretty-printed with CRLF. */
static void test_outlook_exact(void **state)
{
	static const char body[] =
	        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	        "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
	        "requestschema/2006\">\r\n"
	        "  <Request>\r\n"
	        "    <EMailAddress>alice@contoso.com</EMailAddress>\r\n"
	        "    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
	        "outlook/responseschema/2006a</AcceptableResponseSchema>\r\n"
	        "  </Request>\r\n"
	        "</Autodiscover>\r\n";

	(void)state;
	assert_int_equal(parse(body), 0);
	assert_string_equal(q.email, "alice@contoso.com");
	assert_string_equal(q.schema, NS_OUT);
}

/* exchangelib 4.9.0's Autodiscover.payload(), byte for byte. */
static void test_exchangelib_exact(void **state)
{
	static const char body[] =
	        "<?xml version='1.0' encoding='utf-8'?>\n"
	        "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
	        "requestschema/2006\"><Request><EMailAddress>alice@contoso.com</EMailAddress>"
	        "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
	        "outlook/"
	        "responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";

	(void)state;
	assert_int_equal(parse(body), 0);
	assert_string_equal(q.email, "alice@contoso.com");
}

static void test_prefixed_namespace(void **state)
{
	(void)state;
	assert_int_equal(parse("<a:Autodiscover xmlns:a=\"" NS_REQ "\"><a:Request>"
	                       "<a:EMailAddress>bob@contoso.com</a:EMailAddress>"
	                       "<a:AcceptableResponseSchema>" NS_OUT "</a:AcceptableResponseSchema>"
	                       "</a:Request></a:Autodiscover>"),
	                 0);
	assert_string_equal(q.email, "bob@contoso.com");
}

static void test_whitespace_entities_cdata(void **state)
{
	(void)state;
	assert_int_equal(
	        parse(REQ("<EMailAddress>\r\n\t  a&amp;b&#x40;contoso.com \n</EMailAddress>"
	                  "<AcceptableResponseSchema> " NS_OUT "\n</AcceptableResponseSchema>")),
	        0);
	assert_string_equal(q.email, "a&b@contoso.com");
	assert_string_equal(q.schema, NS_OUT);
	assert_int_equal(
	        parse(REQ("<EMailAddress><![CDATA[c<d@contoso.com]]></EMailAddress>" SCHEMA)), 0);
	assert_string_equal(q.email, "c<d@contoso.com");
	/* Comments and unknown elements are ignored. */
	assert_int_equal(parse(REQ("<!-- x --><Extra>1</Extra><EMailAddress>e@x<!-- y -->.com"
	                           "</EMailAddress>" SCHEMA)),
	                 0);
	assert_string_equal(q.email, "e@x.com");
	/* A declared other encoding is ignored: the body is decoded as UTF-8. */
	assert_int_equal(parse("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>" REQ(
	                         "<EMailAddress>\xc3\xa9@x.com</EMailAddress>" SCHEMA)),
	                 0);
	assert_string_equal(q.email, "\xc3\xa9@x.com");
	/* A UTF-8 byte order mark is fine. */
	assert_int_equal(parse("\xef\xbb\xbf" REQ("<EMailAddress>f@x.com</EMailAddress>" SCHEMA)),
	                 0);
	assert_string_equal(q.email, "f@x.com");
}

/* --- names, namespaces, structure -------------------------------------------------------- */

static void test_wrong_namespace(void **state)
{
	(void)state;
	expect_fail_s("<Autodiscover xmlns=\"" MBX_AD_NS_RESPONSE "\"><Request><EMailAddress>a@b"
	              "</EMailAddress>" SCHEMA "</Request></Autodiscover>",
	              600, "root element is not Autodiscover");
	expect_fail_s("<Autodiscover xmlns=\"https://schemas.microsoft.com/exchange/autodiscover/"
	              "outlook/requestschema/2006\"><Request/></Autodiscover>",
	              600, "root element is not Autodiscover");
	expect_fail_s("<Autodiscover><Request><EMailAddress>a@b</EMailAddress>" SCHEMA
	              "</Request></Autodiscover>",
	              600, "root element is not Autodiscover");
	expect_fail_s("<autodiscover xmlns=\"" NS_REQ "\"><Request/></autodiscover>", 600,
	              "root element is not Autodiscover");
	/* Request outside the namespace, Request twice, no Request, text beside it. */
	expect_fail_s("<Autodiscover xmlns=\"" NS_REQ "\"><Request xmlns=\"\"><EMailAddress>a@b"
	              "</EMailAddress></Request></Autodiscover>",
	              600, "exactly one Request");
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress>" SCHEMA) "x", 600, "malformed XML");
	expect_fail_s("<Autodiscover xmlns=\"" NS_REQ
	              "\"><Request><EMailAddress>a@b</EMailAddress>" SCHEMA
	              "</Request><Request/></Autodiscover>",
	              600, "exactly one Request");
	expect_fail_s("<Autodiscover xmlns=\"" NS_REQ "\"/>", 600, "no Request element");
	expect_fail_s("<Autodiscover xmlns=\"" NS_REQ "\">hello<Request/></Autodiscover>", 600,
	              "exactly one Request");
}

static void test_names_exact(void **state)
{
	(void)state;
	/* "EmailAddress" (small m) is not EMailAddress: it is an unknown element. */
	expect_fail_s(REQ("<EmailAddress>a@b</EmailAddress>" SCHEMA), 600,
	              "no EMailAddress or LegacyDN");
	expect_fail_s(REQ("<LegacyDn>/o=x</LegacyDn>" SCHEMA), 600, "no EMailAddress or LegacyDN");
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress><AcceptableResponseschema>" NS_OUT
	                  "</AcceptableResponseschema>"),
	              600, "no AcceptableResponseSchema");
	expect_fail_s(REQ("<EMailAddress/>" SCHEMA), 600, "no EMailAddress or LegacyDN");
	expect_fail_s(REQ("<EMailAddress>  </EMailAddress>" SCHEMA), 600,
	              "no EMailAddress or LegacyDN");
	expect_fail_s(
	        REQ("<EMailAddress>a@b</EMailAddress><EMailAddress>c@d</EMailAddress>" SCHEMA), 600,
	        "EMailAddress appears twice");
	expect_fail_s(REQ("<EMailAddress>a@b<b>x</b></EMailAddress>" SCHEMA), 600,
	              "EMailAddress has child elements");
	expect_fail_s(REQ("<EMailAddress>a\tb@c</EMailAddress>" SCHEMA), 600,
	              "EMailAddress contains a control character");
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress>stray" SCHEMA), 600,
	              "text outside its elements");
	/* An element of another namespace with the right name is not ours. */
	expect_fail_s(REQ("<EMailAddress xmlns=\"urn:x\">a@b</EMailAddress>" SCHEMA), 600,
	              "no EMailAddress or LegacyDN");
}

static void test_schema(void **state)
{
	(void)state;
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress>"), 600, "no AcceptableResponseSchema");
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress><AcceptableResponseSchema/>"), 600,
	              "no AcceptableResponseSchema");
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress><AcceptableResponseSchema>"
	                  "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
	                  "responseschema/2006</AcceptableResponseSchema>"),
	              601, "mobilesync");
	expect_fail_s(REQ("<EMailAddress>a@b</EMailAddress><AcceptableResponseSchema>"
	                  "https://schemas.microsoft.com/exchange/autodiscover/outlook/"
	                  "responseschema/2006a</AcceptableResponseSchema>"),
	              601, "is not " NS_OUT);
}

/* --- DOCTYPE and entities ---------------------------------------------------------------- */

static void test_billion_laughs(void **state)
{
	static const char body[] =
	        "<?xml version=\"1.0\"?>\n"
	        "<!DOCTYPE lolz [\n"
	        " <!ENTITY lol \"lol\">\n"
	        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	        "]>\n"
	        "<Autodiscover xmlns=\"" NS_REQ
	        "\"><Request><EMailAddress>&lol9;@x</EMailAddress>" SCHEMA
	        "</Request></Autodiscover>";
	struct timespec t0, t1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_fail_s(body, 600, "a DOCTYPE is not allowed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Refused before any expansion: well under a second even with sanitizers. */
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_null(strstr(err, "lol"));
}

static void test_external_entity(void **state)
{
	(void)state;
	expect_fail_s("<?xml version=\"1.0\"?><!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM "
	              "\"file:///etc/passwd\">]>" REQ("<EMailAddress>&xxe;</EMailAddress>" SCHEMA),
	              600, "a DOCTYPE is not allowed");
	assert_null(strstr(err, "root"));
	/* An external DTD alone, and a parameter entity. */
	expect_fail_s("<!DOCTYPE Autodiscover SYSTEM \"file:///etc/passwd\">" REQ(
	                      "<EMailAddress>a@b</EMailAddress>" SCHEMA),
	              600, "a DOCTYPE is not allowed");
	expect_fail_s("<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x.dtd\"> %p;]>" REQ(
	                      "<EMailAddress>a@b</EMailAddress>" SCHEMA),
	              600, "a DOCTYPE is not allowed");
	/* No DTD: an entity reference is undefined, hence malformed. */
	expect_fail_s(REQ("<EMailAddress>&xxe;</EMailAddress>" SCHEMA), 600, "malformed XML");
	assert_non_null(strstr(err, "xxe"));
}

/* --- limits ---------------------------------------------------------------------------- */

/* A valid request of exactly len bytes (padded with a comment). */
static char *sized_request(size_t len)
{
	static const char head[] = REQ("<EMailAddress>a@b.com</EMailAddress>" SCHEMA) "<!--";
	char *b = malloc(len + 1);

	assert_non_null(b);
	assert_true(len >= sizeof(head) - 1 + 3);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'x', len - (sizeof(head) - 1) - 3);
	memcpy(b + len - 3, "-->", 3);
	b[len] = '\0';
	return b;
}

static void test_body_size(void **state)
{
	char *b;

	(void)state;
	b = sized_request(MBX_AD_BODY_MAX);
	assert_int_equal(parse_n(b, MBX_AD_BODY_MAX), 0);
	assert_string_equal(q.email, "a@b.com");
	free(b);
	b = sized_request(MBX_AD_BODY_MAX + 1);
	expect_fail(b, MBX_AD_BODY_MAX + 1, 600, "65537 bytes is over the limit of 65536");
	free(b);
	b = sized_request(4u * 1024 * 1024);
	expect_fail(b, 4u * 1024 * 1024, 600, "over the limit");
	free(b);
	expect_fail("", 0, 600, "empty body");
	expect_fail(NULL, 10, 600, "empty body");
}

static void test_address_size(void **state)
{
	char body[4096], addr[MBX_AD_ADDR_MAX + 2];

	(void)state;
	memset(addr, 'a', sizeof(addr));
	addr[MBX_AD_ADDR_MAX - 2] = '@';
	addr[MBX_AD_ADDR_MAX] = '\0';
	snprintf(body, sizeof(body), REQ("<EMailAddress>%s</EMailAddress>" SCHEMA), addr);
	assert_int_equal(parse(body), 0);
	assert_int_equal(strlen(q.email), MBX_AD_ADDR_MAX);
	addr[MBX_AD_ADDR_MAX] = 'a';
	addr[MBX_AD_ADDR_MAX + 1] = '\0';
	snprintf(body, sizeof(body), REQ("<LegacyDN>%s</LegacyDN>" SCHEMA), addr);
	expect_fail_s(body, 600, "LegacyDN is too long");
	/* The schema buffer has its own bound. */
	memset(addr, 'h', 300);
	addr[300] = '\0';
	snprintf(body, sizeof(body),
	         REQ("<EMailAddress>a@b</EMailAddress><AcceptableResponseSchema>%s"
	             "</AcceptableResponseSchema>"),
	         addr);
	expect_fail_s(body, 600, "AcceptableResponseSchema is too long");
}

static char *nested(unsigned extra)
{
	size_t cap = 1024 + (size_t)extra * 8;
	char *b = malloc(cap);
	size_t n;

	assert_non_null(b);
	n = (size_t)snprintf(b, cap,
	                     "<Autodiscover xmlns=\"" NS_REQ "\"><Request>"
	                     "<EMailAddress>a@b</EMailAddress>" SCHEMA);
	for (unsigned i = 0; i < extra; i++)
		n += (size_t)snprintf(b + n, cap - n, "<x>");
	for (unsigned i = 0; i < extra; i++)
		n += (size_t)snprintf(b + n, cap - n, "</x>");
	snprintf(b + n, cap - n, "</Request></Autodiscover>");
	return b;
}

static void test_depth(void **state)
{
	char *b;

	(void)state;
	b = nested(14); /* Autodiscover, Request and 14 more: 16 */
	assert_int_equal(parse(b), 0);
	free(b);
	b = nested(15);
	expect_fail_s(b, 600, "nested too deeply");
	free(b);
	b = nested(5000);
	expect_fail_s(b, 600, "nested too deeply");
	free(b);
}

static void test_not_utf8(void **state)
{
	static const char utf16le[] = "\xff\xfe<\0A\0u\0t\0o\0/\0>\0";

	(void)state;
	expect_fail_s(REQ("<EMailAddress>\xe9@x.com</EMailAddress>" SCHEMA), 600,
	              "not proper UTF-8");
	expect_fail_s("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>" REQ(
	                      "<EMailAddress>\xe9@x.com</EMailAddress>" SCHEMA),
	              600, "not proper UTF-8");
	expect_fail(utf16le, sizeof(utf16le) - 1, 600, "malformed XML");
	/* An overlong encoding and a surrogate. */
	expect_fail_s(REQ("<EMailAddress>\xc0\xaf@x</EMailAddress>" SCHEMA), 600, "malformed XML");
	expect_fail_s(REQ("<EMailAddress>\xed\xa0\x80@x</EMailAddress>" SCHEMA), 600,
	              "malformed XML");
	/* NUL inside the body. */
	expect_fail(REQ("<EMailAddress>a\0b@x</EMailAddress>" SCHEMA),
	            sizeof(REQ("<EMailAddress>a\0b@x</EMailAddress>" SCHEMA)) - 1, 600,
	            "malformed XML");
}

static void test_truncation_sweep(void **state)
{
	static const char body[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	                           "<Autodiscover xmlns=\"" NS_REQ "\">\r\n"
	                           "  <Request>\r\n"
	                           "    <LegacyDN>/o=Contoso/cn=Recipients/cn=alice</LegacyDN>\r\n"
	                           "    " SCHEMA "\r\n"
	                           "  </Request>\r\n"
	                           "</Autodiscover>";
	size_t n = sizeof(body) - 1;

	(void)state;
	assert_int_equal(parse_n(body, n), 0);
	for (size_t len = 0; len < n; len++) {
		int rc = parse_n(body, len);

		if (rc != 600)
			fail_msg("prefix of %zu bytes: %d %s", len, rc, err);
		assert_true(err[0] != '\0');
		assert_string_equal(q.legacy_dn, "");
	}
}

/* The reason is one printable line, whatever the client sent. */
static void test_err_log_safe(void **state)
{
	static const char *const bodies[] = {
	        "<Autodiscover xmlns=\"" NS_REQ "\"><\xc3\xa9\x01",
	        "<\"\\\xff>",
	        REQ("<EMailAddress>a@b</EMailAddress><AcceptableResponseSchema>\xc3\xa9\"x"
	            "</AcceptableResponseSchema>"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_not_equal(parse(bodies[i]), 0);
		for (const char *p = err; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				fail_msg("byte 0x%02x in \"%s\"", (unsigned char)*p, err);
	}
}

/* libxml2 writes nothing to stderr, whatever it is fed. */
static void test_no_stderr(void **state)
{
	char path[] = "/tmp/test-ad-request.XXXXXX";
	int fd = mkstemp(path), saved;
	off_t size;

	(void)state;
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	parse("<a><b></a>");
	parse("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>");
	parse("\xff\xfe\x00");
	parse("<a>&undefined;</a>");
	parse(REQ("<EMailAddress>\xe9</EMailAddress>"));
	parse("<?xml version=\"1.0\" encoding=\"bogus-charset\"?><a/>");
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);
	assert_int_equal(size, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_email),
	        cmocka_unit_test(test_legacy_dn),
	        cmocka_unit_test(test_both),
	        cmocka_unit_test(test_outlook_exact),
	        cmocka_unit_test(test_exchangelib_exact),
	        cmocka_unit_test(test_prefixed_namespace),
	        cmocka_unit_test(test_whitespace_entities_cdata),
	        cmocka_unit_test(test_wrong_namespace),
	        cmocka_unit_test(test_names_exact),
	        cmocka_unit_test(test_schema),
	        cmocka_unit_test(test_billion_laughs),
	        cmocka_unit_test(test_external_entity),
	        cmocka_unit_test(test_body_size),
	        cmocka_unit_test(test_address_size),
	        cmocka_unit_test(test_depth),
	        cmocka_unit_test(test_not_utf8),
	        cmocka_unit_test(test_truncation_sweep),
	        cmocka_unit_test(test_err_log_safe),
	        cmocka_unit_test(test_no_stderr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
