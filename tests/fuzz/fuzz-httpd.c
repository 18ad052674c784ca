/*
 * fuzz-httpd.c: libFuzzer harness for mbxstore's HTTP/1.1 server alone (include/mbx/httpd.h:
 * src/mapihttp/httpd.c, httpd-read.c, httpd-reply.c; RFC 9112 framing, 9.3 pipelining, 9.6
 * lingering close; RFC 9110 6.6.1 Date, 10.1.1 Expect, 15.2.1 100 Continue) with a scripted
 * handler in place of the MAPI/HTTP front end.
 *
 * An input is a 6-byte control header, then what clients send:
 *   byte 0   limits: bits 0-2 max_head_bytes (0 = the default 65536, 16 .. 4096), bits 3-5
 *            max_body_bytes (0 .. 1 MiB), bits 6-7 timeout_seconds (1, 2, 5, 0 = 60);
 *   byte 1   bits 0-5: what each client does once its bytes are written, two bits per
 *            connection: nothing (the server's timeouts end it), shutdown(SHUT_WR), close(),
 *            or SHUT_WR once every request is answered; bit 6: mbx_httpd_set_limits with other
 *            limits after the second piece; bit 7: mbx_httpd_free while connections are open;
 *   bytes 2-5 the handler's script, one byte per request (round robin): bits 0-2 what it does
 *            (reply at once; stream start/chunks/end at once; stream over loop turns; hold and
 *            reply a turn later; abort at once; hold and abort (a stream started or not) a turn
 *            later; hold and stream later; hold until the end or the close callback, which
 *            answers it), bits 3-4 the status (200, 204, 304, 404), bits 5-7 the headers added
 *            (none; valid ones and a reason; values and a reason with CR/LF/NUL; names that are
 *            no token and a NULL value; Connection: close; Content-Length, Transfer-Encoding and
 *            Date; 2 KB of lines; all of these with a status out of range).
 * The rest is up to three connections split at "@N@" (peers 127.0.0.1:40000, [::1]:40001 and
 * none), each cut into pieces at "@@", "@T@" or "@B@"; piece k of every connection is written at
 * loop turn k; "@T@" also moves the clock 1.1 s on, "@B@" adds a piece of 100000 bytes 'b' (a
 * body past the server's 64 KiB inline buffer, within a 1 MiB max_body_bytes). The clock is
 * virtual: this file defines clock_gettime, whose CLOCK_MONOTONIC_COARSE (libevent's clock and the
 * server's deadlines) is the real one plus an offset the harness advances, so the request timeout,
 * the idle close, the 408 and the 2 s lingering close all happen without sleeping (libFuzzer's own
 * timing uses CLOCK_MONOTONIC, untouched). At the end the loop runs turns (held requests answered
 * from the fourth, the clock moved on from the sixth) until every connection is closed, within 48
 * turns and one more per request seen (a pipelined stream needs a turn of its own).
 *
 * Checked (__builtin_trap):
 *   - every byte the server wrote on a connection parses as HTTP/1.1 responses: status line
 *     "HTTP/1.1 NNN reason", header lines "token: value" with no CR, LF, NUL or other control
 *     byte in a value (so no header injection: the names the handler's bad values smuggle
 *     never appear), at most one Content-Length (digits) and one Transfer-Encoding
 *     ("chunked"), never both, chunks that frame the bytes exactly, no body for HEAD, 1xx, 204
 *     and 304, a body up to the close only with Connection: close, a Date on final answers;
 *   - answers come in order and match the handler's: the status given (500 for one out of
 *     range), Content-Length the length given, the body given or the chunks sent;
 *     Connection: close for HTTP/1.0 and when the handler asked for it, and nothing after it;
 *     past the answers only a refusal (400, 408, 413, 417, 431, 500, 501, 503, 505 with
 *     Content-Length: 0 and Connection: close), and nothing after a request aborted or
 *     detached; a response cut short only when a stream was cut, the client closed or the
 *     server was freed; no answer missing otherwise;
 *   - the handler sees consistent requests (method name and enum, fields, a body within the
 *     limits, the peer of its connection);
 *   - mbx_httpd_connections() equals the open/close callbacks' count after each turn, is 0
 *     at the end, and every client then reads EOF; a request held when its connection died
 *     got its close callback exactly once, and one answered while attached none;
 *   - every log line is one line with no control byte.
 * Everything is freed after each input (the server, requests, sockets): LeakSanitizer checks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mbx/httpd.h"
#include "mbx/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define FZ_CONNS 3
#define FZ_HDR 6
#define FZ_ROUNDS 48
#define FZ_RESP_CAP ((size_t)4 << 20)

/* ---- the virtual clock ------------------------------------------------------------------- */

static int64_t vclock_ms;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	long r = syscall(SYS_clock_gettime, id, ts);

	if (r == 0 && id == CLOCK_MONOTONIC_COARSE && vclock_ms > 0) {
		ts->tv_sec += (time_t)(vclock_ms / 1000);
		ts->tv_nsec += (long)(vclock_ms % 1000) * 1000000;
		if (ts->tv_nsec >= 1000000000) {
			ts->tv_sec++;
			ts->tv_nsec -= 1000000000;
		}
	}
	return (int)r;
}

