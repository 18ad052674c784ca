/*
 * lz77.c: the "LZ77 + DIRECT2" compression of MS-OXCRPC 3.1.4.1.1.2 (3.1.4.1.1.2.1 matching,
 * 3.1.4.1.1.2.2 bitmask and length encoding), which is the [MS-XCA] 2.3/2.4 "Plain LZ77" bit
 * stream; our description is protocol.md 4.5.
 *
 * Decoder: produces exactly out_len (SizeActual) bytes and stops there, so the trailing
 * indicator bits and padding of old encoders are ignored. Every read and write is checked
 * against the remaining input and output; the fast paths (32-byte literal runs, 8-byte match
 * chunks) are taken only when the remaining room proves they stay inside both buffers, and
 * matches are copied byte by byte only while their overlap requires it.
 *
 * Encoder: window 8192, minimum match 3, hash chains of bounded depth over 3-byte prefixes,
 * one step of lazy matching. Unused bits of the last indicator word are 1, and an indicator
 * that is exactly full is followed by an all-ones one (protocol.md 4.5 step 5).
 */
#include "mbx/lz77.h"

#include <stdbool.h>
#include <string.h>

#include "mbx/wire.h"

/* --- decoder ---------------------------------------------------------------------------- */

static int lz77_fail(struct mbx_lz77_err *err_r, size_t off, size_t out_pos, uint64_t value,
                     const char *msg)
{
	if (err_r != NULL) {
		err_r->off = off;
		err_r->msg = msg;
		err_r->out_pos = out_pos;
		err_r->value = value;
	}
	return -1;
}

/* Copies a match of len bytes from dist bytes back; the caller has checked dist <= op and
 * len <= out_len - op. */
static inline void lz77_copy_match(uint8_t *out, size_t op, size_t out_len, size_t dist, size_t len)
{
	uint8_t *d = out + op;
	const uint8_t *s = d - dist;
	size_t room = out_len - op; /* >= len */

	if (dist >= 8 && room - len >= 8) {
		/* Every 8-byte chunk reads bytes that are already final (dist >= 8) and the last
		 * chunk ends at most 7 bytes past len, still inside out. */
		size_t k = 0;

		do {
			memcpy(d + k, s + k, 8);
			k += 8;
		} while (k < len);
		return;
	}
	if (dist >= len) {
		memcpy(d, s, len);
		return;
	}
	if (dist == 1) {
		memset(d, s[0], len);
		return;
	}
	/* Overlapping, period dist < len. Write the first period-multiple of at least 8 bytes
	 * one by one; after that the output repeats with that period too, so 8-byte chunks
	 * from that far back are exact. */
	size_t per = dist;
	size_t k = 0;

	while (per < 8)
		per += dist;
	if (per < len && room - len >= 8) {
		for (; k < per; k++)
			d[k] = s[k];
		do {
			memcpy(d + k, d + k - per, 8);
			k += 8;
		} while (k < len);
		return;
	}
	for (; k < len; k++)
		d[k] = s[k];
}

