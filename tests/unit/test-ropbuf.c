/*
 * test-ropbuf.c: the ROP buffer (src/rop/ropbuf.c; MS-OXCROPS 2.2.1, 2.2.15.1, 3.1.5.1.2,
 * 3.2.5.2; protocol.md 4.2, 4.3, 4.6): decoding RopSize / RopsList / handle table, and the
 * executor with fake handlers: responses, RopRelease, unknown ROPs, handle table updates,
 * RopBufferTooSmall at every room boundary (exact bytes), whole-call failures with rollback.
 */
#include "mbx-test.h"

#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/ropbuf.h"

#define FID "01 00 00 00 00 00 00 09 "
#define LTID "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00 00 00 00 00 01 00 00 "

/* --- decoding ------------------------------------------------------------------------------- */

static int decode_hex(const char *hex, struct mbx_ropbuf *rb, struct rd *r, uint8_t **buf_r)
{
	size_t len;

	*buf_r = mbx_test_hex(hex, &len);
	rd_init(r, len > 0 ? *buf_r : NULL, len, 1000);
	return mbx_ropbuf_decode(r, rb);
}

static void expect_decode_fail(const char *hex, size_t err_off, const char *msg)
{
	struct mbx_ropbuf rb;
	struct rd r;
	uint8_t *b;

	assert_int_equal(decode_hex(hex, &rb, &r, &b), -1);
	assert_int_equal(r.err_off, err_off);
	if (strstr(r.err_msg, msg) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", msg, r.err_msg);
	free(b);
}

static void test_decode_valid(void **state)
{
	struct mbx_ropbuf rb;
	struct rd r;
	uint8_t *b;

	(void)state;
	/* RopSize 2: no ROPs (MS-OXCROPS 4.1 empty buffer), no handles */
	assert_int_equal(decode_hex("02 00", &rb, &r, &b), 0);
	assert_int_equal(rb.rops_len, 0);
	assert_int_equal(rb.rops_off, 1002);
	assert_int_equal(rb.nhandles, 0);
	assert_null(rb.public_logons);
	free(b);
	/* RopSize 2 and one handle */
	assert_int_equal(decode_hex("02 00 ff ff ff ff", &rb, &r, &b), 0);
	assert_int_equal(rb.nhandles, 1);
	assert_int_equal(rb.handles[0], MBX_HANDLE_NONE);
	free(b);
	/* RopSize equal to the payload: no handle table */
	assert_int_equal(decode_hex("05 00 01 00 05", &rb, &r, &b), 0);
	assert_int_equal(rb.rops_len, 3);
	assert_ptr_equal(rb.rops, b + 2);
	assert_int_equal(rb.nhandles, 0);
	free(b);
	/* two handles, little-endian */
	assert_int_equal(decode_hex("05 00 01 00 05 78 56 34 12 01 00 00 00", &rb, &r, &b), 0);
	assert_int_equal(rb.nhandles, 2);
	assert_int_equal(rb.handles[0], 0x12345678);
	assert_int_equal(rb.handles[1], 1);
	free(b);
}

static void test_decode_invalid(void **state)
{
	(void)state;
	expect_decode_fail("", 1000, "RopSize: need 2 bytes, 0 left");
	expect_decode_fail("02", 1000, "RopSize: need 2 bytes, 1 left");
	expect_decode_fail("00 00", 1000, "RopSize 0 is less than 2");
	expect_decode_fail("01 00 ff ff ff ff", 1000, "RopSize 1 is less than 2");
	expect_decode_fail("06 00 01 00 05", 1000, "RopSize 6 exceeds the 5-byte payload");
	expect_decode_fail("ff ff", 1000, "RopSize 65535 exceeds the 2-byte payload");
	expect_decode_fail("02 00 ff", 1002, "handle table of 1 bytes is not a multiple of 4");
	expect_decode_fail("02 00 ff ff", 1002, "handle table of 2 bytes is not a multiple of 4");
	expect_decode_fail("02 00 ff ff ff", 1002, "handle table of 3 bytes");
	expect_decode_fail("03 00 01 ff ff ff ff ff", 1003, "handle table of 5 bytes");
}

static void test_decode_handle_count(void **state)
{
	for (unsigned n = 254; n <= 256; n++) {
		size_t len = 2 + 4 * (size_t)n;
		uint8_t *b = malloc(len);
		struct mbx_ropbuf rb;
		struct rd r;

		(void)state;
		b[0] = 2;
		b[1] = 0;
		for (unsigned i = 0; i < n; i++)
			mbx_put_le32(b + 2 + 4 * i, i);
		rd_init(&r, b, len, 0);
		if (n <= 255) {
			assert_int_equal(mbx_ropbuf_decode(&r, &rb), 0);
			assert_int_equal(rb.nhandles, n);
			assert_int_equal(rb.handles[n - 1], n - 1);
		} else {
			assert_int_equal(mbx_ropbuf_decode(&r, &rb), -1);
			assert_int_equal(r.err_off, 2);
			assert_non_null(
			        strstr(r.err_msg, "handle table of 256 entries exceeds 255"));
		}
		free(b);
	}
}

/* Every prefix of vector 001's payload: RopSize 0x1C7 needs 455 bytes; a prefix of exactly
 * 455 bytes is a valid payload without handles; 456..458 leave a partial handle. */
static void test_decode_truncation(void **state)
{
	size_t len;
	uint8_t *b = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_decompressed.bin",
	        &len);

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		struct mbx_ropbuf rb;
		struct rd r;
		int rc;

		rd_init(&r, n > 0 ? b : NULL, n, 0);
		rc = mbx_ropbuf_decode(&r, &rb);
		if (n == 455 || n == 459) {
			assert_int_equal(rc, 0);
			assert_int_equal(rb.nhandles, n == 459 ? 1 : 0);
		} else {
			assert_int_equal(rc, -1);
			assert_true(r.err_off <= n);
		}
	}
	free(b);
}