/* ---- state of one input ------------------------------------------------------------------ */

enum kind {
	K_REPLY,
	K_STREAM,
	K_STREAM_TURNS,
	K_HOLD_REPLY,
	K_ABORT,
	K_HOLD_ABORT,
	K_HOLD_STREAM,
	K_HOLD_END
};

struct rec {
	struct rec *next;         /* every request of the input, in dispatch order */
	struct mbx_http_req *req; /* NULL once answered (freed) */
	int conn;
	uint8_t action;
	bool head; /* a HEAD request */
	unsigned minor;
	int status, want_status;
	bool handler_close; /* the handler added Connection: close */
	bool start_called;  /* reply_start called */
	bool started;       /* ... while attached */
	bool complete;      /* the whole answer was queued while attached */
	bool aborted;
	int closecbs;
	unsigned due; /* turn of the next step (held, streaming) */
	uint8_t *src;
	size_t src_len, src_off;
	uint8_t *exp; /* the body expected on the wire */
	size_t exp_len;
	bool exp_null_body; /* reply with body NULL: Content-Length 0 */
};

struct conn {
	int fd; /* the client's end; -1 once closed */
	const uint8_t *bytes;
	size_t len;
	const uint8_t *piece[64];
	size_t piece_len[64];
	bool piece_tick[64];
	size_t npieces, wpiece, woff, allowed;
	bool wdead; /* the server's end went away: nothing more is written */
	int end_mode;
	bool end_done;
	bool eof;
	bool may_truncate;
	uint8_t *resp;
	size_t resp_len, resp_cap;
	bool resp_full;
};

static struct {
	struct event_base *base;
	struct mbx_httpd *h;
	long nconn; /* from the connection callback */
	struct mbx_httpd_limits lim, lim2;
	size_t max_body_seen; /* the largest limit a request could have started under */
	uint8_t actions[4];
	unsigned nreq;
	unsigned turn;
	bool endgame;
	struct rec *recs, **recs_tail;
	struct conn c[FZ_CONNS];
	size_t nconns;
} g;

static const size_t head_sizes[8] = {0, 16, 40, 64, 128, 256, 1024, 4096};
static const size_t body_sizes[8] = {0, 1, 7, 16, 100, 1000, 65536, (size_t)1 << 20};

/* What "@B@" sends: a body past the server's 64 KiB inline buffer. */
#define FZ_BIG 100000
static uint8_t big_bytes[FZ_BIG];
static const unsigned timeouts[4] = {1, 2, 5, 0};
static const int statuses[4] = {200, 204, 304, 404};

/* Header groups, by bits 5-7 of the action byte. */
enum {
	H_FINE = 1,
	H_INJECT = 2,
	H_NAMES = 4,
	H_CLOSE = 8,
	H_FRAMING = 16,
	H_FILLER = 32,
	H_BADSTATUS = 64
};
static const unsigned header_modes[8] = {
        0,        H_FINE,
        H_INJECT, H_NAMES,
        H_CLOSE,  H_FRAMING,
        H_FILLER, H_INJECT | H_NAMES | H_CLOSE | H_FRAMING | H_FILLER | H_BADSTATUS,
};

static void log_hook(void *ctx, enum mbx_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	for (const unsigned char *p = (const unsigned char *)line; *p != 0; p++)
		CHECK(*p >= 0x20 && *p != 0x7f);
}

static void conn_cb(void *arg, int delta)
{
	(void)arg;
	CHECK(delta == 1 || delta == -1);
	g.nconn += delta;
	CHECK(g.nconn >= 0);
}

