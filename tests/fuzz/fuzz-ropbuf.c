/*
 * fuzz-ropbuf.c: libFuzzer harness for the ROP buffer (src/rop/ropbuf.c, src/rop/rop-size.c;
 * MS-OXCROPS 2.2.1, 2.2.15.1). Input: MaxRopOut (u16 LE, the payload limit), one byte
 * repeated as the public-logon bitmap, then a payload (RopSize, RopsList, handle table).
 * The payload is decoded, every request walked, the list executed with fake handlers for
 * RopLogon, RopRelease, RopOpenFolder and RopGetPropertiesSpecific, and the output checked: it
 * fits the limit, decodes as a ROP buffer with the request's handle count, walks as a response
 * list with RopBufferTooSmall last carrying a suffix of the requests. The input's RopsList and
 * the raw input are also walked as response lists. Errors must carry an offset in the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/ropbuf.h"
#include "mbx/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 3

static uint8_t out[MBX_RHE_MAX_PAYLOAD];

static void die(const char *what, const struct rd *r)
{
	fprintf(stderr, "fuzz-ropbuf: %s (err_off %zu: \"%s\")\n", what, r != NULL ? r->err_off : 0,
	        r != NULL ? r->err_msg : "");
	abort();
}

static void check_failed(const struct rd *r, size_t base, size_t len, const char *what)
{
	if (rd_ok(r) || r->err_msg[0] == '\0' || r->err_off < base || r->err_off > base + len)
		die(what, r);
}

static int h_logon(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req, struct wr *w)
{
	(void)ctx;
	if (req->logon_id & 1) {
		mbx_rop_write_failure(w, req->rop_id, (uint8_t)req->resp_idx, ecUnknownUser);
		return 0;
	}
	wr_u8(w, req->rop_id);
	wr_u8(w, (uint8_t)req->resp_idx);
	wr_u32le(w, 0);
	wr_u8(w, 0x01); /* LogonFlags: Private, so 166 bytes */
	wr_zero(w, 166 - 7);
	ex->handles[req->out_idx] = 0x100u + req->logon_id;
	return 0;
}

static int h_release(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                     struct wr *w)
{
	(void)ctx;
	(void)w;
	ex->handles[req->in_idx] = MBX_HANDLE_NONE;
	return 0;
}

static int h_open_folder(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                         struct wr *w)
{
	(void)ctx;
	if (ex->handles[req->in_idx] == MBX_HANDLE_NONE) {
		mbx_rop_write_failure(w, req->rop_id, (uint8_t)req->resp_idx, ecNullObject);
		return 0;
	}
	wr_u8(w, req->rop_id);
	wr_u8(w, (uint8_t)req->resp_idx);
	wr_u32le(w, 0);
	wr_u8(w, 0); /* HasRules */
	wr_u8(w, 0); /* IsGhosted */
	ex->handles[req->out_idx] = 0x200u + req->in_idx;
	return 0;
}

/* Stops the whole call for LogonId 0xEE, fails the ROP otherwise. */
static int h_get_props(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                       struct wr *w)
{
	(void)ctx;
	if (req->logon_id == 0xEE)
		return mbx_rop_exec_fail(ex, ecMAPIOOM);
	mbx_rop_write_failure(w, req->rop_id, (uint8_t)req->resp_idx, ecNotFound);
	return 0;
}

static const struct mbx_rop_handler handlers[] = {
        {h_logon, 166}, {h_release, 0}, {h_open_folder, 8}, {h_get_props, 6}};

static const struct mbx_rop_handler *lookup(void *ctx, uint8_t id)
{
	(void)ctx;
	switch (id) {
	case MBX_ROP_Logon:
		return &handlers[0];
	case MBX_ROP_Release:
		return &handlers[1];
	case MBX_ROP_OpenFolder:
		return &handlers[2];
	case MBX_ROP_GetPropertiesSpecific:
		return &handlers[3];
	default:
		return NULL;
	}
}

