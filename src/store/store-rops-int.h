/*
 * store-rops-int.h: what the files of the store ROP handlers share (private to src/store; the
 * contract with session.c is include/mbx/store-rops.h):
 *
 *   store-rops.c          the handler table, the per-request response bounds, RopRelease
 *   store-rops-oxcstor.c  RopLogon and the other ROPs on a Logon object (MS-OXCSTOR)
 *   store-rops-oxcfold.c  RopOpenFolder (MS-OXCFOLD)
 *   store-rops-oxcprpt.c  RopGetPropertiesSpecific and the property row (MS-OXCPRPT,
 *                         MS-OXCDATA 2.8.1)
 */
#ifndef MBX_STORE_ROPS_INT_H
#define MBX_STORE_ROPS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mbx/rop-errors.h"
#include "mbx/ropbuf.h"
#include "mbx/store-rops.h"
#include "mbx/wire.h"

#define LOGON_FIXED_RESP 6 /* RopId, handle index, ReturnValue */

/* --- request helpers -------------------------------------------------------------------------- */

/* A reader over the request after RopId, LogonId and the handle index byte(s). */
static inline void store_rops_req_body(const struct mbx_rop_req *req, size_t skip, struct rd *r)
{
	rd_init(r, req->raw, req->len, req->off);
	rd_skip(r, skip, "ROP header");
}

static inline void store_rops_write_fail(struct wr *w, const struct mbx_rop_req *req, uint32_t ec)
{
	mbx_rop_write_failure(w, req->rop_id, (uint8_t)req->resp_idx, ec);
}

static inline void store_rops_write_ok(struct wr *w, const struct mbx_rop_req *req)
{
	wr_u8(w, req->rop_id);
	wr_u8(w, (uint8_t)req->resp_idx);
	wr_u32le(w, ecNone);
}

/* --- the handlers (struct mbx_rop_handler's fn; ctx is the session's exec) ------------------ */

/* store-rops-oxcstor.c */
int store_rops_oxcstor_logon(void *ctx, struct mbx_rop_exec *ex, const struct mbx_rop_req *req,
                             struct wr *w);
int store_rops_oxcstor_get_receive_folder(void *ctx, struct mbx_rop_exec *ex,
                                          const struct mbx_rop_req *req, struct wr *w);
int store_rops_oxcstor_get_store_state(void *ctx, struct mbx_rop_exec *ex,
                                       const struct mbx_rop_req *req, struct wr *w);
int store_rops_oxcstor_get_owning_servers(void *ctx, struct mbx_rop_exec *ex,
                                          const struct mbx_rop_req *req, struct wr *w);
int store_rops_oxcstor_long_term_id_from_id(void *ctx, struct mbx_rop_exec *ex,
                                            const struct mbx_rop_req *req, struct wr *w);
int store_rops_oxcstor_id_from_long_term_id(void *ctx, struct mbx_rop_exec *ex,
                                            const struct mbx_rop_req *req, struct wr *w);
/* The exact size of the RopLogon response for answer a (NULL: not found). */
size_t store_rops_oxcstor_logon_resp_len(const struct mbx_session_logon_answer *a);
/* The server named in RopGetOwningServers: this server's legacyExchangeDN, or "". */
const char *store_rops_oxcstor_owning_server(struct mbx_session *s);

/* store-rops-oxcfold.c */
int store_rops_oxcfold_open_folder(void *ctx, struct mbx_rop_exec *ex,
                                   const struct mbx_rop_req *req, struct wr *w);

/* store-rops-oxcprpt.c */
int store_rops_oxcprpt_get_props_specific(void *ctx, struct mbx_rop_exec *ex,
                                          const struct mbx_rop_req *req, struct wr *w);
/* The exact size of the response to this RopGetPropertiesSpecific request, given the objects
 * in ex as they are now; LOGON_FIXED_RESP (a failure) when it has no object or does not
 * decode. Pure: the handler writes the row with the same code. */
size_t store_rops_oxcprpt_resp_max(struct mbx_session *s, const struct mbx_rop_exec *ex,
                                   const struct mbx_rop_req *req);

#endif
