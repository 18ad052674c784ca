/*
 * test-httpd.c: mbxstore's HTTP/1.1 server (include/mbx/httpd.h, src/mapihttp/httpd*.c) over
 * real sockets on 127.0.0.1 (and socketpairs through mbx_httpd_add_connection): exact answer
 * bytes (status line, header order, Date, framing), keep-alive and pipelining (RFC 9112 9.3),
 * HTTP/1.0 and Connection: close, HEAD, 100-continue, chunked bodies in and out, every refusal
 * (400, 408, 413, 431) with its log line, header injection, detached requests, server
 * shutdown with requests held, connection accounting and pausing. The client side is plain
 * sockets; the server's event loop runs in small non-blocking steps in between.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mbx-test.h"
#include "tls-fixture.h"
#include "mbx/httpd.h"
#include "mbx/log.h"

/* Every answer's Date is checked, then replaced by this so that answers compare exactly. */
#define FIXED_DATE "Sun, 06 Nov 1994 08:49:37 GMT"
#define D "Date: " FIXED_DATE "\r\n"

#define MAX_HELD 8
#define MAX_LOGS 32

struct fx;
typedef void act_fn(struct fx *f, struct mbx_http_req *req);

struct fx {
	struct event_base *base;
	struct mbx_httpd *h;
	uint16_t port;
	act_fn *act; /* what the handler does after recording the request */
	int calls;
	int conns; /* sum of the conn callback's deltas */
	int closecbs;
	struct mbx_http_req *held[MAX_HELD];
	size_t nheld;
	struct mbx_http_req *closed_req; /* the last one whose close callback ran */
	/* the last request seen */
	enum mbx_http_method method;
	char method_name[16], target[256], path[256], peer[64], body[1024];
	bool has_path;
	size_t body_len, nfields;
	unsigned minor;
	char logs[MAX_LOGS][512];
	size_t nlogs;
};

struct resp {
	char buf[1 << 17];
	size_t len;
	bool eof;
};

/* ---- the server side ------------------------------------------------------------------- */

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	struct fx *f = ctx;

	(void)level;
	if (f->nlogs < MAX_LOGS)
		snprintf(f->logs[f->nlogs++], sizeof(f->logs[0]), "%s", line);
}

/* How many captured log lines hold both strings (b may be NULL). */
static size_t logs_with(const struct fx *f, const char *a, const char *b)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nlogs; i++)
		if (strstr(f->logs[i], a) != NULL && (b == NULL || strstr(f->logs[i], b) != NULL))
			n++;
	return n;
}

static void conn_cb(void *arg, int delta)
{
	struct fx *f = arg;

	f->conns += delta;
}

static void close_cb(struct mbx_http_req *req, void *arg)
{
	struct fx *f = arg;

	f->closecbs++;
	f->closed_req = req;
	/* the request stays valid while detached */
	assert_false(mbx_http_req_attached(req));
	assert_non_null(mbx_http_req_peer_name(req));
}

static void handler(struct mbx_http_req *req, void *arg)
{
	struct fx *f = arg;
	const uint8_t *body;
	const char *path;

	f->calls++;
	f->method = mbx_http_req_method(req);
	snprintf(f->method_name, sizeof(f->method_name), "%s", mbx_http_req_method_name(req));
	snprintf(f->target, sizeof(f->target), "%s", mbx_http_req_target(req));
	path = mbx_http_req_path(req);
	f->has_path = path != NULL;
	snprintf(f->path, sizeof(f->path), "%s", path != NULL ? path : "");
	snprintf(f->peer, sizeof(f->peer), "%s", mbx_http_req_peer_name(req));
	body = mbx_http_req_body(req, &f->body_len);
	assert_non_null(body);
	assert_int_equal(body[f->body_len], 0); /* NUL after the body */
	assert_true(f->body_len < sizeof(f->body));
	memcpy(f->body, body, f->body_len + 1);
	f->nfields = mbx_http_req_nfields(req);
	f->minor = mbx_http_req_minor(req);
	assert_true(mbx_http_req_attached(req));
	f->act(f, req);
}

/* The answer body is the request body, or the target when there is none. */
static void act_echo(struct fx *f, struct mbx_http_req *req)
{
	size_t n;
	const uint8_t *b = mbx_http_req_body(req, &n);

	(void)f;
	mbx_http_req_add_header(req, "Content-Type", "text/plain");
	if (n > 0)
		mbx_http_reply(req, 200, NULL, b, n);
	else
		mbx_http_reply(req, 200, NULL, mbx_http_req_target(req),
		               strlen(mbx_http_req_target(req)));
}

static void act_hold(struct fx *f, struct mbx_http_req *req)
{
	assert_true(f->nheld < MAX_HELD);
	f->held[f->nheld++] = req;
	mbx_http_req_set_closecb(req, close_cb, f);
}

static struct fx *fx_new(const struct mbx_httpd_limits *lim, act_fn *act)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->h = mbx_httpd_new(f->base, lim);
	assert_non_null(f->h);
	f->act = act;
	mbx_httpd_set_cb(f->h, handler, f);
	mbx_httpd_set_conncb(f->h, conn_cb, f);
	assert_int_equal(mbx_httpd_bind(f->h, "127.0.0.1", 0, &f->port), 0);
	assert_true(f->port != 0);
	mbx_log_set_hook(log_hook, f);
	return f;
}

static void fx_free(struct fx *f)
{
	mbx_httpd_free(&f->h);
	assert_null(f->h);
	assert_int_equal(f->conns, 0);
	mbx_log_set_hook(NULL, NULL);
	event_base_free(f->base);
	free(f);
}

static const struct mbx_httpd_limits lim_default = {.timeout_seconds = 5,
                                                    .max_head_bytes = 4096,
                                                    .max_body_bytes = 1024};

/* ---- the client side ------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Runs the server's loop for about ms milliseconds. */
static void pump(struct fx *f, int ms)
{
	double end = now_ms() + ms;

	do {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 2);
	} while (now_ms() < end);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Runs the loop until cond (checked each step) holds or ms pass. */
#define PUMP_UNTIL(f, ms, cond)                                                                \
	do {                                                                                   \
		double end_ = now_ms() + (ms);                                                 \
		while (!(cond) && now_ms() < end_) {                                           \
			event_base_loop((f)->base, EVLOOP_NONBLOCK);                           \
			poll(NULL, 0, 2);                                                      \
		}                                                                              \
	} while (0)

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