int mbx_lz77_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                        struct mbx_lz77_err *err_r)
{
	size_t ip = 0, op = 0;
	size_t nib = SIZE_MAX; /* position of a half-used length nibble byte, or none */
	uint32_t flags = 0;    /* indicator bits not yet used, next one at bit 31 */
	unsigned nflags = 0;   /* how many */

	if (out_len == 0)
		return 0;
	for (;;) {
		if (nflags == 0) {
			if (in_len - ip < 4) {
				if (in_len == ip)
					return lz77_fail(err_r, ip, op, out_len - op,
					                 "input ends before SizeActual bytes");
				return lz77_fail(err_r, ip, op, 4,
				                 "input ends inside an indicator word");
			}
			flags = mbx_le32(in + ip);
			ip += 4;
			nflags = 32;
		}

		/* A run of literals: the leading zero bits of the indicator. */
		unsigned run = flags != 0 ? (unsigned)__builtin_clz(flags) : 32;

		if (run > nflags)
			run = nflags;
		if (run > 0) {
			size_t n = run;

			if (n > out_len - op)
				n = out_len - op;
			if (in_len - ip >= 32 && out_len - op >= 32) {
				memcpy(out + op, in + ip, 32);
			} else {
				/* Literals are one-byte items: a short run is input that ends
				 * between items, like the checks below. */
				if (in_len - ip < n)
					return lz77_fail(err_r, in_len, op + (in_len - ip),
					                 out_len - op - (in_len - ip),
					                 "input ends before SizeActual bytes");
				memcpy(out + op, in + ip, n);
			}
			ip += n;
			op += n;
			if (op == out_len)
				return 0;
			flags = run < 32 ? flags << run : 0;
			nflags -= run;
			continue;
		}

		/* A match token. */
		size_t tok = ip;
		uint64_t len;

		flags <<= 1;
		nflags--;
		if (in_len - ip < 2) {
			if (in_len == ip)
				return lz77_fail(err_r, ip, op, out_len - op,
				                 "input ends before SizeActual bytes");
			return lz77_fail(err_r, ip, op, 2, "input ends inside a match token");
		}

		uint32_t m = mbx_le16(in + ip);
		size_t dist = (m >> 3) + 1;

		ip += 2;
		len = m & 7;
		if (len < 7) {
			len += 3;
		} else {
			unsigned n4;

			if (nib == SIZE_MAX) {
				if (ip == in_len)
					return lz77_fail(err_r, ip, op, 1,
					                 "input ends inside a match length nibble");
				n4 = in[ip] & 15;
				nib = ip++;
			} else {
				n4 = in[nib] >> 4;
				nib = SIZE_MAX;
			}
			if (n4 < 15) {
				len = n4 + 10;
			} else {
				if (ip == in_len)
					return lz77_fail(err_r, ip, op, 1,
					                 "input ends inside a match length byte");
				uint8_t b = in[ip++];

				if (b < 255) {
					len = (uint64_t)b + 25;
				} else {
					size_t at = ip;
					uint32_t w;

					if (in_len - ip < 2)
						return lz77_fail(
						        err_r, ip, op, 2,
						        "input ends inside a 16-bit match length");
					w = mbx_le16(in + ip);
					ip += 2;
					if (w == 0) {
						at = ip;
						if (in_len - ip < 4)
							return lz77_fail(err_r, ip, op, 4,
							                 "input ends inside a "
							                 "32-bit match length");
						w = mbx_le32(in + ip);
						ip += 4;
					}
					/* MS-XCA 2.4.4: the full length minus 3, and never below
					 * what the shorter forms could have said. */
					if (w < 22)
						return lz77_fail(err_r, at, op, w,
						                 "extended match length below 22");
					len = (uint64_t)w + 3;
				}
			}
		}
		if (dist > op)
			return lz77_fail(err_r, tok, op, dist,
			                 "match distance reaches before the start of the output");
		if (len > out_len - op)
			return lz77_fail(err_r, tok, op, len,
			                 "match runs past the end of the output (SizeActual)");
		lz77_copy_match(out, op, out_len, dist, (size_t)len);
		op += (size_t)len;
		if (op == out_len)
			return 0;
	}
}

/* --- encoder ---------------------------------------------------------------------------- */

#define LZ77_WINDOW 8192
#define LZ77_MIN_MATCH 3
#define LZ77_HASH_BITS_MAX 13
#define LZ77_HASH_BITS_MIN 8
#define LZ77_MAX_CHAIN 24 /* candidates looked at per position */
#define LZ77_LAZY_CHAIN 8 /* ... when checking whether the next position does better */
#define LZ77_NICE 64      /* a match this long is taken without looking further */
#define LZ77_LAZY_MAX 24  /* a match this long is not second-guessed by lazy matching */
#define LZ77_SKIP_SHIFT 6 /* without a match for 64 positions, step 2; for 128, step 3... */
#define LZ77_SKIP_MAX 16  /* ... up to 16 */

struct lz77_enc {
	const uint8_t *in;
	size_t in_len;
	unsigned hash_shift;
	uint32_t head[1u << LZ77_HASH_BITS_MAX]; /* last position + 1 with this hash, 0 none */
	uint16_t prev[LZ77_WINDOW]; /* distance back to the previous position with the same
	                               hash, 0 when none within the window */

	uint8_t *out;
	size_t cap;
	size_t o;      /* bytes written */
	size_t ind_at; /* where the current indicator word goes */
	uint32_t ind;  /* its bits so far */
	unsigned nind; /* how many */
	size_t nib_at; /* a nibble byte whose high half is free, or SIZE_MAX */
};

