/*
 * http-parse.c: the HTTP/1.1 request syntax of mbxstore's own server, sans I/O (RFC 9112 2-3,
 * 5-7; RFC 9110 5.6, 8.6, 10.1.1): the end of a request head, the head parsed in place and the
 * path of a request-target (the chunked-body decoder is http-chunked.c). http-parse.h says
 * exactly what is accepted and which status refuses the rest.
 *
 * This is the hot path of every request: one pass over the head, no allocation; field values
 * and the target (most of a head's bytes) checked 16 bytes at a time with SSE2 (8 with a
 * portable word trick elsewhere), field names 16 at a time while they are letters, digits and
 * '-', a table lookup per byte otherwise; digit loops of our own; the four fields that matter
 * picked out by their length, then compared a word at a time.
 */
#include "mapihttp/http-parse.h"
#include "mapihttp/http-parse-int.h"

#include <string.h>

/* ---- character classes ------------------------------------------------------------------- */

/* The classes (C_TCHAR, C_TARGET, C_VALUE) and their table: http-parse-int.h. */
const uint8_t mbx_http_ctab[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, /* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
	4, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, /* 20 */
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, /* 30 */
	6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 40 */
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7, /* 50 */
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 60 */
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0, /* 70 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 80 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 90 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* a0 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* b0 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* c0 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* d0 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* e0 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* f0 */
};

static inline bool is_class(char c, unsigned cls)
{
	return (mbx_http_ctab[(uint8_t)c] & cls) != 0;
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Whether s[0..n) equals lower (n bytes, lowercase letters, digits and '-') ignoring the case
 * of letters. s holds token or field-value bytes only: for those, c | 0x20 equals a lowercase
 * letter, a digit or '-' only when c is that character or its capital (the other candidate
 * would be a control character), so one OR per byte is the whole case folding.
 */
static inline bool lower_eq(const char *s, const char *lower, size_t n)
{
	/* a word at a time (n is a constant where this is inlined); the last word overlaps */
	if (n >= 8) {
		uint64_t x, y;
		size_t i;

		for (i = 0; n - i >= 8; i += 8) {
			memcpy(&x, s + i, 8);
			memcpy(&y, lower + i, 8);
			if ((x | 0x2020202020202020u) != y)
				return false;
		}
		if (i == n)
			return true;
		memcpy(&x, s + n - 8, 8);
		memcpy(&y, lower + n - 8, 8);
		return (x | 0x2020202020202020u) == y;
	}
	if (n >= 4) {
		uint32_t x, y, x2, y2;

		memcpy(&x, s, 4);
		memcpy(&y, lower, 4);
		memcpy(&x2, s + n - 4, 4);
		memcpy(&y2, lower + n - 4, 4);
		return (x | 0x20202020u) == y && (x2 | 0x20202020u) == y2;
	}
	for (size_t i = 0; i < n; i++)
		if (((uint8_t)s[i] | 0x20u) != (uint8_t)lower[i])
			return false;
	return true;
}

/* ---- the end of the head ------------------------------------------------------------------ */

size_t mbx_http_head_end(const char *data, size_t len)
{
	const char *p = data, *e = data + len, *lf;

	for (;;) { /* leading empty lines (RFC 9112 2.2) */
		if (p < e && p[0] == '\n')
			p++;
		else if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else
			break;
	}
	/* p starts a line that is not empty: the head ends at the next empty line */
	while (p < e && (lf = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		p = lf + 1;
		if (p < e && p[0] == '\n')
			return (size_t)(p + 1 - data);
		if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - data);
	}
	return 0;
}

/* ---- the head ---------------------------------------------------------------------------- */

/*
 * skip_plain(p, e, lo): skips whole blocks of bytes that are all >= lo and not 0x7F, while a
 * whole block is left. Returns the first byte below lo or equal to 0x7F (SSE2), or the start of
 * the block that holds one (the portable word-at-a-time version), or the start of the partial
 * block at the end: the caller looks at the bytes from there one by one. Field values (lo 0x20;
 * HTAB stops the skip and is looked at by the caller) and request-targets (lo 0x21) are most of
 * a head's bytes. The loads go through memcpy: no pointer is cast onto the bytes.
 */
#if defined(__SSE2__) && !defined(MBX_HTTP_PARSE_PORTABLE)
#include <emmintrin.h>

#define MBX_HTTP_SSE2 1

#define BLOCK 16

static inline const char *skip_plain(const char *p, const char *e, uint8_t lo)
{
	const __m128i below = _mm_set1_epi8((char)(lo - 1)), del = _mm_set1_epi8(0x7F);

	while (e - p >= BLOCK) {
		__m128i x, bad;
		unsigned m;

		memcpy(&x, p, sizeof(x));
		/* x <= lo - 1 (unsigned) or x == 0x7F */
		bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, below), x), _mm_cmpeq_epi8(x, del));
		m = (unsigned)_mm_movemask_epi8(bad);
		if (m != 0)
			return p + __builtin_ctz(m);
		p += BLOCK;
	}
	return p;
}
#else
#define BLOCK 8

