/*
 * test-errbuf.c: unit tests of mbx_errbuf_set (include/mbx/errbuf.h, src/util/errbuf.c): the
 * message is written and NUL-terminated, cut at the buffer's size, and a NULL or empty buffer
 * is left alone.
 */
#include "mbx-test.h"
#include "mbx/errbuf.h"

static void test_errbuf_set(void **state)
{
	char err[32];

	(void)state;
	memset(err, 'x', sizeof(err));
	mbx_errbuf_set(err, sizeof(err), "control socket %s: %d", "/run/x", 5);
	assert_string_equal(err, "control socket /run/x: 5");
}

static void test_errbuf_cut(void **state)
{
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	mbx_errbuf_set(err, sizeof(err), "%s", "0123456789");
	assert_string_equal(err, "0123456");
	mbx_errbuf_set(err, 1, "%s", "abc");
	assert_string_equal(err, "");
}

static void test_errbuf_none(void **state)
{
	char err[4] = "abc";

	(void)state;
	mbx_errbuf_set(NULL, 16, "%s", "ignored");
	mbx_errbuf_set(err, 0, "%s", "ignored");
	assert_string_equal(err, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_errbuf_set),
	        cmocka_unit_test(test_errbuf_cut),
	        cmocka_unit_test(test_errbuf_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
