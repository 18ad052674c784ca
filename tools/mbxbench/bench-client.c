/*
 * bench-client.c: the load of mbxbench(1). N session contexts, each on its own keep-alive
 * HTTP/1.1 connection (plain, or TLS through bufferevent_openssl), each doing one MAPI/HTTP
 * Connect ([MS-OXCMAPIHTTP] 2.2.4.1) and then Execute requests (2.2.4.2) of RopLogon +
 * RopRelease, with the session cookies of protocol.md 5.3 (MapiContext once, MapiSequence
 * taken from every response) and the request headers of 2.2.3.3 / protocol.md 5.2. One
 * request at a time per session context, as the server requires.
 *
 * Phases: CONNECT (every session's first Connect), WARMUP, MEASURE, DRAIN (no new requests;
 * the ones in flight finish), DISCONNECT (each session context is closed), END.
 *
 * Closed loop: a session sends its next Execute as soon as the previous one is answered;
 * latency runs from sending. Open loop (--rate): requests are due at fixed times
 * (t_warmup + k / rate); an idle session takes the oldest due request, and its latency runs
 * from the time it was due, so a slow server cannot hide its queueing (no coordinated
 * omission). Every response is validated (bench-mapi.c); failures are counted per kind.
 */
#include "mbxbench.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mbx/types.h"

#define BENCH_BACKOFF_MS 100        /* before a failed Connect is retried */
#define BENCH_QUEUE_MAX (1u << 20)  /* open loop: due requests waiting for an idle session */
#define BENCH_REQ_HDR_MAX 4096

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_thread_cpu(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval client_tv(uint64_t ns)
{
	struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000u),
	                     .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};
	return tv;
}

static uint64_t client_secs_ns(double s)
{
	if (!(s > 0))
		return 0;
	if (s > 1e9)
		s = 1e9;
	return (uint64_t)(s * 1e9);
}

/* ---- targets and TLS ----------------------------------------------------------------------- */

