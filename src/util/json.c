/*
 * json.c: the streaming JSON writer of include/mbx/json.h (RFC 8259 output: section 7 string
 * escapes, section 8.1 UTF-8). Well-formedness of UTF-8 follows the Unicode table of
 * well-formed byte sequences (Unicode 15, table 3-7; RFC 3629 section 4): no overlong forms,
 * no surrogates, nothing above U+10FFFF.
 */
#include "mbx/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_STRF_MAX 1024

static void json_fail(struct mbx_json *j, const char *msg)
{
	if (j->err)
		return;
	j->err = true;
	j->err_msg = msg;
}

static void json_init(struct mbx_json *j, FILE *f, unsigned flags)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->flags = flags;
}

void mbx_json_init_buf(struct mbx_json *j, unsigned flags)
{
	json_init(j, NULL, flags);
}

void mbx_json_init_file(struct mbx_json *j, FILE *f, unsigned flags)
{
	json_init(j, f, flags);
	if (f == NULL)
		json_fail(j, "no output file");
}

void mbx_json_deinit(struct mbx_json *j)
{
	if (j == NULL)
		return;
	free(j->buf);
	j->buf = NULL;
	j->len = 0;
	j->cap = 0;
}

/* Appends n raw bytes to the destination. */
static void json_put(struct mbx_json *j, const char *p, size_t n)
{
	if (j->err || n == 0)
		return;
	if (j->f != NULL) {
		if (fwrite(p, 1, n, j->f) != n)
			json_fail(j, "write error");
		return;
	}
	/* Keep one byte for the terminating NUL. */
	if (j->cap - j->len <= n) {
		size_t cap = j->cap != 0 ? j->cap : 256;
		char *nb;

		while (cap - j->len <= n) {
			if (cap > SIZE_MAX / 2) {
				json_fail(j, "output too large");
				return;
			}
			cap *= 2;
		}
		nb = realloc(j->buf, cap);
		if (nb == NULL) {
			json_fail(j, "out of memory");
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void json_puts(struct mbx_json *j, const char *s)
{
	json_put(j, s, strlen(s));
}

static void json_newline(struct mbx_json *j, int depth)
{
	static const char spaces[] = "                                ";

	if (!(j->flags & MBX_JSON_PRETTY))
		return;
	json_put(j, "\n", 1);
	for (int i = 0; i < depth; i++)
		json_put(j, spaces, 2);
}

/* Before any value (scalar or container): separators, and the checks that a value is allowed
 * here. Returns false if the writer is (now) in error. */
static bool json_pre_value(struct mbx_json *j)
{
	if (j->err)
		return false;
	if (j->depth == 0) {
		if (j->done)
			json_fail(j, "more than one top-level value");
		return !j->err;
	}
	if (j->kind[j->depth - 1] == '{') {
		if (!j->want_value)
			json_fail(j, "object member without a key");
		j->want_value = false;
		return !j->err;
	}
	if (j->count[j->depth - 1] > 0)
		json_put(j, ",", 1);
	json_newline(j, j->depth);
	j->count[j->depth - 1]++;
	return !j->err;
}

static void json_post_value(struct mbx_json *j)
{
	if (j->depth == 0)
		j->done = true;
}

/* Length of the well-formed UTF-8 sequence at p[0..n) (p[0] >= 0x80), or 0 if it is not one. */
static size_t json_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, C0/C1, F5..FF */
	}
	if (n < need)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return need;
}

static uint32_t json_utf8_decode(const uint8_t *p, size_t len)
{
	uint32_t cp;

	if (len == 2)
		cp = p[0] & 0x1F;
	else if (len == 3)
		cp = p[0] & 0x0F;
	else
		cp = p[0] & 0x07;
	for (size_t i = 1; i < len; i++)
		cp = (cp << 6) | (p[i] & 0x3F);
	return cp;
}

static void json_put_u16esc(struct mbx_json *j, unsigned v)
{
	char esc[8];

	snprintf(esc, sizeof(esc), "\\u%04x", v & 0xFFFF);
	json_put(j, esc, 6);
}

/* The quoted, escaped form of s[0..n). */
static void json_put_string(struct mbx_json *j, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t run = 0; /* start of the pending run of bytes copied verbatim */

	json_put(j, "\"", 1);
	for (size_t i = 0; i < n && !j->err;) {
		uint8_t c = p[i];
		const char *esc = NULL;
		size_t ulen = 0;

		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			ulen = json_utf8_len(p + i, n - i);
			if (ulen != 0 && !(j->flags & MBX_JSON_ASCII)) {
				i += ulen;
				continue;
			}
		}
		json_put(j, s + run, i - run);
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			break;
		}
		if (esc != NULL) {
			json_puts(j, esc);
			i++;
		} else if (c < 0x80) {
			json_put_u16esc(j, c); /* other control bytes and DEL */
			i++;
		} else if (ulen == 0) {
			json_put_u16esc(j, 0xFFFD); /* one replacement per bad byte */
			i++;
		} else {
			uint32_t cp = json_utf8_decode(p + i, ulen);

			if (cp >= 0x10000) {
				cp -= 0x10000;
				json_put_u16esc(j, 0xD800 | (cp >> 10));
				json_put_u16esc(j, 0xDC00 | (cp & 0x3FF));
			} else {
				json_put_u16esc(j, cp);
			}
			i += ulen;
		}
		run = i;
	}
	json_put(j, s + run, n - run);
	json_put(j, "\"", 1);
}

static void json_begin(struct mbx_json *j, char kind)
{
	if (!json_pre_value(j))
		return;
	if (j->depth >= MBX_JSON_MAXDEPTH) {
		json_fail(j, "nesting deeper than 32");
		return;
	}
	json_put(j, kind == '{' ? "{" : "[", 1);
	j->kind[j->depth] = kind;
	j->count[j->depth] = 0;
	j->depth++;
}

