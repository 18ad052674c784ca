/*
 * mh-frontend-int.h: what the files of the MAPI/HTTP front end share, and what their unit
 * tests reach ([MS-OXCMAPIHTTP] 3.2.1 abstract data model, 3.2.5 server processing):
 *
 *   mh-contexts.c  session contexts: the MapiContext / MapiSequence cookies (example 4.2,
 *                  protocol.md 5.3), one outstanding request per context, idle expiry, bounds
 *                  on contexts per user and in all, ownership. Prefixes mbx_mh_ctx_, mbx_mh_ctxs_.
 *   mh-auth.c      HTTP Basic authentication (RFC 7617) against the directory, with a short-lived
 *                  positive cache. Prefixes mbx_mh_auth_, mbx_mh_authn_.
 *   mh-request.c   one request on the HTTP server (include/mbx/httpd.h): its life, the
 *                  response headers and cookies, the X-ResponseCode failure answers, the PROCESSING/PENDING/DONE envelope.
 *                  Prefix mbx_mh_request_.
 *   mh-emsmdb.c    the request types: Connect / Execute / Disconnect / PING / NotificationWait,
 *                  and the requests held on a session context. Prefix mbx_mh_emsmdb_.
 *   mh-server.c    the HTTP glue: routing, authentication, header checks, dispatch to
 *                  mh-emsmdb.c. The public side is include/mbx/frontend.h.
 *
 * Private to src/mapihttp (and tests/unit/test-mh-*.c, test-mapihttp-server.c).
 */
#ifndef MBX_MH_FRONTEND_INT_H
#define MBX_MH_FRONTEND_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbx/directory.h"
#include "mbx/frontend.h"
#include "mbx/mailbox-table.h"
#include "mbx/mapihttp.h"

struct event;
struct event_base;
struct mbx_http_req;
struct mbx_principal;
struct mbx_principal_req;
struct mbx_session;
struct mbx_session_exec;
struct mbx_ad_req;

/* ---- session contexts (mh-contexts.c) ----------------------------------------------------- */

/* Random bytes behind a cookie value; the value is their unpadded base64url form (A-Z a-z 0-9
 * '-' '_', a subset of what mbx_mh_cookie_value_check accepts). */
#define MBX_MH_CTX_COOKIE_BYTES 32u /* MapiContext: 43 characters, 256 bits */
#define MBX_MH_CTX_SEQ_BYTES 16u    /* MapiSequence: 22 characters */
#define MBX_MH_CTX_COOKIE_LEN 43u
#define MBX_MH_CTX_SEQ_LEN 22u

/* Writes nbytes random bytes (OpenSSL RAND_bytes) as unpadded base64url into out, which must
 * hold (4 * nbytes + 2) / 3 + 1 bytes. Returns 0, or -1 if the generator failed or out is too
 * small (then out is ""). */
int mbx_mh_ctx_random_value(char *out, size_t size, size_t nbytes);

/* Why a context went away (for the callback and the log line). */
enum mbx_mh_ctx_gone {
	MBX_MH_CTX_GONE_IDLE,       /* unused for the idle time */
	MBX_MH_CTX_GONE_DISCONNECT, /* the client's Disconnect */
	MBX_MH_CTX_GONE_DROPPED,    /* its mailbox entered transit (mbx_frontend_drop_mailbox) */
	MBX_MH_CTX_GONE_SHUTDOWN,   /* the front end is freed */
};
const char *mbx_mh_ctx_gone_name(enum mbx_mh_ctx_gone why); /* "idle", "disconnect", ... */

struct mbx_mh_ctxs;
struct mbx_mh_owner;

/* One session context. The fields above the line may be read by the server; the table owns
 * the rest. */
struct mbx_mh_ctx {
	char cookie[MBX_MH_CTX_COOKIE_LEN + 1]; /* MapiContext value */
	char sequence[MBX_MH_CTX_SEQ_LEN + 1];  /* the MapiSequence value the next request needs */
	const char *owner_dn;                   /* the principal it belongs to (its entry's DN) */
	const char *owner_name;                 /* for logs: the login name */
	struct mbx_session *session;            /* owned: freed with the context */
	void *busy;         /* the request that holds the sequence (an Execute), or NULL */
	void *waiter;       /* the held NotificationWait, or NULL */
	uint64_t nrequests; /* requests served on it, for logs */
	uint64_t created_ms;   /* CLOCK_MONOTONIC, at its creation (mbxctl sessions) */
	uint64_t last_ms;      /* CLOCK_MONOTONIC, when it last became idle */
	/* ---- private ---- */
	struct mbx_mh_ctxs *tab;
	struct mbx_mh_owner *owner;
	struct event *idle_ev;
	struct mbx_mh_ctx *hnext;       /* hash chain */
	struct mbx_mh_ctx *prev, *next; /* all contexts */
};

