/*
 * wire.h: the bounds-checked byte reader and the fixed-capacity writer that every decoder and
 * encoder in mbxstore uses (conventions.md, "Reading and writing bytes").
 *
 * Reader: a sticky error. The first failure records the absolute offset and a message; every
 * later read is a no-op returning zero, so a decoder reads a whole structure and checks once
 * (rd_ok) at the end. Bounds are tested as `len - off < n`. Integers are assembled byte by byte.
 *
 * Writer: a fixed capacity (the client's limit for this response), a sticky overflow flag, and
 * mark/rollback so a response never holds half a ROP.
 *
 * Nothing here allocates or does I/O.
 */
#ifndef MBX_WIRE_H
#define MBX_WIRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBX_RD_ERRMAX 160

struct rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
	size_t base; /* absolute offset of buf[0] in the outermost input, for error messages */
	bool err;
	size_t err_off;               /* absolute offset where the first error happened */
	char err_msg[MBX_RD_ERRMAX]; /* what was wrong, e.g. "EssdnSize 90 exceeds the 12 bytes left" */
};

/* Reader over buf[0..len). base is the absolute offset reported in errors (0 usually). */
void rd_init(struct rd *r, const void *buf, size_t len, size_t base);

static inline bool rd_ok(const struct rd *r) { return !r->err; }
static inline size_t rd_left(const struct rd *r) { return r->err ? 0 : r->len - r->off; }
/* Absolute offset of the next byte (for messages). */
static inline size_t rd_pos(const struct rd *r) { return r->base + r->off; }

/* Records the first error at the current position; later calls are ignored. Always returns
 * false so a caller can `return rd_fail(r, ...)` from a bool-returning helper. */
bool rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, at an explicit absolute offset. */
bool rd_fail_at(struct rd *r, size_t abs_off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies src's error (offset and message) into dst if src failed and dst has not. */
void rd_take_error(struct rd *dst, const struct rd *src);

/* Fixed-size reads; on shortage they fail with "<what>: need N bytes, M left" and return 0.
 * `what` names the field for the message and may be NULL. */
uint8_t rd_u8(struct rd *r, const char *what);
uint16_t rd_u16le(struct rd *r, const char *what);
uint32_t rd_u32le(struct rd *r, const char *what);
uint64_t rd_u64le(struct rd *r, const char *what);
uint64_t rd_u48be(struct rd *r, const char *what);
/* Copies n bytes into dst (zero-filled on failure). */
void rd_bytes(struct rd *r, void *dst, size_t n, const char *what);
/* Returns a pointer to the next n bytes inside the input and advances, or NULL on shortage. */
const uint8_t *rd_ptr(struct rd *r, size_t n, const char *what);
/* Skips n bytes. */
void rd_skip(struct rd *r, size_t n, const char *what);
/* An 8-bit string of exactly n bytes (n counts the NUL) that must end with a NUL and hold no
 * earlier NUL. Returns a pointer into the input (valid as long as the input) or NULL. n == 0
 * fails: callers that allow "no string" test for it first. */
const char *rd_str8z_n(struct rd *r, size_t n, const char *what);
/* An 8-bit NUL-terminated string of at most max bytes including the NUL, length not given
 * in advance. Returns a pointer into the input and its length without the NUL in *len_r. */
const char *rd_str8z(struct rd *r, size_t max, size_t *len_r, const char *what);
/* A sub-reader over the next n bytes (its errors carry absolute offsets); advances r past
 * them. On shortage r fails and sub is an empty reader already in error. */
void rd_sub(struct rd *r, size_t n, struct rd *sub, const char *what);

struct wr {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void wr_init(struct wr *w, void *buf, size_t cap);
static inline bool wr_ok(const struct wr *w) { return !w->overflow; }
static inline size_t wr_room(const struct wr *w) { return w->overflow ? 0 : w->cap - w->len; }

void wr_u8(struct wr *w, uint8_t v);
void wr_u16le(struct wr *w, uint16_t v);
void wr_u32le(struct wr *w, uint32_t v);
void wr_u64le(struct wr *w, uint64_t v);
void wr_u48be(struct wr *w, uint64_t v);
void wr_bytes(struct wr *w, const void *src, size_t n);
void wr_zero(struct wr *w, size_t n);
/* Writes s and its terminating NUL. */
void wr_str8z(struct wr *w, const char *s);
/* Reserves n bytes (zeroed) and returns their offset for a later wr_patch_*; on overflow the
 * returned offset is meaningless and the patch is a no-op. */
size_t wr_reserve(struct wr *w, size_t n);
void wr_patch_u16le(struct wr *w, size_t at, uint16_t v);
void wr_patch_u32le(struct wr *w, size_t at, uint32_t v);

/* A mark is the length at the time it was taken; the writer must not be in overflow then
 * (callers roll back as soon as a write overflows). Rollback truncates to the mark and clears
 * the overflow flag. */
size_t wr_mark(const struct wr *w);
void wr_rollback(struct wr *w, size_t mark);

/* Little-endian helpers for code that already checked its bounds. */
static inline uint16_t mbx_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t mbx_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline void mbx_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void mbx_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
