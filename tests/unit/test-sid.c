/*
 * test-sid.c: binary and string SIDs (MS-DTYP 2.4.2.1 / 2.4.2.2, protocol.md 8.6) and the
 * well-known / BUILTIN table (MS-DTYP 2.4.2.4) of include/mbx/sid.h.
 */
#include "mbx-test.h"

#include "mbx/sid.h"

static void expect_error(const struct rd *r, size_t off, const char *substr)
{
	assert_false(rd_ok(r));
	if (strstr(r->err_msg, substr) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", r->err_msg, substr);
	if (r->err_off != off)
		fail_msg("error \"%s\" at offset %zu, expected %zu", r->err_msg, r->err_off, off);
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool sid_all_zero(const struct mbx_sid *s)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < sizeof(*s); i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Binary vectors and their canonical string form. */
static const struct {
	const char *hex;
	const char *str;
} valid[] = {
        /* protocol.md 8.6 examples */
        {"01 01 00 00 00 00 00 05 0A 00 00 00", "S-1-5-10"},
        {"01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00", "S-1-5-32-544"},
        /* a domain user */
        {"01 05 00 00 00 00 00 05 15 00 00 00 C7 F7 FE D7 7C 77 55 C8 94 5A CE 01 F5 03 00 00",
         "S-1-5-21-3623811015-3361044348-30300820-1013"},
        {"01 01 00 00 00 00 00 01 00 00 00 00", "S-1-1-0"},
        {"01 01 00 00 00 00 00 00 00 00 00 00", "S-1-0-0"},
        /* count 0 */
        {"01 00 00 00 00 00 00 05", "S-1-5"},
        {"01 00 00 00 00 00 00 00", "S-1-0"},
        /* authority 2^32-1 is decimal, 2^32 is hex */
        {"01 01 00 00 FF FF FF FF 01 00 00 00", "S-1-4294967295-1"},
        {"01 01 00 01 00 00 00 00 01 00 00 00", "S-1-0x000100000000-1"},
        {"01 00 FF FF FF FF FF FF", "S-1-0xffffffffffff"},
        {"01 01 12 34 56 78 9A BC FF FF FF FF", "S-1-0x123456789abc-4294967295"},
        /* count 15: the maximum, with the largest authority and sub-authority */
        {"01 0F FF FF FF FF FF FF 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00 05 00 00 00 "
         "06 00 00 00 07 00 00 00 08 00 00 00 09 00 00 00 0A 00 00 00 0B 00 00 00 0C 00 00 00 "
         "0D 00 00 00 0E 00 00 00 FF FF FF FF",
         "S-1-0xffffffffffff-1-2-3-4-5-6-7-8-9-10-11-12-13-14-4294967295"},
};
#define NVALID (sizeof(valid) / sizeof(valid[0]))

static void test_valid_vectors(void **state)
{
	for (size_t i = 0; i < NVALID; i++) {
		size_t n;
		uint8_t *b = mbx_test_hex(valid[i].hex, &n);
		struct mbx_sid sid, sid2;
		char s[MBX_SID_STRMAX];
		uint8_t out[MBX_SID_MAX_BYTES];
		struct rd r;
		struct wr w;

		rd_init(&r, b, n, 0);
		rd_sid(&r, &sid, "objectSid");
		if (!rd_ok(&r))
			fail_msg("row %zu: %s", i, r.err_msg);
		assert_int_equal(rd_left(&r), 0);
		assert_int_equal(sid.revision, 1);
		assert_int_equal(mbx_sid_size(&sid), n);
		assert_string_equal(mbx_sid_to_str(&sid, s, sizeof(s)), valid[i].str);
		assert_int_equal(mbx_sid_from_str(valid[i].str, &sid2), 0);
		assert_true(mbx_sid_equal(&sid, &sid2));
		memset(&sid2, 0, sizeof(sid2));
		assert_int_equal(mbx_sid_from_bytes(b, n, &sid2), 0);
		assert_true(mbx_sid_equal(&sid, &sid2));
		wr_init(&w, out, sizeof(out));
		wr_sid(&w, &sid);
		assert_true(wr_ok(&w));
		assert_int_equal(w.len, n);
		assert_memory_equal(out, b, n);
		free(b);
	}
}

static void test_fields(void **state)
{
	struct mbx_sid sid;

	assert_int_equal(mbx_sid_from_str("S-1-5-21-3623811015-3361044348-30300820-1013", &sid), 0);
	assert_int_equal(sid.revision, 1);
	assert_int_equal(sid.count, 5);
	assert_int_equal(sid.authority, 5);
	assert_int_equal(sid.sub[0], 21);
	assert_int_equal(sid.sub[1], 3623811015u);
	assert_int_equal(sid.sub[4], 1013);
	assert_int_equal(mbx_sid_from_str("S-1-0x123456789ABC", &sid), 0);
	assert_int_equal(sid.authority, 0x123456789ABCULL);
	assert_int_equal(sid.count, 0);
}

static void test_invalid_vectors(void **state)
{
	static const struct {
		const char *hex;
		size_t off;
		const char *msg;
	} rows[] = {
	        {"00 01 00 00 00 00 00 05 0A 00 00 00", 0, "objectSid: revision 0, expected 1"},
	        {"02 01 00 00 00 00 00 05 0A 00 00 00", 0, "objectSid: revision 2, expected 1"},
	        {"FF 00 00 00 00 00 00 05", 0, "revision 255"},
	        /* count 16 and 255, even with enough bytes behind them */
	        {"01 10 00 00 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
	         "00 "
	         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
	         "00 "
	         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
	         1, "objectSid: SubAuthorityCount 16 exceeds 15"},
	        {"01 FF 00 00 00 00 00 05", 1, "SubAuthorityCount 255 exceeds 15"},
	        /* count says more than there is */
	        {"01 02 00 00 00 00 00 05 20 00 00 00", 8,
	         "2 sub-authorities need 8 bytes, 4 left"},
	        {"01 0F 00 00 00 00 00 05", 8, "15 sub-authorities need 60 bytes, 0 left"},
	        {"01 01 00 00 00 00 00 05 0A 00 00", 8, "1 sub-authorities need 4 bytes, 3 left"},
	        /* revision is checked before the count */
	        {"02 10 00 00 00 00 00 05", 0, "revision 2"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n;
		uint8_t *b = mbx_test_hex(rows[i].hex, &n);
		struct mbx_sid sid;
		struct rd r;

		memset(&sid, 0xA5, sizeof(sid));
		rd_init(&r, b, n, 500);
		rd_sid(&r, &sid, "objectSid");
		expect_error(&r, 500 + rows[i].off, rows[i].msg);
		assert_true(sid_all_zero(&sid));
		assert_int_equal(mbx_sid_from_bytes(b, n, &sid), -1);
		free(b);
	}
}

static void test_from_bytes_exact(void **state)
{
	const uint8_t self_plus[] = {1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0, 0};
	struct mbx_sid sid;

	assert_int_equal(mbx_sid_from_bytes(self_plus, 12, &sid), 0);
	assert_true(mbx_sid_equal(&sid, &mbx_sid_self));
	memset(&sid, 0xA5, sizeof(sid));
	assert_int_equal(mbx_sid_from_bytes(self_plus, 13, &sid), -1); /* trailing byte */
	assert_true(sid_all_zero(&sid));
	assert_int_equal(mbx_sid_from_bytes(NULL, 0, &sid), -1);
	assert_int_equal(mbx_sid_from_bytes(self_plus, 0, &sid), -1);
}

static void test_truncation_sweep(void **state)
{
	for (size_t i = 0; i < NVALID; i++) {
		size_t n;
		uint8_t *b = mbx_test_hex(valid[i].hex, &n);

		for (size_t len = 0; len < n; len++) {
			struct mbx_sid sid;
			struct rd r;
			char msg[96];

			memset(&sid, 0xA5, sizeof(sid));
			rd_init(&r, b, len, 30);
			rd_sid(&r, &sid, NULL);
			if (len < 8) {
				snprintf(msg, sizeof(msg),
				         "SID: need 8 bytes for the SID header, %zu left", len);
				expect_error(&r, 30, msg);
			} else {
				snprintf(msg, sizeof(msg),
				         "SID: %u sub-authorities need %zu bytes, %zu left",
				         (unsigned)b[1], n - 8, len - 8);
				expect_error(&r, 38, msg);
			}
			assert_true(sid_all_zero(&sid));
			assert_int_equal(mbx_sid_from_bytes(b, len, &sid), -1);
		}
		free(b);
	}
}

static void test_in_sub_reader(void **state)
{
	/* A SID inside a sized section at absolute offset 100: errors keep absolute offsets. */
	uint8_t buf[120];
	struct mbx_sid sid;
	struct rd r, sub;

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 100, "\x01\x02\x00\x00\x00\x00\x00\x05\x20\x00\x00\x00", 12);
	rd_init(&r, buf, sizeof(buf), 0);
	rd_skip(&r, 100, "pad");
	rd_sub(&r, 12, &sub, "MasterAccountSid");
	rd_sid(&sub, &sid, "MasterAccountSid");
	expect_error(&sub, 108, "2 sub-authorities need 8 bytes, 4 left");
	rd_take_error(&r, &sub);
	expect_error(&r, 108, "MasterAccountSid: 2 sub-authorities");

	buf[100] = 3;
	rd_init(&r, buf, sizeof(buf), 0);
	rd_skip(&r, 100, "pad");
	rd_sub(&r, 16, &sub, "MasterAccountSid");
	rd_sid(&sub, &sid, "MasterAccountSid");
	expect_error(&sub, 100, "revision 3");
}

static void test_boundary_counts(void **state)
{
	/* count 0, 1, 15 are valid (see the vectors); 16 is not, in any form. */
	struct mbx_sid sid;
	uint8_t out[MBX_SID_MAX_BYTES + 8];
	char s[MBX_SID_STRMAX];
	struct wr w;

	memset(&sid, 0, sizeof(sid));
	sid.revision = 1;
	sid.authority = 5;
	for (unsigned c = 0; c <= 15; c++) {
		struct mbx_sid back;

		sid.count = (uint8_t)c;
		for (unsigned k = 0; k < c; k++)
			sid.sub[k] = k * 1000000007u;
		wr_init(&w, out, sizeof(out));
		wr_sid(&w, &sid);
		assert_true(wr_ok(&w));
		assert_int_equal(w.len, 8 + 4 * c);
		assert_int_equal(out[1], c);
		assert_int_equal(mbx_sid_from_bytes(out, w.len, &back), 0);
		assert_true(mbx_sid_equal(&sid, &back));
		mbx_sid_to_str(&sid, s, sizeof(s));
		assert_int_equal(mbx_sid_from_str(s, &back), 0);
		assert_true(mbx_sid_equal(&sid, &back));
	}
	/* 16 sub-authorities in a string */
	assert_int_equal(mbx_sid_from_str("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", &sid), 0);
	assert_int_equal(sid.count, 15);
	assert_int_equal(mbx_sid_from_str("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", &sid),
	                 -1);
	/* 16 in a struct (our bug): not written, the writer reports it */
	sid.count = 16;
	wr_init(&w, out, sizeof(out));
	wr_u8(&w, 0x77);
	wr_sid(&w, &sid);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 1);
	/* authority over 48 bits (our bug): same */
	sid.count = 1;
	sid.authority = 0x1000000000000ULL;
	wr_init(&w, out, sizeof(out));
	wr_sid(&w, &sid);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
}

static void test_writer_overflow(void **state)
{
	uint8_t out[16];
	struct wr w;

	wr_init(&w, out, 11);
	wr_sid(&w, &mbx_sid_self);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
	wr_init(&w, out, 12);
	wr_sid(&w, &mbx_sid_self);
	assert_true(wr_ok(&w));
	assert_memory_equal(out, "\x01\x01\x00\x00\x00\x00\x00\x05\x0a\x00\x00\x00", 12);
	wr_init(&w, out, 12);
	wr_sid(&w, &mbx_sid_everyone);
	assert_true(wr_ok(&w));
	assert_memory_equal(out, "\x01\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00", 12);
}

/* --- strings --------------------------------------------------------------------------- */

static void test_string_forms(void **state)
{
	static const struct {
		const char *in;
		const char *canonical;
	} rows[] = {
	        {"S-1-5-10", "S-1-5-10"},
	        {"s-1-5-10", "S-1-5-10"}, /* ABNF literals are case-insensitive */
	        {"S-1-0x000000000005-10", "S-1-5-10"},
	        {"S-1-0X000000000005-10", "S-1-5-10"},
	        {"S-1-0x00000000000A", "S-1-10"},
	        {"S-1-0x00FFffFFffFF", "S-1-0x00ffffffffff"},
	        {"S-1-0x0000FFFFFFFF-7", "S-1-4294967295-7"},
	        {"S-1-0-0", "S-1-0-0"},
	        {"S-1-5-0", "S-1-5-0"},
	        {"S-1-5", "S-1-5"},
	        {"S-1-0", "S-1-0"},
	        {"S-1-4294967295", "S-1-4294967295"},
	        {"S-1-5-4294967295", "S-1-5-4294967295"},
	        {"S-1-5-1000000000-999999999", "S-1-5-1000000000-999999999"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mbx_sid sid;
		char s[MBX_SID_STRMAX];

		if (mbx_sid_from_str(rows[i].in, &sid) != 0)
			fail_msg("rejected \"%s\"", rows[i].in);
		assert_string_equal(mbx_sid_to_str(&sid, s, sizeof(s)), rows[i].canonical);
	}
}

static void test_string_invalid(void **state)
{
	static const char *const bad[] = {
	        "",
	        "S",
	        "S-",
	        "S-1",
	        "S-1-",
	        "S-1-5-",
	        "S-1-5-10-",
	        "S-01-5",
	        "S-01-5-10",
	        "S-2-5-10",
	        "S-0-5-10",
	        "S-1-5-x",
	        "S-1-x",
	        "S-1-5-10x",
	        "S-1-5-10 ",
	        "S-1-5-10\t",
	        "S-1-5-10\n",
	        " S-1-5-10",
	        "S-1-5 -10",
	        "S- 1-5-10",
	        "S-1-5--10",
	        "S-1-5-+10",
	        "S-1--5",
	        "S-1-+5",
	        "S-1-5-4294967296", /* sub-authority 2^32 */
	        "S-1-5-9999999999",
	        "S-1-5-10000000000", /* 11 digits */
	        "S-1-5-04294967295",
	        "S-1-4294967296", /* decimal authority 2^32: must be hex */
	        "S-1-05",         /* leading zeros (MS-DTYP 2.4.2.1) */
	        "S-1-00",
	        "S-1-5-010",
	        "S-1-5-00",
	        "S-1-5-21-01-2-3",
	        "S-1-0x",
	        "S-1-0x5",
	        "S-1-0x12345678901",   /* 11 hex digits */
	        "S-1-0x1234567890123", /* 13 hex digits */
	        "S-1-0x12345678901g",
	        "S-1-0x-12345678901",
	        "S-1-x000000000005",
	        "S-1-0x 00000000005",
	        "S-1-5-0x10",
	        "SID-1-5-10",
	        "S_1_5_10",
	        "S:1:5:10",
	        "T-1-5-10",
	        "S-1-5-10\xff",
	        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
	        "S-1-\xd9\xa5", /* an Arabic-Indic digit five */
	};
	struct mbx_sid sid;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&sid, 0xA5, sizeof(sid));
		if (mbx_sid_from_str(bad[i], &sid) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(sid.revision, 0xA5); /* untouched */
		assert_int_equal(sid.count, 0xA5);
	}
	assert_int_equal(mbx_sid_from_str(NULL, &sid), -1);
}

/* The string form against snprintf, which the formatter replaced: every authority form and
 * number width, revisions 0 and 255 (printed as they are), 0 to 15 sub-authorities, and a
 * count past 15 (printed as 15). */
static void test_to_str_forms(void **state)
{
	static const uint64_t auths[] = {
	        0, 5, 9, 10, 4294967295ULL, 4294967296ULL, 0xFFFFFFFFFFFFULL, 0x123456789ABCULL};
	static const uint32_t subs[] = {0, 1, 9, 10, 99, 100, 32, 544, 3623811015u, 4294967295u};
	char s[MBX_SID_STRMAX], want[MBX_SID_STRMAX];

	(void)state;
	for (size_t a = 0; a < sizeof(auths) / sizeof(auths[0]); a++) {
		for (unsigned count = 0; count <= MBX_SID_MAX_SUBAUTH + 1; count++) {
			struct mbx_sid sid;
			size_t o;

			memset(&sid, 0, sizeof(sid));
			sid.revision = (uint8_t)(count % 2 == 0 ? 1 : (count == 1 ? 0 : 255));
			sid.count = (uint8_t)count;
			sid.authority = auths[a];
			for (unsigned i = 0; i < MBX_SID_MAX_SUBAUTH; i++)
				sid.sub[i] = subs[(a + i) % (sizeof(subs) / sizeof(subs[0]))];
			if (auths[a] < 0x100000000ULL)
				o = (size_t)snprintf(want, sizeof(want), "S-%u-%llu",
				                     (unsigned)sid.revision,
				                     (unsigned long long)auths[a]);
			else
				o = (size_t)snprintf(want, sizeof(want), "S-%u-0x%012llx",
				                     (unsigned)sid.revision,
				                     (unsigned long long)auths[a]);
			for (unsigned i = 0; i < count && i < MBX_SID_MAX_SUBAUTH; i++)
				o += (size_t)snprintf(want + o, sizeof(want) - o, "-%lu",
				                      (unsigned long)sid.sub[i]);
			assert_string_equal(mbx_sid_to_str(&sid, s, sizeof(s)), want);
			/* exactly the room it needs, and one byte less */
			assert_string_equal(mbx_sid_to_str(&sid, s, o + 1), want);
			assert_string_equal(mbx_sid_to_str(&sid, s, o), "");
		}
	}
}

static void test_to_str_buffer(void **state)
{
	char s[MBX_SID_STRMAX];
	struct mbx_sid sid;
	size_t len = strlen("S-1-5-32-544");

	assert_int_equal(mbx_sid_from_str("S-1-5-32-544", &sid), 0);
	assert_string_equal(mbx_sid_to_str(&sid, s, len + 1), "S-1-5-32-544");
	/* too small by one: nothing rather than "S-1-5-32-54" */
	memset(s, 'z', sizeof(s));
	assert_ptr_equal(mbx_sid_to_str(&sid, s, len), s);
	assert_string_equal(s, "");
	memset(s, 'z', sizeof(s));
	assert_string_equal(mbx_sid_to_str(&sid, s, 1), "");
	memset(s, 'z', sizeof(s));
	mbx_sid_to_str(&sid, s, 0);
	assert_int_equal(s[0], 'z'); /* size 0: not touched */

	/* the longest SID fits MBX_SID_STRMAX */
	sid.revision = 1;
	sid.count = 15;
	sid.authority = 0xFFFFFFFFFFFFULL;
	for (int i = 0; i < 15; i++)
		sid.sub[i] = 4294967295u;
	mbx_sid_to_str(&sid, s, sizeof(s));
	assert_int_equal(strlen(s), 4 + 14 + 15 * 11);
	assert_true(strlen(s) < MBX_SID_STRMAX);
	assert_int_equal(strncmp(s, "S-1-0xffffffffffff-4294967295-", 30), 0);
	{
		struct mbx_sid back;

		assert_int_equal(mbx_sid_from_str(s, &back), 0);
		assert_true(mbx_sid_equal(&sid, &back));
	}
}

static void test_round_trip_random(void **state)
{
	for (int i = 0; i < 5000; i++) {
		struct mbx_sid sid, back, back2;
		uint8_t out[MBX_SID_MAX_BYTES];
		char s[MBX_SID_STRMAX], s2[MBX_SID_STRMAX];
		struct wr w;
		struct rd r;
		uint64_t pick = rnd();

		memset(&sid, 0, sizeof(sid));
		sid.revision = 1;
		sid.count = (uint8_t)(rnd() % 16);
		switch (pick % 4) {
		case 0:
			sid.authority = rnd() % 6;
			break;
		case 1:
			sid.authority = rnd() & 0xFFFFFFFFULL;
			break;
		case 2:
			sid.authority = 0x100000000ULL + rnd() % 0xFFFF00000000ULL;
			break;
		default:
			sid.authority = rnd() & 0xFFFFFFFFFFFFULL;
			break;
		}
		for (unsigned k = 0; k < sid.count; k++)
			sid.sub[k] =
			        (pick >> 8) % 3 == 0 ? (uint32_t)(rnd() % 1000) : (uint32_t)rnd();
		/* bin -> str -> bin */
		wr_init(&w, out, sizeof(out));
		wr_sid(&w, &sid);
		assert_true(wr_ok(&w));
		rd_init(&r, out, w.len, 0);
		rd_sid(&r, &back, NULL);
		assert_true(rd_ok(&r));
		assert_int_equal(rd_left(&r), 0);
		assert_true(mbx_sid_equal(&sid, &back));
		mbx_sid_to_str(&back, s, sizeof(s));
		assert_int_equal(mbx_sid_from_str(s, &back2), 0);
		assert_true(mbx_sid_equal(&sid, &back2));
		/* str -> bin -> str is the identity on canonical strings */
		mbx_sid_to_str(&back2, s2, sizeof(s2));
		assert_string_equal(s, s2);
		/* hex authority exactly from 2^32 up */
		assert_int_equal(strncmp(s, "S-1-0x", 6) == 0, sid.authority >= 0x100000000ULL);
	}
}

/* --- equality and the well-known table -------------------------------------------------- */

static void test_equal(void **state)
{
	struct mbx_sid a, b;

	assert_int_equal(mbx_sid_from_str("S-1-5-21-1-2-3-1013", &a), 0);
	b = a;
	b.sub[10] = 99; /* beyond count: ignored */
	assert_true(mbx_sid_equal(&a, &b));
	b = a;
	b.sub[4] = 1014;
	assert_false(mbx_sid_equal(&a, &b));
	b = a;
	b.count = 4;
	assert_false(mbx_sid_equal(&a, &b));
	b = a;
	b.authority = 6;
	assert_false(mbx_sid_equal(&a, &b));
	b = a;
	b.revision = 2;
	assert_false(mbx_sid_equal(&a, &b));
	/* a corrupt count never compares equal (and never reads past sub[]) */
	a.count = b.count = 200;
	b.revision = 1;
	assert_false(mbx_sid_equal(&a, &b));
}

static const struct {
	const char *sid;
	const char *name;
} names[] = {
        {"S-1-0-0", "NULL SID"},
        {"S-1-1-0", "Everyone"},
        {"S-1-2-0", "LOCAL"},
        {"S-1-3-0", "CREATOR OWNER"},
        {"S-1-3-1", "CREATOR GROUP"},
        {"S-1-5-2", "NT AUTHORITY\\NETWORK"},
        {"S-1-5-4", "NT AUTHORITY\\INTERACTIVE"},
        {"S-1-5-6", "NT AUTHORITY\\SERVICE"},
        {"S-1-5-7", "NT AUTHORITY\\ANONYMOUS LOGON"},
        {"S-1-5-9", "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS"},
        {"S-1-5-10", "NT AUTHORITY\\SELF"},
        {"S-1-5-11", "NT AUTHORITY\\Authenticated Users"},
        {"S-1-5-18", "NT AUTHORITY\\SYSTEM"},
        {"S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE"},
        {"S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE"},
        {"S-1-5-32", "BUILTIN"},
        /* every BUILTIN alias of protocol.md 8.6 */
        {"S-1-5-32-544", "BUILTIN\\Administrators"},
        {"S-1-5-32-545", "BUILTIN\\Users"},
        {"S-1-5-32-546", "BUILTIN\\Guests"},
        {"S-1-5-32-547", "BUILTIN\\Power Users"},
        {"S-1-5-32-548", "BUILTIN\\Account Operators"},
        {"S-1-5-32-549", "BUILTIN\\Server Operators"},
        {"S-1-5-32-550", "BUILTIN\\Print Operators"},
        {"S-1-5-32-551", "BUILTIN\\Backup Operators"},
        {"S-1-5-32-552", "BUILTIN\\Replicator"},
        {"S-1-5-32-553", "BUILTIN\\RAS Servers"},
        {"S-1-5-32-554", "BUILTIN\\Pre-Windows 2000 Compatible Access"},
        {"S-1-5-32-555", "BUILTIN\\Remote Desktop Users"},
        {"S-1-5-32-556", "BUILTIN\\Network Configuration Operators"},
        {"S-1-5-32-557", "BUILTIN\\Incoming Forest Trust Builders"},
        {"S-1-5-32-558", "BUILTIN\\Performance Monitor Users"},
        {"S-1-5-32-559", "BUILTIN\\Performance Log Users"},
        {"S-1-5-32-560", "BUILTIN\\Windows Authorization Access Group"},
        {"S-1-5-32-561", "BUILTIN\\Terminal Server License Servers"},
        {"S-1-5-32-562", "BUILTIN\\Distributed COM Users"},
        {"S-1-5-32-569", "BUILTIN\\Cryptographic Operators"},
        {"S-1-5-32-573", "BUILTIN\\Event Log Readers"},
        {"S-1-5-32-574", "BUILTIN\\Certificate Service DCOM Access"},
};

static void test_wellknown_names(void **state)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mbx_sid sid;
		const char *got;

		assert_int_equal(mbx_sid_from_str(names[i].sid, &sid), 0);
		got = mbx_sid_wellknown_name(&sid);
		if (got == NULL || strcmp(got, names[i].name) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", names[i].sid,
			         got != NULL ? got : "(null)", names[i].name);
		assert_true(mbx_sid_is_wellknown(&sid));
		assert_int_equal(mbx_sid_is_builtin(&sid),
		                 strncmp(names[i].sid, "S-1-5-32-", 9) == 0);
	}
}

