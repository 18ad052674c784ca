/*
 * test-types.c: GUID, FILETIME, LogonTime and FID (include/mbx/types.h; MS-DTYP 2.3.4.2,
 * MS-DTYP 2.3.3, MS-OXCROPS 2.2.3.1.2.1 / protocol.md 2.5, MS-OXCDATA 2.2.1.1 / protocol.md 2.1).
 */
#include "mbx-test.h"

#include "mbx/types.h"

static void expect_error(const struct rd *r, size_t off, const char *substr)
{
	assert_false(rd_ok(r));
	if (strstr(r->err_msg, substr) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", r->err_msg, substr);
	if (r->err_off != off)
		fail_msg("error \"%s\" at offset %zu, expected %zu", r->err_msg, r->err_off, off);
}

/* A small deterministic generator so that failures are reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* --- GUID ------------------------------------------------------------------------------ */

static const struct {
	const char *str;
	const char *wire;
} guid_rows[] = {
        {"00112233-4455-6677-8899-aabbccddeeff", "33 22 11 00 55 44 77 66 88 99 AA BB CC DD EE FF"},
        /* IID_IUnknown */
        {"00000000-0000-0000-c000-000000000046", "00 00 00 00 00 00 00 00 C0 00 00 00 00 00 00 46"},
        /* PS_MAPI (MS-OXPROPS) */
        {"00020328-0000-0000-c000-000000000046", "28 03 02 00 00 00 00 00 C0 00 00 00 00 00 00 46"},
        {"ffffffff-ffff-ffff-ffff-ffffffffffff", "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF"},
        {"00000000-0000-0000-0000-000000000000", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"},
        {"01020304-0506-0708-090a-0b0c0d0e0f10", "04 03 02 01 06 05 08 07 09 0A 0B 0C 0D 0E 0F 10"},
};

static void test_guid_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(guid_rows) / sizeof(guid_rows[0]); i++) {
		size_t n;
		uint8_t *wire = mbx_test_hex(guid_rows[i].wire, &n);
		struct mbx_guid g, g2;
		char s[MBX_GUID_STRLEN + 1];
		uint8_t out[16];
		struct rd r;
		struct wr w;

		assert_int_equal(n, 16);
		rd_init(&r, wire, n, 0);
		rd_guid(&r, &g, "MailboxGuid");
		assert_true(rd_ok(&r));
		assert_int_equal(rd_left(&r), 0);
		assert_string_equal(mbx_guid_to_str(&g, s), guid_rows[i].str);
		assert_int_equal(strlen(s), MBX_GUID_STRLEN);
		assert_int_equal(mbx_guid_from_str(guid_rows[i].str, &g2), 0);
		assert_true(mbx_guid_equal(&g, &g2));
		wr_init(&w, out, sizeof(out));
		wr_guid(&w, &g2);
		assert_true(wr_ok(&w));
		assert_int_equal(w.len, 16);
		assert_memory_equal(out, wire, 16);
		free(wire);
	}
}

static void test_guid_parse_forms(void **state)
{
	struct mbx_guid a, b;

	assert_int_equal(mbx_guid_from_str("00112233-4455-6677-8899-aabbccddeeff", &a), 0);
	assert_int_equal(mbx_guid_from_str("{00112233-4455-6677-8899-AABBCCDDEEFF}", &b), 0);
	assert_true(mbx_guid_equal(&a, &b));
	assert_int_equal(mbx_guid_from_str("00112233-4455-6677-8899-AaBbCcDdEeFf", &b), 0);
	assert_true(mbx_guid_equal(&a, &b));
	assert_int_equal(mbx_guid_from_str("{00112233-4455-6677-8899-aabbccddeeff}", &b), 0);
	assert_true(mbx_guid_equal(&a, &b));
}

