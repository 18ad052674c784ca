/*
 * principal-cache.c: the principal resolver's requests and its token cache (design.md "The
 * mailbox-state table and the logon decision"; seed 004: a directory outage is never "unknown
 * user"; the failover scenario: with both directory servers down, a user who logged
 * on a minute ago can still open a new session). The contract is in include/mbx/principal.h;
 * the walk that builds a token (the fetch) is in principal.c, shared types in principal-int.h.
 *
 * Shaped like the mailbox table (mailbox-table.c):
 *   - an entry per principal, keyed by its DN normalised as mbx_mailbox_dn_equal() compares,
 *     in a hash table and an LRU list; it holds the last token read, the fetch in flight (one
 *     per entry: that is the coalescing) and the requests waiting for it;
 *   - a DN index: every entry is reachable from the DNs its token was built from (the
 *     principal, each group, each owner of one of its SIDs), so a change notification naming
 *     any of them invalidates it; fetches in flight are asked what they have read;
 *   - requests answered from the cache are queued on a "ready" list and answered from one
 *     deferred callback that looks at the entry again at that moment: an invalidation in
 *     between turns the hit into a fetch, so nothing older than a change is delivered after it;
 *   - a request pins its entry (no eviction, no removal) until it is answered or cancelled;
 *     callers get copies of the token (mbx_principal_dup), never the cached one.
 * With ttl_ms 0 there is no cache: each request has a fetch of its own, as before.
 */
#include "mbx/principal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbx/log.h"
#include "mbx/mailbox.h"
#include "store/principal-int.h"

/* A stale token is logged at most this often per principal. */
#define PC_STALE_LOG_MS 60000u

static const char pc_msg_nostart[] = "the directory lookup could not be started";
static const char pc_msg_oom[] = "out of memory";

enum pc_state {
	PC_DIRECT, /* in r->direct with a fetch of its own, f (no cache) */
	PC_OWNERS, /* in r->direct with a fetch of its own, f (SID owners) */
	PC_QUEUED, /* in r->ready: answered at the next flush (from the cache, or a fetch) */
	PC_FAILED, /* in r->ready: ERROR at the next flush (a fetch could not be started) */
	PC_FETCH,  /* in e->waiters */
	PC_BATCH,  /* in a delivery batch on the stack */
};

struct mbx_principal_req {
	struct pr_list link;
	struct mbx_principal_resolver *r;
	enum pc_state state;
	struct pc_entry *e; /* pinned while not NULL */
	struct pr_fetch *f; /* PC_DIRECT, PC_OWNERS */
	mbx_principal_cb *cb;
	mbx_principal_owners_cb *owners_cb;
	void *ctx;
};

/* --- small helpers ------------------------------------------------------------------------ */

