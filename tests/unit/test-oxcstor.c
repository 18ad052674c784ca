/*
 * test-oxcstor.c: RopLogon / RopRelease codecs (src/rop/oxcstor.c; MS-OXCROPS 2.2.3.1.1-2.2.3.1.4,
 * MS-OXCSTOR 2.2.1.1.x, protocol.md 1 and 2). The byte vectors below were written out by hand
 * from the field tables of protocol.md 1.1 and 2.1-2.5, not produced by the encoder.
 */
#include "mbx-test.h"

#include "mbx/oxcstor.h"
#include "mbx/types.h"
#include "mbx/wire.h"

/* protocol.md 1.4: LogonId 0, OutputHandleIndex 0, Private, OpenFlags 0x0100000C, StoreState 0,
 * EssdnSize 0x55, the alice DN and its NUL: 99 bytes. */
#define ALICE_DN                                                                                   \
	"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
static const char req_alice_hex[] = "FE 00 00 01 0C 00 00 01 00 00 00 00 55 00"
				    "2F 6F 3D 43 6F 6E 74 6F 73 6F 2F 6F 75 3D 45 78"
				    "63 68 61 6E 67 65 20 41 64 6D 69 6E 69 73 74 72"
				    "61 74 69 76 65 20 47 72 6F 75 70 20 28 46 59 44"
				    "49 42 4F 48 46 32 33 53 50 44 4C 54 29 2F 63 6E"
				    "3D 52 65 63 69 70 69 65 6E 74 73 2F 63 6E 3D 61"
				    "6C 69 63 65 00";

/* Public logon without Essdn: LogonId 1, OutputHandleIndex 2, LogonFlags 0, OpenFlags PUBLIC. */
static const char req_public_hex[] = "FE 01 02 00 02 00 00 00 00 00 00 00 00 00";
/* EssdnSize 1 and a lone NUL: an empty DN. */
static const char req_empty_dn_hex[] = "FE 05 07 01 00 00 00 01 00 00 00 00 01 00 00";

/* Private success (protocol.md 2.1), 166 bytes. OutputHandleIndex 3; LogonFlags Private; FIDs
 * ReplId 1 with gromox' well-known counters, except Shortcuts = ReplId 0x1234, GLOBCNT
 * 0xA1B2C3D4E5F6 (LE16 then 48-bit big-endian); ResponseFlags 0x07; MailboxGuid
 * {01234567-89ab-cdef-0123-456789abcdef}; ReplId 5; ReplGuid
 * {a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90}; LogonTime 2024-03-05 (Tue) 14:07:09; GwartTime
 * 0x01DA6F0B12345678; StoreState 0x10000000. */
static const char resp_private_hex[] = "FE 03 00 00 00 00"
				       "01"
				       "01 00 00 00 00 00 00 01"
				       "01 00 00 00 00 00 00 02"
				       "01 00 00 00 00 00 00 03"
				       "01 00 00 00 00 00 00 09"
				       "01 00 00 00 00 00 00 0D"
				       "01 00 00 00 00 00 00 0C"
				       "01 00 00 00 00 00 00 0A"
				       "01 00 00 00 00 00 00 0B"
				       "01 00 00 00 00 00 00 07"
				       "01 00 00 00 00 00 00 08"
				       "01 00 00 00 00 00 00 05"
				       "01 00 00 00 00 00 00 06"
				       "34 12 A1 B2 C3 D4 E5 F6"
				       "07"
				       "67 45 23 01 AB 89 EF CD 01 23 45 67 89 AB CD EF"
				       "05 00"
				       "D4 C3 B2 A1 F6 E5 18 07 29 3A 4B 5C 6D 7E 8F 90"
				       "09 07 0E 02 05 03 E8 07"
				       "78 56 34 12 0B 6F DA 01"
				       "00 00 00 10";

/* Public success (protocol.md 2.2), 145 bytes. OutputHandleIndex 1; LogonFlags Ghosted (no
 * Private); four FIDs ReplId 1 counters 1..4, nine zero FIDs; ReplId 1; ReplGuid
 * {76543210-ba98-fedc-0102-030405060708}; PerUserGuid zero. */
static const char resp_public_hex[] = "FE 01 00 00 00 00"
				      "04"
				      "01 00 00 00 00 00 00 01"
				      "01 00 00 00 00 00 00 02"
				      "01 00 00 00 00 00 00 03"
				      "01 00 00 00 00 00 00 04"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "00 00 00 00 00 00 00 00"
				      "01 00"
				      "10 32 54 76 98 BA DC FE 01 02 03 04 05 06 07 08"
				      "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

/* Redirect (protocol.md 2.3): OutputHandleIndex 2, ecWrongServer, LogonFlags Private,
 * ServerNameSize 10, "/o=C/cn=S" and its NUL: 18 bytes. */
static const char resp_redirect_hex[] = "FE 02 78 04 00 00 01 0A"
					"2F 6F 3D 43 2F 63 6E 3D 53 00";

/* Failures (protocol.md 2.4). */
static const char resp_in_transit_hex[] = "FE 00 0C 05 00 00";
static const char resp_unknown_user_hex[] = "FE 00 EB 03 00 00";
static const char resp_login_failure_hex[] = "FE 00 11 01 04 80";

/* --- helpers ---------------------------------------------------------------------------- */

struct vec {
	uint8_t *b;
	size_t n;
};

static struct vec hex(const char *h)
{
	struct vec v;

	v.b = mbx_test_hex(h, &v.n);
	return v;
}

static struct mbx_guid guid_bytes(const char *h)
{
	struct mbx_guid g;
	struct vec v = hex(h);

	assert_int_equal(v.n, 16);
	memcpy(g.b, v.b, 16);
	free(v.b);
	return g;
}

static struct mbx_logon_resp private_resp(void)
{
	static const uint64_t counters[MBX_LOGON_NFIDS] = {0x01, 0x02, 0x03, 0x09, 0x0d, 0x0c, 0x0a,
							   0x0b, 0x07, 0x08, 0x05, 0x06, 0x04};
	struct mbx_logon_resp p;

