/*
 * test-lz77.c: unit tests of src/rop/lz77.c, the LZ77 + DIRECT2 codec (MS-OXCRPC 3.1.4.1.1.2,
 * [MS-XCA] 2.3/2.4, protocol.md 4.5 and 9.1).
 *
 * Holds its own reference decoder (ref_decode), written straight from the spec text, one byte
 * at a time with no fast paths, so that encoder output is checked by a decoder that shares no
 * code with lz77.c; and a small SHA-256 (FIPS 180-4) for the Outlook vector whose payload is
 * published only as a hash.
 */
#include "mbx-test.h"

#include "mbx/lz77.h"
#include "mbx/wire.h"

/* --- reference decoder -------------------------------------------------------------------- */

struct ref_result {
	int ok;          /* 1 if out_len bytes were produced */
	size_t consumed; /* input bytes read when the last output byte was produced */
	int tail_ones;   /* the unused bits of the indicator in use at the end were all 1 */
	int ind_full;    /* ... and there were none (the indicator was exactly used up) */
};

static unsigned ref_byte(const uint8_t *in, size_t in_len, size_t *pos, int *bad)
{
	if (*pos >= in_len) {
		*bad = 1;
		return 0;
	}
	return in[(*pos)++];
}

/* MS-XCA 2.4.4 read as: flags MSB first, 0 literal, 1 match (u16: distance (v >> 3) + 1,
 * length v & 7, 7 = nibble, 15 = byte, 255 = u16 (0 = u32), minus 22), stopping at out_len. */
static struct ref_result ref_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	struct ref_result res = {0, 0, 0, 0};
	size_t ip = 0, op = 0, nibble_at = 0;
	int have_nibble = 0, bad = 0;
	uint32_t flags = 0;
	int nbits = 0;

	while (op < out_len) {
		if (nbits == 0) {
			flags = 0;
			for (int i = 0; i < 4; i++)
				flags |= (uint32_t)ref_byte(in, in_len, &ip, &bad) << (8 * i);
			nbits = 32;
			if (bad)
				return res;
		}
		nbits--;
		if (((flags >> nbits) & 1) == 0) {
			out[op++] = (uint8_t)ref_byte(in, in_len, &ip, &bad);
			if (bad)
				return res;
			continue;
		}
		uint32_t v = ref_byte(in, in_len, &ip, &bad);

		v |= ref_byte(in, in_len, &ip, &bad) << 8;
		uint64_t dist = (v >> 3) + 1, len = v & 7;

		if (len == 7) {
			if (!have_nibble) {
				nibble_at = ip;
				len = ref_byte(in, in_len, &ip, &bad) & 15;
				have_nibble = 1;
			} else {
				len = in[nibble_at] >> 4;
				have_nibble = 0;
			}
			if (len == 15) {
				len = ref_byte(in, in_len, &ip, &bad);
				if (len == 255) {
					len = ref_byte(in, in_len, &ip, &bad);
					len |= ref_byte(in, in_len, &ip, &bad) << 8;
					if (len == 0) {
						for (int i = 0; i < 4; i++)
							len |= (uint64_t)ref_byte(in, in_len, &ip,
							                          &bad)
							       << (8 * i);
					}
					if (len < 22)
						return res;
					len -= 22;
				}
				len += 15;
			}
			len += 7;
		}
		len += 3;
		if (bad)
			return res;
		for (uint64_t i = 0; i < len; i++) {
			if (dist > op || op >= out_len)
				return res;
			out[op] = out[op - dist];
			op++;
		}
	}
	res.ok = 1;
	res.consumed = ip;
	res.ind_full = nbits == 0;
	res.tail_ones = nbits == 0 || (flags & ((1u << nbits) - 1)) == (1u << nbits) - 1;
	return res;
}

/* --- SHA-256 (FIPS 180-4), just enough for one digest ------------------------------------- */

static const uint32_t sha_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};

static uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(a, h, sizeof(a));
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = a[7] + (rotr(a[4], 6) ^ rotr(a[4], 11) ^ rotr(a[4], 25)) +
		              ((a[4] & a[5]) ^ (~a[4] & a[6])) + sha_k[i] + w[i];
		uint32_t t2 = (rotr(a[0], 2) ^ rotr(a[0], 13) ^ rotr(a[0], 22)) +
		              ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));

		memmove(a + 1, a, 7 * sizeof(a[0]));
		a[4] += t1;
		a[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += a[i];
}

/* Lower-case hex digest of buf into hex[65]. */
static void sha256_hex(const uint8_t *buf, size_t n, char hex[65])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	uint8_t last[128] = {0};
	size_t full = n / 64 * 64, rest = n - full, tail;

	for (size_t i = 0; i < full; i += 64)
		sha_block(h, buf + i);
	memcpy(last, buf + full, rest);
	last[rest] = 0x80;
	tail = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		last[tail - 1 - i] = (uint8_t)(((uint64_t)n * 8) >> (8 * i));
	sha_block(h, last);
	if (tail == 128)
		sha_block(h, last + 64);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", h[i]);
}

static void test_sha256_self(void **state)
{
	char hex[65];

	sha256_hex((const uint8_t *)"abc", 3, hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex((const uint8_t *)"", 0, hex);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex((const uint8_t *)"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	           hex);
	assert_string_equal(hex,
	                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* --- helpers ------------------------------------------------------------------------------ */

/* Decodes hex-encoded stream cz into exactly plain_len bytes with both decoders and compares
 * with plain. */
static void check_decodes(const uint8_t *cz, size_t cz_len, const uint8_t *plain, size_t plain_len)
{
	uint8_t *out = malloc(plain_len ? plain_len : 1); /* exact: ASan sees any overrun */
	struct mbx_lz77_err err = {0, NULL, 0, 0};
	struct ref_result rr;

	assert_non_null(out);
	assert_int_equal(mbx_lz77_decompress(cz, cz_len, out, plain_len, &err), 0);
	assert_memory_equal(out, plain, plain_len);
	memset(out, 0, plain_len);
	rr = ref_decode(cz, cz_len, out, plain_len);
	assert_true(rr.ok);
	assert_memory_equal(out, plain, plain_len);
	free(out);
}

static void check_hex_vector(const char *plain, size_t plain_len, const char *hex)
{
	size_t n;
	uint8_t *cz = mbx_test_hex(hex, &n);

	check_decodes(cz, n, (const uint8_t *)plain, plain_len);
	free(cz);
}

/* Expects mbx_lz77_decompress to fail with msg_sub in its message at input offset off. */
static void check_fails(const uint8_t *cz, size_t cz_len, size_t out_len, const char *msg_sub,
                        size_t off)
{
	uint8_t *out = malloc(out_len ? out_len : 1);
	struct mbx_lz77_err err = {0, NULL, 0, 0};

	assert_non_null(out);
	assert_int_equal(mbx_lz77_decompress(cz, cz_len, out, out_len, &err), -1);
	assert_non_null(err.msg);
	if (strstr(err.msg, msg_sub) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, msg_sub);
	if (off != SIZE_MAX)
		assert_int_equal(err.off, off);
	free(out);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Compresses in, checks the stream with both decoders and the end-of-stream conventions,
 * and returns the compressed size. */
static size_t check_round_trip(const uint8_t *in, size_t n)
{
	size_t cap = MBX_LZ77_BOUND(n);
	uint8_t *cz = malloc(cap), *out = malloc(n ? n : 1), *tight;
	struct mbx_lz77_err err = {0, NULL, 0, 0};
	struct ref_result rr;
	size_t cn;

	assert_non_null(cz);
	assert_non_null(out);
	cn = mbx_lz77_compress(in, n, cz, cap);
	assert_true(cn >= 4);
	assert_true(cn <= cap);
	if (mbx_lz77_decompress(cz, cn, out, n, &err) != 0)
		fail_msg("size %zu: our decoder: %s at %zu", n, err.msg, err.off);
	assert_memory_equal(out, in, n);
	memset(out, 0xEE, n);
	rr = ref_decode(cz, cn, out, n);
	assert_true(rr.ok);
	assert_memory_equal(out, in, n);
	/* Unused bits of the last indicator are 1; a full one is followed by FF FF FF FF, and
	 * nothing else follows. */
	assert_true(rr.tail_ones);
	if (rr.ind_full) {
		assert_int_equal(cn, rr.consumed + 4);
		assert_int_equal(mbx_le32(cz + rr.consumed), 0xFFFFFFFFu);
	} else {
		assert_int_equal(cn, rr.consumed);
	}
	/* "Only if it shrinks": a cap one below the size fails cleanly; the exact size fits. */
	tight = malloc(cn); /* exact: ASan sees a write past out_cap */
	assert_non_null(tight);
	assert_int_equal(mbx_lz77_compress(in, n, tight, cn - 1), 0);
	assert_int_equal(mbx_lz77_compress(in, n, tight, cn), cn);
	assert_memory_equal(tight, cz, cn);
	free(tight);
	free(cz);
	free(out);
	return cn;
}

/* A hand-made stream, item by item, for streams no encoder would produce. */
struct sb {
	uint8_t *buf;
	size_t o, ind_at;
	unsigned n;
	uint32_t ind;
};

static void sb_init(struct sb *b)
{
	b->buf = calloc(1, 40000);
	assert_non_null(b->buf);
	b->o = 4;
	b->ind_at = 0;
	b->n = 0;
	b->ind = 0;
}

static void sb_bit(struct sb *b, uint32_t bit)
{
	b->ind = b->ind << 1 | bit;
	if (++b->n == 32) {
		mbx_put_le32(b->buf + b->ind_at, b->ind);
		b->ind_at = b->o;
		b->o += 4;
		b->n = 0;
		b->ind = 0;
	}
}

static void sb_lit(struct sb *b, uint8_t c)
{
	b->buf[b->o++] = c;
	sb_bit(b, 0);
}

static void sb_match(struct sb *b, uint16_t tok, const uint8_t *ext, size_t n)
{
	mbx_put_le16(b->buf + b->o, tok);
	b->o += 2;
	if (n > 0)
		memcpy(b->buf + b->o, ext, n);
	b->o += n;
	sb_bit(b, 1);
}

static void sb_end(struct sb *b)
{
	uint32_t rest = 32 - b->n;

	mbx_put_le32(b->buf + b->ind_at,
	             rest == 32 ? 0xFFFFFFFFu : b->ind << rest | ((1u << rest) - 1));
}

/* --- known-answer vectors (protocol.md 4.5) ------------------------------------------------ */

static const char alpha[] = "abcdefghijklmnopqrstuvwxyz";
static const char this_is[] = "this is a test. and this is a test too";

static void test_kat_alphabet(void **state)
{
	check_hex_vector(alpha, 26,
	                 "3f000000 6162636465666768696a6b6c6d6e6f707172737475767778797a");
}

static void test_kat_abc100(void **state)
{
	char plain[300];

	for (int i = 0; i < 300; i++)
		plain[i] = "abc"[i % 3];
	check_hex_vector(plain, 300, "ffffff1f 616263 1700 0f ff 2601");
}

static void test_kat_this_is(void **state)
{
	check_hex_vector(this_is, 38,
	                 "ff210004 74686973 20 1000 6120746573742e20616e6420 9f00 04 20746f6f");
}

static void test_kat_this_is_old_encoder(void **state)
{
	/* Trailing zero indicator bits and 4 zero bytes: only stop-at-SizeActual gives the
	 * 38 bytes and nothing else. */
	static const char hex[] =
	        "00200004746869732010006120746573742e20616e64209f000420746f6f00000000";

	check_hex_vector(this_is, 38, hex);
}

static void test_kat_shared_nibble(void **state)
{
	check_hex_vector("aaaaaaaaaaaabaaaaaaaaaaaa", 25, "ffffff5f 61 0700 21 62 6700");
}

static void test_kat_35_and_34(void **state)
{
	static const char lit31[] = "6162636465666768696a6b6c6d6e6f707172737475767778797a"
	                            "3031323334";
	char hex[256];

	snprintf(hex, sizeof(hex), "01000000 %s f000 ffffff7f 61", lit31);
	check_hex_vector("abcdefghijklmnopqrstuvwxyz01234abca", 35, hex);
	snprintf(hex, sizeof(hex), "01000000 %s f000 ffffffff", lit31);
	check_hex_vector("abcdefghijklmnopqrstuvwxyz01234abc", 34, hex);
}

static void test_kat_base64_vector(void **state)
{
	size_t n;
	uint8_t *plain = mbx_test_hex(
	        "000202026abf10a74fefce585360dd87b778bd4b5d950c8b787574f4b1e9501c", &n);

	assert_int_equal(n, 32);
	check_hex_vector((const char *)plain, n,
	                 "00000000 000202026abf10a74fefce585360dd87b778bd4b5d950c8b787574f4b1e9501c"
	                 " ffffffff");
	free(plain);
}

/* Our encoder reproduces the [MS-XCA] examples byte for byte where the parse is unambiguous
 * (protocol.md 4.5 step 6: in general output is not canonical, so this is not required). */
static void test_encoder_known_forms(void **state)
{
	uint8_t cz[512];
	size_t n, en;
	uint8_t *exp;
	char plain[300];

	for (int i = 0; i < 300; i++)
		plain[i] = "abc"[i % 3];
	exp = mbx_test_hex("ffffff1f 616263 1700 0f ff 2601", &en);
	n = mbx_lz77_compress((const uint8_t *)plain, 300, cz, sizeof(cz));
	assert_int_equal(n, en);
	assert_memory_equal(cz, exp, en);
	free(exp);

	exp = mbx_test_hex("3f000000 6162636465666768696a6b6c6d6e6f707172737475767778797a", &en);
	n = mbx_lz77_compress((const uint8_t *)alpha, 26, cz, sizeof(cz));
	assert_int_equal(n, en);
	assert_memory_equal(cz, exp, en);
	free(exp);

	exp = mbx_test_hex("01000000 6162636465666768696a6b6c6d6e6f707172737475767778797a"
	                   "3031323334 f000 ffffffff",
	                   &en);
	n = mbx_lz77_compress((const uint8_t *)"abcdefghijklmnopqrstuvwxyz01234abc", 34, cz,
	                      sizeof(cz));
	assert_int_equal(n, en);
	assert_memory_equal(cz, exp, en);
	free(exp);

	/* Empty input: one all-ones indicator. */
	n = mbx_lz77_compress(cz, 0, cz, sizeof(cz));
	assert_int_equal(n, 4);
	assert_int_equal(mbx_le32(cz), 0xFFFFFFFFu);
	assert_int_equal(mbx_lz77_compress(cz + 8, 0, cz, 3), 0);
	assert_int_equal(mbx_lz77_compress(cz + 8, 0, cz, 0), 0);
}

/* --- Outlook 2007 vectors (protocol.md 9.1) ------------------------------------------------ */

static void test_outlook_001(void **state)
{
	size_t cn, pn;
	uint8_t *cz = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_compressed.bin",
	        &cn);
	uint8_t *plain = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_decompressed.bin",
	        &pn);

	assert_int_equal(cn, 0x145);
	assert_int_equal(pn, 0x1CB);
	check_decodes(cz, cn, plain, pn);
	/* RopSize 0x1C7, then RopRemoveAllRecipients; handle table [0x00000045]. */
	assert_int_equal(mbx_le16(plain), 0x1C7);
	assert_int_equal(plain[2], 0x0D);
	assert_int_equal(mbx_le32(plain + 0x1C7), 0x45);
	/* Our encoder's output of the same payload goes through both decoders too. */
	check_round_trip(plain, pn);
	free(cz);
	free(plain);
}

static void test_outlook_002(void **state)
{
	size_t cn;
	uint8_t *cz = mbx_test_vector(
	        "openchange-lzxpress/002_Outlook_2007_in_Tables_operations.payload_compressed.bin",
	        &cn);
	uint8_t out[380], ref[380];
	struct mbx_lz77_err err;
	char hex[65];

	assert_int_equal(cn, 0x14A);
	assert_int_equal(mbx_lz77_decompress(cz, cn, out, sizeof(out), &err), 0);
	sha256_hex(out, sizeof(out), hex);
	assert_string_equal(hex,
	                    "17e511fe555d1576789cc8d58e1b89f328f0784f092ddbef8ca8daa1dc265ec1");
	assert_true(ref_decode(cz, cn, ref, sizeof(ref)).ok);
	assert_memory_equal(out, ref, sizeof(out));
	/* RopSize 0x164, RopGetContentsTable, handle table [0x75, -1, 0x71, -1, -1, -1]. */
	assert_int_equal(mbx_le16(out), 0x164);
	assert_int_equal(out[2], 0x05);
	assert_int_equal(mbx_le32(out + 0x164), 0x75);
	assert_int_equal(mbx_le32(out + 0x168), 0xFFFFFFFFu);
	assert_int_equal(mbx_le32(out + 0x16C), 0x71);
	assert_int_equal(mbx_le32(out + 0x178), 0xFFFFFFFFu);
	check_round_trip(out, sizeof(out));
	free(cz);
}

/* Every prefix shorter than what a vector needs fails with an "input ends" error, and one
 * byte more output than the stream holds is never silently invented from real data. */
static void truncation_sweep(const uint8_t *cz, size_t cn, size_t plain_len)
{
	uint8_t *out = malloc(plain_len ? plain_len : 1), *ref = malloc(plain_len ? plain_len : 1);
	struct ref_result rr;

	assert_non_null(out);
	assert_non_null(ref);
	rr = ref_decode(cz, cn, ref, plain_len);
	assert_true(rr.ok);
	for (size_t k = 0; k < rr.consumed; k++) {
		uint8_t *copy = malloc(k + 1); /* exact size: ASan catches over-reads */
		struct mbx_lz77_err err = {0, NULL, 0, 0};

		assert_non_null(copy);
		memcpy(copy, cz, k);
		if (mbx_lz77_decompress(copy, k, out, plain_len, &err) == 0)
			fail_msg("prefix %zu of %zu decoded", k, rr.consumed);
		if (strstr(err.msg, "input ends") == NULL)
			fail_msg("prefix %zu: unexpected error \"%s\"", k, err.msg);
		assert_true(err.off <= k);
		free(copy);
	}
	/* The needed bytes alone are enough. */
	assert_int_equal(mbx_lz77_decompress(cz, rr.consumed, out, plain_len, NULL), 0);
	assert_memory_equal(out, ref, plain_len);
	free(out);
	free(ref);
}

static void test_truncation(void **state)
{
	static const struct {
		const char *hex;
		size_t plain_len;
	} v[] = {
	        {"ffffff1f 616263 1700 0f ff 2601", 300},
	        {"ff210004 74686973 20 1000 6120746573742e20616e6420 9f00 04 20746f6f", 38},
	        {"ffffff5f 61 0700 21 62 6700", 25},
	        {"3f000000 6162636465666768696a6b6c6d6e6f707172737475767778797a", 26},
	        {"ffffff7f 61 0700 0f ff 0000 29010000", 301},
	};
	size_t cn;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t *cz = mbx_test_hex(v[i].hex, &cn);

		truncation_sweep(cz, cn, v[i].plain_len);
		free(cz);
	}
	uint8_t *cz = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_compressed.bin",
	        &cn);

	truncation_sweep(cz, cn, 0x1CB);
	free(cz);
	cz = mbx_test_vector(
	        "openchange-lzxpress/002_Outlook_2007_in_Tables_operations.payload_compressed.bin",
	        &cn);
	truncation_sweep(cz, cn, 380);
	free(cz);
}

/* --- length encodings and invalid streams ------------------------------------------------- */

static void test_length_forms(void **state)
{
	uint8_t plain[70000];
	size_t n;
	uint8_t *cz;

	memset(plain, 'a', sizeof(plain));
	/* u16 0 then u32 297: 1 + 300 bytes. */
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff 0000 29010000", &n);
	check_decodes(cz, n, plain, 301);
	free(cz);
	/* Byte form: B = 0 gives 25, B = 254 gives 279. */
	cz = mbx_test_hex("ffffff7f 61 0700 0f 00", &n);
	check_decodes(cz, n, plain, 26);
	free(cz);
	cz = mbx_test_hex("ffffff7f 61 0700 0f fe", &n);
	check_decodes(cz, n, plain, 280);
	free(cz);
	/* u16 form at its smallest (22 -> 25) and largest (65535 -> 65538). */
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff 1600", &n);
	check_decodes(cz, n, plain, 26);
	free(cz);
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff ffff", &n);
	check_decodes(cz, n, plain, 65539);
	free(cz);
	/* Each nibble value 0..14 gives length 10..24; high nibble used by the second match. */
	for (unsigned lo = 0; lo < 15; lo++) {
		char hex[64];

		snprintf(hex, sizeof(hex), "ffffff7f 61 0700 %x%x 0700", 14 - lo, lo);
		cz = mbx_test_hex(hex, &n);
		check_decodes(cz, n, plain, 1 + (lo + 10) + (14 - lo + 10));
		free(cz);
	}
	/* Every short length code 0..6 -> 3..9. */
	for (unsigned l = 0; l < 7; l++) {
		char hex[64];

		snprintf(hex, sizeof(hex), "ffffff7f 61 0%x00", l);
		cz = mbx_test_hex(hex, &n);
		check_decodes(cz, n, plain, 1 + l + 3);
		free(cz);
	}
}

static void test_invalid_streams(void **state)
{
	size_t n;
	uint8_t *cz;

	/* Distance 2 with one byte of output. */
	cz = mbx_test_hex("ffffff7f 61 0800", &n);
	check_fails(cz, n, 4, "reaches before the start", 5);
	free(cz);
	/* A match as the very first item. */
	cz = mbx_test_hex("ffffffff 0000", &n);
	check_fails(cz, n, 3, "reaches before the start", 4);
	free(cz);
	/* Largest distance 8192: before the start with 8191 bytes of output, exact with 8192. */
	for (size_t lits = 8191; lits <= 8192; lits++) {
		struct sb b;
		uint8_t *out = malloc(lits + 3);
		struct mbx_lz77_err err = {0, NULL, 0, 0};
		int rc;

		assert_non_null(out);
		sb_init(&b);
		for (size_t i = 0; i < lits; i++)
			sb_lit(&b, (uint8_t)(i ^ (i >> 8)));
		sb_match(&b, (uint16_t)(8191u << 3), NULL, 0);
		sb_end(&b);
		rc = mbx_lz77_decompress(b.buf, b.o, out, lits + 3, &err);
		if (lits == 8191) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.msg, "reaches before the start"));
			assert_int_equal(err.value, 8192);
			assert_int_equal(err.out_pos, 8191);
		} else {
			assert_int_equal(rc, 0);
			assert_memory_equal(out + 8192, out, 3);
			assert_int_equal(out[8191], (uint8_t)(8191 ^ 31));
		}
		free(b.buf);
		free(out);
	}
	/* Overrun: a 3-byte match with only 2 bytes of output left. */
	cz = mbx_test_hex("ffffff7f 61 0000", &n);
	check_fails(cz, n, 3, "runs past the end", 5);
	free(cz);
	/* Overrun by one of a long match; with the exact size it decodes. */
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff ffff", &n);
	check_fails(cz, n, 65538, "runs past the end", 5);
	free(cz);
	/* Extended length below 22 (u16 and u32 forms). */
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff 1500", &n);
	check_fails(cz, n, 100, "below 22", 9);
	free(cz);
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff 0000 15000000", &n);
	check_fails(cz, n, 100, "below 22", 11);
	free(cz);
	/* A u32 length far beyond anything: overrun, not a wrap-around. */
	cz = mbx_test_hex("ffffff7f 61 0700 0f ff 0000 ffffffff", &n);
	check_fails(cz, n, 100, "runs past the end", 5);
	free(cz);
	/* Input exhausted exactly at an item boundary. */
	cz = mbx_test_hex("3f000000 616263", &n);
	check_fails(cz, n, 4, "input ends before SizeActual", 7);
	free(cz);
	check_fails((const uint8_t *)"", 0, 1, "input ends before SizeActual", 0);
	check_fails((const uint8_t *)"\xff\xff", 2, 1, "inside an indicator", 0);
}

