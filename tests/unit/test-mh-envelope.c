/*
 * test-mh-envelope.c: the text side of MAPI/HTTP (src/mapihttp/mh-envelope.c; [MS-OXCMAPIHTTP]
 * 2.2.7 meta-tags, 2.2.2.2 and examples 4.1-4.5 for the response stream, 2.2.3.3.3
 * X-ResponseCode, 2.2.3.3.1 X-RequestType, 2.2.3.2.2 / 2.2.3.3.2 / 2.2.3.3.4 / 2.2.3.3.6 header
 * values, example 4.2 cookies; protocol.md 5.1-5.5). The expected texts are written out by hand
 * from the examples, with their placeholders filled in.
 */
#include "mbx-test.h"

#include "mbx/mapihttp.h"
#include "mbx/types.h"
#include "mbx/wire.h"

/* RFC 1123's own example date: 784111777 = Sun, 06 Nov 1994 08:49:37 GMT. */
#define T_1994 ((time_t)784111777)

/* Example 4.1 (non-chunked Connect response) after the HTTP headers, placeholders filled:
 * X-ElapsedTime 2 ms, X-StartTime the date above, then the body. */
static const char example_41[] = "PROCESSING\r\n"
                                 "DONE\r\n"
                                 "X-ResponseCode: 0\r\n"
                                 "X-ElapsedTime: 2\r\n"
                                 "X-StartTime: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                                 "\r\n";

/* ---- writing ------------------------------------------------------------------------ */

static void test_env_done(void **state)
{
	static const char want[] = "DONE\r\n"
	                           "X-ResponseCode: 0\r\n"
	                           "X-ElapsedTime: 2\r\n"
	                           "X-StartTime: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                           "\r\n";
	static const char want_max[] = "DONE\r\n"
	                               "X-ResponseCode: 4294967295\r\n"
	                               "X-ElapsedTime: 18446744073709551615\r\n"
	                               "X-StartTime: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                               "\r\n";
	char out[MBX_MH_ENV_DONE_MAX];
	struct wr w;

	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_mh_env_done(&w, 0, 2, T_1994), 0);
	assert_int_equal(w.len, strlen(want));
	assert_memory_equal(out, want, w.len);

	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_mh_env_done(&w, UINT32_MAX, UINT64_MAX, T_1994), 0);
	assert_int_equal(w.len, strlen(want_max));
	assert_memory_equal(out, want_max, w.len);
	assert_true(w.len <= MBX_MH_ENV_DONE_MAX);

	/* One byte short: nothing written. */
	wr_init(&w, out, strlen(want) - 1);
	assert_int_equal(mbx_mh_env_done(&w, 0, 2, T_1994), MBX_MH_ERR_ROOM);
	assert_int_equal(w.len, 0);
	assert_true(wr_ok(&w));
}

static void test_env_example_41(void **state)
{
	static const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0xAB};
	uint8_t out[256];
	struct wr w;
	size_t n = strlen(example_41);

	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_mh_env_write(&w, 0, 2, T_1994, body, sizeof(body)), 0);
	assert_int_equal(w.len, n + sizeof(body));
	assert_memory_equal(out, example_41, n);
	assert_memory_equal(out + n, body, sizeof(body));

	/* PING: no body. */
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_mh_env_write(&w, 0, 2, T_1994, NULL, 0), 0);
	assert_int_equal(w.len, n);

	/* Every capacity below the total: no room, nothing written. */
	for (size_t cap = 0; cap < n + sizeof(body); cap++) {
		wr_init(&w, out, cap);
		assert_int_equal(mbx_mh_env_write(&w, 0, 2, T_1994, body, sizeof(body)),
		                 MBX_MH_ERR_ROOM);
		assert_int_equal(w.len, 0);
	}
}

/* Example 4.2: each meta-tag is its own chunk, "C\r\nPROCESSING\r\n\r\n" and
 * "9\r\nPENDING\r\n\r\n": the chunk sizes are the lengths of our meta-tag strings. */
static void test_env_example_42_chunks(void **state)
{
	char chunk[64];

	snprintf(chunk, sizeof(chunk), "%zX\r\n%s\r\n", strlen(MBX_MH_META_PROCESSING),
	         MBX_MH_META_PROCESSING);
	assert_string_equal(chunk, "C\r\nPROCESSING\r\n\r\n");
	snprintf(chunk, sizeof(chunk), "%zX\r\n%s\r\n", strlen(MBX_MH_META_PENDING),
	         MBX_MH_META_PENDING);
	assert_string_equal(chunk, "9\r\nPENDING\r\n\r\n");
	assert_string_equal(MBX_MH_META_DONE, "DONE\r\n");
}

