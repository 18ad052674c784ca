/*
 * test-mh-codec.c: the MAPI/HTTP body codecs (src/mapihttp/mh-codec.c; [MS-OXCMAPIHTTP]
 * 2.2.4.1-2.2.4.4, 2.2.6; protocol.md 5.6, 5.8) and the auxiliary buffers (src/mapihttp/mh-aux.c;
 * [MS-OXCRPC] 2.2.2.2, 3.1.4.1.2; protocol.md 6, 9.1). The byte vectors are written out by hand
 * from the field tables, not produced by the encoders; one Execute body carries the real
 * Outlook 2007 rgbIn and rgbAuxIn of protocol.md 9.1.
 */
#include "mbx-test.h"

#include "mbx/mapihttp.h"
#include "mbx/rhe.h"
#include "mbx/wire.h"

/* ---- vectors -------------------------------------------------------------------------- */

#define ALICE_DN                                                                                   \
	"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
#define ALICE_DN_HEX                                                                               \
	"2F 6F 3D 43 6F 6E 74 6F 73 6F 2F 6F 75 3D 45 78"                                          \
	"63 68 61 6E 67 65 20 41 64 6D 69 6E 69 73 74 72"                                          \
	"61 74 69 76 65 20 47 72 6F 75 70 20 28 46 59 44"                                          \
	"49 42 4F 48 46 32 33 53 50 44 4C 54 29 2F 63 6E"                                          \
	"3D 52 65 63 69 70 69 65 6E 74 73 2F 63 6E 3D 61"                                          \
	"6C 69 63 65"

/* protocol.md 5.8: UserDn (84 chars + NUL), Flags 0, cp 1252, LcidSort 1033, LcidString 1033,
 * no aux: 105 bytes. */
static const char connect_58_hex[] = ALICE_DN_HEX " 00"
                                                  "00 00 00 00 E4 04 00 00 09 04 00 00 09 04 00 00"
                                                  "00 00 00 00";

/* Connect request with different LCIDs (German sort, US strings; the order gromox and ruler
 * would have swapped) and a 16-byte aux buffer: RPC_HEADER_EXT {0, Last, 8, 8} +
 * AUX_HEADER {8, v1, PERF_REQUESTID} SessionID 1, RequestID 0xA3. */
static const char connect_aux_hex[] = "2F 6F 3D 78 00"
                                      "01 00 00 00 E4 04 00 00 07 04 00 00 09 04 00 00"
                                      "10 00 00 00"
                                      "00 00 04 00 08 00 08 00"
                                      "08 00 01 01 01 00 A3 00";

/* Connect success response: ErrorCode 0, PollsMax 60000, RetryCount 6, RetryDelay 10000,
 * DnPrefix "", DisplayName "Alice", and the 36-byte default rgbAuxOut of protocol.md 6. */
#define AUX_CONNECT_HEX                                                                            \
	"00 00 04 00 1C 00 1C 00"                                                                  \
	"08 00 01 17 03 00 00 00"                                                                  \
	"0C 00 01 0A 0C 00 00 00 00 84 0C 24"                                                      \
	"08 00 01 48 01 00 00 00"
static const char connect_rsp_hex[] = "00 00 00 00 00 00 00 00 60 EA 00 00 06 00 00 00"
                                      "10 27 00 00"
                                      "00"
                                      "41 00 6C 00 69 00 63 00 65 00 00 00"
                                      "24 00 00 00" AUX_CONNECT_HEX;

/* Connect response with a DnPrefix and DisplayName "Zoë 😀" (U+00EB, U+1F600 as the surrogate
 * pair D83D DE00), ErrorCode ecLoginFailure 0x80040111, no aux. */
static const char connect_rsp_zoe_hex[] = "00 00 00 00 11 01 04 80 00 00 00 00 00 00 00 00"
                                          "00 00 00 00"
                                          "2F 6F 3D 43 00"
                                          "5A 00 6F 00 EB 00 20 00 3D D8 00 DE 00 00"
                                          "00 00 00 00";

/* Execute response: StatusCode 0, ErrorCode 0, Flags 0, RopBufferSize 20: one extended buffer
 * {0, Last, 12, 12} with RopSize 8, a RopLogon failure FE 00 0C 05 00 00 (protocol.md 5.7) and a
 * one-entry handle table; no aux. */
static const char execute_rsp_hex[] = "00 00 00 00 00 00 00 00 00 00 00 00 14 00 00 00"
                                      "00 00 04 00 0C 00 0C 00"
                                      "08 00 FE 00 0C 05 00 00 FF FF FF FF"
                                      "00 00 00 00";

static const char disconnect_req_hex[] = "00 00 00 00";
static const char disconnect_rsp_hex[] = "00 00 00 00 00 00 00 00 00 00 00 00";
static const char nwait_req_hex[] = "00 00 00 00 00 00 00 00";
/* EventPending set, aux: an empty-payload buffer {0, Last, 0, 0}. */
static const char nwait_rsp_hex[] = "00 00 00 00 00 00 00 00 01 00 00 00 08 00 00 00"
                                    "00 00 04 00 00 00 00 00";
/* StatusCode 0x47D (protocol.md 4.6), no aux. */
static const char failure_hex[] = "7D 04 00 00 00 00 00 00";

/* The real Outlook 2007 rgbAuxIn of protocol.md 9.1 (vector 001): {0, XorMagic|Last, 40, 40}
 * and 40 bytes XORed with 0xA5: PERF_REQUESTID {8, v1, 1} + two {16, v1, 0x0C} blocks. */
static const char outlook_aux_hex[] = "00 00 06 00 28 00 28 00"
                                      "AD A5 A4 A4 A4 A5 06 A5 B5 A5 A4 A9 E3 A5 A5 A5"
                                      "A5 A5 A5 A5 07 A5 A5 A5 B5 A5 A4 A9 EB A5 A5 A5"
                                      "EB A5 A5 A5 07 A5 A5 A5";

/* ---- generic checks ------------------------------------------------------------------- */

static struct mbx_mh_connect_req g_creq;
static struct mbx_mh_connect_rsp g_crsp;
static char g_name[MBX_MH_DISPLAYNAME_UTF8_MAX];
static struct mbx_mh_execute_req g_ereq;
static struct mbx_mh_execute_rsp g_ersp;
static struct mbx_mh_disconnect_req g_dreq;
static struct mbx_mh_disconnect_rsp g_drsp;
static struct mbx_mh_nwait_req g_nreq;
static struct mbx_mh_nwait_rsp g_nrsp;
static struct mbx_mh_failure g_fail;

typedef int dec_fn(struct rd *r);
typedef int enc_fn(struct wr *w);