/* --- executing ------------------------------------------------------------------------------ */

struct fake {
	struct mbx_rop_handler h[256];
	bool has[256];
	size_t write_len[256]; /* bytes the handler writes: RopId, index, 0, then filler */
	unsigned calls[256];
	int fail_rop;     /* this ROP's handler returns -1... */
	uint32_t fail_ec; /* ...after mbx_rop_exec_fail with this (0: without) */
};

static int fake_fn(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req, struct wr *w)
{
	struct fake *f = ctx;
	uint8_t id = req->rop_id;

	f->calls[id]++;
	if (id == f->fail_rop)
		return f->fail_ec != 0 ? mbx_rop_exec_fail(ex, f->fail_ec) : -1;
	if (id == MBX_ROP_Release) {
		ex->handles[req->in_idx] = MBX_HANDLE_NONE;
		return 0;
	}
	wr_u8(w, id);
	wr_u8(w, (uint8_t)req->resp_idx);
	wr_u32le(w, 0);
	for (size_t i = 6; i < f->write_len[id]; i++)
		wr_u8(w, (uint8_t)(0xA0 + i));
	if (req->out_idx >= 0)
		ex->handles[req->out_idx] = 0x1000u + id;
	return 0;
}

static int fake_silent(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                       struct wr *w)
{
	(void)ctx;
	(void)ex;
	(void)req;
	(void)w;
	return 0;
}

static const struct mbx_rop_handler *fake_lookup(void *ctx, uint8_t id)
{
	struct fake *f = ctx;

	return f->has[id] ? &f->h[id] : NULL;
}

static void fake_add(struct fake *f, uint8_t id, size_t resp_max, size_t write_len)
{
	f->has[id] = true;
	f->h[id].fn = fake_fn;
	f->h[id].resp_max = resp_max;
	f->write_len[id] = write_len;
}

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->fail_rop = -1;
}

/* A request list (hex) and its handle table, as a decoded buffer. */
struct list {
	uint8_t *rops;
	struct mbx_ropbuf rb;
};

static void list_init(struct list *l, const char *rops_hex, unsigned nh, const uint32_t *h)
{
	size_t len;

	l->rops = mbx_test_hex(rops_hex, &len);
	memset(&l->rb, 0, sizeof(l->rb));
	l->rb.rops = l->rops;
	l->rb.rops_len = len;
	l->rb.rops_off = 2;
	l->rb.nhandles = nh;
	memcpy(l->rb.handles, h, nh * sizeof(*h));
}

