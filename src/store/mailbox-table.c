/*
 * mailbox-table.c: the mailbox-state table (design.md "The mailbox-state table and the logon
 * decision"; lookup chain of protocol.md 8.2; seed 004 for what a directory outage must look
 * like). The contract is in include/mbx/mailbox-table.h; the types and the fetch (the lookup
 * chain that fills an entry) are in mailbox-table-int.h and mailbox-table-fetch.c.
 *
 * Shape of the code:
 *   - an entry per key (legacyExchangeDN or SMTP address, lower-cased), in a hash table and an
 *     LRU list; it holds a reference-counted snapshot or a negative mark, the fetch in flight
 *     (one per entry: that is the coalescing) and the waiters of that fetch;
 *   - a DN index: every entry is reachable from the DNs its snapshot was built from (user,
 *     database, server) and from its legacyExchangeDN, so a change notification naming any of
 *     them invalidates it;
 *   - waiters answered from the cache are queued on a "ready" list and answered from one
 *     deferred callback, which looks at the entry again at that moment: an invalidation in
 *     between turns the hit into a fetch, so nothing older than a change is ever delivered
 *     after it;
 *   - a waiter pins its entry (no eviction, no removal) until it is answered or cancelled;
 *     deliveries unpin first and hold a reference on the snapshot, so a callback may do
 *     anything (get, cancel, invalidate) except free the table.
 */
#include "mbx/mailbox-table.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/mailbox-table-int.h"

const char mt_msg_nostart[] = "the directory lookup could not be started";

/* --- small helpers ------------------------------------------------------------------------ */

