/*
 * textfmt.h: numbers and dates as text, by hand, for the hot paths that print them on every
 * request (response headers, the MAPI/HTTP DONE block, SID strings): snprintf costs about ten
 * times more. Pure, no allocation.
 */
#ifndef MBX_TEXTFMT_H
#define MBX_TEXTFMT_H

#include <stdint.h>
#include <time.h>

/* Longest decimal form of a uint64_t, and the length of an IMF-fixdate. */
#define MBX_FMT_U64_MAX 20
#define MBX_FMT_HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* v in decimal at p (no NUL; room for MBX_FMT_U64_MAX bytes); returns the end. */
char *mbx_fmt_u64(char *p, uint64_t v);

/* The IMF-fixdate of t (RFC 9110 5.6.7), MBX_FMT_HTTP_DATE_LEN characters at out (no NUL).
 * Returns 0, or -1 when t has no such form (a year outside 0..9999): out is then untouched. */
int mbx_fmt_http_date(time_t t, char *out);

#endif
