/*
 * mh-contexts.c: the session contexts of the MAPI/HTTP mailbox endpoint ([MS-OXCMAPIHTTP]
 * 3.2.1 "Session Context", 3.2.5.1 cookies, example 4.2; protocol.md 5.3).
 *
 * A context is created by Connect and named by two cookies: MapiContext (fixed for its life,
 * 256 random bits) and MapiSequence (re-issued after every Execute: the request must bring the
 * last one issued, so a context serves one Execute at a time and replays are refused). Both
 * values come from OpenSSL's RAND_bytes, written as unpadded base64url, a subset of the
 * characters mbx_mh_cookie_value_check accepts.
 *
 * Rules kept here: one Execute at a time and one held NotificationWait at a time per context
 * (X-ResponseCode 15), a context belongs to the principal that created it (11 for anyone else),
 * a bound on contexts in all and per owner, and idle expiry: a context with no request in
 * progress dies after idle_ms (one libevent timer each, re-armed when its last request ends).
 * Also mbx_frontend_drop_mailbox / mbx_frontend_sessions / mbx_frontend_list of
 * include/mbx/frontend.h.
 */
#include "mapihttp/mh-frontend-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "mbx/log.h"
#include "mbx/session.h"

struct mbx_mh_owner {
	char *dn;
	char *name;
	size_t nctx;
	struct mbx_mh_owner *hnext;
};

struct mbx_mh_ctxs {
	struct event_base *base;
	unsigned max_contexts;
	unsigned max_per_user;
	uint64_t idle_ms;
	mbx_mh_ctx_gone_fn *gone;
	void *gone_arg;

	struct mbx_mh_ctx **buckets;    /* by cookie */
	size_t nbuckets;                /* power of two */
	struct mbx_mh_owner **obuckets; /* by owner DN, case-insensitive */
	size_t nobuckets;
	size_t count;
	size_t nowners;
	struct mbx_mh_ctx *all; /* list of every context */
};

const char *mbx_mh_ctx_gone_name(enum mbx_mh_ctx_gone why)
{
	switch (why) {
	case MBX_MH_CTX_GONE_IDLE:
		return "idle";
	case MBX_MH_CTX_GONE_DISCONNECT:
		return "disconnect";
	case MBX_MH_CTX_GONE_DROPPED:
		return "mailbox dropped";
	case MBX_MH_CTX_GONE_SHUTDOWN:
		return "shutdown";
	}
	return "unknown";
}

/* ---- cookie values ------------------------------------------------------------------------ */

/*
 * Random bytes from a pool refilled 1 KB at a time: one RAND_bytes call costs ~6,000
 * instructions and a getpid(2) (OpenSSL's fork check) whatever its size, and every Execute draws
 * a new sequence cookie. Bytes are cleansed as they are handed out, so the pool never holds
 * bytes that were already used; per thread, since the DRBG's fork safety does not cover a pool
 * inherited across fork(), which the daemon does not do after start-up (-f or daemon(3) first).
 */
static _Thread_local struct {
	uint8_t b[1024];
	size_t left; /* unused bytes, at the end of b */
} ctx_pool;

static int ctx_random_bytes(uint8_t *out, size_t n)
{
	if (n > sizeof(ctx_pool.b))
		return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
	if (ctx_pool.left < n) {
		if (RAND_bytes(ctx_pool.b, (int)sizeof(ctx_pool.b)) != 1) {
			OPENSSL_cleanse(ctx_pool.b, sizeof(ctx_pool.b));
			ctx_pool.left = 0;
			return -1;
		}
		ctx_pool.left = sizeof(ctx_pool.b);
	}
	memcpy(out, ctx_pool.b + sizeof(ctx_pool.b) - ctx_pool.left, n);
	OPENSSL_cleanse(ctx_pool.b + sizeof(ctx_pool.b) - ctx_pool.left, n);
	ctx_pool.left -= n;
	return 0;
}

