/*
 * listen.c: the daemon's listening sockets (include/mbx/daemon.h "listeners", mbxstored.conf(5)
 * [listen] and [limits]): one HTTP server of ours (include/mbx/httpd.h) per address of `https`
 * with TLS through bufferevent_openssl, one for `plain_http` (loopback only), and one evhttp for
 * `metrics` (loopback only) that serves GET /metrics in the Prometheus text format.
 *
 * Sockets are made here so that every address of a host name is bound, loopback is checked on
 * the addresses actually bound, and the listening socket carries TCP_NODELAY; the server sets
 * it again on every accepted socket (conventions.md "The event loop is sacred": without it a
 * TLS answer on a reused connection stalls about 40 ms).
 *
 * Connection limit: the servers report every connection they open and close (their conn
 * callback), TLS and plain_http alike. At max_connections every MAPI listener stops accepting
 * (clients wait in the kernel's queue) until one closes.
 */
#include "mbx/daemon.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "mbx/config.h"
#include "mbx/httpd.h"
#include "mbx/log.h"
#include "mbx/metrics.h"

#define LISTEN_MAX_SOCKS 8        /* addresses bound for one configured address */
#define LISTEN_BACKLOG 511
#define LISTEN_HEADERS_MAX 65536  /* bytes of request line and headers */
/* Room over max_body_bytes that the server reads before refusing a body with a bare 413, so
 * that the front end sees a body somewhat too large and answers it with X-ResponseCode 9. */
#define LISTEN_BODY_SLACK 65536

enum listen_kind { LISTEN_HTTPS, LISTEN_PLAIN, LISTEN_METRICS };

struct listen_http {
	struct mbx_listeners *l;
	struct mbx_httpd *hd; /* https, plain_http */
	struct evhttp *http;  /* metrics */
	enum listen_kind kind;
	char name[300]; /* "https 127.0.0.1:8443", for logs */
	struct evhttp_bound_socket *socks[LISTEN_MAX_SOCKS]; /* metrics */
	size_t nsocks;
};

struct mbx_listeners {
	struct event_base *base;
	struct mbx_tls *tls;
	struct mbx_metrics *metrics;
	struct listen_http **https; /* nhttps, then plain when set */
	size_t nhttps, nmapi;
	struct listen_http *mx;
	size_t conns; /* open on the MAPI listeners */
	unsigned max_conns;
	bool paused, stopped;
};

/* --- connection accounting ------------------------------------------------------------------ */

static void listen_pause(struct mbx_listeners *l, bool pause)
{
	if (l->paused == pause || (l->stopped && !pause))
		return;
	for (size_t i = 0; i < l->nmapi; i++)
		if (l->https[i] != NULL && l->https[i]->hd != NULL)
			mbx_httpd_pause(l->https[i]->hd, pause);
	l->paused = pause;
	if (pause)
		mbx_log(MBX_LOG_WARNING,
			"listen: %zu connections open (max_connections): not accepting until "
			"one closes",
			l->conns);
	else
		mbx_log(MBX_LOG_NOTICE, "listen: accepting connections again");
}

/* A server opened (+1) or closed (-1) a connection. */
static void listen_conn_cb(void *arg, int delta)
{
	struct listen_http *lh = arg;
	struct mbx_listeners *l = lh->l;

	if (delta > 0) {
		l->conns++;
		if (l->conns >= l->max_conns)
			listen_pause(l, true);
	} else if (l->conns > 0) {
		l->conns--;
		if (l->paused && l->conns < l->max_conns)
			listen_pause(l, false);
	}
}

/* A new TLS connection: its bufferevent_openssl (NULL refuses it; the server closes fd). */
static struct bufferevent *listen_bevcb(struct event_base *base, evutil_socket_t fd, void *arg)
{
	struct listen_http *lh = arg;
	struct bufferevent *bev;
	SSL *ssl = mbx_tls_ssl_new(lh->l->tls);

	if (ssl == NULL) {
		mbx_log(MBX_LOG_ERROR, "%s: cannot set up TLS for a new connection", lh->name);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* Not SSL_free(ssl): with BEV_OPT_CLOSE_ON_FREE, libevent 2.1.12 frees the SSL object
		 * itself when it fails after taking it (older 2.1 releases through the bufferevent's
		 * destructor). At worst, on an allocation failure before that, it leaks. */
		mbx_log(MBX_LOG_ERROR, "%s: cannot set up TLS for a new connection", lh->name);
		return NULL;
	}
	/* Clients often close without close_notify; that is the end of the connection, not an
	 * error worth a log line. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* --- /metrics ------------------------------------------------------------------------------- */

static void listen_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct listen_http *lh = arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char *text;
	size_t len;

