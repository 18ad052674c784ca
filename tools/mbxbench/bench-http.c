/*
 * bench-http.c: the HTTP/1.1 response reader of mbxbench(1) (RFC 9112: status line, header
 * fields, message body length 6.3, chunked transfer coding 7.1). The server's bytes are not
 * trusted: every line and the body have a named limit, numbers are parsed digit by digit with
 * overflow checks, and a malformed response fails with a sentence instead of being guessed at.
 * Incremental: it takes whatever the connection delivered and resumes where it stopped.
 *
 * It keeps only what the MAPI/HTTP checks need ([MS-OXCMAPIHTTP] 2.2.3.3.3 X-ResponseCode;
 * protocol.md 5.3 the session cookies MapiContext / MapiSequence from Set-Cookie).
 */
#include "mbxbench.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

int bench_http_rsp_init(struct bench_http_rsp *rsp)
{
	memset(rsp, 0, sizeof(*rsp));
	rsp->body = evbuffer_new();
	return rsp->body == NULL ? -1 : 0;
}

void bench_http_rsp_deinit(struct bench_http_rsp *rsp)
{
	if (rsp->body != NULL)
		evbuffer_free(rsp->body);
	rsp->body = NULL;
}

void bench_http_rsp_reset(struct bench_http_rsp *rsp)
{
	struct evbuffer *body = rsp->body;

	memset(rsp, 0, sizeof(*rsp));
	rsp->body = body;
	if (body != NULL)
		evbuffer_drain(body, evbuffer_get_length(body));
	rsp->state = BENCH_HTTP_STATUS;
}

__attribute__((format(printf, 2, 3))) static int http_bad(struct bench_http_rsp *rsp,
                                                          const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rsp->err, sizeof(rsp->err), fmt, ap);
	va_end(ap);
	rsp->state = BENCH_HTTP_ERROR;
	return BENCH_HTTP_BAD;
}

/* Takes the next line out of in into line (NUL-terminated, without its end of line). Returns 1,
 * 0 when no full line is there yet, or BENCH_HTTP_BAD. */
static int http_line(struct bench_http_rsp *rsp, struct evbuffer *in, char *line, size_t *len_r,
                     const char *what)
{
	struct evbuffer_ptr p;
	size_t eol = 0, n;

	p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
	if (p.pos < 0) {
		if (evbuffer_get_length(in) > BENCH_HTTP_LINE_MAX)
			return http_bad(rsp, "%s longer than %u bytes", what, BENCH_HTTP_LINE_MAX);
		return 0;
	}
	n = (size_t)p.pos;
	if (n > BENCH_HTTP_LINE_MAX)
		return http_bad(rsp, "%s longer than %u bytes", what, BENCH_HTTP_LINE_MAX);
	if (evbuffer_remove(in, line, n) != (int)n)
		return http_bad(rsp, "cannot read the %s", what);
	evbuffer_drain(in, eol);
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return http_bad(rsp, "NUL byte in the %s", what);
	rsp->wire_bytes += n + eol;
	*len_r = n;
	return 1;
}

/* Decimal digits only, no sign, no blanks; fails past max. */
static int http_decimal(const char *s, size_t n, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*v_r = v;
	return 0;
}

static bool http_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether the comma-separated list holds token tok (case-insensitive). */
static bool http_list_has(const char *v, const char *tok)
{
	size_t tl = strlen(tok);

	while (*v != '\0') {
		size_t n;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, ", \t");
		if (n == tl && strncasecmp(v, tok, tl) == 0)
			return true;
		v += n;
		while (*v != '\0' && *v != ',')
			v++;
	}
	return false;
}

