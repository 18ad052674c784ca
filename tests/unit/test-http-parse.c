/*
 * test-http-parse.c: the request syntax of mbxstore's HTTP/1.1 server (src/mapihttp/http-parse.c;
 * RFC 9112 2-3, 5-7, RFC 9110 5.6, 8.6, 10.1.1): valid heads as Outlook and curl send them,
 * every refusal with its status and reason, the end of the head at every split point,
 * truncation sweeps, field lookups and the path of a target. The chunked decoder has
 * test-http-parse-chunked.c.
 */
#include "mbx-test.h"

#include "mapihttp/http-parse.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* Parses text[0..len) from a malloc'd copy of exactly len bytes (ASan sees any overrun). The
 * copy is returned in *copy_r (to be freed) so that h's strings stay valid. */
static int parse_n(const char *text, size_t len, struct mbx_http_head *h, const char **why_r,
                   char **copy_r)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = mbx_http_parse_head(copy, len, h, why_r);
	if (rc == 0)
		assert_null(*why_r);
	else
		assert_non_null(*why_r);
	*copy_r = copy;
	return rc;
}

/* A whole head: head_end must find its end exactly at its length. */
static int parse(const char *text, struct mbx_http_head *h, const char **why_r, char **copy_r)
{
	size_t len = strlen(text);

	assert_int_equal(mbx_http_head_end(text, len), len);
	return parse_n(text, len, h, why_r, copy_r);
}

static void expect_ok(const char *text, struct mbx_http_head *h, char **copy_r)
{
	const char *why = "unset";
	int rc = parse(text, h, &why, copy_r);

	if (rc != 0)
		fail_msg("refused with %d (%s): %s", rc, why, text);
}

static void expect_refused_n(const char *text, size_t len, int status, const char *why_part)
{
	struct mbx_http_head h;
	const char *why = NULL;
	char *copy;
	int rc = parse_n(text, len, &h, &why, &copy);

	if (rc != status || strstr(why, why_part) == NULL)
		fail_msg("expected %d \"%s\", got %d \"%s\" for: %.*s", status, why_part, rc,
		         why != NULL ? why : "(null)", (int)len, text);
	free(copy);
}

static void expect_refused(const char *text, int status, const char *why_part)
{
	assert_int_equal(mbx_http_head_end(text, strlen(text)), strlen(text));
	expect_refused_n(text, strlen(text), status, why_part);
}

static const char outlook_head[] =
	"POST /mapi/emsmdb/?MailboxId=1b2c3d4e@example.com HTTP/1.1\r\n"
	"Host: mail.example.com\r\n"
	"Content-Type: application/mapi-http\r\n"
	"User-Agent: Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.14326; Pro)\r\n"
	"X-RequestType: Execute\r\n"
	"X-ClientInfo: {2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}-8\r\n"
	"X-RequestId: {E2EA6C1C-E61B-4640-AF1F-0F55B1DD4E5D}:123\r\n"
	"X-ClientApplication: Outlook/16.0.14326.20404\r\n"
	"Authorization: Basic dXNlckBleGFtcGxlLmNvbTpzZWNyZXQ=\r\n"
	"Cookie: MapiContext=4f2a; MapiSequence=9-3\r\n"
	"Accept: */*\r\n"
	"Content-Length: 1234\r\n"
	"Connection: Keep-Alive\r\n"
	"\r\n";

static const char curl_head[] = "GET /autodiscover/autodiscover.xml HTTP/1.1\r\n"
                                "Host: localhost:8443\r\n"
                                "User-Agent: curl/8.5.0\r\n"
                                "Accept: */*\r\n"
                                "\r\n";

static const char lf_head[] = "\n\r\nPUT /x HTTP/1.1\nHost: h\r\nTransfer-Encoding: chunked\n"
                              "Expect: 100-Continue\n\n";

/* ---- valid heads ------------------------------------------------------------------------- */

