/*
 * test-wire.c: the bounds-checked reader and the fixed-capacity writer of include/mbx/wire.h
 * (conventions.md, "Reading and writing bytes"): every function, the sticky error, absolute
 * error offsets through nested rd_sub, the two string readers, and the writer's overflow,
 * mark/rollback and patching.
 */
#include "mbx-test.h"

#include "mbx/wire.h"


static void expect_error(const struct rd *r, size_t off, const char *substr)
{
	assert_false(rd_ok(r));
	if (strstr(r->err_msg, substr) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", r->err_msg, substr);
	if (r->err_off != off)
		fail_msg("error \"%s\" at offset %zu, expected %zu", r->err_msg, r->err_off, off);
}

static void expect_error_exact(const struct rd *r, size_t off, const char *msg)
{
	assert_false(rd_ok(r));
	assert_string_equal(r->err_msg, msg);
	assert_int_equal(r->err_off, off);
}

static uint64_t rng_state = 0xD1B54A32D192ED03ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const uint8_t seq[24] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
                                0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};

/* --- reader basics --------------------------------------------------------------------- */

static void test_rd_init(void **state)
{
	struct rd r;

	memset(&r, 0x5A, sizeof(r));
	rd_init(&r, seq, sizeof(seq), 1234);
	assert_ptr_equal(r.buf, seq);
	assert_int_equal(r.len, sizeof(seq));
	assert_int_equal(r.off, 0);
	assert_int_equal(r.base, 1234);
	assert_true(rd_ok(&r));
	assert_int_equal(r.err_off, 0);
	assert_string_equal(r.err_msg, "");
	assert_int_equal(rd_left(&r), sizeof(seq));
	assert_int_equal(rd_pos(&r), 1234);

	/* NULL buffer: an empty reader whatever len says */
	rd_init(&r, NULL, 100, 7);
	assert_true(rd_ok(&r));
	assert_int_equal(r.len, 0);
	assert_int_equal(rd_left(&r), 0);
	assert_int_equal(rd_u8(&r, "x"), 0);
	expect_error_exact(&r, 7, "x: need 1 bytes, 0 left");

	/* re-initialising clears an error */
	rd_init(&r, seq, 4, 0);
	assert_true(rd_ok(&r));
	assert_string_equal(r.err_msg, "");
	assert_int_equal(rd_u32le(&r, NULL), 0x04030201);
}

static void test_rd_integers(void **state)
{
	struct rd r;

	rd_init(&r, seq, sizeof(seq), 0);
	assert_int_equal(rd_u8(&r, "a"), 0x01);
	assert_int_equal(rd_pos(&r), 1);
	assert_int_equal(rd_u16le(&r, "b"), 0x0302);
	assert_int_equal(rd_u32le(&r, "c"), 0x07060504);
	assert_int_equal(rd_u64le(&r, "d"), 0x0F0E0D0C0B0A0908ULL);
	assert_int_equal(rd_u48be(&r, "e"), 0x101112131415ULL);
	assert_int_equal(rd_left(&r), 3);
	assert_int_equal(rd_pos(&r), 21);
	assert_true(rd_ok(&r));
	assert_int_equal(rd_u16le(&r, NULL), 0x1716);
	assert_int_equal(rd_u8(&r, NULL), 0x18);
	assert_int_equal(rd_left(&r), 0);
	assert_true(rd_ok(&r));
}

static void test_rd_integers_high_bits(void **state)
{
	static const uint8_t ff[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	static const uint8_t hi[8] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};
	static const uint8_t fe[8] = {0xFE, 0xFF, 0x7F, 0x80, 0x00, 0x00, 0x00, 0x00};
	struct rd r;

	rd_init(&r, ff, 8, 0);
	assert_int_equal(rd_u64le(&r, NULL), UINT64_MAX);
	rd_init(&r, ff, 8, 0);
	assert_int_equal(rd_u48be(&r, NULL), 0xFFFFFFFFFFFFULL);
	rd_init(&r, ff, 8, 0);
	assert_int_equal(rd_u32le(&r, NULL), 0xFFFFFFFFu);
	rd_init(&r, ff, 8, 0);
	assert_int_equal(rd_u16le(&r, NULL), 0xFFFF);
	rd_init(&r, hi, 8, 0);
	assert_int_equal(rd_u64le(&r, NULL), 0x8000000000000000ULL);
	rd_init(&r, hi + 4, 4, 0);
	assert_int_equal(rd_u32le(&r, NULL), 0x80000000u);
	rd_init(&r, fe, 8, 0);
	assert_int_equal(rd_u16le(&r, NULL), 0xFFFE);
	assert_int_equal(rd_u16le(&r, NULL), 0x807F);
	rd_init(&r, fe, 8, 0);
	assert_int_equal(rd_u48be(&r, NULL), 0xFEFF7F800000ULL);
	rd_init(&r, hi + 2, 6, 0);
	assert_int_equal(rd_u48be(&r, NULL), 0x000000000080ULL);
}

/* Every fixed-size read at every shortage: fails, returns 0, reports where and what. */
static void test_rd_integer_shortage(void **state)
{
	static const size_t widths[] = {1, 2, 4, 6, 8};

	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
		size_t width = widths[wi];

		for (size_t len = 0; len < width; len++) {
			struct rd r;
			uint64_t v = 1;
			char msg[64];

			/* two bytes consumed first, so the offset is not just the base */
			rd_init(&r, seq, 2 + len, 100);
			assert_int_equal(rd_u16le(&r, NULL), 0x0201);
			switch (width) {
			case 1:
				v = rd_u8(&r, "F");
				break;
			case 2:
				v = rd_u16le(&r, "F");
				break;
			case 4:
				v = rd_u32le(&r, "F");
				break;
			case 6:
				v = rd_u48be(&r, "F");
				break;
			default:
				v = rd_u64le(&r, "F");
				break;
			}
			assert_int_equal(v, 0);
			snprintf(msg, sizeof(msg), "F: need %zu bytes, %zu left", width, len);
			expect_error_exact(&r, 102, msg);
			assert_int_equal(r.off, 2); /* nothing consumed */
			assert_int_equal(rd_left(&r), 0);
			assert_int_equal(rd_pos(&r), 102);
		}
	}
	/* what == NULL reads as "read" */
	{
		struct rd r;

		rd_init(&r, seq, 3, 0);
		assert_int_equal(rd_u32le(&r, NULL), 0);
		expect_error_exact(&r, 0, "read: need 4 bytes, 3 left");
	}
}