/*
 * Called when a context is destroyed, before its session is freed: the server finishes the
 * requests it holds (ctx->busy, ctx->waiter) and forgets the pointer. Must not destroy other
 * contexts or free the table.
 */
typedef void mbx_mh_ctx_gone_fn(void *arg, struct mbx_mh_ctx *ctx, enum mbx_mh_ctx_gone why);

struct mbx_mh_ctxs_config {
	struct event_base *base; /* required: idle timers */
	unsigned max_contexts;   /* in all; 0 = no bound */
	unsigned max_per_user;   /* per owner DN (case-insensitive); 0 = no bound */
	uint64_t idle_ms; /* a context with no request in progress dies after this; 0 = never */
	mbx_mh_ctx_gone_fn *gone; /* may be NULL */
	void *gone_arg;
};

/* NULL when out of memory or base is NULL. */
struct mbx_mh_ctxs *mbx_mh_ctxs_new(const struct mbx_mh_ctxs_config *cfg);
/* Destroys every context (gone: SHUTDOWN). NULL-safe; clears *t. */
void mbx_mh_ctxs_free(struct mbx_mh_ctxs **t);
/* New bounds and idle time. Contexts past a lowered bound stay; idle timers running keep their
 * old deadline until the context's next request. */
void mbx_mh_ctxs_reconfigure(struct mbx_mh_ctxs *t, unsigned max_contexts, unsigned max_per_user,
                             uint64_t idle_ms);
size_t mbx_mh_ctxs_count(const struct mbx_mh_ctxs *t);
/* Contexts owned by this DN (case-insensitive). */
size_t mbx_mh_ctxs_owner_count(const struct mbx_mh_ctxs *t, const char *owner_dn);

#define MBX_MH_CTX_OK 0
#define MBX_MH_CTX_FULL (-1)      /* max_contexts reached */
#define MBX_MH_CTX_USER_FULL (-2) /* max_per_user reached for this owner */
#define MBX_MH_CTX_ERROR (-3)     /* out of memory or no random bytes */

/* Whether one more context for this owner fits: MBX_MH_CTX_OK, _FULL or _USER_FULL. */
int mbx_mh_ctxs_room(const struct mbx_mh_ctxs *t, const char *owner_dn);
/* Creates a context with fresh cookie and sequence values, owned by owner_dn (copied; name may
 * be NULL), holding session (taken over on success, left to the caller on failure; may be
 * NULL). Its idle timer starts. Returns MBX_MH_CTX_OK with *ctx_r, or one of the errors. */
int mbx_mh_ctx_create(struct mbx_mh_ctxs *t, const char *owner_dn, const char *owner_name,
                      struct mbx_session *session, struct mbx_mh_ctx **ctx_r);
/* The context with this MapiContext value (exact, len bytes), or NULL. */
struct mbx_mh_ctx *mbx_mh_ctx_lookup(const struct mbx_mh_ctxs *t, const char *cookie, size_t len);

/* What a request type needs of the cookies. */
enum mbx_mh_ctx_need {
	MBX_MH_CTX_NEED_NONE,    /* PING: a context cookie is optional; checked when present */
	MBX_MH_CTX_NEED_CONTEXT, /* NotificationWait: MapiContext; MapiSequence ignored */
	MBX_MH_CTX_NEED_CONTEXT_SEQ_IF_SENT, /* Disconnect: MapiContext; MapiSequence if sent */
	MBX_MH_CTX_NEED_SEQUENCE,            /* Execute: both */
};

