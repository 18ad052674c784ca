/*
 * httpd.c: mbxstore's HTTP/1.1 server (include/mbx/httpd.h; RFC 9112 message framing, 9.3
 * persistence and pipelining, 9.6 tear-down with a lingering close): listening sockets,
 * connections and their states, reading request heads and bodies off the bufferevents, the
 * request deadline. The syntax is http-parse.c's; the answers are httpd-reply.c's.
 *
 * A connection goes HEAD -> [BODY] -> HANDLED -> WRITING -> HEAD (keep-alive) or LINGER; a
 * refused request goes to REFUSED (error answer queued, input dropped) then LINGER. Pipelined
 * bytes wait in the input buffer and are parsed from the write callback once the previous
 * answer has drained, never recursively from the handler.
 */
#include "mapihttp/httpd-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "mbx/log.h"
#include "mbx/textfmt.h"

static const struct mbx_httpd_limits httpd_defaults = {
	.timeout_seconds = 60,
	.max_head_bytes = 65536,
	.max_body_bytes = 0,
};

static void conn_process(struct httpd_conn *c);

/* ---- the server ------------------------------------------------------------------------- */

static void httpd_apply_limits(struct mbx_httpd *h, const struct mbx_httpd_limits *lim)
{
	struct timeval tv = {0, 0};

	h->lim = lim != NULL ? *lim : httpd_defaults;
	if (h->lim.timeout_seconds == 0)
		h->lim.timeout_seconds = httpd_defaults.timeout_seconds;
	if (h->lim.max_head_bytes == 0)
		h->lim.max_head_bytes = httpd_defaults.max_head_bytes;
	tv.tv_sec = (time_t)h->lim.timeout_seconds;
	/* A common timeout makes adding and removing the per-request timer O(1). */
	h->req_tv = event_base_init_common_timeout(h->base, &tv);
}

struct mbx_httpd *mbx_httpd_new(struct event_base *base, const struct mbx_httpd_limits *lim)
{
	struct mbx_httpd *h = calloc(1, sizeof(*h));
	struct timeval linger = {HTTPD_LINGER_SECONDS, 0};

	if (h == NULL)
		return NULL;
	h->base = base;
	h->date_sec = -1;
	httpd_apply_limits(h, lim);
	h->linger_tv = event_base_init_common_timeout(base, &linger);
	if (h->req_tv == NULL || h->linger_tv == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void mbx_httpd_free(struct mbx_httpd **hp)
{
	struct mbx_httpd *h;

	if (hp == NULL || *hp == NULL)
		return;
	h = *hp;
	*hp = NULL;
	mbx_httpd_unlisten(h);
	if (h->backoff != NULL)
		event_free(h->backoff);
	while (h->conns != NULL)
		httpd_conn_free(h->conns);
	free(h);
}

void mbx_httpd_set_limits(struct mbx_httpd *h, const struct mbx_httpd_limits *lim)
{
	const struct timeval *tv;
	struct mbx_httpd_limits old = h->lim;

	tv = h->req_tv;
	httpd_apply_limits(h, lim);
	if (h->req_tv == NULL) { /* out of memory in libevent: keep the old limits */
		h->lim = old;
		h->req_tv = tv;
		mbx_log(MBX_LOG_ERROR, "http: cannot set a request timeout of %u s",
		        lim != NULL ? lim->timeout_seconds : 0);
	}
}

void mbx_httpd_set_max_body(struct mbx_httpd *h, size_t max_body_bytes)
{
	h->lim.max_body_bytes = max_body_bytes;
}

void mbx_httpd_set_cb(struct mbx_httpd *h, mbx_httpd_req_fn *fn, void *arg)
{
	h->req_fn = fn;
	h->req_arg = arg;
}

void mbx_httpd_set_bevcb(struct mbx_httpd *h, mbx_httpd_bev_fn *fn, void *arg)
{
	h->bev_fn = fn;
	h->bev_arg = arg;
}

void mbx_httpd_set_conncb(struct mbx_httpd *h, mbx_httpd_conn_fn *fn, void *arg)
{
	h->conn_fn = fn;
	h->conn_arg = arg;
}

size_t mbx_httpd_connections(const struct mbx_httpd *h)
{
	return h->nconns;
}

/* The "Date" value (RFC 9110 5.6.7 IMF-fixdate), formatted by hand once per second. */
const char *httpd_date(struct mbx_httpd *h)
{
	struct timeval tv;

	if (event_base_gettimeofday_cached(h->base, &tv) != 0)
		gettimeofday(&tv, NULL);
	if ((int64_t)tv.tv_sec == h->date_sec)
		return h->date;
	if (mbx_fmt_http_date(tv.tv_sec, h->date) != 0)
		memcpy(h->date, "Mon, 01 Jan 1900 00:00:00 GMT", HTTPD_DATE_LEN); /* no sane clock */
	h->date[HTTPD_DATE_LEN] = '\0';
	h->date_sec = (int64_t)tv.tv_sec;
	return h->date;
}

/* ---- listening --------------------------------------------------------------------------- */

static void httpd_listeners_update(struct mbx_httpd *h)
{
	for (size_t i = 0; i < h->nlisteners; i++) {
		if (h->paused || h->backing_off)
			evconnlistener_disable(h->listeners[i]);
		else
			evconnlistener_enable(h->listeners[i]);
	}
}

static void httpd_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mbx_httpd *h = arg;

	(void)fd;
	(void)what;
	h->backing_off = false;
	httpd_listeners_update(h);
}

/* accept() failed for a reason that will not go away by retrying at once (EMFILE, ENFILE,
 * ENOBUFS...): the listening socket stays readable, so stop accepting for a second rather
 * than spin. */
static void httpd_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct mbx_httpd *h = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {1, 0};