int bench_target_parse(struct bench_target *t, const char *name, const char *url, char *err,
                       size_t errsize)
{
	struct evhttp_uri *u;
	const char *scheme, *host, *path, *query;
	int port;
	char portstr[8];
	struct addrinfo hints, *ai = NULL;
	bool v6;
	int rc = -1, gai;

	memset(t, 0, sizeof(*t));
	t->name = name;
	if (strlen(url) >= sizeof(t->url)) {
		snprintf(err, errsize, "the URL is too long");
		return -1;
	}
	snprintf(t->url, sizeof(t->url), "%s", url);
	u = evhttp_uri_parse_with_flags(url, 0);
	if (u == NULL) {
		snprintf(err, errsize, "cannot parse the URL %s", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	port = evhttp_uri_get_port(u);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		snprintf(err, errsize, "the URL must start with http:// or https://");
		goto out;
	}
	t->tls = strcasecmp(scheme, "https") == 0;
	if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof(t->host)) {
		snprintf(err, errsize, "the URL has no host");
		goto out;
	}
	snprintf(t->host, sizeof(t->host), "%s", host);
	if (port < 0)
		port = t->tls ? 443 : 80;
	if (port == 0 || port > 65535) {
		snprintf(err, errsize, "bad port in the URL");
		goto out;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	v6 = strchr(host, ':') != NULL;
	if (port == (t->tls ? 443 : 80))
		snprintf(t->hostport, sizeof(t->hostport), v6 ? "[%s]" : "%s", host);
	else
		snprintf(t->hostport, sizeof(t->hostport), v6 ? "[%s]:%s" : "%s:%s", host, portstr);
	if (path == NULL || path[0] == '\0')
		path = "/mapi/emsmdb/";
	if ((size_t)snprintf(t->path, sizeof(t->path), "%s%s%s", path, query != NULL ? "?" : "",
	                     query != NULL ? query : "") >= sizeof(t->path)) {
		snprintf(err, errsize, "the URL path is too long");
		goto out;
	}
	for (const char *p = t->path; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F) {
			snprintf(err, errsize, "the URL path holds a blank or a non-ASCII byte");
			goto out;
		}
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	gai = getaddrinfo(host, portstr, &hints, &ai);
	if (gai != 0 || ai == NULL) {
		snprintf(err, errsize, "cannot resolve %s: %s", host, gai_strerror(gai));
		goto out;
	}
	if (ai->ai_addrlen > sizeof(t->addr)) {
		snprintf(err, errsize, "address of %s too long", host);
		goto out;
	}
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	t->addrlen = (socklen_t)ai->ai_addrlen;
	rc = 0;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	evhttp_uri_free(u);
	return rc;
}

SSL_CTX *bench_tls_client_ctx(bool insecure, const char *ca_file, char *err, size_t errsize)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(err, errsize, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			snprintf(err, errsize, "cannot load CA file %s: %s", ca_file,
			         ERR_reason_error_string(ERR_peek_last_error()));
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errsize, "cannot load the system CA store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* ---- results ------------------------------------------------------------------------------- */

void bench_result_fail(struct bench_result *res, const char *key, const char *detail)
{
	res->errors++;
	for (unsigned i = 0; i < res->nfails; i++) {
		if (strcmp(res->fails[i].key, key) == 0) {
			res->fails[i].count++;
			return;
		}
	}
	if (res->nfails == BENCH_FAIL_KINDS) {
		res->fails_dropped++;
		return;
	}
	snprintf(res->fails[res->nfails].key, sizeof(res->fails[0].key), "%s", key);
	snprintf(res->fails[res->nfails].detail, sizeof(res->fails[0].detail), "%s",
	         detail != NULL ? detail : "");
	res->fails[res->nfails].count = 1;
	res->nfails++;
}

void bench_result_deinit(struct bench_result *res)
{
	bench_hist_deinit(&res->hist);
}

/* ---- the run ------------------------------------------------------------------------------- */

enum client_phase {
	PH_CONNECT,
	PH_WARMUP,
	PH_MEASURE,
	PH_DRAIN,
	PH_DISCONNECT,
	PH_END,
};

enum sess_state {
	SESS_IDLE,
	SESS_BUSY,
	SESS_WAIT, /* backing off after a failed Connect */
};

struct client_run;

struct client_sess {
	struct client_run *run;
	unsigned id;
	struct bufferevent *bev;
	bool ever_opened;
	bool conn_up; /* TCP connected (and TLS handshake done) on the current connection */
	bool tcp_only; /* TLS connection waiting for its TCP connect: bev is the socket */
	struct evbuffer *pending; /* request bytes written meanwhile */
	enum sess_state state;
	enum bench_reqtype req;
	bool has_context;
	bool ever_connected;
	bool first_connect_done;
	char context[BENCH_COOKIE_MAX];
	char sequence[BENCH_COOKIE_MAX];
	char guid[MBX_GUID_STRLEN + 3];
	uint64_t counter;
	uint64_t origin_ns; /* when the request was sent (closed loop) or due (open loop) */
	bool measured;
	struct bench_http_rsp rsp;
	struct event *backoff;
};

struct client_due {
	uint64_t ns;
	bool measured;
};

struct client_run {
	struct event_base *base;
	const struct bench_target *t;
	const struct bench_load *load;
	struct bench_result *res;
	struct client_sess *sess;
	unsigned nsess;
	enum client_phase phase;
	bool open_loop;
	uint64_t t_warm, t0, t_end; /* t_end: end of the measured window (0 = by count) */
	uint64_t issued_measured;   /* closed loop with --requests */
	uint64_t last_done;
	double server_cpu0, client_cpu0; /* at the start of the measured window */
	bool cpu_started;
	unsigned busy;
	unsigned connect_pending;
	char first_connect_fail[300];
	struct event *phase_timer;
	struct event *sched_timer;
	struct event *sigint;
	bool interrupted;
	/* open loop */
	uint64_t interval_ns_x1000; /* ns per request, times 1000 for sub-ns precision */
	uint64_t sched_k;           /* requests scheduled so far (index of the next one) */
	uint64_t sched_measured;
	bool sched_done;
	struct client_due *q;
	size_t q_cap, q_head, q_len;
	struct client_sess **idle;
	unsigned nidle;
	/* constant request parts */
	char headers[1024];
};

static void client_advance(struct client_run *run);
static void client_sess_next(struct client_sess *s);
static void client_backoff(struct client_sess *s);
static void client_first_connect_done(struct client_run *run, struct client_sess *s);

static void client_close(struct client_sess *s)
{
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	s->tcp_only = false;
	if (s->pending != NULL)
		evbuffer_drain(s->pending, evbuffer_get_length(s->pending));
}

/* Queues request bytes: on the connection, or, while a TLS connection still waits for its TCP
 * connect, until TLS is set up on it. */
static void client_write(struct client_sess *s, const void *data, size_t len)
{
	if (!s->tcp_only) {
		bufferevent_write(s->bev, data, len);
		return;
	}
	if (s->pending == NULL)
		s->pending = evbuffer_new();
	if (s->pending != NULL)
		evbuffer_add(s->pending, data, len);
}

static void client_fail(struct client_run *run, const char *key, const char *detail)
{
	bench_result_fail(run->res, key, detail);
}

static const char *client_ssl_error(struct bufferevent *bev, char *buf, size_t size)
{
	unsigned long e;

	buf[0] = '\0';
	if (bev != NULL && (e = bufferevent_get_openssl_error(bev)) != 0)
		ERR_error_string_n(e, buf, size);
	else if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, buf, size);
	return buf;
}

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);

/* TLS goes on top of a connected socket bufferevent (a filter), not on the socket itself:
 * bufferevent_openssl on a socket reads each TLS record with two read(2) calls (header, then
 * body), and a response comes as several records; the filter reads whole socket buffers. */