	memset(&p, 0, sizeof(p));
	p.kind = MBX_LOGON_RESP_PRIVATE;
	p.out_idx = 3;
	p.rv = 0;
	p.logon_flags = MBX_LOGON_PRIVATE;
	for (int i = 0; i < MBX_LOGON_NFIDS; i++)
		p.fids[i] = mbx_fid_make(1, counters[i]);
	p.fids[MBX_FOLDER_SHORTCUTS] = mbx_fid_make(0x1234, 0xA1B2C3D4E5F6ULL);
	p.response_flags = MBX_RESP_RESERVED | MBX_RESP_OWNER_RIGHT | MBX_RESP_SEND_AS_RIGHT;
	p.mailbox_guid = guid_bytes("67 45 23 01 AB 89 EF CD 01 23 45 67 89 AB CD EF");
	p.replid = 5;
	p.repl_guid = guid_bytes("D4 C3 B2 A1 F6 E5 18 07 29 3A 4B 5C 6D 7E 8F 90");
	p.logon_time = (struct mbx_logon_time){
		.sec = 9, .min = 7, .hour = 14, .wday = 2, .mday = 5, .month = 3, .year = 2024};
	p.gwart_time = 0x01DA6F0B12345678ULL;
	p.store_state = 0x10000000;
	return p;
}

static struct mbx_logon_resp public_resp(void)
{
	struct mbx_logon_resp p;

	memset(&p, 0, sizeof(p));
	p.kind = MBX_LOGON_RESP_PUBLIC;
	p.out_idx = 1;
	p.logon_flags = MBX_LOGON_GHOSTED;
	for (int i = 0; i < 4; i++)
		p.fids[i] = mbx_fid_make(1, (uint64_t)i + 1);
	p.replid = 1;
	p.repl_guid = guid_bytes("10 32 54 76 98 BA DC FE 01 02 03 04 05 06 07 08");
	return p;
}

static struct mbx_logon_resp redirect_resp(const char *server)
{
	struct mbx_logon_resp p;

	memset(&p, 0, sizeof(p));
	p.kind = MBX_LOGON_RESP_REDIRECT;
	p.out_idx = 2;
	p.rv = 0x478;
	p.logon_flags = MBX_LOGON_PRIVATE;
	snprintf(p.server, sizeof(p.server), "%s", server);
	return p;
}

static struct mbx_logon_resp failure_resp(uint8_t out_idx, uint32_t rv)
{
	struct mbx_logon_resp p;

	memset(&p, 0, sizeof(p));
	p.kind = MBX_LOGON_RESP_FAILURE;
	p.out_idx = out_idx;
	p.rv = rv;
	return p;
}

/* Field by field (the struct has padding, so no memcmp). */
static void assert_resp_equal(const struct mbx_logon_resp *a, const struct mbx_logon_resp *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->out_idx, b->out_idx);
	assert_int_equal(a->rv, b->rv);
	assert_int_equal(a->logon_flags, b->logon_flags);
	for (int i = 0; i < MBX_LOGON_NFIDS; i++) {
		assert_int_equal(a->fids[i].replid, b->fids[i].replid);
		assert_int_equal(a->fids[i].globcnt, b->fids[i].globcnt);
	}
	assert_int_equal(a->response_flags, b->response_flags);
	assert_memory_equal(a->mailbox_guid.b, b->mailbox_guid.b, 16);
	assert_int_equal(a->replid, b->replid);
	assert_memory_equal(a->repl_guid.b, b->repl_guid.b, 16);
	assert_int_equal(a->logon_time.sec, b->logon_time.sec);
	assert_int_equal(a->logon_time.min, b->logon_time.min);
	assert_int_equal(a->logon_time.hour, b->logon_time.hour);
	assert_int_equal(a->logon_time.wday, b->logon_time.wday);
	assert_int_equal(a->logon_time.mday, b->logon_time.mday);
	assert_int_equal(a->logon_time.month, b->logon_time.month);
	assert_int_equal(a->logon_time.year, b->logon_time.year);
	assert_int_equal(a->gwart_time, b->gwart_time);
	assert_int_equal(a->store_state, b->store_state);
	assert_memory_equal(a->per_user_guid.b, b->per_user_guid.b, 16);
	assert_string_equal(a->server, b->server);
}

/* Encodes resp and checks the bytes against want (exact length, exact bytes). */
static void check_resp_encode(const struct mbx_logon_resp *resp, const struct vec *want)
{
	uint8_t out[MBX_LOGON_RESP_MAX + 16];
	struct wr w;

	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, resp), 0);
	assert_int_equal(w.len, want->n);
	assert_memory_equal(out, want->b, want->n);
}

/* Decodes want, which must be consumed exactly, and compares with resp. */
static void check_resp_decode(const struct mbx_logon_resp *resp, const struct vec *want)
{
	struct mbx_logon_resp got;
	struct rd r;

	rd_init(&r, want->b, want->n, 0);
	assert_int_equal(mbx_roplogon_resp_decode(&r, &got), 0);
	assert_true(rd_ok(&r));
	assert_int_equal(r.off, want->n);
	assert_resp_equal(&got, resp);
}

/* Decodes in, expecting failure with msg_part in the message at absolute offset err_off. */
static void check_req_fails(const struct vec *in, size_t base, const char *msg_part, size_t err_off)
{
	struct mbx_logon_req req;
	struct rd r;

	rd_init(&r, in->b, in->n, base);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), -1);
	assert_false(rd_ok(&r));
	if (strstr(r.err_msg, msg_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err_msg, msg_part);
	assert_int_equal(r.err_off, err_off);
}

