/*
 * fuzz-rhe.c: libFuzzer harness for extended buffers and LZ77 (src/rop/rhe.c, src/rop/lz77.c;
 * MS-OXCRPC 2.2.2.1, 3.1.4.1.1.2-3; protocol.md 4.1, 4.4, 4.5).
 *
 * 1. The input is read as a chain of extended buffers, calling mbx_rhe_read until one has
 *    Last or an error, as the EcDoRpcExt2 / Execute code does. A failure must leave an error
 *    with an offset inside the input; every payload read must survive compress, then our
 *    decoder, unchanged, and also a write + read through mbx_rhe_write with XOR.
 * 2. The input is also fed straight to mbx_lz77_decompress, with out_len from its first two
 *    bytes (little-endian) and the rest as the stream; a successful output goes through the
 *    same round trip, and a failure must name an offset inside the stream.
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/lz77.h"
#include "mbx/rhe.h"
#include "mbx/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t payload[0x10000];
static uint8_t cz[MBX_LZ77_BOUND(0x10000)];
static uint8_t back[0x10000];
static uint8_t wire[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
static uint8_t scratch[MBX_RHE_MAX_PAYLOAD];

static void round_trip(const uint8_t *p, size_t n, const char *what)
{
	struct mbx_lz77_err err = {0, NULL, 0, 0};
	size_t cn = mbx_lz77_compress(p, n, cz, sizeof(cz));

	if (cn < 4 || cn > MBX_LZ77_BOUND(n)) {
		fprintf(stderr, "%s: compress of %zu bytes gave %zu\n", what, n, cn);
		abort();
	}
	if (mbx_lz77_decompress(cz, cn, back, n, &err) != 0) {
		fprintf(stderr, "%s: our own stream of %zu bytes fails: %s at %zu\n", what, n,
		        err.msg, err.off);
		abort();
	}
	if (memcmp(back, p, n) != 0) {
		fprintf(stderr, "%s: round trip of %zu bytes differs\n", what, n);
		abort();
	}
}

static void rhe_round_trip(const uint8_t *p, size_t n, int last)
{
	struct wr w;
	struct rd r;
	struct mbx_rhe h;
	size_t len = 0;

	wr_init(&w, wire, sizeof(wire));
	if (mbx_rhe_write(&w, p, n, 0, true, last, scratch) != 0) {
		fprintf(stderr, "rhe_write of %zu bytes failed\n", n);
		abort();
	}
	rd_init(&r, wire, w.len, 0);
	if (mbx_rhe_read(&r, &h, back, &len) != 0 || len != n || memcmp(back, p, n) != 0 ||
	    rd_left(&r) != 0 || !!(h.flags & MBX_RHE_LAST) != !!last) {
		fprintf(stderr, "rhe write/read of %zu bytes: %s\n", n, r.err_msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r;

	/* 1. A chain of extended buffers. */
	rd_init(&r, data, size, 0);
	for (;;) {
		struct mbx_rhe h;
		size_t len = 0;

		if (mbx_rhe_read(&r, &h, payload, &len) != 0) {
			if (rd_ok(&r) || r.err_msg[0] == '\0' || r.err_off > size) {
				fprintf(stderr, "rhe_read failed without a proper error\n");
				abort();
			}
			break;
		}
		if (len != h.size_actual || len > MBX_RHE_MAX_PAYLOAD ||
		    ((h.flags & MBX_RHE_COMPRESSED) && h.size >= h.size_actual)) {
			fprintf(stderr, "rhe_read accepted a bad header\n");
			abort();
		}
		round_trip(payload, len, "rhe payload");
		rhe_round_trip(payload, len, h.flags & MBX_RHE_LAST);
		if (h.flags & MBX_RHE_LAST)
			break;
	}

	/* 2. The raw decoder, out_len from the first two bytes. */
	if (size >= 2) {
		size_t out_len = (size_t)data[0] | (size_t)data[1] << 8;
		struct mbx_lz77_err err = {0, NULL, 0, 0};

		if (mbx_lz77_decompress(data + 2, size - 2, payload, out_len, &err) == 0) {
			round_trip(payload, out_len, "raw stream");
		} else if (err.msg == NULL || err.off > size - 2 || err.out_pos > out_len) {
			fprintf(stderr, "lz77 failed without a proper error\n");
			abort();
		}
	}
	return 0;
}