static void json_end(struct mbx_json *j, char kind)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->kind[j->depth - 1] != kind) {
		json_fail(j, kind == '{' ? "object end without an open object"
		                         : "array end without an open array");
		return;
	}
	if (j->want_value) {
		json_fail(j, "object ends after a key without a value");
		return;
	}
	j->depth--;
	if (j->count[j->depth] > 0)
		json_newline(j, j->depth);
	json_put(j, kind == '{' ? "}" : "]", 1);
	json_post_value(j);
}

void mbx_json_obj_begin(struct mbx_json *j)
{
	json_begin(j, '{');
}

void mbx_json_obj_end(struct mbx_json *j)
{
	json_end(j, '{');
}

void mbx_json_arr_begin(struct mbx_json *j)
{
	json_begin(j, '[');
}

void mbx_json_arr_end(struct mbx_json *j)
{
	json_end(j, '[');
}

void mbx_json_key(struct mbx_json *j, const char *key)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->kind[j->depth - 1] != '{') {
		json_fail(j, "key outside an object");
		return;
	}
	if (j->want_value) {
		json_fail(j, "key after a key without a value");
		return;
	}
	if (key == NULL) {
		json_fail(j, "NULL key");
		return;
	}
	if (j->count[j->depth - 1] > 0)
		json_put(j, ",", 1);
	json_newline(j, j->depth);
	j->count[j->depth - 1]++;
	json_put_string(j, key, strlen(key));
	json_puts(j, j->flags & MBX_JSON_PRETTY ? ": " : ":");
	j->want_value = true;
}

/* A scalar that is written verbatim (numbers, literals). */
static void json_scalar(struct mbx_json *j, const char *text)
{
	if (!json_pre_value(j))
		return;
	json_puts(j, text);
	json_post_value(j);
}

void mbx_json_strn(struct mbx_json *j, const char *s, size_t n)
{
	if (s == NULL) {
		mbx_json_null(j);
		return;
	}
	if (!json_pre_value(j))
		return;
	json_put_string(j, s, n);
	json_post_value(j);
}

void mbx_json_str(struct mbx_json *j, const char *s)
{
	mbx_json_strn(j, s, s != NULL ? strlen(s) : 0);
}

void mbx_json_strf(struct mbx_json *j, const char *fmt, ...)
{
	char buf[JSON_STRF_MAX + 1];
	va_list ap;
	int n;

	if (j->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || n > JSON_STRF_MAX) {
		json_fail(j, "formatted string longer than 1024 bytes");
		return;
	}
	mbx_json_strn(j, buf, (size_t)n);
}

void mbx_json_int(struct mbx_json *j, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	json_scalar(j, buf);
}

void mbx_json_uint(struct mbx_json *j, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	json_scalar(j, buf);
}

void mbx_json_bool(struct mbx_json *j, bool v)
{
	json_scalar(j, v ? "true" : "false");
}

void mbx_json_null(struct mbx_json *j)
{
	json_scalar(j, "null");
}

void mbx_json_hex(struct mbx_json *j, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	char chunk[128];
	size_t k = 0;

	if (!json_pre_value(j))
		return;
	json_put(j, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		chunk[k++] = digits[b[i] >> 4];
		chunk[k++] = digits[b[i] & 0xF];
		if (k == sizeof(chunk)) {
			json_put(j, chunk, k);
			k = 0;
		}
	}
	json_put(j, chunk, k);
	json_put(j, "\"", 1);
	json_post_value(j);
}

void mbx_json_hexnum(struct mbx_json *j, uint64_t v, int digits)
{
	char buf[24];

	if (digits < 1)
		digits = 1;
	if (digits > 16)
		digits = 16;
	snprintf(buf, sizeof(buf), "\"0x%0*" PRIX64 "\"", digits, v);
	json_scalar(j, buf);
}

void mbx_json_kv_str(struct mbx_json *j, const char *key, const char *s)
{
	mbx_json_key(j, key);
	mbx_json_str(j, s);
}

void mbx_json_kv_int(struct mbx_json *j, const char *key, int64_t v)
{
	mbx_json_key(j, key);
	mbx_json_int(j, v);
}

void mbx_json_kv_uint(struct mbx_json *j, const char *key, uint64_t v)
{
	mbx_json_key(j, key);
	mbx_json_uint(j, v);
}

void mbx_json_kv_bool(struct mbx_json *j, const char *key, bool v)
{
	mbx_json_key(j, key);
	mbx_json_bool(j, v);
}

void mbx_json_kv_hex(struct mbx_json *j, const char *key, const void *p, size_t n)
{
	mbx_json_key(j, key);
	mbx_json_hex(j, p, n);
}

void mbx_json_kv_hexnum(struct mbx_json *j, const char *key, uint64_t v, int digits)
{
	mbx_json_key(j, key);
	mbx_json_hexnum(j, v, digits);
}

int mbx_json_finish(struct mbx_json *j, const char **err_r)
{
	if (!j->err && (!j->done || j->depth != 0))
		json_fail(j, "incomplete document");
	json_put(j, "\n", 1);
	if (j->f != NULL && !j->err && (fflush(j->f) != 0 || ferror(j->f)))
		json_fail(j, "write error");
	if (j->err) {
		if (err_r != NULL)
			*err_r = j->err_msg;
		return -1;
	}
	return 0;
}

const char *mbx_json_text(const struct mbx_json *j, size_t *len_r)
{
	if (j->f != NULL || j->err) {
		if (len_r != NULL)
			*len_r = 0;
		return NULL;
	}
	if (len_r != NULL)
		*len_r = j->len;
	return j->buf != NULL ? j->buf : "";
}