/* Runs the executor into a buffer holding a 5-byte prefix and cap payload bytes after it. */
static int run(const struct list *l, struct fake *f, size_t cap, uint8_t *out, size_t *len_r,
               struct mbx_rop_exec *ex)
{
	struct wr w;
	int rc;

	memset(out, 0xCC, 5 + cap);
	wr_init(&w, out, 5 + cap);
	wr_bytes(&w, "PFX!!", 5);
	rc = mbx_ropbuf_execute(&l->rb, &w, f != NULL ? fake_lookup : NULL, f, ex);
	assert_memory_equal(out, "PFX!!", 5);
	assert_true(wr_ok(&w));
	*len_r = w.len - 5;
	if (rc != 0)
		assert_int_equal(w.len, 5); /* rolled back */
	return rc;
}

static void expect_out(const uint8_t *out, size_t len, const char *hex)
{
	size_t n;
	uint8_t *want = mbx_test_hex(hex, &n);

	assert_int_equal(len, n);
	assert_memory_equal(out + 5, want, n);
	free(want);
}

static void test_exec_basic(void **state)
{
	static const uint32_t h[] = {0x11, 0x22, MBX_HANDLE_NONE};
	struct fake f;
	struct list l;
	struct mbx_rop_exec ex;
	uint8_t out[600];
	size_t len;

	(void)state;
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10); /* RopGetStoreState */
	fake_add(&f, 0x02, 20, 8);  /* RopOpenFolder: writes less than its bound */
	fake_add(&f, 0x01, 0, 0);   /* RopRelease */
	list_init(&l, "7b 00 00  01 00 01  02 00 00 02 " FID "00  68 00 00", 3, h);
	assert_int_equal(run(&l, &f, 500, out, &len, &ex), 0);
	expect_out(out, len,
	           "1a 00"
	           "7b 00 00 00 00 00 a6 a7 a8 a9" /* GetStoreState */
	           "02 02 00 00 00 00 a6 a7"       /* OpenFolder, OutputHandleIndex 2 */
	           "68 00 02 01 04 80"             /* no handler: ecNotSupported */
	           "11 00 00 00 ff ff ff ff 02 10 00 00");
	assert_int_equal(ex.ec, 0);
	assert_int_equal(ex.nrops, 4);
	assert_false(ex.too_small);
	assert_false(ex.stopped_unknown);
	assert_false(ex.stopped_malformed);
	assert_int_equal(ex.nhandles, 3);
	assert_int_equal(ex.handles[1], MBX_HANDLE_NONE);
	assert_int_equal(ex.handles[2], 0x1002);
	assert_int_equal(f.calls[0x01], 1);
	free(l.rops);
}

static void test_exec_release_and_unknown(void **state)
{
	static const uint32_t h[] = {0x11, 0x22};
	struct mbx_rop_exec ex;
	struct list l;
	uint8_t out[300];
	size_t len;

	(void)state;
	/* no handlers at all: RopRelease gives no response, the others ecNotSupported */
	list_init(&l, "01 00 01  05 00 00 01 00  01 00 00", 2, h);
	assert_int_equal(run(&l, NULL, 200, out, &len, &ex), 0);
	expect_out(out, len, "08 00 05 01 02 01 04 80 11 00 00 00 22 00 00 00");
	assert_int_equal(ex.nrops, 3);
	free(l.rops);
	/* an empty list */
	list_init(&l, "", 2, h);
	assert_int_equal(run(&l, NULL, 10, out, &len, &ex), 0);
	expect_out(out, len, "02 00 11 00 00 00 22 00 00 00");
	assert_int_equal(ex.nrops, 0);
	assert_int_equal(run(&l, NULL, 9, out, &len, &ex), -1);
	assert_int_equal(ex.ec, ecBufferTooSmall);
	free(l.rops);
}

/*
 * Room boundaries. A = RopGetStoreState (3-byte request, writes 10), B = RopOpenFolder (13
 * bytes, writes its whole bound of 20 and sets handle 1), C = RopGetStoreState on handle 1;
 * 2 handles (8 bytes). Payload = RopSize 2 + responses + handle table 8.
 *   A runs if room >= 10 + RopBufferTooSmall(3 + 16) + 8  -> cap >= 39
 *   B runs if room left >= 20 + 3 + 3 + 8                  -> cap >= 46
 *   C runs if room left >= 10 + 8                          -> cap >= 50
 *   the RopBufferTooSmall of the whole list needs 2 + 3 + 19 + 8 = 32.
 * SizeNeeded = 8 + 2 + resp_max + (3 + requests after it, if any) + 8: A 47, B 44, C 28.
 */
