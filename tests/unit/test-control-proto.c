/*
 * test-control-proto.c: unit tests of the pure half of the control socket protocol
 * (include/mbx/control.h, src/daemon/control-proto.c): the request line parser (valid lines,
 * every refused byte, the argument and length limits, bad magic and format, a truncation sweep),
 * the request writer (round trips, refusals, the exact-fit boundary) and the status-line parser.
 * The daemon's side for real is test-control.c.
 */
#include <stdbool.h>

#include "mbx-test.h"
#include "mbx/control.h"

/* ---- the parser -------------------------------------------------------------------------------
 */

static int parse_str(const char *s, struct mbx_control_request *req, char *err, size_t errsize)
{
	return mbx_control_request_parse(s, strlen(s), req, err, errsize);
}

static void expect_refused(const char *line, size_t len, const char *want)
{
	struct mbx_control_request req;
	char err[200] = "";

	if (mbx_control_request_parse(line, len, &req, err, sizeof(err)) != -1)
		fail_msg("accepted: \"%.*s\"", (int)len, line);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(req.argc, 0);
	assert_null(req.argv[0]);
}

static void test_parse_valid(void **state)
{
	struct mbx_control_request req;
	char err[200];

	(void)state;
	assert_int_equal(parse_str("MBXCTL/1\ttext\tmailbox\tshow\t/o=Contoso/cn=Recipients/cn=a\n",
	                           &req, err, sizeof(err)),
	                 0);
	assert_false(req.json);
	assert_int_equal(req.argc, 3);
	assert_string_equal(req.argv[0], "mailbox");
	assert_string_equal(req.argv[1], "show");
	assert_string_equal(req.argv[2], "/o=Contoso/cn=Recipients/cn=a");
	assert_null(req.argv[3]);

	assert_int_equal(parse_str("MBXCTL/1\tjson\tsessions\n", &req, err, sizeof(err)), 0);
	assert_true(req.json);
	assert_int_equal(req.argc, 1);
	assert_string_equal(req.argv[0], "sessions");
	assert_null(req.argv[1]);

	/* bytes after the LF are not looked at (even bad ones) */
	assert_int_equal(
	        parse_str("MBXCTL/1\ttext\treload\n\x01\x02garbage", &req, err, sizeof(err)), 0);
	assert_int_equal(req.argc, 1);
	assert_string_equal(req.argv[0], "reload");

	/* spaces and UTF-8 (any byte >= 0x80) are argument bytes */
	assert_int_equal(parse_str("MBXCTL/1\ttext\tmove\tstart\tj\xc3\xb6rg m@x.example\t--to\t"
	                           "\xff\x80\n",
	                           &req, err, sizeof(err)),
	                 0);
	assert_int_equal(req.argc, 5);
	assert_string_equal(req.argv[2], "j\xc3\xb6rg m@x.example");
	assert_string_equal(req.argv[4], "\xff\x80");
}

static void test_parse_every_byte(void **state)
{
	char line[64], err[200];
	struct mbx_control_request req;

	(void)state;
	for (int b = 0; b < 256; b++) {
		int n = snprintf(line, sizeof(line), "MBXCTL/1\ttext\ttrace\tab");
		int rc;

		line[n++] = (char)b;
		line[n++] = 'c';
		line[n++] = '\n';
		err[0] = '\0';
		rc = mbx_control_request_parse(line, (size_t)n, &req, err, sizeof(err));
		if (b == '\t') { /* a separator: two args */
			assert_int_equal(rc, 0);
			assert_int_equal(req.argc, 3);
			assert_string_equal(req.argv[1], "ab");
			assert_string_equal(req.argv[2], "c");
		} else if (b == '\n') { /* the end of the line: "c\n" is after it */
			assert_int_equal(rc, 0);
			assert_int_equal(req.argc, 2);
			assert_string_equal(req.argv[1], "ab");
		} else if (b < 0x20 || b == 0x7F) {
			char want[40];

			assert_int_equal(rc, -1);
			snprintf(want, sizeof(want), "byte 0x%02X in argument 2", b);
			assert_string_equal(err, want);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(req.argc, 2);
			assert_int_equal(strlen(req.argv[1]), 4);
			assert_int_equal((unsigned char)req.argv[1][2], b);
		}
	}
	/* a CR of a CRLF line is refused too */
	expect_refused("MBXCTL/1\ttext\tsessions\r\n", 25, "byte 0x0D in argument 1");
	/* a NUL inside an argument */
	expect_refused("MBXCTL/1\ttext\tses\0sions\n", 24, "byte 0x00 in argument 1");
}