static uint16_t cli_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static void cli_send_n(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void cli_send(int fd, const char *s)
{
	cli_send_n(fd, s, strlen(s));
}

/* Receives (running the loop in between) until r holds want bytes (0: until EOF) or ms pass. */
static void cli_recv(struct fx *f, int fd, struct resp *r, size_t want, int ms)
{
	double end = now_ms() + ms;

	while (now_ms() < end && !r->eof && (want == 0 || r->len < want)) {
		ssize_t n;

		event_base_loop(f->base, EVLOOP_NONBLOCK);
		n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, MSG_DONTWAIT);
		if (n > 0) {
			r->len += (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			r->eof = true; /* EOF, or a reset */
		} else {
			poll(NULL, 0, 2);
		}
	}
	r->buf[r->len] = '\0';
}

/* Whether nothing at all can be read now (without running the loop). */
static bool cli_nothing(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int two(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Checks every "Date: " line of r (RFC 9110 5.6.7 IMF-fixdate, within a minute of now, the
 * weekday right) and replaces its value by FIXED_DATE. Returns how many there were. */
static size_t mask_dates(struct resp *r)
{
	size_t n = 0;
	char *p = r->buf;

	while ((p = strstr(p, "\r\nDate: ")) != NULL) {
		char *v = p + 8;
		struct tm tm;
		int day = -1, mon = -1, y;
		time_t t;

		assert_true((size_t)(v - r->buf) + 31 <= r->len);
		assert_memory_equal(v + 29, "\r\n", 2);
		for (int i = 0; i < 7; i++)
			if (memcmp(v, day_names[i], 3) == 0)
				day = i;
		for (int i = 0; i < 12; i++)
			if (memcmp(v + 8, month_names[i], 3) == 0)
				mon = i;
		assert_true(day >= 0 && mon >= 0);
		assert_memory_equal(v + 3, ", ", 2);
		assert_true(v[7] == ' ' && v[11] == ' ' && v[16] == ' ' && v[19] == ':' &&
		            v[22] == ':');
		assert_memory_equal(v + 25, " GMT", 4);
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = two(v + 5);
		tm.tm_mon = mon;
		y = two(v + 12) * 100 + two(v + 14);
		tm.tm_year = y - 1900;
		tm.tm_hour = two(v + 17);
		tm.tm_min = two(v + 20);
		tm.tm_sec = two(v + 23);
		assert_true(tm.tm_mday >= 1 && tm.tm_hour >= 0 && tm.tm_min >= 0 && tm.tm_sec >= 0);
		t = timegm(&tm);
		assert_true(t > time(NULL) - 60 && t < time(NULL) + 60);
		gmtime_r(&t, &tm);
		assert_int_equal(tm.tm_wday, day);
		memcpy(v, FIXED_DATE, 29);
		p = v;
		n++;
	}
	return n;
}

/* Receives until want bytes, masks the Dates and compares with expect exactly. */
static void expect_answer(struct fx *f, int fd, const char *expect, size_t ndates)
{
	struct resp *r = calloc(1, sizeof(*r));
	size_t want = strlen(expect);

	assert_non_null(r);
	cli_recv(f, fd, r, want, 3000);
	assert_int_equal(mask_dates(r), ndates);
	assert_string_equal(r->buf, expect);
	free(r);
}

/* Receives until EOF, masks the Dates and compares with expect exactly. */
static void expect_answer_eof(struct fx *f, int fd, const char *expect, size_t ndates, int ms)
{
	struct resp *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	cli_recv(f, fd, r, 0, ms);
	assert_true(r->eof);
	assert_int_equal(mask_dates(r), ndates);
	assert_string_equal(r->buf, expect);
	free(r);
}

/* ---- answers ----------------------------------------------------------------------------- */

static void act_get(struct fx *f, struct mbx_http_req *req)
{
	(void)f;
	assert_string_equal(mbx_http_req_header(req, "user-agent"), "t/1");
	assert_string_equal(mbx_http_req_header(req, "HOST"), "example");
	assert_null(mbx_http_req_header(req, "Cookie"));
	assert_string_equal(mbx_http_req_field_name(req, 0), "Host");
	assert_string_equal(mbx_http_req_field_value(req, 1), "t/1");
	assert_null(mbx_http_req_field_name(req, 2));
	assert_null(mbx_http_req_field_value(req, 2));
	mbx_http_req_add_header(req, "X-A", "1");
	mbx_http_req_add_header(req, "Content-Type", "text/plain");
	mbx_http_reply(req, 200, NULL, "hello", 5);
}

static void test_get(void **state)
{
	struct fx *f = fx_new(&lim_default, act_get);
	int fd = cli_connect(f);
	char peer[64];

	(void)state;
	cli_send(fd, "GET /a%20b?q=1 HTTP/1.1\r\nHost: example\r\nUser-Agent: t/1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 5\r\n\r\nhello",
	              1);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->method, MBX_HTTP_GET);
	assert_string_equal(f->method_name, "GET");
	assert_string_equal(f->target, "/a%20b?q=1");
	assert_true(f->has_path);
	assert_string_equal(f->path, "/a b");
	assert_int_equal(f->minor, 1);
	assert_int_equal(f->nfields, 2);
	assert_int_equal(f->body_len, 0);
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", cli_port(fd));
	assert_string_equal(f->peer, peer);
	assert_int_equal(f->conns, 1);
	assert_int_equal(mbx_httpd_connections(f->h), 1);
	assert_int_equal(f->nlogs, 0); /* no line for a request served */
	close(fd);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	assert_int_equal(mbx_httpd_connections(f->h), 0);
	fx_free(f);
}

static void test_post_body(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	/* the body comes in two pieces, with the loop run in between */
	cli_send(fd, "POST /mapi/emsmdb HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello");
	pump(f, 50);
	assert_int_equal(f->calls, 0);
	cli_send(fd, " world");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 11\r\n\r\nhello world",
	              1);
	assert_int_equal(f->method, MBX_HTTP_POST);
	assert_int_equal(f->body_len, 11);
	assert_string_equal(f->body, "hello world");
	close(fd);
	fx_free(f);
}

static void test_keepalive(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /one HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 4\r\n\r\n/one",
	              1);
	cli_send(fd, "\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"); /* an empty line first: ignored */
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 4\r\n\r\n/two",
	              1);
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->conns, 1);
	close(fd);
	fx_free(f);
}