int mbx_mh_ctx_random_value(char *out, size_t size, size_t nbytes)
{
	static const char b64url[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[64];
	size_t need = (4 * nbytes + 2) / 3 + 1, k = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (size > 0)
		out[0] = '\0';
	if (nbytes == 0 || nbytes > sizeof(raw) || size < need)
		return -1;
	if (ctx_random_bytes(raw, nbytes) != 0)
		return -1;
	for (size_t i = 0; i < nbytes; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[k++] = b64url[(acc >> bits) & 0x3F];
		}
	}
	if (bits > 0)
		out[k++] = b64url[(acc << (6 - bits)) & 0x3F];
	out[k] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* ---- hashing ------------------------------------------------------------------------------ */

static uint64_t ctx_hash(const char *s, size_t len, bool nocase)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (nocase && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int ctxs_grow(struct mbx_mh_ctxs *t)
{
	size_t n = t->nbuckets * 2;
	struct mbx_mh_ctx **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct mbx_mh_ctx *c = t->buckets[i], *next;

		for (; c != NULL; c = next) {
			size_t b = ctx_hash(c->cookie, strlen(c->cookie), false) & (n - 1);

			next = c->hnext;
			c->hnext = nb[b];
			nb[b] = c;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
	return 0;
}

static int owners_grow(struct mbx_mh_ctxs *t)
{
	size_t n = t->nobuckets * 2;
	struct mbx_mh_owner **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (size_t i = 0; i < t->nobuckets; i++) {
		struct mbx_mh_owner *o = t->obuckets[i], *next;

		for (; o != NULL; o = next) {
			size_t b = ctx_hash(o->dn, strlen(o->dn), true) & (n - 1);

			next = o->hnext;
			o->hnext = nb[b];
			nb[b] = o;
		}
	}
	free(t->obuckets);
	t->obuckets = nb;
	t->nobuckets = n;
	return 0;
}

static struct mbx_mh_owner *owner_find(const struct mbx_mh_ctxs *t, const char *dn)
{
	size_t b = ctx_hash(dn, strlen(dn), true) & (t->nobuckets - 1);

	for (struct mbx_mh_owner *o = t->obuckets[b]; o != NULL; o = o->hnext)
		if (strcasecmp(o->dn, dn) == 0)
			return o;
	return NULL;
}

static struct mbx_mh_owner *owner_get(struct mbx_mh_ctxs *t, const char *dn, const char *name)
{
	struct mbx_mh_owner *o = owner_find(t, dn);
	size_t b;

	if (o != NULL)
		return o;
	if (t->nowners >= t->nobuckets && owners_grow(t) < 0)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->dn = strdup(dn);
	o->name = strdup(name != NULL ? name : dn);
	if (o->dn == NULL || o->name == NULL) {
		free(o->dn);
		free(o->name);
		free(o);
		return NULL;
	}
	b = ctx_hash(dn, strlen(dn), true) & (t->nobuckets - 1);
	o->hnext = t->obuckets[b];
	t->obuckets[b] = o;
	t->nowners++;
	return o;
}

static void owner_put(struct mbx_mh_ctxs *t, struct mbx_mh_owner *o)
{
	size_t b;

	if (--o->nctx > 0)
		return;
	b = ctx_hash(o->dn, strlen(o->dn), true) & (t->nobuckets - 1);
	for (struct mbx_mh_owner **pp = &t->obuckets[b]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == o) {
			*pp = o->hnext;
			break;
		}
	}
	t->nowners--;
	free(o->dn);
	free(o->name);
	free(o);
}

/* ---- the table ---------------------------------------------------------------------------- */

struct mbx_mh_ctxs *mbx_mh_ctxs_new(const struct mbx_mh_ctxs_config *cfg)
{
	struct mbx_mh_ctxs *t;

	if (cfg == NULL || cfg->base == NULL)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->base = cfg->base;
	t->max_contexts = cfg->max_contexts;
	t->max_per_user = cfg->max_per_user;
	t->idle_ms = cfg->idle_ms;
	t->gone = cfg->gone;
	t->gone_arg = cfg->gone_arg;
	t->nbuckets = 64;
	t->nobuckets = 64;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->obuckets = calloc(t->nobuckets, sizeof(*t->obuckets));
	if (t->buckets == NULL || t->obuckets == NULL) {
		free(t->buckets);
		free(t->obuckets);
		free(t);
		return NULL;
	}
	return t;
}

void mbx_mh_ctxs_free(struct mbx_mh_ctxs **tp)
{
	struct mbx_mh_ctxs *t = tp != NULL ? *tp : NULL;

	if (t == NULL)
		return;
	while (t->all != NULL) {
		struct mbx_mh_ctx *c = t->all;

		mbx_mh_ctx_destroy(&c, MBX_MH_CTX_GONE_SHUTDOWN);
	}
	free(t->buckets);
	free(t->obuckets);
	free(t);
	*tp = NULL;
}

void mbx_mh_ctxs_reconfigure(struct mbx_mh_ctxs *t, unsigned max_contexts, unsigned max_per_user,
                             uint64_t idle_ms)
{
	t->max_contexts = max_contexts;
	t->max_per_user = max_per_user;
	t->idle_ms = idle_ms;
}

size_t mbx_mh_ctxs_count(const struct mbx_mh_ctxs *t)
{
	return t != NULL ? t->count : 0;
}

size_t mbx_mh_ctxs_owner_count(const struct mbx_mh_ctxs *t, const char *owner_dn)
{
	const struct mbx_mh_owner *o;

	if (t == NULL || owner_dn == NULL)
		return 0;
	o = owner_find(t, owner_dn);
	return o != NULL ? o->nctx : 0;
}

int mbx_mh_ctxs_room(const struct mbx_mh_ctxs *t, const char *owner_dn)
{
	if (t->max_contexts != 0 && t->count >= t->max_contexts)
		return MBX_MH_CTX_FULL;
	if (t->max_per_user != 0 && mbx_mh_ctxs_owner_count(t, owner_dn) >= t->max_per_user)
		return MBX_MH_CTX_USER_FULL;
	return MBX_MH_CTX_OK;
}

static void ctx_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mbx_mh_ctx *c = arg;

	(void)fd;
	(void)what;
	mbx_mh_ctx_destroy(&c, MBX_MH_CTX_GONE_IDLE);
}

/* Arms the idle timer when nothing is in progress on the context. */
static void ctx_idle_arm(struct mbx_mh_ctx *c)
{
	struct timeval tv;

	if (c->busy != NULL || c->waiter != NULL || c->tab->idle_ms == 0)
		return;
	tv.tv_sec = (time_t)(c->tab->idle_ms / 1000);
	tv.tv_usec = (suseconds_t)(c->tab->idle_ms % 1000) * 1000;
	evtimer_add(c->idle_ev, &tv);
}

int mbx_mh_ctx_create(struct mbx_mh_ctxs *t, const char *owner_dn, const char *owner_name,
                      struct mbx_session *session, struct mbx_mh_ctx **ctx_r)
{
	struct mbx_mh_ctx *c;
	int room;
	size_t b;

	*ctx_r = NULL;
	if (owner_dn == NULL)
		return MBX_MH_CTX_ERROR;
	room = mbx_mh_ctxs_room(t, owner_dn);
	if (room != MBX_MH_CTX_OK)
		return room;
	if (t->count >= t->nbuckets && ctxs_grow(t) < 0)
		return MBX_MH_CTX_ERROR;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return MBX_MH_CTX_ERROR;
	c->tab = t;
	/* A collision of 256 random bits is not going to happen; a failing generator is. */
	if (mbx_mh_ctx_random_value(c->cookie, sizeof(c->cookie), MBX_MH_CTX_COOKIE_BYTES) < 0 ||
	    mbx_mh_ctx_random_value(c->sequence, sizeof(c->sequence), MBX_MH_CTX_SEQ_BYTES) < 0 ||
	    mbx_mh_ctx_lookup(t, c->cookie, strlen(c->cookie)) != NULL) {
		free(c);
		return MBX_MH_CTX_ERROR;
	}
	c->idle_ev = evtimer_new(t->base, ctx_idle_cb, c);
	if (c->idle_ev == NULL) {
		free(c);
		return MBX_MH_CTX_ERROR;
	}
	c->owner = owner_get(t, owner_dn, owner_name);
	if (c->owner == NULL) {
		event_free(c->idle_ev);
		free(c);
		return MBX_MH_CTX_ERROR;
	}
	c->owner->nctx++;
	c->owner_dn = c->owner->dn;
	c->owner_name = c->owner->name;
	c->session = session;
	c->created_ms = mbx_mh_ctx_now_ms();
	c->last_ms = c->created_ms;
	b = ctx_hash(c->cookie, strlen(c->cookie), false) & (t->nbuckets - 1);
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	c->next = t->all;
	if (t->all != NULL)
		t->all->prev = c;
	t->all = c;
	t->count++;
	ctx_idle_arm(c);
	*ctx_r = c;
	return MBX_MH_CTX_OK;
}

struct mbx_mh_ctx *mbx_mh_ctx_lookup(const struct mbx_mh_ctxs *t, const char *cookie, size_t len)
{
	size_t b;

	if (t == NULL || cookie == NULL || len != MBX_MH_CTX_COOKIE_LEN)
		return NULL;
	b = ctx_hash(cookie, len, false) & (t->nbuckets - 1);
	for (struct mbx_mh_ctx *c = t->buckets[b]; c != NULL; c = c->hnext)
		if (CRYPTO_memcmp(c->cookie, cookie, len) == 0)
			return c;
	return NULL;
}

/* Looks for cookie `name` in every Cookie header: 1 found (once), 0 absent, -1 malformed or
 * named twice. */
static int ctx_cookie(const char *const *cookies, size_t n, const char *name, const char **val_r,
                      size_t *len_r, const char **why_r)
{
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		const char *v;
		size_t len;
		int rc;

		if (cookies[i] == NULL)
			continue;
		rc = mbx_mh_cookie_find(cookies[i], name, &v, &len, why_r);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		if (found) {
			*why_r = "a session cookie is sent twice";
			return -1;
		}
		found = 1;
		*val_r = v;
		*len_r = len;
	}
	return found;
}

