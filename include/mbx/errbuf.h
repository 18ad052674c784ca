/*
 * errbuf.h: the "char *err, size_t errsize" convention of the project's constructors and
 * parsers (conventions.md "Logging": every error is one clear line): a printf into a caller's
 * message buffer that tolerates no buffer at all. src/util/errbuf.c.
 */
#ifndef MBX_ERRBUF_H
#define MBX_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Writes the formatted message into err (errsize bytes, always NUL-terminated, cut when too
 * long). Does nothing when err is NULL or errsize is 0. */
void mbx_errbuf_set(char *err, size_t errsize, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void mbx_errbuf_vset(char *err, size_t errsize, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

#endif