static inline uint32_t lz77_hash(const struct lz77_enc *e, size_t p)
{
	uint32_t v;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (e->in_len - p >= 4) {
		memcpy(&v, e->in + p, 4); /* one load; only the 3 bytes of a minimum match count */
		v &= 0xFFFFFF;
	} else
#endif
	{
		v = (uint32_t)e->in[p] | ((uint32_t)e->in[p + 1] << 8) |
		    ((uint32_t)e->in[p + 2] << 16);
	}
	return (v * 2654435761u) >> e->hash_shift;
}

/* Records position p (which has 3 bytes after it) in its hash chain. */
static inline void lz77_insert(struct lz77_enc *e, size_t p)
{
	uint32_t h = lz77_hash(e, p);
	uint32_t last = e->head[h];
	size_t back = last != 0 ? p - (last - 1) : 0;

	e->prev[p & (LZ77_WINDOW - 1)] = back <= LZ77_WINDOW ? (uint16_t)back : 0;
	e->head[h] = (uint32_t)p + 1;
}

/* Length of the common prefix of a and b, at most max. */
static inline size_t lz77_common(const uint8_t *a, const uint8_t *b, size_t max)
{
	size_t n = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (max - n >= 8) {
		uint64_t x, y;

		memcpy(&x, a + n, 8);
		memcpy(&y, b + n, 8);
		if (x != y)
			return n + ((unsigned)__builtin_ctzll(x ^ y) >> 3);
		n += 8;
	}
#endif
	while (n < max && a[n] == b[n])
		n++;
	return n;
}

/* Longest match for position p among positions already inserted (all of them < p). Returns
 * its length (0 if below the minimum) and its distance in *dist_r. */
static size_t lz77_find(const struct lz77_enc *e, size_t p, unsigned depth, size_t *dist_r)
{
	const uint8_t *in = e->in;
	size_t max = e->in_len - p;
	size_t best = LZ77_MIN_MATCH - 1;
	uint32_t head = e->head[lz77_hash(e, p)];
	size_t cand, back;

	if (head == 0)
		return 0;
	cand = head - 1;
	back = p - cand;
	while (back <= LZ77_WINDOW) {
		/* Cheap test first: the byte that would make this match longer than best. */
		if (in[cand + best] == in[p + best] && in[cand] == in[p]) {
			size_t n = lz77_common(in + cand, in + p, max);

			if (n > best) {
				best = n;
				*dist_r = back;
				if (n >= LZ77_NICE || n == max)
					break;
			}
		}
		if (--depth == 0)
			break;
		size_t step = e->prev[cand & (LZ77_WINDOW - 1)];

		if (step == 0)
			break;
		back += step;
		cand -= step;
	}
	return best >= LZ77_MIN_MATCH ? best : 0;
}

/* Appends one indicator bit after its item was written; starts a new indicator word when
 * this one is full. */
static inline bool lz77_flag(struct lz77_enc *e, uint32_t bit)
{
	e->ind = (e->ind << 1) | bit;
	if (++e->nind < 32)
		return true;
	mbx_put_le32(e->out + e->ind_at, e->ind);
	if (e->cap - e->o < 4)
		return false;
	e->ind_at = e->o;
	e->o += 4;
	e->ind = 0;
	e->nind = 0;
	return true;
}

static inline bool lz77_literal(struct lz77_enc *e, uint8_t c)
{
	if (e->o == e->cap)
		return false;
	e->out[e->o++] = c;
	return lz77_flag(e, 0);
}

