/*
 * test-json.c: the JSON writer of src/util/json.c (RFC 8259 sections 7 and 8.1): exact output
 * of every value kind, compact and pretty, every escape, the UTF-8 well-formedness boundaries,
 * the replacement of bad bytes, misuse errors, FILE output, and a round trip of random strings
 * through a small unescaper.
 */
#include "mbx-test.h"

#include <stdbool.h>

#include "mbx/json.h"

/* Writes one string value with flags and returns the document (without the final newline). */
static char *json_of_strn(const char *s, size_t n, unsigned flags)
{
	struct mbx_json j;
	const char *text;
	size_t len;
	char *out;

	mbx_json_init_buf(&j, flags);
	mbx_json_strn(&j, s, n);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	text = mbx_json_text(&j, &len);
	assert_non_null(text);
	assert_true(len >= 1);
	assert_int_equal(text[len - 1], '\n');
	out = strndup(text, len - 1);
	assert_non_null(out);
	mbx_json_deinit(&j);
	return out;
}

static void assert_json_str(const char *in, size_t n, unsigned flags, const char *want)
{
	char *got = json_of_strn(in, n, flags);

	assert_string_equal(got, want);
	free(got);
}

#define STR(lit, want) assert_json_str(lit, sizeof(lit) - 1, 0, want)
#define STR_ASCII(lit, want) assert_json_str(lit, sizeof(lit) - 1, MBX_JSON_ASCII, want)

static void test_compact_document(void **state)
{
	struct mbx_json j;
	const char *err = "untouched";
	size_t len;

	(void)state;
	mbx_json_init_buf(&j, 0);
	mbx_json_obj_begin(&j);
	mbx_json_kv_str(&j, "name", "RopLogon");
	mbx_json_kv_int(&j, "neg", -5);
	mbx_json_kv_uint(&j, "id", 254);
	mbx_json_kv_bool(&j, "t", true);
	mbx_json_kv_bool(&j, "f", false);
	mbx_json_key(&j, "nothing");
	mbx_json_null(&j);
	mbx_json_kv_str(&j, "null_str", NULL);
	mbx_json_kv_hex(&j, "raw", "\xfe\x00\x01", 3);
	mbx_json_kv_hexnum(&j, "handle", 0x45, 8);
	mbx_json_key(&j, "list");
	mbx_json_arr_begin(&j);
	mbx_json_uint(&j, 1);
	mbx_json_obj_begin(&j);
	mbx_json_obj_end(&j);
	mbx_json_arr_begin(&j);
	mbx_json_arr_end(&j);
	mbx_json_str(&j, "");
	mbx_json_arr_end(&j);
	mbx_json_obj_end(&j);
	assert_int_equal(mbx_json_finish(&j, &err), 0);
	assert_string_equal(err, "untouched");
	assert_string_equal(mbx_json_text(&j, &len),
	                    "{\"name\":\"RopLogon\",\"neg\":-5,\"id\":254,\"t\":true,\"f\":false,"
	                    "\"nothing\":null,\"null_str\":null,\"raw\":\"fe0001\","
	                    "\"handle\":\"0x00000045\",\"list\":[1,{},[],\"\"]}\n");
	assert_int_equal(len, strlen(mbx_json_text(&j, NULL)));
	mbx_json_deinit(&j);
	mbx_json_deinit(&j); /* twice is harmless */
	mbx_json_deinit(NULL);
}

static void test_pretty_document(void **state)
{
	struct mbx_json j;

	(void)state;
	mbx_json_init_buf(&j, MBX_JSON_PRETTY);
	mbx_json_obj_begin(&j);
	mbx_json_kv_uint(&j, "a", 1);
	mbx_json_key(&j, "b");
	mbx_json_arr_begin(&j);
	mbx_json_uint(&j, 2);
	mbx_json_obj_begin(&j);
	mbx_json_kv_str(&j, "c", "d");
	mbx_json_obj_end(&j);
	mbx_json_arr_end(&j);
	mbx_json_key(&j, "e");
	mbx_json_obj_begin(&j);
	mbx_json_obj_end(&j);
	mbx_json_key(&j, "f");
	mbx_json_arr_begin(&j);
	mbx_json_arr_end(&j);
	mbx_json_obj_end(&j);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	assert_string_equal(mbx_json_text(&j, NULL), "{\n"
	                                             "  \"a\": 1,\n"
	                                             "  \"b\": [\n"
	                                             "    2,\n"
	                                             "    {\n"
	                                             "      \"c\": \"d\"\n"
	                                             "    }\n"
	                                             "  ],\n"
	                                             "  \"e\": {},\n"
	                                             "  \"f\": []\n"
	                                             "}\n");
	mbx_json_deinit(&j);
}

