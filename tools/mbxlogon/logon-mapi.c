/*
 * logon-mapi.c: mbxlogon's MAPI over HTTP bodies and the reading of the answers
 * ([MS-OXCMAPIHTTP] 2.2.4.1 Connect, 2.2.4.2 Execute, 2.2.4.3 Disconnect, 2.2.7 envelope;
 * protocol.md 5.4-5.7). The Execute RopBuffer is one extended buffer ([MS-OXCRPC] 2.2.2.1;
 * protocol.md 4) holding one RopLogon ([MS-OXCROPS] 2.2.3.1; protocol.md 1) and a one-entry
 * handle table. An answer is read layer by layer: HTTP status, the X-ResponseCode header, the
 * PROCESSING/PENDING/DONE envelope and its own X-ResponseCode, StatusCode, ErrorCode, then the
 * RopLogon response (all four layouts of protocol.md 2). Every byte goes through the core's
 * decoders. Pure: no I/O.
 */
#include "mbxlogon.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mbx/mapihttp.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/ropbuf.h"

/* A client opening its own private mailbox (protocol.md 1.3; what mbxbench sends too). */
#define MAPI_OPEN_FLAGS                                                                            \
	(MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | MBX_OPEN_HOME_LOGON | MBX_OPEN_TAKE_OWNERSHIP)
#define MAPI_CPID 1252u
#define MAPI_LCID 1033u

const char *logon_mapi_req_name(enum logon_mapi_req t)
{
	switch (t) {
	case LOGON_REQ_CONNECT:
		return "Connect";
	case LOGON_REQ_EXECUTE:
		return "Execute";
	case LOGON_REQ_DISCONNECT:
		return "Disconnect";
	}
	return "?";
}

static int mapi_execute_body(const char *legacy_dn, struct wr *w)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD], scratch[MBX_RHE_MAX_PAYLOAD];
	static uint8_t ropbuf[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
	struct mbx_logon_req req = {
	        .logon_id = 0,
	        .out_idx = 0,
	        .logon_flags = MBX_LOGON_PRIVATE,
	        .open_flags = MAPI_OPEN_FLAGS,
	        .store_state = 0,
	        .essdn = legacy_dn,
	};
	struct mbx_mh_execute_req ereq;
	struct wr pw, rw;
	size_t at;

	/* RopSize, RopLogon, the handle table (protocol.md 4.2, 4.3). */
	wr_init(&pw, payload, sizeof(payload));
	at = wr_reserve(&pw, 2);
	if (mbx_roplogon_req_encode(&pw, &req) != 0 || !wr_ok(&pw) || pw.len > 0xFFFF)
		return -1;
	wr_patch_u16le(&pw, at, (uint16_t)pw.len);
	wr_u32le(&pw, MBX_HANDLE_NONE);
	if (!wr_ok(&pw))
		return -1;
	wr_init(&rw, ropbuf, sizeof(ropbuf));
	if (mbx_rhe_write(&rw, payload, pw.len, 0, true, true, scratch) != 0)
		return -1;
	ereq = (struct mbx_mh_execute_req){
	        .flags = 0, /* compression and XOR allowed in the answer */
	        .rop_len = (uint32_t)rw.len,
	        .rop = ropbuf,
	        .max_rop_out = MBX_MH_ROP_MAX,
	};
	return mbx_mh_execute_req_encode(w, &ereq);
}

int logon_mapi_body(enum logon_mapi_req t, const char *legacy_dn, uint8_t *buf, size_t size)
{
	struct wr w;
	int rc = -1;

	wr_init(&w, buf, size);
	switch (t) {
	case LOGON_REQ_CONNECT: {
		struct mbx_mh_connect_req req = {
		        .user_dn = legacy_dn,
		        .flags = 0,
		        .cpid = MAPI_CPID,
		        .lcid_sort = MAPI_LCID,
		        .lcid_string = MAPI_LCID,
		};

		rc = mbx_mh_connect_req_encode(&w, &req);
		break;
	}
	case LOGON_REQ_EXECUTE:
		rc = mapi_execute_body(legacy_dn, &w);
		break;
	case LOGON_REQ_DISCONNECT: {
		struct mbx_mh_disconnect_req req = {.aux_len = 0};

		rc = mbx_mh_disconnect_req_encode(&w, &req);
		break;
	}
	}
	if (rc != 0 || !wr_ok(&w))
		return -1;
	return (int)w.len;
}