/*
 * Finds the context of a request from the values of its Cookie headers (cookies[0..n): the
 * spec's example sends each cookie in a header of its own, browsers join them in one) and
 * checks it, in this order:
 *   a Cookie header that is malformed or names a cookie twice -> 6 Invalid Context Cookie
 *   MapiContext missing (unless need is NONE)                 -> 13 Missing Cookie
 *   a value outside the cookie character set or too long      -> 6
 *   no such context (never issued, expired, dropped, gone)     -> 10 Context Not Found
 *   owned by another principal than principal_dn              -> 11 No Privilege
 *   MapiSequence missing (need SEQUENCE)                       -> 13
 *   MapiSequence malformed                                     -> 6
 *   MapiSequence not the last one issued (SEQUENCE; or sent,
 *   need CONTEXT_SEQ_IF_SENT)                                  -> 15 Invalid Sequence
 * Returns the X-ResponseCode: 0 with *ctx_r (NULL for NONE without a context cookie), or the
 * code with a static sentence in *why_r. Does not test whether the context is busy.
 */
uint32_t mbx_mh_ctx_find(const struct mbx_mh_ctxs *t, const char *const *cookies, size_t n,
                         const char *principal_dn, enum mbx_mh_ctx_need need,
                         struct mbx_mh_ctx **ctx_r, const char **why_r);

/* An Execute takes the context: only one at a time (-1: busy, X-ResponseCode 15). On success
 * ctx->busy = req, a new sequence value is issued (ctx->sequence: the response's Set-Cookie),
 * and the idle timer stops. Returns 0, -1 (busy) or -2 (no random bytes). */
int mbx_mh_ctx_claim(struct mbx_mh_ctx *ctx, void *req);
/* The Execute is over: ctx->busy cleared; the idle timer restarts if nothing else is held. */
void mbx_mh_ctx_release(struct mbx_mh_ctx *ctx, void *req);
/* A NotificationWait is held on the context (one at a time: -1 when another is). Returns 0. */
int mbx_mh_ctx_wait(struct mbx_mh_ctx *ctx, void *req);
void mbx_mh_ctx_unwait(struct mbx_mh_ctx *ctx, void *req);
/* A request used the context without holding it (PING): restarts the idle timer. */
void mbx_mh_ctx_touch(struct mbx_mh_ctx *ctx);
/* Destroys the context: the gone callback, then its session is freed. Clears *ctx. */
void mbx_mh_ctx_destroy(struct mbx_mh_ctx **ctx, enum mbx_mh_ctx_gone why);
/* Calls fn for every context, oldest first (fn must not create or destroy contexts). */
void mbx_mh_ctxs_foreach(const struct mbx_mh_ctxs *t,
                         void (*fn)(void *arg, const struct mbx_mh_ctx *ctx), void *arg);
/* CLOCK_MONOTONIC in milliseconds (the contexts' clock). */
uint64_t mbx_mh_ctx_now_ms(void);
/* Destroys every context whose session holds a logon on this mailbox (mbx_session_has_logon_on).
 * Returns how many. */
unsigned mbx_mh_ctxs_drop_mailbox(struct mbx_mh_ctxs *t, const char *legacy_dn);

/* ---- HTTP Basic authentication (mh-auth.c) ------------------------------------------------ */

#define MBX_MH_AUTH_USER_MAX 256u    /* bytes of a user name */
#define MBX_MH_AUTH_PASS_MAX 256u    /* bytes of a password */
#define MBX_MH_AUTH_HEADER_MAX 1024u /* characters of an Authorization value we look at */

#define MBX_MH_AUTH_BASIC 0 /* Basic credentials parsed */
#define MBX_MH_AUTH_NONE 1  /* no header, or another scheme (Negotiate, NTLM): challenge */
#define MBX_MH_AUTH_BAD 2   /* Basic, but malformed: challenge and log why */

/*
 * Parses an Authorization header value (NULL = absent): scheme "Basic" (any case), one or more
 * blanks, then standard base64 with padding (RFC 4648 section 4, nothing else, at most
 * MBX_MH_AUTH_HEADER_MAX characters), decoding to "user:password" split at the first colon.
 * The user name must be 1..MBX_MH_AUTH_USER_MAX bytes without control characters; the password
 * 1..MBX_MH_AUTH_PASS_MAX bytes without NUL (an empty password is refused: against LDAP it
 * would be an unauthenticated bind). user and pass get NUL-terminated copies (their sizes must
 * be at least MAX + 1; on any other outcome they are ""). Returns one of the three values;
 * *why_r (may be NULL) says what was wrong for BAD.
 */
int mbx_mh_auth_parse_basic(const char *header, char *user, size_t usize, char *pass, size_t psize,
                            const char **why_r);