static void client_tcp_event_cb(struct bufferevent *tcp, short what, void *arg)
{
	struct client_sess *s = arg;
	struct client_run *run = s->run;
	const struct bench_target *t = run->t;
	struct timeval tv = client_tv(client_secs_ns(run->load->timeout));
	struct bufferevent *bev;
	struct in6_addr a6;
	struct in_addr a4;
	SSL *ssl;

	if (!(what & BEV_EVENT_CONNECTED)) {
		client_event_cb(tcp, what, arg);
		return;
	}
	ssl = SSL_new(t->ssl);
	if (ssl == NULL) {
		client_event_cb(tcp, BEV_EVENT_ERROR, arg);
		return;
	}
	if (inet_pton(AF_INET, t->host, &a4) == 1 || inet_pton(AF_INET6, t->host, &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
	} else {
		SSL_set_tlsext_host_name(ssl, t->host);
		SSL_set1_host(ssl, t->host);
	}
	/* The filter owns the socket's callbacks and timeouts from now on. */
	bufferevent_set_timeouts(tcp, NULL, NULL);
	bev = bufferevent_openssl_filter_new(run->base, tcp, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		client_event_cb(tcp, BEV_EVENT_ERROR, arg);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->bev = bev;
	s->tcp_only = false;
	bufferevent_setcb(bev, client_read_cb, NULL, client_event_cb, s);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (s->pending != NULL && evbuffer_get_length(s->pending) > 0)
		bufferevent_write_buffer(bev, s->pending);
}

static int client_open(struct client_sess *s)
{
	struct client_run *run = s->run;
	const struct bench_target *t = run->t;
	struct bufferevent *bev;
	struct timeval tv = client_tv(client_secs_ns(run->load->timeout));
	int one = 1, fd;
	char buf[256];

	bev = bufferevent_socket_new(run->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		client_fail(run, "io:setup", "bufferevent_socket_new failed");
		return -1;
	}
	if (t->tls)
		bufferevent_setcb(bev, NULL, NULL, client_tcp_event_cb, s);
	else
		bufferevent_setcb(bev, client_read_cb, NULL, client_event_cb, s);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(bev, (const struct sockaddr *)&t->addr, (int)t->addrlen) !=
	    0) {
		snprintf(buf, sizeof(buf), "connect to %.200s: %s", t->hostport, strerror(errno));
		bufferevent_free(bev);
		client_fail(run, "io:connect", buf);
		return -1;
	}
	fd = (int)bufferevent_getfd(bev);
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->bev = bev;
	s->tcp_only = t->tls;
	s->conn_up = false;
	run->res->conn_opened++;
	if (s->ever_opened)
		run->res->conn_reopened++;
	s->ever_opened = true;
	return 0;
}

/* Sends one request; on a local failure (cannot open a connection) the request counts as
 * failed at once and the session backs off. */
static void client_send(struct client_sess *s, enum bench_reqtype type, uint64_t origin,
                        bool measured)
{
	struct client_run *run = s->run;
	const struct bench_mapi_bodies *b = run->load->bodies;
	const uint8_t *body;
	size_t blen, n;
	char req[BENCH_REQ_HDR_MAX];
	int k;

	switch (type) {
	case BENCH_REQ_CONNECT:
		body = b->connect;
		blen = b->connect_len;
		break;
	case BENCH_REQ_EXECUTE:
		body = b->execute;
		blen = b->execute_len;
		break;
	case BENCH_REQ_DISCONNECT:
	default:
		body = b->disconnect;
		blen = b->disconnect_len;
		break;
	}
	s->req = type;
	s->origin_ns = origin;
	s->measured = measured;
	s->state = SESS_BUSY;
	run->busy++;
	bench_http_rsp_reset(&s->rsp);
	if (s->bev == NULL && client_open(s) != 0) {
		/* Counted by client_open: the request failed at once; try again a little later. */
		s->state = SESS_IDLE;
		run->busy--;
		if (type == BENCH_REQ_EXECUTE && measured)
			run->res->failed++;
		if (type == BENCH_REQ_CONNECT)
			client_first_connect_done(run, s);
		if (type == BENCH_REQ_DISCONNECT)
			s->has_context = false;
		client_backoff(s);
		return;
	}
	s->counter++;
	k = snprintf(req, sizeof(req),
	             "POST %s HTTP/1.1\r\n"
	             "%s"
	             "X-RequestType: %s\r\n"
	             "X-RequestId: %s:%llu\r\n"
	             "X-ClientInfo: %s:1\r\n"
	             "Content-Length: %zu\r\n",
	             run->t->path, run->headers, bench_reqtype_name(type), s->guid,
	             (unsigned long long)s->counter, s->guid, blen);
	if (k > 0 && (size_t)k < sizeof(req) && type != BENCH_REQ_CONNECT && s->has_context)
		k += snprintf(req + k, sizeof(req) - (size_t)k, "Cookie: %s=%s; %s=%s\r\n",
		              MBX_MH_COOKIE_CONTEXT, s->context, MBX_MH_COOKIE_SEQUENCE, s->sequence);
	if (k > 0 && (size_t)k < sizeof(req))
		k += snprintf(req + k, sizeof(req) - (size_t)k, "\r\n");
	n = (size_t)k;
	if (k < 0 || n >= sizeof(req)) {
		/* Cannot happen: the cookies and the path are bounded well below this. */
		client_fail(run, "io:setup", "request headers too long");
		client_close(s);
		s->state = SESS_IDLE;
		run->busy--;
		s->has_context = false;
		client_backoff(s);
		return;
	}
	/* One buffer, so that TLS sends one record. */
	if (blen <= sizeof(req) - n) {
		memcpy(req + n, body, blen);
		client_write(s, req, n + blen);
	} else {
		client_write(s, req, n);
		client_write(s, body, blen);
	}
}

/* ---- open loop: due requests --------------------------------------------------------------- */

static int client_q_push(struct client_run *run, uint64_t ns, bool measured)
{
	if (run->q_len == run->q_cap) {
		size_t ncap = run->q_cap == 0 ? 1024 : run->q_cap * 2;
		struct client_due *nq;

		if (run->q_cap >= BENCH_QUEUE_MAX)
			return -1;
		nq = malloc(ncap * sizeof(*nq));
		if (nq == NULL)
			return -1;
		for (size_t i = 0; i < run->q_len; i++)
			nq[i] = run->q[(run->q_head + i) % run->q_cap];
		free(run->q);
		run->q = nq;
		run->q_cap = ncap;
		run->q_head = 0;
	}
	run->q[(run->q_head + run->q_len) % run->q_cap] = (struct client_due){ns, measured};
	run->q_len++;
	if (run->q_len > run->res->backlog_max)
		run->res->backlog_max = run->q_len;
	return 0;
}

static struct client_due client_q_pop(struct client_run *run)
{
	struct client_due d = run->q[run->q_head];

	run->q_head = (run->q_head + 1) % run->q_cap;
	run->q_len--;
	return d;
}

static uint64_t client_sched_time(const struct client_run *run, uint64_t k)
{
	/* t_warm + k * interval, with the interval kept in thousandths of a nanosecond. */
	return run->t_warm + (uint64_t)((unsigned __int128)k * run->interval_ns_x1000 / 1000u);
}

static void client_start_measure(struct client_run *run);
static void client_start_drain(struct client_run *run);

static void client_dispatch_due(struct client_run *run)
{
	while (run->q_len > 0 && run->nidle > 0) {
		struct client_sess *s = run->idle[--run->nidle];
		struct client_due d = client_q_pop(run);

		client_send(s, BENCH_REQ_EXECUTE, d.ns, d.measured);
	}
}

static void client_sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_run *run = arg;
	uint64_t now = bench_now_ns(), next;

	while (!run->sched_done) {
		uint64_t ts = client_sched_time(run, run->sched_k);
		bool measured;

		if (ts > now)
			break;
		if (ts >= run->t0 && run->phase == PH_WARMUP)
			client_start_measure(run);
		measured = ts >= run->t0;
		if (measured && run->load->requests > 0 && run->sched_measured >= run->load->requests)
			measured = false;
		if (measured && run->t_end != 0 && ts >= run->t_end)
			measured = false;
		if (ts >= run->t0 && !measured) {
			/* The measured window is full: nothing more is scheduled. */
			run->sched_done = true;
			break;
		}
		run->sched_k++;
		if (measured)
			run->sched_measured++;
		if (client_q_push(run, ts, measured) != 0) {
			run->res->unsent++;
			if (measured)
				run->res->failed++;
			client_fail(run, "load:backlog-full",
			            "more than 1048576 requests were due and no session was free: the "
			            "rate is far above what the server answers");
		}
	}
	client_dispatch_due(run);
	if (run->sched_done) {
		if (run->phase == PH_WARMUP || run->phase == PH_MEASURE)
			client_start_drain(run);
		return;
	}
	next = client_sched_time(run, run->sched_k);
	{
		struct timeval tv = client_tv(next > now ? next - now : 0);

		evtimer_add(run->sched_timer, &tv);
	}
}