/* ---- reading answers ------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int
mapi_set(struct logon_mapi_outcome *o, enum logon_mapi_class cls, const char *fmt, ...)
{
	va_list ap;

	o->cls = cls;
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static int mapi_set_rd(struct logon_mapi_outcome *o, const char *what, const struct rd *r)
{
	return mapi_set(o, LOGON_MAPI_TRANSPORT, "%s: offset %zu: %s", what, r->err_off,
	                r->err_msg);
}

/* A printable excerpt of a diagnostic body, for messages. */
static void mapi_excerpt(const struct logon_http_rsp *rsp, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < rsp->len && n + 1 < size && n < 100; i++) {
		unsigned char c = rsp->body[i];

		out[n++] = (c >= 0x20 && c < 0x7F) ? (char)c : ' ';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static int mapi_rc(struct logon_mapi_outcome *o, const char *tn, uint32_t rc, const char *where,
                   const char *text)
{
	const char *name = mbx_mh_rc_name(rc);

	return mapi_set(
	        o,
	        rc == MBX_MH_RC_CONTEXT_NOT_FOUND ? LOGON_MAPI_CONTEXT_LOST : LOGON_MAPI_TRANSPORT,
	        "%s: X-ResponseCode %u (%s)%s%s%s%s", tn, (unsigned)rc, name != NULL ? name : "?",
	        where, text[0] != '\0' ? ": \"" : "", text, text[0] != '\0' ? "\"" : "");
}

/* The RopBuffer of an Execute answer: one extended buffer (no chaining was asked for) whose
 * RopsList starts with the RopLogon response. */
static int mapi_check_rops(const uint8_t *rop, size_t len, struct logon_mapi_outcome *o)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct mbx_rhe hdr;
	struct mbx_ropbuf rb;
	struct rd r, p, q;
	size_t plen = 0;
	char ecbuf[16];

	rd_init(&r, rop, len, 0);
	if (mbx_rhe_read(&r, &hdr, payload, &plen) != 0)
		return mapi_set_rd(o, "Execute: response RopBuffer", &r);
	if (!(hdr.flags & MBX_RHE_LAST) || rd_left(&r) != 0)
		return mapi_set(
		        o, LOGON_MAPI_TRANSPORT,
		        "Execute: the response RopBuffer holds more than one extended buffer");
	rd_init(&p, payload, plen, 0);
	if (mbx_ropbuf_decode(&p, &rb) != 0)
		return mapi_set_rd(o, "Execute: response ROP payload", &p);
	if (rb.rops_len == 0)
		return mapi_set(o, LOGON_MAPI_TRANSPORT, "Execute: the response RopsList is empty");
	if (rb.rops[0] != MBX_ROP_Logon)
		return mapi_set(o, LOGON_MAPI_TRANSPORT,
		                "Execute: the first response is RopId 0x%02X, not RopLogon",
		                rb.rops[0]);
	rd_init(&q, rb.rops, rb.rops_len, rb.rops_off);
	if (mbx_roplogon_resp_decode(&q, &o->logon) != 0)
		return mapi_set_rd(o, "Execute: RopLogon response", &q);
	if (o->logon.kind == MBX_LOGON_RESP_REDIRECT) {
		o->ec = o->logon.rv;
		return mapi_set(o, LOGON_MAPI_WRONG_SERVER, "RopLogon: %s (0x%08X) server %s",
		                mbx_ec_str(o->logon.rv, ecbuf, sizeof(ecbuf)),
		                (unsigned)o->logon.rv, o->logon.server);
	}
	if (o->logon.rv != 0) {
		o->ec = o->logon.rv;
		return mapi_set(o, LOGON_MAPI_REFUSED, "RopLogon: %s (0x%08X)",
		                mbx_ec_str(o->logon.rv, ecbuf, sizeof(ecbuf)),
		                (unsigned)o->logon.rv);
	}
	if (o->logon.kind != MBX_LOGON_RESP_PRIVATE)
		return mapi_set(
		        o, LOGON_MAPI_TRANSPORT,
		        "Execute: RopLogon answered a private logon with the public folders "
		        "layout");
	return mapi_set(o, LOGON_MAPI_OK, "ok");
}

static int mapi_check(enum logon_mapi_req t, const struct logon_http_rsp *rsp,
                      struct logon_mapi_outcome *o)
{
	char text[104], ecbuf[16];
	struct mbx_mh_env env;
	struct rd r;
	uint32_t st = 0;
	const char *tn = logon_mapi_req_name(t);
	int e;