static void test_exec_boundaries(void **state)
{
	static const uint32_t h[] = {0x11111111, MBX_HANDLE_NONE};
	static const char list_hex[] = "7b 00 00  02 00 00 01 " FID "00  7b 00 01";
	uint8_t out[200];

	(void)state;
	for (size_t cap = 0; cap <= 60; cap++) {
		struct fake f;
		struct list l;
		struct mbx_rop_exec ex;
		size_t len;
		int rc;

		fake_init(&f);
		fake_add(&f, 0x7B, 10, 10);
		fake_add(&f, 0x02, 20, 20);
		list_init(&l, list_hex, 2, h);
		rc = run(&l, &f, cap, out, &len, &ex);
		if (cap < 32) {
			assert_int_equal(rc, -1);
			assert_int_equal(ex.ec, ecBufferTooSmall);
			assert_int_equal(f.calls[0x7B] + f.calls[0x02], 0);
		} else if (cap < 39) {
			assert_int_equal(rc, 0);
			expect_out(out, len,
			           "18 00 ff 2f 00 7b 00 00 02 00 00 01 " FID "00 7b 00 01"
			           "11 11 11 11 ff ff ff ff");
			assert_true(ex.too_small);
			assert_int_equal(ex.size_needed, 47);
			assert_int_equal(ex.nrops, 0);
			assert_int_equal(f.calls[0x7B], 0);
		} else if (cap < 46) {
			assert_int_equal(rc, 0);
			expect_out(out, len,
			           "1f 00 7b 00 00 00 00 00 a6 a7 a8 a9"
			           "ff 2c 00 02 00 00 01 " FID "00 7b 00 01"
			           "11 11 11 11 ff ff ff ff");
			assert_int_equal(ex.size_needed, 44);
			assert_int_equal(ex.nrops, 1);
			assert_int_equal(f.calls[0x02], 0);
		} else if (cap < 50) {
			assert_int_equal(rc, 0);
			expect_out(out, len,
			           "26 00 7b 00 00 00 00 00 a6 a7 a8 a9"
			           "02 01 00 00 00 00 a6 a7 a8 a9 aa ab ac ad ae af b0 b1 b2 b3"
			           "ff 1c 00 7b 00 01"
			           "11 11 11 11 02 10 00 00");
			assert_int_equal(ex.size_needed, 28);
			assert_int_equal(ex.nrops, 2);
			assert_int_equal(f.calls[0x7B], 1);
		} else {
			assert_int_equal(rc, 0);
			expect_out(out, len,
			           "2a 00 7b 00 00 00 00 00 a6 a7 a8 a9"
			           "02 01 00 00 00 00 a6 a7 a8 a9 aa ab ac ad ae af b0 b1 b2 b3"
			           "7b 01 00 00 00 00 a6 a7 a8 a9"
			           "11 11 11 11 02 10 00 00");
			assert_false(ex.too_small);
			assert_int_equal(ex.nrops, 3);
		}
		free(l.rops);
	}
}

/* A client that re-sends RequestBuffers with MaxRopOut = SizeNeeded gets at least one ROP
 * further (so it cannot loop), whatever the sizes. */
