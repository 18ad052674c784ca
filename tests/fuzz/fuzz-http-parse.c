/*
 * fuzz-http-parse.c: libFuzzer harness for the request syntax of mbxstore's HTTP/1.1 server
 * (src/mapihttp/http-parse.c; RFC 9112 2-3, 5-7): the same calls httpd.c makes, on any bytes.
 *
 * For each input:
 *   - mbx_http_head_end: at most the input, and the same answer on the head alone (nothing after
 *     it is looked at), 0 one byte earlier;
 *   - mbx_http_parse_head on an exact-size copy of the head (or of the whole input when there
 *     is no complete head): 0, or 400/417/431/501/505 with a reason; on 0 every string is
 *     inside the copy, NUL-terminated at its length, made of the bytes the syntax allows, and
 *     the derived flags agree with the fields (Content-Length and Transfer-Encoding never both);
 *   - mbx_http_head_field for every field name: the value of the first field of that name
 *     (ASCII case folded here on our own);
 *   - mbx_http_target_path on the target and on the input as a C string: the decoded length,
 *     no NUL inside, the same result into a buffer of exactly that size, -1 into one byte less;
 *   - the chunked decoder on the whole input and on the bytes after the head, one-shot and in
 *     pieces of 1..7 bytes: the same outcome, bytes used, data and total both ways.
 * A mismatch stops the run with __builtin_trap.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapihttp/http-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static bool is_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool same_name(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned x = (uint8_t)*a, y = (uint8_t)*b;

		if (x - 'A' < 26)
			x |= 0x20;
		if (y - 'A' < 26)
			y |= 0x20;
		if (x != y)
			return false;
		if (x == 0)
			return true;
	}
}

static bool inside(const char *s, const char *buf, size_t len)
{
	return s >= buf && s < buf + len;
}

/* target_path into a big buffer, then into exactly the size it needs and one byte less. */
static void check_path(const char *target)
{
	static char big[MBX_HTTP_TARGET_MAX + 2];
	size_t tlen = strlen(target);
	int n;
	char *exact;

	if (tlen > MBX_HTTP_TARGET_MAX)
		return;
	n = mbx_http_target_path(target, big, sizeof(big));
	if (n < 0) {
		CHECK(n == -1 && big[0] == '\0');
		return;
	}
	CHECK((size_t)n <= tlen && strlen(big) == (size_t)n && big[0] == '/');
	exact = malloc((size_t)n + 1);
	CHECK(exact != NULL);
	CHECK(mbx_http_target_path(target, exact, (size_t)n + 1) == n);
	CHECK(memcmp(exact, big, (size_t)n + 1) == 0);
	CHECK(mbx_http_target_path(target, exact, (size_t)n) == -1);
	CHECK(n == 0 || exact[0] == '\0');
	free(exact);
}

static void check_head(const char *buf, size_t len)
{
	struct mbx_http_head h;
	const char *why = "unset";
	char *copy = malloc(len > 0 ? len : 1);
	bool te = false, cl = false;
	int rc;

	CHECK(copy != NULL);
	if (len > 0)
		memcpy(copy, buf, len);
	rc = mbx_http_parse_head(copy, len, &h, &why);
	if (rc != 0) {
		CHECK(rc == 400 || rc == 417 || rc == 431 || rc == 501 || rc == 505);
		CHECK(why != NULL && why[0] != '\0');
		free(copy);
		return;
	}
	CHECK(why == NULL);
	CHECK(mbx_http_head_end(buf, len) == len);
	CHECK(inside(h.method_name, copy, len) && inside(h.target, copy, len));
	CHECK(strlen(h.method_name) >= 1 && strlen(h.method_name) <= MBX_HTTP_METHOD_MAX);
	for (const char *m = h.method_name; *m != '\0'; m++)
		CHECK(is_tchar((uint8_t)*m));
	CHECK(strlen(h.target) >= 1 && strlen(h.target) <= MBX_HTTP_TARGET_MAX);
	for (const char *t = h.target; *t != '\0'; t++)
		CHECK((uint8_t)*t > 0x20 && (uint8_t)*t != 0x7F);
	CHECK(h.minor <= 1 && h.nfields <= MBX_HTTP_MAX_HEADERS);
	CHECK(!h.keep_alive || h.minor == 1);
	CHECK(!h.expect_continue || h.minor == 1);
	CHECK(!(h.chunked && h.has_length));
	CHECK(h.has_length || h.content_length == 0);
	CHECK(h.content_length <= MBX_HTTP_LENGTH_MAX);
	for (size_t i = 0; i < h.nfields; i++) {
		const struct mbx_http_field *f = &h.fields[i];
		size_t j = 0;

		CHECK(inside(f->name, copy, len) && inside(f->value, copy, len));
		CHECK(f->name_len >= 1 && strlen(f->name) == f->name_len);
		CHECK(strlen(f->value) == f->value_len);
		for (size_t k = 0; k < f->name_len; k++)
			CHECK(is_tchar((uint8_t)f->name[k]));
		for (size_t k = 0; k < f->value_len; k++) {
			uint8_t c = (uint8_t)f->value[k];

			CHECK(c == '\t' || (c >= 0x20 && c != 0x7F));
		}
		CHECK(f->value_len == 0 ||
		      (f->value[0] != ' ' && f->value[0] != '\t' &&
		       f->value[f->value_len - 1] != ' ' && f->value[f->value_len - 1] != '\t'));
		while (!same_name(h.fields[j].name, f->name))
			j++;
		CHECK(mbx_http_head_field(&h, f->name) == h.fields[j].value);
		if (same_name(f->name, "transfer-encoding"))
			te = true;
		if (same_name(f->name, "content-length"))
			cl = true;
	}
	CHECK(te == h.chunked && cl == h.has_length);
	CHECK(mbx_http_head_field(&h, "X-Not-Sent-By-The-Fuzzer\x01") == NULL);
	check_path(h.target);
	free(copy);
}

