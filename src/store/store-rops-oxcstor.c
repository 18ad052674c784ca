/*
 * store-rops-oxcstor.c: the store ROPs of MS-OXCSTOR (RopLogon and the ROPs a client sends on
 * the Logon object right after it), for the handler table of store-rops.c:
 *
 *   RopLogon 0xFE            MS-OXCROPS 2.2.3.1, MS-OXCSTOR 2.2.1.1 / 3.2.5.1: writes what the
 *                            logon pipeline decided (private 166 bytes, public 145, ecWrongServer
 *                            redirect, 6-byte failure) and makes the Logon object
 *   RopGetReceiveFolder 0x27 MS-OXCROPS 2.2.3.2, MS-OXCSTOR 2.2.1.2 / 3.2.5.2
 *   RopGetStoreState 0x7B    MS-OXCROPS 2.2.3.5, MS-OXCSTOR 3.2.5.5 (implemented: MAY)
 *   RopGetOwningServers 0x42 MS-OXCROPS 2.2.3.6, MS-OXCSTOR 3.2.5.6
 *   RopLongTermIdFromId 0x43 MS-OXCROPS 2.2.3.8, MS-OXCSTOR 3.2.5.8
 *   RopIdFromLongTermId 0x44 MS-OXCROPS 2.2.3.9, MS-OXCSTOR 3.2.5.9
 *
 * RopLogon makes the Logon object; the others find it in their input slot through logon_in,
 * which answers a folder there with ecNotSupported. The rules common to all store ROPs are in
 * store-rops.c.
 */
#include "store/store-rops-int.h"

#include <stdlib.h>
#include <string.h>

#include "mbx/log.h"

/* --- request helpers ------------------------------------------------------------------------- */

/* The object in the input slot for a ROP that needs a Logon object; NULL after writing the
 * failure response. */
static struct mbx_store_obj *logon_in(struct mbx_session *s, const struct mbx_rop_exec *ex,
                                      const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_store_obj *o = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id);

	if (o == NULL) {
		store_rops_write_fail(w, req, ecNullObject);
		return NULL;
	}
	if (o->type != MBX_STORE_OBJ_LOGON) {
		store_rops_write_fail(w, req, ecNotSupported);
		return NULL;
	}
	return o;
}

/* --- RopLogon -------------------------------------------------------------------------------- */

size_t store_rops_oxcstor_logon_resp_len(const struct mbx_session_logon_answer *a)
{
	if (a == NULL || !a->done || a->malformed)
		return LOGON_FIXED_RESP;
	switch (a->decision.kind) {
	case MBX_LOGON_RESP_PRIVATE:
		return MBX_LOGON_RESP_PRIVATE_LEN;
	case MBX_LOGON_RESP_PUBLIC:
		return MBX_LOGON_RESP_PUBLIC_LEN;
	case MBX_LOGON_RESP_REDIRECT:
		return 8 + strnlen(a->decision.server, MBX_SERVERNAME_MAX) + 1;
	default:
		return LOGON_FIXED_RESP;
	}
}

static int logon_failure(struct mbx_session_exec *e, struct wr *w, const struct mbx_rop_req *req,
                         uint32_t ec)
{
	store_rops_write_fail(w, req, ec);
	mbx_session_exec_note_logon(e, ec);
	return 0;
}

