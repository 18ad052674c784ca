/*
 * bench-mapi.c: the MAPI over HTTP side of mbxbench(1). Builds the request bodies once
 * ([MS-OXCMAPIHTTP] 2.2.4.1.1 Connect, 2.2.4.2.1 Execute, 2.2.4.3.1 Disconnect; protocol.md
 * 5.6), the Execute RopBuffer being one extended buffer ([MS-OXCRPC] 2.2.2.1; protocol.md 4)
 * that holds RopLogon (MS-OXCROPS 2.2.3.1; protocol.md 1) and RopRelease (2.2.15.3) of the
 * Logon object it made, and checks every response down to the RopLogon ReturnValue
 * (protocol.md 5.7: HTTP status, X-ResponseCode, StatusCode, ErrorCode, ROP level). Every
 * byte of a response goes through the core's decoders (mbx_mh_*, mbx_rhe_read,
 * mbx_ropbuf_decode, mbx_roplogon_resp_decode).
 */
#include "mbxbench.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "mbx/oxcstor.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/ropbuf.h"

/* What a client that asks for its own private mailbox sends (protocol.md 1.3: ruler's user
 * logon; USE_PER_MDB_REPLID_MAPPING is what a private logon SHOULD set). */
#define BENCH_OPEN_FLAGS                                                                           \
	(MBX_OPEN_USE_PER_MDB_REPLID_MAPPING | MBX_OPEN_HOME_LOGON | MBX_OPEN_TAKE_OWNERSHIP)
#define BENCH_CPID 1252u
#define BENCH_LCID 1033u

const char *bench_reqtype_name(enum bench_reqtype t)
{
	switch (t) {
	case BENCH_REQ_CONNECT:
		return "Connect";
	case BENCH_REQ_EXECUTE:
		return "Execute";
	case BENCH_REQ_DISCONNECT:
		return "Disconnect";
	}
	return "?";
}

static uint8_t *mapi_dup(const struct wr *w)
{
	uint8_t *p = malloc(w->len > 0 ? w->len : 1);

	if (p != NULL)
		memcpy(p, w->buf, w->len);
	return p;
}

void bench_mapi_free(struct bench_mapi_bodies *b)
{
	free(b->connect);
	free(b->execute);
	free(b->disconnect);
	memset(b, 0, sizeof(*b));
}