static void test_rd_sticky(void **state)
{
	struct rd r, sub;
	uint8_t dst[4] = {9, 9, 9, 9};
	size_t len = 77;

	rd_init(&r, seq, 5, 10);
	assert_int_equal(rd_u32le(&r, "first"), 0x04030201);
	assert_int_equal(rd_u16le(&r, "second"), 0); /* 1 byte left */
	expect_error_exact(&r, 14, "second: need 2 bytes, 1 left");
	/* the byte that is left is not handed out any more */
	assert_int_equal(rd_u8(&r, "third"), 0);
	assert_int_equal(rd_u16le(&r, "third"), 0);
	assert_int_equal(rd_u32le(&r, "third"), 0);
	assert_int_equal(rd_u48be(&r, "third"), 0);
	assert_int_equal(rd_u64le(&r, "third"), 0);
	assert_null(rd_ptr(&r, 0, "third"));
	assert_null(rd_ptr(&r, 1, "third"));
	rd_bytes(&r, dst, 1, "third");
	assert_int_equal(dst[0], 0);
	assert_int_equal(dst[1], 9);
	rd_skip(&r, 0, "third");
	assert_null(rd_str8z_n(&r, 1, "third"));
	assert_null(rd_str8z(&r, 10, &len, "third"));
	assert_int_equal(len, 0);
	rd_sub(&r, 0, &sub, "third");
	expect_error_exact(&sub, 14, "second: need 2 bytes, 1 left");
	assert_false(rd_fail(&r, "third %d", 3));
	assert_false(rd_fail_at(&r, 0, "third"));
	/* still the first error, and nothing consumed */
	expect_error_exact(&r, 14, "second: need 2 bytes, 1 left");
	assert_int_equal(r.off, 4);
	assert_int_equal(rd_left(&r), 0);
}

static void test_rd_fail(void **state)
{
	struct rd r;
	char longmsg[400];

	rd_init(&r, seq, sizeof(seq), 50);
	rd_skip(&r, 3, NULL);
	assert_false(rd_fail(&r, "EssdnSize %u exceeds the %zu bytes left", 90u, (size_t)12));
	expect_error_exact(&r, 53, "EssdnSize 90 exceeds the 12 bytes left");

	rd_init(&r, seq, sizeof(seq), 50);
	assert_false(rd_fail_at(&r, 7, "at %s", "seven"));
	expect_error_exact(&r, 7, "at seven"); /* the offset is used as given */
	assert_int_equal(r.off, 0);

	/* a long message is cut to MBX_RD_ERRMAX - 1 characters */
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	rd_init(&r, seq, sizeof(seq), 0);
	rd_fail(&r, "%s", longmsg);
	assert_false(rd_ok(&r));
	assert_int_equal(strlen(r.err_msg), MBX_RD_ERRMAX - 1);
	assert_int_equal(strncmp(r.err_msg, longmsg, MBX_RD_ERRMAX - 1), 0);
}

static void test_rd_take_error(void **state)
{
	struct rd a, b;

	rd_init(&a, seq, 4, 0);
	rd_init(&b, seq, 4, 200);
	rd_take_error(&a, &b); /* b is fine: nothing happens */
	assert_true(rd_ok(&a));
	rd_fail(&b, "inner %d", 1);
	rd_take_error(&a, &b);
	expect_error_exact(&a, 200, "inner 1");
	/* a keeps its first error */
	rd_init(&b, seq, 4, 300);
	rd_fail(&b, "inner %d", 2);
	rd_take_error(&a, &b);
	expect_error_exact(&a, 200, "inner 1");
	/* a's position is not changed by taking an error */
	rd_init(&a, seq, 4, 0);
	rd_skip(&a, 2, NULL);
	rd_take_error(&a, &b);
	assert_int_equal(a.off, 2);
	expect_error_exact(&a, 300, "inner 2");
}

static void test_rd_bytes(void **state)
{
	uint8_t dst[8];
	struct rd r;

	rd_init(&r, seq, 6, 0);
	memset(dst, 0xEE, sizeof(dst));
	rd_bytes(&r, dst, 4, "blob");
	assert_memory_equal(dst, seq, 4);
	assert_int_equal(dst[4], 0xEE);
	assert_int_equal(rd_left(&r), 2);
	rd_bytes(&r, dst, 0, "none");
	assert_true(rd_ok(&r));
	assert_int_equal(rd_left(&r), 2);
	/* shortage: exactly n bytes of dst are zeroed, the rest untouched */
	memset(dst, 0xEE, sizeof(dst));
	rd_bytes(&r, dst, 3, "blob");
	expect_error_exact(&r, 4, "blob: need 3 bytes, 2 left");
	assert_int_equal(dst[0], 0);
	assert_int_equal(dst[1], 0);
	assert_int_equal(dst[2], 0);
	assert_int_equal(dst[3], 0xEE);
	/* after the error, again zero-filled */
	memset(dst, 0xEE, sizeof(dst));
	rd_bytes(&r, dst, 2, "blob");
	assert_int_equal(dst[0], 0);
	assert_int_equal(dst[1], 0);
	assert_int_equal(dst[2], 0xEE);
	/* after an error, n == 0 with a NULL dst is fine */
	rd_bytes(&r, NULL, 0, "blob");
}