static void test_boundaries(void **state)
{
	uint8_t out[4] = {1, 2, 3, 4};
	struct mbx_lz77_err err;

	/* out_len 0: nothing is read, whatever the input. */
	assert_int_equal(mbx_lz77_decompress(NULL, 0, out, 0, &err), 0);
	assert_int_equal(mbx_lz77_decompress((const uint8_t *)"\x01", 1, out, 0, &err), 0);
	/* out_len 1. */
	assert_int_equal(mbx_lz77_decompress((const uint8_t *)"\xff\xff\xff\x7f"
	                                                      "A",
	                                     5, out, 1, &err),
	                 0);
	assert_int_equal(out[0], 'A');
	/* Literals beyond SizeActual are trailing data, not an error (4.5 step 4). */
	assert_int_equal(mbx_lz77_decompress((const uint8_t *)"\x00\x00\x00\x00"
	                                                      "ABCD",
	                                     8, out, 2, &err),
	                 0);
	assert_memory_equal(out, "AB", 2);
	assert_memory_equal(out + 2, "\x03\x04", 2); /* nothing written past out_len */
}

/* --- round trips -------------------------------------------------------------------------- */

static const size_t sizes[] = {0,     1,     2,     3,     4,     5,    7,    8,    9,    15,
                               16,    17,    31,    32,    33,    34,   63,   64,   65,   100,
                               127,   128,   129,   255,   256,   257,  511,  512,  1000, 1023,
                               1024,  1025,  2047,  4095,  4096,  8191, 8192, 8193, 8194, 12345,
                               16383, 16384, 16385, 24000, 32767, 32768};