static void check_resp_fails(const struct vec *in, const char *msg_part, size_t err_off)
{
	struct mbx_logon_resp resp;
	struct rd r;

	rd_init(&r, in->b, in->n, 0);
	assert_int_equal(mbx_roplogon_resp_decode(&r, &resp), -1);
	assert_false(rd_ok(&r));
	if (strstr(r.err_msg, msg_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", r.err_msg, msg_part);
	assert_int_equal(r.err_off, err_off);
}

enum which { REQ, RESP, RELEASE };

/* Every proper prefix of a valid vector must fail cleanly: -1, an error message, an error
 * offset inside the prefix. Each prefix gets its own exact-size heap copy so that ASan sees
 * any read past it. */
static void truncation_sweep(const struct vec *v, enum which which)
{
	for (size_t n = 0; n < v->n; n++) {
		uint8_t *p = malloc(n > 0 ? n : 1);
		struct mbx_logon_req req;
		struct mbx_logon_resp resp;
		struct mbx_release_req rel;
		struct rd r;
		int rc = 0;

		assert_non_null(p);
		memcpy(p, v->b, n);
		rd_init(&r, p, n, 0);
		switch (which) {
		case REQ:
			rc = mbx_roplogon_req_decode(&r, &req);
			break;
		case RESP:
			rc = mbx_roplogon_resp_decode(&r, &resp);
			break;
		case RELEASE:
			rc = mbx_roprelease_req_decode(&r, &rel);
			break;
		}
		if (rc != -1)
			fail_msg("prefix of %zu of %zu bytes decoded", n, v->n);
		assert_false(rd_ok(&r));
		assert_true(r.err_msg[0] != '\0');
		assert_true(r.err_off <= n);
		free(p);
	}
}

/* --- requests --------------------------------------------------------------------------- */

static void test_req_example_decode(void **state)
{
	struct vec v = hex(req_alice_hex);
	struct mbx_logon_req req;
	struct rd r;

	assert_int_equal(v.n, 99);
	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(r.off, 99);
	assert_int_equal(req.logon_id, 0);
	assert_int_equal(req.out_idx, 0);
	assert_int_equal(req.logon_flags, MBX_LOGON_PRIVATE);
	assert_int_equal(req.open_flags, 0x0100000C);
	assert_int_equal(req.open_flags, MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | MBX_OPEN_HOME_LOGON |
						 MBX_OPEN_TAKE_OWNERSHIP);
	assert_int_equal(req.store_state, 0);
	assert_int_equal(req.essdn_size, 85);
	assert_int_equal(strlen(ALICE_DN), 84);
	assert_string_equal(req.essdn, ALICE_DN);
	/* The Essdn points into the input. */
	assert_ptr_equal((const uint8_t *)req.essdn, v.b + 14);
	free(v.b);
}

static void test_req_example_encode(void **state)
{
	struct vec v = hex(req_alice_hex);
	struct mbx_logon_req req = {.logon_id = 0,
				    .out_idx = 0,
				    .logon_flags = MBX_LOGON_PRIVATE,
				    .open_flags = 0x0100000C,
				    .store_state = 0,
				    .essdn = ALICE_DN};
	uint8_t out[128];
	struct wr w;

	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, 99);
	assert_memory_equal(out, v.b, 99);

	/* Exactly 99 bytes of room is enough; 98 overflows. */
	wr_init(&w, out, 99);
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	wr_init(&w, out, 98);
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), -1);
	assert_false(wr_ok(&w));
	free(v.b);
}

/* Every field lands where protocol.md 1.1 says, with distinct values in each. */
static void test_req_all_fields(void **state)
{
	struct vec v = hex("FE 7A 3C 0F 01 02 00 21 78 56 34 12 04 00 61 62 63 00");
	struct mbx_logon_req req;
	uint8_t out[64];
	struct wr w;
	struct rd r;

	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(req.logon_id, 0x7A);
	assert_int_equal(req.out_idx, 0x3C);
	assert_int_equal(req.logon_flags, 0x0F);
	assert_int_equal(req.open_flags, 0x21000201);
	assert_int_equal(req.store_state, 0x12345678); /* MUST be 0 for clients; ignored */
	assert_int_equal(req.essdn_size, 4);
	assert_string_equal(req.essdn, "abc");
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, v.n);
	assert_memory_equal(out, v.b, v.n);
	free(v.b);
}

/* EssdnSize 0: no Essdn, essdn is "", 14 bytes in total (MBX_LOGON_REQ_MIN). */
static void test_req_essdn_size_0(void **state)
{
	struct vec v = hex(req_public_hex);
	struct mbx_logon_req req;
	uint8_t out[64];
	struct wr w;
	struct rd r;

	assert_int_equal(v.n, MBX_LOGON_REQ_MIN);
	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(r.off, 14);
	assert_int_equal(req.logon_id, 1);
	assert_int_equal(req.out_idx, 2);
	assert_int_equal(req.logon_flags, 0);
	assert_int_equal(req.open_flags, MBX_OPEN_PUBLIC);
	assert_int_equal(req.essdn_size, 0);
	assert_non_null(req.essdn);
	assert_string_equal(req.essdn, "");

	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, v.n);
	assert_memory_equal(out, v.b, v.n);

	/* essdn NULL encodes the same way. */
	req.essdn = NULL;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, v.n);
	assert_memory_equal(out, v.b, v.n);
	free(v.b);
}

/* EssdnSize 1 with a lone NUL: the size includes the NUL, so this is an empty DN. Accepted;
 * essdn_size 1 is kept and re-encodes to the same bytes. */
static void test_req_essdn_size_1(void **state)
{
	struct vec v = hex(req_empty_dn_hex);
	struct vec bad = hex("FE 05 07 01 00 00 00 01 00 00 00 00 01 00 41");
	struct mbx_logon_req req;
	uint8_t out[64];
	struct wr w;
	struct rd r;

	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(r.off, 15);
	assert_int_equal(req.essdn_size, 1);
	assert_string_equal(req.essdn, "");
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, v.n);
	assert_memory_equal(out, v.b, v.n);

	/* EssdnSize 1 whose only byte is not a NUL. */
	check_req_fails(&bad, 0, "Essdn: 1-byte string does not end with a NUL", 14);
	free(v.b);
	free(bad.b);
}