uint32_t mbx_mh_ctx_find(const struct mbx_mh_ctxs *t, const char *const *cookies, size_t n,
                         const char *principal_dn, enum mbx_mh_ctx_need need,
                         struct mbx_mh_ctx **ctx_r, const char **why_r)
{
	const char *cv = NULL, *sv = NULL, *why = NULL;
	size_t clen = 0, slen = 0;
	struct mbx_mh_ctx *c;
	int rc;

	*ctx_r = NULL;
	*why_r = NULL;
	rc = ctx_cookie(cookies, n, MBX_MH_COOKIE_CONTEXT, &cv, &clen, &why);
	if (rc < 0) {
		*why_r = why != NULL ? why : "the Cookie header is malformed";
		return MBX_MH_RC_INVALID_CONTEXT_COOKIE;
	}
	if (rc == 0) {
		if (need == MBX_MH_CTX_NEED_NONE)
			return MBX_MH_RC_SUCCESS;
		*why_r = "the MapiContext cookie is missing";
		return MBX_MH_RC_MISSING_COOKIE;
	}
	if (mbx_mh_cookie_value_check(cv, clen, &why) < 0) {
		*why_r = "the MapiContext cookie value is malformed";
		return MBX_MH_RC_INVALID_CONTEXT_COOKIE;
	}
	c = mbx_mh_ctx_lookup(t, cv, clen);
	if (c == NULL) {
		*why_r = "no session context has this MapiContext cookie (expired or never issued)";
		return MBX_MH_RC_CONTEXT_NOT_FOUND;
	}
	if (principal_dn == NULL || strcasecmp(principal_dn, c->owner_dn) != 0) {
		*why_r = "the session context belongs to another user";
		return MBX_MH_RC_NO_PRIVILEGE;
	}
	if (need == MBX_MH_CTX_NEED_NONE || need == MBX_MH_CTX_NEED_CONTEXT) {
		*ctx_r = c;
		return MBX_MH_RC_SUCCESS;
	}
	rc = ctx_cookie(cookies, n, MBX_MH_COOKIE_SEQUENCE, &sv, &slen, &why);
	if (rc < 0) {
		*why_r = why != NULL ? why : "the Cookie header is malformed";
		return MBX_MH_RC_INVALID_CONTEXT_COOKIE;
	}
	if (rc == 0) {
		if (need == MBX_MH_CTX_NEED_CONTEXT_SEQ_IF_SENT) {
			*ctx_r = c;
			return MBX_MH_RC_SUCCESS;
		}
		*why_r = "the MapiSequence cookie is missing";
		return MBX_MH_RC_MISSING_COOKIE;
	}
	if (mbx_mh_cookie_value_check(sv, slen, &why) < 0) {
		*why_r = "the MapiSequence cookie value is malformed";
		return MBX_MH_RC_INVALID_CONTEXT_COOKIE;
	}
	if (slen != strlen(c->sequence) || memcmp(sv, c->sequence, slen) != 0) {
		*why_r = "the MapiSequence cookie is not the last one issued for this session "
		         "context";
		return MBX_MH_RC_INVALID_SEQUENCE;
	}
	*ctx_r = c;
	return MBX_MH_RC_SUCCESS;
}

