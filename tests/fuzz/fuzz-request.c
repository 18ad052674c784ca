/*
 * fuzz-request.c: libFuzzer harness for the whole MAPI/HTTP request path of the mailbox
 * endpoint ([MS-OXCMAPIHTTP] 2.2.2-2.2.7, 3.2.5; protocol.md 5): raw HTTP request bytes ->
 * mbxstore's HTTP server (include/mbx/httpd.h: src/mapihttp/httpd.c, http-parse.c) -> the
 * front end (src/mapihttp/mh-server.c: routing, header checks, cookies, HTTP
 * Basic authentication against the ldif backend on conf/directory.ldif, the Connect / Execute /
 * Disconnect / PING / NotificationWait bodies) -> the session contexts and the Execute engine
 * (src/store/session.c, the logon pipeline, the store ROPs) -> the response bytes.
 *
 * The daemon's objects are built once (LLVMFuzzerInitialize): one event loop, the ldif
 * directory, mailbox table, principal resolver, logon pipeline, front end and two HTTP servers
 * with the limits of the daemon's listeners (src/daemon/listen.c), one attached as plain, one
 * as TLS. A client connection is one end of an AF_UNIX socketpair whose other end is handed to
 * a server (mbx_httpd_add_connection) with an AF_UNIX peer address: the front end counts an
 * AF_UNIX peer as loopback, so clear-text Basic is accepted as on the daemon's plain_http
 * listener.
 *
 * An input is what clients send on up to FR_MAX_CONNS connections, split at "@NEXT@" (several
 * pipelined requests on one connection are fine). The harness opens them all, writes each,
 * runs the loop until the server has nothing left to do (every request answered, nothing left
 * to run, no answer bytes coming), then shuts the clients' sending sides down and runs the
 * loop until the server has closed every connection, reading the answers all along. Tokens in
 * a connection's bytes, replaced or removed before they are sent:
 *   @CTX@ @SEQ@  the MapiContext and MapiSequence values of a session context of
 *                alice@contoso.com (password alice-Secret1) that the harness holds, so that
 *                inputs reach Execute, Disconnect and NotificationWait past the cookie checks;
 *   @TLS@        the connection goes to the server attached as a TLS listener (the bytes are
 *                still clear text: it changes what the front end believes);
 *   @EOF@        the connection's bytes end here and the client shuts its sending side down
 *                at once, still reading the answers. The server reads nothing while the
 *                handler holds a request whose answer has not started (httpd.h): it answers
 *                what it read, then sees the end and closes; an end seen during a streamed
 *                answer is a client gone (the request is detached: the front end's close
 *                callback);
 *   @BYE@        the connection's bytes end here and the client closes its socket as soon as
 *                they are written, without reading the answers: a client that goes away (the
 *                server notices when it writes or, during a streamed answer, reads; a request
 *                held then is detached).
 *
 * Every input starts from the same state, one unused held context and no other: the held
 * context is used by one input at most (then it is destroyed and a new one made by a real
 * Connect), and the contexts an input's Connects made (their Set-Cookie in the answers) are
 * destroyed. Limits are small so that their answers are reachable: max_body_bytes 4096,
 * 8 contexts, 4 per user; a NotificationWait is answered at once (notification_wait_seconds 0).
 *
 * Checked: the server closes every connection within FR_GUARD_MS (nothing hangs; for @BYE@
 * connections by its own count, mbx_httpd_connections), no request of the front end outlives
 * its connection, every context a Connect made was announced in a Set-Cookie (none is left
 * behind), every answer starts with an HTTP/1.0 or HTTP/1.1 status line, no ROP handler breaks
 * its size bound (logged as an error). ASan, UBSan and LeakSanitizer do the rest.
 *
 * MBX_FUZZ_DUMP=1 in the environment prints every answer to stderr (what does a seed reach?):
 *   MBX_FUZZ_DUMP=1 build/fuzz/fuzz-request tests/fuzz/corpus/fuzz-request/execute-logon
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mapihttp/mh-frontend-int.h"
#include "mbx/config.h"
#include "mbx/defer-event.h"
#include "mbx/directory.h"
#include "mbx/frontend.h"
#include "mbx/httpd.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
#include "mbx/mailbox-table.h"
#include "mbx/mapihttp.h"
#include "mbx/principal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define CONFIG_DN                                                                                  \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define ALICE_LEG AG "/cn=Recipients/cn=alice"
/* alice:alice-Secret1 */
#define ALICE_BASIC "Basic YWxpY2U6YWxpY2UtU2VjcmV0MQ=="

