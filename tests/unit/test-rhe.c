/*
 * test-rhe.c: unit tests of src/rop/rhe.c, extended buffers (RPC_HEADER_EXT + payload,
 * MS-OXCRPC 2.2.2.1 and 3.1.4.1.1.x; protocol.md 4.1, 4.4, 4.5, 9.1): the header rules R1-R7
 * listed in rhe.c, XOR, decompression, chains of buffers, and the writer.
 */
#include "mbx-test.h"

#include "mbx/lz77.h"
#include "mbx/rhe.h"
#include "mbx/wire.h"

static uint8_t out[MBX_RHE_MAX_PAYLOAD];

/* Reads one buffer from buf at absolute base 100 and expects failure with msg_sub at
 * err_off (absolute). */
static void check_read_fails(const uint8_t *buf, size_t n, const char *msg_sub, size_t err_off)
{
	struct rd r;
	struct mbx_rhe h;
	size_t len = 12345;

	rd_init(&r, buf, n, 100);
	assert_int_equal(mbx_rhe_read(&r, &h, out, &len), -1);
	assert_false(rd_ok(&r));
	if (strstr(r.err_msg, msg_sub) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err_msg, msg_sub);
	if (err_off != SIZE_MAX)
		assert_int_equal(r.err_off, err_off);
	assert_int_equal(len, 12345); /* untouched on failure */
}

/* A header with the given fields followed by size_present payload bytes of 'p'. */
static uint8_t *make_buf(uint16_t version, uint16_t flags, uint16_t size, uint16_t actual,
                         size_t size_present, size_t *n_r)
{
	uint8_t *b = malloc(8 + size_present);

	assert_non_null(b);
	mbx_put_le16(b, version);
	mbx_put_le16(b + 2, flags);
	mbx_put_le16(b + 4, size);
	mbx_put_le16(b + 6, actual);
	memset(b + 8, 'p', size_present);
	*n_r = 8 + size_present;
	return b;
}

/* --- real Outlook 2007 buffers (protocol.md 9.1) ------------------------------------------ */

static void test_rgbin_001(void **state)
{
	size_t n, pn, len = 0;
	uint8_t *buf = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.rgbIn.bin", &n);
	uint8_t *plain = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_decompressed.bin",
	        &pn);
	struct rd r;
	struct mbx_rhe h;

	assert_int_equal(n, 0x14D);
	rd_init(&r, buf, n, 0);
	assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
	assert_true(rd_ok(&r));
	assert_int_equal(h.version, 0);
	assert_int_equal(h.flags, MBX_RHE_COMPRESSED | MBX_RHE_LAST);
	assert_int_equal(h.size, 0x145);
	assert_int_equal(h.size_actual, 0x1CB);
	assert_int_equal(len, pn);
	assert_memory_equal(out, plain, pn);
	assert_int_equal(rd_left(&r), 0);
	free(buf);
	free(plain);
}

static void test_rgbin_002(void **state)
{
	size_t n, cn, len = 0;
	uint8_t *buf = mbx_test_vector(
	        "openchange-lzxpress/002_Outlook_2007_in_Tables_operations.rgbIn.bin", &n);
	uint8_t *cz = mbx_test_vector(
	        "openchange-lzxpress/002_Outlook_2007_in_Tables_operations.payload_compressed.bin",
	        &cn);
	uint8_t direct[380];
	struct rd r;
	struct mbx_rhe h;
	static const uint32_t handles[6] = {0x75,       0xFFFFFFFF, 0x71,
	                                    0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};

	rd_init(&r, buf, n, 0);
	assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
	assert_int_equal(h.flags, MBX_RHE_COMPRESSED | MBX_RHE_LAST);
	assert_int_equal(h.size, 0x14A);
	assert_int_equal(len, 380);
	/* The payload after the header is exactly the published compressed payload, and the
	 * result equals a direct decode (whose sha256 test-lz77 checks). */
	assert_int_equal(cn, 0x14A);
	assert_memory_equal(buf + 8, cz, cn);
	assert_int_equal(mbx_lz77_decompress(cz, cn, direct, sizeof(direct), NULL), 0);
	assert_memory_equal(out, direct, 380);
	assert_int_equal(mbx_le16(out), 0x164);
	assert_memory_equal(out + 2, "\x05\x00\x00\x01\x02", 5); /* RopGetContentsTable */
	for (int i = 0; i < 6; i++)
		assert_int_equal(mbx_le32(out + 0x164 + 4 * i), handles[i]);
	free(buf);
	free(cz);
}