uint64_t mbx_mh_ctx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void mbx_mh_ctxs_foreach(const struct mbx_mh_ctxs *t,
                         void (*fn)(void *arg, const struct mbx_mh_ctx *ctx), void *arg)
{
	const struct mbx_mh_ctx *c, *last = NULL;

	if (t == NULL)
		return;
	/* The list is newest first: walk to its end, then back. */
	for (c = t->all; c != NULL; c = c->next)
		last = c;
	for (c = last; c != NULL; c = c->prev)
		fn(arg, c);
}

int mbx_mh_ctx_claim(struct mbx_mh_ctx *c, void *req)
{
	char seq[MBX_MH_CTX_SEQ_LEN + 1];

	if (c->busy != NULL)
		return -1;
	if (mbx_mh_ctx_random_value(seq, sizeof(seq), MBX_MH_CTX_SEQ_BYTES) < 0)
		return -2;
	memcpy(c->sequence, seq, sizeof(seq));
	c->busy = req;
	c->nrequests++;
	evtimer_del(c->idle_ev);
	return 0;
}

void mbx_mh_ctx_release(struct mbx_mh_ctx *c, void *req)
{
	if (c->busy != req)
		return;
	c->busy = NULL;
	c->last_ms = mbx_mh_ctx_now_ms();
	ctx_idle_arm(c);
}