	(void)l;
	if (h->backing_off)
		return;
	mbx_log(MBX_LOG_ERROR, "http: accept failed: %s; not accepting for 1 s",
	        evutil_socket_error_to_string(err));
	if (h->backoff == NULL)
		h->backoff = evtimer_new(h->base, httpd_backoff_cb, h);
	if (h->backoff == NULL || evtimer_add(h->backoff, &tv) != 0)
		return;
	h->backing_off = true;
	httpd_listeners_update(h);
}

static int conn_start(struct mbx_httpd *h, evutil_socket_t fd, const struct sockaddr *sa,
                      socklen_t salen);

static void httpd_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                            int salen, void *arg)
{
	(void)l;
	conn_start(arg, fd, sa, salen > 0 ? (socklen_t)salen : 0);
}

int mbx_httpd_listen_fd(struct mbx_httpd *h, evutil_socket_t fd)
{
	struct evconnlistener *l;

	if (h->nlisteners >= HTTPD_MAX_LISTENERS) {
		mbx_log(MBX_LOG_ERROR, "http: more than %d listening sockets", HTTPD_MAX_LISTENERS);
		return -1;
	}
	/* backlog 0: fd is listening already, keep its backlog */
	l = evconnlistener_new(h->base, httpd_accept_cb, h,
	                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l == NULL) {
		mbx_log(MBX_LOG_ERROR, "http: cannot listen on socket %d", (int)fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, httpd_accept_error_cb);
	h->listeners[h->nlisteners++] = l;
	if (h->paused || h->backing_off)
		evconnlistener_disable(l);
	return 0;
}

int mbx_httpd_bind(struct mbx_httpd *h, const char *addr, uint16_t port, uint16_t *port_r)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		mbx_log(MBX_LOG_ERROR, "http: cannot listen on \"%s\": not a numeric address", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mbx_log(MBX_LOG_ERROR, "http: socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		mbx_log(MBX_LOG_ERROR, "http: cannot listen on %s port %u: %s", addr, port,
		        strerror(errno));
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		mbx_log(MBX_LOG_ERROR, "http: getsockname: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (mbx_httpd_listen_fd(h, fd) != 0) {
		close(fd);
		return -1;
	}
	if (port_r != NULL)
		*port_r = ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return 0;
}

void mbx_httpd_pause(struct mbx_httpd *h, bool pause)
{
	h->paused = pause;
	httpd_listeners_update(h);
}

void mbx_httpd_unlisten(struct mbx_httpd *h)
{
	for (size_t i = 0; i < h->nlisteners; i++)
		evconnlistener_free(h->listeners[i]); /* closes the socket: new clients refused */
	h->nlisteners = 0;
	if (h->backoff != NULL)
		evtimer_del(h->backoff);
	h->backing_off = false;
}

/* ---- connections ------------------------------------------------------------------------- */

static void peer_format(const struct sockaddr_storage *ss, socklen_t len, char *out)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	size_t n;
	char *p;

	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		if (inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr)) == NULL)
			goto unknown;
		port = ntohs(sin->sin_port);
		n = strlen(addr);
		memcpy(out, addr, n);
		p = out + n;
	} else if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr)) == NULL)
			goto unknown;
		port = ntohs(sin6->sin6_port);
		n = strlen(addr);
		out[0] = '[';
		memcpy(out + 1, addr, n);
		out[n + 1] = ']';
		p = out + n + 2;
	} else {
		goto unknown;
	}
	/* ":port", at most 5 digits */
	{
		char digits[5];
		size_t k = 0;

		do {
			digits[k++] = (char)('0' + port % 10);
			port /= 10;
		} while (port != 0 && k < sizeof(digits));
		*p++ = ':';
		while (k > 0)
			*p++ = digits[--k];
		*p = '\0';
	}
	return;