static void test_scalar_top_level(void **state)
{
	struct mbx_json j;

	(void)state;
	mbx_json_init_buf(&j, 0);
	mbx_json_int(&j, INT64_MIN);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	assert_string_equal(mbx_json_text(&j, NULL), "-9223372036854775808\n");
	mbx_json_deinit(&j);

	mbx_json_init_buf(&j, 0);
	mbx_json_arr_begin(&j);
	mbx_json_int(&j, INT64_MAX);
	mbx_json_uint(&j, UINT64_MAX);
	mbx_json_uint(&j, 0);
	mbx_json_int(&j, 0);
	mbx_json_arr_end(&j);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	assert_string_equal(mbx_json_text(&j, NULL),
	                    "[9223372036854775807,18446744073709551615,0,0]\n");
	mbx_json_deinit(&j);
}

static void test_escapes(void **state)
{
	(void)state;
	STR("", "\"\"");
	STR("plain /slash/", "\"plain /slash/\"");
	STR("\"quoted\" back\\slash", "\"\\\"quoted\\\" back\\\\slash\"");
	STR("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	STR("a\x7f"
	    "b",
	    "\"a\\u007fb\"");
	STR("\x1b[31m", "\"\\u001b[31m\"");
	/* every control byte */
	for (unsigned c = 0; c < 0x20; c++) {
		char in[1] = {(char)c};
		char want[16];
		char *got = json_of_strn(in, 1, 0);

		switch (c) {
		case '\b':
			strcpy(want, "\"\\b\"");
			break;
		case '\f':
			strcpy(want, "\"\\f\"");
			break;
		case '\n':
			strcpy(want, "\"\\n\"");
			break;
		case '\r':
			strcpy(want, "\"\\r\"");
			break;
		case '\t':
			strcpy(want, "\"\\t\"");
			break;
		default:
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		}
		assert_string_equal(got, want);
		free(got);
	}
	/* printable ASCII passes unchanged except quote and backslash */
	for (unsigned c = 0x20; c < 0x7f; c++) {
		char in[1] = {(char)c};
		char *got = json_of_strn(in, 1, 0);

		if (c == '"')
			assert_string_equal(got, "\"\\\"\"");
		else if (c == '\\')
			assert_string_equal(got, "\"\\\\\"");
		else
			assert_true(strlen(got) == 3 && got[1] == (char)c);
		free(got);
	}
	/* embedded NUL through strn */
	STR("a\0b", "\"a\\u0000b\"");
}