static void fill_random(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

/* Repetitive: short random phrases drawn from a small set, with variations. */
static void fill_repetitive(uint8_t *b, size_t n)
{
	static const char *const words[] = {
	        "PR_SUBJECT", "\x1f\x00\x37\x00", "Inbox",      "\x00\x00\x00\x00",
	        "IPM.Note",   "\xff\xff\xff\xff", "Sent Items", "\x03\x00\x07\x0e"};
	size_t i = 0;

	while (i < n) {
		const char *w = words[rng() % 8];
		size_t wl = strlen(w) ? strlen(w) : 1;

		for (size_t k = 0; k < wl && i < n; k++)
			b[i++] = (uint8_t)w[k];
		if (i < n && rng() % 4 == 0)
			b[i++] = (uint8_t)rng();
	}
}

static void test_round_trips(void **state)
{
	uint8_t *buf = malloc(70000);

	assert_non_null(buf);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s], cn;

		fill_random(buf, n);
		cn = check_round_trip(buf, n);
		assert_true(cn <= MBX_LZ77_BOUND(n));
		fill_repetitive(buf, n);
		cn = check_round_trip(buf, n);
		if (n >= 1024)
			assert_true(cn < n / 2);
		memset(buf, 0, n);
		cn = check_round_trip(buf, n);
		if (n >= 1024)
			assert_true(cn < 16);
		for (size_t i = 0; i < n; i++) /* period 2 and 7 mix: overlapping copies */
			buf[i] = (uint8_t)(i % 7 < 3 ? 0 : i % 2 ? 'x' : 'y');
		check_round_trip(buf, n);
	}
	/* Longer than a u16 length: the u16 0 + u32 form. */
	memset(buf, 'z', 70000);
	assert_true(check_round_trip(buf, 70000) < 24);
	/* After 12000 random bytes the encoder searches only every 16th position, yet a
	 * 100-byte repeat of earlier data still costs a few bytes, not 100. */
	{
		size_t c0, c1;

		fill_random(buf, 12000);
		c0 = check_round_trip(buf, 12000);
		memcpy(buf + 12000, buf + 5003, 100);
		c1 = check_round_trip(buf, 12100);
		if (c1 - c0 > 24)
			fail_msg("a 100-byte repeat after random data cost %zu bytes", c1 - c0);
	}
	/* Text-like data right at the window edge: matches of distance 8192 exactly. */
	fill_random(buf, 8192);
	memcpy(buf + 8192, buf, 8192);
	assert_true(check_round_trip(buf, 16384) < 8192 + 8192 / 32 * 4 + 64);
	free(buf);
}