static int dec_connect_req(struct rd *r)
{
	return mbx_mh_connect_req_decode(r, &g_creq);
}
static int enc_connect_req(struct wr *w)
{
	return mbx_mh_connect_req_encode(w, &g_creq);
}
static int dec_connect_rsp(struct rd *r)
{
	return mbx_mh_connect_rsp_decode(r, &g_crsp, g_name, sizeof(g_name));
}
static int enc_connect_rsp(struct wr *w)
{
	return mbx_mh_connect_rsp_encode(w, &g_crsp);
}
static int dec_execute_req(struct rd *r)
{
	return mbx_mh_execute_req_decode(r, &g_ereq);
}
static int enc_execute_req(struct wr *w)
{
	return mbx_mh_execute_req_encode(w, &g_ereq);
}
static int dec_execute_rsp(struct rd *r)
{
	return mbx_mh_execute_rsp_decode(r, &g_ersp);
}
static int enc_execute_rsp(struct wr *w)
{
	return mbx_mh_execute_rsp_encode(w, &g_ersp);
}
static int dec_disconnect_req(struct rd *r)
{
	return mbx_mh_disconnect_req_decode(r, &g_dreq);
}
static int enc_disconnect_req(struct wr *w)
{
	return mbx_mh_disconnect_req_encode(w, &g_dreq);
}
static int dec_disconnect_rsp(struct rd *r)
{
	return mbx_mh_disconnect_rsp_decode(r, &g_drsp);
}
static int enc_disconnect_rsp(struct wr *w)
{
	return mbx_mh_disconnect_rsp_encode(w, &g_drsp);
}
static int dec_nwait_req(struct rd *r)
{
	return mbx_mh_nwait_req_decode(r, &g_nreq);
}
static int enc_nwait_req(struct wr *w)
{
	return mbx_mh_nwait_req_encode(w, &g_nreq);
}
static int dec_nwait_rsp(struct rd *r)
{
	return mbx_mh_nwait_rsp_decode(r, &g_nrsp);
}
static int enc_nwait_rsp(struct wr *w)
{
	return mbx_mh_nwait_rsp_encode(w, &g_nrsp);
}
static int dec_failure(struct rd *r)
{
	return mbx_mh_failure_decode(r, &g_fail);
}
static int enc_failure(struct wr *w)
{
	return mbx_mh_failure_encode(w, &g_fail);
}

/* A copy of exactly n bytes, so ASan sees any read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n > 0 ? n : 1);

	assert_non_null(p);
	if (n > 0)
		memcpy(p, src, n);
	return p;
}

static void check_ok(dec_fn *dec, const uint8_t *buf, size_t n)
{
	struct rd r;

	rd_init(&r, buf, n, 0);
	if (dec(&r) != 0)
		fail_msg("decode failed: %s at %zu", r.err_msg, r.err_off);
	assert_true(rd_ok(&r));
	assert_int_equal(rd_left(&r), 0);
}

/* Decodes buf at absolute base 1000 and expects failure with msg_sub at err_off (absolute,
 * relative to 1000; SIZE_MAX = any). */
static void check_fail(dec_fn *dec, const uint8_t *buf, size_t n, const char *msg_sub,
                       size_t err_off)
{
	uint8_t *copy = exact_copy(buf, n);
	struct rd r;

	rd_init(&r, copy, n, 1000);
	assert_int_equal(dec(&r), -1);
	assert_false(rd_ok(&r));
	if (strstr(r.err_msg, msg_sub) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err_msg, msg_sub);
	assert_true(r.err_off >= 1000 && r.err_off <= 1000 + n);
	if (err_off != SIZE_MAX && r.err_off != 1000 + err_off)
		fail_msg("error \"%s\" at %zu, expected %zu", r.err_msg, r.err_off - 1000, err_off);
	free(copy);
}

static void check_fail_hex(dec_fn *dec, const char *hex, const char *msg_sub, size_t err_off)
{
	size_t n;
	uint8_t *b = mbx_test_hex(hex, &n);

	check_fail(dec, b, n, msg_sub, err_off);
	free(b);
}

/* Every proper prefix from `from` bytes on fails with an error inside the prefix. */
static void check_truncations_from(dec_fn *dec, const uint8_t *buf, size_t n, size_t from)
{
	for (size_t k = from; k < n; k++) {
		uint8_t *copy = exact_copy(buf, k);
		struct rd r;

		rd_init(&r, copy, k, 0);
		if (dec(&r) != -1)
			fail_msg("prefix of %zu of %zu bytes decoded", k, n);
		assert_false(rd_ok(&r));
		assert_true(r.err_msg[0] != '\0');
		assert_true(r.err_off <= k);
		free(copy);
	}
}

static void check_truncations(dec_fn *dec, const uint8_t *buf, size_t n)
{
	check_truncations_from(dec, buf, n, 0);
}

/* Decode, then encode into exactly n bytes: the same bytes; into n - 1: no room, nothing
 * written. */
static void check_round_trip(dec_fn *dec, enc_fn *enc, const uint8_t *buf, size_t n)
{
	uint8_t *copy = exact_copy(buf, n);
	uint8_t *out = malloc(n);
	struct rd r;
	struct wr w;

	assert_non_null(out);
	rd_init(&r, copy, n, 0);
	if (dec(&r) != 0)
		fail_msg("decode failed: %s at %zu", r.err_msg, r.err_off);
	wr_init(&w, out, n);
	assert_int_equal(enc(&w), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, buf, n);
	if (n > 0) {
		wr_init(&w, out, n - 1);
		assert_int_equal(enc(&w), MBX_MH_ERR_ROOM);
		assert_int_equal(w.len, 0);
		assert_true(wr_ok(&w));
	}
	free(out);
	free(copy);
}

/* The bytes of the last check_vector, kept so the decoded globals (which point into them) can
 * be inspected after it returns. */
static uint8_t *g_keep;

/* Valid vector: decodes, every prefix fails, round-trips; the globals are left decoded. */
static void check_vector(dec_fn *dec, enc_fn *enc, const char *hex)
{
	size_t n;
	uint8_t *b = mbx_test_hex(hex, &n);

	check_truncations(dec, b, n);
	check_round_trip(dec, enc, b, n);
	check_ok(dec, b, n);
	free(g_keep);
	g_keep = b;
}

/* Body builder for count rows: bytes appended to a growing buffer. */
struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void b_put(struct buf *b, const void *src, size_t n)
{
	if (n == 0)
		return;
	if (b->cap - b->n < n) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void b_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	mbx_put_le32(x, v);
	b_put(b, x, 4);
}

static void b_fill(struct buf *b, uint8_t c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b_put(b, &c, 1);
}

/* ---- Connect request ---------------------------------------------------------------- */