#define FR_GUARD_MS 5000u      /* the server must have closed by then */
#define FR_RESP_CAP (4u << 20) /* answer bytes kept for the Set-Cookie scan */
#define FR_IDLE_ROUNDS 3u      /* loop rounds with nothing to do: the server waits for input */
#define FR_MAX_CONNS 4u
#define FR_TOKEN_LEN 5u /* "@CTX@", "@SEQ@", "@TLS@", "@EOF@", "@BYE@" */
#define FR_TOKEN_NEXT "@NEXT@"

static const struct mbx_server_identity server1 = {"SERVER1",
                                                   AG "/cn=Configuration/cn=Servers/cn=SERVER1",
                                                   "cn=SERVER1,cn=Servers," CONFIG_DN,
                                                   NULL,
                                                   0,
                                                   false};

static struct {
	struct event_base *base;
	struct mbx_config cfg;
	struct mbx_dir *dir;
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *res;
	struct mbx_logon_pipeline *pl;
	struct mbx_frontend *fe;
	struct mbx_httpd *http[2]; /* plain, "TLS" */
	/* the held context: "" when there is none */
	char ctx[MBX_MH_CTX_COOKIE_LEN + 1];
	char seq[MBX_MH_CTX_SEQ_LEN + 1];
	uint64_t ctx_nreq;
	bool handler_bug;
	bool timed_out;
	bool dump; /* MBX_FUZZ_DUMP set: every answer to stderr (to see what a seed reaches) */
} g;

/* One client connection. */
struct fr_conn {
	int fd;
	struct event *rev, *wev;
	bool tls;   /* to the "TLS" listener */
	bool early; /* shut down as soon as written (@EOF@) */
	bool bye;   /* closed as soon as written (@BYE@) */
	uint8_t *out;
	size_t out_len, out_off;
	uint8_t *resp;
	size_t resp_len, resp_cap;
	bool resp_full; /* answer bytes were dropped past FR_RESP_CAP */
	bool written;   /* all of out was sent (or the server stopped reading) */
	bool eof;       /* the server closed */
	bool clean_eof; /* ... and every byte it sent was read */
};

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	if (level == MBX_LOG_ERROR && strstr(line, "size bound") != NULL)
		g.handler_bug = true;
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz-request: %s\n", what);
	abort();
}

