/*
 * errbuf.c: a printf into the caller's error buffer (include/mbx/errbuf.h), shared by the
 * parsers and constructors that answer "-1 with a message in err" (control socket,
 * Autodiscover request parser).
 */
#include "mbx/errbuf.h"

#include <stdio.h>

void mbx_errbuf_vset(char *err, size_t errsize, const char *fmt, va_list ap)
{
	if (err == NULL || errsize == 0)
		return;
	vsnprintf(err, errsize, fmt, ap);
}

void mbx_errbuf_set(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mbx_errbuf_vset(err, errsize, fmt, ap);
	va_end(ap);
}
