/*
 * test-rop-size.c: walking ROP request and response lists (src/rop/rop-size.c; MS-OXCROPS 2.2.3
 * to 2.2.15, MS-OXCDATA 2.6, 2.8, 2.11, 2.12). Request vectors below were written by hand from
 * the MS-OXCROPS field tables, one per ROP that has a request; the two Outlook 2007 vectors of
 * protocol.md 9.1 must walk completely.
 */
#include "mbx-test.h"

#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/ropbuf.h"

#define FID "01 00 00 00 00 00 00 09 "
#define MID "01 00 00 00 00 00 12 34 "
#define Q8 "11 22 33 44 55 66 77 88 "
#define GUID "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff "
#define LTID GUID "00 00 00 00 00 01 00 00 "

struct reqvec {
	const char *hex; /* the whole request */
	int in, out, dst, resp;
};

/* One request per ROP of MS-OXCROPS that has one (the response-only ROPs have none). */
static const struct reqvec reqs[] = {
        {"01 00 05", 5, -1, -1, 5},                        /* Release */
        {"02 00 01 02 " FID "00", 1, 2, -1, 2},            /* OpenFolder */
        {"03 00 01 02 e4 04 " FID "03 " MID, 1, 2, -1, 2}, /* OpenMessage */
        {"04 00 01 02 04", 1, 2, -1, 2},
        {"05 00 00 01 02", 0, 1, -1, 1},
        {"06 00 01 02 e4 04 " FID "00", 1, 2, -1, 2},
        {"07 00 01 00 10 01 00 02 00 1f 00 37 00 03 00 f4 0f", 1, -1, -1, 1},
        {"08 00 01 00 10 01 00", 1, -1, -1, 1},
        {"09 00 01", 1, -1, -1, 1},
        {"0a 00 01 16 00 02 00 1f 00 3d 00 00 00 1f 00 1d 0e 74 00 65 00 73 00 74 00 00 00", 1, -1,
         -1, 1},
        {"0b 00 01 01 00 1f 00 37 00", 1, -1, -1, 1},
        {"0c 00 02 01 0c", 1, -1, -1, 2}, /* SaveChangesMessage: ResponseHandleIndex first */
        {"0d 00 00 01 00 00 00", 0, -1, -1, 0},
        /* ModifyRecipients: 2 columns (PtypInteger32, PtypString); a NoType+O row with E and D
         * in 8-bit strings and both columns; a deletion row (RecipientRowSize 0) */
        {"0e 00 03 02 00 03 00 fe 0f 1f 00 01 30 02 00"
         "00 00 00 00 01 18 00 18 80 53 4d 54 50 00 61 40 62 00 41 00 02 00 00 06 00 00 00 41 00 00"
         "00"
         "01 00 00 00 02 00 00",
         3, -1, -1, 3},
        {"0f 00 01 00 00 00 00 00 00", 1, -1, -1, 1},
        {"10 00 01 00 00", 1, -1, -1, 1},
        {"11 00 02 01 00", 1, -1, -1, 2}, /* SetMessageReadFlag, private logon */
        {"12 00 01 00 02 00 1f 00 37 00 14 00 48 67", 1, -1, -1, 1},
        {"13 00 01 00 02 00 01 00 01 00 1f 00 37 00 00 40 00 06 0e 01", 1, -1, -1, 1},
        /* Restrict: And(Exist, Property(RelOp 4, PtypInteger32 value)) */
        {"14 00 01 00 16 00 00 02 00 08 1f 00 37 00 04 04 03 00 07 0e 03 00 07 0e 01 00 00 00", 1,
         -1, -1, 1},
        {"15 00 01 00 01 32 00", 1, -1, -1, 1},
        {"16 00 01", 1, -1, -1, 1},
        {"17 00 01", 1, -1, -1, 1},
        {"18 00 01 00 05 00 00 00 01", 1, -1, -1, 1},
        {"19 00 01 04 00 aa bb cc dd ff ff ff ff 01", 1, -1, -1, 1},
        {"1a 00 01 01 00 00 00 02 00 00 00", 1, -1, -1, 1},
        {"1b 00 01", 1, -1, -1, 1},
        {"1c 00 01 02 01 01 00 00 4e 00 00 00 00 00", 1, 2, -1, 2}, /* CreateFolder, Unicode */
        {"1d 00 01 05 " FID, 1, -1, -1, 1},
        {"1e 00 01 00 00 02 00 " MID MID, 1, -1, -1, 1},
        {"1f 00 01 " MID, 1, -1, -1, 1},
        {"20 00 01 " MID "00 10 00 00 00 10 00 00", 1, -1, -1, 1},
        {"21 00 01 02 00", 1, 2, -1, 2},
        {"22 00 01 02 01 00 00 00 00", 1, 2, -1, 2},
        {"23 00 01 02", 1, 2, -1, 2},
        {"24 00 01 00 00 00 00", 1, -1, -1, 1},
        {"25 00 02 01 0c", 1, -1, -1, 2},
        {"26 00 01 " FID "49 50 4d 00", 1, -1, -1, 1},
        {"27 00 01 49 50 4d 2e 4e 6f 74 65 00", 1, -1, -1, 1},
        {"29 00 01 02 04 00 00 " FID MID, 1, 2, -1, 2}, /* RegisterNotification, one folder */
        {"2b 00 01 02 02 01 09 10 00", 1, 2, -1, 2},
        {"2c 00 01 00 10", 1, -1, -1, 1},
        {"2d 00 01 03 00 61 62 63", 1, -1, -1, 1},
        {"2e 00 01 01 " Q8, 1, -1, -1, 1},
        {"2f 00 01 " Q8, 1, -1, -1, 1},
        {"30 00 01 05 00 08 1f 00 37 00 01 00 " FID "02 00 00 00", 1, -1, -1, 1},
        {"31 00 01 01 01 01", 1, -1, -1, 1},
        {"32 00 01 00", 1, -1, -1, 1},
        {"33 00 01 02 01 00 " MID "00 01", 1, -1, 2, 1}, /* MoveCopyMessages: Source, Dest */
        {"34 00 01 " FID MID, 1, -1, -1, 1},
        {"35 00 01 02 00 00 " FID "4e 65 77 00", 1, -1, 2, 1},
        {"36 00 01 02 00 01 01 " FID "4e 00 00 00", 1, -1, 2, 1},
        {"37 00 01", 1, -1, -1, 1},
        {"38 00 01", 1, -1, -1, 1},
        {"39 00 01 02 00 00 01 01 00 02 01 e2 65", 1, -1, 2, 1},
        {"3a 00 01 02 " Q8, 1, -1, 2, 1},
        {"3b 00 01 02", 1, 2, -1, 2},
        {"3e 00 01 02 00", 1, 2, -1, 2},
        {"3f 00 01 02 40", 1, 2, -1, 2},
        /* ModifyPermissions: one PermissionData with PidTagMemberId (i8) and PidTagMemberRights */
        {"40 00 01 00 01 00 01 02 00 14 00 71 66 " Q8 "03 00 72 66 7b 04 00 00", 1, -1, -1, 1},
        {"41 00 01 00 01 00 01 01 00 03 00 76 66 0a 00 00 00", 1, -1, -1, 1},
        {"42 00 01 " FID, 1, -1, -1, 1},
        {"43 00 01 " MID, 1, -1, -1, 1},
        {"44 00 01 " LTID, 1, -1, -1, 1},
        {"45 00 01 " FID, 1, -1, -1, 1},
        {"46 00 01 02 e4 04 00", 1, 2, -1, 2},
        {"47 00 01", 1, -1, -1, 1},
        {"48 00 01 " MID "01", 1, -1, -1, 1},
        {"49 00 01", 1, -1, -1, 1},
        {"4a 00 01", 1, -1, -1, 1},
        {"4b 00 01 02 01 00 " MID "00 01", 1, 2, -1, 2},
        {"4c 00 01 02 10 01", 1, 2, -1, 2},
        {"4d 00 01 02 00 00 00 00 00 01 01 00 1f 00 37 00", 1, 2, -1, 2},
        {"4e 00 01 be ba 00 80", 1, -1, -1, 1}, /* GetBuffer 0xBABE + MaximumBufferSize */
        {"4f 00 01 00 05 00 08 1f 00 37 00 00 00 00", 1, -1, -1, 1},
        {"50 00 01 00", 1, -1, -1, 1},
        {"51 00 01 " MID FID "49 50 4d 00 00 00 00 00", 1, -1, -1, 1},
        {"52 00 01", 1, -1, -1, 1},
        {"53 00 01 02 01 00", 1, 2, -1, 2},
        {"54 00 01 02 00 aa bb", 1, -1, -1, 1},
        {"55 00 01 02 00 00 80 01 80", 1, -1, -1, 1},
        /* GetPropertyIdsFromNames: a LID name and a 4-byte string name */
        {"56 00 01 02 02 00 00 " GUID "1c 85 00 00 01 " GUID "04 41 00 42 00", 1, -1, -1, 1},
        {"57 00 01 02 00 aa bb 01 00 cc", 1, -1, -1, 1},
        {"58 00 01 00 00", 1, -1, -1, 1},
        {"59 00 01 0a 00 " Q8, 1, -1, -1, 1},
        {"5a 00 01 " Q8, 1, -1, -1, 1},
        {"5b 00 01 " Q8 Q8 "01 00 00 00", 1, -1, -1, 1},
        {"5c 00 01 " Q8 Q8 "01 00 00 00", 1, -1, -1, 1},
        {"5d 00 01", 1, -1, -1, 1},
        {"5e 00 01", 1, -1, -1, 1},
        {"5f 00 01 00 01 " GUID, 1, -1, -1, 1},
        {"60 00 01 " GUID, 1, -1, -1, 1},
        {"61 00 01 " LTID, 1, -1, -1, 1},
        {"63 00 01 " LTID "00 00 00 00 00 00 10", 1, -1, -1, 1},
        {"64 00 01 " LTID "01 00 00 00 00 02 00 aa bb " GUID, 1, -1, -1, 1}, /* private: ReplGuid */
        {"66 00 01 00 01 01 00 " MID, 1, -1, -1, 1},
        {"67 00 01 02 00 00 01 00 1f 00 37 00", 1, -1, 2, 1},
        {"68 00 01", 1, -1, -1, 1},
        {"69 00 01 02 00 00 00 01 00 1f 00 37 00", 1, 2, -1, 2},
        {"6b 00 01 " Q8 "01 00 00 00", 1, -1, -1, 1},
        {"6c 00 01 02 00 aa bb", 1, -1, -1, 1},
        {"6d 00 01", 1, -1, -1, 1},
        {"6f 00 01 53 4d 54 50 00 01", 1, -1, -1, 1},
        {"70 00 01 02 01 00 00 00 00 00 00 00 00 00 01 00 1f 00 37 00", 1, 2, -1, 2},
        {"72 00 01 02 00 01 00 02 01 e2 65 02 00 aa bb", 1, 2, -1, 2},
        {"73 00 01 01 00 03 00 f4 0f 01 00 00 00 00 00", 1, -1, -1, 1},
        /* ImportDeletes: one PtypMultipleBinary value (32-bit count, 16-bit byte counts) */
        {"74 00 01 00 01 00 02 11 54 40 01 00 00 00 02 00 aa bb", 1, -1, -1, 1},
        {"75 00 01 02 01 96 67 00 10 00 00", 1, -1, -1, 1},
        {"76 00 01 03 00 00 00 aa bb cc", 1, -1, -1, 1},
        {"77 00 01", 1, -1, -1, 1},
        {"78 00 01 01 00 00 00 aa 00 00 00 00 01 00 00 00 bb 00 00 00 00 02 00 00 00 cc dd", 1, -1,
         -1, 1},
        {"79 00 01 07 00 01 00 0b 00 1b 0e 01", 1, -1, -1, 1}, /* one PtypBoolean: 1 byte */
        {"7a 00 01 01 00 1f 00 37 00", 1, -1, -1, 1},
        {"7b 00 01", 1, -1, -1, 1},
        {"7e 00 01 02 01", 1, 2, -1, 2},
        {"7f 00 01 0a 00 00 00", 1, -1, -1, 1},
        {"80 00 01 0a 00 07 00 01 02 03 04 05 06 07 01", 1, -1, -1, 1},
        {"81 00 01", 1, -1, -1, 1},
        {"82 00 01 02", 1, 2, -1, 2},
        {"86 00 01 08 00 02 00 03 00", 1, -1, -1, 1},
        {"89 00 01 01 00 aa", 1, -1, -1, 1},
        {"90 00 01 01 00 aa", 1, -1, -1, 1},
        {"91 00 01 00 00 01 00 " MID, 1, -1, -1, 1},
        {"92 00 01 00 01", 1, -1, -1, 1},
        {"93 00 01 34 00 01 00 00 00 " LTID LTID, 1, -1, -1, 1},
        {"9d 00 01 01 00 aa", 1, -1, -1, 1},
        {"a3 00 01 02 00 aa bb", 1, -1, -1, 1},
        {"fe 00 00 01 0c 00 00 01 00 00 00 00 04 00 2f 6f 3d 00", -1, 0, -1, 0}, /* Logon */
};

