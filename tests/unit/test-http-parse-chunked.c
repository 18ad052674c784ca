/*
 * test-http-parse-chunked.c: the chunked request-body decoder of mbxstore's HTTP/1.1 server
 * (mbx_http_chunked_* in src/mapihttp/http-parse.c; RFC 9112 7.1): valid bodies with
 * extensions, trailers, LF-only lines and uppercase hex, each fed one-shot, in pieces of 1..7
 * bytes and split in two at every point (the same outcome every way); the end found exactly
 * (pipelined bytes are not consumed); the limit refused at the size line; malformed bodies.
 */
#include "mbx-test.h"

#include "mapihttp/http-parse.h"

struct chunk_result {
	int rc;
	size_t used, out_len;
	uint64_t total;
	uint8_t out[8192];
};

/* Feeds in[0..len) in pieces of at most step bytes (0: one piece) until something other than
 * MORE; used counts the input consumed in all. */
static void chunk_run(const char *in, size_t len, uint64_t limit, size_t step,
                      struct chunk_result *r)
{
	struct mbx_http_chunked c;
	size_t off = 0;

	assert_true(len <= sizeof(r->out));
	mbx_http_chunked_init(&c, limit);
	r->out_len = 0;
	r->used = 0;
	r->rc = MBX_HTTP_CHUNK_MORE;
	do {
		size_t n = step == 0 || len - off < step ? len - off : step, used = 12345;

		r->rc = mbx_http_chunked_feed(&c, (const uint8_t *)in + off, n, r->out, &r->out_len,
		                              &used);
		assert_true(used <= n);
		if (r->rc == MBX_HTTP_CHUNK_MORE)
			assert_int_equal(used, n);
		off += used;
	} while (r->rc == MBX_HTTP_CHUNK_MORE && off < len);
	r->used = off;
	r->total = c.total;
	/* the end is sticky: more input is not taken */
	if (r->rc != MBX_HTTP_CHUNK_MORE) {
		size_t out_len = r->out_len, used = 99;

		assert_int_equal(mbx_http_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5, r->out,
		                                       &out_len, &used),
		                 r->rc);
		assert_int_equal(used, 0);
		assert_int_equal(out_len, r->out_len);
	}
}

/* One-shot, byte by byte and in every two-piece split: the same outcome. */
static void expect_chunked(const char *in, size_t len, uint64_t limit, int rc, const char *data,
                           size_t used)
{
	struct chunk_result one, other;

	chunk_run(in, len, limit, 0, &one);
	if (one.rc != rc)
		fail_msg("rc %d, expected %d, for \"%.*s\"", one.rc, rc, (int)len, in);
	assert_int_equal(one.used, used);
	assert_int_equal(one.out_len, strlen(data));
	assert_memory_equal(one.out, data, one.out_len);
	assert_int_equal(one.total, one.out_len);
	for (size_t step = 1; step <= 7; step++) {
		chunk_run(in, len, limit, step, &other);
		assert_int_equal(other.rc, one.rc);
		assert_int_equal(other.used, one.used);
		assert_int_equal(other.out_len, one.out_len);
		assert_memory_equal(other.out, one.out, one.out_len);
	}
	for (size_t k = 0; k <= len; k++) { /* two pieces: k bytes, then the rest */
		struct mbx_http_chunked c;
		size_t out_len = 0, used1 = 0, used2 = 0;
		int r;

		mbx_http_chunked_init(&c, limit);
		r = mbx_http_chunked_feed(&c, (const uint8_t *)in, k, other.out, &out_len, &used1);
		if (r == MBX_HTTP_CHUNK_MORE)
			r = mbx_http_chunked_feed(&c, (const uint8_t *)in + k, len - k, other.out,
			                          &out_len, &used2);
		assert_int_equal(r, one.rc);
		assert_int_equal(used1 + used2, one.used);
		assert_int_equal(out_len, one.out_len);
		assert_memory_equal(other.out, one.out, one.out_len);
	}
}

#define EXPECT_CHUNKED(in, limit, rc, data, used)                                                  \
	expect_chunked(in, sizeof(in) - 1, limit, rc, data, used)