static void test_exec_size_needed_progress(void **state)
{
	static const uint32_t h[] = {1, 2, 3};
	static const char list_hex[] = "7b 00 00  02 00 00 01 " FID "00  7b 00 01  2d 00 00 03 00 "
	                               "61 62 63  02 00 01 02 " FID "00";
	uint8_t out[400];
	unsigned checked = 0;

	(void)state;
	for (size_t r1 = 6; r1 <= 40; r1 += 17) {
		for (size_t cap = 0; cap < 150; cap++) {
			struct fake f;
			struct list l;
			struct mbx_rop_exec ex;
			size_t len;

			fake_init(&f);
			fake_add(&f, 0x7B, r1, r1);
			fake_add(&f, 0x02, 30, 12);
			fake_add(&f, 0x2D, 8, 8);
			list_init(&l, list_hex, 3, h);
			if (run(&l, &f, cap, out, &len, &ex) == 0 && ex.too_small) {
				/* RequestBuffers: from after RopId and SizeNeeded to the table */
				size_t rs = mbx_le16(out + 5), at;
				struct list l2;
				struct mbx_rop_exec ex2;
				size_t len2;

				/* walk our own responses (r1, 12 or 8 bytes) to the cut */
				for (at = 2; out[5 + at] != 0xFF;) {
					uint8_t id = out[5 + at];

					at += id == 0x7B ? r1 : id == 0x02 ? 12 : 8;
				}
				assert_int_equal(mbx_le16(out + 5 + at + 1), ex.size_needed);
				l2.rops = NULL;
				l2.rb = l.rb;
				l2.rb.rops = out + 5 + at + 3;
				l2.rb.rops_len = rs - at - 3;
				fake_init(&f);
				fake_add(&f, 0x7B, r1, r1);
				fake_add(&f, 0x02, 30, 12);
				fake_add(&f, 0x2D, 8, 8);
				{
					uint8_t out2[400];

					assert_int_equal(run(&l2, &f,
					                     ex.size_needed - MBX_RHE_HDRLEN, out2,
					                     &len2, &ex2),
					                 0);
					assert_true(ex2.nrops >= 1);
				}
				checked++;
			}
			free(l.rops);
		}
	}
	assert_true(checked > 50);
}

static void test_exec_handler_failures(void **state)
{
	static const uint32_t h[] = {0x11, 0x22};
	struct fake f;
	struct list l;
	struct mbx_rop_exec ex;
	uint8_t out[300];
	size_t len;

	(void)state;
	/* a handler stops the call with its ec: out rolled back */
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10);
	fake_add(&f, 0x02, 20, 8);
	f.fail_rop = 0x02;
	f.fail_ec = ecMAPIOOM;
	list_init(&l, "7b 00 00  02 00 00 01 " FID "00  7b 00 01", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), -1);
	assert_int_equal(ex.ec, ecMAPIOOM);
	assert_int_equal(f.calls[0x7B], 1);
	/* ... and without setting one: ecError */
	fake_init(&f);
	fake_add(&f, 0x02, 20, 8);
	f.fail_rop = 0x02;
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), -1);
	assert_int_equal(ex.ec, ecError);
	/* a handler writing past its resp_max: its bytes are dropped for an ecError failure */
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 12);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len,
	           "14 00 7b 00 05 40 00 80  02 01 02 01 04 80  7b 01 05 40 00 80"
	           "11 00 00 00 22 00 00 00");
	assert_int_equal(ex.handler_bugs, 2);
	/* a handler that writes nothing for a ROP with a response */
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 0);
	f.write_len[0x7B] = 0;
	f.h[0x7B].fn = fake_silent;
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len,
	           "14 00 7b 00 05 40 00 80  02 01 02 01 04 80  7b 01 05 40 00 80"
	           "11 00 00 00 22 00 00 00");
	assert_int_equal(ex.handler_bugs, 2);
	free(l.rops);
}

/* A ROP that no output buffer could hold: the call fails when it is first, else the list is
 * cut before it; SizeNeeded saturates at 0xFFFF. */
static void test_exec_never_fits(void **state)
{
	static const uint32_t h[] = {0x11};
	struct fake f;
	struct list l;
	struct mbx_rop_exec ex;
	static uint8_t out[70000];
	size_t len;

	(void)state;
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10);
	fake_add(&f, 0x02, 40000, 40000);
	list_init(&l, "02 00 00 00 " FID "00  7b 00 00", 1, h);
	assert_int_equal(run(&l, &f, 1000, out, &len, &ex), -1);
	assert_int_equal(ex.ec, ecBufferTooSmall);
	free(l.rops);
	list_init(&l, "7b 00 00  02 00 00 00 " FID "00", 1, h);
	assert_int_equal(run(&l, &f, 1000, out, &len, &ex), 0);
	assert_true(ex.too_small);
	assert_int_equal(ex.size_needed, 8 + 2 + 40000 + 4);
	assert_int_equal(ex.nrops, 1);
	f.h[0x02].resp_max = 70000;
	assert_int_equal(run(&l, &f, 1000, out, &len, &ex), 0);
	assert_int_equal(ex.size_needed, 0xFFFF);
	/* a huge output buffer: RopSize stays 16-bit, the second big ROP is cut */
	free(l.rops);
	f.h[0x02].resp_max = 40000;
	list_init(&l, "02 00 00 00 " FID "00  02 00 00 00 " FID "00", 1, h);
	assert_int_equal(run(&l, &f, 69000, out, &len, &ex), 0);
	assert_true(ex.too_small);
	assert_int_equal(ex.nrops, 1);
	assert_int_equal(mbx_le16(out + 5), 2 + 40000 + 3 + 13);
	assert_int_equal(len, 2 + 40000 + 3 + 13 + 4);
	free(l.rops);
}