static void test_rd_ptr_skip(void **state)
{
	struct rd r;
	const uint8_t *p;

	rd_init(&r, seq, 10, 5);
	p = rd_ptr(&r, 3, "p");
	assert_ptr_equal(p, seq); /* into the input, no copy */
	p = rd_ptr(&r, 0, "p");
	assert_ptr_equal(p, seq + 3);
	assert_true(rd_ok(&r));
	rd_skip(&r, 0, "s");
	assert_int_equal(rd_pos(&r), 8);
	rd_skip(&r, 4, "s");
	assert_int_equal(rd_pos(&r), 12);
	p = rd_ptr(&r, 3, "p");
	assert_ptr_equal(p, seq + 7);
	assert_int_equal(rd_left(&r), 0);
	p = rd_ptr(&r, 0, "p"); /* at the very end */
	assert_ptr_equal(p, seq + 10);
	assert_true(rd_ok(&r));
	assert_null(rd_ptr(&r, 1, "p"));
	expect_error_exact(&r, 15, "p: need 1 bytes, 0 left");

	rd_init(&r, seq, 10, 5);
	rd_skip(&r, 11, "s");
	expect_error_exact(&r, 5, "s: need 11 bytes, 10 left");
	assert_int_equal(r.off, 0);
}

static void test_rd_huge_lengths(void **state)
{
	/* Lengths that would wrap `off + n` must fail cleanly. */
	static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 3, (size_t)1 << 63};

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		struct rd r, sub;
		char msg[80];

		snprintf(msg, sizeof(msg), "x: need %zu bytes, 4 left", huge[i]);
		rd_init(&r, seq, 8, 0);
		rd_skip(&r, 4, NULL);
		rd_skip(&r, huge[i], "x");
		expect_error_exact(&r, 4, msg);
		rd_init(&r, seq, 8, 0);
		rd_skip(&r, 4, NULL);
		assert_null(rd_ptr(&r, huge[i], "x"));
		expect_error_exact(&r, 4, msg);
		rd_init(&r, seq, 8, 0);
		rd_skip(&r, 4, NULL);
		rd_sub(&r, huge[i], &sub, "x");
		expect_error_exact(&r, 4, msg);
		expect_error_exact(&sub, 4, msg);
		rd_init(&r, seq, 8, 0);
		rd_skip(&r, 4, NULL);
		assert_null(rd_str8z_n(&r, huge[i], "x"));
		expect_error_exact(&r, 4, msg);
	}
}

/* --- rd_str8z_n ------------------------------------------------------------------------ */

static void test_str8z_n_valid(void **state)
{
	static const uint8_t b[] = {'x', 'a', 'b', 'c', 0, 0, 'z'};
	struct rd r;
	const char *s;

	rd_init(&r, b, sizeof(b), 0);
	rd_skip(&r, 1, NULL);
	s = rd_str8z_n(&r, 4, "ServerName");
	assert_non_null(s);
	assert_ptr_equal(s, (const char *)b + 1); /* into the input */
	assert_string_equal(s, "abc");
	assert_int_equal(rd_pos(&r), 5);
	s = rd_str8z_n(&r, 1, "Empty"); /* n == 1: the empty string */
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(rd_left(&r), 1);
	assert_true(rd_ok(&r));
}

