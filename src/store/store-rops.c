/*
 * store-rops.c: the store ROP handlers a client sends right after logon (include/mbx/
 * store-rops.h), run by mbx_ropbuf_execute against the objects of src/store/session.c. This
 * file has the handler table, the per-request response bounds (mbx_store_rops_resp_max) and
 * RopRelease; the ROPs of each spec family have their own file (store-rops-int.h):
 *
 *   RopLogon 0xFE            MS-OXCROPS 2.2.3.1, MS-OXCSTOR 2.2.1.1 / 3.2.5.1  store-rops-oxcstor.c
 *   RopRelease 0x01          MS-OXCROPS 2.2.15.3: frees the object in the slot; no response
 *   RopGetReceiveFolder 0x27 MS-OXCROPS 2.2.3.2, MS-OXCSTOR 2.2.1.2 / 3.2.5.2  store-rops-oxcstor.c
 *   RopGetStoreState 0x7B    MS-OXCROPS 2.2.3.5, MS-OXCSTOR 3.2.5.5            store-rops-oxcstor.c
 *   RopGetOwningServers 0x42 MS-OXCROPS 2.2.3.6, MS-OXCSTOR 3.2.5.6            store-rops-oxcstor.c
 *   RopLongTermIdFromId 0x43 MS-OXCROPS 2.2.3.8, MS-OXCSTOR 3.2.5.8            store-rops-oxcstor.c
 *   RopIdFromLongTermId 0x44 MS-OXCROPS 2.2.3.9, MS-OXCSTOR 3.2.5.9            store-rops-oxcstor.c
 *   RopOpenFolder 0x02       MS-OXCROPS 2.2.4.1, MS-OXCFOLD 2.2.1.1 / 3.2.5.1  store-rops-oxcfold.c
 *   RopGetPropertiesSpecific 0x07  MS-OXCROPS 2.2.8.3, MS-OXCPRPT 3.2.5.1      store-rops-oxcprpt.c
 *
 * Rules common to all: the object comes from the request's input slot and must belong to the
 * request's LogonId (else ecNullObject); the ROPs that MS-OXCROPS runs on a Logon object answer
 * ecNotSupported when the slot holds a folder (as gromox does). Requests were walked by the
 * executor already, so a decode failure here is our bug; it is answered ecRpcFormat all the same.
 * The response size is worked out before a handler runs (mbx_store_rops_resp_max).
 */
#include "store/store-rops-int.h"

#include <string.h>

#include "mbx/rop-ids.h"

/* --- RopRelease ------------------------------------------------------------------------------ */

static int rop_release(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                       struct wr *w)
{
	struct mbx_session *s = mbx_session_exec_session(ctx);

	(void)w;
	/* An empty slot or a stale handle: nothing to do, and no response to say so. */
	mbx_session_obj_release(s, mbx_session_obj_at(s, ex, req->in_idx, req->logon_id));
	return 0;
}

/* --- the table ------------------------------------------------------------------------------ */

/* Static bounds: what any request can need, except where noted. */
#define RESP_RECEIVE_FOLDER (LOGON_FIXED_RESP + 8 + 255)
#define RESP_STORE_STATE (LOGON_FIXED_RESP + 4)
#define RESP_OWNING_SERVERS (LOGON_FIXED_RESP + 4 + 256) /* narrowed per session */
#define RESP_LONG_TERM_ID (LOGON_FIXED_RESP + 24)
#define RESP_ID (LOGON_FIXED_RESP + 8)
#define RESP_OPEN_FOLDER (LOGON_FIXED_RESP + 2)
#define RESP_PROPS 4096 /* narrowed per request */

static const struct mbx_rop_handler handlers[256] = {
        [MBX_ROP_Logon] = {store_rops_oxcstor_logon, MBX_LOGON_RESP_MAX},
        [MBX_ROP_Release] = {rop_release, 0},
        [MBX_ROP_GetReceiveFolder] = {store_rops_oxcstor_get_receive_folder, RESP_RECEIVE_FOLDER},
        [MBX_ROP_GetStoreState] = {store_rops_oxcstor_get_store_state, RESP_STORE_STATE},
        [MBX_ROP_GetOwningServers] = {store_rops_oxcstor_get_owning_servers, RESP_OWNING_SERVERS},
        [MBX_ROP_LongTermIdFromId] = {store_rops_oxcstor_long_term_id_from_id, RESP_LONG_TERM_ID},
        [MBX_ROP_IdFromLongTermId] = {store_rops_oxcstor_id_from_long_term_id, RESP_ID},
        [MBX_ROP_OpenFolder] = {store_rops_oxcfold_open_folder, RESP_OPEN_FOLDER},
        [MBX_ROP_GetPropertiesSpecific] = {store_rops_oxcprpt_get_props_specific, RESP_PROPS},
};

const struct mbx_rop_handler *mbx_store_rops_handler(uint8_t rop_id)
{
	return handlers[rop_id].fn != NULL ? &handlers[rop_id] : NULL;
}

size_t mbx_store_rops_resp_max(struct mbx_session_exec *e, const struct mbx_rop_exec *ex,
                               const struct mbx_rop_req *req)
{
	struct mbx_session *s = mbx_session_exec_session(e);

	switch (req->rop_id) {
	case MBX_ROP_Logon:
		return store_rops_oxcstor_logon_resp_len(mbx_session_exec_answer(e, req->off));
	case MBX_ROP_GetOwningServers:
		return LOGON_FIXED_RESP + 4 + strlen(store_rops_oxcstor_owning_server(s)) + 1;
	case MBX_ROP_GetPropertiesSpecific:
		return store_rops_oxcprpt_resp_max(s, ex, req);
	default: {
		const struct mbx_rop_handler *h = mbx_store_rops_handler(req->rop_id);

		return h != NULL ? h->resp_max : 0;
	}
	}
}