/* Match token, then the length extensions (protocol.md 4.5 step 2 read backwards). */
static bool lz77_match(struct lz77_enc *e, size_t dist, size_t len)
{
	size_t need = 2;
	size_t l = len - LZ77_MIN_MATCH;

	if (l >= 7) {
		need += e->nib_at == SIZE_MAX;
		if (len - 10 >= 15)
			need += 1 + (len - 25 >= 255 ? (len - 3 <= 0xFFFF ? 2 : 6) : 0);
	}
	if (e->cap - e->o < need)
		return false;

	uint8_t *p = e->out + e->o;

	mbx_put_le16(p, (uint16_t)(((dist - 1) << 3) | (l < 7 ? l : 7)));
	p += 2;
	if (l >= 7) {
		size_t n4 = len - 10 < 15 ? len - 10 : 15;

		if (e->nib_at == SIZE_MAX) {
			e->nib_at = (size_t)(p - e->out);
			*p++ = (uint8_t)n4;
		} else {
			e->out[e->nib_at] |= (uint8_t)(n4 << 4);
			e->nib_at = SIZE_MAX;
		}
		if (n4 == 15) {
			if (len - 25 < 255) {
				*p++ = (uint8_t)(len - 25);
			} else {
				*p++ = 255;
				if (len - 3 <= 0xFFFF) {
					mbx_put_le16(p, (uint16_t)(len - 3));
					p += 2;
				} else {
					mbx_put_le16(p, 0);
					mbx_put_le32(p + 2, (uint32_t)(len - 3));
					p += 6;
				}
			}
		}
	}
	e->o = (size_t)(p - e->out);
	return lz77_flag(e, 1);
}

size_t mbx_lz77_compress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
	struct lz77_enc e;
	unsigned bits = LZ77_HASH_BITS_MIN;
	size_t p = 0, ins = 0; /* next position to insert into the chains */
	size_t last_ins;       /* positions up to here have 3 bytes to hash */
	size_t len = 0, dist = 0;
	size_t misses = 0; /* positions since the last match */

	if (out_cap < 4 || in_len >= 0x80000000u)
		return 0;
	/* A smaller table for small inputs: clearing it is part of the cost. */
	while (bits < LZ77_HASH_BITS_MAX && ((size_t)1 << bits) < in_len)
		bits++;
	e.in = in;
	e.in_len = in_len;
	e.hash_shift = 32 - bits;
	memset(e.head, 0, sizeof(e.head[0]) << bits);
	e.out = out;
	e.cap = out_cap;
	e.o = 4;
	e.ind_at = 0;
	e.ind = 0;
	e.nind = 0;
	e.nib_at = SIZE_MAX;
	last_ins = in_len >= LZ77_MIN_MATCH ? in_len - LZ77_MIN_MATCH + 1 : 0;

	while (p < in_len) {
		if (p < last_ins) {
			len = lz77_find(&e, p, LZ77_MAX_CHAIN, &dist);
			lz77_insert(&e, p);
			ins = p + 1;
		} else {
			len = 0;
		}
		/* Lazy step: if the next position starts a longer match, emit a literal here. */
		while (len != 0 && len < LZ77_LAZY_MAX && p + 1 < last_ins) {
			size_t d2 = 0, l2 = lz77_find(&e, p + 1, LZ77_LAZY_CHAIN, &d2);

			if (l2 <= len)
				break;
			if (!lz77_literal(&e, in[p]))
				return 0;
			p++;
			lz77_insert(&e, p);
			ins = p + 1;
			len = l2;
			dist = d2;
		}
		if (len == 0) {
			/* After a long stretch without matches (already compressed or random
			 * data), search only every 2nd, 3rd... position, up to every 16th. The
			 * skipped positions are literals but still go into the chains, so a match
			 * of 18 bytes or more is still found, at most 15 bytes late. Resets at
			 * the next match. */
			size_t step = 1 + (misses++ >> LZ77_SKIP_SHIFT);

			if (step > LZ77_SKIP_MAX)
				step = LZ77_SKIP_MAX;
			if (step > in_len - p)
				step = in_len - p;
			for (size_t k = 0; k < step; k++)
				if (!lz77_literal(&e, in[p + k]))
					return 0;
			p += step;
			for (size_t end = p < last_ins ? p : last_ins; ins < end; ins++)
				lz77_insert(&e, ins);
			continue;
		}
		misses = 0;
		if (!lz77_match(&e, dist, len))
			return 0;
		p += len;
		for (size_t end = p < last_ins ? p : last_ins; ins < end; ins++)
			lz77_insert(&e, ins);
	}

	/* The last indicator: unused bits are 1; an empty (just started) one is all ones. */
	uint32_t ind =
	        e.nind == 0 ? 0xFFFFFFFFu : (e.ind << (32 - e.nind)) | ((1u << (32 - e.nind)) - 1);

	mbx_put_le32(e.out + e.ind_at, ind);
	return e.o;
}
