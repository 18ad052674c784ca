/*
 * httpd-reply.c: a request of mbxstore's HTTP/1.1 server as the handler sees it
 * (include/mbx/httpd.h): its accessors, the response header lines, and the answers, in one
 * piece (Content-Length, RFC 9112 6.3) or streamed (chunked, RFC 9112 7.1; HTTP/1.0: ended by
 * the close). Status line, header lines, the server's own headers (Date per RFC 9110 6.6.1,
 * framing, Connection: close) and the body are written into one contiguous reservation of the
 * output buffer: one chain, so one write and one TLS record. No printf on this path.
 */
#include "mapihttp/httpd-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mbx/log.h"
#include "mbx/textfmt.h"

/* A streamed answer's size hint beyond this is not reserved ahead. */
#define HTTPD_HINT_MAX ((size_t)4 << 20)

/* ---- the request ------------------------------------------------------------------------- */

enum mbx_http_method mbx_http_req_method(const struct mbx_http_req *req)
{
	return req->head.method;
}

const char *mbx_http_req_method_name(const struct mbx_http_req *req)
{
	return req->head.method_name;
}

const char *mbx_http_req_target(const struct mbx_http_req *req)
{
	return req->head.target;
}

const char *mbx_http_req_path(struct mbx_http_req *req)
{
	if (!req->path_done) {
		int n = mbx_http_target_path(req->head.target, req->pathbuf, req->pathcap);

		req->path = n >= 0 ? req->pathbuf : NULL;
		req->path_done = true;
	}
	return req->path;
}

unsigned mbx_http_req_minor(const struct mbx_http_req *req)
{
	return req->head.minor;
}

size_t mbx_http_req_nfields(const struct mbx_http_req *req)
{
	return req->head.nfields;
}

const char *mbx_http_req_field_name(const struct mbx_http_req *req, size_t i)
{
	return i < req->head.nfields ? req->head.fields[i].name : NULL;
}

const char *mbx_http_req_field_value(const struct mbx_http_req *req, size_t i)
{
	return i < req->head.nfields ? req->head.fields[i].value : NULL;
}

const char *mbx_http_req_header(const struct mbx_http_req *req, const char *name)
{
	return mbx_http_head_field(&req->head, name);
}

const uint8_t *mbx_http_req_body(const struct mbx_http_req *req, size_t *len_r)
{
	if (len_r != NULL)
		*len_r = req->body_len;
	return req->body_len > 0 ? req->body : (const uint8_t *)"";
}

const struct sockaddr *mbx_http_req_peer(const struct mbx_http_req *req, socklen_t *len_r)
{
	if (len_r != NULL)
		*len_r = req->peerlen;
	return (const struct sockaddr *)&req->peer;
}

const char *mbx_http_req_peer_name(const struct mbx_http_req *req)
{
	return req->peer_name;
}

bool mbx_http_req_attached(const struct mbx_http_req *req)
{
	return req->conn != NULL;
}

void mbx_http_req_set_closecb(struct mbx_http_req *req, mbx_http_close_fn *fn, void *arg)
{
	req->close_fn = fn;
	req->close_arg = arg;
}

void httpd_req_free(struct mbx_http_req *req)
{
	if (req->hdr != req->hdr_inline)
		free(req->hdr);
	free(req->body_heap);
	free(req);
}

void httpd_req_detach(struct mbx_http_req *req)
{
	mbx_http_close_fn *fn = req->close_fn;

	req->conn = NULL;
	req->close_fn = NULL;
	if (fn != NULL)
		fn(req, req->close_arg); /* may answer, and so free, req */
}

/* ---- response header lines --------------------------------------------------------------- */