static void test_outlook_post(void **state)
{
	struct mbx_http_head h;
	char *copy;

	(void)state;
	expect_ok(outlook_head, &h, &copy);
	assert_int_equal(h.method, MBX_HTTP_POST);
	assert_string_equal(h.method_name, "POST");
	assert_string_equal(h.target, "/mapi/emsmdb/?MailboxId=1b2c3d4e@example.com");
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.nfields, 12);
	assert_string_equal(h.fields[0].name, "Host");
	assert_int_equal(h.fields[0].name_len, 4);
	assert_string_equal(h.fields[0].value, "mail.example.com");
	assert_int_equal(h.fields[0].value_len, 16);
	assert_string_equal(h.fields[3].name, "X-RequestType");
	assert_string_equal(h.fields[3].value, "Execute");
	assert_string_equal(h.fields[2].value,
	                    "Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.14326; Pro)");
	assert_string_equal(h.fields[8].value, "MapiContext=4f2a; MapiSequence=9-3");
	assert_string_equal(h.fields[11].name, "Connection");
	for (size_t i = 0; i < h.nfields; i++) {
		assert_int_equal(strlen(h.fields[i].name), h.fields[i].name_len);
		assert_int_equal(strlen(h.fields[i].value), h.fields[i].value_len);
		/* the strings point into the caller's buffer */
		assert_true(h.fields[i].value > copy &&
		            h.fields[i].value < copy + strlen(outlook_head));
	}
	assert_true(h.has_length);
	assert_int_equal(h.content_length, 1234);
	assert_false(h.chunked);
	assert_true(h.keep_alive);
	assert_false(h.expect_continue);
	assert_string_equal(mbx_http_head_field(&h, "x-requesttype"), "Execute");
	assert_string_equal(mbx_http_head_field(&h, "X-CLIENTINFO"),
	                    "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}-8");
	free(copy);
}

static void test_curl_get(void **state)
{
	struct mbx_http_head h;
	char *copy;

	(void)state;
	expect_ok(curl_head, &h, &copy);
	assert_int_equal(h.method, MBX_HTTP_GET);
	assert_string_equal(h.target, "/autodiscover/autodiscover.xml");
	assert_int_equal(h.nfields, 3);
	assert_false(h.has_length);
	assert_false(h.chunked);
	assert_true(h.keep_alive);
	assert_string_equal(mbx_http_head_field(&h, "host"), "localhost:8443");
	free(copy);
}

/* LF-only lines mixed with CRLF, leading empty lines, chunked, 100-continue in any case */
static void test_lf_lines_leading_empty(void **state)
{
	struct mbx_http_head h;
	char *copy;

	(void)state;
	expect_ok(lf_head, &h, &copy);
	assert_int_equal(h.method, MBX_HTTP_PUT);
	assert_string_equal(h.method_name, "PUT");
	assert_string_equal(h.target, "/x");
	assert_int_equal(h.nfields, 3);
	assert_string_equal(h.fields[0].value, "h");
	assert_true(h.chunked);
	assert_false(h.has_length);
	assert_true(h.expect_continue);
	assert_true(h.keep_alive);
	free(copy);
}

static void test_absolute_form(void **state)
{
	struct mbx_http_head h;
	char path[64], *copy;

	(void)state;
	expect_ok("GET HTTPS://Mail.Example.com:443/mapi/nspi/?a=b HTTP/1.1\r\nHost: x\r\n\r\n", &h,
	          &copy);
	assert_string_equal(h.target, "HTTPS://Mail.Example.com:443/mapi/nspi/?a=b");
	assert_int_equal(mbx_http_target_path(h.target, path, sizeof(path)), 11);
	assert_string_equal(path, "/mapi/nspi/");
	free(copy);
}

