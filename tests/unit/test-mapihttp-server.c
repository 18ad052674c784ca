/*
 * test-mapihttp-server.c: the MAPI/HTTP front end end to end, in one process
 * (src/mapihttp/mh-server.c, mh-contexts.c, mh-auth.c; [MS-OXCMAPIHTTP] 2.2.2-2.2.7, 3.2.5,
 * examples 4.1-4.5). mbxstore's HTTP server (include/mbx/httpd.h) on 127.0.0.1 port 0 runs
 * the front end over the ldif backend on conf/directory.ldif with the real mailbox table,
 * principal resolver, logon pipeline and sessions; the client is a raw socket, so the exact
 * bytes on the wire are seen: status line, headers, chunk framing (PROCESSING / PENDING /
 * DONE), bodies.
 *
 * Covered: every X-ResponseCode the front end answers (2 3 4 5 6 7 8 9 10 11 12 13 15 18, and
 * 1 with 503 when the directory is down), HTTP Basic right / wrong / missing / refused in clear
 * text from a non-loopback address, Connect (own DN, full access to another mailbox, refused
 * DNs, admin flag, the per-user bound), a Connect -> Execute(RopLogon alice) -> Disconnect
 * round trip asserting the RopLogon response byte for byte, cookie rotation and the sequence
 * rule, ownership, idle expiry, mbx_frontend_drop_mailbox, PING, NotificationWait with its
 * PENDING keep-alives, drain, a client that goes away while its request is held, freeing the
 * front end or the HTTP server with a request held (the server detaches it: httpd.h), the body
 * limit mbx_frontend_attach gives the server (413 past it), HTTP/1.0 clients (answers without
 * chunking, then the connection closes), and the metrics recorded.
 */
#include "mbx-test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "fake-dir.h"
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
#include "mbx/metrics.h"
#include "mbx/oxcstor.h"
#include "mbx/principal.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"

#define AG "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define RCPT AG "/cn=Recipients"
#define CONFIG_DN                                                                                  \
	"cn=Exchange Administrative Group (FYDIBOHF23SPDLT),cn=Administrative Groups,"             \
	"cn=Contoso,cn=Microsoft Exchange,cn=Services,cn=Configuration,dc=contoso,dc=com"
#define SERVER1_LEG AG "/cn=Configuration/cn=Servers/cn=SERVER1"
#define ALICE_LEG RCPT "/cn=alice"
#define BOB_LEG RCPT "/cn=bob"
#define ROOM1_LEG RCPT "/cn=room1"
#define ALICE_DN "cn=Alice Anders,cn=Users,dc=contoso,dc=com"
#define PATH "/mapi/emsmdb/?MailboxId=40e9c09a-46b8-ab59-b1b4-8781129997ed@contoso.com"

/* The clock of the sessions: 2024-03-05 14:07:09 UTC (as test-session.c). */
#define FIXED_NOW 1709647629
#define LOGON_TIME_HEX "09 07 0E 02 05 03 E8 07"
#define GWART_HEX "80 A4 6B 69 06 6F DA 01"
#define ALICE_MAILBOX_GUID "40 E9 C0 9A 46 B8 AB 59 B1 B4 87 81 12 99 97 ED"
#define ALICE_REPL_GUID "14 18 A2 D7 B6 EE D0 58 A9 47 10 C4 B6 4F 0C E1"
#define PRIVATE_FIDS                                                                               \
	"0100 000000000001 0100 000000000002 0100 000000000003 0100 000000000009 "                 \
	"0100 00000000000D 0100 00000000000C 0100 00000000000A 0100 00000000000B "                 \
	"0100 000000000007 0100 000000000008 0100 000000000005 0100 000000000006 "                 \
	"0100 000000000004"
#define OPEN_HOME 0x0100000Cu /* USE_PER_MDB_REPLID_MAPPING | HOME_LOGON | TAKE_OWNERSHIP */

static const struct mbx_foreign_forest fabrikam = {
        "fabrikam", (const char *const[]){"fabrikam.com"}, 1, "https://autodiscover.fabrikam.com/"};
static const struct mbx_server_identity server1 = {
        "SERVER1", SERVER1_LEG, "cn=SERVER1,cn=Servers," CONFIG_DN, &fabrikam, 1, false};

/* ---- log capture -------------------------------------------------------------------------- */

static char lastlog[4096];
static unsigned nlog;

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	nlog++;
	snprintf(lastlog, sizeof(lastlog), "%s", line);
}

/* ---- a directory that can hold lookups ------------------------------------------------------ */

/* Wraps the ldif backend: while `hold` is set, lookups wait (not yet started) until
 * hold_release; everything else is forwarded. It keeps an Execute's RopLogon in the resolve
 * phase for as long as a test needs. */
struct hold_req;

struct hold_dir {
	struct mbx_dir head;
	struct mbx_dir *inner;
	bool hold;
	struct hold_req *reqs;
	unsigned queued;
};

struct hold_req {
	struct mbx_dir_req head;
	struct hold_dir *hd;
	struct hold_req *next;
	struct mbx_dir_req *inner;
	enum mbx_dir_key kind;
	uint8_t *key;
	size_t keylen;
	mbx_dir_cb *cb;
	void *ctx;
};

static void hold_unlink(struct hold_req *r)
{
	for (struct hold_req **pp = &r->hd->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
}

static void hold_req_free(struct hold_req *r)
{
	free(r->key);
	free(r);
}

static void hold_inner_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct hold_req *r = ctx;

	r->inner = NULL;
	hold_unlink(r);
	r->cb(r->ctx, res);
	hold_req_free(r);
}

static struct mbx_dir_req *hold_lookup(struct mbx_dir *d, enum mbx_dir_key kind, const void *key,
                                       size_t keylen, mbx_dir_cb *cb, void *ctx)
{
	struct hold_dir *hd = (struct hold_dir *)d;
	struct hold_req *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->head.dir = d;
	r->hd = hd;
	r->kind = kind;
	r->key = malloc(keylen + 1);
	assert_non_null(r->key);
	memcpy(r->key, key, keylen);
	r->key[keylen] = '\0';
	r->keylen = keylen;
	r->cb = cb;
	r->ctx = ctx;
	r->next = hd->reqs;
	hd->reqs = r;
	if (hd->hold) {
		hd->queued++;
		return &r->head;
	}
	r->inner = mbx_dir_lookup(hd->inner, kind, r->key, keylen, hold_inner_cb, r);
	if (r->inner == NULL) {
		hold_unlink(r);
		hold_req_free(r);
		return NULL;
	}
	return &r->head;
}

static struct mbx_dir_req *hold_check_password(struct mbx_dir *d, const char *dn,
                                               const char *password, mbx_dir_cb *cb, void *ctx)
{
	return mbx_dir_check_password(((struct hold_dir *)d)->inner, dn, password, cb, ctx);
}

static struct mbx_dir_req *hold_modify(struct mbx_dir *d, const char *dn,
                                       const struct mbx_dir_mod *mods, size_t nmods, mbx_dir_cb *cb,
                                       void *ctx)
{
	return mbx_dir_modify(((struct hold_dir *)d)->inner, dn, mods, nmods, cb, ctx);
}

static void hold_cancel(struct mbx_dir_req *req)
{
	struct hold_req *r = (struct hold_req *)req;

	if (r->inner != NULL)
		mbx_dir_cancel(r->inner);
	else
		r->hd->queued--;
	hold_unlink(r);
	hold_req_free(r);
}

static int hold_reload(struct mbx_dir *d, char *err, size_t errsize)
{
	return mbx_dir_reload(((struct hold_dir *)d)->inner, err, errsize);
}

static void hold_free(struct mbx_dir *d)
{
	struct hold_dir *hd = (struct hold_dir *)d;

	while (hd->reqs != NULL)
		hold_cancel(&hd->reqs->head);
	mbx_dir_free(&hd->inner);
	free(hd);
}

static const struct mbx_dir_ops hold_dir_ops = {
        .name = "hold",
        .lookup = hold_lookup,
        .check_password = hold_check_password,
        .modify = hold_modify,
        .cancel = hold_cancel,
        .reload = hold_reload,
        .free = hold_free,
};

/* Starts every queued lookup (their answers come from the loop); later ones are held while
 * hd->hold is set. */
static void hold_release(struct hold_dir *hd)
{
	for (struct hold_req *r = hd->reqs; r != NULL; r = r->next) {
		if (r->inner != NULL)
			continue;
		r->inner = mbx_dir_lookup(hd->inner, r->kind, r->key, r->keylen, hold_inner_cb, r);
		assert_non_null(r->inner);
		hd->queued--;
	}
}

/* ---- the server --------------------------------------------------------------------------- */

struct sfx {
	struct event_base *base;
	struct mbx_config cfg;
	struct mbx_dir *dir;
	struct fake_dir *fake; /* when the directory is the fake */
	struct hold_dir *hold; /* when it is the ldif backend behind the holding proxy */
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *res;
	struct mbx_logon_pipeline *pl;
	struct mbx_metrics *metrics;
	struct mbx_frontend *fe;
	struct mbx_httpd *http;
	uint16_t port;
	struct mbx_httpd *http2; /* on a non-loopback address, when the host has one */
	uint16_t port2;
	char addr2[INET_ADDRSTRLEN];
};

static time_t fixed_clock(void *ctx)
{
	(void)ctx;
	return FIXED_NOW;
}

/* An HTTP server listening on addr, any port (*port_r), with the request timeout and head limit
 * of the daemon's listeners; its body limit is the front end's (mbx_frontend_attach). NULL when
 * addr cannot be bound. The lingering close after a refused request is built in. */
static struct mbx_httpd *sfx_httpd(struct sfx *fx, const char *addr, uint16_t *port_r)
{
	struct mbx_httpd_limits lim = {.timeout_seconds = fx->cfg.limits.request_timeout_seconds,
	                               .max_head_bytes = 65536};
	struct mbx_httpd *h = mbx_httpd_new(fx->base, &lim);

	assert_non_null(h);
	*port_r = 0;
	if (mbx_httpd_bind(h, addr, 0, port_r) != 0) {
		mbx_httpd_free(&h);
		assert_null(h);
		return NULL;
	}
	assert_true(*port_r != 0);
	return h;
}

static bool non_loopback_addr(char *buf, size_t size)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) != 0)
		return false;
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		struct sockaddr_in sin;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		memcpy(&sin, i->ifa_addr, sizeof(sin));
		if ((ntohl(sin.sin_addr.s_addr) >> 24) == 127)
			continue;
		found = inet_ntop(AF_INET, &sin.sin_addr, buf, (socklen_t)size) != NULL;
	}
	freeifaddrs(ifs);
	return found;
}

typedef void tweak_fn(struct mbx_config *cfg);

