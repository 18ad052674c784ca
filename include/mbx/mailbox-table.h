/*
 * mailbox-table.h: the mailbox-state table (design.md "The mailbox-state table and the logon
 * decision"): an asynchronous cache between the callers that name a mailbox (RopLogon's Essdn,
 * Autodiscover's LegacyDN or EMailAddress) and the directory. For each mailbox it keeps the
 * snapshot of directory facts built by mbx_mailbox_from_entries() (include/mbx/mailbox.h) from
 * the lookup chain of protocol.md 8.2: user (by legacyExchangeDN or SMTP address) -> homeMDB
 * (database DN) -> the database's msExchOwningServer (server DN).
 *
 * What it does:
 *   - keys: legacyExchangeDN, case-insensitive; SMTP addresses (Autodiscover) are a second key
 *     space whose entries hold their own snapshots of the same objects and are invalidated with
 *     them (by the user's DN and legacyExchangeDN);
 *   - coalescing: all waiters for one key share one fetch;
 *   - TTL for snapshots, negative entries (NOT_FOUND cached for negative_ttl_ms);
 *   - serve-stale while the directory is unreachable: when a refresh gets TEMPFAIL and the
 *     last snapshot is younger than stale_max_ms, it is delivered with stale = true and status
 *     TEMPFAIL; with nothing usable TEMPFAIL alone is delivered (ecNetworkError upstream, never
 *     NOT_FOUND: seed 004). ERROR (the object exists but cannot be trusted) is never answered
 *     with an older snapshot: the snapshot is dropped;
 *   - a size bound with LRU eviction that never evicts an entry with a fetch in flight or a
 *     waiter queued on it (the bound may be exceeded while every entry is busy);
 *   - invalidation at once: the table follows the directory's change notifications
 *     (mbx_dir_set_change_cb; an earlier callback is kept and chained) and invalidates every
 *     entry whose user, database or server DN, or whose legacyExchangeDN, the change names;
 *     local modifications call mbx_mailbox_table_invalidate().
 *
 * Callbacks are always called from the event loop, never from inside a table call: answers
 * from the cache go through a zero-delay deferral (struct mbx_defer) that the daemon and the
 * tests implement with libevent, so that src/store never includes event2/.
 */
#ifndef MBX_MAILBOX_TABLE_H
#define MBX_MAILBOX_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbx/directory.h"
#include "mbx/mailbox.h"

/* --- deferral ---------------------------------------------------------------------------- */

/*
 * A callback on the caller's event loop after the current callback has returned. With
 * libevent: create = event_new(base, -1, 0, trampoline, ...), schedule = event_active(ev,
 * EV_TIMEOUT, 1) (a no-op while already active), destroy = event_free (tests/unit/fake-dir.h
 * has a ready-made one).
 */
typedef void mbx_defer_fn(void *arg);
struct mbx_defer_ops {
	/* A handle that runs fn(arg) from the loop each time it is scheduled; NULL on failure. */
	void *(*create)(void *loop, mbx_defer_fn *fn, void *arg);
	/* Runs fn(arg) once, from the loop, soon; scheduling again before it ran is a no-op. */
	void (*schedule)(void *handle);
	/* Frees the handle; a scheduled run is cancelled. */
	void (*destroy)(void *handle);
};
struct mbx_defer {
	const struct mbx_defer_ops *ops;
	void *loop; /* passed to create (the event_base) */
};

/* --- the table --------------------------------------------------------------------------- */

/* Milliseconds on a monotonic clock. */
typedef uint64_t mbx_mt_clock_fn(void *ctx);

struct mbx_mailbox_table_config {
	uint64_t ttl_ms;          /* a snapshot younger than this is served without asking */
	uint64_t negative_ttl_ms; /* NOT_FOUND is remembered this long (0: not at all) */
	uint64_t stale_max_ms;    /* a snapshot this young is served when the directory fails */
	size_t max_entries;       /* bound on cached keys (0: no bound) */
	struct mbx_defer defer;   /* required */
	/* Clock for ages, for tests; NULL = CLOCK_MONOTONIC. With NULL a snapshot's fetched time
	 * is time(NULL); with a clock it is the clock's value / 1000. */
	mbx_mt_clock_fn *clock;
	void *clock_ctx;
};

