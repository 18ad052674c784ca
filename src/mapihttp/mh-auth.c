/*
 * mh-auth.c: HTTP Basic authentication of MAPI/HTTP requests (RFC 7617; [MS-OXCMAPIHTTP] 2.2.1
 * "Authentication": the transport authenticates every request, before anything else).
 *
 * The Authorization value is parsed strictly (scheme, base64 with padding, "user:password"),
 * the user name is resolved to one directory entry (a UPN or sAMAccountName by
 * MBX_DIR_BY_LOGIN, a down-level DOMAIN\name by its name part, a legacyExchangeDN by
 * MBX_DIR_BY_LEGACYDN), and the password is checked by the directory (mbx_dir_check_password:
 * the ldap backend binds as the user, the ldif backend verifies userPassword). Right answers
 * are remembered for a minute in a positive cache keyed by SHA-256 over a per-process random
 * salt, the name and the password, so that a client's every request does not cost a bind; the
 * cache holds no password. Wrong answers are not cached, and a directory that cannot answer
 * is TEMPFAIL, never "wrong password" (seed 004).
 */
#include "mapihttp/mh-frontend-int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mbx/log.h"

/* ---- parsing ------------------------------------------------------------------------------ */

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 section 4 decoding with padding: the length a multiple of 4, '=' only at
 * the end (at most two), unused bits zero. Returns the decoded length or -1. */
static long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t k = 0, pad = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;

		for (int j = 0; j < 4; j++) {
			if (in[i + j] == '=' && last && (size_t)j >= 4 - pad) {
				v[j] = 0;
				continue;
			}
			v[j] = b64_value(in[i + j]);
			if (v[j] < 0)
				return -1;
		}
		if (cap - k < 3)
			return -1;
		out[k++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (last && pad == 2) {
			if ((v[1] & 0x0F) != 0)
				return -1;
			break;
		}
		out[k++] = (uint8_t)((v[1] & 0x0F) << 4 | v[2] >> 2);
		if (last && pad == 1) {
			if ((v[2] & 0x03) != 0)
				return -1;
			break;
		}
		out[k++] = (uint8_t)((v[2] & 0x03) << 6 | v[3]);
	}
	return (long)k;
}

int mbx_mh_auth_parse_basic(const char *header, char *user, size_t usize, char *pass, size_t psize,
                            const char **why_r)
{
	uint8_t dec[(MBX_MH_AUTH_HEADER_MAX / 4) * 3];
	const char *p, *colon, *why = NULL;
	size_t len, ulen, plen;
	long n = 0;
	int rc = MBX_MH_AUTH_BAD;

	if (usize > 0)
		user[0] = '\0';
	if (psize > 0)
		pass[0] = '\0';
	if (why_r != NULL)
		*why_r = NULL;
	if (header == NULL)
		return MBX_MH_AUTH_NONE;
	p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
		return MBX_MH_AUTH_NONE; /* another scheme, or none: answered with our challenge */
	p += 5;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0) {
		why = "Basic credentials are empty";
		goto out;
	}
	if (len > MBX_MH_AUTH_HEADER_MAX) {
		why = "Basic credentials are too long";
		goto out;
	}
	n = b64_decode(p, len, dec, sizeof(dec));
	if (n < 0) {
		why = "Basic credentials are not valid base64";
		goto out;
	}
	colon = memchr(dec, ':', (size_t)n);
	if (colon == NULL) {
		why = "Basic credentials have no colon between user name and password";
		goto out;
	}
	ulen = (size_t)(colon - (const char *)dec);
	plen = (size_t)n - ulen - 1;
	if (ulen == 0) {
		why = "the user name is empty";
		goto out;
	}
	if (ulen > MBX_MH_AUTH_USER_MAX || ulen >= usize) {
		why = "the user name is too long";
		goto out;
	}
	for (size_t i = 0; i < ulen; i++) {
		if (dec[i] < 0x20 || dec[i] == 0x7F) {
			why = "the user name holds a control character";
			goto out;
		}
	}
	if (plen == 0) {
		why = "the password is empty";
		goto out;
	}
	if (plen > MBX_MH_AUTH_PASS_MAX || plen >= psize) {
		why = "the password is too long";
		goto out;
	}
	if (memchr(colon + 1, '\0', plen) != NULL) {
		why = "the password holds a NUL byte";
		goto out;
	}
	memcpy(user, dec, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	rc = MBX_MH_AUTH_BASIC;
out:
	/* Only what the decoder wrote (all of dec when it failed part way): the rest never held
	 * a secret. */
	OPENSSL_cleanse(dec, n >= 0 ? (size_t)n : sizeof(dec));
	if (why_r != NULL)
		*why_r = why;
	return rc;
}