enum sfx_dir { SFX_LDIF, SFX_FAKE, SFX_HOLD };

static struct sfx *sfx_new_dir(tweak_fn *tweak, enum sfx_dir kind, bool tls2)
{
	struct sfx *fx = calloc(1, sizeof(*fx));
	struct mbx_mailbox_table_config tc = {0};
	struct mbx_principal_config pc = {.group_depth = 8};
	struct mbx_logon_pipeline_config lc = {0};
	struct mbx_frontend_deps deps = {0};
	char path[4096], err[1024];
	const char *src = getenv("MBX_SRCDIR");

	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	assert_int_equal(mbx_config_defaults(&fx->cfg), 0);
	fx->cfg.limits.pending_period_ms = 100;
	fx->cfg.limits.notification_wait_seconds = 1;
	fx->cfg.limits.max_body_bytes = 4096;
	if (tweak != NULL)
		tweak(&fx->cfg);
	if (kind == SFX_FAKE) {
		fx->fake = fake_dir_new(fx->base);
		fx->dir = &fx->fake->head;
	} else {
		struct mbx_dir_config dc = {.backend = "ldif", .group_depth = 8};

		snprintf(path, sizeof(path), "%s/conf/directory.ldif", src != NULL ? src : ".");
		dc.ldif_path = path;
		fx->dir = mbx_dir_new(fx->base, &dc, err, sizeof(err));
		if (fx->dir == NULL)
			fail_msg("ldif backend on %s: %s", path, err);
		if (kind == SFX_HOLD) {
			fx->hold = calloc(1, sizeof(*fx->hold));
			assert_non_null(fx->hold);
			fx->hold->head = *fx->dir; /* base, attribute map, group depth */
			fx->hold->head.ops = &hold_dir_ops;
			fx->hold->head.change_cb = NULL;
			fx->hold->head.attrmap = NULL; /* the inner backend's: freed with it */
			fx->hold->head.nattrmap = 0;
			fx->hold->inner = fx->dir;
			fx->dir = &fx->hold->head;
		}
	}
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
	fx->metrics = mbx_metrics_new();
	assert_non_null(fx->metrics);
	deps.base = fx->base;
	deps.cfg = &fx->cfg;
	deps.dir = fx->dir;
	deps.table = fx->table;
	deps.resolver = fx->res;
	deps.pipeline = fx->pl;
	deps.id = &server1;
	deps.metrics = fx->metrics;
	deps.session_clock = fixed_clock;
	fx->fe = mbx_frontend_new(&deps, err, sizeof(err));
	if (fx->fe == NULL)
		fail_msg("front end: %s", err);
	fx->http = sfx_httpd(fx, "127.0.0.1", &fx->port);
	assert_non_null(fx->http);
	assert_int_equal(mbx_frontend_attach(fx->fe, fx->http, false), 0);
	if (non_loopback_addr(fx->addr2, sizeof(fx->addr2))) {
		fx->http2 = sfx_httpd(fx, fx->addr2, &fx->port2);
		if (fx->http2 != NULL)
			assert_int_equal(mbx_frontend_attach(fx->fe, fx->http2, tls2), 0);
	}
	lastlog[0] = '\0';
	nlog = 0;
	mbx_log_set_hook(log_hook, NULL);
	return fx;
}

static struct sfx *sfx_new(tweak_fn *tweak)
{
	return sfx_new_dir(tweak, SFX_LDIF, false);
}

static void sfx_free(struct sfx *fx)
{
	mbx_log_set_hook(NULL, NULL);
	mbx_frontend_free(&fx->fe);
	assert_null(fx->fe);
	mbx_httpd_free(&fx->http); /* NULL-safe: a test may have freed it */
	mbx_httpd_free(&fx->http2);
	mbx_logon_pipeline_free(&fx->pl);
	mbx_principal_resolver_free(&fx->res);
	mbx_mailbox_table_free(&fx->table);
	mbx_dir_free(&fx->dir);
	mbx_metrics_free(&fx->metrics);
	mbx_config_free(&fx->cfg);
	event_base_free(fx->base);
	free(fx);
}

static int setup(void **state)
{
	*state = sfx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	sfx_free(*state);
	return 0;
}

static void sfx_run_ms(struct sfx *fx, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

/* ---- the client --------------------------------------------------------------------------- */

/* memmem without _GNU_SOURCE */
static const void *find_mem(const void *hay, size_t n, const void *needle, size_t m)
{
	const uint8_t *h = hay;

	if (m == 0)
		return hay;
	for (size_t i = 0; n >= m && i <= n - m; i++)
		if (memcmp(h + i, needle, m) == 0)
			return h + i;
	return NULL;
}

#define MAXH 64
#define MAXCHUNKS 256

struct resp {
	int status;
	char reason[64];
	char hname[MAXH][64];
	char hval[MAXH][512];
	unsigned nh;
	bool chunked;
	uint8_t *body; /* de-chunked */
	size_t body_len;
	size_t chunk_len[MAXCHUNKS]; /* data bytes of each chunk, in order */
	unsigned nchunks;
	bool closed; /* the server closed the connection */
	/* the envelope */
	int env_rc;
	struct mbx_mh_env env;
	const uint8_t *bin; /* the binary body after the envelope */
	size_t bin_len;
};

static void resp_clear(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static const char *hdr(const struct resp *r, const char *name, unsigned nth)
{
	for (unsigned i = 0; i < r->nh; i++)
		if (strcasecmp(r->hname[i], name) == 0 && nth-- == 0)
			return r->hval[i];
	return NULL;
}

static unsigned hdr_count(const struct resp *r, const char *name)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->nh; i++)
		n += strcasecmp(r->hname[i], name) == 0;
	return n;
}

/* Parses a complete response in buf[0..len): 1 complete, 0 need more, fails the test on junk. */
static int resp_parse(const uint8_t *buf, size_t len, bool eof, bool head, struct resp *r)
{
	const char *end = find_mem(buf, len, "\r\n\r\n", 4);
	const char *p, *line;
	size_t hlen, off;
	long clen = -1;

	if (end == NULL)
		return 0;
	hlen = (size_t)(end - (const char *)buf) + 4;
	free(r->body);
	memset(r, 0, sizeof(*r));
	p = (const char *)buf;
	/* HTTP/1.1, also to an HTTP/1.0 request (RFC 9110 2.5: the highest version the server
	 * conforms to with the request's major) */
	assert_int_equal(sscanf(p, "HTTP/1.1 %d %63[^\r]", &r->status, r->reason), 2);
	line = strstr(p, "\r\n") + 2;
	while (line < end) {
		const char *eol = strstr(line, "\r\n"),
		           *colon = memchr(line, ':', (size_t)(eol - line));

		assert_non_null(colon);
		assert_true(r->nh < MAXH);
		snprintf(r->hname[r->nh], sizeof(r->hname[0]), "%.*s", (int)(colon - line), line);
		colon++;
		while (*colon == ' ')
			colon++;
		snprintf(r->hval[r->nh], sizeof(r->hval[0]), "%.*s", (int)(eol - colon), colon);
		r->nh++;
		line = eol + 2;
	}
	r->body = malloc(len + 1);
	assert_non_null(r->body);
	off = hlen;
	if (hdr(r, "Transfer-Encoding", 0) != NULL) {
		assert_string_equal(hdr(r, "Transfer-Encoding", 0), "chunked");
		r->chunked = true;
		for (;;) {
			const char *eol = find_mem(buf + off, len - off, "\r\n", 2);
			unsigned long n;
			char *e;

			if (eol == NULL)
				return 0;
			n = strtoul((const char *)buf + off, &e, 16);
			assert_ptr_equal(e, eol);
			off = (size_t)(eol - (const char *)buf) + 2;
			if (len - off < n + 2)
				return 0;
			if (n == 0) {
				assert_memory_equal(buf + off, "\r\n", 2);
				break;
			}
			memcpy(r->body + r->body_len, buf + off, n);
			r->body_len += n;
			assert_true(r->nchunks < MAXCHUNKS);
			r->chunk_len[r->nchunks++] = n;
			off += n;
			assert_memory_equal(buf + off, "\r\n", 2);
			off += 2;
		}
	} else {
		if (hdr(r, "Content-Length", 0) != NULL)
			clen = atol(hdr(r, "Content-Length", 0));
		if (head)
			clen = 0;
		if (clen < 0) {
			if (!eof)
				return 0;
			clen = (long)(len - off);
		}
		if (len - off < (size_t)clen)
			return 0;
		memcpy(r->body, buf + off, (size_t)clen);
		r->body_len = (size_t)clen;
	}
	/* the MAPI envelope, when the body is one */
	if (r->body_len >= strlen(MBX_MH_META_PROCESSING) &&
	    memcmp(r->body, MBX_MH_META_PROCESSING, strlen(MBX_MH_META_PROCESSING)) == 0) {
		struct rd rd;

		rd_init(&rd, r->body, r->body_len, 0);
		r->env_rc = mbx_mh_env_parse(&rd, &r->env);
		if (r->env_rc == MBX_MH_ENV_DONE) {
			r->bin = r->body + r->env.body_off;
			r->bin_len = r->body_len - r->env.body_off;
		}
	}
	return 1;
}

static int cli_connect(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void cli_send(struct sfx *fx, int fd, const void *buf, size_t len)
{
	size_t off = 0;

	for (int i = 0; off < len && i < 100000; i++) {
		ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break; /* the server may close early (413) */
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
}

/* Reads one response, running the server meanwhile; -1 if none came within ms. */
static int cli_recv(struct sfx *fx, int fd, struct resp *r, unsigned ms, bool head)
{
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	struct timespec t0, t;
	bool eof = false;
	int rc = -1;

	assert_non_null(buf);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 2) > 0) {
			if (cap - len < 4096) {
				cap *= 2;
				buf = realloc(buf, cap);
				assert_non_null(buf);
			}
			n = recv(fd, buf + len, cap - len, 0);
			if (n > 0)
				len += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				eof = true;
		}
		if (len > 0 && resp_parse(buf, len, eof, head, r) == 1) {
			rc = 0;
			break;
		}
		if (eof)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
	}
	if (rc == 0) {
		/* did the server close after it? */
		char c;
		struct pollfd pfd = {fd, POLLIN, 0};

		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 1) > 0 && recv(fd, &c, 1, MSG_PEEK) == 0)
			r->closed = true;
	}
	free(buf);
	return rc;
}

/* Runs the server until it closes the connection fd cleanly (true), or ms pass or it resets
 * the connection (false); bytes still coming are dropped and counted in *junk_r (may be NULL). */
