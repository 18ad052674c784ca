/*
 * input.c: whole-file input and the hex text reader for mbxctl (mbxctl(8), decode --hex).
 */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int input_read(const char *path, size_t max, uint8_t **buf_r, size_t *len_r, char *err,
               size_t errlen)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	size_t cap = 4096, len = 0;
	uint8_t *buf;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *nb;

			if (cap > max) {
				snprintf(err, errlen, "%s is larger than %zu bytes",
				         is_stdin ? "standard input" : path, max);
				goto fail;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", is_stdin ? "standard input" : path,
		         strerror(errno));
		goto fail;
	}
	if (len > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes",
		         is_stdin ? "standard input" : path, max);
		goto fail;
	}
	if (!is_stdin)
		fclose(f);
	*buf_r = buf;
	*len_r = len;
	return 0;
fail:
	free(buf);
	if (!is_stdin)
		fclose(f);
	return -1;
}

static int input_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool input_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Line and column (both from 1) of text offset off. */
static void input_line_col(const struct rd *r, size_t off, size_t *line_r, size_t *col_r)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < off && i < r->len; i++) {
		if (r->buf[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*line_r = line;
	*col_r = col;
}

int input_hex_decode(struct rd *r, uint8_t *out, size_t *out_len_r)
{
	size_t k = 0, line, col;

	while (rd_left(r) > 0) {
		size_t start, digits = 0;
		int hi = -1;

		if (input_is_space(r->buf[r->off])) {
			r->off++;
			continue;
		}
		/* a token: optional 0x, then hex digits up to the next space */
		start = r->off;
		if (rd_left(r) >= 2 && r->buf[r->off] == '0' &&
		    (r->buf[r->off + 1] == 'x' || r->buf[r->off + 1] == 'X'))
			r->off += 2;
		while (rd_left(r) > 0 && !input_is_space(r->buf[r->off])) {
			uint8_t c = r->buf[r->off];
			int v = input_hexval(c);

			if (v < 0) {
				input_line_col(r, r->off, &line, &col);
				if (c >= 0x21 && c < 0x7F)
					rd_fail(r,
					        "hex input: bad character '%c' (line %zu, column "
					        "%zu)",
					        c, line, col);
				else
					rd_fail(r,
					        "hex input: bad byte 0x%02X (line %zu, column %zu)",
					        c, line, col);
				return -1;
			}
			if (hi < 0) {
				hi = v;
			} else {
				out[k++] = (uint8_t)(hi << 4 | v);
				hi = -1;
			}
			digits++;
			r->off++;
		}
		if (hi >= 0 || digits == 0) {
			input_line_col(r, start, &line, &col);
			if (digits == 0)
				rd_fail_at(r, r->base + start,
				           "hex input: 0x without digits (line %zu, column %zu)",
				           line, col);
			else
				rd_fail_at(r, r->base + start,
				           "hex input: odd number of digits (%zu) in the token at "
				           "line %zu, column %zu",
				           digits, line, col);
			return -1;
		}
	}
	*out_len_r = k;
	return 0;
}