	memset(o, 0, sizeof(*o));
	if (rsp->status == 401)
		return mapi_set(o, LOGON_MAPI_AUTH, "%s: HTTP 401: the credentials were refused",
		                tn);
	if (rsp->status != 200) {
		mapi_excerpt(rsp, text, sizeof(text));
		return mapi_set(o, LOGON_MAPI_TRANSPORT, "%s: HTTP status %ld%s%s%s", tn,
		                rsp->status, text[0] != '\0' ? ": \"" : "", text,
		                text[0] != '\0' ? "\"" : "");
	}
	if (!rsp->has_rc)
		return mapi_set(o, LOGON_MAPI_TRANSPORT, "%s: no X-ResponseCode header", tn);
	if (rsp->rc_bad)
		return mapi_set(o, LOGON_MAPI_TRANSPORT, "%s: X-ResponseCode is not a number", tn);
	if (rsp->rc != 0) {
		mapi_excerpt(rsp, text, sizeof(text));
		return mapi_rc(o, tn, rsp->rc, "", text);
	}

	rd_init(&r, rsp->body, rsp->len, 0);
	e = mbx_mh_env_parse(&r, &env);
	if (e == MBX_MH_ENV_MORE)
		return mapi_set(o, LOGON_MAPI_TRANSPORT, "%s: the body ends inside the envelope",
		                tn);
	if (e != MBX_MH_ENV_DONE)
		return mapi_set_rd(o, tn, &r);
	if (env.has_response_code && env.response_code != 0)
		return mapi_rc(o, tn, env.response_code, " in the DONE block", "");
	if (mbx_mh_rsp_status(&r, &st) != 0)
		return mapi_set_rd(o, tn, &r);
	if (st != 0) {
		struct mbx_mh_failure f;

		if (mbx_mh_failure_decode(&r, &f) != 0)
			return mapi_set_rd(o, tn, &r);
		return mapi_set(o, LOGON_MAPI_TRANSPORT, "%s: StatusCode %s (0x%08X)", tn,
		                mbx_ec_str(st, ecbuf, sizeof(ecbuf)), (unsigned)st);
	}

	switch (t) {
	case LOGON_REQ_CONNECT: {
		struct mbx_mh_connect_rsp c;

		if (mbx_mh_connect_rsp_decode(&r, &c, o->display_name, sizeof(o->display_name)) !=
		    0)
			return mapi_set_rd(o, tn, &r);
		if (c.error_code != 0) {
			o->ec = c.error_code;
			return mapi_set(o, LOGON_MAPI_REFUSED, "Connect: ErrorCode %s (0x%08X)",
			                mbx_ec_str(c.error_code, ecbuf, sizeof(ecbuf)),
			                (unsigned)c.error_code);
		}
		if (!rsp->set_context || !rsp->set_sequence)
			return mapi_set(o, LOGON_MAPI_TRANSPORT,
			                "Connect: the response sets no %s and %s cookies",
			                MBX_MH_COOKIE_CONTEXT, MBX_MH_COOKIE_SEQUENCE);
		return mapi_set(o, LOGON_MAPI_OK, "ok");
	}
	case LOGON_REQ_EXECUTE: {
		struct mbx_mh_execute_rsp x;

		if (mbx_mh_execute_rsp_decode(&r, &x) != 0)
			return mapi_set_rd(o, tn, &r);
		if (x.error_code != 0)
			return mapi_set(o, LOGON_MAPI_TRANSPORT, "Execute: ErrorCode %s (0x%08X)",
			                mbx_ec_str(x.error_code, ecbuf, sizeof(ecbuf)),
			                (unsigned)x.error_code);
		return mapi_check_rops(x.rop, x.rop_len, o);
	}
	case LOGON_REQ_DISCONNECT: {
		struct mbx_mh_disconnect_rsp d;

		if (mbx_mh_disconnect_rsp_decode(&r, &d) != 0)
			return mapi_set_rd(o, tn, &r);
		if (d.error_code != 0)
			return mapi_set(o, LOGON_MAPI_TRANSPORT,
			                "Disconnect: ErrorCode %s (0x%08X)",
			                mbx_ec_str(d.error_code, ecbuf, sizeof(ecbuf)),
			                (unsigned)d.error_code);
		return mapi_set(o, LOGON_MAPI_OK, "ok");
	}
	}
	return mapi_set(o, LOGON_MAPI_TRANSPORT, "unknown request type");
}

void logon_mapi_check(enum logon_mapi_req t, const struct logon_http_rsp *rsp,
                      struct logon_mapi_outcome *o_r)
{
	(void)mapi_check(t, rsp, o_r);
}
