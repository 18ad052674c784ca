/*
 * test-control.c: unit tests of the control socket (include/mbx/control.h): the request parser
 * and writer and the status-line parser (src/daemon/control-proto.c), the peer check, and the
 * daemon's side (src/daemon/control.c) for real: a listener on an event_base with its socket in
 * a temporary folder, clients on plain sockets, a fake handler answering now, later from a
 * timer, after the client left, or never (the control freed first).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx-test.h"
#include "mbx/control.h"
#include "mbx/log.h"

/* ---- log capture ------------------------------------------------------------------------------
 */

#define LOG_LINES 256
static char logs[LOG_LINES][600];
static size_t nlogs;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	if (nlogs < LOG_LINES)
		snprintf(logs[nlogs++], sizeof(logs[0]), "%s", line);
}

static bool logged(const char *needle)
{
	for (size_t i = 0; i < nlogs; i++)
		if (strstr(logs[i], needle) != NULL)
			return true;
	return false;
}

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

/* ---- the peer check ---------------------------------------------------------------------------
 */

static void test_peer_allowed(void **state)
{
	struct group *g;
	bool member_tested = false;

	(void)state;
	assert_true(mbx_control_peer_allowed(0, 0, 999, 998));
	assert_true(mbx_control_peer_allowed(0, 4242, (uid_t)-1, (gid_t)-1));
	assert_true(mbx_control_peer_allowed(999, 4242, 999, 998));
	assert_true(mbx_control_peer_allowed(4243, 998, 999, 998));
	assert_false(mbx_control_peer_allowed(4243, 4243, 999, 998));
	assert_false(mbx_control_peer_allowed(4243, 4243, (uid_t)-1, (gid_t)-1));
	assert_false(mbx_control_peer_allowed(4243, (gid_t)-1, 999, (gid_t)-1));
	/* (uid_t)-1 as allowed_uid allows nobody by uid */
	assert_false(mbx_control_peer_allowed((uid_t)-1, 4243, (uid_t)-1, 998));

	/* a member of the group's member list (a supplementary group) */
	setgrent();
	while (!member_tested && (g = getgrent()) != NULL) {
		for (char **m = g->gr_mem; m != NULL && *m != NULL; m++) {
			struct passwd *pw = getpwnam(*m);

			if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == g->gr_gid)
				continue;
			assert_true(mbx_control_peer_allowed(pw->pw_uid, pw->pw_gid, (uid_t)-1,
			                                     g->gr_gid));
			/* the same user against a group it is not in */
			member_tested = true;
			break;
		}
	}
	endgrent();
	if (!member_tested)
		print_message("note: no group with a member list here; member check not run\n");
	/* a uid that has no passwd entry is no member of anything */
	assert_false(mbx_control_peer_allowed(3999999, 3999999, (uid_t)-1, 0));
}

/* ---- the server -------------------------------------------------------------------------------
 */

enum fake_mode { FAKE_OK, FAKE_ERR, FAKE_LATER, FAKE_KEEP };

struct fake {
	enum fake_mode mode;
	int calls;
	uid_t uid;
	char argv0[64];
	int argc;
	bool json;
	struct mbx_control_reply *kept; /* FAKE_LATER / FAKE_KEEP */
	struct event *timer;
	int answered_later;
};

struct env {
	struct event_base *base;
	char dir[64];
	char path[128];
	struct fake fake;
	struct mbx_control *c;
};

static void fake_answer(struct fake *f, struct mbx_control_reply *r)
{
	if (strcmp(f->argv0, "fail") == 0)
		mbx_control_reply_error(r, MBX_CTL_NOT_FOUND, "no such mailbox: %s", "x@y.example");
	else if (strcmp(f->argv0, "ctlbytes") == 0)
		mbx_control_reply_error(r, MBX_CTL_FAILED,
		                        "line1\nline2\t\x01"
		                        "end");
	else if (strcmp(f->argv0, "longmsg") == 0)
		mbx_control_reply_error(r, MBX_CTL_FAILED, "%0700d", 7);
	else if (strcmp(f->argv0, "empty") == 0)
		mbx_control_reply_ok(r, NULL, 0);
	else if (mbx_control_reply_json(r))
		mbx_control_reply_ok(r, "{\"sessions\": [], \"count\": 0}\n", 29);
	else
		mbx_control_reply_ok(r, "hello\nworld\n", 12);
}