/* ---- session life ---------------------------------------------------------------------------- */

static void client_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_sess *s = arg;

	s->state = SESS_IDLE;
	client_sess_next(s);
	client_advance(s->run);
}

/* What an idle session does next. */
static void client_sess_next(struct client_sess *s)
{
	struct client_run *run = s->run;

	if (s->state != SESS_IDLE)
		return;
	switch (run->phase) {
	case PH_CONNECT:
		return;
	case PH_WARMUP:
	case PH_MEASURE:
		if (!s->has_context) {
			client_send(s, BENCH_REQ_CONNECT, bench_now_ns(), false);
			return;
		}
		break;
	case PH_DRAIN:
		if (!s->has_context || !run->open_loop)
			return;
		break;
	case PH_DISCONNECT:
		/* A Connect that ended after the load did: close that context too. */
		if (s->has_context)
			client_send(s, BENCH_REQ_DISCONNECT, bench_now_ns(), false);
		return;
	case PH_END:
		return;
	}
	if (run->open_loop) {
		if (run->q_len > 0) {
			struct client_due d = client_q_pop(run);

			client_send(s, BENCH_REQ_EXECUTE, d.ns, d.measured);
		} else {
			run->idle[run->nidle++] = s;
		}
		return;
	}
	if (run->phase == PH_WARMUP) {
		client_send(s, BENCH_REQ_EXECUTE, bench_now_ns(), false);
	} else if (run->phase == PH_MEASURE) {
		if (run->load->requests > 0) {
			if (run->issued_measured >= run->load->requests)
				return;
			run->issued_measured++;
			client_send(s, BENCH_REQ_EXECUTE, bench_now_ns(), true);
			if (run->issued_measured == run->load->requests)
				client_start_drain(run);
		} else {
			client_send(s, BENCH_REQ_EXECUTE, bench_now_ns(), false);
		}
	}
}