static void test_http_date(void **state)
{
	char buf[40];

	assert_int_equal(mbx_mh_env_http_date(T_1994, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(mbx_mh_env_http_date(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	/* 2024-02-29 23:59:59 UTC, a leap day. */
	assert_int_equal(mbx_mh_env_http_date((time_t)1709251199, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Thu, 29 Feb 2024 23:59:59 GMT");
	/* Before 1970. */
	assert_int_equal(mbx_mh_env_http_date((time_t)-1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Wed, 31 Dec 1969 23:59:59 GMT");
	/* 9999-12-31 23:59:59 is the last date with a 4-digit year; one second later is refused. */
	assert_int_equal(mbx_mh_env_http_date((time_t)253402300799LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
	assert_int_equal(mbx_mh_env_http_date((time_t)253402300800LL, buf, sizeof(buf)), -1);
	/* 0000-01-01 00:00:00 (proleptic Gregorian, a Saturday) is the first; a second before
	 * it has a 5-character year and is refused. */
	assert_int_equal(mbx_mh_env_http_date((time_t)-62167219200LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Sat, 01 Jan 0000 00:00:00 GMT");
	assert_int_equal(mbx_mh_env_http_date((time_t)-62167219201LL, buf, sizeof(buf)), -1);
	/* The last text is kept per second: other seconds in turn, and again, each get theirs. */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(mbx_mh_env_http_date(T_1994, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
		assert_int_equal(mbx_mh_env_http_date(T_1994, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
		assert_int_equal(mbx_mh_env_http_date(T_1994 + 1, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:38 GMT");
		assert_int_equal(mbx_mh_env_http_date((time_t)253402300800LL, buf, sizeof(buf)),
		                 -1);
		assert_int_equal(mbx_mh_env_http_date(T_1994 + 1, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:38 GMT");
		assert_int_equal(mbx_mh_env_http_date(T_1994 + 86400 * 366, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "Tue, 07 Nov 1995 08:49:37 GMT");
	}
	/* 29 characters need 30 bytes. */
	assert_int_equal(mbx_mh_env_http_date(T_1994, buf, 29), -1);
	assert_int_equal(mbx_mh_env_http_date(T_1994, buf, 30), 0);

	{
		char out[MBX_MH_ENV_DONE_MAX];
		struct wr w;

		wr_init(&w, out, sizeof(out));
		assert_int_equal(mbx_mh_env_done(&w, 0, 0, (time_t)253402300800LL),
		                 MBX_MH_ERR_INVALID);
		assert_int_equal(w.len, 0);
	}
}

/* ---- parsing ------------------------------------------------------------------------ */

/* Parses s (len bytes, an exact copy so ASan sees overreads) at base 500. */
static int parse(const char *s, size_t len, struct mbx_mh_env *env, struct rd *r, uint8_t **copy)
{
	*copy = malloc(len > 0 ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, s, len);
	rd_init(r, *copy, len, 500);
	return mbx_mh_env_parse(r, env);
}

/* A valid stream: DONE with the body at body_at; every shorter prefix up to body_at is MORE
 * (r and env untouched), every longer one DONE at the same place. */
static void check_stream(const char *s, size_t len, size_t body_at, struct mbx_mh_env *env_r)
{
	for (size_t k = 0; k <= len; k++) {
		struct mbx_mh_env env;
		struct rd r;
		uint8_t *copy;
		int rc;

		memset(&env, 0x5A, sizeof(env));
		rc = parse(s, k, &env, &r, &copy);
		if (k < body_at) {
			if (rc != MBX_MH_ENV_MORE)
				fail_msg("prefix %zu: %d (%s)", k, rc, r.err_msg);
			assert_true(rd_ok(&r));
			assert_int_equal(rd_pos(&r), 500);
			assert_int_equal(env.pending, 0x5A5A5A5A);
		} else {
			if (rc != MBX_MH_ENV_DONE)
				fail_msg("prefix %zu: %d (%s)", k, rc, r.err_msg);
			assert_int_equal(env.body_off, 500 + body_at);
			assert_int_equal(rd_pos(&r), 500 + body_at);
			if (k == len)
				*env_r = env; /* start_time points into copy: compare it now */
			if (k == len && env.start_time != NULL) {
				assert_true(env.start_time >= (const char *)copy &&
				            env.start_time < (const char *)copy + k);
				/* Re-point into s so the caller can read it after free. */
				env_r->start_time = s + (env.start_time - (const char *)copy);
			}
		}
		free(copy);
	}
}

static void check_bad(const char *s, const char *msg_sub, size_t err_off)
{
	struct mbx_mh_env env;
	struct rd r;
	uint8_t *copy;

	memset(&env, 0x5A, sizeof(env));
	if (parse(s, strlen(s), &env, &r, &copy) != MBX_MH_ENV_BAD)
		fail_msg("accepted: %s", s);
	assert_false(rd_ok(&r));
	if (strstr(r.err_msg, msg_sub) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err_msg, msg_sub);
	if (err_off != SIZE_MAX && r.err_off != 500 + err_off)
		fail_msg("error \"%s\" at %zu, expected %zu", r.err_msg, r.err_off - 500, err_off);
	assert_int_equal(env.pending, 0x5A5A5A5A);
	free(copy);
}

static void test_parse_example_41(void **state)
{
	char s[256];
	size_t n = strlen(example_41);
	struct mbx_mh_env env;

	memcpy(s, example_41, n);
	memcpy(s + n, "\x00\x00\x00\x00\x0d\x0a", 6); /* a body that looks like CRLF */
	check_stream(s, n + 6, n, &env);
	assert_int_equal(env.pending, 0);
	assert_true(env.has_response_code);
	assert_int_equal(env.response_code, 0);
	assert_true(env.has_elapsed);
	assert_int_equal(env.elapsed_ms, 2);
	assert_int_equal(env.start_time_len, 29);
	assert_memory_equal(env.start_time, "Sun, 06 Nov 1994 08:49:37 GMT", 29);
	assert_int_equal(env.other_headers, 0);
}

static void test_parse_pending(void **state)
{
	static const char s[] = "PROCESSING\r\nPENDING\r\nPENDING\r\nPENDING\r\nDONE\r\n"
	                        "X-ResponseCode: 0\r\nX-ElapsedTime: 45012\r\n"
	                        "X-StartTime: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nBODY";
	struct mbx_mh_env env;

	check_stream(s, strlen(s), strlen(s) - 4, &env);
	assert_int_equal(env.pending, 3);
	assert_int_equal(env.elapsed_ms, 45012);
}

/* gromox: keep-alive "PENDING" without its CRLF, no additional X-ResponseCode, elapsed time in
 * seconds (protocol.md 5.5). Tolerated. */
static void test_parse_gromox(void **state)
{
	static const char s[] = "PROCESSING\r\nPENDINGPENDINGDONE\r\n"
	                        "X-ElapsedTime: 1\r\n"
	                        "X-StartTime: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n\x01\x02";
	struct mbx_mh_env env;

	check_stream(s, strlen(s), strlen(s) - 2, &env);
	assert_int_equal(env.pending, 2);
	assert_false(env.has_response_code);
	assert_true(env.has_elapsed);
}

static void test_parse_headers_tolerated(void **state)
{
	/* Unknown headers, any case, blanks around values, no headers at all. */
	static const char s1[] = "PROCESSING\r\nDONE\r\n"
	                         "x-responsecode:\t18 \r\n"
	                         "X-Foo: bar baz\r\n"
	                         "X-Empty:\r\n"
	                         "\r\n";
	static const char s2[] = "PROCESSING\r\nDONE\r\n\r\n";
	struct mbx_mh_env env;

	check_stream(s1, strlen(s1), strlen(s1), &env);
	assert_int_equal(env.response_code, 18);
	assert_int_equal(env.other_headers, 2);
	assert_false(env.has_elapsed);
	assert_null(env.start_time);
	assert_int_equal(env.start_time_len, 0);
	check_stream(s2, strlen(s2), strlen(s2), &env);
	assert_false(env.has_response_code);
}

static void test_parse_bad(void **state)
{
	char *big;

	check_bad("PROCESSINX", "does not start with the PROCESSING meta-tag", 0);
	check_bad("DONE\r\n\r\n", "does not start with the PROCESSING", 0);
	check_bad("processing\r\n", "PROCESSING", 0);
	check_bad("PROCESSING\n", "PROCESSING", 0);
	check_bad("PROCESSING\r\nDONE\n", "expected a PENDING or DONE meta-tag", 12);
	check_bad("PROCESSING\r\nPENDING\rX", "CR without LF after PENDING", 20);
	check_bad("PROCESSING\r\nPENDING\nDONE\r\n\r\n", "expected a PENDING or DONE", 19);
	check_bad("PROCESSING\r\nPENDINGX", "expected a PENDING or DONE", 19);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode 0\r\n\r\n",
	          "bad character in a header name", 32);
	check_bad("PROCESSING\r\nDONE\r\n: 0\r\n\r\n", "header line without a name", 18);
	check_bad("PROCESSING\r\nDONE\r\nX-A: b\x7f\r\n\r\n", "bad character in a header value",
	          24);
	check_bad("PROCESSING\r\nDONE\r\nX-A: b\x80\r\n\r\n", "bad character in a header value",
	          24);
	check_bad("PROCESSING\r\nDONE\r\nX-A: b\rc\r\n", "CR without LF after a header", 25);
	check_bad("PROCESSING\r\nDONE\r\nX-A: b\nc\r\n", "bad character in a header value", 24);
	check_bad("PROCESSING\r\nDONE\r\n\rX", "CR without LF after the additional headers", 19);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode: 0\r\nX-ResponseCode: 0\r\n\r\n",
	          "X-ResponseCode given twice", 37);
	check_bad("PROCESSING\r\nDONE\r\nX-ElapsedTime: 1\r\nx-elapsedtime: 1\r\n\r\n",
	          "X-ElapsedTime given twice", 36);
	check_bad("PROCESSING\r\nDONE\r\nX-StartTime: a\r\nX-StartTime: a\r\n\r\n",
	          "X-StartTime given twice", 34);
	check_bad("PROCESSING\r\nDONE\r\nX-StartTime: \r\n\r\n", "X-StartTime is empty", 31);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode: -1\r\n\r\n",
	          "X-ResponseCode is not a 32-bit decimal", 34);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode: 0x1\r\n\r\n", "not a 32-bit decimal", 34);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode: 4294967296\r\n\r\n", "not a 32-bit", 34);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode: 00000000000\r\n\r\n", "not a 32-bit", 34);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode:\r\n\r\n", "not a 32-bit", 33);
	check_bad("PROCESSING\r\nDONE\r\nX-ResponseCode: 1 2\r\n\r\n", "not a 32-bit", 34);
	check_bad("PROCESSING\r\nDONE\r\nX-ElapsedTime: 18446744073709551616\r\n\r\n",
	          "X-ElapsedTime is not a 64-bit decimal", 33);

	/* The longest values that fit. */
	{
		static const char s[] = "PROCESSING\r\nDONE\r\nX-ResponseCode: 4294967295\r\n"
		                        "X-ElapsedTime: 18446744073709551615\r\n\r\n";
		struct mbx_mh_env env;

		check_stream(s, strlen(s), strlen(s), &env);
		assert_int_equal(env.response_code, UINT32_MAX);
		assert_true(env.elapsed_ms == UINT64_MAX);
	}

	/* 32 additional headers are fine, 33 are not. */
	big = malloc(32 * 8 + 64);
	assert_non_null(big);
	strcpy(big, "PROCESSING\r\nDONE\r\n");
	for (int i = 0; i < 32; i++)
		strcat(big, "X-H: v\r\n");
	strcat(big, "\r\n");
	{
		struct mbx_mh_env env;

		check_stream(big, strlen(big), strlen(big), &env);
		assert_int_equal(env.other_headers, 32);
	}
	big[strlen(big) - 2] = '\0';
	strcat(big, "X-H: v\r\n\r\n");
	check_bad(big, "more than 32 additional headers", 18 + 32 * 8);
	free(big);

	/* A header line of 1024 bytes with its CRLF is fine, 1025 is not. */
	big = malloc(2048);
	assert_non_null(big);
	strcpy(big, "PROCESSING\r\nDONE\r\nX-L: ");
	memset(big + strlen(big), 'v', 1024 - 5 - 2);
	big[18 + 1022] = '\0';
	strcat(big, "\r\n\r\n");
	{
		struct mbx_mh_env env;

		check_stream(big, strlen(big), strlen(big), &env);
	}
	strcpy(big, "PROCESSING\r\nDONE\r\nX-L: ");
	memset(big + strlen(big), 'v', 1024 - 5 - 1);
	big[18 + 1023] = '\0';
	strcat(big, "\r\n\r\n");
	check_bad(big, "header line longer than 1024 bytes", 18);
	/* Without the CRLF yet: MORE below the limit, BAD at it. */
	{
		struct mbx_mh_env env;
		struct rd r;
		uint8_t *copy;

		assert_int_equal(parse(big, 18 + 1023, &env, &r, &copy), MBX_MH_ENV_MORE);
		free(copy);
		assert_int_equal(parse(big, 18 + 1024, &env, &r, &copy), MBX_MH_ENV_BAD);
		free(copy);
	}
	free(big);
}

static void test_parse_sticky(void **state)
{
	struct rd r;
	struct mbx_mh_env env;

	rd_init(&r, "x", 1, 0);
	rd_fail(&r, "earlier");
	assert_int_equal(mbx_mh_env_parse(&r, &env), MBX_MH_ENV_BAD);
	assert_string_equal(r.err_msg, "earlier");
}

/* ---- X-ResponseCode, X-RequestType -------------------------------------------------- */

static void test_response_codes(void **state)
{
	static const char *const spec[19] = {"Success",
	                                     "Unknown Failure",
	                                     "Invalid Verb",
	                                     "Invalid Path",
	                                     "Invalid Header",
	                                     "Invalid Request Type",
	                                     "Invalid Context Cookie",
	                                     "Missing Header",
	                                     "Anonymous Not Allowed",
	                                     "Too Large",
	                                     "Context Not Found",
	                                     "No Privilege",
	                                     "Invalid Request Body",
	                                     "Missing Cookie",
	                                     "Reserved",
	                                     "Invalid Sequence",
	                                     "Endpoint Disabled",
	                                     "Invalid Response",
	                                     "Endpoint Shutting Down"};

	for (uint32_t c = 0; c <= MBX_MH_RC_MAX; c++) {
		assert_string_equal(mbx_mh_rc_name(c), spec[c]);
		assert_non_null(mbx_mh_rc_text(c));
		assert_true(strlen(mbx_mh_rc_text(c)) > 5);
	}
	assert_int_equal(MBX_MH_RC_INVALID_SEQUENCE, 15);
	assert_int_equal(MBX_MH_RC_ENDPOINT_SHUTTING_DOWN, 18);
	assert_int_equal(MBX_MH_RC_CONTEXT_NOT_FOUND, 10);
	assert_null(mbx_mh_rc_name(19));
	assert_null(mbx_mh_rc_name(UINT32_MAX));
	assert_string_equal(mbx_mh_rc_text(19), "unknown X-ResponseCode");
}

static void test_request_types(void **state)
{
	static const struct {
		const char *v;
		enum mbx_mh_reqtype t;
	} rows[] = {
	        {"Connect", MBX_MH_REQ_CONNECT},
	        {"Execute", MBX_MH_REQ_EXECUTE},
	        {"Disconnect", MBX_MH_REQ_DISCONNECT},
	        {"NotificationWait", MBX_MH_REQ_NOTIFICATIONWAIT},
	        {"PING", MBX_MH_REQ_PING},
	        {"ping", MBX_MH_REQ_PING},
	        {"EXECUTE", MBX_MH_REQ_EXECUTE},
	        {"notificationwait", MBX_MH_REQ_NOTIFICATIONWAIT},
	        {"Bind", MBX_MH_REQ_ADDRESS_BOOK},
	        {"Unbind", MBX_MH_REQ_ADDRESS_BOOK},
	        {"CompareMIds", MBX_MH_REQ_ADDRESS_BOOK},
	        {"DNToMId", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetMatches", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetPropList", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetProps", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetSpecialTable", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetTemplateInfo", MBX_MH_REQ_ADDRESS_BOOK},
	        {"ModLinkAtt", MBX_MH_REQ_ADDRESS_BOOK},
	        {"ModProps", MBX_MH_REQ_ADDRESS_BOOK},
	        {"QueryRows", MBX_MH_REQ_ADDRESS_BOOK},
	        {"QueryColumns", MBX_MH_REQ_ADDRESS_BOOK},
	        {"ResolveNames", MBX_MH_REQ_ADDRESS_BOOK},
	        {"ResortRestriction", MBX_MH_REQ_ADDRESS_BOOK},
	        {"SeekEntries", MBX_MH_REQ_ADDRESS_BOOK},
	        {"UpdateStat", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetMailboxUrl", MBX_MH_REQ_ADDRESS_BOOK},
	        {"GetAddressBookUrl", MBX_MH_REQ_ADDRESS_BOOK},
	        {"", MBX_MH_REQ_UNKNOWN},
	        {"Connect ", MBX_MH_REQ_UNKNOWN},
	        {"Conn", MBX_MH_REQ_UNKNOWN},
	        {"Connectx", MBX_MH_REQ_UNKNOWN},
	        {"EcDoConnectEx", MBX_MH_REQ_UNKNOWN},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (mbx_mh_reqtype_parse(rows[i].v) != rows[i].t)
			fail_msg("\"%s\"", rows[i].v);
	assert_int_equal(mbx_mh_reqtype_parse(NULL), MBX_MH_REQ_UNKNOWN);
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_CONNECT), "Connect");
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_EXECUTE), "Execute");
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_DISCONNECT), "Disconnect");
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_NOTIFICATIONWAIT), "NotificationWait");
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_PING), "PING");
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_ADDRESS_BOOK), "address book");
	assert_string_equal(mbx_mh_reqtype_name(MBX_MH_REQ_UNKNOWN), "unknown");
	assert_string_equal(mbx_mh_reqtype_name((enum mbx_mh_reqtype)99), "unknown");
	for (int t = MBX_MH_REQ_CONNECT; t <= MBX_MH_REQ_PING; t++)
		assert_int_equal(mbx_mh_reqtype_parse(mbx_mh_reqtype_name((enum mbx_mh_reqtype)t)),
		                 t);
}

/* ---- header values ------------------------------------------------------------------ */

static void test_request_id(void **state)
{
	const char *why = NULL;
	char v[MBX_MH_REQUESTID_MAX + 2];
	struct mbx_guid g;
	uint64_t counter = 0;
	char gs[MBX_GUID_STRLEN + 1];

	assert_int_equal(
	        mbx_mh_hdr_request_id_check("{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:123456", &why),
	        0);
	assert_int_equal(mbx_mh_hdr_request_id_check("x", &why), 0);
	assert_int_equal(mbx_mh_hdr_request_id_check("", &why), -1);
	assert_string_equal(why, "empty value");
	assert_int_equal(mbx_mh_hdr_request_id_check(NULL, NULL), -1);
	assert_int_equal(mbx_mh_hdr_request_id_check("a b", &why), -1);
	assert_string_equal(why, "value holds a character outside visible ASCII");
	assert_int_equal(mbx_mh_hdr_request_id_check("a\x7f", &why), -1);
	assert_int_equal(mbx_mh_hdr_request_id_check("a\xc3\xa9", &why), -1);
	assert_int_equal(mbx_mh_hdr_request_id_check("a\tb", &why), -1);
	memset(v, 'r', MBX_MH_REQUESTID_MAX);
	v[MBX_MH_REQUESTID_MAX] = '\0';
	assert_int_equal(mbx_mh_hdr_request_id_check(v, &why), 0);
	v[MBX_MH_REQUESTID_MAX] = 'r';
	v[MBX_MH_REQUESTID_MAX + 1] = '\0';
	assert_int_equal(mbx_mh_hdr_request_id_check(v, &why), -1);
	assert_string_equal(why, "value too long");

	/* X-ClientInfo: same rule; ruler sends a bare {GUID}. */
	assert_int_equal(
	        mbx_mh_hdr_client_info_check("{2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}", &why), 0);
	assert_int_equal(
	        mbx_mh_hdr_client_info_check("{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:123", &why),
	        0);
	assert_int_equal(mbx_mh_hdr_client_info_check("", &why), -1);
	assert_int_equal(mbx_mh_hdr_client_info_check(v, &why), -1);

	/* The {GUID}:counter convention. */
	assert_int_equal(mbx_mh_hdr_guid_counter("{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:123456",
	                                         &g, &counter),
	                 0);
	assert_int_equal(counter, 123456);
	assert_string_equal(mbx_guid_to_str(&g, gs), "e2ea6c1c-e61b-49e9-9cfb-38184f907552");
	assert_int_equal(g.b[0], 0x1C); /* Data1 little-endian on the wire */
	assert_int_equal(
	        mbx_mh_hdr_guid_counter("{e2ea6c1c-e61b-49e9-9cfb-38184f907552}:0", &g, &counter),
	        0);
	assert_int_equal(counter, 0);
	assert_int_equal(
	        mbx_mh_hdr_guid_counter(
	                "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:9999999999999999999", &g, &counter),
	        0);
	assert_true(counter == 9999999999999999999ULL);
	static const char *const no[] = {
	        "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}",
	        "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:",
	        "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:12a",
	        "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:-1",
	        "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:10000000000000000000",
	        "E2EA6C1C-E61B-49E9-9CFB-38184F907552:1",
	        "{E2EA6C1C-E61B-49E9-9CFB-38184F90755}:1",
	        "{E2EA6C1CXE61B-49E9-9CFB-38184F907552}:1",
	        "{G2EA6C1C-E61B-49E9-9CFB-38184F907552}:1",
	        "",
	        NULL,
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (mbx_mh_hdr_guid_counter(no[i], &g, &counter) != -1)
			fail_msg("accepted \"%s\"", no[i] != NULL ? no[i] : "(null)");
}

static void test_client_app(void **state)
{
	uint16_t ver[3] = {0, 0, 0};
	const char *why = NULL;
	char v[MBX_MH_CLIENTAPP_MAX + 2];

	assert_int_equal(mbx_mh_hdr_client_app_check("Outlook/15.0.4815.1002", &why), 0);
	assert_int_equal(mbx_mh_hdr_client_app_check("MSRPC with spaces", &why), 0);
	assert_int_equal(mbx_mh_hdr_client_app_check("", &why), -1);
	assert_int_equal(mbx_mh_hdr_client_app_check("a\tb", &why), -1);
	assert_string_equal(why, "value holds a character outside printable ASCII");
	memset(v, 'a', MBX_MH_CLIENTAPP_MAX);
	v[MBX_MH_CLIENTAPP_MAX] = '\0';
	assert_int_equal(mbx_mh_hdr_client_app_check(v, &why), 0);
	v[MBX_MH_CLIENTAPP_MAX] = 'a';
	v[MBX_MH_CLIENTAPP_MAX + 1] = '\0';
	assert_int_equal(mbx_mh_hdr_client_app_check(v, &why), -1);

	/* Outlook/a.b.c.d -> {a << 8 | b, c | 0x8000, d} (gromox' derivation). */
	assert_int_equal(mbx_mh_hdr_client_version("Outlook/15.0.4815.1002", ver), 0);
	assert_int_equal(ver[0], 0x0F00);
	assert_int_equal(ver[1], 0x92CF);
	assert_int_equal(ver[2], 0x03EA);
	assert_int_equal(mbx_mh_hdr_client_version("outlook/16.0.17928.20114", ver), 0);
	assert_int_equal(ver[0], 0x1000);
	assert_int_equal(ver[1], 0xC608);
	assert_int_equal(ver[2], 0x4E92);
	assert_int_equal(mbx_mh_hdr_client_version("Outlook/15.00.0847.4040", ver), 0);
	assert_int_equal(ver[0], 0x0F00);
	assert_int_equal(ver[1], 0x834F);
	assert_int_equal(ver[2], 4040);
	assert_int_equal(mbx_mh_hdr_client_version("Outlook/255.255.32767.65535", ver), 0);
	assert_int_equal(ver[0], 0xFFFF);
	assert_int_equal(ver[1], 0xFFFF);
	assert_int_equal(ver[2], 0xFFFF);
	static const char *const no[] = {
	        "Outlook/15.0.4815",
	        "Outlook/15.0.4815.1002.1",
	        "Outlook/256.0.1.1",
	        "Outlook/1.256.1.1",
	        "Outlook/15.0.32768.1",
	        "Outlook/15.0.1.65536",
	        "Outlook/15.0.1.1 ",
	        "Outlook/15.0.1.1x",
	        "Outlook/123456.0.0.0",
	        "Outlook/15..1.1",
	        "Outlook/.0.1.1",
	        "Outlook/",
	        "Outlook",
	        "MSRPC",
	        "Outlook/+1.0.1.1",
	        "Outlook/15.0.1.-1",
	        "Outlook/ 15.0.1.1",
	        "",
	        "Outlook/15.0.1.000001",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (mbx_mh_hdr_client_version(no[i], ver) != -1)
			fail_msg("accepted \"%s\"", no[i]);
	assert_int_equal(mbx_mh_hdr_client_version(NULL, ver), -1);
}

static void test_content_type(void **state)
{
	static const char *const yes[] = {
	        "application/mapi-http",
	        "Application/MAPI-HTTP",
	        "application/mapi-http; charset=utf-8",
	        "application/mapi-http;charset=utf-8",
	        " application/mapi-http ",
	        "application/mapi-http ; a=b ; c=\"x;y \\\" z\"",
	        "application/mapi-http; a=\"\"",
	};
	static const struct {
		const char *v, *why;
	} no[] = {
	        {"application/mapi-httpx", "media type is not application/mapi-http"},
	        {"application/json", "media type is not application/mapi-http"},
	        {"application/mapi", "media type is not application/mapi-http"},
	        {"", "media type is not application/mapi-http"},
	        {"application/mapi-http x", "media type is not application/mapi-http"},
	        {"application/mapi-http;", "parameter without a name"},
	        {"application/mapi-http; a", "parameter without '='"},
	        {"application/mapi-http; a=", "parameter without a value"},
	        {"application/mapi-http; =b", "parameter without a name"},
	        {"application/mapi-http; a=\"open", "unterminated quoted parameter value"},
	        {"application/mapi-http; a=\"x\\", "bad quoted-pair in a parameter"},
	        {"application/mapi-http; a=b c", "media type is not application/mapi-http"},
	};
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (mbx_mh_hdr_content_type_check(yes[i], &why) != 0)
			fail_msg("refused \"%s\": %s", yes[i], why);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		why = NULL;
		if (mbx_mh_hdr_content_type_check(no[i].v, &why) != -1)
			fail_msg("accepted \"%s\"", no[i].v);
		if (why == NULL || strcmp(why, no[i].why) != 0)
			fail_msg("\"%s\": \"%s\", expected \"%s\"", no[i].v, why, no[i].why);
	}
	assert_int_equal(mbx_mh_hdr_content_type_check(NULL, NULL), -1);
}

static void test_cookies(void **state)
{
	const char *why = NULL, *val = NULL;
	size_t len = 0;
	char v[MBX_MH_COOKIE_VALUE_MAX + 1];

	/* Values. */
	assert_int_equal(mbx_mh_cookie_value_check("abc-DEF_0.9", 11, &why), 0);
	assert_int_equal(mbx_mh_cookie_value_check("a", 1, &why), 0);
	assert_int_equal(mbx_mh_cookie_value_check("", 0, &why), -1);
	assert_string_equal(why, "empty cookie value");
	memset(v, 'z', sizeof(v));
	assert_int_equal(mbx_mh_cookie_value_check(v, MBX_MH_COOKIE_VALUE_MAX, &why), 0);
	assert_int_equal(mbx_mh_cookie_value_check(v, MBX_MH_COOKIE_VALUE_MAX + 1, &why), -1);
	assert_string_equal(why, "cookie value too long");
	static const char *const bad[] = {"a b", "a=b", "{guid}", "a;b",         "\"a\"",
	                                  "a+b", "a/b", "a\x01",  "caf\xc3\xa9", "a,b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mbx_mh_cookie_value_check(bad[i], strlen(bad[i]), &why) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_string_equal(why, "cookie value holds a character we never issue");
	/* A NUL inside the given length is refused too. */
	assert_int_equal(mbx_mh_cookie_value_check("ab\0c", 4, &why), -1);

	/* Finding them in a Cookie header. */
	assert_int_equal(mbx_mh_cookie_find("MapiContext=abc; MapiSequence=def",
	                                    MBX_MH_COOKIE_CONTEXT, &val, &len, &why),
	                 1);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "abc", 3);
	assert_int_equal(mbx_mh_cookie_find("MapiContext=abc; MapiSequence=def",
	                                    MBX_MH_COOKIE_SEQUENCE, &val, &len, &why),
	                 1);
	assert_memory_equal(val, "def", 3);
	assert_int_equal(
	        mbx_mh_cookie_find("MapiContext=abc", MBX_MH_COOKIE_SEQUENCE, &val, &len, &why), 0);
	assert_int_equal(
	        mbx_mh_cookie_find("mapicontext=abc", MBX_MH_COOKIE_CONTEXT, &val, &len, &why), 0);
	assert_int_equal(mbx_mh_cookie_find("XMapiContext=abc; MapiContextX=d",
	                                    MBX_MH_COOKIE_CONTEXT, &val, &len, &why),
	                 0);
	assert_int_equal(mbx_mh_cookie_find(" MapiContext = abc ; ;other=1;", MBX_MH_COOKIE_CONTEXT,
	                                    &val, &len, &why),
	                 1);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "abc", 3);
	assert_int_equal(
	        mbx_mh_cookie_find("MapiContext=", MBX_MH_COOKIE_CONTEXT, &val, &len, &why), 1);
	assert_int_equal(len, 0);
	assert_int_equal(
	        mbx_mh_cookie_find("a=b=c; MapiContext=x", MBX_MH_COOKIE_CONTEXT, &val, &len, &why),
	        1);
	assert_memory_equal(val, "x", 1);
	assert_int_equal(mbx_mh_cookie_find("", MBX_MH_COOKIE_CONTEXT, &val, &len, &why), 0);
	assert_int_equal(mbx_mh_cookie_find(NULL, MBX_MH_COOKIE_CONTEXT, &val, &len, &why), 0);
	assert_int_equal(mbx_mh_cookie_find("MapiContext=a; MapiContext=b", MBX_MH_COOKIE_CONTEXT,
	                                    &val, &len, &why),
	                 -1);
	assert_string_equal(why, "cookie given twice");
	assert_int_equal(mbx_mh_cookie_find("MapiContext", MBX_MH_COOKIE_CONTEXT, &val, &len, &why),
	                 -1);
	assert_string_equal(why, "cookie pair without '='");
	assert_int_equal(
	        mbx_mh_cookie_find("=x; MapiContext=a", MBX_MH_COOKIE_CONTEXT, &val, &len, &why),
	        -1);
	assert_string_equal(why, "cookie pair without a name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_env_done),
	        cmocka_unit_test(test_env_example_41),
	        cmocka_unit_test(test_env_example_42_chunks),
	        cmocka_unit_test(test_http_date),
	        cmocka_unit_test(test_parse_example_41),
	        cmocka_unit_test(test_parse_pending),
	        cmocka_unit_test(test_parse_gromox),
	        cmocka_unit_test(test_parse_headers_tolerated),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_parse_sticky),
	        cmocka_unit_test(test_response_codes),
	        cmocka_unit_test(test_request_types),
	        cmocka_unit_test(test_request_id),
	        cmocka_unit_test(test_client_app),
	        cmocka_unit_test(test_content_type),
	        cmocka_unit_test(test_cookies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
