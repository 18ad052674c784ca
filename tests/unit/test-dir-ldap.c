/*
 * test-dir-ldap.c: tests of the `ldap` directory backend (src/directory/dir-ldap*.c:
 * dir-ldap.c operations and filters, dir-ldap-req.c requests and entries, dir-ldap-conn.c
 * connections, dir-ldap-server.c failover, dir-ldap-sync.c Content Sync, dir-ldap-auth.c
 * password checks).
 *
 * The first group needs no directory server and always runs: configuration errors, the
 * service password file (mode 0644 refused), every server down (TEMPFAIL at once, events
 * once), a server that accepts connections and never answers, the empty-password refusal,
 * cancel and free with requests pending, that no callback is ever called from inside the
 * call that started the request, the lookup filters (the same strings as
 * mbx_ldap_filter_build), and the reading of search entries, well-formed and malformed, from
 * a small fake LDAP server in this process.
 *
 * The second group runs against real slapd instances and is skipped unless MBX_LDAP_URIS is
 * set: tests/integration/test-dir-ldap.sh starts them (project schema, conf/directory.ldif,
 * a syncrepl replica, StartTLS with a CA it makes) and sets
 *   MBX_LDAP_URIS        "PRIMARY REPLICA"
 *   MBX_LDAP_BASE        base DN;  MBX_LDAP_BIND_DN, MBX_LDAP_PWFILE: the service account
 *   MBX_LDAP_ROOT_DN, MBX_LDAP_ROOT_PWFILE: the rootdn (for writes)
 *   MBX_LDAP_CA, MBX_LDAP_WRONG_CA: the CA of the servers' certificate, and another one
 *   MBX_LDAP_CTL         a command: "CTL kill|restart NAME", "CTL modify NAME < LDIF"
 *                        (NAME: contoso = the primary, contoso2 = the replica)
 * The slapd tests run in order; the failover and all-down tests come last.
 *
 * Every test runs with test_teardown: a failed assertion leaves the test function at once,
 * so the directories it made (dir_make), the entries it kept (answer_cb), a stopped slapd
 * and the failover stream are cleaned up there, and one failure never runs on into the next
 * test (a directory left running logs events the next test counts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "directory/dir-ldap.h"
#include "mbx/directory.h"
#include "mbx/ldap-filter.h"
#include "mbx/log.h"

#define CONTOSO "dc=contoso,dc=com"
#define USERS "cn=Users," CONTOSO
#define ALICE "cn=Alice Anders," USERS
#define BOB "cn=Bob Brown," USERS
#define CAROL "cn=Carol Clark," USERS
#define IVAN "cn=Ivan Ives," USERS
#define HENRY "cn=Henry Hill,cn=Users,dc=child," CONTOSO
#define HELPDESK "cn=Helpdesk," USERS
#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define LEGACY(x) AG "/cn=Recipients/cn=" x

static struct event_base *base;
static struct event *tick;
static char tmpdir[256];

/* What a test leaves behind when an assertion fails: freed by test_teardown. */
#define MAX_OPEN 16
#define MAX_KEPT 1024 /* the failover stream keeps up to 400 at once */
static struct {
	struct mbx_dir *dirs[MAX_OPEN];       /* made by dir_make, not yet dir_free'd */
	struct mbx_dir_entry *kept[MAX_KEPT]; /* entries copied by answer_cb */
	size_t nkept;
	bool stopped;   /* the primary slapd got SIGSTOP and no SIGCONT yet */
	bool killed[2]; /* contoso, contoso2 killed and not restarted: restarted by the teardown */
} open_things;

static void dir_track(struct mbx_dir *d)
{
	for (size_t i = 0; d != NULL && i < MAX_OPEN; i++) {
		if (open_things.dirs[i] == NULL) {
			open_things.dirs[i] = d;
			return;
		}
	}
	assert_null(d); /* more than MAX_OPEN at once: raise it */
}

/* mbx_dir_free for directories made by dir_make (NULL-safe, clears *d). */
static void dir_free(struct mbx_dir **d)
{
	for (size_t i = 0; d != NULL && *d != NULL && i < MAX_OPEN; i++) {
		if (open_things.dirs[i] == *d)
			open_things.dirs[i] = NULL;
	}
	mbx_dir_free(d);
}

static struct mbx_dir_entry *entry_keep(const struct mbx_dir_entry *e)
{
	struct mbx_dir_entry *c = mbx_dir_entry_dup(e);

	assert_non_null(c);
	assert_true(open_things.nkept < MAX_KEPT);
	open_things.kept[open_things.nkept++] = c;
	return c;
}

static void entry_drop(struct mbx_dir_entry **e)
{
	for (size_t i = 0; *e != NULL && i < open_things.nkept; i++) {
		if (open_things.kept[i] == *e) {
			open_things.kept[i] = open_things.kept[--open_things.nkept];
			break;
		}
	}
	mbx_dir_entry_free(e);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- log capture ------------------------------------------------------------------------- */

static struct {
	unsigned down, failover, recovered, alldown;
	unsigned left_out; /* trace lines of entries dropped by the exact-match rule */
} evs;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	if (strstr(line, "event=2101") != NULL)
		evs.down++;
	if (strstr(line, "event=2102") != NULL)
		evs.failover++;
	if (strstr(line, "event=2103") != NULL)
		evs.recovered++;
	if (strstr(line, "event=2104") != NULL)
		evs.alldown++;
	if (strstr(line, " left out: ") != NULL)
		evs.left_out++;
}

/* --- running the loop -------------------------------------------------------------------- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs the loop until *flag is true or ms have passed. */
static void run_until(const bool *flag, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while ((flag == NULL || !*flag) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static void run_for(unsigned ms)
{
	run_until(NULL, ms);
}

/* --- answers ----------------------------------------------------------------------------- */

#define MAX_E 16

struct answer {
	bool done;
	int calls;
	enum mbx_dir_status st;
	char msg[512], server[256];
	struct mbx_dir_entry *e[MAX_E];
	size_t n;
	uint64_t t0, t1;
	bool noentries; /* a password check or modify: FOUND has no entries */
};

static bool starting; /* true while a request is being started: a callback then is a bug */

static void answer_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct answer *a = ctx;

	assert_false(starting);
	a->calls++;
	a->done = true;
	a->st = res->status;
	a->t1 = now_ms();
	snprintf(a->msg, sizeof(a->msg), "%s", res->message != NULL ? res->message : "");
	snprintf(a->server, sizeof(a->server), "%s", res->server != NULL ? res->server : "(null)");
	if (res->status == MBX_DIR_FOUND && !a->noentries)
		assert_true(res->nentries >= 1);
	if (a->noentries)
		assert_int_equal(res->nentries, 0);
	for (size_t i = 0; i < res->nentries && a->n < MAX_E; i++) {
		a->e[a->n] = entry_keep(res->entries[i]);
		a->n++;
	}
}

static void answer_reset(struct answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		entry_drop(&a->e[i]);
	memset(a, 0, sizeof(*a));
}

static void start_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key, size_t len,
                         struct answer *a)
{
	struct mbx_dir_req *req;

	answer_reset(a);
	a->t0 = now_ms();
	starting = true;
	req = mbx_dir_lookup(d, kind, key, len, answer_cb, a);
	starting = false;
	assert_non_null(req);
	assert_false(a->done);
}

static void lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key, size_t len,
                   struct answer *a)
{
	start_lookup(d, kind, key, len, a);
	run_until(&a->done, 10000);
	assert_true(a->done);
	assert_int_equal(a->calls, 1);
}

static void lookup_s(struct mbx_dir *d, enum mbx_dir_key kind, const char *key, struct answer *a)
{
	lookup(d, kind, key, strlen(key), a);
}

static void check_password(struct mbx_dir *d, const char *dn, const char *pw, struct answer *a)
{
	struct mbx_dir_req *req;

	answer_reset(a);
	a->t0 = now_ms();
	a->noentries = true;
	starting = true;
	req = mbx_dir_check_password(d, dn, pw, answer_cb, a);
	starting = false;
	assert_non_null(req);
	assert_false(a->done);
	run_until(&a->done, 10000);
	assert_true(a->done);
}

static bool has_dn(const struct answer *a, const char *dn)
{
	for (size_t i = 0; i < a->n; i++) {
		if (strcasecmp(a->e[i]->dn, dn) == 0)
			return true;
	}
	return false;
}

static void expect_found(const struct answer *a, const char *dn, size_t n)
{
	if (a->st != MBX_DIR_FOUND)
		fail_msg("expected %s, got %s (%s)", dn, mbx_dir_status_name(a->st), a->msg);
	assert_int_equal(a->n, n);
	if (!has_dn(a, dn))
		fail_msg("%s not among the %zu entries (first %s)", dn, a->n, a->e[0]->dn);
}

static void expect_status(const struct answer *a, enum mbx_dir_status st)
{
	if (a->st != st)
		fail_msg("expected %s, got %s (%s)", mbx_dir_status_name(st),
		         mbx_dir_status_name(a->st), a->msg);
}

/* --- files and configurations ------------------------------------------------------------ */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

struct setup {
	const char *uris[4];
	const char *base_dn, *bind_dn, *pwfile, *ca_file;
	bool starttls, content_sync;
	unsigned net_ms, req_ms, retry_min, retry_max;
	struct mbx_dir_attrmap *map;
	size_t nmap;
};

static void setup_defaults(struct setup *s)
{
	memset(s, 0, sizeof(*s));
	s->base_dn = CONTOSO;
	s->bind_dn = "cn=mbxstored," USERS;
	s->net_ms = 1000;
	s->req_ms = 3000;
	s->retry_min = 100;
	s->retry_max = 1000;
}

