/*
 * mh-request.c: one MAPI/HTTP request on the HTTP server (include/mbx/httpd.h), from its
 * arrival to its answer ([MS-OXCMAPIHTTP] 2.2.2.2 common response format, 2.2.3.3 response headers, 2.2.7 meta-tags, examples 4.1-4.2;
 * protocol.md 5): the request's life and bookkeeping (struct mh_req, mh-frontend-int.h), its
 * connection going away, the response headers and cookies, the X-ResponseCode failure answers,
 * the one-piece answer (Connect, Disconnect, PING) and the chunked one (Execute,
 * NotificationWait: PROCESSING, a PENDING chunk every X-PendingPeriod, the DONE block).
 *
 * Held requests: after the body is read the server stops reading, so a client that goes away
 * is noticed when a chunk cannot be written; the server then detaches the request from the
 * dead connection (mbx_http_req_attached() false) and tells us (the close callback), and the
 * next PENDING tick, made due at once, cancels the work and frees it. The server's request
 * stays valid until one of the reply calls here frees it; r->http is NULL from then on.
 */
#include "mapihttp/mh-frontend-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "mbx/httpd.h"
#include "mbx/log.h"
#include "mbx/metrics.h"
#include "mbx/textfmt.h"
#include "mbx/principal.h"
#include "mbx/session.h"

#define MH_REALM "mbxstore"
/* path=/mapi/emsmdb (no slash) path-matches both /mapi/emsmdb and /mapi/emsmdb/?... (RFC 6265
 * 5.1.4) */
#define MH_COOKIE_ATTRS "; path=/mapi/emsmdb; HttpOnly"

static uint64_t mh_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* v in decimal, NUL-terminated, at buf (room for 21 bytes); returns buf. */
static char *mh_u64(char buf[21], uint64_t v)
{
	*mbx_fmt_u64(buf, v) = '\0';
	return buf;
}

/* Appends the NUL-terminated s at *o in buf (size bytes), cutting it to fit with the NUL as
 * snprintf would. */
static void mh_cat(char *buf, size_t size, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + 1 >= size)
		return;
	if (n > size - 1 - *o)
		n = size - 1 - *o;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
}

const char *mbx_mh_request_esc(const char *s, char *buf, size_t size)
{
	if (s == NULL)
		return "-";
	return mbx_log_escape(s, strlen(s), buf, size);
}

static const char *mh_type_name(const struct mh_req *r)
{
	if (r->autodiscover)
		return "Autodiscover";
	return r->type_ok ? mbx_mh_reqtype_name(r->type) : "other";
}

/* ---- the request's life -------------------------------------------------------------------- */

/* The connection of a held request went away: the next PENDING tick (made due now) cancels the
 * work and frees it; a request without one (waiting for the directory) finds out when it is
 * answered. */
static void mh_conn_closed(struct mbx_http_req *http, void *arg)
{
	struct mh_req *r = arg;

	(void)http;
	if (r->pending_ev != NULL)
		event_active(r->pending_ev, EV_TIMEOUT, 1);
}

/* The request no longer needs to hear about its connection (it is being answered). */
static void mh_unhook(struct mh_req *r)
{
	if (r->http != NULL)
		mbx_http_req_set_closecb(r->http, NULL, NULL);
}

static void mh_req_free(struct mh_req *r)
{
	struct mbx_frontend *fe = r->fe;

	if (r->http != NULL) {
		mh_unhook(r);
		mbx_http_req_abort(r->http); /* not answered: cannot happen, but never leak it */
		r->http = NULL;
	}
	mbx_mh_authn_cancel(r->auth);
	mbx_principal_cancel(r->preq);
	mbx_mailbox_table_cancel(r->mtw);
	if (r->adreq != NULL && r->adcancel != NULL)
		r->adcancel(r->adreq);
	if (r->exec != NULL)
		mbx_session_exec_cancel(r->exec);
	if (r->ctx != NULL) {
		if (r->holds_busy)
			mbx_mh_ctx_release(r->ctx, r);
		if (r->holds_wait)
			mbx_mh_ctx_unwait(r->ctx, r);
	}
	if (r->pending_ev != NULL)
		event_free(r->pending_ev);
	if (r->deadline_ev != NULL)
		event_free(r->deadline_ev);
	mbx_principal_free(&r->token);
	mbx_mh_principal_free(&r->who);
	free(r->user_dn);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		fe->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	free(r);
}