static void *xmemdup(const void *p, size_t n)
{
	uint8_t *q = malloc(n + 1);

	if (q == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	q[n] = 0;
	return q;
}

static bool status_has_body(int s)
{
	return s >= 200 && s != 204 && s != 304;
}

/* ---- the handler ------------------------------------------------------------------------- */

static void exp_add(struct rec *r, const void *p, size_t n)
{
	uint8_t *q = realloc(r->exp, r->exp_len + n + 1);

	if (q == NULL)
		abort();
	r->exp = q;
	memcpy(r->exp + r->exp_len, p, n);
	r->exp_len += n;
}

static void check_closecbs(const struct rec *r)
{
	CHECK(r->closecbs == (mbx_http_req_attached(r->req) ? 0 : 1));
}

static void rec_reply(struct rec *r)
{
	bool attached = mbx_http_req_attached(r->req);
	unsigned m = header_modes[r->action >> 5];
	const char *reason = (m & H_FINE)     ? "Fine Thing"
	                     : (m & H_INJECT) ? "Bad\r\nX-Evil: 1" /* the standard one is sent */
	                                      : NULL;

	check_closecbs(r);
	if (attached) {
		r->complete = true;
		r->exp_null_body = (m & H_BADSTATUS) != 0;
		if (!r->exp_null_body)
			exp_add(r, r->src, r->src_len);
	}
	if (m & H_BADSTATUS)
		mbx_http_reply(r->req, r->status, reason, NULL, r->src_len);
	else
		mbx_http_reply(r->req, r->status, reason, r->src, r->src_len);
	r->req = NULL;
}

static void rec_abort(struct rec *r)
{
	check_closecbs(r);
	r->aborted = true;
	g.c[r->conn].may_truncate = true; /* a stream started is cut */
	mbx_http_req_abort(r->req);
	r->req = NULL;
}

static void rec_start(struct rec *r)
{
	unsigned m = header_modes[r->action >> 5];

	check_closecbs(r);
	r->start_called = true;
	r->started = mbx_http_req_attached(r->req);
	mbx_http_reply_start(r->req, r->status, (m & H_FINE) ? "Streamed" : NULL, r->src_len);
	/* too late: dropped */
	mbx_http_req_add_header(r->req, "X-Late", "1");
}

/* One chunk of the body (all of it when all); true when nothing is left. */
static bool rec_chunk(struct rec *r, bool all)
{
	do {
		size_t n = r->src_len / 3 + 1;

		if (r->src_off >= r->src_len)
			return true;
		if (n > r->src_len - r->src_off)
			n = r->src_len - r->src_off;
		if (mbx_http_req_attached(r->req) && !r->head && status_has_body(r->want_status))
			exp_add(r, r->src + r->src_off, n);
		mbx_http_reply_chunk(r->req, r->src + r->src_off, n);
		mbx_http_reply_chunk(r->req, r->src, 0);
		r->src_off += n;
	} while (all);
	return r->src_off >= r->src_len;
}

static void rec_end(struct rec *r)
{
	check_closecbs(r);
	if (mbx_http_req_attached(r->req))
		r->complete = true;
	mbx_http_reply_end(r->req);
	r->req = NULL;
}

static void close_cb(struct mbx_http_req *req, void *arg)
{
	struct rec *r = arg;

	CHECK(r->req == req);
	CHECK(!mbx_http_req_attached(req));
	r->closecbs++;
	CHECK(r->closecbs == 1);
	g.c[r->conn].may_truncate = true;
	/* calls on a detached request do nothing but are allowed */
	mbx_http_req_add_header(req, "X-Gone", "1");
	if ((r->action & 7) == K_HOLD_END) {
		rec_reply(r); /* answering it frees it, inside the callback */
	}
}

static void add_headers(struct rec *r)
{
	struct mbx_http_req *req = r->req;
	unsigned m = header_modes[r->action >> 5];
	char big[64];

	if (m & H_FINE) {
		mbx_http_req_add_header(req, "X-Fine", "a\tb c");
		mbx_http_req_add_header(req, "X-Empty", "");
		mbx_http_req_add_header_n(req, "X-N", "abcdef", 3);
	}
	if (m & H_BADSTATUS)
		r->status = 1000; /* sent as 500 */
	if (m & H_INJECT) {       /* dropped: the values hold CR, LF or NUL */
		mbx_http_req_add_header(req, "X-Inject", "a\r\nX-Evil: 1");
		mbx_http_req_add_header(req, "X-Inject", "b\nX-Evil: 2");
		mbx_http_req_add_header(req, "X-Inject", "c\rX-Evil: 3");
		mbx_http_req_add_header_n(req, "X-Inject", "d\0X-Evil: 4", 11);
	}
	if (m & H_NAMES) { /* dropped: no token, no value */
		mbx_http_req_add_header(req, "Bad Name", "x");
		mbx_http_req_add_header(req, "", "x");
		mbx_http_req_add_header(req, "X:Evil", "x");
		mbx_http_req_add_header(req, "X-\xc3\xa9vil", "x");
		mbx_http_req_add_header_n(req, "X-Null", NULL, 3);
	}
	if (m & H_CLOSE) {
		mbx_http_req_add_header(req, "Connection", "keep-alive, Close");
		r->handler_close = true;
	}
	if (m & H_FRAMING) { /* the server's own: the first two dropped, Date replaces its own */
		mbx_http_req_add_header(req, "Content-Length", "12345");
		mbx_http_req_add_header(req, "transfer-encoding", "chunked");
		mbx_http_req_add_header(req, "Date", "Sun, 06 Nov 1994 08:49:37 GMT");
	}
	if (m & H_FILLER) { /* past the inline header buffer */
		for (int i = 0; i < 40; i++) {
			snprintf(big, sizeof(big), "%d-%048d", i, i);
			mbx_http_req_add_header(req, "X-Filler", big);
		}
	}
}

/* The connection a request came on, from its peer. */
static int req_conn(const struct mbx_http_req *req)
{
	static const char *const names[FZ_CONNS] = {"127.0.0.1:40000", "[::1]:40001", "-"};
	socklen_t len = 0;
	const struct sockaddr *sa = mbx_http_req_peer(req, &len);
	int i = sa->sa_family == AF_INET ? 0 : sa->sa_family == AF_INET6 ? 1 : 2;

	CHECK(i != 2 || sa->sa_family == AF_UNSPEC);
	CHECK(strcmp(mbx_http_req_peer_name(req), names[i]) == 0);
	CHECK((size_t)i < g.nconns);
	return i;
}

static void check_request(struct mbx_http_req *req)
{
	static const char *const methods[] = {"GET",     "HEAD",  "POST",  "PUT",    "DELETE",
	                                      "OPTIONS", "TRACE", "PATCH", "CONNECT"};
	const char *name = mbx_http_req_method_name(req);
	const char *target = mbx_http_req_target(req);
	const char *path = mbx_http_req_path(req);
	enum mbx_http_method m = MBX_HTTP_OTHER;
	size_t n = mbx_http_req_nfields(req), blen;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(name, methods[i]) == 0)
			m = (enum mbx_http_method)i;
	CHECK(mbx_http_req_method(req) == m);
	CHECK(target[0] != 0);
	for (const unsigned char *p = (const unsigned char *)target; *p != 0; p++)
		CHECK(*p > 0x20 && *p != 0x7f);
	CHECK(path == NULL || strlen(path) <= strlen(target));
	CHECK(mbx_http_req_minor(req) <= 1);
	CHECK(n <= 64);
	for (size_t i = 0; i < n; i++) {
		const char *fname = mbx_http_req_field_name(req, i);
		const char *fval = mbx_http_req_field_value(req, i);

		CHECK(fname != NULL && fname[0] != 0 && fval != NULL);
		CHECK(strpbrk(fval, "\r\n") == NULL);
		CHECK(mbx_http_req_header(req, fname) != NULL);
	}
	CHECK(mbx_http_req_field_name(req, n) == NULL);
	(void)mbx_http_req_body(req, &blen);
	CHECK(blen <= g.max_body_seen);
	CHECK(mbx_http_req_attached(req));
}