static void test_guid_parse_invalid(void **state)
{
	static const char *const bad[] = {
	        "",
	        "{}",
	        "00112233-4455-6677-8899-aabbccddeef",    /* 35 */
	        "00112233-4455-6677-8899-aabbccddeeff0",  /* 37 */
	        "{00112233-4455-6677-8899-aabbccddeeff",  /* one brace */
	        "00112233-4455-6677-8899-aabbccddeeff}",  /* other brace */
	        "(00112233-4455-6677-8899-aabbccddeeff)", /* wrong brackets */
	        "{{00112233-4455-6677-8899-aabbccddeeff}}",
	        "0011223-34455-6677-8899-aabbccddeeff", /* misplaced dash */
	        "00112233-44556-677-8899-aabbccddeeff",
	        "00112233-4455-66778-899-aabbccddeeff",
	        "00112233-4455-6677-88999-abbccddeeff",
	        "00112233_4455-6677-8899-aabbccddeeff",
	        "001122334455667788990aabbccddeeff0000", /* no dashes, 36 long */
	        "0011223g-4455-6677-8899-aabbccddeeff",  /* not hex */
	        "00112233-4455-6677-8899-aabbccddeefg",
	        " 0112233-4455-6677-8899-aabbccddeeff",
	        "00112233-4455-6677-8899-aabbccddeef ",
	        " 00112233-4455-6677-8899-aabbccddeeff",
	        "00112233-4455-6677-8899-aabbccddeeff ",
	        "+0112233-4455-6677-8899-aabbccddeeff",
	        "0x112233-4455-6677-8899-aabbccddeeff",
	        ("00112233-4455-6677-8899-aabbccddee\xff"
	         "f"),
	        "{00112233-4455-6677-8899-aabbccddeeff}\n",
	};
	struct mbx_guid g;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&g, 0xA5, sizeof(g));
		if (mbx_guid_from_str(bad[i], &g) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		for (size_t k = 0; k < 16; k++)
			assert_int_equal(g.b[k], 0xA5); /* untouched */
	}
	assert_int_equal(mbx_guid_from_str(NULL, &g), -1);
	/* An embedded NUL ends the string early: too short. */
	assert_int_equal(mbx_guid_from_str("00112233-4455-6677\0-8899-aabbccddeeff", &g), -1);
}

static void test_guid_truncation(void **state)
{
	uint8_t buf[16];

	for (size_t i = 0; i < 16; i++)
		buf[i] = (uint8_t)(i + 1);
	for (size_t len = 0; len < 16; len++) {
		struct mbx_guid g;
		struct rd r;

		memset(&g, 0xA5, sizeof(g));
		rd_init(&r, buf, len, 40);
		rd_guid(&r, &g, "ReplGuid");
		expect_error(&r, 40, "ReplGuid: need 16 bytes");
		assert_true(mbx_guid_is_null(&g)); /* zero-filled on failure */
	}
	{
		struct mbx_guid g;
		struct rd r;

		rd_init(&r, buf, 3, 0);
		rd_guid(&r, &g, NULL);
		expect_error(&r, 0, "GUID: need 16 bytes, 3 left");
	}
}

static void test_guid_writer_overflow(void **state)
{
	uint8_t out[16];
	struct mbx_guid g;
	struct wr w;

	memset(g.b, 0x11, sizeof(g.b));
	wr_init(&w, out, 15);
	wr_guid(&w, &g);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
	wr_init(&w, out, 16);
	wr_guid(&w, &g);
	assert_true(wr_ok(&w));
	assert_int_equal(wr_room(&w), 0);
}

static void test_guid_equal_null(void **state)
{
	struct mbx_guid a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_true(mbx_guid_is_null(&a));
	assert_true(mbx_guid_equal(&a, &b));
	for (size_t i = 0; i < 16; i++) {
		b = a;
		b.b[i] = 1;
		assert_false(mbx_guid_is_null(&b));
		assert_false(mbx_guid_equal(&a, &b));
	}
}

