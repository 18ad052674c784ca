/*
 * bench-selftest.c: `mbxbench --self-test`: known answers for the parts of mbxbench(1) that a
 * run against a server cannot check by itself: the histogram's bucket layout and percentiles,
 * the HTTP/1.1 response reader (RFC 9112 6.3 body length, 7.1 chunked coding) fed whole and
 * byte by byte, its refusals, and the response checks of bench-mapi.c on hand-built MAPI/HTTP
 * responses ([MS-OXCMAPIHTTP] 2.2.4.2.2; protocol.md 5.7). Prints one line per failed check and
 * "N passed, M failed".
 */
#include "mbxbench.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "mbx/oxcstor.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"

static unsigned st_pass, st_fail;

__attribute__((format(printf, 2, 3))) static void st_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		st_pass++;
		return;
	}
	st_fail++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- histogram ---------------------------------------------------------------------------- */

static void st_hist(void)
{
	struct bench_hist h;
	bool ok = true;

	/* Every bucket is contiguous with the next, and values map into their own bucket. */
	for (size_t i = 0; i + 1 < BENCH_HIST_BUCKETS; i++) {
		if (bench_hist_highest(i) + 1 != bench_hist_lowest(i + 1) ||
		    bench_hist_index(bench_hist_lowest(i)) != i ||
		    bench_hist_index(bench_hist_highest(i)) != i) {
			ok = false;
			st_check(false, "hist: bucket %zu [%llu, %llu] breaks the layout", i,
			         (unsigned long long)bench_hist_lowest(i),
			         (unsigned long long)bench_hist_highest(i));
			break;
		}
	}
	st_check(ok, "hist: layout");
	st_check(bench_hist_index(BENCH_HIST_MAX_US) == BENCH_HIST_BUCKETS - 1,
	         "hist: the largest value is in the last bucket");
	st_check(bench_hist_index(UINT64_MAX) == BENCH_HIST_BUCKETS - 1, "hist: clamping");
	st_check(bench_hist_index(2047) == 2047 && bench_hist_index(2048) == 2048 &&
	                 bench_hist_index(2049) == 2048 && bench_hist_index(4096) == 3072,
	         "hist: exact below 2048, steps of 2 from 2048, of 4 from 4096");
	/* Relative width of any bucket below 1/1024. */
	ok = true;
	for (size_t i = 2048; i < BENCH_HIST_BUCKETS; i += 97)
		if ((bench_hist_highest(i) - bench_hist_lowest(i) + 1) * 1024 >
		    bench_hist_lowest(i))
			ok = false;
	st_check(ok, "hist: precision of three significant digits");

	if (bench_hist_init(&h) != 0) {
		st_check(false, "hist: init");
		return;
	}
	st_check(bench_hist_percentile(&h, 50) == 0 && bench_hist_mean(&h) == 0,
	         "hist: empty gives 0");
	for (uint64_t v = 1; v <= 1000; v++)
		bench_hist_record(&h, v);
	st_check(bench_hist_percentile(&h, 50) == 500, "hist: p50 of 1..1000 is 500 (got %llu)",
	         (unsigned long long)bench_hist_percentile(&h, 50));
	st_check(bench_hist_percentile(&h, 99) == 990, "hist: p99 of 1..1000 is 990");
	st_check(bench_hist_percentile(&h, 99.9) == 999, "hist: p999 of 1..1000 is 999");
	st_check(bench_hist_percentile(&h, 100) == 1000 && bench_hist_percentile(&h, 0) == 1,
	         "hist: p100 is the max, p0 the min");
	st_check(bench_hist_mean(&h) > 500.49 && bench_hist_mean(&h) < 500.51, "hist: mean");
	bench_hist_reset(&h);
	for (uint64_t v = 1; v <= 1000000; v++)
		bench_hist_record(&h, v);
	{
		uint64_t p50 = bench_hist_percentile(&h, 50), p999 = bench_hist_percentile(&h, 99.9);

		st_check(p50 >= 500000 && p50 <= 500000 + 500000 / 1024,
		         "hist: p50 of 1..1e6 within 0.1%% (got %llu)", (unsigned long long)p50);
		st_check(p999 >= 999000 && p999 <= 999000 + 999000 / 1024,
		         "hist: p999 of 1..1e6 within 0.1%% (got %llu)", (unsigned long long)p999);
	}
	bench_hist_reset(&h);
	bench_hist_record(&h, UINT64_C(1) << 50);
	st_check(h.clamped == 1 && h.max == BENCH_HIST_MAX_US, "hist: values past the range clamp");
	bench_hist_reset(&h);
	for (int i = 0; i < 999; i++)
		bench_hist_record(&h, 100);
	bench_hist_record(&h, 50000);
	st_check(bench_hist_percentile(&h, 99.9) == 100 && bench_hist_percentile(&h, 99.95) == 50000,
	         "hist: one slow request in 1000 shows above p999 only");
	bench_hist_deinit(&h);
}