/* The rgbAuxIn of vector 001: XorMagic|Last, 40 XORed bytes. */
static void test_aux_xor(void **state)
{
	size_t n, len = 0;
	uint8_t *buf = mbx_test_hex("0000 0600 2800 2800"
	                            "ada5a4a4a4a506a5b5a5a4a9e3a5a5a5a5a5a5a507a5a5a5b5a5a4a9eb"
	                            "a5a5a5eba5a5a507a5a5a5",
	                            &n);
	struct rd r;
	struct mbx_rhe h;
	char fl[64];

	rd_init(&r, buf, n, 0);
	assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
	assert_int_equal(len, 40);
	assert_string_equal(mbx_rhe_flags_str(h.flags, fl, sizeof(fl)), "XorMagic|Last");
	/* AUX_HEADER{Size 8, Version 1, Type 1 PERF_REQUESTID}: SessionId 1, RequestId 0xA3;
	 * then AUX_HEADER{16, 1, 0x0C}. */
	assert_memory_equal(out, "\x08\x00\x01\x01\x01\x00\xa3\x00\x10\x00\x01\x0c", 12);
	free(buf);
}

static void test_truncation_sweep(void **state)
{
	static const char *const files[] = {
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.rgbIn.bin",
	        "openchange-lzxpress/002_Outlook_2007_in_Tables_operations.rgbIn.bin",
	};

	for (size_t f = 0; f < 2; f++) {
		size_t n;
		uint8_t *buf = mbx_test_vector(files[f], &n);

		for (size_t k = 0; k < n; k++) {
			uint8_t *copy = malloc(k + 1);
			struct rd r;
			struct mbx_rhe h;
			size_t len;

			assert_non_null(copy);
			memcpy(copy, buf, k);
			rd_init(&r, copy, k, 0);
			assert_int_equal(mbx_rhe_read(&r, &h, out, &len), -1);
			assert_false(rd_ok(&r));
			if (k < 8)
				assert_non_null(strstr(r.err_msg, "need 8 bytes"));
			else
				assert_non_null(strstr(r.err_msg, "bytes left"));
			free(copy);
		}
		free(buf);
	}
}

/* --- header rules ------------------------------------------------------------------------- */

static void test_bad_version(void **state)
{
	static const uint16_t versions[] = {1, 0x0100, 0x8000, 0xFFFF};

	for (size_t i = 0; i < 4; i++) {
		size_t n;
		uint8_t *b = make_buf(versions[i], MBX_RHE_LAST, 1, 1, 1, &n);

		check_read_fails(b, n, "RPC_HEADER_EXT Version", 100);
		free(b);
	}
}

static void test_bad_flags(void **state)
{
	static const uint16_t flags[] = {0x0008, 0x0010, 0x8000, 0xFFFF, 0x000F};

	for (size_t i = 0; i < 5; i++) {
		size_t n;
		uint8_t *b = make_buf(0, flags[i], 1, 1, 1, &n);

		check_read_fails(b, n, "unknown bits", 102);
		free(b);
	}
	/* Every combination of the three known flags is accepted by the header checks. */
	for (uint16_t f = 0; f < 8; f++) {
		size_t n, len;
		uint8_t *b = make_buf(0, f & ~MBX_RHE_COMPRESSED, 3, 3, 3, &n);
		struct rd r;
		struct mbx_rhe h;

		rd_init(&r, b, n, 0);
		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
		assert_int_equal(len, 3);
		assert_int_equal(out[0], (f & MBX_RHE_XORMAGIC) ? ('p' ^ 0xA5) : 'p');
		free(b);
	}
}