static void test_guid_round_trip_random(void **state)
{
	for (int i = 0; i < 2000; i++) {
		struct mbx_guid g, g2, g3;
		char s[MBX_GUID_STRLEN + 1], braced[MBX_GUID_STRLEN + 3];

		for (int k = 0; k < 16; k++)
			g.b[k] = (uint8_t)rnd();
		mbx_guid_to_str(&g, s);
		assert_int_equal(strlen(s), MBX_GUID_STRLEN);
		for (int k = 0; k < MBX_GUID_STRLEN; k++) {
			if (k == 8 || k == 13 || k == 18 || k == 23)
				assert_int_equal(s[k], '-');
			else
				assert_non_null(strchr("0123456789abcdef", s[k]));
		}
		assert_int_equal(mbx_guid_from_str(s, &g2), 0);
		assert_true(mbx_guid_equal(&g, &g2));
		snprintf(braced, sizeof(braced), "{%s}", s);
		assert_int_equal(mbx_guid_from_str(braced, &g3), 0);
		assert_true(mbx_guid_equal(&g, &g3));
	}
}

/* --- FILETIME -------------------------------------------------------------------------- */

static void test_filetime_from_unix(void **state)
{
	const uint64_t E = MBX_FILETIME_UNIX_EPOCH;

	assert_int_equal(E, 116444736000000000ULL);
	assert_int_equal(mbx_filetime_from_unix(0, 0), E);
	assert_int_equal(mbx_filetime_from_unix(1, 0), E + 10000000);
	assert_int_equal(mbx_filetime_from_unix(0, 100), E + 1);
	assert_int_equal(mbx_filetime_from_unix(0, 99), E);
	assert_int_equal(mbx_filetime_from_unix(0, 999999999), E + 9999999);
	/* 2024-03-05 14:07:09 UTC */
	assert_int_equal(mbx_filetime_from_unix(1709647629, 0), 133541212290000000ULL);
	/* nsec outside 0..999999999 carries into the seconds */
	assert_int_equal(mbx_filetime_from_unix(0, 1500000000), E + 15000000);
	assert_int_equal(mbx_filetime_from_unix(1, -1), E + 9999999);
	assert_int_equal(mbx_filetime_from_unix(0, -1), E - 1);
	assert_int_equal(mbx_filetime_from_unix(2, -1500000000), E + 5000000);
	/* before 1970 */
	assert_int_equal(mbx_filetime_from_unix(-1, 0), E - 10000000);
	assert_int_equal(mbx_filetime_from_unix(-11644473600LL, 0), 0); /* 1601-01-01 */
	assert_int_equal(mbx_filetime_from_unix(-11644473600LL, 100), 1);
	assert_int_equal(mbx_filetime_from_unix(-11644473601LL, 0), 0);         /* clamped */
	assert_int_equal(mbx_filetime_from_unix(-11644473601LL, 999999999), 0); /* 1 ns early */
	/* the end of the FILETIME range: UINT64_MAX = 1844674407370 s + 955161500 ns after 1601 */
	assert_int_equal(mbx_filetime_from_unix(1833029933770LL, 955161500), UINT64_MAX);
	assert_int_equal(mbx_filetime_from_unix(1833029933770LL, 955161499), UINT64_MAX - 1);
	assert_int_equal(mbx_filetime_from_unix(1833029933770LL, 955161600), UINT64_MAX);
	assert_int_equal(mbx_filetime_from_unix(1833029933770LL, 0), 18446744073700000000ULL);
	assert_int_equal(mbx_filetime_from_unix(1833029933771LL, 0), UINT64_MAX);
	if (sizeof(time_t) == 8) {
		assert_int_equal(mbx_filetime_from_unix((time_t)INT64_MAX, 0), UINT64_MAX);
		assert_int_equal(mbx_filetime_from_unix((time_t)INT64_MAX, 999999999L * 3),
		                 UINT64_MAX);
		assert_int_equal(mbx_filetime_from_unix((time_t)INT64_MIN, 0), 0);
		assert_int_equal(mbx_filetime_from_unix((time_t)INT64_MIN, -1), 0);
		assert_int_equal(mbx_filetime_from_unix((time_t)INT64_MIN, -3000000000L), 0);
	}
}

