/*
 * mh-emsmdb.c: the request types of the MAPI/HTTP mailbox endpoint /mapi/emsmdb/
 * ([MS-OXCMAPIHTTP] 2.2.4.1 Connect, 2.2.4.2 Execute, 2.2.4.3 Disconnect, 2.2.4.4
 * NotificationWait, 2.2.6 PING, 3.2.5 server processing; [MS-OXCRPC] 3.1.4.1 EcDoConnectEx,
 * 3.1.4.2 EcDoRpcExt2; protocol.md 5.6-5.7): each decodes its body, finds or creates its session
 * context (mh-contexts.c), runs the work (the session, the principal resolver, the mailbox table)
 * and answers through mh-request.c. Execute and NotificationWait are held on their context
 * (ctx->busy, ctx->waiter) until they are answered or the context goes away.
 */
#include "mapihttp/mh-frontend-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include "mbx/httpd.h"

#include "mbx/authz.h"
#include "mbx/log.h"
#include "mbx/metrics.h"
#include "mbx/principal.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/session.h"

/* EcDoConnectEx out-values gromox sends (protocol.md 5.6). */
#define MH_POLLS_MAX_MS 60000u
#define MH_RETRY_COUNT 6u
#define MH_RETRY_DELAY_MS 10000u
/* EcDoConnectEx ulFlags bit 0x1: an administrator logon (gromox refuses it, ecLoginPerm). */
#define MH_CONNECT_FLAG_ADMIN 0x00000001u
/* MAPI_E_SESSION_LIMIT: Exchange's answer to a user past its session limit (the same default
 * of 32 as max_contexts_per_user). Not in rop-errors.h's list, hence named here. */
#define MH_EC_SESSION_LIMIT 0x80040112u

/* ---- contexts going away ------------------------------------------------------------------- */

void mbx_mh_emsmdb_ctx_gone(void *arg, struct mbx_mh_ctx *ctx, enum mbx_mh_ctx_gone why)
{
	struct mh_req *held[2] = {ctx->busy, ctx->waiter};
	uint32_t rc = why == MBX_MH_CTX_GONE_SHUTDOWN ? MBX_MH_RC_ENDPOINT_SHUTTING_DOWN
	                                              : MBX_MH_RC_CONTEXT_NOT_FOUND;
	const char *text = why == MBX_MH_CTX_GONE_DROPPED
	                           ? "the session context was destroyed: its mailbox is being moved"
	                   : why == MBX_MH_CTX_GONE_SHUTDOWN ? "the server is shutting down"
	                                                     : "the session context was destroyed";

	(void)arg;
	ctx->busy = NULL;
	ctx->waiter = NULL;
	for (int i = 0; i < 2; i++) {
		struct mh_req *r = held[i];

		if (r == NULL)
			continue;
		if (r->exec != NULL) {
			mbx_session_exec_cancel(r->exec); /* before the session is freed */
			r->exec = NULL;
		}
		r->holds_busy = false;
		r->holds_wait = false;
		mbx_mh_request_done_chunked(r, rc, NULL, 0,
		                            text); /* r->ctx stays for the log line */
	}
}

/* ---- Connect (2.2.4.1; EcDoConnectEx, [MS-OXCRPC] 3.1.4.1) ----------------------------------- */

/* A Connect whose EcDoConnectEx result is an error: StatusCode 0, ErrorCode ec (5.7). */
static void mh_connect_error(struct mh_req *r, uint32_t ec, const char *why)
{
	uint8_t buf[64];
	struct wr w;
	struct mbx_mh_connect_rsp rsp = {.error_code = ec};
	char ecbuf[16], b1[128], b2[512];

	mbx_log(MBX_LOG_INFO, "mapihttp: Connect from %s user=%s UserDn=%s refused with %s: %s",
	        r->peer, mbx_mh_request_esc(r->who != NULL ? r->who->name : NULL, b1, sizeof(b1)),
	        mbx_mh_request_esc(r->user_dn, b2, sizeof(b2)),
	        mbx_ec_str(ec, ecbuf, sizeof(ecbuf)), why);
	wr_init(&w, buf, sizeof(buf));
	if (mbx_mh_connect_rsp_encode(&w, &rsp) != 0) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "the Connect response failed");
		return;
	}
	mbx_mh_request_reply_ok(r, buf, w.len);
}

