/*
 * mh-request.c: one MAPI/HTTP request on evhttp, from its arrival to its answer ([MS-OXCMAPIHTTP]
 * 2.2.2.2 common response format, 2.2.3.3 response headers, 2.2.7 meta-tags, examples 4.1-4.2;
 * protocol.md 5): the request's life and bookkeeping (struct mh_req, mh-frontend-int.h), its
 * connection going away, the response headers and cookies, the X-ResponseCode failure answers,
 * the one-piece answer (Connect, Disconnect, PING) and the chunked one (Execute,
 * NotificationWait: PROCESSING, a PENDING chunk every X-PendingPeriod, the DONE block).
 *
 * Held requests and evhttp: after the body is read evhttp stops reading, so a client that
 * goes away is noticed when a chunk cannot be written; evhttp then detaches the request from
 * the dead connection without freeing it (evhttp_request_get_connection() == NULL), and the
 * next PENDING tick cancels the work and frees it.
 */
#include "mapihttp/mh-frontend-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>

#include "mbx/log.h"
#include "mbx/metrics.h"
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

/* v in decimal, NUL-terminated, at buf (room for 21 bytes); returns buf. snprintf costs ten
 * times more, and every answer carries several numbers. */
static char *mh_u64(char buf[21], uint64_t v)
{
	char tmp[20];
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
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

/*
 * Over TLS, bufferevent_openssl makes one TLS record and one write(2) of every chain of the
 * output buffer, and evhttp leaves an answer in several chains (the headers, each chunk it
 * moves in, the last chunk). An answer complete at once is put in one chain, so that it
 * leaves in one record and one write. Nothing is written before the next turn of the event
 * loop, so everything evhttp queued for the answer is still there. Plain HTTP needs nothing:
 * bufferevent_socket sends all chains with one writev(2).
 */
static void mh_coalesce(struct mh_req *r, struct evhttp_connection *evcon)
{
	struct bufferevent *bev;
	struct evbuffer *out;

	if (!r->tls || evcon == NULL)
		return;
	bev = evhttp_connection_get_bufferevent(evcon);
	out = bev != NULL ? bufferevent_get_output(bev) : NULL;
	if (out != NULL && evbuffer_get_length(out) > 0)
		(void)evbuffer_pullup(out, -1);
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

/* evhttp frees a connection (the client went away, or the evhttp instance is freed): a request
 * still attached to it is freed with it right after this, a detached one survives. */
static void mh_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct mh_req *r = arg;

	(void)evcon;
	if (r->http == NULL)
		return;
	if (evhttp_request_get_connection(r->http) != NULL) {
		r->http = NULL; /* about to be freed by evhttp: never touch it again */
		return;
	}
	/* Detached: the next PENDING tick (made due now) cancels the work and frees it. */
	if (r->pending_ev != NULL)
		event_active(r->pending_ev, EV_TIMEOUT, 1);
}

/* The request no longer needs to hear about its connection (it is being answered). */
static void mh_unhook(struct mh_req *r)
{
	struct evhttp_connection *evcon;

	if (r->http == NULL)
		return;
	evcon = evhttp_request_get_connection(r->http);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
}

static void mh_req_free(struct mh_req *r)
{
	struct mbx_frontend *fe = r->fe;

	mh_unhook(r);
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
	if (r->chunk != NULL)
		evbuffer_free(r->chunk);
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

static void mh_peer_name(struct mh_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->http);
	char *host = NULL;
	ev_uint16_t port = 0;

	char num[21];
	size_t o = 0;

	r->peer[0] = '-';
	r->peer[1] = '\0';
	if (evcon == NULL)
		return;
	evhttp_connection_get_peer(evcon, &host, &port);
	if (host == NULL)
		return;
	r->peer[0] = '\0';
	mh_cat(r->peer, sizeof(r->peer), &o, host);
	mh_cat(r->peer, sizeof(r->peer), &o, ":");
	mh_cat(r->peer, sizeof(r->peer), &o, mh_u64(num, port));
}

struct mh_req *mbx_mh_request_new(struct mbx_frontend *fe, struct evhttp_request *http, bool tls)
{
	struct mh_req *r = calloc(1, sizeof(*r));

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
	mh_peer_name(r);
	if (evhttp_request_get_connection(http) != NULL)
		evhttp_connection_set_closecb(evhttp_request_get_connection(http), mh_conn_closed,
		                              r);
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
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);
	char num[21], date[32];
	time_t now = time(NULL);

	/* The Date evhttp would add (RFC 9110 6.6.1), from the same formatter: it caches the
	 * second's text that X-StartTime and the DONE block also use. First, because evhttp
	 * looks for it by walking the headers. */
	if (mbx_mh_env_http_date(now, date, sizeof(date)) == 0)
		evhttp_add_header(h, "Date", date);
	evhttp_add_header(h, "Content-Type",
	                  diagnostic ? "text/plain; charset=us-ascii" : "application/mapi-http");
	if (r->type_ok)
		evhttp_add_header(h, "X-RequestType", mbx_mh_reqtype_name(r->type));
	if (r->rid[0] != '\0')
		evhttp_add_header(h, "X-RequestId", r->rid);
	if (r->cinfo[0] != '\0')
		evhttp_add_header(h, "X-ClientInfo", r->cinfo);
	evhttp_add_header(h, "X-ResponseCode", mh_u64(num, rc));
	evhttp_add_header(h, "X-ServerApplication", r->fe->server_app);
	evhttp_add_header(h, "X-PendingPeriod", mh_u64(num, r->fe->lim.pending_period_ms));
	evhttp_add_header(h, "X-ExpirationInfo",
	                  mh_u64(num, (uint64_t)r->fe->lim.context_idle_seconds * 1000u));
	/* The headers of the spec's examples (4.1, 4.2), and no more: each costs evhttp about two
	 * thousand instructions to add and write. An enveloped answer carries X-StartTime and
	 * X-ElapsedTime in its DONE block (2.2.2.2); a diagnostic one has no DONE block, so they
	 * are headers there, with Cache-Control. */
	if (diagnostic) {
		evhttp_add_header(h, "Cache-Control", "private");
		if (mbx_mh_env_http_date(r->start, date, sizeof(date)) == 0)
			evhttp_add_header(h, "X-StartTime", date);
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
	evhttp_add_header(evhttp_request_get_output_headers(r->http), "Set-Cookie", buf);
}

void mbx_mh_request_expire_cookie(struct mh_req *r, const char *name)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
	         "%s=" MH_COOKIE_ATTRS "; expires=Thu, 01 Jan 1970 00:00:00 GMT%s", name,
	         r->tls ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(r->http), "Set-Cookie", buf);
}