static void test_filetime_to_unix(void **state)
{
	const uint64_t E = MBX_FILETIME_UNIX_EPOCH;
	time_t s = 123;
	long ns = 456;

	assert_int_equal(mbx_filetime_to_unix(E, &s, &ns), 0);
	assert_int_equal(s, 0);
	assert_int_equal(ns, 0);
	assert_int_equal(mbx_filetime_to_unix(E + 1, &s, &ns), 0);
	assert_int_equal(s, 0);
	assert_int_equal(ns, 100);
	assert_int_equal(mbx_filetime_to_unix(133541212290000000ULL, &s, &ns), 0);
	assert_int_equal(s, 1709647629);
	assert_int_equal(ns, 0);
	assert_int_equal(mbx_filetime_to_unix(UINT64_MAX, &s, &ns), 0);
	assert_int_equal(s, 1833029933770LL);
	assert_int_equal(ns, 955161500);
	s = 7;
	ns = 8;
	assert_int_equal(mbx_filetime_to_unix(E - 1, &s, &ns), -1);
	assert_int_equal(mbx_filetime_to_unix(0, &s, &ns), -1);
	assert_int_equal(s, 7); /* untouched on failure */
	assert_int_equal(ns, 8);
	assert_int_equal(mbx_filetime_to_unix(E + 10000001, NULL, NULL), 0);
	assert_int_equal(mbx_filetime_to_unix(E + 10000001, &s, NULL), 0);
	assert_int_equal(s, 1);
	assert_int_equal(mbx_filetime_to_unix(E + 10000001, NULL, &ns), 0);
	assert_int_equal(ns, 100);
}

static void test_filetime_round_trip(void **state)
{
	for (int i = 0; i < 5000; i++) {
		uint64_t ft =
		        MBX_FILETIME_UNIX_EPOCH + rnd() % (UINT64_MAX - MBX_FILETIME_UNIX_EPOCH);
		time_t s;
		long ns;

		assert_int_equal(mbx_filetime_to_unix(ft, &s, &ns), 0);
		assert_true(ns >= 0 && ns < 1000000000 && ns % 100 == 0);
		assert_int_equal(mbx_filetime_from_unix(s, ns), ft);
	}
}

/* --- LogonTime ------------------------------------------------------------------------- */

static void set_lt(struct mbx_logon_time *lt, unsigned y, unsigned mo, unsigned d, unsigned wd,
                   unsigned h, unsigned mi, unsigned s)
{
	lt->year = (uint16_t)y;
	lt->month = (uint8_t)mo;
	lt->mday = (uint8_t)d;
	lt->wday = (uint8_t)wd;
	lt->hour = (uint8_t)h;
	lt->min = (uint8_t)mi;
	lt->sec = (uint8_t)s;
}

static void test_logon_time_example(void **state)
{
	/* protocol.md 2.5: 2024-03-05 (Tuesday) 14:07:09 -> 09 07 0E 02 05 03 E8 07 */
	size_t n;
	uint8_t *want = mbx_test_hex("09 07 0E 02 05 03 E8 07", &n);
	struct mbx_logon_time lt, back;
	uint8_t out[8];
	struct wr w;
	struct rd r;
	const char *what = NULL;

	mbx_logon_time_from_unix(1709647629, &lt);
	assert_int_equal(lt.sec, 9);
	assert_int_equal(lt.min, 7);
	assert_int_equal(lt.hour, 14);
	assert_int_equal(lt.wday, 2);
	assert_int_equal(lt.mday, 5);
	assert_int_equal(lt.month, 3);
	assert_int_equal(lt.year, 2024);
	assert_true(mbx_logon_time_valid(&lt, &what));
	assert_null(what);
	wr_init(&w, out, sizeof(out));
	wr_logon_time(&w, &lt);
	assert_true(wr_ok(&w));
	assert_int_equal(w.len, 8);
	assert_memory_equal(out, want, 8);
	rd_init(&r, want, n, 146);
	rd_logon_time(&r, &back, NULL);
	assert_true(rd_ok(&r));
	assert_int_equal(rd_left(&r), 0);
	assert_memory_equal(&back, &lt, sizeof(lt));
	/* one byte short for the writer */
	wr_init(&w, out, 7);
	wr_logon_time(&w, &lt);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
	free(want);
}