static void test_str8z_n_invalid(void **state)
{
	static const struct {
		const char *bytes;
		size_t len; /* bytes available after a 2-byte prefix */
		size_t n;   /* the size claimed */
		size_t off; /* expected absolute error offset (base 1000, prefix 2) */
		const char *msg;
	} rows[] = {
	        {"abcd", 4, 4, 1005, "Essdn: 4-byte string does not end with a NUL"},
	        {"abc", 3, 3, 1004, "Essdn: 3-byte string does not end with a NUL"},
	        {"a", 1, 1, 1002, "Essdn: 1-byte string does not end with a NUL"},
	        {"a\0cd", 4, 4, 1003,
	         "Essdn: NUL at byte 1 of a 4-byte string (size includes the NUL)"},
	        {"\0bcd", 4, 4, 1002, "Essdn: NUL at byte 0 of a 4-byte string"},
	        {"ab\0\0", 4, 4, 1004, "Essdn: NUL at byte 2 of a 4-byte string"},
	        {"\0\0", 2, 2, 1002, "Essdn: NUL at byte 0 of a 2-byte string"},
	        {"abc\0", 4, 5, 1002, "Essdn: need 5 bytes, 4 left"},
	        {"abc\0", 4, 255, 1002, "Essdn: need 255 bytes, 4 left"},
	        {"", 0, 1, 1002, "Essdn: need 1 bytes, 0 left"},
	        {"abc\0", 4, 0, 1002, "Essdn: empty string has no NUL"},
	        {"", 0, 0, 1002, "Essdn: empty string has no NUL"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t buf[16] = {0xAA, 0xBB};
		struct rd r;

		memcpy(buf + 2, rows[i].bytes, rows[i].len);
		rd_init(&r, buf, 2 + rows[i].len, 1000);
		rd_skip(&r, 2, NULL);
		assert_null(rd_str8z_n(&r, rows[i].n, "Essdn"));
		expect_error(&r, rows[i].off, rows[i].msg);
	}
	{
		struct rd r;

		rd_init(&r, "ab", 2, 0);
		assert_null(rd_str8z_n(&r, 2, NULL));
		expect_error_exact(&r, 1, "string: 2-byte string does not end with a NUL");
		rd_init(&r, "ab", 2, 0);
		assert_null(rd_str8z_n(&r, 0, NULL));
		expect_error_exact(&r, 0, "string: empty string has no NUL");
		rd_init(&r, "ab", 2, 0);
		assert_null(rd_str8z_n(&r, 3, NULL));
		expect_error_exact(&r, 0, "read: need 3 bytes, 2 left");
	}
}

static void test_str8z_n_truncation_sweep(void **state)
{
	static const char full[] = "/o=Contoso/ou=Exchange/cn=Servers/cn=EXMBX02";
	size_t n = sizeof(full); /* with the NUL */

	for (size_t len = 0; len < n; len++) {
		struct rd r;

		rd_init(&r, full, len, 8);
		assert_null(rd_str8z_n(&r, n, "ServerName"));
		expect_error(&r, 8, "ServerName: need");
	}
	/* claiming less than the real length hits the terminator check */
	for (size_t k = 1; k < n; k++) {
		struct rd r;

		rd_init(&r, full, n, 8);
		assert_null(rd_str8z_n(&r, k, "ServerName"));
		expect_error(&r, 8 + k - 1, "does not end with a NUL");
	}
}

/* --- rd_str8z -------------------------------------------------------------------------- */

static void test_str8z_valid(void **state)
{
	static const uint8_t b[] = {'a', 'b', 'c', 0, 'd', 'e', 'f', 0, 0, 'g', 0};
	struct rd r;
	const char *s;
	size_t len = 99;

	rd_init(&r, b, sizeof(b), 0);
	s = rd_str8z(&r, 100, &len, "a");
	assert_ptr_equal(s, (const char *)b);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	assert_int_equal(rd_pos(&r), 4);
	s = rd_str8z(&r, 4, &len, "b"); /* max counts the NUL: 3 + 1 fits exactly */
	assert_string_equal(s, "def");
	assert_int_equal(len, 3);
	s = rd_str8z(&r, 1, &len, "c"); /* the empty string needs max >= 1 */
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	s = rd_str8z(&r, 2, NULL, "d"); /* len_r may be NULL */
	assert_string_equal(s, "g");
	assert_int_equal(rd_left(&r), 0);
	assert_true(rd_ok(&r));
}

static void test_str8z_invalid(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		size_t max;
		size_t off; /* base 500, prefix 1 */
		const char *msg;
	} rows[] = {
	        /* the NUL is beyond max (which includes the NUL) */
	        {"abc\0", 4, 3, 501, "DisplayName: no NUL within 3 bytes"},
	        {"abc\0", 4, 1, 501, "DisplayName: no NUL within 1 bytes"},
	        {"abc\0", 4, 0, 501, "DisplayName: no NUL within 0 bytes"},
	        {"\0", 1, 0, 501, "DisplayName: no NUL within 0 bytes"},
	        /* no NUL at all */
	        {"abc", 3, 100, 501,
	         "DisplayName: no NUL before the end of the buffer (3 bytes left)"},
	        {"abc", 3, 3, 501,
	         "DisplayName: no NUL before the end of the buffer (3 bytes left)"},
	        {"abc", 3, 2, 501, "DisplayName: no NUL within 2 bytes"},
	        {"", 0, 100, 501,
	         "DisplayName: no NUL before the end of the buffer (0 bytes left)"},
	        {"", 0, 0, 501, "DisplayName: no NUL before the end of the buffer (0 bytes left)"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t buf[8] = {0x99};
		struct rd r;
		size_t len = 1234;

		memcpy(buf + 1, rows[i].bytes, rows[i].len);
		rd_init(&r, buf, 1 + rows[i].len, 500);
		rd_skip(&r, 1, NULL);
		assert_null(rd_str8z(&r, rows[i].max, &len, "DisplayName"));
		expect_error_exact(&r, rows[i].off, rows[i].msg);
		assert_int_equal(len, 0);
		assert_int_equal(r.off, 1);
	}
	{
		struct rd r;

		rd_init(&r, "ab", 2, 0);
		assert_null(rd_str8z(&r, 10, NULL, NULL));
		expect_error(&r, 0, "string: no NUL before the end");
	}
}

static void test_str8z_truncation_sweep(void **state)
{
	static const char full[] = "Outlook/16.0";

	for (size_t len = 0; len < sizeof(full); len++) {
		struct rd r;
		size_t l = 5;

		rd_init(&r, full, len, 64);
		assert_null(rd_str8z(&r, 256, &l, "ClientVersion"));
		expect_error(&r, 64, "no NUL before the end of the buffer");
		assert_int_equal(l, 0);
	}
	{
		struct rd r;
		size_t l = 5;

		rd_init(&r, full, sizeof(full), 64);
		assert_string_equal(rd_str8z(&r, sizeof(full), &l, "ClientVersion"), full);
		assert_int_equal(l, sizeof(full) - 1);
	}
}

/*
 * Both string readers against a reference model, over every buffer of 0..9 bytes made of NUL
 * and 'a' (1023 buffers), every max / n from 0 to 11, after a prefix byte.
 */
static void test_str8z_model_exhaustive(void **state)
{
	for (size_t blen = 0; blen <= 9; blen++) {
		for (unsigned pat = 0; pat < (1u << blen); pat++) {
			uint8_t buf[1 + 9];

			buf[0] = 'p';
			for (size_t k = 0; k < blen; k++)
				buf[1 + k] = (pat >> k) & 1 ? 'a' : 0;
			for (size_t lim = 0; lim <= 11; lim++) {
				struct rd r;
				size_t got_len = 99, k;
				const char *got;
				char msg[96];

				/* rd_str8z(max = lim) */
				for (k = 0; k < blen && k < lim && buf[1 + k] != 0; k++)
					;
				rd_init(&r, buf, 1 + blen, 300);
				rd_skip(&r, 1, NULL);
				got = rd_str8z(&r, lim, &got_len, "S");
				if (k < blen && k < lim) {
					assert_ptr_equal(got, (const char *)buf + 1);
					assert_true(rd_ok(&r));
					assert_int_equal(got_len, k);
					assert_int_equal(rd_pos(&r), 300 + 1 + k + 1);
				} else {
					assert_null(got);
					assert_int_equal(got_len, 0);
					if (blen > lim)
						snprintf(msg, sizeof(msg),
						         "S: no NUL within %zu bytes", lim);
					else
						snprintf(msg, sizeof(msg),
						         "S: no NUL before the end of the buffer "
						         "(%zu "
						         "bytes left)",
						         blen);
					expect_error_exact(&r, 301, msg);
				}

				/* rd_str8z_n(n = lim) */
				for (k = 0; k < blen && k < lim && buf[1 + k] != 0; k++)
					;
				rd_init(&r, buf, 1 + blen, 300);
				rd_skip(&r, 1, NULL);
				got = rd_str8z_n(&r, lim, "N");
				if (lim == 0) {
					assert_null(got);
					expect_error_exact(&r, 301, "N: empty string has no NUL");
				} else if (lim > blen) {
					assert_null(got);
					snprintf(msg, sizeof(msg), "N: need %zu bytes, %zu left",
					         lim, blen);
					expect_error_exact(&r, 301, msg);
				} else if (k == lim) {
					assert_null(got);
					expect_error(&r, 301 + lim - 1, "does not end with a NUL");
				} else if (k != lim - 1) {
					assert_null(got);
					expect_error(&r, 301 + k, "N: NUL at byte");
				} else {
					assert_ptr_equal(got, (const char *)buf + 1);
					assert_true(rd_ok(&r));
					assert_int_equal(strlen(got), lim - 1);
					assert_int_equal(rd_pos(&r), 301 + lim);
				}
			}
		}
	}
}

/* --- rd_sub ---------------------------------------------------------------------------- */

static void test_sub_basic(void **state)
{
	struct rd r, sub;

	rd_init(&r, seq, sizeof(seq), 1000);
	rd_skip(&r, 2, NULL);
	rd_sub(&r, 6, &sub, "RopBuffer");
	assert_true(rd_ok(&r));
	assert_true(rd_ok(&sub));
	assert_int_equal(rd_pos(&r), 1008); /* the parent is past the section */
	assert_ptr_equal(sub.buf, seq + 2);
	assert_int_equal(sub.len, 6);
	assert_int_equal(sub.base, 1002);
	assert_int_equal(rd_pos(&sub), 1002);
	assert_int_equal(rd_u32le(&sub, NULL), 0x06050403);
	assert_int_equal(rd_u16le(&sub, NULL), 0x0807);
	assert_int_equal(rd_left(&sub), 0);
	/* reading past the section fails in the sub-reader only, at an absolute offset */
	assert_int_equal(rd_u8(&sub, "beyond"), 0);
	expect_error_exact(&sub, 1008, "beyond: need 1 bytes, 0 left");
	assert_true(rd_ok(&r));
	assert_int_equal(rd_u8(&r, NULL), 0x09); /* the parent goes on after the section */
	rd_take_error(&r, &sub);
	expect_error_exact(&r, 1008, "beyond: need 1 bytes, 0 left");
}

static void test_sub_nested_offsets(void **state)
{
	/* outer buffer at absolute 10000: [4 pad][sub1: 2 pad [sub2: 3 pad [sub3: 4]]] */
	uint8_t buf[32];
	struct rd r, s1, s2, s3;

	memset(buf, 0, sizeof(buf));
	rd_init(&r, buf, sizeof(buf), 10000);
	rd_skip(&r, 4, NULL);
	rd_sub(&r, 20, &s1, "s1");
	rd_skip(&s1, 2, NULL);
	rd_sub(&s1, 10, &s2, "s2");
	rd_skip(&s2, 3, NULL);
	rd_sub(&s2, 4, &s3, "s3");
	assert_int_equal(rd_pos(&s3), 10009);
	rd_skip(&s3, 3, NULL);
	assert_int_equal(rd_u16le(&s3, "deep"), 0);
	expect_error_exact(&s3, 10012, "deep: need 2 bytes, 1 left");
	rd_take_error(&s2, &s3);
	rd_take_error(&s1, &s2);
	rd_take_error(&r, &s1);
	expect_error_exact(&r, 10012, "deep: need 2 bytes, 1 left");
	/* s2 is past s3's section and still knows where it is */
	assert_int_equal(rd_pos(&s2), 10013);
	assert_int_equal(rd_pos(&s1), 10016);
	assert_int_equal(rd_pos(&r), 10024);
	/* a sub-reader's rd_fail and rd_fail_at also speak absolute offsets */
	rd_init(&r, buf, sizeof(buf), 10000);
	rd_skip(&r, 5, NULL);
	rd_sub(&r, 10, &s1, "s1");
	rd_skip(&s1, 7, NULL);
	rd_fail(&s1, "bad flag");
	expect_error_exact(&s1, 10012, "bad flag");
}

static void test_sub_shortage(void **state)
{
	struct rd r, sub;

	rd_init(&r, seq, 10, 70);
	rd_skip(&r, 4, NULL);
	memset(&sub, 0x5A, sizeof(sub));
	rd_sub(&r, 7, &sub, "AuxBuffer");
	expect_error_exact(&r, 74, "AuxBuffer: need 7 bytes, 6 left");
	/* the sub-reader is an empty reader already in error, with the same error */
	expect_error_exact(&sub, 74, "AuxBuffer: need 7 bytes, 6 left");
	assert_int_equal(sub.len, 0);
	assert_int_equal(rd_left(&sub), 0);
	assert_int_equal(rd_u8(&sub, NULL), 0);
	assert_int_equal(sub.base, 74);
	assert_int_equal(r.off, 4); /* the parent did not move */

	/* sub of exactly the rest, and of zero bytes at the end */
	rd_init(&r, seq, 10, 0);
	rd_skip(&r, 4, NULL);
	rd_sub(&r, 6, &sub, "rest");
	assert_true(rd_ok(&r) && rd_ok(&sub));
	assert_int_equal(rd_left(&sub), 6);
	assert_int_equal(rd_left(&r), 0);
	rd_sub(&r, 0, &sub, "empty");
	assert_true(rd_ok(&r) && rd_ok(&sub));
	assert_int_equal(rd_left(&sub), 0);
	assert_int_equal(rd_pos(&sub), 10);
	assert_int_equal(rd_u8(&sub, "x"), 0);
	expect_error_exact(&sub, 10, "x: need 1 bytes, 0 left");
	assert_true(rd_ok(&r));
}

static void test_sub_of_failed_parent(void **state)
{
	struct rd r, sub;

	rd_init(&r, seq, 10, 0);
	rd_fail(&r, "earlier problem");
	rd_sub(&r, 2, &sub, "later");
	expect_error_exact(&sub, 0, "earlier problem");
	expect_error_exact(&r, 0, "earlier problem");
	assert_int_equal(rd_u8(&sub, NULL), 0);
}

static void test_sub_sweep(void **state)
{
	/* A 2-byte size then that many bytes: every truncation is caught with its offset. */
	static const uint8_t msg[] = {0x05, 0x00, 'h', 'e', 'l', 'l', 0};

	for (size_t len = 0; len <= sizeof(msg); len++) {
		struct rd r, sub;
		uint16_t n;
		const char *s;

		rd_init(&r, msg, len, 40);
		n = rd_u16le(&r, "Size");
		rd_sub(&r, n, &sub, "Body");
		s = rd_str8z_n(&sub, rd_left(&sub), "Name");
		rd_take_error(&r, &sub);
		if (len == sizeof(msg)) {
			assert_true(rd_ok(&r));
			assert_string_equal(s, "hell");
		} else if (len < 2) {
			expect_error(&r, 40, "Size: need 2 bytes");
		} else {
			expect_error(&r, 42, "Body: need 5 bytes");
		}
	}
}

/* --- NULL buffers: zero-length operations on (NULL, 0) stay defined (UBSan regression) ---- */

static void test_null_buffer_zero_length(void **state)
{
	struct rd r, sub;
	struct wr w;
	size_t len = 3;

	/* An empty HTTP body can come as (NULL, 0); zero-length operations must succeed. */
	rd_init(&r, NULL, 0, 0);
	rd_skip(&r, 0, "x");
	rd_bytes(&r, NULL, 0, "x");
	(void)rd_ptr(&r, 0, "x");
	rd_sub(&r, 0, &sub, "x");
	assert_true(rd_ok(&r));
	assert_true(rd_ok(&sub));
	assert_null(rd_str8z(&r, 10, &len, "x"));
	expect_error(&r, 0, "no NUL before the end of the buffer (0 bytes left)");
	wr_init(&w, NULL, 0);
	wr_zero(&w, 0);
	wr_bytes(&w, "", 0);
	(void)wr_reserve(&w, 0);
	assert_true(wr_ok(&w));
	wr_u8(&w, 1);
	assert_false(wr_ok(&w));
}

static void test_rd_bytes_null_dst_zero(void **state)
{
	struct rd r;

	/* a decoder copying count * size bytes into an array it only allocates for count > 0 */
	rd_init(&r, seq, 4, 0);
	rd_bytes(&r, NULL, 0, "x");
	assert_true(rd_ok(&r));
}

/* --- writer ---------------------------------------------------------------------------- */

static void test_wr_init(void **state)
{
	uint8_t buf[8];
	struct wr w;

	memset(&w, 0x5A, sizeof(w));
	wr_init(&w, buf, sizeof(buf));
	assert_ptr_equal(w.buf, buf);
	assert_int_equal(w.cap, 8);
	assert_int_equal(w.len, 0);
	assert_true(wr_ok(&w));
	assert_int_equal(wr_room(&w), 8);
	wr_init(&w, NULL, 100); /* NULL buffer: no room */
	assert_int_equal(w.cap, 0);
	assert_int_equal(wr_room(&w), 0);
	wr_u8(&w, 1);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
}

static void test_wr_integers(void **state)
{
	uint8_t buf[32];
	struct wr w;
	size_t n;
	/* u8 | u16le | u32le | u64le | u48be */
	uint8_t *want = mbx_test_hex("01  03 02  07 06 05 04  0F 0E 0D 0C 0B 0A 09 08  "
	                             "10 11 12 13 14 15",
	                             &n);

	wr_init(&w, buf, sizeof(buf));
	wr_u8(&w, 0x01);
	wr_u16le(&w, 0x0203);
	wr_u32le(&w, 0x04050607);
	wr_u64le(&w, 0x08090A0B0C0D0E0FULL);
	wr_u48be(&w, 0x101112131415ULL);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(wr_room(&w), sizeof(buf) - n);
	free(want);
	/* high bits; wr_u48be drops bits above 47 */
	wr_init(&w, buf, sizeof(buf));
	wr_u16le(&w, 0xFFFE);
	wr_u32le(&w, 0x80000001u);
	wr_u64le(&w, 0x8000000000000001ULL);
	wr_u48be(&w, 0xFFFF800000000001ULL);
	assert_true(wr_ok(&w));
	assert_memory_equal(buf,
	                    "\xFE\xFF"
	                    "\x01\x00\x00\x80"
	                    "\x01\x00\x00\x00\x00\x00\x00\x80"
	                    "\x80\x00\x00\x00\x00\x01",
	                    20);
}

/* Each width, at every capacity short of it, after a 3-byte prefix: overflow, no bytes
 * written past the prefix, nothing beyond the capacity touched. */
static void test_wr_overflow_each_width(void **state)
{
	static const size_t widths[] = {1, 2, 4, 6, 8};

	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
		for (size_t room = 0; room <= widths[wi]; room++) {
			uint8_t buf[32];
			struct wr w;

			memset(buf, 0xEE, sizeof(buf));
			wr_init(&w, buf, 3 + room);
			wr_bytes(&w, "abc", 3);
			switch (widths[wi]) {
			case 1:
				wr_u8(&w, 0x11);
				break;
			case 2:
				wr_u16le(&w, 0x1111);
				break;
			case 4:
				wr_u32le(&w, 0x11111111);
				break;
			case 6:
				wr_u48be(&w, 0x111111111111ULL);
				break;
			default:
				wr_u64le(&w, 0x1111111111111111ULL);
				break;
			}
			if (room == widths[wi]) {
				assert_true(wr_ok(&w));
				assert_int_equal(w.len, 3 + room);
				assert_int_equal(wr_room(&w), 0);
				assert_int_equal(buf[3 + room - 1], 0x11);
			} else {
				assert_false(wr_ok(&w));
				assert_int_equal(w.len, 3);
				assert_int_equal(wr_room(&w), 0);
				for (size_t k = 3; k < sizeof(buf); k++)
					assert_int_equal(buf[k], 0xEE);
			}
			assert_int_equal(buf[32 - 1], 0xEE);
		}
	}
}

