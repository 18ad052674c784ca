/*
 * test-metrics.c: unit tests of src/util/metrics.c (include/mbx/metrics.h): the Prometheus text
 * exposition format 0.0.4 byte for byte (HELP/TYPE lines, counters, the latency histogram with
 * cumulative buckets, +Inf, _sum and _count), label escaping, the bounds on label values (type,
 * code, ec), the collector, and NULL safety.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mbx/metrics.h"
#include "mbx/rop-errors.h"

static char *render(struct mbx_metrics *m)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(mbx_metrics_render(m, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* Whether line (without its newline) is one whole line of text. */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define assert_line(text, line)                                                                \
	do {                                                                                   \
		if (!has_line(text, line))                                                     \
			fail_msg("line not found: %s\n--- text:\n%s", line, text);             \
	} while (0)
#define assert_no_line(text, line)                                                             \
	do {                                                                                   \
		if (has_line(text, line))                                                      \
			fail_msg("unexpected line: %s", line);                                 \
	} while (0)

/* Every line is a comment ("# HELP name text" / "# TYPE name type") or "series value". */
static void assert_well_formed(const char *text)
{
	const char *p = text;

	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t n;

		assert_non_null(e);
		n = (size_t)(e - p);
		assert_true(n > 0);
		if (p[0] == '#') {
			assert_true(strncmp(p, "# HELP mbx_", 11) == 0 ||
				    strncmp(p, "# TYPE mbx_", 11) == 0);
		} else {
			const char *sp = memchr(p, ' ', n);

			assert_true(strncmp(p, "mbx_", 4) == 0);
			assert_non_null(sp);
			/* the value: digits, maybe one '.' */
			for (const char *q = sp + 1; q < e; q++)
				assert_true((*q >= '0' && *q <= '9') || *q == '.');
		}
		p = e + 1;
	}
}

static void test_empty(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	char *t;

	(void)state;
	assert_non_null(m);
	t = render(m);
	assert_well_formed(t);
	assert_line(t, "# HELP mbx_requests_total MAPI/HTTP requests by X-RequestType and "
		       "X-ResponseCode.");
	assert_line(t, "# TYPE mbx_requests_total counter");
	assert_line(t, "# TYPE mbx_request_duration_seconds histogram");
	assert_line(t, "# TYPE mbx_logons_total counter");
	assert_line(t, "# TYPE mbx_sessions gauge");
	assert_line(t, "# TYPE mbx_connections gauge");
	assert_line(t, "# TYPE mbx_directory_lookups_total counter");
	assert_line(t, "# TYPE mbx_cache_stale_served_total counter");
	/* no collector: gauges are 0 */
	assert_line(t, "mbx_sessions 0");
	assert_line(t, "mbx_cache_hits_total 0");
	/* no observations: no series of the request families */
	assert_null(strstr(t, "mbx_requests_total{"));
	assert_null(strstr(t, "mbx_request_duration_seconds_bucket"));
	assert_null(strstr(t, "mbx_logons_total{"));
	free(t);
	mbx_metrics_free(&m);
	assert_null(m);
	mbx_metrics_free(&m); /* NULL-safe */
	mbx_metrics_free(NULL);
}