static void test_logon_time_from_unix(void **state)
{
	struct mbx_logon_time lt, want;

	mbx_logon_time_from_unix(0, &lt); /* Thursday */
	set_lt(&want, 1970, 1, 1, 4, 0, 0, 0);
	assert_memory_equal(&lt, &want, sizeof(lt));
	mbx_logon_time_from_unix(951782400, &lt); /* 2000-02-29 Tuesday */
	set_lt(&want, 2000, 2, 29, 2, 0, 0, 0);
	assert_memory_equal(&lt, &want, sizeof(lt));
	assert_true(mbx_logon_time_valid(&lt, NULL));
	mbx_logon_time_from_unix(1709251199, &lt); /* 2024-02-29 23:59:59 Thursday */
	set_lt(&want, 2024, 2, 29, 4, 23, 59, 59);
	assert_memory_equal(&lt, &want, sizeof(lt));
	mbx_logon_time_from_unix(-1, &lt); /* 1969-12-31 23:59:59 Wednesday */
	set_lt(&want, 1969, 12, 31, 3, 23, 59, 59);
	assert_memory_equal(&lt, &want, sizeof(lt));
	if (sizeof(time_t) == 8) {
		mbx_logon_time_from_unix((time_t)-11644473600LL, &lt); /* 1601-01-01 Monday */
		set_lt(&want, 1601, 1, 1, 1, 0, 0, 0);
		assert_memory_equal(&lt, &want, sizeof(lt));
		mbx_logon_time_from_unix((time_t)-11644473601LL, &lt); /* 1600: out of range */
		memset(&want, 0, sizeof(want));
		assert_memory_equal(&lt, &want, sizeof(lt));
		assert_false(mbx_logon_time_valid(&lt, NULL));
		mbx_logon_time_from_unix((time_t)910670515199LL,
		                         &lt); /* 30827-12-31 23:59:59 Fri */
		set_lt(&want, 30827, 12, 31, 5, 23, 59, 59);
		assert_memory_equal(&lt, &want, sizeof(lt));
		assert_true(mbx_logon_time_valid(&lt, NULL));
		mbx_logon_time_from_unix((time_t)910670515200LL, &lt); /* 30828: out of range */
		memset(&want, 0, sizeof(want));
		assert_memory_equal(&lt, &want, sizeof(lt));
		mbx_logon_time_from_unix((time_t)INT64_MAX, &lt); /* gmtime_r fails */
		assert_memory_equal(&lt, &want, sizeof(lt));
		mbx_logon_time_from_unix((time_t)INT64_MIN, &lt);
		assert_memory_equal(&lt, &want, sizeof(lt));
	}
}

static void test_logon_time_from_unix_sweep(void **state)
{
	/* Every output of a real clock is valid and round-trips through the wire form. */
	for (int i = 0; i < 3000; i++) {
		time_t t = (time_t)(rnd() % 8000000000ULL) - (time_t)2000000000;
		struct mbx_logon_time lt, back;
		struct tm tm;
		uint8_t out[8];
		struct wr w;
		struct rd r;

		mbx_logon_time_from_unix(t, &lt);
		assert_true(mbx_logon_time_valid(&lt, NULL));
		assert_non_null(gmtime_r(&t, &tm));
		assert_int_equal(lt.year, tm.tm_year + 1900);
		assert_int_equal(lt.wday, tm.tm_wday);
		wr_init(&w, out, sizeof(out));
		wr_logon_time(&w, &lt);
		rd_init(&r, out, w.len, 0);
		rd_logon_time(&r, &back, NULL);
		assert_true(rd_ok(&r));
		assert_memory_equal(&back, &lt, sizeof(lt));
	}
}