static int http_status_line(struct bench_http_rsp *rsp, const char *l, size_t n)
{
	uint64_t code;

	if (n < 12 || strncmp(l, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[7]) ||
	    l[8] != ' ')
		return http_bad(rsp, "not an HTTP/1.x status line");
	if (http_decimal(l + 9, 3, 999, &code) != 0 || code < 100 || code > 599 ||
	    (n > 12 && l[12] != ' '))
		return http_bad(rsp, "bad status code in the status line");
	rsp->minor = (unsigned)(l[7] - '0');
	rsp->status = (unsigned)code;
	/* HTTP/1.0 closes unless it says keep-alive. */
	rsp->close = rsp->minor == 0;
	return 0;
}

static int http_cookie(struct bench_http_rsp *rsp, const char *v)
{
	const char *eq = strchr(v, '='), *end, *why = NULL;
	size_t nl, vl;
	char *dst;
	bool *has;

	if (eq == NULL)
		return http_bad(rsp, "Set-Cookie without '='");
	nl = (size_t)(eq - v);
	while (nl > 0 && (v[nl - 1] == ' ' || v[nl - 1] == '\t'))
		nl--;
	if (nl == strlen(MBX_MH_COOKIE_CONTEXT) &&
	    strncmp(v, MBX_MH_COOKIE_CONTEXT, nl) == 0) {
		dst = rsp->context;
		has = &rsp->has_context;
	} else if (nl == strlen(MBX_MH_COOKIE_SEQUENCE) &&
	           strncmp(v, MBX_MH_COOKIE_SEQUENCE, nl) == 0) {
		dst = rsp->sequence;
		has = &rsp->has_sequence;
	} else {
		return 0; /* not ours */
	}
	eq++;
	while (*eq == ' ' || *eq == '\t')
		eq++;
	end = strchr(eq, ';');
	vl = end != NULL ? (size_t)(end - eq) : strlen(eq);
	while (vl > 0 && (eq[vl - 1] == ' ' || eq[vl - 1] == '\t'))
		vl--;
	if (vl >= 2 && eq[0] == '"' && eq[vl - 1] == '"') {
		eq++;
		vl -= 2;
	}
	if (vl == 0)
		return 0; /* a cookie being cleared */
	if (*has)
		return http_bad(rsp, "Set-Cookie names %.*s twice", (int)nl, v);
	if (mbx_mh_cookie_value_check(eq, vl, &why) != 0)
		return http_bad(rsp, "Set-Cookie %.*s: %s", (int)nl, v, why != NULL ? why : "bad");
	memcpy(dst, eq, vl);
	dst[vl] = '\0';
	*has = true;
	return 0;
}