static void handler(struct mbx_http_req *req, void *arg)
{
	struct rec *r = calloc(1, sizeof(*r));
	const uint8_t *body;
	size_t blen;

	(void)arg;
	if (r == NULL)
		abort();
	check_request(req);
	*g.recs_tail = r;
	g.recs_tail = &r->next;
	r->req = req;
	r->conn = req_conn(req);
	r->action = g.actions[g.nreq++ % 4];
	r->head = mbx_http_req_method(req) == MBX_HTTP_HEAD;
	r->minor = mbx_http_req_minor(req);
	r->status = statuses[(r->action >> 3) & 3];
	body = mbx_http_req_body(req, &blen);
	if (blen > 0) {
		r->src = xmemdup(body, blen);
		r->src_len = blen;
	} else {
		r->src_len = strlen(mbx_http_req_target(req));
		r->src = xmemdup(mbx_http_req_target(req), r->src_len);
	}
	mbx_http_req_set_closecb(req, close_cb, r);
	add_headers(r);
	r->want_status = r->status >= 100 && r->status <= 999 ? r->status : 500;
	r->due = g.turn + 1;
	switch (r->action & 7) {
	case K_REPLY:
		rec_reply(r);
		break;
	case K_STREAM:
		rec_start(r);
		rec_chunk(r, true);
		rec_end(r);
		break;
	case K_STREAM_TURNS:
		rec_start(r);
		break;
	case K_ABORT:
		rec_abort(r);
		break;
	default: /* held */
		break;
	}
}

/* A turn's step for every request still held: stream on, answer, abort. */
static void progress(void)
{
	for (struct rec *r = g.recs; r != NULL; r = r->next) {
		if (r->req == NULL || (!g.endgame && r->due > g.turn))
			continue;
		r->due = g.turn + 1;
		switch (r->action & 7) {
		case K_HOLD_END: /* until the end (or the close callback) */
		case K_HOLD_REPLY:
			if ((r->action & 7) == K_HOLD_REPLY || g.endgame)
				rec_reply(r);
			break;
		case K_HOLD_ABORT:
			if ((r->action & 0x08) && !r->start_called) {
				rec_start(r);
				rec_chunk(r, false);
				if (!g.endgame)
					break;
			}
			rec_abort(r);
			break;
		case K_HOLD_STREAM:
		case K_STREAM_TURNS:
			if (!r->start_called) {
				rec_start(r);
				if (!g.endgame)
					break;
			}
			if (rec_chunk(r, g.endgame))
				rec_end(r);
			break;
		default:
			CHECK(0);
		}
	}
}

/* ---- the clients ------------------------------------------------------------------------- */

static unsigned long activity; /* bytes moved, callbacks: a loop turn did something */

static void client_write(struct conn *c)
{
	while (c->fd >= 0 && !c->wdead && c->wpiece < c->allowed && c->wpiece < c->npieces) {
		size_t left = c->piece_len[c->wpiece] - c->woff;
		ssize_t n;

		if (left == 0) {
			c->wpiece++;
			c->woff = 0;
			continue;
		}
		n = send(c->fd, c->piece[c->wpiece] + c->woff, left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				c->wdead = true; /* the server's end is closed */
			return;
		}
		activity++;
		c->woff += (size_t)n;
	}
}

static bool client_written(const struct conn *c)
{
	return c->fd < 0 || c->wdead || c->wpiece >= c->npieces;
}

