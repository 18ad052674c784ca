/*
 * httpd-read.c: reading one request off a connection of mbxstore's HTTP/1.1 server
 * (include/mbx/httpd.h): the head up to its empty line (RFC 9112 2.1, 2.2), parsed in place by
 * http-parse.c and copied with the body into one request-owned allocation, then the body by
 * Content-Length or chunked (RFC 9112 6.3, 7.1), with the limits of httpd.h and the interim
 * 100 (Continue) answer (RFC 9110 10.1.1, 15.2.1).
 */
#include "mapihttp/httpd-int.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

/* Input fed to the chunked decoder at a time: bounds the body buffer's slack. */
#define HTTPD_CHUNK_FEED 65536u
/* A Content-Length body up to this size is allocated with the request; a larger one grows as
 * its bytes come (doubling, up to the length announced): a client that announces
 * max_body_bytes and sends nothing holds no more than this. */
#define HTTPD_BODY_INLINE 65536u

/* Pointers the parser left into the input buffer are moved to the request's copy. */
static const char *rebase(const char *s, const char *from, size_t len, const char *to)
{
	if (s >= from && s <= from + len)
		return to + (s - from);
	return s; /* a static string of the parser's */
}

int httpd_read_head(struct httpd_conn *c, struct evbuffer *in)
{
	struct mbx_http_head head;
	struct mbx_http_req *req;
	size_t avail, want, end = 0, i, pathcap, bodycap = 0, skip;
	const char *why = NULL;
	char *p, *nl;
	int status;

	avail = evbuffer_get_length(in);
	if (avail == 0)
		return HTTPD_READ_MORE;
	if (c->scan == 0)
		httpd_conn_limits(c); /* a request starts: the limits of now */
	want = avail < c->lim.max_head_bytes ? avail : c->lim.max_head_bytes;
	p = (char *)evbuffer_pullup(in, (ev_ssize_t)want);
	if (p == NULL) {
		httpd_conn_refuse(c, 500, "out of memory");
		return HTTPD_READ_FAILED;
	}
	/* Empty lines before a request are ignored (RFC 9112 2.2): dropped here, they are not
	 * "some of a request" for the deadline. */
	if (p[0] == '\r' || p[0] == '\n') {
		for (skip = 0; skip < want;) {
			if (p[skip] == '\n')
				skip++;
			else if (p[skip] == '\r' && want - skip >= 2 && p[skip + 1] == '\n')
				skip += 2;
			else
				break;
		}
		if (skip > 0) {
			evbuffer_drain(in, skip);
			c->scan = 0;
			return skip < want ? HTTPD_READ_NEXT : HTTPD_READ_MORE;
		}
		/* a CR without its LF (yet): the scan below waits for more, the parser refuses it */
	}
	/* The head ends at the first empty line (LF or CRLF after a LF); searched from where
	 * the last look stopped, so a head that trickles in is not scanned again and again. */
	for (i = c->scan; i < want;) {
		nl = memchr(p + i, '\n', want - i);
		if (nl == NULL)
			break;
		i = (size_t)(nl - p);
		if (i >= 1 &&
		    (p[i - 1] == '\n' || (p[i - 1] == '\r' && i >= 2 && p[i - 2] == '\n'))) {
			end = i + 1;
			break;
		}
		i++;
	}
	if (end == 0) {
		c->scan = want;
		if (want >= c->lim.max_head_bytes) {
			httpd_conn_refuse(c, 431, "request head over the size limit");
			return HTTPD_READ_FAILED;
		}
		return HTTPD_READ_MORE;
	}
	status = mbx_http_parse_head(p, end, &head, &why);
	if (status != 0) {
		httpd_conn_refuse(c, status, why != NULL ? why : "malformed request head");
		return HTTPD_READ_FAILED;
	}
	if (head.has_length && head.content_length > c->lim.max_body_bytes) {
		httpd_conn_refuse(c, 413, "Content-Length over the body size limit");
		return HTTPD_READ_FAILED;
	}
	if (head.has_length && head.content_length <= HTTPD_BODY_INLINE)
		bodycap = (size_t)head.content_length;
	pathcap = strlen(head.target) + 1;
	req = malloc(sizeof(*req) + end + 1 + pathcap + bodycap + 1);
	if (req == NULL) {
		httpd_conn_refuse(c, 503, "out of memory for the request");
		return HTTPD_READ_FAILED;
	}
	memcpy(req->data, p, end);
	req->data[end] = '\0';
	/* the head: its fixed part and the fields used, pointers moved to req->data */
	memcpy(&req->head, &head, offsetof(struct mbx_http_head, fields));
	memcpy(&req->head.nfields, &head.nfields,
	       sizeof(head) - offsetof(struct mbx_http_head, nfields));
	req->head.method_name = rebase(head.method_name, p, end, req->data);
	req->head.target = rebase(head.target, p, end, req->data);
	for (i = 0; i < head.nfields; i++) {
		req->head.fields[i].name = rebase(head.fields[i].name, p, end, req->data);
		req->head.fields[i].value = rebase(head.fields[i].value, p, end, req->data);
		req->head.fields[i].name_len = head.fields[i].name_len;
		req->head.fields[i].value_len = head.fields[i].value_len;
	}
	evbuffer_drain(in, end);
	c->scan = 0;

	req->conn = c;
	req->phase = HTTPD_REQ_READING;
	req->close_fn = NULL;
	req->close_arg = NULL;
	req->has_date = false;
	req->close = false;
	req->path_done = false;
	req->stream_body = req->stream_chunked = req->stream_close = false;
	req->path = NULL;
	req->pathbuf = req->data + end + 1;
	req->pathcap = pathcap;
	req->body = (uint8_t *)req->pathbuf + pathcap;
	req->body[0] = 0;
	req->body_len = 0;
	req->body_want = head.has_length ? (size_t)head.content_length : 0;
	req->body_cap = 0;
	req->body_heap = NULL;
	req->hdr = req->hdr_inline;
	req->hdr_len = 0;
	req->hdr_cap = sizeof(req->hdr_inline);
	req->peerlen = c->peerlen;
	memcpy(&req->peer, &c->peer, c->peerlen > 0 ? c->peerlen : sizeof(req->peer.ss_family));
	memcpy(req->peer_name, c->peer_name, strlen(c->peer_name) + 1);
	c->req = req;

	if (!head.chunked && req->body_want == 0)
		return HTTPD_READ_DONE;
	if (head.chunked)
		mbx_http_chunked_init(&req->chunked, c->lim.max_body_bytes);
	c->state = HTTPD_BODY;
	avail = evbuffer_get_length(in);
	if (head.expect_continue &&
	    ((head.chunked && avail == 0 && c->lim.max_body_bytes > 0) || avail < req->body_want)) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		evbuffer_add(bufferevent_get_output(c->bev), cont, sizeof(cont) - 1);
	}
	return HTTPD_READ_NEXT;
}