static void test_exec_bad_requests(void **state)
{
	static const uint32_t h[] = {0x11, 0x22};
	struct fake f;
	struct list l;
	struct mbx_rop_exec ex;
	uint8_t out[300];
	size_t len;

	(void)state;
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10);
	fake_add(&f, 0x02, 20, 8);
	/* a truncated RopOpenFolder after one good ROP: ecRpcFormat with its OutputHandleIndex */
	list_init(&l, "7b 00 00  02 00 00 01 00", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len,
	           "12 00 7b 00 00 00 00 00 a6 a7 a8 a9  02 01 b6 04 00 00"
	           "11 00 00 00 22 00 00 00");
	assert_true(ex.stopped_malformed);
	assert_false(ex.stopped_unknown);
	assert_int_equal(ex.nrops, 2);
	assert_non_null(strstr(ex.err.err_msg, "RopOpenFolder (0x02)"));
	assert_int_equal(ex.err.err_off, 2 + 3 + 4);
	assert_int_equal(f.calls[0x02], 0);
	free(l.rops);
	/* cut after InputHandleIndex: the index is the byte at offset 2 */
	list_init(&l, "02 00 07", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len, "08 00 02 07 b6 04 00 00 11 00 00 00 22 00 00 00");
	free(l.rops);
	/* cut after LogonId: index 0 */
	list_init(&l, "02 00", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len, "08 00 02 00 b6 04 00 00 11 00 00 00 22 00 00 00");
	free(l.rops);
	/* a cut RopRelease ends the list without a response */
	list_init(&l, "01 00", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len, "02 00 11 00 00 00 22 00 00 00");
	assert_true(ex.stopped_malformed);
	assert_int_equal(ex.nrops, 0);
	free(l.rops);
	/* an unknown layout (a PtypRuleAction value) ends the list with ecNotSupported */
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10);
	list_init(&l, "41 00 01 00 01 00 01 01 00 fe 00 80 66 01 00  7b 00 00", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len, "08 00 41 01 02 01 04 80 11 00 00 00 22 00 00 00");
	assert_true(ex.stopped_unknown);
	assert_int_equal(f.calls[0x7B], 0);
	free(l.rops);
	/* a reserved RopId fails the call (after running what came before) */
	list_init(&l, "7b 00 00  28 00 00", 2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), -1);
	assert_int_equal(ex.ec, ecRpcFormat);
	assert_int_equal(f.calls[0x7B], 1);
	assert_non_null(strstr(ex.err.err_msg, "cannot walk past Rop(0x28)"));
	free(l.rops);
	/* handle indexes beyond the table: ecNullObject, handler not run; RopRelease ignored */
	fake_init(&f);
	fake_add(&f, 0x02, 20, 8);
	fake_add(&f, 0x01, 0, 0);
	list_init(&l,
	          "02 00 00 02 " FID "00  02 00 05 01 " FID "00  01 00 09  02 00 01 00 " FID "00",
	          2, h);
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len,
	           "16 00 02 02 b9 04 00 00  02 01 b9 04 00 00  02 00 00 00 00 00 a6 a7"
	           "02 10 00 00 22 00 00 00");
	assert_int_equal(f.calls[0x02], 1);
	assert_int_equal(f.calls[0x01], 0);
	assert_int_equal(ex.nrops, 4);
	free(l.rops);
	/* a malformed ROP with no room for its failure response is cut like any other */
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10);
	list_init(&l, "7b 00 00  02 00", 2, h);
	assert_int_equal(run(&l, &f, 2 + 10 + 5 + 8, out, &len, &ex), 0);
	expect_out(out, len,
	           "11 00 7b 00 00 00 00 00 a6 a7 a8 a9 ff 18 00 02 00"
	           "11 00 00 00 22 00 00 00");
	free(l.rops);
}