static void test_connect_req_58(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex(connect_58_hex, &n);
	struct rd r;

	assert_int_equal(n, 105);
	rd_init(&r, b, n, 0);
	assert_int_equal(mbx_mh_connect_req_decode(&r, &g_creq), 0);
	assert_string_equal(g_creq.user_dn, ALICE_DN);
	assert_int_equal(g_creq.user_dn_len, 84);
	assert_ptr_equal(g_creq.user_dn, (const char *)b);
	assert_int_equal(g_creq.flags, 0);
	assert_int_equal(g_creq.cpid, 1252);
	assert_int_equal(g_creq.lcid_sort, 1033);
	assert_int_equal(g_creq.lcid_string, 1033);
	assert_int_equal(g_creq.aux_len, 0);
	assert_int_equal(rd_left(&r), 0);
	free(b);
	check_vector(dec_connect_req, enc_connect_req, connect_58_hex);
}

static void test_connect_req_aux_and_lcids(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex(connect_aux_hex, &n);
	struct rd r;

	rd_init(&r, b, n, 0);
	assert_int_equal(mbx_mh_connect_req_decode(&r, &g_creq), 0);
	assert_string_equal(g_creq.user_dn, "/o=x");
	assert_int_equal(g_creq.flags, 1);
	/* Kept in wire order: the first LCID is LcidSort (spec), whatever the sender meant. */
	assert_int_equal(g_creq.lcid_sort, 0x0407);
	assert_int_equal(g_creq.lcid_string, 0x0409);
	assert_int_equal(g_creq.aux_len, 16);
	assert_ptr_equal(g_creq.aux, b + 25);
	free(b);
	check_vector(dec_connect_req, enc_connect_req, connect_aux_hex);
}

static void test_connect_req_lcid_values(void **state)
{
	/* No LCID is judged: 0, 0xFFFFFFFF and the swapped pair all decode and round-trip. */
	static const uint32_t pairs[][2] = {
	        {0, 0}, {0xFFFFFFFF, 0}, {0x0409, 0x0407}, {0x0407, 0x0409}, {0x0411, 0xFFFFFFFF}};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct buf b = {0};

		b_put(&b, "/o=x", 5);
		b_u32(&b, 0);
		b_u32(&b, 1252);
		b_u32(&b, pairs[i][0]);
		b_u32(&b, pairs[i][1]);
		b_u32(&b, 0);
		check_ok(dec_connect_req, b.p, b.n);
		assert_int_equal(g_creq.lcid_sort, pairs[i][0]);
		assert_int_equal(g_creq.lcid_string, pairs[i][1]);
		check_round_trip(dec_connect_req, enc_connect_req, b.p, b.n);
		free(b.p);
	}
}

static void test_connect_req_user_dn(void **state)
{
	struct buf b = {0};

	/* No NUL at all. */
	check_fail_hex(dec_connect_req, "2F 6F 3D 78", "UserDn: no NUL before the end", 0);
	/* Empty input. */
	check_fail(dec_connect_req, (const uint8_t *)"", 0, "UserDn: no NUL", 0);
	/* Not printable: a high byte, a control character. */
	check_fail_hex(dec_connect_req,
	               "2F 6F 3D C3 A9 00 00 00 00 00 E4 04 00 00 09 04 00 00 09 04 00 00"
	               "00 00 00 00",
	               "UserDn: byte 0xc3 at index 3 is not printable ASCII", 3);
	check_fail_hex(dec_connect_req,
	               "2F 09 00 00 00 00 00 E4 04 00 00 09 04 00 00 09 04 00 00 00 00 00 00",
	               "not printable ASCII", 1);
	/* Empty DN: accepted (the handler answers it). */
	check_vector(dec_connect_req, enc_connect_req,
	             "00 00 00 00 00 E4 04 00 00 09 04 00 00 09 04 00 00 00 00 00 00");
	assert_string_equal(g_creq.user_dn, "");

	/* Max: 1023 characters and the NUL. */
	b_fill(&b, 'a', MBX_MH_DN_MAX - 1);
	b_fill(&b, 0, 1);
	b_u32(&b, 0);
	b_u32(&b, 1252);
	b_u32(&b, 1033);
	b_u32(&b, 1033);
	b_u32(&b, 0);
	check_ok(dec_connect_req, b.p, b.n);
	assert_int_equal(g_creq.user_dn_len, MBX_MH_DN_MAX - 1);
	check_round_trip(dec_connect_req, enc_connect_req, b.p, b.n);
	free(b.p);

	/* Max + 1: 1024 characters, then the NUL. */
	memset(&b, 0, sizeof(b));
	b_fill(&b, 'a', MBX_MH_DN_MAX);
	b_fill(&b, 0, 1);
	b_u32(&b, 0);
	b_u32(&b, 1252);
	b_u32(&b, 1033);
	b_u32(&b, 1033);
	b_u32(&b, 0);
	check_fail(dec_connect_req, b.p, b.n, "UserDn: no NUL within 1024 bytes", 0);
	free(b.p);

	/* The encoder refuses what the decoder would refuse. */
	{
		uint8_t out[64];
		struct wr w;
		struct mbx_mh_connect_req q = {0};

		wr_init(&w, out, sizeof(out));
		q.user_dn = "caf\xc3\xa9";
		assert_int_equal(mbx_mh_connect_req_encode(&w, &q), MBX_MH_ERR_INVALID);
		q.user_dn = "/o=x";
		q.aux_len = MBX_MH_AUX_MAX + 1;
		assert_int_equal(mbx_mh_connect_req_encode(&w, &q), MBX_MH_ERR_INVALID);
		assert_int_equal(w.len, 0);
	}
}

static void test_connect_req_trailing(void **state)
{
	check_fail_hex(dec_connect_req,
	               "00 00 00 00 00 E4 04 00 00 09 04 00 00 09 04 00 00 00 00 00 00 FF",
	               "1 trailing bytes after AuxiliaryBuffer", 21);
}

/* ---- AuxiliaryBufferSize rows, for every body that has one ---------------------------- */

/* Builds `prefix` + AuxiliaryBufferSize = count + `present` bytes of aux. */
static void aux_row(dec_fn *dec, const char *prefix_hex, uint32_t count, size_t present,
                    const char *msg_sub)
{
	size_t pn;
	uint8_t *prefix = mbx_test_hex(prefix_hex, &pn);
	struct buf b = {0};

	b_put(&b, prefix, pn);
	b_u32(&b, count);
	b_fill(&b, 0xA5, present);
	if (msg_sub == NULL)
		check_ok(dec, b.p, b.n);
	else
		check_fail(dec, b.p, b.n, msg_sub, pn);
	free(b.p);
	free(prefix);
}

