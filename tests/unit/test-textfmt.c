/*
 * test-textfmt.c: unit tests of the hand-written text forms (include/mbx/textfmt.h,
 * src/util/textfmt.c): decimal numbers from 0 to UINT64_MAX against snprintf, and the
 * IMF-fixdate of RFC 9110 5.6.7 (its own example, a leap year, the year bounds 0 and 9999,
 * dates with no such form refused with out untouched).
 */
#include "mbx-test.h"
#include "mbx/textfmt.h"

#include <stdio.h>

static void check_u64(uint64_t v)
{
	char got[MBX_FMT_U64_MAX + 1], want[32];
	char *end = mbx_fmt_u64(got, v);

	*end = '\0';
	snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
	assert_string_equal(got, want);
}

static void test_u64(void **state)
{
	(void)state;
	check_u64(0);
	check_u64(9);
	check_u64(10);
	check_u64(4294967295u);
	check_u64(4294967296u);
	check_u64(UINT64_MAX); /* 20 digits: the whole room */
	for (uint64_t v = 1; v < UINT64_MAX / 7; v = v * 7 + 3)
		check_u64(v);
}

static void check_date(time_t t, const char *want)
{
	char out[MBX_FMT_HTTP_DATE_LEN + 1];

	memset(out, 0, sizeof(out));
	assert_int_equal(mbx_fmt_http_date(t, out), 0);
	assert_string_equal(out, want);
}

static void test_http_date(void **state)
{
	char out[8];

	(void)state;
	check_date(784111777, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 9110 5.6.7's example */
	check_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
	check_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
	check_date(253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
	check_date(-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT");
	/* no IMF-fixdate past 9999 or before year 0: refused, out untouched */
	memset(out, 'x', sizeof(out));
	assert_int_equal(mbx_fmt_http_date(253402300800, out), -1);
	assert_int_equal(mbx_fmt_http_date(-62167219201, out), -1);
	assert_memory_equal(out, "xxxxxxxx", sizeof(out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_u64),
	        cmocka_unit_test(test_http_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