static void test_requests(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	char *t;

	(void)state;
	mbx_metrics_request(m, "Execute", 0, 1200);
	mbx_metrics_request(m, "Execute", 0, 300);
	mbx_metrics_request(m, "Execute", 10, 2000000);
	mbx_metrics_request(m, "PING", 0, 50);
	mbx_metrics_request(m, "Connect", 18, 500); /* exactly a bound: le is inclusive */
	t = render(m);
	assert_well_formed(t);
	assert_line(t, "mbx_requests_total{type=\"Execute\",code=\"0\"} 2");
	assert_line(t, "mbx_requests_total{type=\"Execute\",code=\"10\"} 1");
	assert_line(t, "mbx_requests_total{type=\"PING\",code=\"0\"} 1");
	assert_line(t, "mbx_requests_total{type=\"Connect\",code=\"18\"} 1");
	assert_null(strstr(t, "type=\"Disconnect\""));

	/* Execute: 300 us, 1200 us, 2 s: cumulative counts per bound */
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"0.0005\"} 1");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"0.001\"} 1");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"0.0025\"} 2");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"1\"} 2");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"2.5\"} 3");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"60\"} 3");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Execute\",le=\"+Inf\"} 3");
	assert_line(t, "mbx_request_duration_seconds_sum{type=\"Execute\"} 2.0015");
	assert_line(t, "mbx_request_duration_seconds_count{type=\"Execute\"} 3");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"Connect\",le=\"0.0005\"} 1");
	assert_line(t, "mbx_request_duration_seconds_sum{type=\"Connect\"} 0.0005");
	assert_line(t, "mbx_request_duration_seconds_sum{type=\"PING\"} 0.00005");
	/* the +Inf bucket always equals _count, and buckets come in bound order */
	{
		const char *a = strstr(t, "{type=\"Execute\",le=\"0.0005\"}");
		const char *b = strstr(t, "{type=\"Execute\",le=\"0.001\"}");
		const char *c = strstr(t, "{type=\"Execute\",le=\"+Inf\"}");
		const char *d = strstr(t, "mbx_request_duration_seconds_sum{type=\"Execute\"}");

		assert_true(a != NULL && b != NULL && c != NULL && d != NULL);
		assert_true(a < b && b < c && c < d);
	}
	free(t);
	mbx_metrics_free(&m);
}

static void test_slow_and_zero(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	char *t;

	(void)state;
	mbx_metrics_request(m, "NotificationWait", 0, 300000000); /* 300 s: past every bound */
	mbx_metrics_request(m, "NotificationWait", 0, 0);
	t = render(m);
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"NotificationWait\","
		       "le=\"0.0005\"} 1");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"NotificationWait\","
		       "le=\"60\"} 1");
	assert_line(t, "mbx_request_duration_seconds_bucket{type=\"NotificationWait\","
		       "le=\"+Inf\"} 2");
	assert_line(t, "mbx_request_duration_seconds_sum{type=\"NotificationWait\"} 300");
	free(t);
	mbx_metrics_free(&m);
}

static void test_bounded_labels(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	char *t;

	(void)state;
	/* request types outside the set, NULL included, are "other" */
	mbx_metrics_request(m, "Bind", 0, 1);
	mbx_metrics_request(m, "exec\"ute\n", 0, 1);
	mbx_metrics_request(m, NULL, 0, 1);
	mbx_metrics_request(m, "execute", 0, 1); /* names are case-sensitive */
	/* response codes: 31 is the last one kept, 32 and beyond are "other" */
	mbx_metrics_request(m, "PING", 31, 1);
	mbx_metrics_request(m, "PING", 32, 1);
	mbx_metrics_request(m, "PING", 0xffffffffu, 1);
	t = render(m);
	assert_well_formed(t);
	assert_line(t, "mbx_requests_total{type=\"other\",code=\"0\"} 4");
	assert_line(t, "mbx_requests_total{type=\"PING\",code=\"31\"} 1");
	assert_line(t, "mbx_requests_total{type=\"PING\",code=\"other\"} 2");
	assert_null(strstr(t, "Bind"));
	assert_null(strstr(t, "exec"));
	assert_null(strstr(t, "4294967295"));
	free(t);
	mbx_metrics_free(&m);
}

static void test_logons(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	char *t;

	(void)state;
	mbx_metrics_logon(m, 0);
	mbx_metrics_logon(m, 0x478);
	mbx_metrics_logon(m, 0x478);
	mbx_metrics_logon(m, 0x50C);
	mbx_metrics_logon(m, 0x80040115);
	mbx_metrics_logon(m, 0x12345678); /* no name: its hex */
	t = render(m);
	assert_well_formed(t);
	assert_line(t, "mbx_logons_total{ec=\"ecWrongServer\"} 2");
	assert_line(t, "mbx_logons_total{ec=\"ecMailboxInTransit\"} 1");
	assert_line(t, "mbx_logons_total{ec=\"ecNetworkError\"} 1");
	assert_line(t, "mbx_logons_total{ec=\"0x12345678\"} 1");
	{
		char want[128];

		snprintf(want, sizeof(want), "mbx_logons_total{ec=\"%s\"} 1", mbx_ec_name(0));
		assert_line(t, want);
	}
	free(t);
	mbx_metrics_free(&m);
}