static void client_read(struct conn *c)
{
	uint8_t buf[16384];

	while (c->fd >= 0 && !c->eof) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) { /* EOF, or ECONNRESET after the last byte (AF_UNIX) */
			c->eof = true;
			activity++;
			return;
		}
		activity++;
		if (c->resp_full || c->resp_len + (size_t)n > FZ_RESP_CAP) {
			c->resp_full = true;
			continue;
		}
		if (c->resp_cap - c->resp_len < (size_t)n) {
			size_t cap = c->resp_cap * 2 + (size_t)n + 4096;
			uint8_t *p = realloc(c->resp, cap);

			if (p == NULL)
				abort();
			c->resp = p;
			c->resp_cap = cap;
		}
		memcpy(c->resp + c->resp_len, buf, (size_t)n);
		c->resp_len += (size_t)n;
	}
}

/* The client's end of its bytes: 1 half-close, 2 close (3 half-close later: see run). */
static void client_end(struct conn *c, int how)
{
	if (c->end_done || c->fd < 0 || !client_written(c))
		return;
	c->end_done = true;
	if (how == 2) {
		client_read(c);
		close(c->fd);
		c->fd = -1;
		c->may_truncate = true;
	} else {
		(void)shutdown(c->fd, SHUT_WR);
	}
}

/* One turn: the held requests move on, then the loop runs until nothing happens. */
static void turn(void)
{
	unsigned quiet = 0;

	g.turn++;
	progress();
	for (unsigned i = 0; i < 20000 && quiet < 3; i++) {
		unsigned long before = activity;

		event_base_loop(g.base, EVLOOP_NONBLOCK);
		for (size_t j = 0; j < g.nconns; j++) {
			client_write(&g.c[j]);
			client_read(&g.c[j]);
		}
		quiet = activity == before ? quiet + 1 : 0;
	}
	if (g.h != NULL)
		CHECK(mbx_httpd_connections(g.h) == (size_t)g.nconn);
}

/* ---- the answers ------------------------------------------------------------------------- */

struct resp {
	int status;
	bool close, has_cl, chunked;
	uint64_t cl;
	unsigned ndate;
	const uint8_t *body; /* Content-Length or close-delimited body */
	size_t body_len;
	uint8_t *dec; /* a chunked body, decoded */
	size_t dec_len;
};