/* EssdnSize 0xFFFF with 12 bytes left. The error points at the EssdnSize field. */
static void test_req_essdn_size_ffff(void **state)
{
	struct vec v = hex("FE 00 00 01 00 00 00 00 00 00 00 00 FF FF"
			   "61 62 63 64 65 66 67 68 69 6A 6B 00");

	check_req_fails(&v, 0, "EssdnSize 65535 exceeds the 12 bytes left", 12);
	/* With a base, the offset is absolute. */
	check_req_fails(&v, 1000, "EssdnSize 65535 exceeds the 12 bytes left", 1012);
	free(v.b);
}

/* EssdnSize one more than the bytes left (max + 1 for this buffer). */
static void test_req_essdn_size_one_short(void **state)
{
	struct vec v = hex("FE 00 00 01 00 00 00 00 00 00 00 00 05 00 61 62 63 00");

	check_req_fails(&v, 0, "EssdnSize 5 exceeds the 4 bytes left", 12);
	free(v.b);
}

/* The largest Essdn: 65534 characters and the NUL (EssdnSize 0xFFFF) decode and encode; 65535
 * characters cannot be encoded. */
static void test_req_essdn_max(void **state)
{
	size_t n = 14 + 65535;
	uint8_t *buf = calloc(1, n);
	uint8_t *out = malloc(n + 1);
	char *big = malloc(65536 + 1);
	struct mbx_logon_req req;
	struct wr w;
	struct rd r;

	assert_non_null(buf);
	assert_non_null(out);
	assert_non_null(big);
	buf[0] = 0xFE;
	buf[3] = 0x01;
	buf[12] = 0xFF;
	buf[13] = 0xFF;
	memset(buf + 14, 'x', 65534);
	buf[n - 1] = 0;
	rd_init(&r, buf, n, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(r.off, n);
	assert_int_equal(req.essdn_size, 0xFFFF);
	assert_int_equal(strlen(req.essdn), 65534);

	wr_init(&w, out, n + 1);
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, buf, n);

	memset(big, 'y', 65535);
	big[65535] = '\0';
	req.essdn = big;
	wr_init(&w, out, n + 1);
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), -1);
	assert_int_equal(w.len, 0); /* nothing written */
	free(buf);
	free(out);
	free(big);
}

static void test_req_essdn_no_nul(void **state)
{
	struct vec v = hex("FE 00 00 01 00 00 00 00 00 00 00 00 05 00 61 62 63 64 65");

	check_req_fails(&v, 0, "Essdn: 5-byte string does not end with a NUL", 18);
	free(v.b);
}

/* A NUL in the middle: the DN would be cut short, the rest smuggled past the lookup. */
static void test_req_essdn_inner_nul(void **state)
{
	struct vec v = hex("FE 00 00 01 00 00 00 00 00 00 00 00 05 00 61 62 00 64 00");
	struct vec v2 = hex("FE 00 00 01 00 00 00 00 00 00 00 00 03 00 00 00 00");

	check_req_fails(&v, 0, "Essdn: NUL at byte 2 of a 5-byte string", 16);
	check_req_fails(&v2, 0, "Essdn: NUL at byte 0 of a 3-byte string", 14);
	free(v.b);
	free(v2.b);
}

static void test_req_wrong_ropid(void **state)
{
	struct vec v = hex("FD 00 00 01 00 00 00 00 00 00 00 00 00 00");
	struct vec rel = hex("01 00 00");

	check_req_fails(&v, 0, "RopId 0xFD is not RopLogon (0xFE)", 0);
	check_req_fails(&v, 40, "RopId 0xFD is not RopLogon", 40);
	check_req_fails(&rel, 0, "RopId 0x01 is not RopLogon", 0);
	free(v.b);
	free(rel.b);
}

/* LogonFlags bits outside 0x0F (and unknown OpenFlags bits) are accepted and kept, so the
 * response can echo them unchanged (MS-OXCSTOR 2.2.1.1.3). */
static void test_req_unknown_flags_kept(void **state)
{
	struct vec v = hex("FE 00 00 F1 00 00 00 C0 00 00 00 00 02 00 78 00");
	struct mbx_logon_req req;
	uint8_t out[32];
	struct wr w;
	struct rd r;

	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(req.logon_flags, 0xF1);
	assert_int_equal(req.open_flags, 0xC0000000);
	assert_string_equal(req.essdn, "x");
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_req_encode(&w, &req), 0);
	assert_int_equal(w.len, v.n);
	assert_memory_equal(out, v.b, v.n);
	free(v.b);
}

/* The decoder stops at the end of the request: a RopRelease right behind it is untouched. */
static void test_req_followed_by_release(void **state)
{
	size_t n;
	uint8_t *one = mbx_test_hex(req_alice_hex, &n);
	uint8_t *buf = malloc(n + 3);
	struct mbx_logon_req req;
	struct mbx_release_req rel;
	struct rd r;

	assert_non_null(buf);
	memcpy(buf, one, n);
	buf[n] = 0x01;
	buf[n + 1] = 0x00;
	buf[n + 2] = 0x09;
	rd_init(&r, buf, n + 3, 0);
	assert_int_equal(mbx_roplogon_req_decode(&r, &req), 0);
	assert_int_equal(r.off, 99);
	assert_string_equal(req.essdn, ALICE_DN);
	assert_int_equal(mbx_roprelease_req_decode(&r, &rel), 0);
	assert_int_equal(rel.in_idx, 9);
	assert_int_equal(rd_left(&r), 0);
	free(one);
	free(buf);
}

static void test_req_truncation(void **state)
{
	const char *vecs[] = {req_alice_hex, req_public_hex, req_empty_dn_hex};

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		struct vec v = hex(vecs[i]);

		truncation_sweep(&v, REQ);
		free(v.b);
	}
}