static bool cli_closed(struct sfx *fx, int fd, unsigned ms, size_t *junk_r)
{
	struct timespec t0, t;
	char buf[4096];

	if (junk_r != NULL)
		*junk_r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};

		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 2) > 0) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n == 0)
				return true;
			if (n > 0 && junk_r != NULL)
				*junk_r += (size_t)n;
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				return false;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return false;
	}
}

/* ---- requests ------------------------------------------------------------------------------- */

struct rq {
	const char *method;  /* NULL: POST */
	const char *path;    /* NULL: PATH */
	const char *version; /* NULL: "HTTP/1.1" */
	const char *type;    /* X-RequestType; NULL: none */
	const char *user;    /* NULL: no Authorization */
	const char *pass;
	const char *auth; /* a raw Authorization value instead */
	const char *cookie;
	const char *extra; /* more header lines, each ending in CRLF */
	bool no_rid, no_cinfo, no_capp, no_ctype;
	const uint8_t *body;
	size_t len;
};

static char *rq_build(const struct rq *q, size_t *len_r)
{
	size_t cap = 8192 + q->len;
	char *out = malloc(cap);
	static unsigned counter;
	int n;

	assert_non_null(out);
	n = snprintf(out, cap, "%s %s %s\r\nHost: mail.contoso.com\r\n",
	             q->method != NULL ? q->method : "POST", q->path != NULL ? q->path : PATH,
	             q->version != NULL ? q->version : "HTTP/1.1");
	if (!q->no_ctype)
		n += snprintf(out + n, cap - (size_t)n, "Content-Type: application/mapi-http\r\n");
	if (q->type != NULL)
		n += snprintf(out + n, cap - (size_t)n, "X-RequestType: %s\r\n", q->type);
	if (!q->no_rid)
		n += snprintf(out + n, cap - (size_t)n,
		              "X-RequestId: {E2EA6C1C-E61B-49E9-9CFB-38184F907552}:%u\r\n",
		              ++counter);
	if (!q->no_cinfo)
		n += snprintf(out + n, cap - (size_t)n,
		              "X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}\r\n");
	if (!q->no_capp)
		n += snprintf(out + n, cap - (size_t)n,
		              "X-ClientApplication: Outlook/15.0.4815.1002\r\n");
	if (q->auth != NULL) {
		n += snprintf(out + n, cap - (size_t)n, "Authorization: %s\r\n", q->auth);
	} else if (q->user != NULL) {
		char cred[600], b64[900];
		int cl = snprintf(cred, sizeof(cred), "%s:%s", q->user, q->pass);

		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)cred, cl);
		n += snprintf(out + n, cap - (size_t)n, "Authorization: Basic %s\r\n", b64);
	}
	if (q->cookie != NULL)
		n += snprintf(out + n, cap - (size_t)n, "Cookie: %s\r\n", q->cookie);
	if (q->extra != NULL)
		n += snprintf(out + n, cap - (size_t)n, "%s", q->extra);
	n += snprintf(out + n, cap - (size_t)n, "Content-Length: %zu\r\n\r\n", q->len);
	assert_true((size_t)n + q->len < cap);
	if (q->len > 0)
		memcpy(out + n, q->body, q->len);
	*len_r = (size_t)n + q->len;
	return out;
}

/* One request on a connection of its own to addr:port. */
static void do_req_at(struct sfx *fx, const char *addr, uint16_t port, const struct rq *q,
                      struct resp *r)
{
	size_t len;
	char *raw = rq_build(q, &len);
	int fd = cli_connect(addr, port);

	cli_send(fx, fd, raw, len);
	free(raw);
	if (cli_recv(fx, fd, r, 10000, q->method != NULL && strcmp(q->method, "HEAD") == 0) < 0)
		fail_msg("no response within 10 s");
	close(fd);
}

static void do_req(struct sfx *fx, const struct rq *q, struct resp *r)
{
	do_req_at(fx, "127.0.0.1", fx->port, q, r);
}

static uint32_t rc_of(const struct resp *r)
{
	const char *v = hdr(r, "X-ResponseCode", 0);

	assert_non_null(v);
	return (uint32_t)strtoul(v, NULL, 10);
}

/* A transport failure: HTTP status, X-ResponseCode, a one-line diagnostic, the server's headers. */
static void expect_fail(const struct resp *r, int status, uint32_t rc, const char *why)
{
	char line[64];

	if (r->status != status || rc_of(r) != rc)
		fail_msg("expected HTTP %d X-ResponseCode %u, got %d %u: %.*s", status, rc,
		         r->status, rc_of(r), (int)r->body_len, (const char *)r->body);
	assert_string_equal(hdr(r, "Content-Type", 0), "text/plain; charset=us-ascii");
	assert_non_null(hdr(r, "X-ServerApplication", 0));
	assert_string_equal(hdr(r, "X-ServerApplication", 0), "Exchange/15.01.2176.009");
	assert_non_null(hdr(r, "X-StartTime", 0));
	snprintf(line, sizeof(line), "X-ResponseCode %u (%s): ", rc, mbx_mh_rc_name(rc));
	assert_true(r->body_len > strlen(line) + 2);
	assert_memory_equal(r->body, line, strlen(line));
	assert_memory_equal(r->body + r->body_len - 2, "\r\n", 2);
	if (why != NULL && find_mem(r->body, r->body_len, why, strlen(why)) == NULL)
		fail_msg("diagnostic \"%.*s\" lacks \"%s\"", (int)r->body_len,
		         (const char *)r->body, why);
}

/* A chunked answer whose DONE block carries rc (and a diagnostic when rc != 0). */
static void expect_done(const struct resp *r, uint32_t rc, const char *why)
{
	assert_int_equal(r->status, 200);
	assert_true(r->chunked);
	assert_int_equal(rc_of(r), 0); /* the header went out before the work */
	assert_int_equal(r->env_rc, MBX_MH_ENV_DONE);
	assert_true(r->env.has_response_code);
	if (r->env.response_code != rc)
		fail_msg("DONE X-ResponseCode %u, expected %u: %.*s", r->env.response_code, rc,
		         (int)r->bin_len, (const char *)r->bin);
	if (why != NULL && find_mem(r->bin, r->bin_len, why, strlen(why)) == NULL)
		fail_msg("diagnostic \"%.*s\" lacks \"%s\"", (int)r->bin_len, (const char *)r->bin,
		         why);
}

/* ---- sessions ---------------------------------------------------------------------------- */

struct cookies {
	char ctx[160];
	char seq[160];
	char hdr[400];
};

static void cookies_take(struct cookies *c, const struct resp *r)
{
	for (unsigned i = 0; i < r->nh; i++) {
		const char *v = r->hval[i], *semi;
		char *dst = NULL;

		if (strcasecmp(r->hname[i], "Set-Cookie") != 0)
			continue;
		if (strncmp(v, "MapiContext=", 12) == 0) {
			dst = c->ctx;
			v += 12;
		} else if (strncmp(v, "MapiSequence=", 13) == 0) {
			dst = c->seq;
			v += 13;
		} else {
			fail_msg("unexpected Set-Cookie %s", v);
		}
		semi = strchr(v, ';');
		assert_non_null(semi);
		snprintf(dst, 160, "%.*s", (int)(semi - v), v);
	}
	snprintf(c->hdr, sizeof(c->hdr), "MapiContext=%s; MapiSequence=%s", c->ctx, c->seq);
}

static size_t connect_body(uint8_t *buf, size_t cap, const char *user_dn, uint32_t flags)
{
	struct mbx_mh_connect_req req = {.user_dn = user_dn,
	                                 .flags = flags,
	                                 .cpid = 1252,
	                                 .lcid_sort = 1033,
	                                 .lcid_string = 1033};
	struct wr w;

	wr_init(&w, buf, cap);
	assert_int_equal(mbx_mh_connect_req_encode(&w, &req), 0);
	return w.len;
}

/* Connect as user (password pass) with UserDn; the response in r. */
static void do_connect(struct sfx *fx, const char *user, const char *pass, const char *user_dn,
                       uint32_t flags, struct resp *r)
{
	uint8_t body[1200];
	struct rq q = {.type = "Connect", .user = user, .pass = pass};

	q.len = connect_body(body, sizeof(body), user_dn, flags);
	q.body = body;
	do_req(fx, &q, r);
}

/* A successful Connect; fills c, returns the DisplayName in name. */
static void connect_ok(struct sfx *fx, const char *user, const char *pass, const char *user_dn,
                       struct cookies *c, char *name, size_t name_cap)
{
	struct resp r = {0};
	struct mbx_mh_connect_rsp rsp;
	struct mbx_mh_aux_connect aux;
	struct rd rd, ra;

	do_connect(fx, user, pass, user_dn, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	assert_false(r.chunked);
	assert_int_equal(r.env_rc, MBX_MH_ENV_DONE);
	assert_int_equal(r.env.response_code, 0);
	assert_int_equal(r.env.pending, 0);
	rd_init(&rd, r.bin, r.bin_len, 0);
	assert_int_equal(mbx_mh_connect_rsp_decode(&rd, &rsp, name, name_cap), 0);
	if (rsp.error_code != 0)
		fail_msg("Connect ErrorCode 0x%08x", rsp.error_code);
	assert_int_equal(rsp.polls_max, 60000);
	assert_int_equal(rsp.retry_count, 6);
	assert_int_equal(rsp.retry_delay, 10000);
	assert_string_equal(rsp.dn_prefix, "");
	rd_init(&ra, rsp.aux, rsp.aux_len, 0);
	assert_int_equal(mbx_mh_aux_connect_read(&ra, &aux), 0);
	assert_memory_equal(&aux, &mbx_mh_aux_connect_default, sizeof(aux));
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 2);
	memset(c, 0, sizeof(*c));
	cookies_take(c, &r);
	assert_int_equal(strlen(c->ctx), MBX_MH_CTX_COOKIE_LEN);
	assert_int_equal(strlen(c->seq), MBX_MH_CTX_SEQ_LEN);
	resp_clear(&r);
}