static void test_chunked_valid(void **state)
{
	static const char wiki[] = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
	                           "0\r\n\r\n";
	static const char piped[] = "4\r\nWiki\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	static const char ext[] = "5;name=value;x=\"q; d\"\r\nhello\r\n1 ;a \t; b\r\n!\r\n"
	                          "0;last\r\n\r\n";
	static const char trailers[] = "3\r\nabc\r\n0\r\nX-Trailer: a\r\nChecksum:\r\n\r\nPOST";
	static const char lf[] = "5\nhello\n0\nT: v\n\n";
	static const char hex[] = "A\r\n0123456789\r\na\r\nabcdefghij\r\n0000\r\n\r\n";
	static const char fifteen[] = "00000000000000A\r\n0123456789\r\n0\r\n\r\n";
	static const char empty[] = "0\r\n\r\n";
	uint64_t big = UINT64_MAX;

	(void)state;
	EXPECT_CHUNKED(wiki, big, MBX_HTTP_CHUNK_DONE, "Wikipedia in\r\n\r\nchunks.",
	               sizeof(wiki) - 1);
	/* DONE stops right after the final empty line: the next request is not consumed */
	EXPECT_CHUNKED(piped, big, MBX_HTTP_CHUNK_DONE, "Wiki", 14);
	EXPECT_CHUNKED(ext, big, MBX_HTTP_CHUNK_DONE, "hello!", sizeof(ext) - 1);
	EXPECT_CHUNKED(trailers, big, MBX_HTTP_CHUNK_DONE, "abc", sizeof(trailers) - 5);
	EXPECT_CHUNKED(lf, big, MBX_HTTP_CHUNK_DONE, "hello", sizeof(lf) - 1);
	EXPECT_CHUNKED(hex, big, MBX_HTTP_CHUNK_DONE, "0123456789abcdefghij", sizeof(hex) - 1);
	EXPECT_CHUNKED(fifteen, big, MBX_HTTP_CHUNK_DONE, "0123456789", sizeof(fifteen) - 1);
	EXPECT_CHUNKED(empty, 0, MBX_HTTP_CHUNK_DONE, "", 5);
	/* the limit is the sum of the sizes: exactly at it is fine */
	EXPECT_CHUNKED(wiki, 23, MBX_HTTP_CHUNK_DONE, "Wikipedia in\r\n\r\nchunks.",
	               sizeof(wiki) - 1);
	/* incomplete: MORE, everything used */
	EXPECT_CHUNKED("4\r\nWi", big, MBX_HTTP_CHUNK_MORE, "Wi", 5);
	EXPECT_CHUNKED("4\r\nWiki\r\n0\r\n\r", big, MBX_HTTP_CHUNK_MORE, "Wiki", 13);
	EXPECT_CHUNKED("FFFFFFFFFFFFFFF", big, MBX_HTTP_CHUNK_MORE, "", 15);
}

