/*
 * mh-server.c: the MAPI over HTTP mailbox endpoint on evhttp ([MS-OXCMAPIHTTP] 2.2.2 common
 * request and response format, 2.2.3 headers, 2.2.4 bodies, 2.2.7 meta-tags, 3.2.5 server
 * processing, examples 4.1-4.5; protocol.md 5). With mh-request.c, the only code of mbxstore
 * that knows evhttp.
 *
 * A request goes through, in this order (the first failure answers):
 *   method POST                      else X-ResponseCode 2  (HTTP 200)
 *   path /mapi/emsmdb[/] (any case)  else 3 (HTTP 200 under /mapi/, 404 elsewhere)
 *   body within max_body_bytes       else 9
 *   HTTP Basic authentication        401 + WWW-Authenticate (X-ResponseCode 8) when missing or
 *                                    wrong; 200 + 8 on a clear-text listener from a
 *                                    non-loopback peer (no credentials are accepted there);
 *                                    503 + 1 when the directory cannot answer (seed 004)
 *   X-RequestType                    missing 7, not a mailbox request type 5
 *   Content-Type, X-RequestId,
 *   X-ClientInfo, X-ClientApplication missing 7, malformed 4
 *   the body                         malformed 12
 *   the session cookies              mh-contexts.c: 13, 6, 10, 11, 15
 * Every transport-level failure is HTTP 200 with its X-ResponseCode and a one-line text body
 * (2.2.2.2: the status deviates from 200 only for authentication, redirection and exceptional
 * failures). Connect, Disconnect and PING answer in one piece with Content-Length; Execute and
 * NotificationWait answer chunked (example 4.2): the headers and "PROCESSING" at once, a
 * "PENDING" chunk every X-PendingPeriod while the request is held, then the DONE block with
 * the final X-ResponseCode, X-ElapsedTime and X-StartTime, and the body: mh-request.c, which
 * also keeps the request's life until then.
 */
#include "mapihttp/mh-frontend-int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "mbx/authz.h"
#include "mbx/config.h"
#include "mbx/defer-event.h"
#include "mbx/log.h"
#include "mbx/logon-pipeline.h"
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
/* evhttp refuses bodies past its own limit with 413 before we see them; it is set this much
 * above max_body_bytes so that a body a little too large gets X-ResponseCode 9 instead. */
#define MH_BODY_SLACK (64u * 1024u)
#define MH_MAX_COOKIE_HEADERS 8u

struct mh_listener {
	struct mbx_frontend *fe;
	struct evhttp *http;
	bool tls;
	struct mh_listener *next;
};

/* ---- contexts going away ------------------------------------------------------------------- */

static void mh_ctx_gone(void *arg, struct mbx_mh_ctx *ctx, enum mbx_mh_ctx_gone why)
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

static void mh_connect(struct mh_req *r)
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

static void mh_execute(struct mh_req *r, const char *const *cookies, size_t ncookies)
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

static void mh_disconnect(struct mh_req *r, const char *const *cookies, size_t ncookies)
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

static void mh_ping(struct mh_req *r, const char *const *cookies, size_t ncookies)
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

static void mh_nwait_finish(struct mh_req *r, uint32_t event_pending)
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
	if (r->http == NULL || evhttp_request_get_connection(r->http) == NULL) {
		mbx_mh_request_abandon(r);
		return;
	}
	mh_nwait_finish(r, 0);
}

static void mh_nwait(struct mh_req *r, const char *const *cookies, size_t ncookies)
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
		mh_nwait_finish(r, 0);
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

/* ---- routing, authentication, headers -------------------------------------------------------- */

/* Collects the values of every Cookie header; -1 if there are too many. */
static int mh_cookies(struct mh_req *r, const char **out, size_t *n_r)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->http);
	struct evkeyval *kv;
	size_t n = 0;

	for (kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		if (strcasecmp(kv->key, "Cookie") != 0)
			continue;
		if (n == MH_MAX_COOKIE_HEADERS)
			return -1;
		out[n++] = kv->value;
	}
	*n_r = n;
	return 0;
}