static struct mbx_dir *dir_make(const struct setup *s, char *err, size_t errsize)
{
	struct mbx_dir_config cfg;
	struct mbx_dir *d;

	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = "ldap";
	cfg.uris = s->uris;
	cfg.base_dn = s->base_dn;
	cfg.bind_dn = s->bind_dn;
	cfg.bind_password_file = s->pwfile;
	cfg.ca_file = s->ca_file;
	cfg.starttls = s->starttls;
	cfg.content_sync = s->content_sync;
	cfg.network_timeout_ms = s->net_ms;
	cfg.request_timeout_ms = s->req_ms;
	cfg.retry_min_ms = s->retry_min;
	cfg.retry_max_ms = s->retry_max;
	cfg.attrmap = s->map;
	cfg.nattrmap = s->nmap;
	cfg.group_depth = 8;
	err[0] = '\0';
	d = mbx_dir_new(base, &cfg, err, errsize);
	if (d == NULL && strstr(err, "not available") != NULL) {
		/* directory.c does not dispatch to this backend yet: create it directly; the
		 * directory then owns (and mbx_dir_free frees) the map block, so give it a copy. */
		struct mbx_dir_attrmap *copy = NULL;

		if (s->nmap > 0) {
			copy = malloc(s->nmap * sizeof(*copy));
			assert_non_null(copy);
			memcpy(copy, s->map, s->nmap * sizeof(*copy));
		}
		cfg.attrmap = copy;
		err[0] = '\0';
		d = dir_ldap_new(base, &cfg, err, errsize);
		if (d == NULL)
			free(copy);
	}
	dir_track(d);
	return d;
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static unsigned short closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static char uri_a[64], uri_b[64], pwfile_ok[300];

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	mbx_log_open_stderr("test-dir-ldap");
	mbx_log_set_level(getenv("MBX_TEST_VERBOSE") != NULL ? MBX_LOG_DEBUG : MBX_LOG_NOTICE);
	if (getenv("MBX_TEST_VERBOSE") != NULL)
		mbx_log_set_trace(MBX_TRACE_LDAP, true);
	mbx_log_set_hook(log_hook, NULL);
	base = event_base_new();
	assert_non_null(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	{
		struct timeval tv = {0, 10000};

		event_add(tick, &tv);
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-dir-ldap.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(pwfile_ok, sizeof(pwfile_ok), "%s/pw-ok", tmpdir);
	write_file(pwfile_ok, "mbxstored-Contoso1\n", 0600);
	snprintf(uri_a, sizeof(uri_a), "ldap://127.0.0.1:%u/", closed_port());
	snprintf(uri_b, sizeof(uri_b), "ldap://127.0.0.1:%u", closed_port());
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[400];

	(void)state;
	event_free(tick);
	/* Let workers still connecting (silent server test) finish before the base goes. */
	event_base_free(base);
	mbx_log_set_hook(NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

/* --- without a server -------------------------------------------------------------------- */

static void test_password_file(void **state)
{
	char path[300], err[512], big[DIR_LDAP_MAX_PASSWORD_FILE + 2], *pw;
	struct setup s;
	struct mbx_dir *d;

	(void)state;
	setup_defaults(&s);
	s.uris[0] = uri_a;
	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	s.pwfile = path;
	/* 0644: refused, with a message that says why and what to do. */
	write_file(path, "secret\n", 0644);
	d = dir_make(&s, err, sizeof(err));
	assert_null(d);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "0644"));
	assert_non_null(strstr(err, "group or others"));
	assert_non_null(strstr(err, "chmod 600"));
	/* Any permission for group or others is refused. */
	for (unsigned m = 1; m < 0100; m <<= 1) {
		write_file(path, "secret\n", 0600 | m);
		assert_null(dir_ldap_read_password_file(path, err, sizeof(err)));
		assert_non_null(strstr(err, "group or others"));
	}
	/* 0600 and 0400: accepted; the first line without its ending. */
	write_file(path, "secret\n", 0600);
	pw = dir_ldap_read_password_file(path, err, sizeof(err));
	assert_string_equal(pw, "secret");
	free(pw);
	write_file(path, "se cret\r\nsecond line\n", 0400);
	pw = dir_ldap_read_password_file(path, err, sizeof(err));
	assert_string_equal(pw, "se cret");
	free(pw);
	write_file(path, "no-newline", 0600);
	pw = dir_ldap_read_password_file(path, err, sizeof(err));
	assert_string_equal(pw, "no-newline");
	free(pw);
	/* Empty, missing, a folder, too long. */
	write_file(path, "\n", 0600);
	assert_null(dir_ldap_read_password_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "empty password"));
	write_file(path, "", 0600);
	assert_null(dir_ldap_read_password_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "empty password"));
	assert_null(dir_ldap_read_password_file("/nonexistent/pw", err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	assert_null(dir_ldap_read_password_file(tmpdir, err, sizeof(err)));
	memset(big, 'x', sizeof(big));
	big[DIR_LDAP_MAX_PASSWORD_FILE] = '\0'; /* max: accepted */
	write_file(path, big, 0600);
	pw = dir_ldap_read_password_file(path, err, sizeof(err));
	assert_non_null(pw);
	assert_int_equal(strlen(pw), DIR_LDAP_MAX_PASSWORD_FILE);
	free(pw);
	big[DIR_LDAP_MAX_PASSWORD_FILE] = 'x'; /* max + 1: refused */
	big[DIR_LDAP_MAX_PASSWORD_FILE + 1] = '\0';
	write_file(path, big, 0600);
	assert_null(dir_ldap_read_password_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than"));
	/* No file configured. */
	s.pwfile = NULL;
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "password file"));
	/* A good file: the backend starts (and connects in the background). */
	s.pwfile = pwfile_ok;
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	dir_free(&d);
	assert_null(d);
}

static void test_config_errors(void **state)
{
	char err[512], missing[300];
	struct setup s;

	(void)state;
	setup_defaults(&s);
	s.pwfile = pwfile_ok;
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "no server URIs"));
	s.uris[0] = "http://127.0.0.1/";
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "http://127.0.0.1/"));
	s.uris[0] = "not a uri";
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "bad server URI"));
	s.uris[0] = uri_a;
	s.base_dn = "not a DN";
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "base DN"));
	s.base_dn = CONTOSO;
	s.bind_dn = NULL;
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "service bind DN is required"));
	s.bind_dn = "cn=mbxstored," USERS;
	snprintf(missing, sizeof(missing), "%s/no-ca.pem", tmpdir);
	s.ca_file = missing;
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "CA file"));
	s.ca_file = NULL;
	s.retry_min = 5000;
	s.retry_max = 100;
	assert_null(dir_make(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "retry_min_ms"));
}

/* Every server down: TEMPFAIL quickly, never NOT_FOUND; the events once per transition. */
static void test_all_down_fast(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	setup_defaults(&s);
	s.uris[0] = uri_a;
	s.uris[1] = uri_b;
	s.pwfile = pwfile_ok;
	memset(&evs, 0, sizeof(evs));
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	for (int i = 0; i < 20; i++) {
		lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
		expect_status(&a, MBX_DIR_TEMPFAIL);
		assert_true(a.t1 - a.t0 < (i == 0 ? 1500u : 200u));
		assert_non_null(strstr(a.msg, "no directory server reachable"));
	}
	assert_int_equal(evs.down, 2);
	assert_int_equal(evs.alldown, 1);
	assert_int_equal(evs.recovered, 0);
	/* A few back-off rounds later: still down, still no new events. */
	run_for(600);
	lookup_s(d, MBX_DIR_BY_SMTP, "alice@contoso.com", &a);
	expect_status(&a, MBX_DIR_TEMPFAIL);
	assert_int_equal(evs.down, 2);
	assert_int_equal(evs.alldown, 1);
	/* Password checks too (but an empty password is refused before anything). */
	check_password(d, ALICE, "alice-Secret1", &a);
	expect_status(&a, MBX_DIR_TEMPFAIL);
	check_password(d, ALICE, "", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	assert_non_null(strstr(a.msg, "empty password"));
	answer_reset(&a);
	dir_free(&d);
}

/* A server that accepts TCP connections and never answers: found dead by our own timers. */
static void test_silent_server(void **state)
{
	char err[512], uri[64];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_true(lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0); /* never accepted: the kernel completes the
	                                       * handshake, nobody ever answers */
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%u", ntohs(sa.sin_port));
	setup_defaults(&s);
	s.uris[0] = uri;
	s.pwfile = pwfile_ok;
	s.req_ms = 5000;
	memset(&evs, 0, sizeof(evs));
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_status(&a, MBX_DIR_TEMPFAIL);
	/* The bind deadline is the network timeout (1 s), well before the request timeout. */
	assert_true(a.t1 - a.t0 >= 900);
	assert_true(a.t1 - a.t0 < 2000);
	assert_int_equal(evs.down, 1);
	assert_int_equal(evs.alldown, 1);
	/* Cancel and free with requests pending: no callback ever. */
	dir_free(&d);
	s.uris[1] = uri_a;
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	{
		struct answer b = {0}, c = {0};
		struct mbx_dir_req *req;

		req = mbx_dir_lookup(d, MBX_DIR_BY_LOGIN, "alice", 5, answer_cb, &b);
		assert_non_null(req);
		mbx_dir_cancel(req);
		req = mbx_dir_lookup(d, MBX_DIR_BY_LOGIN, "bob", 3, answer_cb, &c);
		assert_non_null(req);
		req = mbx_dir_check_password(d, ALICE, "x", answer_cb, &c);
		assert_non_null(req);
		run_for(100);
		dir_free(&d);
		run_for(300);
		assert_int_equal(b.calls, 0);
		assert_int_equal(c.calls, 0);
	}
	close(lfd);
}

/* Bad keys are answered without a server, from the loop. */
static void test_bad_keys(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};
	char *big = malloc(5000);

	(void)state;
	setup_defaults(&s);
	s.uris[0] = uri_a;
	s.pwfile = pwfile_ok;
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	lookup(d, MBX_DIR_BY_SID, "", 0, &a);
	expect_status(&a, MBX_DIR_ERROR);
	lookup_s(d, MBX_DIR_BY_LEGACYDN, "", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_DN, "this is not a DN", &a);
	expect_status(&a, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "DN"));
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	lookup_s(d, MBX_DIR_BY_SMTP, big, &a);
	expect_status(&a, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "too long"));
	free(big);
	check_password(d, "", "x", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	check_password(d, "not a DN", "x", &a);
	expect_status(&a, MBX_DIR_ERROR);
	answer_reset(&a);
	dir_free(&d);
}

/* --- filters ------------------------------------------------------------------------------ */

/* The backend builds each filter in one pass from a form made once; the string must be the
 * one mbx_ldap_filter_build gives (ldap-filter.c keeps the rules), for every kind and byte. */
static void filters_compare(struct mbx_dir *d, const void *key, size_t len)
{
	for (int k = 0; k <= MBX_DIR_DISABLED_NO_MASTER; k++) {
		const char *why1 = NULL, *why2 = NULL;
		char *f1 = mbx_ldap_filter_build(d, (enum mbx_dir_key)k, key, len, &why1);
		char *f2 = dir_ldap_filter(d, (enum mbx_dir_key)k, key, len, &why2);

		if (f1 == NULL) {
			assert_null(f2);
			assert_string_equal(why1, why2);
		} else {
			assert_non_null(f2);
			assert_string_equal(f1, f2);
		}
		free(f1);
		free(f2);
	}
}