#define NREQS (sizeof(reqs) / sizeof(reqs[0]))

static uint8_t *load_001(size_t *len_r)
{
	return mbx_test_vector(
	        "openchange-lzxpress/001_Outlook_2007_in_ModifyRecipients.payload_decompressed.bin",
	        len_r);
}

/* Parses buf as one request followed by a guard byte; checks it is consumed exactly. */
static void parse_one(const uint8_t *buf, size_t len, struct mbx_rop_req *q)
{
	uint8_t *g = malloc(len + 1);
	struct rd r;

	assert_non_null(g);
	memcpy(g, buf, len);
	g[len] = 0xEE;
	rd_init(&r, g, len + 1, 100);
	if (mbx_rop_req_parse(&r, q) != 0)
		fail_msg("parse failed at %zu: %s", r.err_off, r.err_msg);
	assert_int_equal(q->len, len);
	assert_int_equal(r.off, len);
	assert_int_equal(q->off, 100);
	assert_ptr_equal(q->raw, g);
	free(g);
}

static void test_every_request(void **state)
{
	bool seen[256] = {false};

	(void)state;
	for (size_t i = 0; i < NREQS; i++) {
		size_t len;
		uint8_t *b = mbx_test_hex(reqs[i].hex, &len);
		struct mbx_rop_req q;

		parse_one(b, len, &q);
		assert_int_equal(q.rop_id, b[0]);
		assert_int_equal(q.logon_id, b[1]);
		assert_int_equal(q.in_idx, reqs[i].in);
		assert_int_equal(q.out_idx, reqs[i].out);
		assert_int_equal(q.dst_idx, reqs[i].dst);
		assert_int_equal(q.resp_idx, reqs[i].resp);
		assert_false(seen[b[0]]);
		seen[b[0]] = true;
		free(b);
	}
	/* every ROP with a request layout has a vector above, and only those */
	for (unsigned id = 0; id < 256; id++)
		assert_int_equal(seen[id], mbx_rop_has_request((uint8_t)id));
	assert_int_equal(NREQS, MBX_ROP_COUNT - 4);
}