static void test_versions(void **state)
{
	struct mbx_http_head h;
	char *copy;

	(void)state;
	/* HTTP/1.0: never kept alive; Expect: 100-continue ignored (RFC 9110 10.1.1) */
	expect_ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n", &h,
	          &copy);
	assert_int_equal(h.minor, 0);
	assert_false(h.keep_alive);
	assert_false(h.expect_continue);
	free(copy);
	/* a minor above 1 is served as 1.1 */
	expect_ok("GET / HTTP/1.2\r\n\r\n", &h, &copy);
	assert_int_equal(h.minor, 1);
	assert_true(h.keep_alive);
	assert_int_equal(h.nfields, 0);
	free(copy);
	expect_ok("GET / HTTP/1.9\n\n", &h, &copy);
	assert_int_equal(h.minor, 1);
	free(copy);
}

static void test_values_and_connection(void **state)
{
	struct mbx_http_head h;
	char *copy;

	(void)state;
	expect_ok("GET / HTTP/1.1\r\nA:   a b \t \r\nB:\r\nC: \t\r\nD:x\r\n"
	          "E: caf\xc3\xa9 \"q\" (c)\r\nF:\ttab\tinside\r\n"
	          "Connection: keep-alive, , Upgrade,CLOSE ,\r\n"
	          "Content-Length: 7\r\ncontent-length: 007\r\n\r\n",
	          &h, &copy);
	assert_int_equal(h.nfields, 9);
	assert_string_equal(h.fields[0].value, "a b");
	assert_int_equal(h.fields[0].value_len, 3);
	assert_string_equal(h.fields[1].value, "");
	assert_int_equal(h.fields[1].value_len, 0);
	assert_string_equal(h.fields[2].value, "");
	assert_string_equal(h.fields[3].value, "x");
	assert_string_equal(h.fields[4].value, "caf\xc3\xa9 \"q\" (c)");
	assert_string_equal(h.fields[5].value, "tab\tinside");
	assert_false(h.keep_alive);
	assert_true(h.has_length);
	assert_int_equal(h.content_length, 7);
	free(copy);
	/* a Connection list without close keeps the connection; the largest Content-Length */
	expect_ok("GET / HTTP/1.1\r\nConnection: Upgrade, closed\r\n"
	          "Content-Length: 9007199254740992\r\n\r\n",
	          &h, &copy);
	assert_true(h.keep_alive);
	assert_int_equal(h.content_length, (uint64_t)1 << 53);
	free(copy);
	expect_ok("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &h, &copy);
	assert_true(h.has_length);
	assert_int_equal(h.content_length, 0);
	free(copy);
}

static void test_methods(void **state)
{
	static const struct {
		const char *name;
		enum mbx_http_method m;
	} v[] = {
		{"GET", MBX_HTTP_GET},         {"HEAD", MBX_HTTP_HEAD},
		{"POST", MBX_HTTP_POST},       {"PUT", MBX_HTTP_PUT},
		{"DELETE", MBX_HTTP_DELETE},   {"OPTIONS", MBX_HTTP_OPTIONS},
		{"TRACE", MBX_HTTP_TRACE},     {"PATCH", MBX_HTTP_PATCH},
		{"CONNECT", MBX_HTTP_CONNECT}, {"post", MBX_HTTP_OTHER},
		{"Get", MBX_HTTP_OTHER},       {"PROPFIND", MBX_HTTP_OTHER},
		{"X", MBX_HTTP_OTHER},         {"ABCDEFGHIJKLMNOP", MBX_HTTP_OTHER},
		{"GETS", MBX_HTTP_OTHER},      {"!#$%&'*+-.^_`|~9", MBX_HTTP_OTHER},
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct mbx_http_head h;
		char *copy;

		snprintf(text, sizeof(text), "%s * HTTP/1.1\r\n\r\n", v[i].name);
		expect_ok(text, &h, &copy);
		assert_int_equal(h.method, v[i].m);
		assert_string_equal(h.method_name, v[i].name);
		assert_string_equal(h.target, "*");
		free(copy);
	}
}

/* n fields "Xi: i" after a request line, in a malloc'd string */
static char *head_with_fields(unsigned n)
{
	size_t cap = 32 + (size_t)n * 16, off;
	char *s = malloc(cap);

	assert_non_null(s);
	off = (size_t)snprintf(s, cap, "GET / HTTP/1.1\r\n");
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "X%u: %u\r\n", i, i);
	snprintf(s + off, cap - off, "\r\n");
	return s;
}

