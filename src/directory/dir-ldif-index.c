/*
 * dir-ldif-index.c: the in-memory directory of the `ldif` backend (design.md "Directory
 * backends"): the entries in file order and the hash indexes that find them.
 *
 * Entries are indexed in hash tables: DN (dir_ldif_normalize_dn), legacyExchangeDN (and the
 * X500: proxyAddresses, an old forest's legacyExchangeDN), SMTP address (mail and smtp:
 * proxyAddresses), login (userPrincipalName, sAMAccountName) - these
 * folded to lower case (ASCII) -, objectSid (binary; several entries may share one, e.g. the
 * BUILTIN group SIDs of several domains) and member (reverse: member DN -> groups).
 */
#include "directory/dir-ldif-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

/* --- the indexes ------------------------------------------------------------------------- */

#define DL_INDEX_MIN_BUCKETS 64

static uint64_t dl_index_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int dl_index_init(struct dl_index *t)
{
	t->buckets = calloc(DL_INDEX_MIN_BUCKETS, sizeof(*t->buckets));
	t->nbuckets = DL_INDEX_MIN_BUCKETS;
	t->count = 0;
	return t->buckets != NULL ? 0 : -1;
}

static void dl_index_put(struct dl_node **buckets, size_t nbuckets, struct dl_node *n)
{
	struct dl_node **b = &buckets[n->hash & (nbuckets - 1)];

	n->next = *b;
	if (*b != NULL)
		(*b)->pprev = &n->next;
	n->pprev = b;
	*b = n;
}