/* Checks the request headers (2.2.3.2, 2.2.3.3) and runs the request type. */
static void mh_authed(struct mh_req *r)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->http);
	const char *v, *why = NULL;
	const char *cookies[MH_MAX_COOKIE_HEADERS];
	size_t ncookies = 0;
	static const struct {
		const char *name;
		int (*check)(const char *v, const char **why_r);
	} hdrs[] = {
	        {"Content-Type", mbx_mh_hdr_content_type_check},
	        {"X-RequestId", mbx_mh_hdr_request_id_check},
	        {"X-ClientInfo", mbx_mh_hdr_client_info_check},
	        {"X-ClientApplication", mbx_mh_hdr_client_app_check},
	};
	char msg[128];

	v = evhttp_find_header(h, "X-RequestType");
	if (v == NULL) {
		mbx_mh_request_fail(r, MBX_MH_RC_MISSING_HEADER,
		                    "the X-RequestType header is missing");
		return;
	}
	if (!r->type_ok) {
		mbx_mh_request_fail(
		        r, MBX_MH_RC_INVALID_REQUEST_TYPE,
		        r->type == MBX_MH_REQ_ADDRESS_BOOK
		                ? "X-RequestType names a request type of the address book endpoint"
		                : "X-RequestType names no request type of this endpoint");
		return;
	}
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		v = evhttp_find_header(h, hdrs[i].name);
		if (v == NULL) {
			snprintf(msg, sizeof(msg), "the %s header is missing", hdrs[i].name);
			mbx_mh_request_fail(r, MBX_MH_RC_MISSING_HEADER, msg);
			return;
		}
		if (hdrs[i].check(v, &why) < 0) {
			snprintf(msg, sizeof(msg), "%s: %s", hdrs[i].name,
			         why != NULL ? why : "invalid value");
			mbx_mh_request_fail(r, MBX_MH_RC_INVALID_HEADER, msg);
			return;
		}
	}
	if (mh_cookies(r, cookies, &ncookies) < 0) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_CONTEXT_COOKIE, "too many Cookie headers");
		return;
	}
	switch (r->type) {
	case MBX_MH_REQ_CONNECT:
		mh_connect(r);
		return;
	case MBX_MH_REQ_EXECUTE:
		mh_execute(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_DISCONNECT:
		mh_disconnect(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_NOTIFICATIONWAIT:
		mh_nwait(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_PING:
		mh_ping(r, cookies, ncookies);
		return;
	case MBX_MH_REQ_UNKNOWN:
	case MBX_MH_REQ_ADDRESS_BOOK:
		break;
	}
	mbx_mh_request_fail(r, MBX_MH_RC_INVALID_REQUEST_TYPE, NULL);
}

static void mh_auth_cb(void *arg, enum mbx_mh_authn_status st, const struct mbx_mh_principal *p,
                       const char *why)
{
	struct mh_req *r = arg;

	r->auth = NULL;
	if (r->http == NULL) { /* evhttp freed it meanwhile */
		mbx_mh_request_abandon(r);
		return;
	}
	switch (st) {
	case MBX_MH_AUTHN_OK:
		r->who = mbx_mh_principal_dup(p);
		if (r->who == NULL) {
			mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
			                           "out of memory");
			return;
		}
		mh_authed(r);
		return;
	case MBX_MH_AUTHN_DENIED:
		mbx_mh_request_fail_status(r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED, why);
		return;
	case MBX_MH_AUTHN_TEMPFAIL:
	case MBX_MH_AUTHN_ERROR:
		break;
	}
	mbx_mh_request_fail_status(r, 503, MBX_MH_RC_UNKNOWN_FAILURE, why);
}

static bool mh_peer_is_loopback(struct evhttp_request *http)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(http);
	const struct sockaddr *sa = evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		const uint8_t *a;

		memcpy(&sin6, sa, sizeof(sin6));
		a = sin6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) && a[12] == 127;
	}
	return false;
}

static void mh_authenticate(struct mh_req *r)
{
	char user[MBX_MH_AUTH_USER_MAX + 1], pass[MBX_MH_AUTH_PASS_MAX + 1];
	const struct mbx_mh_principal *p = NULL;
	const char *why = NULL;
	int rc;

	if (!r->tls && !mh_peer_is_loopback(r->http)) {
		mbx_mh_request_fail(
		        r, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED,
		        "HTTP Basic authentication is refused over plain HTTP from a non-loopback "
		        "address: use TLS");
		return;
	}
	rc = mbx_mh_auth_parse_basic(
	        evhttp_find_header(evhttp_request_get_input_headers(r->http), "Authorization"),
	        user, sizeof(user), pass, sizeof(pass), &why);
	if (rc != MBX_MH_AUTH_BASIC) {
		mbx_mh_request_fail_status(r, 401, MBX_MH_RC_ANONYMOUS_NOT_ALLOWED,
		                           rc == MBX_MH_AUTH_NONE ? "authentication required"
		                                                  : why);
		return;
	}
	rc = mbx_mh_authn_check(r->fe->authn, user, pass, mh_auth_cb, r, &r->auth, &p);
	OPENSSL_cleanse(pass, sizeof(pass));
	if (rc < 0) {
		mbx_mh_request_fail_status(r, 503, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "the directory cannot authenticate now");
		return;
	}
	if (rc == 1) {
		r->who = mbx_mh_principal_dup(p);
		if (r->who == NULL) {
			mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
			                           "out of memory");
			return;
		}
		mh_authed(r);
	}
}