/* Messages for a few prefixes: the field named is the one cut short. */
static void test_req_truncation_messages(void **state)
{
	struct vec v = hex(req_alice_hex);
	struct vec p;

	p = v;
	p.n = 0;
	check_req_fails(&p, 0, "RopId: need 1 bytes, 0 left", 0);
	p.n = 3;
	check_req_fails(&p, 0, "LogonFlags: need 1 bytes, 0 left", 3);
	p.n = 6;
	check_req_fails(&p, 0, "OpenFlags: need 4 bytes, 2 left", 4);
	p.n = 13;
	check_req_fails(&p, 0, "EssdnSize: need 2 bytes, 1 left", 12);
	p.n = 98;
	check_req_fails(&p, 0, "EssdnSize 85 exceeds the 84 bytes left", 12);
	free(v.b);
}

/* --- responses -------------------------------------------------------------------------- */

static void test_resp_private(void **state)
{
	struct vec v = hex(resp_private_hex);
	struct mbx_logon_resp p = private_resp();
	struct mbx_guid g;

	assert_int_equal(v.n, MBX_LOGON_RESP_PRIVATE_LEN);
	assert_int_equal(v.n, 166);
	/* MailboxGuid is in the Windows layout (Data1-3 little-endian). */
	assert_int_equal(mbx_guid_from_str("{01234567-89AB-CDEF-0123-456789ABCDEF}", &g), 0);
	assert_memory_equal(g.b, p.mailbox_guid.b, 16);
	check_resp_encode(&p, &v);
	check_resp_decode(&p, &v);
	/* The FolderIds sit at 7..110, ResponseFlags at 111, StoreState at 162 (protocol.md 2.1).
	 */
	assert_int_equal(v.b[7], 0x01);
	assert_int_equal(v.b[110], 0xF6);
	assert_int_equal(v.b[111], 0x07);
	assert_int_equal(v.b[165], 0x10);
	free(v.b);
}

static void test_resp_public(void **state)
{
	struct vec v = hex(resp_public_hex);
	struct mbx_logon_resp p = public_resp();

	assert_int_equal(v.n, MBX_LOGON_RESP_PUBLIC_LEN);
	assert_int_equal(v.n, 145);
	check_resp_encode(&p, &v);
	check_resp_decode(&p, &v);
	/* Private-only fields are not written: setting them changes nothing. */
	p.response_flags = 0x17;
	p.store_state = 1;
	p.gwart_time = 2;
	check_resp_encode(&p, &v);
	free(v.b);
}

static void test_resp_redirect(void **state)
{
	struct vec v = hex(resp_redirect_hex);
	struct mbx_logon_resp p = redirect_resp("/o=C/cn=S");

	assert_int_equal(v.n, 8 + 10);
	check_resp_encode(&p, &v);
	check_resp_decode(&p, &v);
	free(v.b);
}

/* The example of protocol.md 2.3: a 100-character server ESSDN, 109 bytes. */
static void test_resp_redirect_100(void **state)
{
	const char *dn = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configur"
			 "ation/cn=Servers/cn=EXMBX02";
	char name[101];
	struct mbx_logon_resp p;
	uint8_t out[MBX_LOGON_RESP_MAX];
	struct wr w;

	/* Pad the DN with 'x' to 100 characters (the example only fixes its length). */
	assert_true(strlen(dn) <= 100);
	memset(name, 'x', 100);
	memcpy(name, dn, strlen(dn));
	name[100] = '\0';
	p = redirect_resp(name);
	p.out_idx = 0;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), 0);
	assert_int_equal(w.len, 109);
	assert_memory_equal(out, "\xFE\x00\x78\x04\x00\x00\x01\x65\x2F\x6F\x3D\x43", 12);
	assert_int_equal(out[108], 0);
	{
		struct vec v = {out, w.len};

		check_resp_decode(&p, &v);
		truncation_sweep(&v, RESP);
	}
}

/* ServerNameSize boundaries: 0 and 1 (empty name) fail, 2 is the smallest, 255 (254
 * characters) the largest; 255 or 256 characters cannot be encoded. */
static void test_resp_redirect_boundaries(void **state)
{
	uint8_t out[MBX_LOGON_RESP_MAX + 8];
	struct mbx_logon_resp p;
	struct wr w;
	struct vec v;

	/* Encode: empty name. */
	p = redirect_resp("");
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	assert_int_equal(w.len, 0);

	/* Encode: one character, ServerNameSize 2. */
	p = redirect_resp("s");
	v = hex("FE 02 78 04 00 00 01 02 73 00");
	check_resp_encode(&p, &v);
	check_resp_decode(&p, &v);
	free(v.b);

	/* Encode: 254 characters, ServerNameSize 255 = 0xFF, 263 bytes = MBX_LOGON_RESP_MAX. */
	memset(&p, 0, sizeof(p));
	p = redirect_resp("");
	memset(p.server, 'a', 254);
	p.server[254] = '\0';
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), 0);
	assert_int_equal(w.len, MBX_LOGON_RESP_MAX);
	assert_int_equal(w.len, 263);
	assert_int_equal(out[7], 0xFF);
	assert_int_equal(out[8], 'a');
	assert_int_equal(out[261], 'a');
	assert_int_equal(out[262], 0);
	v = (struct vec){out, w.len};
	check_resp_decode(&p, &v);

	/* Encode: 255 characters (ServerNameSize would be 256). */
	memset(p.server, 'a', 255);
	p.server[255] = '\0';
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	assert_int_equal(w.len, 0);

	/* Encode: 256 characters, no NUL inside the array at all. */
	memset(p.server, 'a', sizeof(p.server));
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	assert_int_equal(w.len, 0);

	/* Decode: ServerNameSize 0 and 1. */
	v = hex("FE 02 78 04 00 00 01 00");
	check_resp_fails(&v, "ServerNameSize 0", 7);
	free(v.b);
	v = hex("FE 02 78 04 00 00 01 00 00");
	check_resp_fails(&v, "ServerNameSize 0", 7);
	free(v.b);
	v = hex("FE 02 78 04 00 00 01 01 00");
	check_resp_fails(&v, "ServerNameSize 1: ServerName is empty", 7);
	free(v.b);
}