static void test_pipelined(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /1 HTTP/1.1\r\n\r\n"
	             "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nxy"
	             "GET /3 HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/1"
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\nxy"
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/3",
	              3);
	assert_int_equal(f->calls, 3);
	close(fd);
	fx_free(f);
}

/* Pipelined requests wait while the handler holds the first one: in order, one at a time. */
static void test_pipelined_held(void **state)
{
	struct fx *f = fx_new(&lim_default, act_hold);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	pump(f, 50);
	assert_int_equal(f->nheld, 1);
	assert_string_equal(mbx_http_req_target(f->held[0]), "/1");
	mbx_http_reply(f->held[0], 200, NULL, "a", 1);
	PUMP_UNTIL(f, 2000, f->nheld == 2);
	assert_int_equal(f->nheld, 2);
	assert_string_equal(mbx_http_req_target(f->held[1]), "/2");
	mbx_http_reply(f->held[1], 200, NULL, "b", 1);
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\n" D "Content-Length: 1\r\n\r\na"
	              "HTTP/1.1 200 OK\r\n" D "Content-Length: 1\r\n\r\nb",
	              2);
	assert_int_equal(f->closecbs, 0);
	close(fd);
	fx_free(f);
}

static void test_http10(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /x HTTP/1.0\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\nConnection: close\r\n\r\n/x",
	                  1, 3000);
	assert_int_equal(f->minor, 0);
	close(fd);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	fx_free(f);
}

static void test_connection_close(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	/* the request after the one that closes is not answered */
	cli_send(fd, "GET /x HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n"
	             "GET /y HTTP/1.1\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\nConnection: close\r\n\r\n/x",
	                  1, 3000);
	assert_int_equal(f->calls, 1);
	close(fd);
	fx_free(f);
}

/* The handler asks for the close with a Connection field of its own. */
static void act_close(struct fx *f, struct mbx_http_req *req)
{
	(void)f;
	mbx_http_req_add_header(req, "Connection", "close");
	mbx_http_req_add_header(req, "Date", "Mon, 07 Nov 1994 08:49:37 GMT");
	mbx_http_reply(req, 200, NULL, "z", 1);
}

static void test_handler_close_and_date(void **state)
{
	struct fx *f = fx_new(&lim_default, act_close);
	int fd = cli_connect(f);
	struct resp *r = calloc(1, sizeof(*r));

	(void)state;
	cli_send(fd, "GET / HTTP/1.1\r\n\r\n");
	cli_recv(f, fd, r, 0, 3000);
	assert_true(r->eof);
	/* its Date is kept (and the server adds none), one Connection: close */
	assert_string_equal(r->buf, "HTTP/1.1 200 OK\r\nDate: Mon, 07 Nov 1994 08:49:37 GMT\r\n"
	                            "Content-Length: 1\r\nConnection: close\r\n\r\nz");
	free(r);
	close(fd);
	fx_free(f);
}

static void test_head(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	/* the GET's answer right after the HEAD's shows that no body bytes were sent */
	cli_send(fd, "HEAD /abc HTTP/1.1\r\n\r\nGET /abc HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 4\r\n\r\n"
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 4\r\n\r\n/abc",
	              2);
	assert_int_equal(f->calls, 2);
	close(fd);
	fx_free(f);
}

static void act_status(struct fx *f, struct mbx_http_req *req)
{
	(void)f;
	if (strcmp(mbx_http_req_target(req), "/204") == 0)
		mbx_http_reply(req, 204, NULL, "ignored", 7);
	else if (strcmp(mbx_http_req_target(req), "/299") == 0)
		mbx_http_reply(req, 299, NULL, NULL, 5); /* no body: Content-Length 0 */
	else if (strcmp(mbx_http_req_target(req), "/own") == 0)
		mbx_http_reply(req, 200, "Fine Thanks", "k", 1);
	else if (strcmp(mbx_http_req_target(req), "/badreason") == 0)
		mbx_http_reply(req, 503, "x\r\nSet-Cookie: a", NULL, 0);
	else
		mbx_http_req_abort(req);
}

static void test_status_and_reason(void **state)
{
	struct fx *f = fx_new(&lim_default, act_status);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /204 HTTP/1.1\r\n\r\nGET /299 HTTP/1.1\r\n\r\nGET /own HTTP/1.1\r\n\r\n"
	             "GET /badreason HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 204 No Content\r\n" D "\r\n"
	              "HTTP/1.1 299 Unknown\r\n" D "Content-Length: 0\r\n\r\n"
	              "HTTP/1.1 200 Fine Thanks\r\n" D "Content-Length: 1\r\n\r\nk"
	              "HTTP/1.1 503 Service Unavailable\r\n" D "Content-Length: 0\r\n\r\n",
	              4);
	assert_int_equal(logs_with(f, "reason phrase", "503"), 1);
	/* the handler drops the next one: closed without an answer */
	cli_send(fd, "GET /abort HTTP/1.1\r\n\r\n");
	expect_answer_eof(f, fd, "", 0, 3000);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	close(fd);
	fx_free(f);
}

static void test_no_handler(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd;

	(void)state;
	mbx_httpd_set_cb(f->h, NULL, NULL);
	fd = cli_connect(f);
	cli_send(fd, "GET / HTTP/1.1\r\n\r\n");
	expect_answer(f, fd, "HTTP/1.1 404 Not Found\r\n" D "Content-Length: 0\r\n\r\n", 1);
	close(fd);
	fx_free(f);
}

/* ---- request bodies ---------------------------------------------------------------------- */

static void test_expect_continue(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	expect_answer(f, fd, "HTTP/1.1 100 Continue\r\n\r\n", 0);
	assert_int_equal(f->calls, 0);
	cli_send(fd, "hello");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 5\r\n\r\nhello",
	              1);
	/* the body already there: no interim answer */
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-Continue\r\n\r\nok");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\nok",
	              1);
	/* announced too large: 413 at once, no 100 */
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 413 Content Too Large\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 2);
	close(fd);
	fx_free(f);
}

static void test_chunked_body(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
	pump(f, 30);
	cli_send(fd, "lo\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 11\r\n\r\nhello world"
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 5\r\n\r\n/next",
	              2);
	assert_int_equal(f->calls, 2);
	close(fd);
	fx_free(f);
}