/* Every proper prefix of every request fails cleanly, within the prefix, naming the ROP. */
static void test_request_truncation(void **state)
{
	(void)state;
	for (size_t i = 0; i < NREQS; i++) {
		size_t len;
		uint8_t *b = mbx_test_hex(reqs[i].hex, &len);

		for (size_t n = 0; n < len; n++) {
			uint8_t *p = malloc(n > 0 ? n : 1);
			struct mbx_rop_req q;
			struct rd r;
			char name[16];

			memcpy(p, b, n);
			rd_init(&r, n > 0 ? p : NULL, n, 7);
			assert_int_equal(mbx_rop_req_parse(&r, &q), -1);
			assert_false(rd_ok(&r));
			assert_false(q.layout_unknown);
			assert_true(r.err_off <= 7 + n);
			if (n > 0) {
				assert_int_equal(q.rop_id, b[0]);
				assert_non_null(
				        strstr(r.err_msg, mbx_rop_str(b[0], name, sizeof(name))));
			}
			free(p);
		}
		free(b);
	}
}

static void test_outlook_001(void **state)
{
	static const uint8_t ids[] = {0x0D, 0x0E, 0x0A, 0x32, 0x07};
	static const size_t offs[] = {2, 9, 411, 438, 442};
	static const size_t lens[] = {7, 402, 27, 4, 13};
	size_t len;
	uint8_t *b = load_001(&len);
	struct mbx_ropbuf rb;
	struct rd r, l;
	size_t k = 0;

	(void)state;
	assert_int_equal(len, 459);
	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_ropbuf_decode(&r, &rb), 0);
	assert_int_equal(rb.rops_len, 0x1C7 - 2);
	assert_int_equal(rb.nhandles, 1);
	assert_int_equal(rb.handles[0], 0x45);
	rd_init(&l, rb.rops, rb.rops_len, rb.rops_off);
	while (rd_left(&l) > 0) {
		struct mbx_rop_req q;

		if (mbx_rop_req_parse(&l, &q) != 0)
			fail_msg("001: %s", l.err_msg);
		assert_true(k < 5);
		assert_int_equal(q.rop_id, ids[k]);
		assert_int_equal(q.off, offs[k]);
		assert_int_equal(q.len, lens[k]);
		assert_int_equal(q.logon_id, 0);
		assert_int_equal(q.in_idx, 0);
		k++;
	}
	assert_int_equal(k, 5);
	free(b);
}