static uint64_t pc_now(const struct mbx_principal_resolver *r)
{
	struct timespec ts;

	if (r->cfg.clock != NULL)
		return r->cfg.clock(r->cfg.clock_ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t pc_age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* --- entries ------------------------------------------------------------------------------ */

static bool pc_idle(const struct pc_entry *e)
{
	return e->fetch == NULL && e->pins == 0;
}

/* An idle entry without a token is removed. */
static void pc_gc(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	if (pc_idle(e) && e->tok == NULL)
		pc_entry_free(r, e);
}

/* Evicts idle entries, least recently used first, down to the bound (which busy entries may
 * exceed). */
static void pc_evict(struct mbx_principal_resolver *r)
{
	struct pr_list *l = r->lru.prev;

	if (r->cfg.max_entries == 0)
		return;
	while (r->nentries > r->cfg.max_entries && l != &r->lru) {
		struct pc_entry *e = PR_CONTAINER(l, struct pc_entry, lru);

		l = l->prev;
		if (!pc_idle(e))
			continue;
		pc_entry_free(r, e);
		r->st.evictions++;
	}
}

static void pc_touch(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	pr_list_unlink(&e->lru);
	pr_list_push_front(&r->lru, &e->lru);
}

/* Whether the token is young enough to answer without asking; one too old even to serve
 * stale is dropped on the way. */
static bool pc_fresh(struct mbx_principal_resolver *r, struct pc_entry *e, uint64_t now)
{
	uint64_t age;

	if (e->tok == NULL)
		return false;
	age = pc_age(now, e->tok_ms);
	if (age < r->cfg.ttl_ms)
		return true;
	if (age >= r->cfg.stale_max_ms)
		pc_forget(r, e);
	return false;
}

/* --- deliveries --------------------------------------------------------------------------- */

static void pc_unpin(struct mbx_principal_req *w)
{
	if (w->e != NULL) {
		w->e->pins--;
		w->e = NULL;
	}
}

/* Calls back and frees w (already unlinked and unpinned); p becomes the callee's. */
static void pc_deliver(struct mbx_principal_req *w, enum mbx_dir_status status,
                       struct mbx_principal *p, const char *message)
{
	mbx_principal_cb *cb = w->cb;
	void *ctx = w->ctx;

	free(w);
	cb(ctx, status, p, message);
}

static void pc_log_stale(struct pc_entry *e, uint64_t now, uint64_t age, const char *message)
{
	char dn[300], why[300];

	if (e->logged && pc_age(now, e->logged_ms) < PC_STALE_LOG_MS)
		return;
	e->logged = true;
	e->logged_ms = now;
	if (message == NULL)
		message = "temporary failure";
	mbx_log(MBX_LOG_WARNING,
	        "principal: the directory cannot be asked (%s): serving the cached token of "
	        "\"%s\", read %llu s ago (stale_max %llu s)",
	        mbx_log_escape(message, strlen(message), why, sizeof(why)),
	        mbx_log_escape(e->dn, strlen(e->dn), dn, sizeof(dn)),
	        (unsigned long long)(age / 1000u),
	        (unsigned long long)(e->r->cfg.stale_max_ms / 1000u));
}

/* The fetch of entry ctx ended (from the event loop): update the cache, answer the waiters. */
static void pc_fetch_done(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                          const char *message)
{
	struct pc_entry *e = ctx;
	struct mbx_principal_resolver *r = e->r;
	struct mbx_principal *master = NULL;
	uint64_t now = pc_now(r), age;
	bool stale = false;
	struct pr_list batch;

	e->fetch = NULL;
	pr_list_unlink(&e->flink);
	r->ninflight--;
	switch (status) {
	case MBX_DIR_FOUND:
		pc_forget(r, e);
		e->tok = mbx_principal_dup(p);
		if (e->tok != NULL && pc_index(r, e) < 0)
			mbx_principal_free(&e->tok);
		e->tok_ms = now;
		e->logged = false;
		master = p;
		break;
	case MBX_DIR_TEMPFAIL:
		r->st.tempfail++;
		if (e->tok != NULL && (age = pc_age(now, e->tok_ms)) < r->cfg.stale_max_ms) {
			/* Seed 004 and the failover scenario: the last token, marked stale. */
			master = mbx_principal_dup(e->tok);
			if (master == NULL) {
				status = MBX_DIR_ERROR;
				message = pc_msg_oom;
				break;
			}
			master->stale = true;
			master->age_ms = age;
			stale = true;
			status = MBX_DIR_FOUND;
			if (!pr_list_empty(&e->waiters))
				pc_log_stale(e, now, age, message);
		} else {
			pc_forget(r, e);
		}
		break;
	case MBX_DIR_ERROR:
	case MBX_DIR_NOT_FOUND:
	default:
		/* The object is gone or cannot be trusted: never answered with an older token. */
		if (status != MBX_DIR_NOT_FOUND)
			r->st.errors++;
		pc_forget(r, e);
		break;
	}
	if (master != NULL) {
		master->cached = false;
		if (!stale)
			master->age_ms = 0;
	}
	pr_list_init(&batch);
	pr_list_splice(&batch, &e->waiters);
	for (struct pr_list *l = batch.next; l != &batch; l = l->next)
		PR_CONTAINER(l, struct mbx_principal_req, link)->state = PC_BATCH;
	e->pins++; /* the callbacks may do anything but free the resolver */
	while (!pr_list_empty(&batch)) {
		struct mbx_principal_req *w =
		        PR_CONTAINER(batch.next, struct mbx_principal_req, link);
		struct mbx_principal *copy;

		pr_list_unlink(&w->link);
		pc_unpin(w);
		if (status != MBX_DIR_FOUND) {
			pc_deliver(w, status, NULL, message);
			continue;
		}
		if (pr_list_empty(&batch)) {
			copy = master;
			master = NULL;
		} else {
			copy = mbx_principal_dup(master);
		}
		if (copy == NULL) {
			pc_deliver(w, MBX_DIR_ERROR, NULL, pc_msg_oom);
			continue;
		}
		if (stale)
			r->st.stale_served++;
		pc_deliver(w, MBX_DIR_FOUND, copy, stale ? message : NULL);
	}
	mbx_principal_free(&master);
	e->pins--;
	pc_gc(r, e);
	pc_evict(r);
}

static int pc_fetch_start(struct mbx_principal_resolver *r, struct pc_entry *e,
                          const struct mbx_dir_entry *de)
{
	e->fetch = de != NULL ? pr_fetch_entry(r, de, pc_fetch_done, e)
	                      : pr_fetch_dn(r, e->dn, pc_fetch_done, e);
	if (e->fetch == NULL)
		return -1;
	r->st.fetches++;
	r->ninflight++;
	pr_list_push_back(&r->fetching, &e->flink);
	return 0;
}

/* Attaches w to e's fetch, starting one (from de if not NULL) if needed. 0, or -1 when no
 * fetch could be started. */
static int pc_attach(struct mbx_principal_resolver *r, struct pc_entry *e,
                     struct mbx_principal_req *w, const struct mbx_dir_entry *de)
{
	if (e->fetch != NULL)
		r->st.coalesced++;
	else if (pc_fetch_start(r, e, de) < 0)
		return -1;
	r->st.misses++;
	w->state = PC_FETCH;
	pr_list_push_back(&e->waiters, &w->link);
	return 0;
}

/* The deferred callback: answers the requests queued on r->ready. */
static void pc_flush_cb(void *arg)
{
	struct mbx_principal_resolver *r = arg;
	struct pr_list batch;

	pr_list_init(&batch);
	pr_list_splice(&batch, &r->ready);
	while (!pr_list_empty(&batch)) {
		struct mbx_principal_req *w =
		        PR_CONTAINER(batch.next, struct mbx_principal_req, link);
		struct pc_entry *e = w->e;
		uint64_t now = pc_now(r);

		pr_list_unlink(&w->link);
		if (w->state != PC_FAILED && e->fetch == NULL && pc_fresh(r, e, now)) {
			struct mbx_principal *copy = mbx_principal_dup(e->tok);

			pc_touch(r, e);
			pc_unpin(w);
			if (copy == NULL) {
				r->st.errors++;
				pc_deliver(w, MBX_DIR_ERROR, NULL, pc_msg_oom);
				continue;
			}
			copy->cached = true;
			copy->stale = false;
			copy->age_ms = pc_age(now, e->tok_ms);
			r->st.hits++;
			pc_deliver(w, MBX_DIR_FOUND, copy, NULL);
			continue;
		}
		/* Invalidated or expired since it was queued, or failed: ask the directory. */
		if (w->state == PC_FAILED || pc_attach(r, e, w, NULL) < 0) {
			pc_unpin(w);
			pc_gc(r, e);
			r->st.errors++;
			pc_deliver(w, MBX_DIR_ERROR, NULL, pc_msg_nostart);
		}
	}
	pc_evict(r);
}

/* --- invalidation ------------------------------------------------------------------------- */

static void pc_invalidate_entry(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	r->st.invalidations++;
	pc_forget(r, e);
	e->logged = false;
	if (e->fetch == NULL) {
		pc_gc(r, e);
		return;
	}
	/* What it read may predate the change: read again. */
	if (pr_fetch_restart(e->fetch, e->dn) == 0) {
		r->st.fetches++;
		return;
	}
	pr_fetch_free(e->fetch);
	e->fetch = NULL;
	pr_list_unlink(&e->flink);
	r->ninflight--;
	while (!pr_list_empty(&e->waiters)) {
		struct mbx_principal_req *w =
		        PR_CONTAINER(e->waiters.next, struct mbx_principal_req, link);

		pr_list_unlink(&w->link);
		w->state = PC_FAILED; /* answered from the loop: this may run inside an API call */
		pr_list_push_back(&r->ready, &w->link);
	}
	r->cfg.defer.ops->schedule(r->defer);
}

static void pc_invalidate_dn(struct mbx_principal_resolver *r, const char *dn)
{
	char *key = pc_dn_key(dn);
	struct pr_list *l, *next;
	struct pc_entry *e;
	uint64_t h;

	if (key == NULL) {
		mbx_principal_resolver_clear(r); /* cannot say what to keep: keep nothing */
		return;
	}
	h = pc_hash(key);
	e = pc_find(r, key, h);
	if (e != NULL)
		pc_invalidate_entry(r, e);
	/* Invalidation drops the entry's references, so this ends. */
	while ((e = pc_ref_find(r, key, h)) != NULL)
		pc_invalidate_entry(r, e);
	free(key);
	/* Fetches in flight are not indexed: those that read this object. */
	for (l = r->fetching.next; l != &r->fetching; l = next) {
		e = PR_CONTAINER(l, struct pc_entry, flink);
		next = l->next;
		if (pr_fetch_has_read(e->fetch, dn))
			pc_invalidate_entry(r, e);
	}
}

/* The directory's change notification (from the event loop): then the callback registered
 * before ours. */
static void pc_change_cb(void *ctx, const char *dn, const char *legacy_dn)
{
	struct mbx_principal_resolver *r = ctx;

	if (dn != NULL)
		pc_invalidate_dn(r, dn);
	else
		mbx_principal_resolver_clear(r); /* the backend does not say which: all */
	if (r->prev_change_cb != NULL)
		r->prev_change_cb(r->prev_change_ctx, dn, legacy_dn);
}

void mbx_principal_resolver_invalidate(struct mbx_principal_resolver *r, const char *dn)
{
	if (r != NULL && dn != NULL)
		pc_invalidate_dn(r, dn);
}

void mbx_principal_resolver_clear(struct mbx_principal_resolver *r)
{
	struct pr_list *l, *next;

	if (r == NULL)
		return;
	for (l = r->lru.next; l != &r->lru; l = next) {
		next = l->next;
		pc_invalidate_entry(r, PR_CONTAINER(l, struct pc_entry, lru));
	}
}

/* --- requests ----------------------------------------------------------------------------- */

static struct mbx_principal_req *pc_req_new(struct mbx_principal_resolver *r, enum pc_state st,
                                            void *ctx)
{
	struct mbx_principal_req *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	pr_list_init(&w->link);
	w->r = r;
	w->state = st;
	w->ctx = ctx;
	return w;
}

static void pc_direct_done(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                           const char *message)
{
	struct mbx_principal_req *w = ctx;

	pr_list_unlink(&w->link);
	pc_deliver(w, status, p, message);
}

/* No cache: a fetch of its own (de: from that entry, else by DN). */
static struct mbx_principal_req *pc_direct(struct mbx_principal_resolver *r, const char *dn,
                                           const struct mbx_dir_entry *de, mbx_principal_cb *cb,
                                           void *ctx)
{
	struct mbx_principal_req *w = pc_req_new(r, PC_DIRECT, ctx);

	if (w == NULL)
		return NULL;
	w->cb = cb;
	w->f = de != NULL ? pr_fetch_entry(r, de, pc_direct_done, w)
	                  : pr_fetch_dn(r, dn, pc_direct_done, w);
	if (w->f == NULL) {
		free(w);
		return NULL;
	}
	r->st.fetches++;
	pr_list_push_back(&r->direct, &w->link);
	return w;
}

static struct mbx_principal_req *pc_get(struct mbx_principal_resolver *r, const char *dn,
                                        const struct mbx_dir_entry *de, mbx_principal_cb *cb,
                                        void *ctx)
{
	struct mbx_principal_req *w;
	struct pc_entry *e;
	char *key;
	uint64_t h;

	if (r->cfg.ttl_ms == 0)
		return pc_direct(r, dn, de, cb, ctx);
	key = pc_dn_key(dn);
	w = pc_req_new(r, PC_QUEUED, ctx);
	if (key == NULL || w == NULL)
		goto fail;
	w->cb = cb;
	h = pc_hash(key);
	e = pc_find(r, key, h);
	if (e == NULL) {
		e = pc_entry_new(r, key, h, dn);
		if (e == NULL)
			goto fail;
	} else {
		free(key);
	}
	key = NULL;
	w->e = e;
	e->pins++;
	if (e->fetch == NULL && pc_fresh(r, e, pc_now(r))) {
		/* A hit: answered from the loop, by the flush. */
		pr_list_push_back(&r->ready, &w->link);
		r->cfg.defer.ops->schedule(r->defer);
	} else if (pc_attach(r, e, w, de) < 0) {
		pc_unpin(w);
		pc_gc(r, e);
		goto fail;
	}
	pc_touch(r, e);
	pc_evict(r);
	return w;
fail:
	free(key);
	free(w);
	return NULL;
}

struct mbx_principal_req *mbx_principal_lookup(struct mbx_principal_resolver *r, const char *dn,
                                               mbx_principal_cb *cb, void *ctx)
{
	if (r == NULL || dn == NULL || dn[0] == '\0' || cb == NULL)
		return NULL;
	return pc_get(r, dn, NULL, cb, ctx);
}

struct mbx_principal_req *mbx_principal_lookup_entry(struct mbx_principal_resolver *r,
                                                     const struct mbx_dir_entry *e,
                                                     mbx_principal_cb *cb, void *ctx)
{
	struct mbx_sid sid;

	if (r == NULL || e == NULL || e->dn == NULL || e->dn[0] == '\0' || cb == NULL)
		return NULL;
	if (pr_entry_sid(e, &sid) < 0)
		return NULL; /* refused even when a token of that DN is cached */
	return pc_get(r, e->dn, e, cb, ctx);
}

static void pc_owners_done(void *ctx, enum mbx_dir_status status,
                           const struct mbx_principal_owners *o, const char *message)
{
	struct mbx_principal_req *w = ctx;
	mbx_principal_owners_cb *cb = w->owners_cb;
	void *cctx = w->ctx;

	pr_list_unlink(&w->link);
	free(w);
	cb(cctx, status, o, message);
}

struct mbx_principal_req *mbx_principal_sid_owners(struct mbx_principal_resolver *r,
                                                   const struct mbx_sid *sid,
                                                   mbx_principal_owners_cb *cb, void *ctx)
{
	struct mbx_principal_req *w;

	if (r == NULL || sid == NULL || cb == NULL)
		return NULL;
	w = pc_req_new(r, PC_OWNERS, ctx);
	if (w == NULL)
		return NULL;
	w->owners_cb = cb;
	w->f = pr_fetch_owners(r, sid, pc_owners_done, w);
	if (w->f == NULL) {
		free(w);
		return NULL;
	}
	pr_list_push_back(&r->direct, &w->link);
	return w;
}

void mbx_principal_cancel(struct mbx_principal_req *w)
{
	struct mbx_principal_resolver *r;
	struct pc_entry *e;

	if (w == NULL)
		return;
	r = w->r;
	e = w->e;
	pr_list_unlink(&w->link);
	pr_fetch_free(w->f);
	pc_unpin(w);
	free(w);
	/* A shared fetch nobody waits for any more goes on: its answer fills the cache. */
	if (e != NULL)
		pc_gc(r, e);
}

/* --- life cycle --------------------------------------------------------------------------- */

struct mbx_principal_resolver *mbx_principal_resolver_new(struct mbx_dir *d,
                                                          const struct mbx_principal_config *cfg)
{
	struct mbx_principal_resolver *r;

	if (d == NULL || cfg == NULL || cfg->defer.ops == NULL)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->dir = d;
	r->cfg = *cfg;
	pr_list_init(&r->lru);
	pr_list_init(&r->fetching);
	pr_list_init(&r->ready);
	pr_list_init(&r->direct);
	r->nbuckets = 64;
	r->nrbuckets = 64;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	r->rbuckets = calloc(r->nrbuckets, sizeof(*r->rbuckets));
	if (r->buckets == NULL || r->rbuckets == NULL)
		goto fail;
	r->defer = cfg->defer.ops->create(cfg->defer.loop, pc_flush_cb, r);
	if (r->defer == NULL)
		goto fail;
	if (cfg->ttl_ms > 0) {
		r->prev_change_cb = d->change_cb;
		r->prev_change_ctx = d->change_ctx;
		mbx_dir_set_change_cb(d, pc_change_cb, r);
	}
	return r;
fail:
	free(r->buckets);
	free(r->rbuckets);
	free(r);
	return NULL;
}

static void pc_drop_list(struct pr_list *l)
{
	while (!pr_list_empty(l)) {
		struct mbx_principal_req *w = PR_CONTAINER(l->next, struct mbx_principal_req, link);

		pr_list_unlink(&w->link);
		pr_fetch_free(w->f);
		pc_unpin(w);
		free(w);
	}
}

void mbx_principal_resolver_free(struct mbx_principal_resolver **rp)
{
	struct mbx_principal_resolver *r;

	if (rp == NULL || *rp == NULL)
		return;
	r = *rp;
	if (r->dir->change_cb == pc_change_cb && r->dir->change_ctx == r)
		mbx_dir_set_change_cb(r->dir, r->prev_change_cb, r->prev_change_ctx);
	r->cfg.defer.ops->destroy(r->defer);
	pc_drop_list(&r->ready);
	pc_drop_list(&r->direct);
	while (!pr_list_empty(&r->fetching)) {
		struct pc_entry *e = PR_CONTAINER(r->fetching.next, struct pc_entry, flink);

		pc_drop_list(&e->waiters);
		pr_fetch_free(e->fetch);
		e->fetch = NULL;
		pr_list_unlink(&e->flink);
	}
	while (!pr_list_empty(&r->lru))
		pc_entry_free(r, PR_CONTAINER(r->lru.next, struct pc_entry, lru));
	while (r->fetches != NULL)
		pr_fetch_free(r->fetches);
	free(r->buckets);
	free(r->rbuckets);
	free(r);
	*rp = NULL;
}

void mbx_principal_resolver_stats(const struct mbx_principal_resolver *r,
                                  struct mbx_principal_resolver_stats *st_r)
{
	memset(st_r, 0, sizeof(*st_r));
	if (r == NULL)
		return;
	*st_r = r->st;
	st_r->entries = r->nentries;
	st_r->inflight = r->ninflight;
}