static void test_chunked_too_large(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	struct fx *f;
	int fd;

	(void)state;
	lim.max_body_bytes = 8;
	f = fx_new(&lim, act_echo);
	fd = cli_connect(f);
	cli_send(fd, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
	             "0\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 413 Content Too Large\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 0);
	assert_int_equal(logs_with(f, "413", "127.0.0.1:"), 1);
	close(fd);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	fx_free(f);
}

static void test_malformed_chunked(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 400 Bad Request\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 0);
	assert_int_equal(logs_with(f, "400", "chunked"), 1);
	close(fd);
	fx_free(f);
}

static void test_length_too_large(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	struct fx *f;
	int fd;

	(void)state;
	lim.max_body_bytes = 8;
	f = fx_new(&lim, act_echo);
	fd = cli_connect(f);
	/* refused on the head alone: the body is never sent */
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 9\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 413 Content Too Large\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 0);
	assert_int_equal(logs_with(f, "413", "Content-Length"), 1);
	close(fd);
	/* exactly the limit is fine; with no body allowed, Content-Length: 0 is too */
	fd = cli_connect(f);
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 8\r\n\r\n12345678",
	              1);
	close(fd);
	mbx_httpd_set_max_body(f->h, 0);
	fd = cli_connect(f);
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/p",
	              1);
	cli_send(fd, "POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 413 Content Too Large\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	close(fd);
	fx_free(f);
}

/* Empty lines before a request are skipped, also when they come a byte at a time; a CR that
 * is not the start of an empty line is refused. */
static void test_leading_empty_lines(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "\r");
	pump(f, 30);
	cli_send(fd, "\n\n\r");
	pump(f, 30);
	cli_send(fd, "\nGET /e HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/e",
	              1);
	close(fd);
	fd = cli_connect(f);
	cli_send(fd, "\rGET /e HTTP/1.1\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 400 Bad Request\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 1);
	close(fd);
	fx_free(f);
}

/* ---- refused heads ----------------------------------------------------------------------- */

static void test_head_too_large(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	struct fx *f;
	char big[400];
	int fd;

	(void)state;
	lim.max_head_bytes = 256;
	f = fx_new(&lim, act_echo);
	/* 256 bytes exactly pass */
	fd = cli_connect(f);
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'a', 256 - strlen(big) - 4);
	strcat(big, "\r\n\r\n");
	assert_int_equal(strlen(big), 256);
	cli_send(fd, big);
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 1\r\n\r\n/",
	              1);
	close(fd);
	/* 257 do not */
	fd = cli_connect(f);
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'a', 257 - strlen(big) - 4);
	strcat(big, "\r\n\r\n");
	cli_send(fd, big);
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 431 Request Header Fields Too Large\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 1);
	assert_int_equal(logs_with(f, "431", "127.0.0.1:"), 1);
	close(fd);
	fx_free(f);
}

static void test_malformed(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	char peer[64];
	int fd = cli_connect(f);

	(void)state;
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", cli_port(fd));
	cli_send(fd, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 400 Bad Request\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(f->calls, 0);
	assert_int_equal(f->nlogs, 1);
	assert_non_null(strstr(f->logs[0], "400"));
	assert_non_null(strstr(f->logs[0], peer));
	close(fd);
	/* an unknown transfer coding: 501 */
	fd = cli_connect(f);
	cli_send(fd, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 501 Not Implemented\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	assert_int_equal(logs_with(f, "501", "127.0.0.1:"), 1);
	close(fd);
	fx_free(f);
}

/* ---- deadlines --------------------------------------------------------------------------- */

static void test_timeout_408(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n";
	struct resp *r = calloc(1, sizeof(*r));
	struct fx *f;
	double start;
	int fd;

	(void)state;
	assert_non_null(r);
	lim.timeout_seconds = 1;
	f = fx_new(&lim, act_echo);
	fd = cli_connect(f);
	start = now_ms();
	/* a byte every 200 ms: trickling does not push the deadline back */
	for (size_t i = 0; i < strlen(req) && !r->eof; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		cli_recv(f, fd, r, 1, 200);
		if (r->len > 0)
			break;
	}
	cli_recv(f, fd, r, 0, 3000);
	assert_true(now_ms() - start < 2500);
	assert_true(r->eof);
	assert_int_equal(mask_dates(r), 1);
	assert_string_equal(r->buf, "HTTP/1.1 408 Request Timeout\r\n" D
	                            "Content-Length: 0\r\nConnection: close\r\n\r\n");
	assert_int_equal(logs_with(f, "408", "127.0.0.1:"), 1);
	assert_int_equal(f->calls, 0);
	close(fd);
	free(r);
	PUMP_UNTIL(f, 3000, f->conns == 0);
	fx_free(f);
}

static void test_idle_close(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	struct fx *f;
	double start;
	int fd;

	(void)state;
	lim.timeout_seconds = 1;
	f = fx_new(&lim, act_echo);
	/* a connection that never sends: closed silently */
	fd = cli_connect(f);
	start = now_ms();
	expect_answer_eof(f, fd, "", 0, 3000);
	assert_true(now_ms() - start >= 900);
	close(fd);
	/* a keep-alive connection idle after an answer: the same */
	fd = cli_connect(f);
	cli_send(fd, "GET /k HTTP/1.1\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\n\r\n/k",
	                  1, 3000);
	close(fd);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->nlogs, 0); /* nothing logged for idle connections */
	fx_free(f);
}

/* A client that half-closes after its request still gets the answer, then the close. */
static void test_half_close(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /h HTTP/1.1\r\n\r\n");
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\n\r\n/h",
	                  1, 3000);
	close(fd);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	/* pipelined requests before the half-close are all answered */
	fd = cli_connect(f);
	cli_send(fd, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\n\r\n/1"
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\n\r\n/2"
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	                  "Content-Length: 2\r\n\r\n/3",
	                  3, 3000);
	close(fd);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	/* the same with the request held a while */
	f->act = act_hold;
	fd = cli_connect(f);
	cli_send(fd, "GET /h2 HTTP/1.1\r\n\r\n");
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	pump(f, 50);
	assert_true(mbx_http_req_attached(f->held[0]));
	mbx_http_reply(f->held[0], 200, NULL, "late", 4);
	expect_answer_eof(f, fd, "HTTP/1.1 200 OK\r\n" D "Content-Length: 4\r\n\r\nlate", 1, 3000);
	assert_int_equal(f->closecbs, 0);
	close(fd);
	fx_free(f);
}