enum mbx_dir_key mbx_mh_auth_login_key(const char *user, const char **key_r)
{
	const char *bs;

	if (user[0] == '/') {
		*key_r = user;
		return MBX_DIR_BY_LEGACYDN;
	}
	bs = strchr(user, '\\');
	*key_r = bs != NULL && bs[1] != '\0' ? bs + 1 : user;
	return MBX_DIR_BY_LOGIN;
}

/* ---- principals --------------------------------------------------------------------------- */

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*fail = true;
	return d;
}

struct mbx_mh_principal *mbx_mh_principal_dup(const struct mbx_mh_principal *p)
{
	struct mbx_mh_principal *d;
	bool fail = false;

	if (p == NULL || p->dn == NULL)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->dn = dup_or_null(p->dn, &fail);
	d->legacy_dn = dup_or_null(p->legacy_dn, &fail);
	d->name = dup_or_null(p->name != NULL ? p->name : p->dn, &fail);
	d->display_name = dup_or_null(p->display_name, &fail);
	if (fail)
		mbx_mh_principal_free(&d);
	return d;
}

void mbx_mh_principal_free(struct mbx_mh_principal **pp)
{
	struct mbx_mh_principal *p = pp != NULL ? *pp : NULL;

	if (p == NULL)
		return;
	free(p->dn);
	free(p->legacy_dn);
	free(p->name);
	free(p->display_name);
	free(p);
	*pp = NULL;
}

/* ---- the positive cache ------------------------------------------------------------------- */

struct auth_entry {
	uint8_t key[MBX_MH_AUTH_KEY_LEN];
	uint64_t at_ms;
	struct mbx_mh_principal *p;
	struct auth_entry *hnext;
	struct auth_entry *older, *newer; /* insertion order, for eviction */
};

struct mbx_mh_auth_cache {
	/* 128 random bits: plenty for keys that never leave the process, and short enough that
	 * salt, name and password of usual lengths fit one SHA-256 block (55 bytes). */
	uint8_t salt[16];
	/* SHA-256 fetched once and one digest context used again for every key: an implicit
	 * fetch and a new context per key cost more than the hash itself. The event loop's
	 * thread is the only user. */
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	uint64_t ttl_ms;
	size_t max_entries;
	size_t count;
	struct auth_entry **buckets;
	size_t nbuckets;
	struct auth_entry *oldest, *newest;
};

static size_t cache_bucket(const struct mbx_mh_auth_cache *c, const uint8_t *key)
{
	uint64_t h = 0;

	for (int i = 0; i < 8; i++)
		h = h << 8 | key[i];
	return (size_t)(h & (c->nbuckets - 1));
}

struct mbx_mh_auth_cache *mbx_mh_auth_cache_new(uint64_t ttl_ms, size_t max_entries)
{
	struct mbx_mh_auth_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ttl_ms = ttl_ms;
	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->nbuckets = 16;
	while (c->nbuckets < c->max_entries && c->nbuckets < (1u << 20))
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->md = EVP_MD_CTX_new();
	if (c->buckets == NULL || c->sha256 == NULL || c->md == NULL ||
	    RAND_bytes(c->salt, sizeof(c->salt)) != 1) {
		EVP_MD_CTX_free(c->md);
		EVP_MD_free(c->sha256);
		free(c->buckets);
		free(c);
		return NULL;
	}
	return c;
}

