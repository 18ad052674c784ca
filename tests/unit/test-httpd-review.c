/*
 * test-httpd-review.c: regression tests from the review of mbxstore's HTTP/1.1 server
 * (include/mbx/httpd.h, src/mapihttp/httpd*.c): each test is a problem found in review, checked
 * over real sockets (plain and TLS through bufferevent_openssl, as the daemon makes them) with
 * exact outcomes. test-httpd.c holds the server's main tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REVIEW_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REVIEW_ASAN 1
#endif
#ifdef REVIEW_ASAN
#include <sanitizer/allocator_interface.h>
#endif

#include "mbx-test.h"
#include "tls-fixture.h"
#include "mbx/httpd.h"
#include "mbx/log.h"

#define MAX_LOGS 32

struct fx {
	struct event_base *base;
	struct mbx_httpd *h;
	uint16_t port;
	int calls;
	int conns;
	int closecbs;
	bool huge_attached; /* after the chunk that cannot be added */
	struct mbx_http_req *held;
	char logs[MAX_LOGS][512];
	size_t nlogs;
	/* TLS */
	SSL_CTX *sctx, *cctx;
	SSL *ssl;
	int fd;
};

struct resp {
	char buf[1 << 18];
	size_t len;
	bool eof;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void step_break(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs the server's loop for about ms milliseconds (a timer ends it: also when a callback
 * of the server keeps an event active, which EVLOOP_NONBLOCK would never return from). */
static void step(struct event_base *base, int ms)
{
	struct timeval tv = {0, ms * 1000};
	struct event *ev = evtimer_new(base, step_break, base);

	assert_non_null(ev);
	evtimer_add(ev, &tv);
	event_base_loop(base, 0);
	event_free(ev);
}

#define PUMP_UNTIL(f, ms, cond)                                                                \
	do {                                                                                   \
		double end_ = now_ms() + (ms);                                                 \
		while (!(cond) && now_ms() < end_)                                             \
			step((f)->base, 2);                                                    \
	} while (0)

/* CPU time of the process, ms. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	struct fx *f = ctx;

	(void)level;
	if (f->nlogs < MAX_LOGS)
		snprintf(f->logs[f->nlogs++], sizeof(f->logs[0]), "%s", line);
}

static void conn_cb(void *arg, int delta)
{
	struct fx *f = arg;

	f->conns += delta;
}

static void close_cb(struct mbx_http_req *req, void *arg)
{
	struct fx *f = arg;

	assert_false(mbx_http_req_attached(req));
	f->closecbs++;
}

/* "/hold": a streamed answer started and held (reading resumes then); "/huge": a streamed
 * answer whose chunk cannot be added (the out-of-memory path), then more calls on the request
 * as a handler makes them; anything else: the target as the body. */
static void handler(struct mbx_http_req *req, void *arg)
{
	struct fx *f = arg;
	const char *t = mbx_http_req_target(req);

	f->calls++;
	if (strcmp(t, "/huge") == 0) {
		mbx_http_req_set_closecb(req, close_cb, f);
		mbx_http_reply_start(req, 200, NULL, 0);
		mbx_http_reply_chunk(req, "a", 1);
		/* a length no buffer can take: the answer cannot be completed */
		mbx_http_reply_chunk(req, "x", SIZE_MAX - 8);
		f->huge_attached = mbx_http_req_attached(req);
		mbx_http_reply_chunk(req, "b", 1); /* the request is still valid, detached */
		mbx_http_reply_end(req);
		return;
	}
	if (strcmp(t, "/hold") == 0) {
		mbx_http_reply_start(req, 200, NULL, 0);
		mbx_http_reply_chunk(req, "held", 4);
		f->held = req;
		return;
	}
	if (strcmp(t, "/echo") == 0) {
		size_t n;
		const uint8_t *b = mbx_http_req_body(req, &n);

		mbx_http_reply(req, 200, NULL, b, n);
		return;
	}
	mbx_http_reply(req, 200, NULL, t, strlen(t));
}

static struct fx *fx_new(const struct mbx_httpd_limits *lim)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fd = -1;
	f->base = event_base_new();
	assert_non_null(f->base);
	f->h = mbx_httpd_new(f->base, lim);
	assert_non_null(f->h);
	mbx_httpd_set_cb(f->h, handler, f);
	mbx_httpd_set_conncb(f->h, conn_cb, f);
	assert_int_equal(mbx_httpd_bind(f->h, "127.0.0.1", 0, &f->port), 0);
	mbx_log_set_hook(log_hook, f);
	return f;
}

static void fx_free(struct fx *f)
{
	if (f->ssl != NULL)
		SSL_free(f->ssl);
	if (f->fd >= 0)
		close(f->fd);
	mbx_httpd_free(&f->h);
	assert_int_equal(f->conns, 0);
	if (f->cctx != NULL)
		SSL_CTX_free(f->cctx);
	if (f->sctx != NULL)
		SSL_CTX_free(f->sctx);
	mbx_log_set_hook(NULL, NULL);
	event_base_free(f->base);
	free(f);
}