	if (mbx_metrics_render(lh->l->metrics, &text, &len) != 0) {
		evhttp_send_error(req, HTTP_INTERNAL, "cannot render the metrics");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(out, text, len);
	free(text);
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

/* --- binding -------------------------------------------------------------------------------- */

static bool listen_sa_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
	}
	return false;
}

static int listen_socket(const struct addrinfo *ai, char *err, size_t errsize)
{
	int fd, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		snprintf(err, errsize, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(err, errsize, "bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(err, errsize, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void listen_limits(struct listen_http *lh, const struct mbx_config *cfg)
{
	struct mbx_httpd_limits lim = {
		.timeout_seconds = cfg->limits.request_timeout_seconds,
		.max_head_bytes = LISTEN_HEADERS_MAX,
		.max_body_bytes = (size_t)cfg->limits.max_body_bytes + LISTEN_BODY_SLACK,
	};

	if (lh->kind != LISTEN_METRICS) {
		mbx_httpd_set_limits(lh->hd, &lim);
		return;
	}
	evhttp_set_timeout(lh->http, (int)cfg->limits.request_timeout_seconds);
	evhttp_set_max_headers_size(lh->http, LISTEN_HEADERS_MAX);
	evhttp_set_max_body_size(lh->http, 0);
}

static struct listen_http *listen_http_new(struct mbx_listeners *l, enum listen_kind kind,
					   const char *what, const struct mbx_config_addr *addr,
					   const struct mbx_config *cfg, char *err, size_t errsize)
{
	struct listen_http *lh = calloc(1, sizeof(*lh));
	struct addrinfo hints, *res = NULL;
	char port[8], a[300], why[256];
	int rc;

	if (lh == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	lh->l = l;
	lh->kind = kind;
	snprintf(lh->name, sizeof(lh->name), "%s %s", what,
		 mbx_config_addr_format(addr, a, sizeof(a)));
	if (kind == LISTEN_METRICS)
		lh->http = evhttp_new(l->base);
	else
		lh->hd = mbx_httpd_new(l->base, NULL);
	if (lh->http == NULL && lh->hd == NULL) {
		snprintf(err, errsize, "%s: out of memory", lh->name);
		goto fail;
	}
	listen_limits(lh, cfg);
	if (kind == LISTEN_HTTPS)
		mbx_httpd_set_bevcb(lh->hd, listen_bevcb, lh);
	if (kind != LISTEN_METRICS)
		mbx_httpd_set_conncb(lh->hd, listen_conn_cb, lh);
	if (kind == LISTEN_METRICS) {
		evhttp_set_allowed_methods(lh->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
		if (evhttp_set_cb(lh->http, "/metrics", listen_metrics_cb, lh) != 0) {
			snprintf(err, errsize, "%s: out of memory", lh->name);
			goto fail;
		}
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = addr->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE |
			 (addr->family != AF_UNSPEC ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
	rc = getaddrinfo(addr->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errsize, "%s: cannot resolve %s: %s", lh->name, addr->host,
			 gai_strerror(rc));
		goto fail;
	}
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (lh->nsocks == LISTEN_MAX_SOCKS)
			break;
		if (kind != LISTEN_HTTPS && !listen_sa_loopback(ai->ai_addr)) {
			snprintf(err, errsize, "%s: %s resolves to an address that is not loopback",
				 lh->name, addr->host);
			goto fail;
		}
		fd = listen_socket(ai, why, sizeof(why));
		if (fd < 0) {
			snprintf(err, errsize, "%s: %s", lh->name, why);
			goto fail;
		}
		if (lh->hd != NULL) {
			if (mbx_httpd_listen_fd(lh->hd, fd) != 0) {
				snprintf(err, errsize, "%s: cannot listen", lh->name);
				close(fd);
				goto fail;
			}
		} else {
			lh->socks[lh->nsocks] = evhttp_accept_socket_with_handle(lh->http, fd);
			if (lh->socks[lh->nsocks] == NULL) {
				snprintf(err, errsize, "%s: cannot listen", lh->name);
				close(fd);
				goto fail;
			}
		}
		lh->nsocks++;
	}
	if (lh->nsocks == 0) {
		snprintf(err, errsize, "%s: no IPv4 or IPv6 address to bind", lh->name);
		goto fail;
	}
	freeaddrinfo(res);
	mbx_log(MBX_LOG_INFO, "listen: %s (%zu socket%s)", lh->name, lh->nsocks,
		lh->nsocks == 1 ? "" : "s");
	return lh;
fail:
	if (res != NULL)
		freeaddrinfo(res);
	if (lh->http != NULL)
		evhttp_free(lh->http);
	mbx_httpd_free(&lh->hd);
	free(lh);
	return NULL;
}

static void listen_http_free(struct listen_http *lh)
{
	if (lh == NULL)
		return;
	if (lh->http != NULL)
		evhttp_free(lh->http);
	mbx_httpd_free(&lh->hd);
	free(lh);
}

/* --- the listeners -------------------------------------------------------------------------- */

struct mbx_listeners *mbx_listen_new(const struct mbx_listen_config *lc, char *err,
				     size_t errsize)
{
	const struct mbx_config *cfg = lc->cfg;
	struct mbx_listeners *l;

	if (cfg->listen.nhttps > 0 && lc->tls == NULL) {
		snprintf(err, errsize, "https listeners need a TLS context");
		return NULL;
	}
	if (cfg->listen.metrics.set && lc->metrics == NULL) {
		snprintf(err, errsize, "the metrics listener needs the metrics");
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		goto oom;
	l->base = lc->base;
	l->tls = lc->tls;
	l->metrics = lc->metrics;
	l->max_conns = cfg->limits.max_connections;
	l->https = calloc(cfg->listen.nhttps + 1, sizeof(*l->https));
	if (l->https == NULL)
		goto oom;
	for (size_t i = 0; i < cfg->listen.nhttps; i++) {
		l->https[i] = listen_http_new(l, LISTEN_HTTPS, "https", &cfg->listen.https[i], cfg,
					      err, errsize);
		if (l->https[i] == NULL)
			goto fail;
		l->nhttps = l->nmapi = i + 1;
	}
	if (cfg->listen.plain_http.set) {
		if (!mbx_config_addr_is_loopback(&cfg->listen.plain_http)) {
			snprintf(err, errsize, "plain_http must be a loopback address");
			goto fail;
		}
		l->https[l->nhttps] = listen_http_new(l, LISTEN_PLAIN, "plain_http",
						      &cfg->listen.plain_http, cfg, err, errsize);
		if (l->https[l->nhttps] == NULL)
			goto fail;
		l->nmapi = l->nhttps + 1;
	}
	if (cfg->listen.metrics.set) {
		if (!mbx_config_addr_is_loopback(&cfg->listen.metrics)) {
			snprintf(err, errsize, "metrics must be a loopback address");
			goto fail;
		}
		l->mx = listen_http_new(l, LISTEN_METRICS, "metrics", &cfg->listen.metrics, cfg, err,
					errsize);
		if (l->mx == NULL)
			goto fail;
	}
	return l;
oom:
	snprintf(err, errsize, "out of memory");
fail:
	mbx_listen_free(&l);
	return NULL;
}

size_t mbx_listen_count(const struct mbx_listeners *l)
{
	return l->nmapi;
}

struct mbx_httpd *mbx_listen_httpd(const struct mbx_listeners *l, size_t i, bool *tls_r)
{
	if (i >= l->nmapi)
		return NULL;
	*tls_r = l->https[i]->kind == LISTEN_HTTPS;
	return l->https[i]->hd;
}

void mbx_listen_reconfigure(struct mbx_listeners *l, const struct mbx_config *cfg)
{
	for (size_t i = 0; i < l->nmapi; i++)
		listen_limits(l->https[i], cfg);
	if (l->mx != NULL)
		listen_limits(l->mx, cfg);
	l->max_conns = cfg->limits.max_connections;
	listen_pause(l, l->conns >= l->max_conns);
}

void mbx_listen_stop(struct mbx_listeners *l)
{
	if (l->stopped)
		return;
	l->stopped = true;
	for (size_t i = 0; i < l->nmapi; i++)
		mbx_httpd_unlisten(l->https[i]->hd);
	if (l->mx != NULL) {
		for (size_t s = 0; s < l->mx->nsocks; s++)
			evhttp_del_accept_socket(l->mx->http, l->mx->socks[s]);
		l->mx->nsocks = 0;
	}
}

size_t mbx_listen_connections(const struct mbx_listeners *l)
{
	return l->conns;
}

void mbx_listen_free(struct mbx_listeners **lp)
{
	struct mbx_listeners *l;

	if (lp == NULL || *lp == NULL)
		return;
	l = *lp;
	/* Connections closing now must not resume accepting on servers already freed. */
	l->stopped = true;
	if (l->https != NULL) {
		size_t n = l->nmapi > l->nhttps ? l->nmapi : l->nhttps;

		for (size_t i = 0; i < n; i++)
			listen_http_free(l->https[i]);
		free(l->https);
	}
	listen_http_free(l->mx);
	free(l);
	*lp = NULL;
}