/* Connect's ErrorCode (X-ResponseCode 0, StatusCode 0). */
static uint32_t connect_ec(struct sfx *fx, const char *user, const char *pass, const char *user_dn,
                           uint32_t flags)
{
	struct resp r = {0};
	struct mbx_mh_connect_rsp rsp;
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	struct rd rd;
	uint32_t ec;

	do_connect(fx, user, pass, user_dn, flags, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	rd_init(&rd, r.bin, r.bin_len, 0);
	assert_int_equal(mbx_mh_connect_rsp_decode(&rd, &rsp, name, sizeof(name)), 0);
	ec = rsp.error_code;
	if (ec != 0) {
		assert_int_equal(hdr_count(&r, "Set-Cookie"), 0);
		assert_int_equal(rsp.aux_len, 0);
	}
	resp_clear(&r);
	return ec;
}

/* An Execute body carrying one private RopLogon for essdn (NoCompression, NoXorMagic). */
static size_t execute_body_flags(uint8_t *buf, size_t cap, const char *essdn, uint32_t open_flags)
{
	uint8_t rops[600], payload[700], rb[800];
	struct mbx_logon_req lr = {0, 0, MBX_LOGON_PRIVATE, open_flags, 0, 0, essdn};
	struct mbx_mh_execute_req er = {0};
	struct wr w;
	size_t plen;

	wr_init(&w, rops, sizeof(rops));
	assert_int_equal(mbx_roplogon_req_encode(&w, &lr), 0);
	mbx_put_le16(payload, (uint16_t)(w.len + 2));
	memcpy(payload + 2, rops, w.len);
	plen = 2 + w.len;
	mbx_put_le32(payload + plen, MBX_HANDLE_NONE);
	plen += 4;
	mbx_put_le16(rb, 0);
	mbx_put_le16(rb + 2, MBX_RHE_LAST);
	mbx_put_le16(rb + 4, (uint16_t)plen);
	mbx_put_le16(rb + 6, (uint16_t)plen);
	memcpy(rb + MBX_RHE_HDRLEN, payload, plen);
	er.flags = MBX_RPC_NOCOMPRESSION | MBX_RPC_NOXORMAGIC;
	er.rop = rb;
	er.rop_len = (uint32_t)(MBX_RHE_HDRLEN + plen);
	er.max_rop_out = 0x8007;
	wr_init(&w, buf, cap);
	assert_int_equal(mbx_mh_execute_req_encode(&w, &er), 0);
	return w.len;
}

static size_t execute_body(uint8_t *buf, size_t cap, const char *essdn)
{
	return execute_body_flags(buf, cap, essdn, OPEN_HOME);
}

static void do_execute(struct sfx *fx, const char *user, const char *pass, const char *cookie,
                       const char *essdn, struct resp *r)
{
	uint8_t body[1200];
	struct rq q = {.type = "Execute", .user = user, .pass = pass, .cookie = cookie};

	q.len = execute_body(body, sizeof(body), essdn);
	q.body = body;
	do_req(fx, &q, r);
}

/* The ROP payload of a successful Execute response (after the RPC_HEADER_EXT). */
static void execute_payload(const struct resp *r, const uint8_t **pl, size_t *len)
{
	struct mbx_mh_execute_rsp rsp;
	struct rd rd;

	expect_done(r, 0, NULL);
	rd_init(&rd, r->bin, r->bin_len, 0);
	assert_int_equal(mbx_mh_execute_rsp_decode(&rd, &rsp), 0);
	assert_int_equal(rsp.error_code, 0);
	assert_int_equal(rsp.flags, 0);
	assert_int_equal(rsp.aux_len, 0);
	assert_true(rsp.rop_len >= MBX_RHE_HDRLEN);
	assert_int_equal(mbx_le16(rsp.rop + 2), MBX_RHE_LAST);
	assert_int_equal(mbx_le16(rsp.rop + 4), rsp.rop_len - MBX_RHE_HDRLEN);
	*pl = rsp.rop + MBX_RHE_HDRLEN;
	*len = rsp.rop_len - MBX_RHE_HDRLEN;
}

/* ---- tests: the round trip ------------------------------------------------------------------ */

static void test_round_trip(void **state)
{
	struct sfx *fx = *state;
	struct cookies c, c2;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], *text = NULL;
	const uint8_t *pl;
	size_t len, tlen, exp_len;
	uint8_t *exp = mbx_test_hex("A8 00"
	                            "FE 00 00000000 01" PRIVATE_FIDS "07" ALICE_MAILBOX_GUID
	                            "0100" ALICE_REPL_GUID LOGON_TIME_HEX GWART_HEX "00000000"
	                            "01000000",
	                            &exp_len);

	connect_ok(fx, "alice@contoso.com", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	assert_string_equal(name, "Alice Anders");
	assert_int_equal(mbx_frontend_sessions(fx->fe), 1);

	/* Execute: RopLogon alice, answered chunked; the sequence cookie rotates */
	do_execute(fx, "alice@contoso.com", "alice-Secret1", c.hdr, ALICE_LEG, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "X-RequestType", 0), "Execute");
	assert_string_equal(hdr(&r, "Content-Type", 0), "application/mapi-http");
	assert_non_null(hdr(&r, "X-RequestId", 0));
	assert_string_equal(hdr(&r, "X-ClientInfo", 0), "{2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}");
	assert_string_equal(hdr(&r, "X-PendingPeriod", 0), "100");
	assert_string_equal(hdr(&r, "X-ExpirationInfo", 0), "900000");
	assert_int_equal(r.chunk_len[0], strlen("PROCESSING\r\n"));
	assert_memory_equal(r.body, "PROCESSING\r\n", 12);
	execute_payload(&r, &pl, &len);
	assert_int_equal(len, exp_len);
	assert_memory_equal(pl, exp, exp_len);
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 1);
	c2 = c;
	cookies_take(&c2, &r);
	assert_string_equal(c2.ctx, c.ctx);
	assert_string_not_equal(c2.seq, c.seq);
	assert_non_null(strstr(hdr(&r, "Set-Cookie", 0), "; path=/mapi/emsmdb; HttpOnly"));
	assert_null(strstr(hdr(&r, "Set-Cookie", 0), "Secure")); /* plain HTTP */
	resp_clear(&r);

	/* the old sequence: 15, and it does not rotate */
	do_execute(fx, "alice@contoso.com", "alice-Secret1", c.hdr, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_SEQUENCE, "not the last one issued");
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 0);
	resp_clear(&r);

	/* the new one works */
	do_execute(fx, "alice@contoso.com", "alice-Secret1", c2.hdr, ALICE_LEG, &r);
	execute_payload(&r, &pl, &len);
	assert_int_equal(len, exp_len); /* a second logon on the session: handle 2 */
	cookies_take(&c2, &r);
	resp_clear(&r);

	/* Disconnect */
	{
		uint8_t body[8] = {0};
		struct rq q = {.type = "Disconnect",
		               .user = "alice@contoso.com",
		               .pass = "alice-Secret1",
		               .cookie = c2.hdr,
		               .body = body,
		               .len = 4};
		struct mbx_mh_disconnect_rsp dr;
		struct rd rd;

		do_req(fx, &q, &r);
		assert_int_equal(r.status, 200);
		assert_int_equal(rc_of(&r), 0);
		assert_false(r.chunked);
		rd_init(&rd, r.bin, r.bin_len, 0);
		assert_int_equal(mbx_mh_disconnect_rsp_decode(&rd, &dr), 0);
		assert_int_equal(dr.error_code, 0);
		assert_int_equal(hdr_count(&r, "Set-Cookie"), 2);
		assert_non_null(strstr(hdr(&r, "Set-Cookie", 0), "expires=Thu, 01 Jan 1970"));
		resp_clear(&r);
	}
	assert_int_equal(mbx_frontend_sessions(fx->fe), 0);

	/* the context is gone: 10 */
	do_execute(fx, "alice@contoso.com", "alice-Secret1", c2.hdr, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_CONTEXT_NOT_FOUND, "MapiContext");
	resp_clear(&r);

	/* the metrics saw it all */
	assert_int_equal(mbx_metrics_render(fx->metrics, &text, &tlen), 0);
	assert_non_null(strstr(text, "mbx_requests_total{type=\"Connect\",code=\"0\"} 1\n"));
	assert_non_null(strstr(text, "mbx_requests_total{type=\"Execute\",code=\"0\"} 2\n"));
	assert_non_null(strstr(text, "mbx_requests_total{type=\"Execute\",code=\"15\"} 1\n"));
	assert_non_null(strstr(text, "mbx_requests_total{type=\"Execute\",code=\"10\"} 1\n"));
	assert_non_null(strstr(text, "mbx_requests_total{type=\"Disconnect\",code=\"0\"} 1\n"));
	assert_non_null(strstr(text, "mbx_logons_total{ec=\"ecNone\"} 2\n"));
	free(text);
	free(exp);
}

/* The RopLogon of another user's mailbox through alice's session: the pipeline's answer. */
static void test_execute_other_mailboxes(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	const uint8_t *pl;
	size_t len;

	connect_ok(fx, "alice@contoso.com", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	/* carol's mailbox is in transit: ecMailboxInTransit, 6-byte failure */
	do_execute(fx, "alice@contoso.com", "alice-Secret1", c.hdr, RCPT "/cn=carol", &r);
	execute_payload(&r, &pl, &len);
	assert_int_equal(len, 2 + 6 + 4);
	assert_memory_equal(pl + 2, "\xFE\x00\x0C\x05\x00\x00", 6);
	cookies_take(&c, &r);
	resp_clear(&r);
	/* room1 as a home logon: ecProfileNotConfigured (logon-expect.tsv) */
	do_execute(fx, "alice@contoso.com", "alice-Secret1", c.hdr, ROOM1_LEG, &r);
	execute_payload(&r, &pl, &len);
	assert_int_equal(len, 2 + 6 + 4);
	assert_memory_equal(pl + 2, "\xFE\x00\x1C\x01\x00\x00", 6);
	cookies_take(&c, &r);
	resp_clear(&r);
	/* room1 with USE_ADMIN_PRIVILEGE: alice has full access */
	{
		uint8_t body[1200];
		struct rq q = {.type = "Execute",
		               .user = "alice@contoso.com",
		               .pass = "alice-Secret1",
		               .cookie = c.hdr,
		               .body = body};

		q.len = execute_body_flags(body, sizeof(body), ROOM1_LEG, 0x01000001u);
		do_req(fx, &q, &r);
	}
	execute_payload(&r, &pl, &len);
	assert_int_equal(len, 2 + 166 + 4);
	assert_memory_equal(pl + 2, "\xFE\x00\x00\x00\x00\x00", 6);
	resp_clear(&r);
}

/* ---- tests: Connect ------------------------------------------------------------------------- */

static void test_connect_user_dn(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];

	/* UserDn in another case is still the user's own */
	connect_ok(fx, "alice", "alice-Secret1",
	           "/O=CONTOSO/OU=EXCHANGE ADMINISTRATIVE GROUP "
	           "(FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=ALICE",
	           &c, name, sizeof(name));
	assert_string_equal(name, "Alice Anders");
	/* ivan has full access to room1 (nested groups): allowed, DisplayName of the mailbox */
	connect_ok(fx, "ivan@contoso.com", "ivan-Secret1", ROOM1_LEG, &c, name, sizeof(name));
	assert_string_equal(name, "Conference Room 1");
	/* alice may not connect as bob */
	assert_int_equal(connect_ec(fx, "alice@contoso.com", "alice-Secret1", BOB_LEG, 0),
	                 ecAccessDenied);
	assert_non_null(strstr(lastlog, "grants no full access"));
	/* nobody's DN */
	assert_int_equal(connect_ec(fx, "alice@contoso.com", "alice-Secret1", RCPT "/cn=nobody", 0),
	                 ecUnknownUser);
	/* empty UserDn; the administrator flag */
	assert_int_equal(connect_ec(fx, "alice@contoso.com", "alice-Secret1", "", 0),
	                 ecAccessDenied);
	assert_int_equal(connect_ec(fx, "alice@contoso.com", "alice-Secret1", ALICE_LEG, 1),
	                 ecLoginPerm);
	assert_int_equal(mbx_frontend_sessions(fx->fe), 2);
}