static void test_parse_args_limit(void **state)
{
	char line[MBX_CONTROL_REQ_MAX + 64], err[200];
	struct mbx_control_request req;
	int n = snprintf(line, sizeof(line), "MBXCTL/1\ttext");

	(void)state;
	for (int i = 0; i < MBX_CONTROL_ARGS_MAX; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "\ta%d", i);
	line[n] = '\n';
	assert_int_equal(mbx_control_request_parse(line, (size_t)n + 1, &req, err, sizeof(err)), 0);
	assert_int_equal(req.argc, MBX_CONTROL_ARGS_MAX);
	assert_string_equal(req.argv[MBX_CONTROL_ARGS_MAX - 1], "a31");
	assert_null(req.argv[MBX_CONTROL_ARGS_MAX]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\tone-more\n");
	expect_refused(line, (size_t)n, "more than 32 arguments");
}

static void test_parse_length(void **state)
{
	char *line = malloc(MBX_CONTROL_REQ_MAX + 16);
	struct mbx_control_request req;
	char err[200];
	size_t hdr = strlen("MBXCTL/1\ttext\t");

	(void)state;
	assert_non_null(line);
	memcpy(line, "MBXCTL/1\ttext\t", hdr);
	/* exactly MBX_CONTROL_REQ_MAX bytes, LF included: accepted */
	memset(line + hdr, 'x', MBX_CONTROL_REQ_MAX - hdr - 1);
	line[MBX_CONTROL_REQ_MAX - 1] = '\n';
	assert_int_equal(
	        mbx_control_request_parse(line, MBX_CONTROL_REQ_MAX, &req, err, sizeof(err)), 0);
	assert_int_equal(strlen(req.argv[0]), MBX_CONTROL_REQ_MAX - hdr - 1);
	/* one more: the LF is byte 4097 */
	memset(line + hdr, 'x', MBX_CONTROL_REQ_MAX - hdr);
	line[MBX_CONTROL_REQ_MAX] = '\n';
	expect_refused(line, MBX_CONTROL_REQ_MAX + 1, "no LF within 4096 bytes");
	/* 4096 bytes and no LF at all */
	expect_refused(line, MBX_CONTROL_REQ_MAX, "no LF within 4096 bytes");
	/* shorter, no LF: cut off */
	expect_refused(line, 100, "request of 100 bytes ends without LF");
	expect_refused("", 0, "empty request");
	free(line);
}

static void test_parse_bad_header(void **state)
{
	(void)state;
	expect_refused("MBXCTL/2\ttext\tsessions\n", 23, "unknown protocol \"MBXCTL/2\"");
	expect_refused("mbxctl/1\ttext\tsessions\n", 23, "unknown protocol \"mbxctl/1\"");
	expect_refused("GET / HTTP/1.1\r\n", 16, "unknown protocol \"GET / HTTP/1.1\\x0d\"");
	expect_refused("\n", 1, "unknown protocol \"\"");
	expect_refused("MBXCTL/1\n", 9, "format must be text or json");
	expect_refused("MBXCTL/1\t\tsessions\n", 19, "format must be text or json");
	expect_refused("MBXCTL/1\tTEXT\tsessions\n", 23, "format must be text or json");
	expect_refused("MBXCTL/1\txml\tsessions\n", 22, "format must be text or json");
	expect_refused("MBXCTL/1\tjsonx\tsessions\n", 24, "format must be text or json");
	expect_refused("MBXCTL/1\ttext\n", 14, "no command");
	expect_refused("MBXCTL/1\ttext\t\n", 15, "empty argument 1");
	expect_refused("MBXCTL/1\ttext\ta\t\tb\n", 19, "empty argument 2");
	expect_refused("MBXCTL/1\ttext\ta\t\n", 17, "empty argument 2");
	/* a long unknown magic is cut in the message */
	{
		char line[300], err[200];
		struct mbx_control_request req;

		memset(line, 'M', 250);
		line[250] = '\n';
		assert_int_equal(mbx_control_request_parse(line, 251, &req, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "unknown protocol \"MMMM"));
		assert_non_null(strstr(err, "...\""));
		assert_true(strlen(err) < 100);
	}
}

static void test_parse_truncation_sweep(void **state)
{
	static const char *const lines[] = {
	        "MBXCTL/1\ttext\tmailbox\tshow\tuser@contoso.example\n",
	        "MBXCTL/1\tjson\tmove\tcomplete\t/o=C/cn=a\t--cross-forest\tSMTP:a@b.example\n",
	        "MBXCTL/1\ttext\tx\n",
	};
	struct mbx_control_request req;
	char err[200];

	(void)state;
	for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
		size_t len = strlen(lines[l]);

		assert_int_equal(mbx_control_request_parse(lines[l], len, &req, err, sizeof(err)),
		                 0);
		for (size_t n = 0; n < len; n++) {
			char *copy = malloc(n > 0 ? n : 1); /* exact size: ASan sees an overread */

			assert_non_null(copy);
			memcpy(copy, lines[l], n);
			err[0] = '\0';
			assert_int_equal(mbx_control_request_parse(copy, n, &req, err, sizeof(err)),
			                 -1);
			assert_true(err[0] != '\0');
			assert_int_equal(req.argc, 0);
			free(copy);
		}
	}
}