int mbx_mh_ctx_wait(struct mbx_mh_ctx *c, void *req)
{
	if (c->waiter != NULL)
		return -1;
	c->waiter = req;
	c->nrequests++;
	evtimer_del(c->idle_ev);
	return 0;
}

void mbx_mh_ctx_unwait(struct mbx_mh_ctx *c, void *req)
{
	if (c->waiter != req)
		return;
	c->waiter = NULL;
	c->last_ms = mbx_mh_ctx_now_ms();
	ctx_idle_arm(c);
}

void mbx_mh_ctx_touch(struct mbx_mh_ctx *c)
{
	c->nrequests++;
	c->last_ms = mbx_mh_ctx_now_ms();
	ctx_idle_arm(c); /* evtimer_add on a pending timer re-arms it */
}

void mbx_mh_ctx_destroy(struct mbx_mh_ctx **cp, enum mbx_mh_ctx_gone why)
{
	struct mbx_mh_ctx *c = cp != NULL ? *cp : NULL;
	struct mbx_mh_ctxs *t;
	size_t b;

	if (c == NULL)
		return;
	*cp = NULL;
	t = c->tab;
	/* Unlink first: nothing the callback does can find it again. */
	b = ctx_hash(c->cookie, strlen(c->cookie), false) & (t->nbuckets - 1);
	for (struct mbx_mh_ctx **pp = &t->buckets[b]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	t->count--;
	event_free(c->idle_ev);
	c->idle_ev = NULL;
	mbx_trace(MBX_TRACE_HTTP,
	          "mapihttp: session context %.8s... of %s destroyed (%s) after %llu "
	          "requests",
	          c->cookie, c->owner_name, mbx_mh_ctx_gone_name(why),
	          (unsigned long long)c->nrequests);
	if (t->gone != NULL)
		t->gone(t->gone_arg, c, why);
	mbx_session_free(&c->session);
	owner_put(t, c->owner);
	OPENSSL_cleanse(c->cookie, sizeof(c->cookie));
	free(c);
}

unsigned mbx_mh_ctxs_drop_mailbox(struct mbx_mh_ctxs *t, const char *legacy_dn)
{
	unsigned n = 0;
	struct mbx_mh_ctx *c, *next;

	if (t == NULL || legacy_dn == NULL || legacy_dn[0] == '\0')
		return 0;
	/* The gone callback destroys no other context, so the next pointer stays valid. */
	for (c = t->all; c != NULL; c = next) {
		next = c->next;
		if (c->session != NULL && mbx_session_has_logon_on(c->session, legacy_dn)) {
			mbx_mh_ctx_destroy(&c, MBX_MH_CTX_GONE_DROPPED);
			n++;
		}
	}
	return n;
}

/* ---- frontend.h ---------------------------------------------------------------------------- */

bool mbx_frontend_holds_mailbox(const struct mbx_frontend *fe, const char *legacy_dn)
{
	const struct mbx_mh_ctx *c;

	if (fe == NULL || fe->ctxs == NULL || legacy_dn == NULL || legacy_dn[0] == '\0')
		return false;
	for (c = fe->ctxs->all; c != NULL; c = c->next)
		if (c->session != NULL && mbx_session_has_logon_on(c->session, legacy_dn))
			return true;
	return false;
}

unsigned mbx_frontend_drop_mailbox(struct mbx_frontend *fe, const char *legacy_dn)
{
	char esc[256];
	unsigned n;

	if (fe == NULL || legacy_dn == NULL)
		return 0;
	n = mbx_mh_ctxs_drop_mailbox(fe->ctxs, legacy_dn);
	if (n > 0)
		mbx_log(MBX_LOG_NOTICE,
		        "mapihttp: %u session context%s with a logon on %s destroyed: the mailbox "
		        "is being moved",
		        n, n == 1 ? "" : "s",
		        mbx_log_escape(legacy_dn, strlen(legacy_dn), esc, sizeof(esc)));
	return n;
}

size_t mbx_frontend_sessions(const struct mbx_frontend *fe)
{
	return fe != NULL ? mbx_mh_ctxs_count(fe->ctxs) : 0;
}

struct ctxs_list_arg {
	mbx_frontend_session_fn *fn;
	void *ctx;
	uint64_t now;
};

static void ctxs_list_one(void *arg, const struct mbx_mh_ctx *c)
{
	struct ctxs_list_arg *a = arg;
	struct mbx_frontend_session_info s;

	memset(&s, 0, sizeof(s));
	s.owner_dn = c->owner_dn;
	s.owner_name = c->owner_name != NULL ? c->owner_name : "";
	if (c->session != NULL) {
		s.nlogons = mbx_session_logons(c->session, s.mailboxes, MBX_FRONTEND_LIST_LOGONS);
		s.nmailboxes = s.nlogons < MBX_FRONTEND_LIST_LOGONS ? s.nlogons
		                                                     : MBX_FRONTEND_LIST_LOGONS;
	}
	s.age_ms = a->now > c->created_ms ? a->now - c->created_ms : 0;
	s.busy = c->busy != NULL;
	s.waiting = c->waiter != NULL;
	s.idle_ms = s.busy || s.waiting || a->now < c->last_ms ? 0 : a->now - c->last_ms;
	s.requests = c->nrequests;
	a->fn(a->ctx, &s);
}

void mbx_frontend_list(struct mbx_frontend *fe, mbx_frontend_session_fn *fn, void *ctx)
{
	struct ctxs_list_arg a = {.fn = fn, .ctx = ctx, .now = mbx_mh_ctx_now_ms()};

	if (fe == NULL || fn == NULL)
		return;
	mbx_mh_ctxs_foreach(fe->ctxs, ctxs_list_one, &a);
}
