/*
 * fuzz-mh-bodies.c: libFuzzer harness for the MAPI/HTTP codecs (src/mapihttp/mh-codec.c,
 * mh-aux.c, mh-envelope.c; [MS-OXCMAPIHTTP] 2.2.4.x, 2.2.6, 2.2.7; [MS-OXCRPC] 2.2.2.2;
 * protocol.md 5, 6).
 *
 * The first byte picks what the rest of the input is fed to (modulo the number of targets):
 *   0-4   request decoders (Connect, Execute, Disconnect, NotificationWait, PING),
 *   5-9   response decoders (Connect, Execute, Disconnect, NotificationWait, failure),
 *   10    an AuxiliaryBuffer (mbx_mh_aux_in_read) and its blocks,
 *   11    a Connect rgbAuxOut (mbx_mh_aux_connect_read),
 *   12    the response envelope parser,
 *   13    the header value checks, on the rest as a NUL-terminated string.
 * A body that decodes must re-encode to exactly the same bytes, and not fit one byte less
 * (leaving the writer rolled back). A failure must leave an error inside the input. The
 * envelope parser must agree with itself on prefixes. Any mismatch aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/mapihttp.h"
#include "mbx/rhe.h"
#include "mbx/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 7 /* absolute offset given to readers, to check error offsets are absolute */

static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
static char name[MBX_MH_DISPLAYNAME_UTF8_MAX];

static void die(const char *what, const struct rd *r)
{
	fprintf(stderr, "%s: %s at %zu\n", what, r != NULL ? r->err_msg : "",
	        r != NULL ? r->err_off : 0);
	abort();
}

/* A decoder's failure must name an offset inside the input. */
static void check_failure(const struct rd *r, size_t n, const char *what)
{
	if (rd_ok(r) || r->err_msg[0] == '\0' || r->err_off < BASE || r->err_off > BASE + n)
		die(what, r);
}

union body {
	struct mbx_mh_connect_req creq;
	struct mbx_mh_connect_rsp crsp;
	struct mbx_mh_execute_req ereq;
	struct mbx_mh_execute_rsp ersp;
	struct mbx_mh_disconnect_req dreq;
	struct mbx_mh_disconnect_rsp drsp;
	struct mbx_mh_nwait_req nreq;
	struct mbx_mh_nwait_rsp nrsp;
	struct mbx_mh_failure fail;
};

static int decode(unsigned sel, struct rd *r, union body *b)
{
	switch (sel) {
	case 0:
		return mbx_mh_connect_req_decode(r, &b->creq);
	case 1:
		return mbx_mh_execute_req_decode(r, &b->ereq);
	case 2:
		return mbx_mh_disconnect_req_decode(r, &b->dreq);
	case 3:
		return mbx_mh_nwait_req_decode(r, &b->nreq);
	case 4:
		return mbx_mh_ping_req_decode(r);
	case 5:
		return mbx_mh_connect_rsp_decode(r, &b->crsp, name, sizeof(name));
	case 6:
		return mbx_mh_execute_rsp_decode(r, &b->ersp);
	case 7:
		return mbx_mh_disconnect_rsp_decode(r, &b->drsp);
	case 8:
		return mbx_mh_nwait_rsp_decode(r, &b->nrsp);
	default:
		return mbx_mh_failure_decode(r, &b->fail);
	}
}

static int encode(unsigned sel, struct wr *w, const union body *b)
{
	switch (sel) {
	case 0:
		return mbx_mh_connect_req_encode(w, &b->creq);
	case 1:
		return mbx_mh_execute_req_encode(w, &b->ereq);
	case 2:
		return mbx_mh_disconnect_req_encode(w, &b->dreq);
	case 3:
		return mbx_mh_nwait_req_encode(w, &b->nreq);
	case 4:
		return 0; /* PING: nothing */
	case 5:
		return mbx_mh_connect_rsp_encode(w, &b->crsp);
	case 6:
		return mbx_mh_execute_rsp_encode(w, &b->ersp);
	case 7:
		return mbx_mh_disconnect_rsp_encode(w, &b->drsp);
	case 8:
		return mbx_mh_nwait_rsp_encode(w, &b->nrsp);
	default:
		return mbx_mh_failure_encode(w, &b->fail);
	}
}

static void fuzz_body(unsigned sel, const uint8_t *p, size_t n)
{
	union body b;
	struct rd r;
	struct wr w;
	uint8_t *out;

	memset(&b, 0, sizeof(b));
	rd_init(&r, p, n, BASE);
	if (decode(sel, &r, &b) != 0) {
		check_failure(&r, n, "body decoder failed without a proper error");
		return;
	}
	if (!rd_ok(&r) || rd_left(&r) != 0)
		die("body decoder succeeded with bytes left", &r);
	out = malloc(n > 0 ? n : 1);
	if (out == NULL)
		abort();
	wr_init(&w, out, n);
	if (encode(sel, &w, &b) != 0 || w.len != n || (n > 0 && memcmp(out, p, n) != 0))
		die("re-encoding differs", NULL);
	if (n > 0) {
		wr_init(&w, out, n - 1);
		if (encode(sel, &w, &b) != MBX_MH_ERR_ROOM || w.len != 0 || !wr_ok(&w))
			die("encoding into one byte less did not fail cleanly", NULL);
	}
	free(out);
	/* Execute responses: the in-place writer gives the same bytes. */
	if (sel == 6) {
		out = malloc(n);
		if (out == NULL)
			abort();
		wr_init(&w, out, n);
		size_t begin = mbx_mh_execute_rsp_begin(&w, b.ersp.error_code);

		wr_bytes(&w, b.ersp.rop, b.ersp.rop_len);
		if (begin != 0 ||
		    mbx_mh_execute_rsp_finish(&w, begin, b.ersp.aux, b.ersp.aux_len) != 0 ||
		    w.len != n || (b.ersp.flags == 0 && memcmp(out, p, n) != 0))
			die("in-place Execute response differs", NULL);
		free(out);
	}
}