/* The deadline counts from each request's start: a keep-alive connection used more often than
 * timeout_seconds lives on; new limits apply to the requests that start after them. */
static void test_deadline_per_request(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	struct fx *f;
	int fd;

	(void)state;
	lim.timeout_seconds = 1;
	f = fx_new(&lim, act_echo);
	fd = cli_connect(f);
	for (int i = 0; i < 3; i++) {
		pump(f, 600);
		cli_send(fd, "GET /d HTTP/1.1\r\n\r\n");
		expect_answer(f, fd,
		              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
		              "Content-Length: 2\r\n\r\n/d",
		              1);
	}
	assert_int_equal(f->conns, 1);
	/* a longer timeout from now on: idle 1.5 s is fine, then a body over the new limit */
	lim.timeout_seconds = 3;
	lim.max_body_bytes = 1;
	mbx_httpd_set_limits(f->h, &lim);
	cli_send(fd, "GET /d HTTP/1.1\r\n\r\n"); /* the request after it has the new limits */
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/d",
	              1);
	pump(f, 1500);
	assert_int_equal(f->conns, 1);
	cli_send(fd, "POST /d HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 413 Content Too Large\r\n" D
	                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                  1, 3000);
	close(fd);
	fx_free(f);
}

/* Raised limits reach a connection already open (its read-ahead bound too). */
static void test_limits_raised(void **state)
{
	struct mbx_httpd_limits lim = lim_default;
	struct fx *f;
	char *big = malloc(40000);
	int fd;

	(void)state;
	assert_non_null(big);
	lim.max_head_bytes = 1024;
	f = fx_new(&lim, act_echo);
	fd = cli_connect(f);
	cli_send(fd, "GET /1 HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->calls == 1);
	lim.max_head_bytes = 65536;
	mbx_httpd_set_limits(f->h, &lim);
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/1",
	              1);
	strcpy(big, "GET /2 HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'a', 30000);
	strcpy(big + 30000 + strlen("GET /2 HTTP/1.1\r\nX: "), "\r\n\r\n");
	cli_send(fd, big);
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/2",
	              1);
	free(big);
	close(fd);
	fx_free(f);
}

/* ---- response headers -------------------------------------------------------------------- */

static void act_inject(struct fx *f, struct mbx_http_req *req)
{
	(void)f;
	mbx_http_req_add_header(req, "X-Evil", "a\r\nSet-Cookie: b");
	mbx_http_req_add_header(req, "X-Evil2", "a\nb");
	mbx_http_req_add_header(req, "Bad Name", "x");
	mbx_http_req_add_header(req, "X-Bad:", "x");
	mbx_http_req_add_header(req, "", "x");
	mbx_http_req_add_header_n(req, "X-Nul", "a\0b", 3);
	mbx_http_req_add_header(req, "Content-Length", "99");
	mbx_http_req_add_header(req, "Transfer-Encoding", "chunked");
	mbx_http_req_add_header(req, "X-Ok", "fine\tvalue");
	mbx_http_req_add_header_n(req, "X-N", "abcdef", 3);
	mbx_http_req_add_header(req, "X-Empty", "");
	mbx_http_reply(req, 200, NULL, "ok", 2);
}

static void test_header_injection(void **state)
{
	struct fx *f = fx_new(&lim_default, act_inject);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET / HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nX-Ok: fine\tvalue\r\nX-N: abc\r\nX-Empty: \r\n" D
	              "Content-Length: 2\r\n\r\nok",
	              1);
	assert_int_equal(logs_with(f, "dropped", NULL), 8);
	assert_int_equal(logs_with(f, "\"X-Evil\"", "CR, LF or NUL"), 1);
	assert_int_equal(logs_with(f, "\"X-Evil2\"", "CR, LF or NUL"), 1);
	assert_int_equal(logs_with(f, "\"X-Nul\"", "CR, LF or NUL"), 1);
	assert_int_equal(logs_with(f, "\"Bad Name\"", "token"), 1);
	assert_int_equal(logs_with(f, "\"X-Bad:\"", "token"), 1);
	assert_int_equal(logs_with(f, "\"\"", "token"), 1);
	assert_int_equal(logs_with(f, "\"Content-Length\"", "frames"), 1);
	assert_int_equal(logs_with(f, "\"Transfer-Encoding\"", "frames"), 1);
	close(fd);
	fx_free(f);
}

/* Many header lines: past the inline buffer, kept in order. */
static void act_many(struct fx *f, struct mbx_http_req *req)
{
	char name[32], value[64];

	(void)f;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		snprintf(value, sizeof(value), "%040d", i);
		mbx_http_req_add_header(req, name, value);
	}
	mbx_http_reply(req, 200, NULL, NULL, 0);
}

static void test_many_headers(void **state)
{
	struct fx *f = fx_new(&lim_default, act_many);
	int fd = cli_connect(f);
	char *expect = calloc(1, 16384), line[128];

	(void)state;
	assert_non_null(expect);
	strcpy(expect, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "X-H%d: %040d\r\n", i, i);
		strcat(expect, line);
	}
	strcat(expect, D "Content-Length: 0\r\n\r\n");
	cli_send(fd, "GET / HTTP/1.1\r\n\r\n");
	expect_answer(f, fd, expect, 1);
	free(expect);
	close(fd);
	fx_free(f);
}

/* ---- streamed answers -------------------------------------------------------------------- */

static void act_stream(struct fx *f, struct mbx_http_req *req)
{
	(void)f;
	mbx_http_req_add_header(req, "X-S", "1");
	mbx_http_reply_start(req, 200, NULL, 64);
	mbx_http_reply_chunk(req, "hello", 5);
	mbx_http_reply_chunk(req, "nothing", 0);
	mbx_http_reply_chunk(req, "abcdefghijklmnopqrstuvwxyz", 26);
	mbx_http_reply_end(req);
}