/* Size and SizeActual rows: 0, 1, max (0x8000), max + 1, 0xFFFF. */
static void test_sizes_uncompressed(void **state)
{
	static const uint16_t ok[] = {0, 1, 0x7FFF, 0x8000};
	static const uint16_t bad[] = {0x8001, 0xFFFF};

	for (size_t i = 0; i < 4; i++) {
		size_t n, len = 99;
		uint8_t *b = make_buf(0, MBX_RHE_LAST, ok[i], ok[i], ok[i], &n);
		struct rd r;
		struct mbx_rhe h;

		if (ok[i] > 0)
			b[n - 1] = 'q'; /* a distinct last byte */
		rd_init(&r, b, n, 0);
		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
		assert_int_equal(len, ok[i]);
		assert_int_equal(rd_left(&r), 0);
		if (ok[i] > 1)
			assert_int_equal(out[0], 'p');
		if (ok[i] > 0)
			assert_int_equal(out[ok[i] - 1], 'q');
		free(b);
	}
	for (size_t i = 0; i < 2; i++) {
		size_t n;
		uint8_t *b = make_buf(0, MBX_RHE_LAST, bad[i], bad[i], 0, &n);

		check_read_fails(b, n, "Size", 104);
		free(b);
		b = make_buf(0, MBX_RHE_LAST, 4, bad[i], 4, &n);
		check_read_fails(b, n, "SizeActual", 106);
		free(b);
	}
	/* Size 0x8001 names the 32 KB limit. */
	{
		size_t n;
		uint8_t *b = make_buf(0, MBX_RHE_LAST, 0x8001, 0x8001, 0x8001, &n);

		check_read_fails(b, n, "RPC_HEADER_EXT Size 32769 exceeds the 32 KB limit", 104);
		free(b);
	}
	/* Without Compressed, SizeActual must equal Size (either direction). */
	{
		size_t n;
		uint8_t *b = make_buf(0, MBX_RHE_LAST, 4, 5, 4, &n);

		check_read_fails(b, n, "differs from Size", 106);
		free(b);
		b = make_buf(0, MBX_RHE_LAST, 5, 4, 5, &n);
		check_read_fails(b, n, "differs from Size", 106);
		free(b);
	}
	/* Size larger than what follows, by one byte. */
	{
		size_t n;
		uint8_t *b = make_buf(0, MBX_RHE_LAST, 10, 10, 9, &n);

		check_read_fails(b, n, "Size 10 exceeds the 9 bytes left", 104);
		free(b);
	}
}

static void test_sizes_compressed(void **state)
{
	size_t n;
	uint8_t *b;

	/* Size == SizeActual and Size > SizeActual: Size must be less. */
	b = make_buf(0, MBX_RHE_COMPRESSED | MBX_RHE_LAST, 10, 10, 10, &n);
	check_read_fails(b, n, "not less than SizeActual", 104);
	free(b);
	b = make_buf(0, MBX_RHE_COMPRESSED | MBX_RHE_LAST, 11, 10, 11, &n);
	check_read_fails(b, n, "not less than SizeActual", 104);
	free(b);
	/* Size 0, SizeActual 0: not less. Size 0, SizeActual 1: a stream that ends at once. */
	b = make_buf(0, MBX_RHE_COMPRESSED | MBX_RHE_LAST, 0, 0, 0, &n);
	check_read_fails(b, n, "not less than SizeActual", 104);
	free(b);
	b = make_buf(0, MBX_RHE_COMPRESSED | MBX_RHE_LAST, 0, 1, 0, &n);
	check_read_fails(b, n, "input ends before SizeActual", 108);
	free(b);
	/* SizeActual max + 1 with a small Size. */
	b = make_buf(0, MBX_RHE_COMPRESSED | MBX_RHE_LAST, 8, 0x8001, 8, &n);
	check_read_fails(b, n, "SizeActual 32769 exceeds", 106);
	free(b);
	/* SizeActual max (0x8000): 32 KB of zeros from a 14-byte stream. */
	{
		uint8_t zeros[MBX_RHE_MAX_PAYLOAD] = {0}, cz[64];
		size_t cn = mbx_lz77_compress(zeros, sizeof(zeros), cz, sizeof(cz)), len = 0;
		struct rd r;
		struct mbx_rhe h;

		assert_true(cn > 0 && cn < 32);
		b = make_buf(0, MBX_RHE_COMPRESSED | MBX_RHE_LAST, (uint16_t)cn, 0x8000, cn, &n);
		memcpy(b + 8, cz, cn);
		memset(out, 0xEE, sizeof(out));
		rd_init(&r, b, n, 0);
		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
		assert_int_equal(len, 0x8000);
		assert_memory_equal(out, zeros, sizeof(zeros));
		free(b);
	}
}