/* ---- HTTP reader -------------------------------------------------------------------------- */

/* Feeds text whole (step 0) or in pieces of step bytes, then EOF if eof. Returns the final
 * feed result; leftover bytes stay countable through *left_r. */
static int st_feed(struct bench_http_rsp *rsp, const char *text, size_t len, size_t step, bool eof,
                   size_t *left_r)
{
	struct evbuffer *in = evbuffer_new();
	size_t off = 0;
	int rc = BENCH_HTTP_MORE;

	bench_http_rsp_reset(rsp);
	if (step == 0)
		step = len > 0 ? len : 1;
	while (off < len && rc == BENCH_HTTP_MORE) {
		size_t n = len - off < step ? len - off : step;

		evbuffer_add(in, text + off, n);
		off += n;
		rc = bench_http_rsp_feed(rsp, in);
	}
	if (rc == BENCH_HTTP_MORE && eof)
		rc = bench_http_rsp_eof(rsp);
	if (left_r != NULL)
		*left_r = evbuffer_get_length(in) + (len - off);
	evbuffer_free(in);
	return rc;
}

static bool st_body_is(struct bench_http_rsp *rsp, const char *want)
{
	size_t n = evbuffer_get_length(rsp->body);

	return n == strlen(want) && memcmp(evbuffer_pullup(rsp->body, -1), want, n) == 0;
}