static void fake_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	struct mbx_control_reply *r = f->kept;

	(void)fd;
	(void)what;
	f->kept = NULL;
	f->answered_later++;
	fake_answer(f, r);
}

static void fake_handler(void *ctx, const struct mbx_control_request *req, uid_t peer_uid,
                         struct mbx_control_reply *reply)
{
	struct fake *f = ctx;

	f->calls++;
	f->uid = peer_uid;
	f->argc = req->argc;
	f->json = req->json;
	snprintf(f->argv0, sizeof(f->argv0), "%s", req->argv[0]);
	assert_int_equal(mbx_control_reply_json(reply), req->json);
	switch (f->mode) {
	case FAKE_OK:
	case FAKE_ERR:
		fake_answer(f, reply);
		break;
	case FAKE_LATER: {
		struct timeval tv = {0, 50000};

		assert_null(f->kept);
		f->kept = reply;
		evtimer_add(f->timer, &tv);
		break;
	}
	case FAKE_KEEP:
		assert_null(f->kept);
		f->kept = reply;
		/* req stays valid until answered */
		break;
	}
}

static struct mbx_control_config env_config(struct env *e, unsigned mode)
{
	struct mbx_control_config cfg = {
	        .base = e->base,
	        .path = e->path,
	        .mode = mode,
	        .group = NULL,
	        .allowed_uid = getuid(),
	        .owner_uid = (uid_t)-1,
	        .owner_gid = (gid_t)-1,
	        .handler = fake_handler,
	        .ctx = &e->fake,
	};
	return cfg;
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct mbx_control_config cfg;
	char err[256];

	assert_non_null(e);
	signal(SIGPIPE, SIG_IGN);
	e->base = event_base_new();
	assert_non_null(e->base);
	snprintf(e->dir, sizeof(e->dir), "/tmp/mbx-ctl-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(chmod(e->dir, 0755), 0);
	snprintf(e->path, sizeof(e->path), "%s/control.sock", e->dir);
	e->fake.timer = evtimer_new(e->base, fake_timer_cb, &e->fake);
	assert_non_null(e->fake.timer);
	cfg = env_config(e, 0660);
	e->c = mbx_control_new(&cfg, err, sizeof(err));
	if (e->c == NULL)
		fail_msg("mbx_control_new: %s", err);
	nlogs = 0;
	mbx_log_set_hook(log_hook, NULL);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	mbx_log_set_hook(NULL, NULL);
	mbx_control_free(&e->c);
	assert_null(e->c);
	if (e->fake.kept != NULL) /* answered after the control is gone: dropped */
		mbx_control_reply_ok(e->fake.kept, "late", 4);
	event_free(e->fake.timer);
	event_base_free(e->base);
	unlink(e->path);
	assert_int_equal(rmdir(e->dir), 0); /* nothing left behind */
	free(e);
	return 0;
}

/* The socket path into sun_path (the tests' paths are short). */
static void sun_set(struct sockaddr_un *sun, const char *path)
{
	size_t n = strlen(path);

	if (n >= sizeof(sun->sun_path))
		abort();
	memcpy(sun->sun_path, path, n + 1);
}

static int client_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sun_set(&sun, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void client_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop until the client's fd sees EOF; returns what it read (NUL-terminated, in
 * out). Fails the test after limit_s seconds. */
static size_t client_read_all(struct env *e, int fd, char *out, size_t size, double limit_s)
{
	double end = now_s() + limit_s;
	size_t len = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		event_base_loop(e->base, EVLOOP_NONBLOCK);
		(void)poll(&p, 1, 2);
		r = read(fd, out + len, size - 1 - len);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			break;
		if (r > 0) {
			len += (size_t)r;
			assert_true(len < size - 1);
			continue;
		}
		assert_true(errno == EAGAIN);
		if (now_s() > end)
			fail_msg("no EOF within %.1f s (read %zu bytes: \"%.*s\")", limit_s, len,
			         (int)len, out);
	}
	out[len] = '\0';
	return len;
}