static void mh_connect_finish(struct mh_req *r, const char *display_name)
{
	struct mbx_frontend *fe = r->fe;
	struct mbx_session_config sc = {0};
	struct mbx_session *s;
	struct mbx_mh_ctx *ctx;
	uint8_t aux[MBX_MH_AUX_CONNECT_LEN + 16];
	uint8_t *body;
	size_t cap;
	struct wr w, wa;
	struct mbx_mh_connect_rsp rsp = {0};
	int rc;

	rc = mbx_mh_ctxs_room(fe->ctxs, r->who->dn);
	if (rc == MBX_MH_CTX_USER_FULL) {
		mh_connect_error(r, MH_EC_SESSION_LIMIT,
		                 "the user holds max_contexts_per_user "
		                 "session contexts");
		return;
	}
	if (rc == MBX_MH_CTX_FULL) {
		mh_connect_error(r, ecServerBusy, "max_contexts session contexts exist");
		return;
	}
	sc.pipeline = fe->deps.pipeline;
	sc.id = fe->deps.id;
	sc.defer = fe->defer;
	sc.principal_dn = r->who->dn;
	sc.principal_legacy_dn = r->who->legacy_dn;
	sc.principal_name = r->who->name;
	sc.token = r->token;
	sc.max_rops = fe->lim.max_rops_per_execute;
	sc.clock = fe->deps.session_clock;
	sc.clock_ctx = fe->deps.session_clock_ctx;
	s = mbx_session_new(&sc);
	if (s == NULL) {
		mh_connect_error(r, ecServerOOM, "cannot create the session");
		return;
	}
	rc = mbx_mh_ctx_create(fe->ctxs, r->who->dn, r->who->name, s, &ctx);
	if (rc != MBX_MH_CTX_OK) {
		mbx_session_free(&s);
		mh_connect_error(r,
		                 rc == MBX_MH_CTX_USER_FULL ? MH_EC_SESSION_LIMIT
		                 : rc == MBX_MH_CTX_FULL    ? ecServerBusy
		                                            : ecServerOOM,
		                 "cannot create the session context");
		return;
	}
	wr_init(&wa, aux, sizeof(aux));
	(void)mbx_mh_aux_connect_write(&wa, NULL);
	rsp.error_code = 0;
	rsp.polls_max = MH_POLLS_MAX_MS;
	rsp.retry_count = MH_RETRY_COUNT;
	rsp.retry_delay = MH_RETRY_DELAY_MS;
	rsp.dn_prefix = NULL;
	rsp.aux = aux;
	rsp.aux_len = (uint32_t)wa.len;
	cap = 64 + 2 * MBX_MH_DISPLAYNAME_MAX * 2 + sizeof(aux);
	body = malloc(cap);
	if (body == NULL) {
		mbx_mh_ctx_destroy(&ctx, MBX_MH_CTX_GONE_DISCONNECT);
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return;
	}
	/* A display name that is not valid UTF-8 (or too long) falls back to the login name. */
	const char *names[3] = {display_name, r->who->name, ""};
	rc = -1;
	for (int i = 0; i < 3 && rc != 0; i++) {
		if (names[i] == NULL)
			continue;
		rsp.display_name = names[i];
		wr_init(&w, body, cap);
		rc = mbx_mh_connect_rsp_encode(&w, &rsp);
	}
	if (rc != 0) {
		free(body);
		mbx_mh_ctx_destroy(&ctx, MBX_MH_CTX_GONE_DISCONNECT);
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "the Connect response failed");
		return;
	}
	mbx_mh_request_set_cookie(r, MBX_MH_COOKIE_CONTEXT, ctx->cookie);
	mbx_mh_request_set_cookie(r, MBX_MH_COOKIE_SEQUENCE, ctx->sequence);
	r->ctx = ctx; /* for the log line only: Connect holds nothing */
	mbx_mh_request_reply_ok(r, body, w.len);
	free(body);
}