static void aux_rows(dec_fn *dec, const char *prefix_hex)
{
	aux_row(dec, prefix_hex, 0, 0, NULL);
	aux_row(dec, prefix_hex, 1, 1, NULL);
	aux_row(dec, prefix_hex, MBX_MH_AUX_MAX, MBX_MH_AUX_MAX, NULL);
	aux_row(dec, prefix_hex, MBX_MH_AUX_MAX + 1, MBX_MH_AUX_MAX + 1,
	        "AuxiliaryBufferSize 4105 exceeds the limit 4104 (0x1008)");
	aux_row(dec, prefix_hex, 0xFFFFFFFF, 16,
	        "AuxiliaryBufferSize 4294967295 exceeds the 16 bytes left");
	aux_row(dec, prefix_hex, 1, 0, "AuxiliaryBufferSize 1 exceeds the 0 bytes left");
	aux_row(dec, prefix_hex, 0x100, 0xFF, "AuxiliaryBufferSize 256 exceeds the 255 bytes left");
}

static void test_aux_counts(void **state)
{
	aux_rows(dec_connect_req, "00 00 00 00 00 E4 04 00 00 09 04 00 00 09 04 00 00");
	aux_rows(dec_connect_rsp, "00 00 00 00 00 00 00 00 60 EA 00 00 06 00 00 00"
	                          "10 27 00 00 00 00 00");
	aux_rows(dec_execute_req, "00 00 00 00 00 00 00 00 00 80 00 00");
	aux_rows(dec_execute_rsp, "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
	aux_rows(dec_disconnect_req, "");
	aux_rows(dec_disconnect_rsp, "00 00 00 00 00 00 00 00");
	aux_rows(dec_nwait_req, "00 00 00 00");
	aux_rows(dec_nwait_rsp, "00 00 00 00 00 00 00 00 00 00 00 00");
	aux_rows(dec_failure, "7D 04 00 00");
}

/* ---- Connect response --------------------------------------------------------------- */

static void test_connect_rsp(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex(connect_rsp_hex, &n);
	struct rd r;
	uint8_t out[128];
	struct wr w;
	struct mbx_mh_connect_rsp s = {0};

	rd_init(&r, b, n, 0);
	assert_int_equal(mbx_mh_connect_rsp_decode(&r, &g_crsp, g_name, sizeof(g_name)), 0);
	assert_int_equal(g_crsp.error_code, 0);
	assert_int_equal(g_crsp.polls_max, 60000);
	assert_int_equal(g_crsp.retry_count, 6);
	assert_int_equal(g_crsp.retry_delay, 10000);
	assert_string_equal(g_crsp.dn_prefix, "");
	assert_string_equal(g_crsp.display_name, "Alice");
	assert_ptr_equal(g_crsp.display_name, g_name);
	assert_int_equal(g_crsp.aux_len, 36);

	/* The same bytes from the server's side: encoder + default rgbAuxOut. */
	{
		uint8_t aux[MBX_MH_AUX_CONNECT_LEN];
		struct wr aw;

		wr_init(&aw, aux, sizeof(aux));
		assert_int_equal(mbx_mh_aux_connect_write(&aw, NULL), 0);
		assert_int_equal(aw.len, MBX_MH_AUX_CONNECT_LEN);
		s.polls_max = 60000;
		s.retry_count = 6;
		s.retry_delay = 10000;
		s.display_name = "Alice";
		s.aux = aux;
		s.aux_len = (uint32_t)aw.len;
		wr_init(&w, out, sizeof(out));
		assert_int_equal(mbx_mh_connect_rsp_encode(&w, &s), 0);
		assert_int_equal(w.len, n);
		assert_memory_equal(out, b, n);
	}
	free(b);
	check_vector(dec_connect_rsp, enc_connect_rsp, connect_rsp_hex);
	check_vector(dec_connect_rsp, enc_connect_rsp, connect_rsp_zoe_hex);
	assert_int_equal(g_crsp.error_code, 0x80040111);
	assert_string_equal(g_crsp.dn_prefix, "/o=C");
	assert_string_equal(g_crsp.display_name, "Zo\xc3\xab \xf0\x9f\x98\x80");
}

static void test_connect_rsp_bad_utf8(void **state)
{
	static const char *const bad[] = {
	        "\xc3\x28",         /* continuation byte missing */
	        "\xc0\xaf",         /* overlong '/' */
	        "\xe0\x80\xaf",     /* overlong, 3 bytes */
	        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
	        "\xed\xa0\x80",     /* U+D800 */
	        "\xed\xbf\xbf",     /* U+DFFF */
	        "\xf4\x90\x80\x80", /* U+110000 */
	        "\xf8\x88\x80\x80\x80",
	        "\xe2\x82", /* truncated at the NUL */
	        "ok\x80",   /* lone continuation byte */
	        "\xff",
	};
	uint8_t out[256];
	struct wr w;
	struct mbx_mh_connect_rsp s = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wr_init(&w, out, sizeof(out));
		s.display_name = bad[i];
		if (mbx_mh_connect_rsp_encode(&w, &s) != MBX_MH_ERR_INVALID)
			fail_msg("bad UTF-8 #%zu accepted", i);
		assert_int_equal(w.len, 0);
	}
	/* The edges that are fine: U+007F, U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF. */
	wr_init(&w, out, sizeof(out));
	s.display_name =
	        "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
	assert_int_equal(mbx_mh_connect_rsp_encode(&w, &s), 0);
	{
		struct rd r;

		rd_init(&r, out, w.len, 0);
		assert_int_equal(mbx_mh_connect_rsp_decode(&r, &g_crsp, g_name, sizeof(g_name)), 0);
		assert_string_equal(g_crsp.display_name, s.display_name);
		/* 20 fixed + 1 DnPrefix + 10 units * 2 (two surrogate pairs) + 4. */
		assert_int_equal(w.len, 20 + 1 + 20 + 4);
	}
	/* DnPrefix must be printable ASCII. */
	wr_init(&w, out, sizeof(out));
	s.display_name = "x";
	s.dn_prefix = "/o=\xc3\xa9";
	assert_int_equal(mbx_mh_connect_rsp_encode(&w, &s), MBX_MH_ERR_INVALID);
	s.dn_prefix = NULL;
	s.aux_len = MBX_MH_AUX_MAX + 1;
	assert_int_equal(mbx_mh_connect_rsp_encode(&w, &s), MBX_MH_ERR_INVALID);
	assert_int_equal(w.len, 0);
}

