/*
 * session-exec.c: the Execute state machine of a session context (include/mbx/session.h;
 * design.md "One request, end to end"): resolve-then-execute over the ROP buffer of
 * MS-OXCROPS 2.2.1 (protocol.md 4), against the server objects of session.c
 * (session-int.h), with the handlers of store-rops.c.
 *
 * One Execute:
 *   DECODE   the request RopBuffer is one extended buffer with Last (mbx_rhe_read: un-XOR,
 *            LZ77) holding a ROP buffer (mbx_ropbuf_decode). Anything else is ecRpcFormat:
 *            we never advertise packing (AUX_SERVER_CAPABILITIES), so a client may not send
 *            more than one buffer (MS-OXCRPC 3.1.4.2.1.1.1), and bytes after the last one are
 *            garbage. MaxRopOut below 8 + 2 (no room for a header and a RopSize) is
 *            ecBufferTooSmall.
 *   WALK     the request list is walked exactly as mbx_ropbuf_execute will walk it (same
 *            parser, same public-logon bitmap, simulated from the RopLogon decisions), which
 *            gives every RopLogon to resolve and every ROP's place in the list. More ROPs than
 *            max_rops is ecRpcFormat (the configuration documents that a longer list is refused
 *            as malformed: nothing in MS-OXCROPS bounds it, and cutting the list with
 *            RopBufferTooSmall would make a client retry the rest with a bigger buffer, which
 *            does not help). A RopLogon whose request does not decode (an Essdn without its
 *            NUL) ends the list there and is answered ecRpcFormat, as the executor does for
 *            malformed requests.
 *   RESOLVE  every RopLogon not yet answered is started through the logon pipeline, all at
 *            once; when the last answer is in, the list is walked again (a decision can change
 *            the bitmap and with it how a later ROP parses), and any RopLogon found only now
 *            starts another round.
 *   EXECUTE  from the loop (a deferral): mbx_ropbuf_execute with the handlers of store-rops.c
 *            into a payload of min(MaxRopOut - 8, 32 KB), then mbx_rhe_write with the request's
 *            Flags: compressed when that is allowed and shrinks it, XORed when the request was
 *            XORed and NoXorMagic is not set (a client that obfuscates handles obfuscation; one
 *            that did not gets plain bytes; MS-OXCRPC leaves the choice to the server). No
 *            chained buffers (Chain is an offer the server may ignore, MS-OXCRPC 3.1.4.2.1.1.2).
 * The handler lookup narrows each handler's response bound to the request at hand
 * (mbx_store_rops_resp_max): the executor calls the lookup once per ROP it parsed, in list
 * order, so the walk's records line up with the calls; a record that does not match (which the
 * walk rules out) falls back to the handler's static bound.
 */
#include "mbx/session.h"
#include "store/session-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mbx/log.h"
#include "mbx/rhe.h"
#include "mbx/rop-errors.h"
#include "mbx/rop-ids.h"
#include "mbx/ropbuf.h"
#include "mbx/store-rops.h"

/* One pipeline request in flight. */
struct exec_wait {
	struct mbx_session_exec *e;
	size_t answer; /* index into e->answers */
	struct mbx_logon_pipeline_req *preq;
	struct exec_wait *next;
};

/* One ROP of the walk: what the executor's lookup will be asked for. */
struct exec_rec {
	struct mbx_rop_req req;
};

enum exec_state {
	EXEC_RESOLVING,
	EXEC_READY,
	EXEC_FAILED,
};

struct mbx_session_exec {
	struct mbx_session *s;
	mbx_session_exec_cb *cb;
	void *ctx;
	uint32_t flags;
	uint32_t max_rop_out;
	bool xor_in;
	enum exec_state state;
	const struct mbx_defer_ops *dops; /* the session's: it may be gone when e is freed */
	void *defer;

	struct mbx_ropbuf rb;
	size_t payload_len;
	struct exec_rec *recs;
	size_t nrecs, caprecs;
	size_t lookups;
	struct mbx_rop_handler cur; /* the narrowed handler the lookup hands out */

	struct mbx_session_logon_answer *answers;
	size_t nanswers, capanswers;
	struct exec_wait *waits;
	unsigned inflight;

	struct mbx_rop_exec ex;
	struct mbx_session_exec_result res;
	char why[MBX_RD_ERRMAX + 128];