static void mh_connect_mailbox_cb(void *arg, const struct mbx_mt_result *res)
{
	struct mh_req *r = arg;
	struct mbx_authz_principal ap;
	struct mbx_authz *az;

	r->mtw = NULL;
	if (res->mbx == NULL) {
		if (res->status == MBX_DIR_NOT_FOUND)
			mh_connect_error(r, ecUnknownUser, "UserDn names no mailbox");
		else if (res->status == MBX_DIR_TEMPFAIL)
			mh_connect_error(r, ecNetworkError,
			                 "the directory cannot look up UserDn now");
		else
			mh_connect_error(r, ecAccessDenied, "UserDn's directory entry is unusable");
		return;
	}
	az = malloc(sizeof(*az));
	if (az == NULL) {
		mh_connect_error(r, ecServerOOM, "out of memory");
		return;
	}
	mbx_principal_authz(r->token, r->who->name, &ap);
	mbx_authz_check(res->mbx, &ap, az);
	if (az->result != MBX_AUTHZ_GRANTED) {
		char why[MBX_AUTHZ_REASON_MAX + 64];

		snprintf(why, sizeof(why), "UserDn is not the user's and grants no full access: %s",
		         az->reason);
		free(az);
		mh_connect_error(r, ecAccessDenied, why);
		return;
	}
	free(az);
	mh_connect_finish(r, res->mbx->display_name);
}

static void mh_connect_principal_cb(void *arg, enum mbx_dir_status st, struct mbx_principal *p,
                                    const char *message)
{
	struct mh_req *r = arg;
	char b1[128], b2[256];

	r->preq = NULL;
	switch (st) {
	case MBX_DIR_FOUND:
		r->token = p;
		break;
	case MBX_DIR_NOT_FOUND:
		mh_connect_error(r, ecUnknownUser, "the user's directory entry is gone");
		return;
	case MBX_DIR_TEMPFAIL:
		mh_connect_error(r, ecNetworkError,
		                 "the directory cannot resolve the user's groups "
		                 "now");
		return;
	case MBX_DIR_ERROR:
		/* No token: every RopLogon resolves the principal itself and the logon pipeline
		 * answers (with its events) if it still fails. */
		mbx_log(MBX_LOG_WARNING,
		        "mapihttp: Connect user=%s: the user's token cannot be "
		        "resolved: %s",
		        mbx_mh_request_esc(r->who->name, b1, sizeof(b1)),
		        mbx_mh_request_esc(message, b2, sizeof(b2)));
		break;
	}
	if (r->who->legacy_dn != NULL && strcasecmp(r->user_dn, r->who->legacy_dn) == 0) {
		mh_connect_finish(r, r->who->display_name);
		return;
	}
	if (r->token == NULL || r->fe->deps.table == NULL) {
		mh_connect_error(r, ecAccessDenied, "UserDn is not the user's legacyExchangeDN");
		return;
	}
	r->mtw = mbx_mailbox_table_get(r->fe->deps.table, r->user_dn, mh_connect_mailbox_cb, r);
	if (r->mtw == NULL)
		mh_connect_error(r, ecServerOOM, "cannot start the mailbox lookup");
}

void mbx_mh_emsmdb_connect(struct mh_req *r)
{
	struct mbx_frontend *fe = r->fe;
	struct mbx_mh_connect_req req;
	uint8_t *aux;
	size_t auxlen = 0;
	struct rd rd, ra;
	char why[MBX_RD_ERRMAX + 64];
	int room;

	if (fe->draining) {
		mbx_mh_request_fail(r, MBX_MH_RC_ENDPOINT_SHUTTING_DOWN,
		                    "the server is shutting down");
		return;
	}
	rd_init(&rd, r->body, r->body_len, 0);
	if (mbx_mh_connect_req_decode(&rd, &req) < 0) {
		snprintf(why, sizeof(why), "Connect body: %s at offset %zu", rd.err_msg,
		         rd.err_off);
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
		return;
	}
	aux = malloc(MBX_RHE_MAX_PAYLOAD);
	if (aux == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return;
	}
	rd_init(&ra, req.aux, req.aux_len, (size_t)(req.aux - r->body));
	if (req.aux_len > 0 && mbx_mh_aux_in_read(&ra, aux, &auxlen) < 0) {
		snprintf(why, sizeof(why), "Connect AuxiliaryBuffer: %s at offset %zu", ra.err_msg,
		         ra.err_off);
		free(aux);
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
		return;
	}
	free(aux);
	r->user_dn = strdup(req.user_dn);
	if (r->user_dn == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return;
	}
	if (req.flags & MH_CONNECT_FLAG_ADMIN) {
		mh_connect_error(r, ecLoginPerm, "administrator logons (Flags 0x1) are not served");
		return;
	}
	if (req.user_dn_len == 0) {
		mh_connect_error(r, ecAccessDenied, "UserDn is empty");
		return;
	}
	room = mbx_mh_ctxs_room(fe->ctxs, r->who->dn);
	if (room != MBX_MH_CTX_OK) {
		mh_connect_error(r,
		                 room == MBX_MH_CTX_USER_FULL ? MH_EC_SESSION_LIMIT : ecServerBusy,
		                 room == MBX_MH_CTX_USER_FULL
		                         ? "the user holds max_contexts_per_user session contexts"
		                         : "max_contexts session contexts exist");
		return;
	}
	if (fe->deps.resolver == NULL) {
		mh_connect_principal_cb(r, MBX_DIR_ERROR, NULL, "no principal resolver");
		return;
	}
	r->preq = mbx_principal_lookup(fe->deps.resolver, r->who->dn, mh_connect_principal_cb, r);
	if (r->preq == NULL)
		mh_connect_error(r, ecNetworkError, "cannot start resolving the user's groups");
}