struct chunk_out {
	int rc;
	size_t used, out_len;
	uint64_t total;
};

static void chunk_run(const uint8_t *in, size_t len, uint64_t limit, const uint8_t *steps,
                      size_t nsteps, uint8_t *out, struct chunk_out *r)
{
	struct mbx_http_chunked c;
	size_t off = 0, k = 0;

	mbx_http_chunked_init(&c, limit);
	r->out_len = 0;
	r->rc = MBX_HTTP_CHUNK_MORE;
	while (off < len) {
		size_t n = len - off, used = (size_t)-1, before = r->out_len;

		if (steps != NULL && n > 1u + steps[k % nsteps] % 7u)
			n = 1u + steps[k % nsteps] % 7u;
		k++;
		r->rc = mbx_http_chunked_feed(&c, in + off, n, out, &r->out_len, &used);
		CHECK(used <= n && r->out_len - before <= used);
		CHECK(r->rc >= MBX_HTTP_CHUNK_TOO_LARGE && r->rc <= MBX_HTTP_CHUNK_DONE);
		off += used;
		if (r->rc != MBX_HTTP_CHUNK_MORE)
			break;
		CHECK(used == n);
	}
	r->used = off;
	r->total = c.total;
	CHECK(c.total == r->out_len && c.total <= limit);
	if (r->rc != MBX_HTTP_CHUNK_MORE) { /* sticky */
		size_t used = 1, out_len = r->out_len;

		CHECK(mbx_http_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5, out, &out_len,
		                            &used) == r->rc);
		CHECK(used == 0 && out_len == r->out_len);
	}
}

static void check_chunked(const uint8_t *in, size_t len, uint64_t limit, const uint8_t *steps,
                          size_t nsteps)
{
	uint8_t *one = malloc(len > 0 ? len : 1), *pieces = malloc(len > 0 ? len : 1);
	struct chunk_out a, b;

	CHECK(one != NULL && pieces != NULL);
	chunk_run(in, len, limit, NULL, 1, one, &a);
	chunk_run(in, len, limit, steps, nsteps, pieces, &b);
	CHECK(a.rc == b.rc && a.used == b.used && a.out_len == b.out_len && a.total == b.total);
	CHECK(a.out_len == 0 || memcmp(one, pieces, a.out_len) == 0);
	CHECK(a.rc != MBX_HTTP_CHUNK_MORE || a.used == len);
	free(one);
	free(pieces);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t limits[] = {UINT64_MAX, 0, 7, 4096};
	const char *text = (const char *)data;
	size_t end = mbx_http_head_end(text, size);
	uint64_t limit = size > 0 ? limits[data[size - 1] & 3] : UINT64_MAX;
	static const uint8_t one_step = 0;
	char *cstr;

	/* the end of the head: within the input, found on the head alone, not one byte earlier */
	CHECK(end <= size);
	if (end > 0) {
		CHECK(end >= 2);
		CHECK(mbx_http_head_end(text, end) == end);
		CHECK(mbx_http_head_end(text, end - 1) == 0);
	}
	check_head(text, end > 0 ? end : size);

	/* the path of any string */
	cstr = malloc(size + 1);
	CHECK(cstr != NULL);
	if (size > 0)
		memcpy(cstr, data, size);
	cstr[size] = '\0';
	check_path(cstr);
	free(cstr);

	/* chunked: the whole input, and the body behind a head; pieces from the input's bytes */
	check_chunked(data, size, limit, size > 0 ? data : &one_step, size > 0 ? size : 1);
	if (end > 0 && end < size)
		check_chunked(data + end, size - end, limit, data, end);
	return 0;
}