/* The diagnostic body of a failure: one line. */
static void mh_diag(struct evbuffer *b, uint32_t rc, const char *why)
{
	evbuffer_add_printf(b, "X-ResponseCode %u (%s): %s\r\n", (unsigned)rc, mbx_mh_rc_name(rc),
	                    why != NULL ? why : mbx_mh_rc_text(rc));
}

/* How long a chunked answer may wait for its result before its headers and PROCESSING are
 * sent on their own. */
#define MH_GRACE_MS 50u

/* The chunked answer's headers and its PROCESSING chunk, handed to evhttp. */
static void mh_send_start(struct mh_req *r)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_send_reply_start(r->http, 200, "OK");
	r->sent = true;
	if (b == NULL)
		return; /* the DONE chunk still ends a well-formed answer */
	evbuffer_add(b, MBX_MH_META_PROCESSING, strlen(MBX_MH_META_PROCESSING));
	evhttp_send_reply_chunk(r->http, b);
	evbuffer_free(b);
}

/*
 * An answer whose result is ready before anything was sent leaves whole: the same bytes evhttp
 * would write for evhttp_send_reply_start, the PROCESSING chunk, the DONE chunk (r->chunk) and
 * the last-chunk marker ("%x\r\n" size lines, RFC 9112 7.1), framed here and handed to
 * evhttp_send_reply with Transfer-Encoding: chunked set, so that evhttp adds no Content-Length.
 * This spares evhttp's chunk machinery (two chunk writes and the end of the reply, about a
 * tenth of an Execute's instructions). HTTP/1.0 has no chunked encoding: false there, and the
 * caller goes the usual way (evhttp then sends the body unframed and closes the connection).
 */