/*
 * How a user name is looked up: a legacyExchangeDN (it starts with '/') by
 * MBX_DIR_BY_LEGACYDN; "DOMAIN\\name" (down-level logon name) by MBX_DIR_BY_LOGIN on the part
 * after the backslash (the domain is not checked: two accounts of that name in different
 * domains make the lookup ambiguous, which is refused); anything else (a UPN or a
 * sAMAccountName) by MBX_DIR_BY_LOGIN as given. *key_r points into user.
 */
enum mbx_dir_key mbx_mh_auth_login_key(const char *user, const char **key_r);

/* The authenticated principal as the front end keeps it. */
struct mbx_mh_principal {
	char *dn;           /* its directory entry */
	char *legacy_dn;    /* legacyExchangeDN, or NULL */
	char *name;         /* userPrincipalName, else the name it logged on with */
	char *display_name; /* displayName, or NULL */
};
/* Copies (all strings duplicated). NULL when out of memory. */
struct mbx_mh_principal *mbx_mh_principal_dup(const struct mbx_mh_principal *p);
void mbx_mh_principal_free(struct mbx_mh_principal **p);

/* The positive cache: SHA-256(salt, user, NUL, password) -> principal, for ttl_ms. The salt
 * is random per cache, so the keys say nothing outside this process. */
struct mbx_mh_auth_cache;
#define MBX_MH_AUTH_KEY_LEN 32u
struct mbx_mh_auth_cache *mbx_mh_auth_cache_new(uint64_t ttl_ms, size_t max_entries);
void mbx_mh_auth_cache_free(struct mbx_mh_auth_cache **c);
/* Returns 0, or -1 if the digest failed. */
int mbx_mh_auth_cache_key(const struct mbx_mh_auth_cache *c, const char *user, const char *pass,
                          uint8_t key_r[MBX_MH_AUTH_KEY_LEN]);
/* The principal cached under key, if younger than the TTL at now_ms (expired entries are
 * dropped); NULL otherwise. Valid until the next insert or clear. */
const struct mbx_mh_principal *mbx_mh_auth_cache_lookup(struct mbx_mh_auth_cache *c,
                                                        const uint8_t key[MBX_MH_AUTH_KEY_LEN],
                                                        uint64_t now_ms);
/* Inserts (a copy of p) or refreshes; when full, the oldest entry goes. Returns 0 or -1. */
int mbx_mh_auth_cache_insert(struct mbx_mh_auth_cache *c, const uint8_t key[MBX_MH_AUTH_KEY_LEN],
                             const struct mbx_mh_principal *p, uint64_t now_ms);
size_t mbx_mh_auth_cache_count(const struct mbx_mh_auth_cache *c);
void mbx_mh_auth_cache_clear(struct mbx_mh_auth_cache *c);

/* The authenticator: cache, then directory (lookup of the name, mbx_dir_check_password). */
struct mbx_mh_authn_config {
	struct mbx_dir *dir;    /* required */
	uint64_t ttl_ms;        /* cache lifetime; 0 = MBX_MH_AUTHN_TTL_MS */
	size_t max_entries;     /* 0 = MBX_MH_AUTHN_MAX_ENTRIES */
	mbx_mt_clock_fn *clock; /* milliseconds; NULL = CLOCK_MONOTONIC */
	void *clock_ctx;
};
#define MBX_MH_AUTHN_TTL_MS 60000u
#define MBX_MH_AUTHN_MAX_ENTRIES 4096u

enum mbx_mh_authn_status {
	MBX_MH_AUTHN_OK,       /* p is the principal */
	MBX_MH_AUTHN_DENIED,   /* no such user, ambiguous name, wrong password: 401 */
	MBX_MH_AUTHN_TEMPFAIL, /* the directory cannot answer now: never turned into DENIED */
	MBX_MH_AUTHN_ERROR,    /* out of memory, a bad entry */
};
const char *mbx_mh_authn_status_name(enum mbx_mh_authn_status st);

/* From the event loop, once per started check (unless cancelled). p is valid during the
 * callback only; why is a log-safe sentence (NULL for OK). */
typedef void mbx_mh_authn_cb(void *ctx, enum mbx_mh_authn_status st,
                             const struct mbx_mh_principal *p, const char *why);