static void cache_unlink(struct mbx_mh_auth_cache *c, struct auth_entry *e)
{
	size_t b = cache_bucket(c, e->key);

	for (struct auth_entry **pp = &c->buckets[b]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->count--;
	mbx_mh_principal_free(&e->p);
	free(e);
}

void mbx_mh_auth_cache_clear(struct mbx_mh_auth_cache *c)
{
	if (c == NULL)
		return;
	while (c->oldest != NULL)
		cache_unlink(c, c->oldest);
}

void mbx_mh_auth_cache_free(struct mbx_mh_auth_cache **cp)
{
	struct mbx_mh_auth_cache *c = cp != NULL ? *cp : NULL;

	if (c == NULL)
		return;
	mbx_mh_auth_cache_clear(c);
	OPENSSL_cleanse(c->salt, sizeof(c->salt));
	EVP_MD_CTX_free(c->md); /* cleanses its state */
	EVP_MD_free(c->sha256);
	free(c->buckets);
	free(c);
	*cp = NULL;
}

int mbx_mh_auth_cache_key(const struct mbx_mh_auth_cache *c, const char *user, const char *pass,
                          uint8_t key_r[MBX_MH_AUTH_KEY_LEN])
{
	EVP_MD_CTX *md = c->md;
	unsigned int n = 0;
	int ok;

	ok = EVP_DigestInit_ex(md, c->sha256, NULL) == 1 &&
	     EVP_DigestUpdate(md, c->salt, sizeof(c->salt)) == 1 &&
	     EVP_DigestUpdate(md, user, strlen(user) + 1) == 1 && /* the NUL separates */
	     EVP_DigestUpdate(md, pass, strlen(pass)) == 1 &&
	     EVP_DigestFinal_ex(md, key_r, &n) == 1 && n == MBX_MH_AUTH_KEY_LEN;
	return ok ? 0 : -1;
}

static struct auth_entry *cache_find(const struct mbx_mh_auth_cache *c, const uint8_t *key)
{
	for (struct auth_entry *e = c->buckets[cache_bucket(c, key)]; e != NULL; e = e->hnext)
		if (CRYPTO_memcmp(e->key, key, MBX_MH_AUTH_KEY_LEN) == 0)
			return e;
	return NULL;
}

const struct mbx_mh_principal *mbx_mh_auth_cache_lookup(struct mbx_mh_auth_cache *c,
                                                        const uint8_t key[MBX_MH_AUTH_KEY_LEN],
                                                        uint64_t now_ms)
{
	struct auth_entry *e = cache_find(c, key);

	if (e == NULL)
		return NULL;
	if (now_ms < e->at_ms || now_ms - e->at_ms >= c->ttl_ms) {
		cache_unlink(c, e);
		return NULL;
	}
	return e->p;
}

int mbx_mh_auth_cache_insert(struct mbx_mh_auth_cache *c, const uint8_t key[MBX_MH_AUTH_KEY_LEN],
                             const struct mbx_mh_principal *p, uint64_t now_ms)
{
	struct auth_entry *e = cache_find(c, key);
	size_t b;

	if (e != NULL)
		cache_unlink(c, e); /* refreshed: goes to the newest end */
	while (c->count >= c->max_entries && c->oldest != NULL)
		cache_unlink(c, c->oldest);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	e->p = mbx_mh_principal_dup(p);
	if (e->p == NULL) {
		free(e);
		return -1;
	}
	memcpy(e->key, key, MBX_MH_AUTH_KEY_LEN);
	e->at_ms = now_ms;
	b = cache_bucket(c, key);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->count++;
	return 0;
}

size_t mbx_mh_auth_cache_count(const struct mbx_mh_auth_cache *c)
{
	return c != NULL ? c->count : 0;
}

/* ---- the authenticator -------------------------------------------------------------------- */

struct mbx_mh_authn_req {
	struct mbx_mh_authn *a;
	struct mbx_mh_authn_req *prev, *next;
	struct mbx_dir_req *dreq;
	mbx_mh_authn_cb *cb;
	void *ctx;
	uint8_t key[MBX_MH_AUTH_KEY_LEN];
	char *user;
	char *pass;
	struct mbx_mh_principal p; /* filled from the entry */
};

struct mbx_mh_authn {
	struct mbx_dir *dir;
	struct mbx_mh_auth_cache *cache;
	mbx_mt_clock_fn *clock;
	void *clock_ctx;
	struct mbx_mh_authn_req *reqs;
};

const char *mbx_mh_authn_status_name(enum mbx_mh_authn_status st)
{
	switch (st) {
	case MBX_MH_AUTHN_OK:
		return "ok";
	case MBX_MH_AUTHN_DENIED:
		return "denied";
	case MBX_MH_AUTHN_TEMPFAIL:
		return "tempfail";
	case MBX_MH_AUTHN_ERROR:
		return "error";
	}
	return "unknown";
}

static uint64_t authn_now(const struct mbx_mh_authn *a)
{
	struct timespec ts;

	if (a->clock != NULL)
		return a->clock(a->clock_ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct mbx_mh_authn *mbx_mh_authn_new(const struct mbx_mh_authn_config *cfg)
{
	struct mbx_mh_authn *a;

	if (cfg == NULL || cfg->dir == NULL)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->dir = cfg->dir;
	a->clock = cfg->clock;
	a->clock_ctx = cfg->clock_ctx;
	a->cache = mbx_mh_auth_cache_new(cfg->ttl_ms != 0 ? cfg->ttl_ms : MBX_MH_AUTHN_TTL_MS,
	                                 cfg->max_entries != 0 ? cfg->max_entries
	                                                       : MBX_MH_AUTHN_MAX_ENTRIES);
	if (a->cache == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

static void authn_req_free(struct mbx_mh_authn_req *r)
{
	struct mbx_mh_authn *a = r->a;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		a->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->pass != NULL) {
		OPENSSL_cleanse(r->pass, strlen(r->pass));
		free(r->pass);
	}
	free(r->user);
	free(r->p.dn);
	free(r->p.legacy_dn);
	free(r->p.name);
	free(r->p.display_name);
	OPENSSL_cleanse(r->key, sizeof(r->key));
	free(r);
}

void mbx_mh_authn_cancel(struct mbx_mh_authn_req *r)
{
	if (r == NULL)
		return;
	if (r->dreq != NULL)
		mbx_dir_cancel(r->dreq);
	authn_req_free(r);
}

void mbx_mh_authn_free(struct mbx_mh_authn **ap)
{
	struct mbx_mh_authn *a = ap != NULL ? *ap : NULL;

	if (a == NULL)
		return;
	while (a->reqs != NULL)
		mbx_mh_authn_cancel(a->reqs);
	mbx_mh_auth_cache_free(&a->cache);
	free(a);
	*ap = NULL;
}

void mbx_mh_authn_flush(struct mbx_mh_authn *a)
{
	if (a != NULL)
		mbx_mh_auth_cache_clear(a->cache);
}

size_t mbx_mh_authn_cached(const struct mbx_mh_authn *a)
{
	return a != NULL ? mbx_mh_auth_cache_count(a->cache) : 0;
}

/* Calls back and frees the request. */
static void authn_finish(struct mbx_mh_authn_req *r, enum mbx_mh_authn_status st, const char *why)
{
	r->dreq = NULL;
	r->cb(r->ctx, st, st == MBX_MH_AUTHN_OK ? &r->p : NULL, why);
	authn_req_free(r);
}

static enum mbx_mh_authn_status authn_fail_status(enum mbx_dir_status st)
{
	return st == MBX_DIR_TEMPFAIL ? MBX_MH_AUTHN_TEMPFAIL : MBX_MH_AUTHN_ERROR;
}

static void authn_password_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct mbx_mh_authn_req *r = ctx;
	struct mbx_mh_authn *a = r->a;

	r->dreq = NULL;
	switch (res->status) {
	case MBX_DIR_FOUND:
		if (mbx_mh_auth_cache_insert(a->cache, r->key, &r->p, authn_now(a)) < 0)
			mbx_log(MBX_LOG_WARNING, "mapihttp: cannot cache a logon: out of memory");
		authn_finish(r, MBX_MH_AUTHN_OK, NULL);
		return;
	case MBX_DIR_NOT_FOUND:
		authn_finish(r, MBX_MH_AUTHN_DENIED, "wrong password");
		return;
	case MBX_DIR_TEMPFAIL:
	case MBX_DIR_ERROR:
		break;
	}
	authn_finish(r, authn_fail_status(res->status),
	             res->status == MBX_DIR_TEMPFAIL
	                     ? "the directory cannot check the password now"
	                     : "the directory failed to check the password");
}

static void authn_lookup_cb(void *ctx, const struct mbx_dir_result *res)
{
	struct mbx_mh_authn_req *r = ctx;
	const struct mbx_dir_entry *e;
	const char *upn;
	bool fail = false;

	r->dreq = NULL;
	if (res->status == MBX_DIR_NOT_FOUND) {
		authn_finish(r, MBX_MH_AUTHN_DENIED, "no such user");
		return;
	}
	if (res->status != MBX_DIR_FOUND) {
		authn_finish(r, authn_fail_status(res->status),
		             res->status == MBX_DIR_TEMPFAIL
		                     ? "the directory cannot look up the user "
		                       "now"
		                     : "the directory failed to look up the user");
		return;
	}
	if (res->nentries != 1 || res->entries == NULL || res->entries[0] == NULL ||
	    res->entries[0]->dn == NULL) {
		authn_finish(r, MBX_MH_AUTHN_DENIED, "the user name names more than one account");
		return;
	}
	e = res->entries[0];
	upn = mbx_dir_entry_str(e, "userPrincipalName");
	r->p.dn = dup_or_null(e->dn, &fail);
	r->p.legacy_dn = dup_or_null(mbx_dir_entry_str(e, "legacyExchangeDN"), &fail);
	r->p.name = dup_or_null(upn != NULL ? upn : r->user, &fail);
	r->p.display_name = dup_or_null(mbx_dir_entry_str(e, "displayName"), &fail);
	if (fail) {
		authn_finish(r, MBX_MH_AUTHN_ERROR, "out of memory");
		return;
	}
	r->dreq = mbx_dir_check_password(r->a->dir, r->p.dn, r->pass, authn_password_cb, r);
	if (r->dreq == NULL)
		authn_finish(r, MBX_MH_AUTHN_TEMPFAIL, "the directory refused the password check");
}

int mbx_mh_authn_check(struct mbx_mh_authn *a, const char *user, const char *pass,
                       mbx_mh_authn_cb *cb, void *ctx, struct mbx_mh_authn_req **req_r,
                       const struct mbx_mh_principal **p_r)
{
	uint8_t key[MBX_MH_AUTH_KEY_LEN];
	const struct mbx_mh_principal *p;
	struct mbx_mh_authn_req *r;
	const char *lookup;
	enum mbx_dir_key kind;

	*req_r = NULL;
	*p_r = NULL;
	if (a == NULL || user == NULL || pass == NULL || cb == NULL)
		return -1;
	if (mbx_mh_auth_cache_key(a->cache, user, pass, key) < 0)
		return -1;
	p = mbx_mh_auth_cache_lookup(a->cache, key, authn_now(a));
	if (p != NULL) {
		OPENSSL_cleanse(key, sizeof(key));
		*p_r = p;
		return 1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->a = a;
	r->cb = cb;
	r->ctx = ctx;
	memcpy(r->key, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	r->user = strdup(user);
	r->pass = strdup(pass);
	r->next = a->reqs;
	if (a->reqs != NULL)
		a->reqs->prev = r;
	a->reqs = r;
	if (r->user == NULL || r->pass == NULL) {
		authn_req_free(r);
		return -1;
	}
	kind = mbx_mh_auth_login_key(r->user, &lookup);
	r->dreq = mbx_dir_lookup(a->dir, kind, lookup, strlen(lookup), authn_lookup_cb, r);
	if (r->dreq == NULL) {
		authn_req_free(r);
		return -1;
	}
	*req_r = r;
	return 0;
}