/* Outlook's vector 001 with no handlers: five ecNotSupported failures. */
static void test_exec_outlook_001(void **state)
{
	size_t len, olen;
	uint8_t *b = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_decompressed.bin",
	        &len);
	struct mbx_ropbuf rb;
	struct mbx_rop_exec ex;
	struct fake f;
	uint8_t out[600];
	struct wr w;
	struct rd r;

	(void)state;
	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_ropbuf_decode(&r, &rb), 0);
	fake_init(&f);
	wr_init(&w, out, 600);
	assert_int_equal(mbx_ropbuf_execute(&rb, &w, fake_lookup, &f, &ex), 0);
	olen = w.len;
	{
		size_t n;
		uint8_t *want = mbx_test_hex("20 00 0d 00 02 01 04 80 0e 00 02 01 04 80"
		                             "0a 00 02 01 04 80 32 00 02 01 04 80 07 00 02 01 04 80"
		                             "45 00 00 00",
		                             &n);

		assert_int_equal(olen, n);
		assert_memory_equal(out, want, n);
		free(want);
	}
	/* and the output walks as a response list */
	rd_init(&r, out + 2, olen - 6, 2);
	for (int i = 0; i < 5; i++) {
		struct mbx_rop_resp p;

		assert_int_equal(mbx_rop_resp_parse(&r, &p), 0);
		assert_int_equal(p.rv, ecNotSupported);
	}
	assert_int_equal(rd_left(&r), 0);
	free(b);
}

/* The public-logon bitmap changes how RopSetMessageReadFlag is walked. */
static void test_exec_public_logons(void **state)
{
	static const uint32_t h[] = {0x11, 0x22, 0x33};
	uint8_t pub[32] = {0};
	struct fake f;
	struct list l;
	struct mbx_rop_exec ex;
	uint8_t out[300];
	size_t len;

	(void)state;
	fake_init(&f);
	fake_add(&f, 0x7B, 10, 10);
	list_init(&l, "11 09 02 01 00 " LTID " 7b 00 00", 3, h);
	pub[1] = 0x02;
	l.rb.public_logons = pub;
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), 0);
	expect_out(out, len,
	           "12 00 11 02 02 01 04 80 7b 00 00 00 00 00 a6 a7 a8 a9"
	           "11 00 00 00 22 00 00 00 33 00 00 00");
	/* as a private logon the 24 ClientData bytes are read as requests: 0x00 is reserved */
	l.rb.public_logons = NULL;
	assert_int_equal(run(&l, &f, 200, out, &len, &ex), -1);
	assert_int_equal(ex.ec, ecRpcFormat);
	free(l.rops);
}

/* mbx_rop_write_failure gives every ROP a failure response the response walker accepts. */
static void test_failure_responses(void **state)
{
	(void)state;
	for (unsigned id = 0; id < 256; id++) {
		uint8_t buf[64];
		struct mbx_rop_resp p;
		struct wr w;
		struct rd r;

		if (mbx_rop_name((uint8_t)id) == NULL || id == MBX_ROP_Release ||
		    id == MBX_ROP_Notify || id == MBX_ROP_Pending || id == MBX_ROP_Backoff ||
		    id == MBX_ROP_BufferTooSmall)
			continue;
		wr_init(&w, buf, sizeof(buf));
		mbx_rop_write_failure(&w, (uint8_t)id, 4, ecNotSupported);
		assert_true(wr_ok(&w));
		assert_int_equal(w.len, mbx_rop_failure_len((uint8_t)id));
		rd_init(&r, buf, w.len, 0);
		if (mbx_rop_resp_parse(&r, &p) != 0)
			fail_msg("0x%02X: %s", id, r.err_msg);
		assert_int_equal(p.len, w.len);
		assert_int_equal(p.idx, 4);
		assert_int_equal(p.rv, ecNotSupported);
	}
	assert_int_equal(mbx_rop_failure_len(MBX_ROP_OpenFolder), 6);
	assert_int_equal(mbx_rop_failure_len(MBX_ROP_ReadStream), 8);
	assert_int_equal(mbx_rop_failure_len(MBX_ROP_WriteStreamExtended), 10);
	assert_int_equal(mbx_rop_failure_len(MBX_ROP_SetReadFlags), 7);
	assert_int_equal(mbx_rop_failure_len(MBX_ROP_FastTransferDestinationPutBuffer), 15);
	assert_int_equal(mbx_rop_failure_len(MBX_ROP_FastTransferDestinationPutBufferExtended), 19);
}

