/*
 * store-rops-oxcfold.c: the folder ROPs of MS-OXCFOLD, for the handler table of store-rops.c:
 *
 *   RopOpenFolder 0x02       MS-OXCROPS 2.2.4.1, MS-OXCFOLD 2.2.1.1 / 3.2.5.1
 *
 * The special folders of a store are read-only and always here (mailbox-store.c); the rules
 * common to all store ROPs are in store-rops.c.
 */
#include "store/store-rops-int.h"

int store_rops_oxcfold_open_folder(void *ctx, struct mbx_rop_exec *ex,
                                   const struct mbx_rop_req *req, struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);
	struct mbx_store_obj *in = mbx_session_obj_at(s, ex, req->in_idx, req->logon_id), *o;
	struct mbx_fid fid;
	struct rd r;
	int idx;

	if (in == NULL) {
		store_rops_write_fail(w, req, ecNullObject);
		return 0;
	}
	store_rops_req_body(req, 4, &r);
	rd_fid(&r, &fid, "FolderId");
	(void)rd_u8(&r, "OpenModeFlags"); /* read-only is all there is; soft-deleted: none */
	if (!rd_ok(&r)) {
		store_rops_write_fail(w, req, ecRpcFormat);
		return 0;
	}
	idx = mbx_mailbox_store_folder(&in->logon->u.logon.store, fid);
	if (idx < 0) {
		store_rops_write_fail(w, req, ecNotFound);
		return 0;
	}
	o = mbx_session_folder_new(s, in->logon, idx, fid);
	if (o == NULL) {
		store_rops_write_fail(w, req, ecMAPIOOM);
		return 0;
	}
	ex->handles[req->out_idx] = o->handle;
	store_rops_write_ok(w, req);
	wr_u8(w, 0); /* HasRules */
	wr_u8(w, 0); /* IsGhosted: every folder of ours is here */
	return 0;
}