static void client_backoff(struct client_sess *s)
{
	struct timeval tv = {0, BENCH_BACKOFF_MS * 1000};

	if (s->backoff == NULL)
		s->backoff = evtimer_new(s->run->base, client_backoff_cb, s);
	if (s->backoff == NULL) {
		s->state = SESS_IDLE;
		return;
	}
	s->state = SESS_WAIT;
	evtimer_add(s->backoff, &tv);
}

static void client_first_connect_done(struct client_run *run, struct client_sess *s)
{
	if (s->first_connect_done)
		return;
	s->first_connect_done = true;
	if (run->connect_pending > 0)
		run->connect_pending--;
}

/* A request of s ended (answered, failed or cut). ok and v describe the outcome. */
static void client_finish(struct client_sess *s, bool ok, const struct bench_verdict *v)
{
	struct client_run *run = s->run;
	struct bench_result *res = run->res;
	uint64_t now = bench_now_ns();
	bool measured;

	s->state = SESS_IDLE;
	run->busy--;
	if (!ok) {
		client_fail(run, v->key, v->detail);
		if (v->drop_context)
			s->has_context = false;
	}
	switch (s->req) {
	case BENCH_REQ_CONNECT:
		client_first_connect_done(run, s);
		if (ok) {
			res->sessions_connected++;
			if (s->ever_connected)
				res->session_restarts++;
			s->ever_connected = true;
			s->has_context = true;
		} else {
			if (run->first_connect_fail[0] == '\0')
				snprintf(run->first_connect_fail, sizeof(run->first_connect_fail),
				         "%s", v->detail);
			client_backoff(s);
		}
		break;
	case BENCH_REQ_EXECUTE:
		if (run->open_loop || run->load->requests > 0)
			measured = s->measured;
		else
			measured = run->phase == PH_MEASURE;
		if (measured) {
			if (ok) {
				uint64_t ns = now > s->origin_ns ? now - s->origin_ns : 0;

				res->ok++;
				bench_hist_record(&res->hist, (ns + 500) / 1000);
				res->rsp_bytes = evbuffer_get_length(s->rsp.body);
				res->rsp_wire_bytes = s->rsp.wire_bytes;
			} else {
				res->failed++;
			}
			run->last_done = now;
		}
		break;
	case BENCH_REQ_DISCONNECT:
		if (ok)
			res->disconnected++;
		s->has_context = false;
		break;
	}
	client_sess_next(s);
	client_advance(run);
}

static void client_complete(struct client_sess *s)
{
	struct bench_verdict v;
	bool ok = bench_mapi_check(s->req, &s->rsp, &v) == 0;

	/* Like a cookie jar: the sequence cookie follows every response that sets one (the
	 * server issues a new one per request), and so does the context cookie, which normally
	 * comes once, with Connect. */
	if (s->rsp.has_sequence)
		memcpy(s->sequence, s->rsp.sequence, sizeof(s->sequence));
	if (s->rsp.has_context)
		memcpy(s->context, s->rsp.context, sizeof(s->context));
	if (s->rsp.close) {
		client_close(s);
		s->run->res->conn_closed_by_server++;
	}
	client_finish(s, ok, &v);
}