/* ---- Execute (2.2.4.2; EcDoRpcExt2, [MS-OXCRPC] 3.1.4.2) ------------------------------------ */

static void mh_exec_cb(void *arg, const struct mbx_session_exec_result *res)
{
	struct mh_req *r = arg;
	struct mbx_mh_execute_rsp rsp = {0};
	uint8_t *body;
	size_t cap;
	struct wr w;
	char ecbuf[16], b1[128];

	r->exec = NULL;
	for (unsigned i = 0; i < res->nlogons && i < 8; i++)
		mbx_metrics_logon(r->fe->deps.metrics, res->logon_ecs[i]);
	rsp.error_code = res->error_code;
	if (res->error_code == 0) {
		rsp.rop = res->rop_out;
		rsp.rop_len = (uint32_t)res->rop_out_len;
		if (res->rop_out_len > MBX_MH_ROP_MAX) {
			mbx_mh_request_done_chunked(r, MBX_MH_RC_UNKNOWN_FAILURE, NULL, 0,
			                            "the response RopBuffer exceeds 0x40000 bytes");
			return;
		}
	} else {
		/* (the session logs the reason itself) */
		mbx_trace(MBX_TRACE_HTTP, "mapihttp: Execute user=%s ctx=%.8s: ErrorCode %s: %s",
		          mbx_mh_request_esc(r->who->name, b1, sizeof(b1)), r->ctx->cookie,
		          mbx_ec_str(res->error_code, ecbuf, sizeof(ecbuf)),
		          res->why != NULL ? res->why : "-");
	}
	mbx_trace(MBX_TRACE_ROP,
	          "mapihttp: Execute user=%s ctx=%.8s: %u ROPs, %u RopLogons, %zu "
	          "bytes out",
	          mbx_mh_request_esc(r->who->name, b1, sizeof(b1)), r->ctx->cookie, res->nrops,
	          res->nlogons, res->rop_out_len);
	cap = 32 + rsp.rop_len;
	body = malloc(cap);
	if (body == NULL) {
		mbx_mh_request_done_chunked(r, MBX_MH_RC_UNKNOWN_FAILURE, NULL, 0, "out of memory");
		return;
	}
	wr_init(&w, body, cap);
	if (mbx_mh_execute_rsp_encode(&w, &rsp) != 0) {
		free(body);
		mbx_mh_request_done_chunked(r, MBX_MH_RC_UNKNOWN_FAILURE, NULL, 0,
		                            "the Execute response failed");
		return;
	}
	mbx_mh_ctx_release(r->ctx, r);
	r->holds_busy = false;
	mbx_mh_request_done_chunked(r, MBX_MH_RC_SUCCESS, body, w.len, NULL);
	free(body);
}

