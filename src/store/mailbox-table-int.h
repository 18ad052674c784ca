/*
 * mailbox-table-int.h: what the two files of the mailbox-state table share (private to
 * src/store; design.md "The mailbox-state table and the logon decision"). The contract is in
 * include/mbx/mailbox-table.h.
 *
 *   mailbox-table.c        the API, entries, their indexes, LRU, TTL and serve-stale,
 *                          invalidation, waiters and deliveries
 *   mailbox-table-fetch.c  the asynchronous lookup chain user -> database -> server
 *                          (protocol.md 8.2) that fills an entry, restarted on invalidation
 */
#ifndef MBX_MAILBOX_TABLE_INT_H
#define MBX_MAILBOX_TABLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/mailbox-table.h"

/* --- intrusive circular lists ------------------------------------------------------------- */

struct mt_list {
	struct mt_list *prev, *next;
};

static inline void mt_list_init(struct mt_list *l)
{
	l->prev = l->next = l;
}
static inline bool mt_list_empty(const struct mt_list *l)
{
	return l->next == l;
}

static inline void mt_list_unlink(struct mt_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void mt_list_push_back(struct mt_list *l, struct mt_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void mt_list_push_front(struct mt_list *l, struct mt_list *n)
{
	n->next = l->next;
	n->prev = l;
	l->next->prev = n;
	l->next = n;
}

/* Moves all of src to the end of dst; src ends empty. */
static inline void mt_list_splice(struct mt_list *dst, struct mt_list *src)
{
	if (mt_list_empty(src))
		return;
	src->next->prev = dst->prev;
	dst->prev->next = src->next;
	src->prev->next = dst;
	dst->prev = src->prev;
	mt_list_init(src);
}

#define MT_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- types -------------------------------------------------------------------------------- */

enum mt_kind {
	MT_KIND_LEGACY,
	MT_KIND_SMTP,
};

/* A snapshot shared by the entry and the deliveries in progress. */
struct mt_snap {
	unsigned refs;
	struct mbx_mailbox *mbx;
	uint64_t time_ms; /* when it was fetched, on the table's clock */
};

/* What a snapshot was built from, for invalidation: index keys are 'D' + normalised DN or
 * 'L' + lower-cased legacyExchangeDN. */
enum { MT_REF_USER, MT_REF_DATABASE, MT_REF_SERVER, MT_REF_LEGACY, MT_NREFS };

struct mt_entry;

struct mt_ref {
	struct mt_ref *next; /* hash chain */
	struct mt_entry *e;
	uint64_t hash;
	char *key; /* NULL: slot unused */
};

struct mt_fetch;

struct mt_entry {
	struct mt_entry *next; /* hash chain */
	uint64_t hash;
	enum mt_kind kind;
	char *key;              /* lower-cased */
	struct mt_list lru;     /* in t->lru, most recent first */
	struct mt_list neg;     /* in t->negatives while negative */
	struct mt_list waiters; /* waiters of the fetch in flight */
	size_t pins;            /* waiters pointing at this entry (fetch waiters and queued ones) */
	struct mt_fetch *fetch;
	struct mt_snap *snap;
	bool negative;
	uint64_t neg_time_ms;
	struct mt_ref refs[MT_NREFS];
};

enum mt_step {
	MT_STEP_USER,
	MT_STEP_DATABASE,
	MT_STEP_SERVER,
};

struct mt_fetch {
	struct mt_list link; /* in t->fetches */
	struct mbx_mailbox_table *t;
	struct mt_entry *e;
	struct mbx_dir_req *req;
	enum mt_step step;
	struct mbx_dir_entry *user, *database;
};

enum mt_wait_state {
	MT_WAIT_QUEUED, /* in t->ready: answered from the cache (or a fetch) at the next flush */
	MT_WAIT_FETCH,  /* in e->waiters */
	MT_WAIT_FAILED, /* in t->ready with a fixed answer: the lookup could not be started */
	MT_WAIT_BATCH,  /* in a delivery batch on the stack */
};

struct mbx_mt_wait {
	struct mt_list link;
	struct mbx_mailbox_table *t;
	struct mt_entry *e; /* pinned while not NULL */
	enum mt_wait_state state;
	mbx_mt_cb *cb;
	void *ctx;
};

struct mbx_mailbox_table {
	struct mbx_dir *dir;
	struct mbx_mailbox_table_config cfg;
	mbx_dir_change_cb *prev_change_cb; /* chained */
	void *prev_change_ctx;
	void *defer; /* handle from cfg.defer.ops->create */

	struct mt_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t nentries;
	struct mt_ref **rbuckets;
	size_t nrbuckets;
	size_t nrefs;

	struct mt_list lru;
	struct mt_list negatives;
	struct mt_list ready;
	struct mt_list fetches;
	size_t ninflight;

	struct mbx_mailbox_table_stats st;
};

/* --- mailbox-table.c ---------------------------------------------------------------------- */

extern const char mt_msg_nostart[];

/* Milliseconds on the table's clock; the wall-clock time that goes with now_ms; now - then,
 * or 0 if the clock went back. */
uint64_t mt_now(const struct mbx_mailbox_table *t);
time_t mt_wall(const struct mbx_mailbox_table *t, uint64_t now_ms);
uint64_t mt_age(uint64_t now, uint64_t then);

/* Snapshot references: ref is NULL-safe and returns s; unref frees on the last one and
 * clears *sp. */
struct mt_snap *mt_snap_ref(struct mt_snap *s);
void mt_snap_unref(struct mt_snap **sp);

/* Indexes e under the DNs and the legacyExchangeDN of its snapshot. */
void mt_index_snapshot(struct mbx_mailbox_table *t, struct mt_entry *e);

/* Sets (stamped now) or clears e's negative mark. */
void mt_entry_set_negative(struct mbx_mailbox_table *t, struct mt_entry *e, bool on, uint64_t now);
/* Drops what the entry knows (snapshot, negative mark, index references). */
void mt_entry_forget(struct mbx_mailbox_table *t, struct mt_entry *e);
/* An idle entry that knows nothing is removed. */
void mt_entry_gc(struct mbx_mailbox_table *t, struct mt_entry *e);
/* Evicts idle entries, least recently used first, down to the bound. */
void mt_evict(struct mbx_mailbox_table *t);
/* Makes e the most recently used entry. */
void mt_touch(struct mbx_mailbox_table *t, struct mt_entry *e);

/* Runs the deferred flush of t->ready from the loop, soon. */
void mt_schedule(struct mbx_mailbox_table *t);
void mt_unpin(struct mbx_mt_wait *w);
/* Calls back and frees w (already unlinked and unpinned). */
void mt_call(struct mbx_mt_wait *w, enum mbx_dir_status status, const struct mt_snap *s, bool stale,
             bool cached, uint64_t now, const char *message);

/* --- mailbox-table-fetch.c ---------------------------------------------------------------- */

/* A new fetch for e, or NULL when it could not be started. */
struct mt_fetch *mt_fetch_start(struct mbx_mailbox_table *t, struct mt_entry *e);
/* Restarts the chain at the user entry after f's entry was invalidated; if the lookup cannot be
 * started, the fetch ends and its waiters get ERROR from the next flush (never called back
 * from inside this call). */
void mt_fetch_restart(struct mt_fetch *f);
/* Cancels the lookup in flight and frees f; its entry has no fetch any more. */
void mt_fetch_free(struct mt_fetch *f);

#endif