/* Vector 002's payload comes from the extended-buffer reader (src/rop/rhe.c). */
static void test_outlook_002(void **state)
{
	static const uint8_t ids[] = {0x05, 0x12, 0x4F, 0x02, 0x02, 0x29, 0x07};
	static const uint32_t handles[] = {0x75,       0xFFFFFFFF, 0x71,
	                                   0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};
	size_t len, plen, k = 0;
	uint8_t *b = mbx_test_vector("openchange-lzxpress/002_Outlook_2007_in_Tables_operations."
	                             "rgbIn.bin",
	                             &len);
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct mbx_rhe h;
	struct mbx_ropbuf rb;
	struct rd r, l;

	(void)state;
	rd_init(&r, b, len, 0);
	if (mbx_rhe_read(&r, &h, payload, &plen) != 0)
		fail_msg("002 rhe: %s", r.err_msg);
	assert_int_equal(plen, 380);
	rd_init(&r, payload, plen, 0);
	assert_int_equal(mbx_ropbuf_decode(&r, &rb), 0);
	assert_int_equal(rb.rops_len, 0x164 - 2);
	assert_int_equal(rb.nhandles, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(rb.handles[i], handles[i]);
	rd_init(&l, rb.rops, rb.rops_len, rb.rops_off);
	while (rd_left(&l) > 0) {
		struct mbx_rop_req q;

		if (mbx_rop_req_parse(&l, &q) != 0)
			fail_msg("002: %s", l.err_msg);
		assert_true(k < sizeof(ids));
		assert_int_equal(q.rop_id, ids[k]);
		k++;
	}
	assert_int_equal(k, sizeof(ids));
	free(b);
}

/* A request that must fail, with a message substring and whether the layout is unknown. */
static void expect_req_fail(const char *hex, const char *msg, bool unknown)
{
	size_t len;
	uint8_t *b = mbx_test_hex(hex, &len);
	struct mbx_rop_req q;
	struct rd r;

	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_rop_req_parse(&r, &q), -1);
	if (strstr(r.err_msg, msg) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", msg, r.err_msg);
	assert_int_equal(q.layout_unknown, unknown);
	free(b);
}

static void test_request_invalid(void **state)
{
	(void)state;
	/* unknown and response-only ids */
	expect_req_fail("28 00 00", "cannot walk past Rop(0x28) (0x28): request layout not known",
	                true);
	expect_req_fail("00", "cannot walk past Rop(0x00)", true);
	expect_req_fail("ff 00 00 00", "cannot walk past RopBufferTooSmall (0xFF)", true);
	expect_req_fail("2a 00 00", "cannot walk past RopNotify (0x2A)", true);
	expect_req_fail("f9 00 00", "cannot walk past RopBackoff (0xF9)", true);
	expect_req_fail("6e 00 00", "cannot walk past RopPending (0x6E)", true);
	/* a PtypRuleAction value: ModifyRules with PidTagRuleActions (0x668000FE) */
	expect_req_fail("41 00 01 00 01 00 01 01 00 fe 00 80 66 01 00",
	                "cannot walk past RopModifyRules (0x41): property type 0x00FE", true);
	/* PtypObject in SetProperties */
	expect_req_fail("0a 00 01 06 00 01 00 0d 00 01 37",
	                "cannot walk past RopSetProperties (0x0A): property type 0x000D", true);
	/* undefined property types and PtypUnspecified */
	expect_req_fail("0a 00 01 06 00 01 00 99 00 01 37",
	                "RopSetProperties (0x0A): property type 0x0099 is not a type", false);
	expect_req_fail("0a 00 01 06 00 01 00 00 00 01 37", "PtypUnspecified", false);
	expect_req_fail("0a 00 01 06 00 01 00 03 30 01 37", "property type 0x3003", false);
	/* PropertyValueSize too large / leaving bytes over */
	expect_req_fail("0a 00 01 07 00 01 00 0b 00 1b 0e", "PropertyValues: need 7 bytes, 6 left",
	                false);
	expect_req_fail("0a 00 01 08 00 01 00 0b 00 1b 0e 01 00",
	                "PropertyValueSize 8 leaves 1 bytes unused", false);
	/* PtypString without its 16-bit NUL (a lone 8-bit NUL is not one) */
	expect_req_fail("0a 00 01 09 00 01 00 1f 00 37 00 41 00 00",
	                "PtypString value: no 16-bit NUL", false);
	/* multi-value count larger than the bytes left */
	expect_req_fail("0a 00 01 0a 00 01 00 1f 10 37 00 05 00 00 00",
	                "multi-value count 5 exceeds the 0 bytes left", false);
	expect_req_fail("0a 00 01 0a 00 01 00 03 10 37 00 02 00 00 00",
	                "2 entries of 4 bytes need 8 bytes, 0 left", false);
	/* restrictions: undefined type, depth, counts */
	expect_req_fail("14 00 01 00 01 00 0c", "RestrictType 0x0C is not defined", false);
	expect_req_fail("14 00 01 00 03 00 00 05 00", "RestrictCount 5 cannot fit in 0 bytes",
	                false);
	expect_req_fail("14 00 01 00 06 00 08 1f 00 37 00 00",
	                "RestrictionData: 1 of its 6 bytes are left over", false);
	/* ModifyRecipients: RecipientColumnCount above ColumnCount, a row with bytes over, an
	 * unterminated X500DN, a bad PropertyRow flag */
	expect_req_fail("0e 00 00 01 00 03 00 fe 0f 01 00 00 00 00 00 01 04 00 00 00 02 00",
	                "RecipientColumnCount 2 exceeds the 1 columns", false);
	expect_req_fail("0e 00 00 01 00 03 00 fe 0f 01 00 00 00 00 00 01 06 00 00 00 00 00 00 ee",
	                "RecipientRowSize 6 leaves 1 bytes unused", false);
	expect_req_fail("0e 00 00 00 00 01 00 00 00 00 00 01 05 00 01 00 45 00 41",
	                "X500DN: no NUL", false);
	expect_req_fail(
	        "0e 00 00 01 00 03 00 fe 0f 01 00 00 00 00 00 01 0a 00 00 00 01 00 02 06 00 "
	        "00 00 00",
	        "PropertyRow Flag 0x02 is neither 0 nor 1", false);
	/* ColumnCount larger than the request */
	expect_req_fail("0e 00 00 10 00 03 00 fe 0f", "ColumnCount 16 needs 64 bytes, 4 left",
	                false);
	/* PropertyName kind */
	expect_req_fail("56 00 01 00 01 00 02 " GUID, "PropertyName Kind 0x02 is not defined",
	                false);
	/* SetLocalReplicaMidsetDeleted with DataSize not matching */
	expect_req_fail("93 00 01 05 00 00 00 00 00 00", "DataSize 5 leaves 1 bytes unused", false);
}

/* Restrictions nest up to MBX_ROP_MAX_DEPTH levels: Not(Not(...Exist)). */
static void test_restriction_depth(void **state)
{
	for (unsigned levels = MBX_ROP_MAX_DEPTH - 1; levels <= MBX_ROP_MAX_DEPTH; levels++) {
		uint8_t buf[256];
		size_t n = 0, size;
		struct mbx_rop_req q;
		struct rd r;

		(void)state;
		buf[n++] = 0x14;
		buf[n++] = 0x00;
		buf[n++] = 0x01;
		buf[n++] = 0x00;
		size = levels + 5;
		buf[n++] = (uint8_t)size;
		buf[n++] = 0x00;
		for (unsigned i = 0; i < levels; i++)
			buf[n++] = 0x02; /* NotRestriction */
		buf[n++] = 0x08;         /* ExistRestriction */
		memcpy(buf + n, "\x1f\x00\x37\x00", 4);
		n += 4;
		rd_init(&r, buf, n, 0);
		if (levels < MBX_ROP_MAX_DEPTH) {
			assert_int_equal(mbx_rop_req_parse(&r, &q), 0);
			assert_int_equal(q.len, n);
		} else {
			assert_int_equal(mbx_rop_req_parse(&r, &q), -1);
			assert_non_null(strstr(r.err_msg, "nested deeper than 32 levels"));
		}
	}
}

/* Every restriction type, in one Or, and a CommentRestriction with a nested one; plus a
 * restriction inside a PtypRestriction property value. */
static void test_restriction_types(void **state)
{
	static const char hex[] =
	        "14 00 01 00 70 00"
	        "01 0b 00"                                           /* Or, 11 members */
	        "00 00 00"                                           /* empty And */
	        "02 08 1f 00 37 00"                                  /* Not(Exist) */
	        "03 01 00 01 00 1f 00 37 00 1f 00 37 00 61 00 00 00" /* Content */
	        "04 04 0b 00 1b 0e 0b 00 1b 0e 01"                   /* Property, PtypBoolean */
	        "05 04 03 00 07 0e 03 00 08 0e"                      /* CompareProperties */
	        "06 01 03 00 07 0e 01 00 00 00"                      /* BitMask */
	        "07 02 02 01 e2 65 10 00 00 00"                      /* Size */
	        "08 1f 00 37 00"                                     /* Exist */
	        "09 03 00 17 0e 08 1f 00 37 00"                      /* SubObject(Exist) */
	        "0a 01 fd 00 01 30 08 1f 00 37 00 01 08 1f 00 37 00" /* Comment: PtypRestriction */
	        "0b 05 00 00 00 08 1f 00 37 00";                     /* Count(Exist) */
	size_t len;
	uint8_t *b = mbx_test_hex(hex, &len);
	struct mbx_rop_req q;

	(void)state;
	assert_int_equal(len, 6 + 0x70);
	parse_one(b, len, &q);
	free(b);
}

/* Counted fields at 0, 1 and their maximum (and one entry short of the count). */
static void test_count_boundaries(void **state)
{
	(void)state;
	for (unsigned pass = 0; pass < 2; pass++) {
		/* SetColumns PropertyTagCount: 0, 1, 0xFFFF; DeleteMessages: 0, 1, 0xFFFF ids */
		static const struct {
			uint8_t id;
			size_t hdr;   /* bytes before the count */
			size_t entry; /* bytes per entry */
		} c[] = {{0x12, 4, 4}, {0x1E, 5, 8}, {0x55, 3, 2}};
		static const unsigned counts[] = {0, 1, 0xFFFF};

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			for (size_t j = 0; j < 3; j++) {
				size_t n = c[i].hdr + 2 + (size_t)counts[j] * c[i].entry;
				uint8_t *buf = calloc(1, n);
				struct mbx_rop_req q;
				struct rd r;

				buf[0] = c[i].id;
				buf[2] = 1;
				buf[c[i].hdr] = (uint8_t)counts[j];
				buf[c[i].hdr + 1] = (uint8_t)(counts[j] >> 8);
				/* pass 1: one entry byte short */
				rd_init(&r, buf, pass == 0 ? n : n - 1, 0);
				if (pass == 0 || counts[j] == 0) {
					if (pass == 1) {
						/* nothing to cut: drop the count's high byte */
						assert_int_equal(mbx_rop_req_parse(&r, &q), -1);
					} else {
						assert_int_equal(mbx_rop_req_parse(&r, &q), 0);
						assert_int_equal(q.len, n);
					}
				} else {
					assert_int_equal(mbx_rop_req_parse(&r, &q), -1);
					assert_non_null(strstr(r.err_msg, "entries of"));
				}
				free(buf);
			}
		}
	}
	/* u32-counted bytes: SynchronizationUploadStateStreamContinue with a huge size */
	{
		size_t len;
		uint8_t *b = mbx_test_hex("76 00 01 ff ff ff ff aa", &len);
		struct mbx_rop_req q;
		struct rd r;

		rd_init(&r, b, len, 0);
		assert_int_equal(mbx_rop_req_parse(&r, &q), -1);
		assert_non_null(strstr(r.err_msg, "4294967295 entries of 1 bytes"));
		free(b);
	}
}