/* conf/directory.ldif: $MBX_SRCDIR, the working directory and above, or beside this file. */
static const char *find_ldif(void)
{
	static char path[4096];
	static const char *const rel[] = {"conf/directory.ldif", "../conf/directory.ldif",
	                                  "../../conf/directory.ldif"};
	const char *src = getenv("MBX_SRCDIR");
	const char *slash;

	if (src != NULL) {
		snprintf(path, sizeof(path), "%s/conf/directory.ldif", src);
		if (access(path, R_OK) == 0)
			return path;
	}
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if (access(rel[i], R_OK) == 0)
			return rel[i];
	slash = strrchr(__FILE__, '/'); /* .../tests/fuzz/fuzz-request.c */
	if (slash != NULL) {
		snprintf(path, sizeof(path), "%.*s/../../conf/directory.ldif",
		         (int)(slash - __FILE__), __FILE__);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

/* ---- the server ---------------------------------------------------------------------------- */

static void fe_build(void)
{
	struct mbx_frontend_deps deps = {0};
	char err[512];

	deps.base = g.base;
	deps.cfg = &g.cfg;
	deps.dir = g.dir;
	deps.table = g.table;
	deps.resolver = g.res;
	deps.pipeline = g.pl;
	deps.id = &server1;
	g.fe = mbx_frontend_new(&deps, err, sizeof(err));
	if (g.fe == NULL)
		die(err);
	if (mbx_frontend_attach(g.fe, g.http[0], false) != 0 ||
	    mbx_frontend_attach(g.fe, g.http[1], true) != 0)
		die("mbx_frontend_attach failed");
	g.ctx[0] = '\0';
}

/* A new front end on the same HTTP servers (no connection is open). */
static void fe_rebuild(void)
{
	mbx_frontend_free(&g.fe);
	fe_build();
}

/* An HTTP server with the limits of the daemon's listeners (src/daemon/listen.c; the body
 * limit is set by mbx_frontend_attach). It listens nowhere: the harness hands it connections. */
static void server_http_new(int i)
{
	struct mbx_httpd_limits lim = {.timeout_seconds = g.cfg.limits.request_timeout_seconds,
	                               .max_head_bytes = 64 * 1024};

	g.http[i] = mbx_httpd_new(g.base, &lim);
	if (g.http[i] == NULL)
		die("mbx_httpd_new failed");
}

static void server_new(void)
{
	struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};
	struct mbx_mailbox_table_config tc = {.ttl_ms = 60000,
	                                      .negative_ttl_ms = 1000,
	                                      .stale_max_ms = 3600000,
	                                      .max_entries = 64};
	struct mbx_principal_config pc = {.group_depth = 8};
	struct mbx_logon_pipeline_config lc = {0};
	char err[512];

	mbx_log_set_level(MBX_LOG_ERROR);
	mbx_log_set_hook(log_hook, NULL);
	/* as the daemon (daemon.c): writing to a client that left (@BYE@) fails with EPIPE */
	signal(SIGPIPE, SIG_IGN);
	g.base = event_base_new();
	if (g.base == NULL)
		die("no event base");
	if (mbx_config_defaults(&g.cfg) != 0)
		die("mbx_config_defaults failed");
	g.cfg.limits.max_body_bytes = 4096;
	g.cfg.limits.max_contexts = 8;
	g.cfg.limits.max_contexts_per_user = 4;
	g.cfg.limits.context_idle_seconds = 3600;
	g.cfg.limits.pending_period_ms = 1000;
	g.cfg.limits.notification_wait_seconds = 0;
	dc.ldif_path = find_ldif();
	if (dc.ldif_path == NULL)
		die("conf/directory.ldif not found (set MBX_SRCDIR)");
	g.dir = mbx_dir_new(g.base, &dc, err, sizeof(err));
	if (g.dir == NULL)
		die(err);
	mbx_dir_defer_init(&tc.defer, g.base);
	g.table = mbx_mailbox_table_new(g.dir, &tc);
	mbx_dir_defer_init(&pc.defer, g.base);
	g.res = mbx_principal_resolver_new(g.dir, &pc);
	lc.table = g.table;
	lc.resolver = g.res;
	lc.id = &server1;
	mbx_dir_defer_init(&lc.defer, g.base);
	g.pl = mbx_logon_pipeline_new(&lc);
	if (g.table == NULL || g.res == NULL || g.pl == NULL)
		die("out of memory");
	server_http_new(0);
	server_http_new(1);
	fe_build();
}

/* ---- the connections ------------------------------------------------------------------------ */

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fr_conn *c = arg;
	uint8_t buf[16384];

	(void)what;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n > 0) {
			size_t m = (size_t)n;

			if (FR_RESP_CAP - c->resp_len < m) {
				m = FR_RESP_CAP - c->resp_len;
				c->resp_full = true;
			}
			if (c->resp_cap - c->resp_len < m) {
				size_t cap = c->resp_cap != 0 ? c->resp_cap : 16384;

				while (cap - c->resp_len < m)
					cap *= 2;
				c->resp = realloc(c->resp, cap);
				if (c->resp == NULL)
					die("out of memory");
				c->resp_cap = cap;
			}
			memcpy(c->resp + c->resp_len, buf, m);
			c->resp_len += m;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* 0: the server closed; an error (ECONNRESET: it closed with our bytes unread). */
		c->eof = true;
		c->clean_eof = n == 0;
		event_del(c->rev);
		return;
	}
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fr_conn *c = arg;

	(void)what;
	while (c->out_off < c->out_len) {
		ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break; /* EPIPE: the server closed before reading everything (Connection: close) */
	}
	event_del(c->wev);
	c->written = true;
	if (c->bye) {
		/* gone: nothing more is read; the server's close shows in its count */
		event_del(c->rev);
		close(fd);
		c->fd = -1;
		c->eof = true;
	} else if (c->early) {
		shutdown(fd, SHUT_WR);
	}
}

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	g.timed_out = true;
}

static bool conns_written(const struct fr_conn *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!c[i].written)
			return false;
	return true;
}

static bool conns_closed(const struct fr_conn *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!c[i].eof)
			return false;
	return true;
}

/* The servers have closed every connection (also those of clients that went away). */
static bool servers_closed(void)
{
	return mbx_httpd_connections(g.http[0]) == 0 && mbx_httpd_connections(g.http[1]) == 0;
}

static size_t conns_resp_len(const struct fr_conn *c, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += c[i].resp_len;
	return len;
}