static void tweak_two_per_user(struct mbx_config *cfg)
{
	cfg->limits.max_contexts_per_user = 2;
	cfg->limits.max_contexts = 3;
}

static void test_connect_bounds(void **state)
{
	struct sfx *fx = sfx_new(tweak_two_per_user);
	struct cookies c;
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];

	(void)state;
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	/* the third of alice's: MAPI_E_SESSION_LIMIT */
	assert_int_equal(connect_ec(fx, "alice", "alice-Secret1", ALICE_LEG, 0), 0x80040112u);
	connect_ok(fx, "bob", "bob-Secret1", BOB_LEG, &c, name, sizeof(name));
	/* the fourth in all: ecServerBusy */
	assert_int_equal(connect_ec(fx, "ivan", "ivan-Secret1", RCPT "/cn=ivan", 0), ecServerBusy);
	assert_int_equal(mbx_frontend_sessions(fx->fe), 3);
	sfx_free(fx);
}

/* ---- tests: transport failures -----------------------------------------------------------------
 */

static void test_verb_path(void **state)
{
	struct sfx *fx = *state;
	struct resp r = {0};
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};

	q.method = "GET";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_VERB, "POST");
	assert_string_equal(hdr(&r, "X-RequestType", 0), "PING");
	resp_clear(&r);
	q.method = "PUT";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_VERB, NULL);
	resp_clear(&r);
	q.method = "HEAD";
	do_req(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), MBX_MH_RC_INVALID_VERB);
	resp_clear(&r);
	q.method = NULL;
	q.path = "/mapi/nspi/?MailboxId=x@contoso.com";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_PATH, "/mapi/emsmdb/");
	resp_clear(&r);
	q.path = "/owa/";
	do_req(fx, &q, &r);
	expect_fail(&r, 404, MBX_MH_RC_INVALID_PATH, NULL);
	resp_clear(&r);
	/* the endpoint in another case, without the slash, percent-encoded: served */
	q.path = "/MAPI/EMSMDB?MailboxId=x@contoso.com";
	do_req(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	resp_clear(&r);
	q.path = "/mapi/%65msmdb/";
	do_req(fx, &q, &r);
	assert_int_equal(rc_of(&r), 0);
	resp_clear(&r);
}

static void test_headers(void **state)
{
	struct sfx *fx = *state;
	struct resp r = {0};
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};

	/* 7: X-RequestType missing */
	q.type = NULL;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_HEADER, "X-RequestType");
	assert_null(hdr(&r, "X-RequestType", 0));
	assert_non_null(hdr(&r, "X-RequestId", 0)); /* still echoed */
	resp_clear(&r);
	/* 5: unknown, and an address book type */
	q.type = "Frobnicate";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_TYPE, NULL);
	assert_null(hdr(&r, "X-RequestType", 0));
	resp_clear(&r);
	q.type = "Bind";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_TYPE, "address book");
	resp_clear(&r);
	/* the type in another case is fine, and echoed canonically */
	q.type = "ping";
	do_req(fx, &q, &r);
	assert_int_equal(rc_of(&r), 0);
	assert_string_equal(hdr(&r, "X-RequestType", 0), "PING");
	resp_clear(&r);
	q.type = "PING";
	/* 7 for each required header */
	q.no_rid = true;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_HEADER, "X-RequestId");
	assert_null(hdr(&r, "X-RequestId", 0));
	resp_clear(&r);
	q.no_rid = false;
	q.no_cinfo = true;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_HEADER, "X-ClientInfo");
	resp_clear(&r);
	q.no_cinfo = false;
	q.no_capp = true;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_HEADER, "X-ClientApplication");
	resp_clear(&r);
	q.no_capp = false;
	q.no_ctype = true;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_HEADER, "Content-Type");
	resp_clear(&r);
	/* 4: malformed values (of a repeated header the first is read: mbx_http_req_header) */
	q.no_ctype = true;
	q.extra = "Content-Type: text/xml\r\n";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_HEADER, "Content-Type");
	resp_clear(&r);
	q.no_ctype = false;
	{
		static char extra[400];

		memset(extra, 'x', sizeof(extra));
		memcpy(extra, "X-ClientApplication: ", 21); /* 300 characters: too long */
		memcpy(extra + 21 + 300, "\r\n", 3);
		q.no_capp = true;
		q.extra = extra;
	}
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_HEADER, "X-ClientApplication");
	resp_clear(&r);
	q.no_capp = false;
	q.no_rid = true;
	q.extra = "X-RequestId: {E2EA6C1C} 7\r\n";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_HEADER, "X-RequestId");
	assert_null(hdr(&r, "X-RequestId", 0)); /* a bad value is not echoed */
	resp_clear(&r);
	q.no_rid = false;
	q.no_cinfo = true;
	q.extra = "X-ClientInfo: \r\n";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_HEADER, "X-ClientInfo");
	resp_clear(&r);
}

static void test_body_limit(void **state)
{
	struct sfx *fx = *state;
	struct resp r = {0};
	uint8_t *big = calloc(1, 4096 + 65536 + 2);
	struct rq q = {.type = "Execute", .user = "alice", .pass = "alice-Secret1", .body = big};

	assert_non_null(big);
	/* max_body_bytes (4096) + 1: 9 */
	q.len = 4097;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_TOO_LARGE, "max_body_bytes");
	resp_clear(&r);
	/* exactly the limit passes the size test (and fails as a body) */
	q.len = 4096;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "Execute body");
	resp_clear(&r);
	/* up to the server's body limit (max_body_bytes + 64 KiB: mbx_frontend_attach) the front
	 * end reads the body and answers 9 */
	q.len = 4096 + 65536;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_TOO_LARGE, "max_body_bytes");
	resp_clear(&r);
	/* one byte beyond: the server's 413 without reading the body, then it closes the
	 * connection, after a lingering close (the client sees the answer, not a reset: httpd.h) */
	q.len = 4096 + 65536 + 1;
	{
		size_t len;
		char *raw = rq_build(&q, &len);
		int fd = cli_connect("127.0.0.1", fx->port);

		cli_send(fx, fd, raw, len);
		free(raw);
		assert_int_equal(cli_recv(fx, fd, &r, 10000, false), 0);
		assert_int_equal(r.status, 413);
		assert_null(hdr(&r, "X-ResponseCode", 0)); /* the front end never saw it */
		assert_string_equal(hdr(&r, "Connection", 0), "close");
		shutdown(fd, SHUT_WR);
		assert_true(cli_closed(fx, fd, 3000, NULL));
		close(fd);
	}
	resp_clear(&r);
	free(big);
}

static void test_bad_bodies(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	uint8_t body[1200];
	size_t n;
	struct rq q = {.user = "alice", .pass = "alice-Secret1", .body = body};

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	q.cookie = c.hdr;
	/* every prefix of a Connect body: 12 (the empty one too) */
	n = connect_body(body, sizeof(body), ALICE_LEG, 0);
	q.type = "Connect";
	for (size_t k = 0; k < n; k += 7) {
		q.len = k;
		do_req(fx, &q, &r);
		expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "Connect body");
		resp_clear(&r);
	}
	/* trailing bytes */
	q.len = n + 1;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, NULL);
	resp_clear(&r);
	/* an AuxiliaryBuffer that is not an extended buffer */
	mbx_put_le32(body + n - 4, 4);
	memcpy(body + n, "\x01\x02\x03\x04", 4);
	q.len = n + 4;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "AuxiliaryBuffer");
	resp_clear(&r);
	/* Execute, Disconnect, NotificationWait bodies cut short; PING with a body */
	q.type = "Execute";
	q.len = execute_body(body, sizeof(body), ALICE_LEG) - 1;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "Execute body");
	resp_clear(&r);
	q.type = "Disconnect";
	q.len = 3;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "Disconnect body");
	resp_clear(&r);
	q.type = "NotificationWait";
	q.len = 7;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "NotificationWait body");
	resp_clear(&r);
	q.type = "PING";
	q.len = 1;
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_BODY, "PING");
	resp_clear(&r);
	/* a RopBuffer the session refuses: StatusCode 0, ErrorCode ecRpcFormat (5.7) */
	{
		struct mbx_mh_execute_req er = {.flags = 3,
		                                .rop = (const uint8_t *)"\x00\x00\x04\x00",
		                                .rop_len = 4,
		                                .max_rop_out = 0x8007};
		struct mbx_mh_execute_rsp rsp;
		struct wr w;
		struct rd rd;

		wr_init(&w, body, sizeof(body));
		assert_int_equal(mbx_mh_execute_req_encode(&w, &er), 0);
		q.type = "Execute";
		q.len = w.len;
		do_req(fx, &q, &r);
		expect_done(&r, 0, NULL);
		rd_init(&rd, r.bin, r.bin_len, 0);
		assert_int_equal(mbx_mh_execute_rsp_decode(&rd, &rsp), 0);
		assert_int_equal(rsp.error_code, ecRpcFormat);
		assert_int_equal(rsp.rop_len, 0);
		resp_clear(&r);
	}
	assert_int_equal(mbx_frontend_sessions(fx->fe), 1);
}

/* Bad input of any kind: random and mutated bodies for every request type get a clean answer
 * (12, or a decodable body's normal answer), never a crash (ASan/UBSan watch). */