static void fuzz_aux(const uint8_t *p, size_t n)
{
	struct rd r;
	size_t len = 0;
	struct mbx_mh_aux_iter it;
	struct mbx_mh_aux_block blk;
	int rc;

	rd_init(&r, p, n, BASE);
	if (mbx_mh_aux_in_read(&r, payload, &len) != 0) {
		check_failure(&r, n, "aux read failed without a proper error");
		return;
	}
	if (len > MBX_RHE_MAX_PAYLOAD || rd_left(&r) != 0)
		die("aux read accepted a bad buffer", &r);
	/* The blocks tile the payload exactly. */
	mbx_mh_aux_iter_init(&it, payload, len, 0);
	size_t total = 0;

	while ((rc = mbx_mh_aux_next(&it, &blk)) == 1) {
		if (blk.size < MBX_MH_AUX_HDRLEN || blk.off != total ||
		    blk.data_len != (size_t)blk.size - MBX_MH_AUX_HDRLEN)
			die("aux block inconsistent", NULL);
		total += blk.size;
		(void)mbx_mh_aux_known(blk.version, blk.type);
		(void)mbx_mh_aux_type_name(blk.type);
	}
	if (rc != 0 || total != len)
		die("aux blocks do not tile the payload", &it.r);
}

static void fuzz_aux_connect(const uint8_t *p, size_t n)
{
	struct mbx_mh_aux_connect c, back;
	uint8_t out[MBX_MH_AUX_CONNECT_LEN];
	struct rd r;
	struct wr w;

	rd_init(&r, p, n, BASE);
	if (mbx_mh_aux_connect_read(&r, &c) != 0) {
		check_failure(&r, n, "aux connect read failed without a proper error");
		return;
	}
	wr_init(&w, out, sizeof(out));
	if (mbx_mh_aux_connect_write(&w, &c) != 0 || w.len != sizeof(out))
		die("aux connect write failed", NULL);
	rd_init(&r, out, w.len, 0);
	if (mbx_mh_aux_connect_read(&r, &back) != 0 || memcmp(&c, &back, sizeof(c)) != 0)
		die("aux connect round trip differs", &r);
}

static void fuzz_envelope(const uint8_t *p, size_t n)
{
	struct mbx_mh_env env, env2;
	struct rd r;
	int rc;

	rd_init(&r, p, n, BASE);
	rc = mbx_mh_env_parse(&r, &env);
	if (rc == MBX_MH_ENV_BAD) {
		check_failure(&r, n, "envelope failed without a proper error");
		return;
	}
	if (rc == MBX_MH_ENV_MORE) {
		if (!rd_ok(&r) || rd_pos(&r) != BASE)
			die("envelope MORE moved the reader", &r);
		return;
	}
	if (rc != MBX_MH_ENV_DONE || env.body_off < BASE || env.body_off > BASE + n ||
	    rd_pos(&r) != env.body_off)
		die("envelope DONE inconsistent", &r);
	/* The stream up to the body is enough; one byte less is not. */
	size_t head = env.body_off - BASE;

	rd_init(&r, p, head, BASE);
	if (mbx_mh_env_parse(&r, &env2) != MBX_MH_ENV_DONE || env2.body_off != env.body_off ||
	    env2.pending != env.pending || env2.response_code != env.response_code)
		die("envelope head alone parses differently", &r);
	rd_init(&r, p, head - 1, BASE);
	if (mbx_mh_env_parse(&r, &env2) != MBX_MH_ENV_MORE)
		die("envelope head minus one byte is not MORE", &r);
}

static void fuzz_headers(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	const char *why, *val = NULL;
	size_t len = 0;
	uint16_t ver[3];
	struct mbx_guid g;
	uint64_t counter;

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	(void)mbx_mh_hdr_request_id_check(s, &why);
	(void)mbx_mh_hdr_client_info_check(s, &why);
	(void)mbx_mh_hdr_client_app_check(s, &why);
	(void)mbx_mh_hdr_content_type_check(s, &why);
	(void)mbx_mh_hdr_guid_counter(s, &g, &counter);
	(void)mbx_mh_reqtype_parse(s);
	(void)mbx_mh_cookie_value_check(s, strlen(s), &why);
	if (mbx_mh_hdr_client_version(s, ver) == 0) {
		char again[64];
		uint16_t ver2[3];

		snprintf(again, sizeof(again), "Outlook/%u.%u.%u.%u", ver[0] >> 8, ver[0] & 0xFF,
		         ver[1] & 0x7FFF, ver[2]);
		if ((ver[1] & 0x8000) == 0 || mbx_mh_hdr_client_version(again, ver2) != 0 ||
		    memcmp(ver, ver2, sizeof(ver)) != 0)
			die("client version does not round-trip", NULL);
	}
	if (mbx_mh_cookie_find(s, MBX_MH_COOKIE_CONTEXT, &val, &len, &why) == 1 &&
	    (val < s || val + len > s + strlen(s)))
		die("cookie value outside the header", NULL);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;

	if (size == 0)
		return 0;
	sel = data[0] % 14;
	data++;
	size--;
	if (sel <= 9)
		fuzz_body(sel, data, size);
	else if (sel == 10)
		fuzz_aux(data, size);
	else if (sel == 11)
		fuzz_aux_connect(data, size);
	else if (sel == 12)
		fuzz_envelope(data, size);
	else
		fuzz_headers(data, size);
	return 0;
}