static void test_connect_rsp_bad_utf16(void **state)
{
	static const char head[] = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

	/* Unpaired high surrogate before the NUL; high followed by a BMP unit; lone low. */
	{
		char hex[256];

		snprintf(hex, sizeof(hex), "%s 41 00 3D D8 00 00 00 00 00 00", head);
		check_fail_hex(dec_connect_rsp, hex, "DisplayName: unpaired high surrogate 0xd83d",
		               23);
		snprintf(hex, sizeof(hex), "%s 3D D8 41 00 00 00 00 00 00 00", head);
		check_fail_hex(dec_connect_rsp, hex, "unpaired high surrogate", 21);
		snprintf(hex, sizeof(hex), "%s 00 DE 00 00 00 00 00 00", head);
		check_fail_hex(dec_connect_rsp, hex, "unpaired low surrogate 0xde00", 21);
		/* Odd byte count: no NUL unit before the end. */
		snprintf(hex, sizeof(hex), "%s 41 00 42", head);
		check_fail_hex(dec_connect_rsp, hex, "DisplayName: no NUL before the end", 21);
		/* StatusCode not 0. */
		check_fail_hex(dec_connect_rsp, "7D 04 00 00 00 00 00 00",
		               "StatusCode 0x0000047d is not 0: a failure body", 0);
	}
}

static void test_connect_rsp_display_name_limits(void **state)
{
	char *name = malloc(MBX_MH_DISPLAYNAME_MAX + 1);
	uint8_t *out = malloc(4096);
	struct mbx_mh_connect_rsp s = {0};
	struct wr w;
	struct rd r;
	char small[8];

	assert_non_null(name);
	assert_non_null(out);
	/* Max: 1023 units. */
	memset(name, 'n', MBX_MH_DISPLAYNAME_MAX - 1);
	name[MBX_MH_DISPLAYNAME_MAX - 1] = '\0';
	s.display_name = name;
	wr_init(&w, out, 4096);
	assert_int_equal(mbx_mh_connect_rsp_encode(&w, &s), 0);
	check_ok(dec_connect_rsp, out, w.len);
	assert_int_equal(strlen(g_crsp.display_name), MBX_MH_DISPLAYNAME_MAX - 1);
	/* Max + 1: the encoder refuses; a wire string of 1024 units without NUL fails. */
	memset(name, 'n', MBX_MH_DISPLAYNAME_MAX);
	name[MBX_MH_DISPLAYNAME_MAX] = '\0';
	wr_init(&w, out, 4096);
	assert_int_equal(mbx_mh_connect_rsp_encode(&w, &s), MBX_MH_ERR_INVALID);
	assert_int_equal(w.len, 0);
	{
		struct buf b = {0};

		b_fill(&b, 0, 21);
		for (unsigned i = 0; i < MBX_MH_DISPLAYNAME_MAX; i++)
			b_put(&b, "n\0", 2);
		b_fill(&b, 0, 6);
		check_fail(dec_connect_rsp, b.p, b.n, "DisplayName: no NUL within 1024 code units",
		           21);
		free(b.p);
	}
	/* 1023 units of U+20AC (3 UTF-8 bytes each) need exactly MBX_MH_DISPLAYNAME_UTF8_MAX. */
	{
		struct buf b = {0};
		char *big = malloc(MBX_MH_DISPLAYNAME_UTF8_MAX);

		assert_non_null(big);
		b_fill(&b, 0, 21);
		for (unsigned i = 0; i < MBX_MH_DISPLAYNAME_MAX - 1; i++)
			b_put(&b, "\xac\x20", 2);
		b_fill(&b, 0, 6);
		rd_init(&r, b.p, b.n, 0);
		assert_int_equal(
		        mbx_mh_connect_rsp_decode(&r, &g_crsp, big, MBX_MH_DISPLAYNAME_UTF8_MAX),
		        0);
		assert_int_equal(strlen(big), MBX_MH_DISPLAYNAME_UTF8_MAX - 1);
		rd_init(&r, b.p, b.n, 0);
		assert_int_equal(mbx_mh_connect_rsp_decode(&r, &g_crsp, big,
		                                           MBX_MH_DISPLAYNAME_UTF8_MAX - 1),
		                 -1);
		assert_non_null(strstr(r.err_msg, "does not fit"));
		free(big);
		free(b.p);
	}
	/* A buffer too small for "Zoë 😀" (9 bytes + NUL). */
	{
		size_t n;
		uint8_t *b = mbx_test_hex(connect_rsp_zoe_hex, &n);

		rd_init(&r, b, n, 0);
		assert_int_equal(mbx_mh_connect_rsp_decode(&r, &g_crsp, small, sizeof(small)), -1);
		assert_non_null(
		        strstr(r.err_msg, "DisplayName: its UTF-8 form does not fit 8 bytes"));
		rd_init(&r, b, n, 0);
		assert_int_equal(mbx_mh_connect_rsp_decode(&r, &g_crsp, NULL, 0), -1);
		free(b);
	}
	free(name);
	free(out);
}

/* ---- Execute ------------------------------------------------------------------------ */

/* The real Outlook 2007 call of protocol.md 9.1 as an Execute body: Flags 0, RopBufferSize
 * 0x14D + rgbIn, MaxRopOut 0x8007, AuxiliaryBufferSize 0x30 + rgbAuxIn. */
static void test_execute_req_outlook(void **state)
{
	size_t rn, pn, an;
	uint8_t *rgbin = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.rgbIn.bin", &rn);
	uint8_t *plain = mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_decompressed.bin",
	        &pn);
	uint8_t *aux = mbx_test_hex(outlook_aux_hex, &an);
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct buf b = {0};
	struct rd r, rr;
	struct mbx_rhe h;
	size_t len = 0;

	assert_int_equal(rn, 0x14D);
	assert_int_equal(an, 0x30);
	b_u32(&b, 0);
	b_u32(&b, (uint32_t)rn);
	b_put(&b, rgbin, rn);
	b_u32(&b, 0x8007);
	b_u32(&b, (uint32_t)an);
	b_put(&b, aux, an);

	rd_init(&r, b.p, b.n, 0);
	assert_int_equal(mbx_mh_execute_req_decode(&r, &g_ereq), 0);
	assert_int_equal(g_ereq.flags, 0);
	assert_int_equal(g_ereq.rop_len, 0x14D);
	assert_ptr_equal(g_ereq.rop, b.p + 8);
	assert_int_equal(g_ereq.max_rop_out, 0x8007);
	assert_int_equal(g_ereq.aux_len, 0x30);
	/* The RopBuffer is the raw extended buffer: rhe.c decodes it. */
	rd_init(&rr, g_ereq.rop, g_ereq.rop_len, 8);
	assert_int_equal(mbx_rhe_read(&rr, &h, payload, &len), 0);
	assert_int_equal(len, pn);
	assert_memory_equal(payload, plain, pn);
	/* The aux buffer: three blocks after un-XOR. */
	{
		struct mbx_mh_aux_iter it;
		struct mbx_mh_aux_block blk;
		static const uint8_t want[3][3] = {{8, 1, 0x01}, {16, 1, 0x0C}, {16, 1, 0x0C}};

		rd_init(&rr, g_ereq.aux, g_ereq.aux_len, 8 + rn + 8);
		assert_int_equal(mbx_mh_aux_in_read(&rr, payload, &len), 0);
		assert_int_equal(len, 40);
		mbx_mh_aux_iter_init(&it, payload, len, 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(mbx_mh_aux_next(&it, &blk), 1);
			assert_int_equal(blk.size, want[i][0]);
			assert_int_equal(blk.version, want[i][1]);
			assert_int_equal(blk.type, want[i][2]);
			assert_true(mbx_mh_aux_known(blk.version, blk.type));
		}
		assert_int_equal(mbx_mh_aux_next(&it, &blk), 0);
		/* PERF_REQUESTID: SessionID 1, RequestID 0xA3. */
		mbx_mh_aux_iter_init(&it, payload, len, 0);
		assert_int_equal(mbx_mh_aux_next(&it, &blk), 1);
		assert_int_equal(mbx_le16(blk.data), 1);
		assert_int_equal(mbx_le16(blk.data + 2), 0xA3);
	}
	check_truncations(dec_execute_req, b.p, b.n);
	check_round_trip(dec_execute_req, enc_execute_req, b.p, b.n);
	free(b.p);
	free(aux);
	free(plain);
	free(rgbin);
}