unknown:
	memcpy(out, "-", 2);
}

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);

/* The server's limits, for the request about to start. */
void httpd_conn_limits(struct httpd_conn *c)
{
	c->lim = c->h->lim;
}

/*
 * What is read ahead while the connection does not consume its input (an answer being written,
 * a request with the handler: pipelining) is bounded: reading stops once the input holds
 * max_head_bytes + HTTPD_READ_AHEAD, and resumes when the next request is read (conn_ready).
 * Not a read high-water mark: on a bufferevent_openssl the mark can cut a TLS record, whose
 * rest then stays inside OpenSSL, and libevent 2.1 runs the read callback again and again
 * without reading (the loop spins) and, once reading resumes, waits for the socket, not for
 * those bytes. Stopping from our read callback happens after a whole read pass, with nothing
 * left pending in OpenSSL.
 */
static bool conn_read_full(struct httpd_conn *c)
{
	return evbuffer_get_length(bufferevent_get_input(c->bev)) >=
	       c->lim.max_head_bytes + HTTPD_READ_AHEAD;
}

void httpd_conn_read_resume(struct httpd_conn *c)
{
	if (!c->peer_eof && !conn_read_full(c))
		bufferevent_enable(c->bev, EV_READ);
}

static void conn_read_bound(struct httpd_conn *c)
{
	if ((c->state == HTTPD_WRITING || c->state == HTTPD_HANDLED) && conn_read_full(c))
		bufferevent_disable(c->bev, EV_READ);
}

static int64_t httpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* a vDSO read: cheap enough per request */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connection is ready for a request (accepted, or the previous answer is written). The
 * request deadline is lazy: setting it is a store, and the timer (a common timeout, armed when
 * not pending) that fires before it is set again for what is left (conn_timer_cb). So a
 * request costs no timer operation at all on a busy keep-alive connection. */
static void conn_ready(struct httpd_conn *c)
{
	c->state = HTTPD_HEAD;
	c->scan = 0;
	httpd_conn_limits(c);
	c->deadline = httpd_now_ms() + (int64_t)c->lim.timeout_seconds * 1000;
	if (c->req_tv != c->h->req_tv || !evtimer_pending(c->timer, NULL)) {
		c->req_tv = c->h->req_tv; /* new limits: the pending one may fire too late */
		evtimer_add(c->timer, c->req_tv);
	}
	if (!c->peer_eof && (bufferevent_get_enabled(c->bev) & EV_READ) == 0)
		bufferevent_enable(c->bev, EV_READ);
}

static int conn_start(struct mbx_httpd *h, evutil_socket_t fd, const struct sockaddr *sa,
                      socklen_t salen)
{
	struct httpd_conn *c;
	struct timeval wtv = {(time_t)h->lim.timeout_seconds, 0};
	int one = 1;

	/* errors ignored: AF_UNIX socketpairs have no Nagle */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		mbx_log(MBX_LOG_ERROR, "http: out of memory for a connection");
		evutil_closesocket(fd);
		return -1;
	}
	c->h = h;
	if (sa != NULL && salen > 0) {
		c->peerlen = salen < sizeof(c->peer) ? salen : (socklen_t)sizeof(c->peer);
		memcpy(&c->peer, sa, c->peerlen);
	} else {
		c->peer.ss_family = AF_UNSPEC;
	}
	peer_format(&c->peer, c->peerlen, c->peer_name);
	if (h->bev_fn != NULL)
		c->bev = h->bev_fn(h->base, fd, h->bev_arg);
	else
		c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		mbx_log(MBX_LOG_NOTICE, "http: connection from %s refused: no bufferevent",
		        c->peer_name);
		evutil_closesocket(fd);
		free(c);
		return -1;
	}
	c->timer = evtimer_new(h->base, conn_timer_cb, c);
	if (c->timer == NULL) {
		mbx_log(MBX_LOG_ERROR, "http: out of memory for a connection");
		bufferevent_free(c->bev);
		free(c);
		return -1;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	/* a client that stops reading is dropped after timeout_seconds without progress */
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_enable(c->bev, EV_WRITE);
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	mbx_trace(MBX_TRACE_HTTP, "http: connection from %s", c->peer_name);
	conn_ready(c);
	if (h->conn_fn != NULL)
		h->conn_fn(h->conn_arg, +1);
	return 0;
}

