/*
 * principal-int.h: what the two files of the principal resolver share (private to src/store;
 * design.md "The mailbox-state table and the logon decision", protocol.md 8.6, seed 004). The
 * contract is in include/mbx/principal.h.
 *
 *   principal.c        tokens (free, dup, authz view) and the fetch: the asynchronous walk
 *                      that builds one token (the entry, its groups level by level, the owners
 *                      of every SID) or answers one SID's owners
 *   principal-cache.c  the resolver: requests, the token cache (TTL, serve-stale on TEMPFAIL,
 *                      LRU bound, coalescing, invalidation from the directory's change
 *                      notifications), deliveries from the event loop
 */
#ifndef MBX_PRINCIPAL_INT_H
#define MBX_PRINCIPAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/principal.h"

/* --- intrusive circular lists ------------------------------------------------------------- */

struct pr_list {
	struct pr_list *prev, *next;
};

static inline void pr_list_init(struct pr_list *l)
{
	l->prev = l->next = l;
}

static inline bool pr_list_empty(const struct pr_list *l)
{
	return l->next == l;
}

static inline void pr_list_unlink(struct pr_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void pr_list_push_back(struct pr_list *l, struct pr_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void pr_list_push_front(struct pr_list *l, struct pr_list *n)
{
	n->next = l->next;
	n->prev = l;
	l->next->prev = n;
	l->next = n;
}

/* Moves all of src to the end of dst; src ends empty. */
static inline void pr_list_splice(struct pr_list *dst, struct pr_list *src)
{
	if (pr_list_empty(src))
		return;
	src->next->prev = dst->prev;
	dst->prev->next = src->next;
	src->prev->next = dst;
	dst->prev = src->prev;
	pr_list_init(src);
}

#define PR_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- the resolver ------------------------------------------------------------------------- */

struct pr_fetch;
struct pc_entry;
struct pc_ref;

struct mbx_principal_resolver {
	struct mbx_dir *dir;
	struct mbx_principal_config cfg;
	struct pr_fetch *fetches; /* every fetch alive (principal.c) */

	/* the cache (principal-cache.c) */
	mbx_dir_change_cb *prev_change_cb; /* chained */
	void *prev_change_ctx;
	void *defer; /* the flush of r->ready */
	struct pc_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t nentries;
	struct pc_ref **rbuckets;
	size_t nrbuckets;
	size_t nrefs;
	struct pr_list lru;      /* entries, most recently used first */
	struct pr_list fetching; /* entries with a fetch in flight */
	struct pr_list ready;    /* requests answered by the next flush */
	struct pr_list direct;   /* requests with a fetch of their own (no cache, SID owners) */
	size_t ninflight;
	struct mbx_principal_resolver_stats st;
};

/* --- the cache's entries (principal-index.c, principal-cache.c) ---------------------------- */

struct pc_ref {
	struct pc_ref *next; /* hash chain */
	struct pc_entry *e;
	uint64_t hash;
	char *key; /* NULL: not indexed */
};

struct pc_entry {
	struct pc_entry *next; /* hash chain */
	struct mbx_principal_resolver *r;
	uint64_t hash;
	char *key;              /* the normalised DN */
	char *dn;               /* as first asked for: what a restarted fetch reads */
	struct pr_list lru;     /* in r->lru */
	struct pr_list flink;   /* in r->fetching while fetch is not NULL */
	struct pr_list waiters; /* requests waiting for the fetch */
	size_t pins;            /* requests pointing at this entry */
	struct pr_fetch *fetch;
	struct mbx_principal *tok; /* the last token read, or NULL */
	uint64_t tok_ms;           /* when it was read, on the resolver's clock */
	struct pc_ref *refs;       /* the DNs tok was built from */
	size_t nrefs;
	bool logged; /* a stale token of this principal was logged at logged_ms */
	uint64_t logged_ms;
};

/* principal-index.c */
uint64_t pc_hash(const char *s);
/* The DN normalised the way mbx_mailbox_dn_equal() compares: lower-cased, spaces dropped at
 * both ends and around unescaped separators, a backslash kept with the character it escapes.
 * malloc'ed; NULL when out of memory. */
char *pc_dn_key(const char *s);
/* The entry of key (normalised), or NULL. */
struct pc_entry *pc_find(const struct mbx_principal_resolver *r, const char *key, uint64_t hash);
/* An entry whose token was built from the DN key (normalised), or NULL. */
struct pc_entry *pc_ref_find(const struct mbx_principal_resolver *r, const char *key,
                             uint64_t hash);
/* A new entry for key (taken over) and dn (copied), most recently used; NULL when out of
 * memory. */
struct pc_entry *pc_entry_new(struct mbx_principal_resolver *r, char *key, uint64_t hash,
                              const char *dn);
/* Unlinks and frees e with its token (no fetch, no waiters may be left on it). */
void pc_entry_free(struct mbx_principal_resolver *r, struct pc_entry *e);
/* Indexes e under every DN its token was built from; -1 when out of memory (then nothing is
 * indexed). */
int pc_index(struct mbx_principal_resolver *r, struct pc_entry *e);
/* Drops e's index references. */
void pc_refs_drop(struct mbx_principal_resolver *r, struct pc_entry *e);
/* Drops e's token and its index references. */
void pc_forget(struct mbx_principal_resolver *r, struct pc_entry *e);

/* --- principal.c: the fetch --------------------------------------------------------------- */

/* How a token fetch ends, from the event loop (never from inside a pr_fetch_* call). status
 * and message as for mbx_principal_cb; p (FOUND only) is the callee's. The fetch is freed by
 * principal.c when this returns: do not pr_fetch_free it from here. */
typedef void pr_fetch_done_fn(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                              const char *message);

/* The token of dn (read with MBX_DIR_BY_DN first), or of the entry e (copied). NULL when out of
 * memory, e's objectSid does not decode, or the first lookup could not be started (then done
 * is never called). */
struct pr_fetch *pr_fetch_dn(struct mbx_principal_resolver *r, const char *dn,
                             pr_fetch_done_fn *done, void *ctx);
struct pr_fetch *pr_fetch_entry(struct mbx_principal_resolver *r, const struct mbx_dir_entry *e,
                                pr_fetch_done_fn *done, void *ctx);
/* Who holds sid; cb as for mbx_principal_sid_owners (the fetch is freed after it returns). */
struct pr_fetch *pr_fetch_owners(struct mbx_principal_resolver *r, const struct mbx_sid *sid,
                                 mbx_principal_owners_cb *cb, void *ctx);
/* Cancels f: no callback. NULL-safe. Not from f's own callback. */
void pr_fetch_free(struct pr_fetch *f);
/* Starts a token fetch over, from reading dn by DN (what it read may predate a change).
 * 0, or -1 when the lookup could not be started: then f must be freed, nothing is called. */
int pr_fetch_restart(struct pr_fetch *f, const char *dn);
/* Whether f has read the entry dn (the principal, a group, an owner of a SID) or holds
 * answers that name it. */
bool pr_fetch_has_read(const struct pr_fetch *f, const char *dn);

/* Points p->resolved[i] at p->owners[i] (mbx_authz_check's view of the owners). */
void pr_link_resolved(struct mbx_principal *p);

/* An objectSid value: 1, 0 when absent, -1 when it does not decode or has several values. */
int pr_entry_sid(const struct mbx_dir_entry *e, struct mbx_sid *sid_r);

#endif