struct mbx_mailbox_table;
struct mbx_mt_wait;

struct mbx_mt_result {
	/* The outcome of the latest directory lookup for the key; FOUND from the cache too. */
	enum mbx_dir_status status;
	/* FOUND: the snapshot (never NULL). TEMPFAIL: the last good snapshot when it is younger
	 * than stale_max_ms (stale = true), else NULL. NOT_FOUND, ERROR: NULL. It belongs to the
	 * table and is valid during the callback only: keep a copy with mbx_mailbox_dup(). */
	const struct mbx_mailbox *mbx;
	bool stale;
	bool cached;         /* answered from the cache, without a lookup for this waiter */
	uint64_t age_ms;     /* of mbx (0 when mbx is NULL) */
	const char *message; /* TEMPFAIL / ERROR: why (log-unsafe: directory text); else NULL */
};

/* Called exactly once per waiter (unless cancelled), from the event loop. */
typedef void mbx_mt_cb(void *ctx, const struct mbx_mt_result *res);

/* Creates the table and registers it for dir's change notifications (chaining the callback
 * that was registered before, which is restored by _free). Returns NULL when out of memory or
 * when dir, cfg or cfg->defer.ops is NULL. cfg is copied. */
struct mbx_mailbox_table *mbx_mailbox_table_new(struct mbx_dir *dir,
                                                const struct mbx_mailbox_table_config *cfg);
/* Frees the table: pending waiters are dropped without callbacks, fetches cancelled. Must not
 * be called from a table callback. NULL-safe; clears *t. */
void mbx_mailbox_table_free(struct mbx_mailbox_table **t);

/* The mailbox whose legacyExchangeDN is legacy_dn (case-insensitive). Returns a handle valid
 * until cb has run or the waiter is cancelled, or NULL (nothing will be called) when out of
 * memory or an argument is NULL or empty. cb never runs before this returns. */
struct mbx_mt_wait *mbx_mailbox_table_get(struct mbx_mailbox_table *t, const char *legacy_dn,
                                          mbx_mt_cb *cb, void *ctx);
/* The same by SMTP address (mail or any proxyAddresses smtp: value; case-insensitive). */
struct mbx_mt_wait *mbx_mailbox_table_get_smtp(struct mbx_mailbox_table *t, const char *addr,
                                               mbx_mt_cb *cb, void *ctx);
/* The callback of w will not run. w must be pending (not yet called back). NULL-safe. */
void mbx_mailbox_table_cancel(struct mbx_mt_wait *w);

/* Forgets what the table knows about the mailbox with this legacyExchangeDN (its entry and
 * every SMTP entry for the same object). A fetch in flight for it is restarted, so that its
 * waiters get an answer read after the change. For local modifications (moves). */
void mbx_mailbox_table_invalidate(struct mbx_mailbox_table *t, const char *legacy_dn);
/* The same for every entry that used the directory object dn (user, database or server). */
void mbx_mailbox_table_invalidate_dn(struct mbx_mailbox_table *t, const char *dn);
/* Forgets everything (a directory reload); fetches in flight are restarted. */
void mbx_mailbox_table_clear(struct mbx_mailbox_table *t);

/* Counters, for /metrics and mbxctl. */
struct mbx_mailbox_table_stats {
	uint64_t hits;          /* answered from a fresh snapshot */
	uint64_t negative_hits; /* answered from a negative entry */
	uint64_t misses;        /* waiters that needed a fetch (coalesced ones included) */
	uint64_t coalesced;     /* misses that joined a fetch already in flight */
	uint64_t fetches;       /* fetches started (a restarted fetch counts again) */
	uint64_t lookups;       /* directory lookups issued (up to 3 per fetch) */
	uint64_t stale_served;  /* waiters answered with a stale snapshot */
	uint64_t tempfail;      /* fetches that ended in TEMPFAIL */
	uint64_t errors;        /* fetches that ended in ERROR */
	uint64_t evictions;     /* entries dropped for the size bound */
	uint64_t invalidations; /* entries invalidated (change notification or local) */
	size_t entries;         /* keys held now */
	size_t inflight;        /* fetches in flight now */
};
void mbx_mailbox_table_stats(const struct mbx_mailbox_table *t,
                             struct mbx_mailbox_table_stats *st_r);

#endif