static void test_logon_time_ranges(void **state)
{
	/* Each row changes one field of a valid date (2024-04-15 Monday 12:30:30). */
	static const struct {
		int field; /* wire offset */
		unsigned value;
		bool ok;
		const char *name;
	} rows[] = {
	        {0, 0, true, NULL},         {0, 59, true, NULL},
	        {0, 60, false, "Seconds"},  {0, 255, false, "Seconds"},
	        {1, 0, true, NULL},         {1, 59, true, NULL},
	        {1, 60, false, "Minutes"},  {1, 255, false, "Minutes"},
	        {2, 0, true, NULL},         {2, 23, true, NULL},
	        {2, 24, false, "Hour"},     {2, 255, false, "Hour"},
	        {3, 0, true, NULL},         {3, 6, true, NULL},
	        {3, 7, false, "DayOfWeek"}, {3, 255, false, "DayOfWeek"},
	        {4, 0, false, "Day"},       {4, 1, true, NULL},
	        {4, 30, true, NULL},        {4, 31, false, "Day"},
	        {4, 32, false, "Day"},      {4, 255, false, "Day"},
	        {5, 0, false, "Month"},     {5, 1, true, NULL},
	        {5, 12, true, NULL},        {5, 13, false, "Month"},
	        {5, 255, false, "Month"},   {6, 0, false, "Year"},
	        {6, 1600, false, "Year"},   {6, 1601, true, NULL},
	        {6, 30827, true, NULL},     {6, 30828, false, "Year"},
	        {6, 65535, false, "Year"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mbx_logon_time lt;
		const char *what = NULL;

		set_lt(&lt, 2024, 4, 15, 1, 12, 30, 30);
		switch (rows[i].field) {
		case 0:
			lt.sec = (uint8_t)rows[i].value;
			break;
		case 1:
			lt.min = (uint8_t)rows[i].value;
			break;
		case 2:
			lt.hour = (uint8_t)rows[i].value;
			break;
		case 3:
			lt.wday = (uint8_t)rows[i].value;
			break;
		case 4:
			lt.mday = (uint8_t)rows[i].value;
			break;
		case 5:
			lt.month = (uint8_t)rows[i].value;
			break;
		default:
			lt.year = (uint16_t)rows[i].value;
			break;
		}
		if (mbx_logon_time_valid(&lt, &what) != rows[i].ok)
			fail_msg("row %zu: field %d value %u", i, rows[i].field, rows[i].value);
		if (!rows[i].ok)
			assert_string_equal(what, rows[i].name);
	}
}

static void test_logon_time_month_lengths(void **state)
{
	static const unsigned len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const struct {
		unsigned year;
		bool leap;
	} years[] = {{2023, false}, {2024, true}, {1900, false},  {2000, true}, {2100, false},
	             {1601, false}, {1604, true}, {30827, false}, {30824, true}};

	for (size_t y = 0; y < sizeof(years) / sizeof(years[0]); y++) {
		for (unsigned m = 1; m <= 12; m++) {
			unsigned last = len[m - 1] + (m == 2 && years[y].leap ? 1 : 0);
			struct mbx_logon_time lt;
			const char *what = NULL;

			set_lt(&lt, years[y].year, m, last, 0, 0, 0, 0);
			assert_true(mbx_logon_time_valid(&lt, NULL));
			lt.mday = (uint8_t)(last + 1);
			assert_false(mbx_logon_time_valid(&lt, &what));
			assert_string_equal(what, "Day");
		}
	}
}

static void test_logon_time_invalid_vectors(void **state)
{
	static const struct {
		const char *hex;
		size_t off; /* relative to the start of the field */
		const char *msg;
	} rows[] = {
	        {"3C 07 0E 02 05 03 E8 07", 0, "LogonTime: Seconds 60 out of range 0..59"},
	        {"09 3C 0E 02 05 03 E8 07", 1, "LogonTime: Minutes 60 out of range 0..59"},
	        {"09 07 18 02 05 03 E8 07", 2, "LogonTime: Hour 24 out of range 0..23"},
	        {"09 07 0E 07 05 03 E8 07", 3, "LogonTime: DayOfWeek 7 out of range 0..6"},
	        {"09 07 0E 02 00 03 E8 07", 4, "LogonTime: Day 0 out of range 1..31"},
	        {"09 07 0E 02 20 03 E8 07", 4, "LogonTime: Day 32 out of range 1..31"},
	        {"09 07 0E 02 1E 02 E8 07", 4, "LogonTime: Day 30 out of range 1..29"},
	        {"09 07 0E 02 1D 02 E7 07", 4, "LogonTime: Day 29 out of range 1..28"},
	        {"09 07 0E 02 1F 04 E8 07", 4, "LogonTime: Day 31 out of range 1..30"},
	        {"09 07 0E 02 05 00 E8 07", 5, "LogonTime: Month 0 out of range 1..12"},
	        {"09 07 0E 02 05 0D E8 07", 5, "LogonTime: Month 13 out of range 1..12"},
	        {"09 07 0E 02 05 03 40 06", 6, "LogonTime: Year 1600 out of range 1601..30827"},
	        {"09 07 0E 02 05 03 6C 78", 6, "LogonTime: Year 30828 out of range 1601..30827"},
	        {"09 07 0E 02 05 03 00 00", 6, "LogonTime: Year 0 out of range"},
	        /* first bad field in wire order wins */
	        {"FF FF FF FF FF FF FF FF", 0, "Seconds 255"},
	        {"00 00 00 00 00 00 00 00", 4, "Day 0"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n;
		uint8_t *b = mbx_test_hex(rows[i].hex, &n);
		struct mbx_logon_time lt, zero;
		struct rd r;

		memset(&zero, 0, sizeof(zero));
		memset(&lt, 0xA5, sizeof(lt));
		rd_init(&r, b, n, 1000);
		rd_logon_time(&r, &lt, NULL);
		expect_error(&r, 1000 + rows[i].off, rows[i].msg);
		assert_memory_equal(&lt, &zero, sizeof(lt));
		free(b);
	}
}

static void test_logon_time_truncation(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex("09 07 0E 02 05 03 E8 07", &n);

	for (size_t len = 0; len < n; len++) {
		struct mbx_logon_time lt, zero;
		struct rd r;
		char msg[64];

		memset(&zero, 0, sizeof(zero));
		memset(&lt, 0xA5, sizeof(lt));
		rd_init(&r, b, len, 7);
		rd_logon_time(&r, &lt, "LogonTime");
		snprintf(msg, sizeof(msg), "LogonTime: need 8 bytes, %zu left", len);
		expect_error(&r, 7, msg);
		assert_memory_equal(&lt, &zero, sizeof(lt));
	}
	/* after a sticky error nothing is read */
	{
		struct mbx_logon_time lt;
		struct rd r;

		rd_init(&r, b, n, 0);
		rd_fail(&r, "earlier");
		rd_logon_time(&r, &lt, NULL);
		expect_error(&r, 0, "earlier");
		assert_int_equal(r.off, 0);
	}
	free(b);
}

/* --- FID ------------------------------------------------------------------------------- */

static void test_fid_vectors(void **state)
{
	static const struct {
		uint16_t replid;
		uint64_t globcnt;
		const char *wire;
		uint64_t u64;
	} rows[] = {
	        /* protocol.md 2.1: ReplId 1, counter 1 */
	        {1, 1, "01 00 00 00 00 00 00 01", 0x0100000000000001ULL},
	        {1, 0x0d, "01 00 00 00 00 00 00 0D", 0x0D00000000000001ULL}, /* gromox Inbox */
	        {0, 0, "00 00 00 00 00 00 00 00", 0},
	        {0x1234, 0xA1B2C3D4E5F6ULL, "34 12 A1 B2 C3 D4 E5 F6", 0xF6E5D4C3B2A11234ULL},
	        {0xFFFF, 0xFFFFFFFFFFFFULL, "FF FF FF FF FF FF FF FF", UINT64_MAX},
	        {5, 0x010000000000ULL, "05 00 01 00 00 00 00 00", 0x0000000000010005ULL},
	        {0x0100, 0x100, "00 01 00 00 00 00 01 00", 0x0001000000000100ULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n;
		uint8_t *want = mbx_test_hex(rows[i].wire, &n);
		struct mbx_fid f = mbx_fid_make(rows[i].replid, rows[i].globcnt), back;
		uint8_t out[8];
		struct wr w;
		struct rd r;

		wr_init(&w, out, sizeof(out));
		wr_fid(&w, f);
		assert_true(wr_ok(&w));
		assert_int_equal(w.len, 8);
		assert_memory_equal(out, want, 8);
		assert_int_equal(mbx_fid_to_u64(f), rows[i].u64);
		back = mbx_fid_from_u64(rows[i].u64);
		assert_int_equal(back.replid, rows[i].replid);
		assert_int_equal(back.globcnt, rows[i].globcnt);
		rd_init(&r, want, n, 0);
		rd_fid(&r, &back, "FolderIds[0]");
		assert_true(rd_ok(&r));
		assert_int_equal(back.replid, rows[i].replid);
		assert_int_equal(back.globcnt, rows[i].globcnt);
		/* the LE64 reading of the same 8 bytes is mbx_fid_to_u64 */
		rd_init(&r, want, n, 0);
		assert_int_equal(rd_u64le(&r, NULL), rows[i].u64);
		free(want);
	}
}

static void test_fid_make_masks(void **state)
{
	struct mbx_fid f = mbx_fid_make(7, 0xFFFF123456789ABCULL);
	uint8_t out[8];
	struct wr w;

	assert_int_equal(f.globcnt, 0x123456789ABCULL);
	/* wr_fid drops bits above 47 even if the struct was filled by hand */
	f.globcnt = 0xABCD000000000001ULL;
	wr_init(&w, out, sizeof(out));
	wr_fid(&w, f);
	assert_true(wr_ok(&w));
	assert_memory_equal(out, "\x07\x00\x00\x00\x00\x00\x00\x01", 8);
	wr_init(&w, out, 7);
	wr_fid(&w, f);
	assert_false(wr_ok(&w));
	assert_int_equal(w.len, 0);
}

static void test_fid_truncation(void **state)
{
	const uint8_t b[8] = {1, 0, 0, 0, 0, 0, 0, 1};

	for (size_t len = 0; len < 8; len++) {
		struct mbx_fid f = {0xAAAA, 0xBBBB};
		struct rd r;
		char msg[64];

		rd_init(&r, b, len, 7);
		rd_fid(&r, &f, NULL);
		snprintf(msg, sizeof(msg), "FID: need 8 bytes, %zu left", len);
		expect_error(&r, 7, msg);
		assert_int_equal(f.replid, 0);
		assert_int_equal(f.globcnt, 0);
	}
}

static void test_fid_round_trip_random(void **state)
{
	for (int i = 0; i < 5000; i++) {
		uint64_t v = rnd();
		struct mbx_fid f = mbx_fid_make((uint16_t)rnd(), rnd()), g;
		uint8_t out[8];
		struct wr w;
		struct rd r;

		assert_int_equal(mbx_fid_to_u64(mbx_fid_from_u64(v)), v);
		g = mbx_fid_from_u64(mbx_fid_to_u64(f));
		assert_int_equal(g.replid, f.replid);
		assert_int_equal(g.globcnt, f.globcnt);
		wr_init(&w, out, sizeof(out));
		wr_fid(&w, f);
		rd_init(&r, out, sizeof(out), 0);
		assert_int_equal(rd_u64le(&r, NULL), mbx_fid_to_u64(f));
		rd_init(&r, out, sizeof(out), 0);
		rd_fid(&r, &g, NULL);
		assert_int_equal(g.replid, f.replid);
		assert_int_equal(g.globcnt, f.globcnt);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_guid_vectors),
	        cmocka_unit_test(test_guid_parse_forms),
	        cmocka_unit_test(test_guid_parse_invalid),
	        cmocka_unit_test(test_guid_truncation),
	        cmocka_unit_test(test_guid_writer_overflow),
	        cmocka_unit_test(test_guid_equal_null),
	        cmocka_unit_test(test_guid_round_trip_random),
	        cmocka_unit_test(test_filetime_from_unix),
	        cmocka_unit_test(test_filetime_to_unix),
	        cmocka_unit_test(test_filetime_round_trip),
	        cmocka_unit_test(test_logon_time_example),
	        cmocka_unit_test(test_logon_time_from_unix),
	        cmocka_unit_test(test_logon_time_from_unix_sweep),
	        cmocka_unit_test(test_logon_time_ranges),
	        cmocka_unit_test(test_logon_time_month_lengths),
	        cmocka_unit_test(test_logon_time_invalid_vectors),
	        cmocka_unit_test(test_logon_time_truncation),
	        cmocka_unit_test(test_fid_vectors),
	        cmocka_unit_test(test_fid_make_masks),
	        cmocka_unit_test(test_fid_truncation),
	        cmocka_unit_test(test_fid_round_trip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