static void test_wr_sticky_overflow(void **state)
{
	uint8_t buf[8];
	struct wr w;

	memset(buf, 0xEE, sizeof(buf));
	wr_init(&w, buf, 4);
	wr_u16le(&w, 0x0102);
	wr_u32le(&w, 0x03040506); /* does not fit */
	assert_false(wr_ok(&w));
	/* writes that would fit are refused too */
	wr_u8(&w, 0x07);
	wr_u16le(&w, 0x0809);
	wr_bytes(&w, "", 0);
	wr_zero(&w, 0);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 2);
	assert_int_equal(buf[2], 0xEE);
	assert_int_equal(buf[3], 0xEE);
}

static void test_wr_bytes_zero_str(void **state)
{
	uint8_t buf[16];
	struct wr w;

	memset(buf, 0xEE, sizeof(buf));
	wr_init(&w, buf, 10);
	wr_bytes(&w, "ab", 2);
	wr_bytes(&w, "zz", 0);
	wr_zero(&w, 3);
	wr_zero(&w, 0);
	wr_str8z(&w, "cd");
	wr_str8z(&w, "");
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 9);
	assert_memory_equal(buf, "ab\0\0\0cd\0\0", 9);
	assert_int_equal(buf[9], 0xEE);
	/* "x" + NUL needs 2 bytes; 1 left: nothing written, not even the "x" */
	wr_str8z(&w, "x");
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 9);
	assert_int_equal(buf[9], 0xEE);
	/* wr_zero and wr_bytes overflow the same way */
	wr_init(&w, buf, 4);
	wr_zero(&w, 5);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
	wr_init(&w, buf, 4);
	wr_bytes(&w, "abcde", 5);
	assert_false(wr_ok(&w));
	wr_init(&w, buf, 4);
	wr_bytes(&w, "abcd", SIZE_MAX); /* a huge length must not wrap */
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
}