static void test_chunked_refused(void **state)
{
	static char longext[4200];
	uint64_t big = UINT64_MAX;

	(void)state;
	/* over the limit: refused at the size digit that passes it, the data before kept */
	EXPECT_CHUNKED("5\r\nhello\r\n4\r\nabcd\r\n0\r\n\r\n", 8, MBX_HTTP_CHUNK_TOO_LARGE,
	               "hello", 10);
	EXPECT_CHUNKED("5\r\nhello\r\n10\r\n", 20, MBX_HTTP_CHUNK_TOO_LARGE, "hello", 11);
	EXPECT_CHUNKED("1\r\n", 0, MBX_HTTP_CHUNK_TOO_LARGE, "", 0);
	EXPECT_CHUNKED("FFFFFFFFFFFFFFF\r\n", (uint64_t)1 << 59, MBX_HTTP_CHUNK_TOO_LARGE, "", 14);
	/* malformed */
	EXPECT_CHUNKED("0000000000000005\r\nhello\r\n0\r\n\r\n", big, MBX_HTTP_CHUNK_BAD, "", 15);
	EXPECT_CHUNKED("x\r\n", big, MBX_HTTP_CHUNK_BAD, "", 0);
	EXPECT_CHUNKED("\r\n", big, MBX_HTTP_CHUNK_BAD, "", 0);
	EXPECT_CHUNKED(";a\r\n", big, MBX_HTTP_CHUNK_BAD, "", 0);
	EXPECT_CHUNKED("-5\r\n", big, MBX_HTTP_CHUNK_BAD, "", 0);
	EXPECT_CHUNKED("0x5\r\n", big, MBX_HTTP_CHUNK_BAD, "", 1);
	EXPECT_CHUNKED(" 5\r\n", big, MBX_HTTP_CHUNK_BAD, "", 0);
	EXPECT_CHUNKED("5 \r\nhello\r\n", big, MBX_HTTP_CHUNK_BAD, "", 2);
	EXPECT_CHUNKED("5\rX", big, MBX_HTTP_CHUNK_BAD, "", 2);
	EXPECT_CHUNKED("5;a\x01\r\n", big, MBX_HTTP_CHUNK_BAD, "", 3);
	EXPECT_CHUNKED("5;a\rb\n", big, MBX_HTTP_CHUNK_BAD, "", 4);
	EXPECT_CHUNKED("5\r\nhelloX", big, MBX_HTTP_CHUNK_BAD, "hello", 8);
	EXPECT_CHUNKED("5\r\nhello\r\r", big, MBX_HTTP_CHUNK_BAD, "hello", 9);
	EXPECT_CHUNKED("5\r\nhello\r\n\r\n", big, MBX_HTTP_CHUNK_BAD, "hello", 10);
	EXPECT_CHUNKED("0\r\nX: a\r\n b\r\n\r\n", big, MBX_HTTP_CHUNK_BAD, "", 9);
	EXPECT_CHUNKED("0\r\nXY\r\n\r\n", big, MBX_HTTP_CHUNK_BAD, "", 5);
	EXPECT_CHUNKED("0\r\nX : y\r\n\r\n", big, MBX_HTTP_CHUNK_BAD, "", 4);
	EXPECT_CHUNKED("0\r\nX: a\x7f\r\n\r\n", big, MBX_HTTP_CHUNK_BAD, "", 7);
	EXPECT_CHUNKED("0\r\n\rX", big, MBX_HTTP_CHUNK_BAD, "", 4);
	EXPECT_CHUNKED("0\r\nX: a\rb", big, MBX_HTTP_CHUNK_BAD, "", 8);
	/* chunk extensions of more than 4096 bytes (";" and the rest of the line) */
	memset(longext, 'a', sizeof(longext));
	memcpy(longext, "1;", 2);
	expect_chunked(longext, sizeof(longext), big, MBX_HTTP_CHUNK_BAD, "", 4098);
	longext[4097] = '\n';
	expect_chunked(longext, 4098, big, MBX_HTTP_CHUNK_MORE, "", 4098);
	longext[4097] = 'a';
	longext[4098] = '\n';
	expect_chunked(longext, 4099, big, MBX_HTTP_CHUNK_BAD, "", 4098);
}

/* A trailer section over 64 KiB is refused (the decoder is fed a long run of trailer lines). */
static void test_chunked_trailer_limit(void **state)
{
	static const char line[] = "X-Trailer: 0123456789012345678901234567890123456789\r\n";
	struct mbx_http_chunked c;
	uint8_t out[64];
	size_t out_len = 0, used;
	int rc;

	(void)state;
	mbx_http_chunked_init(&c, 100);
	assert_int_equal(mbx_http_chunked_feed(&c, (const uint8_t *)"0\r\n", 3, out, &out_len,
	                                       &used),
	                 MBX_HTTP_CHUNK_MORE);
	for (size_t i = 0; i < 2000; i++) {
		rc = mbx_http_chunked_feed(&c, (const uint8_t *)line, sizeof(line) - 1, out,
		                           &out_len, &used);
		if (rc != MBX_HTTP_CHUNK_MORE) {
			assert_int_equal(rc, MBX_HTTP_CHUNK_BAD);
			/* refused at the 65537th byte of the section */
			assert_true(i * (sizeof(line) - 1) <= 65536);
			assert_true((i + 1) * (sizeof(line) - 1) > 65536);
			assert_int_equal(used, 65536 - i * (sizeof(line) - 1));
			return;
		}
	}
	fail_msg("64 KiB of trailers accepted");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_valid),
		cmocka_unit_test(test_chunked_refused),
		cmocka_unit_test(test_chunked_trailer_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