static void test_filters(void **state)
{
	static char big[MBX_LDAP_FILTER_MAX_KEY + 2];
	char err[512], *f;
	const char *why = NULL;
	struct setup s;
	struct mbx_dir *d;
	uint8_t all[256];
	struct mbx_dir_attrmap map[] = {{"legacyExchangeDN", "mailNickname"},
	                                {"proxyAddresses", "otherMailbox;x-opt"}};
	struct mbx_dir_attrmap bad[] = {{"mail", "ma(il"}};

	(void)state;
	setup_defaults(&s);
	s.uris[0] = uri_a;
	s.pwfile = pwfile_ok;
	for (int m = 0; m < 3; m++) {
		s.map = m == 0 ? NULL : m == 1 ? map : bad;
		s.nmap = m == 0 ? 0 : m == 1 ? 2 : 1;
		d = dir_make(&s, err, sizeof(err));
		if (d == NULL)
			fail_msg("%s", err);
		/* every byte value alone, all of them together, the usual keys */
		for (unsigned b = 0; b < 256; b++) {
			uint8_t c = (uint8_t)b;

			all[b] = c;
			filters_compare(d, &c, 1);
		}
		filters_compare(d, all, sizeof(all));
		filters_compare(d, "alice", 5);
		filters_compare(d, LEGACY("alice"), strlen(LEGACY("alice")));
		filters_compare(d, "*)(objectClass=*", 16);
		filters_compare(d, "\\2a", 3);
		/* length boundaries: 0, 1 (above), max, max + 1 */
		filters_compare(d, "", 0);
		for (size_t i = 0; i < MBX_LDAP_FILTER_MAX_KEY + 1; i++)
			big[i] = (char)("a*(\\)\x01\xe9Z"[i % 8]);
		filters_compare(d, big, MBX_LDAP_FILTER_MAX_KEY);
		filters_compare(d, big, MBX_LDAP_FILTER_MAX_KEY + 1);
		dir_free(&d);
	}
	/* Real bytes, not only agreement: the two places of BY_SMTP, a mapped name, SIDs. */
	s.map = map;
	s.nmap = 2;
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	f = dir_ldap_filter(d, MBX_DIR_BY_SMTP, "a*b\xc3\xa9", 5, &why);
	assert_string_equal(f, "(|(mail=a\\2ab\\c3\\a9)(otherMailbox;x-opt=smtp:a\\2ab\\c3\\a9))");
	free(f);
	f = dir_ldap_filter(d, MBX_DIR_BY_LEGACYDN, "x", 1, &why);
	assert_string_equal(f, "(|(mailNickname=x)(otherMailbox;x-opt=x500:x))");
	free(f);
	f = dir_ldap_filter(d, MBX_DIR_DISABLED_NO_MASTER, "ignored", 7, &why);
	assert_string_equal(f, "(&(objectClass=user)(|(msExchUserAccountControl=2)"
	                       "(userAccountControl:1.2.840.113556.1.4.803:=2))"
	                       "(!(msExchMasterAccountSid=*)))");
	free(f);
	f = dir_ldap_filter(d, MBX_DIR_BY_SID, "\x01\x05z", 3, &why);
	assert_string_equal(f, "(objectSid=\\01\\05\\7a)");
	free(f);
	f = dir_ldap_filter(d, MBX_DIR_BY_DN, "cn=x", 4, &why);
	assert_string_equal(f, "(objectClass=*)");
	free(f);
	assert_null(dir_ldap_filter(d, (enum mbx_dir_key)99, "x", 1, &why));
	assert_string_equal(why, "unknown lookup kind");
	dir_free(&d);
}

/* --- entries from a fake server ---------------------------------------------------------- */

/* A small LDAP server in this process, on the test's loop: it answers binds with success and
 * each search with the entries of the case whose marker the request holds, built here byte by
 * byte (BER with two-byte long-form lengths everywhere, which BER allows), then a success
 * SearchResultDone. It shows how the backend reads entries it did not get from slapd:
 * malformed ones, extra elements, empty value sets, many attributes. */
static struct {
	evutil_socket_t lfd[2], cfd;
	struct event *lev[2], *cev;
	uint8_t in[65536];
	size_t nin;
	uint8_t b[1 << 17];
	size_t n, stack[16];
	int depth;
	unsigned searches, died;
	char uri[2][64];
} fake = {.lfd = {-1, -1}, .cfd = -1};

static void bo_begin(uint8_t tag)
{
	assert_true(fake.depth < 16 && sizeof(fake.b) - fake.n > 4);
	fake.b[fake.n++] = tag;
	fake.b[fake.n++] = 0x82;
	fake.stack[fake.depth++] = fake.n;
	fake.n += 2;
}

static void bo_end(void)
{
	size_t at = fake.stack[--fake.depth], len = fake.n - at - 2;

	assert_true(len < 65536);
	fake.b[at] = (uint8_t)(len >> 8);
	fake.b[at + 1] = (uint8_t)len;
}

static void bo_raw(const void *p, size_t len)
{
	assert_true(sizeof(fake.b) - fake.n >= len);
	memcpy(fake.b + fake.n, p, len);
	fake.n += len;
}

static void bo_str(uint8_t tag, const void *p, size_t len)
{
	bo_begin(tag);
	bo_raw(p, len);
	bo_end();
}

static void bo_int(uint8_t tag, uint32_t v)
{
	uint8_t x[6] = {tag,       4, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
	                (uint8_t)v};

	bo_raw(x, sizeof(x));
}

/* An attribute: type, then the values (NUL-separated list ending in an empty string), or no
 * value set at all when vals is NULL. */
static void bo_attr(const char *type, const char *vals)
{
	bo_begin(0x30);
	bo_str(0x04, type, strlen(type));
	if (vals != NULL) {
		bo_begin(0x31);
		for (const char *v = vals; *v != '\0'; v += strlen(v) + 1)
			bo_str(0x04, v, strlen(v));
		bo_end();
	}
	bo_end();
}

static void bo_entry_begin(uint32_t msgid, const char *dn)
{
	bo_begin(0x30);
	bo_int(0x02, msgid);
	bo_begin(0x64);
	bo_str(0x04, dn, strlen(dn));
	bo_begin(0x30);
}

static void bo_entry_end(void)
{
	bo_end();
	bo_end();
	bo_end();
}

static void bo_done(uint32_t msgid, uint8_t op)
{
	bo_begin(0x30);
	bo_int(0x02, msgid);
	bo_begin(op);
	bo_int(0x0a, 0);
	bo_str(0x04, "", 0);
	bo_str(0x04, "", 0);
	bo_end();
	bo_end();
}

static bool has(const uint8_t *p, size_t len, const char *what)
{
	size_t n = strlen(what);

	for (size_t i = 0; len >= n && i <= len - n; i++) {
		if (memcmp(p + i, what, n) == 0)
			return true;
	}
	return false;
}

/* The entries of each case (the marker is in the filter or the base DN of the search). */
static void fake_answer_search(uint32_t id, const uint8_t *req, size_t len)
{
	fake.searches++;
	if (has(req, len, "kase-ok")) {
		static const char bin[] = {'a', '\0', 'b', '\xff'};

		bo_entry_begin(id, "cn=kase-ok,dc=contoso,dc=com");
		bo_attr("objectClass", "top\0user\0");
		bo_attr("sAMAccountName", "kase-ok\0");
		bo_attr("userPassword", "{SSHA}secret\0"); /* never passed on */
		bo_attr("USERPASSWORD;binary", "x\0");     /* nor with options */
		bo_attr("userPasswordHint", "kept\0");     /* another attribute */
		bo_attr("description", "");                /* an empty value set */
		bo_attr("homeMDB", "cn=DB01\0");           /* mapped: homeDatabase */
		bo_begin(0x30);                            /* a value with a NUL and 0xff */
		bo_str(0x04, "binaryThing", 11);
		bo_begin(0x31);
		bo_str(0x04, bin, sizeof(bin));
		bo_str(0x04, "", 0);
		bo_end();
		bo_end();
		bo_entry_end();
	} else if (has(req, len, "kase-extra")) {
		/* An element after the value set (not in RFC 4511): skipped. */
		bo_entry_begin(id, "cn=kase-extra,dc=contoso,dc=com");
		bo_begin(0x30);
		bo_str(0x04, "mail", 4);
		bo_begin(0x31);
		bo_str(0x04, "x@contoso.com", 13);
		bo_end();
		bo_str(0x04, "what is this", 12);
		bo_end();
		bo_attr("sn", "X\0");
		bo_entry_end();
	} else if (has(req, len, "kase-noattrs")) {
		bo_entry_begin(id, "cn=kase-noattrs,dc=contoso,dc=com");
		bo_entry_end();
	} else if (has(req, len, "kase-many")) {
		bo_entry_begin(id, "cn=kase-many,dc=contoso,dc=com");
		for (int i = 0; i < 300; i++) {
			char name[16], vals[32];

			snprintf(name, sizeof(name), "a%d", i);
			snprintf(vals, sizeof(vals), "v%d%cw%d%c", i, '\0', i, '\0');
			bo_attr(name, vals);
		}
		bo_entry_end();
	} else if (has(req, len, "kase-novals")) {
		/* A PartialAttribute without its value set: malformed. */
		bo_entry_begin(id, "cn=kase-novals,dc=contoso,dc=com");
		bo_attr("cn", "kase-novals\0");
		bo_attr("sn", NULL);
		bo_attr("givenName", "X\0");
		bo_entry_end();
	} else if (has(req, len, "kase-overrun")) {
		/* A value set that claims more bytes than its attribute holds. */
		static const uint8_t set[] = {0x31, 0x82, 0x00, 0x20, 0x04, 0x03, 'a', 'b', 'c'};

		bo_entry_begin(id, "cn=kase-overrun,dc=contoso,dc=com");
		bo_begin(0x30);
		bo_str(0x04, "cn", 2);
		bo_raw(set, sizeof(set));
		bo_end();
		bo_attr("description", "something long enough to be overrun\0");
		bo_entry_end();
	} else if (has(req, len, "kase-space")) {
		/* Exact matching: the key must equal a value but for ASCII case. Two entries,
		 * each with a login that matches the key only under caseIgnoreMatch's rules,
		 * and one that matches exactly (in another case). */
		bo_entry_begin(id, "cn=a,dc=contoso,dc=com");
		bo_attr("sAMAccountName", "kase-space \0");
		bo_entry_end();
		bo_entry_begin(id, "cn=b,dc=contoso,dc=com");
		bo_attr("userPrincipalName", " kase-space\0");
		bo_attr("mail", "kase-space\0"); /* not a login attribute */
		bo_entry_end();
		bo_entry_begin(id, "cn=c,dc=contoso,dc=com");
		bo_attr("userPrincipalName", "KASE-Space\0");
		bo_entry_end();
	} else if (has(req, len, "kase-dies")) {
		/* The first time: an entry, then the connection drops before the result. The
		 * lookup is sent again on the other server, which answers in full: one entry,
		 * not the first one twice. */
		bo_entry_begin(id, "cn=kase-dies,dc=contoso,dc=com");
		bo_attr("sn", "Dies\0");
		bo_entry_end();
		if (fake.died++ == 0)
			return;
	} else if (has(req, len, "kase-smtp")) {
		bo_entry_begin(id, "cn=d,dc=contoso,dc=com");
		bo_attr("proxyAddresses", "SMTP:kase-smtp@x.example\0x400:kase-smtp@x.example\0");
		bo_entry_end();
		bo_entry_begin(id, "cn=e,dc=contoso,dc=com");
		bo_attr("proxyAddresses", "smtp:kase-smtp@x.example \0");
		bo_attr("mail", "kase-smtp@x.example \0");
		bo_entry_end();
	}
	bo_done(id, 0x65);
}

static void fake_close_client(void);