static int http_header(struct bench_http_rsp *rsp, char *l, size_t n, bool trailer)
{
	char *colon = memchr(l, ':', n), *v, *e;
	size_t nl;
	uint64_t num;

	if (++rsp->nheaders > BENCH_HTTP_HEADERS_MAX)
		return http_bad(rsp, "more than %u header lines", BENCH_HTTP_HEADERS_MAX);
	if (colon == NULL || colon == l)
		return http_bad(rsp, "header line without a name and ':'");
	nl = (size_t)(colon - l);
	for (size_t i = 0; i < nl; i++)
		if (!http_tchar(l[i]))
			return http_bad(rsp, "bad character in a header name");
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	e = l + n;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	if (trailer)
		return 0;

	if (strcasecmp(l, "Content-Length") == 0) {
		if (http_decimal(v, strlen(v), UINT64_MAX >> 2, &num) != 0)
			return http_bad(rsp, "bad Content-Length");
		if (rsp->has_length && rsp->left != num)
			return http_bad(rsp, "two different Content-Length values");
		if (num > BENCH_HTTP_BODY_MAX)
			return http_bad(rsp, "Content-Length %llu exceeds the %u-byte limit",
			                (unsigned long long)num, BENCH_HTTP_BODY_MAX);
		rsp->has_length = true;
		rsp->left = num;
	} else if (strcasecmp(l, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return http_bad(rsp, "unsupported Transfer-Encoding \"%.40s\"", v);
		rsp->chunked = true;
	} else if (strcasecmp(l, "Connection") == 0) {
		if (http_list_has(v, "close"))
			rsp->close = true;
		else if (http_list_has(v, "keep-alive"))
			rsp->close = false;
	} else if (strcasecmp(l, "X-ResponseCode") == 0) {
		if (rsp->has_rc)
			return http_bad(rsp, "X-ResponseCode twice");
		if (http_decimal(v, strlen(v), UINT32_MAX, &num) != 0)
			return http_bad(rsp, "bad X-ResponseCode \"%.20s\"", v);
		rsp->has_rc = true;
		rsp->rc = (uint32_t)num;
	} else if (strcasecmp(l, "Set-Cookie") == 0) {
		return http_cookie(rsp, v);
	}
	return 0;
}

/* The header block ended: pick how the body is delimited. */
static int http_body_start(struct bench_http_rsp *rsp)
{
	if (rsp->status < 200) {
		/* 1xx: an interim response; the real one follows. */
		struct evbuffer *body = rsp->body;
		size_t wire = rsp->wire_bytes;

		memset(rsp, 0, sizeof(*rsp));
		rsp->body = body;
		rsp->wire_bytes = wire;
		rsp->state = BENCH_HTTP_STATUS;
		return 0;
	}
	if (rsp->chunked && rsp->has_length)
		return http_bad(rsp, "both Transfer-Encoding and Content-Length");
	if (rsp->status == 204 || rsp->status == 304) {
		rsp->state = BENCH_HTTP_DONE;
	} else if (rsp->chunked) {
		rsp->state = BENCH_HTTP_CHUNK_SIZE;
	} else if (rsp->has_length) {
		rsp->state = rsp->left == 0 ? BENCH_HTTP_DONE : BENCH_HTTP_BODY_LENGTH;
	} else {
		rsp->state = BENCH_HTTP_BODY_CLOSE;
		rsp->close = true;
	}
	return 0;
}

static int http_chunk_size(struct bench_http_rsp *rsp, const char *l, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n && isxdigit((unsigned char)l[i]); i++) {
		unsigned d = isdigit((unsigned char)l[i]) ? (unsigned)(l[i] - '0')
		                                          : (unsigned)(tolower((unsigned char)l[i]) -
		                                                       'a' + 10);
		if (i >= 15)
			return http_bad(rsp, "chunk size too long");
		v = v << 4 | d;
	}
	if (i == 0)
		return http_bad(rsp, "chunk size line without a hex size");
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < n && l[i] != ';')
		return http_bad(rsp, "junk after the chunk size");
	if (v == 0) {
		rsp->state = BENCH_HTTP_TRAILERS;
		return 0;
	}
	if (v > BENCH_HTTP_BODY_MAX - evbuffer_get_length(rsp->body))
		return http_bad(rsp, "chunked body exceeds the %u-byte limit", BENCH_HTTP_BODY_MAX);
	rsp->left = v;
	rsp->state = BENCH_HTTP_CHUNK_DATA;
	return 0;
}

/* Moves up to rsp->left bytes (or all for a read-until-close body) into the body buffer. */
static int http_move(struct bench_http_rsp *rsp, struct evbuffer *in, bool all)
{
	size_t avail = evbuffer_get_length(in), n = avail;

	if (!all && n > rsp->left)
		n = (size_t)rsp->left;
	if (all && evbuffer_get_length(rsp->body) + n > BENCH_HTTP_BODY_MAX)
		return http_bad(rsp, "body exceeds the %u-byte limit", BENCH_HTTP_BODY_MAX);
	if (n > 0 && evbuffer_remove_buffer(in, rsp->body, n) != (int)n)
		return http_bad(rsp, "cannot move the body");
	rsp->wire_bytes += n;
	if (!all)
		rsp->left -= n;
	return 0;
}