/* Layouts with conditional fields. */
static void test_request_conditional(void **state)
{
	uint8_t pub[32] = {0};
	size_t len;
	uint8_t *b;
	struct mbx_rop_req q;
	struct rd r;

	(void)state;
	/* RopSetMessageReadFlag: ClientData only for a public logon (LogonId 9 here) */
	b = mbx_test_hex("11 09 02 01 00 " LTID, &len);
	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_rop_req_parse_ex(&r, NULL, &q), 0);
	assert_int_equal(q.len, 5);
	pub[1] = 0x02; /* LogonId 9 */
	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_rop_req_parse_ex(&r, pub, &q), 0);
	assert_int_equal(q.len, 29);
	rd_init(&r, b, 28, 0);
	assert_int_equal(mbx_rop_req_parse_ex(&r, pub, &q), -1);
	free(b);
	/* RopWritePerUserInformation: ReplGuid only for DataOffset 0 on a private logon */
	b = mbx_test_hex("64 09 01 " LTID "01 00 00 00 00 02 00 aa bb " GUID, &len);
	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_rop_req_parse_ex(&r, NULL, &q), 0);
	assert_int_equal(q.len, len);
	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_rop_req_parse_ex(&r, pub, &q), 0);
	assert_int_equal(q.len, len - 16);
	free(b);
	b = mbx_test_hex("64 00 01 " LTID "01 05 00 00 00 02 00 aa bb", &len);
	parse_one(b, len, &q); /* DataOffset != 0: no ReplGuid */
	free(b);
	/* RopReadStream without 0xBABE, RopFastTransferSourceGetBuffer without 0xBABE */
	b = mbx_test_hex("2c 00 01 be ba 00 00 01 00", &len);
	parse_one(b, len, &q);
	free(b);
	b = mbx_test_hex("4e 00 01 00 10", &len);
	parse_one(b, len, &q);
	free(b);
	/* RopRegisterNotification for the whole store: no FolderId, MessageId */
	b = mbx_test_hex("29 00 01 02 04 00 01", &len);
	parse_one(b, len, &q);
	free(b);
	/* RopQueryNamedProperties without a GUID */
	b = mbx_test_hex("5f 00 01 00 00", &len);
	parse_one(b, len, &q);
	free(b);
	/* RopCreateFolder with 8-bit strings */
	b = mbx_test_hex("1c 00 01 02 01 00 00 00 41 00 42 43 00", &len);
	parse_one(b, len, &q);
	free(b);
	/* RopLogon without an Essdn */
	b = mbx_test_hex("fe 01 02 00 02 00 00 00 00 00 00 00 00 00", &len);
	parse_one(b, len, &q);
	assert_int_equal(q.out_idx, 2);
	free(b);
	/* a RecipientRow of a personal distribution list (EntryId, SearchKey), Unicode, with E,
	 * D, I, T strings, all columns flagged: value, no value, error */
	b = mbx_test_hex(
	        "0e 00 00 03 00 03 00 fe 0f 1f 00 01 30 00 00 ff 0f 01 00"
	        "00 00 00 00 01 29 00"
	        "3e 06 02 00 aa bb 01 00 cc 45 00 00 00 44 00 00 00 49 00 00 00 54 00 00 00"
	        "03 00 01 00 06 00 00 00 01 03 00 0a 0f 01 04 80",
	        &len);
	parse_one(b, len, &q);
	free(b);
}

