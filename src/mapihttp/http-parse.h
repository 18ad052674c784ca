/*
 * http-parse.h: the HTTP/1.1 request syntax mbxstore's own server reads (RFC 9112 2-3, 6-7,
 * RFC 9110 5, 7.1, 10.1.1), sans I/O: bytes in, a parsed request head or a decoded chunk out.
 * src/mapihttp/httpd.c feeds it from its connections; tests/unit/test-http-parse.c and
 * tests/fuzz/fuzz-http-parse.c drive it directly.
 *
 * What is accepted (and nothing else):
 *   - empty lines (CRLF or LF) before the request line are skipped (RFC 9112 2.2);
 *   - lines end in CRLF or in a bare LF (RFC 9112 2.2 allows a recipient to take LF alone);
 *     a CR anywhere else is an error;
 *   - request-line: method (a token, 1..MBX_HTTP_METHOD_MAX characters) SP request-target
 *     (1..MBX_HTTP_TARGET_MAX bytes 0x21-0x7E and 0x80-0xFF) SP "HTTP/1." DIGIT; a major
 *     version other than 1 gets 505; a minor above 1 is served as 1.1 (RFC 9110 6.2);
 *   - field lines: a token name, ':' with no blank before it (RFC 9112 5.1: 400), optional
 *     blanks, a value of VCHAR / obs-text / SP / HTAB (no NUL or other control character),
 *     optional blanks; obs-fold (a line starting with SP or HTAB) is refused with 400
 *     (RFC 9112 5.2 allows it); at most MBX_HTTP_MAX_HEADERS field lines (431 beyond);
 *   - Content-Length: 1*DIGIT up to MBX_HTTP_LENGTH_MAX; repeated with the same value it is one
 *     (RFC 9110 8.6), with different values, a list or anything else 400;
 *   - Transfer-Encoding (HTTP/1.1 only, else 400): one field with exactly one coding,
 *     "chunked", in any case; any other coding or list 501, a second field 400; together with
 *     Content-Length 400 (RFC 9112 6.3: the request-smuggling case, refused, not guessed);
 *   - Connection: a comma list of tokens; "close" (any case) ends the connection after the
 *     answer; HTTP/1.0 connections always end after the answer;
 *   - Expect: "100-continue" (any case) on HTTP/1.1 sets expect_continue; any other expectation
 *     gets 417 (RFC 9110 10.1.1).
 * The head is parsed in place: the parser writes NUL bytes into the caller's buffer, and every
 * string of struct mbx_http_head points into it.
 */
#ifndef MBX_HTTP_PARSE_H
#define MBX_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/httpd.h" /* enum mbx_http_method */

#define MBX_HTTP_MAX_HEADERS 64u
#define MBX_HTTP_METHOD_MAX 16u
#define MBX_HTTP_TARGET_MAX 8192u
#define MBX_HTTP_LENGTH_MAX ((uint64_t)1 << 53)


struct mbx_http_field {
	const char *name;  /* NUL-terminated, as sent (case kept) */
	const char *value; /* NUL-terminated, blanks around it removed */
	size_t name_len, value_len;
};

struct mbx_http_head {
	enum mbx_http_method method; /* methods are case-sensitive (RFC 9110 9.1): "post" is OTHER */
	const char *method_name;
	const char *target; /* the request-target as sent */
	unsigned minor;     /* 0 or 1 (HTTP/1.x) */
	struct mbx_http_field fields[MBX_HTTP_MAX_HEADERS];
	size_t nfields;
	/* derived from the fields */
	bool has_length;
	uint64_t content_length;
	bool chunked;         /* Transfer-Encoding: chunked */
	bool keep_alive;      /* HTTP/1.1 without Connection: close */
	bool expect_continue; /* Expect: 100-continue on HTTP/1.1 */
};

/*
 * The length of the request head at the start of data[0..len): up to and including the empty
 * line that ends it (CRLF CRLF, LF LF, or a mix), or 0 when it is not complete yet. Leading
 * empty lines are part of the head.
 */
size_t mbx_http_head_end(const char *data, size_t len);

/*
 * Parses the head buf[0..len) (len as returned by mbx_http_head_end; buf is modified) into *h.
 * Returns 0, or the HTTP status to answer with (400, 417, 431, 501, 505) and a log-safe
 * sentence in *why_r (static; may be NULL).
 */
int mbx_http_parse_head(char *buf, size_t len, struct mbx_http_head *h, const char **why_r);

/* The first field of this name (case-insensitive), or NULL. */
const char *mbx_http_head_field(const struct mbx_http_head *h, const char *name);

/*
 * The path of a request-target, percent-decoded, in out (NUL-terminated): for the origin form
 * ("/a/b?q") the part before '?'; for the absolute form ("https://host:443/a/b?q", RFC 9112
 * 3.2.2; scheme http or https in any case) the path after the authority ("/" when empty); the
 * asterisk form "*" and the authority form give -1. Also -1 when a '%' is not followed by two
 * hex digits, when the decoded path would hold a NUL, or when it does not fit in outsize bytes.
 * Returns the decoded length or -1. A '+' stays a '+'.
 */
int mbx_http_target_path(const char *target, char *out, size_t outsize);

/* ---- chunked request bodies (RFC 9112 7.1) ------------------------------------------------- */

/*
 * Decodes a chunked body incrementally: chunk-size (hex, at most 15 digits), chunk extensions
 * (";..." up to the line end, ignored), CRLF (or LF), data, CRLF (or LF); the last chunk
 * "0" then trailer fields (read and ignored) up to the empty line. The limit bounds the sum of
 * the chunk sizes: a chunk that would pass it is an error (MBX_HTTP_CHUNK_TOO_LARGE) as soon as
 * its size line is read. The extensions of one size line and a trailer line may hold at most
 * 4096 bytes, the trailer section 65536: more is MBX_HTTP_CHUNK_BAD.
 */
struct mbx_http_chunked {
	int state;          /* private */
	uint64_t remaining; /* private: bytes left in the current chunk */
	uint64_t total;     /* data bytes decoded so far */
	uint64_t limit;
	size_t linelen; /* private: bytes of the current size or trailer line */
	unsigned digits;
};

#define MBX_HTTP_CHUNK_MORE 0       /* every input byte was used; more is needed */
#define MBX_HTTP_CHUNK_DONE 1       /* the body ended; *used_r says where it ended */
#define MBX_HTTP_CHUNK_BAD (-1)     /* malformed: 400 */
#define MBX_HTTP_CHUNK_TOO_LARGE (-2) /* over the limit: 413 */

void mbx_http_chunked_init(struct mbx_http_chunked *c, uint64_t limit);
/*
 * Consumes in[0..len): data bytes are appended to out (which must have room for len bytes: the
 * data of a chunked body is never longer than its encoding) and *out_len grows by their number;
 * *used_r is the number of input bytes consumed (len unless DONE; on BAD and TOO_LARGE the
 * offset of the byte found wrong). Once DONE, BAD or TOO_LARGE, every later call returns the
 * same with *used_r 0. Returns one of the four values above.
 */
int mbx_http_chunked_feed(struct mbx_http_chunked *c, const uint8_t *in, size_t len,
                          uint8_t *out, size_t *out_len, size_t *used_r);

#endif