struct mh_req *mbx_mh_request_new(struct mbx_frontend *fe, struct mbx_http_req *http, bool tls)
{
	struct mh_req *r = calloc(1, sizeof(*r));
	size_t o = 0;

	if (r == NULL)
		return NULL;
	r->fe = fe;
	r->http = http;
	r->tls = tls;
	r->t0_us = mh_now_us();
	r->start = time(NULL);
	r->next = fe->reqs;
	if (fe->reqs != NULL)
		fe->reqs->prev = r;
	fe->reqs = r;
	r->peer[0] = '\0';
	mh_cat(r->peer, sizeof(r->peer), &o, mbx_http_req_peer_name(http));
	mbx_http_req_set_closecb(http, mh_conn_closed, r);
	return r;
}

/* The metrics and the log line of a finished request. */
static void mh_account(struct mh_req *r, uint32_t rc, const char *why)
{
	uint64_t us = mh_now_us() - r->t0_us;
	char b1[128], b2[300];

	mbx_metrics_request(r->fe->deps.metrics, mh_type_name(r), rc, us);
	if (rc != MBX_MH_RC_SUCCESS)
		mbx_log(MBX_LOG_INFO,
		        "mapihttp: %s from %s user=%s rid=%s ctx=%.8s: X-ResponseCode %u (%s): %s",
		        mh_type_name(r), r->peer,
		        mbx_mh_request_esc(r->who != NULL ? r->who->name : NULL, b1, sizeof(b1)),
		        r->rid[0] != '\0' ? mbx_mh_request_esc(r->rid, b2, sizeof(b2)) : "-",
		        r->ctx != NULL ? r->ctx->cookie : "-", rc, mbx_mh_rc_name(rc),
		        why != NULL ? why : mbx_mh_rc_text(rc));
	else
		mbx_trace(MBX_TRACE_HTTP,
		          "mapihttp: %s from %s user=%s rid=%s ctx=%.8s: done in %llu us",
		          mh_type_name(r), r->peer,
		          mbx_mh_request_esc(r->who != NULL ? r->who->name : NULL, b1, sizeof(b1)),
		          r->rid[0] != '\0' ? mbx_mh_request_esc(r->rid, b2, sizeof(b2)) : "-",
		          r->ctx != NULL ? r->ctx->cookie : "-", (unsigned long long)us);
}

/* The response headers every answer carries (2.2.2.2, 2.2.3.3). */
static void mh_headers(struct mh_req *r, uint32_t rc, bool diagnostic)
{
	struct mbx_http_req *h = r->http;
	char num[21], date[32];
	time_t now = time(NULL);

	/* Date (RFC 9110 6.6.1) from the formatter that caches the second's text X-StartTime and
	 * the DONE block also use (the server then adds none of its own). */
	if (mbx_mh_env_http_date(now, date, sizeof(date)) == 0)
		mbx_http_req_add_header(h, "Date", date);
	mbx_http_req_add_header(h, "Content-Type",
	                        diagnostic ? "text/plain; charset=us-ascii" : "application/mapi-http");
	if (r->type_ok)
		mbx_http_req_add_header(h, "X-RequestType", mbx_mh_reqtype_name(r->type));
	if (r->rid[0] != '\0')
		mbx_http_req_add_header(h, "X-RequestId", r->rid);
	if (r->cinfo[0] != '\0')
		mbx_http_req_add_header(h, "X-ClientInfo", r->cinfo);
	mbx_http_req_add_header(h, "X-ResponseCode", mh_u64(num, rc));
	mbx_http_req_add_header(h, "X-ServerApplication", r->fe->server_app);
	mbx_http_req_add_header(h, "X-PendingPeriod", mh_u64(num, r->fe->lim.pending_period_ms));
	mbx_http_req_add_header(h, "X-ExpirationInfo",
	                        mh_u64(num, (uint64_t)r->fe->lim.context_idle_seconds * 1000u));
	/* The headers of the spec's examples (4.1, 4.2), and no more. An enveloped answer carries
	 * X-StartTime and X-ElapsedTime in its DONE block (2.2.2.2); a diagnostic one has no DONE
	 * block, so they are headers there, with Cache-Control. */
	if (diagnostic) {
		mbx_http_req_add_header(h, "Cache-Control", "private");
		if (mbx_mh_env_http_date(r->start, date, sizeof(date)) == 0)
			mbx_http_req_add_header(h, "X-StartTime", date);
	}
}