/* Runs the loop until cond(e) or limit_s. */
static void loop_until(struct env *e, bool (*cond)(struct env *), double limit_s)
{
	double end = now_s() + limit_s;

	while (!cond(e)) {
		struct timeval tv = {0, 2000};

		if (now_s() > end)
			fail_msg("condition not reached within %.1f s", limit_s);
		event_base_loopexit(e->base, &tv);
		event_base_dispatch(e->base);
	}
}

static bool no_clients(struct env *e)
{
	return mbx_control_clients(e->c) == 0;
}

static bool kept_reply(struct env *e)
{
	return e->fake.kept != NULL;
}

/* One request, the whole answer. */
static void ask(struct env *e, const char *req, char *out, size_t size)
{
	int fd = client_connect(e->path);

	client_send(fd, req, strlen(req));
	client_read_all(e, fd, out, size, 5);
	close(fd);
	loop_until(e, no_clients, 2);
}

static void test_server_ok(void **state)
{
	struct env *e = *state;
	char out[4096], want[64];
	struct stat st;

	assert_int_equal(lstat(e->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);

	ask(e, "MBXCTL/1\ttext\tmailbox\tshow\tuser@contoso.example\n", out, sizeof(out));
	assert_string_equal(out, "OK\nhello\nworld\n");
	assert_int_equal(e->fake.calls, 1);
	assert_int_equal(e->fake.argc, 3);
	assert_string_equal(e->fake.argv0, "mailbox");
	assert_int_equal(e->fake.uid, getuid());
	snprintf(want, sizeof(want), "control: uid %u runs \"mailbox\" \"show\" ...",
	         (unsigned)getuid());
	assert_true(logged(want));
	assert_int_equal(mbx_control_clients(e->c), 0);

	ask(e, "MBXCTL/1\tjson\tsessions\n", out, sizeof(out));
	assert_string_equal(out, "OK\n{\"sessions\": [], \"count\": 0}\n");
	assert_true(e->fake.json);
	snprintf(want, sizeof(want), "control: uid %u runs \"sessions\"", (unsigned)getuid());
	assert_true(logged(want));

	ask(e, "MBXCTL/1\ttext\tempty\n", out, sizeof(out));
	assert_string_equal(out, "OK\n");
	/* bytes after the LF are ignored */
	ask(e, "MBXCTL/1\ttext\treload\nMBXCTL/1\ttext\tsessions\n", out, sizeof(out));
	assert_string_equal(out, "OK\nhello\nworld\n");
	assert_int_equal(e->fake.calls, 4);
}

static void test_server_errors(void **state)
{
	struct env *e = *state;
	char out[4096];

	ask(e, "MBXCTL/1\ttext\tfail\n", out, sizeof(out));
	assert_string_equal(out, "ERR 3 no such mailbox: x@y.example\n");
	ask(e, "MBXCTL/1\tjson\tfail\n", out, sizeof(out));
	assert_string_equal(out, "ERR 3 no such mailbox: x@y.example\n"
	                         "{\"error\":\"no such mailbox: x@y.example\",\"status\":3}\n");
	/* control bytes replaced: the status is one line */
	ask(e, "MBXCTL/1\ttext\tctlbytes\n", out, sizeof(out));
	assert_string_equal(out, "ERR 1 line1?line2??end\n");
	/* a long message is cut at MBX_CONTROL_MSG_MAX */
	ask(e, "MBXCTL/1\ttext\tlongmsg\n", out, sizeof(out));
	assert_int_equal(strlen(out), 6 + MBX_CONTROL_MSG_MAX + 1);
	{
		int ex;
		char msg[MBX_CONTROL_MSG_MAX + 1];

		assert_int_equal(mbx_control_status_parse(out, strlen(out), &ex, msg, sizeof(msg)),
		                 0);
		assert_int_equal(ex, 1);
		assert_int_equal(strlen(msg), MBX_CONTROL_MSG_MAX);
	}
}

static void test_server_bad_requests(void **state)
{
	struct env *e = *state;
	char out[4096], big[MBX_CONTROL_REQ_MAX + 1000];
	int fd;

	ask(e, "HELLO\n", out, sizeof(out));
	assert_string_equal(out, "ERR 2 unknown protocol \"HELLO\"\n");
	assert_true(logged("bad request: unknown protocol \"HELLO\""));
	ask(e, "MBXCTL/1\tjson\tsessions\r\n", out, sizeof(out));
	assert_string_equal(out, "ERR 2 byte 0x0D in argument 1\n");
	ask(e, "MBXCTL/1\tyaml\tsessions\n", out, sizeof(out));
	assert_string_equal(out, "ERR 2 format must be text or json\n");
	assert_int_equal(e->fake.calls, 0);

	/* a line longer than the limit */
	fd = client_connect(e->path);
	memset(big, 'a', sizeof(big));
	client_send(fd, big, sizeof(big));
	client_read_all(e, fd, out, sizeof(out), 5);
	close(fd);
	assert_string_equal(out, "ERR 2 no LF within 4096 bytes\n");
	loop_until(e, no_clients, 2);

	/* a cut line, then the client's half-close */
	fd = client_connect(e->path);
	client_send(fd, "MBXCTL/1\ttext\tsess", 18);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	client_read_all(e, fd, out, sizeof(out), 5);
	close(fd);
	assert_string_equal(out, "ERR 2 request of 18 bytes ends without LF\n");
	loop_until(e, no_clients, 2);

	/* connect and close without a byte: closed quietly */
	nlogs = 0;
	fd = client_connect(e->path);
	close(fd);
	loop_until(e, no_clients, 2);
	assert_int_equal(nlogs, 0);
	assert_int_equal(e->fake.calls, 0);
}

static void test_server_later(void **state)
{
	struct env *e = *state;
	char out[4096];
	int fd;

	e->fake.mode = FAKE_LATER;
	ask(e, "MBXCTL/1\ttext\tsessions\n", out, sizeof(out));
	assert_string_equal(out, "OK\nhello\nworld\n");
	assert_int_equal(e->fake.answered_later, 1);
	ask(e, "MBXCTL/1\tjson\tfail\n", out, sizeof(out));
	assert_string_equal(out, "ERR 3 no such mailbox: x@y.example\n"
	                         "{\"error\":\"no such mailbox: x@y.example\",\"status\":3}\n");
	assert_int_equal(e->fake.answered_later, 2);

	/* the client half-closes after its request: it still gets the answer */
	fd = client_connect(e->path);
	client_send(fd, "MBXCTL/1\ttext\tsessions\n", 23);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	client_read_all(e, fd, out, sizeof(out), 5);
	close(fd);
	assert_string_equal(out, "OK\nhello\nworld\n");
	loop_until(e, no_clients, 2);
	assert_int_equal(e->fake.answered_later, 3);
}

static void test_server_client_gone(void **state)
{
	struct env *e = *state;
	int fd;

	/* the client leaves while the handler works: the late answer is written into a closed
	 * socket (EPIPE), the connection ends, nothing leaks */
	e->fake.mode = FAKE_KEEP;
	fd = client_connect(e->path);
	client_send(fd, "MBXCTL/1\ttext\tmove\tstart\ta@b.example\t--to\tDB02\n", 47);
	loop_until(e, kept_reply, 2);
	assert_int_equal(mbx_control_clients(e->c), 1);
	close(fd);
	{
		struct timeval tv = {0, 20000};

		event_base_loopexit(e->base, &tv);
		event_base_dispatch(e->base);
	}
	fake_timer_cb(-1, 0, &e->fake); /* answers now */
	loop_until(e, no_clients, 2);

	/* the control freed while a reply is pending: answering it later drops the answer */
	fd = client_connect(e->path);
	client_send(fd, "MBXCTL/1\ttext\tsessions\n", 23);
	loop_until(e, kept_reply, 2);
	mbx_control_free(&e->c);
	{
		char out[64];
		struct pollfd p = {.fd = fd, .events = POLLIN};

		/* libevent closes a freed bufferevent's socket from the loop (finalizers) */
		event_base_loop(e->base, EVLOOP_NONBLOCK);
		assert_int_equal(poll(&p, 1, 1000), 1);
		assert_int_equal(read(fd, out, sizeof(out)), 0); /* dropped: EOF */
	}
	close(fd);
	mbx_control_reply_ok(e->fake.kept, "late", 4);
	e->fake.kept = NULL;
	/* and the socket file is gone */
	assert_int_equal(access(e->path, F_OK), -1);
}

static void test_server_timeout(void **state)
{
	struct env *e = *state;
	char out[256];
	double t0 = now_s(), took;
	int fd = client_connect(e->path);

	client_send(fd, "MBXCTL/1\tte", 11); /* then silence */
	client_read_all(e, fd, out, sizeof(out), MBX_CONTROL_TIMEOUT_MS / 1000.0 + 3);
	took = now_s() - t0;
	close(fd);
	assert_string_equal(out, "ERR 2 request timed out\n");
	assert_true(took >= MBX_CONTROL_TIMEOUT_MS / 1000.0 - 0.1);
	assert_true(logged("request timed out"));
	loop_until(e, no_clients, 2);
	assert_int_equal(e->fake.calls, 0);
}

static void test_server_max_clients(void **state)
{
	struct env *e = *state;
	int fds[MBX_CONTROL_MAX_CLIENTS];
	char out[256];
	int fd;

	for (int i = 0; i < MBX_CONTROL_MAX_CLIENTS; i++) {
		fds[i] = client_connect(e->path);
		/* accept one at a time: the listener's backlog is small */
		for (double end = now_s() + 2; mbx_control_clients(e->c) < (size_t)i + 1;) {
			assert_true(now_s() < end);
			event_base_loop(e->base, EVLOOP_NONBLOCK);
		}
	}
	assert_int_equal(mbx_control_clients(e->c), MBX_CONTROL_MAX_CLIENTS);
	fd = client_connect(e->path);
	client_read_all(e, fd, out, sizeof(out), 5);
	close(fd);
	assert_string_equal(out, "ERR 1 busy\n");
	assert_true(logged("one more refused (busy)"));
	assert_int_equal(mbx_control_clients(e->c), MBX_CONTROL_MAX_CLIENTS);
	/* the ones already in are served */
	client_send(fds[0], "MBXCTL/1\ttext\tsessions\n", 23);
	client_read_all(e, fds[0], out, sizeof(out), 5);
	assert_string_equal(out, "OK\nhello\nworld\n");
	for (int i = 0; i < MBX_CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	loop_until(e, no_clients, 3);
	/* room again */
	ask(e, "MBXCTL/1\ttext\tsessions\n", out, sizeof(out));
	assert_string_equal(out, "OK\nhello\nworld\n");
}

/* Refused peers, for real: a child process that drops to another uid (needs root). */
static void test_server_denied(void **state)
{
	struct env *e = *state;
	struct mbx_control_config cfg;
	char err[256], want[80];
	pid_t pid;
	int pipefd[2], status;
	char out[512];
	ssize_t n;

	if (getuid() != 0) {
		print_message("note: not root: the refused-peer connection test is skipped\n");
		skip();
	}
	/* a socket only uid 0 and its group (gid 0) may use, writable for all */
	mbx_control_free(&e->c);
	cfg = env_config(e, 0666);
	cfg.allowed_uid = 0;
	cfg.owner_gid = 0;
	e->c = mbx_control_new(&cfg, err, sizeof(err));
	if (e->c == NULL)
		fail_msg("mbx_control_new: %s", err);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		int fd, k = 0;
		ssize_t r;
		char buf[512];
		static const char req[] = "MBXCTL/1\tjson\tsessions\n";

		close(pipefd[0]);
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(10);
		sun_set(&sun, e->path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			_exit(11);
		if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
			_exit(12);
		while ((r = read(fd, buf + k, sizeof(buf) - 1 - (size_t)k)) > 0)
			k += (int)r;
		if (write(pipefd[1], buf, (size_t)k) != k)
			_exit(13);
		_exit(0);
	}
	close(pipefd[1]);
	/* serve until the child is done */
	for (double end = now_s() + 10;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		assert_true(now_s() < end);
		event_base_loop(e->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	n = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "ERR 5 permission denied\n"
	                         "{\"error\":\"permission denied\",\"status\":5}\n");
	snprintf(want, sizeof(want), "control: refused uid 65534 gid 65534 pid %ld", (long)pid);
	assert_true(logged(want));
	assert_int_equal(e->fake.calls, 0);
	loop_until(e, no_clients, 2);
}

/* ---- binding ----------------------------------------------------------------------------------
 */

static void test_bind_stale_live_notsock(void **state)
{
	struct env *e = *state;
	struct mbx_control_config cfg = env_config(e, 0600);
	struct mbx_control *second;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char err[256], out[256], path2[160];
	struct stat st;
	int fd;

	/* live: another control listens on the path */
	nlogs = 0;
	second = mbx_control_new(&cfg, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "another daemon is listening on it"));
	assert_non_null(strstr(err, e->path));
	/* its probe was closed quietly, and the first one still works */
	loop_until(e, no_clients, 2);
	assert_int_equal(nlogs, 0);
	ask(e, "MBXCTL/1\ttext\tsessions\n", out, sizeof(out));
	assert_string_equal(out, "OK\nhello\nworld\n");

	/* stale: a socket file nobody listens on is replaced */
	snprintf(path2, sizeof(path2), "%s/stale.sock", e->dir);
	sun_set(&sun, path2);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(lstat(path2, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	cfg.path = path2;
	second = mbx_control_new(&cfg, err, sizeof(err));
	if (second == NULL)
		fail_msg("stale socket not replaced: %s", err);
	assert_true(logged("removed the stale socket"));
	/* the mode of this one: 0600 */
	assert_int_equal(lstat(path2, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	mbx_control_free(&second);
	assert_null(second);
	assert_int_equal(access(path2, F_OK), -1); /* removed at free */
	mbx_control_free(&second);                 /* NULL-safe */
	mbx_control_free(NULL);

	/* not a socket: refused, left alone */
	fd = open(path2, O_CREAT | O_WRONLY | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	second = mbx_control_new(&cfg, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(lstat(path2, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	unlink(path2);

	/* a folder that does not exist */
	snprintf(path2, sizeof(path2), "%s/no/such.sock", e->dir);
	second = mbx_control_new(&cfg, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "bind"));

	/* too long for sun_path */
	{
		char lp[200];

		memset(lp, 'p', sizeof(lp) - 1);
		lp[0] = '/';
		lp[sizeof(lp) - 1] = '\0';
		cfg.path = lp;
		second = mbx_control_new(&cfg, err, sizeof(err));
		assert_null(second);
		assert_non_null(strstr(err, "the path must be 1..107 bytes"));
	}
}

static void test_bind_group(void **state)
{
	struct env *e = *state;
	struct mbx_control_config cfg = env_config(e, 0640);
	struct mbx_control *c2;
	struct group *g = getgrgid(getgid());
	char err[256], path2[160], gname[64];
	struct stat st;

	assert_non_null(g);
	snprintf(gname, sizeof(gname), "%s", g->gr_name);
	snprintf(path2, sizeof(path2), "%s/group.sock", e->dir);
	cfg.path = path2;
	cfg.group = "no-such-group-mbx";
	c2 = mbx_control_new(&cfg, err, sizeof(err));
	assert_null(c2);
	assert_string_equal(err, "control_socket_group no-such-group-mbx: no such group");
	assert_int_equal(access(path2, F_OK), -1);

	cfg.group = gname;
	c2 = mbx_control_new(&cfg, err, sizeof(err));
	if (c2 == NULL)
		fail_msg("group %s: %s", gname, err);
	assert_int_equal(lstat(path2, &st), 0);
	assert_int_equal(st.st_gid, getgid());
	assert_int_equal(st.st_mode & 07777, 0640);
	mbx_control_free(&c2);

	/* another group, when root may give it */
	if (getuid() == 0) {
		cfg.group = NULL;
		cfg.owner_uid = 65534;
		cfg.owner_gid = 65534;
		c2 = mbx_control_new(&cfg, err, sizeof(err));
		if (c2 == NULL)
			fail_msg("chown: %s", err);
		assert_int_equal(lstat(path2, &st), 0);
		assert_int_equal(st.st_uid, 65534);
		assert_int_equal(st.st_gid, 65534);
		mbx_control_free(&c2);
		assert_int_equal(access(path2, F_OK), -1);
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
	        cmocka_unit_test(test_peer_allowed),
	        cmocka_unit_test_setup_teardown(test_server_ok, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_errors, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_bad_requests, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_later, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_client_gone, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_timeout, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_max_clients, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_server_denied, env_setup, env_teardown),
	        cmocka_unit_test_setup_teardown(test_bind_stale_live_notsock, env_setup,
	                                        env_teardown),
	        cmocka_unit_test_setup_teardown(test_bind_group, env_setup, env_teardown),
	};

	mbx_log_open_stderr("test-control");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