	uint8_t payload[MBX_RHE_MAX_PAYLOAD];
	uint8_t resp[MBX_RHE_MAX_PAYLOAD];
	uint8_t out[MBX_RHE_HDRLEN + MBX_RHE_MAX_PAYLOAD];
	uint8_t scratch[MBX_RHE_MAX_PAYLOAD];
};

/* --- Execute: plumbing ----------------------------------------------------------------------- */

struct mbx_session *mbx_session_exec_session(struct mbx_session_exec *e)
{
	return e->s;
}

static struct mbx_session_logon_answer *answer_find(struct mbx_session_exec *e, size_t off)
{
	for (size_t i = 0; i < e->nanswers; i++)
		if (e->answers[i].off == off)
			return &e->answers[i];
	return NULL;
}

const struct mbx_session_logon_answer *mbx_session_exec_answer(struct mbx_session_exec *e,
                                                               size_t off)
{
	return answer_find(e, off);
}

void mbx_session_exec_note_logon(struct mbx_session_exec *e, uint32_t ec)
{
	if (e->res.nlogons < sizeof(e->res.logon_ecs) / sizeof(e->res.logon_ecs[0]))
		e->res.logon_ecs[e->res.nlogons] = ec;
	e->res.nlogons++;
}

/*
 * The memory of finished Executes (~128 KB of buffers each), kept for the next ones: a malloc
 * and free of a block that size per request went through the heap's trim and mmap paths
 * (about a fifth of an Execute's instructions, and system calls). A few are kept per thread,
 * not per session, so idle sessions cost nothing.
 */
#define EXEC_POOL_MAX 8
static _Thread_local struct {
	struct mbx_session_exec *e[EXEC_POOL_MAX];
	size_t n;
} exec_pool;

static struct mbx_session_exec *exec_get(void)
{
	if (exec_pool.n > 0)
		return exec_pool.e[--exec_pool.n];
	return malloc(sizeof(struct mbx_session_exec));
}

static void exec_put(struct mbx_session_exec *e)
{
	if (exec_pool.n < EXEC_POOL_MAX)
		exec_pool.e[exec_pool.n++] = e;
	else
		free(e);
}

static void exec_free(struct mbx_session_exec *e)
{
	struct exec_wait *w, *next;

	if (e == NULL)
		return;
	for (w = e->waits; w != NULL; w = next) {
		next = w->next;
		mbx_logon_pipeline_cancel(w->preq);
		free(w);
	}
	if (e->defer != NULL)
		e->dops->destroy(e->defer);
	for (size_t i = 0; i < e->nanswers; i++)
		mbx_mailbox_free(&e->answers[i].mbx);
	free(e->answers);
	free(e->recs);
	exec_put(e);
}

void mbx_session_exec_cancel(struct mbx_session_exec *e)
{
	if (e == NULL)
		return;
	if (e->s->pending == e)
		e->s->pending = NULL;
	exec_free(e);
}