static inline const char *skip_plain(const char *p, const char *e, uint8_t lo)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

	while (e - p >= BLOCK) {
		uint64_t x, del;

		memcpy(&x, p, sizeof(x));
		del = x ^ (ones * 0x7F);
		/* "has a byte less than lo" (exact for lo <= 128 as a whole-word test, Bit
		 * Twiddling Hacks: hasless), "has a zero byte" after the XOR */
		if ((((x - ones * lo) & ~x) | ((del - ones) & ~del)) & highs)
			return p;
		p += BLOCK;
	}
	return p;
}
#endif

/* The end of the run of bytes of class cls from p (the first byte outside it, or e). */
static inline const char *span_plain(const char *p, const char *e, uint8_t lo, unsigned cls)
{
	for (;;) {
		const char *stop;

		p = skip_plain(p, e, lo);
		stop = e - p > BLOCK ? p + BLOCK : e;
		while (p < stop && is_class(*p, cls))
			p++;
		if (p < stop || p == e)
			return p;
	}
}

/* The end of the token from p (the first byte that is not a tchar, or e). With SSE2, sixteen
 * bytes at a time while they are letters, digits and '-' (field names are); a table lookup per
 * byte otherwise. */
static inline const char *span_token(const char *p, const char *e)
{
#ifdef MBX_HTTP_SSE2
	const __m128i a = _mm_set1_epi8('a'), z = _mm_set1_epi8(25), zero = _mm_set1_epi8('0');
	const __m128i nine = _mm_set1_epi8(9), dash = _mm_set1_epi8('-'), fold = _mm_set1_epi8(0x20);

	while (e - p >= BLOCK) {
		__m128i x, l, d, ok;
		unsigned m;

		memcpy(&x, p, sizeof(x));
		l = _mm_sub_epi8(_mm_or_si128(x, fold), a); /* letters: 0..25 */
		d = _mm_sub_epi8(x, zero);                  /* digits: 0..9 */
		ok = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, z), l),
		                  _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d),
		                               _mm_cmpeq_epi8(x, dash)));
		m = (unsigned)_mm_movemask_epi8(ok) ^ 0xFFFFu;
		if (m == 0) {
			p += BLOCK;
			continue;
		}
		p += __builtin_ctz(m);
		if (!is_class(*p, C_TCHAR))
			return p;
		p++; /* another tchar: on with the next block */
	}
#endif
	while (e - p >= 4) {
		if (!is_class(p[0], C_TCHAR))
			return p;
		if (!is_class(p[1], C_TCHAR))
			return p + 1;
		if (!is_class(p[2], C_TCHAR))
			return p + 2;
		if (!is_class(p[3], C_TCHAR))
			return p + 3;
		p += 4;
	}
	while (p < e && is_class(*p, C_TCHAR))
		p++;
	return p;
}