/* --- responses ------------------------------------------------------------------------------ */

struct respvec {
	const char *hex;
	int idx;
	uint32_t rv;
};

static const struct respvec resps[] = {
        {"02 01 00 00 00 00 01 00", 1, 0},                               /* OpenFolder */
        {"02 01 00 00 00 00 00 01 02 00 01 00 53 31 00 53 32 00", 1, 0}, /* ghosted */
        {"02 01 0f 01 04 80", 1, 0x8004010F},                            /* failure */
        {"03 02 00 00 00 00 00 02 41 00 04 42 00 00 00 01 00 01 00 1f 00 01 30"
         "01 01 e4 04 00 00 03 00 aa bb cc",
         2, 0}, /* OpenMessage with one OpenRecipientRow */
        {"04 02 00 00 00 00 05 00 00 00", 2, 0},
        {"06 02 00 00 00 00 01 " MID, 2, 0},
        {"06 02 00 00 00 00 00", 2, 0},
        {"07 01 05 00 07 80", 1, 0x80070005}, /* GetPropertiesSpecific failure */
        {"08 01 00 00 00 00 01 00 03 00 f4 0f 07 00 00 00", 1, 0},
        {"09 01 00 00 00 00 01 00 03 00 f4 0f", 1, 0},
        {"0a 01 00 00 00 00 01 00 00 00 1f 00 37 00 0f 01 04 80", 1, 0},
        {"0c 02 00 00 00 00 01 " MID, 2, 0}, /* SaveChangesMessage */
        {"0c 02 05 00 07 80", 2, 0x80070005},
        {"0e 00 00 00 00 00", 0, 0},
        {"0f 01 00 00 00 00 01 00 00 00 00 01 e4 04 00 00 01 00 aa", 1, 0}, /* ReadRecipients */
        {"11 02 00 00 00 00 00", 2, 0},
        {"11 02 00 00 00 00 01 03 " LTID, 2, 0},
        {"12 01 00 00 00 00 00", 1, 0},
        {"15 01 05 00 07 80", 1, 0x80070005}, /* QueryRows failure: walkable */
        {"17 01 00 00 00 00 01 00 00 00 05 00 00 00", 1, 0},
        {"18 01 00 00 00 00 00 05 00 00 00", 1, 0},
        {"1b 01 00 00 00 00 02 00 aa bb", 1, 0},
        {"1c 02 00 00 00 00 " FID "00", 2, 0},
        {"1c 02 00 00 00 00 " FID "01 00 01 01 00 01 00 53 00", 2, 0},
        {"1d 01 00 00 00 00 00", 1, 0},
        {"1d 01 05 00 07 80 01", 1, 0x80070005}, /* DeleteFolder: PartialCompletion always */
        {"1e 01 05 00 07 80 01", 1, 0x80070005},
        {"27 01 00 00 00 00 " FID "49 50 4d 00", 1, 0},
        {"2c 01 00 00 00 00 03 00 61 62 63", 1, 0},
        {"2c 01 05 00 07 80 00 00", 1, 0x80070005}, /* ReadStream: DataSize always */
        {"2d 01 05 00 07 80 00 00", 1, 0x80070005},
        {"31 01 00 00 00 00 05 00 08 1f 00 37 00 00 01 00 " FID "00 00 00 00", 1, 0},
        {"33 01 03 05 00 00 02 00 00 00 00", 1, 0x503}, /* MoveCopyMessages null destination */
        {"33 01 05 00 07 80 01", 1, 0x80070005},
        {"39 01 03 05 00 00 02 00 00 00", 1, 0x503}, /* CopyTo null destination */
        {"39 01 05 00 07 80", 1, 0x80070005},
        {"39 01 00 00 00 00 00 00", 1, 0},
        {"3a 01 03 05 00 00 02 00 00 00 " Q8 Q8, 1, 0x503},
        {"3a 01 00 00 00 00 " Q8 Q8, 1, 0},
        {"42 01 00 00 00 00 02 00 01 00 61 00 62 00", 1, 0}, /* GetOwningServers */
        {"43 01 00 00 00 00 " LTID, 1, 0},
        {"44 01 00 00 00 00 " MID, 1, 0},
        {"45 01 00 00 00 00 00", 1, 0},
        {"46 02 00 00 00 00 00 " MID "00 00 00 00 00 00 00 00", 2, 0}, /* OpenEmbeddedMessage */
        {"49 01 00 00 00 00 01 00 05 00 53 4d 54 50 00", 1, 0},
        {"4a 01 00 00 00 00 01", 1, 0},
        {"4a 01 00 00 00 00 00 01 00 03 00 f4 0f 07 00 00 00", 1, 0},
        {"4e 01 00 00 00 00 01 00 00 00 00 00 00 02 00 aa bb", 1, 0}, /* GetBuffer */
        {"4e 01 80 04 00 00 e8 03 00 00", 1, 0x480},                  /* ServerBusy: Backoff */
        {"4e 01 05 00 07 80", 1, 0x80070005},
        {"50 01 00 00 00 00 00 01 00 00 00 02 00 00 00", 1, 0},
        {"52 01 00 00 00 00 02 00 01 00 00 00 02 00 00 00", 1, 0},
        {"54 01 05 00 07 80 00 00 00 00 00 00 00 00 00", 1, 0x80070005}, /* PutBuffer */
        {"55 01 00 00 00 00 01 00 01 " GUID "02 41 00", 1, 0},
        {"56 01 00 00 00 00 02 00 00 80 01 80", 1, 0},
        {"56 01 80 03 04 00 01 00 00 00", 1, 0x40380}, /* ecWarnWithErrors: body follows */
        {"5f 01 00 00 00 00 01 00 00 80 00 " GUID "1c 85 00 00", 1, 0},
        {"60 01 00 00 00 00 01 00 " LTID, 1, 0},
        {"61 01 00 00 00 00 " GUID, 1, 0},
        {"63 01 00 00 00 00 01 02 00 aa bb", 1, 0},
        {"66 01 00 00 00 00 00", 1, 0},
        {"68 01 00 00 00 00 02 00 00 00 00 " FID "49 50 4d 00 " Q8 "01 00 " FID "01 0a 0f 01 04 80",
         1, 0}, /* GetReceiveFolderTable: a standard and a flagged row */
        {"6f 01 00 00 00 00 00 01 00 aa 02 00 bb cc 68 00", 1, 0}, /* OptionsData */
        {"6f 01 00 00 00 00 00 00 00 00 00", 1, 0},
        {"7b 01 00 00 00 00 00 00 00 10", 1, 0},
        {"7f 01 00 00 00 00 " GUID "00 00 00 00 00 10", 1, 0},
        {"9d 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", 1, 0},
        {"a3 01 00 00 00 00 03 00 00 00", 1, 0},
        {"6e 05 00", -1, 0},                                     /* Pending */
        {"f9 00 e8 03 00 00 01 02 e8 03 00 00 01 00 aa", -1, 0}, /* Backoff */
        {"fe 00 0c 05 00 00", 0, 0x50C},                         /* Logon failure */
        {"fe 00 78 04 00 00 01 04 2f 6f 3d 00", 0, 0x478},       /* Logon redirect */
        {"ff 40 00 01 00 05", -1, 0},                            /* BufferTooSmall: to the end */
};