int store_rops_oxcstor_logon(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                             struct wr *w)
{
	struct mbx_session_exec *e = ctx;
	struct mbx_session *s = mbx_session_exec_session(e);
	const struct mbx_session_logon_answer *a = mbx_session_exec_answer(e, req->off);
	struct mbx_logon_resp resp;
	struct mbx_store_logon lg;
	struct mbx_store_obj *o = NULL;
	size_t mark = wr_mark(w);
	time_t now;

	if (a == NULL || !a->done)
		return logon_failure(e, w, req, ecError); /* the walk missed it: our bug */
	if (a->malformed)
		return logon_failure(e, w, req, ecRpcFormat);
	memset(&resp, 0, sizeof(resp));
	resp.kind = a->decision.kind;
	resp.out_idx = (uint8_t)req->out_idx;
	resp.rv = a->decision.ec;
	resp.logon_flags = a->req.logon_flags;
	memset(&lg, 0, sizeof(lg));
	lg.logon_id = req->logon_id;
	lg.logon_flags = a->req.logon_flags;
	switch (resp.kind) {
	case MBX_LOGON_RESP_FAILURE:
		if (resp.rv == ecNone || resp.rv == ecWrongServer) /* cannot be encoded as such */
			return logon_failure(e, w, req, ecLoginFailure);
		break;
	case MBX_LOGON_RESP_REDIRECT:
		memcpy(resp.server, a->decision.server, sizeof(resp.server));
		break;
	case MBX_LOGON_RESP_PRIVATE:
		if (mbx_mailbox_store_private(a->mbx, &lg.store) != 0) {
			char esc[512];
			const char *dn = a->mbx != NULL ? a->mbx->dn : a->req.essdn;

			mbx_log(MBX_LOG_WARNING,
			        "logon: mailbox %s has no msExchMailboxGuid: answered "
			        "ecLoginFailure",
			        mbx_log_escape(dn, strlen(dn), esc, sizeof(esc)));
			return logon_failure(e, w, req, ecLoginFailure);
		}
		lg.response_flags = a->decision.response_flags;
		lg.owner = a->decision.owner;
		if (a->mbx->legacy_dn != NULL)
			lg.legacy_dn = strdup(a->mbx->legacy_dn);
		if (a->mbx->display_name != NULL)
			lg.display_name = strdup(a->mbx->display_name);
		if ((a->mbx->legacy_dn != NULL && lg.legacy_dn == NULL) ||
		    (a->mbx->display_name != NULL && lg.display_name == NULL)) {
			free(lg.legacy_dn);
			free(lg.display_name);
			return logon_failure(e, w, req, ecMAPIOOM);
		}
		memcpy(resp.fids, lg.store.fids, sizeof(resp.fids));
		resp.response_flags = lg.response_flags;
		resp.mailbox_guid = lg.store.mailbox_guid;
		resp.replid = lg.store.replid;
		resp.repl_guid = lg.store.repl_guid;
		now = mbx_session_now(s);
		mbx_logon_time_from_unix(now, &resp.logon_time);
		resp.gwart_time = mbx_filetime_from_unix(now, 0);
		resp.store_state = 0;
		break;
	case MBX_LOGON_RESP_PUBLIC:
		mbx_mailbox_store_public(mbx_session_identity(s), &lg.store);
		memcpy(resp.fids, lg.store.fids, sizeof(resp.fids));
		resp.replid = lg.store.replid;
		resp.repl_guid = lg.store.repl_guid;
		break;
	}
	if (resp.kind == MBX_LOGON_RESP_PRIVATE || resp.kind == MBX_LOGON_RESP_PUBLIC) {
		o = mbx_session_logon_new(s, &lg); /* takes lg's strings, also on failure */
		if (o == NULL)
			return logon_failure(e, w, req, ecMAPIOOM);
	}
	if (mbx_roplogon_resp_encode(w, &resp) != 0) {
		/* a decision we cannot encode (a LogonTime out of range, a bad server name) */
		wr_rollback(w, mark);
		mbx_session_obj_release(s, o);
		return logon_failure(e, w, req, ecLoginFailure);
	}
	if (o != NULL)
		ex->handles[req->out_idx] = o->handle;
	mbx_session_exec_note_logon(e, resp.rv);
	return 0;
}

/* --- MS-OXCSTOR ---------------------------------------------------------------------------- */

int store_rops_oxcstor_get_receive_folder(void *ctx, struct mbx_rop_exec *ex,
                                          const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	const char *cls, *explicit_cls = NULL;
	const struct mbx_mailbox_store *st;
	size_t len;
	int idx;
	struct rd r;

	if (o == NULL)
		return 0;
	st = &o->u.logon.store;
	if (st->kind != MBX_STORE_PRIVATE) { /* 2.2.1.2.1: only on a private mailbox logon */
		store_rops_write_fail(w, req, ecNotSupported);
		return 0;
	}
	store_rops_req_body(req, 3, &r);
	cls = rd_str8z(&r, rd_left(&r), &len, "MessageClass");
	if (cls == NULL || !rd_ok(&r)) {
		store_rops_write_fail(w, req, ecRpcFormat);
		return 0;
	}
	if (!mbx_mailbox_store_class_valid(cls)) {
		store_rops_write_fail(w, req, ecInvalidParameter);
		return 0;
	}
	idx = mbx_mailbox_store_receive_folder(st, cls, &explicit_cls);
	store_rops_write_ok(w, req);
	wr_fid(w, mbx_mailbox_store_fid(st, (size_t)idx));
	wr_str8z(w, explicit_cls);
	return 0;
}

int store_rops_oxcstor_get_store_state(void *ctx, struct mbx_rop_exec *ex,
                                       const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);

	if (o == NULL)
		return 0;
	if (o->u.logon.store.kind != MBX_STORE_PRIVATE) {
		store_rops_write_fail(w, req, ecNotSupported); /* 3.2.5.5 */
		return 0;
	}
	store_rops_write_ok(w, req);
	wr_u32le(w, 0); /* no persisted search folders: STORE_HAS_SEARCHES clear */
	return 0;
}

const char *store_rops_oxcstor_owning_server(struct mbx_session *s)
{
	const struct mbx_server_identity *id = mbx_session_identity(s);

	return id != NULL && id->legacy_dn != NULL ? id->legacy_dn : "";
}

