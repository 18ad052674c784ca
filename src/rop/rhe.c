/*
 * rhe.c: extended buffers, RPC_HEADER_EXT + payload (MS-OXCRPC 2.2.2.1, 3.1.4.1.1.1.x,
 * 3.1.4.2.1.x; protocol.md 4.1, 4.4, 4.5), with the XOR 0xA5 obfuscation (3.1.4.1.1.3) and the
 * LZ77 payload compression (3.1.4.1.1.2, lz77.c).
 *
 * Header rules enforced by mbx_rhe_read, in the order they are checked (each error names the
 * absolute offset of the field):
 *   R1 Version MUST be 0x0000 (2.2.2.1).
 *   R2 Flags holds only Compressed 0x1, XorMagic 0x2, Last 0x4: 2.2.2.1 lists these as "the
 *      flags that are valid" and they say how the payload MUST be interpreted, so a bit we do
 *      not know means a payload we cannot interpret; it is rejected rather than ignored.
 *   R3 Size <= 32 KB and SizeActual <= 32 KB (3.1.4.2.1.2.1: an extended buffer "MUST NOT
 *      contain more than 32 KB worth of request data"; 3.1.4.2.1.2.2 the same for responses;
 *      protocol.md 4.1). Without Compressed both are equal, so one limit serves both.
 *   R4 without Compressed, SizeActual MUST equal Size (2.2.2.1).
 *   R5 with Compressed, Size MUST be less than SizeActual (2.2.2.1); so SizeActual >= 1.
 *      Size 0 with Compressed passes R5 and then fails as a stream that ends too early.
 *   R6 Size bytes MUST follow the header.
 *   R7 with Compressed, the (un-XORed) payload MUST decode to exactly SizeActual bytes;
 *      anything after the byte that completes SizeActual is ignored (protocol.md 4.5 step 4).
 * Size 0 without Compressed is accepted (an empty payload); what an empty payload means is for
 * the caller (a ROP buffer needs at least its 2-byte RopSize). Whether Last is where it should
 * be (only on the final buffer of rgbIn, always on aux buffers: 3.1.4.2.1.1.1, 3.1.4.1.1.1.1)
 * is the caller's check: it calls mbx_rhe_read until a header has Last.
 */
#include "mbx/rhe.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mbx/lz77.h"

#define RHE_KNOWN_FLAGS (MBX_RHE_COMPRESSED | MBX_RHE_XORMAGIC | MBX_RHE_LAST)

void mbx_xor_a5(uint8_t *buf, size_t n)
{
	size_t i = 0;

	/* Word at a time; memcpy keeps it free of alignment and aliasing assumptions. */
	for (; n - i >= 8; i += 8) {
		uint64_t v;

		memcpy(&v, buf + i, 8);
		v ^= 0xA5A5A5A5A5A5A5A5u;
		memcpy(buf + i, &v, 8);
	}
	for (; i < n; i++)
		buf[i] ^= MBX_RHE_XOR_BYTE;
}

/* Decompresses a compressed payload that arrived XORed: un-XOR into a private copy first
 * (the order of 3.1.4.1.1.3), never into the caller's input. */
static int rhe_unxor_decompress(const uint8_t *src, size_t size, uint8_t *out, size_t out_len,
                                struct mbx_lz77_err *err_r)
{
	uint8_t tmp[MBX_RHE_MAX_PAYLOAD];

	memcpy(tmp, src, size);
	mbx_xor_a5(tmp, size);
	return mbx_lz77_decompress(tmp, size, out, out_len, err_r);
}

