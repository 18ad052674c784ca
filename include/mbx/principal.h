/*
 * principal.h: what authorization needs to know about the authenticated principal (design.md
 * "The mailbox-state table and the logon decision", protocol.md 8.6, seed 002): its objectSid,
 * the SIDs of the groups it belongs to, nested (MBX_DIR_BY_MEMBER lookups to a bounded depth,
 * cycle-safe), and for every SID of that token the directory objects holding it
 * (MBX_DIR_BY_SID), so that mbx_authz_check() can refuse an ambiguous token. Well-known and
 * BUILTIN SIDs (mbx_sid_is_wellknown) are answered from the built-in table without asking the
 * directory, and are never ambiguous, however many domains hold them (KB 870585).
 *
 * Everything is asynchronous with the shape of the directory and the mailbox table: a request
 * handle, one callback from the event loop (never from inside the call that started it), and
 * cancel. A directory TEMPFAIL anywhere makes the whole answer TEMPFAIL: it is never turned
 * into "no groups" or "no owner" (seed 004).
 *
 * Cached (ttl_ms > 0), the way the mailbox table caches mailboxes (mailbox-table.h): tokens are
 * kept per principal (the entry's DN, compared as mbx_mailbox_dn_equal does) for ttl_ms and
 * handed out as copies; concurrent lookups of one principal share one walk; when a walk gets
 * TEMPFAIL and the last token is younger than stale_max_ms, that token is answered as FOUND
 * with p->stale set (so a new session of a user who logged on a minute ago still works while
 * both directory servers are down: the failover scenario), with a warning line at most
 * once a minute per principal; NOT_FOUND and ERROR drop the token and are never answered with
 * it. A bound on entries evicts the least recently used idle ones. The resolver follows the
 * directory's change notifications (mbx_dir_set_change_cb, chaining the callback registered
 * before it): a change to the principal's entry, to any group of its token or to any object
 * holding one of its SIDs drops the token at once (a walk in flight that read it starts over).
 * What no notification can name is picked up at the TTL: a group the principal was newly
 * added to (the change names that group, which is not in the cached token), like a Windows
 * logon token that keeps its groups until the next logon. mbx_principal_sid_owners is never
 * cached.
 */
#ifndef MBX_PRINCIPAL_H
#define MBX_PRINCIPAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/authz.h"
#include "mbx/directory.h"
#include "mbx/mailbox-table.h"
#include "mbx/sid.h"

struct mbx_principal_config {
	/* Levels of group nesting followed: 1 = the groups the principal is a direct member of,
	 * 2 = also the groups those are members of, ...; 0 = no groups. Usually the directory's
	 * group_depth (struct mbx_dir_config). Whether nesting goes deeper than this is still
	 * found out (one more level of lookups) and reported as depth_exceeded. */
	unsigned group_depth;
	/* More distinct groups than this is an ERROR (a token cut short could miss a deny ACE).
	 * 0: MBX_PRINCIPAL_MAX_GROUPS. */
	size_t max_groups;
	/* Directory lookups in flight at a time, per request. 0: MBX_PRINCIPAL_MAX_INFLIGHT. */
	unsigned max_inflight;
	/* Deferral for answers that need no directory lookup (required). */
	struct mbx_defer defer;
	/* The token cache ([cache] ttl_seconds, stale_max_seconds, max_entries). ttl_ms 0: no
	 * cache, every lookup walks the directory (and nothing is served stale). */
	uint64_t ttl_ms;       /* a token younger than this is answered without asking */
	uint64_t stale_max_ms; /* a token this young is answered (stale) on TEMPFAIL */
	size_t max_entries;    /* bound on cached principals (0: no bound) */
	/* Clock for ages, for tests; NULL = CLOCK_MONOTONIC (milliseconds). */
	mbx_mt_clock_fn *clock;
	void *clock_ctx;
};
#define MBX_PRINCIPAL_MAX_GROUPS 1024
#define MBX_PRINCIPAL_MAX_INFLIGHT 8

/* Who holds one SID. */
struct mbx_principal_owners {
	struct mbx_sid sid;
	/* Answered from the built-in table, without the directory: then dns holds one name,
	 * the table's ("BUILTIN\\Remote Desktop Users") or the SID string for a BUILTIN RID the
	 * table does not name. */
	bool wellknown;
	char **dns; /* DNs of the directory objects whose objectSid it is; 0 = none */
	size_t ndns;
};

/* The principal's token. Owned by whoever got it from the callback: mbx_principal_free. */
struct mbx_principal {
	char *dn;
	bool has_sid; /* objectSid present */
	struct mbx_sid sid;
	/* Distinct SIDs of the groups, nearest first (breadth-first). Groups without an
	 * objectSid (plain LDAP groups) give none but are followed all the same. */
	struct mbx_sid *groups;
	size_t ngroups;
	/* DNs of all groups found (with or without a SID), nearest first. */
	char **group_dns;
	size_t ngroup_dns;
	/* Nesting goes deeper than group_depth: groups past the bound are not in the token. */
	bool depth_exceeded;
	/* For the principal's SID (first, if has_sid) and each group SID, in that order. */
	struct mbx_principal_owners *owners;
	size_t nowners;
	/* The same as mbx_authz_check() wants them (pointing into owners). */
	struct mbx_authz_sid_dns *resolved;
	size_t nresolved;
	/* How this copy was answered: cached = from the resolver's cache, without a directory
	 * lookup for this request; stale = the directory failed (TEMPFAIL) and this is the last
	 * token read, age_ms old (younger than stale_max_ms); age_ms is 0 for a token just read. */
	bool cached;
	bool stale;
	uint64_t age_ms;
};