/* Sends what was built (small answers on loopback: blocking is fine here). */
static void fake_send(void)
{
	size_t sent = 0;

	while (sent < fake.n) {
		ssize_t k = send(fake.cfd, fake.b + sent, fake.n - sent, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		assert_true(k > 0);
		sent += (size_t)k;
	}
	fake.n = 0;
}

/* Handles the complete messages in the input buffer. */
static void fake_serve(void)
{
	size_t off = 0;

	while (fake.nin - off >= 2) {
		const uint8_t *m = fake.in + off;
		size_t hdr = 2, len = m[1], id_len;
		uint32_t id = 0;

		assert_int_equal(m[0], 0x30);
		if (len & 0x80) {
			size_t k = len & 0x7f;

			assert_true(k >= 1 && k <= 3);
			if (fake.nin - off < 2 + k)
				break;
			len = 0;
			for (size_t i = 0; i < k; i++)
				len = len << 8 | m[2 + i];
			hdr += k;
		}
		if (fake.nin - off - hdr < len)
			break;
		assert_int_equal(m[hdr], 0x02);
		id_len = m[hdr + 1];
		assert_true(id_len >= 1 && id_len <= 4);
		for (size_t i = 0; i < id_len; i++)
			id = id << 8 | m[hdr + 2 + i];
		switch (m[hdr + 2 + id_len]) {
		case 0x60: /* BindRequest */
			bo_done(id, 0x61);
			break;
		case 0x63: /* SearchRequest */
			fake_answer_search(id, m, hdr + len);
			if (fake.died == 1) { /* kase-dies: what was built goes, then we hang up */
				fake.died++;
				fake_send();
				fake_close_client();
				return;
			}
			break;
		default: /* unbind, abandon */
			break;
		}
		off += hdr + len;
	}
	memmove(fake.in, fake.in + off, fake.nin - off);
	fake.nin -= off;
	fake_send();
}

static void fake_close_client(void)
{
	if (fake.cev != NULL)
		event_free(fake.cev);
	fake.cev = NULL;
	if (fake.cfd >= 0)
		close(fake.cfd);
	fake.cfd = -1;
	fake.nin = 0;
}

static void fake_readable(evutil_socket_t fd, short what, void *arg)
{
	ssize_t k;

	(void)what;
	(void)arg;
	k = recv(fd, fake.in + fake.nin, sizeof(fake.in) - fake.nin, 0);
	if (k <= 0) {
		fake_close_client();
		return;
	}
	fake.nin += (size_t)k;
	fake_serve();
}

static void fake_accept(evutil_socket_t fd, short what, void *arg)
{
	evutil_socket_t c = accept(fd, NULL, NULL);

	(void)what;
	(void)arg;
	if (c < 0)
		return;
	fake_close_client(); /* one client at a time: the service connection */
	fake.cfd = c;
	fake.cev = event_new(base, c, EV_READ | EV_PERSIST, fake_readable, NULL);
	assert_non_null(fake.cev);
	event_add(fake.cev, NULL);
}

/* Two listening sockets, two "servers" with the same answers (the second for failover). */
static void fake_start(void)
{
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);

		fake.lfd[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fake.lfd[i] >= 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fake.lfd[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(fake.lfd[i], 16), 0);
		assert_int_equal(getsockname(fake.lfd[i], (struct sockaddr *)&sa, &len), 0);
		snprintf(fake.uri[i], sizeof(fake.uri[i]), "ldap://127.0.0.1:%u",
		         ntohs(sa.sin_port));
		fake.lev[i] = event_new(base, fake.lfd[i], EV_READ | EV_PERSIST, fake_accept, NULL);
		assert_non_null(fake.lev[i]);
		event_add(fake.lev[i], NULL);
	}
	fake.searches = fake.died = 0;
}

static void fake_stop(void)
{
	fake_close_client();
	for (int i = 0; i < 2; i++) {
		if (fake.lev[i] != NULL)
			event_free(fake.lev[i]);
		fake.lev[i] = NULL;
		if (fake.lfd[i] >= 0)
			close(fake.lfd[i]);
		fake.lfd[i] = -1;
	}
	fake.n = 0;
	fake.depth = 0;
}

static void test_entries(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};
	const struct mbx_dir_attr *at;
	struct mbx_dir_attrmap map[] = {{"homeDatabase", "homeMDB"}};

	(void)state;
	fake_start();
	setup_defaults(&s);
	s.uris[0] = fake.uri[0];
	s.uris[1] = fake.uri[1];
	s.pwfile = pwfile_ok;
	s.map = map;
	s.nmap = 1;
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	/* Well-formed: names canonical, values as sent, userPassword left out, an empty value
	 * set kept as an attribute without values. */
	lookup_s(d, MBX_DIR_BY_LOGIN, "kase-ok", &a);
	expect_found(&a, "cn=kase-ok,dc=contoso,dc=com", 1);
	assert_int_equal(a.e[0]->nattrs, 6);
	assert_string_equal(mbx_dir_entry_str(a.e[0], "userPasswordHint"), "kept");
	assert_true(mbx_dir_entry_has_class(a.e[0], "user"));
	assert_string_equal(mbx_dir_entry_str(a.e[0], "sAMAccountName"), "kase-ok");
	assert_null(mbx_dir_entry_attr(a.e[0], "userPassword"));
	at = mbx_dir_entry_attr(a.e[0], "description");
	assert_non_null(at);
	assert_int_equal(at->nvals, 0);
	assert_string_equal(mbx_dir_entry_str(a.e[0], "homeDatabase"), "cn=DB01");
	assert_null(mbx_dir_entry_attr(a.e[0], "homeMDB"));
	at = mbx_dir_entry_attr(a.e[0], "binaryThing");
	assert_non_null(at);
	assert_int_equal(at->nvals, 2);
	assert_int_equal(at->vals[0].len, 4);
	assert_memory_equal(at->vals[0].data, "a\0b\xff", 5); /* and the NUL after it */
	assert_int_equal(at->vals[1].len, 0);
	assert_int_equal(at->vals[1].data[0], 0);
	/* An element after the value set is skipped; the next attribute is read. */
	lookup_s(d, MBX_DIR_BY_DN, "cn=kase-extra,dc=contoso,dc=com", &a);
	expect_found(&a, "cn=kase-extra,dc=contoso,dc=com", 1);
	assert_int_equal(a.e[0]->nattrs, 2);
	assert_string_equal(mbx_dir_entry_str(a.e[0], "mail"), "x@contoso.com");
	assert_string_equal(mbx_dir_entry_str(a.e[0], "sn"), "X");
	/* No attributes at all. */
	lookup_s(d, MBX_DIR_BY_DN, "cn=kase-noattrs,dc=contoso,dc=com", &a);
	expect_found(&a, "cn=kase-noattrs,dc=contoso,dc=com", 1);
	assert_int_equal(a.e[0]->nattrs, 0);
	/* Many attributes (the scratch list grows), every one in order. */
	lookup_s(d, MBX_DIR_BY_DN, "cn=kase-many,dc=contoso,dc=com", &a);
	expect_found(&a, "cn=kase-many,dc=contoso,dc=com", 1);
	assert_int_equal(a.e[0]->nattrs, 300);
	for (int i = 0; i < 300; i++) {
		char name[16], v[16], w[16];

		snprintf(name, sizeof(name), "a%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		snprintf(w, sizeof(w), "w%d", i);
		assert_string_equal(a.e[0]->attrs[i].name, name);
		assert_int_equal(a.e[0]->attrs[i].nvals, 2);
		assert_string_equal((const char *)a.e[0]->attrs[i].vals[0].data, v);
		assert_string_equal((const char *)a.e[0]->attrs[i].vals[1].data, w);
	}
	/* Malformed entries: an error, never "not found" (nor a part of the entry). */
	lookup_s(d, MBX_DIR_BY_DN, "cn=kase-novals,dc=contoso,dc=com", &a);
	expect_status(&a, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "malformed"));
	assert_int_equal(a.n, 0);
	lookup_s(d, MBX_DIR_BY_DN, "cn=kase-overrun,dc=contoso,dc=com", &a);
	expect_status(&a, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "malformed"));
	/* Exact matching (ASCII case only), without slapd: of three entries the server sent,
	 * only the one whose login equals the key but for case is kept. */
	evs.left_out = 0;
	mbx_log_set_trace(MBX_TRACE_LDAP, true);
	mbx_log_set_level(MBX_LOG_DEBUG);
	lookup_s(d, MBX_DIR_BY_LOGIN, "kase-space", &a);
	expect_found(&a, "cn=c,dc=contoso,dc=com", 1);
	assert_int_equal(evs.left_out, 2);
	/* BY_SMTP: an "SMTP:" proxy address (prefix in any case) matches; "x400:" and values with
	 * a trailing space do not. */
	lookup_s(d, MBX_DIR_BY_SMTP, "kase-smtp@X.EXAMPLE", &a);
	expect_found(&a, "cn=d,dc=contoso,dc=com", 1);
	assert_int_equal(evs.left_out, 3);
	if (getenv("MBX_TEST_VERBOSE") == NULL) {
		mbx_log_set_trace(MBX_TRACE_LDAP, false);
		mbx_log_set_level(MBX_LOG_NOTICE);
	}
	/* An entry came, then the connection dropped: the lookup went to the other server, and
	 * its answer is the one entry, not the first copy and a second. */
	lookup_s(d, MBX_DIR_BY_DN, "cn=kase-dies,dc=contoso,dc=com", &a);
	expect_found(&a, "cn=kase-dies,dc=contoso,dc=com", 1);
	assert_string_equal(a.server, fake.uri[1]);
	assert_int_equal(fake.died, 3);
	/* The DN lookups above went through no exact-match rule. */
	assert_int_equal(fake.searches, 10);
	answer_reset(&a);
	dir_free(&d);
	fake_stop();
}

/* --- against slapd ----------------------------------------------------------------------- */

static char *env_uris;
static const char *primary, *replica;

static bool have_slapd(void)
{
	static char buf[512];

	if (getenv("MBX_LDAP_URIS") == NULL || getenv("MBX_LDAP_URIS")[0] == '\0')
		return false;
	if (primary == NULL) {
		snprintf(buf, sizeof(buf), "%s", getenv("MBX_LDAP_URIS"));
		env_uris = buf;
		primary = strtok(buf, " ");
		replica = strtok(NULL, " ");
	}
	return primary != NULL;
}

