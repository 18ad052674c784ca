/*
 * principal-index.c: what the principal resolver's cache stores (design.md "The mailbox-state
 * table and the logon decision"; the contract is in include/mbx/principal.h, the cache itself
 * in principal-cache.c): entries keyed by the principal's DN normalised as
 * mbx_mailbox_dn_equal() compares, in a hash table; the DN index that makes every cached token
 * reachable from each DN it was built from (the principal, its groups, the owners of its SIDs)
 * for invalidation; and deep copies of tokens, which is all callers ever get.
 */
#include "mbx/principal.h"

#include <stdlib.h>
#include <string.h>

#include "store/principal-int.h"

/* --- DN keys ------------------------------------------------------------------------------ */

uint64_t pc_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The DN's normal form, as mbx_mailbox_dn_equal() compares (mbx_mailbox_dn_key). */
char *pc_dn_key(const char *s)
{
	return mbx_mailbox_dn_key(s, '\0');
}

/* --- the hash tables ---------------------------------------------------------------------- */

/* Doubles the entry table when it is full (out of memory: chains just get longer). */
static void pc_grow_entries(struct mbx_principal_resolver *r)
{
	size_t nb = r->nbuckets * 2;
	struct pc_entry **b;

	if (r->nentries < r->nbuckets || (b = calloc(nb, sizeof(*b))) == NULL)
		return;
	for (size_t i = 0; i < r->nbuckets; i++) {
		while (r->buckets[i] != NULL) {
			struct pc_entry *e = r->buckets[i];

			r->buckets[i] = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = nb;
}

static void pc_grow_refs(struct mbx_principal_resolver *r, size_t more)
{
	size_t nb = r->nrbuckets;
	struct pc_ref **b;

	while (r->nrefs + more > nb)
		nb *= 2;
	if (nb == r->nrbuckets || (b = calloc(nb, sizeof(*b))) == NULL)
		return;
	for (size_t i = 0; i < r->nrbuckets; i++) {
		while (r->rbuckets[i] != NULL) {
			struct pc_ref *f = r->rbuckets[i];

			r->rbuckets[i] = f->next;
			f->next = b[f->hash & (nb - 1)];
			b[f->hash & (nb - 1)] = f;
		}
	}
	free(r->rbuckets);
	r->rbuckets = b;
	r->nrbuckets = nb;
}

struct pc_entry *pc_find(const struct mbx_principal_resolver *r, const char *key, uint64_t hash)
{
	struct pc_entry *e = r->buckets[hash & (r->nbuckets - 1)];

	for (; e != NULL; e = e->next) {
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

struct pc_entry *pc_ref_find(const struct mbx_principal_resolver *r, const char *key, uint64_t hash)
{
	struct pc_ref *f = r->rbuckets[hash & (r->nrbuckets - 1)];

	for (; f != NULL; f = f->next) {
		if (f->hash == hash && strcmp(f->key, key) == 0)
			return f->e;
	}
	return NULL;
}

void pc_refs_drop(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	for (size_t i = 0; i < e->nrefs; i++) {
		struct pc_ref *f = &e->refs[i], **pp;

		if (f->key == NULL)
			continue;
		for (pp = &r->rbuckets[f->hash & (r->nrbuckets - 1)]; *pp != NULL;
		     pp = &(*pp)->next) {
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		}
		r->nrefs--;
		free(f->key);
	}
	free(e->refs);
	e->refs = NULL;
	e->nrefs = 0;
}

static void pc_ref_add(struct mbx_principal_resolver *r, struct pc_entry *e, char *key)
{
	struct pc_ref *f = &e->refs[e->nrefs++];
	size_t b;

	f->e = e;
	f->key = key;
	f->hash = pc_hash(key);
	b = f->hash & (r->nrbuckets - 1);
	f->next = r->rbuckets[b];
	r->rbuckets[b] = f;
	r->nrefs++;
}

/* Indexes e under every DN its token was built from. -1 when out of memory (then nothing is
 * indexed: a token that a change could not reach must not be kept). */
int pc_index(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	const struct mbx_principal *p = e->tok;
	size_t n = 1 + p->ngroup_dns;

	for (size_t i = 0; i < p->nowners; i++)
		n += p->owners[i].wellknown ? 0 : p->owners[i].ndns;
	e->refs = calloc(n, sizeof(*e->refs));
	if (e->refs == NULL)
		return -1;
	pc_grow_refs(r, n);
	for (size_t i = 0; i < n; i++) {
		const char *dn = NULL;
		size_t k = i;
		char *key;

		if (k == 0) {
			dn = p->dn != NULL ? p->dn : e->dn;
		} else if (--k < p->ngroup_dns) {
			dn = p->group_dns[k];
		} else {
			k -= p->ngroup_dns;
			for (size_t j = 0; dn == NULL && j < p->nowners; j++) {
				const struct mbx_principal_owners *o = &p->owners[j];
				size_t nd = o->wellknown ? 0 : o->ndns;

				if (k < nd)
					dn = o->dns[k];
				else
					k -= nd;
			}
		}
		if (dn == NULL || (key = pc_dn_key(dn)) == NULL) {
			pc_refs_drop(r, e);
			return -1;
		}
		pc_ref_add(r, e, key);
	}
	return 0;
}

/* Drops the token and its index references. */
void pc_forget(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	pc_refs_drop(r, e);
	mbx_principal_free(&e->tok);
}

void pc_entry_free(struct mbx_principal_resolver *r, struct pc_entry *e)
{
	struct pc_entry **pp;

	pc_forget(r, e);
	for (pp = &r->buckets[e->hash & (r->nbuckets - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	pr_list_unlink(&e->lru);
	r->nentries--;
	free(e->key);
	free(e->dn);
	free(e);
}

/* Takes key over. */
struct pc_entry *pc_entry_new(struct mbx_principal_resolver *r, char *key, uint64_t hash,
                              const char *dn)
{
	struct pc_entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (e == NULL || (e->dn = strdup(dn)) == NULL) {
		free(e);
		return NULL;
	}
	pc_grow_entries(r);
	e->r = r;
	e->key = key;
	e->hash = hash;
	pr_list_init(&e->flink);
	pr_list_init(&e->waiters);
	pr_list_push_front(&r->lru, &e->lru);
	b = hash & (r->nbuckets - 1);
	e->next = r->buckets[b];
	r->buckets[b] = e;
	r->nentries++;
	return e;
}

/* --- token copies ------------------------------------------------------------------------ */

static int pr_owners_copy(struct mbx_principal_owners *dst, const struct mbx_principal_owners *src)
{
	dst->sid = src->sid;
	dst->wellknown = src->wellknown;
	if (src->ndns == 0)
		return 0;
	dst->dns = calloc(src->ndns, sizeof(*dst->dns));
	if (dst->dns == NULL)
		return -1;
	for (size_t i = 0; i < src->ndns; i++) {
		dst->dns[i] = strdup(src->dns[i]);
		if (dst->dns[i] == NULL)
			return -1;
		dst->ndns = i + 1;
	}
	return 0;
}

struct mbx_principal *mbx_principal_dup(const struct mbx_principal *p)
{
	struct mbx_principal *d;

	if (p == NULL || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->has_sid = p->has_sid;
	d->sid = p->sid;
	d->depth_exceeded = p->depth_exceeded;
	d->cached = p->cached;
	d->stale = p->stale;
	d->age_ms = p->age_ms;
	if (p->dn != NULL && (d->dn = strdup(p->dn)) == NULL)
		goto oom;
	if (p->ngroups > 0) {
		d->groups = malloc(p->ngroups * sizeof(*d->groups));
		if (d->groups == NULL)
			goto oom;
		memcpy(d->groups, p->groups, p->ngroups * sizeof(*d->groups));
		d->ngroups = p->ngroups;
	}
	if (p->ngroup_dns > 0) {
		d->group_dns = calloc(p->ngroup_dns, sizeof(*d->group_dns));
		if (d->group_dns == NULL)
			goto oom;
		for (size_t i = 0; i < p->ngroup_dns; i++) {
			d->group_dns[i] = strdup(p->group_dns[i]);
			if (d->group_dns[i] == NULL)
				goto oom;
			d->ngroup_dns = i + 1;
		}
	}
	if (p->nowners > 0) {
		d->owners = calloc(p->nowners, sizeof(*d->owners));
		d->resolved = calloc(p->nowners, sizeof(*d->resolved));
		if (d->owners == NULL || d->resolved == NULL)
			goto oom;
		d->nowners = d->nresolved = p->nowners;
		for (size_t i = 0; i < p->nowners; i++) {
			if (pr_owners_copy(&d->owners[i], &p->owners[i]) < 0)
				goto oom;
		}
		pr_link_resolved(d);
	}
	return d;
oom:
	mbx_principal_free(&d);
	return NULL;
}