static void rop_row(uint32_t count, size_t present, const char *msg_sub)
{
	struct buf b = {0};

	b_u32(&b, MBX_RPC_CHAIN);
	b_u32(&b, count);
	b_fill(&b, 0x5A, present);
	b_u32(&b, MBX_MH_ROP_MAX);
	b_u32(&b, 0);
	if (msg_sub == NULL) {
		check_ok(dec_execute_req, b.p, b.n);
		assert_int_equal(g_ereq.rop_len, count);
		assert_int_equal(g_ereq.flags, MBX_RPC_CHAIN);
		check_round_trip(dec_execute_req, enc_execute_req, b.p, b.n);
	} else {
		check_fail(dec_execute_req, b.p, b.n, msg_sub, 4);
	}
	free(b.p);
}

static void test_execute_req_counts(void **state)
{
	rop_row(0, 0, NULL);
	rop_row(9, 0, "RopBufferSize 9 exceeds the 8 bytes left");
	rop_row(1, 1, NULL);
	rop_row(MBX_MH_ROP_MAX, MBX_MH_ROP_MAX, NULL);
	rop_row(MBX_MH_ROP_MAX + 1, MBX_MH_ROP_MAX + 1,
	        "RopBufferSize 262145 exceeds the limit 262144 (0x40000)");
	rop_row(0xFFFFFFFF, 3, "RopBufferSize 4294967295 exceeds the 11 bytes left");
	/* MaxRopOut is decoded as sent, even beyond the limit (the handler clamps). */
	check_vector(dec_execute_req, enc_execute_req,
	             "07 00 00 00 00 00 00 00 FF FF FF FF 00 00 00 00");
	assert_int_equal(g_ereq.max_rop_out, 0xFFFFFFFF);
	assert_int_equal(g_ereq.flags, 7);
	check_fail_hex(dec_execute_req, "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
	               "1 trailing bytes", 16);
	{
		uint8_t out[32];
		struct wr w;
		struct mbx_mh_execute_req q = {0};

		wr_init(&w, out, sizeof(out));
		q.rop_len = MBX_MH_ROP_MAX + 1;
		assert_int_equal(mbx_mh_execute_req_encode(&w, &q), MBX_MH_ERR_INVALID);
		assert_int_equal(w.len, 0);
	}
}

static void test_execute_rsp(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex(execute_rsp_hex, &n);
	uint8_t out[64];
	struct wr w;
	size_t begin;

	check_vector(dec_execute_rsp, enc_execute_rsp, execute_rsp_hex);
	assert_int_equal(g_ersp.error_code, 0);
	assert_int_equal(g_ersp.rop_len, 20);
	assert_int_equal(g_ersp.aux_len, 0);

	/* The in-place writer gives the same bytes. */
	wr_init(&w, out, sizeof(out));
	begin = mbx_mh_execute_rsp_begin(&w, 0);
	assert_int_equal(begin, 0);
	wr_bytes(&w, b + 16, 20);
	assert_int_equal(mbx_mh_execute_rsp_finish(&w, begin, NULL, 0), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, b, n);

	/* After something else in the writer, with an aux buffer. */
	{
		static const uint8_t aux[8] = {0, 0, 4, 0, 0, 0, 0, 0};

		wr_init(&w, out, sizeof(out));
		wr_u8(&w, 0xEE);
		begin = mbx_mh_execute_rsp_begin(&w, 0x80040111);
		assert_int_equal(begin, 1);
		wr_bytes(&w, "rop", 3);
		assert_int_equal(mbx_mh_execute_rsp_finish(&w, begin, aux, sizeof(aux)), 0);
		assert_int_equal(w.len, 1 + 16 + 3 + 4 + 8);
		check_ok(dec_execute_rsp, out + 1, w.len - 1);
		assert_int_equal(g_ersp.error_code, 0x80040111);
		assert_int_equal(g_ersp.rop_len, 3);
		assert_memory_equal(g_ersp.rop, "rop", 3);
		assert_int_equal(g_ersp.aux_len, 8);
	}
	/* No room for the aux: rolled back to begin. */
	wr_init(&w, out, 16 + 3 + 4 + 7);
	begin = mbx_mh_execute_rsp_begin(&w, 0);
	wr_bytes(&w, "rop", 3);
	assert_int_equal(mbx_mh_execute_rsp_finish(&w, begin, out, 8), MBX_MH_ERR_ROOM);
	assert_int_equal(w.len, 0);
	assert_true(wr_ok(&w));
	/* No room for the header. */
	wr_init(&w, out, 15);
	assert_int_equal(mbx_mh_execute_rsp_begin(&w, 0), SIZE_MAX);
	assert_int_equal(w.len, 0);
	assert_int_equal(mbx_mh_execute_rsp_finish(&w, SIZE_MAX, NULL, 0), MBX_MH_ERR_INVALID);
	/* The RopBuffer overflowed the writer. */
	wr_init(&w, out, 20);
	begin = mbx_mh_execute_rsp_begin(&w, 0);
	wr_bytes(&w, out, 5);
	assert_int_equal(mbx_mh_execute_rsp_finish(&w, begin, NULL, 0), MBX_MH_ERR_ROOM);
	assert_int_equal(w.len, 0);
	free(b);
}

