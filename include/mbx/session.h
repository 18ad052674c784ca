/*
 * session.h: the store side of one MAPI session context (design.md "One request, end to end"):
 * its logons, its server objects (the Logon objects and the folders opened on them), and the
 * execution of one Execute RopBuffer with resolve-then-execute. No libevent and no HTTP here
 * (src/store never includes event2/): the MAPI/HTTP front end (src/mapihttp) owns the context
 * cookies and calls this; asynchronous work goes through the logon pipeline, whose callbacks come
 * from the event loop.
 *
 * One Execute:
 *   1. mbx_rhe_read() every extended buffer of the RopBuffer (un-XOR, LZ77), mbx_ropbuf_decode()
 *   2. resolve: every RopLogon request of the list is decoded and started through the logon
 *      pipeline (mailbox table + principal + authorization + decision), all concurrently
 *   3. execute: mbx_ropbuf_execute() with the store ROP handlers, synchronously, against the
 *      decisions of step 2 and the session's objects
 *   4. mbx_rhe_write() the response payload (compressed/XORed as the request's Flags allow,
 *      within MaxRopOut)
 * The answer comes through the callback, exactly once, from the event loop (never re-entrantly).
 *
 * Decisions of src/store/session.c and session-exec.c (their opening comments have the
 * reasons):
 *   - the request RopBuffer must be exactly one extended buffer with Last (we never advertise
 *     packing); more buffers, trailing bytes, a bad header, LZ77 stream or ROP buffer layout
 *     (RopSize, handle table), a reserved or response-only RopId: error_code ecRpcFormat, and
 *     a log line naming the offset and the reader's message (escaped);
 *   - more ROPs than max_rops: ecRpcFormat ("refused as malformed", as the configuration says);
 *   - MaxRopOut < 8 + 2: ecBufferTooSmall; otherwise the response payload is limited to
 *     min(MaxRopOut - 8, 32 KB) and a list that does not fit is cut with RopBufferTooSmall
 *     (ecBufferTooSmall only when not even that fits, MS-OXCROPS 3.2.4.3);
 *   - the response is one extended buffer with Last, compressed when Flags allow it and it
 *     shrinks, XORed when the request was XORed and Flags allow it; Chain is not used;
 *   - a malformed ROP inside the list gets an ecRpcFormat failure response and ends the list
 *     (the Execute itself succeeds); a ROP the store does not implement gets ecNotSupported;
 *   - handles are a per-session counter from 1, never reused, never 0xFFFFFFFF; a ROP whose
 *     input slot holds no object of its LogonId gets ecNullObject; releasing a Logon object
 *     releases the folders opened under it; a RopLogon that reuses an active LogonId replaces
 *     the old logon when it succeeds; past max_objects a new object is ecMAPIOOM.
 */
#ifndef MBX_SESSION_H
#define MBX_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/logon-pipeline.h"
#include "mbx/principal.h"
#include "mbx/types.h"

struct mbx_session;
struct mbx_session_exec;

/* Who owns the session context: set once at Connect from the authenticated principal. */
struct mbx_session_config {
	struct mbx_logon_pipeline *pipeline;  /* required, shared by all sessions; not owned */
	const struct mbx_server_identity *id; /* required; outlives the session */
	struct mbx_defer defer;               /* required: for answers that need no lookup */
	const char *principal_dn;             /* the authenticated account's DN (copied) */
	const char *principal_legacy_dn;      /* its legacyExchangeDN (copied), may be NULL */
	const char *principal_name;           /* for logs: "alice@contoso.com" (copied) */
	/* The principal's token if already resolved (copied), else NULL: then each RopLogon
	 * resolves it through the pipeline by DN. */
	const struct mbx_principal *token;
	unsigned max_rops;    /* ROPs per Execute, 0 = no bound */
	unsigned max_objects; /* server objects per session (handles), 0 = 4096 */
	/* Added (optional): the clock of RopLogon's LogonTime and GwartTime, UTC seconds; NULL =
	 * time(NULL). For tests that assert whole responses. */
	time_t (*clock)(void *clock_ctx);
	void *clock_ctx;
};

/* NULL on allocation failure or a missing required field. */
struct mbx_session *mbx_session_new(const struct mbx_session_config *cfg);
/* Cancels a pending Execute (no callback) and frees every object. NULL-safe, clears *s. */
void mbx_session_free(struct mbx_session **s);

/* True if the session holds a logon on the mailbox with this legacyExchangeDN (case-insensitive):
 * the front end destroys such contexts when the mailbox enters transit (MS-OXMVMBX 3.1.1). */
bool mbx_session_has_logon_on(const struct mbx_session *s, const char *legacy_dn);
/* Number of open logons (for `mbxctl sessions`); fills up to max legacyExchangeDNs (valid until
 * the next Execute or free; "" for a public folders logon). legacy_dns may be NULL. */
size_t mbx_session_logons(const struct mbx_session *s, const char **legacy_dns, size_t max);

/* The Execute request's fields (MAPI/HTTP Execute, protocol.md 5.6). */
struct mbx_session_exec_req {
	uint32_t flags; /* 0x1 NoCompression, 0x2 NoXorMagic, 0x4 Chain */
	/* One or more extended buffers; must stay valid until the callback. */
	const uint8_t *rop_buffer;
	size_t rop_buffer_len;
	uint32_t max_rop_out; /* MaxRopOut: the response RopBuffer's limit */
};

struct mbx_session_exec_result {
	/* Execute-level result: 0 = the response RopBuffer below is valid; else the ErrorCode of
	 * the Execute response (ecRpcFormat for a malformed RopBuffer, ecBufferTooSmall when not
	 * even RopBufferTooSmall fits, ...) and rop_out_len is 0. */
	uint32_t error_code;
	const char *why;        /* for the log line when error_code != 0 (static or in buf) */
	const uint8_t *rop_out; /* the response RopBuffer (extended buffers); valid in callback */
	size_t rop_out_len;
	unsigned nrops;        /* ROPs processed */
	unsigned nlogons;      /* RopLogons answered (for metrics: see logon_ecs) */
	uint32_t logon_ecs[8]; /* the first 8 RopLogon ReturnValues, for metrics */
};

typedef void mbx_session_exec_cb(void *ctx, const struct mbx_session_exec_result *res);

/* Starts one Execute. Only one may be pending per session (the front end enforces one
 * outstanding request per context; a second call returns NULL). NULL also on allocation
 * failure. The callback runs exactly once unless cancelled, always from the loop; the returned
 * handle is gone once the callback has started (do not cancel it then). The callback may start
 * the next Execute or free the session. mbx_session_exec_cancel: NULL-safe. */
struct mbx_session_exec *mbx_session_execute(struct mbx_session *s,
                                             const struct mbx_session_exec_req *req,
                                             mbx_session_exec_cb *cb, void *ctx);
void mbx_session_exec_cancel(struct mbx_session_exec *e);

#endif
