/*
 * logon-pipeline.c: the resolve step of one RopLogon (design.md "One request, end to end",
 * "The mailbox-state table and the logon decision"; MS-OXCSTOR 3.2.5.1.1 through
 * mbx_logon_decide; seed 004 for directory outages). The contract is in
 * include/mbx/logon-pipeline.h.
 *
 * A request is two lookups running side by side, each of which ends exactly once:
 *   - the mailbox, through the mailbox table (cache, then the directory);
 *   - the principal's token, through the resolver (unless the session already has it).
 * When the mailbox's answer arrives it is classified at once. Any state but NORMAL decides
 * without the principal, so its lookup is cancelled and the request finishes there; NORMAL
 * waits for the token, then authorization runs. Answers that need no lookup at all (the
 * request decides by itself, or a lookup could not be started) are queued on a ready list and
 * finished from one deferred callback, so nothing is ever called back from inside
 * mbx_logon_pipeline_start().
 *
 * Finishing a request unlinks it first and frees it after its callback, so a callback may
 * start or cancel any other request.
 */
#include "mbx/logon-pipeline.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbx/log.h"
#include "mbx/rop-errors.h"

/* --- intrusive lists ---------------------------------------------------------------------- */

struct lp_list {
	struct lp_list *prev, *next;
};

static void lp_list_init(struct lp_list *l)
{
	l->prev = l->next = l;
}

static bool lp_list_empty(const struct lp_list *l)
{
	return l->next == l;
}

