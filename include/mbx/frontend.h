/*
 * frontend.h: the MAPI over HTTP front end (src/mapihttp: the only code that knows HTTP),
 * seen from the daemon. The daemon (src/daemon) owns the event loop, the configuration, the
 * listening sockets and TLS; it builds the shared store objects and hands them here. The front
 * end serves POST /mapi/emsmdb/ (Connect, Execute, Disconnect, PING, NotificationWait), owns
 * the session contexts (MapiContext/MapiSequence cookies) and authenticates requests (HTTP Basic
 * checked against the directory).
 *
 * Answers ([MS-OXCMAPIHTTP] 2.2.2.2: HTTP 200 for every non-exceptional failure, with the
 * X-ResponseCode of 2.2.3.3.3 and a one-line text body): no or wrong credentials get 401 with
 * WWW-Authenticate: Basic realm="mbxstore" (and X-ResponseCode 8, so a MAPI client sees why);
 * a clear-text request from a non-loopback peer gets 200 + 8 (Anonymous Not Allowed: no
 * credentials are accepted there, so no challenge is offered); a directory that cannot answer
 * gets 503 + 1 (never 401: seed 004). The order of the checks is in src/mapihttp/mh-server.c.
 */
#ifndef MBX_FRONTEND_H
#define MBX_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct mbx_httpd;
struct mbx_config;
struct mbx_dir;
struct mbx_mailbox_table;
struct mbx_principal_resolver;
struct mbx_logon_pipeline;
struct mbx_server_identity;
struct mbx_metrics;
struct mbx_autodiscover;

struct mbx_frontend_deps {
	struct event_base *base;
	const struct mbx_config *cfg; /* limits, server application string, ... */
	struct mbx_dir *dir;          /* password checks, principal lookups */
	struct mbx_mailbox_table *table;
	struct mbx_principal_resolver *resolver;
	struct mbx_logon_pipeline *pipeline;
	const struct mbx_server_identity *id;
	struct mbx_metrics *metrics; /* may be NULL */
	/* Added (optional): the clock handed to every session (struct mbx_session_config:
	 * RopLogon's LogonTime), UTC seconds; NULL = time(NULL). For tests that assert whole
	 * responses. */
	time_t (*session_clock)(void *clock_ctx);
	void *session_clock_ctx;
	/* Optional: POST /autodiscover/autodiscover.xml (any case) is served by it after HTTP
	 * Basic authentication (include/mbx/autodiscover.h); NULL: that path gets 404. */
	struct mbx_autodiscover *autodiscover;
};

struct mbx_frontend;

/* Creates the front end; NULL with a message in err on failure (base, cfg, dir, pipeline and id
 * are required; table and resolver may be NULL: then a Connect's UserDn must be the user's own
 * legacyExchangeDN, and RopLogon resolves the principal by DN). cfg is read here and by
 * mbx_frontend_reconfigure only: what is needed is copied. */
struct mbx_frontend *mbx_frontend_new(const struct mbx_frontend_deps *deps, char *err,
                                      size_t errsize);
/* Registers the front end as the request handler of an HTTP server the daemon created and bound
 * (include/mbx/httpd.h; one per listener: TLS or plain loopback). `tls` says whether requests
 * on it arrive over TLS (Basic auth is refused in clear text except from a loopback peer:
 * X-ResponseCode 8). Returns 0 or -1. What it sets on h:
 *   - the request handler (mbx_httpd_set_cb): every method reaches it, so that a wrong one gets
 *     X-ResponseCode 2; /mapi/emsmdb/ and /mapi/emsmdb in any case, with or without a query,
 *     are served; other paths under /mapi/ get HTTP 200 + X-ResponseCode 3, paths elsewhere
 *     404 + X-ResponseCode 3; /autodiscover/autodiscover.xml when deps.autodiscover is set;
 *   - the body limit: max_body_bytes + 64 KiB, so that a body a little too large gets
 *     X-ResponseCode 9 (beyond that the server answers 413 without reading it).
 * The front end owns the close callback of the requests it holds (mbx_http_req_set_closecb). */
int mbx_frontend_attach(struct mbx_frontend *fe, struct mbx_httpd *h, bool tls);
/* Applies a reloaded configuration (limits, X-ServerApplication; nothing that would drop
 * sessions) and forgets the cached logons (a reload may come with changed passwords). */
void mbx_frontend_reconfigure(struct mbx_frontend *fe, const struct mbx_config *cfg);
/* Destroys every session context that holds a logon on this mailbox: the next request on such a
 * context gets X-ResponseCode 10 (Context Not Found). Returns how many were destroyed. */
unsigned mbx_frontend_drop_mailbox(struct mbx_frontend *fe, const char *legacy_dn);
/* Whether some session context holds a logon on this mailbox (legacyExchangeDN,
 * case-insensitive). */
bool mbx_frontend_holds_mailbox(const struct mbx_frontend *fe, const char *legacy_dn);
/* Session contexts now (for metrics and `mbxctl sessions`). */
size_t mbx_frontend_sessions(const struct mbx_frontend *fe);

/* One session context, for `mbxctl sessions`. Valid during the callback only. */
#define MBX_FRONTEND_LIST_LOGONS 16
struct mbx_frontend_session_info {
	const char *owner_dn;   /* the principal's entry DN */
	const char *owner_name; /* the login name ("" if unknown) */
	const char *mailboxes[MBX_FRONTEND_LIST_LOGONS]; /* legacyExchangeDNs logged on ("" for
	                                                  * public folders) */
	size_t nmailboxes;       /* entries of mailboxes[] filled */
	size_t nlogons;          /* logons in all (may exceed MBX_FRONTEND_LIST_LOGONS) */
	uint64_t age_ms;         /* since the Connect */
	uint64_t idle_ms;        /* since the last request ended (0 while one runs) */
	uint64_t requests;       /* requests served on it */
	bool busy;               /* an Execute runs now */
	bool waiting;            /* a NotificationWait is held */
};
typedef void mbx_frontend_session_fn(void *ctx, const struct mbx_frontend_session_info *s);
/* Calls fn for every session context, oldest first. */
void mbx_frontend_list(struct mbx_frontend *fe, mbx_frontend_session_fn *fn, void *ctx);
/* Starts draining: new Connects get X-ResponseCode 18 (Endpoint Shutting Down); held
 * NotificationWait requests are answered at once. */
void mbx_frontend_drain(struct mbx_frontend *fe);
/* Answers every request still held (X-ResponseCode 18) and frees everything. The attached
 * servers may be freed before or after (freeing a server detaches the requests the front end
 * holds; their answers then only free them), but the loop must not run between the two: the
 * request handler is not unregistered. NULL-safe; clears *fe. */
void mbx_frontend_free(struct mbx_frontend **fe);

#endif