static void test_resp_redirect_bad(void **state)
{
	struct vec v;

	/* ServerNameSize beyond the bytes left. */
	v = hex("FE 02 78 04 00 00 01 FF 61 62 00");
	check_resp_fails(&v, "ServerNameSize 255 exceeds the 3 bytes left", 7);
	free(v.b);
	/* No NUL at ServerNameSize. */
	v = hex("FE 02 78 04 00 00 01 03 61 62 63");
	check_resp_fails(&v, "ServerName: 3-byte string does not end with a NUL", 10);
	free(v.b);
	/* NUL before ServerNameSize. */
	v = hex("FE 02 78 04 00 00 01 04 61 00 62 00");
	check_resp_fails(&v, "ServerName: NUL at byte 1 of a 4-byte string", 9);
	free(v.b);
}

static void test_resp_failures(void **state)
{
	const struct {
		const char *hex;
		uint32_t rv;
	} rows[] = {
		{resp_in_transit_hex, 0x0000050C},
		{resp_unknown_user_hex, 0x000003EB},
		{resp_login_failure_hex, 0x80040111},
		{"FE 09 1C 01 00 00", 0x0000011C}, /* ecProfileNotConfigured, index 9 */
		{"FE 00 01 00 00 00", 1},          /* smallest non-zero */
		{"FE 00 FF FF FF FF", 0xFFFFFFFF},
		{"FE 00 77 04 00 00", 0x477}, /* ecWrongServer +/- 1 are plain failures */
		{"FE 00 79 04 00 00", 0x479},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vec v = hex(rows[i].hex);
		struct mbx_logon_resp p = failure_resp(v.b[1], rows[i].rv);

		assert_int_equal(v.n, MBX_LOGON_RESP_FAILURE_LEN);
		check_resp_encode(&p, &v);
		check_resp_decode(&p, &v);
		truncation_sweep(&v, RESP);
		free(v.b);
	}
}

/* A failure response is 6 bytes even if more bytes follow (the next ROP's response). */
static void test_resp_failure_then_more(void **state)
{
	struct vec v = hex("FE 00 0C 05 00 00 FE 01 EB 03 00 00");
	struct mbx_logon_resp p;
	struct rd r;

	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
	assert_int_equal(p.kind, MBX_LOGON_RESP_FAILURE);
	assert_int_equal(p.rv, 0x50C);
	assert_int_equal(r.off, 6);
	assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
	assert_int_equal(p.out_idx, 1);
	assert_int_equal(p.rv, 0x3EB);
	assert_int_equal(rd_left(&r), 0);
	free(v.b);
}

/* The layout follows from the echoed Private bit only: 0xF5 is private, 0xFE public. */
static void test_resp_layout_from_private_bit(void **state)
{
	struct vec v = hex(resp_private_hex);
	struct mbx_logon_resp p;
	struct rd r;

	v.b[6] = 0xF5;
	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
	assert_int_equal(p.kind, MBX_LOGON_RESP_PRIVATE);
	assert_int_equal(p.logon_flags, 0xF5);
	assert_int_equal(r.off, 166);

	/* Clearing Private makes the same bytes a public response of 145 bytes. */
	v.b[6] = 0xFE;
	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
	assert_int_equal(p.kind, MBX_LOGON_RESP_PUBLIC);
	assert_int_equal(r.off, 145);
	free(v.b);
}

/* The encoder refuses a kind that the decoder would read as another layout. */
static void test_resp_encode_inconsistent(void **state)
{
	uint8_t out[MBX_LOGON_RESP_MAX];
	struct mbx_logon_resp p;
	struct wr w;

	p = private_resp();
	p.rv = 0x50C;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	assert_int_equal(w.len, 0);

	p = private_resp();
	p.logon_flags = 0;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);

	p = public_resp();
	p.logon_flags = MBX_LOGON_PRIVATE;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);

	p = redirect_resp("/o=C/cn=S");
	p.rv = 0;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);

	p = failure_resp(0, 0);
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);

	p = failure_resp(0, 0x478);
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);

	p = failure_resp(0, 0x50C);
	p.kind = (enum mbx_logon_resp_kind)42;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	assert_int_equal(w.len, 0);
}

/* Each layout needs exactly its length of room. */
static void test_resp_encode_room(void **state)
{
	const struct {
		struct mbx_logon_resp p;
		size_t len;
	} rows[] = {
		{private_resp(), 166},
		{public_resp(), 145},
		{redirect_resp("/o=C/cn=S"), 18},
		{failure_resp(0, 0x50C), 6},
	};
	uint8_t out[MBX_LOGON_RESP_MAX];
	struct wr w;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		wr_init(&w, out, rows[i].len);
		assert_int_equal(mbx_roplogon_resp_encode(&w, &rows[i].p), 0);
		assert_int_equal(w.len, rows[i].len);
		wr_init(&w, out, rows[i].len - 1);
		assert_int_equal(mbx_roplogon_resp_encode(&w, &rows[i].p), -1);
		assert_false(wr_ok(&w));
	}
}

static void test_resp_truncation(void **state)
{
	const char *vecs[] = {resp_private_hex,    resp_public_hex,       resp_redirect_hex,
			      resp_in_transit_hex, resp_unknown_user_hex, resp_login_failure_hex};

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		struct vec v = hex(vecs[i]);

		truncation_sweep(&v, RESP);
		free(v.b);
	}
}