int mbx_httpd_add_connection(struct mbx_httpd *h, evutil_socket_t fd, const struct sockaddr *peer,
                             socklen_t peerlen)
{
	if (evutil_make_socket_nonblocking(fd) != 0) {
		mbx_log(MBX_LOG_ERROR, "http: cannot make socket %d non-blocking", (int)fd);
		evutil_closesocket(fd);
		return -1;
	}
	return conn_start(h, fd, peer, peerlen);
}

/* Frees the connection: a request the handler holds is detached (its close callback runs
 * last). When one of our callbacks for it is still running, the struct itself is freed when
 * that callback returns (c->dead). */
void httpd_conn_free(struct httpd_conn *c)
{
	struct mbx_httpd *h = c->h;
	struct mbx_http_req *req = c->req;

	if (c->dead)
		return;
	c->dead = true;
	c->req = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	if (c->flush != NULL)
		event_free(c->flush);
	c->flush = NULL;
	if (c->stage != NULL)
		evbuffer_free(c->stage);
	c->stage = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	mbx_trace(MBX_TRACE_HTTP, "http: connection from %s closed", c->peer_name);
	if (h->conn_fn != NULL)
		h->conn_fn(h->conn_arg, -1);
	if (req != NULL) {
		if (req->phase == HTTPD_REQ_READING) {
			req->conn = NULL;
			httpd_req_free(req);
		} else {
			httpd_req_detach(req);
		}
	}
	if (c->busy == 0)
		free(c);
}

static void conn_release(struct httpd_conn *c)
{
	if (--c->busy == 0 && c->dead)
		free(c);
}

/* Starts the lingering close (RFC 9112 9.6): no more writing, the input is read and dropped
 * until the client closes or 2 s pass, so that it sees the answer rather than a reset. */
static void conn_linger(struct httpd_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev); /* NULL when not TLS */

	c->state = HTTPD_LINGER;
	if (ssl != NULL)
		(void)SSL_shutdown(ssl); /* close_notify (RFC 9112 9.8): a clean end, not a cut */
	if (fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->bev),
	               evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	c->deadline = httpd_now_ms() + HTTPD_LINGER_SECONDS * 1000;
	evtimer_add(c->timer, c->h->linger_tv);
}

/* The whole answer has been written. */
static void conn_written(struct httpd_conn *c)
{
	if (c->close_after || c->state == HTTPD_REFUSED) {
		conn_linger(c);
		return;
	}
	conn_ready(c);
	conn_process(c); /* pipelined requests already buffered */
	/* the client half-closed: once what it sent is answered, nothing more can come */
	if (!c->dead && c->peer_eof && (c->state == HTTPD_HEAD || c->state == HTTPD_BODY))
		httpd_conn_free(c);
}

void httpd_conn_answered(struct httpd_conn *c, bool close)
{
	c->close_after = close;
	c->state = HTTPD_WRITING;
}

static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;
	struct evbuffer *out;

	(void)fd;
	(void)what;
	if (c->stage == NULL || c->bev == NULL)
		return;
	out = bufferevent_get_output(c->bev);
	c->busy++;
	if (evbuffer_get_length(c->stage) > 0 && evbuffer_add_buffer(out, c->stage) != 0) {
		mbx_log(MBX_LOG_ERROR, "http: out of memory answering %s", c->peer_name);
		httpd_conn_free(c);
	} else if (c->state == HTTPD_WRITING && evbuffer_get_length(out) == 0) {
		conn_written(c); /* nothing was left to write: no write callback will come */
	}
	conn_release(c);
}

void httpd_conn_schedule_flush(struct httpd_conn *c)
{
	if (c->flush == NULL) {
		c->flush = event_new(c->h->base, -1, 0, conn_flush_cb, c);
		if (c->flush == NULL) {
			/* cannot defer: move the bytes now (one more write, same bytes) */
			conn_flush_cb(-1, 0, c);
			return;
		}
	}
	if (!event_pending(c->flush, EV_TIMEOUT, NULL))
		event_active(c->flush, EV_TIMEOUT, 1);
}