/* Opens the n connections (their out, tls, early and bye set), sends, reads the answers until
 * the server has closed every one. */
static void conns_run(struct fr_conn *c, size_t n)
{
	/* the peer address of a socketpair's end (getpeername): an unnamed AF_UNIX socket */
	static const struct sockaddr unix_peer = {.sa_family = AF_UNIX};
	struct timeval tv = {FR_GUARD_MS / 1000u, (FR_GUARD_MS % 1000u) * 1000};
	struct event *guard = evtimer_new(g.base, guard_cb, NULL);
	unsigned idle = 0;

	if (guard == NULL)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
			die("socketpair failed");
		c[i].fd = sv[0];
		if (mbx_httpd_add_connection(g.http[c[i].tls ? 1 : 0], sv[1], &unix_peer,
		                             (socklen_t)sizeof(sa_family_t)) != 0)
			die("mbx_httpd_add_connection refused a connection");
		c[i].rev = event_new(g.base, c[i].fd, EV_READ | EV_PERSIST, conn_read_cb, &c[i]);
		c[i].wev = event_new(g.base, c[i].fd, EV_WRITE | EV_PERSIST, conn_write_cb, &c[i]);
		if (c[i].rev == NULL || c[i].wev == NULL)
			die("out of memory");
		event_add(c[i].rev, NULL);
		event_add(c[i].wev, NULL);
	}
	g.timed_out = false;
	evtimer_add(guard, &tv);
	for (size_t i = 0; i < n; i++)
		conn_write_cb(c[i].fd, EV_WRITE, &c[i]);
	/* Until the server has done all it can with the input: every request answered, nothing
	 * left to run, no answer bytes coming. Only then do the clients close their sending
	 * sides (those of @EOF@ and @BYE@ did at once). */
	while (!(conns_closed(c, n) && servers_closed()) && !g.timed_out && idle < FR_IDLE_ROUNDS) {
		size_t seen = conns_resp_len(c, n);

		if (!conns_written(c, n) || g.fe->reqs != NULL) {
			event_base_loop(g.base, EVLOOP_ONCE);
			idle = 0;
			continue;
		}
		event_base_loop(g.base, EVLOOP_NONBLOCK);
		if (conns_resp_len(c, n) == seen && g.fe->reqs == NULL &&
		    event_base_get_num_events(g.base, EVENT_BASE_COUNT_ACTIVE) == 0)
			idle++;
		else
			idle = 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!c[i].early && !c[i].bye)
			shutdown(c[i].fd, SHUT_WR);
	while (!(conns_closed(c, n) && servers_closed()) && !g.timed_out)
		event_base_loop(g.base, EVLOOP_ONCE);
	for (size_t i = 0; i < n; i++) {
		if (c[i].eof)
			continue;
		fprintf(stderr,
		        "fuzz-request: the server has not closed connection %zu within %u ms "
		        "(%zu of %zu bytes sent, %zu answer bytes, %s)\n",
		        i, FR_GUARD_MS, c[i].out_off, c[i].out_len, c[i].resp_len,
		        g.fe->reqs != NULL ? "a request is held" : "no request is held");
		abort();
	}
	if (!servers_closed()) {
		fprintf(stderr,
		        "fuzz-request: %zu connection(s) still open after %u ms, their clients "
		        "gone (%s)\n",
		        mbx_httpd_connections(g.http[0]) + mbx_httpd_connections(g.http[1]),
		        FR_GUARD_MS,
		        g.fe->reqs != NULL ? "a request is held" : "no request is held");
		abort();
	}
	/* whatever the closes scheduled (deferred frees, cancelled work) */
	for (int i = 0; i < 4; i++)
		event_base_loop(g.base, EVLOOP_NONBLOCK);
	event_free(guard);
	for (size_t i = 0; i < n; i++) {
		event_free(c[i].wev);
		event_free(c[i].rev);
		if (c[i].fd >= 0)
			close(c[i].fd);
	}
}

static void conns_free(struct fr_conn *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].out);
		free(c[i].resp);
	}
	memset(c, 0, n * sizeof(*c));
}

/* ---- contexts ------------------------------------------------------------------------------- */

static const uint8_t *find_mem(const uint8_t *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; n >= m && i <= n - m; i++)
		if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* Calls fn on every MapiContext value of a Set-Cookie header in the answers. */