static void client_io_fail(struct client_sess *s, const char *key, const char *detail)
{
	struct bench_verdict v;

	memset(&v, 0, sizeof(v));
	snprintf(v.key, sizeof(v.key), "%s", key);
	snprintf(v.detail, sizeof(v.detail), "%s: %s", bench_reqtype_name(s->req), detail);
	client_close(s);
	client_finish(s, false, &v);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client_sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	if (s->state != SESS_BUSY) {
		client_fail(s->run, "proto:unsolicited", "bytes from the server with no request");
		client_close(s);
		return;
	}
	rc = bench_http_rsp_feed(&s->rsp, in);
	if (rc == BENCH_HTTP_MORE)
		return;
	if (rc == BENCH_HTTP_BAD) {
		client_io_fail(s, "proto:http", s->rsp.err);
		return;
	}
	if (evbuffer_get_length(in) > 0) {
		/* Bytes after the response: we never pipeline, so they are not ours. */
		s->rsp.close = true;
	}
	client_complete(s);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client_sess *s = arg;
	struct client_run *run = s->run;
	char buf[256], ssl[200];
	int err = errno;

	if (what & BEV_EVENT_CONNECTED) {
		s->conn_up = true;
		return;
	}
	if (s->state != SESS_BUSY) {
		if (what & BEV_EVENT_TIMEOUT) {
			/* Idle: the read timeout only matters while a request waits. */
			bufferevent_enable(bev, EV_READ | EV_WRITE);
			return;
		}
		if (what & BEV_EVENT_EOF)
			run->res->conn_closed_by_server++;
		client_close(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(buf, sizeof(buf), "no answer within %.3g s", run->load->timeout);
		client_io_fail(s, "io:timeout", buf);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (bench_http_rsp_feed(&s->rsp, bufferevent_get_input(bev)) == BENCH_HTTP_DONE_RC ||
		    bench_http_rsp_eof(&s->rsp) == BENCH_HTTP_DONE_RC) {
			s->rsp.close = true;
			client_complete(s);
			return;
		}
		run->res->conn_closed_by_server++;
		client_io_fail(s, "io:closed", s->rsp.err);
		return;
	}
	client_ssl_error(bev, ssl, sizeof(ssl));
	if (ssl[0] != '\0') {
		snprintf(buf, sizeof(buf), "TLS with %.120s: %.120s", run->t->hostport, ssl);
		client_io_fail(s, s->conn_up ? "tls:error" : "tls:handshake", buf);
	} else {
		snprintf(buf, sizeof(buf), "%s %.120s: %.80s", s->conn_up ? "connection to" : "connect to",
		         run->t->hostport, err != 0 ? strerror(err) : "connection error");
		client_io_fail(s, s->conn_up ? "io:error" : "io:connect", buf);
	}
}

/* ---- phases ---------------------------------------------------------------------------------- */

static void client_end(struct client_run *run)
{
	if (run->phase == PH_END)
		return;
	run->phase = PH_END;
	event_base_loopbreak(run->base);
}

static void client_phase_cb(evutil_socket_t fd, short what, void *arg);

static void client_phase_timer(struct client_run *run, uint64_t ns)
{
	struct timeval tv = client_tv(ns);

	evtimer_del(run->phase_timer);
	evtimer_add(run->phase_timer, &tv);
}

static void client_start_disconnect(struct client_run *run)
{
	run->phase = PH_DISCONNECT;
	evtimer_del(run->sched_timer);
	for (unsigned i = 0; i < run->nsess; i++) {
		struct client_sess *s = &run->sess[i];

		if (s->backoff != NULL)
			evtimer_del(s->backoff);
		if (s->state == SESS_WAIT)
			s->state = SESS_IDLE;
		if (s->state == SESS_IDLE && s->has_context)
			client_send(s, BENCH_REQ_DISCONNECT, bench_now_ns(), false);
	}
	client_phase_timer(run, client_secs_ns(run->load->timeout) + 1000000000u);
	client_advance(run);
}

/* The CPU readings at the start and at the end of the measured window. */
static void client_cpu_mark(struct client_run *run, bool start)
{
	const struct bench_target *t = run->t;
	double server = t->server_cpu != NULL ? t->server_cpu(t->server_cpu_arg) : -1;

	if (start) {
		run->server_cpu0 = server;
		run->client_cpu0 = bench_thread_cpu();
		run->cpu_started = true;
		return;
	}
	if (!run->cpu_started)
		return;
	run->res->client_cpu_s = bench_thread_cpu() - run->client_cpu0;
	if (t->server_cpu != NULL && run->server_cpu0 >= 0 && server >= run->server_cpu0) {
		run->res->has_server_cpu = true;
		run->res->server_cpu_s = server - run->server_cpu0;
	}
	run->cpu_started = false;
}

static void client_start_drain(struct client_run *run)
{
	if (run->phase != PH_WARMUP && run->phase != PH_MEASURE)
		return;
	if (run->phase == PH_MEASURE)
		client_cpu_mark(run, false);
	/* Closed loop by duration: the window is [t0, now]. */
	if (run->phase == PH_MEASURE && !run->open_loop && run->load->requests == 0)
		run->last_done = bench_now_ns();
	run->phase = PH_DRAIN;
	run->sched_done = true;
	evtimer_del(run->sched_timer);
	client_phase_timer(run, client_secs_ns(run->load->timeout) + 1000000000u);
	client_advance(run);
}

static void client_start_measure(struct client_run *run)
{
	if (run->phase != PH_WARMUP)
		return;
	run->phase = PH_MEASURE;
	client_cpu_mark(run, true);
	if (!run->open_loop) {
		run->t0 = bench_now_ns();
		if (run->load->requests == 0)
			client_phase_timer(run, client_secs_ns(run->load->duration));
		else
			evtimer_del(run->phase_timer);
		/* With --requests the sessions idle at the switch start the measured ones. */
		for (unsigned i = 0; i < run->nsess; i++)
			client_sess_next(&run->sess[i]);
	}
}

static void client_start_warmup(struct client_run *run)
{
	uint64_t warm = client_secs_ns(run->load->warmup);

	run->phase = PH_WARMUP;
	run->t_warm = bench_now_ns();
	if (run->open_loop) {
		run->t0 = run->t_warm + warm;
		run->t_end = run->load->requests > 0
		                     ? 0
		                     : run->t0 + client_secs_ns(run->load->duration);
		evtimer_del(run->phase_timer);
		for (unsigned i = 0; i < run->nsess; i++)
			client_sess_next(&run->sess[i]);
		client_sched_cb(-1, 0, run);
		return;
	}
	if (warm == 0) {
		client_start_measure(run);
		for (unsigned i = 0; i < run->nsess; i++)
			client_sess_next(&run->sess[i]);
		return;
	}
	client_phase_timer(run, warm);
	for (unsigned i = 0; i < run->nsess; i++)
		client_sess_next(&run->sess[i]);
}

static void client_connect_phase_over(struct client_run *run)
{
	if (run->res->sessions_connected == 0) {
		snprintf(run->res->abort_why, sizeof(run->res->abort_why),
		         "no session could Connect%s%.200s",
		         run->first_connect_fail[0] != '\0' ? ": " : "", run->first_connect_fail);
		run->res->aborted = true;
		client_start_disconnect(run);
		return;
	}
	client_start_warmup(run);
}

/* Moves to the next phase when the current one has nothing left to wait for. */
static void client_advance(struct client_run *run)
{
	switch (run->phase) {
	case PH_CONNECT:
		if (run->connect_pending == 0)
			client_connect_phase_over(run);
		break;
	case PH_DRAIN:
		if (run->busy == 0 && run->q_len == 0)
			client_start_disconnect(run);
		break;
	case PH_DISCONNECT:
		if (run->busy == 0)
			client_end(run);
		break;
	default:
		break;
	}
}

static void client_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_run *run = arg;

	switch (run->phase) {
	case PH_CONNECT:
		/* Some first Connects did not finish in time; go on with those that did. */
		run->connect_pending = 0;
		client_connect_phase_over(run);
		break;
	case PH_WARMUP:
		client_start_measure(run);
		break;
	case PH_MEASURE:
		client_start_drain(run);
		break;
	case PH_DRAIN:
	case PH_DISCONNECT:
		/* Deadline: whatever is still queued or in flight is given up. */
		run->res->unsent += run->q_len;
		run->q_len = 0;
		for (unsigned i = 0; i < run->nsess; i++) {
			struct client_sess *s = &run->sess[i];

			if (s->state == SESS_BUSY) {
				if (run->phase == PH_DRAIN)
					run->res->unfinished++;
				client_close(s);
				s->state = SESS_IDLE;
				run->busy--;
			}
		}
		if (run->phase == PH_DRAIN)
			client_start_disconnect(run);
		else
			client_end(run);
		break;
	case PH_END:
		break;
	}
}