static void test_wr_reserve_patch(void **state)
{
	uint8_t buf[16];
	struct wr w;
	size_t at16, at32;

	memset(buf, 0xEE, sizeof(buf));
	wr_init(&w, buf, sizeof(buf));
	wr_u8(&w, 0xFE);
	at16 = wr_reserve(&w, 2);
	at32 = wr_reserve(&w, 4);
	assert_int_equal(at16, 1);
	assert_int_equal(at32, 3);
	assert_memory_equal(buf + 1, "\0\0\0\0\0\0", 6); /* reserved bytes are zero */
	wr_bytes(&w, "xyz", 3);
	wr_patch_u16le(&w, at16, 0x0A0B);
	wr_patch_u32le(&w, at32, 0x01020304);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 10);
	assert_memory_equal(buf, "\xFE\x0B\x0A\x04\x03\x02\x01xyz", 10);
	/* patches that would reach past len (or start past it) are no-ops */
	wr_patch_u16le(&w, 9, 0xFFFF);
	wr_patch_u16le(&w, 10, 0xFFFF);
	wr_patch_u16le(&w, SIZE_MAX, 0xFFFF);
	wr_patch_u32le(&w, 7, 0xFFFFFFFF);
	wr_patch_u32le(&w, 11, 0xFFFFFFFF);
	wr_patch_u32le(&w, SIZE_MAX - 1, 0xFFFFFFFF);
	assert_memory_equal(buf, "\xFE\x0B\x0A\x04\x03\x02\x01xyz", 10);
	assert_int_equal(buf[10], 0xEE);
	/* the last bytes can be patched */
	wr_patch_u16le(&w, 8, 0x3132);
	wr_patch_u32le(&w, 6, 0x41424344);
	assert_memory_equal(buf + 6, "DCBA", 4);
	assert_int_equal(w.len, 10);
	/* reserve that does not fit: overflow, patches become no-ops */
	at16 = wr_reserve(&w, 7);
	assert_false(wr_ok(&w));
	wr_patch_u16le(&w, 0, 0x9999);
	wr_patch_u32le(&w, 0, 0x99999999);
	assert_int_equal(buf[0], 0xFE);
	assert_int_equal(buf[1], 0x0B);
	(void)at16;
}