/* Growing is best effort: without memory the chains just get longer. */
static void dl_index_grow(struct dl_index *t)
{
	size_t nb = t->nbuckets * 2;
	struct dl_node **b;

	if (nb < t->nbuckets || nb > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct dl_node *n = t->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			dl_index_put(b, nb, n);
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static void dl_index_link(struct dl_index *t, struct dl_node *n)
{
	if (t->count >= t->nbuckets)
		dl_index_grow(t);
	dl_index_put(t->buckets, t->nbuckets, n);
	t->count++;
}

static void dl_index_unlink(struct dl_index *t, struct dl_node *n)
{
	*n->pprev = n->next;
	if (n->next != NULL)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
	t->count--;
}

/* Positions of the entries holding key, sorted, without repeats. Returns the count, or
 * (size_t)-1 without memory. */
size_t dir_ldif_index_find(const struct dl_index *t, const uint8_t *key, size_t len, size_t **idx_r)
{
	uint64_t h = dl_index_hash(key, len);
	size_t n = 0, cap = 0, *v = NULL;

	for (struct dl_node *x = t->buckets[h & (t->nbuckets - 1)]; x != NULL; x = x->next) {
		size_t i;

		if (x->hash != h || x->keylen != len || memcmp(x->key, key, len) != 0)
			continue;
		for (i = 0; i < n && v[i] != x->idx; i++)
			;
		if (i < n)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4;
			size_t *nv = realloc(v, nc * sizeof(*v));

			if (nv == NULL) {
				free(v);
				return (size_t)-1;
			}
			v = nv;
			cap = nc;
		}
		/* insertion keeps file order */
		for (i = n; i > 0 && v[i - 1] > x->idx; i--)
			v[i] = v[i - 1];
		v[i] = x->idx;
		n++;
	}
	*idx_r = v;
	return n;
}

/* --- the keys of an entry ---------------------------------------------------------------- */

struct dl_node *dir_ldif_index_node_new(enum dl_ix ix, size_t idx, const uint8_t *key, size_t len,
                                        bool fold)
{
	struct dl_node *n;

	if (len > SIZE_MAX - sizeof(*n))
		return NULL;
	n = malloc(sizeof(*n) + len);
	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->ix = ix;
	n->idx = idx;
	n->keylen = len;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = key[i];

		n->key[i] = (uint8_t)(fold && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	n->hash = dl_index_hash(n->key, len);
	return n;
}

void dir_ldif_index_nodes_free(struct dl_node *n)
{
	while (n != NULL) {
		struct dl_node *next = n->enext;

		free(n);
		n = next;
	}
}

/* Builds the (unlinked) index nodes of entry e at position idx. Fails on memory or when the
 * DN or a member value is not a DN. */
int dir_ldif_index_entry_nodes(const struct mbx_dir_entry *e, size_t idx, struct dl_node **list_r,
                               char *err, size_t errsize)
{
	struct dl_node *list = NULL, *n;
	char *norm;
	const struct mbx_dir_attr *a;

#define DL_ADD(ix_, p_, len_, fold_)                                                               \
	do {                                                                                       \
		n = dir_ldif_index_node_new((ix_), idx, (const uint8_t *)(p_), (len_), (fold_));   \
		if (n == NULL)                                                                     \
			goto nomem;                                                                \
		n->enext = list;                                                                   \
		list = n;                                                                          \
	} while (0)

	norm = dir_ldif_normalize_dn(e->dn, strlen(e->dn));
	if (norm == NULL) {
		snprintf(err, errsize, "dn \"%s\" is not a DN", e->dn);
		goto fail;
	}
	n = dir_ldif_index_node_new(DL_IX_DN, idx, (const uint8_t *)norm, strlen(norm), false);
	free(norm);
	if (n == NULL)
		goto nomem;
	list = n;

	a = mbx_dir_entry_attr(e, "legacyExchangeDN");
	for (size_t i = 0; a != NULL && i < a->nvals; i++)
		DL_ADD(DL_IX_LEGACY, a->vals[i].data, a->vals[i].len, true);
	a = mbx_dir_entry_attr(e, "mail");
	for (size_t i = 0; a != NULL && i < a->nvals; i++)
		DL_ADD(DL_IX_SMTP, a->vals[i].data, a->vals[i].len, true);
	a = mbx_dir_entry_attr(e, "proxyAddresses");
	for (size_t i = 0; a != NULL && i < a->nvals; i++) {
		const struct mbx_dir_value *v = &a->vals[i];

		if (v->len > 5 && strncasecmp((const char *)v->data, "smtp:", 5) == 0)
			DL_ADD(DL_IX_SMTP, v->data + 5, v->len - 5, true);
		/* an old forest's legacyExchangeDN (directory.h BY_LEGACYDN): same index */
		else if (v->len > 5 && strncasecmp((const char *)v->data, "x500:", 5) == 0)
			DL_ADD(DL_IX_LEGACY, v->data + 5, v->len - 5, true);
	}
	a = mbx_dir_entry_attr(e, "userPrincipalName");
	for (size_t i = 0; a != NULL && i < a->nvals; i++)
		DL_ADD(DL_IX_LOGIN, a->vals[i].data, a->vals[i].len, true);
	a = mbx_dir_entry_attr(e, "sAMAccountName");
	for (size_t i = 0; a != NULL && i < a->nvals; i++)
		DL_ADD(DL_IX_LOGIN, a->vals[i].data, a->vals[i].len, true);
	a = mbx_dir_entry_attr(e, "objectSid");
	for (size_t i = 0; a != NULL && i < a->nvals; i++)
		DL_ADD(DL_IX_SID, a->vals[i].data, a->vals[i].len, false);
	a = mbx_dir_entry_attr(e, "member");
	for (size_t i = 0; a != NULL && i < a->nvals; i++) {
		norm = dir_ldif_normalize_dn((const char *)a->vals[i].data, a->vals[i].len);
		if (norm == NULL) {
			snprintf(err, errsize, "member value \"%.200s\" is not a DN",
				 (const char *)a->vals[i].data);
			goto fail;
		}
		n = dir_ldif_index_node_new(DL_IX_MEMBER, idx, (const uint8_t *)norm, strlen(norm),
		                            false);
		free(norm);
		if (n == NULL)
			goto nomem;
		n->enext = list;
		list = n;
	}
#undef DL_ADD
	*list_r = list;
	return 0;
nomem:
	snprintf(err, errsize, "out of memory");
fail:
	dir_ldif_index_nodes_free(list);
	return -1;
}

/* --- the in-memory directory ------------------------------------------------------------- */

void dir_ldif_index_db_free(struct dl_db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->nents; i++) {
		mbx_dir_entry_free(&db->ents[i]);
		dir_ldif_index_nodes_free(db->enodes[i]);
	}
	for (int i = 0; i < DL_IX_COUNT; i++)
		free(db->ix[i].buckets);
	free(db->ents);
	free(db->enodes);
	free(db->lines);
	free(db);
}

struct dl_db *dir_ldif_index_db_new(void)
{
	struct dl_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	for (int i = 0; i < DL_IX_COUNT; i++) {
		if (dl_index_init(&db->ix[i]) < 0) {
			dir_ldif_index_db_free(db);
			return NULL;
		}
	}
	return db;
}

void dir_ldif_index_db_link(struct dl_db *db, struct dl_node *list)
{
	for (struct dl_node *n = list; n != NULL; n = n->enext)
		dl_index_link(&db->ix[n->ix], n);
}

void dir_ldif_index_db_unlink(struct dl_db *db, struct dl_node *list)
{
	for (struct dl_node *n = list; n != NULL; n = n->enext)
		dl_index_unlink(&db->ix[n->ix], n);
}

/* Position of the entry with this DN, or -1 if none; -2 if dn is not a DN, -3 without
 * memory. */
long dir_ldif_index_db_find_dn(const struct dl_db *db, const char *dn, size_t len)
{
	char *norm = dir_ldif_normalize_dn(dn, len);
	size_t *v = NULL, n;
	long pos;

	if (norm == NULL)
		return -2;
	n = dir_ldif_index_find(&db->ix[DL_IX_DN], (const uint8_t *)norm, strlen(norm), &v);
	free(norm);
	if (n == (size_t)-1)
		return -3;
	pos = n > 0 ? (long)v[0] : -1;
	free(v);
	return pos;
}

/* Appends entry e (taking it) found at line; indexes it. */
int dir_ldif_index_db_append(struct dl_db *db, struct mbx_dir_entry *e, unsigned long line,
                             char *err, size_t errsize)
{
	struct dl_node *list;
	long dup;

	if (db->nents == db->cap) {
		size_t nc = db->cap ? db->cap * 2 : 64;
		struct mbx_dir_entry **ne = realloc(db->ents, nc * sizeof(*ne));
		struct dl_node **nn;
		unsigned long *nl;

		if (ne == NULL)
			goto nomem;
		db->ents = ne;
		nn = realloc(db->enodes, nc * sizeof(*nn));
		if (nn == NULL)
			goto nomem;
		db->enodes = nn;
		nl = realloc(db->lines, nc * sizeof(*nl));
		if (nl == NULL)
			goto nomem;
		db->lines = nl;
		db->cap = nc;
	}
	dup = dir_ldif_index_db_find_dn(db, e->dn, strlen(e->dn));
	if (dup == -3)
		goto nomem;
	if (dup >= 0) {
		snprintf(err, errsize, "duplicate dn \"%.200s\" (first at line %lu)", e->dn,
			 db->lines[dup]);
		mbx_dir_entry_free(&e);
		return -1;
	}
	if (dir_ldif_index_entry_nodes(e, db->nents, &list, err, errsize) < 0) {
		mbx_dir_entry_free(&e);
		return -1;
	}
	dir_ldif_index_db_link(db, list);
	db->ents[db->nents] = e;
	db->enodes[db->nents] = list;
	db->lines[db->nents] = line;
	db->nents++;
	return 0;
nomem:
	snprintf(err, errsize, "out of memory");
	mbx_dir_entry_free(&e);
	return -1;
}