static void test_logons_bound(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	char *t, line[128];

	(void)state;
	/* 64 distinct unnamed values are kept one by one; the 65th and later are "other" */
	for (uint32_t i = 0; i < 70; i++)
		mbx_metrics_logon(m, 0x7f000000u + i);
	mbx_metrics_logon(m, 0x7f000000u); /* an existing one still counts on its own */
	mbx_metrics_logon(m, 0x7f000045u); /* the 70th: other */
	t = render(m);
	assert_line(t, "mbx_logons_total{ec=\"0x7F000000\"} 2");
	assert_line(t, "mbx_logons_total{ec=\"0x7F00003F\"} 1");
	snprintf(line, sizeof(line), "mbx_logons_total{ec=\"0x7F000040\"} 1");
	assert_no_line(t, line);
	assert_line(t, "mbx_logons_total{ec=\"other\"} 7");
	free(t);
	mbx_metrics_free(&m);
}

static void collector(void *ctx, struct mbx_metrics_gauges *g)
{
	int *calls = ctx;

	(*calls)++;
	g->sessions = 3;
	g->connections = 7;
	g->directory_lookups = 1000;
	g->directory_tempfail = 2;
	g->cache_hits = 900;
	g->cache_misses = 100;
	g->cache_stale_served = 5;
}

static void test_collector(void **state)
{
	struct mbx_metrics *m = mbx_metrics_new();
	int calls = 0;
	char *t;

	(void)state;
	mbx_metrics_set_collector(m, collector, &calls);
	t = render(m);
	assert_int_equal(calls, 1);
	assert_well_formed(t);
	assert_line(t, "mbx_sessions 3");
	assert_line(t, "mbx_connections 7");
	assert_line(t, "mbx_directory_lookups_total 1000");
	assert_line(t, "mbx_directory_tempfail_total 2");
	assert_line(t, "mbx_cache_hits_total 900");
	assert_line(t, "mbx_cache_misses_total 100");
	assert_line(t, "mbx_cache_stale_served_total 5");
	assert_line(t, "# HELP mbx_sessions Session contexts (MapiContext cookies) alive now.");
	free(t);
	t = render(m);
	assert_int_equal(calls, 2); /* called at every render */
	free(t);
	mbx_metrics_set_collector(m, NULL, NULL);
	t = render(m);
	assert_line(t, "mbx_sessions 0");
	free(t);
	mbx_metrics_free(&m);
}

static void test_escape(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(mbx_metrics_escape_label("plain", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "plain");
	assert_int_equal(mbx_metrics_escape_label("a\"b\\c\nd", buf, sizeof(buf)), 11);
	assert_string_equal(buf, "a\\\"b\\\\c\\nd");
	assert_int_equal(mbx_metrics_escape_label("", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "");
	/* other bytes pass through (the format is UTF-8) */
	assert_int_equal(mbx_metrics_escape_label("\xc3\xa9\t", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "\xc3\xa9\t");
	/* exactly the size needed, and one byte short */
	assert_int_equal(mbx_metrics_escape_label("\"\"", buf, 5), 5);
	assert_string_equal(buf, "\\\"\\\"");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(mbx_metrics_escape_label("\"\"", buf, 4), 5);
	assert_string_equal(buf, "");
	assert_int_equal(buf[1], 'x');
	/* size 0 writes nothing */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(mbx_metrics_escape_label("ab", buf, 0), 3);
	assert_int_equal(buf[0], 'x');
}

static void test_null_safe(void **state)
{
	char *text = (char *)"untouched";
	size_t len = 99;

	(void)state;
	mbx_metrics_request(NULL, "PING", 0, 1);
	mbx_metrics_logon(NULL, 0);
	mbx_metrics_set_collector(NULL, NULL, NULL);
	assert_int_equal(mbx_metrics_render(NULL, &text, &len), -1);
	assert_null(text);
	assert_int_equal(len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),          cmocka_unit_test(test_requests),
		cmocka_unit_test(test_slow_and_zero),  cmocka_unit_test(test_bounded_labels),
		cmocka_unit_test(test_logons),         cmocka_unit_test(test_logons_bound),
		cmocka_unit_test(test_collector),      cmocka_unit_test(test_escape),
		cmocka_unit_test(test_null_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