static void test_wr_mark_rollback(void **state)
{
	uint8_t buf[12];
	struct wr w;
	size_t m0, m1, m2;

	memset(buf, 0xEE, sizeof(buf));
	wr_init(&w, buf, sizeof(buf));
	m0 = wr_mark(&w);
	assert_int_equal(m0, 0);
	wr_u32le(&w, 0x11111111);
	m1 = wr_mark(&w);
	assert_int_equal(m1, 4);
	wr_u32le(&w, 0x22222222);
	m2 = wr_mark(&w);
	wr_u16le(&w, 0x3333);
	/* a rollback without an overflow just truncates */
	wr_rollback(&w, m2);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 8);
	/* overflow, then roll back to the last complete ROP */
	wr_u64le(&w, 0x4444444444444444ULL);
	assert_false(wr_ok(&w));
	wr_rollback(&w, m1);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 4);
	assert_int_equal(wr_room(&w), 8);
	assert_memory_equal(buf, "\x11\x11\x11\x11", 4);
	/* writing again after the rollback overwrites what was dropped */
	wr_u32le(&w, 0x55555555);
	assert_memory_equal(buf + 4, "\x55\x55\x55\x55", 4);
	/* rollback to the current length and to 0 */
	wr_rollback(&w, w.len);
	assert_int_equal(w.len, 8);
	wr_rollback(&w, m0);
	assert_int_equal(w.len, 0);
	assert_true(wr_ok(&w));
	assert_int_equal(wr_room(&w), 12);
}