static void st_http_ok(struct bench_http_rsp *rsp)
{
	static const char cl[] = "HTTP/1.1 200 OK\r\n"
	                         "Content-Type: application/mapi-http\r\n"
	                         "Set-Cookie: MapiContext=ctx-1.A_b; path=/mapi/emsmdb/; HttpOnly\r\n"
	                         "Set-Cookie: MapiSequence=\"seq42\"\r\n"
	                         "Set-Cookie: other=whatever\r\n"
	                         "X-ResponseCode:  0 \r\n"
	                         "content-length: 11\r\n"
	                         "\r\n"
	                         "hello world"
	                         "HTTP/1.1 200 OK\r\n";
	static const char ch[] = "HTTP/1.1 200 OK\r\n"
	                         "Transfer-Encoding: chunked\r\n"
	                         "X-ResponseCode: 15\r\n"
	                         "\r\n"
	                         "C\r\nPROCESSING\r\n\r\n"
	                         "5;ext=1\r\nDONE!\r\n"
	                         "0\r\n"
	                         "Trailer: x\r\n"
	                         "\r\n";
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n"
	                           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char close10[] = "HTTP/1.0 200 OK\r\nX-ResponseCode: 0\r\n\r\nuntil close";
	static const char ka10[] = "HTTP/1.0 204 No Content\nConnection: keep-alive\n\n";
	static const char conn_close[] = "HTTP/1.1 200 OK\r\nConnection: Close\r\n"
	                                 "Content-Length: 0\r\n\r\n";
	size_t steps[] = {0, 1, 2, 7};
	size_t left;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t s = steps[i];
		int rc = st_feed(rsp, cl, sizeof(cl) - 1, s, false, &left);

		st_check(rc == BENCH_HTTP_DONE_RC && rsp->status == 200 && rsp->has_rc &&
		                 rsp->rc == 0 && st_body_is(rsp, "hello world") && !rsp->close,
		         "http: Content-Length response, step %zu (rc %d, err %s)", s, rc, rsp->err);
		st_check(rsp->has_context && strcmp(rsp->context, "ctx-1.A_b") == 0 &&
		                 rsp->has_sequence && strcmp(rsp->sequence, "seq42") == 0,
		         "http: cookies, step %zu", s);
		/* The next response's first bytes are not consumed (with step > 0 the feed stops
		 * as soon as the response is complete, the rest is still to come). */
		st_check(left == strlen("HTTP/1.1 200 OK\r\n"), "http: bytes after the body stay, "
		                                                "step %zu (left %zu)",
		         s, left);

		rc = st_feed(rsp, ch, sizeof(ch) - 1, s, false, &left);
		st_check(rc == BENCH_HTTP_DONE_RC && rsp->rc == 15 &&
		                 st_body_is(rsp, "PROCESSING\r\nDONE!") && left == 0 &&
		                 rsp->wire_bytes == sizeof(ch) - 1,
		         "http: chunked response with extension and trailer, step %zu (rc %d, %s)", s,
		         rc, rsp->err);

		rc = st_feed(rsp, cont, sizeof(cont) - 1, s, false, NULL);
		st_check(rc == BENCH_HTTP_DONE_RC && rsp->status == 200 && st_body_is(rsp, "ok"),
		         "http: 100 Continue is skipped, step %zu", s);

		rc = st_feed(rsp, close10, sizeof(close10) - 1, s, true, NULL);
		st_check(rc == BENCH_HTTP_DONE_RC && rsp->close && st_body_is(rsp, "until close"),
		         "http: HTTP/1.0 body until close, step %zu", s);

		rc = st_feed(rsp, ka10, sizeof(ka10) - 1, s, false, NULL);
		st_check(rc == BENCH_HTTP_DONE_RC && rsp->status == 204 && !rsp->close,
		         "http: HTTP/1.0 keep-alive, bare LF, 204 without body, step %zu", s);

		rc = st_feed(rsp, conn_close, sizeof(conn_close) - 1, s, false, NULL);
		st_check(rc == BENCH_HTTP_DONE_RC && rsp->close, "http: Connection: Close, step %zu",
		         s);
	}
}