void mbx_mh_request_set_cookie(struct mh_req *r, const char *name, const char *value)
{
	char buf[256];
	size_t o = 0;

	buf[0] = '\0';
	mh_cat(buf, sizeof(buf), &o, name);
	mh_cat(buf, sizeof(buf), &o, "=");
	mh_cat(buf, sizeof(buf), &o, value);
	mh_cat(buf, sizeof(buf), &o, MH_COOKIE_ATTRS);
	if (r->tls)
		mh_cat(buf, sizeof(buf), &o, "; Secure");
	mbx_http_req_add_header(r->http, "Set-Cookie", buf);
}

void mbx_mh_request_expire_cookie(struct mh_req *r, const char *name)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	         "%s=" MH_COOKIE_ATTRS "; expires=Thu, 01 Jan 1970 00:00:00 GMT%s", name,
	         r->tls ? "; Secure" : "");
	mbx_http_req_add_header(r->http, "Set-Cookie", buf);
}

/* The diagnostic body of a failure: one line, in buf; returns its length. */
static size_t mh_diag(char *buf, size_t size, uint32_t rc, const char *why)
{
	int n = snprintf(buf, size, "X-ResponseCode %u (%s): %s\r\n", (unsigned)rc,
	                 mbx_mh_rc_name(rc), why != NULL ? why : mbx_mh_rc_text(rc));

	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/* How long a chunked answer may wait for its result before its headers and PROCESSING are
 * sent on their own. */
#define MH_GRACE_MS 50u

/* The chunked answer's headers and its PROCESSING chunk. hint: the bytes of the answer known
 * so far (so that an answer sent whole is one buffer chain: one write, one TLS record). */
static void mh_send_start(struct mh_req *r, size_t hint)
{
	mbx_http_reply_start(r->http, 200, "OK", hint + 64);
	r->sent = true;
	mbx_http_reply_chunk(r->http, MBX_MH_META_PROCESSING, strlen(MBX_MH_META_PROCESSING));
}

/* Ends a chunked answer: the DONE block with rc, then body (binary) or, for a failure, the
 * diagnostic line, in one chunk. An answer whose result is ready before anything was sent
 * (within MH_GRACE_MS) leaves whole: headers, PROCESSING, that chunk and the last chunk in one
 * turn of the loop, so in one write. Frees r. */
void mbx_mh_request_done_chunked(struct mh_req *r, uint32_t rc, const uint8_t *body, size_t len,
                                 const char *why)
{
	uint8_t small[4096], *buf = small;
	struct wr w;
	size_t n, cap;
	uint64_t ms = (mh_now_us() - r->t0_us) / 1000u;

	mh_account(r, rc, why);
	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mh_req_free(r);
		return;
	}
	mh_unhook(r);
	if (rc != MBX_MH_RC_SUCCESS)
		len = 0;
	cap = MBX_MH_ENV_DONE_MAX + (rc == MBX_MH_RC_SUCCESS ? len : 512u);
	if (cap > sizeof(small)) {
		buf = malloc(cap);
		if (buf == NULL) {
			/* the DONE block alone still ends the answer in the protocol's terms */
			buf = small;
			rc = MBX_MH_RC_UNKNOWN_FAILURE;
			why = "out of memory";
			len = 0;
			cap = sizeof(small);
		}
	}
	wr_init(&w, buf, cap);
	if (mbx_mh_env_done(&w, rc, ms, r->start) != 0) {
		wr_init(&w, buf, cap);
		(void)mbx_mh_env_done(&w, rc, ms, 0);
	}
	n = w.len;
	if (rc == MBX_MH_RC_SUCCESS) {
		if (len > 0)
			memcpy(buf + n, body, len);
		n += len;
	} else {
		n += mh_diag((char *)buf + n, cap - n, rc, why);
	}
	if (!r->sent)
		mh_send_start(r, n);
	mbx_http_reply_chunk(r->http, buf, n);
	mbx_http_reply_end(r->http); /* frees the server's request */
	r->http = NULL;
	if (buf != small)
		free(buf);
	mh_req_free(r);
}