/* A broken stream: the error points into the payload at the failing token. */
static void test_bad_stream_offset(void **state)
{
	size_t n;
	/* Indicator: literal then match; match distance 2 with 1 byte of output. */
	uint8_t *b = mbx_test_hex("0000 0500 0700 0a00 ffffff7f 61 0800", &n);
	uint8_t *x;

	check_read_fails(b, n, "compressed payload: match distance reaches before the start",
	                 100 + 8 + 5);
	check_read_fails(b, n, "value 2, at output byte 1 of SizeActual 10", SIZE_MAX);
	/* The same stream XORed, with XorMagic: un-XOR comes first, same error. */
	x = malloc(n);
	assert_non_null(x);
	memcpy(x, b, n);
	x[2] |= MBX_RHE_XORMAGIC;
	mbx_xor_a5(x + 8, n - 8);
	check_read_fails(x, n, "match distance reaches before the start", 100 + 8 + 5);
	free(x);
	free(b);
}

/* Header checks run in the documented order: the first broken field is named. */
static void test_rule_order(void **state)
{
	size_t n;
	uint8_t *b = make_buf(7, 0x0100, 0xFFFF, 3, 0, &n);

	check_read_fails(b, n, "Version", 100);
	mbx_put_le16(b, 0);
	check_read_fails(b, n, "Flags", 102);
	mbx_put_le16(b + 2, 0);
	check_read_fails(b, n, "Size 65535 exceeds the 32 KB", 104);
	free(b);
}

/* --- chains, writer ----------------------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = i % 13 == 0 ? (uint8_t)(seed * 31 + i) : (uint8_t)"ROPDATA"[i % 7];
}

static void test_chain(void **state)
{
	static uint8_t wire[4 * (8 + MBX_RHE_MAX_PAYLOAD) + 64], scratch[MBX_RHE_MAX_PAYLOAD];
	static uint8_t payload[4][MBX_RHE_MAX_PAYLOAD];
	static const size_t lens[4] = {100, MBX_RHE_MAX_PAYLOAD, 0, 5000};
	static const bool xors[4] = {true, false, true, true};
	size_t ends[4];
	struct wr w;
	struct rd r;
	int nread = 0;

	wr_init(&w, wire, sizeof(wire));
	for (int i = 0; i < 4; i++) {
		fill(payload[i], lens[i], (unsigned)i);
		assert_int_equal(
		        mbx_rhe_write(&w, payload[i], lens[i], 0, xors[i], i == 3, scratch), 0);
		ends[i] = w.len;
	}
	/* Read until a header has Last, as a caller of a packed rgbIn/rgbOut does. */
	rd_init(&r, wire, w.len, 0);
	for (;;) {
		struct mbx_rhe h;
		size_t len;

		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
		assert_int_equal(len, lens[nread]);
		assert_memory_equal(out, payload[nread], len);
		assert_int_equal(r.off, ends[nread]);
		assert_int_equal(!!(h.flags & MBX_RHE_XORMAGIC), xors[nread]);
		/* Compressible payloads of some size are compressed. */
		assert_int_equal(!!(h.flags & MBX_RHE_COMPRESSED), lens[nread] >= 100);
		nread++;
		if (h.flags & MBX_RHE_LAST)
			break;
	}
	assert_int_equal(nread, 4);
	assert_int_equal(rd_left(&r), 0);
	/* A chain cut after its third buffer: the next read fails at the end of the input. */
	rd_init(&r, wire, ends[2], 0);
	for (int i = 0; i < 3; i++) {
		struct mbx_rhe h;
		size_t len;

		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
		assert_false(h.flags & MBX_RHE_LAST);
	}
	{
		struct mbx_rhe h;
		size_t len;

		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), -1);
		assert_int_equal(r.err_off, ends[2]);
		assert_non_null(strstr(r.err_msg, "need 8 bytes, 0 left"));
		/* Sticky: a further read fails at once and keeps the first error. */
		assert_int_equal(mbx_rhe_read(&r, &h, out, &len), -1);
		assert_int_equal(r.err_off, ends[2]);
	}
}