/* ROPs without a handler whose failure is longer than 6 bytes, and the room it needs. */
static void test_exec_long_failures(void **state)
{
	static const uint32_t h[] = {0x11};
	struct mbx_rop_exec ex;
	struct list l;
	uint8_t out[200];
	size_t len;

	(void)state;
	list_init(&l, "2c 00 00 00 10  66 00 00 00 01 00 00", 1, h);
	assert_int_equal(run(&l, NULL, 100, out, &len, &ex), 0);
	expect_out(out, len, "11 00 2c 00 02 01 04 80 00 00 66 00 02 01 04 80 00 11 00 00 00");
	/* room for RopReadStream's 8 bytes plus the cut of the 7-byte rest: 2 + 8 + 10 + 4 */
	assert_int_equal(run(&l, NULL, 24, out, &len, &ex), 0);
	assert_false(ex.too_small);
	assert_int_equal(run(&l, NULL, 23, out, &len, &ex), 0);
	assert_true(ex.too_small);
	expect_out(out, len, "11 00 ff 20 00 2c 00 00 00 10 66 00 00 00 01 00 00 11 00 00 00");
	assert_int_equal(ex.size_needed, 8 + 2 + 8 + 3 + 7 + 4);
	free(l.rops);
}

static void test_exec_misc(void **state)
{
	static const uint32_t h[] = {0x11};
	struct mbx_rop_exec ex;
	struct list l;
	uint8_t out[64];
	struct wr w;

	(void)state;
	/* a writer already in overflow */
	list_init(&l, "7b 00 00", 1, h);
	wr_init(&w, out, 2);
	wr_u32le(&w, 0);
	assert_int_equal(mbx_ropbuf_execute(&l.rb, &w, NULL, NULL, &ex), -1);
	assert_int_equal(ex.ec, ecBufferTooSmall);
	free(l.rops);
	/* helpers */
	wr_init(&w, out, sizeof(out));
	mbx_rop_write_failure(&w, 0xFE, 3, ecUnknownUser);
	assert_int_equal(w.len, 6);
	assert_memory_equal(out, "\xFE\x03\xEB\x03\x00\x00", 6);
	assert_int_equal(mbx_rop_exec_fail(&ex, ecServerBusy), -1);
	assert_int_equal(ex.ec, ecServerBusy);
	assert_int_equal(mbx_ropbuf_size_needed(10, 0, 1), 8 + 2 + 10 + 4);
	assert_int_equal(mbx_ropbuf_size_needed(10, 5, 1), 8 + 2 + 10 + 3 + 5 + 4);
	assert_int_equal(mbx_ropbuf_size_needed(0x10000, 0, 0), 0xFFFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_decode_valid),
	        cmocka_unit_test(test_decode_invalid),
	        cmocka_unit_test(test_decode_handle_count),
	        cmocka_unit_test(test_decode_truncation),
	        cmocka_unit_test(test_exec_basic),
	        cmocka_unit_test(test_exec_release_and_unknown),
	        cmocka_unit_test(test_exec_boundaries),
	        cmocka_unit_test(test_exec_size_needed_progress),
	        cmocka_unit_test(test_exec_handler_failures),
	        cmocka_unit_test(test_exec_never_fits),
	        cmocka_unit_test(test_exec_bad_requests),
	        cmocka_unit_test(test_exec_outlook_001),
	        cmocka_unit_test(test_exec_public_logons),
	        cmocka_unit_test(test_failure_responses),
	        cmocka_unit_test(test_exec_long_failures),
	        cmocka_unit_test(test_exec_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