static bool mh_send_whole(struct mh_req *r)
{
	struct evbuffer *b;
	size_t n = evbuffer_get_length(r->chunk);
	char line[24];
	int k;

	if (r->http->major != 1 || r->http->minor < 1)
		return false;
	b = evbuffer_new();
	if (b == NULL)
		return false;
	k = snprintf(line, sizeof(line), "%zx\r\n", strlen(MBX_MH_META_PROCESSING));
	evbuffer_add(b, line, (size_t)k);
	evbuffer_add(b, MBX_MH_META_PROCESSING "\r\n", strlen(MBX_MH_META_PROCESSING) + 2);
	k = snprintf(line, sizeof(line), "%zx\r\n", n);
	evbuffer_add(b, line, (size_t)k);
	evbuffer_add_buffer(b, r->chunk);
	evbuffer_add(b, "\r\n0\r\n\r\n", 7);
	evhttp_add_header(evhttp_request_get_output_headers(r->http), "Transfer-Encoding",
	                  "chunked");
	evhttp_send_reply(r->http, 200, "OK", b);
	evbuffer_free(b);
	return true;
}

/* Ends a chunked answer: the DONE block with rc, then body (binary) or, for a failure, the
 * diagnostic line. Frees r. */
void mbx_mh_request_done_chunked(struct mh_req *r, uint32_t rc, const uint8_t *body, size_t len,
                                 const char *why)
{
	uint8_t done[MBX_MH_ENV_DONE_MAX];
	struct wr w;
	struct evhttp_connection *evcon;
	uint64_t ms = (mh_now_us() - r->t0_us) / 1000u;

	mh_account(r, rc, why);
	if (r->http == NULL) {
		mh_req_free(r);
		return;
	}
	mh_unhook(r);
	wr_init(&w, done, sizeof(done));
	if (mbx_mh_env_done(&w, rc, ms, r->start) != 0) {
		wr_init(&w, done, sizeof(done));
		(void)mbx_mh_env_done(&w, rc, ms, 0);
	}
	evbuffer_drain(r->chunk, evbuffer_get_length(r->chunk));
	evbuffer_add(r->chunk, done, w.len);
	if (rc == MBX_MH_RC_SUCCESS) {
		if (len > 0)
			evbuffer_add(r->chunk, body, len);
	} else {
		mh_diag(r->chunk, rc, why);
	}
	evcon = evhttp_request_get_connection(r->http);
	if (!r->sent && mh_send_whole(r)) {
		r->http = NULL;
		mh_coalesce(r, evcon);
		mh_req_free(r);
		return;
	}
	if (!r->sent)
		mh_send_start(r);
	evhttp_send_reply_chunk(r->http, r->chunk);
	evhttp_send_reply_end(r->http); /* frees the evhttp request, also when detached */
	r->http = NULL;
	mh_coalesce(r, evcon);
	mh_req_free(r);
}

/* A transport-level failure (or, once a chunked answer started, its end). Frees r. */
void mbx_mh_request_fail_status(struct mh_req *r, int status, uint32_t rc, const char *why)
{
	struct evbuffer *b;
	struct evhttp_connection *evcon;

	if (r->started) {
		mbx_mh_request_done_chunked(r, rc, NULL, 0, why);
		return;
	}
	mh_account(r, rc, why);
	if (r->http == NULL) {
		mh_req_free(r);
		return;
	}
	mh_unhook(r);
	mh_headers(r, rc, true);
	if (status == 401) {
		evhttp_add_header(evhttp_request_get_output_headers(r->http), "WWW-Authenticate",
		                  "Basic realm=\"" MH_REALM "\", charset=\"UTF-8\"");
	} else if (status == 503) {
		evhttp_add_header(evhttp_request_get_output_headers(r->http), "Retry-After", "5");
	}
	b = evbuffer_new();
	/* No body in the answer to HEAD (RFC 9110 9.3.2): evhttp would send it anyway, without a
	 * Content-Length, and the client would read it as the start of the next answer on the
	 * connection. */
	if (b != NULL && evhttp_request_get_command(r->http) != EVHTTP_REQ_HEAD)
		mh_diag(b, rc, why);
	evcon = evhttp_request_get_connection(r->http);
	evhttp_send_reply(r->http, status, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
	r->http = NULL;
	mh_coalesce(r, evcon);
	mh_req_free(r);
}

void mbx_mh_request_fail(struct mh_req *r, uint32_t rc, const char *why)
{
	mbx_mh_request_fail_status(r, 200, rc, why);
}

/* A success answered in one piece: PROCESSING, DONE block, body (example 4.1). Frees r. */
void mbx_mh_request_reply_ok(struct mh_req *r, const uint8_t *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t *buf;
	struct wr w;
	uint64_t ms = (mh_now_us() - r->t0_us) / 1000u;
	size_t cap = len + sizeof(MBX_MH_META_PROCESSING) + MBX_MH_ENV_DONE_MAX;
	char num[21];
	struct evhttp_connection *evcon;

	if (r->http == NULL) {
		mh_account(r, MBX_MH_RC_SUCCESS, NULL);
		mh_req_free(r);
		return;
	}
	buf = malloc(cap);
	if (b == NULL || buf == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		free(buf);
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return;
	}
	wr_init(&w, buf, cap);
	if (mbx_mh_env_write(&w, MBX_MH_RC_SUCCESS, ms, r->start, body, len) != 0) {
		evbuffer_free(b);
		free(buf);
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE,
		                           "the response envelope failed");
		return;
	}
	mh_account(r, MBX_MH_RC_SUCCESS, NULL);
	mh_unhook(r);
	mh_headers(r, MBX_MH_RC_SUCCESS, false);
	evhttp_add_header(evhttp_request_get_output_headers(r->http), "X-ElapsedTime",
	                  mh_u64(num, ms));
	evbuffer_add(b, buf, w.len);
	evcon = evhttp_request_get_connection(r->http);
	evhttp_send_reply(r->http, 200, "OK", b);
	evbuffer_free(b);
	free(buf);
	r->http = NULL;
	mh_coalesce(r, evcon);
	mh_req_free(r);
}