/* Which endpoint a path names: 1 the mailbox endpoint, 0 another path under /mapi/, -1 none. */
static int mh_route(struct evhttp_request *http)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(http);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	char *path;
	int route = -1;

	if (raw == NULL)
		return -1;
	path = evhttp_uridecode(raw, 0, NULL);
	if (path == NULL)
		return -1;
	if (strcasecmp(path, "/mapi/emsmdb/") == 0 || strcasecmp(path, "/mapi/emsmdb") == 0)
		route = 1;
	else if (strncasecmp(path, "/mapi/", 6) == 0 || strcasecmp(path, "/mapi") == 0)
		route = 0;
	free(path);
	return route;
}

static void mh_http_cb(struct evhttp_request *http, void *arg)
{
	struct mh_listener *l = arg;
	struct mbx_frontend *fe = l->fe;
	struct evkeyvalq *h = evhttp_request_get_input_headers(http);
	struct evbuffer *in = evhttp_request_get_input_buffer(http);
	struct mh_req *r = mbx_mh_request_new(fe, http, l->tls);
	const char *v;
	size_t len;
	int route;

	if (r == NULL) {
		evhttp_send_error(http, 500, NULL);
		return;
	}
	/* What is echoed: only values that pass their checks. */
	v = evhttp_find_header(h, "X-RequestType");
	r->type = mbx_mh_reqtype_parse(v);
	r->type_ok = r->type != MBX_MH_REQ_UNKNOWN && r->type != MBX_MH_REQ_ADDRESS_BOOK;
	v = evhttp_find_header(h, "X-RequestId");
	if (v != NULL && mbx_mh_hdr_request_id_check(v, NULL) == 0)
		snprintf(r->rid, sizeof(r->rid), "%s", v);
	v = evhttp_find_header(h, "X-ClientInfo");
	if (v != NULL && mbx_mh_hdr_client_info_check(v, NULL) == 0)
		snprintf(r->cinfo, sizeof(r->cinfo), "%s", v);

	if (evhttp_request_get_command(http) != EVHTTP_REQ_POST) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_VERB, "the HTTP method must be POST");
		return;
	}
	route = mh_route(http);
	if (route < 0) {
		mbx_mh_request_fail_status(r, 404, MBX_MH_RC_INVALID_PATH,
		                           "no MAPI/HTTP endpoint at this path");
		return;
	}
	if (route == 0) {
		mbx_mh_request_fail(r, MBX_MH_RC_INVALID_PATH,
		                    "this server serves the mailbox endpoint /mapi/emsmdb/ only");
		return;
	}
	len = evbuffer_get_length(in);
	if (len > fe->lim.max_body_bytes) {
		mbx_mh_request_fail(r, MBX_MH_RC_TOO_LARGE,
		                    "the request body exceeds max_body_bytes");
		return;
	}
	r->body_len = len;
	r->body = len > 0 ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
	if (r->body == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return;
	}
	mh_authenticate(r);
}

/* ---- frontend.h --------------------------------------------------------------------------- */

static void mh_copy_limits(struct mbx_frontend *fe, const struct mbx_config *cfg)
{
	fe->lim.max_body_bytes = cfg->limits.max_body_bytes;
	fe->lim.max_rops_per_execute = cfg->limits.max_rops_per_execute;
	fe->lim.max_contexts = cfg->limits.max_contexts;
	fe->lim.max_contexts_per_user = cfg->limits.max_contexts_per_user;
	fe->lim.context_idle_seconds = cfg->limits.context_idle_seconds;
	fe->lim.pending_period_ms =
	        cfg->limits.pending_period_ms > 0 ? cfg->limits.pending_period_ms : 15000u;
	fe->lim.notification_wait_seconds = cfg->limits.notification_wait_seconds;
	snprintf(fe->server_app, sizeof(fe->server_app), "%s",
	         cfg->server.server_application != NULL ? cfg->server.server_application
	                                                : "Exchange/15.01.2176.009");
}