static void test_wr_no_half_rop(void **state)
{
	/* The pattern the ROP encoder uses: each response is whole or absent. */
	uint8_t buf[20];
	struct wr w;
	int written = 0;

	wr_init(&w, buf, sizeof(buf));
	for (int i = 0; i < 10; i++) {
		size_t m = wr_mark(&w);

		wr_u8(&w, 0xFE);       /* RopId */
		wr_u8(&w, (uint8_t)i); /* OutputHandleIndex */
		wr_u32le(&w, 0x50C);   /* ReturnValue */
		if (!wr_ok(&w)) {
			wr_rollback(&w, m);
			break;
		}
		written++;
	}
	assert_int_equal(written, 3);
	assert_int_equal(w.len, 18);
	assert_true(wr_ok(&w));
	assert_memory_equal(buf + 12, "\xFE\x02\x0C\x05\x00\x00", 6);
}

static void test_round_trip_random(void **state)
{
	/* A random sequence of typed writes read back by the matching reads. */
	for (int iter = 0; iter < 500; iter++) {
		uint8_t buf[512];
		uint8_t kinds[64];
		uint64_t vals[64];
		int n = (int)(rnd() % 64);
		struct wr w;
		struct rd r;

		wr_init(&w, buf, sizeof(buf));
		for (int i = 0; i < n; i++) {
			kinds[i] = (uint8_t)(rnd() % 5);
			vals[i] = rnd();
			switch (kinds[i]) {
			case 0:
				vals[i] &= 0xFF;
				wr_u8(&w, (uint8_t)vals[i]);
				break;
			case 1:
				vals[i] &= 0xFFFF;
				wr_u16le(&w, (uint16_t)vals[i]);
				break;
			case 2:
				vals[i] &= 0xFFFFFFFF;
				wr_u32le(&w, (uint32_t)vals[i]);
				break;
			case 3:
				vals[i] &= 0xFFFFFFFFFFFFULL;
				wr_u48be(&w, vals[i]);
				break;
			default:
				wr_u64le(&w, vals[i]);
				break;
			}
		}
		assert_true(wr_ok(&w));
		rd_init(&r, buf, w.len, 0);
		for (int i = 0; i < n; i++) {
			uint64_t v;

			switch (kinds[i]) {
			case 0:
				v = rd_u8(&r, NULL);
				break;
			case 1:
				v = rd_u16le(&r, NULL);
				break;
			case 2:
				v = rd_u32le(&r, NULL);
				break;
			case 3:
				v = rd_u48be(&r, NULL);
				break;
			default:
				v = rd_u64le(&r, NULL);
				break;
			}
			assert_int_equal(v, vals[i]);
		}
		assert_true(rd_ok(&r));
		assert_int_equal(rd_left(&r), 0);
	}
}

static void test_le_helpers(void **state)
{
	uint8_t b[4];

	mbx_put_le16(b, 0xA1B2);
	assert_memory_equal(b, "\xB2\xA1", 2);
	assert_int_equal(mbx_le16(b), 0xA1B2);
	mbx_put_le32(b, 0xF1E2D3C4u);
	assert_memory_equal(b, "\xC4\xD3\xE2\xF1", 4);
	assert_int_equal(mbx_le32(b), 0xF1E2D3C4u);
	b[0] = b[1] = 0xFF;
	assert_int_equal(mbx_le16(b), 0xFFFF);
	b[2] = b[3] = 0xFF;
	assert_int_equal(mbx_le32(b), 0xFFFFFFFFu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rd_init),
	        cmocka_unit_test(test_rd_integers),
	        cmocka_unit_test(test_rd_integers_high_bits),
	        cmocka_unit_test(test_rd_integer_shortage),
	        cmocka_unit_test(test_rd_sticky),
	        cmocka_unit_test(test_rd_fail),
	        cmocka_unit_test(test_rd_take_error),
	        cmocka_unit_test(test_rd_bytes),
	        cmocka_unit_test(test_rd_ptr_skip),
	        cmocka_unit_test(test_rd_huge_lengths),
	        cmocka_unit_test(test_str8z_n_valid),
	        cmocka_unit_test(test_str8z_n_invalid),
	        cmocka_unit_test(test_str8z_n_truncation_sweep),
	        cmocka_unit_test(test_str8z_valid),
	        cmocka_unit_test(test_str8z_invalid),
	        cmocka_unit_test(test_str8z_truncation_sweep),
	        cmocka_unit_test(test_str8z_model_exhaustive),
	        cmocka_unit_test(test_sub_basic),
	        cmocka_unit_test(test_sub_nested_offsets),
	        cmocka_unit_test(test_sub_shortage),
	        cmocka_unit_test(test_sub_of_failed_parent),
	        cmocka_unit_test(test_sub_sweep),
	        cmocka_unit_test(test_null_buffer_zero_length),
	        cmocka_unit_test(test_rd_bytes_null_dst_zero),
	        cmocka_unit_test(test_wr_init),
	        cmocka_unit_test(test_wr_integers),
	        cmocka_unit_test(test_wr_overflow_each_width),
	        cmocka_unit_test(test_wr_sticky_overflow),
	        cmocka_unit_test(test_wr_bytes_zero_str),
	        cmocka_unit_test(test_wr_reserve_patch),
	        cmocka_unit_test(test_wr_mark_rollback),
	        cmocka_unit_test(test_wr_no_half_rop),
	        cmocka_unit_test(test_round_trip_random),
	        cmocka_unit_test(test_le_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