static void st_http_bad(struct bench_http_rsp *rsp)
{
	static const struct {
		const char *text;
		bool eof;
		const char *why;
	} bad[] = {
	        {"HTTP/2 200 OK\r\n\r\n", false, "not an HTTP/1.x status line"},
	        {"HTTP/1.1 20 OK\r\n\r\n", false, "bad status code"},
	        {"HTTP/1.1 600 Odd\r\n\r\n", false, "bad status code"},
	        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
	         "two different Content-Length"},
	        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, "bad Content-Length"},
	        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false,
	         "bad Content-Length"},
	        {"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", false, "exceeds"},
	        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	         false, "both Transfer-Encoding and Content-Length"},
	        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false,
	         "unsupported Transfer-Encoding"},
	        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n", false,
	         "without a hex size"},
	        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\n", false,
	         "junk after the chunk size"},
	        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false,
	         "chunk size too long"},
	        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", false,
	         "not followed by CRLF"},
	        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", false,
	         "exceeds"},
	        {"HTTP/1.1 200 OK\r\nX-ResponseCode: 1\r\nX-ResponseCode: 1\r\n\r\n", false,
	         "X-ResponseCode twice"},
	        {"HTTP/1.1 200 OK\r\nX-ResponseCode: 4294967296\r\n\r\n", false,
	         "bad X-ResponseCode"},
	        {"HTTP/1.1 200 OK\r\nSet-Cookie: MapiSequence=a b\r\n\r\n", false, "Set-Cookie"},
	        {"HTTP/1.1 200 OK\r\nSet-Cookie: MapiContext\r\n\r\n", false, "without '='"},
	        {"HTTP/1.1 200 OK\r\nSet-Cookie: MapiContext=a\r\nSet-Cookie: MapiContext=b\r\n\r\n",
	         false, "twice"},
	        {"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", false, "without a name"},
	        {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, "bad character in a header name"},
	        {"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", false, "folding"},
	        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", true, "in the middle"},
	        {"", true, "before the response"},
	};
	char big[BENCH_HTTP_LINE_MAX + 64];
	char many[BENCH_HTTP_HEADERS_MAX * 8 + 64];
	size_t n;
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t step = 0; step <= 1; step++) {
			rc = st_feed(rsp, bad[i].text, strlen(bad[i].text), step, bad[i].eof, NULL);
			st_check(rc == BENCH_HTTP_BAD && strstr(rsp->err, bad[i].why) != NULL,
			         "http: refuses %zu (step %zu): want \"%s\", got rc %d \"%s\"", i, step,
			         bad[i].why, rc, rsp->err);
		}
	}
	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Long: ");
	memset(big + n, 'a', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\0';
	rc = st_feed(rsp, big, strlen(big), 0, false, NULL);
	st_check(rc == BENCH_HTTP_BAD && strstr(rsp->err, "longer than") != NULL,
	         "http: refuses an endless header line (%s)", rsp->err);
	n = (size_t)snprintf(many, sizeof(many), "HTTP/1.1 200 OK\r\n");
	for (unsigned i = 0; i <= BENCH_HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "A: b\r\n");
	rc = st_feed(rsp, many, n, 0, false, NULL);
	st_check(rc == BENCH_HTTP_BAD && strstr(rsp->err, "more than") != NULL,
	         "http: refuses too many header lines (%s)", rsp->err);
	/* Every prefix of a valid response is "more", never an error or a false completion. */
	{
		static const char ok[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		                         "3\r\nabc\r\n0\r\n\r\n";
		bool good = true;

		for (size_t k = 0; k < sizeof(ok) - 1; k++)
			if (st_feed(rsp, ok, k, 0, false, NULL) != BENCH_HTTP_MORE)
				good = false;
		st_check(good, "http: truncation sweep of a chunked response");
	}
}

/* ---- MAPI checks -------------------------------------------------------------------------- */

/* A response around a binary body: HTTP head with X-ResponseCode rc, envelope, body. */
static void st_mapi_rsp(struct bench_http_rsp *rsp, unsigned status, uint32_t rc,
                        const uint8_t *body, size_t len)
{
	static uint8_t env[4096];
	struct wr w;

	bench_http_rsp_reset(rsp);
	rsp->state = BENCH_HTTP_DONE;
	rsp->status = status;
	rsp->has_rc = true;
	rsp->rc = rc;
	wr_init(&w, env, sizeof(env));
	if (mbx_mh_env_write(&w, 0, 1, 1700000000, body, len) == 0)
		evbuffer_add(rsp->body, env, w.len);
}

/* An Execute response body whose RopBuffer carries logon (a RopLogon response) + extra bytes,
 * with nhandles handles. */
static size_t st_exec_body(uint8_t *out, size_t cap, const struct mbx_logon_resp *logon,
                           const uint8_t *extra, size_t extra_len, unsigned nhandles,
                           uint32_t error_code)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD], scratch[MBX_RHE_MAX_PAYLOAD];
	static uint8_t rop[MBX_RHE_MAX_PAYLOAD + 8];
	struct wr w, rw, bw;
	size_t at;
	struct mbx_mh_execute_rsp x;

	wr_init(&w, payload, sizeof(payload));
	at = wr_reserve(&w, 2);
	if (logon != NULL)
		mbx_roplogon_resp_encode(&w, logon);
	wr_bytes(&w, extra, extra_len);
	wr_patch_u16le(&w, at, (uint16_t)w.len);
	for (unsigned i = 0; i < nhandles; i++)
		wr_u32le(&w, 1);
	wr_init(&rw, rop, sizeof(rop));
	mbx_rhe_write(&rw, payload, w.len, MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC, false, true,
	              scratch);
	x = (struct mbx_mh_execute_rsp){error_code, 0, (uint32_t)rw.len, rop, 0, NULL};
	if (error_code != 0)
		x.rop_len = 0;
	wr_init(&bw, out, cap);
	mbx_mh_execute_rsp_encode(&bw, &x);
	return bw.len;
}