static enum mbx_http_method method_of(const char *m, size_t n)
{
	switch (n) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return MBX_HTTP_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return MBX_HTTP_PUT;
		break;
	case 4:
		if (memcmp(m, "POST", 4) == 0)
			return MBX_HTTP_POST;
		if (memcmp(m, "HEAD", 4) == 0)
			return MBX_HTTP_HEAD;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return MBX_HTTP_PATCH;
		if (memcmp(m, "TRACE", 5) == 0)
			return MBX_HTTP_TRACE;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return MBX_HTTP_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return MBX_HTTP_OPTIONS;
		if (memcmp(m, "CONNECT", 7) == 0)
			return MBX_HTTP_CONNECT;
		break;
	}
	return MBX_HTTP_OTHER;
}

/* The parse state besides struct mbx_http_head: what the field checks need to remember. */
struct head_state {
	bool te_seen, close;
};

#define REFUSE(status, why)                                                                        \
	do {                                                                                       \
		if (why_r != NULL)                                                                 \
			*why_r = (why);                                                            \
		return (status);                                                                   \
	} while (0)

/* Content-Length: 1*DIGIT up to MBX_HTTP_LENGTH_MAX, repeated only with the same value. */
static int field_content_length(struct mbx_http_head *h, const char *v, size_t n,
                                const char **why_r)
{
	uint64_t len = 0;

	if (n == 0)
		REFUSE(400, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(uint8_t)v[i] - '0';

		if (d > 9)
			REFUSE(400, "Content-Length is not one decimal number");
		len = len * 10 + d; /* len <= 2^53 before: no overflow */
		if (len > MBX_HTTP_LENGTH_MAX)
			REFUSE(400, "Content-Length too large");
	}
	if (h->has_length && h->content_length != len)
		REFUSE(400, "two different Content-Length values");
	h->has_length = true;
	h->content_length = len;
	return 0;
}

/* Connection: a comma list of tokens (empty elements allowed, RFC 9110 5.6.1); "close". */
static int field_connection(struct head_state *st, const char *v, size_t n, const char **why_r)
{
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && (is_blank(v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < n && is_class(v[i], C_TCHAR))
			i++;
		if (i - start == 5 && lower_eq(v + start, "close", 5))
			st->close = true;
		while (i < n && is_blank(v[i]))
			i++;
		if (i < n && v[i] != ',')
			REFUSE(400, "Connection is not a list of tokens");
	}
	return 0;
}

/* The fields the server acts on, picked by name length first. */
static int field_check(struct mbx_http_head *h, struct head_state *st,
                       const struct mbx_http_field *f, const char **why_r)
{
	switch (f->name_len) {
	case 6:
		if (!lower_eq(f->name, "expect", 6))
			return 0;
		if (f->value_len == 12 && lower_eq(f->value, "100-continue", 12)) {
			/* an HTTP/1.0 client does not wait for 100 (RFC 9110 10.1.1): ignored */
			if (h->minor == 1)
				h->expect_continue = true;
			return 0;
		}
		REFUSE(417, "an expectation other than 100-continue");
	case 10:
		if (!lower_eq(f->name, "connection", 10))
			return 0;
		return field_connection(st, f->value, f->value_len, why_r);
	case 14:
		if (!lower_eq(f->name, "content-length", 14))
			return 0;
		return field_content_length(h, f->value, f->value_len, why_r);
	case 17:
		if (!lower_eq(f->name, "transfer-encoding", 17))
			return 0;
		if (h->minor == 0)
			REFUSE(400, "Transfer-Encoding in an HTTP/1.0 request");
		if (st->te_seen)
			REFUSE(400, "a second Transfer-Encoding field");
		st->te_seen = true;
		if (f->value_len == 7 && lower_eq(f->value, "chunked", 7)) {
			h->chunked = true;
			return 0;
		}
		REFUSE(501, "a Transfer-Encoding other than chunked alone");
	}
	return 0;
}