static void test_utf8_valid_boundaries(void **state)
{
	(void)state;
	STR("\xc2\x80", "\"\xc2\x80\"");                 /* U+0080 */
	STR("\xdf\xbf", "\"\xdf\xbf\"");                 /* U+07FF */
	STR("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");         /* U+0800 */
	STR("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
	STR("\xee\x80\x80", "\"\xee\x80\x80\"");         /* U+E000 */
	STR("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
	STR("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\""); /* U+10000 */
	STR("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	STR("caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"");

	STR_ASCII("\xc2\x80", "\"\\u0080\"");
	STR_ASCII("\xdf\xbf", "\"\\u07ff\"");
	STR_ASCII("\xe0\xa0\x80", "\"\\u0800\"");
	STR_ASCII("\xef\xbf\xbf", "\"\\uffff\"");
	STR_ASCII("\xf0\x90\x80\x80", "\"\\ud800\\udc00\"");
	STR_ASCII("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");
	STR_ASCII("\xf4\x8f\xbf\xbf", "\"\\udbff\\udfff\"");
	STR_ASCII("caf\xc3\xa9\n", "\"caf\\u00e9\\n\"");
	STR_ASCII("\xff", "\"\\ufffd\"");
}

static void test_utf8_invalid_replaced(void **state)
{
	(void)state;
	STR("\x80", "\"\\ufffd\""); /* lone continuation */
	STR("\xbf", "\"\\ufffd\"");
	STR("\xc0\x80", "\"\\ufffd\\ufffd\"");                       /* overlong NUL */
	STR("\xc1\xbf", "\"\\ufffd\\ufffd\"");                       /* overlong */
	STR("\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\"");            /* overlong 3-byte */
	STR("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate U+D800 */
	STR("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate U+DFFF */
	STR("\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* overlong 4-byte */
	STR("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
	STR("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	STR("\xfe\xff", "\"\\ufffd\\ufffd\"");
	STR("a\xe2\x82", "\"a\\ufffd\\ufffd\""); /* truncated at the end */
	STR("\xe2\x82"
	    "b",
	    "\"\\ufffd\\ufffdb\""); /* truncated by ASCII */
	STR("\xc3"
	    "\xc3\xa9",
	    "\"\\ufffd\xc3\xa9\"");     /* bad byte, then a good one */
	STR("x\xa5y", "\"x\\ufffdy\""); /* a Latin-1 byte */
}

static void test_hex_values(void **state)
{
	struct mbx_json j;
	uint8_t big[200];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	mbx_json_init_buf(&j, 0);
	mbx_json_arr_begin(&j);
	mbx_json_hex(&j, NULL, 0);
	mbx_json_hex(&j, "\x00\xff\x10", 3);
	mbx_json_hexnum(&j, 0xFFFFFFFF, 8);
	mbx_json_hexnum(&j, 0x1234, 2); /* wider than asked */
	mbx_json_hexnum(&j, 0xA, 0);    /* clamped to 1 digit */
	mbx_json_hexnum(&j, 0x1, 40);   /* clamped to 16 digits */
	mbx_json_hexnum(&j, UINT64_MAX, 4);
	mbx_json_arr_end(&j);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	assert_string_equal(mbx_json_text(&j, NULL),
	                    "[\"\",\"00ff10\",\"0xFFFFFFFF\",\"0x1234\",\"0xA\","
	                    "\"0x0000000000000001\",\"0xFFFFFFFFFFFFFFFF\"]\n");
	mbx_json_deinit(&j);

	/* a hex string longer than the internal chunk */
	mbx_json_init_buf(&j, 0);
	mbx_json_hex(&j, big, sizeof(big));
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	{
		size_t len;
		const char *t = mbx_json_text(&j, &len);

		assert_int_equal(len, 2 + 2 * sizeof(big) + 1);
		assert_memory_equal(t, "\"0001020304", 11);
		assert_memory_equal(t + len - 6, "c6c7\"\n", 6);
	}
	mbx_json_deinit(&j);
}

static void test_strf(void **state)
{
	struct mbx_json j;
	char longfmt[1100];
	const char *err = NULL;

	(void)state;
	mbx_json_init_buf(&j, 0);
	mbx_json_strf(&j, "%s 0x%04X \"%d\"", "Size", 0x1c7, 7);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	assert_string_equal(mbx_json_text(&j, NULL), "\"Size 0x01C7 \\\"7\\\"\"\n");
	mbx_json_deinit(&j);

	/* exactly 1024 bytes is fine, 1025 is an error */
	memset(longfmt, 'x', sizeof(longfmt));
	longfmt[1024] = '\0';
	mbx_json_init_buf(&j, 0);
	mbx_json_strf(&j, "%s", longfmt);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	mbx_json_deinit(&j);
	longfmt[1024] = 'x';
	longfmt[1025] = '\0';
	mbx_json_init_buf(&j, 0);
	mbx_json_strf(&j, "%s", longfmt);
	assert_int_equal(mbx_json_finish(&j, &err), -1);
	assert_string_equal(err, "formatted string longer than 1024 bytes");
	mbx_json_deinit(&j);
}

/* Runs ops() on a fresh writer and expects finish to fail with want. */
static void expect_misuse(void (*ops)(struct mbx_json *), const char *want)
{
	struct mbx_json j;
	const char *err = NULL;

	mbx_json_init_buf(&j, 0);
	ops(&j);
	assert_false(mbx_json_ok(&j) && want[0] != 'i'); /* "incomplete" is found by finish */
	assert_int_equal(mbx_json_finish(&j, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, want);
	assert_null(mbx_json_text(&j, NULL));
	/* sticky: later writes change nothing */
	mbx_json_str(&j, "more");
	assert_int_equal(mbx_json_finish(&j, &err), -1);
	assert_string_equal(err, want);
	mbx_json_deinit(&j);
}

static void op_value_without_key(struct mbx_json *j)
{
	mbx_json_obj_begin(j);
	mbx_json_uint(j, 1);
}
static void op_key_in_array(struct mbx_json *j)
{
	mbx_json_arr_begin(j);
	mbx_json_key(j, "k");
}
static void op_key_top_level(struct mbx_json *j)
{
	mbx_json_key(j, "k");
}
static void op_key_after_key(struct mbx_json *j)
{
	mbx_json_obj_begin(j);
	mbx_json_key(j, "a");
	mbx_json_key(j, "b");
}
static void op_null_key(struct mbx_json *j)
{
	mbx_json_obj_begin(j);
	mbx_json_key(j, NULL);
}
static void op_end_wrong_kind(struct mbx_json *j)
{
	mbx_json_obj_begin(j);
	mbx_json_arr_end(j);
}
static void op_end_wrong_kind2(struct mbx_json *j)
{
	mbx_json_arr_begin(j);
	mbx_json_obj_end(j);
}
static void op_end_nothing_open(struct mbx_json *j)
{
	mbx_json_obj_end(j);
}
static void op_end_after_key(struct mbx_json *j)
{
	mbx_json_obj_begin(j);
	mbx_json_key(j, "a");
	mbx_json_obj_end(j);
}
static void op_two_top_values(struct mbx_json *j)
{
	mbx_json_uint(j, 1);
	mbx_json_uint(j, 2);
}
static void op_too_deep(struct mbx_json *j)
{
	for (int i = 0; i < MBX_JSON_MAXDEPTH + 1; i++)
		mbx_json_arr_begin(j);
}
static void op_incomplete(struct mbx_json *j)
{
	mbx_json_obj_begin(j);
	mbx_json_kv_uint(j, "a", 1);
}
static void op_nothing(struct mbx_json *j)
{
	(void)j;
}

static void test_misuse(void **state)
{
	(void)state;
	expect_misuse(op_value_without_key, "object member without a key");
	expect_misuse(op_key_in_array, "key outside an object");
	expect_misuse(op_key_top_level, "key outside an object");
	expect_misuse(op_key_after_key, "key after a key without a value");
	expect_misuse(op_null_key, "NULL key");
	expect_misuse(op_end_wrong_kind, "array end without an open array");
	expect_misuse(op_end_wrong_kind2, "object end without an open object");
	expect_misuse(op_end_nothing_open, "object end without an open object");
	expect_misuse(op_end_after_key, "object ends after a key without a value");
	expect_misuse(op_two_top_values, "more than one top-level value");
	expect_misuse(op_too_deep, "nesting deeper than 32");
	expect_misuse(op_incomplete, "incomplete document");
	expect_misuse(op_nothing, "incomplete document");
}

static void test_depth_max_ok(void **state)
{
	struct mbx_json j;
	size_t len;
	const char *t;

	(void)state;
	mbx_json_init_buf(&j, 0);
	for (int i = 0; i < MBX_JSON_MAXDEPTH; i++)
		mbx_json_arr_begin(&j);
	for (int i = 0; i < MBX_JSON_MAXDEPTH; i++)
		mbx_json_arr_end(&j);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	t = mbx_json_text(&j, &len);
	assert_int_equal(len, 2 * MBX_JSON_MAXDEPTH + 1);
	assert_int_equal(t[0], '[');
	assert_int_equal(t[MBX_JSON_MAXDEPTH], ']');
	mbx_json_deinit(&j);
}

static void test_file_output(void **state)
{
	struct mbx_json j;
	FILE *f = tmpfile();
	char got[256];
	size_t n;

	(void)state;
	assert_non_null(f);
	mbx_json_init_file(&j, f, 0);
	mbx_json_obj_begin(&j);
	mbx_json_kv_str(&j, "k", "v\n");
	mbx_json_obj_end(&j);
	assert_null(mbx_json_text(&j, NULL));
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	mbx_json_deinit(&j);
	rewind(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	assert_string_equal(got, "{\"k\":\"v\\n\"}\n");
	fclose(f);

	/* a NULL FILE is an error, not a crash */
	mbx_json_init_file(&j, NULL, 0);
	mbx_json_uint(&j, 1);
	assert_int_equal(mbx_json_finish(&j, NULL), -1);

	/* a write error is reported by finish */
	f = fopen("/dev/full", "w");
	if (f != NULL) {
		const char *err = NULL;

		setvbuf(f, NULL, _IONBF, 0);
		mbx_json_init_file(&j, f, 0);
		mbx_json_str(&j, "does not fit");
		assert_int_equal(mbx_json_finish(&j, &err), -1);
		assert_string_equal(err, "write error");
		fclose(f);
	}
}

static void test_large_buffer_growth(void **state)
{
	struct mbx_json j;
	size_t n = 300000, len;
	char *big = malloc(n);
	const char *t;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', n);
	big[n / 2] = '\n';
	mbx_json_init_buf(&j, 0);
	mbx_json_strn(&j, big, n);
	assert_int_equal(mbx_json_finish(&j, NULL), 0);
	t = mbx_json_text(&j, &len);
	assert_int_equal(len, n + 1 + 2 + 1); /* +1 for the \n escape, quotes, final newline */
	assert_int_equal(t[len], '\0');
	assert_memory_equal(t + 1 + n / 2, "\\n", 2);
	mbx_json_deinit(&j);
	free(big);
}

/* --- round trip through a minimal unescaper ------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t put_utf8(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes a JSON string literal (strict: only RFC 8259 escapes, no raw control bytes). */
static size_t unescape(const char *s, uint8_t *out)
{
	size_t k = 0, i = 1;

	assert_int_equal(s[0], '"');
	while (s[i] != '"') {
		uint8_t c = (uint8_t)s[i];

		assert_true(c >= 0x20 && c != 0x7f);
		if (c != '\\') {
			out[k++] = c;
			i++;
			continue;
		}
		i++;
		switch (s[i]) {
		case '"':
		case '\\':
		case '/':
			out[k++] = (uint8_t)s[i++];
			break;
		case 'b':
			out[k++] = '\b', i++;
			break;
		case 'f':
			out[k++] = '\f', i++;
			break;
		case 'n':
			out[k++] = '\n', i++;
			break;
		case 'r':
			out[k++] = '\r', i++;
			break;
		case 't':
			out[k++] = '\t', i++;
			break;
		case 'u': {
			uint32_t cp = 0;

			for (int d = 1; d <= 4; d++) {
				int v = hexval(s[i + d]);

				assert_true(v >= 0);
				cp = cp << 4 | (uint32_t)v;
			}
			i += 5;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				uint32_t lo = 0;

				assert_int_equal(s[i], '\\');
				assert_int_equal(s[i + 1], 'u');
				for (int d = 2; d <= 5; d++)
					lo = lo << 4 | (uint32_t)hexval(s[i + d]);
				assert_true(lo >= 0xDC00 && lo <= 0xDFFF);
				i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			k += put_utf8(cp, out + k);
			break;
		}
		default:
			fail_msg("bad escape \\%c", s[i]);
		}
	}
	assert_int_equal(s[i + 1], '\0');
	return k;
}

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* Random valid UTF-8 (including controls and every length class) survives both modes. */
static void test_round_trip_random(void **state)
{
	static const uint32_t ranges[][2] = {
	        {0x0, 0x7F}, {0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFF}, {0x10000, 0x10FFFF},
	};
	uint8_t in[256], out[512];

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = 0;

		while (n < sizeof(in) - 4 && rng() % 40 != 0) {
			const uint32_t *r = ranges[rng() % 5];
			uint32_t cp = r[0] + rng() % (r[1] - r[0] + 1);

			n += put_utf8(cp, in + n);
		}
		for (unsigned flags = 0; flags <= MBX_JSON_ASCII; flags += MBX_JSON_ASCII) {
			char *doc = json_of_strn((const char *)in, n, flags);
			size_t m = unescape(doc, out);

			assert_int_equal(m, n);
			assert_memory_equal(out, in, n);
			if (flags & MBX_JSON_ASCII)
				for (const char *p = doc; *p != '\0'; p++)
					assert_true((unsigned char)*p < 0x80);
			free(doc);
		}
	}
}

/* Random bytes: the output is always a well-formed JSON string whose decoding equals the
 * input with each bad byte replaced by U+FFFD. */
static void test_random_bytes_always_valid(void **state)
{
	uint8_t in[64], out[512];

	(void)state;
	for (int iter = 0; iter < 5000; iter++) {
		size_t n = rng() % sizeof(in);
		char *doc;
		size_t m;

		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rng();
		doc = json_of_strn((const char *)in, n, 0);
		m = unescape(doc, out);
		/* the decoded text is valid UTF-8: encoding it again loses nothing */
		{
			char *doc2 = json_of_strn((const char *)out, m, 0);
			uint8_t out2[512];

			assert_int_equal(unescape(doc2, out2), m);
			assert_memory_equal(out2, out, m);
			free(doc2);
		}
		/* every bad byte became three (EF BF BD), nothing was dropped */
		assert_true(m >= n);
		free(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_compact_document),
	        cmocka_unit_test(test_pretty_document),
	        cmocka_unit_test(test_scalar_top_level),
	        cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_utf8_valid_boundaries),
	        cmocka_unit_test(test_utf8_invalid_replaced),
	        cmocka_unit_test(test_hex_values),
	        cmocka_unit_test(test_strf),
	        cmocka_unit_test(test_misuse),
	        cmocka_unit_test(test_depth_max_ok),
	        cmocka_unit_test(test_file_output),
	        cmocka_unit_test(test_large_buffer_growth),
	        cmocka_unit_test(test_round_trip_random),
	        cmocka_unit_test(test_random_bytes_always_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