static void test_write_flags(void **state)
{
	static uint8_t wire[8 + MBX_RHE_MAX_PAYLOAD], scratch[MBX_RHE_MAX_PAYLOAD];
	uint8_t payload[2000];
	struct wr w;

	fill(payload, sizeof(payload), 1);
	/* NoCompression: stored as is. */
	wr_init(&w, wire, sizeof(wire));
	assert_int_equal(mbx_rhe_write(&w, payload, sizeof(payload), MBX_RPC_NOCOMPRESSION, false,
	                               true, scratch),
	                 0);
	assert_int_equal(w.len, 8 + sizeof(payload));
	assert_memory_equal(wire, "\x00\x00\x04\x00\xd0\x07\xd0\x07", 8);
	assert_memory_equal(wire + 8, payload, sizeof(payload));
	/* XOR requested but NoXorMagic: not XORed; compressed. */
	wr_init(&w, wire, sizeof(wire));
	assert_int_equal(mbx_rhe_write(&w, payload, sizeof(payload), MBX_RPC_NOXORMAGIC, true,
	                               false, scratch),
	                 0);
	assert_int_equal(mbx_le16(wire + 2), MBX_RHE_COMPRESSED);
	assert_true(mbx_le16(wire + 4) < sizeof(payload));
	assert_int_equal(mbx_le16(wire + 6), sizeof(payload));
	{
		uint8_t back[2000];

		assert_int_equal(
		        mbx_lz77_decompress(wire + 8, mbx_le16(wire + 4), back, sizeof(back), NULL),
		        0);
		assert_memory_equal(back, payload, sizeof(back));
	}
	/* XOR without compression: every byte ^ 0xA5. */
	wr_init(&w, wire, sizeof(wire));
	assert_int_equal(mbx_rhe_write(&w, (const uint8_t *)"\x00\xA5\xFF", 3,
	                               MBX_RPC_NOCOMPRESSION, true, true, scratch),
	                 0);
	assert_int_equal(w.len, 11);
	assert_memory_equal(wire, "\x00\x00\x06\x00\x03\x00\x03\x00\xA5\x00\x5A", 11);
	/* Incompressible data is sent uncompressed even when allowed. */
	{
		uint8_t rnd[1000];
		uint32_t s = 12345;

		for (size_t i = 0; i < sizeof(rnd); i++) {
			s = s * 1103515245u + 12345u;
			rnd[i] = (uint8_t)(s >> 24);
		}
		wr_init(&w, wire, sizeof(wire));
		assert_int_equal(mbx_rhe_write(&w, rnd, sizeof(rnd), 0, false, true, scratch), 0);
		assert_int_equal(mbx_le16(wire + 2), MBX_RHE_LAST);
		assert_memory_equal(wire + 8, rnd, sizeof(rnd));
	}
	/* Empty payload. */
	wr_init(&w, wire, sizeof(wire));
	assert_int_equal(mbx_rhe_write(&w, payload, 0, 0, true, true, scratch), 0);
	assert_memory_equal(wire, "\x00\x00\x06\x00\x00\x00\x00\x00", 8);
	/* More than 32 KB is refused without writing. */
	{
		static uint8_t big[MBX_RHE_MAX_PAYLOAD + 1];

		wr_init(&w, wire, sizeof(wire));
		assert_int_equal(mbx_rhe_write(&w, big, sizeof(big), 0, false, true, scratch), -1);
		assert_int_equal(w.len, 0);
		assert_true(wr_ok(&w));
	}
}

static void test_write_overflow(void **state)
{
	uint8_t wire[64], scratch[MBX_RHE_MAX_PAYLOAD];
	uint8_t payload[100];
	struct wr w;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	/* 4 bytes already in the writer; a 100-byte payload cannot follow in 64. */
	wr_init(&w, wire, sizeof(wire));
	wr_u32le(&w, 0xDEADBEEF);
	assert_int_equal(mbx_rhe_write(&w, payload, sizeof(payload), 0, true, true, scratch), -1);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 4);
	/* Exactly fitting: header + 56 bytes into 64. */
	wr_init(&w, wire, sizeof(wire));
	assert_int_equal(
	        mbx_rhe_write(&w, payload, 56, MBX_RPC_NOCOMPRESSION, false, true, scratch), 0);
	assert_int_equal(w.len, 64);
	wr_init(&w, wire, sizeof(wire));
	assert_int_equal(
	        mbx_rhe_write(&w, payload, 57, MBX_RPC_NOCOMPRESSION, false, true, scratch), -1);
	assert_int_equal(w.len, 0);
}