int bench_http_rsp_feed(struct bench_http_rsp *rsp, struct evbuffer *in)
{
	char line[BENCH_HTTP_LINE_MAX + 1];
	size_t n = 0;
	int rc;

	for (;;) {
		switch (rsp->state) {
		case BENCH_HTTP_STATUS:
			rc = http_line(rsp, in, line, &n, "status line");
			if (rc <= 0)
				return rc;
			if (http_status_line(rsp, line, n) != 0)
				return BENCH_HTTP_BAD;
			rsp->state = BENCH_HTTP_HEADERS;
			break;
		case BENCH_HTTP_HEADERS:
			rc = http_line(rsp, in, line, &n, "header line");
			if (rc <= 0)
				return rc;
			if (n == 0) {
				if (http_body_start(rsp) != 0)
					return BENCH_HTTP_BAD;
			} else if (line[0] == ' ' || line[0] == '\t') {
				return http_bad(rsp, "obsolete header line folding");
			} else if (http_header(rsp, line, n, false) != 0) {
				return BENCH_HTTP_BAD;
			}
			break;
		case BENCH_HTTP_BODY_LENGTH:
			if (http_move(rsp, in, false) != 0)
				return BENCH_HTTP_BAD;
			if (rsp->left > 0)
				return BENCH_HTTP_MORE;
			rsp->state = BENCH_HTTP_DONE;
			break;
		case BENCH_HTTP_BODY_CLOSE:
			if (http_move(rsp, in, true) != 0)
				return BENCH_HTTP_BAD;
			return BENCH_HTTP_MORE;
		case BENCH_HTTP_CHUNK_SIZE:
			rc = http_line(rsp, in, line, &n, "chunk size line");
			if (rc <= 0)
				return rc;
			if (http_chunk_size(rsp, line, n) != 0)
				return BENCH_HTTP_BAD;
			break;
		case BENCH_HTTP_CHUNK_DATA:
			if (http_move(rsp, in, false) != 0)
				return BENCH_HTTP_BAD;
			if (rsp->left > 0)
				return BENCH_HTTP_MORE;
			rsp->state = BENCH_HTTP_CHUNK_CRLF;
			break;
		case BENCH_HTTP_CHUNK_CRLF: {
			unsigned char c[2];
			ev_ssize_t got = evbuffer_copyout(in, c, 2);

			if (got < 1)
				return BENCH_HTTP_MORE;
			if (c[0] == '\n') {
				evbuffer_drain(in, 1);
				rsp->wire_bytes += 1;
			} else if (c[0] != '\r') {
				return http_bad(rsp, "chunk data not followed by CRLF");
			} else if (got < 2) {
				return BENCH_HTTP_MORE;
			} else if (c[1] != '\n') {
				return http_bad(rsp, "chunk data not followed by CRLF");
			} else {
				evbuffer_drain(in, 2);
				rsp->wire_bytes += 2;
			}
			rsp->state = BENCH_HTTP_CHUNK_SIZE;
			break;
		}
		case BENCH_HTTP_TRAILERS:
			rc = http_line(rsp, in, line, &n, "trailer line");
			if (rc <= 0)
				return rc;
			if (n == 0)
				rsp->state = BENCH_HTTP_DONE;
			else if (http_header(rsp, line, n, true) != 0)
				return BENCH_HTTP_BAD;
			break;
		case BENCH_HTTP_DONE:
			return BENCH_HTTP_DONE_RC;
		case BENCH_HTTP_ERROR:
		default:
			return BENCH_HTTP_BAD;
		}
	}
}

int bench_http_rsp_eof(struct bench_http_rsp *rsp)
{
	switch (rsp->state) {
	case BENCH_HTTP_BODY_CLOSE:
		rsp->state = BENCH_HTTP_DONE;
		return BENCH_HTTP_DONE_RC;
	case BENCH_HTTP_DONE:
		return BENCH_HTTP_DONE_RC;
	case BENCH_HTTP_STATUS:
		if (rsp->wire_bytes == 0)
			return http_bad(rsp, "connection closed before the response");
		return http_bad(rsp, "connection closed in the middle of the response");
	default:
		return http_bad(rsp, "connection closed in the middle of the response");
	}
}
