/*
 * lz77.h: the "LZ77 + DIRECT2" compression of MS-OXCRPC 3.1.4.1.1.2, which is the same bit
 * stream as [MS-XCA] 2.3/2.4 "Plain LZ77" (protocol.md 4.5). Pure functions on caller buffers.
 */
#ifndef MBX_LZ77_H
#define MBX_LZ77_H

#include <stddef.h>
#include <stdint.h>

struct mbx_lz77_err {
	size_t off;      /* offset in the compressed input where decoding failed */
	const char *msg; /* static text: "match distance reaches before the start", ... */
	/* Added by lz77.c's owner so callers can print numbers next to the static text: */
	size_t out_pos; /* output bytes produced before the failing item */
	uint64_t value; /* the offending distance, length or missing byte count; 0 if none */
};

/* Decompresses in[0..in_len) into exactly out_len bytes (the RPC_HEADER_EXT SizeActual).
 * Decoding stops as soon as out_len bytes are produced (trailing indicator bits and padding
 * are ignored, protocol.md 4.5 step 4). Fails, with *err_r filled, when the input ends before
 * out_len bytes, a match reaches before the start of the output, or a match would write past
 * out_len. Returns 0 or -1. */
int mbx_lz77_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
			struct mbx_lz77_err *err_r);

/* Worst-case compressed size of n input bytes (all literals, plus indicator words). */
#define MBX_LZ77_BOUND(n) ((n) + ((n) / 32 + 2) * 4)

/* Compresses in[0..in_len) (window 8192, minimum match 3, hash chains) into out, whose
 * capacity is out_cap. Unused bits of the last indicator word are set to 1; if it is exactly
 * full, an all-ones indicator follows (protocol.md 4.5 step 5). Returns the compressed size,
 * or 0 if it would not fit in out_cap (callers pass out_cap < in_len to ask "only if it
 * shrinks"). in_len 0 gives the 4-byte stream FF FF FF FF. Thread-safe (state on the stack
 * or in the caller's scratch: about 48 KB of stack). Inputs of 2 GiB or more are refused
 * (returns 0). */
size_t mbx_lz77_compress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

#endif