/* tchar (RFC 9110 5.6.2) */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
	['-'] = 1, ['.'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
	['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
	['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
	['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,
	['x'] = 1, ['y'] = 1, ['z'] = 1, ['|'] = 1, ['~'] = 1,
};

static bool bytes_crlfnul(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
			return true;
	return false;
}

/* Whether v[0..len) holds a CR, LF or NUL. Eight bytes at a time: a word with no byte below
 * 0x0e (the exact "has a byte less than n" test of the bit-twiddling folklore) holds none;
 * one with such a byte (HTAB, allowed, is one) is looked at byte by byte. */
static bool has_crlfnul(const char *v, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		uint64_t w;

		memcpy(&w, v + i, 8);
		if (((w - ones * 0x0e) & ~w & highs) != 0 && bytes_crlfnul(v + i, 8))
			return true;
	}
	return bytes_crlfnul(v + i, len - i);
}

static void header_dropped(const struct mbx_http_req *req, const char *name, size_t nlen,
                           const char *why)
{
	char esc[96];

	mbx_log(MBX_LOG_WARNING, "http: response header \"%s\" to %s dropped: %s",
	        mbx_log_escape(name, nlen, esc, sizeof(esc)), req->peer_name, why);
}

static bool name_is(const char *name, size_t nlen, const char *what, size_t wlen)
{
	return nlen == wlen && strncasecmp(name, what, wlen) == 0;
}

/* Whether a Connection value lists "close" (case-insensitive, RFC 9110 7.6.1). */
static bool lists_close(const char *v, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - start == 5 && strncasecmp(v + start, "close", 5) == 0)
			return true;
	}
	return false;
}

/* The fields the server writes itself: Date is noted (the server adds none then), Connection
 * is taken as asking for the close, Content-Length and Transfer-Encoding are refused. Returns
 * true when the line is not to be added. First letter first: most names are none of these. */
static bool server_field(struct mbx_http_req *req, const char *name, size_t nlen,
                         const char *value, size_t len)
{
	unsigned char first = (unsigned char)name[0] | 0x20;

	if (first != 'c' && first != 'd' && first != 't')
		return false;
	if (name_is(name, nlen, "Date", 4)) {
		req->has_date = true;
	} else if (name_is(name, nlen, "Connection", 10)) {
		if (lists_close(value, len))
			req->close = true;
		return true; /* the server writes "Connection: close" when it closes */
	} else if (name_is(name, nlen, "Content-Length", 14) ||
	           name_is(name, nlen, "Transfer-Encoding", 17)) {
		header_dropped(req, name, nlen, "the server frames the answer");
		return true;
	}
	return false;
}

void mbx_http_req_add_header_n(struct mbx_http_req *req, const char *name, const char *value,
                               size_t len)
{
	size_t nlen = 0, need;
	char *p;

	if (req == NULL || req->conn == NULL || name == NULL)
		return; /* detached: nothing will be sent */
	if (req->phase != HTTPD_REQ_HELD) {
		header_dropped(req, name, strlen(name), "the answer has started");
		return;
	}
	while (tchar[(unsigned char)name[nlen]])
		nlen++;
	if (nlen == 0 || name[nlen] != '\0') {
		header_dropped(req, name, strlen(name), "the name is not a token");
		return;
	}
	if (value == NULL && len > 0) {
		header_dropped(req, name, nlen, "no value");
		return;
	}
	if (has_crlfnul(value, len)) {
		header_dropped(req, name, nlen, "the value holds CR, LF or NUL");
		return;
	}
	if (server_field(req, name, nlen, value, len))
		return;
	need = nlen + 2 + len + 2;
	if (req->hdr_cap - req->hdr_len < need) {
		size_t cap = req->hdr_cap * 2;

		if (cap - req->hdr_len < need)
			cap = req->hdr_len + need;
		if (req->hdr == req->hdr_inline) {
			p = malloc(cap);
			if (p != NULL)
				memcpy(p, req->hdr, req->hdr_len);
		} else {
			p = realloc(req->hdr, cap);
		}
		if (p == NULL) {
			header_dropped(req, name, nlen, "out of memory");
			return;
		}
		req->hdr = p;
		req->hdr_cap = cap;
	}
	p = req->hdr + req->hdr_len;
	memcpy(p, name, nlen);
	p[nlen] = ':';
	p[nlen + 1] = ' ';
	p += nlen + 2;
	if (len > 0)
		memcpy(p, value, len);
	p[len] = '\r';
	p[len + 1] = '\n';
	req->hdr_len += need;
}