/* A plain HTTP answer (Autodiscover): no MAPI/HTTP headers or envelope. Frees r. */
void mbx_mh_request_reply_plain(struct mh_req *r, int status, const char *content_type,
                                const char *body, size_t len)
{
	struct evbuffer *b;
	struct evkeyvalq *h;

	r->adreq = NULL;
	mh_account(r, status == 200 ? MBX_MH_RC_SUCCESS : MBX_MH_RC_UNKNOWN_FAILURE,
	           status == 200 ? NULL : "HTTP error");
	if (r->http == NULL) {
		mh_req_free(r);
		return;
	}
	mh_unhook(r);
	h = evhttp_request_get_output_headers(r->http);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "private");
	b = evbuffer_new();
	if (b != NULL && len > 0)
		evbuffer_add(b, body, len);
	evhttp_send_reply(r->http, status, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
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
	if (r->http != NULL) {
		if (r->sent)
			evhttp_send_reply_end(r->http); /* detached: frees it */
		else
			evhttp_send_reply(r->http, 500, NULL, NULL);
	}
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
	if (r->http == NULL || evhttp_request_get_connection(r->http) == NULL) {
		mbx_mh_request_abandon(r);
		return;
	}
	mh_period(r, &tv);
	if (!r->sent) {
		/* The grace time is over: headers and PROCESSING now; the first PENDING stays one
		 * period after the start. */
		mh_send_start(r);
		if (r->fe->lim.pending_period_ms > MH_GRACE_MS) {
			uint64_t us = (uint64_t)(r->fe->lim.pending_period_ms - MH_GRACE_MS) * 1000u;

			tv.tv_sec = (time_t)(us / 1000000u);
			tv.tv_usec = (suseconds_t)(us % 1000000u);
		}
		event_add(r->pending_ev, &tv);
		return;
	}
	evbuffer_add(r->chunk, MBX_MH_META_PENDING, strlen(MBX_MH_META_PENDING));
	evhttp_send_reply_chunk(r->http, r->chunk);
	event_add(r->pending_ev, &tv);
}

/* Starts the chunked answer: headers (X-ResponseCode 0: failures from now on are in the DONE
 * block) and PROCESSING, then PENDING every X-PendingPeriod. The headers and PROCESSING wait
 * up to 50 ms for the result, so that an answer ready by then leaves whole (the same bytes).
 * Returns 0, or -1 with r freed. */
int mbx_mh_request_start_chunked(struct mh_req *r)
{
	struct timeval tv;

	if (r->http == NULL || evhttp_request_get_connection(r->http) == NULL) {
		mbx_mh_request_abandon(r);
		return -1;
	}
	r->chunk = evbuffer_new();
	r->pending_ev = event_new(r->fe->deps.base, -1, 0, mh_pending_cb, r);
	if (r->chunk == NULL || r->pending_ev == NULL) {
		mbx_mh_request_fail_status(r, 500, MBX_MH_RC_UNKNOWN_FAILURE, "out of memory");
		return -1;
	}
	mh_headers(r, MBX_MH_RC_SUCCESS, false);
	/* Nothing is sent yet: an answer ready within MH_GRACE_MS (an Execute served from the
	 * caches is ready in the same turn of the loop) leaves whole (mh_send_whole); otherwise
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
