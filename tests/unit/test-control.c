/*
 * test-control.c: unit tests of the daemon's side of the control socket (include/mbx/control.h,
 * src/daemon/control.c): the peer check, and the server for real: a listener on an event_base
 * with its socket in a temporary folder, clients on plain sockets, a fake handler answering now,
 * later from a timer, after the client left, or never (the control freed first); binding
 * (stale, live, non-socket paths, mode, group). The pure parsers are test-control-proto.c.
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