static bool is_tchar(uint8_t ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
	       (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool name_eq(const uint8_t *p, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp((const char *)p, name, n) == 0;
}

/* The length of the line at b[0..len) up to its CRLF (excluded), or -1 when incomplete. */
static long line_len(const uint8_t *b, size_t len)
{
	const uint8_t *nl = memchr(b, '\n', len);
	size_t n;

	if (nl == NULL)
		return -1;
	n = (size_t)(nl - b);
	CHECK(n >= 1 && b[n - 1] == '\r');     /* no bare LF */
	CHECK(memchr(b, '\r', n - 1) == NULL); /* no bare CR */
	return (long)(n - 1);
}

/* One response at b[0..len): its length, or 0 when it is not complete. Traps on bad syntax. */
static size_t parse_resp(const uint8_t *b, size_t len, bool head, bool eof, struct resp *rp)
{
	size_t pos;
	long n;

	memset(rp, 0, sizeof(*rp));
	if ((n = line_len(b, len)) < 0)
		return 0;
	CHECK(n >= 13 && memcmp(b, "HTTP/1.1 ", 9) == 0 && b[12] == ' ');
	CHECK(b[9] >= '1' && b[9] <= '9' && b[10] >= '0' && b[10] <= '9' && b[11] >= '0' &&
	      b[11] <= '9');
	rp->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	for (long i = 13; i < n; i++)
		CHECK(b[i] == '\t' || (b[i] >= 0x20 && b[i] != 0x7f));
	pos = (size_t)n + 2;
	for (;;) {
		const uint8_t *l = b + pos;
		size_t k = 0, vlen;
		const uint8_t *v;

		if ((n = line_len(l, len - pos)) < 0)
			return 0;
		pos += (size_t)n + 2;
		if (n == 0)
			break;
		while (k < (size_t)n && is_tchar(l[k]))
			k++;
		CHECK(k > 0 && k + 1 < (size_t)n + 1 && l[k] == ':' && l[k + 1] == ' ');
		v = l + k + 2;
		vlen = (size_t)n - k - 2;
		for (size_t i = 0; i < vlen; i++)
			CHECK(v[i] == '\t' || (v[i] >= 0x20 && v[i] != 0x7f));
		CHECK(!name_eq(l, k, "X-Evil") && !name_eq(l, k, "X-Late") &&
		      !name_eq(l, k, "X-Gone"));
		if (name_eq(l, k, "Content-Length")) {
			CHECK(!rp->has_cl && vlen >= 1 && vlen <= 19);
			rp->has_cl = true;
			for (size_t i = 0; i < vlen; i++) {
				CHECK(v[i] >= '0' && v[i] <= '9');
				rp->cl = rp->cl * 10 + (uint64_t)(v[i] - '0');
			}
		} else if (name_eq(l, k, "Transfer-Encoding")) {
			CHECK(!rp->chunked && vlen == 7 && memcmp(v, "chunked", 7) == 0);
			rp->chunked = true;
		} else if (name_eq(l, k, "Connection")) {
			CHECK(!rp->close && vlen == 5 && memcmp(v, "close", 5) == 0);
			rp->close = true;
		} else if (name_eq(l, k, "Date")) {
			rp->ndate++;
		}
	}
	CHECK(!(rp->has_cl && rp->chunked));
	if (rp->status < 200) {
		/* the only interim answer the server makes */
		CHECK(rp->status == 100 && !rp->has_cl && !rp->chunked && !rp->close);
		return pos;
	}
	CHECK(rp->ndate >= 1);
	if (rp->status == 204)
		CHECK(!rp->has_cl && !rp->chunked);
	if (head || !status_has_body(rp->status))
		return pos;
	if (rp->chunked) {
		for (;;) {
			uint64_t size = 0;
			const uint8_t *l = b + pos;

			if ((n = line_len(l, len - pos)) < 0)
				return 0;
			CHECK(n >= 1 && n <= 16);
			for (long i = 0; i < n; i++) {
				int d = l[i] >= '0' && l[i] <= '9'   ? l[i] - '0'
				        : l[i] >= 'a' && l[i] <= 'f' ? l[i] - 'a' + 10
				        : l[i] >= 'A' && l[i] <= 'F' ? l[i] - 'A' + 10
				                                     : -1;
				CHECK(d >= 0);
				size = size * 16 + (uint64_t)d;
			}
			pos += (size_t)n + 2;
			if (size == 0) { /* the server writes no trailer */
				if (len - pos < 2)
					return 0;
				CHECK(b[pos] == '\r' && b[pos + 1] == '\n');
				return pos + 2;
			}
			if (len - pos < size + 2)
				return 0;
			CHECK(b[pos + size] == '\r' && b[pos + size + 1] == '\n');
			rp->dec = realloc(rp->dec, rp->dec_len + size + 1);
			if (rp->dec == NULL)
				abort();
			memcpy(rp->dec + rp->dec_len, b + pos, size);
			rp->dec_len += size;
			pos += size + 2;
		}
	}
	if (rp->has_cl) {
		if (len - pos < rp->cl)
			return 0;
		rp->body = b + pos;
		rp->body_len = rp->cl;
		return pos + rp->cl;
	}
	/* delimited by the close (a streamed answer to HTTP/1.0) */
	CHECK(rp->close);
	rp->body = b + pos;
	rp->body_len = len - pos;
	return eof ? len : 0;
}

static bool is_refusal(int status)
{
	static const int st[] = {400, 408, 413, 417, 431, 500, 501, 503, 505};

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		if (status == st[i])
			return true;
	return false;
}

/* The answer to r (a complete one) is what the handler gave. */
static void check_answer(const struct rec *r, const struct resp *rp)
{
	bool body = status_has_body(r->want_status);
	bool streamed = r->start_called;

	CHECK(rp->status == r->want_status);
	if (r->minor == 0 || r->handler_close)
		CHECK(rp->close);
	if (!streamed) {
		CHECK(rp->has_cl == body && !rp->chunked);
		if (body)
			CHECK(rp->cl == (r->exp_null_body ? 0 : r->exp_len));
	} else {
		CHECK(!rp->has_cl);
		CHECK(rp->chunked == (body && r->minor == 1));
		if (body && r->minor == 0)
			CHECK(rp->close);
	}
	if (r->head || !body)
		return;
	if (rp->chunked)
		CHECK(rp->dec_len == r->exp_len && memcmp(rp->dec, r->exp, r->exp_len) == 0);
	else
		CHECK(rp->body_len == (r->exp_null_body ? 0 : r->exp_len) &&
		      (rp->body_len == 0 || memcmp(rp->body, r->exp, r->exp_len) == 0));
}

static void check_conn(size_t ci)
{
	struct conn *c = &g.c[ci];
	struct rec *r = g.recs;
	size_t pos = 0;
	struct resp rp;

	if (getenv("MBX_FUZZ_DUMP") != NULL) {
		fprintf(stderr, "---- connection %zu: %zu bytes in, %zu out%s ----\n", ci, c->len,
		        c->resp_len, c->may_truncate ? " (may be cut)" : "");
		fwrite(c->resp, 1, c->resp_len, stderr);
	}
	if (c->resp_full)
		return;
	while (r != NULL && r->conn != (int)ci)
		r = r->next;
	while (pos < c->resp_len) {
		size_t n = parse_resp(c->resp + pos, c->resp_len - pos, r != NULL && r->head,
		                      c->eof, &rp);

		if (n == 0) { /* cut short */
			free(rp.dec);
			CHECK(c->may_truncate);
			return;
		}
		pos += n;
		if (rp.status < 200)
			continue;
		if (r != NULL && r->complete) {
			check_answer(r, &rp);
		} else if (r != NULL) {
			/* a stream cut (by an abort or a client gone): it looks complete when it
			 * has no body (HEAD, 204, 304) or a close-delimited one; nothing follows */
			CHECK(r->started && rp.status == r->want_status && pos == c->resp_len);
			if (!r->head && status_has_body(r->want_status)) {
				CHECK(!rp.has_cl && !rp.chunked && rp.close);
				CHECK(rp.body_len <= r->exp_len &&
				      (rp.body_len == 0 ||
				       memcmp(rp.body, r->exp, rp.body_len) == 0));
			}
		} else {
			CHECK(is_refusal(rp.status) && rp.close && rp.has_cl && rp.cl == 0);
		}
		free(rp.dec);
		if (rp.close)
			CHECK(pos == c->resp_len);
		if (r != NULL)
			do
				r = r->next;
			while (r != NULL && r->conn != (int)ci);
	}
	/* every answer queued while attached arrived, unless the bytes were cut */
	if (!c->may_truncate)
		for (; r != NULL; r = r->next)
			CHECK(r->conn != (int)ci || !r->complete);
}

/* ---- one input --------------------------------------------------------------------------- */

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

static void init_once(void)
{
	static bool fired;
	struct event *ev;
	struct timeval tv = {1, 0};

	signal(SIGPIPE, SIG_IGN); /* as the daemon: writing to a client gone is EPIPE */
	mbx_log_set_level(MBX_LOG_ERROR);
	mbx_log_set_hook(log_hook, NULL);
	if (getenv("MBX_FUZZ_DUMP") != NULL) { /* and the server's story */
		mbx_log_set_level(MBX_LOG_DEBUG);
		mbx_log_set_trace(MBX_TRACE_HTTP, true);
	}
	memset(big_bytes, 'b', sizeof(big_bytes));
	g.base = event_base_new();
	if (g.base == NULL)
		abort();
	/* the virtual clock must drive libevent's timers, or timeouts would need real time */
	ev = evtimer_new(g.base, probe_cb, &fired);
	if (ev == NULL)
		abort();
	evtimer_add(ev, &tv);
	vclock_ms += 1100;
	if (event_base_loop(g.base, EVLOOP_NONBLOCK) < 0 || !fired) {
		fprintf(stderr, "fuzz-httpd: the virtual clock does not reach libevent\n");
		abort();
	}
	event_free(ev);
}

/* Splits one connection's bytes into pieces at "@@" and "@T@". */
static void split_pieces(struct conn *c)
{
	size_t start = 0, i = 0;

	while (i < c->len && c->npieces < 62) {
		size_t m = 0;

		if (c->bytes[i] == '@' && c->len - i >= 2 && c->bytes[i + 1] == '@')
			m = 2;
		else if (c->bytes[i] == '@' && c->len - i >= 3 && c->bytes[i + 2] == '@' &&
		         (c->bytes[i + 1] == 'T' || c->bytes[i + 1] == 'B'))
			m = 3;
		if (m == 0) {
			i++;
			continue;
		}
		c->piece[c->npieces] = c->bytes + start;
		c->piece_len[c->npieces] = i - start;
		c->piece_tick[c->npieces] = m == 3 && c->bytes[i + 1] == 'T';
		c->npieces++;
		if (m == 3 && c->bytes[i + 1] == 'B') { /* 100000 bytes at the next turn */
			c->piece[c->npieces] = big_bytes;
			c->piece_len[c->npieces] = FZ_BIG;
			c->piece_tick[c->npieces] = false;
			c->npieces++;
		}
		i += m;
		start = i;
	}
	c->piece[c->npieces] = c->bytes + start;
	c->piece_len[c->npieces] = c->len - start;
	c->piece_tick[c->npieces] = false;
	c->npieces++;
}

static void open_conn(size_t i, const uint8_t *bytes, size_t len)
{
	struct conn *c = &g.c[i];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(40001)};
	int sv[2];
	long before = g.nconn;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6.sin6_addr = in6addr_loopback;
	c->bytes = bytes;
	c->len = len;
	split_pieces(c);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	c->fd = sv[1];
	if (i == 0)
		CHECK(mbx_httpd_add_connection(g.h, sv[0], (struct sockaddr *)&sin, sizeof(sin)) ==
		      0);
	else if (i == 1)
		CHECK(mbx_httpd_add_connection(g.h, sv[0], (struct sockaddr *)&sin6,
		                               sizeof(sin6)) == 0);
	else
		CHECK(mbx_httpd_add_connection(g.h, sv[0], NULL, 0) == 0);
	CHECK(g.nconn == before + 1);
}

/* The next "@N@" in [p, end), or NULL. */
static const uint8_t *find_marker(const uint8_t *p, const uint8_t *end)
{
	for (; end - p >= 3; p++)
		if (p[0] == '@' && p[1] == 'N' && p[2] == '@')
			return p;
	return NULL;
}

static bool live_requests(void)
{
	for (struct rec *r = g.recs; r != NULL; r = r->next)
		if (r->req != NULL)
			return true;
	return false;
}

static void run(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + FZ_HDR, *end = data + size;
	size_t nturns = 0;
	bool set_limits = data[1] & 0x40, free_early = data[1] & 0x80;

	g.lim.max_head_bytes = head_sizes[data[0] & 7];
	g.lim.max_body_bytes = body_sizes[(data[0] >> 3) & 7];
	g.lim.timeout_seconds = timeouts[data[0] >> 6];
	g.lim2.max_head_bytes = head_sizes[(data[0] >> 3) & 7];
	g.lim2.max_body_bytes = body_sizes[data[0] & 7];
	g.lim2.timeout_seconds = timeouts[((data[0] >> 6) + 1) & 3];
	g.max_body_seen = g.lim.max_body_bytes;
	if (set_limits && g.lim2.max_body_bytes > g.max_body_seen)
		g.max_body_seen = g.lim2.max_body_bytes;
	memcpy(g.actions, data + 2, 4);
	g.h = mbx_httpd_new(g.base, &g.lim);
	if (g.h == NULL)
		abort();
	mbx_httpd_set_cb(g.h, handler, NULL);
	mbx_httpd_set_conncb(g.h, conn_cb, NULL);

	/* the connections, split at "@N@" */
	while (g.nconns < FZ_CONNS) {
		const uint8_t *m = NULL;

		if (g.nconns + 1 < FZ_CONNS)
			m = find_marker(p, end);
		open_conn(g.nconns, p, (size_t)((m != NULL ? m : end) - p));
		g.c[g.nconns].end_mode = (data[1] >> (2 * g.nconns)) & 3;
		if (g.c[g.nconns].npieces > nturns)
			nturns = g.c[g.nconns].npieces;
		g.nconns++;
		if (m == NULL)
			break;
		p = m + 3;
	}

	/* piece k of every connection at turn k */
	for (size_t k = 0; k < nturns; k++) {
		bool tick = false;

		for (size_t i = 0; i < g.nconns; i++) {
			g.c[i].allowed = k + 1;
			client_write(&g.c[i]);
			if (k < g.c[i].npieces && g.c[i].piece_tick[k])
				tick = true;
		}
		if (k == 1 && set_limits) {
			mbx_httpd_set_limits(g.h, &g.lim2);
			mbx_httpd_set_max_body(g.h, g.lim2.max_body_bytes);
		}
		turn();
		/* time passes while the server waits (not while it could not run: a jump before
		 * the loop ran would be a stalled loop, whose timeouts are not the server's fault)
		 */
		if (tick) {
			vclock_ms += 1100;
			turn();
		}
	}

	/* the end: held requests answered from round 3, the clock moves from round 5 */
	/* a request may need a turn of its own (a stream ends a turn after it starts), and
	 * pipelined ones come one after the other: a round more for each request seen */
	for (unsigned r = 0; r < FZ_ROUNDS + g.nreq; r++) {
		if (r == 3)
			g.endgame = true;
		for (size_t i = 0; i < g.nconns; i++) {
			struct conn *c = &g.c[i];

			if (c->end_mode == 1 || c->end_mode == 2)
				client_end(c, c->end_mode);
			else if (c->end_mode == 3 && r >= 4)
				client_end(c, 1);
		}
		if (r == 2 && free_early && g.h != NULL) {
			mbx_httpd_free(&g.h);
			CHECK(g.nconn == 0);
			for (size_t i = 0; i < g.nconns; i++)
				g.c[i].may_truncate = true;
		}
		if (r >= 5)
			vclock_ms += r < 12 ? 1100 : 30000;
		turn();
		if (r >= 4 && g.nconn == 0 && !live_requests())
			break;
	}

	CHECK(g.nconn == 0);
	if (g.h != NULL)
		CHECK(mbx_httpd_connections(g.h) == 0);
	for (size_t i = 0; i < g.nconns; i++) {
		client_read(&g.c[i]);
		CHECK(g.c[i].fd < 0 || g.c[i].eof); /* the server closed: the client sees it */
	}
	/* each request: answered while attached, aborted, or detached with one close callback */
	for (struct rec *r = g.recs; r != NULL; r = r->next) {
		CHECK(r->req == NULL);
		CHECK(r->closecbs <= 1);
		if (!r->complete && !r->aborted)
			CHECK(r->closecbs == 1);
	}
	for (size_t i = 0; i < g.nconns; i++)
		check_conn(i);
}

static void cleanup(void)
{
	mbx_httpd_free(&g.h);
	while (g.recs != NULL) {
		struct rec *r = g.recs;

		g.recs = r->next;
		if (r->req != NULL)
			mbx_http_reply(r->req, 200, NULL, NULL, 0);
		free(r->src);
		free(r->exp);
		free(r);
	}
	for (size_t i = 0; i < g.nconns; i++) {
		if (g.c[i].fd >= 0)
			close(g.c[i].fd);
		free(g.c[i].resp);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_base *base;

	if (g.base == NULL)
		init_once();
	if (size < FZ_HDR)
		return 0;
	base = g.base;
	memset(&g, 0, sizeof(g));
	g.base = base;
	g.recs_tail = &g.recs;
	run(data, size);
	cleanup();
	return 0;
}