/* ---- refusing a request ------------------------------------------------------------------ */

void httpd_conn_refuse(struct httpd_conn *c, int status, const char *why)
{
	struct mbx_http_req *req = c->req;

	mbx_log(MBX_LOG_INFO, "http: request from %s refused with %d %s: %s", c->peer_name, status,
	        httpd_reason(status), why);
	if (req != NULL) {
		c->req = NULL;
		req->conn = NULL;
		httpd_req_free(req);
	}
	c->deadline = 0; /* the write timeout covers the answer; then the lingering close */
	/* drop what came so far, and whatever comes while the answer is written */
	evbuffer_drain(bufferevent_get_input(c->bev),
	               evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_READ);
	c->state = HTTPD_REFUSED;
	c->close_after = true;
	if (httpd_write_error(c, status) != 0)
		httpd_conn_free(c);
}


/* A complete request goes to the handler; reading stops until it is answered. */
static void conn_dispatch(struct httpd_conn *c)
{
	struct mbx_httpd *h = c->h;
	struct mbx_http_req *req = c->req;

	c->deadline = 0; /* the timer, if it fires while the request is handled, does nothing */
	c->state = HTTPD_HANDLED;
	req->phase = HTTPD_REQ_HELD;
	mbx_trace(MBX_TRACE_HTTP, "http: %s %s from %s", req->head.method_name, req->head.target,
	          c->peer_name);
	if (h->req_fn != NULL)
		h->req_fn(req, h->req_arg);
	else
		mbx_http_reply(req, 404, NULL, NULL, 0);
	/* Held: reading stops until the answer is written (a streamed one: see reply_start). An
	 * answer given at once leaves EV_READ on (two epoll_ctl calls fewer per request): what
	 * comes while it is written waits in the input (bounded by the read high-water mark), and
	 * an EOF then only means the close after the answer (conn_event_cb). */
	if (!c->dead && c->state == HTTPD_HANDLED && c->req != NULL &&
	    c->req->phase == HTTPD_REQ_HELD)
		bufferevent_disable(c->bev, EV_READ);
}

/* Reads requests from the input while the connection is reading; c->busy is held. */
static void conn_process(struct httpd_conn *c)
{
	struct evbuffer *in;
	int r;

	while (!c->dead && (c->state == HTTPD_HEAD || c->state == HTTPD_BODY)) {
		in = bufferevent_get_input(c->bev);
		if (c->state == HTTPD_HEAD)
			r = httpd_read_head(c, in);
		else
			r = httpd_read_body(c, in);
		if (r == HTTPD_READ_DONE)
			conn_dispatch(c);
		else if (r != HTTPD_READ_NEXT)
			break;
	}
	if (!c->dead)
		conn_read_bound(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == HTTPD_LINGER || c->state == HTTPD_REFUSED) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	c->busy++;
	conn_process(c);
	conn_release(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	if (c->state != HTTPD_WRITING && c->state != HTTPD_REFUSED)
		return;
	if (c->stage != NULL && evbuffer_get_length(c->stage) > 0)
		return; /* the flush callback moves the rest first */
	c->busy++;
	conn_written(c);
	conn_release(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && (c->state == HTTPD_REFUSED || c->state == HTTPD_WRITING)) {
		/* a client that half-closed still gets the answer being written, and those to the
		 * requests it pipelined before; then the connection closes (conn_written) */
		c->peer_eof = true;
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (c->state != HTTPD_LINGER && c->state != HTTPD_HEAD)
		mbx_trace(MBX_TRACE_HTTP, "http: connection from %s: %s", c->peer_name,
		          (what & BEV_EVENT_TIMEOUT) ? "write timed out"
		          : (what & BEV_EVENT_EOF)   ? "closed by the client"
		                                     : "error");
	c->busy++;
	httpd_conn_free(c);
	conn_release(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;
	int64_t now = httpd_now_ms();

	(void)fd;
	(void)what;
	if (c->deadline == 0)
		return;
	if (now < c->deadline) {
		int64_t left = c->deadline - now;
		struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000)};

		evtimer_add(c->timer, &tv);
		return;
	}
	c->busy++;
	if ((c->state == HTTPD_HEAD &&
	     evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) ||
	    c->state == HTTPD_BODY)
		httpd_conn_refuse(c, 408, "request not complete in time");
	else
		httpd_conn_free(c); /* idle, or lingering long enough */
	conn_release(c);
}