/* The encoder's capacity check is exact for every cap: 0 below the size, the size at it. */
static void test_encoder_caps(void **state)
{
	uint8_t in[600], cz[1200], ref[1200];
	size_t full;

	fill_repetitive(in, sizeof(in));
	full = mbx_lz77_compress(in, sizeof(in), ref, sizeof(ref));
	assert_true(full > 4);
	for (size_t cap = 0; cap < full; cap++) {
		uint8_t *tight = malloc(cap ? cap : 1); /* exact: ASan sees a write past cap */

		assert_non_null(tight);
		assert_int_equal(mbx_lz77_compress(in, sizeof(in), tight, cap), 0);
		free(tight);
	}
	assert_int_equal(mbx_lz77_compress(in, sizeof(in), cz, full), full);
	assert_memory_equal(cz, ref, full);
	/* Incompressible data never fits below its own size. */
	fill_random(in, sizeof(in));
	assert_int_equal(mbx_lz77_compress(in, sizeof(in), cz, sizeof(in) - 1), 0);
	assert_true(mbx_lz77_compress(in, sizeof(in), cz, MBX_LZ77_BOUND(sizeof(in))) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sha256_self),
	        cmocka_unit_test(test_kat_alphabet),
	        cmocka_unit_test(test_kat_abc100),
	        cmocka_unit_test(test_kat_this_is),
	        cmocka_unit_test(test_kat_this_is_old_encoder),
	        cmocka_unit_test(test_kat_shared_nibble),
	        cmocka_unit_test(test_kat_35_and_34),
	        cmocka_unit_test(test_kat_base64_vector),
	        cmocka_unit_test(test_encoder_known_forms),
	        cmocka_unit_test(test_outlook_001),
	        cmocka_unit_test(test_outlook_002),
	        cmocka_unit_test(test_truncation),
	        cmocka_unit_test(test_length_forms),
	        cmocka_unit_test(test_invalid_streams),
	        cmocka_unit_test(test_boundaries),
	        cmocka_unit_test(test_round_trips),
	        cmocka_unit_test(test_encoder_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