/* A transport-level failure (or, once a chunked answer started, its end). Frees r. */
void mbx_mh_request_fail_status(struct mh_req *r, int status, uint32_t rc, const char *why)
{
	char body[512];
	size_t n;

	if (r->started) {
		mbx_mh_request_done_chunked(r, rc, NULL, 0, why);
		return;
	}
	mh_account(r, rc, why);
	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mh_req_free(r);
		return;
	}
	mh_unhook(r);
	mh_headers(r, rc, true);
	if (status == 401) {
		mbx_http_req_add_header(r->http, "WWW-Authenticate",
		                  "Basic realm=\"" MH_REALM "\", charset=\"UTF-8\"");
	} else if (status == 503) {
		mbx_http_req_add_header(r->http, "Retry-After", "5");
	}
	/* (no body goes out for HEAD: the server leaves it out, RFC 9110 9.3.2) */
	n = mh_diag(body, sizeof(body), rc, why);
	mbx_http_reply(r->http, status, NULL, body, n);
	r->http = NULL;
	mh_req_free(r);
}

void mbx_mh_request_fail(struct mh_req *r, uint32_t rc, const char *why)
{
	mbx_mh_request_fail_status(r, 200, rc, why);
}

/* A success answered in one piece: PROCESSING, DONE block, body (example 4.1). Frees r. */
void mbx_mh_request_reply_ok(struct mh_req *r, const uint8_t *body, size_t len)
{
	uint8_t small[4096], *buf = small;
	struct wr w;
	uint64_t ms = (mh_now_us() - r->t0_us) / 1000u;
	size_t cap = len + sizeof(MBX_MH_META_PROCESSING) + MBX_MH_ENV_DONE_MAX;
	char num[21];

	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mh_account(r, MBX_MH_RC_SUCCESS, NULL);
		mh_req_free(r);
		return;
	}
	if (cap > sizeof(small))
		buf = malloc(cap);
	if (buf == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return;
	}
	wr_init(&w, buf, cap);
	if (mbx_mh_env_write(&w, MBX_MH_RC_SUCCESS, ms, r->start, body, len) != 0) {
		if (buf != small)
			free(buf);
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "the response envelope failed");
		return;
	}
	mh_account(r, MBX_MH_RC_SUCCESS, NULL);
	mh_unhook(r);
	mh_headers(r, MBX_MH_RC_SUCCESS, false);
	mbx_http_req_add_header(r->http, "X-ElapsedTime",
	                  mh_u64(num, ms));
	mbx_http_reply(r->http, 200, "OK", buf, w.len);
	if (buf != small)
		free(buf);
	r->http = NULL;
	mh_req_free(r);
}