struct mbx_mh_authn;
struct mbx_mh_authn_req;

struct mbx_mh_authn *mbx_mh_authn_new(const struct mbx_mh_authn_config *cfg);
/* Pending checks are cancelled (no callbacks). NULL-safe; clears *a. */
void mbx_mh_authn_free(struct mbx_mh_authn **a);
/*
 * Checks user / pass (from mbx_mh_auth_parse_basic). Returns 1 when the cache answers: *p_r is
 * the principal (valid until the next call into a), no callback; 0 when a directory check
 * started: *req_r is its handle, cb comes later from the loop; -1 when none could be started
 * (out of memory, or the directory refused the request: treat as TEMPFAIL).
 */
int mbx_mh_authn_check(struct mbx_mh_authn *a, const char *user, const char *pass,
                       mbx_mh_authn_cb *cb, void *ctx, struct mbx_mh_authn_req **req_r,
                       const struct mbx_mh_principal **p_r);
/* The callback of req will not run. NULL-safe. */
void mbx_mh_authn_cancel(struct mbx_mh_authn_req *req);
/* Forgets every cached answer. */
void mbx_mh_authn_flush(struct mbx_mh_authn *a);
/* Cached answers, for tests and metrics. */
size_t mbx_mh_authn_cached(const struct mbx_mh_authn *a);

/* ---- one request and its answer (mh-request.c) ------------------------------------------- */

/* The request headers the front end reads, found in one pass over them (the first of each
 * name; every Cookie header). Point into the HTTP request: valid while r->http is. */
#define MH_MAX_COOKIE_HEADERS 8u
struct mh_hdrs {
	const char *request_type, *request_id, *client_info, *client_app, *content_type;
	const char *authorization;
	const char *cookies[MH_MAX_COOKIE_HEADERS];
	size_t ncookies;
	bool too_many_cookies;
};

/* A request in progress, on struct mbx_frontend's list from its arrival until its answer. */
struct mh_req {
	struct mbx_frontend *fe;
	struct mh_req *prev, *next;
	struct mbx_http_req *http; /* NULL once answered (the server freed it) */
	bool tls;
	enum mbx_mh_reqtype type;
	bool type_ok; /* type is a mailbox request type: echoed, counted under its name */
	char rid[MBX_MH_REQUESTID_MAX + 1];    /* "" when missing or malformed */
	char cinfo[MBX_MH_CLIENTINFO_MAX + 1]; /* "" when missing or malformed */
	char peer[64];
	uint64_t t0_us;
	time_t start;
	const uint8_t *body;
	size_t body_len;
	struct mh_hdrs h;
	struct mbx_mh_principal *who;
	struct mbx_mh_authn_req *auth;
	/* chunked answer */
	bool started; /* the answer is chunked: failures from now on go in its DONE block */
	bool sent;    /* its headers and PROCESSING went out (mbx_http_reply_start) */
	struct event *pending_ev;
	struct event *deadline_ev;
	/* the session context */
	struct mbx_mh_ctx *ctx;
	bool holds_busy, holds_wait;
	struct mbx_session_exec *exec;
	/* Connect */
	char *user_dn;
	struct mbx_principal_req *preq;
	struct mbx_principal *token;
	struct mbx_mt_wait *mtw;
	/* Autodiscover */
	bool autodiscover;
	struct mbx_ad_req *adreq;
	/* Set with adreq by mh-autodiscover.c (mbx_autodiscover_cancel): mh-request.c cancels a
	 * pending Autodiscover request through it when the request is freed early. */
	void (*adcancel)(struct mbx_ad_req *adreq);
};

/* A request of fe on http, put on fe's list, its start time taken and its connection watched.
 * NULL when out of memory. */
struct mh_req *mbx_mh_request_new(struct mbx_frontend *fe, struct mbx_http_req *http, bool tls);
/* s escaped for a log line ("-" for NULL), in buf. */
const char *mbx_mh_request_esc(const char *s, char *buf, size_t size);
/* A Set-Cookie header with value, resp. one that expires the cookie. */
void mbx_mh_request_set_cookie(struct mh_req *r, const char *name, const char *value);
void mbx_mh_request_expire_cookie(struct mh_req *r, const char *name);
/* Each of the following answers the request and frees r (also when the client is gone). */
/* A transport-level failure: HTTP status (200, or 401 with WWW-Authenticate, 503 with
 * Retry-After, 404, 500), X-ResponseCode rc, a one-line text body (why, or the code's text);
 * once a chunked answer started, its DONE block with rc. */
