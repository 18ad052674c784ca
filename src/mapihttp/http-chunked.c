/*
 * http-chunked.c: the incremental decoder of chunked request bodies (RFC 9112 7.1: chunk-size,
 * chunk extensions, data, the last chunk, trailer fields up to the empty line) for mbxstore's
 * own HTTP server, sans I/O. http-parse.h says what is accepted and the limits.
 */
#include "mapihttp/http-parse.h"
#include "mapihttp/http-parse-int.h"

#include <string.h>

/* ---- chunked bodies (RFC 9112 7.1) --------------------------------------------------------- */

/* The chunk extensions of a size line (from the blank or ';' after the digits to the line end)
 * and a trailer line are at most CHUNK_LINE_MAX bytes, the trailer section CHUNK_TRAILER_MAX
 * (RFC 9112 7.1.1 and 7.1.2 ask for such limits); more is malformed. */
#define CHUNK_LINE_MAX 4096u
#define CHUNK_TRAILER_MAX 65536u

enum {
	CH_SIZE,     /* chunk-size digits: their number in digits, the size so far in remaining */
	CH_SIZE_BWS, /* blanks after the size: a ';' must follow */
	CH_EXT,      /* chunk extensions, up to the line end */
	CH_SIZE_LF,  /* a CR ended the size line */
	CH_DATA,     /* remaining bytes of chunk data */
	CH_DATA_END, /* the CRLF or LF after the data */
	CH_DATA_LF,
	CH_TR_START, /* the start of a trailer line or of the final empty line */
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_END_LF, /* a CR began the final empty line */
	CH_DONE,
	CH_BAD,
	CH_TOO_LARGE,
};

void mbx_http_chunked_init(struct mbx_http_chunked *c, uint64_t limit)
{
	c->state = CH_SIZE;
	c->remaining = 0;
	c->total = 0;
	c->limit = limit;
	c->linelen = 0;
	c->digits = 0;
}

/* A size line ended: the data of its chunk follows, or the trailer section after the last. In
 * the trailer section, remaining counts its bytes. */
static inline void size_line_end(struct mbx_http_chunked *c)
{
	c->state = c->remaining > 0 ? CH_DATA : CH_TR_START;
	c->linelen = 0;
}

static inline void next_size_line(struct mbx_http_chunked *c)
{
	c->state = CH_SIZE;
	c->digits = 0;
	c->remaining = 0;
	c->linelen = 0;
}

int mbx_http_chunked_feed(struct mbx_http_chunked *c, const uint8_t *in, size_t len,
                          uint8_t *out, size_t *out_len, size_t *used_r)
{
	size_t i = 0, o = *out_len;
	int rc;

	switch (c->state) { /* the end was reached before: nothing more is taken */
	case CH_DONE:
		*used_r = 0;
		return MBX_HTTP_CHUNK_DONE;
	case CH_BAD:
		*used_r = 0;
		return MBX_HTTP_CHUNK_BAD;
	case CH_TOO_LARGE:
		*used_r = 0;
		return MBX_HTTP_CHUNK_TOO_LARGE;
	}
	while (i < len) {
		uint8_t b = in[i];

		switch (c->state) {
		case CH_DATA: {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			c->remaining -= n;
			c->total += n;
			if (c->remaining == 0)
				c->state = CH_DATA_END;
			continue;
		}
		case CH_SIZE: {
			int d = mbx_http_hexval(b);

			if (d >= 0) {
				if (c->digits == 15)
					goto bad;
				c->digits++;
				c->remaining = c->remaining << 4 | (unsigned)d;
				if (c->remaining > c->limit - c->total)
					goto too_large;
				break;
			}
			if (c->digits == 0)
				goto bad;
			if (b == ';')
				c->state = CH_EXT;
			else if (b == ' ' || b == '\t')
				c->state = CH_SIZE_BWS;
			else if (b == '\r')
				c->state = CH_SIZE_LF;
			else if (b == '\n')
				size_line_end(c);
			else
				goto bad;
			break;
		}
		case CH_SIZE_BWS:
			if (++c->linelen > CHUNK_LINE_MAX)
				goto bad;
			if (b == ';')
				c->state = CH_EXT;
			else if (b != ' ' && b != '\t')
				goto bad;
			break;
		case CH_EXT:
			if (++c->linelen > CHUNK_LINE_MAX)
				goto bad;
			if (b == '\r')
				c->state = CH_SIZE_LF;
			else if (b == '\n')
				size_line_end(c);
			else if (!(mbx_http_ctab[b] & C_VALUE))
				goto bad;
			break;
		case CH_SIZE_LF:
			if (b != '\n')
				goto bad;
			size_line_end(c);
			break;
		case CH_DATA_END:
			if (b == '\r')
				c->state = CH_DATA_LF;
			else if (b == '\n')
				next_size_line(c);
			else
				goto bad;
			break;
		case CH_DATA_LF:
			if (b != '\n')
				goto bad;
			next_size_line(c);
			break;
		case CH_TR_START:
			if (b == '\r') {
				c->state = CH_END_LF;
			} else if (b == '\n') {
				c->state = CH_DONE;
				i++;
				goto done;
			} else if (mbx_http_ctab[b] & C_TCHAR) {
				c->state = CH_TR_NAME;
				c->linelen = 1;
				if (++c->remaining > CHUNK_TRAILER_MAX)
					goto bad;
			} else {
				goto bad; /* obs-fold or not a field */
			}
			break;
		case CH_TR_NAME:
		case CH_TR_VALUE:
			if (++c->linelen > CHUNK_LINE_MAX || ++c->remaining > CHUNK_TRAILER_MAX)
				goto bad;
			if (c->state == CH_TR_NAME) {
				if (b == ':')
					c->state = CH_TR_VALUE;
				else if (!(mbx_http_ctab[b] & C_TCHAR))
					goto bad;
			} else if (b == '\r') {
				c->state = CH_TR_LF;
			} else if (b == '\n') {
				c->state = CH_TR_START;
			} else if (!(mbx_http_ctab[b] & C_VALUE)) {
				goto bad;
			}
			break;
		case CH_TR_LF:
			if (b != '\n' || ++c->remaining > CHUNK_TRAILER_MAX)
				goto bad;
			c->state = CH_TR_START;
			break;
		case CH_END_LF:
			if (b != '\n')
				goto bad;
			c->state = CH_DONE;
			i++;
			goto done;
		default: /* not a state: a corrupted decoder */
			goto bad;
		}
		i++;
	}
	*out_len = o;
	*used_r = i;
	return MBX_HTTP_CHUNK_MORE;
done:
	rc = MBX_HTTP_CHUNK_DONE;
	goto out;
too_large:
	c->state = CH_TOO_LARGE;
	rc = MBX_HTTP_CHUNK_TOO_LARGE;
	goto out;
bad:
	c->state = CH_BAD;
	rc = MBX_HTTP_CHUNK_BAD;
out:
	*out_len = o;
	*used_r = i;
	return rc;
}