uint64_t mt_now(const struct mbx_mailbox_table *t)
{
	struct timespec ts;

	if (t->cfg.clock != NULL)
		return t->cfg.clock(t->cfg.clock_ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

time_t mt_wall(const struct mbx_mailbox_table *t, uint64_t now_ms)
{
	if (t->cfg.clock != NULL)
		return (time_t)(now_ms / 1000u);
	return time(NULL);
}

uint64_t mt_age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static char mt_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static uint64_t mt_hash(const char *s, unsigned salt)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ salt;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* prefix (or 0) + s lower-cased (ASCII: legacyExchangeDN is a case-insensitive string, SMTP
 * addresses are looked up without regard to case). */
static char *mt_lower_dup(char prefix, const char *s)
{
	size_t n = strlen(s), k = 0;
	char *p = malloc(n + 2);

	if (p == NULL)
		return NULL;
	if (prefix != 0)
		p[k++] = prefix;
	for (size_t i = 0; i < n; i++)
		p[k++] = mt_lower(s[i]);
	p[k] = '\0';
	return p;
}

/* 'D' + the DN's normal form (mbx_mailbox_dn_key): the key of a directory object's entries. */
static char *mt_dn_key(const char *s)
{
	return mbx_mailbox_dn_key(s, 'D');
}

struct mt_snap *mt_snap_ref(struct mt_snap *s)
{
	if (s != NULL)
		s->refs++;
	return s;
}

void mt_snap_unref(struct mt_snap **sp)
{
	struct mt_snap *s = *sp;

	*sp = NULL;
	if (s == NULL || --s->refs > 0)
		return;
	mbx_mailbox_free(&s->mbx);
	free(s);
}

/* --- hash tables -------------------------------------------------------------------------- */

static bool mt_grow_entries(struct mbx_mailbox_table *t)
{
	size_t n = t->nbuckets * 2;
	struct mt_entry **b;

	if (t->nentries < t->nbuckets)
		return true;
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return false; /* longer chains, still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct mt_entry *e = t->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return true;
}

static bool mt_grow_refs(struct mbx_mailbox_table *t)
{
	size_t n = t->nrbuckets * 2;
	struct mt_ref **b;

	if (t->nrefs < t->nrbuckets)
		return true;
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return false;
	for (size_t i = 0; i < t->nrbuckets; i++) {
		struct mt_ref *r = t->rbuckets[i], *next;

		for (; r != NULL; r = next) {
			next = r->next;
			r->next = b[r->hash & (n - 1)];
			b[r->hash & (n - 1)] = r;
		}
	}
	free(t->rbuckets);
	t->rbuckets = b;
	t->nrbuckets = n;
	return true;
}

static struct mt_entry *mt_find(const struct mbx_mailbox_table *t, enum mt_kind kind,
                                const char *key, uint64_t hash)
{
	struct mt_entry *e = t->buckets[hash & (t->nbuckets - 1)];

	for (; e != NULL; e = e->next) {
		if (e->hash == hash && e->kind == kind && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static void mt_ref_del(struct mbx_mailbox_table *t, struct mt_ref *r)
{
	struct mt_ref **pp;

	if (r->key == NULL)
		return;
	for (pp = &t->rbuckets[r->hash & (t->nrbuckets - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	t->nrefs--;
	free(r->key);
	r->key = NULL;
	r->next = NULL;
}

/* Indexes e under key (taken over; NULL = out of memory, then e is not reachable that way:
 * it can still be invalidated by its own key and expires with its TTL). */
static void mt_ref_set(struct mbx_mailbox_table *t, struct mt_entry *e, int slot, char *key)
{
	struct mt_ref *r = &e->refs[slot];
	size_t b;

	mt_ref_del(t, r);
	if (key == NULL)
		return;
	mt_grow_refs(t);
	r->e = e;
	r->key = key;
	r->hash = mt_hash(key, 0);
	b = r->hash & (t->nrbuckets - 1);
	r->next = t->rbuckets[b];
	t->rbuckets[b] = r;
	t->nrefs++;
}

static struct mt_entry *mt_ref_find(const struct mbx_mailbox_table *t, const char *key,
                                    uint64_t hash)
{
	struct mt_ref *r = t->rbuckets[hash & (t->nrbuckets - 1)];

	for (; r != NULL; r = r->next) {
		if (r->hash == hash && strcmp(r->key, key) == 0)
			return r->e;
	}
	return NULL;
}

void mt_index_snapshot(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	const struct mbx_mailbox *m = e->snap->mbx;

	mt_ref_set(t, e, MT_REF_USER, m->dn != NULL ? mt_dn_key(m->dn) : NULL);
	mt_ref_set(t, e, MT_REF_DATABASE,
	           m->home_mdb_dn != NULL ? mt_dn_key(m->home_mdb_dn) : NULL);
	mt_ref_set(t, e, MT_REF_SERVER,
	           m->home_server_dn != NULL ? mt_dn_key(m->home_server_dn) : NULL);
	mt_ref_set(t, e, MT_REF_LEGACY,
	           m->legacy_dn != NULL ? mt_lower_dup('L', m->legacy_dn) : NULL);
}

/* --- entries ------------------------------------------------------------------------------ */

void mt_entry_set_negative(struct mbx_mailbox_table *t, struct mt_entry *e, bool on, uint64_t now)
{
	if (e->negative)
		mt_list_unlink(&e->neg);
	e->negative = on;
	if (on) {
		e->neg_time_ms = now;
		mt_list_push_back(&t->negatives, &e->neg);
	}
}

/* Drops what the entry knows (snapshot, negative mark, index references). */
void mt_entry_forget(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	for (int i = 0; i < MT_NREFS; i++)
		mt_ref_del(t, &e->refs[i]);
	mt_snap_unref(&e->snap);
	mt_entry_set_negative(t, e, false, 0);
}

static void mt_entry_free(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	struct mt_entry **pp;

	mt_entry_forget(t, e);
	for (pp = &t->buckets[e->hash & (t->nbuckets - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	mt_list_unlink(&e->lru);
	t->nentries--;
	free(e->key);
	free(e);
}

static bool mt_entry_idle(const struct mt_entry *e)
{
	return e->fetch == NULL && e->pins == 0;
}

/* An idle entry that knows nothing is removed. */
void mt_entry_gc(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	if (mt_entry_idle(e) && e->snap == NULL && !e->negative)
		mt_entry_free(t, e);
}

/* Evicts idle entries, least recently used first, down to the bound. */
void mt_evict(struct mbx_mailbox_table *t)
{
	struct mt_list *l = t->lru.prev;

	if (t->cfg.max_entries == 0)
		return;
	while (t->nentries > t->cfg.max_entries && l != &t->lru) {
		struct mt_entry *e = MT_CONTAINER(l, struct mt_entry, lru);

		l = l->prev;
		if (!mt_entry_idle(e))
			continue;
		mt_entry_free(t, e);
		t->st.evictions++;
	}
}

static struct mt_entry *mt_entry_new(struct mbx_mailbox_table *t, enum mt_kind kind, char *key,
                                     uint64_t hash)
{
	struct mt_entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (e == NULL)
		return NULL;
	mt_grow_entries(t);
	e->kind = kind;
	e->key = key;
	e->hash = hash;
	mt_list_init(&e->neg);
	mt_list_init(&e->waiters);
	mt_list_push_front(&t->lru, &e->lru);
	b = hash & (t->nbuckets - 1);
	e->next = t->buckets[b];
	t->buckets[b] = e;
	t->nentries++;
	return e;
}

void mt_touch(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	mt_list_unlink(&e->lru);
	mt_list_push_front(&t->lru, &e->lru);
}

/* The snapshot, if young enough for its purpose; a snapshot too old even to serve stale is
 * dropped on the way. */
static bool mt_fresh(struct mbx_mailbox_table *t, struct mt_entry *e, uint64_t now)
{
	if (e->snap != NULL) {
		uint64_t age = mt_age(now, e->snap->time_ms);

		if (age < t->cfg.ttl_ms)
			return true;
		if (age >= t->cfg.stale_max_ms) {
			for (int i = 0; i < MT_NREFS; i++)
				mt_ref_del(t, &e->refs[i]);
			mt_snap_unref(&e->snap);
		}
	}
	return false;
}

static bool mt_negative_fresh(struct mbx_mailbox_table *t, struct mt_entry *e, uint64_t now)
{
	if (!e->negative)
		return false;
	if (mt_age(now, e->neg_time_ms) < t->cfg.negative_ttl_ms)
		return true;
	mt_entry_set_negative(t, e, false, 0);
	return false;
}

/* --- deliveries --------------------------------------------------------------------------- */

void mt_schedule(struct mbx_mailbox_table *t)
{
	t->cfg.defer.ops->schedule(t->defer);
}

void mt_unpin(struct mbx_mt_wait *w)
{
	if (w->e != NULL) {
		w->e->pins--;
		w->e = NULL;
	}
}

/* Calls back and frees w (already unlinked and unpinned). */
void mt_call(struct mbx_mt_wait *w, enum mbx_dir_status status, const struct mt_snap *s, bool stale,
             bool cached, uint64_t now, const char *message)
{
	struct mbx_mt_result res = {
	        .status = status,
	        .mbx = s != NULL ? s->mbx : NULL,
	        .stale = stale,
	        .cached = cached,
	        .age_ms = s != NULL ? mt_age(now, s->time_ms) : 0,
	        .message = message,
	};
	mbx_mt_cb *cb = w->cb;
	void *ctx = w->ctx;

	free(w);
	cb(ctx, &res);
}

/* --- invalidation ------------------------------------------------------------------------- */

static void mt_entry_invalidate(struct mbx_mailbox_table *t, struct mt_entry *e)
{
	t->st.invalidations++;
	mt_entry_forget(t, e);
	if (e->fetch != NULL) {
		/* What it read may predate the change: read again. */
		mt_fetch_restart(e->fetch);
		return;
	}
	mt_entry_gc(t, e);
}

/* Every entry indexed under key (already prefixed and normalised). */
static void mt_invalidate_key(struct mbx_mailbox_table *t, const char *key)
{
	uint64_t h = mt_hash(key, 0);
	struct mt_entry *e;

	/* Invalidation removes the entry's references, so this ends. */
	while ((e = mt_ref_find(t, key, h)) != NULL)
		mt_entry_invalidate(t, e);
}

static void mt_invalidate_legacy(struct mbx_mailbox_table *t, const char *legacy_dn)
{
	char *key = mt_lower_dup('L', legacy_dn);
	struct mt_entry *e;

	if (key == NULL) {
		mbx_mailbox_table_clear(t); /* cannot say what to keep: keep nothing */
		return;
	}
	e = mt_find(t, MT_KIND_LEGACY, key + 1, mt_hash(key + 1, MT_KIND_LEGACY));
	if (e != NULL)
		mt_entry_invalidate(t, e);
	mt_invalidate_key(t, key);
	free(key);
}

static void mt_invalidate_dn(struct mbx_mailbox_table *t, const char *dn)
{
	char *key = mt_dn_key(dn);
	struct mt_list *l, *next;

	if (key == NULL) {
		mbx_mailbox_table_clear(t);
		return;
	}
	mt_invalidate_key(t, key);
	free(key);
	/* Fetches in flight are not indexed yet: those that already read this object. */
	for (l = t->fetches.next; l != &t->fetches; l = next) {
		struct mt_fetch *f = MT_CONTAINER(l, struct mt_fetch, link);

		next = l->next;
		if ((f->user != NULL && mbx_mailbox_dn_equal(f->user->dn, dn)) ||
		    (f->database != NULL && mbx_mailbox_dn_equal(f->database->dn, dn)))
			mt_entry_invalidate(t, f->e);
	}
}

/* Negative entries for any key may be wrong after any change (an object gained this address
 * or legacyExchangeDN), so a change drops them all; each is dropped once, so this costs O(1)
 * per negative entry ever made. */
static void mt_invalidate_negatives(struct mbx_mailbox_table *t)
{
	while (!mt_list_empty(&t->negatives)) {
		struct mt_entry *e = MT_CONTAINER(t->negatives.next, struct mt_entry, neg);

		mt_entry_invalidate(t, e);
	}
}

static void mt_change_cb(void *ctx, const char *dn, const char *legacy_dn)
{
	struct mbx_mailbox_table *t = ctx;

	if (legacy_dn != NULL)
		mt_invalidate_legacy(t, legacy_dn);
	if (dn != NULL)
		mt_invalidate_dn(t, dn);
	mt_invalidate_negatives(t);
	if (t->prev_change_cb != NULL)
		t->prev_change_cb(t->prev_change_ctx, dn, legacy_dn);
}

void mbx_mailbox_table_invalidate(struct mbx_mailbox_table *t, const char *legacy_dn)
{
	if (t == NULL || legacy_dn == NULL)
		return;
	mt_invalidate_legacy(t, legacy_dn);
	mt_invalidate_negatives(t);
}

void mbx_mailbox_table_invalidate_dn(struct mbx_mailbox_table *t, const char *dn)
{
	if (t == NULL || dn == NULL)
		return;
	mt_invalidate_dn(t, dn);
	mt_invalidate_negatives(t);
}

void mbx_mailbox_table_clear(struct mbx_mailbox_table *t)
{
	struct mt_list *l, *next;

	if (t == NULL)
		return;
	for (l = t->lru.next; l != &t->lru; l = next) {
		next = l->next;
		mt_entry_invalidate(t, MT_CONTAINER(l, struct mt_entry, lru));
	}
}

/* --- waiting ------------------------------------------------------------------------------ */

/* Attaches w to e's fetch, starting one if needed. 0, or -1 when no fetch could be started. */
static int mt_attach(struct mbx_mailbox_table *t, struct mt_entry *e, struct mbx_mt_wait *w)
{
	t->st.misses++;
	if (e->fetch != NULL)
		t->st.coalesced++;
	else if (mt_fetch_start(t, e) == NULL)
		return -1;
	w->state = MT_WAIT_FETCH;
	mt_list_push_back(&e->waiters, &w->link);
	return 0;
}

/* The deferred callback: answers the queued waiters. */
static void mt_flush_cb(void *arg)
{
	struct mbx_mailbox_table *t = arg;
	struct mt_list batch;

	mt_list_init(&batch);
	mt_list_splice(&batch, &t->ready);
	while (!mt_list_empty(&batch)) {
		struct mbx_mt_wait *w = MT_CONTAINER(batch.next, struct mbx_mt_wait, link);
		struct mt_entry *e = w->e;
		uint64_t now = mt_now(t);
		struct mt_snap *s;

		mt_list_unlink(&w->link);
		if (e->fetch == NULL && mt_fresh(t, e, now)) {
			t->st.hits++;
			s = mt_snap_ref(e->snap);
			mt_touch(t, e);
			mt_unpin(w);
			mt_call(w, MBX_DIR_FOUND, s, false, true, now, NULL);
			mt_snap_unref(&s);
			continue;
		}
		if (e->fetch == NULL && mt_negative_fresh(t, e, now)) {
			t->st.negative_hits++;
			mt_touch(t, e);
			mt_unpin(w);
			mt_call(w, MBX_DIR_NOT_FOUND, NULL, false, true, now, NULL);
			continue;
		}
		/* Invalidated or expired since it was queued, or failed: ask the directory. */
		if (w->state == MT_WAIT_FAILED || mt_attach(t, e, w) < 0) {
			mt_unpin(w);
			mt_entry_gc(t, e);
			t->st.errors++;
			mt_call(w, MBX_DIR_ERROR, NULL, false, false, now, mt_msg_nostart);
		}
	}
	mt_evict(t);
}

static struct mbx_mt_wait *mt_get(struct mbx_mailbox_table *t, enum mt_kind kind, const char *name,
                                  mbx_mt_cb *cb, void *ctx)
{
	struct mbx_mt_wait *w;
	struct mt_entry *e;
	uint64_t now, h;
	char small[512], *key = small, *own = NULL;
	size_t n;

	if (t == NULL || name == NULL || name[0] == '\0' || cb == NULL)
		return NULL;
	/* The key lower-cased on the stack; copied to the heap only for a new entry. */
	n = strlen(name);
	if (n < sizeof(small)) {
		for (size_t i = 0; i < n; i++)
			small[i] = mt_lower(name[i]);
		small[n] = '\0';
	} else {
		key = own = mt_lower_dup(0, name);
	}
	w = calloc(1, sizeof(*w));
	if (key == NULL || w == NULL)
		goto fail;
	w->t = t;
	w->cb = cb;
	w->ctx = ctx;
	h = mt_hash(key, kind);
	e = mt_find(t, kind, key, h);
	if (e == NULL) {
		if (own == NULL && (own = strdup(small)) == NULL)
			goto fail;
		e = mt_entry_new(t, kind, own, h);
		if (e == NULL)
			goto fail;
		own = NULL; /* the entry's now */
	}
	free(own);
	own = NULL;
	w->e = e;
	e->pins++;
	now = mt_now(t);
	if (e->fetch == NULL && (mt_fresh(t, e, now) || mt_negative_fresh(t, e, now))) {
		/* A hit: answered from the loop, by the flush. */
		w->state = MT_WAIT_QUEUED;
		mt_list_push_back(&t->ready, &w->link);
		mt_schedule(t);
	} else if (mt_attach(t, e, w) < 0) {
		w->state = MT_WAIT_FAILED;
		mt_list_push_back(&t->ready, &w->link);
		mt_schedule(t);
	}
	mt_touch(t, e);
	mt_evict(t);
	return w;
fail:
	free(own);
	free(w);
	return NULL;
}

struct mbx_mt_wait *mbx_mailbox_table_get(struct mbx_mailbox_table *t, const char *legacy_dn,
                                          mbx_mt_cb *cb, void *ctx)
{
	return mt_get(t, MT_KIND_LEGACY, legacy_dn, cb, ctx);
}

struct mbx_mt_wait *mbx_mailbox_table_get_smtp(struct mbx_mailbox_table *t, const char *addr,
                                               mbx_mt_cb *cb, void *ctx)
{
	return mt_get(t, MT_KIND_SMTP, addr, cb, ctx);
}

void mbx_mailbox_table_cancel(struct mbx_mt_wait *w)
{
	struct mbx_mailbox_table *t;
	struct mt_entry *e;

	if (w == NULL)
		return;
	t = w->t;
	e = w->e;
	mt_list_unlink(&w->link);
	mt_unpin(w);
	free(w);
	/* A fetch nobody waits for any more goes on: its answer fills the cache. */
	if (e != NULL)
		mt_entry_gc(t, e);
}

/* --- life cycle --------------------------------------------------------------------------- */

struct mbx_mailbox_table *mbx_mailbox_table_new(struct mbx_dir *dir,
                                                const struct mbx_mailbox_table_config *cfg)
{
	struct mbx_mailbox_table *t;

	if (dir == NULL || cfg == NULL || cfg->defer.ops == NULL)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->dir = dir;
	t->cfg = *cfg;
	mt_list_init(&t->lru);
	mt_list_init(&t->negatives);
	mt_list_init(&t->ready);
	mt_list_init(&t->fetches);
	t->nbuckets = 64;
	t->nrbuckets = 64;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->rbuckets = calloc(t->nrbuckets, sizeof(*t->rbuckets));
	if (t->buckets == NULL || t->rbuckets == NULL)
		goto fail;
	t->defer = cfg->defer.ops->create(cfg->defer.loop, mt_flush_cb, t);
	if (t->defer == NULL)
		goto fail;
	t->prev_change_cb = dir->change_cb;
	t->prev_change_ctx = dir->change_ctx;
	mbx_dir_set_change_cb(dir, mt_change_cb, t);
	return t;
fail:
	free(t->buckets);
	free(t->rbuckets);
	free(t);
	return NULL;
}

void mbx_mailbox_table_free(struct mbx_mailbox_table **tp)
{
	struct mbx_mailbox_table *t;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	if (t->dir->change_cb == mt_change_cb && t->dir->change_ctx == t)
		mbx_dir_set_change_cb(t->dir, t->prev_change_cb, t->prev_change_ctx);
	t->cfg.defer.ops->destroy(t->defer);
	while (!mt_list_empty(&t->ready)) {
		struct mbx_mt_wait *w = MT_CONTAINER(t->ready.next, struct mbx_mt_wait, link);

		mt_list_unlink(&w->link);
		mt_unpin(w);
		free(w);
	}
	while (!mt_list_empty(&t->fetches)) {
		struct mt_fetch *f = MT_CONTAINER(t->fetches.next, struct mt_fetch, link);
		struct mt_entry *e = f->e;

		while (!mt_list_empty(&e->waiters)) {
			struct mbx_mt_wait *w =
			        MT_CONTAINER(e->waiters.next, struct mbx_mt_wait, link);

			mt_list_unlink(&w->link);
			mt_unpin(w);
			free(w);
		}
		mt_fetch_free(f);
	}
	while (!mt_list_empty(&t->lru))
		mt_entry_free(t, MT_CONTAINER(t->lru.next, struct mt_entry, lru));
	free(t->buckets);
	free(t->rbuckets);
	free(t);
	*tp = NULL;
}

void mbx_mailbox_table_stats(const struct mbx_mailbox_table *t,
                             struct mbx_mailbox_table_stats *st_r)
{
	memset(st_r, 0, sizeof(*st_r));
	if (t == NULL)
		return;
	*st_r = t->st;
	st_r->entries = t->nentries;
	st_r->inflight = t->ninflight;
}