static void test_random_bodies(void **state)
{
	struct sfx *fx = *state;
	static const char *const types[] = {"Connect", "Execute", "Disconnect", "NotificationWait",
	                                    "PING"};
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	uint8_t body[1200], valid[1200];
	size_t vlen;
	uint32_t seed = 0x6d62786d; /* xorshift32, fixed: the same inputs every run */
	struct rq q = {.user = "alice", .pass = "alice-Secret1", .body = body};

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	vlen = execute_body(valid, sizeof(valid), ALICE_LEG);
	mbx_frontend_drain(fx->fe); /* NotificationWaits that decode are answered at once */
	for (int i = 0; i < 150; i++) {
		uint32_t rc;

		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		q.type = types[seed % 5];
		if (i % 2 == 0) { /* random bytes of a random length */
			q.len = seed % 64;
			for (size_t k = 0; k < q.len; k++) {
				seed ^= seed << 13;
				seed ^= seed >> 17;
				seed ^= seed << 5;
				body[k] = (uint8_t)seed;
			}
		} else { /* a valid Execute body with one byte changed */
			memcpy(body, valid, vlen);
			q.len = vlen;
			body[seed % vlen] ^= (uint8_t)(1u + (seed >> 8) % 255u);
			q.type = "Execute";
		}
		q.cookie = c.hdr;
		do_req(fx, &q, &r);
		assert_int_equal(r.status, 200);
		rc = r.chunked ? r.env.response_code : rc_of(&r);
		if (rc != 0 && rc != MBX_MH_RC_INVALID_REQUEST_BODY &&
		    rc != MBX_MH_RC_ENDPOINT_SHUTTING_DOWN)
			fail_msg("%s body %d: X-ResponseCode %u", q.type, i, rc);
		if (rc == 0 && strcmp(q.type, "Execute") == 0)
			cookies_take(&c, &r);
		if (rc == 0 && strcmp(q.type, "Disconnect") == 0) {
			resp_clear(&r);
			mbx_frontend_free(&fx->fe); /* start again: drained, with a context */
			sfx_free(fx);
			fx = sfx_new(NULL);
			*state = fx;
			connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
			mbx_frontend_drain(fx->fe);
		}
		resp_clear(&r);
	}
}

/* ---- tests: cookies -------------------------------------------------------------------------- */

static void test_cookie_codes(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], hbuf[400];

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	/* 13: Execute without cookies, without the sequence */
	do_execute(fx, "alice", "alice-Secret1", NULL, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_COOKIE, "MapiContext");
	resp_clear(&r);
	snprintf(hbuf, sizeof(hbuf), "MapiContext=%s", c.ctx);
	do_execute(fx, "alice", "alice-Secret1", hbuf, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_MISSING_COOKIE, "MapiSequence");
	resp_clear(&r);
	/* 6: malformed */
	do_execute(fx, "alice", "alice-Secret1", "MapiContext=a\"b; MapiSequence=x", ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_CONTEXT_COOKIE, NULL);
	resp_clear(&r);
	do_execute(fx, "alice", "alice-Secret1", "MapiContext", ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_CONTEXT_COOKIE, NULL);
	resp_clear(&r);
	/* 10: well-formed, unknown */
	do_execute(fx, "alice", "alice-Secret1", "MapiContext=abc; MapiSequence=def", ALICE_LEG,
	           &r);
	expect_fail(&r, 200, MBX_MH_RC_CONTEXT_NOT_FOUND, NULL);
	resp_clear(&r);
	/* 11: bob with alice's cookies, for every request type that takes a context */
	do_execute(fx, "bob", "bob-Secret1", c.hdr, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_NO_PRIVILEGE, "another user");
	resp_clear(&r);
	{
		uint8_t body[12] = {0};
		struct rq q = {.user = "bob", .pass = "bob-Secret1", .cookie = c.hdr, .body = body};

		q.type = "Disconnect";
		q.len = 4;
		do_req(fx, &q, &r);
		expect_fail(&r, 200, MBX_MH_RC_NO_PRIVILEGE, NULL);
		resp_clear(&r);
		q.type = "NotificationWait";
		q.len = 8;
		do_req(fx, &q, &r);
		expect_fail(&r, 200, MBX_MH_RC_NO_PRIVILEGE, NULL);
		resp_clear(&r);
		q.type = "PING";
		q.len = 0;
		do_req(fx, &q, &r);
		expect_fail(&r, 200, MBX_MH_RC_NO_PRIVILEGE, NULL);
		resp_clear(&r);
		/* Disconnect with a wrong sequence: 15; without one: fine */
		q.user = "alice";
		q.pass = "alice-Secret1";
		snprintf(hbuf, sizeof(hbuf), "MapiContext=%s; MapiSequence=AAAA", c.ctx);
		q.cookie = hbuf;
		q.type = "Disconnect";
		q.len = 4;
		do_req(fx, &q, &r);
		expect_fail(&r, 200, MBX_MH_RC_INVALID_SEQUENCE, NULL);
		resp_clear(&r);
		assert_int_equal(mbx_frontend_sessions(fx->fe), 1);
		snprintf(hbuf, sizeof(hbuf), "MapiContext=%s", c.ctx);
		do_req(fx, &q, &r);
		assert_int_equal(rc_of(&r), 0);
		resp_clear(&r);
		assert_int_equal(mbx_frontend_sessions(fx->fe), 0);
	}
	/* the cookies in two Cookie headers, as the spec's example sends them */
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	{
		char extra[400];
		uint8_t body[1200];
		struct rq q = {.type = "Execute",
		               .user = "alice",
		               .pass = "alice-Secret1",
		               .body = body,
		               .extra = extra};

		snprintf(extra, sizeof(extra),
		         "Cookie: MapiContext=%s\r\nCookie: MapiSequence=%s\r\n", c.ctx, c.seq);
		q.len = execute_body(body, sizeof(body), ALICE_LEG);
		do_req(fx, &q, &r);
		expect_done(&r, 0, NULL);
		resp_clear(&r);
	}
}

/* PING: no context needed; with one, it must be right. */
static void test_ping(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};

	do_req(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	assert_false(r.chunked);
	assert_int_equal(r.env_rc, MBX_MH_ENV_DONE);
	assert_int_equal(r.bin_len, 0); /* meta-tags only */
	assert_non_null(hdr(&r, "X-ElapsedTime", 0));
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 0);
	resp_clear(&r);
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	q.cookie = c.hdr;
	do_req(fx, &q, &r);
	assert_int_equal(rc_of(&r), 0);
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 0); /* PING does not rotate */
	resp_clear(&r);
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r); /* same sequence still */
	expect_done(&r, 0, NULL);
	resp_clear(&r);
	q.cookie = "MapiContext=nope";
	do_req(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_CONTEXT_NOT_FOUND, NULL);
	resp_clear(&r);
}

/* ---- tests: authentication ------------------------------------------------------------------ */

static void test_auth(void **state)
{
	struct sfx *fx = *state;
	struct resp r = {0};
	struct rq q = {.type = "PING"};

	/* missing: 401 with our challenge and X-ResponseCode 8 */
	do_req(fx, &q, &r);
	expect_fail(&r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, "authentication required");
	assert_string_equal(hdr(&r, "WWW-Authenticate", 0),
	                    "Basic realm=\"mbxstore\", charset=\"UTF-8\"");
	resp_clear(&r);
	/* another scheme: the same */
	q.auth = "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==";
	do_req(fx, &q, &r);
	expect_fail(&r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, NULL);
	resp_clear(&r);
	/* malformed Basic: 401 naming what is wrong */
	q.auth = "Basic !!!!";
	do_req(fx, &q, &r);
	expect_fail(&r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, "base64");
	assert_non_null(hdr(&r, "WWW-Authenticate", 0));
	resp_clear(&r);
	q.auth = NULL;
	/* wrong password, unknown user */
	q.user = "alice@contoso.com";
	q.pass = "wrong";
	do_req(fx, &q, &r);
	expect_fail(&r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, "wrong password");
	assert_non_null(strstr(lastlog, "user=-"));
	resp_clear(&r);
	q.user = "mallory@contoso.com";
	do_req(fx, &q, &r);
	expect_fail(&r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, "no such user");
	resp_clear(&r);
	/* right, by every name form */
	q.user = "alice@contoso.com";
	q.pass = "alice-Secret1";
	do_req(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	resp_clear(&r);
	q.user = "CONTOSO\\alice";
	do_req(fx, &q, &r);
	assert_int_equal(rc_of(&r), 0);
	resp_clear(&r);
	q.user = ALICE_LEG;
	do_req(fx, &q, &r);
	assert_int_equal(rc_of(&r), 0);
	resp_clear(&r);
	/* the cache answers the same credentials again */
	assert_true(mbx_mh_authn_cached(fx->fe->authn) >= 3);
}

/* On a clear-text listener Basic is refused from a non-loopback peer; over "TLS" it is fine. */
static void test_auth_clear_text(void **state)
{
	struct sfx *fx = *state;
	struct resp r = {0};
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};
	struct cookies c;
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];

	if (fx->http2 == NULL) {
		print_message("no non-loopback IPv4 address on this host: skipped\n");
		skip();
	}
	do_req_at(fx, fx->addr2, fx->port2, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, "use TLS");
	assert_null(hdr(&r, "WWW-Authenticate", 0)); /* no scheme would be accepted */
	resp_clear(&r);
	q.user = NULL;
	do_req_at(fx, fx->addr2, fx->port2, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, "use TLS");
	resp_clear(&r);
	/* the same listener said to be TLS: accepted, and cookies are Secure */
	sfx_free(fx);
	fx = sfx_new_dir(NULL, SFX_LDIF, true);
	*state = fx;
	if (fx->http2 == NULL)
		skip();
	q.user = "alice";
	do_req_at(fx, fx->addr2, fx->port2, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	resp_clear(&r);
	{
		uint8_t body[1200];
		struct rq cq = {
		        .type = "Connect", .user = "alice", .pass = "alice-Secret1", .body = body};

		cq.len = connect_body(body, sizeof(body), ALICE_LEG, 0);
		do_req_at(fx, fx->addr2, fx->port2, &cq, &r);
		assert_int_equal(rc_of(&r), 0);
		assert_non_null(strstr(hdr(&r, "Set-Cookie", 0), "; Secure"));
		assert_non_null(strstr(hdr(&r, "Set-Cookie", 1), "; Secure"));
		cookies_take(&c, &r);
		resp_clear(&r);
	}
	(void)name;
}

/* The directory is down: 503 + X-ResponseCode 1, never 401 (seed 004). */
static void test_auth_directory_down(void **state)
{
	struct sfx *fx = sfx_new_dir(NULL, SFX_FAKE, false);
	struct resp r = {0};
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};

	(void)state;
	fx->fake->down = true;
	do_req(fx, &q, &r);
	expect_fail(&r, 503, MBX_MH_RC_UNKNOWN_FAILURE, "directory");
	assert_string_equal(hdr(&r, "Retry-After", 0), "5");
	resp_clear(&r);
	fx->fake->down = false;
	fx->fake->fail_start = true;
	do_req(fx, &q, &r);
	expect_fail(&r, 503, MBX_MH_RC_UNKNOWN_FAILURE, "directory");
	resp_clear(&r);
	/* the HTTP server is freed while the directory is still asked: it detaches the held
	 * request (the front end's close callback runs) and closes the connection; the late answer
	 * finds the request gone and only frees it */
	fx->fake->fail_start = false;
	fx->fake->hold = true;
	{
		size_t len, junk;
		char *raw = rq_build(&q, &len);
		int fd = cli_connect("127.0.0.1", fx->port);

		cli_send(fx, fd, raw, len);
		free(raw);
		sfx_run_ms(fx, 50);
		assert_non_null(fx->fe->reqs);
		assert_int_equal(fx->fake->pending, 1);
		mbx_httpd_free(&fx->http);
		assert_null(fx->http);
		assert_true(cli_closed(fx, fd, 1000, &junk)); /* without an answer */
		assert_int_equal(junk, 0);
		fx->fake->hold = false;
		fake_dir_release(fx->fake);
		sfx_run_ms(fx, 50);
		assert_null(fx->fe->reqs);
		assert_non_null(strstr(lastlog, "closed the connection"));
		close(fd);
	}
	sfx_free(fx);
}