void mbx_mh_emsmdb_execute(struct mh_req *r, const char *const *cookies, size_t ncookies)
{
	struct mbx_mh_execute_req req;
	struct mbx_session_exec_req er = {0};
	uint8_t *aux;
	size_t auxlen = 0;
	struct rd rd, ra;
	char why[MBX_RD_ERRMAX + 64];
	const char *cwhy;
	struct mbx_mh_ctx *ctx;
	uint32_t rc;
	int claim;

	rd_init(&rd, r->body, r->body_len, 0);
	if (mbx_mh_execute_req_decode(&rd, &req) < 0) {
		snprintf(why, sizeof(why), "Execute body: %s at offset %zu", rd.err_msg,
		         rd.err_off);
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
		return;
	}
	if (req.aux_len > 0) {
		aux = malloc(MBX_RHE_MAX_PAYLOAD);
		if (aux == NULL) {
			mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
			                           "out of memory");
			return;
		}
		rd_init(&ra, req.aux, req.aux_len, (size_t)(req.aux - r->body));
		if (mbx_mh_aux_in_read(&ra, aux, &auxlen) < 0) {
			snprintf(why, sizeof(why), "Execute AuxiliaryBuffer: %s at offset %zu",
			         ra.err_msg, ra.err_off);
			free(aux);
			mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
			return;
		}
		free(aux);
	}
	rc = mbx_mh_ctx_find(r->fe->ctxs, cookies, ncookies, r->who->dn, MBX_MH_CTX_NEED_SEQUENCE,
	                     &ctx, &cwhy);
	if (rc != MBX_MH_RC_SUCCESS) {
		mbx_mh_request_fail(r, rc, cwhy);
		return;
	}
	claim = mbx_mh_ctx_claim(ctx, r);
	if (claim == -1) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_SEQUENCE,
		                    "another Execute is in progress on this session context");
		return;
	}
	if (claim < 0) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "no random bytes for the cookie");
		return;
	}
	r->ctx = ctx;
	r->holds_busy = true;
	mbx_mh_request_set_cookie(r, MBX_MH_COOKIE_SEQUENCE, ctx->sequence);
	if (mbx_mh_request_start_chunked(r) < 0)
		return;
	er.flags = req.flags;
	er.rop_buffer = req.rop;
	er.rop_buffer_len = req.rop_len;
	er.max_rop_out = req.max_rop_out > MBX_MH_ROP_MAX ? MBX_MH_ROP_MAX : req.max_rop_out;
	if (ctx->session != NULL)
		r->exec = mbx_session_execute(ctx->session, &er, mh_exec_cb, r);
	if (r->exec == NULL)
		mbx_mh_request_done_chunked(r, MBX_MH_RC_UNKNOWN_FAILURE, NULL, 0,
		                            "the session cannot start the Execute");
}

/* ---- Disconnect (2.2.4.3), PING (2.2.6), NotificationWait (2.2.4.4) ------------------------- */

static int mh_aux_check(struct mh_req *r, const char *what, const uint8_t *p, uint32_t len)
{
	uint8_t *aux;
	size_t auxlen = 0;
	struct rd ra;
	char why[MBX_RD_ERRMAX + 64];

	if (len == 0)
		return 0;
	aux = malloc(MBX_RHE_MAX_PAYLOAD);
	if (aux == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return -1;
	}
	rd_init(&ra, p, len, (size_t)(p - r->body));
	if (mbx_mh_aux_in_read(&ra, aux, &auxlen) < 0) {
		snprintf(why, sizeof(why), "%s AuxiliaryBuffer: %s at offset %zu", what, ra.err_msg,
		         ra.err_off);
		free(aux);
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
		return -1;
	}
	free(aux);
	return 0;
}

void mbx_mh_emsmdb_disconnect(struct mh_req *r, const char *const *cookies, size_t ncookies)
{
	struct mbx_mh_disconnect_req req;
	struct mbx_mh_disconnect_rsp rsp = {0};
	uint8_t buf[32];
	struct wr w;
	struct rd rd;
	char why[MBX_RD_ERRMAX + 64];
	const char *cwhy;
	struct mbx_mh_ctx *ctx;
	uint32_t rc;

	rd_init(&rd, r->body, r->body_len, 0);
	if (mbx_mh_disconnect_req_decode(&rd, &req) < 0) {
		snprintf(why, sizeof(why), "Disconnect body: %s at offset %zu", rd.err_msg,
		         rd.err_off);
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
		return;
	}
	if (mh_aux_check(r, "Disconnect", req.aux, req.aux_len) < 0)
		return;
	rc = mbx_mh_ctx_find(r->fe->ctxs, cookies, ncookies, r->who->dn,
	                     MBX_MH_CTX_NEED_CONTEXT_SEQ_IF_SENT, &ctx, &cwhy);
	if (rc != MBX_MH_RC_SUCCESS) {
		mbx_mh_request_fail(r, rc, cwhy);
		return;
	}
	if (ctx->busy != NULL) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_SEQUENCE,
		                    "an Execute is in progress on this session context");
		return;
	}
	ctx->nrequests++;
	mbx_mh_ctx_destroy(&ctx, MBX_MH_CTX_GONE_DISCONNECT);
	wr_init(&w, buf, sizeof(buf));
	(void)mbx_mh_disconnect_rsp_encode(&w, &rsp);
	mbx_mh_request_expire_cookie(r, MBX_MH_COOKIE_CONTEXT);
	mbx_mh_request_expire_cookie(r, MBX_MH_COOKIE_SEQUENCE);
	mbx_mh_request_reply_ok(r, buf, w.len);
}