#define NRESPS (sizeof(resps) / sizeof(resps[0]))

static void test_every_response(void **state)
{
	(void)state;
	for (size_t i = 0; i < NRESPS; i++) {
		size_t len;
		uint8_t *b = mbx_test_hex(resps[i].hex, &len);
		struct mbx_rop_resp p;
		struct rd r;

		rd_init(&r, b, len, 3);
		if (mbx_rop_resp_parse(&r, &p) != 0)
			fail_msg("response %zu: %s", i, r.err_msg);
		assert_int_equal(p.rop_id, b[0]);
		assert_int_equal(p.idx, resps[i].idx);
		assert_int_equal(p.rv, resps[i].rv);
		assert_int_equal(p.len, len);
		assert_int_equal(p.off, 3);
		assert_ptr_equal(p.raw, b);
		/* every prefix fails (RopBufferTooSmall: down to its SizeNeeded) */
		for (size_t n = 0; n < (b[0] == 0xFF ? 3 : len); n++) {
			rd_init(&r, n > 0 ? b : NULL, n, 0);
			assert_int_equal(mbx_rop_resp_parse(&r, &p), -1);
			assert_true(r.err_off <= n);
		}
		free(b);
	}
}

/* RopLogon's two success layouts, by the echoed Private flag. */
static void test_logon_responses(void **state)
{
	uint8_t b[200] = {0xFE, 0x00, 0, 0, 0, 0, 0x01};
	struct mbx_rop_resp p;
	struct rd r;

	(void)state;
	rd_init(&r, b, sizeof(b), 0);
	assert_int_equal(mbx_rop_resp_parse(&r, &p), 0);
	assert_int_equal(p.len, 166);
	b[6] = 0x04; /* Ghosted, not Private */
	rd_init(&r, b, sizeof(b), 0);
	assert_int_equal(mbx_rop_resp_parse(&r, &p), 0);
	assert_int_equal(p.len, 145);
	rd_init(&r, b, 144, 0);
	assert_int_equal(mbx_rop_resp_parse(&r, &p), -1);
	assert_non_null(strstr(r.err_msg, "RopLogon (0xFE): public logon response"));
	b[6] = 0x01;
	rd_init(&r, b, 165, 0);
	assert_int_equal(mbx_rop_resp_parse(&r, &p), -1);
}