static void test_resp_truncation_messages(void **state)
{
	struct vec v = hex(resp_private_hex);
	struct vec p = v;

	p.n = 5;
	check_resp_fails(&p, "ReturnValue: need 4 bytes, 3 left", 2);
	p.n = 6;
	check_resp_fails(&p, "LogonFlags: need 1 bytes, 0 left", 6);
	/* Prefixes that end right before a field, so the offset does not depend on how the
	 * types.h helpers split their reads. */
	p.n = 103;
	check_resp_fails(&p, "FolderIds[12]", 103);
	p.n = 146;
	check_resp_fails(&p, "LogonTime", 146);
	p.n = 165;
	check_resp_fails(&p, "StoreState: need 4 bytes, 3 left", 162);
	free(v.b);

	v = hex(resp_public_hex);
	p = v;
	p.n = 129;
	check_resp_fails(&p, "PerUserGuid", 129);
	free(v.b);

	v = hex(resp_redirect_hex);
	p = v;
	p.n = 7;
	check_resp_fails(&p, "ServerNameSize: need 1 bytes, 0 left", 7);
	p.n = 17;
	check_resp_fails(&p, "ServerNameSize 10 exceeds the 9 bytes left", 7);
	free(v.b);
}

static void test_resp_wrong_ropid(void **state)
{
	struct vec v = hex("FF 00 0C 05 00 00");

	check_resp_fails(&v, "RopId 0xFF is not RopLogon (0xFE)", 0);
	free(v.b);
}

/* LogonTime out of range: rd_logon_time (types.h) validates, so decode fails naming the
 * field at its absolute offset (LogonTime starts at 146); the encoder refuses the same values,
 * so we never send what we would not read back. */
static void test_resp_logon_time_out_of_range(void **state)
{
	static const struct {
		int off; /* within LogonTime */
		unsigned val;
		const char *msg;
	} rows[] = {
		{0, 60, "Seconds 60"},    {1, 60, "Minutes 60"}, {2, 24, "Hour 24"},
		{3, 7, "DayOfWeek 7"},    {4, 0, "Day 0"},       {4, 32, "Day 32"},
		{5, 0, "Month 0"},        {5, 13, "Month 13"},   {6, 1600, "Year 1600"},
		{6, 30828, "Year 30828"}, {4, 30, "Day 30"}, /* 30 March is fine; see below */
	};
	struct mbx_logon_resp p;
	uint8_t out[MBX_LOGON_RESP_MAX];
	struct wr w;
	struct rd r;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vec m = hex(resp_private_hex);
		bool ok = i == sizeof(rows) / sizeof(rows[0]) - 1;

		if (rows[i].off == 6) {
			m.b[152] = (uint8_t)rows[i].val;
			m.b[153] = (uint8_t)(rows[i].val >> 8);
		} else {
			m.b[146 + rows[i].off] = (uint8_t)rows[i].val;
		}
		rd_init(&r, m.b, m.n, 0);
		if (ok) {
			assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
			assert_int_equal(p.logon_time.mday, 30);
			check_resp_encode(&p, &m);
		} else {
			assert_int_equal(mbx_roplogon_resp_decode(&r, &p), -1);
			if (strstr(r.err_msg, rows[i].msg) == NULL ||
			    strstr(r.err_msg, "LogonTime") == NULL)
				fail_msg("error \"%s\" lacks \"%s\"", r.err_msg, rows[i].msg);
			assert_int_equal(r.err_off, 146 + rows[i].off);
		}
		free(m.b);
	}

	/* 30 February is out of range for that month. */
	{
		struct vec m = hex(resp_private_hex);

		m.b[146 + 4] = 30;
		m.b[146 + 5] = 2;
		check_resp_fails(&m, "Day 30", 150);
		free(m.b);
	}

	/* Boundaries that pass: 23:59:59 Saturday 31 December 30827, and 1601-01-01. */
	{
		struct vec m = hex(resp_private_hex);
		static const uint8_t hi[8] = {59, 59, 23, 6, 31, 12, 0x6B, 0x78};
		static const uint8_t lo[8] = {0, 0, 0, 1, 1, 1, 0x41, 0x06};

		memcpy(m.b + 146, hi, 8);
		rd_init(&r, m.b, m.n, 0);
		assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
		assert_int_equal(p.logon_time.year, 30827);
		check_resp_encode(&p, &m);
		memcpy(m.b + 146, lo, 8);
		rd_init(&r, m.b, m.n, 0);
		assert_int_equal(mbx_roplogon_resp_decode(&r, &p), 0);
		assert_int_equal(p.logon_time.year, 1601);
		check_resp_encode(&p, &m);
		free(m.b);
	}

	/* The encoder refuses an invalid LogonTime, including the all-zero one. */
	p = private_resp();
	p.logon_time.month = 13;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	assert_int_equal(w.len, 0);
	memset(&p.logon_time, 0, sizeof(p.logon_time));
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), -1);
	/* A public response has no LogonTime: whatever the field holds is not checked. */
	p = public_resp();
	p.logon_time.month = 13;
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roplogon_resp_encode(&w, &p), 0);
	assert_int_equal(w.len, 145);
}

/* --- RopRelease ------------------------------------------------------------------------- */

static void test_release(void **state)
{
	struct vec v = hex("01 04 07");
	struct mbx_release_req req;
	struct mbx_release_req enc = {.logon_id = 4, .in_idx = 7};
	uint8_t out[3];
	struct wr w;
	struct rd r;

	rd_init(&r, v.b, v.n, 0);
	assert_int_equal(mbx_roprelease_req_decode(&r, &req), 0);
	assert_int_equal(r.off, 3);
	assert_int_equal(req.logon_id, 4);
	assert_int_equal(req.in_idx, 7);
	wr_init(&w, out, sizeof(out));
	assert_int_equal(mbx_roprelease_req_encode(&w, &enc), 0);
	assert_int_equal(w.len, 3);
	assert_memory_equal(out, v.b, 3);
	wr_init(&w, out, 2);
	assert_int_equal(mbx_roprelease_req_encode(&w, &enc), -1);
	truncation_sweep(&v, RELEASE);

	v.b[0] = 0xFE;
	rd_init(&r, v.b, v.n, 7);
	assert_int_equal(mbx_roprelease_req_decode(&r, &req), -1);
	assert_string_equal(r.err_msg, "RopId 0xFE is not RopRelease (0x01)");
	assert_int_equal(r.err_off, 7);
	free(v.b);
}