static void walk_responses(const uint8_t *p, size_t n, size_t base)
{
	struct rd r;

	rd_init(&r, p, n, base);
	while (rd_left(&r) > 0) {
		struct mbx_rop_resp q;
		size_t at = rd_pos(&r);

		if (mbx_rop_resp_parse(&r, &q) != 0) {
			check_failed(&r, base, n, "response walk failed badly");
			return;
		}
		if (q.len == 0 || q.off != at || q.raw != p + (at - base))
			die("response without bytes", &r);
	}
}

/* Checks an executor output: limit, RopSize, handle table, responses, RopBufferTooSmall. */
static void check_output(const struct mbx_ropbuf *in, const struct mbx_rop_exec *ex, size_t len,
                         size_t cap)
{
	struct mbx_ropbuf ob;
	struct rd r, l;
	unsigned nresp = 0;
	bool last_bts = false;

	if (len > cap)
		die("output exceeds the limit", NULL);
	rd_init(&r, out, len, 0);
	if (mbx_ropbuf_decode(&r, &ob) != 0)
		die("output does not decode", &r);
	if (ob.nhandles != in->nhandles ||
	    memcmp(ob.handles, ex->handles, ob.nhandles * sizeof(ob.handles[0])) != 0)
		die("output handle table", NULL);
	rd_init(&l, ob.rops, ob.rops_len, ob.rops_off);
	while (rd_left(&l) > 0) {
		struct mbx_rop_resp q;

		if (last_bts)
			die("response after RopBufferTooSmall", &l);
		if (mbx_rop_resp_parse(&l, &q) != 0)
			die("output response does not walk", &l);
		nresp++;
		if (q.rop_id == MBX_ROP_BufferTooSmall) {
			size_t rest = q.len - 3;

			last_bts = true;
			if (!ex->too_small || mbx_le16(q.raw + 1) != ex->size_needed ||
			    rest > in->rops_len ||
			    memcmp(q.raw + 3, in->rops + in->rops_len - rest, rest) != 0)
				die("RopBufferTooSmall does not carry the unprocessed requests",
				    NULL);
		}
	}
	if (last_bts != ex->too_small || nresp > ex->nrops + (ex->too_small ? 1u : 0u))
		die("response count", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pub[32];
	const uint8_t *payload;
	size_t plen, cap;
	struct mbx_ropbuf rb;
	struct mbx_rop_exec ex;
	struct rd r, l;
	struct wr w;

	walk_responses(data, size, 0);
	if (size < HDR)
		return 0;
	cap = mbx_le16(data);
	if (cap > sizeof(out))
		cap = sizeof(out);
	memset(pub, data[2], sizeof(pub));
	payload = data + HDR;
	plen = size - HDR;

	rd_init(&r, plen > 0 ? payload : NULL, plen, HDR);
	if (mbx_ropbuf_decode(&r, &rb) != 0) {
		check_failed(&r, HDR, plen, "decode failed badly");
		return 0;
	}
	rb.public_logons = (data[2] & 0x80) ? pub : NULL;

	/* every request, as the executor will see them */
	rd_init(&l, rb.rops, rb.rops_len, rb.rops_off);
	while (rd_left(&l) > 0) {
		struct mbx_rop_req q;
		size_t at = rd_pos(&l);

		if (mbx_rop_req_parse_ex(&l, rb.public_logons, &q) != 0) {
			check_failed(&l, rb.rops_off, rb.rops_len, "request walk failed badly");
			break;
		}
		if (q.len == 0 || q.off != at || q.rop_id != q.raw[0] ||
		    !mbx_rop_has_request(q.rop_id))
			die("request without bytes", &l);
	}
	walk_responses(rb.rops, rb.rops_len, rb.rops_off);

	wr_init(&w, out, cap);
	if (mbx_ropbuf_execute(&rb, &w, lookup, NULL, &ex) == 0) {
		if (ex.ec != 0)
			die("success with an ec", NULL);
		check_output(&rb, &ex, w.len, cap);
	} else if (ex.ec == 0 || w.len != 0) {
		die("failure without an ec or with output", NULL);
	}
	return 0;
}