void mbx_principal_free(struct mbx_principal **p);
/* A deep copy (resolved points into the copy), or NULL when out of memory or p is NULL. */
struct mbx_principal *mbx_principal_dup(const struct mbx_principal *p);
/* Fills *ap_r for mbx_authz_check(); it points into p (and name), which must outlive it. */
void mbx_principal_authz(const struct mbx_principal *p, const char *name,
                         struct mbx_authz_principal *ap_r);

struct mbx_principal_resolver;
struct mbx_principal_req;

/* NULL when out of memory or when d, cfg or cfg->defer.ops is NULL. cfg is copied. With a
 * cache (ttl_ms > 0) the resolver registers for d's change notifications, chaining the callback
 * registered before it; _free restores that one if the resolver's is still the registered
 * callback. As with the mailbox table, objects that chain change callbacks must be freed in
 * the reverse order of their creation (the daemon: resolver, then table). */
struct mbx_principal_resolver *mbx_principal_resolver_new(struct mbx_dir *d,
                                                          const struct mbx_principal_config *cfg);
/* Pending requests are cancelled (no callbacks). Must not be called from a resolver callback.
 * NULL-safe; clears *r. */
void mbx_principal_resolver_free(struct mbx_principal_resolver **r);

/*
 * Called once per request from the event loop. status: FOUND (p is the token, now the
 * callee's: free it with mbx_principal_free; message NULL, or for a stale token (p->stale)
 * why the directory could not be asked), NOT_FOUND (no entry with that DN; p NULL), TEMPFAIL
 * or ERROR (p NULL; message says why: a lookup failed, a group's objectSid does not decode,
 * more than max_groups groups, out of memory).
 */
typedef void mbx_principal_cb(void *ctx, enum mbx_dir_status status, struct mbx_principal *p,
                              const char *message);

/* The token of the entry dn (read first with MBX_DIR_BY_DN), or of an entry the caller already
 * has (copied; nothing of it is kept). Returns a handle valid until the callback has started,
 * or NULL (nothing will be called) when out of memory, an argument is NULL, the entry's
 * objectSid does not decode, or the first lookup could not be started. */
struct mbx_principal_req *mbx_principal_lookup(struct mbx_principal_resolver *r, const char *dn,
                                               mbx_principal_cb *cb, void *ctx);
struct mbx_principal_req *mbx_principal_lookup_entry(struct mbx_principal_resolver *r,
                                                     const struct mbx_dir_entry *e,
                                                     mbx_principal_cb *cb, void *ctx);

/*
 * Who holds one SID. status: FOUND (owners->ndns >= 1; always for a well-known SID), NOT_FOUND
 * (no object: owners->ndns 0), TEMPFAIL or ERROR (owners NULL). owners is valid during the
 * callback only.
 */
typedef void mbx_principal_owners_cb(void *ctx, enum mbx_dir_status status,
                                     const struct mbx_principal_owners *owners,
                                     const char *message);
struct mbx_principal_req *mbx_principal_sid_owners(struct mbx_principal_resolver *r,
                                                   const struct mbx_sid *sid,
                                                   mbx_principal_owners_cb *cb, void *ctx);

/* The callback of req will not run. req must be pending. NULL-safe. A walk that cached
 * lookups share goes on for the others (and, with nobody left, to fill the cache). */
void mbx_principal_cancel(struct mbx_principal_req *req);

/* Forgets the cached token of the principal dn and every token that holds dn as a group or as
 * an owner of one of its SIDs; walks in flight that read dn start over. For local
 * modifications; directory changes arrive by themselves through the change callback. */
void mbx_principal_resolver_invalidate(struct mbx_principal_resolver *r, const char *dn);
/* Forgets every cached token (walks in flight start over). */
void mbx_principal_resolver_clear(struct mbx_principal_resolver *r);

/* Counters, for /metrics and mbxctl. */
struct mbx_principal_resolver_stats {
	uint64_t hits;          /* answered from a fresh cached token */
	uint64_t misses;        /* cached lookups that needed a walk (coalesced ones included) */
	uint64_t coalesced;     /* misses that joined a walk already in flight */
	uint64_t fetches;       /* token walks started (a restarted one counts again) */
	uint64_t lookups;       /* directory lookups issued */
	uint64_t stale_served;  /* requests answered with a stale token */
	uint64_t tempfail;      /* cached walks that ended in TEMPFAIL */
	uint64_t errors;        /* cached walks that ended in ERROR or could not start */
	uint64_t evictions;     /* entries dropped for the size bound */
	uint64_t invalidations; /* entries invalidated (change notification or local) */
	size_t entries;         /* principals held now */
	size_t inflight;        /* cached walks in flight now */
};
void mbx_principal_resolver_stats(const struct mbx_principal_resolver *r,
                                  struct mbx_principal_resolver_stats *st_r);

#endif