int bench_mapi_build(const struct bench_mapi_opts *o, struct bench_mapi_bodies *b_r, char *err,
                     size_t errsize)
{
	static uint8_t payload[MBX_RHE_MAX_PAYLOAD], scratch[MBX_RHE_MAX_PAYLOAD];
	static uint8_t ropbuf[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
	static uint8_t body[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD + 64];
	struct mbx_logon_req logon = {
	        .logon_id = 0,
	        .out_idx = 0,
	        .logon_flags = MBX_LOGON_PRIVATE,
	        .open_flags = BENCH_OPEN_FLAGS,
	        .store_state = 0,
	        .essdn = o->legacy_dn,
	};
	struct mbx_release_req rel = {.logon_id = 0, .in_idx = 0};
	struct mbx_mh_connect_req creq = {
	        .user_dn = o->user_dn != NULL ? o->user_dn : o->legacy_dn,
	        .flags = 0,
	        .cpid = BENCH_CPID,
	        .lcid_sort = BENCH_LCID,
	        .lcid_string = BENCH_LCID,
	};
	struct mbx_mh_execute_req ereq;
	struct mbx_mh_disconnect_req dreq = {.aux_len = 0, .aux = NULL};
	struct wr w;
	size_t at;

	memset(b_r, 0, sizeof(*b_r));
	if (o->legacy_dn == NULL || o->legacy_dn[0] == '\0') {
		snprintf(err, errsize, "the legacyExchangeDN is empty");
		return -1;
	}

	/* The ROP payload: RopSize, RopLogon, RopRelease of handle index 0, a one-entry handle
	 * table that the RopLogon fills (protocol.md 4.2, 4.3). */
	wr_init(&w, payload, sizeof(payload));
	at = wr_reserve(&w, 2);
	if (mbx_roplogon_req_encode(&w, &logon) != 0 || mbx_roprelease_req_encode(&w, &rel) != 0 ||
	    !wr_ok(&w) || w.len > 0xFFFF) {
		snprintf(err, errsize, "the legacyExchangeDN is too long for a RopLogon");
		return -1;
	}
	wr_patch_u16le(&w, at, (uint16_t)w.len);
	wr_u32le(&w, MBX_HANDLE_NONE);
	if (!wr_ok(&w)) {
		snprintf(err, errsize, "the RopLogon request does not fit an extended buffer");
		return -1;
	}
	b_r->payload_len = w.len;

	b_r->exec_flags = (o->compress ? 0 : MBX_RPC_NOCOMPRESSION) |
	                  (o->xor ? 0 : MBX_RPC_NOXORMAGIC);
	{
		struct wr rw;

		wr_init(&rw, ropbuf, sizeof(ropbuf));
		if (mbx_rhe_write(&rw, payload, b_r->payload_len, b_r->exec_flags, o->xor, true,
		                  scratch) != 0) {
			snprintf(err, errsize, "cannot frame the RopBuffer");
			return -1;
		}
		b_r->ropbuf_len = rw.len;
		b_r->rhe_flags = mbx_le16(ropbuf + 2);
	}

	ereq = (struct mbx_mh_execute_req){
	        .flags = b_r->exec_flags,
	        .rop_len = (uint32_t)b_r->ropbuf_len,
	        .rop = ropbuf,
	        .max_rop_out = MBX_MH_ROP_MAX,
	        .aux_len = 0,
	        .aux = NULL,
	};
	wr_init(&w, body, sizeof(body));
	if (mbx_mh_execute_req_encode(&w, &ereq) != 0 || (b_r->execute = mapi_dup(&w)) == NULL) {
		snprintf(err, errsize, "cannot encode the Execute request");
		goto fail;
	}
	b_r->execute_len = w.len;

	wr_init(&w, body, sizeof(body));
	if (mbx_mh_connect_req_encode(&w, &creq) != 0 || (b_r->connect = mapi_dup(&w)) == NULL) {
		snprintf(err, errsize,
		         "cannot encode the Connect request (the legacyExchangeDN must be printable "
		         "ASCII, below %u bytes)",
		         MBX_MH_DN_MAX);
		goto fail;
	}
	b_r->connect_len = w.len;

	wr_init(&w, body, sizeof(body));
	if (mbx_mh_disconnect_req_encode(&w, &dreq) != 0 ||
	    (b_r->disconnect = mapi_dup(&w)) == NULL) {
		snprintf(err, errsize, "cannot encode the Disconnect request");
		goto fail;
	}
	b_r->disconnect_len = w.len;
	return 0;
fail:
	bench_mapi_free(b_r);
	return -1;
}

/* ---- checking responses -------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int mapi_fail(struct bench_verdict *v, const char *key,
                                                           const char *fmt, ...)
{
	va_list ap;

	snprintf(v->key, sizeof(v->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int mapi_fail_rd(struct bench_verdict *v, const char *key, const char *what,
                        const struct rd *r)
{
	return mapi_fail(v, key, "%s: offset %zu: %s", what, r->err_off, r->err_msg);
}

/* The RopBuffer of an Execute response: one extended buffer (we did not ask for chaining), a
 * RopLogon response and nothing else in the RopsList, one handle. */
static int mapi_check_rops(const uint8_t *rop, size_t len, struct bench_verdict *v)
{
	uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	struct mbx_rhe hdr;
	struct mbx_ropbuf rb;
	struct mbx_logon_resp lr;
	struct rd r, p, q;
	size_t plen = 0;
	char ecbuf[16];

	rd_init(&r, rop, len, 0);
	if (mbx_rhe_read(&r, &hdr, payload, &plen) != 0)
		return mapi_fail_rd(v, "proto:ropbuffer", "response RopBuffer", &r);
	if (!(hdr.flags & MBX_RHE_LAST) || rd_left(&r) != 0)
		return mapi_fail(v, "proto:ropbuffer",
		                 "response RopBuffer holds more than one extended buffer");
	rd_init(&p, payload, plen, 0);
	if (mbx_ropbuf_decode(&p, &rb) != 0)
		return mapi_fail_rd(v, "proto:ropbuffer", "response ROP payload", &p);
	if (rb.rops_len == 0)
		return mapi_fail(v, "proto:rops", "the response RopsList is empty");
	if (rb.rops[0] == MBX_ROP_BufferTooSmall)
		return mapi_fail(v, "rop:RopBufferTooSmall", "the server answered RopBufferTooSmall");
	if (rb.rops[0] != MBX_ROP_Logon)
		return mapi_fail(v, "proto:rops", "the first response is RopId 0x%02X, not RopLogon",
		                 rb.rops[0]);
	rd_init(&q, rb.rops, rb.rops_len, rb.rops_off);
	if (mbx_roplogon_resp_decode(&q, &lr) != 0)
		return mapi_fail_rd(v, "proto:roplogon", "RopLogon response", &q);
	if (lr.rv != 0) {
		char key[48];

		snprintf(key, sizeof(key), "logon:%s", mbx_ec_str(lr.rv, ecbuf, sizeof(ecbuf)));
		if (lr.kind == MBX_LOGON_RESP_REDIRECT)
			return mapi_fail(v, key, "RopLogon redirected to %s", lr.server);
		return mapi_fail(v, key, "RopLogon failed with %s (0x%08X)",
		                 mbx_ec_str(lr.rv, ecbuf, sizeof(ecbuf)), (unsigned)lr.rv);
	}
	if (lr.kind != MBX_LOGON_RESP_PRIVATE)
		return mapi_fail(v, "proto:roplogon",
		                 "RopLogon answered with the public-folders layout to a private logon");
	if (lr.out_idx != 0)
		return mapi_fail(v, "proto:roplogon", "RopLogon echoes handle index %u, not 0",
		                 lr.out_idx);
	if (rd_left(&q) != 0)
		return mapi_fail(v, "proto:rops",
		                 "%zu bytes after the RopLogon response (RopRelease has none)",
		                 rd_left(&q));
	if (rb.nhandles != 1)
		return mapi_fail(v, "proto:handles", "the response handle table has %u entries, not 1",
		                 rb.nhandles);
	return 0;
}

static bool mapi_rc_drops_context(uint32_t rc)
{
	return rc == MBX_MH_RC_INVALID_CONTEXT_COOKIE || rc == MBX_MH_RC_CONTEXT_NOT_FOUND ||
	       rc == MBX_MH_RC_NO_PRIVILEGE || rc == MBX_MH_RC_MISSING_COOKIE ||
	       rc == MBX_MH_RC_INVALID_SEQUENCE;
}

/* A short printable excerpt of a diagnostic body. */
static void mapi_excerpt(struct evbuffer *body, char *out, size_t size)
{
	size_t len = evbuffer_get_length(body), n = 0;
	unsigned char *p = evbuffer_pullup(body, -1);

	for (size_t i = 0; i < len && n + 1 < size && n < 80; i++) {
		unsigned char c = p[i];

		out[n++] = (c >= 0x20 && c < 0x7F) ? (char)c : ' ';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

int bench_mapi_check(enum bench_reqtype t, struct bench_http_rsp *rsp, struct bench_verdict *v)
{
	char key[48], text[96], ecbuf[16];
	char name[MBX_MH_DISPLAYNAME_UTF8_MAX];
	struct mbx_mh_env env;
	struct rd r;
	uint32_t st = 0;
	size_t len;
	const uint8_t *body;
	const char *tn = bench_reqtype_name(t);
	int e;

	memset(v, 0, sizeof(*v));
	if (rsp->status != 200) {
		mapi_excerpt(rsp->body, text, sizeof(text));
		snprintf(key, sizeof(key), "http:%u", rsp->status);
		return mapi_fail(v, key, "%s: HTTP status %u%s%s", tn, rsp->status,
		                 text[0] != '\0' ? ": " : "", text);
	}
	if (!rsp->has_rc)
		return mapi_fail(v, "proto:no-X-ResponseCode", "%s: no X-ResponseCode header", tn);
	if (rsp->rc != 0) {
		mapi_excerpt(rsp->body, text, sizeof(text));
		snprintf(key, sizeof(key), "rc:%u", (unsigned)rsp->rc);
		v->drop_context = mapi_rc_drops_context(rsp->rc);
		return mapi_fail(v, key, "%s: X-ResponseCode %u (%s)%s%s", tn, (unsigned)rsp->rc,
		                 mbx_mh_rc_name(rsp->rc) != NULL ? mbx_mh_rc_name(rsp->rc) : "?",
		                 text[0] != '\0' ? ": " : "", text);
	}

	len = evbuffer_get_length(rsp->body);
	body = evbuffer_pullup(rsp->body, -1);
	rd_init(&r, body, len, 0);
	e = mbx_mh_env_parse(&r, &env);
	if (e == MBX_MH_ENV_MORE)
		return mapi_fail(v, "proto:envelope", "%s: the body ends inside the envelope", tn);
	if (e != MBX_MH_ENV_DONE)
		return mapi_fail_rd(v, "proto:envelope", tn, &r);
	if (env.has_response_code && env.response_code != 0) {
		snprintf(key, sizeof(key), "rc:%u", (unsigned)env.response_code);
		v->drop_context = mapi_rc_drops_context(env.response_code);
		return mapi_fail(v, key, "%s: X-ResponseCode %u in the envelope", tn,
		                 (unsigned)env.response_code);
	}
	if (mbx_mh_rsp_status(&r, &st) != 0)
		return mapi_fail_rd(v, "proto:body", tn, &r);
	if (st != 0) {
		struct mbx_mh_failure f;

		if (mbx_mh_failure_decode(&r, &f) != 0)
			return mapi_fail_rd(v, "proto:body", tn, &r);
		snprintf(key, sizeof(key), "status:%s", mbx_ec_str(st, ecbuf, sizeof(ecbuf)));
		return mapi_fail(v, key, "%s: StatusCode 0x%08X", tn, (unsigned)st);
	}

	switch (t) {
	case BENCH_REQ_CONNECT: {
		struct mbx_mh_connect_rsp c;

		if (mbx_mh_connect_rsp_decode(&r, &c, name, sizeof(name)) != 0)
			return mapi_fail_rd(v, "proto:body", tn, &r);
		if (c.error_code != 0) {
			snprintf(key, sizeof(key), "connect:%s",
			         mbx_ec_str(c.error_code, ecbuf, sizeof(ecbuf)));
			return mapi_fail(v, key, "Connect: ErrorCode 0x%08X", (unsigned)c.error_code);
		}
		if (!rsp->has_context || !rsp->has_sequence)
			return mapi_fail(v, "proto:no-cookie",
			                 "Connect: the response sets no %s and %s cookies",
			                 MBX_MH_COOKIE_CONTEXT, MBX_MH_COOKIE_SEQUENCE);
		return 0;
	}
	case BENCH_REQ_EXECUTE: {
		struct mbx_mh_execute_rsp x;

		if (mbx_mh_execute_rsp_decode(&r, &x) != 0)
			return mapi_fail_rd(v, "proto:body", tn, &r);
		if (x.error_code != 0) {
			snprintf(key, sizeof(key), "execute:%s",
			         mbx_ec_str(x.error_code, ecbuf, sizeof(ecbuf)));
			return mapi_fail(v, key, "Execute: ErrorCode 0x%08X", (unsigned)x.error_code);
		}
		return mapi_check_rops(x.rop, x.rop_len, v);
	}
	case BENCH_REQ_DISCONNECT: {
		struct mbx_mh_disconnect_rsp d;

		if (mbx_mh_disconnect_rsp_decode(&r, &d) != 0)
			return mapi_fail_rd(v, "proto:body", tn, &r);
		if (d.error_code != 0) {
			snprintf(key, sizeof(key), "disconnect:%s",
			         mbx_ec_str(d.error_code, ecbuf, sizeof(ecbuf)));
			return mapi_fail(v, key, "Disconnect: ErrorCode 0x%08X",
			                 (unsigned)d.error_code);
		}
		return 0;
	}
	}
	return mapi_fail(v, "proto:body", "unknown request type");
}