static void test_builtin_and_wellknown(void **state)
{
	static const struct {
		const char *sid;
		bool builtin, wellknown, named;
	} rows[] = {
	        {"S-1-5-32-544", true, true, true},
	        {"S-1-5-32-0", true, true, false},   /* any RID is an alias */
	        {"S-1-5-32-563", true, true, false}, /* not in the table but still BUILTIN */
	        {"S-1-5-32-4294967295", true, true, false},
	        {"S-1-5-32", false, true, true}, /* the domain, not an alias */
	        {"S-1-5-32-544-1", false, false, false},
	        {"S-1-5-33-544", false, false, false},
	        {"S-1-1-32-544", false, false, false},
	        {"S-1-0x000100000005-32-544", false, false, false},
	        {"S-1-5-21-1-2-3-544", false, false, false},
	        {"S-1-5-21-3623811015-3361044348-30300820-1013", false, false, false},
	        {"S-1-5-21-3623811015-3361044348-30300820-500", false, false, false},
	        {"S-1-5", false, false, false},
	        {"S-1-5-10-1", false, false, false},
	        {"S-1-5-1", false, false, false}, /* Dialup: not in our table */
	        {"S-1-5-12", false, false, false},
	        {"S-1-1-1", false, false, false},
	        {"S-1-6-10", false, false, false},
	        {"S-1-0", false, false, false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mbx_sid sid;

		assert_int_equal(mbx_sid_from_str(rows[i].sid, &sid), 0);
		if (mbx_sid_is_builtin(&sid) != rows[i].builtin ||
		    mbx_sid_is_wellknown(&sid) != rows[i].wellknown ||
		    (mbx_sid_wellknown_name(&sid) != NULL) != rows[i].named)
			fail_msg("%s: builtin %d wellknown %d name %s", rows[i].sid,
			         mbx_sid_is_builtin(&sid), mbx_sid_is_wellknown(&sid),
			         mbx_sid_wellknown_name(&sid) != NULL ? mbx_sid_wellknown_name(&sid)
			                                              : "(null)");
	}
	/* a revision other than 1 (only constructible by hand) is never well-known */
	{
		struct mbx_sid sid;

		assert_int_equal(mbx_sid_from_str("S-1-5-32-544", &sid), 0);
		sid.revision = 2;
		assert_false(mbx_sid_is_builtin(&sid));
		assert_false(mbx_sid_is_wellknown(&sid));
		assert_null(mbx_sid_wellknown_name(&sid));
		assert_int_equal(mbx_sid_from_str("S-1-5-10", &sid), 0);
		sid.revision = 0;
		assert_false(mbx_sid_is_wellknown(&sid));
	}
}

static void test_constants(void **state)
{
	struct mbx_sid sid;
	char s[MBX_SID_STRMAX];

	assert_string_equal(mbx_sid_to_str(&mbx_sid_self, s, sizeof(s)), "S-1-5-10");
	assert_string_equal(mbx_sid_to_str(&mbx_sid_everyone, s, sizeof(s)), "S-1-1-0");
	assert_int_equal(mbx_sid_from_str("S-1-5-10", &sid), 0);
	assert_true(mbx_sid_equal(&sid, &mbx_sid_self));
	assert_string_equal(mbx_sid_wellknown_name(&mbx_sid_self), "NT AUTHORITY\\SELF");
	assert_string_equal(mbx_sid_wellknown_name(&mbx_sid_everyone), "Everyone");
	assert_int_equal(MBX_SID_MAX_BYTES, 68);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_vectors),
	        cmocka_unit_test(test_fields),
	        cmocka_unit_test(test_invalid_vectors),
	        cmocka_unit_test(test_from_bytes_exact),
	        cmocka_unit_test(test_truncation_sweep),
	        cmocka_unit_test(test_in_sub_reader),
	        cmocka_unit_test(test_boundary_counts),
	        cmocka_unit_test(test_writer_overflow),
	        cmocka_unit_test(test_string_forms),
	        cmocka_unit_test(test_string_invalid),
	        cmocka_unit_test(test_to_str_buffer),
	        cmocka_unit_test(test_to_str_forms),
	        cmocka_unit_test(test_round_trip_random),
	        cmocka_unit_test(test_equal),
	        cmocka_unit_test(test_wellknown_names),
	        cmocka_unit_test(test_builtin_and_wellknown),
	        cmocka_unit_test(test_constants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