/* A plain HTTP answer (Autodiscover): no MAPI/HTTP headers or envelope. Frees r. */
void mbx_mh_request_reply_plain(struct mh_req *r, int status, const char *content_type,
                                const char *body, size_t len)
{
	r->adreq = NULL;
	mh_account(r, status == 200 ? MBX_MH_RC_SUCCESS : MBX_MH_RC_UNKNOWN_FAILURE,
	           status == 200 ? NULL : "HTTP error");
	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mh_req_free(r);
		return;
	}
	mh_unhook(r);
	mbx_http_req_add_header(r->http, "Content-Type", content_type);
	mbx_http_req_add_header(r->http, "Cache-Control", "private");
	mbx_http_reply(r->http, status, NULL, body, len);
	r->http = NULL;
	mh_req_free(r);
}

/* The client went away while its request was held: cancel the work, free everything. */
void mbx_mh_request_abandon(struct mh_req *r)
{
	char b1[128];

	mbx_log(MBX_LOG_INFO,
	        "mapihttp: %s from %s user=%s: the client closed the connection "
	        "before the answer",
	        mh_type_name(r), r->peer,
	        mbx_mh_request_esc(r->who != NULL ? r->who->name : NULL, b1, sizeof(b1)));
	mbx_metrics_request(r->fe->deps.metrics, mh_type_name(r), MBX_MH_RC_UNKNOWN_FAILURE,
	                    mh_now_us() - r->t0_us);
	mh_unhook(r);
	if (r->http != NULL)
		mbx_http_req_abort(r->http);
	r->http = NULL;
	mh_req_free(r);
}

/* X-PendingPeriod as a timeval. */
static void mh_period(const struct mh_req *r, struct timeval *tv)
{
	tv->tv_sec = (time_t)(r->fe->lim.pending_period_ms / 1000u);
	tv->tv_usec = (suseconds_t)(r->fe->lim.pending_period_ms % 1000u) * 1000;
}

static void mh_pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mh_req *r = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mbx_mh_request_abandon(r);
		return;
	}
	mh_period(r, &tv);
	if (!r->sent) {
		/* The grace time is over: headers and PROCESSING now; the first PENDING stays one
		 * period after the start. */
		mh_send_start(r, 0);
		if (r->fe->lim.pending_period_ms > MH_GRACE_MS) {
			uint64_t us = (uint64_t)(r->fe->lim.pending_period_ms - MH_GRACE_MS) * 1000u;

			tv.tv_sec = (time_t)(us / 1000000u);
			tv.tv_usec = (suseconds_t)(us % 1000000u);
		}
		event_add(r->pending_ev, &tv);
		return;
	}
	mbx_http_reply_chunk(r->http, MBX_MH_META_PENDING, strlen(MBX_MH_META_PENDING));
	event_add(r->pending_ev, &tv);
}

/* Starts the chunked answer: headers (X-ResponseCode 0: failures from now on are in the DONE
 * block) and PROCESSING, then PENDING every X-PendingPeriod. The headers and PROCESSING wait
 * up to 50 ms for the result, so that an answer ready by then leaves whole (the same bytes).
 * Returns 0, or -1 with r freed. */
int mbx_mh_request_start_chunked(struct mh_req *r)
{
	struct timeval tv;

	if (r->http == NULL || !mbx_http_req_attached(r->http)) {
		mbx_mh_request_abandon(r);
		return -1;
	}
	r->pending_ev = event_new(r->fe->deps.base, -1, 0, mh_pending_cb, r);
	if (r->pending_ev == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return -1;
	}
	mh_headers(r, MBX_MH_RC_SUCCESS, false);
	/* Nothing is sent yet: an answer ready within MH_GRACE_MS (an Execute served from the
	 * caches is ready in the same turn of the loop) leaves whole; otherwise
	 * the timer sends the headers and PROCESSING then, and PENDING every period after. */
	r->started = true;
	mh_period(r, &tv);
	if (r->fe->lim.pending_period_ms > MH_GRACE_MS) {
		tv.tv_sec = 0;
		tv.tv_usec = (suseconds_t)MH_GRACE_MS * 1000;
	}
	event_add(r->pending_ev, &tv);
	return 0;
}
