/*
 * textfmt.c: numbers and dates as text by hand (include/mbx/textfmt.h): decimal numbers and
 * the IMF-fixdate of RFC 9110 5.6.7 used by the Date header and the MAPI/HTTP DONE block
 * ([MS-OXCMAPIHTTP] 2.2.2.2 X-StartTime).
 */
#include "mbx/textfmt.h"

#include <string.h>

char *mbx_fmt_u64(char *p, uint64_t v)
{
	char tmp[MBX_FMT_U64_MAX];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *fmt_put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

int mbx_fmt_http_date(time_t t, char *out)
{
	static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char month[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	int year;
	char *p = out;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
	    tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	year = tm.tm_year + 1900;
	memcpy(p, wday[tm.tm_wday], 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	p = fmt_put2(p, tm.tm_mday);
	*p++ = ' ';
	memcpy(p, month[tm.tm_mon], 3);
	p += 3;
	*p++ = ' ';
	p = fmt_put2(p, year / 100);
	p = fmt_put2(p, year % 100);
	*p++ = ' ';
	p = fmt_put2(p, tm.tm_hour);
	*p++ = ':';
	p = fmt_put2(p, tm.tm_min);
	*p++ = ':';
	p = fmt_put2(p, tm.tm_sec); /* a leap second is 60 */
	memcpy(p, " GMT", 4);
	return 0;
}