/* Grows the request's body buffer to hold need bytes: doubling, at least floor, at most ceil
 * (need <= ceil). Returns 0, or -1 with the connection refused (503). */
static int body_grow(struct httpd_conn *c, struct mbx_http_req *req, size_t need, size_t floor,
                     size_t ceil)
{
	size_t cap = req->body_cap * 2;
	uint8_t *nb;

	if (cap < need)
		cap = need;
	if (cap < floor)
		cap = floor;
	if (cap > ceil)
		cap = ceil;
	nb = realloc(req->body_heap, cap);
	if (nb == NULL) {
		httpd_conn_refuse(c, 503, "out of memory for the request body");
		return -1;
	}
	req->body_heap = nb;
	req->body_cap = cap;
	req->body = nb;
	return 0;
}

static int read_chunked(struct httpd_conn *c, struct evbuffer *in)
{
	struct mbx_http_req *req = c->req;
	struct evbuffer_iovec v;
	size_t seg, got, used;
	int r;

	while (evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		seg = v.iov_len < HTTPD_CHUNK_FEED ? v.iov_len : HTTPD_CHUNK_FEED;
		if (req->body_cap - req->body_len < seg + 1 &&
		    body_grow(c, req, req->body_len + seg + 1, 1024, SIZE_MAX) != 0)
			return HTTPD_READ_FAILED;
		got = 0;
		used = 0;
		r = mbx_http_chunked_feed(&req->chunked, v.iov_base, seg,
		                          req->body_heap + req->body_len, &got, &used);
		req->body_len += got;
		if (r == MBX_HTTP_CHUNK_BAD) {
			httpd_conn_refuse(c, 400, "malformed chunked body");
			return HTTPD_READ_FAILED;
		}
		if (r == MBX_HTTP_CHUNK_TOO_LARGE) {
			httpd_conn_refuse(c, 413, "chunked body over the body size limit");
			return HTTPD_READ_FAILED;
		}
		evbuffer_drain(in, used);
		if (r == MBX_HTTP_CHUNK_DONE) {
			req->body_heap[req->body_len] = 0;
			req->body = req->body_heap;
			return HTTPD_READ_DONE;
		}
	}
	return HTTPD_READ_MORE;
}

int httpd_read_body(struct httpd_conn *c, struct evbuffer *in)
{
	struct mbx_http_req *req = c->req;
	size_t n, avail;

	if (req->head.chunked)
		return read_chunked(c, in);
	avail = evbuffer_get_length(in);
	n = req->body_want - req->body_len;
	if (n > avail)
		n = avail;
	/* a large body: room for what came, doubling, never past the length announced */
	if (n > 0 && req->body_want > HTTPD_BODY_INLINE && req->body_cap < req->body_len + n + 1 &&
	    body_grow(c, req, req->body_len + n + 1, HTTPD_BODY_INLINE, req->body_want + 1) != 0)
		return HTTPD_READ_FAILED;
	if (n > 0 && evbuffer_remove(in, req->body + req->body_len, n) != (int)n) {
		httpd_conn_refuse(c, 500, "cannot read the request body");
		return HTTPD_READ_FAILED;
	}
	req->body_len += n;
	if (req->body_len < req->body_want)
		return HTTPD_READ_MORE;
	req->body[req->body_len] = 0;
	return HTTPD_READ_DONE;
}
