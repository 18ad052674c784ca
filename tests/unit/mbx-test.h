/*
 * mbx-test.h: helpers shared by the cmocka unit tests (header-only, static functions).
 * Vectors live in $MBX_VECTORS (../shared/test-vectors), set by ctest.
 */
#ifndef MBX_TEST_H
#define MBX_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Parses hex text (whitespace ignored) into a malloc'ed buffer; *len_r gets its length. */
static inline uint8_t *mbx_test_hex(const char *hex, size_t *len_r)
{
	size_t n = strlen(hex), k = 0;
	uint8_t *out = malloc(n / 2 + 1);
	int hi = -1;

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];
		int v = 0;

		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			fail_msg("bad hex character '%c'", c);
		if (hi < 0) {
			hi = v;
		} else {
			out[k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	*len_r = k;
	return out;
}

/* Reads a whole file from the test-vector folder; fails the test if it is missing. */
static inline uint8_t *mbx_test_vector(const char *relpath, size_t *len_r)
{
	const char *dir = getenv("MBX_VECTORS");
	char path[4096];
	FILE *f;
	uint8_t *buf;
	long n;

	if (dir == NULL)
		dir = "../shared/test-vectors";
	snprintf(path, sizeof(path), "%s/%s", dir, relpath);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open test vector %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len_r = (size_t)n;
	return buf;
}

#endif