static void test_execute_rsp_counts(void **state)
{
	static const uint32_t counts[] = {0, 1, MBX_MH_ROP_MAX, MBX_MH_ROP_MAX + 1, 0xFFFFFFFF};

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct buf b = {0};
		size_t present = counts[i] == 0xFFFFFFFF ? 100 : counts[i];

		b_u32(&b, 0);
		b_u32(&b, 0);
		b_u32(&b, 0);
		b_u32(&b, counts[i]);
		b_fill(&b, 1, present);
		b_u32(&b, 0);
		if (counts[i] <= MBX_MH_ROP_MAX) {
			check_ok(dec_execute_rsp, b.p, b.n);
			check_round_trip(dec_execute_rsp, enc_execute_rsp, b.p, b.n);
		} else if (counts[i] == MBX_MH_ROP_MAX + 1) {
			check_fail(dec_execute_rsp, b.p, b.n, "exceeds the limit 262144", 12);
		} else {
			check_fail(dec_execute_rsp, b.p, b.n, "exceeds the 104 bytes left", 12);
		}
		free(b.p);
	}
	/* The reserved Flags is decoded as sent; a server's encoder writes what it is given. */
	check_vector(dec_execute_rsp, enc_execute_rsp,
	             "00 00 00 00 00 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00");
	assert_int_equal(g_ersp.flags, 9);
	check_fail_hex(dec_execute_rsp, "01 00 00 00 00 00 00 00", "StatusCode 0x00000001 is not 0",
	               0);
}

/* ---- Disconnect, NotificationWait, PING, failure ------------------------------------ */

static void test_small_bodies(void **state)
{
	check_vector(dec_disconnect_req, enc_disconnect_req, disconnect_req_hex);
	check_vector(dec_disconnect_rsp, enc_disconnect_rsp, disconnect_rsp_hex);
	check_vector(dec_nwait_req, enc_nwait_req, nwait_req_hex);
	check_vector(dec_nwait_rsp, enc_nwait_rsp, nwait_rsp_hex);
	assert_int_equal(g_nrsp.event_pending, MBX_MH_EVENT_PENDING);
	assert_int_equal(g_nrsp.aux_len, 8);
	check_vector(dec_failure, enc_failure, failure_hex);
	assert_int_equal(g_fail.status_code, 0x47D);

	/* Reserved NotificationWait Flags kept as sent. */
	check_vector(dec_nwait_req, enc_nwait_req, "FF 00 00 80 00 00 00 00");
	assert_int_equal(g_nreq.flags, 0x800000FF);
	/* A Disconnect response with ErrorCode and aux. */
	check_vector(dec_disconnect_rsp, enc_disconnect_rsp,
	             "00 00 00 00 EB 03 00 00 08 00 00 00 00 00 04 00 00 00 00 00");
	assert_int_equal(g_drsp.error_code, 0x3EB);

	check_fail_hex(dec_disconnect_req, "00 00 00 00 00", "1 trailing bytes", 4);
	check_fail_hex(dec_disconnect_rsp, "02 00 00 00 00 00 00 00 00 00 00 00", "is not 0", 0);
	check_fail_hex(dec_nwait_rsp, "00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00",
	               "2 trailing bytes", 16);
	check_fail_hex(dec_failure, "00 00 00 00 00 00 00 00", "StatusCode 0 in a failure body", 0);

	{
		uint8_t out[16];
		struct wr w;
		struct mbx_mh_failure f = {0};

		wr_init(&w, out, sizeof(out));
		assert_int_equal(mbx_mh_failure_encode(&w, &f), MBX_MH_ERR_INVALID);
		f.status_code = 1;
		f.aux_len = MBX_MH_AUX_MAX + 1;
		assert_int_equal(mbx_mh_failure_encode(&w, &f), MBX_MH_ERR_INVALID);
		assert_int_equal(w.len, 0);
	}
}

static void test_ping_and_status(void **state)
{
	struct rd r;
	uint32_t st = 0;
	static const uint8_t one[1] = {0};
	size_t n;
	uint8_t *b;

	rd_init(&r, NULL, 0, 0);
	assert_int_equal(mbx_mh_ping_req_decode(&r), 0);
	rd_init(&r, one, 1, 0);
	assert_int_equal(mbx_mh_ping_req_decode(&r), -1);
	assert_non_null(strstr(r.err_msg, "PING has no request body, 1 bytes sent"));

	b = mbx_test_hex(failure_hex, &n);
	rd_init(&r, b, n, 0);
	assert_int_equal(mbx_mh_rsp_status(&r, &st), 0);
	assert_int_equal(st, 0x47D);
	assert_int_equal(rd_left(&r), n); /* nothing consumed */
	rd_init(&r, b, 3, 0);
	assert_int_equal(mbx_mh_rsp_status(&r, &st), -1);
	assert_non_null(strstr(r.err_msg, "StatusCode: need 4 bytes, 3 left"));
	free(b);
}

static void test_encoder_no_room_sticky(void **state)
{
	uint8_t out[4];
	struct wr w;
	struct mbx_mh_disconnect_req q = {0};

	/* A writer already in overflow is left alone. */
	wr_init(&w, out, sizeof(out));
	wr_zero(&w, 5);
	assert_false(wr_ok(&w));
	assert_int_equal(mbx_mh_disconnect_req_encode(&w, &q), MBX_MH_ERR_ROOM);
	assert_int_equal(w.len, 0);
}

/* ---- auxiliary buffers -------------------------------------------------------------- */

static int dec_aux_in(struct rd *r)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	size_t len;

	return mbx_mh_aux_in_read(r, payload, &len);
}

static int dec_aux_connect(struct rd *r)
{
	struct mbx_mh_aux_connect c;

	return mbx_mh_aux_connect_read(r, &c);
}

