/*
 * wire.c: bounds-checked reader with a sticky error, fixed-capacity writer with rollback.
 * See include/mbx/wire.h for the contract.
 */
#include "mbx/wire.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Stands in for a NULL buffer so that pointer arithmetic on an empty reader or writer stays
 * defined (an empty HTTP body may arrive as NULL, 0). */
static uint8_t wire_empty[1];

void rd_init(struct rd *r, const void *buf, size_t len, size_t base)
{
	r->buf = buf != NULL ? buf : wire_empty;
	r->len = buf != NULL ? len : 0;
	r->off = 0;
	r->base = base;
	r->err = false;
	r->err_off = 0;
	r->err_msg[0] = '\0';
}

__attribute__((format(printf, 3, 0))) static void rd_vfail_at(struct rd *r, size_t abs_off,
							      const char *fmt, va_list ap)
{
	if (r->err)
		return;
	r->err = true;
	r->err_off = abs_off;
	vsnprintf(r->err_msg, sizeof(r->err_msg), fmt, ap);
}

bool rd_fail(struct rd *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rd_vfail_at(r, rd_pos(r), fmt, ap);
	va_end(ap);
	return false;
}

bool rd_fail_at(struct rd *r, size_t abs_off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rd_vfail_at(r, abs_off, fmt, ap);
	va_end(ap);
	return false;
}

void rd_take_error(struct rd *dst, const struct rd *src)
{
	if (!src->err || dst->err)
		return;
	dst->err = true;
	dst->err_off = src->err_off;
	memcpy(dst->err_msg, src->err_msg, sizeof(dst->err_msg));
}

/* Returns a pointer to n bytes and advances, or fails. */
static const uint8_t *rd_take(struct rd *r, size_t n, const char *what)
{
	const uint8_t *p;

	if (r->err)
		return NULL;
	if (r->len - r->off < n) {
		rd_fail(r, "%s: need %zu bytes, %zu left", what != NULL ? what : "read", n,
			r->len - r->off);
		return NULL;
	}
	p = r->buf + r->off;
	r->off += n;
	return p;
}

uint8_t rd_u8(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 1, what);

	return p != NULL ? p[0] : 0;
}

uint16_t rd_u16le(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 2, what);

	return p != NULL ? mbx_le16(p) : 0;
}

uint32_t rd_u32le(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 4, what);

	return p != NULL ? mbx_le32(p) : 0;
}

uint64_t rd_u64le(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 8, what);

	if (p == NULL)
		return 0;
	return (uint64_t)mbx_le32(p) | ((uint64_t)mbx_le32(p + 4) << 32);
}

uint64_t rd_u48be(struct rd *r, const char *what)
{
	const uint8_t *p = rd_take(r, 6, what);
	uint64_t v = 0;

	if (p == NULL)
		return 0;
	for (int i = 0; i < 6; i++)
		v = (v << 8) | p[i];
	return v;
}