#define NEED_SLAPD()                                                                               \
	do {                                                                                       \
		if (!have_slapd()) {                                                               \
			skip();                                                                    \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ctl(const char *fmt, ...)
{
	char args[1024], cmd[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_non_null(getenv("MBX_LDAP_CTL"));
	snprintf(cmd, sizeof(cmd), "%s %s", getenv("MBX_LDAP_CTL"), args);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

/* SIGKILL and restart of the primary (contoso) or the replica (contoso2), remembered so that
 * a test that fails in between does not leave the next one without its server. */
static void slapd_kill(const char *name)
{
	ctl("kill %s", name);
	open_things.killed[strcmp(name, "contoso") == 0 ? 0 : 1] = true;
}

static void slapd_restart(const char *name)
{
	ctl("restart %s", name);
	open_things.killed[strcmp(name, "contoso") == 0 ? 0 : 1] = false;
}

static struct mbx_dir *slapd_dir(bool both, bool sync)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};

	setup_defaults(&s);
	s.uris[0] = primary;
	if (both)
		s.uris[1] = replica;
	s.base_dn = getenv("MBX_LDAP_BASE");
	s.bind_dn = getenv("MBX_LDAP_BIND_DN");
	s.pwfile = getenv("MBX_LDAP_PWFILE");
	s.content_sync = sync;
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	/* Wait for the service connection (a lookup waits for it anyway). */
	lookup_s(d, MBX_DIR_BY_LOGIN, "mbxstored", &a);
	expect_found(&a, "cn=mbxstored," USERS, 1);
	answer_reset(&a);
	return d;
}

static const uint8_t sid_alice[] = {0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00,
                                    0x00, 0x00, 0x3e, 0x14, 0xc2, 0xc5, 0xf0, 0x74, 0x0b, 0x45,
                                    0xf1, 0x68, 0xff, 0xd1, 0x4d, 0x04, 0x00, 0x00};
/* S-1-5-32-555, held by the BUILTIN group of both domains. */
static const uint8_t sid_rdu[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
                                  0x20, 0x00, 0x00, 0x00, 0x2b, 0x02, 0x00, 0x00};

static void test_slapd_lookup_kinds(void **state)
{
	struct mbx_dir *d;
	struct answer a = {0};
	const uint8_t *v;
	size_t len;

	(void)state;
	NEED_SLAPD();
	d = slapd_dir(false, false);
	assert_string_equal(dir_ldap_active_uri(d), primary);
	/* BY_DN */
	lookup_s(d, MBX_DIR_BY_DN, ALICE, &a);
	expect_found(&a, ALICE, 1);
	assert_string_equal(a.server, primary);
	assert_string_equal(mbx_dir_entry_str(a.e[0], "mail"), "alice@contoso.com");
	assert_string_equal(mbx_dir_entry_str(a.e[0], "legacyExchangeDN"), LEGACY("alice"));
	assert_true(mbx_dir_entry_has_class(a.e[0], "user"));
	v = mbx_dir_entry_bin(a.e[0], "objectSid", &len);
	assert_int_equal(len, sizeof(sid_alice));
	assert_memory_equal(v, sid_alice, len);
	assert_null(mbx_dir_entry_attr(a.e[0], "userPassword"));
	lookup_s(d, MBX_DIR_BY_DN, "cn=Alice Anders , cn=users,DC=contoso,dc=com", &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_DN, "cn=Nobody," USERS, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_DN, "cn=Nobody,cn=Nowhere," CONTOSO, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_DN, "cn=x,dc=elsewhere,dc=example", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	/* BY_LEGACYDN, case-insensitive */
	lookup_s(d, MBX_DIR_BY_LEGACYDN, LEGACY("alice"), &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_LEGACYDN,
	         "/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP "
	         "(FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=ALICE",
	         &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_LEGACYDN, LEGACY("nobody"), &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_LEGACYDN, AG "/cn=Configuration/cn=Servers/cn=SERVER1", &a);
	expect_found(&a,
	             "cn=SERVER1,cn=Servers,cn=Exchange Administrative Group (FYDIBOHF23SPDLT),"
	             "cn=Administrative Groups,cn=Contoso,cn=Microsoft Exchange,cn=Services,"
	             "cn=Configuration," CONTOSO,
	             1);
	/* BY_SMTP: mail, smtp: proxy addresses, any case */
	lookup_s(d, MBX_DIR_BY_SMTP, "alice@contoso.com", &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_SMTP, "alice.anders@contoso.com", &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_SMTP, "ALICE.Anders@Contoso.COM", &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_SMTP, "frank@partner.example", &a);
	expect_found(&a, "cn=Frank Fisher," USERS, 1);
	lookup_s(d, MBX_DIR_BY_SMTP, "nobody@contoso.com", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	/* BY_LOGIN: sAMAccountName or userPrincipalName */
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	lookup_s(d, MBX_DIR_BY_LOGIN, "bob@contoso.com", &a);
	expect_found(&a, BOB, 1);
	lookup_s(d, MBX_DIR_BY_LOGIN, "henry@child.contoso.com", &a);
	expect_found(&a, HENRY, 1);
	/* BY_SID: binary, fully escaped; a BUILTIN SID is held by two groups */
	lookup(d, MBX_DIR_BY_SID, sid_alice, sizeof(sid_alice), &a);
	expect_found(&a, ALICE, 1);
	lookup(d, MBX_DIR_BY_SID, sid_rdu, sizeof(sid_rdu), &a);
	expect_found(&a, "cn=Remote Desktop Users,cn=Builtin," CONTOSO, 2);
	assert_true(has_dn(&a, "cn=Remote Desktop Users,cn=Builtin,dc=child," CONTOSO));
	lookup(d, MBX_DIR_BY_SID, sid_alice, sizeof(sid_alice) - 1, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	/* BY_MEMBER */
	lookup_s(d, MBX_DIR_BY_MEMBER, IVAN, &a);
	expect_found(&a, HELPDESK, 1);
	lookup_s(d, MBX_DIR_BY_MEMBER, HELPDESK, &a);
	expect_found(&a, "cn=Room Delegates," USERS, 1);
	lookup_s(d, MBX_DIR_BY_MEMBER, HENRY, &a);
	expect_found(&a, "cn=Remote Desktop Users,cn=Builtin," CONTOSO, 2);
	lookup_s(d, MBX_DIR_BY_MEMBER, ALICE, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	answer_reset(&a);
	dir_free(&d);
}

/* Keys built to widen the filter match nothing. */
static void test_slapd_injection(void **state)
{
	static const char *const legacy[] = {
	        "*)(objectClass=*",
	        "*",
	        ")(|(objectClass=*)",
	        "*)(legacyExchangeDN=*",
	        LEGACY("*"),
	        LEGACY("alice") "\\",
	        LEGACY("alice") "\\2a",
	        LEGACY("alice*"),
	        LEGACY("alice") ")(objectClass=*",
	        "\\",
	        "\\00",
	};
	static const uint8_t sid_star[] = {'*', ')', '(', 'o', 'b', 'j', 'e',
	                                   'c', 't', 'S', 'i', 'd', '=', '*'};
	struct mbx_dir *d;
	struct answer a = {0};
	/* A key with a backslash and a NUL: the string ends at the NUL (directory.h: string
	 * keys are NUL-terminated), what remains ends in a backslash and matches nothing. */
	static const char with_nul[] = LEGACY("alice") "\\\0"
	                                               ")(objectClass=*";

	(void)state;
	NEED_SLAPD();
	d = slapd_dir(false, false);
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
		lookup_s(d, MBX_DIR_BY_LEGACYDN, legacy[i], &a);
		if (a.st != MBX_DIR_NOT_FOUND)
			fail_msg("legacyExchangeDN %s: %s (%zu entries)", legacy[i],
			         mbx_dir_status_name(a.st), a.n);
		lookup_s(d, MBX_DIR_BY_SMTP, legacy[i], &a);
		expect_status(&a, MBX_DIR_NOT_FOUND);
		lookup_s(d, MBX_DIR_BY_LOGIN, legacy[i], &a);
		expect_status(&a, MBX_DIR_NOT_FOUND);
	}
	lookup(d, MBX_DIR_BY_LEGACYDN, with_nul, sizeof(with_nul) - 1, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice)(sAMAccountName=bob", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_LOGIN, "*)(|(sAMAccountName=*", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_SMTP, "*@contoso.com", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_MEMBER, "*", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_MEMBER, "cn=*," USERS, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup(d, MBX_DIR_BY_SID, sid_star, sizeof(sid_star), &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	lookup_s(d, MBX_DIR_BY_DN, "cn=*," USERS, &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	/* The real values still match (the escaping does not break them). */
	lookup_s(d, MBX_DIR_BY_LEGACYDN, LEGACY("alice"), &a);
	expect_found(&a, ALICE, 1);
	answer_reset(&a);
	dir_free(&d);
}

/* Exact matching: slapd compares these attributes with caseIgnoreMatch, which (RFC 4518)
 * drops leading and trailing spaces and collapses inner runs of them, so it returns alice
 * for "…/cn=alice "; the ldif backend folds ASCII case only and finds nothing. The backend
 * keeps an entry only when a value equals the key but for ASCII case, so both backends answer
 * alike (and the mailbox table does not cache a second name for alice). That slapd did
 * return the entry is checked through the "left out" trace line. */
struct keyed {
	enum mbx_dir_key kind;
	const char *key;
};

static void test_slapd_exact_match(void **state)
{
	static const struct keyed spaced[] = {
	        /* legacyExchangeDN */
	        {MBX_DIR_BY_LEGACYDN, LEGACY("alice") " "},
	        {MBX_DIR_BY_LEGACYDN, " " LEGACY("alice")},
	        {MBX_DIR_BY_LEGACYDN, LEGACY("alice") "  "},
	        {MBX_DIR_BY_LEGACYDN, "/o=Contoso/ou=Exchange  Administrative Group "
	                              "(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"},
	        /* mail (and the SMTP: proxy address), an smtp: proxy address */
	        {MBX_DIR_BY_SMTP, "alice@contoso.com "},
	        {MBX_DIR_BY_SMTP, " alice@contoso.com"},
	        {MBX_DIR_BY_SMTP, "alice.anders@contoso.com  "},
	        /* sAMAccountName, userPrincipalName */
	        {MBX_DIR_BY_LOGIN, "alice "},
	        {MBX_DIR_BY_LOGIN, " alice@contoso.com"},
	};
	static const struct keyed cased[] = {
	        {MBX_DIR_BY_LEGACYDN, "/O=contoso/OU=Exchange Administrative Group "
	                              "(fydibohf23spdlt)/CN=Recipients/cn=ALICE"},
	        {MBX_DIR_BY_SMTP, "ALICE@contoso.COM"},
	        {MBX_DIR_BY_SMTP, "Alice.Anders@Contoso.Com"},
	        {MBX_DIR_BY_LOGIN, "ALICE"},
	        {MBX_DIR_BY_LOGIN, "Alice@Contoso.com"},
	};
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	NEED_SLAPD();
	d = slapd_dir(false, false);
	mbx_log_set_trace(MBX_TRACE_LDAP, true);
	mbx_log_set_level(MBX_LOG_DEBUG);
	for (size_t i = 0; i < sizeof(spaced) / sizeof(spaced[0]); i++) {
		unsigned before = evs.left_out;

		lookup_s(d, spaced[i].kind, spaced[i].key, &a);
		if (a.st != MBX_DIR_NOT_FOUND)
			fail_msg("%s \"%s\": %s, expected not found",
			         mbx_dir_key_name(spaced[i].kind), spaced[i].key,
			         mbx_dir_status_name(a.st));
		/* slapd did find alice: the backend left her out */
		if (evs.left_out != before + 1)
			fail_msg("%s \"%s\": %u entries left out, expected 1",
			         mbx_dir_key_name(spaced[i].kind), spaced[i].key,
			         evs.left_out - before);
	}
	for (size_t i = 0; i < sizeof(cased) / sizeof(cased[0]); i++) {
		lookup_s(d, cased[i].kind, cased[i].key, &a);
		expect_found(&a, ALICE, 1);
	}
	if (getenv("MBX_TEST_VERBOSE") == NULL) {
		mbx_log_set_trace(MBX_TRACE_LDAP, false);
		mbx_log_set_level(MBX_LOG_NOTICE);
	}
	answer_reset(&a);
	dir_free(&d);
}

/* Attribute names go through the map both ways. */
static void test_slapd_attrmap(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};
	struct mbx_dir_attrmap map[] = {
	        {"legacyExchangeDN",
	         "mailNickname"}, /* looks legacyExchangeDN up in mailNickname */
	        {"homeDatabase", "homeMDB"},
	};
	const struct mbx_dir_attr *at;

	(void)state;
	NEED_SLAPD();
	setup_defaults(&s);
	s.uris[0] = primary;
	s.base_dn = getenv("MBX_LDAP_BASE");
	s.bind_dn = getenv("MBX_LDAP_BIND_DN");
	s.pwfile = getenv("MBX_LDAP_PWFILE");
	s.map = map;
	s.nmap = 2;
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	lookup_s(d, MBX_DIR_BY_LEGACYDN, "alice", &a);
	expect_found(&a, ALICE, 1);
	at = mbx_dir_entry_attr(a.e[0], "homeDatabase");
	assert_non_null(at);
	assert_string_equal(
	        (const char *)at->vals[0].data,
	        "cn=DB01,cn=Databases,cn=Exchange Administrative Group (FYDIBOHF23SPDLT),"
	        "cn=Administrative Groups,cn=Contoso,cn=Microsoft Exchange,cn=Services,"
	        "cn=Configuration," CONTOSO);
	assert_null(mbx_dir_entry_attr(a.e[0], "homeMDB"));
	/* mailNickname came back under its canonical name. */
	{
		bool seen = false;

		for (size_t i = 0; i < a.e[0]->nattrs; i++) {
			at = &a.e[0]->attrs[i];
			if (strcmp(at->name, "legacyExchangeDN") == 0 && at->nvals == 1 &&
			    strcmp((const char *)at->vals[0].data, "alice") == 0)
				seen = true;
			assert_true(strcasecmp(at->name, "mailNickname") != 0);
		}
		assert_true(seen);
	}
	lookup_s(d, MBX_DIR_BY_LEGACYDN, LEGACY("alice"), &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	answer_reset(&a);
	dir_free(&d);
}

static void test_slapd_password(void **state)
{
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	NEED_SLAPD();
	d = slapd_dir(false, false);
	check_password(d, ALICE, "alice-Secret1", &a);
	expect_status(&a, MBX_DIR_FOUND);
	assert_int_equal(a.n, 0);
	check_password(d, BOB, "bob-Secret1", &a); /* {SSHA256} */
	expect_status(&a, MBX_DIR_FOUND);
	check_password(d, HENRY, "henry-Secret1", &a); /* {CRYPT} */
	expect_status(&a, MBX_DIR_FOUND);
	check_password(d, ALICE, "alice-Secret2", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	check_password(d, ALICE, "bob-Secret1", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	check_password(d, "cn=Nobody," USERS, "x", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	check_password(d, "cn=Conference Room 1," USERS, "anything", &a); /* no password */
	expect_status(&a, MBX_DIR_NOT_FOUND);
	/* The unauthenticated-bind trap: refused before any bind. */
	check_password(d, ALICE, "", &a);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	assert_non_null(strstr(a.msg, "empty password"));
	assert_true(a.t1 - a.t0 < 100);
	/* Many at once (more than the connection limit): all answered. */
	{
		struct answer many[40];
		bool all = false;

		memset(many, 0, sizeof(many));
		for (size_t i = 0; i < 40; i++)
			many[i].noentries = true;
		for (size_t i = 0; i < 40; i++)
			assert_non_null(mbx_dir_check_password(
			        d, ALICE, i % 2 ? "alice-Secret1" : "wrong", answer_cb, &many[i]));
		for (uint64_t end = now_ms() + 10000; !all && now_ms() < end;) {
			event_base_loop(base, EVLOOP_ONCE);
			all = true;
			for (size_t i = 0; i < 40; i++)
				all = all && many[i].done;
		}
		assert_true(all);
		for (size_t i = 0; i < 40; i++) {
			expect_status(&many[i], i % 2 ? MBX_DIR_FOUND : MBX_DIR_NOT_FOUND);
			assert_int_equal(many[i].calls, 1);
		}
	}
	/* The service connection still reads as the service account. */
	lookup_s(d, MBX_DIR_BY_LOGIN, "bob", &a);
	expect_found(&a, BOB, 1);
	answer_reset(&a);
	dir_free(&d);
}

/* --- change notifications ---------------------------------------------------------------- */

/* The last MAX_CHANGES changes (a ring: change number i is at i % MAX_CHANGES). A full
 * refresh after a failover reports every entry (34 in the sample); two of them in one test
 * once filled a 64-entry log that kept the first ones only, and the change the test waited
 * for was counted but never recorded. */
#define MAX_CHANGES 256
#define CH(i) ((i) % MAX_CHANGES)

static struct {
	unsigned n;
	char dn[MAX_CHANGES][256];
	char legacy[MAX_CHANGES][256];
	uint64_t t[MAX_CHANGES];
} changes;

static void change_cb(void *ctx, const char *dn, const char *legacy)
{
	(void)ctx;
	assert_false(starting);
	snprintf(changes.dn[CH(changes.n)], 256, "%s", dn);
	snprintf(changes.legacy[CH(changes.n)], 256, "%s", legacy != NULL ? legacy : "(null)");
	changes.t[CH(changes.n)] = now_ms();
	changes.n++;
}

/* Number of the first change for dn (and legacy, if given) at or after number from (among the
 * last MAX_CHANGES), or -1. */
static int change_find(unsigned from, const char *dn, const char *legacy)
{
	unsigned i = changes.n > MAX_CHANGES && from < changes.n - MAX_CHANGES
	                     ? changes.n - MAX_CHANGES
	                     : from;

	for (; i < changes.n; i++) {
		if (strcasecmp(changes.dn[CH(i)], dn) == 0 &&
		    (legacy == NULL || strcasecmp(changes.legacy[CH(i)], legacy) == 0))
			return (int)i;
	}
	return -1;
}

static int wait_change(unsigned from, const char *dn, const char *legacy, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	int i;

	while ((i = change_find(from, dn, legacy)) < 0 && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return i;
}

static void wait_persisting(struct mbx_dir *d, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (!dir_ldap_sync_persisting(d) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(dir_ldap_sync_persisting(d));
}

static void ldapmodify(const char *instance, const char *ldif)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/change.ldif", tmpdir);
	write_file(path, ldif, 0600);
	ctl("modify %s < '%s'", instance, path);
}

static void test_slapd_content_sync(void **state)
{
	struct mbx_dir *d;
	unsigned from;
	uint64_t t;
	int i;

	(void)state;
	NEED_SLAPD();
	d = slapd_dir(false, true);
	memset(&changes, 0, sizeof(changes));
	mbx_dir_set_change_cb(d, change_cb, NULL);
	wait_persisting(d, 5000);
	run_for(200);
	assert_int_equal(changes.n, 0); /* the first refresh reports nothing */
	/* A modification made with ldapmodify reaches the callback within a second. */
	from = changes.n;
	t = now_ms();
	ldapmodify("contoso", "dn: " ALICE "\nchangetype: modify\nreplace: displayName\n"
	                      "displayName: Alice A. Anders\n");
	i = wait_change(from, ALICE, LEGACY("alice"), 1000);
	if (i < 0)
		fail_msg("no change callback for %s within 1 s (%u changes)", ALICE, changes.n);
	assert_true(changes.t[CH(i)] - t < 1000);
	/* A new legacyExchangeDN: both the old and the new one are told. */
	from = changes.n;
	ldapmodify("contoso", "dn: " CAROL "\nchangetype: modify\nreplace: legacyExchangeDN\n"
	                      "legacyExchangeDN: " LEGACY("carol2") "\n");
	assert_true(wait_change(from, CAROL, LEGACY("carol2"), 1000) >= 0);
	assert_true(wait_change(from, CAROL, LEGACY("carol"), 1000) >= 0);
	from = changes.n;
	ldapmodify("contoso", "dn: " CAROL "\nchangetype: modify\nreplace: legacyExchangeDN\n"
	                      "legacyExchangeDN: " LEGACY("carol") "\n");
	assert_true(wait_change(from, CAROL, LEGACY("carol"), 1000) >= 0);
	assert_true(wait_change(from, CAROL, LEGACY("carol2"), 1000) >= 0);
	/* Several changes in one burst: every one arrives. */
	from = changes.n;
	ldapmodify("contoso", "dn: " ALICE "\nchangetype: modify\nreplace: description\n"
	                      "description: 1\n\n"
	                      "dn: " BOB "\nchangetype: modify\nreplace: description\n"
	                      "description: 2\n\n"
	                      "dn: " IVAN "\nchangetype: modify\nreplace: description\n"
	                      "description: 3\n\n"
	                      "dn: " HENRY "\nchangetype: modify\nreplace: description\n"
	                      "description: 4\n");
	assert_true(wait_change(from, ALICE, NULL, 1000) >= 0);
	assert_true(wait_change(from, BOB, NULL, 1000) >= 0);
	assert_true(wait_change(from, IVAN, NULL, 1000) >= 0);
	assert_true(wait_change(from, HENRY, NULL, 1000) >= 0);
	/* Added, then deleted: the delete carries the legacyExchangeDN it had. */
	from = changes.n;
	ldapmodify("contoso", "dn: cn=Temp User," USERS "\nchangetype: add\nobjectClass: top\n"
	                      "objectClass: person\nobjectClass: organizationalPerson\n"
	                      "objectClass: user\ncn: Temp User\nsn: User\n"
	                      "legacyExchangeDN: " LEGACY("temp") "\n");
	assert_true(wait_change(from, "cn=Temp User," USERS, LEGACY("temp"), 1000) >= 0);
	from = changes.n;
	ldapmodify("contoso", "dn: cn=Temp User," USERS "\nchangetype: delete\n");
	assert_true(wait_change(from, "cn=Temp User," USERS, LEGACY("temp"), 1000) >= 0);
	/* Changes made while the sync is not connected arrive in the refresh that resumes
	 * from the cookie: a reload closes the sync connection, the changes are made before
	 * the loop runs again (ldapmodify runs synchronously here). A deleted entry is told
	 * with the legacyExchangeDN it had, which the server no longer sends. */
	ldapmodify("contoso", "dn: cn=Temp Two," USERS "\nchangetype: add\nobjectClass: top\n"
	                      "objectClass: person\nobjectClass: organizationalPerson\n"
	                      "objectClass: user\ncn: Temp Two\nsn: Two\n"
	                      "legacyExchangeDN: " LEGACY("temp2") "\n");
	assert_true(wait_change(changes.n > 0 ? changes.n - 1 : 0, "cn=Temp Two," USERS,
	                        LEGACY("temp2"), 1000) >= 0);
	{
		char err[512];

		assert_int_equal(mbx_dir_reload(d, err, sizeof(err)), 0);
	}
	assert_false(dir_ldap_sync_persisting(d));
	from = changes.n;
	ldapmodify("contoso", "dn: cn=Temp Two," USERS "\nchangetype: delete\n\n"
	                      "dn: " IVAN "\nchangetype: modify\nreplace: description\n"
	                      "description: while away\n");
	assert_int_equal(changes.n, from);
	wait_persisting(d, 5000);
	assert_true(wait_change(from, "cn=Temp Two," USERS, LEGACY("temp2"), 1000) >= 0);
	assert_true(wait_change(from, IVAN, LEGACY("ivan"), 1000) >= 0);
	/* Entries that did not change are not reported. */
	assert_true(change_find(from, ALICE, NULL) < 0);
	/* More changes while away than the server's session log holds (1000 in the harness):
	 * it cannot list what was deleted and resumes with a present phase instead; what it
	 * does not list any more is reported deleted. */
	ldapmodify("contoso", "dn: cn=Temp Three," USERS "\nchangetype: add\nobjectClass: top\n"
	                      "objectClass: person\nobjectClass: organizationalPerson\n"
	                      "objectClass: user\ncn: Temp Three\nsn: Three\n"
	                      "legacyExchangeDN: " LEGACY("temp3") "\n");
	assert_true(wait_change(changes.n > 0 ? changes.n - 1 : 0, "cn=Temp Three," USERS,
	                        LEGACY("temp3"), 1000) >= 0);
	{
		char err[512], *ldif = malloc(1200 * 200 + 200);
		size_t n = 0;

		assert_non_null(ldif);
		assert_int_equal(mbx_dir_reload(d, err, sizeof(err)), 0);
		n += (size_t)sprintf(ldif + n,
		                     "dn: cn=Temp Three," USERS "\nchangetype: delete\n\n");
		for (int k = 0; k < 1200; k++)
			n += (size_t)sprintf(ldif + n,
			                     "dn: " IVAN "\nchangetype: modify\nreplace: "
			                     "description\ndescription: %d\n\n",
			                     k);
		from = changes.n;
		ldapmodify("contoso", ldif);
		free(ldif);
	}
	wait_persisting(d, 10000);
	assert_true(wait_change(from, "cn=Temp Three," USERS, LEGACY("temp3"), 1000) >= 0);
	dir_free(&d);
}

static struct mbx_dir *free_me;

static void change_free_cb(void *ctx, const char *dn, const char *legacy)
{
	(void)ctx;
	(void)dn;
	(void)legacy;
	dir_free(&free_me);
}

/* Modifications: through the rootdn (the harness' service account may write only the
 * attributes a move changes, on user entries: tests/integration/lib/slapd.sh). */
static void test_slapd_modify(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d, *ro;
	struct answer a = {0};
	struct mbx_dir_value v[2] = {{(uint8_t *)"moved by test", 13}, {(uint8_t *)"second", 6}};
	struct mbx_dir_mod mods[2];
	unsigned from;

	(void)state;
	NEED_SLAPD();
	setup_defaults(&s);
	s.uris[0] = primary;
	s.base_dn = getenv("MBX_LDAP_BASE");
	s.bind_dn = getenv("MBX_LDAP_ROOT_DN");
	s.pwfile = getenv("MBX_LDAP_ROOT_PWFILE");
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	memset(&changes, 0, sizeof(changes));
	mbx_dir_set_change_cb(d, change_cb, NULL);
	mods[0].op = MBX_DIR_MOD_REPLACE;
	mods[0].attr = "description";
	mods[0].vals = v;
	mods[0].nvals = 2;
	mods[1].op = MBX_DIR_MOD_DELETE;
	mods[1].attr = "givenName";
	mods[1].vals = NULL;
	mods[1].nvals = 0;
	answer_reset(&a);
	a.noentries = true;
	from = changes.n;
	starting = true;
	assert_non_null(mbx_dir_modify(d, BOB, mods, 2, answer_cb, &a));
	starting = false;
	run_until(&a.done, 5000);
	expect_status(&a, MBX_DIR_FOUND);
	/* The change callback ran before the modify's answer. */
	assert_true(change_find(from, BOB, NULL) >= 0);
	lookup_s(d, MBX_DIR_BY_DN, BOB, &a);
	expect_found(&a, BOB, 1);
	assert_int_equal(mbx_dir_entry_attr(a.e[0], "description")->nvals, 2);
	assert_null(mbx_dir_entry_attr(a.e[0], "givenName"));
	/* All or nothing: the second mod fails (no such value), the first is not applied. */
	mods[0].nvals = 1;
	mods[0].vals = &v[1];
	mods[1].op = MBX_DIR_MOD_DELETE;
	mods[1].attr = "sn";
	mods[1].vals = &v[0];
	mods[1].nvals = 1;
	answer_reset(&a);
	a.noentries = true;
	assert_non_null(mbx_dir_modify(d, BOB, mods, 2, answer_cb, &a));
	run_until(&a.done, 5000);
	expect_status(&a, MBX_DIR_ERROR);
	lookup_s(d, MBX_DIR_BY_DN, BOB, &a);
	assert_int_equal(mbx_dir_entry_attr(a.e[0], "description")->nvals, 2);
	/* No such entry. */
	answer_reset(&a);
	a.noentries = true;
	assert_non_null(mbx_dir_modify(d, "cn=Nobody," USERS, mods, 1, answer_cb, &a));
	run_until(&a.done, 5000);
	expect_status(&a, MBX_DIR_NOT_FOUND);
	/* The harness' service account may not write description: refused, an error (not
	 * TEMPFAIL). */
	ro = slapd_dir(false, false);
	answer_reset(&a);
	a.noentries = true;
	assert_non_null(mbx_dir_modify(ro, BOB, mods, 1, answer_cb, &a));
	run_until(&a.done, 5000);
	expect_status(&a, MBX_DIR_ERROR);
	assert_non_null(strstr(a.msg, "nsufficient"));
	answer_reset(&a);
	dir_free(&ro);
	/* A change callback that frees the directory: the modify is then cancelled. */
	mods[0].op = MBX_DIR_MOD_REPLACE;
	mods[0].attr = "description";
	mods[0].vals = v;
	mods[0].nvals = 1;
	free_me = d;
	mbx_dir_set_change_cb(d, change_free_cb, NULL);
	answer_reset(&a);
	assert_non_null(mbx_dir_modify(d, BOB, mods, 1, answer_cb, &a));
	run_for(1000);
	assert_null(free_me);
	assert_int_equal(a.calls, 0);
}

static void test_slapd_starttls(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	NEED_SLAPD();
	if (getenv("MBX_LDAP_CA") == NULL) {
		skip();
		return;
	}
	setup_defaults(&s);
	s.uris[0] = primary;
	s.base_dn = getenv("MBX_LDAP_BASE");
	s.bind_dn = getenv("MBX_LDAP_BIND_DN");
	s.pwfile = getenv("MBX_LDAP_PWFILE");
	s.starttls = true;
	s.ca_file = getenv("MBX_LDAP_CA");
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	check_password(d, ALICE, "alice-Secret1", &a);
	expect_status(&a, MBX_DIR_FOUND);
	dir_free(&d);
	/* A certificate from another CA is refused: no lookups over that connection. */
	s.ca_file = getenv("MBX_LDAP_WRONG_CA");
	memset(&evs, 0, sizeof(evs));
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_status(&a, MBX_DIR_TEMPFAIL);
	assert_int_equal(evs.down, 1);
	answer_reset(&a);
	dir_free(&d);
}

/* ldaps://: TLS from the first byte, the CA from the configuration. */
static void test_slapd_ldaps(void **state)
{
	char err[512];
	struct setup s;
	struct mbx_dir *d;
	struct answer a = {0};
	const char *uri = getenv("MBX_LDAP_LDAPS_URI");

	(void)state;
	NEED_SLAPD();
	if (uri == NULL || getenv("MBX_LDAP_CA") == NULL) {
		skip();
		return;
	}
	setup_defaults(&s);
	s.uris[0] = uri;
	s.base_dn = getenv("MBX_LDAP_BASE");
	s.bind_dn = getenv("MBX_LDAP_BIND_DN");
	s.pwfile = getenv("MBX_LDAP_PWFILE");
	s.ca_file = getenv("MBX_LDAP_CA");
	s.starttls = true; /* ignored for ldaps:// */
	d = dir_make(&s, err, sizeof(err));
	if (d == NULL)
		fail_msg("%s", err);
	lookup_s(d, MBX_DIR_BY_SMTP, "alice@contoso.com", &a);
	expect_found(&a, ALICE, 1);
	assert_string_equal(a.server, uri);
	check_password(d, ALICE, "alice-Secret1", &a);
	expect_status(&a, MBX_DIR_FOUND);
	dir_free(&d);
	s.ca_file = getenv("MBX_LDAP_WRONG_CA");
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	lookup_s(d, MBX_DIR_BY_SMTP, "alice@contoso.com", &a);
	expect_status(&a, MBX_DIR_TEMPFAIL);
	answer_reset(&a);
	dir_free(&d);
}

/* reload reconnects and reads the password file again; a file that became readable by
 * others is refused and the backend goes on with what it had. */
static void test_slapd_reload(void **state)
{
	struct mbx_dir *d;
	struct answer a = {0};
	char err[512], path[300], pw[256];
	struct setup s;
	FILE *f;

	(void)state;
	NEED_SLAPD();
	f = fopen(getenv("MBX_LDAP_PWFILE"), "r");
	assert_non_null(f);
	assert_non_null(fgets(pw, sizeof(pw), f));
	fclose(f);
	snprintf(path, sizeof(path), "%s/reload.pw", tmpdir);
	write_file(path, pw, 0600);
	setup_defaults(&s);
	s.uris[0] = primary;
	s.base_dn = getenv("MBX_LDAP_BASE");
	s.bind_dn = getenv("MBX_LDAP_BIND_DN");
	s.pwfile = path;
	d = dir_make(&s, err, sizeof(err));
	assert_non_null(d);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	/* A lookup in flight while reloading is answered. */
	start_lookup(d, MBX_DIR_BY_LOGIN, "bob", 3, &a);
	assert_int_equal(mbx_dir_reload(d, err, sizeof(err)), 0);
	run_until(&a.done, 5000);
	expect_found(&a, BOB, 1);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(mbx_dir_reload(d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "group or others"));
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	/* A wrong password after a reload: the server refuses the service account, lookups
	 * are TEMPFAIL (never NOT_FOUND). */
	write_file(path, "wrong-password\n", 0600);
	memset(&evs, 0, sizeof(evs));
	assert_int_equal(mbx_dir_reload(d, err, sizeof(err)), 0);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_status(&a, MBX_DIR_TEMPFAIL);
	assert_int_equal(evs.down, 1);
	write_file(path, pw, 0600);
	assert_int_equal(mbx_dir_reload(d, err, sizeof(err)), 0);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	answer_reset(&a);
	dir_free(&d);
}

/* A server that stops answering (SIGSTOP: connections stay open, nothing comes back) is
 * found dead by the watchdog within about a second; the lookup goes to the replica. */
static void test_slapd_hung_server(void **state)
{
	struct mbx_dir *d;
	struct answer a = {0};
	uint64_t end;

	(void)state;
	NEED_SLAPD();
	if (replica == NULL) {
		skip();
		return;
	}
	d = slapd_dir(true, true);
	wait_persisting(d, 5000);
	memset(&evs, 0, sizeof(evs));
	ctl("stop contoso"); /* returns once every thread of slapd is stopped */
	open_things.stopped = true;
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	ctl("cont contoso"); /* (before any assertion can leave it stopped) */
	open_things.stopped = false;
	expect_found(&a, ALICE, 1);
	assert_string_equal(a.server, replica);
	print_message("hung server: lookup answered by the replica after %llu ms\n",
	              (unsigned long long)(a.t1 - a.t0));
	assert_true(a.t1 - a.t0 >= 900);
	assert_true(a.t1 - a.t0 < 2000);
	assert_int_equal(evs.down, 1);
	assert_int_equal(evs.failover, 1);
	/* Running again: lookups move back. */
	end = now_ms() + 5000;
	while ((dir_ldap_active_uri(d) == NULL || strcmp(dir_ldap_active_uri(d), primary) != 0) &&
	       now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	assert_string_equal(dir_ldap_active_uri(d), primary);
	assert_int_equal(evs.recovered, 1);
	wait_persisting(d, 5000);
	answer_reset(&a);
	dir_free(&d);
}

/* --- failover ---------------------------------------------------------------------------- */

static const char *const logins[] = {"alice", "bob", "carol", "dave", "ivan", "henry", "gina"};
#define NSTREAM 400

static struct {
	struct answer a[NSTREAM];
	unsigned started;
	struct mbx_dir *d;
	struct event *ev;
	uint64_t kill_at;
	bool killed;
} stream;

static void stream_tick(evutil_socket_t fd, short what, void *arg)
{
	struct answer *a;
	const char *k;

	(void)fd;
	(void)what;
	(void)arg;
	if (stream.started >= NSTREAM)
		return;
	if (!stream.killed && now_ms() >= stream.kill_at) {
		slapd_kill("contoso");
		stream.killed = true;
		stream.kill_at = now_ms();
	}
	a = &stream.a[stream.started];
	k = logins[stream.started % (sizeof(logins) / sizeof(logins[0]))];
	memset(a, 0, sizeof(*a));
	a->t0 = now_ms();
	assert_non_null(mbx_dir_lookup(stream.d, MBX_DIR_BY_LOGIN, k, strlen(k), answer_cb, a));
	stream.started++;
}

static void test_slapd_failover(void **state)
{
	struct mbx_dir *d;
	struct answer a = {0};
	struct timeval tv = {0, 10000};
	unsigned found = 0, tempfail = 0, late_ok = 0;
	uint64_t end, worst = 0, first_replica = 0;

	(void)state;
	NEED_SLAPD();
	if (replica == NULL) {
		skip();
		return;
	}
	memset(&evs, 0, sizeof(evs));
	d = slapd_dir(true, true);
	memset(&changes, 0, sizeof(changes));
	mbx_dir_set_change_cb(d, change_cb, NULL);
	wait_persisting(d, 5000);
	assert_string_equal(dir_ldap_active_uri(d), primary);
	/* A lookup every 10 ms for 4 s; the primary is SIGKILLed after 0.5 s. */
	memset(&stream, 0, sizeof(stream));
	stream.d = d;
	stream.kill_at = now_ms() + 500;
	stream.ev = event_new(base, -1, EV_PERSIST, stream_tick, NULL);
	event_add(stream.ev, &tv);
	end = now_ms() + 6000;
	while (now_ms() < end) {
		bool all = stream.started == NSTREAM;

		for (unsigned i = 0; all && i < NSTREAM; i++)
			all = stream.a[i].done;
		if (all)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(stream.ev);
	stream.ev = NULL;
	assert_true(stream.killed);
	for (unsigned i = 0; i < stream.started; i++) {
		struct answer *x = &stream.a[i];

		if (!x->done)
			fail_msg("lookup %u never answered", i);
		assert_int_equal(x->calls, 1);
		if (x->st == MBX_DIR_NOT_FOUND || x->st == MBX_DIR_ERROR)
			fail_msg("lookup %u (%s) during failover: %s (%s)", i,
			         logins[i % (sizeof(logins) / sizeof(logins[0]))],
			         mbx_dir_status_name(x->st), x->msg);
		if (x->st == MBX_DIR_FOUND)
			found++;
		else
			tempfail++;
		if (x->t1 - x->t0 > worst)
			worst = x->t1 - x->t0;
		if (first_replica == 0 && strcmp(x->server, replica) == 0)
			first_replica = x->t1;
		/* Two seconds after the kill, the replica serves every lookup. */
		if (x->t0 > stream.kill_at + 2000) {
			if (x->st != MBX_DIR_FOUND || strcmp(x->server, replica) != 0)
				fail_msg("lookup %u, %llu ms after the kill: %s from %s (%s)", i,
				         (unsigned long long)(x->t0 - stream.kill_at),
				         mbx_dir_status_name(x->st), x->server, x->msg);
			late_ok++;
		}
		answer_reset(x);
	}
	print_message("failover: %u lookups, %u found, %u tempfail; first answer from the replica "
	              "%lld ms after the kill; slowest lookup %llu ms; %u lookups after 2 s, all "
	              "from the replica\n",
	              stream.started, found, tempfail, (long long)(first_replica - stream.kill_at),
	              (unsigned long long)worst, late_ok);
	assert_true(late_ok > 100);
	assert_string_equal(dir_ldap_active_uri(d), replica);
	assert_int_equal(evs.down, 1);
	assert_int_equal(evs.failover, 1);
	assert_int_equal(evs.alldown, 0);
	/* The sync follows the replica now. */
	wait_persisting(d, 5000);
	/* The primary comes back: lookups move back, without restarting the backend. How soon is
	 * not bounded (the issue asks for recovery, not for a time): the probe's back-off has
	 * reached retry_max (1 s) by now, then the probe, the service bind, the root DSE, the sync
	 * connection, its bind and a refresh follow, each a round trip to a slapd that has just
	 * started, on a machine that may be loaded; and the primary may refuse the replica's
	 * cookie ("consumer state is newer than provider": its last changes died with it), which
	 * costs a second, full refresh. So wait, up to a generous deadline, until the backend has
	 * recovered: the RECOVERED event, lookups on the primary, and the Content Sync persisting
	 * on the primary (not still on the replica, where a change made on the primary arrives
	 * only as fast as the replica's own syncrepl brings it). */
	slapd_restart("contoso");
	end = now_ms() + 15000;
	while ((evs.recovered == 0 || dir_ldap_active_uri(d) == NULL ||
	        strcmp(dir_ldap_active_uri(d), primary) != 0 || dir_ldap_sync_uri(d) == NULL ||
	        strcmp(dir_ldap_sync_uri(d), primary) != 0) &&
	       now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	print_message("failover: recovered (events, lookups and sync on the primary) %llu ms "
	              "after the restart\n",
	              (unsigned long long)(now_ms() + 15000 - end));
	assert_int_equal(evs.recovered, 1);
	assert_string_equal(dir_ldap_active_uri(d), primary);
	assert_true(dir_ldap_sync_persisting(d));
	assert_non_null(dir_ldap_sync_uri(d));
	assert_string_equal(dir_ldap_sync_uri(d), primary);
	assert_int_equal(evs.failover, 2);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	assert_string_equal(a.server, primary);
	/* Only now, on a healthy backend that follows the primary, does the 1 s bound apply: a
	 * change made with ldapmodify reaches the callback within a second. */
	{
		unsigned from = changes.n;

		ldapmodify("contoso", "dn: " IVAN "\nchangetype: modify\nreplace: description\n"
		                      "description: after failover\n");
		if (wait_change(from, IVAN, NULL, 1000) < 0)
			fail_msg("no change callback for %s within 1 s of the modification (%u "
			         "changes)",
			         IVAN, changes.n);
	}
	answer_reset(&a);
	dir_free(&d);
}

/* Both servers down: every lookup TEMPFAIL within about a second, ALL_DOWN once. */
static void test_slapd_all_down(void **state)
{
	struct mbx_dir *d;
	struct answer a = {0};

	(void)state;
	NEED_SLAPD();
	if (replica == NULL) {
		skip();
		return;
	}
	d = slapd_dir(true, false);
	memset(&evs, 0, sizeof(evs));
	slapd_kill("contoso");
	slapd_kill("contoso2");
	for (int i = 0; i < 10; i++) {
		lookup_s(d, MBX_DIR_BY_LOGIN, logins[i % 7], &a);
		expect_status(&a, MBX_DIR_TEMPFAIL);
		if (a.t1 - a.t0 > 1200)
			fail_msg("lookup %d took %llu ms", i, (unsigned long long)(a.t1 - a.t0));
	}
	assert_int_equal(evs.alldown, 1);
	assert_int_equal(evs.down, 2);
	/* Back: served again without a restart of the backend. */
	slapd_restart("contoso2");
	{
		uint64_t end = now_ms() + 5000;

		while (evs.recovered == 0 && now_ms() < end)
			event_base_loop(base, EVLOOP_ONCE);
	}
	assert_int_equal(evs.recovered, 1);
	lookup_s(d, MBX_DIR_BY_LOGIN, "alice", &a);
	expect_found(&a, ALICE, 1);
	assert_string_equal(a.server, replica);
	answer_reset(&a);
	dir_free(&d);
}

/* After every test, passed or failed: what a failed assertion left behind. */
static int test_teardown(void **state)
{
	(void)state;
	if (stream.ev != NULL) {
		event_free(stream.ev); /* the failover stream, stopped mid-way */
		stream.ev = NULL;
	}
	for (unsigned i = 0; i < NSTREAM; i++) {
		for (size_t j = 0; j < stream.a[i].n; j++)
			stream.a[i].e[j] = NULL; /* freed below, with every kept entry */
		stream.a[i].n = 0;
	}
	if (open_things.stopped) {
		ctl("cont contoso");
		open_things.stopped = false;
	}
	if (open_things.killed[0])
		slapd_restart("contoso");
	if (open_things.killed[1])
		slapd_restart("contoso2");
	for (size_t i = 0; i < MAX_OPEN; i++) {
		if (open_things.dirs[i] != NULL) {
			struct mbx_dir *d = open_things.dirs[i];

			open_things.dirs[i] = NULL;
			mbx_dir_free(&d);
		}
	}
	while (open_things.nkept > 0)
		mbx_dir_entry_free(&open_things.kept[--open_things.nkept]);
	free_me = NULL;
	fake_stop();
	if (getenv("MBX_TEST_VERBOSE") == NULL) {
		mbx_log_set_trace(MBX_TRACE_LDAP, false);
		mbx_log_set_level(MBX_LOG_NOTICE);
	}
	/* Let connections closed by the frees go (worker threads finish) before the next test. */
	run_for(50);
	return 0;
}

#define T(f) cmocka_unit_test_teardown(f, test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_password_file),
	        T(test_config_errors),
	        T(test_all_down_fast),
	        T(test_silent_server),
	        T(test_bad_keys),
	        T(test_filters),
	        T(test_entries),
	        T(test_slapd_lookup_kinds),
	        T(test_slapd_injection),
	        T(test_slapd_exact_match),
	        T(test_slapd_attrmap),
	        T(test_slapd_password),
	        T(test_slapd_content_sync),
	        T(test_slapd_modify),
	        T(test_slapd_starttls),
	        T(test_slapd_ldaps),
	        T(test_slapd_reload),
	        T(test_slapd_hung_server),
	        T(test_slapd_failover),
	        T(test_slapd_all_down),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