static void client_sigint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client_run *run = arg;

	if (run->interrupted) {
		client_end(run);
		return;
	}
	run->interrupted = true;
	run->res->aborted = true;
	snprintf(run->res->abort_why, sizeof(run->res->abort_why), "interrupted");
	if (run->phase == PH_CONNECT)
		client_start_disconnect(run);
	else
		client_start_drain(run);
}

/* ---- entry --------------------------------------------------------------------------------- */

static int client_headers(struct client_run *run)
{
	const struct bench_load *l = run->load;
	size_t ul = strlen(l->user), pl = strlen(l->password), n = ul + 1 + pl;
	unsigned char *plain = malloc(n + 1), *b64 = malloc(4 * ((n + 2) / 3) + 1);
	int k = -1;

	if (plain != NULL && b64 != NULL) {
		memcpy(plain, l->user, ul);
		plain[ul] = ':';
		memcpy(plain + ul + 1, l->password, pl);
		EVP_EncodeBlock(b64, plain, (int)n);
		k = snprintf(run->headers, sizeof(run->headers),
		             "Host: %s\r\n"
		             "Content-Type: application/mapi-http\r\n"
		             "Authorization: Basic %s\r\n"
		             "X-ClientApplication: %s\r\n"
		             "User-Agent: mbxbench/%s\r\n",
		             run->t->hostport, (const char *)b64, l->client_app, MBX_VERSION);
		OPENSSL_cleanse(plain, n);
	}
	free(plain);
	free(b64);
	return k > 0 && (size_t)k < sizeof(run->headers) ? 0 : -1;
}