static void test_aux_in(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex(outlook_aux_hex, &n);
	struct rd r;
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	size_t len = 99;

	check_ok(dec_aux_in, b, n);
	/* The empty prefix is a valid (empty) aux buffer; every other prefix fails. */
	check_truncations_from(dec_aux_in, b, n, 1);
	/* Empty aux: no buffer, no blocks. */
	rd_init(&r, NULL, 0, 0);
	assert_int_equal(mbx_mh_aux_in_read(&r, payload, &len), 0);
	assert_int_equal(len, 0);
	free(b);

	/* Last missing. */
	check_fail_hex(dec_aux_in, "00 00 00 00 04 00 04 00 04 00 01 01",
	               "auxiliary RPC_HEADER_EXT lacks the Last flag", 2);
	/* A second buffer after the first. */
	check_fail_hex(dec_aux_in, "00 00 04 00 04 00 04 00 04 00 01 01 00 00 04 00 00 00 00 00",
	               "8 bytes after the auxiliary extended buffer", 12);
	/* Bad RPC_HEADER_EXT: rhe.c's message. */
	check_fail_hex(dec_aux_in, "01 00 04 00 00 00 00 00", "RPC_HEADER_EXT Version 0x0001", 0);
	/* Block Size below 4, Size beyond the payload, a 2-byte tail. */
	check_fail_hex(dec_aux_in, "00 00 04 00 04 00 04 00 03 00 01 01",
	               "AUX_HEADER 0: Size 3 is smaller than the 4-byte header", 8);
	check_fail_hex(dec_aux_in, "00 00 04 00 08 00 08 00 04 00 01 01 09 00 01 01",
	               "AUX_HEADER 1: Size 9 exceeds the 4 bytes left", 12);
	check_fail_hex(dec_aux_in, "00 00 04 00 06 00 06 00 04 00 01 01 04 00",
	               "AUX_HEADER 1: need 4 bytes, 2 left", 12);
	/* Unknown Version/Type pairs are blocks like any other (skipped by the caller). */
	check_ok(dec_aux_in,
	         (const uint8_t *)"\x00\x00\x04\x00\x0c\x00\x0c\x00"
	                          "\x04\x00\x07\x01\x08\x00\x01\x99\xaa\xbb\xcc\xdd",
	         20);
	assert_false(mbx_mh_aux_known(7, 1));
	assert_false(mbx_mh_aux_known(1, 0x99));
	assert_false(mbx_mh_aux_known(2, MBX_MH_AUX_TYPE_CLIENT_CONTROL));
	assert_true(mbx_mh_aux_known(2, MBX_MH_AUX_TYPE_PERF_FG_FAILURE));
	assert_true(mbx_mh_aux_known(1, MBX_MH_AUX_TYPE_PROTOCOL_DEVICE_ID));
	assert_string_equal(mbx_mh_aux_type_name(0x48), "AUX_TYPE_ENDPOINT_CAPABILITIES");
	assert_null(mbx_mh_aux_type_name(0x4F));
	assert_null(mbx_mh_aux_type_name(0));
	assert_null(mbx_mh_aux_type_name(0xFF));
}

static void test_aux_iter(void **state)
{
	static const uint8_t p[] = {4, 0, 1, 1, 6, 0, 2, 0x0C, 0xAB, 0xCD};
	struct mbx_mh_aux_iter it;
	struct mbx_mh_aux_block blk;

	mbx_mh_aux_iter_init(&it, p, sizeof(p), 500);
	assert_int_equal(mbx_mh_aux_next(&it, &blk), 1);
	assert_int_equal(blk.size, 4);
	assert_int_equal(blk.data_len, 0);
	assert_int_equal(blk.off, 500);
	assert_int_equal(mbx_mh_aux_next(&it, &blk), 1);
	assert_int_equal(blk.version, 2);
	assert_int_equal(blk.type, 0x0C);
	assert_int_equal(blk.data_len, 2);
	assert_int_equal(blk.data[1], 0xCD);
	assert_int_equal(blk.off, 504);
	assert_int_equal(mbx_mh_aux_next(&it, &blk), 0);
	assert_int_equal(mbx_mh_aux_next(&it, &blk), 0);
	assert_int_equal(it.count, 2);
}

static void test_aux_connect(void **state)
{
	size_t n;
	uint8_t *b = mbx_test_hex(AUX_CONNECT_HEX, &n);
	uint8_t out[64];
	struct wr w;
	struct rd r;
	struct mbx_mh_aux_connect c, back;

	assert_int_equal(n, MBX_MH_AUX_CONNECT_LEN);
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_mh_aux_connect_write(&w, NULL), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, b, n);
	rd_init(&r, b, n, 0);
	assert_int_equal(mbx_mh_aux_connect_read(&r, &back), 0);
	assert_int_equal(back.org_flags, 3);
	assert_int_equal(back.enable_flags,
	                 MBX_MH_AUX_ENABLE_COMPRESSION | MBX_MH_AUX_ENABLE_HTTP_TUNNELING);
	assert_int_equal(back.expiry_ms, 604800000);
	assert_int_equal(back.endpoint_flags, MBX_MH_AUX_ENDPOINT_SINGLE);
	check_truncations_from(dec_aux_connect, b, n, 1);

	/* Custom values round-trip; exactly 36 bytes of room suffice, 35 do not. */
	c.org_flags = 0;
	c.enable_flags = 0xFFFFFFFF;
	c.expiry_ms = 1;
	c.endpoint_flags = 0;
	wr_init(&w, out, MBX_MH_AUX_CONNECT_LEN);
	assert_int_equal(mbx_mh_aux_connect_write(&w, &c), 0);
	rd_init(&r, out, w.len, 0);
	assert_int_equal(mbx_mh_aux_connect_read(&r, &back), 0);
	assert_memory_equal(&back, &c, sizeof(c));
	wr_init(&w, out, MBX_MH_AUX_CONNECT_LEN - 1);
	assert_int_equal(mbx_mh_aux_connect_write(&w, &c), MBX_MH_ERR_ROOM);
	assert_int_equal(w.len, 0);

	/* Blocks absent: zero; other blocks skipped; a short known block and a repeated one fail.
	 */
	check_ok(dec_aux_connect,
	         (const uint8_t *)"\x00\x00\x04\x00\x04\x00\x04\x00\x04\x00\x01\x01", 12);
	check_fail_hex(dec_aux_connect, "00 00 04 00 04 00 04 00 04 00 01 17",
	               "AUX_TYPE_EXORGINFO: 0 data bytes, need 4", 8);
	check_fail_hex(dec_aux_connect,
	               "00 00 04 00 10 00 10 00 08 00 01 48 01 00 00 00 08 00 01 48 01 00 00 00",
	               "AUX_TYPE_ENDPOINT_CAPABILITIES given twice", 16);
	/* Version 2 blocks of the same types are not ours: skipped. */
	check_ok(dec_aux_connect,
	         (const uint8_t *)"\x00\x00\x04\x00\x04\x00\x04\x00\x04\x00\x02\x17", 12);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_connect_req_58),
	        cmocka_unit_test(test_connect_req_aux_and_lcids),
	        cmocka_unit_test(test_connect_req_lcid_values),
	        cmocka_unit_test(test_connect_req_user_dn),
	        cmocka_unit_test(test_connect_req_trailing),
	        cmocka_unit_test(test_aux_counts),
	        cmocka_unit_test(test_connect_rsp),
	        cmocka_unit_test(test_connect_rsp_bad_utf8),
	        cmocka_unit_test(test_connect_rsp_bad_utf16),
	        cmocka_unit_test(test_connect_rsp_display_name_limits),
	        cmocka_unit_test(test_execute_req_outlook),
	        cmocka_unit_test(test_execute_req_counts),
	        cmocka_unit_test(test_execute_rsp),
	        cmocka_unit_test(test_execute_rsp_counts),
	        cmocka_unit_test(test_small_bodies),
	        cmocka_unit_test(test_ping_and_status),
	        cmocka_unit_test(test_encoder_no_room_sticky),
	        cmocka_unit_test(test_aux_in),
	        cmocka_unit_test(test_aux_iter),
	        cmocka_unit_test(test_aux_connect),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(g_keep);
	return rc;
}