void mbx_mh_request_fail_status(struct mh_req *r, int status, uint32_t rc, const char *why);
/* The same with HTTP 200. */
void mbx_mh_request_fail(struct mh_req *r, uint32_t rc, const char *why);
/* A success in one piece: PROCESSING, DONE block, body (example 4.1). */
void mbx_mh_request_reply_ok(struct mh_req *r, const uint8_t *body, size_t len);
/* Ends a chunked answer: the DONE block with rc, then body (binary) or, for a failure, the
 * diagnostic line. */
void mbx_mh_request_done_chunked(struct mh_req *r, uint32_t rc, const uint8_t *body, size_t len,
                                 const char *why);
/* The client went away while its request was held: cancels the work. */
void mbx_mh_request_abandon(struct mh_req *r);
/* Starts the chunked answer: headers (X-ResponseCode 0: failures from now on are in the DONE
 * block) and PROCESSING, then PENDING every X-PendingPeriod. The headers and PROCESSING wait
 * up to 50 ms for the result, so that an answer ready by then leaves whole (the same bytes).
 * Returns 0, or -1 with r freed. */
int mbx_mh_request_start_chunked(struct mh_req *r);

/* ---- the request types of /mapi/emsmdb/ (mh-emsmdb.c) ------------------------------------ */

/* Each runs one request whose headers passed (r->who is the principal; cookies[0..ncookies) the
 * values of its Cookie headers) and answers it through mh-request.c, now or later; r is freed
 * then. Connect needs no cookies. */
void mbx_mh_emsmdb_connect(struct mh_req *r);
void mbx_mh_emsmdb_execute(struct mh_req *r, const char *const *cookies, size_t ncookies);
void mbx_mh_emsmdb_disconnect(struct mh_req *r, const char *const *cookies, size_t ncookies);
void mbx_mh_emsmdb_ping(struct mh_req *r, const char *const *cookies, size_t ncookies);
void mbx_mh_emsmdb_nwait(struct mh_req *r, const char *const *cookies, size_t ncookies);
/* Answers a held NotificationWait now with EventPending event_pending; frees r. */
void mbx_mh_emsmdb_nwait_finish(struct mh_req *r, uint32_t event_pending);
/* The contexts' gone callback (mbx_mh_ctx_gone_fn): finishes the requests held on ctx. */
void mbx_mh_emsmdb_ctx_gone(void *arg, struct mbx_mh_ctx *ctx, enum mbx_mh_ctx_gone why);

/* ---- Autodiscover (mh-autodiscover.c) ------------------------------------------------------ */

/* Serves POST /autodiscover/autodiscover.xml once the method, the body size and HTTP Basic
 * authentication passed (r->who is the principal, r->body/body_len the body): hands the request
 * to fe->deps.autodiscover (mbx_autodiscover_serve) and answers with its HTTP status and XML
 * (Content-Type: text/xml; charset=utf-8), no MAPI/HTTP envelope; frees r. A client that goes
 * away meanwhile: mh-request.c cancels it through r->adcancel(r->adreq), so set both when
 * the request starts and clear r->adreq in the callback. */
void mbx_mh_autodiscover(struct mh_req *r);
/* Answers r with a plain HTTP response: status, content type and body (no X-ResponseCode);
 * frees r. */
void mbx_mh_request_reply_plain(struct mh_req *r, int status, const char *content_type,
                                const char *body, size_t len);

/* ---- the front end (mh-server.c) ---------------------------------------------------------- */

struct mh_listener;

struct mbx_frontend {
	struct mbx_frontend_deps deps;
	/* Copies of what the configuration says (it may be freed after a reload). */
	struct {
		unsigned max_body_bytes;
		unsigned max_rops_per_execute;
		unsigned max_contexts;
		unsigned max_contexts_per_user;
		unsigned context_idle_seconds;
		unsigned pending_period_ms;
		unsigned notification_wait_seconds;
	} lim;
	char server_app[128];
	struct mbx_mh_ctxs *ctxs;
	struct mbx_mh_authn *authn;
	struct mbx_defer defer;
	struct mh_listener *listeners;
	struct mh_req *reqs; /* requests in progress */
	bool draining;
};

#endif