int bench_client_run(struct event_base *base, const struct bench_target *t,
                     const struct bench_load *load, struct bench_result *res)
{
	struct client_run run;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->name = t->name;
	snprintf(res->url, sizeof(res->url), "%s", t->url);
	res->tls = t->tls;
	res->rate = load->rate;
	if (bench_hist_init(&res->hist) != 0) {
		snprintf(res->abort_why, sizeof(res->abort_why), "out of memory");
		res->aborted = true;
		return -1;
	}

	memset(&run, 0, sizeof(run));
	run.base = base;
	run.t = t;
	run.load = load;
	run.res = res;
	run.nsess = load->concurrency;
	run.open_loop = load->rate > 0;
	if (run.open_loop)
		run.interval_ns_x1000 = (uint64_t)(1e12 / load->rate + 0.5);
	if (run.open_loop && run.interval_ns_x1000 == 0)
		run.interval_ns_x1000 = 1;
	if (client_headers(&run) != 0) {
		snprintf(res->abort_why, sizeof(res->abort_why), "request headers too long");
		res->aborted = true;
		return -1;
	}
	run.sess = calloc(run.nsess, sizeof(*run.sess));
	run.idle = calloc(run.nsess, sizeof(*run.idle));
	run.phase_timer = evtimer_new(base, client_phase_cb, &run);
	run.sched_timer = evtimer_new(base, client_sched_cb, &run);
	run.sigint = evsignal_new(base, SIGINT, client_sigint_cb, &run);
	if (run.sess == NULL || run.idle == NULL || run.phase_timer == NULL ||
	    run.sched_timer == NULL || run.sigint == NULL) {
		snprintf(res->abort_why, sizeof(res->abort_why), "out of memory");
		res->aborted = true;
		goto out;
	}
	evsignal_add(run.sigint, NULL);
	for (unsigned i = 0; i < run.nsess; i++) {
		struct client_sess *s = &run.sess[i];
		struct mbx_guid g;
		char gs[MBX_GUID_STRLEN + 1];

		s->run = &run;
		s->id = i;
		if (bench_http_rsp_init(&s->rsp) != 0) {
			snprintf(res->abort_why, sizeof(res->abort_why), "out of memory");
			res->aborted = true;
			goto out;
		}
		if (RAND_bytes(g.b, sizeof(g.b)) != 1)
			memset(g.b, (int)i, sizeof(g.b));
		g.b[7] = (uint8_t)((g.b[7] & 0x0F) | 0x40); /* version 4 (Data3 is little-endian) */
		g.b[8] = (uint8_t)((g.b[8] & 0x3F) | 0x80);
		snprintf(s->guid, sizeof(s->guid), "{%s}", mbx_guid_to_str(&g, gs));
	}

	run.phase = PH_CONNECT;
	run.connect_pending = run.nsess;
	client_phase_timer(&run, client_secs_ns(load->timeout) + 1000000000u);
	for (unsigned i = 0; i < run.nsess; i++)
		client_send(&run.sess[i], BENCH_REQ_CONNECT, bench_now_ns(), false);
	client_advance(&run);
	if (run.phase != PH_END)
		event_base_dispatch(base);

	if (run.open_loop || load->requests > 0)
		res->elapsed = run.last_done > run.t0 ? (double)(run.last_done - run.t0) / 1e9 : 0;
	else
		res->elapsed = run.last_done > run.t0 && run.t0 != 0
		                       ? (double)(run.last_done - run.t0) / 1e9
		                       : 0;
	res->rps = res->elapsed > 0 ? (double)res->ok / res->elapsed : 0;
	rc = res->sessions_connected == 0 ? -1 : 0;
out:
	if (run.sigint != NULL) {
		evsignal_del(run.sigint);
		event_free(run.sigint);
	}
	if (run.phase_timer != NULL)
		event_free(run.phase_timer);
	if (run.sched_timer != NULL)
		event_free(run.sched_timer);
	if (run.sess != NULL) {
		for (unsigned i = 0; i < run.nsess; i++) {
			client_close(&run.sess[i]);
			if (run.sess[i].pending != NULL)
				evbuffer_free(run.sess[i].pending);
			if (run.sess[i].backoff != NULL)
				event_free(run.sess[i].backoff);
			bench_http_rsp_deinit(&run.sess[i].rsp);
		}
	}
	/* Let the loop finalize the freed bufferevents (and free their SSL objects). */
	event_base_loop(base, EVLOOP_NONBLOCK);
	free(run.sess);
	free(run.idle);
	free(run.q);
	return rc;
}