void mbx_mh_emsmdb_ping(struct mh_req *r, const char *const *cookies, size_t ncookies)
{
	struct rd rd;
	const char *cwhy;
	struct mbx_mh_ctx *ctx;
	uint32_t rc;

	rd_init(&rd, r->body, r->body_len, 0);
	if (mbx_mh_ping_req_decode(&rd) < 0) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY,
		                    "a PING request has no body");
		return;
	}
	rc = mbx_mh_ctx_find(r->fe->ctxs, cookies, ncookies, r->who->dn, MBX_MH_CTX_NEED_NONE, &ctx,
	                     &cwhy);
	if (rc != MBX_MH_RC_SUCCESS) {
		mbx_mh_request_fail(r, rc, cwhy);
		return;
	}
	if (ctx != NULL)
		mbx_mh_ctx_touch(ctx);
	mbx_mh_request_reply_ok(r, NULL, 0);
}

void mbx_mh_emsmdb_nwait_finish(struct mh_req *r, uint32_t event_pending)
{
	struct mbx_mh_nwait_rsp rsp = {.event_pending = event_pending};
	uint8_t buf[32];
	struct wr w;

	if (r->ctx != NULL && r->holds_wait) {
		mbx_mh_ctx_unwait(r->ctx, r);
		r->holds_wait = false;
	}
	wr_init(&w, buf, sizeof(buf));
	(void)mbx_mh_nwait_rsp_encode(&w, &rsp);
	mbx_mh_request_done_chunked(r, MBX_MH_RC_SUCCESS, buf, w.len, NULL);
}

static void mh_nwait_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mh_req *r = arg;

	(void)fd;
	(void)what;
	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mbx_mh_request_abandon(r);
		return;
	}
	mbx_mh_emsmdb_nwait_finish(r, 0);
}

void mbx_mh_emsmdb_nwait(struct mh_req *r, const char *const *cookies, size_t ncookies)
{
	struct mbx_mh_nwait_req req;
	struct rd rd;
	char why[MBX_RD_ERRMAX + 64];
	const char *cwhy;
	struct mbx_mh_ctx *ctx;
	struct timeval tv;
	uint32_t rc;

	rd_init(&rd, r->body, r->body_len, 0);
	if (mbx_mh_nwait_req_decode(&rd, &req) < 0) {
		snprintf(why, sizeof(why), "NotificationWait body: %s at offset %zu", rd.err_msg,
		         rd.err_off);
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_BODY, why);
		return;
	}
	if (mh_aux_check(r, "NotificationWait", req.aux, req.aux_len) < 0)
		return;
	rc = mbx_mh_ctx_find(r->fe->ctxs, cookies, ncookies, r->who->dn, MBX_MH_CTX_NEED_CONTEXT,
	                     &ctx, &cwhy);
	if (rc != MBX_MH_RC_SUCCESS) {
		mbx_mh_request_fail(r, rc, cwhy);
		return;
	}
	if (mbx_mh_ctx_wait(ctx, r) < 0) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_SEQUENCE,
		                    "a NotificationWait is already held on this session context");
		return;
	}
	r->ctx = ctx;
	r->holds_wait = true;
	if (mbx_mh_request_start_chunked(r) < 0)
		return;
	if (r->fe->draining) {
		mbx_mh_emsmdb_nwait_finish(r, 0);
		return;
	}
	r->deadline_ev = evtimer_new(r->fe->deps.base, mh_nwait_deadline_cb, r);
	if (r->deadline_ev == NULL) {
		mbx_mh_request_done_chunked(r, MBX_MH_RC_UNKNOWN_FAILURE, NULL, 0, "out of memory");
		return;
	}
	tv.tv_sec = (time_t)r->fe->lim.notification_wait_seconds;
	tv.tv_usec = 0;
	evtimer_add(r->deadline_ev, &tv);
}