static void scan_set_cookies(const struct fr_conn *c, void (*fn)(const char *v, size_t len))
{
	static const char tag[] = "\r\nSet-Cookie: " MBX_MH_COOKIE_CONTEXT "=";
	const uint8_t *p = c->resp, *end;

	if (c->resp_len == 0)
		return;
	end = c->resp + c->resp_len;
	while (p < end) {
		const uint8_t *hit = find_mem(p, (size_t)(end - p), tag), *v;
		size_t n = 0;

		if (hit == NULL)
			break;
		v = hit + strlen(tag);
		while ((size_t)(end - v) > n && v[n] != ';' && v[n] != '\r')
			n++;
		fn((const char *)v, n);
		p = v;
	}
}

static void take_cookie(const char *v, size_t len)
{
	if (len == MBX_MH_CTX_COOKIE_LEN && g.ctx[0] == '\0') {
		memcpy(g.ctx, v, len);
		g.ctx[len] = '\0';
	}
}

/* A context an input's Connect made: destroyed, so the next input starts from the same state. */
static void drop_cookie(const char *v, size_t len)
{
	struct mbx_mh_ctx *ctx;

	if (len == 0 ||
	    (g.ctx[0] != '\0' && len == MBX_MH_CTX_COOKIE_LEN && memcmp(v, g.ctx, len) == 0))
		return;
	ctx = mbx_mh_ctx_lookup(g.fe->ctxs, v, len);
	if (ctx != NULL)
		mbx_mh_ctx_destroy(&ctx, MBX_MH_CTX_GONE_DISCONNECT);
}

/* Makes the held context by a Connect of alice to her own mailbox. */
static void ctx_make(void)
{
	uint8_t body[512];
	struct mbx_mh_connect_req cr = {.user_dn = ALICE_LEG,
	                                .user_dn_len = strlen(ALICE_LEG),
	                                .cpid = 1252,
	                                .lcid_sort = 1033,
	                                .lcid_string = 1033};
	struct mbx_mh_ctx *ctx;
	struct fr_conn c = {0};
	struct wr w;
	int n;

	wr_init(&w, body, sizeof(body));
	if (mbx_mh_connect_req_encode(&w, &cr) != 0)
		die("cannot encode the Connect body");
	c.out = malloc(4096);
	if (c.out == NULL)
		die("out of memory");
	n = snprintf((char *)c.out, 4096,
	             "POST /mapi/emsmdb/ HTTP/1.1\r\n"
	             "Host: mail.contoso.com\r\n"
	             "Content-Type: application/mapi-http\r\n"
	             "X-RequestType: Connect\r\n"
	             "X-RequestId: {E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1\r\n"
	             "X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}\r\n"
	             "X-ClientApplication: Outlook/15.0.4815.1002\r\n"
	             "Authorization: " ALICE_BASIC "\r\n"
	             "Connection: close\r\n"
	             "Content-Length: %zu\r\n\r\n",
	             w.len);
	if (n < 0 || 4096 - (size_t)n < w.len)
		die("the Connect request does not fit");
	memcpy(c.out + n, body, w.len);
	c.out_len = (size_t)n + w.len;
	g.ctx[0] = '\0';
	conns_run(&c, 1);
	scan_set_cookies(&c, take_cookie);
	conns_free(&c, 1);
	if (g.ctx[0] == '\0')
		die("the harness's own Connect made no session context");
	ctx = mbx_mh_ctx_lookup(g.fe->ctxs, g.ctx, strlen(g.ctx));
	if (ctx == NULL)
		die("the harness's session context is not there");
	snprintf(g.seq, sizeof(g.seq), "%s", ctx->sequence);
	g.ctx_nreq = ctx->nrequests;
}

/* After an input: the held context goes if the input used it (or is gone: Disconnect). */
static void ctx_settle(void)
{
	struct mbx_mh_ctx *ctx;

	if (g.ctx[0] == '\0')
		return;
	ctx = mbx_mh_ctx_lookup(g.fe->ctxs, g.ctx, strlen(g.ctx));
	if (ctx != NULL && (ctx->nrequests != g.ctx_nreq || strcmp(ctx->sequence, g.seq) != 0))
		mbx_mh_ctx_destroy(&ctx, MBX_MH_CTX_GONE_DISCONNECT);
	if (ctx == NULL)
		g.ctx[0] = '\0';
}

/* ---- the input ----------------------------------------------------------------------------- */