/* ---- the writer -------------------------------------------------------------------------------
 */

static void roundtrip(bool json, int argc, const char *const *argv)
{
	char out[MBX_CONTROL_REQ_MAX + 1], err[200];
	struct mbx_control_request req;
	int n = mbx_control_request_format(json, argc, argv, out, sizeof(out), err, sizeof(err));

	if (n < 0)
		fail_msg("format failed: %s", err);
	assert_int_equal(strlen(out), (size_t)n);
	assert_int_equal(out[n - 1], '\n');
	assert_int_equal(mbx_control_request_parse(out, (size_t)n, &req, err, sizeof(err)), 0);
	assert_int_equal(req.json, json);
	assert_int_equal(req.argc, argc);
	for (int i = 0; i < argc; i++)
		assert_string_equal(req.argv[i], argv[i]);
}

static void test_format_roundtrip(void **state)
{
	static const char *const a1[] = {"sessions"};
	static const char *const a2[] = {"move", "start", "user@contoso.example", "--to", "DB02"};
	static const char dn[] = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
	                         "/cn=Recipients/cn=j\xc3\xb6rg";
	static const char *const a3[] = {"mailbox", "show", dn};
	const char *many[MBX_CONTROL_ARGS_MAX];
	char out[MBX_CONTROL_REQ_MAX + 1], err[200];
	int n;

	(void)state;
	roundtrip(false, 1, a1);
	roundtrip(true, 1, a1);
	roundtrip(false, 5, a2);
	roundtrip(true, 3, a3);
	for (int i = 0; i < MBX_CONTROL_ARGS_MAX; i++)
		many[i] = "x";
	roundtrip(false, MBX_CONTROL_ARGS_MAX, many);

	n = mbx_control_request_format(false, 1, a1, out, sizeof(out), err, sizeof(err));
	assert_int_equal(n, 23);
	assert_string_equal(out, "MBXCTL/1\ttext\tsessions\n");
	n = mbx_control_request_format(true, 2, (const char *const[]){"trace", "all"}, out,
	                               sizeof(out), err, sizeof(err));
	assert_string_equal(out, "MBXCTL/1\tjson\ttrace\tall\n");
	assert_int_equal(n, 24);
}