/* The request line at p (after the leading empty lines); *p_r gets the start of the next line. */
static int request_line(struct mbx_http_head *h, char *p, char *e, char **p_r, const char **why_r)
{
	char *q = p;
	size_t n;
	unsigned major;

	p += span_token(p, e) - p;
	n = (size_t)(p - q);
	if (n == 0 || p == e || *p != ' ')
		REFUSE(400, "the method is not a token followed by one space");
	if (n > MBX_HTTP_METHOD_MAX)
		REFUSE(400, "the method is too long");
	*p++ = '\0';
	h->method = method_of(q, n);
	h->method_name = q;

	q = p;
	p += span_plain(p, e, 0x21, C_TARGET) - p;
	n = (size_t)(p - q);
	if (n == 0)
		REFUSE(400, "no request-target");
	if (n > MBX_HTTP_TARGET_MAX)
		REFUSE(400, "the request-target is too long");
	if (p < e && *p != ' ' && *p != '\r' && *p != '\n')
		REFUSE(400, "a byte not allowed in the request-target");
	if (p == e || *p != ' ')
		REFUSE(400, "no HTTP version after the request-target");
	*p++ = '\0';
	h->target = q;

	if (e - p < 8 || memcmp(p, "HTTP/", 5) != 0 || (unsigned)(uint8_t)p[5] - '0' > 9 ||
	    p[6] != '.' || (unsigned)(uint8_t)p[7] - '0' > 9)
		REFUSE(400, "no HTTP version after the request-target");
	major = (unsigned)(uint8_t)p[5] - '0';
	h->minor = (unsigned)(uint8_t)p[7] - '0' > 0 ? 1 : 0; /* 1.2 and up: served as 1.1 */
	p += 8;
	if (p < e && *p == '\n')
		p++;
	else if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	else
		REFUSE(400, "bytes after the HTTP version");
	if (major != 1)
		REFUSE(505, "an HTTP version other than 1.x");
	*p_r = p;
	return 0;
}

/* Why a line of the field section neither is the empty line nor starts with a token. */
static int line_start_error(const char *p, const char *e, const char **why_r)
{
	if (p == e)
		REFUSE(400, "the head does not end with an empty line");
	if (*p == '\r')
		REFUSE(400, "a CR that does not end a line");
	if (is_blank(*p))
		REFUSE(400, "obs-fold (a line starting with a blank) is not accepted");
	REFUSE(400, "a field name that is not a token followed by a colon");
}

/* Why a field name (a token) is not followed by its colon: p is the byte after it. */
static int field_name_error(const char *p, const char *e, const char **why_r)
{
	while (p < e && is_blank(*p))
		p++;
	if (p < e && *p == ':')
		REFUSE(400, "a blank between a field name and its colon");
	REFUSE(400, "a field name that is not a token followed by a colon");
}

/* Why a field value ends in something other than the line end: p is that byte (or e). */
static int field_value_error(const char *p, const char *e, const char **why_r)
{
	if (p == e)
		REFUSE(400, "the head does not end with an empty line");
	REFUSE(400, "a control character in a field value");
}

