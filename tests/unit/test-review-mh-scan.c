/*
 * test-review-mh-scan.c: review tests of mh-server.c's request routing and its one pass over
 * the request headers (mh_scan_headers; [MS-OXCMAPIHTTP] 2.2.3 headers, RFC 9110 5.1 field
 * names are case-insensitive, 9.3.2 HEAD), through mbxstore's HTTP server (include/mbx/httpd.h)
 * on 127.0.0.1: the Autodiscover path answers HEAD without a body, the first of repeated
 * headers wins (as mbx_http_req_header), names match in any case and only whole names match.
 */
#include "mbx-test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "mbx/autodiscover.h"
#include "mbx/config.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/frontend.h"
#include "mbx/httpd.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/mailbox-table.h"
#include "mbx/principal.h"

#define CONFIG_DN "cn=Configuration,dc=contoso,dc=com"
#define SERVER1_LEG                                                                                \
	"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/"          \
	"cn=Servers/cn=SERVER1"

static const struct mbx_server_identity server1 = {
        "SERVER1", SERVER1_LEG, "cn=SERVER1,cn=Servers," CONFIG_DN, NULL, 0, false};

struct fx {
	struct event_base *base;
	struct mbx_config cfg;
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *res;
	struct mbx_logon_pipeline *pl;
	struct mbx_autodiscover *ad;
	struct mbx_frontend *fe;
	struct mbx_httpd *http;
	uint16_t port;
};