/* ---- tests: contexts over time ----------------------------------------------------------------
 */

static void tweak_idle(struct mbx_config *cfg)
{
	cfg->limits.context_idle_seconds = 1;
}

static void test_idle_expiry(void **state)
{
	struct sfx *fx = sfx_new(tweak_idle);
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];

	(void)state;
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r);
	assert_string_equal(hdr(&r, "X-ExpirationInfo", 0), "1000");
	expect_done(&r, 0, NULL);
	cookies_take(&c, &r);
	resp_clear(&r);
	sfx_run_ms(fx, 1300);
	assert_int_equal(mbx_frontend_sessions(fx->fe), 0);
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_CONTEXT_NOT_FOUND, "expired");
	resp_clear(&r);
	sfx_free(fx);
}

static void test_drop_mailbox(void **state)
{
	struct sfx *fx = *state;
	struct cookies a, b, a2;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &a, name, sizeof(name));
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &a2, name, sizeof(name));
	connect_ok(fx, "bob", "bob-Secret1", BOB_LEG, &b, name, sizeof(name));
	do_execute(fx, "alice", "alice-Secret1", a.hdr, ALICE_LEG, &r);
	expect_done(&r, 0, NULL);
	cookies_take(&a, &r);
	resp_clear(&r);
	do_execute(fx, "bob", "bob-Secret1", b.hdr, BOB_LEG, &r);
	expect_done(&r, 0, NULL);
	cookies_take(&b, &r);
	resp_clear(&r);
	/* only the context with a logon on alice's mailbox goes (a2 has none) */
	assert_int_equal(mbx_frontend_drop_mailbox(fx->fe, "/O=contoso/OU=Exchange Administrative "
	                                                   "Group (FYDIBOHF23SPDLT)/cn=Recipients/"
	                                                   "cn=ALICE"),
	                 1);
	assert_non_null(strstr(lastlog, "being moved"));
	assert_int_equal(mbx_frontend_sessions(fx->fe), 2);
	do_execute(fx, "alice", "alice-Secret1", a.hdr, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_CONTEXT_NOT_FOUND, NULL);
	resp_clear(&r);
	do_execute(fx, "bob", "bob-Secret1", b.hdr, BOB_LEG, &r);
	expect_done(&r, 0, NULL);
	resp_clear(&r);
	assert_int_equal(mbx_frontend_drop_mailbox(fx->fe, ALICE_LEG), 0);
	assert_int_equal(mbx_frontend_drop_mailbox(fx->fe, NULL), 0);
	assert_int_equal(mbx_frontend_drop_mailbox(NULL, ALICE_LEG), 0);
	assert_int_equal(mbx_frontend_sessions(NULL), 0);
}

/* ---- tests: NotificationWait ----------------------------------------------------------------- */

static void test_notification_wait(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0}, r2 = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], *raw;
	uint8_t body[8] = {0};
	struct rq q = {.type = "NotificationWait",
	               .user = "alice",
	               .pass = "alice-Secret1",
	               .body = body,
	               .len = 8};
	struct mbx_mh_nwait_rsp nr;
	struct rd rd;
	size_t len;
	int fd;

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	q.cookie = c.hdr;
	/* held on its own connection; meanwhile an Execute and a second wait on the context */
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 50);
	do_req(fx, &q, &r2);
	expect_fail(&r2, 200, MBX_MH_RC_INVALID_SEQUENCE, "already held");
	resp_clear(&r2);
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r2);
	expect_done(&r2, 0, NULL);
	resp_clear(&r2);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	close(fd);
	expect_done(&r, 0, NULL);
	/* PROCESSING, then a PENDING every 100 ms for about 1 s, each its own chunk */
	assert_int_equal(r.chunk_len[0], 12);
	assert_true(r.env.pending >= 5);
	assert_true(r.env.pending <= 11);
	for (unsigned i = 1; i <= r.env.pending; i++)
		assert_int_equal(r.chunk_len[i], 9);
	assert_memory_equal(r.body + 12, "PENDING\r\n", 9);
	rd_init(&rd, r.bin, r.bin_len, 0);
	assert_int_equal(mbx_mh_nwait_rsp_decode(&rd, &nr), 0);
	assert_int_equal(nr.error_code, 0);
	assert_int_equal(nr.event_pending, 0);
	assert_true(r.env.has_elapsed);
	assert_true(r.env.elapsed_ms >= 900);
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 0); /* NotificationWait does not rotate */
	resp_clear(&r);
	/* drained: a held wait is answered at once, a new Connect gets 18 */
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 30);
	mbx_frontend_drain(fx->fe);
	mbx_frontend_drain(fx->fe); /* twice is once */
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	close(fd);
	expect_done(&r, 0, NULL);
	assert_true(r.env.elapsed_ms < 900);
	resp_clear(&r);
	do_connect(fx, "alice", "alice-Secret1", ALICE_LEG, 0, &r);
	expect_fail(&r, 200, MBX_MH_RC_ENDPOINT_SHUTTING_DOWN, NULL);
	resp_clear(&r);
	/* while draining, a new wait is answered at once too */
	do_req(fx, &q, &r);
	expect_done(&r, 0, NULL);
	assert_int_equal(r.env.pending, 0);
	resp_clear(&r);
}

/* A context dropped while a request is held on it: the request ends with 10 in its DONE block
 * (an Execute held on the context goes the same way through the gone callback). */
static void test_dropped_while_held(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], *raw;
	uint8_t body[8] = {0};
	struct rq q = {.type = "NotificationWait",
	               .user = "alice",
	               .pass = "alice-Secret1",
	               .body = body,
	               .len = 8};
	size_t len;
	int fd;

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r);
	cookies_take(&c, &r);
	resp_clear(&r);
	q.cookie = c.hdr;
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 50);
	assert_int_equal(mbx_frontend_drop_mailbox(fx->fe, ALICE_LEG), 1);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	close(fd);
	expect_done(&r, MBX_MH_RC_CONTEXT_NOT_FOUND, "being moved");
	resp_clear(&r);
}

/* An Execute whose RopLogon waits for the directory: PENDING keep-alives while it waits, then
 * its answer; and an Execute held when its context is dropped: DONE with 10, the session's
 * work cancelled (the late directory answer goes nowhere). */
static void test_execute_held(void **state)
{
	struct sfx *fx = sfx_new_dir(NULL, SFX_HOLD, false);
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], *raw;
	uint8_t body[1200];
	struct rq q = {.type = "Execute", .user = "alice", .pass = "alice-Secret1", .body = body};
	const uint8_t *pl;
	size_t len;
	int fd;

	(void)state;
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r); /* alice: cached now */
	expect_done(&r, 0, NULL);
	cookies_take(&c, &r);
	resp_clear(&r);

	/* bob's mailbox is not in the table yet: the Execute waits for the directory */
	fx->hold->hold = true;
	q.cookie = c.hdr;
	q.len = execute_body(body, sizeof(body), BOB_LEG);
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 350);
	assert_true(fx->hold->queued > 0);
	/* meanwhile another Execute on the context: 15 */
	do_execute(fx, "alice", "alice-Secret1", c.hdr, ALICE_LEG, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_SEQUENCE, NULL);
	resp_clear(&r);
	fx->hold->hold = false;
	hold_release(fx->hold);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	close(fd);
	assert_true(r.env.pending >= 2);
	for (unsigned i = 1; i <= r.env.pending; i++)
		assert_int_equal(r.chunk_len[i], 9);
	execute_payload(&r, &pl, &len);
	assert_memory_equal(pl + 2, "\xFE\x00", 2); /* bob's answer, whatever it is */
	cookies_take(&c, &r);
	resp_clear(&r);

	/* held again (carol), and alice's mailbox starts moving: the context goes */
	fx->hold->hold = true;
	q.cookie = c.hdr;
	q.len = execute_body(body, sizeof(body), RCPT "/cn=carol");
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 150);
	assert_true(fx->hold->queued > 0);
	assert_int_equal(mbx_frontend_drop_mailbox(fx->fe, ALICE_LEG), 1);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	close(fd);
	expect_done(&r, MBX_MH_RC_CONTEXT_NOT_FOUND, "being moved");
	assert_true(r.env.pending >= 1);
	resp_clear(&r);
	assert_int_equal(mbx_frontend_sessions(fx->fe), 0);
	fx->hold->hold = false;
	hold_release(fx->hold);
	sfx_run_ms(fx, 50);
	assert_null(fx->fe->reqs);
	sfx_free(fx);
}

/* The client goes away while its NotificationWait is held: the server notices, frees it. */
static void test_client_gone(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], *raw;
	uint8_t body[8] = {0};
	struct rq q = {.type = "NotificationWait",
	               .user = "alice",
	               .pass = "alice-Secret1",
	               .body = body,
	               .len = 8};
	struct resp r = {0};
	size_t len;
	int fd;

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	q.cookie = c.hdr;
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 150);
	assert_non_null(fx->fe->reqs);
	close(fd);
	for (int i = 0; i < 50 && fx->fe->reqs != NULL; i++)
		sfx_run_ms(fx, 50);
	assert_null(fx->fe->reqs);
	assert_non_null(strstr(lastlog, "closed the connection"));
	/* the context can wait again */
	q.cookie = c.hdr;
	mbx_frontend_drain(fx->fe);
	do_req(fx, &q, &r);
	expect_done(&r, 0, NULL);
	resp_clear(&r);
}