int mbx_http_parse_head(char *buf, size_t len, struct mbx_http_head *h, const char **why_r)
{
	struct head_state st = {false, false};
	char *p = buf, *e = buf + len;
	int rc;

	h->method = MBX_HTTP_OTHER;
	h->method_name = "";
	h->target = "";
	h->minor = 0;
	h->nfields = 0;
	h->has_length = false;
	h->content_length = 0;
	h->chunked = false;
	h->keep_alive = false;
	h->expect_continue = false;
	if (why_r != NULL)
		*why_r = NULL;

	for (;;) { /* leading empty lines (RFC 9112 2.2) */
		if (p < e && p[0] == '\n')
			p++;
		else if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else
			break;
	}
	rc = request_line(h, p, e, &p, why_r);
	if (rc != 0)
		return rc;

	for (;;) {
		struct mbx_http_field *f;
		char *name, *value, *vend;

		if (p == e || !is_class(*p, C_TCHAR)) { /* the empty line at the end, or an error */
			if (p < e && *p == '\n') {
				p++;
				break;
			}
			if (e - p >= 2 && p[0] == '\r' && p[1] == '\n') {
				p += 2;
				break;
			}
			return line_start_error(p, e, why_r);
		}
		if (h->nfields == MBX_HTTP_MAX_HEADERS)
			REFUSE(431, "more than 64 header fields");

		name = p;
		p += span_token(p + 1, e) - p;
		if (p == e || *p != ':')
			return field_name_error(p, e, why_r);
		f = &h->fields[h->nfields];
		f->name = name;
		f->name_len = (size_t)(p - name);
		*p++ = '\0';

		if (p < e && *p == ' ') /* the usual single space first */
			p++;
		while (p < e && is_blank(*p))
			p++;
		value = p;
		p += span_plain(p, e, 0x20, C_VALUE) - p;
		vend = p;
		while (vend > value && is_blank(vend[-1]))
			vend--;
		if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (p < e && p[0] == '\n')
			p++;
		else
			return field_value_error(p, e, why_r);
		*vend = '\0'; /* a blank, CR or LF of this line */
		f->value = value;
		f->value_len = (size_t)(vend - value);
		h->nfields++;
		rc = field_check(h, &st, f, why_r);
		if (rc != 0)
			return rc;
	}
	if (p != e)
		REFUSE(400, "bytes after the empty line that ends the head");
	if (h->chunked && h->has_length)
		REFUSE(400, "both Transfer-Encoding and Content-Length");
	h->keep_alive = h->minor == 1 && !st.close;
	return 0;
}

const char *mbx_http_head_field(const struct mbx_http_head *h, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < h->nfields; i++) {
		const struct mbx_http_field *f = &h->fields[i];
		size_t k;

		if (f->name_len != n)
			continue;
		for (k = 0; k < n; k++) {
			unsigned a = (uint8_t)f->name[k], b = (uint8_t)name[k];

			if (a - 'A' < 26)
				a |= 0x20;
			if (b - 'A' < 26)
				b |= 0x20;
			if (a != b)
				break;
		}
		if (k == n)
			return f->value;
	}
	return NULL;
}

/* ---- the path of a target ---------------------------------------------------------------- */

int mbx_http_target_path(const char *target, char *out, size_t outsize)
{
	const char *p = target;
	size_t n = 0;

	if (outsize == 0)
		return -1;
	out[0] = '\0';
	if (p[0] != '/') { /* the absolute form, or none we serve */
		const char *auth;

		if ((p[0] | 0x20) != 'h' || (p[1] | 0x20) != 't' || (p[2] | 0x20) != 't' ||
		    (p[3] | 0x20) != 'p')
			return -1;
		p += 4;
		if ((p[0] | 0x20) == 's')
			p++;
		if (p[0] != ':' || p[1] != '/' || p[2] != '/')
			return -1;
		p += 3;
		auth = p;
		while (*p != '\0' && *p != '/' && *p != '?') {
			if (*p == '@') /* userinfo: refused (RFC 9110 4.2.4) */
				return -1;
			p++;
		}
		if (p == auth) /* an empty host (RFC 9110 4.2.1) */
			return -1;
		if (*p != '/') { /* no path: "/" */
			if (outsize < 2)
				return -1;
			out[0] = '/';
			out[1] = '\0';
			return 1;
		}
	}
	for (; *p != '\0' && *p != '?'; p++) {
		uint8_t c = (uint8_t)*p;

		if (c == '%') {
			int hi = mbx_http_hexval((uint8_t)p[1]), lo = hi < 0 ? -1 : mbx_http_hexval((uint8_t)p[2]);

			if (lo < 0)
				goto fail;
			c = (uint8_t)(hi << 4 | lo);
			if (c == 0)
				goto fail;
			p += 2;
		}
		if (outsize - n < 2 || n >= 0x7FFFFFFF) /* room for c and the NUL */
			goto fail;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
fail:
	out[0] = '\0';
	return -1;
}