/* 3.2.5.6: a private store may fail; we do, with ecNotSupported. A public folder of ours is
 * held by this server alone, which is also the cheapest. */
int store_rops_oxcstor_get_owning_servers(void *ctx, struct mbx_rop_exec *ex,
                                          const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	struct mbx_fid fid;
	struct rd r;

	if (o == NULL)
		return 0;
	if (o->u.logon.store.kind != MBX_STORE_PUBLIC) {
		store_rops_write_fail(w, req, ecNotSupported);
		return 0;
	}
	store_rops_req_body(req, 3, &r);
	rd_fid(&r, &fid, "FolderId");
	if (!rd_ok(&r)) {
		store_rops_write_fail(w, req, ecRpcFormat);
		return 0;
	}
	if (mbx_mailbox_store_folder(&o->u.logon.store, fid) < 0) {
		store_rops_write_fail(w, req, ecNotFound);
		return 0;
	}
	store_rops_write_ok(w, req);
	wr_u16le(w, 1); /* OwningServersCount */
	wr_u16le(w, 1); /* CheapServersCount */
	wr_str8z(w, store_rops_oxcstor_owning_server(s));
	return 0;
}

/* The REPLGUID of replid on logon lg, or NULL. */
static const struct mbx_guid *replid_guid(const struct mbx_store_logon *lg, uint16_t replid)
{
	if (replid == lg->store.replid)
		return &lg->store.repl_guid;
	if (replid >= 2 && (size_t)(replid - 2) < lg->nextra)
		return &lg->extra_replguids[replid - 2];
	return NULL;
}

int store_rops_oxcstor_long_term_id_from_id(void *ctx, struct mbx_rop_exec *ex,
                                            const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	const struct mbx_guid *g;
	struct mbx_fid id;
	struct rd r;

	if (o == NULL)
		return 0;
	store_rops_req_body(req, 3, &r);
	rd_fid(&r, &id, "ObjectId");
	if (!rd_ok(&r)) {
		store_rops_write_fail(w, req, ecRpcFormat);
		return 0;
	}
	g = replid_guid(&o->u.logon, id.replid);
	if (g == NULL) { /* 3.2.5.8; REPLID 0 is never mapped */
		store_rops_write_fail(w, req, ecNotFound);
		return 0;
	}
	store_rops_write_ok(w, req);
	wr_guid(w, g);
	wr_u48be(w, id.globcnt);
	wr_u16le(w, 0);
	return 0;
}

int store_rops_oxcstor_id_from_long_term_id(void *ctx, struct mbx_rop_exec *ex,
                                            const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *o = logon_in(s, ex, req, w);
	struct mbx_store_logon *lg;
	struct mbx_guid g;
	uint64_t globcnt;
	uint16_t replid = 0;
	struct rd r;

	if (o == NULL)
		return 0;
	lg = &o->u.logon;
	store_rops_req_body(req, 3, &r);
	rd_guid(&r, &g, "DatabaseGuid");
	globcnt = rd_u48be(&r, "GlobalCounter");
	rd_skip(&r, 2, "Pad"); /* ignored (3.2.5.9) */
	if (!rd_ok(&r)) {
		store_rops_write_fail(w, req, ecRpcFormat);
		return 0;
	}
	if (mbx_guid_is_null(&g)) { /* SHOULD ecInvalidParam */
		store_rops_write_fail(w, req, ecInvalidParameter);
		return 0;
	}
	if (globcnt == 0) { /* MUST answer 0 in ReturnValue: with ObjectId 0 */
		store_rops_write_ok(w, req);
		wr_zero(w, 8);
		return 0;
	}
	if (mbx_guid_equal(&g, &lg->store.repl_guid)) {
		replid = lg->store.replid;
	} else {
		for (size_t i = 0; i < lg->nextra; i++)
			if (mbx_guid_equal(&g, &lg->extra_replguids[i]))
				replid = (uint16_t)(2 + i);
	}
	if (replid == 0) { /* a new mapping */
		struct mbx_guid *p;

		if (lg->nextra >= MBX_STORE_MAX_REPLIDS - 1) {
			store_rops_write_fail(w, req, MBX_EC_PARAMETER_OVERFLOW);
			return 0;
		}
		p = realloc(lg->extra_replguids, (lg->nextra + 1) * sizeof(*p));
		if (p == NULL) {
			store_rops_write_fail(w, req, ecMAPIOOM);
			return 0;
		}
		lg->extra_replguids = p;
		p[lg->nextra] = g;
		replid = (uint16_t)(2 + lg->nextra);
		lg->nextra++;
	}
	store_rops_write_ok(w, req);
	wr_fid(w, mbx_fid_make(replid, globcnt));
	return 0;
}