static void quiet(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	struct mbx_mailbox_table_config tc = {0};
	struct mbx_principal_config pc = {.group_depth = 8};
	struct mbx_logon_pipeline_config lc = {0};
	struct mbx_autodiscover_deps ad = {0};
	struct mbx_frontend_deps deps = {0};
	char path[4096], err[1024];
	const char *src = getenv("MBX_SRCDIR");
	struct mbx_httpd_limits lim = {.max_head_bytes = 65536};

	assert_non_null(fx);
	mbx_log_set_hook(quiet, NULL);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	assert_int_equal(mbx_config_defaults(&fx->cfg), 0);
	snprintf(path, sizeof(path), "%s/conf/directory.ldif", src != NULL ? src : ".");
	dc.ldif_path = path;
	fx->dir = mbx_dir_new(fx->base, &dc, err, sizeof(err));
	if (fx->dir == NULL)
		fail_msg("ldif backend on %s: %s", path, err);
	tc.ttl_ms = 60000;
	tc.negative_ttl_ms = 1000;
	tc.stale_max_ms = 3600000;
	tc.max_entries = 1000;
	mbx_dir_defer_init(&tc.defer, fx->base);
	fx->table = mbx_mailbox_table_new(fx->dir, &tc);
	assert_non_null(fx->table);
	mbx_dir_defer_init(&pc.defer, fx->base);
	fx->res = mbx_principal_resolver_new(fx->dir, &pc);
	assert_non_null(fx->res);
	lc.table = fx->table;
	lc.resolver = fx->res;
	lc.id = &server1;
	mbx_dir_defer_init(&lc.defer, fx->base);
	fx->pl = mbx_logon_pipeline_new(&lc);
	assert_non_null(fx->pl);
	ad.table = fx->table;
	ad.id = &server1;
	ad.cfg = &fx->cfg;
	mbx_dir_defer_init(&ad.defer, fx->base);
	fx->ad = mbx_autodiscover_new(&ad, err, sizeof(err));
	if (fx->ad == NULL)
		fail_msg("autodiscover: %s", err);
	deps.base = fx->base;
	deps.cfg = &fx->cfg;
	deps.dir = fx->dir;
	deps.table = fx->table;
	deps.resolver = fx->res;
	deps.pipeline = fx->pl;
	deps.id = &server1;
	deps.autodiscover = fx->ad;
	fx->fe = mbx_frontend_new(&deps, err, sizeof(err));
	if (fx->fe == NULL)
		fail_msg("front end: %s", err);
	lim.timeout_seconds = fx->cfg.limits.request_timeout_seconds;
	fx->http = mbx_httpd_new(fx->base, &lim);
	assert_non_null(fx->http);
	assert_int_equal(mbx_httpd_bind(fx->http, "127.0.0.1", 0, &fx->port), 0);
	assert_true(fx->port != 0);
	assert_int_equal(mbx_frontend_attach(fx->fe, fx->http, false), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	mbx_frontend_free(&fx->fe);
	mbx_httpd_free(&fx->http);
	mbx_autodiscover_free(&fx->ad);
	mbx_logon_pipeline_free(&fx->pl);
	mbx_principal_resolver_free(&fx->res);
	mbx_mailbox_table_free(&fx->table);
	mbx_dir_free(&fx->dir);
	mbx_config_free(&fx->cfg);
	event_base_free(fx->base);
	free(fx);
	mbx_log_set_hook(NULL, NULL);
	return 0;
}

/* Sends raw on a new connection and collects what comes back within ms (the loop runs in
 * between); NUL-terminated, malloc'ed. */
static char *exchange(struct fx *fx, const char *raw, unsigned ms, size_t *len_r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	size_t cap = 65536, len = 0, sent = 0, total = strlen(raw);
	char *buf = malloc(cap);
	struct timespec t0, t;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(buf);
	assert_true(fd >= 0);
	sin.sin_port = htons(fx->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (sent < total) {
			n = send(fd, raw + sent, total - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 2) > 0) {
			n = recv(fd, buf + len, cap - 1 - len, 0);
			if (n > 0)
				len += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
	}
	close(fd);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/* HEAD has no body (RFC 9110 9.3.2): a body sent after the head would be read by the client as
 * the start of the next answer on the connection (evhttp sent whatever body it was given;
 * mbx_http_reply leaves it out for HEAD). */
static void test_autodiscover_head_no_body(void **state)
{
	struct fx *fx = *state;
	size_t len;
	char *resp = exchange(fx,
	                      "HEAD /autodiscover/autodiscover.xml HTTP/1.1\r\n"
	                      "Host: mail.contoso.com\r\n\r\n",
	                      400, &len);
	const char *end = strstr(resp, "\r\n\r\n");

	assert_true(strncmp(resp, "HTTP/1.1 405 ", 13) == 0);
	assert_non_null(strstr(resp, "\r\nAllow: POST\r\n"));
	assert_non_null(end);
	if (end + 4 != resp + len)
		fail_msg("HEAD answered with %zu body bytes: %s", (size_t)(resp + len - (end + 4)),
		         end + 4);
	free(resp);

	/* GET still gets its short text */
	resp = exchange(fx,
	                "GET /autodiscover/autodiscover.xml HTTP/1.1\r\n"
	                "Host: mail.contoso.com\r\n\r\n",
	                400, &len);
	assert_true(strncmp(resp, "HTTP/1.1 405 ", 13) == 0);
	assert_non_null(strstr(resp, "Autodiscover takes POST\n"));
	free(resp);
}

/* A MAPI/HTTP PING of alice's with the header lines given in extra; returns the answer. */
static char *ping(struct fx *fx, const char *extra)
{
	char raw[4096], cred[64], b64[128];
	size_t len;
	int cl = snprintf(cred, sizeof(cred), "alice:alice-Secret1");

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)cred, cl);
	snprintf(raw, sizeof(raw),
	         "POST /mapi/emsmdb/?MailboxId=x@contoso.com HTTP/1.1\r\n"
	         "Host: mail.contoso.com\r\n"
	         "Authorization: Basic %s\r\n"
	         "%s"
	         "Content-Length: 0\r\n\r\n",
	         b64, extra);
	return exchange(fx, raw, 600, &len);
}

#define STD_HDRS                                                                                   \
	"X-RequestId: {E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1\r\n"                                \
	"X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}\r\n"                                 \
	"X-ClientApplication: Outlook/15.0.4815.1002\r\n"                                          \
	"Content-Type: application/mapi-http\r\n"

static unsigned rc_of(const char *resp)
{
	const char *v = strstr(resp, "\r\nX-ResponseCode: ");

	if (v == NULL)
		fail_msg("no X-ResponseCode in %s", resp);
	return (unsigned)strtoul(v + 18, NULL, 10);
}

static void test_header_names(void **state)
{
	struct fx *fx = *state;
	char *r;

	/* any case; the first of two wins (mbx_http_req_header's order) */
	r = ping(fx, "x-REQUESTtype: PING\r\nX-RequestType: Connect\r\n" STD_HDRS);
	assert_non_null(strstr(r, "\r\nX-RequestType: PING\r\n"));
	assert_int_not_equal(rc_of(r), 7);
	free(r);
	/* names that only begin like a known one, or are cut short, are other headers */
	r = ping(fx, "X: PING\r\nX-Request: PING\r\nX-RequestTypeX: PING\r\nX-RequestTyp: PING\r\n"
	             "X-ClientInf: x\r\nC: x\r\nA: x\r\n" STD_HDRS);
	assert_int_equal(rc_of(r), 7);
	assert_non_null(strstr(r, "X-RequestType header is missing"));
	free(r);
	/* a malformed first X-RequestId is not saved by a good second one */
	r = ping(fx, "X-RequestType: PING\r\nX-RequestId: a b\r\n"
	             "X-RequestId: {E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1\r\n"
	             "X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}\r\n"
	             "X-ClientApplication: Outlook/15.0.4815.1002\r\n"
	             "Content-Type: application/mapi-http\r\n");
	assert_int_equal(rc_of(r), 4);
	assert_non_null(strstr(r, "X-RequestId"));
	free(r);
	/* nine Cookie headers are one too many; eight are not */
	r = ping(fx, "X-RequestType: PING\r\n" STD_HDRS "Cookie: a=1\r\ncookie: a=1\r\n"
	             "Cookie: a=1\r\nCookie: a=1\r\nCookie: a=1\r\nCookie: a=1\r\nCookie: a=1\r\n"
	             "COOKIE: a=1\r\nCookie: a=1\r\n");
	assert_non_null(strstr(r, "too many Cookie headers"));
	free(r);
	r = ping(fx, "X-RequestType: PING\r\n" STD_HDRS "Cookie: a=1\r\ncookie: a=1\r\n"
	             "Cookie: a=1\r\nCookie: a=1\r\nCookie: a=1\r\nCookie: a=1\r\nCookie: a=1\r\n"
	             "COOKIE: a=1\r\n");
	assert_null(strstr(r, "too many Cookie headers"));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_autodiscover_head_no_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_header_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