static void lp_list_unlink(struct lp_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static void lp_list_push_back(struct lp_list *l, struct lp_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static void lp_list_splice(struct lp_list *dst, struct lp_list *src)
{
	if (lp_list_empty(src))
		return;
	src->next->prev = dst->prev;
	dst->prev->next = src->next;
	src->prev->next = dst;
	dst->prev = src->prev;
	lp_list_init(src);
}

#define LP_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- types -------------------------------------------------------------------------------- */

struct mbx_logon_pipeline {
	struct mbx_logon_pipeline_config cfg;
	void *defer;          /* the ready list's deferred flush */
	struct lp_list reqs;  /* every pending request */
	struct lp_list ready; /* requests to finish from the flush */
	size_t npending;
};

struct mbx_logon_pipeline_req {
	struct mbx_logon_pipeline *p;
	struct lp_list link;  /* in p->reqs */
	struct lp_list rlink; /* in p->ready, or alone */
	mbx_logon_pipeline_cb *cb;
	void *ctx;

	struct mbx_logon_req req; /* req.essdn points at essdn */
	char *essdn;
	char *name;
	bool need_lookup; /* false: the request alone decides */

	/* the mailbox */
	struct mbx_mt_wait *wait;
	bool mailbox_done;
	enum mbx_dir_status mstatus;
	struct mbx_mailbox *mbx; /* our copy, kept while the principal is awaited */
	bool stale, cached;
	uint64_t age_ms;
	enum mbx_mailbox_state state;
	const char *why;

	/* the principal */
	struct mbx_principal_req *preq;
	bool principal_done;
	enum mbx_dir_status pstatus;
	const struct mbx_principal *token; /* the caller's or token_owned */
	struct mbx_principal *token_owned;

	/* why the mailbox's and the principal's lookups failed, copied (NULL: they did not) */
	char *mmsg, *pmsg;
};

static const char lp_msg_nostart[] = "the lookup could not be started";
static const char lp_msg_noresolver[] = "no principal resolver configured";

/* --- helpers ------------------------------------------------------------------------------ */

static uint64_t lp_now(const struct mbx_logon_pipeline *p)
{
	struct timespec ts;

	if (p->cfg.clock != NULL)
		return p->cfg.clock(p->cfg.clock_ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Keeps the first message of one lookup (*slot: r->mmsg or r->pmsg). */
static void lp_set_message(char **slot, const char *msg)
{
	if (*slot == NULL && msg != NULL)
		*slot = strdup(msg); /* NULL when out of memory: only the text is lost */
}

/* The request is answered without looking anything up when mbx_logon_decide() decides from
 * the request alone: its steps 0 (public-folder logon) and 1 (private logon without
 * USE_PER_MDB_REPLID_MAPPING), see logon-decision.c. */
static bool lp_needs_lookup(const struct mbx_logon_req *req)
{
	return (req->logon_flags & MBX_LOGON_PRIVATE) != 0 &&
	       (req->open_flags & MBX_OPEN_USE_PER_MDB_REPLID_MAPPING) != 0;
}

static void lp_req_free(struct mbx_logon_pipeline_req *r)
{
	mbx_mailbox_free(&r->mbx);
	mbx_principal_free(&r->token_owned);
	free(r->essdn);
	free(r->name);
	free(r->mmsg);
	free(r->pmsg);
	free(r);
}

/* Takes r off the pipeline's lists and stops its lookups; r is not freed. */
static void lp_detach(struct mbx_logon_pipeline_req *r)
{
	if (r->wait != NULL) {
		mbx_mailbox_table_cancel(r->wait);
		r->wait = NULL;
	}
	if (r->preq != NULL) {
		mbx_principal_cancel(r->preq);
		r->preq = NULL;
	}
	lp_list_unlink(&r->rlink);
	lp_list_unlink(&r->link);
	r->p->npending--;
}

static void lp_make_ready(struct mbx_logon_pipeline_req *r)
{
	struct mbx_logon_pipeline *p = r->p;

	lp_list_unlink(&r->rlink);
	lp_list_push_back(&p->ready, &r->rlink);
	p->cfg.defer.ops->schedule(p->defer);
}

/* --- finishing ---------------------------------------------------------------------------- */

static void lp_trace(const struct mbx_logon_pipeline_req *r,
                     const struct mbx_logon_pipeline_result *res)
{
	char who[200], essdn[300], ec[16];
	const char *name = r->name != NULL ? r->name : "(unknown principal)";

	mbx_log_escape(name, strlen(name), who, sizeof(who));
	mbx_log_escape(r->essdn, strlen(r->essdn), essdn, sizeof(essdn));
	if (!res->mailbox_looked_up) {
		mbx_trace(MBX_TRACE_STORE, "logon: %s -> \"%s\": %s (%s)", who, essdn,
		          mbx_ec_str(res->decision.ec, ec, sizeof(ec)), res->decision.reason);
		return;
	}
	mbx_trace(MBX_TRACE_STORE,
	          "logon: %s -> \"%s\": mailbox %s%s%s, state %s (%s), principal %s -> %s (%s)",
	          who, essdn, mbx_dir_status_name(res->mailbox_status),
	          res->cached ? " cached" : "", res->stale ? " stale" : "",
	          mbx_mailbox_state_name(res->state), res->state_why != NULL ? res->state_why : "",
	          res->principal_needed ? mbx_dir_status_name(res->principal_status) : "not needed",
	          mbx_ec_str(res->decision.ec, ec, sizeof(ec)), res->decision.reason);
}

/*
 * Decides, logs, calls back and frees r. mbx is the snapshot to decide on (r->mbx, or the
 * table's during its callback). r must still be attached (it is detached here first).
 */
static void lp_finish(struct mbx_logon_pipeline_req *r, const struct mbx_mailbox *mbx)
{
	struct mbx_logon_pipeline *p = r->p;
	/* On the stack: the callback does not keep it (a heap block of this size, two 1 KB
	 * texts, cost more to get than the whole decision). */
	struct mbx_logon_pipeline_result result;
	struct mbx_logon_pipeline_result *res = &result;
	struct mbx_logon_input in;
	const char *msg = r->mmsg, *msg_from = "mailbox lookup";
	mbx_logon_pipeline_cb *cb = r->cb;
	void *ctx = r->ctx;

	lp_detach(r);
	memset(res, 0, sizeof(*res));
	memset(&in, 0, sizeof(in));
	in.req = &r->req;
	in.id = p->cfg.id;
	in.principal = r->name;
	in.limiter = p->cfg.limiter;
	in.now_ms = lp_now(p);
	res->mailbox_looked_up = r->need_lookup;
	if (r->need_lookup) {
		res->mailbox_status = r->mstatus;
		res->mbx = mbx;
		res->stale = r->stale;
		res->cached = r->cached;
		res->age_ms = r->age_ms;
		res->state = r->state;
		res->state_why = r->why;
		if (r->state == MBX_MAILBOX_NORMAL) {
			res->principal_needed = true;
			res->principal_status = r->pstatus;
			switch (r->pstatus) {
			case MBX_DIR_FOUND:
			case MBX_DIR_NOT_FOUND: {
				struct mbx_authz_principal ap;

				/* NOT_FOUND: no token, so no SID and no groups. */
				res->principal = r->pstatus == MBX_DIR_FOUND ? r->token : NULL;
				mbx_principal_authz(res->principal, r->name, &ap);
				mbx_authz_check(mbx, &ap, &res->authz);
				res->has_authz = true;
				in.authz = &res->authz;
				break;
			}
			case MBX_DIR_TEMPFAIL:
				msg = r->pmsg;
				msg_from = "principal lookup";
				res->state = MBX_MAILBOX_DIR_UNREACHABLE;
				res->state_why =
				        "the principal's groups cannot be read: the directory "
				        "is unreachable";
				break;
			case MBX_DIR_ERROR:
			default:
				msg = r->pmsg;
				msg_from = "principal lookup";
				res->state = MBX_MAILBOX_DIR_ERROR;
				res->state_why =
				        "the principal's groups cannot be read: directory error";
				break;
			}
		}
		in.state = res->state;
		in.mbx = mbx;
	} else {
		in.state = MBX_MAILBOX_UNKNOWN; /* not looked at by the decision */
	}
	res->message = msg;
	mbx_logon_decide(&in, &res->decision);
	/* For a directory failure, say which lookup failed and why (escaped: directory text). */
	if ((in.state == MBX_MAILBOX_DIR_ERROR || in.state == MBX_MAILBOX_DIR_UNREACHABLE) &&
	    r->need_lookup && res->decision.ec != ecNone && res->decision.detail[0] == '\0' &&
	    msg != NULL) {
		char esc[MBX_AUTHZ_REASON_MAX - 64];

		mbx_log_escape(msg, strlen(msg), esc, sizeof(esc));
		snprintf(res->decision.detail, sizeof(res->decision.detail), "%s: %s", msg_from,
		         esc);
	}
	mbx_logon_decision_log(&res->decision, &in);
	if (mbx_trace_on(MBX_TRACE_STORE))
		lp_trace(r, res);
	cb(ctx, res);
	lp_req_free(r);
}

/* --- the two lookups ---------------------------------------------------------------------- */

static void lp_mailbox_cb(void *ctx, const struct mbx_mt_result *mr)
{
	struct mbx_logon_pipeline_req *r = ctx;
	const struct mbx_mailbox *mbx = mr->mbx;

	r->wait = NULL;
	r->mailbox_done = true;
	r->mstatus = mr->status;
	r->stale = mr->stale;
	r->cached = mr->cached;
	r->age_ms = mr->age_ms;
	if (mr->status == MBX_DIR_TEMPFAIL || mr->status == MBX_DIR_ERROR)
		lp_set_message(&r->mmsg,
		               mr->message != NULL ? mr->message : mbx_dir_status_name(mr->status));
	r->state = mbx_mailbox_classify(mbx, mr->status, r->p->cfg.id, &r->why);
	if (r->state != MBX_MAILBOX_NORMAL) {
		/* The principal does not change this answer. */
		lp_finish(r, mbx);
		return;
	}
	if (r->principal_done) {
		lp_finish(r, mbx);
		return;
	}
	/* Keep the snapshot until the token arrives. */
	r->mbx = mbx_mailbox_dup(mbx);
	if (r->mbx == NULL) {
		r->mstatus = MBX_DIR_ERROR;
		r->state = MBX_MAILBOX_DIR_ERROR;
		r->why = "out of memory";
		lp_set_message(&r->mmsg, "out of memory");
		lp_finish(r, NULL);
	}
}

static void lp_principal_cb(void *ctx, enum mbx_dir_status status, struct mbx_principal *tok,
                            const char *message)
{
	struct mbx_logon_pipeline_req *r = ctx;

	r->preq = NULL;
	r->principal_done = true;
	r->pstatus = status;
	r->token_owned = tok;
	r->token = tok;
	if (status == MBX_DIR_TEMPFAIL || status == MBX_DIR_ERROR)
		lp_set_message(&r->pmsg, message != NULL ? message : mbx_dir_status_name(status));
	if (r->mailbox_done)
		lp_finish(r, r->mbx);
}

/* Starts the mailbox lookup; on a failure to start, the mailbox is "done" with ERROR. */
static void lp_start_mailbox(struct mbx_logon_pipeline_req *r)
{
	struct mbx_logon_pipeline *p = r->p;

	if (r->essdn[0] == '\0') {
		/* No Essdn names no mailbox (the table takes no empty key). */
		r->mailbox_done = true;
		r->mstatus = MBX_DIR_NOT_FOUND;
		r->state = mbx_mailbox_classify(NULL, MBX_DIR_NOT_FOUND, p->cfg.id, &r->why);
		return;
	}
	r->wait = mbx_mailbox_table_get(p->cfg.table, r->essdn, lp_mailbox_cb, r);
	if (r->wait == NULL) {
		r->mailbox_done = true;
		r->mstatus = MBX_DIR_ERROR;
		lp_set_message(&r->mmsg, lp_msg_nostart);
		r->state = mbx_mailbox_classify(NULL, MBX_DIR_ERROR, p->cfg.id, &r->why);
	}
}

static void lp_principal_done_now(struct mbx_logon_pipeline_req *r, enum mbx_dir_status status,
                                  const char *message)
{
	r->principal_done = true;
	r->pstatus = status;
	if (message != NULL)
		lp_set_message(&r->pmsg, message);
}

static void lp_start_principal(struct mbx_logon_pipeline_req *r,
                               const struct mbx_logon_pipeline_who *who)
{
	struct mbx_principal_resolver *res = r->p->cfg.resolver;

	if (who->token != NULL) {
		r->token = who->token;
		lp_principal_done_now(r, MBX_DIR_FOUND, NULL);
		return;
	}
	if (who->entry == NULL && (who->dn == NULL || who->dn[0] == '\0')) {
		lp_principal_done_now(r, MBX_DIR_NOT_FOUND, NULL);
		return;
	}
	if (res == NULL) {
		lp_principal_done_now(r, MBX_DIR_ERROR, lp_msg_noresolver);
		return;
	}
	if (who->entry != NULL)
		r->preq = mbx_principal_lookup_entry(res, who->entry, lp_principal_cb, r);
	else
		r->preq = mbx_principal_lookup(res, who->dn, lp_principal_cb, r);
	if (r->preq == NULL)
		lp_principal_done_now(r, MBX_DIR_ERROR, lp_msg_nostart);
}

/* --- the API ------------------------------------------------------------------------------ */

static void lp_flush_cb(void *arg)
{
	struct mbx_logon_pipeline *p = arg;
	struct lp_list batch;

	lp_list_init(&batch);
	lp_list_splice(&batch, &p->ready);
	/* A callback may cancel a request still in the batch: it unlinks itself from it. */
	while (!lp_list_empty(&batch)) {
		struct mbx_logon_pipeline_req *r =
		        LP_CONTAINER(batch.next, struct mbx_logon_pipeline_req, rlink);

		lp_finish(r, r->mbx);
	}
}

struct mbx_logon_pipeline *mbx_logon_pipeline_new(const struct mbx_logon_pipeline_config *cfg)
{
	struct mbx_logon_pipeline *p;

	if (cfg == NULL || cfg->table == NULL || cfg->id == NULL || cfg->defer.ops == NULL)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->cfg = *cfg;
	lp_list_init(&p->reqs);
	lp_list_init(&p->ready);
	p->defer = cfg->defer.ops->create(cfg->defer.loop, lp_flush_cb, p);
	if (p->defer == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void mbx_logon_pipeline_free(struct mbx_logon_pipeline **pp)
{
	struct mbx_logon_pipeline *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	while (!lp_list_empty(&p->reqs))
		mbx_logon_pipeline_cancel(
		        LP_CONTAINER(p->reqs.next, struct mbx_logon_pipeline_req, link));
	p->cfg.defer.ops->destroy(p->defer);
	free(p);
	*pp = NULL;
}

struct mbx_logon_pipeline_req *mbx_logon_pipeline_start(struct mbx_logon_pipeline *p,
                                                        const struct mbx_logon_req *req,
                                                        const struct mbx_logon_pipeline_who *who,
                                                        mbx_logon_pipeline_cb *cb, void *ctx)
{
	struct mbx_logon_pipeline_req *r;

	if (p == NULL || req == NULL || who == NULL || cb == NULL)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->p = p;
	r->cb = cb;
	r->ctx = ctx;
	r->req = *req;
	r->essdn = strdup(req->essdn != NULL ? req->essdn : "");
	r->name = who->name != NULL ? strdup(who->name) : NULL;
	if (r->essdn == NULL || (who->name != NULL && r->name == NULL)) {
		lp_req_free(r);
		return NULL;
	}
	r->req.essdn = r->essdn;
	lp_list_init(&r->rlink);
	lp_list_push_back(&p->reqs, &r->link);
	p->npending++;
	r->need_lookup = lp_needs_lookup(req);
	if (!r->need_lookup) {
		lp_make_ready(r);
		return r;
	}
	lp_start_mailbox(r);
	if (r->mailbox_done && r->state != MBX_MAILBOX_NORMAL) {
		/* Decided without the principal (unknown or could not look it up). */
		lp_make_ready(r);
		return r;
	}
	lp_start_principal(r, who);
	if (r->mailbox_done && r->principal_done)
		lp_make_ready(r);
	return r;
}

void mbx_logon_pipeline_cancel(struct mbx_logon_pipeline_req *r)
{
	if (r == NULL)
		return;
	lp_detach(r);
	lp_req_free(r);
}

size_t mbx_logon_pipeline_pending(const struct mbx_logon_pipeline *p)
{
	return p != NULL ? p->npending : 0;
}