static const struct mbx_httpd_limits lim_default = {.timeout_seconds = 5,
                                                    .max_head_bytes = 4096,
                                                    .max_body_bytes = 1024};

static int cli_connect(struct fx *f)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* How many captured log lines hold s. */
static size_t logs_with(const struct fx *f, const char *s)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nlogs; i++)
		if (strstr(f->logs[i], s) != NULL)
			n++;
	return n;
}

/* How many times s occurs in r. */
static size_t count(const struct resp *r, const char *s)
{
	size_t n = 0;
	const char *p = r->buf;

	while ((p = strstr(p, s)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* ---- TLS ---------------------------------------------------------------------------------- */

static struct bufferevent *tls_bev(struct event_base *base, evutil_socket_t fd, void *arg)
{
	SSL *ssl = SSL_new(arg);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1); /* as the daemon */
	return bev;
}

static void tls_setup(struct fx *f)
{
	int fl;

	f->sctx = tls_fixture_server_ctx();
	mbx_httpd_set_bevcb(f->h, tls_bev, f->sctx);
	f->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(f->cctx);
	f->fd = cli_connect(f);
	fl = fcntl(f->fd, F_GETFL);
	assert_int_equal(fcntl(f->fd, F_SETFL, fl | O_NONBLOCK), 0);
	f->ssl = SSL_new(f->cctx);
	assert_non_null(f->ssl);
	SSL_set_fd(f->ssl, f->fd);
	for (double end = now_ms() + 3000;;) {
		int r = SSL_connect(f->ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(f->ssl, r);
		assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
		assert_true(now_ms() < end);
		step(f->base, 1);
	}
}

/* Writes all of data (running the server's loop while the socket is full). */
static void tls_send_n(struct fx *f, const char *data, size_t len)
{
	double end = now_ms() + 5000;

	while (len > 0) {
		int n = SSL_write(f->ssl, data, (int)len);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		assert_int_equal(SSL_get_error(f->ssl, n), SSL_ERROR_WANT_WRITE);
		assert_true(now_ms() < end);
		step(f->base, 1);
	}
}

/* Reads until r holds want bytes or ms pass. */
static void tls_recv(struct fx *f, struct resp *r, size_t want, int ms)
{
	double end = now_ms() + ms;

	while (now_ms() < end && !r->eof && r->len < want) {
		int n = SSL_read(f->ssl, r->buf + r->len, (int)(sizeof(r->buf) - 1 - r->len));

		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (SSL_get_error(f->ssl, n) != SSL_ERROR_WANT_READ) {
			r->eof = true;
			break;
		}
		step(f->base, 1);
	}
	r->buf[r->len] = '\0';
}

/*
 * Pipelined requests that arrive over TLS while a streamed answer is held (reading is on then)
 * and fill the read-ahead: every one of them is answered once the stream ends. With a read
 * high-water mark on a bufferevent_openssl, the rest of a TLS record cut by the mark stayed
 * inside OpenSSL (libevent only re-arms the socket when reading resumes): the requests in it
 * were never read, and libevent called the read callback again and again without reading
 * (the event loop spun at 100 % CPU until the answer ended or the write timeout).
 */
static void test_tls_pipelined_read_ahead(void **state)
{
	struct fx *f = fx_new(&lim_default);
	struct resp *r = calloc(1, sizeof(*r));
	char *reqs = malloc(200000), pad[1001];
	size_t len = 0, nreq = 0, expect;
	double t0;

	(void)state;
	assert_non_null(r);
	assert_non_null(reqs);
	memset(pad, 'p', 1000);
	pad[1000] = '\0';
	tls_setup(f);
	tls_send_n(f, "GET /hold HTTP/1.1\r\n\r\n", 22);
	PUMP_UNTIL(f, 3000, f->held != NULL);
	assert_non_null(f->held);
	/* 100 requests of about 1 KB each: more than max_head_bytes + the read-ahead */
	while (nreq < 100) {
		len += (size_t)snprintf(reqs + len, 200000 - len,
		                        "GET /r%zu HTTP/1.1\r\nX-Pad: %s\r\n\r\n", nreq, pad);
		nreq++;
	}
	tls_send_n(f, reqs, len);
	step(f->base, 100);
	/* the server waits for the stream to end: it must not spin meanwhile */
	t0 = cpu_ms();
	step(f->base, 500);
	assert_true(cpu_ms() - t0 < 150.0);
	mbx_http_reply_end(f->held);
	f->held = NULL;
	/* the held answer, then 100 answers "HTTP/1.1 200 OK ... /rN" */
	expect = 100;
	for (double end = now_ms() + 4000; now_ms() < end && count(r, "HTTP/1.1 200 OK") < 101;)
		tls_recv(f, r, r->len + 1, 50);
	assert_int_equal(count(r, "HTTP/1.1 200 OK"), expect + 1);
	assert_non_null(strstr(r->buf, "/r99"));
	assert_int_equal(f->calls, 101);
	free(reqs);
	free(r);
	fx_free(f);
}

/* ---- plain sockets -------------------------------------------------------------------- */

/*
 * A streamed answer that cannot be completed (out of memory adding a chunk) closes the
 * connection and detaches the request, which stays valid until the handler ends it: the
 * reply calls the handler goes on making are no use-after-free. The chunk length of the
 * chunked path is no overflow either (it was written as len + 20 bytes).
 */
static void test_stream_nomem(void **state)
{
	static const char *const reqs[] = {"GET /huge HTTP/1.0\r\n\r\n",
	                                   "GET /huge HTTP/1.1\r\n\r\n"};
	struct fx *f = fx_new(&lim_default);
	struct resp *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < 2; i++) {
		int fd = cli_connect(f);
		double end = now_ms() + 3000;

		memset(r, 0, sizeof(*r));
		f->nlogs = 0;
		assert_int_equal(send(fd, reqs[i], strlen(reqs[i]), MSG_NOSIGNAL),
		                 (ssize_t)strlen(reqs[i]));
		while (!r->eof && now_ms() < end) {
			ssize_t n;

			step(f->base, 2);
			n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, MSG_DONTWAIT);
			if (n > 0)
				r->len += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				r->eof = true;
		}
		assert_true(r->eof);
		assert_int_equal(f->closecbs, (int)i + 1);
		assert_false(f->huge_attached);
		assert_int_equal(f->conns, 0);
		assert_int_equal(logs_with(f, "out of memory answering"), 1);
		close(fd);
	}
	assert_int_equal(f->calls, 2);
	free(r);
	fx_free(f);
}

/* Bytes of heap in use now. */
static size_t heap_used(void)
{
#ifdef REVIEW_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

/*
 * A body's memory follows the bytes that came, not the Content-Length announced: clients that
 * each announce the largest body and send ten bytes of it hold a little memory each, not
 * max_body_bytes each (evhttp read a body into a buffer as it came, too). The bodies are still
 * read whole and exact.
 */
static void test_body_memory_follows_bytes(void **state)
{
	static const struct mbx_httpd_limits lim = {.timeout_seconds = 5,
	                                            .max_head_bytes = 4096,
	                                            .max_body_bytes = 8u << 20};
	struct fx *f = fx_new(&lim);
	struct resp *r = calloc(1, sizeof(*r));
	char head[128];
	int fds[8];
	size_t before, after;
	char *body = malloc(200000);

	(void)state;
	assert_non_null(r);
	assert_non_null(body);
	step(f->base, 10);
	before = heap_used();
	for (size_t i = 0; i < 8; i++) {
		fds[i] = cli_connect(f);
		snprintf(head, sizeof(head), "POST /b HTTP/1.1\r\nContent-Length: %u\r\n\r\n0123456789",
		         8u << 20);
		assert_int_equal(send(fds[i], head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	}
	PUMP_UNTIL(f, 500, false);
	after = heap_used();
	assert_int_equal(f->conns, 8);
	/* 8 x 8 MB announced: well under 1 MB held for them */
	assert_true(after < before + (1u << 20));
	for (size_t i = 0; i < 8; i++)
		close(fds[i]);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);

	/* a large body still arrives whole: echoed back exactly (target /echo) */
	{
		int fd = cli_connect(f);
		size_t blen = 200000, off = 0;
		double end = now_ms() + 5000;
		char *p;

		for (size_t i = 0; i < blen; i++)
			body[i] = (char)('a' + i % 23);
		snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", blen);
		assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
		while (off < blen) { /* in pieces, with the loop run in between */
			size_t n = blen - off < 7000 ? blen - off : 7000;
			ssize_t k = send(fd, body + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (k > 0)
				off += (size_t)k;
			step(f->base, 1);
			assert_true(now_ms() < end);
		}
		for (;;) {
			ssize_t n;

			p = strstr(r->buf, "\r\n\r\n");
			if (now_ms() >= end ||
			    (p != NULL && r->len >= (size_t)(p + 4 - r->buf) + blen))
				break;
			step(f->base, 1);
			n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, MSG_DONTWAIT);
			if (n > 0) {
				r->len += (size_t)n;
				r->buf[r->len] = '\0';
			}
		}
		p = strstr(r->buf, "\r\n\r\n");
		assert_non_null(p);
		assert_non_null(strstr(r->buf, "Content-Length: 200000\r\n"));
		assert_int_equal(r->len, (size_t)(p + 4 - r->buf) + blen);
		assert_memory_equal(p + 4, body, blen);
		close(fd);
	}
	free(body);
	free(r);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_pipelined_read_ahead),
		cmocka_unit_test(test_stream_nomem),
		cmocka_unit_test(test_body_memory_follows_bytes),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