void rd_bytes(struct rd *r, void *dst, size_t n, const char *what)
{
	const uint8_t *p = rd_take(r, n, what);

	if (n == 0)
		return;
	if (p != NULL)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

const uint8_t *rd_ptr(struct rd *r, size_t n, const char *what)
{
	return rd_take(r, n, what);
}

void rd_skip(struct rd *r, size_t n, const char *what)
{
	(void)rd_take(r, n, what);
}

const char *rd_str8z_n(struct rd *r, size_t n, const char *what)
{
	size_t start = rd_pos(r);
	const uint8_t *p;
	const uint8_t *nul;

	if (r->err)
		return NULL;
	if (n == 0) {
		rd_fail(r, "%s: empty string has no NUL", what != NULL ? what : "string");
		return NULL;
	}
	p = rd_take(r, n, what);
	if (p == NULL)
		return NULL;
	nul = memchr(p, '\0', n);
	if (nul == NULL) {
		rd_fail_at(r, start + n - 1, "%s: %zu-byte string does not end with a NUL",
			   what != NULL ? what : "string", n);
		return NULL;
	}
	if ((size_t)(nul - p) != n - 1) {
		rd_fail_at(r, start + (size_t)(nul - p),
			   "%s: NUL at byte %zu of a %zu-byte string (size includes the NUL)",
			   what != NULL ? what : "string", (size_t)(nul - p), n);
		return NULL;
	}
	return (const char *)p;
}

const char *rd_str8z(struct rd *r, size_t max, size_t *len_r, const char *what)
{
	size_t left = rd_left(r);
	size_t lim = left < max ? left : max;
	const uint8_t *p;
	const uint8_t *nul;

	if (len_r != NULL)
		*len_r = 0;
	if (r->err)
		return NULL;
	p = r->buf + r->off;
	nul = memchr(p, '\0', lim);
	if (nul == NULL) {
		if (lim == max && left > max)
			rd_fail(r, "%s: no NUL within %zu bytes", what != NULL ? what : "string",
				max);
		else
			rd_fail(r, "%s: no NUL before the end of the buffer (%zu bytes left)",
				what != NULL ? what : "string", left);
		return NULL;
	}
	r->off += (size_t)(nul - p) + 1;
	if (len_r != NULL)
		*len_r = (size_t)(nul - p);
	return (const char *)p;
}

void rd_sub(struct rd *r, size_t n, struct rd *sub, const char *what)
{
	size_t base = rd_pos(r);
	const uint8_t *p = rd_take(r, n, what);

	if (p == NULL) {
		rd_init(sub, NULL, 0, base);
		rd_take_error(sub, r);
		return;
	}
	rd_init(sub, p, n, base);
}

void wr_init(struct wr *w, void *buf, size_t cap)
{
	w->buf = buf != NULL ? buf : wire_empty;
	w->cap = buf != NULL ? cap : 0;
	w->len = 0;
	w->overflow = false;
}

/* Returns where n bytes may be written, or NULL (and sets overflow). */
static uint8_t *wr_take(struct wr *w, size_t n)
{
	uint8_t *p;

	if (w->overflow)
		return NULL;
	if (w->cap - w->len < n) {
		w->overflow = true;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *p = wr_take(w, 1);

	if (p != NULL)
		p[0] = v;
}

void wr_u16le(struct wr *w, uint16_t v)
{
	uint8_t *p = wr_take(w, 2);

	if (p != NULL)
		mbx_put_le16(p, v);
}

void wr_u32le(struct wr *w, uint32_t v)
{
	uint8_t *p = wr_take(w, 4);

	if (p != NULL)
		mbx_put_le32(p, v);
}

void wr_u64le(struct wr *w, uint64_t v)
{
	uint8_t *p = wr_take(w, 8);

	if (p != NULL) {
		mbx_put_le32(p, (uint32_t)v);
		mbx_put_le32(p + 4, (uint32_t)(v >> 32));
	}
}

void wr_u48be(struct wr *w, uint64_t v)
{
	uint8_t *p = wr_take(w, 6);

	if (p != NULL)
		for (int i = 5; i >= 0; i--, v >>= 8)
			p[i] = (uint8_t)v;
}

void wr_bytes(struct wr *w, const void *src, size_t n)
{
	uint8_t *p = wr_take(w, n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
}

void wr_zero(struct wr *w, size_t n)
{
	uint8_t *p = wr_take(w, n);

	if (p != NULL && n > 0)
		memset(p, 0, n);
}

void wr_str8z(struct wr *w, const char *s)
{
	wr_bytes(w, s, strlen(s) + 1);
}

size_t wr_reserve(struct wr *w, size_t n)
{
	size_t at = w->len;

	wr_zero(w, n);
	return at;
}

void wr_patch_u16le(struct wr *w, size_t at, uint16_t v)
{
	if (!w->overflow && at <= w->len && w->len - at >= 2)
		mbx_put_le16(w->buf + at, v);
}

void wr_patch_u32le(struct wr *w, size_t at, uint32_t v)
{
	if (!w->overflow && at <= w->len && w->len - at >= 4)
		mbx_put_le32(w->buf + at, v);
}

size_t wr_mark(const struct wr *w)
{
	assert(!w->overflow);
	return w->len;
}

void wr_rollback(struct wr *w, size_t mark)
{
	assert(mark <= w->len);
	w->len = mark;
	w->overflow = false;
}
