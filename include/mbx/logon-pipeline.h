/*
 * logon-pipeline.h: the asynchronous "resolve" step of one RopLogon (design.md "One request,
 * end to end" and "The mailbox-state table and the logon decision"). It ties together what
 * the other store modules do:
 *
 *   Essdn --mbx_mailbox_table_get--> snapshot --mbx_mailbox_classify--> state
 *   principal DN / entry --mbx_principal_lookup--> token       (or the session's token as is)
 *   state, token --mbx_authz_check--> authorization            (only for a mailbox hosted here)
 *   everything --mbx_logon_decide--> struct mbx_logon_decision --> events logged, callback
 *
 * The mailbox and the principal are fetched at the same time. As soon as the mailbox's state
 * makes the principal irrelevant (any state but "normal": in transit, wrong server, unknown,
 * directory down, ...), the principal lookup is cancelled and the answer given. Requests that
 * the decision answers from the request alone (a public-folder logon, a private logon without
 * USE_PER_MDB_REPLID_MAPPING) look nothing up.
 *
 * Failures keep seed 004: a directory that is down is never "unknown user". A mailbox the
 * table cannot fetch (TEMPFAIL, no snapshot young enough) is ecNetworkError; a stale snapshot
 * (TEMPFAIL with the last good one) is decided on as if fresh. For a mailbox hosted here the
 * principal's token is needed: when it cannot be had, TEMPFAIL is ecNetworkError and ERROR
 * (a group SID that does not decode, too many groups) is ecLoginFailure + event 1022; a
 * principal with no directory object (deleted since the session was made) has no SID and no
 * groups, so authorization denies it (ecProfileNotConfigured or ecAccessDenied + event 1022).
 *
 * Callbacks come from the event loop, never from inside mbx_logon_pipeline_start(). No event2/
 * here: the deferral comes in through struct mbx_defer (include/mbx/defer-event.h has the
 * libevent one).
 */
#ifndef MBX_LOGON_PIPELINE_H
#define MBX_LOGON_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "mbx/authz.h"
#include "mbx/directory.h"
#include "mbx/mailbox-table.h"
#include "mbx/mailbox.h"
#include "mbx/oxcstor.h"
#include "mbx/principal.h"

struct mbx_logon_pipeline_config {
	struct mbx_mailbox_table *table; /* required */
	/* Required unless every request brings a resolved token (who->token). */
	struct mbx_principal_resolver *resolver;
	const struct mbx_server_identity *id; /* required; must outlive the pipeline */
	/* ecServerPaused limiter (shared by all requests); NULL: no limit. Not owned. */
	struct mbx_logon_limiter *limiter;
	struct mbx_defer defer; /* required: for answers that need no lookup */
	/* Milliseconds for the limiter; NULL: CLOCK_MONOTONIC. */
	mbx_mt_clock_fn *clock;
	void *clock_ctx;
};

/*
 * The authenticated principal. name is for the logs and the limiter ("alice@contoso.com");
 * may be NULL. Exactly one of token, entry and dn is used, in that order of preference:
 *   token: already resolved (the daemon resolves it once per session, at Connect); borrowed:
 *          it must stay valid until the callback has run or the request is cancelled;
 *   entry: the principal's directory entry (copied): its groups and SID owners are resolved;
 *   dn:    its DN (copied): the entry is read first.
 * All three NULL: an unknown principal (no SID, no groups: never authorized).
 */
struct mbx_logon_pipeline_who {
	const char *name;
	const struct mbx_principal *token;
	const struct mbx_dir_entry *entry;
	const char *dn;
};

/* What came back. Pointers are valid during the callback only. */
struct mbx_logon_pipeline_result {
	/* The answer: ec, response layout, events (already logged), redirect server. For a
	 * directory failure (state DIR_ERROR or DIR_UNREACHABLE), decision.detail says which
	 * lookup failed and why ("principal lookup: ...", escaped), in the event line too. */
	struct mbx_logon_decision decision;
	/* The mailbox lookup: whether it was made (false for answers from the request alone),
	 * the table's status, and the snapshot (NULL when none). */
	bool mailbox_looked_up;
	enum mbx_dir_status mailbox_status;
	const struct mbx_mailbox *mbx;
	bool stale;      /* mbx is the last good snapshot, served while the directory fails */
	bool cached;     /* answered from the table's cache */
	uint64_t age_ms; /* of mbx */
	/* The state decided on: the classification of the snapshot, or DIR_UNREACHABLE /
	 * DIR_ERROR when the principal's token was needed and could not be had. Meaningless when
	 * mailbox_looked_up is false. */
	enum mbx_mailbox_state state;
	const char *state_why; /* static: which rule decided */
	/* The principal: whether its token was needed (state normal), its status (FOUND for a
	 * given token) and the token (NULL unless FOUND). */
	bool principal_needed;
	enum mbx_dir_status principal_status;
	const struct mbx_principal *principal;
	/* mbx_authz_check's result, when it ran (principal_needed and a token or NOT_FOUND). */
	bool has_authz;
	struct mbx_authz authz;
	/* Why the lookup that decided failed (TEMPFAIL / ERROR): the principal's when its failure
	 * set the state, else the mailbox's (also for a stale answer); from the directory, not
	 * log-safe. NULL when nothing failed. */
	const char *message;
};

/* Called exactly once per request (unless cancelled), from the event loop. The callback may
 * start and cancel requests, but must not free the pipeline. */
typedef void mbx_logon_pipeline_cb(void *ctx, const struct mbx_logon_pipeline_result *res);

struct mbx_logon_pipeline;
struct mbx_logon_pipeline_req;

/* NULL when out of memory or when cfg, table, id or defer.ops is missing. cfg is copied. */
struct mbx_logon_pipeline *mbx_logon_pipeline_new(const struct mbx_logon_pipeline_config *cfg);
/* Pending requests are cancelled (no callbacks). Must not be called from a pipeline callback.
 * NULL-safe; clears *p. The table, resolver and limiter are not freed. */
void mbx_logon_pipeline_free(struct mbx_logon_pipeline **p);

/*
 * Resolves and decides one RopLogon: req is the decoded request (copied, its Essdn too), who
 * the authenticated principal (see above). Returns a handle valid until cb has started or the
 * request is cancelled, or NULL (nothing will be called) when out of memory or an argument is
 * NULL. A lookup that cannot even be started is answered like a directory ERROR, from the
 * loop. The event lines of the decision are written (mbx_logon_decision_log) just before cb is
 * called; a trace line goes to the "store" category.
 */
struct mbx_logon_pipeline_req *mbx_logon_pipeline_start(struct mbx_logon_pipeline *p,
                                                        const struct mbx_logon_req *req,
                                                        const struct mbx_logon_pipeline_who *who,
                                                        mbx_logon_pipeline_cb *cb, void *ctx);
/* The callback of r will not run. r must be pending. NULL-safe. */
void mbx_logon_pipeline_cancel(struct mbx_logon_pipeline_req *r);

/* Requests pending now (for tests and metrics). */
size_t mbx_logon_pipeline_pending(const struct mbx_logon_pipeline *p);

#endif