struct mbx_frontend *mbx_frontend_new(const struct mbx_frontend_deps *deps, char *err,
                                      size_t errsize)
{
	struct mbx_frontend *fe;
	struct mbx_mh_ctxs_config cc = {0};
	struct mbx_mh_authn_config ac = {0};

	if (deps == NULL || deps->base == NULL || deps->cfg == NULL || deps->dir == NULL ||
	    deps->pipeline == NULL || deps->id == NULL) {
		snprintf(err, errsize,
		         "front end: the event base, configuration, directory, logon "
		         "pipeline and server identity are required");
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (fe == NULL) {
		snprintf(err, errsize, "front end: out of memory");
		return NULL;
	}
	fe->deps = *deps;
	fe->deps.cfg = NULL; /* not kept: a reload may free it */
	mh_copy_limits(fe, deps->cfg);
	mbx_dir_defer_init(&fe->defer, deps->base);
	cc.base = deps->base;
	cc.max_contexts = fe->lim.max_contexts;
	cc.max_per_user = fe->lim.max_contexts_per_user;
	cc.idle_ms = (uint64_t)fe->lim.context_idle_seconds * 1000u;
	cc.gone = mh_ctx_gone;
	cc.gone_arg = fe;
	fe->ctxs = mbx_mh_ctxs_new(&cc);
	ac.dir = deps->dir;
	fe->authn = mbx_mh_authn_new(&ac);
	if (fe->ctxs == NULL || fe->authn == NULL) {
		snprintf(err, errsize, "front end: out of memory");
		mbx_frontend_free(&fe);
		return NULL;
	}
	return fe;
}

int mbx_frontend_attach(struct mbx_frontend *fe, struct evhttp *http, bool tls)
{
	struct mh_listener *l;

	if (fe == NULL || http == NULL)
		return -1;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -1;
	l->fe = fe;
	l->http = http;
	l->tls = tls;
	/* Every method reaches us, so that a wrong one gets X-ResponseCode 2 rather than
	 * evhttp's 405; bodies a little over the limit get X-ResponseCode 9 rather than 413. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                         EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(http, (ev_ssize_t)fe->lim.max_body_bytes + MH_BODY_SLACK);
	evhttp_set_gencb(http, mh_http_cb, l);
	l->next = fe->listeners;
	fe->listeners = l;
	return 0;
}

void mbx_frontend_reconfigure(struct mbx_frontend *fe, const struct mbx_config *cfg)
{
	if (fe == NULL || cfg == NULL)
		return;
	mh_copy_limits(fe, cfg);
	mbx_mh_authn_flush(fe->authn); /* a reload may come with changed passwords */
	mbx_mh_ctxs_reconfigure(fe->ctxs, fe->lim.max_contexts, fe->lim.max_contexts_per_user,
	                        (uint64_t)fe->lim.context_idle_seconds * 1000u);
	for (struct mh_listener *l = fe->listeners; l != NULL; l = l->next)
		evhttp_set_max_body_size(l->http,
		                         (ev_ssize_t)fe->lim.max_body_bytes + MH_BODY_SLACK);
}

void mbx_frontend_drain(struct mbx_frontend *fe)
{
	struct mh_req *r, *next;

	if (fe == NULL || fe->draining)
		return;
	fe->draining = true;
	for (r = fe->reqs; r != NULL; r = next) {
		next = r->next;
		/* Finishing r frees only r: next stays valid. */
		if (r->holds_wait && r->started)
			mh_nwait_finish(r, 0);
	}
}

void mbx_frontend_free(struct mbx_frontend **fep)
{
	struct mbx_frontend *fe = fep != NULL ? *fep : NULL;

	if (fe == NULL)
		return;
	fe->draining = true;
	while (fe->reqs != NULL) {
		struct mh_req *r = fe->reqs;

		/* (when evhttp already freed it, this only counts and frees r) */
		mbx_mh_request_fail(r, MBX_MH_RC_ENDPOINT_SHUTTING_DOWN,
		                    "the server is shutting down");
	}
	mbx_mh_ctxs_free(&fe->ctxs);
	mbx_mh_authn_free(&fe->authn);
	while (fe->listeners != NULL) {
		struct mh_listener *l = fe->listeners;

		fe->listeners = l->next;
		free(l); /* http may be gone already: not touched (see frontend.h) */
	}
	free(fe);
	*fep = NULL;
}