static void expect_format_refused(int argc, const char *const *argv, size_t size, const char *want)
{
	char out[MBX_CONTROL_REQ_MAX + 8], err[200] = "";

	assert_true(size <= sizeof(out));
	if (mbx_control_request_format(false, argc, argv, out, size, err, sizeof(err)) != -1)
		fail_msg("format accepted what it should refuse (%s)", want);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_format_refused(void **state)
{
	static char big[MBX_CONTROL_REQ_MAX + 2];
	const char *many[MBX_CONTROL_ARGS_MAX + 1];
	size_t room = MBX_CONTROL_REQ_MAX + 1;

	(void)state;
	expect_format_refused(0, (const char *const[]){NULL}, room, "no command");
	expect_format_refused(2, (const char *const[]){"trace", "a\tb"}, room,
	                      "byte 0x09 in argument 2");
	expect_format_refused(1, (const char *const[]){"a\nb"}, room, "byte 0x0A in argument 1");
	expect_format_refused(1, (const char *const[]){"a\rb"}, room, "byte 0x0D in argument 1");
	expect_format_refused(1, (const char *const[]){"a\x7f"}, room, "byte 0x7F in argument 1");
	expect_format_refused(1, (const char *const[]){"\x1b[0m"}, room, "byte 0x1B in argument 1");
	expect_format_refused(2, (const char *const[]){"mailbox", ""}, room, "empty argument 2");
	for (int i = 0; i <= MBX_CONTROL_ARGS_MAX; i++)
		many[i] = "x";
	expect_format_refused(MBX_CONTROL_ARGS_MAX + 1, many, room, "more than 32 arguments");

	/* the whole line at MBX_CONTROL_REQ_MAX: fits; one more byte: refused */
	memset(big, 'y', sizeof(big) - 1);
	big[MBX_CONTROL_REQ_MAX - 15] = '\0'; /* 14 bytes of header, 1 LF */
	{
		char out[MBX_CONTROL_REQ_MAX + 1], err[200];
		const char *argv[] = {big};

		assert_int_equal(mbx_control_request_format(false, 1, argv, out, sizeof(out), err,
		                                            sizeof(err)),
		                 MBX_CONTROL_REQ_MAX);
		/* the buffer must hold the NUL too */
		expect_format_refused(1, argv, MBX_CONTROL_REQ_MAX, "no room");
		big[MBX_CONTROL_REQ_MAX - 15] = 'y';
		big[MBX_CONTROL_REQ_MAX - 14] = '\0';
		expect_format_refused(1, argv, room, "longer than 4096 bytes");
		big[MBX_CONTROL_REQ_MAX - 14] = 'y';
		expect_format_refused(1, argv, room, "longer than 4096 bytes"); /* 4097-byte arg */
	}
	expect_format_refused(1, (const char *const[]){"sessions"}, 23, "no room");
}

/* ---- the status line --------------------------------------------------------------------------
 */

static void expect_status(const char *line, int want_rc, int want_exit, const char *want_msg)
{
	char msg[MBX_CONTROL_MSG_MAX + 1] = "junk";
	int ex = -7;
	int rc = mbx_control_status_parse(line, strlen(line), &ex, msg, sizeof(msg));

	if (rc != want_rc)
		fail_msg("\"%s\": rc %d, expected %d", line, rc, want_rc);
	if (rc == 0) {
		assert_int_equal(ex, want_exit);
		assert_string_equal(msg, want_msg);
	}
}

static void test_status_parse(void **state)
{
	char line[MBX_CONTROL_MSG_MAX + 32], msg[8];
	int ex = 0;

	(void)state;
	expect_status("OK", 0, 0, "");
	expect_status("OK\n", 0, 0, "");
	expect_status("ERR 3 no such mailbox: a@b.example\n", 0, 3, "no such mailbox: a@b.example");
	expect_status("ERR 1 busy", 0, 1, "busy");
	expect_status("ERR 125 x\n", 0, 125, "x");
	expect_status("ERR 002 leading zeros\n", 0, 2, "leading zeros");
	expect_status("ERR 4 \n", 0, 4, "");
	expect_status("ERR 5 j\xc3\xb6rg\n", 0, 5, "j\xc3\xb6rg");

	expect_status("", -1, 0, NULL);
	expect_status("\n", -1, 0, NULL);
	expect_status("OK\n\n", -1, 0, NULL);
	expect_status("OK \n", -1, 0, NULL);
	expect_status("ok\n", -1, 0, NULL);
	expect_status("OKAY\n", -1, 0, NULL);
	expect_status("ERR\n", -1, 0, NULL);
	expect_status("ERR 3\n", -1, 0, NULL);
	expect_status("ERR 3", -1, 0, NULL);
	expect_status("ERR  3 x\n", -1, 0, NULL);
	expect_status("ERR 0 x\n", -1, 0, NULL);
	expect_status("ERR 126 x\n", -1, 0, NULL);
	expect_status("ERR 1000 x\n", -1, 0, NULL);
	expect_status("ERR x y\n", -1, 0, NULL);
	expect_status("ERR -1 y\n", -1, 0, NULL);
	expect_status("ERR 3x y\n", -1, 0, NULL);
	expect_status("ERR 3 a\tb\n", -1, 0, NULL);
	expect_status("ERR 3 a\nb\n", -1, 0, NULL);
	expect_status("ERR 3 a\rb\n", -1, 0, NULL);
	expect_status("ERR 3 a\x7f\n", -1, 0, NULL);

	/* message length: MSG_MAX accepted, one more refused */
	snprintf(line, sizeof(line), "ERR 2 ");
	memset(line + 6, 'm', MBX_CONTROL_MSG_MAX);
	line[6 + MBX_CONTROL_MSG_MAX] = '\n';
	line[7 + MBX_CONTROL_MSG_MAX] = '\0';
	assert_int_equal(mbx_control_status_parse(line, strlen(line), &ex, NULL, 0), 0);
	assert_int_equal(ex, 2);
	line[6 + MBX_CONTROL_MSG_MAX] = 'm';
	line[7 + MBX_CONTROL_MSG_MAX] = '\n';
	line[8 + MBX_CONTROL_MSG_MAX] = '\0';
	assert_int_equal(mbx_control_status_parse(line, strlen(line), &ex, NULL, 0), -1);

	/* a small message buffer gets the start of the message */
	assert_int_equal(
	        mbx_control_status_parse("ERR 1 a long message", 20, &ex, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "a long ");

	/* every prefix of an ERR line shorter than "ERR n " is refused, no read past len */
	{
		static const char full[] = "ERR 12 message\n";

		for (size_t n = 0; n < 7; n++) {
			char *copy = malloc(n > 0 ? n : 1);

			assert_non_null(copy);
			memcpy(copy, full, n);
			assert_int_equal(mbx_control_status_parse(copy, n, &ex, NULL, 0), -1);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_valid),
	        cmocka_unit_test(test_parse_every_byte),
	        cmocka_unit_test(test_parse_args_limit),
	        cmocka_unit_test(test_parse_length),
	        cmocka_unit_test(test_parse_bad_header),
	        cmocka_unit_test(test_parse_truncation_sweep),
	        cmocka_unit_test(test_format_roundtrip),
	        cmocka_unit_test(test_format_refused),
	        cmocka_unit_test(test_status_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