void mbx_http_req_add_header(struct mbx_http_req *req, const char *name, const char *value)
{
	if (req == NULL || req->conn == NULL)
		return;
	mbx_http_req_add_header_n(req, name, value, value != NULL ? strlen(value) : 0);
}

/* ---- the status line and the header block ----------------------------------------------- */

const char *httpd_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

struct head_plan {
	int status;
	const char *reason;
	size_t rlen;
	const char *hdr; /* the handler's lines */
	size_t hdr_len;
	bool date;    /* add Date */
	bool length;  /* add Content-Length: clen */
	bool chunked; /* add Transfer-Encoding: chunked */
	bool close;   /* add Connection: close */
	uint64_t clen;
};

static char *put_hex(char *p, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

/* Fills in status, reason and the handler's lines; checks what the handler gave. */
static void plan_init(struct head_plan *hp, const struct mbx_http_req *req, int status,
                      const char *reason)
{
	memset(hp, 0, sizeof(*hp));
	if (status < 100 || status > 999) {
		mbx_log(MBX_LOG_ERROR, "http: answer to %s with status %d: sent as 500",
		        req != NULL ? req->peer_name : "-", status);
		status = 500;
		reason = NULL;
	}
	hp->status = status;
	if (reason != NULL) {
		/* reason-phrase = *( HTAB / SP / VCHAR / obs-text ), RFC 9112 4 */
		for (const unsigned char *r = (const unsigned char *)reason; *r != 0; r++) {
			if ((*r < 0x20 && *r != '\t') || *r == 0x7f) {
				mbx_log(MBX_LOG_WARNING, "http: reason phrase of a %d answer to %s "
				        "holds a control character: the standard one is sent",
				        status, req != NULL ? req->peer_name : "-");
				reason = NULL;
				break;
			}
		}
	}
	hp->reason = reason != NULL ? reason : httpd_reason(status);
	hp->rlen = strlen(hp->reason);
	if (req != NULL) {
		hp->hdr = req->hdr;
		hp->hdr_len = req->hdr_len;
		hp->date = !req->has_date;
	} else {
		hp->date = true;
	}
}

static size_t plan_size(const struct head_plan *hp)
{
	return sizeof("HTTP/1.1 200 \r\n") - 1 + hp->rlen + hp->hdr_len +
	       (hp->date ? sizeof("Date: \r\n") - 1 + HTTPD_DATE_LEN : 0) +
	       (hp->length ? sizeof("Content-Length: \r\n") - 1 + 20 : 0) +
	       (hp->chunked ? sizeof("Transfer-Encoding: chunked\r\n") - 1 : 0) +
	       (hp->close ? sizeof("Connection: close\r\n") - 1 : 0) + 2;
}

static char *plan_write(char *p, const struct head_plan *hp, struct mbx_httpd *h)
{
	p = LIT(p, "HTTP/1.1 ");
	p[0] = (char)('0' + hp->status / 100);
	p[1] = (char)('0' + hp->status / 10 % 10);
	p[2] = (char)('0' + hp->status % 10);
	p[3] = ' ';
	p += 4;
	memcpy(p, hp->reason, hp->rlen);
	p += hp->rlen;
	p = LIT(p, "\r\n");
	if (hp->hdr_len > 0) {
		memcpy(p, hp->hdr, hp->hdr_len);
		p += hp->hdr_len;
	}
	if (hp->date) {
		p = LIT(p, "Date: ");
		memcpy(p, httpd_date(h), HTTPD_DATE_LEN);
		p += HTTPD_DATE_LEN;
		p = LIT(p, "\r\n");
	}
	if (hp->length) {
		p = LIT(p, "Content-Length: ");
		p = mbx_fmt_u64(p, hp->clen);
		p = LIT(p, "\r\n");
	}
	if (hp->chunked)
		p = LIT(p, "Transfer-Encoding: chunked\r\n");
	if (hp->close)
		p = LIT(p, "Connection: close\r\n");
	return LIT(p, "\r\n");
}

/* Writes head and body into buf as one contiguous piece. Returns 0 or -1 (out of memory). */
static int write_answer(struct evbuffer *buf, const struct head_plan *hp, struct mbx_httpd *h,
                        const void *body, size_t len)
{
	struct evbuffer_iovec v;
	size_t total = plan_size(hp) + len;
	char *p;

	if (evbuffer_reserve_space(buf, (ev_ssize_t)total, &v, 1) < 1 || v.iov_len < total)
		return -1;
	p = plan_write(v.iov_base, hp, h);
	if (len > 0) {
		memcpy(p, body, len);
		p += len;
	}
	v.iov_len = (size_t)(p - (char *)v.iov_base);
	return evbuffer_commit_space(buf, &v, 1);
}

int httpd_write_error(struct httpd_conn *c, int status)
{
	struct head_plan hp;

	plan_init(&hp, NULL, status, NULL);
	hp.length = true;
	hp.clen = 0;
	hp.close = true;
	return write_answer(bufferevent_get_output(c->bev), &hp, c->h, NULL, 0);
}

static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* ---- answers ----------------------------------------------------------------------------- */

void mbx_http_reply(struct mbx_http_req *req, int status, const char *reason, const void *body,
                    size_t len)
{
	struct httpd_conn *c;
	struct head_plan hp;
	size_t send;

	if (req == NULL)
		return;
	c = req->conn;
	if (c == NULL) {
		httpd_req_free(req);
		return;
	}
	if (req->phase != HTTPD_REQ_HELD) {
		mbx_log(MBX_LOG_ERROR, "http: answer to %s given twice: the connection is closed",
		        req->peer_name);
		mbx_http_req_abort(req);
		return;
	}
	if (body == NULL)
		len = 0; /* the length sent is the length of what is sent */
	plan_init(&hp, req, status, reason);
	hp.length = status_has_body(hp.status);
	hp.clen = len;
	hp.close = !req->head.keep_alive || req->close;
	send = hp.length && req->head.method != MBX_HTTP_HEAD ? len : 0;
	if (write_answer(bufferevent_get_output(c->bev), &hp, c->h, body, send) != 0) {
		mbx_log(MBX_LOG_ERROR, "http: out of memory answering %s", req->peer_name);
		mbx_http_req_abort(req);
		return;
	}
	c->req = NULL;
	httpd_req_free(req);
	httpd_conn_answered(c, hp.close);
}

/* A streamed answer cannot be completed (out of memory): its connection is closed without
 * the rest, and req is detached (its close callback runs) but not freed: the handler goes on
 * with chunks, which do nothing now, and ends or drops it as usual. */
static void stream_fail(struct mbx_http_req *req)
{
	mbx_log(MBX_LOG_ERROR, "http: out of memory answering %s", req->peer_name);
	if (req->conn != NULL)
		httpd_conn_free(req->conn); /* c->req is req: detached, not freed */
}

void mbx_http_reply_start(struct mbx_http_req *req, int status, const char *reason,
                          size_t size_hint)
{
	struct httpd_conn *c;
	struct head_plan hp;
	bool body;

	if (req == NULL)
		return;
	if (req->phase != HTTPD_REQ_HELD) {
		mbx_log(MBX_LOG_ERROR, "http: answer to %s started twice", req->peer_name);
		return;
	}
	req->phase = HTTPD_REQ_STREAM;
	c = req->conn;
	if (c == NULL)
		return;
	plan_init(&hp, req, status, reason);
	body = status_has_body(hp.status);
	/* HTTP/1.0 has no chunks: the end of the connection ends the body */
	hp.close = !req->head.keep_alive || req->close || (body && req->head.minor == 0);
	hp.chunked = body && req->head.minor >= 1;
	req->stream_close = hp.close;
	req->stream_chunked = hp.chunked;
	req->stream_body = body && req->head.method != MBX_HTTP_HEAD;
	if (size_hint > HTTPD_HINT_MAX)
		size_hint = HTTPD_HINT_MAX;
	if (c->stage == NULL)
		c->stage = evbuffer_new();
	/* one chain for the head and the chunks to come (with room for a few chunk lines) */
	if (c->stage == NULL ||
	    evbuffer_expand(c->stage, plan_size(&hp) + (req->stream_body ? size_hint + 64 : 0)) != 0 ||
	    write_answer(c->stage, &hp, c->h, NULL, 0) != 0) {
		stream_fail(req);
		return;
	}
	/* A streamed answer may last (a held NotificationWait): reading resumes so that a client
	 * that goes away (EOF or reset) is noticed at once, as evhttp does, not at the next chunk;
	 * what it sends meanwhile waits in the input (bounded: httpd.c). */
	httpd_conn_read_resume(c);
	httpd_conn_schedule_flush(c);
}

void mbx_http_reply_chunk(struct mbx_http_req *req, const void *data, size_t len)
{
	struct httpd_conn *c;
	struct evbuffer_iovec v;
	char *p;

	if (req == NULL || len == 0)
		return;
	if (req->phase != HTTPD_REQ_STREAM) {
		mbx_log(MBX_LOG_ERROR, "http: a chunk for %s before the answer started",
		        req->peer_name);
		return;
	}
	c = req->conn;
	if (c == NULL || !req->stream_body)
		return;
	if (!req->stream_chunked) {
		if (evbuffer_add(c->stage, data, len) != 0)
			goto nomem;
	} else {
		/* the chunk line (16 hex digits at most), its CRLF and the CRLF after the data */
		if (len > (size_t)EV_SSIZE_MAX - 20 ||
		    evbuffer_reserve_space(c->stage, (ev_ssize_t)(len + 20), &v, 1) < 1 ||
		    v.iov_len < len + 20)
			goto nomem;
		p = put_hex(v.iov_base, len);
		p = LIT(p, "\r\n");
		memcpy(p, data, len);
		p = LIT(p + len, "\r\n");
		v.iov_len = (size_t)(p - (char *)v.iov_base);
		if (evbuffer_commit_space(c->stage, &v, 1) != 0)
			goto nomem;
	}
	httpd_conn_schedule_flush(c);
	return;
nomem:
	stream_fail(req); /* the answer cannot be completed: end it abruptly */
}

void mbx_http_reply_end(struct mbx_http_req *req)
{
	struct httpd_conn *c;
	bool close;

	if (req == NULL)
		return;
	c = req->conn;
	if (c == NULL) {
		httpd_req_free(req);
		return;
	}
	if (req->phase != HTTPD_REQ_STREAM) {
		mbx_log(MBX_LOG_ERROR, "http: answer to %s ended before it started", req->peer_name);
		mbx_http_req_abort(req);
		return;
	}
	if (req->stream_chunked && req->stream_body && evbuffer_add(c->stage, "0\r\n\r\n", 5) != 0) {
		mbx_log(MBX_LOG_ERROR, "http: out of memory answering %s", req->peer_name);
		mbx_http_req_abort(req);
		return;
	}
	close = req->stream_close;
	c->req = NULL;
	httpd_req_free(req);
	httpd_conn_answered(c, close);
	httpd_conn_schedule_flush(c);
}

void mbx_http_req_abort(struct mbx_http_req *req)
{
	struct httpd_conn *c;

	if (req == NULL)
		return;
	c = req->conn;
	if (c != NULL) {
		c->req = NULL;
		mbx_trace(MBX_TRACE_HTTP, "http: request from %s dropped by the handler",
		          req->peer_name);
	}
	httpd_req_free(req);
	if (c != NULL)
		httpd_conn_free(c);
}
