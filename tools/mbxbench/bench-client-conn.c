/*
 * bench-client-conn.c: the connections of mbxbench(1)'s session contexts (bench-client.c):
 * one keep-alive HTTP/1.1 connection each, plain or TLS through bufferevent_openssl (as a
 * filter on the connected socket), opened again after the server closes it; the bytes of a
 * response go to the HTTP parser (bench-http.c), and the end of a response, a timeout or a
 * connection or TLS error go back to the session (client_complete, client_io_fail).
 */
#include "bench-client-int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

void client_conn_close(struct client_sess *s)
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
void client_conn_write(struct client_sess *s, const void *data, size_t len)
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

static const char *client_conn_ssl_error(struct bufferevent *bev, char *buf, size_t size)
{
	unsigned long e;

	buf[0] = '\0';
	if (bev != NULL && (e = bufferevent_get_openssl_error(bev)) != 0)
		ERR_error_string_n(e, buf, size);
	else if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, buf, size);
	return buf;
}

static void client_conn_read_cb(struct bufferevent *bev, void *arg);
static void client_conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* TLS goes on top of a connected socket bufferevent (a filter), not on the socket itself:
 * bufferevent_openssl on a socket reads each TLS record with two read(2) calls (header, then
 * body), and a response comes as several records; the filter reads whole socket buffers. */
static void client_conn_tcp_event_cb(struct bufferevent *tcp, short what, void *arg)
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
		client_conn_event_cb(tcp, what, arg);
		return;
	}
	ssl = SSL_new(t->ssl);
	if (ssl == NULL) {
		client_conn_event_cb(tcp, BEV_EVENT_ERROR, arg);
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
		client_conn_event_cb(tcp, BEV_EVENT_ERROR, arg);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	s->bev = bev;
	s->tcp_only = false;
	bufferevent_setcb(bev, client_conn_read_cb, NULL, client_conn_event_cb, s);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (s->pending != NULL && evbuffer_get_length(s->pending) > 0)
		bufferevent_write_buffer(bev, s->pending);
}

int client_conn_open(struct client_sess *s)
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
		bufferevent_setcb(bev, NULL, NULL, client_conn_tcp_event_cb, s);
	else
		bufferevent_setcb(bev, client_conn_read_cb, NULL, client_conn_event_cb, s);
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

static void client_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct client_sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	if (s->state != SESS_BUSY) {
		client_fail(s->run, "proto:unsolicited", "bytes from the server with no request");
		client_conn_close(s);
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

static void client_conn_event_cb(struct bufferevent *bev, short what, void *arg)
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
		client_conn_close(s);
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
	client_conn_ssl_error(bev, ssl, sizeof(ssl));
	if (ssl[0] != '\0') {
		snprintf(buf, sizeof(buf), "TLS with %.120s: %.120s", run->t->hostport, ssl);
		client_io_fail(s, s->conn_up ? "tls:error" : "tls:handshake", buf);
	} else {
		snprintf(buf, sizeof(buf), "%s %.120s: %.80s", s->conn_up ? "connection to" : "connect to",
		         run->t->hostport, err != 0 ? strerror(err) : "connection error");
		client_io_fail(s, s->conn_up ? "io:error" : "io:connect", buf);
	}
}