/* "HTTP/1.1 " (or "HTTP/1.0 "), a status of 3 digits (100-599), SP. evhttp echoed whatever
 * version it had parsed ("HTTP/0.1 401", "HTTP/1.-22 400" for "HTTP/1.1002"); our server answers
 * HTTP/1.1 (RFC 9110 2.5), also to HTTP/1.0 requests, and refuses other majors with 505
 * (http-parse.h). */
static bool status_line(const uint8_t *p, size_t n)
{
	if (n < 13 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return false;
	if (p[9] < '1' || p[9] > '5')
		return false;
	for (int d = 10; d <= 11; d++)
		if (p[d] < '0' || p[d] > '9')
			return false;
	return p[12] == ' ';
}

static bool has_token(const uint8_t *p, size_t n, const char *tok)
{
	return n >= FR_TOKEN_LEN && memcmp(p, tok, FR_TOKEN_LEN) == 0;
}

/* One connection's bytes from data[0..size): tokens replaced or applied. */
static void segment(struct fr_conn *c, const uint8_t *data, size_t size)
{
	size_t len = 0;

	/* a token of 5 bytes becomes at most MBX_MH_CTX_COOKIE_LEN */
	c->out = malloc(size / FR_TOKEN_LEN * MBX_MH_CTX_COOKIE_LEN + size + 1);
	if (c->out == NULL)
		die("out of memory");
	for (size_t i = 0; i < size;) {
		const uint8_t *p = data + i;
		size_t left = size - i;
		const char *v = NULL;

		if (has_token(p, left, "@EOF@")) {
			c->early = true;
			break;
		}
		if (has_token(p, left, "@BYE@")) {
			c->bye = true;
			break;
		}
		if (has_token(p, left, "@TLS@")) {
			c->tls = true;
			i += FR_TOKEN_LEN;
			continue;
		}
		if (has_token(p, left, "@CTX@"))
			v = g.ctx;
		else if (has_token(p, left, "@SEQ@"))
			v = g.seq;
		if (v != NULL) {
			memcpy(c->out + len, v, strlen(v));
			len += strlen(v);
			i += FR_TOKEN_LEN;
		} else {
			c->out[len++] = data[i++];
		}
	}
	c->out_len = len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g.dump = getenv("MBX_FUZZ_DUMP") != NULL;
	server_new();
	ctx_make();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fr_conn c[FR_MAX_CONNS];
	const uint8_t *p = data, *next;
	size_t n = 0, left = size, want;
	bool clean = true;

	if (g.base == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	do {
		next = find_mem(p, left, FR_TOKEN_NEXT);
		if (next == NULL || n == FR_MAX_CONNS - 1)
			next = p + left;
		segment(&c[n++], p, (size_t)(next - p));
		if (next == p + left)
			break;
		left -= (size_t)(next - p) + strlen(FR_TOKEN_NEXT);
		p = next + strlen(FR_TOKEN_NEXT);
	} while (n < FR_MAX_CONNS);
	conns_run(c, n);

	for (size_t i = 0; g.dump && i < n; i++) {
		fprintf(stderr, "---- connection %zu%s%s%s: %zu bytes in, %zu bytes out ----\n", i,
		        c[i].tls ? " (TLS)" : "", c[i].early ? " (EOF)" : "",
		        c[i].bye ? " (BYE)" : "", c[i].out_len, c[i].resp_len);
		if (c[i].resp_len > 0)
			fwrite(c[i].resp, 1, c[i].resp_len, stderr);
		fprintf(stderr, "\n---- end ----\n");
	}
	if (g.fe->reqs != NULL)
		die("a request of the front end outlived its connection");
	if (g.handler_bug)
		die("a ROP handler broke its size bound (see the log line above)");
	for (size_t i = 0; i < n; i++) {
		if (c[i].resp_len > 0 && !status_line(c[i].resp, c[i].resp_len))
			die("an answer does not start with an HTTP status line");
		scan_set_cookies(&c[i], drop_cookie);
		clean = clean && c[i].clean_eof && !c[i].resp_full;
	}
	ctx_settle();
	want = g.ctx[0] != '\0' ? 1 : 0;
	if (mbx_mh_ctxs_count(g.fe->ctxs) != want) {
		/* Only clean, complete reads prove a context was made without its cookie. */
		if (clean)
			die("a session context was made whose MapiContext cookie was never sent");
		fe_rebuild();
	}
	conns_free(c, n);
	/* the next input finds the same state: one fresh held context */
	if (g.ctx[0] == '\0')
		ctx_make();
	return 0;
}