/* Write then read for every size class, with every option combination. */
static void test_write_read_round_trip(void **state)
{
	static const size_t sizes[] = {0,  1,  2,  3,   4,    5,    6,    7,     8,
	                               31, 32, 33, 100, 1000, 4096, 8193, 32767, 32768};
	static uint8_t wire[8 + MBX_RHE_MAX_PAYLOAD], scratch[MBX_RHE_MAX_PAYLOAD];
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (unsigned opt = 0; opt < 16; opt++) {
			size_t n = sizes[s], len = 0;
			uint32_t rpc = opt & 3;
			bool xor = opt & 4, rep = opt & 8;
			struct wr w;
			struct rd r;
			struct mbx_rhe h;

			if (rep) {
				fill(payload, n, (unsigned)s);
			} else {
				for (size_t i = 0; i < n; i++)
					payload[i] = (uint8_t)((i * 2654435761u) >> 13);
			}
			wr_init(&w, wire, sizeof(wire));
			assert_int_equal(mbx_rhe_write(&w, payload, n, rpc, xor, true, scratch), 0);
			rd_init(&r, wire, w.len, 0);
			assert_int_equal(mbx_rhe_read(&r, &h, out, &len), 0);
			assert_int_equal(len, n);
			assert_memory_equal(out, payload, n);
			assert_int_equal(!!(h.flags & MBX_RHE_XORMAGIC),
			                 xor&&!(rpc &MBX_RPC_NOXORMAGIC));
			if (rpc & MBX_RPC_NOCOMPRESSION)
				assert_false(h.flags & MBX_RHE_COMPRESSED);
			if (h.flags & MBX_RHE_COMPRESSED)
				assert_true(h.size < h.size_actual);
			if (rep && n >= 100 && !(rpc & MBX_RPC_NOCOMPRESSION))
				assert_true(h.flags & MBX_RHE_COMPRESSED);
		}
	}
}

static void test_xor(void **state)
{
	uint8_t b[19];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	mbx_xor_a5(b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], (uint8_t)(i ^ 0xA5));
	mbx_xor_a5(b + 1, 17); /* unaligned, odd length: only those bytes change back */
	assert_int_equal(b[0], 0xA5);
	for (size_t i = 1; i < 18; i++)
		assert_int_equal(b[i], i);
	assert_int_equal(b[18], 18 ^ 0xA5);
	mbx_xor_a5(b, 0);
	assert_int_equal(b[0], 0xA5);
}

static void test_flags_str(void **state)
{
	char buf[64], small[8];

	assert_string_equal(mbx_rhe_flags_str(0x0007, buf, sizeof(buf)),
	                    "Compressed|XorMagic|Last");
	assert_string_equal(mbx_rhe_flags_str(0x0005, buf, sizeof(buf)), "Compressed|Last");
	assert_string_equal(mbx_rhe_flags_str(0, buf, sizeof(buf)), "none");
	assert_string_equal(mbx_rhe_flags_str(0x0014, buf, sizeof(buf)), "Last|0x0010");
	assert_string_equal(mbx_rhe_flags_str(0x8000, buf, sizeof(buf)), "0x8000");
	/* Truncated, still terminated. */
	assert_string_equal(mbx_rhe_flags_str(0x0007, small, sizeof(small)), "Compres");
	assert_ptr_equal(mbx_rhe_flags_str(0x0007, small, 0), small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rgbin_001),
	        cmocka_unit_test(test_rgbin_002),
	        cmocka_unit_test(test_aux_xor),
	        cmocka_unit_test(test_truncation_sweep),
	        cmocka_unit_test(test_bad_version),
	        cmocka_unit_test(test_bad_flags),
	        cmocka_unit_test(test_sizes_uncompressed),
	        cmocka_unit_test(test_sizes_compressed),
	        cmocka_unit_test(test_bad_stream_offset),
	        cmocka_unit_test(test_rule_order),
	        cmocka_unit_test(test_chain),
	        cmocka_unit_test(test_write_flags),
	        cmocka_unit_test(test_write_overflow),
	        cmocka_unit_test(test_write_read_round_trip),
	        cmocka_unit_test(test_xor),
	        cmocka_unit_test(test_flags_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