/* --- flag names ------------------------------------------------------------------------- */

static void test_logon_flags_str(void **state)
{
	char buf[128];

	assert_string_equal(mbx_logon_flags_str(0, buf, sizeof(buf)), "0");
	assert_string_equal(mbx_logon_flags_str(0x01, buf, sizeof(buf)), "Private");
	assert_string_equal(mbx_logon_flags_str(0x0F, buf, sizeof(buf)),
			    "Private|Undercover|Ghosted|SpoolerProcess");
	assert_string_equal(mbx_logon_flags_str(0x0A, buf, sizeof(buf)),
			    "Undercover|SpoolerProcess");
	assert_string_equal(mbx_logon_flags_str(0x31, buf, sizeof(buf)), "Private|0x30");
	assert_string_equal(mbx_logon_flags_str(0x80, buf, sizeof(buf)), "0x80");
	assert_string_equal(mbx_logon_flags_str(0xFF, buf, sizeof(buf)),
			    "Private|Undercover|Ghosted|SpoolerProcess|0xf0");
	assert_ptr_equal(mbx_logon_flags_str(1, buf, sizeof(buf)), buf);
}

static void test_open_flags_str(void **state)
{
	char buf[256];

	assert_string_equal(mbx_open_flags_str(0, buf, sizeof(buf)), "0");
	assert_string_equal(mbx_open_flags_str(0x0100000C, buf, sizeof(buf)),
			    "HOME_LOGON|TAKE_OWNERSHIP|USE_PER_MDB_REPLID_MAPPING");
	assert_string_equal(mbx_open_flags_str(0x01000009, buf, sizeof(buf)),
			    "USE_ADMIN_PRIVILEGE|TAKE_OWNERSHIP|USE_PER_MDB_REPLID_MAPPING");
	assert_string_equal(mbx_open_flags_str(0x20000702, buf, sizeof(buf)),
			    "PUBLIC|ALTERNATE_SERVER|IGNORE_HOME_MDB|NO_MAIL|SUPPORT_PROGRESS");
	assert_string_equal(mbx_open_flags_str(0x80000001, buf, sizeof(buf)),
			    "USE_ADMIN_PRIVILEGE|0x80000000");
	assert_string_equal(mbx_open_flags_str(0x00000030, buf, sizeof(buf)), "0x30");
	assert_string_equal(mbx_open_flags_str(0xFFFFFFFF, buf, sizeof(buf)),
			    "USE_ADMIN_PRIVILEGE|PUBLIC|HOME_LOGON|TAKE_OWNERSHIP|"
			    "ALTERNATE_SERVER|IGNORE_HOME_MDB|NO_MAIL|USE_PER_MDB_REPLID_MAPPING|"
			    "SUPPORT_PROGRESS|0xdefff8f0");
}

/* Small buffers truncate and stay NUL-terminated; size 0 writes nothing. */
static void test_flags_str_truncation(void **state)
{
	char buf[16];

	memset(buf, '#', sizeof(buf));
	assert_string_equal(mbx_logon_flags_str(0x03, buf, 10), "Private|U");
	assert_int_equal(buf[10], '#');
	assert_string_equal(mbx_logon_flags_str(0x01, buf, 8), "Private");
	assert_string_equal(mbx_logon_flags_str(0x01, buf, 7), "Privat");
	assert_string_equal(mbx_logon_flags_str(0x03, buf, 8), "Private");
	assert_string_equal(mbx_logon_flags_str(0x01, buf, 1), "");
	assert_string_equal(mbx_open_flags_str(0x80000000, buf, 5), "0x80");
	memset(buf, '#', sizeof(buf));
	assert_ptr_equal(mbx_logon_flags_str(0x01, buf, 0), buf);
	assert_int_equal(buf[0], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_example_decode),
		cmocka_unit_test(test_req_example_encode),
		cmocka_unit_test(test_req_all_fields),
		cmocka_unit_test(test_req_essdn_size_0),
		cmocka_unit_test(test_req_essdn_size_1),
		cmocka_unit_test(test_req_essdn_size_ffff),
		cmocka_unit_test(test_req_essdn_size_one_short),
		cmocka_unit_test(test_req_essdn_max),
		cmocka_unit_test(test_req_essdn_no_nul),
		cmocka_unit_test(test_req_essdn_inner_nul),
		cmocka_unit_test(test_req_wrong_ropid),
		cmocka_unit_test(test_req_unknown_flags_kept),
		cmocka_unit_test(test_req_followed_by_release),
		cmocka_unit_test(test_req_truncation),
		cmocka_unit_test(test_req_truncation_messages),
		cmocka_unit_test(test_resp_private),
		cmocka_unit_test(test_resp_public),
		cmocka_unit_test(test_resp_redirect),
		cmocka_unit_test(test_resp_redirect_100),
		cmocka_unit_test(test_resp_redirect_boundaries),
		cmocka_unit_test(test_resp_redirect_bad),
		cmocka_unit_test(test_resp_failures),
		cmocka_unit_test(test_resp_failure_then_more),
		cmocka_unit_test(test_resp_layout_from_private_bit),
		cmocka_unit_test(test_resp_encode_inconsistent),
		cmocka_unit_test(test_resp_encode_room),
		cmocka_unit_test(test_resp_truncation),
		cmocka_unit_test(test_resp_truncation_messages),
		cmocka_unit_test(test_resp_wrong_ropid),
		cmocka_unit_test(test_resp_logon_time_out_of_range),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_logon_flags_str),
		cmocka_unit_test(test_open_flags_str),
		cmocka_unit_test(test_flags_str_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