int mbx_rhe_read(struct rd *r, struct mbx_rhe *hdr_r, uint8_t *out, size_t *len_r)
{
	size_t at = rd_pos(r);
	struct mbx_rhe h;
	const uint8_t *payload;

	if (!rd_ok(r))
		return -1;
	if (rd_left(r) < MBX_RHE_HDRLEN) {
		rd_fail(r, "RPC_HEADER_EXT: need %d bytes, %zu left", MBX_RHE_HDRLEN, rd_left(r));
		return -1;
	}
	h.version = rd_u16le(r, "RPC_HEADER_EXT Version");
	h.flags = rd_u16le(r, "RPC_HEADER_EXT Flags");
	h.size = rd_u16le(r, "RPC_HEADER_EXT Size");
	h.size_actual = rd_u16le(r, "RPC_HEADER_EXT SizeActual");

	if (h.version != MBX_RHE_VERSION) {
		rd_fail_at(r, at, "RPC_HEADER_EXT Version 0x%04x, must be 0x0000", h.version);
		return -1;
	}
	if ((h.flags & ~RHE_KNOWN_FLAGS) != 0) {
		rd_fail_at(r, at + 2, "RPC_HEADER_EXT Flags 0x%04x has unknown bits 0x%04x",
		           h.flags, (unsigned)(h.flags & ~RHE_KNOWN_FLAGS));
		return -1;
	}
	if (h.size > MBX_RHE_MAX_PAYLOAD) {
		rd_fail_at(r, at + 4, "RPC_HEADER_EXT Size %u exceeds the 32 KB limit (%u)", h.size,
		           MBX_RHE_MAX_PAYLOAD);
		return -1;
	}
	if (h.size_actual > MBX_RHE_MAX_PAYLOAD) {
		rd_fail_at(r, at + 6, "RPC_HEADER_EXT SizeActual %u exceeds the 32 KB limit (%u)",
		           h.size_actual, MBX_RHE_MAX_PAYLOAD);
		return -1;
	}
	if (!(h.flags & MBX_RHE_COMPRESSED) && h.size_actual != h.size) {
		rd_fail_at(r, at + 6,
		           "RPC_HEADER_EXT SizeActual %u differs from Size %u without Compressed",
		           h.size_actual, h.size);
		return -1;
	}
	if ((h.flags & MBX_RHE_COMPRESSED) && h.size >= h.size_actual) {
		rd_fail_at(r, at + 4,
		           "RPC_HEADER_EXT Size %u is not less than SizeActual %u with Compressed",
		           h.size, h.size_actual);
		return -1;
	}
	if (rd_left(r) < h.size) {
		rd_fail_at(r, at + 4, "RPC_HEADER_EXT Size %u exceeds the %zu bytes left", h.size,
		           rd_left(r));
		return -1;
	}
	payload = rd_ptr(r, h.size, "payload");
	if (payload == NULL)
		return -1;

	if (h.flags & MBX_RHE_COMPRESSED) {
		struct mbx_lz77_err e;
		int rc;

		if (h.flags & MBX_RHE_XORMAGIC)
			rc = rhe_unxor_decompress(payload, h.size, out, h.size_actual, &e);
		else
			rc = mbx_lz77_decompress(payload, h.size, out, h.size_actual, &e);
		if (rc != 0) {
			rd_fail_at(r, at + MBX_RHE_HDRLEN + e.off,
			           "compressed payload: %s (value %" PRIu64
			           ", at output byte %zu of SizeActual %u)",
			           e.msg, e.value, e.out_pos, h.size_actual);
			return -1;
		}
	} else {
		memcpy(out, payload, h.size);
		if (h.flags & MBX_RHE_XORMAGIC)
			mbx_xor_a5(out, h.size);
	}
	*hdr_r = h;
	*len_r = h.size_actual;
	return 0;
}

int mbx_rhe_write(struct wr *w, const uint8_t *payload, size_t len, uint32_t rpc_flags, bool xor,
                  bool last, uint8_t *scratch)
{
	uint16_t flags = last ? MBX_RHE_LAST : 0;
	const uint8_t *body = payload;
	size_t size = len;
	size_t mark;

	if (!wr_ok(w) || len > MBX_RHE_MAX_PAYLOAD)
		return -1;
	mark = wr_mark(w);

	/* Compressed only when it shrinks: Size MUST be < SizeActual (2.2.2.1), hence len - 1. */
	if (!(rpc_flags & MBX_RPC_NOCOMPRESSION) && len > 4) {
		size_t n = mbx_lz77_compress(payload, len, scratch, len - 1);

		if (n != 0) {
			flags |= MBX_RHE_COMPRESSED;
			body = scratch;
			size = n;
		}
	}
	if (xor&&!(rpc_flags &MBX_RPC_NOXORMAGIC)) {
		flags |= MBX_RHE_XORMAGIC;
		if (body != scratch)
			memcpy(scratch, payload, len);
		body = scratch;
		mbx_xor_a5(scratch, size);
	}

	wr_u16le(w, MBX_RHE_VERSION);
	wr_u16le(w, flags);
	wr_u16le(w, (uint16_t)size);
	wr_u16le(w, (uint16_t)len);
	wr_bytes(w, body, size);
	if (!wr_ok(w)) {
		wr_rollback(w, mark);
		return -1;
	}
	return 0;
}

const char *mbx_rhe_flags_str(uint16_t flags, char *buf, size_t size)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
	        {MBX_RHE_COMPRESSED, "Compressed"},
	        {MBX_RHE_XORMAGIC, "XorMagic"},
	        {MBX_RHE_LAST, "Last"},
	};
	size_t n = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		n += (size_t)snprintf(buf + (n < size ? n : size - 1), n < size ? size - n : 1,
		                      "%s%s", n > 0 ? "|" : "", names[i].name);
	}
	if (flags & ~RHE_KNOWN_FLAGS)
		n += (size_t)snprintf(buf + (n < size ? n : size - 1), n < size ? size - n : 1,
		                      "%s0x%04x", n > 0 ? "|" : "",
		                      (unsigned)(flags & ~RHE_KNOWN_FLAGS));
	if (n == 0)
		snprintf(buf, size, "none");
	return buf;
}