/* Fails the Execute with ec; the answer goes out from the loop. */
static void exec_fail(struct mbx_session_exec *e, uint32_t ec, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void exec_fail(struct mbx_session_exec *e, uint32_t ec, const char *fmt, ...)
{
	va_list ap;
	char who[128], name[32];

	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	e->res.error_code = ec;
	e->res.why = e->why;
	e->state = EXEC_FAILED;
	mbx_log(MBX_LOG_NOTICE, "execute: %s: %s: %s", session_who(e->s, who, sizeof(who)),
	        mbx_ec_str(ec, name, sizeof(name)), e->why);
}

/* --- Execute: walk and resolve ------------------------------------------------------------ */

static struct mbx_session_logon_answer *answer_add(struct mbx_session_exec *e, size_t off)
{
	struct mbx_session_logon_answer *a;

	if (e->nanswers == e->capanswers) {
		size_t cap = e->capanswers != 0 ? 2 * e->capanswers : 4;
		void *p = realloc(e->answers, cap * sizeof(*e->answers));

		if (p == NULL)
			return NULL;
		e->answers = p;
		e->capanswers = cap;
	}
	a = &e->answers[e->nanswers++];
	memset(a, 0, sizeof(*a));
	a->off = off;
	return a;
}

static int rec_add(struct mbx_session_exec *e, const struct mbx_rop_req *req)
{
	if (e->nrecs == e->caprecs) {
		size_t cap = e->caprecs != 0 ? 2 * e->caprecs : 16;
		void *p = realloc(e->recs, cap * sizeof(*e->recs));

		if (p == NULL)
			return -1;
		e->recs = p;
		e->caprecs = cap;
	}
	e->recs[e->nrecs++].req = *req;
	return 0;
}

static void exec_pipeline_cb(void *ctx, const struct mbx_logon_pipeline_result *res);

/* Starts the pipeline for answer i. An answer that cannot be started is a failure. */
static void answer_start(struct mbx_session_exec *e, size_t i)
{
	struct mbx_session *s = e->s;
	struct mbx_session_logon_answer *a = &e->answers[i];
	struct mbx_logon_pipeline_who who = {.name = s->principal_name};
	struct exec_wait *w = calloc(1, sizeof(*w));

	if (s->token != NULL)
		who.token = s->token;
	else
		who.dn = s->principal_dn;
	if (w != NULL) {
		w->e = e;
		w->answer = i;
		w->preq = mbx_logon_pipeline_start(s->pipeline, &a->req, &who, exec_pipeline_cb, w);
	}
	if (w == NULL || w->preq == NULL) {
		free(w);
		a->done = true;
		a->decision.ec = ecServerOOM;
		a->decision.kind = MBX_LOGON_RESP_FAILURE;
		a->decision.reason = "the logon pipeline could not start";
		return;
	}
	w->next = e->waits;
	e->waits = w;
	e->inflight++;
}

/* Walks the list as the executor will. Returns 0, or -1 when the Execute failed. */
static int exec_walk(struct mbx_session_exec *e)
{
	struct mbx_session *s = e->s;
	uint8_t pub[NLOGON_IDS / 8];
	size_t first_new = e->nanswers;
	struct rd r;

	memcpy(pub, s->public_logons, sizeof(pub));
	e->nrecs = 0;
	rd_init(&r, e->rb.rops, e->rb.rops_len, e->rb.rops_off);
	while (rd_left(&r) > 0) {
		struct mbx_rop_req req;
		struct mbx_session_logon_answer *a;

		if (mbx_rop_req_parse_ex(&r, pub, &req) != 0)
			break; /* the executor answers it and stops */
		if (s->max_rops != 0 && e->nrecs >= s->max_rops) {
			exec_fail(e, ecRpcFormat, "more than %u ROPs in one Execute (max_rops)",
			          s->max_rops);
			return -1;
		}
		if (rec_add(e, &req) != 0) {
			exec_fail(e, ecServerOOM, "out of memory walking the ROP list");
			return -1;
		}
		if (req.rop_id != MBX_ROP_Logon)
			continue;
		if (req.out_idx < 0 || (unsigned)req.out_idx >= e->rb.nhandles)
			continue; /* the executor answers ecNullObject without running it */
		a = answer_find(e, req.off);
		if (a == NULL) {
			struct rd lr;

			a = answer_add(e, req.off);
			if (a == NULL) {
				exec_fail(e, ecServerOOM, "out of memory walking the ROP list");
				return -1;
			}
			rd_init(&lr, req.raw, req.len, req.off);
			if (mbx_roplogon_req_decode(&lr, &a->req) != 0 || rd_left(&lr) != 0) {
				char esc[MBX_RD_ERRMAX * 4], who[128];

				if (rd_ok(&lr))
					rd_fail(&lr, "RopLogon: %zu bytes after the Essdn",
					        rd_left(&lr));
				a->malformed = true;
				a->done = true;
				mbx_log(MBX_LOG_NOTICE,
				        "execute: %s: malformed RopLogon at payload offset %zu: %s",
				        session_who(s, who, sizeof(who)), lr.err_off,
				        mbx_log_escape(lr.err_msg, strlen(lr.err_msg), esc,
				                       sizeof(esc)));
			}
		}
		if (a->malformed) {
			/* the list ends with this RopLogon's ecRpcFormat */
			e->rb.rops_len = req.off + req.len - e->rb.rops_off;
			break;
		}
		if (!a->done) {
			/* not decided yet: assume success, which any public logon is */
			session_bitmap_set(pub, req.logon_id,
			                   !(a->req.logon_flags & MBX_LOGON_PRIVATE));
		} else if (a->decision.ec == ecNone &&
		           (a->decision.kind == MBX_LOGON_RESP_PRIVATE ||
		            a->decision.kind == MBX_LOGON_RESP_PUBLIC)) {
			session_bitmap_set(pub, req.logon_id,
			                   a->decision.kind == MBX_LOGON_RESP_PUBLIC);
		}
	}
	for (size_t i = first_new; i < e->nanswers; i++)
		if (!e->answers[i].done)
			answer_start(e, i);
	return 0;
}

static void exec_pipeline_cb(void *ctx, const struct mbx_logon_pipeline_result *res)
{
	struct exec_wait *w = ctx, **pp;
	struct mbx_session_exec *e = w->e;
	struct mbx_session_logon_answer *a = &e->answers[w->answer];

	a->decision = res->decision;
	a->done = true;
	if (res->decision.kind == MBX_LOGON_RESP_PRIVATE && res->mbx != NULL) {
		a->mbx = mbx_mailbox_dup(res->mbx);
		if (a->mbx == NULL) {
			a->decision.ec = ecServerOOM;
			a->decision.kind = MBX_LOGON_RESP_FAILURE;
		}
	}
	for (pp = &e->waits; *pp != NULL && *pp != w; pp = &(*pp)->next)
		;
	if (*pp == w)
		*pp = w->next;
	free(w);
	if (--e->inflight > 0)
		return;
	/* Walk again: decisions fix the bitmap; a RopLogon found only now starts a round. */
	if (exec_walk(e) != 0 || e->inflight == 0)
		e->s->defer.ops->schedule(e->defer);
}

/* --- Execute: execute ------------------------------------------------------------------------ */

static const struct mbx_rop_handler *exec_lookup(void *ctx, uint8_t rop_id)
{
	struct mbx_session_exec *e = ctx;
	const struct mbx_rop_handler *h = mbx_store_rops_handler(rop_id);
	size_t k = e->lookups++;

	if (h == NULL)
		return NULL;
	if (k < e->nrecs && e->recs[k].req.rop_id == rop_id) {
		e->cur = *h;
		e->cur.resp_max = mbx_store_rops_resp_max(e, &e->ex, &e->recs[k].req);
		return &e->cur;
	}
	return h;
}

static void exec_run(struct mbx_session_exec *e)
{
	struct mbx_session *s = e->s;
	size_t limit = (size_t)e->max_rop_out - MBX_RHE_HDRLEN;
	struct wr w, o;
	char who[128], esc[MBX_RD_ERRMAX * 4];

	if (limit > MBX_RHE_MAX_PAYLOAD)
		limit = MBX_RHE_MAX_PAYLOAD;
	e->rb.public_logons = s->public_logons;
	e->lookups = 0;
	wr_init(&w, e->resp, limit);
	if (mbx_ropbuf_execute(&e->rb, &w, exec_lookup, e, &e->ex) != 0) {
		e->res.nrops = e->ex.nrops;
		if (e->ex.stopped_malformed)
			exec_fail(e, e->ex.ec, "malformed ROP buffer at payload offset %zu: %s",
			          e->ex.err.err_off,
			          mbx_log_escape(e->ex.err.err_msg, strlen(e->ex.err.err_msg), esc,
			                         sizeof(esc)));
		else
			exec_fail(e, e->ex.ec,
			          "the ROP list cannot be answered within MaxRopOut %u",
			          e->max_rop_out);
		return;
	}
	e->res.nrops = e->ex.nrops;
	if (e->ex.stopped_malformed || e->ex.stopped_unknown)
		mbx_log(MBX_LOG_NOTICE, "execute: %s: ROP list ends at payload offset %zu: %s",
		        session_who(s, who, sizeof(who)), e->ex.err.err_off,
		        mbx_log_escape(e->ex.err.err_msg, strlen(e->ex.err.err_msg), esc,
		                       sizeof(esc)));
	if (e->ex.handler_bugs > 0)
		mbx_log(MBX_LOG_ERROR, "execute: %s: %u ROP handler(s) broke their size bound",
		        session_who(s, who, sizeof(who)), e->ex.handler_bugs);
	wr_init(&o, e->out, MBX_RHE_HDRLEN + limit);
	if (mbx_rhe_write(&o, e->resp, w.len, e->flags, e->xor_in, true, e->scratch) != 0) {
		/* cannot happen: the payload fits limit and compression only shrinks it */
		exec_fail(e, ecBufferTooSmall, "the response does not fit MaxRopOut %u",
		          e->max_rop_out);
		return;
	}
	e->res.rop_out = e->out;
	e->res.rop_out_len = o.len;
	mbx_trace(MBX_TRACE_ROP, "execute: %s: %u ROPs, %zu bytes out%s",
	          session_who(s, who, sizeof(who)), e->ex.nrops, o.len,
	          e->ex.too_small ? ", RopBufferTooSmall" : "");
}

/* From the loop: answer. */
static void exec_defer_fn(void *arg)
{
	struct mbx_session_exec *e = arg;
	struct mbx_session *s = e->s;

	if (e->state != EXEC_FAILED)
		exec_run(e);
	if (e->state == EXEC_FAILED) {
		e->res.rop_out = NULL;
		e->res.rop_out_len = 0;
	}
	s->pending = NULL;
	e->cb(e->ctx, &e->res);
	exec_free(e);
}

/* --- Execute: entry ------------------------------------------------------------------------- */

static void exec_decode(struct mbx_session_exec *e, const struct mbx_session_exec_req *req)
{
	struct mbx_rhe hdr;
	struct rd r, p;
	char esc[MBX_RD_ERRMAX * 4];

	rd_init(&r, req->rop_buffer, req->rop_buffer_len, 0);
	if (mbx_rhe_read(&r, &hdr, e->payload, &e->payload_len) != 0) {
		exec_fail(e, ecRpcFormat, "malformed RopBuffer at offset %zu: %s", r.err_off,
		          mbx_log_escape(r.err_msg, strlen(r.err_msg), esc, sizeof(esc)));
		return;
	}
	if (!(hdr.flags & MBX_RHE_LAST)) {
		exec_fail(e, ecRpcFormat,
		          "malformed RopBuffer at offset 0: more than one extended buffer (no Last "
		          "flag) without packing");
		return;
	}
	if (rd_left(&r) != 0) {
		exec_fail(e, ecRpcFormat,
		          "malformed RopBuffer at offset %zu: %zu bytes after the last extended "
		          "buffer",
		          rd_pos(&r), rd_left(&r));
		return;
	}
	e->xor_in = (hdr.flags & MBX_RHE_XORMAGIC) != 0;
	rd_init(&p, e->payload, e->payload_len, 0);
	if (mbx_ropbuf_decode(&p, &e->rb) != 0) {
		exec_fail(e, ecRpcFormat, "malformed ROP buffer at payload offset %zu: %s",
		          p.err_off,
		          mbx_log_escape(p.err_msg, strlen(p.err_msg), esc, sizeof(esc)));
		return;
	}
	if (req->max_rop_out < MBX_RHE_HDRLEN + 2) {
		exec_fail(e, ecBufferTooSmall, "MaxRopOut %u is below %d", req->max_rop_out,
		          MBX_RHE_HDRLEN + 2);
		return;
	}
}

struct mbx_session_exec *mbx_session_execute(struct mbx_session *s,
                                             const struct mbx_session_exec_req *req,
                                             mbx_session_exec_cb *cb, void *ctx)
{
	struct mbx_session_exec *e;

	if (s == NULL || req == NULL || cb == NULL || s->pending != NULL)
		return NULL;
	/* The four 32 KB buffers at the end are always written before they are read: zero only
	 * the bookkeeping in front of them (zeroing all of it was ~45% of an Execute's work). */
	e = exec_get();
	if (e == NULL)
		return NULL;
	memset(e, 0, offsetof(struct mbx_session_exec, payload));
	e->s = s;
	e->cb = cb;
	e->ctx = ctx;
	e->flags = req->flags;
	e->max_rop_out = req->max_rop_out;
	e->state = EXEC_RESOLVING;
	e->dops = s->defer.ops;
	e->defer = s->defer.ops->create(s->defer.loop, exec_defer_fn, e);
	if (e->defer == NULL) {
		exec_put(e);
		return NULL;
	}
	s->pending = e;
	exec_decode(e, req);
	if (e->state != EXEC_FAILED)
		(void)exec_walk(e);
	if (e->state == EXEC_FAILED || e->inflight == 0)
		s->defer.ops->schedule(e->defer);
	return e;
}