static void test_field_count(void **state)
{
	struct mbx_http_head h;
	char *copy, *text = head_with_fields(MBX_HTTP_MAX_HEADERS);

	(void)state;
	expect_ok(text, &h, &copy);
	assert_int_equal(h.nfields, MBX_HTTP_MAX_HEADERS);
	assert_string_equal(h.fields[63].name, "X63");
	assert_string_equal(h.fields[63].value, "63");
	free(copy);
	free(text);
	text = head_with_fields(MBX_HTTP_MAX_HEADERS + 1);
	expect_refused(text, 431, "more than 64 header fields");
	free(text);
}

static void test_boundary_lengths(void **state)
{
	static char text[MBX_HTTP_TARGET_MAX + 64];
	struct mbx_http_head h;
	char *copy;
	size_t n;

	(void)state;
	/* a target of exactly MBX_HTTP_TARGET_MAX bytes, then one more */
	memcpy(text, "GET /", 5);
	memset(text + 5, 'a', MBX_HTTP_TARGET_MAX - 1);
	n = 5 + MBX_HTTP_TARGET_MAX - 1;
	memcpy(text + n, " HTTP/1.1\r\n\r\n", 14);
	expect_ok(text, &h, &copy);
	assert_int_equal(strlen(h.target), MBX_HTTP_TARGET_MAX);
	free(copy);
	memmove(text + n + 1, text + n, 14);
	text[n] = 'a';
	expect_refused(text, 400, "request-target is too long");
	/* a method of 16 characters is accepted above; 17 is refused */
	expect_refused("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n", 400, "method is too long");
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_refusals(void **state)
{
	static const struct {
		const char *text;
		int status;
		const char *why;
	} v[] = {
		/* field lines */
		{"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold"},
		{"GET / HTTP/1.1\r\n\tX: a\r\n\r\n", 400, "obs-fold"},
		{"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "blank between a field name and its"},
		{"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400, "blank between"},
		{"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "not a token followed by a colon"},
		{"GET / HTTP/1.1\r\nHost\r\n\r\n", 400, "not a token followed by a colon"},
		{"GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "not a token followed by a colon"},
		{"GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", 400, "not a token followed by a colon"},
		{"GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", 400, "control character in a field"},
		{"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400, "control character"},
		{"GET / HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n", 400, "control character"},
		{"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, "control character"},
		{"GET / HTTP/1.1\r\nX: a\r\r\n\r\n", 400, "control character"},
		{"GET / HTTP/1.1\r\n\rX: a\r\n\r\n", 400, "a CR that does not end a line"},
		/* Content-Length */
		{"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length: 5,5\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length:  5x\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", 400, "not one decimal number"},
		{"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400, "empty Content-Length"},
		{"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
		 "two different Content-Length values"},
		{"POST / HTTP/1.1\r\nContent-Length: 9007199254740993\r\n\r\n", 400,
		 "Content-Length too large"},
		{"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 400,
		 "Content-Length too large"},
		/* Transfer-Encoding */
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
		 "both Transfer-Encoding and Content-Length"},
		{"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
		 "both Transfer-Encoding and Content-Length"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "other than chunked"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
		 "other than chunked"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501,
		 "other than chunked"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 501, "than chunked"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 400, "a second Transfer-Encoding field"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: gzip\r\n\r\n",
		 400, "a second Transfer-Encoding field"},
		/* Expect, Connection */
		{"POST / HTTP/1.1\r\nExpect: foo\r\n\r\n", 417, "other than 100-continue"},
		{"POST / HTTP/1.1\r\nExpect: 100-continue, foo\r\n\r\n", 417, "100-continue"},
		{"POST / HTTP/1.0\r\nExpect: 101-continue\r\n\r\n", 417, "100-continue"},
		{"GET / HTTP/1.1\r\nConnection: close x\r\n\r\n", 400, "not a list of tokens"},
		{"GET / HTTP/1.1\r\nConnection: \"close\"\r\n\r\n", 400, "not a list of tokens"},
		/* request line */
		{"GET / HTTP/2.0\r\n\r\n", 505, "other than 1.x"},
		{"PRI * HTTP/2.0\r\n\r\n", 505, "other than 1.x"},
		{"GET / HTTP/0.9\r\n\r\n", 505, "other than 1.x"},
		{"GET / HTTP/3.1\r\nHost: x\r\n\r\n", 505, "other than 1.x"},
		{"G(T / HTTP/1.1\r\n\r\n", 400, "method is not a token"},
		{"GET\t/ HTTP/1.1\r\n\r\n", 400, "method is not a token"},
		{" GET / HTTP/1.1\r\n\r\n", 400, "method is not a token"},
		{"G\xc3\x89T / HTTP/1.1\r\n\r\n", 400, "method is not a token"},
		{"GET  / HTTP/1.1\r\n\r\n", 400, "no request-target"},
		{"GET /\r\n\r\n", 400, "no HTTP version"},
		{"GET\r\n\r\n", 400, "method is not a token"},
		{"GET / \r\n\r\n", 400, "no HTTP version"},
		{"GET / HTTP/1.1 \r\n\r\n", 400, "bytes after the HTTP version"},
		{"GET / HTTP/1.10\r\n\r\n", 400, "bytes after the HTTP version"},
		{"GET / HTTP/1.1\r\r\n\r\n", 400, "bytes after the HTTP version"},
		{"GET / http/1.1\r\n\r\n", 400, "no HTTP version"},
		{"GET / HTTP/1.x\r\n\r\n", 400, "no HTTP version"},
		{"GET / HTTP/11.1\r\n\r\n", 400, "no HTTP version"},
		{"GET / HTTP/1\r\n\r\n", 400, "no HTTP version"},
		{"GET / HTTP/1.1 extra\r\n\r\n", 400, "bytes after the HTTP version"},
		{"GET /a\x7f" "b HTTP/1.1\r\n\r\n", 400, "not allowed in the request-target"},
		{"GET /a\tb HTTP/1.1\r\n\r\n", 400, "not allowed in the request-target"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_refused(v[i].text, v[i].status, v[i].why);
}

/* Refusals that head_end cannot frame (no empty line, NUL bytes, bytes after the head). */
static void test_refusals_raw(void **state)
{
	static const char nul_value[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	static const char nul_target[] = "GET /a\0b HTTP/1.1\r\n\r\n";

	(void)state;
	expect_refused_n(nul_value, sizeof(nul_value) - 1, 400, "control character");
	expect_refused_n(nul_target, sizeof(nul_target) - 1, 400, "not allowed in the request");
	expect_refused_n("", 0, 400, "method");
	expect_refused_n("\r\n\r\n", 4, 400, "method");
	expect_refused_n("GET / HTTP/1.1\r\nHost: x\r\n", 25, 400, "does not end with an empty");
	expect_refused_n("GET / HTTP/1.1\r\nHost: x", 23, 400, "does not end with an empty line");
	expect_refused_n("GET / HTTP/1.1\r\nHost", 20, 400, "not a token followed by a colon");
	expect_refused_n("GET / HTTP/1.1\r\n\r\nGET", 21, 400, "bytes after the empty line");
}

/* ---- the end of the head --------------------------------------------------------------------- */

static void check_head_end_splits(const char *head)
{
	size_t len = strlen(head);
	char *pipelined = malloc(2 * len + 1);

	assert_non_null(pipelined);
	memcpy(pipelined, head, len);
	memcpy(pipelined + len, head, len + 1); /* a second request right behind */
	for (size_t n = 0; n <= len; n++) {
		char *copy = malloc(n > 0 ? n : 1); /* exactly n bytes: ASan sees reads past them */

		assert_non_null(copy);
		memcpy(copy, head, n);
		assert_int_equal(mbx_http_head_end(copy, n), n < len ? 0 : len);
		free(copy);
	}
	for (size_t n = len; n <= 2 * len; n++)
		assert_int_equal(mbx_http_head_end(pipelined, n), len);
	free(pipelined);
}

static void test_head_end(void **state)
{
	(void)state;
	check_head_end_splits(outlook_head);
	check_head_end_splits(curl_head);
	check_head_end_splits(lf_head);
	check_head_end_splits("GET / HTTP/1.1\n\r\n");
	check_head_end_splits("GET / HTTP/1.1\r\n\n");
	check_head_end_splits("\r\n\r\n\n\nGET / HTTP/1.0\r\nA: b\r\n\r\n");
	/* only empty lines: not a head yet */
	assert_int_equal(mbx_http_head_end("\r\n\r\n\n", 5), 0);
	assert_int_equal(mbx_http_head_end("", 0), 0);
	/* a CR alone does not end a line */
	assert_int_equal(mbx_http_head_end("GET / HTTP/1.1\r\r\r\n", 18), 0);
	assert_int_equal(mbx_http_head_end("GET / HTTP/1.1\r\n\r\r\n", 19), 0);
}

/* Every prefix of a valid head, closed by an empty line in three ways, parses or is refused
 * cleanly; a prefix not closed is refused with 400. */
static void sweep(const char *head)
{
	static const char *const closers[] = {"\r\n", "\n\n", "\r\n\r\n"};
	size_t len = strlen(head);

	for (size_t k = 0; k <= len; k++) {
		struct mbx_http_head h;
		const char *why;
		char *copy;
		int rc;

		if (k < len) {
			rc = parse_n(head, k, &h, &why, &copy);
			assert_int_equal(rc, 400);
			free(copy);
		}
		for (size_t c = 0; c < 3; c++) {
			size_t cl = strlen(closers[c]), n;
			char *text = malloc(k + cl);

			assert_non_null(text);
			memcpy(text, head, k);
			memcpy(text + k, closers[c], cl);
			n = mbx_http_head_end(text, k + cl);
			rc = parse_n(text, n > 0 ? n : k + cl, &h, &why, &copy);
			assert_true(rc == 0 || rc == 400 || rc == 417 || rc == 431 || rc == 501 ||
			            rc == 505);
			if (rc == 0) {
				assert_true(h.nfields <= MBX_HTTP_MAX_HEADERS);
				for (size_t i = 0; i < h.nfields; i++)
					assert_int_equal(strlen(h.fields[i].value),
					                 h.fields[i].value_len);
			}
			free(copy);
			free(text);
		}
	}
}

static void test_truncation_sweep(void **state)
{
	(void)state;
	sweep(outlook_head);
	sweep(curl_head);
	sweep(lf_head);
	sweep("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
	      "Connection: a, close\r\n\r\n");
}

/* ---- field lookup -------------------------------------------------------------------------- */

static void test_head_field(void **state)
{
	struct mbx_http_head h;
	char *copy;

	(void)state;
	expect_ok("GET / HTTP/1.1\r\nHost: a\r\nX-Dup: first\r\nx-dup: second\r\n"
	          "X-DUP: third\r\nX-Empty:\r\nX-^: no\r\n\r\n",
	          &h, &copy);
	assert_string_equal(mbx_http_head_field(&h, "Host"), "a");
	assert_string_equal(mbx_http_head_field(&h, "HOST"), "a");
	assert_string_equal(mbx_http_head_field(&h, "hOsT"), "a");
	assert_string_equal(mbx_http_head_field(&h, "x-dup"), "first");
	assert_string_equal(mbx_http_head_field(&h, "X-Empty"), "");
	assert_null(mbx_http_head_field(&h, "Hos"));
	assert_null(mbx_http_head_field(&h, "Hosts"));
	assert_null(mbx_http_head_field(&h, ""));
	assert_string_equal(mbx_http_head_field(&h, "x-^"), "no");
	assert_null(mbx_http_head_field(&h, "X-~")); /* '^' | 0x20 is '~': not a letter */
	assert_null(mbx_http_head_field(&h, "Content-Length"));
	free(copy);
}

/* ---- the path of a target ------------------------------------------------------------------ */

static void test_target_path(void **state)
{
	static const struct {
		const char *target, *path; /* path NULL: -1 */
	} v[] = {
		{"/mapi/emsmdb/?MailboxId=x@y", "/mapi/emsmdb/"},
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a?", "/a"},
		{"/a?b%zz", "/a"},
		{"http://host", "/"},
		{"http://host/", "/"},
		{"HTTP://Host:8080", "/"},
		{"https://h:443/a/b?q=1", "/a/b"},
		{"HtTpS://h/x", "/x"},
		{"http://h?q", "/"},
		{"http://h:80?q/x", "/"},
		{"http://[::1]:8080/v6", "/v6"},
		{"/a%2Fb", "/a/b"},
		{"/a%2fb", "/a/b"},
		{"/%41%42c", "/ABc"},
		{"/%20x%ff", "/ x\xff"},
		{"/a+b", "/a+b"},
		{"/a%2Bb", "/a+b"},
		{"*", NULL},
		{"host:443", NULL},
		{"mail.example.com:443", NULL},
		{"", NULL},
		{"a/b", NULL},
		{"ftp://h/x", NULL},
		{"httpx://h/x", NULL},
		{"http:/h/x", NULL},
		{"http:", NULL},
		{"https", NULL},
		{"http:///x", NULL},
		{"http://u:p@h/x", NULL},
		{"/a%zz", NULL},
		{"/a%", NULL},
		{"/a%4", NULL},
		{"/a%4g", NULL},
		{"/a%g4", NULL},
		{"/a%00b", NULL},
		{"http://h/%00", NULL},
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc;

		memset(out, 'Z', sizeof(out));
		rc = mbx_http_target_path(v[i].target, out, sizeof(out));
		if (v[i].path == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" gave %d \"%s\"", v[i].target, rc, out);
			assert_string_equal(out, "");
		} else {
			if (rc < 0 || strcmp(out, v[i].path) != 0)
				fail_msg("\"%s\" gave %d \"%s\"", v[i].target, rc, out);
			assert_int_equal(rc, strlen(v[i].path));
		}
	}
}

static void test_target_path_sizes(void **state)
{
	char *out;

	(void)state;
	/* exactly the size needed (length + NUL), then one byte less; malloc'd for ASan */
	for (size_t size = 0; size <= 6; size++) {
		out = malloc(size > 0 ? size : 1);
		assert_non_null(out);
		assert_int_equal(mbx_http_target_path("/a%41bc?x", out, size), size >= 6 ? 5 : -1);
		if (size > 0)
			assert_string_equal(out, size >= 6 ? "/aAbc" : "");
		free(out);
	}
	out = malloc(2);
	assert_non_null(out);
	assert_int_equal(mbx_http_target_path("http://h", out, 2), 1);
	assert_string_equal(out, "/");
	assert_int_equal(mbx_http_target_path("http://h", out, 1), -1);
	assert_string_equal(out, "");
	assert_int_equal(mbx_http_target_path("/", out, 0), -1);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outlook_post),
		cmocka_unit_test(test_curl_get),
		cmocka_unit_test(test_lf_lines_leading_empty),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_values_and_connection),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_field_count),
		cmocka_unit_test(test_boundary_lengths),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_refusals_raw),
		cmocka_unit_test(test_head_end),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_head_field),
		cmocka_unit_test(test_target_path),
		cmocka_unit_test(test_target_path_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