/* The 6-byte failure response of every ROP that has the generic one. */
static void test_generic_failures(void **state)
{
	/* ROPs whose failure is not 6 bytes, or that have no failure response */
	static const uint8_t special[] = {0x01, 0x1D, 0x1E, 0x2A, 0x2C, 0x2D, 0x33,
	                                  0x35, 0x36, 0x54, 0x58, 0x66, 0x6E, 0x90,
	                                  0x91, 0x92, 0x9D, 0xA3, 0xF9, 0xFF};
	unsigned n = 0;

	(void)state;
	for (unsigned id = 0; id < 256; id++) {
		uint8_t b[7] = {(uint8_t)id, 0x07, 0x05, 0x00, 0x07, 0x80, 0xEE};
		struct mbx_rop_resp p;
		struct rd r;

		if (mbx_rop_name((uint8_t)id) == NULL ||
		    memchr(special, (int)id, sizeof(special)) != NULL)
			continue;
		rd_init(&r, b, sizeof(b), 0);
		if (mbx_rop_resp_parse(&r, &p) != 0)
			fail_msg("0x%02X: %s", id, r.err_msg);
		assert_int_equal(p.len, 6);
		assert_int_equal(p.idx, 7);
		assert_int_equal(p.rv, 0x80070005);
		n++;
	}
	assert_int_equal(n, MBX_ROP_COUNT - sizeof(special));
}

static void expect_resp_fail(const char *hex, const char *msg)
{
	size_t len;
	uint8_t *b = mbx_test_hex(hex, &len);
	struct mbx_rop_resp p;
	struct rd r;

	rd_init(&r, b, len, 0);
	assert_int_equal(mbx_rop_resp_parse(&r, &p), -1);
	if (strstr(r.err_msg, msg) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", msg, r.err_msg);
	free(b);
}

static void test_response_invalid(void **state)
{
	(void)state;
	expect_resp_fail("01 00 00 00 00 00", "RopRelease (0x01) has no response");
	expect_resp_fail("28 00 00 00 00 00", "cannot walk past Rop(0x28) (0x28): response layout");
	expect_resp_fail("2a 00 00 00 00 00", "cannot walk past RopNotify (0x2A)");
	expect_resp_fail("07 00 00 00 00 00 00",
	                 "cannot walk past RopGetPropertiesSpecific (0x07): "
	                 "success response layout depends on the request");
	expect_resp_fail("15 00 00 00 00 00", "cannot walk past RopQueryRows");
	expect_resp_fail("4f 00 00 00 00 00", "cannot walk past RopFindRow");
	expect_resp_fail("59 00 00 00 00 00", "cannot walk past RopExpandRow");
	expect_resp_fail("02 01 00 00 00 00 00 01 01 00 02 00 53 00",
	                 "CheapServerCount 2 exceeds ServerCount 1");
	expect_resp_fail("03 02 00 00 00 00 00 07", "StringType 0x07 is not defined");
	expect_resp_fail("68 01 00 00 00 00 01 00 00 00 02", "PropertyRow Flag 0x02");
	expect_resp_fail("fe 00 78 04 00 00 01 05 2f 6f 3d 00", "ServerName: need 5 bytes, 4 left");
}

/* A list of responses walks response by response, RopBufferTooSmall last. */
static void test_response_list(void **state)
{
	static const char hex[] = "05 01 00 00 00 00 0a 00 00 00"
	                          "12 01 00 00 00 00 00"
	                          "07 01 0f 01 04 80"
	                          "ff 20 00 15 00 01 00 01 32 00";
	static const uint8_t ids[] = {0x05, 0x12, 0x07, 0xFF};
	size_t len, k = 0;
	uint8_t *b = mbx_test_hex(hex, &len);
	struct rd r;

	(void)state;
	rd_init(&r, b, len, 0);
	while (rd_left(&r) > 0) {
		struct mbx_rop_resp p;

		if (mbx_rop_resp_parse(&r, &p) != 0)
			fail_msg("%s", r.err_msg);
		assert_int_equal(p.rop_id, ids[k++]);
	}
	assert_int_equal(k, 4);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_request),
	        cmocka_unit_test(test_request_truncation),
	        cmocka_unit_test(test_outlook_001),
	        cmocka_unit_test(test_outlook_002),
	        cmocka_unit_test(test_request_invalid),
	        cmocka_unit_test(test_restriction_depth),
	        cmocka_unit_test(test_restriction_types),
	        cmocka_unit_test(test_count_boundaries),
	        cmocka_unit_test(test_request_conditional),
	        cmocka_unit_test(test_every_response),
	        cmocka_unit_test(test_logon_responses),
	        cmocka_unit_test(test_generic_failures),
	        cmocka_unit_test(test_response_invalid),
	        cmocka_unit_test(test_response_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