static void test_streamed(void **state)
{
	struct fx *f = fx_new(&lim_default, act_stream);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /s HTTP/1.1\r\n\r\nHEAD /s HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nX-S: 1\r\n" D "Transfer-Encoding: chunked\r\n\r\n"
	              "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"
	              "HTTP/1.1 200 OK\r\nX-S: 1\r\n" D "Transfer-Encoding: chunked\r\n\r\n",
	              2);
	close(fd);
	/* HTTP/1.0: no framing, the close ends the body */
	fd = cli_connect(f);
	cli_send(fd, "GET /s HTTP/1.0\r\n\r\n");
	expect_answer_eof(f, fd,
	                  "HTTP/1.1 200 OK\r\nX-S: 1\r\n" D "Connection: close\r\n\r\n"
	                  "helloabcdefghijklmnopqrstuvwxyz",
	                  1, 3000);
	close(fd);
	fx_free(f);
}

/* A streamed answer over several turns of the loop: nothing leaves within a turn. */
static void test_streamed_held(void **state)
{
	struct fx *f = fx_new(&lim_default, act_hold);
	int fd = cli_connect(f);
	struct mbx_http_req *req;
	char big[3000];

	(void)state;
	cli_send(fd, "GET /s HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	req = f->held[0];
	mbx_http_reply_start(req, 201, NULL, 0);
	mbx_http_reply_chunk(req, "0123456789", 10);
	/* a header after the start is refused */
	mbx_http_req_add_header(req, "X-Late", "1");
	assert_int_equal(logs_with(f, "X-Late", "started"), 1);
	assert_true(cli_nothing(fd));
	expect_answer(f, fd,
	              "HTTP/1.1 201 Created\r\n" D "Transfer-Encoding: chunked\r\n\r\n"
	              "a\r\n0123456789\r\n",
	              1);
	memset(big, 'q', sizeof(big));
	mbx_http_reply_chunk(req, big, sizeof(big));
	mbx_http_reply_end(req);
	{
		struct resp *r = calloc(1, sizeof(*r));

		assert_non_null(r);
		cli_recv(f, fd, r, 5 + sizeof(big) + 2 + 5, 3000);
		assert_int_equal(r->len, 5 + sizeof(big) + 2 + 5);
		assert_memory_equal(r->buf, "bb8\r\n", 5);
		assert_memory_equal(r->buf + 5, big, sizeof(big));
		assert_memory_equal(r->buf + 5 + sizeof(big), "\r\n0\r\n\r\n", 7);
		free(r);
	}
	/* the connection is ready for the next request */
	cli_send(fd, "GET /t HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 2);
	assert_int_equal(f->nheld, 2);
	mbx_http_reply(f->held[1], 200, NULL, NULL, 0);
	expect_answer(f, fd, "HTTP/1.1 200 OK\r\n" D "Content-Length: 0\r\n\r\n", 1);
	assert_int_equal(f->closecbs, 0);
	close(fd);
	fx_free(f);
}

/* ---- held requests whose connection goes away ------------------------------------------- */

static void test_held_client_closes(void **state)
{
	struct fx *f = fx_new(&lim_default, act_hold);
	int fd = cli_connect(f);
	struct mbx_http_req *req;
	char peer[64], chunk[16384];

	(void)state;
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", cli_port(fd));
	cli_send(fd, "GET /wait HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	req = f->held[0];
	close(fd);
	pump(f, 50);
	/* reading is off while the handler holds the request: not noticed yet */
	assert_true(mbx_http_req_attached(req));
	assert_int_equal(f->closecbs, 0);
	/* writing to it fails: noticed then */
	memset(chunk, 'x', sizeof(chunk));
	mbx_http_reply_start(req, 200, NULL, 0);
	for (int i = 0; i < 200 && f->closecbs == 0; i++) {
		mbx_http_reply_chunk(req, chunk, sizeof(chunk));
		pump(f, 5);
	}
	assert_int_equal(f->closecbs, 1);
	assert_ptr_equal(f->closed_req, req);
	assert_false(mbx_http_req_attached(req));
	assert_string_equal(mbx_http_req_peer_name(req), peer);
	assert_string_equal(mbx_http_req_target(req), "/wait");
	assert_int_equal(f->conns, 0);
	assert_int_equal(mbx_httpd_connections(f->h), 0);
	/* a detached request takes the calls and is freed by the end (ASan checks) */
	mbx_http_req_add_header(req, "X-A", "1");
	mbx_http_reply_chunk(req, "x", 1);
	mbx_http_reply_end(req);
	assert_int_equal(f->closecbs, 1);
	fx_free(f);
}

/* Once a streamed answer has started, a client that resets is noticed at once (reading is on
 * again), without waiting for the next chunk. */
static void test_streamed_client_resets(void **state)
{
	struct fx *f = fx_new(&lim_default, act_hold);
	int fd = cli_connect(f);
	struct linger lg = {1, 0};
	struct mbx_http_req *req;

	(void)state;
	cli_send(fd, "POST /nwait HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	req = f->held[0];
	mbx_http_reply_start(req, 200, NULL, 0);
	mbx_http_reply_chunk(req, "PROCESSING\r\n", 12);
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\n" D "Transfer-Encoding: chunked\r\n\r\n"
	              "c\r\nPROCESSING\r\n\r\n",
	              1);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd); /* a reset */
	PUMP_UNTIL(f, 1000, f->closecbs == 1);
	assert_int_equal(f->closecbs, 1);
	assert_false(mbx_http_req_attached(req));
	assert_int_equal(f->conns, 0);
	mbx_http_reply_chunk(req, "PENDING\r\n", 9);
	mbx_http_reply_end(req);
	fx_free(f);
}

static void test_held_reply_after_close(void **state)
{
	struct fx *f = fx_new(&lim_default, act_hold);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET /wait HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	close(fd);
	pump(f, 20);
	/* answered in one piece: the request is freed at once, the connection goes later */
	mbx_http_reply(f->held[0], 200, NULL, "late", 4);
	PUMP_UNTIL(f, 3000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	assert_int_equal(f->closecbs, 0);
	fx_free(f);
}

static void test_free_with_held(void **state)
{
	struct fx *f = fx_new(&lim_default, act_hold);
	int fd = cli_connect(f), fd2 = cli_connect(f);
	char peer[64];

	(void)state;
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", cli_port(fd));
	cli_send(fd, "POST /held HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	cli_send(fd2, "GET /held2 HTTP/1.1\r\n"); /* one being read: just closed */
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	pump(f, 20);
	assert_int_equal(f->conns, 2);
	mbx_httpd_free(&f->h);
	assert_null(f->h);
	assert_int_equal(f->conns, 0);
	assert_int_equal(f->closecbs, 1);
	assert_false(mbx_http_req_attached(f->held[0]));
	assert_string_equal(mbx_http_req_peer_name(f->held[0]), peer);
	{
		size_t n;
		const uint8_t *b = mbx_http_req_body(f->held[0], &n);

		assert_int_equal(n, 3);
		assert_memory_equal(b, "abc", 3);
	}
	/* the detached request outlives the server; the answer frees it */
	mbx_http_reply(f->held[0], 200, NULL, "x", 1);
	expect_answer_eof(f, fd, "", 0, 2000);
	expect_answer_eof(f, fd2, "", 0, 2000);
	close(fd);
	close(fd2);
	fx_free(f);
}

/* mbx_httpd_free from inside the handler. */
static void act_free_server(struct fx *f, struct mbx_http_req *req)
{
	mbx_http_req_set_closecb(req, close_cb, f);
	f->held[f->nheld++] = req;
	mbx_httpd_free(&f->h);
	assert_int_equal(f->closecbs, 1);
	mbx_http_reply(req, 200, NULL, NULL, 0);
}

static void test_free_in_handler(void **state)
{
	struct fx *f = fx_new(&lim_default, act_free_server);
	int fd = cli_connect(f);

	(void)state;
	cli_send(fd, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->h == NULL);
	assert_null(f->h);
	expect_answer_eof(f, fd, "", 0, 2000);
	assert_int_equal(f->calls, 1);
	close(fd);
	fx_free(f);
}

/* ---- connections ------------------------------------------------------------------------- */

static void test_conn_counts(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fds[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		fds[i] = cli_connect(f);
	PUMP_UNTIL(f, 2000, f->conns == 3);
	assert_int_equal(f->conns, 3);
	assert_int_equal(mbx_httpd_connections(f->h), 3);
	close(fds[0]);
	close(fds[1]);
	PUMP_UNTIL(f, 2000, f->conns == 1);
	assert_int_equal(f->conns, 1);
	assert_int_equal(mbx_httpd_connections(f->h), 1);
	/* freeing the server closes the last one */
	mbx_httpd_free(&f->h);
	assert_int_equal(f->conns, 0);
	expect_answer_eof(f, fds[2], "", 0, 2000);
	close(fds[2]);
	fx_free(f);
}

static void test_pause_resume(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int fd;

	(void)state;
	mbx_httpd_pause(f->h, true);
	fd = cli_connect(f); /* the kernel completes it; the server does not accept */
	cli_send(fd, "GET /p HTTP/1.1\r\n\r\n");
	pump(f, 100);
	assert_int_equal(f->conns, 0);
	assert_int_equal(mbx_httpd_connections(f->h), 0);
	assert_true(cli_nothing(fd));
	mbx_httpd_pause(f->h, false);
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/p",
	              1);
	assert_int_equal(f->conns, 1);
	close(fd);
	fx_free(f);
}

/* Unlistening closes the listening sockets (new clients are refused) and keeps connections. */
static void test_unlisten(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	struct sockaddr_in sin;
	int fd = cli_connect(f), fd2;

	(void)state;
	PUMP_UNTIL(f, 2000, f->conns == 1);
	mbx_httpd_unlisten(f->h);
	fd2 = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd2 >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd2, (struct sockaddr *)&sin, sizeof(sin)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd2);
	cli_send(fd, "GET /still HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 6\r\n\r\n/still",
	              1);
	mbx_httpd_pause(f->h, false); /* nothing to resume: harmless */
	close(fd);
	fx_free(f);
}

static void test_socketpair(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	int sv[2];
	socklen_t len = 99;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(mbx_httpd_add_connection(f->h, sv[0], NULL, 0), 0);
	assert_int_equal(f->conns, 1);
	f->act = act_hold;
	cli_send(sv[1], "GET /u HTTP/1.1\r\n\r\n");
	PUMP_UNTIL(f, 2000, f->nheld == 1);
	assert_string_equal(f->peer, "-");
	assert_int_equal(mbx_http_req_peer(f->held[0], &len)->sa_family, AF_UNSPEC);
	assert_int_equal(len, 0);
	mbx_http_reply(f->held[0], 200, NULL, "u", 1);
	expect_answer(f, sv[1], "HTTP/1.1 200 OK\r\n" D "Content-Length: 1\r\n\r\nu", 1);
	close(sv[1]);
	PUMP_UNTIL(f, 2000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	fx_free(f);
}

/* An IPv6 listener, and the peer named "[addr]:port". */
static void test_ipv6(void **state)
{
	struct fx *f = fx_new(&lim_default, act_echo);
	struct sockaddr_in6 sin6;
	uint16_t port;
	char peer[64];
	int fd;

	(void)state;
	if (mbx_httpd_bind(f->h, "::1", 0, &port) != 0) {
		fx_free(f);
		skip(); /* no IPv6 loopback here */
	}
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	{
		socklen_t len = sizeof(sin6);

		assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
		snprintf(peer, sizeof(peer), "[::1]:%u", ntohs(sin6.sin6_port));
	}
	cli_send(fd, "GET /6 HTTP/1.1\r\n\r\n");
	expect_answer(f, fd,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" D
	              "Content-Length: 2\r\n\r\n/6",
	              1);
	assert_string_equal(f->peer, peer);
	assert_int_equal(mbx_httpd_bind(f->h, "not-an-address", 0, &port), -1);
	close(fd);
	fx_free(f);
}

/* ---- TLS (bufferevent_openssl from the bev callback) ------------------------------------- */

struct tls_fx {
	SSL_CTX *sctx, *cctx;
	SSL *ssl;
	int fd;
	int records;    /* application-data records received */
	bool clean_end; /* the connection ended with a close_notify */
};

static struct bufferevent *tls_bev(struct event_base *base, evutil_socket_t fd, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

static void tls_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
	struct tls_fx *t = arg;

	(void)version;
	(void)ssl;
	if (!write_p && content_type == SSL3_RT_HEADER && len >= 5 &&
	    ((const uint8_t *)buf)[0] == SSL3_RT_APPLICATION_DATA)
		t->records++;
}

/* A self-signed P-256 certificate made here; TLS 1.2, so that every application-data record
 * counted is the answer's (TLS 1.3 also wraps handshake messages as application data). */
static void tls_setup(struct fx *f, struct tls_fx *t)
{
	int fl;

	t->sctx = tls_fixture_server_ctx();
	SSL_CTX_set_max_proto_version(t->sctx, TLS1_2_VERSION);
	mbx_httpd_set_bevcb(f->h, tls_bev, t->sctx);
	t->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(t->cctx);
	t->fd = cli_connect(f);
	fl = fcntl(t->fd, F_GETFL);
	assert_int_equal(fcntl(t->fd, F_SETFL, fl | O_NONBLOCK), 0);
	t->ssl = SSL_new(t->cctx);
	assert_non_null(t->ssl);
	SSL_set_fd(t->ssl, t->fd);
	SSL_set_msg_callback(t->ssl, tls_msg_cb);
	SSL_set_msg_callback_arg(t->ssl, t);
	for (double end = now_ms() + 3000;;) {
		int r = SSL_connect(t->ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(t->ssl, r);
		assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
		assert_true(now_ms() < end);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
}

static void tls_teardown(struct tls_fx *t)
{
	SSL_free(t->ssl);
	close(t->fd);
	SSL_CTX_free(t->cctx);
	SSL_CTX_free(t->sctx);
}

static void tls_send(struct tls_fx *t, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(SSL_write(t->ssl, s, (int)len), (int)len); /* small: fits at once */
}

/* Reads until want bytes (0: until the end of the connection) or ms pass. */
static void tls_recv(struct fx *f, struct tls_fx *t, struct resp *r, size_t want, int ms)
{
	double end = now_ms() + ms;

	while (now_ms() < end && !r->eof && (want == 0 || r->len < want)) {
		int n = SSL_read(t->ssl, r->buf + r->len, (int)(sizeof(r->buf) - 1 - r->len));

		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (SSL_get_error(t->ssl, n) != SSL_ERROR_WANT_READ) {
			r->eof = true;
			t->clean_end = SSL_get_error(t->ssl, n) == SSL_ERROR_ZERO_RETURN;
			break;
		}
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 1);
	}
	r->buf[r->len] = '\0';
}

static void act_tls(struct fx *f, struct mbx_http_req *req)
{
	char name[16], body[300];

	(void)f;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		mbx_http_req_add_header(req, name, "0123456789abcdef0123456789");
	}
	if (strcmp(mbx_http_req_target(req), "/stream") == 0) {
		mbx_http_reply_start(req, 200, NULL, 300);
		for (int i = 0; i < 3; i++)
			mbx_http_reply_chunk(req, "0123456789", 10);
		mbx_http_reply_end(req);
		return;
	}
	memset(body, 'b', sizeof(body));
	mbx_http_reply(req, 200, NULL, body, sizeof(body));
}

static void test_tls(void **state)
{
	struct fx *f = fx_new(&lim_default, act_tls);
	struct tls_fx t;
	struct resp *r = calloc(1, sizeof(*r));
	char *expect = calloc(1, 4096), line[128];
	size_t head_len;

	(void)state;
	assert_non_null(r);
	assert_non_null(expect);
	memset(&t, 0, sizeof(t));
	tls_setup(f, &t);
	strcpy(expect, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 12; i++) {
		snprintf(line, sizeof(line), "X-H%d: 0123456789abcdef0123456789\r\n", i);
		strcat(expect, line);
	}
	strcat(expect, D "Content-Length: 300\r\n\r\n");
	head_len = strlen(expect);
	memset(expect + head_len, 'b', 300);
	/* two answers on the kept-alive connection: one TLS record each */
	for (int k = 0; k < 2; k++) {
		memset(r, 0, sizeof(*r));
		t.records = 0;
		tls_send(&t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
		tls_recv(f, &t, r, head_len + 300, 3000);
		assert_int_equal(mask_dates(r), 1);
		assert_string_equal(r->buf, expect);
		assert_int_equal(t.records, 1);
	}
	/* a streamed answer made in one turn: one record too */
	memset(r, 0, sizeof(*r));
	t.records = 0;
	tls_send(&t, "GET /stream HTTP/1.1\r\n\r\n");
	tls_recv(f, &t, r, head_len - strlen("Content-Length: 300\r\n\r\n") +
	                       strlen("Transfer-Encoding: chunked\r\n\r\n") + 3 * 15 + 5,
	         3000);
	assert_non_null(strstr(r->buf, "Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"
	                                "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"));
	assert_int_equal(t.records, 1);
	/* Connection: close: the answer, then the end of the connection */
	memset(r, 0, sizeof(*r));
	tls_send(&t, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	tls_recv(f, &t, r, 0, 3000);
	assert_true(r->eof);
	assert_true(t.clean_end); /* close_notify before the socket's end */
	assert_int_equal(r->len, head_len + strlen("Connection: close\r\n") + 300);
	assert_non_null(strstr(r->buf, "Content-Length: 300\r\nConnection: close\r\n\r\nbbb"));
	assert_int_equal(f->calls, 4);
	tls_teardown(&t);
	PUMP_UNTIL(f, 3000, f->conns == 0);
	assert_int_equal(f->conns, 0);
	free(expect);
	free(r);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_pipelined_held),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_connection_close),
		cmocka_unit_test(test_handler_close_and_date),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_status_and_reason),
		cmocka_unit_test(test_no_handler),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_chunked_too_large),
		cmocka_unit_test(test_malformed_chunked),
		cmocka_unit_test(test_length_too_large),
		cmocka_unit_test(test_leading_empty_lines),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_timeout_408),
		cmocka_unit_test(test_idle_close),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_deadline_per_request),
		cmocka_unit_test(test_limits_raised),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_many_headers),
		cmocka_unit_test(test_streamed),
		cmocka_unit_test(test_streamed_held),
		cmocka_unit_test(test_held_client_closes),
		cmocka_unit_test(test_streamed_client_resets),
		cmocka_unit_test(test_held_reply_after_close),
		cmocka_unit_test(test_free_with_held),
		cmocka_unit_test(test_free_in_handler),
		cmocka_unit_test(test_conn_counts),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_unlisten),
		cmocka_unit_test(test_socketpair),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_tls),
	};

	signal(SIGPIPE, SIG_IGN); /* as the daemon does */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