static void st_mapi(struct bench_http_rsp *rsp)
{
	static uint8_t body[MBX_RHE_MAX_PAYLOAD + 64];
	struct mbx_logon_resp ok, fail, redirect;
	struct bench_verdict v;
	struct bench_mapi_bodies b;
	struct bench_mapi_opts mo = {
	        .legacy_dn = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
	                     "/cn=Recipients/cn=alice",
	};
	char err[128];
	uint8_t extra = 0x99;
	size_t n;

	/* The request: 99-byte RopLogon (protocol.md 1.4) + 3-byte RopRelease + RopSize + one
	 * handle = 108 bytes of payload, framed uncompressed with Last. */
	st_check(bench_mapi_build(&mo, &b, err, sizeof(err)) == 0, "mapi: build (%s)", err);
	st_check(b.payload_len == 2 + 99 + 3 + 4 && b.ropbuf_len == 8 + b.payload_len &&
	                 b.rhe_flags == MBX_RHE_LAST &&
	                 b.exec_flags == (MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC),
	         "mapi: Execute RopBuffer layout (payload %zu)", b.payload_len);
	st_check(b.execute_len == 4 + 4 + b.ropbuf_len + 4 + 4, "mapi: Execute body size");
	st_check(b.connect_len == 85 + 20 && b.disconnect_len == 4,
	         "mapi: Connect body of protocol.md 5.8 is 105 bytes (got %zu)", b.connect_len);
	bench_mapi_free(&b);
	mo.user_dn = "/o=Contoso/cn=x";
	st_check(bench_mapi_build(&mo, &b, err, sizeof(err)) == 0 && b.connect_len == 16 + 20 &&
	                 memcmp(b.connect, "/o=Contoso/cn=x", 16) == 0 &&
	                 b.payload_len == 2 + 99 + 3 + 4,
	         "mapi: --user-dn goes into Connect only");
	bench_mapi_free(&b);
	mo.user_dn = NULL;
	mo.xor = true;
	mo.compress = true;
	st_check(bench_mapi_build(&mo, &b, err, sizeof(err)) == 0 &&
	                 (b.rhe_flags & MBX_RHE_XORMAGIC) && b.exec_flags == 0,
	         "mapi: --xor --compress set XorMagic and clear the Execute flags");
	bench_mapi_free(&b);
	mo.legacy_dn = "";
	st_check(bench_mapi_build(&mo, &b, err, sizeof(err)) != 0, "mapi: an empty DN is refused");

	memset(&ok, 0, sizeof(ok));
	ok.kind = MBX_LOGON_RESP_PRIVATE;
	ok.logon_flags = MBX_LOGON_PRIVATE;
	ok.response_flags = MBX_RESP_RESERVED;
	mbx_logon_time_from_unix(1700000000, &ok.logon_time);
	memset(&fail, 0, sizeof(fail));
	fail.kind = MBX_LOGON_RESP_FAILURE;
	fail.rv = ecUnknownUser;
	memset(&redirect, 0, sizeof(redirect));
	redirect.kind = MBX_LOGON_RESP_REDIRECT;
	redirect.rv = ecWrongServer;
	redirect.logon_flags = MBX_LOGON_PRIVATE;
	snprintf(redirect.server, sizeof(redirect.server), "/o=X/cn=Servers/cn=other");

	n = st_exec_body(body, sizeof(body), &ok, NULL, 0, 1, 0);
	st_mapi_rsp(rsp, 200, 0, body, n);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) == 0, "mapi: a good Execute (%s)",
	         v.detail);

	n = st_exec_body(body, sizeof(body), &fail, NULL, 0, 1, 0);
	st_mapi_rsp(rsp, 200, 0, body, n);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "logon:ecUnknownUser") == 0,
	         "mapi: RopLogon failure counted by ec name (%s)", v.key);

	n = st_exec_body(body, sizeof(body), &redirect, NULL, 0, 1, 0);
	st_mapi_rsp(rsp, 200, 0, body, n);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "logon:ecWrongServer") == 0 &&
	                 strstr(v.detail, "cn=other") != NULL,
	         "mapi: a redirect is a failure naming the server (%s)", v.detail);

	n = st_exec_body(body, sizeof(body), &ok, &extra, 1, 1, 0);
	st_mapi_rsp(rsp, 200, 0, body, n);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "proto:rops") == 0,
	         "mapi: a byte after the RopLogon response (%s)", v.key);

	n = st_exec_body(body, sizeof(body), &ok, NULL, 0, 2, 0);
	st_mapi_rsp(rsp, 200, 0, body, n);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "proto:handles") == 0,
	         "mapi: two handles (%s)", v.key);

	n = st_exec_body(body, sizeof(body), &ok, NULL, 0, 1, ecRpcFormat);
	st_mapi_rsp(rsp, 200, 0, body, n);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "execute:ecRpcFormat") == 0,
	         "mapi: Execute ErrorCode (%s)", v.key);

	{
		static const uint8_t failure[] = {0x7D, 0x04, 0, 0, 0, 0, 0, 0};

		st_mapi_rsp(rsp, 200, 0, failure, sizeof(failure));
		st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
		                 strcmp(v.key, "status:ecBufferTooSmall") == 0,
		         "mapi: a failure body's StatusCode (%s)", v.key);
	}

	st_mapi_rsp(rsp, 200, 15, NULL, 0);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 && strcmp(v.key, "rc:15") == 0 &&
	                 v.drop_context,
	         "mapi: X-ResponseCode 15 drops the context (%s)", v.key);
	st_mapi_rsp(rsp, 200, 9, NULL, 0);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 && strcmp(v.key, "rc:9") == 0 &&
	                 !v.drop_context,
	         "mapi: X-ResponseCode 9 keeps the context (%s)", v.key);
	st_mapi_rsp(rsp, 401, 0, NULL, 0);
	st_check(bench_mapi_check(BENCH_REQ_CONNECT, rsp, &v) != 0 && strcmp(v.key, "http:401") == 0,
	         "mapi: HTTP 401 (%s)", v.key);
	st_mapi_rsp(rsp, 200, 0, NULL, 0);
	rsp->has_rc = false;
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "proto:no-X-ResponseCode") == 0,
	         "mapi: a missing X-ResponseCode (%s)", v.key);
	bench_http_rsp_reset(rsp);
	rsp->status = 200;
	rsp->has_rc = true;
	evbuffer_add(rsp->body, "PROCESSING\r\nDO", 14);
	st_check(bench_mapi_check(BENCH_REQ_EXECUTE, rsp, &v) != 0 &&
	                 strcmp(v.key, "proto:envelope") == 0,
	         "mapi: a cut envelope (%s)", v.key);
	/* Disconnect success: StatusCode 0, ErrorCode 0, no aux. */
	{
		static const uint8_t d[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

		st_mapi_rsp(rsp, 200, 0, d, sizeof(d));
		st_check(bench_mapi_check(BENCH_REQ_DISCONNECT, rsp, &v) == 0,
		         "mapi: Disconnect response (%s)", v.detail);
	}
	/* Connect needs both cookies. */
	{
		struct mbx_mh_connect_rsp c = {0, 60000, 6, 10000, "", "A", 0, NULL};
		struct wr w;

		wr_init(&w, body, sizeof(body));
		mbx_mh_connect_rsp_encode(&w, &c);
		st_mapi_rsp(rsp, 200, 0, body, w.len);
		st_check(bench_mapi_check(BENCH_REQ_CONNECT, rsp, &v) != 0 &&
		                 strcmp(v.key, "proto:no-cookie") == 0,
		         "mapi: Connect without cookies (%s)", v.key);
		rsp->has_context = rsp->has_sequence = true;
		st_check(bench_mapi_check(BENCH_REQ_CONNECT, rsp, &v) == 0,
		         "mapi: Connect with cookies (%s)", v.detail);
	}
}

int bench_selftest(void)
{
	struct bench_http_rsp rsp;

	st_hist();
	if (bench_http_rsp_init(&rsp) != 0) {
		printf("FAIL: out of memory\n");
		return BENCH_EXIT_FAIL;
	}
	st_http_ok(&rsp);
	st_http_bad(&rsp);
	st_mapi(&rsp);
	bench_http_rsp_deinit(&rsp);
	printf("%u passed, %u failed\n", st_pass, st_fail);
	return st_fail == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}
