/*
 * rhe.h: extended buffers, RPC_HEADER_EXT + payload (MS-OXCRPC 2.2.2.1, 3.1.4.1.1; protocol.md
 * 4.1, 4.4, 4.5): the framing of EcDoRpcExt2 rgbIn/rgbOut, of MAPI/HTTP Execute RopBuffers and
 * of auxiliary buffers. Receive order is un-XOR then decompress; send order is compress then
 * XOR. Pure functions: bytes in, bytes out.
 */
#ifndef MBX_RHE_H
#define MBX_RHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/wire.h"

#define MBX_RHE_VERSION 0x0000
#define MBX_RHE_COMPRESSED 0x0001
#define MBX_RHE_XORMAGIC 0x0002
#define MBX_RHE_LAST 0x0004
#define MBX_RHE_HDRLEN 8
#define MBX_RHE_MAX_PAYLOAD 0x8000 /* 32 KB: no payload, before or after compression, exceeds it */
#define MBX_RHE_XOR_BYTE 0xA5

struct mbx_rhe {
	uint16_t version;
	uint16_t flags;
	uint16_t size;        /* bytes on the wire after the header */
	uint16_t size_actual; /* bytes after decompression */
};

/* XORs n bytes with 0xA5 in place (self-inverse). */
void mbx_xor_a5(uint8_t *buf, size_t n);

/* Reads one extended buffer at r's position: validates the header (Version 0, no unknown flag,
 * Size and SizeActual within 32 KB, Size == SizeActual when not compressed, Size <
 * SizeActual... see rhe.c for the exact rules), then un-XORs and decompresses the payload into
 * out, which must hold MBX_RHE_MAX_PAYLOAD bytes. On success *hdr_r holds the header and
 * *len_r == SizeActual. On failure r's error names the offset and the problem. Returns 0 or -1. */
int mbx_rhe_read(struct rd *r, struct mbx_rhe *hdr_r, uint8_t *out, size_t *len_r);

/* Options for writing a response buffer, from the request's Flags (MAPI/HTTP Execute Flags,
 * EcDoRpcExt2 pulFlags: 0x1 NoCompression, 0x2 NoXorMagic). */
#define MBX_RPC_NOCOMPRESSION 0x0001
#define MBX_RPC_NOXORMAGIC 0x0002
#define MBX_RPC_CHAIN 0x0004

/* Writes one extended buffer carrying payload[0..len) (len <= MBX_RHE_MAX_PAYLOAD): compressed
 * only if the client allows it (no NOCOMPRESSION in rpc_flags) and it shrinks the payload,
 * XORed only if the client allows it and xor is requested; Last set if last. scratch must hold
 * MBX_RHE_MAX_PAYLOAD bytes. Returns 0, or -1 if w overflowed (w is rolled back). */
int mbx_rhe_write(struct wr *w, const uint8_t *payload, size_t len, uint32_t rpc_flags,
		  bool xor, bool last, uint8_t *scratch);

/* Human-readable flags "Compressed|XorMagic|Last" into buf. Returns buf. */
const char *mbx_rhe_flags_str(uint16_t flags, char *buf, size_t size);

#endif