/* Freeing the front end (before or after the HTTP server) with a request held. */
static void test_free_with_held(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX], *raw;
	uint8_t body[8] = {0};
	struct rq q = {.type = "NotificationWait",
	               .user = "alice",
	               .pass = "alice-Secret1",
	               .body = body,
	               .len = 8};
	struct resp r = {0};
	size_t len;
	int fd;

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	q.cookie = c.hdr;
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	sfx_run_ms(fx, 50);
	mbx_frontend_free(&fx->fe);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	close(fd);
	expect_done(&r, MBX_MH_RC_ENDPOINT_SHUTTING_DOWN, "shutting down");
	resp_clear(&r);
	/* the other order: the server first (it detaches the request: its close callback tells the
	 * front end) */
	{
		char err[256];
		struct mbx_frontend_deps deps = {.base = fx->base,
		                                 .cfg = &fx->cfg,
		                                 .dir = fx->dir,
		                                 .table = fx->table,
		                                 .resolver = fx->res,
		                                 .pipeline = fx->pl,
		                                 .id = &server1};

		mbx_httpd_free(&fx->http);
		mbx_httpd_free(&fx->http2);
		fx->fe = mbx_frontend_new(&deps, err, sizeof(err));
		assert_non_null(fx->fe);
		fx->http = sfx_httpd(fx, "127.0.0.1", &fx->port);
		assert_non_null(fx->http);
		assert_int_equal(mbx_frontend_attach(fx->fe, fx->http, false), 0);
	}
	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	free(raw);
	q.cookie = c.hdr;
	raw = rq_build(&q, &len);
	fd = cli_connect("127.0.0.1", fx->port);
	cli_send(fx, fd, raw, len);
	free(raw);
	sfx_run_ms(fx, 50);
	assert_non_null(fx->fe->reqs);
	mbx_httpd_free(&fx->http);
	assert_null(fx->http);
	mbx_frontend_free(&fx->fe);
	assert_true(cli_closed(fx, fd, 1000, &len)); /* closed without an answer */
	assert_int_equal(len, 0);
	close(fd);
	/* teardown frees a NULL front end and a NULL server */
}

static void test_new_args(void **state)
{
	struct sfx *fx = *state;
	char err[256];
	struct mbx_frontend_deps deps = {0};

	assert_null(mbx_frontend_new(&deps, err, sizeof(err)));
	assert_non_null(strstr(err, "required"));
	assert_null(mbx_frontend_new(NULL, err, sizeof(err)));
	assert_int_equal(mbx_frontend_attach(NULL, fx->http, false), -1);
	assert_int_equal(mbx_frontend_attach(fx->fe, NULL, false), -1);
	mbx_frontend_reconfigure(NULL, &fx->cfg);
	mbx_frontend_reconfigure(fx->fe, NULL);
	mbx_frontend_drain(NULL);
	mbx_frontend_free(NULL);
}

/* A reload changes the limits the next request sees. */
static void test_reconfigure(void **state)
{
	struct sfx *fx = *state;
	struct mbx_config cfg;
	struct resp r = {0};
	uint8_t *big = calloc(1, 8192 + 65536 + 1);
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};

	assert_non_null(big);
	assert_int_equal(mbx_config_defaults(&cfg), 0);
	cfg.limits.max_body_bytes = 8192;
	cfg.limits.pending_period_ms = 250;
	free(cfg.server.server_application);
	cfg.server.server_application = strdup("Exchange/15.02.1118.007");
	do_req(fx, &q, &r); /* alice's logon is cached now */
	resp_clear(&r);
	assert_true(mbx_mh_authn_cached(fx->fe->authn) > 0);
	mbx_frontend_reconfigure(fx->fe, &cfg);
	mbx_config_free(&cfg); /* nothing of it is kept */
	assert_int_equal(mbx_mh_authn_cached(fx->fe->authn), 0);
	do_req(fx, &q, &r);
	assert_string_equal(hdr(&r, "X-PendingPeriod", 0), "250");
	assert_string_equal(hdr(&r, "X-ServerApplication", 0), "Exchange/15.02.1118.007");
	resp_clear(&r);
	q.type = "Execute";
	q.body = big;
	q.len = 5000; /* over the old limit, under the new one */
	do_req(fx, &q, &r);
	assert_int_equal(rc_of(&r), MBX_MH_RC_INVALID_REQUEST_BODY);
	resp_clear(&r);
	/* the server's limit follows (max_body_bytes + 64 KiB): past the old one the front end
	 * answers 9, one byte past the new one the server 413 */
	q.len = 8192 + 65536;
	do_req(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), MBX_MH_RC_TOO_LARGE);
	resp_clear(&r);
	q.len = 8192 + 65536 + 1;
	do_req(fx, &q, &r);
	assert_int_equal(r.status, 413);
	resp_clear(&r);
	free(big);
}

/* Two requests on one kept-alive connection. */
static void test_keep_alive(void **state)
{
	struct sfx *fx = *state;
	struct resp r = {0};
	struct rq q = {.type = "PING", .user = "alice", .pass = "alice-Secret1"};
	size_t len;
	char *raw = rq_build(&q, &len);
	int fd = cli_connect("127.0.0.1", fx->port);

	for (int i = 0; i < 3; i++) {
		cli_send(fx, fd, raw, len);
		assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
		assert_int_equal(rc_of(&r), 0);
		assert_false(r.closed);
		resp_clear(&r);
	}
	/* a failure keeps the connection too */
	q.type = "Nope";
	free(raw);
	raw = rq_build(&q, &len);
	cli_send(fx, fd, raw, len);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	assert_int_equal(rc_of(&r), MBX_MH_RC_INVALID_REQUEST_TYPE);
	assert_null(hdr(&r, "Connection", 0));
	resp_clear(&r);
	free(raw);
	/* Connection: close: answered, said so, then the server closes (httpd.h) */
	q.type = "PING";
	q.extra = "Connection: close\r\n";
	raw = rq_build(&q, &len);
	cli_send(fx, fd, raw, len);
	assert_int_equal(cli_recv(fx, fd, &r, 5000, false), 0);
	assert_int_equal(rc_of(&r), 0);
	assert_string_equal(hdr(&r, "Connection", 0), "close");
	if (!r.closed) {
		assert_true(cli_closed(fx, fd, 2000, &len));
		assert_int_equal(len, 0);
	}
	resp_clear(&r);
	free(raw);
	close(fd);
}

/* One request of q's on a connection of its own; the answer in r, then the server must close
 * the connection (HTTP/1.0 or Connection: close) without sending more. */
static void do_req_closing(struct sfx *fx, const struct rq *q, struct resp *r)
{
	size_t len;
	char *raw = rq_build(q, &len);
	int fd = cli_connect("127.0.0.1", fx->port);

	cli_send(fx, fd, raw, len);
	free(raw);
	if (cli_recv(fx, fd, r, 10000, false) < 0)
		fail_msg("no response within 10 s");
	assert_string_equal(hdr(r, "Connection", 0), "close");
	if (!r->closed) {
		assert_true(cli_closed(fx, fd, 2000, &len));
		assert_int_equal(len, 0);
	}
	close(fd);
}

/* HTTP/1.0 clients (httpd.h): never chunked (a streamed answer has no length: it ends with the
 * connection), and the connection closes after the answer; the MAPI/HTTP bytes are those of
 * HTTP/1.1 without the chunk framing. The status line says HTTP/1.1 (resp_parse). */
static void test_http10(void **state)
{
	struct sfx *fx = *state;
	struct cookies c;
	struct resp r = {0};
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	uint8_t body[1200] = {0};
	struct rq q = {.type = "PING",
	               .user = "alice",
	               .pass = "alice-Secret1",
	               .version = "HTTP/1.0",
	               .body = body};
	struct mbx_mh_nwait_rsp nr;
	struct mbx_mh_execute_rsp er;
	struct rd rd;

	connect_ok(fx, "alice", "alice-Secret1", ALICE_LEG, &c, name, sizeof(name));
	/* an answer in one piece: Content-Length */
	do_req_closing(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	assert_false(r.chunked);
	assert_non_null(hdr(&r, "Content-Length", 0));
	assert_int_equal(r.env_rc, MBX_MH_ENV_DONE);
	resp_clear(&r);
	/* a failure too */
	q.type = "Nope";
	do_req_closing(fx, &q, &r);
	expect_fail(&r, 200, MBX_MH_RC_INVALID_REQUEST_TYPE, NULL);
	resp_clear(&r);
	/* a held NotificationWait: PROCESSING, PENDING every 100 ms, DONE, to the end of the
	 * connection */
	q.type = "NotificationWait";
	q.cookie = c.hdr;
	q.len = 8;
	do_req_closing(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	assert_false(r.chunked);
	assert_null(hdr(&r, "Transfer-Encoding", 0));
	assert_null(hdr(&r, "Content-Length", 0));
	assert_memory_equal(r.body, "PROCESSING\r\nPENDING\r\n", 21);
	assert_int_equal(r.env_rc, MBX_MH_ENV_DONE);
	assert_true(r.env.has_response_code);
	assert_int_equal(r.env.response_code, 0);
	assert_true(r.env.pending >= 5);
	assert_true(r.env.pending <= 11);
	rd_init(&rd, r.bin, r.bin_len, 0);
	assert_int_equal(mbx_mh_nwait_rsp_decode(&rd, &nr), 0);
	assert_int_equal(nr.error_code, 0);
	resp_clear(&r);
	/* an Execute (a streamed answer, ready at once): the RopLogon, the sequence rotated */
	q.type = "Execute";
	q.len = execute_body(body, sizeof(body), ALICE_LEG);
	do_req_closing(fx, &q, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(rc_of(&r), 0);
	assert_false(r.chunked);
	assert_null(hdr(&r, "Content-Length", 0));
	assert_memory_equal(r.body, "PROCESSING\r\n", 12);
	assert_int_equal(r.env_rc, MBX_MH_ENV_DONE);
	assert_int_equal(r.env.response_code, 0);
	rd_init(&rd, r.bin, r.bin_len, 0);
	assert_int_equal(mbx_mh_execute_rsp_decode(&rd, &er), 0);
	assert_int_equal(er.error_code, 0);
	assert_true(er.rop_len > MBX_RHE_HDRLEN + 4);
	assert_memory_equal(er.rop + MBX_RHE_HDRLEN + 2, "\xFE\x00\x00\x00\x00\x00", 6);
	assert_int_equal(hdr_count(&r, "Set-Cookie"), 1);
	resp_clear(&r);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_round_trip),
	        T(test_execute_other_mailboxes),
	        T(test_connect_user_dn),
	        T(test_connect_bounds),
	        T(test_verb_path),
	        T(test_headers),
	        T(test_body_limit),
	        T(test_bad_bodies),
	        T(test_random_bodies),
	        T(test_cookie_codes),
	        T(test_ping),
	        T(test_auth),
	        T(test_auth_clear_text),
	        T(test_auth_directory_down),
	        T(test_idle_expiry),
	        T(test_drop_mailbox),
	        T(test_notification_wait),
	        T(test_dropped_while_held),
	        T(test_execute_held),
	        T(test_client_gone),
	        T(test_free_with_held),
	        T(test_new_args),
	        T(test_reconfigure),
	        T(test_keep_alive),
	        T(test_http10),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
