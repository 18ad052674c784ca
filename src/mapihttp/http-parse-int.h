/*
 * http-parse-int.h: what http-parse.c (the request head, the target path) and http-chunked.c
 * (chunked bodies) share: the byte classes of RFC 9110 5.6.2 / RFC 9112 3.2 / RFC 9110 5.5 and
 * a hex digit's value. Private to src/mapihttp.
 */
#ifndef MBX_HTTP_PARSE_INT_H
#define MBX_HTTP_PARSE_INT_H

#include <stdint.h>

#define C_TCHAR 1u  /* token (RFC 9110 5.6.2) */
#define C_TARGET 2u /* request-target byte: 0x21-0x7E, 0x80-0xFF */
#define C_VALUE 4u  /* field-value byte: VCHAR, obs-text, SP, HTAB */

/* The class bits of every byte value (defined in http-parse.c). */
extern const uint8_t mbx_http_ctab[256];

/* The value of a hex digit (any case), or -1. */
static inline int mbx_http_hexval(uint8_t c)
{
	if (c - (unsigned)'0' < 10)
		return c - '0';
	c |= 0x20;
	if (c - (unsigned)'a' < 6)
		return c - 'a' + 10;
	return -1;
}

#endif
